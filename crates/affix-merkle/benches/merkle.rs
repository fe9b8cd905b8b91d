//! Merkle core throughput, with the SHA-256 compression rate measured in the same run as
//! the physical limit for appends (each append hashes one 65-byte node on average: two
//! compressions). `scripts/bench-vs-go.sh` runs this beside Go's `tlog`.

#![allow(clippy::unwrap_used, clippy::cast_possible_truncation, missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use affix_merkle::{
    Hash, HashSuite, LeafIndex, MemoryTree, TreeBuilder, TreeSize, prove_inclusion,
    verify_inclusion,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const LEAVES: u64 = 1 << 20;

fn leaves(suite: HashSuite, n: u64) -> Vec<Hash> {
    (0..n).map(|i| suite.leaf_hash(&i.to_be_bytes())).collect()
}

/// Deterministic pseudo-random indices (xorshift), so runs are comparable.
fn indices(n: usize, bound: u64) -> Vec<u64> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % bound
        })
        .collect()
}

fn sha256_compression(c: &mut Criterion) {
    let mut g = c.benchmark_group("limit");
    let blocks = vec![[0x5au8; 64]; 4096];
    g.throughput(Throughput::Elements(blocks.len() as u64));
    g.bench_function("sha256_compress_block", |b| {
        let mut state = [0u32; 8];
        b.iter(|| {
            sha2::block_api::compress256(&mut state, black_box(&blocks));
            black_box(state)
        });
    });
    g.finish();
}

fn append(c: &mut Criterion) {
    let mut g = c.benchmark_group("append");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(LEAVES));
    for suite in [HashSuite::Sha256, HashSuite::Sm3] {
        let input = leaves(suite, LEAVES);
        // The right edge only: the hashing cost of an append.
        g.bench_function(format!("{}_tree_builder", suite.name()), |b| {
            b.iter(|| {
                let mut t = TreeBuilder::new(suite);
                for h in &input {
                    t.append(*h).unwrap();
                }
                black_box(t.root())
            });
        });
        // Plus keeping every tile hash in memory, as a log does.
        g.bench_function(format!("{}_with_tiles", suite.name()), |b| {
            b.iter(|| {
                let mut t = MemoryTree::new(suite);
                for h in &input {
                    t.append(*h).unwrap();
                }
                black_box(t.root())
            });
        });
    }
    g.finish();
}

fn inclusion(c: &mut Criterion) {
    let mut g = c.benchmark_group("inclusion");
    let suite = HashSuite::Sha256;
    let mut tree = MemoryTree::new(suite);
    let input = leaves(suite, LEAVES);
    for h in &input {
        tree.append(*h).unwrap();
    }
    let root = tree.root();
    let size = TreeSize(LEAVES);
    let proofs: Vec<(u64, Vec<Hash>)> = indices(1000, LEAVES)
        .into_iter()
        .map(|i| {
            (
                i,
                prove_inclusion(suite, LeafIndex(i), size, &tree).unwrap(),
            )
        })
        .collect();
    g.throughput(Throughput::Elements(proofs.len() as u64));
    g.bench_function("verify_1m_tree", |b| {
        b.iter(|| {
            for (i, p) in &proofs {
                verify_inclusion(suite, &input[*i as usize], LeafIndex(*i), size, p, &root)
                    .unwrap();
            }
        });
    });
    g.throughput(Throughput::Elements(100));
    g.bench_function("prove_1m_tree_from_tiles", |b| {
        b.iter(|| {
            for (i, _) in proofs.iter().take(100) {
                black_box(prove_inclusion(suite, LeafIndex(*i), size, &tree).unwrap());
            }
        });
    });
    g.finish();
}

criterion_group!(benches, sha256_compression, append, inclusion);
criterion_main!(benches);
