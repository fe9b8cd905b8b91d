//! Webhooks: a tenant registers endpoints; every contract event is queued for each of
//! them in the same transaction as the event (a durable outbox), then delivered as a
//! Standard Webhooks POST (HMAC-SHA256 over `id.timestamp.body`, `whsec_` secret per
//! endpoint) by `affix-notify`'s sender, retried on the Standard Webhooks schedule
//! (immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h). Every attempt is
//! kept in `webhook_attempts` with its outcome and the digest of its delivery record:
//! the delivery log a tenant reads at `GET /v1/webhooks/{id}/deliveries`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use affix_notify::{
    DeliveryState, EventType, Notification, NotificationId, Outcome, Recipient, RetrySchedule,
    WebhookEndpoint, WebhookSecret, WebhookSender, WebhookSenderConfig,
};
use sqlx::Row as _;

use crate::ProblemType;
use crate::service::{Platform, Principal, Role, invalid};
use crate::store::{i, u};
use crate::{Error, random_bytes};

/// Deliveries attempted per round.
const ROUND: i64 = 200;
/// Endpoints per tenant.
pub const WEBHOOKS_PER_TENANT_MAX: i64 = 16;

/// A registered endpoint, with its secret (shown once, at registration).
#[derive(Debug, Clone)]
pub struct WebhookView {
    /// Id.
    pub id: String,
    /// URL.
    pub url: String,
    /// The `whsec_…` signing secret (only in the registration answer).
    pub secret: Option<String>,
    /// Creation time.
    pub created_ms: u64,
}

/// One delivery and its attempts.
#[derive(Debug, Clone)]
pub struct DeliveryView {
    /// The `webhook-id` header value.
    pub id: String,
    /// Event type (`contract.signed`, …).
    pub event_type: String,
    /// `pending`, `delivered`, `rejected` or `gave_up`.
    pub state: String,
    /// Attempts so far.
    pub attempts: Vec<serde_json::Value>,
    /// When the next attempt is due.
    pub next_ms: Option<u64>,
}

fn state_name(state: &DeliveryState) -> &'static str {
    match state {
        DeliveryState::Pending { .. } => "pending",
        DeliveryState::Delivered { .. } | DeliveryState::Outboxed { .. } => "delivered",
        DeliveryState::Rejected { .. } => "rejected",
        DeliveryState::GaveUp { .. } => "gave_up",
        _ => "unknown",
    }
}

impl Platform {
    /// Registers a webhook endpoint for the caller's tenant (admins).
    ///
    /// # Errors
    /// [`Error::Forbidden`]; [`Error::Invalid`] for a bad URL, plain `http` unless
    /// allowed by configuration, or too many endpoints.
    pub async fn create_webhook(&self, who: &Principal, url: &str) -> Result<WebhookView, Error> {
        let tenant = match who {
            Principal::Member {
                tenant,
                role: Role::Admin,
                ..
            } => tenant.clone(),
            _ => {
                return Err(Error::Forbidden(
                    "only tenant admins register webhooks".into(),
                ));
            }
        };
        let endpoint = WebhookEndpoint::parse(url)
            .map_err(|e| invalid(ProblemType::InvalidWebhookUrl, e.to_string()))?;
        if endpoint.is_plain_http() && !self.allow_plain_http_webhooks {
            return Err(invalid(
                ProblemType::InvalidWebhookUrl,
                "webhook URLs must be https (plain http is allowed only by configuration, for local use)",
            ));
        }
        let existing: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM webhooks WHERE tenant_id = $1 AND disabled_ms IS NULL",
        )
        .bind(&tenant)
        .fetch_one(self.store.pool())
        .await?;
        if existing >= WEBHOOKS_PER_TENANT_MAX {
            return Err(invalid(
                ProblemType::TooManyWebhooks,
                format!("at most {WEBHOOKS_PER_TENANT_MAX} webhooks per tenant"),
            ));
        }
        let secret = WebhookSecret::generate().map_err(|e| Error::Internal(e.to_string()))?;
        let id = format!("wh{}", hex::encode(random_bytes::<12>()?));
        let now = self.now_ms();
        sqlx::query(
            "INSERT INTO webhooks (id, tenant_id, url, secret, created_ms) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&id)
        .bind(&tenant)
        .bind(endpoint.as_str())
        .bind(secret.expose_whsec().as_str())
        .bind(i(now))
        .execute(self.store.pool())
        .await?;
        self.audit(Some(&tenant), who, "webhook.create", &id)
            .await?;
        Ok(WebhookView {
            id,
            url: endpoint.as_str().to_owned(),
            secret: Some(secret.expose_whsec().to_string()),
            created_ms: now,
        })
    }

    /// The deliveries of one of the caller's webhooks, newest first (admins, members).
    ///
    /// # Errors
    /// [`Error::Forbidden`], [`Error::NotFound`].
    pub async fn webhook_deliveries(
        &self,
        who: &Principal,
        id: &str,
    ) -> Result<Vec<DeliveryView>, Error> {
        let tenant = match who {
            Principal::Member {
                tenant,
                role: Role::Admin | Role::Member,
                ..
            } => tenant.clone(),
            _ => {
                return Err(Error::Forbidden(
                    "admins and members read deliveries".into(),
                ));
            }
        };
        let owned: Option<String> =
            sqlx::query_scalar("SELECT id FROM webhooks WHERE id = $1 AND tenant_id = $2")
                .bind(id)
                .bind(&tenant)
                .fetch_optional(self.store.pool())
                .await?;
        if owned.is_none() {
            return Err(Error::NotFound(format!("webhook {id}")));
        }
        let rows = sqlx::query(
            "SELECT id, event_type, state, next_ms FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY created_ms DESC LIMIT 500",
        )
        .bind(id)
        .fetch_all(self.store.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let did: String = r.try_get("id")?;
            let attempts = sqlx::query(
                "SELECT attempt, at_ms, outcome, record_digest FROM webhook_attempts WHERE delivery_id = $1 ORDER BY attempt",
            )
            .bind(&did)
            .fetch_all(self.store.pool())
            .await?
            .iter()
            .map(|a| {
                let outcome: String = a.try_get("outcome")?;
                let digest: Vec<u8> = a.try_get("record_digest")?;
                Ok(serde_json::json!({
                    "attempt": u(a.try_get("attempt")?),
                    "at_ms": u(a.try_get("at_ms")?),
                    "outcome": serde_json::from_str::<serde_json::Value>(&outcome).unwrap_or_default(),
                    "record_digest": hex::encode(digest),
                }))
            })
            .collect::<Result<Vec<_>, Error>>()?;
            let next: Option<i64> = r.try_get("next_ms")?;
            out.push(DeliveryView {
                id: did,
                event_type: r.try_get("event_type")?,
                state: r.try_get("state")?,
                attempts,
                next_ms: next.map(u),
            });
        }
        Ok(out)
    }

    /// Queues `event_type` with `body` for every active webhook of `tenant`, in `tx`.
    pub(crate) async fn queue_webhooks(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        tenant: &str,
        event_type: &str,
        body: &str,
        now: u64,
    ) -> Result<(), Error> {
        let hooks: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM webhooks WHERE tenant_id = $1 AND disabled_ms IS NULL",
        )
        .bind(tenant)
        .fetch_all(&mut **tx)
        .await?;
        for hook in hooks {
            let id = NotificationId::random().map_err(|e| Error::Internal(e.to_string()))?;
            sqlx::query(
                "INSERT INTO webhook_deliveries (id, tenant_id, webhook_id, event_type, body, created_ms, attempts, next_ms, state) \
                 VALUES ($1, $2, $3, $4, $5, $6, 0, $6, 'pending')",
            )
            .bind(id.as_str())
            .bind(tenant)
            .bind(&hook)
            .bind(event_type)
            .bind(body)
            .bind(i(now))
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }
}

/// Runs until the process ends: delivers what is due, then sleeps until woken or a
/// second passes.
pub async fn run(platform: Arc<Platform>) {
    loop {
        let delivered = match deliver_once(&platform).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "webhook delivery round failed; will retry");
                0
            }
        };
        if delivered == 0 {
            let wake = platform.webhook_wake.clone();
            let _ = tokio::time::timeout(Duration::from_millis(500), wake.notified()).await;
        }
    }
}

/// One round of due deliveries; returns how many were attempted.
///
/// # Errors
/// [`Error::Db`].
pub async fn deliver_once(platform: &Platform) -> Result<usize, Error> {
    let now = platform.now_ms();
    let rows = sqlx::query(
        "SELECT d.id, d.event_type, d.body, d.created_ms, d.attempts, w.url, w.secret FROM webhook_deliveries d \
         JOIN webhooks w ON w.id = d.webhook_id WHERE d.next_ms IS NOT NULL AND d.next_ms <= $1 ORDER BY d.next_ms LIMIT $2",
    )
    .bind(i(now))
    .bind(ROUND)
    .fetch_all(platform.store.pool())
    .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut keys: BTreeMap<WebhookEndpoint, Vec<WebhookSecret>> = BTreeMap::new();
    let mut jobs = Vec::with_capacity(rows.len());
    for r in &rows {
        let url: String = r.try_get("url")?;
        let secret: String = r.try_get("secret")?;
        let endpoint = WebhookEndpoint::parse(&url).map_err(|e| Error::Internal(e.to_string()))?;
        let secret = WebhookSecret::parse(&secret).map_err(|e| Error::Internal(e.to_string()))?;
        keys.insert(endpoint.clone(), vec![secret]);
        let id: String = r.try_get("id")?;
        let event: String = r.try_get("event_type")?;
        let body: String = r.try_get("body")?;
        let notification = Notification::new(
            NotificationId::parse(&id).map_err(|e| Error::Internal(e.to_string()))?,
            Recipient::Webhook(endpoint),
            EventType::parse(&event).map_err(|e| Error::Internal(e.to_string()))?,
            &event,
            &body,
            u(r.try_get("created_ms")?),
        )
        .map_err(|e| Error::Internal(e.to_string()))?;
        let attempts = u32::try_from(u(r.try_get("attempts")?)).unwrap_or(u32::MAX);
        jobs.push((notification, attempts));
    }
    let sender = WebhookSender::new(
        Arc::new(keys),
        platform.clock.clone(),
        WebhookSenderConfig {
            timeout_ms: 20_000,
            dangerous_allow_plain_http: platform.allow_plain_http_webhooks,
        },
    )
    .map_err(|e| Error::Internal(e.to_string()))?;
    let schedule = RetrySchedule::standard_webhooks();
    let results = futures::future::join_all(jobs.iter().map(|(n, attempts)| {
        let sender = &sender;
        async move { sender.deliver(n, attempts + 1).await }
    }))
    .await;
    let mut tx = platform.store.pool().begin().await?;
    for ((notification, attempts), record) in jobs.iter().zip(results) {
        let before = DeliveryState::Pending {
            attempts_made: *attempts,
            next_attempt_at_ms: now,
        };
        let after = before.after_attempt(
            &record.outcome,
            &schedule,
            notification.id(),
            platform.now_ms(),
        );
        let outcome = serde_json::to_string(&record.outcome).unwrap_or_default();
        sqlx::query(
            "INSERT INTO webhook_attempts (delivery_id, attempt, at_ms, outcome, record_digest) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(notification.id().as_str())
        .bind(i(u64::from(record.attempt)))
        .bind(i(record.at_ms))
        .bind(outcome)
        .bind(record.digest().0.to_vec())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE webhook_deliveries SET attempts = $1, next_ms = $2, state = $3 WHERE id = $4",
        )
        .bind(i(u64::from(after.attempts_made())))
        .bind(after.next_attempt_at_ms().map(i))
        .bind(state_name(&after))
        .bind(notification.id().as_str())
        .execute(&mut *tx)
        .await?;
        if let Outcome::Failed { reason, .. } = &record.outcome {
            tracing::info!(id = notification.id().as_str(), %reason, "webhook attempt failed");
        }
    }
    tx.commit().await?;
    Ok(jobs.len())
}
