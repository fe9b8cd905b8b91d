#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod commitment;
mod email;
mod error;
mod mobile;
mod otp;
mod provider;
mod resident_id;
mod verified;

/// The calendar date, which lives in `affix-time`; re-exported for the code that named it
/// here first.
pub use affix_time::Date;
pub use commitment::{Commitment, ResultDigest};
pub use email::{EMAIL_BYTES_MAX, EMAIL_LOCAL_BYTES_MAX, EmailAddress};
pub use error::Error;
pub use mobile::{MOBILE_INPUT_BYTES_MAX, MobileNumber};
pub use otp::{
    CHALLENGE_ENCODED_BYTES, CHALLENGE_VERSION, ChallengeId, ChallengeState, OTP_PEPPER_BYTES,
    OtpChallenge, OtpCode, OtpPepper, OtpPolicy,
};
pub use provider::{
    BankCardNumber, BankCardVerificationRequest, BankCardVerifier, BusinessRegistry, ExternalCheck,
    ExternalDecision, ExternalOutcome, FACE_IMAGE_BYTES_MAX, FACE_SESSION_TOKEN_BYTES_MAX,
    FaceSample, FaceVerificationRequest, FaceVerifier, IdentityProvider, PERSON_NAME_BYTES_MAX,
    PROVIDER_NAME_BYTES_MAX, PROVIDER_REFERENCE_BYTES_MAX, PersonName, ProviderName,
    ProviderReference,
};
pub use resident_id::{RESIDENT_ID_CHARS, ResidentId, Sex};
pub use verified::{VerificationMethod, VerifiedIdentity};
