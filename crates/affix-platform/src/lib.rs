//! The Affix signing platform: tenants, people, contracts and the signing ceremony, with
//! an evidence record and a ledger receipt for every step (`affix-server` serves it over
//! HTTP).
//!
//! This crate is the I/O shell around the pure cores: `affix-contract` decides every
//! transition, `affix-identity` checks identities, `affix-vault` holds and uses signing
//! keys, `affix-pki`/`affix-tsp`/`affix-cms` make certificates, time-stamps and CMS
//! signatures, `affix-node` carries evidence records to the consortium ledger and brings
//! back receipts, `affix-notify` delivers messages. Here they are wired together and
//! persisted (sqlx: SQLite embedded by default, PostgreSQL in production).
//!
//! The crate knows neither HTTP nor JSON on the wire: `affix-server` puts the API in front
//! of it. Every operation takes the caller ([`Principal`]) and reports refusals as
//! [`Error`]s, each of a [`ProblemType`].
//!
//! - [`config`]: settings (TOML file and `AFFIX_*` environment variables).
//! - [`launch`]: the platform wired from a configuration, with its ledger and loops.
//! - [`store`]: the database: connection, migrations for both engines.
//! - [`authority`]: the platform's CA and TSA, in process.
//! - [`service`]: the platform's operations, each checked against the caller's role and
//!   tenant; every contract step appends an event to the contract's chain and queues its
//!   evidence record in the same database transaction.
//! - [`evidence`]: the background loop that submits queued records to the ledger and
//!   stores the receipts.
//! - [`webhooks`]: the tenants' webhooks (Standard Webhooks) and their delivery loop.
//! - [`outbox`]: the e-mail file outbox (the default without an SMTP relay).
//! - [`bundle`]: the evidence and litigation bundles and their offline verifiers.
//! - [`stages`]: time per stage of a signing flow, for the benchmark.
//!
//! The `bench` feature (for `affix-bench` only) adds `seed`, bulk seeding of the store,
//! `stages`, the signing path's stage timers, and `launch::open_with_clock`.
#![forbid(unsafe_code)]

pub mod authority;
pub mod config;
mod error;
pub mod evidence;
pub mod launch;
pub mod outbox;
mod problem;
#[cfg(feature = "bench")]
pub mod seed;
pub mod service;
// Stage timers are recorded always (relaxed atomic adds); only the benchmark reads them,
// so the module is public with the `bench` feature alone.
#[cfg(feature = "bench")]
pub mod stages;
#[cfg(not(feature = "bench"))]
#[allow(unreachable_pub, dead_code)]
mod stages;
pub mod store;
pub mod webhooks;

/// The evidence and litigation bundles ([`affix_bundle`]), which the platform builds.
pub use affix_bundle as bundle;
pub use config::Config;
pub use error::{Error, vault_problem};
pub use problem::ProblemType;
pub use service::{Platform, Principal, Role};

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
