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

use crate::ProblemType;
use crate::service::{Platform, Principal, Role, invalid};
use crate::store::webhooks;
use crate::{Error, random_bytes};
use affix_notify::{
    DeliveryState, EventType, Notification, NotificationId, Outcome, Recipient, RetrySchedule,
    WebhookEndpoint, WebhookSecret, WebhookSender, WebhookSenderConfig,
};

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
        let existing = webhooks::count_active(self.store.pool(), &tenant).await?;
        if existing >= WEBHOOKS_PER_TENANT_MAX {
            return Err(invalid(
                ProblemType::TooManyWebhooks,
                format!("at most {WEBHOOKS_PER_TENANT_MAX} webhooks per tenant"),
            ));
        }
        let secret = WebhookSecret::generate().map_err(|e| Error::Internal(e.to_string()))?;
        let id = format!("wh{}", hex::encode(random_bytes::<12>()?));
        let now = self.now_ms();
        webhooks::insert(
            self.store.pool(),
            &id,
            &tenant,
            endpoint.as_str(),
            secret.expose_whsec().as_str(),
            now,
        )
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
        if !webhooks::owned_by(self.store.pool(), id, &tenant).await? {
            return Err(Error::NotFound(format!("webhook {id}")));
        }
        let rows = webhooks::deliveries(self.store.pool(), id).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let attempts = webhooks::attempts(self.store.pool(), &r.id)
                .await?
                .into_iter()
                .map(|a| {
                    serde_json::json!({
                        "attempt": a.attempt,
                        "at_ms": a.at_ms,
                        "outcome": serde_json::from_str::<serde_json::Value>(&a.outcome).unwrap_or_default(),
                        "record_digest": hex::encode(a.record_digest),
                    })
                })
                .collect();
            out.push(DeliveryView {
                id: r.id,
                event_type: r.event_type,
                state: r.state,
                attempts,
                next_ms: r.next_ms,
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
        let hooks = webhooks::active_ids(&mut **tx, tenant).await?;
        for hook in hooks {
            let id = NotificationId::random().map_err(|e| Error::Internal(e.to_string()))?;
            webhooks::insert_delivery(&mut **tx, id.as_str(), tenant, &hook, event_type, body, now)
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
    let rows = webhooks::due(platform.store.pool(), now, ROUND).await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut keys: BTreeMap<WebhookEndpoint, Vec<WebhookSecret>> = BTreeMap::new();
    let mut jobs = Vec::with_capacity(rows.len());
    for r in &rows {
        let endpoint =
            WebhookEndpoint::parse(&r.url).map_err(|e| Error::Internal(e.to_string()))?;
        let secret = WebhookSecret::parse(&r.secret).map_err(|e| Error::Internal(e.to_string()))?;
        keys.insert(endpoint.clone(), vec![secret]);
        let notification = Notification::new(
            NotificationId::parse(&r.id).map_err(|e| Error::Internal(e.to_string()))?,
            Recipient::Webhook(endpoint),
            EventType::parse(&r.event_type).map_err(|e| Error::Internal(e.to_string()))?,
            &r.event_type,
            &r.body,
            r.created_ms,
        )
        .map_err(|e| Error::Internal(e.to_string()))?;
        let attempts = u32::try_from(r.attempts).unwrap_or(u32::MAX);
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
        webhooks::insert_attempt(
            &mut *tx,
            notification.id().as_str(),
            u64::from(record.attempt),
            record.at_ms,
            outcome,
            &record.digest().0,
        )
        .await?;
        webhooks::update_delivery(
            &mut *tx,
            notification.id().as_str(),
            u64::from(after.attempts_made()),
            after.next_attempt_at_ms(),
            state_name(&after),
        )
        .await?;
        if let Outcome::Failed { reason, .. } = &record.outcome {
            tracing::info!(id = notification.id().as_str(), %reason, "webhook attempt failed");
        }
    }
    tx.commit().await?;
    Ok(jobs.len())
}
