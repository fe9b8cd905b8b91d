/// Errors from parsing mnemonics and paths, deriving keys and signing.
///
/// Variants fall in three groups: malformed input (a mnemonic, path, seed or secret key
/// that cannot be what it claims), misuse (a request the standards do not define, such
/// as non-hardened Ed25519 derivation) and cryptographic dead ends that occur with
/// negligible probability (about 2⁻¹²⁷) but are reported rather than hidden.
#[derive(Debug, thiserror::Error, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Malformed input: larger than the limit for its kind.
    #[error("{what} is {actual} bytes, above the limit of {limit}")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its size in bytes.
        actual: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// Malformed input: a mnemonic whose word count is not 12, 15, 18, 21 or 24.
    #[error("mnemonic has {words} words; BIP-39 allows 12, 15, 18, 21 or 24")]
    MnemonicWordCount {
        /// Words found.
        words: usize,
    },
    /// Malformed input: a mnemonic word not in the BIP-39 English word list.
    #[error("mnemonic word {position} is not in the BIP-39 English word list")]
    MnemonicUnknownWord {
        /// Zero-based position of the word (the word itself is secret and not reported).
        position: usize,
    },
    /// Malformed input: the mnemonic's checksum bits do not match its entropy (a typo or
    /// a wrong word).
    #[error("mnemonic checksum does not match")]
    MnemonicChecksum,
    /// Malformed input: mnemonic entropy of a length other than 16 or 32 bytes (the two
    /// lengths this crate generates: 12 and 24 words).
    #[error("mnemonic entropy is {length_bytes} bytes; 16 or 32 are accepted")]
    EntropyLength {
        /// Length given.
        length_bytes: usize,
    },
    /// Malformed input: a seed of a length other than 16, 32 or 64 bytes.
    #[error("seed is {length_bytes} bytes; 16, 32 or 64 are accepted")]
    SeedLength {
        /// Length given.
        length_bytes: usize,
    },
    /// Malformed input: a derivation path that breaks the `m/44'/60'/0'/0/0` grammar.
    #[error("malformed derivation path: {0}")]
    MalformedPath(&'static str),
    /// Malformed input: a derivation path deeper than [`crate::DERIVATION_DEPTH_MAX`].
    #[error("derivation path has {depth} levels, above the limit of {limit}")]
    PathTooDeep {
        /// Levels in the path.
        depth: usize,
        /// The limit.
        limit: usize,
    },
    /// Malformed input: a child index at or above 2³¹ (the hardened flag is given by `'`,
    /// not by the number).
    #[error("child index {index} is not below 2^31")]
    ChildIndexOutOfRange {
        /// The index given.
        index: u64,
    },
    /// Malformed input: 32 bytes that are not a valid secp256k1 secret key (zero, or not
    /// below the group order).
    #[error("not a valid secp256k1 secret key")]
    InvalidSecretKey,
    /// Misuse: SLIP-0010 defines only hardened derivation for Ed25519.
    #[error("Ed25519 (SLIP-0010) derivation needs hardened indices; level {level} is not")]
    Ed25519NonHardened {
        /// One-based level of the first non-hardened index.
        level: usize,
    },
    /// Cryptographic dead end: BIP-32 derivation produced an invalid key (probability
    /// below 2⁻¹²⁷; BIP-32 says to proceed with the next index).
    #[error("BIP-32 derivation produced an invalid key; use the next index")]
    DerivationInvalidKey,
    /// Cryptographic dead end: the signature's recovery id needs the "x reduced" bit,
    /// which Ethereum's `v` cannot express (probability about 2⁻¹²⁸).
    #[error("signature recovery id cannot be expressed as Ethereum v")]
    UnrepresentableRecoveryId,
}
