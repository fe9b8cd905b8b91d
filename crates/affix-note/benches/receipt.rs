//! Offline receipt verification: parse a `.tlog-proof`, check a checkpoint signed by three
//! Ed25519 authorities against a 3-of-3 policy, and verify the inclusion proof in a tree of
//! 2^20 entries. `scripts/bench-vs-go.sh` runs the same workload with Go's note/tlog.

#![allow(clippy::unwrap_used, clippy::cast_possible_truncation, missing_docs)]

use std::hint::black_box;

use affix_merkle::{HashSuite, LeafIndex, MemoryTree, prove_inclusion};
use affix_note::{Checkpoint, KeyName, NoteSigner, Origin, Receipt, SignerKey, TrustPolicy};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn receipts(c: &mut Criterion) {
    let suite = HashSuite::Sha256;
    let origin = Origin::new("ledger.example/evidence").unwrap();
    let entries: Vec<Vec<u8>> = (0..1u64 << 20)
        .map(|i| format!("entry {i}").into_bytes())
        .collect();
    let mut tree = MemoryTree::new(suite);
    for e in &entries {
        tree.append(suite.leaf_hash(e)).unwrap();
    }
    let keys: Vec<SignerKey> = (1..=3u8)
        .map(|i| {
            SignerKey::ed25519_from_seed(
                KeyName::new(&format!("authority{i}.example")).unwrap(),
                &[i; 32],
            )
        })
        .collect();
    let signers: Vec<&dyn NoteSigner> = keys.iter().map(|k| k as &dyn NoteSigner).collect();
    let checkpoint = Checkpoint {
        origin: origin.clone(),
        size: tree.size(),
        root: tree.root(),
        extensions: vec![],
    }
    .sign(&signers)
    .unwrap();
    let policy = TrustPolicy::new(
        origin,
        keys.iter().map(|k| k.verifier_key().clone()).collect(),
        3,
    )
    .unwrap();
    let index = 777_777u64;
    let receipt = Receipt {
        extra: Some(entries[index as usize].clone()),
        index: LeafIndex(index),
        proof: prove_inclusion(suite, LeafIndex(index), tree.size(), &tree).unwrap(),
        checkpoint,
    }
    .to_bytes();

    let mut g = c.benchmark_group("receipt");
    g.throughput(Throughput::Elements(1));
    g.bench_function("parse_and_verify_3_ed25519", |b| {
        b.iter(|| {
            black_box(
                Receipt::parse(black_box(&receipt))
                    .unwrap()
                    .verify(&policy)
                    .unwrap(),
            )
        });
    });
    g.finish();

    // The physical limit: one Ed25519 verification (a receipt needs three).
    let mut g = c.benchmark_group("limit");
    let text = b"ledger.example/evidence\n1048576\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
    let signature = keys[0].sign_text(text).unwrap();
    let vk = keys[0].verifier_key().clone();
    g.throughput(Throughput::Elements(1));
    g.bench_function("ed25519_verify", |b| {
        b.iter(|| assert!(vk.verify(black_box(text), black_box(&signature))));
    });
    g.finish();
}

criterion_group!(benches, receipts);
criterion_main!(benches);
