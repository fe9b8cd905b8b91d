//! The one error type of the time-stamping module.

use const_oid::ObjectIdentifier;

use super::{DigestAlgorithm, FailureInfo, PkiStatus};

/// Everything that can go wrong while parsing, issuing or verifying.
///
/// Variants fall in five groups, kept apart so that callers can react:
/// malformed input from a peer, policy refusals, verification failures,
/// misuse or misconfiguration by the caller, and internal faults.
/// [`Error::failure_info`] maps each to the `PKIFailureInfo` a TSA answers
/// with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ---- Malformed input ----
    /// The input is larger than the limit for its kind.
    #[error("{what} is {actual_bytes} bytes, the limit is {limit_bytes}")]
    TooLarge {
        /// What was too large, e.g. `"TimeStampReq"`.
        what: &'static str,
        /// Size received.
        actual_bytes: usize,
        /// Largest size accepted.
        limit_bytes: usize,
    },

    /// The input is not valid DER for the expected ASN.1 type.
    #[error("malformed {what}: {source}")]
    Malformed {
        /// The ASN.1 type expected, e.g. `"TSTInfo"`.
        what: &'static str,
        /// The decoder's complaint.
        #[source]
        source: der::Error,
    },

    /// The structure has a version this module does not know.
    #[error("{what} version {version} is not supported (only 1 is)")]
    UnsupportedVersion {
        /// The structure, e.g. `"TimeStampReq"`.
        what: &'static str,
        /// The version received.
        version: u8,
    },

    /// The message-imprint or digest algorithm is not SHA-256, SHA-384,
    /// SHA-512 or SM3.
    #[error("hash algorithm {oid} is not supported")]
    UnsupportedHashAlgorithm {
        /// The algorithm received.
        oid: ObjectIdentifier,
    },

    /// A hash algorithm identifier carries parameters other than `NULL`.
    #[error("hash algorithm {oid} has parameters; only absent or NULL are allowed")]
    HashParametersNotAllowed {
        /// The algorithm received.
        oid: ObjectIdentifier,
    },

    /// The hashed message does not have the length of its hash algorithm.
    #[error("message imprint is {actual_bytes} bytes, {algorithm:?} gives {expected_bytes}")]
    ImprintLengthMismatch {
        /// The algorithm named in the imprint.
        algorithm: DigestAlgorithm,
        /// Length received.
        actual_bytes: usize,
        /// Output length of `algorithm`.
        expected_bytes: usize,
    },

    /// A nonce is longer than [`NONCE_BYTES_MAX`](super::NONCE_BYTES_MAX).
    #[error("nonce is {actual_bytes} bytes, the limit is {limit_bytes}")]
    NonceTooLarge {
        /// Length received.
        actual_bytes: usize,
        /// Longest nonce accepted.
        limit_bytes: usize,
    },

    /// A serial number is longer than
    /// [`SERIAL_BYTES_MAX`](super::SERIAL_BYTES_MAX) or not positive.
    #[error("serial number must be positive and at most {limit_bytes} bytes")]
    SerialNumberInvalid {
        /// Longest serial number accepted.
        limit_bytes: usize,
    },

    /// The request carries an extension; none is supported.
    #[error("request extension {oid} is not supported")]
    UnsupportedExtension {
        /// The first extension in the request.
        oid: ObjectIdentifier,
    },

    // ---- Policy refusal ----
    /// The request asks for a policy the TSA does not issue under.
    #[error("TSA policy {policy} is not accepted")]
    UnacceptedPolicy {
        /// The policy asked for.
        policy: ObjectIdentifier,
    },

    // ---- Verification failures ----
    /// The TSA refused the request; no token is present.
    #[error("the TSA answered {status:?} ({failure_info:?}): {text}")]
    Rejected {
        /// The response status.
        status: PkiStatus,
        /// The failure reasons given.
        failure_info: Vec<FailureInfo>,
        /// The status text given, joined by `"; "`.
        text: String,
    },

    /// A granted response carries no token.
    #[error("the response is granted but carries no token")]
    MissingToken,

    /// The signed content is not a `TSTInfo`.
    #[error("encapsulated content type is {content_type}, not id-ct-TSTInfo")]
    NotTstInfo {
        /// The content type received.
        content_type: ObjectIdentifier,
    },

    /// The token has no `signing-certificate-v2` attribute. (The SHA-1
    /// based v1 attribute, OpenSSL's default `ess_cert_id_alg`, is not
    /// accepted.)
    #[error("the token has no signing-certificate-v2 attribute")]
    SigningCertificateMissing,

    /// The signer identifier does not match the pinned TSA certificate.
    #[error("the token is not signed by the pinned TSA certificate")]
    SignerMismatch,

    /// The TSA signer's signature algorithm is not ECDSA P-256, Ed25519 or
    /// SM2-with-SM3, so no CMS digest algorithm goes with it.
    #[error("signature algorithm {oid} is not supported")]
    UnsupportedSignatureAlgorithm {
        /// The algorithm.
        oid: ObjectIdentifier,
    },

    /// The TSA's own certificate is not valid at the generation time of the
    /// token it was asked to issue: a TSA must not sign outside its
    /// certificate's validity. (When verifying, an expired signer certificate
    /// is [`affix_cms::Error::CertificateExpired`] inside [`Error::SignedData`].)
    #[error("{which} certificate is not valid at the time-stamp's generation time")]
    CertificateNotValidAtGenTime {
        /// Always `"TSA"`.
        which: &'static str,
    },

    /// A certificate does not have the profile its role needs.
    #[error("certificate unfit for its role: {reason}")]
    CertificateProfile {
        /// What is wrong, e.g. that extendedKeyUsage is not critical.
        reason: &'static str,
    },

    /// The token's CMS `SignedData` is malformed or does not verify: a refusal
    /// of `affix-cms`, which parses and verifies every `SignedData` in Affix
    /// (signer identification, signed attributes, signing-certificate-v2
    /// binding, signature, certificate path at `genTime`).
    #[error("the token's SignedData: {0}")]
    SignedData(#[source] affix_cms::Error),

    /// The token's message imprint is not the expected one.
    #[error("the token's message imprint does not match")]
    ImprintMismatch,

    /// The token's nonce is not the expected one.
    #[error("the token's nonce does not match the request's")]
    NonceMismatch,

    // ---- Misuse and misconfiguration ----
    /// The signer's public key is not the key in the TSA certificate.
    #[error("the signer's public key does not match the TSA certificate")]
    SignerKeyMismatch,

    /// The signer could not encode its public key or name its signature
    /// algorithm.
    #[error("the signer cannot describe its key or algorithm: {0}")]
    SignerUnusable(#[source] spki::Error),

    /// An accuracy field is out of range (`millis` and `micros` are 1 to 999).
    #[error("accuracy millis and micros must be within 1..=999")]
    InvalidAccuracy,

    /// A time is before 1970 or after 9999.
    #[error("time is outside 1970..=9999")]
    TimeOutOfRange,

    // ---- Internal faults ----
    /// The signer failed.
    #[error("signing failed: {0}")]
    Signing(#[source] signature::Error),

    /// Encoding a structure failed.
    #[error("DER encoding failed: {0}")]
    Encoding(#[source] der::Error),
}

impl Error {
    /// The `PKIFailureInfo` a TSA reports for this error.
    ///
    /// Follows OpenSSL's choices: unknown version → `badRequest`, unknown or
    /// parameterised hash → `badAlg`, wrong imprint length or undecodable
    /// request → `badDataFormat`. Anything that is not the requester's
    /// fault is a `systemFailure`.
    pub fn failure_info(&self) -> FailureInfo {
        match self {
            Error::TooLarge { .. }
            | Error::Malformed { .. }
            | Error::ImprintLengthMismatch { .. }
            | Error::NonceTooLarge { .. } => FailureInfo::BadDataFormat,
            Error::UnsupportedVersion { .. } => FailureInfo::BadRequest,
            Error::UnsupportedHashAlgorithm { .. } | Error::HashParametersNotAllowed { .. } => {
                FailureInfo::BadAlg
            }
            Error::UnsupportedExtension { .. } => FailureInfo::UnacceptedExtension,
            Error::UnacceptedPolicy { .. } => FailureInfo::UnacceptedPolicy,
            _ => FailureInfo::SystemFailure,
        }
    }

    /// Wraps a decoding error with the name of the type being decoded.
    pub(crate) fn malformed(what: &'static str) -> impl FnOnce(der::Error) -> Error {
        move |source| Error::Malformed { what, source }
    }
}
