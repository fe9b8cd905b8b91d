//! Ed25519 keys (SLIP-0010 derived or from the vault's store).

use core::fmt;

use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use signature::{Keypair, Signer};
use zeroize::Zeroizing;

/// An Ed25519 private key.
///
/// Zeroized on drop; `Debug` shows the public key only. Signs as a
/// `signature::Signer<ed25519_dalek::Signature>` (RFC 8032 Ed25519).
pub struct Ed25519Key(SigningKey);

impl Ed25519Key {
    /// Rebuilds a key from its 32-byte secret (the RFC 8032 seed), as SLIP-0010 derives
    /// it and the vault stores it. Every 32-byte string is a valid secret.
    pub fn from_secret_bytes(secret: &[u8; 32]) -> Self {
        Self(SigningKey::from_bytes(secret))
    }

    /// The 32 secret bytes, zeroized when dropped. Only the key vault calls this, to
    /// store the key encrypted; everything else signs through the key.
    pub fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// The public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.0.verifying_key()
    }
}

impl Signer<Signature> for Ed25519Key {
    fn try_sign(&self, message: &[u8]) -> Result<Signature, signature::Error> {
        self.0.try_sign(message)
    }
}

impl Keypair for Ed25519Key {
    type VerifyingKey = VerifyingKey;

    fn verifying_key(&self) -> VerifyingKey {
        self.0.verifying_key()
    }
}

impl fmt::Debug for Ed25519Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ed25519Key")
            .field("public_key", &self.0.verifying_key().as_bytes())
            .field("secret", &"redacted")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use signature::Verifier;

    #[test]
    fn signs_and_round_trips() {
        let k = Ed25519Key::from_secret_bytes(&[9; 32]);
        let sig = k.sign(b"affix");
        k.verifying_key().verify(b"affix", &sig).unwrap();
        let again = Ed25519Key::from_secret_bytes(&k.secret_bytes());
        assert_eq!(again.verifying_key(), k.verifying_key());
        assert!(format!("{k:?}").contains("redacted"));
    }
}
