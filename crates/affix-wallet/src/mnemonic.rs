//! BIP-39 mnemonics (English word list), wrapping the `bip39` crate.

use core::fmt;

use rand_core::CryptoRng;
use zeroize::{Zeroize, Zeroizing};

use crate::{Error, Seed};

/// Longest mnemonic text [`Mnemonic::parse`] reads, in bytes. The longest English
/// 24-word phrase is 215 bytes; the rest is room for stray whitespace.
pub const MNEMONIC_BYTES_MAX: usize = 1024;

/// How many words a newly generated mnemonic has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WordCount {
    /// 12 words: 128 bits of entropy.
    Words12,
    /// 24 words: 256 bits of entropy.
    Words24,
}

impl WordCount {
    fn entropy_bytes(self) -> usize {
        match self {
            Self::Words12 => 16,
            Self::Words24 => 32,
        }
    }
}

/// A BIP-39 mnemonic in the English word list, checksum verified.
///
/// Zeroized on drop; `Debug` shows only the word count; no `Display` or `Serialize`:
/// the phrase leaves only through [`Mnemonic::phrase`], for showing it to its owner once.
pub struct Mnemonic(bip39::Mnemonic);

impl Mnemonic {
    /// A new mnemonic from `rng`'s entropy.
    pub fn generate(rng: &mut impl CryptoRng, words: WordCount) -> Self {
        let mut entropy = Zeroizing::new([0u8; 32]);
        let entropy = &mut entropy[..words.entropy_bytes()];
        rng.fill_bytes(entropy);
        // 16 and 32 bytes are valid BIP-39 entropy lengths (128 and 256 bits), the only
        // error `from_entropy_in` reports is a bad length.
        let mnemonic = bip39::Mnemonic::from_entropy_in(bip39::Language::English, entropy)
            .expect("16 or 32 bytes of entropy");
        Self(mnemonic)
    }

    /// The mnemonic of `entropy` (16 bytes: 12 words; 32 bytes: 24 words), for a store
    /// that keeps the entropy sealed and rebuilds the words when it needs the seed.
    pub fn from_entropy(entropy: &[u8]) -> Result<Self, Error> {
        if entropy.len() != 16 && entropy.len() != 32 {
            return Err(Error::EntropyLength {
                length_bytes: entropy.len(),
            });
        }
        bip39::Mnemonic::from_entropy_in(bip39::Language::English, entropy)
            .map(Self)
            .map_err(|_| Error::EntropyLength {
                length_bytes: entropy.len(),
            })
    }

    /// Parses an English mnemonic: words separated by whitespace, Unicode-normalized
    /// (NFKD) first, checksum verified. Case matters (the word list is lower case).
    pub fn parse(phrase: &str) -> Result<Self, Error> {
        if phrase.len() > MNEMONIC_BYTES_MAX {
            return Err(Error::TooLarge {
                what: "mnemonic",
                actual: phrase.len(),
                limit: MNEMONIC_BYTES_MAX,
            });
        }
        bip39::Mnemonic::parse_in(bip39::Language::English, phrase)
            .map(Self)
            .map_err(|error| match error {
                bip39::Error::BadWordCount(words) => Error::MnemonicWordCount { words },
                bip39::Error::UnknownWord(position) => Error::MnemonicUnknownWord { position },
                // Parsing a fixed language reports only the three errors above and a bad
                // checksum; anything else the crate may add is a checksum-class failure.
                _ => Error::MnemonicChecksum,
            })
    }

    /// The BIP-39 seed: PBKDF2-HMAC-SHA512, 2048 rounds, salt `"mnemonic" + passphrase`
    /// (both NFKD-normalized). An empty passphrase is the common case.
    pub fn to_seed(&self, passphrase: &str) -> Seed {
        let mut bytes = self.0.to_seed(passphrase);
        let seed = Seed::from_bip39(&bytes);
        bytes.zeroize();
        seed
    }

    /// The words, separated by single spaces. For showing the phrase to its owner; the
    /// string is zeroized when dropped.
    pub fn phrase(&self) -> Zeroizing<String> {
        let mut phrase = String::with_capacity(24 * 9);
        for (i, word) in self.0.words().enumerate() {
            if i > 0 {
                phrase.push(' ');
            }
            phrase.push_str(word);
        }
        Zeroizing::new(phrase)
    }

    /// The number of words (12, 15, 18, 21 or 24).
    pub fn word_count(&self) -> usize {
        self.0.word_count()
    }
}

impl fmt::Debug for Mnemonic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mnemonic({} words, redacted)", self.word_count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let m = Mnemonic::parse(
            "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon \
             abandon about",
        )
        .unwrap();
        assert_eq!(format!("{m:?}"), "Mnemonic(12 words, redacted)");
    }

    #[test]
    fn phrase_round_trips_and_normalizes_whitespace() {
        let m = Mnemonic::parse(
            "  legal winner thank year wave sausage worth useful legal\twinner thank yellow\n",
        )
        .unwrap();
        assert_eq!(
            *m.phrase(),
            "legal winner thank year wave sausage worth useful legal winner thank yellow"
        );
        assert_eq!(m.word_count(), 12);
    }

    #[test]
    fn wrong_checksum_word_is_rejected() {
        let e = Mnemonic::parse(
            "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon \
             abandon abandon",
        )
        .unwrap_err();
        assert_eq!(e, Error::MnemonicChecksum);
    }

    #[test]
    fn from_entropy_matches_the_bip39_vector_and_checks_the_length() {
        let m = Mnemonic::from_entropy(&[0u8; 16]).unwrap();
        assert_eq!(
            *m.phrase(),
            "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon \
             abandon about"
        );
        assert_eq!(Mnemonic::from_entropy(&[0u8; 32]).unwrap().word_count(), 24);
        for bad in [0, 15, 20, 33] {
            assert_eq!(
                Mnemonic::from_entropy(&vec![0u8; bad]).unwrap_err(),
                Error::EntropyLength { length_bytes: bad }
            );
        }
    }

    #[test]
    fn oversized_input_is_rejected_before_parsing() {
        let phrase = "abandon ".repeat(200);
        assert!(matches!(
            Mnemonic::parse(&phrase),
            Err(Error::TooLarge { .. })
        ));
    }
}
