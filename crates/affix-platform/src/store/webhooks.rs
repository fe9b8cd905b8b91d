//! The webhook tables: `webhooks` (a tenant's endpoints and their signing secrets),
//! `webhook_deliveries` (the durable outbox: one row per event and endpoint, with its
//! retry state) and `webhook_attempts` (the delivery log).

use sqlx::Row as _;

use super::{i, u};
use crate::Error;

type Any = sqlx::Any;

/// One delivery as its endpoint's owner reads it.
#[derive(Debug, Clone)]
pub struct DeliveryRow {
    /// The `webhook-id` header value.
    pub id: String,
    /// Event type.
    pub event_type: String,
    /// State name.
    pub state: String,
    /// When the next attempt is due.
    pub next_ms: Option<u64>,
}

/// One attempt of a delivery.
#[derive(Debug, Clone)]
pub struct AttemptRow {
    /// Attempt number (from 1).
    pub attempt: u64,
    /// When it was made.
    pub at_ms: u64,
    /// The outcome (JSON).
    pub outcome: String,
    /// SHA-256 of the delivery record.
    pub record_digest: Vec<u8>,
}

/// A delivery that is due, with its endpoint.
#[derive(Debug, Clone)]
pub struct DueRow {
    /// The `webhook-id` header value.
    pub id: String,
    /// Event type.
    pub event_type: String,
    /// The JSON body.
    pub body: String,
    /// When the event was queued.
    pub created_ms: u64,
    /// Attempts so far.
    pub attempts: u64,
    /// The endpoint's URL.
    pub url: String,
    /// The endpoint's `whsec_` secret.
    pub secret: String,
}

/// How many active endpoints `tenant` has.
///
/// # Errors
/// [`Error::Db`].
pub async fn count_active<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    tenant: &str,
) -> Result<i64, Error> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM webhooks WHERE tenant_id = $1 AND disabled_ms IS NULL",
    )
    .bind(tenant)
    .fetch_one(executor)
    .await?)
}

/// Inserts an endpoint.
///
/// # Errors
/// [`Error::Db`].
pub async fn insert<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
    tenant: &str,
    url: &str,
    secret: &str,
    created_ms: u64,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO webhooks (id, tenant_id, url, secret, created_ms) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(tenant)
    .bind(url)
    .bind(secret)
    .bind(i(created_ms))
    .execute(executor)
    .await?;
    Ok(())
}

/// Whether the endpoint `id` belongs to `tenant`.
///
/// # Errors
/// [`Error::Db`].
pub async fn owned_by<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
    tenant: &str,
) -> Result<bool, Error> {
    let owned: Option<String> =
        sqlx::query_scalar("SELECT id FROM webhooks WHERE id = $1 AND tenant_id = $2")
            .bind(id)
            .bind(tenant)
            .fetch_optional(executor)
            .await?;
    Ok(owned.is_some())
}

/// The newest 500 deliveries to the endpoint `webhook`, newest first.
///
/// # Errors
/// [`Error::Db`].
pub async fn deliveries<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    webhook: &str,
) -> Result<Vec<DeliveryRow>, Error> {
    let rows = sqlx::query(
        "SELECT id, event_type, state, next_ms FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY created_ms DESC LIMIT 500",
    )
    .bind(webhook)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|r| {
            let next: Option<i64> = r.try_get("next_ms")?;
            Ok(DeliveryRow {
                id: r.try_get("id")?,
                event_type: r.try_get("event_type")?,
                state: r.try_get("state")?,
                next_ms: next.map(u),
            })
        })
        .collect()
}

/// The attempts of the delivery `delivery`, in order.
///
/// # Errors
/// [`Error::Db`].
pub async fn attempts<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    delivery: &str,
) -> Result<Vec<AttemptRow>, Error> {
    let rows = sqlx::query(
        "SELECT attempt, at_ms, outcome, record_digest FROM webhook_attempts WHERE delivery_id = $1 ORDER BY attempt",
    )
    .bind(delivery)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|a| {
            Ok(AttemptRow {
                attempt: u(a.try_get("attempt")?),
                at_ms: u(a.try_get("at_ms")?),
                outcome: a.try_get("outcome")?,
                record_digest: a.try_get("record_digest")?,
            })
        })
        .collect()
}

/// The ids of `tenant`'s active endpoints.
///
/// # Errors
/// [`Error::Db`].
pub async fn active_ids<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    tenant: &str,
) -> Result<Vec<String>, Error> {
    Ok(
        sqlx::query_scalar("SELECT id FROM webhooks WHERE tenant_id = $1 AND disabled_ms IS NULL")
            .bind(tenant)
            .fetch_all(executor)
            .await?,
    )
}

/// Queues a delivery `id` of `event_type` with `body` to the endpoint `webhook`, due
/// at `now_ms`.
///
/// # Errors
/// [`Error::Db`].
pub async fn insert_delivery<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
    tenant: &str,
    webhook: &str,
    event_type: &str,
    body: &str,
    now_ms: u64,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO webhook_deliveries (id, tenant_id, webhook_id, event_type, body, created_ms, attempts, next_ms, state) \
         VALUES ($1, $2, $3, $4, $5, $6, 0, $6, 'pending')",
    )
    .bind(id)
    .bind(tenant)
    .bind(webhook)
    .bind(event_type)
    .bind(body)
    .bind(i(now_ms))
    .execute(executor)
    .await?;
    Ok(())
}

/// Up to `limit` deliveries due at `now_ms`, earliest first, with their endpoints.
///
/// # Errors
/// [`Error::Db`].
pub async fn due<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    now_ms: u64,
    limit: i64,
) -> Result<Vec<DueRow>, Error> {
    let rows = sqlx::query(
        "SELECT d.id, d.event_type, d.body, d.created_ms, d.attempts, w.url, w.secret FROM webhook_deliveries d \
         JOIN webhooks w ON w.id = d.webhook_id WHERE d.next_ms IS NOT NULL AND d.next_ms <= $1 ORDER BY d.next_ms LIMIT $2",
    )
    .bind(i(now_ms))
    .bind(limit)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(DueRow {
                id: r.try_get("id")?,
                event_type: r.try_get("event_type")?,
                body: r.try_get("body")?,
                created_ms: u(r.try_get("created_ms")?),
                attempts: u(r.try_get("attempts")?),
                url: r.try_get("url")?,
                secret: r.try_get("secret")?,
            })
        })
        .collect()
}

/// Records attempt number `attempt` of the delivery `delivery`.
///
/// # Errors
/// [`Error::Db`].
pub async fn insert_attempt<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    delivery: &str,
    attempt: u64,
    at_ms: u64,
    outcome: String,
    record_digest: &[u8],
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO webhook_attempts (delivery_id, attempt, at_ms, outcome, record_digest) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(delivery)
    .bind(i(attempt))
    .bind(i(at_ms))
    .bind(outcome)
    .bind(record_digest.to_vec())
    .execute(executor)
    .await?;
    Ok(())
}

/// Stores a delivery's retry state after an attempt.
///
/// # Errors
/// [`Error::Db`].
pub async fn update_delivery<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
    attempts: u64,
    next_ms: Option<u64>,
    state: &str,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE webhook_deliveries SET attempts = $1, next_ms = $2, state = $3 WHERE id = $4",
    )
    .bind(i(attempts))
    .bind(next_ms.map(i))
    .bind(state)
    .bind(id)
    .execute(executor)
    .await?;
    Ok(())
}
