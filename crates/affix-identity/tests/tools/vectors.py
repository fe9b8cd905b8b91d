#!/usr/bin/env python3
"""Independent computation of the affix-identity vectors (Python standard library only).

Writes tests/vectors/v1.txt (no argument, or `v1`) or tests/vectors/v2.txt (`v2`: the
version-2 one-time-code challenge, keyed with the pepper): `name hex` lines. Written from
the README's byte-layout tables, not from the Rust code, so tests/vectors.rs checks the
two agree.

    python3 crates/affix-identity/tests/tools/vectors.py > crates/affix-identity/tests/vectors/v1.txt
    python3 crates/affix-identity/tests/tools/vectors.py v2 > crates/affix-identity/tests/vectors/v2.txt
"""
import hashlib
import hmac
import sys


def seeded_stream(seed: bytes, n: int) -> bytes:
    """The test RNG of tests/common/mod.rs: SHA-256(seed || counter_be64) blocks."""
    out = b""
    i = 0
    while len(out) < n:
        out += hashlib.sha256(seed + i.to_bytes(8, "big")).digest()
        i += 1
    return out[:n]


def commitment(tag: bytes, salt: bytes, value: bytes) -> bytes:
    return hashlib.sha256(tag + salt + value).digest()


SALT = bytes(range(32))
NOW_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
LIFETIME_MS = 600_000
SEED = b"affix-identity/test-rng/otp-v1"

lines = []
resident = commitment(b"affix-identity/v1/resident-id\0", SALT, b"11010519491231002X")
mobile = commitment(b"affix-identity/v1/mobile\0", SALT, b"+8613812345678")
email = commitment(b"affix-identity/v1/email\0", SALT, b"alice@example.com")
lines += [("commitment-resident-id", resident), ("commitment-mobile", mobile), ("commitment-email", email)]

stream = seeded_stream(SEED, 56)
challenge_id, key, draw = stream[:16], stream[16:48], stream[48:56]
code = b"%06d" % (int.from_bytes(draw, "big") % 10**6)
tag = hmac.new(key, b"affix-identity/v1/otp-code\0" + challenge_id + code, hashlib.sha256).digest()


def challenge(attempts_used: int, state: int) -> bytes:
    return (
        b"AFOC" + bytes([1, 1, 6, 5, attempts_used, state]) + challenge_id
        + NOW_MS.to_bytes(8, "big") + (NOW_MS + LIFETIME_MS).to_bytes(8, "big")
        + email + key + tag
    )


lines += [
    ("otp-code", code),
    ("challenge-fresh", challenge(0, 0)),
    ("challenge-after-one-wrong-then-right", challenge(2, 1)),
]

verified_tag = b"affix-identity/v1/verified-identity\0"
at = (NOW_MS + 60_000).to_bytes(8, "big")
otp_encoding = verified_tag + b"\x01" + email + at + challenge_id
id_encoding = verified_tag + b"\x02" + resident + at
mobile_encoding = verified_tag + b"\x03" + mobile + at
external_encoding = (
    verified_tag + b"\x04" + resident + at + b"\x01"
    + bytes([len(b"example-faceid")]) + b"example-faceid"
    + bytes([len(b"req-0001")]) + b"req-0001" + bytes([0xAB]) * 32
)
for name, enc in [
    ("verified-email-otp", otp_encoding),
    ("verified-resident-id-format", id_encoding),
    ("verified-mobile-format", mobile_encoding),
    ("verified-external-face", external_encoding),
]:
    lines += [(name + "-encoding", enc), (name + "-digest", hashlib.sha256(enc).digest())]

# Version 2 of the challenge: the code MAC is keyed with the pepper (bytes 0x40..0x5f),
# the RNG gives 16 bytes of challenge id then 8 bytes for the code, no key is stored.
PEPPER = bytes(range(0x40, 0x60))
stream2 = seeded_stream(SEED, 24)
id2, draw2 = stream2[:16], stream2[16:24]
code2 = b"%06d" % (int.from_bytes(draw2, "big") % 10**6)
tag2 = hmac.new(PEPPER, b"affix-identity/v2/otp-code\0" + id2 + code2, hashlib.sha256).digest()


def challenge2(attempts_used: int, state: int) -> bytes:
    return (
        b"AFOC" + bytes([2, 1, 6, 5, attempts_used, state]) + id2
        + NOW_MS.to_bytes(8, "big") + (NOW_MS + LIFETIME_MS).to_bytes(8, "big")
        + email + tag2
    )


v2 = [
    ("otp-code-v2", code2),
    ("challenge-v2-fresh", challenge2(0, 0)),
    ("challenge-v2-after-one-wrong-then-right", challenge2(2, 1)),
]

version = sys.argv[1] if len(sys.argv) > 1 else "v1"
for name, value in {"v1": lines, "v2": v2}[version]:
    print(name, value.hex())
