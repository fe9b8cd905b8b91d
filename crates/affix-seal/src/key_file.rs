//! A master secret in a file: for development and tests.

use std::path::Path;

use zeroize::Zeroizing;

use crate::soft::SoftMaster;
use crate::{Error, KEY_BYTES, Kek, MasterKey, MasterKeyId, WrappedKek, files, secret_file};

const HEADER: &str = "affix-seal-keyfile v1\n";

/// A master key read from a file of 32 random bytes (hex, after a version line).
///
/// The file is created with mode 0600 and `open` refuses it if group or others have any
/// access. Anyone who can read the file can unwrap every KEK: use it for development and
/// tests, not production. Identifier: `file:<key-check value>`.
///
/// File format: `affix-seal-keyfile v1\n` then 64 lower-case hex digits and `\n`.
pub struct KeyFileMaster {
    inner: SoftMaster,
}

impl KeyFileMaster {
    /// Creates `path` holding a fresh random master secret. Refuses to overwrite.
    pub fn create(path: &Path) -> Result<Self, Error> {
        let mut secret = Zeroizing::new([0u8; KEY_BYTES]);
        getrandom::fill(secret.as_mut()).map_err(Error::Random)?;
        let mut text = Zeroizing::new(String::with_capacity(HEADER.len() + 2 * KEY_BYTES + 1));
        text.push_str(HEADER);
        text.push_str(&Zeroizing::new(hex::encode(*secret)));
        text.push('\n');
        secret_file::create_new(path, text.as_bytes())?;
        Ok(Self {
            inner: SoftMaster::new("file", &secret)?,
        })
    }

    /// Opens an existing key file. Refuses files that group or others may access.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let malformed = |reason| Error::MalformedFile {
            path: path.to_owned(),
            reason,
        };
        let contents = files::read_small(path, true)?;
        let body = contents
            .strip_prefix(HEADER.as_bytes())
            .ok_or_else(|| malformed("missing `affix-seal-keyfile v1` header"))?;
        let body = body.strip_suffix(b"\n").unwrap_or(body);
        if body.len() != 2 * KEY_BYTES {
            return Err(malformed("key must be 64 hex digits"));
        }
        let mut secret = Zeroizing::new([0u8; KEY_BYTES]);
        hex::decode_to_slice(body, secret.as_mut())
            .map_err(|_| malformed("key must be 64 hex digits"))?;
        Ok(Self {
            inner: SoftMaster::new("file", &secret)?,
        })
    }
}

impl MasterKey for KeyFileMaster {
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

impl std::fmt::Debug for KeyFileMaster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyFileMaster")
            .field("id", self.inner.id())
            .finish_non_exhaustive()
    }
}
