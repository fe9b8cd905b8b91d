//! Where the time of a signature goes: cumulative wall time and counts per stage, for
//! the flow benchmark's breakdown (`affix-bench platform`). Lock-free counters.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// A stage of the signing path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Vault authorization check, unsealing and signing, and the CMS assembly around it.
    VaultCms,
    /// The RFC 3161 time-stamp token.
    Tsa,
    /// Database transactions of contract steps (event, state, outbox).
    Database,
    /// Submitting evidence records to the ledger (per batch).
    LedgerSubmit,
    /// Collecting receipts from the ledger (per round).
    LedgerReceipts,
}

/// Every stage, in report order.
pub const STAGES: [Stage; 5] = [
    Stage::VaultCms,
    Stage::Tsa,
    Stage::Database,
    Stage::LedgerSubmit,
    Stage::LedgerReceipts,
];

impl Stage {
    /// Report name.
    pub fn name(self) -> &'static str {
        match self {
            Stage::VaultCms => "vault + CMS",
            Stage::Tsa => "TSA",
            Stage::Database => "database",
            Stage::LedgerSubmit => "ledger submit",
            Stage::LedgerReceipts => "ledger receipts",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Cumulative counters.
#[derive(Debug, Default)]
pub struct Stages {
    nanos: [AtomicU64; 5],
    count: [AtomicU64; 5],
}

impl Stages {
    /// Adds the time since `start` to `stage`.
    pub fn record(&self, stage: Stage, start: Instant) {
        let ns = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.nanos[stage.index()].fetch_add(ns, Ordering::Relaxed);
        self.count[stage.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// (total nanoseconds, count) of `stage`.
    pub fn total(&self, stage: Stage) -> (u64, u64) {
        (
            self.nanos[stage.index()].load(Ordering::Relaxed),
            self.count[stage.index()].load(Ordering::Relaxed),
        )
    }
}
