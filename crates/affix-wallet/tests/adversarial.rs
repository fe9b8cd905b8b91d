//! Garbage in, errors out: parsing random mnemonics, paths, seeds and secret keys never
//! panics, and whatever parses round-trips.

#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

mod common;

use affix_wallet::{
    DERIVATION_DEPTH_MAX, DerivationPath, Ed25519Key, Error, Mnemonic, Secp256k1Key, Seed,
    WordCount,
};
use common::FixedBytes;
use proptest::prelude::*;

/// Real BIP-39 words, to build phrases that get past the word lookup (about one in 16
/// 12-word phrases of them has a valid checksum)…
const WORDS: &[&str] = &[
    "abandon", "ability", "able", "about", "zoo", "zone", "wrong", "legal", "winner", "yellow",
];
/// …and near-misses.
const NEAR_MISSES: &[&str] = &["Abandon", "abandonn", "abando", "zo", "", "合同", "ZOO"];

fn word() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        30 => proptest::sample::select(WORDS),
        1 => proptest::sample::select(NEAR_MISSES),
    ]
}

fn word_count() -> impl Strategy<Value = usize> {
    prop_oneof![Just(12), Just(15), Just(24), 0usize..30]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_is_not_a_panic_as_mnemonic(text in any::<String>()) {
        let _ = Mnemonic::parse(&text);
    }

    #[test]
    fn word_salad_parses_only_with_a_valid_checksum(
        words in word_count().prop_flat_map(|n| proptest::collection::vec(word(), n)),
        separator in prop_oneof![Just(" "), Just("  "), Just("\t"), Just("\u{3000}")],
    ) {
        let phrase = words.join(separator);
        match Mnemonic::parse(&phrase) {
            Ok(mnemonic) => {
                prop_assert!([12, 15, 18, 21, 24].contains(&mnemonic.word_count()));
                // The canonical phrase parses to the same seed.
                let again = Mnemonic::parse(&mnemonic.phrase()).unwrap();
                let (seed, seed_again) = (mnemonic.to_seed(""), again.to_seed(""));
                prop_assert_eq!(seed.secret_bytes(), seed_again.secret_bytes());
            }
            Err(
                Error::MnemonicWordCount { .. }
                | Error::MnemonicUnknownWord { .. }
                | Error::MnemonicChecksum,
            ) => {}
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
        }
    }

    #[test]
    fn arbitrary_text_is_not_a_panic_as_path(text in any::<String>()) {
        let _ = DerivationPath::parse(&text);
    }

    #[test]
    fn path_like_text_parses_within_limits_and_round_trips(
        text in "m(/[0-9]{1,11}['hH]?){0,13}|m(/[0-9'hH/ +-]{0,6}){0,4}",
    ) {
        if let Ok(path) = DerivationPath::parse(&text) {
            prop_assert!(path.depth() <= DERIVATION_DEPTH_MAX);
            let shown = path.to_string();
            prop_assert_eq!(DerivationPath::parse(&shown).unwrap(), path);
        }
    }

    #[test]
    fn any_seed_length_is_an_error_or_derives(
        bytes in proptest::collection::vec(any::<u8>(), 0..100),
        hardened in any::<bool>(),
        index in 0u32..(1 << 31),
    ) {
        match Seed::from_bytes(&bytes) {
            Ok(seed) => {
                prop_assert!([16, 32, 64].contains(&bytes.len()));
                let path = DerivationPath::parse(&format!(
                    "m/{index}{}",
                    if hardened { "'" } else { "" }
                ))
                .unwrap();
                prop_assert!(seed.derive_secp256k1(&path).is_ok());
                prop_assert_eq!(seed.derive_ed25519(&path).is_ok(), hardened);
            }
            Err(error) => prop_assert_eq!(error, Error::SeedLength { length_bytes: bytes.len() }),
        }
    }

    #[test]
    fn any_32_bytes_are_a_key_or_an_error(secret in any::<[u8; 32]>()) {
        if let Ok(key) = Secp256k1Key::from_secret_bytes(&secret) {
            prop_assert_eq!(*key.secret_bytes(), secret);
            prop_assert!(key.ethereum_address().starts_with("0x"));
        }
        let ed = Ed25519Key::from_secret_bytes(&secret);
        prop_assert_eq!(*ed.secret_bytes(), secret);
    }

    #[test]
    fn generated_mnemonics_round_trip(entropy in any::<[u8; 32]>(), long in any::<bool>()) {
        let words = if long { WordCount::Words24 } else { WordCount::Words12 };
        let mnemonic = Mnemonic::generate(&mut FixedBytes(entropy.to_vec()), words);
        prop_assert_eq!(mnemonic.word_count(), if long { 24 } else { 12 });
        let parsed = Mnemonic::parse(&mnemonic.phrase()).unwrap();
        prop_assert_eq!(parsed.phrase(), mnemonic.phrase());
    }
}

#[test]
fn oversized_inputs_are_refused_by_size() {
    let long_path = format!("m{}", "/1".repeat(1000));
    assert!(matches!(
        DerivationPath::parse(&long_path),
        Err(Error::TooLarge { .. })
    ));
    let long_phrase = "zoo ".repeat(10_000);
    assert!(matches!(
        Mnemonic::parse(&long_phrase),
        Err(Error::TooLarge { .. })
    ));
}
