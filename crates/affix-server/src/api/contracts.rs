//! Contracts: creation, listing, sending, revocation, events, the document and the
//! evidence bundle.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use affix_platform::ProblemType;
use affix_platform::service::{
    ContractFilter, ContractPage, ContractView, EventView, Invite, NewContract, NewParty, PartyView,
};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ApiResult, attachment, base64_field, contract_id, json_body, ok, secret};
use crate::gate::Caller;
use crate::problem::{Problem, ProblemBody};
use crate::routes::Api;

/// One party as the API shows it.
#[derive(Serialize, ToSchema)]
pub(crate) struct Party {
    /// Party id (in the contract's content).
    id: String,
    /// Person id.
    person_id: String,
    /// Name.
    name: String,
    /// `initiator` or `signer`.
    #[schema(pattern = "^(initiator|signer)$")]
    role: String,
    /// `pending`, `invited`, `identity_verified`, `viewed`, `consented`, `signed` or
    /// `declined`.
    #[schema(pattern = "^(pending|invited|identity_verified|viewed|consented|signed|declined)$")]
    status: String,
    /// Signs for the organization with its seal.
    seal: bool,
}

impl From<PartyView> for Party {
    fn from(p: PartyView) -> Self {
        Self {
            id: p.id,
            person_id: p.person_id,
            name: p.name,
            role: p.role,
            status: p.status,
            seal: p.seal,
        }
    }
}

/// A contract as the API shows it.
#[derive(Serialize, ToSchema)]
pub(crate) struct Contract {
    /// Id.
    id: String,
    /// `generic_contract` or `loan_note`.
    template: String,
    /// Title.
    title: String,
    /// `draft`, `sent`, `partially_signed`, `effective`, `declined`, `revoked` or
    /// `expired`.
    #[schema(pattern = "^(draft|sent|partially_signed|effective|declined|revoked|expired)$")]
    status: String,
    /// SHA-256 of the canonical content (hex): what every party signs.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    content_digest: String,
    /// Field values (omitted for regulators).
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<BTreeMap<String, String>>,
    /// `sequential` or `parallel`.
    #[schema(pattern = "^(sequential|parallel)$")]
    signing_order: String,
    /// The parties, in order (the first is the initiator).
    parties: Vec<Party>,
    /// Number of events.
    events: u64,
    /// Creation time (Unix ms).
    created_ms: u64,
    /// Last change (Unix ms).
    updated_ms: u64,
    /// Expiry (Unix ms).
    expires_ms: u64,
}

impl From<ContractView> for Contract {
    fn from(c: ContractView) -> Self {
        Self {
            id: c.id,
            template: c.template,
            title: c.title,
            status: c.status,
            content_digest: c.content_digest,
            fields: c.fields,
            signing_order: c.signing_order,
            parties: c.parties.into_iter().map(Party::from).collect(),
            events: c.events,
            created_ms: c.created_ms,
            updated_ms: c.updated_ms,
            expires_ms: c.expires_ms,
        }
    }
}

/// A contract as an answer.
pub(crate) fn contract_answer(status: StatusCode, view: ContractView) -> ApiResult {
    ok(status, &Contract::from(view))
}

/// A new contract.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ContractIn {
    /// `generic_contract` or `loan_note`.
    #[schema(pattern = "^(generic_contract|loan_note)$")]
    template: String,
    /// The template's field values.
    #[serde(default)]
    fields: BTreeMap<String, String>,
    /// The parties in order, the first the initiator: a person id, or `{person, seal:
    /// true}` for the seal holder signing with the organization's seal.
    #[schema(min_items = 2)]
    parties: Vec<PartyIn>,
    /// `sequential` (default) or `parallel`.
    #[serde(default)]
    signing_order: Option<String>,
    /// Days until the contract expires unsigned (default 14, at most 365).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 365)]
    expires_in_days: Option<u64>,
    /// The document (generic contract), base64.
    #[serde(default)]
    #[schema(content_encoding = "base64")]
    document: Option<String>,
    /// The document's file name.
    #[serde(default)]
    document_name: Option<String>,
    /// Loan note only: the automation rules (rule set JSON, format `affix-loan-rules`;
    /// default the standard rules), signed with the note through `loan_terms_sha256`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    rules: Option<serde_json::Value>,
}

/// A party of a new contract: a person id, or `{"person": id, "seal": true}` for the
/// holder of the organization's seal signing for the organization.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum PartyIn {
    /// A person id.
    Person(String),
    /// A person, maybe signing with the organization's seal.
    Detailed(PartyDetail),
}

/// A party given with its options.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PartyDetail {
    /// Person id.
    person: String,
    /// Signs for the organization with its seal (the person must hold it).
    #[serde(default)]
    seal: bool,
}

impl From<PartyIn> for NewParty {
    fn from(p: PartyIn) -> Self {
        match p {
            PartyIn::Person(person) => Self {
                person,
                seal: false,
            },
            PartyIn::Detailed(d) => Self {
                person: d.person,
                seal: d.seal,
            },
        }
    }
}

/// Create a contract from a template (admin, member).
#[utoipa::path(post, path = "/v1/contracts", operation_id = "createContract",
    security(("apiKey" = [])), request_body = ContractIn,
    responses((status = 201, body = Contract)))]
pub(crate) async fn create_contract(
    State(api): State<Arc<Api>>,
    Caller(who): Caller,
    body: Bytes,
) -> ApiResult {
    let input: ContractIn = json_body(&body)?;
    let parallel = match input.signing_order.as_deref() {
        None | Some("sequential") => false,
        Some("parallel") => true,
        Some(other) => {
            return Err(Problem::new(
                ProblemType::InvalidSigningOrder,
                format!("signing_order {other:?}: sequential or parallel"),
            ));
        }
    };
    let document = input
        .document
        .as_deref()
        .map(|d| base64_field(d, "document"))
        .transpose()?;
    let view = api
        .platform
        .create_contract(
            &who,
            NewContract {
                template: input.template,
                fields: input.fields,
                parties: input.parties.into_iter().map(NewParty::from).collect(),
                parallel,
                expires_in_days: input.expires_in_days,
                document,
                document_name: input.document_name,
                loan_rules: input.rules.map(|r| r.to_string()),
                single_party: false,
            },
        )
        .await?;
    contract_answer(StatusCode::CREATED, view)
}

/// A listing filter.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Status name.
    status: Option<String>,
    /// Template name.
    template: Option<String>,
    /// Person id of a party.
    person: Option<String>,
    /// Created at or after (Unix ms).
    created_from: Option<u64>,
    /// Created before (Unix ms).
    created_to: Option<u64>,
    /// Page size (default 50, at most 500).
    limit: Option<u32>,
    /// The `next` cursor of the previous page.
    cursor: Option<String>,
}

/// A page of contracts.
#[derive(Serialize, ToSchema)]
pub(crate) struct ContractList {
    /// Contracts, newest first.
    contracts: Vec<Contract>,
    /// Cursor of the next page, if any.
    next: Option<String>,
}

impl From<ContractPage> for ContractList {
    fn from(p: ContractPage) -> Self {
        Self {
            contracts: p.contracts.into_iter().map(Contract::from).collect(),
            next: p.next,
        }
    }
}

/// List the tenant's contracts, newest first, filtered and paged.
#[utoipa::path(get, path = "/v1/contracts", operation_id = "listContracts",
    security(("apiKey" = [])), params(ListQuery),
    responses((status = 200, body = ContractList)))]
pub(crate) async fn list_contracts(
    State(api): State<Arc<Api>>,
    Caller(who): Caller,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    let Query(q) = query.map_err(|e| Problem::new(ProblemType::InvalidQuery, e.body_text()))?;
    let page = api
        .platform
        .list_contracts(
            &who,
            &ContractFilter {
                status: q.status,
                template: q.template,
                person: q.person,
                created_from: q.created_from,
                created_to: q.created_to,
                limit: q.limit,
                cursor: q.cursor,
            },
        )
        .await?;
    ok(StatusCode::OK, &ContractList::from(page))
}

/// A contract (fields omitted for regulators).
#[utoipa::path(get, path = "/v1/contracts/{id}", operation_id = "getContract",
    security(("apiKey" = [])), params(("id" = String, Path, description = "Contract id")),
    responses((status = 200, body = Contract)))]
pub(crate) async fn contract(
    State(api): State<Arc<Api>>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let view = api.platform.contract_view(&who, contract_id(&id)?).await?;
    contract_answer(StatusCode::OK, view)
}

/// An invite sent to a party: where it went. The link itself goes only to the party.
#[derive(Serialize, ToSchema)]
pub(crate) struct InviteSent {
    /// Party id.
    party_id: String,
    /// Person id.
    person_id: String,
    /// Channels the link went out on (`email`, `sms`).
    sent_via: Vec<String>,
    /// Expiry (Unix ms).
    expires_ms: u64,
}

impl From<Invite> for InviteSent {
    fn from(i: Invite) -> Self {
        Self {
            party_id: i.party_id,
            person_id: i.person_id,
            sent_via: i.sent_via,
            expires_ms: i.expires_ms,
        }
    }
}

/// The invites of a contract sent.
#[derive(Serialize, ToSchema)]
pub(crate) struct Invites {
    /// The contract.
    contract_id: String,
    /// One per party.
    invites: Vec<InviteSent>,
}

/// Send the contract: invites every party by e-mail (and SMS with a mobile number).
/// The answer says where each invite went; no link or token is ever returned to the
/// sender.
#[utoipa::path(post, path = "/v1/contracts/{id}/send", operation_id = "sendContract",
    security(("apiKey" = [])), params(("id" = String, Path, description = "Contract id")),
    responses((status = 200, body = Invites)))]
pub(crate) async fn send_contract(
    State(api): State<Arc<Api>>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let invites = api.platform.send_contract(&who, contract_id(&id)?).await?;
    ok(
        StatusCode::OK,
        &Invites {
            contract_id: id,
            invites: invites.into_iter().map(InviteSent::from).collect(),
        },
    )
}

/// Re-send a party's invite with a fresh link; the old link stops working at once.
#[utoipa::path(post, path = "/v1/contracts/{id}/parties/{party}/remind", operation_id = "remindParty",
    security(("apiKey" = [])),
    params(("id" = String, Path, description = "Contract id"),
           ("party" = String, Path, description = "Party id")),
    responses((status = 202, body = InviteSent)))]
pub(crate) async fn remind_party(
    State(api): State<Arc<Api>>,
    Caller(who): Caller,
    Path((id, party)): Path<(String, String)>,
) -> ApiResult {
    let invite = api
        .platform
        .remind_party(&who, contract_id(&id)?, &party)
        .await?;
    ok(StatusCode::ACCEPTED, &InviteSent::from(invite))
}

/// A short-lived signing URL.
#[derive(Serialize, ToSchema)]
pub(crate) struct SigningUrlOut {
    /// The URL to open in the signer's browser (it holds a bearer token: do not log it).
    url: String,
    /// When it stops working (Unix ms).
    expires_ms: u64,
}

/// A short-lived (15 min) signing URL for a party whose signer account approves with a
/// passkey, for a sender that embeds signing in its own app. It replaces the party's
/// e-mailed link; the signer still passes the one-time code and approves with the
/// passkey. Refused (409 `no-passkey`) for any other party.
#[utoipa::path(post, path = "/v1/contracts/{id}/parties/{party}/signing-url", operation_id = "signingUrl",
    security(("apiKey" = [])),
    params(("id" = String, Path, description = "Contract id"),
           ("party" = String, Path, description = "Party id")),
    responses((status = 201, body = SigningUrlOut),
        (status = 409, description = "The party has no passkey, or is not waiting to sign",
            body = ProblemBody, content_type = "application/problem+json")))]
pub(crate) async fn signing_url(
    State(api): State<Arc<Api>>,
    Caller(who): Caller,
    Path((id, party)): Path<(String, String)>,
) -> ApiResult {
    let signing = api
        .platform
        .signing_url(&who, contract_id(&id)?, &party)
        .await?;
    secret(
        StatusCode::CREATED,
        &SigningUrlOut {
            url: signing.url,
            expires_ms: signing.expires_ms,
        },
    )
}

/// Revoke a contract not yet effective (initiator's tenant: admin, member).
#[utoipa::path(post, path = "/v1/contracts/{id}/revoke", operation_id = "revokeContract",
    security(("apiKey" = [])), params(("id" = String, Path, description = "Contract id")),
    responses((status = 200, body = Contract)))]
pub(crate) async fn revoke_contract(
    State(api): State<Arc<Api>>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let view = api
        .platform
        .revoke_contract(&who, contract_id(&id)?)
        .await?;
    contract_answer(StatusCode::OK, view)
}

/// One event with its evidence status.
#[derive(Serialize, ToSchema)]
pub(crate) struct Event {
    /// Sequence number.
    seq: u64,
    /// Evidence kind (`contract.signed`, …).
    kind: String,
    /// Time (Unix ms).
    at_ms: u64,
    /// Party id of the actor.
    party: Option<String>,
    /// Hash of the event (hex), as chained.
    hash: String,
    /// The event's canonical bytes (base64).
    event: String,
    /// The evidence record (base64).
    record: String,
    /// Leaf hash in the ledger (hex), once submitted.
    leaf_hash: Option<String>,
    /// The receipt (C2SP tlog-proof text), once the ledger has one.
    receipt: Option<String>,
}

impl From<EventView> for Event {
    fn from(e: EventView) -> Self {
        Self {
            seq: e.seq,
            kind: e.kind,
            at_ms: e.at_ms,
            party: e.party,
            hash: e.hash,
            event: e.event,
            record: e.record,
            leaf_hash: e.leaf_hash,
            receipt: e.receipt,
        }
    }
}

/// The events of a contract.
#[derive(Serialize, ToSchema)]
pub(crate) struct Events {
    /// In chain order.
    events: Vec<Event>,
}

/// The contract's events with their evidence records and receipts.
#[utoipa::path(get, path = "/v1/contracts/{id}/events", operation_id = "contractEvents",
    security(("apiKey" = [])), params(("id" = String, Path, description = "Contract id")),
    responses((status = 200, body = Events)))]
pub(crate) async fn events(
    State(api): State<Arc<Api>>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let events = api.platform.events(&who, contract_id(&id)?).await?;
    ok(
        StatusCode::OK,
        &Events {
            events: events.into_iter().map(Event::from).collect(),
        },
    )
}

/// How long to wait for pending receipts.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct BundleQuery {
    /// Seconds to wait for pending receipts (default 10, at most 60).
    wait: Option<u64>,
}

impl BundleQuery {
    pub(crate) fn wait(&self) -> Duration {
        Duration::from_secs(self.wait.unwrap_or(10))
    }
}

/// Parses a bundle query.
pub(crate) fn bundle_query(
    query: Result<Query<BundleQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<BundleQuery, Problem> {
    query
        .map(|Query(q)| q)
        .map_err(|e| Problem::new(ProblemType::InvalidQuery, e.body_text()))
}

/// The evidence bundle v1: content, document, events with receipts, signatures with
/// certificates and time-stamps (waits for pending receipts; not for regulators).
#[utoipa::path(get, path = "/v1/contracts/{id}/bundle", operation_id = "contractBundle",
    security(("apiKey" = [])),
    params(("id" = String, Path, description = "Contract id"), BundleQuery),
    responses((status = 200, description = "The evidence bundle (format affix-evidence-bundle/v1; see docs/formats.md)", body = serde_json::Value)))]
pub(crate) async fn bundle(
    State(api): State<Arc<Api>>,
    Caller(who): Caller,
    Path(id): Path<String>,
    query: Result<Query<BundleQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    let wait = bundle_query(query)?.wait();
    let id = contract_id(&id)?;
    let bundle = api.platform.contract_bundle(&who, id, wait).await?;
    attachment(&bundle, &format!("contract-{id}.affix-bundle.json"))
}

/// The contract's document (not for regulators).
#[utoipa::path(get, path = "/v1/contracts/{id}/document", operation_id = "contractDocument",
    security(("apiKey" = [])), params(("id" = String, Path, description = "Contract id")),
    responses((status = 200, description = "The document", body = String, content_type = "application/octet-stream")))]
pub(crate) async fn document(
    State(api): State<Arc<Api>>,
    Caller(who): Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let document = api.platform.document(&who, contract_id(&id)?).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/octet-stream")],
        document,
    )
        .into_response())
}
