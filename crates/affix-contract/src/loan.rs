//! The typed view of a validated loan note: where the rate cap and schedules will go.

use affix_identity::Date;

use crate::template::parse_date;
use crate::{Decimal, Error, LOAN_NOTE_ID, ValidatedFields};

/// How a loan is repaid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepaymentMethod {
    /// Principal and interest at the end of the term (`bullet`).
    Bullet,
    /// Equal monthly instalments of principal and interest (`equal_instalments`).
    EqualInstalments,
    /// Equal monthly principal, interest on the balance (`equal_principal`).
    EqualPrincipal,
}

/// The terms of a loan note, typed, from fields that passed the loan note template.
///
/// **Extension point**: the legal interest-rate cap (four times the one-year LPR at
/// signing) and the repayment schedule need data this crate does not have yet; they will
/// take a `LoanNote` and return a refusal or a schedule. Nothing here checks them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoanNote {
    /// The principal in yuan, scale 2.
    pub principal_yuan: Decimal,
    /// The annual rate in percent, scale 2.
    pub annual_rate_percent: Decimal,
    /// The start date.
    pub start_date: Date,
    /// The term in months, 1 to 360.
    pub term_months: u16,
    /// The repayment method.
    pub repayment_method: RepaymentMethod,
}

impl LoanNote {
    /// The typed terms of `fields`, which must have passed the built-in loan note
    /// template ([`Error::InvalidContent`] otherwise).
    pub fn from_fields(fields: &ValidatedFields) -> Result<Self, Error> {
        let wrong = || Error::InvalidContent {
            reason: "fields did not pass the loan note template",
        };
        if fields.template() != LOAN_NOTE_ID {
            return Err(wrong());
        }
        let principal_yuan = fields
            .get("principal")
            .and_then(|v| v.strip_prefix("CNY "))
            .and_then(Decimal::parse)
            .ok_or_else(wrong)?;
        let annual_rate_percent = fields
            .get("annual_rate_percent")
            .and_then(Decimal::parse)
            .ok_or_else(wrong)?;
        let start_date = fields
            .get("start_date")
            .and_then(parse_date)
            .ok_or_else(wrong)?;
        let term_months = fields
            .get("term_months")
            .and_then(|v| v.parse().ok())
            .ok_or_else(wrong)?;
        let repayment_method = match fields.get("repayment_method") {
            Some("bullet") => RepaymentMethod::Bullet,
            Some("equal_instalments") => RepaymentMethod::EqualInstalments,
            Some("equal_principal") => RepaymentMethod::EqualPrincipal,
            _ => return Err(wrong()),
        };
        Ok(Self {
            principal_yuan,
            annual_rate_percent,
            start_date,
            term_months,
            repayment_method,
        })
    }
}
