//! Identifiers: 16-byte ids rendered as 32 lowercase hex digits, and tenants.

use crate::error::{Error, malformed};
use std::fmt;

macro_rules! id16 {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub [u8; 16]);

        impl $name {
            /// Parses 32 lowercase hex digits.
            ///
            /// # Errors
            /// [`Error::Malformed`] for anything else.
            pub fn parse(text: &str) -> Result<Self, Error> {
                parse_hex16(text, $what).map(Self)
            }

            /// A fresh random id.
            ///
            /// # Errors
            /// [`Error::Random`] if the OS random generator fails.
            pub fn random() -> Result<Self, Error> {
                let mut id = [0u8; 16];
                getrandom::fill(&mut id).map_err(|_| Error::Random)?;
                Ok(Self(id))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&hex::encode(self.0))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), hex::encode(self.0))
            }
        }
    };
}

id16!(
    /// A key's id. The first 8 bytes are the vault's creation sequence number (so ids
    /// sort by creation and B-tree inserts are sequential), the last 8 are random (so ids
    /// cannot be guessed). Its first 12 bytes are the AES-GCM nonce of the key's envelope.
    KeyId,
    "key id"
);
id16!(
    /// An owner (a person or an organization) within a tenant. Opaque: never a name.
    OwnerId,
    "owner id"
);
id16!(
    /// An authenticator credential registered to an owner.
    CredentialId,
    "credential id"
);
id16!(
    /// A delegated-signing grant.
    GrantId,
    "grant id"
);
id16!(
    /// An HD wallet (a sealed BIP-39 seed). The first bit is always 1: key ids start with
    /// a sequence number below 2⁶³, so the 12-byte envelope nonces of wallets (the first
    /// 12 bytes of the id, like keys') never meet a key's under the same KEK; the other
    /// 127 bits are random.
    WalletId,
    "wallet id"
);
id16!(
    /// A recovery procedure.
    RecoveryId,
    "recovery id"
);

impl KeyId {
    /// The creation sequence number.
    pub fn sequence(&self) -> u64 {
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&self.0[..8]);
        u64::from_be_bytes(seq)
    }

    /// An id for creation sequence `seq` with 8 random bytes.
    pub(crate) fn new(seq: u64, random: [u8; 8]) -> Self {
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&seq.to_be_bytes());
        id[8..].copy_from_slice(&random);
        Self(id)
    }
}

impl WalletId {
    /// A fresh wallet id: the marker bit and 127 random bits.
    pub(crate) fn generate() -> Result<Self, Error> {
        let mut id = Self::random()?;
        id.0[0] |= 0x80;
        Ok(id)
    }
}

fn parse_hex16(text: &str, what: &'static str) -> Result<[u8; 16], Error> {
    if text.len() != 32 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(malformed(what, "expected 32 lowercase hex digits"));
    }
    let mut id = [0u8; 16];
    hex::decode_to_slice(text, &mut id).map_err(|e| malformed(what, e.to_string()))?;
    Ok(id)
}

/// A tenant (an organization using the platform): `[a-z0-9][a-z0-9._-]{0,62}`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct TenantId(String);

impl TenantId {
    /// Longest tenant id, in bytes.
    pub const MAX_LEN: usize = 63;

    /// Validates a tenant id.
    ///
    /// # Errors
    /// [`Error::Malformed`] unless it matches `[a-z0-9][a-z0-9._-]{0,62}`.
    pub fn new(text: &str) -> Result<Self, Error> {
        let ok = !text.is_empty()
            && text.len() <= Self::MAX_LEN
            && text.bytes().enumerate().all(|(i, b)| {
                b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || (i > 0 && matches!(b, b'.' | b'_' | b'-'))
            });
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(malformed("tenant id", "expected [a-z0-9][a-z0-9._-]{0,62}"))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_garbage() {
        let id = KeyId::new(7, [9; 8]);
        assert_eq!(id.sequence(), 7);
        assert_eq!(KeyId::parse(&id.to_string()).unwrap(), id);
        for bad in ["", "00", &"A".repeat(32), &"g".repeat(32), &"0".repeat(33)] {
            assert!(KeyId::parse(bad).is_err(), "{bad}");
        }
        assert!(TenantId::new("acme-bank").is_ok());
        for bad in ["", "-x", "Acme", "a b", &"a".repeat(64)] {
            assert!(TenantId::new(bad).is_err(), "{bad}");
        }
    }
}
