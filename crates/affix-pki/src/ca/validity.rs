//! Serial numbers and validity periods of issued certificates.

use der::DateTime;
use x509_cert::{
    serial_number::SerialNumber,
    time::{Time, Validity},
};

use crate::error::{Error, Result};

/// Derive a certificate serial number from 16 caller-provided random bytes.
///
/// The top bit is cleared (serial numbers are positive) and the next one set,
/// so every serial is exactly 16 octets long and carries 126 random bits —
/// well above the 64 bits the CA/Browser Forum asks for. Uniqueness is the
/// caller's job: draw the bytes from a CSPRNG.
pub fn serial_number_from_random(random: [u8; 16]) -> SerialNumber {
    let mut bytes = random;
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    // 16 octets with the top bit clear is a positive integer under the
    // 20-octet limit, which is all `SerialNumber::new` checks.
    SerialNumber::new(&bytes).expect("16-octet positive integer is a valid serial number")
}

/// A certificate's validity period: `notBefore` strictly before `notAfter`.
///
/// Times are supplied by the caller; this crate reads no clock. Dates before
/// 2050 are encoded as UTCTime and later ones as GeneralizedTime (RFC 5280
/// §4.1.2.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValidityPeriod {
    not_before: DateTime,
    not_after: DateTime,
}

impl ValidityPeriod {
    /// A validity period from `not_before` to `not_after`, both inclusive.
    ///
    /// # Errors
    /// [`Error::EmptyValidity`] unless `not_before < not_after`.
    pub fn new(not_before: DateTime, not_after: DateTime) -> Result<Self> {
        if not_before >= not_after {
            return Err(Error::EmptyValidity);
        }
        Ok(Self {
            not_before,
            not_after,
        })
    }

    /// Start of the period.
    pub fn not_before(&self) -> DateTime {
        self.not_before
    }

    /// End of the period.
    pub fn not_after(&self) -> DateTime {
        self.not_after
    }

    pub(super) fn to_validity(self) -> Validity {
        Validity::new(Time::from(self.not_before), Time::from(self.not_after))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_from_random_is_positive_and_16_octets() {
        for first in [0x00, 0x7f, 0x80, 0xff] {
            let mut random = [0xa5u8; 16];
            random[0] = first;
            let serial = serial_number_from_random(random);
            assert_eq!(serial.as_bytes().len(), 16);
            assert_eq!(serial.as_bytes()[0] & 0xc0, 0x40);
        }
    }
}
