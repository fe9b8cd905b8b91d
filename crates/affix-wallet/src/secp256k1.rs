//! secp256k1 keys: Bitcoin P2WPKH and Ethereum addresses, recoverable signing.

use core::fmt;

use k256::ecdsa::{Signature, SigningKey, VerifyingKey};
use ripemd::Ripemd160;
use sha2::{Digest, Sha256};
use sha3::Keccak256;
use signature::{Keypair, Signer};
use zeroize::{Zeroize, Zeroizing};

use crate::Error;

/// The Bitcoin network an address is for: it selects the bech32 human-readable part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BitcoinNetwork {
    /// Mainnet, `bc1…`.
    Mainnet,
    /// Testnet and signet, `tb1…`.
    Testnet,
    /// Regtest, `bcrt1…`.
    Regtest,
}

impl BitcoinNetwork {
    fn hrp(self) -> bech32::Hrp {
        match self {
            Self::Mainnet => bech32::hrp::BC,
            Self::Testnet => bech32::hrp::TB,
            Self::Regtest => bech32::hrp::BCRT,
        }
    }
}

/// A secp256k1 private key (from BIP-32 derivation or from the vault's store).
///
/// Zeroized on drop; `Debug` shows the public key only. Signs as a
/// `signature::Signer<k256::ecdsa::Signature>` (ECDSA with SHA-256, RFC 6979, low-s) and,
/// for Ethereum, with [`sign_eip191`](Self::sign_eip191) and
/// [`sign_prehash_recoverable`](Self::sign_prehash_recoverable).
pub struct Secp256k1Key(SigningKey);

impl Secp256k1Key {
    pub(crate) fn from_signing_key(key: SigningKey) -> Self {
        Self(key)
    }

    /// Rebuilds a key from its 32 secret bytes (big-endian scalar), as the vault stores
    /// them. Fails if the scalar is zero or not below the group order.
    pub fn from_secret_bytes(secret: &[u8; 32]) -> Result<Self, Error> {
        SigningKey::from_slice(secret)
            .map(Self)
            .map_err(|_| Error::InvalidSecretKey)
    }

    /// The 32 secret bytes, zeroized when dropped. Only the key vault calls this, to
    /// store the key encrypted; everything else signs through the key.
    pub fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        let mut bytes = self.0.to_bytes();
        let mut secret = Zeroizing::new([0u8; 32]);
        secret.copy_from_slice(&bytes);
        bytes.as_mut_slice().zeroize();
        secret
    }

    /// The public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        *self.0.verifying_key()
    }

    /// The public key in SEC1 compressed form (`02`/`03` ‖ x).
    pub fn public_key_compressed(&self) -> [u8; 33] {
        compressed(self.0.verifying_key())
    }

    /// The native segwit v0 (P2WPKH, BIP-84) address: bech32 of HASH160 of the compressed
    /// public key, e.g. `bc1q…`.
    pub fn bitcoin_p2wpkh_address(&self, network: BitcoinNetwork) -> String {
        p2wpkh_address_of(self.0.verifying_key(), network)
    }

    /// The Ethereum address with the EIP-55 mixed-case checksum, e.g. `0x5aAe…`.
    pub fn ethereum_address(&self) -> String {
        ethereum_address_of(self.0.verifying_key())
    }

    /// EIP-191 version `0x45` (`personal_sign`): signs
    /// keccak256(`"\x19Ethereum Signed Message:\n"` ‖ decimal length ‖ `message`), see
    /// [`eip191_hash`]. Returns `r ‖ s ‖ v` with low `s` and `v` = 27 or 28.
    pub fn sign_eip191(&self, message: &[u8]) -> Result<[u8; 65], Error> {
        self.sign_prehash_recoverable(&eip191_hash(message))
    }

    /// Signs a 32-byte hash as it is (RFC 6979 deterministic nonce): returns
    /// `r ‖ s ‖ v` with low `s` and `v` = 27 or 28, the form Ethereum's `ecrecover`
    /// takes. The caller is responsible for what the hash commits to: prefer
    /// [`sign_eip191`](Self::sign_eip191) for messages.
    pub fn sign_prehash_recoverable(&self, hash: &[u8; 32]) -> Result<[u8; 65], Error> {
        let (signature, recovery_id) = self.0.sign_prehash_recoverable(hash);
        if recovery_id.is_x_reduced() {
            return Err(Error::UnrepresentableRecoveryId);
        }
        let mut out = [0u8; 65];
        out[..64].copy_from_slice(&signature.to_bytes());
        out[64] = 27 + u8::from(recovery_id.is_y_odd());
        Ok(out)
    }
}

impl Signer<Signature> for Secp256k1Key {
    fn try_sign(&self, message: &[u8]) -> Result<Signature, signature::Error> {
        self.0.try_sign(message)
    }
}

impl Keypair for Secp256k1Key {
    type VerifyingKey = VerifyingKey;

    fn verifying_key(&self) -> VerifyingKey {
        *self.0.verifying_key()
    }
}

impl fmt::Debug for Secp256k1Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secp256k1Key")
            .field("public_key", &hex_lower(&self.public_key_compressed()))
            .field("secret", &"redacted")
            .finish()
    }
}

/// The EIP-191 `personal_sign` hash of `message`:
/// keccak256(`"\x19Ethereum Signed Message:\n"` ‖ decimal byte length ‖ `message`).
pub fn eip191_hash(message: &[u8]) -> [u8; 32] {
    let mut hasher = Keccak256::new();
    hasher.update(b"\x19Ethereum Signed Message:\n");
    hasher.update(message.len().to_string().as_bytes());
    hasher.update(message);
    hasher.finalize().into()
}

/// The Ethereum address of a public key, EIP-55 checksummed: the last 20 bytes of
/// keccak256 of the uncompressed point without its `04` tag (see [`eip55_encode`]).
pub fn ethereum_address_of(key: &VerifyingKey) -> String {
    let point = key.to_sec1_point(false);
    // An uncompressed SEC1 point is `04 ‖ x ‖ y`, 65 bytes.
    let digest: [u8; 32] = Keccak256::digest(&point.as_bytes()[1..]).into();
    let mut address = [0u8; 20];
    address.copy_from_slice(&digest[12..]);
    eip55_encode(&address)
}

/// A 20-byte Ethereum address in EIP-55 mixed-case hex with `0x`: a hex letter is upper
/// case where the matching nibble of keccak256(lower-case hex, as ASCII) is 8 or more.
pub fn eip55_encode(address: &[u8; 20]) -> String {
    let lower = hex_lower(address);
    let checksum: [u8; 32] = Keccak256::digest(lower.as_bytes()).into();
    let mut out = String::with_capacity(42);
    out.push_str("0x");
    for (i, c) in lower.chars().enumerate() {
        let nibble = (checksum[i / 2] >> (4 * (1 - i % 2))) & 0x0f;
        out.push(if nibble >= 8 {
            c.to_ascii_uppercase()
        } else {
            c
        });
    }
    out
}

/// The P2WPKH (segwit v0) address of a public key: bech32 with `network`'s
/// human-readable part of witness version 0 and HASH160 (RIPEMD-160 of SHA-256) of the
/// compressed public key.
pub fn p2wpkh_address_of(key: &VerifyingKey, network: BitcoinNetwork) -> String {
    let sha = Sha256::digest(compressed(key));
    let hash160 = Ripemd160::digest(sha);
    // A 20-byte v0 program under one of three fixed, valid human-readable parts is
    // always encodable (the only errors are for bad program lengths and over-long
    // strings).
    bech32::segwit::encode_v0(network.hrp(), &hash160).expect("20-byte v0 program with a valid hrp")
}

fn compressed(key: &VerifyingKey) -> [u8; 33] {
    let point = key.to_sec1_point(true);
    let mut out = [0u8; 33];
    out.copy_from_slice(point.as_bytes());
    out
}

fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> Secp256k1Key {
        Secp256k1Key::from_secret_bytes(&[byte; 32]).unwrap()
    }

    #[test]
    fn secret_bytes_round_trip() {
        let k = key(0x11);
        assert_eq!(*k.secret_bytes(), [0x11; 32]);
        let again = Secp256k1Key::from_secret_bytes(&k.secret_bytes()).unwrap();
        assert_eq!(again.public_key_compressed(), k.public_key_compressed());
    }

    #[test]
    fn invalid_secret_bytes_are_rejected() {
        assert_eq!(
            Secp256k1Key::from_secret_bytes(&[0; 32]).unwrap_err(),
            Error::InvalidSecretKey
        );
        assert_eq!(
            Secp256k1Key::from_secret_bytes(&[0xff; 32]).unwrap_err(),
            Error::InvalidSecretKey
        );
    }

    #[test]
    fn debug_shows_no_secret() {
        let shown = format!("{:?}", key(0x11));
        assert!(shown.contains("redacted"));
        assert!(!shown.contains(&"11".repeat(32)));
    }

    #[test]
    fn recoverable_signature_recovers_to_the_key_and_is_low_s() {
        let k = key(0x42);
        for message in [&b""[..], b"hello", &[0u8; 1000]] {
            let sig = k.sign_eip191(message).unwrap();
            let hash = eip191_hash(message);
            let parsed = Signature::from_slice(&sig[..64]).unwrap();
            assert!(parsed.normalize_s() == parsed, "s is low");
            assert!(sig[64] == 27 || sig[64] == 28);
            let recovery = k256::ecdsa::RecoveryId::from_byte(sig[64] - 27).unwrap();
            let recovered = VerifyingKey::recover_from_prehash(&hash, &parsed, recovery).unwrap();
            assert_eq!(recovered, k.verifying_key());
        }
    }

    #[test]
    fn signer_signature_verifies() {
        use signature::Verifier;
        let k = key(0x07);
        let sig: Signature = k.sign(b"affix");
        k.verifying_key().verify(b"affix", &sig).unwrap();
    }

    #[test]
    fn regtest_and_testnet_prefixes() {
        let k = key(0x33);
        assert!(
            k.bitcoin_p2wpkh_address(BitcoinNetwork::Testnet)
                .starts_with("tb1q")
        );
        assert!(
            k.bitcoin_p2wpkh_address(BitcoinNetwork::Regtest)
                .starts_with("bcrt1q")
        );
        assert!(
            k.bitcoin_p2wpkh_address(BitcoinNetwork::Mainnet)
                .starts_with("bc1q")
        );
    }
}
