//! Verifying tokens: what a relying party does with a token it received.
//!
//! A token is a CMS `SignedData` over a `TSTInfo`. The `SignedData` is parsed and
//! verified by `affix-cms` — signer identification, signed attributes, the ESS
//! signing-certificate-v2 binding, the signature and the certificate path, by the same
//! code as every other CMS signature in Affix; this module adds what RFC 3161 asks: the
//! `TSTInfo`, the TSA certificate profile, the imprint and the nonce.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use affix_cms::EncapsulatedSignature;
use const_oid::ObjectIdentifier;
use const_oid::db::{rfc3161::ID_CT_TST_INFO, rfc5280::ID_KP_TIME_STAMPING};
use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{ExtendedKeyUsage, KeyUsage};

use super::request::imprint_algorithm;
use super::{
    Accuracy, DigestAlgorithm, Error, FailureInfo, GenTime, Nonce, PkiStatus, TOKEN_BYTES_MAX,
    TimeStampResp, TokenSerial, TstInfo,
};

/// Whom a relying party trusts to have signed a token.
///
/// Either one pinned TSA certificate, or a certificate path from the TSA to
/// one of a few trust anchors, validated by `affix-cms` at the token's
/// `genTime`. Revocation is not checked here.
///
/// It is also the [`affix_cms::TimestampTokenVerifier`] that checks the
/// signature time-stamp of a CAdES-T signature.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum TsaTrust<'a> {
    /// Only this TSA certificate may have signed; the token need not carry
    /// it.
    Pinned(&'a Certificate),
    /// One of these certificates (normally CA certificates) must anchor a
    /// path from the signer's certificate, through the certificates the token
    /// carries (it must carry the signer's), valid at the token's `genTime`:
    /// issuer signatures, validity, basicConstraints cA, keyCertSign, path
    /// length.
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

/// Verifies a DER `TimeStampToken` (a CMS `ContentInfo`): parses it with
/// [`TimeStampToken::from_der`] and checks it with [`TimeStampToken::verify`].
///
/// # Errors
/// Those of [`TimeStampToken::from_der`] and [`TimeStampToken::verify`].
pub fn verify_token(
    token_der: &[u8],
    trust: TsaTrust<'_>,
    imprint: ExpectedImprint<'_>,
    expected_nonce: Option<&Nonce>,
) -> Result<VerifiedTimestamp, Error> {
    TimeStampToken::from_der(token_der)?.verify(trust, imprint, expected_nonce)
}

/// A parsed `TimeStampToken` (RFC 3161 §2.4.2), **not verified**: the CMS
/// `SignedData`, parsed by `affix-cms`, and the `TSTInfo` it encapsulates.
///
/// ```text
/// TimeStampToken ::= ContentInfo
///      -- contentType is id-signedData ([CMS])
///      -- content is SignedData ([CMS])
/// ```
#[derive(Clone, Debug)]
pub struct TimeStampToken {
    signed_data: EncapsulatedSignature,
    tst_info: TstInfo,
}

impl TimeStampToken {
    /// Parses a DER `TimeStampToken` of at most [`TOKEN_BYTES_MAX`] bytes.
    ///
    /// # Errors
    /// [`Error::TooLarge`]; [`Error::SignedData`] for what `affix-cms` refuses
    /// in the `SignedData` (non-canonical DER, not exactly one signer, version
    /// numbers, digest algorithm list, no encapsulated content, …);
    /// [`Error::NotTstInfo`]; [`Error::Malformed`] or [`Error::UnsupportedVersion`]
    /// for the `TSTInfo`.
    pub fn from_der(token_der: &[u8]) -> Result<Self, Error> {
        check_size("TimeStampToken", token_der)?;
        let signed_data = EncapsulatedSignature::from_der(token_der).map_err(Error::SignedData)?;
        if signed_data.content_type() != ID_CT_TST_INFO {
            return Err(Error::NotTstInfo {
                content_type: signed_data.content_type(),
            });
        }
        let tst_info =
            TstInfo::from_der(signed_data.content()).map_err(Error::malformed("TSTInfo"))?;
        if tst_info.version != 1 {
            return Err(Error::UnsupportedVersion {
                what: "TSTInfo",
                version: tst_info.version,
            });
        }
        Ok(Self {
            signed_data,
            tst_info,
        })
    }

    /// What the token claims. Unverified until [`TimeStampToken::verify`] accepts it.
    pub fn tst_info(&self) -> &TstInfo {
        &self.tst_info
    }

    /// Verifies the token.
    ///
    /// Checks, in order: the `SignedData` with `affix-cms` — the signed
    /// attributes (content-type is `id-ct-TSTInfo`, message-digest matches the
    /// `TSTInfo`), the signer certificate against `trust`, the signature, the
    /// `signing-certificate-v2` binding and the certificate path, all at
    /// `genTime` (to the second: certificate times have whole seconds, and
    /// `notAfter` covers its last second); that `signing-certificate-v2` is
    /// present; the signer certificate's profile (extendedKeyUsage timeStamping
    /// only, critical); the imprint; the nonce when `expected_nonce` is given.
    ///
    /// Supported signature algorithms: ECDSA on P-256 with SHA-256/384/512,
    /// Ed25519, and SM2 with SM3 (default distinguishing identifier).
    ///
    /// # Errors
    /// [`Error::SignerMismatch`] when the signer is not the pinned certificate;
    /// [`Error::SignedData`] for each refusal of the CMS verification (e.g.
    /// `MessageDigestMismatch`, `SignatureInvalid`, `UntrustedChain`,
    /// `CertificateExpired` at `genTime`); [`Error::SigningCertificateMissing`];
    /// [`Error::CertificateProfile`]; [`Error::ImprintMismatch`];
    /// [`Error::NonceMismatch`].
    pub fn verify(
        &self,
        trust: TsaTrust<'_>,
        imprint: ExpectedImprint<'_>,
        expected_nonce: Option<&Nonce>,
    ) -> Result<VerifiedTimestamp, Error> {
        let tst_info = &self.tst_info;
        let at = UNIX_EPOCH + Duration::from_secs(tst_info.gen_time.unix_duration().as_secs());
        let verified = match trust {
            TsaTrust::Pinned(certificate) => {
                if !self.signed_data.signer_identifies(certificate) {
                    return Err(Error::SignerMismatch);
                }
                self.signed_data
                    .verify(std::slice::from_ref(certificate), at)
            }
            TsaTrust::IssuedBy(trust_anchors) => self.signed_data.verify(trust_anchors, at),
        }
        .map_err(Error::SignedData)?;
        // RFC 5816 §2.2.1: the signer certificate must be identified by
        // signing-certificate-v2 (the SHA-1 based v1 attribute alone, OpenSSL's
        // default `ess_cert_id_alg`, is not enough).
        if !verified.signing_certificate_bound() {
            return Err(Error::SigningCertificateMissing);
        }
        let signer_certificate = verified.signer_certificate().clone();
        check_tsa_certificate_profile(&signer_certificate)?;

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
            tsa_name: tst_info.tsa.clone(),
            signer_certificate,
        })
    }
}

impl affix_cms::TimestampTokenVerifier for TsaTrust<'_> {
    type Error = Error;

    /// Verifies a CAdES-T signature time-stamp: a token over `timestamped_data` (the
    /// signature value) signed by a TSA this trust accepts; returns its `genTime`.
    fn verify_timestamp_token(
        &self,
        token_der: &[u8],
        timestamped_data: &[u8],
    ) -> Result<SystemTime, Error> {
        verify_token(
            token_der,
            *self,
            ExpectedImprint::Data(timestamped_data),
            None,
        )
        .map(|verified| verified.gen_time().to_system_time())
    }
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
