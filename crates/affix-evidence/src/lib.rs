//! The Affix evidence record, format v1.
//!
//! One evidence record is the canonical byte string of one event in the life of a
//! contract, a key or a document — "contract 42 was signed by party 2", "document with
//! this digest was notarized" — and is exactly one leaf of the evidence log. Its leaf
//! hash is what receipts prove.
//!
//! Properties the format guarantees (and the decoder enforces):
//!
//! - **Canonical**: one event has exactly one encoding. Lists are sorted, strings are
//!   restricted to fixed alphabets, there are no optional encodings and no trailing bytes;
//!   [`EvidenceRecord::decode`] rejects anything [`EvidenceRecord::encode`] would not emit.
//! - **Versioned**: a magic and a version byte open every record.
//! - **Bounded**: every field has a limit and the whole record is at most
//!   [`MAX_RECORD_BYTES`], small enough for a C2SP entry bundle (`u16` lengths).
//! - **No personal data in clear**: names, phone numbers and ID numbers enter a record
//!   only as salted [`Commitment`]s, which whoever holds the salt and the value can open
//!   later, and nobody else can invert. Metadata is for non-personal facts only.
//!
//! The byte layout is documented in `docs/formats.md` and frozen by the vectors in
//! `tests/vectors/`. The crate is pure: no I/O, no clock (event times are parameters), no
//! randomness (salts are parameters).
#![forbid(unsafe_code)]

mod commitment;
mod error;
mod record;

pub use commitment::{COMMITMENT_DOMAIN, Commitment, Salt};
pub use error::Error;
pub use record::{
    ContentDigest, DigestAlgorithm, EvidenceRecord, EvidenceRecordBuilder, FORMAT_VERSION,
    MAX_COMMITMENTS, MAX_DIGESTS, MAX_METADATA, MAX_METADATA_VALUE_BYTES, MAX_RECORD_BYTES,
    RECORD_MAGIC, UnixMillis,
};
