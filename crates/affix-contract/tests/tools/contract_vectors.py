#!/usr/bin/env python3
"""Independent implementation of the affix-contract v1 encodings (crate README,
"Byte formats"), standard library only.

Usage: contract_vectors.py VECTORS_DIR

1. Builds the canonical content bytes of the fixed loan-note example from scratch (the
   values below are the canonical forms the Rust template validation produces) and
   prints them with their digest.
2. Parses every event of VECTORS_DIR/chain-v1.hex by the documented layout, checks the
   links (event 0's prev_hash is the digest of VECTORS_DIR/live-content-v1.hex, each next
   one the previous event's hash), the sequence numbers, the contract id and content
   digest in every event, and prints the head.

Output: "content <hex>\\ndigest <hex>\\nhead <hex>\\n"; exit 1 on any check failing.
"""
import hashlib
import struct
import sys

CONTENT_DOMAIN = b"affix.dev/contract/content/v1\x00"
EVENT_DOMAIN = b"affix.dev/contract/event/v1\x00"

LOAN_NOTE_BODY = (
    "今借到{lender}人民币{principal}，年利率{annual_rate_percent}%，"
    "自{start_date}起{term_months}个月，还款方式：{repayment_method}。借款人：{borrower}\n"
)

FIELDS = {
    "lender": "张三",
    "borrower": "李四",
    "principal": "CNY 10000.00",
    "annual_rate_percent": "3.65",
    "start_date": "2026-01-01",
    "term_months": "12",
    "repayment_method": "equal_instalments",
    "purpose": "装修 home renovation",
}

# (party id, role code, display name, identity commitment)
PARTIES = [
    (b"party-initiator1", 1, "张三", b"\xa1" * 32),
    (b"party-borrower01", 2, "李四", b"\xb2" * 32),
    (b"party-witness-01", 3, "王五", b"\xc3" * 32),
]

NOW_MS = 1_767_225_600_000
EXPIRES_MS = NOW_MS + 30 * 86_400_000


def content_bytes():
    out = bytearray(b"AFCT")
    out.append(1)
    out += b"contract-fixture"
    out += b"affix.loannote.1"
    out += struct.pack(">I", 1)
    out += hashlib.sha256(LOAN_NOTE_BODY.encode()).digest()
    names = sorted(FIELDS, key=lambda n: n.encode())
    out.append(len(names))
    for name in names:
        value = FIELDS[name].encode()
        out.append(len(name))
        out += name.encode()
        out += struct.pack(">H", len(value)) + value
    out.append(len(PARTIES))
    for party_id, role, name, commitment in PARTIES:
        encoded = name.encode()
        out += party_id + bytes([role]) + struct.pack(">H", len(encoded)) + encoded
        out += commitment
    out.append(1)  # sequential
    out += struct.pack(">Q", EXPIRES_MS)
    return bytes(out)


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(1)


def parse_event(data):
    """Returns (contract_id, seq, at_ms, kind, actor, content_digest, prev_hash, rest)."""
    if data[:4] != b"AFEV" or data[4] != 1:
        fail("bad event magic or version")
    contract_id = data[5:21]
    seq, at_ms, kind, flag = struct.unpack(">IQBB", data[21:35])
    pos = 35
    actor = None
    if flag == 1:
        actor = (data[pos : pos + 16], data[pos + 16])
        pos += 17
    elif flag != 0:
        fail("bad actor flag")
    if (kind == 9) != (actor is None):
        fail("actor on expiry, or none on a party's step")
    content_digest = data[pos : pos + 32]
    pos += 32
    payload = {3: 32, 6: 128}.get(kind, 0)
    if kind not in range(1, 10):
        fail("unknown kind")
    pos += payload
    prev_hash = data[pos : pos + 32]
    pos += 32
    if pos != len(data):
        fail("event length does not match its kind")
    return contract_id, seq, at_ms, kind, actor, content_digest, prev_hash


def main():
    vectors = sys.argv[1]
    content = content_bytes()
    digest = hashlib.sha256(CONTENT_DOMAIN + content).hexdigest()

    with open(f"{vectors}/live-content-v1.hex") as f:
        live = bytes.fromhex(f.read().strip())
    live_digest = hashlib.sha256(CONTENT_DOMAIN + live).digest()
    live_contract_id = live[5:21]
    with open(f"{vectors}/chain-v1.hex") as f:
        events = [bytes.fromhex(line) for line in f.read().split()]
    previous = live_digest
    last_at = 0
    for index, data in enumerate(events):
        cid, seq, at_ms, kind, actor, content_digest, prev_hash = parse_event(data)
        if cid != live_contract_id:
            fail(f"event {index}: wrong contract")
        if seq != index:
            fail(f"event {index}: seq {seq}")
        if at_ms < last_at:
            fail(f"event {index}: time goes backwards")
        if content_digest != live_digest:
            fail(f"event {index}: wrong content digest")
        if prev_hash != previous:
            fail(f"event {index}: prev_hash does not link")
        if index == 0 and kind != 1:
            fail("event 0 is not Created")
        previous = hashlib.sha256(EVENT_DOMAIN + data).digest()
        last_at = at_ms
    if not events or events[-1][5 + 16 + 12] != 6:
        fail("the chain does not end with a signature")

    print(f"content {content.hex()}")
    print(f"digest {digest}")
    print(f"head {previous.hex()}")


if __name__ == "__main__":
    main()
