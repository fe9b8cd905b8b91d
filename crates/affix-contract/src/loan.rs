//! Loans: the typed loan note, and the life of a signed one.
//!
//! - `note`: [`LoanNote`], the typed terms of a validated loan note, its rate cap and
//!   schedule, and [`RepaymentMethod`].
//! - `terms`: loan terms text v1 ([`LoanTerms`]): what both parties sign for the
//!   automation, the anchor of the loan's event chain.
//! - `event`: [`LoanEvent`], one step of a loan's hash chain, and its codec (loan event
//!   text v1) and evidence record.
//! - `book`: [`LoanBook`], the repayment state machine (reports confirmed or disputed,
//!   allocation, status, extension, settlement) and its replay.
//! - `addendum`: the extension addendum (展期) text v1 ([`Addendum`]).
//! - `acknowledgement`: the lender's acknowledgement of a repayment (收条) text v1.
//!
//! Each text format's module holds its header, its domain-separation constant and a unit
//! test pinning both to the format's fixture in `tests/vectors/` (`tests/loan_book.rs`
//! and `tests/automation.rs` write the fixtures).

use affix_time::Date;
use sha2::{Digest as _, Sha256};

use crate::{Schedule, Sha256Digest};

mod acknowledgement;
mod addendum;
mod book;
mod event;
mod note;
mod terms;

pub use acknowledgement::{
    ACKNOWLEDGEMENT_DOMAIN, ACKNOWLEDGEMENT_HEADER, RepaymentAcknowledgement,
};
pub use addendum::{Addendum, EXTENSION_DOMAIN, EXTENSION_HEADER, ExtensionTerms};
pub(crate) use book::Due;
pub use book::{
    Allocation, BackingDocument, DocumentKind, EXTENSIONS_MAX, InstalmentBalance, LOAN_EVENTS_MAX,
    LoanBook, REPAYMENTS_MAX, Repayment, RepaymentId, RepaymentStatus,
};
pub use event::{
    LOAN_EVENT_DOMAIN, LOAN_EVENT_HEADER, LOAN_EVENT_TEXT_BYTES_MAX, LoanEvent, LoanEventKind,
};
pub use note::{LoanNote, RepaymentMethod};
pub use terms::{LOAN_TERMS_DOMAIN, LOAN_TERMS_HEADER, LoanTerms};

/// `SHA-256(domain ‖ text)`: the digest of every loan text format.
fn domain_digest(domain: &[u8], text: &str) -> Sha256Digest {
    let mut hash = Sha256::new();
    hash.update(domain);
    hash.update(text.as_bytes());
    Sha256Digest::from_bytes(hash.finalize().into())
}

/// The last due date of `schedule` (its maturity).
fn maturity(schedule: &Schedule) -> Date {
    // A schedule has at least one instalment (term 1 to 360 months).
    schedule
        .instalments()
        .last()
        .map_or(schedule.terms().start_date, |i| i.due_date)
}

/// The fixture `name` in `tests/vectors/`, for the formats' unit tests.
#[cfg(test)]
fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
