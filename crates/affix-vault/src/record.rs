//! Stored record formats, version 1. Frozen by `tests/vectors/`.
//!
//! ```text
//! KeyRecord (value of table `keys`, under the 16-byte key id)
//!   version      u8      0x01
//!   algorithm    u8      Algorithm::code
//!   tenant       u32 BE  tenant number (table `tenants`)
//!   owner        16      OwnerId
//!   created_ms   u64 BE
//!   kek_gen      u32 BE  generation of the key-encryption key
//!   public_key   32 (Ed25519) or 33 (compressed SEC1 point)
//!   sealed       48      AES-256-GCM(KEK, nonce = key id[0..12],
//!                                    aad = KEY_AAD_CONTEXT ‖ u8 len ‖ tenant name ‖
//!                                          key id ‖ every byte above) of the 32-byte secret
//!
//! CredentialRecord (value of table `credentials`, under the credential id)
//!   version u8 0x01 ‖ kind u8 (1 Ed25519, 2 ECDSA P-256, 3 passkey ES256,
//!   4 passkey EdDSA, 5 browser-held WebCrypto P-256) ‖ tenant u32 BE ‖ owner 16 ‖
//!   created_ms u64 BE ‖ public key (Ed25519: 32; P-256 and browser P-256: 33
//!   compressed; passkeys: u16 BE length ‖ the COSE_Key, at most 256 bytes)
//!
//! PasskeyRecord (value of table `passkeys`, under the vault's credential id; beside
//! the credential record of a passkey kind)
//!   version u8 0x01 ‖ attestation u8 (0 none, 1 packed self) ‖ aaguid 16 ‖
//!   rp id: u8 len + bytes ‖ WebAuthn credential id: u16 BE len + bytes (≤ 1023)
//!
//! WalletRecord (value of table `wallets`, under the 16-byte wallet id), 82 bytes
//!   version      u8      0x01
//!   words        u8      12 or 24 (BIP-39 entropy of 16 or 32 bytes)
//!   tenant       u32 BE
//!   owner        16      OwnerId
//!   created_ms   u64 BE
//!   kek_gen      u32 BE
//!   sealed       48      AES-256-GCM(KEK, nonce = wallet id[0..12],
//!                                    aad = WALLET_AAD_CONTEXT ‖ u8 len ‖ tenant name ‖
//!                                          wallet id ‖ every byte above) of the
//!                        entropy, zero-padded to 32 bytes (checked zero on opening)
//!
//! GrantRecord (value of table `grants`, under the grant id)
//!   version u8 0x01 ‖ key id 16 ‖ grantee credential 16 ‖ not_after_ms u64 BE ‖
//!   max_uses u32 BE ‖ created_ms u64 BE ‖ purpose: u8 len + [a-z0-9._-]{1,64}
//! ```
//!
//! Everything in a key record except the sealed secret is authenticated as associated
//! data, together with the tenant's *name* and the key id: a record moved to another
//! tenant, key id, owner or algorithm, or with any byte flipped, fails decryption.

use crate::error::{Error, malformed};
use crate::ids::{CredentialId, KeyId, OwnerId, TenantId, WalletId};
use crate::keys::Algorithm;

/// Record format version written and read by this crate.
pub const RECORD_VERSION: u8 = 1;

/// Domain-separation prefix of a key envelope's associated data.
pub const KEY_AAD_CONTEXT: &[u8] = b"affix.dev/vault/key/v1\0";

/// Domain-separation prefix of a wallet seed envelope's associated data.
pub const WALLET_AAD_CONTEXT: &[u8] = b"affix.dev/vault/wallet/v1\0";

/// Length of an encoded [`WalletRecord`].
pub const WALLET_RECORD_LEN: usize = 34 + SEALED_LEN;

/// Length of a sealed secret: 32 bytes and the 16-byte GCM tag.
pub const SEALED_LEN: usize = 48;

/// A stored key: who owns it, its public key, and its sealed secret.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct KeyRecord {
    /// Signature algorithm.
    pub algorithm: Algorithm,
    /// Tenant number (see the `tenants` table).
    pub tenant: u32,
    /// Owner within the tenant.
    pub owner: OwnerId,
    /// Creation time.
    pub created_ms: u64,
    /// Generation of the KEK that sealed the secret.
    pub kek_gen: u32,
    /// Encoded public key.
    pub public_key: Vec<u8>,
    /// AES-256-GCM ciphertext and tag of the secret.
    pub sealed: [u8; SEALED_LEN],
}

impl KeyRecord {
    /// Bytes before the sealed secret (authenticated, not encrypted).
    pub fn header_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(34 + self.public_key.len());
        out.push(RECORD_VERSION);
        out.push(self.algorithm.code());
        out.extend_from_slice(&self.tenant.to_be_bytes());
        out.extend_from_slice(&self.owner.0);
        out.extend_from_slice(&self.created_ms.to_be_bytes());
        out.extend_from_slice(&self.kek_gen.to_be_bytes());
        out.extend_from_slice(&self.public_key);
        out
    }

    /// The encoded record.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.header_bytes();
        out.extend_from_slice(&self.sealed);
        out
    }

    /// Decodes a stored record strictly.
    ///
    /// # Errors
    /// [`Error::Malformed`] on a wrong version, algorithm or length.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes, "key record");
        let version = r.u8()?;
        if version != RECORD_VERSION {
            return Err(malformed("key record", format!("version {version}")));
        }
        let algorithm = Algorithm::from_code(r.u8()?)?;
        let tenant = r.u32()?;
        let owner = OwnerId(r.array()?);
        let created_ms = r.u64()?;
        let kek_gen = r.u32()?;
        let public_key = r.bytes(algorithm.public_key_len())?.to_vec();
        let sealed = r.array()?;
        r.end()?;
        Ok(Self {
            algorithm,
            tenant,
            owner,
            created_ms,
            kek_gen,
            public_key,
            sealed,
        })
    }

    /// The associated data of the envelope.
    pub fn aad(&self, tenant: &TenantId, id: &KeyId) -> Vec<u8> {
        let mut aad = Vec::with_capacity(KEY_AAD_CONTEXT.len() + 1 + 64 + 16 + 70);
        aad.extend_from_slice(KEY_AAD_CONTEXT);
        push_short(&mut aad, tenant.as_str().as_bytes());
        aad.extend_from_slice(&id.0);
        aad.extend_from_slice(&self.header_bytes());
        aad
    }
}

/// A stored HD wallet: who owns it and its sealed BIP-39 entropy. The mnemonic, the
/// BIP-39 seed and every derived key are rebuilt from the entropy for one operation and
/// zeroized after it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct WalletRecord {
    /// Mnemonic length: 12 or 24 words (16 or 32 bytes of entropy).
    pub words: u8,
    /// Tenant number.
    pub tenant: u32,
    /// Owner within the tenant.
    pub owner: OwnerId,
    /// Creation time.
    pub created_ms: u64,
    /// Generation of the KEK that sealed the entropy.
    pub kek_gen: u32,
    /// AES-256-GCM ciphertext and tag of the zero-padded entropy.
    pub sealed: [u8; SEALED_LEN],
}

impl WalletRecord {
    /// Bytes of entropy behind `words` words (12 → 16, 24 → 32).
    ///
    /// # Errors
    /// [`Error::Malformed`] for other word counts.
    pub fn entropy_len(words: u8) -> Result<usize, Error> {
        match words {
            12 => Ok(16),
            24 => Ok(32),
            _ => Err(malformed(
                "wallet",
                format!("{words} words; 12 or 24 are supported"),
            )),
        }
    }

    /// Bytes before the sealed entropy (authenticated, not encrypted).
    pub fn header_bytes(&self) -> [u8; 34] {
        let mut out = [0u8; 34];
        out[0] = RECORD_VERSION;
        out[1] = self.words;
        out[2..6].copy_from_slice(&self.tenant.to_be_bytes());
        out[6..22].copy_from_slice(&self.owner.0);
        out[22..30].copy_from_slice(&self.created_ms.to_be_bytes());
        out[30..34].copy_from_slice(&self.kek_gen.to_be_bytes());
        out
    }

    /// The encoded record ([`WALLET_RECORD_LEN`] bytes).
    pub fn encode(&self) -> [u8; WALLET_RECORD_LEN] {
        let mut out = [0u8; WALLET_RECORD_LEN];
        out[..34].copy_from_slice(&self.header_bytes());
        out[34..].copy_from_slice(&self.sealed);
        out
    }

    /// Decodes a stored record strictly.
    ///
    /// # Errors
    /// [`Error::Malformed`] on a wrong version, word count or length.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes, "wallet record");
        let version = r.u8()?;
        if version != RECORD_VERSION {
            return Err(malformed("wallet record", format!("version {version}")));
        }
        let words = r.u8()?;
        Self::entropy_len(words)?;
        let tenant = r.u32()?;
        let owner = OwnerId(r.array()?);
        let created_ms = r.u64()?;
        let kek_gen = r.u32()?;
        let sealed = r.array()?;
        r.end()?;
        Ok(Self {
            words,
            tenant,
            owner,
            created_ms,
            kek_gen,
            sealed,
        })
    }

    /// The associated data of the envelope.
    pub fn aad(&self, tenant: &TenantId, id: &WalletId) -> Vec<u8> {
        let mut aad = Vec::with_capacity(WALLET_AAD_CONTEXT.len() + 1 + 64 + 16 + 34);
        aad.extend_from_slice(WALLET_AAD_CONTEXT);
        push_short(&mut aad, tenant.as_str().as_bytes());
        aad.extend_from_slice(&id.0);
        aad.extend_from_slice(&self.header_bytes());
        aad
    }
}

/// Kind of an authenticator credential's key. Each is named in evidence
/// ([`CredentialKind::name`]), so a court sees which kind of credential approved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CredentialKind {
    /// An Ed25519 device key (app integrations: `affix device`).
    Ed25519,
    /// An ECDSA P-256 device key (signatures as fixed `r ‖ s`).
    EcdsaP256,
    /// A WebAuthn passkey with an ES256 key: authorizations are WebAuthn assertions
    /// whose challenge is the statement's digest ([`crate::authz::webauthn_challenge`]).
    PasskeyEs256,
    /// A WebAuthn passkey with an EdDSA (Ed25519) key.
    PasskeyEd25519,
    /// A browser-held key: a non-extractable WebCrypto ECDSA P-256 key kept in the
    /// signer's browser (IndexedDB), for browsers with no passkey provider. It verifies
    /// like [`CredentialKind::EcdsaP256`] (WebCrypto returns `r ‖ s`); the kind says
    /// where the key lives.
    BrowserP256,
}

impl CredentialKind {
    /// Every kind.
    pub const ALL: [CredentialKind; 5] = [
        CredentialKind::Ed25519,
        CredentialKind::EcdsaP256,
        CredentialKind::PasskeyEs256,
        CredentialKind::PasskeyEd25519,
        CredentialKind::BrowserP256,
    ];

    /// Stable code (frozen: codes are added, never renumbered).
    pub fn code(self) -> u8 {
        match self {
            CredentialKind::Ed25519 => 1,
            CredentialKind::EcdsaP256 => 2,
            CredentialKind::PasskeyEs256 => 3,
            CredentialKind::PasskeyEd25519 => 4,
            CredentialKind::BrowserP256 => 5,
        }
    }

    /// The kind for a code.
    ///
    /// # Errors
    /// [`Error::Malformed`] for an unknown code.
    pub fn from_code(code: u8) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|k| k.code() == code)
            .ok_or_else(|| malformed("credential kind", format!("unknown code {code}")))
    }

    /// Name used in the API and in evidence: `ed25519`, `ecdsa-p256`, `passkey-es256`,
    /// `passkey-ed25519`, `browser-p256`.
    pub fn name(self) -> &'static str {
        match self {
            CredentialKind::Ed25519 => "ed25519",
            CredentialKind::EcdsaP256 => "ecdsa-p256",
            CredentialKind::PasskeyEs256 => "passkey-es256",
            CredentialKind::PasskeyEd25519 => "passkey-ed25519",
            CredentialKind::BrowserP256 => "browser-p256",
        }
    }

    /// The kind with this name.
    ///
    /// # Errors
    /// [`Error::Malformed`] for an unknown name.
    pub fn from_name(name: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| {
                malformed(
                    "credential kind",
                    format!(
                        "{name:?}; expected ed25519, ecdsa-p256, passkey-es256, \
                         passkey-ed25519 or browser-p256"
                    ),
                )
            })
    }

    /// Whether the kind is a WebAuthn passkey (authorizations carry an assertion).
    pub fn is_passkey(self) -> bool {
        self.webauthn_algorithm().is_some()
    }

    /// The WebAuthn algorithm of a passkey kind.
    pub fn webauthn_algorithm(self) -> Option<affix_webauthn::Algorithm> {
        match self {
            CredentialKind::PasskeyEs256 => Some(affix_webauthn::Algorithm::Es256),
            CredentialKind::PasskeyEd25519 => Some(affix_webauthn::Algorithm::EdDsa),
            _ => None,
        }
    }

    /// The passkey kind of a WebAuthn algorithm.
    pub fn passkey(algorithm: affix_webauthn::Algorithm) -> Result<Self, Error> {
        match algorithm {
            affix_webauthn::Algorithm::Es256 => Ok(CredentialKind::PasskeyEs256),
            affix_webauthn::Algorithm::EdDsa => Ok(CredentialKind::PasskeyEd25519),
            other => Err(Error::Unsupported(format!(
                "no passkey kind for {}",
                other.name()
            ))),
        }
    }

    /// Fixed public key length, `None` for passkeys (length-prefixed COSE keys).
    fn public_key_len(self) -> Option<usize> {
        match self {
            CredentialKind::Ed25519 => Some(32),
            CredentialKind::EcdsaP256 | CredentialKind::BrowserP256 => Some(33),
            CredentialKind::PasskeyEs256 | CredentialKind::PasskeyEd25519 => None,
        }
    }
}

/// An authenticator credential registered to an owner.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CredentialRecord {
    /// Key kind.
    pub kind: CredentialKind,
    /// Tenant number.
    pub tenant: u32,
    /// Owner the credential authenticates.
    pub owner: OwnerId,
    /// Registration time.
    pub created_ms: u64,
    /// Public key (Ed25519: 32 bytes; P-256: compressed point).
    pub public_key: Vec<u8>,
}

impl CredentialRecord {
    /// Checks the public key parses for its kind.
    ///
    /// # Errors
    /// [`Error::Malformed`] otherwise.
    pub fn check_public_key(kind: CredentialKind, public_key: &[u8]) -> Result<(), Error> {
        match kind {
            CredentialKind::Ed25519 => {
                let key = ed25519_dalek::VerifyingKey::try_from(public_key)
                    .map_err(|_| malformed("credential public key", "not an Ed25519 key"))?;
                // Small-order keys would let batch verification accept what strict
                // verification refuses; no honest device has one.
                if key.is_weak() {
                    return Err(malformed(
                        "credential public key",
                        "a weak (small-order) key",
                    ));
                }
                Ok(())
            }
            CredentialKind::EcdsaP256 | CredentialKind::BrowserP256 => {
                if public_key.len() != 33 {
                    return Err(malformed(
                        "credential public key",
                        "expected a compressed P-256 point (33 bytes)",
                    ));
                }
                p256::ecdsa::VerifyingKey::from_sec1_bytes(public_key)
                    .map(|_| ())
                    .map_err(|_| malformed("credential public key", "not a P-256 point"))
            }
            // A passkey's key comes from a verified registration, never from a caller.
            CredentialKind::PasskeyEs256 | CredentialKind::PasskeyEd25519 => {
                Err(Error::Unsupported(
                    "passkeys are registered from a WebAuthn registration (Vault::register_passkey)"
                        .into(),
                ))
            }
        }
    }

    /// Checks that `cose_key` is a COSE key of passkey kind `kind`.
    ///
    /// # Errors
    /// [`Error::Malformed`] otherwise.
    pub fn check_cose_key(kind: CredentialKind, cose_key: &[u8]) -> Result<(), Error> {
        let key = affix_webauthn::PublicKey::from_cose(cose_key)
            .map_err(|e| malformed("credential public key", e.to_string()))?;
        if kind.webauthn_algorithm() != Some(key.algorithm()) {
            return Err(malformed(
                "credential public key",
                format!(
                    "a {} key for a {} credential",
                    key.algorithm().name(),
                    kind.name()
                ),
            ));
        }
        Ok(())
    }

    /// Encodes the record.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.push(RECORD_VERSION);
        out.push(self.kind.code());
        out.extend_from_slice(&self.tenant.to_be_bytes());
        out.extend_from_slice(&self.owner.0);
        out.extend_from_slice(&self.created_ms.to_be_bytes());
        if self.kind.public_key_len().is_none() {
            // COSE keys are at most COSE_KEY_BYTES_MAX (256) bytes: checked at
            // registration, and again when decoding.
            let len = u16::try_from(self.public_key.len()).unwrap_or(u16::MAX);
            out.extend_from_slice(&len.to_be_bytes());
        }
        out.extend_from_slice(&self.public_key);
        out
    }

    /// Decodes a record strictly.
    ///
    /// # Errors
    /// [`Error::Malformed`].
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes, "credential record");
        if r.u8()? != RECORD_VERSION {
            return Err(malformed("credential record", "version"));
        }
        let kind = CredentialKind::from_code(r.u8()?)?;
        let tenant = r.u32()?;
        let owner = OwnerId(r.array()?);
        let created_ms = r.u64()?;
        let len = match kind.public_key_len() {
            Some(len) => len,
            None => {
                let len = usize::from(u16::from_be_bytes(r.array()?));
                if len > affix_webauthn::COSE_KEY_BYTES_MAX {
                    return Err(malformed("credential record", "COSE key too long"));
                }
                len
            }
        };
        let public_key = r.bytes(len)?.to_vec();
        r.end()?;
        Ok(Self {
            kind,
            tenant,
            owner,
            created_ms,
            public_key,
        })
    }
}

/// What the vault keeps about a passkey beside its [`CredentialRecord`] (whose public
/// key is the passkey's COSE key). Insert-only; the sign counter lives apart (table
/// `sign_counts`), updated in the commit of each use.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PasskeyRecord {
    /// How the registration's attestation was checked.
    pub attestation: affix_webauthn::Attestation,
    /// The authenticator model the registration named (zeros when unattested).
    pub aaguid: [u8; 16],
    /// The relying-party id the passkey is scoped to.
    pub rp_id: String,
    /// The WebAuthn credential id (what the browser is asked for).
    pub webauthn_id: Vec<u8>,
}

impl PasskeyRecord {
    /// Encodes the record.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(24 + self.rp_id.len() + self.webauthn_id.len());
        out.push(RECORD_VERSION);
        out.push(self.attestation.code());
        out.extend_from_slice(&self.aaguid);
        // RP ids are at most 253 bytes (RelyingParty::new checks).
        push_short(&mut out, self.rp_id.as_bytes());
        // Credential ids are at most 1023 bytes (affix_webauthn checks).
        let len = u16::try_from(self.webauthn_id.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&self.webauthn_id);
        out
    }

    /// Decodes a record strictly.
    ///
    /// # Errors
    /// [`Error::Malformed`].
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes, "passkey record");
        if r.u8()? != RECORD_VERSION {
            return Err(malformed("passkey record", "version"));
        }
        let attestation = affix_webauthn::Attestation::from_code(r.u8()?)
            .map_err(|e| malformed("passkey record", e.to_string()))?;
        let aaguid = r.array()?;
        let len = usize::from(r.u8()?);
        let rp_id = String::from_utf8(r.bytes(len)?.to_vec())
            .map_err(|_| malformed("passkey record", "rp id is not UTF-8"))?;
        let len = usize::from(u16::from_be_bytes(r.array()?));
        if len > affix_webauthn::CREDENTIAL_ID_BYTES_MAX {
            return Err(malformed("passkey record", "credential id too long"));
        }
        let webauthn_id = r.bytes(len)?.to_vec();
        r.end()?;
        Ok(Self {
            attestation,
            aaguid,
            rp_id,
            webauthn_id,
        })
    }
}

/// A delegated-signing grant: the owner lets `grantee` sign with `key` until
/// `not_after_ms`, at most `max_uses` times, for `purpose`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct GrantRecord {
    /// The key the grant is for.
    pub key: KeyId,
    /// The credential allowed to authorize signatures.
    pub grantee: CredentialId,
    /// Last instant the grant is valid.
    pub not_after_ms: u64,
    /// Most signatures under this grant.
    pub max_uses: u32,
    /// Creation time.
    pub created_ms: u64,
    /// Scope label, e.g. `contract-seal` or `certificate-issuance`.
    pub purpose: String,
}

impl GrantRecord {
    /// Encodes the record; this is also what the owner's authorization digests.
    ///
    /// # Errors
    /// [`Error::Malformed`] for a bad purpose label.
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        check_label(&self.purpose)?;
        let mut out = Vec::with_capacity(128);
        out.push(RECORD_VERSION);
        out.extend_from_slice(&self.key.0);
        out.extend_from_slice(&self.grantee.0);
        out.extend_from_slice(&self.not_after_ms.to_be_bytes());
        out.extend_from_slice(&self.max_uses.to_be_bytes());
        out.extend_from_slice(&self.created_ms.to_be_bytes());
        push_short(&mut out, self.purpose.as_bytes());
        Ok(out)
    }

    /// Decodes a record strictly.
    ///
    /// # Errors
    /// [`Error::Malformed`].
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes, "grant record");
        if r.u8()? != RECORD_VERSION {
            return Err(malformed("grant record", "version"));
        }
        let key = KeyId(r.array()?);
        let grantee = CredentialId(r.array()?);
        let not_after_ms = r.u64()?;
        let max_uses = r.u32()?;
        let created_ms = r.u64()?;
        let len = usize::from(r.u8()?);
        let purpose = String::from_utf8(r.bytes(len)?.to_vec())
            .map_err(|_| malformed("grant record", "purpose is not UTF-8"))?;
        check_label(&purpose)?;
        r.end()?;
        Ok(Self {
            key,
            grantee,
            not_after_ms,
            max_uses,
            created_ms,
            purpose,
        })
    }
}

/// Checks a purpose label: `[a-z0-9._-]{1,64}`.
pub(crate) fn check_label(label: &str) -> Result<(), Error> {
    let ok = (1..=64).contains(&label.len())
        && label.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(malformed("purpose", "expected [a-z0-9._-]{1,64}"))
    }
}

pub(crate) fn push_short(out: &mut Vec<u8>, bytes: &[u8]) {
    // Callers pass tenant names (≤ 63 bytes) and labels (≤ 64 bytes).
    out.push(u8::try_from(bytes.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(bytes);
}

/// A strict cursor over stored or received bytes.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Self { bytes, what }
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if self.bytes.len() < n {
            return Err(malformed(self.what, "truncated"));
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u32(&mut self) -> Result<u32, Error> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, Error> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    pub(crate) fn end(&self) -> Result<(), Error> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(malformed(self.what, "trailing bytes"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_reject_truncation() {
        let key = KeyRecord {
            algorithm: Algorithm::EcdsaP256,
            tenant: 3,
            owner: OwnerId([1; 16]),
            created_ms: 1_790_000_000_000,
            kek_gen: 2,
            public_key: vec![2; 33],
            sealed: [9; SEALED_LEN],
        };
        let bytes = key.encode();
        assert_eq!(bytes.len(), 115);
        assert_eq!(KeyRecord::decode(&bytes).unwrap(), key);
        for n in 0..bytes.len() {
            assert!(KeyRecord::decode(&bytes[..n]).is_err());
        }
        let grant = GrantRecord {
            key: KeyId([4; 16]),
            grantee: CredentialId([5; 16]),
            not_after_ms: 10,
            max_uses: 3,
            created_ms: 1,
            purpose: "contract-seal".into(),
        };
        let bytes = grant.encode().unwrap();
        assert_eq!(GrantRecord::decode(&bytes).unwrap(), grant);
        let mut long = bytes.clone();
        long.push(0);
        assert!(GrantRecord::decode(&long).is_err());
    }

    /// Credential records: the Ed25519 and P-256 layouts are unchanged by the passkey
    /// and browser kinds (bytes spelled out), kind codes are frozen, and a passkey
    /// record (length-prefixed COSE key) and its side record round-trip strictly.
    #[test]
    fn credential_record_encodings_are_frozen() {
        let ed = CredentialRecord {
            kind: CredentialKind::Ed25519,
            tenant: 7,
            owner: OwnerId([0x11; 16]),
            created_ms: 1_795_000_000_000,
            public_key: vec![0x22; 32],
        };
        assert_eq!(
            hex::encode(ed.encode()),
            concat!(
                "0101",
                "00000007",
                "11111111111111111111111111111111",
                "000001a1ee565e00",
                "2222222222222222222222222222222222222222222222222222222222222222"
            )
        );
        let codes: Vec<u8> = CredentialKind::ALL.iter().map(|k| k.code()).collect();
        assert_eq!(codes, [1, 2, 3, 4, 5]);
        for k in CredentialKind::ALL {
            assert_eq!(CredentialKind::from_name(k.name()).unwrap(), k);
            assert_eq!(CredentialKind::from_code(k.code()).unwrap(), k);
        }
        let browser = CredentialRecord {
            kind: CredentialKind::BrowserP256,
            public_key: vec![0x02; 33],
            ..ed.clone()
        };
        let bytes = browser.encode();
        assert_eq!(bytes[1], 5);
        assert_eq!(bytes.len(), 30 + 33);
        assert_eq!(CredentialRecord::decode(&bytes).unwrap(), browser);
        let cose = affix_webauthn::soft::SoftAuthenticator::new(
            affix_webauthn::Algorithm::Es256,
            &[1; 32],
        )
        .public_key()
        .to_cose();
        CredentialRecord::check_cose_key(CredentialKind::PasskeyEs256, &cose).unwrap();
        assert!(CredentialRecord::check_cose_key(CredentialKind::PasskeyEd25519, &cose).is_err());
        assert!(CredentialRecord::check_public_key(CredentialKind::PasskeyEs256, &cose).is_err());
        let passkey = CredentialRecord {
            kind: CredentialKind::PasskeyEs256,
            public_key: cose.clone(),
            ..ed
        };
        let bytes = passkey.encode();
        assert_eq!(
            &bytes[30..32],
            &u16::try_from(cose.len()).unwrap().to_be_bytes()
        );
        assert_eq!(CredentialRecord::decode(&bytes).unwrap(), passkey);
        for n in 0..bytes.len() {
            assert!(CredentialRecord::decode(&bytes[..n]).is_err());
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(CredentialRecord::decode(&long).is_err());
        let side = PasskeyRecord {
            attestation: affix_webauthn::Attestation::PackedSelf,
            aaguid: [3; 16],
            rp_id: "localhost".into(),
            webauthn_id: vec![9; 20],
        };
        let bytes = side.encode();
        assert_eq!(
            hex::encode(&bytes[..28]),
            "010103030303030303030303030303030303096c6f63616c686f7374"
        );
        assert_eq!(PasskeyRecord::decode(&bytes).unwrap(), side);
        for n in 0..bytes.len() {
            assert!(PasskeyRecord::decode(&bytes[..n]).is_err());
        }
    }

    /// The key and wallet record encodings are frozen: a change here is a new format.
    #[test]
    fn key_and_wallet_record_encodings_are_frozen() {
        use sha2::{Digest as _, Sha256};
        let key = KeyRecord {
            algorithm: Algorithm::EcdsaSecp256k1,
            tenant: 7,
            owner: OwnerId([0x11; 16]),
            created_ms: 1_795_000_000_000,
            kek_gen: 3,
            public_key: vec![0x02; 33],
            sealed: [0x5a; SEALED_LEN],
        };
        assert_eq!(
            hex::encode(Sha256::digest(key.encode())),
            KEY_RECORD_FIXTURE_SHA256
        );
        let wallet = WalletRecord {
            words: 24,
            tenant: 7,
            owner: OwnerId([0x11; 16]),
            created_ms: 1_795_000_000_000,
            kek_gen: 3,
            sealed: [0x5a; SEALED_LEN],
        };
        let bytes = wallet.encode();
        assert_eq!(bytes.len(), WALLET_RECORD_LEN);
        assert_eq!(
            hex::encode(bytes),
            concat!(
                "0118",
                "00000007",
                "11111111111111111111111111111111",
                "000001a1ee565e00",
                "00000003",
                "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a",
                "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
            )
        );
        assert_eq!(WalletRecord::decode(&bytes).unwrap(), wallet);
        let aad = wallet.aad(&TenantId::new("acme").unwrap(), &WalletId([0x80; 16]));
        assert_eq!(
            hex::encode(&aad[..WALLET_AAD_CONTEXT.len() + 5]),
            "61666669782e6465762f7661756c742f77616c6c65742f7631000461636d65"
        );
        // Every truncation, extension, other version and other word count is refused,
        // without a panic.
        for n in 0..bytes.len() {
            assert!(WalletRecord::decode(&bytes[..n]).is_err());
        }
        let mut long = bytes.to_vec();
        long.push(0);
        assert!(WalletRecord::decode(&long).is_err());
        for (at, value) in [(0, 2u8), (1, 15), (1, 0)] {
            let mut bad = bytes;
            bad[at] = value;
            assert!(WalletRecord::decode(&bad).is_err());
        }
    }

    // SHA-256 of the spec bytes, computed independently (Python hashlib).
    const KEY_RECORD_FIXTURE_SHA256: &str =
        "ae67d2eb2764502b2325a54785a3d6754b68e58ebc812e5b52582f920af9fb4f";
}
