//! Interop: PyPI `eth-account` (an independent implementation) checks our Ethereum
//! addresses, EIP-191 signatures, raw-hash signatures and HD derivation.
//!
//! Runs `tests/tools/eth_account_check.py` with the Python in `AFFIX_ETH_ACCOUNT_PYTHON`,
//! by default the venv `scripts/test` makes in `target/pyenv`. A missing Python or
//! eth-account fails the test: it is never skipped.

#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use affix_wallet::{DerivationPath, Mnemonic, Secp256k1Key, eip191_hash};
use serde_json::{Value, json};

fn python() -> String {
    let python = std::env::var("AFFIX_ETH_ACCOUNT_PYTHON").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/pyenv/bin/python").to_owned()
    });
    assert!(
        Path::new(&python).exists(),
        "Python with eth-account not found at {python}: run scripts/test, or \
         python3 -m venv DIR && DIR/bin/pip install eth-account==0.13.7 and set \
         AFFIX_ETH_ACCOUNT_PYTHON=DIR/bin/python"
    );
    python
}

fn messages(key: &Secp256k1Key) -> Vec<Value> {
    let texts = [
        "",
        "hello",
        "Affix e-contract: I agree to the terms (合同 v1) ✓",
        "line one\nline two\r\n\ttabbed",
        &"x".repeat(1000),
    ];
    let mut out: Vec<Value> = texts
        .iter()
        .map(|text| {
            let signature = key.sign_eip191(text.as_bytes()).unwrap();
            json!({ "text": text, "signature": hex::encode(signature) })
        })
        .collect();
    let binary: Vec<u8> = (0..=255u8).collect();
    for bytes in [&binary[..], &[0u8; 32][..], &[0xffu8; 3][..]] {
        let signature = key.sign_eip191(bytes).unwrap();
        out.push(json!({ "hex": hex::encode(bytes), "signature": hex::encode(signature) }));
    }
    out
}

fn hashes(key: &Secp256k1Key) -> Vec<Value> {
    let mut counter = [0u8; 32];
    counter[31] = 1;
    [eip191_hash(b"raw"), [0x5a; 32], counter]
        .iter()
        .map(|hash| {
            let signature = key.sign_prehash_recoverable(hash).unwrap();
            json!({ "hash": hex::encode(hash), "signature": hex::encode(signature) })
        })
        .collect()
}

fn case(key: &Secp256k1Key, hd: Option<(&str, &str, &str)>) -> Value {
    let mut value = json!({
        "address": key.ethereum_address(),
        "secret": hex::encode(key.secret_bytes().as_slice()),
        "messages": messages(key),
        "hashes": hashes(key),
    });
    if let Some((mnemonic, passphrase, path)) = hd {
        value["mnemonic"] = json!(mnemonic);
        value["passphrase"] = json!(passphrase);
        value["path"] = json!(path);
    }
    value
}

#[test]
fn eth_account_recovers_our_signatures_and_agrees_on_addresses() {
    let hd = [
        (
            "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon \
             abandon about",
            "",
        ),
        (
            "legal winner thank year wave sausage worth useful legal winner thank yellow",
            "TREZOR",
        ),
        (
            "void come effort suffer camp survey warrior heavy shoot primary clutch crush open \
             amazing screen patrol group space point ten exist slush involve unfold",
            "Affix 口令",
        ),
    ];
    let mut keys = Vec::new();
    let mut first_address = String::new();
    for (phrase, passphrase) in hd {
        let seed = Mnemonic::parse(phrase).unwrap().to_seed(passphrase);
        for index in [0, 1, 7] {
            let path = DerivationPath::ethereum(index).unwrap();
            let key = seed.derive_secp256k1(&path).unwrap();
            if first_address.is_empty() {
                first_address = key.ethereum_address();
            }
            keys.push(case(&key, Some((phrase, passphrase, &path.to_string()))));
        }
        // A non-standard path (account 3, change chain) exercises more of the derivation.
        let path = DerivationPath::parse("m/44'/60'/3'/1/2").unwrap();
        let key = seed.derive_secp256k1(&path).unwrap();
        keys.push(case(&key, Some((phrase, passphrase, &path.to_string()))));
    }
    // Keys the vault rebuilds from stored secret bytes, not from a seed.
    for secret in [[0x01u8; 32], [0x7fu8; 32], {
        let mut s = [0u8; 32];
        s[31] = 1;
        s
    }] {
        keys.push(case(
            &Secp256k1Key::from_secret_bytes(&secret).unwrap(),
            None,
        ));
    }
    // The well-known first MetaMask address of the all-"abandon" mnemonic.
    assert_eq!(first_address, "0x9858EfFD232B4033E47d90003D41EC34EcaEda94");

    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/tools/eth_account_check.py"
    );
    let mut child = Command::new(python())
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python");
    let input = serde_json::to_vec(&json!({ "keys": keys })).unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "eth-account check failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    // 15 keys; 12 HD; 8 messages and 3 hashes each, two checks apiece.
    let expected = 15 + 12 + 15 * (8 + 3) * 2;
    assert!(
        stdout.contains(&format!("eth-account: {expected} checks passed")),
        "unexpected output: {stdout}"
    );
}
