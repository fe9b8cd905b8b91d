//! The C2SP tlog-tiles layout: tile coordinates, paths, and reading tree nodes from tiles.
//!
//! A hash tile at level `L` holds up to 256 consecutive hashes of complete subtrees of
//! height `8·L`; level 0 holds leaf hashes. An entry bundle holds the entries whose leaf
//! hashes make up the level-0 tile of the same index, each prefixed by its length as a
//! big-endian `u16`.

use std::collections::BTreeMap;

use crate::{Error, HASH_BYTES, Hash, HashReader, HashSuite, NodeId, TreeSize};

/// Height of every tile: each tile spans 8 levels of the tree.
pub const TILE_HEIGHT: u8 = 8;

/// Hashes (or entries) in a full tile.
pub const TILE_WIDTH: u64 = 256;

/// Highest tile level the spec allows (`0..=63`).
const MAX_TILE_LEVEL: u8 = 63;

/// Whether a tile holds hashes or entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TileKind {
    /// Merkle tree hashes at tile level `level` (tree level `8·level`).
    Hashes {
        /// Tile level, `0..=63`.
        level: u8,
    },
    /// An entry bundle: the entries under the level-0 tile with the same index.
    Entries,
}

/// Coordinates of one tile: kind, index within its level, width (1–256; 256 is full).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TileId {
    kind: TileKind,
    index: u64,
    width: u16,
}

impl TileId {
    /// A hash tile. Fails if the level or width is out of the spec's range.
    pub fn hashes(level: u8, index: u64, width: u16) -> Result<Self, Error> {
        if level > MAX_TILE_LEVEL {
            return Err(Error::MalformedTile {
                reason: "tile level above 63",
            });
        }
        Self::new(TileKind::Hashes { level }, index, width)
    }

    /// An entry bundle. Fails if the width is out of range.
    pub fn entries(index: u64, width: u16) -> Result<Self, Error> {
        Self::new(TileKind::Entries, index, width)
    }

    fn new(kind: TileKind, index: u64, width: u16) -> Result<Self, Error> {
        if width == 0 || u64::from(width) > TILE_WIDTH {
            return Err(Error::MalformedTile {
                reason: "tile width must be 1 to 256",
            });
        }
        Ok(Self { kind, index, width })
    }

    /// Hashes or entries.
    pub fn kind(&self) -> TileKind {
        self.kind
    }

    /// Index of the tile within its level.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// Number of hashes (or entries) in the tile.
    pub fn width(&self) -> u16 {
        self.width
    }

    /// Whether the tile holds fewer than 256 items.
    pub fn is_partial(&self) -> bool {
        u64::from(self.width) < TILE_WIDTH
    }

    /// Byte length of a hash tile's data (`width · 32`); meaningless for entry bundles.
    pub fn hash_data_len(&self) -> usize {
        usize::from(self.width) * HASH_BYTES
    }

    /// The C2SP path, without prefix: `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`.
    pub fn path(&self) -> String {
        let mut path = String::from("tile/");
        match self.kind {
            TileKind::Hashes { level } => path.push_str(&level.to_string()),
            TileKind::Entries => path.push_str("entries"),
        }
        path.push('/');
        // Index 1234067 becomes x001/x234/067: three-digit groups, all but the last
        // prefixed with `x`.
        let digits = self.index.to_string();
        let padded = format!("{}{digits}", "0".repeat((3 - digits.len() % 3) % 3));
        let groups: Vec<&str> = padded
            .as_bytes()
            .chunks(3)
            .map(|c| std::str::from_utf8(c).unwrap_or("000"))
            .collect();
        for (i, group) in groups.iter().enumerate() {
            if i + 1 < groups.len() {
                path.push('x');
                path.push_str(group);
                path.push('/');
            } else {
                path.push_str(group);
            }
        }
        if self.is_partial() {
            path.push_str(".p/");
            path.push_str(&self.width.to_string());
        }
        path
    }

    /// Parses a path produced by [`TileId::path`] (a leading `tile/` is required).
    /// Rejects every non-canonical spelling, so each tile has exactly one path.
    pub fn parse_path(path: &str) -> Result<Self, Error> {
        const BAD: Error = Error::MalformedTile {
            reason: "not a canonical tile path",
        };
        if path.len() > 64 {
            return Err(BAD);
        }
        let rest = path.strip_prefix("tile/").ok_or(BAD)?;
        let (kind_str, rest) = rest.split_once('/').ok_or(BAD)?;
        let kind = if kind_str == "entries" {
            TileKind::Entries
        } else {
            let level = parse_decimal(kind_str).ok_or(BAD)?;
            let level = u8::try_from(level).map_err(|_| BAD)?;
            if level > MAX_TILE_LEVEL {
                return Err(BAD);
            }
            TileKind::Hashes { level }
        };
        let (index_str, width) = match rest.split_once(".p/") {
            Some((index_str, width_str)) => {
                let width = parse_decimal(width_str).ok_or(BAD)?;
                if width == 0 || width >= TILE_WIDTH {
                    return Err(BAD);
                }
                // Checked just above: 1..=255.
                (index_str, u16::try_from(width).map_err(|_| BAD)?)
            }
            None => (rest, 256),
        };
        let groups: Vec<&str> = index_str.split('/').collect();
        let mut index: u64 = 0;
        for (i, group) in groups.iter().enumerate() {
            let digits = if i + 1 < groups.len() {
                group.strip_prefix('x').ok_or(BAD)?
            } else {
                group
            };
            if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(BAD);
            }
            let value = u64::from(
                digits
                    .bytes()
                    .fold(0u16, |acc, b| acc * 10 + u16::from(b - b'0')),
            );
            index = index
                .checked_mul(1000)
                .and_then(|x| x.checked_add(value))
                .ok_or(BAD)?;
        }
        let tile = Self::new(kind, index, width)?;
        // Leading all-zero groups ("x000/001") would be a second spelling of index 1.
        if tile.path() != path {
            return Err(BAD);
        }
        Ok(tile)
    }
}

/// Decimal without leading zeros (except "0"), as the spec requires.
fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Width of tile `index` at tile level `level` in a tree of `size` leaves, or `None` if
/// that tile does not exist at this size.
fn tile_width_at(level: u8, index: u64, size: u64) -> Option<u16> {
    let count = size.checked_shr(u32::from(level) * u32::from(TILE_HEIGHT))?;
    let start = index.checked_mul(TILE_WIDTH)?;
    if count <= start {
        return None;
    }
    // Bounded by TILE_WIDTH (256) just before the cast.
    Some((count - start).min(TILE_WIDTH) as u16)
}

/// The tiles (hash tiles at every level, and entry bundles) that exist for a tree of
/// `new` leaves but did not exist, with the same content, for a tree of `old` leaves.
/// `new_tiles(0, n)` lists every tile of the tree.
pub fn tiles_for_size(old: TreeSize, new: TreeSize) -> Vec<TileId> {
    let mut out = Vec::new();
    if new <= old {
        return out;
    }
    for level in 0..=MAX_TILE_LEVEL {
        let shift = u32::from(level) * u32::from(TILE_HEIGHT);
        let new_count = new.0.checked_shr(shift).unwrap_or(0);
        if new_count == 0 {
            break;
        }
        let old_count = old.0.checked_shr(shift).unwrap_or(0);
        if new_count == old_count {
            continue;
        }
        let first = old_count / TILE_WIDTH;
        let full_end = new_count / TILE_WIDTH;
        let push = |out: &mut Vec<TileId>, index: u64, width: u16| {
            out.push(TileId {
                kind: TileKind::Hashes { level },
                index,
                width,
            });
            if level == 0 {
                out.push(TileId {
                    kind: TileKind::Entries,
                    index,
                    width,
                });
            }
        };
        for index in first..full_end {
            push(&mut out, index, 256);
        }
        // Below 256 by construction.
        let partial = (new_count % TILE_WIDTH) as u16;
        if partial > 0 {
            push(&mut out, full_end, partial);
        }
    }
    out
}

/// Encodes entries in entry-bundle framing: each entry as `u16` big-endian length, then
/// its bytes. Entries longer than 65,535 bytes cannot be framed and make this fail.
pub fn encode_bundle<E: AsRef<[u8]>>(entries: &[E]) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(entries.iter().map(|e| 2 + e.as_ref().len()).sum());
    for e in entries {
        let e = e.as_ref();
        let len = u16::try_from(e.len()).map_err(|_| Error::MalformedTile {
            reason: "entry longer than 65535 bytes",
        })?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

/// Splits entry-bundle framing into entries, refusing truncated input and more than
/// `max_entries` entries.
pub fn decode_bundle(data: &[u8], max_entries: usize) -> Result<Vec<&[u8]>, Error> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        if out.len() == max_entries {
            return Err(Error::MalformedTile {
                reason: "too many entries",
            });
        }
        let (len, tail) = rest.split_at_checked(2).ok_or(Error::MalformedTile {
            reason: "truncated entry length",
        })?;
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        let (entry, tail) = tail.split_at_checked(len).ok_or(Error::MalformedTile {
            reason: "truncated entry",
        })?;
        out.push(entry);
        rest = tail;
    }
    Ok(out)
}

/// Source of tile data, for [`TileHashReader`]. Hash tiles only: `tiles` never contains
/// an entry bundle.
pub trait TileReader {
    /// Returns the data of each tile in order: exactly `width · 32` bytes per hash tile.
    /// A reader may return the data of a wider tile (a full tile when a partial one was
    /// asked for); [`TileHashReader`] uses only the prefix it asked for.
    fn read_tiles(&self, tiles: &[TileId]) -> Result<Vec<Vec<u8>>, Error>;
}

/// Reads tree nodes out of tiles, for a tree of a given size.
///
/// Nodes whose level is a multiple of 8 are read directly; the levels in between are
/// recomputed by hashing up to 128 tile hashes. The reader does not authenticate tiles by
/// itself: callers compare what they compute (a root, a proof) with a verified
/// checkpoint, which fails if any tile was forged.
pub struct TileHashReader<'a, R: TileReader + ?Sized> {
    suite: HashSuite,
    size: TreeSize,
    tiles: &'a R,
}

impl<'a, R: TileReader + ?Sized> TileHashReader<'a, R> {
    /// A reader for the tree of `size` leaves hashed with `suite`, over `tiles`.
    pub fn new(suite: HashSuite, size: TreeSize, tiles: &'a R) -> Self {
        Self { suite, size, tiles }
    }
}

impl<R: TileReader + ?Sized> HashReader for TileHashReader<'_, R> {
    fn read_nodes(&self, nodes: &[NodeId]) -> Result<Vec<Hash>, Error> {
        // Map each node to (tile, offset, count) and fetch every distinct tile once.
        let mut placements = Vec::with_capacity(nodes.len());
        let mut wanted: BTreeMap<(u8, u64), u16> = BTreeMap::new();
        for node in nodes {
            let complete = node
                .index
                .checked_add(1)
                .and_then(|end| end.checked_shl(u32::from(node.level)))
                .is_some_and(|end| end <= self.size.0)
                && node.level < 64;
            if !complete {
                return Err(Error::NodeUnavailable(*node));
            }
            let tile_level = node.level / TILE_HEIGHT;
            let rest = node.level % TILE_HEIGHT;
            let start = node.index << rest;
            let tile_index = start / TILE_WIDTH;
            // `start % 256` fits a usize.
            let offset = (start % TILE_WIDTH) as usize;
            let width = tile_width_at(tile_level, tile_index, self.size.0)
                .ok_or(Error::NodeUnavailable(*node))?;
            wanted.insert((tile_level, tile_index), width);
            placements.push((tile_level, tile_index, offset, 1usize << rest));
        }
        let ids = wanted
            .iter()
            .map(|(&(level, index), &width)| TileId::hashes(level, index, width))
            .collect::<Result<Vec<_>, _>>()?;
        let data = self.tiles.read_tiles(&ids)?;
        if data.len() != ids.len() {
            return Err(Error::Storage(format!(
                "tile reader returned {} tiles for {} requested",
                data.len(),
                ids.len()
            )));
        }
        let mut by_tile: BTreeMap<(u8, u64), &[u8]> = BTreeMap::new();
        for (id, bytes) in ids.iter().zip(&data) {
            let expected = id.hash_data_len();
            let full = usize::try_from(TILE_WIDTH).unwrap_or(256) * HASH_BYTES;
            if bytes.len() < expected || bytes.len() > full || bytes.len() % HASH_BYTES != 0 {
                return Err(Error::TileLength {
                    expected,
                    actual: bytes.len(),
                });
            }
            if let TileKind::Hashes { level } = id.kind {
                by_tile.insert((level, id.index), &bytes[..expected]);
            }
        }
        placements
            .into_iter()
            .map(|(level, index, offset, count)| {
                let bytes = by_tile
                    .get(&(level, index))
                    .ok_or(Error::Storage("tile missing from reader output".into()))?;
                let slice = &bytes[offset * HASH_BYTES..(offset + count) * HASH_BYTES];
                Ok(hash_tile_span(self.suite, slice))
            })
            .collect()
    }
}

/// Root of a complete subtree whose leaves are the (power-of-two many) hashes in `data`.
fn hash_tile_span(suite: HashSuite, data: &[u8]) -> Hash {
    let mut level: Vec<Hash> = data
        .chunks_exact(HASH_BYTES)
        .map(|c| {
            let mut h = [0u8; HASH_BYTES];
            h.copy_from_slice(c);
            Hash(h)
        })
        .collect();
    while level.len() > 1 {
        level = level
            .chunks_exact(2)
            .map(|pair| suite.node_hash(&pair[0], &pair[1]))
            .collect();
    }
    level.first().copied().unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::*;

    #[test]
    fn bundles_round_trip_and_refuse_truncation() {
        let entries: Vec<Vec<u8>> = vec![b"a".to_vec(), vec![], vec![7; 300]];
        let bytes = encode_bundle(&entries).unwrap();
        assert_eq!(
            decode_bundle(&bytes, 3).unwrap(),
            entries.iter().map(Vec::as_slice).collect::<Vec<_>>()
        );
        assert!(decode_bundle(&bytes, 2).is_err());
        assert!(decode_bundle(&bytes[..bytes.len() - 1], 3).is_err());
        assert!(decode_bundle(&[0], 3).is_err());
        assert!(encode_bundle(&[vec![0u8; 65_536]]).is_err());
        assert_eq!(decode_bundle(&[], 0).unwrap().len(), 0);
    }

    #[test]
    fn paths_follow_the_spec_examples() {
        let t = TileId::hashes(0, 1_234_067, 256).unwrap();
        assert_eq!(t.path(), "tile/0/x001/x234/067");
        assert_eq!(TileId::hashes(3, 0, 17).unwrap().path(), "tile/3/000.p/17");
        assert_eq!(
            TileId::entries(1000, 256).unwrap().path(),
            "tile/entries/x001/000"
        );
        assert_eq!(
            TileId::entries(999, 3).unwrap().path(),
            "tile/entries/999.p/3"
        );
        for t in [
            TileId::hashes(0, 1_234_067, 256).unwrap(),
            TileId::hashes(63, u64::MAX, 1).unwrap(),
            TileId::entries(0, 255).unwrap(),
        ] {
            assert_eq!(TileId::parse_path(&t.path()).unwrap(), t);
        }
    }

    #[test]
    fn non_canonical_paths_are_rejected() {
        for bad in [
            "tile/0/1",
            "tile/0/x000/001",
            "tile/00/001",
            "tile/64/001",
            "tile/0/001.p/0",
            "tile/0/001.p/256",
            "tile/0/001.p/07",
            "tile/0/001/",
            "tile/0/x001",
            "tile/0/001x",
            "tile/-1/001",
            "tile/data/001",
            "0/001",
            "tile/0/x999/x999/x999/x999/x999/x999/x999",
            "tile/0/x018/x446/x744/x073/x709/x551/616",
        ] {
            assert!(TileId::parse_path(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn tiles_for_size_matches_the_spec_example() {
        // "a tree of size 70,000 will be represented by 273 full level 0 tiles, one
        // partial level 0 tile of width 112, one full level 1 tile, one partial level 1
        // tile of width 17, and one partial level 2 tile of width 1."
        let tiles = tiles_for_size(TreeSize(0), TreeSize(70_000));
        let count = |level: u8, partial: bool| {
            tiles
                .iter()
                .filter(|t| t.kind() == TileKind::Hashes { level } && t.is_partial() == partial)
                .count()
        };
        assert_eq!(count(0, false), 273);
        assert_eq!(count(0, true), 1);
        assert_eq!(count(1, false), 1);
        assert_eq!(count(1, true), 1);
        assert_eq!(count(2, true), 1);
        assert_eq!(count(2, false), 0);
        assert!(tiles.contains(&TileId::hashes(0, 273, 112).unwrap()));
        assert!(tiles.contains(&TileId::hashes(1, 1, 17).unwrap()));
        assert!(tiles.contains(&TileId::entries(273, 112).unwrap()));
        // "a tree of size 256 will be represented by a full level 0 tile and a partial
        // level 1 tile of width 1."
        assert_eq!(
            tiles_for_size(TreeSize(0), TreeSize(256))
                .into_iter()
                .filter(|t| matches!(t.kind(), TileKind::Hashes { .. }))
                .collect::<Vec<_>>(),
            vec![
                TileId::hashes(0, 0, 256).unwrap(),
                TileId::hashes(1, 0, 1).unwrap()
            ]
        );
        // Growing from 300 to 520 adds level-0 tile 1 (now full) and partial tile 2.
        let grown = tiles_for_size(TreeSize(300), TreeSize(520));
        assert!(grown.contains(&TileId::hashes(0, 1, 256).unwrap()));
        assert!(grown.contains(&TileId::hashes(0, 2, 8).unwrap()));
        assert!(grown.contains(&TileId::hashes(1, 0, 2).unwrap()));
        assert!(
            !grown
                .iter()
                .any(|t| t.index() == 0 && t.kind() == TileKind::Hashes { level: 0 })
        );
    }
}
