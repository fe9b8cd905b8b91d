//! The vault's one error type, and the reasons it refuses an authorization.

use crate::authz::{AUTHORIZATION_LIFETIME_MS_MAX, Action};
use crate::ids::GrantId;
use crate::recovery::Party;
use std::path::PathBuf;
use std::sync::Arc;

/// Everything that can go wrong in the vault. Variants separate malformed input, refused
/// authorizations (policy), missing objects, and internal faults (storage, master key).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Input bytes or text that do not parse (ids, records, requests). HTTP 400.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// What was being parsed.
        what: &'static str,
        /// Why it was refused.
        detail: String,
    },
    /// A request over a size limit. HTTP 413.
    #[error("{what} is too large: {size} bytes, at most {max}")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// No such key in this tenant. Keys of other tenants are reported the same way, so a
    /// caller cannot probe another tenant's key ids. HTTP 404.
    #[error("no key {0} in this tenant")]
    KeyNotFound(String),
    /// No such wallet in this tenant (or not this owner's). Like keys, other tenants'
    /// wallets are reported the same way. HTTP 404.
    #[error("no wallet {0} in this tenant")]
    WalletNotFound(String),
    /// No such credential for this owner. HTTP 404.
    #[error("no credential {0} for this owner")]
    CredentialNotFound(String),
    /// No such grant for this key. HTTP 404.
    #[error("no grant {0} for this key")]
    GrantNotFound(String),
    /// No such recovery for this owner. HTTP 404.
    #[error("no recovery {0} for this owner")]
    RecoveryNotFound(String),
    /// The key was disabled; its record and history stay, it signs nothing. HTTP 409.
    #[error("key {0} is disabled")]
    KeyDisabled(String),
    /// An object with this id already exists; records are write-once. HTTP 409.
    #[error("{what} {id} already exists (records are write-once)")]
    AlreadyExists {
        /// Kind of object.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// The operation does not apply to this key's algorithm or payload. HTTP 400.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The authorization was refused; [`Refusal`] says why. Nothing was signed or
    /// changed, and the authorization's nonce was not spent. HTTP 403.
    #[error("authorization refused: {0}")]
    AuthorizationRefused(Refusal),
    /// A signature does not verify under the public key it was checked with
    /// ([`crate::verify`]): a verification failure, not a policy refusal.
    #[error("signature does not verify")]
    SignatureInvalid,
    /// A recovery step was refused by the recovery policy; [`RecoveryRefusal`] says why.
    /// Nothing was recorded. HTTP 409.
    #[error("recovery refused: {0}")]
    RecoveryRefused(RecoveryRefusal),
    /// The [`RecoveryNotifier`](crate::recovery::RecoveryNotifier) did not accept the
    /// owner's notice that a recovery is starting, so the recovery was not started (the
    /// owner is told of every start, or there is none). Holds the notifier's error.
    /// HTTP 503.
    #[error("the owner's recovery notice was not accepted, no recovery started: {0}")]
    RecoveryNotNotified(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A rate limit was hit. HTTP 429.
    #[error("rate limited: {0}")]
    RateLimited(String),
    /// The signing queue is full (or shutting down); nothing was queued. Retry later.
    /// HTTP 503.
    #[error("busy: {0}")]
    Busy(String),
    /// A stored key or its associated data failed authenticated decryption: tampering or
    /// the wrong master key. Never yields a key. HTTP 500.
    #[error("stored key {0} failed authenticated decryption (tampered, or wrong master key)")]
    Tampered(String),
    /// The master key could not wrap or unwrap a key-encryption key.
    #[error("master key: {0}")]
    MasterKey(#[from] affix_seal::Error),
    /// The vault's key-encryption keys were wrapped by another master key.
    #[error("wrong master key: given {given}, this vault's keys are wrapped by {expected}")]
    WrongMasterKey {
        /// Id of the master key given.
        given: String,
        /// Id(s) of the master key(s) that wrapped the KEKs.
        expected: String,
    },
    /// The vault's storage failed: the embedded database, the signing journal, or the
    /// files they live in; or stored data is not what the vault wrote. HTTP 500.
    #[error("key store: {0}")]
    Store(#[source] StoreError),
    /// The evidence log failed, or the group commit that would have recorded the
    /// operation; nothing was acknowledged. HTTP 500.
    #[error("evidence log: {0}")]
    Evidence(#[source] EvidenceError),
    /// A passkey registration was refused (the WebAuthn reason: origin, RP id,
    /// challenge, flags, attestation format, algorithm, malformed or oversized parts).
    /// HTTP 400.
    #[error("passkey registration refused: {0}")]
    PasskeyRegistration(affix_webauthn::Error),
    /// The operating system's random generator failed.
    #[error("random generator failed")]
    Random,
}

/// Why an authorization was refused ([`Error::AuthorizationRefused`]). The vault checks
/// a request's statement against the request first (action, tenant, key, digest, payload
/// kind, grant), then the credential, the freshness, the signature, any grant, and the
/// nonce last; the first failing check is the reason given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    // ----------------------------------------------------------------- the statement
    /// The statement authorizes another action than the one requested.
    #[error("the authorization is for {}, not {}", found.name(), expected.name())]
    WrongAction {
        /// The action requested.
        expected: Action,
        /// The action the statement names.
        found: Action,
    },
    /// The statement is for another tenant than the request's.
    #[error("the authorization is for another tenant")]
    WrongTenant,
    /// The statement names another key than the request's — or a key where the action
    /// takes none, or none where it takes one.
    #[error("the authorization is for another key")]
    WrongKey,
    /// The statement's digest is not the request's: it authorized other content (another
    /// document, grant, credential, recovery or derivation path).
    #[error("the authorization is for other content (digest mismatch)")]
    DigestMismatch,
    /// The statement's payload kind (message or digest) is not the request's.
    #[error("the authorization is for another kind of payload")]
    WrongPayloadKind,
    /// The statement names a grant, and the action takes none (grants delegate signing
    /// only).
    #[error("the authorization names a grant; this action takes none")]
    UnexpectedGrant,
    // ----------------------------------------------------------------- the credential
    /// The owner has (or had) credentials: registering another needs an authorization by
    /// an active one — or, when all were revoked, a recovery.
    #[error("the owner has credentials: registering another needs one of them")]
    AuthorizationRequired,
    /// The statement names a credential the vault does not know.
    #[error("unknown credential")]
    CredentialUnknown,
    /// The credential was revoked (by its owner, or by a completed recovery).
    #[error("the credential was revoked")]
    CredentialRevoked,
    /// The credential belongs to someone other than the owner of the key, wallet or
    /// request, and the statement names no grant that would let it act.
    #[error("the credential is not the owner's and names no grant")]
    NotOwnersCredential,
    // ----------------------------------------------------------------- freshness
    /// The authorization expired at `expires_ms`, at or before the request's time.
    #[error("authorization expired at {expires_ms} ms (now {now_ms} ms)")]
    Expired {
        /// When the authorization expired.
        expires_ms: u64,
        /// The request's time.
        now_ms: u64,
    },
    /// The authorization lives longer than [`AUTHORIZATION_LIFETIME_MS_MAX`]: an
    /// authorization is fresh or it is refused.
    #[error("authorization lives {lifetime_ms} ms, at most {AUTHORIZATION_LIFETIME_MS_MAX} ms")]
    LifetimeTooLong {
        /// Its expiry minus the request's time.
        lifetime_ms: u64,
    },
    /// The authorization expires at or below the vault's nonce floor: the vault has
    /// signed at times more than 60 s past its expiry and no longer remembers the nonces
    /// of authorizations that old, so it could not tell a replay. Refused as expired, even
    /// if the request's own clock says otherwise.
    #[error(
        "authorization expired at {expires_ms} ms: the vault has signed at times more than {} s later",
        crate::journal::PRUNE_LAG_MS / 1000
    )]
    BelowNonceFloor {
        /// When the authorization expires.
        expires_ms: u64,
        /// Authorizations expiring at or before this time are refused.
        floor_ms: u64,
    },
    // ----------------------------------------------------------------- the signature
    /// The authorization's signature does not verify under the credential's public key:
    /// forged, altered, or made by another key.
    #[error("authorization signature does not verify")]
    SignatureInvalid,
    /// A passkey's WebAuthn assertion was refused: wrong origin, RP id or challenge,
    /// user not present or not verified, a bad signature, a sign counter that did not
    /// increase (a cloned authenticator or a replay), or malformed or oversized parts.
    #[error("passkey assertion refused: {0}")]
    Passkey(affix_webauthn::Error),
    // ----------------------------------------------------------------- the nonce
    /// The authorization's nonce was spent already, or is being spent by a concurrent
    /// request: a replay.
    #[error("replayed authorization (nonce already used)")]
    Replayed,
    // ----------------------------------------------------------------- grants
    /// The statement names a grant the vault does not know.
    #[error("no grant {0}")]
    GrantUnknown(GrantId),
    /// The grant is for another key, or another credential is its grantee.
    #[error("the grant is for another key or credential")]
    GrantOutOfScope,
    /// The grant expired at `not_after_ms`.
    #[error("the grant has expired (at {not_after_ms} ms, now {now_ms} ms)")]
    GrantExpired {
        /// The grant's last valid time.
        not_after_ms: u64,
        /// The request's time.
        now_ms: u64,
    },
    /// The grant was revoked.
    #[error("the grant was revoked")]
    GrantRevoked,
    /// Every signature the grant allows has been made (or is being made).
    #[error("the grant allows {max_uses} signatures and all are used")]
    GrantExhausted {
        /// Signatures the grant allows.
        max_uses: u32,
    },
    // ----------------------------------------------------------------- handles
    /// An [`Authorizer`](crate::Authorizer) declined to authorize the statement a
    /// [`VaultSigner`](crate::VaultSigner) asked it for (a person said no, or the
    /// authorizer only captures the statement).
    #[error("the authorizer declined")]
    AuthorizerDeclined,
    /// A [`VaultSigner`](crate::VaultSigner) could not sign: its authorizer or the vault
    /// refused, but the `signature::Signer` interface it answered through carries no
    /// reason. Call the vault directly for a typed one.
    #[error("the vault's signing handle refused")]
    HandleRefused,
}

/// Why a recovery step was refused ([`Error::RecoveryRefused`]). The completion rule
/// ([`crate::recovery::check_complete`]) checks the status, then the authority's
/// approval, then the second party's, then the window; the first failing check is the
/// reason given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecoveryRefusal {
    // ----------------------------------------------------------------- status
    /// One of the owner's credentials cancelled the recovery.
    #[error("it was cancelled")]
    Cancelled,
    /// The recovery was completed already (a seed export releases its seed once).
    #[error("it is already complete")]
    Completed,
    /// A seed export cannot be completed as a credential recovery: it registers no
    /// credential.
    #[error("this recovery exports a wallet seed; it registers no credential")]
    NotACredentialRecovery,
    /// A credential recovery cannot be completed as a seed export.
    #[error("this recovery binds a credential; it exports no seed")]
    NotASeedExport,
    // ----------------------------------------------------------------- approvals
    /// No authority approved: an authority's approval is always required (the platform
    /// and the recovery code together are not enough).
    #[error("an authority's approval is required and missing")]
    AuthorityApprovalMissing,
    /// Only the authority approved: the platform or the owner's recovery code must
    /// approve too (two distinct parties).
    #[error(
        "the authority approved; the platform's or the owner's recovery code's approval is missing"
    )]
    SecondApprovalMissing,
    /// This party approved already; each party counts once.
    #[error("the {0} already approved")]
    AlreadyApproved(Party),
    /// A platform approval, and the policy names no platform approval key.
    #[error("no platform approval key is configured")]
    NoPlatformKey,
    /// An authority approval by a name the policy does not list.
    #[error("{0:?} is not a recovery authority")]
    UnknownAuthority(String),
    /// The policy names no authority, so no recovery could ever complete: none starts.
    #[error("the recovery policy names no authority; no recovery can complete")]
    NoAuthorityConfigured,
    /// An approval signature that is not 64 bytes.
    #[error("the approval signature is malformed")]
    ApprovalSignatureMalformed,
    /// An approval signature that does not verify (strict Ed25519: canonical `S`, no
    /// small-order keys or `R`) under the approver's key over this recovery's approval
    /// message.
    #[error("the approval signature does not verify")]
    ApprovalSignatureInvalid,
    /// A recovery-code approval, and the owner registered no recovery code.
    #[error("the owner has no recovery code")]
    NoRecoveryCode,
    /// A recovery-code approval with another code than the owner registered.
    #[error("wrong recovery code")]
    WrongRecoveryCode,
    // ----------------------------------------------------------------- time
    /// The cancellation window is still open.
    #[error("the cancellation window ends at {ends_ms} ms ({} s from now)", seconds_until(.ends_ms, .now_ms))]
    WindowOpen {
        /// When the window ends.
        ends_ms: u64,
        /// The request's time.
        now_ms: u64,
    },
}

fn seconds_until(ends_ms: &u64, now_ms: &u64) -> u64 {
    ends_ms.saturating_sub(*now_ms) / 1000
}

impl From<RecoveryRefusal> for Error {
    fn from(refusal: RecoveryRefusal) -> Self {
        Error::RecoveryRefused(refusal)
    }
}

impl From<Refusal> for Error {
    fn from(refusal: Refusal) -> Self {
        Error::AuthorizationRefused(refusal)
    }
}

/// How the vault's storage failed ([`Error::Store`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The embedded database (`redb`) failed.
    #[error(transparent)]
    Database(#[from] redb::Error),
    /// Reading, writing or flushing a file or directory of the vault failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, and to which path.
        context: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A store of the current format without its signing journal: acknowledged
    /// signatures may exist only there, so the vault does not open.
    #[error("{}: the signing journal is missing", .0.display())]
    JournalMissing(PathBuf),
    /// An append to the signing journal failed after writing part of it: what reached the
    /// disk is unknown, so the journal takes no more appends until the vault is reopened
    /// (which reads back what is there). Holds the earlier error's text.
    #[error("the signing journal failed earlier ({0}); reopen the vault")]
    JournalPoisoned(String),
    /// Stored data is not what the vault writes: a corrupt journal frame or nonce file,
    /// an unexpected file, a row that refers to a missing one, a re-sealed record that
    /// changed more than its envelope.
    #[error("{0}")]
    Corrupt(String),
    /// An internal fault with no lower-level cause: a worker thread that stopped or
    /// panicked, a missing result, a size past an internal limit.
    #[error("{0}")]
    Internal(String),
}

/// How recording evidence failed ([`Error::Evidence`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvidenceError {
    /// The evidence log (`affix-logstore`) failed.
    #[error(transparent)]
    Log(#[from] affix_logstore::Error),
    /// An evidence record could not be built or decoded (`affix-evidence`).
    #[error(transparent)]
    Record(#[from] affix_evidence::Error),
    /// The group commit this operation was part of failed; every operation of that
    /// commit gets this same error.
    #[error("group commit failed: {0}")]
    CommitFailed(#[source] Arc<Error>),
    /// An earlier group commit failed with what reached the disk unknown: nothing more
    /// commits until the vault is reopened.
    #[error("an earlier commit failed ({0}); reopen the vault")]
    Poisoned(#[source] Arc<Error>),
    /// The drainer could not move committed records into the log (its last error; the
    /// records stay in the journal or the store and are retried).
    #[error("draining into the log failed: {0}")]
    DrainFailed(#[source] Arc<Error>),
    /// A record is missing where the vault's own bookkeeping says it is (a leaf in
    /// neither the log, the journal nor the store; a creation batch with a key missing).
    #[error("{0}")]
    Missing(String),
}

macro_rules! store_error {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Error::Store(StoreError::Database(e.into()))
            }
        }
    )*};
}
store_error!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

impl From<affix_logstore::Error> for Error {
    fn from(e: affix_logstore::Error) -> Self {
        Error::Evidence(EvidenceError::Log(e))
    }
}

impl From<affix_evidence::Error> for Error {
    fn from(e: affix_evidence::Error) -> Self {
        Error::Evidence(EvidenceError::Record(e))
    }
}

impl Error {
    /// [`StoreError::Io`]: `context` says what was done to which path.
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Store(StoreError::Io {
            context: context.into(),
            source,
        })
    }

    /// [`StoreError::Corrupt`].
    pub(crate) fn corrupt(what: impl Into<String>) -> Self {
        Error::Store(StoreError::Corrupt(what.into()))
    }

    /// [`StoreError::Internal`].
    pub(crate) fn internal(what: impl Into<String>) -> Self {
        Error::Store(StoreError::Internal(what.into()))
    }

    /// [`EvidenceError::Missing`].
    pub(crate) fn missing_evidence(what: impl Into<String>) -> Self {
        Error::Evidence(EvidenceError::Missing(what.into()))
    }

    /// This error as one shared by every operation of a failed group commit.
    pub(crate) fn shared(self) -> Arc<Error> {
        match self {
            Error::Evidence(EvidenceError::CommitFailed(e)) => e,
            e => Arc::new(e),
        }
    }

    /// One operation's answer when the group commit it was part of failed with `shared`.
    pub(crate) fn commit_failed(shared: &Arc<Error>) -> Self {
        match &**shared {
            Error::Evidence(EvidenceError::Poisoned(earlier)) => {
                Error::Evidence(EvidenceError::Poisoned(earlier.clone()))
            }
            _ => Error::Evidence(EvidenceError::CommitFailed(shared.clone())),
        }
    }
}

pub(crate) fn malformed(what: &'static str, detail: impl Into<String>) -> Error {
    Error::Malformed {
        what,
        detail: detail.into(),
    }
}
