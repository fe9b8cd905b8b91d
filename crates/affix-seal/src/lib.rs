//! Master keys of the Affix key vault: the keys that wrap the vault's key-encryption keys.
//!
//! This is an **I/O shell**: it reads and writes key files, draws randomness from the
//! operating system and talks to PKCS#11 modules. The vault encrypts each user private
//! key under a key-encryption key ([`Kek`], 32 random bytes, AES-256-GCM); a KEK is stored
//! only wrapped ([`WrappedKek`]) by a [`MasterKey`] from one of four sources:
//!
//! | Source | Type | For |
//! |---|---|---|
//! | a key file (32 random bytes, mode 0600) | [`KeyFileMaster`] | development, tests |
//! | an operator passphrase through Argon2id | [`PassphraseMaster`] | small single-operator installations |
//! | Shamir k-of-n shares held by officers | [`ShamirMaster`] | no single person can unseal the vault |
//! | an AES-256 key inside a PKCS#11 token (HSM) | [`Pkcs11Master`] | production: the master key never leaves the token |
//!
//! **Wrapped KEK format v1** (61 bytes, the same for every source):
//!
//! ```text
//! 0x01 || nonce (12) || AES-256-GCM ciphertext of the KEK (32) || tag (16)
//! GCM associated data = 0x01 || caller's aad
//! ```
//!
//! The version byte is authenticated too, so neither it nor the caller's context (the vault
//! passes `"affix.dev/vault/kek/v1" || kek id`) can be changed without the unwrap failing.
//! Nonces are 96 random bits; keep below 2^32 wraps per master key (the vault wraps one
//! KEK per key set, far fewer).
//!
//! **Secrets.** [`Kek`], [`Passphrase`], [`Pin`], [`Share`] and every master secret are
//! zeroized on drop, print as `[REDACTED]` and implement no serialization; errors never
//! contain secret bytes.
#![forbid(unsafe_code)]

use std::fmt;
use std::path::PathBuf;

use sha2::{Digest as _, Sha256};
use zeroize::{Zeroize as _, Zeroizing};

mod files;
mod key_file;
mod passphrase;
mod pkcs11;
pub mod secret_file;
mod shamir;
mod soft;

pub use key_file::KeyFileMaster;
pub use passphrase::{KdfParams, MAX_PASSPHRASE_BYTES, Passphrase, PassphraseMaster};
pub use pkcs11::{MAX_PIN_BYTES, Pin, Pkcs11Master, Pkcs11Token};
pub use shamir::{MAX_SHARE_TEXT_BYTES, ShamirMaster, Share};

/// The `cryptoki` release this crate is built on, for callers of
/// [`Pkcs11Token::open_session`] (the vault benchmark's PKCS#11 signing peer).
pub use cryptoki;

/// Length of a key-encryption key and of every software master secret.
pub const KEY_BYTES: usize = 32;

/// Version byte of the wrapped KEK format this crate writes.
pub const WRAPPED_KEK_VERSION: u8 = 1;

/// Length of an AES-GCM nonce in a wrapped KEK.
pub const NONCE_BYTES: usize = 12;

/// Length of an AES-GCM tag in a wrapped KEK.
pub const TAG_BYTES: usize = 16;

/// Length of an encoded [`WrappedKek`] (version 1).
pub const WRAPPED_KEK_BYTES: usize = 1 + NONCE_BYTES + KEY_BYTES + TAG_BYTES;

/// Largest associated data accepted by [`MasterKey::wrap`] and [`MasterKey::unwrap`].
pub const MAX_AAD_BYTES: usize = 1024;

/// Longest [`MasterKeyId`].
pub const MAX_MASTER_KEY_ID_BYTES: usize = 160;

/// Errors from master keys.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system I/O error, with what was being done to which file.
    #[error("{op} {path}: {source}")]
    Io {
        /// The operation.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// `create` (and [`secret_file::create_new`]) refuses to overwrite an existing file.
    #[error("{0} already exists; refusing to overwrite a secret file")]
    AlreadyExists(PathBuf),
    /// A secret file that the group or others may read or write.
    #[error(
        "{path} has mode {mode:03o}; a secret file must not be accessible to group or others (chmod 600)"
    )]
    InsecurePermissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// [`secret_file::read_owner_only`] found something other than a regular file.
    #[error("{0} is not a regular file")]
    NotARegularFile(PathBuf),
    /// [`secret_file::read_owner_only`] found a file over the caller's limit.
    #[error("{path} is larger than {max_bytes} bytes")]
    FileTooLarge {
        /// The file.
        path: PathBuf,
        /// The limit.
        max_bytes: usize,
    },
    /// A key file or passphrase header that is not in the expected format.
    #[error("{path} is not a valid master key file: {reason}")]
    MalformedFile {
        /// The file.
        path: PathBuf,
        /// What is wrong (never contains file content).
        reason: &'static str,
    },
    /// Bytes that are not a wrapped KEK of a known version and length.
    #[error("malformed wrapped KEK: {0}")]
    MalformedWrappedKek(&'static str),
    /// The wrapped KEK does not authenticate under this master key and associated data:
    /// it was altered, the context differs, or another master key wrapped it.
    #[error(
        "wrapped KEK does not authenticate (altered, different context, or another master key)"
    )]
    UnwrapFailed,
    /// Associated data longer than [`MAX_AAD_BYTES`].
    #[error("associated data of {len} bytes exceeds {MAX_AAD_BYTES}")]
    AadTooLong {
        /// Its length.
        len: usize,
    },
    /// The passphrase does not derive the key recorded in the header's key-check value.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// An empty or overlong passphrase or PIN.
    #[error("invalid {what}: {reason}")]
    InvalidSecretText {
        /// `"passphrase"` or `"PIN"`.
        what: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// Argon2id parameters out of range.
    #[error("invalid Argon2id parameters: {0}")]
    InvalidKdfParams(&'static str),
    /// The Argon2id computation failed.
    #[error("Argon2id failed: {0}")]
    Kdf(argon2::Error),
    /// A threshold or share count that cannot be used (need 2 ≤ k ≤ n ≤ 255).
    #[error("invalid sharing {threshold}-of-{shares}: need 2 <= k <= n <= 255")]
    InvalidSharing {
        /// Requested threshold k.
        threshold: u8,
        /// Requested number of shares n.
        shares: u8,
    },
    /// Text that is not an `affix-share-v1` share.
    #[error("malformed share: {0}")]
    MalformedShare(&'static str),
    /// A share whose checksum does not match: most likely mistyped.
    #[error("share {index} fails its checksum (mistyped?)")]
    ShareChecksumMismatch {
        /// The share's index as written in it (may itself be the mistyped part).
        index: u8,
    },
    /// Fewer distinct shares than the threshold.
    #[error("{got} distinct shares given, {needed} needed")]
    NotEnoughShares {
        /// The threshold.
        needed: u8,
        /// Distinct shares given.
        got: usize,
    },
    /// Shares from different splits, with different thresholds, or two different shares
    /// with the same index.
    #[error("shares do not belong together: {0}")]
    InconsistentShares(&'static str),
    /// The shares combined to a secret whose key-check value differs from the one they
    /// carry: at least one share is wrong although its checksum matches.
    #[error("combined shares do not reproduce the master key (a share is wrong)")]
    CombinedKeyMismatch,
    /// The operating system's random number generator failed.
    #[error("random number generator failed: {0}")]
    Random(getrandom::Error),
    /// A PKCS#11 call failed.
    #[error("PKCS#11 {op}: {source}")]
    Pkcs11 {
        /// What was being done.
        op: &'static str,
        /// The module's error.
        source: cryptoki::error::Error,
    },
    /// The token refused the user PIN.
    #[error("PKCS#11 token refused the PIN")]
    WrongPin,
    /// No token with this label in any slot of the module.
    #[error("no PKCS#11 token labelled {0:?}")]
    TokenNotFound(String),
    /// No AES secret key with this label on the token.
    #[error("no AES key labelled {label:?} on token {token:?}")]
    KeyNotFound {
        /// The token label.
        token: String,
        /// The key label.
        label: String,
    },
    /// More than one AES secret key with this label: the master key must be unambiguous.
    #[error("{count} AES keys labelled {label:?} on token {token:?}")]
    KeyAmbiguous {
        /// The token label.
        token: String,
        /// The key label.
        label: String,
        /// How many.
        count: usize,
    },
    /// `generate` found a key with this label already.
    #[error("an AES key labelled {label:?} already exists on token {token:?}")]
    KeyAlreadyExists {
        /// The token label.
        token: String,
        /// The key label.
        label: String,
    },
    /// A token key that may not serve as a master key (wrong size, extractable, …).
    #[error("PKCS#11 key refused as master key: {0}")]
    KeyRejected(&'static str),
    /// The token does not offer a mechanism this operation needs.
    #[error("PKCS#11 token does not support {0}")]
    MechanismNotSupported(&'static str),
    /// The token answered with output of an unexpected shape.
    #[error("PKCS#11 token returned unexpected output: {0}")]
    UnexpectedTokenOutput(&'static str),
    /// An invalid label, identifier or count passed by the caller.
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
}

/// A source of master keys: wraps and unwraps the vault's key-encryption keys.
///
/// Implementations are cheap to share between threads; each call is independent.
pub trait MasterKey: Send + Sync {
    /// Stable identifier of this master key (for example `file:<key-check value>` or
    /// `pkcs11:<token label>/<key label>`), stored beside wrapped KEKs so the vault knows
    /// which master key wrapped them.
    fn id(&self) -> &MasterKeyId;

    /// Wraps a KEK; `aad` binds context (the vault passes
    /// `"affix.dev/vault/kek/v1" || kek id`). The output is self-describing (version byte,
    /// nonce, ciphertext and tag).
    fn wrap(&self, kek: &Kek, aad: &[u8]) -> Result<WrappedKek, Error>;

    /// Unwraps a KEK wrapped by this master key under the same `aad`. Any alteration of
    /// the wrapped bytes or the `aad`, or another master key, gives
    /// [`Error::UnwrapFailed`] — never a wrong key.
    fn unwrap(&self, wrapped: &WrappedKek, aad: &[u8]) -> Result<Kek, Error>;
}

/// The stable identifier of a master key: printable ASCII, at most
/// [`MAX_MASTER_KEY_ID_BYTES`] bytes.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct MasterKeyId(String);

impl MasterKeyId {
    /// Parses an identifier, as stored beside wrapped KEKs.
    pub fn parse(text: &str) -> Result<Self, Error> {
        if text.is_empty() || text.len() > MAX_MASTER_KEY_ID_BYTES {
            return Err(Error::InvalidArgument("master key id length"));
        }
        if !text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Err(Error::InvalidArgument(
                "master key id must be printable ASCII",
            ));
        }
        Ok(Self(text.to_owned()))
    }

    /// The identifier as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MasterKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A key-encryption key: 32 secret bytes, zeroized on drop, redacted in `Debug`.
#[derive(Clone)]
pub struct Kek(Zeroizing<[u8; KEY_BYTES]>);

impl Kek {
    /// A fresh KEK from `rng`.
    pub fn generate(rng: &mut impl rand_core::CryptoRng) -> Self {
        let mut bytes = Zeroizing::new([0u8; KEY_BYTES]);
        rng.fill_bytes(bytes.as_mut());
        Self(bytes)
    }

    /// A fresh KEK from the operating system's random number generator.
    pub fn random() -> Result<Self, Error> {
        let mut bytes = Zeroizing::new([0u8; KEY_BYTES]);
        getrandom::fill(bytes.as_mut()).map_err(Error::Random)?;
        Ok(Self(bytes))
    }

    /// A KEK from its bytes (for the vault, which uses it as an AES-256 key).
    pub fn from_bytes(bytes: [u8; KEY_BYTES]) -> Self {
        let mut bytes = bytes;
        let kek = Self(Zeroizing::new(bytes));
        bytes.zeroize();
        kek
    }

    /// The secret bytes. Do not copy them anywhere that outlives the `Kek`.
    pub fn expose_secret(&self) -> &[u8; KEY_BYTES] {
        &self.0
    }
}

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Kek([REDACTED])")
    }
}

/// A wrapped KEK in format version 1 (see the crate documentation). Not secret.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct WrappedKek([u8; WRAPPED_KEK_BYTES]);

impl WrappedKek {
    /// Parses stored bytes: exactly [`WRAPPED_KEK_BYTES`] bytes of a known version.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let Some(&version) = bytes.first() else {
            return Err(Error::MalformedWrappedKek("empty"));
        };
        if version != WRAPPED_KEK_VERSION {
            return Err(Error::MalformedWrappedKek("unknown version"));
        }
        let array = <[u8; WRAPPED_KEK_BYTES]>::try_from(bytes)
            .map_err(|_| Error::MalformedWrappedKek("wrong length for version 1"))?;
        Ok(Self(array))
    }

    /// The encoding to store.
    pub fn as_bytes(&self) -> &[u8; WRAPPED_KEK_BYTES] {
        &self.0
    }

    fn from_parts(nonce: &[u8; NONCE_BYTES], ciphertext_and_tag: &[u8]) -> Result<Self, Error> {
        if ciphertext_and_tag.len() != KEY_BYTES + TAG_BYTES {
            return Err(Error::UnexpectedTokenOutput("ciphertext length"));
        }
        let mut out = [0u8; WRAPPED_KEK_BYTES];
        out[0] = WRAPPED_KEK_VERSION;
        out[1..1 + NONCE_BYTES].copy_from_slice(nonce);
        out[1 + NONCE_BYTES..].copy_from_slice(ciphertext_and_tag);
        Ok(Self(out))
    }

    fn nonce(&self) -> [u8; NONCE_BYTES] {
        let mut nonce = [0u8; NONCE_BYTES];
        nonce.copy_from_slice(&self.0[1..1 + NONCE_BYTES]);
        nonce
    }

    fn ciphertext_and_tag(&self) -> &[u8] {
        &self.0[1 + NONCE_BYTES..]
    }
}

/// The GCM associated data for a wrap: the format version, then the caller's context.
fn gcm_aad(aad: &[u8]) -> Result<Vec<u8>, Error> {
    if aad.len() > MAX_AAD_BYTES {
        return Err(Error::AadTooLong { len: aad.len() });
    }
    let mut out = Vec::with_capacity(1 + aad.len());
    out.push(WRAPPED_KEK_VERSION);
    out.extend_from_slice(aad);
    Ok(out)
}

fn random_nonce() -> Result<[u8; NONCE_BYTES], Error> {
    let mut nonce = [0u8; NONCE_BYTES];
    getrandom::fill(&mut nonce).map_err(Error::Random)?;
    Ok(nonce)
}

/// Length of a key-check value.
const KCV_BYTES: usize = 8;

/// A key-check value: the first 8 bytes of SHA-256 over a domain-separation string and the
/// secret. It identifies a software master secret and confirms a reconstruction without
/// revealing the secret.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct KeyCheckValue([u8; KCV_BYTES]);

impl KeyCheckValue {
    fn of(secret: &[u8; KEY_BYTES]) -> Self {
        let digest = Sha256::new()
            .chain_update(b"affix.dev/seal/kcv/v1\0")
            .chain_update(secret)
            .finalize();
        let mut out = [0u8; KCV_BYTES];
        out.copy_from_slice(&digest[..KCV_BYTES]);
        Self(out)
    }

    fn parse_hex(text: &str) -> Option<Self> {
        let mut out = [0u8; KCV_BYTES];
        hex::decode_to_slice(text, &mut out).ok()?;
        Some(Self(out))
    }

    fn to_hex(self) -> String {
        hex::encode(self.0)
    }

    /// Comparison that does not stop at the first differing byte.
    fn matches(&self, other: &Self) -> bool {
        self.0
            .iter()
            .zip(other.0.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}
