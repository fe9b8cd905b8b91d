//! `affix serve` as a process, on its embedded defaults (SQLite, embedded ledger, vault
//! with a key-file master key, CA/TSA, file e-mail outbox): the README's walkthrough
//! (`examples/sign-contract.sh`) runs against it, and SIGKILL during a signature leaves a
//! party either wholly signed or not signed at all, never loses an acknowledged
//! signature, and a retry after the restart completes.

#![allow(clippy::unwrap_used, missing_docs, clippy::zombie_processes)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use ed25519_dalek::Signer as _;
use serde_json::{Value, json};

/// How long a server may take to start (a debug build opens vault, ledger and database).
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the walkthrough script may run.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(300);

/// A 16×6 grayscale PNG (the same as the walkthrough's signature image).
const SIGNATURE_PNG_B64: &str = "iVBORw0KGgoAAAANSUhEUgAAABAAAAAGCAAAAADvF0E7AAAAI0lEQVR42mP4jwYYgIgBymSACDCARf/DaAZkDpxG1saAbigA4VdPsdsk5S8AAAAASUVORK5CYII=";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A running `affix serve`; SIGKILLed when dropped, so a failing test leaves no server.
struct Server {
    child: Option<Child>,
    url: String,
    stderr: PathBuf,
}

impl Server {
    /// Starts `affix serve` on `data` at a port the OS picks, and waits for `/healthz`.
    /// `run` numbers the start (its output goes to `serve-<run>.out|err` beside `data`).
    async fn start(data: &Path, run: usize) -> Self {
        Self::start_with(data, run, &[]).await
    }

    /// [`Server::start`] with extra environment variables.
    async fn start_with(data: &Path, run: usize, env: &[(&str, &Path)]) -> Self {
        let logs = data.parent().unwrap();
        let stdout = logs.join(format!("serve-{run}.out"));
        let stderr = logs.join(format!("serve-{run}.err"));
        let child = Command::new(env!("CARGO_BIN_EXE_affix"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir", s(data)])
            // The embedded defaults, whatever the environment says.
            .env_remove("AFFIX_DATABASE_URL")
            .env_remove("AFFIX_LEDGER_NODES")
            .env_remove("AFFIX_LEDGER_VERIFIER_KEYS")
            .env_remove("AFFIX_PUBLIC_URL")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let mut server = Self {
            child: Some(child),
            url: String::new(),
            stderr,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        // It prints its URL once it listens.
        server.url = loop {
            let text = std::fs::read_to_string(&stdout).unwrap_or_default();
            if let Some(url) = text
                .lines()
                .find_map(|l| l.strip_prefix("Affix is serving at "))
            {
                break url.trim().to_owned();
            }
            if let Some(status) = server.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("affix serve exited ({status}): {}", server.log());
            }
            assert!(
                Instant::now() < deadline,
                "affix serve did not start: {}",
                server.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let http = reqwest::Client::new();
        loop {
            if let Ok(r) = http.get(format!("{}/healthz", server.url)).send().await
                && r.status().is_success()
            {
                break;
            }
            assert!(Instant::now() < deadline, "no /healthz: {}", server.log());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        server
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// SIGKILL, and reap the process.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

// ----- 1. the README's walkthroughs ---------------------------------------------------

fn have_jq() -> bool {
    let have = Command::new("jq")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        // scripts/test (CI) sets AFFIX_REQUIRE_POSTGRES: there the walkthroughs must run.
        assert!(
            std::env::var_os("AFFIX_REQUIRE_POSTGRES").is_none(),
            "jq is required for the walkthroughs (Debian package jq)"
        );
        eprintln!("skipping the walkthrough: jq is not installed (Debian package jq)");
    }
    have
}

/// Runs `examples/<script>` against `server`; asserts it succeeded and returns its
/// stdout and stderr.
async fn run_example(script: &str, server: &Server, data: &Path, work: &Path) -> (String, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(script);
    let started = Instant::now();
    let mut child = Command::new("bash")
        .arg(&script)
        .arg(&server.url)
        .arg(data)
        .arg(work)
        .env("AFFIX_BIN", env!("CARGO_BIN_EXE_affix"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Drain both pipes while it runs; stop it if it hangs.
    let out = child.stdout.take().unwrap();
    let err = child.stderr.take().unwrap();
    let read = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            r.read_to_string(&mut text).unwrap();
            text
        })
    };
    let (out, err) = (read(Box::new(out)), read(Box::new(err)));
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > SCRIPT_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the walkthrough did not finish in {SCRIPT_TIMEOUT:?}: {}",
                err.join().unwrap()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    eprintln!(
        "walkthrough: {:.1} s\n{out}{err}",
        started.elapsed().as_secs_f64()
    );
    assert!(
        status.success(),
        "{} failed ({status}):\n{out}\n{err}\nserver log:\n{}",
        script.display(),
        server.log()
    );
    (out, err)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_walkthrough() {
    if !have_jq() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("affix-data");
    let server = Server::start(&data, 0).await;
    let work = tmp.path().join("work");
    let (out, err) = run_example("sign-contract.sh", &server, &data, &work).await;
    assert!(out.contains("bundle verified: contract"), "{out}");
    assert!(out.contains("status:     Effective"), "{out}");
    assert!(err.contains("CMS Verification successful"), "{err}");
    assert!(
        out.contains("is signed and its evidence verified offline"),
        "{out}"
    );
    // The trust anchors were the published ones, passed explicitly: no warning about
    // trusting the bundle's own copies.
    assert!(!err.contains("warning: trusting"), "{err}");
    assert!(work.join("bundle.json").exists());
}

/// The README's e-IOU walkthrough (`examples/iou.sh`) on `affix serve` with a current
/// LPR table: a loan note signed by both, a repayment with its proof image, the lender's
/// signed receipt that confirms it, the litigation bundle verified offline, and openssl
/// on the receipt's signature.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iou_walkthrough() {
    if !have_jq() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let lpr = tmp.path().join("lpr.txt");
    // The last published one-year LPR (3.00 % from 2025-05-20), vouched for as current.
    std::fs::write(&lpr, "2025-05-20 3.00\nthrough 2099-12-31\n").unwrap();
    let data = tmp.path().join("affix-data");
    let server = Server::start_with(&data, 0, &[("AFFIX_LPR_TABLE", lpr.as_path())]).await;
    let work = tmp.path().join("work");
    let (out, err) = run_example("iou.sh", &server, &data, &work).await;
    assert!(
        out.contains("litigation bundle verified: 2 loan events"),
        "{out}"
    );
    assert!(out.contains("documents:  1 signed"), "{out}");
    assert!(
        out.contains("repayment 1 confirmed; CNY 2030.00 still owed"),
        "{out}"
    );
    assert!(err.contains("CMS Verification successful"), "{err}");
    assert!(out.contains("affix-loan-receipt v1"), "{out}");
    assert!(!err.contains("warning: trusting"), "{err}");
}

// ----- 2. SIGKILL during signing ------------------------------------------------------

/// A small client of the platform's API.
struct Client {
    http: reqwest::Client,
    url: String,
    data: PathBuf,
    /// The running server's log (for failure messages).
    log: PathBuf,
}

impl Client {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut rb = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(token);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.unwrap();
        let status = r.status().as_u16();
        let bytes = r.bytes().await.unwrap();
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, value)
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> Value {
        let (status, v) = self
            .call(reqwest::Method::POST, path, token, Some(body))
            .await;
        assert!(status == 200 || status == 201, "POST {path}: {status} {v}");
        v
    }

    async fn get(&self, path: &str, token: &str) -> Value {
        let (status, v) = self.call(reqwest::Method::GET, path, token, None).await;
        assert_eq!(status, 200, "GET {path}: {v}");
        v
    }

    /// The evidence bundle (waiting up to a minute for receipts); on failure, says which
    /// events have no receipt and shows the server's log.
    async fn bundle(&self, admin: &str, id: &str) -> Vec<u8> {
        let r = self
            .http
            .get(format!("{}/v1/contracts/{id}/bundle?wait=60", self.url))
            .bearer_auth(admin)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let bytes = r.bytes().await.unwrap().to_vec();
        if status != 200 {
            let events = self.get(&format!("/v1/contracts/{id}/events"), admin).await;
            let pending: Vec<_> = events["events"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["receipt"].is_null())
                .map(|e| format!("{} {} leaf {}", e["seq"], e["kind"], e["leaf_hash"]))
                .collect();
            panic!(
                "bundle of {id}: {status} {}; events without a receipt: {pending:?}\nserver log:\n{}",
                String::from_utf8_lossy(&bytes),
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
        bytes
    }

    /// The last one-time code e-mailed to `email` (the file outbox).
    fn last_code(&self, email: &str) -> String {
        let text = std::fs::read_to_string(self.data.join("outbox/email.jsonl")).unwrap();
        let line = text
            .lines()
            .rev()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|v| v["to"] == email && v["event_type"] == "identity.code")
            .expect("a code was e-mailed");
        line["body"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .find(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit()))
            .unwrap()
            .to_owned()
    }

    /// A two-party sequential contract, sent; returns its id and the two invite tokens.
    async fn contract(&self, admin: &str, parties: [&str; 2], n: usize) -> (String, [String; 2]) {
        let document = format!("Agreement number {n}: delivery of {n} boxes.");
        let c = self
            .post(
                "/v1/contracts",
                admin,
                json!({
                    "template": "generic_contract",
                    "fields": {"title": format!("Agreement {n}")},
                    "parties": parties,
                    "document": b64(document.as_bytes()),
                    "document_name": "agreement.txt",
                }),
            )
            .await;
        let id = c["id"].as_str().unwrap().to_owned();
        let sent = self
            .post(&format!("/v1/contracts/{id}/send"), admin, json!({}))
            .await;
        assert!(sent["invites"][0].get("token").is_none(), "{sent}");
        // Each party's link, as the party received it by e-mail.
        let mut tokens = Vec::new();
        for person in parties {
            let email = self.get(&format!("/v1/persons/{person}"), admin).await["email"]
                .as_str()
                .unwrap()
                .to_owned();
            let text = std::fs::read_to_string(self.data.join("outbox/email.jsonl")).unwrap();
            let marker = format!("(contract {id})");
            let line = text
                .lines()
                .rev()
                .map(|l| serde_json::from_str::<Value>(l).unwrap())
                .find(|v| {
                    v["to"] == email.as_str()
                        && v["event_type"] == "contract.invite"
                        && v["body"].as_str().unwrap().contains(&marker)
                })
                .expect("an invite was e-mailed");
            let link = line["body"]
                .as_str()
                .unwrap()
                .split_whitespace()
                .find(|w| w.contains("/sign#afi_"))
                .unwrap()
                .to_owned();
            tokens.push(link.split_once('#').unwrap().1.to_owned());
        }
        let token = |n: usize| tokens[n].clone();
        (id, [token(0), token(1)])
    }

    /// Identity check (enrolling `device`), view, consent and image: ready to sign.
    async fn ready(&self, token: &str, email: &str, device: &Device) {
        let invite = self.get("/v1/invite", token).await;
        let digest = invite["contract"]["content_digest"].as_str().unwrap();
        self.post("/v1/invite/identity/email", token, json!({}))
            .await;
        let code = self.last_code(email);
        self.post(
            "/v1/invite/identity/email/verify",
            token,
            json!({"code": code, "device_public_key": device.public_b64(), "signer_name": format!("Signer {email}")}),
        )
        .await;
        self.post("/v1/invite/view", token, json!({"content_digest": digest}))
            .await;
        self.post(
            "/v1/invite/consent",
            token,
            json!({"content_digest": digest}),
        )
        .await;
        let r = self
            .http
            .put(format!("{}/v1/invite/signature-image", self.url))
            .bearer_auth(token)
            .header("content-type", "image/png")
            .body(unb64(SIGNATURE_PNG_B64))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
    }

    /// Prepares a signature and has `device` authorize it: the body of POST /v1/invite/sign.
    async fn authorize(&self, token: &str, device: &Device) -> Value {
        let prepared = self.post("/v1/invite/sign/prepare", token, json!({})).await;
        json!({"device_signature": device.sign(prepared["statement"].as_str().unwrap())})
    }

    /// Prepares and signs; returns the contract as the answer shows it.
    async fn sign(&self, token: &str, device: &Device) -> Value {
        let body = self.authorize(token, device).await;
        self.post("/v1/invite/sign", token, body).await
    }
}

/// A signer's device key.
struct Device(ed25519_dalek::SigningKey);

impl Device {
    fn new() -> Self {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).unwrap();
        Self(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    fn public_b64(&self) -> String {
        b64(&self.0.verifying_key().to_bytes())
    }

    fn sign(&self, statement_b64: &str) -> String {
        let bytes = unb64(statement_b64);
        assert!(bytes.starts_with(b"affix.dev/vault/authorization/v1\0"));
        b64(&self.0.sign(&bytes).to_bytes())
    }
}

/// Where a party stands, read back three ways: its status in the contract, its signed
/// event in the chain, its signature in the bundle.
#[derive(Debug, PartialEq, Eq)]
enum Signed {
    Yes,
    No,
}

async fn signed_state(c: &Client, admin: &str, id: &str, person: &str) -> Signed {
    let contract = c.get(&format!("/v1/contracts/{id}"), admin).await;
    let party = contract["parties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["person_id"] == person)
        .unwrap();
    let party_id = party["id"].as_str().unwrap();
    let status = party["status"].as_str().unwrap();
    let events = c.get(&format!("/v1/contracts/{id}/events"), admin).await;
    let signed_events = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "contract.signed" && e["party"] == party_id)
        .count();
    // The bundle waits for every event's receipt: evidence queued before the kill is
    // submitted by the restarted server.
    let bundle: Value = serde_json::from_slice(&c.bundle(admin, id).await).unwrap();
    let signatures = bundle["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["party"] == party_id)
        .count();
    match (status, signed_events, signatures) {
        ("signed", 1, 1) => Signed::Yes,
        ("consented", 0, 0) => Signed::No,
        other => panic!(
            "contract {id}: party {party_id} is half signed (status, signed events, signatures) = {other:?}"
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_signing_leaves_no_half_signed_state() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("affix-data");
    let mut runs = 0;
    let mut server = Server::start(&data, runs).await;
    let mut c = Client {
        http: reqwest::Client::new(),
        url: server.url.clone(),
        data: data.clone(),
        log: server.stderr.clone(),
    };
    let operator = std::fs::read_to_string(data.join("operator.token"))
        .unwrap()
        .trim()
        .to_owned();
    let tenant = c
        .post("/v1/tenants", &operator, json!({"name": "Crash Test Co."}))
        .await;
    let admin = tenant["admin_api_key"].as_str().unwrap().to_owned();
    let emails = ["zhangsan@example.com", "lisi@example.com"];
    let mut people = Vec::new();
    for (name, email) in [("张三", emails[0]), ("李四", emails[1])] {
        let p = c
            .post("/v1/persons", &admin, json!({"name": name, "email": email}))
            .await;
        people.push(p["id"].as_str().unwrap().to_owned());
    }
    let parties = [people[0].as_str(), people[1].as_str()];
    let devices = [Device::new(), Device::new()];

    // A first contract signed without interruption. The time one signature takes (the
    // last uninterrupted one, measured again every round) sets the moments the kills
    // aim at.
    let (id, tokens) = c.contract(&admin, parties, 0).await;
    c.ready(&tokens[0], emails[0], &devices[0]).await;
    c.sign(&tokens[0], &devices[0]).await;
    c.ready(&tokens[1], emails[1], &devices[1]).await;
    let body = c.authorize(&tokens[1], &devices[1]).await;
    let started = Instant::now();
    let last = c.post("/v1/invite/sign", &tokens[1], body).await;
    let mut latency = started.elapsed();
    assert_eq!(last["status"], "effective", "{last}");
    let mut contracts = vec![id];

    // Kill at 0, 1/10, 2/10, ... 14/10 of that time after the request leaves: before it
    // arrives, while the vault signs, around the commit, after the answer.
    let mut outcomes = Vec::new();
    for round in 0..=14u32 {
        let delay = latency * round / 10;
        let (id, tokens) = c.contract(&admin, parties, contracts.len()).await;
        c.ready(&tokens[0], emails[0], &devices[0]).await;
        let body = c.authorize(&tokens[0], &devices[0]).await;
        let request = {
            let http = c.http.clone();
            let url = format!("{}/v1/invite/sign", c.url);
            let token = tokens[0].clone();
            tokio::spawn(async move {
                let r = http.post(url).bearer_auth(token).json(&body).send().await?;
                let status = r.status().as_u16();
                r.bytes().await?;
                Ok::<u16, reqwest::Error>(status)
            })
        };
        tokio::time::sleep(delay).await;
        server.kill();
        let answer = request.await.unwrap();
        let acknowledged = matches!(answer, Ok(200));
        if let Ok(status) = answer {
            // An answer that came back before the kill is a success: nothing else was
            // wrong with the request.
            assert_eq!(status, 200, "round {round}: sign answered {status}");
        }
        runs += 1;
        server = Server::start(&data, runs).await;
        c.url = server.url.clone();
        c.log = server.stderr.clone();
        let state = signed_state(&c, &admin, &id, parties[0]).await;
        if acknowledged {
            assert_eq!(
                state,
                Signed::Yes,
                "round {round}: an acknowledged signature was lost"
            );
        }
        outcomes.push((delay, acknowledged, state == Signed::Yes));
        if state == Signed::No {
            // The retry: prepare again, a fresh device signature, sign.
            c.sign(&tokens[0], &devices[0]).await;
            assert_eq!(signed_state(&c, &admin, &id, parties[0]).await, Signed::Yes);
        }
        c.ready(&tokens[1], emails[1], &devices[1]).await;
        let body = c.authorize(&tokens[1], &devices[1]).await;
        let started = Instant::now();
        let last = c.post("/v1/invite/sign", &tokens[1], body).await;
        latency = started.elapsed();
        assert_eq!(last["status"], "effective", "round {round}: {last}");
        contracts.push(id);
    }
    eprintln!("kills (delay, acknowledged, signed):");
    for o in &outcomes {
        eprintln!("  {o:?}");
    }
    assert!(
        outcomes.iter().any(|&(_, _, signed)| !signed),
        "no kill landed before a signature: the test did not test the interrupted case"
    );
    assert!(
        outcomes.iter().any(|&(_, ack, _)| !ack),
        "every signature was acknowledged before the kill"
    );

    // Every contract is effective and its bundle verifies offline, against the trust
    // anchors the platform publishes.
    let keys_file = tmp.path().join("verifier-keys");
    let (_, keys) = c
        .call(
            reqwest::Method::GET,
            "/v1/ledger/verifier-keys",
            &admin,
            None,
        )
        .await;
    std::fs::write(&keys_file, keys.as_str().unwrap()).unwrap();
    let (_, ca) = c.call(reqwest::Method::GET, "/v1/ca", "", None).await;
    let root = tmp.path().join("root.pem");
    std::fs::write(&root, ca["root"].as_str().unwrap()).unwrap();
    for id in &contracts {
        let bytes = c.bundle(&admin, id).await;
        let bundle = tmp.path().join(format!("{id}.json"));
        std::fs::write(&bundle, bytes).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_affix"))
            .args(["verify-bundle", s(&bundle), "--keys", s(&keys_file)])
            .args(["--ca", s(&root)])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "verify-bundle {id}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("status:     Effective"), "{text}");
        assert_eq!(text.matches("  signature:  ").count(), 2, "{text}");
    }
    server.kill();
}
