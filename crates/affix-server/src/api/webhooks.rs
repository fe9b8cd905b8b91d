//! The tenant's webhook endpoints and their deliveries.

use std::sync::Arc;

use affix_platform::webhooks::{DeliveryView, WebhookView};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiResult, json_body, ok, secret};
use crate::gate::Caller;
use crate::routes::Api;

/// A webhook endpoint to register.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WebhookIn {
    /// Where events are posted (https).
    #[schema(format = "uri")]
    url: String,
}

/// A registered endpoint.
#[derive(Serialize, ToSchema)]
pub(crate) struct Webhook {
    /// Id.
    id: String,
    /// URL.
    url: String,
    /// The `whsec_…` signing secret (only in the registration answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
    /// Creation time (Unix ms).
    created_ms: u64,
}

impl From<WebhookView> for Webhook {
    fn from(w: WebhookView) -> Self {
        Self {
            id: w.id,
            url: w.url,
            secret: w.secret,
            created_ms: w.created_ms,
        }
    }
}

/// Register a webhook endpoint (admin): events are signed as Standard Webhooks says.
#[utoipa::path(post, path = "/v1/webhooks", operation_id = "createWebhook",
    security(("apiKey" = [])), request_body = WebhookIn,
    responses((status = 201, body = Webhook)))]
pub(crate) async fn create_webhook(
    State(api): State<Arc<Api>>,
    Caller(who): Caller,
    body: Bytes,
) -> ApiResult {
    let input: WebhookIn = json_body(&body)?;
    let webhook = api.platform.create_webhook(&who, &input.url).await?;
    secret(StatusCode::CREATED, &Webhook::from(webhook))
}

/// One delivery and its attempts.
#[derive(Serialize, ToSchema)]
pub(crate) struct Delivery {
    /// The `webhook-id` header value.
    id: String,
    /// Event type (`contract.signed`, …).
    event_type: String,
    /// `pending`, `delivered`, `rejected` or `gave_up`.
    state: String,
    /// Attempts so far.
    #[schema(value_type = Vec<Object>)]
    attempts: Vec<serde_json::Value>,
    /// When the next attempt is due (Unix ms).
    next_ms: Option<u64>,
}

impl From<DeliveryView> for Delivery {
    fn from(d: DeliveryView) -> Self {
        Self {
            id: d.id,
            event_type: d.event_type,
            state: d.state,
            attempts: d.attempts,
            next_ms: d.next_ms,
        }
    }
}

/// The deliveries of an endpoint.
#[derive(Serialize, ToSchema)]
pub(crate) struct Deliveries {
    /// Newest first.
    deliveries: Vec<Delivery>,
}

/// The endpoint's deliveries and their attempts.
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", operation_id = "webhookDeliveries",
    security(("apiKey" = [])), params(("id" = String, Path, description = "Webhook id")),
    responses((status = 200, body = Deliveries)))]
pub(crate) async fn webhook_deliveries(
    State(api): State<Arc<Api>>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let deliveries = api.platform.webhook_deliveries(&who, &id).await?;
    ok(
        StatusCode::OK,
        &Deliveries {
            deliveries: deliveries.into_iter().map(Delivery::from).collect(),
        },
    )
}
