//! PRC resident identity numbers (GB 11643-1999).

use core::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::commitment::{Commitment, RESIDENT_ID_TAG};
use crate::{Date, Error};

/// Characters in a GB 11643-1999 number.
pub const RESIDENT_ID_CHARS: usize = 18;

/// ISO 7064 MOD 11-2 weights of the first 17 digits: `2^(17 - i) mod 11`.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check characters by `(sum of weighted digits) mod 11`.
const CHECK_CHARS: [u8; 11] = *b"10X98765432";

/// A PRC resident identity number (公民身份号码, GB 11643-1999), checked.
///
/// Eighteen characters: a six-digit administrative division code (GB/T 2260), an
/// eight-digit birth date `YYYYMMDD`, a three-digit sequence number (odd for men, even
/// for women) and an ISO 7064 MOD 11-2 check character (`0`-`9` or `X`).
///
/// [`ResidentId::parse`] accepts only a number whose check character matches, whose
/// first two digits are a province-level code (11-15, 21-23, 31-37, 41-46, 50-54, 61-65;
/// 71 Taiwan; 81, 82, 83: residence permits for residents of Hong Kong, Macao and
/// Taiwan, issued since 2018) and whose birth date exists, is not before 1900 and not
/// after the reference date. A lowercase `x` is accepted and stored as `X`.
///
/// A valid number says nothing about who presents it: it is a format check, useful for
/// catching typos before asking a provider. The number is personal data: `Debug` and
/// `Display` show only the region code and the check character
/// (`110105***********X`), it is zeroized on drop and does not implement `Serialize`;
/// evidence stores only its [`ResidentId::commitment`].
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct ResidentId {
    /// Invariant: 18 ASCII bytes, 17 digits then a digit or `X`.
    number: String,
}

/// Sex as recorded in a resident ID number (the parity of the 17th digit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    /// Odd 17th digit.
    Male,
    /// Even 17th digit.
    Female,
}

impl ResidentId {
    /// Parses an 18-character number, checking the birth date against `today` (take it
    /// from [`Date::from_unix_ms_china`]). No whitespace is trimmed.
    ///
    /// [`ResidentId::parse_undated`] then [`ResidentId::check_born_by`]`(today)`.
    pub fn parse(text: &str, today: Date) -> Result<Self, Error> {
        let id = Self::parse_undated(text)?;
        id.check_born_by(today)?;
        Ok(id)
    }

    /// Parses an 18-character number with every check of [`ResidentId::parse`] except
    /// the one that needs a clock: the birth date is a real date, not before 1900, but
    /// not compared with today. For numbers accepted earlier and read back (an offline
    /// verifier has no "today" of its own); new input goes through
    /// [`ResidentId::parse`].
    pub fn parse_undated(text: &str) -> Result<Self, Error> {
        let length = text.chars().count();
        if length != RESIDENT_ID_CHARS {
            return Err(Error::ResidentIdWrongLength { length });
        }
        let mut number = [0u8; RESIDENT_ID_CHARS];
        for (position, (c, slot)) in text.chars().zip(number.iter_mut()).enumerate() {
            *slot = match c {
                '0'..='9' => c as u8,
                'X' | 'x' if position == RESIDENT_ID_CHARS - 1 => b'X',
                _ => return Err(Error::ResidentIdInvalidCharacter { position }),
            };
        }
        let (body, check) = number.split_at(RESIDENT_ID_CHARS - 1);
        let expected = check_char(body);
        if check != [expected] {
            let found = char::from(check.first().copied().unwrap_or(b'?'));
            number.zeroize();
            return Err(Error::ResidentIdChecksumMismatch {
                expected: char::from(expected),
                found,
            });
        }
        let id = Self {
            number: number.iter().map(|&b| char::from(b)).collect(),
        };
        number.zeroize();
        let province_code = id.province_code();
        if !is_province_code(province_code) {
            return Err(Error::ResidentIdUnknownRegion { province_code });
        }
        let birth_date = id
            .encoded_birth_date()
            .map_err(|_| Error::ResidentIdInvalidBirthDate)?;
        if birth_date.year() < 1900 {
            return Err(Error::ResidentIdBirthDateBefore1900);
        }
        Ok(id)
    }

    /// Refuses a number whose birth date is after `today` (take it from
    /// [`Date::from_unix_ms_china`]): [`Error::ResidentIdBirthDateInFuture`].
    pub fn check_born_by(&self, today: Date) -> Result<(), Error> {
        if self.birth_date() > today {
            return Err(Error::ResidentIdBirthDateInFuture);
        }
        Ok(())
    }

    /// The birth date (digits 7 to 14).
    pub fn birth_date(&self) -> Date {
        // `parse_undated` accepted this date, so it is valid; the fallback is never taken.
        self.encoded_birth_date().unwrap_or(Date::MIN)
    }

    /// The sex recorded: male if the 17th digit (the last of the sequence number) is odd.
    pub fn sex(&self) -> Sex {
        if self.digits(16, 1) % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// The six-digit administrative division code (GB/T 2260) where the number was
    /// issued, e.g. `110105` (Beijing, Chaoyang District).
    pub fn region_code(&self) -> u32 {
        self.digits(0, 6)
    }

    /// The province-level code: the first two digits of [`ResidentId::region_code`].
    pub fn province_code(&self) -> u8 {
        // Two digits are at most 99: the fallback is never taken.
        u8::try_from(self.digits(0, 2)).unwrap_or(u8::MAX)
    }

    /// The full number, `X` in upper case. Personal data: for sending to an identity
    /// provider, never for logs or evidence.
    pub fn expose_number(&self) -> &str {
        &self.number
    }

    /// The salted commitment `SHA-256("affix-identity/v1/resident-id\0" || salt || number)`
    /// over the 18 ASCII characters (check character upper case).
    pub fn commitment(&self, salt: &[u8; 32]) -> Commitment {
        Commitment::compute(RESIDENT_ID_TAG, salt, self.number.as_bytes())
    }

    /// Digits 7 to 14 as a date, if they are one.
    fn encoded_birth_date(&self) -> Result<Date, affix_time::Error> {
        // Four digits are at most 9999 and two at most 99, so the conversions succeed;
        // a fallback of 0 would make `Date::new` fail rather than give a wrong date.
        let year = u16::try_from(self.digits(6, 4)).unwrap_or(0);
        let month = u8::try_from(self.digits(10, 2)).unwrap_or(0);
        let day = u8::try_from(self.digits(12, 2)).unwrap_or(0);
        Date::new(year, month, day)
    }

    /// The value of `count` digits starting at `start` (`count <= 9`, within the 17
    /// digits).
    fn digits(&self, start: usize, count: usize) -> u32 {
        self.number
            .bytes()
            .skip(start)
            .take(count)
            .fold(0, |value, b| value * 10 + u32::from(b.wrapping_sub(b'0')))
    }
}

impl fmt::Display for ResidentId {
    /// Redacted: the region code, 11 asterisks and the check character.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let region = self.number.get(..6).unwrap_or("");
        let check = self.number.get(RESIDENT_ID_CHARS - 1..).unwrap_or("");
        write!(f, "{region}***********{check}")
    }
}

impl fmt::Debug for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResidentId({self})")
    }
}

/// The ISO 7064 MOD 11-2 check character of 17 ASCII digits.
fn check_char(body: &[u8]) -> u8 {
    let sum: u32 = body
        .iter()
        .zip(WEIGHTS)
        .map(|(&b, w)| u32::from(b.wrapping_sub(b'0')) * w)
        .sum();
    CHECK_CHARS[(sum % 11) as usize]
}

fn is_province_code(code: u8) -> bool {
    matches!(
        code,
        11..=15 | 21..=23 | 31..=37 | 41..=46 | 50..=54 | 61..=65 | 71 | 81..=83
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_char_of_the_published_sample() {
        assert_eq!(check_char(b"11010519491231002"), b'X');
    }

    #[test]
    fn weights_are_powers_of_two_mod_11() {
        for (i, &w) in WEIGHTS.iter().enumerate() {
            assert_eq!(w, (1u32 << (17 - i)) % 11);
        }
    }

    #[test]
    fn province_codes() {
        let accepted: Vec<u8> = (0..=99).filter(|&c| is_province_code(c)).collect();
        assert_eq!(
            accepted,
            [
                11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
                50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83
            ]
        );
    }
}
