//! Reading and writing the files of CA and TSA directories.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::Path;
use std::time::SystemTime;

use affix_pki::ca::serial_number_from_random;
use der::{Decode as _, DecodePem as _, EncodePem as _};
use p256::ecdsa::SigningKey;
use p256::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, LineEnding};
use x509_cert::Certificate;
use x509_cert::serial_number::SerialNumber;

use crate::Error;

/// Largest key file read.
const KEY_FILE_BYTES_MAX: usize = 16 * 1024;

pub(super) fn pki(e: impl std::fmt::Display) -> Error {
    Error::Pki(e.to_string())
}

pub(super) fn io(path: &Path, e: std::io::Error) -> Error {
    Error::Io(format!("{}: {e}", path.display()))
}

fn seal(e: affix_seal::Error) -> Error {
    Error::Io(e.to_string())
}

pub(super) fn datetime(t: SystemTime) -> Result<der::DateTime, Error> {
    der::DateTime::from_system_time(t).map_err(pki)
}

pub(super) fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub(super) fn random_serial() -> Result<SerialNumber, Error> {
    let mut r = [0u8; 16];
    getrandom::fill(&mut r).map_err(|e| Error::Internal(format!("randomness: {e}")))?;
    Ok(serial_number_from_random(r))
}

/// A P-256 key from the operating system's randomness.
pub(super) fn new_p256_key() -> Result<SigningKey, Error> {
    loop {
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut_slice())
            .map_err(|e| Error::Internal(format!("randomness: {e}")))?;
        // About one draw in 2^32 is not a valid scalar: draw again.
        if let Ok(key) = SigningKey::from_slice(seed.as_slice()) {
            return Ok(key);
        }
    }
}

/// Writes a new PKCS#8 PEM key file (mode 0600, never overwritten, fsync'd).
pub(super) fn write_key(path: &Path, key: &SigningKey) -> Result<(), Error> {
    let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(pki)?;
    affix_seal::secret_file::create_new(path, pem.as_bytes()).map_err(seal)
}

/// Reads a PKCS#8 PEM key file that only its owner may access.
pub(super) fn read_key(path: &Path) -> Result<SigningKey, Error> {
    let bytes = affix_seal::secret_file::read_owner_only(path, KEY_FILE_BYTES_MAX).map_err(seal)?;
    let pem = std::str::from_utf8(&bytes)
        .map_err(|_| Error::Pki(format!("{} is not a PEM file", path.display())))?;
    SigningKey::from_pkcs8_pem(pem)
        .map_err(|e| Error::Pki(format!("{} is not a P-256 PKCS#8 key: {e}", path.display())))
}

pub(super) fn write_cert(path: &Path, cert: &Certificate) -> Result<(), Error> {
    let pem = cert.to_pem(der::pem::LineEnding::LF).map_err(pki)?;
    replace_file(path, pem.as_bytes())
}

/// Reads a PEM or DER certificate.
///
/// # Errors
/// [`Error::Io`], [`Error::Pki`].
pub fn read_cert(path: &Path) -> Result<Certificate, Error> {
    let bytes = std::fs::read(path).map_err(|e| io(path, e))?;
    Certificate::from_pem(&bytes)
        .or_else(|_| Certificate::from_der(&bytes))
        .map_err(|e| Error::Pki(format!("{} is not a certificate: {e}", path.display())))
}

/// Appends a line and fsyncs: nothing is reported issued or revoked before it is on disk.
pub(super) fn append_line(path: &Path, line: &str) -> Result<(), Error> {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| io(path, e))?;
    f.write_all(format!("{line}\n").as_bytes())
        .map_err(|e| io(path, e))?;
    f.sync_data().map_err(|e| io(path, e))
}

/// Replaces `path` atomically: a temporary file beside it, fsync'd, renamed over it,
/// then the directory fsync'd so the rename itself survives a crash.
pub(super) fn replace_file(path: &Path, contents: &[u8]) -> Result<(), Error> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    {
        let mut f = std::fs::File::create(&tmp).map_err(|e| io(&tmp, e))?;
        f.write_all(contents).map_err(|e| io(&tmp, e))?;
        f.sync_all().map_err(|e| io(&tmp, e))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| io(path, e))?;
    affix_seal::secret_file::sync_parent(path).map_err(seal)
}
