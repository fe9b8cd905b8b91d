//! The verifier keys file: a relying party's trust anchor for one log, the text form of a
//! [`TrustPolicy`].
//!
//! ```text
//! # Affix consortium <origin>: receipts need <k> of these <n> keys
//! <verifier key>
//! ...
//! ```
//!
//! Written by [`TrustPolicy::verifier_keys_file`] (every node serves it as
//! `GET /v1/verifier-keys`; `affix devnet` and the embedded ledger write it); read by
//! [`VerifierKeysFile::parse`] (`affix verify-receipt --keys`, `affix verify-bundle --keys`,
//! `affix mirror`, the ledger client). Blank lines and other `#` lines are ignored. The
//! header is optional: without it a reader must be told the origin, and the quorum
//! defaults to every key.

use crate::{Error, Origin, TrustPolicy, VerifierKey};

/// Largest verifier keys file accepted, in bytes.
pub const KEYS_FILE_BYTES_MAX: usize = 1024 * 1024;

/// Start of the header line that names the origin and the quorum.
const HEADER_PREFIX: &str = "# Affix consortium ";

/// What separates the origin from the quorum in the header line.
const HEADER_QUORUM: &str = ": receipts need ";

/// A parsed verifier keys file (keys parsed, nothing verified: it is the trust anchor).
#[derive(Debug, Clone)]
pub struct VerifierKeysFile {
    keys: Vec<VerifierKey>,
    origin: Option<Origin>,
    quorum: Option<usize>,
}

impl VerifierKeysFile {
    /// Parses the file's text. Fails on text above [`KEYS_FILE_BYTES_MAX`]
    /// ([`Error::TooLarge`]), on an invalid key line or a header naming an invalid origin
    /// ([`Error::KeysFileLine`]) and on an empty key list ([`Error::KeysFileEmpty`]). A
    /// first line that is not a header is a comment like any other.
    pub fn parse(text: &str) -> Result<Self, Error> {
        if text.len() > KEYS_FILE_BYTES_MAX {
            return Err(Error::TooLarge {
                what: "verifier keys file",
                actual: text.len(),
                limit: KEYS_FILE_BYTES_MAX,
            });
        }
        let mut keys = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            keys.push(VerifierKey::parse(line).map_err(|e| Error::KeysFileLine {
                line: n + 1,
                source: Box::new(e),
            })?);
        }
        if keys.is_empty() {
            return Err(Error::KeysFileEmpty);
        }
        let (mut origin, mut quorum) = (None, None);
        if let Some((o, tail)) = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix(HEADER_PREFIX))
            .and_then(|rest| rest.split_once(HEADER_QUORUM))
        {
            // A header naming an invalid origin must not fall back to trusting whatever
            // origin a receipt claims.
            origin = Some(Origin::new(o).map_err(|e| Error::KeysFileLine {
                line: 1,
                source: Box::new(e),
            })?);
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
    /// header gives none). Fails without a header naming the origin
    /// ([`Error::KeysFileWithoutOrigin`]) and on a quorum the keys cannot meet
    /// ([`Error::InvalidPolicy`]).
    pub fn trust_policy(&self) -> Result<TrustPolicy, Error> {
        let origin = self.origin.clone().ok_or(Error::KeysFileWithoutOrigin)?;
        TrustPolicy::new(
            origin,
            self.keys.clone(),
            self.quorum.unwrap_or(self.keys.len()),
        )
    }
}

impl TrustPolicy {
    /// The verifier keys file stating this policy: the header line naming origin and
    /// quorum, then one key per line. [`VerifierKeysFile::parse`] reads it back to the
    /// same policy.
    pub fn verifier_keys_file(&self) -> String {
        let mut text = format!(
            "{HEADER_PREFIX}{}{HEADER_QUORUM}{} of these {} keys\n",
            self.origin(),
            self.quorum(),
            self.verifiers().len()
        );
        for key in self.verifiers() {
            text.push_str(&key.to_string());
            text.push('\n');
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{KeyName, NoteSigner as _, SignerKey};

    fn key(i: u8) -> VerifierKey {
        SignerKey::ed25519_from_seed(KeyName::new(&format!("k{i}.test")).unwrap(), &[i; 32])
            .verifier_key()
            .clone()
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
        // Written back, it is the same text.
        assert_eq!(policy.verifier_keys_file(), text.replace("\n\n", "\n"));
    }

    #[test]
    fn a_written_policy_reads_back() {
        let policy = TrustPolicy::new(
            Origin::new("ledger.test/sm3").unwrap(),
            vec![key(4), key(5), key(6), key(7)],
            3,
        )
        .unwrap();
        let text = policy.verifier_keys_file();
        assert!(
            text.starts_with(
                "# Affix consortium ledger.test/sm3: receipts need 3 of these 4 keys\n"
            )
        );
        let again = VerifierKeysFile::parse(&text)
            .unwrap()
            .trust_policy()
            .unwrap();
        assert_eq!(again.origin(), policy.origin());
        assert_eq!(again.quorum(), 3);
        let text_of = |p: &TrustPolicy| {
            p.verifiers()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        };
        assert_eq!(text_of(&again), text_of(&policy));
    }

    #[test]
    fn without_header_there_is_no_policy_but_keys_are_read() {
        let file = VerifierKeysFile::parse(&format!("# some keys\n{}\n", key(1))).unwrap();
        assert!(file.origin().is_none());
        assert_eq!(
            file.trust_policy().unwrap_err(),
            Error::KeysFileWithoutOrigin
        );
    }

    #[test]
    fn bad_lines_and_empty_files_are_refused() {
        let err = VerifierKeysFile::parse(&format!("{}\nnot a key\n", key(1))).unwrap_err();
        assert!(matches!(err, Error::KeysFileLine { line: 2, .. }), "{err}");
        assert!(err.to_string().contains("line 2"), "{err}");
        assert_eq!(
            VerifierKeysFile::parse("# nothing\n").unwrap_err(),
            Error::KeysFileEmpty
        );
        assert!(matches!(
            VerifierKeysFile::parse(&"#".repeat(KEYS_FILE_BYTES_MAX + 1)),
            Err(Error::TooLarge { .. })
        ));
        let bad_origin = format!(
            "# Affix consortium : receipts need 1 of these 1 keys\n{}\n",
            key(1)
        );
        assert!(matches!(
            VerifierKeysFile::parse(&bad_origin),
            Err(Error::KeysFileLine { line: 1, .. })
        ));
    }

    #[test]
    fn an_unreadable_quorum_means_every_key() {
        let text = format!(
            "# Affix consortium ledger.test/v1: receipts need some of these keys\n{}\n{}\n",
            key(1),
            key(2)
        );
        let file = VerifierKeysFile::parse(&text).unwrap();
        assert_eq!(file.quorum(), None);
        assert_eq!(file.trust_policy().unwrap().quorum(), 2);
    }
}
