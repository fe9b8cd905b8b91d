//! The platform API's handlers, one module per resource, each route declared once by its
//! `#[utoipa::path]` attribute (method, path, caller kind, request and answer schemas)
//! next to the request and answer types it speaks.

use affix_contract::ContractId;
use affix_platform::ProblemType;
use axum::body::Bytes;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::de::DeserializeOwned;

use crate::problem::Problem;

pub(crate) mod contracts;
pub(crate) mod invite;
pub(crate) mod loans;
pub(crate) mod meta;
pub(crate) mod tenants;
pub(crate) mod webhooks;

/// What a handler answers.
pub(crate) type ApiResult = Result<Response, Problem>;

/// A JSON body of type `T`, or `invalid-json`.
pub(crate) fn json_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, Problem> {
    serde_json::from_slice(body).map_err(|e| {
        Problem::new(
            ProblemType::InvalidJson,
            format!("the body is not the JSON this endpoint takes: {e}"),
        )
    })
}

/// A JSON answer with `status`.
pub(crate) fn ok(status: StatusCode, value: &impl serde::Serialize) -> ApiResult {
    let body = serde_json::to_vec(value).map_err(|e| Problem::internal(&e))?;
    Ok((status, [(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// Marks an answer that holds a bearer secret (an API key, invite tokens, a webhook
/// secret): the idempotency layer keeps only its status and digest, never the answer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SecretAnswer;

/// A JSON answer with `status` that holds a secret (see [`SecretAnswer`]).
pub(crate) fn secret(status: StatusCode, value: &impl serde::Serialize) -> ApiResult {
    let mut response = ok(status, value)?;
    response.extensions_mut().insert(SecretAnswer);
    Ok(response)
}

/// A JSON answer that a client saves as `filename`.
pub(crate) fn attachment(value: &impl serde::Serialize, filename: &str) -> ApiResult {
    let mut response = ok(StatusCode::OK, value)?;
    if let Ok(v) = header::HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// A contract id from the path; one that does not parse names no contract.
pub(crate) fn contract_id(text: &str) -> Result<ContractId, Problem> {
    ContractId::parse(text)
        .map_err(|_| Problem::new(ProblemType::NotFound, format!("contract {text}")))
}

/// Base64 text of a JSON field, or `invalid-json` naming the field.
pub(crate) fn base64_field(text: &str, field: &str) -> Result<Vec<u8>, Problem> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| Problem::new(ProblemType::InvalidJson, format!("{field} is not base64")))
}

/// A WebAuthn byte string: base64url as browsers give it (`PublicKeyCredential`
/// fields), padded or not, or standard base64.
pub(crate) fn base64url_field(text: &str, field: &str) -> Result<Vec<u8>, Problem> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let trimmed = text.trim_end_matches('=');
    URL_SAFE_NO_PAD
        .decode(trimmed)
        .or_else(|_| STANDARD.decode(text))
        .map_err(|_| {
            Problem::new(
                ProblemType::InvalidJson,
                format!("{field} is not base64url"),
            )
        })
}

/// Base64 of bytes, as every byte string of the API travels.
pub(crate) fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
