//! Digest and signature algorithms: identifiers, hashing, and signature verification.

use const_oid::ObjectIdentifier;
use der::{Encode, asn1::Null};
use sha2::Digest as _;
use signature::{Verifier as _, hazmat::PrehashVerifier as _};
use spki::{AlgorithmIdentifierOwned, DecodePublicKey as _, SubjectPublicKeyInfoOwned};

use super::{Error, oid};

/// The SM2 distinguishing identifier used for every SM2 signature and verification here:
/// the GM/T 0009 default `1234567812345678`.
pub const SM2_DEFAULT_DISTID: &str = "1234567812345678";

/// A message digest algorithm accepted in a `SignerInfo` or a time-stamp imprint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DigestAlgorithm {
    /// SHA-256 (`2.16.840.1.101.3.4.2.1`).
    Sha256,
    /// SHA-384 (`2.16.840.1.101.3.4.2.2`).
    Sha384,
    /// SHA-512 (`2.16.840.1.101.3.4.2.3`); RFC 8419 requires it with Ed25519.
    Sha512,
    /// SM3 (`1.2.156.10197.1.401`), used with SM2.
    Sm3,
}

impl DigestAlgorithm {
    /// The algorithm's object identifier.
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            DigestAlgorithm::Sha256 => oid::SHA256,
            DigestAlgorithm::Sha384 => oid::SHA384,
            DigestAlgorithm::Sha512 => oid::SHA512,
            DigestAlgorithm::Sm3 => oid::SM3,
        }
    }

    /// Hashes `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            DigestAlgorithm::Sha256 => sha2::Sha256::digest(data).to_vec(),
            DigestAlgorithm::Sha384 => sha2::Sha384::digest(data).to_vec(),
            DigestAlgorithm::Sha512 => sha2::Sha512::digest(data).to_vec(),
            DigestAlgorithm::Sm3 => sm3::Sm3::digest(data).to_vec(),
        }
    }

    /// The `AlgorithmIdentifier` we emit: parameters absent (RFC 5754 §2, GM/T 0010).
    pub(super) fn algorithm_identifier(self) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: self.oid(),
            parameters: None,
        }
    }

    /// Reads an `AlgorithmIdentifier`; parameters must be absent or NULL (RFC 5754 §2
    /// requires accepting both).
    pub(super) fn from_algorithm_identifier(
        algorithm: &AlgorithmIdentifierOwned,
    ) -> Result<Self, Error> {
        let unsupported = Error::UnsupportedDigestAlgorithm { oid: algorithm.oid };
        if !parameters_absent_or_null(algorithm) {
            return Err(unsupported);
        }
        match algorithm.oid {
            oid::SHA256 => Ok(DigestAlgorithm::Sha256),
            oid::SHA384 => Ok(DigestAlgorithm::Sha384),
            oid::SHA512 => Ok(DigestAlgorithm::Sha512),
            oid::SM3 => Ok(DigestAlgorithm::Sm3),
            _ => Err(unsupported),
        }
    }

    /// The digest algorithm to pair with a signer's signature algorithm: the hash inside
    /// ECDSA, SHA-512 for Ed25519 (RFC 8419 §3.1), SM3 for SM2.
    pub(super) fn for_signature_algorithm(
        algorithm: &AlgorithmIdentifierOwned,
    ) -> Result<Self, Error> {
        match algorithm.oid {
            oid::ECDSA_WITH_SHA256 => Ok(DigestAlgorithm::Sha256),
            oid::ECDSA_WITH_SHA384 => Ok(DigestAlgorithm::Sha384),
            oid::ECDSA_WITH_SHA512 => Ok(DigestAlgorithm::Sha512),
            oid::ED25519 => Ok(DigestAlgorithm::Sha512),
            oid::SM2_WITH_SM3 | oid::SM2_SIGN => Ok(DigestAlgorithm::Sm3),
            oid => Err(Error::UnsupportedSignatureAlgorithm { oid }),
        }
    }
}

/// The signature algorithm a verified signature used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureAlgorithm {
    /// ECDSA on P-256 with the given hash (`ecdsa-with-SHA256` and friends).
    EcdsaP256(DigestAlgorithm),
    /// Ed25519 (RFC 8410, RFC 8419), PureEdDSA over the DER signed attributes.
    Ed25519,
    /// SM2 with SM3 (GM/T 0003, GM/T 0010), default distinguishing identifier.
    Sm2WithSm3,
}

/// A public key this module can verify with, decoded from a `SubjectPublicKeyInfo`.
pub(super) enum PublicKey {
    P256(p256::ecdsa::VerifyingKey),
    Ed25519(ed25519_dalek::VerifyingKey),
    Sm2(Box<sm2::dsa::VerifyingKey>),
}

/// Why a signature check did not succeed.
pub(super) enum SignatureCheckError {
    /// The algorithms are unsupported or do not fit the key; the error says which.
    Unusable(Error),
    /// The signature is well formed for the algorithm but does not verify (or cannot be
    /// decoded as a signature of that algorithm).
    Invalid,
}

impl PublicKey {
    /// Decodes a supported public key. `subject` names the certificate for errors.
    pub(super) fn from_spki(
        spki: &SubjectPublicKeyInfoOwned,
        subject: &str,
    ) -> Result<Self, Error> {
        let invalid = || Error::PublicKeyInvalid {
            subject: subject.to_owned(),
        };
        let spki_der = spki.to_der().map_err(Error::Encoding)?;
        match spki.algorithm.oid {
            oid::EC_PUBLIC_KEY => {
                let curve = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|parameters| parameters.decode_as::<ObjectIdentifier>().ok())
                    .ok_or_else(invalid)?;
                match curve {
                    oid::SECP256R1 => p256::ecdsa::VerifyingKey::from_public_key_der(&spki_der)
                        .map(PublicKey::P256)
                        .map_err(|_| invalid()),
                    oid::SM2_CURVE => {
                        let key = sm2::PublicKey::from_public_key_der(&spki_der)
                            .map_err(|_| invalid())?;
                        sm2::dsa::VerifyingKey::new(SM2_DEFAULT_DISTID, key)
                            .map(|key| PublicKey::Sm2(Box::new(key)))
                            .map_err(|_| invalid())
                    }
                    oid => Err(Error::UnsupportedPublicKey { oid }),
                }
            }
            oid::ED25519 => ed25519_dalek::VerifyingKey::from_public_key_der(&spki_der)
                .map(PublicKey::Ed25519)
                .map_err(|_| invalid()),
            oid => Err(Error::UnsupportedPublicKey { oid }),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            PublicKey::P256(_) => "P-256",
            PublicKey::Ed25519(_) => "Ed25519",
            PublicKey::Sm2(_) => "SM2",
        }
    }

    /// Verifies `signature` over `message` under `algorithm`.
    ///
    /// `digest_hint` is the `SignerInfo` digest algorithm; it is used only when the
    /// signature algorithm is the bare key algorithm `id-ecPublicKey`, which some CMS
    /// producers emit instead of `ecdsa-with-SHA*`.
    pub(super) fn verify(
        &self,
        algorithm: &AlgorithmIdentifierOwned,
        digest_hint: Option<DigestAlgorithm>,
        message: &[u8],
        signature: &[u8],
    ) -> Result<SignatureAlgorithm, SignatureCheckError> {
        let mismatch = || {
            SignatureCheckError::Unusable(Error::AlgorithmKeyMismatch {
                signature_algorithm: algorithm.oid,
                key: self.kind(),
            })
        };
        let unsupported = || {
            SignatureCheckError::Unusable(Error::UnsupportedSignatureAlgorithm {
                oid: algorithm.oid,
            })
        };
        match self {
            PublicKey::P256(key) => {
                // RFC 5758 §3.2: parameters MUST be absent for ecdsa-with-SHA*.
                if algorithm.parameters.is_some() && algorithm.oid != oid::EC_PUBLIC_KEY {
                    return Err(unsupported());
                }
                let digest = match algorithm.oid {
                    oid::ECDSA_WITH_SHA256 => DigestAlgorithm::Sha256,
                    oid::ECDSA_WITH_SHA384 => DigestAlgorithm::Sha384,
                    oid::ECDSA_WITH_SHA512 => DigestAlgorithm::Sha512,
                    oid::EC_PUBLIC_KEY => match digest_hint {
                        Some(DigestAlgorithm::Sm3) | None => return Err(mismatch()),
                        Some(digest) => digest,
                    },
                    oid::ED25519 | oid::SM2_WITH_SM3 | oid::SM2_SIGN => return Err(mismatch()),
                    _ => return Err(unsupported()),
                };
                let signature = p256::ecdsa::Signature::from_der(signature)
                    .map_err(|_| SignatureCheckError::Invalid)?;
                key.verify_prehash(&digest.digest(message), &signature)
                    .map_err(|_| SignatureCheckError::Invalid)?;
                Ok(SignatureAlgorithm::EcdsaP256(digest))
            }
            PublicKey::Ed25519(key) => {
                match algorithm.oid {
                    // RFC 8410 §3: parameters MUST be absent.
                    oid::ED25519 if algorithm.parameters.is_none() => {}
                    oid::ED25519 => return Err(unsupported()),
                    oid::ECDSA_WITH_SHA256
                    | oid::ECDSA_WITH_SHA384
                    | oid::ECDSA_WITH_SHA512
                    | oid::EC_PUBLIC_KEY
                    | oid::SM2_WITH_SM3
                    | oid::SM2_SIGN => return Err(mismatch()),
                    _ => return Err(unsupported()),
                }
                let signature = ed25519_dalek::Signature::from_slice(signature)
                    .map_err(|_| SignatureCheckError::Invalid)?;
                // verify_strict rejects small-order keys and non-canonical encodings.
                key.verify_strict(message, &signature)
                    .map_err(|_| SignatureCheckError::Invalid)?;
                Ok(SignatureAlgorithm::Ed25519)
            }
            PublicKey::Sm2(key) => {
                match algorithm.oid {
                    // GM/T implementations emit both OIDs, with or without NULL parameters.
                    oid::SM2_WITH_SM3 | oid::SM2_SIGN if parameters_absent_or_null(algorithm) => {}
                    oid::SM2_WITH_SM3 | oid::SM2_SIGN => return Err(unsupported()),
                    oid::EC_PUBLIC_KEY if digest_hint == Some(DigestAlgorithm::Sm3) => {}
                    oid::ECDSA_WITH_SHA256
                    | oid::ECDSA_WITH_SHA384
                    | oid::ECDSA_WITH_SHA512
                    | oid::EC_PUBLIC_KEY
                    | oid::ED25519 => return Err(mismatch()),
                    _ => return Err(unsupported()),
                }
                let signature = sm2::dsa::Signature::from_der(signature)
                    .map_err(|_| SignatureCheckError::Invalid)?;
                key.verify(message, &signature)
                    .map_err(|_| SignatureCheckError::Invalid)?;
                Ok(SignatureAlgorithm::Sm2WithSm3)
            }
        }
    }
}

fn parameters_absent_or_null(algorithm: &AlgorithmIdentifierOwned) -> bool {
    match &algorithm.parameters {
        None => true,
        Some(parameters) => parameters.decode_as::<Null>().is_ok(),
    }
}
