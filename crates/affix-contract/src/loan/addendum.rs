//! The extension addendum (展期协议) text v1: the new schedule for the outstanding
//! principal, which both parties sign.

use affix_time::Date;

use super::{domain_digest, maturity};
use crate::{ContractId, Decimal, LoanNote, RepaymentMethod, Schedule, Sha256Digest};

/// The first line of loan extension text v1.
pub const EXTENSION_HEADER: &str = "affix-loan-extension v1";
/// Domain separation of [`Addendum::digest`].
pub const EXTENSION_DOMAIN: &[u8] = b"affix.dev/contract/loan-extension/v1\0";

/// The new terms the parties agree for an extension (展期).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtensionTerms {
    /// The annual rate of the new schedule, percent (check it against the legal cap
    /// with [`LoanNote::check_rate_cap`] on [`Addendum::terms`]).
    pub annual_rate_percent: Decimal,
    /// The new schedule's term in months, from [`Addendum::effective_from`].
    pub term_months: u16,
    /// The new schedule's repayment method.
    pub repayment_method: RepaymentMethod,
}

/// An extension addendum (展期协议): the new schedule for the outstanding principal.
/// Made only by [`LoanBook::propose_extension`](crate::LoanBook::propose_extension); both parties sign
/// [`Addendum::digest`], then [`LoanBook::apply_extension`](crate::LoanBook::apply_extension) puts it in force.
///
/// The rules (crate README, "Extensions"): the new schedule starts on the last due
/// date on or before the proposal day (the start of the current schedule if none has
/// passed), so interest is neither skipped nor charged twice; its principal is all the
/// principal still owed, less any interest paid in advance on instalments not yet
/// due; interest already due must be paid first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addendum {
    pub(super) contract_id: ContractId,
    pub(super) extension: u16,
    pub(super) based_on: Sha256Digest,
    pub(super) proposed_on: Date,
    pub(super) previous_maturity: Date,
    pub(super) extension_terms: ExtensionTerms,
    pub(super) schedule: Schedule,
}

impl Addendum {
    /// The extension's number: 1 for the first.
    pub fn extension(&self) -> u16 {
        self.extension
    }

    /// The new schedule.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// The terms it was proposed with.
    pub fn extension_terms(&self) -> ExtensionTerms {
        self.extension_terms
    }

    /// The loan note of the new schedule (outstanding principal, new rate, start,
    /// term, method): check its rate against the cap.
    pub fn terms(&self) -> &LoanNote {
        self.schedule.terms()
    }

    /// The day the new schedule starts.
    pub fn effective_from(&self) -> Date {
        self.schedule.terms().start_date
    }

    /// The new maturity (the new schedule's last due date).
    pub fn new_maturity(&self) -> Date {
        maturity(&self.schedule)
    }

    /// Loan extension text v1:
    ///
    /// ```text
    /// affix-loan-extension v1
    /// contract_id <32 hex>
    /// extension 1
    /// based_on <64 hex: the loan's head when proposed>
    /// proposed_on 2026-04-10
    /// previous_maturity 2027-01-01
    /// effective_from 2026-04-01
    /// new_maturity 2027-04-01
    /// outstanding_principal_yuan 7534.06
    /// schedule_digest <64 hex: Schedule::digest of the new schedule>
    /// ```
    pub fn canonical_text(&self) -> String {
        format!(
            "{EXTENSION_HEADER}\ncontract_id {}\nextension {}\nbased_on {}\nproposed_on {}\n\
             previous_maturity {}\neffective_from {}\nnew_maturity {}\n\
             outstanding_principal_yuan {}\nschedule_digest {}\n",
            self.contract_id,
            self.extension,
            self.based_on,
            self.proposed_on,
            self.previous_maturity,
            self.effective_from(),
            self.new_maturity(),
            self.schedule.total_principal_yuan(),
            self.schedule.digest(),
        )
    }

    /// `SHA-256(EXTENSION_DOMAIN ‖ canonical text)`: what both parties sign.
    pub fn digest(&self) -> Sha256Digest {
        domain_digest(EXTENSION_DOMAIN, &self.canonical_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixture_has_the_header_and_its_digest() {
        let text = super::super::fixture("extension-v1.txt");
        assert_eq!(text.lines().next(), Some(EXTENSION_HEADER));
        assert_eq!(
            format!("{}\n", domain_digest(EXTENSION_DOMAIN, &text)),
            super::super::fixture("extension-v1.digest")
        );
    }
}
