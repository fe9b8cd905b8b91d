//! The node's ledger state: the pure chain and cosigner, plus everything that touches
//! disk — the tile-layout log, finalization certificates, signed checkpoints and
//! misbehaviour reports. Consensus-engine independent: the engine adapter calls
//! [`Ledger::propose`], [`Ledger::verify`] and [`Ledger::apply_finalized`].

use std::collections::{HashMap, HashSet, VecDeque};
use std::fs::{self, File, OpenOptions};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use affix_evidence::EvidenceRecord;
use affix_ledger::{Block, Chain, CosignOutcome, Cosigner, FinalizedTip, Genesis, LeafLookup};
use affix_logstore::LogStore;
use affix_merkle::{Hash, HashSuite, TreeSize};
use affix_note::{NoteSigner, SignedCheckpoint, SignerKey, TrustPolicy};

use crate::Error;

/// Most records waiting in the mempool.
pub const MAX_MEMPOOL_RECORDS: usize = 200_000;

/// Most bytes waiting in the mempool.
pub const MAX_MEMPOOL_BYTES: usize = 256 * 1024 * 1024;

/// Largest finalization certificate stored.
const MAX_CERTIFICATE_BYTES: usize = 64 * 1024;

/// Finalized leaf hashes → log index.
#[derive(Default)]
struct Leaves(HashMap<Hash, u64>);

impl LeafLookup for Leaves {
    fn contains(&self, leaf_hash: &Hash) -> bool {
        self.0.contains_key(leaf_hash)
    }
}

/// Records submitted to this node and not yet finalized, in arrival order.
#[derive(Default)]
struct Mempool {
    queue: VecDeque<(Hash, Vec<u8>)>,
    ids: HashSet<Hash>,
    bytes: usize,
}

impl Mempool {
    fn remove(&mut self, finalized: &HashSet<Hash>) {
        if finalized.iter().any(|h| self.ids.contains(h)) {
            self.queue.retain(|(h, _)| !finalized.contains(h));
            for h in finalized {
                self.ids.remove(h);
            }
            self.bytes = self.queue.iter().map(|(_, r)| r.len()).sum();
        }
    }
}

/// The outcome of submitting one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted {
    /// Queued; it will be proposed when this node leads.
    Pending {
        /// Leaf hash, the record's identifier.
        leaf_hash: Hash,
    },
    /// Already queued.
    AlreadyPending {
        /// Leaf hash.
        leaf_hash: Hash,
    },
    /// Already in the log.
    Logged {
        /// Leaf hash.
        leaf_hash: Hash,
        /// Its index.
        index: u64,
    },
}

/// Append-only file of finalization certificates: `u64 height || u32 length || bytes`.
struct Finalizations {
    file: File,
    path: PathBuf,
    index: HashMap<u64, (u64, u32)>,
    len: u64,
}

impl Finalizations {
    fn open(path: &Path) -> Result<Self, Error> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(Error::io("open", path))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(Error::io("read", path))?;
        let mut index = HashMap::new();
        let mut at = 0usize;
        // A torn final record (crash mid-write) is cut off.
        while at + 12 <= bytes.len() {
            let mut h = [0u8; 8];
            h.copy_from_slice(&bytes[at..at + 8]);
            let len =
                u32::from_be_bytes([bytes[at + 8], bytes[at + 9], bytes[at + 10], bytes[at + 11]]);
            let end = at + 12 + len as usize;
            if end > bytes.len() {
                break;
            }
            index.insert(u64::from_be_bytes(h), ((at + 12) as u64, len));
            at = end;
        }
        if at != bytes.len() {
            file.set_len(at as u64)
                .map_err(Error::io("truncate", path))?;
        }
        Ok(Self {
            file,
            path: path.to_owned(),
            index,
            len: at as u64,
        })
    }

    fn append(&mut self, height: u64, certificate: &[u8]) -> Result<(), Error> {
        if self.index.contains_key(&height) || certificate.len() > MAX_CERTIFICATE_BYTES {
            return Ok(());
        }
        let len = u32::try_from(certificate.len()).unwrap_or(u32::MAX);
        let mut record = Vec::with_capacity(12 + certificate.len());
        record.extend_from_slice(&height.to_be_bytes());
        record.extend_from_slice(&len.to_be_bytes());
        record.extend_from_slice(certificate);
        self.file
            .write_all(&record)
            .map_err(Error::io("write", &self.path))?;
        self.file
            .sync_data()
            .map_err(Error::io("sync", &self.path))?;
        self.index.insert(height, (self.len + 12, len));
        self.len += record.len() as u64;
        Ok(())
    }

    fn get(&self, height: u64) -> Result<Option<Vec<u8>>, Error> {
        use std::os::unix::fs::FileExt as _;
        let Some(&(offset, len)) = self.index.get(&height) else {
            return Ok(None);
        };
        let mut buf = vec![0u8; len as usize];
        self.file
            .read_exact_at(&mut buf, offset)
            .map_err(Error::io("read", &self.path))?;
        Ok(Some(buf))
    }
}

/// One authority's ledger.
pub struct Ledger {
    genesis: Genesis,
    me: String,
    note_key: SignerKey,
    dir: PathBuf,
    store: LogStore,
    chain: Chain,
    leaves: Leaves,
    mempool: Mempool,
    cosigner: Cosigner,
    quorum: Option<SignedCheckpoint>,
    finalizations: Finalizations,
    /// Our latest signed checkpoint, re-sent to peers until a quorum forms.
    own_checkpoint: Option<Vec<u8>>,
    /// How many of the cosigner's misbehaviour reports are on disk.
    misbehaviour_persisted: usize,
    /// Client submissions not yet forwarded to the other authorities.
    outbox: Vec<Vec<u8>>,
}

impl Ledger {
    /// Opens (or creates) the ledger of authority `me` in `dir`.
    pub fn open(
        genesis: Genesis,
        me: &str,
        note_key: SignerKey,
        dir: &Path,
    ) -> Result<Self, Error> {
        let authority = genesis
            .authority(me)
            .ok_or_else(|| Error::Config(format!("{me} is not an authority of the genesis")))?;
        if *note_key.verifier_key() != authority.note_key {
            return Err(Error::Config(format!(
                "note key does not match {me}'s note_key in the genesis"
            )));
        }
        fs::create_dir_all(dir).map_err(Error::io("create directory", dir))?;
        let log_dir = dir.join("log");
        let store = if log_dir.join("config").exists() {
            LogStore::open(&log_dir)?
        } else {
            LogStore::create(&log_dir, genesis.origin().as_str())?
        };
        if store.origin() != genesis.origin().as_str() {
            return Err(Error::Config(format!(
                "data directory holds log {}, the genesis is for {}",
                store.origin(),
                genesis.origin()
            )));
        }
        let suite = genesis.origin().suite();
        let chain = match FinalizedTip::decode(store.metadata()) {
            Some(tip) => Chain::restore(tip, store.tree().clone()),
            None if store.size().0 == 0 => Chain::new(
                &Block::genesis(genesis.digest(), suite.empty_root()),
                store.tree().clone(),
            )?,
            None => return Err(Error::Config("log has entries but no finalized tip".into())),
        };
        let mut leaves = Leaves::default();
        for (i, h) in store.leaf_hashes()?.into_iter().enumerate() {
            leaves.0.insert(h, i as u64);
        }
        let last_signed = read_signed(&dir.join("signed"))?;
        let authorities = genesis
            .authorities()
            .iter()
            .map(|a| (a.name.clone(), a.note_key.clone()))
            .collect();
        let cosigner = Cosigner::new(
            genesis.origin().clone(),
            authorities,
            genesis.quorum(),
            last_signed,
        );
        let policy = genesis.trust_policy()?;
        let quorum = match store.checkpoint()? {
            Some(bytes) => {
                let c = SignedCheckpoint::parse(&bytes)?;
                c.verify(&policy)?;
                Some(c)
            }
            None => None,
        };
        let finalizations = Finalizations::open(&dir.join("finalizations"))?;
        let mut ledger = Self {
            me: me.to_owned(),
            genesis,
            note_key,
            dir: dir.to_owned(),
            store,
            chain,
            leaves,
            mempool: Mempool::default(),
            cosigner,
            quorum,
            finalizations,
            own_checkpoint: None,
            misbehaviour_persisted: 0,
            outbox: Vec::new(),
        };
        // A crash between appending a block and signing its checkpoint leaves the newest
        // tree unsigned: sign it now.
        if ledger.cosigner.last_signed() != Some((ledger.store.size().0, ledger.store.root())) {
            ledger.sign_current()?;
        }
        Ok(ledger)
    }

    /// This authority's name.
    pub fn name(&self) -> &str {
        &self.me
    }

    /// The consortium.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The hash suite.
    pub fn suite(&self) -> HashSuite {
        self.genesis.origin().suite()
    }

    /// The trust policy receipts verify under.
    pub fn policy(&self) -> Result<TrustPolicy, Error> {
        Ok(self.genesis.trust_policy()?)
    }

    /// The durable log.
    pub fn store(&self) -> &LogStore {
        &self.store
    }

    /// Height of the last finalized (and applied) block.
    pub fn finalized_height(&self) -> u64 {
        self.chain.finalized_height()
    }

    /// Digest of the last finalized block.
    pub fn finalized_digest(&self) -> affix_ledger::BlockDigest {
        self.chain.finalized_digest()
    }

    /// Records waiting to be proposed.
    pub fn mempool_len(&self) -> usize {
        self.mempool.queue.len()
    }

    /// Validates and queues one record.
    pub fn submit(&mut self, record: Vec<u8>) -> Result<Submitted, Error> {
        if record.len() > affix_evidence::MAX_RECORD_BYTES {
            return Err(Error::RecordTooLarge(record.len()));
        }
        EvidenceRecord::decode(&record).map_err(|e| Error::RecordInvalid(e.to_string()))?;
        let leaf_hash = self.suite().leaf_hash(&record);
        if let Some(&index) = self.leaves.0.get(&leaf_hash) {
            return Ok(Submitted::Logged { leaf_hash, index });
        }
        if self.mempool.ids.contains(&leaf_hash) {
            return Ok(Submitted::AlreadyPending { leaf_hash });
        }
        if self.mempool.queue.len() >= MAX_MEMPOOL_RECORDS
            || self.mempool.bytes + record.len() > MAX_MEMPOOL_BYTES
        {
            return Err(Error::Busy);
        }
        self.mempool.bytes += record.len();
        self.mempool.ids.insert(leaf_hash);
        if self.outbox.len() < MAX_MEMPOOL_RECORDS {
            self.outbox.push(record.clone());
        }
        self.mempool.queue.push_back((leaf_hash, record));
        Ok(Submitted::Pending { leaf_hash })
    }

    /// Accepts a record another authority received from a client (same checks as
    /// [`Ledger::submit`], but it is not forwarded again).
    pub fn submit_forwarded(&mut self, record: Vec<u8>) -> Result<Submitted, Error> {
        let outbox = self.outbox.len();
        let result = self.submit(record);
        self.outbox.truncate(outbox);
        result
    }

    /// Records received from clients since the last call, to forward to the other
    /// authorities: whoever leads next can then include them, and they survive this
    /// node crashing before it leads.
    pub fn take_outbox(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.outbox)
    }

    /// Builds a block on `parent` (which must be known) from the mempool.
    pub fn propose(&mut self, parent: &Block, now_ms: u64) -> Result<Block, Error> {
        let parent_digest = parent.digest();
        if !self.chain.knows(&parent_digest) {
            self.chain.verify(parent, u64::MAX, &self.leaves)?;
        }
        let candidates = self.mempool.queue.iter().map(|(_, r)| r.clone());
        let (block, rejected) =
            self.chain
                .propose(parent_digest, now_ms, candidates, &self.leaves)?;
        // Records that can never be included (cannot happen for records that passed
        // `submit`, but the mempool must not wedge on one) leave the queue. Duplicates of
        // records in unfinalized ancestors stay: they leave when those finalize.
        let invalid: HashSet<Hash> = rejected
            .into_iter()
            .filter(|(_, reason)| !reason.starts_with("duplicate"))
            .map(|(h, _)| h)
            .collect();
        self.mempool.remove(&invalid);
        Ok(block)
    }

    /// Verifies a proposed block; its parent must be finalized or verified before.
    pub fn verify(&mut self, block: &Block, now_ms: u64) -> Result<(), Error> {
        Ok(self.chain.verify(block, now_ms, &self.leaves)?)
    }

    /// Whether a block is finalized or verified here.
    pub fn knows(&self, block: &Block) -> bool {
        self.chain.knows(&block.digest())
    }

    /// Applies a finalized block durably (certificate, then records and tip in one atomic
    /// commit), then signs the checkpoint of the new tree. Returns this node's signed
    /// checkpoint to send to the other authorities. Idempotent: a block already applied
    /// (redelivered after a restart) changes nothing.
    pub fn apply_finalized(
        &mut self,
        block: &Block,
        certificate: Option<&[u8]>,
    ) -> Result<Option<Vec<u8>>, Error> {
        if block.height <= self.chain.finalized_height() {
            return Ok(None);
        }
        // Certificates of empty blocks prove nothing about evidence; at several empty blocks
        // a second when idle they would be most of the file.
        if let Some(cert) = certificate.filter(|_| !block.records.is_empty()) {
            self.finalizations.append(block.height, cert)?;
        }
        let applied = self.chain.finalize(block, &self.leaves)?;
        let tip = self.chain.finalized_tip();
        let range = self
            .store
            .append_with_metadata(&block.records, &tip.encode())?;
        if range.start != applied.first_index || self.store.root() != applied.root {
            return Err(Error::Fatal(format!(
                "log diverged from the chain at height {}: log root {} chain root {}",
                block.height,
                self.store.root(),
                applied.root
            )));
        }
        let finalized: HashSet<Hash> = applied.leaf_hashes.iter().copied().collect();
        for (i, h) in applied.leaf_hashes.into_iter().enumerate() {
            self.leaves.0.insert(h, applied.first_index + i as u64);
        }
        self.mempool.remove(&finalized);
        if block.records.is_empty()
            && self
                .cosigner
                .last_signed()
                .is_some_and(|(s, _)| s == self.store.size().0)
        {
            return Ok(None);
        }
        self.sign_current()
    }

    /// Signs the checkpoint of the current log (never one inconsistent with what this
    /// node signed before) and persists that it did, before anyone sees the signature.
    fn sign_current(&mut self) -> Result<Option<Vec<u8>>, Error> {
        let size = self.store.size().0;
        let root = self.store.root();
        let proof = match self.cosigner.last_signed() {
            Some((last, _)) if last <= size => self
                .store
                .consistency_proof(TreeSize(last), TreeSize(size))?,
            _ => Vec::new(),
        };
        let (own, quorum) = self.cosigner.sign_own(&self.note_key, size, root, &proof)?;
        write_signed(&self.dir, size, &root)?;
        if let Some(q) = quorum {
            self.record_quorum(q)?;
        }
        self.persist_misbehaviour()?;
        let bytes = own.to_bytes();
        self.own_checkpoint = Some(bytes.clone());
        Ok(Some(bytes))
    }

    /// Our latest signed checkpoint, for re-sending to peers.
    pub fn own_checkpoint(&self) -> Option<&[u8]> {
        self.own_checkpoint.as_deref()
    }

    /// What to gossip to the other authorities: the quorum checkpoint of our current tree
    /// if we have it (it carries everyone's signatures), else our own signed checkpoint.
    pub fn gossip_checkpoint(&self) -> Option<Vec<u8>> {
        match &self.quorum {
            Some(q) if q.unverified_checkpoint().size == self.store.size() => Some(q.to_bytes()),
            _ => self.own_checkpoint.clone(),
        }
    }

    /// Accepts another authority's signed checkpoint.
    pub fn accept_cosignature(&mut self, bytes: &[u8]) -> Result<CosignOutcome, Error> {
        let outcome = self.cosigner.accept(bytes)?;
        if let CosignOutcome::Quorum(q) = &outcome {
            self.record_quorum(q.clone())?;
        }
        self.persist_misbehaviour()?;
        Ok(outcome)
    }

    /// Writes conflicts the cosigner found (directly, or among signatures it had buffered)
    /// to `misbehaviour/<size>-<authority>.txt`, once each.
    fn persist_misbehaviour(&mut self) -> Result<(), Error> {
        let found = self.cosigner.misbehaviour();
        if found.len() <= self.misbehaviour_persisted {
            return Ok(());
        }
        let dir = self.dir.join("misbehaviour");
        fs::create_dir_all(&dir).map_err(Error::io("create directory", &dir))?;
        for m in &found[self.misbehaviour_persisted..] {
            let path = dir.join(format!("{}-{}.txt", m.size, m.authority));
            fs::write(&path, m.to_text()).map_err(Error::io("write", &path))?;
            tracing::error!(authority = %m.authority, size = m.size, path = %path.display(),
                "authority signed a checkpoint conflicting with the finalized log");
        }
        self.misbehaviour_persisted = found.len();
        Ok(())
    }

    fn record_quorum(&mut self, checkpoint: SignedCheckpoint) -> Result<(), Error> {
        let newer = self.quorum.as_ref().is_none_or(|q| {
            q.unverified_checkpoint().size < checkpoint.unverified_checkpoint().size
        });
        if newer {
            self.store.save_checkpoint(&checkpoint.to_bytes())?;
            self.quorum = Some(checkpoint);
        }
        Ok(())
    }

    /// The newest checkpoint signed by a quorum of authorities.
    pub fn quorum_checkpoint(&self) -> Option<&SignedCheckpoint> {
        self.quorum.as_ref()
    }

    /// Size of the newest quorum checkpoint (0 if none).
    pub fn quorum_size(&self) -> u64 {
        self.quorum
            .as_ref()
            .map_or(0, |q| q.unverified_checkpoint().size.0)
    }

    /// Log index of a finalized record.
    pub fn index_of(&self, leaf_hash: &Hash) -> Option<u64> {
        self.leaves.0.get(leaf_hash).copied()
    }

    /// Whether a record is waiting in this node's mempool.
    pub fn is_pending(&self, leaf_hash: &Hash) -> bool {
        self.mempool.ids.contains(leaf_hash)
    }

    /// The stored finalization certificate of block `height`, if any.
    pub fn finalization(&self, height: u64) -> Result<Option<Vec<u8>>, Error> {
        self.finalizations.get(height)
    }

    /// Misbehaviour reports written so far.
    pub fn misbehaviour(&self) -> Result<Vec<String>, Error> {
        let dir = self.dir.join("misbehaviour");
        let Ok(listing) = fs::read_dir(&dir) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for entry in listing.flatten().take(1000) {
            out.push(fs::read_to_string(entry.path()).map_err(Error::io("read", &entry.path()))?);
        }
        out.sort();
        Ok(out)
    }

    /// Signs with this node's note key (for tests of the guard).
    pub fn note_signer(&self) -> &dyn NoteSigner {
        &self.note_key
    }
}

fn read_signed(path: &Path) -> Result<Option<(u64, Hash)>, Error> {
    match fs::read_to_string(path) {
        Ok(text) => {
            let mut parts = text.split_whitespace();
            let size = parts.next().and_then(|s| s.parse().ok());
            let root = parts.next().and_then(|r| Hash::from_base64(r).ok());
            match (size, root) {
                (Some(s), Some(r)) => Ok(Some((s, r))),
                _ => Err(Error::Config(format!("unreadable {}", path.display()))),
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read", path)(e)),
    }
}

/// Persists "I signed (size, root)" atomically before the signature leaves this node.
fn write_signed(dir: &Path, size: u64, root: &Hash) -> Result<(), Error> {
    let tmp = dir.join(".signed.tmp");
    let path = dir.join("signed");
    let mut f = File::create(&tmp).map_err(Error::io("create", &tmp))?;
    f.write_all(format!("{size} {root}\n").as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(Error::io("write", &tmp))?;
    fs::rename(&tmp, &path).map_err(Error::io("rename", &path))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(Error::io("sync directory", dir))
}
