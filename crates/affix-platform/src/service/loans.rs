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
    MessageKind, Recipient, RepaymentId, RepaymentMethod, RuleSet, Template,
};
use affix_time::Date;
use sha2::{Digest as _, Sha256};
use sqlx::Row as _;

use super::{Platform, Principal, Role, conflict, invalid};
use crate::Error;
use crate::ProblemType;
use crate::store::{i, u};

/// Loans evaluated per scheduler round.
const DUE_BATCH: i64 = 500;
/// Actions carried out per round.
const ACTION_BATCH: i64 = 200;
/// Attempts at a notice in all, when its delivery fails in a way that may pass.
const NOTICE_ATTEMPTS: i64 = 6;
/// Wait before each retry of a notice (after attempt 1, 2, …): about 8.6 hours in all,
/// within the day a notice is about.
const NOTICE_BACKOFF_MS: [u64; 5] = [60_000, 300_000, 1_800_000, 7_200_000, 21_600_000];
/// How often a step is replayed on a loan that changed under it.
const LOAN_STEP_RETRIES: u32 = 5;
/// Largest transfer proof (the image of a repayment's bank transfer slip), in bytes.
pub const TRANSFER_PROOF_BYTES_MAX: usize = 2 * 1024 * 1024;

/// One repayment as the API shows it.
#[derive(Debug, Clone)]
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
    /// SHA-256 of the transfer proof, if any.
    pub proof_sha256: Option<String>,
}

/// One instalment with what has been paid of it.
#[derive(Debug, Clone)]
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
#[derive(Debug, Clone)]
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
#[derive(Debug, Clone)]
pub struct ActionView {
    /// Idempotency key.
    pub key: String,
    /// Day it was due.
    pub day: String,
    /// Rule id.
    pub rule: String,
    /// What it does (`notify borrower reminder_before_due`, …).
    pub action: String,
    /// `pending`, `done`, or `failed` (a notice not sent; not retried automatically).
    pub state: String,
    /// Delivery results (JSON array), once done.
    pub deliveries: Option<serde_json::Value>,
    /// Its evidence record (base64 of evidence record v1).
    pub record: String,
    /// The record's ledger receipt (C2SP tlog-proof text), once issued.
    pub receipt: Option<String>,
}

/// One loan event with its evidence record and receipt.
#[derive(Debug, Clone)]
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
#[derive(Debug, Clone)]
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
    /// Whether the lender (borrower) signed the note with its organization's seal: its
    /// addenda and acknowledgements are signed the same way.
    lender_seal: bool,
    borrower_seal: bool,
    event_count: u64,
    action_count: u64,
}

fn today(now_ms: u64) -> Date {
    Date::from_unix_ms_china(now_ms)
}

fn parse_day(text: &str) -> Result<Date, Error> {
    affix_contract::parse_day(text).ok_or_else(|| {
        invalid(
            ProblemType::InvalidDate,
            format!("{text:?} is not a YYYY-MM-DD date"),
        )
    })
}

pub(crate) fn action_text(a: &affix_contract::Action) -> String {
    use affix_contract::Action as A;
    match a {
        A::Notify { to, message } => format!("notify {} {}", to.as_str(), message.as_str()),
        A::MarkOverdue => "mark_overdue".into(),
        A::RecordEvidence { label } => format!("record_evidence {}", label.as_str()),
    }
}

impl Platform {
    /// The loan terms of an effective loan note: its schedule (recomputed from the
    /// signed fields, re-parsed without a date: they were validated when the note was
    /// made) and its rules.
    fn loan_terms(
        content: &affix_contract::ContractContent,
        rules: &RuleSet,
    ) -> Result<LoanTerms, Error> {
        let fields = Template::loan_note().parse(content.fields())?;
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
        let terms = Self::loan_terms(content, &rules)?;
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

    /// A stored loan's book: its terms from the signed content and its rules, its
    /// events (read only if it has some) replayed to the stored head.
    async fn stored_book(
        &self,
        id: ContractId,
        content: &[u8],
        rules: RuleSet,
        event_count: u64,
        head: Vec<u8>,
    ) -> Result<LoanBook, Error> {
        let content = affix_contract::ContractContent::decode(content)?;
        let terms = Self::loan_terms(&content, &rules)?;
        let events = if event_count == 0 {
            Vec::new()
        } else {
            let texts: Vec<String> = sqlx::query_scalar(
                "SELECT text FROM loan_events WHERE contract_id = $1 ORDER BY seq",
            )
            .bind(id.to_string())
            .fetch_all(self.store.pool())
            .await?;
            texts
                .iter()
                .map(|t| LoanEvent::parse(t))
                .collect::<Result<Vec<_>, _>>()?
        };
        let head = affix_contract::Sha256Digest::from_bytes(
            head.try_into()
                .map_err(|_| Error::Internal("stored loan head".into()))?,
        );
        Ok(LoanBook::replay(terms, &events, &head)?)
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
        let rules = RuleSet::from_json(&row.try_get::<String, _>("rules")?)?;
        let book = self
            .stored_book(
                id,
                &row.try_get::<Vec<u8>, _>("content")?,
                rules,
                u(row.try_get("event_count")?),
                row.try_get("head")?,
            )
            .await?;
        let people = self.parties_of(id).await?;
        let person = |party: &str| -> Result<(String, bool), Error> {
            people
                .iter()
                .find(|p| p.party.to_string() == party)
                .map(|p| (p.person.clone(), p.seal))
                .ok_or_else(|| Error::Internal("loan party not in the contract".into()))
        };
        let (lender_person, lender_seal) = person(&row.try_get::<String, _>("lender_party")?)?;
        let (borrower_person, borrower_seal) =
            person(&row.try_get::<String, _>("borrower_party")?)?;
        Ok(LoanRow {
            book,
            lender_person,
            borrower_person,
            lender_seal,
            borrower_seal,
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
                    proof_sha256: r.transfer_proof.map(|d| d.to_string()),
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

    /// The rule set JSON a loan signed and the transfer proofs of its events (in event
    /// order), for the litigation bundle.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn loan_rules_and_transfer_proofs(
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
        let transfer_proofs: Vec<Option<Vec<u8>>> =
            sqlx::query_scalar("SELECT proof FROM loan_events WHERE contract_id = $1 ORDER BY seq")
                .bind(id.to_string())
                .fetch_all(self.store.pool())
                .await?;
        Ok((rules, transfer_proofs))
    }

    /// The borrower reports a repayment (a tenant member acting for them), with an
    /// optional transfer proof (its digest goes into the event).
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
        transfer_proof: Option<Vec<u8>>,
    ) -> Result<LoanView, Error> {
        let tenant = who.member(&[Role::Admin, Role::Member])?.to_owned();
        let amount = Decimal::parse(amount).ok_or_else(|| {
            invalid(
                ProblemType::InvalidAmount,
                "amount is a decimal number of yuan, e.g. 100.50",
            )
        })?;
        let paid_on = parse_day(paid_on)?;
        if transfer_proof
            .as_ref()
            .is_some_and(|p| p.len() > TRANSFER_PROOF_BYTES_MAX)
        {
            return Err(Error::TooLarge {
                what: "repayment transfer proof",
                max: TRANSFER_PROOF_BYTES_MAX,
            });
        }
        let digest = transfer_proof
            .as_ref()
            .map(|p| affix_contract::Sha256Digest::from_bytes(Sha256::digest(p).into()));
        let view = self
            .loan_step(&tenant, id, transfer_proof, |book, on| {
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

    /// Asks the lender for a signed repayment acknowledgement (收条) of a reported
    /// repayment: the acknowledgement text becomes a contract of its own whose only party
    /// is the lender, with the text as its document; send it and have the lender sign it as usual (identity check,
    /// handwritten signature, vault signature, time-stamp). Once it is effective the
    /// scheduler confirms the repayment, so the confirmation rests on the lender's own
    /// signature rather than on the tenant's word.
    ///
    /// # Errors
    /// Loan refusals (unknown or already decided repayment); [`Error::Conflict`]
    /// `receipt-requested` (the API's problem type, named before the rename) while an
    /// earlier acknowledgement for it is still open.
    pub async fn request_acknowledgement(
        &self,
        who: &Principal,
        id: ContractId,
        repayment: u32,
    ) -> Result<super::ContractView, Error> {
        let tenant = who.member(&[Role::Admin, Role::Member])?.to_owned();
        let row = self.load_loan(&tenant, id).await?;
        let acknowledgement = row.book.acknowledgement(RepaymentId(repayment))?;
        let open: Option<String> = sqlx::query_scalar(
            "SELECT r.contract_id FROM loan_acknowledgements r JOIN contracts c ON c.id = r.contract_id \
             WHERE r.loan_id = $1 AND r.repayment = $2 AND r.state = 'proposed' \
             AND c.status NOT IN ('declined', 'revoked', 'expired')",
        )
        .bind(id.to_string())
        .bind(i64::from(repayment))
        .fetch_optional(self.store.pool())
        .await?;
        if let Some(open) = open {
            return Err(conflict(
                ProblemType::AcknowledgementRequested,
                format!("acknowledgement contract {open} for this repayment is still open"),
            ));
        }
        let title: String = sqlx::query_scalar("SELECT title FROM contracts WHERE id = $1")
            .bind(id.to_string())
            .fetch_one(self.store.pool())
            .await?;
        let r = acknowledgement.repayment();
        let mut fields = std::collections::BTreeMap::new();
        fields.insert(
            "title".to_owned(),
            format!("收条 Acknowledgement of repayment {} of {title}", r.id),
        );
        fields.insert(
            "description".to_owned(),
            format!(
                "The lender acknowledges receiving CNY {} paid on {} (repayment {} of loan {id})",
                r.amount_yuan, r.paid_on, r.id
            ),
        );
        let view = self
            .create_contract(
                who,
                super::NewContract {
                    template: "generic_contract".into(),
                    fields,
                    parties: vec![super::NewParty {
                        person: row.lender_person.clone(),
                        seal: row.lender_seal,
                    }],
                    parallel: false,
                    expires_in_days: Some(7),
                    document: Some(acknowledgement.canonical_text().into_bytes()),
                    document_name: Some(format!("acknowledgement-{}.txt", r.id)),
                    loan_rules: None,
                    single_party: true,
                },
            )
            .await?;
        sqlx::query(
            "INSERT INTO loan_acknowledgements (contract_id, loan_id, repayment, acknowledgement, state, created_ms) \
             VALUES ($1, $2, $3, $4, 'proposed', $5)",
        )
        .bind(&view.id)
        .bind(id.to_string())
        .bind(i64::from(repayment))
        .bind(acknowledgement.canonical_text())
        .bind(i(self.now_ms()))
        .execute(self.store.writer())
        .await?;
        self.audit(
            Some(&tenant),
            who,
            "loan.repayment.acknowledgement",
            &format!("{id}/{repayment} {}", view.id),
        )
        .await?;
        Ok(view)
    }

    /// Confirms the repayments whose acknowledgement the lender has signed; an
    /// acknowledgement whose repayment was decided meanwhile (or whose text no longer
    /// matches) is marked stale.
    ///
    /// # Errors
    /// [`Error::Db`] and stored-data faults.
    pub async fn apply_signed_acknowledgements(&self) -> Result<usize, Error> {
        let rows = sqlx::query(
            "SELECT r.contract_id, r.loan_id, r.repayment, r.acknowledgement, l.tenant_id \
             FROM loan_acknowledgements r JOIN contracts c ON c.id = r.contract_id JOIN loans l ON l.contract_id = r.loan_id \
             WHERE r.state = 'proposed' AND c.status = 'effective' LIMIT 100",
        )
        .fetch_all(self.store.pool())
        .await?;
        let n = rows.len();
        for r in rows {
            let acknowledgement_contract: String = r.try_get("contract_id")?;
            let id = ContractId::parse(&r.try_get::<String, _>("loan_id")?)?;
            let tenant: String = r.try_get("tenant_id")?;
            let repayment = RepaymentId(
                u32::try_from(r.try_get::<i64, _>("repayment")?)
                    .map_err(|_| Error::Internal("stored acknowledgement repayment".into()))?,
            );
            let signed: String = r.try_get("acknowledgement")?;
            let row = self.load_loan(&tenant, id).await?;
            let now = self.now_ms();
            let confirmed = row
                .book
                .acknowledgement(repayment)
                .ok()
                .filter(|rc| rc.canonical_text() == signed)
                .map(|_| row.book.confirm_repayment(repayment, today(now)));
            self.apply_document(
                id,
                &row,
                confirmed,
                Applied::Acknowledgement(&acknowledgement_contract),
                now,
            )
            .await?;
        }
        Ok(n)
    }

    /// The signed documents a loan's steps rest on, in the order they were applied:
    /// `("extension" | "receipt", contract id)`. The kinds are the litigation bundle's
    /// (format v2, frozen): "receipt" there names a repayment acknowledgement.
    ///
    /// # Errors
    /// [`Error::Db`].
    pub async fn loan_documents(
        &self,
        who: &Principal,
        id: ContractId,
    ) -> Result<Vec<(String, String)>, Error> {
        let tenant = who.member(&[Role::Admin, Role::Member])?;
        let mut documents: Vec<(i64, String, String)> = Vec::new();
        for (kind, table) in [
            ("extension", "loan_extensions"),
            ("receipt", "loan_acknowledgements"),
        ] {
            let rows = sqlx::query(&format!(
                "SELECT d.contract_id, d.created_ms FROM {table} d JOIN loans l ON l.contract_id = d.loan_id \
                 WHERE d.loan_id = $1 AND l.tenant_id = $2 AND d.state = 'applied'"
            ))
            .bind(id.to_string())
            .bind(tenant)
            .fetch_all(self.store.pool())
            .await?;
            for r in rows {
                documents.push((
                    r.try_get("created_ms")?,
                    kind.to_owned(),
                    r.try_get("contract_id")?,
                ));
            }
        }
        documents.sort();
        Ok(documents.into_iter().map(|(_, k, c)| (k, c)).collect())
    }

    /// Proposes an extension (展期): the addendum (new schedule for the principal still
    /// owed) becomes a contract of its own between the loan's two parties, with the
    /// addendum text as its document; send it and have both sign it as usual. Once it is
    /// effective the scheduler applies it to the loan.
    ///
    /// # Errors
    /// [`Error::Invalid`] for bad terms; loan refusals (settled, repayments pending,
    /// interest in arrears, not later); the rate cap.
    pub async fn propose_extension(
        &self,
        who: &Principal,
        id: ContractId,
        annual_rate_percent: &str,
        term_months: u16,
        repayment_method: &str,
    ) -> Result<super::ContractView, Error> {
        let tenant = who.member(&[Role::Admin, Role::Member])?.to_owned();
        let row = self.load_loan(&tenant, id).await?;
        let rate = Decimal::parse(annual_rate_percent).ok_or_else(|| {
            invalid(
                ProblemType::InvalidRate,
                "annual_rate_percent is a decimal, e.g. 8.50",
            )
        })?;
        let method = parse_method(repayment_method)?;
        let now = self.now_ms();
        let on = today(now);
        let terms = affix_contract::ExtensionTerms {
            annual_rate_percent: rate,
            term_months,
            repayment_method: method,
        };
        let addendum = row.book.propose_extension(terms, on)?;
        addendum.terms().check_rate_cap(&self.lpr, on)?;
        let title: String = sqlx::query_scalar("SELECT title FROM contracts WHERE id = $1")
            .bind(id.to_string())
            .fetch_one(self.store.pool())
            .await?;
        let mut fields = std::collections::BTreeMap::new();
        fields.insert(
            "title".to_owned(),
            format!("展期 Extension {} of {title}", addendum.extension()),
        );
        fields.insert(
            "description".to_owned(),
            format!(
                "Extension addendum of loan {id}, new maturity {}",
                addendum.new_maturity()
            ),
        );
        let view = self
            .create_contract(
                who,
                super::NewContract {
                    template: "generic_contract".into(),
                    fields,
                    parties: vec![
                        super::NewParty {
                            person: row.lender_person.clone(),
                            seal: row.lender_seal,
                        },
                        super::NewParty {
                            person: row.borrower_person.clone(),
                            seal: row.borrower_seal,
                        },
                    ],
                    parallel: false,
                    expires_in_days: Some(7),
                    document: Some(addendum.canonical_text().into_bytes()),
                    document_name: Some(format!("extension-{}.txt", addendum.extension())),
                    loan_rules: None,
                    single_party: false,
                },
            )
            .await?;
        sqlx::query(
            "INSERT INTO loan_extensions (contract_id, loan_id, annual_rate_percent, term_months, repayment_method, proposed_on, addendum, state, created_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'proposed', $8)",
        )
        .bind(&view.id)
        .bind(id.to_string())
        .bind(rate.to_string())
        .bind(i64::from(term_months))
        .bind(method.as_str())
        .bind(on.to_string())
        .bind(addendum.canonical_text())
        .bind(i(now))
        .execute(self.store.writer())
        .await?;
        self.audit(
            Some(&tenant),
            who,
            "loan.extension.propose",
            &format!("{id} {}", view.id),
        )
        .await?;
        Ok(view)
    }

    /// The rate cap of an extension addendum on the day its last signature would make
    /// it effective (the LPR may have changed since the proposal). Nothing to check for a
    /// contract that is no proposed addendum, or an addendum the loan has moved past
    /// (it will be marked stale, never applied).
    ///
    /// # Errors
    /// The rate cap ([`affix_contract::Error::RateAboveLegalCap`],
    /// [`affix_contract::Error::LprTableOutdated`]); [`Error::Db`].
    pub(super) async fn check_extension_cap_at_signing(
        &self,
        tenant: &str,
        contract_id: ContractId,
        now: u64,
    ) -> Result<(), Error> {
        let Some(r) = sqlx::query(
            "SELECT loan_id, annual_rate_percent, term_months, repayment_method, proposed_on, addendum \
             FROM loan_extensions WHERE contract_id = $1 AND state = 'proposed'",
        )
        .bind(contract_id.to_string())
        .fetch_optional(self.store.pool())
        .await?
        else {
            return Ok(());
        };
        let (terms, proposed_on, signed) = stored_extension(&r)?;
        let loan = ContractId::parse(&r.try_get::<String, _>("loan_id")?)?;
        let row = self.load_loan(tenant, loan).await?;
        if let Some(addendum) = row
            .book
            .propose_extension(terms, proposed_on)
            .ok()
            .filter(|a| a.canonical_text() == signed)
        {
            addendum.terms().check_rate_cap(&self.lpr, today(now))?;
        }
        Ok(())
    }

    /// Applies the extensions whose addendum contract both parties have signed; an
    /// addendum the loan moved past (an event since its proposal) is marked stale.
    ///
    /// # Errors
    /// [`Error::Db`] and stored-data faults.
    pub async fn apply_agreed_extensions(&self) -> Result<usize, Error> {
        let rows = sqlx::query(
            "SELECT e.contract_id, e.loan_id, e.annual_rate_percent, e.term_months, e.repayment_method, e.proposed_on, e.addendum, l.tenant_id \
             FROM loan_extensions e JOIN contracts c ON c.id = e.contract_id JOIN loans l ON l.contract_id = e.loan_id \
             WHERE e.state = 'proposed' AND c.status = 'effective' LIMIT 100",
        )
        .fetch_all(self.store.pool())
        .await?;
        let n = rows.len();
        for r in rows {
            let addendum_contract: String = r.try_get("contract_id")?;
            let id = ContractId::parse(&r.try_get::<String, _>("loan_id")?)?;
            let tenant: String = r.try_get("tenant_id")?;
            let (terms, proposed_on, signed) = stored_extension(&r)?;
            let row = self.load_loan(&tenant, id).await?;
            let now = self.now_ms();
            let applied = row
                .book
                .propose_extension(terms, proposed_on)
                .ok()
                .filter(|a| a.canonical_text() == signed)
                .map(|a| row.book.apply_extension(&a, today(now)));
            self.apply_document(
                id,
                &row,
                applied,
                Applied::Extension(&addendum_contract),
                now,
            )
            .await?;
        }
        Ok(n)
    }

    /// Applies the step a signed document (an addendum, an acknowledgement) stands for, with the
    /// document marked applied in its transaction; a document the loan has moved past
    /// (`outcome` is `None` or a refusal) is marked stale and changes nothing.
    async fn apply_document(
        &self,
        id: ContractId,
        row: &LoanRow,
        outcome: Option<Result<(LoanBook, Vec<LoanEvent>), affix_contract::Error>>,
        document: Applied<'_>,
        now: u64,
    ) -> Result<(), Error> {
        if let Some(Ok((next, events))) = outcome {
            let mut actions = Vec::new();
            for e in &events {
                actions.extend(next.event_actions(e));
            }
            self.commit_loan(id, row, &next, &events, &actions, None, Some(document), now)
                .await?;
            self.evidence_wake.notify_one();
            return Ok(());
        }
        tracing::warn!(loan = %id, document = %document.contract(), "{} is stale: the loan moved past it since it was made", document.table());
        sqlx::query(&format!(
            "UPDATE {} SET state = 'stale' WHERE contract_id = $1 AND state = 'proposed'",
            document.table()
        ))
        .bind(document.contract())
        .execute(self.store.writer())
        .await?;
        Ok(())
    }

    /// One loan step in one transaction: events, the actions their rules trigger, the
    /// new head and next rule day.
    async fn loan_step(
        &self,
        tenant: &str,
        id: ContractId,
        transfer_proof: Option<Vec<u8>>,
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
                .commit_loan(
                    id,
                    &row,
                    &next,
                    &events,
                    &actions,
                    transfer_proof.as_deref(),
                    None,
                    now,
                )
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
                    kind: ProblemType::ConcurrentChange,
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
        transfer_proof: Option<&[u8]>,
        applied: Option<Applied<'_>>,
        now: u64,
    ) -> Result<Option<String>, Error> {
        let next_due = next.next_trigger_date(today(now)).map(|d| d.to_string());
        let mut tx = self.store.writer().begin().await?;
        if let Some(applied) = applied {
            sqlx::query(&format!(
                "UPDATE {} SET state = 'applied' WHERE contract_id = $1 AND state = 'proposed'",
                applied.table()
            ))
            .bind(applied.contract())
            .execute(&mut *tx)
            .await?;
        }
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
                ProblemType::ConcurrentChange,
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
            .bind(if is_report {
                transfer_proof.map(<[u8]>::to_vec)
            } else {
                None
            })
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
    /// rule day up to today; due actions are inserted once, a batch of loans per
    /// transaction. Returns the actions added, or the loans moved on if more (0: none
    /// was due).
    ///
    /// # Errors
    /// [`Error::Db`] and stored-data faults.
    pub async fn evaluate_due_loans(&self) -> Result<u64, Error> {
        let now = self.now_ms();
        let day = today(now);
        // One query for the batch: what evaluating needs, nothing for notices.
        let due = sqlx::query(
            "SELECT l.contract_id, l.rules, l.event_count, l.action_count, l.head, l.next_due, c.content \
             FROM loans l JOIN contracts c ON c.id = l.contract_id \
             WHERE l.next_due IS NOT NULL AND l.next_due <= $1 ORDER BY l.next_due LIMIT $2",
        )
        .bind(day.to_string())
        .bind(DUE_BATCH)
        .fetch_all(self.store.pool())
        .await?;
        if due.is_empty() {
            return Ok(0);
        }
        let standard = RuleSet::standard();
        let standard_json = standard.to_json();
        // Evaluate every loan of the batch first (no transaction open meanwhile).
        let mut plans = Vec::with_capacity(due.len());
        for r in &due {
            let id = ContractId::parse(&r.try_get::<String, _>("contract_id")?)?;
            let event_count = u(r.try_get("event_count")?);
            let action_count = u(r.try_get("action_count")?);
            let rules_json: String = r.try_get("rules")?;
            let rules = if rules_json == standard_json {
                standard.clone()
            } else {
                RuleSet::from_json(&rules_json)?
            };
            let book = self
                .stored_book(
                    id,
                    &r.try_get::<Vec<u8>, _>("content")?,
                    rules,
                    event_count,
                    r.try_get("head")?,
                )
                .await?;
            let mut actions = Vec::new();
            let mut d = match r.try_get::<Option<String>, _>("next_due")? {
                Some(s) => Some(parse_day(&s)?),
                None => None,
            };
            while let Some(on) = d {
                if on > day {
                    break;
                }
                actions.extend(book.due_actions(on));
                d = affix_contract::add_days(on, 1).and_then(|n| book.next_trigger_date(n));
            }
            plans.push((
                id,
                event_count,
                action_count,
                actions,
                d.map(|x| x.to_string()),
            ));
        }
        // One transaction for the batch. Each loan's row is moved on only if no step
        // changed it since it was read (else it stays due and the next round takes it);
        // its actions go in with it, once each by key.
        let mut added = 0;
        let mut tx = self.store.writer().begin().await?;
        for (id, event_count, action_count, actions, next_due) in &plans {
            let planned = actions.len() as u64;
            let moved = sqlx::query(
                "UPDATE loans SET action_count = $1, next_due = $2, evaluated_through = $3 WHERE contract_id = $4 AND event_count = $5 AND action_count = $6",
            )
            .bind(i(action_count + planned))
            .bind(next_due)
            .bind(day.to_string())
            .bind(id.to_string())
            .bind(i(*event_count))
            .bind(i(*action_count))
            .execute(&mut *tx)
            .await?;
            if moved.rows_affected() != 1 {
                continue;
            }
            let n = self
                .insert_actions(&mut tx, *id, *action_count, actions, now)
                .await?;
            if n != planned {
                sqlx::query("UPDATE loans SET action_count = $1 WHERE contract_id = $2")
                    .bind(i(action_count + n))
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
            }
            added += n;
        }
        tx.commit().await?;
        if added > 0 {
            self.evidence_wake.notify_one();
        }
        // Nothing added is still progress when due rows moved on; report the batch so
        // the loop comes back at once while loans are due.
        Ok(added.max(plans.len() as u64))
    }

    /// Sends the notices of one action (none for actions that are not notices);
    /// returns their delivery results.
    /// Sends the notice `action` to its recipients, except the roles in `delivered`
    /// (reached by an earlier attempt); one delivery entry per e-mail.
    async fn notify(
        &self,
        tenant: &str,
        id: ContractId,
        action: &str,
        day: &str,
        delivered: &std::collections::BTreeSet<String>,
    ) -> Result<Vec<serde_json::Value>, Error> {
        let mut deliveries = Vec::new();
        let Some((to, message)) = stored_notice(action)? else {
            return Ok(deliveries);
        };
        let row = self.load_loan(tenant, id).await?;
        let title: String = sqlx::query_scalar("SELECT title FROM contracts WHERE id = $1")
            .bind(id.to_string())
            .fetch_one(self.store.pool())
            .await?;
        let mut people = Vec::new();
        if matches!(to, Recipient::Borrower | Recipient::Both) {
            people.push(("borrower", row.borrower_person.clone()));
        }
        if matches!(to, Recipient::Lender | Recipient::Both) {
            people.push(("lender", row.lender_person.clone()));
        }
        for (role, person) in people {
            if delivered.contains(role) {
                continue;
            }
            let p = sqlx::query("SELECT email, mobile FROM persons WHERE id = $1")
                .bind(&person)
                .fetch_one(self.store.pool())
                .await?;
            let email: String = p.try_get("email")?;
            let text = notice_text(message, &title, &row.book, day);
            let event_type = format!("loan.{}", message.as_str());
            let sent = self
                .mail_record(&email, &event_type, &text.0, &text.1)
                .await?;
            deliveries.push(serde_json::json!({
                "to": role, "channel": "email",
                "outcome": sent.outcome, "record_sha256": sent.record_sha256,
                "retryable": sent.retryable,
            }));
            if let Some(mobile) = p.try_get::<Option<String>, _>("mobile")? {
                self.text(&mobile, &event_type, &text.0).await;
            }
        }
        Ok(deliveries)
    }

    /// Carries out pending actions that are due: notices go out by e-mail (and SMS when
    /// the person has a mobile number); every attempt's delivery results are stored with
    /// the action. A delivery that failed in a way that may pass (connection refused,
    /// SMTP 4xx) is tried again later, to the recipients not yet reached, up to
    /// [`NOTICE_ATTEMPTS`] times; a permanent refusal or the last attempt marks the
    /// action failed, with the reason, without holding up the actions behind it.
    ///
    /// # Errors
    /// [`Error::Db`].
    pub async fn carry_out_actions(&self) -> Result<usize, Error> {
        let now = self.now_ms();
        let rows = sqlx::query(
            "SELECT a.key, a.contract_id, a.day, a.action, a.attempts, a.deliveries, l.tenant_id FROM loan_actions a JOIN loans l ON l.contract_id = a.contract_id \
             WHERE a.state = 'pending' AND a.next_attempt_ms <= $2 ORDER BY a.created_ms, a.seq LIMIT $1",
        )
        .bind(ACTION_BATCH)
        .bind(i(now))
        .fetch_all(self.store.pool())
        .await?;
        let n = rows.len();
        for r in rows {
            let key: String = r.try_get("key")?;
            let id = ContractId::parse(&r.try_get::<String, _>("contract_id")?)?;
            let tenant: String = r.try_get("tenant_id")?;
            let action: String = r.try_get("action")?;
            let day: String = r.try_get("day")?;
            let attempt = r.try_get::<i64, _>("attempts")? + 1;
            let mut history: Vec<serde_json::Value> = r
                .try_get::<Option<String>, _>("deliveries")?
                .and_then(|d| serde_json::from_str(&d).ok())
                .unwrap_or_default();
            let delivered = history
                .iter()
                .filter(|d| {
                    d["outcome"]
                        .as_str()
                        .is_some_and(|o| !o.starts_with("failed"))
                })
                .filter_map(|d| d["to"].as_str().map(str::to_owned))
                .collect();
            let mut this = match self.notify(&tenant, id, &action, &day, &delivered).await {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!(%key, error = %e, "loan notice not sent");
                    vec![serde_json::json!({"error": e.to_string(), "retryable": true})]
                }
            };
            for d in &mut this {
                d["attempt"] = attempt.into();
                d["at_ms"] = now.into();
            }
            let failures: Vec<&serde_json::Value> = this
                .iter()
                .filter(|d| {
                    d.get("error").is_some()
                        || d["outcome"]
                            .as_str()
                            .is_some_and(|o| o.starts_with("failed"))
                })
                .collect();
            let retry = !failures.is_empty()
                && failures.iter().all(|d| d["retryable"] == true)
                && attempt < NOTICE_ATTEMPTS;
            let (state, next_attempt_ms) = if failures.is_empty() {
                ("done", 0)
            } else if retry {
                let wait = usize::try_from(attempt - 1)
                    .ok()
                    .and_then(|k| NOTICE_BACKOFF_MS.get(k))
                    .copied()
                    .unwrap_or(NOTICE_BACKOFF_MS[NOTICE_BACKOFF_MS.len() - 1]);
                ("pending", now + wait)
            } else {
                ("failed", 0)
            };
            if state != "done" {
                tracing::warn!(%key, attempt, state, "loan notice not delivered");
            }
            history.extend(this);
            sqlx::query(
                "UPDATE loan_actions SET state = $1, deliveries = $2, attempts = $3, next_attempt_ms = $4 WHERE key = $5",
            )
            .bind(state)
            .bind(serde_json::Value::Array(history).to_string())
            .bind(attempt)
            .bind(i(next_attempt_ms))
            .bind(&key)
            .execute(self.store.writer())
            .await?;
        }
        Ok(n)
    }
}

/// The signed document a loan step applies, marked applied in the step's transaction.
#[derive(Debug, Clone, Copy)]
enum Applied<'a> {
    /// An extension addendum contract.
    Extension(&'a str),
    /// A repayment acknowledgement contract.
    Acknowledgement(&'a str),
}

impl<'a> Applied<'a> {
    /// The table that tracks it.
    fn table(self) -> &'static str {
        match self {
            Self::Extension(_) => "loan_extensions",
            Self::Acknowledgement(_) => "loan_acknowledgements",
        }
    }

    /// Its contract id.
    fn contract(self) -> &'a str {
        match self {
            Self::Extension(c) | Self::Acknowledgement(c) => c,
        }
    }
}

/// A `loan_extensions` row's terms, proposal day and signed addendum text.
fn stored_extension(
    r: &sqlx::any::AnyRow,
) -> Result<(affix_contract::ExtensionTerms, Date, String), Error> {
    let terms = affix_contract::ExtensionTerms {
        annual_rate_percent: Decimal::parse(&r.try_get::<String, _>("annual_rate_percent")?)
            .ok_or_else(|| Error::Internal("stored extension rate".into()))?,
        term_months: u16::try_from(r.try_get::<i64, _>("term_months")?)
            .map_err(|_| Error::Internal("stored extension term".into()))?,
        repayment_method: r
            .try_get::<String, _>("repayment_method")?
            .parse()
            .map_err(|e| Error::Internal(format!("stored extension method: {e}")))?,
    };
    let proposed_on = parse_day(&r.try_get::<String, _>("proposed_on")?)?;
    Ok((terms, proposed_on, r.try_get("addendum")?))
}

fn parse_method(text: &str) -> Result<RepaymentMethod, Error> {
    text.parse().map_err(|_| {
        invalid(
            ProblemType::InvalidRepaymentMethod,
            format!(
                "{text:?}: {}",
                RepaymentMethod::ALL.map(RepaymentMethod::as_str).join(", ")
            ),
        )
    })
}

/// A stored action's text (`notify borrower reminder_before_due`, `mark_overdue`, …) as
/// the notice it sends: `None` for actions that are not notices; an internal error for
/// a notice that does not parse (we wrote it: check it after reading it back).
fn stored_notice(action: &str) -> Result<Option<(Recipient, MessageKind)>, Error> {
    let words: Vec<&str> = action.split(' ').collect();
    let ["notify", to, message] = words[..] else {
        return Ok(None);
    };
    let bad = |e: affix_contract::Error| Error::Internal(format!("stored action {action:?}: {e}"));
    Ok(Some((
        to.parse().map_err(bad)?,
        message.parse().map_err(bad)?,
    )))
}

fn notice_text(message: MessageKind, title: &str, book: &LoanBook, day: &str) -> (String, String) {
    let owed = book.outstanding_yuan();
    let subject = match message {
        MessageKind::ReminderBeforeDue => format!("Repayment due soon: {title}"),
        MessageKind::ReminderDueToday => format!("Repayment due today: {title}"),
        MessageKind::OverdueNotice => format!("Repayment overdue: {title}"),
        MessageKind::Settled => format!("Loan settled: {title}"),
        MessageKind::RepaymentReported => format!("Loan repayment reported: {title}"),
        MessageKind::RepaymentConfirmed => format!("Loan repayment confirmed: {title}"),
        MessageKind::RepaymentDisputed => format!("Loan repayment disputed: {title}"),
        MessageKind::ExtensionAgreed => format!("Loan extension agreed: {title}"),
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
        match platform.apply_agreed_extensions().await {
            Ok(n) => busy |= n > 0,
            Err(e) => tracing::warn!(error = %e, "applying loan extensions failed; will retry"),
        }
        match platform.apply_signed_acknowledgements().await {
            Ok(n) => busy |= n > 0,
            Err(e) => {
                tracing::warn!(error = %e, "applying repayment acknowledgements failed; will retry");
            }
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
