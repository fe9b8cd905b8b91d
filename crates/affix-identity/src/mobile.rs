//! Mainland China mobile numbers.

use core::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::Error;
use crate::commitment::{Commitment, MOBILE_TAG};

/// Longest input [`MobileNumber::parse`] looks at, in bytes.
pub const MOBILE_INPUT_BYTES_MAX: usize = 32;
/// Digits in a mainland China mobile number without the country code.
const NATIONAL_DIGITS: usize = 11;
/// Digits in `86` followed by a national number.
const NATIONAL_DIGITS_WITH_CODE: usize = NATIONAL_DIGITS + 2;

/// A mainland China mobile number (+86, 11 digits `1[3-9]xxxxxxxxx`), checked and
/// normalized to E.164 (`+8613812345678`).
///
/// A valid number is a format check only: it says nothing about who holds the SIM.
/// Personal data: `Display` and `Debug` show `+86138****5678`; zeroized on drop; no
/// `Serialize`; evidence stores only its [`MobileNumber::commitment`].
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct MobileNumber {
    /// Invariant: 11 ASCII digits, `1`, then `3`-`9`, then 9 digits.
    national: [u8; NATIONAL_DIGITS],
}

impl MobileNumber {
    /// Parses a number written as `13812345678`, `8613812345678`, `+8613812345678` or
    /// `008613812345678`, with optional single spaces or hyphens between digits
    /// (`+86 138 1234 5678`, `0086-138-1234-5678`). At most
    /// [`MOBILE_INPUT_BYTES_MAX`] bytes; no leading or trailing whitespace.
    pub fn parse(text: &str) -> Result<Self, Error> {
        if text.len() > MOBILE_INPUT_BYTES_MAX {
            return Err(Error::TooLarge {
                what: "mobile number",
                length_bytes: text.len(),
                limit: MOBILE_INPUT_BYTES_MAX,
            });
        }
        // Collect the digits, checking the characters and where separators stand.
        let mut digits = [0u8; MOBILE_INPUT_BYTES_MAX];
        let mut count = 0;
        let mut plus = false;
        let mut previous_separator = true; // no separator at the start
        let length = text.chars().count();
        for (position, c) in text.chars().enumerate() {
            match c {
                '+' if position == 0 => plus = true,
                '0'..='9' => {
                    if let Some(slot) = digits.get_mut(count) {
                        *slot = c as u8;
                    }
                    count += 1;
                    previous_separator = false;
                }
                ' ' | '-' => {
                    let at_end = position + 1 == length;
                    if previous_separator || at_end {
                        digits.zeroize();
                        return Err(Error::MobileMisplacedSeparator { position });
                    }
                    previous_separator = true;
                }
                _ => {
                    digits.zeroize();
                    return Err(Error::MobileInvalidCharacter { position });
                }
            }
        }
        let all = digits.get(..count).unwrap_or(&[]);
        let national = if plus {
            all.strip_prefix(b"86").ok_or(Error::MobileNotMainland)
        } else if let Some(rest) = all.strip_prefix(b"00") {
            rest.strip_prefix(b"86").ok_or(Error::MobileNotMainland)
        } else if let (NATIONAL_DIGITS_WITH_CODE, Some(rest)) = (all.len(), all.strip_prefix(b"86"))
        {
            Ok(rest)
        } else {
            Ok(all)
        };
        let result = national.and_then(|national| {
            let national: [u8; NATIONAL_DIGITS] =
                national.try_into().map_err(|_| Error::MobileWrongLength {
                    digits: national.len(),
                })?;
            if national[0] != b'1' || !(b'3'..=b'9').contains(&national[1]) {
                return Err(Error::MobileInvalidPrefix);
            }
            Ok(Self { national })
        });
        digits.zeroize();
        result
    }

    /// The number in E.164 form, `+86` and 11 digits. Personal data: for sending an SMS,
    /// never for logs or evidence.
    pub fn expose_e164(&self) -> String {
        let mut e164 = String::with_capacity(3 + NATIONAL_DIGITS);
        e164.push_str("+86");
        e164.extend(self.national.iter().map(|&b| char::from(b)));
        e164
    }

    /// The salted commitment `SHA-256("affix-identity/v1/mobile\0" || salt || e164)` over
    /// the 14 ASCII characters of the E.164 form.
    pub fn commitment(&self, salt: &[u8; 32]) -> Commitment {
        let mut e164 = [0u8; 3 + NATIONAL_DIGITS];
        e164[..3].copy_from_slice(b"+86");
        e164[3..].copy_from_slice(&self.national);
        let commitment = Commitment::compute(MOBILE_TAG, salt, &e164);
        e164.zeroize();
        commitment
    }
}

impl fmt::Display for MobileNumber {
    /// Redacted: `+86`, the first three digits, four asterisks and the last four digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("+86")?;
        self.national[..3]
            .iter()
            .try_for_each(|&b| write!(f, "{}", char::from(b)))?;
        f.write_str("****")?;
        self.national[7..]
            .iter()
            .try_for_each(|&b| write!(f, "{}", char::from(b)))
    }
}

impl fmt::Debug for MobileNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MobileNumber({self})")
    }
}
