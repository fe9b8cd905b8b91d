//! Webhooks through a real HTTP receiver: every contract event arrives signed as the
//! Standard Webhooks spec says — checked by the reference Python library
//! (`standardwebhooks`, PyPI) — a failed attempt is retried on schedule, and every
//! attempt is in the delivery log.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use common::{TestPlatform, b64};
use serde_json::{Value, json};

type Seen = Arc<Mutex<Vec<(HeaderMap, Vec<u8>)>>>;

async fn receiver(fail_first: usize) -> (String, Seen) {
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let seen = s2.clone();
            async move {
                let mut g = seen.lock().unwrap();
                g.push((headers, body.to_vec()));
                if g.len() <= fail_first {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::NO_CONTENT
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), seen)
}

fn python() -> std::path::PathBuf {
    let root =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/pyenv/bin/python");
    assert!(
        root.exists() || std::env::var("AFFIX_REQUIRE_POSTGRES").is_err(),
        "scripts/test installs target/pyenv"
    );
    root
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_events_arrive_signed_retried_and_logged() {
    let now = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    let clock = Arc::new(affix_notify::ManualClock::new(now));
    let dir = tempfile::tempdir().unwrap();
    let config = affix_platform::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().join("data"),
        allow_plain_http_webhooks: true,
        ..affix_platform::Config::default()
    };
    let running = affix_server::start_with_clock(config.clone(), clock.clone())
        .await
        .unwrap();
    let operator = std::fs::read_to_string(&running.operator_token_file)
        .unwrap()
        .trim()
        .to_owned();
    let p = TestPlatform {
        sink: None,
        url: running.url.clone(),
        running: Some(running),
        config,
        clock: clock.clone(),
        dir,
        http: reqwest::Client::new(),
        operator,
    };
    let (_, admin) = p.tenant("Acme").await;
    let (url, seen) = receiver(1).await;
    let (s, hook) = p.post("/v1/webhooks", &admin, json!({"url": url})).await;
    assert_eq!(s, 201, "{hook}");
    let secret = hook["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let hook_id = hook["id"].as_str().unwrap().to_owned();
    // Plain http is refused unless configured; this platform allows it for the test.
    let a = p.person(&admin, "甲", "a@example.com").await;
    let b = p.person(&admin, "乙", "b@example.com").await;
    let (s, c) = p
        .post("/v1/contracts", &admin, json!({"template": "generic_contract", "fields": {"title": "T"}, "parties": [a, b], "document": b64(b"d")}))
        .await;
    assert_eq!(s, 201, "{c}");
    let id = c["id"].as_str().unwrap().to_owned();
    let (s, _) = p
        .post(&format!("/v1/contracts/{id}/send"), &admin, json!({}))
        .await;
    assert_eq!(s, 200);

    // Two events (created, sent); the first attempt at the first one fails (503).
    let wait_for = |n: usize| {
        let seen = seen.clone();
        async move {
            for _ in 0..100 {
                if seen.lock().unwrap().len() >= n {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            panic!(
                "only {} webhook requests arrived, wanted {n}",
                seen.lock().unwrap().len()
            );
        }
    };
    wait_for(2).await;
    // The retry is due 5 s later.
    clock.advance_ms(5_500);
    wait_for(3).await;

    let requests = seen.lock().unwrap().clone();
    let mut ids = std::collections::BTreeSet::new();
    let mut types = Vec::new();
    for (headers, body) in &requests {
        let h = |n: &str| headers.get(n).unwrap().to_str().unwrap().to_owned();
        ids.insert(h("webhook-id"));
        // The reference implementation checks the signature.
        let script = "import sys, json\nfrom standardwebhooks import Webhook\nsecret, wid, ts, sig = sys.argv[1:5]\nbody = sys.stdin.buffer.read()\nWebhook(secret).verify(body, {'webhook-id': wid, 'webhook-timestamp': ts, 'webhook-signature': sig})\nprint('ok')\n";
        let mut child = std::process::Command::new(python())
            .args([
                "-c",
                script,
                &secret,
                &h("webhook-id"),
                &h("webhook-timestamp"),
                &h("webhook-signature"),
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        child.stdin.take().unwrap().write_all(body).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "standardwebhooks refused: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let payload: Value = serde_json::from_slice(body).unwrap();
        types.push(payload["type"].as_str().unwrap().to_owned());
        let data: Value = serde_json::from_str(payload["data"]["text"].as_str().unwrap()).unwrap();
        assert_eq!(data["contract_id"], id);
    }
    assert_eq!(ids.len(), 2, "the retry carries the same webhook-id");
    assert!(
        types.contains(&"contract.created".to_owned())
            && types.contains(&"contract.sent".to_owned())
    );

    // The delivery log: both delivered, one after two attempts.
    let (s, log) = p
        .get(&format!("/v1/webhooks/{hook_id}/deliveries"), &admin)
        .await;
    assert_eq!(s, 200, "{log}");
    let deliveries = log["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 2);
    assert!(
        deliveries.iter().all(|d| d["state"] == "delivered"),
        "{log}"
    );
    let attempts: Vec<usize> = deliveries
        .iter()
        .map(|d| d["attempts"].as_array().unwrap().len())
        .collect();
    assert_eq!(attempts.iter().sum::<usize>(), 3, "{log}");
    let failed = deliveries
        .iter()
        .flat_map(|d| d["attempts"].as_array().unwrap())
        .find(|a| a["outcome"]["kind"] == "failed")
        .unwrap();
    assert_eq!(failed["outcome"]["status"], 503);

    // https is required unless configured otherwise.
    let (_, admin_b) = p.tenant("B").await;
    let (s, _) = p
        .post(
            "/v1/webhooks",
            &admin_b,
            json!({"url": "ftp://example.com/x"}),
        )
        .await;
    assert_eq!(s, 422);
    p.stop().await;
}
