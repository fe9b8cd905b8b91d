//! The `tenants` table (a tenant is an organization: its name, credit code, seal
//! holder and seal) and the `api_keys` table (a tenant's bearer keys, by hash).

use sqlx::Row as _;

use super::i;
use crate::Error;

type Any = sqlx::Any;

/// An API key that is not revoked, as `authenticate` checks it.
#[derive(Debug, Clone)]
pub struct ApiKeyRow {
    /// The tenant (`NULL` for none: such a key authenticates nobody).
    pub tenant_id: Option<String>,
    /// The role's API name.
    pub role: String,
    /// SHA-256 of the key's secret.
    pub secret_hash: Vec<u8>,
}

/// The organization columns of a tenant.
#[derive(Debug, Clone)]
pub struct OrganizationRow {
    /// Registered name.
    pub name: String,
    /// Unified social credit code, once set.
    pub credit_code: Option<String>,
    /// Person id of the seal holder, once designated.
    pub seal_holder: Option<String>,
    /// The seal's vault key id, once the seal exists.
    pub seal_key: Option<String>,
    /// The seal's certificate (DER), once the seal exists.
    pub seal_certificate: Option<Vec<u8>>,
}

/// The seal-creation progress of a tenant (each step is stored as it is done).
#[derive(Debug, Clone)]
pub struct SealProgressRow {
    /// Registered name.
    pub name: String,
    /// Unified social credit code, once set.
    pub credit_code: Option<String>,
    /// Person id of the seal holder, once designated.
    pub seal_holder: Option<String>,
    /// The organization's vault owner, once created.
    pub seal_owner: Option<String>,
    /// The holder's device credential registered for the seal.
    pub seal_credential: Option<String>,
    /// The seal's vault key id, once the seal exists.
    pub seal_key: Option<String>,
}

/// What a sealing party signs with, as stored (all three once the seal exists).
#[derive(Debug, Clone)]
pub struct SealRow {
    /// The seal's vault key id.
    pub seal_key: Option<String>,
    /// The seal's vault credential id.
    pub seal_credential: Option<String>,
    /// The seal's certificate (DER).
    pub seal_certificate: Option<Vec<u8>>,
}

/// Inserts a tenant.
///
/// # Errors
/// [`Error::Db`].
pub async fn insert<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
    name: &str,
    created_ms: u64,
) -> Result<(), Error> {
    sqlx::query("INSERT INTO tenants (id, name, created_ms) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(name)
        .bind(i(created_ms))
        .execute(executor)
        .await?;
    Ok(())
}

/// The tenant's name, if the tenant exists.
///
/// # Errors
/// [`Error::Db`].
pub async fn name<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
) -> Result<Option<String>, Error> {
    Ok(sqlx::query_scalar("SELECT name FROM tenants WHERE id = $1")
        .bind(id)
        .fetch_optional(executor)
        .await?)
}

/// The organization columns of a tenant that exists.
///
/// # Errors
/// [`Error::Db`] (also for a missing tenant).
pub async fn organization<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
) -> Result<OrganizationRow, Error> {
    let row = sqlx::query(
        "SELECT name, credit_code, seal_holder, seal_key, seal_certificate FROM tenants WHERE id = $1",
    )
    .bind(id)
    .fetch_one(executor)
    .await?;
    Ok(OrganizationRow {
        name: row.try_get("name")?,
        credit_code: row.try_get("credit_code")?,
        seal_holder: row.try_get("seal_holder")?,
        seal_key: row.try_get("seal_key")?,
        seal_certificate: row.try_get("seal_certificate")?,
    })
}

/// Sets the credit code and seal holder unless the seal exists; whether it did.
///
/// # Errors
/// [`Error::Db`].
pub async fn set_organization<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
    credit_code: &str,
    seal_holder: &str,
) -> Result<bool, Error> {
    let done = sqlx::query(
        "UPDATE tenants SET credit_code = $1, seal_holder = $2 WHERE id = $3 AND seal_key IS NULL",
    )
    .bind(credit_code)
    .bind(seal_holder)
    .bind(id)
    .execute(executor)
    .await?;
    Ok(done.rows_affected() != 0)
}

/// The designated seal holder of a tenant, if any.
///
/// # Errors
/// [`Error::Db`].
pub async fn seal_holder<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
) -> Result<Option<String>, Error> {
    Ok(
        sqlx::query_scalar("SELECT seal_holder FROM tenants WHERE id = $1")
            .bind(id)
            .fetch_optional(executor)
            .await?
            .flatten(),
    )
}

/// The seal-creation progress of a tenant that exists.
///
/// # Errors
/// [`Error::Db`] (also for a missing tenant).
pub async fn seal_progress<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
) -> Result<SealProgressRow, Error> {
    let row = sqlx::query(
        "SELECT name, credit_code, seal_holder, seal_owner, seal_credential, seal_key FROM tenants WHERE id = $1",
    )
    .bind(id)
    .fetch_one(executor)
    .await?;
    Ok(SealProgressRow {
        name: row.try_get("name")?,
        credit_code: row.try_get("credit_code")?,
        seal_holder: row.try_get("seal_holder")?,
        seal_owner: row.try_get("seal_owner")?,
        seal_credential: row.try_get("seal_credential")?,
        seal_key: row.try_get("seal_key")?,
    })
}

/// Stores the organization's vault owner.
///
/// # Errors
/// [`Error::Db`].
pub async fn set_seal_owner<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
    owner: &str,
) -> Result<(), Error> {
    sqlx::query("UPDATE tenants SET seal_owner = $1 WHERE id = $2")
        .bind(owner)
        .bind(id)
        .execute(executor)
        .await?;
    Ok(())
}

/// Stores the seal's vault credential.
///
/// # Errors
/// [`Error::Db`].
pub async fn set_seal_credential<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
    credential: &str,
) -> Result<(), Error> {
    sqlx::query("UPDATE tenants SET seal_credential = $1 WHERE id = $2")
        .bind(credential)
        .bind(id)
        .execute(executor)
        .await?;
    Ok(())
}

/// Stores the seal's vault key and certificate (DER).
///
/// # Errors
/// [`Error::Db`].
pub async fn set_seal_key<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
    key: &str,
    certificate_der: Vec<u8>,
) -> Result<(), Error> {
    sqlx::query("UPDATE tenants SET seal_key = $1, seal_certificate = $2 WHERE id = $3")
        .bind(key)
        .bind(certificate_der)
        .bind(id)
        .execute(executor)
        .await?;
    Ok(())
}

/// What a sealing party of a tenant that exists signs with.
///
/// # Errors
/// [`Error::Db`] (also for a missing tenant).
pub async fn seal<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
) -> Result<SealRow, Error> {
    let row = sqlx::query(
        "SELECT seal_key, seal_credential, seal_certificate FROM tenants WHERE id = $1",
    )
    .bind(id)
    .fetch_one(executor)
    .await?;
    Ok(SealRow {
        seal_key: row.try_get("seal_key")?,
        seal_credential: row.try_get("seal_credential")?,
        seal_certificate: row.try_get("seal_certificate")?,
    })
}

/// Inserts an API key (its secret only by hash).
///
/// # Errors
/// [`Error::Db`].
pub async fn insert_api_key<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
    tenant: &str,
    role: &str,
    secret_hash: &[u8; 32],
    label: &str,
    created_ms: u64,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO api_keys (id, tenant_id, role, secret_hash, label, created_ms) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(tenant)
    .bind(role)
    .bind(secret_hash.to_vec())
    .bind(label)
    .bind(i(created_ms))
    .execute(executor)
    .await?;
    Ok(())
}

/// The API key `id` unless revoked.
///
/// # Errors
/// [`Error::Db`].
pub async fn live_api_key<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
) -> Result<Option<ApiKeyRow>, Error> {
    let Some(row) = sqlx::query(
        "SELECT tenant_id, role, secret_hash FROM api_keys WHERE id = $1 AND revoked_ms IS NULL",
    )
    .bind(id)
    .fetch_optional(executor)
    .await?
    else {
        return Ok(None);
    };
    Ok(Some(ApiKeyRow {
        tenant_id: row.try_get("tenant_id")?,
        role: row.try_get("role")?,
        secret_hash: row.try_get("secret_hash")?,
    }))
}

/// Revokes the live API key `id` of `tenant` at `now_ms`; whether there was one.
///
/// # Errors
/// [`Error::Db`].
pub async fn revoke_api_key<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
    tenant: &str,
    now_ms: u64,
) -> Result<bool, Error> {
    let done = sqlx::query(
        "UPDATE api_keys SET revoked_ms = $1 WHERE id = $2 AND tenant_id = $3 AND revoked_ms IS NULL",
    )
    .bind(i(now_ms))
    .bind(id)
    .bind(tenant)
    .execute(executor)
    .await?;
    Ok(done.rows_affected() != 0)
}
