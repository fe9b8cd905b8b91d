//! The typed view of a validated loan note, its legal rate cap and its repayment
//! schedule.

use affix_time::Date;

use crate::template::parse_date;
use crate::{
    Decimal, Error, LOAN_NOTE_ID, LOAN_NOTE_V1_ID, LprTable, RateCap, Schedule, ValidatedFields,
};

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

impl RepaymentMethod {
    /// Every method, in the loan note template's order (its enumeration options).
    pub const ALL: [Self; 3] = [Self::Bullet, Self::EqualInstalments, Self::EqualPrincipal];

    /// The loan note template's value: `bullet`, `equal_instalments` or
    /// `equal_principal`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Bullet => "bullet",
            Self::EqualInstalments => "equal_instalments",
            Self::EqualPrincipal => "equal_principal",
        }
    }
}

impl core::str::FromStr for RepaymentMethod {
    type Err = Error;

    /// The inverse of [`RepaymentMethod::as_str`]; [`Error::UnknownName`] otherwise.
    fn from_str(text: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == text)
            .ok_or(Error::UnknownName {
                what: "repayment method",
                expected: "bullet, equal_instalments or equal_principal",
            })
    }
}

impl core::fmt::Display for RepaymentMethod {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The terms of a loan note, typed, from fields that passed the loan note template.
///
/// [`LoanNote::check_rate_cap`] checks the rate against the law;
/// [`LoanNote::schedule`] computes the repayment schedule.
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
        if fields.template() != LOAN_NOTE_ID && fields.template() != LOAN_NOTE_V1_ID {
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
        let repayment_method = fields
            .get("repayment_method")
            .and_then(|v| v.parse().ok())
            .ok_or_else(wrong)?;
        Ok(Self {
            principal_yuan,
            annual_rate_percent,
            start_date,
            term_months,
            repayment_method,
        })
    }

    /// Checks the annual rate against the legal cap for private lending: four times the
    /// one-year LPR in force on `on`, the date the contract is made
    /// ([`crate::RATE_CAP_RULE`]). At the cap is allowed; above it (by as little as
    /// 0.01 %) is [`Error::RateAboveLegalCap`]. `table` supplies the LPR:
    /// [`Error::NoLprInForce`] before its first entry, [`Error::LprTableOutdated`] after
    /// the date it is vouched for.
    pub fn check_rate_cap(&self, table: &LprTable, on: Date) -> Result<RateCap, Error> {
        let (lpr, cap_percent) = table.cap_percent(on)?;
        if self.annual_rate_percent > cap_percent {
            return Err(Error::RateAboveLegalCap {
                cap_percent,
                lpr_percent: lpr.one_year_percent,
                lpr_effective_date: lpr.effective_date,
                on,
            });
        }
        Ok(RateCap {
            on,
            lpr,
            cap_percent,
            annual_rate_percent: self.annual_rate_percent,
        })
    }

    /// The repayment schedule (rules and rounding: the crate documentation, "The
    /// repayment schedule").
    /// [`Error::LoanTermsInvalid`] if the terms are outside what the loan note template
    /// accepts (the fields are public, so they are checked again): principal above 0
    /// and at most [`crate::MONEY_YUAN_MAX`] yuan in fen, rate 0 to 100 % in hundredths,
    /// term 1 to 360 months, last due date at most 9999-12-31.
    pub fn schedule(&self) -> Result<Schedule, Error> {
        crate::schedule::compute(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repayment_methods_round_trip_in_template_order() {
        for m in RepaymentMethod::ALL {
            assert_eq!(m.as_str().parse::<RepaymentMethod>(), Ok(m));
            assert_eq!(m.to_string(), m.as_str());
        }
        assert_eq!(
            RepaymentMethod::ALL.map(RepaymentMethod::as_str),
            ["bullet", "equal_instalments", "equal_principal"]
        );
        assert!(matches!(
            "Bullet".parse::<RepaymentMethod>(),
            Err(Error::UnknownName { .. })
        ));
    }
}
