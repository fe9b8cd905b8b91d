"""Recomputes affix-notify digests from the byte layout in the crate README, written
independently of the Rust code (Python hashlib + struct). Reads JSON on stdin:
{"notification": {...serde form...}, "records": [{...serde form...}, ...]} and prints
{"notification_digest": hex, "record_digests": [hex, ...]}."""
import hashlib
import json
import struct
import sys

CHANNEL = {"email": 1, "sms": 2, "webhook": 3}


def s(text):
    b = text.encode("utf-8")
    return struct.pack(">I", len(b)) + b


def notification_digest(n):
    out = b"affix.dev/notify/notification/v1"
    out += s(n["id"])
    out += bytes([CHANNEL[n["recipient"]["channel"]]])
    out += s(n["recipient"]["address"])
    out += s(n["event_type"])
    out += struct.pack(">Q", n["created_at_ms"])
    out += s(n["subject"]) + s(n["body"])
    return hashlib.sha256(out).hexdigest()


def record_digest(r):
    out = b"affix.dev/notify/delivery-record/v1"
    out += s(r["notification_id"])
    out += bytes([CHANNEL[r["channel"]]])
    out += s(r["recipient"])
    out += struct.pack(">IQQ", r["attempt"], r["started_at_ms"], r["at_ms"])
    o = r["outcome"]
    if o["kind"] == "delivered":
        out += b"\x01" + struct.pack(">H", o["status"]) + s(o["detail"])
    elif o["kind"] == "outboxed":
        out += b"\x02" + s(o["detail"])
    elif o["kind"] == "failed":
        status = o["status"]
        out += b"\x03" + bytes([1 if o["retryable"] else 0, 0 if status is None else 1])
        out += struct.pack(">H", 0 if status is None else status) + s(o["reason"])
    else:
        raise ValueError(o["kind"])
    out += bytes.fromhex(r["notification_digest"])
    p = r["payload_digest"]
    out += (b"\x00" + bytes(32)) if p is None else (b"\x01" + bytes.fromhex(p))
    return hashlib.sha256(out).hexdigest()


data = json.load(sys.stdin)
print(json.dumps({
    "notification_digest": notification_digest(data["notification"]),
    "record_digests": [record_digest(r) for r in data["records"]],
}))
