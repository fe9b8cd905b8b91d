"""Re-checks the approvals of an Affix evidence bundle v2 with implementations Affix did
not write: Yubico's python-fido2 (COSE keys, authenticator data, client data, the
assertion signature) and pyca/cryptography (browser-held P-256 keys), asn1crypto for the
CMS signed attributes. Reads the frozen encodings from their documentation:

  Authorization::encode   u8 version 1 | u16 BE len | statement | u16 BE len | proof
  statement               "affix.dev/vault/authorization/v1\\0" | u8 len | tenant |
                          u8 action | 16 key | u8 payload kind | 32 digest | ...
  Assertion::encode       u8 version 1 | u16 BE len | authenticatorData |
                          u16 BE len | clientDataJSON | u8 len | signature

usage: fido2_recheck.py BUNDLE.json   prints one line per signature, exits 1 on a fault
"""

import base64
import hashlib
import json
import sys

from asn1crypto import cms
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
from fido2 import cbor
from fido2.cose import CoseKey
from fido2.webauthn import AuthenticatorData, CollectedClientData

CONTEXT = b"affix.dev/vault/authorization/v1\x00"


def take(buf, at, n):
    if at + n > len(buf):
        raise ValueError("truncated")
    return buf[at : at + n], at + n


def u16(buf, at):
    raw, at = take(buf, at, 2)
    return int.from_bytes(raw, "big"), at


def authorization(raw):
    if raw[0] != 1:
        raise ValueError("authorization version")
    n, at = u16(raw, 1)
    statement, at = take(raw, at, n)
    n, at = u16(raw, at)
    proof, at = take(raw, at, n)
    if at != len(raw):
        raise ValueError("trailing bytes")
    return statement, proof


def statement_digest(statement):
    if not statement.startswith(CONTEXT):
        raise ValueError("not an authorization statement")
    at = len(CONTEXT)
    tenant_len = statement[at]
    at += 1 + tenant_len
    action = statement[at]
    payload_kind = statement[at + 17]
    digest = statement[at + 18 : at + 50]
    return action, payload_kind, digest


def assertion(proof):
    if proof[0] != 1:
        raise ValueError("assertion version")
    n, at = u16(proof, 1)
    auth_data, at = take(proof, at, n)
    n, at = u16(proof, at)
    client_data, at = take(proof, at, n)
    n = proof[at]
    signature, at = take(proof, at + 1, n)
    if at != len(proof):
        raise ValueError("trailing bytes")
    return auth_data, client_data, signature


def signed_attributes(cms_der):
    info = cms.ContentInfo.load(cms_der)
    attrs = info["content"]["signer_infos"][0]["signed_attrs"].dump()
    # RFC 5652 5.4: signed over with the SET OF tag, not the [0] IMPLICIT one.
    return b"\x31" + attrs[1:]


def check(sig):
    approval = sig["approval"]
    kind = approval["credential_kind"]
    key = base64.b64decode(approval["credential_public_key"])
    statement, proof = authorization(base64.b64decode(approval["authorization"]))
    action, payload_kind, digest = statement_digest(statement)
    attrs = signed_attributes(base64.b64decode(sig["cms"]))
    if action != 1 or payload_kind != 1 or digest != hashlib.sha256(attrs).digest():
        raise ValueError("the statement is not a sign of these signed attributes")
    if kind.startswith("passkey-"):
        auth_data, client_data, signature = assertion(proof)
        data = AuthenticatorData(auth_data)
        if data.rp_id_hash != hashlib.sha256(approval["rp_id"].encode()).digest():
            raise ValueError("rpIdHash")
        if not (data.is_user_present() and data.is_user_verified()):
            raise ValueError("UP and UV flags")
        client = CollectedClientData(client_data)
        if client.type != "webauthn.get" or client.origin != approval["origin"]:
            raise ValueError("client data type or origin")
        if client.challenge != hashlib.sha256(statement).digest():
            raise ValueError("challenge is not SHA-256 of the statement")
        cose = CoseKey.parse(cbor.decode(key))
        cose.verify(auth_data + hashlib.sha256(client_data).digest(), signature)
        return f"{kind}: WebAuthn assertion verified (counter {data.counter})"
    if kind == "browser-p256" or kind == "ecdsa-p256":
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), key)
        der = utils.encode_dss_signature(
            int.from_bytes(proof[:32], "big"), int.from_bytes(proof[32:], "big")
        )
        public.verify(der, statement, ec.ECDSA(hashes.SHA256()))
        return f"{kind}: ECDSA P-256 signature over the statement verified"
    if kind == "ed25519":
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        Ed25519PublicKey.from_public_bytes(key).verify(proof, statement)
        return f"{kind}: Ed25519 signature over the statement verified"
    raise ValueError(f"unknown credential kind {kind}")


def main():
    bundle = json.load(open(sys.argv[1], encoding="utf-8"))
    if bundle["format"] != "affix-evidence-bundle/v2":
        print("not a v2 bundle")
        return 1
    for sig in bundle["signatures"]:
        try:
            print(f"{sig['party']}: {check(sig)}")
        except Exception as e:  # noqa: BLE001 - any fault is the answer
            print(f"{sig['party']}: FAULT {type(e).__name__}: {e}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
