//! `affix-bench platform`: complete contract flows through the signing platform's HTTP
//! API, with the whole platform in this process (issue 6's performance requirement).
//!
//! A flow: a two-party generic contract is created and sent; each party, in turn, opens
//! the invite, asks for an e-mail code (read back from the file outbox), verifies it with
//! its device key, views, consents, uploads a signature image, prepares, signs the vault
//! statement with its Ed25519 device key and signs; the contract is effective; the flow
//! is complete when every event of the contract has its ledger receipt (polled through
//! `GET /v1/contracts/{id}/events`).
//!
//! 1. Throughput, closed loop: `--flows` flows run by `--concurrency` drivers.
//! 2. Latency, open loop, at half the throughput just measured and at `--rate`: a flow
//!    starts every `1/rate` seconds for `--seconds`, whether or not earlier ones have
//!    finished; every `POST /v1/invite/sign` is timed from the moment it is sent, every
//!    flow from its scheduled start (so a platform that falls behind shows in the flow
//!    times, not hidden by a client that waits).
//!
//! For each run it prints the platform's own stage counters
//! ([`affix_platform::stages`]), the client's time per HTTP step and the CPU time of
//! every thread of the process (and of other processes, such as the PostgreSQL server),
//! so the bottleneck can be read off.
//!
//! People are reused across flows, as a signing service's customers are: a pool of
//! pairs is enrolled (device credential, vault key, certificate) in unmeasured warm-up
//! flows, and measured flows do not include enrolment unless they had to take a fresh
//! pair (the output counts them). A person is in one flow at a time, so the code in the
//! outbox for an address is the one its flow asked for.
//!
//! The platform's rate limit is raised for the run: one admin key drives every flow.

// Rates, counts and durations are converted between f64 and integers for printing and
// sizing only.
#![allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]

use std::collections::{BTreeMap, HashMap};
use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use affix_platform::stages::{STAGES, Stage};
use anyhow::{Context as _, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::Signer as _;
use reqwest::Method;
use serde_json::{Value, json};

/// Options of `affix-bench platform`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Flows in the throughput run (closed loop); 0 skips it.
    #[arg(long, default_value_t = 3000)]
    flows: u64,
    /// Flow drivers in the throughput run (each runs one flow at a time).
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Flows started per second in the latency run (open loop); 0 skips it.
    #[arg(long, default_value_t = 100.0)]
    rate: f64,
    /// Seconds of each latency run.
    #[arg(long, default_value_t = 20.0)]
    seconds: f64,
    /// Also measure latency at half the throughput just measured (before the run at
    /// --rate), where the platform is expected to keep up.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    half_load: bool,
    /// Database URL, e.g. PostgreSQL from `scripts/pg.sh url` (default: SQLite in the
    /// data directory). Use an empty database: the platform migrates it.
    #[arg(long)]
    database_url: Option<String>,
    /// Data directory (default: a fresh directory under the system's temporary
    /// directory). It must not exist yet; removed afterwards unless --keep.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Keep the data directory.
    #[arg(long)]
    keep: bool,
    /// Milliseconds between receipt polls once a contract is effective.
    #[arg(long, default_value_t = 100)]
    poll_ms: u64,
    /// Worker threads of the platform's runtime and, separately, of the client's
    /// (default: available cores; both share the machine).
    #[arg(long)]
    threads: Option<usize>,
}

/// The document every contract carries (small, as the issue asks).
const DOCUMENT: &[u8] =
    b"Supply agreement between the parties below: 1,000 units at CNY 12.50 each, \
delivered by 2026-12-31 to the buyer's warehouse; payment within 30 days of delivery. \
Disputes go to the arbitration commission named in the annex.";
/// Events of a complete two-party flow: created, sent, 2 x (identity, viewed, consented,
/// signed).
const EVENTS_PER_FLOW: usize = 10;
/// Requests per minute per caller given to the platform: the default (6,000 per key)
/// would hold the benchmark's single admin key to 100 requests/s, about 20 flows/s.
const BENCH_REQUESTS_PER_MINUTE: u32 = 1_000_000_000;
/// Longest a flow waits for its receipts.
const RECEIPT_DEADLINE: Duration = Duration::from_secs(60);
/// Distinct errors kept in the report.
const ERROR_KINDS_MAX: usize = 64;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Nearest-rank percentile of a sorted sample (`q` in 0..=1).
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

// ----- client-side measurement ---------------------------------------------------------

/// A timed step of a flow, as the client sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Create,
    Send,
    Invite,
    Code,
    ReadCode,
    Verify,
    View,
    Consent,
    Image,
    Prepare,
    Sign,
    Poll,
    ReceiptWait,
}

const STEPS: [Step; 13] = [
    Step::Create,
    Step::Send,
    Step::Invite,
    Step::Code,
    Step::ReadCode,
    Step::Verify,
    Step::View,
    Step::Consent,
    Step::Image,
    Step::Prepare,
    Step::Sign,
    Step::Poll,
    Step::ReceiptWait,
];

impl Step {
    fn name(self) -> &'static str {
        match self {
            Step::Create => "POST /v1/contracts",
            Step::Send => "POST /v1/contracts/{id}/send",
            Step::Invite => "GET /v1/invite",
            Step::Code => "POST /v1/invite/identity/email",
            Step::ReadCode => "(client) code from the outbox file",
            Step::Verify => "POST …/identity/email/verify",
            Step::View => "POST /v1/invite/view",
            Step::Consent => "POST /v1/invite/consent",
            Step::Image => "PUT /v1/invite/signature-image",
            Step::Prepare => "POST /v1/invite/sign/prepare",
            Step::Sign => "POST /v1/invite/sign",
            Step::Poll => "GET /v1/contracts/{id}/events",
            Step::ReceiptWait => "(client) effective → all receipts",
        }
    }

    /// An HTTP request to the platform (not client-side time).
    fn is_request(self) -> bool {
        !matches!(self, Step::ReadCode | Step::ReceiptWait)
    }
}

/// Samples per step and the errors seen.
struct Recorder {
    samples: [Mutex<Vec<f64>>; STEPS.len()],
    errors: Mutex<BTreeMap<String, (u64, String)>>,
}

impl Recorder {
    fn new() -> Self {
        Self {
            samples: std::array::from_fn(|_| Mutex::new(Vec::new())),
            errors: Mutex::new(BTreeMap::new()),
        }
    }

    fn record(&self, step: Step, started: Instant) {
        lock(&self.samples[step as usize]).push(ms(started.elapsed()));
    }

    fn error(&self, e: &FlowError) {
        let mut errors = lock(&self.errors);
        if errors.len() < ERROR_KINDS_MAX || errors.contains_key(&e.kind) {
            errors
                .entry(e.kind.clone())
                .or_insert((0, e.text.clone()))
                .0 += 1;
        }
    }

    fn take(&self, step: Step) -> Vec<f64> {
        sorted(lock(&self.samples[step as usize]).clone())
    }

    fn requests(&self) -> usize {
        STEPS
            .iter()
            .filter(|s| s.is_request())
            .map(|s| lock(&self.samples[*s as usize]).len())
            .sum()
    }
}

/// Why a flow stopped: `kind` groups alike errors (step, status, problem type), `text`
/// is one example in full.
#[derive(Debug)]
struct FlowError {
    kind: String,
    text: String,
}

impl FlowError {
    fn new(step: Step, kind: impl Into<String>, text: impl Into<String>) -> Self {
        let kind = format!("{}: {}", step.name(), kind.into());
        Self {
            text: format!("{kind}: {}", text.into()),
            kind,
        }
    }
}

// ----- the e-mail outbox ---------------------------------------------------------------

/// Reads the platform's e-mail outbox (`<data_dir>/outbox/email.jsonl`) incrementally:
/// new lines from the last offset, one-time codes indexed by address and invite tokens
/// by address and contract (the sender's `send` answer carries no link: each party
/// receives its own). An address is used by one flow at a time, so the latest code for
/// it is the one just requested.
struct Outbox {
    state: Mutex<OutboxState>,
}

struct OutboxState {
    file: std::fs::File,
    offset: u64,
    partial: Vec<u8>,
    codes: HashMap<String, String>,
    invites: HashMap<(String, String), String>,
}

impl OutboxState {
    /// Indexes the lines appended since the last call.
    fn pump(&mut self) -> Result<()> {
        self.file.seek(SeekFrom::Start(self.offset))?;
        let mut fresh = Vec::new();
        self.file.read_to_end(&mut fresh)?;
        self.offset += fresh.len() as u64;
        self.partial.extend_from_slice(&fresh);
        let complete = self
            .partial
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        let lines: Vec<u8> = self.partial.drain(..complete).collect();
        for line in lines.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let v: Value = serde_json::from_slice(line).context("an outbox line is not JSON")?;
            let (Some(to), Some(body)) = (v["to"].as_str(), v["body"].as_str()) else {
                bail!("an outbox line without to/body");
            };
            if v["event_type"] == "identity.code" {
                let code = body
                    .split(|c: char| !c.is_ascii_digit())
                    .find(|w| w.len() == 6)
                    .with_context(|| format!("no 6-digit code in the e-mail to {to}"))?;
                self.codes.insert(to.to_owned(), code.to_owned());
            } else if v["event_type"] == "contract.invite" {
                let contract = body
                    .split_once("(contract ")
                    .and_then(|(_, rest)| rest.split_once(')'))
                    .map(|(c, _)| c.to_owned())
                    .with_context(|| format!("no contract id in the invite to {to}"))?;
                let token = body
                    .split_whitespace()
                    .find_map(|w| w.split_once("/sign#").map(|(_, t)| t.to_owned()))
                    .with_context(|| format!("no link in the invite to {to}"))?;
                self.invites.insert((to.to_owned(), contract), token);
            }
        }
        Ok(())
    }
}

impl Outbox {
    fn open(path: &Path) -> Result<Self> {
        let file =
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        Ok(Self {
            state: Mutex::new(OutboxState {
                file,
                offset: 0,
                partial: Vec::new(),
                codes: HashMap::new(),
                invites: HashMap::new(),
            }),
        })
    }

    /// The code e-mailed to `address` since the last call for it.
    fn code(&self, address: &str) -> Result<String> {
        let mut guard = lock(&self.state);
        let s = &mut *guard;
        if let Some(code) = s.codes.remove(address) {
            return Ok(code);
        }
        s.pump()?;
        s.codes
            .remove(address)
            .with_context(|| format!("no code e-mailed to {address}"))
    }

    /// The invite token for `contract` e-mailed to `address`.
    fn invite(&self, address: &str, contract: &str) -> Result<String> {
        let mut guard = lock(&self.state);
        let s = &mut *guard;
        let key = (address.to_owned(), contract.to_owned());
        if let Some(token) = s.invites.remove(&key) {
            return Ok(token);
        }
        s.pump()?;
        s.invites
            .remove(&key)
            .with_context(|| format!("no invite for {contract} e-mailed to {address}"))
    }
}

// ----- flows ---------------------------------------------------------------------------

/// A person of the tenant and the device that signs for them.
struct Person {
    id: String,
    email: String,
    device: ed25519_dalek::SigningKey,
    /// The first identity check enrols the device (and creates the vault key and
    /// certificate); later ones send no device key.
    enrolled: bool,
}

type Pair = [Person; 2];

/// What every flow shares.
struct Ctx {
    http: reqwest::Client,
    base: String,
    admin: String,
    outbox: Outbox,
    png: Vec<u8>,
    poll: Duration,
    people: AtomicU64,
}

enum Body {
    None,
    Json(Value),
    Png,
}

impl Ctx {
    /// One request, timed as `step`; the JSON answer, or the problem as an error.
    async fn call(
        &self,
        rec: &Recorder,
        step: Step,
        method: Method,
        path: &str,
        token: &str,
        body: Body,
    ) -> Result<Value, FlowError> {
        let started = Instant::now();
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        request = match body {
            Body::None => request,
            Body::Json(v) => request.json(&v),
            Body::Png => request
                .header(reqwest::header::CONTENT_TYPE, "image/png")
                .body(self.png.clone()),
        };
        let transport = |e: reqwest::Error| {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                text.push_str(&format!(": {s}"));
                source = s.source();
            }
            FlowError::new(step, "transport error", text)
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(transport)?;
        rec.record(step, started);
        let value: Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        if !status.is_success() {
            let kind = value["type"]
                .as_str()
                .map_or("", |t| t.trim_start_matches("https://affix.dev/problems/"));
            return Err(FlowError::new(
                step,
                format!("HTTP {} {kind}", status.as_u16()),
                value["detail"]
                    .as_str()
                    .map_or_else(|| value.to_string(), str::to_owned),
            ));
        }
        Ok(value)
    }

    async fn new_person(&self) -> Result<Person, FlowError> {
        let n = self.people.fetch_add(1, Ordering::Relaxed);
        let email = format!("signer{n}@bench.example");
        let rec = Recorder::new();
        let v = self
            .call(
                &rec,
                Step::Create,
                Method::POST,
                "/v1/persons",
                &self.admin,
                Body::Json(json!({
                    "name": format!("Signer {n}"),
                    "email": email,
                    "mobile": "13812345678",
                    "resident_id": "11010519491231002X",
                })),
            )
            .await?;
        let id = text(&v, "id", Step::Create)?;
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)
            .map_err(|e| FlowError::new(Step::Create, "randomness", e.to_string()))?;
        Ok(Person {
            id,
            email,
            device: ed25519_dalek::SigningKey::from_bytes(&seed),
            enrolled: false,
        })
    }

    async fn new_pair(&self) -> Result<Pair, FlowError> {
        Ok([self.new_person().await?, self.new_person().await?])
    }

    /// One complete flow; returns when the contract is effective and every event has its
    /// receipt: (time it became effective, time the last receipt was seen).
    async fn flow(&self, rec: &Recorder, pair: &mut Pair) -> Result<(Instant, Instant), FlowError> {
        let contract = self
            .call(
                rec,
                Step::Create,
                Method::POST,
                "/v1/contracts",
                &self.admin,
                Body::Json(json!({
                    "template": "generic_contract",
                    "fields": {"title": "Supply agreement", "description": "benchmark flow"},
                    "parties": [pair[0].id, pair[1].id],
                    "signing_order": "sequential",
                    "document": STANDARD.encode(DOCUMENT),
                    "document_name": "agreement.txt",
                })),
            )
            .await?;
        let id = text(&contract, "id", Step::Create)?;
        let sent = self
            .call(
                rec,
                Step::Send,
                Method::POST,
                &format!("/v1/contracts/{id}/send"),
                &self.admin,
                Body::Json(json!({})),
            )
            .await?;
        if sent["invites"].as_array().map_or(0, Vec::len) != 2 {
            return Err(FlowError::new(Step::Send, "answer", format!("{sent}")));
        }
        let mut tokens = Vec::with_capacity(2);
        for person in pair.iter() {
            tokens.push(
                self.outbox
                    .invite(&person.email, &id)
                    .map_err(|e| FlowError::new(Step::ReadCode, "outbox", format!("{e:#}")))?,
            );
        }
        let mut last = Value::Null;
        for (person, token) in pair.iter_mut().zip(&tokens) {
            last = self.party_signs(rec, person, token).await?;
        }
        if last["status"] != "effective" {
            return Err(FlowError::new(
                Step::Sign,
                "not effective",
                format!(
                    "after the last signature the contract is {}",
                    last["status"]
                ),
            ));
        }
        let effective = Instant::now();
        let deadline = effective + RECEIPT_DEADLINE;
        loop {
            tokio::time::sleep(self.poll).await;
            let v = self
                .call(
                    rec,
                    Step::Poll,
                    Method::GET,
                    &format!("/v1/contracts/{id}/events"),
                    &self.admin,
                    Body::None,
                )
                .await?;
            let events = v["events"].as_array().map_or(&[][..], Vec::as_slice);
            if events.len() == EVENTS_PER_FLOW && events.iter().all(|e| e["receipt"].is_string()) {
                rec.record(Step::ReceiptWait, effective);
                return Ok((effective, Instant::now()));
            }
            if Instant::now() > deadline {
                return Err(FlowError::new(
                    Step::ReceiptWait,
                    "timeout",
                    format!(
                        "{} of {} events have receipts after {} s",
                        events.iter().filter(|e| e["receipt"].is_string()).count(),
                        events.len(),
                        RECEIPT_DEADLINE.as_secs()
                    ),
                ));
            }
        }
    }

    /// One party from invite to signature; the contract view the signature returns.
    async fn party_signs(
        &self,
        rec: &Recorder,
        person: &mut Person,
        token: &str,
    ) -> Result<Value, FlowError> {
        let invite = self
            .call(
                rec,
                Step::Invite,
                Method::GET,
                "/v1/invite",
                token,
                Body::None,
            )
            .await?;
        let digest = invite["contract"]["content_digest"]
            .as_str()
            .ok_or_else(|| FlowError::new(Step::Invite, "answer", "no content_digest"))?
            .to_owned();
        self.call(
            rec,
            Step::Code,
            Method::POST,
            "/v1/invite/identity/email",
            token,
            Body::Json(json!({})),
        )
        .await?;
        let started = Instant::now();
        let code = self
            .outbox
            .code(&person.email)
            .map_err(|e| FlowError::new(Step::ReadCode, "outbox", format!("{e:#}")))?;
        rec.record(Step::ReadCode, started);
        let mut verify = json!({"code": code});
        if !person.enrolled {
            verify["device_public_key"] = STANDARD
                .encode(person.device.verifying_key().to_bytes())
                .into();
            verify["signer_name"] = format!("Bench signer {}", person.email).into();
        }
        self.call(
            rec,
            Step::Verify,
            Method::POST,
            "/v1/invite/identity/email/verify",
            token,
            Body::Json(verify),
        )
        .await?;
        person.enrolled = true;
        for (step, path) in [
            (Step::View, "/v1/invite/view"),
            (Step::Consent, "/v1/invite/consent"),
        ] {
            self.call(
                rec,
                step,
                Method::POST,
                path,
                token,
                Body::Json(json!({"content_digest": digest})),
            )
            .await?;
        }
        self.call(
            rec,
            Step::Image,
            Method::PUT,
            "/v1/invite/signature-image",
            token,
            Body::Png,
        )
        .await?;
        let prepared = self
            .call(
                rec,
                Step::Prepare,
                Method::POST,
                "/v1/invite/sign/prepare",
                token,
                Body::Json(json!({})),
            )
            .await?;
        let statement = prepared["statement"]
            .as_str()
            .and_then(|s| STANDARD.decode(s).ok())
            .ok_or_else(|| FlowError::new(Step::Prepare, "answer", "no statement"))?;
        let signature = person.device.sign(&statement).to_bytes();
        self.call(
            rec,
            Step::Sign,
            Method::POST,
            "/v1/invite/sign",
            token,
            Body::Json(json!({"device_signature": STANDARD.encode(signature)})),
        )
        .await
    }
}

fn text(v: &Value, field: &str, step: Step) -> Result<String, FlowError> {
    v[field]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| FlowError::new(step, "answer", format!("no {field} in {v}")))
}

// ----- what the process spends -----------------------------------------------------------

/// Stage counters of the platform: (nanoseconds, calls) per stage.
type StageTotals = [(u64, u64); STAGES.len()];

fn stage_totals(platform: &affix_platform::Platform) -> StageTotals {
    STAGES.map(|s| platform.stages().total(s))
}

/// CPU time of every live thread of this process (`/proc/self/task/*/schedstat`: time
/// on a CPU and time runnable but waiting for one; `stat`: user and system time), and of
/// the whole process (`/proc/self/stat`, which also counts threads that have exited).
#[derive(Clone, Default)]
struct Cpu {
    threads: HashMap<u64, ThreadCpu>,
    process_ns: u64,
    /// The machine (`/proc/stat`, USER_HZ ticks): busy and I/O-wait, all processes.
    machine_busy: u64,
    machine_iowait: u64,
    /// Other processes (pid → name, user + system ns), to name what runs beside us (the
    /// PostgreSQL server, or anything else on the machine).
    others: HashMap<u32, (String, u64)>,
}

#[derive(Clone, Default)]
struct ThreadCpu {
    name: String,
    run_ns: u64,
    wait_ns: u64,
    user_ns: u64,
    system_ns: u64,
}

/// utime and stime of a `stat` file (fields 14 and 15, in USER_HZ: 100 per second on
/// Linux), in nanoseconds.
fn user_system_ns(stat: &str) -> (u64, u64) {
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return (0, 0);
    };
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    if f.len() > 12 {
        (f[11] * 10_000_000, f[12] * 10_000_000)
    } else {
        (0, 0)
    }
}

fn cpu() -> Cpu {
    let mut out = Cpu::default();
    if let Ok(entries) = std::fs::read_dir("/proc/self/task") {
        for entry in entries.flatten() {
            let Some(tid) = entry.file_name().to_str().and_then(|t| t.parse().ok()) else {
                continue;
            };
            let read = |f: &str| std::fs::read_to_string(entry.path().join(f)).unwrap_or_default();
            let sched = read("schedstat");
            let mut fields = sched
                .split_whitespace()
                .map(|f| f.parse::<u64>().unwrap_or(0));
            let (run_ns, wait_ns) = (fields.next().unwrap_or(0), fields.next().unwrap_or(0));
            let (user_ns, system_ns) = user_system_ns(&read("stat"));
            out.threads.insert(
                tid,
                ThreadCpu {
                    name: read("comm").trim().to_owned(),
                    run_ns,
                    wait_ns,
                    user_ns,
                    system_ns,
                },
            );
        }
    }
    let (user, system) =
        user_system_ns(&std::fs::read_to_string("/proc/self/stat").unwrap_or_default());
    out.process_ns = user + system;
    // cpu  user nice system idle iowait irq softirq steal ...
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let f: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    if f.len() >= 8 {
        out.machine_busy = f[0] + f[1] + f[2] + f[5] + f[6] + f[7];
        out.machine_iowait = f[4];
    }
    let me = std::process::id();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|p| p.parse::<u32>().ok())
            else {
                continue;
            };
            if pid == me {
                continue;
            }
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            let name = stat
                .split_once('(')
                .and_then(|(_, rest)| rest.rsplit_once(')'))
                .map_or("?", |(name, _)| name);
            let (user, system) = user_system_ns(&stat);
            if user + system > 0 {
                out.others.insert(pid, (name.to_owned(), user + system));
            }
        }
    }
    out
}

/// Core-seconds of other processes between two snapshots, by name, largest first
/// (processes that ended in between are not seen).
fn others_delta(before: &Cpu, after: &Cpu) -> Vec<(String, f64)> {
    let mut by_name: BTreeMap<String, u64> = BTreeMap::new();
    for (pid, (name, ns)) in &after.others {
        let then = before.others.get(pid).map_or(0, |(_, ns)| *ns);
        *by_name.entry(name.clone()).or_default() += ns.saturating_sub(then);
    }
    let mut out: Vec<(String, f64)> = by_name
        .into_iter()
        .map(|(n, ns)| (n, ns as f64 / 1e9))
        .filter(|(_, s)| *s >= 0.05)
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    out
}

/// Thread groups: a thread's name without trailing digits and separators.
fn group_of(name: &str) -> String {
    name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-' || c == '_' || c == '#')
        .to_owned()
}

fn group_label(group: &str) -> &'static str {
    match group {
        "afx-platform" => {
            "platform runtime: HTTP server, handlers, vault + CMS, TSA, evidence loop"
        }
        "afx-client" => "benchmark client: HTTP client, JSON, device signatures, outbox reads",
        g if g.starts_with("sqlx-sqlite") => "SQLite connections (sqlx worker threads)",
        g if g.starts_with("tokio-r") => "embedded ledger node (its runtime's workers)",
        g if g.starts_with("affix-embedded") => "embedded ledger node (main thread)",
        g if g.starts_with("vault-evidence") => "vault evidence drainer",
        _ => "",
    }
}

/// Per thread group between two snapshots, in seconds: (group, [on a CPU, runnable but
/// waiting, user, system]), largest first.
fn cpu_delta(before: &Cpu, after: &Cpu) -> Vec<(String, [f64; 4])> {
    let mut groups: BTreeMap<String, [u64; 4]> = BTreeMap::new();
    let zero = ThreadCpu::default();
    for (tid, now) in &after.threads {
        let then = before.threads.get(tid).unwrap_or(&zero);
        let g = groups.entry(group_of(&now.name)).or_default();
        g[0] += now.run_ns.saturating_sub(then.run_ns);
        g[1] += now.wait_ns.saturating_sub(then.wait_ns);
        g[2] += now.user_ns.saturating_sub(then.user_ns);
        g[3] += now.system_ns.saturating_sub(then.system_ns);
    }
    let mut out: Vec<(String, [f64; 4])> = groups
        .into_iter()
        .map(|(g, t)| (g, t.map(|ns| ns as f64 / 1e9)))
        .filter(|(_, t)| t[0] >= 0.005)
        .collect();
    out.sort_by(|a, b| b.1[0].total_cmp(&a.1[0]));
    out
}

/// Everything measured around one run.
struct Window {
    started: Instant,
    stages: StageTotals,
    cpu: Cpu,
}

impl Window {
    fn open(platform: &affix_platform::Platform) -> Self {
        Self {
            started: Instant::now(),
            stages: stage_totals(platform),
            cpu: cpu(),
        }
    }

    /// Prints where the time went between `open` and now, for `flows` complete flows.
    fn report(
        &self,
        platform: &affix_platform::Platform,
        rec: &Recorder,
        flows: u64,
        cores: usize,
    ) {
        let elapsed = self.started.elapsed().as_secs_f64();
        let stages = stage_totals(platform);
        let cpu_now = cpu();
        let per_flow = |total_ms: f64| total_ms / flows.max(1) as f64;
        println!();
        println!("platform stages (server-side wall time, Platform::stages()):");
        println!(
            "  {:<44} {:>8} {:>10} {:>9} {:>10}",
            "stage", "calls", "total s", "mean ms", "ms / flow"
        );
        for (n, stage) in STAGES.iter().enumerate() {
            let ns = stages[n].0.saturating_sub(self.stages[n].0);
            let calls = stages[n].1.saturating_sub(self.stages[n].1);
            let total_ms = ns as f64 / 1e6;
            let what = match stage {
                Stage::VaultCms => "vault + CMS (per signature)",
                Stage::Tsa => "TSA (per signature)",
                Stage::Database => "database (the signing transaction only)",
                Stage::LedgerSubmit => "ledger submit (per batch of records)",
                Stage::LedgerReceipts => "ledger receipts (per collection round)",
            };
            println!(
                "  {:<44} {:>8} {:>10.2} {:>9.2} {:>10.2}",
                what,
                calls,
                total_ms / 1000.0,
                if calls > 0 {
                    total_ms / calls as f64
                } else {
                    0.0
                },
                per_flow(total_ms)
            );
        }
        let submits = STAGES
            .iter()
            .position(|s| *s == Stage::LedgerSubmit)
            .map_or(0, |n| stages[n].1.saturating_sub(self.stages[n].1));
        if submits > 0 {
            println!(
                "  ({:.1} records per ledger batch on average: {} events in {submits} batches)",
                (flows as f64 * EVENTS_PER_FLOW as f64) / submits as f64,
                flows * EVENTS_PER_FLOW as u64
            );
        }
        println!();
        println!("client-side time per step (from sending the request to the whole answer):");
        println!(
            "  {:<38} {:>8} {:>9} {:>9} {:>9} {:>10}",
            "step", "count", "mean ms", "p50 ms", "p99 ms", "ms / flow"
        );
        for step in STEPS {
            let s = rec.take(step);
            if s.is_empty() {
                continue;
            }
            let sum: f64 = s.iter().sum();
            println!(
                "  {:<38} {:>8} {:>9.2} {:>9.2} {:>9.2} {:>10.2}",
                step.name(),
                s.len(),
                sum / s.len() as f64,
                percentile(&s, 0.5),
                percentile(&s, 0.99),
                per_flow(sum)
            );
        }
        println!();
        let process_s = cpu_now.process_ns.saturating_sub(self.cpu.process_ns) as f64 / 1e9;
        println!(
            "CPU ({cores} cores for {elapsed:.1} s = {:.1} core-s; the process used {process_s:.1} core-s, {:.0} %):",
            elapsed * cores as f64,
            100.0 * process_s / (elapsed * cores as f64)
        );
        println!(
            "  {:<16} {:>8} {:>8} {:>10} {:>8} {:>8} {:>8}",
            "threads", "CPU s", "% cores", "ms / flow", "user s", "system s", "runq s"
        );
        for (group, [run, wait, user, system]) in cpu_delta(&self.cpu, &cpu_now) {
            println!(
                "  {:<16} {:>8.2} {:>7.0}% {:>10.2} {:>8.1} {:>8.1} {:>8.1}  {}",
                group,
                run,
                100.0 * run / (elapsed * cores as f64),
                per_flow(run * 1000.0),
                user,
                system,
                wait,
                group_label(&group)
            );
        }
        println!(
            "  (user/system: the kernel's tick-sampled split; runq: ready to run but waiting for a core)"
        );
        let ticks = |now: u64, then: u64| now.saturating_sub(then) as f64 / 100.0;
        let machine_s = ticks(cpu_now.machine_busy, self.cpu.machine_busy);
        println!(
            "  whole machine: {machine_s:.1} core-s busy ({:.0} %), of which {:.1} core-s outside this process (database server, other work); I/O wait {:.1} core-s",
            100.0 * machine_s / (elapsed * cores as f64),
            (machine_s - process_s).max(0.0),
            ticks(cpu_now.machine_iowait, self.cpu.machine_iowait)
        );
        let others = others_delta(&self.cpu, &cpu_now);
        if !others.is_empty() {
            let list: Vec<String> = others
                .iter()
                .take(5)
                .map(|(n, s)| format!("{n} {s:.1}"))
                .collect();
            println!("  other processes, core-s: {}", list.join(", "));
        }
        print_errors("errors", rec);
    }
}

/// The errors `rec` saw, grouped, with one example each.
fn print_errors(title: &str, rec: &Recorder) {
    let errors = lock(&rec.errors);
    if !errors.is_empty() {
        println!();
        let failed: u64 = errors.values().map(|(n, _)| n).sum();
        println!("{title} ({failed} flows failed):");
        for (n, text) in errors.values() {
            println!("  {n:>6} × {text}");
        }
    }
}

// ----- the runs ------------------------------------------------------------------------

/// Enrols `count` fresh pairs, each in one unmeasured flow, `concurrency` at a time. A
/// failed warm-up flow is recorded in `rec` and its pair kept (the next flow of the pair
/// enrols whoever is not enrolled yet).
async fn warm_up(
    ctx: &Arc<Ctx>,
    rec: &Arc<Recorder>,
    count: usize,
    concurrency: usize,
) -> Result<Vec<Pair>> {
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency.min(count).max(1) {
        let (ctx, next, rec) = (ctx.clone(), next.clone(), rec.clone());
        tasks.push(tokio::spawn(async move {
            let mut pairs = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < count as u64 {
                let mut pair = ctx
                    .new_pair()
                    .await
                    .map_err(|e| anyhow::anyhow!("creating people: {}", e.text))?;
                if let Err(e) = ctx.flow(&rec, &mut pair).await {
                    rec.error(&e);
                }
                pairs.push(pair);
            }
            Ok::<_, anyhow::Error>(pairs)
        }));
    }
    let mut out = Vec::with_capacity(count);
    for t in tasks {
        out.extend(t.await??);
    }
    Ok(out)
}

/// Closed loop: `concurrency` drivers, each with its own pair, run `flows` flows in
/// all. Returns (seconds, per-flow durations in ms, failed flows, pairs).
async fn throughput(
    ctx: &Arc<Ctx>,
    rec: &Arc<Recorder>,
    pairs: Vec<Pair>,
    flows: u64,
) -> Result<(f64, Vec<f64>, u64, Vec<Pair>)> {
    let next = Arc::new(AtomicU64::new(0));
    let progress = crate::progress::bar("throughput", flows, "flows");
    let started = Instant::now();
    let mut tasks = Vec::new();
    for mut pair in pairs {
        let (ctx, next, rec, progress) = (ctx.clone(), next.clone(), rec.clone(), progress.clone());
        tasks.push(tokio::spawn(async move {
            let (mut times, mut failed) = (Vec::new(), 0u64);
            while next.fetch_add(1, Ordering::Relaxed) < flows {
                let t = Instant::now();
                match ctx.flow(&rec, &mut pair).await {
                    Ok((_, done)) => times.push(ms(done - t)),
                    Err(e) => {
                        rec.error(&e);
                        failed += 1;
                    }
                }
                progress.inc(1);
            }
            (times, failed, pair)
        }));
    }
    let (mut times, mut failed, mut pairs) = (Vec::new(), 0, Vec::new());
    for t in tasks {
        let (ts, f, p) = t.await?;
        times.extend(ts);
        failed += f;
        pairs.push(p);
    }
    progress.finish_and_clear();
    Ok((
        started.elapsed().as_secs_f64(),
        sorted(times),
        failed,
        pairs,
    ))
}

/// One flow of the open-loop run.
struct Scheduled {
    /// Quarter of the schedule it belongs to (0..4).
    quarter: usize,
    /// Scheduled start → effective, and → all receipts (ms); `None` if it failed.
    result: Option<(f64, f64)>,
    /// How late the client started it (ms).
    lag_ms: f64,
    /// Whether it had to enrol a fresh pair.
    fresh: bool,
    /// When it ended.
    ended: Instant,
}

/// Open loop: a flow starts every `1/rate` s for `seconds`, each with a pair from the
/// pool (a fresh one, enrolled in the flow, if the pool is empty).
async fn latency(
    ctx: &Arc<Ctx>,
    rec: &Arc<Recorder>,
    pairs: Vec<Pair>,
    rate: f64,
    seconds: f64,
) -> Result<(Vec<Scheduled>, Instant, Vec<Pair>)> {
    let count = (rate * seconds).round().max(1.0) as u64;
    let pool = Arc::new(Mutex::new(pairs));
    let interval = Duration::from_secs_f64(1.0 / rate);
    let start = tokio::time::Instant::now() + Duration::from_millis(100);
    let mut tasks = Vec::with_capacity(count as usize);
    for i in 0..count {
        let due = start + interval.mul_f64(i as f64);
        tokio::time::sleep_until(due).await;
        let (ctx, rec, pool) = (ctx.clone(), rec.clone(), pool.clone());
        let quarter = (4 * i / count) as usize;
        tasks.push(tokio::spawn(async move {
            let lag_ms = ms(due.elapsed());
            let due = due.into_std();
            let taken = lock(&pool).pop();
            let fresh = taken.is_none();
            let pair = match taken {
                Some(p) => Ok(p),
                None => ctx.new_pair().await,
            };
            let result = match pair {
                Ok(mut pair) => {
                    let r = ctx.flow(&rec, &mut pair).await;
                    lock(&pool).push(pair);
                    r
                }
                Err(e) => Err(e),
            };
            let result = match result {
                Ok((effective, done)) => Some((ms(effective - due), ms(done - due))),
                Err(e) => {
                    rec.error(&e);
                    None
                }
            };
            Scheduled {
                quarter,
                result,
                lag_ms,
                fresh,
                ended: Instant::now(),
            }
        }));
    }
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(t.await?);
    }
    let pairs = std::mem::take(&mut *lock(&pool));
    Ok((out, start.into_std(), pairs))
}

/// What a latency run reports in the summary.
struct LatencySummary {
    sign_p50_ms: f64,
    sign_p99_ms: f64,
    kept_up: bool,
    failed: usize,
}

/// One open-loop run at `rate` flows/s, printed with its breakdown; gives the pairs
/// back (with any fresh ones it enrolled).
async fn latency_run(
    ctx: &Arc<Ctx>,
    platform: &affix_platform::Platform,
    pairs: Vec<Pair>,
    rate: f64,
    seconds: f64,
    label: &str,
    cores: usize,
) -> Result<(LatencySummary, Vec<Pair>)> {
    println!();
    println!(
        "## Latency at {label}: open loop, a flow started every {:.1} ms ({rate:.1} flows/s) for {seconds} s",
        1000.0 / rate,
    );
    let rec = Arc::new(Recorder::new());
    let window = Window::open(platform);
    let (flows, start, pairs) = latency(ctx, &rec, pairs, rate, seconds).await?;
    let ok: Vec<&Scheduled> = flows.iter().filter(|f| f.result.is_some()).collect();
    let failed = flows.len() - ok.len();
    let fresh = flows.iter().filter(|f| f.fresh).count();
    let last_end = flows.iter().map(|f| f.ended).max().unwrap_or(start);
    let span = (last_end - start).as_secs_f64();
    let sign = rec.take(Step::Sign);
    let eff = sorted(ok.iter().filter_map(|f| f.result.map(|r| r.0)).collect());
    let all = sorted(ok.iter().filter_map(|f| f.result.map(|r| r.1)).collect());
    let lag = sorted(flows.iter().map(|f| f.lag_ms).collect());
    let quarter = |q: usize| {
        sorted(
            ok.iter()
                .filter(|f| f.quarter == q)
                .filter_map(|f| f.result.map(|r| r.1))
                .collect(),
        )
    };
    let (first, last) = (percentile(&quarter(0), 0.5), percentile(&quarter(3), 0.5));
    let completion_rate = ok.len() as f64 / span;
    println!(
        "{:<44} {:>8} {:>8} {:>8} {:>8}",
        "", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    let row = |label: &str, s: &[f64]| {
        println!(
            "{label:<44} {:>8.1} {:>8.1} {:>8.1} {:>8.1}",
            percentile(s, 0.5),
            percentile(s, 0.9),
            percentile(s, 0.99),
            percentile(s, 1.0)
        );
    };
    row("POST /v1/invite/sign, from sending it", &sign);
    row("flow: scheduled start → effective", &eff);
    row("flow: scheduled start → all receipts", &all);
    row("client start lag (scheduled → started)", &lag);
    println!("(target: sign p99 ≤ 200 ms at 100 flows/s)");
    println!(
        "signatures answered {:.1}/s over {span:.1} s (the schedule offers {:.1}/s for {seconds} s)",
        sign.len() as f64 / span,
        2.0 * rate
    );
    println!(
        "flows: {} scheduled, {} complete, {failed} failed, {fresh} took a fresh pair (enrolment included in those)",
        flows.len(),
        ok.len()
    );
    println!(
        "last flow done {span:.1} s after the first was due: {completion_rate:.1} flows/s completed"
    );
    let lag_p99 = percentile(&lag, 0.99);
    let kept_up =
        failed == 0 && completion_rate >= 0.9 * rate && last <= 2.0 * first && lag_p99 < 50.0;
    println!(
        "kept up: {}   ({failed} failed; completions {:.0} % of the rate; median flow time {first:.0} ms in the first quarter of the schedule, {last:.0} ms in the last; client lag p99 {lag_p99:.1} ms. Kept up = no failures, ≥ 90 %, last ≤ 2 × first, lag < 50 ms)",
        if kept_up { "YES" } else { "NO" },
        100.0 * completion_rate / rate
    );
    window.report(platform, &rec, ok.len() as u64, cores);
    Ok((
        LatencySummary {
            sign_p50_ms: percentile(&sign, 0.5),
            sign_p99_ms: percentile(&sign, 0.99),
            kept_up,
            failed,
        },
        pairs,
    ))
}

/// A 2×1 grayscale PNG: signature, IHDR, one stored-deflate IDAT, IEND.
fn png() -> Vec<u8> {
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
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    }
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    chunk(&mut out, b"IHDR", &[0, 0, 0, 2, 0, 0, 0, 1, 8, 0, 0, 0, 0]);
    let raw = [0u8, 0x00, 0xff];
    let mut z = vec![0x78, 0x01, 0x01, 0x03, 0x00, 0xfc, 0xff];
    z.extend_from_slice(&raw);
    let (mut a, mut b) = (1u32, 0u32);
    for &x in &raw {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    z.extend_from_slice(&((b << 16) | a).to_be_bytes());
    chunk(&mut out, b"IDAT", &z);
    chunk(&mut out, b"IEND", &[]);
    out
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…@{}", &url[..s], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

pub(crate) fn run(args: &Args) -> Result<()> {
    if args.concurrency == 0 {
        bail!("--concurrency must be at least 1");
    }
    if args.rate < 0.0 || !args.rate.is_finite() || args.seconds <= 0.0 {
        bail!("--rate must be ≥ 0 and --seconds > 0");
    }
    // Warnings and errors of the platform and the ledger go to stderr (AFFIX_LOG
    // overrides the level).
    let filter = tracing_subscriber::EnvFilter::try_from_env("AFFIX_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let threads = args.threads.unwrap_or(cores).max(1);
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => {
            let mut r = [0u8; 6];
            getrandom::fill(&mut r)?;
            std::env::temp_dir().join(format!("affix-bench-platform-{}", hex::encode(r)))
        }
    };
    if dir.exists() {
        bail!("{} exists: give a new directory", dir.display());
    }
    let config = affix_platform::Config {
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: dir.clone(),
        database_url: args.database_url.clone(),
        limits: affix_platform::config::Limits {
            requests_per_minute: BENCH_REQUESTS_PER_MINUTE,
            ..affix_platform::config::Limits::default()
        },
        ..affix_platform::Config::default()
    };
    let database = config.database_url();
    // The platform and the client get runtimes of their own (named, so their CPU time can
    // be told apart); both share the machine's cores with the embedded ledger.
    let platform_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name("afx-platform")
        .thread_keep_alive(Duration::from_secs(3600))
        .enable_all()
        .build()?;
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name("afx-client")
        .enable_all()
        .build()?;
    let outcome = match platform_rt.block_on(affix_server::start(config)) {
        Ok(running) => {
            let outcome = client_rt.block_on(drive(args, &running, &database, cores, threads));
            running.stop();
            outcome
        }
        Err(e) => Err(anyhow::Error::from(e).context("starting the platform")),
    };
    drop(client_rt);
    drop(platform_rt);
    if args.keep {
        println!("data directory kept: {}", dir.display());
    } else if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    outcome
}

async fn drive(
    args: &Args,
    running: &affix_server::Running,
    database: &str,
    cores: usize,
    threads: usize,
) -> Result<()> {
    let platform = &running.platform;
    let operator = std::fs::read_to_string(&running.operator_token_file)?
        .trim()
        .to_owned();
    let outbox = running
        .outbox
        .as_deref()
        .context("the platform has no e-mail outbox (SMTP configured?)")?;
    // The public URL is http://localhost:PORT (the WebAuthn relying party); the client
    // connects to the bound address itself, as before, with no name lookup per
    // connection.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .resolve("localhost", running.addr)
        .build()?;
    let tenant = http
        .post(format!("{}/v1/tenants", running.url))
        .bearer_auth(&operator)
        .json(&json!({"name": "Benchmark Trading"}))
        .send()
        .await?;
    if !tenant.status().is_success() {
        bail!(
            "creating the tenant: HTTP {}: {}",
            tenant.status(),
            tenant.text().await?
        );
    }
    let tenant: Value = tenant.json().await?;
    let admin = tenant["admin_api_key"]
        .as_str()
        .context("no admin_api_key")?
        .to_owned();
    let ctx = Arc::new(Ctx {
        http,
        base: running.url.clone(),
        admin,
        outbox: Outbox::open(outbox)?,
        png: png(),
        poll: Duration::from_millis(args.poll_ms.max(1)),
        people: AtomicU64::new(0),
    });
    let engine = if database.starts_with("sqlite:") {
        "SQLite (WAL, synchronous=FULL, pool of 4)"
    } else {
        "PostgreSQL (pool of 16)"
    };
    println!("affix-bench platform: the whole platform in this process");
    println!(
        "  machine:   {cores} cores; platform runtime {threads} worker threads, client runtime {threads}, embedded ledger 2 — all on the same cores"
    );
    println!("  database:  {engine}: {}", redact(database));
    println!(
        "  platform:  HTTP on {}, embedded single-authority ledger (propose delay 150 ms), vault with a key-file master, in-process CA/TSA, e-mail to the file outbox",
        running.url
    );
    println!(
        "  limits:    requests_per_minute = {BENCH_REQUESTS_PER_MINUTE} per caller (the default 6,000 would hold the one admin key to 100 requests/s, about 20 flows/s)"
    );
    println!(
        "  flow:      create a 2-party generic contract ({} B document, sequential) → send → per party: invite, e-mail code, verify, view, consent, signature image ({} B PNG), prepare, device signature, sign → effective → poll the events every {} ms until all {EVENTS_PER_FLOW} have receipts",
        DOCUMENT.len(),
        ctx.png.len(),
        args.poll_ms
    );

    let pool_size = args
        .concurrency
        .max((args.rate * 2.0).ceil() as usize)
        .max(1);
    let started = Instant::now();
    let warm = Arc::new(Recorder::new());
    let mut pairs = warm_up(&ctx, &warm, pool_size, args.concurrency.min(64)).await?;
    println!(
        "  people:    {} pairs enrolled in {:.1} s of unmeasured warm-up flows (device credential, vault P-256 key, certificate); measured flows reuse them: enrolment NOT included",
        pairs.len(),
        started.elapsed().as_secs_f64()
    );
    print_errors("warm-up errors", &warm);

    let mut summary_flows = None;
    if args.flows > 0 {
        println!();
        println!(
            "## Throughput: closed loop, {} drivers, {} flows (a flow counts when all its receipts are there)",
            args.concurrency, args.flows
        );
        let rec = Arc::new(Recorder::new());
        let drivers = pairs.split_off(pairs.len() - args.concurrency);
        let window = Window::open(platform);
        let (seconds, times, failed, back) = throughput(&ctx, &rec, drivers, args.flows).await?;
        pairs.extend(back);
        let done = times.len() as u64;
        let rate = done as f64 / seconds;
        println!("flows complete             {done:>10}   in {seconds:.2} s, {failed} failed");
        println!(
            "flows/s                    {rate:>10.1}   (target ≥ 300 on 2 cores; seed product headline 200,000/day ≈ 2.3/s)"
        );
        println!(
            "signing requests/s         {:>10.1}   (POST /v1/invite/sign answered 200)",
            rec.take(Step::Sign).len() as f64 / seconds
        );
        println!(
            "HTTP requests/s            {:>10.1}   ({:.1} per flow, receipt polls included)",
            rec.requests() as f64 / seconds,
            rec.requests() as f64 / (done + failed).max(1) as f64
        );
        println!(
            "flow time p50 / p99 / max  {:>10.0} / {:.0} / {:.0} ms   (create → all receipts)",
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            percentile(&times, 1.0)
        );
        window.report(platform, &rec, done, cores);
        summary_flows = Some((rate, failed));
    }

    let mut summary_latency = Vec::new();
    let mut rates = Vec::new();
    if let Some((measured, _)) = summary_flows
        && args.half_load
        && measured >= 2.0
    {
        rates.push((measured / 2.0, "half the measured throughput"));
    }
    if args.rate > 0.0 {
        rates.push((args.rate, "the offered rate"));
    }
    for (rate, label) in rates {
        let (summary, back) =
            latency_run(&ctx, platform, pairs, rate, args.seconds, label, cores).await?;
        pairs = back;
        summary_latency.push((rate, summary));
    }

    println!();
    println!("## Against the targets ({engine})");
    println!("{:<56} {:>14} {:>22}", "", "measured", "target");
    if let Some((rate, failed)) = summary_flows {
        println!(
            "{:<56} {:>14.1} {:>22}",
            format!("complete flows/s ({failed} failed)"),
            rate,
            "≥ 300"
        );
    }
    for (rate, l) in summary_latency {
        println!(
            "{:<56} {:>14} {:>22}",
            format!(
                "sign p50 / p99 at {rate:.1} flows/s ({})",
                if l.kept_up {
                    "kept up"
                } else {
                    "did NOT keep up"
                }
            ),
            format!("{:.0} / {:.0} ms", l.sign_p50_ms, l.sign_p99_ms),
            "p99 ≤ 200 ms at 100/s"
        );
        if l.failed > 0 {
            println!("{:<56} {:>14}", "  flows failed in that run", l.failed);
        }
    }
    println!(
        "{:<56} {:>14} {:>22}",
        "seed product headline (contracts/s)", "", "200,000/day ≈ 2.3/s"
    );
    Ok(())
}
