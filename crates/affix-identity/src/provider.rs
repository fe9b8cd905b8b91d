//! Interfaces to external identity providers (face and bank-card checks).
//!
//! This crate ships no implementation: a face or bank-card check needs a licensed
//! provider, and the server plugs one in behind these traits. Nothing here pretends to
//! verify a face or a bank card.

use core::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::{Error, MobileNumber, ResidentId};

/// Longest provider name, in bytes.
pub const PROVIDER_NAME_BYTES_MAX: usize = 32;
/// Longest provider reference, in bytes.
pub const PROVIDER_REFERENCE_BYTES_MAX: usize = 128;
/// Longest person name, in bytes.
pub const PERSON_NAME_BYTES_MAX: usize = 256;
/// Largest face image a request may carry, in bytes (4 MiB).
pub const FACE_IMAGE_BYTES_MAX: usize = 4 * 1024 * 1024;
/// Longest liveness session token, in bytes.
pub const FACE_SESSION_TOKEN_BYTES_MAX: usize = 512;

/// The name of an identity provider, as recorded in evidence: 1 to 32 of
/// `a-z 0-9 - .` (e.g. `example-faceid`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ProviderName(String);

impl ProviderName {
    /// Checks a provider name.
    pub fn new(name: &str) -> Result<Self, Error> {
        let valid = (1..=PROVIDER_NAME_BYTES_MAX).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !valid {
            return Err(Error::ProviderNameInvalid);
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProviderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ProviderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProviderName({})", self.0)
    }
}

/// A provider's own identifier for one check (its transaction or request id), so the
/// check can be looked up with the provider later: 1 to 128 printable ASCII characters
/// (`!` to `~`). Must not contain personal data.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ProviderReference(String);

impl ProviderReference {
    /// Checks a provider reference.
    pub fn new(reference: &str) -> Result<Self, Error> {
        let valid = (1..=PROVIDER_REFERENCE_BYTES_MAX).contains(&reference.len())
            && reference.bytes().all(|b| b.is_ascii_graphic());
        if !valid {
            return Err(Error::ProviderReferenceInvalid);
        }
        Ok(Self(reference.to_owned()))
    }

    /// The reference.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProviderReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ProviderReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProviderReference({})", self.0)
    }
}

/// A person's legal name as written on their identity document (for Chinese residents,
/// in Chinese characters), for sending to a provider. 1 to 256 bytes, no control
/// characters, no leading or trailing whitespace.
///
/// Personal data: redacted `Debug`, no `Display`, zeroized on drop, no `Serialize`.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct PersonName(String);

impl PersonName {
    /// Checks a name.
    pub fn new(name: &str) -> Result<Self, Error> {
        let invalid = |reason| Err(Error::PersonNameInvalid { reason });
        if name.is_empty() {
            return invalid("empty");
        }
        if name.len() > PERSON_NAME_BYTES_MAX {
            return Err(Error::TooLarge {
                what: "person name",
                length_bytes: name.len(),
                limit: PERSON_NAME_BYTES_MAX,
            });
        }
        if name.chars().any(char::is_control) {
            return invalid("control characters");
        }
        if name.trim() != name {
            return invalid("leading or trailing whitespace");
        }
        Ok(Self(name.to_owned()))
    }

    /// The name. Personal data: for sending to a provider only.
    pub fn expose_name(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PersonName(<redacted>)")
    }
}

/// A bank card number (PAN): 12 to 19 digits, spaces between digit groups allowed and
/// dropped.
///
/// The Luhn check digit is deliberately not enforced: some older cards issued in China
/// do not satisfy it, and the provider is the authority on whether a card exists.
/// Personal (and payment) data: `Display`/`Debug` show only the last four digits,
/// zeroized on drop, no `Serialize`.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct BankCardNumber(String);

impl BankCardNumber {
    /// Checks a card number.
    pub fn parse(text: &str) -> Result<Self, Error> {
        if text.len() > 2 * 19 {
            return Err(Error::TooLarge {
                what: "bank card number",
                length_bytes: text.len(),
                limit: 2 * 19,
            });
        }
        if text.starts_with(' ') || text.ends_with(' ') || text.contains("  ") {
            return Err(Error::BankCardNumberInvalid {
                reason: "spaces must stand singly between digits",
            });
        }
        if !text.bytes().all(|b| b.is_ascii_digit() || b == b' ') {
            return Err(Error::BankCardNumberInvalid {
                reason: "only digits and spaces are accepted",
            });
        }
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        if !(12..=19).contains(&digits.len()) {
            return Err(Error::BankCardNumberInvalid {
                reason: "12 to 19 digits are needed",
            });
        }
        Ok(Self(digits))
    }

    /// The digits. Payment data: for sending to a provider only.
    pub fn expose_digits(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BankCardNumber {
    /// Redacted: `****` and the last four digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let last = self.0.get(self.0.len().saturating_sub(4)..).unwrap_or("");
        write!(f, "****{last}")
    }
}

impl fmt::Debug for BankCardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BankCardNumber({self})")
    }
}

/// The kinds of external check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExternalCheck {
    /// A live face compared with the photo on record for a resident ID number and name.
    Face,
    /// A bank card checked against a resident ID number and name (and optionally the
    /// mobile number registered with the bank).
    BankCard,
    /// An organization's unified social credit code and registered name looked up in a
    /// business registry.
    BusinessRegistry,
}

impl ExternalCheck {
    /// The byte that stands for the check in encodings.
    pub(crate) fn code(self) -> u8 {
        match self {
            Self::Face => 1,
            Self::BankCard => 2,
            Self::BusinessRegistry => 3,
        }
    }
}

/// A provider's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExternalDecision {
    /// The person matches the record.
    Match,
    /// The person does not match.
    NoMatch,
    /// The provider could not decide (poor image, liveness failed, no record).
    Inconclusive,
}

/// What a provider returns for one check: its decision, its own reference for the check
/// and a digest of its response. Never images, never the data that was sent.
///
/// Built by implementations of [`FaceVerifier`] and [`BankCardVerifier`];
/// [`crate::VerifiedIdentity::from_face`] and [`crate::VerifiedIdentity::from_bank_card`]
/// turn a `Match` into verified data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalOutcome {
    provider: ProviderName,
    check: ExternalCheck,
    decision: ExternalDecision,
    reference: ProviderReference,
    response_digest: [u8; 32],
    checked_at_ms: u64,
}

impl ExternalOutcome {
    /// An outcome. `response_digest` is the SHA-256 of the provider's response as
    /// received (the signed or raw body the server keeps), so the evidence can be tied to
    /// it later; `checked_at_ms` is when the response arrived (Unix milliseconds).
    pub fn new(
        provider: ProviderName,
        check: ExternalCheck,
        decision: ExternalDecision,
        reference: ProviderReference,
        response_digest: [u8; 32],
        checked_at_ms: u64,
    ) -> Self {
        Self {
            provider,
            check,
            decision,
            reference,
            response_digest,
            checked_at_ms,
        }
    }

    /// The provider that answered.
    pub fn provider(&self) -> &ProviderName {
        &self.provider
    }

    /// The kind of check.
    pub fn check(&self) -> ExternalCheck {
        self.check
    }

    /// The decision.
    pub fn decision(&self) -> ExternalDecision {
        self.decision
    }

    /// The provider's reference for the check.
    pub fn reference(&self) -> &ProviderReference {
        &self.reference
    }

    /// SHA-256 of the provider's response.
    pub fn response_digest(&self) -> &[u8; 32] {
        &self.response_digest
    }

    /// When the response arrived, Unix milliseconds.
    pub fn checked_at_ms(&self) -> u64 {
        self.checked_at_ms
    }
}

/// The face to compare.
#[derive(Clone, Copy)]
pub enum FaceSample<'a> {
    /// A session of the provider's liveness SDK, completed on the signer's device; the
    /// provider holds the images. Preferred: the server never sees a face.
    LivenessSession {
        /// The provider's session token.
        token: &'a str,
    },
    /// A still image (JPEG or PNG bytes) for providers that take one.
    Image {
        /// The encoded image.
        bytes: &'a [u8],
    },
}

impl fmt::Debug for FaceSample<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LivenessSession { token } => {
                write!(f, "LivenessSession(<{} bytes>)", token.len())
            }
            Self::Image { bytes } => write!(f, "Image(<{} bytes>)", bytes.len()),
        }
    }
}

/// A request to compare a face with the photo on record for a resident ID number and
/// name.
#[derive(Debug, Clone, Copy)]
pub struct FaceVerificationRequest<'a> {
    resident_id: &'a ResidentId,
    name: &'a PersonName,
    sample: FaceSample<'a>,
}

impl<'a> FaceVerificationRequest<'a> {
    /// A request, with the sample's size checked (at most [`FACE_IMAGE_BYTES_MAX`] for an
    /// image, [`FACE_SESSION_TOKEN_BYTES_MAX`] for a token, neither empty).
    pub fn new(
        resident_id: &'a ResidentId,
        name: &'a PersonName,
        sample: FaceSample<'a>,
    ) -> Result<Self, Error> {
        let (what, length_bytes, limit) = match sample {
            FaceSample::LivenessSession { token } => (
                "liveness session token",
                token.len(),
                FACE_SESSION_TOKEN_BYTES_MAX,
            ),
            FaceSample::Image { bytes } => ("face image", bytes.len(), FACE_IMAGE_BYTES_MAX),
        };
        if length_bytes == 0 || length_bytes > limit {
            return Err(Error::TooLarge {
                what,
                length_bytes,
                limit,
            });
        }
        Ok(Self {
            resident_id,
            name,
            sample,
        })
    }

    /// The resident ID number the face should belong to.
    pub fn resident_id(&self) -> &'a ResidentId {
        self.resident_id
    }

    /// The name the face should belong to.
    pub fn name(&self) -> &'a PersonName {
        self.name
    }

    /// The face.
    pub fn sample(&self) -> FaceSample<'a> {
        self.sample
    }
}

/// A request to check that a bank card belongs to the holder of a resident ID number and
/// name (a "three-element" check), and optionally that `mobile` is the number registered
/// with the bank ("four-element").
#[derive(Debug, Clone, Copy)]
pub struct BankCardVerificationRequest<'a> {
    resident_id: &'a ResidentId,
    name: &'a PersonName,
    card: &'a BankCardNumber,
    mobile: Option<&'a MobileNumber>,
}

impl<'a> BankCardVerificationRequest<'a> {
    /// A request.
    pub fn new(
        resident_id: &'a ResidentId,
        name: &'a PersonName,
        card: &'a BankCardNumber,
        mobile: Option<&'a MobileNumber>,
    ) -> Self {
        Self {
            resident_id,
            name,
            card,
            mobile,
        }
    }

    /// The resident ID number of the card holder.
    pub fn resident_id(&self) -> &'a ResidentId {
        self.resident_id
    }

    /// The card holder's name.
    pub fn name(&self) -> &'a PersonName {
        self.name
    }

    /// The card.
    pub fn card(&self) -> &'a BankCardNumber {
        self.card
    }

    /// The mobile number registered with the bank, for a four-element check.
    pub fn mobile(&self) -> Option<&'a MobileNumber> {
        self.mobile
    }
}

/// An external identity provider. Implementations live outside this crate (the server
/// holds the credentials and does the HTTP); this crate ships none.
///
/// Object safe and synchronous: the server keeps providers as `Box<dyn FaceVerifier>` /
/// `Arc<dyn BankCardVerifier>` and calls them from a blocking task.
pub trait IdentityProvider: Send + Sync {
    /// The provider's name, as recorded in evidence.
    fn name(&self) -> &ProviderName;

    /// The checks the provider offers.
    fn checks(&self) -> &[ExternalCheck];
}

/// A provider that compares a face with the photo on record for a resident ID number.
///
/// Implementations send the request to the provider and return its answer as an
/// [`ExternalOutcome`] of check [`ExternalCheck::Face`]; `NoMatch` and `Inconclusive`
/// are outcomes, not errors. They return [`Error::ProviderUnavailable`] or
/// [`Error::ProviderMalformedResponse`] when there is no answer. They must not keep the
/// face sample after the call.
pub trait FaceVerifier: IdentityProvider {
    /// Runs one face check.
    fn verify_face(&self, request: &FaceVerificationRequest<'_>) -> Result<ExternalOutcome, Error>;
}

/// A provider that checks a bank card against a resident ID number and name (and mobile
/// number).
///
/// Implementations return an [`ExternalOutcome`] of check [`ExternalCheck::BankCard`];
/// `NoMatch` and `Inconclusive` are outcomes, not errors. They return
/// [`Error::ProviderUnavailable`] or [`Error::ProviderMalformedResponse`] when there is no
/// answer.
pub trait BankCardVerifier: IdentityProvider {
    /// Runs one bank-card check.
    fn verify_bank_card(
        &self,
        request: &BankCardVerificationRequest<'_>,
    ) -> Result<ExternalOutcome, Error>;
}

/// A business registry (the national enterprise credit information system, or a licensed
/// vendor of its data) that confirms an organization's unified social credit code and
/// registered name.
///
/// Implementations return an [`ExternalOutcome`] of check
/// [`ExternalCheck::BusinessRegistry`]; `NoMatch` (no such code, or another name) and
/// `Inconclusive` are outcomes, not errors. Affix ships no implementation: there is no
/// registry reachable here, so every organization certificate Affix issues says that its
/// credit code is *asserted* by the tenant (certificate policy
/// `affix_pki::oid::CP_ORGANIZATION_CREDIT_CODE_ASSERTED`), never confirmed.
pub trait BusinessRegistry: IdentityProvider {
    /// Looks the organization up.
    fn confirm_organization(
        &self,
        credit_code: &str,
        registered_name: &str,
    ) -> Result<ExternalOutcome, Error>;
}
