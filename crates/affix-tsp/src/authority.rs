//! Issuing tokens: the time-stamp authority.

use core::fmt;
use core::marker::PhantomData;
use core::time::Duration;

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedAttributes, SignedData, SignerIdentifier,
    SignerInfo, SignerInfos,
};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc3161::ID_CT_TST_INFO;
use const_oid::db::rfc5911::{
    ID_AA_SIGNING_CERTIFICATE_V_2, ID_CONTENT_TYPE, ID_MESSAGE_DIGEST, ID_SIGNED_DATA,
};
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Encode, Tag};
use signature::{Keypair, Signer};
use spki::{
    AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, EncodePublicKey,
    SignatureBitStringEncoding,
};
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;

use super::verify::check_tsa_certificate_profile;
use super::{
    Accuracy, DigestAlgorithm, Error, FailureInfo, GenTime, PkiStatus, PkiStatusInfo,
    SigningCertificateV2, TimeStampRequest, TimeStampResp, TokenSerial, TstInfo,
};

/// Settings of a TSA that are not keys or certificates.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct TsaConfig {
    default_policy: ObjectIdentifier,
    other_policies: Vec<ObjectIdentifier>,
    accuracy: Option<Accuracy>,
    include_tsa_name: bool,
}

impl TsaConfig {
    /// Issues under `default_policy` unless a request names another accepted
    /// policy; no accuracy; no `tsa` name in tokens.
    pub fn new(default_policy: ObjectIdentifier) -> Self {
        Self {
            default_policy,
            other_policies: Vec::new(),
            accuracy: None,
            include_tsa_name: false,
        }
    }

    /// Also accepts requests naming `policy`, and issues under it for them.
    pub fn with_accepted_policy(mut self, policy: ObjectIdentifier) -> Self {
        if policy != self.default_policy && !self.other_policies.contains(&policy) {
            self.other_policies.push(policy);
        }
        self
    }

    /// States `accuracy` in every token. `millis` and `micros`, when present,
    /// must be 1 to 999.
    pub fn with_accuracy(mut self, accuracy: Accuracy) -> Result<Self, Error> {
        let in_range = |field: Option<u16>| field.is_none_or(|v| (1..=999).contains(&v));
        if !in_range(accuracy.millis) || !in_range(accuracy.micros) {
            return Err(Error::InvalidAccuracy);
        }
        self.accuracy = Some(accuracy);
        Ok(self)
    }

    /// Puts (or not) the TSA certificate's subject in the `tsa` field of
    /// tokens, as a `directoryName`.
    pub fn with_tsa_name(mut self, include: bool) -> Self {
        self.include_tsa_name = include;
        self
    }

    /// The policy used when a request names none.
    pub fn default_policy(&self) -> ObjectIdentifier {
        self.default_policy
    }

    /// Whether requests may name `policy`.
    pub fn accepts_policy(&self, policy: &ObjectIdentifier) -> bool {
        *policy == self.default_policy || self.other_policies.contains(policy)
    }

    /// The accuracy stated in tokens.
    pub fn accuracy(&self) -> Option<Accuracy> {
        self.accuracy
    }
}

/// What the TSA answers to a request, from [`TimeStampAuthority::respond`].
///
/// Exhaustive on purpose: a synchronous TSA either grants or refuses
/// (RFC 3161's `waiting` and revocation statuses do not arise here), and
/// callers must be able to match both arms without a wildcard.
#[derive(Debug)]
pub enum Response {
    /// A token was issued; the serial number passed in is now used.
    Granted(Vec<u8>),
    /// The request was refused; the serial number passed in is still free.
    Rejected {
        /// The DER `TimeStampResp` to send back.
        der: Vec<u8>,
        /// Why, for the TSA's own logs.
        reason: Error,
    },
}

impl Response {
    /// The DER `TimeStampResp` to send back.
    pub fn der(&self) -> &[u8] {
        match self {
            Response::Granted(der) | Response::Rejected { der, .. } => der,
        }
    }

    /// The DER `TimeStampResp` to send back.
    pub fn into_der(self) -> Vec<u8> {
        match self {
            Response::Granted(der) | Response::Rejected { der, .. } => der,
        }
    }
}

/// A time-stamp authority: a signer, its certificate and its settings.
///
/// `S` is any signer — a key in memory, a vault handle, an HSM session — and
/// `Sig` the signature type it produces in DER form: for example
/// `p256::ecdsa::DerSignature`, `ed25519_dalek::Signature`, or
/// `sm2::dsa::DerSignature` through [`Sm2DerSigner`](super::Sm2DerSigner).
///
/// Tokens are CMS `SignedData` over a `TSTInfo`, with one signer identified
/// by issuer and serial number and the signed attributes content-type,
/// message-digest and signing-certificate-v2 (SHA-256 `ESSCertIDv2` with
/// `issuerSerial`) — what `openssl ts -verify` requires. The digest
/// algorithm follows the signature algorithm: SHA-256/384/512 for ECDSA and
/// RSA, SHA-512 for Ed25519 (RFC 8419), SM3 for SM2.
pub struct TimeStampAuthority<S, Sig> {
    signer: S,
    certificate: Certificate,
    /// The TSA certificate and chain, sent when a request sets `certReq`.
    certificates: CertificateSet,
    config: TsaConfig,
    signer_digest: DigestAlgorithm,
    signature_algorithm: AlgorithmIdentifierOwned,
    signer_identifier: SignerIdentifier,
    /// Signed attributes that are the same in every token.
    content_type_attribute: Attribute,
    signing_certificate_attribute: Attribute,
    tsa_name: Option<GeneralName>,
    signature: PhantomData<fn() -> Sig>,
}

impl<S, Sig> TimeStampAuthority<S, Sig>
where
    S: Signer<Sig> + Keypair + DynSignatureAlgorithmIdentifier,
    S::VerifyingKey: EncodePublicKey,
    Sig: SignatureBitStringEncoding,
{
    /// A TSA signing with `signer`, whose certificate is `certificate`;
    /// `chain` (issuer certificates, without the root if you like) goes into
    /// tokens next to the TSA certificate when a request sets `certReq`.
    ///
    /// Fails if the signer's key is not the certificate's, if the certificate
    /// is not a TSA certificate (extendedKeyUsage must be exactly
    /// timeStamping and critical, RFC 3161 §2.3), or if the signature
    /// algorithm has no known digest.
    pub fn new(
        signer: S,
        certificate: Certificate,
        chain: Vec<Certificate>,
        config: TsaConfig,
    ) -> Result<Self, Error> {
        let tbs = certificate.tbs_certificate();
        let signer_key = signer
            .verifying_key()
            .to_public_key_der()
            .map_err(Error::SignerUnusable)?;
        let certificate_key = tbs
            .subject_public_key_info()
            .to_der()
            .map_err(Error::Encoding)?;
        if signer_key.as_bytes() != certificate_key.as_slice() {
            return Err(Error::SignerKeyMismatch);
        }
        check_tsa_certificate_profile(&certificate)?;

        let signature_algorithm = signer
            .signature_algorithm_identifier()
            .map_err(Error::SignerUnusable)?;
        let signer_digest = DigestAlgorithm::for_signature_algorithm(&signature_algorithm)
            .map_err(|_| Error::UnsupportedSignatureAlgorithm {
                oid: signature_algorithm.oid,
            })?;

        let issuer_and_serial = IssuerAndSerialNumber {
            issuer: tbs.issuer().clone(),
            serial_number: tbs.serial_number().clone(),
        };
        // One ESSCertIDv2: SHA-256 (the DEFAULT, which DER omits) of the
        // certificate, with its issuer and serial number.
        let signing_certificate =
            SigningCertificateV2::for_certificate(&certificate).map_err(|error| match error {
                affix_cms::Error::Encoding(error) => Error::Encoding(error),
                other => Error::SignedData(other),
            })?;

        let mut choices = vec![CertificateChoices::Certificate(certificate.clone())];
        choices.extend(
            chain
                .into_iter()
                .filter(|c| *c != certificate)
                .map(CertificateChoices::Certificate),
        );
        let certificates = CertificateSet::try_from(choices).map_err(Error::Encoding)?;

        Ok(Self {
            signer,
            tsa_name: config
                .include_tsa_name
                .then(|| GeneralName::DirectoryName(tbs.subject().clone())),
            certificate,
            certificates,
            config,
            signer_digest,
            signature_algorithm,
            signer_identifier: SignerIdentifier::IssuerAndSerialNumber(issuer_and_serial),
            content_type_attribute: attribute(ID_CONTENT_TYPE, Any::encode_from(&ID_CT_TST_INFO))?,
            signing_certificate_attribute: attribute(
                ID_AA_SIGNING_CERTIFICATE_V_2,
                Any::encode_from(&signing_certificate),
            )?,
            signature: PhantomData,
        })
    }

    /// Issues a token for a checked request and returns the DER
    /// `TimeStampResp` (status granted).
    ///
    /// `serial` must be unique among this TSA's tokens; `gen_time` is the
    /// current time from the caller's trusted clock, and is cut to whole
    /// milliseconds. Fails with [`Error::UnacceptedPolicy`] when the request
    /// names a policy the [`TsaConfig`] does not accept, and with
    /// [`Error::CertificateNotValidAtGenTime`] when `gen_time` is outside
    /// the TSA certificate's validity.
    pub fn issue(
        &self,
        request: &TimeStampRequest,
        serial: &TokenSerial,
        gen_time: GenTime,
    ) -> Result<Vec<u8>, Error> {
        TimeStampResp {
            status: PkiStatusInfo {
                status: PkiStatus::Granted,
                status_string: None,
                fail_info: None,
            },
            time_stamp_token: Some(self.token(request, serial, gen_time)?),
        }
        .to_der()
        .map_err(Error::Encoding)
    }

    /// Like [`issue`](Self::issue), but returns only the DER
    /// `TimeStampToken` (a CMS `ContentInfo`), the form to store as evidence.
    pub fn issue_token(
        &self,
        request: &TimeStampRequest,
        serial: &TokenSerial,
        gen_time: GenTime,
    ) -> Result<Vec<u8>, Error> {
        self.token(request, serial, gen_time)?
            .to_der()
            .map_err(Error::Encoding)
    }

    /// Answers a DER `TimeStampReq` as a TSA server does: a token, or a
    /// rejection whose `PKIFailureInfo` says what was wrong with the request.
    ///
    /// Returns `Err` only for faults on the TSA's side (the signer failed,
    /// the TSA certificate is not valid at `gen_time`), which a server
    /// reports as `systemFailure` (see [`rejection`]) and raises an alarm
    /// for.
    pub fn respond(
        &self,
        request_der: &[u8],
        serial: &TokenSerial,
        gen_time: GenTime,
    ) -> Result<Response, Error> {
        let request = match TimeStampRequest::parse(request_der) {
            Ok(request) => request,
            Err(reason) => return rejected(reason),
        };
        match self.issue(&request, serial, gen_time) {
            Ok(der) => Ok(Response::Granted(der)),
            Err(reason @ Error::UnacceptedPolicy { .. }) => rejected(reason),
            Err(fault) => Err(fault),
        }
    }

    /// The TSA certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The TSA settings.
    pub fn config(&self) -> &TsaConfig {
        &self.config
    }

    /// Builds and signs the token.
    fn token(
        &self,
        request: &TimeStampRequest,
        serial: &TokenSerial,
        gen_time: GenTime,
    ) -> Result<ContentInfo, Error> {
        check_valid_at(&self.certificate, gen_time, "TSA")?;
        let policy = match request.policy() {
            None => self.config.default_policy,
            Some(policy) if self.config.accepts_policy(&policy) => policy,
            Some(policy) => return Err(Error::UnacceptedPolicy { policy }),
        };
        let tst_info = TstInfo {
            version: 1,
            policy,
            message_imprint: request.message_imprint().clone(),
            serial_number: serial.to_int()?,
            gen_time: gen_time.truncated_to_millis(),
            accuracy: self.config.accuracy,
            ordering: false,
            nonce: request.nonce().map(|n| n.to_int()).transpose()?,
            tsa: self.tsa_name.clone(),
            extensions: None,
        };
        let tst_info_der = tst_info.to_der().map_err(Error::Encoding)?;

        let message_digest = attribute(
            ID_MESSAGE_DIGEST,
            Any::new(Tag::OctetString, self.signer_digest.digest(&tst_info_der)),
        )?;
        let signed_attributes: SignedAttributes = SetOfVec::try_from(vec![
            self.content_type_attribute.clone(),
            message_digest,
            self.signing_certificate_attribute.clone(),
        ])
        .map_err(Error::Encoding)?;
        // RFC 5652 §5.4: the signature covers the DER of the attributes as a
        // `SET OF` (tag 0x31), not as the `[0] IMPLICIT` field.
        let to_be_signed = signed_attributes.to_der().map_err(Error::Encoding)?;
        let signature = self
            .signer
            .try_sign(&to_be_signed)
            .map_err(Error::Signing)?
            .to_bitstring()
            .map_err(Error::Encoding)?;

        let signer_info = SignerInfo {
            version: CmsVersion::V1,
            sid: self.signer_identifier.clone(),
            digest_alg: self.signer_digest.algorithm_identifier(),
            signed_attrs: Some(signed_attributes),
            signature_algorithm: self.signature_algorithm.clone(),
            signature: OctetString::new(signature.raw_bytes()).map_err(Error::Encoding)?,
            unsigned_attrs: None,
        };
        let signed_data = SignedData {
            // RFC 5652 §5.1: version 3 because eContentType is not id-data.
            version: CmsVersion::V3,
            digest_algorithms: SetOfVec::try_from(vec![self.signer_digest.algorithm_identifier()])
                .map_err(Error::Encoding)?,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: ID_CT_TST_INFO,
                econtent: Some(Any::new(Tag::OctetString, tst_info_der).map_err(Error::Encoding)?),
            },
            certificates: request
                .certificate_requested()
                .then(|| self.certificates.clone()),
            crls: None,
            signer_infos: SignerInfos(
                SetOfVec::try_from(vec![signer_info]).map_err(Error::Encoding)?,
            ),
        };
        Ok(ContentInfo {
            content_type: ID_SIGNED_DATA,
            content: Any::encode_from(&signed_data).map_err(Error::Encoding)?,
        })
    }
}

impl<S, Sig> fmt::Debug for TimeStampAuthority<S, Sig> {
    /// Shows the certificate subject and settings, never the signer.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimeStampAuthority")
            .field("subject", &self.certificate.tbs_certificate().subject())
            .field("config", &self.config)
            .field("signer_digest", &self.signer_digest)
            .finish_non_exhaustive()
    }
}

/// The DER `TimeStampResp` refusing a request for `failure`, with status
/// `rejection` and the failure's description as status text.
///
/// RFC 3161 §2.4.2 allows no token with any status but granted, so this is
/// the only kind of negative response; use [`Error::failure_info`] to pick
/// the failure.
pub fn rejection(failure: FailureInfo) -> Result<Vec<u8>, Error> {
    TimeStampResp {
        status: PkiStatusInfo {
            status: PkiStatus::Rejection,
            status_string: Some(vec![failure.description().into()]),
            fail_info: Some(failure.to_bit_string().map_err(Error::Encoding)?),
        },
        time_stamp_token: None,
    }
    .to_der()
    .map_err(Error::Encoding)
}

fn rejected(reason: Error) -> Result<Response, Error> {
    Ok(Response::Rejected {
        der: rejection(reason.failure_info())?,
        reason,
    })
}

/// A single-valued attribute.
fn attribute(oid: ObjectIdentifier, value: der::Result<Any>) -> Result<Attribute, Error> {
    let values =
        SetOfVec::try_from(vec![value.map_err(Error::Encoding)?]).map_err(Error::Encoding)?;
    Ok(Attribute { oid, values })
}

/// Requires `time` to be within the certificate's validity period.
fn check_valid_at(
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
