//! Certificate authorities, certificate profiles and issuance.
//!
//! An [`Issuer`] binds a CA certificate to a signer handle. It is created
//! either as a self-signed root ([`Issuer::create_root`]) or from a CA
//! certificate issued elsewhere ([`Issuer::new`], e.g. an issuing CA
//! certificate made by [`Issuer::issue_subordinate_ca`]). Construction checks
//! that the certificate is a CA certificate and that the signer really holds
//! its key, so an `Issuer` value is always usable.
//!
//! End-entity certificates follow one of the [`Profile`]s. The subject's key
//! comes either from a PKCS#10 request whose self-signature has been checked
//! ([`VerifiedCsr`]) or from any [`signature::Keypair`] handle
//! ([`SubjectPublicKey::from_keypair`]). Requested extensions in a PKCS#10
//! request are never copied: every extension comes from the profile, and the
//! subject name comes from the caller (the registration authority), not from
//! the request.
//!
//! Names are encoded as UTF8String (countryName as PrintableString, as X.520
//! requires), so Chinese names such as `张三` round-trip.
//!
//! Modules, one concern each: [`SubjectName`], [`OrganizationSubject`] and
//! [`CreditCode`] (subject names); [`Profile`] (end-entity profiles);
//! [`SubjectPublicKey`] (the keys certified); [`VerifiedCsr`] (PKCS#10);
//! [`DistributionUrls`]; [`Issuer`] (issuance); [`ValidityPeriod`] and serial
//! numbers; [`CertificateSigner`] and the [`Sm2DerSigner`] adapter.

mod csr;
mod issuer;
mod profile;
mod signer;
mod subject;
mod subject_key;
mod urls;
mod validity;

pub use csr::VerifiedCsr;
pub use issuer::Issuer;
pub(crate) use issuer::{certificate_key_identifier, check_signer_holds_key, extension};
pub use profile::Profile;
pub use signer::{CertificateSigner, Sm2DerSigner};
pub(crate) use signer::{sign_bits, signature_algorithm};
pub use subject::{CreditCode, OrganizationSubject, SubjectName};
pub use subject_key::{KeyAlgorithm, SubjectPublicKey};
pub use urls::DistributionUrls;
pub use validity::{ValidityPeriod, serial_number_from_random};

use const_oid::ObjectIdentifier;

// ----- object identifiers ---------------------------------------------------

/// `id-ecPublicKey` (RFC 5480).
const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// `secp256r1` / `prime256v1` named curve (RFC 5480).
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// SM2 named curve (GB/T 35275, RFC 8998 §3.1).
const SM2_CURVE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.301");
/// `id-Ed25519` (RFC 8410).
const ID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
/// `ecdsa-with-SHA256` (RFC 5758).
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
/// `sm2sign-with-sm3` (GB/T 35275, RFC 8998).
const SM2_WITH_SM3: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.156.10197.1.501");

/// X.520 `commonName`.
const AT_COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
/// X.520 `countryName`.
const AT_COUNTRY_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.6");
/// X.520 `organizationName`.
const AT_ORGANIZATION_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
/// X.520 `organizationIdentifier` (ETSI EN 319 412-1 §5.1.4).
const AT_ORGANIZATION_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.97");

/// `id-kp-timeStamping` (RFC 5280).
const ID_KP_TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
/// `id-kp-OCSPSigning` (RFC 5280).
pub(crate) const ID_KP_OCSP_SIGNING: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.9");
/// `id-ad-ocsp` (RFC 5280 §4.2.2.1).
const ID_AD_OCSP: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1");
/// `id-ad-caIssuers` (RFC 5280 §4.2.2.1).
const ID_AD_CA_ISSUERS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.2");
/// `id-pkix-ocsp-nocheck` (RFC 6960 §4.2.2.2.1).
const ID_PKIX_OCSP_NOCHECK: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.5");

/// The SM2 distinguishing identifier every relying party assumes when none
/// is agreed (GM/T 0009-2012, RFC 8998 §3.2.1).
pub const SM2_DEFAULT_DISTID: &str = "1234567812345678";
