/// Errors from building and decoding evidence records.
///
/// `Invalid*` variants are values a caller tried to put into a record (misuse or bad user
/// input); `Malformed` and `TooLarge` are bytes that are not a canonical v1 record.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A field value breaks its rule (alphabet, length, range).
    #[error("invalid {field}: {reason}")]
    InvalidField {
        /// Which field.
        field: &'static str,
        /// What rule it broke.
        reason: &'static str,
    },
    /// Two digests with the same label and algorithm, two commitments or two metadata
    /// entries with the same label or key.
    #[error("duplicate {field} {name:?}")]
    Duplicate {
        /// Which list.
        field: &'static str,
        /// The repeated label or key.
        name: String,
    },
    /// More list items than the format allows.
    #[error("too many {field}: {count}, at most {limit}")]
    TooMany {
        /// Which list.
        field: &'static str,
        /// Items given.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// A record without any content digest.
    #[error("a record needs at least one content digest")]
    NoDigest,
    /// Bytes that are not a canonical v1 record; `offset` is where decoding stopped.
    #[error("malformed record at byte {offset}: {reason}")]
    Malformed {
        /// Byte offset of the problem.
        offset: usize,
        /// What was wrong.
        reason: &'static str,
    },
    /// A record (or input claiming to be one) above [`crate::MAX_RECORD_BYTES`].
    #[error("record is {actual} bytes, above the limit of {limit}")]
    TooLarge {
        /// Its size.
        actual: usize,
        /// The limit.
        limit: usize,
    },
    /// A record of a format version this code does not know.
    #[error("unsupported record version {0}")]
    UnsupportedVersion(u8),
}
