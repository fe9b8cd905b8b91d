//! A master secret derived from an operator passphrase with Argon2id.

use std::fmt;
use std::path::Path;

use argon2::{Algorithm, Argon2, Params, Version};
use zeroize::Zeroizing;

use crate::soft::SoftMaster;
use crate::{
    Error, KEY_BYTES, Kek, KeyCheckValue, MasterKey, MasterKeyId, WrappedKek, files, secret_file,
};

const HEADER: &str = "affix-seal-passphrase v1";
const SALT_BYTES: usize = 16;

/// Longest passphrase accepted, in bytes.
pub const MAX_PASSPHRASE_BYTES: usize = 1024;

/// An operator passphrase: zeroized on drop, redacted in `Debug`.
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    /// Takes ownership of the passphrase text. Refuses an empty one or one longer than
    /// [`MAX_PASSPHRASE_BYTES`].
    pub fn new(text: String) -> Result<Self, Error> {
        let text = Zeroizing::new(text);
        let invalid = |reason| Error::InvalidSecretText {
            what: "passphrase",
            reason,
        };
        if text.is_empty() {
            return Err(invalid("empty"));
        }
        if text.len() > MAX_PASSPHRASE_BYTES {
            return Err(invalid("longer than 1024 bytes"));
        }
        Ok(Self(text))
    }

    fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase([REDACTED])")
    }
}

/// Argon2id cost parameters, stored in the passphrase header.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct KdfParams {
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
}

impl KdfParams {
    /// Smallest memory cost [`KdfParams::new`] accepts (OWASP's Argon2id recommendation).
    pub const MIN_MEMORY_KIB: u32 = 19 * 1024;
    /// Smallest iteration count [`KdfParams::new`] accepts.
    pub const MIN_ITERATIONS: u32 = 2;
    /// Largest memory cost accepted anywhere (also bounds what a header can make us allocate).
    pub const MAX_MEMORY_KIB: u32 = 4 * 1024 * 1024;
    /// Largest iteration count accepted anywhere.
    pub const MAX_ITERATIONS: u32 = 64;
    /// Largest parallelism accepted anywhere.
    pub const MAX_PARALLELISM: u32 = 16;

    /// Parameters at least as strong as the defaults in memory and iterations.
    pub fn new(memory_kib: u32, iterations: u32, parallelism: u32) -> Result<Self, Error> {
        if memory_kib < Self::MIN_MEMORY_KIB {
            return Err(Error::InvalidKdfParams("memory below 19456 KiB"));
        }
        if iterations < Self::MIN_ITERATIONS {
            return Err(Error::InvalidKdfParams("fewer than 2 iterations"));
        }
        Self::checked(memory_kib, iterations, parallelism)
    }

    /// Parameters without the strength floor, down to Argon2's own minimums — for tests
    /// only: a passphrase protected with these is cheap to guess.
    pub fn dangerous_weak(
        memory_kib: u32,
        iterations: u32,
        parallelism: u32,
    ) -> Result<Self, Error> {
        Self::checked(memory_kib, iterations, parallelism)
    }

    /// Memory cost in KiB.
    pub fn memory_kib(&self) -> u32 {
        self.memory_kib
    }

    /// Number of passes.
    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    /// Degree of parallelism (lanes).
    pub fn parallelism(&self) -> u32 {
        self.parallelism
    }

    fn checked(memory_kib: u32, iterations: u32, parallelism: u32) -> Result<Self, Error> {
        if memory_kib > Self::MAX_MEMORY_KIB {
            return Err(Error::InvalidKdfParams("memory above 4 GiB"));
        }
        if iterations == 0 || iterations > Self::MAX_ITERATIONS {
            return Err(Error::InvalidKdfParams("iterations must be 1..=64"));
        }
        if parallelism == 0 || parallelism > Self::MAX_PARALLELISM {
            return Err(Error::InvalidKdfParams("parallelism must be 1..=16"));
        }
        if memory_kib < 8 * parallelism {
            return Err(Error::InvalidKdfParams("memory below 8 KiB per lane"));
        }
        Ok(Self {
            memory_kib,
            iterations,
            parallelism,
        })
    }

    fn derive(
        &self,
        passphrase: &Passphrase,
        salt: &[u8; SALT_BYTES],
    ) -> Result<Zeroizing<[u8; KEY_BYTES]>, Error> {
        let params = Params::new(
            self.memory_kib,
            self.iterations,
            self.parallelism,
            Some(KEY_BYTES),
        )
        .map_err(Error::Kdf)?;
        let mut key = Zeroizing::new([0u8; KEY_BYTES]);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(passphrase.as_bytes(), salt, key.as_mut())
            .map_err(Error::Kdf)?;
        Ok(key)
    }
}

impl Default for KdfParams {
    /// OWASP's Argon2id recommendation: 19 MiB, 2 passes, 1 lane.
    fn default() -> Self {
        Self {
            memory_kib: Self::MIN_MEMORY_KIB,
            iterations: Self::MIN_ITERATIONS,
            parallelism: 1,
        }
    }
}

/// A master key derived from a passphrase with Argon2id.
///
/// A small header file (not secret, but created 0600) records the salt, the cost
/// parameters and a key-check value of the derived key, so a wrong passphrase is reported
/// as [`Error::WrongPassphrase`] instead of producing a wrong key. Identifier:
/// `passphrase:<key-check value>`.
///
/// Header format (text, exactly these lines):
///
/// ```text
/// affix-seal-passphrase v1
/// salt <32 hex digits>
/// m_kib <memory cost>
/// t <iterations>
/// p <parallelism>
/// kcv <16 hex digits>
/// ```
pub struct PassphraseMaster {
    inner: SoftMaster,
    params: KdfParams,
}

impl PassphraseMaster {
    /// Creates the header at `path` with a fresh salt and derives the master key.
    /// Refuses to overwrite.
    pub fn create(path: &Path, passphrase: &Passphrase, params: KdfParams) -> Result<Self, Error> {
        let mut salt = [0u8; SALT_BYTES];
        getrandom::fill(&mut salt).map_err(Error::Random)?;
        let key = params.derive(passphrase, &salt)?;
        let kcv = KeyCheckValue::of(&key);
        let header = format!(
            "{HEADER}\nsalt {}\nm_kib {}\nt {}\np {}\nkcv {}\n",
            hex::encode(salt),
            params.memory_kib,
            params.iterations,
            params.parallelism,
            kcv.to_hex()
        );
        secret_file::create_new(path, header.as_bytes())?;
        Ok(Self {
            inner: SoftMaster::new("passphrase", &key)?,
            params,
        })
    }

    /// Reads the header at `path` and derives the master key from `passphrase`.
    pub fn open(path: &Path, passphrase: &Passphrase) -> Result<Self, Error> {
        let malformed = |reason| Error::MalformedFile {
            path: path.to_owned(),
            reason,
        };
        let contents = files::read_small(path, false)?;
        let text = std::str::from_utf8(&contents).map_err(|_| malformed("not UTF-8"))?;
        let mut lines = text.lines();
        if lines.next() != Some(HEADER) {
            return Err(malformed("missing `affix-seal-passphrase v1` header"));
        }
        let mut field = |name: &str| -> Result<&str, Error> {
            lines
                .next()
                .and_then(|line| line.strip_prefix(name))
                .and_then(|rest| rest.strip_prefix(' '))
                .ok_or_else(|| malformed("expected lines salt, m_kib, t, p, kcv in order"))
        };
        let mut salt = [0u8; SALT_BYTES];
        hex::decode_to_slice(field("salt")?, &mut salt)
            .map_err(|_| malformed("salt must be 32 hex digits"))?;
        let number = |text: &str| text.parse::<u32>().map_err(|_| malformed("bad number"));
        let memory_kib = number(field("m_kib")?)?;
        let iterations = number(field("t")?)?;
        let parallelism = number(field("p")?)?;
        let stored_kcv = KeyCheckValue::parse_hex(field("kcv")?)
            .ok_or_else(|| malformed("kcv must be 16 hex digits"))?;
        if lines.next().is_some() {
            return Err(malformed("trailing lines"));
        }
        // The header may hold weak parameters (tests); the upper bounds still apply, so a
        // hostile header cannot make us allocate more than 4 GiB.
        let params = KdfParams::checked(memory_kib, iterations, parallelism)?;
        let key = params.derive(passphrase, &salt)?;
        if !KeyCheckValue::of(&key).matches(&stored_kcv) {
            return Err(Error::WrongPassphrase);
        }
        Ok(Self {
            inner: SoftMaster::new("passphrase", &key)?,
            params,
        })
    }

    /// The Argon2id parameters in use.
    pub fn params(&self) -> KdfParams {
        self.params
    }
}

impl MasterKey for PassphraseMaster {
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

impl fmt::Debug for PassphraseMaster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PassphraseMaster")
            .field("id", self.inner.id())
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}
