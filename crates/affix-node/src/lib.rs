//! An authority node of the Affix consortium evidence ledger.
//!
//! This crate is the I/O shell around the pure ledger core (`affix-ledger`):
//!
//! - [`ledger`]: the node's durable state — the tile-layout log, the finalized tip,
//!   finalization certificates, signed and quorum checkpoints, misbehaviour reports — and
//!   the mempool of submitted records. Engine-independent.
//! - [`engine`]: the adapter to `commonware-consensus` (simplex with Ed25519
//!   attributable certificates, `marshal` for ordered delivery and backfill) and
//!   `commonware-p2p` (authenticated, fixed peer set). Only this module names the engine;
//!   our block, checkpoint and receipt formats never depend on it.
//! - [`http`]: the node API (submit, receipts, checkpoints, proofs, finalizations,
//!   misbehaviour) and the C2SP tlog-tiles read API, with problem+json errors.
//! - [`config`]: the node configuration file.
//! - [`run`]: running a node (as a process, or inside one until told to stop).
//! - [`mirror`]: a read-only copy of a ledger that verifies everything it copies.
//! - [`client`]: [`client::LedgerClient`], an async client of the node API that submits
//!   records and returns only receipts it has verified.
//! - [`embedded`]: [`embedded::EmbeddedLedger`], a one-authority ledger run inside the
//!   calling process (the signing platform's default).
//! - [`devnet`]: the files of a local consortium (`affix devnet`, the embedded ledger).
//!
//! Everything but [`client`] needs the `node` feature (on by default): without it the
//! crate is the node API's client alone, with no HTTP server and no consensus engine.
#![forbid(unsafe_code)]

pub mod client;
#[cfg(feature = "node")]
pub mod config;
#[cfg(feature = "node")]
pub mod devnet;
#[cfg(feature = "node")]
pub mod embedded;
#[cfg(feature = "node")]
pub mod engine;
#[cfg(feature = "node")]
pub mod http;
#[cfg(feature = "node")]
pub mod ledger;
#[cfg(feature = "node")]
pub mod mirror;
#[cfg(feature = "node")]
pub mod run;

use std::path::PathBuf;

/// Errors of a node, of the client of the node API and of the embedded ledger.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Configuration or genesis problem (refuse to start).
    #[error("configuration: {0}")]
    Config(String),
    /// File-system error.
    #[error("{op} {path}: {source}")]
    Io {
        /// Operation.
        op: &'static str,
        /// File.
        path: PathBuf,
        /// OS error.
        source: std::io::Error,
    },
    /// A secret (key) file could not be written or read: it exists already, other users
    /// may read it, it is too large, or the file system failed.
    #[error("secret file: {0}")]
    SecretFile(#[from] affix_seal::Error),
    /// A submitted record is not a valid evidence record (client: a node answered HTTP
    /// 422 `invalid-record`; in a batch the detail names the record's position).
    #[error("invalid evidence record: {0}")]
    RecordInvalid(String),
    /// A submitted record is too large (client: HTTP 413 `record-too-large`).
    #[error("record is {0} bytes, above the limit of 16384")]
    RecordTooLarge(usize),
    /// The mempool is full; retry later (client: every node answered HTTP 503).
    #[error("the node is busy (mempool full); retry later")]
    Busy,
    /// The verifier keys file ([`affix_note::VerifierKeysFile`]) is malformed, lacks the
    /// header naming the origin where one is needed, or states a quorum its keys cannot
    /// meet.
    #[error("verifier keys file: {0}")]
    VerifierKeys(#[source] affix_note::Error),
    /// Client: no node answered (connection refused, timeout, HTTP 5xx); each node's
    /// failure is listed. Nothing was refused: the request may be sent again.
    #[error("no node answered: {0}")]
    NodesUnavailable(String),
    /// Client: a node refused the request (HTTP 4xx other than the record errors above,
    /// such as 409 `wrong-origin`: the node logs to another ledger).
    #[error("{node} refused the request: HTTP {status} {kind}: {detail}")]
    Refused {
        /// The node's base URL.
        node: String,
        /// HTTP status.
        status: u16,
        /// The problem type's last segment (`wrong-origin`), empty if none.
        kind: String,
        /// The problem's detail.
        detail: String,
    },
    /// Client: a node's answer is malformed or contradicts the request (a leaf hash that
    /// is not the record's, a wrong number of answers, an oversized body).
    #[error("{node} answered something malformed: {reason}")]
    BadAnswer {
        /// The node's base URL.
        node: String,
        /// What is wrong.
        reason: String,
    },
    /// Client: a node served a receipt that does not parse or does not verify against
    /// the verifier keys.
    #[error("the receipt from {node} does not verify: {source}")]
    ReceiptUnverified {
        /// The node's base URL.
        node: String,
        /// Why.
        source: affix_note::Error,
    },
    /// Client: a node served a valid receipt, but for another record.
    #[error("{node} served a receipt for leaf {received}, not {expected}")]
    ReceiptForOtherRecord {
        /// The node's base URL.
        node: String,
        /// Leaf hash asked for (hex).
        expected: String,
        /// Leaf hash of the receipt (hex).
        received: String,
    },
    /// Client: the node has neither logged nor queued a record with this leaf hash
    /// (HTTP 404 `unknown-record`).
    #[error("{node} has no record with leaf hash {leaf_hash}")]
    UnknownRecord {
        /// The node's base URL.
        node: String,
        /// The leaf hash (hex).
        leaf_hash: String,
    },
    /// Client: a batch above what one request may carry (see
    /// [`client::MAX_BATCH_RECORDS`], [`client::MAX_BATCH_BYTES`]); nothing was sent.
    #[error("a batch of {records} records ({bytes} bytes) is above the limit of one request")]
    BatchTooLarge {
        /// Records in the batch.
        records: usize,
        /// Encoded size.
        bytes: usize,
    },
    /// Embedded ledger: the node did not answer in time after starting.
    #[error("the embedded ledger did not answer within {waited_ms} ms")]
    NotReady {
        /// How long we waited.
        waited_ms: u64,
    },
    /// The log and the chain disagree, or storage failed mid-apply: the node must stop.
    #[error("fatal: {0}")]
    Fatal(String),
    /// Ledger core error (block refused, cosignature refused, ...).
    #[error(transparent)]
    Ledger(#[from] affix_ledger::Error),
    /// Log store error.
    #[error(transparent)]
    Store(#[from] affix_logstore::Error),
    /// Note format error.
    #[error(transparent)]
    Note(#[from] affix_note::Error),
}

impl Error {
    #[cfg(feature = "node")]
    pub(crate) fn io(
        op: &'static str,
        path: &std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> Error + use<> {
        let path = path.to_owned();
        move |source| Error::Io { op, path, source }
    }
}
