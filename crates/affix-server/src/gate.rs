//! Who may call what. Every route declares its [`CallerKind`] once, as the security
//! requirement of its OpenAPI operation; [`crate::routes`] wraps the route in the gate
//! of that kind when it registers it, so no route exists without one. The gate
//! authenticates the bearer token, applies the caller's rate limit and checks the kind
//! before the handler or any body is read; roles within a tenant are the platform's to
//! check.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use affix_platform::{Principal, ProblemType, Role};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::problem::Problem;
use crate::routes::Api;

/// Who may call an operation: the security requirement of its OpenAPI declaration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerKind {
    /// Anyone (`security(())`).
    Public,
    /// The operator token (`security(("operator" = []))`).
    Operator,
    /// A tenant API key of any role (`security(("apiKey" = []))`).
    ApiKey,
    /// A party's invite token (`security(("invite" = []))`).
    Invite,
    /// A tenant API key of the admin or member role, acting in the key vault for its
    /// tenant (`security(("vaultKey" = []))`).
    VaultKey,
}

impl CallerKind {
    /// The security scheme's name in the OpenAPI document (`None` for public).
    pub fn scheme(self) -> Option<&'static str> {
        match self {
            CallerKind::Public => None,
            CallerKind::Operator => Some("operator"),
            CallerKind::ApiKey => Some("apiKey"),
            CallerKind::Invite => Some("invite"),
            CallerKind::VaultKey => Some("vaultKey"),
        }
    }

    /// The kind whose scheme is `name`.
    pub fn of_scheme(name: &str) -> Option<Self> {
        [
            CallerKind::Operator,
            CallerKind::ApiKey,
            CallerKind::Invite,
            CallerKind::VaultKey,
        ]
        .into_iter()
        .find(|k| k.scheme() == Some(name))
    }

    fn admits(self, principal: &Principal) -> bool {
        match self {
            CallerKind::Public => true,
            CallerKind::Operator => *principal == Principal::Operator,
            CallerKind::ApiKey => matches!(principal, Principal::Member { .. }),
            CallerKind::Invite => matches!(principal, Principal::Party { .. }),
            CallerKind::VaultKey => matches!(
                principal,
                Principal::Member {
                    role: Role::Admin | Role::Member,
                    ..
                }
            ),
        }
    }

    fn needs(self) -> &'static str {
        match self {
            CallerKind::Public => "nothing",
            CallerKind::Operator => "the operator token",
            CallerKind::ApiKey => "a tenant API key",
            CallerKind::Invite => "a party's invite token",
            CallerKind::VaultKey => "a tenant API key of the admin or member role",
        }
    }
}

/// The authenticated caller of a request, put there by its route's gate.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // A handler that takes a caller sits behind a gate other than `Public`; without
        // one there is no caller, and the request is refused rather than served.
        parts.extensions.get::<Caller>().cloned().ok_or_else(|| {
            Problem::new(
                ProblemType::Unauthenticated,
                "send Authorization: Bearer <API key or invite token>",
            )
        })
    }
}

/// The gate of a route of kind `kind`.
pub(crate) async fn gate(
    State((api, kind)): State<(Arc<Api>, CallerKind)>,
    mut request: Request,
    next: Next,
) -> Response {
    if kind == CallerKind::Public {
        return next.run(request).await;
    }
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(token) = token else {
        return Problem::new(
            ProblemType::Unauthenticated,
            "send Authorization: Bearer <API key or invite token>",
        )
        .into_response();
    };
    let principal = match api.platform.authenticate(token).await {
        Ok(p) => p,
        Err(e) => return Problem::from(e).into_response(),
    };
    if let Err(wait_s) = api.limiter.check(&principal.name()) {
        return Problem::new(
            ProblemType::RateLimited,
            format!("too many requests; retry in {wait_s} s"),
        )
        .retry_after(wait_s)
        .into_response();
    }
    if !kind.admits(&principal) {
        return Problem::new(
            ProblemType::Forbidden,
            format!("this operation needs {}", kind.needs()),
        )
        .into_response();
    }
    if kind == CallerKind::VaultKey
        && let Principal::Member { tenant, .. } = &principal
    {
        match affix_vault::TenantId::new(tenant) {
            Ok(t) => {
                request
                    .extensions_mut()
                    .insert(crate::vault::VaultTenant(t));
            }
            Err(e) => return Problem::from(e).into_response(),
        }
    }
    request.extensions_mut().insert(Caller(principal));
    next.run(request).await
}

/// The identity routes (sending and checking a one-time code): besides the caller's
/// general bucket, each invite has a bucket of its own on these, so a holder of the
/// invite cannot spend the general allowance on guessing codes or mailing them.
pub(crate) const IDENTITY_ROUTE_PATHS: [&str; 3] = [
    "/v1/invite/identity/email",
    "/v1/invite/identity/email/verify",
    "/v1/invite/identity/passkey-options",
];

/// The identity routes' own rate limit, per caller (an invite), inside the gate (which
/// put the caller there) and outside the idempotency layer (a refusal is not stored).
pub(crate) async fn identity_limit(
    State(api): State<Arc<Api>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(Caller(who)) = request.extensions().get::<Caller>() else {
        return Problem::new(
            ProblemType::Unauthenticated,
            "send Authorization: Bearer <invite token>",
        )
        .into_response();
    };
    if let Err(wait_s) = api.identity_limiter.check(&who.name()) {
        return Problem::new(
            ProblemType::RateLimited,
            format!("too many identity requests for this invite; retry in {wait_s} s"),
        )
        .retry_after(wait_s)
        .into_response();
    }
    next.run(request).await
}

/// Callers tracked by the rate limiter before the oldest are forgotten.
const RATE_TABLE_MAX: usize = 100_000;

/// A token bucket per caller.
pub(crate) struct RateLimiter {
    per_minute: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    pub(crate) fn new(per_minute: u32) -> Self {
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

/// Requests handled at once; more are refused with 503 `busy` (never queued without
/// bound).
pub const IN_FLIGHT_MAX: usize = 1024;

/// Refuses a request beyond [`IN_FLIGHT_MAX`] in flight.
pub(crate) async fn limit_in_flight(
    State(api): State<Arc<Api>>,
    request: Request,
    next: Next,
) -> Response {
    let Ok(_permit) = api.in_flight.clone().try_acquire_owned() else {
        return Problem::new(
            ProblemType::Busy,
            format!("more than {IN_FLIGHT_MAX} requests in flight; retry shortly"),
        )
        .into_response();
    };
    next.run(request).await
}
