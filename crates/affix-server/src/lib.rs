//! The HTTP API of Affix: the signing platform's routes and the key vault's, each
//! declared once (method, path, caller kind, request and answer schemas) in a
//! `#[utoipa::path]` beside its handler; the router, the caller gate and the OpenAPI 3.1
//! document at `/openapi.json` are generated from those declarations ([`routes`]).
//!
//! **Architecture invariant:** this is the only crate that knows HTTP and the API's JSON.
//! Handlers parse the request, call one `affix_platform::Platform` (or vault) operation
//! and render its answer; authorization, state and evidence are the platform's. Every
//! error is an RFC 9457 problem of an `affix_platform::ProblemType` ([`problem`]), with
//! the HTTP status chosen here.
//!
//! - [`routes`]: the route table and the router built from it.
//! - `gate`: who may call a route (bearer tokens, caller kinds, rate limits).
//! - `idempotency`: `Idempotency-Key` on every POST.
//! - [`vault`]: the vault API, mounted at `/v1/vault` or served alone.
//! - [`start`]: `affix serve`, the platform launched with this API in front.
#![forbid(unsafe_code)]

mod api;
mod gate;
mod idempotency;
mod openapi;
pub mod problem;
pub mod routes;
pub mod start;
pub mod vault;

pub use gate::{Caller, CallerKind, IN_FLIGHT_MAX};
pub use problem::Problem;
pub use routes::{Api, BODY_BYTES_MAX, RouteError, router};
pub use start::{Running, start, start_with_clock};
