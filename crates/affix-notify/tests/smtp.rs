//! `SmtpMailer` against a real SMTP server: Python's aiosmtpd (PyPI), started by the test
//! on a free loopback port; the received message is decoded by Python's `email` package.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

mod common;

use std::io::BufRead as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use affix_notify::{
    EmailAddress, ManualClock, Outcome, Sha256Digest, SmtpConfig, SmtpMailer, SmtpTls,
};

/// The aiosmtpd server; killed on drop.
struct SmtpSink {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl SmtpSink {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = common::free_port();
        let mut child = Command::new(common::python())
            .arg(common::tool("smtp_sink.py"))
            .arg(port.to_string())
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "READY", "aiosmtpd did not start");
        Self { child, port, dir }
    }

    fn received(&self) -> Vec<serde_json::Value> {
        let mut files: Vec<_> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files.iter().map(|p| read_json(p)).collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn mailer(port: u16, clock: Arc<ManualClock>) -> SmtpMailer {
    SmtpMailer::new(
        SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            tls: SmtpTls::DangerousPlaintext,
            credentials: None,
            from: EmailAddress::parse("notice@affix.example").unwrap(),
            from_name: Some("Affix 通知".into()),
            timeout_ms: 5_000,
        },
        clock,
    )
    .unwrap()
}

#[tokio::test]
async fn delivers_chinese_text_to_a_real_smtp_server() {
    let sink = SmtpSink::start();
    let clock = Arc::new(ManualClock::new(1_782_000_000_000));
    let mailer = mailer(sink.port, clock.clone());
    let n = common::reminder("msg_smtp1", "borrower@example.com");

    let record = mailer.deliver(&n, 1).await;
    let Outcome::Delivered { status, detail } = &record.outcome else {
        panic!("{record:?}");
    };
    assert_eq!(*status, 250);
    assert_eq!(detail, "250 2.0.0 Ok: queued as affix-test-1");
    assert_eq!(record.attempt, 1);
    assert_eq!(record.recipient, "borrower@example.com");
    assert_eq!(record.notification_digest, n.digest());
    assert_eq!(record.started_at_ms, 1_782_000_000_000);

    let got = sink.received();
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m["mail_from"], "notice@affix.example");
    assert_eq!(m["rcpt_tos"], serde_json::json!(["borrower@example.com"]));
    assert_eq!(m["to"], "borrower@example.com");
    assert!(m["from"].as_str().unwrap().contains("Affix 通知"));
    assert_eq!(m["subject"], n.subject());
    assert_eq!(m["content_type"], "text/plain");
    assert_eq!(m["charset"], "utf-8");
    assert_eq!(m["message_id"], "<msg_smtp1@affix.example>");
    assert!(
        m["date"].as_str().unwrap().contains("2026"),
        "{}",
        m["date"]
    );
    // Python's decoder may normalise line endings; compare line by line.
    let body: Vec<&str> = m["body"].as_str().unwrap().lines().collect();
    assert_eq!(body, n.body().lines().collect::<Vec<_>>());
    assert!(record.payload_digest.is_some());
    assert_ne!(record.payload_digest, Some(Sha256Digest::of(b"")));
}

#[tokio::test]
async fn refused_recipient_is_a_permanent_failure() {
    let sink = SmtpSink::start();
    let mailer = mailer(sink.port, Arc::new(ManualClock::new(0)));
    let record = mailer
        .deliver(&common::reminder("msg_smtp2", "refused@example.com"), 1)
        .await;
    let Outcome::Failed {
        retryable,
        status,
        reason,
    } = &record.outcome
    else {
        panic!("{record:?}");
    };
    assert!(!retryable);
    assert_eq!(*status, Some(550));
    assert!(reason.contains("mailbox unavailable"), "{reason}");
    assert!(sink.received().is_empty());
}

#[tokio::test]
async fn transient_refusal_is_retryable() {
    let sink = SmtpSink::start();
    let mailer = mailer(sink.port, Arc::new(ManualClock::new(0)));
    let record = mailer
        .deliver(&common::reminder("msg_smtp3", "busy@example.com"), 1)
        .await;
    assert!(
        matches!(
            &record.outcome,
            Outcome::Failed {
                retryable: true,
                status: Some(451),
                ..
            }
        ),
        "{record:?}"
    );
}

#[tokio::test]
async fn closed_port_is_a_retryable_failure_not_a_panic() {
    let port = common::free_port(); // nothing listens there
    let mailer = mailer(port, Arc::new(ManualClock::new(0)));
    let record = tokio::time::timeout(
        Duration::from_secs(10),
        mailer.deliver(&common::reminder("msg_smtp4", "borrower@example.com"), 1),
    )
    .await
    .unwrap();
    assert!(
        matches!(
            &record.outcome,
            Outcome::Failed {
                retryable: true,
                status: None,
                ..
            }
        ),
        "{record:?}"
    );
}
