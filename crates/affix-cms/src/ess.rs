//! The ESS signing-certificate-v2 attribute (RFC 5035): which certificate a signer
//! meant to sign with. CAdES-B signatures carry it, and RFC 3161 time-stamp tokens
//! must (RFC 5816).
//!
//! One definition for both: `affix-tsp` uses these types.

use der::{Encode, Sequence, asn1::OctetString};
use spki::AlgorithmIdentifierOwned;
use x509_cert::{
    Certificate,
    ext::pkix::{
        certpolicy::PolicyInformation,
        name::{GeneralName, GeneralNames},
    },
    serial_number::SerialNumber,
};

use super::{DigestAlgorithm, Error, algorithm};

/// The `signing-certificate-v2` signed attribute (RFC 5035 §5.4.1.1).
///
/// ```text
/// SigningCertificateV2 ::=  SEQUENCE {
///     certs        SEQUENCE OF ESSCertIDv2,
///     policies     SEQUENCE OF PolicyInformation OPTIONAL
/// }
///
/// id-aa-signingCertificateV2 OBJECT IDENTIFIER ::= { iso(1)
///     member-body(2) us(840) rsadsi(113549) pkcs(1) pkcs9(9)
///     smime(16) id-aa(2) 47 }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SigningCertificateV2 {
    /// The signer's certificate first, then optionally its chain.
    pub certs: Vec<EssCertIdV2>,
    /// Policies under which the certificates may be used.
    #[asn1(optional = "true")]
    pub policies: Option<Vec<PolicyInformation>>,
}

/// Identifies a certificate by hash (RFC 5035 §4).
///
/// ```text
/// ESSCertIDv2 ::=  SEQUENCE {
///     hashAlgorithm           AlgorithmIdentifier
///            DEFAULT {algorithm id-sha256},
///     certHash                 Hash,
///     issuerSerial             IssuerSerial OPTIONAL
/// }
///
/// Hash ::= OCTET STRING
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct EssCertIdV2 {
    /// Hash algorithm of `cert_hash`; `None` stands for the default, SHA-256, which DER
    /// requires to be omitted (see [`EssCertIdV2::hash_algorithm_or_default`]).
    ///
    /// An `Option` rather than a `DEFAULT` field because the `der` derive only supports
    /// defaults of `Copy` types.
    #[asn1(optional = "true")]
    pub hash_algorithm: Option<AlgorithmIdentifierOwned>,
    /// Hash of the whole DER certificate.
    pub cert_hash: OctetString,
    /// Issuer and serial number of the certificate.
    #[asn1(optional = "true")]
    pub issuer_serial: Option<IssuerSerial>,
}

/// Issuer and serial number of a certificate (RFC 5035 §4).
///
/// ```text
/// IssuerSerial ::= SEQUENCE {
///     issuer                   GeneralNames,
///     serialNumber             CertificateSerialNumber
/// }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct IssuerSerial {
    /// The issuer, as a `directoryName`.
    pub issuer: GeneralNames,
    /// The certificate's serial number.
    pub serial_number: SerialNumber,
}

impl SigningCertificateV2 {
    /// The value Affix signs: one `ESSCertIDv2` naming `certificate` by its SHA-256 hash
    /// (the DEFAULT, so `hashAlgorithm` is omitted) and its issuer and serial number.
    ///
    /// # Errors
    /// [`Error::Encoding`] on an internal encoding fault.
    pub fn for_certificate(certificate: &Certificate) -> Result<Self, Error> {
        let certificate_der = certificate.to_der().map_err(Error::Encoding)?;
        let tbs = certificate.tbs_certificate();
        Ok(SigningCertificateV2 {
            certs: vec![EssCertIdV2 {
                hash_algorithm: None,
                cert_hash: OctetString::new(DigestAlgorithm::Sha256.digest(&certificate_der))
                    .map_err(Error::Encoding)?,
                issuer_serial: Some(IssuerSerial {
                    issuer: vec![GeneralName::DirectoryName(tbs.issuer().clone())],
                    serial_number: tbs.serial_number().clone(),
                }),
            }],
            policies: None,
        })
    }

    /// Whether the first `ESSCertIDv2` (the one that identifies the signing
    /// certificate, RFC 5035 §3) names `certificate`: its hash matches and, when
    /// present, so do issuer and serial number.
    ///
    /// # Errors
    /// [`Error::UnsupportedDigestAlgorithm`] for a hash algorithm other than SHA-2 or
    /// SM3; [`Error::Encoding`] on an internal encoding fault.
    pub fn identifies(&self, certificate: &Certificate) -> Result<bool, Error> {
        let Some(first) = self.certs.first() else {
            return Ok(false);
        };
        let digest = algorithm::digest_algorithm(&first.hash_algorithm_or_default())?;
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

impl EssCertIdV2 {
    /// The hash algorithm, with the `DEFAULT` (SHA-256 without parameters) filled in.
    pub fn hash_algorithm_or_default(&self) -> AlgorithmIdentifierOwned {
        self.hash_algorithm
            .clone()
            .unwrap_or_else(|| DigestAlgorithm::Sha256.algorithm_identifier())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::Decode;

    #[test]
    fn ess_cert_id_without_algorithm_is_sha256() {
        let id = EssCertIdV2 {
            hash_algorithm: None,
            cert_hash: OctetString::new([0u8; 32]).unwrap(),
            issuer_serial: None,
        };
        let der = id.to_der().unwrap();
        // SEQUENCE { OCTET STRING } only.
        assert_eq!(&der[..4], &[0x30, 34, 0x04, 32]);
        let back = EssCertIdV2::from_der(&der).unwrap();
        assert_eq!(back, id);
        assert_eq!(
            back.hash_algorithm_or_default(),
            DigestAlgorithm::Sha256.algorithm_identifier()
        );
    }
}
