//! The `idempotency` table: one row per (caller, `Idempotency-Key`), holding the hash of
//! the first request and, once it finished, its answer — or, for an answer that holds a
//! secret, only its status and SHA-256 (the table never keeps a secret). Rows live
//! [`IDEMPOTENCY_KEY_LIFETIME_MS`].

use sqlx::Row as _;

use super::{Store, i};
use crate::Error;

/// How long a key is remembered: rows older than this are pruned ([`prune`]), and the
/// key may then be used again.
pub const IDEMPOTENCY_KEY_LIFETIME_MS: u64 = 24 * 60 * 60 * 1000;

/// What a stored key says about a request that carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is new: it is now held for this request, which runs.
    Fresh,
    /// The same request finished before: its answer.
    Replay {
        /// The answer's HTTP status.
        status: u16,
        /// The answer's body.
        body: Vec<u8>,
    },
    /// The same request finished before, but its answer held a secret and was not kept.
    Withheld {
        /// The answer's HTTP status.
        status: u16,
    },
    /// The same request is still running.
    InFlight,
    /// The key was used for a different request.
    Reused,
}

/// Holds `key` for `principal`'s request of hash `request_hash`, or says why not.
///
/// # Errors
/// [`Error::Db`].
pub async fn claim(
    store: &Store,
    principal: &str,
    key: &str,
    request_hash: &[u8; 32],
    now_ms: u64,
) -> Result<Claim, Error> {
    let inserted = sqlx::query(
        "INSERT INTO idempotency (principal, key, request_hash, created_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (principal, key) DO NOTHING",
    )
    .bind(principal)
    .bind(key)
    .bind(request_hash.to_vec())
    .bind(i(now_ms))
    .execute(store.pool())
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(Claim::Fresh);
    }
    let row = sqlx::query(
        "SELECT request_hash, status, body, answer_sha256 FROM idempotency WHERE principal = $1 AND key = $2",
    )
    .bind(principal)
    .bind(key)
    .fetch_one(store.pool())
    .await?;
    let stored_hash: Vec<u8> = row.try_get("request_hash")?;
    if stored_hash != request_hash {
        return Ok(Claim::Reused);
    }
    let status: Option<i64> = row.try_get("status")?;
    let body: Option<Vec<u8>> = row.try_get("body")?;
    let withheld: Option<Vec<u8>> = row.try_get("answer_sha256")?;
    let Some(status) = status else {
        return Ok(Claim::InFlight);
    };
    let status =
        u16::try_from(status).map_err(|_| Error::Internal(format!("stored status {status}")))?;
    Ok(match (body, withheld) {
        (Some(body), _) => Claim::Replay { status, body },
        (None, Some(_)) => Claim::Withheld { status },
        (None, None) => Claim::InFlight,
    })
}

/// Stores the answer of the request holding `key`.
///
/// # Errors
/// [`Error::Db`].
pub async fn finish(
    store: &Store,
    principal: &str,
    key: &str,
    status: u16,
    body: &[u8],
) -> Result<(), Error> {
    sqlx::query("UPDATE idempotency SET status = $1, body = $2 WHERE principal = $3 AND key = $4")
        .bind(i64::from(status))
        .bind(body.to_vec())
        .bind(principal)
        .bind(key)
        .execute(store.pool())
        .await?;
    Ok(())
}

/// Records that the request holding `key` finished with an answer that holds a secret:
/// its status and SHA-256 only, never the answer.
///
/// # Errors
/// [`Error::Db`].
pub async fn finish_withheld(
    store: &Store,
    principal: &str,
    key: &str,
    status: u16,
    answer_sha256: &[u8; 32],
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE idempotency SET status = $1, body = NULL, answer_sha256 = $2 WHERE principal = $3 AND key = $4",
    )
    .bind(i64::from(status))
    .bind(answer_sha256.to_vec())
    .bind(principal)
    .bind(key)
    .execute(store.pool())
    .await?;
    Ok(())
}

/// Deletes the keys created before `before_ms`; returns how many.
///
/// # Errors
/// [`Error::Db`].
pub async fn prune(store: &Store, before_ms: u64) -> Result<u64, Error> {
    let done = sqlx::query("DELETE FROM idempotency WHERE created_ms < $1")
        .bind(i(before_ms))
        .execute(store.writer())
        .await?;
    Ok(done.rows_affected())
}

/// Releases `key` (the request failed in a way a retry may not: it runs again).
///
/// # Errors
/// [`Error::Db`].
pub async fn release(store: &Store, principal: &str, key: &str) -> Result<(), Error> {
    sqlx::query("DELETE FROM idempotency WHERE principal = $1 AND key = $2")
        .bind(principal)
        .bind(key)
        .execute(store.pool())
        .await?;
    Ok(())
}
