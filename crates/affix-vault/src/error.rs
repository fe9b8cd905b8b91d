//! The vault's one error type, and the reasons it refuses an authorization.

use crate::authz::{AUTHORIZATION_LIFETIME_MS_MAX, Action};
use crate::ids::GrantId;

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
    /// A recovery step was refused by the recovery policy. HTTP 409.
    #[error("recovery refused: {0}")]
    RecoveryRefused(String),
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
    /// The embedded database failed.
    #[error("key store: {0}")]
    Store(String),
    /// The evidence log failed; nothing was acknowledged.
    #[error("evidence log: {0}")]
    Evidence(String),
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
    /// The owner already has credentials: registering another needs an authorization by
    /// one of them.
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

impl From<Refusal> for Error {
    fn from(refusal: Refusal) -> Self {
        Error::AuthorizationRefused(refusal)
    }
}

macro_rules! store_error {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Error::Store(e.to_string())
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
    redb::CommitError
);

impl From<affix_logstore::Error> for Error {
    fn from(e: affix_logstore::Error) -> Self {
        Error::Evidence(e.to_string())
    }
}

impl From<affix_evidence::Error> for Error {
    fn from(e: affix_evidence::Error) -> Self {
        Error::Evidence(e.to_string())
    }
}

pub(crate) fn malformed(what: &'static str, detail: impl Into<String>) -> Error {
    Error::Malformed {
        what,
        detail: detail.into(),
    }
}
