//! The signed documents a loan step rests on: `loan_extensions` (extension addenda,
//! 展期) and `loan_acknowledgements` (repayment acknowledgements, 收条). Each is a
//! contract of its own, `proposed` until the loan applies it (`applied`) or moves past
//! it (`stale`).

use affix_contract::ContractId;
use sqlx::{Any, Executor, Row as _};

use super::super::i;
use crate::Error;

/// Which kind of document, i.e. which table tracks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Document {
    /// An extension addendum (`loan_extensions`).
    Extension,
    /// A repayment acknowledgement (`loan_acknowledgements`).
    Acknowledgement,
}

impl Document {
    /// The table that tracks it.
    pub(crate) fn table(self) -> &'static str {
        match self {
            Self::Extension => "loan_extensions",
            Self::Acknowledgement => "loan_acknowledgements",
        }
    }
}

/// Marks the proposed document `contract` applied.
///
/// # Errors
/// [`Error::Db`].
pub(crate) async fn mark_applied<'e>(
    db: impl Executor<'e, Database = Any>,
    document: Document,
    contract: &str,
) -> Result<(), Error> {
    sqlx::query(&format!(
        "UPDATE {} SET state = 'applied' WHERE contract_id = $1 AND state = 'proposed'",
        document.table()
    ))
    .bind(contract)
    .execute(db)
    .await?;
    Ok(())
}

/// Marks the proposed document `contract` stale.
///
/// # Errors
/// [`Error::Db`].
pub(crate) async fn mark_stale<'e>(
    db: impl Executor<'e, Database = Any>,
    document: Document,
    contract: &str,
) -> Result<(), Error> {
    sqlx::query(&format!(
        "UPDATE {} SET state = 'stale' WHERE contract_id = $1 AND state = 'proposed'",
        document.table()
    ))
    .bind(contract)
    .execute(db)
    .await?;
    Ok(())
}

/// The applied documents of one kind of `tenant`'s loan `loan`: `(created_ms, contract
/// id)`, unordered.
///
/// # Errors
/// [`Error::Db`].
pub(crate) async fn applied<'e>(
    db: impl Executor<'e, Database = Any>,
    document: Document,
    tenant: &str,
    loan: ContractId,
) -> Result<Vec<(i64, String)>, Error> {
    let rows = sqlx::query(&format!(
        "SELECT d.contract_id, d.created_ms FROM {} d JOIN loans l ON l.contract_id = d.loan_id \
         WHERE d.loan_id = $1 AND l.tenant_id = $2 AND d.state = 'applied'",
        document.table()
    ))
    .bind(loan.to_string())
    .bind(tenant)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("created_ms")?, r.try_get("contract_id")?)))
        .collect()
}

/// The acknowledgement contract still open for repayment `repayment` of loan `loan`, if
/// any (proposed, and its contract neither declined, revoked nor expired).
///
/// # Errors
/// [`Error::Db`].
pub(crate) async fn open_acknowledgement<'e>(
    db: impl Executor<'e, Database = Any>,
    loan: ContractId,
    repayment: u32,
) -> Result<Option<String>, Error> {
    Ok(sqlx::query_scalar(
        "SELECT r.contract_id FROM loan_acknowledgements r JOIN contracts c ON c.id = r.contract_id \
         WHERE r.loan_id = $1 AND r.repayment = $2 AND r.state = 'proposed' \
         AND c.status NOT IN ('declined', 'revoked', 'expired')",
    )
    .bind(loan.to_string())
    .bind(i64::from(repayment))
    .fetch_optional(db)
    .await?)
}

/// Records the proposed acknowledgement contract `contract` of repayment `repayment` of
/// loan `loan`, with its text.
///
/// # Errors
/// [`Error::Db`].
pub(crate) async fn insert_acknowledgement<'e>(
    db: impl Executor<'e, Database = Any>,
    contract: &str,
    loan: ContractId,
    repayment: u32,
    acknowledgement: String,
    created_ms: u64,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO loan_acknowledgements (contract_id, loan_id, repayment, acknowledgement, state, created_ms) \
         VALUES ($1, $2, $3, $4, 'proposed', $5)",
    )
    .bind(contract)
    .bind(loan.to_string())
    .bind(i64::from(repayment))
    .bind(acknowledgement)
    .bind(i(created_ms))
    .execute(db)
    .await?;
    Ok(())
}

/// A proposed acknowledgement whose contract the lender has signed.
#[derive(Debug, Clone)]
pub(crate) struct SignedAcknowledgement {
    /// The acknowledgement's contract id.
    pub(crate) contract_id: String,
    /// The loan's contract id (as stored).
    pub(crate) loan_id: String,
    /// The repayment's number (as stored).
    pub(crate) repayment: i64,
    /// The acknowledgement text the lender signed.
    pub(crate) acknowledgement: String,
    /// The loan's tenant.
    pub(crate) tenant_id: String,
}

/// Up to 100 proposed acknowledgements whose contract is effective.
///
/// # Errors
/// [`Error::Db`].
pub(crate) async fn signed_acknowledgements<'e>(
    db: impl Executor<'e, Database = Any>,
) -> Result<Vec<SignedAcknowledgement>, Error> {
    let rows = sqlx::query(
        "SELECT r.contract_id, r.loan_id, r.repayment, r.acknowledgement, l.tenant_id \
         FROM loan_acknowledgements r JOIN contracts c ON c.id = r.contract_id JOIN loans l ON l.contract_id = r.loan_id \
         WHERE r.state = 'proposed' AND c.status = 'effective' LIMIT 100",
    )
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(SignedAcknowledgement {
                contract_id: r.try_get("contract_id")?,
                loan_id: r.try_get("loan_id")?,
                repayment: r.try_get("repayment")?,
                acknowledgement: r.try_get("acknowledgement")?,
                tenant_id: r.try_get("tenant_id")?,
            })
        })
        .collect()
}

/// A proposed extension addendum, as `propose_extension` records it.
#[derive(Debug, Clone)]
pub(crate) struct NewExtension<'a> {
    /// The addendum's contract id.
    pub(crate) contract: &'a str,
    /// The loan.
    pub(crate) loan: ContractId,
    /// New annual rate, percent (decimal text).
    pub(crate) annual_rate_percent: String,
    /// New term, months.
    pub(crate) term_months: u16,
    /// New repayment method.
    pub(crate) repayment_method: &'a str,
    /// The day it was proposed.
    pub(crate) proposed_on: String,
    /// The addendum text.
    pub(crate) addendum: String,
    /// Now, ms since the epoch.
    pub(crate) created_ms: u64,
}

/// Records a proposed extension addendum.
///
/// # Errors
/// [`Error::Db`].
pub(crate) async fn insert_extension<'e>(
    db: impl Executor<'e, Database = Any>,
    extension: NewExtension<'_>,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO loan_extensions (contract_id, loan_id, annual_rate_percent, term_months, repayment_method, proposed_on, addendum, state, created_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'proposed', $8)",
    )
    .bind(extension.contract)
    .bind(extension.loan.to_string())
    .bind(extension.annual_rate_percent)
    .bind(i64::from(extension.term_months))
    .bind(extension.repayment_method)
    .bind(extension.proposed_on)
    .bind(extension.addendum)
    .bind(i(extension.created_ms))
    .execute(db)
    .await?;
    Ok(())
}

/// A stored extension addendum's terms, proposal day and text (columns as stored).
#[derive(Debug, Clone)]
pub(crate) struct ExtensionRecord {
    /// The loan's contract id.
    pub(crate) loan_id: String,
    /// New annual rate, percent (decimal text).
    pub(crate) annual_rate_percent: String,
    /// New term, months.
    pub(crate) term_months: i64,
    /// New repayment method.
    pub(crate) repayment_method: String,
    /// The day it was proposed.
    pub(crate) proposed_on: String,
    /// The addendum text the parties sign.
    pub(crate) addendum: String,
}

impl ExtensionRecord {
    fn of(r: &sqlx::any::AnyRow) -> Result<Self, Error> {
        Ok(Self {
            loan_id: r.try_get("loan_id")?,
            annual_rate_percent: r.try_get("annual_rate_percent")?,
            term_months: r.try_get("term_months")?,
            repayment_method: r.try_get("repayment_method")?,
            proposed_on: r.try_get("proposed_on")?,
            addendum: r.try_get("addendum")?,
        })
    }
}

/// The extension addendum `contract`, if it is one and still proposed.
///
/// # Errors
/// [`Error::Db`].
pub(crate) async fn proposed_extension<'e>(
    db: impl Executor<'e, Database = Any>,
    contract: ContractId,
) -> Result<Option<ExtensionRecord>, Error> {
    sqlx::query(
        "SELECT loan_id, annual_rate_percent, term_months, repayment_method, proposed_on, addendum \
         FROM loan_extensions WHERE contract_id = $1 AND state = 'proposed'",
    )
    .bind(contract.to_string())
    .fetch_optional(db)
    .await?
    .as_ref()
    .map(ExtensionRecord::of)
    .transpose()
}

/// A proposed extension addendum both parties have signed.
#[derive(Debug, Clone)]
pub(crate) struct AgreedExtension {
    /// The addendum's contract id.
    pub(crate) contract_id: String,
    /// The loan's tenant.
    pub(crate) tenant_id: String,
    /// The addendum.
    pub(crate) extension: ExtensionRecord,
}

/// Up to 100 proposed extension addenda whose contract is effective.
///
/// # Errors
/// [`Error::Db`].
pub(crate) async fn agreed_extensions<'e>(
    db: impl Executor<'e, Database = Any>,
) -> Result<Vec<AgreedExtension>, Error> {
    let rows = sqlx::query(
        "SELECT e.contract_id, e.loan_id, e.annual_rate_percent, e.term_months, e.repayment_method, e.proposed_on, e.addendum, l.tenant_id \
         FROM loan_extensions e JOIN contracts c ON c.id = e.contract_id JOIN loans l ON l.contract_id = e.loan_id \
         WHERE e.state = 'proposed' AND c.status = 'effective' LIMIT 100",
    )
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AgreedExtension {
                contract_id: r.try_get("contract_id")?,
                tenant_id: r.try_get("tenant_id")?,
                extension: ExtensionRecord::of(r)?,
            })
        })
        .collect()
}
