//! Salted commitments to personal data, and the digest newtypes.

use core::fmt;

use sha2::{Digest, Sha256};

/// Domain tag of a [`crate::ResidentId`] commitment.
pub(crate) const RESIDENT_ID_TAG: &[u8] = b"affix-identity/v1/resident-id\0";
/// Domain tag of a [`crate::MobileNumber`] commitment.
pub(crate) const MOBILE_TAG: &[u8] = b"affix-identity/v1/mobile\0";
/// Domain tag of an [`crate::EmailAddress`] commitment.
pub(crate) const EMAIL_TAG: &[u8] = b"affix-identity/v1/email\0";

/// A salted SHA-256 commitment to a piece of personal data:
/// `SHA-256(tag || salt || value)`, with a versioned, NUL-terminated domain tag per kind
/// of data (see the crate README, "Commitments").
///
/// Evidence records hold commitments, never the data. A commitment hides the data only
/// while its salt is secret: resident ID and mobile numbers are few enough (under 10¹²)
/// to be found by trying them all against a known salt. Keep salts apart from the
/// evidence (so that destroying a salt makes the commitment unlinkable), and reveal a
/// salt only to someone entitled to check the data.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Commitment([u8; 32]);

impl Commitment {
    /// A commitment from its 32 bytes (as stored).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub(crate) fn compute(tag: &[u8], salt: &[u8; 32], value: &[u8]) -> Self {
        let mut hash = Sha256::new();
        hash.update(tag);
        hash.update(salt);
        hash.update(value);
        Self(hash.finalize().into())
    }
}

impl fmt::Display for Commitment {
    /// Lowercase hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Debug for Commitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Commitment({self})")
    }
}

/// The SHA-256 digest of a [`crate::VerifiedIdentity`]'s canonical encoding: what the
/// evidence ledger records for an identity check.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResultDigest([u8; 32]);

impl ResultDigest {
    /// A digest from its 32 bytes (as stored).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub(crate) fn of(encoding: &[u8]) -> Self {
        Self(Sha256::digest(encoding).into())
    }
}

impl fmt::Display for ResultDigest {
    /// Lowercase hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Debug for ResultDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResultDigest({self})")
    }
}

pub(crate) fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    bytes.iter().try_for_each(|b| write!(f, "{b:02x}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_prefix_free() {
        // Each tag ends in its only NUL, so no tag is a prefix of another and the
        // fixed-length salt that follows cannot be confused with a tag.
        let tags = [RESIDENT_ID_TAG, MOBILE_TAG, EMAIL_TAG];
        for (i, a) in tags.iter().enumerate() {
            assert_eq!(a.iter().filter(|&&b| b == 0).count(), 1);
            assert_eq!(a.last(), Some(&0));
            for (j, b) in tags.iter().enumerate() {
                if i != j {
                    assert!(!b.starts_with(a));
                }
            }
        }
    }

    #[test]
    fn commitment_is_sha256_of_the_concatenation() {
        let salt = [7u8; 32];
        let got = Commitment::compute(MOBILE_TAG, &salt, b"+8613812345678");
        let mut all = MOBILE_TAG.to_vec();
        all.extend_from_slice(&salt);
        all.extend_from_slice(b"+8613812345678");
        assert_eq!(got.as_bytes(), &<[u8; 32]>::from(Sha256::digest(&all)));
        assert_eq!(got.to_string().len(), 64);
    }
}
