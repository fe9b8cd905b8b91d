//! E-mail through a real SMTP server: with `[smtp]` configured, invites and one-time
//! codes reach Python's aiosmtpd (PyPI, started by the test; the messages are decoded by
//! Python's own `email` package), and a party completes its identity check with the
//! code as received there.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::BufRead as _;
use std::process::{Command, Stdio};

use common::{Device, TestPlatform, b64};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_and_invites_travel_over_smtp() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = root.join("target/pyenv/bin/python");
    if !python.exists() {
        assert!(
            std::env::var("AFFIX_REQUIRE_POSTGRES").is_err(),
            "scripts/test installs target/pyenv"
        );
        eprintln!("skipping: no target/pyenv (scripts/test installs aiosmtpd there)");
        return;
    }
    let outdir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut sink = Command::new(&python)
        .arg(root.join("crates/affix-notify/tests/tools/smtp_sink.py"))
        .arg(port.to_string())
        .arg(outdir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(sink.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "READY");

    let dir = tempfile::tempdir().unwrap();
    let config = affix_platform::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().join("data"),
        smtp: Some(affix_platform::config::SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            tls: "none".into(),
            from: "sign@affix.example".into(),
            username: None,
        }),
        ..affix_platform::Config::default()
    };
    let running = affix_server::start(config.clone()).await.unwrap();
    assert!(
        running.outbox.is_none(),
        "no file outbox with SMTP configured"
    );
    let operator = std::fs::read_to_string(&running.operator_token_file)
        .unwrap()
        .trim()
        .to_owned();
    let p = TestPlatform {
        sink: None,
        url: running.url.clone(),
        running: Some(running),
        config,
        clock: std::sync::Arc::new(affix_notify::SystemClock),
        dir,
        http: reqwest::Client::new(),
        operator,
    };
    let (_, admin) = p.tenant("Acme").await;
    let a = p.person(&admin, "张三", "zhang@example.com").await;
    let b = p.person(&admin, "李四", "li@example.com").await;
    let (_, c) = p
        .post(
            "/v1/contracts",
            &admin,
            json!({"template": "generic_contract", "fields": {"title": "Lease"}, "parties": [a, b], "document": b64(b"lease")}),
        )
        .await;
    let id = c["id"].as_str().unwrap().to_owned();
    let (s, sent) = p
        .post(&format!("/v1/contracts/{id}/send"), &admin, json!({}))
        .await;
    assert_eq!(s, 200, "{sent}");
    assert!(
        !sent.to_string().contains("afi_"),
        "no link for the sender: {sent}"
    );
    // 张三's link, as the SMTP server received it and Python decoded it.
    let marker = format!("(contract {id})");
    let token = (0..100)
        .find_map(|_| {
            let found = std::fs::read_dir(outdir.path())
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .filter_map(|f| {
                    serde_json::from_str::<Value>(&std::fs::read_to_string(f).ok()?).ok()
                })
                .find(|m| {
                    m["rcpt_tos"][0] == "zhang@example.com"
                        && m["body"].as_str().is_some_and(|b| b.contains(&marker))
                })
                .and_then(|m| {
                    m["body"]
                        .as_str()?
                        .split_whitespace()
                        .find_map(|w| w.split_once("/sign#").map(|(_, t)| t.to_owned()))
                });
            if found.is_none() {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            found
        })
        .expect("the invite reached 张三 over SMTP");
    let (s, _) = p.post("/v1/invite/identity/email", &token, json!({})).await;
    assert_eq!(s, 200);

    let received: Vec<Value> = {
        let mut files: Vec<_> = std::fs::read_dir(outdir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|f| serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap())
            .collect()
    };
    // Two invites and one code, as the SMTP server received and Python decoded them.
    assert_eq!(received.len(), 3, "{received:?}");
    let invites = received
        .iter()
        .filter(|m| {
            m["subject"]
                .as_str()
                .unwrap()
                .contains("Please sign: Lease")
        })
        .count();
    assert_eq!(invites, 2);
    let code_mail = received
        .iter()
        .find(|m| {
            m["rcpt_tos"][0] == "zhang@example.com" && m["subject"] == "Your Affix signing code"
        })
        .unwrap();
    assert!(
        code_mail["from"]
            .as_str()
            .unwrap()
            .contains("sign@affix.example")
    );
    let code = code_mail["body"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .find(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit()))
        .unwrap()
        .to_owned();
    let device = Device::new();
    let (s, v) = p
        .post(
            "/v1/invite/identity/email/verify",
            &token,
            json!({"code": code, "device_public_key": device.public_b64(), "signer_name": "Signer"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["parties"][0]["status"], "identity_verified");
    drop(sink.stdin.take());
    let _ = sink.wait();
    p.stop().await;
}
