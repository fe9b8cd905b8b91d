//! Verifying tokens: what a relying party does with a token it received.

use std::time::Duration;

use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{SignedAttributes, SignedData, SignerIdentifier};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280::ID_KP_TIME_STAMPING;
use const_oid::db::rfc5911::{
    ID_AA_SIGNING_CERTIFICATE, ID_AA_SIGNING_CERTIFICATE_V_2, ID_CONTENT_TYPE, ID_MESSAGE_DIGEST,
    ID_SIGNED_DATA,
};
use der::asn1::OctetString;
use der::{Any, Decode, Encode};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectKeyIdentifier};

use affix_pki::PublicKey;
use const_oid::db::rfc3161::ID_CT_TST_INFO;

use super::request::imprint_algorithm;
use super::{
    Accuracy, DigestAlgorithm, Error, FailureInfo, GenTime, Nonce, PkiStatus, SigningCertificateV2,
    TOKEN_BYTES_MAX, TimeStampResp, TokenSerial, TstInfo,
};

/// Whom a relying party trusts to have signed a token.
///
/// Path building is deliberately minimal: either one pinned TSA certificate,
/// or TSA certificates issued directly by one of a few issuers. Revocation is
/// not checked here.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum TsaTrust<'a> {
    /// Only this TSA certificate may have signed; the token need not carry
    /// it.
    Pinned(&'a Certificate),
    /// The token must carry the signer's certificate, and one of these
    /// certificates (CA certificates: basicConstraints cA) must have issued
    /// and signed it.
    IssuedBy(&'a [Certificate]),
}

/// What the token must be a time-stamp of.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum ExpectedImprint<'a> {
    /// These bytes, hashed with whichever supported algorithm the token
    /// names.
    Data(&'a [u8]),
    /// This hash, made with this algorithm.
    Digest {
        /// The hash algorithm the token must name.
        algorithm: DigestAlgorithm,
        /// The hash value the token must carry.
        digest: &'a [u8],
    },
}

/// A token whose signature, signer, signed attributes, imprint and nonce
/// have been checked. Only [`verify_token`] and [`verify_response`] make one.
#[derive(Clone, Debug)]
pub struct VerifiedTimestamp {
    gen_time: GenTime,
    serial: TokenSerial,
    policy: ObjectIdentifier,
    hash_algorithm: DigestAlgorithm,
    hashed_message: Vec<u8>,
    nonce: Option<Nonce>,
    accuracy: Option<Accuracy>,
    ordering: bool,
    tsa_name: Option<GeneralName>,
    signer_certificate: Certificate,
}

impl VerifiedTimestamp {
    /// When the TSA made the token.
    pub fn gen_time(&self) -> GenTime {
        self.gen_time
    }

    /// The token's serial number.
    pub fn serial(&self) -> &TokenSerial {
        &self.serial
    }

    /// The policy the token was issued under. Check it if you rely on one.
    pub fn policy(&self) -> ObjectIdentifier {
        self.policy
    }

    /// The imprint's hash algorithm.
    pub fn hash_algorithm(&self) -> DigestAlgorithm {
        self.hash_algorithm
    }

    /// The imprint's hash value.
    pub fn hashed_message(&self) -> &[u8] {
        &self.hashed_message
    }

    /// The nonce the token echoes, if any.
    pub fn nonce(&self) -> Option<&Nonce> {
        self.nonce.as_ref()
    }

    /// The accuracy the TSA states, if any.
    pub fn accuracy(&self) -> Option<Accuracy> {
        self.accuracy
    }

    /// Whether the TSA claims tokens can be ordered by time alone.
    pub fn ordering(&self) -> bool {
        self.ordering
    }

    /// The TSA name in the token, if any (not checked against the
    /// certificate).
    pub fn tsa_name(&self) -> Option<&GeneralName> {
        self.tsa_name.as_ref()
    }

    /// The certificate that signed the token.
    pub fn signer_certificate(&self) -> &Certificate {
        &self.signer_certificate
    }
}

/// A parsed `TimeStampResp`, not yet verified: what a client reads before
/// deciding whether there is a token to check.
#[derive(Clone, Debug)]
pub struct TimeStampResponse {
    status: PkiStatus,
    status_text: Vec<String>,
    failure_info: Vec<FailureInfo>,
    token: Option<Vec<u8>>,
}

impl TimeStampResponse {
    /// Parses a DER `TimeStampResp` of at most [`TOKEN_BYTES_MAX`] bytes.
    pub fn parse(der: &[u8]) -> Result<Self, Error> {
        check_size("TimeStampResp", der)?;
        let response = TimeStampResp::from_der(der).map_err(Error::malformed("TimeStampResp"))?;
        let token = response
            .time_stamp_token
            .map(|token| token.to_der().map_err(Error::Encoding))
            .transpose()?;
        Ok(Self {
            status: response.status.status,
            status_text: response.status.status_string.unwrap_or_default(),
            failure_info: response
                .status
                .fail_info
                .as_ref()
                .map(FailureInfo::from_bit_string)
                .unwrap_or_default(),
            token,
        })
    }

    /// The status.
    pub fn status(&self) -> PkiStatus {
        self.status
    }

    /// The status text, if the TSA sent any.
    pub fn status_text(&self) -> &[String] {
        &self.status_text
    }

    /// The failure reasons, if the TSA sent any.
    pub fn failure_info(&self) -> &[FailureInfo] {
        &self.failure_info
    }

    /// The DER `TimeStampToken`, if present (unverified).
    pub fn token_der(&self) -> Option<&[u8]> {
        self.token.as_deref()
    }
}

/// Parses a DER `TimeStampResp`, requires status granted (with or without
/// modifications) and verifies its token with [`verify_token`].
pub fn verify_response(
    response_der: &[u8],
    trust: TsaTrust<'_>,
    imprint: ExpectedImprint<'_>,
    expected_nonce: Option<&Nonce>,
) -> Result<VerifiedTimestamp, Error> {
    let response = TimeStampResponse::parse(response_der)?;
    if !matches!(
        response.status,
        PkiStatus::Granted | PkiStatus::GrantedWithMods
    ) {
        return Err(Error::Rejected {
            status: response.status,
            failure_info: response.failure_info,
            text: response.status_text.join("; "),
        });
    }
    let token = response.token.ok_or(Error::MissingToken)?;
    verify_token(&token, trust, imprint, expected_nonce)
}

/// Verifies a DER `TimeStampToken` (a CMS `ContentInfo`).
///
/// Checks, in order: size; structure (`SignedData` version 3 over an
/// `id-ct-TSTInfo`, exactly one signer whose version fits its identifier and
/// whose digest algorithm is listed, `TSTInfo` version 1); the signer
/// certificate against `trust`; the signed attributes (content-type is
/// `id-ct-TSTInfo`, message-digest matches, `signing-certificate-v2`
/// identifies the signer certificate); the signature; the signer
/// certificate's profile (extendedKeyUsage timeStamping only, critical) and
/// validity at `genTime`; the imprint; the nonce when `expected_nonce` is
/// given.
///
/// Supported signature algorithms: ECDSA on P-256 with SHA-256/384/512,
/// Ed25519, and SM2 with SM3 (default distinguishing identifier).
pub fn verify_token(
    token_der: &[u8],
    trust: TsaTrust<'_>,
    imprint: ExpectedImprint<'_>,
    expected_nonce: Option<&Nonce>,
) -> Result<VerifiedTimestamp, Error> {
    check_size("TimeStampToken", token_der)?;
    let content_info = ContentInfo::from_der(token_der).map_err(Error::malformed("ContentInfo"))?;
    if content_info.content_type != ID_SIGNED_DATA {
        return Err(Error::NotSignedData {
            content_type: content_info.content_type,
        });
    }
    let signed_data: SignedData = content_info
        .content
        .decode_as()
        .map_err(Error::malformed("SignedData"))?;

    let encapsulated = &signed_data.encap_content_info;
    if encapsulated.econtent_type != ID_CT_TST_INFO {
        return Err(Error::NotTstInfo {
            content_type: encapsulated.econtent_type,
        });
    }
    let tst_info_der: OctetString = encapsulated
        .econtent
        .as_ref()
        .ok_or(Error::MissingContent)?
        .decode_as()
        .map_err(Error::malformed("eContent"))?;
    let tst_info =
        TstInfo::from_der(tst_info_der.as_bytes()).map_err(Error::malformed("TSTInfo"))?;
    if tst_info.version != 1 {
        return Err(Error::UnsupportedVersion {
            what: "TSTInfo",
            version: tst_info.version,
        });
    }

    let signer_infos = &signed_data.signer_infos.0;
    let signer_info = match (signer_infos.get(0), signer_infos.len()) {
        (Some(signer_info), 1) => signer_info,
        (_, count) => return Err(Error::SignerCount { count }),
    };
    check_cms_versions(&signed_data)?;
    if !signed_data
        .digest_algorithms
        .iter()
        .any(|algorithm| algorithm.oid == signer_info.digest_alg.oid)
    {
        return Err(Error::CmsStructure {
            reason: "the signer's digest algorithm is not in digestAlgorithms",
        });
    }
    let signer_certificate = resolve_signer(&signed_data, &signer_info.sid, trust)?;

    let attributes = signer_info
        .signed_attrs
        .as_ref()
        .ok_or(Error::MissingSignedAttributes)?;
    let content_type: ObjectIdentifier = single_value(attributes, ID_CONTENT_TYPE, "content-type")?
        .ok_or(Error::SignedAttributeInvalid {
            attribute: "content-type",
        })?
        .decode_as()
        .map_err(|_| Error::SignedAttributeInvalid {
            attribute: "content-type",
        })?;
    if content_type != ID_CT_TST_INFO {
        return Err(Error::ContentTypeMismatch);
    }
    let digest_algorithm = imprint_algorithm(&signer_info.digest_alg)?;
    let message_digest: OctetString =
        single_value(attributes, ID_MESSAGE_DIGEST, "message-digest")?
            .ok_or(Error::SignedAttributeInvalid {
                attribute: "message-digest",
            })?
            .decode_as()
            .map_err(|_| Error::SignedAttributeInvalid {
                attribute: "message-digest",
            })?;
    if message_digest.as_bytes() != digest_algorithm.digest(tst_info_der.as_bytes()) {
        return Err(Error::MessageDigestMismatch);
    }
    check_signing_certificate(attributes, &signer_certificate)?;

    // The signature covers the attributes' DER as a `SET OF` (RFC 5652
    // §5.4). The decoder sorted them into DER order, so a signer that did not
    // sort them fails here — DER is required.
    let signed_bytes = attributes.to_der().map_err(Error::Encoding)?;
    let signature_valid = signature_is_valid(
        signer_certificate
            .tbs_certificate()
            .subject_public_key_info(),
        &signer_info.signature_algorithm,
        &signed_bytes,
        signer_info.signature.as_bytes(),
    )?;
    if !signature_valid {
        return Err(Error::SignatureInvalid);
    }

    check_tsa_certificate_profile(&signer_certificate)?;
    check_valid_at(&signer_certificate, tst_info.gen_time, "signer")?;

    let hash_algorithm = imprint_algorithm(&tst_info.message_imprint.hash_algorithm)?;
    let hashed_message = tst_info.message_imprint.hashed_message.as_bytes();
    let imprint_matches = match imprint {
        ExpectedImprint::Data(data) => hash_algorithm.digest(data) == hashed_message,
        ExpectedImprint::Digest { algorithm, digest } => {
            algorithm == hash_algorithm && digest == hashed_message
        }
    };
    if !imprint_matches {
        return Err(Error::ImprintMismatch);
    }

    let nonce = tst_info.nonce.as_ref().map(Nonce::from_int).transpose()?;
    if let Some(expected) = expected_nonce
        && nonce.as_ref() != Some(expected)
    {
        return Err(Error::NonceMismatch);
    }

    Ok(VerifiedTimestamp {
        gen_time: tst_info.gen_time,
        serial: TokenSerial::from_int(&tst_info.serial_number)?,
        policy: tst_info.policy,
        hash_algorithm,
        hashed_message: hashed_message.to_vec(),
        nonce,
        accuracy: tst_info.accuracy,
        ordering: tst_info.ordering,
        tsa_name: tst_info.tsa,
        signer_certificate,
    })
}

/// Requires the certificate profile RFC 3161 §2.3 sets for a TSA: the
/// extended key usage is timeStamping alone and critical; the key usage, if
/// present, allows digitalSignature or nonRepudiation.
pub(crate) fn check_tsa_certificate_profile(certificate: &Certificate) -> Result<(), Error> {
    let tbs = certificate.tbs_certificate();
    let reason = match tbs.get_extension::<ExtendedKeyUsage>() {
        Ok(Some((true, usage))) if usage.0 == [ID_KP_TIME_STAMPING] => None,
        Ok(Some((false, _))) => Some("extendedKeyUsage is not critical"),
        Ok(Some(_)) => Some("extendedKeyUsage is not timeStamping alone"),
        Ok(None) => Some("extendedKeyUsage is missing"),
        Err(_) => Some("extendedKeyUsage is malformed or repeated"),
    };
    if let Some(reason) = reason {
        return Err(Error::CertificateProfile { reason });
    }
    match tbs.get_extension::<KeyUsage>() {
        Ok(None) => Ok(()),
        Ok(Some((_, usage))) if usage.digital_signature() || usage.non_repudiation() => Ok(()),
        _ => Err(Error::CertificateProfile {
            reason: "keyUsage allows neither digitalSignature nor nonRepudiation",
        }),
    }
}

fn check_size(what: &'static str, der: &[u8]) -> Result<(), Error> {
    if der.len() > TOKEN_BYTES_MAX {
        return Err(Error::TooLarge {
            what,
            actual_bytes: der.len(),
            limit_bytes: TOKEN_BYTES_MAX,
        });
    }
    Ok(())
}

/// RFC 5652 §5.1 and §5.3: `SignedData` version 3 (the content is not
/// id-data, no other-format certificates or CRLs are expected), `SignerInfo`
/// version 1 with an issuer-and-serial-number identifier and 3 with a
/// subject key identifier.
fn check_cms_versions(signed_data: &SignedData) -> Result<(), Error> {
    if signed_data.version != CmsVersion::V3 {
        return Err(Error::CmsStructure {
            reason: "SignedData version is not 3",
        });
    }
    for signer_info in signed_data.signer_infos.0.iter() {
        let expected = match signer_info.sid {
            SignerIdentifier::IssuerAndSerialNumber(_) => CmsVersion::V1,
            SignerIdentifier::SubjectKeyIdentifier(_) => CmsVersion::V3,
        };
        if signer_info.version != expected {
            return Err(Error::CmsStructure {
                reason: "SignerInfo version does not match its signer identifier",
            });
        }
    }
    Ok(())
}

/// Finds the signer certificate and checks it against `trust`.
fn resolve_signer(
    signed_data: &SignedData,
    signer: &SignerIdentifier,
    trust: TsaTrust<'_>,
) -> Result<Certificate, Error> {
    match trust {
        TsaTrust::Pinned(certificate) if identifies(signer, certificate) => Ok(certificate.clone()),
        TsaTrust::Pinned(_) => Err(Error::SignerMismatch),
        TsaTrust::IssuedBy(issuers) => {
            let certificate = signed_data
                .certificates
                .iter()
                .flat_map(|set| set.0.iter())
                .find_map(|choice| match choice {
                    cms::cert::CertificateChoices::Certificate(c) if identifies(signer, c) => {
                        Some(c)
                    }
                    _ => None,
                })
                .ok_or(Error::SignerCertificateNotFound)?;
            check_issued_by(certificate, issuers)?;
            Ok(certificate.clone())
        }
    }
}

/// Whether a CMS signer identifier names `certificate`.
fn identifies(signer: &SignerIdentifier, certificate: &Certificate) -> bool {
    let tbs = certificate.tbs_certificate();
    match signer {
        SignerIdentifier::IssuerAndSerialNumber(id) => {
            id.issuer == *tbs.issuer() && id.serial_number == *tbs.serial_number()
        }
        SignerIdentifier::SubjectKeyIdentifier(id) => matches!(
            tbs.get_extension::<SubjectKeyIdentifier>(),
            Ok(Some((_, key_id))) if key_id == *id
        ),
    }
}

/// Requires that one of `issuers`, a CA, signed `certificate`.
fn check_issued_by(certificate: &Certificate, issuers: &[Certificate]) -> Result<(), Error> {
    let tbs = certificate.tbs_certificate();
    if *tbs.signature() != *certificate.signature_algorithm() {
        return Err(Error::CertificateSignatureInvalid);
    }
    let signed_bytes = tbs.to_der().map_err(Error::Encoding)?;
    let signature = certificate
        .signature()
        .as_bytes()
        .ok_or(Error::CertificateSignatureInvalid)?;
    let mut named_issuer_found = false;
    for issuer in issuers
        .iter()
        .filter(|issuer| issuer.tbs_certificate().subject() == tbs.issuer())
    {
        named_issuer_found = true;
        let signed_by_issuer = signature_is_valid(
            issuer.tbs_certificate().subject_public_key_info(),
            certificate.signature_algorithm(),
            &signed_bytes,
            signature,
        )
        .unwrap_or(false);
        if signed_by_issuer {
            return check_issuer_profile(issuer);
        }
    }
    if named_issuer_found {
        Err(Error::CertificateSignatureInvalid)
    } else {
        Err(Error::UntrustedSigner)
    }
}

/// Requires basicConstraints cA, and keyCertSign if keyUsage is present.
fn check_issuer_profile(issuer: &Certificate) -> Result<(), Error> {
    let tbs = issuer.tbs_certificate();
    if !matches!(tbs.get_extension::<BasicConstraints>(), Ok(Some((_, c))) if c.ca) {
        return Err(Error::CertificateProfile {
            reason: "issuer is not a CA (basicConstraints cA is not set)",
        });
    }
    match tbs.get_extension::<KeyUsage>() {
        Ok(None) => Ok(()),
        Ok(Some((_, usage))) if usage.key_cert_sign() => Ok(()),
        _ => Err(Error::CertificateProfile {
            reason: "issuer keyUsage does not allow keyCertSign",
        }),
    }
}

/// Requires `time` to be within the certificate's validity period.
pub(crate) fn check_valid_at(
    certificate: &Certificate,
    time: GenTime,
    which: &'static str,
) -> Result<(), Error> {
    let validity = certificate.tbs_certificate().validity();
    // Certificate times have whole seconds; notAfter covers its last second.
    let at = Duration::from_secs(time.unix_duration().as_secs());
    if at < validity.not_before.to_unix_duration() || at > validity.not_after.to_unix_duration() {
        return Err(Error::CertificateNotValidAtGenTime { which });
    }
    Ok(())
}

/// The value of an attribute that must appear at most once, with exactly
/// one value.
fn single_value<'a>(
    attributes: &'a SignedAttributes,
    oid: ObjectIdentifier,
    attribute: &'static str,
) -> Result<Option<&'a Any>, Error> {
    let mut matching = attributes.iter().filter(|a| a.oid == oid);
    let Some(found) = matching.next() else {
        return Ok(None);
    };
    match (matching.next(), found.values.len(), found.values.get(0)) {
        (None, 1, Some(value)) => Ok(Some(value)),
        _ => Err(Error::SignedAttributeInvalid { attribute }),
    }
}

/// Requires a `signing-certificate-v2` whose first `ESSCertIDv2` is the
/// signer certificate (RFC 5035 §5.4.1.1, RFC 5816 §2.2.1).
fn check_signing_certificate(
    attributes: &SignedAttributes,
    certificate: &Certificate,
) -> Result<(), Error> {
    const NAME: &str = "signing-certificate-v2";
    let Some(value) = single_value(attributes, ID_AA_SIGNING_CERTIFICATE_V_2, NAME)? else {
        // A v1 attribute (SHA-1 `ESSCertID`) alone is not enough.
        let _ = single_value(attributes, ID_AA_SIGNING_CERTIFICATE, "signing-certificate")?;
        return Err(Error::SigningCertificateMissing);
    };
    let signing_certificate: SigningCertificateV2 = value
        .decode_as()
        .map_err(|_| Error::SignedAttributeInvalid { attribute: NAME })?;
    let id = signing_certificate
        .certs
        .first()
        .ok_or(Error::SigningCertificateMismatch)?;
    let algorithm = imprint_algorithm(&id.hash_algorithm_or_default())?;
    let certificate_der = certificate.to_der().map_err(Error::Encoding)?;
    if algorithm.digest(&certificate_der) != id.cert_hash.as_bytes() {
        return Err(Error::SigningCertificateMismatch);
    }
    if let Some(issuer_serial) = &id.issuer_serial {
        let tbs = certificate.tbs_certificate();
        let issuer_matches = issuer_serial.issuer.iter().any(
            |name| matches!(name, GeneralName::DirectoryName(issuer) if issuer == tbs.issuer()),
        );
        if !issuer_matches || issuer_serial.serial_number != *tbs.serial_number() {
            return Err(Error::SigningCertificateMismatch);
        }
    }
    Ok(())
}

/// Whether `signature` over `message` verifies with the key in
/// `public_key` under `algorithm`.
///
/// `Err` when the algorithm is unsupported or does not fit the key; an
/// undecodable signature value is simply invalid.
fn signature_is_valid(
    public_key: &SubjectPublicKeyInfoOwned,
    algorithm: &AlgorithmIdentifierOwned,
    message: &[u8],
    signature: &[u8],
) -> Result<bool, Error> {
    let key = PublicKey::from_spki(public_key).map_err(|_| Error::PublicKeyInvalid)?;
    match key.verify(algorithm, None, message, signature) {
        Ok(_) => Ok(true),
        Err(affix_pki::Error::SignatureInvalid) => Ok(false),
        Err(affix_pki::Error::AlgorithmKeyMismatch { .. }) => Err(Error::PublicKeyInvalid),
        Err(_) => Err(Error::UnsupportedSignatureAlgorithm { oid: algorithm.oid }),
    }
}
