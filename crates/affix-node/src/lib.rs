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
#![forbid(unsafe_code)]

pub mod config;
pub mod engine;
pub mod http;
pub mod ledger;
pub mod mirror;
pub mod run;

use std::path::{Path, PathBuf};

/// Errors of a node.
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
    /// A submitted record is not a valid evidence record.
    #[error("invalid evidence record: {0}")]
    RecordInvalid(String),
    /// A submitted record is too large.
    #[error("record is {0} bytes, above the limit of 16384")]
    RecordTooLarge(usize),
    /// The mempool is full; retry later.
    #[error("the node is busy (mempool full); retry later")]
    Busy,
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
    pub(crate) fn io(
        op: &'static str,
        path: &Path,
    ) -> impl FnOnce(std::io::Error) -> Error + use<> {
        let path = path.to_owned();
        move |source| Error::Io { op, path, source }
    }
}
