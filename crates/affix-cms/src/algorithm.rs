//! The algorithms of `affix-pki` ([`DigestAlgorithm`], [`PublicKey`]) seen through this
//! crate's error type: which certificate a key belongs to, and whether a failed check is
//! a bad signature or an unusable algorithm.

use affix_pki::{DigestAlgorithm, PublicKey, SignatureAlgorithm};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use super::Error;

/// Why a signature check did not succeed.
pub(super) enum SignatureCheckError {
    /// The algorithms are unsupported or do not fit the key; the error says which.
    Unusable(Error),
    /// The signature is well formed for the algorithm but does not verify (or cannot be
    /// decoded as a signature of that algorithm).
    Invalid,
}

/// Decodes the key of the certificate whose subject is `subject` (named in errors).
pub(super) fn public_key(
    spki: &SubjectPublicKeyInfoOwned,
    subject: &str,
) -> Result<PublicKey, Error> {
    PublicKey::from_spki(spki).map_err(|error| match error {
        affix_pki::Error::UnsupportedPublicKey {
            algorithm,
            parameters,
        } => Error::UnsupportedPublicKey {
            oid: parameters.unwrap_or(algorithm),
        },
        affix_pki::Error::Encoding(error) => Error::Encoding(error),
        _ => Error::PublicKeyInvalid {
            subject: subject.to_owned(),
        },
    })
}

/// Verifies `signature` over `message` with `key`; see [`PublicKey::verify`].
pub(super) fn verify(
    key: &PublicKey,
    algorithm: &AlgorithmIdentifierOwned,
    cms_digest: Option<DigestAlgorithm>,
    message: &[u8],
    signature: &[u8],
) -> Result<SignatureAlgorithm, SignatureCheckError> {
    key.verify(algorithm, cms_digest, message, signature)
        .map_err(|error| match error {
            affix_pki::Error::SignatureInvalid => SignatureCheckError::Invalid,
            affix_pki::Error::AlgorithmKeyMismatch {
                signature_algorithm,
                key,
            } => SignatureCheckError::Unusable(Error::AlgorithmKeyMismatch {
                signature_algorithm,
                key: key.name(),
            }),
            _ => SignatureCheckError::Unusable(Error::UnsupportedSignatureAlgorithm {
                oid: algorithm.oid,
            }),
        })
}

/// Reads a digest `AlgorithmIdentifier`: a supported algorithm, parameters absent or
/// `NULL` (RFC 5754 §2).
pub(super) fn digest_algorithm(
    identifier: &AlgorithmIdentifierOwned,
) -> Result<DigestAlgorithm, Error> {
    DigestAlgorithm::from_algorithm_identifier(identifier).map_err(|_| {
        Error::UnsupportedDigestAlgorithm {
            oid: identifier.oid,
        }
    })
}

/// The digest algorithm that goes with a signer's signature algorithm.
pub(super) fn digest_for_signature(
    identifier: &AlgorithmIdentifierOwned,
) -> Result<DigestAlgorithm, Error> {
    DigestAlgorithm::for_signature_algorithm(identifier).map_err(|_| {
        Error::UnsupportedSignatureAlgorithm {
            oid: identifier.oid,
        }
    })
}
