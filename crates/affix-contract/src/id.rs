//! Random 16-byte identifiers and the SHA-256 digest newtype.

use core::fmt;

use rand_core::CryptoRng;

use crate::Error;

/// Characters of a rendered identifier: 16 bytes as 32 lowercase hex digits.
pub const ID_CHARS: usize = 32;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name([u8; 16]);

        impl $name {
            /// An identifier from its 16 bytes (as stored).
            pub const fn from_bytes(bytes: [u8; 16]) -> Self {
                Self(bytes)
            }

            /// A fresh random identifier (16 bytes from `rng`).
            pub fn random(rng: &mut impl CryptoRng) -> Self {
                let mut bytes = [0u8; 16];
                rng.fill_bytes(&mut bytes);
                Self(bytes)
            }

            /// The 16 bytes.
            pub fn as_bytes(&self) -> &[u8; 16] {
                &self.0
            }

            /// Parses exactly 32 lowercase hex digits (the [`fmt::Display`] form).
            /// Uppercase is rejected: one identifier has one spelling.
            pub fn parse(text: &str) -> Result<Self, Error> {
                parse_hex_16(text, $what).map(Self)
            }
        }

        impl fmt::Display for $name {
            /// 32 lowercase hex digits.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_hex(f, &self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({self})", stringify!($name))
            }
        }
    };
}

id_type!(
    /// Identifies one contract; random, chosen by the server at creation.
    ContractId,
    "contract id"
);
id_type!(
    /// Identifies one party within a contract; opaque (it is not derived from any
    /// personal data).
    PartyId,
    "party id"
);
id_type!(
    /// Identifies a template; a template is immutable once published, a change is a new
    /// version.
    TemplateId,
    "template id"
);

/// A SHA-256 digest (32 bytes): content digests, event hashes, input digests.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sha256Digest([u8; 32]);

impl Sha256Digest {
    /// The all-zero value (never the digest of anything in practice).
    pub const ZERO: Self = Self([0; 32]);

    /// A digest from its 32 bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parses exactly 64 hex digits (either case; the digest is not an identifier).
    pub fn parse_hex(text: &str) -> Result<Self, Error> {
        if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::InvalidId {
                what: "sha-256 digest",
                reason: "not 64 hex digits",
            });
        }
        let mut out = [0u8; 32];
        for (i, pair) in text.as_bytes().chunks_exact(2).enumerate() {
            out[i] = (hex_value(pair[0]) << 4) | hex_value(pair[1]);
        }
        Ok(Self(out))
    }
}

impl fmt::Display for Sha256Digest {
    /// 64 lowercase hex digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256Digest({self})")
    }
}

fn parse_hex_16(text: &str, what: &'static str) -> Result<[u8; 16], Error> {
    if text.len() != ID_CHARS {
        return Err(Error::InvalidId {
            what,
            reason: "not 32 characters",
        });
    }
    if !text
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(Error::InvalidId {
            what,
            reason: "not lowercase hex",
        });
    }
    let mut out = [0u8; 16];
    for (i, pair) in text.as_bytes().chunks_exact(2).enumerate() {
        out[i] = (hex_value(pair[0]) << 4) | hex_value(pair[1]);
    }
    Ok(out)
}

/// The value of one hex digit (the caller checked it is one).
fn hex_value(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        b'A'..=b'F' => b - b'A' + 10,
        _ => 0,
    }
}

pub(crate) fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for b in bytes {
        write!(f, "{b:02x}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_other_spellings() {
        let id = ContractId::from_bytes(*b"0123456789abcdef");
        let text = id.to_string();
        assert_eq!(text, "30313233343536373839616263646566");
        assert_eq!(ContractId::parse(&text), Ok(id));
        let lettered = ContractId::from_bytes([0xab; 16]).to_string();
        assert_eq!(
            ContractId::parse(&lettered),
            Ok(ContractId::from_bytes([0xab; 16]))
        );
        assert!(ContractId::parse(&lettered.to_uppercase()).is_err());
        assert!(ContractId::parse(&text[1..]).is_err());
        assert!(ContractId::parse("g0313233343536373839616263646566").is_err());
        assert!(PartyId::parse("é0313233343536373839616263646566").is_err());
    }
}
