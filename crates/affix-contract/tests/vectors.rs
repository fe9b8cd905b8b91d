//! Frozen encodings (STYLE.md §10): the canonical content bytes and digest of the fixed
//! loan-note example, and a whole event chain. `tests/vectors/README.md` says where each
//! file came from; `tools/contract_vectors.py` recomputes them independently.
//!
//! A mismatch means the format changed. Regenerating the files
//! (`AFFIX_CONTRACT_WRITE_VECTORS=1 cargo test -p affix-contract --test vectors`) is an
//! explicit approval of a new format: bump the version tag instead, unless nothing was
//! ever signed with the old one.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use affix_contract::{ContractContent, ContractEvent, verify_chain};

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

/// Compares `actual` with the vector file `name` (or writes it when regenerating).
fn check_vector(name: &str, actual: &str) {
    let path = vectors_dir().join(name);
    if std::env::var_os("AFFIX_CONTRACT_WRITE_VECTORS").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(actual, expected, "{name} changed: the format is frozen");
}

fn chain_text(events: &[ContractEvent]) -> String {
    events
        .iter()
        .map(|e| format!("{}\n", hex::encode(e.encode())))
        .collect()
}

#[test]
fn content_encoding_and_digest_are_frozen() {
    let content = common::fixture_content();
    let bytes = content.encode();
    check_vector("content-v1.hex", &format!("{}\n", hex::encode(&bytes)));
    check_vector("content-v1.digest", &format!("{}\n", content.digest()));
    assert_eq!(ContractContent::decode(&bytes).unwrap(), content);
}

#[test]
fn event_chain_encoding_is_frozen_and_verifies_after_decoding() {
    let (contract, events) = common::live_chain();
    check_vector(
        "live-content-v1.hex",
        &format!("{}\n", hex::encode(contract.content().encode())),
    );
    check_vector("chain-v1.hex", &chain_text(&events));
    check_vector("chain-v1.head", &format!("{}\n", contract.head()));

    // What an auditor does with a bundle: decode the content and every event, verify.
    let text = std::fs::read_to_string(vectors_dir().join("chain-v1.hex")).unwrap();
    let decoded: Vec<_> = text
        .lines()
        .map(|l| ContractEvent::decode(&hex::decode(l).unwrap()).unwrap())
        .collect();
    let content = ContractContent::decode(&contract.content().encode()).unwrap();
    let verified = verify_chain(&content, &decoded, &contract.head()).unwrap();
    assert_eq!(verified.contract(), &contract);
}

/// The venv Python that `scripts/test` makes (`target/pyenv`); only the standard
/// library is used.
fn python() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/pyenv/bin/python");
    assert!(
        path.exists(),
        "{} is missing: run scripts/test once (or `python3 -m venv target/pyenv`)",
        path.display()
    );
    path
}

#[test]
fn independent_python_implementation_agrees() {
    let tool = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/contract_vectors.py");
    let output = Command::new(python())
        .arg(&tool)
        .arg(vectors_dir())
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{}: {}{}",
        tool.display(),
        stdout,
        String::from_utf8_lossy(&output.stderr)
    );
    let content = common::fixture_content();
    let (contract, _) = common::live_chain();
    let expected = format!(
        "content {}\ndigest {}\nhead {}\n",
        hex::encode(content.encode()),
        content.digest(),
        contract.head()
    );
    assert_eq!(stdout, expected);
}
