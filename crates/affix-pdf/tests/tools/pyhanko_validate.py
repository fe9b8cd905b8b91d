"""Validates every signature of a PDF with pyHanko (its Python API, strict syntax,
difference analysis on), trusting only the given root; revocation is not checked (the
test certificates name no OCSP or CRL). Prints one line per signature:

  <field> intact=<bool> valid=<bool> trusted=<bool> coverage=<...> modification=<...>

and exits 1 unless every signature's bottom line holds.

usage: pyhanko_validate.py FILE.pdf ROOT.pem
"""

import sys

from asn1crypto import pem, x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext


def main():
    path, root_path = sys.argv[1], sys.argv[2]
    with open(root_path, "rb") as f:
        _, _, der = pem.unarmor(f.read())
    root = x509.Certificate.load(der)
    ok = True
    with open(path, "rb") as f:
        reader = PdfFileReader(f, strict=True)
        signatures = reader.embedded_signatures
        if not signatures:
            print("no signatures")
            return 1
        for sig in signatures:
            context = ValidationContext(
                trust_roots=[root], allow_fetching=False, revocation_mode="soft-fail"
            )
            status = validate_pdf_signature(sig, context)
            print(
                f"{sig.field_name} intact={status.intact} valid={status.valid} "
                f"trusted={status.trusted} coverage={status.coverage.name} "
                f"modification={status.modification_level.name if status.modification_level else None} "
                f"bottom_line={status.bottom_line}"
            )
            ok = ok and status.bottom_line
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
