//! The `persons` table: a tenant's people, with their contact details and, once
//! enrolled, their device credential, vault signing key and certificate.

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
    /// The person's certificate (DER), once enrolled.
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

/// A person's enrolment so far.
#[derive(Debug, Clone)]
pub struct EnrolmentRow {
    /// Name (the certificate's subject).
    pub name: String,
    /// The device's Ed25519 public key, once registered.
    pub credential_public_key: Option<Vec<u8>>,
    /// The person's vault key id, once created.
    pub vault_key: Option<String>,
}

/// What a person signs with (all three once enrolled).
#[derive(Debug, Clone)]
pub struct SignerRow {
    /// The person's vault key id.
    pub vault_key: Option<String>,
    /// The person's vault credential id.
    pub credential_id: Option<String>,
    /// The person's certificate (DER).
    pub certificate: Option<Vec<u8>>,
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
        "SELECT name, email, mobile, certificate, created_ms FROM persons WHERE id = $1 AND tenant_id = $2",
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

/// The enrolment so far of the person `id` (who exists).
///
/// # Errors
/// [`Error::Db`] (also for a missing person).
pub async fn enrolment<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
) -> Result<EnrolmentRow, Error> {
    let row = sqlx::query(
        "SELECT name, credential_id, credential_public_key, vault_key FROM persons WHERE id = $1",
    )
    .bind(id)
    .fetch_one(executor)
    .await?;
    Ok(EnrolmentRow {
        name: row.try_get("name")?,
        credential_public_key: row.try_get("credential_public_key")?,
        vault_key: row.try_get("vault_key")?,
    })
}

/// The device public key of the person `id` (who exists), once registered.
///
/// # Errors
/// [`Error::Db`] (also for a missing person).
pub async fn device_public_key<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
) -> Result<Option<Vec<u8>>, Error> {
    Ok(sqlx::query_scalar::<_, Option<Vec<u8>>>(
        "SELECT credential_public_key FROM persons WHERE id = $1",
    )
    .bind(id)
    .fetch_one(executor)
    .await?)
}

/// Stores the person's device credential and its public key.
///
/// # Errors
/// [`Error::Db`].
pub async fn set_credential<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
    credential: &str,
    public_key: &[u8],
) -> Result<(), Error> {
    sqlx::query("UPDATE persons SET credential_id = $1, credential_public_key = $2 WHERE id = $3")
        .bind(credential)
        .bind(public_key.to_vec())
        .bind(id)
        .execute(executor)
        .await?;
    Ok(())
}

/// Stores the person's vault key and certificate (DER).
///
/// # Errors
/// [`Error::Db`].
pub async fn set_signing_key<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
    key: &str,
    certificate_der: Vec<u8>,
) -> Result<(), Error> {
    sqlx::query("UPDATE persons SET vault_key = $1, certificate = $2 WHERE id = $3")
        .bind(key)
        .bind(certificate_der)
        .bind(id)
        .execute(executor)
        .await?;
    Ok(())
}

/// What the person `id` (who exists) signs with.
///
/// # Errors
/// [`Error::Db`] (also for a missing person).
pub async fn signer<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
) -> Result<SignerRow, Error> {
    let row =
        sqlx::query("SELECT vault_key, credential_id, certificate FROM persons WHERE id = $1")
            .bind(id)
            .fetch_one(executor)
            .await?;
    Ok(SignerRow {
        vault_key: row.try_get("vault_key")?,
        credential_id: row.try_get("credential_id")?,
        certificate: row.try_get("certificate")?,
    })
}
