//! The dispatcher end to end: a local axum webhook receiver that verifies every request
//! with `verify`, a fake clock driven through the retry schedule, the durable JSON-lines
//! log, the SMS outbox and the queue bound.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use affix_notify::{
    ChannelRouter, Clock as _, DeliveryLog, DeliveryState, Dispatcher, DispatcherConfig, Error,
    EventType, FileOutbox, FileOutboxLimits, JsonLinesDeliveryLog, ManualClock, MemoryDeliveryLog,
    Notification, NotificationId, Outcome, PhoneNumber, Recipient, RetrySchedule, Sha256Digest,
    SmsNotifier, WebhookEndpoint, WebhookHeaders, WebhookSecret, WebhookSender,
    WebhookSenderConfig, verify, webhook_payload,
};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

const T0_MS: u64 = 1_782_000_000_000;

struct Receiver {
    secret: WebhookSecret,
    clock: Arc<ManualClock>,
    requests: AtomicUsize,
    /// (webhook-id, timestamp, body) of every request whose signature verified.
    verified: Mutex<Vec<(String, u64, Vec<u8>)>>,
}

async fn flaky(State(rx): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let n = rx.requests.fetch_add(1, Ordering::SeqCst);
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let h = WebhookHeaders {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
    };
    match verify(
        std::slice::from_ref(&rx.secret),
        &h,
        &body,
        rx.clock.now_ms() / 1000,
    ) {
        Ok(v) => rx
            .verified
            .lock()
            .unwrap()
            .push((v.id, v.timestamp_s, body.to_vec())),
        Err(_) => return StatusCode::UNAUTHORIZED,
    }
    if n < 2 {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::NO_CONTENT
    }
}

async fn bad_request(State(rx): State<Arc<Receiver>>) -> StatusCode {
    rx.requests.fetch_add(1, Ordering::SeqCst);
    StatusCode::BAD_REQUEST
}

async fn start_receiver(rx: Arc<Receiver>) -> String {
    let app = axum::Router::new()
        .route("/flaky", axum::routing::post(flaky))
        .route("/bad", axum::routing::post(bad_request))
        .with_state(rx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn webhook(id: &str, url: &str) -> Notification {
    Notification::new(
        NotificationId::parse(id).unwrap(),
        Recipient::Webhook(WebhookEndpoint::parse(url).unwrap()),
        EventType::parse("loan.repayment_due").unwrap(),
        "还款提醒",
        "借条 #42 将于 7 月 1 日到期",
        T0_MS - 60_000,
    )
    .unwrap()
}

struct Setup {
    clock: Arc<ManualClock>,
    rx: Arc<Receiver>,
    base: String,
    log: Arc<MemoryDeliveryLog>,
    dispatcher: Dispatcher,
}

async fn setup(capacity: usize) -> Setup {
    let clock = Arc::new(ManualClock::new(T0_MS));
    let secret = WebhookSecret::generate().unwrap();
    let rx = Arc::new(Receiver {
        secret: secret.clone(),
        clock: clock.clone(),
        requests: AtomicUsize::new(0),
        verified: Mutex::new(Vec::new()),
    });
    let base = start_receiver(rx.clone()).await;
    let sender = WebhookSender::new(
        Arc::new(vec![secret]),
        clock.clone(),
        WebhookSenderConfig {
            timeout_ms: 5_000,
            dangerous_allow_plain_http: true,
        },
    )
    .unwrap();
    let log = Arc::new(MemoryDeliveryLog::new(100));
    let dispatcher = Dispatcher::new(
        Arc::new(sender),
        log.clone(),
        clock.clone(),
        DispatcherConfig {
            capacity,
            batch_max: 10,
            schedule: RetrySchedule::standard_webhooks(),
        },
    )
    .unwrap();
    Setup {
        clock,
        rx,
        base,
        log,
        dispatcher,
    }
}

#[tokio::test]
async fn retries_503_per_schedule_until_delivered() {
    let s = setup(10).await;
    let n = webhook("msg_flaky", &format!("{}/flaky", s.base));
    let state = s.dispatcher.enqueue(n.clone()).unwrap();
    assert_eq!(
        state,
        DeliveryState::Pending {
            attempts_made: 0,
            next_attempt_at_ms: T0_MS
        }
    );

    let first = s.dispatcher.deliver_due().await.unwrap();
    assert_eq!(first.len(), 1);
    assert!(first[0].record.outcome.is_retryable());
    assert_eq!(
        first[0].state,
        DeliveryState::Pending {
            attempts_made: 1,
            next_attempt_at_ms: T0_MS + 5_000
        }
    );
    // Not due yet: nothing happens.
    s.clock.advance_ms(4_999);
    assert!(s.dispatcher.deliver_due().await.unwrap().is_empty());
    s.clock.advance_ms(1);
    let second = s.dispatcher.deliver_due().await.unwrap();
    assert_eq!(second[0].record.attempt, 2);
    assert_eq!(s.dispatcher.next_due_ms(), Some(T0_MS + 5_000 + 300_000));
    s.clock.set_ms(T0_MS + 305_000);
    let third = s.dispatcher.deliver_due().await.unwrap();
    assert_eq!(
        third[0].state,
        DeliveryState::Delivered { attempts_made: 3 }
    );
    assert!(matches!(
        third[0].record.outcome,
        Outcome::Delivered { status: 204, .. }
    ));
    assert!(s.dispatcher.is_empty());

    let records = s.log.records();
    assert_eq!(records.len(), 3);
    assert_eq!(
        records.iter().map(|r| r.attempt).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(
        records.iter().map(|r| r.started_at_ms).collect::<Vec<_>>(),
        vec![T0_MS, T0_MS + 5_000, T0_MS + 305_000]
    );
    for r in &records[..2] {
        assert!(matches!(
            r.outcome,
            Outcome::Failed {
                retryable: true,
                status: Some(503),
                ..
            }
        ));
    }
    // Every request verified at the receiver, with the same id, the attempt's
    // timestamp, and exactly the payload whose digest the records keep.
    let verified = s.rx.verified.lock().unwrap().clone();
    assert_eq!(verified.len(), 3);
    let payload = webhook_payload(&n);
    for ((id, ts, body), record) in verified.iter().zip(&records) {
        assert_eq!(id, "msg_flaky");
        assert_eq!(*ts, record.started_at_ms / 1000);
        assert_eq!(body, &payload);
        assert_eq!(record.payload_digest, Some(Sha256Digest::of(body)));
    }
    let json: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(json["type"], "loan.repayment_due");
    assert_eq!(json["timestamp"], "2026-06-20T23:59:00.000Z");
    assert_eq!(json["data"]["subject"], "还款提醒");
}

#[tokio::test]
async fn a_400_stops_retries() {
    let s = setup(10).await;
    s.dispatcher
        .enqueue(webhook("msg_bad", &format!("{}/bad", s.base)))
        .unwrap();
    let updates = s.dispatcher.deliver_due().await.unwrap();
    assert_eq!(
        updates[0].state,
        DeliveryState::Rejected { attempts_made: 1 }
    );
    assert!(matches!(
        updates[0].record.outcome,
        Outcome::Failed {
            retryable: false,
            status: Some(400),
            ..
        }
    ));
    for _ in 0..12 {
        s.clock.advance_ms(24 * 3600 * 1000);
        assert!(s.dispatcher.deliver_due().await.unwrap().is_empty());
    }
    assert_eq!(s.rx.requests.load(Ordering::SeqCst), 1);
    assert_eq!(s.log.records().len(), 1);
}

#[tokio::test]
async fn connection_refused_is_retried_then_given_up() {
    let clock = Arc::new(ManualClock::new(T0_MS));
    let sender = WebhookSender::new(
        Arc::new(vec![WebhookSecret::generate().unwrap()]),
        clock.clone(),
        WebhookSenderConfig {
            timeout_ms: 2_000,
            dangerous_allow_plain_http: true,
        },
    )
    .unwrap();
    let log = Arc::new(MemoryDeliveryLog::new(100));
    let dispatcher = Dispatcher::new(
        Arc::new(sender),
        log.clone(),
        clock.clone(),
        DispatcherConfig {
            capacity: 1,
            batch_max: 1,
            schedule: RetrySchedule::new(vec![0, 1_000], 0).unwrap(),
        },
    )
    .unwrap();
    let port = common::free_port();
    dispatcher
        .enqueue(webhook("msg_down", &format!("http://127.0.0.1:{port}/x")))
        .unwrap();
    let first = dispatcher.deliver_due().await.unwrap();
    assert!(
        first[0].record.outcome.is_retryable(),
        "{:?}",
        first[0].record
    );
    clock.advance_ms(1_000);
    let second = dispatcher.deliver_due().await.unwrap();
    assert_eq!(second[0].state, DeliveryState::GaveUp { attempts_made: 2 });
    assert!(dispatcher.is_empty());
}

#[tokio::test]
async fn plain_http_is_refused_unless_allowed() {
    let clock = Arc::new(ManualClock::new(T0_MS));
    let sender = WebhookSender::new(
        Arc::new(vec![WebhookSecret::generate().unwrap()]),
        clock,
        WebhookSenderConfig::default(),
    )
    .unwrap();
    let record = sender
        .deliver(&webhook("msg_http", "http://127.0.0.1:9/x"), 1)
        .await;
    assert!(matches!(
        record.outcome,
        Outcome::Failed {
            retryable: false,
            ..
        }
    ));
    assert_eq!(record.payload_digest, None);
}

#[tokio::test]
async fn queue_is_bounded_and_refuses_duplicates() {
    let s = setup(1).await;
    let url = format!("{}/flaky", s.base);
    s.dispatcher.enqueue(webhook("msg_a", &url)).unwrap();
    assert!(matches!(
        s.dispatcher.enqueue(webhook("msg_a", &url)),
        Err(Error::AlreadyQueued { .. })
    ));
    assert!(matches!(
        s.dispatcher.enqueue(webhook("msg_b", &url)),
        Err(Error::QueueFull { capacity: 1 })
    ));
    // The pending work can be persisted and restored into a fresh dispatcher.
    let pending = s.dispatcher.pending();
    assert_eq!(pending.len(), 1);
    let json = serde_json::to_string(&pending).unwrap();
    let back: Vec<(Notification, DeliveryState)> = serde_json::from_str(&json).unwrap();
    let fresh = setup(1).await;
    for (n, state) in back {
        fresh.dispatcher.restore(n, state).unwrap();
    }
    assert_eq!(fresh.dispatcher.len(), 1);
    assert!(matches!(
        fresh.dispatcher.restore(
            webhook("msg_c", &url),
            DeliveryState::Delivered { attempts_made: 1 }
        ),
        Err(Error::AlreadyFinal { .. })
    ));
}

#[tokio::test]
async fn sms_goes_to_the_outbox_and_every_attempt_to_the_durable_log() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0_MS));
    let outbox =
        FileOutbox::open(dir.path().join("sms.jsonl"), FileOutboxLimits::default()).unwrap();
    let router = ChannelRouter::new(clock.clone())
        .with_sms(Arc::new(SmsNotifier::new(Arc::new(outbox), clock.clone())));
    let log_path = dir.path().join("deliveries.jsonl");
    let log: Arc<dyn DeliveryLog> = Arc::new(JsonLinesDeliveryLog::open(&log_path).unwrap());
    let dispatcher = Dispatcher::new(
        Arc::new(router),
        log,
        clock.clone(),
        DispatcherConfig::default(),
    )
    .unwrap();

    let sms = |id: &str, body: &str| {
        Notification::new(
            NotificationId::parse(id).unwrap(),
            Recipient::Sms(PhoneNumber::parse("+8613800138000").unwrap()),
            EventType::parse("loan.repayment_due").unwrap(),
            "",
            body,
            T0_MS,
        )
        .unwrap()
    };
    dispatcher
        .enqueue(sms(
            "msg_sms1",
            "【Affix】借条 #42 将于 7 月 1 日到期，请按时还款。",
        ))
        .unwrap();
    dispatcher
        .enqueue(sms("msg_sms2", &"长".repeat(481)))
        .unwrap();
    dispatcher
        .enqueue(common::reminder("msg_mail", "a@example.com")) // no e-mail channel configured
        .unwrap();
    let updates = dispatcher.deliver_due().await.unwrap();
    assert_eq!(updates.len(), 3);
    assert!(dispatcher.is_empty());

    let records = JsonLinesDeliveryLog::read_all(&log_path).unwrap();
    assert_eq!(records.len(), 3);
    let by_id = |id: &str| {
        records
            .iter()
            .find(|r| r.notification_id.as_str() == id)
            .unwrap()
    };
    let outboxed = by_id("msg_sms1");
    let Outcome::Outboxed { detail } = &outboxed.outcome else {
        panic!("{outboxed:?}");
    };
    assert!(detail.contains("not yet sent to a phone"));
    assert!(matches!(
        by_id("msg_sms2").outcome,
        Outcome::Failed {
            retryable: false,
            ..
        }
    ));
    assert!(matches!(
        by_id("msg_mail").outcome,
        Outcome::Failed {
            retryable: false,
            ..
        }
    ));

    let outbox_text = std::fs::read_to_string(dir.path().join("sms.jsonl")).unwrap();
    let lines: Vec<&str> = outbox_text.lines().collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(
        outboxed.payload_digest,
        Some(Sha256Digest::of(lines[0].as_bytes()))
    );
    let line: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(line["to"], "+8613800138000");
    assert_eq!(line["id"], "msg_sms1");
    assert_eq!(
        updates
            .iter()
            .find(|u| u.record.notification_id.as_str() == "msg_sms1")
            .unwrap()
            .state,
        DeliveryState::Outboxed { attempts_made: 1 }
    );
}

/// A log that refuses: the attempt is not lost, it stays due.
struct BrokenLog;
impl DeliveryLog for BrokenLog {
    fn append(&self, _record: &affix_notify::DeliveryRecord) -> Result<(), Error> {
        Err(Error::DeliveryLogFull { capacity: 0 })
    }
}

#[tokio::test]
async fn a_log_failure_keeps_the_notification_due() {
    let s = setup(10).await;
    let dispatcher = Dispatcher::new(
        Arc::new(ChannelRouter::new(s.clock.clone())),
        Arc::new(BrokenLog),
        s.clock.clone(),
        DispatcherConfig::default(),
    )
    .unwrap();
    dispatcher
        .enqueue(webhook("msg_x", &format!("{}/flaky", s.base)))
        .unwrap();
    assert!(dispatcher.deliver_due().await.is_err());
    let id = NotificationId::parse("msg_x").unwrap();
    assert!(dispatcher.state(&id).unwrap().is_due(s.clock.now_ms()));
}
