//! Interoperability with Go's implementation of the same standards
//! (`golang.org/x/mod/sumdb/note` and `.../tlog`, Debian `golang-golang-x-mod-dev`),
//! through the validator program in `interop/go/affix-interop.go`.
//!
//! Go checks what we emit (checkpoints with k-of-n signatures, receipts, consistency
//! proofs, static tiles, our signer key format), and we check what Go emits. These tests
//! need `go` and the x/mod sources; the README's test command installs them. They fail,
//! rather than skip, when Go is missing: an interop check that silently does not run is
//! worse than none.

#![allow(clippy::unwrap_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use affix_logstore::LogStore;
use affix_merkle::{
    Hash, HashSuite, LeafIndex, TileHashReader, TileId, TileKind, TileReader, TreeSize, tree_root,
    verify_consistency,
};
use affix_note::{
    Checkpoint, KeyName, Note, NoteSigner, Origin, Receipt, SignedCheckpoint, SignerKey,
    TrustPolicy, VerifierKey,
};

const GOPATH: &str = "/usr/share/gocode";

/// Builds the Go validator once per test process.
fn validator() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("affix-interop");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../interop/go/affix-interop.go");
        let status = Command::new("go")
            .args(["build", "-o"])
            .arg(&out)
            .arg(&src)
            .env("GO111MODULE", "off")
            .env("GOPATH", GOPATH)
            .env(
                "GOCACHE",
                PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("gocache"),
            )
            .status()
            .expect(
                "`go` not found: install golang-go and golang-golang-x-mod-dev (scripts/test does)",
            );
        assert!(status.success(), "building the Go validator failed");
        out
    })
}

/// Runs the validator; returns (success, stdout+stderr).
fn go(args: &[&str]) -> (bool, String) {
    let out = Command::new(validator())
        .args(args)
        .output()
        .expect("run validator");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn go_ok(args: &[&str]) -> String {
    let (ok, text) = go(args);
    assert!(ok, "Go rejected {args:?}: {text}");
    text
}

fn go_rejects(args: &[&str]) {
    let (ok, text) = go(args);
    assert!(!ok, "Go accepted {args:?}: {text}");
}

fn key(name: &str, seed: u8) -> SignerKey {
    SignerKey::ed25519_from_seed(KeyName::new(name).unwrap(), &[seed; 32])
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A consortium-style log: entries in a store, checkpoints signed by three authorities
/// plus an SM2 signature that Go must skip.
struct Log {
    dir: tempfile::TempDir,
    store: LogStore,
    origin: Origin,
    keys: Vec<SignerKey>,
    sm2: SignerKey,
}

impl Log {
    fn new(origin: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = LogStore::create(&dir.path().join("log"), origin).unwrap();
        Self {
            store,
            dir,
            origin: Origin::new(origin).unwrap(),
            keys: vec![
                key("operator.example", 1),
                key("notary.example", 2),
                key("arbitration.example", 3),
            ],
            sm2: SignerKey::sm2_from_bytes(KeyName::new("notary.example").unwrap(), &[9; 32])
                .unwrap(),
        }
    }

    fn grow_to(&mut self, size: u64) {
        let start = self.store.size().0;
        let entries: Vec<Vec<u8>> = (start..size)
            .map(|i| format!("entry {i}").into_bytes())
            .collect();
        self.store.append(&entries).unwrap();
    }

    /// Checkpoint of the current tree signed by the first `n` authorities (and SM2).
    fn checkpoint(&self, n: usize) -> SignedCheckpoint {
        let c = Checkpoint {
            origin: self.origin.clone(),
            size: self.store.size(),
            root: self.store.root(),
            extensions: vec![],
        };
        let mut signers: Vec<&dyn NoteSigner> = vec![&self.sm2];
        signers.extend(self.keys.iter().take(n).map(|k| k as &dyn NoteSigner));
        c.sign(&signers).unwrap()
    }

    fn vkey_args(&self) -> Vec<String> {
        self.keys
            .iter()
            .flat_map(|k| ["-vkey".to_owned(), k.verifier_key().to_string()])
            .collect()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn args<'a>(head: &[&'a str], vkeys: &'a [String], tail: &[&'a str]) -> Vec<&'a str> {
    let mut v: Vec<&str> = head.to_vec();
    v.extend(vkeys.iter().map(String::as_str));
    v.extend_from_slice(tail);
    v
}

#[test]
fn go_verifies_our_checkpoints_with_k_of_n_signatures() {
    let mut log = Log::new("ledger.example/evidence");
    log.grow_to(1000);
    let vk = log.vkey_args();
    let cp = log.path("checkpoint");
    std::fs::write(&cp, log.checkpoint(2).to_bytes()).unwrap();
    let origin = "ledger.example/evidence";
    let out = go_ok(&args(
        &["verify-checkpoint"],
        &vk,
        &["-quorum", "2", "-origin", origin, s(&cp)],
    ));
    assert!(out.contains("size=1000") && out.contains("sigs=2"), "{out}");
    // Two of three signed: a 3-of-3 policy fails in Go as in Rust.
    go_rejects(&args(
        &["verify-checkpoint"],
        &vk,
        &["-quorum", "3", "-origin", origin, s(&cp)],
    ));
    go_rejects(&args(
        &["verify-checkpoint"],
        &vk,
        &["-quorum", "2", "-origin", "other.example", s(&cp)],
    ));
    // The SM2 signature is invisible to Go (unknown key type), not an error.
    assert_eq!(log.checkpoint(2).note().signatures().len(), 3);
    // A tampered checkpoint fails.
    let text = String::from_utf8(log.checkpoint(3).to_bytes()).unwrap();
    std::fs::write(&cp, text.replacen("1000", "1001", 1)).unwrap();
    go_rejects(&args(
        &["verify-checkpoint"],
        &vk,
        &["-quorum", "1", "-origin", origin, s(&cp)],
    ));
}

#[test]
fn go_verifies_our_receipts_and_consistency_proofs_at_tile_boundaries() {
    let mut log = Log::new("ledger.example/evidence");
    let vk = log.vkey_args();
    let origin = "ledger.example/evidence";
    let mut previous: Option<(TreeSize, PathBuf)> = None;
    for size in [
        1u64, 2, 3, 255, 256, 257, 511, 512, 513, 1000, 65_536, 65_537, 70_000,
    ] {
        log.grow_to(size);
        let checkpoint = log.checkpoint(3);
        let cp_path = log.path(&format!("checkpoint-{size}"));
        std::fs::write(&cp_path, checkpoint.to_bytes()).unwrap();
        for index in [0, size / 2, size.saturating_sub(256), size - 1] {
            let receipt = Receipt {
                extra: Some(log.store.entry(LeafIndex(index)).unwrap()),
                index: LeafIndex(index),
                proof: log
                    .store
                    .inclusion_proof(LeafIndex(index), TreeSize(size))
                    .unwrap(),
                checkpoint: checkpoint.clone(),
            };
            let path = log.path("receipt.tlog-proof");
            std::fs::write(&path, receipt.to_bytes()).unwrap();
            go_ok(&args(
                &["verify-proof"],
                &vk,
                &["-quorum", "3", "-origin", origin, s(&path)],
            ));
            // A receipt moved to another index must fail in Go too.
            if size > 1 {
                let mut moved = receipt.clone();
                moved.index = LeafIndex((index + 1) % size);
                std::fs::write(&path, moved.to_bytes()).unwrap();
                go_rejects(&args(
                    &["verify-proof"],
                    &vk,
                    &["-quorum", "3", "-origin", origin, s(&path)],
                ));
            }
        }
        if let Some((old, old_path)) = previous {
            let proof = log.store.consistency_proof(old, TreeSize(size)).unwrap();
            let proof_path = log.path("consistency");
            let text: String = proof.iter().map(|h| format!("{h}\n")).collect();
            std::fs::write(&proof_path, text).unwrap();
            go_ok(&args(
                &["verify-consistency"],
                &vk,
                &[
                    "-quorum",
                    "3",
                    "-origin",
                    origin,
                    s(&old_path),
                    s(&cp_path),
                    s(&proof_path),
                ],
            ));
        }
        previous = Some((TreeSize(size), cp_path));
    }
}

#[test]
fn go_reads_our_static_tiles() {
    for size in [1u64, 256, 1000, 70_000] {
        let mut log = Log::new("ledger.example/evidence");
        log.grow_to(size);
        let out = log.path("static");
        log.store
            .export_static(&out, &log.checkpoint(3).to_bytes())
            .unwrap();
        let vk = log.vkey_args();
        let report = go_ok(&args(
            &["verify-tiles"],
            &vk,
            &[
                "-quorum",
                "3",
                "-origin",
                "ledger.example/evidence",
                s(&out),
            ],
        ));
        assert!(report.contains(&format!("entries={size}")), "{report}");
    }
}

#[test]
fn the_cli_output_is_accepted_by_go() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_affix");
    let run = |a: &[&str]| {
        let out = Command::new(bin).args(a).output().unwrap();
        assert!(
            out.status.success(),
            "{a:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let key = tmp.path().join("k.key");
    let vkey = run(&["keygen", "--name", "notary.example/cli", "--out", s(&key)])
        .trim()
        .to_owned();
    let dir = tmp.path().join("log");
    run(&[
        "log",
        "init",
        s(&dir),
        "--origin",
        "notary.example/cli",
        "--key",
        s(&key),
    ]);
    let docs: Vec<PathBuf> = (0..300)
        .map(|i| {
            let p = tmp.path().join(format!("d{i}"));
            std::fs::write(&p, format!("doc {i}")).unwrap();
            p
        })
        .collect();
    let mut append = vec!["log", "append", s(&dir)];
    append.extend(docs.iter().map(|d| s(d)));
    run(&append);
    let receipt = tmp.path().join("r.tlog-proof");
    std::fs::write(&receipt, run(&["log", "proof", s(&dir), "257"])).unwrap();
    go_ok(&[
        "verify-proof",
        "-vkey",
        &vkey,
        "-quorum",
        "1",
        "-origin",
        "notary.example/cli",
        s(&receipt),
    ]);
    let cp = tmp.path().join("cp");
    std::fs::write(&cp, run(&["log", "checkpoint", s(&dir)])).unwrap();
    go_ok(&[
        "verify-checkpoint",
        "-vkey",
        &vkey,
        "-quorum",
        "1",
        "-origin",
        "notary.example/cli",
        s(&cp),
    ]);
    let static_dir = tmp.path().join("static");
    run(&["log", "export", s(&dir), s(&static_dir)]);
    go_ok(&[
        "verify-tiles",
        "-vkey",
        &vkey,
        "-quorum",
        "1",
        "-origin",
        "notary.example/cli",
        s(&static_dir),
    ]);
    // Go's note package accepts our signer key file format and signs with it.
    let text = tmp.path().join("text");
    std::fs::write(&text, "signed by Go with an affix key\n").unwrap();
    let skey = std::fs::read_to_string(&key).unwrap();
    let signed = go_ok(&["sign", "-skey", skey.trim(), s(&text)]);
    let note = Note::parse(signed.as_bytes()).unwrap();
    note.verify(&[VerifierKey::parse(&vkey).unwrap()], 1)
        .unwrap();
}

/// Reads tiles from a static C2SP directory.
struct DirTiles(PathBuf);

impl TileReader for DirTiles {
    fn read_tiles(&self, tiles: &[TileId]) -> Result<Vec<Vec<u8>>, affix_merkle::Error> {
        tiles
            .iter()
            .map(|t| {
                std::fs::read(self.0.join(t.path()))
                    .map_err(|e| affix_merkle::Error::Storage(format!("{}: {e}", t.path())))
            })
            .collect()
    }
}

#[test]
fn we_verify_what_go_produces() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let n = 70_001u64;
    go_ok(&["generate", "-n", &n.to_string(), "-out", s(dir), "-tiles"]);
    let vkeys: Vec<VerifierKey> = std::fs::read_to_string(dir.join("vkeys"))
        .unwrap()
        .lines()
        .map(|l| VerifierKey::parse(l).unwrap())
        .collect();
    assert_eq!(vkeys.len(), 3);
    let policy =
        TrustPolicy::new(Origin::new("go.example/log").unwrap(), vkeys.clone(), 3).unwrap();

    // Go's checkpoints and receipts.
    let cp = SignedCheckpoint::parse(&std::fs::read(dir.join("checkpoint")).unwrap())
        .unwrap()
        .verify(&policy)
        .unwrap();
    assert_eq!(cp.size(), TreeSize(n));
    for i in [0, n / 2, n - 1] {
        let bytes = std::fs::read(dir.join(format!("proof-{i}.tlog-proof"))).unwrap();
        let v = Receipt::parse(&bytes).unwrap().verify(&policy).unwrap();
        assert_eq!(v.index(), LeafIndex(i));
        assert_eq!(v.entry(), format!("go entry {i}\n").as_bytes());
    }

    // Go's consistency proof.
    let m = n / 2;
    let old = SignedCheckpoint::parse(&std::fs::read(dir.join(format!("checkpoint-{m}"))).unwrap())
        .unwrap()
        .verify(&policy)
        .unwrap();
    let proof: Vec<Hash> = std::fs::read_to_string(dir.join(format!("consistency-{m}-{n}")))
        .unwrap()
        .lines()
        .map(|l| Hash::from_base64(l).unwrap())
        .collect();
    verify_consistency(
        HashSuite::Sha256,
        old.size(),
        cp.size(),
        old.root(),
        cp.root(),
        &proof,
    )
    .unwrap();
    let mut tampered = proof.clone();
    tampered[0].0[0] ^= 1;
    assert!(
        verify_consistency(
            HashSuite::Sha256,
            old.size(),
            cp.size(),
            old.root(),
            cp.root(),
            &tampered
        )
        .is_err()
    );

    // Go's static tiles, read through our tile reader, give the checkpoint's root; entry
    // bundles hash to the level-0 tiles.
    let tiles = DirTiles(dir.join("tiles"));
    let reader = TileHashReader::new(HashSuite::Sha256, cp.size(), &tiles);
    assert_eq!(
        &tree_root(HashSuite::Sha256, cp.size(), &reader).unwrap(),
        cp.root()
    );
    let last_bundle = TileId::entries(n / 256, u16::try_from(n % 256).unwrap()).unwrap();
    let bundle = std::fs::read(tiles.0.join(last_bundle.path())).unwrap();
    let level0 = tiles
        .read_tiles(&[TileId::hashes(0, n / 256, last_bundle.width()).unwrap()])
        .unwrap()
        .remove(0);
    assert_eq!(last_bundle.kind(), TileKind::Entries);
    let mut rest = &bundle[..];
    let mut i = 0;
    while !rest.is_empty() {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let entry = &rest[2..2 + len];
        assert_eq!(
            HashSuite::Sha256.leaf_hash(entry).0[..],
            level0[i * 32..(i + 1) * 32]
        );
        rest = &rest[2 + len..];
        i += 1;
    }
    assert_eq!(i, usize::from(last_bundle.width()));

    // A receipt from Go checked with too few trusted keys fails.
    let weak = TrustPolicy::new(
        Origin::new("go.example/log").unwrap(),
        vkeys[..1].to_vec(),
        1,
    )
    .unwrap();
    let bytes = std::fs::read(dir.join("proof-0.tlog-proof")).unwrap();
    assert!(Receipt::parse(&bytes).unwrap().verify(&weak).is_ok());
    let foreign = TrustPolicy::new(
        Origin::new("go.example/log").unwrap(),
        vec![key("go1.example", 77).verifier_key().clone()],
        1,
    )
    .unwrap();
    assert!(Receipt::parse(&bytes).unwrap().verify(&foreign).is_err());
}
