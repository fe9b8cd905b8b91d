//! Salted commitments: how personal data appears in evidence.

use sha2::Digest as _;
use zeroize::Zeroize;

use crate::Error;
use crate::record::{DigestAlgorithm, check_label};

/// Domain-separation prefix of every commitment hash.
pub const COMMITMENT_DOMAIN: &[u8] = b"affix/evidence/commitment/v1\0";

/// A 32-byte random salt. Whoever keeps the salt and the value can later prove what was
/// committed; without the salt the commitment reveals nothing, even for low-entropy
/// values such as phone numbers. Zeroized on drop; `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Salt(pub [u8; 32]);

impl Drop for Salt {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for Salt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Salt(redacted)")
    }
}

/// `H(domain || len(label) || label || salt || value)` under SHA-256 or SM3, with a label
/// saying what the value is (`lender.name`, `borrower.id-number`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Commitment {
    pub(crate) label: String,
    pub(crate) algorithm: DigestAlgorithm,
    pub(crate) value: [u8; 32],
}

impl Commitment {
    /// Commits to `value` under `label` with `salt`.
    pub fn compute(
        algorithm: DigestAlgorithm,
        label: &str,
        salt: &Salt,
        value: &[u8],
    ) -> Result<Self, Error> {
        check_label("commitment label", label)?;
        Ok(Self {
            label: label.to_owned(),
            algorithm,
            value: Self::hash(algorithm, label, salt, value),
        })
    }

    /// Whether `salt` and `value` open this commitment.
    pub fn opens(&self, salt: &Salt, value: &[u8]) -> bool {
        Self::hash(self.algorithm, &self.label, salt, value) == self.value
    }

    /// What the committed value is.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Hash algorithm.
    pub fn algorithm(&self) -> DigestAlgorithm {
        self.algorithm
    }

    /// The commitment bytes.
    pub fn value(&self) -> &[u8; 32] {
        &self.value
    }

    fn hash(algorithm: DigestAlgorithm, label: &str, salt: &Salt, value: &[u8]) -> [u8; 32] {
        // `check_label` bounds labels to 32 bytes, so the length fits a byte.
        let len = [u8::try_from(label.len()).unwrap_or(u8::MAX)];
        let parts: [&[u8]; 5] = [COMMITMENT_DOMAIN, &len, label.as_bytes(), &salt.0, value];
        match algorithm {
            DigestAlgorithm::Sha256 => {
                let mut h = sha2::Sha256::new();
                parts.iter().for_each(|p| h.update(p));
                h.finalize().into()
            }
            DigestAlgorithm::Sm3 => {
                let mut h = sm3::Sm3::new();
                parts.iter().for_each(|p| h.update(p));
                h.finalize().into()
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::*;

    #[test]
    fn opens_only_with_the_right_salt_value_and_label() {
        let salt = Salt([1; 32]);
        let c = Commitment::compute(
            DigestAlgorithm::Sha256,
            "borrower.phone",
            &salt,
            b"13800138000",
        )
        .unwrap();
        assert!(c.opens(&salt, b"13800138000"));
        assert!(!c.opens(&salt, b"13800138001"));
        assert!(!c.opens(&Salt([2; 32]), b"13800138000"));
        let other_label = Commitment::compute(
            DigestAlgorithm::Sha256,
            "lender.phone",
            &salt,
            b"13800138000",
        )
        .unwrap();
        assert_ne!(c.value(), other_label.value());
        let sm3 = Commitment::compute(
            DigestAlgorithm::Sm3,
            "borrower.phone",
            &salt,
            b"13800138000",
        )
        .unwrap();
        assert_ne!(c.value(), sm3.value());
        assert!(sm3.opens(&salt, b"13800138000"));
        assert_eq!(format!("{salt:?}"), "Salt(redacted)");
    }
}
