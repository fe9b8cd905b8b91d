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
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use affix_contract::{
    Contract, ContractContent, ContractEvent, ContractId, ContractStatus, Party, PartyId,
    PartyStatus, Sha256Digest, SignatureEvidence, SigningOrder, Template, verify_chain,
};
use affix_identity::{Date, EmailAddress, MobileNumber, OtpChallenge, OtpPolicy, ResidentId};
use affix_notify::{Channel, Clock, Notification, NotificationId, Notifier, Recipient};
use affix_vault::{
    Action, Algorithm, Authorization, Authorizer, CredentialId, CredentialKind, KeyId, OwnerId,
    Statement, TenantId, Vault,
};
use der::{Decode as _, Encode as _};
use sha2::{Digest as _, Sha256};
use sqlx::Row as _;
use x509_cert::Certificate;

use crate::authority::Authority;
use crate::store::{Store, i, u};
use crate::{Error, OsSeeded, random_bytes, system_time, unix_ms};

/// Largest uploaded contract document.
pub const DOCUMENT_BYTES_MAX: usize = 10 * 1024 * 1024;
/// Largest handwritten-signature image (PNG).
pub const SIGNATURE_IMAGE_BYTES_MAX: usize = 256 * 1024;
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
                "invalid-role",
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

pub(crate) fn invalid(kind: &'static str, detail: impl Into<String>) -> Error {
    Error::Invalid {
        kind,
        detail: detail.into(),
    }
}

fn conflict(kind: &'static str, detail: impl Into<String>) -> Error {
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
            "invalid-name",
            format!("{what} must be 1 to {NAME_CHARS_MAX} characters without control characters"),
        ));
    }
    Ok(name.to_owned())
}

/// Constant-time equality of two digests.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
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
#[derive(Debug, Clone, serde::Serialize)]
pub struct PersonView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// E-mail (omitted for regulators).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Mobile number in E.164 (omitted for regulators).
    #[serde(skip_serializing_if = "Option::is_none")]
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
    pub parties: Vec<String>,
    /// Sequential (default) or parallel signing.
    pub parallel: bool,
    /// Days until the contract expires unsigned.
    pub expires_in_days: Option<u64>,
    /// The document (generic contract).
    pub document: Option<Vec<u8>>,
    /// Its file name.
    pub document_name: Option<String>,
}

/// One party as the API shows it.
#[derive(Debug, Clone, serde::Serialize)]
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
}

/// A contract as the API shows it.
#[derive(Debug, Clone, serde::Serialize)]
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
    #[serde(skip_serializing_if = "Option::is_none")]
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

/// An invite link created by `send_contract` (the token is shown once).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Invite {
    /// Party id.
    pub party_id: String,
    /// Person id.
    pub person_id: String,
    /// The bearer token of this party.
    pub token: String,
    /// The link sent to the party.
    pub url: String,
    /// Expiry.
    pub expires_ms: u64,
}

/// A signature prepared for the signer's device.
#[derive(Debug, Clone, serde::Serialize)]
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
#[derive(Debug, Clone, serde::Serialize)]
pub struct ContractPage {
    /// Contracts, newest first.
    pub contracts: Vec<ContractView>,
    /// Cursor of the next page, if any.
    pub next: Option<String>,
}

/// One event with its evidence status.
#[derive(Debug, Clone, serde::Serialize)]
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
            "unknown-template",
            format!("unknown template {other:?}: generic_contract or loan_note"),
        )),
    }
}

fn status_name(status: ContractStatus) -> &'static str {
    match status {
        ContractStatus::Draft => "draft",
        ContractStatus::Sent => "sent",
        ContractStatus::Effective => "effective",
        ContractStatus::Declined => "declined",
        ContractStatus::Revoked => "revoked",
        ContractStatus::Expired => "expired",
        _ => "unknown",
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
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) evidence_wake: Arc<tokio::sync::Notify>,
    pub(crate) submitter: String,
    pub(crate) public_url: String,
    pub(crate) operator_token_hash: [u8; 32],
    pub(crate) data_dir: PathBuf,
    pub(crate) stages: crate::stages::Stages,
    pub(crate) webhook_wake: Arc<tokio::sync::Notify>,
    pub(crate) allow_plain_http_webhooks: bool,
    /// Serializes identity enrolment per process (vault credential + key + certificate).
    enrol_lock: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Platform")
            .field("submitter", &self.submitter)
            .finish_non_exhaustive()
    }
}

/// Parts a platform is built from (see [`crate::http::serve`] for the default wiring).
pub struct Parts {
    /// The database.
    pub store: Store,
    /// The vault.
    pub vault: Arc<Vault>,
    /// CA and TSA.
    pub authority: Arc<Authority>,
    /// E-mail channel.
    pub mailer: Arc<dyn Notifier>,
    /// The clock.
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
}

struct ContractRow {
    contract: Contract,
    event_count: u64,
    created_ms: u64,
    updated_ms: u64,
}

struct PartyRow {
    party: PartyId,
    person: String,
    salt: [u8; 32],
}

/// Wraps the client-signed authorization so the vault's `signature::Signer` handle uses
/// it for exactly the payload it was prepared for.
struct DeviceAuthorization {
    authorization: Authorization,
}

impl Authorizer for DeviceAuthorization {
    fn authorize(&self, statement: Statement) -> Result<Authorization, affix_vault::Error> {
        let ours = &self.authorization.statement;
        if statement.digest != ours.digest
            || statement.key != ours.key
            || statement.payload_kind != ours.payload_kind
            || statement.tenant != ours.tenant
        {
            return Err(affix_vault::Error::Unauthorized(
                "the signed statement is not for this payload".into(),
            ));
        }
        Ok(self.authorization.clone())
    }
}

/// Captures the statement the vault handle would have authorized (to learn the digest
/// of the CMS signed attributes), and refuses it.
struct Capture(Mutex<Option<Statement>>);

impl Authorizer for &Capture {
    fn authorize(&self, statement: Statement) -> Result<Authorization, affix_vault::Error> {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(statement);
        }
        Err(affix_vault::Error::Unauthorized("prepare only".into()))
    }
}

fn system_now_ms() -> u64 {
    unix_ms(SystemTime::now())
}

/// A prepared signature as stored: statement fields and the CMS signing time.
struct Prepared {
    statement: Statement,
    signing_time_ms: u64,
}

impl Prepared {
    fn encode(&self) -> Vec<u8> {
        let s = &self.statement;
        let mut out = Vec::with_capacity(128);
        out.push(1); // version
        out.extend_from_slice(&self.signing_time_ms.to_be_bytes());
        out.extend_from_slice(&s.key.map_or([0; 16], |k| k.0));
        out.extend_from_slice(&s.digest);
        out.extend_from_slice(&s.nonce);
        out.extend_from_slice(&s.expires_ms.to_be_bytes());
        out.extend_from_slice(&s.credential.0);
        out
    }

    fn decode(bytes: &[u8], tenant: &TenantId) -> Result<Self, Error> {
        let bad = || Error::Internal("stored prepared signature does not decode".into());
        if bytes.len() != 1 + 8 + 16 + 32 + 16 + 8 + 16 || bytes[0] != 1 {
            return Err(bad());
        }
        let take = |from: usize, n: usize| &bytes[from..from + n];
        let arr16 = |b: &[u8]| <[u8; 16]>::try_from(b).map_err(|_| bad());
        let arr8 = |b: &[u8]| <[u8; 8]>::try_from(b).map_err(|_| bad());
        let signing_time_ms = u64::from_be_bytes(arr8(take(1, 8))?);
        let key = KeyId(arr16(take(9, 16))?);
        let digest = <[u8; 32]>::try_from(take(25, 32)).map_err(|_| bad())?;
        let nonce = arr16(take(57, 16))?;
        let expires_ms = u64::from_be_bytes(arr8(take(73, 8))?);
        let credential = CredentialId(arr16(take(81, 16))?);
        Ok(Self {
            statement: Statement {
                tenant: tenant.clone(),
                action: Action::Sign,
                key: Some(key),
                payload_kind: 1,
                digest,
                grant: None,
                nonce,
                expires_ms,
                credential,
            },
            signing_time_ms,
        })
    }
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

fn vault_tenant(tenant: &str) -> Result<TenantId, Error> {
    Ok(TenantId::new(tenant)?)
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
            clock: parts.clock,
            evidence_wake: Arc::new(tokio::sync::Notify::new()),
            submitter: parts.submitter,
            public_url: parts.public_url,
            operator_token_hash: parts.operator_token_hash,
            data_dir: parts.data_dir,
            stages: crate::stages::Stages::default(),
            webhook_wake: Arc::new(tokio::sync::Notify::new()),
            allow_plain_http_webhooks: parts.allow_plain_http_webhooks,
            enrol_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The CA and TSA.
    pub fn authority(&self) -> &Authority {
        &self.authority
    }

    /// Time spent per stage so far.
    pub fn stages(&self) -> &crate::stages::Stages {
        &self.stages
    }

    /// The data directory.
    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    pub(crate) fn now_ms_pub(&self) -> u64 {
        self.clock.now_ms()
    }

    pub(crate) async fn audit_pub(
        &self,
        tenant: Option<&str>,
        principal: &Principal,
        action: &str,
        target: &str,
    ) -> Result<(), Error> {
        self.audit(tenant, principal, action, target).await
    }

    async fn audit(
        &self,
        tenant: Option<&str>,
        principal: &Principal,
        action: &str,
        target: &str,
    ) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO audit (tenant_id, principal, action, target, at_ms) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(tenant)
        .bind(principal.name())
        .bind(action)
        .bind(target)
        .bind(i(self.now_ms()))
        .execute(self.store.pool())
        .await?;
        Ok(())
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
            let row = sqlx::query(
                "SELECT tenant_id, role, secret_hash FROM api_keys WHERE id = $1 AND revoked_ms IS NULL",
            )
            .bind(id)
            .fetch_optional(self.store.pool())
            .await?
            .ok_or_else(refused)?;
            let hash: Vec<u8> = row.try_get("secret_hash")?;
            if !same(&sha256(secret.as_bytes()), &hash) {
                return Err(refused());
            }
            let tenant: Option<String> = row.try_get("tenant_id")?;
            let role: String = row.try_get("role")?;
            return Ok(Principal::Member {
                tenant: tenant.ok_or_else(refused)?,
                role: Role::parse(&role)?,
                key_id: id.to_owned(),
            });
        }
        if let Some(secret) = token.strip_prefix("afi_") {
            let row = sqlx::query(
                "SELECT contract_id, party_id, tenant_id, invite_expires_ms FROM contract_parties WHERE invite_hash = $1",
            )
            .bind(sha256(secret.as_bytes()).to_vec())
            .fetch_optional(self.store.pool())
            .await?
            .ok_or_else(refused)?;
            let expires: Option<i64> = row.try_get("invite_expires_ms")?;
            if expires.is_some_and(|e| u(e) <= self.now_ms()) {
                return Err(Error::Expired("this invite link has expired".into()));
            }
            let contract: String = row.try_get("contract_id")?;
            let party: String = row.try_get("party_id")?;
            return Ok(Principal::Party {
                tenant: row.try_get("tenant_id")?,
                contract: ContractId::parse(&contract)?,
                party: PartyId::parse(&party)?,
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
        sqlx::query("INSERT INTO tenants (id, name, created_ms) VALUES ($1, $2, $3)")
            .bind(&id)
            .bind(&name)
            .bind(i(now))
            .execute(&mut *tx)
            .await?;
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
    ) -> Result<String, Error> {
        let tenant = who.member(&[Role::Admin])?.to_owned();
        let label = check_name("label", label)?;
        let mut tx = self.store.pool().begin().await?;
        let key = insert_api_key(&mut tx, &tenant, role, &label, self.now_ms()).await?;
        tx.commit().await?;
        let id = key.get(4..36).unwrap_or_default().to_owned();
        self.audit(
            Some(&tenant),
            who,
            &format!("api_key.create:{}", role.name()),
            &id,
        )
        .await?;
        Ok(key)
    }

    /// Revokes an API key of the caller's tenant (admins only).
    ///
    /// # Errors
    /// [`Error::Forbidden`], [`Error::NotFound`].
    pub async fn revoke_api_key(&self, who: &Principal, id: &str) -> Result<(), Error> {
        let tenant = who.member(&[Role::Admin])?.to_owned();
        let done = sqlx::query(
            "UPDATE api_keys SET revoked_ms = $1 WHERE id = $2 AND tenant_id = $3 AND revoked_ms IS NULL",
        )
        .bind(i(self.now_ms()))
        .bind(id)
        .bind(&tenant)
        .execute(self.store.pool())
        .await?;
        if done.rows_affected() == 0 {
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
        sqlx::query(
            "INSERT INTO persons (id, tenant_id, name, email, mobile, created_ms) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(&tenant)
        .bind(&name)
        .bind(email.expose_address())
        .bind(&mobile)
        .bind(i(now))
        .execute(self.store.pool())
        .await?;
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
        let row = sqlx::query(
            "SELECT name, email, mobile, certificate, created_ms FROM persons WHERE id = $1 AND tenant_id = $2",
        )
        .bind(id)
        .bind(tenant)
        .fetch_optional(self.store.pool())
        .await?
        .ok_or_else(|| Error::NotFound(format!("person {id}")))?;
        let regulator = matches!(
            who,
            Principal::Member {
                role: Role::Regulator,
                ..
            }
        );
        let certificate: Option<Vec<u8>> = row.try_get("certificate")?;
        Ok(PersonView {
            id: id.to_owned(),
            name: row.try_get("name")?,
            email: if regulator {
                None
            } else {
                Some(row.try_get("email")?)
            },
            mobile: if regulator {
                None
            } else {
                row.try_get("mobile")?
            },
            has_certificate: certificate.is_some(),
            created_ms: u(row.try_get("created_ms")?),
        })
    }

    // ----- contracts -------------------------------------------------------------------

    /// Creates a contract in Draft from a template (admins and members).
    ///
    /// # Errors
    /// [`Error::Fields`] listing every bad field; [`Error::Invalid`]; [`Error::NotFound`]
    /// for unknown people; [`Error::TooLarge`] for the document.
    pub async fn create_contract(
        &self,
        who: &Principal,
        new: NewContract,
    ) -> Result<ContractView, Error> {
        let tenant = who.member(&[Role::Admin, Role::Member])?.to_owned();
        let template = template_by_name(&new.template)?;
        let mut fields = new.fields.clone();
        if let Some(document) = &new.document {
            if document.len() > DOCUMENT_BYTES_MAX {
                return Err(Error::TooLarge {
                    what: "document",
                    max: DOCUMENT_BYTES_MAX,
                });
            }
            if new.template != "generic_contract" {
                return Err(invalid(
                    "unexpected-document",
                    "only the generic contract carries an uploaded document",
                ));
            }
            fields.insert("document_sha256".into(), hex::encode(sha256(document)));
        } else if new.template == "generic_contract" {
            return Err(invalid(
                "missing-document",
                "the generic contract needs the document (base64 in `document`)",
            ));
        }
        let document_name = new
            .document_name
            .as_deref()
            .map(|n| check_name("document name", n))
            .transpose()?;
        let now = self.now_ms();
        let validated = template.validate(&fields, Date::from_unix_ms_china(now))?;
        if new.parties.len() < 2 {
            return Err(invalid(
                "too-few-parties",
                "a contract needs an initiator and at least one other party",
            ));
        }
        let mut rng = OsSeeded::new()?;
        let mut parties = Vec::with_capacity(new.parties.len());
        let mut rows = Vec::with_capacity(new.parties.len());
        for (n, person_id) in new.parties.iter().enumerate() {
            let row =
                sqlx::query("SELECT name, email FROM persons WHERE id = $1 AND tenant_id = $2")
                    .bind(person_id)
                    .bind(&tenant)
                    .fetch_optional(self.store.pool())
                    .await?
                    .ok_or_else(|| Error::NotFound(format!("person {person_id}")))?;
            let name: String = row.try_get("name")?;
            let email = EmailAddress::parse(&row.try_get::<String, _>("email")?)?;
            let salt = random_bytes::<32>()?;
            let id = PartyId::random(&mut rng);
            parties.push(Party {
                id,
                role: if n == 0 {
                    affix_contract::Role::Initiator
                } else {
                    affix_contract::Role::Signer
                },
                display_name: name,
                identity: email.commitment(&salt),
            });
            rows.push((id, person_id.clone(), salt));
        }
        let days = new.expires_in_days.unwrap_or(DEFAULT_EXPIRY_DAYS);
        if days == 0 || days > MAX_EXPIRY_DAYS {
            return Err(invalid(
                "invalid-expiry",
                format!("expires_in_days must be 1 to {MAX_EXPIRY_DAYS}"),
            ));
        }
        let id = ContractId::random(&mut rng);
        let content = ContractContent::new(
            id,
            validated,
            parties,
            if new.parallel {
                SigningOrder::Parallel
            } else {
                SigningOrder::Sequential
            },
            now + days * 86_400_000,
        )?;
        let title = content
            .fields()
            .get("title")
            .cloned()
            .unwrap_or_else(|| template.title().to_owned());
        let (contract, event) = Contract::create(content.clone(), now)?;
        let mut tx = self.store.pool().begin().await?;
        sqlx::query(
            "INSERT INTO contracts (id, tenant_id, template_id, title, status, content, document, document_name, event_count, head, created_ms, updated_ms, expires_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10, $10, $11)",
        )
        .bind(id.to_string())
        .bind(&tenant)
        .bind(new.template.as_str())
        .bind(&title)
        .bind(status_name(contract.status()))
        .bind(content.encode())
        .bind(new.document.clone())
        .bind(document_name)
        .bind(contract.head().as_bytes().to_vec())
        .bind(i(now))
        .bind(i(content.expires_ms()))
        .execute(&mut *tx)
        .await?;
        for (position, (party, person, salt)) in rows.iter().enumerate() {
            sqlx::query(
                "INSERT INTO contract_parties (contract_id, party_id, tenant_id, person_id, position, role, salt) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id.to_string())
            .bind(party.to_string())
            .bind(&tenant)
            .bind(person)
            .bind(i(position as u64))
            .bind(if position == 0 { "initiator" } else { "signer" })
            .bind(salt.to_vec())
            .execute(&mut *tx)
            .await?;
        }
        self.append_event(&mut tx, &tenant, id, 0, &contract, &event)
            .await?;
        tx.commit().await?;
        self.evidence_wake.notify_one();
        self.audit(Some(&tenant), who, "contract.create", &id.to_string())
            .await?;
        self.contract_view(who, id).await
    }

    /// Appends `event` (number `seq`) and the new state in `tx`; refuses when another
    /// step got there first.
    async fn append_event(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        tenant: &str,
        id: ContractId,
        seq: u64,
        contract: &Contract,
        event: &ContractEvent,
    ) -> Result<(), Error> {
        let now = event.at_ms();
        let record = event.to_evidence(&self.submitter)?.encode();
        let updated = sqlx::query(
            "UPDATE contracts SET status = $1, event_count = $2, head = $3, updated_ms = $4 WHERE id = $5 AND event_count = $6",
        )
        .bind(status_name(contract.status()))
        .bind(i(seq + 1))
        .bind(contract.head().as_bytes().to_vec())
        .bind(i(now))
        .bind(id.to_string())
        .bind(i(seq))
        .execute(&mut **tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Err(conflict(
                "concurrent-change",
                "the contract changed meanwhile; retry",
            ));
        }
        sqlx::query(
            "INSERT INTO events (contract_id, seq, bytes, record, submitted) VALUES ($1, $2, $3, $4, 0)",
        )
        .bind(id.to_string())
        .bind(i(seq))
        .bind(event.encode())
        .bind(record)
        .execute(&mut **tx)
        .await?;
        let body = serde_json::json!({
            "contract_id": id.to_string(),
            "seq": seq,
            "kind": event.kind().evidence_kind(),
            "status": status_name(contract.status()),
            "party": event.actor().map(|a| a.party.to_string()),
            "at_ms": event.at_ms(),
            "event_hash": event.hash().to_string(),
        })
        .to_string();
        self.queue_webhooks(tx, tenant, event.kind().evidence_kind(), &body, now)
            .await?;
        self.webhook_wake.notify_one();
        Ok(())
    }

    /// Loads a contract of `tenant` and replays its chain against the stored head.
    async fn load(&self, tenant: &str, id: ContractId) -> Result<ContractRow, Error> {
        let row = sqlx::query(
            "SELECT tenant_id, content, head, event_count, created_ms, updated_ms FROM contracts WHERE id = $1 AND tenant_id = $2",
        )
        .bind(id.to_string())
        .bind(tenant)
        .fetch_optional(self.store.pool())
        .await?
        .ok_or_else(|| Error::NotFound(format!("contract {id}")))?;
        let content = ContractContent::decode(&row.try_get::<Vec<u8>, _>("content")?)
            .map_err(|e| Error::Internal(format!("stored content of {id}: {e}")))?;
        let head: Vec<u8> = row.try_get("head")?;
        let head = Sha256Digest::from_bytes(
            head.try_into()
                .map_err(|_| Error::Internal(format!("stored head of {id}")))?,
        );
        let events = self.events_of(id).await?;
        let decoded = events
            .iter()
            .map(|(bytes, ..)| ContractEvent::decode(bytes))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::Internal(format!("stored events of {id}: {e}")))?;
        let chain = verify_chain(&content, &decoded, &head)
            .map_err(|e| Error::Internal(format!("stored chain of {id} does not verify: {e}")))?;
        Ok(ContractRow {
            contract: chain.contract().clone(),
            event_count: u(row.try_get("event_count")?),
            created_ms: u(row.try_get("created_ms")?),
            updated_ms: u(row.try_get("updated_ms")?),
        })
    }

    /// (event bytes, record bytes, leaf hash, receipt) in order.
    #[allow(clippy::type_complexity)]
    async fn events_of(
        &self,
        id: ContractId,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>, Option<Vec<u8>>, Option<String>)>, Error> {
        let rows = sqlx::query(
            "SELECT bytes, record, leaf_hash, receipt FROM events WHERE contract_id = $1 ORDER BY seq",
        )
        .bind(id.to_string())
        .fetch_all(self.store.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("bytes")?,
                    r.try_get("record")?,
                    r.try_get("leaf_hash")?,
                    r.try_get("receipt")?,
                ))
            })
            .collect()
    }

    async fn parties_of(&self, id: ContractId) -> Result<Vec<PartyRow>, Error> {
        let rows = sqlx::query(
            "SELECT party_id, person_id, salt FROM contract_parties WHERE contract_id = $1 ORDER BY position",
        )
        .bind(id.to_string())
        .fetch_all(self.store.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let party: String = r.try_get("party_id")?;
                let salt: Vec<u8> = r.try_get("salt")?;
                Ok(PartyRow {
                    party: PartyId::parse(&party)?,
                    person: r.try_get("person_id")?,
                    salt: salt
                        .try_into()
                        .map_err(|_| Error::Internal("stored party salt".into()))?,
                })
            })
            .collect()
    }

    fn tenant_reader<'p>(&self, who: &'p Principal) -> Result<&'p str, Error> {
        who.member(&[Role::Admin, Role::Member, Role::Regulator])
    }

    /// A contract of the caller's tenant, or the caller's own contract for a party.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Forbidden`].
    pub async fn contract_view(
        &self,
        who: &Principal,
        id: ContractId,
    ) -> Result<ContractView, Error> {
        let tenant = match who {
            Principal::Party {
                tenant, contract, ..
            } if *contract == id => tenant.as_str(),
            Principal::Party { .. } => return Err(Error::NotFound(format!("contract {id}"))),
            _ => self.tenant_reader(who)?,
        };
        let row = self.load(tenant, id).await?;
        let template: String =
            sqlx::query_scalar("SELECT template_id FROM contracts WHERE id = $1")
                .bind(id.to_string())
                .fetch_one(self.store.pool())
                .await?;
        let title: String = sqlx::query_scalar("SELECT title FROM contracts WHERE id = $1")
            .bind(id.to_string())
            .fetch_one(self.store.pool())
            .await?;
        let regulator = matches!(
            who,
            Principal::Member {
                role: Role::Regulator,
                ..
            }
        );
        let people = self.parties_of(id).await?;
        let content = row.contract.content();
        let parties = content
            .parties()
            .iter()
            .map(|p| PartyView {
                id: p.id.to_string(),
                person_id: people
                    .iter()
                    .find(|r| r.party == p.id)
                    .map(|r| r.person.clone())
                    .unwrap_or_default(),
                name: p.display_name.clone(),
                role: p.role.name().to_owned(),
                status: row
                    .contract
                    .party_status(p.id)
                    .map_or("unknown", party_status_name)
                    .to_owned(),
            })
            .collect();
        Ok(ContractView {
            id: id.to_string(),
            template,
            title,
            status: status_name(row.contract.status()).to_owned(),
            content_digest: row.contract.content_digest().to_string(),
            fields: if regulator {
                None
            } else {
                Some(content.fields().clone())
            },
            signing_order: match content.signing_order() {
                SigningOrder::Parallel => "parallel",
                _ => "sequential",
            }
            .to_owned(),
            parties,
            events: row.event_count,
            created_ms: row.created_ms,
            updated_ms: row.updated_ms,
            expires_ms: content.expires_ms(),
        })
    }

    /// Lists contracts of the caller's tenant, newest first, filtered and paged.
    ///
    /// # Errors
    /// [`Error::Forbidden`], [`Error::Invalid`] for a bad filter.
    pub async fn list_contracts(
        &self,
        who: &Principal,
        filter: &ContractFilter,
    ) -> Result<ContractPage, Error> {
        let tenant = self.tenant_reader(who)?.to_owned();
        let limit = filter.limit.unwrap_or(50);
        if limit == 0 || limit > PAGE_MAX {
            return Err(invalid(
                "invalid-limit",
                format!("limit must be 1 to {PAGE_MAX}"),
            ));
        }
        let (before_ms, before_id) = match &filter.cursor {
            None => (i64::MAX, String::from("~")),
            Some(c) => {
                let (ms, id) = c
                    .split_once('.')
                    .and_then(|(ms, id)| Some((ms.parse::<i64>().ok()?, id)))
                    .ok_or_else(|| invalid("invalid-cursor", "the cursor is not one we issued"))?;
                ContractId::parse(id).map_err(|_| invalid("invalid-cursor", "bad cursor id"))?;
                (ms, id.to_owned())
            }
        };
        if let Some(s) = &filter.status
            && ![
                "draft",
                "sent",
                "effective",
                "declined",
                "revoked",
                "expired",
            ]
            .contains(&s.as_str())
        {
            return Err(invalid("invalid-status", format!("unknown status {s:?}")));
        }
        if let Some(t) = &filter.template {
            template_by_name(t)?;
        }
        let mut sql = String::from(
            "SELECT c.id, c.created_ms FROM contracts c WHERE c.tenant_id = $1 AND (c.created_ms < $2 OR (c.created_ms = $2 AND c.id < $3))",
        );
        let mut n = 3;
        let mut binds: Vec<String> = Vec::new();
        let mut int_binds: Vec<(usize, i64)> = Vec::new();
        if let Some(s) = &filter.status {
            n += 1;
            sql.push_str(&format!(" AND c.status = ${n}"));
            binds.push(s.clone());
        }
        if let Some(t) = &filter.template {
            n += 1;
            sql.push_str(&format!(" AND c.template_id = ${n}"));
            binds.push(t.clone());
        }
        if let Some(p) = &filter.person {
            n += 1;
            sql.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM contract_parties p WHERE p.contract_id = c.id AND p.person_id = ${n})"
            ));
            binds.push(p.clone());
        }
        let text_binds = binds.len();
        if let Some(f) = filter.created_from {
            n += 1;
            sql.push_str(&format!(" AND c.created_ms >= ${n}"));
            int_binds.push((n, i(f)));
        }
        if let Some(t) = filter.created_to {
            n += 1;
            sql.push_str(&format!(" AND c.created_ms < ${n}"));
            int_binds.push((n, i(t)));
        }
        n += 1;
        sql.push_str(&format!(
            " ORDER BY c.created_ms DESC, c.id DESC LIMIT ${n}"
        ));
        let mut q = sqlx::query(&sql)
            .bind(&tenant)
            .bind(before_ms)
            .bind(before_id);
        for b in binds.iter().take(text_binds) {
            q = q.bind(b.clone());
        }
        for (_, v) in &int_binds {
            q = q.bind(*v);
        }
        q = q.bind(i64::from(limit) + 1);
        let rows = q.fetch_all(self.store.pool()).await?;
        let mut contracts = Vec::new();
        let mut next = None;
        for (k, row) in rows.iter().enumerate() {
            let id: String = row.try_get("id")?;
            let created: i64 = row.try_get("created_ms")?;
            if k == limit as usize {
                break;
            }
            if k + 1 == limit as usize && rows.len() > limit as usize {
                next = Some(format!("{created}.{id}"));
            }
            contracts.push(self.contract_view(who, ContractId::parse(&id)?).await?);
        }
        Ok(ContractPage { contracts, next })
    }

    /// A contract's events with their evidence records and receipts.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Forbidden`].
    pub async fn events(&self, who: &Principal, id: ContractId) -> Result<Vec<EventView>, Error> {
        self.contract_view(who, id).await?;
        let mut out = Vec::new();
        for (seq, (bytes, record, leaf, receipt)) in
            self.events_of(id).await?.into_iter().enumerate()
        {
            let event = ContractEvent::decode(&bytes)
                .map_err(|e| Error::Internal(format!("stored event: {e}")))?;
            out.push(EventView {
                seq: seq as u64,
                kind: event.kind().evidence_kind().to_owned(),
                at_ms: event.at_ms(),
                party: event.actor().map(|a| a.party.to_string()),
                hash: event.hash().to_string(),
                event: base64::Engine::encode(&b64(), &bytes),
                record: base64::Engine::encode(&b64(), &record),
                leaf_hash: leaf.map(hex::encode),
                receipt,
            });
        }
        Ok(out)
    }

    /// Sends a Draft contract to its parties (admins and members): one invite link per
    /// party, e-mailed, and returned here once.
    ///
    /// # Errors
    /// [`Error::Conflict`] unless Draft; [`Error::NotFound`]; [`Error::Forbidden`].
    pub async fn send_contract(
        &self,
        who: &Principal,
        id: ContractId,
    ) -> Result<Vec<Invite>, Error> {
        let tenant = who.member(&[Role::Admin, Role::Member])?.to_owned();
        let row = self.load(&tenant, id).await?;
        let now = self.now_ms();
        let initiator = row.contract.content().initiator().id;
        let (next, event) = row.contract.send(initiator, now)?;
        let expires = row.contract.content().expires_ms();
        let mut invites = Vec::new();
        let mut tx = self.store.pool().begin().await?;
        for party in self.parties_of(id).await? {
            let secret = hex::encode(random_bytes::<32>()?);
            sqlx::query(
                "UPDATE contract_parties SET invite_hash = $1, invite_expires_ms = $2 WHERE contract_id = $3 AND party_id = $4",
            )
            .bind(sha256(secret.as_bytes()).to_vec())
            .bind(i(expires))
            .bind(id.to_string())
            .bind(party.party.to_string())
            .execute(&mut *tx)
            .await?;
            let token = format!("afi_{secret}");
            invites.push(Invite {
                party_id: party.party.to_string(),
                person_id: party.person.clone(),
                url: format!("{}/sign#{token}", self.public_url),
                token,
                expires_ms: expires,
            });
        }
        self.append_event(&mut tx, &tenant, id, row.event_count, &next, &event)
            .await?;
        tx.commit().await?;
        self.evidence_wake.notify_one();
        let title = self.contract_view(who, id).await?.title;
        for invite in &invites {
            let email: String = sqlx::query_scalar("SELECT email FROM persons WHERE id = $1")
                .bind(&invite.person_id)
                .fetch_one(self.store.pool())
                .await?;
            self.mail(
                &email,
                "contract.invite",
                &format!("Please sign: {title}"),
                &format!(
                    "You are invited to sign \"{title}\".\n\nOpen {}\n\nThe link expires at {} (Unix ms). \
                     You will confirm your identity with a one-time code sent to this address.",
                    invite.url, invite.expires_ms
                ),
            )
            .await?;
        }
        self.audit(Some(&tenant), who, "contract.send", &id.to_string())
            .await?;
        Ok(invites)
    }

    /// Revokes a contract before it takes effect (admins and members, on behalf of the
    /// initiator).
    ///
    /// # Errors
    /// [`Error::Contract`] when final; [`Error::NotFound`]; [`Error::Forbidden`].
    pub async fn revoke_contract(
        &self,
        who: &Principal,
        id: ContractId,
    ) -> Result<ContractView, Error> {
        let tenant = who.member(&[Role::Admin, Role::Member])?.to_owned();
        let row = self.load(&tenant, id).await?;
        let now = self.now_ms();
        let (next, event) = row
            .contract
            .revoke(row.contract.content().initiator().id, now)?;
        let mut tx = self.store.pool().begin().await?;
        self.append_event(&mut tx, &tenant, id, row.event_count, &next, &event)
            .await?;
        sqlx::query("UPDATE contract_parties SET invite_expires_ms = $1 WHERE contract_id = $2")
            .bind(i(now))
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.evidence_wake.notify_one();
        self.audit(Some(&tenant), who, "contract.revoke", &id.to_string())
            .await?;
        self.contract_view(who, id).await
    }

    async fn mail(&self, to: &str, event: &str, subject: &str, body: &str) -> Result<(), Error> {
        let notification = Notification::new(
            NotificationId::random().map_err(|e| Error::Notify(e.to_string()))?,
            Recipient::Email(
                affix_notify::EmailAddress::parse(to).map_err(|e| Error::Notify(e.to_string()))?,
            ),
            affix_notify::EventType::parse(event).map_err(|e| Error::Notify(e.to_string()))?,
            subject,
            body,
            self.now_ms(),
        )
        .map_err(|e| Error::Notify(e.to_string()))?;
        debug_assert_eq!(notification.channel(), Channel::Email);
        let record = self.mailer.send(&notification, 1).await;
        match &record.outcome {
            affix_notify::Outcome::Failed { reason, .. } => Err(Error::Notify(format!(
                "e-mail to the party failed: {reason}"
            ))),
            _ => Ok(()),
        }
    }

    // ----- the signing ceremony (party side) -------------------------------------------

    async fn party_context(
        &self,
        who: &Principal,
    ) -> Result<(String, ContractId, PartyId, ContractRow, PartyRow), Error> {
        let (tenant, id, party) = who.party()?;
        let row = self.load(tenant, id).await?;
        let me = self
            .parties_of(id)
            .await?
            .into_iter()
            .find(|p| p.party == party)
            .ok_or_else(|| Error::NotFound("party".into()))?;
        Ok((tenant.to_owned(), id, party, row, me))
    }

    /// The contract as the invited party sees it, with the document.
    ///
    /// # Errors
    /// [`Error::Forbidden`] unless a party.
    pub async fn invite_view(
        &self,
        who: &Principal,
    ) -> Result<(ContractView, String, Option<Vec<u8>>), Error> {
        let (_, id, party, ..) = self.party_context(who).await?;
        let view = self.contract_view(who, id).await?;
        let document: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT document FROM contracts WHERE id = $1")
                .bind(id.to_string())
                .fetch_one(self.store.pool())
                .await?;
        Ok((view, party.to_string(), document))
    }

    /// Sends a one-time code to the party's e-mail address.
    ///
    /// # Errors
    /// [`Error::RateLimited`] within [`OTP_RESEND_MS`] of the last code; contract
    /// refusals (not sent, final).
    pub async fn start_email_check(&self, who: &Principal) -> Result<u64, Error> {
        let (_, id, party, row, me) = self.party_context(who).await?;
        match row.contract.party_status(party) {
            Some(PartyStatus::Invited) => {}
            Some(other) => {
                return Err(conflict(
                    "wrong-step",
                    format!(
                        "identity checks are for invited parties; this party is {}",
                        party_status_name(other)
                    ),
                ));
            }
            None => return Err(Error::NotFound("party".into())),
        }
        let now = self.now_ms();
        let stored: Option<Vec<u8>> = sqlx::query_scalar(
            "SELECT otp FROM party_state WHERE contract_id = $1 AND party_id = $2",
        )
        .bind(id.to_string())
        .bind(party.to_string())
        .fetch_optional(self.store.pool())
        .await?
        .flatten();
        if let Some(bytes) = stored
            && let Ok(old) = OtpChallenge::decode(&bytes)
            && now < old.issued_at_ms() + OTP_RESEND_MS
        {
            return Err(Error::RateLimited {
                retry_after_s: (old.issued_at_ms() + OTP_RESEND_MS - now).div_ceil(1000),
            });
        }
        let email: String = sqlx::query_scalar("SELECT email FROM persons WHERE id = $1")
            .bind(&me.person)
            .fetch_one(self.store.pool())
            .await?;
        let address = EmailAddress::parse(&email)?;
        let policy = OtpPolicy::new(6, 10 * 60 * 1000, 5)?;
        let (challenge, code) =
            OtpChallenge::issue(&address, &me.salt, policy, now, &mut OsSeeded::new()?)?;
        upsert_party_state(
            self.store.pool(),
            id,
            party,
            "otp",
            Some(challenge.encode()),
        )
        .await?;
        self.mail(
            &email,
            "identity.code",
            "Your Affix signing code",
            &format!(
                "Your one-time code is {}\n\nIt is valid for 10 minutes. Nobody from the platform will ask you for it.",
                code.expose_code()
            ),
        )
        .await?;
        Ok(challenge.expires_at_ms())
    }

    /// Checks the party's one-time code and enrols the party's signing device: on a
    /// person's first check the vault registers `device_public_key` (Ed25519) as the
    /// person's credential, creates the person's P-256 signing key and the CA certifies
    /// it. Records the identity-verified event (the result digest only).
    ///
    /// # Errors
    /// [`Error::Identity`] for a wrong, expired or spent code; [`Error::Conflict`] if the
    /// person already enrolled another device.
    pub async fn finish_email_check(
        &self,
        who: &Principal,
        code: &str,
        device_public_key: Option<[u8; 32]>,
    ) -> Result<ContractView, Error> {
        let (tenant, id, party, row, me) = self.party_context(who).await?;
        let now = self.now_ms();
        let stored: Vec<u8> = sqlx::query_scalar(
            "SELECT otp FROM party_state WHERE contract_id = $1 AND party_id = $2",
        )
        .bind(id.to_string())
        .bind(party.to_string())
        .fetch_optional(self.store.pool())
        .await?
        .flatten()
        .ok_or_else(|| {
            conflict(
                "no-code",
                "request a code first (POST /v1/invite/identity/email)",
            )
        })?;
        let mut challenge = OtpChallenge::decode(&stored)
            .map_err(|e| Error::Internal(format!("stored challenge: {e}")))?;
        let verified = challenge.verify(code, now);
        // Attempts count even when the code is wrong: store the challenge either way.
        upsert_party_state(
            self.store.pool(),
            id,
            party,
            "otp",
            Some(challenge.encode()),
        )
        .await?;
        let identity = verified?;
        let (next, event) = row.contract.verify_identity(party, &identity, now)?;
        self.enrol(&tenant, &me.person, device_public_key).await?;
        let mut tx = self.store.pool().begin().await?;
        self.append_event(&mut tx, &tenant, id, row.event_count, &next, &event)
            .await?;
        tx.commit().await?;
        self.evidence_wake.notify_one();
        self.contract_view(who, id).await
    }

    /// Registers the person's device credential, signing key and certificate on first
    /// need (one at a time per process).
    async fn enrol(
        &self,
        tenant: &str,
        person: &str,
        device_public_key: Option<[u8; 32]>,
    ) -> Result<(), Error> {
        let _guard = self.enrol_lock.lock().await;
        let row = sqlx::query(
            "SELECT name, credential_id, credential_public_key, vault_key FROM persons WHERE id = $1",
        )
        .bind(person)
        .fetch_one(self.store.pool())
        .await?;
        let name: String = row.try_get("name")?;
        let existing: Option<Vec<u8>> = row.try_get("credential_public_key")?;
        let vault_key: Option<String> = row.try_get("vault_key")?;
        let vt = vault_tenant(tenant)?;
        let owner = owner_of(person)?;
        match (existing, device_public_key) {
            (Some(known), Some(given)) if known != given => {
                return Err(conflict(
                    "device-mismatch",
                    "this person already enrolled another signing device; use it, or recover access",
                ));
            }
            (Some(_), _) => {}
            (None, None) => {
                return Err(invalid(
                    "missing-device-key",
                    "first identity check: send `device_public_key` (Ed25519, base64) of the signing device",
                ));
            }
            (None, Some(given)) => {
                let vault = self.vault.clone();
                let vt2 = vt.clone();
                let now = self.now_ms();
                let credential = tokio::task::spawn_blocking(move || {
                    vault.register_credential(
                        &vt2,
                        owner,
                        CredentialKind::Ed25519,
                        &given,
                        None,
                        now,
                    )
                })
                .await
                .map_err(|e| Error::Internal(e.to_string()))??;
                sqlx::query(
                    "UPDATE persons SET credential_id = $1, credential_public_key = $2 WHERE id = $3",
                )
                .bind(credential.to_string())
                .bind(given.to_vec())
                .bind(person)
                .execute(self.store.pool())
                .await?;
            }
        }
        if vault_key.is_none() {
            let vault = self.vault.clone();
            let now = self.now_ms();
            let vt2 = vt.clone();
            let key = tokio::task::spawn_blocking(move || {
                vault.create_key(&vt2, owner, Algorithm::EcdsaP256, now)
            })
            .await
            .map_err(|e| Error::Internal(e.to_string()))??;
            let cert = self
                .authority
                .issue_person(&name, &key.public_key, SystemTime::now())?;
            sqlx::query("UPDATE persons SET vault_key = $1, certificate = $2 WHERE id = $3")
                .bind(key.id.to_string())
                .bind(cert.to_der().map_err(|e| Error::Pki(e.to_string()))?)
                .bind(person)
                .execute(self.store.pool())
                .await?;
        }
        Ok(())
    }

    /// Records that the party was shown the content with `content_digest`.
    ///
    /// # Errors
    /// Contract refusals (wrong step, wrong digest).
    pub async fn view(&self, who: &Principal, content_digest: &str) -> Result<ContractView, Error> {
        self.party_step(who, content_digest, |c, p, d, now| c.view(p, d, now))
            .await
    }

    /// Records the party's consent to sign electronically.
    ///
    /// # Errors
    /// Contract refusals.
    pub async fn consent(
        &self,
        who: &Principal,
        content_digest: &str,
    ) -> Result<ContractView, Error> {
        self.party_step(who, content_digest, |c, p, d, now| c.consent(p, d, now))
            .await
    }

    /// The party declines.
    ///
    /// # Errors
    /// Contract refusals.
    pub async fn decline(&self, who: &Principal) -> Result<ContractView, Error> {
        let (tenant, id, party, row, _) = self.party_context(who).await?;
        let now = self.now_ms();
        let (next, event) = row.contract.decline(party, now)?;
        let mut tx = self.store.pool().begin().await?;
        self.append_event(&mut tx, &tenant, id, row.event_count, &next, &event)
            .await?;
        tx.commit().await?;
        self.evidence_wake.notify_one();
        self.contract_view(who, id).await
    }

    async fn party_step(
        &self,
        who: &Principal,
        content_digest: &str,
        step: impl FnOnce(
            &Contract,
            PartyId,
            Sha256Digest,
            u64,
        ) -> Result<(Contract, ContractEvent), affix_contract::Error>,
    ) -> Result<ContractView, Error> {
        let digest = Sha256Digest::parse_hex(content_digest)
            .map_err(|_| invalid("invalid-digest", "content_digest must be 64 hex digits"))?;
        let (tenant, id, party, row, _) = self.party_context(who).await?;
        let now = self.now_ms();
        let (next, event) = step(&row.contract, party, digest, now)?;
        let mut tx = self.store.pool().begin().await?;
        self.append_event(&mut tx, &tenant, id, row.event_count, &next, &event)
            .await?;
        tx.commit().await?;
        self.evidence_wake.notify_one();
        self.contract_view(who, id).await
    }

    /// Stores the party's handwritten signature image (a PNG of at most
    /// [`SIGNATURE_IMAGE_BYTES_MAX`] bytes); its digest goes into the signed event.
    ///
    /// # Errors
    /// [`Error::TooLarge`], [`Error::Invalid`] for a non-PNG.
    pub async fn put_signature_image(
        &self,
        who: &Principal,
        png: Vec<u8>,
    ) -> Result<String, Error> {
        if png.len() > SIGNATURE_IMAGE_BYTES_MAX {
            return Err(Error::TooLarge {
                what: "signature image",
                max: SIGNATURE_IMAGE_BYTES_MAX,
            });
        }
        check_png(&png)?;
        let (_, id, party, row, _) = self.party_context(who).await?;
        if row.contract.status().is_final() {
            return Err(conflict("contract-final", "the contract is no longer open"));
        }
        let digest = hex::encode(sha256(&png));
        upsert_party_state(self.store.pool(), id, party, "image", Some(png)).await?;
        Ok(digest)
    }

    /// Prepares the party's signature: checks the state machine would accept it now,
    /// builds the CMS signed attributes over the canonical content with the party's
    /// certificate, and returns the vault authorization statement the party's device
    /// must sign.
    ///
    /// # Errors
    /// Contract refusals (not consented, not your turn); [`Error::Conflict`] without a
    /// signature image.
    pub async fn prepare_signature(&self, who: &Principal) -> Result<PreparedSignature, Error> {
        let (tenant, id, party, row, me) = self.party_context(who).await?;
        let now = self.now_ms();
        let digest = row.contract.content_digest();
        // Dry run of the transition with placeholder digests: refuses early exactly as
        // the real step would (turn, status, expiry).
        let placeholder = Sha256Digest::from_bytes([0; 32]);
        row.contract.sign(
            party,
            digest,
            SignatureEvidence {
                signature_image: placeholder,
                cms_signature: placeholder,
                signer_certificate: placeholder,
                timestamp_token: placeholder,
            },
            now,
        )?;
        let image: Option<Vec<u8>> = sqlx::query_scalar(
            "SELECT image FROM party_state WHERE contract_id = $1 AND party_id = $2",
        )
        .bind(id.to_string())
        .bind(party.to_string())
        .fetch_optional(self.store.pool())
        .await?
        .flatten();
        if image.is_none() {
            return Err(conflict(
                "no-signature-image",
                "upload the handwritten signature first (PUT /v1/invite/signature-image)",
            ));
        }
        let (key, credential, cert) = self.signer_of(&me.person).await?;
        let vt = vault_tenant(&tenant)?;
        let content = row.contract.content().encode();
        // Whole seconds: the CMS signing-time attribute has second precision.
        let signing_time_ms = now / 1000 * 1000;
        let capture = Capture(Mutex::new(None));
        {
            let signer = self
                .vault
                .p256_signer(&vt, key, None, &capture, system_now_ms)?;
            let _ = affix_cms::sign_detached::<_, p256::ecdsa::DerSignature>(
                &content,
                &signer,
                &cert,
                &[self.authority.issuing().clone()],
                system_time(signing_time_ms),
            );
        }
        let captured = capture
            .0
            .lock()
            .map_err(|_| Error::Internal("capture lock".into()))?
            .take()
            .ok_or_else(|| Error::Internal("CMS builder did not ask for a signature".into()))?;
        let statement = Statement {
            tenant: vt.clone(),
            action: Action::Sign,
            key: Some(key),
            payload_kind: captured.payload_kind,
            digest: captured.digest,
            grant: None,
            nonce: affix_vault::fresh_nonce()?,
            expires_ms: now + PREPARED_LIFETIME_MS,
            credential,
        };
        let prepared = Prepared {
            statement: statement.clone(),
            signing_time_ms,
        };
        upsert_party_state(
            self.store.pool(),
            id,
            party,
            "prepared",
            Some(prepared.encode()),
        )
        .await?;
        Ok(PreparedSignature {
            statement: base64::Engine::encode(&b64(), statement.to_bytes()),
            payload_digest: hex::encode(statement.digest),
            key_id: key.to_string(),
            credential_id: credential.to_string(),
            expires_ms: statement.expires_ms,
            content_digest: digest.to_string(),
        })
    }

    async fn signer_of(&self, person: &str) -> Result<(KeyId, CredentialId, Certificate), Error> {
        let row =
            sqlx::query("SELECT vault_key, credential_id, certificate FROM persons WHERE id = $1")
                .bind(person)
                .fetch_one(self.store.pool())
                .await?;
        let key: Option<String> = row.try_get("vault_key")?;
        let credential: Option<String> = row.try_get("credential_id")?;
        let cert: Option<Vec<u8>> = row.try_get("certificate")?;
        match (key, credential, cert) {
            (Some(k), Some(c), Some(cert)) => Ok((
                KeyId::parse(&k)?,
                CredentialId::parse(&c)?,
                Certificate::from_der(&cert)
                    .map_err(|e| Error::Internal(format!("stored certificate: {e}")))?,
            )),
            _ => Err(conflict(
                "not-enrolled",
                "the signer has no signing key yet: verify identity first",
            )),
        }
    }

    /// Signs: the party's device signature over the prepared statement authorizes the
    /// vault to sign the CMS signed attributes; the CMS signature gets an RFC 3161
    /// time-stamp; the signed event records the digests of image, CMS signature,
    /// certificate and token. The last signature makes the contract effective.
    ///
    /// A crash before the database commit leaves the party unsigned (the vault's usage
    /// record shows the attempt); preparing and signing again completes.
    ///
    /// # Errors
    /// [`Error::Conflict`] without a prepared signature; [`Error::Expired`];
    /// [`Error::Vault`] when the device signature does not verify.
    pub async fn sign(
        &self,
        who: &Principal,
        device_signature: &[u8],
    ) -> Result<ContractView, Error> {
        let (tenant, id, party, row, me) = self.party_context(who).await?;
        let vt = vault_tenant(&tenant)?;
        let state = sqlx::query(
            "SELECT prepared, image FROM party_state WHERE contract_id = $1 AND party_id = $2",
        )
        .bind(id.to_string())
        .bind(party.to_string())
        .fetch_optional(self.store.pool())
        .await?
        .ok_or_else(|| conflict("not-prepared", "prepare the signature first"))?;
        let prepared: Option<Vec<u8>> = state.try_get("prepared")?;
        let image: Option<Vec<u8>> = state.try_get("image")?;
        let prepared = Prepared::decode(
            &prepared.ok_or_else(|| conflict("not-prepared", "prepare the signature first"))?,
            &vt,
        )?;
        let image = image
            .ok_or_else(|| conflict("no-signature-image", "upload the signature image first"))?;
        let now = self.now_ms();
        if prepared.statement.expires_ms <= now {
            return Err(Error::Expired(
                "the prepared signature expired; prepare again".into(),
            ));
        }
        if device_signature.len() != 64 {
            return Err(invalid(
                "invalid-signature",
                "the device signature is 64 bytes (Ed25519)",
            ));
        }
        let (key, _, cert) = self.signer_of(&me.person).await?;
        let authorization = DeviceAuthorization {
            authorization: Authorization {
                statement: prepared.statement.clone(),
                signature: device_signature.to_vec(),
            },
        };
        let content = row.contract.content().encode();
        let vault = self.vault.clone();
        let issuing = self.authority.issuing().clone();
        let cert2 = cert.clone();
        let vt2 = vt.clone();
        let signing_time = system_time(prepared.signing_time_ms);
        let started = std::time::Instant::now();
        let cms = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, Error> {
            let signer = vault.p256_signer(&vt2, key, None, authorization, system_now_ms)?;
            affix_cms::sign_detached::<_, p256::ecdsa::DerSignature>(
                &content,
                &signer,
                &cert2,
                &[issuing],
                signing_time,
            )
            .map_err(|e| match e {
                affix_cms::Error::SigningFailed(inner) => Error::Vault(
                    affix_vault::Error::Unauthorized(format!("the vault refused: {inner}")),
                ),
                other => Error::Pki(other.to_string()),
            })
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
        let parsed =
            affix_cms::DetachedSignature::from_der(&cms).map_err(|e| Error::Pki(e.to_string()))?;
        self.stages.record(crate::stages::Stage::VaultCms, started);
        let started = std::time::Instant::now();
        let token = self
            .authority
            .timestamp(parsed.signature_value(), SystemTime::now())?;
        self.stages.record(crate::stages::Stage::Tsa, started);
        let cms = affix_cms::add_timestamp(&cms, &token).map_err(|e| Error::Pki(e.to_string()))?;
        let cert_der = cert.to_der().map_err(|e| Error::Pki(e.to_string()))?;
        let evidence = SignatureEvidence {
            signature_image: Sha256Digest::from_bytes(sha256(&image)),
            cms_signature: Sha256Digest::from_bytes(sha256(&cms)),
            signer_certificate: Sha256Digest::from_bytes(sha256(&cert_der)),
            timestamp_token: Sha256Digest::from_bytes(sha256(&token)),
        };
        let now = self.now_ms();
        let (next, event) =
            row.contract
                .sign(party, row.contract.content_digest(), evidence, now)?;
        let started = std::time::Instant::now();
        let mut tx = self.store.pool().begin().await?;
        self.append_event(&mut tx, &tenant, id, row.event_count, &next, &event)
            .await?;
        sqlx::query(
            "INSERT INTO signatures (contract_id, party_id, cms, certificate, timestamp_token, image, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id.to_string())
        .bind(party.to_string())
        .bind(cms)
        .bind(cert_der)
        .bind(token)
        .bind(image)
        .bind(i(now))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE party_state SET prepared = NULL WHERE contract_id = $1 AND party_id = $2",
        )
        .bind(id.to_string())
        .bind(party.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.stages.record(crate::stages::Stage::Database, started);
        self.evidence_wake.notify_one();
        self.contract_view(who, id).await
    }

    /// The signatures of a contract: (party id, CMS DER, certificate DER, token DER,
    /// image PNG).
    #[allow(clippy::type_complexity)]
    pub(crate) async fn signatures_of(
        &self,
        id: ContractId,
    ) -> Result<Vec<(String, Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>)>, Error> {
        let rows = sqlx::query(
            "SELECT party_id, cms, certificate, timestamp_token, image FROM signatures WHERE contract_id = $1 ORDER BY created_ms",
        )
        .bind(id.to_string())
        .fetch_all(self.store.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("party_id")?,
                    r.try_get("cms")?,
                    r.try_get("certificate")?,
                    r.try_get("timestamp_token")?,
                    r.try_get("image")?,
                ))
            })
            .collect()
    }

    /// The stored content, document and name of a contract the caller may read in full.
    pub(crate) async fn content_and_document(
        &self,
        who: &Principal,
        id: ContractId,
    ) -> Result<(Vec<u8>, Option<Vec<u8>>, Option<String>), Error> {
        // The same read rights as the contract itself.
        self.contract_view(who, id).await?;
        let row =
            sqlx::query("SELECT content, document, document_name FROM contracts WHERE id = $1")
                .bind(id.to_string())
                .fetch_one(self.store.pool())
                .await?;
        Ok((
            row.try_get("content")?,
            row.try_get("document")?,
            row.try_get("document_name")?,
        ))
    }

    /// Expires contracts whose expiry has passed while still open (Draft or Sent): one
    /// `contract.expired` event each. Returns how many.
    ///
    /// # Errors
    /// [`Error::Db`].
    pub async fn expire_due(&self) -> Result<usize, Error> {
        let now = self.now_ms();
        let rows = sqlx::query(
            "SELECT id, tenant_id FROM contracts WHERE status IN ('draft', 'sent') AND expires_ms <= $1 LIMIT 100",
        )
        .bind(i(now))
        .fetch_all(self.store.pool())
        .await?;
        let mut n = 0;
        for r in rows {
            let id: String = r.try_get("id")?;
            let tenant: String = r.try_get("tenant_id")?;
            let id = ContractId::parse(&id)?;
            let row = self.load(&tenant, id).await?;
            let Ok((next, event)) = row.contract.expire(now) else {
                continue;
            };
            let mut tx = self.store.pool().begin().await?;
            match self
                .append_event(&mut tx, &tenant, id, row.event_count, &next, &event)
                .await
            {
                Ok(()) => {
                    tx.commit().await?;
                    n += 1;
                }
                Err(Error::Conflict { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        if n > 0 {
            self.evidence_wake.notify_one();
        }
        Ok(n)
    }

    /// Wakes the evidence loop.
    pub fn wake_evidence(&self) {
        self.evidence_wake.notify_one();
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
    sqlx::query(
        "INSERT INTO api_keys (id, tenant_id, role, secret_hash, label, created_ms) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(tenant)
    .bind(role.name())
    .bind(sha256(secret.as_bytes()).to_vec())
    .bind(label)
    .bind(i(now))
    .execute(&mut **tx)
    .await?;
    Ok(format!("afk_{id}.{secret}"))
}

async fn upsert_party_state(
    pool: &sqlx::AnyPool,
    id: ContractId,
    party: PartyId,
    column: &'static str,
    value: Option<Vec<u8>>,
) -> Result<(), Error> {
    // `column` is one of our constants, never input.
    let sql = format!(
        "INSERT INTO party_state (contract_id, party_id, {column}) VALUES ($1, $2, $3) \
         ON CONFLICT (contract_id, party_id) DO UPDATE SET {column} = excluded.{column}"
    );
    sqlx::query(&sql)
        .bind(id.to_string())
        .bind(party.to_string())
        .bind(value)
        .execute(pool)
        .await?;
    Ok(())
}

/// A PNG: the signature, then an IHDR chunk with a sane size.
fn check_png(bytes: &[u8]) -> Result<(), Error> {
    const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    let bad = |why: &str| invalid("invalid-image", format!("not a PNG image: {why}"));
    if bytes.len() < 33 || bytes[..8] != SIGNATURE {
        return Err(bad("missing PNG signature"));
    }
    if &bytes[12..16] != b"IHDR" {
        return Err(bad("first chunk is not IHDR"));
    }
    let width = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
    let height = u32::from_be_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]);
    if width == 0 || height == 0 || width > 8192 || height > 8192 {
        return Err(bad("width and height must be 1 to 8192"));
    }
    Ok(())
}
