//! OCSP (RFC 6960): request parsing and signed `BasicOCSPResponse`s.
//!
//! A [`Responder`] answers for the certificates of one CA. It signs either
//! with the CA's own key ([`Responder::for_ca`]) or with a delegated OCSP
//! signer certificate issued by that CA ([`Responder::delegated`], see
//! [`crate::ca::Profile::OcspSigner`]). Responses identify the responder by
//! key hash (`responderID byKey`), echo the request's nonce (RFC 8954), and
//! carry the caller's `producedAt`, `thisUpdate` and `nextUpdate`.
//!
//! Revocation status comes from a caller-supplied lookup
//! `Fn(&SerialNumber) -> CertStatus`, so this module stays free of storage.
//!
//! [`Responder::respond`] never fails: bytes that do not parse, or break a
//! limit, get a `malformedRequest` response; a request only about other CAs'
//! certificates gets `unauthorized` (RFC 5019 §2.2.3); a signer fault gets
//! `internalError`. The reason is kept in [`Answer::refusal`] for logging.
//!
//! Request signatures (`optionalSignature`) are not checked: this
//! responder serves anyone, as RFC 5019 responders do.

use der::{
    DateTime, Decode, Encode,
    asn1::{GeneralizedTime, Null, OctetString},
};
use sha2::{Digest, Sha256};
use spki::{AlgorithmIdentifierOwned, SignatureBitStringEncoding};
use x509_cert::{
    Certificate,
    ext::{
        Extension,
        pkix::{AuthorityKeyIdentifier, CrlReason, ExtendedKeyUsage},
    },
    serial_number::SerialNumber,
};

use const_oid::db::{
    rfc5280::ID_KP_OCSP_SIGNING,
    rfc5912::{ID_SHA_1, ID_SHA_256},
    rfc6960::{ID_PKIX_OCSP_BASIC, ID_PKIX_OCSP_NONCE},
};

use crate::{
    ca::{
        CertificateSigner, SubjectPublicKey, certificate_key_identifier, check_signer_holds_key,
        sign_bits, signature_algorithm,
    },
    error::{Error, Result},
};

/// Largest DER request accepted. A request for one certificate is about
/// 80–120 bytes; a signed request with its signer's chain a few KiB.
pub const REQUEST_DER_BYTES_MAX: usize = 16 * 1024;

/// Most certificates answered in one response.
pub const REQUEST_CERTS_MAX: usize = 32;

/// Longest nonce accepted, in bytes (RFC 8954 §2.1).
const NONCE_BYTES_MAX: usize = 32;

/// The ASN.1 types of RFC 6960 this crate reads and writes, derived with
/// `der`. The module is `DEFINITIONS EXPLICIT TAGS`, so tags are explicit
/// unless the RFC says `IMPLICIT`.
pub mod asn1 {
    use der::{
        Choice, Enumerated, Sequence,
        asn1::{BitString, GeneralizedTime, Null, ObjectIdentifier, OctetString},
    };
    use spki::AlgorithmIdentifierOwned;
    use x509_cert::{
        Certificate,
        ext::{Extensions, pkix::CrlReason, pkix::name::GeneralName},
        name::Name,
        serial_number::SerialNumber,
    };

    /// Protocol version.
    ///
    /// ```text
    /// Version ::= INTEGER { v1(0) }
    /// ```
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Enumerated)]
    #[asn1(type = "INTEGER")]
    #[repr(u8)]
    pub enum Version {
        /// Version 1, the only one.
        #[default]
        V1 = 0,
    }

    /// ```text
    /// OCSPRequest ::= SEQUENCE {
    ///     tbsRequest                  TBSRequest,
    ///     optionalSignature   [0]     EXPLICIT Signature OPTIONAL }
    /// ```
    #[derive(Clone, Debug, PartialEq, Eq, Sequence)]
    pub struct OcspRequest {
        /// The request proper.
        pub tbs_request: TbsRequest,
        /// Requester's signature, if any (not checked by this crate).
        #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
        pub optional_signature: Option<Signature>,
    }

    /// ```text
    /// TBSRequest ::= SEQUENCE {
    ///     version             [0]     EXPLICIT Version DEFAULT v1,
    ///     requestorName       [1]     EXPLICIT GeneralName OPTIONAL,
    ///     requestList                 SEQUENCE OF Request,
    ///     requestExtensions   [2]     EXPLICIT Extensions OPTIONAL }
    /// ```
    #[derive(Clone, Debug, PartialEq, Eq, Sequence)]
    pub struct TbsRequest {
        /// Always v1.
        #[asn1(
            context_specific = "0",
            tag_mode = "EXPLICIT",
            default = "Default::default"
        )]
        pub version: Version,
        /// Who asks (informational).
        #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
        pub requestor_name: Option<GeneralName>,
        /// One entry per certificate asked about.
        pub request_list: Vec<Request>,
        /// Request extensions, e.g. the nonce.
        #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
        pub request_extensions: Option<Extensions>,
    }

    /// ```text
    /// Signature ::= SEQUENCE {
    ///     signatureAlgorithm      AlgorithmIdentifier,
    ///     signature               BIT STRING,
    ///     certs               [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL}
    /// ```
    #[derive(Clone, Debug, PartialEq, Eq, Sequence)]
    pub struct Signature {
        /// Algorithm of the requester's signature.
        pub signature_algorithm: AlgorithmIdentifierOwned,
        /// The signature over `tbsRequest`.
        pub signature: BitString,
        /// Certificates helping to verify it.
        #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
        pub certs: Option<Vec<Certificate>>,
    }

    /// ```text
    /// Request ::= SEQUENCE {
    ///     reqCert                     CertID,
    ///     singleRequestExtensions     [0] EXPLICIT Extensions OPTIONAL }
    /// ```
    #[derive(Clone, Debug, PartialEq, Eq, Sequence)]
    pub struct Request {
        /// The certificate asked about.
        pub req_cert: CertId,
        /// Per-certificate extensions (ignored).
        #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
        pub single_request_extensions: Option<Extensions>,
    }

    /// ```text
    /// CertID ::= SEQUENCE {
    ///     hashAlgorithm       AlgorithmIdentifier,
    ///     issuerNameHash      OCTET STRING, -- Hash of issuer's DN
    ///     issuerKeyHash       OCTET STRING, -- Hash of issuer's public key
    ///     serialNumber        CertificateSerialNumber }
    /// ```
    #[derive(Clone, Debug, PartialEq, Eq, Sequence)]
    pub struct CertId {
        /// Hash used for the two issuer hashes.
        pub hash_algorithm: AlgorithmIdentifierOwned,
        /// Hash of the DER of the issuer's name.
        pub issuer_name_hash: OctetString,
        /// Hash of the issuer's subjectPublicKey BIT STRING contents.
        pub issuer_key_hash: OctetString,
        /// Serial number of the certificate asked about.
        pub serial_number: SerialNumber,
    }

    /// ```text
    /// OCSPResponse ::= SEQUENCE {
    ///    responseStatus         OCSPResponseStatus,
    ///    responseBytes          [0] EXPLICIT ResponseBytes OPTIONAL }
    /// ```
    #[derive(Clone, Debug, PartialEq, Eq, Sequence)]
    pub struct OcspResponse {
        /// Outcome.
        pub response_status: OcspResponseStatus,
        /// Present only when `successful`.
        #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
        pub response_bytes: Option<ResponseBytes>,
    }

    /// ```text
    /// OCSPResponseStatus ::= ENUMERATED {
    ///     successful            (0),  -- Response has valid confirmations
    ///     malformedRequest      (1),  -- Illegal confirmation request
    ///     internalError         (2),  -- Internal error in issuer
    ///     tryLater              (3),  -- Try again later
    ///                                 -- (4) is not used
    ///     sigRequired           (5),  -- Must sign the request
    ///     unauthorized          (6)   -- Request unauthorized
    /// }
    /// ```
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Enumerated)]
    #[repr(u8)]
    #[allow(missing_docs)]
    pub enum OcspResponseStatus {
        Successful = 0,
        MalformedRequest = 1,
        InternalError = 2,
        TryLater = 3,
        SigRequired = 5,
        Unauthorized = 6,
    }

    /// ```text
    /// ResponseBytes ::=       SEQUENCE {
    ///     responseType   OBJECT IDENTIFIER,
    ///     response       OCTET STRING }
    /// ```
    #[derive(Clone, Debug, PartialEq, Eq, Sequence)]
    pub struct ResponseBytes {
        /// `id-pkix-ocsp-basic`.
        pub response_type: ObjectIdentifier,
        /// DER of a `BasicOCSPResponse`.
        pub response: OctetString,
    }

    /// ```text
    /// BasicOCSPResponse       ::= SEQUENCE {
    ///    tbsResponseData      ResponseData,
    ///    signatureAlgorithm   AlgorithmIdentifier,
    ///    signature            BIT STRING,
    ///    certs            [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }
    /// ```
    #[derive(Clone, Debug, PartialEq, Eq, Sequence)]
    pub struct BasicOcspResponse {
        /// What is signed.
        pub tbs_response_data: ResponseData,
        /// Responder's signature algorithm.
        pub signature_algorithm: AlgorithmIdentifierOwned,
        /// Signature over the DER of `tbsResponseData`.
        pub signature: BitString,
        /// The delegated responder's certificate, when there is one.
        #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
        pub certs: Option<Vec<Certificate>>,
    }

    /// ```text
    /// ResponseData ::= SEQUENCE {
    ///    version              [0] EXPLICIT Version DEFAULT v1,
    ///    responderID              ResponderID,
    ///    producedAt               GeneralizedTime,
    ///    responses                SEQUENCE OF SingleResponse,
    ///    responseExtensions   [1] EXPLICIT Extensions OPTIONAL }
    /// ```
    #[derive(Clone, Debug, PartialEq, Eq, Sequence)]
    pub struct ResponseData {
        /// Always v1 (so never encoded).
        #[asn1(
            context_specific = "0",
            tag_mode = "EXPLICIT",
            default = "Default::default"
        )]
        pub version: Version,
        /// Who signed.
        pub responder_id: ResponderId,
        /// When the response was signed.
        pub produced_at: GeneralizedTime,
        /// One per certificate asked about.
        pub responses: Vec<SingleResponse>,
        /// Response extensions, e.g. the echoed nonce.
        #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
        pub response_extensions: Option<Extensions>,
    }

    /// ```text
    /// ResponderID ::= CHOICE {
    ///    byName   [1] Name,
    ///    byKey    [2] KeyHash }
    ///
    /// KeyHash ::= OCTET STRING -- SHA-1 hash of responder's public key
    ///                          (excluding the tag and length fields)
    /// ```
    #[derive(Clone, Debug, PartialEq, Eq, Choice)]
    pub enum ResponderId {
        /// The responder's subject name.
        #[asn1(context_specific = "1", tag_mode = "EXPLICIT", constructed = "true")]
        ByName(Name),
        /// SHA-1 of the responder's subjectPublicKey BIT STRING contents.
        #[asn1(context_specific = "2", tag_mode = "EXPLICIT", constructed = "true")]
        ByKey(OctetString),
    }

    /// ```text
    /// SingleResponse ::= SEQUENCE {
    ///    certID                       CertID,
    ///    certStatus                   CertStatus,
    ///    thisUpdate                   GeneralizedTime,
    ///    nextUpdate         [0]       EXPLICIT GeneralizedTime OPTIONAL,
    ///    singleExtensions   [1]       EXPLICIT Extensions OPTIONAL }
    /// ```
    #[derive(Clone, Debug, PartialEq, Eq, Sequence)]
    pub struct SingleResponse {
        /// The CertID exactly as requested.
        pub cert_id: CertId,
        /// Good, revoked or unknown.
        pub cert_status: CertStatus,
        /// Time the status is known correct at.
        pub this_update: GeneralizedTime,
        /// Time newer information will be available by.
        #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
        pub next_update: Option<GeneralizedTime>,
        /// Per-certificate extensions (none written).
        #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
        pub single_extensions: Option<Extensions>,
    }

    /// ```text
    /// CertStatus ::= CHOICE {
    ///     good        [0]     IMPLICIT NULL,
    ///     revoked     [1]     IMPLICIT RevokedInfo,
    ///     unknown     [2]     IMPLICIT UnknownInfo }
    ///
    /// UnknownInfo ::= NULL
    /// ```
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Choice)]
    pub enum CertStatus {
        /// Not revoked.
        #[asn1(context_specific = "0", tag_mode = "IMPLICIT")]
        Good(Null),
        /// Revoked.
        #[asn1(context_specific = "1", tag_mode = "IMPLICIT", constructed = "true")]
        Revoked(RevokedInfo),
        /// Not known to this responder.
        #[asn1(context_specific = "2", tag_mode = "IMPLICIT")]
        Unknown(Null),
    }

    /// ```text
    /// RevokedInfo ::= SEQUENCE {
    ///     revocationTime              GeneralizedTime,
    ///     revocationReason    [0]     EXPLICIT CRLReason OPTIONAL }
    /// ```
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Sequence)]
    pub struct RevokedInfo {
        /// When it was revoked.
        pub revocation_time: GeneralizedTime,
        /// Why, if known.
        #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
        pub revocation_reason: Option<CrlReason>,
    }
}

pub use asn1::OcspResponseStatus;

/// Status of one certificate, as the caller's lookup reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertStatus {
    /// Issued by this CA and not revoked.
    Good,
    /// Revoked at `revoked_at`, for `reason` if known.
    Revoked {
        /// Revocation time.
        revoked_at: DateTime,
        /// Revocation reason, if known.
        reason: Option<CrlReason>,
    },
    /// Not known (e.g. never issued by this CA).
    Unknown,
}

/// An OCSP request that parsed within the limits: 1 to
/// [`REQUEST_CERTS_MAX`] CertIDs and, if present, a nonce of 1 to 32 bytes.
#[derive(Clone, Debug)]
pub struct ParsedRequest {
    request: asn1::OcspRequest,
    nonce: Option<Extension>,
}

impl ParsedRequest {
    /// Parse a DER `OCSPRequest`.
    ///
    /// # Errors
    /// [`Error::InputTooLarge`] over [`REQUEST_DER_BYTES_MAX`],
    /// [`Error::MalformedOcspRequest`] if it is not DER of the RFC 6960
    /// structure (trailing bytes included), [`Error::OcspRequestCount`] for
    /// an empty or too long request list, [`Error::OcspNonceInvalid`] for a
    /// nonce that is not an OCTET STRING of 1 to 32 bytes.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        if der.len() > REQUEST_DER_BYTES_MAX {
            return Err(Error::InputTooLarge {
                what: "OCSP request",
                len_bytes: der.len(),
                max_bytes: REQUEST_DER_BYTES_MAX,
            });
        }
        let request = asn1::OcspRequest::from_der(der).map_err(Error::MalformedOcspRequest)?;
        let count = request.tbs_request.request_list.len();
        if count == 0 || count > REQUEST_CERTS_MAX {
            return Err(Error::OcspRequestCount {
                count,
                max: REQUEST_CERTS_MAX,
            });
        }
        let nonce = request
            .tbs_request
            .request_extensions
            .iter()
            .flatten()
            .find(|extension| extension.extn_id == ID_PKIX_OCSP_NONCE)
            .cloned();
        if let Some(nonce) = &nonce {
            let value = OctetString::from_der(nonce.extn_value.as_bytes())
                .map_err(|_| Error::OcspNonceInvalid)?;
            if value.is_empty() || value.as_bytes().len() > NONCE_BYTES_MAX {
                return Err(Error::OcspNonceInvalid);
            }
        }
        Ok(Self { request, nonce })
    }

    /// The certificates asked about.
    pub fn cert_ids(&self) -> impl Iterator<Item = &asn1::CertId> {
        self.request
            .tbs_request
            .request_list
            .iter()
            .map(|request| &request.req_cert)
    }

    /// The nonce bytes, if the request has one.
    pub fn nonce(&self) -> Option<Vec<u8>> {
        let nonce = self.nonce.as_ref()?;
        OctetString::from_der(nonce.extn_value.as_bytes())
            .ok()
            .map(|value| value.as_bytes().to_vec())
    }

    /// The whole decoded request.
    pub fn request(&self) -> &asn1::OcspRequest {
        &self.request
    }
}

/// The times written into a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResponseTimes {
    produced_at: DateTime,
    this_update: DateTime,
    next_update: Option<DateTime>,
}

impl ResponseTimes {
    /// `produced_at`: when the response is signed; `this_update`: when the
    /// status was known correct; `next_update`: when newer status will be
    /// available (absent means "any time").
    ///
    /// # Errors
    /// [`Error::UpdateTimesOutOfOrder`] unless `this_update < next_update`.
    pub fn new(
        produced_at: DateTime,
        this_update: DateTime,
        next_update: Option<DateTime>,
    ) -> Result<Self> {
        if next_update.is_some_and(|next| next <= this_update) {
            return Err(Error::UpdateTimesOutOfOrder);
        }
        Ok(Self {
            produced_at,
            this_update,
            next_update,
        })
    }
}

/// What to send back for one request: the DER `OCSPResponse`, its status,
/// and, for anything but `successful`, why.
#[derive(Debug)]
pub struct Answer {
    der: Vec<u8>,
    status: OcspResponseStatus,
    refusal: Option<Error>,
}

impl Answer {
    /// The DER `OCSPResponse` to send (`application/ocsp-response`).
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// Take the DER bytes.
    pub fn into_der(self) -> Vec<u8> {
        self.der
    }

    /// The response status.
    pub fn status(&self) -> OcspResponseStatus {
        self.status
    }

    /// Why the request was not answered successfully, for logs.
    pub fn refusal(&self) -> Option<&Error> {
        self.refusal.as_ref()
    }

    fn refused(status: OcspResponseStatus, error: Error) -> Self {
        Self {
            der: error_response(status),
            status,
            refusal: Some(error),
        }
    }
}

/// DER of an unsigned error `OCSPResponse` (no `responseBytes`) with the
/// given status, e.g. `malformedRequest` or `unauthorized`.
///
/// `successful` is not an error status; passing it yields `internalError`.
pub fn error_response(status: OcspResponseStatus) -> Vec<u8> {
    let status = match status {
        OcspResponseStatus::Successful => OcspResponseStatus::InternalError,
        other => other,
    };
    // SEQUENCE { ENUMERATED status }: five fixed bytes, nothing to fail.
    vec![0x30, 0x03, 0x0a, 0x01, status as u8]
}

/// Hashes identifying the CA whose certificates a [`Responder`] answers for,
/// for each CertID hash algorithm accepted.
#[derive(Clone, Debug)]
struct IssuerHashes {
    sha1_name: [u8; 20],
    sha1_key: [u8; 20],
    sha256_name: [u8; 32],
    sha256_key: [u8; 32],
}

impl IssuerHashes {
    fn new(ca_certificate: &Certificate) -> Result<Self> {
        let tbs = ca_certificate.tbs_certificate();
        let name = tbs.subject().to_der().map_err(Error::Encoding)?;
        let key = tbs.subject_public_key_info().subject_public_key.raw_bytes();
        Ok(Self {
            sha1_name: sha1::Sha1::digest(&name).into(),
            sha1_key: sha1::Sha1::digest(key).into(),
            sha256_name: Sha256::digest(&name).into(),
            sha256_key: Sha256::digest(key).into(),
        })
    }

    /// Does `cert_id` name this CA as issuer?
    fn matches(&self, cert_id: &asn1::CertId) -> bool {
        let parameters_ok = cert_id
            .hash_algorithm
            .parameters
            .as_ref()
            .is_none_or(|parameters| parameters.decode_as::<Null>().is_ok());
        if !parameters_ok {
            return false;
        }
        let (name, key): (&[u8], &[u8]) = match cert_id.hash_algorithm.oid {
            ID_SHA_1 => (&self.sha1_name, &self.sha1_key),
            ID_SHA_256 => (&self.sha256_name, &self.sha256_key),
            _ => return false,
        };
        cert_id.issuer_name_hash.as_bytes() == name && cert_id.issuer_key_hash.as_bytes() == key
    }
}

/// An OCSP responder for one CA.
///
/// `S` is the signing handle (the CA's own, or a delegated responder's) and
/// `Sig` its signature type, as for [`crate::ca::Issuer`].
pub struct Responder<S, Sig> {
    signer: S,
    issuer: IssuerHashes,
    responder_key_hash: [u8; 20],
    /// The delegated responder certificate, sent along in `certs`.
    delegated_certificate: Option<Certificate>,
    _signature: core::marker::PhantomData<fn() -> Sig>,
}

impl<S, Sig> core::fmt::Debug for Responder<S, Sig> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Responder")
            .field("issuer", &self.issuer)
            .field("delegated", &self.delegated_certificate.is_some())
            .finish_non_exhaustive()
    }
}

impl<S, Sig> Responder<S, Sig>
where
    S: CertificateSigner<Sig>,
    Sig: SignatureBitStringEncoding,
{
    /// A responder that signs with the CA's own key.
    ///
    /// # Errors
    /// [`Error::SignerKeyMismatch`] if `signer` does not hold the key of
    /// `ca_certificate`.
    pub fn for_ca(ca_certificate: &Certificate, signer: S) -> Result<Self> {
        check_signer_holds_key::<S, Sig>(&signer, ca_certificate.tbs_certificate())?;
        let responder_key = SubjectPublicKey::from_spki(
            ca_certificate.tbs_certificate().subject_public_key_info(),
        )?;
        Ok(Self {
            signer,
            issuer: IssuerHashes::new(ca_certificate)?,
            responder_key_hash: responder_key.sha1_key_hash(),
            delegated_certificate: None,
            _signature: core::marker::PhantomData,
        })
    }

    /// A responder that signs with a delegated OCSP signer's key
    /// (RFC 6960 §4.2.2.2). The responder certificate must be issued by
    /// `ca_certificate` (name, authority key identifier and signature are
    /// checked) and carry the id-kp-OCSPSigning extended key usage; it is
    /// included in every response so clients can check it.
    ///
    /// # Errors
    /// [`Error::NotAnOcspResponder`] if those conditions fail,
    /// [`Error::SignerKeyMismatch`] if `signer` does not hold the responder
    /// certificate's key.
    pub fn delegated(
        ca_certificate: &Certificate,
        responder_certificate: Certificate,
        signer: S,
    ) -> Result<Self> {
        let ca = ca_certificate.tbs_certificate();
        let responder = responder_certificate.tbs_certificate();
        let refuse = |reason| Error::NotAnOcspResponder { reason };
        if responder.issuer() != ca.subject() {
            return Err(refuse("issuer name is not the CA's subject"));
        }
        if let Some(ca_key_id) = certificate_key_identifier(ca_certificate)? {
            let aki = responder
                .get_extension::<AuthorityKeyIdentifier>()
                .map_err(Error::Encoding)?
                .and_then(|(_, aki)| aki.key_identifier);
            if aki.is_some_and(|aki| aki.as_bytes() != ca_key_id.as_slice()) {
                return Err(refuse("authority key identifier is not the CA's"));
            }
        }
        let ocsp_signing = responder
            .get_extension::<ExtendedKeyUsage>()
            .map_err(Error::Encoding)?
            .is_some_and(|(_, eku)| eku.0.contains(&ID_KP_OCSP_SIGNING));
        if !ocsp_signing {
            return Err(refuse("no id-kp-OCSPSigning extended key usage"));
        }
        let ca_key = SubjectPublicKey::from_spki(ca.subject_public_key_info())?;
        let responder_tbs_der = responder.to_der().map_err(Error::Encoding)?;
        if !ca_key.verify(
            responder_certificate.signature_algorithm(),
            &responder_tbs_der,
            responder_certificate.signature(),
        )? {
            return Err(refuse(
                "certificate signature does not verify with the CA key",
            ));
        }
        check_signer_holds_key::<S, Sig>(&signer, responder)?;
        let responder_key = SubjectPublicKey::from_spki(responder.subject_public_key_info())?;
        Ok(Self {
            signer,
            issuer: IssuerHashes::new(ca_certificate)?,
            responder_key_hash: responder_key.sha1_key_hash(),
            delegated_certificate: Some(responder_certificate),
            _signature: core::marker::PhantomData,
        })
    }

    /// Answer DER request bytes. Never fails; see the module documentation
    /// for how problems map to response statuses.
    pub fn respond<F>(&self, request_der: &[u8], times: &ResponseTimes, lookup: F) -> Answer
    where
        F: Fn(&SerialNumber) -> CertStatus,
    {
        let request = match ParsedRequest::from_der(request_der) {
            Ok(request) => request,
            Err(error) => return Answer::refused(OcspResponseStatus::MalformedRequest, error),
        };
        self.respond_to(&request, times, lookup)
    }

    /// Answer an already parsed request. Never fails, as
    /// [`Responder::respond`].
    pub fn respond_to<F>(&self, request: &ParsedRequest, times: &ResponseTimes, lookup: F) -> Answer
    where
        F: Fn(&SerialNumber) -> CertStatus,
    {
        if !request
            .cert_ids()
            .any(|cert_id| self.issuer.matches(cert_id))
        {
            return Answer::refused(OcspResponseStatus::Unauthorized, Error::OcspIssuerNotServed);
        }
        match self.sign_response(request, times, lookup) {
            Ok(der) => Answer {
                der,
                status: OcspResponseStatus::Successful,
                refusal: None,
            },
            Err(error) => Answer::refused(OcspResponseStatus::InternalError, error),
        }
    }

    fn sign_response<F>(
        &self,
        request: &ParsedRequest,
        times: &ResponseTimes,
        lookup: F,
    ) -> Result<Vec<u8>>
    where
        F: Fn(&SerialNumber) -> CertStatus,
    {
        let this_update = GeneralizedTime::from_date_time(times.this_update);
        let next_update = times.next_update.map(GeneralizedTime::from_date_time);
        let responses = request
            .cert_ids()
            .map(|cert_id| {
                let status = if self.issuer.matches(cert_id) {
                    lookup(&cert_id.serial_number)
                } else {
                    // RFC 6960 §2.2: "unknown" for an issuer not served here.
                    CertStatus::Unknown
                };
                asn1::SingleResponse {
                    cert_id: cert_id.clone(),
                    cert_status: match status {
                        CertStatus::Good => asn1::CertStatus::Good(Null),
                        CertStatus::Revoked { revoked_at, reason } => {
                            asn1::CertStatus::Revoked(asn1::RevokedInfo {
                                revocation_time: GeneralizedTime::from_date_time(revoked_at),
                                revocation_reason: reason,
                            })
                        }
                        CertStatus::Unknown => asn1::CertStatus::Unknown(Null),
                    },
                    this_update,
                    next_update,
                    single_extensions: None,
                }
            })
            .collect();
        let response_extensions = request.nonce.as_ref().map(|nonce| {
            vec![Extension {
                extn_id: ID_PKIX_OCSP_NONCE,
                critical: false,
                extn_value: nonce.extn_value.clone(),
            }]
        });
        let tbs_response_data = asn1::ResponseData {
            version: asn1::Version::V1,
            responder_id: asn1::ResponderId::ByKey(
                OctetString::new(self.responder_key_hash).map_err(Error::Encoding)?,
            ),
            produced_at: GeneralizedTime::from_date_time(times.produced_at),
            responses,
            response_extensions,
        };
        let signature_algorithm: AlgorithmIdentifierOwned = signature_algorithm(&self.signer)?;
        let tbs_der = tbs_response_data.to_der().map_err(Error::Encoding)?;
        let signature = sign_bits::<S, Sig>(&self.signer, &tbs_der)?;
        let basic = asn1::BasicOcspResponse {
            tbs_response_data,
            signature_algorithm,
            signature,
            certs: self.delegated_certificate.clone().map(|cert| vec![cert]),
        };
        let response = asn1::OcspResponse {
            response_status: OcspResponseStatus::Successful,
            response_bytes: Some(asn1::ResponseBytes {
                response_type: ID_PKIX_OCSP_BASIC,
                response: OctetString::new(basic.to_der().map_err(Error::Encoding)?)
                    .map_err(Error::Encoding)?,
            }),
        };
        response.to_der().map_err(Error::Encoding)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_responses_decode() {
        for status in [
            OcspResponseStatus::MalformedRequest,
            OcspResponseStatus::InternalError,
            OcspResponseStatus::TryLater,
            OcspResponseStatus::SigRequired,
            OcspResponseStatus::Unauthorized,
        ] {
            let der = error_response(status);
            let decoded = asn1::OcspResponse::from_der(&der).unwrap();
            assert_eq!(decoded.response_status, status);
            assert!(decoded.response_bytes.is_none());
        }
        assert_eq!(
            error_response(OcspResponseStatus::Successful),
            error_response(OcspResponseStatus::InternalError)
        );
    }

    #[test]
    fn response_times_are_ordered() {
        let t0 = DateTime::new(2026, 1, 1, 0, 0, 0).unwrap();
        let t1 = DateTime::new(2026, 1, 2, 0, 0, 0).unwrap();
        assert!(ResponseTimes::new(t0, t0, Some(t1)).is_ok());
        assert!(ResponseTimes::new(t0, t1, Some(t0)).is_err());
        assert!(ResponseTimes::new(t0, t0, None).is_ok());
    }
}
