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
pub use subject_key::SubjectPublicKey;

/// The key algorithms, defined with the other algorithms in [`crate::algorithm`].
pub use crate::algorithm::KeyAlgorithm;
pub use urls::DistributionUrls;
pub use validity::{ValidityPeriod, serial_number_from_random};
