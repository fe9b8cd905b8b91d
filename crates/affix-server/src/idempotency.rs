//! `Idempotency-Key` on every POST: the same key with the same body replays the first
//! answer (`Idempotent-Replayed: true`); with another body it is refused (422), and
//! while the first is running too (409). 5xx answers are not kept, so a retry runs
//! again. An answer marked [`SecretAnswer`] (it holds an API key, invite tokens or a
//! webhook secret) is never stored: a replay of it is refused with 409
//! `replay-unavailable`. Keys are forgotten after 24 hours. The keys and answers are the
//! platform's to store ([`affix_platform::store::idempotency`]).

use std::sync::Arc;

use affix_platform::ProblemType;
use affix_platform::store::idempotency::Claim;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest as _, Sha256};

use crate::api::SecretAnswer;
use crate::gate::Caller;
use crate::problem::Problem;
use crate::routes::{Api, BODY_BYTES_MAX};

/// Largest answer kept for replay (a litigation bundle is the largest answer of a POST's
/// kind; bundles are GETs, so this bounds what a POST can make us store).
const ANSWER_BYTES_MAX: usize = 64 * 1024 * 1024;

/// The idempotency layer of a POST route (inside its gate: the caller is known).
pub(crate) async fn idempotency(
    State(api): State<Arc<Api>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(key) = request.headers().get("idempotency-key") else {
        return next.run(request).await;
    };
    let Ok(key) = key.to_str().map(str::to_owned) else {
        return Problem::new(
            ProblemType::InvalidIdempotencyKey,
            "Idempotency-Key must be visible ASCII",
        )
        .into_response();
    };
    let Some(Caller(who)) = request.extensions().get::<Caller>().cloned() else {
        // Only routes behind a gate take keys; a public POST runs as if it had none.
        return next.run(request).await;
    };
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, BODY_BYTES_MAX).await else {
        return Problem::new(
            ProblemType::TooLarge,
            format!("body over {BODY_BYTES_MAX} bytes"),
        )
        .into_response();
    };
    let mut h = Sha256::new();
    h.update(parts.method.as_str().as_bytes());
    h.update([0]);
    h.update(parts.uri.path().as_bytes());
    h.update([0]);
    h.update(&bytes);
    let request_hash: [u8; 32] = h.finalize().into();
    match api
        .platform
        .claim_idempotency_key(&who, &key, &request_hash)
        .await
    {
        Ok(Claim::Fresh) => {}
        Ok(Claim::Replay { status, body }) => return replay(status, body),
        Ok(Claim::Withheld { status }) => {
            return Problem::new(
                ProblemType::ReplayUnavailable,
                format!(
                    "the request with this Idempotency-Key finished with HTTP {status}; its answer held a secret and is not kept"
                ),
            )
            .into_response();
        }
        Ok(Claim::InFlight) => {
            return Problem::new(
                ProblemType::IdempotencyKeyInFlight,
                "a request with this Idempotency-Key is still being processed",
            )
            .into_response();
        }
        Ok(Claim::Reused) => {
            return Problem::new(
                ProblemType::IdempotencyKeyReused,
                "this Idempotency-Key was used for a different request",
            )
            .into_response();
        }
        Err(e) => return Problem::from(e).into_response(),
    }
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let status = response.status();
    let (rparts, rbody) = response.into_parts();
    let Ok(rbytes) = axum::body::to_bytes(rbody, ANSWER_BYTES_MAX).await else {
        return Problem::internal(&"an answer over its limit").into_response();
    };
    let stored = if status.is_server_error() {
        api.platform.release_idempotency_key(&who, &key).await
    } else if rparts.extensions.get::<SecretAnswer>().is_some() {
        api.platform
            .finish_idempotent_request_withheld(&who, &key, status.as_u16(), &rbytes)
            .await
    } else {
        api.platform
            .finish_idempotent_request(&who, &key, status.as_u16(), &rbytes)
            .await
    };
    if let Err(e) = stored {
        tracing::error!(error = %e, "storing an idempotent answer");
    }
    Response::from_parts(rparts, Body::from(rbytes))
}

fn replay(status: u16, body: Vec<u8>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let content_type = if status.is_success() {
        "application/json"
    } else {
        "application/problem+json"
    };
    let mut r = (status, [(header::CONTENT_TYPE, content_type)], body).into_response();
    r.headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    r
}
