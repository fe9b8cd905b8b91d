"""Independent SM2/SM3 signature check with PyPI gmssl (pure Python).

usage: sm2_verify.py KIND SIGNED.der SIGNER_CERT.der
  KIND = cert | crl | ocsp

Parses the DER itself (a ~30-line TLV reader, no Rust involved), takes the
to-be-signed bytes exactly as stored, the DER signature from the BIT STRING
and the signer's public key from SIGNER_CERT's SubjectPublicKeyInfo, and
verifies with gmssl's verify_with_sm3 (Z computed with the default ID
1234567812345678). Prints OK and exits 0, or prints BAD and exits 1.
"""
import sys

from gmssl import sm2

# sm2sign-with-sm3, 1.2.156.10197.1.501
SM2_WITH_SM3 = bytes.fromhex("06082a811ccf55018375")


def tlv(data, off=0):
    """Return (tag, start_of_content, end_of_element) for the TLV at off."""
    tag = data[off]
    length = data[off + 1]
    pos = off + 2
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(data[pos:pos + n], "big")
        pos += n
    return tag, pos, pos + length


def children(data):
    """List (tag, whole_element_bytes, content_bytes) of a constructed value."""
    _, start, end = tlv(data)
    out = []
    off = start
    while off < end:
        tag, cstart, cend = tlv(data, off)
        out.append((tag, data[off:cend], data[cstart:cend]))
        off = cend
    return out


def public_key_hex(cert_der):
    tbs = children(children(cert_der)[0][1])
    if tbs[0][0] == 0xA0:  # explicit version
        tbs = tbs[1:]
    spki = children(tbs[5][1])
    bits = spki[1][2]
    assert bits[0] == 0 and bits[1] == 0x04 and len(bits) == 66, "uncompressed point"
    return bits[2:].hex()


def signed_parts(kind, der):
    if kind == "ocsp":
        response = children(der)
        response_bytes = children(response[1][2])  # [0] EXPLICIT ResponseBytes
        der = response_bytes[1][2]  # response OCTET STRING content
    parts = children(der)
    tbs, algorithm, signature = parts[0][1], parts[1][1], parts[2][2]
    assert algorithm.startswith(b"\x30") and SM2_WITH_SM3 in algorithm, "algorithm"
    assert signature[0] == 0, "unused bits"
    return tbs, signature[1:]


def main():
    kind, signed_path, signer_path = sys.argv[1:4]
    signed = open(signed_path, "rb").read()
    signer = open(signer_path, "rb").read()
    tbs, signature = signed_parts(kind, signed)
    checker = sm2.CryptSM2(private_key=None, public_key="00", asn1=True)
    # Set the key directly: the constructor's lstrip("04") also eats leading
    # '0'/'4' hex digits of x.
    checker.public_key = public_key_hex(signer)
    ok = checker.verify_with_sm3(signature.hex(), tbs)
    print("OK" if ok else "BAD")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
