//! The official vectors: BIP-32 (1–3), BIP-39 (Trezor, English, passphrase "TREZOR"),
//! SLIP-0010 Ed25519 (1–2), BIP-84 and EIP-55. See `tests/vectors/README.md`.

#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

mod common;

use affix_wallet::{BitcoinNetwork, DerivationPath, Mnemonic, Seed, WordCount, eip55_encode};
use common::{FixedBytes, base58check_decode, decode_extended_key, vector};

const XPRV: [u8; 4] = [0x04, 0x88, 0xad, 0xe4];
const XPUB: [u8; 4] = [0x04, 0x88, 0xb2, 0x1e];

fn hex(text: &str) -> Vec<u8> {
    hex::decode(text).unwrap()
}

#[test]
fn bip32_vectors_1_to_3() {
    let file = vector("bip32.json");
    let mut checked = 0;
    for v in file["vectors"].as_array().unwrap() {
        let seed = Seed::from_bytes(&hex(v["seed"].as_str().unwrap())).unwrap();
        for chain in v["chains"].as_array().unwrap() {
            let path = DerivationPath::parse(chain["path"].as_str().unwrap()).unwrap();
            let key = seed.derive_secp256k1(&path).unwrap();
            let xprv = decode_extended_key(chain["xprv"].as_str().unwrap());
            let xpub = decode_extended_key(chain["xpub"].as_str().unwrap());
            assert_eq!(xprv.version, XPRV);
            assert_eq!(xpub.version, XPUB);
            assert_eq!(usize::from(xprv.depth), path.depth());
            let last = path.indices().last().map_or(0, |i| i.to_bits());
            assert_eq!(xprv.child_number, last, "{path}");
            assert_eq!(xprv.key[0], 0, "private key is 0x00-padded");
            assert_eq!(
                key.secret_bytes().as_slice(),
                &xprv.key[1..],
                "{}: private key at {path}",
                v["name"]
            );
            assert_eq!(
                key.public_key_compressed(),
                xpub.key,
                "{}: public key at {path}",
                v["name"]
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 14);
}

#[test]
fn bip39_trezor_vectors() {
    let file = vector("bip39-trezor.json");
    let rows = file["english"].as_array().unwrap();
    assert_eq!(rows.len(), 24);
    for row in rows {
        let entropy = hex(row[0].as_str().unwrap());
        let phrase = row[1].as_str().unwrap();
        let mnemonic = Mnemonic::parse(phrase).unwrap();
        assert_eq!(*mnemonic.phrase(), phrase);

        let seed = mnemonic.to_seed("TREZOR");
        assert_eq!(
            seed.secret_bytes(),
            hex(row[2].as_str().unwrap()),
            "{phrase}"
        );

        // The master key of that seed, against the vector's root xprv.
        let master = seed.derive_secp256k1(&DerivationPath::master()).unwrap();
        let xprv = decode_extended_key(row[3].as_str().unwrap());
        assert_eq!(master.secret_bytes().as_slice(), &xprv.key[1..], "{phrase}");

        // Generating from the vector's entropy gives the vector's words (12 and 24 only).
        let words = match entropy.len() {
            16 => Some(WordCount::Words12),
            32 => Some(WordCount::Words24),
            _ => None,
        };
        if let Some(words) = words {
            let generated = Mnemonic::generate(&mut FixedBytes(entropy), words);
            assert_eq!(*generated.phrase(), phrase);
        }
    }
}

#[test]
fn slip10_ed25519_vectors_1_and_2() {
    let file = vector("slip10-ed25519.json");
    let mut checked = 0;
    for v in file["vectors"].as_array().unwrap() {
        let seed = Seed::from_bytes(&hex(v["seed"].as_str().unwrap())).unwrap();
        for chain in v["chains"].as_array().unwrap() {
            let path = DerivationPath::parse(chain["path"].as_str().unwrap()).unwrap();
            let key = seed.derive_ed25519(&path).unwrap();
            assert_eq!(
                key.secret_bytes().as_slice(),
                hex(chain["private"].as_str().unwrap()),
                "{}: private key at {path}",
                v["name"]
            );
            // SLIP-0010 writes Ed25519 public keys with a 0x00 prefix.
            let public = hex(chain["public"].as_str().unwrap());
            assert_eq!(public[0], 0);
            assert_eq!(key.verifying_key().as_bytes(), &public[1..]);
            checked += 1;
        }
    }
    assert_eq!(checked, 12);
}

#[test]
fn bip84_vector() {
    let file = vector("bip84.json");
    let mnemonic = Mnemonic::parse(file["mnemonic"].as_str().unwrap()).unwrap();
    let seed = mnemonic.to_seed(file["passphrase"].as_str().unwrap());

    let root = decode_extended_key(file["rootnode"].as_str().unwrap());
    let master = seed.derive_secp256k1(&DerivationPath::master()).unwrap();
    assert_eq!(master.secret_bytes().as_slice(), &root.key[1..]);
    let account = decode_extended_key(file["account0_xpriv"].as_str().unwrap());
    let account_key = seed
        .derive_secp256k1(&DerivationPath::parse("m/84'/0'/0'").unwrap())
        .unwrap();
    assert_eq!(account_key.secret_bytes().as_slice(), &account.key[1..]);

    for a in file["addresses"].as_array().unwrap() {
        let path = DerivationPath::parse(a["path"].as_str().unwrap()).unwrap();
        let key = seed.derive_secp256k1(&path).unwrap();
        // WIF: 0x80 ‖ secret ‖ 0x01 (compressed).
        let wif = base58check_decode(a["privkey_wif"].as_str().unwrap());
        assert_eq!((wif[0], wif.len(), wif[33]), (0x80, 34, 0x01));
        assert_eq!(key.secret_bytes().as_slice(), &wif[1..33], "{path}");
        assert_eq!(
            key.public_key_compressed().to_vec(),
            hex(a["pubkey"].as_str().unwrap())
        );
        assert_eq!(
            key.bitcoin_p2wpkh_address(BitcoinNetwork::Mainnet),
            a["address"].as_str().unwrap()
        );
    }
    // The helper path is the first receiving address's path.
    let first = seed
        .derive_secp256k1(&DerivationPath::bitcoin_p2wpkh(0).unwrap())
        .unwrap();
    assert_eq!(
        first.bitcoin_p2wpkh_address(BitcoinNetwork::Mainnet),
        "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu"
    );
}

#[test]
fn eip55_test_cases() {
    let file = vector("eip55.json");
    let mut checked = 0;
    for group in ["all_caps", "all_lower", "normal"] {
        for address in file[group].as_array().unwrap() {
            let address = address.as_str().unwrap();
            let bytes: [u8; 20] = hex(&address[2..].to_ascii_lowercase()).try_into().unwrap();
            assert_eq!(eip55_encode(&bytes), address);
            checked += 1;
        }
    }
    assert_eq!(checked, 8);
}
