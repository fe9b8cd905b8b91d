//! PKCS#10 certification requests (RFC 2986), possession of the key proven.

use const_oid::{ObjectIdentifier, db::rfc5912::ID_EXTENSION_REQ};
use der::{Decode, Reader, SliceReader, asn1::BitString};
use spki::AlgorithmIdentifierOwned;
use x509_cert::{ext::Extension, name::Name, request::CertReqInfo};

use crate::error::{Error, Result};

use super::SubjectPublicKey;
use crate::algorithm::SM2_DEFAULT_DISTID;

/// A PKCS#10 certification request (RFC 2986) whose self-signature has been
/// verified with the key it carries, proving the requester holds that key.
///
/// Only the public key is used for issuance. The requested subject and
/// extensions are kept for the caller to inspect (and log) but are never
/// copied into a certificate: the profile and the registration authority
/// decide both.
#[derive(Clone, Debug)]
pub struct VerifiedCsr {
    subject: Name,
    public_key: SubjectPublicKey,
    requested_extensions: Vec<ObjectIdentifier>,
}

impl VerifiedCsr {
    /// Largest DER request accepted. Real requests are well under 2 KiB.
    pub const DER_BYTES_MAX: usize = 16 * 1024;

    /// Parse a DER `CertificationRequest` and verify its self-signature.
    ///
    /// The signature is checked over the `certificationRequestInfo` bytes
    /// exactly as received. SM2 requests may be signed with the default
    /// distinguishing identifier `1234567812345678` or with an empty one
    /// (OpenSSL 3.0's `req` default); either proves possession.
    ///
    /// # Errors
    /// - [`Error::InputTooLarge`] over [`Self::DER_BYTES_MAX`];
    /// - [`Error::MalformedCsr`] for anything that is not a DER
    ///   `CertificationRequest` (including trailing bytes);
    /// - [`Error::UnsupportedPublicKey`] / [`Error::MalformedPublicKey`] for
    ///   keys this CA does not certify;
    /// - [`Error::UnsupportedSignatureAlgorithm`] for other signature
    ///   algorithms;
    /// - [`Error::CsrSignatureInvalid`] if the signature does not verify.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        if der.len() > Self::DER_BYTES_MAX {
            return Err(Error::InputTooLarge {
                what: "PKCS#10 request",
                len_bytes: der.len(),
                max_bytes: Self::DER_BYTES_MAX,
            });
        }
        // CertificationRequest ::= SEQUENCE {
        //      certificationRequestInfo CertificationRequestInfo,
        //      signatureAlgorithm AlgorithmIdentifier{{ SignatureAlgorithms }},
        //      signature          BIT STRING
        // }
        let mut reader = SliceReader::new(der).map_err(Error::MalformedCsr)?;
        let (info_der, algorithm, signature) = reader
            .sequence(|reader| {
                let info_der = reader.tlv_bytes()?;
                let algorithm = AlgorithmIdentifierOwned::decode(reader)?;
                let signature = BitString::decode(reader)?;
                Ok::<_, der::Error>((info_der, algorithm, signature))
            })
            .map_err(Error::MalformedCsr)?;
        reader.finish().map_err(Error::MalformedCsr)?;
        let info = CertReqInfo::from_der(info_der).map_err(Error::MalformedCsr)?;

        let public_key = SubjectPublicKey::from_spki(&info.public_key)?;
        // Proof of possession holds whichever SM2 identifier was hashed in;
        // OpenSSL 3.0 `req` signs with an empty one unless told
        // `-sigopt distid:1234567812345678`, so accept both here (and only
        // here: what this crate signs always uses the default).
        if !public_key.verify_with_sm2_ids(
            &algorithm,
            info_der,
            &signature,
            &[SM2_DEFAULT_DISTID, ""],
        )? {
            return Err(Error::CsrSignatureInvalid);
        }

        let mut requested_extensions = Vec::new();
        for attribute in info.attributes.iter() {
            if attribute.oid != ID_EXTENSION_REQ {
                continue;
            }
            for value in attribute.values.iter() {
                let extensions: Vec<Extension> = value.decode_as().map_err(Error::MalformedCsr)?;
                requested_extensions.extend(extensions.iter().map(|e| e.extn_id));
            }
        }

        Ok(Self {
            subject: info.subject,
            public_key,
            requested_extensions,
        })
    }

    /// Parse a PEM `CERTIFICATE REQUEST` (or `NEW CERTIFICATE REQUEST`)
    /// and verify it as [`VerifiedCsr::from_der`] does.
    ///
    /// # Errors
    /// [`Error::InputTooLarge`] for text over twice [`Self::DER_BYTES_MAX`],
    /// [`Error::MalformedCsr`] for bad PEM or another label, then as
    /// [`VerifiedCsr::from_der`].
    pub fn from_pem(pem: &str) -> Result<Self> {
        let max_bytes = 2 * Self::DER_BYTES_MAX;
        if pem.len() > max_bytes {
            return Err(Error::InputTooLarge {
                what: "PEM PKCS#10 request",
                len_bytes: pem.len(),
                max_bytes,
            });
        }
        let (label, der) =
            der::pem::decode_vec(pem.as_bytes()).map_err(|e| Error::MalformedCsr(e.into()))?;
        if label != "CERTIFICATE REQUEST" && label != "NEW CERTIFICATE REQUEST" {
            return Err(Error::MalformedCsr(der::Tag::Sequence.value_error().into()));
        }
        Self::from_der(&der)
    }

    /// The subject the requester asked for. Unverified: not used for
    /// issuance.
    pub fn requested_subject(&self) -> &Name {
        &self.subject
    }

    /// Object identifiers of the extensions the requester asked for. None is
    /// ever copied into a certificate.
    pub fn requested_extensions(&self) -> &[ObjectIdentifier] {
        &self.requested_extensions
    }

    /// The requester's public key, possession proven.
    pub fn public_key(&self) -> &SubjectPublicKey {
        &self.public_key
    }
}
