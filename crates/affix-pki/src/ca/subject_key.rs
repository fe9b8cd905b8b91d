//! Subject public keys: the keys this CA certifies, decoded and checked.

use const_oid::{
    ObjectIdentifier,
    db::{
        rfc5912::{ECDSA_WITH_SHA_256, ID_EC_PUBLIC_KEY, SECP_256_R_1},
        rfc8410::ID_ED_25519,
    },
};
use der::asn1::{BitString, Null};
use sha1::{Digest, Sha1};
use signature::Keypair;
use spki::{AlgorithmIdentifierOwned, EncodePublicKey, SubjectPublicKeyInfoOwned};

use crate::{
    algorithm::{KeyAlgorithm, PublicKey, SM2_DEFAULT_DISTID},
    error::{Error, Result},
    oid::{SM2_CURVE, SM2_WITH_SM3},
};

/// A subject public key that has been decoded and accepted by policy: a
/// valid point on P-256 or the SM2 curve (uncompressed form), or a valid
/// Ed25519 key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubjectPublicKey {
    spki: SubjectPublicKeyInfoOwned,
    algorithm: KeyAlgorithm,
}

impl SubjectPublicKey {
    /// Accept a `SubjectPublicKeyInfo`.
    ///
    /// # Errors
    /// [`Error::UnsupportedPublicKey`] for other algorithms or curves,
    /// [`Error::MalformedPublicKey`] if the key bytes do not decode.
    pub fn from_spki(spki: &SubjectPublicKeyInfoOwned) -> Result<Self> {
        let algorithm_oid = spki.algorithm.oid;
        let malformed = || Error::MalformedPublicKey {
            algorithm: algorithm_oid,
        };
        let key_bytes = spki.subject_public_key.as_bytes().ok_or_else(malformed)?;
        let algorithm = match algorithm_oid {
            ID_EC_PUBLIC_KEY => {
                let curve = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|parameters| parameters.decode_as::<ObjectIdentifier>().ok());
                let uncompressed = key_bytes.len() == 65 && key_bytes.first() == Some(&0x04);
                match curve {
                    Some(SECP_256_R_1) => {
                        if !uncompressed || p256::PublicKey::from_sec1_bytes(key_bytes).is_err() {
                            return Err(malformed());
                        }
                        KeyAlgorithm::EcdsaP256
                    }
                    Some(SM2_CURVE) => {
                        if !uncompressed || sm2::PublicKey::from_sec1_bytes(key_bytes).is_err() {
                            return Err(malformed());
                        }
                        KeyAlgorithm::Sm2
                    }
                    parameters => {
                        return Err(Error::UnsupportedPublicKey {
                            algorithm: algorithm_oid,
                            parameters,
                        });
                    }
                }
            }
            ID_ED_25519 => {
                if spki.algorithm.parameters.is_some() {
                    return Err(malformed());
                }
                let bytes: &[u8; 32] = key_bytes.try_into().map_err(|_| malformed())?;
                ed25519_dalek::VerifyingKey::from_bytes(bytes).map_err(|_| malformed())?;
                KeyAlgorithm::Ed25519
            }
            algorithm => {
                return Err(Error::UnsupportedPublicKey {
                    algorithm,
                    parameters: None,
                });
            }
        };
        Ok(Self {
            spki: spki.clone(),
            algorithm,
        })
    }

    /// Take the public key of a key handle. The private key stays with its
    /// owner; the caller vouches that the subject controls the handle.
    ///
    /// # Errors
    /// As [`SubjectPublicKey::from_spki`], plus
    /// [`Error::PublicKeyEncoding`] if the key does not encode.
    pub fn from_keypair<K>(keypair: &K) -> Result<Self>
    where
        K: Keypair<VerifyingKey: EncodePublicKey>,
    {
        let spki = SubjectPublicKeyInfoOwned::from_key(&keypair.verifying_key())
            .map_err(Error::PublicKeyEncoding)?;
        Self::from_spki(&spki)
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// The `SubjectPublicKeyInfo`.
    pub fn spki(&self) -> &SubjectPublicKeyInfoOwned {
        &self.spki
    }

    /// SHA-1 over the subjectPublicKey BIT STRING contents: the RFC 5280
    /// §4.2.1.2 method (1) key identifier, and the RFC 6960 `KeyHash`.
    pub fn sha1_key_hash(&self) -> [u8; 20] {
        Sha1::digest(self.spki.subject_public_key.raw_bytes()).into()
    }

    /// Check `signature` over `message` made with `algorithm` by this key.
    ///
    /// Returns `Ok(false)` for a signature that does not verify.
    ///
    /// # Errors
    /// [`Error::UnsupportedSignatureAlgorithm`] if the algorithm is not
    /// ecdsa-with-SHA256 (P-256 keys), Ed25519 (Ed25519 keys) or
    /// sm2sign-with-sm3 (SM2 keys, default distinguishing identifier), or
    /// has parameters it must not have.
    pub fn verify(
        &self,
        algorithm: &AlgorithmIdentifierOwned,
        message: &[u8],
        signature: &BitString,
    ) -> Result<bool> {
        self.verify_with_sm2_ids(algorithm, message, signature, &[SM2_DEFAULT_DISTID])
    }

    /// As [`SubjectPublicKey::verify`], trying each SM2 distinguishing
    /// identifier in turn for SM2 keys.
    ///
    /// The CA accepts one signature algorithm per key type (what it signs
    /// with itself, [`KeyAlgorithm::signature_algorithm_identifier`], and for
    /// SM2 also with `NULL` parameters); the signature itself is checked by
    /// the crate's one verifier, [`PublicKey::verify`].
    pub(super) fn verify_with_sm2_ids(
        &self,
        algorithm: &AlgorithmIdentifierOwned,
        message: &[u8],
        signature: &BitString,
        sm2_ids: &[&str],
    ) -> Result<bool> {
        let parameters_absent = algorithm.parameters.is_none();
        let parameters_null = algorithm
            .parameters
            .as_ref()
            .is_some_and(|parameters| parameters.decode_as::<Null>().is_ok());
        let accepted = match (self.algorithm, algorithm.oid) {
            (KeyAlgorithm::EcdsaP256, ECDSA_WITH_SHA_256)
            | (KeyAlgorithm::Ed25519, ID_ED_25519) => parameters_absent,
            (KeyAlgorithm::Sm2, SM2_WITH_SM3) => parameters_absent || parameters_null,
            _ => false,
        };
        if !accepted {
            return Err(Error::UnsupportedSignatureAlgorithm {
                algorithm: algorithm.oid,
            });
        }
        let Some(signature) = signature.as_bytes() else {
            return Ok(false);
        };
        let sm2_ids = match self.algorithm {
            KeyAlgorithm::Sm2 => sm2_ids,
            _ => &[SM2_DEFAULT_DISTID],
        };
        for sm2_id in sm2_ids {
            let Ok(key) = PublicKey::from_spki_with_sm2_distid(&self.spki, sm2_id) else {
                return Ok(false);
            };
            match key.verify(algorithm, None, message, signature) {
                Ok(_) => return Ok(true),
                Err(Error::SignatureInvalid) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(false)
    }
}
