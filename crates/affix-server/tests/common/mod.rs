//! Test support: a whole platform in process (embedded ledger, vault, CA/TSA) on
//! SQLite or on a fresh PostgreSQL database, an HTTP client, a device key, the e-mail
//! outbox reader.
#![allow(dead_code, clippy::unwrap_used, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use affix_platform::Config;
use affix_server::Running;
use base64::Engine as _;
use ed25519_dalek::Signer as _;
use serde_json::{Value, json};

/// Which database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// A fresh PostgreSQL database URL, or `None` (skip) when no server is configured.
pub async fn postgres_url() -> Option<String> {
    let Ok(base) = std::env::var("AFFIX_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var("AFFIX_REQUIRE_POSTGRES").is_err(),
            "AFFIX_REQUIRE_POSTGRES is set but AFFIX_TEST_POSTGRES_URL is not"
        );
        eprintln!(
            "skipping the PostgreSQL variant: AFFIX_TEST_POSTGRES_URL is not set (scripts/test sets it)"
        );
        return None;
    };
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(&base).await.unwrap();
    let mut r = [0u8; 8];
    getrandom::fill(&mut r).unwrap();
    let name = format!("affix_test_{}", hex::encode(r));
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let (prefix, _) = base.rsplit_once('/').unwrap();
    Some(format!("{prefix}/{name}"))
}

/// An LPR table for tests: the built-in entries (last: 3.00 % from 2025-05-20, so the
/// rate cap is 12.00 %), vouched for through a year after `now_ms`. Only a test may
/// vouch for rates it has not seen; operators configure the published table.
pub fn test_lpr_table(dir: &Path, now_ms: u64) -> PathBuf {
    let builtin = affix_contract::LprTable::builtin().canonical_text();
    let entries: String = builtin
        .lines()
        .filter(|l| !l.starts_with("through"))
        .map(|l| format!("{l}\n"))
        .collect();
    let through = affix_identity::Date::from_unix_ms_china(now_ms + 400 * 86_400_000);
    let path = dir.join("lpr.txt");
    std::fs::write(&path, format!("# test table\n{entries}through {through}\n")).unwrap();
    path
}

/// A real SMTP server (Python's aiosmtpd, from target/pyenv) whose received messages,
/// decoded by Python's `email` package, are JSON files in a directory.
pub struct SmtpSink {
    child: std::process::Child,
    dir: tempfile::TempDir,
    pub port: u16,
}

impl SmtpSink {
    /// Starts one; `None` (skip) without target/pyenv, unless scripts/test runs us.
    pub fn start() -> Option<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self::start_on(port)
    }

    /// Starts one on `port` (e.g. where a stopped one was).
    pub fn start_on(port: u16) -> Option<Self> {
        use std::io::BufRead as _;
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let python = root.join("target/pyenv/bin/python");
        if !python.exists() {
            assert!(
                std::env::var("AFFIX_REQUIRE_POSTGRES").is_err(),
                "scripts/test installs target/pyenv"
            );
            eprintln!("skipping: no target/pyenv (scripts/test installs aiosmtpd there)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new(&python)
            .arg(root.join("crates/affix-notify/tests/tools/smtp_sink.py"))
            .arg(port.to_string())
            .arg(dir.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "READY");
        Some(Self { child, dir, port })
    }

    /// Every message received so far, in arrival order.
    pub fn messages(&self) -> Vec<Value> {
        let mut files: Vec<(u64, PathBuf)> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .filter_map(|p| {
                let n = p.file_stem()?.to_str()?.parse().ok()?;
                Some((n, p))
            })
            .collect();
        files.sort();
        files
            .iter()
            .filter_map(|(_, f)| serde_json::from_str(&std::fs::read_to_string(f).ok()?).ok())
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct TestPlatform {
    pub sink: Option<SmtpSink>,
    pub running: Option<Running>,
    pub config: Config,
    pub clock: Arc<dyn affix_notify::Clock>,
    pub url: String,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
    pub operator: String,
}

impl TestPlatform {
    /// Starts a platform; `None` when the PostgreSQL variant is skipped.
    pub async fn start(db: Db) -> Option<Self> {
        Self::start_with_clock(db, Arc::new(affix_notify::SystemClock)).await
    }

    /// With a clock of the test's own.
    pub async fn start_with_clock(db: Db, clock: Arc<dyn affix_notify::Clock>) -> Option<Self> {
        Self::start_configured(db, clock, |_| {}).await
    }

    /// With a clock and a change to the configuration.
    pub async fn start_configured(
        db: Db,
        clock: Arc<dyn affix_notify::Clock>,
        tweak: impl FnOnce(&mut Config),
    ) -> Option<Self> {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_env("AFFIX_LOG").unwrap_or_else(|_| {
                    tracing_subscriber::EnvFilter::new("warn,affix_node=error,commonware=error")
                }),
            )
            .with_test_writer()
            .try_init();
        let dir = tempfile::tempdir().unwrap();
        let database_url = match db {
            Db::Sqlite => None,
            Db::Postgres => Some(postgres_url().await?),
        };
        let mut config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().join("data"),
            database_url,
            lpr_table: Some(test_lpr_table(dir.path(), clock.now_ms())),
            ..Config::default()
        };
        tweak(&mut config);
        let running = affix_server::start_with_clock(config.clone(), clock.clone())
            .await
            .unwrap();
        let operator = std::fs::read_to_string(&running.operator_token_file)
            .unwrap()
            .trim()
            .to_owned();
        Some(Self {
            sink: None,
            url: running.url.clone(),
            running: Some(running),
            config,
            clock,
            dir,
            http: reqwest::Client::new(),
            operator,
        })
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut rb = self.http.request(method, format!("{}{path}", self.url));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.unwrap();
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let bytes = r.bytes().await.unwrap();
        if status >= 400 {
            assert_eq!(
                ct,
                "application/problem+json",
                "{path}: errors are problem+json: {}",
                String::from_utf8_lossy(&bytes)
            );
        }
        let value = serde_json::from_slice(&bytes)
            .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, value)
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(token), Some(body))
            .await
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, Some(token), None)
            .await
    }

    /// A tenant and its admin key.
    pub async fn tenant(&self, name: &str) -> (String, String) {
        let (s, v) = self
            .post("/v1/tenants", &self.operator, json!({"name": name}))
            .await;
        assert_eq!(s, 201, "{v}");
        (
            v["tenant_id"].as_str().unwrap().to_owned(),
            v["admin_api_key"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn person(&self, key: &str, name: &str, email: &str) -> String {
        let (s, v) = self
            .post("/v1/persons", key, json!({"name": name, "email": email, "mobile": "13812345678", "resident_id": "11010519491231002X"}))
            .await;
        assert_eq!(s, 201, "{v}");
        v["id"].as_str().unwrap().to_owned()
    }

    /// With e-mail over SMTP to a real SMTP server; `None` (skip) without one.
    pub async fn start_with_smtp(db: Db, clock: Arc<dyn affix_notify::Clock>) -> Option<Self> {
        let sink = SmtpSink::start()?;
        let port = sink.port;
        let mut p = Self::start_configured(db, clock, |c| {
            c.smtp = Some(affix_platform::config::SmtpSettings {
                host: "127.0.0.1".into(),
                port,
                tls: "none".into(),
                from: "sign@affix.example".into(),
                username: None,
            });
        })
        .await?;
        p.sink = Some(sink);
        Some(p)
    }

    /// The last one-time code e-mailed to `email` (from the SMTP server when there is
    /// one, else the file outbox).
    pub fn last_code(&self, email: &str) -> String {
        if let Some(sink) = &self.sink {
            let mail = sink
                .messages()
                .into_iter()
                .rev()
                .find(|m| m["rcpt_tos"][0] == email && m["subject"] == "Your Affix signing code")
                .expect("a code was e-mailed");
            return mail["body"]
                .as_str()
                .unwrap()
                .split_whitespace()
                .find(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit()))
                .unwrap()
                .to_owned();
        }
        let text = std::fs::read_to_string(self.data().join("outbox/email.jsonl")).unwrap();
        let line = text
            .lines()
            .rev()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|v| v["to"] == email && v["event_type"] == "identity.code")
            .expect("a code was e-mailed");
        let body = line["body"].as_str().unwrap();
        body.split_whitespace()
            .find(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit()))
            .unwrap()
            .to_owned()
    }

    /// Every e-mail sent so far, oldest first, as (recipient, subject, body): from the
    /// SMTP server when there is one, else from the file outbox.
    pub fn mails(&self) -> Vec<(String, String, String)> {
        if let Some(sink) = &self.sink {
            return sink
                .messages()
                .into_iter()
                .map(|m| {
                    (
                        m["rcpt_tos"][0].as_str().unwrap_or_default().to_owned(),
                        m["subject"].as_str().unwrap_or_default().to_owned(),
                        m["body"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect();
        }
        let text =
            std::fs::read_to_string(self.data().join("outbox/email.jsonl")).unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .map(|v| {
                (
                    v["to"].as_str().unwrap_or_default().to_owned(),
                    v["subject"].as_str().unwrap_or_default().to_owned(),
                    v["body"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    /// The newest invite link for `contract` e-mailed to `email`, as the party received it.
    pub fn invite_link(&self, email: &str, contract: &str) -> String {
        let marker = format!("(contract {contract})");
        let (_, _, body) = self
            .mails()
            .into_iter()
            .rev()
            .find(|(to, subject, body)| {
                to == email && subject.starts_with("Please sign") && body.contains(&marker)
            })
            .unwrap_or_else(|| panic!("no invite for {contract} was e-mailed to {email}"));
        body.split_whitespace()
            .find(|w| w.contains("/sign#afi_"))
            .expect("the invite mail holds a link")
            .to_owned()
    }

    /// The newest invite token for `contract` e-mailed to `email`.
    pub fn invite_token(&self, email: &str, contract: &str) -> String {
        let link = self.invite_link(email, contract);
        link.split_once('#').unwrap().1.to_owned()
    }

    /// `sent` (the answer to `POST /v1/contracts/{id}/send`, which holds no link) with
    /// each invite's `token` and `url` as its party received them by e-mail; `key` reads
    /// the parties' addresses.
    pub async fn received(&self, key: &str, sent: Value) -> Value {
        let mut sent = sent;
        assert!(
            sent["invites"]
                .as_array()
                .unwrap()
                .iter()
                .all(|i| i.get("token").is_none() && i.get("url").is_none()),
            "the sender's answer must not carry invite links: {sent}"
        );
        let contract = sent["contract_id"].as_str().unwrap().to_owned();
        let n = sent["invites"].as_array().unwrap().len();
        for i in 0..n {
            let person = sent["invites"][i]["person_id"].as_str().unwrap().to_owned();
            let (s, v) = self.get(&format!("/v1/persons/{person}"), key).await;
            assert_eq!(s, 200, "{v}");
            let link = self.invite_link(v["email"].as_str().unwrap(), &contract);
            let token = link.split_once('#').unwrap().1.to_owned();
            sent["invites"][i]["url"] = Value::String(link);
            sent["invites"][i]["token"] = Value::String(token);
        }
        sent
    }

    /// Wakes the loan scheduler (after the test clock moved).
    pub async fn loans_wake(&self) {
        if let Some(r) = &self.running {
            r.platform.wake_loans();
        }
    }

    /// Stops the platform (as a crash would, between requests).
    pub fn halt(&mut self) {
        if let Some(r) = self.running.take() {
            r.stop();
        }
    }

    /// Starts it again on the same data and database (a new port).
    pub async fn resume(&mut self) {
        assert!(self.running.is_none());
        // The stopped platform's aborted tasks drop their handles (and the vault's file
        // lock) as the runtime gets to them: retry while the lock is still held.
        let mut tries = 0;
        let running = loop {
            match affix_server::start_with_clock(self.config.clone(), self.clock.clone()).await {
                Ok(r) => break r,
                Err(e)
                    if tries < 50
                        && (e.to_string().contains("already open")
                            || e.to_string().contains("in use")) =>
                {
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(e) => panic!("restart: {e}"),
            }
        };
        self.url = running.url.clone();
        self.running = Some(running);
    }

    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(r) = self.running.take() {
            r.stop();
        }
        self.dir
    }
}

/// A signer's device.
pub struct Device(pub ed25519_dalek::SigningKey);

impl Device {
    pub fn new() -> Self {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).unwrap();
        Self(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    pub fn public_b64(&self) -> String {
        b64(&self.0.verifying_key().to_bytes())
    }

    pub fn sign_statement(&self, statement_b64: &str) -> String {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(statement_b64)
            .unwrap();
        assert!(bytes.starts_with(b"affix.dev/vault/authorization/v1\0"));
        b64(&self.0.sign(&bytes).to_bytes())
    }
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn unb64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A PNG chunk: length, type, data, CRC.
pub fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (u32::try_from(data.len()).unwrap()).to_be_bytes().to_vec();
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
    out
}

/// A real 2×1 grayscale PNG (stored deflate block).
pub fn png() -> Vec<u8> {
    png_of([0x00, 0xff])
}

/// A real 2×1 grayscale PNG of these two pixels (stored deflate block).
pub fn png_of(pixels: [u8; 2]) -> Vec<u8> {
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&2u32.to_be_bytes());
    ihdr.extend_from_slice(&1u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    out.extend(chunk(b"IHDR", &ihdr));
    // zlib: header, one stored block of the scanline [filter 0, 0x00, 0xff], adler32.
    let raw = [0u8, pixels[0], pixels[1]];
    let mut z = vec![0x78, 0x01, 0x01, 0x03, 0x00, 0xfc, 0xff];
    z.extend_from_slice(&raw);
    let (mut a, mut b) = (1u32, 0u32);
    for &x in &raw {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    z.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out.extend(chunk(b"IDAT", &z));
    out.extend(chunk(b"IEND", &[]));
    out
}

/// Runs a party through identity check, view, consent, image, prepare and sign;
/// returns the final contract view.
pub async fn party_signs(p: &TestPlatform, token: &str, email: &str, device: &Device) -> Value {
    party_ready(p, token, email, device).await;
    sign_prepared(p, token, device).await
}

/// Identity check, view, consent and image: everything before signing.
pub async fn party_ready(p: &TestPlatform, token: &str, email: &str, device: &Device) {
    party_ready_named(p, token, email, device, &signer_name(email)).await;
}

/// [`party_ready`], where the signer gives `name` at the first identity check.
pub async fn party_ready_named(
    p: &TestPlatform,
    token: &str,
    email: &str,
    device: &Device,
    name: &str,
) {
    let (s, v) = p.get("/v1/invite", token).await;
    assert_eq!(s, 200, "{v}");
    let digest = v["contract"]["content_digest"].as_str().unwrap().to_owned();
    let (s, v) = p.post("/v1/invite/identity/email", token, json!({})).await;
    assert_eq!(s, 200, "{v}");
    let code = p.last_code(email);
    let (s, v) = p
        .post(
            "/v1/invite/identity/email/verify",
            token,
            json!({"code": code, "device_public_key": device.public_b64(), "signer_name": name}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = p
        .post("/v1/invite/view", token, json!({"content_digest": digest}))
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = p
        .post(
            "/v1/invite/consent",
            token,
            json!({"content_digest": digest}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    put_image(p, token).await;
}

pub async fn put_image(p: &TestPlatform, token: &str) {
    let r = p
        .http
        .put(format!("{}/v1/invite/signature-image", p.url))
        .bearer_auth(token)
        .header("content-type", "image/png")
        .body(png())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

pub async fn sign_prepared(p: &TestPlatform, token: &str, device: &Device) -> Value {
    let (s, prepared) = p.post("/v1/invite/sign/prepare", token, json!({})).await;
    assert_eq!(s, 200, "{prepared}");
    let signature = device.sign_statement(prepared["statement"].as_str().unwrap());
    let (s, v) = p
        .post(
            "/v1/invite/sign",
            token,
            json!({"device_signature": signature}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    v
}

/// Runs `cmd` and returns stdout; panics with stderr on failure.
pub fn run(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}

/// The name a test signer gives at the first identity check: derived from the address,
/// so one address always gives one name.
pub fn signer_name(email: &str) -> String {
    format!("Signer {}", email.split('@').next().unwrap_or(email))
}
