//! What anyone may read: liveness, this API's description, and the trust anchors a
//! relying party checks signatures and receipts against.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use affix_platform::ProblemType;

use super::{ApiResult, ok};
use crate::problem::{Problem, ProblemBody};
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

/// The issuing CA's OCSP responder (RFC 6960): the signers' certificates name it
/// (AIA). OCSP errors travel inside a 200 answer.
#[utoipa::path(post, path = "/v1/ca/ocsp", operation_id = "caOcsp", security(()),
    request_body(content = Vec<u8>, content_type = "application/ocsp-request", description = "A DER OCSPRequest"),
    responses((status = 200, description = "A DER OCSPResponse", body = Vec<u8>, content_type = "application/ocsp-response"),
        (status = 415, description = "Not application/ocsp-request", body = ProblemBody, content_type = "application/problem+json")))]
pub(crate) async fn ca_ocsp(
    State(api): State<Arc<Api>>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult {
    if headers
        .get(header::CONTENT_TYPE)
        .is_none_or(|v| v.as_bytes() != b"application/ocsp-request")
    {
        return Err(Problem::new(
            ProblemType::WrongContentType,
            "send application/ocsp-request",
        ));
    }
    let der = api.platform.ocsp_answer(body.to_vec()).await?;
    Ok(([(header::CONTENT_TYPE, "application/ocsp-response")], der).into_response())
}

/// The issuing CA's current CRL (DER): the signers' certificates name it (CRL
/// distribution point).
#[utoipa::path(get, path = "/v1/ca/crl", operation_id = "caCrl", security(()),
    responses((status = 200, description = "A DER CertificateList", body = Vec<u8>, content_type = "application/pkix-crl")))]
pub(crate) async fn ca_crl(State(api): State<Arc<Api>>) -> ApiResult {
    let der = api.platform.crl().await?;
    Ok(([(header::CONTENT_TYPE, "application/pkix-crl")], der).into_response())
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
