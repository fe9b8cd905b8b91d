//! The crate's one error type.
//!
//! Variants are grouped by who is at fault, so a caller can map them to a
//! response without parsing messages:
//!
//! - **bad peer input**: the bytes a requester sent cannot be parsed or are
//!   over a limit (an HTTP shell would answer 400, an OCSP responder answers
//!   `malformedRequest`);
//! - **verification failure**: well-formed input whose signature is wrong;
//! - **policy refusal**: well-formed input this CA will not accept
//!   (unsupported algorithm, bad credit code, validity beyond the CA's);
//! - **API misuse**: the caller wired the CA wrongly (signer does not match the
//!   certificate, certificate is not a CA);
//! - **internal fault**: encoding or the signer failed.

use const_oid::ObjectIdentifier;

use crate::algorithm::KeyAlgorithm;

/// Result type of this crate.
pub type Result<T> = core::result::Result<T, Error>;

/// Everything that can go wrong in the CA core.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ----- bad peer input -------------------------------------------------
    /// An input is larger than the limit for its kind.
    #[error("{what} is {len_bytes} bytes, over the {max_bytes}-byte limit")]
    InputTooLarge {
        /// What the input was (`"PKCS#10 request"`, `"OCSP request"`).
        what: &'static str,
        /// Size of the input.
        len_bytes: usize,
        /// The limit it exceeded.
        max_bytes: usize,
    },

    /// A PKCS#10 certification request is not valid DER of the expected
    /// structure.
    #[error("malformed PKCS#10 certification request: {0}")]
    MalformedCsr(#[source] der::Error),

    /// An OCSP request is not valid DER of the RFC 6960 `OCSPRequest`
    /// structure.
    #[error("malformed OCSP request: {0}")]
    MalformedOcspRequest(#[source] der::Error),

    /// A CRL is not valid DER of the RFC 5280 `CertificateList` structure.
    #[error("malformed CRL: {0}")]
    MalformedCrl(#[source] der::Error),

    /// A CRL names another issuer, or its signature by the issuer does not verify.
    #[error("the CRL was not signed by the given issuer")]
    CrlSignatureInvalid,

    /// An OCSP request lists no certificate, or more than the responder
    /// answers in one response.
    #[error("OCSP request lists {count} certificates; 1..={max} are accepted")]
    OcspRequestCount {
        /// Number of `Request` entries.
        count: usize,
        /// The responder's limit.
        max: usize,
    },

    /// The OCSP nonce is not an OCTET STRING of 1 to 32 bytes (RFC 8954).
    #[error("OCSP nonce is not an OCTET STRING of 1..=32 bytes (RFC 8954)")]
    OcspNonceInvalid,

    /// A public key cannot be decoded (not on the curve, wrong length,
    /// trailing data).
    #[error("public key of algorithm {algorithm} cannot be decoded")]
    MalformedPublicKey {
        /// The key's algorithm OID.
        algorithm: ObjectIdentifier,
    },

    // ----- verification failure -------------------------------------------
    /// A signature does not decode, or does not verify with the key.
    #[error("the signature does not verify")]
    SignatureInvalid,

    /// The self-signature of a PKCS#10 request does not verify with the key
    /// it carries (no proof of possession).
    #[error("the PKCS#10 request's self-signature does not verify")]
    CsrSignatureInvalid,

    // ----- policy refusal ---------------------------------------------------
    /// The public key's algorithm (or curve) is not one this CA certifies.
    #[error("public key algorithm {algorithm} (parameters {parameters:?}) is not accepted")]
    UnsupportedPublicKey {
        /// Algorithm OID from the `SubjectPublicKeyInfo`.
        algorithm: ObjectIdentifier,
        /// Named-curve OID, when the algorithm has one.
        parameters: Option<ObjectIdentifier>,
    },

    /// The signature algorithm is not one this crate verifies or issues with,
    /// or does not fit the key it is used with.
    #[error("signature algorithm {algorithm} is not accepted for this key")]
    UnsupportedSignatureAlgorithm {
        /// Signature algorithm OID.
        algorithm: ObjectIdentifier,
    },

    /// The signature algorithm does not fit the key (e.g. Ed25519 with a P-256
    /// key).
    #[error("signature algorithm {signature_algorithm} cannot be used with a {} key", key.name())]
    AlgorithmKeyMismatch {
        /// Signature algorithm OID.
        signature_algorithm: ObjectIdentifier,
        /// The key's algorithm.
        key: KeyAlgorithm,
    },

    /// The digest algorithm is not SHA-256, SHA-384, SHA-512 or SM3.
    #[error("digest algorithm {algorithm} is not supported")]
    UnsupportedDigestAlgorithm {
        /// Digest algorithm OID.
        algorithm: ObjectIdentifier,
    },

    /// A digest algorithm identifier carries parameters other than `NULL`.
    #[error("digest algorithm {algorithm} has parameters; only absent or NULL are allowed")]
    DigestParametersNotAllowed {
        /// Digest algorithm OID.
        algorithm: ObjectIdentifier,
    },

    /// A unified social credit code (统一社会信用代码) fails GB 32100-2015.
    #[error("invalid unified social credit code: {0}")]
    InvalidCreditCode(CreditCodeProblem),

    /// A name attribute is empty, too long, or has characters its ASN.1
    /// type does not allow.
    #[error("invalid {attribute}: {reason}")]
    InvalidNameAttribute {
        /// Attribute name (`"commonName"`, `"countryName"`, …).
        attribute: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A CRL or OCSP URL is not an `http://` or `https://` URL of printable
    /// ASCII within the length limit.
    #[error("invalid distribution URL: {reason}")]
    InvalidUrl {
        /// What is wrong with it.
        reason: &'static str,
    },

    /// `notBefore` is not strictly before `notAfter`.
    #[error("validity period is empty: notBefore is not before notAfter")]
    EmptyValidity,

    /// The requested validity is not inside the issuing CA's validity.
    #[error("requested validity is outside the issuing CA certificate's validity")]
    ValidityOutsideIssuer,

    /// A `thisUpdate`/`nextUpdate` pair is out of order.
    #[error("nextUpdate is not after thisUpdate")]
    UpdateTimesOutOfOrder,

    /// A revocation reason that cannot appear in a full CRL entry
    /// (`removeFromCRL` belongs to delta CRLs only).
    #[error("revocation reason {0:?} is not allowed here")]
    RevocationReasonNotAllowed(x509_cert::ext::pkix::CrlReason),

    /// The same serial number is listed twice in one CRL.
    #[error("serial number {serial} is listed twice")]
    DuplicateRevokedSerial {
        /// The serial number, colon-separated hex.
        serial: String,
    },

    /// More revoked entries than one CRL may hold.
    #[error("{count} revoked entries exceed the limit of {max} per CRL")]
    TooManyRevokedEntries {
        /// Number of entries given.
        count: usize,
        /// The limit.
        max: usize,
    },

    /// No certificate in an OCSP request names the CA this responder serves
    /// (OCSP status `unauthorized`, RFC 5019 §2.2.3).
    #[error("OCSP request names no certificate of the CA this responder serves")]
    OcspIssuerNotServed,

    /// A path-length constraint that does not fit under the issuer's own.
    #[error("path length {requested} does not fit under the issuer's constraint")]
    PathLengthNotAllowed {
        /// The path length asked for.
        requested: u8,
    },

    // ----- API misuse -------------------------------------------------------
    /// The signer's public key is not the key in the certificate it is
    /// supposed to sign for, or a probe signature did not verify.
    #[error("the signer's key does not match the certificate's public key")]
    SignerKeyMismatch,

    /// The certificate given as issuer is not a CA certificate
    /// (basicConstraints cA, keyCertSign key usage).
    #[error("certificate is not a CA certificate: {reason}")]
    NotACaCertificate {
        /// Which requirement it misses.
        reason: &'static str,
    },

    /// A certificate lacks the subjectKeyIdentifier this crate needs to
    /// chain (AKI) or to identify itself.
    #[error("certificate has no subjectKeyIdentifier extension")]
    MissingSubjectKeyIdentifier,

    /// The certificate given as delegated OCSP responder is not one: not
    /// issued by the CA, or without the id-kp-OCSPSigning extended key usage.
    #[error("not a delegated OCSP responder certificate for this CA: {reason}")]
    NotAnOcspResponder {
        /// Which requirement it misses.
        reason: &'static str,
    },

    /// An SM2 key handle was created with a distinguishing identifier other
    /// than the default `1234567812345678`, which relying parties assume.
    #[error("SM2 key uses a non-default distinguishing identifier")]
    Sm2DistinguishingId,

    // ----- internal faults --------------------------------------------------
    /// DER encoding (or re-decoding of our own output) failed.
    #[error("DER encoding failed: {0}")]
    Encoding(#[source] der::Error),

    /// Encoding a public key to `SubjectPublicKeyInfo` failed.
    #[error("public key encoding failed: {0}")]
    PublicKeyEncoding(#[source] spki::Error),

    /// The signer refused or failed to sign.
    #[error("signer failed: {0}")]
    Signing(#[source] signature::Error),

    /// The x509-cert builder failed for a reason not covered above.
    #[error("certificate builder failed: {0}")]
    Builder(#[source] x509_cert::builder::Error),
}

/// Why a unified social credit code (统一社会信用代码) was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CreditCodeProblem {
    /// The code is not exactly 18 characters long.
    Length {
        /// Number of characters given.
        len_chars: usize,
    },
    /// A character outside GB 32100-2015's alphabet
    /// (`0-9` and upper-case letters except `I O S V Z`).
    Character {
        /// Zero-based position of the first bad character.
        position: usize,
    },
    /// The 18th character is not the check character computed from the
    /// first 17.
    CheckCharacter {
        /// The check character the first 17 characters call for.
        expected: char,
        /// The character found.
        found: char,
    },
}

impl core::fmt::Display for CreditCodeProblem {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Length { len_chars } => write!(f, "{len_chars} characters, 18 required"),
            Self::Character { position } => {
                write!(
                    f,
                    "character at position {position} is outside the alphabet"
                )
            }
            Self::CheckCharacter { expected, found } => {
                write!(f, "check character is {found}, expected {expected}")
            }
        }
    }
}

impl From<x509_cert::builder::Error> for Error {
    fn from(error: x509_cert::builder::Error) -> Self {
        match error {
            x509_cert::builder::Error::Asn1(e) => Self::Encoding(e),
            x509_cert::builder::Error::PublicKey(e) => Self::PublicKeyEncoding(e),
            x509_cert::builder::Error::Signature(e) => Self::Signing(e),
            other => Self::Builder(other),
        }
    }
}
