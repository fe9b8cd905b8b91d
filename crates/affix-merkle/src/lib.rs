//! RFC 9162 Merkle trees for the Affix evidence log, in the C2SP tlog-tiles layout.
//!
//! This crate is a pure core: it does no I/O, reads no clock and draws no randomness.
//! Storage is reached through the [`HashReader`] and [`TileReader`] traits, so the same
//! code serves an in-memory tree, the on-disk log (`affix-logstore`) and a mirror that
//! fetches tiles over HTTP.
//!
//! What it provides:
//!
//! - [`HashSuite`]: RFC 9162 §2.1 hashing (leaf prefix `0x00`, node prefix `0x01`) with
//!   SHA-256, and the same construction over SM3 (GB/T 32905) for deployments that
//!   require Chinese national algorithms. A log's suite is fixed by its origin
//!   ([`HashSuite::for_origin`]), so an SM3 tree can never be read as a SHA-256 one.
//! - Inclusion and consistency proofs for any tree size: generation ([`prove_inclusion`],
//!   [`prove_consistency`]) from any [`HashReader`], and verification
//!   ([`verify_inclusion`], [`verify_consistency`]) following RFC 9162 §2.1.3.2 and §2.1.4.2.
//! - [`TreeBuilder`]: an append-only tree that appends in O(log n) (amortized O(1)) and
//!   emits exactly the hashes that the C2SP tlog-tiles layout stores.
//! - [`TileId`] and [`TileHashReader`]: tile paths (`tile/<L>/<N>[.p/<W>]`,
//!   `tile/entries/<N>[.p/<W>]`) and reading any tree node back from tiles.
#![forbid(unsafe_code)]

mod error;
mod hash;
mod proof;
mod tile;
mod tree;

pub use error::Error;
pub use hash::{EMPTY_SHA256_ROOT, HASH_BYTES, Hash, HashSuite, SM3_ORIGIN_SUFFIX};
pub use proof::{
    MAX_PROOF_HASHES, prove_consistency, prove_inclusion, subtree_root, tree_root,
    verify_consistency, verify_inclusion,
};
pub use tile::{
    TILE_HEIGHT, TILE_WIDTH, TileHashReader, TileId, TileKind, TileReader, decode_bundle,
    encode_bundle, tiles_for_size,
};
pub use tree::{MemoryTree, TreeBuilder};

/// The position of one leaf in a log, counting from zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LeafIndex(pub u64);

/// The number of leaves in a tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TreeSize(pub u64);

impl std::fmt::Display for LeafIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Display for TreeSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A node of the tree that roots a *complete* subtree: the `index`-th node at `level`,
/// covering leaves `[index << level, (index + 1) << level)`. Level 0 nodes are leaf hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId {
    /// Height of the subtree (0 for a leaf).
    pub level: u8,
    /// Index of the node among the nodes of its level.
    pub index: u64,
}

/// Source of the hashes of complete subtrees, by [`NodeId`].
///
/// Implementations: an in-memory vector of leaves in tests, the on-disk log, a
/// [`TileHashReader`] over tiles fetched from anywhere.
pub trait HashReader {
    /// Returns the hashes of `nodes`, in order. Every requested node is a complete subtree
    /// of the tree the caller is working on; an implementation that cannot supply one
    /// returns [`Error::NodeUnavailable`] (or a storage error).
    fn read_nodes(&self, nodes: &[NodeId]) -> Result<Vec<Hash>, Error>;
}

impl<R: HashReader + ?Sized> HashReader for &R {
    fn read_nodes(&self, nodes: &[NodeId]) -> Result<Vec<Hash>, Error> {
        (**self).read_nodes(nodes)
    }
}
