//! The issuer: a CA certificate bound to a handle on its key, and issuance.

use core::marker::PhantomData;

use const_oid::{
    AssociatedOid,
    db::{
        rfc5280::{ID_AD_CA_ISSUERS, ID_AD_OCSP, ID_KP_OCSP_SIGNING, ID_KP_TIME_STAMPING},
        rfc6960::ID_PKIX_OCSP_NOCHECK,
    },
};
use der::{
    Encode,
    asn1::{BitString, Null, OctetString},
};
use spki::{AlgorithmIdentifierOwned, SignatureBitStringEncoding, SubjectPublicKeyInfoOwned};
use x509_cert::{
    Certificate,
    builder::{Builder, CertificateBuilder, profile::BuilderProfile},
    certificate::TbsCertificate,
    ext::{
        Extension,
        pkix::{
            AccessDescription, AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints,
            CertificatePolicies, CrlDistributionPoints, ExtendedKeyUsage, KeyUsage, KeyUsages,
            SubjectKeyIdentifier,
            certpolicy::PolicyInformation,
            crl::dp::DistributionPoint,
            name::{DistributionPointName, GeneralName},
        },
    },
    name::Name,
    serial_number::SerialNumber,
};

use crate::error::{Error, Result};

use super::{
    CertificateSigner, DistributionUrls, Profile, SubjectName, SubjectPublicKey, ValidityPeriod,
    VerifiedCsr, sign_bits, signature_algorithm,
};

/// Message signed once when an [`Issuer`] is built, to prove the signer
/// holds the certificate's key. It is not DER (starts with `a`, not `0x30`),
/// so the signature can never be mistaken for one over a certificate, CRL
/// or OCSP response.
const SIGNER_PROBE: &[u8] = b"affix-pki/issuer-probe/v1";

/// A certificate authority: its certificate bound to a handle on its key.
///
/// `S` is the signer handle and `Sig` the signature type it produces (for
/// P-256 keys, use the DER form `p256::ecdsa::DerSignature`).
pub struct Issuer<S, Sig> {
    certificate: Certificate,
    key_identifier: OctetString,
    path_len: Option<u8>,
    urls: DistributionUrls,
    signer: S,
    _signature: PhantomData<fn() -> Sig>,
}

impl<S, Sig> core::fmt::Debug for Issuer<S, Sig> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Issuer")
            .field("subject", &self.certificate.tbs_certificate().subject())
            .field("key_identifier", &self.key_identifier)
            .field("path_len", &self.path_len)
            .field("urls", &self.urls)
            .finish_non_exhaustive()
    }
}

impl<S, Sig> Issuer<S, Sig>
where
    S: CertificateSigner<Sig>,
    Sig: SignatureBitStringEncoding,
{
    /// Create a self-signed root CA certificate and the issuer for it.
    ///
    /// The root has basicConstraints `cA=TRUE` without path-length limit,
    /// key usage keyCertSign, cRLSign and digitalSignature (so it may sign
    /// OCSP responses itself), and subject and authority key identifiers
    /// (SHA-1 of the public key).
    ///
    /// # Errors
    /// Policy errors for an unsupported key, [`Error::Signing`] if the
    /// signer fails, and the checks of [`Issuer::new`].
    pub fn create_root(
        signer: S,
        subject: &SubjectName,
        serial: SerialNumber,
        validity: ValidityPeriod,
    ) -> Result<Self> {
        let public_key = SubjectPublicKey::from_keypair(&signer)?;
        let name = subject.to_name()?;
        let key_identifier = public_key.sha1_key_hash();
        let extensions = ca_extensions(None, &key_identifier, &key_identifier)?;
        let profile = FixedProfile {
            subject: name.clone(),
            issuer: name,
            extensions,
        };
        let certificate = CertificateBuilder::new(
            profile,
            serial,
            validity.to_validity(),
            public_key.spki().clone(),
        )?
        .build::<S, Sig>(&signer)?;
        Self::new(certificate, signer)
    }

    /// Bind a CA certificate to the handle of its key.
    ///
    /// # Errors
    /// - [`Error::NotACaCertificate`] without basicConstraints `cA=TRUE` or
    ///   without the keyCertSign key usage;
    /// - [`Error::MissingSubjectKeyIdentifier`] without a
    ///   subjectKeyIdentifier;
    /// - [`Error::SignerKeyMismatch`] if the signer's public key is not the
    ///   certificate's, or a probe signature does not verify with it;
    /// - [`Error::UnsupportedSignatureAlgorithm`] if the signer's algorithm
    ///   is not one this crate verifies.
    pub fn new(certificate: Certificate, signer: S) -> Result<Self> {
        let tbs = certificate.tbs_certificate();
        let basic_constraints = tbs
            .get_extension::<BasicConstraints>()
            .map_err(Error::Encoding)?
            .map(|(_, bc)| bc)
            .filter(|bc| bc.ca)
            .ok_or(Error::NotACaCertificate {
                reason: "basicConstraints cA is not TRUE",
            })?;
        tbs.get_extension::<KeyUsage>()
            .map_err(Error::Encoding)?
            .map(|(_, ku)| ku)
            .filter(KeyUsage::key_cert_sign)
            .ok_or(Error::NotACaCertificate {
                reason: "keyUsage lacks keyCertSign",
            })?;
        let key_identifier = tbs
            .get_extension::<SubjectKeyIdentifier>()
            .map_err(Error::Encoding)?
            .map(|(_, ski)| ski.0)
            .ok_or(Error::MissingSubjectKeyIdentifier)?;

        check_signer_holds_key::<S, Sig>(&signer, tbs)?;

        Ok(Self {
            key_identifier,
            path_len: basic_constraints.path_len_constraint,
            urls: DistributionUrls::default(),
            signer,
            certificate,
            _signature: PhantomData,
        })
    }

    /// Publish these URLs in every certificate issued from now on.
    pub fn with_distribution_urls(mut self, urls: DistributionUrls) -> Self {
        self.urls = urls;
        self
    }

    /// The CA certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The CA's subjectKeyIdentifier, used as authorityKeyIdentifier in
    /// what it signs.
    pub fn key_identifier(&self) -> &[u8] {
        self.key_identifier.as_bytes()
    }

    /// The signer handle.
    pub fn signer(&self) -> &S {
        &self.signer
    }

    /// Issue an end-entity certificate under `profile` for `subject_key`.
    ///
    /// # Errors
    /// [`Error::ValidityOutsideIssuer`] if `validity` is not inside the CA
    /// certificate's validity; [`Error::Signing`] / [`Error::Encoding`] on
    /// signer or encoding faults.
    pub fn issue(
        &self,
        profile: &Profile,
        subject_key: &SubjectPublicKey,
        serial: SerialNumber,
        validity: ValidityPeriod,
    ) -> Result<Certificate> {
        self.issue_with_policies(profile, subject_key, serial, validity, &[])
    }

    /// [`Issuer::issue`], with a certificatePolicies extension (RFC 5280 §4.2.1.4,
    /// not critical) naming `policies` when there are any: how the subject was
    /// verified and which kind of credential authorizes the key's use (see the
    /// `CP_*` identifiers in [`crate::oid`]).
    ///
    /// # Errors
    /// As [`Issuer::issue`].
    pub fn issue_with_policies(
        &self,
        profile: &Profile,
        subject_key: &SubjectPublicKey,
        serial: SerialNumber,
        validity: ValidityPeriod,
        policies: &[const_oid::ObjectIdentifier],
    ) -> Result<Certificate> {
        self.check_inside_validity(validity)?;
        let subject = profile.subject()?;
        let key_identifier = subject_key.sha1_key_hash();

        let mut extensions = vec![
            extension(
                true,
                &BasicConstraints {
                    ca: false,
                    path_len_constraint: None,
                },
            )?,
            extension(true, &profile.key_usage())?,
        ];
        match profile {
            Profile::TsaSigner(_) => extensions.push(extension(
                true,
                &ExtendedKeyUsage(vec![ID_KP_TIME_STAMPING]),
            )?),
            Profile::OcspSigner(_) => {
                extensions.push(extension(
                    false,
                    &ExtendedKeyUsage(vec![ID_KP_OCSP_SIGNING]),
                )?);
                extensions.push(Extension {
                    extn_id: ID_PKIX_OCSP_NOCHECK,
                    critical: false,
                    extn_value: OctetString::new(Null.to_der().map_err(Error::Encoding)?)
                        .map_err(Error::Encoding)?,
                });
            }
            Profile::Person(_) | Profile::Organization(_) => {}
        }
        if !policies.is_empty() {
            extensions.push(extension(
                false,
                &CertificatePolicies(
                    policies
                        .iter()
                        .map(|oid| PolicyInformation {
                            policy_identifier: *oid,
                            policy_qualifiers: None,
                        })
                        .collect(),
                ),
            )?);
        }
        extensions.push(subject_key_identifier(&key_identifier)?);
        extensions.push(self.authority_key_identifier()?);
        let include_ocsp = !matches!(profile, Profile::OcspSigner(_));
        extensions.extend(self.distribution_extensions(include_ocsp)?);

        self.build(subject, subject_key, serial, validity, extensions)
    }

    /// Issue an end-entity certificate for the key of a verified PKCS#10
    /// request. Same as [`Issuer::issue`] with [`VerifiedCsr::public_key`];
    /// nothing else from the request is used.
    ///
    /// # Errors
    /// As [`Issuer::issue`].
    pub fn issue_from_csr(
        &self,
        profile: &Profile,
        csr: &VerifiedCsr,
        serial: SerialNumber,
        validity: ValidityPeriod,
    ) -> Result<Certificate> {
        self.issue(profile, csr.public_key(), serial, validity)
    }

    /// Issue a subordinate (issuing) CA certificate with basicConstraints
    /// `cA=TRUE, pathLenConstraint=path_len`, key usage keyCertSign, cRLSign
    /// and digitalSignature.
    ///
    /// # Errors
    /// [`Error::PathLengthNotAllowed`] if this issuer's own path-length
    /// constraint leaves no room; otherwise as [`Issuer::issue`].
    pub fn issue_subordinate_ca(
        &self,
        subject: &SubjectName,
        subject_key: &SubjectPublicKey,
        path_len: u8,
        serial: SerialNumber,
        validity: ValidityPeriod,
    ) -> Result<Certificate> {
        if self.path_len.is_some_and(|own| path_len >= own) {
            return Err(Error::PathLengthNotAllowed {
                requested: path_len,
            });
        }
        self.check_inside_validity(validity)?;
        let key_identifier = subject_key.sha1_key_hash();
        let mut extensions = ca_extensions(Some(path_len), &key_identifier, self.key_identifier())?;
        extensions.extend(self.distribution_extensions(true)?);
        self.build(
            subject.to_name()?,
            subject_key,
            serial,
            validity,
            extensions,
        )
    }

    fn build(
        &self,
        subject: Name,
        subject_key: &SubjectPublicKey,
        serial: SerialNumber,
        validity: ValidityPeriod,
        extensions: Vec<Extension>,
    ) -> Result<Certificate> {
        let profile = FixedProfile {
            subject,
            issuer: self.certificate.tbs_certificate().subject().clone(),
            extensions,
        };
        let builder = CertificateBuilder::new(
            profile,
            serial,
            validity.to_validity(),
            subject_key.spki().clone(),
        )?;
        Ok(builder.build::<S, Sig>(&self.signer)?)
    }

    fn check_inside_validity(&self, validity: ValidityPeriod) -> Result<()> {
        let own = self.certificate.tbs_certificate().validity();
        if validity.not_before() < own.not_before.to_date_time()
            || validity.not_after() > own.not_after.to_date_time()
        {
            return Err(Error::ValidityOutsideIssuer);
        }
        Ok(())
    }

    fn authority_key_identifier(&self) -> Result<Extension> {
        extension(
            false,
            &AuthorityKeyIdentifier {
                key_identifier: Some(self.key_identifier.clone()),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
        )
    }

    fn distribution_extensions(&self, include_ocsp: bool) -> Result<Vec<Extension>> {
        let mut extensions = Vec::with_capacity(2);
        if let Some(crl) = &self.urls.crl {
            let point = DistributionPoint {
                distribution_point: Some(DistributionPointName::FullName(vec![
                    GeneralName::UniformResourceIdentifier(crl.clone()),
                ])),
                reasons: None,
                crl_issuer: None,
            };
            extensions.push(extension(false, &CrlDistributionPoints(vec![point]))?);
        }
        let mut access = Vec::with_capacity(2);
        if let (true, Some(ocsp)) = (include_ocsp, &self.urls.ocsp) {
            access.push(AccessDescription {
                access_method: ID_AD_OCSP,
                access_location: GeneralName::UniformResourceIdentifier(ocsp.clone()),
            });
        }
        if let Some(ca_issuers) = &self.urls.ca_issuers {
            access.push(AccessDescription {
                access_method: ID_AD_CA_ISSUERS,
                access_location: GeneralName::UniformResourceIdentifier(ca_issuers.clone()),
            });
        }
        if !access.is_empty() {
            extensions.push(extension(false, &AuthorityInfoAccessSyntax(access))?);
        }
        Ok(extensions)
    }

    /// The algorithm identifier the CA signs with.
    pub(crate) fn signature_algorithm(&self) -> Result<AlgorithmIdentifierOwned> {
        signature_algorithm(&self.signer)
    }

    /// Sign DER to-be-signed bytes with the CA key (CRLs).
    pub(crate) fn sign_bits(&self, tbs: &[u8]) -> Result<BitString> {
        sign_bits::<S, Sig>(&self.signer, tbs)
    }
}

/// Check that `signer`'s public key is the one in `tbs` and that it can make
/// a signature that verifies with it. Shared by [`Issuer::new`] and the OCSP
/// responder.
pub(crate) fn check_signer_holds_key<S, Sig>(signer: &S, tbs: &TbsCertificate) -> Result<()>
where
    S: CertificateSigner<Sig>,
    Sig: SignatureBitStringEncoding,
{
    let signer_spki = SubjectPublicKeyInfoOwned::from_key(&signer.verifying_key())
        .map_err(Error::PublicKeyEncoding)?;
    if &signer_spki != tbs.subject_public_key_info() {
        return Err(Error::SignerKeyMismatch);
    }
    let public_key = SubjectPublicKey::from_spki(tbs.subject_public_key_info())?;
    let algorithm = signature_algorithm(signer)?;
    let signature = sign_bits::<S, Sig>(signer, SIGNER_PROBE)?;
    if !public_key.verify(&algorithm, SIGNER_PROBE, &signature)? {
        return Err(Error::SignerKeyMismatch);
    }
    Ok(())
}

/// The subjectKeyIdentifier of a certificate, if it has one.
pub(crate) fn certificate_key_identifier(certificate: &Certificate) -> Result<Option<Vec<u8>>> {
    Ok(certificate
        .tbs_certificate()
        .get_extension::<SubjectKeyIdentifier>()
        .map_err(Error::Encoding)?
        .map(|(_, ski)| ski.0.as_bytes().to_vec()))
}

fn ca_extensions(
    path_len: Option<u8>,
    subject_key_id: &[u8],
    authority_key_id: &[u8],
) -> Result<Vec<Extension>> {
    Ok(vec![
        extension(
            true,
            &BasicConstraints {
                ca: true,
                path_len_constraint: path_len,
            },
        )?,
        extension(
            true,
            &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign | KeyUsages::DigitalSignature),
        )?,
        subject_key_identifier(subject_key_id)?,
        extension(
            false,
            &AuthorityKeyIdentifier {
                key_identifier: Some(OctetString::new(authority_key_id).map_err(Error::Encoding)?),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
        )?,
    ])
}

fn subject_key_identifier(key_identifier: &[u8]) -> Result<Extension> {
    extension(
        false,
        &SubjectKeyIdentifier(OctetString::new(key_identifier).map_err(Error::Encoding)?),
    )
}

pub(crate) fn extension<T: AssociatedOid + Encode>(critical: bool, value: &T) -> Result<Extension> {
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(value.to_der().map_err(Error::Encoding)?)
            .map_err(Error::Encoding)?,
    })
}

/// A builder profile whose subject, issuer and extensions are all decided
/// before building.
struct FixedProfile {
    subject: Name,
    issuer: Name,
    extensions: Vec<Extension>,
}

impl BuilderProfile for FixedProfile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        _spk: spki::SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: spki::SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        Ok(self.extensions.clone())
    }
}
