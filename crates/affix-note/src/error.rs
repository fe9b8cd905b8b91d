use crate::KeyName;

/// Errors from parsing, signing and verifying notes, checkpoints and receipts.
///
/// Variants fall in four groups: malformed input (`Malformed*`, `TooLarge`), verification
/// failures (the evidence does not check out), policy refusals (not enough trusted
/// signatures, wrong origin) and misuse (an impossible policy, a signer failure).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Malformed input: a note that breaks the signed-note grammar.
    #[error("malformed note: {0}")]
    MalformedNote(&'static str),
    /// Malformed input: a checkpoint body that breaks the tlog-checkpoint grammar.
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(&'static str),
    /// Malformed input: a receipt that breaks the tlog-proof grammar.
    #[error("malformed receipt: {0}")]
    MalformedReceipt(&'static str),
    /// Malformed input: a key string (verifier or signer) that cannot be decoded.
    #[error("malformed key: {0}")]
    MalformedKey(&'static str),
    /// Malformed input: a key of a signature type this crate does not implement.
    #[error("unsupported signature type in key")]
    UnsupportedKeyType,
    /// Malformed input: larger than the limit for its kind.
    #[error("{what} is {actual} bytes, above the limit of {limit}")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its size.
        actual: usize,
        /// The limit.
        limit: usize,
    },
    /// Verification failure: a signature by a trusted key does not verify. The whole
    /// note is rejected, as the signed-note spec recommends.
    #[error("signature by trusted key {name} ({id:08x}) is invalid")]
    InvalidSignature {
        /// Key name.
        name: KeyName,
        /// Key ID.
        id: u32,
    },
    /// Policy refusal: fewer valid signatures by distinct trusted keys than required.
    #[error("{valid} valid signatures from trusted keys, {required} required")]
    QuorumNotMet {
        /// Signatures required.
        required: usize,
        /// Valid signatures by distinct trusted keys found.
        valid: usize,
    },
    /// Policy refusal: the checkpoint is for another log.
    #[error("checkpoint origin {found:?} is not the trusted origin {expected:?}")]
    WrongOrigin {
        /// Origin the policy trusts.
        expected: String,
        /// Origin in the checkpoint.
        found: String,
    },
    /// Verification failure: the receipt's inclusion proof does not bind the entry to the
    /// signed root.
    #[error("inclusion proof does not verify: {0}")]
    Inclusion(#[from] affix_merkle::Error),
    /// Misuse: the receipt carries no `extra` line and no entry was supplied.
    #[error("receipt has no extra line; supply the entry bytes")]
    MissingEntry,
    /// Verification failure: the entry supplied differs from the receipt's `extra` bytes.
    #[error("entry differs from the receipt's extra line")]
    EntryMismatch,
    /// Malformed input: a line of a verifier keys file that does not parse (a key line
    /// that is not a verifier key, or a header naming an invalid origin).
    #[error("verifier keys file, line {line}: {source}")]
    KeysFileLine {
        /// The 1-based line number.
        line: usize,
        /// Why the line does not parse.
        source: Box<Error>,
    },
    /// Malformed input: a verifier keys file without a single key.
    #[error("the verifier keys file lists no keys")]
    KeysFileEmpty,
    /// Misuse: a trust policy asked of a verifier keys file whose header does not name
    /// the origin (`# Affix consortium <origin>: receipts need <k> of these <n> keys`).
    #[error(
        "the verifier keys file has no '# Affix consortium <origin>: receipts need <k> of ...' header naming the origin"
    )]
    KeysFileWithoutOrigin,
    /// Misuse: a policy that can never be met or that counts one key twice.
    #[error("invalid policy: {0}")]
    InvalidPolicy(&'static str),
    /// Misuse: the text to sign is not a valid note text, or a signer failed.
    #[error("cannot sign: {0}")]
    Signing(&'static str),
}
