//! The one `SignedData` parser and verifier (RFC 5652 §5), for detached signatures and
//! for encapsulated content such as RFC 3161 time-stamp tokens alike.
//!
//! [`SignedDataParts::from_der`] accepts only canonical DER with exactly one `SignerInfo`,
//! the version numbers RFC 5652 prescribes and the signer's digest algorithm listed;
//! [`SignedDataParts::verify`] checks content type and message digest, finds the signer
//! certificate, verifies the signature over the signed attributes, the ESS
//! signing-certificate-v2 binding, the signer's key usage and the certificate path.

use cms::{
    cert::CertificateChoices,
    content_info::{CmsVersion, ContentInfo},
    revocation::RevocationInfoChoice,
    signed_data::{SignedData, SignerIdentifier, SignerInfo},
};
use const_oid::{
    ObjectIdentifier,
    db::{
        rfc3161::ID_AA_TIME_STAMP_TOKEN,
        rfc5911::{ID_DATA, ID_SIGNED_DATA},
    },
};
use der::{Decode, Encode, Tag, Tagged, asn1::SetOfVec};
use x509_cert::{Certificate, ext::pkix::SubjectKeyIdentifier};

use super::{
    ATTRIBUTES_MAX, CERTIFICATES_MAX, EmbeddedTimestamp, Error, ValidationTime, VerifiedSignature,
    algorithm, algorithm::SignatureCheckError, attributes, attributes::SignedAttributeValues, path,
};

/// How exactly the bytes must be DER.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Encoding {
    /// Byte for byte the DER re-encoding: for the signatures Affix makes and keeps as
    /// evidence, so that what is verified is exactly what is stored.
    Canonical,
    /// Whatever the DER decoder accepts. Third-party time-stamp tokens need this:
    /// OpenSSL's TSA lists its own certificate first in the `SET OF` certificates,
    /// against DER order. Nothing verified depends on it: the signature covers the
    /// signed attributes as re-encoded (a signer that did not sort them fails), the
    /// content is hashed as found, and certificates count only on a verified path.
    Decodable,
}

/// A `ContentInfo(SignedData)` that passed the structural checks; nothing about
/// signatures or trust.
#[derive(Clone, Debug)]
pub(super) struct SignedDataParts {
    pub(super) der: Vec<u8>,
    pub(super) signed_data: SignedData,
    pub(super) signer_info: SignerInfo,
    pub(super) certificates: Vec<Certificate>,
}

impl SignedDataParts {
    /// Parses `der` (at most `bytes_max` bytes): a DER `ContentInfo` (canonical, if
    /// `encoding` says so) holding `SignedData` with exactly one `SignerInfo`, RFC 5652's
    /// version numbers, the signer's digest algorithm listed, at most
    /// [`CERTIFICATES_MAX`] certificates and [`ATTRIBUTES_MAX`] attributes of each kind.
    /// `what` names the input in [`Error::InputTooLarge`].
    pub(super) fn from_der(
        der: &[u8],
        what: &'static str,
        bytes_max: usize,
        encoding: Encoding,
    ) -> Result<Self, Error> {
        if der.len() > bytes_max {
            return Err(Error::InputTooLarge {
                what,
                len: der.len(),
                max: bytes_max,
            });
        }
        let signed_data = decode(der)?;
        // The decoder re-sorts SET OF and tolerates some non-DER forms; insist that the
        // bytes are exactly what we would encode, so that what is verified (the re-encoded
        // signed attributes, certificates) is what is stored.
        if encoding == Encoding::Canonical && encode_content_info(&signed_data)? != der {
            return Err(Error::NonCanonicalEncoding { what: "SignedData" });
        }

        let [signer_info] = signed_data.signer_infos.0.as_slice() else {
            return Err(Error::SignerInfoCount {
                count: signed_data.signer_infos.0.len(),
            });
        };
        // Neither version numbers nor digestAlgorithms are signed: pin them to what
        // RFC 5652 prescribes, so that the only bytes that can vary without breaking a
        // signature are carried certificates/CRLs not on the path and unsigned attributes.
        let signer_info_version = match signer_info.sid {
            SignerIdentifier::IssuerAndSerialNumber(_) => CmsVersion::V1,
            SignerIdentifier::SubjectKeyIdentifier(_) => CmsVersion::V3,
        };
        if signer_info.version != signer_info_version {
            return Err(Error::VersionInvalid {
                what: "SignerInfo",
                version: signer_info.version as u8,
            });
        }
        if signed_data.version != signed_data_version(&signed_data, signer_info_version) {
            return Err(Error::VersionInvalid {
                what: "SignedData",
                version: signed_data.version as u8,
            });
        }
        if !signed_data
            .digest_algorithms
            .iter()
            .any(|algorithm| algorithm == &signer_info.digest_alg)
        {
            return Err(Error::DigestAlgorithmNotListed {
                oid: signer_info.digest_alg.oid,
            });
        }
        let choices = signed_data
            .certificates
            .as_ref()
            .map_or(&[][..], |set| set.0.as_slice());
        if choices.len() > CERTIFICATES_MAX {
            return Err(Error::TooMany {
                what: "certificates",
                count: choices.len(),
                max: CERTIFICATES_MAX,
            });
        }
        let certificates = choices
            .iter()
            .filter_map(|choice| match choice {
                CertificateChoices::Certificate(certificate) => Some(certificate.clone()),
                CertificateChoices::Other(_) => None,
            })
            .collect();
        for (what, attributes) in [
            ("signed attributes", &signer_info.signed_attrs),
            ("unsigned attributes", &signer_info.unsigned_attrs),
        ] {
            let count = attributes.as_ref().map_or(0, SetOfVec::len);
            if count > ATTRIBUTES_MAX {
                return Err(Error::TooMany {
                    what,
                    count,
                    max: ATTRIBUTES_MAX,
                });
            }
        }
        Ok(SignedDataParts {
            der: der.to_vec(),
            signer_info: signer_info.clone(),
            signed_data,
            certificates,
        })
    }

    /// The encapsulated content type.
    pub(super) fn content_type(&self) -> ObjectIdentifier {
        self.signed_data.encap_content_info.econtent_type
    }

    /// The value of the encapsulated `eContent` OCTET STRING, if present.
    pub(super) fn encapsulated_content(&self) -> Result<Option<&[u8]>, Error> {
        match &self.signed_data.encap_content_info.econtent {
            None => Ok(None),
            Some(content) if content.tag() == Tag::OctetString => Ok(Some(content.value())),
            Some(_) => Err(Error::Malformed {
                what: "eContent",
                source: Tag::OctetString.value_error().into(),
            }),
        }
    }

    /// The `SignerInfo` signature value.
    pub(super) fn signature_value(&self) -> &[u8] {
        self.signer_info.signature.as_bytes()
    }

    /// Whether the signer identifier names `certificate`.
    pub(super) fn signer_identifies(&self, certificate: &Certificate) -> bool {
        identifies(&self.signer_info.sid, certificate)
    }

    /// The embedded signature time-stamp token, if any; see
    /// [`super::DetachedSignature::embedded_timestamp`].
    pub(super) fn embedded_timestamp(&self) -> Result<Option<EmbeddedTimestamp>, Error> {
        let mut tokens = self
            .signer_info
            .unsigned_attrs
            .iter()
            .flat_map(|attributes| attributes.iter())
            .filter(|attribute| attribute.oid == ID_AA_TIME_STAMP_TOKEN)
            .flat_map(|attribute| attribute.values.iter());
        match (tokens.next(), tokens.next()) {
            (None, _) => Ok(None),
            (Some(token), None) => {
                let token_der = token.to_der().map_err(Error::Encoding)?;
                EmbeddedTimestamp::from_token(&token_der).map(Some)
            }
            (Some(_), Some(_)) => Err(Error::TimestampMalformed {
                reason: "more than one signature time-stamp token",
            }),
        }
    }

    /// Verifies the signer over `content` (the detached content, or the encapsulated
    /// one), validating certificates at `validation_time`.
    pub(super) fn verify(
        &self,
        content: &[u8],
        trust_anchors: &[Certificate],
        validation_time: ValidationTime,
    ) -> Result<VerifiedSignature, Error> {
        let signer_info = &self.signer_info;
        let digest_algorithm = algorithm::digest_algorithm(&signer_info.digest_alg)?;
        let signed_attributes = signer_info
            .signed_attrs
            .as_ref()
            .ok_or(Error::SignedAttributesMissing)?;
        let values = SignedAttributeValues::parse(signed_attributes.as_slice())?;

        // RFC 5652 §11.1: content-type must equal eContentType.
        let content_type = self.content_type();
        if values.content_type != content_type {
            return Err(Error::ContentTypeMismatch {
                attribute: values.content_type,
                content_type,
            });
        }
        let content_digest = digest_algorithm.digest(content);
        if content_digest != values.message_digest {
            return Err(Error::MessageDigestMismatch);
        }

        let signer_certificate = self.signer_certificate(trust_anchors)?;
        let subject = path::subject_of(&signer_certificate);
        let key = algorithm::public_key(
            signer_certificate
                .tbs_certificate()
                .subject_public_key_info(),
            &subject,
        )?;
        // RFC 5652 §5.4: the signature covers the DER encoding of the SignedAttributes
        // with an explicit SET OF tag, not the [0] IMPLICIT tag it travels under. The
        // decoder sorted them into DER order, and the canonical check at parse time
        // refused any other order.
        let signed_attributes_der = signed_attributes.to_der().map_err(Error::Encoding)?;
        let signature_algorithm = algorithm::verify(
            &key,
            &signer_info.signature_algorithm,
            Some(digest_algorithm),
            &signed_attributes_der,
            self.signature_value(),
        )
        .map_err(|error| match error {
            SignatureCheckError::Invalid => Error::SignatureInvalid,
            SignatureCheckError::Unusable(error) => error,
        })?;

        let signing_certificate_bound = match &values.signing_certificate_v2 {
            Some(signing_certificate) if signing_certificate.identifies(&signer_certificate)? => {
                true
            }
            Some(_) => return Err(Error::SigningCertificateMismatch),
            None => false,
        };
        path::check_signer_key_usage(&signer_certificate)?;
        let chain = path::validate(
            &signer_certificate,
            &self.certificates,
            trust_anchors,
            validation_time.instant(),
        )?;
        let timestamp = self.embedded_timestamp()?;

        Ok(VerifiedSignature {
            signer_certificate,
            signer_subject: subject,
            signing_time: values.signing_time,
            chain,
            digest_algorithm,
            signature_algorithm,
            content_digest,
            signature_value: self.signature_value().to_vec(),
            signing_certificate_bound,
            affix_attributes: values.affix,
            signed_attributes_der,
            timestamp,
            validation_time,
        })
    }

    /// The one certificate, among those carried and the trust anchors, that the signer
    /// identifier names.
    fn signer_certificate(&self, trust_anchors: &[Certificate]) -> Result<Certificate, Error> {
        let mut found: Option<&Certificate> = None;
        for certificate in self.certificates.iter().chain(trust_anchors) {
            if !self.signer_identifies(certificate) {
                continue;
            }
            match found {
                Some(previous) if previous != certificate => {
                    return Err(Error::SignerCertificateAmbiguous);
                }
                _ => found = Some(certificate),
            }
        }
        found.cloned().ok_or(Error::SignerCertificateNotFound)
    }
}

/// Decodes a `ContentInfo` that must hold `SignedData`.
pub(super) fn decode(der: &[u8]) -> Result<SignedData, Error> {
    let content_info = ContentInfo::from_der(der).map_err(Error::malformed("ContentInfo"))?;
    if content_info.content_type != ID_SIGNED_DATA {
        return Err(Error::NotSignedData {
            content_type: content_info.content_type,
        });
    }
    content_info
        .content
        .decode_as::<SignedData>()
        .map_err(Error::malformed("SignedData"))
}

/// The DER `ContentInfo` holding `signed_data`.
pub(super) fn encode_content_info(signed_data: &SignedData) -> Result<Vec<u8>, Error> {
    ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: attributes::any_from(signed_data)?,
    }
    .to_der()
    .map_err(Error::Encoding)
}

/// RFC 5652 §5.1: v5 if a certificate or revocation entry of type "other" is present;
/// else v3 if a SignerInfo is v3 or eContentType is not id-data (attribute
/// certificates, the v4 case, do not decode here); else v1.
fn signed_data_version(signed_data: &SignedData, signer_info_version: CmsVersion) -> CmsVersion {
    let has_other_certificates = signed_data.certificates.as_ref().is_some_and(|set| {
        set.0
            .iter()
            .any(|choice| matches!(choice, CertificateChoices::Other(_)))
    });
    let has_other_revocation_info = signed_data.crls.as_ref().is_some_and(|crls| {
        crls.0
            .iter()
            .any(|choice| matches!(choice, RevocationInfoChoice::Other(_)))
    });
    if has_other_certificates || has_other_revocation_info {
        CmsVersion::V5
    } else if signer_info_version == CmsVersion::V3
        || signed_data.encap_content_info.econtent_type != ID_DATA
    {
        CmsVersion::V3
    } else {
        CmsVersion::V1
    }
}

/// Whether `sid` names `certificate` (RFC 5652 §5.3).
fn identifies(sid: &SignerIdentifier, certificate: &Certificate) -> bool {
    let tbs = certificate.tbs_certificate();
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(issuer_and_serial) => {
            tbs.issuer() == &issuer_and_serial.issuer
                && tbs.serial_number() == &issuer_and_serial.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(wanted) => matches!(
            tbs.get_extension::<SubjectKeyIdentifier>(),
            Ok(Some((_, found))) if found == *wanted
        ),
    }
}
