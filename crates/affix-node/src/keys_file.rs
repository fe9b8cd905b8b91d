//! The consortium's verifier keys file: what a relying party needs to check receipts.
//!
//! ```text
//! # Affix consortium <origin>: receipts need <k> of these <n> keys
//! <verifier key>
//! ...
//! ```
//!
//! Written by every node (`GET /v1/verifier-keys`, from the genesis), by `affix devnet`
//! and by [`crate::embedded::EmbeddedLedger`]; read by `affix verify-receipt --keys`,
//! `affix mirror`, `affix submit` and [`crate::client::LedgerClient`]. Blank lines and
//! other `#` lines are ignored. The header is optional: without it a reader must be told
//! the origin, and the quorum defaults to every key.

use affix_note::{Origin, TrustPolicy, VerifierKey};

use crate::Error;

/// Largest verifier keys file accepted.
pub const MAX_KEYS_FILE_BYTES: usize = 1024 * 1024;

/// Start of the header line that names the origin and the quorum.
const HEADER_PREFIX: &str = "# Affix consortium ";

/// A parsed verifier keys file (keys parsed, nothing verified: it is the trust anchor).
#[derive(Debug, Clone)]
pub struct VerifierKeysFile {
    keys: Vec<VerifierKey>,
    origin: Option<Origin>,
    quorum: Option<usize>,
}

impl VerifierKeysFile {
    /// Parses the file's text. Fails on an invalid key line, on an empty key list, on a
    /// header naming an invalid origin and on text above [`MAX_KEYS_FILE_BYTES`]. A first
    /// line that is not a header is a comment like any other.
    pub fn parse(text: &str) -> Result<Self, Error> {
        if text.len() > MAX_KEYS_FILE_BYTES {
            return Err(Error::VerifierKeys(format!(
                "{} bytes, above the limit of {MAX_KEYS_FILE_BYTES}",
                text.len()
            )));
        }
        let mut keys = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            keys.push(
                VerifierKey::parse(line)
                    .map_err(|e| Error::VerifierKeys(format!("line {}: {e}", n + 1)))?,
            );
        }
        if keys.is_empty() {
            return Err(Error::VerifierKeys("no verifier keys".into()));
        }
        let (mut origin, mut quorum) = (None, None);
        if let Some((o, tail)) = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix(HEADER_PREFIX))
            .and_then(|rest| rest.split_once(": receipts need "))
        {
            // A header naming an invalid origin must not fall back to trusting whatever
            // origin a receipt claims.
            origin = Some(
                Origin::new(o)
                    .map_err(|e| Error::VerifierKeys(format!("header: origin {o:?}: {e}")))?,
            );
            // An unreadable quorum leaves the strictest default: every key.
            quorum = tail.split_whitespace().next().and_then(|k| k.parse().ok());
        }
        Ok(Self {
            keys,
            origin,
            quorum,
        })
    }

    /// The keys, in file order.
    pub fn keys(&self) -> &[VerifierKey] {
        &self.keys
    }

    /// The origin the header names, if there is a header.
    pub fn origin(&self) -> Option<&Origin> {
        self.origin.as_ref()
    }

    /// The quorum the header names, if there is a header.
    pub fn quorum(&self) -> Option<usize> {
        self.quorum
    }

    /// The trust policy the file states: its origin, and its quorum (every key when the
    /// header gives none). Fails without a header naming the origin.
    pub fn trust_policy(&self) -> Result<TrustPolicy, Error> {
        let origin = self.origin.clone().ok_or_else(|| {
            Error::VerifierKeys(format!(
                "no '{HEADER_PREFIX}<origin>: receipts need <k> of ...' header naming the origin"
            ))
        })?;
        Ok(TrustPolicy::new(
            origin,
            self.keys.clone(),
            self.quorum.unwrap_or(self.keys.len()),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use affix_note::{KeyName, NoteSigner as _, SignerKey};

    fn key(i: u8) -> String {
        SignerKey::ed25519_from_seed(KeyName::new(&format!("k{i}.test")).unwrap(), &[i; 32])
            .verifier_key()
            .to_string()
    }

    #[test]
    fn header_gives_origin_and_quorum() {
        let text = format!(
            "# Affix consortium ledger.test/v1: receipts need 2 of these 3 keys\n{}\n{}\n\n{}\n",
            key(1),
            key(2),
            key(3)
        );
        let file = VerifierKeysFile::parse(&text).unwrap();
        assert_eq!(file.keys().len(), 3);
        assert_eq!(file.origin().unwrap().as_str(), "ledger.test/v1");
        assert_eq!(file.quorum(), Some(2));
        let policy = file.trust_policy().unwrap();
        assert_eq!(policy.quorum(), 2);
    }

    #[test]
    fn without_header_there_is_no_policy_but_keys_are_read() {
        let file = VerifierKeysFile::parse(&format!("# some keys\n{}\n", key(1))).unwrap();
        assert!(file.origin().is_none());
        assert!(matches!(file.trust_policy(), Err(Error::VerifierKeys(_))));
    }

    #[test]
    fn bad_lines_and_empty_files_are_refused() {
        let err = VerifierKeysFile::parse(&format!("{}\nnot a key\n", key(1))).unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        assert!(VerifierKeysFile::parse("# nothing\n").is_err());
        assert!(VerifierKeysFile::parse(&"#".repeat(MAX_KEYS_FILE_BYTES + 1)).is_err());
        let bad_origin = format!(
            "# Affix consortium : receipts need 1 of these 1 keys\n{}\n",
            key(1)
        );
        assert!(VerifierKeysFile::parse(&bad_origin).is_err());
    }
}
