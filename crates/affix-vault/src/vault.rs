//! The vault service: creation, authorized signing, grants, disablement, audit.
//!
//! Every state change goes through the group commit ([`Vault::commit`]), shared by
//! concurrent callers, and only then does the caller get its answer. Its evidence records
//! and its store writes commit in one redb transaction (one fsync) — the records into the
//! `outbox` table under the leaf indices they will have in the evidence log. Key
//! signatures, the hot path, have nothing to write in the store but their spent nonce:
//! their records and nonces are appended to the signing journal instead ([`journal`]:
//! one append and one `fdatasync` per batch), and the nonces kept in memory for as long
//! as their authorizations could be presented. A batch's journal part takes its leaves
//! first and is durable before its store part commits, so the leaves on disk never have
//! a hole. A drainer thread moves journal and outbox records into the evidence log (an
//! `affix-logstore` Merkle log) in order; opening a vault reads the journal and finishes
//! any drain a crash interrupted. An acknowledged operation therefore always has its
//! record, durably, at the leaf index it was told, and a spent nonce stays spent.

use crate::authz::{Action, Authorization, Statement};
use crate::error::{Error, malformed};
use crate::evidence::{self, code};
use crate::ids::{CredentialId, GrantId, KeyId, OwnerId, TenantId};
use crate::journal::{self, Journal, SpentNonces};
use crate::keys::{Algorithm, MAX_MESSAGE_BYTES, Payload, SecretKey, SignatureBytes};
use crate::record::{CredentialKind, CredentialRecord, GrantRecord, KeyRecord, SEALED_LEN};
use crate::store::{self, insert_new, owner_key};
use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{AeadInOut, KeyInit};
use affix_logstore::LogStore;
use affix_seal::{Kek, MasterKey, WrappedKek};
use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata};
use sha2::{Digest as _, Sha256};
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use zeroize::Zeroizing;

/// The vault's store format, kept in `meta`. v3 adds the signing journal (`journal/`);
/// a v2 store is a v3 store with an empty journal and is migrated at open.
pub const STORE_FORMAT: &[u8] = b"affix-vault/v3";

/// The previous store format, migrated to [`STORE_FORMAT`] when opened.
const STORE_FORMAT_V2: &[u8] = b"affix-vault/v2";

/// Associated-data prefix of wrapped KEKs (then generation and tenant number, BE).
pub const KEK_AAD_CONTEXT: &[u8] = b"affix.dev/vault/kek/v1\0";

/// Most requests in one [`Vault::sign_many`] or [`Vault::create_keys`] call.
pub const MAX_BATCH: usize = 65_536;

/// Settings of a vault.
#[derive(Debug, Clone)]
pub struct VaultConfig {
    /// Name of this vault in evidence records (`submitter` field), e.g. `vault:main`.
    pub submitter: String,
    /// Who may approve recoveries, and how long the cancellation window is.
    pub recovery: crate::recovery::RecoveryPolicy,
    /// The store's page cache, in bytes (redb's default: 1 GiB). Ten million keys take
    /// about 1.5 GB; a cache that holds them all avoids reads from the OS on every lookup.
    pub cache_bytes: usize,
    /// Threads a large [`Vault::sign_many`] batch is spread over (checks, authorization
    /// verification, unsealing and signing; the commit stays one). Default: the cores.
    pub sign_threads: usize,
    /// Most key-signature records held in memory (journal frames) before the drainer has
    /// moved them into the evidence log; beyond it, signing answers [`Error::Busy`] until
    /// the drain catches up. Default: 2¹⁹ (the drainer normally stays under 2¹⁵).
    pub undrained_signature_records_max: u64,
}

impl Default for VaultConfig {
    fn default() -> Self {
        Self {
            submitter: "vault:main".into(),
            recovery: crate::recovery::RecoveryPolicy::default(),
            cache_bytes: 1 << 30,
            sign_threads: std::thread::available_parallelism().map_or(1, usize::from),
            undrained_signature_records_max: JOURNAL_UNDRAINED_MAX,
        }
    }
}

/// Smallest share of a batch worth a thread of its own.
const PARALLEL_CHUNK_MIN: usize = 16;

/// A key's public description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// Key id.
    pub id: KeyId,
    /// Tenant.
    pub tenant: TenantId,
    /// Owner.
    pub owner: OwnerId,
    /// Algorithm.
    pub algorithm: Algorithm,
    /// Encoded public key.
    pub public_key: Vec<u8>,
    /// Creation time.
    pub created_ms: u64,
    /// Whether the key was disabled.
    pub disabled: bool,
    /// Leaf index of the creation record in the evidence log (when just created).
    pub evidence_leaf: Option<u64>,
}

/// A request to sign.
#[derive(Debug, Clone)]
pub struct SignRequest {
    /// Tenant of the caller; must be the key's.
    pub tenant: TenantId,
    /// The key.
    pub key: KeyId,
    /// What to sign.
    pub payload: Payload,
    /// The owner's (or grantee's) authorization of exactly this.
    pub authorization: Authorization,
}

/// A signature and where its usage record is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The signature.
    pub signature: SignatureBytes,
    /// Index of the `vault.key.signed` record in the evidence log.
    pub evidence_leaf: u64,
}

/// One entry of a key's or owner's audit trail.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    /// Leaf index in the evidence log.
    pub leaf: u64,
    /// The record.
    pub record: affix_evidence::EvidenceRecord,
}

type StoreWrite = Box<dyn FnOnce(&redb::WriteTransaction, u64) -> Result<(), Error> + Send>;

/// One unit of group commit: evidence records and the store writes that go with them
/// (given the leaf index of the first record).
pub(crate) struct Job {
    pub(crate) records: Vec<Vec<u8>>,
    /// Keys created by this job (first key sequence number, count): their
    /// `vault.key.created` records take the job's first `count` leaves and are derived
    /// from the key records by the drainer ([`creation_records`]) instead of being
    /// copied into the outbox, where ten million of them would churn gigabytes.
    pub(crate) key_creations: Option<(u64, u32)>,
    pub(crate) write: StoreWrite,
}

/// Key signatures for the signing journal: their records take consecutive leaves.
pub(crate) struct JournalJob {
    signatures: Vec<journal::Signature>,
    now_ms: u64,
}

/// What a group commit is given.
enum Work {
    /// Records and store writes, committed in one redb transaction.
    Store(Job),
    /// Key signatures, appended to the signing journal.
    Journal(JournalJob),
}

#[derive(Default)]
struct CommitQueue {
    pending: Vec<(u64, Work)>,
    next_ticket: u64,
    leader: bool,
    done: HashMap<u64, Result<u64, String>>,
    /// Leaf index of the next evidence record (log size plus outbox and journal records
    /// not drained yet).
    next_leaf: u64,
    /// A commit failed with what reached the disk unknown: leaves may be taken, so
    /// nothing more commits until the vault is reopened.
    poisoned: Option<String>,
}

/// Journal frames not yet in the evidence log, in leaf order (shared with the drainer).
type PendingFrames = Arc<Mutex<VecDeque<Arc<journal::Frame>>>>;

/// The background thread that moves outbox records into the evidence log.
struct Drainer {
    signal: Arc<(Mutex<DrainState>, Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Default)]
struct DrainState {
    /// Committed leaves not yet known to be drained.
    wanted: u64,
    stop: bool,
    /// The last drain error, reported by `flush_evidence`.
    error: Option<String>,
    /// Someone waits for the drain: don't let the backlog accumulate.
    urgent: bool,
}

/// Niceness of the drain thread (Linux: 0 is the default, 19 the lowest priority):
/// on two cores, a drain at the signing threads' priority held signatures up for
/// milliseconds (p99 at 7,500 Ed25519 signatures/s: 4.3-5.8 ms at 0, 2.6-3.4 ms at 10,
/// docs/benchmarks.md).
const DRAIN_NICE: i32 = 10;

/// Longest a small backlog waits before it is drained.
const DRAIN_DELAY: std::time::Duration = std::time::Duration::from_millis(250);

/// A backlog this large is drained at once.
const DRAIN_EAGER: u64 = 32_768;

/// Most records moved per drain step.
const DRAIN_BATCH: usize = 65_536;

/// Default of [`VaultConfig::undrained_signature_records_max`] (at ~300 bytes a record,
/// about 150 MB of memory). The drainer normally keeps the backlog under [`DRAIN_EAGER`];
/// the bound holds when it stalls.
const JOURNAL_UNDRAINED_MAX: u64 = 1 << 19;

/// Records indexed between two durable commits of the signature index: at most this
/// many are re-indexed from the log when the vault is opened after a crash.
const INDEX_DURABLE_RECORDS: u64 = 1 << 20;

/// What draining needs: the store, the journal, the signature index, the log, and the
/// vault's name.
struct DrainCtx {
    db: Arc<redb::Database>,
    journal: Arc<Journal>,
    /// Journal frames not yet in the log.
    pending: PendingFrames,
    /// `index.redb`: the signature index, derived from the log (see [`index_signed`]).
    index: Arc<redb::Database>,
    log: Arc<Mutex<LogStore>>,
    submitter: String,
    /// Leaves of the log whose signatures are in the index.
    indexed: Arc<AtomicU64>,
    /// Leaves of the log whose signatures are durably in the index.
    index_durable: AtomicU64,
}

/// Moves the records at leaves `log.size()..` into the log, in order — from the journal
/// frames not drained yet and from the outbox — indexes their signatures, then forgets
/// them: journal frames from memory (their segments are retired by
/// [`Journal::maintain`]), outbox rows from the store. Derived entries (`outbox_keys`)
/// are expanded into their creation records.
fn drain_outbox(ctx: &DrainCtx) -> Result<u64, Error> {
    let (db, submitter) = (&*ctx.db, ctx.submitter.as_str());
    let mut log = ctx
        .log
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let size = log.size().0;
    let frames: Vec<Arc<journal::Frame>> = ctx
        .pending
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .filter(|f| f.end() > size)
        .cloned()
        .collect();
    let mut frames = frames.into_iter().peekable();
    let mut signed: Vec<(u64, KeyId)> = Vec::new();
    let records: Vec<Vec<u8>> = {
        let tx = db.begin_read()?;
        let outbox = tx.open_table(store::OUTBOX)?;
        let outbox_keys = tx.open_table(store::OUTBOX_KEYS)?;
        let mut out = Vec::new();
        let mut leaf = size;
        while out.len() < DRAIN_BATCH {
            if let Some(f) = frames.next_if(|f| f.first_leaf <= leaf) {
                let skip = usize::try_from(leaf - f.first_leaf).unwrap_or(usize::MAX);
                for (i, (record, key)) in f.records.iter().zip(&f.keys).enumerate().skip(skip) {
                    signed.push((f.first_leaf + i as u64, *key));
                    out.push(record.clone());
                }
                leaf = f.end();
            } else if let Some(v) = outbox.get(leaf)? {
                if let Some(key) = signed_key(v.value()) {
                    signed.push((leaf, key));
                }
                out.push(v.value().to_vec());
                leaf += 1;
            } else if let Some(v) = outbox_keys.get(leaf)? {
                let (first_seq, count) = v.value();
                out.extend(creation_records(&tx, first_seq, count, submitter)?);
                leaf += u64::from(count);
            } else {
                break;
            }
        }
        out
    };
    if !records.is_empty() {
        log.append(&records)?;
        index_signed(ctx, &signed, size + records.len() as u64)?;
    }
    let new_size = log.size().0;
    ctx.indexed.store(new_size, Ordering::Release);
    ctx.pending
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .retain(|f| f.end() > new_size);
    drop(log);
    // Delete what the log now holds (and anything older a crash left behind). Not
    // durable on its own: a lost deletion is redone at the next open or drain, since
    // records below the log's size are known to be in it.
    let stale = {
        let tx = db.begin_read()?;
        let below = |first: Option<u64>| first.is_some_and(|k| k < new_size);
        below(
            tx.open_table(store::OUTBOX)?
                .first()?
                .map(|(k, _)| k.value()),
        ) || below(
            tx.open_table(store::OUTBOX_KEYS)?
                .first()?
                .map(|(k, _)| k.value()),
        )
    };
    if !stale {
        return Ok(new_size);
    }
    let mut tx = db.begin_write()?;
    tx.set_durability(redb::Durability::None)
        .map_err(|e| Error::Store(e.to_string()))?;
    {
        let mut outbox = tx.open_table(store::OUTBOX)?;
        let stale: Vec<u64> = outbox
            .range(..new_size)?
            .map(|r| r.map(|(k, _)| k.value()))
            .collect::<Result<_, _>>()?;
        for k in stale {
            outbox.remove(k)?;
        }
        // Derived entries are drained whole: every one that starts below the size.
        let mut outbox_keys = tx.open_table(store::OUTBOX_KEYS)?;
        let stale: Vec<u64> = outbox_keys
            .range(..new_size)?
            .map(|r| r.map(|(k, _)| k.value()))
            .collect::<Result<_, _>>()?;
        for k in stale {
            outbox_keys.remove(k)?;
        }
    }
    tx.commit()?;
    Ok(new_size)
}

/// Adds signatures (leaf, key) to the signature index and moves its watermark to `end`,
/// in one transaction of `index.redb`: durable once [`INDEX_DURABLE_RECORDS`] records
/// have been indexed since the last durable one (and when the vault closes), otherwise
/// visible to readers but not written (redb keeps the pages in its cache).
///
/// The index is derived data: a signature's record is durable (in the journal or the
/// outbox) before the signature is returned, and the index follows the log; after a
/// crash, opening re-indexes from the last durable watermark. Keeping it out of the
/// signing path saves that path one random B-tree page per signature (the index is
/// ordered by key, signatures arrive in random key order); keeping most of its commits
/// off the disk keeps its page writes (measured: ~4 KiB per signature, an `fdatasync`
/// every drain) from slowing the journal's flushes.
fn index_signed(ctx: &DrainCtx, signed: &[(u64, KeyId)], end: u64) -> Result<(), Error> {
    let durable_at = ctx.index_durable.load(Ordering::Acquire);
    let durable = end.saturating_sub(durable_at) >= INDEX_DURABLE_RECORDS;
    let mut tx = ctx.index.begin_write()?;
    if !durable {
        tx.set_durability(redb::Durability::None)
            .map_err(|e| Error::Store(e.to_string()))?;
    }
    {
        let mut table = tx.open_table(store::SIGNED_INDEX)?;
        for (leaf, key) in signed {
            table.insert(&usage_key(key, *leaf), ())?;
        }
        tx.open_table(store::INDEX_META)?.insert("indexed", end)?;
    }
    tx.commit()?;
    if durable {
        ctx.index_durable.store(end, Ordering::Release);
    }
    Ok(())
}

/// Makes every index commit so far durable (an empty durable transaction).
fn persist_index(ctx: &DrainCtx) -> Result<(), Error> {
    ctx.index.begin_write()?.commit()?;
    ctx.index_durable
        .store(ctx.indexed.load(Ordering::Acquire), Ordering::Release);
    Ok(())
}

/// The key of a `vault.key.signed` record.
fn signed_key(bytes: &[u8]) -> Option<KeyId> {
    let record = affix_evidence::EvidenceRecord::decode(bytes).ok()?;
    if record.kind() != "vault.key.signed" {
        return None;
    }
    KeyId::parse(record.subject().strip_prefix("key:")?).ok()
}

/// Brings the signature index up to the log, from its durable watermark (after a crash,
/// which loses the index commits since the last durable one, or for a vault whose index
/// file is new), and makes it durable.
fn catch_up_index(ctx: &DrainCtx) -> Result<u64, Error> {
    let from = {
        let tx = ctx.index.begin_read()?;
        tx.open_table(store::INDEX_META)?
            .get("indexed")?
            .map_or(0, |v| v.value())
    };
    ctx.index_durable.store(from, Ordering::Release);
    let log = ctx
        .log
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let size = log.size().0;
    let mut next = from.min(size);
    while next < size {
        let end = size.min(next + DRAIN_BATCH as u64);
        let mut signed = Vec::new();
        for leaf in next..end {
            if let Some(key) = signed_key(&log.entry(affix_merkle::LeafIndex(leaf))?) {
                signed.push((leaf, key));
            }
        }
        index_signed(ctx, &signed, end)?;
        next = end;
    }
    ctx.indexed.store(size, Ordering::Release);
    if size > from {
        persist_index(ctx)?;
    }
    Ok(size)
}

/// The `vault.key.created` records of keys `first_seq .. first_seq + count`, derived
/// from their key records (public fields only: the same bytes whatever their sealing).
fn creation_records(
    tx: &redb::ReadTransaction,
    first_seq: u64,
    count: u32,
    submitter: &str,
) -> Result<Vec<Vec<u8>>, Error> {
    let keys = tx.open_table(store::KEYS)?;
    let names = tx.open_table(store::TENANT_NAMES)?;
    let mut lo = [0u8; 16];
    lo[..8].copy_from_slice(&first_seq.to_be_bytes());
    let mut tenant_cache: Option<(u32, String)> = None;
    let mut out = Vec::with_capacity(count as usize);
    for row in keys.range::<&[u8; 16]>(&lo..)?.take(count as usize) {
        let (id, bytes) = row?;
        let id = KeyId(*id.value());
        if id.sequence() != first_seq + out.len() as u64 {
            return Err(Error::Evidence(format!(
                "key sequence {} missing from a creation batch",
                first_seq + out.len() as u64
            )));
        }
        let record =
            KeyRecord::decode(bytes.value()).map_err(|_| Error::Tampered(id.to_string()))?;
        let tenant = match &tenant_cache {
            Some((n, name)) if *n == record.tenant => name.clone(),
            _ => {
                let name = names
                    .get(record.tenant)?
                    .ok_or_else(|| Error::Store(format!("no tenant {}", record.tenant)))?
                    .value()
                    .to_owned();
                tenant_cache = Some((record.tenant, name.clone()));
                name
            }
        };
        out.push(evidence::key_created(&id, &record, &tenant, submitter)?);
    }
    if out.len() != count as usize {
        return Err(Error::Evidence(format!(
            "creation batch at key sequence {first_seq}: {} of {count} keys found",
            out.len()
        )));
    }
    Ok(out)
}

/// The key vault.
pub struct Vault {
    db: Arc<redb::Database>,
    /// `index.redb`: signatures by key, derived from the evidence log by the drainer.
    index: Arc<redb::Database>,
    /// Leaves of the evidence log already in `index`.
    indexed: Arc<AtomicU64>,
    dir: PathBuf,
    master: RwLock<Arc<dyn MasterKey>>,
    /// During a rotation: the master key being rotated away from.
    previous_master: RwLock<Option<Arc<dyn MasterKey>>>,
    config: VaultConfig,
    evidence: Arc<Mutex<LogStore>>,
    /// The signing journal: key signatures' records and spent nonces.
    journal: Arc<Journal>,
    /// Journal frames not yet in the evidence log.
    pending: PendingFrames,
    /// Nonces spent through the journal that may still be presented.
    spent: Mutex<SpentNonces>,
    drainer: Option<Drainer>,
    queue: Mutex<CommitQueue>,
    committed: Condvar,
    ciphers: RwLock<HashMap<(u32, u32), Arc<Aes256Gcm>>>,
    tenants: RwLock<HashMap<u32, TenantId>>,
    next_seq: AtomicU64,
    kek_gen: AtomicU64,
    inflight_nonces: Mutex<HashSet<[u8; 32]>>,
    inflight_grants: Mutex<HashMap<GrantId, u32>>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// Creates a vault in `dir` (which must not hold one): `vault.redb` and the evidence
    /// log `evidence/` with origin `origin`.
    ///
    /// # Errors
    /// [`Error::AlreadyExists`] if a vault is there; storage errors.
    pub fn create(
        dir: &Path,
        master: Arc<dyn MasterKey>,
        origin: &str,
        config: VaultConfig,
    ) -> Result<Self, Error> {
        let db_path = dir.join("vault.redb");
        if db_path.exists() {
            return Err(Error::AlreadyExists {
                what: "vault",
                id: dir.display().to_string(),
            });
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::Store(e.to_string()))?;
        let log = LogStore::create(&dir.join("evidence"), origin)?;
        create_journal_dir(dir)?;
        let db = redb::Database::builder()
            .set_cache_size(config.cache_bytes)
            .create(&db_path)?;
        let tx = db.begin_write()?;
        {
            let mut meta = tx.open_table(store::META)?;
            meta.insert("format", STORE_FORMAT)?;
            meta.insert("master", master.id().as_str().as_bytes())?;
            meta.insert("kek_gen", 1u32.to_be_bytes().as_slice())?;
            // Create every table so readers never meet a missing one.
            tx.open_table(store::KEYS)?;
            tx.open_table(store::KEY_DISABLED)?;
            tx.open_table(store::CREDENTIALS)?;
            tx.open_table(store::CREDENTIAL_REVOKED)?;
            tx.open_table(store::OWNER_CREDENTIALS)?;
            tx.open_table(store::GRANTS)?;
            tx.open_table(store::GRANT_USES)?;
            tx.open_table(store::GRANT_REVOKED)?;
            tx.open_table(store::NONCES)?;
            tx.open_table(store::USAGE)?;
            tx.open_table(store::OWNER_EVENTS)?;
            tx.open_table(store::TENANTS)?;
            tx.open_table(store::TENANT_NAMES)?;
            tx.open_table(store::KEKS)?;
            tx.open_table(store::RECOVERY_CODES)?;
            tx.open_table(store::RECOVERIES)?;
            tx.open_table(store::RECOVERY_LAST_START)?;
            tx.open_table(store::OUTBOX)?;
            tx.open_table(store::OUTBOX_KEYS)?;
            tx.open_table(store::CREATIONS)?;
            tx.open_table(store::WALLETS)?;
        }
        tx.commit()?;
        Self::assemble(db, dir, master, log, config)
    }

    /// Opens an existing vault with its master key.
    ///
    /// # Errors
    /// [`Error::Malformed`] if `dir` holds no vault of this format; [`Error::MasterKey`]
    /// if `master` is not the key that wrapped the KEKs.
    pub fn open(
        dir: &Path,
        master: Arc<dyn MasterKey>,
        config: VaultConfig,
    ) -> Result<Self, Error> {
        let db_path = dir.join("vault.redb");
        if !db_path.exists() {
            return Err(malformed("vault", format!("no vault in {}", dir.display())));
        }
        let db = redb::Database::builder()
            .set_cache_size(config.cache_bytes)
            .open(&db_path)?;
        let format = {
            let tx = db.begin_read()?;
            let meta = tx.open_table(store::META)?;
            meta.get("format")?.map(|v| v.value().to_vec())
        };
        match format.as_deref() {
            Some(STORE_FORMAT) => {
                // Acknowledged signatures may exist only in the journal: never open
                // without it.
                if !dir.join("journal").is_dir() {
                    return Err(Error::Store(format!(
                        "{}: the signing journal is missing",
                        dir.display()
                    )));
                }
            }
            Some(STORE_FORMAT_V2) => {
                // v2 → v3: an empty journal, then the mark (an old build then refuses
                // the store instead of ignoring the journal).
                create_journal_dir(dir)?;
                let tx = db.begin_write()?;
                tx.open_table(store::META)?.insert("format", STORE_FORMAT)?;
                tx.commit()?;
            }
            _ => return Err(malformed("vault", "unknown store format")),
        }
        {
            // Tables added after a vault was created (v1 stores from before wallets).
            let tx = db.begin_write()?;
            tx.open_table(store::WALLETS)?;
            tx.commit()?;
        }
        let log = LogStore::open(&dir.join("evidence"))?;
        let vault = Self::assemble(db, dir, master, log, VaultConfig { ..config })?;
        // Unwrap every KEK of the current generation now: a wrong master key fails here,
        // not at the first signature.
        vault.check_master()?;
        Ok(vault)
    }

    fn assemble(
        db: redb::Database,
        dir: &Path,
        master: Arc<dyn MasterKey>,
        log: LogStore,
        config: VaultConfig,
    ) -> Result<Self, Error> {
        let (next_seq, kek_gen, tenants) = {
            let tx = db.begin_read()?;
            let keys = tx.open_table(store::KEYS)?;
            let next_seq = match keys.last()? {
                Some((k, _)) => KeyId(*k.value()).sequence() + 1,
                None => 1,
            };
            let meta = tx.open_table(store::META)?;
            let kek_gen = meta
                .get("kek_gen")?
                .and_then(|v| <[u8; 4]>::try_from(v.value()).ok())
                .map_or(1, u32::from_be_bytes);
            let names = tx.open_table(store::TENANT_NAMES)?;
            let mut tenants = HashMap::new();
            for row in names.iter()? {
                let (n, name) = row?;
                tenants.insert(n.value(), TenantId::new(name.value())?);
            }
            (next_seq, kek_gen, tenants)
        };
        let db = Arc::new(db);
        let log = Arc::new(Mutex::new(log));
        let (journal, recovered) = Journal::open(&dir.join("journal"))?;
        let journal = Arc::new(journal);
        let pending: PendingFrames = Arc::new(Mutex::new(
            recovered.frames.into_iter().map(Arc::new).collect(),
        ));
        // The signature index is derived from the log: a missing file is rebuilt.
        let index = redb::Database::builder()
            .set_cache_size(config.cache_bytes / 4)
            .create(dir.join("index.redb"))?;
        {
            let tx = index.begin_write()?;
            tx.open_table(store::SIGNED_INDEX)?;
            tx.open_table(store::INDEX_META)?;
            tx.commit()?;
        }
        let ctx = DrainCtx {
            db: db.clone(),
            journal: journal.clone(),
            pending: pending.clone(),
            index: Arc::new(index),
            log: log.clone(),
            submitter: config.submitter.clone(),
            indexed: Arc::new(AtomicU64::new(0)),
            index_durable: AtomicU64::new(0),
        };
        // Bring the index up to the log, then finish any drain a crash interrupted, so
        // the log (and the index) hold every committed record.
        catch_up_index(&ctx)?;
        let mut size = drain_outbox(&ctx)?;
        while {
            let next = drain_outbox(&ctx)?;
            let more = next > size;
            size = next;
            more
        } {}
        // Journal frames past the end: a leaf between them and the log is nowhere.
        if let Some(f) = pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .find(|f| f.end() > size)
        {
            return Err(Error::Evidence(format!(
                "evidence records {size}..{} are missing before journal records at {}",
                f.first_leaf, f.first_leaf
            )));
        }
        journal.maintain(size)?;
        let index = ctx.index.clone();
        let indexed = ctx.indexed.clone();
        let drainer = Drainer::start(ctx, size);
        Ok(Self {
            index,
            indexed,
            db,
            dir: dir.to_path_buf(),
            master: RwLock::new(master),
            previous_master: RwLock::new(None),
            config,
            evidence: log,
            journal,
            pending,
            spent: Mutex::new(recovered.nonces),
            drainer: Some(drainer),
            queue: Mutex::new(CommitQueue {
                next_leaf: size,
                ..CommitQueue::default()
            }),
            committed: Condvar::new(),
            ciphers: RwLock::new(HashMap::new()),
            tenants: RwLock::new(tenants),
            next_seq: AtomicU64::new(next_seq),
            kek_gen: AtomicU64::new(u64::from(kek_gen)),
            inflight_nonces: Mutex::new(HashSet::new()),
            inflight_grants: Mutex::new(HashMap::new()),
        })
    }

    /// Unwraps every KEK this master key wrapped, so a wrong master key fails at open,
    /// not at the first signature.
    fn check_master(&self) -> Result<(), Error> {
        let master = self.master();
        let (rows, expected) = {
            let tx = self.db.begin_read()?;
            let keks = tx.open_table(store::KEKS)?;
            let mut rows = Vec::new();
            let mut others = Vec::new();
            for row in keks.iter()? {
                let (k, v) = row?;
                let (id, _) = v.value();
                if id == master.id().as_str() {
                    rows.push(k.value());
                } else if !others.iter().any(|o: &String| o == id) {
                    others.push(id.to_owned());
                }
            }
            (rows, others)
        };
        if rows.is_empty() && !expected.is_empty() {
            return Err(Error::WrongMasterKey {
                given: master.id().to_string(),
                expected: expected.join(", "),
            });
        }
        for (generation, tenant) in rows {
            self.cipher(generation, tenant)?;
        }
        Ok(())
    }

    /// The vault directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The evidence log (read access, for proofs and audits).
    pub fn with_evidence<T>(&self, f: impl FnOnce(&LogStore) -> T) -> T {
        let log = self
            .evidence
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&log)
    }

    pub(crate) fn current_gen(&self) -> u32 {
        u32::try_from(self.kek_gen.load(Ordering::Acquire)).unwrap_or(u32::MAX)
    }

    pub(crate) fn master(&self) -> Arc<dyn MasterKey> {
        self.master
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The current or (during a rotation) previous master key with this id.
    fn master_by_id(&self, id: &str) -> Result<Arc<dyn MasterKey>, Error> {
        let current = self.master();
        if current.id().as_str() == id {
            return Ok(current);
        }
        if let Some(previous) = self
            .previous_master
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            && previous.id().as_str() == id
        {
            return Ok(previous.clone());
        }
        Err(Error::WrongMasterKey {
            given: current.id().to_string(),
            expected: id.to_owned(),
        })
    }

    pub(crate) fn set_previous_master(&self, master: Option<Arc<dyn MasterKey>>) {
        *self
            .previous_master
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = master;
    }

    pub(crate) fn config(&self) -> &VaultConfig {
        &self.config
    }

    pub(crate) fn db(&self) -> &redb::Database {
        &self.db
    }

    pub(crate) fn submitter(&self) -> &str {
        &self.config.submitter
    }

    // ---------------------------------------------------------------- tenants and KEKs

    /// The number of a tenant, registering it (and its KEK) on first use.
    pub(crate) fn tenant_number(&self, tenant: &TenantId) -> Result<u32, Error> {
        if let Some(n) = self.lookup_tenant(tenant)? {
            return Ok(n);
        }
        let generation = self.current_gen();
        let master = self.master();
        let tx = self.db.begin_write()?;
        let n = {
            let mut names = tx.open_table(store::TENANTS)?;
            if let Some(n) = names.get(tenant.as_str())? {
                n.value()
            } else {
                let mut numbers = tx.open_table(store::TENANT_NAMES)?;
                let n = numbers.last()?.map_or(1, |(k, _)| k.value() + 1);
                names.insert(tenant.as_str(), n)?;
                numbers.insert(n, tenant.as_str())?;
                let kek = Kek::random()?;
                let wrapped = master.wrap(&kek, &kek_aad(generation, n))?;
                tx.open_table(store::KEKS)?.insert(
                    (generation, n),
                    (master.id().as_str(), wrapped.as_bytes().as_slice()),
                )?;
                n
            }
        };
        tx.commit()?;
        self.tenants
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(n, tenant.clone());
        Ok(n)
    }

    pub(crate) fn lookup_tenant(&self, tenant: &TenantId) -> Result<Option<u32>, Error> {
        {
            let cache = self
                .tenants
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((n, _)) = cache.iter().find(|(_, t)| *t == tenant) {
                return Ok(Some(*n));
            }
        }
        let tx = self.db.begin_read()?;
        let names = tx.open_table(store::TENANTS)?;
        Ok(names.get(tenant.as_str())?.map(|v| v.value()))
    }

    pub(crate) fn tenant_name(&self, n: u32) -> Result<TenantId, Error> {
        self.tenants
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&n)
            .cloned()
            .ok_or_else(|| Error::Store(format!("tenant number {n} has no name")))
    }

    /// The AES-256-GCM cipher of KEK (generation, tenant), unwrapped once and cached.
    pub(crate) fn cipher(&self, generation: u32, tenant: u32) -> Result<Arc<Aes256Gcm>, Error> {
        if let Some(c) = self
            .ciphers
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&(generation, tenant))
        {
            return Ok(c.clone());
        }
        let (master_id, wrapped) = {
            let tx = self.db.begin_read()?;
            let keks = tx.open_table(store::KEKS)?;
            let row = keks.get((generation, tenant))?.ok_or_else(|| {
                Error::Store(format!(
                    "no KEK for generation {generation}, tenant {tenant}"
                ))
            })?;
            let (id, bytes) = row.value();
            (id.to_owned(), WrappedKek::decode(bytes)?)
        };
        let master = self.master_by_id(&master_id)?;
        let kek = master.unwrap(&wrapped, &kek_aad(generation, tenant))?;
        let cipher = Arc::new(
            Aes256Gcm::new_from_slice(kek.expose_secret())
                .map_err(|_| Error::Store("AES key length".into()))?,
        );
        self.ciphers
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert((generation, tenant), cipher.clone());
        Ok(cipher)
    }

    pub(crate) fn forget_ciphers(&self) {
        self.ciphers
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    // ---------------------------------------------------------------- envelopes

    /// Seals `secret` into a key record (under KEK generation `record.kek_gen`).
    pub(crate) fn seal(
        &self,
        tenant: &TenantId,
        id: &KeyId,
        mut record: KeyRecord,
        secret: &[u8; 32],
    ) -> Result<KeyRecord, Error> {
        record.sealed = self.seal_envelope(
            &Envelope {
                kek_gen: record.kek_gen,
                tenant: record.tenant,
                nonce: key_nonce(id),
                aad: record.aad(tenant, id),
            },
            secret,
        )?;
        Ok(record)
    }

    /// Opens a key record's envelope; any tampering gives [`Error::Tampered`].
    pub(crate) fn open_secret(
        &self,
        tenant: &TenantId,
        id: &KeyId,
        record: &KeyRecord,
    ) -> Result<SecretKey, Error> {
        let secret = self
            .open_envelope(
                &Envelope {
                    kek_gen: record.kek_gen,
                    tenant: record.tenant,
                    nonce: key_nonce(id),
                    aad: record.aad(tenant, id),
                },
                &record.sealed,
            )
            .map_err(|_| Error::Tampered(id.to_string()))?;
        SecretKey::from_secret(record.algorithm, secret)
            .map_err(|_| Error::Tampered(id.to_string()))
    }

    /// AES-256-GCM of a 32-byte secret under the KEK an envelope names: ciphertext ‖ tag.
    /// Every sealed record (keys, wallet seeds) goes through here and [`Vault::open_envelope`].
    pub(crate) fn seal_envelope(
        &self,
        envelope: &Envelope,
        secret: &[u8; 32],
    ) -> Result<[u8; SEALED_LEN], Error> {
        let cipher = self.cipher(envelope.kek_gen, envelope.tenant)?;
        let mut buf = [0u8; SEALED_LEN];
        buf[..32].copy_from_slice(secret);
        let nonce = aes_gcm::Nonce::<aes_gcm::aead::consts::U12>::from(envelope.nonce);
        let tag = cipher
            .encrypt_inout_detached(&nonce, &envelope.aad, (&mut buf[..32]).into())
            .map_err(|_| Error::Store("AES-GCM encryption failed".into()))?;
        buf[32..].copy_from_slice(&tag);
        Ok(buf)
    }

    /// Opens what [`Vault::seal_envelope`] sealed. Any change to the sealed bytes, the
    /// associated data, the nonce or the KEK gives [`Error::Tampered`] (with an empty id:
    /// callers name the record).
    pub(crate) fn open_envelope(
        &self,
        envelope: &Envelope,
        sealed: &[u8; SEALED_LEN],
    ) -> Result<Zeroizing<[u8; 32]>, Error> {
        let cipher = self.cipher(envelope.kek_gen, envelope.tenant)?;
        let mut secret = Zeroizing::new([0u8; 32]);
        secret.copy_from_slice(&sealed[..32]);
        let nonce = aes_gcm::Nonce::<aes_gcm::aead::consts::U12>::from(envelope.nonce);
        let tag =
            aes_gcm::Tag::try_from(&sealed[32..]).map_err(|_| Error::Tampered(String::new()))?;
        cipher
            .decrypt_inout_detached(&nonce, &envelope.aad, (&mut secret[..]).into(), &tag)
            .map_err(|_| Error::Tampered(String::new()))?;
        Ok(secret)
    }

    // ---------------------------------------------------------------- group commit

    /// Commits `job.records` (durable in the outbox, then drained into the evidence log)
    /// and applies `job.write`, sharing the transaction with concurrent callers. Returns
    /// the leaf index of the job's first record.
    pub(crate) fn commit(&self, job: Job) -> Result<u64, Error> {
        self.commit_works(vec![Work::Store(job)])
            .pop()
            .unwrap_or_else(|| Err(Error::Store("no commit result".into())))
    }

    /// Hands `works` to the group commit and waits for all of them: one result each, in
    /// order (the leaf index of each one's first record).
    fn commit_works(&self, works: Vec<Work>) -> Vec<Result<u64, Error>> {
        let mut queue = self
            .queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let tickets: Vec<u64> = works
            .into_iter()
            .map(|work| {
                let ticket = queue.next_ticket;
                queue.next_ticket += 1;
                queue.pending.push((ticket, work));
                ticket
            })
            .collect();
        loop {
            if tickets.iter().all(|t| queue.done.contains_key(t)) {
                return tickets
                    .iter()
                    .map(|t| {
                        queue
                            .done
                            .remove(t)
                            .unwrap_or_else(|| Err("no commit result".into()))
                            .map_err(Error::Evidence)
                    })
                    .collect();
            }
            if queue.leader {
                queue = self
                    .committed
                    .wait(queue)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                continue;
            }
            queue.leader = true;
            let batch = std::mem::take(&mut queue.pending);
            drop(queue);
            let outcome = self.commit_batch(batch);
            queue = self
                .queue
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            queue.done.extend(outcome);
            queue.leader = false;
            self.committed.notify_all();
        }
    }

    /// [`Vault::commit`] for an authorized operation: spends the authorization's nonce
    /// in the same transaction as `write`, and releases the in-memory reservation made by
    /// [`Vault::check_owner_authorization`] whatever the outcome.
    pub(crate) fn commit_authorized(
        &self,
        authorization: Option<&Authorization>,
        records: Vec<Vec<u8>>,
        write: impl FnOnce(&redb::WriteTransaction, u64) -> Result<(), Error> + Send + 'static,
    ) -> Result<u64, Error> {
        let spend = authorization.map(|a| (nonce_row(a), a.statement.expires_ms));
        let result = self.commit(Job {
            key_creations: None,
            records,
            write: Box::new(move |tx, leaf| {
                if let Some((nonce, expires)) = spend {
                    insert_new(
                        &mut tx.open_table(store::NONCES)?,
                        &nonce,
                        expires,
                        "nonce",
                        || "replayed".into(),
                    )?;
                }
                write(tx, leaf)
            }),
        });
        self.release_nonce(authorization);
        result
    }

    /// One group commit: the journal's signatures take the first leaves (one append,
    /// one flush), then the store jobs (one redb transaction). Each part is durable
    /// before the next starts, so the leaves on disk never have a hole.
    fn commit_batch(&self, batch: Vec<(u64, Work)>) -> Vec<(u64, Result<u64, String>)> {
        let (first, poisoned) = {
            let queue = self
                .queue
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            (queue.next_leaf, queue.poisoned.clone())
        };
        if let Some(e) = poisoned {
            let e = format!("an earlier commit failed ({e}); reopen the vault");
            return batch
                .into_iter()
                .map(|(t, _)| (t, Err(e.clone())))
                .collect();
        }
        let mut signed = Vec::new();
        let mut stored = Vec::new();
        for (ticket, work) in batch {
            match work {
                Work::Journal(j) => signed.push((ticket, j)),
                Work::Store(job) => stored.push((ticket, job)),
            }
        }
        let mut results = Vec::with_capacity(signed.len() + stored.len());
        let mut leaf = first;
        let mut failed = None;
        if !signed.is_empty() {
            let now_ms = signed.iter().map(|(_, j)| j.now_ms).max().unwrap_or(0);
            let mut tickets = Vec::with_capacity(signed.len());
            let mut signatures = Vec::new();
            for (ticket, job) in signed {
                tickets.push((ticket, leaf));
                leaf += job.signatures.len() as u64;
                signatures.extend(job.signatures);
            }
            match self.journal.append(first, &signatures, now_ms) {
                Ok(floor) => {
                    {
                        let mut spent = self
                            .spent
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        for s in &signatures {
                            spent.insert(&s.nonce);
                        }
                        spent.raise_floor(floor);
                    }
                    let (records, keys) = signatures.into_iter().map(|s| (s.record, s.key)).unzip();
                    self.pending
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push_back(Arc::new(journal::Frame {
                            first_leaf: first,
                            records,
                            keys,
                        }));
                    results.extend(tickets.into_iter().map(|(t, l)| (t, Ok(l))));
                }
                Err(e) => {
                    // Nothing of this batch commits. Unless the journal refuses appends
                    // from now on (something reached it), the leaves are free again.
                    let e = e.to_string();
                    results.extend(tickets.into_iter().map(|(t, _)| (t, Err(e.clone()))));
                    results.extend(stored.drain(..).map(|(t, _)| (t, Err(e.clone()))));
                    if self.journal.is_poisoned() {
                        failed = Some(e);
                    }
                    leaf = first;
                }
            }
        }
        if !stored.is_empty() {
            let tickets: Vec<u64> = stored.iter().map(|(t, _)| *t).collect();
            match self.commit_store(leaf, stored) {
                Ok((outcomes, end)) => {
                    results.extend(tickets.into_iter().zip(outcomes));
                    leaf = end;
                }
                Err((e, committing)) => {
                    let e = e.to_string();
                    results.extend(tickets.into_iter().map(|t| (t, Err(e.clone()))));
                    if committing {
                        failed = Some(e);
                    }
                }
            }
        }
        {
            let mut queue = self
                .queue
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            queue.next_leaf = leaf;
            if failed.is_some() {
                queue.poisoned = failed;
            }
        }
        if let Some(d) = &self.drainer {
            d.wake(leaf);
        }
        results
    }

    /// The store part of a group commit, from leaf `first`: per job its first leaf (or
    /// its write's error), and the leaf after the last record. An error says whether
    /// it came from the commit itself (what reached the disk is then unknown).
    #[allow(clippy::type_complexity)]
    fn commit_store(
        &self,
        first: u64,
        jobs: Vec<(u64, Job)>,
    ) -> Result<(Vec<Result<u64, String>>, u64), (Error, bool)> {
        let early = |e: Error| (e, false);
        let tx = self.db.begin_write().map_err(|e| early(e.into()))?;
        let mut results = Vec::with_capacity(jobs.len());
        let mut leaf = first;
        {
            let mut outbox = tx.open_table(store::OUTBOX).map_err(|e| early(e.into()))?;
            let mut outbox_keys = tx
                .open_table(store::OUTBOX_KEYS)
                .map_err(|e| early(e.into()))?;
            for (_, job) in &jobs {
                if let Some((first_seq, count)) = job.key_creations {
                    outbox_keys
                        .insert(leaf, (first_seq, count))
                        .map_err(|e| early(e.into()))?;
                    leaf += u64::from(count);
                }
                for record in &job.records {
                    outbox
                        .insert(leaf, record.as_slice())
                        .map_err(|e| early(e.into()))?;
                    leaf += 1;
                }
            }
        }
        let mut start = first;
        for (_, job) in jobs {
            let n = job.records.len() as u64 + job.key_creations.map_or(0, |(_, c)| u64::from(c));
            results.push(
                (job.write)(&tx, start)
                    .map(|()| start)
                    .map_err(|e| e.to_string()),
            );
            start += n;
        }
        tx.commit().map_err(|e| (e.into(), true))?;
        Ok((results, leaf))
    }

    /// Number of evidence records committed (durable in the outbox or the log).
    pub fn evidence_len(&self) -> u64 {
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .next_leaf
    }

    /// Waits until every committed evidence record is in the evidence log.
    ///
    /// # Errors
    /// [`Error::Evidence`] if draining failed.
    pub fn flush_evidence(&self) -> Result<(), Error> {
        let target = self.evidence_len();
        loop {
            if let Some(d) = &self.drainer {
                let (lock, cv) = &*d.signal;
                let mut st = lock
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if let Some(e) = st.error.clone() {
                    return Err(Error::Evidence(e));
                }
                if self.indexed.load(Ordering::Acquire) < target {
                    st.urgent = true;
                    cv.notify_one();
                }
            }
            // The index follows the log: once it is there, so is the log.
            if self.indexed.load(Ordering::Acquire) >= target {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    // ---------------------------------------------------------------- credentials

    /// Registers an authenticator credential for `owner`. The first credential of an
    /// owner is enrolled by the platform after identity verification (`authorization`
    /// `None`); every later one needs an authorization by an active credential of the
    /// same owner (`Action::RegisterCredential`, digest = SHA-256(kind code ‖ public key)).
    ///
    /// # Errors
    /// [`Error::Unauthorized`] if the owner already has credentials and no valid
    /// authorization was given; [`Error::Malformed`] for a bad public key.
    pub fn register_credential(
        &self,
        tenant: &TenantId,
        owner: OwnerId,
        kind: CredentialKind,
        public_key: &[u8],
        authorization: Option<&Authorization>,
        now_ms: u64,
    ) -> Result<CredentialId, Error> {
        CredentialRecord::check_public_key(kind, public_key)?;
        let t = self.tenant_number(tenant)?;
        let active = self.active_credentials(t, owner)?;
        let mut digests = vec![("public-key", Sha256::digest(public_key).into())];
        let mut via = "enrolment".to_owned();
        if !active.is_empty() {
            let auth = authorization.ok_or_else(|| {
                Error::Unauthorized(
                    "the owner has credentials: registering another needs one of them".into(),
                )
            })?;
            let digest = credential_digest(kind, public_key);
            self.check_owner_authorization(
                auth,
                tenant,
                t,
                owner,
                Action::RegisterCredential,
                None,
                digest,
                now_ms,
            )?;
            digests.push((
                "authorization",
                Sha256::digest(auth.statement.to_bytes()).into(),
            ));
            via = format!("credential:{}", auth.statement.credential);
        }
        let id = CredentialId::random()?;
        let record = CredentialRecord {
            kind,
            tenant: t,
            owner,
            created_ms: now_ms,
            public_key: public_key.to_vec(),
        };
        let ev = evidence::record(
            "vault.credential.registered",
            &format!("owner:{owner}"),
            now_ms,
            self.submitter(),
            &digests,
            &[
                ("tenant", tenant.as_str()),
                ("credential", &id.to_string()),
                ("kind", kind.name()),
                ("via", &via),
            ],
        )?;
        let bytes = record.encode();
        self.commit_authorized(authorization, vec![ev], move |tx, leaf| {
            insert_new(
                &mut tx.open_table(store::CREDENTIALS)?,
                &id.0,
                bytes.as_slice(),
                "credential",
                || id.to_string(),
            )?;
            tx.open_table(store::OWNER_CREDENTIALS)?
                .insert(&owner_cred_key(t, &owner, &id), ())?;
            index_owner_event(tx, t, &owner, leaf, code::CREDENTIAL_REGISTERED)
        })?;
        Ok(id)
    }

    /// Revokes one of the owner's credentials, authorized by another (or the same) active
    /// credential of that owner (`Action::RevokeCredential`, digest = SHA-256 of the
    /// revoked credential id).
    ///
    /// # Errors
    /// [`Error::Unauthorized`], [`Error::CredentialNotFound`].
    pub fn revoke_credential(
        &self,
        tenant: &TenantId,
        owner: OwnerId,
        credential: CredentialId,
        authorization: &Authorization,
        now_ms: u64,
    ) -> Result<(), Error> {
        let t = self.tenant_number(tenant)?;
        let (rec, revoked) = self.credential(&credential)?;
        if rec.tenant != t || rec.owner != owner || revoked {
            return Err(Error::CredentialNotFound(credential.to_string()));
        }
        let digest = Sha256::digest(credential.0).into();
        self.check_owner_authorization(
            authorization,
            tenant,
            t,
            owner,
            Action::RevokeCredential,
            None,
            digest,
            now_ms,
        )?;
        let ev = evidence::record(
            "vault.credential.revoked",
            &format!("owner:{owner}"),
            now_ms,
            self.submitter(),
            &[(
                "authorization",
                Sha256::digest(authorization.statement.to_bytes()).into(),
            )],
            &[
                ("tenant", tenant.as_str()),
                ("credential", &credential.to_string()),
                (
                    "via",
                    &format!("credential:{}", authorization.statement.credential),
                ),
            ],
        )?;
        self.commit_authorized(Some(authorization), vec![ev], move |tx, leaf| {
            insert_new(
                &mut tx.open_table(store::CREDENTIAL_REVOKED)?,
                &credential.0,
                now_ms,
                "revocation",
                || credential.to_string(),
            )?;
            index_owner_event(tx, t, &owner, leaf, code::CREDENTIAL_REVOKED)
        })?;
        Ok(())
    }

    /// A credential and whether it was revoked.
    pub(crate) fn credential(&self, id: &CredentialId) -> Result<(CredentialRecord, bool), Error> {
        let tx = self.db.begin_read()?;
        let creds = tx.open_table(store::CREDENTIALS)?;
        let rec = creds
            .get(&id.0)?
            .ok_or_else(|| Error::CredentialNotFound(id.to_string()))?;
        let rec = CredentialRecord::decode(rec.value())?;
        let revoked = tx
            .open_table(store::CREDENTIAL_REVOKED)?
            .get(&id.0)?
            .is_some();
        Ok((rec, revoked))
    }

    /// The owner's active (unrevoked) credential ids.
    pub(crate) fn active_credentials(
        &self,
        t: u32,
        owner: OwnerId,
    ) -> Result<Vec<CredentialId>, Error> {
        let tx = self.db.begin_read()?;
        let index = tx.open_table(store::OWNER_CREDENTIALS)?;
        let revoked = tx.open_table(store::CREDENTIAL_REVOKED)?;
        let lo = owner_cred_key(t, &owner, &CredentialId([0; 16]));
        let hi = owner_cred_key(t, &owner, &CredentialId([0xff; 16]));
        let mut out = Vec::new();
        for row in index.range::<&[u8; 36]>(&lo..=&hi)? {
            let (k, _) = row?;
            let mut id = [0u8; 16];
            id.copy_from_slice(&k.value()[20..]);
            if revoked.get(&id)?.is_none() {
                out.push(CredentialId(id));
            }
        }
        Ok(out)
    }

    /// Checks an authorization by one of `owner`'s active credentials for `action` over
    /// `digest`, and reserves its nonce (released by [`Vault::release_nonce`] after commit).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn check_owner_authorization(
        &self,
        auth: &Authorization,
        tenant: &TenantId,
        t: u32,
        owner: OwnerId,
        action: Action,
        key: Option<KeyId>,
        digest: [u8; 32],
        now_ms: u64,
    ) -> Result<CredentialRecord, Error> {
        let s = &auth.statement;
        if s.action != action
            || &s.tenant != tenant
            || s.key != key
            || s.digest != digest
            || s.grant.is_some()
        {
            return Err(Error::Unauthorized(format!(
                "the authorization is not for this {} request",
                action.name()
            )));
        }
        let (cred, revoked) = self
            .credential(&s.credential)
            .map_err(|_| Error::Unauthorized("unknown credential".into()))?;
        if cred.tenant != t || cred.owner != owner {
            return Err(Error::Unauthorized(
                "the credential is not the owner's".into(),
            ));
        }
        if revoked {
            return Err(Error::Unauthorized("the credential was revoked".into()));
        }
        auth.verify_signature(cred.kind, &cred.public_key, now_ms)?;
        self.reserve_nonce(auth)?;
        Ok(cred)
    }

    fn reserve_nonce(&self, auth: &Authorization) -> Result<(), Error> {
        let key = nonce_key(auth);
        let row = nonce_row(auth);
        {
            let spent = self
                .spent
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            // Below the floor the journal forgets nonces: refuse what could be among them.
            if auth.statement.expires_ms <= spent.floor_ms() {
                return Err(Error::Unauthorized(format!(
                    "authorization expired at {} ms: the vault has signed at times more than {} s later",
                    auth.statement.expires_ms,
                    journal::PRUNE_LAG_MS / 1000
                )));
            }
            if spent.contains(&row) {
                return Err(Error::Unauthorized(
                    "replayed authorization (nonce already used)".into(),
                ));
            }
        }
        {
            let tx = self.db.begin_read()?;
            if tx.open_table(store::NONCES)?.get(&row)?.is_some() {
                return Err(Error::Unauthorized(
                    "replayed authorization (nonce already used)".into(),
                ));
            }
        }
        let mut inflight = self
            .inflight_nonces
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !inflight.insert(key) {
            return Err(Error::Unauthorized(
                "replayed authorization (nonce in use)".into(),
            ));
        }
        Ok(())
    }

    pub(crate) fn release_nonce(&self, auth: Option<&Authorization>) {
        if let Some(auth) = auth {
            self.inflight_nonces
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&nonce_key(auth));
        }
    }

    // ---------------------------------------------------------------- keys

    /// Creates a key for `owner`. The secret is generated inside the vault and never
    /// leaves it.
    ///
    /// # Errors
    /// Storage, evidence and master-key errors.
    pub fn create_key(
        &self,
        tenant: &TenantId,
        owner: OwnerId,
        algorithm: Algorithm,
        now_ms: u64,
    ) -> Result<KeyInfo, Error> {
        let mut keys = self.create_keys(tenant, &[(owner, algorithm)], now_ms)?;
        keys.pop()
            .ok_or_else(|| Error::Store("no key created".into()))
    }

    /// Creates keys in one commit (at most [`MAX_BATCH`]).
    ///
    /// # Errors
    /// [`Error::TooLarge`] for an oversized batch; storage, evidence, master-key errors.
    pub fn create_keys(
        &self,
        tenant: &TenantId,
        requests: &[(OwnerId, Algorithm)],
        now_ms: u64,
    ) -> Result<Vec<KeyInfo>, Error> {
        if requests.len() > MAX_BATCH {
            return Err(Error::TooLarge {
                what: "key batch",
                size: requests.len(),
                max: MAX_BATCH,
            });
        }
        let t = self.tenant_number(tenant)?;
        let generation = self.current_gen();
        let mut rows = Vec::with_capacity(requests.len());
        let mut infos = Vec::with_capacity(requests.len());
        let first_seq = self
            .next_seq
            .fetch_add(requests.len() as u64, Ordering::AcqRel);
        for (i, &(owner, algorithm)) in requests.iter().enumerate() {
            let key = SecretKey::generate(algorithm)?;
            let public_key = key.public_key()?;
            let mut random = [0u8; 8];
            getrandom::fill(&mut random).map_err(|_| Error::Random)?;
            let id = KeyId::new(first_seq + i as u64, random);
            let record = KeyRecord {
                algorithm,
                tenant: t,
                owner,
                created_ms: now_ms,
                kek_gen: generation,
                public_key: public_key.clone(),
                sealed: [0; SEALED_LEN],
            };
            let record = self.seal(tenant, &id, record, key.secret())?;
            rows.push((id, record.encode()));
            infos.push(KeyInfo {
                id,
                tenant: tenant.clone(),
                owner,
                algorithm,
                public_key,
                created_ms: now_ms,
                disabled: false,
                evidence_leaf: None,
            });
        }
        let count =
            u32::try_from(rows.len()).map_err(|_| Error::Store("batch too large".into()))?;
        if count == 0 {
            return Ok(infos);
        }
        let first = self.commit(Job {
            key_creations: Some((first_seq, count)),
            records: Vec::new(),
            write: Box::new(move |tx, first| {
                let mut keys = tx.open_table(store::KEYS)?;
                for (id, bytes) in &rows {
                    insert_new(&mut keys, &id.0, bytes.as_slice(), "key", || id.to_string())?;
                }
                tx.open_table(store::CREATIONS)?
                    .insert(first_seq, (count, first))?;
                Ok(())
            }),
        })?;
        for (i, info) in infos.iter_mut().enumerate() {
            info.evidence_leaf = Some(first + i as u64);
        }
        Ok(infos)
    }

    /// A key's public description. Keys of other tenants are [`Error::KeyNotFound`].
    ///
    /// # Errors
    /// [`Error::KeyNotFound`].
    pub fn key(&self, tenant: &TenantId, id: &KeyId) -> Result<KeyInfo, Error> {
        let (record, disabled) = self.load_key(tenant, id)?;
        Ok(KeyInfo {
            id: *id,
            tenant: tenant.clone(),
            owner: record.owner,
            algorithm: record.algorithm,
            public_key: record.public_key,
            created_ms: record.created_ms,
            disabled,
            evidence_leaf: None,
        })
    }

    pub(crate) fn load_key(
        &self,
        tenant: &TenantId,
        id: &KeyId,
    ) -> Result<(KeyRecord, bool), Error> {
        let not_found = || Error::KeyNotFound(id.to_string());
        let t = self.lookup_tenant(tenant)?.ok_or_else(not_found)?;
        let tx = self.db.begin_read()?;
        let keys = tx.open_table(store::KEYS)?;
        let bytes = keys.get(&id.0)?.ok_or_else(not_found)?;
        let record =
            KeyRecord::decode(bytes.value()).map_err(|_| Error::Tampered(id.to_string()))?;
        if record.tenant != t {
            return Err(not_found());
        }
        let disabled = tx.open_table(store::KEY_DISABLED)?.get(&id.0)?.is_some();
        Ok((record, disabled))
    }

    /// Signs one payload with the owner's (or a grantee's) authorization.
    ///
    /// # Errors
    /// See [`Vault::sign_many`].
    pub fn sign(&self, request: SignRequest, now_ms: u64) -> Result<Signed, Error> {
        self.sign_many(vec![request], now_ms)
            .pop()
            .unwrap_or_else(|| Err(Error::Store("no result".into())))
    }

    /// Key-signature records in journal frames not yet in the evidence log (an upper
    /// bound: the span of their leaves).
    fn undrained_journal_records(&self) -> u64 {
        let pending = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match (pending.front(), pending.back()) {
            (Some(first), Some(last)) => last.end().saturating_sub(first.first_leaf),
            _ => 0,
        }
    }

    /// Signs a batch; each request succeeds or fails on its own. A signature is returned
    /// only after its `vault.key.signed` record is durable in the evidence log and the
    /// authorization's nonce is durably spent.
    ///
    /// Per request: [`Error::KeyNotFound`] (also for other tenants' keys),
    /// [`Error::KeyDisabled`], [`Error::Unauthorized`] (bad, expired, replayed or
    /// mismatched authorization, revoked credential, grant out of scope),
    /// [`Error::Unsupported`] (payload kind), [`Error::TooLarge`], [`Error::Tampered`];
    /// for the whole batch, [`Error::Busy`] while too many signature records wait for the
    /// evidence log (a stalled drain).
    pub fn sign_many(&self, requests: Vec<SignRequest>, now_ms: u64) -> Vec<Result<Signed, Error>> {
        if requests.len() > MAX_BATCH {
            return requests
                .iter()
                .map(|_| {
                    Err(Error::TooLarge {
                        what: "signing batch",
                        size: requests.len(),
                        max: MAX_BATCH,
                    })
                })
                .collect();
        }
        // The journal's records wait in memory until the drainer moves them into the log:
        // past a bound (a stalled or failing drain), refuse rather than grow.
        let undrained = self.undrained_journal_records();
        let max = self.config.undrained_signature_records_max;
        if undrained >= max {
            return requests
                .iter()
                .map(|_| {
                    Err(Error::Busy(format!(
                        "{undrained} signature records wait for the evidence log (at most {max})"
                    )))
                })
                .collect();
        }
        let threads = self
            .config
            .sign_threads
            .clamp(1, requests.len().div_ceil(PARALLEL_CHUNK_MIN).max(1));
        let prepared: Vec<Result<Prepared, Error>> = if threads == 1 {
            self.prepare_batch(&requests, now_ms)
        } else {
            // Spread the CPU work over the cores; each share keeps its own order.
            let chunk = requests.len().div_ceil(threads);
            std::thread::scope(|s| {
                let shares: Vec<_> = requests
                    .chunks(chunk)
                    .map(|share| {
                        (
                            share.len(),
                            s.spawn(move || self.prepare_batch(share, now_ms)),
                        )
                    })
                    .collect();
                shares
                    .into_iter()
                    .flat_map(|(len, handle)| {
                        handle.join().unwrap_or_else(|_| {
                            (0..len)
                                .map(|_| Err(Error::Store("a signing thread panicked".into())))
                                .collect()
                        })
                    })
                    .collect()
            })
        };
        // Signatures under a grant also count a use of the grant: they commit through the
        // store. All others go to the signing journal (record and nonce, one append).
        let mut signatures = Vec::new();
        let mut granted_records = Vec::new();
        let mut granted_writes = Vec::new();
        let slots: Vec<Result<Slot, Error>> = prepared
            .into_iter()
            .map(|p| {
                let p = p?;
                let journaled = p.grant.is_none();
                if let Some(g) = p.grant {
                    granted_records.push(p.record);
                    granted_writes.push((p.nonce, p.expires_ms, g));
                } else {
                    signatures.push(journal::Signature {
                        record: p.record,
                        key: p.key,
                        nonce: p.nonce,
                    });
                }
                Ok(Slot {
                    journaled,
                    signature: p.signature,
                    grant: p.grant,
                })
            })
            .collect();
        let mut works = Vec::new();
        let journaled = !signatures.is_empty();
        if journaled {
            works.push(Work::Journal(JournalJob { signatures, now_ms }));
        }
        if !granted_records.is_empty() {
            works.push(Work::Store(Job {
                key_creations: None,
                records: granted_records,
                // The signature index (key → leaf) is derived from the log by the drainer.
                write: Box::new(move |tx, _| {
                    let mut nonces = tx.open_table(store::NONCES)?;
                    let mut uses = tx.open_table(store::GRANT_USES)?;
                    for (nonce, expires, grant) in &granted_writes {
                        insert_new(&mut nonces, nonce, *expires, "nonce", || "replayed".into())?;
                        let n = uses.get(&grant.0)?.map_or(0, |v| v.value());
                        uses.insert(&grant.0, n + 1)?;
                    }
                    Ok(())
                }),
            }));
        }
        let mut committed = self.commit_works(works).into_iter();
        let mut journal_leaf = if journaled { committed.next() } else { None };
        let mut store_leaf = committed.next();
        // Release the reservations whatever happened: committed nonces are spent (in the
        // journal's nonce set or the store).
        for (r, slot) in requests.iter().zip(&slots) {
            if let Ok(Slot { grant, .. }) = slot {
                self.release_nonce(Some(&r.authorization));
                self.release_grant(*grant);
            }
        }
        slots
            .into_iter()
            .map(|slot| {
                let Slot {
                    journaled,
                    signature,
                    ..
                } = slot?;
                let leaf = if journaled {
                    &mut journal_leaf
                } else {
                    &mut store_leaf
                };
                match leaf {
                    Some(Ok(l)) => {
                        *l += 1;
                        Ok(Signed {
                            signature,
                            evidence_leaf: *l - 1,
                        })
                    }
                    Some(Err(e)) => Err(Error::Evidence(e.to_string())),
                    None => Err(Error::Store("no commit result".into())),
                }
            })
            .collect()
    }

    /// Checks, verifies and signs `requests` (no commit): one result per request, in order.
    fn prepare_batch(&self, requests: &[SignRequest], now_ms: u64) -> Vec<Result<Prepared, Error>> {
        let checked: Vec<Result<Checked, Error>> = requests
            .iter()
            .map(|r| self.check_request(r, now_ms))
            .collect();
        let verified = self.verify_authorizations(requests, checked, now_ms);
        requests
            .iter()
            .zip(verified)
            .map(|(r, c)| self.prepare_signature(r, c, now_ms))
            .collect()
    }

    /// Everything about a request that needs no signature verification: limits, key,
    /// statement binding, credential, freshness.
    fn check_request(&self, r: &SignRequest, now_ms: u64) -> Result<Checked, Error> {
        if let Payload::Message(m) = &r.payload
            && m.len() > MAX_MESSAGE_BYTES
        {
            return Err(Error::TooLarge {
                what: "message",
                size: m.len(),
                max: MAX_MESSAGE_BYTES,
            });
        }
        let (record, disabled) = self.load_key(&r.tenant, &r.key)?;
        if disabled {
            return Err(Error::KeyDisabled(r.key.to_string()));
        }
        if matches!(r.payload, Payload::Prehash(_)) && !record.algorithm.signs_prehash() {
            return Err(Error::Unsupported(format!(
                "{} keys sign messages, not digests",
                record.algorithm.name()
            )));
        }
        let s = &r.authorization.statement;
        let digest = r.payload.digest();
        if s.action != Action::Sign
            || s.tenant != r.tenant
            || s.key != Some(r.key)
            || s.digest != digest
            || s.payload_kind != r.payload.kind_code()
        {
            return Err(Error::Unauthorized(
                "the authorization is not for this key and payload".into(),
            ));
        }
        let (cred, revoked) = self
            .credential(&s.credential)
            .map_err(|_| Error::Unauthorized("unknown credential".into()))?;
        if revoked {
            return Err(Error::Unauthorized("the credential was revoked".into()));
        }
        if s.grant.is_none() && (cred.tenant != record.tenant || cred.owner != record.owner) {
            return Err(Error::Unauthorized(
                "the credential is not the key owner's and names no grant".into(),
            ));
        }
        r.authorization.check_fresh(now_ms)?;
        Ok(Checked {
            record,
            cred,
            digest,
        })
    }

    /// Verifies the authorizations of checked requests: Ed25519 ones in one batch
    /// (falling back to one by one when the batch fails, to find the bad ones).
    fn verify_authorizations(
        &self,
        requests: &[SignRequest],
        checked: Vec<Result<Checked, Error>>,
        now_ms: u64,
    ) -> Vec<Result<Checked, Error>> {
        let batch: Vec<usize> = checked
            .iter()
            .enumerate()
            .filter(|(_, c)| matches!(c, Ok(c) if c.cred.kind == CredentialKind::Ed25519))
            .map(|(i, _)| i)
            .collect();
        let mut batch_ok = false;
        if batch.len() >= 2 {
            let parsed: Option<Vec<_>> = batch
                .iter()
                .map(|&i| {
                    let c = checked[i].as_ref().ok()?;
                    let key =
                        ed25519_dalek::VerifyingKey::try_from(c.cred.public_key.as_slice()).ok()?;
                    let sig =
                        ed25519_dalek::Signature::from_slice(&requests[i].authorization.signature)
                            .ok()?;
                    Some((requests[i].authorization.statement.to_bytes(), sig, key))
                })
                .collect();
            if let Some(parsed) = parsed {
                let messages: Vec<&[u8]> = parsed.iter().map(|(m, _, _)| m.as_slice()).collect();
                let sigs: Vec<_> = parsed.iter().map(|(_, s, _)| *s).collect();
                let keys: Vec<_> = parsed.iter().map(|(_, _, k)| *k).collect();
                batch_ok = ed25519_dalek::verify_batch(&messages, &sigs, &keys).is_ok();
            }
        }
        checked
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                let c = c?;
                let in_batch = batch_ok && c.cred.kind == CredentialKind::Ed25519;
                if !in_batch {
                    requests[i].authorization.verify_signature(
                        c.cred.kind,
                        &c.cred.public_key,
                        now_ms,
                    )?;
                }
                Ok(c)
            })
            .collect()
    }

    fn prepare_signature(
        &self,
        r: &SignRequest,
        checked: Result<Checked, Error>,
        now_ms: u64,
    ) -> Result<Prepared, Error> {
        let Checked { record, digest, .. } = checked?;
        let s = &r.authorization.statement;
        let grant = match s.grant {
            None => None,
            Some(g) => {
                self.check_grant(g, &r.key, &s.credential, now_ms)?;
                Some(g)
            }
        };
        if let Err(e) = self.reserve_nonce(&r.authorization) {
            self.release_grant(grant);
            return Err(e);
        }
        let signed = (|| {
            let secret = self.open_secret(&r.tenant, &r.key, &record)?;
            secret.sign_with_public(&record.public_key, &r.payload)
        })();
        let signature = match signed {
            Ok(s) => s,
            Err(e) => {
                self.release_nonce(Some(&r.authorization));
                self.release_grant(grant);
                return Err(e);
            }
        };
        let auth_digest: [u8; 32] = Sha256::digest(s.to_bytes()).into();
        let mut metadata = vec![
            ("credential", s.credential.to_string()),
            (
                "payload",
                if s.payload_kind == 1 {
                    "message"
                } else {
                    "prehash"
                }
                .to_owned(),
            ),
            ("tenant", r.tenant.as_str().to_owned()),
        ];
        if let Some(g) = grant {
            metadata.push(("grant", g.to_string()));
        }
        let metadata: Vec<(&str, &str)> = metadata.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let record_bytes = evidence::record(
            "vault.key.signed",
            &format!("key:{}", r.key),
            now_ms,
            self.submitter(),
            &[("authorization", auth_digest), ("signed", digest)],
            &metadata,
        );
        let record_bytes = match record_bytes {
            Ok(b) => b,
            Err(e) => {
                self.release_nonce(Some(&r.authorization));
                self.release_grant(grant);
                return Err(e);
            }
        };
        Ok(Prepared {
            key: r.key,
            nonce: nonce_row(&r.authorization),
            expires_ms: s.expires_ms,
            grant,
            signature,
            record: record_bytes,
        })
    }

    fn check_grant(
        &self,
        g: GrantId,
        key: &KeyId,
        credential: &CredentialId,
        now_ms: u64,
    ) -> Result<(), Error> {
        let tx = self.db.begin_read()?;
        let grants = tx.open_table(store::GRANTS)?;
        let grant = grants
            .get(&g.0)?
            .ok_or_else(|| Error::Unauthorized(format!("no grant {g}")))?;
        let grant = GrantRecord::decode(grant.value())?;
        if grant.key != *key || grant.grantee != *credential {
            return Err(Error::Unauthorized(
                "the grant is for another key or credential".into(),
            ));
        }
        if now_ms > grant.not_after_ms {
            return Err(Error::Unauthorized("the grant has expired".into()));
        }
        if tx.open_table(store::GRANT_REVOKED)?.get(&g.0)?.is_some() {
            return Err(Error::Unauthorized("the grant was revoked".into()));
        }
        let used = tx
            .open_table(store::GRANT_USES)?
            .get(&g.0)?
            .map_or(0, |v| v.value());
        let mut inflight = self
            .inflight_grants
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let pending = inflight.entry(g).or_insert(0);
        if used.saturating_add(*pending) >= grant.max_uses {
            return Err(Error::Unauthorized(format!(
                "the grant allows {} signatures and all are used",
                grant.max_uses
            )));
        }
        *pending += 1;
        Ok(())
    }

    fn release_grant(&self, grant: Option<GrantId>) {
        if let Some(g) = grant {
            let mut inflight = self
                .inflight_grants
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(n) = inflight.get_mut(&g) {
                *n = n.saturating_sub(1);
            }
        }
    }

    /// Creates a delegated-signing grant on the owner's authorization
    /// (`Action::Grant`, digest = SHA-256 of the encoded [`GrantRecord`]).
    ///
    /// # Errors
    /// [`Error::Unauthorized`], [`Error::KeyNotFound`], [`Error::Malformed`].
    pub fn grant(
        &self,
        tenant: &TenantId,
        grant: &GrantRecord,
        authorization: &Authorization,
        now_ms: u64,
    ) -> Result<GrantId, Error> {
        let (record, disabled) = self.load_key(tenant, &grant.key)?;
        if disabled {
            return Err(Error::KeyDisabled(grant.key.to_string()));
        }
        let bytes = grant.encode()?;
        let (grantee, revoked) = self
            .credential(&grant.grantee)
            .map_err(|_| Error::CredentialNotFound(grant.grantee.to_string()))?;
        if grantee.tenant != record.tenant || revoked {
            return Err(Error::CredentialNotFound(grant.grantee.to_string()));
        }
        if grant.not_after_ms <= now_ms {
            return Err(malformed("grant", "not_after is in the past"));
        }
        let digest = Sha256::digest(&bytes).into();
        self.check_owner_authorization(
            authorization,
            tenant,
            record.tenant,
            record.owner,
            Action::Grant,
            Some(grant.key),
            digest,
            now_ms,
        )?;
        let id = GrantId::random()?;
        let ev = evidence::record(
            "vault.grant.created",
            &format!("key:{}", grant.key),
            now_ms,
            self.submitter(),
            &[
                (
                    "authorization",
                    Sha256::digest(authorization.statement.to_bytes()).into(),
                ),
                ("grant", digest),
            ],
            &[
                ("grant", &id.to_string()),
                ("grantee", &grant.grantee.to_string()),
                ("max-uses", &grant.max_uses.to_string()),
                ("not-after", &grant.not_after_ms.to_string()),
                ("purpose", &grant.purpose),
                ("tenant", tenant.as_str()),
            ],
        )?;
        let key = grant.key;
        self.commit_authorized(Some(authorization), vec![ev], move |tx, leaf| {
            insert_new(
                &mut tx.open_table(store::GRANTS)?,
                &id.0,
                bytes.as_slice(),
                "grant",
                || id.to_string(),
            )?;
            tx.open_table(store::USAGE)?
                .insert(&usage_key(&key, leaf), code::GRANT_CREATED)?;
            Ok(())
        })?;
        Ok(id)
    }

    /// Disables a key on its owner's authorization (`Action::Disable`, digest = SHA-256
    /// of the key id). The record and its history stay; the key signs nothing more.
    ///
    /// # Errors
    /// [`Error::Unauthorized`], [`Error::KeyNotFound`], [`Error::KeyDisabled`].
    pub fn disable(
        &self,
        tenant: &TenantId,
        key: &KeyId,
        authorization: &Authorization,
        now_ms: u64,
    ) -> Result<(), Error> {
        let (record, disabled) = self.load_key(tenant, key)?;
        if disabled {
            return Err(Error::KeyDisabled(key.to_string()));
        }
        let digest = Sha256::digest(key.0).into();
        self.check_owner_authorization(
            authorization,
            tenant,
            record.tenant,
            record.owner,
            Action::Disable,
            Some(*key),
            digest,
            now_ms,
        )?;
        let ev = evidence::record(
            "vault.key.disabled",
            &format!("key:{key}"),
            now_ms,
            self.submitter(),
            &[(
                "authorization",
                Sha256::digest(authorization.statement.to_bytes()).into(),
            )],
            &[
                (
                    "credential",
                    &authorization.statement.credential.to_string(),
                ),
                ("tenant", tenant.as_str()),
            ],
        )?;
        let key = *key;
        self.commit_authorized(Some(authorization), vec![ev], move |tx, leaf| {
            insert_new(
                &mut tx.open_table(store::KEY_DISABLED)?,
                &key.0,
                (now_ms, "owner"),
                "disablement",
                || key.to_string(),
            )?;
            tx.open_table(store::USAGE)?
                .insert(&usage_key(&key, leaf), code::KEY_DISABLED)?;
            Ok(())
        })
        .map(|_| ())
    }

    /// Every evidence record about a key (creation, signatures, grants, disablement), in
    /// log order, at most `limit` from leaf `from` on.
    ///
    /// # Errors
    /// [`Error::KeyNotFound`]; storage and evidence errors.
    pub fn audit_key(
        &self,
        tenant: &TenantId,
        key: &KeyId,
        from: u64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, Error> {
        self.load_key(tenant, key)?;
        self.flush_evidence()?;
        let leaves: Vec<u64> = {
            let tx = self.db.begin_read()?;
            let creations = tx.open_table(store::CREATIONS)?;
            let seq = key.sequence();
            let created = match creations.range(..=seq)?.next_back() {
                Some(row) => {
                    let (first_seq, v) = row?;
                    let (count, leaf) = v.value();
                    (seq - first_seq.value() < u64::from(count))
                        .then(|| leaf + (seq - first_seq.value()))
                }
                None => None,
            };
            let usage = tx.open_table(store::USAGE)?;
            let lo = usage_key(key, from);
            let hi = usage_key(key, u64::MAX);
            let leaf_of = |k: &[u8; 24]| {
                let mut leaf = [0u8; 8];
                leaf.copy_from_slice(&k[16..]);
                u64::from_be_bytes(leaf)
            };
            let mut out: Vec<u64> = created.filter(|l| *l >= from).into_iter().collect();
            for row in usage.range::<&[u8; 24]>(&lo..=&hi)?.take(limit) {
                out.push(leaf_of(row?.0.value()));
            }
            // Signatures, from the index the drainer keeps (current: flushed above).
            let itx = self.index.begin_read()?;
            let signed = itx.open_table(store::SIGNED_INDEX)?;
            for row in signed.range::<&[u8; 24]>(&lo..=&hi)?.take(limit) {
                out.push(leaf_of(row?.0.value()));
            }
            out.sort_unstable();
            out.truncate(limit);
            out
        };
        self.read_evidence(&leaves)
    }

    /// Every evidence record about an owner's credentials and recoveries.
    ///
    /// # Errors
    /// Storage and evidence errors.
    pub fn audit_owner(
        &self,
        tenant: &TenantId,
        owner: OwnerId,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, Error> {
        let Some(t) = self.lookup_tenant(tenant)? else {
            return Ok(Vec::new());
        };
        let leaves: Vec<u64> = {
            let tx = self.db.begin_read()?;
            let index = tx.open_table(store::OWNER_EVENTS)?;
            let lo = owner_event_key(t, &owner, 0);
            let hi = owner_event_key(t, &owner, u64::MAX);
            let mut out = Vec::new();
            for row in index.range::<&[u8; 28]>(&lo..=&hi)?.take(limit) {
                let (k, _) = row?;
                let mut leaf = [0u8; 8];
                leaf.copy_from_slice(&k.value()[20..]);
                out.push(u64::from_be_bytes(leaf));
            }
            out
        };
        self.read_evidence(&leaves)
    }

    pub(crate) fn read_evidence(&self, leaves: &[u64]) -> Result<Vec<AuditEntry>, Error> {
        // Lock the log first: the drainer moves records out of the outbox only under
        // this lock, so each record is in exactly one of the two while we read.
        let log = self
            .evidence
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let pending = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let tx = self.db.begin_read()?;
        let outbox = tx.open_table(store::OUTBOX)?;
        let outbox_keys = tx.open_table(store::OUTBOX_KEYS)?;
        let missing = |leaf: u64| Error::Evidence(format!("record {leaf} is missing"));
        leaves
            .iter()
            .map(|&leaf| {
                let bytes = if leaf < log.size().0 {
                    log.entry(affix_merkle::LeafIndex(leaf))?
                } else if let Some(bytes) = pending
                    .iter()
                    .find(|f| f.first_leaf <= leaf && leaf < f.end())
                    .and_then(|f| f.records.get(usize::try_from(leaf - f.first_leaf).ok()?))
                {
                    bytes.clone()
                } else if let Some(v) = outbox.get(leaf)? {
                    v.value().to_vec()
                } else {
                    // A creation record not drained yet: derive it as the drainer will.
                    let row = outbox_keys.range(..=leaf)?.next_back().transpose()?;
                    let (first, (seq, count)) = row
                        .map(|(k, v)| (k.value(), v.value()))
                        .ok_or_else(|| missing(leaf))?;
                    if leaf - first >= u64::from(count) {
                        return Err(missing(leaf));
                    }
                    creation_records(&tx, seq + (leaf - first), 1, self.submitter())?
                        .pop()
                        .ok_or_else(|| missing(leaf))?
                };
                Ok(AuditEntry {
                    leaf,
                    record: affix_evidence::EvidenceRecord::decode(&bytes)?,
                })
            })
            .collect()
    }

    /// Number of keys in the vault (scans the key table).
    ///
    /// # Errors
    /// Storage errors.
    pub fn key_count(&self) -> Result<u64, Error> {
        let tx = self.db.begin_read()?;
        Ok(tx.open_table(store::KEYS)?.len()?)
    }

    pub(crate) fn bump_gen(&self, generation: u32) {
        self.kek_gen.store(u64::from(generation), Ordering::Release);
    }

    pub(crate) fn set_master(&self, master: Arc<dyn MasterKey>) {
        *self
            .master
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = master;
    }
}

impl Drainer {
    fn start(ctx: DrainCtx, size: u64) -> Self {
        let signal = Arc::new((
            Mutex::new(DrainState {
                wanted: size,
                ..DrainState::default()
            }),
            Condvar::new(),
        ));
        let s = signal.clone();
        let thread = std::thread::Builder::new()
            .name("vault-evidence-drain".into())
            .spawn(move || {
                // Below the signing threads: draining is bulk work that may wait a few
                // milliseconds, a signature should not. (Best effort: a refusal leaves
                // the default priority.)
                let _ = rustix::process::setpriority_process(
                    Some(rustix::thread::gettid()),
                    DRAIN_NICE,
                );
                let mut drained = size;
                loop {
                    {
                        let (lock, cv) = &*s;
                        let mut st = lock
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        while !st.stop && st.wanted <= drained {
                            st = cv
                                .wait(st)
                                .unwrap_or_else(std::sync::PoisonError::into_inner);
                        }
                        if st.stop && st.wanted <= drained {
                            // Closing: what the index holds in memory goes to disk.
                            if let Err(e) = persist_index(&ctx) {
                                st.error = Some(e.to_string());
                            }
                            return;
                        }
                        // Let small amounts accumulate for a moment: every drain is a log
                        // append (several fsyncs) and a store transaction, which compete
                        // with the signing path. Records are durable in the outbox already.
                        let deadline = std::time::Instant::now() + DRAIN_DELAY;
                        while !st.stop && !st.urgent && st.wanted - drained < DRAIN_EAGER {
                            let Some(left) =
                                deadline.checked_duration_since(std::time::Instant::now())
                            else {
                                break;
                            };
                            st = cv
                                .wait_timeout(st, left)
                                .unwrap_or_else(std::sync::PoisonError::into_inner)
                                .0;
                        }
                        st.urgent = false;
                    }
                    match drain_outbox(&ctx) {
                        Ok(n) => {
                            drained = n;
                            // Then the journal's housekeeping (retiring drained segments,
                            // keeping a spare ready), off the signing path. A failure
                            // loses nothing and is retried after the next drain.
                            if let Err(e) = ctx.journal.maintain(n) {
                                let (lock, _) = &*s;
                                lock.lock()
                                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                                    .error = Some(e.to_string());
                            }
                        }
                        Err(e) => {
                            let (lock, _) = &*s;
                            lock.lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner)
                                .error = Some(e.to_string());
                            // The outbox keeps everything: retry later, or leave it
                            // to the next open when the vault is closing.
                            if lock
                                .lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner)
                                .stop
                            {
                                return;
                            }
                            std::thread::sleep(std::time::Duration::from_millis(100));
                        }
                    }
                }
            })
            .ok();
        Self { signal, thread }
    }

    fn wake(&self, wanted: u64) {
        let (lock, cv) = &*self.signal;
        let mut st = lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        st.wanted = st.wanted.max(wanted);
        cv.notify_one();
    }
}

impl Drop for Vault {
    fn drop(&mut self) {
        if let Some(mut d) = self.drainer.take() {
            {
                let (lock, cv) = &*d.signal;
                lock.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .stop = true;
                cv.notify_one();
            }
            if let Some(t) = d.thread.take() {
                let _ = t.join();
            }
        }
    }
}

struct Checked {
    record: KeyRecord,
    cred: CredentialRecord,
    digest: [u8; 32],
}

/// A prepared signature, once its record went to the journal or to the store.
struct Slot {
    /// Its record went to the journal (otherwise to the store, with a grant use).
    journaled: bool,
    signature: SignatureBytes,
    grant: Option<GrantId>,
}

struct Prepared {
    key: KeyId,
    nonce: [u8; 40],
    expires_ms: u64,
    grant: Option<GrantId>,
    signature: SignatureBytes,
    record: Vec<u8>,
}

/// The digest a `RegisterCredential` authorization binds.
pub fn credential_digest(kind: CredentialKind, public_key: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([kind.code()]);
    h.update(public_key);
    h.finalize().into()
}

/// Where and how a 32-byte secret is sealed: the KEK (generation, tenant number), the
/// AES-GCM nonce and the associated data.
pub(crate) struct Envelope {
    pub(crate) kek_gen: u32,
    pub(crate) tenant: u32,
    pub(crate) nonce: [u8; 12],
    pub(crate) aad: Vec<u8>,
}

/// The envelope nonce of a key: the first 12 bytes of its id (unique per KEK: the
/// sequence number and 4 random bytes).
fn key_nonce(id: &KeyId) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(&id.0[..12]);
    nonce
}

/// Creates the journal directory, durably (its entry in the vault directory).
fn create_journal_dir(dir: &Path) -> Result<(), Error> {
    let journal = dir.join("journal");
    std::fs::create_dir_all(&journal)
        .and_then(|()| std::fs::File::open(dir)?.sync_all())
        .map_err(|e| Error::Store(format!("creating {}: {e}", journal.display())))
}

/// Associated data of a wrapped KEK.
pub(crate) fn kek_aad(generation: u32, tenant: u32) -> Vec<u8> {
    let mut aad = KEK_AAD_CONTEXT.to_vec();
    aad.extend_from_slice(&generation.to_be_bytes());
    aad.extend_from_slice(&tenant.to_be_bytes());
    aad
}

/// The `nonces` table key of a spent authorization: expiry ms BE ‖ credential ‖ nonce.
pub(crate) fn nonce_row(auth: &Authorization) -> [u8; 40] {
    let mut k = [0u8; 40];
    k[..8].copy_from_slice(&auth.statement.expires_ms.to_be_bytes());
    k[8..].copy_from_slice(&nonce_key(auth));
    k
}

/// An authorization's identity for in-flight reservations: credential ‖ nonce.
pub(crate) fn nonce_key(auth: &Authorization) -> [u8; 32] {
    let mut k = [0u8; 32];
    k[..16].copy_from_slice(&auth.statement.credential.0);
    k[16..].copy_from_slice(&auth.statement.nonce);
    k
}

pub(crate) fn usage_key(key: &KeyId, leaf: u64) -> [u8; 24] {
    usage_key_of(&key.0, leaf)
}

/// (key or wallet id ‖ leaf index BE): wallet ids have their first bit set and key ids
/// do not, so the two share the `usage` index without meeting.
pub(crate) fn usage_key_of(id: &[u8; 16], leaf: u64) -> [u8; 24] {
    let mut k = [0u8; 24];
    k[..16].copy_from_slice(id);
    k[16..].copy_from_slice(&leaf.to_be_bytes());
    k
}

/// Indexes the evidence record at `leaf` under the owner it is about.
pub(crate) fn index_owner_event(
    tx: &redb::WriteTransaction,
    t: u32,
    owner: &OwnerId,
    leaf: u64,
    event: u8,
) -> Result<(), Error> {
    tx.open_table(store::OWNER_EVENTS)?
        .insert(&owner_event_key(t, owner, leaf), event)?;
    Ok(())
}

pub(crate) fn owner_event_key(t: u32, owner: &OwnerId, leaf: u64) -> [u8; 28] {
    let mut k = [0u8; 28];
    k[..20].copy_from_slice(&owner_key(t, &owner.0));
    k[20..].copy_from_slice(&leaf.to_be_bytes());
    k
}

pub(crate) fn owner_cred_key(t: u32, owner: &OwnerId, cred: &CredentialId) -> [u8; 36] {
    let mut k = [0u8; 36];
    k[..20].copy_from_slice(&owner_key(t, &owner.0));
    k[20..].copy_from_slice(&cred.0);
    k
}

/// A statement for signing `payload` with `key`, valid for `lifetime_ms` from `now_ms`,
/// with a fresh nonce (the device fills in its credential id when it signs).
///
/// # Errors
/// [`Error::Random`].
pub fn sign_statement(
    tenant: &TenantId,
    key: KeyId,
    payload: &Payload,
    grant: Option<GrantId>,
    now_ms: u64,
    lifetime_ms: u64,
) -> Result<Statement, Error> {
    Ok(Statement {
        tenant: tenant.clone(),
        action: Action::Sign,
        key: Some(key),
        payload_kind: payload.kind_code(),
        digest: payload.digest(),
        grant,
        nonce: crate::authz::fresh_nonce()?,
        expires_ms: now_ms + lifetime_ms,
        credential: CredentialId([0; 16]),
    })
}

/// A statement for a non-signing `action`.
///
/// # Errors
/// [`Error::Random`].
pub fn action_statement(
    tenant: &TenantId,
    action: Action,
    key: Option<KeyId>,
    digest: [u8; 32],
    now_ms: u64,
    lifetime_ms: u64,
) -> Result<Statement, Error> {
    Ok(Statement {
        tenant: tenant.clone(),
        action,
        key,
        payload_kind: 0,
        digest,
        grant: None,
        nonce: crate::authz::fresh_nonce()?,
        expires_ms: now_ms + lifetime_ms,
        credential: CredentialId([0; 16]),
    })
}
