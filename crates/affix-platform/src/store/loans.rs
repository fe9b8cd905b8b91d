//! The loan aggregate's tables (migrations 0004 to 0008): `loans` (one row per effective
//! loan note, with its chain head and next rule day), `loan_events` (the chain, with the
//! transfer proofs of reported repayments), `loan_actions` (rule actions and notices with
//! their delivery results), and the signed documents a loan step rests on
//! ([`documents`]: `loan_extensions`, `loan_acknowledgements`), plus the note's signed
//! rules (`contracts.loan_rules`).
//!
//! Plain functions over an executor: a pool for a single statement, a connection of the
//! caller's transaction (`&mut *tx`) where statements must commit together. Columns come
//! back as stored; `service::loans` decides what they mean.

use affix_contract::ContractId;
use sqlx::{Any, Executor, Row as _};

use super::{i, u};
use crate::Error;

pub(crate) mod documents;

/// The signed rules of a loan note (`None`: the standard rules), read in the transaction
/// that opens its loan.
///
/// # Errors
/// [`Error::Db`].
pub(crate) async fn signed_rules<'e>(
    db: impl Executor<'e, Database = Any>,
    contract: ContractId,
) -> Result<Option<String>, Error> {
    Ok(
        sqlx::query_scalar("SELECT loan_rules FROM contracts WHERE id = $1")
            .bind(contract.to_string())
            .fetch_one(db)
            .await?,
    )
}

/// A `loans` row as a loan note's signature opens it (no event, no action yet).
#[derive(Debug, Clone)]
pub(crate) struct NewLoan<'a> {
    /// The loan note's contract id.
    pub(crate) contract: ContractId,
    /// Its tenant.
    pub(crate) tenant: &'a str,
    /// The lender's party id.
    pub(crate) lender_party: String,
    /// The borrower's party id.
    pub(crate) borrower_party: String,
    /// The rule set (JSON).
    pub(crate) rules: String,
    /// The chain head: the loan terms' digest.
    pub(crate) head: Vec<u8>,
    /// The first rule day, if any.
    pub(crate) next_due: Option<String>,
    /// The day it opens (evaluated through).
    pub(crate) start: String,
    /// Now, ms since the epoch.
    pub(crate) created_ms: u64,
}

/// Inserts a new loan.
///
/// # Errors
/// [`Error::Db`].
pub(crate) async fn insert<'e>(
    db: impl Executor<'e, Database = Any>,
    loan: &NewLoan<'_>,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO loans (contract_id, tenant_id, lender_party, borrower_party, rules, event_count, action_count, head, next_due, evaluated_through, created_ms) \
         VALUES ($1, $2, $3, $4, $5, 0, 0, $6, $7, $8, $9)",
    )
    .bind(loan.contract.to_string())
    .bind(loan.tenant)
    .bind(&loan.lender_party)
    .bind(&loan.borrower_party)
    .bind(&loan.rules)
    .bind(loan.head.clone())
    .bind(&loan.next_due)
    .bind(&loan.start)
    .bind(i(loan.created_ms))
    .execute(db)
    .await?;
    Ok(())
}

/// A loan's row with its note's signed content.
#[derive(Debug, Clone)]
pub(crate) struct LoanRecord {
    /// The lender's party id.
    pub(crate) lender_party: String,
    /// The borrower's party id.
    pub(crate) borrower_party: String,
    /// The rule set (JSON).
    pub(crate) rules: String,
    /// Loan events so far.
    pub(crate) event_count: u64,
    /// Rule actions so far.
    pub(crate) action_count: u64,
    /// The chain head.
    pub(crate) head: Vec<u8>,
    /// The loan note's encoded content.
    pub(crate) content: Vec<u8>,
}

/// The loan `id` of `tenant`, if there is one.
///
/// # Errors
/// [`Error::Db`].
pub(crate) async fn find<'e>(
    db: impl Executor<'e, Database = Any>,
    tenant: &str,
    id: ContractId,
) -> Result<Option<LoanRecord>, Error> {
    let Some(row) = sqlx::query(
        "SELECT l.lender_party, l.borrower_party, l.rules, l.event_count, l.action_count, l.head, c.content \
         FROM loans l JOIN contracts c ON c.id = l.contract_id WHERE l.contract_id = $1 AND l.tenant_id = $2",
    )
    .bind(id.to_string())
    .bind(tenant)
    .fetch_optional(db)
    .await?
    else {
        return Ok(None);
    };
    Ok(Some(LoanRecord {
        lender_party: row.try_get("lender_party")?,
        borrower_party: row.try_get("borrower_party")?,
        rules: row.try_get("rules")?,
        event_count: u(row.try_get("event_count")?),
        action_count: u(row.try_get("action_count")?),
        head: row.try_get("head")?,
        content: row.try_get("content")?,
    }))
}

/// The next rule day of the loan `id` (which exists).
///
/// # Errors
/// [`Error::Db`].
pub(crate) async fn next_due<'e>(
    db: impl Executor<'e, Database = Any>,
    id: ContractId,
) -> Result<Option<String>, Error> {
    Ok(
        sqlx::query_scalar("SELECT next_due FROM loans WHERE contract_id = $1")
            .bind(id.to_string())
            .fetch_one(db)
            .await?,
    )
}

/// Whether `tenant` has the loan `id`.
///
/// # Errors
/// [`Error::Db`].
pub(crate) async fn exists<'e>(
    db: impl Executor<'e, Database = Any>,
    tenant: &str,
    id: ContractId,
) -> Result<bool, Error> {
    let known: Option<String> = sqlx::query_scalar(
        "SELECT contract_id FROM loans WHERE contract_id = $1 AND tenant_id = $2",
    )
    .bind(id.to_string())
    .bind(tenant)
    .fetch_optional(db)
    .await?;
    Ok(known.is_some())
}

/// The rule set (JSON) of `tenant`'s loan `id`, if there is one.
///
/// # Errors
/// [`Error::Db`].
pub(crate) async fn rules<'e>(
    db: impl Executor<'e, Database = Any>,
    tenant: &str,
    id: ContractId,
) -> Result<Option<String>, Error> {
    Ok(sqlx::query_scalar(
        "SELECT l.rules FROM loans l WHERE l.contract_id = $1 AND l.tenant_id = $2",
    )
    .bind(id.to_string())
    .bind(tenant)
    .fetch_optional(db)
    .await?)
}

/// Moves a loan on after a step: new counts, head and next rule day, only if its counts
/// are still `event_count` and `action_count` (optimistic concurrency). Returns whether
/// it moved.
///
/// # Errors
/// [`Error::Db`].
#[allow(clippy::too_many_arguments)] // one row's columns
pub(crate) async fn advance<'e>(
    db: impl Executor<'e, Database = Any>,
    id: ContractId,
    event_count: u64,
    action_count: u64,
    new_event_count: u64,
    new_action_count: u64,
    head: Vec<u8>,
    next_due: &Option<String>,
) -> Result<bool, Error> {
    let updated = sqlx::query(
        "UPDATE loans SET event_count = $1, action_count = $2, head = $3, next_due = $4 WHERE contract_id = $5 AND event_count = $6 AND action_count = $7",
    )
    .bind(i(new_event_count))
    .bind(i(new_action_count))
    .bind(head)
    .bind(next_due)
    .bind(id.to_string())
    .bind(i(event_count))
    .bind(i(action_count))
    .execute(db)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// The texts of a loan's events, in chain order.
///
/// # Errors
/// [`Error::Db`].
pub(crate) async fn event_texts<'e>(
    db: impl Executor<'e, Database = Any>,
    id: ContractId,
) -> Result<Vec<String>, Error> {
    Ok(
        sqlx::query_scalar("SELECT text FROM loan_events WHERE contract_id = $1 ORDER BY seq")
            .bind(id.to_string())
            .fetch_all(db)
            .await?,
    )
}

/// A stored loan event.
#[derive(Debug, Clone)]
pub(crate) struct EventRecord {
    /// Position in the chain.
    pub(crate) seq: u64,
    /// The event's text.
    pub(crate) text: String,
    /// Its encoded evidence record.
    pub(crate) record: Vec<u8>,
    /// Its ledger receipt, once issued.
    pub(crate) receipt: Option<String>,
}

/// A loan's events, in chain order.
///
/// # Errors
/// [`Error::Db`].
pub(crate) async fn events<'e>(
    db: impl Executor<'e, Database = Any>,
    id: ContractId,
) -> Result<Vec<EventRecord>, Error> {
    let rows = sqlx::query(
        "SELECT seq, text, record, receipt FROM loan_events WHERE contract_id = $1 ORDER BY seq",
    )
    .bind(id.to_string())
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(EventRecord {
                seq: u(r.try_get("seq")?),
                text: r.try_get("text")?,
                record: r.try_get("record")?,
                receipt: r.try_get("receipt")?,
            })
        })
        .collect()
}

/// The transfer proofs of a loan's events, in chain order (`None` for events without).
///
/// # Errors
/// [`Error::Db`].
pub(crate) async fn transfer_proofs<'e>(
    db: impl Executor<'e, Database = Any>,
    id: ContractId,
) -> Result<Vec<Option<Vec<u8>>>, Error> {
    Ok(
        sqlx::query_scalar("SELECT proof FROM loan_events WHERE contract_id = $1 ORDER BY seq")
            .bind(id.to_string())
            .fetch_all(db)
            .await?,
    )
}

/// Appends event `seq` to a loan's chain, queued for the ledger.
///
/// # Errors
/// [`Error::Db`].
pub(crate) async fn insert_event<'e>(
    db: impl Executor<'e, Database = Any>,
    id: ContractId,
    seq: u64,
    text: String,
    transfer_proof: Option<Vec<u8>>,
    record: Vec<u8>,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO loan_events (contract_id, seq, text, proof, record, submitted) VALUES ($1, $2, $3, $4, $5, 0)",
    )
    .bind(id.to_string())
    .bind(i(seq))
    .bind(text)
    .bind(transfer_proof)
    .bind(record)
    .execute(db)
    .await?;
    Ok(())
}

/// A rule action to insert, pending.
#[derive(Debug, Clone)]
pub(crate) struct NewAction<'a> {
    /// Idempotency key.
    pub(crate) key: &'a str,
    /// The loan.
    pub(crate) contract: ContractId,
    /// Its position among the loan's actions.
    pub(crate) seq: u64,
    /// The day it is due.
    pub(crate) day: String,
    /// Rule id.
    pub(crate) rule: &'a str,
    /// What it does (`notify borrower reminder_before_due`, …).
    pub(crate) action: String,
    /// Its encoded evidence record.
    pub(crate) record: Vec<u8>,
    /// Now, ms since the epoch.
    pub(crate) created_ms: u64,
}

/// Inserts a pending action, unless one with its key exists; returns whether it was
/// inserted.
///
/// # Errors
/// [`Error::Db`].
pub(crate) async fn insert_action<'e>(
    db: impl Executor<'e, Database = Any>,
    action: NewAction<'_>,
) -> Result<u64, Error> {
    let done = sqlx::query(
        "INSERT INTO loan_actions (key, contract_id, seq, day, rule, action, state, record, submitted, created_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, 0, $8) ON CONFLICT (key) DO NOTHING",
    )
    .bind(action.key)
    .bind(action.contract.to_string())
    .bind(i(action.seq))
    .bind(action.day)
    .bind(action.rule)
    .bind(action.action)
    .bind(action.record)
    .bind(i(action.created_ms))
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// A stored rule action with its delivery results.
#[derive(Debug, Clone)]
pub(crate) struct ActionRecord {
    /// Idempotency key.
    pub(crate) key: String,
    /// Day it was due.
    pub(crate) day: String,
    /// Rule id.
    pub(crate) rule: String,
    /// What it does.
    pub(crate) action: String,
    /// `pending`, `done` or `failed`.
    pub(crate) state: String,
    /// Delivery results (JSON array text), once attempted.
    pub(crate) deliveries: Option<String>,
    /// Its encoded evidence record.
    pub(crate) record: Vec<u8>,
    /// Its ledger receipt, once issued.
    pub(crate) receipt: Option<String>,
}

/// A loan's rule actions, in the order they were taken.
///
/// # Errors
/// [`Error::Db`].
pub(crate) async fn actions<'e>(
    db: impl Executor<'e, Database = Any>,
    id: ContractId,
) -> Result<Vec<ActionRecord>, Error> {
    let rows = sqlx::query(
        "SELECT key, day, rule, action, state, deliveries, record, receipt FROM loan_actions WHERE contract_id = $1 ORDER BY seq",
    )
    .bind(id.to_string())
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ActionRecord {
                key: r.try_get("key")?,
                day: r.try_get("day")?,
                rule: r.try_get("rule")?,
                action: r.try_get("action")?,
                state: r.try_get("state")?,
                deliveries: r.try_get("deliveries")?,
                record: r.try_get("record")?,
                receipt: r.try_get("receipt")?,
            })
        })
        .collect()
}

/// A loan whose rule day has come, with what evaluating it needs.
#[derive(Debug, Clone)]
pub(crate) struct DueLoan {
    /// The loan's contract id (as stored).
    pub(crate) contract_id: String,
    /// The rule set (JSON).
    pub(crate) rules: String,
    /// Loan events so far.
    pub(crate) event_count: u64,
    /// Rule actions so far.
    pub(crate) action_count: u64,
    /// The chain head.
    pub(crate) head: Vec<u8>,
    /// The next rule day.
    pub(crate) next_due: Option<String>,
    /// The loan note's encoded content.
    pub(crate) content: Vec<u8>,
}

/// Up to `limit` loans whose next rule day is `day` or earlier, earliest first.
///
/// # Errors
/// [`Error::Db`].
pub(crate) async fn due<'e>(
    db: impl Executor<'e, Database = Any>,
    day: &str,
    limit: i64,
) -> Result<Vec<DueLoan>, Error> {
    // One query for the batch: what evaluating needs, nothing for notices.
    let rows = sqlx::query(
        "SELECT l.contract_id, l.rules, l.event_count, l.action_count, l.head, l.next_due, c.content \
         FROM loans l JOIN contracts c ON c.id = l.contract_id \
         WHERE l.next_due IS NOT NULL AND l.next_due <= $1 ORDER BY l.next_due LIMIT $2",
    )
    .bind(day)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(DueLoan {
                contract_id: r.try_get("contract_id")?,
                rules: r.try_get("rules")?,
                event_count: u(r.try_get("event_count")?),
                action_count: u(r.try_get("action_count")?),
                head: r.try_get("head")?,
                next_due: r.try_get("next_due")?,
                content: r.try_get("content")?,
            })
        })
        .collect()
}

/// Moves an evaluated loan on to its next rule day, with its new action count, only if
/// its counts are still `event_count` and `action_count`. Returns whether it moved.
///
/// # Errors
/// [`Error::Db`].
pub(crate) async fn move_on<'e>(
    db: impl Executor<'e, Database = Any>,
    id: ContractId,
    event_count: u64,
    action_count: u64,
    new_action_count: u64,
    next_due: &Option<String>,
    evaluated_through: &str,
) -> Result<bool, Error> {
    let moved = sqlx::query(
        "UPDATE loans SET action_count = $1, next_due = $2, evaluated_through = $3 WHERE contract_id = $4 AND event_count = $5 AND action_count = $6",
    )
    .bind(i(new_action_count))
    .bind(next_due)
    .bind(evaluated_through)
    .bind(id.to_string())
    .bind(i(event_count))
    .bind(i(action_count))
    .execute(db)
    .await?;
    Ok(moved.rows_affected() == 1)
}

/// Sets a loan's action count.
///
/// # Errors
/// [`Error::Db`].
pub(crate) async fn set_action_count<'e>(
    db: impl Executor<'e, Database = Any>,
    id: ContractId,
    action_count: u64,
) -> Result<(), Error> {
    sqlx::query("UPDATE loans SET action_count = $1 WHERE contract_id = $2")
        .bind(i(action_count))
        .bind(id.to_string())
        .execute(db)
        .await?;
    Ok(())
}

/// A pending action whose next attempt is due, with its loan's tenant.
#[derive(Debug, Clone)]
pub(crate) struct PendingAction {
    /// Idempotency key.
    pub(crate) key: String,
    /// The loan's contract id (as stored).
    pub(crate) contract_id: String,
    /// Day it was due.
    pub(crate) day: String,
    /// What it does.
    pub(crate) action: String,
    /// Attempts so far.
    pub(crate) attempts: i64,
    /// Delivery results of earlier attempts (JSON array text).
    pub(crate) deliveries: Option<String>,
    /// The loan's tenant.
    pub(crate) tenant_id: String,
}

/// Up to `limit` pending actions due at `now_ms`, oldest first.
///
/// # Errors
/// [`Error::Db`].
pub(crate) async fn pending_actions<'e>(
    db: impl Executor<'e, Database = Any>,
    limit: i64,
    now_ms: u64,
) -> Result<Vec<PendingAction>, Error> {
    let rows = sqlx::query(
        "SELECT a.key, a.contract_id, a.day, a.action, a.attempts, a.deliveries, l.tenant_id FROM loan_actions a JOIN loans l ON l.contract_id = a.contract_id \
         WHERE a.state = 'pending' AND a.next_attempt_ms <= $2 ORDER BY a.created_ms, a.seq LIMIT $1",
    )
    .bind(limit)
    .bind(i(now_ms))
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PendingAction {
                key: r.try_get("key")?,
                contract_id: r.try_get("contract_id")?,
                day: r.try_get("day")?,
                action: r.try_get("action")?,
                attempts: r.try_get("attempts")?,
                deliveries: r.try_get("deliveries")?,
                tenant_id: r.try_get("tenant_id")?,
            })
        })
        .collect()
}

/// Stores an attempt at action `key`: its new state, every delivery result so far, the
/// attempt count and when to try again (0: never).
///
/// # Errors
/// [`Error::Db`].
pub(crate) async fn record_attempt<'e>(
    db: impl Executor<'e, Database = Any>,
    key: &str,
    state: &str,
    deliveries: String,
    attempts: i64,
    next_attempt_ms: u64,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE loan_actions SET state = $1, deliveries = $2, attempts = $3, next_attempt_ms = $4 WHERE key = $5",
    )
    .bind(state)
    .bind(deliveries)
    .bind(attempts)
    .bind(i(next_attempt_ms))
    .bind(key)
    .execute(db)
    .await?;
    Ok(())
}
