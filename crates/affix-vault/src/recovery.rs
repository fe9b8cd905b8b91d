//! Recovery: an owner who lost every authenticator gets a new one bound to the *existing*
//! keys — the keys never leave the vault.
//!
//! The procedure, each step an evidence record about the owner:
//!
//! 0. **recovery code** (beforehand, optional) — the owner generates an offline code on
//!    their own side ([`RecoveryCode::generate`]) and registers only its salted digest
//!    ([`RecoveryCodeDigest`]) with an authorization by one of their active credentials
//!    ([`Action::SetRecoveryCode`], [`Vault::set_recovery_code`]); replacing it needs the
//!    same. Nobody else can set, replace or read it: the vault never sees the code before
//!    the owner presents it as an approval.
//! 1. **start** — after identity re-verification through a provider (its result enters
//!    only as a digest), with the new credential's public key. At most one start per
//!    owner per [`RecoveryPolicy::min_interval_ms`]. The owner is told first: the vault
//!    hands a [`RecoveryNotice`] to the caller's [`RecoveryNotifier`] (which delivers it on
//!    every channel the owner has; the platform wires it to e-mail and SMS) and starts
//!    nothing unless the notifier accepted it.
//! 2. **approve** — by independent parties: an authority node such as the notary (its
//!    Ed25519 key), the platform (its recovery key), and the owner's offline recovery
//!    code. Each party approves at most once; signatures are checked with strict Ed25519
//!    (`verify_strict`).
//! 3. **cancellation window** ([`RecoveryPolicy::window_ms`], 48 h by default): any of the
//!    owner's old credentials can stop the recovery.
//! 4. **complete** — only with an authority's approval **and** the platform's or the
//!    recovery code's (two distinct parties, one of them always an authority), after the
//!    window, if not cancelled. The new credential is registered and the old ones revoked.
//!
//! **Seed export** is the same procedure with another purpose ([`Purpose::ExportSeed`],
//! [`Vault::start_seed_export`]): the identity check, the notice, the approvals, the
//! window in which any of the owner's credentials can cancel, and the rate limit (shared
//! with credential recoveries) all apply. Instead of a new credential it names a
//! *recipient* key; completion ([`Vault::complete_seed_export`]) needs that key's
//! signature ([`Action::ExportSeed`] over [`crate::wallet::seed_export_digest`]) and
//! returns the wallet's mnemonic once, recorded as `vault.wallet.seed-exported`. The
//! owner's credentials stay as they are. Only wallet seeds can be exported: e-signature
//! keys have no export path at all.
//!
//! [`check_complete`] is the pure policy: no single party can satisfy it alone, and the
//! operator (who runs the platform, and so holds the platform's approval key) cannot
//! satisfy it without an authority — the recovery code is the owner's, registered only
//! on the owner's authorization. What enforces it against a malicious operator is that
//! the master key sits in an HSM the operator cannot read out, that the owner is
//! notified of every start and can cancel in the window, and that every step is in the
//! evidence log the owner and the authorities can audit.

use crate::authz::{Action, Authorization};
use crate::error::{Error, RecoveryRefusal, Refusal, malformed};
use crate::evidence;
use crate::ids::{CredentialId, OwnerId, RecoveryId, TenantId, WalletId};
use crate::record::{CredentialKind, CredentialRecord, Reader, push_short};
use crate::store::index_owner_event;
use crate::store::{self, insert_new, owner_key};
use crate::vault::{Job, Vault};
use redb::{ReadableDatabase, ReadableTable};
use sha2::{Digest as _, Sha256};

/// Default cancellation window: 48 hours.
pub const DEFAULT_WINDOW_MS: u64 = 48 * 3600 * 1000;

/// Default minimum time between two recovery starts of one owner: 24 hours.
pub const DEFAULT_MIN_INTERVAL_MS: u64 = 24 * 3600 * 1000;

/// Domain separation of approval signatures.
pub const APPROVAL_CONTEXT: &[u8] = b"affix.dev/vault/recovery-approval/v1\0";

/// Domain separation of seed-export approval signatures.
pub const SEED_EXPORT_APPROVAL_CONTEXT: &[u8] = b"affix.dev/vault/seed-export-approval/v1\0";

/// Who approves recoveries and how long owners have to object.
#[derive(Debug, Clone)]
pub struct RecoveryPolicy {
    /// Cancellation window after the start.
    pub window_ms: u64,
    /// Minimum time between two starts for one owner (rate limit).
    pub min_interval_ms: u64,
    /// The platform's Ed25519 recovery-approval public key, if the platform approves.
    pub platform_key: Option<[u8; 32]>,
    /// Authorities (name, Ed25519 public key) whose approval counts as the authority's.
    pub authorities: Vec<(String, [u8; 32])>,
}

impl Default for RecoveryPolicy {
    fn default() -> Self {
        Self {
            window_ms: DEFAULT_WINDOW_MS,
            min_interval_ms: DEFAULT_MIN_INTERVAL_MS,
            platform_key: None,
            authorities: Vec::new(),
        }
    }
}

/// The result of an identity re-verification, as recorded (no raw data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityCheck {
    /// Provider name, `[a-z0-9._-]{1,64}` (e.g. `email-otp`, `face-provider-x`).
    pub provider: String,
    /// Digest of the provider's signed result.
    pub result_digest: [u8; 32],
}

/// An approval by one party.
#[derive(Debug, Clone)]
pub enum Approval {
    /// The platform's signature over [`approval_message`].
    Platform {
        /// Ed25519 signature.
        signature: Vec<u8>,
    },
    /// An authority's signature over [`approval_message`].
    Authority {
        /// The authority's name in the policy.
        name: String,
        /// Ed25519 signature.
        signature: Vec<u8>,
    },
    /// The owner's offline recovery code.
    RecoveryCode(String),
}

/// A party whose approval counts toward a recovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Party {
    /// The platform (its recovery-approval key).
    Platform,
    /// An authority of the policy (any of them: together they count as one party).
    Authority,
    /// The owner, through their offline recovery code.
    RecoveryCode,
}

impl Party {
    /// Every party, in bit order.
    pub const ALL: [Party; 3] = [Party::Platform, Party::Authority, Party::RecoveryCode];

    /// The party's bit in [`Recovery::approvals`].
    pub fn bit(self) -> u8 {
        match self {
            Party::Platform => PLATFORM,
            Party::Authority => AUTHORITY,
            Party::RecoveryCode => CODE,
        }
    }

    /// Name used in evidence metadata and messages.
    pub fn name(self) -> &'static str {
        match self {
            Party::Platform => "platform",
            Party::Authority => "authority",
            Party::RecoveryCode => "recovery-code",
        }
    }
}

impl std::fmt::Display for Party {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The parties of a recovery, as bits.
const PLATFORM: u8 = 1;
const AUTHORITY: u8 = 2;
const CODE: u8 = 4;

/// Domain separation of the recovery-code hash.
pub const RECOVERY_CODE_CONTEXT: &[u8] = b"affix.dev/vault/recovery-code/v1\0";

/// An owner's offline recovery code, generated on the owner's side (their device, the
/// CLI playing it): 16 random bytes as 8 groups of 4 hex digits. Zeroized on drop,
/// redacted in `Debug`. The vault only ever stores its [`RecoveryCodeDigest`].
pub struct RecoveryCode(zeroize::Zeroizing<String>);

impl std::fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryCode(<redacted>)")
    }
}

impl RecoveryCode {
    /// A fresh code (128 bits from the operating system's generator).
    ///
    /// # Errors
    /// [`Error::Random`].
    pub fn generate() -> Result<Self, Error> {
        let mut secret = zeroize::Zeroizing::new([0u8; 16]);
        getrandom::fill(secret.as_mut()).map_err(|_| Error::Random)?;
        let hexed = zeroize::Zeroizing::new(hex::encode(secret.as_ref()));
        let mut code = zeroize::Zeroizing::new(String::with_capacity(39));
        for (i, c) in hexed.chars().enumerate() {
            if i > 0 && i % 4 == 0 {
                code.push('-');
            }
            code.push(c);
        }
        Ok(Self(code))
    }

    /// The code, to show the owner once.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digest to register, under a fresh random salt.
    ///
    /// # Errors
    /// [`Error::Random`].
    pub fn digest(&self) -> Result<RecoveryCodeDigest, Error> {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|_| Error::Random)?;
        Ok(RecoveryCodeDigest::of(&self.0, salt))
    }
}

/// What the vault stores of an owner's recovery code (table `recovery_codes`):
///
/// ```text
/// salt 16 ‖ SHA-256("affix.dev/vault/recovery-code/v1\0" ‖ salt ‖ code)
/// ```
///
/// where `code` is the code's ASCII letters and digits, lowercased (dashes and spaces
/// are ignored when the owner types it back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryCodeDigest {
    /// Random salt chosen with the code.
    pub salt: [u8; 16],
    /// The salted hash.
    pub hash: [u8; 32],
}

impl RecoveryCodeDigest {
    /// The digest of `code` under `salt`.
    pub fn of(code: &str, salt: [u8; 16]) -> Self {
        Self {
            salt,
            hash: code_hash(&salt, code),
        }
    }

    /// The stored 48 bytes.
    pub fn to_bytes(&self) -> [u8; 48] {
        let mut out = [0u8; 48];
        out[..16].copy_from_slice(&self.salt);
        out[16..].copy_from_slice(&self.hash);
        out
    }

    /// Decodes the stored 48 bytes.
    ///
    /// # Errors
    /// [`Error::Malformed`] unless exactly 48 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() != 48 {
            return Err(malformed("recovery code digest", "not 48 bytes"));
        }
        let mut salt = [0u8; 16];
        let mut hash = [0u8; 32];
        salt.copy_from_slice(&bytes[..16]);
        hash.copy_from_slice(&bytes[16..]);
        Ok(Self { salt, hash })
    }

    /// The digest a [`Action::SetRecoveryCode`] authorization binds: SHA-256 of the
    /// stored 48 bytes (also the `code-hash` digest of `vault.recovery.code-set`).
    pub fn authorization_digest(&self) -> [u8; 32] {
        Sha256::digest(self.to_bytes()).into()
    }

    /// Whether `code` is the registered code.
    pub fn matches(&self, code: &str) -> bool {
        code_hash(&self.salt, code) == self.hash
    }
}

/// What the owner must be told when a recovery of their credentials (or a seed export)
/// starts: enough to recognise it and to cancel it with one of their devices in the
/// window. No secret.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecoveryNotice {
    /// Tenant.
    pub tenant: TenantId,
    /// The owner to notify.
    pub owner: OwnerId,
    /// The recovery (what a cancellation names).
    pub recovery: RecoveryId,
    /// What completing it would do.
    pub purpose: Purpose,
    /// SHA-256 of the new credential's (or the seed recipient's) public key.
    pub new_key_digest: [u8; 32],
    /// The identity provider that re-verified the requester.
    pub provider: String,
    /// Start time.
    pub started_ms: u64,
    /// End of the cancellation window: completion is refused before it.
    pub window_ends_ms: u64,
}

/// Delivers the owner's [`RecoveryNotice`] when a recovery starts. The vault sends no
/// mail: its caller does. The platform (`affix-platform`) wires this to the person's
/// e-mail and SMS; the CLI (`affix vault recover start`) appends the notice to the vault
/// directory's notice outbox. The vault calls it before it commits the start and starts
/// nothing if it fails, so an implementation should queue durably (an outbox) and return,
/// not wait for delivery. A notice may exist for a start that then failed to commit (a
/// storage fault): a false alarm, never a silent start.
pub trait RecoveryNotifier {
    /// Queues `notice` for delivery to the owner on every channel they have.
    ///
    /// # Errors
    /// Any error: the recovery is not started ([`Error::RecoveryNotNotified`]).
    fn recovery_started(
        &self,
        notice: &RecoveryNotice,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>>;
}

impl<F> RecoveryNotifier for F
where
    F: Fn(&RecoveryNotice) -> Result<(), Box<dyn std::error::Error + Send + Sync>>,
{
    fn recovery_started(
        &self,
        notice: &RecoveryNotice,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self(notice)
    }
}

/// Where a recovery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Started, awaiting approvals and the end of the window.
    Pending,
    /// Stopped by an old credential.
    Cancelled,
    /// Completed: the new credential is registered.
    Completed,
}

/// What a completed recovery does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Purpose {
    /// Register the new credential and revoke the old ones (the original recovery).
    BindCredential,
    /// Give the wallet's mnemonic to the holder of the recipient key.
    ExportSeed {
        /// The wallet whose seed is exported.
        wallet: WalletId,
    },
}

/// The stored state of a recovery.
///
/// ```text
/// v1 (credential recoveries; unchanged):
///   0x01 ‖ tenant u32 BE ‖ owner 16 ‖ kind u8 ‖ u8 len + public key ‖ started_ms u64 BE ‖
///   approvals u8 ‖ status u8 (0 pending, 1 cancelled, 2 completed)
/// v2 (seed exports): 0x02 ‖ the v1 fields after the version ‖ purpose u8 (1 export-seed)
///   ‖ wallet id 16
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// Tenant number.
    pub tenant: u32,
    /// Owner.
    pub owner: OwnerId,
    /// The new credential's kind.
    pub kind: CredentialKind,
    /// The new credential's public key.
    pub public_key: Vec<u8>,
    /// Start time.
    pub started_ms: u64,
    /// Approval bits (platform 1, authority 2, recovery code 4).
    pub approvals: u8,
    /// Status.
    pub status: Status,
    /// What completing it does.
    pub purpose: Purpose,
}

impl Recovery {
    /// The stored encoding: v1 for credential recoveries (as before seed exports
    /// existed), v2 for seed exports.
    pub fn encode(&self) -> Vec<u8> {
        let version = match self.purpose {
            Purpose::BindCredential => 1,
            Purpose::ExportSeed { .. } => 2,
        };
        let mut out = vec![version];
        out.extend_from_slice(&self.tenant.to_be_bytes());
        out.extend_from_slice(&self.owner.0);
        out.push(self.kind.code());
        push_short(&mut out, &self.public_key);
        out.extend_from_slice(&self.started_ms.to_be_bytes());
        out.push(self.approvals);
        out.push(match self.status {
            Status::Pending => 0,
            Status::Cancelled => 1,
            Status::Completed => 2,
        });
        if let Purpose::ExportSeed { wallet } = self.purpose {
            out.push(1);
            out.extend_from_slice(&wallet.0);
        }
        out
    }

    /// Decodes a stored recovery strictly (v1 or v2).
    ///
    /// # Errors
    /// [`Error::Malformed`].
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes, "recovery");
        let version = r.u8()?;
        if version != 1 && version != 2 {
            return Err(malformed("recovery", format!("version {version}")));
        }
        let tenant = r.u32()?;
        let owner = OwnerId(r.array()?);
        let kind = CredentialKind::from_code(r.u8()?)?;
        let len = usize::from(r.u8()?);
        let public_key = r.bytes(len)?.to_vec();
        let started_ms = r.u64()?;
        let approvals = r.u8()?;
        let status = match r.u8()? {
            0 => Status::Pending,
            1 => Status::Cancelled,
            2 => Status::Completed,
            _ => return Err(malformed("recovery", "status")),
        };
        let purpose = if version == 1 {
            Purpose::BindCredential
        } else {
            // v2 exists only for seed exports: one encoding per value.
            if r.u8()? != 1 {
                return Err(malformed("recovery", "purpose"));
            }
            Purpose::ExportSeed {
                wallet: WalletId(r.array()?),
            }
        };
        r.end()?;
        Ok(Self {
            tenant,
            owner,
            kind,
            public_key,
            started_ms,
            approvals,
            status,
            purpose,
        })
    }

    /// The bytes approvers sign for this recovery: [`approval_message`] for credential
    /// recoveries, [`seed_export_approval_message`] for seed exports.
    pub fn approval_message(&self, tenant: &TenantId, id: RecoveryId) -> Vec<u8> {
        match self.purpose {
            Purpose::BindCredential => approval_message(tenant, self.owner, id, &self.public_key),
            Purpose::ExportSeed { wallet } => {
                seed_export_approval_message(tenant, self.owner, id, &self.public_key, wallet)
            }
        }
    }

    /// Number of distinct parties that approved.
    pub fn approval_count(&self) -> u32 {
        self.approvals.count_ones()
    }

    /// The parties that approved.
    pub fn parties(&self) -> Vec<Party> {
        Party::ALL
            .into_iter()
            .filter(|p| self.approvals & p.bit() != 0)
            .collect()
    }
}

/// The refusal for a step on a recovery that is no longer pending.
fn not_pending(status: Status) -> Error {
    match status {
        Status::Cancelled => RecoveryRefusal::Cancelled.into(),
        // Pending never reaches here; reported as complete, the other terminal state.
        Status::Completed | Status::Pending => RecoveryRefusal::Completed.into(),
    }
}

/// The pure completion rule: pending; approved by an authority **and** by the platform
/// or the owner's recovery code (two distinct parties, one of them always an
/// authority: the platform and the recovery code together are not enough, so neither the
/// operator nor someone who learnt the code can complete without an independent
/// authority); and the cancellation window over.
///
/// # Errors
/// [`Error::RecoveryRefused`] with the first failing condition:
/// [`RecoveryRefusal::Cancelled`], [`RecoveryRefusal::Completed`],
/// [`RecoveryRefusal::AuthorityApprovalMissing`],
/// [`RecoveryRefusal::SecondApprovalMissing`], [`RecoveryRefusal::WindowOpen`].
pub fn check_complete(
    recovery: &Recovery,
    policy: &RecoveryPolicy,
    now_ms: u64,
) -> Result<(), Error> {
    if recovery.status != Status::Pending {
        return Err(not_pending(recovery.status));
    }
    if recovery.approvals & AUTHORITY == 0 {
        return Err(RecoveryRefusal::AuthorityApprovalMissing.into());
    }
    if recovery.approvals & (PLATFORM | CODE) == 0 {
        return Err(RecoveryRefusal::SecondApprovalMissing.into());
    }
    let ends_ms = recovery.started_ms.saturating_add(policy.window_ms);
    if now_ms < ends_ms {
        return Err(RecoveryRefusal::WindowOpen { ends_ms, now_ms }.into());
    }
    Ok(())
}

/// The bytes the platform and authorities sign to approve a recovery.
pub fn approval_message(
    tenant: &TenantId,
    owner: OwnerId,
    id: RecoveryId,
    new_public_key: &[u8],
) -> Vec<u8> {
    let mut out = APPROVAL_CONTEXT.to_vec();
    push_short(&mut out, tenant.as_str().as_bytes());
    out.extend_from_slice(&owner.0);
    out.extend_from_slice(&id.0);
    out.extend_from_slice(&Sha256::digest(new_public_key));
    out
}

/// The bytes the platform and authorities sign to approve a seed export: like
/// [`approval_message`] under its own context, with the wallet id appended, so an
/// approval can never be taken for the other kind of recovery.
pub fn seed_export_approval_message(
    tenant: &TenantId,
    owner: OwnerId,
    id: RecoveryId,
    recipient_public_key: &[u8],
    wallet: WalletId,
) -> Vec<u8> {
    let mut out = SEED_EXPORT_APPROVAL_CONTEXT.to_vec();
    push_short(&mut out, tenant.as_str().as_bytes());
    out.extend_from_slice(&owner.0);
    out.extend_from_slice(&id.0);
    out.extend_from_slice(&Sha256::digest(recipient_public_key));
    out.extend_from_slice(&wallet.0);
    out
}

/// Strict Ed25519 (`verify_strict`: canonical `S`, no small-order public key or `R`), so
/// an approval verifies under exactly one reading of RFC 8032.
fn verify_ed25519(public: &[u8; 32], message: &[u8], signature: &[u8]) -> Result<(), Error> {
    let key = ed25519_dalek::VerifyingKey::from_bytes(public)
        .map_err(|_| malformed("approver key", "not an Ed25519 key"))?;
    let sig = ed25519_dalek::Signature::from_slice(signature)
        .map_err(|_| RecoveryRefusal::ApprovalSignatureMalformed)?;
    key.verify_strict(message, &sig)
        .map_err(|_| RecoveryRefusal::ApprovalSignatureInvalid.into())
}

fn code_hash(salt: &[u8], code: &str) -> [u8; 32] {
    let normalized: zeroize::Zeroizing<String> = zeroize::Zeroizing::new(
        code.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect(),
    );
    let mut h = Sha256::new();
    h.update(RECOVERY_CODE_CONTEXT);
    h.update(salt);
    h.update(normalized.as_bytes());
    h.finalize().into()
}

/// Inside a store transaction: refuses unless the recovery is still pending, so two
/// concurrent steps (approve and cancel, cancel and complete) never both apply.
fn ensure_pending(
    table: &redb::Table<'_, &'static [u8; 16], &'static [u8]>,
    id: &RecoveryId,
) -> Result<(), Error> {
    if let Some(row) = table.get(&id.0)? {
        let current = Recovery::decode(row.value())?;
        if current.status != Status::Pending {
            return Err(not_pending(current.status));
        }
    }
    Ok(())
}

impl Vault {
    /// Registers (or replaces) `owner`'s offline recovery code: only its `digest`, which
    /// the owner computed on their side from a code they generated there
    /// ([`RecoveryCode::generate`], [`RecoveryCode::digest`]), with an authorization by
    /// one of the owner's active credentials ([`Action::SetRecoveryCode`], no key, digest
    /// [`RecoveryCodeDigest::authorization_digest`]). Without the owner's credential no
    /// one — the operator included — can set or replace it. Recorded as
    /// `vault.recovery.code-set` (digests `code-hash` and `authorization`; metadata
    /// credential, replaced, tenant).
    ///
    /// # Errors
    /// [`Error::AuthorizationRefused`] (not a fresh authorization of exactly this digest
    /// by an active credential of this owner).
    pub fn set_recovery_code(
        &self,
        tenant: &TenantId,
        owner: OwnerId,
        digest: &RecoveryCodeDigest,
        authorization: &Authorization,
        now_ms: u64,
    ) -> Result<(), Error> {
        let t = self
            .lookup_tenant(tenant)?
            .ok_or(Refusal::NotOwnersCredential)?;
        self.check_owner_authorization(
            authorization,
            tenant,
            t,
            owner,
            Action::SetRecoveryCode,
            None,
            digest.authorization_digest(),
            now_ms,
        )?;
        let replaced = {
            let tx = self.db().begin_read()?;
            tx.open_table(store::RECOVERY_CODES)?
                .get(&owner_key(t, &owner.0))?
                .is_some()
        };
        let ev = evidence::record(
            "vault.recovery.code-set",
            &format!("owner:{owner}"),
            now_ms,
            self.submitter(),
            &[
                (
                    "authorization",
                    Sha256::digest(authorization.statement.to_bytes()).into(),
                ),
                ("code-hash", digest.authorization_digest()),
            ],
            &[
                (
                    "credential",
                    &authorization.statement.credential.to_string(),
                ),
                ("replaced", if replaced { "true" } else { "false" }),
                ("tenant", tenant.as_str()),
            ],
        )?;
        let stored = digest.to_bytes();
        self.commit_authorized(Some(authorization), vec![ev], move |tx, leaf| {
            tx.open_table(store::RECOVERY_CODES)?
                .insert(&owner_key(t, &owner.0), stored.as_slice())?;
            index_owner_event(tx, t, &owner, leaf, crate::evidence::code::RECOVERY)
        })?;
        Ok(())
    }

    /// Starts a recovery for `owner` with a new credential, after identity
    /// re-verification. The owner's [`RecoveryNotice`] goes to `notifier` first; nothing
    /// starts unless it accepts it.
    ///
    /// # Errors
    /// [`Error::RecoveryRefused`] ([`RecoveryRefusal::NoAuthorityConfigured`]) when the
    /// policy names no authority; [`Error::RateLimited`] within the minimum interval of
    /// the last start; [`Error::RecoveryNotNotified`] when the notifier fails;
    /// [`Error::Malformed`] for a bad key or provider name.
    #[allow(clippy::too_many_arguments)]
    pub fn start_recovery(
        &self,
        tenant: &TenantId,
        owner: OwnerId,
        kind: CredentialKind,
        new_public_key: &[u8],
        identity: &IdentityCheck,
        notifier: &dyn RecoveryNotifier,
        now_ms: u64,
    ) -> Result<RecoveryId, Error> {
        self.start(
            tenant,
            owner,
            kind,
            new_public_key,
            identity,
            Purpose::BindCredential,
            notifier,
            now_ms,
        )
    }

    /// Starts a seed export of the owner's `wallet` to the holder of `recipient_public_key`
    /// (a fresh device key), after identity re-verification. The same policy as
    /// [`Vault::start_recovery`] applies, rate limit and notice included (one start of
    /// either kind per owner per interval).
    ///
    /// # Errors
    /// [`Error::WalletNotFound`] unless `wallet` is the owner's wallet in this tenant
    /// (e-signature key ids are never wallets); otherwise as
    /// [`Vault::start_recovery`].
    #[allow(clippy::too_many_arguments)]
    pub fn start_seed_export(
        &self,
        tenant: &TenantId,
        owner: OwnerId,
        wallet: WalletId,
        kind: CredentialKind,
        recipient_public_key: &[u8],
        identity: &IdentityCheck,
        notifier: &dyn RecoveryNotifier,
        now_ms: u64,
    ) -> Result<RecoveryId, Error> {
        let record = self.load_wallet(tenant, &wallet)?;
        if record.owner != owner {
            return Err(Error::WalletNotFound(wallet.to_string()));
        }
        self.start(
            tenant,
            owner,
            kind,
            recipient_public_key,
            identity,
            Purpose::ExportSeed { wallet },
            notifier,
            now_ms,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn start(
        &self,
        tenant: &TenantId,
        owner: OwnerId,
        kind: CredentialKind,
        new_public_key: &[u8],
        identity: &IdentityCheck,
        purpose: Purpose,
        notifier: &dyn RecoveryNotifier,
        now_ms: u64,
    ) -> Result<RecoveryId, Error> {
        CredentialRecord::check_public_key(kind, new_public_key)?;
        crate::record::check_label(&identity.provider)?;
        if self.config().recovery.authorities.is_empty() {
            return Err(RecoveryRefusal::NoAuthorityConfigured.into());
        }
        let t = self.tenant_number(tenant)?;
        let ok = owner_key(t, &owner.0);
        {
            let tx = self.db().begin_read()?;
            if let Some(last) = tx.open_table(store::RECOVERY_LAST_START)?.get(&ok)? {
                let next = last
                    .value()
                    .saturating_add(self.config().recovery.min_interval_ms);
                if now_ms < next {
                    return Err(Error::RateLimited(format!(
                        "one recovery start per {} s per owner; next allowed at {next} ms",
                        self.config().recovery.min_interval_ms / 1000
                    )));
                }
            }
        }
        let id = RecoveryId::random()?;
        let recovery = Recovery {
            tenant: t,
            owner,
            kind,
            public_key: new_public_key.to_vec(),
            started_ms: now_ms,
            approvals: 0,
            status: Status::Pending,
            purpose,
        };
        let recovery_id = id.to_string();
        let window_ends_ms = now_ms.saturating_add(self.config().recovery.window_ms);
        let window_ends = window_ends_ms.to_string();
        let mut metadata = vec![
            ("provider", identity.provider.as_str()),
            ("recovery", recovery_id.as_str()),
            ("tenant", tenant.as_str()),
            ("window-ends", window_ends.as_str()),
        ];
        let wallet_id;
        let key_label = match purpose {
            Purpose::BindCredential => "new-credential",
            Purpose::ExportSeed { wallet } => {
                wallet_id = wallet.to_string();
                metadata.push(("purpose", "export-seed"));
                metadata.push(("wallet", wallet_id.as_str()));
                "recipient"
            }
        };
        let ev = evidence::record(
            "vault.recovery.started",
            &format!("owner:{owner}"),
            now_ms,
            self.submitter(),
            &[
                ("identity", identity.result_digest),
                (key_label, Sha256::digest(new_public_key).into()),
            ],
            &metadata,
        )?;
        // The owner is told before anything starts: a notifier that fails stops the start.
        notifier
            .recovery_started(&RecoveryNotice {
                tenant: tenant.clone(),
                owner,
                recovery: id,
                purpose,
                new_key_digest: Sha256::digest(new_public_key).into(),
                provider: identity.provider.clone(),
                started_ms: now_ms,
                window_ends_ms,
            })
            .map_err(Error::RecoveryNotNotified)?;
        let bytes = recovery.encode();
        self.commit(Job {
            key_creations: None,
            records: vec![ev],
            write: Box::new(move |tx, leaf| {
                insert_new(
                    &mut tx.open_table(store::RECOVERIES)?,
                    &id.0,
                    bytes.as_slice(),
                    "recovery",
                    || id.to_string(),
                )?;
                tx.open_table(store::RECOVERY_LAST_START)?
                    .insert(&ok, now_ms)?;
                index_owner_event(tx, t, &owner, leaf, crate::evidence::code::RECOVERY)?;
                Ok(())
            }),
        })?;
        Ok(id)
    }

    /// A recovery's state.
    ///
    /// # Errors
    /// [`Error::RecoveryNotFound`] (also for other tenants' or owners' recoveries).
    pub fn recovery(
        &self,
        tenant: &TenantId,
        owner: OwnerId,
        id: RecoveryId,
    ) -> Result<Recovery, Error> {
        let not_found = || Error::RecoveryNotFound(id.to_string());
        let t = self.tenant_number(tenant)?;
        let tx = self.db().begin_read()?;
        let table = tx.open_table(store::RECOVERIES)?;
        let row = table.get(&id.0)?.ok_or_else(not_found)?;
        let r = Recovery::decode(row.value())?;
        if r.tenant != t || r.owner != owner {
            return Err(not_found());
        }
        Ok(r)
    }

    /// Records one party's approval (signatures checked with strict Ed25519).
    ///
    /// # Errors
    /// [`Error::RecoveryRefused`] for a bad signature or code, an unknown authority, a
    /// party that already approved, or a recovery that is not pending (each its
    /// [`RecoveryRefusal`]).
    pub fn approve_recovery(
        &self,
        tenant: &TenantId,
        owner: OwnerId,
        id: RecoveryId,
        approval: Approval,
        now_ms: u64,
    ) -> Result<(), Error> {
        let mut r = self.recovery(tenant, owner, id)?;
        if r.status != Status::Pending {
            return Err(not_pending(r.status));
        }
        let message = r.approval_message(tenant, id);
        let policy = &self.config().recovery;
        let (party, name) = match &approval {
            Approval::Platform { signature } => {
                let key = policy.platform_key.ok_or(RecoveryRefusal::NoPlatformKey)?;
                verify_ed25519(&key, &message, signature)?;
                (Party::Platform, "platform".to_owned())
            }
            Approval::Authority { name, signature } => {
                let (_, key) = policy
                    .authorities
                    .iter()
                    .find(|(n, _)| n == name)
                    .ok_or_else(|| RecoveryRefusal::UnknownAuthority(name.clone()))?;
                verify_ed25519(key, &message, signature)?;
                (Party::Authority, format!("authority:{name}"))
            }
            Approval::RecoveryCode(code) => {
                let tx = self.db().begin_read()?;
                let codes = tx.open_table(store::RECOVERY_CODES)?;
                let stored = codes
                    .get(&owner_key(r.tenant, &owner.0))?
                    .ok_or(RecoveryRefusal::NoRecoveryCode)?;
                let stored = RecoveryCodeDigest::from_bytes(stored.value())
                    .map_err(|_| Error::corrupt(format!("recovery code of owner {owner}")))?;
                if !stored.matches(code) {
                    return Err(RecoveryRefusal::WrongRecoveryCode.into());
                }
                (Party::RecoveryCode, "recovery-code".to_owned())
            }
        };
        if r.approvals & party.bit() != 0 {
            return Err(RecoveryRefusal::AlreadyApproved(party).into());
        }
        r.approvals |= party.bit();
        let ev = evidence::record(
            "vault.recovery.approved",
            &format!("owner:{owner}"),
            now_ms,
            self.submitter(),
            &[("approval", Sha256::digest(&message).into())],
            &[
                ("party", &name),
                ("recovery", &id.to_string()),
                ("tenant", tenant.as_str()),
            ],
        )?;
        self.update_recovery(id, &r, ev, None)
    }

    /// Stores a recovery's new state, refusing if it stopped being pending meanwhile;
    /// `authorization` (a cancellation) has its nonce spent in the same transaction.
    fn update_recovery(
        &self,
        id: RecoveryId,
        r: &Recovery,
        ev: Vec<u8>,
        authorization: Option<&Authorization>,
    ) -> Result<(), Error> {
        let bytes = r.encode();
        let (t, owner) = (r.tenant, r.owner);
        self.commit_authorized(authorization, vec![ev], move |tx, leaf| {
            let mut table = tx.open_table(store::RECOVERIES)?;
            ensure_pending(&table, &id)?;
            table.insert(&id.0, bytes.as_slice())?;
            index_owner_event(tx, t, &owner, leaf, crate::evidence::code::RECOVERY)
        })?;
        Ok(())
    }

    /// Stops a pending recovery with an authorization by one of the owner's existing
    /// credentials (`Action::CancelRecovery`, digest = SHA-256 of the recovery id).
    ///
    /// # Errors
    /// [`Error::AuthorizationRefused`], [`Error::RecoveryRefused`] if not pending.
    pub fn cancel_recovery(
        &self,
        tenant: &TenantId,
        owner: OwnerId,
        id: RecoveryId,
        authorization: &Authorization,
        now_ms: u64,
    ) -> Result<(), Error> {
        let mut r = self.recovery(tenant, owner, id)?;
        if r.status != Status::Pending {
            return Err(not_pending(r.status));
        }
        let digest = Sha256::digest(id.0).into();
        self.check_owner_authorization(
            authorization,
            tenant,
            r.tenant,
            owner,
            Action::CancelRecovery,
            None,
            digest,
            now_ms,
        )?;
        r.status = Status::Cancelled;
        let ev = evidence::record(
            "vault.recovery.cancelled",
            &format!("owner:{owner}"),
            now_ms,
            self.submitter(),
            &[(
                "authorization",
                Sha256::digest(authorization.statement.to_bytes()).into(),
            )],
            &[
                (
                    "credential",
                    &authorization.statement.credential.to_string(),
                ),
                ("recovery", &id.to_string()),
                ("tenant", tenant.as_str()),
            ],
        )?;
        self.update_recovery(id, &r, ev, Some(authorization))
    }

    /// Completes a recovery under [`check_complete`]: registers the new credential and
    /// revokes the owner's old ones. The owner's keys are untouched.
    ///
    /// # Errors
    /// [`Error::RecoveryRefused`] saying which condition is not met.
    pub fn complete_recovery(
        &self,
        tenant: &TenantId,
        owner: OwnerId,
        id: RecoveryId,
        now_ms: u64,
    ) -> Result<CredentialId, Error> {
        let mut r = self.recovery(tenant, owner, id)?;
        if r.purpose != Purpose::BindCredential {
            return Err(RecoveryRefusal::NotACredentialRecovery.into());
        }
        check_complete(&r, &self.config().recovery, now_ms)?;
        let old = self.active_credentials(r.tenant, owner)?;
        let cred = CredentialId::random()?;
        let record = CredentialRecord {
            kind: r.kind,
            tenant: r.tenant,
            owner,
            created_ms: now_ms,
            public_key: r.public_key.clone(),
        };
        r.status = Status::Completed;
        let revoked: Vec<String> = old.iter().map(ToString::to_string).collect();
        let ev = evidence::record(
            "vault.recovery.completed",
            &format!("owner:{owner}"),
            now_ms,
            self.submitter(),
            &[("new-credential", Sha256::digest(&r.public_key).into())],
            &[
                ("credential", &cred.to_string()),
                ("recovery", &id.to_string()),
                ("revoked", &revoked.join(",")),
                ("tenant", tenant.as_str()),
            ],
        )?;
        let state = r.encode();
        let cred_bytes = record.encode();
        let t = r.tenant;
        self.commit(Job {
            key_creations: None,
            records: vec![ev],
            write: Box::new(move |tx, leaf| {
                let mut table = tx.open_table(store::RECOVERIES)?;
                ensure_pending(&table, &id)?;
                table.insert(&id.0, state.as_slice())?;
                insert_new(
                    &mut tx.open_table(store::CREDENTIALS)?,
                    &cred.0,
                    cred_bytes.as_slice(),
                    "credential",
                    || cred.to_string(),
                )?;
                tx.open_table(store::OWNER_CREDENTIALS)?
                    .insert(&crate::store::owner_cred_key(t, &owner, &cred), ())?;
                let mut revoked = tx.open_table(store::CREDENTIAL_REVOKED)?;
                for c in &old {
                    if revoked.get(&c.0)?.is_none() {
                        revoked.insert(&c.0, now_ms)?;
                    }
                }
                index_owner_event(tx, t, &owner, leaf, crate::evidence::code::RECOVERY)?;
                Ok(())
            }),
        })?;
        Ok(cred)
    }

    /// Completes a seed export under [`check_complete`], on the recipient key's
    /// authorization (`Action::ExportSeed`, key none, digest
    /// [`crate::wallet::seed_export_digest`]), and returns the wallet's mnemonic — once:
    /// the recovery is completed in the same transaction as the
    /// `vault.wallet.seed-exported` record (no secret in it), so a second call is refused.
    ///
    /// # Errors
    /// [`Error::RecoveryRefused`] (not a seed export, too few approvals, in the window,
    /// cancelled, already completed); [`Error::AuthorizationRefused`] (not the recipient key's
    /// fresh authorization of this export); [`Error::WalletNotFound`],
    /// [`Error::Tampered`].
    pub fn complete_seed_export(
        &self,
        tenant: &TenantId,
        owner: OwnerId,
        id: RecoveryId,
        authorization: &Authorization,
        now_ms: u64,
    ) -> Result<SeedExport, Error> {
        let mut r = self.recovery(tenant, owner, id)?;
        let Purpose::ExportSeed { wallet } = r.purpose else {
            return Err(RecoveryRefusal::NotASeedExport.into());
        };
        check_complete(&r, &self.config().recovery, now_ms)?;
        let s = &authorization.statement;
        s.check_for(
            Action::ExportSeed,
            tenant,
            None,
            &crate::wallet::seed_export_digest(id, wallet),
        )?;
        if s.grant.is_some() {
            return Err(Refusal::UnexpectedGrant.into());
        }
        authorization.verify_signature(r.kind, &r.public_key, now_ms)?;
        let record = self.load_wallet(tenant, &wallet)?;
        if record.owner != owner {
            return Err(Error::WalletNotFound(wallet.to_string()));
        }
        let mnemonic = self.open_wallet_mnemonic(tenant, &wallet, &record)?;
        r.status = Status::Completed;
        let ev = evidence::record(
            "vault.wallet.seed-exported",
            &format!("wallet:{wallet}"),
            now_ms,
            self.submitter(),
            &[
                ("authorization", Sha256::digest(s.to_bytes()).into()),
                ("recipient", Sha256::digest(&r.public_key).into()),
            ],
            &[
                ("owner", &owner.to_string()),
                ("recovery", &id.to_string()),
                ("tenant", tenant.as_str()),
                ("words", &record.words.to_string()),
            ],
        )?;
        let state = r.encode();
        let t = r.tenant;
        let leaf = self.commit(Job {
            key_creations: None,
            records: vec![ev],
            write: Box::new(move |tx, leaf| {
                let mut table = tx.open_table(store::RECOVERIES)?;
                ensure_pending(&table, &id)?;
                table.insert(&id.0, state.as_slice())?;
                tx.open_table(store::USAGE)?.insert(
                    &crate::store::usage_key_of(&wallet.0, leaf),
                    crate::evidence::code::WALLET_SEED_EXPORTED,
                )?;
                index_owner_event(tx, t, &owner, leaf, crate::evidence::code::RECOVERY)?;
                Ok(())
            }),
        })?;
        Ok(SeedExport {
            wallet,
            mnemonic: mnemonic.phrase(),
            evidence_leaf: leaf,
        })
    }
}

/// A completed seed export: the mnemonic, shown to its owner once.
pub struct SeedExport {
    /// The wallet.
    pub wallet: WalletId,
    /// The BIP-39 words, single-space separated; zeroized on drop.
    pub mnemonic: zeroize::Zeroizing<String>,
    /// Index of the `vault.wallet.seed-exported` record.
    pub evidence_leaf: u64,
}

impl std::fmt::Debug for SeedExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeedExport")
            .field("wallet", &self.wallet)
            .field("mnemonic", &"redacted")
            .field("evidence_leaf", &self.evidence_leaf)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(approvals: u8) -> Recovery {
        Recovery {
            tenant: 1,
            owner: OwnerId([1; 16]),
            kind: CredentialKind::Ed25519,
            public_key: vec![0; 32],
            started_ms: 1_000,
            approvals,
            status: Status::Pending,
            purpose: Purpose::BindCredential,
        }
    }

    /// The completion rule: an authority and one more party (platform or recovery code),
    /// then the window. The platform and the code together — all the operator could
    /// muster if it learnt the code — are refused, as is every single party.
    #[test]
    fn the_authority_and_one_more_party_complete_after_the_window() {
        let policy = RecoveryPolicy::default();
        let after = 1_000 + DEFAULT_WINDOW_MS;
        let refusal = |approvals, now| match check_complete(&pending(approvals), &policy, now) {
            Err(Error::RecoveryRefused(r)) => Some(r),
            Err(e) => panic!("{e:?}"),
            Ok(()) => None,
        };
        for no_authority in [0, PLATFORM, CODE, PLATFORM | CODE] {
            assert_eq!(
                refusal(no_authority, after + 1),
                Some(RecoveryRefusal::AuthorityApprovalMissing),
                "{no_authority:#b}"
            );
        }
        assert_eq!(
            refusal(AUTHORITY, after + 1),
            Some(RecoveryRefusal::SecondApprovalMissing)
        );
        for pair in [
            AUTHORITY | PLATFORM,
            AUTHORITY | CODE,
            AUTHORITY | PLATFORM | CODE,
        ] {
            assert_eq!(
                refusal(pair, after - 1),
                Some(RecoveryRefusal::WindowOpen {
                    ends_ms: after,
                    now_ms: after - 1
                })
            );
            assert_eq!(refusal(pair, after), None, "{pair:#b}");
        }
        let mut cancelled = pending(PLATFORM | AUTHORITY | CODE);
        cancelled.status = Status::Cancelled;
        assert!(matches!(
            check_complete(&cancelled, &policy, after),
            Err(Error::RecoveryRefused(RecoveryRefusal::Cancelled))
        ));
        cancelled.status = Status::Completed;
        assert!(matches!(
            check_complete(&cancelled, &policy, after),
            Err(Error::RecoveryRefused(RecoveryRefusal::Completed))
        ));
        let r = pending(PLATFORM | CODE);
        assert_eq!(Recovery::decode(&r.encode()).unwrap(), r);
        assert_eq!(r.parties(), [Party::Platform, Party::RecoveryCode]);
    }

    /// A recovery code hashes as it always did (stored digests stay valid); dashes,
    /// spaces and case do not matter when the owner types it back.
    #[test]
    fn recovery_code_digest_is_frozen_and_forgiving() {
        let d = RecoveryCodeDigest::of("0123-4567-89ab-cdef", [5; 16]);
        assert_eq!(
            hex::encode(d.hash),
            hex::encode({
                let mut h = Sha256::new();
                h.update(b"affix.dev/vault/recovery-code/v1\0");
                h.update([5; 16]);
                h.update(b"0123456789abcdef");
                h.finalize()
            })
        );
        assert!(d.matches("0123 4567 89AB CDEF"));
        assert!(!d.matches("0123-4567-89ab-cdee"));
        assert_eq!(RecoveryCodeDigest::from_bytes(&d.to_bytes()).unwrap(), d);
        assert!(RecoveryCodeDigest::from_bytes(&d.to_bytes()[..47]).is_err());
        let code = RecoveryCode::generate().unwrap();
        assert_eq!(code.as_str().len(), 39);
        assert_eq!(code.as_str().matches('-').count(), 7);
        assert!(code.digest().unwrap().matches(code.as_str()));
        assert!(!format!("{code:?}").contains(code.as_str()));
    }

    /// Approvals use strict Ed25519: a signature that plain `verify` accepts under a
    /// small-order public key is refused.
    #[test]
    fn approvals_are_verified_strictly() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let good = {
            use signature::Signer as _;
            key.sign(b"m").to_bytes()
        };
        verify_ed25519(&key.verifying_key().to_bytes(), b"m", &good).unwrap();
        // The identity point (a small-order key) with R = identity, S = 0: `verify`
        // accepts it for every message, `verify_strict` for none.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let mut weak = [0u8; 64];
        weak[0] = 1;
        let weak_key = ed25519_dalek::VerifyingKey::from_bytes(&identity).unwrap();
        let weak_sig = ed25519_dalek::Signature::from_bytes(&weak);
        assert!(signature::Verifier::verify(&weak_key, b"m", &weak_sig).is_ok());
        assert!(matches!(
            verify_ed25519(&identity, b"m", &weak),
            Err(Error::RecoveryRefused(
                RecoveryRefusal::ApprovalSignatureInvalid
            ))
        ));
        assert!(matches!(
            verify_ed25519(&identity, b"m", &weak[..63]),
            Err(Error::RecoveryRefused(
                RecoveryRefusal::ApprovalSignatureMalformed
            ))
        ));
    }

    /// v1 (credential recoveries) is byte-for-byte what it was before seed exports; v2
    /// adds the purpose. Both frozen here.
    #[test]
    fn recovery_encodings_are_frozen_and_strict() {
        let mut r = pending(PLATFORM | CODE);
        r.public_key = vec![0xab; 32];
        let v1 = r.encode();
        assert_eq!(
            hex::encode(&v1),
            concat!(
                "01",
                "00000001",
                "01010101010101010101010101010101",
                "01",
                "20",
                "abababababababababababababababababababababababababababababababab",
                "00000000000003e8",
                "05",
                "00"
            )
        );
        r.purpose = Purpose::ExportSeed {
            wallet: WalletId([0x80; 16]),
        };
        let v2 = r.encode();
        assert_eq!(v2[0], 2);
        assert_eq!(&v2[1..v1.len()], &v1[1..]);
        assert_eq!(
            hex::encode(&v2[v1.len()..]),
            "0180808080808080808080808080808080"
        );
        assert_eq!(Recovery::decode(&v2).unwrap(), r);
        for n in 0..v2.len() {
            assert!(Recovery::decode(&v2[..n]).is_err());
        }
        let mut bad = v2.clone();
        bad[v1.len()] = 0;
        assert!(Recovery::decode(&bad).is_err());
        let mut bad = v1.clone();
        bad[0] = 3;
        assert!(Recovery::decode(&bad).is_err());
        // An approval for one kind of recovery is not an approval for the other.
        let t = TenantId::new("acme").unwrap();
        let id = RecoveryId([9; 16]);
        assert_ne!(
            r.approval_message(&t, id),
            approval_message(&t, r.owner, id, &r.public_key)
        );
    }
}
