//! The vault's one error type.

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
    /// The authorization was refused (bad signature, expired, replayed, wrong key, digest
    /// or credential, revoked credential, grant out of scope). HTTP 403.
    #[error("authorization refused: {0}")]
    Unauthorized(String),
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
