//! End-entity certificate profiles.

use x509_cert::{
    ext::pkix::{KeyUsage, KeyUsages},
    name::Name,
};

use crate::error::Result;

use super::{OrganizationSubject, SubjectName};

/// An end-entity certificate profile. The profile decides the subject name
/// and every extension but certificatePolicies, which the caller names per
/// certificate ([`super::Issuer::issue_with_policies`]: how the subject was
/// verified, which credential kind authorizes the key).
///
/// | profile | key usage (critical) | extended key usage |
/// |---|---|---|
/// | `Person` | digitalSignature, nonRepudiation | — |
/// | `Organization` | digitalSignature, nonRepudiation | — |
/// | `TsaSigner` | digitalSignature, nonRepudiation | timeStamping only, critical (RFC 3161 §2.3) |
/// | `OcspSigner` | digitalSignature | OCSPSigning, plus `id-pkix-ocsp-nocheck` |
///
/// All carry basicConstraints `cA=FALSE` (critical), subject and authority
/// key identifiers, and the issuer's CRL distribution point and AIA URLs
/// when the issuer has them (an OCSP signer gets no OCSP URL: it is exempt
/// from checking by `id-pkix-ocsp-nocheck`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Profile {
    /// A natural person's signing certificate.
    Person(SubjectName),
    /// An organization's (legal person's) signing certificate.
    Organization(OrganizationSubject),
    /// An RFC 3161 time-stamping authority's signing certificate.
    TsaSigner(SubjectName),
    /// A delegated OCSP responder's certificate (RFC 6960 §4.2.2.2).
    OcspSigner(SubjectName),
}

impl Profile {
    pub(super) fn subject(&self) -> Result<Name> {
        match self {
            Self::Person(name) | Self::TsaSigner(name) | Self::OcspSigner(name) => name.to_name(),
            Self::Organization(organization) => organization.to_name(),
        }
    }

    pub(super) fn key_usage(&self) -> KeyUsage {
        match self {
            Self::Person(_) | Self::Organization(_) | Self::TsaSigner(_) => {
                KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation)
            }
            Self::OcspSigner(_) => KeyUsage(KeyUsages::DigitalSignature.into()),
        }
    }
}
