//! Reading a consortium's verifier keys file (the relying party's trust anchor for
//! receipts): `# Affix consortium <origin>: receipts need <k> of these <n> keys` and one
//! verifier key a line (docs/formats.md, "Verifier keys file").

use std::path::Path;

use affix_note::{KEYS_FILE_BYTES_MAX, VerifierKeysFile};
use affix_note::{TrustPolicy, VerifierKey};
use anyhow::{Context as _, Result, bail};

/// The file's text, refused above [`KEYS_FILE_BYTES_MAX`].
pub(crate) fn read_text(path: &Path) -> Result<String> {
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if meta.len() > KEYS_FILE_BYTES_MAX as u64 {
        bail!("{} is too large to be a verifier keys file", path.display());
    }
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// The keys, and the origin and quorum of the file's header if it has one.
pub(crate) fn read(path: &Path) -> Result<(Vec<VerifierKey>, Option<String>, Option<usize>)> {
    let text = read_text(path)?;
    let file = VerifierKeysFile::parse(&text).with_context(|| format!("{}", path.display()))?;
    Ok((
        file.keys().to_vec(),
        file.origin().map(|o| o.as_str().to_owned()),
        file.quorum(),
    ))
}

/// The trust policy of a file with a consortium header: its origin, keys and quorum
/// (all keys when the header names none).
pub(crate) fn read_policy(path: &Path) -> Result<TrustPolicy> {
    let text = read_text(path)?;
    VerifierKeysFile::parse(&text)
        .and_then(|f| f.trust_policy())
        .with_context(|| format!("{}", path.display()))
}
