//! Independent checks by implementations we did not write: the official PyPI
//! `standardwebhooks` library verifies our signatures and signs webhooks we verify; and
//! a Python re-implementation of the README's digest layout recomputes our digests.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

mod common;

use affix_notify::{
    Clock as _, DeliveryRecord, Notification, Outcome, Sha256Digest, SystemClock, WebhookHeaders,
    WebhookSecret, sign, verify, webhook_payload,
};

const PY_VERIFY: &str = r#"
import json, sys
from standardwebhooks.webhooks import Webhook
case = json.load(sys.stdin)
wh = Webhook(case["secret"])
headers = {"webhook-id": case["id"], "webhook-timestamp": case["timestamp"],
           "webhook-signature": case["signature"]}
body = case["body"].encode()
wh.verify(body, headers)                      # raises on failure
tampered = body.replace(b"5,000", b"9,000")
try:
    wh.verify(tampered, headers)
    print("tampered body accepted")
    sys.exit(1)
except Exception:
    pass
print("ok")
"#;

const PY_SIGN: &str = r#"
import json, sys
from datetime import datetime, timezone
from standardwebhooks.webhooks import Webhook
case = json.load(sys.stdin)
ts = datetime.now(tz=timezone.utc)
sig = Webhook(case["secret"]).sign(case["id"], ts, case["body"])
print(json.dumps({"timestamp": str(int(ts.timestamp())), "signature": sig}))
"#;

fn now_s() -> u64 {
    SystemClock.now_ms() / 1000
}

#[test]
fn official_python_library_verifies_our_signature() {
    let secret = WebhookSecret::generate().unwrap();
    let notification = common::reminder("msg_interop1", "a@example.com");
    let body = webhook_payload(&notification);
    let timestamp = now_s();
    let signature = sign(&secret, notification.id().as_str(), timestamp, &body);
    let case = serde_json::json!({
        "secret": *secret.expose_whsec(),
        "id": notification.id().as_str(),
        "timestamp": timestamp.to_string(),
        "signature": signature,
        "body": String::from_utf8(body).unwrap(),
    });
    let out = common::run_python(
        &["-c".as_ref(), PY_VERIFY.as_ref()],
        case.to_string().as_bytes(),
    );
    assert_eq!(out.trim(), "ok");
}

#[test]
fn we_verify_the_official_python_library_signature() {
    let secret = WebhookSecret::generate().unwrap();
    let body = r#"{"type":"loan.repayment_due","data":{"text":"还款提醒"}}"#;
    let case = serde_json::json!({
        "secret": *secret.expose_whsec(),
        "id": "msg_from_python",
        "body": body,
    });
    let out = common::run_python(
        &["-c".as_ref(), PY_SIGN.as_ref()],
        case.to_string().as_bytes(),
    );
    let signed: serde_json::Value = serde_json::from_str(&out).unwrap();
    let headers = WebhookHeaders {
        id: "msg_from_python",
        timestamp: signed["timestamp"].as_str().unwrap(),
        signature: signed["signature"].as_str().unwrap(),
    };
    let verified = verify(
        std::slice::from_ref(&secret),
        &headers,
        body.as_bytes(),
        now_s(),
    )
    .unwrap();
    assert_eq!(verified.id, "msg_from_python");
    let other = WebhookSecret::generate().unwrap();
    assert!(verify(&[other], &headers, body.as_bytes(), now_s()).is_err());
    assert!(verify(&[secret], &headers, b"{}", now_s()).is_err());
}

fn records(n: &Notification) -> Vec<DeliveryRecord> {
    vec![
        DeliveryRecord::new(
            n,
            2,
            1_782_000_005_000,
            1_782_000_005_120,
            Outcome::delivered(250, "250 2.0.0 Ok: queued as 4F2A"),
            Some(Sha256Digest::of(b"payload")),
        ),
        DeliveryRecord::new(n, 1, 10, 20, Outcome::failed(true, None, "timed out"), None),
        DeliveryRecord::new(
            n,
            3,
            10,
            20,
            Outcome::failed(false, Some(550), "550 5.1.1 没有这个用户"),
            Some(Sha256Digest([7; 32])),
        ),
        DeliveryRecord::new(
            n,
            1,
            0,
            u64::MAX,
            Outcome::Outboxed {
                detail: "appended to SMS outbox at byte 0".into(),
            },
            None,
        ),
    ]
}

#[test]
fn python_recomputes_our_digests_from_the_readme_layout() {
    let n = common::reminder(
        "msg_00112233445566778899aabbccddeeff",
        "borrower@example.com",
    );
    let records = records(&n);
    let input = serde_json::json!({ "notification": n, "records": records });
    let out = common::run_python(
        &[common::tool("digest_check.py").as_os_str()],
        input.to_string().as_bytes(),
    );
    let theirs: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(theirs["notification_digest"], n.digest().to_string());
    let ours: Vec<String> = records.iter().map(|r| r.digest().to_string()).collect();
    assert_eq!(theirs["record_digests"], serde_json::json!(ours));
}

/// The frozen fixture of `src/record.rs` (`digest_formats_are_frozen`): Python must
/// arrive at the same pinned values from the README layout alone.
#[test]
fn python_agrees_with_the_pinned_fixture_digests() {
    use affix_notify::{EmailAddress, EventType, NotificationId, Recipient};
    let n = Notification::new(
        NotificationId::parse("msg_00112233445566778899aabbccddeeff").unwrap(),
        Recipient::Email(EmailAddress::parse("borrower@example.com").unwrap()),
        EventType::parse("loan.repayment_due").unwrap(),
        "还款提醒",
        "您的借款将于 2026-07-01 到期。",
        1_782_000_000_000,
    )
    .unwrap();
    let record = DeliveryRecord::new(
        &n,
        2,
        1_782_000_005_000,
        1_782_000_005_120,
        Outcome::delivered(250, "250 2.0.0 Ok: queued as 4F2A"),
        Some(Sha256Digest::of(b"payload")),
    );
    let input = serde_json::json!({ "notification": n, "records": [record] });
    let out = common::run_python(
        &[common::tool("digest_check.py").as_os_str()],
        input.to_string().as_bytes(),
    );
    let theirs: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        theirs["notification_digest"],
        "2f113fde04451edb2e03f07c2beb21cbb4108ad2d534774aabbe513a5afdcfb6"
    );
    assert_eq!(
        theirs["record_digests"][0],
        "d6d64b5512130025e1981e13ded6a3abbff8da50b9ae2978759a7fd6aede5572"
    );
}
