//! Evaluation of a loan's automation rules: the actions due on a day, the actions an
//! event triggers, and the next day any rule could fire (the scheduler's index).

use core::fmt;

use affix_evidence::{DigestAlgorithm, EvidenceRecord, UnixMillis};
use affix_time::Date;
use sha2::{Digest as _, Sha256};

use crate::loan::Due;
use crate::rules::{Action, Condition, LoanStatus, Rule, RuleId, Trigger};
use crate::{Error, LoanBook, LoanEvent, Sha256Digest};

/// Domain separation of [`IdempotencyKey::digest`].
pub const ACTION_KEY_DOMAIN: &[u8] = b"affix.dev/contract/loan-action/v1\0";

/// The stable name of one action: the same loan, rule, instalment (or event) and day
/// always give the same key, so a scheduler that crashes and evaluates the same day
/// again enqueues each action once (an outbox with a unique key column).
///
/// Text (v1): `<contract id>/<extension>/<rule id>/<instalment>/<date>` for a
/// due-date trigger (`…/0/remind-before-due/3/2026-03-29`), and
/// `<contract id>/<extension>/<rule id>/event-<seq>/<date>` for an event trigger.
/// The extension number keeps the instalments of successive schedules apart.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The key text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `SHA-256(ACTION_KEY_DOMAIN ‖ key text)`, a fixed-size key for a database.
    pub fn digest(&self) -> Sha256Digest {
        let mut hash = Sha256::new();
        hash.update(ACTION_KEY_DOMAIN);
        hash.update(self.0.as_bytes());
        Sha256Digest::from_bytes(hash.finalize().into())
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdempotencyKey({})", self.0)
    }
}

/// What triggered an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionCause {
    /// A due-date trigger, for this instalment of the schedule in force.
    Instalment(u16),
    /// An event trigger, for the event with this sequence number.
    Event(u32),
}

/// One action a rule calls for: enqueue it under its key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DueAction {
    /// Its idempotency key.
    pub key: IdempotencyKey,
    /// The rule.
    pub rule: RuleId,
    /// The instalment or event that triggered it.
    pub cause: ActionCause,
    /// The day it is due.
    pub on: Date,
    /// What to do.
    pub action: Action,
}

impl DueAction {
    /// The evidence record of the action taken: kind `loan.action`, subject
    /// `contract:<id>` (from the key), time `at_ms`, digest `key`
    /// ([`IdempotencyKey::digest`]), metadata `rule`, `action` (`notify`,
    /// `mark_overdue` or `record_evidence`), `to` and `message` or `label`,
    /// `instalment` or `event`, and `date`. The platform adds the delivery record's
    /// digest itself (affix-notify) when it has one.
    pub fn to_evidence(&self, submitter: &str, at_ms: u64) -> Result<EvidenceRecord, Error> {
        let contract = self.key.0.split('/').next().unwrap_or("");
        let mut b = EvidenceRecord::builder(
            "loan.action",
            &format!("contract:{contract}"),
            UnixMillis(at_ms),
            submitter,
        )
        .digest_value(
            "key",
            DigestAlgorithm::Sha256,
            *self.key.digest().as_bytes(),
        )
        .metadata("rule", self.rule.as_str())
        .metadata("date", &self.on.to_string());
        b = match self.cause {
            ActionCause::Instalment(n) => b.metadata("instalment", &n.to_string()),
            ActionCause::Event(seq) => b.metadata("event", &seq.to_string()),
        };
        b = match &self.action {
            Action::Notify { to, message } => b
                .metadata("action", "notify")
                .metadata("to", to.as_str())
                .metadata("message", message.as_str()),
            Action::MarkOverdue => b.metadata("action", "mark_overdue"),
            Action::RecordEvidence { label } => b
                .metadata("action", "record_evidence")
                .metadata("label", label.as_str()),
        };
        Ok(b.build()?)
    }
}

impl LoanBook {
    /// The actions the rules call for on day `on`, in rule-id order: for each rule with
    /// a due-date trigger, the instalment (if any) whose due date plus the trigger's
    /// offset is `on`, when every condition holds in the book's current state (status
    /// as [`LoanBook::status_on`]`(on)`). None once the loan is settled.
    ///
    /// A scheduler calls it once for each day since the last it evaluated (after a
    /// crash, the same day again: the keys make the second enqueue a no-op), then
    /// stores [`LoanBook::next_trigger_date`] to know when to load the loan again.
    /// Cost: O(rules × log instalments).
    pub fn due_actions(&self, on: Date) -> Vec<DueAction> {
        if self.settled_on().is_some() {
            return Vec::new();
        }
        let grace = self.rules().grace_days();
        let on_day = on.day_number();
        let status = self.status_on(on);
        let mut actions = Vec::new();
        for rule in self.rules().rules() {
            let Some(offset) = rule.trigger.days_from_due(grace) else {
                continue;
            };
            let target = on_day - offset;
            let Ok(index) = self.dues.binary_search_by_key(&target, |d| d.due_day) else {
                continue;
            };
            let due = &self.dues[index];
            if self.holds(rule, Some(due), status) {
                actions.push(self.action(
                    rule,
                    ActionCause::Instalment(due.number),
                    &due.number.to_string(),
                    on,
                ));
            }
        }
        actions
    }

    /// The actions the rules call for after `event`, which this book (the state after
    /// the step) has just recorded, in rule-id order. Conditions are checked in this
    /// state (`instalment_unpaid`: money is still owed), the status on the event's
    /// day.
    pub fn event_actions(&self, event: &LoanEvent) -> Vec<DueAction> {
        let trigger = Trigger::Event(event.kind().trigger());
        let status = self.status_on(event.date());
        self.rules()
            .rules()
            .iter()
            .filter(|rule| rule.trigger == trigger && self.holds(rule, None, status))
            .map(|rule| {
                self.action(
                    rule,
                    ActionCause::Event(event.seq()),
                    &format!("event-{}", event.seq()),
                    event.date(),
                )
            })
            .collect()
    }

    /// The first day from `from` (inclusive) on which a due-date rule could fire: no
    /// later than the first day [`LoanBook::due_actions`] returns something (it may be
    /// earlier: a status condition may still be false then). `None` when no rule can
    /// fire again (settled, or every trigger day passed). Instalments already repaid
    /// are skipped for rules that need them unpaid. Cost: O(rules × log instalments).
    ///
    /// The scheduler's index: store it with the loan after each step and each day's
    /// evaluation, and load only the loans whose date has come.
    pub fn next_trigger_date(&self, from: Date) -> Option<Date> {
        if self.settled_on().is_some() {
            return None;
        }
        let grace = self.rules().grace_days();
        let from_day = from.day_number();
        let mut best: Option<i64> = None;
        for rule in self.rules().rules() {
            let Some(offset) = rule.trigger.days_from_due(grace) else {
                continue;
            };
            let mut index = self.dues.partition_point(|d| d.due_day + offset < from_day);
            if rule.conditions.contains(&Condition::InstalmentUnpaid) {
                index = index.max(self.first_unpaid);
                while self.dues.get(index).is_some_and(|d| d.unpaid_fen() == 0) {
                    index += 1;
                }
            }
            if let Some(due) = self.dues.get(index) {
                let day = due.due_day + offset;
                best = Some(best.map_or(day, |b| b.min(day)));
            }
        }
        best.and_then(Date::from_day_number)
    }

    fn holds(&self, rule: &Rule, due: Option<&Due>, status: LoanStatus) -> bool {
        rule.conditions.iter().all(|c| match c {
            Condition::InstalmentUnpaid => match due {
                Some(d) => d.unpaid_fen() > 0,
                None => self.outstanding_fen() > 0,
            },
            Condition::NoRepaymentPending => !self.has_pending(),
            Condition::StatusIn(set) => set.contains(status),
        })
    }

    fn action(&self, rule: &Rule, cause: ActionCause, subject: &str, on: Date) -> DueAction {
        DueAction {
            key: IdempotencyKey(format!(
                "{}/{}/{}/{subject}/{on}",
                self.contract_id(),
                self.extension(),
                rule.id
            )),
            rule: rule.id.clone(),
            cause,
            on,
            action: rule.action.clone(),
        }
    }
}
