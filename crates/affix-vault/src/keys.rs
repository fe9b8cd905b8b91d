//! Signing algorithms, private keys in memory, and what a key can sign.
//!
//! The only place in Affix where private-key bytes exist in clear, and only for the
//! duration of one operation: a [`SecretKey`] is rebuilt from its envelope, used, and
//! zeroized on drop. Backends: `ed25519-dalek` (Ed25519), `aws-lc-rs` (ECDSA P-256),
//! `k256` (secp256k1, with recovery ids for Ethereum), `sm2` (SM2 with SM3 and the default
//! distinguishing identifier `1234567812345678`).

use crate::error::{Error, malformed};
// Every SM2 key uses the GM/T 0009 default distinguishing identifier.
use affix_note::SM2_DEFAULT_DISTID;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use sha2::{Digest as _, Sha256};
use signature::{Signer as _, Verifier as _};
use zeroize::{Zeroize, Zeroizing};

/// Largest message the vault signs directly (Ed25519 and SM2 sign messages, not
/// digests). CMS signs its signed attributes, a few hundred bytes.
pub const MESSAGE_BYTES_MAX: usize = 64 * 1024;

/// A key's signature algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// Ed25519 (RFC 8032), pure: signs messages.
    Ed25519,
    /// ECDSA over P-256 with SHA-256.
    EcdsaP256,
    /// ECDSA over secp256k1 (blockchain keys), low-s, with a recovery id.
    EcdsaSecp256k1,
    /// SM2 with SM3 (GB/T 32918), signs messages.
    Sm2,
}

impl Algorithm {
    /// Every algorithm.
    pub const ALL: [Algorithm; 4] = [
        Algorithm::Ed25519,
        Algorithm::EcdsaP256,
        Algorithm::EcdsaSecp256k1,
        Algorithm::Sm2,
    ];

    /// Stable one-byte code used in stored records and authorizations.
    pub fn code(self) -> u8 {
        match self {
            Algorithm::Ed25519 => 1,
            Algorithm::EcdsaP256 => 2,
            Algorithm::EcdsaSecp256k1 => 3,
            Algorithm::Sm2 => 4,
        }
    }

    /// The algorithm for a stored code.
    ///
    /// # Errors
    /// [`Error::Malformed`] for an unknown code.
    pub fn from_code(code: u8) -> Result<Self, Error> {
        Ok(match code {
            1 => Algorithm::Ed25519,
            2 => Algorithm::EcdsaP256,
            3 => Algorithm::EcdsaSecp256k1,
            4 => Algorithm::Sm2,
            _ => return Err(malformed("algorithm", format!("unknown code {code}"))),
        })
    }

    /// Name used in the CLI, HTTP API and evidence records.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Ed25519 => "ed25519",
            Algorithm::EcdsaP256 => "ecdsa-p256",
            Algorithm::EcdsaSecp256k1 => "ecdsa-secp256k1",
            Algorithm::Sm2 => "sm2",
        }
    }

    /// The algorithm with this [`Algorithm::name`].
    ///
    /// # Errors
    /// [`Error::Malformed`] for an unknown name.
    pub fn from_name(name: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|a| a.name() == name)
            .ok_or_else(|| {
                malformed(
                    "algorithm",
                    format!("{name:?}; expected ed25519, ecdsa-p256, ecdsa-secp256k1 or sm2"),
                )
            })
    }

    /// Length of the encoded public key (compressed SEC1 points for the curves).
    pub fn public_key_len(self) -> usize {
        match self {
            Algorithm::Ed25519 => 32,
            _ => 33,
        }
    }

    /// Whether the algorithm signs caller-supplied digests ([`Payload::Prehash`]).
    pub fn signs_prehash(self) -> bool {
        matches!(self, Algorithm::EcdsaP256 | Algorithm::EcdsaSecp256k1)
    }
}

/// What a signature is made over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// A message (at most [`MESSAGE_BYTES_MAX`]); the algorithm hashes it as it defines.
    Message(Vec<u8>),
    /// A 32-byte digest computed by the caller (ECDSA P-256: SHA-256; secp256k1: any
    /// 32-byte hash such as Keccak-256).
    Prehash([u8; 32]),
}

impl Payload {
    /// The 32 bytes an authorization binds: SHA-256 of a message, or the digest itself.
    pub fn digest(&self) -> [u8; 32] {
        match self {
            Payload::Message(m) => Sha256::digest(m).into(),
            Payload::Prehash(d) => *d,
        }
    }

    /// Code of the payload kind in authorizations: 1 message, 2 prehash.
    pub fn kind_code(&self) -> u8 {
        match self {
            Payload::Message(_) => 1,
            Payload::Prehash(_) => 2,
        }
    }
}

/// A signature made by the vault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureBytes {
    /// Ed25519: 64 bytes; ECDSA and SM2: `r ‖ s`, 64 bytes (secp256k1 low-s).
    pub bytes: Vec<u8>,
    /// secp256k1 only: the recovery id (0 or 1), for Ethereum `v = 27 + id`.
    pub recovery_id: Option<u8>,
}

/// A private key in memory. Zeroized on drop; no `Debug` output of the secret.
pub(crate) struct SecretKey {
    algorithm: Algorithm,
    /// The 32-byte secret: the Ed25519 seed or the curve scalar, big-endian.
    secret: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey({}, <redacted>)", self.algorithm.name())
    }
}

impl SecretKey {
    /// Generates a key from the OS random generator.
    pub(crate) fn generate(algorithm: Algorithm) -> Result<Self, Error> {
        loop {
            let mut secret = Zeroizing::new([0u8; 32]);
            getrandom::fill(secret.as_mut()).map_err(|_| Error::Random)?;
            // A curve scalar must be in [1, n); retry in the (2^-128) case it is not.
            if let Ok(key) = Self::from_secret(algorithm, secret) {
                return Ok(key);
            }
        }
    }

    /// Rebuilds a key from its 32 secret bytes, checking they form a valid key.
    pub(crate) fn from_secret(
        algorithm: Algorithm,
        secret: Zeroizing<[u8; 32]>,
    ) -> Result<Self, Error> {
        let valid = match algorithm {
            Algorithm::Ed25519 => true,
            Algorithm::EcdsaP256 => p256::SecretKey::from_slice(secret.as_ref()).is_ok(),
            Algorithm::EcdsaSecp256k1 => k256::SecretKey::from_slice(secret.as_ref()).is_ok(),
            Algorithm::Sm2 => sm2::SecretKey::from_slice(secret.as_ref()).is_ok(),
        };
        if !valid {
            return Err(malformed("private key", "scalar out of range"));
        }
        Ok(Self { algorithm, secret })
    }

    pub(crate) fn secret(&self) -> &[u8; 32] {
        &self.secret
    }

    /// The encoded public key: 32 bytes for Ed25519, a compressed SEC1 point otherwise.
    pub(crate) fn public_key(&self) -> Result<Vec<u8>, Error> {
        use p256::elliptic_curve::sec1::ToSec1Point as _;
        Ok(match self.algorithm {
            Algorithm::Ed25519 => ed25519_dalek::SigningKey::from_bytes(&self.secret)
                .verifying_key()
                .to_bytes()
                .to_vec(),
            Algorithm::EcdsaP256 => {
                // aws-lc computes the point several times faster than RustCrypto's p256.
                let pair = p256_pair(&self.secret)?;
                let point = pair.public_key().as_ref();
                if point.len() != 65 || point[0] != 0x04 {
                    return Err(malformed("public key", "P-256 point from aws-lc"));
                }
                let mut compressed = Vec::with_capacity(33);
                compressed.push(0x02 | (point[64] & 1));
                compressed.extend_from_slice(&point[1..33]);
                compressed
            }
            Algorithm::EcdsaSecp256k1 => k256::SecretKey::from_slice(self.secret.as_ref())
                .map_err(|_| malformed("private key", "secp256k1 scalar"))?
                .public_key()
                .to_sec1_point(true)
                .as_bytes()
                .to_vec(),
            Algorithm::Sm2 => sm2::SecretKey::from_slice(self.secret.as_ref())
                .map_err(|_| malformed("private key", "SM2 scalar"))?
                .public_key()
                .to_sec1_point(true)
                .as_bytes()
                .to_vec(),
        })
    }

    /// The backend's key object, ready to sign.
    pub(crate) fn prepare(&self) -> Result<PreparedKey, Error> {
        Ok(match self.algorithm {
            Algorithm::Ed25519 => {
                PreparedKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(&self.secret))
            }
            Algorithm::EcdsaP256 => PreparedKey::EcdsaP256(p256_pair(&self.secret)?),
            Algorithm::EcdsaSecp256k1 => PreparedKey::EcdsaSecp256k1(
                k256::ecdsa::SigningKey::from_slice(self.secret.as_ref())
                    .map_err(|_| malformed("private key", "secp256k1 scalar"))?,
            ),
            Algorithm::Sm2 => PreparedKey::Sm2(
                sm2::dsa::SigningKey::new(
                    SM2_DEFAULT_DISTID,
                    &sm2::SecretKey::from_slice(self.secret.as_ref())
                        .map_err(|_| malformed("private key", "SM2 scalar"))?,
                )
                .map_err(|e| Error::Unsupported(format!("SM2 key: {e}")))?,
            ),
        })
    }

    /// Signs `payload`.
    pub(crate) fn sign(&self, payload: &Payload) -> Result<SignatureBytes, Error> {
        self.prepare()?.sign(payload)
    }

    /// Signs `payload` given the key's public key as stored beside it, which saves
    /// deriving it again (for Ed25519 a second fixed-base scalar multiplication, as
    /// expensive as the signature itself).
    ///
    /// The caller must pass the public key that was authenticated together with this
    /// secret (the key record's AEAD binds both): Ed25519 signing with a mismatched
    /// public key would leak the secret. Other algorithms ignore `public_key`.
    pub(crate) fn sign_with_public(
        &self,
        public_key: &[u8],
        payload: &Payload,
    ) -> Result<SignatureBytes, Error> {
        match (self.algorithm, payload) {
            (Algorithm::Ed25519, Payload::Message(m)) => {
                use ed25519_dalek::hazmat::{ExpandedSecretKey, raw_sign};
                let public = <&[u8; 32]>::try_from(public_key)
                    .ok()
                    .and_then(|p| ed25519_dalek::VerifyingKey::from_bytes(p).ok())
                    .ok_or_else(|| malformed("public key", "ed25519 point"))?;
                let expanded = ExpandedSecretKey::from(&*self.secret);
                let sig = raw_sign::<sha2::Sha512>(&expanded, m, &public);
                Ok(plain(sig.to_bytes().to_vec()))
            }
            _ => self.sign(payload),
        }
    }
}

/// A key in its signing library's form. Each library zeroizes its own key on drop.
pub(crate) enum PreparedKey {
    Ed25519(ed25519_dalek::SigningKey),
    EcdsaP256(EcdsaKeyPair),
    EcdsaSecp256k1(k256::ecdsa::SigningKey),
    Sm2(sm2::dsa::SigningKey),
}

impl PreparedKey {
    pub(crate) fn sign(&self, payload: &Payload) -> Result<SignatureBytes, Error> {
        let sig_err = |e: signature::Error| Error::Unsupported(format!("signing failed: {e}"));
        let messages_only =
            |alg: &str| Error::Unsupported(format!("{alg} keys sign messages, not digests"));
        match (self, payload) {
            (PreparedKey::Ed25519(key), Payload::Message(m)) => {
                Ok(plain(key.sign(m).to_bytes().to_vec()))
            }
            (PreparedKey::EcdsaP256(pair), _) => {
                let sig = match payload {
                    Payload::Message(m) => pair.sign(&aws_lc_rs::rand::SystemRandom::new(), m),
                    Payload::Prehash(d) => {
                        let digest = aws_lc_rs::digest::Digest::import_less_safe(
                            d,
                            &aws_lc_rs::digest::SHA256,
                        )
                        .map_err(|_| Error::Unsupported("digest import".into()))?;
                        pair.sign_digest(&digest)
                    }
                }
                .map_err(|_| Error::Unsupported("P-256 signing failed".into()))?;
                Ok(plain(sig.as_ref().to_vec()))
            }
            (PreparedKey::EcdsaSecp256k1(key), _) => {
                let (sig, rec) = key.sign_prehash_recoverable(&payload.digest());
                Ok(SignatureBytes {
                    bytes: sig.to_bytes().to_vec(),
                    recovery_id: Some(rec.to_byte()),
                })
            }
            (PreparedKey::Sm2(key), Payload::Message(m)) => {
                let sig: sm2::dsa::Signature = key.try_sign(m).map_err(sig_err)?;
                Ok(plain(sig.to_bytes().to_vec()))
            }
            (PreparedKey::Ed25519(_), Payload::Prehash(_)) => Err(messages_only("ed25519")),
            (PreparedKey::Sm2(_), Payload::Prehash(_)) => Err(messages_only("sm2")),
        }
    }
}

/// The physical limit for benchmarks: a fresh key of `algorithm` prepared once and kept
/// in memory, signing through the same backend code as the vault's hot path. Only with
/// the `bench` feature.
///
/// # Errors
/// [`Error::Random`].
#[cfg(feature = "bench")]
pub fn raw_signer(
    algorithm: Algorithm,
) -> Result<impl Fn(&Payload) -> Result<SignatureBytes, Error> + Send + Sync, Error> {
    let key = SecretKey::generate(algorithm)?.prepare()?;
    Ok(move |payload: &Payload| key.sign(payload))
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        self.secret.zeroize();
    }
}

fn plain(bytes: Vec<u8>) -> SignatureBytes {
    SignatureBytes {
        bytes,
        recovery_id: None,
    }
}

/// An aws-lc-rs P-256 key pair from a raw scalar (RFC 5915 `ECPrivateKey` without the
/// optional fields; aws-lc derives the public point).
fn p256_pair(secret: &[u8; 32]) -> Result<EcdsaKeyPair, Error> {
    // SEQUENCE { INTEGER 1, OCTET STRING (32) scalar, [0] OID prime256v1 }
    const PREFIX: [u8; 7] = [0x30, 0x31, 0x02, 0x01, 0x01, 0x04, 0x20];
    const SUFFIX: [u8; 12] = [
        0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
    ];
    let mut der = Zeroizing::new([0u8; 51]);
    der[..7].copy_from_slice(&PREFIX);
    der[7..39].copy_from_slice(secret);
    der[39..].copy_from_slice(&SUFFIX);
    let pair = EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_FIXED_SIGNING, der.as_ref())
        .map_err(|e| malformed("private key", format!("P-256: {e}")))?;
    // Touch the public key so a mismatch with the scalar would surface here, not later.
    let _ = pair.public_key();
    Ok(pair)
}

/// Verifies a vault signature with a stored public key (used by tests and by callers
/// that want to check before releasing).
///
/// # Errors
/// [`Error::Malformed`] for a bad key or signature encoding, [`Error::SignatureInvalid`]
/// if it does not verify.
pub fn verify(
    algorithm: Algorithm,
    public_key: &[u8],
    payload: &Payload,
    signature: &[u8],
) -> Result<(), Error> {
    let bad = || Error::SignatureInvalid;
    match algorithm {
        Algorithm::Ed25519 => {
            let Payload::Message(m) = payload else {
                return Err(Error::Unsupported("ed25519 verifies messages".into()));
            };
            let key = ed25519_dalek::VerifyingKey::try_from(public_key)
                .map_err(|_| malformed("public key", "ed25519"))?;
            let sig = ed25519_dalek::Signature::from_slice(signature)
                .map_err(|_| malformed("signature", "ed25519"))?;
            key.verify(m, &sig).map_err(|_| bad())
        }
        Algorithm::EcdsaP256 => {
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(public_key)
                .map_err(|_| malformed("public key", "P-256"))?;
            let sig = p256::ecdsa::Signature::from_slice(signature)
                .map_err(|_| malformed("signature", "P-256"))?;
            use signature::hazmat::PrehashVerifier as _;
            key.verify_prehash(&payload.digest(), &sig)
                .map_err(|_| bad())
        }
        Algorithm::EcdsaSecp256k1 => {
            let key = k256::ecdsa::VerifyingKey::from_sec1_bytes(public_key)
                .map_err(|_| malformed("public key", "secp256k1"))?;
            let sig = k256::ecdsa::Signature::from_slice(signature)
                .map_err(|_| malformed("signature", "secp256k1"))?;
            use signature::hazmat::PrehashVerifier as _;
            key.verify_prehash(&payload.digest(), &sig)
                .map_err(|_| bad())
        }
        Algorithm::Sm2 => {
            let Payload::Message(m) = payload else {
                return Err(Error::Unsupported("sm2 verifies messages".into()));
            };
            let point = sm2::PublicKey::from_sec1_bytes(public_key)
                .map_err(|_| malformed("public key", "SM2"))?;
            let key = sm2::dsa::VerifyingKey::new(SM2_DEFAULT_DISTID, point)
                .map_err(|_| malformed("public key", "SM2"))?;
            let sig = sm2::dsa::Signature::from_slice(signature)
                .map_err(|_| malformed("signature", "SM2"))?;
            key.verify(m, &sig).map_err(|_| bad())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_algorithm_signs_and_verifies() {
        for alg in Algorithm::ALL {
            let key = SecretKey::generate(alg).unwrap();
            let public = key.public_key().unwrap();
            assert_eq!(public.len(), alg.public_key_len());
            let msg = Payload::Message(b"contract v1".to_vec());
            let sig = key.sign(&msg).unwrap();
            verify(alg, &public, &msg, &sig.bytes).unwrap();
            assert!(
                verify(
                    alg,
                    &public,
                    &Payload::Message(b"other".to_vec()),
                    &sig.bytes
                )
                .is_err()
            );
            if alg.signs_prehash() {
                let pre = Payload::Prehash([7; 32]);
                let sig = key.sign(&pre).unwrap();
                verify(alg, &public, &pre, &sig.bytes).unwrap();
            } else {
                assert!(key.sign(&Payload::Prehash([7; 32])).is_err());
            }
            assert_eq!(Algorithm::from_code(alg.code()).unwrap(), alg);
            assert_eq!(Algorithm::from_name(alg.name()).unwrap(), alg);
        }
    }
}
