//! The key vault's parsers of stored and received bytes — key, credential and grant
//! records, wallet seed records and recovery states (affix-vault), wrapped KEKs and Shamir shares (affix-seal), mnemonics and
//! derivation paths (affix-wallet) — on arbitrary input: never panic; whatever decodes
//! re-encodes to the same bytes.
#![no_main]

use affix_vault::recovery::Recovery;
use affix_vault::{CredentialRecord, GrantRecord, KeyRecord, WalletRecord};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = KeyRecord::decode(data) {
        assert_eq!(r.encode(), data, "a key record re-encodes to other bytes");
    }
    if let Ok(r) = CredentialRecord::decode(data) {
        assert_eq!(r.encode(), data, "a credential record re-encodes to other bytes");
    }
    if let Ok(r) = GrantRecord::decode(data) {
        assert_eq!(r.encode().ok().as_deref(), Some(data), "a grant re-encodes to other bytes");
    }
    if let Ok(r) = WalletRecord::decode(data) {
        assert_eq!(r.encode().as_slice(), data, "a wallet record re-encodes to other bytes");
    }
    if let Ok(r) = Recovery::decode(data) {
        assert_eq!(r.encode(), data, "a recovery re-encodes to other bytes");
    }
    if let Ok(w) = affix_seal::WrappedKek::decode(data) {
        assert_eq!(w.as_bytes().as_slice(), data);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = affix_seal::Share::parse(text);
        let _ = affix_wallet::Mnemonic::parse(text);
        if let Ok(path) = affix_wallet::DerivationPath::parse(text) {
            let again = affix_wallet::DerivationPath::parse(&path.to_string());
            assert!(again.is_ok_and(|p| p == path), "a path does not survive printing");
        }
    }
});
