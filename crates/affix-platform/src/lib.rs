//! The Affix signing platform: tenants, people, contracts and the signing ceremony, with
//! an evidence record and a ledger receipt for every step, behind an HTTP API.
//!
//! This crate is the I/O shell around the pure cores: `affix-contract` decides every
//! transition, `affix-identity` checks identities, `affix-vault` holds and uses signing
//! keys, `affix-pki`/`affix-tsp`/`affix-cms` make certificates, time-stamps and CMS
//! signatures, `affix-node` carries evidence records to the consortium ledger and brings
//! back receipts, `affix-notify` delivers messages. Here they are wired together and
//! persisted (sqlx: SQLite embedded by default, PostgreSQL in production).
//!
//! - [`config`]: settings (TOML file and `AFFIX_*` environment variables).
//! - [`store`]: the database: connection, migrations for both engines.
//! - [`authority`]: the platform's CA and TSA, in process.
//! - [`service`]: the platform's operations, each checked against the caller's role and
//!   tenant; every contract step appends an event to the contract's chain and queues its
//!   evidence record in the same database transaction.
//! - [`evidence`]: the background loop that submits queued records to the ledger and
//!   stores the receipts.
//! - [`bundle`]: the evidence bundle (format v1) and its offline verifier.
//! - [`http`]: the axum API (problem+json errors, idempotency keys, limits), and
//!   [`openapi`] its OpenAPI 3.1 document.
//!
//! The `bench` feature (for `affix-bench` only) adds `seed`, bulk seeding of the store,
//! `stages`, the signing path's stage timers, and `server::open_with_clock`.
#![forbid(unsafe_code)]

pub mod authority;
pub mod config;
pub mod evidence;
pub mod http;
pub mod openapi;
pub mod outbox;
#[cfg(feature = "bench")]
pub mod seed;
pub mod server;
pub mod service;
// Stage timers are recorded always (relaxed atomic adds); only the benchmark reads them,
// so the module is public with the `bench` feature alone.
#[cfg(feature = "bench")]
pub mod stages;
#[cfg(not(feature = "bench"))]
#[allow(unreachable_pub, dead_code)]
mod stages;
pub mod store;
pub mod vault_api;
pub mod webhooks;

/// The evidence and litigation bundles ([`affix_bundle`]), which the platform builds.
pub use affix_bundle as bundle;
pub use config::Config;
pub use service::{Platform, Principal, Role};

/// Everything that can go wrong on the platform. Each variant maps to one HTTP status
/// and problem type in [`http`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No credentials, or credentials that do not match anything. HTTP 401.
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// The caller's role does not allow this. HTTP 403.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// No such object in the caller's tenant (other tenants' objects look the same).
    /// HTTP 404.
    #[error("not found: {0}")]
    NotFound(String),
    /// Input that does not parse or violates a rule. HTTP 400 or 422.
    #[error("{detail}")]
    Invalid {
        /// Problem type (`invalid-json`, `invalid-field`, `invalid-resident-id`, ...).
        kind: &'static str,
        /// Human-readable detail.
        detail: String,
    },
    /// A contract template refused its fields; every failing field is listed. HTTP 422.
    #[error("{} field(s) invalid", .0.len())]
    Fields(Vec<affix_contract::FieldError>),
    /// The request conflicts with the current state (wrong step, not your turn, already
    /// signed, concurrent change). HTTP 409.
    #[error("{detail}")]
    Conflict {
        /// Problem type.
        kind: &'static str,
        /// Detail.
        detail: String,
    },
    /// The invite link, code or prepared signature has expired. HTTP 410.
    #[error("expired: {0}")]
    Expired(String),
    /// A body or field over its limit. HTTP 413.
    #[error("{what} too large: at most {max} bytes")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// The limit in bytes.
        max: usize,
    },
    /// Too many requests. HTTP 429.
    #[error("rate limited: retry in {retry_after_s} s")]
    RateLimited {
        /// Seconds until a retry may succeed.
        retry_after_s: u64,
    },
    /// The server is at capacity (queue full). HTTP 503.
    #[error("busy: {0}")]
    Busy(String),
    /// The key vault refused or failed.
    #[error("vault: {0}")]
    Vault(#[from] affix_vault::Error),
    /// The contract core refused a transition or an encoding.
    #[error("contract: {0}")]
    Contract(affix_contract::Error),
    /// An identity check failed (bad ID number, wrong or expired code, ...).
    #[error("identity: {0}")]
    Identity(#[from] affix_identity::Error),
    /// The ledger could not be reached or refused a record.
    #[error("ledger: {0}")]
    Ledger(String),
    /// Certificates, time-stamps or CMS.
    #[error("PKI: {0}")]
    Pki(String),
    /// A notification could not be queued.
    #[error("notification: {0}")]
    Notify(String),
    /// The database.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// Files.
    #[error("I/O: {0}")]
    Io(String),
    /// Configuration.
    #[error("configuration: {0}")]
    Config(String),
    /// A fault of ours (stored data that does not decode, a lock poisoned).
    #[error("internal: {0}")]
    Internal(String),
}

impl From<affix_contract::Error> for Error {
    fn from(e: affix_contract::Error) -> Self {
        match e {
            affix_contract::Error::FieldsInvalid { errors } => Error::Fields(errors),
            other => Error::Contract(other),
        }
    }
}

/// Unix milliseconds of `t` (0 before the epoch).
pub(crate) fn unix_ms(t: std::time::SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `SystemTime` of Unix milliseconds.
pub(crate) fn system_time(ms: u64) -> std::time::SystemTime {
    std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms)
}

/// A random generator for the pure cores' `CryptoRng` parameters: SHA-256 in counter
/// mode over a 32-byte seed drawn from the operating system at construction.
pub(crate) struct OsSeeded {
    seed: zeroize::Zeroizing<[u8; 32]>,
    counter: u64,
    buffer: Vec<u8>,
}

impl OsSeeded {
    pub(crate) fn new() -> Result<Self, Error> {
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut()).map_err(|e| Error::Internal(format!("randomness: {e}")))?;
        Ok(Self {
            seed,
            counter: 0,
            buffer: Vec::new(),
        })
    }
}

impl Drop for OsSeeded {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.buffer);
    }
}

impl rand_core::TryRng for OsSeeded {
    type Error = core::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        use sha2::{Digest as _, Sha256};
        while self.buffer.len() < dst.len() {
            let mut h = Sha256::new();
            h.update(b"affix.dev/platform/rng/v1\0");
            h.update(self.seed.as_slice());
            h.update(self.counter.to_be_bytes());
            self.buffer.extend_from_slice(&h.finalize());
            self.counter += 1;
        }
        let rest = self.buffer.split_off(dst.len());
        dst.copy_from_slice(&self.buffer);
        zeroize::Zeroize::zeroize(&mut self.buffer);
        self.buffer = rest;
        Ok(())
    }
}

impl rand_core::TryCryptoRng for OsSeeded {}

/// Random bytes from the operating system.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], Error> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|e| Error::Internal(format!("randomness: {e}")))?;
    Ok(out)
}
