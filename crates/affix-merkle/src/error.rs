use crate::{LeafIndex, NodeId, TreeSize};

/// Everything that can go wrong in Merkle computations.
///
/// Verification failures (the evidence does not check out) are kept apart from malformed
/// input, caller misuse and storage faults.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Verification failure: an inclusion proof does not lead from the leaf to the root.
    #[error("inclusion proof for leaf {index} in tree of size {size} does not match the root")]
    InclusionProofMismatch {
        /// Leaf the proof claims to cover.
        index: LeafIndex,
        /// Tree size the proof claims.
        size: TreeSize,
    },
    /// Verification failure: a consistency proof does not link the two roots.
    #[error("consistency proof from size {old} to size {new} does not match the roots")]
    ConsistencyProofMismatch {
        /// Older tree size.
        old: TreeSize,
        /// Newer tree size.
        new: TreeSize,
    },
    /// Malformed proof: wrong number of hashes for the claimed index and size.
    #[error("proof has {actual} hashes, expected {expected}")]
    ProofLength {
        /// Hashes the proof must have.
        expected: usize,
        /// Hashes it has.
        actual: usize,
    },
    /// Misuse or malformed claim: a leaf index outside the tree.
    #[error("leaf index {index} is outside a tree of size {size}")]
    IndexOutOfRange {
        /// Requested leaf.
        index: LeafIndex,
        /// Size of the tree.
        size: TreeSize,
    },
    /// Misuse or malformed claim: the "old" tree is larger than the "new" one.
    #[error("tree size {old} is larger than {new}")]
    SizeOrder {
        /// Claimed older size.
        old: TreeSize,
        /// Claimed newer size.
        new: TreeSize,
    },
    /// Malformed input: a hash with the wrong length or encoding.
    #[error("malformed hash: {reason}")]
    MalformedHash {
        /// What was wrong.
        reason: &'static str,
    },
    /// Malformed input: a tile path or tile coordinates that the C2SP layout forbids.
    #[error("malformed tile: {reason}")]
    MalformedTile {
        /// What was wrong.
        reason: &'static str,
    },
    /// Malformed input: tile data has the wrong length for its width.
    #[error("tile data is {actual} bytes, expected {expected}")]
    TileLength {
        /// Bytes expected from the tile's width.
        expected: usize,
        /// Bytes received.
        actual: usize,
    },
    /// Storage fault: the reader has no hash for a node that should exist.
    #[error("no stored hash for node at level {} index {}", .0.level, .0.index)]
    NodeUnavailable(NodeId),
    /// Storage fault reported by a [`crate::HashReader`] or [`crate::TileReader`]
    /// implementation.
    #[error("storage: {0}")]
    Storage(String),
    /// Misuse: the tree would outgrow the 2^63 leaves that every implementation supports.
    #[error("tree is full")]
    TreeFull,
}
