//! Untrusted input never panics: decoders, parsers and validation on arbitrary input.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

mod common;

use std::collections::BTreeMap;

use affix_contract::{
    ContractContent, ContractEvent, ContractId, Decimal, ExtensionTerms, LoanBook, LoanStatus,
    PartyId, RepaymentId, RepaymentMethod, RuleSet, Sha256Digest, Template, TemplateId,
};
use affix_identity::Date;
use proptest::prelude::*;

/// One step of a random loan life.
#[derive(Debug, Clone)]
enum LoanOp {
    /// Let days pass (evaluating each).
    Wait(u16),
    /// Report a repayment of this many fen, paid this many days before today (the
    /// start date may be crossed).
    Report(u64, u16),
    /// Confirm or dispute the report with this id (maybe unknown).
    Confirm(u32),
    Dispute(u32),
    /// Propose and apply an extension.
    Extend(u16, u16, u8),
    /// Pay everything owed.
    PayAll,
}

fn loan_op() -> impl Strategy<Value = LoanOp> {
    prop_oneof![
        (0u16..60).prop_map(LoanOp::Wait),
        (0u64..200_000, 0u16..60).prop_map(|(f, d)| LoanOp::Report(f, d)),
        (0u32..8).prop_map(LoanOp::Confirm),
        (0u32..8).prop_map(LoanOp::Dispute),
        (0u16..400, 0u16..3000, 0u8..3).prop_map(|(t, r, m)| LoanOp::Extend(t, r, m)),
        Just(LoanOp::PayAll),
    ]
}

fn plus_days(day: Date, days: u16) -> Date {
    let mut d = day;
    for _ in 0..days {
        let (y, m, dd) = (d.year(), d.month(), d.day());
        d = Date::new(y, m, dd + 1)
            .or_else(|_| Date::new(y, m + 1, 1))
            .or_else(|_| Date::new(y + 1, 1, 1))
            .unwrap();
    }
    d
}

fn minus_days(day: Date, days: u16) -> Date {
    let mut d = day;
    for _ in 0..days {
        let (y, m, dd) = (d.year(), d.month(), d.day());
        d = (1..=31)
            .rev()
            .find_map(|last| {
                if dd > 1 {
                    Date::new(y, m, dd - 1).ok()
                } else if m > 1 {
                    Date::new(y, m - 1, last).ok()
                } else {
                    Date::new(y - 1, 12, 31).ok()
                }
            })
            .unwrap();
    }
    d
}

fn method(code: u8) -> RepaymentMethod {
    match code {
        0 => RepaymentMethod::Bullet,
        1 => RepaymentMethod::EqualInstalments,
        _ => RepaymentMethod::EqualPrincipal,
    }
}

/// The fen of a non-negative amount in yuan at scale 2.
fn fen(d: Decimal) -> u128 {
    d.to_string().replace('.', "").parse().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn content_decode_never_panics_and_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(content) = ContractContent::decode(&bytes) {
            prop_assert_eq!(content.encode(), bytes);
        }
    }

    #[test]
    fn mutated_content_never_panics(position in 0usize..2000, byte in any::<u8>(), cut in 0usize..2000) {
        let mut bytes = common::fixture_content().encode();
        let len = bytes.len();
        bytes[position % len] = byte;
        bytes.truncate(cut.max(len / 2));
        if let Ok(content) = ContractContent::decode(&bytes) {
            prop_assert_eq!(content.encode(), bytes);
        }
    }

    #[test]
    fn event_decode_never_panics_and_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(event) = ContractEvent::decode(&bytes) {
            prop_assert_eq!(event.encode(), bytes);
        }
    }

    #[test]
    fn mutated_events_never_panic(index in 0usize..14, position in 0usize..300, byte in any::<u8>()) {
        let (_, events) = common::live_chain();
        let mut bytes = events[index % events.len()].encode();
        let len = bytes.len();
        bytes[position % len] = byte;
        if let Ok(event) = ContractEvent::decode(&bytes) {
            prop_assert_eq!(event.encode(), bytes);
        }
    }

    #[test]
    fn text_parsers_never_panic(text in ".{0,80}") {
        if let Ok(id) = ContractId::parse(&text) {
            prop_assert_eq!(id.to_string(), text.clone());
        }
        let _ = PartyId::parse(&text);
        let _ = TemplateId::parse(&text);
        let _ = Sha256Digest::parse_hex(&text);
        if let Some(d) = Decimal::parse(&text) {
            prop_assert_eq!(Decimal::parse(&d.to_string()), Some(d));
        }
    }

    #[test]
    fn validation_never_panics(entries in proptest::collection::btree_map("[a-z_]{1,20}", ".{0,40}", 0..12)) {
        let today = common::today();
        for template in [Template::loan_note(), Template::generic_contract()] {
            let mut values: BTreeMap<String, String> = common::loan_values();
            values.extend(entries.clone());
            if let Ok(fields) = template.validate(&values, today) {
                // Canonical values validate to themselves.
                prop_assert_eq!(template.validate(fields.values(), today).unwrap(), fields);
            }
        }
    }

    #[test]
    fn random_loan_lives_never_panic_and_never_owe_less_than_nothing(
        principal_fen in 1u64..5_000_000,
        rate in 0u16..2400,
        term in 1u16..25,
        method_code in 0u8..3,
        grace in 0u16..10,
        ops in proptest::collection::vec(loan_op(), 0..40),
    ) {
        let loan = affix_contract::LoanNote {
            principal_yuan: Decimal::parse(&format!("{}.{:02}", principal_fen / 100, principal_fen % 100)).unwrap(),
            annual_rate_percent: Decimal::parse(&format!("{}.{:02}", rate / 100, rate % 100)).unwrap(),
            start_date: common::date("2026-01-31"),
            term_months: term,
            repayment_method: method(method_code),
        };
        let schedule = loan.schedule().unwrap();
        let total = fen(schedule.total_repayment_yuan());
        let mut book = LoanBook::new(affix_contract::LoanTerms::new(
            common::LOAN_CONTRACT,
            schedule,
            RuleSet::standard_with_grace_days(grace).unwrap(),
        ));
        let mut today = common::date("2026-01-20");
        let mut confirmed = 0u128;
        let mut keys = std::collections::BTreeSet::new();
        let mut all_events = Vec::new();
        for op in ops {
            let before = book.clone();
            let result = match op {
                LoanOp::Wait(days) => {
                    for _ in 0..days {
                        today = plus_days(today, 1);
                        for action in book.due_actions(today) {
                            prop_assert!(keys.insert(action.key.clone()), "key twice: {}", action.key);
                        }
                        if let Some(next) = book.next_trigger_date(today) {
                            prop_assert!(next >= today);
                        }
                    }
                    Ok((book.clone(), Vec::new()))
                }
                LoanOp::Report(amount, back) => book.report_repayment(
                    Decimal::parse(&format!("{}.{:02}", amount / 100, amount % 100)).unwrap(),
                    minus_days(today, back),
                    Some(Sha256Digest::from_bytes([1; 32])),
                    today,
                ),
                LoanOp::Confirm(id) => book.confirm_repayment(RepaymentId(id), today),
                LoanOp::Dispute(id) => book.dispute_repayment(RepaymentId(id), None, today),
                LoanOp::Extend(term, rate, m) => {
                    let terms = ExtensionTerms {
                        annual_rate_percent: Decimal::parse(&format!("{}.{:02}", rate / 100, rate % 100)).unwrap(),
                        term_months: term,
                        repayment_method: method(m),
                    };
                    book.propose_extension(terms, today).and_then(|a| book.apply_extension(&a, today))
                }
                LoanOp::PayAll => {
                    let owed = book.outstanding_yuan();
                    book.report_repayment(owed, today, None, today).and_then(|(b, mut e)| {
                        let id = b.repayments().last().unwrap().id;
                        let (b, more) = b.confirm_repayment(id, today)?;
                        e.extend(more);
                        Ok((b, e))
                    })
                }
            };
            match result {
                Ok((next, events)) => {
                    for event in &events {
                        if let affix_contract::LoanEventKind::RepaymentConfirmed { amount_yuan, .. } = event.kind() {
                            confirmed += fen(*amount_yuan);
                        }
                        for action in next.event_actions(event) {
                            prop_assert!(keys.insert(action.key.clone()));
                        }
                        prop_assert!(event.to_evidence("affix-server", 1).is_ok());
                    }
                    all_events.extend(events);
                    book = next;
                }
                // A refused step changes nothing.
                Err(_) => prop_assert_eq!(&book, &before),
            }
            let outstanding = book.outstanding_yuan();
            prop_assert!(!outstanding.is_negative());
            let unpaid: u128 = book.instalments().iter().map(|i| fen(i.unpaid_yuan)).sum();
            prop_assert_eq!(unpaid, fen(outstanding));
            prop_assert_eq!(book.settled_on().is_some(), fen(outstanding) == 0);
            prop_assert_eq!(book.status_on(today) == LoanStatus::Settled, fen(outstanding) == 0);
            if book.extension() == 0 {
                // Without an extension, what is owed and what was confirmed make up the
                // schedule's total exactly.
                prop_assert_eq!(fen(outstanding) + confirmed, total);
            }
            prop_assert!(fen(book.pending_yuan()) <= fen(outstanding));
        }
        // The events, through their text, replay to the same book.
        let parsed: Vec<_> = all_events
            .iter()
            .map(|e| affix_contract::LoanEvent::parse(&e.canonical_text()).unwrap())
            .collect();
        prop_assert_eq!(&parsed, &all_events);
        let replayed = LoanBook::replay(book.terms().clone(), &parsed, &book.head()).unwrap();
        prop_assert_eq!(replayed, book);
    }

    #[test]
    fn loan_event_text_parsing_never_panics(position in 0usize..1000, byte in 0x20u8..0x7f, cut in 0usize..1000) {
        let book = common::book_of(&common::small_loan());
        let on = common::date("2026-02-15");
        let (book, _) = book.report_repayment(Decimal::parse("312").unwrap(), on, None, on).unwrap();
        let (_, events) = book.confirm_repayment(RepaymentId(1), on).unwrap();
        let mut bytes = events[0].canonical_text().into_bytes();
        let len = bytes.len();
        bytes[position % len] = byte;
        bytes.truncate(cut.max(len / 2));
        let text = String::from_utf8(bytes).unwrap();
        if let Ok(event) = affix_contract::LoanEvent::parse(&text) {
            prop_assert_eq!(event.canonical_text(), text);
        }
    }

    #[test]
    fn rule_set_json_never_panics(text in ".{0,200}") {
        if let Ok(set) = RuleSet::from_json(&text) {
            prop_assert_eq!(RuleSet::from_json(&set.to_json()).unwrap(), set);
        }
    }

    #[test]
    fn mutated_rule_set_json_never_panics(position in 0usize..4000, byte in 0x20u8..0x7f, cut in 0usize..4000) {
        let mut bytes = RuleSet::standard().to_json().into_bytes();
        let len = bytes.len();
        bytes[position % len] = byte;
        bytes.truncate(cut.max(len / 2));
        let text = String::from_utf8(bytes).unwrap();
        if let Ok(set) = RuleSet::from_json(&text) {
            prop_assert_eq!(RuleSet::from_json(&set.to_json()).unwrap(), set);
        }
    }
}
