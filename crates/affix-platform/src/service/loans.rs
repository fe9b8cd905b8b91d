//! Loans: the e-IOU after its loan note takes effect. `affix-contract`'s [`LoanBook`]
//! decides every step (repayments reported, confirmed, disputed; settlement) and which
//! automation rules are due; this module stores its hash chain, runs the rules on the
//! platform clock's days, delivers the notices and queues every event and action as an
//! evidence record.
//!
//! - A loan is opened in the transaction of the signature that makes the loan note
//!   effective (`loans` row, head = the loan terms' digest). Parties: the note's first
//!   party is the lender, the second the borrower.
//! - A loan step is one transaction: its loan events, the actions their event rules
//!   trigger, the new head and the next rule date, guarded by the event count
//!   (optimistic concurrency, replayed on a concurrent change).
//! - The scheduler ([`run`]) evaluates, for each loan whose `next_due` day has come,
//!   every rule day up to today, and inserts the due actions keyed by their
//!   idempotency key (`ON CONFLICT DO NOTHING`) together with the new `next_due`, in
//!   one transaction: a crash or restart re-evaluates the same days and adds nothing
//!   twice; nothing is skipped because `next_due` only moves forward in that same
//!   transaction.
//! - Pending actions are then carried out (notices by e-mail, and SMS when the person
//!   has a mobile number) and their delivery results stored with them: the proof of
//!   notice. A notice's notification id is derived from the action key, so a resend
//!   after a crash between delivery and marking is recognizable as the same notice.
//!
//! Tenant members act on behalf of the parties (the borrower reports, the lender
//! confirms or disputes), as they create and send contracts; each step is audited.

use std::sync::Arc;
use std::time::Duration;

use affix_contract::{
    ContractId, Decimal, DueAction, LoanBook, LoanEvent, LoanEventKind, LoanNote, LoanTerms,
    RepaymentId, RuleSet, Template,
};
use affix_identity::Date;
use sha2::{Digest as _, Sha256};
use sqlx::Row as _;

use super::{Platform, Principal, Role, conflict, invalid};
use crate::Error;
use crate::store::{i, u};

/// Loans evaluated per scheduler round.
const DUE_BATCH: i64 = 500;
/// Actions carried out per round.
const ACTION_BATCH: i64 = 200;
/// How often a step is replayed on a loan that changed under it.
const LOAN_STEP_RETRIES: u32 = 5;
/// Largest repayment proof image (a transfer receipt).
pub const PROOF_BYTES_MAX: usize = 2 * 1024 * 1024;

/// One repayment as the API shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RepaymentView {
    /// Its number in the loan.
    pub id: u32,
    /// Amount in yuan.
    pub amount: String,
    /// The day the borrower says it was paid.
    pub paid_on: String,
    /// The day it was reported.
    pub reported_on: String,
    /// `pending`, `confirmed` or `disputed`.
    pub status: String,
    /// SHA-256 of the proof attachment, if any.
    pub proof_sha256: Option<String>,
}

/// One instalment with what has been paid of it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InstalmentView {
    /// 1-based.
    pub number: u16,
    /// Due date.
    pub due_date: String,
    /// Interest due, yuan.
    pub interest: String,
    /// Principal due, yuan.
    pub principal: String,
    /// Still unpaid, yuan.
    pub unpaid: String,
}

/// A loan as the API shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoanView {
    /// The loan note's contract id.
    pub contract_id: String,
    /// `active`, `overdue` or `settled`, on the platform's today.
    pub status: String,
    /// Owed, yuan (confirmed repayments deducted).
    pub outstanding: String,
    /// Reported, awaiting the lender, yuan.
    pub pending: String,
    /// The schedule with its balances.
    pub instalments: Vec<InstalmentView>,
    /// Every repayment reported.
    pub repayments: Vec<RepaymentView>,
    /// The next day a rule may act.
    pub next_due: Option<String>,
    /// Loan events so far.
    pub events: u64,
    /// Rule actions taken so far (notices, status changes, evidence).
    pub actions: u64,
    /// The loan chain's head (hex).
    pub head: String,
}

/// A rule action with its delivery results (proof of notice).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ActionView {
    /// Idempotency key.
    pub key: String,
    /// Day it was due.
    pub day: String,
    /// Rule id.
    pub rule: String,
    /// What it does (`notify borrower reminder_before_due`, …).
    pub action: String,
    /// `pending` or `done`.
    pub state: String,
    /// Delivery results (JSON array), once done.
    pub deliveries: Option<serde_json::Value>,
    /// Its evidence record (base64 of evidence record v1).
    pub record: String,
    /// The record's ledger receipt (C2SP tlog-proof text), once issued.
    pub receipt: Option<String>,
}

/// One loan event with its evidence record and receipt.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoanEventView {
    /// Position in the loan's chain.
    pub seq: u64,
    /// The event (affix-loan-event v1 text).
    pub text: String,
    /// Its evidence record (base64 of evidence record v1).
    pub record: String,
    /// The record's ledger receipt, once issued.
    pub receipt: Option<String>,
}

/// A loan's evidence: its events and its rule actions (with delivery results).
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoanEvidence {
    /// Loan events in chain order.
    pub events: Vec<LoanEventView>,
    /// Rule actions in the order they were taken.
    pub actions: Vec<ActionView>,
}

struct LoanRow {
    book: LoanBook,
    lender_person: String,
    borrower_person: String,
    event_count: u64,
    action_count: u64,
}

fn today(now_ms: u64) -> Date {
    Date::from_unix_ms_china(now_ms)
}

fn parse_day(text: &str) -> Result<Date, Error> {
    affix_contract::parse_day(text)
        .ok_or_else(|| invalid("invalid-date", format!("{text:?} is not a YYYY-MM-DD date")))
}

fn action_text(a: &affix_contract::Action) -> String {
    use affix_contract::Action as A;
    match a {
        A::Notify { to, message } => format!("notify {} {}", to.as_str(), message.as_str()),
        A::MarkOverdue => "mark_overdue".into(),
        A::RecordEvidence { label } => format!("record_evidence {}", label.as_str()),
    }
}

impl Platform {
    /// The loan terms of an effective loan note: its schedule and the standard rules.
    fn loan_terms(
        content: &affix_contract::ContractContent,
        rules: &RuleSet,
        now: u64,
    ) -> Result<LoanTerms, Error> {
        let fields = Template::loan_note().validate(content.fields(), today(now))?;
        let note = LoanNote::from_fields(&fields)?;
        Ok(LoanTerms::new(
            content.contract_id(),
            note.schedule()?,
            rules.clone(),
        ))
    }

    /// Opens the loan of a loan note that has just become effective, inside the
    /// signature's transaction.
    pub(super) async fn open_loan(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        tenant: &str,
        contract: &affix_contract::Contract,
        now: u64,
    ) -> Result<(), Error> {
        let content = contract.content();
        if content.template_id() != affix_contract::LOAN_NOTE_ID {
            return Ok(());
        }
        let rules: Option<String> =
            sqlx::query_scalar("SELECT loan_rules FROM contracts WHERE id = $1")
                .bind(content.contract_id().to_string())
                .fetch_one(&mut **tx)
                .await?;
        let rules = match rules {
            Some(json) => RuleSet::from_json(&json)?,
            None => RuleSet::standard(),
        };
        let terms = Self::loan_terms(content, &rules, now)?;
        if content
            .fields()
            .get("loan_terms_sha256")
            .is_some_and(|signed| *signed != terms.digest().to_string())
        {
            return Err(Error::Internal(
                "the stored loan rules are not the signed ones".into(),
            ));
        }
        let book = LoanBook::new(terms);
        let parties = content.parties();
        let (Some(lender), Some(borrower)) = (parties.first(), parties.get(1)) else {
            return Err(Error::Internal("loan note without two parties".into()));
        };
        let start = today(now);
        let next = book.next_trigger_date(start);
        sqlx::query(
            "INSERT INTO loans (contract_id, tenant_id, lender_party, borrower_party, rules, event_count, action_count, head, next_due, evaluated_through, created_ms) \
             VALUES ($1, $2, $3, $4, $5, 0, 0, $6, $7, $8, $9)",
        )
        .bind(content.contract_id().to_string())
        .bind(tenant)
        .bind(lender.id.to_string())
        .bind(borrower.id.to_string())
        .bind(rules.to_json())
        .bind(book.head().as_bytes().to_vec())
        .bind(next.map(|d| d.to_string()))
        .bind(start.to_string())
        .bind(i(now))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    async fn load_loan(&self, tenant: &str, id: ContractId) -> Result<LoanRow, Error> {
        let row = sqlx::query(
            "SELECT l.lender_party, l.borrower_party, l.rules, l.event_count, l.action_count, l.head, c.content \
             FROM loans l JOIN contracts c ON c.id = l.contract_id WHERE l.contract_id = $1 AND l.tenant_id = $2",
        )
        .bind(id.to_string())
        .bind(tenant)
        .fetch_optional(self.store.pool())
        .await?
        .ok_or_else(|| Error::NotFound(format!("loan {id}")))?;
        let content =
            affix_contract::ContractContent::decode(&row.try_get::<Vec<u8>, _>("content")?)?;
        let rules = RuleSet::from_json(&row.try_get::<String, _>("rules")?)?;
        let created: u64 = self.now_ms();
        let terms = Self::loan_terms(&content, &rules, created)?;
        let texts: Vec<String> =
            sqlx::query_scalar("SELECT text FROM loan_events WHERE contract_id = $1 ORDER BY seq")
                .bind(id.to_string())
                .fetch_all(self.store.pool())
                .await?;
        let events = texts
            .iter()
            .map(|t| LoanEvent::parse(t))
            .collect::<Result<Vec<_>, _>>()?;
        let head: Vec<u8> = row.try_get("head")?;
        let head = affix_contract::Sha256Digest::from_bytes(
            head.try_into()
                .map_err(|_| Error::Internal("stored loan head".into()))?,
        );
        let book = LoanBook::replay(terms, &events, &head)?;
        let people = self.parties_of(id).await?;
        let person = |party: &str| -> Result<String, Error> {
            people
                .iter()
                .find(|p| p.party.to_string() == party)
                .map(|p| p.person.clone())
                .ok_or_else(|| Error::Internal("loan party not in the contract".into()))
        };
        Ok(LoanRow {
            book,
            lender_person: person(&row.try_get::<String, _>("lender_party")?)?,
            borrower_person: person(&row.try_get::<String, _>("borrower_party")?)?,
            event_count: u(row.try_get("event_count")?),
            action_count: u(row.try_get("action_count")?),
        })
    }

    fn loan_view(&self, id: ContractId, row: &LoanRow, next_due: Option<String>) -> LoanView {
        let book = &row.book;
        LoanView {
            contract_id: id.to_string(),
            status: book.status_on(today(self.now_ms())).as_str().to_owned(),
            outstanding: book.outstanding_yuan().to_string(),
            pending: book.pending_yuan().to_string(),
            instalments: book
                .instalments()
                .iter()
                .map(|b| InstalmentView {
                    number: b.number,
                    due_date: b.due_date.to_string(),
                    interest: b.interest_yuan.to_string(),
                    principal: b.principal_yuan.to_string(),
                    unpaid: b.unpaid_yuan.to_string(),
                })
                .collect(),
            repayments: book
                .repayments()
                .map(|r| RepaymentView {
                    id: r.id.0,
                    amount: r.amount_yuan.to_string(),
                    paid_on: r.paid_on.to_string(),
                    reported_on: r.reported_on.to_string(),
                    status: r.status.as_str().to_owned(),
                    proof_sha256: r.proof.map(|d| d.to_string()),
                })
                .collect(),
            next_due,
            events: row.event_count,
            actions: row.action_count,
            head: book.head().to_string(),
        }
    }

    /// A loan (admins, members, regulators of the tenant).
    ///
    /// # Errors
    /// [`Error::NotFound`] (also for a contract that is not an effective loan note).
    pub async fn loan(&self, who: &Principal, id: ContractId) -> Result<LoanView, Error> {
        let tenant = who.member(&[Role::Admin, Role::Member, Role::Regulator])?;
        let row = self.load_loan(tenant, id).await?;
        let next: Option<String> =
            sqlx::query_scalar("SELECT next_due FROM loans WHERE contract_id = $1")
                .bind(id.to_string())
                .fetch_one(self.store.pool())
                .await?;
        Ok(self.loan_view(id, &row, next))
    }

    /// A loan's evidence: its events and rule actions, each with its evidence record,
    /// receipt and (actions) delivery results.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn loan_evidence(
        &self,
        who: &Principal,
        id: ContractId,
    ) -> Result<LoanEvidence, Error> {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let tenant = who.member(&[Role::Admin, Role::Member, Role::Regulator])?;
        let known: Option<String> = sqlx::query_scalar(
            "SELECT contract_id FROM loans WHERE contract_id = $1 AND tenant_id = $2",
        )
        .bind(id.to_string())
        .bind(tenant)
        .fetch_optional(self.store.pool())
        .await?;
        if known.is_none() {
            return Err(Error::NotFound(format!("loan {id}")));
        }
        let rows = sqlx::query(
            "SELECT seq, text, record, receipt FROM loan_events WHERE contract_id = $1 ORDER BY seq",
        )
        .bind(id.to_string())
        .fetch_all(self.store.pool())
        .await?;
        let events = rows
            .iter()
            .map(|r| {
                Ok(LoanEventView {
                    seq: u(r.try_get("seq")?),
                    text: r.try_get("text")?,
                    record: b64.encode(r.try_get::<Vec<u8>, _>("record")?),
                    receipt: r.try_get("receipt")?,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let rows = sqlx::query(
            "SELECT key, day, rule, action, state, deliveries, record, receipt FROM loan_actions WHERE contract_id = $1 ORDER BY seq",
        )
        .bind(id.to_string())
        .fetch_all(self.store.pool())
        .await?;
        let actions = rows
            .iter()
            .map(|r| {
                let deliveries: Option<String> = r.try_get("deliveries")?;
                Ok(ActionView {
                    key: r.try_get("key")?,
                    day: r.try_get("day")?,
                    rule: r.try_get("rule")?,
                    action: r.try_get("action")?,
                    state: r.try_get("state")?,
                    deliveries: deliveries.and_then(|d| serde_json::from_str(&d).ok()),
                    record: b64.encode(r.try_get::<Vec<u8>, _>("record")?),
                    receipt: r.try_get("receipt")?,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(LoanEvidence { events, actions })
    }

    /// The rule set JSON a loan signed and the proof attachments of its events (in
    /// event order), for the litigation bundle.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn loan_rules_and_proofs(
        &self,
        who: &Principal,
        id: ContractId,
    ) -> Result<(String, Vec<Option<Vec<u8>>>), Error> {
        let tenant = who.member(&[Role::Admin, Role::Member])?;
        let rules: Option<String> = sqlx::query_scalar(
            "SELECT l.rules FROM loans l WHERE l.contract_id = $1 AND l.tenant_id = $2",
        )
        .bind(id.to_string())
        .bind(tenant)
        .fetch_optional(self.store.pool())
        .await?;
        let rules = rules.ok_or_else(|| Error::NotFound(format!("loan {id}")))?;
        let proofs: Vec<Option<Vec<u8>>> =
            sqlx::query_scalar("SELECT proof FROM loan_events WHERE contract_id = $1 ORDER BY seq")
                .bind(id.to_string())
                .fetch_all(self.store.pool())
                .await?;
        Ok((rules, proofs))
    }

    /// The borrower reports a repayment (a tenant member acting for them), with an
    /// optional proof attachment (its digest goes into the event).
    ///
    /// # Errors
    /// [`Error::Invalid`] for a bad amount or date; loan refusals (overpayment, before
    /// the start, settled).
    pub async fn report_repayment(
        &self,
        who: &Principal,
        id: ContractId,
        amount: &str,
        paid_on: &str,
        proof: Option<Vec<u8>>,
    ) -> Result<LoanView, Error> {
        let tenant = who.member(&[Role::Admin, Role::Member])?.to_owned();
        let amount = Decimal::parse(amount).ok_or_else(|| {
            invalid(
                "invalid-amount",
                "amount is a decimal number of yuan, e.g. 100.50",
            )
        })?;
        let paid_on = parse_day(paid_on)?;
        if proof.as_ref().is_some_and(|p| p.len() > PROOF_BYTES_MAX) {
            return Err(Error::TooLarge {
                what: "repayment proof",
                max: PROOF_BYTES_MAX,
            });
        }
        let digest = proof
            .as_ref()
            .map(|p| affix_contract::Sha256Digest::from_bytes(Sha256::digest(p).into()));
        let view = self
            .loan_step(&tenant, id, proof, |book, on| {
                book.report_repayment(amount, paid_on, digest, on)
            })
            .await?;
        self.audit(Some(&tenant), who, "loan.repayment.report", &id.to_string())
            .await?;
        Ok(view)
    }

    /// The lender confirms (or, with `dispute`, disputes) a reported repayment.
    ///
    /// # Errors
    /// Loan refusals (unknown or already decided repayment).
    pub async fn decide_repayment(
        &self,
        who: &Principal,
        id: ContractId,
        repayment: u32,
        dispute: bool,
    ) -> Result<LoanView, Error> {
        let tenant = who.member(&[Role::Admin, Role::Member])?.to_owned();
        let r = RepaymentId(repayment);
        let view = self
            .loan_step(&tenant, id, None, |book, on| {
                if dispute {
                    book.dispute_repayment(r, None, on)
                } else {
                    book.confirm_repayment(r, on)
                }
            })
            .await?;
        let action = if dispute {
            "loan.repayment.dispute"
        } else {
            "loan.repayment.confirm"
        };
        self.audit(Some(&tenant), who, action, &format!("{id}/{repayment}"))
            .await?;
        Ok(view)
    }

    /// One loan step in one transaction: events, the actions their rules trigger, the
    /// new head and next rule day.
    async fn loan_step(
        &self,
        tenant: &str,
        id: ContractId,
        proof: Option<Vec<u8>>,
        step: impl Fn(&LoanBook, Date) -> Result<(LoanBook, Vec<LoanEvent>), affix_contract::Error>,
    ) -> Result<LoanView, Error> {
        let mut attempt = 0;
        loop {
            let row = self.load_loan(tenant, id).await?;
            let now = self.now_ms();
            let on = today(now);
            let (next, events) = step(&row.book, on)?;
            let mut actions = Vec::new();
            for e in &events {
                actions.extend(next.event_actions(e));
            }
            match self
                .commit_loan(id, &row, &next, &events, &actions, proof.as_deref(), now)
                .await
            {
                Ok(next_due) => {
                    self.evidence_wake.notify_one();
                    self.loan_wake.notify_one();
                    let row = LoanRow {
                        book: next,
                        event_count: row.event_count + events.len() as u64,
                        action_count: row.action_count + actions.len() as u64,
                        ..row
                    };
                    return Ok(self.loan_view(id, &row, next_due));
                }
                Err(Error::Conflict {
                    kind: "concurrent-change",
                    ..
                }) if attempt < LOAN_STEP_RETRIES => attempt += 1,
                Err(e) => return Err(e),
            }
        }
    }

    #[allow(clippy::too_many_arguments)] // one transaction's parts
    async fn commit_loan(
        &self,
        id: ContractId,
        row: &LoanRow,
        next: &LoanBook,
        events: &[LoanEvent],
        actions: &[DueAction],
        proof: Option<&[u8]>,
        now: u64,
    ) -> Result<Option<String>, Error> {
        let next_due = next.next_trigger_date(today(now)).map(|d| d.to_string());
        let mut tx = self.store.pool().begin().await?;
        let updated = sqlx::query(
            "UPDATE loans SET event_count = $1, action_count = $2, head = $3, next_due = $4 WHERE contract_id = $5 AND event_count = $6 AND action_count = $7",
        )
        .bind(i(row.event_count + events.len() as u64))
        .bind(i(row.action_count + actions.len() as u64))
        .bind(next.head().as_bytes().to_vec())
        .bind(&next_due)
        .bind(id.to_string())
        .bind(i(row.event_count))
        .bind(i(row.action_count))
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Err(conflict(
                "concurrent-change",
                "the loan changed meanwhile; retry",
            ));
        }
        for (n, e) in events.iter().enumerate() {
            let record = e.to_evidence(&self.submitter, now)?.encode();
            let is_report = matches!(e.kind(), LoanEventKind::RepaymentReported { .. });
            sqlx::query(
                "INSERT INTO loan_events (contract_id, seq, text, proof, record, submitted) VALUES ($1, $2, $3, $4, $5, 0)",
            )
            .bind(id.to_string())
            .bind(i(row.event_count + n as u64))
            .bind(e.canonical_text())
            .bind(if is_report { proof.map(<[u8]>::to_vec) } else { None })
            .bind(record)
            .execute(&mut *tx)
            .await?;
        }
        self.insert_actions(&mut tx, id, row.action_count, actions, now)
            .await?;
        tx.commit().await?;
        Ok(next_due)
    }

    async fn insert_actions(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        id: ContractId,
        first_seq: u64,
        actions: &[DueAction],
        now: u64,
    ) -> Result<u64, Error> {
        let mut seq = first_seq;
        for a in actions {
            let record = a.to_evidence(&self.submitter, now)?.encode();
            let done = sqlx::query(
                "INSERT INTO loan_actions (key, contract_id, seq, day, rule, action, state, record, submitted, created_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, 0, $8) ON CONFLICT (key) DO NOTHING",
            )
            .bind(a.key.as_str())
            .bind(id.to_string())
            .bind(i(seq))
            .bind(a.on.to_string())
            .bind(a.rule.as_str())
            .bind(action_text(&a.action))
            .bind(record)
            .bind(i(now))
            .execute(&mut **tx)
            .await?;
            seq += done.rows_affected();
        }
        Ok(seq - first_seq)
    }

    /// One scheduler round: every loan whose rule day has come is evaluated for each
    /// rule day up to today; due actions are inserted once. Returns the actions added.
    ///
    /// # Errors
    /// [`Error::Db`] and stored-data faults.
    pub async fn evaluate_due_loans(&self) -> Result<u64, Error> {
        let now = self.now_ms();
        let day = today(now);
        let due = sqlx::query(
            "SELECT contract_id, tenant_id FROM loans WHERE next_due IS NOT NULL AND next_due <= $1 ORDER BY next_due LIMIT $2",
        )
        .bind(day.to_string())
        .bind(DUE_BATCH)
        .fetch_all(self.store.pool())
        .await?;
        let mut added = 0;
        for r in due {
            let id = ContractId::parse(&r.try_get::<String, _>("contract_id")?)?;
            let tenant: String = r.try_get("tenant_id")?;
            for _ in 0..=LOAN_STEP_RETRIES {
                match self.evaluate_loan(&tenant, id, day, now).await {
                    Err(Error::Conflict {
                        kind: "concurrent-change",
                        ..
                    }) => continue,
                    Err(e) => return Err(e),
                    Ok(n) => {
                        added += n;
                        break;
                    }
                }
            }
        }
        Ok(added)
    }

    async fn evaluate_loan(
        &self,
        tenant: &str,
        id: ContractId,
        day: Date,
        now: u64,
    ) -> Result<u64, Error> {
        let row = self.load_loan(tenant, id).await?;
        let stored: Option<String> =
            sqlx::query_scalar("SELECT next_due FROM loans WHERE contract_id = $1")
                .bind(id.to_string())
                .fetch_one(self.store.pool())
                .await?;
        let mut actions = Vec::new();
        let mut d = match stored {
            Some(s) => Some(parse_day(&s)?),
            None => None,
        };
        while let Some(on) = d {
            if on > day {
                break;
            }
            actions.extend(row.book.due_actions(on));
            d = affix_contract::add_days(on, 1).and_then(|n| row.book.next_trigger_date(n));
        }
        let next_due = d.map(|x| x.to_string());
        let mut tx = self.store.pool().begin().await?;
        let added = self
            .insert_actions(&mut tx, id, row.action_count, &actions, now)
            .await?;
        let updated = sqlx::query(
            "UPDATE loans SET action_count = $1, next_due = $2, evaluated_through = $3 WHERE contract_id = $4 AND event_count = $5 AND action_count = $6",
        )
        .bind(i(row.action_count + added))
        .bind(&next_due)
        .bind(day.to_string())
        .bind(id.to_string())
        .bind(i(row.event_count))
        .bind(i(row.action_count))
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Err(conflict("concurrent-change", "the loan changed meanwhile"));
        }
        tx.commit().await?;
        if added > 0 {
            self.evidence_wake.notify_one();
        }
        Ok(added)
    }

    /// Carries out pending actions: notices go out by e-mail (and SMS when the person
    /// has a mobile number); every action's delivery results are stored with it.
    ///
    /// # Errors
    /// [`Error::Db`].
    pub async fn carry_out_actions(&self) -> Result<usize, Error> {
        let rows = sqlx::query(
            "SELECT a.key, a.contract_id, a.day, a.action, l.tenant_id FROM loan_actions a JOIN loans l ON l.contract_id = a.contract_id \
             WHERE a.state = 'pending' ORDER BY a.created_ms, a.seq LIMIT $1",
        )
        .bind(ACTION_BATCH)
        .fetch_all(self.store.pool())
        .await?;
        let n = rows.len();
        for r in rows {
            let key: String = r.try_get("key")?;
            let id = ContractId::parse(&r.try_get::<String, _>("contract_id")?)?;
            let tenant: String = r.try_get("tenant_id")?;
            let action: String = r.try_get("action")?;
            let day: String = r.try_get("day")?;
            let mut deliveries = Vec::new();
            let words: Vec<&str> = action.split(' ').collect();
            if let ["notify", to, message] = words[..] {
                let row = self.load_loan(&tenant, id).await?;
                let title: String = sqlx::query_scalar("SELECT title FROM contracts WHERE id = $1")
                    .bind(id.to_string())
                    .fetch_one(self.store.pool())
                    .await?;
                let mut people = Vec::new();
                if matches!(to, "borrower" | "both") {
                    people.push(("borrower", row.borrower_person.clone()));
                }
                if matches!(to, "lender" | "both") {
                    people.push(("lender", row.lender_person.clone()));
                }
                for (role, person) in people {
                    let p = sqlx::query("SELECT email, mobile FROM persons WHERE id = $1")
                        .bind(&person)
                        .fetch_one(self.store.pool())
                        .await?;
                    let email: String = p.try_get("email")?;
                    let text = notice_text(message, &title, &row.book, &day);
                    let record = self
                        .mail_record(&email, &format!("loan.{message}"), &text.0, &text.1)
                        .await?;
                    deliveries.push(serde_json::json!({
                        "to": role, "channel": "email",
                        "outcome": record.0, "record_sha256": record.1,
                    }));
                    if let Some(mobile) = p.try_get::<Option<String>, _>("mobile")? {
                        self.text(&mobile, &format!("loan.{message}"), &text.0)
                            .await;
                    }
                }
            }
            sqlx::query("UPDATE loan_actions SET state = 'done', deliveries = $1 WHERE key = $2")
                .bind(serde_json::Value::Array(deliveries).to_string())
                .bind(&key)
                .execute(self.store.pool())
                .await?;
        }
        Ok(n)
    }
}

fn notice_text(message: &str, title: &str, book: &LoanBook, day: &str) -> (String, String) {
    let owed = book.outstanding_yuan();
    let subject = match message {
        "reminder_before_due" => format!("Repayment due soon: {title}"),
        "reminder_due_today" => format!("Repayment due today: {title}"),
        "overdue_notice" => format!("Repayment overdue: {title}"),
        "settled" => format!("Loan settled: {title}"),
        other => format!("Loan {}: {title}", other.replace('_', " ")),
    };
    let body = format!(
        "{subject}\n\nDay: {day}\nOutstanding: CNY {owed}\n\nThis notice is recorded as evidence of the loan \"{title}\"."
    );
    (subject, body)
}

/// Runs the scheduler until the process ends: evaluate due loans, carry out actions,
/// then wait to be woken or a second.
pub async fn run(platform: Arc<Platform>) {
    loop {
        let mut busy = false;
        match platform.evaluate_due_loans().await {
            Ok(n) => busy |= n > 0,
            Err(e) => tracing::warn!(error = %e, "evaluating loan rules failed; will retry"),
        }
        match platform.carry_out_actions().await {
            Ok(n) => busy |= n > 0,
            Err(e) => tracing::warn!(error = %e, "carrying out loan actions failed; will retry"),
        }
        if !busy {
            let wake = platform.loan_wake.clone();
            let _ = tokio::time::timeout(Duration::from_millis(1000), wake.notified()).await;
        }
    }
}
