//! The node API and the C2SP tlog-tiles read API.
//!
//! | method and path | answer |
//! |---|---|
//! | `POST /v1/records` | submit one evidence record (body: its bytes) |
//! | `POST /v1/records/batch` | submit many (body: `u16 length || record` repeated) |
//! | `GET /v1/receipts/{leaf_hash_hex}[?wait=SECONDS]` | the `.tlog-proof` receipt, waiting up to 30 s |
//! | `GET /v1/receipts/by-index/{index}[?wait=SECONDS]` | the same, by log index |
//! | `GET /v1/checkpoint`, `GET /checkpoint` | the newest quorum-signed checkpoint |
//! | `GET /v1/proofs/inclusion?index=I&size=N` (or `leaf_hash=`) | inclusion proof (JSON) |
//! | `GET /v1/proofs/consistency?old=M&new=N` | consistency proof (JSON) |
//! | `GET /tile/<L>/<N>[.p/<W>]`, `GET /tile/entries/<N>[.p/<W>]` | C2SP tiles |
//! | `GET /v1/finalizations/{height}` | the consensus finalization certificate (JSON) |
//! | `GET /v1/misbehaviour` | conflicting signed checkpoints seen (JSON) |
//! | `GET /v1/status`, `GET /v1/verifier-keys` | node status; the consortium's keys |
//!
//! Errors are `application/problem+json` (RFC 9457) with a specific `type`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use affix_merkle::{Hash, LeafIndex, TileId, TreeSize};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::watch;

use affix_logstore::LogStore;
use affix_note::{Receipt, SignedCheckpoint};

use crate::Error;
use crate::ledger::{Ledger, Submitted};

/// Longest a receipt request may wait.
const MAX_WAIT: Duration = Duration::from_secs(30);

/// Largest batch body.
const MAX_BATCH_BYTES: usize = 8 * 1024 * 1024;

/// Most records in one batch request.
const MAX_BATCH_RECORDS: usize = 16_384;

/// A log that can be read over HTTP: an authority's [`Ledger`] or a mirror.
pub trait LogView: Send + 'static {
    /// The durable log.
    fn store(&self) -> &LogStore;
    /// The newest checkpoint signed by a quorum, which bounds everything served.
    fn quorum_checkpoint(&self) -> Option<&SignedCheckpoint>;
    /// Log index of a record by leaf hash.
    fn index_of(&self, leaf_hash: &Hash) -> Option<u64>;
    /// Whether a record is still waiting to be logged (mirrors: never).
    fn is_pending(&self, _leaf_hash: &Hash) -> bool {
        false
    }
    /// The consortium's verifier keys file.
    fn verifier_keys(&self) -> String;
    /// Status fields specific to the kind of server.
    fn status(&self) -> serde_json::Value;

    /// Size of the newest quorum checkpoint (0 if none).
    fn quorum_size(&self) -> u64 {
        self.quorum_checkpoint()
            .map_or(0, |q| q.unverified_checkpoint().size.0)
    }

    /// The receipt of record `index` against the newest quorum checkpoint, if that
    /// checkpoint covers it.
    fn receipt(&self, index: u64) -> Result<Option<Receipt>, Error> {
        let Some(checkpoint) = self.quorum_checkpoint() else {
            return Ok(None);
        };
        let size = checkpoint.unverified_checkpoint().size;
        if index >= size.0 {
            return Ok(None);
        }
        Ok(Some(Receipt {
            extra: Some(self.store().entry(LeafIndex(index))?),
            index: LeafIndex(index),
            proof: self.store().inclusion_proof(LeafIndex(index), size)?,
            checkpoint: checkpoint.clone(),
        }))
    }
}

/// What the HTTP layer shares with the engine (or with a mirror's follower).
pub struct Shared<T> {
    /// The log.
    pub view: Mutex<T>,
    /// Size of the newest quorum checkpoint; receipt requests wait on it.
    pub quorum_size: watch::Sender<u64>,
    /// Set when the node hit an error it must not continue after (see [`Shared::fatal`]).
    fatal: Mutex<Option<String>>,
}

impl<T: LogView> Shared<T> {
    /// Wraps a log.
    pub fn new(view: T) -> Arc<Self> {
        let size = view.quorum_size();
        Arc::new(Self {
            view: Mutex::new(view),
            quorum_size: watch::channel(size).0,
            fatal: Mutex::new(None),
        })
    }

    /// Records a fatal error: the node's run loop stops and returns it.
    pub fn set_fatal(&self, error: String) {
        if let Ok(mut f) = self.fatal.lock() {
            f.get_or_insert(error);
        }
    }

    /// The fatal error, if one happened.
    pub fn fatal(&self) -> Option<String> {
        self.fatal.lock().ok().and_then(|f| f.clone())
    }

    /// Locks the log. A poisoned lock means a thread panicked mid-update: continuing
    /// could serve inconsistent state, so the node stops — without ending the process,
    /// which may be a library user's (see [`crate::embedded`]): the error is recorded as
    /// fatal (the node's run loop returns it), and this caller unwinds instead of touching
    /// the state. A panicking engine task ends the node's runtime, which
    /// [`crate::run::run`] turns into [`Error::Fatal`]; a panicking request handler
    /// ends that one connection.
    pub fn lock(&self) -> std::sync::MutexGuard<'_, T> {
        match self.view.lock() {
            Ok(guard) => guard,
            Err(_) => {
                tracing::error!("lock poisoned; stopping");
                self.set_fatal("the ledger lock was poisoned by a panic".into());
                // Deliberate: the only safe way out of a caller that expects the state.
                panic!("the ledger lock was poisoned by a panic; the node stops");
            }
        }
    }

    /// Publishes the newest quorum size after a change.
    pub fn publish(&self) {
        let size = self.lock().quorum_size();
        self.quorum_size.send_if_modified(|s| {
            let changed = *s != size;
            *s = size;
            changed
        });
    }
}

/// An RFC 9457 problem.
struct Problem {
    status: StatusCode,
    kind: &'static str,
    detail: String,
}

impl Problem {
    fn new(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            detail: detail.into(),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = json!({
            "type": format!("https://affix.dev/problems/{}", self.kind),
            "title": self.kind.replace('-', " "),
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        let mut response = (self.status, body.to_string()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        match e {
            Error::RecordInvalid(_) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-record",
                e.to_string(),
            ),
            Error::RecordTooLarge(_) => Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "record-too-large",
                e.to_string(),
            ),
            Error::Busy => Problem::new(StatusCode::SERVICE_UNAVAILABLE, "busy", e.to_string()),
            Error::Store(affix_logstore::Error::OutOfRange(m)) => {
                Problem::new(StatusCode::NOT_FOUND, "out-of-range", m)
            }
            Error::Store(affix_logstore::Error::Merkle(
                m @ (affix_merkle::Error::IndexOutOfRange { .. }
                | affix_merkle::Error::SizeOrder { .. }),
            )) => Problem::new(StatusCode::NOT_FOUND, "out-of-range", m.to_string()),
            Error::Store(affix_logstore::Error::Merkle(m)) => {
                Problem::new(StatusCode::BAD_REQUEST, "bad-request", m.to_string())
            }
            other => {
                tracing::error!(error = %other, "internal error serving a request");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error",
                )
            }
        }
    }
}

type Answer = Result<Response, Problem>;

/// The read API every server of the log offers (authority node or mirror).
pub fn read_router<T: LogView>(shared: Arc<Shared<T>>) -> Router {
    Router::new()
        .route("/v1/receipts/{leaf_hash}", get(receipt_by_hash::<T>))
        .route("/v1/receipts/by-index/{index}", get(receipt_by_index::<T>))
        .route("/v1/checkpoint", get(checkpoint::<T>))
        .route("/checkpoint", get(checkpoint::<T>))
        .route("/v1/proofs/inclusion", get(inclusion::<T>))
        .route("/v1/proofs/consistency", get(consistency::<T>))
        .route("/tile/{*path}", get(tile::<T>))
        .route("/v1/status", get(status::<T>))
        .route("/v1/verifier-keys", get(verifier_keys::<T>))
        .fallback(|| async { Problem::new(StatusCode::NOT_FOUND, "not-found", "no such endpoint") })
        .with_state(shared)
}

/// The authority node's API: the read API plus submission, certificates and
/// misbehaviour. The optional `Affix-Expected-Origin` header on submissions is checked
/// against the ledger's origin, so a client never logs evidence in the wrong ledger.
pub fn node_router(shared: Arc<Shared<Ledger>>) -> Router {
    Router::new()
        .route(
            "/v1/records",
            post(submit_one).layer(DefaultBodyLimit::max(64 * 1024)),
        )
        .route(
            "/v1/records/batch",
            post(submit_batch).layer(DefaultBodyLimit::max(MAX_BATCH_BYTES)),
        )
        .route("/v1/finalizations/{height}", get(finalization))
        .route("/v1/misbehaviour", get(misbehaviour))
        .with_state(shared.clone())
        .merge(read_router(shared))
}

fn check_origin(shared: &Shared<Ledger>, headers: &HeaderMap) -> Result<(), Problem> {
    if let Some(expected) = headers.get("affix-expected-origin") {
        let origin = shared.lock().genesis().origin().to_string();
        if expected.as_bytes() != origin.as_bytes() {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "wrong-origin",
                format!(
                    "this node logs to {origin}, the request expected {}",
                    String::from_utf8_lossy(expected.as_bytes())
                ),
            ));
        }
    }
    Ok(())
}

fn submitted_json(s: &Submitted) -> serde_json::Value {
    match s {
        Submitted::Pending { leaf_hash } => {
            json!({"leaf_hash": leaf_hash.to_hex(), "status": "pending"})
        }
        Submitted::AlreadyPending { leaf_hash } => {
            json!({"leaf_hash": leaf_hash.to_hex(), "status": "pending"})
        }
        Submitted::Logged { leaf_hash, index } => {
            json!({"leaf_hash": leaf_hash.to_hex(), "status": "logged", "index": index})
        }
    }
}

async fn submit_one(
    State(shared): State<Arc<Shared<Ledger>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    check_origin(&shared, &headers)?;
    let result = shared.lock().submit(body.to_vec())?;
    Ok((StatusCode::ACCEPTED, axum::Json(submitted_json(&result))).into_response())
}

async fn submit_batch(
    State(shared): State<Arc<Shared<Ledger>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    check_origin(&shared, &headers)?;
    let records = affix_merkle::decode_bundle(&body, MAX_BATCH_RECORDS).map_err(|e| {
        if body.len() > 2 && e.to_string().contains("too many") {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "batch-too-large",
                format!("at most {MAX_BATCH_RECORDS} records per batch"),
            )
        } else {
            Problem::new(StatusCode::BAD_REQUEST, "malformed-batch", e.to_string())
        }
    })?;
    // Validate everything first: a batch is accepted whole or not at all.
    for (i, r) in records.iter().enumerate() {
        affix_evidence::EvidenceRecord::decode(r).map_err(|e| {
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-record",
                format!("record {i}: {e}"),
            )
        })?;
    }
    let mut ledger = shared.lock();
    if ledger.mempool_len() + records.len() > crate::ledger::MAX_MEMPOOL_RECORDS {
        return Err(Error::Busy.into());
    }
    let mut results = Vec::with_capacity(records.len());
    for r in records {
        results.push(submitted_json(&ledger.submit(r.to_vec())?));
    }
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(json!({ "records": results })),
    )
        .into_response())
}

#[derive(Deserialize)]
struct WaitQuery {
    wait: Option<u64>,
}

fn receipt_response(receipt: Receipt) -> Response {
    let mut r = receipt.to_bytes().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// Waits until the record at `index` (or with `leaf_hash`) has a receipt, up to `wait`.
async fn wait_receipt<T: LogView>(
    shared: Arc<Shared<T>>,
    key: ReceiptKey,
    wait: Duration,
) -> Answer {
    let deadline = tokio::time::Instant::now() + wait.min(MAX_WAIT);
    let mut updates = shared.quorum_size.subscribe();
    loop {
        {
            let ledger = shared.lock();
            let index = match &key {
                ReceiptKey::Index(i) => Some(*i),
                ReceiptKey::Leaf(h) => ledger.index_of(h),
            };
            if let Some(index) = index {
                if let Some(receipt) = ledger.receipt(index)? {
                    return Ok(receipt_response(receipt));
                }
            } else if let ReceiptKey::Leaf(h) = &key
                && !ledger.is_pending(h)
                && wait.is_zero()
            {
                return Err(Problem::new(
                    StatusCode::NOT_FOUND,
                    "unknown-record",
                    "no such record in the log or the mempool",
                ));
            }
        }
        let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
        if remaining.is_zero() {
            return Err(Problem::new(
                StatusCode::ACCEPTED,
                "receipt-pending",
                "not yet covered by a quorum checkpoint; ask again",
            ));
        }
        let _ = tokio::time::timeout(remaining, updates.changed()).await;
    }
}

enum ReceiptKey {
    Index(u64),
    Leaf(Hash),
}

async fn receipt_by_hash<T: LogView>(
    State(shared): State<Arc<Shared<T>>>,
    Path(leaf_hash): Path<String>,
    Query(q): Query<WaitQuery>,
) -> Answer {
    let bytes = hex::decode(&leaf_hash)
        .ok()
        .filter(|b| b.len() == 32)
        .ok_or_else(|| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "bad-leaf-hash",
                "leaf hash must be 64 hex digits",
            )
        })?;
    let h = Hash::from_slice(&bytes)
        .map_err(|e| Problem::new(StatusCode::BAD_REQUEST, "bad-leaf-hash", e.to_string()))?;
    wait_receipt(
        shared,
        ReceiptKey::Leaf(h),
        Duration::from_secs(q.wait.unwrap_or(0)),
    )
    .await
}

async fn receipt_by_index<T: LogView>(
    State(shared): State<Arc<Shared<T>>>,
    Path(index): Path<u64>,
    Query(q): Query<WaitQuery>,
) -> Answer {
    wait_receipt(
        shared,
        ReceiptKey::Index(index),
        Duration::from_secs(q.wait.unwrap_or(0)),
    )
    .await
}

async fn checkpoint<T: LogView>(State(shared): State<Arc<Shared<T>>>) -> Answer {
    let ledger = shared.lock();
    let c = ledger.quorum_checkpoint().ok_or_else(|| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "no-checkpoint",
            "no quorum checkpoint yet",
        )
    })?;
    let mut r = c.to_bytes().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(r)
}

#[derive(Deserialize)]
struct InclusionQuery {
    index: Option<u64>,
    leaf_hash: Option<String>,
    size: Option<u64>,
}

async fn inclusion<T: LogView>(
    State(shared): State<Arc<Shared<T>>>,
    Query(q): Query<InclusionQuery>,
) -> Answer {
    let ledger = shared.lock();
    let index = match (q.index, &q.leaf_hash) {
        (Some(i), None) => i,
        (None, Some(h)) => {
            let bytes = hex::decode(h).unwrap_or_default();
            let h = Hash::from_slice(&bytes).map_err(|_| {
                Problem::new(
                    StatusCode::BAD_REQUEST,
                    "bad-leaf-hash",
                    "leaf hash must be 64 hex digits",
                )
            })?;
            ledger.index_of(&h).ok_or_else(|| {
                Problem::new(
                    StatusCode::NOT_FOUND,
                    "unknown-record",
                    "no such record in the log",
                )
            })?
        }
        _ => {
            return Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "bad-request",
                "give exactly one of index, leaf_hash",
            ));
        }
    };
    let size = q.size.unwrap_or(ledger.quorum_size());
    let proof = ledger
        .store()
        .inclusion_proof(LeafIndex(index), TreeSize(size))
        .map_err(Error::from)?;
    let hashes: Vec<String> = proof.iter().map(Hash::to_base64).collect();
    Ok(axum::Json(json!({"index": index, "size": size, "hashes": hashes})).into_response())
}

#[derive(Deserialize)]
struct ConsistencyQuery {
    old: u64,
    new: Option<u64>,
}

async fn consistency<T: LogView>(
    State(shared): State<Arc<Shared<T>>>,
    Query(q): Query<ConsistencyQuery>,
) -> Answer {
    let ledger = shared.lock();
    let new = q.new.unwrap_or(ledger.quorum_size());
    let proof = ledger
        .store()
        .consistency_proof(TreeSize(q.old), TreeSize(new))
        .map_err(Error::from)?;
    let hashes: Vec<String> = proof.iter().map(Hash::to_base64).collect();
    Ok(axum::Json(json!({"old": q.old, "new": new, "hashes": hashes})).into_response())
}

async fn tile<T: LogView>(
    State(shared): State<Arc<Shared<T>>>,
    Path(path): Path<String>,
) -> Answer {
    let tile = TileId::parse_path(&format!("tile/{path}"))
        .map_err(|e| Problem::new(StatusCode::NOT_FOUND, "bad-tile", e.to_string()))?;
    let ledger = shared.lock();
    // Tiles beyond the newest quorum checkpoint are not served: a client must never see
    // a tree no checkpoint vouches for.
    let data = {
        let limit = ledger.quorum_size();
        let end = tile
            .index()
            .saturating_mul(256)
            .saturating_add(u64::from(tile.width()));
        let level_size = match tile.kind() {
            affix_merkle::TileKind::Hashes { level } => {
                limit.checked_shr(8 * u32::from(level)).unwrap_or(0)
            }
            affix_merkle::TileKind::Entries => limit,
        };
        if end > level_size {
            return Err(Problem::new(
                StatusCode::NOT_FOUND,
                "out-of-range",
                "tile beyond the newest checkpoint",
            ));
        }
        ledger.store().read_tile(&tile).map_err(Error::from)?
    };
    let mut r = data.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    Ok(r)
}

async fn finalization(
    State(shared): State<Arc<Shared<Ledger>>>,
    Path(height): Path<u64>,
) -> Answer {
    let cert = shared.lock().finalization(height)?.ok_or_else(|| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "no-finalization",
            "no certificate stored for that height",
        )
    })?;
    Ok(axum::Json(json!({
        "height": height,
        "engine": crate::engine::ENGINE_ID,
        "certificate": STANDARD.encode(cert),
    }))
    .into_response())
}

async fn misbehaviour(State(shared): State<Arc<Shared<Ledger>>>) -> Answer {
    let reports = shared.lock().misbehaviour()?;
    Ok(axum::Json(json!({ "reports": reports })).into_response())
}

async fn status<T: LogView>(State(shared): State<Arc<Shared<T>>>) -> Answer {
    let view = shared.lock();
    let mut status = view.status();
    status["origin"] = json!(view.store().origin());
    status["hash"] = json!(view.store().suite().name());
    status["size"] = json!(view.store().size().0);
    status["root"] = json!(view.store().root().to_base64());
    status["quorum_size"] = json!(view.quorum_size());
    Ok(axum::Json(status).into_response())
}

async fn verifier_keys<T: LogView>(State(shared): State<Arc<Shared<T>>>) -> Answer {
    Ok(shared.lock().verifier_keys().into_response())
}

impl LogView for Ledger {
    fn store(&self) -> &LogStore {
        Ledger::store(self)
    }

    fn quorum_checkpoint(&self) -> Option<&SignedCheckpoint> {
        Ledger::quorum_checkpoint(self)
    }

    fn index_of(&self, leaf_hash: &Hash) -> Option<u64> {
        Ledger::index_of(self, leaf_hash)
    }

    fn is_pending(&self, leaf_hash: &Hash) -> bool {
        Ledger::is_pending(self, leaf_hash)
    }

    fn verifier_keys(&self) -> String {
        self.genesis().verifier_keys_file()
    }

    fn status(&self) -> serde_json::Value {
        json!({
            "kind": "authority",
            "name": self.name(),
            "finalized_height": self.finalized_height(),
            "mempool": self.mempool_len(),
        })
    }
}
