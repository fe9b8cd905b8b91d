//! One-time codes sent by e-mail: the pure core of the e-mail OTP provider.
//!
//! The code's MAC is keyed with an [`OtpPepper`], a secret the server keeps outside the
//! database: the stored challenge alone does not let its reader search the codes.

use core::fmt;

use hmac::{Hmac, KeyInit, Mac};
use rand_core::CryptoRng;
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::commitment::write_hex;
use crate::{Commitment, EmailAddress, Error, VerifiedIdentity};

type HmacSha256 = Hmac<Sha256>;

/// Domain tag of the code MAC (version 2: keyed with the pepper).
const CODE_TAG: &[u8] = b"affix-identity/v2/otp-code\0";
/// First four bytes of every challenge encoding.
const MAGIC: [u8; 4] = *b"AFOC";
/// The encoding version [`OtpChallenge::encode`] writes and [`OtpChallenge::decode`] reads.
/// Version 1 (138 bytes, the MAC key stored beside the tag) is no longer read: whoever
/// read it could search the codes offline.
pub const CHALLENGE_VERSION: u8 = 2;
/// Bytes in a version-2 challenge encoding.
pub const CHALLENGE_ENCODED_BYTES: usize = 106;
/// Channel byte: the code was sent by e-mail.
const CHANNEL_EMAIL: u8 = 1;
/// State byte: no correct code received yet.
const STATE_PENDING: u8 = 0;
/// State byte: a correct code was received; the challenge is spent.
const STATE_CONSUMED: u8 = 1;

/// How one-time codes are made and checked. The default is 6 digits, 10 minutes,
/// 5 attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OtpPolicy {
    digits: u8,
    lifetime_ms: u64,
    max_attempts: u8,
}

impl OtpPolicy {
    /// Fewest digits a code may have.
    pub const DIGITS_MIN: u8 = 6;
    /// Most digits a code may have.
    pub const DIGITS_MAX: u8 = 9;
    /// Longest lifetime: one day.
    pub const LIFETIME_MS_MAX: u64 = 24 * 3_600_000;
    /// Most attempts a challenge may allow.
    pub const ATTEMPTS_MAX: u8 = 10;

    /// A policy: `digits` in 6..=9, `lifetime_ms` in 1..=86 400 000, `max_attempts` in
    /// 1..=10. An attacker guessing has `max_attempts / 10^digits` chance per challenge.
    pub fn new(digits: u8, lifetime_ms: u64, max_attempts: u8) -> Result<Self, Error> {
        if !(Self::DIGITS_MIN..=Self::DIGITS_MAX).contains(&digits) {
            return Err(Error::OtpPolicyOutOfRange { field: "digits" });
        }
        if !(1..=Self::LIFETIME_MS_MAX).contains(&lifetime_ms) {
            return Err(Error::OtpPolicyOutOfRange {
                field: "lifetime_ms",
            });
        }
        if !(1..=Self::ATTEMPTS_MAX).contains(&max_attempts) {
            return Err(Error::OtpPolicyOutOfRange {
                field: "max_attempts",
            });
        }
        Ok(Self {
            digits,
            lifetime_ms,
            max_attempts,
        })
    }

    /// Digits per code.
    pub fn digits(&self) -> u8 {
        self.digits
    }

    /// How long a code stays valid, in milliseconds.
    pub fn lifetime_ms(&self) -> u64 {
        self.lifetime_ms
    }

    /// Codes that may be tried per challenge, the right one included.
    pub fn max_attempts(&self) -> u8 {
        self.max_attempts
    }
}

impl Default for OtpPolicy {
    fn default() -> Self {
        Self {
            digits: 6,
            lifetime_ms: 10 * 60_000,
            max_attempts: 5,
        }
    }
}

/// A challenge's random identifier (16 bytes), for the database row and the URL.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChallengeId([u8; 16]);

impl ChallengeId {
    /// An identifier from its bytes.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for ChallengeId {
    /// Lowercase hex, 32 characters.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Debug for ChallengeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChallengeId({self})")
    }
}

/// The secret code to send to the destination: `digits` ASCII digits, leading zeros
/// kept. Zeroized on drop, redacted in `Debug`, no `Display`, no `Serialize`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct OtpCode {
    code: String,
}

impl OtpCode {
    /// The code, to put in the message. Never log it.
    pub fn expose_code(&self) -> &str {
        &self.code
    }
}

impl fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OtpCode(<redacted>)")
    }
}

/// The server's secret key of the code MAC, 32 bytes, kept **outside** the database that
/// stores the challenges (a file of its own, an HSM): without it a stored challenge
/// cannot be checked against any code, so a database reader cannot search the 10⁶
/// codes offline. Zeroized on drop, redacted in `Debug`, no `Serialize`.
///
/// Every challenge is issued and verified under the same pepper; a challenge issued
/// under another pepper refuses every code (counted as a wrong code).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct OtpPepper([u8; OTP_PEPPER_BYTES]);

/// Bytes in an [`OtpPepper`].
pub const OTP_PEPPER_BYTES: usize = 32;

impl OtpPepper {
    /// A pepper from its bytes (the caller zeroizes its own copy).
    pub fn from_bytes(bytes: [u8; OTP_PEPPER_BYTES]) -> Self {
        Self(bytes)
    }

    /// A fresh pepper drawn from `rng`.
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut bytes = [0u8; OTP_PEPPER_BYTES];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// The bytes, to write to the pepper's own file. Never log them.
    pub fn expose_bytes(&self) -> &[u8; OTP_PEPPER_BYTES] {
        &self.0
    }
}

impl fmt::Debug for OtpPepper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OtpPepper(<redacted>)")
    }
}

/// Where a challenge stands at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeState {
    /// Waiting for the code.
    Pending,
    /// Answered correctly; spent.
    Used,
    /// Every attempt was used without the right code.
    Locked,
    /// The lifetime is over.
    Expired,
}

/// A one-time-code challenge: what the server keeps between sending a code and
/// receiving it back.
///
/// It holds no code, no key and no address: only a random [`ChallengeId`], the
/// [`Commitment`] to the destination, the issue and expiry times, the attempt counter,
/// and an HMAC-SHA256 of the challenge id and code keyed with the server's
/// [`OtpPepper`]. Someone who reads the stored challenge but not the pepper cannot test
/// a single code offline; someone who holds both can (10⁶ HMACs for 6 digits), so the
/// pepper stays out of the database.
///
/// [`OtpChallenge::verify`] changes the challenge (attempt counter, spent flag): the
/// server must store [`OtpChallenge::encode`] after **every** call, success or failure,
/// before answering, and must update the row atomically (compare-and-swap on the old
/// bytes) so that parallel guesses cannot each start from the same counter.
pub struct OtpChallenge {
    id: ChallengeId,
    digits: u8,
    max_attempts: u8,
    attempts_used: u8,
    consumed: bool,
    issued_at_ms: u64,
    expires_at_ms: u64,
    subject: Commitment,
    code_tag: [u8; 32],
}

impl OtpChallenge {
    /// Makes a code to send to `destination` and the challenge that checks it.
    ///
    /// The subject recorded in the resulting [`VerifiedIdentity`] is
    /// `destination.commitment(subject_salt)`; the code's MAC is keyed with `pepper`.
    /// Randomness is drawn from `rng` in a fixed order (16 bytes of challenge id, 8 bytes
    /// for the code), so a seeded generator gives a reproducible challenge. The code is
    /// the 8 bytes as a big-endian integer modulo `10^digits` (bias below 2⁻³⁴).
    pub fn issue(
        destination: &EmailAddress,
        subject_salt: &[u8; 32],
        policy: OtpPolicy,
        now_ms: u64,
        pepper: &OtpPepper,
        rng: &mut impl CryptoRng,
    ) -> Result<(Self, OtpCode), Error> {
        let expires_at_ms = now_ms
            .checked_add(policy.lifetime_ms)
            .ok_or(Error::OtpTimeOverflow)?;
        let mut id = [0u8; 16];
        rng.fill_bytes(&mut id);
        let mut draw = [0u8; 8];
        rng.fill_bytes(&mut draw);
        let value = u64::from_be_bytes(draw) % 10u64.pow(u32::from(policy.digits));
        draw.zeroize();
        let code = OtpCode {
            code: format!("{value:0width$}", width = usize::from(policy.digits)),
        };
        let id = ChallengeId(id);
        let code_tag = code_mac(pepper, &id, code.code.as_bytes())
            .finalize()
            .into_bytes();
        let challenge = Self {
            id,
            digits: policy.digits,
            max_attempts: policy.max_attempts,
            attempts_used: 0,
            consumed: false,
            issued_at_ms: now_ms,
            expires_at_ms,
            subject: destination.commitment(subject_salt),
            code_tag: code_tag.into(),
        };
        Ok((challenge, code))
    }

    /// Checks a code received at `now_ms` under `pepper` (the one the challenge was
    /// issued under; with another, every code is a mismatch). On success the challenge is spent and the
    /// result is a [`VerifiedIdentity`] with method
    /// [`crate::VerificationMethod::EmailOtp`].
    ///
    /// Refusals, in the order checked: [`Error::OtpAlreadyUsed`],
    /// [`Error::OtpAttemptsExhausted`], [`Error::OtpExpired`] (at or after expiry),
    /// [`Error::OtpMalformedCode`] (not the right number of digits once surrounding
    /// whitespace is trimmed; not counted), then [`Error::OtpMismatch`] (counted). The
    /// comparison is constant-time.
    pub fn verify(
        &mut self,
        code: &str,
        now_ms: u64,
        pepper: &OtpPepper,
    ) -> Result<VerifiedIdentity, Error> {
        if self.consumed {
            return Err(Error::OtpAlreadyUsed);
        }
        if self.attempts_used >= self.max_attempts {
            return Err(Error::OtpAttemptsExhausted);
        }
        if now_ms >= self.expires_at_ms {
            return Err(Error::OtpExpired);
        }
        let code = code.trim();
        if code.len() != usize::from(self.digits) || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::OtpMalformedCode {
                digits: self.digits,
            });
        }
        self.attempts_used += 1;
        if code_mac(pepper, &self.id, code.as_bytes())
            .verify_slice(&self.code_tag)
            .is_err()
        {
            return Err(Error::OtpMismatch {
                attempts_left: self.max_attempts - self.attempts_used,
            });
        }
        self.consumed = true;
        Ok(VerifiedIdentity::from_email_otp(
            self.id,
            self.subject,
            now_ms,
        ))
    }

    /// Where the challenge stands at `now_ms`.
    pub fn state(&self, now_ms: u64) -> ChallengeState {
        if self.consumed {
            ChallengeState::Used
        } else if self.attempts_used >= self.max_attempts {
            ChallengeState::Locked
        } else if now_ms >= self.expires_at_ms {
            ChallengeState::Expired
        } else {
            ChallengeState::Pending
        }
    }

    /// The challenge's identifier.
    pub fn id(&self) -> ChallengeId {
        self.id
    }

    /// The commitment to the destination the code was sent to.
    pub fn subject(&self) -> Commitment {
        self.subject
    }

    /// Digits the code has.
    pub fn digits(&self) -> u8 {
        self.digits
    }

    /// When the challenge was issued, Unix milliseconds.
    pub fn issued_at_ms(&self) -> u64 {
        self.issued_at_ms
    }

    /// The first instant the code is no longer accepted, Unix milliseconds.
    pub fn expires_at_ms(&self) -> u64 {
        self.expires_at_ms
    }

    /// Codes tried so far (malformed ones not counted).
    pub fn attempts_used(&self) -> u8 {
        self.attempts_used
    }

    /// Codes that may still be tried.
    pub fn attempts_left(&self) -> u8 {
        self.max_attempts.saturating_sub(self.attempts_used)
    }

    /// The version-2 encoding, [`CHALLENGE_ENCODED_BYTES`] bytes (layout in the crate
    /// README, "Challenge encoding"). It holds the code's MAC but no key: without the
    /// [`OtpPepper`] it tells nothing about the code.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(CHALLENGE_ENCODED_BYTES);
        out.extend_from_slice(&MAGIC);
        out.push(CHALLENGE_VERSION);
        out.push(CHANNEL_EMAIL);
        out.push(self.digits);
        out.push(self.max_attempts);
        out.push(self.attempts_used);
        out.push(if self.consumed {
            STATE_CONSUMED
        } else {
            STATE_PENDING
        });
        out.extend_from_slice(&self.id.0);
        out.extend_from_slice(&self.issued_at_ms.to_be_bytes());
        out.extend_from_slice(&self.expires_at_ms.to_be_bytes());
        out.extend_from_slice(self.subject.as_bytes());
        out.extend_from_slice(&self.code_tag);
        out
    }

    /// Reads a challenge back from [`OtpChallenge::encode`]'s bytes, checking the magic,
    /// the version, the length and every field's range (the same limits as
    /// [`OtpPolicy::new`]; attempts used not above the maximum; expiry after issue, within
    /// the longest lifetime). Never panics.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() < 5 {
            return Err(Error::ChallengeLength {
                length_bytes: bytes.len(),
                expected: CHALLENGE_ENCODED_BYTES,
            });
        }
        let mut reader = Reader(bytes);
        if reader.array::<4>()? != MAGIC {
            return Err(Error::ChallengeMagic);
        }
        let version = reader.byte()?;
        if version != CHALLENGE_VERSION {
            return Err(Error::ChallengeUnsupportedVersion { version });
        }
        if bytes.len() != CHALLENGE_ENCODED_BYTES {
            return Err(Error::ChallengeLength {
                length_bytes: bytes.len(),
                expected: CHALLENGE_ENCODED_BYTES,
            });
        }
        let invalid = |field| Error::ChallengeInvalidField { field };
        if reader.byte()? != CHANNEL_EMAIL {
            return Err(invalid("channel"));
        }
        let digits = reader.byte()?;
        if !(OtpPolicy::DIGITS_MIN..=OtpPolicy::DIGITS_MAX).contains(&digits) {
            return Err(invalid("digits"));
        }
        let max_attempts = reader.byte()?;
        if !(1..=OtpPolicy::ATTEMPTS_MAX).contains(&max_attempts) {
            return Err(invalid("max_attempts"));
        }
        let attempts_used = reader.byte()?;
        if attempts_used > max_attempts {
            return Err(invalid("attempts_used"));
        }
        let consumed = match reader.byte()? {
            STATE_PENDING => false,
            STATE_CONSUMED => true,
            _ => return Err(invalid("state")),
        };
        let id = ChallengeId(reader.array()?);
        let issued_at_ms = u64::from_be_bytes(reader.array()?);
        let expires_at_ms = u64::from_be_bytes(reader.array()?);
        let lifetime_ms = expires_at_ms.saturating_sub(issued_at_ms);
        if !(1..=OtpPolicy::LIFETIME_MS_MAX).contains(&lifetime_ms) {
            return Err(invalid("expires_at_ms"));
        }
        let subject = Commitment::from_bytes(reader.array()?);
        let code_tag = reader.array()?;
        Ok(Self {
            id,
            digits,
            max_attempts,
            attempts_used,
            consumed,
            issued_at_ms,
            expires_at_ms,
            subject,
            code_tag,
        })
    }
}

impl Drop for OtpChallenge {
    fn drop(&mut self) {
        self.code_tag.zeroize();
    }
}

impl fmt::Debug for OtpChallenge {
    /// Everything but the MAC tag.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtpChallenge")
            .field("id", &self.id)
            .field("digits", &self.digits)
            .field("max_attempts", &self.max_attempts)
            .field("attempts_used", &self.attempts_used)
            .field("consumed", &self.consumed)
            .field("issued_at_ms", &self.issued_at_ms)
            .field("expires_at_ms", &self.expires_at_ms)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// `HMAC-SHA256(pepper, "affix-identity/v2/otp-code\0" || id || code)`, not yet
/// finalized.
fn code_mac(pepper: &OtpPepper, id: &ChallengeId, code: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac =
        <HmacSha256 as KeyInit>::new_from_slice(&pepper.0).expect("HMAC takes any key length");
    mac.update(CODE_TAG);
    mac.update(&id.0);
    mac.update(code);
    mac
}

/// Reads fixed-size fields from the front of a byte slice.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let truncated = Error::ChallengeLength {
            length_bytes: 0,
            expected: CHALLENGE_ENCODED_BYTES,
        };
        let (head, rest) = self.0.split_first_chunk::<N>().ok_or(truncated)?;
        self.0 = rest;
        Ok(*head)
    }

    fn byte(&mut self) -> Result<u8, Error> {
        self.array::<1>().map(|[b]| b)
    }
}
