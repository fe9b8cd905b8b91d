//! Certificate-authority core for Affix: certificate profiles, issuance,
//! CRLs and OCSP responses — and the algorithms and identifiers every PKI
//! crate shares (`affix-cms` and `affix-tsp` build on this crate).
//!
//! This crate is a **pure core**: it does no I/O and reads no clock. Every
//! time (validity, `thisUpdate`, `producedAt`, …) is passed in by the caller,
//! serial numbers are passed in or derived from caller-provided random bytes,
//! and every signature is made through the [`signature::Signer`] and
//! [`signature::Keypair`] traits, so private keys stay wherever their owner
//! keeps them (a key vault, an HSM handle, a test key).
//!
//! - [`algorithm`]: the one [`DigestAlgorithm`], [`KeyAlgorithm`],
//!   [`SignatureAlgorithm`], and [`PublicKey`], the one verifier of signatures
//!   with a `SubjectPublicKeyInfo` (certificates, CSRs, CRLs, CMS, time-stamp
//!   tokens).
//! - [`oid`]: the object identifiers `const_oid::db` lacks (SM2, SM3,
//!   `organizationIdentifier`); every other one comes from `const_oid::db`.
//! - [`ca`]: root and issuing CAs, the certificate profiles (`Person`,
//!   `Organization`, `TsaSigner`, `OcspSigner`) and issuance from a PKCS#10
//!   request or from a key handle, one module per concern.
//! - [`crl`]: version 2 CRLs for a CA.
//! - [`ocsp`]: RFC 6960 request parsing and `BasicOCSPResponse` signing.
//! - [`error`]: the one error type, [`Error`].
//!
//! Supported algorithms: ECDSA P-256 with SHA-256, Ed25519, and SM2 with
//! SM3 (GB/T 35275, OID `1.2.156.10197.1.501`, default distinguishing
//! identifier [`SM2_DEFAULT_DISTID`], `1234567812345678`, defined once in
//! `affix-note` and re-exported here).
//!
//! Every decoder of untrusted bytes has a size limit, and no input makes the
//! crate panic.

#![forbid(unsafe_code)]

pub mod algorithm;
pub mod ca;
pub mod crl;
pub mod error;
pub mod ocsp;
pub mod oid;

pub use algorithm::{
    DigestAlgorithm, KeyAlgorithm, PublicKey, SM2_DEFAULT_DISTID, SignatureAlgorithm,
};
pub use error::Error;
