//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)] // Test code: a panic is the failure report.

use std::collections::BTreeMap;

use affix_identity::Date;
use sha2::{Digest, Sha256};

/// The reference date the tests parse resident ID numbers against.
pub fn today() -> Date {
    Date::new(2026, 1, 1).unwrap()
}

/// 2026-01-01T00:00:00Z, the `now_ms` of the vectors.
pub const NOW_MS: u64 = 1_767_225_600_000;

/// The salt of the vectors: bytes 0, 1, …, 31.
pub fn salt() -> [u8; 32] {
    core::array::from_fn(|i| u8::try_from(i).unwrap())
}

/// The OTP pepper of the vectors: bytes 0x40, 0x41, …, 0x5f.
pub fn pepper() -> affix_identity::OtpPepper {
    affix_identity::OtpPepper::from_bytes(core::array::from_fn(|i| 0x40 + u8::try_from(i).unwrap()))
}

/// A deterministic "random" generator for reproducible challenges: the concatenation of
/// `SHA-256(seed || counter)` blocks, counter a big-endian u64 from 0
/// (`tests/tools/vectors.py` computes the same stream). Not for production use.
pub struct SeededRng {
    seed: Vec<u8>,
    counter: u64,
    buffer: Vec<u8>,
}

impl SeededRng {
    pub fn new(seed: &[u8]) -> Self {
        Self {
            seed: seed.to_vec(),
            counter: 0,
            buffer: Vec::new(),
        }
    }
}

impl rand_core::TryRng for SeededRng {
    type Error = core::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut bytes = [0u8; 4];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u32::from_be_bytes(bytes))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut bytes = [0u8; 8];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u64::from_be_bytes(bytes))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        while self.buffer.len() < dst.len() {
            let mut hash = Sha256::new();
            hash.update(&self.seed);
            hash.update(self.counter.to_be_bytes());
            self.buffer.extend_from_slice(&hash.finalize());
            self.counter += 1;
        }
        let rest = self.buffer.split_off(dst.len());
        dst.copy_from_slice(&self.buffer);
        self.buffer = rest;
        Ok(())
    }
}

impl rand_core::TryCryptoRng for SeededRng {}

/// The `name hex` lines of `tests/vectors/v1.txt`.
pub fn vectors() -> BTreeMap<String, Vec<u8>> {
    let mut all = BTreeMap::new();
    for file in ["v1.txt", "v2.txt"] {
        let path = format!("{}/tests/vectors/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        for line in text.lines() {
            let (name, value) = line.split_once(' ').unwrap();
            assert!(
                all.insert(name.to_owned(), hex::decode(value).unwrap())
                    .is_none(),
                "{name} twice"
            );
        }
    }
    all
}
