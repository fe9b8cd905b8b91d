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

use super::{Platform, Principal, Role, conflict, invalid};
use crate::Error;
use crate::ProblemType;
use crate::store::loans::documents::{self, Document, ExtensionRecord};
use crate::store::loans::{self as store, NewAction, NewLoan};

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
        let rules = store::signed_rules(&mut **tx, content.contract_id()).await?;
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
        store::insert(
            &mut **tx,
            &NewLoan {
                contract: content.contract_id(),
                tenant,
                lender_party: lender.id.to_string(),
                borrower_party: borrower.id.to_string(),
                rules: rules.to_json(),
                head: book.head().as_bytes().to_vec(),
                next_due: next.map(|d| d.to_string()),
                start: start.to_string(),
                created_ms: now,
            },
        )
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
            store::event_texts(self.store.pool(), id)
                .await?
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
        let row = store::find(self.store.pool(), tenant, id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("loan {id}")))?;
        let rules = RuleSet::from_json(&row.rules)?;
        let book = self
            .stored_book(id, &row.content, rules, row.event_count, row.head)
            .await?;
        let people = self.parties_of(id).await?;
        let person = |party: &str| -> Result<(String, bool), Error> {
            people
                .iter()
                .find(|p| p.party.to_string() == party)
                .map(|p| (p.person.clone(), p.seal))
                .ok_or_else(|| Error::Internal("loan party not in the contract".into()))
        };
        let (lender_person, lender_seal) = person(&row.lender_party)?;
        let (borrower_person, borrower_seal) = person(&row.borrower_party)?;
        Ok(LoanRow {
            book,
            lender_person,
            borrower_person,
            lender_seal,
            borrower_seal,
            event_count: row.event_count,
            action_count: row.action_count,
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
        let next = store::next_due(self.store.pool(), id).await?;
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
        if !store::exists(self.store.pool(), tenant, id).await? {
            return Err(Error::NotFound(format!("loan {id}")));
        }
        let events = store::events(self.store.pool(), id)
            .await?
            .into_iter()
            .map(|r| LoanEventView {
                seq: r.seq,
                text: r.text,
                record: b64.encode(r.record),
                receipt: r.receipt,
            })
            .collect();
        let actions = store::actions(self.store.pool(), id)
            .await?
            .into_iter()
            .map(|r| ActionView {
                key: r.key,
                day: r.day,
                rule: r.rule,
                action: r.action,
                state: r.state,
                deliveries: r.deliveries.and_then(|d| serde_json::from_str(&d).ok()),
                record: b64.encode(r.record),
                receipt: r.receipt,
            })
            .collect();
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
        let rules = store::rules(self.store.pool(), tenant, id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("loan {id}")))?;
        let transfer_proofs = store::transfer_proofs(self.store.pool(), id).await?;
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
        if let Some(open) =
            documents::open_acknowledgement(self.store.pool(), id, repayment).await?
        {
            return Err(conflict(
                ProblemType::AcknowledgementRequested,
                format!("acknowledgement contract {open} for this repayment is still open"),
            ));
        }
        let title = crate::store::contracts::title(self.store.pool(), &id.to_string()).await?;
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
        documents::insert_acknowledgement(
            self.store.writer(),
            &view.id,
            id,
            repayment,
            acknowledgement.canonical_text(),
            self.now_ms(),
        )
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
        let rows = documents::signed_acknowledgements(self.store.pool()).await?;
        let n = rows.len();
        for r in rows {
            let acknowledgement_contract = r.contract_id;
            let id = ContractId::parse(&r.loan_id)?;
            let tenant = r.tenant_id;
            let repayment = RepaymentId(
                u32::try_from(r.repayment)
                    .map_err(|_| Error::Internal("stored acknowledgement repayment".into()))?,
            );
            let signed = r.acknowledgement;
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
        let mut signed: Vec<(i64, String, String)> = Vec::new();
        for (kind, document) in [
            ("extension", Document::Extension),
            ("receipt", Document::Acknowledgement),
        ] {
            for (created_ms, contract) in
                documents::applied(self.store.pool(), document, tenant, id).await?
            {
                signed.push((created_ms, kind.to_owned(), contract));
            }
        }
        signed.sort();
        Ok(signed.into_iter().map(|(_, k, c)| (k, c)).collect())
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
        let title = crate::store::contracts::title(self.store.pool(), &id.to_string()).await?;
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
        documents::insert_extension(
            self.store.writer(),
            documents::NewExtension {
                contract: &view.id,
                loan: id,
                annual_rate_percent: rate.to_string(),
                term_months,
                repayment_method: method.as_str(),
                proposed_on: on.to_string(),
                addendum: addendum.canonical_text(),
                created_ms: now,
            },
        )
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
        let Some(r) = documents::proposed_extension(self.store.pool(), contract_id).await? else {
            return Ok(());
        };
        let (terms, proposed_on, signed) = stored_extension(&r)?;
        let loan = ContractId::parse(&r.loan_id)?;
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
        let rows = documents::agreed_extensions(self.store.pool()).await?;
        let n = rows.len();
        for r in rows {
            let addendum_contract = r.contract_id;
            let id = ContractId::parse(&r.extension.loan_id)?;
            let tenant = r.tenant_id;
            let (terms, proposed_on, signed) = stored_extension(&r.extension)?;
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
        documents::mark_stale(self.store.writer(), document.kind(), document.contract()).await?;
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
            documents::mark_applied(&mut *tx, applied.kind(), applied.contract()).await?;
        }
        let advanced = store::advance(
            &mut *tx,
            id,
            row.event_count,
            row.action_count,
            row.event_count + events.len() as u64,
            row.action_count + actions.len() as u64,
            next.head().as_bytes().to_vec(),
            &next_due,
        )
        .await?;
        if !advanced {
            return Err(conflict(
                ProblemType::ConcurrentChange,
                "the loan changed meanwhile; retry",
            ));
        }
        for (n, e) in events.iter().enumerate() {
            let record = e.to_evidence(&self.submitter, now)?.encode();
            let is_report = matches!(e.kind(), LoanEventKind::RepaymentReported { .. });
            store::insert_event(
                &mut *tx,
                id,
                row.event_count + n as u64,
                e.canonical_text(),
                if is_report {
                    transfer_proof.map(<[u8]>::to_vec)
                } else {
                    None
                },
                record,
            )
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
            seq += store::insert_action(
                &mut **tx,
                NewAction {
                    key: a.key.as_str(),
                    contract: id,
                    seq,
                    day: a.on.to_string(),
                    rule: a.rule.as_str(),
                    action: action_text(&a.action),
                    record,
                    created_ms: now,
                },
            )
            .await?;
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
        let due = store::due(self.store.pool(), &day.to_string(), DUE_BATCH).await?;
        if due.is_empty() {
            return Ok(0);
        }
        let standard = RuleSet::standard();
        let standard_json = standard.to_json();
        // Evaluate every loan of the batch first (no transaction open meanwhile).
        let mut plans = Vec::with_capacity(due.len());
        for r in due {
            let id = ContractId::parse(&r.contract_id)?;
            let event_count = r.event_count;
            let action_count = r.action_count;
            let rules = if r.rules == standard_json {
                standard.clone()
            } else {
                RuleSet::from_json(&r.rules)?
            };
            let book = self
                .stored_book(id, &r.content, rules, event_count, r.head)
                .await?;
            let mut actions = Vec::new();
            let mut d = match r.next_due {
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
            let moved = store::move_on(
                &mut *tx,
                *id,
                *event_count,
                *action_count,
                action_count + planned,
                next_due,
                &day.to_string(),
            )
            .await?;
            if !moved {
                continue;
            }
            let n = self
                .insert_actions(&mut tx, *id, *action_count, actions, now)
                .await?;
            if n != planned {
                store::set_action_count(&mut *tx, *id, action_count + n).await?;
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
        let title = crate::store::contracts::title(self.store.pool(), &id.to_string()).await?;
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
            let contact = crate::store::persons::contact(self.store.pool(), &person).await?;
            let email = contact.email;
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
            if let Some(mobile) = contact.mobile {
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
        let rows = store::pending_actions(self.store.pool(), ACTION_BATCH, now).await?;
        let n = rows.len();
        for r in rows {
            let key = r.key;
            let id = ContractId::parse(&r.contract_id)?;
            let tenant = r.tenant_id;
            let action = r.action;
            let day = r.day;
            let attempt = r.attempts + 1;
            let mut history: Vec<serde_json::Value> = r
                .deliveries
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
            store::record_attempt(
                self.store.writer(),
                &key,
                state,
                serde_json::Value::Array(history).to_string(),
                attempt,
                next_attempt_ms,
            )
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
    /// Its kind (the table that tracks it).
    fn kind(self) -> Document {
        match self {
            Self::Extension(_) => Document::Extension,
            Self::Acknowledgement(_) => Document::Acknowledgement,
        }
    }

    /// The table that tracks it.
    fn table(self) -> &'static str {
        self.kind().table()
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
    r: &ExtensionRecord,
) -> Result<(affix_contract::ExtensionTerms, Date, String), Error> {
    let terms = affix_contract::ExtensionTerms {
        annual_rate_percent: Decimal::parse(&r.annual_rate_percent)
            .ok_or_else(|| Error::Internal("stored extension rate".into()))?,
        term_months: u16::try_from(r.term_months)
            .map_err(|_| Error::Internal("stored extension term".into()))?,
        repayment_method: r
            .repayment_method
            .parse()
            .map_err(|e| Error::Internal(format!("stored extension method: {e}")))?,
    };
    let proposed_on = parse_day(&r.proposed_on)?;
    Ok((terms, proposed_on, r.addendum.clone()))
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
