//! The ledger block, format v1 — ours, not the consensus engine's.
//!
//! ```text
//! magic      4 bytes "AFXB"
//! version    u8      0x01
//! parent     32 bytes  digest of the parent block (genesis: digest of the genesis file)
//! height     u64       parent height + 1 (genesis: 0)
//! timestamp  u64       proposer's clock, ms since the Unix epoch; never below the parent's
//! tree_size  u64       log size after this block
//! root       32 bytes  log root after this block
//! count      u32       number of records (0..=16384)
//! records    count × (u16 length || evidence record v1 bytes)
//! ```
//! The block digest is SHA-256 of these bytes. Whole block ≤ 4 MiB (one p2p message).

use sha2::{Digest as _, Sha256};

use affix_merkle::Hash;

use crate::Error;

/// First bytes of every block.
pub const BLOCK_MAGIC: [u8; 4] = *b"AFXB";

/// Block format version.
pub const BLOCK_VERSION: u8 = 1;

/// Most records in one block.
pub const BLOCK_RECORDS_MAX: usize = 16_384;

/// Largest encoded block.
pub const BLOCK_BYTES_MAX: usize = 4 * 1024 * 1024;

const HEADER_BYTES: usize = 4 + 1 + 32 + 8 + 8 + 8 + 32 + 4;

/// SHA-256 of a block's encoding.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct BlockDigest(pub [u8; 32]);

impl std::fmt::Debug for BlockDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BlockDigest({})", hex::encode(self.0))
    }
}

impl std::fmt::Display for BlockDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// One block of the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// Digest of the parent block.
    pub parent: BlockDigest,
    /// Height: parent height + 1.
    pub height: u64,
    /// Proposer's time, ms since the Unix epoch.
    pub timestamp_ms: u64,
    /// Log size after applying the block.
    pub tree_size: u64,
    /// Log root after applying the block.
    pub root: Hash,
    /// The evidence records, in log order.
    pub records: Vec<Vec<u8>>,
}

impl Block {
    /// The genesis block of a consortium: height 0, no records, empty tree.
    pub fn genesis(genesis_digest: BlockDigest, empty_root: Hash) -> Self {
        Self {
            parent: genesis_digest,
            height: 0,
            timestamp_ms: 0,
            tree_size: 0,
            root: empty_root,
            records: Vec::new(),
        }
    }

    /// The canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let body: usize = self.records.iter().map(|r| 2 + r.len()).sum();
        let mut out = Vec::with_capacity(HEADER_BYTES + body);
        out.extend_from_slice(&BLOCK_MAGIC);
        out.push(BLOCK_VERSION);
        out.extend_from_slice(&self.parent.0);
        out.extend_from_slice(&self.height.to_be_bytes());
        out.extend_from_slice(&self.timestamp_ms.to_be_bytes());
        out.extend_from_slice(&self.tree_size.to_be_bytes());
        out.extend_from_slice(&self.root.0);
        // Blocks are built and checked against BLOCK_RECORDS_MAX (< 2^32) and records
        // against the u16 entry limit before they are encoded.
        out.extend_from_slice(
            &u32::try_from(self.records.len())
                .unwrap_or(u32::MAX)
                .to_be_bytes(),
        );
        for r in &self.records {
            out.extend_from_slice(&u16::try_from(r.len()).unwrap_or(u16::MAX).to_be_bytes());
            out.extend_from_slice(r);
        }
        out
    }

    /// The block's digest.
    pub fn digest(&self) -> BlockDigest {
        BlockDigest(Sha256::digest(self.encode()).into())
    }

    /// Checks the size limits an encodable block must meet.
    pub fn check_limits(&self) -> Result<(), Error> {
        if self.records.len() > BLOCK_RECORDS_MAX {
            return Err(Error::BlockTooLarge(format!(
                "{} records, at most {BLOCK_RECORDS_MAX}",
                self.records.len()
            )));
        }
        let mut bytes = HEADER_BYTES;
        for (i, r) in self.records.iter().enumerate() {
            if r.len() > affix_evidence::MAX_RECORD_BYTES {
                return Err(Error::BlockTooLarge(format!(
                    "record {i} is {} bytes",
                    r.len()
                )));
            }
            bytes += 2 + r.len();
        }
        if bytes > BLOCK_BYTES_MAX {
            return Err(Error::BlockTooLarge(format!(
                "{bytes} bytes, at most {BLOCK_BYTES_MAX}"
            )));
        }
        Ok(())
    }

    /// Decodes a canonical v1 block; never panics, rejects anything not canonical.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() > BLOCK_BYTES_MAX {
            return Err(Error::BlockTooLarge(format!("{} bytes", bytes.len())));
        }
        if bytes.len() < HEADER_BYTES {
            return Err(Error::MalformedBlock("shorter than the header"));
        }
        if bytes[..4] != BLOCK_MAGIC {
            return Err(Error::MalformedBlock("bad magic"));
        }
        if bytes[4] != BLOCK_VERSION {
            return Err(Error::MalformedBlock("unsupported version"));
        }
        let u64_at = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[at..at + 8]);
            u64::from_be_bytes(b)
        };
        let mut parent = [0u8; 32];
        parent.copy_from_slice(&bytes[5..37]);
        let height = u64_at(37);
        let timestamp_ms = u64_at(45);
        let tree_size = u64_at(53);
        let mut root = [0u8; 32];
        root.copy_from_slice(&bytes[61..93]);
        let count = u32::from_be_bytes([bytes[93], bytes[94], bytes[95], bytes[96]]);
        let count = usize::try_from(count).map_err(|_| Error::MalformedBlock("record count"))?;
        if count > BLOCK_RECORDS_MAX {
            return Err(Error::BlockTooLarge(format!("{count} records")));
        }
        let mut records = Vec::with_capacity(count);
        let mut at = HEADER_BYTES;
        for _ in 0..count {
            let len = bytes
                .get(at..at + 2)
                .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
                .ok_or(Error::MalformedBlock("truncated record length"))?;
            let record = bytes
                .get(at + 2..at + 2 + len)
                .ok_or(Error::MalformedBlock("truncated record"))?;
            records.push(record.to_vec());
            at += 2 + len;
        }
        if at != bytes.len() {
            return Err(Error::MalformedBlock("trailing bytes"));
        }
        let block = Self {
            parent: BlockDigest(parent),
            height,
            timestamp_ms,
            tree_size,
            root: Hash(root),
            records,
        };
        block.check_limits()?;
        Ok(block)
    }
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Block {
        Block {
            parent: BlockDigest([1; 32]),
            height: 7,
            timestamp_ms: 1_795_000_000_000,
            tree_size: 42,
            root: Hash([2; 32]),
            records: vec![b"one".to_vec(), vec![], vec![9; 300]],
        }
    }

    #[test]
    fn round_trip_and_digest() {
        let b = sample();
        let bytes = b.encode();
        assert_eq!(Block::decode(&bytes).unwrap(), b);
        assert_eq!(b.digest(), BlockDigest(Sha256::digest(&bytes).into()));
        let mut other = b.clone();
        other.height = 8;
        assert_ne!(other.digest(), b.digest());
    }

    #[test]
    fn malformed_blocks_are_rejected() {
        let bytes = sample().encode();
        assert!(Block::decode(&bytes[..bytes.len() - 1]).is_err());
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert_eq!(
            Block::decode(&trailing),
            Err(Error::MalformedBlock("trailing bytes"))
        );
        let mut version = bytes.clone();
        version[4] = 2;
        assert!(Block::decode(&version).is_err());
        let mut count = bytes.clone();
        count[93..97].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            Block::decode(&count),
            Err(Error::BlockTooLarge(_))
        ));
        let too_many = Block {
            records: vec![vec![]; BLOCK_RECORDS_MAX + 1],
            ..sample()
        };
        assert!(too_many.check_limits().is_err());
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Block::decode(&bytes);
        }
    }
}
