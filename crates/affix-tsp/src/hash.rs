//! The hash algorithms accepted in message imprints and CMS digests.

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912::{ID_SHA_256, ID_SHA_384, ID_SHA_512};
use sha2::Digest;
use spki::AlgorithmIdentifierOwned;

use super::{Error, ID_SM3};

/// A hash algorithm usable in a message imprint, an `ESSCertIDv2` or as a
/// CMS digest algorithm.
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash)]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// SHA-256 (FIPS 180-4).
    Sha256,
    /// SHA-384 (FIPS 180-4).
    Sha384,
    /// SHA-512 (FIPS 180-4).
    Sha512,
    /// SM3 (GM/T 0004).
    Sm3,
}

impl HashAlgorithm {
    /// The algorithm's object identifier.
    pub const fn oid(self) -> ObjectIdentifier {
        match self {
            HashAlgorithm::Sha256 => ID_SHA_256,
            HashAlgorithm::Sha384 => ID_SHA_384,
            HashAlgorithm::Sha512 => ID_SHA_512,
            HashAlgorithm::Sm3 => ID_SM3,
        }
    }

    /// The algorithm with this object identifier, if supported.
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        [Self::Sha256, Self::Sha384, Self::Sha512, Self::Sm3]
            .into_iter()
            .find(|algorithm| algorithm.oid() == *oid)
    }

    /// Length of the hash value.
    pub const fn output_bytes(self) -> usize {
        match self {
            HashAlgorithm::Sha256 | HashAlgorithm::Sm3 => 32,
            HashAlgorithm::Sha384 => 48,
            HashAlgorithm::Sha512 => 64,
        }
    }

    /// Hashes `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            HashAlgorithm::Sha256 => sha2::Sha256::digest(data).to_vec(),
            HashAlgorithm::Sha384 => sha2::Sha384::digest(data).to_vec(),
            HashAlgorithm::Sha512 => sha2::Sha512::digest(data).to_vec(),
            HashAlgorithm::Sm3 => sm3::Sm3::digest(data).to_vec(),
        }
    }

    /// The algorithm identifier this module emits: parameters absent, as
    /// RFC 5754 §2 prefers for SHA-2.
    pub fn algorithm_identifier(self) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: self.oid(),
            parameters: None,
        }
    }

    /// Reads an algorithm identifier received from a peer.
    ///
    /// Parameters must be absent or `NULL`: none of these algorithms takes
    /// any, and OpenSSL sends `NULL`.
    pub(crate) fn from_algorithm_identifier(
        identifier: &AlgorithmIdentifierOwned,
    ) -> Result<Self, Error> {
        let algorithm = Self::from_oid(&identifier.oid).ok_or(Error::UnsupportedHashAlgorithm {
            oid: identifier.oid,
        })?;
        match &identifier.parameters {
            Some(parameters) if !parameters.is_null() => Err(Error::HashParametersNotAllowed {
                oid: identifier.oid,
            }),
            _ => Ok(algorithm),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_lengths_match_the_hashers() {
        for algorithm in [
            HashAlgorithm::Sha256,
            HashAlgorithm::Sha384,
            HashAlgorithm::Sha512,
            HashAlgorithm::Sm3,
        ] {
            assert_eq!(algorithm.digest(b"abc").len(), algorithm.output_bytes());
            assert_eq!(HashAlgorithm::from_oid(&algorithm.oid()), Some(algorithm));
        }
    }

    #[test]
    fn sm3_matches_the_gmt_0004_example() {
        // GM/T 0004-2012, Appendix A.1: SM3("abc").
        assert_eq!(
            hex::encode(HashAlgorithm::Sm3.digest(b"abc")),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
    }
}
