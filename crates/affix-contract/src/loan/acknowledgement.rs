//! The lender's acknowledgement of a reported repayment (收条), text v1.

use super::domain_digest;
use crate::{ContractId, Repayment, Sha256Digest};

/// The first line of repayment receipt text v1.
pub const RECEIPT_HEADER: &str = "affix-loan-receipt v1";
/// Domain separation of [`RepaymentReceipt::digest`].
pub const RECEIPT_DOMAIN: &[u8] = b"affix.dev/contract/loan-receipt/v1\0";

/// A repayment receipt (收条): the lender's own acknowledgement of a reported repayment,
/// for the lender to sign. Made only by [`LoanBook::receipt`](crate::LoanBook::receipt) while the repayment is
/// pending; the platform confirms the repayment once the lender has signed it.
///
/// ```text
/// affix-loan-receipt v1
/// contract_id <loan note id>
/// repayment <n>
/// amount_yuan <amount, scale 2>
/// paid_on <YYYY-MM-DD>
/// reported_on <YYYY-MM-DD>
/// proof_sha256 <hex, or "none">
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepaymentReceipt {
    pub(super) contract_id: ContractId,
    pub(super) repayment: Repayment,
}

impl RepaymentReceipt {
    /// The loan.
    pub fn contract_id(&self) -> ContractId {
        self.contract_id
    }

    /// The repayment it acknowledges (as reported, pending).
    pub fn repayment(&self) -> &Repayment {
        &self.repayment
    }

    /// The receipt text v1 (the document the lender signs).
    pub fn canonical_text(&self) -> String {
        let r = &self.repayment;
        format!(
            "{RECEIPT_HEADER}\ncontract_id {}\nrepayment {}\namount_yuan {}\npaid_on {}\n\
             reported_on {}\nproof_sha256 {}\n",
            self.contract_id,
            r.id,
            r.amount_yuan,
            r.paid_on,
            r.reported_on,
            r.proof.map_or_else(|| "none".to_owned(), |d| d.to_string()),
        )
    }

    /// `SHA-256(RECEIPT_DOMAIN ‖ canonical text)`.
    pub fn digest(&self) -> Sha256Digest {
        domain_digest(RECEIPT_DOMAIN, &self.canonical_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixture_has_the_header_and_its_digest() {
        let text = super::super::fixture("receipt-v1.txt");
        assert_eq!(text.lines().next(), Some(RECEIPT_HEADER));
        assert_eq!(
            format!("{}\n", domain_digest(RECEIPT_DOMAIN, &text)),
            super::super::fixture("receipt-v1.digest")
        );
    }
}
