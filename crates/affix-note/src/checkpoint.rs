//! `c2sp.org/tlog-checkpoint`: origin, tree size, root hash, optional extension lines.

use affix_merkle::{Hash, HashSuite, TreeSize};

use crate::note::check_policy;
use crate::{Error, Note, NoteSigner, VerifiedNote, VerifierKey};

/// Longest origin accepted, in bytes.
const ORIGIN_BYTES_MAX: usize = 256;

/// Most extension lines accepted in a checkpoint.
const EXTENSION_LINES_MAX: usize = 16;

/// Longest extension line accepted, in bytes.
const EXTENSION_BYTES_MAX: usize = 1024;

/// Largest tree size accepted: Go's `tlog` uses `int64`.
const TREE_SIZE_MAX: u64 = i64::MAX as u64;

/// A log's origin: the first line of its checkpoints, naming the log. Non-empty, at most
/// 256 bytes, no Unicode spaces, no `+`, no control characters — the form the spec
/// recommends (a schema-less URL such as `ledger.affix.example/v1`).
///
/// The origin also fixes the log's hash suite ([`HashSuite::for_origin`]): SM3 logs, and
/// only they, end in `/sm3`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin(String);

impl Origin {
    /// Validates an origin.
    pub fn new(origin: &str) -> Result<Self, Error> {
        if origin.is_empty() || origin.len() > ORIGIN_BYTES_MAX {
            return Err(Error::MalformedCheckpoint("origin must be 1 to 256 bytes"));
        }
        if origin
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
        {
            return Err(Error::MalformedCheckpoint(
                "origin must not contain spaces, '+' or control characters",
            ));
        }
        Ok(Self(origin.to_owned()))
    }

    /// The origin text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The hash suite of the log this origin names.
    pub fn suite(&self) -> HashSuite {
        HashSuite::for_origin(&self.0)
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The body of a checkpoint: which log, how many entries, which root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Log identity.
    pub origin: Origin,
    /// Number of entries.
    pub size: TreeSize,
    /// Root hash of the tree of `size` entries.
    pub root: Hash,
    /// Opaque extension lines, each non-empty.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The note text: one line each for origin, size, base64 root, then extensions.
    pub fn to_text(&self) -> String {
        let mut text = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size.0,
            self.root.to_base64()
        );
        for line in &self.extensions {
            text.push_str(line);
            text.push('\n');
        }
        text
    }

    /// Parses a checkpoint body (a note's text).
    pub fn parse_text(text: &str) -> Result<Self, Error> {
        let body = text
            .strip_suffix('\n')
            .ok_or(Error::MalformedCheckpoint("text must end with a newline"))?;
        // Same rule as every note text, so whatever parses here can also be signed.
        if body.chars().any(|c| c.is_control() && c != '\n') {
            return Err(Error::MalformedCheckpoint(
                "control character in checkpoint text",
            ));
        }
        let mut lines = body.split('\n');
        let origin_line = lines.next().unwrap_or_default();
        let origin = Origin::new(origin_line)?;
        let size_line = lines
            .next()
            .ok_or(Error::MalformedCheckpoint("missing tree size line"))?;
        let size = parse_decimal(size_line)
            .map(TreeSize)
            .ok_or(Error::MalformedCheckpoint(
                "tree size must be a decimal without leading zeros",
            ))?;
        let root_line = lines
            .next()
            .ok_or(Error::MalformedCheckpoint("missing root hash line"))?;
        let root = Hash::from_base64(root_line)
            .map_err(|_| Error::MalformedCheckpoint("root hash must be 32 bytes in base64"))?;
        let mut extensions = Vec::new();
        for line in lines {
            if line.is_empty() {
                return Err(Error::MalformedCheckpoint(
                    "extension lines must not be empty",
                ));
            }
            if line.len() > EXTENSION_BYTES_MAX {
                return Err(Error::MalformedCheckpoint("extension line too long"));
            }
            if extensions.len() == EXTENSION_LINES_MAX {
                return Err(Error::MalformedCheckpoint("too many extension lines"));
            }
            extensions.push(line.to_owned());
        }
        Ok(Self {
            origin,
            size,
            root,
            extensions,
        })
    }

    /// Signs the checkpoint with each signer.
    pub fn sign(&self, signers: &[&dyn NoteSigner]) -> Result<SignedCheckpoint, Error> {
        for line in &self.extensions {
            if line.is_empty() || line.contains('\n') || line.len() > EXTENSION_BYTES_MAX {
                return Err(Error::Signing("invalid extension line"));
            }
        }
        let note = Note::sign(&self.to_text(), signers)?;
        Ok(SignedCheckpoint {
            note,
            checkpoint: self.clone(),
        })
    }
}

/// A decimal in `0..=2^63-1` (Go's `int64` sizes and indices) without sign or leading
/// zeros, as checkpoints and receipts require.
pub(crate) fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 19 || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok().filter(|&n| n <= TREE_SIZE_MAX)
}

/// Whom to trust for one log: its origin and "at least `quorum` of these keys".
#[derive(Debug, Clone)]
pub struct TrustPolicy {
    origin: Origin,
    verifiers: Vec<VerifierKey>,
    quorum: usize,
}

impl TrustPolicy {
    /// A policy for `origin`. Fails if `quorum` is 0, exceeds the number of keys, or if a
    /// key is listed twice (it could otherwise count twice).
    pub fn new(origin: Origin, verifiers: Vec<VerifierKey>, quorum: usize) -> Result<Self, Error> {
        check_policy(&verifiers, quorum)?;
        Ok(Self {
            origin,
            verifiers,
            quorum,
        })
    }

    /// Trusted origin.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// Trusted keys.
    pub fn verifiers(&self) -> &[VerifierKey] {
        &self.verifiers
    }

    /// Signatures required.
    pub fn quorum(&self) -> usize {
        self.quorum
    }
}

/// A checkpoint as received: parsed, signatures not yet checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    note: Note,
    checkpoint: Checkpoint,
}

impl SignedCheckpoint {
    /// Parses a signed checkpoint note. Checks the grammar only.
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        let note = Note::parse(bytes)?;
        let checkpoint = Checkpoint::parse_text(note.text())?;
        Ok(Self { note, checkpoint })
    }

    /// The (unverified) body.
    pub fn unverified_checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The underlying note.
    pub fn note(&self) -> &Note {
        &self.note
    }

    /// Adds (or replaces) one signature, as a cosigning authority does.
    pub fn add_signature(&mut self, signer: &dyn NoteSigner) -> Result<(), Error> {
        self.note.add_signature(signer)
    }

    /// Adds a signature line received from elsewhere (see [`Note::push_signature`]).
    pub fn push_signature(&mut self, signature: crate::NoteSignature) -> Result<(), Error> {
        self.note.push_signature(signature)
    }

    /// The encoded signed note.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.note.to_bytes()
    }

    /// Checks origin and signatures against `policy`.
    pub fn verify(&self, policy: &TrustPolicy) -> Result<VerifiedCheckpoint, Error> {
        if self.checkpoint.origin != policy.origin {
            return Err(Error::WrongOrigin {
                expected: policy.origin.to_string(),
                found: self.checkpoint.origin.to_string(),
            });
        }
        let verified = self.note.verify(&policy.verifiers, policy.quorum)?;
        Ok(VerifiedCheckpoint {
            checkpoint: self.checkpoint.clone(),
            note: verified,
            bytes: self.to_bytes(),
        })
    }
}

/// A checkpoint whose origin and signatures met a [`TrustPolicy`].
#[derive(Debug, Clone)]
pub struct VerifiedCheckpoint {
    checkpoint: Checkpoint,
    note: VerifiedNote,
    bytes: Vec<u8>,
}

impl VerifiedCheckpoint {
    /// The verified body.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// Tree size.
    pub fn size(&self) -> TreeSize {
        self.checkpoint.size
    }

    /// Root hash.
    pub fn root(&self) -> &Hash {
        &self.checkpoint.root
    }

    /// Hash suite (from the origin).
    pub fn suite(&self) -> HashSuite {
        self.checkpoint.origin.suite()
    }

    /// Keys whose signatures verified.
    pub fn signers(&self) -> &[VerifierKey] {
        self.note.signers()
    }

    /// The signed note as received, for storage or forwarding.
    pub fn to_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use crate::{KeyName, SignerKey};

    const SPEC_CHECKPOINT_TEXT: &str =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

    #[test]
    fn parses_the_spec_example_body() {
        let c = Checkpoint::parse_text(SPEC_CHECKPOINT_TEXT).unwrap();
        assert_eq!(c.origin.as_str(), "example.com/behind-the-sofa");
        assert_eq!(c.size, TreeSize(20_852_163));
        assert_eq!(c.to_text(), SPEC_CHECKPOINT_TEXT);
    }

    #[test]
    fn malformed_bodies_are_rejected() {
        let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
        for (text, want) in [
            (format!("o\n1\n{root}"), "newline"),
            (format!("\n1\n{root}\n"), "origin"),
            ("o\n1\n".to_owned(), "root hash line"),
            ("o\n".to_owned(), "tree size line"),
            (format!("o\n01\n{root}\n"), "leading zeros"),
            (format!("o\n-1\n{root}\n"), "decimal"),
            (format!("o\n9223372036854775808\n{root}\n"), "decimal"),
            (format!("o\n1\n{root}x\n"), "base64"),
            (format!("o\n1\n{root}\n\n"), "empty"),
            (format!("o o\n1\n{root}\n"), "spaces"),
            (format!("o\n1\n{root}\next\r\n"), "control character"),
        ] {
            let err = Checkpoint::parse_text(&text).unwrap_err().to_string();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }

    #[test]
    fn verify_checks_origin_and_quorum() {
        let keys: Vec<SignerKey> = (1..=3)
            .map(|i| {
                SignerKey::ed25519_from_seed(
                    KeyName::new(&format!("n{i}.example")).unwrap(),
                    &[i; 32],
                )
            })
            .collect();
        let vks: Vec<VerifierKey> = keys.iter().map(|k| k.verifier_key().clone()).collect();
        let c = Checkpoint {
            origin: Origin::new("ledger.example/v1").unwrap(),
            size: TreeSize(3),
            root: Hash([9; 32]),
            extensions: vec!["ext line".into()],
        };
        let signed = c.sign(&[&keys[0], &keys[2]]).unwrap();
        let parsed = SignedCheckpoint::parse(&signed.to_bytes()).unwrap();
        let policy = TrustPolicy::new(c.origin.clone(), vks.clone(), 2).unwrap();
        let v = parsed.verify(&policy).unwrap();
        assert_eq!(v.checkpoint(), &c);
        assert_eq!(v.signers().len(), 2);
        let strict = TrustPolicy::new(c.origin.clone(), vks.clone(), 3).unwrap();
        assert!(matches!(
            parsed.verify(&strict),
            Err(Error::QuorumNotMet { .. })
        ));
        let other = TrustPolicy::new(Origin::new("other.example").unwrap(), vks, 1).unwrap();
        assert!(matches!(
            parsed.verify(&other),
            Err(Error::WrongOrigin { .. })
        ));
    }
}
