//! Freezes the consortium's formats: the genesis file and its digest, the verifier keys
//! file it yields, and block v1 (the genesis block and a block with records) must match
//! the committed vectors byte for byte, forever. A failing test here means a format
//! changed; regenerating the vectors (`AFFIX_REGENERATE_VECTORS=1 cargo test -p
//! affix-ledger --test vectors -- --test-threads=1`, then update the README's digests) is an explicit decision to approve a new format — the
//! genesis digest is every block's ancestor and part of the consensus namespace, so a
//! changed digest forks every running consortium. Add a v2 instead.

#![allow(clippy::unwrap_used, missing_docs)]

use std::path::{Path, PathBuf};

use affix_ledger::{Block, BlockDigest, Genesis};
use affix_merkle::{HashSuite, TreeBuilder};
use affix_note::{KeyName, NoteSigner as _, SignerKey};
use sha2::{Digest as _, Sha256};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn regenerating() -> bool {
    std::env::var_os("AFFIX_REGENERATE_VECTORS").is_some()
}

/// Compares `expected` with the stored vector `name` (or writes it when regenerating).
fn frozen(name: &str, expected: &str) {
    let path = dir().join(name);
    if regenerating() {
        std::fs::write(&path, expected).unwrap();
    }
    let stored = std::fs::read_to_string(&path).unwrap();
    assert_eq!(stored, expected, "{name}: the format changed");
}

fn seed(label: &str) -> [u8; 32] {
    Sha256::digest(format!("affix-ledger test vector {label}")).into()
}

/// The four authorities of the vector consortium: name, role, consensus key (a real
/// Ed25519 public key from a seeded key), note key.
fn authorities() -> Vec<(&'static str, &'static str, String, String)> {
    [
        ("operator", "operator"),
        ("notary", "notary"),
        ("arbitration", "arbitration"),
        ("appraisal", "appraisal"),
    ]
    .into_iter()
    .map(|(name, role)| {
        let consensus = SignerKey::ed25519_from_seed(
            KeyName::new("consensus").unwrap(),
            &seed(&format!("{name} consensus")),
        );
        // `type (0x01) || public key`: the public key is the rest.
        let consensus_key = hex::encode(&consensus.verifier_key().key_bytes()[1..]);
        let note = SignerKey::ed25519_from_seed(
            KeyName::new(&format!("{name}.ledger.test")).unwrap(),
            &seed(&format!("{name} note")),
        );
        (name, role, consensus_key, note.verifier_key().to_string())
    })
    .collect()
}

const ORIGIN: &str = "ledger.test/v1";

/// The genesis file, as an operator writes it.
fn genesis_toml() -> String {
    let mut text = format!("origin = \"{ORIGIN}\"\n");
    for (i, (name, role, consensus_key, note_key)) in authorities().into_iter().enumerate() {
        text.push_str(&format!(
            "\n[[authority]]\nname = \"{name}\"\nrole = \"{role}\"\nconsensus_key = \"{consensus_key}\"\nnote_key = \"{note_key}\"\np2p = \"127.0.0.1:{}\"\nhttp = \"http://127.0.0.1:{}\"\n",
            7001 + i,
            8001 + i
        ));
    }
    text
}

/// The canonical text the genesis digest commits to, written from `docs/formats.md`
/// ("Block v1"), not by the code under test.
fn canonical_text() -> String {
    let mut text = format!("affix-genesis v1\norigin {ORIGIN}\nquorum 3\n");
    for (i, (name, role, consensus_key, note_key)) in authorities().into_iter().enumerate() {
        text.push_str(&format!(
            "authority {name} {role} {consensus_key} {note_key} 127.0.0.1:{} http://127.0.0.1:{}\n",
            7001 + i,
            8001 + i
        ));
    }
    text
}

/// A block's vector file: its encoding in hex, then its digest.
fn block_vector(block: &Block) -> String {
    let bytes = block.encode();
    format!(
        "{}\n# block digest: SHA-256 of the encoding\n{}\n",
        hex::encode(&bytes),
        hex::encode(Sha256::digest(&bytes))
    )
}

/// The two evidence record v1 vectors of `affix-evidence` (frozen there).
fn records() -> Vec<Vec<u8>> {
    ["record-v1-minimal.hex", "record-v1-full.hex"]
        .iter()
        .map(|name| {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../affix-evidence/tests/vectors")
                .join(name);
            let text = std::fs::read_to_string(path).unwrap();
            hex::decode(text.lines().next().unwrap()).unwrap()
        })
        .collect()
}

/// The consortium of the stored genesis file.
fn genesis() -> Genesis {
    frozen("genesis-v1.toml", &genesis_toml());
    Genesis::parse(&std::fs::read_to_string(dir().join("genesis-v1.toml")).unwrap()).unwrap()
}

#[test]
fn genesis_file_and_digest_are_frozen() {
    frozen("genesis-v1.toml", &genesis_toml());
    frozen("genesis-v1.canonical", &canonical_text());
    let genesis = genesis();
    assert_eq!(genesis.quorum(), 3);
    // The digest is SHA-256 of the canonical text the format specifies.
    let digest = BlockDigest(Sha256::digest(canonical_text()).into());
    assert_eq!(genesis.digest(), digest);
    frozen("genesis-v1.digest", &format!("{digest}\n"));
}

#[test]
fn verifier_keys_file_is_frozen() {
    let text = genesis().verifier_keys_file();
    assert!(
        text.starts_with("# Affix consortium ledger.test/v1: receipts need 3 of these 4 keys\n")
    );
    frozen("verifier-keys", &text);
    // And it reads back to the consortium's policy.
    let policy = affix_note::VerifierKeysFile::parse(&text)
        .unwrap()
        .trust_policy()
        .unwrap();
    assert_eq!(policy.quorum(), 3);
    assert_eq!(policy.origin().as_str(), ORIGIN);
}

#[test]
fn block_v1_is_frozen() {
    let genesis = genesis();
    let suite = HashSuite::for_origin(ORIGIN);
    let block0 = Block::genesis(genesis.digest(), suite.empty_root());
    let records = records();
    let mut tree = TreeBuilder::new(suite);
    for r in &records {
        tree.append(suite.leaf_hash(r)).unwrap();
    }
    let block1 = Block {
        parent: block0.digest(),
        height: 1,
        timestamp_ms: 1_795_363_586_250,
        tree_size: 2,
        root: tree.root(),
        records,
    };
    for (name, block) in [
        ("block-v1-genesis.hex", &block0),
        ("block-v1-records.hex", &block1),
    ] {
        frozen(name, &block_vector(block));
        let stored = std::fs::read_to_string(dir().join(name)).unwrap();
        let bytes = hex::decode(stored.lines().next().unwrap()).unwrap();
        assert_eq!(&Block::decode(&bytes).unwrap(), block, "{name}");
        assert_eq!(block.digest(), BlockDigest(Sha256::digest(&bytes).into()));
        assert_eq!(&bytes[..5], b"AFXB\x01", "{name}: magic and version");
    }
}

/// The README lists each vector with its SHA-256, so a reader can check the files
/// without running Rust; it must list the current ones.
#[test]
fn readme_lists_every_vector_with_its_digest() {
    let readme = std::fs::read_to_string(dir().join("README.md")).unwrap();
    let mut names: Vec<_> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "README.md")
        .collect();
    names.sort();
    assert!(!names.is_empty());
    for name in names {
        let digest = hex::encode(Sha256::digest(std::fs::read(dir().join(&name)).unwrap()));
        assert!(
            readme.contains(&format!("| `{name}` |")) && readme.contains(&digest),
            "README.md must list `{name}` with SHA-256 {digest}"
        );
    }
}
