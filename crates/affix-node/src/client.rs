//! A client of the node API (`docs/formats.md`, "Node API"): submits evidence records to
//! a consortium and fetches their receipts, verified before they are returned.
//!
//! The client trusts no node: a node can refuse or delay a record, but every receipt
//! [`LedgerClient::receipt`] returns has been verified against the consortium's verifier
//! keys (a quorum of signatures on the checkpoint, an inclusion proof to its root) and is
//! for exactly the record asked about, and every leaf hash a node reports is checked
//! against the one computed here. Submitting is idempotent (a node answers "logged" or
//! "pending" for a record it already has), so a request that failed half way can be sent
//! again, to the same or another node.
//!
//! Every request has a bounded time ([`CONNECT_TIMEOUT`], [`SUBMIT_TIMEOUT`], the
//! receipt wait plus [`RECEIPT_TIMEOUT_MARGIN`]) and every answer a bounded size. Nodes
//! are tried in turn, starting with the last one that answered, when one cannot be
//! reached, times out or answers 5xx (503: busy); a 4xx answer is final.
//!
//! ```no_run
//! # async fn example(record: Vec<u8>, keys: &str) -> Result<(), affix_node::Error> {
//! use std::time::Duration;
//! use affix_node::client::LedgerClient;
//!
//! let client = LedgerClient::new(vec!["http://127.0.0.1:8001".into()], keys)?;
//! let submitted = client.submit(&record).await?;
//! let receipt = loop {
//!     if let Some(r) = client.receipt(&submitted.leaf_hash, Duration::from_secs(10)).await? {
//!         break r;
//!     }
//! };
//! std::fs::write("record.tlog-proof", receipt.text()).ok();
//! # Ok(()) }
//! ```

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use affix_note::{KEYS_FILE_BYTES_MAX, Origin, TrustPolicy, VerifiedReceipt, VerifierKeysFile};
use reqwest::StatusCode;
use serde::Deserialize;

use crate::Error;

/// Longest wait for a TCP connection to a node.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Longest a submission (one record or a batch) may take, answer included.
pub const SUBMIT_TIMEOUT: Duration = Duration::from_secs(30);

/// Time allowed for a receipt request beyond the wait the node is asked for.
pub const RECEIPT_TIMEOUT_MARGIN: Duration = Duration::from_secs(5);

/// Longest wait a node grants a receipt request; longer waits are cut to this.
pub const MAX_RECEIPT_WAIT: Duration = Duration::from_secs(30);

/// Most records in one [`LedgerClient::submit_batch`] call (the node's limit).
pub const MAX_BATCH_RECORDS: usize = 16_384;

/// Largest encoded batch in one [`LedgerClient::submit_batch`] call (the node's limit).
pub const MAX_BATCH_BYTES: usize = 8 * 1024 * 1024;

/// Largest submission answer read (a batch answer is about 110 bytes a record).
const MAX_SUBMIT_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// Largest receipt read.
const MAX_RECEIPT_BYTES: usize = 1024 * 1024;

/// Largest error answer read.
const MAX_PROBLEM_BYTES: usize = 64 * 1024;

/// What a node said about a submitted record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Submitted {
    /// The record's leaf hash (checked against the one computed from the record).
    pub leaf_hash: [u8; 32],
    /// Its index, if it is in the log already; `None` while it waits for a block.
    pub index: Option<u64>,
}

/// A receipt that verified: a quorum of the consortium's verifier keys signed a
/// checkpoint whose tree includes the record at [`Receipt::index`]. Only
/// [`LedgerClient::receipt`] makes one.
#[derive(Debug, Clone)]
pub struct Receipt {
    text: String,
    verified: VerifiedReceipt,
}

impl Receipt {
    /// The receipt file (`c2sp.org/tlog-proof@v1`, usually saved as `.tlog-proof`),
    /// exactly as received and verified.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The record's index in the log.
    pub fn index(&self) -> u64 {
        self.verified.index().0
    }

    /// Size of the tree of the checkpoint the receipt carries.
    pub fn checkpoint_size(&self) -> u64 {
        self.verified.checkpoint().size().0
    }

    /// The record's leaf hash.
    pub fn leaf_hash(&self) -> [u8; 32] {
        self.verified.leaf_hash().0
    }

    /// The record's bytes, as logged.
    pub fn record(&self) -> &[u8] {
        self.verified.entry()
    }

    /// The verification result (checkpoint, signers, entry).
    pub fn verified(&self) -> &VerifiedReceipt {
        &self.verified
    }
}

/// A client of one consortium's nodes. Cheap to clone (clones share connections and the
/// choice of node).
#[derive(Debug, Clone)]
pub struct LedgerClient {
    nodes: Arc<[String]>,
    keys_text: Arc<str>,
    policy: TrustPolicy,
    http: reqwest::Client,
    /// The node tried first: the last one that answered.
    preferred: Arc<AtomicUsize>,
}

impl LedgerClient {
    /// A client of the nodes at `nodes` (base URLs such as `http://127.0.0.1:8001`) of
    /// the consortium that `verifier_keys` describes (the verifier keys file's text, as
    /// nodes serve it at `/v1/verifier-keys` and `affix devnet` writes it; its header must
    /// name the origin, and gives the quorum).
    pub fn new(nodes: Vec<String>, verifier_keys: &str) -> Result<Self, Error> {
        Self::build(nodes, verifier_keys, reqwest::Client::builder())
    }

    /// [`LedgerClient::new`] without HTTP proxies, for a node on loopback in this process.
    #[cfg(feature = "node")]
    pub(crate) fn new_direct(nodes: Vec<String>, verifier_keys: &str) -> Result<Self, Error> {
        Self::build(nodes, verifier_keys, reqwest::Client::builder().no_proxy())
    }

    fn build(
        nodes: Vec<String>,
        verifier_keys: &str,
        builder: reqwest::ClientBuilder,
    ) -> Result<Self, Error> {
        if nodes.is_empty() {
            return Err(Error::Config("no node URLs given".into()));
        }
        let nodes = nodes
            .into_iter()
            .map(|n| {
                let n = n.trim().trim_end_matches('/').to_owned();
                match reqwest::Url::parse(&n) {
                    Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(n),
                    _ => Err(Error::Config(format!("{n:?} is not an http(s) URL"))),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let policy = VerifierKeysFile::parse(verifier_keys)
            .and_then(|file| file.trust_policy())
            .map_err(Error::VerifierKeys)?;
        let http = builder
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        Ok(Self {
            nodes: nodes.into(),
            keys_text: verifier_keys.into(),
            policy,
            http,
            preferred: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// The verifier keys file this client checks receipts against.
    pub fn verifier_keys_text(&self) -> &str {
        &self.keys_text
    }

    /// The log's origin (from the verifier keys file).
    pub fn origin(&self) -> &Origin {
        self.policy.origin()
    }

    /// The trust policy receipts are verified under.
    pub fn trust_policy(&self) -> &TrustPolicy {
        &self.policy
    }

    /// The node base URLs, in the order given.
    pub fn nodes(&self) -> &[String] {
        &self.nodes
    }

    /// The leaf hash of `record` in this log (the log's hash suite follows its origin).
    pub fn leaf_hash(&self, record: &[u8]) -> [u8; 32] {
        self.policy.origin().suite().leaf_hash(record).0
    }

    /// Submits one evidence record. Errors: [`Error::RecordInvalid`] (HTTP 422) and
    /// [`Error::RecordTooLarge`] (413) for the record itself, [`Error::Refused`] for other
    /// refusals (409: a node of another log), [`Error::Busy`] when every node is busy,
    /// [`Error::NodesUnavailable`] when none answered.
    pub async fn submit(&self, record: &[u8]) -> Result<Submitted, Error> {
        let expected = self.leaf_hash(record);
        self.each_node(|node| async move {
            let request = self
                .http
                .post(format!("{node}/v1/records"))
                .header("affix-expected-origin", self.origin().as_str())
                .timeout(SUBMIT_TIMEOUT)
                .body(record.to_vec());
            let body = self
                .send(node, request, MAX_SUBMIT_ANSWER_BYTES, Some(record.len()))
                .await?;
            let answer: SubmittedJson = serde_json::from_slice(&body)
                .map_err(|e| bad_answer(node, format!("submission answer: {e}")))?;
            answer.check(node, &expected).map_err(NodeFailure::Final)
        })
        .await
    }

    /// Submits records in one request (`POST /v1/records/batch`): all are accepted or
    /// none is. Answers in the order given. At most [`MAX_BATCH_RECORDS`] records and
    /// [`MAX_BATCH_BYTES`] encoded ([`Error::BatchTooLarge`] otherwise, before any
    /// request); errors as for [`LedgerClient::submit`], where an invalid record's error
    /// names its position.
    pub async fn submit_batch(&self, records: &[Vec<u8>]) -> Result<Vec<Submitted>, Error> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let too_large = |bytes| Error::BatchTooLarge {
            records: records.len(),
            bytes,
        };
        if records.len() > MAX_BATCH_RECORDS {
            return Err(too_large(records.iter().map(|r| r.len() + 2).sum()));
        }
        if let Some(r) = records
            .iter()
            .find(|r| r.len() > affix_evidence::MAX_RECORD_BYTES)
        {
            return Err(Error::RecordTooLarge(r.len()));
        }
        let body = affix_merkle::encode_bundle(records)
            .map_err(|e| Error::RecordInvalid(format!("cannot be framed in a batch: {e}")))?;
        if body.len() > MAX_BATCH_BYTES {
            return Err(too_large(body.len()));
        }
        let expected: Vec<[u8; 32]> = records.iter().map(|r| self.leaf_hash(r)).collect();
        let body = bytes::Bytes::from(body);
        self.each_node(|node| {
            let (body, expected) = (body.clone(), &expected);
            async move {
                let request = self
                    .http
                    .post(format!("{node}/v1/records/batch"))
                    .header("affix-expected-origin", self.origin().as_str())
                    .timeout(SUBMIT_TIMEOUT)
                    .body(body);
                let answer = self
                    .send(node, request, MAX_SUBMIT_ANSWER_BYTES, None)
                    .await?;
                let answer: BatchJson = serde_json::from_slice(&answer)
                    .map_err(|e| bad_answer(node, format!("batch answer: {e}")))?;
                if answer.records.len() != expected.len() {
                    return Err(bad_answer(
                        node,
                        format!(
                            "{} answers for {} records",
                            answer.records.len(),
                            expected.len()
                        ),
                    ));
                }
                answer
                    .records
                    .iter()
                    .zip(expected)
                    .map(|(a, e)| a.check(node, e))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(NodeFailure::Final)
            }
        })
        .await
    }

    /// The receipt of the record with `leaf_hash`, waiting up to `wait` (at most
    /// [`MAX_RECEIPT_WAIT`], in whole seconds, rounded up) for a quorum checkpoint to
    /// cover it. `Ok(None)` while it is pending. A returned receipt has verified against
    /// the verifier keys and is for exactly this leaf hash; a node that serves anything
    /// else gets [`Error::ReceiptUnverified`] or [`Error::ReceiptForOtherRecord`].
    /// [`Error::UnknownRecord`] when asked with a zero wait about a record the node has
    /// neither logged nor queued (a record submitted to another node may not have reached
    /// it yet: ask again with a wait).
    pub async fn receipt(
        &self,
        leaf_hash: &[u8; 32],
        wait: Duration,
    ) -> Result<Option<Receipt>, Error> {
        let wait = wait.min(MAX_RECEIPT_WAIT);
        let wait_s = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let hex_hash = hex::encode(leaf_hash);
        let hex_hash = &hex_hash;
        self.each_node(|node| async move {
            let request = self
                .http
                .get(format!("{node}/v1/receipts/{hex_hash}?wait={wait_s}"))
                .timeout(Duration::from_secs(wait_s) + RECEIPT_TIMEOUT_MARGIN);
            let response = request.send().await.map_err(|e| unavailable(node, &e))?;
            match response.status() {
                StatusCode::OK => {}
                StatusCode::ACCEPTED => return Ok(None),
                status => {
                    let problem = Problem::read(response).await;
                    return Err(match (status, problem.kind.as_str()) {
                        (StatusCode::NOT_FOUND, "unknown-record") => {
                            NodeFailure::Final(Error::UnknownRecord {
                                node: node.to_owned(),
                                leaf_hash: hex_hash.clone(),
                            })
                        }
                        _ => problem.into_failure(node, status, None),
                    });
                }
            }
            let bytes = read_limited(node, response, MAX_RECEIPT_BYTES).await?;
            let receipt = affix_note::Receipt::parse(&bytes)
                .and_then(|r| r.verify(&self.policy))
                .map_err(|source| {
                    NodeFailure::Final(Error::ReceiptUnverified {
                        node: node.to_owned(),
                        source,
                    })
                })?;
            if receipt.leaf_hash().0 != *leaf_hash {
                return Err(NodeFailure::Final(Error::ReceiptForOtherRecord {
                    node: node.to_owned(),
                    expected: hex_hash.clone(),
                    received: receipt.leaf_hash().to_hex(),
                }));
            }
            // A receipt is ASCII lines and a note, which is UTF-8.
            let text = String::from_utf8(bytes)
                .map_err(|_| bad_answer(node, "the receipt is not UTF-8 text".into()))?;
            Ok(Some(Receipt {
                text,
                verified: receipt,
            }))
        })
        .await
    }

    /// Runs `attempt` against each node in turn, starting with the preferred one, until
    /// one answers or fails finally.
    async fn each_node<'a, T, F, Fut>(&'a self, mut attempt: F) -> Result<T, Error>
    where
        F: FnMut(&'a str) -> Fut,
        Fut: Future<Output = Result<T, NodeFailure>>,
    {
        let first = self.preferred.load(Ordering::Relaxed) % self.nodes.len();
        let mut failures = Vec::new();
        let mut all_busy = true;
        for i in (0..self.nodes.len()).map(|k| (first + k) % self.nodes.len()) {
            match attempt(&self.nodes[i]).await {
                Ok(answer) => {
                    self.preferred.store(i, Ordering::Relaxed);
                    return Ok(answer);
                }
                Err(NodeFailure::Final(e)) => return Err(e),
                Err(NodeFailure::Unavailable { reason, busy }) => {
                    tracing::debug!(node = %self.nodes[i], %reason, "node unavailable");
                    all_busy &= busy;
                    failures.push(reason);
                }
            }
        }
        if all_busy {
            Err(Error::Busy)
        } else {
            Err(Error::NodesUnavailable(failures.join("; ")))
        }
    }

    /// Sends a submission and returns the body of a 2xx answer.
    async fn send(
        &self,
        node: &str,
        request: reqwest::RequestBuilder,
        limit: usize,
        record_len: Option<usize>,
    ) -> Result<Vec<u8>, NodeFailure> {
        let response = request.send().await.map_err(|e| unavailable(node, &e))?;
        let status = response.status();
        if status.is_success() {
            return read_limited(node, response, limit).await;
        }
        Err(Problem::read(response)
            .await
            .into_failure(node, status, record_len))
    }
}

/// The verifier keys file `node` serves (`GET /v1/verifier-keys`), checked to parse.
///
/// Dangerous: receipts checked against keys fetched from the node that issues them prove
/// only that the node is consistent with itself, not who signed. Take the keys file from
/// the consortium's operators (or an [`crate::embedded::EmbeddedLedger`]) instead; this is
/// for tools that have nothing better and say so.
pub async fn dangerous_fetch_verifier_keys(node: &str) -> Result<String, Error> {
    let node = node.trim().trim_end_matches('/');
    let http = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(SUBMIT_TIMEOUT)
        .build()
        .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
    let failure = |f: NodeFailure| match f {
        NodeFailure::Final(e) => e,
        NodeFailure::Unavailable { reason, .. } => Error::NodesUnavailable(reason),
    };
    let response = http
        .get(format!("{node}/v1/verifier-keys"))
        .send()
        .await
        .map_err(|e| failure(unavailable(node, &e)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(failure(
            Problem::read(response)
                .await
                .into_failure(node, status, None),
        ));
    }
    let body = read_limited(node, response, KEYS_FILE_BYTES_MAX)
        .await
        .map_err(failure)?;
    let text = String::from_utf8(body).map_err(|_| Error::BadAnswer {
        node: node.to_owned(),
        reason: "a verifier keys file that is not UTF-8".into(),
    })?;
    VerifierKeysFile::parse(&text).map_err(Error::VerifierKeys)?;
    Ok(text)
}

/// Why one node did not give an answer.
enum NodeFailure {
    /// Try the next node.
    Unavailable { reason: String, busy: bool },
    /// Do not: the answer is final (a refusal) or the node misbehaved.
    Final(Error),
}

fn unavailable(node: &str, e: &reqwest::Error) -> NodeFailure {
    NodeFailure::Unavailable {
        reason: format!("{node}: {e}"),
        busy: false,
    }
}

fn bad_answer(node: &str, reason: String) -> NodeFailure {
    NodeFailure::Final(Error::BadAnswer {
        node: node.to_owned(),
        reason,
    })
}

/// Reads a body of at most `limit` bytes. A connection lost half way is worth another
/// node; an oversized answer is not.
async fn read_limited(
    node: &str,
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, NodeFailure> {
    if response.content_length().is_some_and(|l| l > limit as u64) {
        return Err(bad_answer(node, format!("answer above {limit} bytes")));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| unavailable(node, &e))? {
        if body.len() + chunk.len() > limit {
            return Err(bad_answer(node, format!("answer above {limit} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// An error answer (RFC 9457 problem+json from our nodes; anything from a proxy).
struct Problem {
    /// The last segment of the problem type (`invalid-record`), or empty.
    kind: String,
    detail: String,
}

impl Problem {
    async fn read(response: reqwest::Response) -> Self {
        let body = read_limited("", response, MAX_PROBLEM_BYTES)
            .await
            .unwrap_or_default();
        #[derive(Deserialize)]
        struct Json {
            #[serde(rename = "type")]
            kind: Option<String>,
            detail: Option<String>,
        }
        match serde_json::from_slice::<Json>(&body) {
            Ok(j) => Self {
                kind: j
                    .kind
                    .as_deref()
                    .and_then(|t| t.rsplit('/').next())
                    .unwrap_or_default()
                    .to_owned(),
                detail: j.detail.unwrap_or_default(),
            },
            Err(_) => Self {
                kind: String::new(),
                detail: String::from_utf8_lossy(&body).chars().take(300).collect(),
            },
        }
    }

    fn into_failure(
        self,
        node: &str,
        status: StatusCode,
        record_len: Option<usize>,
    ) -> NodeFailure {
        if status.is_server_error() {
            return NodeFailure::Unavailable {
                busy: status == StatusCode::SERVICE_UNAVAILABLE,
                reason: format!("{node}: HTTP {status} {}: {}", self.kind, self.detail),
            };
        }
        NodeFailure::Final(match (status, self.kind.as_str(), record_len) {
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid-record", _) => {
                Error::RecordInvalid(self.detail)
            }
            (StatusCode::PAYLOAD_TOO_LARGE, "record-too-large", Some(len)) => {
                Error::RecordTooLarge(len)
            }
            _ => Error::Refused {
                node: node.to_owned(),
                status: status.as_u16(),
                kind: self.kind,
                detail: self.detail,
            },
        })
    }
}

/// One record in a submission answer.
#[derive(Deserialize)]
struct SubmittedJson {
    leaf_hash: String,
    status: String,
    index: Option<u64>,
}

#[derive(Deserialize)]
struct BatchJson {
    records: Vec<SubmittedJson>,
}

impl SubmittedJson {
    fn check(&self, node: &str, expected: &[u8; 32]) -> Result<Submitted, Error> {
        let bad = |reason: String| Error::BadAnswer {
            node: node.to_owned(),
            reason,
        };
        if self.leaf_hash != hex::encode(expected) {
            return Err(bad(format!(
                "leaf hash {} for a record whose leaf hash is {}",
                self.leaf_hash,
                hex::encode(expected)
            )));
        }
        let index = match (self.status.as_str(), self.index) {
            ("pending", _) => None,
            ("logged", Some(i)) => Some(i),
            (status, _) => return Err(bad(format!("status {status:?} without an index"))),
        };
        Ok(Submitted {
            leaf_hash: *expected,
            index,
        })
    }
}
