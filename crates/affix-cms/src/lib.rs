//! CMS (RFC 5652) signatures: detached CAdES-B and CAdES-T signatures, and the one
//! `SignedData` parser and verifier Affix has — RFC 3161 time-stamp tokens, which are
//! `SignedData` too, are verified here for `affix-tsp`.
//!
//! Pure core: no I/O, no clock. The signing time, the validation time and the trust
//! anchors are parameters; keys are [`signature::Signer`] + [`signature::Keypair`]
//! handles, or the signature is made elsewhere ([`PreparedSignature`]), so a key vault
//! or HSM plugs in without this crate seeing key bytes. Algorithms, object identifiers
//! and signature verification with a certificate's key are `affix-pki`'s.
//!
//! # What [`sign_detached`] and [`PreparedSignature`] produce
//!
//! A DER `ContentInfo` holding `SignedData` (version 1) with
//! - `digestAlgorithms` = { SHA-256 for ECDSA P-256, SHA-512 for Ed25519 (RFC 8419), SM3
//!   for SM2 };
//! - `encapContentInfo` = { `id-data`, `eContent` absent } — the content is detached;
//! - `certificates` = the signer certificate and the chain the caller passes;
//! - exactly one `SignerInfo` (version 1), signer identified by `issuerAndSerialNumber`,
//!   with the signed attributes content-type (`id-data`), message-digest, signing-time
//!   and ESS signing-certificate-v2 (RFC 5035: SHA-256 of the signer certificate plus
//!   issuer and serial number); with [`PreparedSignature::with_affix_attributes`], also
//!   Affix's own attributes ([`AffixAttributes`]: the digests of the document and of the
//!   handwritten-signature image the signer was shown).
//!
//! [`sign_detached`] signs in one step with a `Signer`. [`PreparedSignature`] splits it
//! in two, for signatures a remote party authorizes: prepare (content digest, signer
//! certificate, signing time → signed attributes), have [`PreparedSignature::to_be_signed`]
//! signed, then [`PreparedSignature::assemble`]. Both give the same bytes.
//!
//! [`add_timestamp`] turns this CAdES-B signature into CAdES-T by adding an RFC 3161 token
//! over the signature value as the unsigned attribute `id-aa-signatureTimeStampToken`.
//!
//! # What verification checks
//!
//! Every `SignedData` ([`DetachedSignature`], [`EncapsulatedSignature`]) must be canonical
//! DER within its size limit, with exactly one `SignerInfo`, the version numbers RFC 5652
//! prescribes, the signer's digest algorithm listed and signed attributes. Verification
//! checks the content-type and message-digest attributes against the content, the
//! signature over the DER `SET OF` signed attributes, the ESS signing-certificate-v2
//! binding when present, the signer's key usage, and a certificate path from the signer
//! to one of the caller's trust anchors (issuer signatures, validity, CA constraints).
//! [`verify_detached`] and [`verify_detached_timestamped`] also require detached
//! `id-data` content. An embedded time-stamp token is carried as found; it is verified
//! by a [`TimestampTokenVerifier`] (`affix-tsp`), which fixes the time the certificates
//! are validated at.
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
mod ess;
mod path;
mod sign;
mod signed_data;
mod timestamp;

use std::time::SystemTime;

use cms::signed_data::SignerInfos;
use const_oid::{
    ObjectIdentifier,
    db::{rfc3161::ID_AA_TIME_STAMP_TOKEN, rfc5911::ID_DATA},
};
use der::{Any, Decode, Encode as _, asn1::SetOfVec};
use signature::{Keypair, Signer};
use spki::{DynSignatureAlgorithmIdentifier, EncodePublicKey, SignatureBitStringEncoding};
use x509_cert::{Certificate, attr::Attribute};

/// SM2 signers sign to DER through the CA crate's adapter (one implementation for all PKI crates).
pub use affix_pki::ca::Sm2DerSigner;
/// Digest and signature algorithms and the SM2 distinguishing identifier are
/// `affix-pki`'s, shared by all PKI crates.
pub use affix_pki::{DigestAlgorithm, SM2_DEFAULT_DISTID, SignatureAlgorithm};
pub use attributes::AffixAttributes;
pub use error::Error;
pub use ess::{EssCertIdV2, IssuerSerial, SigningCertificateV2};
pub use sign::PreparedSignature;
pub use timestamp::{EmbeddedTimestamp, TimestampTokenVerifier};

use signed_data::{Encoding, SignedDataParts};

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
/// for SM2 wrap the key in [`Sm2DerSigner`] and use `sm2::dsa::DerSignature`. To have the
/// signature made elsewhere, use [`PreparedSignature`].
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
    let digest_algorithm = algorithm::digest_for_signature(&signature_algorithm)?;

    let signer_key = signer
        .verifying_key()
        .to_public_key_der()
        .map_err(Error::PublicKeyEncoding)?;
    let certificate_key = der::Encode::to_der(
        signer_certificate
            .tbs_certificate()
            .subject_public_key_info(),
    )
    .map_err(Error::Encoding)?;
    if signer_key.as_bytes() != certificate_key.as_slice() {
        return Err(Error::SignerKeyMismatch);
    }

    let prepared = PreparedSignature::with_algorithms(
        &digest_algorithm.digest(content),
        digest_algorithm,
        signature_algorithm,
        signer_certificate,
        chain,
        signing_time,
    )?;
    let signature = signer
        .try_sign(prepared.to_be_signed())
        .map_err(Error::SigningFailed)?
        .to_bitstring()
        .map_err(Error::Encoding)?;
    prepared.assemble_unchecked(signature.raw_bytes())
}

/// Adds an RFC 3161 time-stamp token over the signature value to a detached signature
/// (CAdES-B → CAdES-T), as the unsigned attribute `id-aa-signatureTimeStampToken`.
///
/// The token must time-stamp [`DetachedSignature::signature_value`]. Only its form is
/// checked here (a CMS `SignedData` encapsulating an `id-ct-TSTInfo`); its message
/// imprint, time and TSA signature are checked by the [`TimestampTokenVerifier`] when
/// the signature is verified with [`verify_detached_timestamped`].
///
/// # Errors
///
/// Everything [`DetachedSignature::from_der`] rejects; [`Error::TimestampAlreadyPresent`];
/// [`Error::TimestampMalformed`]; [`Error::InputTooLarge`] for a token over
/// [`TIMESTAMP_TOKEN_BYTES_MAX`].
pub fn add_timestamp(signed_data_der: &[u8], timestamp_token_der: &[u8]) -> Result<Vec<u8>, Error> {
    let signature = DetachedSignature::from_der(signed_data_der)?;
    Ok(signature.with_timestamp(timestamp_token_der)?.into_der())
}

/// Verifies a detached signature over `content`, validating certificates at `now`.
///
/// See the [crate documentation](self) for the checks. An embedded time-stamp token is
/// returned as found, unverified; to validate certificates at the time-stamp's time
/// instead of `now` (a signer certificate that has since expired), use
/// [`verify_detached_timestamped`].
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
/// The token must be present, and `timestamp_verifier` must accept it as a time-stamp
/// of the signature value; the `genTime` it reports is the validation time.
///
/// # Errors
///
/// Those of [`verify_detached`], plus [`Error::TimestampMissing`] and
/// [`Error::TimestampRejected`].
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
    parts: SignedDataParts,
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
        let parts = SignedDataParts::from_der(
            signed_data_der,
            "SignedData",
            SIGNED_DATA_BYTES_MAX,
            Encoding::Canonical,
        )?;
        if parts.signed_data.encap_content_info.econtent.is_some() {
            return Err(Error::ContentNotDetached);
        }
        if parts.content_type() != ID_DATA {
            return Err(Error::UnsupportedContentType {
                content_type: parts.content_type(),
            });
        }
        Ok(DetachedSignature { parts })
    }

    /// The DER encoding, exactly as parsed.
    pub fn as_der(&self) -> &[u8] {
        &self.parts.der
    }

    fn into_der(self) -> Vec<u8> {
        self.parts.der
    }

    /// The `SignerInfo` signature value: the bytes a signature time-stamp token must
    /// cover (RFC 3161 appendix A). Send `DigestAlgorithm::Sha256.digest(value)` as the
    /// `TimeStampReq` message imprint.
    pub fn signature_value(&self) -> &[u8] {
        self.parts.signature_value()
    }

    /// The certificates carried in the `SignedData`. Unverified.
    pub fn certificates(&self) -> &[Certificate] {
        &self.parts.certificates
    }

    /// The embedded signature time-stamp token, if any, checked for form only (see
    /// [`EmbeddedTimestamp`]).
    ///
    /// # Errors
    ///
    /// [`Error::TimestampMalformed`] (also for more than one token),
    /// [`Error::InputTooLarge`].
    pub fn embedded_timestamp(&self) -> Result<Option<EmbeddedTimestamp>, Error> {
        self.parts.embedded_timestamp()
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
        EmbeddedTimestamp::from_token(timestamp_token_der)?;
        let token = Any::from_der(timestamp_token_der).map_err(|_| Error::TimestampMalformed {
            reason: "not a single DER value",
        })?;
        let mut signer_info = self.parts.signer_info.clone();
        let mut unsigned_attributes: Vec<Attribute> = signer_info
            .unsigned_attrs
            .take()
            .map(SetOfVec::into_vec)
            .unwrap_or_default();
        unsigned_attributes.push(attributes::attribute(ID_AA_TIME_STAMP_TOKEN, token)?);
        signer_info.unsigned_attrs =
            Some(SetOfVec::try_from(unsigned_attributes).map_err(Error::Encoding)?);
        let mut signed_data = self.parts.signed_data.clone();
        signed_data.signer_infos =
            SignerInfos::try_from(vec![signer_info]).map_err(Error::Encoding)?;
        DetachedSignature::from_der(&signed_data::encode_content_info(&signed_data)?)
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
        self.parts
            .verify(content, trust_anchors, ValidationTime::Given(now))
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
        self.parts.verify(
            content,
            trust_anchors,
            ValidationTime::SignatureTimestamp(gen_time),
        )
    }
}

/// A parsed, **unverified** CMS signature that carries its content (`eContent`
/// present): the form of an RFC 3161 time-stamp token, whose content is a `TSTInfo`.
///
/// The same structural checks as [`DetachedSignature`] hold, with
/// [`SIGNED_DATA_BYTES_MAX`] as the limit, except that the encoding need only decode
/// (third-party time-stamp tokens are not always canonical DER: OpenSSL's TSA lists its
/// own certificate first); the content may be of any type.
#[derive(Clone, Debug)]
pub struct EncapsulatedSignature {
    parts: SignedDataParts,
}

impl EncapsulatedSignature {
    /// Parses a DER `ContentInfo(SignedData)` with encapsulated content.
    ///
    /// # Errors
    ///
    /// As [`DetachedSignature::from_der`], except that [`Error::ContentMissing`] replaces
    /// [`Error::ContentNotDetached`] and any content type is accepted.
    pub fn from_der(signed_data_der: &[u8]) -> Result<Self, Error> {
        let parts = SignedDataParts::from_der(
            signed_data_der,
            "SignedData",
            SIGNED_DATA_BYTES_MAX,
            Encoding::Decodable,
        )?;
        parts.encapsulated_content()?.ok_or(Error::ContentMissing)?;
        Ok(EncapsulatedSignature { parts })
    }

    /// The DER encoding, exactly as parsed.
    pub fn as_der(&self) -> &[u8] {
        &self.parts.der
    }

    /// The encapsulated content type (`eContentType`).
    pub fn content_type(&self) -> ObjectIdentifier {
        self.parts.content_type()
    }

    /// The encapsulated content: the value of the `eContent` OCTET STRING. Unverified.
    pub fn content(&self) -> &[u8] {
        // Checked present and an OCTET STRING by `from_der`.
        self.parts
            .encapsulated_content()
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    /// The certificates carried in the `SignedData`. Unverified.
    pub fn certificates(&self) -> &[Certificate] {
        &self.parts.certificates
    }

    /// Whether the signer identifier names `certificate`.
    pub fn signer_identifies(&self, certificate: &Certificate) -> bool {
        self.parts.signer_identifies(certificate)
    }

    /// Verifies the signature over the encapsulated content, validating certificates at
    /// `time`: the same checks as [`DetachedSignature::verify`].
    ///
    /// # Errors
    ///
    /// As [`verify_detached`].
    pub fn verify(
        &self,
        trust_anchors: &[Certificate],
        time: SystemTime,
    ) -> Result<VerifiedSignature, Error> {
        self.parts
            .verify(self.content(), trust_anchors, ValidationTime::Given(time))
    }
}

/// The signed attributes of a signature being prepared, read back from the bytes a
/// signer is asked to sign ([`PreparedSignature::to_be_signed`]: the DER `SET OF`
/// attributes), so that the signer's device can show what it approves. **Unverified**:
/// nothing here says who made the bytes; the device checks them against what it
/// expects (the digest in the authorization it signs).
#[derive(Clone, Debug)]
pub struct SignedAttributesView {
    content_type: ObjectIdentifier,
    message_digest: Vec<u8>,
    signing_time: Option<SystemTime>,
    signing_certificate_v2: Option<SigningCertificateV2>,
    affix_attributes: AffixAttributes,
}

impl SignedAttributesView {
    /// Largest encoding accepted, in bytes.
    pub const BYTES_MAX: usize = 16 * 1024;

    /// Decodes DER `SET OF Attribute` (canonical: sorted, no duplicates) and reads the
    /// attributes this crate interprets, with the same rules as verification.
    ///
    /// # Errors
    /// [`Error::InputTooLarge`], [`Error::Malformed`], and the attribute errors of
    /// verification ([`Error::AttributeMissing`], [`Error::AttributeInvalid`],
    /// [`Error::TooMany`]).
    pub fn from_der(signed_attributes_der: &[u8]) -> Result<Self, Error> {
        if signed_attributes_der.len() > Self::BYTES_MAX {
            return Err(Error::InputTooLarge {
                what: "signed attributes",
                len: signed_attributes_der.len(),
                max: Self::BYTES_MAX,
            });
        }
        let attributes = cms::signed_data::SignedAttributes::from_der(signed_attributes_der)
            .map_err(|source| Error::Malformed {
                what: "signed attributes",
                source,
            })?;
        if attributes.to_der().map_err(Error::Encoding)? != signed_attributes_der {
            return Err(Error::NonCanonicalEncoding {
                what: "signed attributes",
            });
        }
        let values = attributes::SignedAttributeValues::parse(attributes.as_slice())?;
        Ok(Self {
            content_type: values.content_type,
            message_digest: values.message_digest,
            signing_time: values.signing_time,
            signing_certificate_v2: values.signing_certificate_v2,
            affix_attributes: values.affix,
        })
    }

    /// The content-type attribute.
    pub fn content_type(&self) -> ObjectIdentifier {
        self.content_type
    }

    /// The message-digest attribute: the digest of the signed content.
    pub fn message_digest(&self) -> &[u8] {
        &self.message_digest
    }

    /// The signing-time attribute.
    pub fn signing_time(&self) -> Option<SystemTime> {
        self.signing_time
    }

    /// The ESS signing-certificate-v2 attribute (the signer certificate's hash).
    pub fn signing_certificate_v2(&self) -> Option<&SigningCertificateV2> {
        self.signing_certificate_v2.as_ref()
    }

    /// Affix's own attributes.
    pub fn affix_attributes(&self) -> &AffixAttributes {
        &self.affix_attributes
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

/// A signature whose digest, signature and certificate path have been verified.
///
/// Only [`verify_detached`], [`verify_detached_timestamped`] and the `verify` methods
/// of [`DetachedSignature`] and [`EncapsulatedSignature`] construct it.
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
    affix_attributes: AffixAttributes,
    signed_attributes_der: Vec<u8>,
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

    /// Affix's own signed attributes (document and signature image digests), as
    /// signed; empty for signatures that carry none.
    pub fn affix_attributes(&self) -> &AffixAttributes {
        &self.affix_attributes
    }

    /// The DER `SET OF Attribute` the signature value covers (RFC 5652 §5.4): what a
    /// signer's credential approved when it authorized exactly these bytes
    /// ([`PreparedSignature::to_be_signed`] on the signing side).
    pub fn signed_attributes_der(&self) -> &[u8] {
        &self.signed_attributes_der
    }

    /// The embedded signature time-stamp token. It has been verified (signature, TSA,
    /// message imprint) only if this came from [`verify_detached_timestamped`].
    pub fn timestamp(&self) -> Option<&EmbeddedTimestamp> {
        self.timestamp.as_ref()
    }

    /// When the certificate path was validated, and on what authority.
    pub fn validation_time(&self) -> ValidationTime {
        self.validation_time
    }
}
