//! Checked time-stamp requests.

use const_oid::ObjectIdentifier;
use der::asn1::OctetString;
use der::{Decode, Encode};
use spki::AlgorithmIdentifierOwned;

use super::{DigestAlgorithm, Error, MessageImprint, Nonce, REQUEST_BYTES_MAX, TimeStampReq};

/// A time-stamp request that passed every check a TSA makes before issuing:
/// version 1, a supported hash algorithm, an imprint of the right length, a
/// bounded nonce and no extensions.
///
/// Obtained by parsing a requester's DER with [`TimeStampRequest::parse`], or
/// built by a client with [`TimeStampRequest::new`] and sent with
/// [`TimeStampRequest::to_der`].
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct TimeStampRequest {
    /// The imprint as received, echoed byte for byte into the token.
    message_imprint: MessageImprint,
    hash_algorithm: DigestAlgorithm,
    policy: Option<ObjectIdentifier>,
    nonce: Option<Nonce>,
    certificate_requested: bool,
}

impl TimeStampRequest {
    /// Parses and checks a DER `TimeStampReq`.
    ///
    /// Every error maps to the `PKIFailureInfo` to answer with through
    /// [`Error::failure_info`].
    pub fn parse(der: &[u8]) -> Result<Self, Error> {
        if der.len() > REQUEST_BYTES_MAX {
            return Err(Error::TooLarge {
                what: "TimeStampReq",
                actual_bytes: der.len(),
                limit_bytes: REQUEST_BYTES_MAX,
            });
        }
        let request = TimeStampReq::from_der(der).map_err(Error::malformed("TimeStampReq"))?;
        if request.version != 1 {
            return Err(Error::UnsupportedVersion {
                what: "TimeStampReq",
                version: request.version,
            });
        }
        let hash_algorithm = imprint_algorithm(&request.message_imprint.hash_algorithm)?;
        check_imprint_length(
            hash_algorithm,
            request.message_imprint.hashed_message.as_bytes(),
        )?;
        if let Some(extension) = request.extensions.as_ref().and_then(|e| e.first()) {
            return Err(Error::UnsupportedExtension {
                oid: extension.extn_id,
            });
        }
        let nonce = request.nonce.as_ref().map(Nonce::from_int).transpose()?;
        Ok(Self {
            message_imprint: request.message_imprint,
            hash_algorithm,
            policy: request.req_policy,
            nonce,
            certificate_requested: request.cert_req,
        })
    }

    /// A request for a token over `hashed_message`, a hash made with
    /// `hash_algorithm`. No policy, no nonce, no certificate requested.
    pub fn new(hash_algorithm: DigestAlgorithm, hashed_message: &[u8]) -> Result<Self, Error> {
        check_imprint_length(hash_algorithm, hashed_message)?;
        Ok(Self {
            message_imprint: MessageImprint {
                hash_algorithm: hash_algorithm.algorithm_identifier(),
                hashed_message: OctetString::new(hashed_message).map_err(Error::Encoding)?,
            },
            hash_algorithm,
            policy: None,
            nonce: None,
            certificate_requested: false,
        })
    }

    /// This request, asking for the token to echo `nonce`.
    pub fn with_nonce(mut self, nonce: Nonce) -> Self {
        self.nonce = Some(nonce);
        self
    }

    /// This request, asking for a token under `policy`.
    pub fn with_policy(mut self, policy: ObjectIdentifier) -> Self {
        self.policy = Some(policy);
        self
    }

    /// This request, asking (or not) for the TSA certificate in the token.
    pub fn with_certificate_requested(mut self, requested: bool) -> Self {
        self.certificate_requested = requested;
        self
    }

    /// The DER `TimeStampReq`.
    pub fn to_der(&self) -> Result<Vec<u8>, Error> {
        TimeStampReq {
            version: 1,
            message_imprint: self.message_imprint.clone(),
            req_policy: self.policy,
            nonce: self.nonce.as_ref().map(Nonce::to_int).transpose()?,
            cert_req: self.certificate_requested,
            extensions: None,
        }
        .to_der()
        .map_err(Error::Encoding)
    }

    /// The hash algorithm of the imprint.
    pub fn hash_algorithm(&self) -> DigestAlgorithm {
        self.hash_algorithm
    }

    /// The hash value to be time-stamped.
    pub fn hashed_message(&self) -> &[u8] {
        self.message_imprint.hashed_message.as_bytes()
    }

    /// The imprint exactly as received.
    pub fn message_imprint(&self) -> &MessageImprint {
        &self.message_imprint
    }

    /// The policy asked for, if any.
    pub fn policy(&self) -> Option<ObjectIdentifier> {
        self.policy
    }

    /// The nonce to echo, if any.
    pub fn nonce(&self) -> Option<&Nonce> {
        self.nonce.as_ref()
    }

    /// Whether the TSA certificate must be included in the token (`certReq`).
    pub fn certificate_requested(&self) -> bool {
        self.certificate_requested
    }
}

fn check_imprint_length(algorithm: DigestAlgorithm, hashed_message: &[u8]) -> Result<(), Error> {
    if hashed_message.len() != algorithm.output_bytes() {
        return Err(Error::ImprintLengthMismatch {
            algorithm,
            actual_bytes: hashed_message.len(),
            expected_bytes: algorithm.output_bytes(),
        });
    }
    Ok(())
}

/// Reads the hash algorithm of a message imprint (or of a digest the TSA is asked to
/// verify): a supported algorithm, parameters absent or `NULL`.
pub(crate) fn imprint_algorithm(
    identifier: &AlgorithmIdentifierOwned,
) -> Result<DigestAlgorithm, Error> {
    DigestAlgorithm::from_algorithm_identifier(identifier).map_err(|error| match error {
        affix_pki::Error::DigestParametersNotAllowed { algorithm } => {
            Error::HashParametersNotAllowed { oid: algorithm }
        }
        _ => Error::UnsupportedHashAlgorithm {
            oid: identifier.oid,
        },
    })
}
