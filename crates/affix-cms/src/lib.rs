//! CMS (RFC 5652) detached signatures with CAdES-B and CAdES-T attributes.
//!
//! Pure core: no I/O, no clock. The signing time, the validation time and the trust
//! anchors are parameters; keys are [`signature::Signer`] + [`signature::Keypair`]
//! handles, so a key vault or HSM plugs in without this module seeing key bytes.
//!
//! # What [`sign_detached`] produces
//!
//! A DER `ContentInfo` holding `SignedData` (version 1) with
//! - `digestAlgorithms` = { SHA-256 for ECDSA P-256, SHA-512 for Ed25519 (RFC 8419), SM3
//!   for SM2 };
//! - `encapContentInfo` = { `id-data`, `eContent` absent } — the content is detached;
//! - `certificates` = the signer certificate and the chain the caller passes;
//! - exactly one `SignerInfo` (version 1), signer identified by `issuerAndSerialNumber`,
//!   with the signed attributes content-type (`id-data`), message-digest, signing-time
//!   and ESS signing-certificate-v2 (RFC 5035: SHA-256 of the signer certificate plus
//!   issuer and serial number).
//!
//! [`add_timestamp`] turns this CAdES-B signature into CAdES-T by adding an RFC 3161 token
//! over the signature value as the unsigned attribute `id-aa-signatureTimeStampToken`.
//!
//! # What verification checks
//!
//! [`verify_detached`] and [`verify_detached_timestamped`] accept only canonical DER
//! within [`SIGNED_DATA_BYTES_MAX`], exactly one `SignerInfo`, detached `id-data` content
//! and signed attributes. They check the message digest against the content, the
//! signature over the DER `SET OF` signed attributes, the ESS signing-certificate-v2
//! binding when present, the signer's key usage, and a certificate path from the signer
//! to one of the caller's trust anchors (issuer signatures, validity, CA constraints).
//! An embedded time-stamp token is extracted and its message imprint checked against the
//! signature value; the token's own signature is left to a [`TimestampTokenVerifier`]
//! (the TSA module).
//!
//! Not checked: revocation (CRL, OCSP) and certificate policies. Those belong to the
//! evidence layer that knows which policy applies.
//!
//! # Algorithms
//!
//! ECDSA P-256, Ed25519 and SM2-with-SM3 (default distinguishing identifier
//! [`SM2_DEFAULT_DISTID`]; wrap SM2 signers in [`Sm2DerSigner`]).
#![forbid(unsafe_code)]

mod algorithm;
mod attributes;
mod error;
mod path;

mod timestamp;

use std::time::SystemTime;

use cms::{
    builder::SignerInfoBuilder,
    cert::{CertificateChoices, IssuerAndSerialNumber},
    content_info::{CmsVersion, ContentInfo},
    revocation::RevocationInfoChoice,
    signed_data::{
        CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo,
        SignerInfos,
    },
};
use der::{Any, Decode, Encode, asn1::SetOfVec};
use signature::{Keypair, Signer};
use spki::{DynSignatureAlgorithmIdentifier, EncodePublicKey, SignatureBitStringEncoding};
use x509_cert::{
    Certificate, attr::Attribute, builder::Builder as _, ext::pkix::SubjectKeyIdentifier,
};

/// SM2 signers sign to DER through the CA crate's adapter (one implementation for all PKI crates).
pub use affix_pki::ca::Sm2DerSigner;
pub use algorithm::{DigestAlgorithm, SM2_DEFAULT_DISTID, SignatureAlgorithm};
pub use error::Error;
pub use timestamp::{EmbeddedTimestamp, TimestampTokenVerifier};

use algorithm::{PublicKey, SignatureCheckError};
use attributes::SignedAttributeValues;

/// Largest `ContentInfo(SignedData)` accepted, in bytes. A signature with a four-level
/// chain and a time-stamp token with its TSA chain stays under 32 KiB.
pub const SIGNED_DATA_BYTES_MAX: usize = 256 * 1024;

/// Largest time-stamp token accepted, in bytes.
pub const TIMESTAMP_TOKEN_BYTES_MAX: usize = 64 * 1024;

/// Most certificates accepted in a `SignedData` (and emitted by [`sign_detached`]).
pub const CERTIFICATES_MAX: usize = 16;

/// Longest certificate path accepted, signer and trust anchor included.
pub const CHAIN_DEPTH_MAX: usize = 8;

/// Most signed attributes, and most unsigned attributes, accepted in a `SignerInfo`.
pub const ATTRIBUTES_MAX: usize = 32;

/// Object identifiers used by this module.
mod oid {
    use const_oid::ObjectIdentifier as Oid;

    // RFC 5652 content types and attributes.
    pub(super) const DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.1");
    pub(super) const SIGNED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.2");
    pub(super) const CONTENT_TYPE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.3");
    pub(super) const MESSAGE_DIGEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.4");
    pub(super) const SIGNING_TIME: Oid = Oid::new_unwrap("1.2.840.113549.1.9.5");
    // RFC 5035 id-aa-signingCertificateV2.
    pub(super) const SIGNING_CERTIFICATE_V2: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.47");
    // RFC 3161 appendix A id-aa-signatureTimeStampToken, id-ct-TSTInfo.
    pub(super) const SIGNATURE_TIME_STAMP_TOKEN: Oid =
        Oid::new_unwrap("1.2.840.113549.1.9.16.2.14");
    pub(super) const TST_INFO: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.1.4");
    // Digests: RFC 5754, GM/T 0004 (SM3).
    pub(super) const SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
    pub(super) const SHA384: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.2");
    pub(super) const SHA512: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.3");
    pub(super) const SM3: Oid = Oid::new_unwrap("1.2.156.10197.1.401");
    // Keys and signatures: RFC 5480, RFC 5758, RFC 8410, GM/T 0006.
    pub(super) const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
    pub(super) const SECP256R1: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
    pub(super) const SM2_CURVE: Oid = Oid::new_unwrap("1.2.156.10197.1.301");
    pub(super) const ECDSA_WITH_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
    pub(super) const ECDSA_WITH_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
    pub(super) const ECDSA_WITH_SHA512: Oid = Oid::new_unwrap("1.2.840.10045.4.3.4");
    pub(super) const ED25519: Oid = Oid::new_unwrap("1.3.101.112");
    pub(super) const SM2_SIGN: Oid = Oid::new_unwrap("1.2.156.10197.1.301.1");
    pub(super) const SM2_WITH_SM3: Oid = Oid::new_unwrap("1.2.156.10197.1.501");
    // RFC 5280 certificate extensions.
    pub(super) const CE_SUBJECT_KEY_IDENTIFIER: Oid = Oid::new_unwrap("2.5.29.14");
    pub(super) const CE_KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.15");
    pub(super) const CE_SUBJECT_ALT_NAME: Oid = Oid::new_unwrap("2.5.29.17");
    pub(super) const CE_BASIC_CONSTRAINTS: Oid = Oid::new_unwrap("2.5.29.19");
    pub(super) const CE_CERTIFICATE_POLICIES: Oid = Oid::new_unwrap("2.5.29.32");
    pub(super) const CE_AUTHORITY_KEY_IDENTIFIER: Oid = Oid::new_unwrap("2.5.29.35");
    pub(super) const CE_EXT_KEY_USAGE: Oid = Oid::new_unwrap("2.5.29.37");
}

/// Signs `content` as a detached CMS signature (CAdES-B) and returns the DER
/// `ContentInfo(SignedData)`.
///
/// The digest algorithm follows the signer's signature algorithm: SHA-256 for
/// `ecdsa-with-SHA256`, SHA-512 for Ed25519, SM3 for SM2. `signing_time` goes into the
/// signing-time attribute, truncated to whole seconds. `chain` holds the certificates a
/// verifier needs between the signer certificate and its trust anchor (including the
/// anchor is harmless); duplicates of the signer certificate are dropped.
///
/// For ECDSA name the signature type, e.g. `sign_detached::<_, p256::ecdsa::DerSignature>`;
/// for SM2 wrap the key in [`Sm2DerSigner`] and use `sm2::dsa::DerSignature`.
///
/// # Errors
///
/// [`Error::SignerKeyMismatch`] if the signer's public key is not the certificate's;
/// [`Error::UnsupportedSignatureAlgorithm`] for signers other than ECDSA, Ed25519, SM2;
/// [`Error::TooMany`] for more than [`CERTIFICATES_MAX`] certificates;
/// [`Error::TimeOutOfRange`]; [`Error::SigningFailed`] if the signer fails.
pub fn sign_detached<S, Sig>(
    content: &[u8],
    signer: &S,
    signer_certificate: &Certificate,
    chain: &[Certificate],
    signing_time: SystemTime,
) -> Result<Vec<u8>, Error>
where
    S: Signer<Sig> + Keypair + DynSignatureAlgorithmIdentifier,
    S::VerifyingKey: EncodePublicKey,
    Sig: SignatureBitStringEncoding,
{
    let signature_algorithm = signer
        .signature_algorithm_identifier()
        .map_err(Error::PublicKeyEncoding)?;
    let digest_algorithm = DigestAlgorithm::for_signature_algorithm(&signature_algorithm)?;

    let signer_key = signer
        .verifying_key()
        .to_public_key_der()
        .map_err(Error::PublicKeyEncoding)?;
    let certificate_key = signer_certificate
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(Error::Encoding)?;
    if signer_key.as_bytes() != certificate_key.as_slice() {
        return Err(Error::SignerKeyMismatch);
    }

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

    let encapsulated_content_info = EncapsulatedContentInfo {
        econtent_type: oid::DATA,
        econtent: None,
    };
    let content_digest = digest_algorithm.digest(content);
    let tbs = signer_certificate.tbs_certificate();
    let signer_identifier = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
        issuer: tbs.issuer().clone(),
        serial_number: tbs.serial_number().clone(),
    });
    // The builder adds content-type (from eContentType) and message-digest (from the
    // external digest) itself; we add the rest. It sorts the SET OF before signing.
    let mut signer_info_builder = SignerInfoBuilder::new(
        signer_identifier,
        digest_algorithm.algorithm_identifier(),
        &encapsulated_content_info,
        Some(&content_digest),
    )
    .map_err(from_cms_builder_error)?;
    signer_info_builder
        .add_signed_attribute(attributes::signing_time_attribute(signing_time)?)
        .map_err(from_cms_builder_error)?;
    signer_info_builder
        .add_signed_attribute(attributes::signing_certificate_v2_attribute(
            signer_certificate,
        )?)
        .map_err(from_cms_builder_error)?;
    let signer_info = signer_info_builder
        .build::<S, Sig>(signer)
        .map_err(from_x509_builder_error)?;

    let signed_data = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::try_from(vec![digest_algorithm.algorithm_identifier()])
            .map_err(Error::Encoding)?,
        encap_content_info: encapsulated_content_info,
        certificates: Some(CertificateSet::try_from(certificates).map_err(Error::Encoding)?),
        crls: None,
        signer_infos: SignerInfos::try_from(vec![signer_info]).map_err(Error::Encoding)?,
    };
    let signed_data_der = encode_content_info(&signed_data)?;
    // Read back what we hand out: it must pass the parser every verifier applies.
    DetachedSignature::from_der(&signed_data_der)?;
    Ok(signed_data_der)
}

/// Adds an RFC 3161 time-stamp token over the signature value to a detached signature
/// (CAdES-B → CAdES-T), as the unsigned attribute `id-aa-signatureTimeStampToken`.
///
/// The token must time-stamp [`DetachedSignature::signature_value`]: its message imprint
/// is checked here. Its TSA signature is not; verify it with the TSA module.
///
/// # Errors
///
/// Everything [`DetachedSignature::from_der`] rejects; [`Error::TimestampAlreadyPresent`];
/// [`Error::TimestampMalformed`]; [`Error::TimestampImprintMismatch`].
pub fn add_timestamp(signed_data_der: &[u8], timestamp_token_der: &[u8]) -> Result<Vec<u8>, Error> {
    let signature = DetachedSignature::from_der(signed_data_der)?;
    Ok(signature.with_timestamp(timestamp_token_der)?.der)
}

/// Verifies a detached signature over `content`, validating certificates at `now`.
///
/// See the [module documentation](self) for the checks. An embedded time-stamp token is
/// returned with its imprint checked but otherwise unverified; to validate certificates
/// at the time-stamp's time instead of `now` (a signer certificate that has since
/// expired), use [`verify_detached_timestamped`].
///
/// # Errors
///
/// A specific [`Error`] for each failed check.
pub fn verify_detached(
    signed_data_der: &[u8],
    content: &[u8],
    trust_anchors: &[Certificate],
    now: SystemTime,
) -> Result<VerifiedSignature, Error> {
    DetachedSignature::from_der(signed_data_der)?.verify(content, trust_anchors, now)
}

/// Verifies a CAdES-T detached signature over `content`, validating certificates at the
/// `genTime` of its signature time-stamp token.
///
/// The token must be present and its imprint must match the signature value;
/// `timestamp_verifier` must accept it, and must report the same `genTime` as the token
/// (compared to the second).
///
/// # Errors
///
/// Those of [`verify_detached`], plus [`Error::TimestampMissing`],
/// [`Error::TimestampRejected`] and [`Error::TimestampTimeMismatch`].
pub fn verify_detached_timestamped<T: TimestampTokenVerifier>(
    signed_data_der: &[u8],
    content: &[u8],
    trust_anchors: &[Certificate],
    timestamp_verifier: &T,
) -> Result<VerifiedSignature, Error> {
    DetachedSignature::from_der(signed_data_der)?.verify_timestamped(
        content,
        trust_anchors,
        timestamp_verifier,
    )
}

/// A parsed, **unverified** detached CMS signature.
///
/// Holding one means: the bytes are canonical DER within [`SIGNED_DATA_BYTES_MAX`], hold
/// `SignedData` with exactly one `SignerInfo`, detached `id-data` content, the version
/// numbers RFC 5652 prescribes, the signer's digest algorithm listed in
/// `digestAlgorithms`, and at most [`CERTIFICATES_MAX`] certificates and
/// [`ATTRIBUTES_MAX`] attributes of each kind. Nothing about signatures or trust.
#[derive(Clone, Debug)]
pub struct DetachedSignature {
    der: Vec<u8>,
    signed_data: SignedData,
    signer_info: SignerInfo,
    certificates: Vec<Certificate>,
}

impl DetachedSignature {
    /// Parses a DER `ContentInfo(SignedData)`.
    ///
    /// # Errors
    ///
    /// [`Error::InputTooLarge`], [`Error::Malformed`], [`Error::NonCanonicalEncoding`],
    /// [`Error::NotSignedData`], [`Error::SignerInfoCount`], [`Error::VersionInvalid`],
    /// [`Error::DigestAlgorithmNotListed`], [`Error::ContentNotDetached`],
    /// [`Error::UnsupportedContentType`], [`Error::TooMany`].
    pub fn from_der(signed_data_der: &[u8]) -> Result<Self, Error> {
        if signed_data_der.len() > SIGNED_DATA_BYTES_MAX {
            return Err(Error::InputTooLarge {
                what: "SignedData",
                len: signed_data_der.len(),
                max: SIGNED_DATA_BYTES_MAX,
            });
        }
        let content_info =
            ContentInfo::from_der(signed_data_der).map_err(Error::malformed("ContentInfo"))?;
        if content_info.content_type != oid::SIGNED_DATA {
            return Err(Error::NotSignedData {
                content_type: content_info.content_type,
            });
        }
        let signed_data = content_info
            .content
            .decode_as::<SignedData>()
            .map_err(Error::malformed("SignedData"))?;
        // The decoder re-sorts SET OF and tolerates some non-DER forms; insist that the
        // bytes are exactly what we would encode, so that what is verified (the re-encoded
        // signed attributes, certificates) is what is stored.
        if encode_content_info(&signed_data)? != signed_data_der {
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
        // RFC 5652 §5.1: v5 if a certificate or revocation entry of type "other" is
        // present; else v3 if a SignerInfo is v3 (attribute certificates, the v4 case,
        // do not decode here); else v1 (eContentType is id-data, checked below).
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
        let signed_data_version = if has_other_certificates || has_other_revocation_info {
            CmsVersion::V5
        } else {
            signer_info_version
        };
        if signed_data.version != signed_data_version {
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
        let encapsulated = &signed_data.encap_content_info;
        if encapsulated.econtent.is_some() {
            return Err(Error::ContentNotDetached);
        }
        if encapsulated.econtent_type != oid::DATA {
            return Err(Error::UnsupportedContentType {
                content_type: encapsulated.econtent_type,
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
        Ok(DetachedSignature {
            der: signed_data_der.to_vec(),
            signer_info: signer_info.clone(),
            signed_data,
            certificates,
        })
    }

    /// The DER encoding, exactly as parsed.
    pub fn as_der(&self) -> &[u8] {
        &self.der
    }

    /// The `SignerInfo` signature value: the bytes a signature time-stamp token must
    /// cover (RFC 3161 appendix A). Send `DigestAlgorithm::Sha256.digest(value)` as the
    /// `TimeStampReq` message imprint.
    pub fn signature_value(&self) -> &[u8] {
        self.signer_info.signature.as_bytes()
    }

    /// The certificates carried in the `SignedData`. Unverified.
    pub fn certificates(&self) -> &[Certificate] {
        &self.certificates
    }

    /// The embedded signature time-stamp token, if any, with its message imprint checked
    /// against [`Self::signature_value`]. The token's signature is not verified.
    ///
    /// # Errors
    ///
    /// [`Error::TimestampMalformed`] (also for more than one token),
    /// [`Error::TimestampImprintMismatch`], [`Error::InputTooLarge`].
    pub fn embedded_timestamp(&self) -> Result<Option<EmbeddedTimestamp>, Error> {
        let mut tokens = self
            .signer_info
            .unsigned_attrs
            .iter()
            .flat_map(|attributes| attributes.iter())
            .filter(|attribute| attribute.oid == oid::SIGNATURE_TIME_STAMP_TOKEN)
            .flat_map(|attribute| attribute.values.iter());
        match (tokens.next(), tokens.next()) {
            (None, _) => Ok(None),
            (Some(token), None) => {
                let token_der = token.to_der().map_err(Error::Encoding)?;
                EmbeddedTimestamp::from_token(&token_der, self.signature_value()).map(Some)
            }
            (Some(_), Some(_)) => Err(Error::TimestampMalformed {
                reason: "more than one signature time-stamp token",
            }),
        }
    }

    /// Returns this signature with `timestamp_token_der` added; see [`add_timestamp`].
    ///
    /// # Errors
    ///
    /// As [`add_timestamp`].
    pub fn with_timestamp(&self, timestamp_token_der: &[u8]) -> Result<Self, Error> {
        if self.embedded_timestamp()?.is_some() {
            return Err(Error::TimestampAlreadyPresent);
        }
        EmbeddedTimestamp::from_token(timestamp_token_der, self.signature_value())?;
        let token = Any::from_der(timestamp_token_der).map_err(|_| Error::TimestampMalformed {
            reason: "not a single DER value",
        })?;
        let mut signer_info = self.signer_info.clone();
        let mut unsigned_attributes: Vec<Attribute> = signer_info
            .unsigned_attrs
            .take()
            .map(SetOfVec::into_vec)
            .unwrap_or_default();
        unsigned_attributes.push(attributes::attribute(
            oid::SIGNATURE_TIME_STAMP_TOKEN,
            token,
        )?);
        signer_info.unsigned_attrs =
            Some(SetOfVec::try_from(unsigned_attributes).map_err(Error::Encoding)?);
        let mut signed_data = self.signed_data.clone();
        signed_data.signer_infos =
            SignerInfos::try_from(vec![signer_info]).map_err(Error::Encoding)?;
        DetachedSignature::from_der(&encode_content_info(&signed_data)?)
    }

    /// Verifies this signature over `content`, validating certificates at `now`. See
    /// [`verify_detached`].
    ///
    /// # Errors
    ///
    /// As [`verify_detached`].
    pub fn verify(
        &self,
        content: &[u8],
        trust_anchors: &[Certificate],
        now: SystemTime,
    ) -> Result<VerifiedSignature, Error> {
        self.verify_at(content, trust_anchors, ValidationTime::Given(now))
    }

    /// Verifies this signature over `content`, validating certificates at the verified
    /// time-stamp's `genTime`. See [`verify_detached_timestamped`].
    ///
    /// # Errors
    ///
    /// As [`verify_detached_timestamped`].
    pub fn verify_timestamped<T: TimestampTokenVerifier>(
        &self,
        content: &[u8],
        trust_anchors: &[Certificate],
        timestamp_verifier: &T,
    ) -> Result<VerifiedSignature, Error> {
        let timestamp = self.embedded_timestamp()?.ok_or(Error::TimestampMissing)?;
        let gen_time = timestamp_verifier
            .verify_timestamp_token(timestamp.token_der(), self.signature_value())
            .map_err(|error| Error::TimestampRejected {
                source: Box::new(error),
            })?;
        if whole_seconds(gen_time) != whole_seconds(timestamp.unverified_gen_time()) {
            return Err(Error::TimestampTimeMismatch);
        }
        self.verify_at(
            content,
            trust_anchors,
            ValidationTime::SignatureTimestamp(gen_time),
        )
    }

    fn verify_at(
        &self,
        content: &[u8],
        trust_anchors: &[Certificate],
        validation_time: ValidationTime,
    ) -> Result<VerifiedSignature, Error> {
        let signer_info = &self.signer_info;
        let digest_algorithm = DigestAlgorithm::from_algorithm_identifier(&signer_info.digest_alg)?;
        let signed_attributes = signer_info
            .signed_attrs
            .as_ref()
            .ok_or(Error::SignedAttributesMissing)?;
        let values = SignedAttributeValues::parse(signed_attributes.as_slice())?;

        // RFC 5652 §11.1: content-type must equal eContentType (id-data, checked at parse).
        let content_type = self.signed_data.encap_content_info.econtent_type;
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
        let key = PublicKey::from_spki(
            signer_certificate
                .tbs_certificate()
                .subject_public_key_info(),
            &subject,
        )?;
        // RFC 5652 §5.4: the signature covers the DER encoding of the SignedAttributes
        // with an explicit SET OF tag, not the [0] IMPLICIT tag it travels under.
        let signed_attributes_der = signed_attributes.to_der().map_err(Error::Encoding)?;
        let signature_algorithm = key
            .verify(
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
            timestamp,
            validation_time,
        })
    }

    /// The one certificate, among those carried and the trust anchors, that the signer
    /// identifier names.
    fn signer_certificate(&self, trust_anchors: &[Certificate]) -> Result<Certificate, Error> {
        let mut found: Option<&Certificate> = None;
        for certificate in self.certificates.iter().chain(trust_anchors) {
            if !identifies(&self.signer_info.sid, certificate) {
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

/// The instant at which certificates were validated, and where it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValidationTime {
    /// A time the caller gave, normally the current time.
    Given(SystemTime),
    /// The `genTime` of the signature time-stamp token, after the caller's
    /// [`TimestampTokenVerifier`] accepted the token.
    SignatureTimestamp(SystemTime),
}

impl ValidationTime {
    /// The instant itself.
    pub fn instant(self) -> SystemTime {
        match self {
            ValidationTime::Given(time) | ValidationTime::SignatureTimestamp(time) => time,
        }
    }
}

/// A detached signature whose digest, signature and certificate path have been verified.
///
/// Only [`verify_detached`], [`verify_detached_timestamped`] and the matching
/// [`DetachedSignature`] methods construct it.
#[derive(Clone, Debug)]
pub struct VerifiedSignature {
    signer_certificate: Certificate,
    signer_subject: String,
    signing_time: Option<SystemTime>,
    chain: Vec<Certificate>,
    digest_algorithm: DigestAlgorithm,
    signature_algorithm: SignatureAlgorithm,
    content_digest: Vec<u8>,
    signature_value: Vec<u8>,
    signing_certificate_bound: bool,
    timestamp: Option<EmbeddedTimestamp>,
    validation_time: ValidationTime,
}

impl VerifiedSignature {
    /// The signer's certificate.
    pub fn signer_certificate(&self) -> &Certificate {
        &self.signer_certificate
    }

    /// The signer certificate's subject as an RFC 4514 string (UTF-8), e.g.
    /// `CN=Alice,O=Example`.
    pub fn signer_subject(&self) -> &str {
        &self.signer_subject
    }

    /// The signing-time attribute: what the signer claims, to the second. `None` if the
    /// signer did not include one (our signatures always do).
    pub fn signing_time(&self) -> Option<SystemTime> {
        self.signing_time
    }

    /// The validated certificate path: signer first, trust anchor last.
    pub fn chain(&self) -> &[Certificate] {
        &self.chain
    }

    /// The digest algorithm of the content and message-digest attribute.
    pub fn digest_algorithm(&self) -> DigestAlgorithm {
        self.digest_algorithm
    }

    /// The signature algorithm.
    pub fn signature_algorithm(&self) -> SignatureAlgorithm {
        self.signature_algorithm
    }

    /// The digest of the content under [`Self::digest_algorithm`].
    pub fn content_digest(&self) -> &[u8] {
        &self.content_digest
    }

    /// The signature value (what a signature time-stamp covers).
    pub fn signature_value(&self) -> &[u8] {
        &self.signature_value
    }

    /// Whether an ESS signing-certificate-v2 attribute binds the signature to the signer
    /// certificate. `false` means the attribute was absent (e.g. `openssl cms -sign`
    /// without `-cades`); a present but mismatching attribute fails verification.
    pub fn signing_certificate_bound(&self) -> bool {
        self.signing_certificate_bound
    }

    /// The embedded signature time-stamp token, imprint checked. Its signature is
    /// verified only if this came from [`verify_detached_timestamped`].
    pub fn timestamp(&self) -> Option<&EmbeddedTimestamp> {
        self.timestamp.as_ref()
    }

    /// When the certificate path was validated, and on what authority.
    pub fn validation_time(&self) -> ValidationTime {
        self.validation_time
    }
}

/// Whether `sid` names `certificate`.
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

fn encode_content_info(signed_data: &SignedData) -> Result<Vec<u8>, Error> {
    ContentInfo {
        content_type: oid::SIGNED_DATA,
        content: attributes::any_from(signed_data)?,
    }
    .to_der()
    .map_err(Error::Encoding)
}

fn whole_seconds(time: SystemTime) -> Option<u64> {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .ok()
        .map(|duration| duration.as_secs())
}

fn from_cms_builder_error(error: cms::builder::Error) -> Error {
    match error {
        cms::builder::Error::Asn1(error) => Error::Encoding(error),
        cms::builder::Error::PublicKey(error) => Error::PublicKeyEncoding(error),
        cms::builder::Error::Signature(error) => Error::SigningFailed(error),
        _ => Error::Encoding(der::ErrorKind::Failed.into()),
    }
}

fn from_x509_builder_error(error: x509_cert::builder::Error) -> Error {
    match error {
        x509_cert::builder::Error::Asn1(error) => Error::Encoding(error),
        x509_cert::builder::Error::PublicKey(error) => Error::PublicKeyEncoding(error),
        x509_cert::builder::Error::Signature(error) => Error::SigningFailed(error),
        _ => Error::Encoding(der::ErrorKind::Failed.into()),
    }
}
