//! The append-only tree: a compact range of subtree roots that grows in O(log n) per leaf
//! (amortized O(1)) and reports the hashes the tile layout stores.

use crate::tile::{TILE_HEIGHT, TILE_WIDTH, TileHashReader, TileId, TileKind, TileReader};
use crate::{Error, HASH_BYTES, Hash, HashReader, HashSuite, LeafIndex, NodeId, TreeSize};

/// Leaves a tree may hold: 2^63, the limit of Go's `tlog` (sizes are `int64` there) and so
/// of every verifier we interoperate with.
const MAX_LEAVES: u64 = 1 << 63;

/// The right edge of an append-only Merkle tree.
///
/// It holds one hash per set bit of the tree size (the roots of the complete subtrees
/// the tree decomposes into), which is all that appending and computing the root need.
/// [`TreeBuilder::append_with`] reports every new hash whose level is a multiple of 8:
/// exactly what the C2SP tile layout stores at tile level `level / 8`.
#[derive(Debug, Clone)]
pub struct TreeBuilder {
    suite: HashSuite,
    size: u64,
    /// Complete-subtree roots, left to right, strictly decreasing level.
    peaks: Vec<(u8, Hash)>,
}

impl TreeBuilder {
    /// An empty tree.
    pub fn new(suite: HashSuite) -> Self {
        Self {
            suite,
            size: 0,
            peaks: Vec::new(),
        }
    }

    /// Rebuilds the right edge of a stored tree of `size` leaves, reading at most 64 nodes.
    pub fn restore(
        suite: HashSuite,
        size: TreeSize,
        reader: &impl HashReader,
    ) -> Result<Self, Error> {
        if size.0 > MAX_LEAVES {
            return Err(Error::TreeFull);
        }
        let mut nodes = Vec::new();
        let mut lo = 0u64;
        for level in (0..64u8).rev() {
            if size.0 & (1u64 << level) != 0 {
                nodes.push(NodeId {
                    level,
                    index: lo >> level,
                });
                lo += 1u64 << level;
            }
        }
        let hashes = reader.read_nodes(&nodes)?;
        if hashes.len() != nodes.len() {
            return Err(Error::Storage(
                "reader returned the wrong number of hashes".into(),
            ));
        }
        Ok(Self {
            suite,
            size: size.0,
            peaks: nodes.iter().map(|n| n.level).zip(hashes).collect(),
        })
    }

    /// Hash suite of the tree.
    pub fn suite(&self) -> HashSuite {
        self.suite
    }

    /// Number of leaves.
    pub fn size(&self) -> TreeSize {
        TreeSize(self.size)
    }

    /// Appends a leaf hash and returns its index.
    pub fn append(&mut self, leaf_hash: Hash) -> Result<LeafIndex, Error> {
        self.append_with(leaf_hash, |_, _| {})
    }

    /// Appends a leaf hash, calling `store(tile_level, hash)` for the leaf and for every
    /// new node at a level that is a multiple of 8, in order. Appending to the per-level
    /// sequences these calls describe yields exactly the tiles of the new tree.
    pub fn append_with(
        &mut self,
        leaf_hash: Hash,
        mut store: impl FnMut(u8, &Hash),
    ) -> Result<LeafIndex, Error> {
        if self.size >= MAX_LEAVES {
            return Err(Error::TreeFull);
        }
        let index = LeafIndex(self.size);
        store(0, &leaf_hash);
        let mut node = leaf_hash;
        let mut level = 0u8;
        while let Some(&(peak_level, left)) = self.peaks.last() {
            if peak_level != level {
                break;
            }
            self.peaks.pop();
            node = self.suite.node_hash(&left, &node);
            level += 1;
            if level.is_multiple_of(TILE_HEIGHT) {
                store(level / TILE_HEIGHT, &node);
            }
        }
        self.peaks.push((level, node));
        self.size += 1;
        Ok(index)
    }

    /// Root hash of the current tree (`H("")` when empty).
    pub fn root(&self) -> Hash {
        let mut iter = self.peaks.iter().rev();
        let Some(&(_, last)) = iter.next() else {
            return self.suite.empty_root();
        };
        iter.fold(last, |acc, (_, left)| self.suite.node_hash(left, &acc))
    }
}

/// A whole tree in memory, stored as the tile layout stores it: one vector of hashes per
/// tile level. Serves tiles ([`TileReader`]) and nodes ([`HashReader`]); used by tests,
/// benchmarks and tools that build small trees.
#[derive(Debug, Clone)]
pub struct MemoryTree {
    builder: TreeBuilder,
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new(suite: HashSuite) -> Self {
        Self {
            builder: TreeBuilder::new(suite),
            levels: Vec::new(),
        }
    }

    /// Appends a leaf hash and returns its index.
    pub fn append(&mut self, leaf_hash: Hash) -> Result<LeafIndex, Error> {
        let levels = &mut self.levels;
        self.builder.append_with(leaf_hash, |level, hash| {
            let level = usize::from(level);
            if levels.len() <= level {
                levels.resize_with(level + 1, Vec::new);
            }
            levels[level].push(*hash);
        })
    }

    /// Number of leaves.
    pub fn size(&self) -> TreeSize {
        self.builder.size()
    }

    /// Root hash.
    pub fn root(&self) -> Hash {
        self.builder.root()
    }

    /// Hash suite.
    pub fn suite(&self) -> HashSuite {
        self.builder.suite()
    }
}

impl TileReader for MemoryTree {
    fn read_tiles(&self, tiles: &[TileId]) -> Result<Vec<Vec<u8>>, Error> {
        tiles
            .iter()
            .map(|tile| {
                let TileKind::Hashes { level } = tile.kind() else {
                    return Err(Error::MalformedTile {
                        reason: "memory tree holds no entries",
                    });
                };
                let hashes = self
                    .levels
                    .get(usize::from(level))
                    .map_or(&[][..], Vec::as_slice);
                let start =
                    usize::try_from(tile.index().saturating_mul(TILE_WIDTH)).map_err(|_| {
                        Error::MalformedTile {
                            reason: "tile index too large",
                        }
                    })?;
                let end = start.saturating_add(usize::from(tile.width()));
                let slice = hashes.get(start..end).ok_or(Error::MalformedTile {
                    reason: "tile beyond the tree",
                })?;
                let mut data = Vec::with_capacity(slice.len() * HASH_BYTES);
                for h in slice {
                    data.extend_from_slice(&h.0);
                }
                Ok(data)
            })
            .collect()
    }
}

impl HashReader for MemoryTree {
    fn read_nodes(&self, nodes: &[NodeId]) -> Result<Vec<Hash>, Error> {
        TileHashReader::new(self.suite(), self.size(), self).read_nodes(nodes)
    }
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use crate::{tiles_for_size, tree_root};

    #[test]
    fn restore_continues_where_the_tree_left_off() {
        let suite = HashSuite::Sha256;
        let mut full = MemoryTree::new(suite);
        for n in 0..1000u64 {
            full.append(suite.leaf_hash(&n.to_be_bytes())).unwrap();
        }
        for size in [0u64, 1, 255, 256, 257, 511, 700] {
            let mut prefix = MemoryTree::new(suite);
            for n in 0..size {
                prefix.append(suite.leaf_hash(&n.to_be_bytes())).unwrap();
            }
            let mut restored = TreeBuilder::restore(suite, TreeSize(size), &prefix).unwrap();
            assert_eq!(restored.root(), prefix.root());
            for n in size..1000 {
                restored.append(suite.leaf_hash(&n.to_be_bytes())).unwrap();
            }
            assert_eq!(restored.root(), full.root());
        }
    }

    #[test]
    fn stored_levels_are_the_tiles_of_the_tree() {
        let suite = HashSuite::Sha256;
        let mut t = MemoryTree::new(suite);
        for n in 0..(256u64 * 256 + 300) {
            t.append(suite.leaf_hash(&n.to_be_bytes())).unwrap();
        }
        assert_eq!(t.levels[0].len(), 256 * 256 + 300);
        assert_eq!(t.levels[1].len(), 257);
        assert_eq!(t.levels[2].len(), 1);
        // Each level-1 hash is the root of the 256 leaves below it.
        let first_tile_root = crate::subtree_root(suite, 0, 256, &t).unwrap();
        assert_eq!(t.levels[1][0], first_tile_root);
        // Every tile listed for this size can be read.
        let tiles: Vec<TileId> = tiles_for_size(TreeSize(0), t.size())
            .into_iter()
            .filter(|tile| matches!(tile.kind(), TileKind::Hashes { .. }))
            .collect();
        let data = t.read_tiles(&tiles).unwrap();
        for (tile, bytes) in tiles.iter().zip(data) {
            assert_eq!(bytes.len(), tile.hash_data_len());
        }
        assert_eq!(tree_root(suite, t.size(), &t).unwrap(), t.root());
    }

    #[test]
    fn nodes_beyond_the_tree_are_unavailable() {
        let suite = HashSuite::Sha256;
        let mut t = MemoryTree::new(suite);
        for n in 0..10u64 {
            t.append(suite.leaf_hash(&n.to_be_bytes())).unwrap();
        }
        assert!(matches!(
            t.read_nodes(&[NodeId { level: 2, index: 2 }]),
            Err(Error::NodeUnavailable(_))
        ));
        assert!(matches!(
            t.read_nodes(&[NodeId {
                level: 63,
                index: u64::MAX
            }]),
            Err(Error::NodeUnavailable(_))
        ));
        assert!(t.read_nodes(&[NodeId { level: 1, index: 4 }]).is_ok());
    }
}
