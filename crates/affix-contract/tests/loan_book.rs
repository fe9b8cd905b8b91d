//! The loan book against hand-computed tables: allocation of confirmed repayments
//! (oldest instalment first, interest then principal), partial repayments, amounts to
//! the fen, the balance, settlement, every refusal, and an extension whose new schedule
//! matches a hand computation.
//!
//! The loan (`common::small_loan`): 1200.00 yuan at 12 % a year, equal principal over 4
//! months from 2026-01-15. r = 1 % a month:
//!
//! | no. | due | interest | principal | total |
//! | --- | --- | --- | --- | --- |
//! | 1 | 2026-02-15 | 12.00 | 300.00 | 312.00 |
//! | 2 | 2026-03-15 | 9.00 | 300.00 | 309.00 |
//! | 3 | 2026-04-15 | 6.00 | 300.00 | 306.00 |
//! | 4 | 2026-05-15 | 3.00 | 300.00 | 303.00 |
//!
//! 1230.00 in all.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

mod common;

use affix_contract::{
    Error, ExtensionTerms, LoanBook, LoanEvent, LoanEventKind, LoanStatus, RepaymentId,
    RepaymentMethod, RepaymentStatus, Sha256Digest,
};
use common::{book_of, date, dec, small_loan};

/// `(instalment interest principal)` of each allocation of a confirmation event.
fn allocations(event: &LoanEvent) -> Vec<String> {
    match event.kind() {
        LoanEventKind::RepaymentConfirmed { allocations, .. } => allocations
            .iter()
            .map(|a| format!("{} {} {}", a.instalment, a.interest_yuan, a.principal_yuan))
            .collect(),
        other => panic!("{other:?}"),
    }
}

/// `number unpaid` of each instalment.
fn unpaid(book: &LoanBook) -> Vec<String> {
    book.instalments()
        .iter()
        .map(|i| format!("{} {}", i.number, i.unpaid_yuan))
        .collect()
}

/// Reports and confirms `amount` paid on `on`; returns the book and the events.
fn repay(book: &LoanBook, amount: &str, on: &str) -> (LoanBook, Vec<LoanEvent>) {
    let (book, mut events) = book
        .report_repayment(dec(amount), date(on), None, date(on))
        .unwrap();
    let id = book.repayments().last().unwrap().id;
    let (book, more) = book.confirm_repayment(id, date(on)).unwrap();
    events.extend(more);
    (book, events)
}

#[test]
fn partial_repayments_go_oldest_first_interest_then_principal() {
    let book = book_of(&small_loan());
    assert_eq!(book.outstanding_yuan(), dec("1230.00"));
    assert_eq!(book.outstanding_principal_yuan(), dec("1200.00"));

    // 100.00: instalment 1's interest 12.00, then 88.00 of its principal.
    let (book, events) = repay(&book, "100", "2026-02-15");
    assert_eq!(allocations(&events[1]), ["1 12.00 88.00"]);
    assert_eq!(book.outstanding_yuan(), dec("1130.00"));
    assert_eq!(
        unpaid(&book),
        ["1 212.00", "2 309.00", "3 306.00", "4 303.00"]
    );

    // 212.01: the rest of instalment 1 (212.00), and one fen of instalment 2's interest.
    let (book, events) = repay(&book, "212.01", "2026-02-20");
    assert_eq!(allocations(&events[1]), ["1 0.00 212.00", "2 0.01 0.00"]);
    assert_eq!(book.outstanding_yuan(), dec("917.99"));
    assert_eq!(
        unpaid(&book),
        ["1 0.00", "2 308.99", "3 306.00", "4 303.00"]
    );

    // 500.00: instalment 2 (8.99 + 300.00 = 308.99), then 191.01 of instalment 3:
    // its interest 6.00 and 185.01 of its principal.
    let (book, events) = repay(&book, "500.00", "2026-03-15");
    assert_eq!(allocations(&events[1]), ["2 8.99 300.00", "3 6.00 185.01"]);
    assert_eq!(book.outstanding_yuan(), dec("417.99"));
    assert_eq!(book.outstanding_principal_yuan(), dec("414.99"));
    assert_eq!(unpaid(&book), ["1 0.00", "2 0.00", "3 114.99", "4 303.00"]);

    // A disputed report changes nothing owed.
    let (book, _) = book
        .report_repayment(dec("50"), date("2026-04-01"), None, date("2026-04-01"))
        .unwrap();
    let (book, events) = book
        .dispute_repayment(
            RepaymentId(4),
            Some(Sha256Digest::from_bytes([7; 32])),
            date("2026-04-02"),
        )
        .unwrap();
    assert!(matches!(
        events[0].kind(),
        LoanEventKind::RepaymentDisputed { .. }
    ));
    assert_eq!(book.outstanding_yuan(), dec("417.99"));

    // More than owed is refused; a pending report reserves its amount.
    assert_eq!(
        book.report_repayment(dec("418.00"), date("2026-04-03"), None, date("2026-04-03"))
            .unwrap_err(),
        Error::Overpayment
    );
    let (book, _) = book
        .report_repayment(dec("417.99"), date("2026-04-03"), None, date("2026-04-03"))
        .unwrap();
    assert_eq!(book.pending_yuan(), dec("417.99"));
    assert_eq!(
        book.report_repayment(dec("0.01"), date("2026-04-03"), None, date("2026-04-03"))
            .unwrap_err(),
        Error::Overpayment
    );

    // The last confirmation settles the loan: two events.
    let (book, events) = book
        .confirm_repayment(RepaymentId(5), date("2026-04-05"))
        .unwrap();
    assert_eq!(allocations(&events[0]), ["3 0.00 114.99", "4 3.00 300.00"]);
    assert_eq!(events[1].kind(), &LoanEventKind::Settled);
    assert_eq!(book.outstanding_yuan(), dec("0.00"));
    assert_eq!(book.settled_on(), Some(date("2026-04-05")));
    assert_eq!(book.status_on(date("2026-06-01")), LoanStatus::Settled);
    let statuses: Vec<_> = book.repayments().map(|r| r.status).collect();
    use RepaymentStatus::{Confirmed, Disputed};
    assert_eq!(
        statuses,
        [Confirmed, Confirmed, Confirmed, Disputed, Confirmed]
    );

    // Nothing happens to a settled loan.
    let settled = Error::LoanSettled {
        settled_on: date("2026-04-05"),
    };
    assert_eq!(
        book.report_repayment(dec("1"), date("2026-04-06"), None, date("2026-04-06"))
            .unwrap_err(),
        settled
    );
    let terms = ExtensionTerms {
        annual_rate_percent: dec("12"),
        term_months: 6,
        repayment_method: RepaymentMethod::EqualPrincipal,
    };
    assert_eq!(
        book.propose_extension(terms, date("2026-04-06"))
            .unwrap_err(),
        settled
    );
}

#[test]
fn amounts_are_exact_to_the_fen() {
    // The equal-instalment fixture: the first instalment is 30.42 + 819.48 = 849.90.
    let loan = affix_contract::LoanNote {
        principal_yuan: dec("10000"),
        annual_rate_percent: dec("3.65"),
        start_date: date("2026-01-01"),
        term_months: 12,
        repayment_method: RepaymentMethod::EqualInstalments,
    };
    let book = book_of(&loan);
    assert_eq!(book.outstanding_yuan(), dec("10198.82"));
    let (book, events) = repay(&book, "849.90", "2026-02-01");
    assert_eq!(allocations(&events[1]), ["1 30.42 819.48"]);
    assert_eq!(book.outstanding_yuan(), dec("9348.92"));
    // One fen goes to the next instalment's interest (27.92).
    let (book, events) = repay(&book, "0.01", "2026-02-02");
    assert_eq!(allocations(&events[1]), ["2 0.01 0.00"]);
    assert_eq!(book.outstanding_yuan(), dec("9348.91"));
    assert_eq!(book.instalments()[1].unpaid_yuan, dec("849.89"));
    for bad in ["0", "0.00", "-1", "0.001", "12.345"] {
        assert_eq!(
            book.report_repayment(dec(bad), date("2026-02-03"), None, date("2026-02-03"))
                .unwrap_err(),
            Error::RepaymentAmountInvalid {
                reason: "not above 0 with at most two fraction digits"
            },
            "{bad}"
        );
    }
}

#[test]
fn invalid_steps_are_refused_with_specific_errors() {
    let book = book_of(&small_loan());
    let on = date("2026-02-10");
    assert_eq!(
        book.report_repayment(dec("10"), date("2026-01-14"), None, on)
            .unwrap_err(),
        Error::RepaymentBeforeStart {
            paid_on: date("2026-01-14"),
            start_date: date("2026-01-15"),
        }
    );
    assert_eq!(
        book.report_repayment(dec("10"), date("2026-02-11"), None, on)
            .unwrap_err(),
        Error::RepaymentInFuture {
            paid_on: date("2026-02-11"),
            on,
        }
    );
    assert_eq!(
        book.confirm_repayment(RepaymentId(1), on).unwrap_err(),
        Error::UnknownRepayment {
            repayment: RepaymentId(1)
        }
    );
    assert_eq!(
        book.confirm_repayment(RepaymentId(0), on).unwrap_err(),
        Error::UnknownRepayment {
            repayment: RepaymentId(0)
        }
    );
    let transfer_proof = Some(Sha256Digest::from_bytes([9; 32]));
    let (book, events) = book
        .report_repayment(dec("10"), on, transfer_proof, on)
        .unwrap();
    assert_eq!(
        events[0].kind(),
        &LoanEventKind::RepaymentReported {
            repayment: RepaymentId(1),
            amount_yuan: dec("10.00"),
            paid_on: on,
            transfer_proof,
        }
    );
    let (confirmed, _) = book.confirm_repayment(RepaymentId(1), on).unwrap();
    assert_eq!(
        confirmed.confirm_repayment(RepaymentId(1), on).unwrap_err(),
        Error::RepaymentNotPending {
            repayment: RepaymentId(1),
            status: RepaymentStatus::Confirmed,
        }
    );
    assert_eq!(
        confirmed
            .dispute_repayment(RepaymentId(1), None, on)
            .unwrap_err(),
        Error::RepaymentNotPending {
            repayment: RepaymentId(1),
            status: RepaymentStatus::Confirmed,
        }
    );
    assert_eq!(
        book.confirm_repayment(RepaymentId(1), date("2026-02-09"))
            .unwrap_err(),
        Error::LoanDateWentBackwards {
            on: date("2026-02-09"),
            previous: on,
        }
    );
    let terms = ExtensionTerms {
        annual_rate_percent: dec("12"),
        term_months: 6,
        repayment_method: RepaymentMethod::EqualPrincipal,
    };
    assert_eq!(
        book.propose_extension(terms, on).unwrap_err(),
        Error::RepaymentsPending { count: 1 }
    );
}

#[test]
fn an_extension_reschedules_the_outstanding_principal() {
    let book = book_of(&small_loan());
    let (book, mut history) = repay(&book, "312", "2026-02-15");
    let terms = ExtensionTerms {
        annual_rate_percent: dec("12"),
        term_months: 6,
        repayment_method: RepaymentMethod::EqualPrincipal,
    };
    // Instalment 2 (due 03-15) is unpaid on 03-20: its interest must be paid first.
    assert_eq!(
        book.propose_extension(terms, date("2026-03-20"))
            .unwrap_err(),
        Error::InterestInArrears { instalment: 2 }
    );
    let (book, events) = repay(&book, "9", "2026-03-20");
    assert_eq!(allocations(&events[1]), ["2 9.00 0.00"]);
    history.extend(events);
    // A new maturity not after the current one (2026-05-15) is refused.
    let short = ExtensionTerms {
        term_months: 2,
        ..terms
    };
    assert_eq!(
        book.propose_extension(short, date("2026-03-20"))
            .unwrap_err(),
        Error::ExtensionNotLater {
            current_maturity: date("2026-05-15"),
            new_maturity: date("2026-05-15"),
            on: date("2026-03-20"),
        }
    );

    // By hand: the new schedule starts on the last due date passed, 2026-03-15, for the
    // principal owed, 900.00 (instalments 2, 3 and 4). Equal principal over 6 months
    // at 1 % a month: 150.00 a month, interest 9.00, 7.50, 6.00, 4.50, 3.00, 1.50.
    let addendum = book.propose_extension(terms, date("2026-03-20")).unwrap();
    assert_eq!(addendum.extension(), 1);
    assert_eq!(addendum.effective_from(), date("2026-03-15"));
    assert_eq!(addendum.new_maturity(), date("2026-09-15"));
    let schedule = addendum.schedule();
    assert_eq!(schedule.total_principal_yuan(), dec("900.00"));
    assert_eq!(schedule.total_interest_yuan(), dec("31.50"));
    assert_eq!(schedule.total_repayment_yuan(), dec("931.50"));
    let rows: Vec<String> = schedule
        .instalments()
        .iter()
        .map(|i| {
            format!(
                "{} {} {} {}",
                i.number, i.due_date, i.interest_yuan, i.principal_yuan
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            "1 2026-04-15 9.00 150.00",
            "2 2026-05-15 7.50 150.00",
            "3 2026-06-15 6.00 150.00",
            "4 2026-07-15 4.50 150.00",
            "5 2026-08-15 3.00 150.00",
            "6 2026-09-15 1.50 150.00",
        ]
    );
    common::check_vector("extension-v1.txt", &addendum.canonical_text());
    common::check_vector("extension-v1.digest", &format!("{}\n", addendum.digest()));

    // Proposing is pure: the same state and day give the same addendum.
    assert_eq!(
        book.propose_extension(terms, date("2026-03-20")).unwrap(),
        addendum
    );

    // An event after the proposal makes it stale.
    let (moved, _) = book
        .report_repayment(dec("1"), date("2026-03-21"), None, date("2026-03-21"))
        .unwrap();
    assert_eq!(
        moved
            .apply_extension(&addendum, date("2026-03-21"))
            .unwrap_err(),
        Error::AddendumStale
    );

    // Signed by both: in force.
    let (book, events) = book.apply_extension(&addendum, date("2026-03-22")).unwrap();
    assert_eq!(
        events[0].kind(),
        &LoanEventKind::Extended {
            extension: 1,
            addendum: addendum.digest(),
            proposed_on: date("2026-03-20"),
            terms,
            new_maturity: date("2026-09-15"),
        }
    );
    // The extension replays from its event alone (the addendum is recomputed).
    let all: Vec<LoanEvent> = history.iter().chain(&events).cloned().collect();
    let replayed = LoanBook::replay(book.terms().clone(), &all, &book.head()).unwrap();
    assert_eq!(replayed, book);
    let text: String = all.iter().map(|e| e.canonical_text() + "\n").collect();
    common::check_vector("loan-events-extension-v1.txt", &text);
    assert_eq!(book.extension(), 1);
    assert_eq!(book.outstanding_yuan(), dec("931.50"));
    assert_eq!(book.status_on(date("2026-04-15")), LoanStatus::Active);
    assert_eq!(book.status_on(date("2026-04-19")), LoanStatus::Overdue);
    // The same addendum cannot be applied twice.
    assert_eq!(
        book.apply_extension(&addendum, date("2026-03-22"))
            .unwrap_err(),
        Error::AddendumStale
    );
    // Paid off early in one go: settled.
    let (book, events) = repay(&book, "931.50", "2026-04-01");
    assert_eq!(events.len(), 3);
    assert_eq!(book.status_on(date("2026-04-01")), LoanStatus::Settled);
}

#[test]
fn interest_paid_ahead_becomes_principal_in_an_extension() {
    // 312 + 309 + 6 = 627 paid on 03-15: instalments 1 and 2, and instalment 3's
    // interest (6.00), which is not yet due on 03-20.
    let book = book_of(&small_loan());
    let (book, events) = repay(&book, "627", "2026-03-15");
    assert_eq!(
        allocations(&events[1]),
        ["1 12.00 300.00", "2 9.00 300.00", "3 6.00 0.00"]
    );
    let terms = ExtensionTerms {
        annual_rate_percent: dec("12"),
        term_months: 3,
        repayment_method: RepaymentMethod::Bullet,
    };
    // Principal owed 600.00, less the 6.00 paid ahead as interest: 594.00 from 03-15,
    // bullet over 3 months at 12 %: interest 594 × 0.12 × 3/12 = 17.82.
    let addendum = book.propose_extension(terms, date("2026-03-20")).unwrap();
    assert_eq!(addendum.schedule().total_principal_yuan(), dec("594.00"));
    assert_eq!(addendum.schedule().total_interest_yuan(), dec("17.82"));
    assert_eq!(addendum.new_maturity(), date("2026-06-15"));
}

#[test]
fn loan_events_chain_and_become_evidence() {
    let book = book_of(&small_loan());
    let head0 = book.head();
    assert_eq!(head0, book.terms().digest());
    let (book, e1) = repay(&book, "312", "2026-02-15");
    assert_eq!(e1[0].prev(), head0);
    assert_eq!(e1[1].prev(), e1[0].digest());
    assert_eq!(book.head(), e1[1].digest());
    assert_eq!((e1[0].seq(), e1[1].seq()), (0, 1));
    let record = e1[0]
        .to_evidence("affix-server", 1_771_113_600_000)
        .unwrap();
    assert_eq!(record.kind(), "loan.repayment_reported");
    assert_eq!(
        record.subject(),
        "contract:636f6e74726163742d6c6f616e2d3031"
    );
    let record = e1[1]
        .to_evidence("affix-server", 1_771_113_600_000)
        .unwrap();
    assert_eq!(record.kind(), "loan.repayment_confirmed");
    assert!(
        record.metadata().iter().all(|(_, v)| !v.contains("312")),
        "no amounts in evidence metadata"
    );
}

#[test]
fn an_acknowledgement_is_of_one_pending_repayment() {
    let book = book_of(&small_loan());
    let transfer_proof = Some(Sha256Digest::from_bytes([7; 32]));
    let (book, _) = book
        .report_repayment(
            dec("312.00"),
            date("2026-02-14"),
            transfer_proof,
            date("2026-02-15"),
        )
        .unwrap();
    let (book, _) = book
        .report_repayment(dec("5.00"), date("2026-02-16"), None, date("2026-02-16"))
        .unwrap();
    let acknowledgement = book.acknowledgement(RepaymentId(1)).unwrap();
    assert_eq!(acknowledgement.repayment().amount_yuan, dec("312.00"));
    assert_eq!(acknowledgement.contract_id(), book.terms().contract_id());
    common::check_vector("acknowledgement-v1.txt", &acknowledgement.canonical_text());
    common::check_vector(
        "acknowledgement-v1.digest",
        &format!("{}\n", acknowledgement.digest()),
    );
    // Without a proof the line says so; another repayment, another acknowledgement.
    let other = book.acknowledgement(RepaymentId(2)).unwrap();
    assert!(other.canonical_text().contains("\nproof_sha256 none\n"));
    assert_ne!(other.digest(), acknowledgement.digest());
    // Only a pending repayment gets one.
    let (book, _) = book
        .confirm_repayment(RepaymentId(1), date("2026-02-17"))
        .unwrap();
    assert!(matches!(
        book.acknowledgement(RepaymentId(1)).unwrap_err(),
        Error::RepaymentNotPending { .. }
    ));
    assert!(matches!(
        book.acknowledgement(RepaymentId(9)).unwrap_err(),
        Error::UnknownRepayment { .. }
    ));
}
