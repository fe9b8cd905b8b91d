//! The `idempotency` table: one row per (caller, `Idempotency-Key`), holding the hash of
//! the first request and, once it finished, its answer.

use sqlx::Row as _;

use super::{Store, i};
use crate::Error;

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
        "SELECT request_hash, status, body FROM idempotency WHERE principal = $1 AND key = $2",
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
    Ok(match (status, body) {
        (Some(status), Some(body)) => Claim::Replay {
            status: u16::try_from(status)
                .map_err(|_| Error::Internal(format!("stored status {status}")))?,
            body,
        },
        _ => Claim::InFlight,
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
