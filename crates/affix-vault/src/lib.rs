//! The Affix key vault: a virtualized HSM for millions of signers.
//!
//! - Every private key is generated inside the vault and stored once, sealed with
//!   AES-256-GCM under a per-tenant key-encryption key (KEK) with the tenant, key id,
//!   owner, algorithm and public key bound as associated data ([`record`]). KEKs are
//!   wrapped by a master key from `affix-seal` (key file, passphrase, Shamir shares or a
//!   PKCS#11 token). Master-key rotation re-seals every key and wallet seed, resumably ([`rotation`]).
//! - A key signs only with a fresh [`Authorization`] from its owner's registered
//!   credential (or a grantee's under a delegated [`GrantRecord`]) bound to exactly what is
//!   signed ([`authz`]); replays, expired and mismatched authorizations are refused.
//! - Every creation, signature, grant, disablement, credential change and recovery step
//!   is an evidence record (`affix-evidence` format) in the vault's evidence log, durable
//!   before the caller gets an answer: no record, no signature ([`evidence`]).
//! - HD wallets ([`wallet`]): a BIP-39 seed generated inside the vault and sealed like a
//!   key; Ethereum, Bitcoin P2WPKH and Ed25519 keys derived per use (BIP-32/44/84,
//!   SLIP-0010) sign EIP-191 messages, raw hashes and Ed25519 messages on the owner's
//!   authorization. A seed leaves the vault only to its owner, through a seed-export
//!   recovery; e-signature keys never leave it.
//! - Recovery when an owner loses every authenticator binds a new credential to the
//!   existing keys after identity re-verification, two of three independent approvals
//!   and a cancellation window ([`recovery`]).
//!
//! - Many concurrent single requests are gathered into batches by the [`SignQueue`]
//!   (batch verification, one group commit per batch) without waiting for a batch to fill.
//!
//! This crate is an I/O shell (the embedded `redb` store and the evidence log on disk)
//! around pure parts: record formats, authorization statements and the recovery policy
//! take time as a parameter and do no I/O.
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

pub use affix_wallet::{BitcoinNetwork, WordCount};
pub use authz::{
    Action, Authorization, DeviceKey, MAX_AUTHORIZATION_LIFETIME_MS, Statement, fresh_nonce,
};
pub use error::Error;
pub use handle::{Authorizer, VaultSigner};
pub use ids::{CredentialId, GrantId, KeyId, OwnerId, RecoveryId, TenantId, WalletId};
pub use keys::{Algorithm, MAX_MESSAGE_BYTES, Payload, SignatureBytes, raw_signer, verify};
pub use queue::{SignQueue, SignQueueConfig};
pub use record::{CredentialKind, CredentialRecord, GrantRecord, KeyRecord, WalletRecord};
pub use vault::{
    AuditEntry, KEK_AAD_CONTEXT, KeyInfo, MAX_BATCH, STORE_FORMAT, SignRequest, Signed, Vault,
    VaultConfig, action_statement, credential_digest, sign_statement,
};
pub use wallet::{
    WalletAddress, WalletChain, WalletInfo, WalletPayload, WalletSignRequest, WalletSigned,
    seed_export_digest, wallet_sign_digest, wallet_sign_statement,
};
