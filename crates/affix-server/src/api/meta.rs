//! What anyone may read: liveness, this API's description, and the trust anchors a
//! relying party checks signatures and receipts against.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::{ApiResult, ok};
use crate::routes::Api;

/// Liveness.
#[utoipa::path(get, path = "/healthz", operation_id = "health", security(()),
    responses((status = 200, description = "The server runs", body = String, content_type = "text/plain")))]
pub(crate) async fn healthz() -> &'static str {
    "ok"
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", operation_id = "openapi", security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document", body = serde_json::Value)))]
pub(crate) async fn openapi(State(api): State<Arc<Api>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        api.openapi.get().cloned().unwrap_or_default(),
    )
        .into_response()
}

/// The CA's certificates.
#[derive(Serialize, ToSchema)]
pub(crate) struct CaCertificates {
    /// The root CA certificate (PEM).
    root: String,
    /// The issuing CA certificate (PEM).
    issuing: String,
}

/// The CA's root and issuing certificates (PEM): the trust anchors of every signature.
#[utoipa::path(get, path = "/v1/ca", operation_id = "caCertificates", security(()),
    responses((status = 200, body = CaCertificates)))]
pub(crate) async fn ca(State(api): State<Arc<Api>>) -> ApiResult {
    let (root, issuing) = api.platform.ca_certificates_pem()?;
    ok(StatusCode::OK, &CaCertificates { root, issuing })
}

/// The ledger's verifier-keys file: the trust anchors of every receipt.
#[utoipa::path(get, path = "/v1/ledger/verifier-keys", operation_id = "verifierKeys", security(()),
    responses((status = 200, description = "The verifier-keys file", body = String, content_type = "text/plain")))]
pub(crate) async fn verifier_keys(State(api): State<Arc<Api>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        api.platform.verifier_keys().to_owned(),
    )
        .into_response()
}
