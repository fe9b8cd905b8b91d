//! The platform's operations. Each takes the caller ([`Principal`]) first and checks its
//! role and tenant before anything else; objects of other tenants are reported as not
//! found. Contract steps go through `affix-contract`'s state machine; each appends one
//! event to the contract's chain and queues its evidence record in the same database
//! transaction (the [`crate::evidence`] loop submits it and stores the receipt).
//!
//! Nothing here holds a signer's private key: the signer's device signs the vault's
//! authorization statement, the vault signs, and the platform assembles the CMS
//! signature around the vault's signature.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use affix_contract::{
    Contract, ContractContent, ContractEvent, ContractId, ContractStatus, Party, PartyId,
    PartyStatus, Sha256Digest, SignatureEvidence, SigningOrder, Template, verify_chain,
};
use affix_identity::{EmailAddress, MobileNumber, OtpChallenge, OtpPolicy, ResidentId};
use affix_notify::{Channel, Notification, NotificationId, Notifier, Recipient};
use affix_time::{Clock, Date};
use affix_vault::{
    Action, Algorithm, Authorization, Authorizer, CredentialId, CredentialKind, KeyId, OwnerId,
    Statement, TenantId, UnboundStatement, Vault,
};
use der::{Decode as _, Encode as _};
use sha2::{Digest as _, Sha256};
use x509_cert::Certificate;

use crate::ProblemType;
use crate::authority::Authority;
use crate::store::{self, Store};
use crate::{Error, OsSeeded, random_bytes, system_time, unix_ms};

mod bundles;
mod cache;
mod ceremony;
mod contracts;
mod idempotency;
pub(crate) mod loans;
mod organization;
mod otp_state;

pub use loans::{
    ActionView, InstalmentView, LoanEventView, LoanEvidence, LoanView, RepaymentView,
    TRANSFER_PROOF_BYTES_MAX, run as run_loans,
};

pub use bundles::BUNDLE_WAIT_MAX;
pub use idempotency::IDEMPOTENCY_KEY_CHARS_MAX;
pub use organization::OrganizationView;
pub use otp_state::{OTP_CHALLENGES_PER_HOUR_MAX, OTP_FAILURES_PER_DAY_MAX};

/// Largest uploaded contract document.
pub const DOCUMENT_BYTES_MAX: usize = 10 * 1024 * 1024;
/// Largest handwritten-signature image (PNG), as uploaded and as stored (canonical).
pub use affix_contract::SIGNATURE_IMAGE_BYTES_MAX;
/// A WebAuthn assertion, as [`Approval::Assertion`] carries it.
pub use affix_vault::affix_webauthn::Assertion;
/// Longest name of a person or tenant, in characters.
pub const NAME_CHARS_MAX: usize = 128;
/// Lifetime of a prepared signature (the signer's device signs within it).
pub const PREPARED_LIFETIME_MS: u64 = 4 * 60 * 1000;
/// Default contract lifetime.
pub const DEFAULT_EXPIRY_DAYS: u64 = 14;
/// Longest contract lifetime.
pub const MAX_EXPIRY_DAYS: u64 = 365;
/// Page size limit of listings.
pub const PAGE_MAX: u32 = 500;
/// A new one-time code is sent at most this often per party.
pub const OTP_RESEND_MS: u64 = 30_000;

/// How often one code check re-reads the challenge after losing the compare and swap to
/// a concurrent check before it answers "busy, retry" (each loss means another attempt
/// was counted).
const OTP_SWAP_TRIES_MAX: u32 = 64;

/// A member's role in a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Manages members and API keys, and everything a member does.
    Admin,
    /// Creates people and contracts, reads everything of the tenant.
    Member,
    /// Read-only: contract metadata, events and receipts; never contents, documents,
    /// people's contact details or signatures' images.
    Regulator,
}

impl Role {
    /// API name.
    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
            Role::Regulator => "regulator",
        }
    }

    /// Parses an API name.
    ///
    /// # Errors
    /// [`Error::Invalid`].
    pub fn parse(text: &str) -> Result<Self, Error> {
        match text {
            "admin" => Ok(Role::Admin),
            "member" => Ok(Role::Member),
            "regulator" => Ok(Role::Regulator),
            other => Err(invalid(
                ProblemType::InvalidRole,
                format!("unknown role {other:?}: admin, member or regulator"),
            )),
        }
    }
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The platform operator (creates tenants).
    Operator,
    /// A tenant's API key.
    Member {
        /// Tenant id.
        tenant: String,
        /// Role of the key.
        role: Role,
        /// API key id.
        key_id: String,
    },
    /// A party holding an invite link.
    Party {
        /// Tenant id.
        tenant: String,
        /// The contract.
        contract: ContractId,
        /// The party.
        party: PartyId,
    },
}

impl Principal {
    /// A stable name for audit, rate limits and idempotency keys.
    pub fn name(&self) -> String {
        match self {
            Principal::Operator => "operator".into(),
            Principal::Member { key_id, .. } => format!("key:{key_id}"),
            Principal::Party {
                contract, party, ..
            } => format!("party:{contract}:{party}"),
        }
    }

    fn member(&self, roles: &[Role]) -> Result<&str, Error> {
        match self {
            Principal::Member { tenant, role, .. } if roles.contains(role) => Ok(tenant),
            Principal::Member { role, .. } => Err(Error::Forbidden(format!(
                "the {} role may not do this",
                role.name()
            ))),
            _ => Err(Error::Forbidden("this needs a tenant API key".into())),
        }
    }

    fn party(&self) -> Result<(&str, ContractId, PartyId), Error> {
        match self {
            Principal::Party {
                tenant,
                contract,
                party,
            } => Ok((tenant, *contract, *party)),
            _ => Err(Error::Forbidden("this needs a party's invite token".into())),
        }
    }
}

pub(crate) fn invalid(kind: ProblemType, detail: impl Into<String>) -> Error {
    Error::Invalid {
        kind,
        detail: detail.into(),
    }
}

fn conflict(kind: ProblemType, detail: impl Into<String>) -> Error {
    Error::Conflict {
        kind,
        detail: detail.into(),
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn check_name(what: &'static str, name: &str) -> Result<String, Error> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > NAME_CHARS_MAX
        || name.chars().any(char::is_control)
    {
        return Err(invalid(
            ProblemType::InvalidName,
            format!("{what} must be 1 to {NAME_CHARS_MAX} characters without control characters"),
        ));
    }
    Ok(name.to_owned())
}

/// Constant-time equality of two digests.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// An API key just created: the only time its secret is seen.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    /// The key's id (for revocation and audit).
    pub id: String,
    /// The bearer token (`afk_<id>.<secret>`); only its hash is kept.
    pub secret: String,
}

/// What `create_person` takes.
#[derive(Debug, Clone)]
pub struct NewPerson {
    /// Full name (appears in the certificate and the contract).
    pub name: String,
    /// E-mail address: where one-time codes and invites go.
    pub email: String,
    /// Mainland mobile number (validated; optional).
    pub mobile: Option<String>,
    /// PRC resident ID number (GB 11643 checked; never stored).
    pub resident_id: Option<String>,
}

/// A person as the tenant sees it.
#[derive(Debug, Clone)]
pub struct PersonView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// E-mail (omitted for regulators).
    pub email: Option<String>,
    /// Mobile number in E.164 (omitted for regulators).
    pub mobile: Option<String>,
    /// Whether the person has a signing key and certificate yet.
    pub has_certificate: bool,
    /// Creation time.
    pub created_ms: u64,
}

/// What `create_contract` takes.
#[derive(Debug, Clone)]
pub struct NewContract {
    /// `generic_contract` or `loan_note`.
    pub template: String,
    /// Field values (for the generic contract, `document_sha256` is filled in from the
    /// document).
    pub fields: BTreeMap<String, String>,
    /// Parties in order: the first is the initiator.
    pub parties: Vec<NewParty>,
    /// Sequential (default) or parallel signing.
    pub parallel: bool,
    /// Days until the contract expires unsigned.
    pub expires_in_days: Option<u64>,
    /// The document (generic contract).
    pub document: Option<Vec<u8>>,
    /// Its file name.
    pub document_name: Option<String>,
    /// The loan note's automation rules (rule set JSON, `affix-loan-rules`); default
    /// the standard rules.
    pub loan_rules: Option<String>,
    /// A document its one party signs alone (a repayment acknowledgement the lender
    /// signs);
    /// made by the platform only: contracts created through the API have two parties
    /// at least.
    pub single_party: bool,
}

/// One party of a new contract.
#[derive(Debug, Clone)]
pub struct NewParty {
    /// Person id (of the caller's tenant).
    pub person: String,
    /// Signs for the organization with its seal (the person must hold it).
    pub seal: bool,
}

/// One party as the API shows it.
#[derive(Debug, Clone)]
pub struct PartyView {
    /// Party id (in the contract's content).
    pub id: String,
    /// Person id.
    pub person_id: String,
    /// Name.
    pub name: String,
    /// `initiator` or `signer`.
    pub role: String,
    /// `pending`, `invited`, `identity_verified`, `viewed`, `consented`, `signed`,
    /// `declined`.
    pub status: String,
    /// Signs for the organization with its seal.
    pub seal: bool,
}

/// A contract as the API shows it.
#[derive(Debug, Clone)]
pub struct ContractView {
    /// Id.
    pub id: String,
    /// Template name.
    pub template: String,
    /// Title.
    pub title: String,
    /// `draft`, `sent`, `effective`, `declined`, `revoked`, `expired`.
    pub status: String,
    /// SHA-256 of the canonical content (hex): what every party signs.
    pub content_digest: String,
    /// Field values (omitted for regulators).
    pub fields: Option<BTreeMap<String, String>>,
    /// `sequential` or `parallel`.
    pub signing_order: String,
    /// The parties.
    pub parties: Vec<PartyView>,
    /// Number of events.
    pub events: u64,
    /// Creation time.
    pub created_ms: u64,
    /// Last change.
    pub updated_ms: u64,
    /// Expiry.
    pub expires_ms: u64,
}

/// One party's signature as stored: what an evidence bundle carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSignature {
    /// The party id.
    pub party: String,
    /// The CMS signature (DER), with its signature time-stamp.
    pub cms_der: Vec<u8>,
    /// The signer's certificate (DER).
    pub certificate_der: Vec<u8>,
    /// The RFC 3161 time-stamp token (DER).
    pub timestamp_token_der: Vec<u8>,
    /// The handwritten-signature image (PNG).
    pub image_png: Vec<u8>,
    /// What the signer's credential approved (none for signatures made before
    /// migration 0011).
    pub approval: Option<store::contracts::ApprovalRow>,
}

/// An invite sent to a party by `send_contract` or `remind_party`: where it went, not
/// its link (which only the party receives).
#[derive(Debug, Clone)]
pub struct Invite {
    /// Party id.
    pub party_id: String,
    /// Person id.
    pub person_id: String,
    /// The channels the link went out on (`email`, `sms`).
    pub sent_via: Vec<String>,
    /// Expiry.
    pub expires_ms: u64,
}

/// How long a signing URL for a passkey party lives: 15 minutes.
pub const SIGNING_URL_LIFETIME_MS: u64 = 15 * 60 * 1000;

/// A short-lived signing URL for a passkey party (`signing_url`): a bearer secret for
/// the sender's app to open, never kept for idempotent replay.
#[derive(Debug, Clone)]
pub struct SigningUrl {
    /// The URL (`…/sign#afi_…`).
    pub url: String,
    /// Expiry.
    pub expires_ms: u64,
}

/// What an invited party opens: the contract, its own party id, the canonical content it
/// signs and the document.
#[derive(Debug, Clone)]
pub struct InviteOpened {
    /// The contract as the party sees it.
    pub contract: ContractView,
    /// The party's id.
    pub party: String,
    /// The canonical content (`AFCT`): what every party signs.
    pub content: Vec<u8>,
    /// The document, if the contract has one.
    pub document: Option<Vec<u8>>,
}

/// A signature prepared for the signer's device.
#[derive(Debug, Clone)]
pub struct PreparedSignature {
    /// The vault authorization statement (base64): the device signs exactly these bytes
    /// with its Ed25519 credential key.
    pub statement: String,
    /// SHA-256 (hex) of the CMS signed attributes the vault will sign; the statement
    /// binds it.
    pub payload_digest: String,
    /// The signer's vault key.
    pub key_id: String,
    /// The credential that must sign.
    pub credential_id: String,
    /// When the statement expires.
    pub expires_ms: u64,
    /// The content digest (hex) the CMS signature covers.
    pub content_digest: String,
    /// The CMS signed attributes (base64 DER `SET OF Attribute`) the vault will sign:
    /// content message-digest, signing time, signer certificate hash, and the digests of
    /// the document and signature image. SHA-256 of these bytes is the statement's
    /// digest, so a device can check what it approves (`affix device sign
    /// --attributes`).
    pub signed_attributes: String,
    /// The signer's credential kind: `device-ed25519` and `browser-p256` sign
    /// `statement` (Ed25519; ECDSA P-256 `r ‖ s`), a passkey (`passkey-es256`,
    /// `passkey-ed25519`) asserts over [`PasskeyRequest::challenge`].
    pub credential_kind: String,
    /// For a passkey: what `navigator.credentials.get` needs.
    pub passkey: Option<PasskeyRequest>,
}

/// The WebAuthn request options of a passkey approval (`navigator.credentials.get`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyRequest {
    /// The challenge (base64url, no padding): SHA-256 of the vault statement
    /// (`affix_vault::webauthn_challenge`), so the assertion approves exactly it.
    pub challenge: String,
    /// The relying party id.
    pub rp_id: String,
    /// The signer's WebAuthn credential id (base64url), for `allowCredentials`.
    pub credential_id: String,
}

/// What a passkey registration needs (`navigator.credentials.create`), offered while a
/// one-time code is pending: the challenge is bound to that code's check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyCreation {
    /// The challenge (base64url, no padding).
    pub challenge: String,
    /// The relying party id.
    pub rp_id: String,
    /// The relying party name shown by the authenticator.
    pub rp_name: String,
    /// The WebAuthn user handle (base64url; random, no personal data).
    pub user_id: String,
    /// The user name shown by the authenticator: the invited address.
    pub user_name: String,
}

/// The credential a signer registers at the first identity check, always the signer's
/// own: no tenant key reaches this step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewCredential {
    /// An Ed25519 device key (an app integration, `affix device`).
    Device([u8; 32]),
    /// A browser-held key: a non-extractable WebCrypto ECDSA P-256 key created in the
    /// signer's browser (SEC1 public key).
    Browser(Vec<u8>),
    /// A passkey: the WebAuthn registration made over [`PasskeyCreation::challenge`].
    Passkey {
        /// `attestationObject`.
        attestation_object: Vec<u8>,
        /// `clientDataJSON`.
        client_data_json: Vec<u8>,
    },
}

/// The signer credential's approval of a prepared statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approval {
    /// The signature of a device key (Ed25519, 64 bytes) or browser-held key (ECDSA
    /// P-256 `r ‖ s`, 64 bytes) over the statement.
    Signature(Vec<u8>),
    /// A passkey's WebAuthn assertion over the statement's challenge.
    Assertion(affix_vault::affix_webauthn::Assertion),
}

/// A listing filter.
#[derive(Debug, Clone, Default)]
pub struct ContractFilter {
    /// Status name.
    pub status: Option<String>,
    /// Template name.
    pub template: Option<String>,
    /// Person id of a party.
    pub person: Option<String>,
    /// Created at or after (Unix ms).
    pub created_from: Option<u64>,
    /// Created before (Unix ms).
    pub created_to: Option<u64>,
    /// Page size (default 50, at most [`PAGE_MAX`]).
    pub limit: Option<u32>,
    /// The `next` cursor of the previous page.
    pub cursor: Option<String>,
}

/// A page of contracts.
#[derive(Debug, Clone)]
pub struct ContractPage {
    /// Contracts, newest first.
    pub contracts: Vec<ContractView>,
    /// Cursor of the next page, if any.
    pub next: Option<String>,
}

/// One event with its evidence status.
#[derive(Debug, Clone)]
pub struct EventView {
    /// Sequence number.
    pub seq: u64,
    /// Evidence kind (`contract.signed`, ...).
    pub kind: String,
    /// Time (Unix ms).
    pub at_ms: u64,
    /// Party id of the actor.
    pub party: Option<String>,
    /// Hash of the event (hex), as chained.
    pub hash: String,
    /// The event's canonical bytes (base64).
    pub event: String,
    /// The evidence record (base64).
    pub record: String,
    /// Leaf hash in the ledger (hex), once submitted.
    pub leaf_hash: Option<String>,
    /// The receipt (C2SP tlog-proof text), once the ledger has one.
    pub receipt: Option<String>,
}

fn template_by_name(name: &str) -> Result<Template, Error> {
    match name {
        "generic_contract" => Ok(Template::generic_contract()),
        "loan_note" => Ok(Template::loan_note()),
        other => Err(invalid(
            ProblemType::UnknownTemplate,
            format!("unknown template {other:?}: generic_contract or loan_note"),
        )),
    }
}

fn status_name(status: ContractStatus) -> &'static str {
    match status {
        ContractStatus::Draft => "draft",
        ContractStatus::Sent => "sent",
        ContractStatus::PartiallySigned => "partially_signed",
        ContractStatus::Effective => "effective",
        ContractStatus::Declined => "declined",
        ContractStatus::Revoked => "revoked",
        ContractStatus::Expired => "expired",
    }
}

fn party_status_name(status: PartyStatus) -> &'static str {
    match status {
        PartyStatus::Invited => "invited",
        PartyStatus::IdentityVerified => "identity_verified",
        PartyStatus::Viewed => "viewed",
        PartyStatus::Consented => "consented",
        PartyStatus::Signed => "signed",
        PartyStatus::Declined => "declined",
    }
}

/// The platform: its store, vault, CA/TSA, ledger and mailer.
pub struct Platform {
    pub(crate) store: Store,
    pub(crate) vault: Arc<Vault>,
    pub(crate) authority: Arc<Authority>,
    pub(crate) mailer: Arc<dyn Notifier>,
    pub(crate) sms: Arc<dyn Notifier>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) evidence_wake: Arc<tokio::sync::Notify>,
    pub(crate) submitter: String,
    pub(crate) public_url: String,
    pub(crate) operator_token_hash: [u8; 32],
    pub(crate) data_dir: PathBuf,
    pub(crate) stages: crate::stages::Stages,
    pub(crate) webhook_wake: Arc<tokio::sync::Notify>,
    pub(crate) loan_wake: Arc<tokio::sync::Notify>,
    pub(crate) allow_plain_http_webhooks: bool,
    pub(crate) lpr: Arc<affix_contract::LprTable>,
    pub(crate) verifier_keys: String,
    /// The key of every one-time code's MAC, kept outside the database.
    pub(crate) otp_pepper: affix_identity::OtpPepper,
    /// The WebAuthn relying party (the vault's): passkey ceremonies' RP id and origin.
    pub(crate) webauthn: affix_vault::affix_webauthn::RelyingParty,
    /// Serializes identity enrolment per process (vault credential + key + certificate).
    enrol_lock: tokio::sync::Mutex<()>,
    /// Replayed contract state, checked against the stored head on every use.
    contracts: cache::ContractCache,
}

impl std::fmt::Debug for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Platform")
            .field("submitter", &self.submitter)
            .finish_non_exhaustive()
    }
}

/// Parts a platform is built from (see [`crate::launch`] for the default wiring).
pub struct Parts {
    /// The database.
    pub store: Store,
    /// The vault.
    pub vault: Arc<Vault>,
    /// CA and TSA.
    pub authority: Arc<Authority>,
    /// E-mail channel.
    pub mailer: Arc<dyn Notifier>,
    /// SMS channel (the embedded default is a file outbox: no gateway exists here).
    pub sms: Arc<dyn Notifier>,
    /// The clock: the time of every step, evidence record, certificate and time-stamp
    /// the platform makes (only the vault keeps its own wall clock, see
    /// `service/ceremony.rs`).
    pub clock: Arc<dyn Clock>,
    /// Name in evidence records' `submitter`.
    pub submitter: String,
    /// Base URL of invite links.
    pub public_url: String,
    /// SHA-256 of the operator token.
    pub operator_token_hash: [u8; 32],
    /// The data directory.
    pub data_dir: PathBuf,
    /// Accept plain-http webhook URLs (local use and tests only).
    pub allow_plain_http_webhooks: bool,
    /// The one-year LPR table of the loan note's rate cap.
    pub lpr: Arc<affix_contract::LprTable>,
    /// The ledger's verifier-keys file (the trust anchors of every receipt), given to
    /// relying parties and put into bundles.
    pub verifier_keys: String,
    /// The one-time codes' MAC key, kept outside the database
    /// (`<data_dir>/otp-pepper.key`, see [`crate::launch`]).
    pub otp_pepper: affix_identity::OtpPepper,
    /// The WebAuthn relying party of the public URL (the vault is opened with the same).
    pub webauthn: affix_vault::affix_webauthn::RelyingParty,
}

struct ContractRow {
    contract: Contract,
    event_count: u64,
    created_ms: u64,
    updated_ms: u64,
    /// Template name.
    template: String,
    title: String,
    /// The parties' rows, in position order.
    parties: Arc<[PartyRow]>,
}

#[derive(Clone)]
struct PartyRow {
    party: PartyId,
    person: String,
    salt: [u8; 32],
    /// Signs with the organization's seal (the person is its holder).
    seal: bool,
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

fn vault_tenant(tenant: &str) -> Result<TenantId, Error> {
    Ok(TenantId::new(tenant)?)
}

/// The vault tenant of every signer account. No platform tenant id has this form
/// (those are `t` and 16 hex digits), so no tenant's API key maps to it.
pub const SIGNERS_VAULT_TENANT: &str = "affix-signers";

fn signers_vault_tenant() -> TenantId {
    // Invariant: the constant matches the vault's tenant-id syntax (a unit test checks).
    TenantId::new(SIGNERS_VAULT_TENANT).expect("a valid vault tenant id")
}

fn owner_of(person: &str) -> Result<OwnerId, Error> {
    Ok(OwnerId::parse(person)?)
}

impl Platform {
    /// Assembles a platform from its parts.
    pub fn new(parts: Parts) -> Self {
        Self {
            store: parts.store,
            vault: parts.vault,
            authority: parts.authority,
            mailer: parts.mailer,
            sms: parts.sms,
            clock: parts.clock,
            evidence_wake: Arc::new(tokio::sync::Notify::new()),
            submitter: parts.submitter,
            public_url: parts.public_url,
            operator_token_hash: parts.operator_token_hash,
            data_dir: parts.data_dir,
            stages: crate::stages::Stages::default(),
            webhook_wake: Arc::new(tokio::sync::Notify::new()),
            loan_wake: Arc::new(tokio::sync::Notify::new()),
            allow_plain_http_webhooks: parts.allow_plain_http_webhooks,
            lpr: parts.lpr,
            verifier_keys: parts.verifier_keys,
            otp_pepper: parts.otp_pepper,
            webauthn: parts.webauthn,
            enrol_lock: tokio::sync::Mutex::new(()),
            contracts: cache::ContractCache::default(),
        }
    }

    /// Wakes the loan scheduler (its clock moved, in tests and simulations).
    pub fn wake_loans(&self) {
        self.loan_wake.notify_one();
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The base URL of invite links (the API's public address).
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// The key vault.
    pub fn vault(&self) -> &Arc<Vault> {
        &self.vault
    }

    /// The CA and TSA.
    pub fn authority(&self) -> &Authority {
        &self.authority
    }

    /// Time spent per stage so far (the `bench` feature).
    #[cfg(feature = "bench")]
    pub fn stages(&self) -> &crate::stages::Stages {
        &self.stages
    }

    /// The data directory.
    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    /// The ledger's verifier-keys file: the trust anchors of every receipt.
    pub fn verifier_keys(&self) -> &str {
        &self.verifier_keys
    }

    /// The platform clock's time (see [`Parts::clock`]).
    pub(crate) fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// Records an audit entry inside `tx`: it commits with the action it records.
    async fn audit_in(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        tenant: Option<&str>,
        principal: &Principal,
        action: &str,
        target: &str,
    ) -> Result<(), Error> {
        store::audit::insert(
            &mut **tx,
            tenant,
            &principal.name(),
            action,
            target,
            self.now_ms(),
        )
        .await
    }

    /// Records an audit entry on its own (after the action it records committed).
    pub(crate) async fn audit(
        &self,
        tenant: Option<&str>,
        principal: &Principal,
        action: &str,
        target: &str,
    ) -> Result<(), Error> {
        store::audit::insert(
            self.store.writer(),
            tenant,
            &principal.name(),
            action,
            target,
            self.now_ms(),
        )
        .await
    }

    // ----- authentication -------------------------------------------------------------

    /// Resolves a bearer token: the operator token, a tenant API key (`afk_…`) or a
    /// party's invite token (`afi_…`).
    ///
    /// # Errors
    /// [`Error::Unauthenticated`] for anything else, including revoked keys and
    /// invites of finished or expired contracts.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, Error> {
        let refused = || Error::Unauthenticated("unknown or revoked token".into());
        if let Some(secret) = token.strip_prefix("afo_") {
            if same(&sha256(secret.as_bytes()), &self.operator_token_hash) {
                return Ok(Principal::Operator);
            }
            return Err(refused());
        }
        if let Some(rest) = token.strip_prefix("afk_") {
            let (id, secret) = rest.split_once('.').ok_or_else(refused)?;
            if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(refused());
            }
            let row = store::tenants::live_api_key(self.store.pool(), id)
                .await?
                .ok_or_else(refused)?;
            if !same(&sha256(secret.as_bytes()), &row.secret_hash) {
                return Err(refused());
            }
            return Ok(Principal::Member {
                tenant: row.tenant_id.ok_or_else(refused)?,
                role: Role::parse(&row.role)?,
                key_id: id.to_owned(),
            });
        }
        if let Some(secret) = token.strip_prefix("afi_") {
            let row = store::contracts::invite(self.store.pool(), &sha256(secret.as_bytes()))
                .await?
                .ok_or_else(refused)?;
            if row.invite_expires_ms.is_some_and(|e| e <= self.now_ms()) {
                return Err(Error::Expired("this invite link has expired".into()));
            }
            return Ok(Principal::Party {
                tenant: row.tenant_id,
                contract: ContractId::parse(&row.contract_id)?,
                party: PartyId::parse(&row.party_id)?,
            });
        }
        Err(refused())
    }

    // ----- tenants, keys, people -----------------------------------------------------

    /// Creates a tenant and its first admin API key (operator only).
    ///
    /// # Errors
    /// [`Error::Forbidden`], [`Error::Invalid`].
    pub async fn create_tenant(
        &self,
        who: &Principal,
        name: &str,
    ) -> Result<(String, String), Error> {
        if *who != Principal::Operator {
            return Err(Error::Forbidden("only the operator creates tenants".into()));
        }
        let name = check_name("tenant name", name)?;
        let id = format!("t{}", hex::encode(random_bytes::<8>()?));
        let now = self.now_ms();
        let mut tx = self.store.pool().begin().await?;
        store::tenants::insert(&mut *tx, &id, &name, now).await?;
        let key = insert_api_key(&mut tx, &id, Role::Admin, "initial admin", now).await?;
        tx.commit().await?;
        self.audit(Some(&id), who, "tenant.create", &id).await?;
        Ok((id, key))
    }

    /// Creates an API key of `role` in the caller's tenant (admins only). The key is
    /// returned once; only its hash is stored.
    ///
    /// # Errors
    /// [`Error::Forbidden`], [`Error::Invalid`].
    pub async fn create_api_key(
        &self,
        who: &Principal,
        role: Role,
        label: &str,
    ) -> Result<NewApiKey, Error> {
        let tenant = who.member(&[Role::Admin])?.to_owned();
        let label = check_name("label", label)?;
        let mut tx = self.store.pool().begin().await?;
        let secret = insert_api_key(&mut tx, &tenant, role, &label, self.now_ms()).await?;
        tx.commit().await?;
        let id = secret.get(4..36).unwrap_or_default().to_owned();
        self.audit(
            Some(&tenant),
            who,
            &format!("api_key.create:{}", role.name()),
            &id,
        )
        .await?;
        Ok(NewApiKey { id, secret })
    }

    /// Revokes an API key of the caller's tenant (admins only).
    ///
    /// # Errors
    /// [`Error::Forbidden`], [`Error::NotFound`].
    pub async fn revoke_api_key(&self, who: &Principal, id: &str) -> Result<(), Error> {
        let tenant = who.member(&[Role::Admin])?.to_owned();
        let revoked =
            store::tenants::revoke_api_key(self.store.pool(), id, &tenant, self.now_ms()).await?;
        if !revoked {
            return Err(Error::NotFound(format!("API key {id}")));
        }
        self.audit(Some(&tenant), who, "api_key.revoke", id).await
    }

    /// Registers a person in the caller's tenant (admins and members). The e-mail
    /// address is where one-time codes go; a mobile number and a resident ID number
    /// are checked (GB 11643 check character, birth date) but the ID number is not
    /// kept.
    ///
    /// # Errors
    /// [`Error::Forbidden`], [`Error::Identity`] naming the bad field, [`Error::Invalid`].
    pub async fn create_person(
        &self,
        who: &Principal,
        new: NewPerson,
    ) -> Result<PersonView, Error> {
        let tenant = who.member(&[Role::Admin, Role::Member])?.to_owned();
        let name = check_name("name", &new.name)?;
        let email = EmailAddress::parse(&new.email)?;
        let mobile = new
            .mobile
            .as_deref()
            .map(MobileNumber::parse)
            .transpose()?
            .map(|m| m.expose_e164());
        if let Some(id) = &new.resident_id {
            ResidentId::parse(id, Date::from_unix_ms_china(self.now_ms()))?;
        }
        let id = OwnerId::random()?.to_string();
        let now = self.now_ms();
        store::persons::insert(
            self.store.pool(),
            &id,
            &tenant,
            &name,
            email.expose_address(),
            mobile.as_deref(),
            now,
        )
        .await?;
        self.audit(Some(&tenant), who, "person.create", &id).await?;
        Ok(PersonView {
            id,
            name,
            email: Some(email.expose_address().to_owned()),
            mobile,
            has_certificate: false,
            created_ms: now,
        })
    }

    /// A person of the caller's tenant.
    ///
    /// # Errors
    /// [`Error::Forbidden`] for parties, [`Error::NotFound`].
    pub async fn person(&self, who: &Principal, id: &str) -> Result<PersonView, Error> {
        let tenant = who.member(&[Role::Admin, Role::Member, Role::Regulator])?;
        let row = store::persons::of_tenant(self.store.pool(), id, tenant)
            .await?
            .ok_or_else(|| Error::NotFound(format!("person {id}")))?;
        let regulator = matches!(
            who,
            Principal::Member {
                role: Role::Regulator,
                ..
            }
        );
        Ok(PersonView {
            id: id.to_owned(),
            name: row.name,
            email: if regulator { None } else { Some(row.email) },
            mobile: if regulator { None } else { row.mobile },
            has_certificate: row.certificate.is_some(),
            created_ms: row.created_ms,
        })
    }
}

async fn insert_api_key(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    tenant: &str,
    role: Role,
    label: &str,
    now: u64,
) -> Result<String, Error> {
    let id = hex::encode(random_bytes::<16>()?);
    let secret = hex::encode(random_bytes::<32>()?);
    store::tenants::insert_api_key(
        &mut **tx,
        &id,
        tenant,
        role.name(),
        &sha256(secret.as_bytes()),
        label,
        now,
    )
    .await?;
    Ok(format!("afk_{id}.{secret}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_signers_vault_tenant_is_a_valid_vault_tenant_id_no_platform_tenant_can_have() {
        let t = super::signers_vault_tenant();
        assert_eq!(t.as_str(), super::SIGNERS_VAULT_TENANT);
        // Platform tenant ids are `t` and 16 hex digits.
        assert!(!(t.as_str().len() == 17 && t.as_str().starts_with('t')));
    }
}
