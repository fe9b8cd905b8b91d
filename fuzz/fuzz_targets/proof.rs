//! `verify_inclusion` and `verify_consistency` on arbitrary proofs: never panic. For
//! small trees, the honest proofs of a real tree also verify.
//!
//! Input layout (missing bytes read as zero):
//!
//! ```text
//! [0]       bit 0: hash suite (0 SHA-256, 1 SM3)
//! [1..9]    a, u64 big-endian: leaf index, or old tree size
//! [9..17]   b, u64 big-endian: tree size, or new tree size
//! [17..49]  first hash: leaf hash, or old root
//! [49..81]  second hash: root, or new root
//! [81..]    proof hashes, 32 bytes each (a trailing partial hash is dropped)
//! ```
#![no_main]

use affix_merkle::{
    Hash, HashSuite, LeafIndex, MemoryTree, TreeSize, prove_consistency, prove_inclusion,
    tree_root, verify_consistency, verify_inclusion,
};
use libfuzzer_sys::fuzz_target;

/// Largest tree built for the honest-proof check (kept small: it runs on every input).
const HONEST_TREE_MAX: u64 = 64;

fn bytes_at<const N: usize>(data: &[u8], start: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(src) = data.get(start..) {
        let n = src.len().min(N);
        out[..n].copy_from_slice(&src[..n]);
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let suite = if bytes_at::<1>(data, 0)[0] & 1 == 0 {
        HashSuite::Sha256
    } else {
        HashSuite::Sm3
    };
    let a = u64::from_be_bytes(bytes_at(data, 1));
    let b = u64::from_be_bytes(bytes_at(data, 9));
    let first = Hash(bytes_at(data, 17));
    let second = Hash(bytes_at(data, 49));
    let proof: Vec<Hash> = data
        .get(81..)
        .unwrap_or_default()
        .chunks_exact(32)
        .map(|c| Hash(c.try_into().expect("32 bytes")))
        .collect();

    let _ = verify_inclusion(suite, &first, LeafIndex(a), TreeSize(b), &proof, &second);
    let _ = verify_consistency(suite, TreeSize(a), TreeSize(b), &first, &second, &proof);

    // Honest proofs from a real tree of `b` leaves verify, and the fuzzed ones agree with
    // them about the real roots only if they are the honest proofs.
    if b <= HONEST_TREE_MAX && a <= b {
        let mut tree = MemoryTree::new(suite);
        for i in 0..b {
            let mut entry = first.0.to_vec();
            entry.extend_from_slice(&i.to_be_bytes());
            tree.append(suite.leaf_hash(&entry))
                .expect("small tree appends");
        }
        let root = tree.root();
        if a < b {
            let mut entry = first.0.to_vec();
            entry.extend_from_slice(&a.to_be_bytes());
            let leaf = suite.leaf_hash(&entry);
            let honest = prove_inclusion(suite, LeafIndex(a), TreeSize(b), &tree)
                .expect("honest inclusion proof");
            verify_inclusion(suite, &leaf, LeafIndex(a), TreeSize(b), &honest, &root)
                .expect("honest inclusion proof verifies");
            if verify_inclusion(suite, &leaf, LeafIndex(a), TreeSize(b), &proof, &root).is_ok() {
                assert_eq!(proof, honest);
            }
        }
        let old_root = tree_root(suite, TreeSize(a), &tree).expect("old root");
        let honest = prove_consistency(suite, TreeSize(a), TreeSize(b), &tree)
            .expect("honest consistency proof");
        verify_consistency(suite, TreeSize(a), TreeSize(b), &old_root, &root, &honest)
            .expect("honest consistency proof verifies");
        if verify_consistency(suite, TreeSize(a), TreeSize(b), &old_root, &root, &proof).is_ok() {
            assert_eq!(proof, honest);
        }
    }
});
