//! Note signer key files (`affix keygen`, `affix log`): generation from OS randomness,
//! writing and reading through `affix_seal::secret_file` (mode 0600, owner only).

use std::path::Path;

use affix_note::{KeyName, SignerKey, VerifierKey};
use anyhow::{Context as _, Result, bail};
use zeroize::Zeroizing;

/// Largest signer key file read.
const KEY_FILE_BYTES_MAX: usize = 4096;

/// Note signature algorithms `affix keygen` offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Algorithm {
    /// Ed25519: understood by every C2SP verifier (Go's sumdb, Sigstore, ...).
    Ed25519,
    /// SM2 with SM3 (Chinese national algorithms), under Affix's own signature type;
    /// standard verifiers skip these signatures.
    Sm2,
}

/// Generates a key from OS randomness.
pub(crate) fn generate(name: &str, algorithm: Algorithm) -> Result<SignerKey> {
    let name = KeyName::new(name).context("invalid key name")?;
    loop {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut_slice())
            .map_err(|e| anyhow::anyhow!("reading OS randomness: {e}"))?;
        match algorithm {
            Algorithm::Ed25519 => return Ok(SignerKey::ed25519_from_seed(name, &seed)),
            // About one draw in 2^32 is not a valid SM2 scalar: draw again.
            Algorithm::Sm2 => {
                if let Ok(key) = SignerKey::sm2_from_bytes(name.clone(), &seed) {
                    return Ok(key);
                }
            }
        }
    }
}

/// Writes a secret key file with mode 0600, refusing to overwrite anything.
pub(crate) fn write_key_file(path: &Path, key: &SignerKey) -> Result<()> {
    let mut text = key.to_secret_string();
    text.push('\n');
    affix_seal::secret_file::create_new(path, text.as_bytes()).with_context(|| {
        format!(
            "creating key file {} (it must not exist yet)",
            path.display()
        )
    })
}

/// Reads a secret key file; refuses files that other users can read.
pub(crate) fn read_key_file(path: &Path) -> Result<SignerKey> {
    let bytes = affix_seal::secret_file::read_owner_only(path, KEY_FILE_BYTES_MAX)
        .with_context(|| format!("reading key file {}", path.display()))?;
    let text = std::str::from_utf8(&bytes)
        .with_context(|| format!("{} is not a signer key file", path.display()))?;
    SignerKey::parse(text.trim())
        .with_context(|| format!("{} is not a signer key file", path.display()))
}

/// Parses verifier keys given inline (`--key`) or in files (`--keys`, one per line,
/// blank lines and `#` comments ignored).
pub(crate) fn read_verifier_keys(
    inline: &[String],
    files: &[std::path::PathBuf],
) -> Result<Vec<VerifierKey>> {
    let mut keys = Vec::new();
    for k in inline {
        keys.push(VerifierKey::parse(k).with_context(|| format!("invalid verifier key {k:?}"))?);
    }
    for path in files {
        let meta =
            std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
        if meta.len() > 1024 * 1024 {
            bail!("{} is too large to be a verifier keys file", path.display());
        }
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            keys.push(
                VerifierKey::parse(line).with_context(|| {
                    format!("{}:{}: invalid verifier key", path.display(), n + 1)
                })?,
            );
        }
    }
    if keys.is_empty() {
        bail!("no verifier keys given: use --key VKEY or --keys FILE");
    }
    Ok(keys)
}
