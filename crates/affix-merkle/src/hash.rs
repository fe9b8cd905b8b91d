use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::Digest as _;

use crate::Error;

/// Length of every tree hash, for both suites.
pub const HASH_BYTES: usize = 32;

/// Origins of SM3 logs end with this suffix, and only theirs do (see
/// [`HashSuite::for_origin`]).
pub const SM3_ORIGIN_SUFFIX: &str = "/sm3";

/// Root of the empty tree under SHA-256: `SHA-256("")` (RFC 9162 §2.1.1).
pub const EMPTY_SHA256_ROOT: Hash = Hash([
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
]);

/// A 32-byte tree hash (leaf hash, interior node hash or root).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hash(pub [u8; HASH_BYTES]);

impl Hash {
    /// Parses the standard base64 (RFC 4648 §4, padded) encoding used by checkpoints and
    /// proofs.
    pub fn from_base64(text: &str) -> Result<Self, Error> {
        // 32 bytes encode to exactly 44 characters; checking first bounds the decoder.
        if text.len() != 44 {
            return Err(Error::MalformedHash {
                reason: "base64 hash must be 44 characters",
            });
        }
        let bytes = STANDARD.decode(text).map_err(|_| Error::MalformedHash {
            reason: "invalid base64",
        })?;
        Self::from_slice(&bytes)
    }

    /// Copies a hash from a 32-byte slice.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, Error> {
        let array: [u8; HASH_BYTES] = bytes.try_into().map_err(|_| Error::MalformedHash {
            reason: "hash must be 32 bytes",
        })?;
        Ok(Self(array))
    }

    /// Standard base64 encoding.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// Lowercase hex encoding, for logs and diagnostics.
    pub fn to_hex(&self) -> String {
        use std::fmt::Write as _;
        self.0.iter().fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    }
}

impl std::fmt::Debug for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl std::fmt::Display for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_base64())
    }
}

/// The hash function a tree is built with. Both suites use the RFC 9162 §2.1
/// construction: `leaf = H(0x00 || entry)`, `node = H(0x01 || left || right)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HashSuite {
    /// SHA-256: RFC 6962/9162, C2SP tlog-tiles, Go's sumdb. The default.
    Sha256,
    /// SM3 (GB/T 32905-2016) in the same construction, for deployments that must use
    /// Chinese national algorithms. Not understood by standard C2SP verifiers.
    Sm3,
}

impl HashSuite {
    /// The suite a log with this checkpoint origin uses: SM3 exactly when the origin ends
    /// in [`SM3_ORIGIN_SUFFIX`] (`/sm3`), SHA-256 otherwise.
    ///
    /// Binding the suite to the origin means a receipt carries its own hash algorithm in
    /// signed text: a verifier configured with an origin can never check an SM3 proof
    /// with SHA-256 or the reverse, and a standard (SHA-256) C2SP verifier rejects an SM3
    /// log's proofs instead of misreading them.
    pub fn for_origin(origin: &str) -> Self {
        if origin.ends_with(SM3_ORIGIN_SUFFIX) {
            HashSuite::Sm3
        } else {
            HashSuite::Sha256
        }
    }

    /// Short lowercase name: `sha256` or `sm3`.
    pub fn name(self) -> &'static str {
        match self {
            HashSuite::Sha256 => "sha256",
            HashSuite::Sm3 => "sm3",
        }
    }

    /// Parses [`HashSuite::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "sha256" => Some(HashSuite::Sha256),
            "sm3" => Some(HashSuite::Sm3),
            _ => None,
        }
    }

    /// `H(entry)`: the plain digest, without domain prefix.
    pub fn digest(self, data: &[u8]) -> Hash {
        match self {
            HashSuite::Sha256 => Hash(sha2::Sha256::digest(data).into()),
            HashSuite::Sm3 => Hash(sm3::Sm3::digest(data).into()),
        }
    }

    /// Leaf hash of one log entry: `H(0x00 || entry)`.
    pub fn leaf_hash(self, entry: &[u8]) -> Hash {
        match self {
            HashSuite::Sha256 => {
                let mut h = sha2::Sha256::new();
                h.update([0x00]);
                h.update(entry);
                Hash(h.finalize().into())
            }
            HashSuite::Sm3 => {
                let mut h = sm3::Sm3::new();
                h.update([0x00]);
                h.update(entry);
                Hash(h.finalize().into())
            }
        }
    }

    /// Interior node hash: `H(0x01 || left || right)`.
    pub fn node_hash(self, left: &Hash, right: &Hash) -> Hash {
        let mut block = [0u8; 1 + 2 * HASH_BYTES];
        block[0] = 0x01;
        block[1..33].copy_from_slice(&left.0);
        block[33..].copy_from_slice(&right.0);
        self.digest(&block)
    }

    /// Root of the empty tree: `H("")`.
    pub fn empty_root(self) -> Hash {
        self.digest(b"")
    }
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_hash_of_empty_string() {
        assert_eq!(HashSuite::Sha256.empty_root(), EMPTY_SHA256_ROOT);
        // GB/T 32905 has no empty-string vector; this value was cross-checked with PyPI
        // gmssl 3.2: `sm3.sm3_hash(func.bytes_to_list(b''))`.
        assert_eq!(
            HashSuite::Sm3.empty_root().to_hex(),
            "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b"
        );
    }

    #[test]
    fn sm3_standard_vector() {
        // GB/T 32905-2016 Appendix A, example 1: SM3("abc").
        assert_eq!(
            HashSuite::Sm3.digest(b"abc").to_hex(),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
    }

    #[test]
    fn leaf_and_node_hashes_are_domain_separated() {
        for suite in [HashSuite::Sha256, HashSuite::Sm3] {
            let a = suite.leaf_hash(b"a");
            let b = suite.leaf_hash(b"b");
            let mut concat = vec![0x01];
            concat.extend_from_slice(&a.0);
            concat.extend_from_slice(&b.0);
            assert_eq!(suite.node_hash(&a, &b), suite.digest(&concat));
            let mut leaf_input = vec![0x00];
            leaf_input.extend_from_slice(b"a");
            assert_eq!(a, suite.digest(&leaf_input));
            assert_ne!(suite.leaf_hash(&concat[1..]), suite.node_hash(&a, &b));
        }
    }

    #[test]
    fn origin_selects_suite() {
        assert_eq!(HashSuite::for_origin("example.com/log"), HashSuite::Sha256);
        assert_eq!(HashSuite::for_origin("example.com/log/sm3"), HashSuite::Sm3);
        assert_eq!(
            HashSuite::for_origin("example.com/sm3log"),
            HashSuite::Sha256
        );
    }

    #[test]
    fn base64_round_trip_and_rejects() {
        let h = HashSuite::Sha256.leaf_hash(b"x");
        assert_eq!(Hash::from_base64(&h.to_base64()), Ok(h));
        assert!(Hash::from_base64("").is_err());
        assert!(Hash::from_base64(&"A".repeat(44)).is_err());
        assert!(Hash::from_base64(&"A".repeat(4000)).is_err());
        assert!(Hash::from_slice(&[0; 31]).is_err());
    }
}
