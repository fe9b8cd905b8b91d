"""Independent check of a detached CMS signature with pyHanko (asn1crypto + cryptography).

usage: pyhanko_verify.py SIG.der CONTENT ROOT.pem [TSA_ROOT.pem]

Prints pyHanko's validation report; exits 0 only if the signature is intact, valid and
trusted (and, when the signature carries a signature time-stamp token, if that token
validates against TSA_ROOT.pem).
"""

import asyncio
import sys

from asn1crypto import cms
from pyhanko.keys import load_cert_from_pemder
from pyhanko.sign.validation.generic_cms import async_validate_detached_cms
from pyhanko_certvalidator import ValidationContext


def main() -> int:
    signature_path, content_path, root_path = sys.argv[1:4]
    tsa_root_path = sys.argv[4] if len(sys.argv) > 4 else None
    with open(signature_path, "rb") as handle:
        content_info = cms.ContentInfo.load(handle.read())
    with open(content_path, "rb") as handle:
        content = handle.read()
    signer_context = ValidationContext(
        trust_roots=[load_cert_from_pemder(root_path)],
        allow_fetching=False,
        revocation_mode="soft-fail",
    )
    ts_context = None
    if tsa_root_path:
        ts_context = ValidationContext(
            trust_roots=[load_cert_from_pemder(tsa_root_path)],
            allow_fetching=False,
            revocation_mode="soft-fail",
        )
    status = asyncio.run(
        async_validate_detached_cms(
            content,
            content_info["content"],
            signer_validation_context=signer_context,
            ts_validation_context=ts_context,
        )
    )
    print(status.pretty_print_details())
    print(f"mechanism={status.md_algorithm}/{status.pkcs7_signature_mechanism}")
    print(f"intact={status.intact} valid={status.valid} trusted={status.trusted}")
    timestamp = status.timestamp_validity
    if timestamp is not None:
        print(
            f"timestamp intact={timestamp.intact} valid={timestamp.valid} "
            f"trusted={timestamp.trusted} time={timestamp.timestamp.isoformat()}"
        )
    ok = status.intact and status.valid and status.trusted
    if tsa_root_path:
        ok = ok and timestamp is not None and timestamp.intact and timestamp.valid and timestamp.trusted
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
