//! Certificates and P-256 keys given on the command line.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow};
use p256::ecdsa::SigningKey;
use p256::pkcs8::DecodePrivateKey as _;
use x509_cert::Certificate;

/// Largest key file read.
const KEY_FILE_BYTES_MAX: usize = 16 * 1024;

/// A PEM or DER certificate.
pub(crate) fn read_cert(path: &Path) -> Result<Certificate> {
    Ok(affix_platform::authority::read_cert(path)?)
}

/// Certificates, in order.
pub(crate) fn read_certs(paths: &[PathBuf]) -> Result<Vec<Certificate>> {
    paths.iter().map(|p| read_cert(p)).collect()
}

/// A P-256 PKCS#8 PEM key that only its owner may read.
pub(crate) fn read_p256_key(path: &Path) -> Result<SigningKey> {
    let bytes = affix_seal::secret_file::read_owner_only(path, KEY_FILE_BYTES_MAX)
        .with_context(|| format!("reading {}", path.display()))?;
    let pem =
        std::str::from_utf8(&bytes).map_err(|_| anyhow!("{} is not a PEM file", path.display()))?;
    SigningKey::from_pkcs8_pem(pem)
        .map_err(|e| anyhow!("{} is not a P-256 PKCS#8 key: {e}", path.display()))
}
