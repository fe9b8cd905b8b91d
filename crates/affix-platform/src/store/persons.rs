//! The `persons` table: a tenant's address book — the name the tenant knows a person
//! by and where the person is reached. Signing belongs to the person's own account
//! ([`super::signers`]), found by the verified e-mail address, never to this row.

use sqlx::Row as _;

use super::{i, u};
use crate::Error;

type Any = sqlx::Any;

/// A person as the tenant reads it.
#[derive(Debug, Clone)]
pub struct PersonRow {
    /// Name.
    pub name: String,
    /// E-mail address.
    pub email: String,
    /// Mobile number (E.164).
    pub mobile: Option<String>,
    /// The certificate (DER) of the signer account of the person's address, once there
    /// is one.
    pub certificate: Option<Vec<u8>>,
    /// Creation time.
    pub created_ms: u64,
}

/// Where a person is reached.
#[derive(Debug, Clone)]
pub struct ContactRow {
    /// E-mail address.
    pub email: String,
    /// Mobile number (E.164).
    pub mobile: Option<String>,
}

/// Inserts a person.
///
/// # Errors
/// [`Error::Db`].
pub async fn insert<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
    tenant: &str,
    name: &str,
    email: &str,
    mobile: Option<&str>,
    created_ms: u64,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO persons (id, tenant_id, name, email, mobile, created_ms) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(tenant)
    .bind(name)
    .bind(email)
    .bind(mobile)
    .bind(i(created_ms))
    .execute(executor)
    .await?;
    Ok(())
}

/// The person `id` of `tenant`, if any.
///
/// # Errors
/// [`Error::Db`].
pub async fn of_tenant<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
    tenant: &str,
) -> Result<Option<PersonRow>, Error> {
    let Some(row) = sqlx::query(
        "SELECT p.name, p.email, p.mobile, s.certificate, p.created_ms FROM persons p \
         LEFT JOIN signers s ON s.email = p.email WHERE p.id = $1 AND p.tenant_id = $2",
    )
    .bind(id)
    .bind(tenant)
    .fetch_optional(executor)
    .await?
    else {
        return Ok(None);
    };
    Ok(Some(PersonRow {
        name: row.try_get("name")?,
        email: row.try_get("email")?,
        mobile: row.try_get("mobile")?,
        certificate: row.try_get("certificate")?,
        created_ms: u(row.try_get("created_ms")?),
    }))
}

/// The name and e-mail address of the person `id` of `tenant`, if any.
///
/// # Errors
/// [`Error::Db`].
pub async fn name_and_email<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
    tenant: &str,
) -> Result<Option<(String, String)>, Error> {
    let Some(row) = sqlx::query("SELECT name, email FROM persons WHERE id = $1 AND tenant_id = $2")
        .bind(id)
        .bind(tenant)
        .fetch_optional(executor)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some((row.try_get("name")?, row.try_get("email")?)))
}

/// Whether `tenant` has the person `id`.
///
/// # Errors
/// [`Error::Db`].
pub async fn exists<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
    tenant: &str,
) -> Result<bool, Error> {
    let known: Option<String> =
        sqlx::query_scalar("SELECT id FROM persons WHERE id = $1 AND tenant_id = $2")
            .bind(id)
            .bind(tenant)
            .fetch_optional(executor)
            .await?;
    Ok(known.is_some())
}

/// Where the person `id` (who exists) is reached.
///
/// # Errors
/// [`Error::Db`] (also for a missing person).
pub async fn contact<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
) -> Result<ContactRow, Error> {
    let row = sqlx::query("SELECT email, mobile FROM persons WHERE id = $1")
        .bind(id)
        .fetch_one(executor)
        .await?;
    Ok(ContactRow {
        email: row.try_get("email")?,
        mobile: row.try_get("mobile")?,
    })
}
