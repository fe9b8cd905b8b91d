//! Digest and signature algorithms: identifiers, hashing, and signature verification
//! with the key of a `SubjectPublicKeyInfo`.
//!
//! This is the one implementation the CA ([`crate::ca`]), CMS (`affix-cms`) and
//! time-stamp (`affix-tsp`) code share: the same algorithm identifiers are accepted
//! everywhere, and a signature is checked by the same code whether it is on a
//! certificate, a CSR, a CRL, a signed document or a time-stamp token.
//!
//! Supported: ECDSA on P-256 (with SHA-256, SHA-384 or SHA-512), Ed25519 (RFC 8410,
//! verified strictly), and SM2 with SM3 (GM/T 0003, GM/T 0009 default distinguishing
//! identifier [`SM2_DEFAULT_DISTID`]).

use const_oid::{
    ObjectIdentifier,
    db::{
        rfc5912::{
            ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384, ECDSA_WITH_SHA_512, ID_EC_PUBLIC_KEY,
            ID_SHA_256, ID_SHA_384, ID_SHA_512, SECP_256_R_1,
        },
        rfc8410::ID_ED_25519,
    },
};
use der::{Encode, asn1::Null};
use sha2::Digest as _;
use signature::{Verifier as _, hazmat::PrehashVerifier as _};
use spki::{AlgorithmIdentifierOwned, DecodePublicKey as _, SubjectPublicKeyInfoOwned};

use crate::{
    error::{Error, Result},
    oid::{SM2_CURVE, SM2_SIGN, SM2_WITH_SM3, SM3},
};

/// The SM2 distinguishing identifier used for every SM2 signature Affix makes or
/// checks: the GM/T 0009-2012 default `1234567812345678` (RFC 8998 §3.2.1).
///
/// Defined once, in `affix-note` (the lowest crate every SM2 user can depend on without
/// the X.509 stack), and re-exported here for the PKI crates.
pub use affix_note::SM2_DEFAULT_DISTID;

/// A message digest algorithm: the hash of a CMS `SignerInfo`, a time-stamp message
/// imprint or an ESS certificate hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DigestAlgorithm {
    /// SHA-256 (FIPS 180-4, `2.16.840.1.101.3.4.2.1`).
    Sha256,
    /// SHA-384 (FIPS 180-4, `2.16.840.1.101.3.4.2.2`).
    Sha384,
    /// SHA-512 (FIPS 180-4, `2.16.840.1.101.3.4.2.3`); RFC 8419 requires it with
    /// Ed25519 in CMS.
    Sha512,
    /// SM3 (GM/T 0004, `1.2.156.10197.1.401`), used with SM2.
    Sm3,
}

impl DigestAlgorithm {
    /// Every supported algorithm.
    pub const ALL: [Self; 4] = [Self::Sha256, Self::Sha384, Self::Sha512, Self::Sm3];

    /// The algorithm's object identifier.
    pub const fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Sha256 => ID_SHA_256,
            Self::Sha384 => ID_SHA_384,
            Self::Sha512 => ID_SHA_512,
            Self::Sm3 => SM3,
        }
    }

    /// The algorithm with this object identifier, if supported.
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|algorithm| algorithm.oid() == *oid)
    }

    /// Length of the hash value, in bytes.
    pub const fn output_bytes(self) -> usize {
        match self {
            Self::Sha256 | Self::Sm3 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    /// Hashes `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Self::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Self::Sha512 => sha2::Sha512::digest(data).to_vec(),
            Self::Sm3 => sm3::Sm3::digest(data).to_vec(),
        }
    }

    /// The `AlgorithmIdentifier` Affix emits: parameters absent (RFC 5754 §2,
    /// GM/T 0010).
    pub fn algorithm_identifier(self) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: self.oid(),
            parameters: None,
        }
    }

    /// Reads an `AlgorithmIdentifier` received from a peer. Parameters must be absent
    /// or `NULL`: none of these algorithms takes any, RFC 5754 §2 requires accepting
    /// both, and OpenSSL sends `NULL`.
    ///
    /// # Errors
    /// [`Error::UnsupportedDigestAlgorithm`] for another algorithm,
    /// [`Error::DigestParametersNotAllowed`] for other parameters.
    pub fn from_algorithm_identifier(identifier: &AlgorithmIdentifierOwned) -> Result<Self> {
        let algorithm =
            Self::from_oid(&identifier.oid).ok_or(Error::UnsupportedDigestAlgorithm {
                algorithm: identifier.oid,
            })?;
        if !parameters_absent_or_null(identifier) {
            return Err(Error::DigestParametersNotAllowed {
                algorithm: identifier.oid,
            });
        }
        Ok(algorithm)
    }

    /// The CMS digest algorithm to pair with a signer's signature algorithm: the hash
    /// inside ECDSA, SHA-512 for Ed25519 (RFC 8419 §3.1), SM3 for SM2.
    ///
    /// # Errors
    /// [`Error::UnsupportedSignatureAlgorithm`] for any other algorithm.
    pub fn for_signature_algorithm(identifier: &AlgorithmIdentifierOwned) -> Result<Self> {
        match identifier.oid {
            ECDSA_WITH_SHA_256 => Ok(Self::Sha256),
            ECDSA_WITH_SHA_384 => Ok(Self::Sha384),
            ECDSA_WITH_SHA_512 | ID_ED_25519 => Ok(Self::Sha512),
            SM2_WITH_SM3 | SM2_SIGN => Ok(Self::Sm3),
            algorithm => Err(Error::UnsupportedSignatureAlgorithm { algorithm }),
        }
    }
}

/// Public-key algorithms Affix signs and verifies with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// ECDSA on NIST P-256 (`id-ecPublicKey`, `prime256v1`).
    EcdsaP256,
    /// Ed25519 (RFC 8410).
    Ed25519,
    /// SM2 (`id-ecPublicKey`, SM2 curve `1.2.156.10197.1.301`).
    Sm2,
}

impl KeyAlgorithm {
    /// A short name for messages: `P-256`, `Ed25519`, `SM2`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::EcdsaP256 => "P-256",
            Self::Ed25519 => "Ed25519",
            Self::Sm2 => "SM2",
        }
    }

    /// The signature algorithm Affix signs with for keys of this algorithm:
    /// `ecdsa-with-SHA256`, `id-Ed25519` or `sm2sign-with-sm3`, parameters absent
    /// (RFC 5758 §3.2, RFC 8410 §3, GM/T 0010) — what `p256`'s, `ed25519-dalek`'s and
    /// [`crate::ca::Sm2DerSigner`]'s `SignatureAlgorithmIdentifier` say.
    pub fn signature_algorithm_identifier(self) -> AlgorithmIdentifierOwned {
        let oid = match self {
            Self::EcdsaP256 => ECDSA_WITH_SHA_256,
            Self::Ed25519 => ID_ED_25519,
            Self::Sm2 => SM2_WITH_SM3,
        };
        AlgorithmIdentifierOwned {
            oid,
            parameters: None,
        }
    }
}

/// The signature algorithm a verified signature used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureAlgorithm {
    /// ECDSA on P-256 with the given hash (`ecdsa-with-SHA256` and friends).
    EcdsaP256(DigestAlgorithm),
    /// Ed25519 (RFC 8410, RFC 8419), PureEdDSA over the message.
    Ed25519,
    /// SM2 with SM3 (GM/T 0003, GM/T 0010), default distinguishing identifier.
    Sm2WithSm3,
}

/// A public key Affix can verify signatures with, decoded from a
/// `SubjectPublicKeyInfo`.
#[derive(Clone, Debug)]
pub struct PublicKey(Key);

#[derive(Clone, Debug)]
enum Key {
    P256(p256::ecdsa::VerifyingKey),
    Ed25519(ed25519_dalek::VerifyingKey),
    Sm2(Box<sm2::dsa::VerifyingKey>),
}

impl PublicKey {
    /// Decodes a supported public key; SM2 keys verify with [`SM2_DEFAULT_DISTID`].
    ///
    /// # Errors
    /// [`Error::UnsupportedPublicKey`] for other algorithms or curves,
    /// [`Error::MalformedPublicKey`] if the key does not decode.
    pub fn from_spki(spki: &SubjectPublicKeyInfoOwned) -> Result<Self> {
        Self::from_spki_with_sm2_distid(spki, SM2_DEFAULT_DISTID)
    }

    /// As [`PublicKey::from_spki`], with another SM2 distinguishing identifier (only
    /// proof of possession in a CSR accepts one).
    pub(crate) fn from_spki_with_sm2_distid(
        spki: &SubjectPublicKeyInfoOwned,
        sm2_distid: &str,
    ) -> Result<Self> {
        let algorithm = spki.algorithm.oid;
        let malformed = || Error::MalformedPublicKey { algorithm };
        let spki_der = spki.to_der().map_err(Error::Encoding)?;
        match algorithm {
            ID_EC_PUBLIC_KEY => {
                let curve = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|parameters| parameters.decode_as::<ObjectIdentifier>().ok())
                    .ok_or_else(malformed)?;
                match curve {
                    SECP_256_R_1 => p256::ecdsa::VerifyingKey::from_public_key_der(&spki_der)
                        .map(|key| Self(Key::P256(key)))
                        .map_err(|_| malformed()),
                    SM2_CURVE => {
                        let key = sm2::PublicKey::from_public_key_der(&spki_der)
                            .map_err(|_| malformed())?;
                        sm2::dsa::VerifyingKey::new(sm2_distid, key)
                            .map(|key| Self(Key::Sm2(Box::new(key))))
                            .map_err(|_| malformed())
                    }
                    curve => Err(Error::UnsupportedPublicKey {
                        algorithm,
                        parameters: Some(curve),
                    }),
                }
            }
            ID_ED_25519 => ed25519_dalek::VerifyingKey::from_public_key_der(&spki_der)
                .map(|key| Self(Key::Ed25519(key)))
                .map_err(|_| malformed()),
            algorithm => Err(Error::UnsupportedPublicKey {
                algorithm,
                parameters: None,
            }),
        }
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        match self.0 {
            Key::P256(_) => KeyAlgorithm::EcdsaP256,
            Key::Ed25519(_) => KeyAlgorithm::Ed25519,
            Key::Sm2(_) => KeyAlgorithm::Sm2,
        }
    }

    /// Verifies `signature` over `message` under `algorithm` and says which algorithm
    /// that was. ECDSA and SM2 signatures are DER `SEQUENCE { r, s }`, Ed25519 ones the
    /// 64 raw bytes.
    ///
    /// `cms_digest` is a CMS `SignerInfo`'s digest algorithm: it is used only when the
    /// signature algorithm is the bare key algorithm `id-ecPublicKey`, which some CMS
    /// producers emit instead of `ecdsa-with-SHA*` (or of `sm2sign-with-sm3`, with SM3).
    ///
    /// # Errors
    /// - [`Error::UnsupportedSignatureAlgorithm`] for an algorithm not supported (or
    ///   with parameters it must not have);
    /// - [`Error::AlgorithmKeyMismatch`] for an algorithm that does not fit the key;
    /// - [`Error::SignatureInvalid`] if the signature does not decode or verify.
    pub fn verify(
        &self,
        algorithm: &AlgorithmIdentifierOwned,
        cms_digest: Option<DigestAlgorithm>,
        message: &[u8],
        signature: &[u8],
    ) -> Result<SignatureAlgorithm> {
        let mismatch = || Error::AlgorithmKeyMismatch {
            signature_algorithm: algorithm.oid,
            key: self.algorithm(),
        };
        let unsupported = || Error::UnsupportedSignatureAlgorithm {
            algorithm: algorithm.oid,
        };
        match &self.0 {
            Key::P256(key) => {
                // RFC 5758 §3.2: parameters MUST be absent for ecdsa-with-SHA*.
                if algorithm.parameters.is_some() && algorithm.oid != ID_EC_PUBLIC_KEY {
                    return Err(unsupported());
                }
                let digest = match algorithm.oid {
                    ECDSA_WITH_SHA_256 => DigestAlgorithm::Sha256,
                    ECDSA_WITH_SHA_384 => DigestAlgorithm::Sha384,
                    ECDSA_WITH_SHA_512 => DigestAlgorithm::Sha512,
                    ID_EC_PUBLIC_KEY => match cms_digest {
                        Some(DigestAlgorithm::Sm3) | None => return Err(mismatch()),
                        Some(digest) => digest,
                    },
                    ID_ED_25519 | SM2_WITH_SM3 | SM2_SIGN => return Err(mismatch()),
                    _ => return Err(unsupported()),
                };
                let signature = p256::ecdsa::Signature::from_der(signature)
                    .map_err(|_| Error::SignatureInvalid)?;
                key.verify_prehash(&digest.digest(message), &signature)
                    .map_err(|_| Error::SignatureInvalid)?;
                Ok(SignatureAlgorithm::EcdsaP256(digest))
            }
            Key::Ed25519(key) => {
                match algorithm.oid {
                    // RFC 8410 §3: parameters MUST be absent.
                    ID_ED_25519 if algorithm.parameters.is_none() => {}
                    ID_ED_25519 => return Err(unsupported()),
                    ECDSA_WITH_SHA_256 | ECDSA_WITH_SHA_384 | ECDSA_WITH_SHA_512
                    | ID_EC_PUBLIC_KEY | SM2_WITH_SM3 | SM2_SIGN => return Err(mismatch()),
                    _ => return Err(unsupported()),
                }
                let signature = ed25519_dalek::Signature::from_slice(signature)
                    .map_err(|_| Error::SignatureInvalid)?;
                // verify_strict rejects small-order keys and non-canonical encodings.
                key.verify_strict(message, &signature)
                    .map_err(|_| Error::SignatureInvalid)?;
                Ok(SignatureAlgorithm::Ed25519)
            }
            Key::Sm2(key) => {
                match algorithm.oid {
                    // GM/T implementations emit both OIDs, with or without NULL parameters.
                    SM2_WITH_SM3 | SM2_SIGN if parameters_absent_or_null(algorithm) => {}
                    SM2_WITH_SM3 | SM2_SIGN => return Err(unsupported()),
                    ID_EC_PUBLIC_KEY if cms_digest == Some(DigestAlgorithm::Sm3) => {}
                    ECDSA_WITH_SHA_256 | ECDSA_WITH_SHA_384 | ECDSA_WITH_SHA_512
                    | ID_EC_PUBLIC_KEY | ID_ED_25519 => return Err(mismatch()),
                    _ => return Err(unsupported()),
                }
                let signature = sm2::dsa::Signature::from_der(signature)
                    .map_err(|_| Error::SignatureInvalid)?;
                key.verify(message, &signature)
                    .map_err(|_| Error::SignatureInvalid)?;
                Ok(SignatureAlgorithm::Sm2WithSm3)
            }
        }
    }
}

/// Whether an `AlgorithmIdentifier`'s parameters are absent or `NULL`.
fn parameters_absent_or_null(algorithm: &AlgorithmIdentifierOwned) -> bool {
    match &algorithm.parameters {
        None => true,
        Some(parameters) => parameters.decode_as::<Null>().is_ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_lengths_match_the_hashers() {
        for algorithm in DigestAlgorithm::ALL {
            assert_eq!(algorithm.digest(b"abc").len(), algorithm.output_bytes());
            assert_eq!(DigestAlgorithm::from_oid(&algorithm.oid()), Some(algorithm));
        }
    }

    #[test]
    fn sm3_matches_the_gmt_0004_example() {
        // GM/T 0004-2012, Appendix A.1: SM3("abc").
        let digest = DigestAlgorithm::Sm3.digest(b"abc");
        let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
        assert_eq!(
            hex,
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
    }

    #[test]
    fn digest_parameters_must_be_absent_or_null() {
        let mut identifier = DigestAlgorithm::Sha256.algorithm_identifier();
        identifier.parameters = Some(der::Any::from(Null));
        assert_eq!(
            DigestAlgorithm::from_algorithm_identifier(&identifier).ok(),
            Some(DigestAlgorithm::Sha256)
        );
        identifier.parameters = Some(der::Any::encode_from(&SM3).unwrap());
        assert!(matches!(
            DigestAlgorithm::from_algorithm_identifier(&identifier),
            Err(Error::DigestParametersNotAllowed { .. })
        ));
        identifier.oid = SM2_CURVE;
        assert!(matches!(
            DigestAlgorithm::from_algorithm_identifier(&identifier),
            Err(Error::UnsupportedDigestAlgorithm { .. })
        ));
    }
}
