//! Loan terms text v1: the contract, its schedule and its rules, bound by digest.

use super::domain_digest;
use crate::{ContractId, RuleSet, Schedule, Sha256Digest};

/// The first line of loan terms text v1.
pub const LOAN_TERMS_HEADER: &str = "affix-loan-terms v1";
/// Domain separation of [`LoanTerms::digest`].
pub const LOAN_TERMS_DOMAIN: &[u8] = b"affix.dev/contract/loan-terms/v1\0";

/// What both parties sign for the automation of a loan: the contract, its repayment
/// schedule and its rule set, bound by digest. Its digest is the anchor of the loan's
/// event chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoanTerms {
    pub(super) contract_id: ContractId,
    pub(super) schedule: Schedule,
    pub(super) rules: RuleSet,
}

impl LoanTerms {
    /// The terms of contract `contract_id`.
    pub fn new(contract_id: ContractId, schedule: Schedule, rules: RuleSet) -> Self {
        Self {
            contract_id,
            schedule,
            rules,
        }
    }

    /// The contract.
    pub fn contract_id(&self) -> ContractId {
        self.contract_id
    }

    /// The signed schedule.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// The signed rules.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// Loan terms text v1:
    ///
    /// ```text
    /// affix-loan-terms v1
    /// contract_id <32 hex>
    /// schedule_digest <64 hex: Schedule::digest>
    /// rules_digest <64 hex: RuleSet::digest>
    /// ```
    pub fn canonical_text(&self) -> String {
        format!(
            "{LOAN_TERMS_HEADER}\ncontract_id {}\nschedule_digest {}\nrules_digest {}\n",
            self.contract_id,
            self.schedule.digest(),
            self.rules.digest()
        )
    }

    /// `SHA-256(LOAN_TERMS_DOMAIN ‖ canonical text)`.
    pub fn digest(&self) -> Sha256Digest {
        domain_digest(LOAN_TERMS_DOMAIN, &self.canonical_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LoanEvent;

    #[test]
    fn the_fixture_has_the_header_and_anchors_the_event_chain() {
        let text = super::super::fixture("loan-terms-v1.txt");
        assert_eq!(text.lines().next(), Some(LOAN_TERMS_HEADER));
        // The first event of the loan lived on these terms links to their digest.
        let events = super::super::fixture("loan-events-v1.txt");
        let first = format!("{}\n", events.split("\n\n").next().unwrap());
        let first = LoanEvent::parse(&first).unwrap();
        assert_eq!(first.prev(), domain_digest(LOAN_TERMS_DOMAIN, &text));
    }
}
