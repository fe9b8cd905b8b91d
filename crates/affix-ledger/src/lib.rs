//! The consortium evidence ledger's pure core.
//!
//! A consortium of independent authorities (operator, notary office, arbitration
//! commission, judicial appraisal centre) extends one evidence log together. A BFT
//! consensus engine orders [`Block`]s; this crate defines everything about those blocks
//! that must outlive any particular engine:
//!
//! - [`Block`]: our own versioned block format (parent digest, height, the batch of
//!   evidence records, the tree size and root after applying them). The engine only ever
//!   sees its digest and bytes.
//! - [`Chain`]: the deterministic state machine every node runs: [`Chain::propose`]
//!   builds a block from pending records, [`Chain::verify`] checks a proposed block
//!   (limits, record format, duplicates, recomputed root) against its parent, including
//!   unfinalized ancestors, and [`Chain::finalize`] applies a finalized block.
//! - [`Genesis`]: the consortium as configuration (origin, authorities with their
//!   consensus keys, note verifier keys and addresses).
//! - [`Cosigner`]: each authority signs the C2SP checkpoint of every finalized tree size
//!   with its own note key — but never one inconsistent with what it signed before — and
//!   collects the others' signatures into a quorum checkpoint; two different signed
//!   checkpoints for one size become [`Misbehaviour`] evidence.
//!
//! No I/O, no clock, no randomness: the node crate (`affix-node`) drives this core.
#![forbid(unsafe_code)]

mod block;
mod chain;
mod cosign;
mod error;
mod genesis;

pub use block::{
    BLOCK_BYTES_MAX, BLOCK_MAGIC, BLOCK_RECORDS_MAX, BLOCK_VERSION, Block, BlockDigest,
};
pub use chain::{Applied, Chain, FinalizedTip, LeafLookup};
pub use cosign::{CosignOutcome, Cosigner, Misbehaviour};
pub use error::Error;
pub use genesis::{Authority, Genesis, Role};
