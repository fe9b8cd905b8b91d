//! The `audit` table: who did what to which object, and when.

use super::i;
use crate::Error;

/// Records one audit entry through `executor`: the writer pool (an entry on its own,
/// after the action it records committed) or a transaction (it commits with the action).
///
/// # Errors
/// [`Error::Db`].
pub async fn insert<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    tenant: Option<&str>,
    principal: &str,
    action: &str,
    target: &str,
    at_ms: u64,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO audit (tenant_id, principal, action, target, at_ms) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(tenant)
    .bind(principal)
    .bind(action)
    .bind(target)
    .bind(i(at_ms))
    .execute(executor)
    .await?;
    Ok(())
}
