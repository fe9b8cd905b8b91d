//! The error type of the CMS signature module.

use std::time::SystemTime;

use const_oid::ObjectIdentifier;

/// Everything that can go wrong when signing, time-stamping or verifying a detached CMS
/// signature.
///
/// Variants are grouped by who is at fault: malformed input, unsupported algorithms or
/// features, verification failures (the input is well formed but does not prove what it
/// claims), time-stamp problems, API misuse by the caller, and internal faults.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ---- Malformed input -------------------------------------------------------------
    /// An input is larger than the limit for its kind; nothing was parsed.
    #[error("{what} is {len} bytes, the limit is {max}")]
    InputTooLarge {
        /// What the input was.
        what: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },

    /// An input is not valid DER for the structure it should hold.
    #[error("malformed {what}: {source}")]
    Malformed {
        /// The structure being decoded.
        what: &'static str,
        /// The decoder's complaint.
        source: der::Error,
    },

    /// The input decodes, but re-encoding it does not reproduce it byte for byte
    /// (BER lengths, unsorted `SET OF`, encoded `DEFAULT` values, ...). Only canonical
    /// DER is accepted, so that the bytes kept as evidence are exactly the bytes verified.
    #[error("{what} is not canonical DER")]
    NonCanonicalEncoding {
        /// The structure that was not canonical.
        what: &'static str,
    },

    /// The `ContentInfo` does not hold `SignedData`.
    #[error("content type {content_type} is not id-signedData")]
    NotSignedData {
        /// The content type found.
        content_type: ObjectIdentifier,
    },

    /// The `SignedData` does not hold exactly one `SignerInfo`.
    #[error("expected exactly one SignerInfo, found {count}")]
    SignerInfoCount {
        /// How many were found.
        count: usize,
    },

    /// The `SignedData` encapsulates its content; a detached signature must not.
    #[error("eContent is present; a detached signature must not encapsulate content")]
    ContentNotDetached,

    /// A version number does not follow RFC 5652 §5.1/§5.3 for the structure's contents
    /// (SignerInfo v1 for issuerAndSerialNumber, v3 for subjectKeyIdentifier; SignedData
    /// v1, or v3 when a SignerInfo is v3).
    #[error("{what} version {version} is not the one RFC 5652 requires here")]
    VersionInvalid {
        /// The structure.
        what: &'static str,
        /// The version found.
        version: u8,
    },

    /// The SignerInfo's digest algorithm is not listed in `SignedData.digestAlgorithms`.
    #[error("the signer's digest algorithm {oid} is not listed in digestAlgorithms")]
    DigestAlgorithmNotListed {
        /// The SignerInfo's digest algorithm.
        oid: ObjectIdentifier,
    },

    /// The `SignedData` does not encapsulate its content, but was expected to (a
    /// time-stamp token carries its `TSTInfo`).
    #[error("eContent is absent; this SignedData must encapsulate its content")]
    ContentMissing,

    /// The encapsulated content type is not `id-data`.
    #[error("encapsulated content type {content_type} is not id-data")]
    UnsupportedContentType {
        /// The content type found.
        content_type: ObjectIdentifier,
    },

    /// A collection is larger than its limit.
    #[error("{count} {what}, the limit is {max}")]
    TooMany {
        /// What was counted.
        what: &'static str,
        /// How many there were.
        count: usize,
        /// The limit.
        max: usize,
    },

    /// The `SignerInfo` has no signed attributes (the signature would cover the content
    /// directly, without content type, digest or signer-certificate binding).
    #[error("the SignerInfo has no signed attributes")]
    SignedAttributesMissing,

    /// A required signed attribute is absent.
    #[error("signed attribute {attribute} is missing")]
    AttributeMissing {
        /// The attribute's name.
        attribute: &'static str,
    },

    /// An attribute is present but unusable: repeated, multi-valued or undecodable.
    #[error("attribute {attribute} is invalid: {reason}")]
    AttributeInvalid {
        /// The attribute's name.
        attribute: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A certificate extension could not be decoded or appears twice.
    #[error("certificate {subject}: extension {oid} is invalid")]
    ExtensionInvalid {
        /// The certificate's subject (RFC 4514).
        subject: String,
        /// The extension.
        oid: ObjectIdentifier,
    },

    /// A public key in a certificate is not a valid key for its algorithm.
    #[error("certificate {subject}: public key is invalid")]
    PublicKeyInvalid {
        /// The certificate's subject (RFC 4514).
        subject: String,
    },

    // ---- Unsupported -----------------------------------------------------------------
    /// The digest algorithm is not SHA-256, SHA-384, SHA-512 or SM3 (or has parameters).
    #[error("unsupported digest algorithm {oid}")]
    UnsupportedDigestAlgorithm {
        /// The algorithm found.
        oid: ObjectIdentifier,
    },

    /// The signature algorithm is not ECDSA (P-256), Ed25519 or SM2-with-SM3.
    #[error("unsupported signature algorithm {oid}")]
    UnsupportedSignatureAlgorithm {
        /// The algorithm found.
        oid: ObjectIdentifier,
    },

    /// The public key algorithm or curve is not supported.
    #[error("unsupported public key algorithm or curve {oid}")]
    UnsupportedPublicKey {
        /// The algorithm or curve found.
        oid: ObjectIdentifier,
    },

    /// The signature algorithm does not fit the key (e.g. Ed25519 with a P-256 key).
    #[error("signature algorithm {signature_algorithm} cannot be used with a {key} key")]
    AlgorithmKeyMismatch {
        /// The signature algorithm found.
        signature_algorithm: ObjectIdentifier,
        /// The kind of key.
        key: &'static str,
    },

    /// A certificate carries a critical extension this verifier does not process.
    #[error("certificate {subject}: unsupported critical extension {oid}")]
    UnsupportedCriticalExtension {
        /// The certificate's subject (RFC 4514).
        subject: String,
        /// The extension.
        oid: ObjectIdentifier,
    },

    // ---- Verification failures -------------------------------------------------------
    /// The message-digest attribute does not match the digest of the detached content.
    #[error("the message digest does not match the content")]
    MessageDigestMismatch,

    /// The content-type attribute does not match the encapsulated content type.
    #[error("content-type attribute {attribute} does not match eContentType {content_type}")]
    ContentTypeMismatch {
        /// The value of the content-type attribute.
        attribute: ObjectIdentifier,
        /// The encapsulated content type.
        content_type: ObjectIdentifier,
    },

    /// The signature over the signed attributes does not verify with the signer's key.
    #[error("the signature over the signed attributes is invalid")]
    SignatureInvalid,

    /// No certificate in the `SignedData` or the trust list matches the signer identifier.
    #[error("no certificate matches the signer identifier")]
    SignerCertificateNotFound,

    /// Several different certificates match the signer identifier.
    #[error("several certificates match the signer identifier")]
    SignerCertificateAmbiguous,

    /// The ESS signing-certificate-v2 attribute does not identify the signer certificate.
    #[error("signing-certificate-v2 does not identify the signer certificate")]
    SigningCertificateMismatch,

    /// A certificate's signature does not verify with its issuer's key.
    #[error("certificate {subject}: the issuer's signature is invalid")]
    CertificateSignatureInvalid {
        /// The certificate's subject (RFC 4514).
        subject: String,
    },

    /// No issuer was found among the included certificates and the trust anchors.
    #[error("certificate {subject}: no path to a trust anchor")]
    UntrustedChain {
        /// The subject of the last certificate of the partial path (RFC 4514).
        subject: String,
    },

    /// The certificate path is longer than the limit.
    #[error("certificate path longer than {max}")]
    ChainTooLong {
        /// The limit.
        max: usize,
    },

    /// A certificate had expired at the validation time.
    #[error("certificate {subject} expired at {not_after:?}")]
    CertificateExpired {
        /// The certificate's subject (RFC 4514).
        subject: String,
        /// Its notAfter.
        not_after: SystemTime,
    },

    /// A certificate was not yet valid at the validation time.
    #[error("certificate {subject} is not valid before {not_before:?}")]
    CertificateNotYetValid {
        /// The certificate's subject (RFC 4514).
        subject: String,
        /// Its notBefore.
        not_before: SystemTime,
    },

    /// A certificate that issued another is not a CA certificate.
    #[error("certificate {subject} is not a CA certificate")]
    NotCaCertificate {
        /// The certificate's subject (RFC 4514).
        subject: String,
    },

    /// A certificate's key usage does not allow what it was used for.
    #[error("certificate {subject}: key usage does not permit {usage}")]
    KeyUsageNotPermitted {
        /// The certificate's subject (RFC 4514).
        subject: String,
        /// The usage needed.
        usage: &'static str,
    },

    /// A CA's path length constraint is exceeded.
    #[error("certificate {subject}: path length constraint exceeded")]
    PathLengthExceeded {
        /// The CA's subject (RFC 4514).
        subject: String,
    },

    // ---- Time-stamp ------------------------------------------------------------------
    /// No signature time-stamp token is embedded, but one was required.
    #[error("no signature time-stamp token is embedded")]
    TimestampMissing,

    /// A signature time-stamp token is already embedded.
    #[error("a signature time-stamp token is already embedded")]
    TimestampAlreadyPresent,

    /// The time-stamp token is not a CMS `SignedData` encapsulating an `id-ct-TSTInfo`,
    /// or there is more than one.
    #[error("time-stamp token is malformed: {reason}")]
    TimestampMalformed {
        /// What is wrong with it.
        reason: &'static str,
    },

    /// The caller's time-stamp verifier rejected the token.
    #[error("the time-stamp token was rejected: {source}")]
    TimestampRejected {
        /// The verifier's error.
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },

    // ---- API misuse ------------------------------------------------------------------
    /// The signer's public key is not the one in the signer certificate.
    #[error("the signer's public key does not match the signer certificate")]
    SignerKeyMismatch,

    /// A content digest given to [`crate::PreparedSignature::from_content_digest`] does
    /// not have the length of the signature's digest algorithm.
    #[error("content digest is {len} bytes, the digest algorithm gives {expected}")]
    ContentDigestLength {
        /// Its length in bytes.
        len: usize,
        /// The digest algorithm's output length in bytes.
        expected: usize,
    },

    /// A time cannot be represented (before 1970 or after 9999).
    #[error("time is outside the range representable in CMS")]
    TimeOutOfRange,

    // ---- Internal / signer faults ----------------------------------------------------
    /// The signer failed to produce a signature.
    #[error("signing failed: {0}")]
    SigningFailed(signature::Error),

    /// Encoding a structure failed.
    #[error("encoding failed: {0}")]
    Encoding(der::Error),

    /// Encoding or decoding a public key failed.
    #[error("public key encoding failed: {0}")]
    PublicKeyEncoding(spki::Error),
}

impl Error {
    /// Builds a [`Error::Malformed`] for `what`.
    pub(super) fn malformed(what: &'static str) -> impl FnOnce(der::Error) -> Self {
        move |source| Error::Malformed { what, source }
    }
}
