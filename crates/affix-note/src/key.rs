//! Note keys: names, IDs, verifier keys, signer keys and the [`NoteSigner`] trait.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest as _, Sha256};
use signature::{Keypair, Signer, Verifier as _};
use zeroize::Zeroizing;

use crate::Error;

/// Signature type byte of Ed25519 note signatures (signed-note spec).
const ED25519_TYPE: u8 = 0x01;

/// Signature type of Affix's SM2 note signatures: `0xff` followed by a long identifier,
/// as the signed-note spec recommends for types it has not assigned a byte to.
///
/// An SM2 signature is the 64-byte `r || s` SM2 signature (GB/T 32918.2) with SM3 over
/// the note text, with the user ID [`SM2_DEFAULT_DISTID`]. The public key is the 33-byte
/// compressed SEC1 point. Verifiers that do not know the type (Go's `note` package,
/// every standard C2SP verifier) ignore these signatures, so a note can carry SM2 and
/// Ed25519 signatures side by side.
pub const SM2_TYPE_IDENTIFIER: &[u8] = b"\xffaffix.dev/sm2-sm3@v1";

/// The SM2 distinguishing identifier (user ID) every relying party assumes when none is
/// agreed: the GM/T 0009-2012 default, also OpenSSL's, GmSSL's and RFC 8998 §3.2.1's.
///
/// This is Affix's one definition. It lives here, in the lowest crate every SM2 user can
/// depend on: `affix-pki` (and through it `affix-cms` and `affix-tsp`) and `affix-vault`
/// re-export or import it, while this signed-note crate stays free of the X.509 stack.
pub const SM2_DEFAULT_DISTID: &str = "1234567812345678";

/// Longest key name accepted, in bytes.
const KEY_NAME_BYTES_MAX: usize = 256;

/// Longest encoded key accepted, in bytes (ample for SM2 and Ed25519).
const KEY_STRING_BYTES_MAX: usize = 1024;

/// The signature algorithm of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureType {
    /// Ed25519 (RFC 8032), type byte `0x01`. Understood by every C2SP verifier.
    Ed25519,
    /// SM2 with SM3 (GB/T 32918, GB/T 32905), type [`SM2_TYPE_IDENTIFIER`].
    Sm2Sm3,
}

impl SignatureType {
    /// Bytes that precede the public key in a verifier key and in the key ID hash.
    fn identifier(self) -> &'static [u8] {
        match self {
            SignatureType::Ed25519 => &[ED25519_TYPE],
            SignatureType::Sm2Sm3 => SM2_TYPE_IDENTIFIER,
        }
    }
}

/// A key name: non-empty UTF-8 with no Unicode spaces, no `+` and no control characters,
/// at most 256 bytes. Conventionally a schema-less URL such as `notary.example/affix`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyName(String);

impl KeyName {
    /// Validates a key name.
    pub fn new(name: &str) -> Result<Self, Error> {
        if name.is_empty() || name.len() > KEY_NAME_BYTES_MAX {
            return Err(Error::MalformedKey("key name must be 1 to 256 bytes"));
        }
        if name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
        {
            return Err(Error::MalformedKey(
                "key name must not contain spaces, '+' or control characters",
            ));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for KeyName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A 32-bit key ID: the first four bytes of `SHA-256(name || 0x0a || type || public key)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(pub u32);

impl KeyId {
    fn compute(name: &KeyName, type_and_key: &[u8]) -> Self {
        let mut h = Sha256::new();
        h.update(name.as_str().as_bytes());
        h.update(b"\n");
        h.update(type_and_key);
        let digest = h.finalize();
        Self(u32::from_be_bytes([
            digest[0], digest[1], digest[2], digest[3],
        ]))
    }
}

#[derive(Clone)]
enum PublicKey {
    Ed25519(ed25519_dalek::VerifyingKey),
    Sm2(Box<sm2::dsa::VerifyingKey>),
}

impl PublicKey {
    fn signature_type(&self) -> SignatureType {
        match self {
            PublicKey::Ed25519(_) => SignatureType::Ed25519,
            PublicKey::Sm2(_) => SignatureType::Sm2Sm3,
        }
    }

    /// `type identifier || public key`, as in verifier keys and key IDs.
    fn type_and_key(&self) -> Vec<u8> {
        let mut out = self.signature_type().identifier().to_vec();
        match self {
            PublicKey::Ed25519(k) => out.extend_from_slice(k.as_bytes()),
            PublicKey::Sm2(k) => out.extend_from_slice(&sm2_compressed(k)),
        }
        out
    }

    fn decode(type_and_key: &[u8]) -> Result<Self, Error> {
        if let Some(key) = type_and_key.strip_prefix(SM2_TYPE_IDENTIFIER) {
            if key.len() != 33 {
                return Err(Error::MalformedKey(
                    "SM2 public key must be 33 bytes (compressed)",
                ));
            }
            let vk = sm2::dsa::VerifyingKey::from_sec1_bytes(SM2_DEFAULT_DISTID, key)
                .map_err(|_| Error::MalformedKey("invalid SM2 public key"))?;
            return Ok(PublicKey::Sm2(Box::new(vk)));
        }
        match type_and_key.split_first() {
            Some((&ED25519_TYPE, key)) => {
                let bytes: &[u8; 32] = key
                    .try_into()
                    .map_err(|_| Error::MalformedKey("Ed25519 public key must be 32 bytes"))?;
                let vk = ed25519_dalek::VerifyingKey::from_bytes(bytes)
                    .map_err(|_| Error::MalformedKey("invalid Ed25519 public key"))?;
                Ok(PublicKey::Ed25519(vk))
            }
            Some(_) => Err(Error::UnsupportedKeyType),
            None => Err(Error::MalformedKey("empty key")),
        }
    }
}

fn sm2_compressed(key: &sm2::dsa::VerifyingKey) -> Vec<u8> {
    use sm2::elliptic_curve::sec1::ToSec1Point as _;
    key.as_affine().to_sec1_point(true).as_bytes().to_vec()
}

/// A public key that verifies note signatures, with its name and ID.
///
/// Encoded as `<name>+<hex key ID>+<base64(type || public key)>`, the Go sumdb `vkey`
/// format.
#[derive(Clone)]
pub struct VerifierKey {
    name: KeyName,
    id: KeyId,
    key: PublicKey,
}

impl VerifierKey {
    /// The verifier key for an Ed25519 public key.
    pub fn ed25519(name: KeyName, key: ed25519_dalek::VerifyingKey) -> Self {
        Self::from_public(name, PublicKey::Ed25519(key))
    }

    /// The verifier key for an SM2 public key (user ID [`SM2_DEFAULT_DISTID`]).
    pub fn sm2(name: KeyName, key: sm2::dsa::VerifyingKey) -> Self {
        Self::from_public(name, PublicKey::Sm2(Box::new(key)))
    }

    fn from_public(name: KeyName, key: PublicKey) -> Self {
        let id = KeyId::compute(&name, &key.type_and_key());
        Self { name, id, key }
    }

    /// Parses `<name>+<hex key ID>+<base64(type || key)>`, checking that the ID matches.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let text = text.trim_end_matches(['\n', '\r']);
        if text.len() > KEY_STRING_BYTES_MAX {
            return Err(Error::MalformedKey("verifier key is too long"));
        }
        let mut parts = text.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(Error::MalformedKey("verifier key must be name+id+key"));
        };
        let name = KeyName::new(name)?;
        let id = parse_key_id(id_hex)?;
        let type_and_key = STANDARD
            .decode(key_b64)
            .map_err(|_| Error::MalformedKey("key is not valid base64"))?;
        let key = PublicKey::decode(&type_and_key)?;
        if KeyId::compute(&name, &type_and_key) != id {
            return Err(Error::MalformedKey("key ID does not match name and key"));
        }
        Ok(Self { name, id, key })
    }

    /// Key name.
    pub fn name(&self) -> &KeyName {
        &self.name
    }

    /// Key ID.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// Signature algorithm.
    pub fn signature_type(&self) -> SignatureType {
        self.key.signature_type()
    }

    /// `type || public key` bytes: two verifier keys with equal bytes are the same key.
    pub fn key_bytes(&self) -> Vec<u8> {
        self.key.type_and_key()
    }

    /// Whether `signature` is a valid signature of `message` by this key.
    ///
    /// Ed25519 uses the cofactorless RFC 8032 check with canonical `s`, as Go's
    /// `crypto/ed25519` does, so both accept the same signatures.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match &self.key {
            PublicKey::Ed25519(vk) => {
                let Ok(sig) = ed25519_dalek::Signature::from_slice(signature) else {
                    return false;
                };
                vk.verify(message, &sig).is_ok()
            }
            PublicKey::Sm2(vk) => {
                let Ok(sig) = sm2::dsa::Signature::from_slice(signature) else {
                    return false;
                };
                vk.verify(message, &sig).is_ok()
            }
        }
    }
}

impl PartialEq for VerifierKey {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.id == other.id && self.key_bytes() == other.key_bytes()
    }
}

impl Eq for VerifierKey {}

impl std::fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}+{:08x}+{}",
            self.name,
            self.id.0,
            STANDARD.encode(self.key.type_and_key())
        )
    }
}

impl std::fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VerifierKey({self})")
    }
}

fn parse_key_id(hex: &str) -> Result<KeyId, Error> {
    if hex.len() != 8 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::MalformedKey("key ID must be 8 hex digits"));
    }
    u32::from_str_radix(hex, 16)
        .map(KeyId)
        .map_err(|_| Error::MalformedKey("key ID must be 8 hex digits"))
}

/// Something that signs note texts under a named key.
///
/// Implemented by [`Ed25519NoteSigner`] and [`Sm2NoteSigner`] over any
/// `signature::Signer` + `Keypair` (a key in a vault, an HSM handle), and by
/// [`SignerKey`] for keys held in a local key file.
pub trait NoteSigner {
    /// The verifier key matching this signer (name, ID, public key).
    fn verifier_key(&self) -> &VerifierKey;

    /// Signs the note text, returning the raw signature (without the key ID prefix).
    fn sign_text(&self, text: &[u8]) -> Result<Vec<u8>, Error>;
}

/// Ed25519 note signatures through any `signature::Signer` with a `Keypair`.
pub struct Ed25519NoteSigner<K> {
    verifier: VerifierKey,
    key: K,
}

impl<K> Ed25519NoteSigner<K>
where
    K: Signer<ed25519_dalek::Signature> + Keypair<VerifyingKey = ed25519_dalek::VerifyingKey>,
{
    /// Wraps `key` to sign under `name`.
    pub fn new(name: KeyName, key: K) -> Self {
        let verifier = VerifierKey::ed25519(name, key.verifying_key());
        Self { verifier, key }
    }
}

impl<K> NoteSigner for Ed25519NoteSigner<K>
where
    K: Signer<ed25519_dalek::Signature>,
{
    fn verifier_key(&self) -> &VerifierKey {
        &self.verifier
    }

    fn sign_text(&self, text: &[u8]) -> Result<Vec<u8>, Error> {
        let sig = self
            .key
            .try_sign(text)
            .map_err(|_| Error::Signing("Ed25519 signer failed"))?;
        Ok(sig.to_bytes().to_vec())
    }
}

/// SM2/SM3 note signatures through any `signature::Signer` with a `Keypair`.
pub struct Sm2NoteSigner<K> {
    verifier: VerifierKey,
    key: K,
}

impl<K> Sm2NoteSigner<K>
where
    K: Signer<sm2::dsa::Signature> + Keypair<VerifyingKey = sm2::dsa::VerifyingKey>,
{
    /// Wraps `key` to sign under `name`. The key's user ID must be [`SM2_DEFAULT_DISTID`].
    pub fn new(name: KeyName, key: K) -> Result<Self, Error> {
        let vk = key.verifying_key();
        if vk.distid() != SM2_DEFAULT_DISTID {
            return Err(Error::Signing("SM2 key must use the default user ID"));
        }
        Ok(Self {
            verifier: VerifierKey::sm2(name, vk),
            key,
        })
    }
}

impl<K> NoteSigner for Sm2NoteSigner<K>
where
    K: Signer<sm2::dsa::Signature>,
{
    fn verifier_key(&self) -> &VerifierKey {
        &self.verifier
    }

    fn sign_text(&self, text: &[u8]) -> Result<Vec<u8>, Error> {
        let sig = self
            .key
            .try_sign(text)
            .map_err(|_| Error::Signing("SM2 signer failed"))?;
        Ok(sig.to_bytes().to_vec())
    }
}

enum SecretKey {
    Ed25519(Ed25519NoteSigner<ed25519_dalek::SigningKey>),
    Sm2(Sm2NoteSigner<sm2::dsa::SigningKey>),
}

/// A note signing key held in memory, in the Go sumdb signer-key encoding
/// `PRIVATE+KEY+<name>+<hex key ID>+<base64(type || secret)>` (the secret is the 32-byte
/// Ed25519 seed or SM2 scalar).
///
/// For the standalone local log and for tests; platform keys live in the key vault and
/// reach this crate only as [`NoteSigner`] handles. The secret is zeroized on drop
/// (Ed25519; `sm2` 0.14 keeps its scalar in a type without a zeroizing `Drop`), and
/// `Debug` never shows it.
pub struct SignerKey {
    secret: SecretKey,
}

impl SignerKey {
    /// An Ed25519 key from a 32-byte seed. The caller supplies fresh randomness.
    pub fn ed25519_from_seed(name: KeyName, seed: &[u8; 32]) -> Self {
        let key = ed25519_dalek::SigningKey::from_bytes(seed);
        Self {
            secret: SecretKey::Ed25519(Ed25519NoteSigner::new(name, key)),
        }
    }

    /// An SM2 key from 32 random bytes. Fails (rarely, about once in 2^32) when the bytes
    /// are not a valid scalar; the caller then draws again.
    pub fn sm2_from_bytes(name: KeyName, bytes: &[u8; 32]) -> Result<Self, Error> {
        let key = sm2::dsa::SigningKey::from_slice(SM2_DEFAULT_DISTID, bytes)
            .map_err(|_| Error::MalformedKey("not a valid SM2 secret scalar"))?;
        Ok(Self {
            secret: SecretKey::Sm2(Sm2NoteSigner::new(name, key)?),
        })
    }

    /// Parses a signer key string.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let text = text.trim_end_matches(['\n', '\r']);
        if text.len() > KEY_STRING_BYTES_MAX {
            return Err(Error::MalformedKey("signer key is too long"));
        }
        let rest = text
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(Error::MalformedKey(
                "signer key must start with PRIVATE+KEY+",
            ))?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(Error::MalformedKey(
                "signer key must be PRIVATE+KEY+name+id+key",
            ));
        };
        let name = KeyName::new(name)?;
        let id = parse_key_id(id_hex)?;
        let decoded = Zeroizing::new(
            STANDARD
                .decode(key_b64)
                .map_err(|_| Error::MalformedKey("key is not valid base64"))?,
        );
        let key = if let Some(secret) = decoded.strip_prefix(SM2_TYPE_IDENTIFIER) {
            let secret: Zeroizing<[u8; 32]> = Zeroizing::new(
                secret
                    .try_into()
                    .map_err(|_| Error::MalformedKey("SM2 secret must be 32 bytes"))?,
            );
            Self::sm2_from_bytes(name, &secret)?
        } else {
            match decoded.split_first() {
                Some((&ED25519_TYPE, secret)) => {
                    let seed: Zeroizing<[u8; 32]> = Zeroizing::new(
                        secret
                            .try_into()
                            .map_err(|_| Error::MalformedKey("Ed25519 seed must be 32 bytes"))?,
                    );
                    Self::ed25519_from_seed(name, &seed)
                }
                Some(_) => return Err(Error::UnsupportedKeyType),
                None => return Err(Error::MalformedKey("empty key")),
            }
        };
        if key.verifier_key().id() != id {
            return Err(Error::MalformedKey("key ID does not match the key"));
        }
        Ok(key)
    }

    /// The encoded signer key. This exposes the secret: write it only to a protected file.
    pub fn to_secret_string(&self) -> Zeroizing<String> {
        let mut bytes = Zeroizing::new(Vec::with_capacity(64));
        match &self.secret {
            SecretKey::Ed25519(s) => {
                bytes.push(ED25519_TYPE);
                bytes.extend_from_slice(s.key.as_bytes());
            }
            SecretKey::Sm2(s) => {
                bytes.extend_from_slice(SM2_TYPE_IDENTIFIER);
                bytes.extend_from_slice(&s.key.to_bytes());
            }
        }
        let vk = self.verifier_key();
        Zeroizing::new(format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            vk.name(),
            vk.id().0,
            STANDARD.encode(bytes.as_slice())
        ))
    }
}

impl NoteSigner for SignerKey {
    fn verifier_key(&self) -> &VerifierKey {
        match &self.secret {
            SecretKey::Ed25519(s) => s.verifier_key(),
            SecretKey::Sm2(s) => s.verifier_key(),
        }
    }

    fn sign_text(&self, text: &[u8]) -> Result<Vec<u8>, Error> {
        match &self.secret {
            SecretKey::Ed25519(s) => s.sign_text(text),
            SecretKey::Sm2(s) => s.sign_text(text),
        }
    }
}

impl std::fmt::Debug for SignerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SignerKey({}, secret redacted)", self.verifier_key())
    }
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::*;

    #[test]
    fn spec_example_verifier_key() {
        // From c2sp.org/signed-note, "Example".
        let vk = VerifierKey::parse(
            "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        )
        .unwrap();
        assert_eq!(vk.name().as_str(), "example.com/foo");
        assert_eq!(vk.id(), KeyId(0x530d903a));
        assert_eq!(vk.signature_type(), SignatureType::Ed25519);
        assert_eq!(
            vk.to_string(),
            "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
        );
    }

    #[test]
    fn go_sumdb_signer_key_round_trips() {
        // Go's golang.org/x/mod/sumdb/note package documentation example key pair.
        let skey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
        let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
        let key = SignerKey::parse(skey).unwrap();
        assert_eq!(key.verifier_key().to_string(), vkey);
        assert_eq!(key.to_secret_string().as_str(), skey);
        assert!(!format!("{key:?}").contains("AYEKF"));
    }

    #[test]
    fn sm2_keys_round_trip_and_sign() {
        let name = KeyName::new("notary.example/sm2").unwrap();
        let key = SignerKey::sm2_from_bytes(name, &[7u8; 32]).unwrap();
        let parsed = SignerKey::parse(&key.to_secret_string()).unwrap();
        assert_eq!(parsed.verifier_key(), key.verifier_key());
        let vk = VerifierKey::parse(&key.verifier_key().to_string()).unwrap();
        assert_eq!(vk.signature_type(), SignatureType::Sm2Sm3);
        let sig = key.sign_text(b"hello\n").unwrap();
        assert_eq!(sig.len(), 64);
        assert!(vk.verify(b"hello\n", &sig));
        assert!(!vk.verify(b"hello!\n", &sig));
    }

    #[test]
    fn bad_keys_are_rejected_with_reasons() {
        let good = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
        assert!(VerifierKey::parse("").is_err());
        assert!(VerifierKey::parse("a+b").is_err());
        assert!(matches!(
            VerifierKey::parse(&good.replace("530d903a", "530d903b")),
            Err(Error::MalformedKey("key ID does not match name and key"))
        ));
        assert!(VerifierKey::parse(&good.replace("example.com/foo", "example com")).is_err());
        assert!(VerifierKey::parse(&good.replace("Aeky", "Beky")).is_err());
        assert!(VerifierKey::parse(&format!("{good}{}", "A".repeat(2000))).is_err());
        assert!(SignerKey::parse(good).is_err());
        assert!(KeyName::new("a\u{2003}b").is_err());
        assert!(KeyName::new("").is_err());
    }
}
