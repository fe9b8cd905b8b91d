//! Making detached signatures, in one step ([`sign_detached`](super::sign_detached), with
//! a `signature::Signer`) or in two ([`PreparedSignature`]: prepare, have the
//! signature made elsewhere, assemble).

use std::time::SystemTime;

use affix_pki::{DigestAlgorithm, PublicKey};
use cms::{
    builder::{create_content_type_attribute, create_message_digest_attribute},
    cert::{CertificateChoices, IssuerAndSerialNumber},
    content_info::CmsVersion,
    signed_data::{
        CertificateSet, EncapsulatedContentInfo, SignedAttributes, SignedData, SignerIdentifier,
        SignerInfo, SignerInfos,
    },
};
use const_oid::db::rfc5911::ID_DATA;
use der::{
    Encode,
    asn1::{OctetString, SetOfVec},
};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;

use super::{
    AffixAttributes, CERTIFICATES_MAX, DetachedSignature, Error, algorithm,
    algorithm::SignatureCheckError, attributes, path, signed_data,
};

/// A detached CMS signature between its two phases: the signed attributes are fixed,
/// the signature over them is still to be made.
///
/// 1. [`PreparedSignature::new`] (or [`PreparedSignature::from_content_digest`]) fixes
///    the content digest, the signer certificate, the chain and the signing time, and
///    with them the signed attributes (content-type, message-digest, signing-time, ESS
///    signing-certificate-v2).
/// 2. [`PreparedSignature::to_be_signed`] gives the bytes the signer's key must sign —
///    the DER `SET OF` signed attributes (RFC 5652 §5.4) — to a device, a key vault or
///    an HSM; [`PreparedSignature::to_be_signed_digest`] gives their hash for signers
///    that take a prehash.
/// 3. [`PreparedSignature::assemble`] checks the signature with the certificate's key
///    and returns the DER `ContentInfo(SignedData)`.
///
/// Preparation is deterministic: the same inputs give the same signed attributes, so a
/// service may prepare, hand out the digest for authorization, and prepare again when
/// the signature arrives. For the same inputs and signature the result is byte for byte
/// what [`sign_detached`](super::sign_detached) makes.
#[derive(Clone, Debug)]
pub struct PreparedSignature {
    signer_identifier: SignerIdentifier,
    digest_algorithm: DigestAlgorithm,
    signature_algorithm: AlgorithmIdentifierOwned,
    signed_attributes: SignedAttributes,
    to_be_signed: Vec<u8>,
    certificates: Vec<CertificateChoices>,
    signer_certificate: Certificate,
}

impl PreparedSignature {
    /// Prepares a signature over `content` by the holder of `signer_certificate`'s key,
    /// with the signature algorithm Affix uses for that key: `ecdsa-with-SHA256` and
    /// SHA-256 for P-256, Ed25519 and SHA-512 (RFC 8419) for Ed25519, SM2-with-SM3 and
    /// SM3 for SM2. `chain` and `signing_time` are as for
    /// [`sign_detached`](super::sign_detached).
    ///
    /// # Errors
    /// [`Error::UnsupportedPublicKey`] / [`Error::PublicKeyInvalid`] for a certificate
    /// key Affix does not sign with; [`Error::TooMany`] for more than
    /// [`CERTIFICATES_MAX`] certificates; [`Error::TimeOutOfRange`].
    pub fn new(
        content: &[u8],
        signer_certificate: &Certificate,
        chain: &[Certificate],
        signing_time: SystemTime,
    ) -> Result<Self, Error> {
        let digest_algorithm = Self::digest_algorithm_for(signer_certificate)?;
        Self::from_content_digest(
            &digest_algorithm.digest(content),
            signer_certificate,
            chain,
            signing_time,
        )
    }

    /// As [`PreparedSignature::new`], from the content's digest under
    /// [`PreparedSignature::digest_algorithm_for`] the signer certificate, for content
    /// hashed elsewhere.
    ///
    /// # Errors
    /// As [`PreparedSignature::new`], and [`Error::ContentDigestLength`] if
    /// `content_digest` is not a digest of that algorithm.
    pub fn from_content_digest(
        content_digest: &[u8],
        signer_certificate: &Certificate,
        chain: &[Certificate],
        signing_time: SystemTime,
    ) -> Result<Self, Error> {
        let signature_algorithm = certificate_key(signer_certificate)?
            .algorithm()
            .signature_algorithm_identifier();
        let digest_algorithm = algorithm::digest_for_signature(&signature_algorithm)?;
        if content_digest.len() != digest_algorithm.output_bytes() {
            return Err(Error::ContentDigestLength {
                len: content_digest.len(),
                expected: digest_algorithm.output_bytes(),
            });
        }
        Self::with_algorithms(
            content_digest,
            digest_algorithm,
            signature_algorithm,
            signer_certificate,
            chain,
            signing_time,
        )
    }

    /// The digest algorithm of a signature by `signer_certificate`'s key: the one the
    /// content digest of [`PreparedSignature::from_content_digest`] must use.
    ///
    /// # Errors
    /// As [`PreparedSignature::new`].
    pub fn digest_algorithm_for(
        signer_certificate: &Certificate,
    ) -> Result<DigestAlgorithm, Error> {
        let signature_algorithm = certificate_key(signer_certificate)?
            .algorithm()
            .signature_algorithm_identifier();
        algorithm::digest_for_signature(&signature_algorithm)
    }

    /// Prepares with the given algorithms (the signer's, for `sign_detached`).
    pub(super) fn with_algorithms(
        content_digest: &[u8],
        digest_algorithm: DigestAlgorithm,
        signature_algorithm: AlgorithmIdentifierOwned,
        signer_certificate: &Certificate,
        chain: &[Certificate],
        signing_time: SystemTime,
    ) -> Result<Self, Error> {
        let mut certificates = vec![CertificateChoices::Certificate(signer_certificate.clone())];
        for certificate in chain {
            let choice = CertificateChoices::Certificate(certificate.clone());
            if !certificates.contains(&choice) {
                certificates.push(choice);
            }
        }
        if certificates.len() > CERTIFICATES_MAX {
            return Err(Error::TooMany {
                what: "certificates",
                count: certificates.len(),
                max: CERTIFICATES_MAX,
            });
        }
        // Content-type (id-data: the content is detached), message-digest, signing-time
        // and ESS signing-certificate-v2, as a DER SET OF (sorted by encoding).
        let signed_attributes = SignedAttributes::try_from(vec![
            attributes::signing_time_attribute(signing_time)?,
            attributes::signing_certificate_v2_attribute(signer_certificate)?,
            create_message_digest_attribute(content_digest).map_err(from_cms_builder_error)?,
            create_content_type_attribute(ID_DATA).map_err(from_cms_builder_error)?,
        ])
        .map_err(Error::Encoding)?;
        let to_be_signed = signed_attributes.to_der().map_err(Error::Encoding)?;
        let tbs = signer_certificate.tbs_certificate();
        Ok(PreparedSignature {
            signer_identifier: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: tbs.issuer().clone(),
                serial_number: tbs.serial_number().clone(),
            }),
            digest_algorithm,
            signature_algorithm,
            signed_attributes,
            to_be_signed,
            certificates,
            signer_certificate: signer_certificate.clone(),
        })
    }

    /// Adds Affix's own signed attributes (the document and signature image digests the
    /// signer was shown; see [`AffixAttributes`]) and returns the signature with its new
    /// [`Self::to_be_signed`]. Deterministic like the rest of preparation: the same
    /// digests give the same bytes, and any other digest gives other bytes.
    ///
    /// # Errors
    /// [`Error::AttributeInvalid`] if the signed attributes already hold an Affix
    /// attribute; encoding faults.
    pub fn with_affix_attributes(mut self, affix: &AffixAttributes) -> Result<Self, Error> {
        let added = affix.to_attributes()?;
        let mut attributes = self.signed_attributes.into_vec();
        for attribute in &added {
            if attributes.iter().any(|a| a.oid == attribute.oid) {
                return Err(Error::AttributeInvalid {
                    attribute: "affix",
                    reason: "appears more than once",
                });
            }
        }
        attributes.extend(added);
        self.signed_attributes = SignedAttributes::try_from(attributes).map_err(Error::Encoding)?;
        self.to_be_signed = self.signed_attributes.to_der().map_err(Error::Encoding)?;
        Ok(self)
    }

    /// Drops the signing-time attribute, as PAdES requires (ETSI EN 319 142-1 §5.2.2:
    /// the claimed time goes into the signature dictionary's `/M`, never into the CMS),
    /// and returns the signature with its new [`Self::to_be_signed`]. Deterministic, like
    /// the rest of preparation.
    ///
    /// # Errors
    /// Encoding faults.
    pub fn without_signing_time(mut self) -> Result<Self, Error> {
        let attributes: Vec<_> = self
            .signed_attributes
            .into_vec()
            .into_iter()
            .filter(|a| a.oid != const_oid::db::rfc5911::ID_SIGNING_TIME)
            .collect();
        self.signed_attributes = SignedAttributes::try_from(attributes).map_err(Error::Encoding)?;
        self.to_be_signed = self.signed_attributes.to_der().map_err(Error::Encoding)?;
        Ok(self)
    }

    /// The bytes to sign: the DER encoding of the signed attributes as a `SET OF`
    /// (RFC 5652 §5.4). ECDSA and SM2 signers hash them as their algorithm defines;
    /// Ed25519 signs them as they are.
    pub fn to_be_signed(&self) -> &[u8] {
        &self.to_be_signed
    }

    /// The hash an ECDSA signer signs (the prehash of [`Self::to_be_signed`] under the
    /// signature's digest algorithm). `None` for Ed25519, which signs the bytes
    /// themselves, and for SM2, whose hash also covers the signer's identity (GM/T 0003
    /// `Z_A`) — give those signers [`Self::to_be_signed`].
    pub fn to_be_signed_digest(&self) -> Option<Vec<u8>> {
        match certificate_key(&self.signer_certificate).ok()?.algorithm() {
            affix_pki::KeyAlgorithm::EcdsaP256 => {
                Some(self.digest_algorithm.digest(&self.to_be_signed))
            }
            _ => None,
        }
    }

    /// The digest algorithm of the content and of the `SignerInfo`.
    pub fn digest_algorithm(&self) -> DigestAlgorithm {
        self.digest_algorithm
    }

    /// The signature algorithm identifier the `SignerInfo` will name.
    pub fn signature_algorithm(&self) -> &AlgorithmIdentifierOwned {
        &self.signature_algorithm
    }

    /// Completes the signature with `signature`, made over [`Self::to_be_signed`] by the
    /// signer certificate's key, and returns the DER `ContentInfo(SignedData)` (CAdES-B).
    /// ECDSA and SM2 signatures are DER `SEQUENCE { r, s }`, Ed25519 ones 64 bytes.
    ///
    /// # Errors
    /// [`Error::SignatureInvalid`] if `signature` does not verify with the certificate's
    /// key (it was made by another key, or over other bytes); encoding faults.
    pub fn assemble(&self, signature: &[u8]) -> Result<Vec<u8>, Error> {
        let key = certificate_key(&self.signer_certificate)?;
        algorithm::verify(
            &key,
            &self.signature_algorithm,
            Some(self.digest_algorithm),
            &self.to_be_signed,
            signature,
        )
        .map_err(|error| match error {
            SignatureCheckError::Invalid => Error::SignatureInvalid,
            SignatureCheckError::Unusable(error) => error,
        })?;
        self.assemble_unchecked(signature)
    }

    /// Completes the signature without checking it (the signer was handed the key of
    /// the certificate and checked to hold it).
    pub(super) fn assemble_unchecked(&self, signature: &[u8]) -> Result<Vec<u8>, Error> {
        let signer_info = SignerInfo {
            version: CmsVersion::V1,
            sid: self.signer_identifier.clone(),
            digest_alg: self.digest_algorithm.algorithm_identifier(),
            signed_attrs: Some(self.signed_attributes.clone()),
            signature_algorithm: self.signature_algorithm.clone(),
            signature: OctetString::new(signature).map_err(Error::Encoding)?,
            unsigned_attrs: None,
        };
        let signed_data = SignedData {
            version: CmsVersion::V1,
            digest_algorithms: SetOfVec::try_from(vec![
                self.digest_algorithm.algorithm_identifier(),
            ])
            .map_err(Error::Encoding)?,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: ID_DATA,
                econtent: None,
            },
            certificates: Some(
                CertificateSet::try_from(self.certificates.clone()).map_err(Error::Encoding)?,
            ),
            crls: None,
            signer_infos: SignerInfos::try_from(vec![signer_info]).map_err(Error::Encoding)?,
        };
        let signed_data_der = signed_data::encode_content_info(&signed_data)?;
        // Read back what we hand out: it must pass the parser every verifier applies.
        DetachedSignature::from_der(&signed_data_der)?;
        Ok(signed_data_der)
    }
}

/// The key of `certificate`.
fn certificate_key(certificate: &Certificate) -> Result<PublicKey, Error> {
    algorithm::public_key(
        certificate.tbs_certificate().subject_public_key_info(),
        &path::subject_of(certificate),
    )
}

fn from_cms_builder_error(error: cms::builder::Error) -> Error {
    match error {
        cms::builder::Error::Asn1(error) => Error::Encoding(error),
        cms::builder::Error::PublicKey(error) => Error::PublicKeyEncoding(error),
        cms::builder::Error::Signature(error) => Error::SigningFailed(error),
        _ => Error::Encoding(der::ErrorKind::Failed.into()),
    }
}
