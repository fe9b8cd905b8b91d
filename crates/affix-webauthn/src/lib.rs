//! WebAuthn (passkey) verification for the Affix vault.
//!
//! A passkey proves that its authenticator approved exactly one challenge: the vault sets
//! the challenge to the digest of the authorization statement it is asked to honour, and
//! checks the assertion itself. `webauthn-rs` refuses caller-chosen challenges by design,
//! so this crate does the relying party's part of the [WebAuthn Level 3] ceremonies that
//! the vault needs, and no more:
//!
//! - [`PublicKey::from_cose`]: a credential's COSE_Key (RFC 9053): ES256 (kty 2, alg −7,
//!   crv 1, x, y) and EdDSA (kty 1, alg −8, crv 6, x); anything else is
//!   [`Error::UnsupportedAlgorithm`].
//! - [`verify_registration`]: an `attestationObject` and its `clientDataJSON`
//!   (§7.1): type `webauthn.create`, challenge, origin, rpIdHash, UP and UV, the attested
//!   credential data. Attestation `none` is accepted; `packed` self attestation (no
//!   `x5c`) has its signature verified and is recorded as [`Attestation::PackedSelf`];
//!   every other statement (`packed` with a certificate chain included, since this crate
//!   holds no trust anchors to check it against) is refused with
//!   [`Error::UnsupportedAttestation`].
//! - [`Assertion::verify`]: an assertion (§7.2): type `webauthn.get`, challenge, origin,
//!   `crossOrigin` not true, rpIdHash, UP and UV, the signature over
//!   `authenticatorData ‖ SHA-256(clientDataJSON)` (ES256: DER ECDSA; EdDSA:
//!   `verify_strict`), and the sign counter ([`check_sign_count`]).
//! - [`Assertion::encode`]/[`Assertion::decode`]: the frozen byte encoding of an assertion
//!   that the vault keeps and an evidence bundle carries, so anyone holding it and the
//!   credential's COSE key can re-check it offline.
//! - [`soft`]: a software authenticator producing real registrations and assertions, for
//!   tests and benchmarks.
//!
//! Every input has a size limit (`*_BYTES_MAX`), CBOR nesting is bounded, and nothing
//! here panics on untrusted bytes. The crate is pure: no I/O, no clock, no randomness.
//!
//! [WebAuthn Level 3]: https://www.w3.org/TR/webauthn-3/
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cbor;
pub mod soft;

use base64::Engine as _;
use ciborium::Value;
use sha2::{Digest as _, Sha256};

/// Largest accepted `clientDataJSON`.
pub const CLIENT_DATA_BYTES_MAX: usize = 4096;
/// Largest accepted `authenticatorData` (a registration's holds the credential id and key).
pub const AUTHENTICATOR_DATA_BYTES_MAX: usize = 2048;
/// Largest accepted `attestationObject`.
pub const ATTESTATION_OBJECT_BYTES_MAX: usize = 4096;
/// Longest credential id (WebAuthn §5.1: at most 1023 bytes).
pub const CREDENTIAL_ID_BYTES_MAX: usize = 1023;
/// Largest accepted COSE_Key encoding (an ES256 key takes 77 bytes).
pub const COSE_KEY_BYTES_MAX: usize = 256;
/// Longest accepted signature (a DER ECDSA P-256 signature takes at most 72 bytes).
pub const SIGNATURE_BYTES_MAX: usize = 128;
/// Largest [`Assertion::encode`] output.
pub const ASSERTION_BYTES_MAX: usize =
    1 + 2 + AUTHENTICATOR_DATA_BYTES_MAX + 2 + CLIENT_DATA_BYTES_MAX + 1 + SIGNATURE_BYTES_MAX;
/// Longest relying-party id (a DNS name).
pub const RP_ID_BYTES_MAX: usize = 253;
/// Longest allowed origin.
pub const ORIGIN_BYTES_MAX: usize = 512;

/// Version byte of [`Assertion::encode`].
pub const ASSERTION_ENCODING_VERSION: u8 = 1;

/// Authenticator data flag: user present.
pub const FLAG_UP: u8 = 0x01;
/// Authenticator data flag: user verified.
pub const FLAG_UV: u8 = 0x04;
/// Authenticator data flag: backup eligible.
pub const FLAG_BE: u8 = 0x08;
/// Authenticator data flag: backed up.
pub const FLAG_BS: u8 = 0x10;
/// Authenticator data flag: attested credential data included.
pub const FLAG_AT: u8 = 0x40;
/// Authenticator data flag: extension data included.
pub const FLAG_ED: u8 = 0x80;

/// Everything that can go wrong; each variant is one reason, for the caller to map.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Input that does not parse: bad CBOR, COSE, JSON, lengths or encodings.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// What was being parsed.
        what: &'static str,
        /// Why it failed.
        detail: String,
    },
    /// Input over its size limit (refused before parsing).
    #[error("{what} is {size} bytes; at most {max}")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// A COSE algorithm (or key type and curve) other than ES256 and EdDSA.
    #[error("unsupported COSE algorithm {0}")]
    UnsupportedAlgorithm(i64),
    /// An attestation statement format this crate does not accept.
    #[error("attestation format {0:?} is not accepted (only none and packed self attestation)")]
    UnsupportedAttestation(String),
    /// `clientDataJSON.type` is not the ceremony's.
    #[error("client data type {found:?}, expected {expected}")]
    WrongType {
        /// The ceremony's type.
        expected: &'static str,
        /// What the client data says.
        found: String,
    },
    /// `clientDataJSON.challenge` is not the expected challenge.
    #[error("the client data's challenge is not the expected one")]
    WrongChallenge,
    /// `clientDataJSON.origin` is not an allowed origin.
    #[error("origin {0:?} is not allowed")]
    WrongOrigin(String),
    /// `clientDataJSON.crossOrigin` is true (the ceremony ran in a cross-origin frame).
    #[error("the ceremony ran in a cross-origin frame")]
    CrossOrigin,
    /// The authenticator data's rpIdHash is not SHA-256 of the relying party's id.
    #[error("the authenticator data is for another relying party")]
    WrongRpId,
    /// The UP flag is not set.
    #[error("the user was not present")]
    UserNotPresent,
    /// The UV flag is not set.
    #[error("the user was not verified")]
    UserNotVerified,
    /// The signature does not verify (over authenticator data and client data hash).
    #[error("the signature does not verify")]
    BadSignature,
    /// The sign counter did not increase past the stored one (a cloned authenticator,
    /// or a replayed assertion).
    #[error("sign counter {presented} does not exceed the stored {stored}")]
    CounterRegression {
        /// The counter on record.
        stored: u32,
        /// The counter in the assertion.
        presented: u32,
    },
    /// A packed attestation signed with an algorithm other than the credential's.
    #[error("attestation algorithm {attestation} differs from the credential's {credential}")]
    AlgorithmMismatch {
        /// The attestation statement's `alg`.
        attestation: i64,
        /// The credential key's `alg`.
        credential: i64,
    },
}

pub(crate) fn malformed(what: &'static str, detail: impl Into<String>) -> Error {
    Error::Malformed {
        what,
        detail: detail.into(),
    }
}

fn check_len(what: &'static str, size: usize, max: usize) -> Result<(), Error> {
    if size > max {
        return Err(Error::TooLarge { what, size, max });
    }
    Ok(())
}

/// A credential's signature algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// ECDSA over P-256 with SHA-256 (COSE −7), DER signatures.
    Es256,
    /// Ed25519 (COSE −8), 64-byte signatures.
    EdDsa,
}

impl Algorithm {
    /// The COSE algorithm identifier.
    pub fn cose_id(self) -> i64 {
        match self {
            Algorithm::Es256 => -7,
            Algorithm::EdDsa => -8,
        }
    }

    /// The algorithm's name: `es256` or `eddsa`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Es256 => "es256",
            Algorithm::EdDsa => "eddsa",
        }
    }
}

/// A credential public key, parsed from its COSE_Key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublicKey {
    /// An ES256 key.
    Es256(p256::ecdsa::VerifyingKey),
    /// An EdDSA (Ed25519) key; never a small-order one.
    EdDsa(ed25519_dalek::VerifyingKey),
}

impl PublicKey {
    /// Parses a COSE_Key that is the whole of `bytes`.
    ///
    /// # Errors
    /// [`Error::TooLarge`], [`Error::Malformed`] (CBOR, missing or duplicate parameters,
    /// bad coordinates), [`Error::UnsupportedAlgorithm`].
    pub fn from_cose(bytes: &[u8]) -> Result<Self, Error> {
        let (key, used) = Self::from_cose_prefix(bytes)?;
        if used != bytes.len() {
            return Err(malformed("COSE key", "bytes after the key"));
        }
        Ok(key)
    }

    /// Parses a COSE_Key at the start of `bytes`; returns it and the bytes it took.
    fn from_cose_prefix(bytes: &[u8]) -> Result<(Self, usize), Error> {
        let window = &bytes[..bytes.len().min(COSE_KEY_BYTES_MAX + 1)];
        let (value, used) = cbor::decode_prefix(window, "COSE key")?;
        check_len("COSE key", used, COSE_KEY_BYTES_MAX)?;
        let map = cbor::int_map(&value, "COSE key")?;
        let int = |label: i64| -> Result<i64, Error> {
            match map.get(&label) {
                Some(Value::Integer(i)) => i64::try_from(i128::from(*i))
                    .map_err(|_| malformed("COSE key", format!("parameter {label} out of range"))),
                Some(_) => Err(malformed(
                    "COSE key",
                    format!("parameter {label} is not an integer"),
                )),
                None => Err(malformed("COSE key", format!("parameter {label} missing"))),
            }
        };
        let bytes32 = |label: i64| -> Result<[u8; 32], Error> {
            match map.get(&label) {
                Some(Value::Bytes(b)) => <[u8; 32]>::try_from(b.as_slice()).map_err(|_| {
                    malformed("COSE key", format!("parameter {label} is not 32 bytes"))
                }),
                Some(_) => Err(malformed(
                    "COSE key",
                    format!("parameter {label} is not a byte string"),
                )),
                None => Err(malformed("COSE key", format!("parameter {label} missing"))),
            }
        };
        let alg = int(3)?;
        let kty = int(1)?;
        let key = match alg {
            -7 => {
                if kty != 2 || int(-1)? != 1 {
                    return Err(malformed(
                        "COSE key",
                        "ES256 needs kty 2 (EC2), crv 1 (P-256)",
                    ));
                }
                let (x, y) = (bytes32(-2)?, bytes32(-3)?);
                let mut sec1 = [0u8; 65];
                sec1[0] = 0x04;
                sec1[1..33].copy_from_slice(&x);
                sec1[33..].copy_from_slice(&y);
                let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1)
                    .map_err(|_| malformed("COSE key", "not a P-256 point"))?;
                PublicKey::Es256(key)
            }
            -8 => {
                if kty != 1 || int(-1)? != 6 {
                    return Err(malformed(
                        "COSE key",
                        "EdDSA needs kty 1 (OKP), crv 6 (Ed25519)",
                    ));
                }
                if map.contains_key(&-3) {
                    return Err(malformed("COSE key", "an OKP key has no y coordinate"));
                }
                let key = ed25519_dalek::VerifyingKey::from_bytes(&bytes32(-2)?)
                    .map_err(|_| malformed("COSE key", "not an Ed25519 point"))?;
                // A small-order key verifies signatures nobody made.
                if key.is_weak() {
                    return Err(malformed("COSE key", "a weak (small-order) Ed25519 key"));
                }
                PublicKey::EdDsa(key)
            }
            other => return Err(Error::UnsupportedAlgorithm(other)),
        };
        Ok((key, used))
    }

    /// The canonical COSE_Key encoding (CTAP2 canonical CBOR: kty, alg, crv, x[, y]).
    pub fn to_cose(&self) -> Vec<u8> {
        let int = |i: i64| Value::Integer(i.into());
        let entries = match self {
            PublicKey::Es256(key) => {
                let point = key.to_sec1_point(false);
                let raw = point.as_bytes();
                vec![
                    (int(1), int(2)),
                    (int(3), int(-7)),
                    (int(-1), int(1)),
                    (int(-2), Value::Bytes(raw[1..33].to_vec())),
                    (int(-3), Value::Bytes(raw[33..65].to_vec())),
                ]
            }
            PublicKey::EdDsa(key) => vec![
                (int(1), int(1)),
                (int(3), int(-8)),
                (int(-1), int(6)),
                (int(-2), Value::Bytes(key.to_bytes().to_vec())),
            ],
        };
        cbor::encode(&Value::Map(entries))
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            PublicKey::Es256(_) => Algorithm::Es256,
            PublicKey::EdDsa(_) => Algorithm::EdDsa,
        }
    }

    /// Verifies `signature` over `message` (ES256: DER ECDSA with SHA-256; EdDSA:
    /// Ed25519 `verify_strict`).
    ///
    /// # Errors
    /// [`Error::TooLarge`] for an oversized signature, [`Error::BadSignature`] otherwise.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), Error> {
        use signature::Verifier as _;
        check_len("signature", signature.len(), SIGNATURE_BYTES_MAX)?;
        match self {
            PublicKey::Es256(key) => {
                let sig =
                    p256::ecdsa::Signature::from_der(signature).map_err(|_| Error::BadSignature)?;
                key.verify(message, &sig).map_err(|_| Error::BadSignature)
            }
            PublicKey::EdDsa(key) => {
                let sig = ed25519_dalek::Signature::from_slice(signature)
                    .map_err(|_| Error::BadSignature)?;
                key.verify_strict(message, &sig)
                    .map_err(|_| Error::BadSignature)
            }
        }
    }
}

/// Who the vault is as a WebAuthn relying party: its RP id (the host of the public URL)
/// and the origins a ceremony may come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingParty {
    id: String,
    origins: Vec<String>,
}

impl RelyingParty {
    /// A relying party `id` (a host name, e.g. `localhost` or `sign.example.com`)
    /// accepting ceremonies from `origins` (e.g. `http://localhost:8080`).
    ///
    /// # Errors
    /// [`Error::Malformed`] for an empty or overlong id or origin, or no origin.
    pub fn new(id: impl Into<String>, origins: Vec<String>) -> Result<Self, Error> {
        let id = id.into();
        if id.is_empty() || id.len() > RP_ID_BYTES_MAX || !id.is_ascii() {
            return Err(malformed("relying party id", "1 to 253 ASCII bytes"));
        }
        if origins.is_empty()
            || origins
                .iter()
                .any(|o| o.is_empty() || o.len() > ORIGIN_BYTES_MAX)
        {
            return Err(malformed(
                "allowed origins",
                "at least one, each 1 to 512 bytes",
            ));
        }
        Ok(Self { id, origins })
    }

    /// The RP id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The allowed origins.
    pub fn origins(&self) -> &[String] {
        &self.origins
    }

    /// SHA-256 of the RP id, as authenticator data carries it.
    pub fn id_hash(&self) -> [u8; 32] {
        Sha256::digest(self.id.as_bytes()).into()
    }

    fn check_origin(&self, origin: &str) -> Result<(), Error> {
        if self.origins.iter().any(|o| o == origin) {
            Ok(())
        } else {
            Err(Error::WrongOrigin(origin.to_owned()))
        }
    }
}

/// Parsed authenticator data (WebAuthn §6.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatorData {
    /// SHA-256 of the RP id the authenticator scoped the credential to.
    pub rp_id_hash: [u8; 32],
    /// Flags ([`FLAG_UP`], [`FLAG_UV`], ...).
    pub flags: u8,
    /// The signature counter (0: the authenticator keeps none).
    pub sign_count: u32,
    /// The attested credential data (registrations only).
    pub attested: Option<AttestedCredential>,
}

/// Attested credential data (WebAuthn §6.5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestedCredential {
    /// The authenticator model.
    pub aaguid: [u8; 16],
    /// The credential id (at most [`CREDENTIAL_ID_BYTES_MAX`] bytes).
    pub credential_id: Vec<u8>,
    /// The credential public key.
    pub public_key: PublicKey,
    /// Its COSE_Key bytes, as the authenticator sent them.
    pub cose_key: Vec<u8>,
}

impl AuthenticatorData {
    /// Parses authenticator data strictly: attested credential data exactly when AT is
    /// set, extensions (a CBOR map) exactly when ED is set, nothing after them.
    ///
    /// # Errors
    /// [`Error::TooLarge`], [`Error::Malformed`], [`Error::UnsupportedAlgorithm`].
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        check_len(
            "authenticator data",
            bytes.len(),
            AUTHENTICATOR_DATA_BYTES_MAX,
        )?;
        if bytes.len() < 37 {
            return Err(malformed("authenticator data", "shorter than 37 bytes"));
        }
        let mut rp_id_hash = [0u8; 32];
        rp_id_hash.copy_from_slice(&bytes[..32]);
        let flags = bytes[32];
        let sign_count = u32::from_be_bytes([bytes[33], bytes[34], bytes[35], bytes[36]]);
        let mut rest = &bytes[37..];
        let attested = if flags & FLAG_AT != 0 {
            if rest.len() < 18 {
                return Err(malformed(
                    "authenticator data",
                    "truncated attested credential",
                ));
            }
            let mut aaguid = [0u8; 16];
            aaguid.copy_from_slice(&rest[..16]);
            let id_len = usize::from(u16::from_be_bytes([rest[16], rest[17]]));
            check_len("credential id", id_len, CREDENTIAL_ID_BYTES_MAX)?;
            rest = &rest[18..];
            if rest.len() < id_len {
                return Err(malformed("authenticator data", "truncated credential id"));
            }
            let credential_id = rest[..id_len].to_vec();
            rest = &rest[id_len..];
            let (public_key, used) = PublicKey::from_cose_prefix(rest)?;
            let cose_key = rest[..used].to_vec();
            rest = &rest[used..];
            Some(AttestedCredential {
                aaguid,
                credential_id,
                public_key,
                cose_key,
            })
        } else {
            None
        };
        if flags & FLAG_ED != 0 {
            let (value, used) = cbor::decode_prefix(rest, "extensions")?;
            if !matches!(value, Value::Map(_)) {
                return Err(malformed("extensions", "not a map"));
            }
            rest = &rest[used..];
        }
        if !rest.is_empty() {
            return Err(malformed(
                "authenticator data",
                format!("{} bytes after the end", rest.len()),
            ));
        }
        Ok(Self {
            rp_id_hash,
            flags,
            sign_count,
            attested,
        })
    }

    /// Checks the RP id hash and the UP and UV flags, in that order.
    fn check(&self, rp: &RelyingParty) -> Result<(), Error> {
        if self.rp_id_hash != rp.id_hash() {
            return Err(Error::WrongRpId);
        }
        if self.flags & FLAG_UP == 0 {
            return Err(Error::UserNotPresent);
        }
        if self.flags & FLAG_UV == 0 {
            return Err(Error::UserNotVerified);
        }
        Ok(())
    }
}

/// The client data fields a relying party checks (unknown members are ignored, as the
/// spec requires; duplicate members are refused).
#[derive(serde::Deserialize)]
struct ClientData {
    #[serde(rename = "type")]
    kind: String,
    challenge: String,
    origin: String,
    #[serde(rename = "crossOrigin", default)]
    cross_origin: Option<bool>,
}

/// Checks `clientDataJSON` for a ceremony of `kind` over `challenge` (WebAuthn §7.1
/// steps 7–10, §7.2 steps 10–13).
fn check_client_data(
    rp: &RelyingParty,
    json: &[u8],
    kind: &'static str,
    challenge: &[u8],
) -> Result<(), Error> {
    check_len("client data", json.len(), CLIENT_DATA_BYTES_MAX)?;
    let data: ClientData =
        serde_json::from_slice(json).map_err(|e| malformed("client data", e.to_string()))?;
    if data.kind != kind {
        return Err(Error::WrongType {
            expected: kind,
            found: data.kind,
        });
    }
    // Compared as text: the canonical base64url-without-padding of the expected bytes.
    let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(challenge);
    if data.challenge != expected {
        return Err(Error::WrongChallenge);
    }
    rp.check_origin(&data.origin)?;
    if data.cross_origin == Some(true) {
        return Err(Error::CrossOrigin);
    }
    Ok(())
}

/// `authenticatorData ‖ SHA-256(clientDataJSON)`: what the credential signs.
pub fn signed_bytes(authenticator_data: &[u8], client_data_json: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(authenticator_data.len() + 32);
    out.extend_from_slice(authenticator_data);
    out.extend_from_slice(&Sha256::digest(client_data_json));
    out
}

/// The sign-counter rule (WebAuthn §7.2 step 21): a presented counter must exceed the
/// stored one, except that 0 on both sides means the authenticator keeps no counter.
///
/// # Errors
/// [`Error::CounterRegression`].
pub fn check_sign_count(stored: u32, presented: u32) -> Result<(), Error> {
    if presented > stored || (stored == 0 && presented == 0) {
        Ok(())
    } else {
        Err(Error::CounterRegression { stored, presented })
    }
}

/// How a registration's attestation was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Attestation {
    /// Format `none`: the authenticator vouched for nothing.
    None,
    /// Format `packed` without `x5c`: signed by the credential key itself (verified);
    /// proves possession of the key, not the authenticator model.
    PackedSelf,
}

impl Attestation {
    /// Stable code (stored by the vault).
    pub fn code(self) -> u8 {
        match self {
            Attestation::None => 0,
            Attestation::PackedSelf => 1,
        }
    }

    /// The attestation for a code.
    ///
    /// # Errors
    /// [`Error::Malformed`] for an unknown code.
    pub fn from_code(code: u8) -> Result<Self, Error> {
        match code {
            0 => Ok(Attestation::None),
            1 => Ok(Attestation::PackedSelf),
            _ => Err(malformed("attestation", format!("unknown code {code}"))),
        }
    }

    /// Name in evidence: `none` or `packed-self`.
    pub fn name(self) -> &'static str {
        match self {
            Attestation::None => "none",
            Attestation::PackedSelf => "packed-self",
        }
    }
}

/// A verified registration: what the relying party stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The credential id.
    pub credential_id: Vec<u8>,
    /// The credential public key.
    pub public_key: PublicKey,
    /// Its COSE_Key bytes as the authenticator sent them.
    pub cose_key: Vec<u8>,
    /// The authenticator model (all zeros with attestation `none`, usually).
    pub aaguid: [u8; 16],
    /// The initial sign counter.
    pub sign_count: u32,
    /// The authenticator data flags.
    pub flags: u8,
    /// How the attestation was checked.
    pub attestation: Attestation,
}

/// Verifies a registration (WebAuthn §7.1) for `rp` over `challenge`.
///
/// # Errors
/// Size limits ([`Error::TooLarge`]), [`Error::Malformed`], [`Error::WrongType`],
/// [`Error::WrongChallenge`], [`Error::WrongOrigin`], [`Error::CrossOrigin`],
/// [`Error::WrongRpId`], [`Error::UserNotPresent`], [`Error::UserNotVerified`],
/// [`Error::UnsupportedAlgorithm`], [`Error::UnsupportedAttestation`],
/// [`Error::AlgorithmMismatch`], [`Error::BadSignature`] (packed self attestation).
pub fn verify_registration(
    rp: &RelyingParty,
    challenge: &[u8],
    attestation_object: &[u8],
    client_data_json: &[u8],
) -> Result<Registration, Error> {
    check_len(
        "attestation object",
        attestation_object.len(),
        ATTESTATION_OBJECT_BYTES_MAX,
    )?;
    check_client_data(rp, client_data_json, "webauthn.create", challenge)?;
    let value = cbor::decode_all(attestation_object, "attestation object")?;
    let map = cbor::text_map(&value, "attestation object")?;
    if map.len() != 3 {
        return Err(malformed(
            "attestation object",
            "expected exactly fmt, attStmt and authData",
        ));
    }
    let Some(Value::Text(fmt)) = map.get("fmt") else {
        return Err(malformed("attestation object", "fmt missing or not text"));
    };
    let Some(Value::Bytes(auth_data_bytes)) = map.get("authData") else {
        return Err(malformed(
            "attestation object",
            "authData missing or not bytes",
        ));
    };
    let Some(statement) = map.get("attStmt") else {
        return Err(malformed("attestation object", "attStmt missing"));
    };
    let statement = cbor::text_map(statement, "attestation statement")?;
    let auth_data = AuthenticatorData::parse(auth_data_bytes)?;
    auth_data.check(rp)?;
    let Some(attested) = auth_data.attested else {
        return Err(malformed(
            "authenticator data",
            "no attested credential data",
        ));
    };
    let attestation = match fmt.as_str() {
        "none" => {
            if !statement.is_empty() {
                return Err(malformed("attestation statement", "none has an empty one"));
            }
            Attestation::None
        }
        "packed" => {
            if statement.contains_key("x5c") {
                return Err(Error::UnsupportedAttestation("packed with x5c".into()));
            }
            if statement.len() != 2 {
                return Err(malformed(
                    "attestation statement",
                    "packed self attestation has exactly alg and sig",
                ));
            }
            let alg = match statement.get("alg") {
                Some(Value::Integer(i)) => i64::try_from(i128::from(*i))
                    .map_err(|_| malformed("attestation statement", "alg out of range"))?,
                _ => return Err(malformed("attestation statement", "alg missing")),
            };
            let Some(Value::Bytes(sig)) = statement.get("sig") else {
                return Err(malformed("attestation statement", "sig missing"));
            };
            let credential = attested.public_key.algorithm().cose_id();
            if alg != credential {
                return Err(Error::AlgorithmMismatch {
                    attestation: alg,
                    credential,
                });
            }
            attested
                .public_key
                .verify(&signed_bytes(auth_data_bytes, client_data_json), sig)?;
            Attestation::PackedSelf
        }
        other => return Err(Error::UnsupportedAttestation(other.to_owned())),
    };
    Ok(Registration {
        credential_id: attested.credential_id,
        public_key: attested.public_key,
        cose_key: attested.cose_key,
        aaguid: attested.aaguid,
        sign_count: auth_data.sign_count,
        flags: auth_data.flags,
        attestation,
    })
}

/// An assertion as the browser returns it (`AuthenticatorAssertionResponse`, without the
/// user handle, which the vault does not use).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertion {
    /// `authenticatorData`.
    pub authenticator_data: Vec<u8>,
    /// `clientDataJSON`, byte for byte as the client sent it.
    pub client_data_json: Vec<u8>,
    /// `signature` (ES256: DER; EdDSA: 64 bytes).
    pub signature: Vec<u8>,
}

/// What a verified assertion tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedAssertion {
    /// The authenticator's sign counter (store it; 0: it keeps none).
    pub sign_count: u32,
    /// The authenticator data flags.
    pub flags: u8,
}

impl Assertion {
    /// The frozen encoding, version 1:
    ///
    /// ```text
    /// version             u8      0x01
    /// authenticator data  u16 BE length ‖ bytes   (37 ..= AUTHENTICATOR_DATA_BYTES_MAX)
    /// client data JSON    u16 BE length ‖ bytes   (1 ..= CLIENT_DATA_BYTES_MAX)
    /// signature           u8 length ‖ bytes       (1 ..= SIGNATURE_BYTES_MAX)
    /// ```
    ///
    /// # Errors
    /// [`Error::TooLarge`] for a part over its limit.
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        self.check_sizes()?;
        let mut out = Vec::with_capacity(
            6 + self.authenticator_data.len() + self.client_data_json.len() + self.signature.len(),
        );
        out.push(ASSERTION_ENCODING_VERSION);
        for part in [&self.authenticator_data, &self.client_data_json] {
            let len = u16::try_from(part.len()).map_err(|_| Error::TooLarge {
                what: "assertion part",
                size: part.len(),
                max: usize::from(u16::MAX),
            })?;
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(part);
        }
        let len = u8::try_from(self.signature.len()).map_err(|_| Error::TooLarge {
            what: "signature",
            size: self.signature.len(),
            max: SIGNATURE_BYTES_MAX,
        })?;
        out.push(len);
        out.extend_from_slice(&self.signature);
        Ok(out)
    }

    /// Decodes [`Assertion::encode`]'s output strictly.
    ///
    /// # Errors
    /// [`Error::TooLarge`], [`Error::Malformed`].
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        check_len("assertion", bytes.len(), ASSERTION_BYTES_MAX)?;
        let what = "assertion encoding";
        let (&version, mut rest) = bytes
            .split_first()
            .ok_or_else(|| malformed(what, "empty"))?;
        if version != ASSERTION_ENCODING_VERSION {
            return Err(malformed(what, format!("version {version}")));
        }
        let mut take = |len_bytes: usize| -> Result<Vec<u8>, Error> {
            if rest.len() < len_bytes {
                return Err(malformed(what, "truncated"));
            }
            let len = rest[..len_bytes]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            rest = &rest[len_bytes..];
            if rest.len() < len {
                return Err(malformed(what, "truncated"));
            }
            let part = rest[..len].to_vec();
            rest = &rest[len..];
            Ok(part)
        };
        let assertion = Self {
            authenticator_data: take(2)?,
            client_data_json: take(2)?,
            signature: take(1)?,
        };
        if !rest.is_empty() {
            return Err(malformed(what, "bytes after the end"));
        }
        assertion.check_sizes()?;
        Ok(assertion)
    }

    fn check_sizes(&self) -> Result<(), Error> {
        check_len(
            "authenticator data",
            self.authenticator_data.len(),
            AUTHENTICATOR_DATA_BYTES_MAX,
        )?;
        check_len(
            "client data",
            self.client_data_json.len(),
            CLIENT_DATA_BYTES_MAX,
        )?;
        check_len("signature", self.signature.len(), SIGNATURE_BYTES_MAX)?;
        if self.authenticator_data.len() < 37
            || self.client_data_json.is_empty()
            || self.signature.is_empty()
        {
            return Err(malformed("assertion", "an empty or truncated part"));
        }
        Ok(())
    }

    /// Verifies the assertion (WebAuthn §7.2) by `public_key` for `rp` over `challenge`,
    /// given the credential's `stored_sign_count`. Checks, in order: sizes, parsing,
    /// client data type, challenge, origin, cross-origin, rpIdHash, UP, UV, signature,
    /// sign counter.
    ///
    /// # Errors
    /// [`Error::TooLarge`], [`Error::Malformed`], [`Error::WrongType`],
    /// [`Error::WrongChallenge`], [`Error::WrongOrigin`], [`Error::CrossOrigin`],
    /// [`Error::WrongRpId`], [`Error::UserNotPresent`], [`Error::UserNotVerified`],
    /// [`Error::BadSignature`], [`Error::CounterRegression`].
    pub fn verify(
        &self,
        rp: &RelyingParty,
        public_key: &PublicKey,
        challenge: &[u8],
        stored_sign_count: u32,
    ) -> Result<VerifiedAssertion, Error> {
        self.check_sizes()?;
        let auth_data = AuthenticatorData::parse(&self.authenticator_data)?;
        if auth_data.attested.is_some() {
            return Err(malformed(
                "authenticator data",
                "attested credential data in an assertion",
            ));
        }
        check_client_data(rp, &self.client_data_json, "webauthn.get", challenge)?;
        auth_data.check(rp)?;
        public_key.verify(
            &signed_bytes(&self.authenticator_data, &self.client_data_json),
            &self.signature,
        )?;
        check_sign_count(stored_sign_count, auth_data.sign_count)?;
        Ok(VerifiedAssertion {
            sign_count: auth_data.sign_count,
            flags: auth_data.flags,
        })
    }

    /// The sign counter the assertion's authenticator data carries, without verifying
    /// anything (for ordering concurrent uses before verification completes).
    ///
    /// # Errors
    /// [`Error::Malformed`] for authenticator data shorter than 37 bytes.
    pub fn sign_count(&self) -> Result<u32, Error> {
        match self.authenticator_data.get(33..37) {
            Some(&[a, b, c, d]) => Ok(u32::from_be_bytes([a, b, c, d])),
            _ => Err(malformed("authenticator data", "shorter than 37 bytes")),
        }
    }
}
