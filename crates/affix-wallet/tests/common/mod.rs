//! Helpers shared by the integration tests. Decoding is written here, independently of
//! the crates under test, so the vectors are read without trusting them.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)] // Test code: a panic is the failure report.

use sha2::{Digest, Sha256};

/// Reads a file under `tests/vectors/` as JSON.
pub fn vector(name: &str) -> serde_json::Value {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// Base58Check decoding (Bitcoin alphabet, 4-byte double-SHA-256 checksum).
pub fn base58check_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let mut bytes: Vec<u8> = Vec::new(); // big-endian magnitude
    for c in text.bytes() {
        let digit = ALPHABET.iter().position(|&a| a == c).expect("base58 digit");
        let mut carry = u32::try_from(digit).unwrap();
        for b in bytes.iter_mut().rev() {
            carry += u32::from(*b) * 58;
            *b = carry.to_le_bytes()[0];
            carry >>= 8;
        }
        while carry > 0 {
            bytes.insert(0, carry.to_le_bytes()[0]);
            carry >>= 8;
        }
    }
    let zeros = text.bytes().take_while(|&c| c == b'1').count();
    let mut out = vec![0u8; zeros];
    out.extend(bytes);
    let (payload, checksum) = out.split_at(out.len() - 4);
    let digest = Sha256::digest(Sha256::digest(payload));
    assert_eq!(&digest[..4], checksum, "base58check checksum of {text}");
    payload.to_vec()
}

/// A BIP-32 serialized extended key: version, depth, fingerprint, child, chain code, key.
pub struct ExtendedKey {
    pub version: [u8; 4],
    pub depth: u8,
    pub child_number: u32,
    pub key: [u8; 33],
}

pub fn decode_extended_key(text: &str) -> ExtendedKey {
    let bytes = base58check_decode(text);
    assert_eq!(bytes.len(), 78, "{text}");
    ExtendedKey {
        version: bytes[0..4].try_into().unwrap(),
        depth: bytes[4],
        child_number: u32::from_be_bytes(bytes[9..13].try_into().unwrap()),
        key: bytes[45..78].try_into().unwrap(),
    }
}

/// A deterministic "RNG" for tests that hands out the given bytes, then zeros.
pub struct FixedBytes(pub Vec<u8>);

impl rand_core::TryRng for FixedBytes {
    type Error = core::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for d in dst.iter_mut() {
            *d = if self.0.is_empty() {
                0
            } else {
                self.0.remove(0)
            };
        }
        Ok(())
    }
}

impl rand_core::TryCryptoRng for FixedBytes {}
