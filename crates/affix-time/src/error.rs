//! The crate's one error type.

/// Errors of the time crate: malformed or impossible dates.
#[derive(Debug, thiserror::Error, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Misuse or malformed input: a calendar date that does not exist, or a year outside
    /// 1..=9999.
    #[error("{year:04}-{month:02}-{day:02} is not a calendar date")]
    InvalidDate {
        /// Year given.
        year: u16,
        /// Month given.
        month: u8,
        /// Day given.
        day: u8,
    },
    /// Malformed input: text that is not `YYYY-MM-DD` (exactly ten characters, ASCII
    /// digits and two hyphens).
    #[error("not a YYYY-MM-DD date")]
    MalformedDate,
}
