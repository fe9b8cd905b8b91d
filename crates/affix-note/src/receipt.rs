//! `c2sp.org/tlog-proof@v1`: the offline receipt.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64 entry bytes>        (optional; Affix always writes it)
//! index <decimal>
//! <base64 hash>                     (inclusion proof, leaf sibling first)
//! ...
//!
//! <signed checkpoint, verbatim>
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use affix_merkle::{Hash, LeafIndex, MAX_PROOF_HASHES, verify_inclusion};

use crate::checkpoint::parse_decimal;
use crate::{Error, NOTE_BYTES_MAX, SignedCheckpoint, TrustPolicy, VerifiedCheckpoint};

/// First line of every receipt.
pub const RECEIPT_HEADER: &str = "c2sp.org/tlog-proof@v1";

/// Largest `extra` payload accepted, in bytes: one tlog-tiles entry (u16 length).
pub const EXTRA_BYTES_MAX: usize = 65_535;

/// Largest receipt accepted: a full note plus extra data and proof lines.
const RECEIPT_BYTES_MAX: usize = NOTE_BYTES_MAX + EXTRA_BYTES_MAX * 4 / 3 + 8 * 1024;

/// A receipt as received: unverified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The entry's bytes (for Affix, the evidence record), if carried.
    pub extra: Option<Vec<u8>>,
    /// Index of the entry in the log.
    pub index: LeafIndex,
    /// Inclusion proof of the entry in the checkpoint's tree.
    pub proof: Vec<Hash>,
    /// The log's signed checkpoint.
    pub checkpoint: SignedCheckpoint,
}

impl Receipt {
    /// Encodes the receipt.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::from(RECEIPT_HEADER);
        out.push('\n');
        if let Some(extra) = &self.extra {
            out.push_str("extra ");
            out.push_str(&STANDARD.encode(extra));
            out.push('\n');
        }
        out.push_str(&format!("index {}\n", self.index.0));
        for h in &self.proof {
            out.push_str(&h.to_base64());
            out.push('\n');
        }
        out.push('\n');
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.checkpoint.to_bytes());
        bytes
    }

    /// Parses a receipt. Checks the grammar only; trusts nothing.
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() > RECEIPT_BYTES_MAX {
            return Err(Error::TooLarge {
                what: "receipt",
                actual: bytes.len(),
                limit: RECEIPT_BYTES_MAX,
            });
        }
        // The proof part is ASCII and ends at the first blank line; the rest is the
        // checkpoint note, parsed by its own rules.
        let split = bytes
            .windows(2)
            .position(|w| w == b"\n\n")
            .ok_or(Error::MalformedReceipt(
                "no blank line before the checkpoint",
            ))?;
        let head = std::str::from_utf8(&bytes[..split])
            .map_err(|_| Error::MalformedReceipt("proof lines are not UTF-8"))?;
        let mut lines = head.split('\n').peekable();
        if lines.next() != Some(RECEIPT_HEADER) {
            return Err(Error::MalformedReceipt(
                "first line must be c2sp.org/tlog-proof@v1",
            ));
        }
        let mut extra = None;
        if let Some(b64) = lines.peek().and_then(|line| line.strip_prefix("extra ")) {
            if b64.is_empty() || b64.len() > EXTRA_BYTES_MAX.div_ceil(3) * 4 {
                return Err(Error::MalformedReceipt("extra data is empty or too large"));
            }
            let data = STANDARD
                .decode(b64)
                .map_err(|_| Error::MalformedReceipt("extra data is not valid base64"))?;
            extra = Some(data);
            lines.next();
        }
        let index_line = lines
            .next()
            .ok_or(Error::MalformedReceipt("missing index line"))?;
        let index = index_line
            .strip_prefix("index ")
            .and_then(parse_decimal)
            .ok_or(Error::MalformedReceipt(
                "index line must be 'index <decimal>'",
            ))?;
        let mut proof = Vec::new();
        for line in lines {
            if proof.len() == MAX_PROOF_HASHES {
                return Err(Error::MalformedReceipt(
                    "inclusion proof has too many hashes",
                ));
            }
            let h = Hash::from_base64(line)
                .map_err(|_| Error::MalformedReceipt("proof line is not a base64 hash"))?;
            proof.push(h);
        }
        let checkpoint = SignedCheckpoint::parse(&bytes[split + 2..])?;
        Ok(Self {
            extra,
            index: LeafIndex(index),
            proof,
            checkpoint,
        })
    }

    /// Verifies the receipt for the entry carried in its `extra` line.
    pub fn verify(&self, policy: &TrustPolicy) -> Result<VerifiedReceipt, Error> {
        let entry = self.extra.as_deref().ok_or(Error::MissingEntry)?;
        self.verify_entry(policy, entry)
    }

    /// Verifies the receipt for `entry`, supplied out of band. If the receipt also
    /// carries `extra` bytes they must be the same.
    pub fn verify_entry(
        &self,
        policy: &TrustPolicy,
        entry: &[u8],
    ) -> Result<VerifiedReceipt, Error> {
        if self.extra.as_deref().is_some_and(|e| e != entry) {
            return Err(Error::EntryMismatch);
        }
        let checkpoint = self.checkpoint.verify(policy)?;
        let suite = checkpoint.suite();
        let leaf_hash = suite.leaf_hash(entry);
        verify_inclusion(
            suite,
            &leaf_hash,
            self.index,
            checkpoint.size(),
            &self.proof,
            checkpoint.root(),
        )?;
        Ok(VerifiedReceipt {
            checkpoint,
            index: self.index,
            entry: entry.to_vec(),
            leaf_hash,
        })
    }
}

/// A receipt that checked out: the entry is at `index` in a tree whose checkpoint met the
/// policy.
#[derive(Debug, Clone)]
pub struct VerifiedReceipt {
    checkpoint: VerifiedCheckpoint,
    index: LeafIndex,
    entry: Vec<u8>,
    leaf_hash: Hash,
}

impl VerifiedReceipt {
    /// The verified checkpoint the entry is included in.
    pub fn checkpoint(&self) -> &VerifiedCheckpoint {
        &self.checkpoint
    }

    /// Position of the entry.
    pub fn index(&self) -> LeafIndex {
        self.index
    }

    /// The entry's bytes.
    pub fn entry(&self) -> &[u8] {
        &self.entry
    }

    /// The entry's leaf hash.
    pub fn leaf_hash(&self) -> &Hash {
        &self.leaf_hash
    }
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use crate::{Checkpoint, KeyName, NoteSigner, Origin, SignerKey};
    use affix_merkle::{HashSuite, MemoryTree, TreeSize, prove_inclusion};

    fn setup(origin: &str) -> (MemoryTree, Vec<Vec<u8>>, SignerKey, TrustPolicy) {
        let origin = Origin::new(origin).unwrap();
        let suite = origin.suite();
        let mut tree = MemoryTree::new(suite);
        let entries: Vec<Vec<u8>> = (0..10u8).map(|i| vec![i; usize::from(i) + 1]).collect();
        for e in &entries {
            tree.append(suite.leaf_hash(e)).unwrap();
        }
        let key = SignerKey::ed25519_from_seed(KeyName::new(origin.as_str()).unwrap(), &[4; 32]);
        let policy = TrustPolicy::new(origin, vec![key.verifier_key().clone()], 1).unwrap();
        (tree, entries, key, policy)
    }

    fn receipt(
        tree: &MemoryTree,
        entries: &[Vec<u8>],
        key: &SignerKey,
        policy: &TrustPolicy,
        i: u64,
    ) -> Receipt {
        let c = Checkpoint {
            origin: policy.origin().clone(),
            size: tree.size(),
            root: tree.root(),
            extensions: vec![],
        };
        Receipt {
            extra: Some(entries[usize::try_from(i).unwrap()].clone()),
            index: LeafIndex(i),
            proof: prove_inclusion(tree.suite(), LeafIndex(i), tree.size(), tree).unwrap(),
            checkpoint: c.sign(&[key]).unwrap(),
        }
    }

    #[test]
    fn round_trip_and_verify_both_suites() {
        for origin in ["ledger.example/v1", "ledger.example/v1/sm3"] {
            let (tree, entries, key, policy) = setup(origin);
            for i in 0..10 {
                let r = receipt(&tree, &entries, &key, &policy, i);
                let bytes = r.to_bytes();
                let parsed = Receipt::parse(&bytes).unwrap();
                assert_eq!(parsed, r);
                let v = parsed.verify(&policy).unwrap();
                assert_eq!(v.index(), LeafIndex(i));
                assert_eq!(v.checkpoint().size(), TreeSize(10));
                assert!(parsed.verify_entry(&policy, &entries[0]).is_err() || i == 0);
            }
        }
    }

    #[test]
    fn wrong_entry_index_or_suite_fails() {
        let (tree, entries, key, policy) = setup("ledger.example/v1");
        let mut r = receipt(&tree, &entries, &key, &policy, 3);
        r.extra = Some(entries[4].clone());
        assert!(matches!(r.verify(&policy), Err(Error::Inclusion(_))));
        let mut r = receipt(&tree, &entries, &key, &policy, 3);
        r.index = LeafIndex(2);
        assert!(matches!(r.verify(&policy), Err(Error::Inclusion(_))));
        let r = receipt(&tree, &entries, &key, &policy, 3);
        assert_eq!(
            r.verify_entry(&policy, &entries[4]).unwrap_err(),
            Error::EntryMismatch
        );
        let mut no_extra = r.clone();
        no_extra.extra = None;
        assert_eq!(no_extra.verify(&policy).unwrap_err(), Error::MissingEntry);
        no_extra.verify_entry(&policy, &entries[3]).unwrap();
        // The same tree hashed with SHA-256 presented under an SM3 origin fails.
        let sm3_policy = TrustPolicy::new(
            Origin::new("ledger.example/v1/sm3").unwrap(),
            vec![key.verifier_key().clone()],
            1,
        )
        .unwrap();
        assert!(r.verify(&sm3_policy).is_err());
    }

    #[test]
    fn malformed_receipts_get_specific_errors() {
        let (tree, entries, key, policy) = setup("ledger.example/v1");
        let good =
            String::from_utf8(receipt(&tree, &entries, &key, &policy, 3).to_bytes()).unwrap();
        for (text, want) in [
            (
                good.replace(RECEIPT_HEADER, "c2sp.org/tlog-proof@v2"),
                "first line",
            ),
            (good.replace("index 3", "index 03"), "index line"),
            (good.replace("index 3", "index -3"), "index line"),
            (good.replace("index 3\n", ""), "index line"),
            (good.replacen("\n\n", "\n", 1), "not a base64 hash"),
            (good.split("\n\n").next().unwrap().to_owned(), "blank line"),
            (good.replace("extra ", "extra !"), "extra"),
            (
                good.replace("index 3\n", "index 3\nnot-a-hash\n"),
                "base64 hash",
            ),
        ] {
            let err = Receipt::parse(text.as_bytes()).unwrap_err().to_string();
            assert!(err.contains(want), "{err} should mention {want}");
        }
        let long_proof = good.replace(
            "index 3\n",
            &format!(
                "index 3\n{}",
                format!("{}\n", Hash([0; 32]).to_base64()).repeat(65)
            ),
        );
        assert!(
            Receipt::parse(long_proof.as_bytes())
                .unwrap_err()
                .to_string()
                .contains("too many")
        );
        assert!(Receipt::parse(&vec![b'a'; RECEIPT_BYTES_MAX + 1]).is_err());
        let _ = HashSuite::Sha256;
    }
}
