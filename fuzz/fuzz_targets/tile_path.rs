//! `TileId::parse_path` on arbitrary text: never panics, and what parses is canonical:
//! `path()` gives back the input. Also the other way round: the path of any tile built
//! from the input's bytes parses back to that tile.
#![no_main]

use affix_merkle::{TileId, TileKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(path) = std::str::from_utf8(data)
        && let Ok(tile) = TileId::parse_path(path)
    {
        assert_eq!(
            tile.path(),
            path,
            "a parsed tile path re-encodes to another path"
        );
        let rebuilt = match tile.kind() {
            TileKind::Hashes { level } => TileId::hashes(level, tile.index(), tile.width()),
            TileKind::Entries => TileId::entries(tile.index(), tile.width()),
        };
        assert_eq!(rebuilt, Ok(tile));
    }

    // Bytes as (level or 0xff for entries, index u64 BE, width u16 BE).
    if data.len() >= 11 {
        let index = u64::from_be_bytes(data[1..9].try_into().expect("8 bytes"));
        let width = u16::from_be_bytes([data[9], data[10]]);
        let tile = if data[0] == 0xff {
            TileId::entries(index, width)
        } else {
            TileId::hashes(data[0], index, width)
        };
        if let Ok(tile) = tile {
            assert_eq!(
                TileId::parse_path(&tile.path()),
                Ok(tile),
                "{}",
                tile.path()
            );
        }
    }
});
