"""Signs CONTENT as a detached CMS signature with pyHanko, for our verifier to check.

usage: pyhanko_sign.py KEY.pem CERT.pem CHAIN.pem CONTENT DIGEST OUT.der

CAdES-style signed attributes (pyHanko's `use_cades=True`: signing-certificate-v2).
"""

import asyncio
import sys

from pyhanko.sign.signers import SimpleSigner


def main() -> int:
    key_path, cert_path, chain_path, content_path, digest, out_path = sys.argv[1:7]
    signer = SimpleSigner.load(key_path, cert_path, ca_chain_files=(chain_path,))
    with open(content_path, "rb") as handle:
        content = handle.read()
    content_info = asyncio.run(
        signer.async_sign_general_data(content, digest, detached=True, use_cades=True)
    )
    with open(out_path, "wb") as handle:
        handle.write(content_info.dump())
    return 0


if __name__ == "__main__":
    sys.exit(main())
