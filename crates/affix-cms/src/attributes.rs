//! Signed and unsigned attributes: construction, and the ESS signing-certificate-v2 type.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use const_oid::ObjectIdentifier;
use der::{
    Any, DateTime, Decode, Encode, Sequence,
    asn1::{OctetString, SetOfVec},
};
use sha2::Digest as _;
use spki::AlgorithmIdentifierOwned;
use x509_cert::{
    Certificate,
    attr::Attribute,
    ext::pkix::name::{GeneralName, GeneralNames},
    serial_number::SerialNumber,
    time::Time,
};

use super::{ATTRIBUTES_MAX, DigestAlgorithm, Error, oid};

/// ESS `SigningCertificateV2` (RFC 5035 §3).
///
/// ```text
/// SigningCertificateV2 ::=  SEQUENCE {
///     certs        SEQUENCE OF ESSCertIDv2,
///     policies     SEQUENCE OF PolicyInformation OPTIONAL
/// }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(super) struct SigningCertificateV2 {
    pub(super) certs: Vec<EssCertIdV2>,
    #[asn1(optional = "true")]
    pub(super) policies: Option<Vec<Any>>,
}

/// ESS `ESSCertIDv2` (RFC 5035 §4).
///
/// ```text
/// ESSCertIDv2 ::=  SEQUENCE {
///     hashAlgorithm           AlgorithmIdentifier
///                             DEFAULT {algorithm id-sha256},
///     certHash                 Hash,
///     issuerSerial             IssuerSerial OPTIONAL
/// }
/// Hash ::= OCTET STRING
/// ```
///
/// `hashAlgorithm` is `None` for the DEFAULT (SHA-256): DER omits default values.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(super) struct EssCertIdV2 {
    #[asn1(optional = "true")]
    pub(super) hash_algorithm: Option<AlgorithmIdentifierOwned>,
    pub(super) cert_hash: OctetString,
    #[asn1(optional = "true")]
    pub(super) issuer_serial: Option<IssuerSerial>,
}

/// ESS `IssuerSerial` (RFC 5035 §4).
///
/// ```text
/// IssuerSerial ::= SEQUENCE {
///     issuer                   GeneralNames,
///     serialNumber             CertificateSerialNumber
/// }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(super) struct IssuerSerial {
    pub(super) issuer: GeneralNames,
    pub(super) serial_number: SerialNumber,
}

impl SigningCertificateV2 {
    /// An attribute value naming `certificate` by SHA-256 hash and issuer/serial.
    pub(super) fn for_certificate(certificate: &Certificate) -> Result<Self, Error> {
        let certificate_der = certificate.to_der().map_err(Error::Encoding)?;
        let tbs = certificate.tbs_certificate();
        Ok(SigningCertificateV2 {
            certs: vec![EssCertIdV2 {
                hash_algorithm: None,
                cert_hash: OctetString::new(sha2::Sha256::digest(&certificate_der).to_vec())
                    .map_err(Error::Encoding)?,
                issuer_serial: Some(IssuerSerial {
                    issuer: vec![GeneralName::DirectoryName(tbs.issuer().clone())],
                    serial_number: tbs.serial_number().clone(),
                }),
            }],
            policies: None,
        })
    }

    /// Whether the first `ESSCertIDv2` (the one RFC 5035 §3 says identifies the signing
    /// certificate) names `certificate`.
    pub(super) fn identifies(&self, certificate: &Certificate) -> Result<bool, Error> {
        let Some(first) = self.certs.first() else {
            return Ok(false);
        };
        let digest = match &first.hash_algorithm {
            None => DigestAlgorithm::Sha256,
            Some(algorithm) => DigestAlgorithm::from_algorithm_identifier(algorithm)?,
        };
        let certificate_der = certificate.to_der().map_err(Error::Encoding)?;
        if digest.digest(&certificate_der) != first.cert_hash.as_bytes() {
            return Ok(false);
        }
        let Some(issuer_serial) = &first.issuer_serial else {
            return Ok(true);
        };
        let tbs = certificate.tbs_certificate();
        let issuer_named = issuer_serial
            .issuer
            .iter()
            .any(|name| matches!(name, GeneralName::DirectoryName(name) if name == tbs.issuer()));
        Ok(issuer_named && issuer_serial.serial_number == *tbs.serial_number())
    }
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
    attribute(oid::SIGNING_TIME, any_from(&time)?)
}

/// The ESS signing-certificate-v2 attribute for `certificate` (RFC 5035).
pub(super) fn signing_certificate_v2_attribute(
    certificate: &Certificate,
) -> Result<Attribute, Error> {
    let value = SigningCertificateV2::for_certificate(certificate)?;
    attribute(oid::SIGNING_CERTIFICATE_V2, any_from(&value)?)
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
        for attribute in attributes {
            match attribute.oid {
                oid::CONTENT_TYPE => {
                    let name = "content-type";
                    let value = single_value(attribute, name)?
                        .decode_as::<ObjectIdentifier>()
                        .map_err(|_| undecodable(name))?;
                    set_once(&mut content_type, value, name)?;
                }
                oid::MESSAGE_DIGEST => {
                    let name = "message-digest";
                    let value = single_value(attribute, name)?
                        .decode_as::<OctetString>()
                        .map_err(|_| undecodable(name))?;
                    set_once(&mut message_digest, Vec::from(value.into_bytes()), name)?;
                }
                oid::SIGNING_TIME => {
                    let name = "signing-time";
                    let value = single_value(attribute, name)?
                        .decode_as::<Time>()
                        .map_err(|_| undecodable(name))?;
                    set_once(&mut signing_time, value.to_system_time(), name)?;
                }
                oid::SIGNING_CERTIFICATE_V2 => {
                    let name = "signing-certificate-v2";
                    let value = single_value(attribute, name)?
                        .decode_as::<SigningCertificateV2>()
                        .map_err(|_| undecodable(name))?;
                    set_once(&mut signing_certificate_v2, value, name)?;
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
