//! RFC 3161 time-stamping: request parsing, token issuance and token
//! verification. A pure core: no I/O, no clock, no randomness (details below).
//!
//! A `TimeStampToken` is a CMS `ContentInfo` holding `SignedData`, so this
//! crate builds on `affix-cms`, as RustCrypto's `x509-tsp` builds on `cms`:
//! `affix-cms` parses and verifies the `SignedData` (signer, signed
//! attributes, ESS signing-certificate-v2 binding, signature, certificate
//! path), and this crate keeps only what RFC 3161 adds — the request, the
//! `TSTInfo`, the TSA, issuance, and whom to trust ([`TsaTrust`], which is
//! also `affix-cms`'s [`affix_cms::TimestampTokenVerifier`] for CAdES-T
//! signatures). Algorithms and identifiers are `affix-pki`'s.
//!
//! This module is a pure core. It does no I/O, never reads a clock (the TSA's
//! generation time comes in as a [`GenTime`] parameter) and needs no
//! randomness: ECDSA (RFC 6979), SM2 (RFC 6979-style `k`) and Ed25519 sign
//! deterministically. Keys come in as any [`signature::Signer`] +
//! [`signature::Keypair`], so a key vault or an HSM handle plugs in without this
//! module ever seeing private-key bytes.
//!
//! # Standards
//!
//! - RFC 3161 (Time-Stamp Protocol) as updated by RFC 5816 (ESSCertIDv2).
//! - RFC 5652 (CMS `SignedData`), RFC 5035 (`SigningCertificateV2`).
//! - RFC 8419 (Ed25519 in CMS: SHA-512 message digest), GM/T 0009 (SM2 with the
//!   default distinguishing identifier `1234567812345678`).
//!
//! # Flow
//!
//! - A TSA parses a request with [`TimeStampRequest::parse`] and answers with
//!   [`TimeStampAuthority::issue`], or in one step with
//!   [`TimeStampAuthority::respond`], which turns bad requests into RFC 3161
//!   rejections carrying the right `PKIFailureInfo`.
//! - A relying party checks a token with [`verify_token`] (or a whole response
//!   with [`verify_response`], or [`TimeStampToken::verify`] after reading the
//!   unverified [`TimeStampToken::tst_info`]) and gets a [`VerifiedTimestamp`]
//!   — the only way to obtain one.
//!
//! # Example
//!
//! ```
//! use affix_tsp::{
//!     Error, ExpectedImprint, GenTime, Response, TimeStampAuthority, TokenSerial, TsaConfig,
//!     TsaTrust, verify_response,
//! };
//! use x509_cert::Certificate;
//!
//! /// A TSA server's request handler: DER request in, DER response out.
//! fn handle(
//!     tsa: &TimeStampAuthority<p256::ecdsa::SigningKey, p256::ecdsa::DerSignature>,
//!     request_der: &[u8],
//!     next_serial: u64,
//!     now: GenTime,
//! ) -> Result<Vec<u8>, Error> {
//!     match tsa.respond(request_der, &TokenSerial::from_u64(next_serial), now)? {
//!         Response::Granted(der) => Ok(der),
//!         Response::Rejected { der, reason } => {
//!             eprintln!("request refused: {reason}"); // the serial is still free
//!             Ok(der)
//!         }
//!     }
//! }
//!
//! /// A relying party checking a response against the data it sent.
//! fn check(response_der: &[u8], root: &Certificate, data: &[u8]) -> Result<GenTime, Error> {
//!     let verified = verify_response(
//!         response_der,
//!         TsaTrust::IssuedBy(std::slice::from_ref(root)),
//!         ExpectedImprint::Data(data),
//!         None,
//!     )?;
//!     Ok(verified.gen_time())
//! }
//! ```
//!
//! # Limits
//!
//! Requests above [`REQUEST_BYTES_MAX`] and responses or tokens above
//! [`TOKEN_BYTES_MAX`] are refused before decoding; nonces are capped at
//! [`NONCE_BYTES_MAX`] and serial numbers at [`SERIAL_BYTES_MAX`].
#![forbid(unsafe_code)]

mod asn1;
mod authority;
mod error;
mod integer;
mod request;

mod time;
mod verify;

/// The ESS signing-certificate-v2 attribute tokens carry is `affix-cms`'s type.
pub use affix_cms::{EssCertIdV2, IssuerSerial, SigningCertificateV2};
/// SM2 signers sign to DER through the CA crate's adapter (one implementation for all PKI crates).
pub use affix_pki::ca::Sm2DerSigner;
/// Digest algorithms and the SM2 distinguishing identifier are `affix-pki`'s, shared by
/// all PKI crates.
pub use affix_pki::{DigestAlgorithm, SM2_DEFAULT_DISTID};
pub use asn1::{
    Accuracy, FailureInfo, MessageImprint, PkiStatus, PkiStatusInfo, TimeStampReq, TimeStampResp,
    TstInfo,
};
pub use authority::{Response, TimeStampAuthority, TsaConfig, rejection};
pub use error::Error;
pub use integer::{Nonce, TokenSerial};
pub use request::TimeStampRequest;
pub use time::GenTime;
pub use verify::{
    ExpectedImprint, TimeStampResponse, TimeStampToken, TsaTrust, VerifiedTimestamp,
    verify_response, verify_token,
};

/// Largest DER `TimeStampReq` accepted by [`TimeStampRequest::parse`].
///
/// A request is an imprint of at most 64 bytes plus a few small fields;
/// anything near this size is hostile.
pub const REQUEST_BYTES_MAX: usize = 64 * 1024;

/// Largest DER `TimeStampResp` or `TimeStampToken` accepted for verification.
///
/// Leaves room for a token carrying a certificate chain of several RSA-4096
/// certificates.
pub const TOKEN_BYTES_MAX: usize = 64 * 1024;

/// Largest nonce, in content octets of its DER `INTEGER`.
///
/// OpenSSL sends 8-byte nonces; RFC 3161 sets no bound, so one is set here to
/// keep echoed values small.
pub const NONCE_BYTES_MAX: usize = 64;

/// Largest token serial number, in content octets of its DER `INTEGER`.
///
/// RFC 3161 §2.4.2 asks users to accommodate serial numbers of up to
/// 160 bits; one extra octet holds the sign.
pub const SERIAL_BYTES_MAX: usize = 21;
