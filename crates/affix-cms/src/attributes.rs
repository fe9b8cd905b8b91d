//! Signed and unsigned attributes: construction, and reading the signed attributes a
//! verifier interprets.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use const_oid::{
    ObjectIdentifier,
    db::rfc5911::{
        ID_AA_SIGNING_CERTIFICATE_V_2, ID_CONTENT_TYPE, ID_MESSAGE_DIGEST, ID_SIGNING_TIME,
    },
};
use der::{
    Any, DateTime, Decode, Encode,
    asn1::{OctetString, SetOfVec},
};
use x509_cert::{Certificate, attr::Attribute, time::Time};

use affix_pki::DigestAlgorithm;
use affix_pki::oid::{AA_AFFIX_DOCUMENT_DIGEST, AA_AFFIX_SIGNATURE_IMAGE_DIGEST};
use spki::AlgorithmIdentifierOwned;

use super::{ATTRIBUTES_MAX, Error, SigningCertificateV2};

/// Affix's own signed attributes: SHA-256 digests of what the signer was shown beside
/// the signed content. Each is optional (signatures made before they existed, or
/// without a document, verify as before); when present, the signature covers it.
///
/// ```text
/// -- under Affix's arc (affix_pki::oid)
/// aa-affix-documentDigest        1.3.6.1.4.1.59999.3.1
/// aa-affix-signatureImageDigest  1.3.6.1.4.1.59999.3.2
/// -- value of each (RFC 5126 §5.8.1), hashAlgorithm id-sha256 (parameters absent)
/// OtherHashAlgAndValue ::= SEQUENCE {
///     hashAlgorithm  AlgorithmIdentifier,
///     hashValue      OCTET STRING }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AffixAttributes {
    document_digest: Option<[u8; 32]>,
    signature_image_digest: Option<[u8; 32]>,
}

impl AffixAttributes {
    /// No Affix attributes.
    pub fn new() -> Self {
        Self::default()
    }

    /// With the SHA-256 digest of the document the signer was shown.
    #[must_use]
    pub fn with_document_digest(mut self, sha256: [u8; 32]) -> Self {
        self.document_digest = Some(sha256);
        self
    }

    /// With the SHA-256 digest of the signer's handwritten-signature image (its
    /// canonical bytes).
    #[must_use]
    pub fn with_signature_image_digest(mut self, sha256: [u8; 32]) -> Self {
        self.signature_image_digest = Some(sha256);
        self
    }

    /// The document digest, if the signature carries one.
    pub fn document_digest(&self) -> Option<&[u8; 32]> {
        self.document_digest.as_ref()
    }

    /// The signature image digest, if the signature carries one.
    pub fn signature_image_digest(&self) -> Option<&[u8; 32]> {
        self.signature_image_digest.as_ref()
    }

    /// The attributes to add to the signed attributes.
    pub(super) fn to_attributes(self) -> Result<Vec<Attribute>, Error> {
        let mut out = Vec::new();
        for (oid, digest) in [
            (AA_AFFIX_DOCUMENT_DIGEST, self.document_digest),
            (AA_AFFIX_SIGNATURE_IMAGE_DIGEST, self.signature_image_digest),
        ] {
            if let Some(digest) = digest {
                let value = OtherHashAlgAndValue {
                    hash_algorithm: DigestAlgorithm::Sha256.algorithm_identifier(),
                    hash_value: OctetString::new(digest).map_err(Error::Encoding)?,
                };
                out.push(attribute(oid, any_from(&value)?)?);
            }
        }
        Ok(out)
    }
}

/// `OtherHashAlgAndValue` (RFC 5126 §5.8.1).
#[derive(Clone, Debug, PartialEq, Eq, der::Sequence)]
struct OtherHashAlgAndValue {
    hash_algorithm: AlgorithmIdentifierOwned,
    hash_value: OctetString,
}

/// Reads an Affix digest attribute: SHA-256 only, 32 bytes.
fn affix_digest(attribute: &Attribute, name: &'static str) -> Result<[u8; 32], Error> {
    let value = single_value(attribute, name)?
        .decode_as::<OtherHashAlgAndValue>()
        .map_err(|_| undecodable(name))?;
    if DigestAlgorithm::from_algorithm_identifier(&value.hash_algorithm).ok()
        != Some(DigestAlgorithm::Sha256)
    {
        return Err(Error::AttributeInvalid {
            attribute: name,
            reason: "digest algorithm is not SHA-256",
        });
    }
    <[u8; 32]>::try_from(value.hash_value.as_bytes()).map_err(|_| Error::AttributeInvalid {
        attribute: name,
        reason: "digest is not 32 bytes",
    })
}

/// A single-valued attribute.
pub(super) fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute, Error> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value]).map_err(Error::Encoding)?,
    })
}

/// The signing-time attribute (RFC 5652 §11.3), truncated to whole seconds: UTCTime
/// through 2049, GeneralizedTime from 2050.
pub(super) fn signing_time_attribute(signing_time: SystemTime) -> Result<Attribute, Error> {
    let seconds = signing_time
        .duration_since(UNIX_EPOCH)
        .map_err(|_| Error::TimeOutOfRange)?
        .as_secs();
    let date_time = DateTime::from_unix_duration(Duration::from_secs(seconds))
        .map_err(|_| Error::TimeOutOfRange)?;
    // `Time::from` picks UTCTime when the year fits, GeneralizedTime otherwise.
    let time = Time::from(date_time);
    attribute(ID_SIGNING_TIME, any_from(&time)?)
}

/// The ESS signing-certificate-v2 attribute for `certificate` (RFC 5035).
pub(super) fn signing_certificate_v2_attribute(
    certificate: &Certificate,
) -> Result<Attribute, Error> {
    let value = SigningCertificateV2::for_certificate(certificate)?;
    attribute(ID_AA_SIGNING_CERTIFICATE_V_2, any_from(&value)?)
}

/// Encodes `value` and wraps it as an `Any`.
pub(super) fn any_from<T: Encode>(value: &T) -> Result<Any, Error> {
    let encoded = value.to_der().map_err(Error::Encoding)?;
    Any::from_der(&encoded).map_err(Error::Encoding)
}

/// The values of the signed attributes this module interprets.
pub(super) struct SignedAttributeValues {
    pub(super) content_type: ObjectIdentifier,
    pub(super) message_digest: Vec<u8>,
    pub(super) signing_time: Option<SystemTime>,
    pub(super) signing_certificate_v2: Option<SigningCertificateV2>,
    pub(super) affix: AffixAttributes,
}

impl SignedAttributeValues {
    /// Reads the signed attributes. Content type and message digest are required; every
    /// interpreted attribute must appear once with exactly one value (RFC 5652 §11).
    /// Attributes not interpreted here are ignored: they are still covered by the signature.
    pub(super) fn parse(attributes: &[Attribute]) -> Result<Self, Error> {
        if attributes.len() > ATTRIBUTES_MAX {
            return Err(Error::TooMany {
                what: "signed attributes",
                count: attributes.len(),
                max: ATTRIBUTES_MAX,
            });
        }
        let mut content_type = None;
        let mut message_digest = None;
        let mut signing_time = None;
        let mut signing_certificate_v2 = None;
        let mut document_digest = None;
        let mut signature_image_digest = None;
        for attribute in attributes {
            match attribute.oid {
                ID_CONTENT_TYPE => {
                    let name = "content-type";
                    let value = single_value(attribute, name)?
                        .decode_as::<ObjectIdentifier>()
                        .map_err(|_| undecodable(name))?;
                    set_once(&mut content_type, value, name)?;
                }
                ID_MESSAGE_DIGEST => {
                    let name = "message-digest";
                    let value = single_value(attribute, name)?
                        .decode_as::<OctetString>()
                        .map_err(|_| undecodable(name))?;
                    set_once(&mut message_digest, Vec::from(value.into_bytes()), name)?;
                }
                ID_SIGNING_TIME => {
                    let name = "signing-time";
                    let value = single_value(attribute, name)?
                        .decode_as::<Time>()
                        .map_err(|_| undecodable(name))?;
                    set_once(&mut signing_time, value.to_system_time(), name)?;
                }
                ID_AA_SIGNING_CERTIFICATE_V_2 => {
                    let name = "signing-certificate-v2";
                    let value = single_value(attribute, name)?
                        .decode_as::<SigningCertificateV2>()
                        .map_err(|_| undecodable(name))?;
                    set_once(&mut signing_certificate_v2, value, name)?;
                }
                AA_AFFIX_DOCUMENT_DIGEST => {
                    let name = "affix-document-digest";
                    set_once(&mut document_digest, affix_digest(attribute, name)?, name)?;
                }
                AA_AFFIX_SIGNATURE_IMAGE_DIGEST => {
                    let name = "affix-signature-image-digest";
                    let value = affix_digest(attribute, name)?;
                    set_once(&mut signature_image_digest, value, name)?;
                }
                _ => {}
            }
        }
        Ok(SignedAttributeValues {
            content_type: content_type.ok_or(Error::AttributeMissing {
                attribute: "content-type",
            })?,
            message_digest: message_digest.ok_or(Error::AttributeMissing {
                attribute: "message-digest",
            })?,
            signing_time,
            signing_certificate_v2,
            affix: AffixAttributes {
                document_digest,
                signature_image_digest,
            },
        })
    }
}

fn undecodable(attribute: &'static str) -> Error {
    Error::AttributeInvalid {
        attribute,
        reason: "value cannot be decoded",
    }
}

/// The only value of `attribute`.
pub(super) fn single_value<'a>(
    attribute: &'a Attribute,
    name: &'static str,
) -> Result<&'a Any, Error> {
    let mut values = attribute.values.iter();
    match (values.next(), values.next()) {
        (Some(value), None) => Ok(value),
        _ => Err(Error::AttributeInvalid {
            attribute: name,
            reason: "must have exactly one value",
        }),
    }
}

fn set_once<T>(slot: &mut Option<T>, value: T, name: &'static str) -> Result<(), Error> {
    if slot.is_some() {
        return Err(Error::AttributeInvalid {
            attribute: name,
            reason: "appears more than once",
        });
    }
    *slot = Some(value);
    Ok(())
}
