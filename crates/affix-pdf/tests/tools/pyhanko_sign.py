"""Signs a PDF with pyHanko (PAdES, a new signature field), for the interoperability test
in the other direction: Affix's verifier reads what pyHanko writes.

usage: pyhanko_sign.py IN.pdf OUT.pdf KEY.pem CERT.pem CHAIN.pem...
"""

import sys

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers


def main():
    source, target, key, cert = sys.argv[1:5]
    signer = signers.SimpleSigner.load(key, cert, ca_chain_files=tuple(sys.argv[5:]))
    meta = signers.PdfSignatureMetadata(field_name="pyhanko", subfilter=fields.SigSeedSubFilter.PADES)
    with open(source, "rb") as f:
        writer = IncrementalPdfFileWriter(f)
        with open(target, "wb") as out:
            signers.sign_pdf(writer, meta, signer=signer, output=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
