//! Loans (e-IOUs) once their note is effective: balances, repayments and the lender's
//! answers, extensions, the acknowledgement (收条) the lender signs, evidence and the
//! litigation bundle.

use std::sync::Arc;

use affix_platform::service::{
    ActionView, InstalmentView, LoanEventView, LoanEvidence, LoanView, RepaymentView,
};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::contracts::{BundleQuery, Contract, bundle_query, contract_answer};
use super::{ApiResult, attachment, base64_field, contract_id, json_body, ok};
use crate::gate::Caller;
use crate::routes::Api;

/// One repayment.
#[derive(Serialize, ToSchema)]
pub(crate) struct Repayment {
    /// Its number in the loan.
    id: u32,
    /// Amount in yuan.
    amount: String,
    /// The day the borrower says it was paid.
    paid_on: String,
    /// The day it was reported.
    reported_on: String,
    /// `pending`, `confirmed` or `disputed`.
    #[schema(pattern = "^(pending|confirmed|disputed)$")]
    status: String,
    /// SHA-256 of the transfer proof, if any.
    proof_sha256: Option<String>,
}

impl From<RepaymentView> for Repayment {
    fn from(r: RepaymentView) -> Self {
        Self {
            id: r.id,
            amount: r.amount,
            paid_on: r.paid_on,
            reported_on: r.reported_on,
            status: r.status,
            proof_sha256: r.proof_sha256,
        }
    }
}

/// One instalment with what has been paid of it.
#[derive(Serialize, ToSchema)]
pub(crate) struct Instalment {
    /// 1-based.
    number: u16,
    /// Due date.
    due_date: String,
    /// Interest due, yuan.
    interest: String,
    /// Principal due, yuan.
    principal: String,
    /// Still unpaid, yuan.
    unpaid: String,
}

impl From<InstalmentView> for Instalment {
    fn from(i: InstalmentView) -> Self {
        Self {
            number: i.number,
            due_date: i.due_date,
            interest: i.interest,
            principal: i.principal,
            unpaid: i.unpaid,
        }
    }
}

/// A loan.
#[derive(Serialize, ToSchema)]
pub(crate) struct Loan {
    /// The loan note's contract id.
    contract_id: String,
    /// `active`, `overdue` or `settled`, on the platform's today.
    #[schema(pattern = "^(active|overdue|settled)$")]
    status: String,
    /// Owed, yuan (confirmed repayments deducted).
    outstanding: String,
    /// Reported, awaiting the lender, yuan.
    pending: String,
    /// The schedule with its balances.
    instalments: Vec<Instalment>,
    /// Every repayment reported.
    repayments: Vec<Repayment>,
    /// The next day a rule may act.
    next_due: Option<String>,
    /// Loan events so far.
    events: u64,
    /// Rule actions taken so far (notices, status changes, evidence).
    actions: u64,
    /// The loan chain's head (hex).
    head: String,
}

impl From<LoanView> for Loan {
    fn from(l: LoanView) -> Self {
        Self {
            contract_id: l.contract_id,
            status: l.status,
            outstanding: l.outstanding,
            pending: l.pending,
            instalments: l.instalments.into_iter().map(Instalment::from).collect(),
            repayments: l.repayments.into_iter().map(Repayment::from).collect(),
            next_due: l.next_due,
            events: l.events,
            actions: l.actions,
            head: l.head,
        }
    }
}

fn loan_answer(view: LoanView) -> ApiResult {
    ok(StatusCode::OK, &Loan::from(view))
}

/// Status, balances, schedule and repayments of the loan of note `id`.
#[utoipa::path(get, path = "/v1/loans/{id}", operation_id = "getLoan",
    security(("apiKey" = [])), params(("id" = String, Path, description = "The loan note's contract id")),
    responses((status = 200, body = Loan)))]
pub(crate) async fn loan(
    State(api): State<Arc<Api>>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ApiResult {
    loan_answer(api.platform.loan(&who, contract_id(&id)?).await?)
}

/// A rule action with its delivery results (proof of notice).
#[derive(Serialize, ToSchema)]
pub(crate) struct Action {
    /// Idempotency key.
    key: String,
    /// Day it was due.
    day: String,
    /// Rule id.
    rule: String,
    /// What it does (`notify borrower reminder_before_due`, …).
    action: String,
    /// `pending`, `done`, or `failed` (a notice not sent).
    #[schema(pattern = "^(pending|done|failed)$")]
    state: String,
    /// Delivery results, once done.
    #[schema(value_type = Option<Vec<Object>>)]
    deliveries: Option<serde_json::Value>,
    /// Its evidence record (base64 of evidence record v1).
    record: String,
    /// The record's ledger receipt (C2SP tlog-proof text), once issued.
    receipt: Option<String>,
}

impl From<ActionView> for Action {
    fn from(a: ActionView) -> Self {
        Self {
            key: a.key,
            day: a.day,
            rule: a.rule,
            action: a.action,
            state: a.state,
            deliveries: a.deliveries,
            record: a.record,
            receipt: a.receipt,
        }
    }
}

/// One loan event with its evidence record and receipt.
#[derive(Serialize, ToSchema)]
pub(crate) struct LoanEvent {
    /// Position in the loan's chain.
    seq: u64,
    /// The event (`affix-loan-event v1` text).
    text: String,
    /// Its evidence record (base64 of evidence record v1).
    record: String,
    /// The record's ledger receipt, once issued.
    receipt: Option<String>,
}

impl From<LoanEventView> for LoanEvent {
    fn from(e: LoanEventView) -> Self {
        Self {
            seq: e.seq,
            text: e.text,
            record: e.record,
            receipt: e.receipt,
        }
    }
}

/// A loan's evidence.
#[derive(Serialize, ToSchema)]
pub(crate) struct LoanEvidenceList {
    /// Loan events in chain order.
    events: Vec<LoanEvent>,
    /// Rule actions in the order they were taken.
    actions: Vec<Action>,
}

impl From<LoanEvidence> for LoanEvidenceList {
    fn from(e: LoanEvidence) -> Self {
        Self {
            events: e.events.into_iter().map(LoanEvent::from).collect(),
            actions: e.actions.into_iter().map(Action::from).collect(),
        }
    }
}

/// The loan's events and rule actions, with delivery results and receipts.
#[utoipa::path(get, path = "/v1/loans/{id}/evidence", operation_id = "loanEvidence",
    security(("apiKey" = [])), params(("id" = String, Path, description = "The loan note's contract id")),
    responses((status = 200, body = LoanEvidenceList)))]
pub(crate) async fn loan_evidence(
    State(api): State<Arc<Api>>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let evidence = api.platform.loan_evidence(&who, contract_id(&id)?).await?;
    ok(StatusCode::OK, &LoanEvidenceList::from(evidence))
}

/// The litigation bundle: the note's evidence bundle, the signed rules, every loan event
/// and rule action with its receipt, and the documents both parties signed since
/// (waits for pending receipts).
#[utoipa::path(get, path = "/v1/loans/{id}/bundle", operation_id = "loanBundle",
    security(("apiKey" = [])),
    params(("id" = String, Path, description = "The loan note's contract id"), BundleQuery),
    responses((status = 200, description = "The litigation bundle (see docs/formats.md)", body = serde_json::Value)))]
pub(crate) async fn loan_bundle(
    State(api): State<Arc<Api>>,
    Caller(who): Caller,
    Path(id): Path<String>,
    query: Result<Query<BundleQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    let wait = bundle_query(query)?.wait();
    let id = contract_id(&id)?;
    let bundle = api.platform.litigation_bundle(&who, id, wait).await?;
    attachment(&bundle, &format!("loan-{id}.affix-litigation.json"))
}

/// A repayment reported.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RepaymentIn {
    /// Yuan, e.g. `1000.00`.
    amount: String,
    /// `YYYY-MM-DD`.
    paid_on: String,
    /// The transfer proof (an image of the bank transfer), base64, at most 2 MiB; its
    /// SHA-256 goes into the event.
    #[serde(default)]
    #[schema(content_encoding = "base64")]
    proof: Option<String>,
}

/// Report a repayment (the lender confirms or disputes it).
#[utoipa::path(post, path = "/v1/loans/{id}/repayments", operation_id = "reportRepayment",
    security(("apiKey" = [])), params(("id" = String, Path, description = "The loan note's contract id")),
    request_body = RepaymentIn, responses((status = 200, body = Loan)))]
pub(crate) async fn report_repayment(
    State(api): State<Arc<Api>>,
    Caller(who): Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let input: RepaymentIn = json_body(&body)?;
    let transfer_proof = input
        .proof
        .as_deref()
        .map(|p| base64_field(p, "proof"))
        .transpose()?;
    let view = api
        .platform
        .report_repayment(
            &who,
            contract_id(&id)?,
            &input.amount,
            &input.paid_on,
            transfer_proof,
        )
        .await?;
    loan_answer(view)
}

/// An extension addendum proposed.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExtensionIn {
    /// The new annual rate, percent.
    annual_rate_percent: String,
    /// The new term from the note's start, months.
    #[schema(minimum = 1, maximum = 360)]
    term_months: u16,
    /// `bullet`, `equal_instalments` or `equal_principal`.
    #[schema(pattern = "^(bullet|equal_instalments|equal_principal)$")]
    repayment_method: String,
}

/// Propose an extension (展期): an addendum contract both parties sign.
#[utoipa::path(post, path = "/v1/loans/{id}/extensions", operation_id = "proposeExtension",
    security(("apiKey" = [])), params(("id" = String, Path, description = "The loan note's contract id")),
    request_body = ExtensionIn, responses((status = 201, body = Contract)))]
pub(crate) async fn propose_extension(
    State(api): State<Arc<Api>>,
    Caller(who): Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let input: ExtensionIn = json_body(&body)?;
    let view = api
        .platform
        .propose_extension(
            &who,
            contract_id(&id)?,
            &input.annual_rate_percent,
            input.term_months,
            &input.repayment_method,
        )
        .await?;
    contract_answer(StatusCode::CREATED, view)
}

/// The repayment number of a path (not a number: no such repayment; the platform checks
/// the caller's role first).
fn repayment_number(n: &str) -> u32 {
    n.parse().unwrap_or(u32::MAX)
}

/// The lender confirms a repayment; the last confirmation settles the loan.
#[utoipa::path(post, path = "/v1/loans/{id}/repayments/{n}/confirm", operation_id = "confirmRepayment",
    security(("apiKey" = [])),
    params(("id" = String, Path, description = "The loan note's contract id"), ("n" = String, Path, description = "Repayment number")),
    responses((status = 200, body = Loan)))]
pub(crate) async fn confirm(
    State(api): State<Arc<Api>>,
    Caller(who): Caller,
    Path((id, n)): Path<(String, String)>,
) -> ApiResult {
    let view = api
        .platform
        .decide_repayment(&who, contract_id(&id)?, repayment_number(&n), false)
        .await?;
    loan_answer(view)
}

/// The lender disputes a repayment.
#[utoipa::path(post, path = "/v1/loans/{id}/repayments/{n}/dispute", operation_id = "disputeRepayment",
    security(("apiKey" = [])),
    params(("id" = String, Path, description = "The loan note's contract id"), ("n" = String, Path, description = "Repayment number")),
    responses((status = 200, body = Loan)))]
pub(crate) async fn dispute(
    State(api): State<Arc<Api>>,
    Caller(who): Caller,
    Path((id, n)): Path<(String, String)>,
) -> ApiResult {
    let view = api
        .platform
        .decide_repayment(&who, contract_id(&id)?, repayment_number(&n), true)
        .await?;
    loan_answer(view)
}

/// An acknowledgement of the repayment (收条) for the lender to sign: a one-party
/// contract; once signed, the repayment is confirmed.
#[utoipa::path(post, path = "/v1/loans/{id}/repayments/{n}/acknowledgement", operation_id = "requestAcknowledgement",
    security(("apiKey" = [])),
    params(("id" = String, Path, description = "The loan note's contract id"), ("n" = String, Path, description = "Repayment number")),
    responses((status = 201, body = Contract)))]
pub(crate) async fn acknowledgement(
    State(api): State<Arc<Api>>,
    Caller(who): Caller,
    Path((id, n)): Path<(String, String)>,
) -> ApiResult {
    let view = api
        .platform
        .request_acknowledgement(&who, contract_id(&id)?, repayment_number(&n))
        .await?;
    contract_answer(StatusCode::CREATED, view)
}

/// The former path of `requestAcknowledgement`, kept as an alias.
#[utoipa::path(post, path = "/v1/loans/{id}/repayments/{n}/receipt", operation_id = "requestReceipt",
    security(("apiKey" = [])),
    params(("id" = String, Path, description = "The loan note's contract id"), ("n" = String, Path, description = "Repayment number")),
    responses((status = 201, body = Contract)))]
pub(crate) async fn acknowledgement_alias(
    state: State<Arc<Api>>,
    caller: Caller,
    path: Path<(String, String)>,
) -> ApiResult {
    acknowledgement(state, caller, path).await
}
