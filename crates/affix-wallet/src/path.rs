//! BIP-32 derivation paths.

use core::fmt;
use core::str::FromStr;

use crate::Error;

/// Most levels a [`DerivationPath`] may have. BIP-44 paths have 5; 10 leaves room for
/// other schemes while bounding derivation work.
pub const DERIVATION_DEPTH_MAX: usize = 10;

/// Longest path text [`DerivationPath::parse`] reads, in bytes: `m` and
/// [`DERIVATION_DEPTH_MAX`] levels of `/2147483647'`.
pub const DERIVATION_PATH_BYTES_MAX: usize = 1 + DERIVATION_DEPTH_MAX * 12;

const HARDENED_FLAG: u32 = 1 << 31;

/// One level of a derivation path: an index below 2³¹, hardened or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChildIndex(u32);

impl ChildIndex {
    /// A non-hardened index (written `i`).
    pub fn normal(index: u32) -> Result<Self, Error> {
        Self::check(index).map(Self)
    }

    /// A hardened index (written `i'`), derived with the private key.
    pub fn hardened(index: u32) -> Result<Self, Error> {
        Self::check(index).map(|index| Self(index | HARDENED_FLAG))
    }

    /// The index without the hardened flag.
    pub fn index(self) -> u32 {
        self.0 & !HARDENED_FLAG
    }

    /// Whether the index is hardened.
    pub fn is_hardened(self) -> bool {
        self.0 & HARDENED_FLAG != 0
    }

    /// The BIP-32 `ser32(i)` value: the index with bit 31 set when hardened.
    pub fn to_bits(self) -> u32 {
        self.0
    }

    fn check(index: u32) -> Result<u32, Error> {
        if index >= HARDENED_FLAG {
            return Err(Error::ChildIndexOutOfRange {
                index: u64::from(index),
            });
        }
        Ok(index)
    }
}

impl fmt::Display for ChildIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.index())?;
        if self.is_hardened() {
            f.write_str("'")?;
        }
        Ok(())
    }
}

/// A BIP-32 derivation path from the master key, at most [`DERIVATION_DEPTH_MAX`] levels.
///
/// Written `m/44'/60'/0'/0/0`: `m`, then one `/index` per level; a hardened index ends in
/// `'` (`h` and `H` are accepted too). Indices are decimal without leading zeros, below
/// 2³¹. [`Display`](fmt::Display) writes the canonical form with `'`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DerivationPath(Vec<ChildIndex>);

impl DerivationPath {
    /// The empty path `m`: the master key itself.
    pub fn master() -> Self {
        Self(Vec::new())
    }

    /// A path from its levels.
    pub fn from_indices(indices: &[ChildIndex]) -> Result<Self, Error> {
        if indices.len() > DERIVATION_DEPTH_MAX {
            return Err(Error::PathTooDeep {
                depth: indices.len(),
                limit: DERIVATION_DEPTH_MAX,
            });
        }
        Ok(Self(indices.to_vec()))
    }

    /// BIP-84 receiving address `m/84'/0'/0'/0/address_index` (Bitcoin mainnet P2WPKH,
    /// account 0).
    pub fn bitcoin_p2wpkh(address_index: u32) -> Result<Self, Error> {
        Self::bip44_style(84, 0, address_index)
    }

    /// BIP-44 receiving address `m/44'/60'/0'/0/address_index` (Ethereum, account 0), the
    /// path wallets such as MetaMask use.
    pub fn ethereum(address_index: u32) -> Result<Self, Error> {
        Self::bip44_style(44, 60, address_index)
    }

    fn bip44_style(purpose: u32, coin_type: u32, address_index: u32) -> Result<Self, Error> {
        Self::from_indices(&[
            ChildIndex::hardened(purpose)?,
            ChildIndex::hardened(coin_type)?,
            ChildIndex::hardened(0)?,
            ChildIndex::normal(0)?,
            ChildIndex::normal(address_index)?,
        ])
    }

    /// Parses `m/44'/60'/0'/0/0` (see the type's documentation for the grammar).
    pub fn parse(text: &str) -> Result<Self, Error> {
        if text.len() > DERIVATION_PATH_BYTES_MAX {
            return Err(Error::TooLarge {
                what: "derivation path",
                actual: text.len(),
                limit: DERIVATION_PATH_BYTES_MAX,
            });
        }
        let mut parts = text.split('/');
        if parts.next() != Some("m") {
            return Err(Error::MalformedPath("must start with \"m\""));
        }
        let mut indices = Vec::new();
        for part in parts {
            if indices.len() == DERIVATION_DEPTH_MAX {
                return Err(Error::PathTooDeep {
                    depth: text.split('/').count() - 1,
                    limit: DERIVATION_DEPTH_MAX,
                });
            }
            indices.push(parse_index(part)?);
        }
        Ok(Self(indices))
    }

    /// The levels, from the master key down.
    pub fn indices(&self) -> &[ChildIndex] {
        &self.0
    }

    /// Number of levels (0 for `m`).
    pub fn depth(&self) -> usize {
        self.0.len()
    }
}

fn parse_index(part: &str) -> Result<ChildIndex, Error> {
    let (digits, hardened) = match part.strip_suffix(['\'', 'h', 'H']) {
        Some(digits) => (digits, true),
        None => (part, false),
    };
    if digits.is_empty() {
        return Err(Error::MalformedPath("empty index"));
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::MalformedPath("index is not a decimal number"));
    }
    if digits.len() > 1 && digits.starts_with('0') {
        return Err(Error::MalformedPath("index has a leading zero"));
    }
    // At most 10 digits fit a u32 range check through u64 without overflow.
    if digits.len() > 10 {
        return Err(Error::MalformedPath("index is too long"));
    }
    let value: u64 = digits
        .parse()
        .map_err(|_| Error::MalformedPath("index is not a decimal number"))?;
    let index = u32::try_from(value)
        .ok()
        .filter(|&index| index < HARDENED_FLAG)
        .ok_or(Error::ChildIndexOutOfRange { index: value })?;
    if hardened {
        ChildIndex::hardened(index)
    } else {
        ChildIndex::normal(index)
    }
}

impl FromStr for DerivationPath {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        Self::parse(text)
    }
}

impl fmt::Display for DerivationPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("m")?;
        for index in &self.0 {
            write!(f, "/{index}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays_canonically() {
        let path = DerivationPath::parse("m/44h/60H/0'/0/7").unwrap();
        assert_eq!(path.to_string(), "m/44'/60'/0'/0/7");
        assert_eq!(path, DerivationPath::ethereum(7).unwrap());
        assert_eq!(path.depth(), 5);
        assert!(path.indices()[0].is_hardened());
        assert_eq!(path.indices()[0].index(), 44);
        assert_eq!(path.indices()[0].to_bits(), 0x8000_002c);
        assert!(!path.indices()[4].is_hardened());
        assert_eq!(
            DerivationPath::parse("m").unwrap(),
            DerivationPath::master()
        );
        assert_eq!(
            DerivationPath::parse("m/2147483647'").unwrap().to_string(),
            "m/2147483647'"
        );
    }

    #[test]
    fn rejects_malformed_paths() {
        for bad in [
            "", "M/0", "m/", "m//0", "/0", "m/0/", "m/-1", "m/+1", "m/01", "m/0''", "m/ 0",
            "m/0x10", "m/1.5", "n/0", "m/'",
        ] {
            assert!(
                matches!(DerivationPath::parse(bad), Err(Error::MalformedPath(_))),
                "{bad:?}"
            );
        }
        assert_eq!(
            DerivationPath::parse("m/2147483648"),
            Err(Error::ChildIndexOutOfRange {
                index: 2_147_483_648
            })
        );
        assert_eq!(
            DerivationPath::parse("m/9999999999'"),
            Err(Error::ChildIndexOutOfRange {
                index: 9_999_999_999
            })
        );
    }

    #[test]
    fn depth_is_limited() {
        let ten = format!("m{}", "/0".repeat(10));
        assert_eq!(DerivationPath::parse(&ten).unwrap().depth(), 10);
        let eleven = format!("m{}", "/0".repeat(11));
        assert_eq!(
            DerivationPath::parse(&eleven),
            Err(Error::PathTooDeep {
                depth: 11,
                limit: 10
            })
        );
        let zero = ChildIndex::normal(0).unwrap();
        assert!(DerivationPath::from_indices(&[zero; 11]).is_err());
        assert!(ChildIndex::hardened(1 << 31).is_err());
    }
}
