//! The `signers` table: signer accounts. A natural person's account is the platform's,
//! keyed by the e-mail address the person proved to control, and shared by every tenant
//! that invites that address; no tenant creates, names or reads into one.

use sqlx::Row as _;

use super::{i, u};
use crate::Error;

type Any = sqlx::Any;

/// A signer account.
#[derive(Debug, Clone)]
pub struct SignerAccountRow {
    /// Account id: the person's vault owner id, and the certificate's serialNumber.
    pub id: String,
    /// The verified e-mail address.
    pub email: String,
    /// The name the signer gave (self-asserted).
    pub name: String,
    /// The signer's vault credential id.
    pub credential_id: String,
    /// Its kind (`device-ed25519`, `browser-p256`, `passkey-es256`, `passkey-ed25519`).
    pub credential_kind: String,
    /// Its public key (raw Ed25519, SEC1 P-256, or a passkey's COSE key).
    pub credential_public_key: Vec<u8>,
    /// A passkey's WebAuthn credential id.
    pub webauthn_credential_id: Option<Vec<u8>>,
    /// The signer's vault key id, once created.
    pub vault_key: Option<String>,
    /// The signer's certificate (DER), once issued.
    pub certificate: Option<Vec<u8>>,
    /// Creation time.
    pub created_ms: u64,
}

const COLUMNS: &str = "id, email, name, credential_id, credential_kind, credential_public_key, webauthn_credential_id, vault_key, certificate, created_ms";

fn from_row(row: &sqlx::any::AnyRow) -> Result<SignerAccountRow, Error> {
    Ok(SignerAccountRow {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        credential_id: row.try_get("credential_id")?,
        credential_kind: row.try_get("credential_kind")?,
        credential_public_key: row.try_get("credential_public_key")?,
        webauthn_credential_id: row.try_get("webauthn_credential_id")?,
        vault_key: row.try_get("vault_key")?,
        certificate: row.try_get("certificate")?,
        created_ms: u(row.try_get("created_ms")?),
    })
}

/// The account of the verified address `email`, if there is one.
///
/// # Errors
/// [`Error::Db`].
pub async fn by_email<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    email: &str,
) -> Result<Option<SignerAccountRow>, Error> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM signers WHERE email = $1"))
        .bind(email)
        .fetch_optional(executor)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The account of the address of the tenant's person `person`, if there is one: one
/// query for the signing path (prepare and sign look it up on every signature).
///
/// # Errors
/// [`Error::Db`].
pub async fn of_person<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    person: &str,
) -> Result<Option<SignerAccountRow>, Error> {
    let columns = COLUMNS
        .split(", ")
        .map(|c| format!("s.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let row = sqlx::query(&format!(
        "SELECT {columns} FROM signers s JOIN persons p ON p.email = s.email WHERE p.id = $1"
    ))
    .bind(person)
    .fetch_optional(executor)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Creates an account; `false` if the address has one already (a concurrent first
/// check won: the caller reads that one).
///
/// # Errors
/// [`Error::Db`].
pub async fn insert<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    row: &SignerAccountRow,
) -> Result<bool, Error> {
    let done = sqlx::query(
        "INSERT INTO signers (id, email, name, credential_id, credential_kind, credential_public_key, webauthn_credential_id, created_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (email) DO NOTHING",
    )
    .bind(&row.id)
    .bind(&row.email)
    .bind(&row.name)
    .bind(&row.credential_id)
    .bind(&row.credential_kind)
    .bind(row.credential_public_key.clone())
    .bind(row.webauthn_credential_id.clone())
    .bind(i(row.created_ms))
    .execute(executor)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Stores the account's vault key and certificate (DER).
///
/// # Errors
/// [`Error::Db`].
pub async fn set_signing_key<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    id: &str,
    key: &str,
    certificate_der: Vec<u8>,
) -> Result<(), Error> {
    sqlx::query("UPDATE signers SET vault_key = $1, certificate = $2 WHERE id = $3")
        .bind(key)
        .bind(certificate_der)
        .bind(id)
        .execute(executor)
        .await?;
    Ok(())
}
