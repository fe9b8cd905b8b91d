//! A master key that lives inside a PKCS#11 token (an HSM, or SoftHSM2 for tests).

use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use zeroize::Zeroizing;

use crate::{
    Error, KEY_BYTES, Kek, MasterKey, MasterKeyId, TAG_BYTES, WrappedKek, gcm_aad, random_nonce,
};

/// Longest token or key label (PKCS#11 token labels are 32 bytes).
const MAX_LABEL_BYTES: usize = 64;

/// Longest PIN accepted, in bytes.
pub const MAX_PIN_BYTES: usize = 256;

fn ck(op: &'static str) -> impl FnOnce(CkError) -> Error {
    move |source| Error::Pkcs11 { op, source }
}

/// A PKCS#11 user PIN: zeroized on drop, redacted in `Debug`.
pub struct Pin(Zeroizing<String>);

impl Pin {
    /// Takes ownership of the PIN text. Refuses an empty one or one longer than
    /// [`MAX_PIN_BYTES`].
    pub fn new(text: String) -> Result<Self, Error> {
        let text = Zeroizing::new(text);
        let invalid = |reason| Error::InvalidSecretText {
            what: "PIN",
            reason,
        };
        if text.is_empty() {
            return Err(invalid("empty"));
        }
        if text.len() > MAX_PIN_BYTES {
            return Err(invalid("longer than 256 bytes"));
        }
        Ok(Self(text))
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin([REDACTED])")
    }
}

/// A PKCS#11 token, logged in as the user, with one read-write session shared behind a
/// mutex. Cheap to clone; clones share the session.
///
/// PKCS#11 login state belongs to the application, not the session: sessions opened with
/// [`Pkcs11Token::open_session`] are logged in too.
#[derive(Clone)]
pub struct Pkcs11Token {
    inner: Arc<TokenInner>,
}

struct TokenInner {
    ctx: Pkcs11,
    slot: Slot,
    label: String,
    /// `Session` is `Send` but not `Sync`: one call at a time.
    session: Mutex<Session>,
}

impl Pkcs11Token {
    /// Loads the PKCS#11 module at `module` (for SoftHSM2 on Debian,
    /// `/usr/lib/softhsm/libsofthsm2.so`), finds the token labelled `token_label` and
    /// logs in as the user with `pin`. A wrong PIN gives [`Error::WrongPin`].
    ///
    /// If this process already initialized the module and logged in to the token (for
    /// example through another `Pkcs11Token`), the existing login is reused.
    pub fn open(module: &Path, token_label: &str, pin: &Pin) -> Result<Self, Error> {
        check_label(token_label)?;
        let ctx = Pkcs11::new(module).map_err(ck("load module"))?;
        match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(source) => {
                return Err(Error::Pkcs11 {
                    op: "initialize",
                    source,
                });
            }
        }
        let mut found = None;
        for slot in ctx.get_slots_with_token().map_err(ck("list slots"))? {
            let info = ctx.get_token_info(slot).map_err(ck("read token info"))?;
            if info.label().trim_end() == token_label {
                if found.is_some() {
                    return Err(Error::InvalidArgument("two tokens share this label"));
                }
                found = Some(slot);
            }
        }
        let slot = found.ok_or_else(|| Error::TokenNotFound(token_label.to_owned()))?;
        let session = ctx.open_rw_session(slot).map_err(ck("open session"))?;
        let auth = AuthPin::from(pin.0.as_str());
        match session.login(UserType::User, Some(&auth)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(CkError::Pkcs11(RvError::PinIncorrect, _)) => return Err(Error::WrongPin),
            Err(source) => {
                return Err(Error::Pkcs11 {
                    op: "log in",
                    source,
                });
            }
        }
        Ok(Self {
            inner: Arc::new(TokenInner {
                ctx,
                slot,
                label: token_label.to_owned(),
                session: Mutex::new(session),
            }),
        })
    }

    /// The token's label.
    pub fn label(&self) -> &str {
        &self.inner.label
    }

    /// Opens another read-write session on the token (already logged in), for callers that
    /// want their own session, such as the vault benchmark's signing peer (`affix-bench`).
    pub fn open_session(&self) -> Result<Session, Error> {
        self.inner
            .ctx
            .open_rw_session(self.inner.slot)
            .map_err(ck("open session"))
    }

    /// Whether the token offers `mechanism`.
    pub fn supports(&self, mechanism: MechanismType) -> Result<bool, Error> {
        let list = self
            .inner
            .ctx
            .get_mechanism_list(self.inner.slot)
            .map_err(ck("list mechanisms"))?;
        Ok(list.contains(&mechanism))
    }

    fn session(&self) -> MutexGuard<'_, Session> {
        // A panic while holding the lock cannot leave the session half-way through an
        // operation we rely on: every operation here is a single C_* call.
        self.inner
            .session
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Token AES secret keys labelled `label`.
    fn find_aes_keys(&self, label: &str) -> Result<Vec<ObjectHandle>, Error> {
        self.session()
            .find_objects(&[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::AES),
                Attribute::Token(true),
                Attribute::Label(label.as_bytes().to_vec()),
            ])
            .map_err(ck("find key"))
    }
}

impl fmt::Debug for Pkcs11Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Token")
            .field("label", &self.inner.label)
            .finish_non_exhaustive()
    }
}

fn check_label(label: &str) -> Result<(), Error> {
    if label.is_empty() || label.len() > MAX_LABEL_BYTES {
        return Err(Error::InvalidArgument("label must be 1..=64 bytes"));
    }
    if !label.bytes().all(|b| (0x20..0x7f).contains(&b)) || label.contains('/') {
        return Err(Error::InvalidArgument(
            "label must be printable ASCII without '/'",
        ));
    }
    Ok(())
}

/// A master key that is an AES-256 secret key inside a PKCS#11 token: wrapping is
/// `C_Encrypt` with `CKM_AES_GCM` (96-bit random IV chosen by us, 128-bit tag, the
/// format's associated data as GCM AAD), so the key never leaves the token.
/// Identifier: `pkcs11:<token label>/<key label>`.
///
/// Calls are serialized on the token's shared session; master keys from one
/// [`Pkcs11Token`] share it.
pub struct Pkcs11Master {
    token: Pkcs11Token,
    key: ObjectHandle,
    id: MasterKeyId,
}

impl Pkcs11Master {
    /// Finds the AES key labelled `key_label`. Refuses a key that is missing, ambiguous,
    /// not 256 bits, extractable, not sensitive, or not allowed to encrypt and decrypt.
    pub fn find(token: &Pkcs11Token, key_label: &str) -> Result<Self, Error> {
        check_label(key_label)?;
        let keys = token.find_aes_keys(key_label)?;
        let key = match keys.as_slice() {
            [key] => *key,
            [] => {
                return Err(Error::KeyNotFound {
                    token: token.label().to_owned(),
                    label: key_label.to_owned(),
                });
            }
            more => {
                return Err(Error::KeyAmbiguous {
                    token: token.label().to_owned(),
                    label: key_label.to_owned(),
                    count: more.len(),
                });
            }
        };
        check_key_policy(token, key)?;
        Self::with_key(token, key_label, key)
    }

    /// Generates a fresh AES-256 key labelled `key_label` on the token: a token object,
    /// private, sensitive, not extractable, for encryption and decryption only. Refuses if
    /// a key with this label exists.
    pub fn generate(token: &Pkcs11Token, key_label: &str) -> Result<Self, Error> {
        check_label(key_label)?;
        if !token.find_aes_keys(key_label)?.is_empty() {
            return Err(Error::KeyAlreadyExists {
                token: token.label().to_owned(),
                label: key_label.to_owned(),
            });
        }
        if !token.supports(MechanismType::AES_GCM)? {
            return Err(Error::MechanismNotSupported("CKM_AES_GCM"));
        }
        let template = [
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::ValueLen((KEY_BYTES as u64).into()),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Encrypt(true),
            Attribute::Decrypt(true),
            Attribute::Wrap(false),
            Attribute::Unwrap(false),
            Attribute::Sign(false),
            Attribute::Verify(false),
            Attribute::Derive(false),
            Attribute::Label(key_label.as_bytes().to_vec()),
        ];
        let key = token
            .session()
            .generate_key(&Mechanism::AesKeyGen, &template)
            .map_err(ck("generate key"))?;
        Self::with_key(token, key_label, key)
    }

    fn with_key(token: &Pkcs11Token, key_label: &str, key: ObjectHandle) -> Result<Self, Error> {
        let id = MasterKeyId::parse(&format!("pkcs11:{}/{key_label}", token.label()))?;
        Ok(Self {
            token: token.clone(),
            key,
            id,
        })
    }
}

fn check_key_policy(token: &Pkcs11Token, key: ObjectHandle) -> Result<(), Error> {
    let attributes = token
        .session()
        .get_attributes(
            key,
            &[
                AttributeType::ValueLen,
                AttributeType::Sensitive,
                AttributeType::Extractable,
                AttributeType::Encrypt,
                AttributeType::Decrypt,
            ],
        )
        .map_err(ck("read key attributes"))?;
    let (mut len_ok, mut sensitive, mut extractable, mut encrypt, mut decrypt) =
        (false, false, true, false, false);
    for attribute in attributes {
        match attribute {
            Attribute::ValueLen(len) => len_ok = u64::from(len) == KEY_BYTES as u64,
            Attribute::Sensitive(v) => sensitive = v,
            Attribute::Extractable(v) => extractable = v,
            Attribute::Encrypt(v) => encrypt = v,
            Attribute::Decrypt(v) => decrypt = v,
            _ => {}
        }
    }
    if !len_ok {
        return Err(Error::KeyRejected("not an AES-256 key"));
    }
    if !sensitive || extractable {
        return Err(Error::KeyRejected(
            "key is extractable or not sensitive: it could leave the token",
        ));
    }
    if !encrypt || !decrypt {
        return Err(Error::KeyRejected("key may not encrypt and decrypt"));
    }
    Ok(())
}

impl MasterKey for Pkcs11Master {
    fn id(&self) -> &MasterKeyId {
        &self.id
    }

    fn wrap(&self, kek: &Kek, aad: &[u8]) -> Result<WrappedKek, Error> {
        let aad = gcm_aad(aad)?;
        let nonce = random_nonce()?;
        let mut iv = nonce;
        let params = GcmParams::new(&mut iv, &aad, (8 * TAG_BYTES as u64).into())
            .map_err(ck("GCM parameters"))?;
        let ciphertext = self
            .token
            .session()
            .encrypt(&Mechanism::AesGcm(params), self.key, kek.expose_secret())
            .map_err(ck("encrypt"))?;
        WrappedKek::from_parts(&nonce, &ciphertext)
    }

    fn unwrap(&self, wrapped: &WrappedKek, aad: &[u8]) -> Result<Kek, Error> {
        let aad = gcm_aad(aad)?;
        let mut iv = wrapped.nonce();
        let params = GcmParams::new(&mut iv, &aad, (8 * TAG_BYTES as u64).into())
            .map_err(ck("GCM parameters"))?;
        let plain = self
            .token
            .session()
            .decrypt(
                &Mechanism::AesGcm(params),
                self.key,
                wrapped.ciphertext_and_tag(),
            )
            .map_err(|source| match source {
                // What tokens answer to a GCM tag mismatch varies: SoftHSM 2.6 says
                // CKR_GENERAL_ERROR, others CKR_ENCRYPTED_DATA_INVALID or
                // CKR_FUNCTION_FAILED. A genuine device fault reported with these codes
                // also becomes `UnwrapFailed`: still an error, never a wrong key.
                CkError::Pkcs11(
                    RvError::EncryptedDataInvalid
                    | RvError::EncryptedDataLenRange
                    | RvError::GeneralError
                    | RvError::FunctionFailed,
                    _,
                ) => Error::UnwrapFailed,
                source => Error::Pkcs11 {
                    op: "decrypt",
                    source,
                },
            })?;
        let plain = Zeroizing::new(plain);
        if plain.len() != KEY_BYTES {
            return Err(Error::UnexpectedTokenOutput("plaintext length"));
        }
        let mut bytes = Zeroizing::new([0u8; KEY_BYTES]);
        bytes.copy_from_slice(&plain);
        Ok(Kek(bytes))
    }
}

impl fmt::Debug for Pkcs11Master {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Master")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}
