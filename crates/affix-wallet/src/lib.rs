//! Hierarchical deterministic wallet keys for the key vault.
//!
//! - [`Mnemonic`]: a BIP-39 English mnemonic (12 or 24 words generated, 12 to 24 parsed),
//!   turned into a [`Seed`] with an optional passphrase.
//! - [`DerivationPath`]: a BIP-32 path such as `m/44'/60'/0'/0/0`, parsed with limits.
//! - [`Seed::derive_secp256k1`] (BIP-32) gives a [`Secp256k1Key`], with its Bitcoin
//!   P2WPKH address (BIP-84, bech32) and Ethereum address (EIP-55), EIP-191
//!   `personal_sign` and raw 32-byte-hash signing in Ethereum's 65-byte `r‖s‖v` form.
//! - [`Seed::derive_ed25519`] (SLIP-0010) gives an [`Ed25519Key`].
//! - [`ethereum_address_of`] and [`p2wpkh_address_of`] give addresses for any secp256k1
//!   public key, so keys that were never derived from a seed have them too.
//!
//! The crate is pure: no I/O, no clock; randomness comes in as `&mut impl CryptoRng`.
//! Secrets ([`Mnemonic`], [`Seed`], the keys) are zeroized on drop, print as redacted
//! in `Debug` and do not implement `Serialize`. Both key types implement
//! `signature::Signer` + `Keypair`, so format crates sign with them without seeing key
//! bytes; only the vault calls `secret_bytes` to store a key.
//!
//! ```
//! use affix_wallet::{BitcoinNetwork, DerivationPath, Mnemonic};
//!
//! let mnemonic = Mnemonic::parse(
//!     "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon \
//!      abandon about",
//! )?;
//! let seed = mnemonic.to_seed("");
//!
//! let bitcoin = seed.derive_secp256k1(&DerivationPath::bitcoin_p2wpkh(0)?)?;
//! assert_eq!(
//!     bitcoin.bitcoin_p2wpkh_address(BitcoinNetwork::Mainnet),
//!     "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu"
//! );
//!
//! let ethereum = seed.derive_secp256k1(&DerivationPath::parse("m/44'/60'/0'/0/0")?)?;
//! assert_eq!(ethereum.ethereum_address(), "0x9858EfFD232B4033E47d90003D41EC34EcaEda94");
//! let signature: [u8; 65] = ethereum.sign_eip191(b"I agree")?; // r ‖ s ‖ v
//! assert!(signature[64] == 27 || signature[64] == 28);
//! # Ok::<(), affix_wallet::Error>(())
//! ```
#![forbid(unsafe_code)]

mod ed25519;
mod error;
mod mnemonic;
mod path;
mod secp256k1;
mod seed;

pub use ed25519::Ed25519Key;
pub use error::Error;
pub use mnemonic::{MNEMONIC_BYTES_MAX, Mnemonic, WordCount};
pub use path::{ChildIndex, DERIVATION_DEPTH_MAX, DERIVATION_PATH_BYTES_MAX, DerivationPath};
pub use secp256k1::{
    BitcoinNetwork, Secp256k1Key, eip55_encode, eip191_hash, ethereum_address_of, p2wpkh_address_of,
};
pub use seed::Seed;
