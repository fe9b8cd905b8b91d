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
//!
//! This file holds the [`Vault`] itself: creating and opening one, its accessors, and
//! closing it. The rest is split into mechanism, which knows nothing of who may do what:
//!
//! - `commit`: the group commit (jobs, the commit queue and its leader, poisoning);
//! - `drain`: the drainer thread, the signature index and the creation records it derives;
//! - `sealing`: tenants and their KEKs, the cipher cache, envelope sealing and opening;
//! - the redb table-key layouts live beside the tables, in [`crate::store`];
//!
//! and policy, which decides and records:
//!
//! - `credentials`: registration, revocation, the owner-authorization check;
//! - `nonces`: reserving, spending and releasing authorization nonces;
//! - `lifecycle`: key creation, description and disablement;
//! - `signing`: [`Vault::sign`], [`Vault::sign_many`] and their batch verification;
//! - `grants`: delegated-signing grants and their use;
//! - `audit`: reading a key's or an owner's evidence back.
//!
//! [`journal`]: crate::journal

mod audit;
mod commit;
mod credentials;
mod drain;
mod grants;
mod lifecycle;
mod nonces;
mod sealing;
mod signing;

pub use audit::AuditEntry;
use commit::CommitQueue;
pub(crate) use commit::Job;
pub use credentials::PasskeyRegistration;
pub use credentials::credential_digest;
use credentials::proof_digests;
use drain::{DrainCtx, Drainer, PendingFrames, catch_up_index, drain_outbox};
pub use lifecycle::KeyInfo;
pub use sealing::KEK_AAD_CONTEXT;
pub(crate) use sealing::{Envelope, kek_aad};
pub use signing::{SignRequest, Signed};

use crate::error::{Error, StoreError, malformed};
use crate::ids::{GrantId, KeyId, TenantId};
use crate::journal::{Journal, SpentNonces};
use crate::store;
use aes_gcm::Aes256Gcm;
use affix_logstore::LogStore;
use affix_seal::MasterKey;
use redb::{ReadableDatabase, ReadableTable};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};

/// The vault's store format, kept in `meta`. v3 adds the signing journal (`journal/`);
/// a v2 store is a v3 store with an empty journal and is migrated at open.
pub const STORE_FORMAT: &[u8] = b"affix-vault/v3";

/// The previous store format, migrated to [`STORE_FORMAT`] when opened.
const STORE_FORMAT_V2: &[u8] = b"affix-vault/v2";

/// Most requests in one [`Vault::sign_many`] or [`Vault::create_keys`] call.
pub const BATCH_REQUESTS_MAX: usize = 65_536;

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
    /// The WebAuthn relying party passkeys are registered with and assert to: its id
    /// (the host of the platform's public URL) and the allowed origins. Default:
    /// [`default_relying_party`] (`localhost`, `http://localhost:8080`).
    pub webauthn: affix_webauthn::RelyingParty,
}

/// The default relying party: RP id `localhost`, origin `http://localhost:8080` (the
/// platform's default listen port; browsers treat `http://localhost` as a secure
/// context and refuse an IP address as an RP id).
pub fn default_relying_party() -> affix_webauthn::RelyingParty {
    affix_webauthn::RelyingParty::new("localhost", vec!["http://localhost:8080".to_owned()])
        // Both are constants well within RelyingParty::new's limits.
        .expect("the default relying party is valid")
}

impl Default for VaultConfig {
    fn default() -> Self {
        Self {
            submitter: "vault:main".into(),
            recovery: crate::recovery::RecoveryPolicy::default(),
            cache_bytes: 1 << 30,
            sign_threads: std::thread::available_parallelism().map_or(1, usize::from),
            undrained_signature_records_max: UNDRAINED_SIGNATURE_RECORDS_MAX,
            webauthn: default_relying_party(),
        }
    }
}

/// Default of [`VaultConfig::undrained_signature_records_max`] (at ~300 bytes a record,
/// about 150 MB of memory). The drainer normally keeps the backlog under
/// [`drain::DRAIN_EAGER_RECORDS`]; the bound holds when it stalls.
const UNDRAINED_SIGNATURE_RECORDS_MAX: u64 = 1 << 19;

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
    /// Passkey sign counters accepted but not committed yet.
    inflight_sign_counts: Mutex<nonces::InflightSignCounts>,
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
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
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
            tx.open_table(store::PASSKEYS)?;
            tx.open_table(store::SIGN_COUNTS)?;
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
                    return Err(Error::Store(StoreError::JournalMissing(dir.to_path_buf())));
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
            // Tables added after a vault was created (v1 stores from before wallets,
            // stores from before passkeys).
            let tx = db.begin_write()?;
            tx.open_table(store::WALLETS)?;
            tx.open_table(store::PASSKEYS)?;
            tx.open_table(store::SIGN_COUNTS)?;
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
            return Err(Error::missing_evidence(format!(
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
            queue: Mutex::new(CommitQueue::starting_at(size)),
            committed: Condvar::new(),
            ciphers: RwLock::new(HashMap::new()),
            tenants: RwLock::new(tenants),
            next_seq: AtomicU64::new(next_seq),
            kek_gen: AtomicU64::new(u64::from(kek_gen)),
            inflight_nonces: Mutex::new(HashSet::new()),
            inflight_grants: Mutex::new(HashMap::new()),
            inflight_sign_counts: Mutex::new(nonces::InflightSignCounts::default()),
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

impl Drop for Vault {
    fn drop(&mut self) {
        if let Some(d) = self.drainer.take() {
            d.stop();
        }
    }
}

/// Creates the journal directory, durably (its entry in the vault directory).
fn create_journal_dir(dir: &Path) -> Result<(), Error> {
    let journal = dir.join("journal");
    std::fs::create_dir_all(&journal)
        .and_then(|()| std::fs::File::open(dir)?.sync_all())
        .map_err(|e| Error::io(format!("creating {}", journal.display()), e))
}
