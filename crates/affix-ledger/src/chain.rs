//! The deterministic state machine every authority node runs.

use std::collections::{BTreeMap, BTreeSet};

use affix_evidence::EvidenceRecord;
use affix_merkle::{Hash, HashSuite, TreeBuilder};

use crate::Error;
use crate::block::{BLOCK_BYTES_MAX, BLOCK_RECORDS_MAX, Block, BlockDigest};

/// How far ahead of a verifier's clock a proposal's timestamp may be.
const CLOCK_AHEAD_MS_MAX: u64 = 5_000;

/// Most verified-but-unfinalized blocks kept; older ones are dropped (and re-verified if
/// they are ever needed again).
const PENDING_BLOCKS_MAX: usize = 1024;

/// Membership of leaf hashes in the finalized log (the node keeps a persistent index).
pub trait LeafLookup {
    /// Whether a record with this leaf hash is already in the finalized log.
    fn contains(&self, leaf_hash: &Hash) -> bool;
}

/// What applying a finalized block did to the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Index of the block's first record in the log.
    pub first_index: u64,
    /// Log size after the block.
    pub tree_size: u64,
    /// Log root after the block.
    pub root: Hash,
    /// Leaf hashes of the block's records, in order.
    pub leaf_hashes: Vec<Hash>,
}

/// The last finalized block, as a node persists it (with its log, atomically) to resume
/// after a restart: 48 bytes, `digest || height (u64) || timestamp_ms (u64)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FinalizedTip {
    /// Block digest.
    pub digest: BlockDigest,
    /// Block height.
    pub height: u64,
    /// Block timestamp.
    pub timestamp_ms: u64,
}

impl FinalizedTip {
    /// Fixed 48-byte encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.digest.0.to_vec();
        out.extend_from_slice(&self.height.to_be_bytes());
        out.extend_from_slice(&self.timestamp_ms.to_be_bytes());
        out
    }

    /// Decodes [`FinalizedTip::encode`].
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != 48 {
            return None;
        }
        let mut digest = [0u8; 32];
        digest.copy_from_slice(&bytes[..32]);
        let mut h = [0u8; 8];
        h.copy_from_slice(&bytes[32..40]);
        let mut t = [0u8; 8];
        t.copy_from_slice(&bytes[40..48]);
        Some(Self {
            digest: BlockDigest(digest),
            height: u64::from_be_bytes(h),
            timestamp_ms: u64::from_be_bytes(t),
        })
    }
}

#[derive(Debug, Clone)]
struct Tip {
    digest: BlockDigest,
    height: u64,
    timestamp_ms: u64,
    tree: TreeBuilder,
}

#[derive(Debug, Clone)]
struct Pending {
    tip: Tip,
    parent: BlockDigest,
    leaf_hashes: BTreeSet<Hash>,
}

/// The ledger state machine: the last finalized block and the verified blocks above it.
#[derive(Debug)]
pub struct Chain {
    suite: HashSuite,
    finalized: Tip,
    pending: BTreeMap<BlockDigest, Pending>,
}

/// Validates one record for inclusion and returns its leaf hash.
pub(crate) fn check_record(suite: HashSuite, record: &[u8]) -> Result<Hash, String> {
    EvidenceRecord::decode(record).map_err(|e| e.to_string())?;
    Ok(suite.leaf_hash(record))
}

impl Chain {
    /// A chain whose last finalized block is `block`, with the log's right edge `tree`
    /// (the state after `block`). At first start, `block` is the genesis block and `tree`
    /// empty.
    pub fn new(block: &Block, tree: TreeBuilder) -> Result<Self, Error> {
        if tree.size().0 != block.tree_size || tree.root() != block.root {
            return Err(Error::BlockRoot {
                claimed_size: block.tree_size,
                claimed_root: block.root,
                size: tree.size().0,
                root: tree.root(),
            });
        }
        Ok(Self {
            suite: tree.suite(),
            finalized: Tip {
                digest: block.digest(),
                height: block.height,
                timestamp_ms: block.timestamp_ms,
                tree,
            },
            pending: BTreeMap::new(),
        })
    }

    /// Resumes from a persisted tip and the log's right edge after it.
    pub fn restore(tip: FinalizedTip, tree: TreeBuilder) -> Self {
        Self {
            suite: tree.suite(),
            finalized: Tip {
                digest: tip.digest,
                height: tip.height,
                timestamp_ms: tip.timestamp_ms,
                tree,
            },
            pending: BTreeMap::new(),
        }
    }

    /// The last finalized block, for persisting.
    pub fn finalized_tip(&self) -> FinalizedTip {
        FinalizedTip {
            digest: self.finalized.digest,
            height: self.finalized.height,
            timestamp_ms: self.finalized.timestamp_ms,
        }
    }

    /// Whether a block is known (finalized tip or verified).
    pub fn knows(&self, digest: &BlockDigest) -> bool {
        self.tip(digest).is_some()
    }

    /// Digest of the last finalized block.
    pub fn finalized_digest(&self) -> BlockDigest {
        self.finalized.digest
    }

    /// Height of the last finalized block.
    pub fn finalized_height(&self) -> u64 {
        self.finalized.height
    }

    /// The finalized log's size and root.
    pub fn finalized_tree(&self) -> &TreeBuilder {
        &self.finalized.tree
    }

    /// The state after block `digest` (finalized or verified), if known.
    fn tip(&self, digest: &BlockDigest) -> Option<&Tip> {
        if *digest == self.finalized.digest {
            Some(&self.finalized)
        } else {
            self.pending.get(digest).map(|p| &p.tip)
        }
    }

    /// Whether `leaf_hash` is in the log as of block `at` (finalized log or an
    /// unfinalized ancestor of `at`, inclusive).
    fn logged_as_of(&self, at: BlockDigest, leaf_hash: &Hash, lookup: &impl LeafLookup) -> bool {
        let mut cursor = at;
        while let Some(p) = self.pending.get(&cursor) {
            if p.leaf_hashes.contains(leaf_hash) {
                return true;
            }
            cursor = p.parent;
        }
        lookup.contains(leaf_hash)
    }

    /// Builds a block on `parent` from candidate records, in order, skipping (and
    /// returning the reasons for) records that are invalid or already logged, until the
    /// block limits are reached. Records that did not fit are left out silently.
    pub fn propose(
        &self,
        parent: BlockDigest,
        timestamp_ms: u64,
        candidates: impl IntoIterator<Item = Vec<u8>>,
        lookup: &impl LeafLookup,
    ) -> Result<(Block, Vec<(Hash, String)>), Error> {
        let tip = self
            .tip(&parent)
            .ok_or_else(|| Error::UnknownParent(parent.to_string()))?;
        let mut tree = tip.tree.clone();
        let mut seen = BTreeSet::new();
        let mut records = Vec::new();
        let mut rejected = Vec::new();
        let mut bytes = 97usize;
        for record in candidates {
            if records.len() == BLOCK_RECORDS_MAX || bytes + 2 + record.len() > BLOCK_BYTES_MAX {
                break;
            }
            let leaf = self.suite.leaf_hash(&record);
            if let Err(reason) = check_record(self.suite, &record) {
                rejected.push((leaf, reason));
                continue;
            }
            if !seen.insert(leaf) || self.logged_as_of(parent, &leaf, lookup) {
                rejected.push((leaf, "duplicate of a logged record".to_owned()));
                continue;
            }
            tree.append(leaf)?;
            bytes += 2 + record.len();
            records.push(record);
        }
        let block = Block {
            parent,
            height: tip.height + 1,
            timestamp_ms: timestamp_ms.max(tip.timestamp_ms),
            tree_size: tree.size().0,
            root: tree.root(),
            records,
        };
        Ok((block, rejected))
    }

    /// Verifies a proposed block against its parent (which must be finalized or verified)
    /// and remembers its state, so that children can be verified and it can be finalized
    /// cheaply. `now_ms` is the verifier's clock.
    pub fn verify(
        &mut self,
        block: &Block,
        now_ms: u64,
        lookup: &impl LeafLookup,
    ) -> Result<(), Error> {
        if block.timestamp_ms > now_ms.saturating_add(CLOCK_AHEAD_MS_MAX) {
            return Err(Error::BlockParent(format!(
                "timestamp {} is ahead of the verifier's clock {now_ms}",
                block.timestamp_ms
            )));
        }
        let pending = self.check(block, lookup)?;
        if self.pending.len() >= PENDING_BLOCKS_MAX {
            // Drop the lowest blocks: they are the least likely to still matter.
            let lowest: Vec<BlockDigest> = {
                let mut by_height: Vec<(u64, BlockDigest)> = self
                    .pending
                    .iter()
                    .map(|(d, p)| (p.tip.height, *d))
                    .collect();
                by_height.sort();
                by_height
                    .into_iter()
                    .take(PENDING_BLOCKS_MAX / 4)
                    .map(|(_, d)| d)
                    .collect()
            };
            for d in lowest {
                self.pending.remove(&d);
            }
        }
        self.pending.insert(pending.tip.digest, pending);
        Ok(())
    }

    /// The deterministic checks: parent, height, timestamp order, limits, records,
    /// duplicates, recomputed size and root.
    fn check(&self, block: &Block, lookup: &impl LeafLookup) -> Result<Pending, Error> {
        block.check_limits()?;
        let parent = self
            .tip(&block.parent)
            .ok_or_else(|| Error::UnknownParent(block.parent.to_string()))?;
        if block.height != parent.height + 1 {
            return Err(Error::BlockParent(format!(
                "height {} after parent height {}",
                block.height, parent.height
            )));
        }
        if block.timestamp_ms < parent.timestamp_ms {
            return Err(Error::BlockParent("timestamp before the parent's".into()));
        }
        let mut tree = parent.tree.clone();
        let mut leaf_hashes = BTreeSet::new();
        for (index, record) in block.records.iter().enumerate() {
            let leaf = check_record(self.suite, record)
                .map_err(|reason| Error::BlockRecord { index, reason })?;
            if !leaf_hashes.insert(leaf) || self.logged_as_of(block.parent, &leaf, lookup) {
                return Err(Error::BlockDuplicate {
                    index,
                    leaf_hash: leaf,
                });
            }
            tree.append(leaf)?;
        }
        if tree.size().0 != block.tree_size || tree.root() != block.root {
            return Err(Error::BlockRoot {
                claimed_size: block.tree_size,
                claimed_root: block.root,
                size: tree.size().0,
                root: tree.root(),
            });
        }
        Ok(Pending {
            tip: Tip {
                digest: block.digest(),
                height: block.height,
                timestamp_ms: block.timestamp_ms,
                tree,
            },
            parent: block.parent,
            leaf_hashes,
        })
    }

    /// Applies a finalized block, which must extend the last finalized one. Finalized
    /// blocks are not re-checked against the clock: the quorum already accepted them.
    /// The caller persists the records (in order) before acknowledging anything.
    pub fn finalize(&mut self, block: &Block, lookup: &impl LeafLookup) -> Result<Applied, Error> {
        if block.parent != self.finalized.digest {
            return Err(Error::BlockParent(format!(
                "finalized block {} does not extend the last finalized block {}",
                block.digest(),
                self.finalized.digest
            )));
        }
        let digest = block.digest();
        let pending = match self.pending.remove(&digest) {
            Some(p) => p,
            None => self.check(block, lookup)?,
        };
        let first_index = self.finalized.tree.size().0;
        let leaf_hashes: Vec<Hash> = block
            .records
            .iter()
            .map(|r| self.suite.leaf_hash(r))
            .collect();
        self.finalized = pending.tip;
        let height = self.finalized.height;
        self.pending.retain(|_, p| p.tip.height > height);
        Ok(Applied {
            first_index,
            tree_size: self.finalized.tree.size().0,
            root: self.finalized.tree.root(),
            leaf_hashes,
        })
    }
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use affix_evidence::{DigestAlgorithm, UnixMillis};

    struct Logged(BTreeSet<Hash>);
    impl LeafLookup for Logged {
        fn contains(&self, h: &Hash) -> bool {
            self.0.contains(h)
        }
    }

    fn record(i: u64) -> Vec<u8> {
        EvidenceRecord::builder("test.event", &format!("s{i}"), UnixMillis(i), "tester")
            .digest_of("document", DigestAlgorithm::Sha256, &i.to_be_bytes())
            .build()
            .unwrap()
            .encode()
    }

    fn genesis() -> Block {
        Block::genesis(BlockDigest([7; 32]), HashSuite::Sha256.empty_root())
    }

    fn chain() -> Chain {
        Chain::new(&genesis(), TreeBuilder::new(HashSuite::Sha256)).unwrap()
    }

    #[test]
    fn propose_verify_finalize() {
        let mut proposer = chain();
        let mut verifier = chain();
        let mut logged = Logged(BTreeSet::new());
        let (b1, rejected) = proposer
            .propose(genesis().digest(), 1000, (0..10).map(record), &logged)
            .unwrap();
        assert!(rejected.is_empty());
        assert_eq!(b1.tree_size, 10);
        verifier.verify(&b1, 1000, &logged).unwrap();
        // A child of an unfinalized block, with duplicates of records in it: the proposer
        // must know (have verified) the parent first.
        assert!(matches!(
            proposer.propose(b1.digest(), 2000, (5..15).map(record), &logged),
            Err(Error::UnknownParent(_))
        ));
        proposer.verify(&b1, 1000, &logged).unwrap();
        let (b2, rejected) = proposer
            .propose(b1.digest(), 2000, (5..15).map(record), &logged)
            .unwrap();
        assert_eq!(rejected.len(), 5);
        assert_eq!(b2.records.len(), 5);
        verifier.verify(&b2, 2000, &logged).unwrap();
        let applied = verifier.finalize(&b1, &logged).unwrap();
        assert_eq!((applied.first_index, applied.tree_size), (0, 10));
        logged.0.extend(applied.leaf_hashes);
        let applied = verifier.finalize(&b2, &logged).unwrap();
        assert_eq!((applied.first_index, applied.tree_size), (10, 15));
        assert_eq!(applied.root, b2.root);
    }

    #[test]
    fn bad_blocks_are_refused_for_the_right_reason() {
        let logged = Logged(BTreeSet::new());
        let c = chain();
        let (good, _) = c
            .propose(genesis().digest(), 1000, (0..4).map(record), &logged)
            .unwrap();
        let mut v = chain();
        let check = |b: &Block| chain().verify(b, 1000, &logged);

        let mut wrong_root = good.clone();
        wrong_root.root = Hash([0; 32]);
        assert!(matches!(check(&wrong_root), Err(Error::BlockRoot { .. })));
        let mut wrong_size = good.clone();
        wrong_size.tree_size += 1;
        assert!(matches!(check(&wrong_size), Err(Error::BlockRoot { .. })));
        let mut garbage = good.clone();
        garbage.records[1] = b"not a record".to_vec();
        assert!(matches!(
            check(&garbage),
            Err(Error::BlockRecord { index: 1, .. })
        ));
        let mut dup = good.clone();
        dup.records[2] = dup.records[0].clone();
        assert!(matches!(
            check(&dup),
            Err(Error::BlockDuplicate { index: 2, .. })
        ));
        let mut orphan = good.clone();
        orphan.parent = BlockDigest([9; 32]);
        assert!(matches!(check(&orphan), Err(Error::UnknownParent(_))));
        let mut high = good.clone();
        high.height = 5;
        assert!(matches!(check(&high), Err(Error::BlockParent(_))));
        let mut future = good.clone();
        future.timestamp_ms = 1000 + CLOCK_AHEAD_MS_MAX + 1;
        assert!(check(&future).is_err());
        // Already-logged records are duplicates too.
        let mut logged_all = Logged(BTreeSet::new());
        logged_all.0.insert(HashSuite::Sha256.leaf_hash(&record(3)));
        assert!(matches!(
            chain().verify(&good, 1000, &logged_all),
            Err(Error::BlockDuplicate { index: 3, .. })
        ));
        v.verify(&good, 1000, &logged).unwrap();
        // Finalizing a block that does not extend the finalized tip fails.
        let (other, _) = c
            .propose(genesis().digest(), 1000, (10..12).map(record), &logged)
            .unwrap();
        v.finalize(&good, &logged).unwrap();
        assert!(v.finalize(&other, &logged).is_err());
    }
}
