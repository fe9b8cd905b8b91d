//! Checkpoint cosigning: every authority signs the checkpoint of each finalized tree size
//! with its own note key, gathers the others' signatures, and keeps the first checkpoint
//! with a quorum of them as the one receipts are issued against.
//!
//! Two rules make the signatures worth something:
//! - an authority never signs a checkpoint inconsistent with one it signed before
//!   ([`Cosigner::sign_own`] demands a consistency proof from the last signed tree);
//! - a signature by an authority on a root other than the one this node finalized for the
//!   same size is kept, with our own signed checkpoint, as [`Misbehaviour`] evidence that
//!   anyone can check with the authorities' public keys.

use std::collections::BTreeMap;

use affix_merkle::{Hash, TreeSize, verify_consistency};
use affix_note::{Checkpoint, NoteSigner, Origin, SignedCheckpoint, VerifierKey};

use crate::Error;

/// Most tree sizes with signatures buffered ahead of this node's own finalization.
const BUFFERED_SIZES_MAX: usize = 256;

/// Most misbehaviour reports kept in memory (the node also persists them).
const MISBEHAVIOUR_REPORTS_MAX: usize = 1024;

/// Portable proof that an authority signed a checkpoint conflicting with the finalized
/// log: the same origin and tree size, a different root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misbehaviour {
    /// Authority whose signature conflicts.
    pub authority: String,
    /// Tree size of both checkpoints.
    pub size: u64,
    /// The conflicting checkpoint as received, with the offender's valid signature.
    pub theirs: Vec<u8>,
    /// This node's signed checkpoint for the same size.
    pub ours: Vec<u8>,
}

impl Misbehaviour {
    /// A self-contained text: both signed notes, each verifiable on its own.
    pub fn to_text(&self) -> String {
        format!(
            "affix misbehaviour v1\nauthority {}\nsize {}\n\n-- conflicting checkpoint --\n{}\n-- finalized checkpoint --\n{}",
            self.authority,
            self.size,
            String::from_utf8_lossy(&self.theirs),
            String::from_utf8_lossy(&self.ours)
        )
    }
}

/// What accepting a cosignature did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CosignOutcome {
    /// New valid signatures were added; not yet a quorum.
    Added {
        /// Tree size.
        size: u64,
        /// Distinct authority signatures now held.
        signatures: usize,
    },
    /// This signature completed a quorum: the checkpoint receipts can use.
    Quorum(SignedCheckpoint),
    /// Nothing new (signatures already held, or for a size already superseded).
    Nothing,
    /// For a size this node has not finalized yet; kept until it has.
    Buffered,
    /// A conflicting signature: evidence of misbehaviour.
    Conflict(Misbehaviour),
}

struct Collecting {
    checkpoint: SignedCheckpoint,
    ours: Vec<u8>,
    /// Whether the quorum for this size was already reported.
    complete: bool,
}

/// One authority's view of checkpoint signing.
pub struct Cosigner {
    origin: Origin,
    authorities: Vec<(String, VerifierKey)>,
    quorum: usize,
    last_signed: Option<(u64, Hash)>,
    collecting: BTreeMap<u64, Collecting>,
    buffered: BTreeMap<u64, Vec<Vec<u8>>>,
    latest_quorum: Option<SignedCheckpoint>,
    misbehaviour: Vec<Misbehaviour>,
}

impl Cosigner {
    /// A cosigner for the consortium's origin, authorities (name and note key) and quorum.
    /// `last_signed` is the (size, root) of the last checkpoint this node ever signed, from
    /// its own storage.
    pub fn new(
        origin: Origin,
        authorities: Vec<(String, VerifierKey)>,
        quorum: usize,
        last_signed: Option<(u64, Hash)>,
    ) -> Self {
        Self {
            origin,
            authorities,
            quorum,
            last_signed,
            collecting: BTreeMap::new(),
            buffered: BTreeMap::new(),
            latest_quorum: None,
            misbehaviour: Vec::new(),
        }
    }

    /// The newest checkpoint with a quorum of signatures, if any.
    pub fn latest_quorum(&self) -> Option<&SignedCheckpoint> {
        self.latest_quorum.as_ref()
    }

    /// Misbehaviour seen so far.
    pub fn misbehaviour(&self) -> &[Misbehaviour] {
        &self.misbehaviour
    }

    /// The (size, root) this node last signed.
    pub fn last_signed(&self) -> Option<(u64, Hash)> {
        self.last_signed
    }

    /// Signs the checkpoint of a tree this node finalized. `proof` must prove the tree
    /// consistent with the last one this node signed (empty if none, or same size); a
    /// checkpoint that is not is refused. Returns this node's signed checkpoint (to send
    /// to the other authorities) and, if its own signature completes a quorum (a
    /// one-authority consortium, or others' signatures were buffered), that checkpoint.
    pub fn sign_own(
        &mut self,
        signer: &dyn NoteSigner,
        size: u64,
        root: Hash,
        proof: &[Hash],
    ) -> Result<(SignedCheckpoint, Option<SignedCheckpoint>), Error> {
        if let Some((last_size, last_root)) = self.last_signed {
            if size < last_size {
                return Err(Error::InconsistentCheckpoint {
                    size,
                    reason: format!("smaller than the last signed size {last_size}"),
                });
            }
            verify_consistency(
                self.origin.suite(),
                TreeSize(last_size),
                TreeSize(size),
                &last_root,
                &root,
                proof,
            )
            .map_err(|e| Error::InconsistentCheckpoint {
                size,
                reason: e.to_string(),
            })?;
        }
        let checkpoint = Checkpoint {
            origin: self.origin.clone(),
            size: TreeSize(size),
            root,
            extensions: Vec::new(),
        };
        let own = checkpoint.sign(&[signer])?;
        self.last_signed = Some((size, root));
        self.collecting.insert(
            size,
            Collecting {
                checkpoint: own.clone(),
                ours: own.to_bytes(),
                complete: false,
            },
        );
        // Older sizes can no longer matter for receipts once a newer one is collecting,
        // except to finish their quorum; keep a bounded window.
        while self.collecting.len() > BUFFERED_SIZES_MAX {
            self.collecting.pop_first();
        }
        let mut quorum = self.check_quorum(size);
        for bytes in self.buffered.remove(&size).unwrap_or_default() {
            if let Ok(CosignOutcome::Quorum(q)) = self.accept(&bytes) {
                quorum = Some(q);
            }
        }
        Ok((own, quorum))
    }

    /// Accepts a signed checkpoint from another authority (it may carry several
    /// signatures). Signatures from unknown keys are ignored; an invalid signature by a
    /// known authority is an error.
    pub fn accept(&mut self, bytes: &[u8]) -> Result<CosignOutcome, Error> {
        let received = SignedCheckpoint::parse(bytes)?;
        let body = received.unverified_checkpoint().clone();
        if body.origin != self.origin {
            return Err(Error::BadCosignature(format!(
                "origin {} is not ours",
                body.origin
            )));
        }
        if !body.extensions.is_empty() {
            return Err(Error::BadCosignature(
                "checkpoint has extension lines".into(),
            ));
        }
        // Which known authorities signed, validly, this exact text.
        let mut valid = Vec::new();
        for sig in received.note().signatures() {
            let Some((name, key)) = self
                .authorities
                .iter()
                .find(|(_, k)| *k.name() == sig.name && k.id() == sig.id)
            else {
                continue;
            };
            if !key.verify(received.note().text().as_bytes(), &sig.signature) {
                return Err(Error::BadCosignature(format!(
                    "invalid signature by {name}"
                )));
            }
            valid.push((name.clone(), sig.clone()));
        }
        if valid.is_empty() {
            return Err(Error::BadCosignature(
                "no signature by a consortium authority".into(),
            ));
        }
        let size = body.size.0;
        let Some(collecting) = self.collecting.get_mut(&size) else {
            if self.last_signed.is_some_and(|(s, _)| size <= s) {
                return Ok(CosignOutcome::Nothing);
            }
            if self.buffered.len() >= BUFFERED_SIZES_MAX && !self.buffered.contains_key(&size) {
                return Ok(CosignOutcome::Nothing);
            }
            let slot = self.buffered.entry(size).or_default();
            if slot.len() < self.authorities.len() {
                slot.push(bytes.to_vec());
            }
            return Ok(CosignOutcome::Buffered);
        };
        if collecting.checkpoint.unverified_checkpoint().root != body.root {
            let report = Misbehaviour {
                authority: valid[0].0.clone(),
                size,
                theirs: bytes.to_vec(),
                ours: collecting.ours.clone(),
            };
            if self.misbehaviour.len() < MISBEHAVIOUR_REPORTS_MAX {
                self.misbehaviour.push(report.clone());
            }
            return Ok(CosignOutcome::Conflict(report));
        }
        // Same text: merge the signatures into our note.
        let before = collecting.checkpoint.note().signatures().len();
        for (_, sig) in valid {
            let known = collecting
                .checkpoint
                .note()
                .signatures()
                .iter()
                .any(|s| s.name == sig.name && s.id == sig.id);
            if !known {
                collecting.checkpoint.push_signature(sig)?;
            }
        }
        let note = collecting.checkpoint.note();
        if note.signatures().len() == before {
            return Ok(CosignOutcome::Nothing);
        }
        let signatures = note.signatures().len();
        Ok(match self.check_quorum(size) {
            Some(q) => CosignOutcome::Quorum(q),
            None => CosignOutcome::Added { size, signatures },
        })
    }

    /// If the checkpoint for `size` has a quorum now, records it as the latest (when newer)
    /// and returns it; a quorum is reported once.
    fn check_quorum(&mut self, size: u64) -> Option<SignedCheckpoint> {
        let collecting = self.collecting.get_mut(&size)?;
        if collecting.complete {
            // Reached earlier; later signatures only add to it.
            return None;
        }
        let keys: Vec<VerifierKey> = self.authorities.iter().map(|(_, k)| k.clone()).collect();
        collecting
            .checkpoint
            .note()
            .verify(&keys, self.quorum)
            .ok()?;
        collecting.complete = true;
        let checkpoint = collecting.checkpoint.clone();
        if self
            .latest_quorum
            .as_ref()
            .is_none_or(|q| q.unverified_checkpoint().size.0 < size)
        {
            self.latest_quorum = Some(checkpoint.clone());
        }
        // Sizes below a quorum checkpoint no longer need collecting.
        self.collecting.retain(|&s, _| s >= size);
        Some(checkpoint)
    }
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use affix_merkle::{HashSuite, MemoryTree, prove_consistency, tree_root};
    use affix_note::{KeyName, SignerKey};

    fn keys() -> Vec<SignerKey> {
        (0..4u8)
            .map(|i| {
                SignerKey::ed25519_from_seed(KeyName::new(&format!("a{i}.test")).unwrap(), &[i; 32])
            })
            .collect()
    }

    fn cosigners(keys: &[SignerKey]) -> Vec<Cosigner> {
        let authorities: Vec<(String, VerifierKey)> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (format!("a{i}"), k.verifier_key().clone()))
            .collect();
        (0..keys.len())
            .map(|_| {
                Cosigner::new(
                    Origin::new("ledger.test/v1").unwrap(),
                    authorities.clone(),
                    3,
                    None,
                )
            })
            .collect()
    }

    fn tree(n: u64) -> MemoryTree {
        let mut t = MemoryTree::new(HashSuite::Sha256);
        for i in 0..n {
            t.append(HashSuite::Sha256.leaf_hash(&i.to_be_bytes()))
                .unwrap();
        }
        t
    }

    #[test]
    fn three_of_four_signatures_make_a_quorum_checkpoint() {
        let keys = keys();
        let mut nodes = cosigners(&keys);
        let t = tree(10);
        let own: Vec<SignedCheckpoint> = (0..4)
            .map(|i| nodes[i].sign_own(&keys[i], 10, t.root(), &[]).unwrap().0)
            .collect();
        assert!(matches!(
            nodes[0].accept(&own[1].to_bytes()).unwrap(),
            CosignOutcome::Added { signatures: 2, .. }
        ));
        let CosignOutcome::Quorum(q) = nodes[0].accept(&own[2].to_bytes()).unwrap() else {
            panic!("no quorum")
        };
        assert_eq!(
            nodes[0].accept(&own[1].to_bytes()).unwrap(),
            CosignOutcome::Nothing
        );
        // The quorum checkpoint verifies under the consortium policy.
        let policy = affix_note::TrustPolicy::new(
            Origin::new("ledger.test/v1").unwrap(),
            keys.iter().map(|k| k.verifier_key().clone()).collect(),
            3,
        )
        .unwrap();
        let v = SignedCheckpoint::parse(&q.to_bytes())
            .unwrap()
            .verify(&policy)
            .unwrap();
        assert_eq!(v.signers().len(), 3);
        assert_eq!(nodes[0].latest_quorum(), Some(&q));
    }

    #[test]
    fn a_whole_quorum_checkpoint_completes_at_once() {
        // A node that was down receives a checkpoint already signed by the other three.
        let keys = keys();
        let mut nodes = cosigners(&keys);
        let t = tree(7);
        let own0 = nodes[0].sign_own(&keys[0], 7, t.root(), &[]).unwrap().0;
        let mut whole = nodes[1].sign_own(&keys[1], 7, t.root(), &[]).unwrap().0;
        whole.add_signature(&keys[2]).unwrap();
        whole.add_signature(&keys[3]).unwrap();
        assert!(matches!(
            nodes[0].accept(&whole.to_bytes()).unwrap(),
            CosignOutcome::Quorum(_)
        ));
        assert_eq!(
            nodes[0].accept(&own0.to_bytes()).unwrap(),
            CosignOutcome::Nothing
        );
        assert_eq!(
            nodes[0].latest_quorum().unwrap().note().signatures().len(),
            4,
            "all four signatures are kept"
        );
    }

    #[test]
    fn signatures_arriving_early_are_buffered() {
        let keys = keys();
        let mut nodes = cosigners(&keys);
        let t = tree(5);
        let s1 = nodes[1].sign_own(&keys[1], 5, t.root(), &[]).unwrap().0;
        let s2 = nodes[2].sign_own(&keys[2], 5, t.root(), &[]).unwrap().0;
        assert_eq!(
            nodes[0].accept(&s1.to_bytes()).unwrap(),
            CosignOutcome::Buffered
        );
        assert_eq!(
            nodes[0].accept(&s2.to_bytes()).unwrap(),
            CosignOutcome::Buffered
        );
        let (_, quorum) = nodes[0].sign_own(&keys[0], 5, t.root(), &[]).unwrap();
        assert!(quorum.is_some());
    }

    #[test]
    fn refuses_to_sign_an_inconsistent_checkpoint() {
        let keys = keys();
        let mut nodes = cosigners(&keys);
        let t = tree(20);
        let r10 = tree_root(HashSuite::Sha256, TreeSize(10), &t).unwrap();
        nodes[0].sign_own(&keys[0], 10, r10, &[]).unwrap();
        let proof = prove_consistency(HashSuite::Sha256, TreeSize(10), TreeSize(20), &t).unwrap();
        // A forked tree of 20 leaves: the proof does not link it to what we signed.
        let forked = tree(21).root();
        assert!(matches!(
            nodes[0].sign_own(&keys[0], 20, forked, &proof),
            Err(Error::InconsistentCheckpoint { .. })
        ));
        assert!(matches!(
            nodes[0].sign_own(&keys[0], 9, r10, &[]),
            Err(Error::InconsistentCheckpoint { .. })
        ));
        assert!(matches!(
            nodes[0].sign_own(&keys[0], 10, forked, &[]),
            Err(Error::InconsistentCheckpoint { .. })
        ));
        nodes[0].sign_own(&keys[0], 20, t.root(), &proof).unwrap();
        assert_eq!(nodes[0].last_signed(), Some((20, t.root())));
    }

    #[test]
    fn a_conflicting_signature_is_kept_as_evidence() {
        let keys = keys();
        let mut nodes = cosigners(&keys);
        let honest = tree(8).root();
        let forged = tree(9).root();
        nodes[0].sign_own(&keys[0], 8, honest, &[]).unwrap();
        // Authority 3 is Byzantine: it signs another root for size 8.
        let bad = Checkpoint {
            origin: Origin::new("ledger.test/v1").unwrap(),
            size: TreeSize(8),
            root: forged,
            extensions: vec![],
        }
        .sign(&[&keys[3]])
        .unwrap();
        let CosignOutcome::Conflict(m) = nodes[0].accept(&bad.to_bytes()).unwrap() else {
            panic!("conflict not detected")
        };
        assert_eq!(m.authority, "a3");
        assert_eq!(nodes[0].misbehaviour().len(), 1);
        // Both halves verify on their own.
        SignedCheckpoint::parse(&m.theirs)
            .unwrap()
            .note()
            .verify(&[keys[3].verifier_key().clone()], 1)
            .unwrap();
        SignedCheckpoint::parse(&m.ours)
            .unwrap()
            .note()
            .verify(&[keys[0].verifier_key().clone()], 1)
            .unwrap();
        assert!(m.to_text().contains("authority a3"));
        // Forged or foreign signatures are refused outright.
        let stranger = SignerKey::ed25519_from_seed(KeyName::new("x.test").unwrap(), &[50; 32]);
        let foreign = Checkpoint {
            origin: Origin::new("ledger.test/v1").unwrap(),
            size: TreeSize(8),
            root: honest,
            extensions: vec![],
        }
        .sign(&[&stranger])
        .unwrap();
        assert!(matches!(
            nodes[0].accept(&foreign.to_bytes()),
            Err(Error::BadCosignature(_))
        ));
        let mut tampered = String::from_utf8(bad.to_bytes()).unwrap();
        tampered = tampered.replacen("\n8\n", "\n9\n", 1);
        assert!(matches!(
            nodes[0].accept(tampered.as_bytes()),
            Err(Error::BadCosignature(_))
        ));
        assert!(nodes[0].accept(b"garbage").is_err());
    }
}
