//! The crate's one error type.

use crate::ExternalCheck;

/// Errors from parsing identity data, one-time codes, challenge bytes and provider
/// outcomes.
///
/// Variants fall in five groups, named in each variant's first words:
///
/// - **malformed input**: text or bytes that cannot be what they claim (a resident ID
///   number with a bad checksum, a mobile number with letters, truncated challenge bytes);
/// - **verification failure**: well-formed input that does not match (a wrong one-time
///   code, a provider that says "no match");
/// - **policy refusal**: a check refused by rule rather than by content (an expired or
///   already used challenge, attempts exhausted);
/// - **misuse**: a request the API does not allow (an out-of-range [`crate::OtpPolicy`],
///   an outcome of the wrong kind);
/// - **provider fault**: an external provider that could not answer.
///
/// No variant carries personal data: positions, lengths and single check characters only,
/// never a number, an address or a code.
#[derive(Debug, thiserror::Error, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Malformed input: larger than the limit for its kind.
    #[error("{what} is {length_bytes} bytes, above the limit of {limit}")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its size in bytes.
        length_bytes: usize,
        /// The limit in bytes.
        limit: usize,
    },

    /// Malformed input: a resident ID number that is not 18 characters long (the
    /// 15-digit numbers of the first generation, retired in 2013, are not accepted).
    #[error("resident ID number has {length} characters; GB 11643 numbers have 18")]
    ResidentIdWrongLength {
        /// Characters found.
        length: usize,
    },
    /// Malformed input: a character other than a digit (positions 0 to 16) or a digit /
    /// `X` (position 17).
    #[error("resident ID number has an invalid character at position {position}")]
    ResidentIdInvalidCharacter {
        /// Zero-based character position.
        position: usize,
    },
    /// Malformed input: the ISO 7064 MOD 11-2 check character does not match the first 17
    /// digits (a typo).
    #[error("resident ID number check character is {found}, the digits give {expected}")]
    ResidentIdChecksumMismatch {
        /// The check character the first 17 digits give (`0`-`9` or `X`).
        expected: char,
        /// The check character found (`0`-`9` or `X`).
        found: char,
    },
    /// Malformed input: the first two digits are not a province-level code.
    #[error("resident ID number has unknown province-level code {province_code:02}")]
    ResidentIdUnknownRegion {
        /// The first two digits.
        province_code: u8,
    },
    /// Malformed input: digits 7 to 14 are not a calendar date.
    #[error("resident ID number birth date is not a calendar date")]
    ResidentIdInvalidBirthDate,
    /// Malformed input: a birth date before 1900-01-01.
    #[error("resident ID number birth date is before 1900")]
    ResidentIdBirthDateBefore1900,
    /// Malformed input: a birth date after the reference date (`today`).
    #[error("resident ID number birth date is in the future")]
    ResidentIdBirthDateInFuture,

    /// Malformed input: a character that is neither a digit, a separator (space or `-`)
    /// nor a leading `+`.
    #[error("mobile number has an invalid character at position {position}")]
    MobileInvalidCharacter {
        /// Zero-based character position.
        position: usize,
    },
    /// Malformed input: a separator at the start or end, or two in a row.
    #[error("mobile number has a misplaced separator at position {position}")]
    MobileMisplacedSeparator {
        /// Zero-based character position.
        position: usize,
    },
    /// Malformed input: an international prefix other than +86 / 0086.
    #[error("mobile number is not a mainland China number (+86)")]
    MobileNotMainland,
    /// Malformed input: not 11 digits after the country code.
    #[error("mobile number has {digits} digits after the country code; 11 expected")]
    MobileWrongLength {
        /// Digits found after the country code.
        digits: usize,
    },
    /// Malformed input: 11 digits that do not start with `1` followed by `3` to `9`.
    #[error("mobile number does not start with 13 to 19")]
    MobileInvalidPrefix,

    /// Malformed input: no `@`, or more than one.
    #[error("e-mail address must contain exactly one '@'")]
    EmailAtSign,
    /// Malformed input: the part before `@` breaks the dot-atom grammar.
    #[error("e-mail address local part is invalid: {reason}")]
    EmailInvalidLocalPart {
        /// What is wrong.
        reason: &'static str,
    },
    /// Malformed input: the part after `@` is not a DNS host name.
    #[error("e-mail address domain is invalid: {reason}")]
    EmailInvalidDomain {
        /// What is wrong.
        reason: &'static str,
    },

    /// Misuse: an [`crate::OtpPolicy`] field outside its allowed range.
    #[error("one-time code policy: {field} is out of range")]
    OtpPolicyOutOfRange {
        /// The field.
        field: &'static str,
    },
    /// Misuse: `now_ms` plus the lifetime does not fit in a `u64`.
    #[error("one-time code expiry overflows")]
    OtpTimeOverflow,
    /// Malformed input: the code given is not the policy's number of ASCII digits. Not
    /// counted as an attempt (it cannot match).
    #[error("one-time code must be {digits} digits")]
    OtpMalformedCode {
        /// Digits the challenge expects.
        digits: u8,
    },
    /// Verification failure: the code does not match. Counted as an attempt.
    #[error("one-time code does not match; {attempts_left} attempts left")]
    OtpMismatch {
        /// Attempts left before the challenge locks.
        attempts_left: u8,
    },
    /// Policy refusal: the challenge's lifetime is over.
    #[error("one-time code has expired")]
    OtpExpired,
    /// Policy refusal: every allowed attempt was used; the challenge is locked.
    #[error("one-time code attempts exhausted")]
    OtpAttemptsExhausted,
    /// Policy refusal: the challenge was already answered correctly once.
    #[error("one-time code was already used")]
    OtpAlreadyUsed,

    /// Malformed input: challenge bytes of the wrong length for their version.
    #[error("challenge encoding is {length_bytes} bytes; version 1 has {expected}")]
    ChallengeLength {
        /// Bytes given.
        length_bytes: usize,
        /// Bytes expected.
        expected: usize,
    },
    /// Malformed input: challenge bytes that do not start with the magic `AFOC`.
    #[error("not a challenge encoding (magic)")]
    ChallengeMagic,
    /// Malformed input: a challenge encoding version this code does not know.
    #[error("challenge encoding version {version} is not supported")]
    ChallengeUnsupportedVersion {
        /// Version byte found.
        version: u8,
    },
    /// Malformed input: a challenge field outside its allowed values.
    #[error("challenge encoding: invalid {field}")]
    ChallengeInvalidField {
        /// The field.
        field: &'static str,
    },

    /// Malformed input: a provider name that is not 1 to 32 of `a-z 0-9 - .`.
    #[error("provider name must be 1 to 32 of a-z, 0-9, '-', '.'")]
    ProviderNameInvalid,
    /// Malformed input: a provider reference that is not 1 to 128 printable ASCII
    /// characters.
    #[error("provider reference must be 1 to 128 printable ASCII characters")]
    ProviderReferenceInvalid,
    /// Malformed input: a person's name that is empty, too long or has control characters.
    #[error("person name is invalid: {reason}")]
    PersonNameInvalid {
        /// What is wrong.
        reason: &'static str,
    },
    /// Malformed input: a bank card number that is not 12 to 19 digits.
    #[error("bank card number is invalid: {reason}")]
    BankCardNumberInvalid {
        /// What is wrong.
        reason: &'static str,
    },
    /// Misuse: an outcome of one kind of check presented as another.
    #[error("outcome is of a {found:?} check, {expected:?} expected")]
    ExternalCheckMismatch {
        /// The check the caller asked for.
        expected: ExternalCheck,
        /// The check the outcome reports.
        found: ExternalCheck,
    },
    /// Verification failure: the provider says the person does not match.
    #[error("provider reports no match")]
    ExternalNoMatch,
    /// Verification failure: the provider could not decide (poor image, liveness failed,
    /// record not found).
    #[error("provider result is inconclusive")]
    ExternalInconclusive,
    /// Provider fault: the provider could not be reached or returned an error. For
    /// implementations of the provider traits.
    #[error("identity provider unavailable")]
    ProviderUnavailable,
    /// Provider fault: the provider's response could not be understood. For
    /// implementations of the provider traits.
    #[error("identity provider response malformed")]
    ProviderMalformedResponse,
}
