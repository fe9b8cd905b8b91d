//! The Affix key vault: a virtualized HSM for millions of signers.
//!
//! - Every private key is generated inside the vault and stored once, sealed with
//!   AES-256-GCM under a per-tenant key-encryption key (KEK) with the tenant, key id,
//!   owner, algorithm and public key bound as associated data ([`record`]). KEKs are
//!   wrapped by a master key from `affix-seal` (key file, passphrase, Shamir shares or a
//!   PKCS#11 token). Master-key rotation re-seals every key and wallet seed, resumably ([`rotation`]).
//! - A key signs only with a fresh [`Authorization`] from its owner's registered
//!   credential (or a grantee's under a delegated [`GrantRecord`]) bound to exactly what is
//!   signed ([`authz`]); replays, expired and mismatched authorizations are refused, each
//!   with its typed reason ([`Error::AuthorizationRefused`] with a [`Refusal`]).
//!   Credentials are device keys (Ed25519, P-256), browser-held WebCrypto P-256 keys, or
//!   WebAuthn passkeys ([`Vault::register_passkey`]), whose authorizations are assertions
//!   over [`webauthn_challenge`] that the vault verifies itself (relying party and
//!   allowed origins from [`VaultConfig::webauthn`], UP and UV, a sign counter stored in
//!   the commit of each use, never lowered).
//! - Every creation, signature, grant, disablement, credential change and recovery step
//!   is an evidence record (`affix-evidence` format) in the vault's evidence log, durable
//!   before the caller gets an answer: no record, no signature ([`evidence`]).
//! - HD wallets ([`wallet`]): a BIP-39 seed generated inside the vault and sealed like a
//!   key; Ethereum, Bitcoin P2WPKH and Ed25519 keys derived per use (BIP-32/44/84,
//!   SLIP-0010) sign EIP-191 messages, raw hashes and Ed25519 messages on the owner's
//!   authorization. A seed leaves the vault only to its owner, through a seed-export
//!   recovery; e-signature keys never leave it.
//! - Recovery when an owner loses every authenticator binds a new credential to the
//!   existing keys after identity re-verification, an authority's approval and one more
//!   (the platform's or the owner's own recovery code), a notice to the owner and a
//!   cancellation window ([`recovery`]).
//!
//! - Many concurrent single requests are gathered into batches by the [`SignQueue`]
//!   (batch verification, one group commit per batch) without waiting for a batch to fill.
//!
//! This crate is an I/O shell (the embedded `redb` store, the signing journal and the
//! evidence log on disk, a drainer thread) around pure parts: record formats,
//! authorization statements and the recovery policy take time as a parameter and do no
//! I/O.
//!
//! # Modules
//!
//! - Pure: [`record`] (key, wallet, credential and grant records), [`authz`]
//!   (statements: [`UnboundStatement`] built by the client, bound to a credential and
//!   signed), `keys` (algorithms, signing, [`verify`]), `ids`, [`recovery`]'s
//!   completion rule, `error` ([`Error`], [`Refusal`], [`RecoveryRefusal`]).
//! - The store: `store` (redb tables and the byte layout of their composite keys, in one
//!   place), `journal` (the signing journal), [`evidence`] (the `vault.*` records).
//! - The service, [`Vault`] (`vault`), split into mechanism — `vault::commit` (the group
//!   commit), `vault::drain` (the drainer and the signature index), `vault::sealing`
//!   (tenants, KEKs, envelopes) — and policy: `vault::credentials`, `vault::nonces`,
//!   `vault::lifecycle` (key creation and disablement), `vault::signing`,
//!   `vault::grants`, `vault::audit`; beside it [`wallet`], [`recovery`], [`rotation`].
//! - Front ends: [`queue`] ([`SignQueue`]), [`handle`] (`signature::Signer` handles).
//! - `bench` (feature `bench` only): hooks for the benchmarks, not part of the API.
#![forbid(unsafe_code)]

pub mod authz;
mod error;
pub mod evidence;
pub mod handle;
mod ids;
mod journal;
mod keys;
pub mod queue;
pub mod record;
pub mod recovery;
pub mod rotation;
mod store;
mod vault;
pub mod wallet;

/// Hooks for the benchmarks, with the `bench` feature only: not part of the API.
#[cfg(feature = "bench")]
pub mod bench {
    pub use crate::keys::raw_signer;
}

pub use affix_wallet::{BitcoinNetwork, WordCount};
/// The WebAuthn core passkey credentials are verified with (relying party, assertions,
/// the software authenticator for tests).
pub use affix_webauthn;
pub use authz::{
    AUTHORIZATION_LIFETIME_MS_MAX, Action, Authorization, DeviceKey, PROOF_BYTES_MAX, Statement,
    UnboundStatement, fresh_nonce, webauthn_challenge,
};
pub use error::{Error, EvidenceError, RecoveryRefusal, Refusal, StoreError};
pub use handle::{Authorizer, VaultSigner};
pub use ids::{CredentialId, GrantId, KeyId, OwnerId, RecoveryId, TenantId, WalletId};
pub use keys::{Algorithm, MESSAGE_BYTES_MAX, Payload, SignatureBytes, verify};
pub use queue::{SignQueue, SignQueueConfig};
pub use record::{
    CredentialKind, CredentialRecord, GrantRecord, KeyRecord, PasskeyRecord, WalletRecord,
};
pub use vault::{
    AuditEntry, BATCH_REQUESTS_MAX, KEK_AAD_CONTEXT, KeyInfo, PasskeyRegistration, STORE_FORMAT,
    SignRequest, Signed, Vault, VaultConfig, credential_digest, default_relying_party,
};
pub use wallet::{
    WalletAddress, WalletChain, WalletInfo, WalletPayload, WalletSignRequest, WalletSigned,
    seed_export_digest, wallet_sign_digest,
};
