//! Big integers of the protocol: nonces and token serial numbers.

use core::fmt;

use der::asn1::Int;

use super::{Error, NONCE_BYTES_MAX, SERIAL_BYTES_MAX};

/// A request nonce: an `INTEGER` the TSA must echo unchanged.
///
/// Held as the content octets of its DER encoding (big-endian two's
/// complement, minimal), which is also how it is compared.
#[derive(Clone, Eq, PartialEq, Hash)]
pub struct Nonce(Vec<u8>);

impl Nonce {
    /// A nonce with this non-negative value.
    pub fn from_u64(value: u64) -> Self {
        Self(unsigned_to_twos_complement(&value.to_be_bytes()))
    }

    /// A nonce with the non-negative value of these big-endian bytes (for
    /// example eight random bytes, as OpenSSL uses).
    pub fn from_unsigned_be_bytes(magnitude: &[u8]) -> Result<Self, Error> {
        Self::checked(unsigned_to_twos_complement(magnitude))
    }

    /// Content octets of the DER `INTEGER`: big-endian two's complement.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Reads a nonce received from a peer.
    pub(crate) fn from_int(int: &Int) -> Result<Self, Error> {
        Self::checked(int.as_bytes().to_vec())
    }

    /// The nonce as a DER `INTEGER`.
    pub(crate) fn to_int(&self) -> Result<Int, Error> {
        Int::new(&self.0).map_err(Error::Encoding)
    }

    fn checked(bytes: Vec<u8>) -> Result<Self, Error> {
        if bytes.len() > NONCE_BYTES_MAX {
            return Err(Error::NonceTooLarge {
                actual_bytes: bytes.len(),
                limit_bytes: NONCE_BYTES_MAX,
            });
        }
        Ok(Self(bytes))
    }
}

impl fmt::Debug for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Nonce({})", hex::encode(&self.0))
    }
}

/// The serial number of a time-stamp token: a positive `INTEGER` of at most
/// 160 bits, unique among the tokens of one TSA (RFC 3161 §2.4.2).
///
/// Keeping serial numbers unique is the caller's job; a ledger index or a
/// 160-bit random value both work.
#[derive(Clone, Eq, PartialEq, Hash)]
pub struct TokenSerial(Vec<u8>);

impl TokenSerial {
    /// A serial number with this value. Zero is allowed here because some
    /// counters start there, but RFC 5280-minded verifiers prefer positive
    /// numbers, so start counters at 1.
    pub fn from_u64(value: u64) -> Self {
        Self(unsigned_to_twos_complement(&value.to_be_bytes()))
    }

    /// A serial number with the value of these big-endian bytes (for example
    /// 20 random bytes).
    pub fn from_unsigned_be_bytes(magnitude: &[u8]) -> Result<Self, Error> {
        Self::checked(unsigned_to_twos_complement(magnitude))
    }

    /// Content octets of the DER `INTEGER`: big-endian two's complement.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The value, if it fits in a `u64`.
    pub fn to_u64(&self) -> Option<u64> {
        let magnitude = match self.0.split_first() {
            Some((0, rest)) => rest,
            _ => &self.0,
        };
        let mut buffer = [0u8; 8];
        let start = buffer.len().checked_sub(magnitude.len())?;
        buffer.get_mut(start..)?.copy_from_slice(magnitude);
        Some(u64::from_be_bytes(buffer))
    }

    /// Reads a serial number received from a peer.
    pub(crate) fn from_int(int: &Int) -> Result<Self, Error> {
        Self::checked(int.as_bytes().to_vec())
    }

    /// The serial number as a DER `INTEGER`.
    pub(crate) fn to_int(&self) -> Result<Int, Error> {
        Int::new(&self.0).map_err(Error::Encoding)
    }

    fn checked(bytes: Vec<u8>) -> Result<Self, Error> {
        let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
        if bytes.len() > SERIAL_BYTES_MAX || negative {
            return Err(Error::SerialNumberInvalid {
                limit_bytes: SERIAL_BYTES_MAX,
            });
        }
        Ok(Self(bytes))
    }
}

impl From<u64> for TokenSerial {
    fn from(value: u64) -> Self {
        Self::from_u64(value)
    }
}

impl fmt::Debug for TokenSerial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenSerial({})", hex::encode(&self.0))
    }
}

/// Minimal two's-complement content octets of a non-negative big-endian
/// magnitude: leading zeros dropped, one zero octet put back when the top
/// bit is set, and `[0]` for zero.
fn unsigned_to_twos_complement(magnitude: &[u8]) -> Vec<u8> {
    let start = magnitude
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(magnitude.len());
    let trimmed = magnitude.get(start..).unwrap_or_default();
    let mut bytes = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|b| b & 0x80 != 0) {
        bytes.push(0);
    }
    bytes.extend_from_slice(trimmed);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::{Decode, Encode};

    #[test]
    fn twos_complement_is_minimal() {
        assert_eq!(unsigned_to_twos_complement(&[]), [0]);
        assert_eq!(unsigned_to_twos_complement(&[0, 0]), [0]);
        assert_eq!(unsigned_to_twos_complement(&[0, 0x7f]), [0x7f]);
        assert_eq!(unsigned_to_twos_complement(&[0, 0x80]), [0, 0x80]);
        assert_eq!(unsigned_to_twos_complement(&[0x01, 0x00]), [0x01, 0x00]);
    }

    #[test]
    fn nonce_survives_der() {
        let nonce = Nonce::from_u64(0x8000_0000_0000_0001);
        let der = nonce.to_int().unwrap().to_der().unwrap();
        assert_eq!(der, [2, 9, 0, 0x80, 0, 0, 0, 0, 0, 0, 1]);
        let back = Nonce::from_int(&Int::from_der(&der).unwrap()).unwrap();
        assert_eq!(back, nonce);
    }

    #[test]
    fn serial_round_trips_u64() {
        for value in [0, 1, 127, 128, 255, 256, u64::MAX] {
            assert_eq!(TokenSerial::from_u64(value).to_u64(), Some(value));
        }
        let big = TokenSerial::from_unsigned_be_bytes(&[0xff; 20]).unwrap();
        assert_eq!(big.as_bytes().len(), 21);
        assert_eq!(big.to_u64(), None);
        assert!(TokenSerial::from_unsigned_be_bytes(&[0xff; 21]).is_err());
    }
}
