//! The lender's acknowledgement of a reported repayment (收条), text v1.
//!
//! "Receipt" in Affix means only the ledger's proof of inclusion (the glossary in
//! ARCHITECTURE.md); this document is a repayment acknowledgement. Its wire strings
//! were written before the rename and are frozen (documents were signed with them):
//! the header `affix-loan-receipt v1` and the domain `affix.dev/contract/loan-receipt/v1`
//! stay as they are until a v2 of the format, which would take the new word.

use super::domain_digest;
use crate::{ContractId, Repayment, Sha256Digest};

/// The first line of repayment acknowledgement text v1. Frozen wire string (it says
/// "receipt", the format's first name): kept until a v2.
pub const ACKNOWLEDGEMENT_HEADER: &str = "affix-loan-receipt v1";
/// Domain separation of [`RepaymentAcknowledgement::digest`]. Frozen wire string,
/// like [`ACKNOWLEDGEMENT_HEADER`]: kept until a v2.
pub const ACKNOWLEDGEMENT_DOMAIN: &[u8] = b"affix.dev/contract/loan-receipt/v1\0";

/// A repayment acknowledgement (收条): the lender's own statement that a reported
/// repayment was received, for the lender to sign. Made only by
/// [`LoanBook::acknowledgement`](crate::LoanBook::acknowledgement) while the repayment
/// is pending; the platform confirms the repayment once the lender has signed it.
///
/// ```text
/// affix-loan-receipt v1
/// contract_id <loan note id>
/// repayment <n>
/// amount_yuan <amount, scale 2>
/// paid_on <YYYY-MM-DD>
/// reported_on <YYYY-MM-DD>
/// proof_sha256 <hex of the transfer proof's SHA-256, or "none">
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepaymentAcknowledgement {
    pub(super) contract_id: ContractId,
    pub(super) repayment: Repayment,
}

impl RepaymentAcknowledgement {
    /// The loan.
    pub fn contract_id(&self) -> ContractId {
        self.contract_id
    }

    /// The repayment it acknowledges (as reported, pending).
    pub fn repayment(&self) -> &Repayment {
        &self.repayment
    }

    /// The acknowledgement text v1 (the document the lender signs).
    pub fn canonical_text(&self) -> String {
        let r = &self.repayment;
        format!(
            "{ACKNOWLEDGEMENT_HEADER}\ncontract_id {}\nrepayment {}\namount_yuan {}\n\
             paid_on {}\nreported_on {}\nproof_sha256 {}\n",
            self.contract_id,
            r.id,
            r.amount_yuan,
            r.paid_on,
            r.reported_on,
            r.transfer_proof
                .map_or_else(|| "none".to_owned(), |d| d.to_string()),
        )
    }

    /// `SHA-256(ACKNOWLEDGEMENT_DOMAIN ‖ canonical text)`.
    pub fn digest(&self) -> Sha256Digest {
        domain_digest(ACKNOWLEDGEMENT_DOMAIN, &self.canonical_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixture_has_the_header_and_its_digest() {
        let text = super::super::fixture("acknowledgement-v1.txt");
        assert_eq!(text.lines().next(), Some(ACKNOWLEDGEMENT_HEADER));
        assert_eq!(
            format!("{}\n", domain_digest(ACKNOWLEDGEMENT_DOMAIN, &text)),
            super::super::fixture("acknowledgement-v1.digest")
        );
    }
}
