//! The evidence queue: the `submitted`, `leaf_hash` and `receipt` columns of the tables
//! whose rows are evidence records (contract events, loan events, the actions of loan
//! automation rules), each keyed by `(contract_id, seq)` with its `record`. The rows
//! themselves are inserted by their aggregates ([`super::contracts`], the loan store).
//!
//! `submitted` is 0 while a record is queued, then the time (Unix ms) it was handed to
//! the ledger.

use sqlx::Row as _;

use super::i;
use crate::Error;

type Any = sqlx::Any;

/// A table of evidence records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    /// `events`: contract events.
    Events,
    /// `loan_events`: loan events.
    LoanEvents,
    /// `loan_actions`: the actions of loan automation rules.
    LoanActions,
}

impl Queue {
    /// Every queue, in the order the evidence loop serves them.
    pub const ALL: [Queue; 3] = [Queue::Events, Queue::LoanEvents, Queue::LoanActions];

    fn table(self) -> &'static str {
        match self {
            Queue::Events => "events",
            Queue::LoanEvents => "loan_events",
            Queue::LoanActions => "loan_actions",
        }
    }
}

/// A queued record.
#[derive(Debug, Clone)]
pub struct QueuedRow {
    /// Contract id.
    pub contract_id: String,
    /// Sequence number.
    pub seq: i64,
    /// The evidence record.
    pub record: Vec<u8>,
}

/// A submitted record without a receipt.
#[derive(Debug, Clone)]
pub struct AwaitingRow {
    /// Contract id.
    pub contract_id: String,
    /// Sequence number.
    pub seq: i64,
    /// Its leaf hash in the ledger.
    pub leaf_hash: Vec<u8>,
    /// When it was (last) submitted.
    pub submitted: i64,
}

/// Requeues every submitted record of `queue` without a receipt; how many.
///
/// # Errors
/// [`Error::Db`].
pub async fn requeue_unreceipted<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    queue: Queue,
) -> Result<u64, Error> {
    let table = queue.table();
    let done = sqlx::query(&format!(
        "UPDATE {table} SET submitted = 0 WHERE submitted > 0 AND receipt IS NULL"
    ))
    .execute(executor)
    .await?;
    Ok(done.rows_affected())
}

/// Up to `limit` queued records of `queue`, by contract and sequence number.
///
/// # Errors
/// [`Error::Db`].
pub async fn queued<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    queue: Queue,
    limit: i64,
) -> Result<Vec<QueuedRow>, Error> {
    let table = queue.table();
    let rows = sqlx::query(&format!(
        "SELECT contract_id, seq, record FROM {table} WHERE submitted = 0 ORDER BY contract_id, seq LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(QueuedRow {
                contract_id: r.try_get("contract_id")?,
                seq: r.try_get("seq")?,
                record: r.try_get("record")?,
            })
        })
        .collect()
}

/// Marks a record submitted at `submitted_ms` (above 0) with its leaf hash.
///
/// # Errors
/// [`Error::Db`].
pub async fn mark_submitted<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    queue: Queue,
    contract: &str,
    seq: i64,
    submitted_ms: u64,
    leaf_hash: &[u8],
) -> Result<(), Error> {
    let table = queue.table();
    sqlx::query(&format!(
        "UPDATE {table} SET submitted = $1, leaf_hash = $2 WHERE contract_id = $3 AND seq = $4"
    ))
    .bind(i(submitted_ms))
    .bind(leaf_hash.to_vec())
    .bind(contract)
    .bind(seq)
    .execute(executor)
    .await?;
    Ok(())
}

/// Up to `limit` submitted records of `queue` without a receipt, by contract and
/// sequence number.
///
/// # Errors
/// [`Error::Db`].
pub async fn awaiting_receipt<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    queue: Queue,
    limit: i64,
) -> Result<Vec<AwaitingRow>, Error> {
    let table = queue.table();
    let rows = sqlx::query(&format!(
        "SELECT contract_id, seq, leaf_hash, submitted FROM {table} WHERE submitted > 0 AND receipt IS NULL ORDER BY contract_id, seq LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AwaitingRow {
                contract_id: r.try_get("contract_id")?,
                seq: r.try_get("seq")?,
                leaf_hash: r.try_get("leaf_hash")?,
                submitted: r.try_get("submitted")?,
            })
        })
        .collect()
}

/// Requeues a record submitted at `submitted` that still has no receipt.
///
/// # Errors
/// [`Error::Db`].
pub async fn requeue<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    queue: Queue,
    contract: &str,
    seq: i64,
    submitted: i64,
) -> Result<(), Error> {
    let table = queue.table();
    sqlx::query(&format!(
        "UPDATE {table} SET submitted = 0 WHERE contract_id = $1 AND seq = $2 AND submitted = $3 AND receipt IS NULL"
    ))
    .bind(contract)
    .bind(seq)
    .bind(submitted)
    .execute(executor)
    .await?;
    Ok(())
}

/// Stores a record's receipt (C2SP tlog-proof text).
///
/// # Errors
/// [`Error::Db`].
pub async fn set_receipt<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    queue: Queue,
    contract: &str,
    seq: i64,
    receipt: &str,
) -> Result<(), Error> {
    let table = queue.table();
    sqlx::query(&format!(
        "UPDATE {table} SET receipt = $1 WHERE contract_id = $2 AND seq = $3"
    ))
    .bind(receipt)
    .bind(contract)
    .bind(seq)
    .execute(executor)
    .await?;
    Ok(())
}
