//! The verified-data type: what a successful identity check produces.

use crate::{
    BankCardVerificationRequest, ChallengeId, Commitment, Error, ExternalCheck, ExternalDecision,
    ExternalOutcome, FaceVerificationRequest, MobileNumber, ProviderName, ProviderReference,
    ResidentId, ResultDigest,
};

/// Domain tag of the canonical encoding.
const VERIFIED_TAG: &[u8] = b"affix-identity/v1/verified-identity\0";

/// How an identity was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerificationMethod {
    /// The signer gave back a one-time code sent to an e-mail address
    /// ([`crate::OtpChallenge::verify`]). Proves control of the mailbox.
    EmailOtp {
        /// The challenge answered.
        challenge: ChallengeId,
    },
    /// A resident ID number passed the GB 11643 format checks
    /// ([`VerifiedIdentity::from_resident_id_format`]). Proves only that the number is
    /// well-formed, not who typed it.
    ResidentIdFormat,
    /// A mobile number passed the format checks
    /// ([`VerifiedIdentity::from_mobile_format`]). Proves only that the number is
    /// well-formed.
    MobileFormat,
    /// An external provider reported a match ([`VerifiedIdentity::from_face`],
    /// [`VerifiedIdentity::from_bank_card`]).
    External {
        /// The provider.
        provider: ProviderName,
        /// The kind of check.
        check: ExternalCheck,
        /// The provider's reference for the check.
        reference: ProviderReference,
        /// SHA-256 of the provider's response.
        response_digest: [u8; 32],
    },
}

impl VerificationMethod {
    fn code(&self) -> u8 {
        match self {
            Self::EmailOtp { .. } => 1,
            Self::ResidentIdFormat => 2,
            Self::MobileFormat => 3,
            Self::External { .. } => 4,
        }
    }
}

/// The result of a successful identity check: the method, a salted commitment to the
/// subject (the e-mail address, resident ID or mobile number checked) and the time.
/// Only a successful check makes one; it holds no personal data.
///
/// [`VerifiedIdentity::result_digest`] is what goes into the evidence ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedIdentity {
    method: VerificationMethod,
    subject: Commitment,
    verified_at_ms: u64,
}

impl VerifiedIdentity {
    pub(crate) fn from_email_otp(
        challenge: ChallengeId,
        subject: Commitment,
        verified_at_ms: u64,
    ) -> Self {
        Self {
            method: VerificationMethod::EmailOtp { challenge },
            subject,
            verified_at_ms,
        }
    }

    /// Records that `resident_id` passed the format checks (it did: it is a parsed
    /// [`ResidentId`]); the subject is `resident_id.commitment(subject_salt)`.
    pub fn from_resident_id_format(
        resident_id: &ResidentId,
        subject_salt: &[u8; 32],
        verified_at_ms: u64,
    ) -> Self {
        Self {
            method: VerificationMethod::ResidentIdFormat,
            subject: resident_id.commitment(subject_salt),
            verified_at_ms,
        }
    }

    /// Records that `mobile` passed the format checks; the subject is
    /// `mobile.commitment(subject_salt)`.
    pub fn from_mobile_format(
        mobile: &MobileNumber,
        subject_salt: &[u8; 32],
        verified_at_ms: u64,
    ) -> Self {
        Self {
            method: VerificationMethod::MobileFormat,
            subject: mobile.commitment(subject_salt),
            verified_at_ms,
        }
    }

    /// The result of a face check that `outcome` answers: the subject is the request's
    /// `resident_id.commitment(subject_salt)`, the time the outcome's `checked_at_ms`.
    ///
    /// Fails with [`Error::ExternalCheckMismatch`] if the outcome is not of a face check,
    /// [`Error::ExternalNoMatch`] or [`Error::ExternalInconclusive`] unless it is a match.
    pub fn from_face(
        request: &FaceVerificationRequest<'_>,
        outcome: &ExternalOutcome,
        subject_salt: &[u8; 32],
    ) -> Result<Self, Error> {
        Self::from_external(
            ExternalCheck::Face,
            request.resident_id(),
            outcome,
            subject_salt,
        )
    }

    /// The result of a bank-card check that `outcome` answers: the subject is the
    /// request's `resident_id.commitment(subject_salt)`, the time the outcome's
    /// `checked_at_ms`. Fails as [`VerifiedIdentity::from_face`] does.
    pub fn from_bank_card(
        request: &BankCardVerificationRequest<'_>,
        outcome: &ExternalOutcome,
        subject_salt: &[u8; 32],
    ) -> Result<Self, Error> {
        Self::from_external(
            ExternalCheck::BankCard,
            request.resident_id(),
            outcome,
            subject_salt,
        )
    }

    fn from_external(
        expected: ExternalCheck,
        resident_id: &ResidentId,
        outcome: &ExternalOutcome,
        subject_salt: &[u8; 32],
    ) -> Result<Self, Error> {
        if outcome.check() != expected {
            return Err(Error::ExternalCheckMismatch {
                expected,
                found: outcome.check(),
            });
        }
        match outcome.decision() {
            ExternalDecision::Match => {}
            ExternalDecision::NoMatch => return Err(Error::ExternalNoMatch),
            ExternalDecision::Inconclusive => return Err(Error::ExternalInconclusive),
        }
        Ok(Self {
            method: VerificationMethod::External {
                provider: outcome.provider().clone(),
                check: outcome.check(),
                reference: outcome.reference().clone(),
                response_digest: *outcome.response_digest(),
            },
            subject: resident_id.commitment(subject_salt),
            verified_at_ms: outcome.checked_at_ms(),
        })
    }

    /// How the identity was checked.
    pub fn method(&self) -> &VerificationMethod {
        &self.method
    }

    /// The commitment to what was checked.
    pub fn subject(&self) -> Commitment {
        self.subject
    }

    /// When the check succeeded, Unix milliseconds.
    pub fn verified_at_ms(&self) -> u64 {
        self.verified_at_ms
    }

    /// The canonical version-1 encoding (layout in the crate README, "Verified identity
    /// encoding"); [`VerifiedIdentity::result_digest`] is its SHA-256.
    pub fn canonical_encoding(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(VERIFIED_TAG.len() + 1 + 32 + 8 + 200);
        out.extend_from_slice(VERIFIED_TAG);
        out.push(self.method.code());
        out.extend_from_slice(self.subject.as_bytes());
        out.extend_from_slice(&self.verified_at_ms.to_be_bytes());
        match &self.method {
            VerificationMethod::EmailOtp { challenge } => {
                out.extend_from_slice(challenge.as_bytes());
            }
            VerificationMethod::ResidentIdFormat | VerificationMethod::MobileFormat => {}
            VerificationMethod::External {
                provider,
                check,
                reference,
                response_digest,
            } => {
                out.push(check.code());
                push_short(&mut out, provider.as_str().as_bytes());
                push_short(&mut out, reference.as_str().as_bytes());
                out.extend_from_slice(response_digest);
            }
        }
        out
    }

    /// SHA-256 of [`VerifiedIdentity::canonical_encoding`]: the value the evidence ledger
    /// records for this check.
    pub fn result_digest(&self) -> ResultDigest {
        ResultDigest::of(&self.canonical_encoding())
    }
}

/// Appends a one-byte length and the bytes. Provider names (at most 32 bytes) and
/// references (at most 128) always fit; the fallback length is never taken.
fn push_short(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(u8::try_from(bytes.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(bytes);
}
