use affix_merkle::Hash;

/// Errors from the ledger core.
///
/// `Block*` variants are reasons a proposed block is refused (every honest node refuses
/// it for the same reason); `Genesis` is a bad consortium file; `Record*` are submitted
/// records refused before they reach a block; the rest are misuse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The block bytes are not a canonical v1 block.
    #[error("malformed block: {0}")]
    MalformedBlock(&'static str),
    /// The block exceeds a limit.
    #[error("block too large: {0}")]
    BlockTooLarge(String),
    /// The block does not extend the parent it names.
    #[error("block does not extend its parent: {0}")]
    BlockParent(String),
    /// A record in the block is not a valid evidence record.
    #[error("block record {index} is invalid: {reason}")]
    BlockRecord {
        /// Position in the block.
        index: usize,
        /// Why.
        reason: String,
    },
    /// A record in the block is already in the log (or earlier in the block).
    #[error("block record {index} duplicates a logged record (leaf hash {leaf_hash})")]
    BlockDuplicate {
        /// Position in the block.
        index: usize,
        /// Its leaf hash.
        leaf_hash: Hash,
    },
    /// The block's claimed tree size or root differs from the recomputed one.
    #[error("block claims tree size {claimed_size} root {claimed_root}, recomputed {size} {root}")]
    BlockRoot {
        /// Claimed size.
        claimed_size: u64,
        /// Claimed root.
        claimed_root: Hash,
        /// Recomputed size.
        size: u64,
        /// Recomputed root.
        root: Hash,
    },
    /// The parent block is unknown (not finalized, not verified).
    #[error("unknown parent block {0}")]
    UnknownParent(String),
    /// A submitted record is not a valid evidence record or is too large.
    #[error("invalid record: {0}")]
    RecordInvalid(String),
    /// The genesis file is invalid.
    #[error("invalid genesis: {0}")]
    Genesis(String),
    /// A refusal to sign: the checkpoint would be inconsistent with one already signed.
    #[error("refusing to sign checkpoint for size {size}: {reason}")]
    InconsistentCheckpoint {
        /// Tree size of the checkpoint asked for.
        size: u64,
        /// Why it is inconsistent.
        reason: String,
    },
    /// A cosignature that does not verify or comes from no authority.
    #[error("cosignature rejected: {0}")]
    BadCosignature(String),
    /// An error from the note layer.
    #[error(transparent)]
    Note(#[from] affix_note::Error),
    /// An error from the Merkle core.
    #[error(transparent)]
    Merkle(#[from] affix_merkle::Error),
}
