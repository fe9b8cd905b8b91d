"""Independent SM2/SM3 checks with PyPI gmssl (pure Python, GM/T 0003/0004).

usage:
  gmssl_check.py sm3 FILE                      -> prints SM3(FILE) in hex
  gmssl_check.py sm2-verify PUBKEY_HEX SIG.der DATA_FILE
      PUBKEY_HEX: uncompressed point x||y (128 hex digits, no 04 prefix)
      SIG.der:    DER SEQUENCE { r INTEGER, s INTEGER }
      verifies SM2 over SM3(Z_A || DATA) with the default ID 1234567812345678;
      exit 0 if valid, 1 if not.
"""

import sys

from gmssl import func, sm2, sm3


def main() -> int:
    command = sys.argv[1]
    if command == "sm3":
        with open(sys.argv[2], "rb") as handle:
            print(sm3.sm3_hash(func.bytes_to_list(handle.read())))
        return 0
    if command == "sm2-verify":
        public_key, signature_path, data_path = sys.argv[2:5]
        with open(signature_path, "rb") as handle:
            signature_hex = handle.read().hex()
        with open(data_path, "rb") as handle:
            data = handle.read()
        crypt = sm2.CryptSM2(private_key="", public_key="", asn1=True)
        # Set directly: the constructor's lstrip("04") would also eat leading 0/4 digits of x.
        crypt.public_key = public_key
        return 0 if crypt.verify_with_sm3(signature_hex, data) else 1
    raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    sys.exit(main())
