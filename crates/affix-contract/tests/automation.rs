//! The standard rules evaluated over a whole loan lived day by day: reminders three
//! days before and on each due date while the instalment is unpaid, the overdue status
//! and notice the day after the grace period, none after settlement; event rules after
//! each step; idempotency keys stable and frozen; the next-trigger index never skips a
//! day with an action.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

mod common;

use std::collections::BTreeSet;

use affix_contract::{
    Action, ActionCause, DueAction, Error, ExtensionTerms, LoanBook, LoanEvent, LoanStatus,
    MessageKind, Recipient, RepaymentMethod, RuleSet,
};
use affix_identity::Date;
use common::{book_of, date, dec, small_loan};

/// The day after `day`.
fn next_day(day: Date) -> Date {
    let (y, m, d) = (day.year(), day.month(), day.day());
    Date::new(y, m, d + 1)
        .or_else(|_| Date::new(y, m + 1, 1))
        .or_else(|_| Date::new(y + 1, 1, 1))
        .unwrap()
}

/// A step of the scenario, taken on its day after that day's evaluation (the scheduler
/// runs first thing in the morning).
enum Step {
    /// Report and confirm a repayment.
    Repay(&'static str),
    /// Report a repayment (confirmed later).
    Report(&'static str),
    /// Confirm the last report.
    Confirm,
}

struct Lived {
    /// `date rule instalment` of every due-date action, in order.
    due: Vec<String>,
    /// `date rule event-kind` of every event action.
    events: Vec<String>,
    /// Every action, in order.
    actions: Vec<DueAction>,
    /// The status each day.
    statuses: Vec<(Date, LoanStatus)>,
    book: LoanBook,
    loan_events: Vec<LoanEvent>,
}

fn live(mut book: LoanBook, from: &str, to: &str, steps: &[(&str, Step)]) -> Lived {
    let mut lived = Lived {
        due: Vec::new(),
        events: Vec::new(),
        actions: Vec::new(),
        statuses: Vec::new(),
        book: book.clone(),
        loan_events: Vec::new(),
    };
    let (mut day, last) = (date(from), date(to));
    while day <= last {
        // The index: the scheduler would load the loan today only if its stored next
        // trigger date (computed yesterday) is today or earlier.
        let actions = book.due_actions(day);
        if !actions.is_empty() {
            assert!(book.next_trigger_date(date(from)).unwrap() <= day);
        }
        // Evaluating again (a restart) gives the same actions, keys included.
        assert_eq!(book.due_actions(day), actions);
        for a in &actions {
            let number = match a.cause {
                ActionCause::Instalment(n) => n,
                ActionCause::Event(_) => panic!("event cause on a due-date action"),
            };
            lived.due.push(format!("{day} {} {number}", a.rule));
        }
        lived.actions.extend(actions);
        lived.statuses.push((day, book.status_on(day)));
        for (_, step) in steps.iter().filter(|(d, _)| date(d) == day) {
            let (next, events) = match step {
                Step::Repay(amount) => {
                    let (b, mut e) = book.report_repayment(dec(amount), day, None, day).unwrap();
                    let id = b.repayments().last().unwrap().id;
                    let (b, more) = b.confirm_repayment(id, day).unwrap();
                    e.extend(more);
                    (b, e)
                }
                Step::Report(amount) => book.report_repayment(dec(amount), day, None, day).unwrap(),
                Step::Confirm => {
                    let id = book.repayments().last().unwrap().id;
                    book.confirm_repayment(id, day).unwrap()
                }
            };
            book = next;
            for event in events {
                for a in book.event_actions(&event) {
                    lived
                        .events
                        .push(format!("{day} {} {}", a.rule, event.kind().as_str()));
                    lived.actions.push(a);
                }
                lived.loan_events.push(event);
            }
        }
        day = next_day(day);
    }
    lived.book = book;
    lived
}

/// Instalment 1 paid on its due date; instalment 2 paid late (overdue after the grace
/// period, a partial repayment, then the rest); instalment 3 paid the day before its
/// due date; instalment 4 paid early, settling the loan.
fn scenario() -> Lived {
    live(
        book_of(&small_loan()),
        "2026-01-15",
        "2026-07-31",
        &[
            ("2026-02-15", Step::Repay("312")),
            ("2026-03-25", Step::Repay("100")),
            ("2026-04-02", Step::Report("209")),
            ("2026-04-03", Step::Confirm),
            ("2026-04-14", Step::Repay("306")),
            ("2026-05-13", Step::Repay("303")),
        ],
    )
}

#[test]
fn a_whole_loan_lived_day_by_day() {
    let lived = scenario();
    assert_eq!(
        lived.due,
        [
            "2026-02-12 remind-before-due 1",
            "2026-02-15 remind-due-today 1",
            "2026-03-12 remind-before-due 2",
            "2026-03-15 remind-due-today 2",
            // Grace 03-16 to 03-18; overdue from 03-19.
            "2026-03-19 mark-overdue 2",
            "2026-03-19 overdue-notice 2",
            "2026-04-12 remind-before-due 3",
            // Instalment 3 paid on 04-14: no reminder on 04-15.
            "2026-05-12 remind-before-due 4",
            // Settled on 05-13: nothing on 05-15, or ever after.
        ]
    );
    assert_eq!(
        lived.events,
        [
            "2026-02-15 notify-reported repayment_reported",
            "2026-02-15 notify-confirmed repayment_confirmed",
            "2026-03-25 notify-reported repayment_reported",
            "2026-03-25 notify-confirmed repayment_confirmed",
            "2026-04-02 notify-reported repayment_reported",
            "2026-04-03 notify-confirmed repayment_confirmed",
            "2026-04-14 notify-reported repayment_reported",
            "2026-04-14 notify-confirmed repayment_confirmed",
            "2026-05-13 notify-reported repayment_reported",
            "2026-05-13 notify-confirmed repayment_confirmed",
            "2026-05-13 notify-settled settled",
        ]
    );
    let status = |d: &str| {
        lived
            .statuses
            .iter()
            .find(|(day, _)| *day == date(d))
            .unwrap()
            .1
    };
    assert_eq!(status("2026-03-18"), LoanStatus::Active);
    assert_eq!(status("2026-03-19"), LoanStatus::Overdue);
    assert_eq!(status("2026-03-25"), LoanStatus::Overdue); // before the partial repayment
    assert_eq!(status("2026-04-02"), LoanStatus::Overdue); // reported, not yet confirmed
    assert_eq!(status("2026-04-03"), LoanStatus::Overdue); // evaluated before the confirmation
    assert_eq!(status("2026-04-04"), LoanStatus::Active);
    assert_eq!(status("2026-05-14"), LoanStatus::Settled);
    assert_eq!(lived.book.next_trigger_date(date("2026-05-14")), None);

    // The actions themselves.
    let overdue: Vec<&Action> = lived
        .actions
        .iter()
        .filter(|a| a.on == date("2026-03-19"))
        .map(|a| &a.action)
        .collect();
    assert_eq!(
        overdue,
        [
            &Action::MarkOverdue,
            &Action::Notify {
                to: Recipient::Both,
                message: MessageKind::OverdueNotice
            }
        ]
    );

    // Every key is unique across the loan, and frozen.
    let keys: BTreeSet<_> = lived.actions.iter().map(|a| a.key.clone()).collect();
    assert_eq!(keys.len(), lived.actions.len());
    let text: String = lived
        .actions
        .iter()
        .map(|a| format!("{} {}\n", a.key, a.key.digest()))
        .collect();
    common::check_vector("action-keys-v1.txt", &text);

    // The loan's event chain is frozen too.
    let chain: String = lived
        .loan_events
        .iter()
        .map(|e| e.canonical_text() + "\n")
        .collect();
    common::check_vector("loan-events-v1.txt", &chain);
    common::check_vector("loan-events-v1.head", &format!("{}\n", lived.book.head()));
    common::check_vector("loan-terms-v1.txt", &lived.book.terms().canonical_text());

    // What the platform stores reloads: each event's text parses back to the event,
    // and the replay of the chain, anchored at the head, is the same book.
    let parsed: Vec<LoanEvent> = lived
        .loan_events
        .iter()
        .map(|e| LoanEvent::parse(&e.canonical_text()).unwrap())
        .collect();
    assert_eq!(parsed, lived.loan_events);
    let terms = lived.book.terms().clone();
    let head = lived.book.head();
    assert_eq!(
        LoanBook::replay(terms.clone(), &parsed, &head).unwrap(),
        lived.book
    );
    // A chain cut short links, but not to the anchored head; a settlement without its
    // confirmation, or an altered event, does not replay.
    let n = parsed.len();
    assert_eq!(n, 11);
    assert_eq!(
        LoanBook::replay(terms.clone(), &parsed[..n - 2], &head).unwrap_err(),
        Error::ChainHeadMismatch { events: 9 }
    );
    assert_eq!(
        LoanBook::replay(terms.clone(), &parsed[..n - 1], &head).unwrap_err(),
        Error::ChainBroken {
            seq: 10,
            reason: "the settlement event is missing"
        }
    );
    let mut altered = parsed.clone();
    altered.swap(0, 1);
    assert!(matches!(
        LoanBook::replay(terms.clone(), &altered, &head).unwrap_err(),
        Error::ChainEventRejected { seq: 0, .. }
    ));
    let text = lived.loan_events[3]
        .canonical_text()
        .replace("100.00", "100.01");
    let forged = LoanEvent::parse(&text).unwrap();
    let mut altered = parsed.clone();
    altered[3] = forged;
    assert_eq!(
        LoanBook::replay(terms, &altered, &head).unwrap_err(),
        Error::ChainBroken {
            seq: 3,
            reason: "event differs from its replay"
        }
    );
    // Only canonical text parses.
    let canonical = lived.loan_events[1].canonical_text();
    for bad in [
        canonical.replace("seq 1", "seq 01"),
        canonical.replace("312.00", "312"),
        canonical.replace('\n', "\r\n"),
        canonical.trim_end().to_owned(),
        canonical.to_uppercase(),
        format!("{canonical}\n"),
    ] {
        assert!(
            matches!(LoanEvent::parse(&bad), Err(Error::Malformed { .. })),
            "{bad}"
        );
    }
}

#[test]
fn the_index_never_skips_a_day_with_an_action() {
    // A scheduler that loads the loan only on its next trigger date sees exactly the
    // actions of a scheduler that evaluates every day (the state is fixed here; after
    // each step the platform recomputes the date).
    let mut book = book_of(&small_loan());
    let (b, _) = book
        .report_repayment(dec("500"), date("2026-02-01"), None, date("2026-02-01"))
        .unwrap();
    let (b, _) = b
        .confirm_repayment(b.repayments().last().unwrap().id, date("2026-02-01"))
        .unwrap();
    book = b;
    let mut daily = Vec::new();
    let mut day = date("2026-02-01");
    while day <= date("2026-07-01") {
        daily.extend(book.due_actions(day));
        day = next_day(day);
    }
    let mut indexed = Vec::new();
    let mut from = date("2026-02-01");
    while let Some(next) = book.next_trigger_date(from) {
        indexed.extend(book.due_actions(next));
        from = next_day(next);
    }
    assert!(!daily.is_empty());
    assert_eq!(indexed, daily);
    // Instalment 1 is paid: its reminders are skipped by the index as well.
    assert_eq!(
        book.next_trigger_date(date("2026-02-01")),
        Some(date("2026-03-12"))
    );
}

#[test]
fn grace_days_and_extensions_move_the_triggers() {
    let rules = RuleSet::standard_with_grace_days(0).unwrap();
    let book = LoanBook::new(affix_contract::LoanTerms::new(
        common::LOAN_CONTRACT,
        small_loan().schedule().unwrap(),
        rules,
    ));
    // Grace 0: overdue the day after the due date.
    assert!(
        book.due_actions(date("2026-02-15"))
            .iter()
            .all(|a| a.rule.as_str() == "remind-due-today")
    );
    let overdue: Vec<_> = book
        .due_actions(date("2026-02-16"))
        .into_iter()
        .map(|a| a.rule.to_string())
        .collect();
    assert_eq!(overdue, ["mark-overdue", "overdue-notice"]);
    assert_eq!(book.status_on(date("2026-02-16")), LoanStatus::Overdue);

    // After an extension, keys carry the extension number and the new instalments.
    let book = book_of(&small_loan());
    let terms = ExtensionTerms {
        annual_rate_percent: dec("12"),
        term_months: 6,
        repayment_method: RepaymentMethod::EqualPrincipal,
    };
    let addendum = book.propose_extension(terms, date("2026-02-01")).unwrap();
    let (book, events) = book.apply_extension(&addendum, date("2026-02-02")).unwrap();
    let actions = book.event_actions(&events[0]);
    assert_eq!(
        actions[0].key.as_str(),
        "636f6e74726163742d6c6f616e2d3031/1/notify-extended/event-0/2026-02-02"
    );
    let actions = book.due_actions(date("2026-02-12"));
    assert_eq!(
        actions[0].key.as_str(),
        "636f6e74726163742d6c6f616e2d3031/1/remind-before-due/1/2026-02-12"
    );
    let record = actions[0]
        .to_evidence("affix-server", 1_770_854_400_000)
        .unwrap();
    assert_eq!(record.kind(), "loan.action");
    assert_eq!(
        record.subject(),
        "contract:636f6e74726163742d6c6f616e2d3031"
    );
}
