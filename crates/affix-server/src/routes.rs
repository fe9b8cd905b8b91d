//! The route table: every route of the API, listed once. Each entry is a handler whose
//! `#[utoipa::path]` declares its method, path, caller kind (security), request and
//! answers; from that one declaration [`router`] builds the route, wraps it in the gate
//! of its caller kind (and, for a POST, the idempotency layer), and adds it to the
//! OpenAPI document served at `/openapi.json`. A route cannot be registered without a
//! caller kind: [`router`] refuses a declaration without one.

use std::sync::Arc;

use affix_platform::{Platform, ProblemType};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::response::IntoResponse;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter, UtoipaMethodRouterExt as _};
use utoipa_axum::routes;

use crate::api::{contracts, invite, loans, meta, tenants, webhooks};
use crate::gate::{
    CallerKind, IDENTITY_ROUTE_PATHS, RateLimiter, gate, identity_limit, limit_in_flight,
};
use crate::idempotency::idempotency;
use crate::problem::Problem;
use crate::vault::{self, VaultServer};

/// Largest request body (a 10 MiB document in base64 inside JSON).
pub const BODY_BYTES_MAX: usize = 16 * 1024 * 1024;

/// Shared state of the HTTP layer.
pub struct Api {
    /// The platform.
    pub platform: Arc<Platform>,
    pub(crate) limiter: RateLimiter,
    /// The identity routes' own bucket per invite ([`IDENTITY_ROUTE_PATHS`]).
    pub(crate) identity_limiter: RateLimiter,
    pub(crate) in_flight: Arc<tokio::sync::Semaphore>,
    /// The OpenAPI document, serialized once (set when the router is built from the
    /// same declarations).
    pub(crate) openapi: std::sync::OnceLock<String>,
}

/// A route that cannot be registered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RouteError {
    /// A declaration names no caller kind, or another number of operations than one.
    #[error("route {path}: {why}")]
    Declaration {
        /// The route's path.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// The vault's signing queue did not start.
    #[error("vault: {0}")]
    Vault(#[from] affix_vault::Error),
    /// The OpenAPI document does not serialize.
    #[error("OpenAPI document: {0}")]
    Document(#[from] serde_json::Error),
}

/// Every route of the platform API (the vault's are in [`vault::routes`]).
fn platform_routes() -> Vec<UtoipaMethodRouter<Arc<Api>>> {
    vec![
        routes!(meta::healthz),
        routes!(meta::openapi),
        routes!(meta::ca),
        routes!(meta::ca_ocsp),
        routes!(meta::ca_crl),
        routes!(meta::verifier_keys),
        routes!(tenants::create_tenant),
        routes!(tenants::create_api_key),
        routes!(tenants::revoke_api_key),
        routes!(tenants::organization),
        routes!(tenants::set_organization),
        routes!(tenants::create_person),
        routes!(tenants::person),
        routes!(contracts::create_contract),
        routes!(contracts::list_contracts),
        routes!(contracts::contract),
        routes!(contracts::send_contract),
        routes!(contracts::remind_party),
        routes!(contracts::signing_url),
        routes!(contracts::revoke_contract),
        routes!(contracts::events),
        routes!(contracts::bundle),
        routes!(contracts::document),
        routes!(loans::loan),
        routes!(loans::loan_evidence),
        routes!(loans::loan_bundle),
        routes!(loans::propose_extension),
        routes!(loans::report_repayment),
        routes!(loans::confirm),
        routes!(loans::dispute),
        routes!(loans::acknowledgement),
        routes!(loans::acknowledgement_alias),
        routes!(webhooks::create_webhook),
        routes!(webhooks::webhook_deliveries),
        routes!(invite::invite),
        routes!(invite::start_email),
        routes!(invite::finish_email),
        routes!(invite::passkey_options),
        routes!(invite::view),
        routes!(invite::consent),
        routes!(invite::signature_image),
        routes!(invite::prepare),
        routes!(invite::sign),
        routes!(invite::decline),
    ]
}

/// The caller kind, method and path of a one-operation declaration.
pub(crate) fn declaration(
    paths: &utoipa::openapi::path::Paths,
) -> Result<(String, String, CallerKind), RouteError> {
    let value = serde_json::to_value(paths)?;
    let mut operations = Vec::new();
    if let Some(map) = value.as_object() {
        for (path, item) in map {
            for (method, operation) in item.as_object().into_iter().flatten() {
                operations.push((path.clone(), method.clone(), operation.clone()));
            }
        }
    }
    let [(path, method, operation)] =
        <[_; 1]>::try_from(operations).map_err(|o| RouteError::Declaration {
            path: format!("{:?}", o.iter().map(|(p, m, _)| (p, m)).collect::<Vec<_>>()),
            why: "one declaration must hold exactly one operation".into(),
        })?;
    let refused = |why: &str| RouteError::Declaration {
        path: format!("{method} {path}"),
        why: why.to_owned(),
    };
    let security = operation
        .get("security")
        .and_then(|s| s.as_array())
        .ok_or_else(|| refused("declares no caller kind (security)"))?;
    let kind = match security.as_slice() {
        [requirement] => {
            let names: Vec<&String> = requirement
                .as_object()
                .map(|m| m.keys().collect())
                .unwrap_or_default();
            match names.as_slice() {
                [] => CallerKind::Public,
                [name] => CallerKind::of_scheme(name)
                    .ok_or_else(|| refused(&format!("unknown caller kind {name:?}")))?,
                _ => return Err(refused("more than one caller kind")),
            }
        }
        _ => return Err(refused("declares no caller kind, or more than one")),
    };
    Ok((path, method, kind))
}

/// Registers `route` behind the gate of its declared caller kind (and the idempotency
/// layer for a POST, and the identity routes' own rate limit for those).
fn declare<S>(
    router: OpenApiRouter<S>,
    api: &Arc<Api>,
    route: UtoipaMethodRouter<S>,
) -> Result<OpenApiRouter<S>, RouteError>
where
    S: Clone + Send + Sync + 'static,
{
    let (path, method, kind) = declaration(&route.1)?;
    let route = if method == "post" {
        route.layer(middleware::from_fn_with_state(api.clone(), idempotency))
    } else {
        route
    };
    // Inside the gate (which authenticates the caller), outside idempotency.
    let route = if IDENTITY_ROUTE_PATHS.contains(&path.as_str()) {
        route.layer(middleware::from_fn_with_state(api.clone(), identity_limit))
    } else {
        route
    };
    let route = route.layer(middleware::from_fn_with_state((api.clone(), kind), gate));
    Ok(router.routes(route))
}

/// The API's router and OpenAPI document: every platform route at its path, the vault
/// API under `/v1/vault`, each behind the gate of its declared caller kind.
///
/// # Errors
/// [`RouteError`] for a declaration without a caller kind (a bug caught at start-up and
/// by the tests), or if the vault's signing queue cannot start.
pub fn router(
    platform: Arc<Platform>,
    limits: &affix_platform::config::Limits,
) -> Result<Router, RouteError> {
    let vault_server = VaultServer::start(platform.vault().clone())?;
    let api = Arc::new(Api {
        platform,
        limiter: RateLimiter::new(limits.requests_per_minute),
        identity_limiter: RateLimiter::new(limits.identity_requests_per_minute),
        in_flight: Arc::new(tokio::sync::Semaphore::new(crate::gate::IN_FLIGHT_MAX)),
        openapi: std::sync::OnceLock::new(),
    });
    let (router, document) = build(&api, vault_server)?.split_for_parts();
    let mut document = serde_json::to_value(&document)?;
    crate::openapi::complete(&mut document);
    // Only this function sets it, once per `Api`.
    let _ = api.openapi.set(serde_json::to_string(&document)?);
    Ok(router
        .fallback(|| async {
            Problem::new(ProblemType::NotFound, "no such endpoint").into_response()
        })
        .with_state(api.clone())
        .layer(middleware::from_fn_with_state(api, limit_in_flight))
        .layer(DefaultBodyLimit::max(BODY_BYTES_MAX)))
}

fn build(
    api: &Arc<Api>,
    vault_server: Arc<VaultServer>,
) -> Result<OpenApiRouter<Arc<Api>>, RouteError> {
    let mut router = OpenApiRouter::with_openapi(crate::openapi::base());
    for route in platform_routes() {
        router = declare(router, api, route)?;
    }
    let mut vault = OpenApiRouter::new();
    for route in vault::routes() {
        vault = declare(vault, api, route)?;
    }
    let vault = vault::limits(vault).with_state(vault_server);
    Ok(router.nest("/v1/vault", vault))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every route declares exactly one operation and one caller kind, and no two
    /// declare the same method and path.
    #[test]
    fn every_route_declares_one_caller_kind() {
        let mut seen = std::collections::BTreeSet::new();
        let platform = platform_routes().into_iter().map(|r| declaration(&r.1));
        let vault = vault::routes().into_iter().map(|r| declaration(&r.1));
        for declared in platform.chain(vault) {
            let (path, method, _) = declared.unwrap();
            assert!(
                seen.insert((method.clone(), path.clone())),
                "{method} {path} twice"
            );
        }
        assert!(seen.len() > 40, "{}", seen.len());
        // The identity routes' own rate limit is attached by path: each exists.
        for path in IDENTITY_ROUTE_PATHS {
            assert!(seen.iter().any(|(_, p)| p == path), "{path}");
        }
    }

    /// Two types with one schema name would overwrite each other in the document: every
    /// name stands for one schema.
    #[test]
    fn schema_names_are_unique() {
        let mut named = std::collections::BTreeMap::new();
        let platform = platform_routes().into_iter().flat_map(|r| r.0);
        let vault = vault::routes().into_iter().flat_map(|r| r.0);
        for (name, schema) in platform.chain(vault) {
            let schema = serde_json::to_value(schema).unwrap();
            if let Some(before) = named.insert(name.clone(), schema.clone()) {
                assert_eq!(before, schema, "two schemas named {name}");
            }
        }
    }
}
