//! Seeds and derivation: BIP-32 for secp256k1, SLIP-0010 for Ed25519.

use core::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha512;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::{DerivationPath, Ed25519Key, Error, Secp256k1Key};

type HmacSha512 = Hmac<Sha512>;

/// SLIP-0010 master key HMAC key for Ed25519.
const ED25519_CURVE_KEY: &[u8] = b"ed25519 seed";

/// The secret a wallet's keys are derived from: 64 bytes from a BIP-39 mnemonic, or a
/// 16/32/64-byte seed given directly (the BIP-32 and SLIP-0010 test vectors use them;
/// SLIP-0039 master secrets are 16 or 32 bytes).
///
/// Zeroized on drop, redacted in `Debug`, never serialized.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Seed {
    bytes: [u8; 64],
    length_bytes: usize,
}

impl Seed {
    /// A seed from raw bytes: 16, 32 or 64 of them (the lengths the `bip32` crate accepts
    /// for the master key; BIP-32 itself allows 16 to 64).
    pub fn from_bytes(seed: &[u8]) -> Result<Self, Error> {
        if ![16, 32, 64].contains(&seed.len()) {
            return Err(Error::SeedLength {
                length_bytes: seed.len(),
            });
        }
        let mut bytes = [0u8; 64];
        bytes[..seed.len()].copy_from_slice(seed);
        Ok(Self {
            bytes,
            length_bytes: seed.len(),
        })
    }

    pub(crate) fn from_bip39(seed: &[u8; 64]) -> Self {
        Self {
            bytes: *seed,
            length_bytes: 64,
        }
    }

    /// The seed bytes. Only the key vault calls this, to store the seed encrypted;
    /// everything else derives keys from the `Seed`.
    pub fn secret_bytes(&self) -> &[u8] {
        &self.bytes[..self.length_bytes]
    }

    /// The secp256k1 key at `path` (BIP-32 private derivation: master key from
    /// HMAC-SHA512 with key `"Bitcoin seed"`, then CKDpriv per level).
    pub fn derive_secp256k1(&self, path: &DerivationPath) -> Result<Secp256k1Key, Error> {
        let mut key = bip32::XPrv::new(self.secret_bytes()).map_err(map_bip32_error)?;
        for index in path.indices() {
            key = key
                .derive_child(bip32::ChildNumber(index.to_bits()))
                .map_err(map_bip32_error)?;
        }
        Ok(Secp256k1Key::from_signing_key(key.private_key().clone()))
    }

    /// The Ed25519 key at `path` (SLIP-0010: master key from HMAC-SHA512 with key
    /// `"ed25519 seed"`, then hardened-only CKDpriv; the child key is `I_L` itself).
    /// Every level must be hardened.
    pub fn derive_ed25519(&self, path: &DerivationPath) -> Result<Ed25519Key, Error> {
        if let Some(position) = path.indices().iter().position(|i| !i.is_hardened()) {
            return Err(Error::Ed25519NonHardened {
                level: position + 1,
            });
        }
        let (mut secret, mut chain_code) = hmac_split(ED25519_CURVE_KEY, &[self.secret_bytes()]);
        for index in path.indices() {
            (secret, chain_code) = hmac_split(
                chain_code.as_slice(),
                &[&[0u8], secret.as_slice(), &index.to_bits().to_be_bytes()],
            );
        }
        Ok(Ed25519Key::from_secret_bytes(&secret))
    }
}

/// HMAC-SHA512(key, data…) split into `(I_L, I_R)`, both zeroized on drop.
fn hmac_split(key: &[u8], data: &[&[u8]]) -> (Zeroizing<[u8; 32]>, Zeroizing<[u8; 32]>) {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = <HmacSha512 as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    for part in data {
        mac.update(part);
    }
    let mut output = mac.finalize().into_bytes();
    let mut left = Zeroizing::new([0u8; 32]);
    let mut right = Zeroizing::new([0u8; 32]);
    left.copy_from_slice(&output[..32]);
    right.copy_from_slice(&output[32..]);
    output.as_mut_slice().zeroize();
    (left, right)
}

/// `Seed` holds only lengths `bip32` accepts and `DerivationPath` is far below its depth
/// limit, so the one error left is `Crypto`: HMAC output that is not a valid scalar.
fn map_bip32_error(_: bip32::Error) -> Error {
    Error::DerivationInvalidKey
}

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Seed({} bytes, redacted)", self.length_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let seed = Seed::from_bytes(&[7u8; 32]).unwrap();
        assert_eq!(format!("{seed:?}"), "Seed(32 bytes, redacted)");
    }

    #[test]
    fn seed_lengths() {
        for ok in [16, 32, 64] {
            assert!(Seed::from_bytes(&vec![1u8; ok]).is_ok());
        }
        for bad in [0, 15, 17, 31, 33, 63, 65, 128] {
            assert_eq!(
                Seed::from_bytes(&vec![1u8; bad]).unwrap_err(),
                Error::SeedLength { length_bytes: bad }
            );
        }
    }

    #[test]
    fn ed25519_refuses_non_hardened_levels() {
        let seed = Seed::from_bytes(&[1u8; 16]).unwrap();
        let path = DerivationPath::parse("m/0'/1").unwrap();
        assert_eq!(
            seed.derive_ed25519(&path).unwrap_err(),
            Error::Ed25519NonHardened { level: 2 }
        );
    }
}
