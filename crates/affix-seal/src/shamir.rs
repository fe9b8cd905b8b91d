//! A master secret split into Shamir k-of-n shares (GF(256), the `blahaj` crate).

use std::fmt;

use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::soft::SoftMaster;
use crate::{Error, KEY_BYTES, Kek, KeyCheckValue, MasterKey, MasterKeyId, WrappedKek};

const PREFIX: &str = "affix-share-v1";

/// Longest share text [`Share::parse`] looks at.
pub const MAX_SHARE_TEXT_BYTES: usize = 256;

/// A master key reconstructed from k of n Shamir shares.
///
/// [`ShamirMaster::split`] draws a fresh 32-byte master secret and deals n shares, any k
/// of which reconstruct it; fewer reveal nothing about it. Every share carries the
/// threshold, its index, the key-check value of the secret (which identifies the split and
/// confirms a reconstruction, and reveals nothing usable about the secret) and a checksum
/// that catches typing mistakes. Identifier: `shamir:<key-check value>`.
pub struct ShamirMaster {
    inner: SoftMaster,
}

impl ShamirMaster {
    /// Draws a fresh master secret and splits it into `shares` shares with threshold
    /// `threshold` (2 ≤ k ≤ n ≤ 255). Hand each share to a different custodian; the
    /// returned master key is ready to wrap KEKs.
    pub fn split(threshold: u8, shares: u8) -> Result<(Self, Vec<Share>), Error> {
        if threshold < 2 || threshold > shares {
            return Err(Error::InvalidSharing { threshold, shares });
        }
        let mut secret = Zeroizing::new([0u8; KEY_BYTES]);
        getrandom::fill(secret.as_mut()).map_err(Error::Random)?;
        let set = KeyCheckValue::of(&secret);
        // `dealer` draws the polynomial coefficients from `rand`'s thread-local CSPRNG
        // (ChaCha, seeded and reseeded from the OS); the x-coordinates are 1, 2, …, n.
        let dealt = blahaj::Sharks(threshold)
            .dealer(secret.as_slice())
            .take(usize::from(shares))
            .map(|share| {
                let bytes = Zeroizing::new(Vec::from(&share));
                Share::from_blahaj_bytes(threshold, set, &bytes)
            })
            .collect::<Result<Vec<_>, _>>()?;
        if dealt.len() != usize::from(shares) {
            return Err(Error::InvalidSharing { threshold, shares });
        }
        let master = Self {
            inner: SoftMaster::new("shamir", &secret)?,
        };
        Ok((master, dealt))
    }

    /// Reconstructs the master key from at least k shares of one split. Every share given
    /// takes part, so one wrong share among many is detected, not outvoted.
    pub fn combine(shares: &[Share]) -> Result<Self, Error> {
        let Some(first) = shares.first() else {
            return Err(Error::NotEnoughShares { needed: 2, got: 0 });
        };
        let mut distinct: Vec<&Share> = Vec::with_capacity(shares.len());
        for share in shares {
            if share.threshold != first.threshold {
                return Err(Error::InconsistentShares("different thresholds"));
            }
            if share.set != first.set {
                return Err(Error::InconsistentShares("shares of different splits"));
            }
            match distinct.iter().find(|s| s.index == share.index) {
                Some(seen) if seen.value != share.value => {
                    return Err(Error::InconsistentShares(
                        "two different shares with the same index",
                    ));
                }
                Some(_) => {}
                None => distinct.push(share),
            }
        }
        if distinct.len() < usize::from(first.threshold) {
            return Err(Error::NotEnoughShares {
                needed: first.threshold,
                got: distinct.len(),
            });
        }
        let points = distinct
            .iter()
            .map(|share| {
                let mut bytes = Zeroizing::new(Vec::with_capacity(1 + KEY_BYTES));
                bytes.push(share.index);
                bytes.extend_from_slice(share.value.as_slice());
                blahaj::Share::try_from(bytes.as_slice())
                    .map_err(|_| Error::MalformedShare("share value too short"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let recovered = Zeroizing::new(blahaj::Sharks(first.threshold).recover(&points).map_err(
            |_| Error::NotEnoughShares {
                needed: first.threshold,
                got: distinct.len(),
            },
        )?);
        let mut secret = Zeroizing::new([0u8; KEY_BYTES]);
        if recovered.len() != KEY_BYTES {
            return Err(Error::CombinedKeyMismatch);
        }
        secret.copy_from_slice(&recovered);
        if !KeyCheckValue::of(&secret).matches(&first.set) {
            return Err(Error::CombinedKeyMismatch);
        }
        Ok(Self {
            inner: SoftMaster::new("shamir", &secret)?,
        })
    }
}

impl MasterKey for ShamirMaster {
    fn id(&self) -> &MasterKeyId {
        self.inner.id()
    }

    fn wrap(&self, kek: &Kek, aad: &[u8]) -> Result<WrappedKek, Error> {
        self.inner.wrap(kek, aad)
    }

    fn unwrap(&self, wrapped: &WrappedKek, aad: &[u8]) -> Result<Kek, Error> {
        self.inner.unwrap(wrapped, aad)
    }
}

impl fmt::Debug for ShamirMaster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShamirMaster")
            .field("id", self.inner.id())
            .finish_non_exhaustive()
    }
}

/// One Shamir share of a master secret: secret, zeroized on drop, redacted in `Debug`.
///
/// Text form (one line, to print or type):
///
/// ```text
/// affix-share-v1:<k>:<index>:<key-check value, 16 hex>:<share value, 64 hex>:<checksum, 8 hex>
/// ```
///
/// The checksum is the first 4 bytes of SHA-256 over `"affix.dev/seal/share/v1\0"` and the
/// canonical (lower-case) text up to and including the colon before it.
#[derive(Clone)]
pub struct Share {
    threshold: u8,
    index: u8,
    set: KeyCheckValue,
    value: Zeroizing<[u8; KEY_BYTES]>,
}

impl Share {
    /// Parses the text form (surrounding whitespace ignored, hex in either case).
    pub fn parse(text: &str) -> Result<Self, Error> {
        let malformed = Error::MalformedShare;
        let text = text.trim();
        if text.len() > MAX_SHARE_TEXT_BYTES {
            return Err(malformed("too long"));
        }
        let fields: Vec<&str> = text.split(':').collect();
        let [prefix, k, index, set, value, checksum] = fields.as_slice() else {
            return Err(malformed("expected 6 colon-separated fields"));
        };
        if *prefix != PREFIX {
            return Err(malformed("does not start with `affix-share-v1:`"));
        }
        let number = |text: &str, what| {
            if text.is_empty() || text.len() > 3 || !text.bytes().all(|b| b.is_ascii_digit()) {
                return Err(malformed(what));
            }
            text.parse::<u8>().map_err(|_| malformed(what))
        };
        let threshold = number(k, "threshold must be 2..=255")?;
        let index = number(index, "index must be 1..=255")?;
        let set = KeyCheckValue::parse_hex(set)
            .ok_or(malformed("key-check value must be 16 hex digits"))?;
        let mut value_bytes = Zeroizing::new([0u8; KEY_BYTES]);
        hex::decode_to_slice(value, value_bytes.as_mut())
            .map_err(|_| malformed("share value must be 64 hex digits"))?;
        let mut checksum_bytes = [0u8; 4];
        hex::decode_to_slice(checksum, &mut checksum_bytes)
            .map_err(|_| malformed("checksum must be 8 hex digits"))?;
        let share = Self {
            threshold,
            index,
            set,
            value: value_bytes,
        };
        if share.checksum() != checksum_bytes {
            return Err(Error::ShareChecksumMismatch { index });
        }
        if threshold < 2 {
            return Err(malformed("threshold must be 2..=255"));
        }
        if index == 0 {
            return Err(malformed("index must be 1..=255"));
        }
        Ok(share)
    }

    /// The text form, to hand to a custodian. Secret: zeroized on drop.
    pub fn to_text(&self) -> Zeroizing<String> {
        let mut text = self.text_without_checksum();
        text.push_str(&hex::encode(self.checksum()));
        text
    }

    /// The threshold k of the split this share belongs to.
    pub fn threshold(&self) -> u8 {
        self.threshold
    }

    /// This share's index (its x-coordinate), 1..=255.
    pub fn index(&self) -> u8 {
        self.index
    }

    fn from_blahaj_bytes(threshold: u8, set: KeyCheckValue, bytes: &[u8]) -> Result<Self, Error> {
        let Some((&index, value)) = bytes.split_first() else {
            return Err(Error::MalformedShare("empty share from dealer"));
        };
        let mut value_bytes = Zeroizing::new([0u8; KEY_BYTES]);
        if value.len() != KEY_BYTES || index == 0 {
            return Err(Error::MalformedShare("unexpected share from dealer"));
        }
        value_bytes.copy_from_slice(value);
        Ok(Self {
            threshold,
            index,
            set,
            value: value_bytes,
        })
    }

    fn text_without_checksum(&self) -> Zeroizing<String> {
        let value = Zeroizing::new(hex::encode(self.value.as_slice()));
        let mut text = Zeroizing::new(String::with_capacity(MAX_SHARE_TEXT_BYTES));
        text.push_str(PREFIX);
        text.push(':');
        text.push_str(&self.threshold.to_string());
        text.push(':');
        text.push_str(&self.index.to_string());
        text.push(':');
        text.push_str(&self.set.to_hex());
        text.push(':');
        text.push_str(&value);
        text.push(':');
        text
    }

    fn checksum(&self) -> [u8; 4] {
        let digest = Sha256::new()
            .chain_update(b"affix.dev/seal/share/v1\0")
            .chain_update(self.text_without_checksum().as_bytes())
            .finalize();
        let mut out = [0u8; 4];
        out.copy_from_slice(&digest[..4]);
        out
    }
}

impl fmt::Debug for Share {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Share")
            .field("threshold", &self.threshold)
            .field("index", &self.index)
            .field("value", &"[REDACTED]")
            .finish()
    }
}
