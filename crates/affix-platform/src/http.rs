//! The HTTP API (axum): routes, bearer authentication, problem+json errors
//! (RFC 9457, `type` = `https://affix.dev/problems/<kind>`), idempotency keys on every
//! POST, body limits and per-caller rate limits. The routes and their schemas are listed
//! in [`crate::openapi`], served at `/openapi.json`; a test checks the two agree.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use affix_contract::ContractId;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use base64::Engine as _;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use sqlx::Row as _;

use crate::bundle::{
    Bundle, BundleCertificates, BundleDocument, BundleEvent, BundleLedger, BundleSignature,
    FORMAT_V1,
};
use crate::service::{
    ContractFilter, NewContract, NewParty, NewPerson, Platform, Principal, Role,
    SIGNATURE_IMAGE_BYTES_MAX,
};
use crate::store::i;
use crate::{Error, unix_ms};

/// Largest request body (a 10 MiB document in base64 inside JSON).
pub const BODY_BYTES_MAX: usize = 16 * 1024 * 1024;
/// Longest idempotency key.
pub const IDEMPOTENCY_KEY_CHARS_MAX: usize = 255;
/// Requests handled at once; more are refused with 503 `busy` (never queued without
/// bound).
pub const IN_FLIGHT_MAX: usize = 1024;
/// Callers tracked by the rate limiter before the oldest are forgotten.
const RATE_TABLE_MAX: usize = 100_000;

/// Shared state of the HTTP layer.
pub struct Api {
    /// The platform.
    pub platform: Arc<Platform>,
    /// The ledger's verifier-keys text (for bundles and `/v1/ledger/verifier-keys`).
    pub verifier_keys: String,
    limiter: RateLimiter,
    in_flight: Arc<tokio::sync::Semaphore>,
}

impl Api {
    /// Wraps a platform.
    pub fn new(platform: Arc<Platform>, verifier_keys: String, requests_per_minute: u32) -> Self {
        Self {
            platform,
            verifier_keys,
            limiter: RateLimiter::new(requests_per_minute),
            in_flight: Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT_MAX)),
        }
    }
}

/// A token bucket per caller.
struct RateLimiter {
    per_minute: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    fn new(per_minute: u32) -> Self {
        Self {
            per_minute: f64::from(per_minute.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// `Ok` or the seconds to wait.
    fn check(&self, who: &str) -> Result<(), u64> {
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        if buckets.len() >= RATE_TABLE_MAX && !buckets.contains_key(who) {
            buckets.clear();
        }
        let now = Instant::now();
        let capacity = self.per_minute;
        let entry = buckets.entry(who.to_owned()).or_insert((capacity, now));
        let refill = now.duration_since(entry.1).as_secs_f64() * capacity / 60.0;
        entry.0 = (entry.0 + refill).min(capacity);
        entry.1 = now;
        if entry.0 >= 1.0 {
            entry.0 -= 1.0;
            Ok(())
        } else {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let wait = ((1.0 - entry.0) * 60.0 / capacity).ceil() as u64;
            Err(wait.max(1))
        }
    }
}

/// An error as an HTTP answer.
pub struct Problem {
    status: StatusCode,
    kind: &'static str,
    detail: String,
    extra: Option<(&'static str, Value)>,
    retry_after: Option<u64>,
}

impl Problem {
    fn new(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            detail: detail.into(),
            extra: None,
            retry_after: None,
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut body = json!({
            "type": format!("https://affix.dev/problems/{}", self.kind),
            "title": self.kind.replace('-', " "),
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        if let (Some((k, v)), Some(map)) = (self.extra, body.as_object_mut()) {
            map.insert(k.to_owned(), v);
        }
        let mut response = (self.status, body.to_string()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(s) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

fn contract_error(e: &affix_contract::Error) -> (StatusCode, &'static str) {
    use affix_contract::Error as C;
    match e {
        C::InvalidId { .. } | C::Malformed { .. } => (StatusCode::BAD_REQUEST, "invalid-input"),
        C::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "too-large"),
        C::Expired { .. } => (StatusCode::GONE, "contract-expired"),
        C::NotYourTurn { .. } => (StatusCode::CONFLICT, "not-your-turn"),
        C::AlreadySigned { .. } => (StatusCode::CONFLICT, "already-signed"),
        C::IdentityNotVerified { .. } | C::PartyNotReady { .. } => {
            (StatusCode::CONFLICT, "wrong-step")
        }
        C::ContractNotOpen { .. } => (StatusCode::CONFLICT, "contract-not-open"),
        C::WrongContentDigest => (StatusCode::CONFLICT, "wrong-content-digest"),
        C::IdentityMismatch { .. } => (StatusCode::FORBIDDEN, "identity-mismatch"),
        C::UnknownParty { .. } | C::NotASigningParty { .. } | C::NotInitiator { .. } => {
            (StatusCode::FORBIDDEN, "not-allowed-for-party")
        }
        C::RateAboveLegalCap { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "rate-above-legal-cap"),
        C::Overpayment => (StatusCode::UNPROCESSABLE_ENTITY, "overpayment"),
        C::UnknownRepayment { .. } => (StatusCode::NOT_FOUND, "not-found"),
        C::RepaymentNotPending { .. } => (StatusCode::CONFLICT, "repayment-decided"),
        C::LoanSettled { .. } => (StatusCode::CONFLICT, "loan-settled"),
        C::RepaymentsPending { .. } => (StatusCode::CONFLICT, "repayments-pending"),
        C::InterestInArrears { .. } => (StatusCode::CONFLICT, "interest-in-arrears"),
        C::ExtensionNotLater { .. } | C::NothingToExtend => {
            (StatusCode::UNPROCESSABLE_ENTITY, "extension-refused")
        }
        // The operator's LPR table does not cover the day: a configuration fault, not
        // the caller's.
        C::LprTableOutdated { .. } | C::NoLprInForce { .. } => {
            (StatusCode::SERVICE_UNAVAILABLE, "lpr-table-outdated")
        }
        _ => (StatusCode::UNPROCESSABLE_ENTITY, "contract-refused"),
    }
}

fn identity_error(e: &affix_identity::Error) -> (StatusCode, &'static str) {
    use affix_identity::Error as I;
    match e {
        I::OtpMismatch { .. } | I::OtpMalformedCode { .. } => {
            (StatusCode::UNPROCESSABLE_ENTITY, "wrong-code")
        }
        I::OtpExpired => (StatusCode::GONE, "code-expired"),
        I::OtpAlreadyUsed => (StatusCode::CONFLICT, "code-used"),
        I::OtpAttemptsExhausted => (StatusCode::TOO_MANY_REQUESTS, "code-attempts-exhausted"),
        _ => {
            let text = e.to_string();
            if text.contains("resident") || text.contains("ID number") {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid-resident-id")
            } else if text.contains("mobile") || text.contains("phone") {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid-mobile")
            } else if text.contains("mail") {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid-email")
            } else {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid-identity")
            }
        }
    }
}

impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        let detail = e.to_string();
        match &e {
            Error::Unauthenticated(_) => {
                Problem::new(StatusCode::UNAUTHORIZED, "unauthenticated", detail)
            }
            Error::Forbidden(_) => Problem::new(StatusCode::FORBIDDEN, "forbidden", detail),
            Error::NotFound(_) => Problem::new(StatusCode::NOT_FOUND, "not-found", detail),
            Error::Invalid { kind, .. } => {
                let status = if kind.starts_with("invalid-json") {
                    StatusCode::BAD_REQUEST
                } else {
                    StatusCode::UNPROCESSABLE_ENTITY
                };
                Problem::new(status, kind, detail)
            }
            Error::Fields(fields) => {
                let list: Vec<Value> = fields
                    .iter()
                    .map(|f| json!({"field": f.field, "problem": format!("{:?}", f.problem)}))
                    .collect();
                let mut p =
                    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-fields", detail);
                p.extra = Some(("errors", Value::Array(list)));
                p
            }
            Error::Conflict { kind, .. } => Problem::new(StatusCode::CONFLICT, kind, detail),
            Error::Expired(_) => Problem::new(StatusCode::GONE, "expired", detail),
            Error::TooLarge { .. } => {
                Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", detail)
            }
            Error::RateLimited { retry_after_s } => {
                let mut p = Problem::new(StatusCode::TOO_MANY_REQUESTS, "rate-limited", detail);
                p.retry_after = Some(*retry_after_s);
                p
            }
            Error::Busy(_) => Problem::new(StatusCode::SERVICE_UNAVAILABLE, "busy", detail),
            Error::Contract(affix_contract::Error::Evidence(_)) => {
                tracing::error!(error = %e, "evidence record");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error; see the server log",
                )
            }
            Error::Contract(c) => {
                let (status, kind) = contract_error(c);
                Problem::new(status, kind, detail)
            }
            Error::Identity(i) => {
                let (status, kind) = identity_error(i);
                Problem::new(status, kind, detail)
            }
            Error::Vault(v) => match v {
                affix_vault::Error::Unauthorized(_) => {
                    Problem::new(StatusCode::FORBIDDEN, "authorization-refused", detail)
                }
                affix_vault::Error::Malformed { .. } => {
                    Problem::new(StatusCode::BAD_REQUEST, "invalid-input", detail)
                }
                affix_vault::Error::Busy(_) => {
                    Problem::new(StatusCode::SERVICE_UNAVAILABLE, "busy", detail)
                }
                affix_vault::Error::RateLimited(_) => {
                    Problem::new(StatusCode::TOO_MANY_REQUESTS, "rate-limited", detail)
                }
                _ => {
                    tracing::error!(error = %e, "vault failure");
                    Problem::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "internal",
                        "vault failure",
                    )
                }
            },
            Error::Ledger(_) => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "ledger-unavailable",
                detail,
            ),
            Error::Notify(_) => {
                Problem::new(StatusCode::BAD_GATEWAY, "notification-failed", detail)
            }
            _ => {
                tracing::error!(error = %e, "internal error");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error; see the server log",
                )
            }
        }
    }
}

type ApiResult = Result<Response, Problem>;

fn json_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, Problem> {
    serde_json::from_slice(body).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-json",
            format!("the body is not the JSON this endpoint takes: {e}"),
        )
    })
}

fn ok(status: StatusCode, value: impl serde::Serialize) -> ApiResult {
    let body = serde_json::to_vec(&value)
        .map_err(|e| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    Ok((status, [(header::CONTENT_TYPE, "application/json")], body).into_response())
}

fn parse_contract_id(text: &str) -> Result<ContractId, Problem> {
    ContractId::parse(text).map_err(|_| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("contract {text}"),
        )
    })
}

/// The caller, put into request extensions by [`authenticate`].
#[derive(Clone)]
struct Caller(Principal);

async fn authenticate(State(api): State<Arc<Api>>, mut request: Request, next: Next) -> Response {
    let Ok(_permit) = api.in_flight.clone().try_acquire_owned() else {
        let mut p = Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            format!("more than {IN_FLIGHT_MAX} requests in flight; retry shortly"),
        );
        p.retry_after = Some(1);
        return p.into_response();
    };
    let path = request.uri().path().to_owned();
    if path == "/healthz"
        || path == "/openapi.json"
        || path == "/v1/ca"
        || path == "/v1/ledger/verifier-keys"
    {
        return next.run(request).await;
    }
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .map(str::to_owned);
    let Some(token) = token else {
        return Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "send Authorization: Bearer <API key or invite token>",
        )
        .into_response();
    };
    let principal = match api.platform.authenticate(&token).await {
        Ok(p) => p,
        Err(e) => return Problem::from(e).into_response(),
    };
    if let Err(wait) = api.limiter.check(&principal.name()) {
        let mut p = Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            format!("too many requests; retry in {wait} s"),
        );
        p.retry_after = Some(wait);
        return p.into_response();
    }
    // The kind of caller each operation takes (operator, API key, invite) is checked
    // here, before any body is read; roles within a tenant are the service's to check.
    let matched = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let method = request.method().as_str().to_ascii_lowercase();
    if let Some(op) = matched.and_then(|path| {
        crate::openapi::OPERATIONS
            .iter()
            .find(|o| o.path == path && o.method == method)
    }) {
        use crate::openapi::Auth;
        let fits = match op.auth {
            Auth::Public => true,
            Auth::Operator => principal == Principal::Operator,
            Auth::ApiKey => matches!(principal, Principal::Member { .. }),
            Auth::Invite => matches!(principal, Principal::Party { .. }),
        };
        if !fits {
            let needs = match op.auth {
                Auth::Operator => "the operator token",
                Auth::ApiKey => "a tenant API key",
                _ => "a party's invite token",
            };
            return Problem::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("this operation needs {needs}"),
            )
            .into_response();
        }
    }
    if path.starts_with("/v1/vault/") {
        // The vault API: tenant admins and members; the tenant is the key's.
        let Principal::Member {
            tenant,
            role: Role::Admin | Role::Member,
            ..
        } = &principal
        else {
            return Problem::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "the vault API takes a tenant API key of the admin or member role",
            )
            .into_response();
        };
        match affix_vault::TenantId::new(tenant) {
            Ok(t) => {
                request
                    .extensions_mut()
                    .insert(crate::vault_api::VaultTenant(t));
            }
            Err(e) => return Problem::from(Error::Vault(e)).into_response(),
        }
    }
    request.extensions_mut().insert(Caller(principal));
    next.run(request).await
}

/// Replays the stored answer of a repeated POST with the same `Idempotency-Key` and
/// body; refuses the same key with another body (422) or while the first is running
/// (409). 5xx answers are not stored, so a retry runs again.
async fn idempotency(State(api): State<Arc<Api>>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let Some(key) = request
        .headers()
        .get("idempotency-key")
        .map(|v| v.to_str().map(str::to_owned))
    else {
        return next.run(request).await;
    };
    let Ok(key) = key else {
        return Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-idempotency-key",
            "Idempotency-Key must be visible ASCII",
        )
        .into_response();
    };
    if key.is_empty()
        || key.len() > IDEMPOTENCY_KEY_CHARS_MAX
        || !key.bytes().all(|b| b.is_ascii_graphic())
    {
        return Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-idempotency-key",
            format!(
                "Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_CHARS_MAX} visible ASCII characters"
            ),
        )
        .into_response();
    }
    let principal = request
        .extensions()
        .get::<Caller>()
        .map_or_else(|| "anonymous".to_owned(), |c| c.0.name());
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, BODY_BYTES_MAX).await else {
        return Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
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
    let pool = api.platform.store().pool().clone();
    let now = unix_ms(std::time::SystemTime::now());
    let inserted = sqlx::query(
        "INSERT INTO idempotency (principal, key, request_hash, created_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (principal, key) DO NOTHING",
    )
    .bind(&principal)
    .bind(&key)
    .bind(request_hash.to_vec())
    .bind(i(now))
    .execute(&pool)
    .await;
    match inserted {
        Ok(r) if r.rows_affected() == 1 => {}
        Ok(_) => {
            let row = sqlx::query("SELECT request_hash, status, body FROM idempotency WHERE principal = $1 AND key = $2")
                .bind(&principal)
                .bind(&key)
                .fetch_one(&pool)
                .await;
            let Ok(row) = row else {
                return Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "idempotency store",
                )
                .into_response();
            };
            let stored_hash: Vec<u8> = row.try_get("request_hash").unwrap_or_default();
            if stored_hash != request_hash {
                return Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "idempotency-key-reused",
                    "this Idempotency-Key was used for a different request",
                )
                .into_response();
            }
            let status: Option<i64> = row.try_get("status").unwrap_or(None);
            let body: Option<Vec<u8>> = row.try_get("body").unwrap_or(None);
            return match (status, body) {
                (Some(s), Some(b)) => {
                    let status = u16::try_from(s)
                        .ok()
                        .and_then(|s| StatusCode::from_u16(s).ok())
                        .unwrap_or(StatusCode::OK);
                    let content_type = if status.is_success() {
                        "application/json"
                    } else {
                        "application/problem+json"
                    };
                    let mut r = (status, [(header::CONTENT_TYPE, content_type)], b).into_response();
                    r.headers_mut()
                        .insert("idempotent-replayed", HeaderValue::from_static("true"));
                    r
                }
                _ => Problem::new(
                    StatusCode::CONFLICT,
                    "idempotency-key-in-flight",
                    "a request with this Idempotency-Key is still being processed",
                )
                .into_response(),
            };
        }
        Err(e) => return Problem::from(Error::Db(e)).into_response(),
    }
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let status = response.status();
    let (rparts, rbody) = response.into_parts();
    let Ok(rbytes) = axum::body::to_bytes(rbody, 64 * 1024 * 1024).await else {
        return Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "response body",
        )
        .into_response();
    };
    let stored = if status.is_server_error() {
        sqlx::query("DELETE FROM idempotency WHERE principal = $1 AND key = $2")
            .bind(&principal)
            .bind(&key)
            .execute(&pool)
            .await
    } else {
        sqlx::query(
            "UPDATE idempotency SET status = $1, body = $2 WHERE principal = $3 AND key = $4",
        )
        .bind(i64::from(status.as_u16()))
        .bind(rbytes.to_vec())
        .bind(&principal)
        .bind(&key)
        .execute(&pool)
        .await
    };
    if let Err(e) = stored {
        tracing::error!(error = %e, "storing an idempotent answer");
    }
    Response::from_parts(rparts, Body::from(rbytes))
}

/// The API router (the vault API nested at `/v1/vault`).
///
/// # Errors
/// If the vault's signing queue cannot start.
pub fn router(api: &Arc<Api>) -> Result<Router, Error> {
    let vault = crate::vault_api::router(api.platform.vault.clone())?;
    Ok(Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/openapi.json", get(openapi))
        .route("/v1/ca", get(ca))
        .route("/v1/ledger/verifier-keys", get(verifier_keys))
        .route("/v1/tenants", post(create_tenant))
        .route("/v1/api-keys", post(create_api_key))
        .route("/v1/api-keys/{id}/revoke", post(revoke_api_key))
        .route("/v1/organization", get(organization).put(set_organization))
        .route("/v1/persons", post(create_person))
        .route("/v1/persons/{id}", get(person))
        .route("/v1/contracts", post(create_contract).get(list_contracts))
        .route("/v1/contracts/{id}", get(contract))
        .route("/v1/contracts/{id}/send", post(send_contract))
        .route("/v1/contracts/{id}/revoke", post(revoke_contract))
        .route("/v1/contracts/{id}/events", get(events))
        .route("/v1/contracts/{id}/bundle", get(bundle))
        .route("/v1/contracts/{id}/document", get(document))
        .route("/v1/loans/{id}", get(loan))
        .route("/v1/loans/{id}/evidence", get(loan_evidence))
        .route("/v1/loans/{id}/bundle", get(loan_bundle))
        .route("/v1/loans/{id}/extensions", post(propose_extension))
        .route("/v1/loans/{id}/repayments", post(report_repayment))
        .route("/v1/loans/{id}/repayments/{n}/confirm", post(confirm))
        .route("/v1/loans/{id}/repayments/{n}/dispute", post(dispute))
        .route("/v1/loans/{id}/repayments/{n}/receipt", post(receipt))
        .route("/v1/webhooks", post(create_webhook))
        .route("/v1/webhooks/{id}/deliveries", get(webhook_deliveries))
        .route("/v1/invite", get(invite))
        .route("/v1/invite/identity/email", post(start_email))
        .route("/v1/invite/identity/email/verify", post(finish_email))
        .route("/v1/invite/view", post(view))
        .route("/v1/invite/consent", post(consent))
        .route("/v1/invite/signature-image", put(signature_image))
        .route("/v1/invite/sign/prepare", post(prepare))
        .route("/v1/invite/sign", post(sign))
        .route("/v1/invite/decline", post(decline))
        .fallback(|| async {
            Problem::new(StatusCode::NOT_FOUND, "not-found", "no such endpoint").into_response()
        })
        .with_state(api.clone())
        .nest("/v1/vault", vault)
        .layer(middleware::from_fn_with_state(api.clone(), idempotency))
        .layer(middleware::from_fn_with_state(api.clone(), authenticate))
        .layer(DefaultBodyLimit::max(BODY_BYTES_MAX)))
}

fn caller(request_caller: Option<axum::Extension<Caller>>) -> Result<Principal, Problem> {
    request_caller
        .map(|c| c.0.0.clone())
        .ok_or_else(|| Problem::new(StatusCode::UNAUTHORIZED, "unauthenticated", "no caller"))
}

type Who = Option<axum::Extension<Caller>>;

async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi::document().to_string(),
    )
        .into_response()
}

async fn ca(State(api): State<Arc<Api>>) -> ApiResult {
    use der::EncodePem as _;
    let pem = |c: &x509_cert::Certificate| c.to_pem(der::pem::LineEnding::LF).unwrap_or_default();
    let a = api.platform.authority();
    ok(
        StatusCode::OK,
        json!({"root": pem(a.root()), "issuing": pem(a.issuing())}),
    )
}

async fn verifier_keys(State(api): State<Arc<Api>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        api.verifier_keys.clone(),
    )
        .into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantIn {
    name: String,
}

async fn create_tenant(State(api): State<Arc<Api>>, who: Who, body: Bytes) -> ApiResult {
    let who = caller(who)?;
    let input: TenantIn = json_body(&body)?;
    let (id, key) = api.platform.create_tenant(&who, &input.name).await?;
    ok(
        StatusCode::CREATED,
        json!({"tenant_id": id, "admin_api_key": key}),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApiKeyIn {
    role: String,
    label: String,
}

async fn create_api_key(State(api): State<Arc<Api>>, who: Who, body: Bytes) -> ApiResult {
    let who = caller(who)?;
    let input: ApiKeyIn = json_body(&body)?;
    let key = api
        .platform
        .create_api_key(&who, Role::parse(&input.role)?, &input.label)
        .await?;
    let id = key.get(4..36).unwrap_or_default().to_owned();
    ok(
        StatusCode::CREATED,
        json!({"id": id, "api_key": key, "role": input.role}),
    )
}

async fn revoke_api_key(
    State(api): State<Arc<Api>>,
    who: Who,
    Path(id): Path<String>,
) -> ApiResult {
    let who = caller(who)?;
    api.platform.revoke_api_key(&who, &id).await?;
    ok(StatusCode::OK, json!({"id": id, "revoked": true}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PersonIn {
    name: String,
    email: String,
    #[serde(default)]
    mobile: Option<String>,
    #[serde(default)]
    resident_id: Option<String>,
}

async fn create_person(State(api): State<Arc<Api>>, who: Who, body: Bytes) -> ApiResult {
    let who = caller(who)?;
    let input: PersonIn = json_body(&body)?;
    let person = api
        .platform
        .create_person(
            &who,
            NewPerson {
                name: input.name,
                email: input.email,
                mobile: input.mobile,
                resident_id: input.resident_id,
            },
        )
        .await?;
    ok(StatusCode::CREATED, person)
}

async fn organization(State(api): State<Arc<Api>>, who: Who) -> ApiResult {
    let who = caller(who)?;
    ok(StatusCode::OK, api.platform.organization(&who).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrganizationIn {
    credit_code: String,
    seal_holder: String,
}

async fn set_organization(State(api): State<Arc<Api>>, who: Who, body: Bytes) -> ApiResult {
    let who = caller(who)?;
    let input: OrganizationIn = json_body(&body)?;
    ok(
        StatusCode::OK,
        api.platform
            .set_organization(&who, &input.credit_code, &input.seal_holder)
            .await?,
    )
}

async fn person(State(api): State<Arc<Api>>, who: Who, Path(id): Path<String>) -> ApiResult {
    let who = caller(who)?;
    ok(StatusCode::OK, api.platform.person(&who, &id).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContractIn {
    template: String,
    #[serde(default)]
    fields: BTreeMap<String, String>,
    parties: Vec<PartyIn>,
    #[serde(default)]
    signing_order: Option<String>,
    #[serde(default)]
    expires_in_days: Option<u64>,
    #[serde(default)]
    document: Option<String>,
    #[serde(default)]
    document_name: Option<String>,
    /// The loan note's automation rules (the rule set JSON of `affix-loan-rules`).
    #[serde(default)]
    rules: Option<serde_json::Value>,
}

/// A party of a new contract: a person id, or `{"person": id, "seal": true}` for the
/// holder of the organization's seal signing for the organization.
#[derive(Deserialize)]
#[serde(untagged)]
enum PartyIn {
    Person(String),
    Detailed(PartyDetail),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PartyDetail {
    person: String,
    #[serde(default)]
    seal: bool,
}

impl From<PartyIn> for NewParty {
    fn from(p: PartyIn) -> Self {
        match p {
            PartyIn::Person(person) => Self {
                person,
                seal: false,
            },
            PartyIn::Detailed(d) => Self {
                person: d.person,
                seal: d.seal,
            },
        }
    }
}

async fn create_contract(State(api): State<Arc<Api>>, who: Who, body: Bytes) -> ApiResult {
    let who = caller(who)?;
    let input: ContractIn = json_body(&body)?;
    let parallel = match input.signing_order.as_deref() {
        None | Some("sequential") => false,
        Some("parallel") => true,
        Some(other) => {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-signing-order",
                format!("signing_order {other:?}: sequential or parallel"),
            ));
        }
    };
    let document = input
        .document
        .as_deref()
        .map(|d| base64::engine::general_purpose::STANDARD.decode(d))
        .transpose()
        .map_err(|_| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid-json",
                "document is not base64",
            )
        })?;
    let view = api
        .platform
        .create_contract(
            &who,
            NewContract {
                template: input.template,
                fields: input.fields,
                parties: input.parties.into_iter().map(NewParty::from).collect(),
                parallel,
                expires_in_days: input.expires_in_days,
                document,
                document_name: input.document_name,
                loan_rules: input.rules.map(|r| r.to_string()),
                single_party: false,
            },
        )
        .await?;
    ok(StatusCode::CREATED, view)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    template: Option<String>,
    person: Option<String>,
    created_from: Option<u64>,
    created_to: Option<u64>,
    limit: Option<u32>,
    cursor: Option<String>,
}

async fn list_contracts(
    State(api): State<Arc<Api>>,
    who: Who,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    let who = caller(who)?;
    let Query(q) =
        query.map_err(|e| Problem::new(StatusCode::BAD_REQUEST, "invalid-query", e.body_text()))?;
    let page = api
        .platform
        .list_contracts(
            &who,
            &ContractFilter {
                status: q.status,
                template: q.template,
                person: q.person,
                created_from: q.created_from,
                created_to: q.created_to,
                limit: q.limit,
                cursor: q.cursor,
            },
        )
        .await?;
    ok(StatusCode::OK, page)
}

async fn contract(State(api): State<Arc<Api>>, who: Who, Path(id): Path<String>) -> ApiResult {
    let who = caller(who)?;
    ok(
        StatusCode::OK,
        api.platform
            .contract_view(&who, parse_contract_id(&id)?)
            .await?,
    )
}

async fn loan(State(api): State<Arc<Api>>, who: Who, Path(id): Path<String>) -> ApiResult {
    let who = caller(who)?;
    ok(
        StatusCode::OK,
        api.platform.loan(&who, parse_contract_id(&id)?).await?,
    )
}

async fn loan_evidence(State(api): State<Arc<Api>>, who: Who, Path(id): Path<String>) -> ApiResult {
    let who = caller(who)?;
    ok(
        StatusCode::OK,
        api.platform
            .loan_evidence(&who, parse_contract_id(&id)?)
            .await?,
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RepaymentIn {
    amount: String,
    paid_on: String,
    #[serde(default)]
    proof: Option<String>,
}

async fn report_repayment(
    State(api): State<Arc<Api>>,
    who: Who,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let who = caller(who)?;
    let input: RepaymentIn = json_body(&body)?;
    let proof = input
        .proof
        .as_deref()
        .map(|d| base64::engine::general_purpose::STANDARD.decode(d))
        .transpose()
        .map_err(|_| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid-json",
                "proof is not base64",
            )
        })?;
    ok(
        StatusCode::OK,
        api.platform
            .report_repayment(
                &who,
                parse_contract_id(&id)?,
                &input.amount,
                &input.paid_on,
                proof,
            )
            .await?,
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtensionIn {
    annual_rate_percent: String,
    term_months: u16,
    repayment_method: String,
}

async fn propose_extension(
    State(api): State<Arc<Api>>,
    who: Who,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let who = caller(who)?;
    let input: ExtensionIn = json_body(&body)?;
    ok(
        StatusCode::CREATED,
        api.platform
            .propose_extension(
                &who,
                parse_contract_id(&id)?,
                &input.annual_rate_percent,
                input.term_months,
                &input.repayment_method,
            )
            .await?,
    )
}

async fn decide_repayment(api: &Api, who: Who, id: &str, n: &str, dispute: bool) -> ApiResult {
    let who = caller(who)?;
    // Not a number: no such repayment (the platform checks the caller's role first).
    let n: u32 = n.parse().unwrap_or(u32::MAX);
    ok(
        StatusCode::OK,
        api.platform
            .decide_repayment(&who, parse_contract_id(id)?, n, dispute)
            .await?,
    )
}

async fn confirm(
    State(api): State<Arc<Api>>,
    who: Who,
    Path((id, n)): Path<(String, String)>,
) -> ApiResult {
    decide_repayment(&api, who, &id, &n, false).await
}

async fn dispute(
    State(api): State<Arc<Api>>,
    who: Who,
    Path((id, n)): Path<(String, String)>,
) -> ApiResult {
    decide_repayment(&api, who, &id, &n, true).await
}

/// A receipt (收条) for the lender to sign; once signed, the repayment is confirmed.
async fn receipt(
    State(api): State<Arc<Api>>,
    who: Who,
    Path((id, n)): Path<(String, String)>,
) -> ApiResult {
    let who = caller(who)?;
    let n: u32 = n.parse().unwrap_or(u32::MAX);
    ok(
        StatusCode::CREATED,
        api.platform
            .request_acknowledgement(&who, parse_contract_id(&id)?, n)
            .await?,
    )
}

async fn send_contract(State(api): State<Arc<Api>>, who: Who, Path(id): Path<String>) -> ApiResult {
    let who = caller(who)?;
    let invites = api
        .platform
        .send_contract(&who, parse_contract_id(&id)?)
        .await?;
    ok(StatusCode::OK, json!({"invites": invites}))
}

async fn revoke_contract(
    State(api): State<Arc<Api>>,
    who: Who,
    Path(id): Path<String>,
) -> ApiResult {
    let who = caller(who)?;
    ok(
        StatusCode::OK,
        api.platform
            .revoke_contract(&who, parse_contract_id(&id)?)
            .await?,
    )
}

async fn events(State(api): State<Arc<Api>>, who: Who, Path(id): Path<String>) -> ApiResult {
    let who = caller(who)?;
    ok(
        StatusCode::OK,
        json!({"events": api.platform.events(&who, parse_contract_id(&id)?).await?}),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BundleQuery {
    /// Seconds to wait for pending receipts (default 10, at most 60).
    wait: Option<u64>,
}

/// The evidence bundle v1 of contract `id`, once every event has its receipt (waiting
/// until `deadline`).
async fn contract_bundle(
    api: &Api,
    who: &Principal,
    id: affix_contract::ContractId,
    deadline: Instant,
) -> Result<Bundle, Problem> {
    let events = loop {
        api.platform.wake_evidence();
        let events = api.platform.events(who, id).await?;
        if events.iter().all(|e| e.receipt.is_some()) || Instant::now() >= deadline {
            break events;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    if events.iter().any(|e| e.receipt.is_none()) {
        let mut p = Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "receipts-pending",
            "some events have no ledger receipt yet; retry shortly",
        );
        p.retry_after = Some(1);
        return Err(p);
    }
    let (content, document, document_name) = api.platform.content_and_document(who, id).await?;
    let b = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    use der::EncodePem as _;
    let pem = |c: &x509_cert::Certificate| c.to_pem(der::pem::LineEnding::LF).unwrap_or_default();
    let a = api.platform.authority();
    let bundle = Bundle {
        format: FORMAT_V1.to_owned(),
        contract_id: id.to_string(),
        content: b(&content),
        document: document.map(|d| BundleDocument {
            name: document_name,
            sha256: hex::encode(Sha256::digest(&d)),
            bytes: b(&d),
        }),
        events: events
            .into_iter()
            .map(|e| BundleEvent {
                event: e.event,
                record: e.record,
                receipt: e.receipt,
            })
            .collect(),
        signatures: api
            .platform
            .signatures_of(id)
            .await?
            .into_iter()
            .map(|s| BundleSignature {
                party: s.party,
                cms: b(&s.cms_der),
                certificate: b(&s.certificate_der),
                timestamp_token: b(&s.timestamp_token_der),
                image_png: b(&s.image_png),
            })
            .collect(),
        certificates: BundleCertificates {
            root: pem(a.root()),
            issuing: pem(a.issuing()),
        },
        ledger: BundleLedger {
            verifier_keys: api.verifier_keys.clone(),
        },
    };
    Ok(bundle)
}

/// The litigation bundle v1 of a loan: the note's bundle, the signed rules, every loan
/// event (with proof attachments) and rule action, each with its receipt.
async fn loan_bundle(
    State(api): State<Arc<Api>>,
    who: Who,
    Path(id): Path<String>,
    query: Result<Query<BundleQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    use crate::bundle::{
        LITIGATION_FORMAT_V1, LITIGATION_FORMAT_V2, LitigationBundle, LoanBundleAction,
        LoanBundleDocument, LoanBundleEvent,
    };
    let who = caller(who)?;
    let Query(q) =
        query.map_err(|e| Problem::new(StatusCode::BAD_REQUEST, "invalid-query", e.body_text()))?;
    let id = parse_contract_id(&id)?;
    let (rules, proofs) = api
        .platform
        .loan_rules_and_transfer_proofs(&who, id)
        .await?;
    let deadline = Instant::now() + std::time::Duration::from_secs(q.wait.unwrap_or(10).min(60));
    let contract = contract_bundle(&api, &who, id, deadline).await?;
    let mut documents = Vec::new();
    for (kind, document) in api.platform.loan_documents(&who, id).await? {
        let bundle = contract_bundle(&api, &who, parse_contract_id(&document)?, deadline).await?;
        documents.push(LoanBundleDocument { kind, bundle });
    }
    let evidence = loop {
        api.platform.wake_evidence();
        let ev = api.platform.loan_evidence(&who, id).await?;
        let done = ev.events.iter().all(|e| e.receipt.is_some())
            && ev.actions.iter().all(|a| a.receipt.is_some());
        if done || Instant::now() >= deadline {
            break ev;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    if evidence.events.iter().any(|e| e.receipt.is_none())
        || evidence.actions.iter().any(|a| a.receipt.is_none())
    {
        let mut p = Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "receipts-pending",
            "some loan events or actions have no ledger receipt yet; retry shortly",
        );
        p.retry_after = Some(1);
        return Err(p);
    }
    let b = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let bundle = LitigationBundle {
        format: if documents.is_empty() {
            LITIGATION_FORMAT_V1
        } else {
            LITIGATION_FORMAT_V2
        }
        .to_owned(),
        documents,
        contract,
        rules,
        events: evidence
            .events
            .into_iter()
            .enumerate()
            .map(|(n, e)| LoanBundleEvent {
                text: e.text,
                record: e.record,
                receipt: e.receipt,
                proof: proofs.get(n).cloned().flatten().map(|p| b(&p)),
            })
            .collect(),
        actions: evidence
            .actions
            .into_iter()
            .map(|a| LoanBundleAction {
                key: a.key,
                day: a.day,
                rule: a.rule,
                action: a.action,
                deliveries: a.deliveries,
                record: a.record,
                receipt: a.receipt,
            })
            .collect(),
    };
    let mut response = ok(StatusCode::OK, bundle)?;
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"loan-{id}.affix-litigation.json\""
    )) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

async fn bundle(
    State(api): State<Arc<Api>>,
    who: Who,
    Path(id): Path<String>,
    query: Result<Query<BundleQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    let who = caller(who)?;
    let Query(q) =
        query.map_err(|e| Problem::new(StatusCode::BAD_REQUEST, "invalid-query", e.body_text()))?;
    if matches!(
        who,
        Principal::Member {
            role: Role::Regulator,
            ..
        }
    ) {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "regulators read metadata and evidence (GET …/events), not contents",
        ));
    }
    let id = parse_contract_id(&id)?;
    let wait = std::time::Duration::from_secs(q.wait.unwrap_or(10).min(60));
    let bundle = contract_bundle(&api, &who, id, Instant::now() + wait).await?;
    let mut response = ok(StatusCode::OK, bundle)?;
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"contract-{id}.affix-bundle.json\""
    )) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

async fn document(State(api): State<Arc<Api>>, who: Who, Path(id): Path<String>) -> ApiResult {
    let who = caller(who)?;
    if matches!(
        who,
        Principal::Member {
            role: Role::Regulator,
            ..
        }
    ) {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "regulators do not read documents",
        ));
    }
    let (_, document, _) = api
        .platform
        .content_and_document(&who, parse_contract_id(&id)?)
        .await?;
    let document = document.ok_or_else(|| {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "this contract has no document",
        )
    })?;
    Ok((
        [(header::CONTENT_TYPE, "application/octet-stream")],
        document,
    )
        .into_response())
}

async fn invite(State(api): State<Arc<Api>>, who: Who) -> ApiResult {
    let who = caller(who)?;
    let (view, party, content, document) = api.platform.invite_open(&who).await?;
    ok(
        StatusCode::OK,
        json!({
            "contract": view,
            "party_id": party,
            "content": base64::engine::general_purpose::STANDARD.encode(content),
            "document": document.map(|d| base64::engine::general_purpose::STANDARD.encode(d)),
        }),
    )
}

async fn start_email(State(api): State<Arc<Api>>, who: Who) -> ApiResult {
    let who = caller(who)?;
    let expires = api.platform.start_email_check(&who).await?;
    ok(StatusCode::OK, json!({"sent": true, "expires_ms": expires}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyIn {
    code: String,
    #[serde(default)]
    device_public_key: Option<String>,
}

async fn finish_email(State(api): State<Arc<Api>>, who: Who, body: Bytes) -> ApiResult {
    let who = caller(who)?;
    let input: VerifyIn = json_body(&body)?;
    let device = input
        .device_public_key
        .as_deref()
        .map(|k| {
            base64::engine::general_purpose::STANDARD
                .decode(k)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| {
                    Problem::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "invalid-device-key",
                        "device_public_key must be 32 bytes (Ed25519) in base64",
                    )
                })
        })
        .transpose()?;
    ok(
        StatusCode::OK,
        api.platform
            .finish_email_check(&who, &input.code, device)
            .await?,
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DigestIn {
    content_digest: String,
}

async fn view(State(api): State<Arc<Api>>, who: Who, body: Bytes) -> ApiResult {
    let who = caller(who)?;
    let input: DigestIn = json_body(&body)?;
    ok(
        StatusCode::OK,
        api.platform.view(&who, &input.content_digest).await?,
    )
}

async fn consent(State(api): State<Arc<Api>>, who: Who, body: Bytes) -> ApiResult {
    let who = caller(who)?;
    let input: DigestIn = json_body(&body)?;
    ok(
        StatusCode::OK,
        api.platform.consent(&who, &input.content_digest).await?,
    )
}

async fn signature_image(
    State(api): State<Arc<Api>>,
    who: Who,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let who = caller(who)?;
    if headers
        .get(header::CONTENT_TYPE)
        .is_none_or(|v| v.as_bytes() != b"image/png")
    {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "wrong-content-type",
            "send the handwritten signature as image/png",
        ));
    }
    if body.len() > SIGNATURE_IMAGE_BYTES_MAX {
        return Err(Problem::from(Error::TooLarge {
            what: "signature image",
            max: SIGNATURE_IMAGE_BYTES_MAX,
        }));
    }
    let digest = api
        .platform
        .put_signature_image(&who, body.to_vec())
        .await?;
    ok(StatusCode::OK, json!({"sha256": digest}))
}

async fn prepare(State(api): State<Arc<Api>>, who: Who) -> ApiResult {
    let who = caller(who)?;
    ok(StatusCode::OK, api.platform.prepare_signature(&who).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignIn {
    device_signature: String,
}

async fn sign(State(api): State<Arc<Api>>, who: Who, body: Bytes) -> ApiResult {
    let who = caller(who)?;
    let input: SignIn = json_body(&body)?;
    let signature = base64::engine::general_purpose::STANDARD
        .decode(&input.device_signature)
        .map_err(|_| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid-json",
                "device_signature is not base64",
            )
        })?;
    ok(StatusCode::OK, api.platform.sign(&who, &signature).await?)
}

async fn decline(State(api): State<Arc<Api>>, who: Who) -> ApiResult {
    let who = caller(who)?;
    ok(StatusCode::OK, api.platform.decline(&who).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookIn {
    url: String,
}

async fn create_webhook(State(api): State<Arc<Api>>, who: Who, body: Bytes) -> ApiResult {
    let who = caller(who)?;
    let input: WebhookIn = json_body(&body)?;
    ok(
        StatusCode::CREATED,
        api.platform.create_webhook(&who, &input.url).await?,
    )
}

async fn webhook_deliveries(
    State(api): State<Arc<Api>>,
    who: Who,
    Path(id): Path<String>,
) -> ApiResult {
    let who = caller(who)?;
    ok(
        StatusCode::OK,
        json!({"deliveries": api.platform.webhook_deliveries(&who, &id).await?}),
    )
}
