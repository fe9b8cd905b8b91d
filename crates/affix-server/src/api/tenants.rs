//! Tenants, their API keys, their people and their organization.

use std::sync::Arc;

use affix_platform::Role;
use affix_platform::service::{NewPerson, OrganizationView, PersonView};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiResult, json_body, ok, secret};
use crate::gate::Caller;
use crate::routes::Api;

/// A new tenant.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TenantIn {
    /// The tenant's (the organization's) name.
    #[schema(min_length = 1, max_length = 128)]
    name: String,
}

/// A tenant created, with its first admin key (shown once).
#[derive(Serialize, ToSchema)]
pub(crate) struct TenantCreated {
    /// The tenant's id.
    tenant_id: String,
    /// The first admin API key (`afk_…`); only its hash is kept.
    admin_api_key: String,
}

/// Create a tenant and its first admin API key (operator).
#[utoipa::path(post, path = "/v1/tenants", operation_id = "createTenant",
    security(("operator" = [])), request_body = TenantIn,
    responses((status = 201, body = TenantCreated)))]
pub(crate) async fn create_tenant(
    State(api): State<Arc<Api>>,
    Caller(who): Caller,
    body: Bytes,
) -> ApiResult {
    let input: TenantIn = json_body(&body)?;
    let (tenant_id, admin_api_key) = api.platform.create_tenant(&who, &input.name).await?;
    secret(
        StatusCode::CREATED,
        &TenantCreated {
            tenant_id,
            admin_api_key,
        },
    )
}

/// A new API key.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApiKeyIn {
    /// Its role.
    #[schema(value_type = String, pattern = "^(admin|member|regulator)$")]
    role: String,
    /// A label for people.
    label: String,
}

/// An API key created (shown once).
#[derive(Serialize, ToSchema)]
pub(crate) struct ApiKeyCreated {
    /// Its id (for revocation).
    id: String,
    /// The key (`afk_…`); only its hash is kept.
    api_key: String,
    /// Its role.
    role: String,
}

/// Create an API key with a role (admin).
#[utoipa::path(post, path = "/v1/api-keys", operation_id = "createApiKey",
    security(("apiKey" = [])), request_body = ApiKeyIn,
    responses((status = 201, body = ApiKeyCreated)))]
pub(crate) async fn create_api_key(
    State(api): State<Arc<Api>>,
    Caller(who): Caller,
    body: Bytes,
) -> ApiResult {
    let input: ApiKeyIn = json_body(&body)?;
    let role = Role::parse(&input.role)?;
    let key = api
        .platform
        .create_api_key(&who, role, &input.label)
        .await?;
    secret(
        StatusCode::CREATED,
        &ApiKeyCreated {
            id: key.id,
            api_key: key.secret,
            role: input.role,
        },
    )
}

/// An API key revoked.
#[derive(Serialize, ToSchema)]
pub(crate) struct ApiKeyRevoked {
    /// Its id.
    id: String,
    /// Always true.
    revoked: bool,
}

/// Revoke an API key (admin).
#[utoipa::path(post, path = "/v1/api-keys/{id}/revoke", operation_id = "revokeApiKey",
    security(("apiKey" = [])), params(("id" = String, Path, description = "API key id")),
    responses((status = 200, body = ApiKeyRevoked)))]
pub(crate) async fn revoke_api_key(
    State(api): State<Arc<Api>>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ApiResult {
    api.platform.revoke_api_key(&who, &id).await?;
    ok(StatusCode::OK, &ApiKeyRevoked { id, revoked: true })
}

/// A new person.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PersonIn {
    /// Full name (appears in the certificate and the contract).
    name: String,
    /// E-mail address: where one-time codes and invites go.
    email: String,
    /// Mainland mobile number.
    #[serde(default)]
    mobile: Option<String>,
    /// PRC resident ID number (GB 11643); checked, never stored.
    #[serde(default)]
    resident_id: Option<String>,
}

/// A person as the tenant sees it.
#[derive(Serialize, ToSchema)]
pub(crate) struct Person {
    /// Id.
    id: String,
    /// Name.
    name: String,
    /// E-mail (omitted for regulators).
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    /// Mobile number in E.164 (omitted for regulators).
    #[serde(skip_serializing_if = "Option::is_none")]
    mobile: Option<String>,
    /// Whether the person has a signing key and certificate yet.
    has_certificate: bool,
    /// Creation time (Unix ms).
    created_ms: u64,
}

impl From<PersonView> for Person {
    fn from(p: PersonView) -> Self {
        Self {
            id: p.id,
            name: p.name,
            email: p.email,
            mobile: p.mobile,
            has_certificate: p.has_certificate,
            created_ms: p.created_ms,
        }
    }
}

/// Register a person (admin, member).
#[utoipa::path(post, path = "/v1/persons", operation_id = "createPerson",
    security(("apiKey" = [])), request_body = PersonIn,
    responses((status = 201, body = Person)))]
pub(crate) async fn create_person(
    State(api): State<Arc<Api>>,
    Caller(who): Caller,
    body: Bytes,
) -> ApiResult {
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
    ok(StatusCode::CREATED, &Person::from(person))
}

/// A person (contact details omitted for regulators).
#[utoipa::path(get, path = "/v1/persons/{id}", operation_id = "getPerson",
    security(("apiKey" = [])), params(("id" = String, Path, description = "Person id")),
    responses((status = 200, body = Person)))]
pub(crate) async fn person(
    State(api): State<Arc<Api>>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ApiResult {
    ok(
        StatusCode::OK,
        &Person::from(api.platform.person(&who, &id).await?),
    )
}

/// The organization of a tenant.
#[derive(Serialize, ToSchema)]
pub(crate) struct Organization {
    /// Tenant id.
    id: String,
    /// Registered name (the tenant's name).
    name: String,
    /// Unified social credit code (GB 32100), once set.
    credit_code: Option<String>,
    /// Person id of the seal holder, once designated.
    seal_holder: Option<String>,
    /// The seal's certificate (PEM), once the seal exists.
    seal_certificate: Option<String>,
    /// The seal's vault key id, once the seal exists.
    seal_key: Option<String>,
}

impl From<OrganizationView> for Organization {
    fn from(o: OrganizationView) -> Self {
        Self {
            id: o.id,
            name: o.name,
            credit_code: o.credit_code,
            seal_holder: o.seal_holder,
            seal_certificate: o.seal_certificate,
            seal_key: o.seal_key,
        }
    }
}

/// The caller's organization: credit code, seal holder, seal certificate.
#[utoipa::path(get, path = "/v1/organization", operation_id = "getOrganization",
    security(("apiKey" = [])), responses((status = 200, body = Organization)))]
pub(crate) async fn organization(State(api): State<Arc<Api>>, Caller(who): Caller) -> ApiResult {
    ok(
        StatusCode::OK,
        &Organization::from(api.platform.organization(&who).await?),
    )
}

/// The organization's registration and seal holder.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OrganizationIn {
    /// Unified social credit code (GB 32100, 18 characters).
    credit_code: String,
    /// The seal holder's person id.
    seal_holder: String,
}

/// Set the credit code and designate the seal holder (admin).
#[utoipa::path(put, path = "/v1/organization", operation_id = "setOrganization",
    security(("apiKey" = [])), request_body = OrganizationIn,
    responses((status = 200, body = Organization)))]
pub(crate) async fn set_organization(
    State(api): State<Arc<Api>>,
    Caller(who): Caller,
    body: Bytes,
) -> ApiResult {
    let input: OrganizationIn = json_body(&body)?;
    let organization = api
        .platform
        .set_organization(&who, &input.credit_code, &input.seal_holder)
        .await?;
    ok(StatusCode::OK, &Organization::from(organization))
}
