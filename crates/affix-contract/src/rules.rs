//! Automation rules of a loan note (the contract's "smart contract"): what happens
//! around each due date and after each loan event, agreed in advance and signed by both
//! parties through the digest of their canonical text (loan rules text v1).
//!
//! A [`Rule`] is declarative: a [`Trigger`] (a day relative to each instalment's due
//! date, a day of overdue, or a loan event), [`Condition`]s that must all hold when it
//! fires, and one [`Action`]. [`crate::LoanBook::due_actions`] evaluates them for a day.

use core::fmt::{self, Write as _};

use sha2::{Digest as _, Sha256};

use crate::json::{self, Value};
use crate::{Error, Sha256Digest};

/// The first line of loan rules text v1.
pub const RULES_TEXT_HEADER: &str = "affix-loan-rules v1";
/// Domain separation of [`RuleSet::digest`].
pub const RULES_DOMAIN: &[u8] = b"affix.dev/contract/loan-rules/v1\0";
/// The `format` member of the rule set JSON.
pub const RULES_JSON_FORMAT: &str = "affix-loan-rules";
/// Rules in one rule set.
pub const RULES_MAX: usize = 32;
/// Conditions of one rule.
pub const CONDITIONS_MAX: usize = 4;
/// Bytes of a rule id or an evidence label.
pub const RULE_ID_BYTES_MAX: usize = 32;
/// Bytes of the rule set JSON input.
pub const RULES_JSON_BYTES_MAX: usize = 64 * 1024;
/// The longest grace period, in days.
pub const GRACE_DAYS_MAX: u16 = 90;
/// The grace period of [`RuleSet::standard`], in days.
pub const DEFAULT_GRACE_DAYS: u16 = 3;
/// The largest distance of a [`Trigger::DaysFromDue`] from the due date, in days.
pub const DUE_OFFSET_DAYS_MAX: i16 = 90;
/// The largest [`Trigger::DaysOverdue`], in days.
pub const OVERDUE_OFFSET_DAYS_MAX: u16 = 365;

/// A rule's name within its rule set: 1 to [`RULE_ID_BYTES_MAX`] bytes of `a`–`z`,
/// `0`–`9` and `-`, starting with a letter or digit. Part of every idempotency key.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleId(String);

impl RuleId {
    /// Parses a rule id ([`Error::InvalidId`] if it is not one).
    pub fn parse(text: &str) -> Result<Self, Error> {
        let ok = !text.is_empty()
            && text.len() <= RULE_ID_BYTES_MAX
            && !text.starts_with('-')
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok {
            return Err(Error::InvalidId {
                what: "rule id",
                reason: "not 1 to 32 of a-z, 0-9, '-' (not starting with '-')",
            });
        }
        Ok(Self(text.to_owned()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RuleId({})", self.0)
    }
}

/// A label for [`Action::RecordEvidence`]: 1 to [`RULE_ID_BYTES_MAX`] bytes of `a`–`z`,
/// `0`–`9` and `_`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EvidenceLabel(String);

impl EvidenceLabel {
    /// Parses a label ([`Error::InvalidId`] if it is not one).
    pub fn parse(text: &str) -> Result<Self, Error> {
        if text.is_empty()
            || text.len() > RULE_ID_BYTES_MAX
            || !text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(Error::InvalidId {
                what: "evidence label",
                reason: "not 1 to 32 of a-z, 0-9, '_'",
            });
        }
        Ok(Self(text.to_owned()))
    }

    /// The label.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A loan's status. Derived, never stored: [`crate::LoanBook::status_on`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LoanStatus {
    /// Money is owed and no instalment is past its grace period.
    Active,
    /// Some instalment is unpaid after its due date plus the grace period.
    Overdue,
    /// Nothing is owed: every instalment is repaid (结清). Final.
    Settled,
}

impl LoanStatus {
    /// `active`, `overdue` or `settled`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Overdue => "overdue",
            Self::Settled => "settled",
        }
    }

    const ALL: [Self; 3] = [Self::Active, Self::Overdue, Self::Settled];

    fn bit(self) -> u8 {
        match self {
            Self::Active => 1,
            Self::Overdue => 2,
            Self::Settled => 4,
        }
    }
}

/// A non-empty set of [`LoanStatus`]es, for [`Condition::StatusIn`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StatusSet(u8);

impl StatusSet {
    /// The set of `statuses`; `None` if it is empty.
    pub fn of(statuses: &[LoanStatus]) -> Option<Self> {
        let bits = statuses.iter().fold(0, |acc, s| acc | s.bit());
        (bits != 0).then_some(Self(bits))
    }

    /// Whether `status` is in the set.
    pub fn contains(self, status: LoanStatus) -> bool {
        self.0 & status.bit() != 0
    }

    fn text(self) -> String {
        LoanStatus::ALL
            .iter()
            .filter(|s| self.contains(**s))
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("|")
    }
}

/// A loan event a rule can be triggered by (the events of [`crate::LoanEventKind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventTrigger {
    /// The borrower reported a repayment.
    RepaymentReported,
    /// The lender confirmed a repayment.
    RepaymentConfirmed,
    /// The lender disputed a repayment.
    RepaymentDisputed,
    /// An extension (展期) took effect.
    Extended,
    /// The loan was settled (结清).
    Settled,
}

impl EventTrigger {
    const ALL: [Self; 5] = [
        Self::RepaymentReported,
        Self::RepaymentConfirmed,
        Self::RepaymentDisputed,
        Self::Extended,
        Self::Settled,
    ];

    /// `repayment_reported`, `repayment_confirmed`, `repayment_disputed`, `extended`,
    /// `settled`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RepaymentReported => "repayment_reported",
            Self::RepaymentConfirmed => "repayment_confirmed",
            Self::RepaymentDisputed => "repayment_disputed",
            Self::Extended => "extended",
            Self::Settled => "settled",
        }
    }
}

/// When a rule fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Trigger {
    /// On the day `n` days from each instalment's due date (−3: three days before; 0:
    /// the due date), `|n|` at most [`DUE_OFFSET_DAYS_MAX`]. Text `due-3`, `due+0`.
    DaysFromDue(i16),
    /// On day `n` of an instalment's overdue period, which starts the day after its
    /// grace period ends (due date + grace days + 1 + `n`); `n` at most
    /// [`OVERDUE_OFFSET_DAYS_MAX`]. Text `overdue+0`.
    DaysOverdue(u16),
    /// When the loan event happens. Text `event:settled`.
    Event(EventTrigger),
}

impl Trigger {
    /// The trigger's day relative to an instalment's due date under `grace_days`
    /// (`None` for event triggers).
    pub fn days_from_due(self, grace_days: u16) -> Option<i64> {
        match self {
            Self::DaysFromDue(n) => Some(i64::from(n)),
            Self::DaysOverdue(n) => Some(i64::from(grace_days) + 1 + i64::from(n)),
            Self::Event(_) => None,
        }
    }

    fn text(self) -> String {
        match self {
            Self::DaysFromDue(n) => format!("due{n:+}"),
            Self::DaysOverdue(n) => format!("overdue+{n}"),
            Self::Event(e) => format!("event:{}", e.as_str()),
        }
    }

    fn parse(text: &str) -> Option<Self> {
        if let Some(event) = text.strip_prefix("event:") {
            return EventTrigger::ALL
                .into_iter()
                .find(|e| e.as_str() == event)
                .map(Self::Event);
        }
        let signed = |t: &str| -> Option<i64> {
            let (negative, digits) = match t.as_bytes().first()? {
                b'+' => (false, &t[1..]),
                b'-' => (true, &t[1..]),
                _ => return None,
            };
            if digits.is_empty()
                || digits.len() > 3
                || !digits.bytes().all(|b| b.is_ascii_digit())
                || (digits.len() > 1 && digits.starts_with('0'))
                || (negative && digits == "0")
            {
                return None;
            }
            let n: i64 = digits.parse().ok()?;
            Some(if negative { -n } else { n })
        };
        if let Some(rest) = text.strip_prefix("overdue") {
            return signed(rest)
                .and_then(|n| u16::try_from(n).ok())
                .map(Self::DaysOverdue);
        }
        let rest = text.strip_prefix("due")?;
        signed(rest)
            .and_then(|n| i16::try_from(n).ok())
            .map(Self::DaysFromDue)
    }
}

/// A condition that must hold when a rule fires (a rule's conditions must all hold).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Condition {
    /// For a due-date trigger: the instalment is not fully repaid (confirmed
    /// repayments only). For an event trigger: the loan has money owed.
    /// Text `instalment_unpaid`.
    InstalmentUnpaid,
    /// No reported repayment is awaiting the lender's confirmation.
    /// Text `no_repayment_pending`.
    NoRepaymentPending,
    /// The loan's status on the day is in the set. Text `status:active|overdue`.
    StatusIn(StatusSet),
}

impl Condition {
    fn text(self) -> String {
        match self {
            Self::InstalmentUnpaid => "instalment_unpaid".to_owned(),
            Self::NoRepaymentPending => "no_repayment_pending".to_owned(),
            Self::StatusIn(set) => format!("status:{}", set.text()),
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "instalment_unpaid" => return Some(Self::InstalmentUnpaid),
            "no_repayment_pending" => return Some(Self::NoRepaymentPending),
            _ => {}
        }
        let names = text.strip_prefix("status:")?;
        let mut statuses = Vec::new();
        for name in names.split('|') {
            let status = LoanStatus::ALL.into_iter().find(|s| s.as_str() == name)?;
            if statuses.contains(&status) {
                return None;
            }
            statuses.push(status);
        }
        StatusSet::of(&statuses).map(Self::StatusIn)
    }
}

/// Who a notification goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Recipient {
    /// The borrower.
    Borrower,
    /// The lender.
    Lender,
    /// Both.
    Both,
}

impl Recipient {
    /// Every recipient.
    pub const ALL: [Self; 3] = [Self::Borrower, Self::Lender, Self::Both];

    /// `borrower`, `lender` or `both`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Borrower => "borrower",
            Self::Lender => "lender",
            Self::Both => "both",
        }
    }
}

/// Which message a notification carries; the platform holds the wording (and its
/// translations) for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MessageKind {
    /// An instalment is due soon.
    ReminderBeforeDue,
    /// An instalment is due today.
    ReminderDueToday,
    /// An instalment is overdue.
    OverdueNotice,
    /// A repayment was reported (to the lender: please confirm).
    RepaymentReported,
    /// A repayment was confirmed.
    RepaymentConfirmed,
    /// A repayment was disputed.
    RepaymentDisputed,
    /// An extension took effect.
    ExtensionAgreed,
    /// The loan is settled.
    Settled,
}

impl MessageKind {
    /// Every message kind.
    pub const ALL: [Self; 8] = [
        Self::ReminderBeforeDue,
        Self::ReminderDueToday,
        Self::OverdueNotice,
        Self::RepaymentReported,
        Self::RepaymentConfirmed,
        Self::RepaymentDisputed,
        Self::ExtensionAgreed,
        Self::Settled,
    ];

    /// The name in the rule texts: `reminder_before_due`, `reminder_due_today`,
    /// `overdue_notice`, `repayment_reported`, `repayment_confirmed`,
    /// `repayment_disputed`, `extension_agreed`, `settled`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReminderBeforeDue => "reminder_before_due",
            Self::ReminderDueToday => "reminder_due_today",
            Self::OverdueNotice => "overdue_notice",
            Self::RepaymentReported => "repayment_reported",
            Self::RepaymentConfirmed => "repayment_confirmed",
            Self::RepaymentDisputed => "repayment_disputed",
            Self::ExtensionAgreed => "extension_agreed",
            Self::Settled => "settled",
        }
    }
}

impl core::str::FromStr for Recipient {
    type Err = Error;

    /// The inverse of [`Recipient::as_str`]; [`Error::UnknownName`] otherwise.
    fn from_str(text: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == text)
            .ok_or(Error::UnknownName {
                what: "recipient",
                expected: "borrower, lender or both",
            })
    }
}

impl core::str::FromStr for MessageKind {
    type Err = Error;

    /// The inverse of [`MessageKind::as_str`]; [`Error::UnknownName`] otherwise.
    fn from_str(text: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == text)
            .ok_or(Error::UnknownName {
                what: "message kind",
                expected: "a message kind of the loan rules (reminder_before_due, ...)",
            })
    }
}

/// What a rule does when it fires. The platform records every action as an evidence
/// event, whatever it is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// Send a notification. Text `notify borrower reminder_before_due`.
    Notify {
        /// To whom.
        to: Recipient,
        /// Which message.
        message: MessageKind,
    },
    /// Record that the loan is overdue (set its status column, record the evidence).
    /// Only with trigger `overdue+0`, the first day [`crate::LoanBook::status_on`]
    /// reports overdue, so the action and the derived status agree. Text
    /// `mark_overdue`.
    MarkOverdue,
    /// Only record an evidence event with this label. Text `record_evidence LABEL`.
    RecordEvidence {
        /// The label.
        label: EvidenceLabel,
    },
}

impl Action {
    fn text(&self) -> String {
        match self {
            Self::Notify { to, message } => {
                format!("notify {} {}", to.as_str(), message.as_str())
            }
            Self::MarkOverdue => "mark_overdue".to_owned(),
            Self::RecordEvidence { label } => format!("record_evidence {}", label.as_str()),
        }
    }
}

/// One automation rule: when `trigger` fires and every condition holds, do `action`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Unique within the rule set.
    pub id: RuleId,
    /// When it fires.
    pub trigger: Trigger,
    /// What must all hold (none: always). At most [`CONDITIONS_MAX`], no duplicates.
    pub conditions: Vec<Condition>,
    /// What it does.
    pub action: Action,
}

/// A checked set of automation rules with its grace period: what both parties sign
/// through [`RuleSet::digest`]. Rules are kept sorted by id and each rule's conditions
/// sorted, so one set has one text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSet {
    grace_days: u16,
    rules: Vec<Rule>,
}

impl RuleSet {
    /// A rule set; [`Error::RuleSetInvalid`] (naming the rule by its position in `rules`)
    /// if: more than [`RULES_MAX`] rules, a grace period above [`GRACE_DAYS_MAX`], a
    /// duplicate rule id, an offset out of range, more than [`CONDITIONS_MAX`] or
    /// duplicate conditions, or [`Action::MarkOverdue`] on a trigger other than
    /// `overdue+0`.
    pub fn new(grace_days: u16, mut rules: Vec<Rule>) -> Result<Self, Error> {
        let invalid = |rule, field, reason| Error::RuleSetInvalid {
            rule,
            field,
            reason,
        };
        if rules.len() > RULES_MAX {
            return Err(invalid(None, "rules", "more than RULES_MAX rules"));
        }
        if grace_days > GRACE_DAYS_MAX {
            return Err(invalid(None, "grace_days", "above GRACE_DAYS_MAX"));
        }
        for index in 0..rules.len() {
            if rules_before_have_id(&rules[..index], &rules[index].id) {
                return Err(invalid(Some(index), "id", "duplicate rule id"));
            }
            let rule = &mut rules[index];
            let at = Some(index);
            match rule.trigger {
                Trigger::DaysFromDue(n)
                    if n.unsigned_abs() > DUE_OFFSET_DAYS_MAX.unsigned_abs() =>
                {
                    return Err(invalid(
                        at,
                        "trigger",
                        "more than 90 days from the due date",
                    ));
                }
                Trigger::DaysOverdue(n) if n > OVERDUE_OFFSET_DAYS_MAX => {
                    return Err(invalid(at, "trigger", "more than 365 days overdue"));
                }
                _ => {}
            }
            if rule.conditions.len() > CONDITIONS_MAX {
                return Err(invalid(
                    at,
                    "conditions",
                    "more than CONDITIONS_MAX conditions",
                ));
            }
            rule.conditions.sort_unstable();
            if rule.conditions.windows(2).any(|w| w[0] == w[1]) {
                return Err(invalid(at, "conditions", "duplicate condition"));
            }
            if rule.action == Action::MarkOverdue && rule.trigger != Trigger::DaysOverdue(0) {
                return Err(invalid(
                    at,
                    "action",
                    "mark_overdue needs the trigger overdue+0",
                ));
            }
        }
        rules.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(Self { grace_days, rules })
    }

    /// The standard rules with the default grace period ([`DEFAULT_GRACE_DAYS`]).
    pub fn standard() -> Self {
        Self::standard_with_grace_days(DEFAULT_GRACE_DAYS)
            // 3 <= GRACE_DAYS_MAX, and the rules below are valid (unit test
            // `the_standard_set_is_valid`).
            .expect("standard rule set is valid")
    }

    /// The standard rules, with `grace_days` of grace:
    ///
    /// | id | trigger | conditions | action |
    /// | --- | --- | --- | --- |
    /// | `remind-before-due` | `due-3` | `instalment_unpaid` | notify borrower `reminder_before_due` |
    /// | `remind-due-today` | `due+0` | `instalment_unpaid` | notify borrower `reminder_due_today` |
    /// | `mark-overdue` | `overdue+0` | `instalment_unpaid` | `mark_overdue` |
    /// | `overdue-notice` | `overdue+0` | `instalment_unpaid` | notify both `overdue_notice` |
    /// | `notify-reported` | `event:repayment_reported` | | notify lender `repayment_reported` |
    /// | `notify-confirmed` | `event:repayment_confirmed` | | notify borrower `repayment_confirmed` |
    /// | `notify-disputed` | `event:repayment_disputed` | | notify borrower `repayment_disputed` |
    /// | `notify-extended` | `event:extended` | | notify both `extension_agreed` |
    /// | `notify-settled` | `event:settled` | | notify both `settled` |
    pub fn standard_with_grace_days(grace_days: u16) -> Result<Self, Error> {
        let rule = |id: &str, trigger, conditions: &[Condition], action| -> Result<Rule, Error> {
            Ok(Rule {
                id: RuleId::parse(id)?,
                trigger,
                conditions: conditions.to_vec(),
                action,
            })
        };
        let notify = |to, message| Action::Notify { to, message };
        let unpaid = [Condition::InstalmentUnpaid];
        use EventTrigger as E;
        use MessageKind as M;
        use Recipient::{Borrower, Both, Lender};
        Self::new(
            grace_days,
            vec![
                rule(
                    "remind-before-due",
                    Trigger::DaysFromDue(-3),
                    &unpaid,
                    notify(Borrower, M::ReminderBeforeDue),
                )?,
                rule(
                    "remind-due-today",
                    Trigger::DaysFromDue(0),
                    &unpaid,
                    notify(Borrower, M::ReminderDueToday),
                )?,
                rule(
                    "mark-overdue",
                    Trigger::DaysOverdue(0),
                    &unpaid,
                    Action::MarkOverdue,
                )?,
                rule(
                    "overdue-notice",
                    Trigger::DaysOverdue(0),
                    &unpaid,
                    notify(Both, M::OverdueNotice),
                )?,
                rule(
                    "notify-reported",
                    Trigger::Event(E::RepaymentReported),
                    &[],
                    notify(Lender, M::RepaymentReported),
                )?,
                rule(
                    "notify-confirmed",
                    Trigger::Event(E::RepaymentConfirmed),
                    &[],
                    notify(Borrower, M::RepaymentConfirmed),
                )?,
                rule(
                    "notify-disputed",
                    Trigger::Event(E::RepaymentDisputed),
                    &[],
                    notify(Borrower, M::RepaymentDisputed),
                )?,
                rule(
                    "notify-extended",
                    Trigger::Event(E::Extended),
                    &[],
                    notify(Both, M::ExtensionAgreed),
                )?,
                rule(
                    "notify-settled",
                    Trigger::Event(E::Settled),
                    &[],
                    notify(Both, M::Settled),
                )?,
            ],
        )
    }

    /// The grace period in days: an instalment unpaid on its due date plus this many
    /// days is overdue the day after.
    pub fn grace_days(&self) -> u16 {
        self.grace_days
    }

    /// The rules, sorted by id.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Loan rules text v1: ASCII, lines ending in `\n`:
    ///
    /// ```text
    /// affix-loan-rules v1
    /// grace_days 3
    /// rules 2
    /// rule mark-overdue overdue+0 if instalment_unpaid then mark_overdue
    /// rule notify-settled event:settled if always then notify both settled
    /// ```
    ///
    /// One `rule` line per rule, sorted by id: `rule ID TRIGGER if CONDITIONS then
    /// ACTION`, where `CONDITIONS` is `always` or the conditions joined by ` and ` (in
    /// the order `instalment_unpaid`, `no_repayment_pending`, `status:…`; statuses in the
    /// order active, overdue, settled, joined by `|`). The tokens are those of the
    /// types' docs. Frozen by `tests/vectors/rules-v1.txt`.
    pub fn canonical_text(&self) -> String {
        let mut text = format!(
            "{RULES_TEXT_HEADER}\ngrace_days {}\nrules {}\n",
            self.grace_days,
            self.rules.len()
        );
        for rule in &self.rules {
            let conditions = if rule.conditions.is_empty() {
                "always".to_owned()
            } else {
                rule.conditions
                    .iter()
                    .map(|c| c.text())
                    .collect::<Vec<_>>()
                    .join(" and ")
            };
            // Writing to a String cannot fail.
            let _ = writeln!(
                text,
                "rule {} {} if {conditions} then {}",
                rule.id,
                rule.trigger.text(),
                rule.action.text()
            );
        }
        text
    }

    /// `SHA-256(RULES_DOMAIN ‖ canonical text)`: what the contract carries to bind the
    /// rules both parties agreed to.
    pub fn digest(&self) -> Sha256Digest {
        let mut hash = Sha256::new();
        hash.update(RULES_DOMAIN);
        hash.update(self.canonical_text().as_bytes());
        Sha256Digest::from_bytes(hash.finalize().into())
    }

    /// Parses the rule set JSON (what an API client sends, and what
    /// [`RuleSet::to_json`] writes for storage):
    ///
    /// ```json
    /// {"format": "affix-loan-rules", "version": 1, "grace_days": 3, "rules": [
    ///   {"id": "remind-before-due", "trigger": "due-3",
    ///    "conditions": ["instalment_unpaid"],
    ///    "action": {"type": "notify", "to": "borrower", "message": "reminder_before_due"}},
    ///   {"id": "mark-overdue", "trigger": "overdue+0", "conditions": ["instalment_unpaid"],
    ///    "action": {"type": "mark_overdue"}},
    ///   {"id": "log-due", "trigger": "due+0",
    ///    "action": {"type": "record_evidence", "label": "due_date_reached"}}
    /// ]}
    /// ```
    ///
    /// Strict JSON (duplicate member names and unknown members refused); `grace_days`
    /// defaults to [`DEFAULT_GRACE_DAYS`], `conditions` to none. Triggers and
    /// conditions use the tokens of the canonical text. Errors: [`Error::TooLarge`]
    /// above [`RULES_JSON_BYTES_MAX`], [`Error::Malformed`] for bad JSON,
    /// [`Error::UnsupportedVersion`], [`Error::RuleSetInvalid`] naming the rule (its
    /// position in the array) and the member.
    pub fn from_json(text: &str) -> Result<Self, Error> {
        if text.len() > RULES_JSON_BYTES_MAX {
            return Err(Error::TooLarge {
                what: "rule set JSON bytes",
                actual: text.len(),
                limit: RULES_JSON_BYTES_MAX,
            });
        }
        let value = json::parse("rule set JSON", text)?;
        let invalid = |rule, field, reason| Error::RuleSetInvalid {
            rule,
            field,
            reason,
        };
        only_members(&value, &["format", "version", "grace_days", "rules"], None)?;
        if value.member("format") != Some(&Value::String(RULES_JSON_FORMAT.to_owned())) {
            return Err(invalid(None, "format", "not \"affix-loan-rules\""));
        }
        match value.member("version") {
            Some(Value::Integer(1)) => {}
            Some(Value::Integer(v)) => {
                return Err(Error::UnsupportedVersion {
                    what: "rule set JSON",
                    version: u8::try_from(*v).unwrap_or(u8::MAX),
                });
            }
            _ => return Err(invalid(None, "version", "missing or not an integer")),
        }
        let grace_days = match value.member("grace_days") {
            None => DEFAULT_GRACE_DAYS,
            Some(Value::Integer(g)) => u16::try_from(*g)
                .ok()
                .filter(|g| *g <= GRACE_DAYS_MAX)
                .ok_or(invalid(None, "grace_days", "not from 0 to GRACE_DAYS_MAX"))?,
            Some(_) => return Err(invalid(None, "grace_days", "not an integer")),
        };
        let Some(Value::Array(items)) = value.member("rules") else {
            return Err(invalid(None, "rules", "missing or not an array"));
        };
        if items.len() > RULES_MAX {
            return Err(invalid(None, "rules", "more than RULES_MAX rules"));
        }
        let mut rules = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            rules.push(rule_from_json(item, index)?);
        }
        Self::new(grace_days, rules)
    }

    /// The JSON [`RuleSet::from_json`] reads, canonical (members in the documented
    /// order, rules sorted by id, no whitespace, `conditions` always present):
    /// `from_json(to_json())` is the same set.
    pub fn to_json(&self) -> String {
        let mut out = format!(
            "{{\"format\":\"{RULES_JSON_FORMAT}\",\"version\":1,\"grace_days\":{},\"rules\":[",
            self.grace_days
        );
        for (i, rule) in self.rules.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let conditions = rule
                .conditions
                .iter()
                .map(|c| format!("\"{}\"", c.text()))
                .collect::<Vec<_>>()
                .join(",");
            let action = match &rule.action {
                Action::Notify { to, message } => format!(
                    "{{\"type\":\"notify\",\"to\":\"{}\",\"message\":\"{}\"}}",
                    to.as_str(),
                    message.as_str()
                ),
                Action::MarkOverdue => "{\"type\":\"mark_overdue\"}".to_owned(),
                Action::RecordEvidence { label } => format!(
                    "{{\"type\":\"record_evidence\",\"label\":\"{}\"}}",
                    label.as_str()
                ),
            };
            // Every string written is ASCII without quotes or backslashes (ids,
            // labels and tokens are checked), so nothing needs escaping.
            let _ = write!(
                out,
                "{{\"id\":\"{}\",\"trigger\":\"{}\",\"conditions\":[{conditions}],\"action\":{action}}}",
                rule.id,
                rule.trigger.text()
            );
        }
        out.push_str("]}");
        out
    }
}

fn rules_before_have_id(rules: &[Rule], id: &RuleId) -> bool {
    rules.iter().any(|r| r.id == *id)
}

/// Refuses members of `value` (an object) not in `allowed`.
fn only_members(value: &Value, allowed: &[&str], rule: Option<usize>) -> Result<(), Error> {
    let Value::Object(members) = value else {
        return Err(Error::RuleSetInvalid {
            rule,
            field: "",
            reason: "not a JSON object",
        });
    };
    if members.iter().any(|(k, _)| !allowed.contains(&k.as_str())) {
        return Err(Error::RuleSetInvalid {
            rule,
            field: "",
            reason: "unknown member",
        });
    }
    Ok(())
}

fn rule_from_json(item: &Value, index: usize) -> Result<Rule, Error> {
    let at = Some(index);
    let invalid = |field, reason| Error::RuleSetInvalid {
        rule: at,
        field,
        reason,
    };
    only_members(item, &["id", "trigger", "conditions", "action"], at)?;
    let string = |field| match item.member(field) {
        Some(Value::String(s)) => Ok(s.as_str()),
        _ => Err(invalid(field, "missing or not a string")),
    };
    let id = RuleId::parse(string("id")?)
        .map_err(|_| invalid("id", "not 1 to 32 of a-z, 0-9, '-' (not starting with '-')"))?;
    let trigger = Trigger::parse(string("trigger")?).ok_or(invalid(
        "trigger",
        "not due±N, overdue+N or event:KIND with a known kind",
    ))?;
    let conditions = match item.member("conditions") {
        None => Vec::new(),
        Some(Value::Array(list)) => {
            if list.len() > CONDITIONS_MAX {
                return Err(invalid("conditions", "more than CONDITIONS_MAX conditions"));
            }
            list.iter()
                .map(|c| match c {
                    Value::String(s) => Condition::parse(s),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()
                .ok_or(invalid("conditions", "not a known condition"))?
        }
        Some(_) => return Err(invalid("conditions", "not an array")),
    };
    let action_value = item.member("action").ok_or(invalid("action", "missing"))?;
    let action_string = |field| match action_value.member(field) {
        Some(Value::String(s)) => Ok(s.as_str()),
        _ => Err(invalid("action", "a member is missing or not a string")),
    };
    let action = match action_string("type")? {
        "notify" => {
            only_members(action_value, &["type", "to", "message"], at)?;
            let to = action_string("to")?;
            let message = action_string("message")?;
            Action::Notify {
                to: to
                    .parse()
                    .map_err(|_| invalid("action", "recipient not borrower, lender or both"))?,
                message: message
                    .parse()
                    .map_err(|_| invalid("action", "unknown message kind"))?,
            }
        }
        "mark_overdue" => {
            only_members(action_value, &["type"], at)?;
            Action::MarkOverdue
        }
        "record_evidence" => {
            only_members(action_value, &["type", "label"], at)?;
            Action::RecordEvidence {
                label: EvidenceLabel::parse(action_string("label")?)
                    .map_err(|_| invalid("action", "label not 1 to 32 of a-z, 0-9, '_'"))?,
            }
        }
        _ => {
            return Err(invalid(
                "action",
                "type not notify, mark_overdue or record_evidence",
            ));
        }
    };
    Ok(Rule {
        id,
        trigger,
        conditions,
        action,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_set_is_valid() {
        let set = RuleSet::standard();
        assert_eq!(set.rules().len(), 9);
        assert_eq!(RuleSet::from_json(&set.to_json()).unwrap(), set);
    }

    #[test]
    fn names_round_trip() {
        for m in MessageKind::ALL {
            assert_eq!(m.as_str().parse::<MessageKind>(), Ok(m));
        }
        for r in Recipient::ALL {
            assert_eq!(r.as_str().parse::<Recipient>(), Ok(r));
        }
        assert!(matches!(
            "Settled".parse::<MessageKind>(),
            Err(Error::UnknownName { .. })
        ));
        assert!("all".parse::<Recipient>().is_err());
    }

    #[test]
    fn trigger_tokens_round_trip() {
        for t in [
            Trigger::DaysFromDue(-3),
            Trigger::DaysFromDue(0),
            Trigger::DaysFromDue(90),
            Trigger::DaysOverdue(0),
            Trigger::DaysOverdue(7),
            Trigger::Event(EventTrigger::Settled),
        ] {
            assert_eq!(Trigger::parse(&t.text()), Some(t), "{}", t.text());
        }
        assert_eq!(Trigger::DaysFromDue(0).text(), "due+0");
        assert_eq!(Trigger::DaysFromDue(-3).text(), "due-3");
        for bad in [
            "due",
            "due3",
            "due-0",
            "due+03",
            "due+1000",
            "overdue-1",
            "event:x",
            "Due+1",
        ] {
            assert_eq!(Trigger::parse(bad), None, "{bad}");
        }
    }
}
