//! Inclusion and consistency proofs (RFC 9162 §2.1.3 and §2.1.4).
//!
//! Generation works in three steps so that a reader backed by remote tiles can fetch
//! everything in one batch: list the sub-ranges whose hashes the proof needs, list the
//! complete subtrees covering those ranges, read them, then fold.

use crate::{Error, Hash, HashReader, HashSuite, LeafIndex, NodeId, TreeSize};

/// Upper bound on the hashes in any proof: a tree of at most 2^64 leaves is 64 levels deep.
/// Decoders reject longer proofs before doing any work.
pub const MAX_PROOF_HASHES: usize = 64;

/// Largest power of two strictly less than `n`. Requires `n > 1`.
fn split_point(n: u64) -> u64 {
    debug_assert!(n > 1);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Appends to `out` the complete subtrees that cover leaves `[lo, hi)`, left to right
/// (largest first). `lo` must be aligned so that RFC 9162's `MTH(D[lo:hi])` is the right
/// fold of those subtrees, which holds for every range the proof recursions produce.
fn complete_subtrees(mut lo: u64, hi: u64, out: &mut Vec<NodeId>) {
    while lo < hi {
        let by_alignment = if lo == 0 {
            1u64 << 63
        } else {
            1u64 << lo.trailing_zeros()
        };
        let by_length = 1u64 << (63 - (hi - lo).leading_zeros());
        let width = by_alignment.min(by_length);
        // `width` is a power of two, so its trailing zeros (< 64) fit a u8.
        let level = u8::try_from(width.trailing_zeros()).unwrap_or(u8::MAX);
        out.push(NodeId {
            level,
            index: lo >> level,
        });
        lo += width;
    }
}

/// Folds complete-subtree hashes (left to right) into the RFC 9162 hash of their range.
fn fold(suite: HashSuite, hashes: &[Hash]) -> Hash {
    let mut iter = hashes.iter().rev();
    let Some(last) = iter.next() else {
        return suite.empty_root();
    };
    iter.fold(*last, |acc, left| suite.node_hash(left, &acc))
}

/// Reads and folds the hashes of several leaf ranges with one call to the reader.
fn range_hashes(
    suite: HashSuite,
    ranges: &[(u64, u64)],
    reader: &impl HashReader,
) -> Result<Vec<Hash>, Error> {
    let mut nodes = Vec::new();
    let mut counts = Vec::with_capacity(ranges.len());
    for &(lo, hi) in ranges {
        let before = nodes.len();
        complete_subtrees(lo, hi, &mut nodes);
        counts.push(nodes.len() - before);
    }
    let hashes = reader.read_nodes(&nodes)?;
    if hashes.len() != nodes.len() {
        return Err(Error::Storage(format!(
            "reader returned {} hashes for {} nodes",
            hashes.len(),
            nodes.len()
        )));
    }
    let mut out = Vec::with_capacity(ranges.len());
    let mut start = 0;
    for count in counts {
        out.push(fold(suite, &hashes[start..start + count]));
        start += count;
    }
    Ok(out)
}

/// Hash of the tree of the first `size` leaves: RFC 9162 `MTH(D[0:size])`.
pub fn tree_root(
    suite: HashSuite,
    size: TreeSize,
    reader: &impl HashReader,
) -> Result<Hash, Error> {
    subtree_root(suite, 0, size.0, reader)
}

/// Hash of leaves `[lo, hi)` as RFC 9162 defines it for the ranges its recursion visits:
/// `lo` must be a multiple of the largest power of two not exceeding `hi - lo`
/// (always true for `lo = 0`).
pub fn subtree_root(
    suite: HashSuite,
    lo: u64,
    hi: u64,
    reader: &impl HashReader,
) -> Result<Hash, Error> {
    if lo > hi {
        return Err(Error::SizeOrder {
            old: TreeSize(hi),
            new: TreeSize(lo),
        });
    }
    Ok(range_hashes(suite, &[(lo, hi)], reader)?
        .pop()
        .unwrap_or_else(|| suite.empty_root()))
}

/// Leaf ranges whose hashes form the inclusion proof, leaf sibling first.
fn inclusion_ranges(index: u64, size: u64) -> Vec<(u64, u64)> {
    let (mut lo, mut hi) = (0, size);
    let mut ranges = Vec::new();
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            ranges.push((lo + k, hi));
            hi = lo + k;
        } else {
            ranges.push((lo, lo + k));
            lo += k;
        }
    }
    ranges.reverse();
    ranges
}

/// Leaf ranges whose hashes form the consistency proof from `old` to `new`
/// (RFC 9162 §2.1.4.1), for `0 < old < new`.
fn consistency_ranges(old: u64, new: u64) -> Vec<(u64, u64)> {
    let (mut lo, mut hi) = (0, new);
    let mut complete = true;
    let mut ranges = Vec::new();
    loop {
        let n = hi - lo;
        let m = old - lo;
        if m == n {
            if !complete {
                ranges.push((lo, hi));
            }
            break;
        }
        let k = split_point(n);
        if m <= k {
            ranges.push((lo + k, hi));
            hi = lo + k;
        } else {
            ranges.push((lo, lo + k));
            lo += k;
            complete = false;
        }
    }
    ranges.reverse();
    ranges
}

/// Generates the inclusion proof of leaf `index` in the tree of `size` leaves
/// (RFC 9162 §2.1.3.1), leaf sibling first.
pub fn prove_inclusion(
    suite: HashSuite,
    index: LeafIndex,
    size: TreeSize,
    reader: &impl HashReader,
) -> Result<Vec<Hash>, Error> {
    if index.0 >= size.0 {
        return Err(Error::IndexOutOfRange { index, size });
    }
    range_hashes(suite, &inclusion_ranges(index.0, size.0), reader)
}

/// Generates the consistency proof between the trees of `old` and `new` leaves
/// (RFC 9162 §2.1.4.1). Empty when `old` is 0 or equals `new`.
pub fn prove_consistency(
    suite: HashSuite,
    old: TreeSize,
    new: TreeSize,
    reader: &impl HashReader,
) -> Result<Vec<Hash>, Error> {
    if old > new {
        return Err(Error::SizeOrder { old, new });
    }
    if old.0 == 0 || old == new {
        return Ok(Vec::new());
    }
    range_hashes(suite, &consistency_ranges(old.0, new.0), reader)
}

/// Verifies that `leaf_hash` is leaf `index` of the tree of `size` leaves with hash
/// `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    suite: HashSuite,
    leaf_hash: &Hash,
    index: LeafIndex,
    size: TreeSize,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), Error> {
    if index.0 >= size.0 {
        return Err(Error::IndexOutOfRange { index, size });
    }
    // The expected length follows from index and size; check it before hashing so a
    // malformed proof is told apart from a wrong one.
    let expected = inclusion_proof_len(index.0, size.0);
    if proof.len() != expected {
        return Err(Error::ProofLength {
            expected,
            actual: proof.len(),
        });
    }
    let mut fn_ = index.0;
    let mut sn = size.0 - 1;
    let mut r = *leaf_hash;
    for p in proof {
        if sn == 0 {
            return Err(Error::InclusionProofMismatch { index, size });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = suite.node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = suite.node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn == 0 && r == *root {
        Ok(())
    } else {
        Err(Error::InclusionProofMismatch { index, size })
    }
}

/// Verifies that the tree of `new` leaves with hash `new_root` extends the tree of `old`
/// leaves with hash `old_root` (RFC 9162 §2.1.4.2).
///
/// Equal sizes need an empty proof and equal roots. Every tree extends the empty tree, so
/// `old = 0` needs an empty proof and `old_root` equal to the suite's empty root.
pub fn verify_consistency(
    suite: HashSuite,
    old: TreeSize,
    new: TreeSize,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), Error> {
    if old > new {
        return Err(Error::SizeOrder { old, new });
    }
    let mismatch = Error::ConsistencyProofMismatch { old, new };
    if old.0 == 0 || old == new {
        if !proof.is_empty() {
            return Err(Error::ProofLength {
                expected: 0,
                actual: proof.len(),
            });
        }
        let expected_old = if old.0 == 0 {
            suite.empty_root()
        } else {
            *new_root
        };
        return if *old_root == expected_old {
            Ok(())
        } else {
            Err(mismatch)
        };
    }
    let expected = consistency_proof_len(old.0, new.0);
    if proof.len() != expected {
        return Err(Error::ProofLength {
            expected,
            actual: proof.len(),
        });
    }
    // RFC 9162 §2.1.4.2, step 2: when `old` is a power of two, the old root is the first
    // node of the path.
    let (first, rest) = if old.0.is_power_of_two() {
        (*old_root, proof)
    } else {
        (proof[0], &proof[1..])
    };
    let mut fn_ = old.0 - 1;
    let mut sn = new.0 - 1;
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let mut fr = first;
    let mut sr = first;
    for c in rest {
        if sn == 0 {
            return Err(mismatch);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = suite.node_hash(c, &fr);
            sr = suite.node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = suite.node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if fr == *old_root && sr == *new_root && sn == 0 {
        Ok(())
    } else {
        Err(mismatch)
    }
}

fn inclusion_proof_len(index: u64, size: u64) -> usize {
    inclusion_ranges(index, size).len()
}

fn consistency_proof_len(old: u64, new: u64) -> usize {
    consistency_ranges(old, new).len()
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use crate::tree::MemoryTree;

    /// RFC 9162 `MTH` straight from the definition, as the reference for everything else.
    fn reference_root(suite: HashSuite, leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => suite.empty_root(),
            1 => leaves[0],
            n => {
                let k = usize::try_from(split_point(n as u64)).unwrap();
                suite.node_hash(
                    &reference_root(suite, &leaves[..k]),
                    &reference_root(suite, &leaves[k..]),
                )
            }
        }
    }

    fn tree(suite: HashSuite, n: u64) -> (MemoryTree, Vec<Hash>) {
        let mut t = MemoryTree::new(suite);
        let mut leaves = Vec::new();
        for i in 0..n {
            let h = suite.leaf_hash(&i.to_be_bytes());
            leaves.push(h);
            t.append(h).unwrap();
        }
        (t, leaves)
    }

    #[test]
    fn rfc6962_reference_vectors() {
        // The eight leaves and roots used by RFC 6962 test suites (certificate-transparency-go
        // merkle/testonly), which are the RFC 9162 construction with SHA-256.
        let inputs: [&[u8]; 8] = [
            b"",
            &[0x00],
            &[0x10],
            &[0x20, 0x21],
            &[0x30, 0x31],
            &[0x40, 0x41, 0x42, 0x43],
            &[0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
            &[
                0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d,
                0x6e, 0x6f,
            ],
        ];
        let roots = [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let suite = HashSuite::Sha256;
        let mut t = MemoryTree::new(suite);
        for (input, root) in inputs.iter().zip(roots) {
            t.append(suite.leaf_hash(input)).unwrap();
            assert_eq!(t.root().to_hex(), root);
        }
    }

    #[test]
    fn every_proof_up_to_300_leaves() {
        for suite in [HashSuite::Sha256, HashSuite::Sm3] {
            let max = if suite == HashSuite::Sha256 { 300 } else { 70 };
            let (t, leaves) = tree(suite, max);
            let roots: Vec<Hash> = (0..=max as usize)
                .map(|n| reference_root(suite, &leaves[..n]))
                .collect();
            for n in 0..=max {
                let size = TreeSize(n);
                assert_eq!(tree_root(suite, size, &t).unwrap(), roots[n as usize]);
                for i in 0..n {
                    let p = prove_inclusion(suite, LeafIndex(i), size, &t).unwrap();
                    verify_inclusion(
                        suite,
                        &leaves[i as usize],
                        LeafIndex(i),
                        size,
                        &p,
                        &roots[n as usize],
                    )
                    .unwrap();
                }
                for m in 0..=n {
                    let p = prove_consistency(suite, TreeSize(m), size, &t).unwrap();
                    verify_consistency(
                        suite,
                        TreeSize(m),
                        size,
                        &roots[m as usize],
                        &roots[n as usize],
                        &p,
                    )
                    .unwrap();
                }
            }
        }
    }

    #[test]
    fn every_tree_size_up_to_3000() {
        // For each size: the root from tiles equals the right edge's root (two independent
        // computations), and proofs at the edges and the middle verify.
        let suite = HashSuite::Sha256;
        let (t, leaves) = tree(suite, 3000);
        let mut edge = crate::TreeBuilder::new(suite);
        let mut roots = vec![suite.empty_root()];
        for (n, leaf) in (1..=3000u64).zip(&leaves) {
            edge.append(*leaf).unwrap();
            let size = TreeSize(n);
            let root = tree_root(suite, size, &t).unwrap();
            assert_eq!(root, edge.root(), "size {n}");
            roots.push(root);
            for i in [0, n / 3, n / 2, n - 1] {
                let p = prove_inclusion(suite, LeafIndex(i), size, &t).unwrap();
                verify_inclusion(suite, &leaves[i as usize], LeafIndex(i), size, &p, &root)
                    .unwrap();
            }
            for m in [1, n / 2, n - 1] {
                let p = prove_consistency(suite, TreeSize(m), size, &t).unwrap();
                verify_consistency(suite, TreeSize(m), size, &roots[m as usize], &root, &p)
                    .unwrap();
            }
        }
    }

    #[test]
    fn wrong_leaf_index_size_or_root_fails() {
        let suite = HashSuite::Sha256;
        let (t, leaves) = tree(suite, 37);
        let size = TreeSize(37);
        let root = t.root();
        let p = prove_inclusion(suite, LeafIndex(5), size, &t).unwrap();
        assert!(matches!(
            verify_inclusion(suite, &leaves[6], LeafIndex(5), size, &p, &root),
            Err(Error::InclusionProofMismatch { .. })
        ));
        assert!(verify_inclusion(suite, &leaves[5], LeafIndex(4), size, &p, &root).is_err());
        // Sizes 33..=64 give leaf 5 the same proof shape, so only the signed (size, root)
        // pair disambiguates them; a size with another shape is caught by length.
        assert!(matches!(
            verify_inclusion(suite, &leaves[5], LeafIndex(5), TreeSize(32), &p, &root),
            Err(Error::ProofLength { .. })
        ));
        assert!(verify_inclusion(suite, &leaves[5], LeafIndex(5), size, &p, &leaves[0]).is_err());
        assert!(matches!(
            verify_inclusion(suite, &leaves[5], LeafIndex(37), size, &p, &root),
            Err(Error::IndexOutOfRange { .. })
        ));
        assert!(matches!(
            verify_inclusion(suite, &leaves[5], LeafIndex(5), size, &p[1..], &root),
            Err(Error::ProofLength { .. })
        ));
        // SM3 proof material never verifies as SHA-256.
        assert!(
            verify_inclusion(HashSuite::Sm3, &leaves[5], LeafIndex(5), size, &p, &root).is_err()
        );
        let mut tampered = p.clone();
        tampered[2].0[0] ^= 1;
        assert!(verify_inclusion(suite, &leaves[5], LeafIndex(5), size, &tampered, &root).is_err());
    }

    #[test]
    fn wrong_consistency_fails() {
        let suite = HashSuite::Sha256;
        let (t, _) = tree(suite, 40);
        let r20 = tree_root(suite, TreeSize(20), &t).unwrap();
        let r40 = t.root();
        let p = prove_consistency(suite, TreeSize(20), TreeSize(40), &t).unwrap();
        verify_consistency(suite, TreeSize(20), TreeSize(40), &r20, &r40, &p).unwrap();
        assert!(verify_consistency(suite, TreeSize(21), TreeSize(40), &r20, &r40, &p).is_err());
        assert!(verify_consistency(suite, TreeSize(20), TreeSize(40), &r40, &r40, &p).is_err());
        assert!(verify_consistency(suite, TreeSize(20), TreeSize(40), &r20, &r20, &p).is_err());
        assert!(matches!(
            verify_consistency(suite, TreeSize(40), TreeSize(20), &r20, &r40, &p),
            Err(Error::SizeOrder { .. })
        ));
        assert!(verify_consistency(suite, TreeSize(40), TreeSize(40), &r20, &r40, &[]).is_err());
        verify_consistency(suite, TreeSize(40), TreeSize(40), &r40, &r40, &[]).unwrap();
        verify_consistency(
            suite,
            TreeSize(0),
            TreeSize(40),
            &suite.empty_root(),
            &r40,
            &[],
        )
        .unwrap();
        assert!(verify_consistency(suite, TreeSize(0), TreeSize(40), &r20, &r40, &[]).is_err());
        assert!(verify_consistency(suite, TreeSize(20), TreeSize(40), &r20, &r40, &[]).is_err());
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(200))]
            #[test]
            fn proofs_verify_for_sizes_up_to_5000(n in 1u64..5000, i_frac in 0.0f64..1.0, m_frac in 0.0f64..=1.0) {
                let suite = HashSuite::Sha256;
                let (t, leaves) = tree(suite, n);
                let i = ((n as f64 * i_frac) as u64).min(n - 1);
                let m = ((n as f64 * m_frac) as u64).min(n);
                let root = t.root();
                let p = prove_inclusion(suite, LeafIndex(i), TreeSize(n), &t).unwrap();
                prop_assert!(verify_inclusion(suite, &leaves[i as usize], LeafIndex(i), TreeSize(n), &p, &root).is_ok());
                let old_root = tree_root(suite, TreeSize(m), &t).unwrap();
                prop_assert_eq!(old_root, reference_root(suite, &leaves[..m as usize]));
                let c = prove_consistency(suite, TreeSize(m), TreeSize(n), &t).unwrap();
                prop_assert!(verify_consistency(suite, TreeSize(m), TreeSize(n), &old_root, &root, &c).is_ok());
            }

            #[test]
            fn random_proofs_never_panic(size in 0u64..u64::MAX, index in 0u64..u64::MAX, len in 0usize..70) {
                let suite = HashSuite::Sha256;
                let proof = vec![Hash([7; 32]); len];
                let _ = verify_inclusion(suite, &Hash([1; 32]), LeafIndex(index), TreeSize(size), &proof, &Hash([2; 32]));
                let _ = verify_consistency(suite, TreeSize(index.min(size)), TreeSize(size), &Hash([1; 32]), &Hash([2; 32]), &proof);
            }
        }
    }
}
