//! Automation rule sets: the standard set's canonical text and digest frozen, JSON input
//! parsed strictly with specific errors, one set one text whatever the input order.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

mod common;

use affix_contract::{
    Action, Condition, Error, EventTrigger, LoanStatus, RULES_MAX, RuleSet, StatusSet, Trigger,
};

#[test]
fn the_standard_rule_set_text_is_frozen() {
    let set = RuleSet::standard();
    assert_eq!(set.grace_days(), 3);
    common::check_vector("rules-v1.txt", &set.canonical_text());
    common::check_vector("rules-v1.digest", &format!("{}\n", set.digest()));
    common::check_vector("rules-v1.json", &format!("{}\n", set.to_json()));
    assert_eq!(RuleSet::from_json(&set.to_json()).unwrap(), set);
    // The grace period is part of the signed text.
    let five = RuleSet::standard_with_grace_days(5).unwrap();
    assert!(five.canonical_text().contains("\ngrace_days 5\n"));
    assert_ne!(five.digest(), set.digest());
}

const CUSTOM: &str = r#"{
  "format": "affix-loan-rules", "version": 1, "grace_days": 5,
  "rules": [
    {"id": "second-notice", "trigger": "overdue+7",
     "conditions": ["status:overdue", "instalment_unpaid"],
     "action": {"type": "notify", "to": "both", "message": "overdue_notice"}},
    {"id": "log-due", "trigger": "due+0",
     "action": {"type": "record_evidence", "label": "due_date_reached"}},
    {"id": "early", "trigger": "due-10", "conditions": ["no_repayment_pending", "instalment_unpaid"],
     "action": {"type": "notify", "to": "borrower", "message": "reminder_before_due"}},
    {"id": "on-dispute", "trigger": "event:repayment_disputed",
     "action": {"type": "notify", "to": "lender", "message": "repayment_disputed"}}
  ]
}"#;

#[test]
fn json_rules_parse_into_one_canonical_text() {
    let set = RuleSet::from_json(CUSTOM).unwrap();
    assert_eq!(
        set.canonical_text(),
        "affix-loan-rules v1\n\
         grace_days 5\n\
         rules 4\n\
         rule early due-10 if instalment_unpaid and no_repayment_pending then notify borrower reminder_before_due\n\
         rule log-due due+0 if always then record_evidence due_date_reached\n\
         rule on-dispute event:repayment_disputed if always then notify lender repayment_disputed\n\
         rule second-notice overdue+7 if instalment_unpaid and status:overdue then notify both overdue_notice\n"
    );
    let second = &set.rules()[3];
    assert_eq!(second.trigger, Trigger::DaysOverdue(7));
    assert_eq!(second.trigger.days_from_due(5), Some(13));
    assert_eq!(
        second.conditions,
        [
            Condition::InstalmentUnpaid,
            Condition::StatusIn(StatusSet::of(&[LoanStatus::Overdue]).unwrap())
        ]
    );
    assert_eq!(
        set.rules()[2].trigger,
        Trigger::Event(EventTrigger::RepaymentDisputed)
    );
    assert!(matches!(
        set.rules()[1].action,
        Action::RecordEvidence { .. }
    ));
    // Same rules in another order, with whitespace and escapes: the same set.
    let reordered = r#"{"rules":[
      {"id":"on-dispute","trigger":"event:repayment_disputed","conditions":[],"action":{"message":"repayment_disputed","to":"lender","type":"notify"}},
      {"id":"second-notice","trigger":"overdue+7","conditions":["instalment_unpaid","status:overdue"],"action":{"type":"notify","to":"both","message":"overdue_notice"}},
      {"id":"early","trigger":"due-10","conditions":["instalment_unpaid","no_repayment_pending"],"action":{"type":"notify","to":"borrower","message":"reminder_before_due"}},
      {"id":"log-due","trigger":"due+0","action":{"type":"record_evidence","label":"due_date_reached"}}],
      "grace_days":5,"version":1,"format":"affix-loan-rules"}"#;
    assert_eq!(
        RuleSet::from_json(reordered).unwrap().digest(),
        set.digest()
    );
    // Without grace_days: the default, 3.
    let default_grace = r#"{"format":"affix-loan-rules","version":1,"rules":[]}"#;
    assert_eq!(RuleSet::from_json(default_grace).unwrap().grace_days(), 3);
}

fn error_of(json: &str) -> Error {
    RuleSet::from_json(json).unwrap_err()
}

fn invalid(rule: Option<usize>, field: &'static str, reason: &'static str) -> Error {
    Error::RuleSetInvalid {
        rule,
        field,
        reason,
    }
}

/// The custom set with the first occurrence of `from` replaced by `to`.
fn custom_with(from: &str, to: &str) -> String {
    assert!(CUSTOM.contains(from), "{from}");
    CUSTOM.replacen(from, to, 1)
}

#[test]
fn bad_rule_sets_get_specific_errors() {
    let head = r#"{"format":"affix-loan-rules","version":1,"#;
    assert!(matches!(
        error_of("{\"format\": "),
        Error::Malformed {
            what: "rule set JSON",
            ..
        }
    ));
    assert!(matches!(
        error_of(&custom_with(
            "\"grace_days\": 5",
            "\"grace_days\": 5, \"grace_days\": 6"
        )),
        Error::Malformed {
            reason: "duplicate member name",
            ..
        }
    ));
    assert_eq!(
        error_of(r#"{"format":"affix-loan-rules","version":2,"rules":[]}"#),
        Error::UnsupportedVersion {
            what: "rule set JSON",
            version: 2
        }
    );
    assert_eq!(
        error_of(r#"{"format":"other","version":1,"rules":[]}"#),
        invalid(None, "format", "not \"affix-loan-rules\"")
    );
    assert_eq!(
        error_of(&format!("{head}\"grace_days\":91,\"rules\":[]}}")),
        invalid(None, "grace_days", "not from 0 to GRACE_DAYS_MAX")
    );
    assert_eq!(
        error_of(&format!("{head}\"rules\":[],\"extra\":1}}")),
        invalid(None, "", "unknown member")
    );
    assert_eq!(
        error_of(&format!("{head}\"rules\":{{}}}}")),
        invalid(None, "rules", "missing or not an array")
    );
    assert_eq!(
        error_of(&custom_with(
            "\"id\": \"log-due\"",
            "\"id\": \"second-notice\""
        )),
        invalid(Some(1), "id", "duplicate rule id")
    );
    assert_eq!(
        error_of(&custom_with("\"id\": \"log-due\"", "\"id\": \"Log Due\"")),
        invalid(
            Some(1),
            "id",
            "not 1 to 32 of a-z, 0-9, '-' (not starting with '-')"
        )
    );
    assert_eq!(
        error_of(&custom_with("due-10", "due-91")),
        invalid(Some(2), "trigger", "more than 90 days from the due date")
    );
    assert_eq!(
        error_of(&custom_with("due-10", "due+-1")),
        invalid(
            Some(2),
            "trigger",
            "not due±N, overdue+N or event:KIND with a known kind"
        )
    );
    assert_eq!(
        error_of(&custom_with("event:repayment_disputed", "event:paid")),
        invalid(
            Some(3),
            "trigger",
            "not due±N, overdue+N or event:KIND with a known kind"
        )
    );
    assert_eq!(
        error_of(&custom_with(
            "\"status:overdue\"",
            "\"status:overdue|overdue\""
        )),
        invalid(Some(0), "conditions", "not a known condition")
    );
    assert_eq!(
        error_of(&custom_with("\"status:overdue\"", "\"instalment_unpaid\"")),
        invalid(Some(0), "conditions", "duplicate condition")
    );
    assert_eq!(
        error_of(&custom_with(
            "\"status:overdue\"",
            "\"status:overdue\", \"status:active\", \"status:settled\", \"no_repayment_pending\""
        )),
        invalid(Some(0), "conditions", "more than CONDITIONS_MAX conditions")
    );
    assert_eq!(
        error_of(&custom_with("\"to\": \"both\"", "\"to\": \"everyone\"")),
        invalid(Some(0), "action", "recipient not borrower, lender or both")
    );
    assert_eq!(
        error_of(&custom_with(
            "\"message\": \"overdue_notice\"",
            "\"message\": \"hello\""
        )),
        invalid(Some(0), "action", "unknown message kind")
    );
    assert_eq!(
        error_of(&custom_with(
            "{\"type\": \"record_evidence\", \"label\": \"due_date_reached\"}",
            "{\"type\": \"mark_overdue\"}"
        )),
        invalid(
            Some(1),
            "action",
            "mark_overdue needs the trigger overdue+0"
        )
    );
    assert_eq!(
        error_of(&custom_with(
            "\"label\": \"due_date_reached\"",
            "\"label\": \"due date\""
        )),
        invalid(Some(1), "action", "label not 1 to 32 of a-z, 0-9, '_'")
    );
    assert_eq!(
        error_of(&custom_with(
            "\"type\": \"record_evidence\"",
            "\"type\": \"pay\""
        )),
        invalid(
            Some(1),
            "action",
            "type not notify, mark_overdue or record_evidence"
        )
    );
    assert_eq!(
        error_of(&custom_with(
            "\"to\": \"both\",",
            "\"to\": \"both\", \"cc\": \"x\","
        )),
        invalid(Some(0), "", "unknown member")
    );
    let many: Vec<String> = (0..=RULES_MAX)
        .map(|i| {
            format!(
                r#"{{"id":"r{i}","trigger":"due+0","action":{{"type":"record_evidence","label":"x"}}}}"#
            )
        })
        .collect();
    assert_eq!(
        error_of(&format!("{head}\"rules\":[{}]}}", many.join(","))),
        invalid(None, "rules", "more than RULES_MAX rules")
    );
    assert!(matches!(
        error_of(&" ".repeat(70_000)),
        Error::TooLarge { .. }
    ));
}
