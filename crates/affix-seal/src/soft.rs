//! AES-256-GCM wrapping with a master secret held in process memory: the common core of
//! the key-file, passphrase and Shamir master keys.

use aes_gcm::aead::{AeadInOut as _, KeyInit as _, Tag};
use aes_gcm::{Aes256Gcm, Nonce};
use zeroize::Zeroizing;

use crate::{
    Error, KEY_BYTES, Kek, KeyCheckValue, MasterKeyId, TAG_BYTES, WrappedKek, gcm_aad, random_nonce,
};

/// A master secret in memory. The AES key schedule is zeroized on drop (`aes-gcm`'s
/// `zeroize` feature); the secret bytes themselves are not kept.
pub(crate) struct SoftMaster {
    id: MasterKeyId,
    cipher: Aes256Gcm,
}

impl SoftMaster {
    /// `kind` prefixes the identifier: `file`, `passphrase` or `shamir`.
    pub(crate) fn new(kind: &str, secret: &Zeroizing<[u8; KEY_BYTES]>) -> Result<Self, Error> {
        let kcv = KeyCheckValue::of(secret);
        let id = MasterKeyId::parse(&format!("{kind}:{}", kcv.to_hex()))?;
        let cipher = Aes256Gcm::new_from_slice(secret.as_slice())
            .map_err(|_| Error::InvalidArgument("AES-256 key length"))?;
        Ok(Self { id, cipher })
    }

    pub(crate) fn id(&self) -> &MasterKeyId {
        &self.id
    }

    pub(crate) fn wrap(&self, kek: &Kek, aad: &[u8]) -> Result<WrappedKek, Error> {
        let aad = gcm_aad(aad)?;
        let nonce = random_nonce()?;
        let mut buffer = [0u8; KEY_BYTES + TAG_BYTES];
        buffer[..KEY_BYTES].copy_from_slice(kek.expose_secret());
        let tag = self
            .cipher
            .encrypt_inout_detached(&Nonce::from(nonce), &aad, (&mut buffer[..KEY_BYTES]).into())
            // Only fails for inputs beyond GCM's length limits; ours are fixed and small.
            .map_err(|_| Error::InvalidArgument("AES-GCM refused the input length"))?;
        buffer[KEY_BYTES..].copy_from_slice(&tag);
        WrappedKek::from_parts(&nonce, &buffer)
    }

    pub(crate) fn unwrap(&self, wrapped: &WrappedKek, aad: &[u8]) -> Result<Kek, Error> {
        let aad = gcm_aad(aad)?;
        let (ciphertext, tag) = wrapped.ciphertext_and_tag().split_at(KEY_BYTES);
        let tag = Tag::<Aes256Gcm>::try_from(tag).map_err(|_| Error::UnwrapFailed)?;
        let mut plain = Zeroizing::new([0u8; KEY_BYTES]);
        plain.copy_from_slice(ciphertext);
        self.cipher
            .decrypt_inout_detached(
                &Nonce::from(wrapped.nonce()),
                &aad,
                (&mut plain[..]).into(),
                &tag,
            )
            .map_err(|_| Error::UnwrapFailed)?;
        Ok(Kek(plain))
    }
}
