//! The drainer: a background thread that moves committed evidence records — journal
//! frames held in memory and `outbox` rows — into the evidence log in leaf order, derives
//! the `vault.key.created` records of key batches, and keeps the signature index
//! (`index.redb`) following the log. Mechanism only.

use super::Vault;
use crate::error::{Error, EvidenceError};
use crate::evidence;
use crate::ids::KeyId;
use crate::journal::{self, Journal};
use crate::record::KeyRecord;
use crate::store::{self, usage_key};
use affix_logstore::LogStore;
use redb::{ReadableDatabase, ReadableTable};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

/// Journal frames not yet in the evidence log, in leaf order (shared with the drainer).
pub(super) type PendingFrames = Arc<Mutex<VecDeque<Arc<journal::Frame>>>>;

/// The background thread that moves outbox records into the evidence log.
pub(super) struct Drainer {
    signal: Arc<(Mutex<DrainState>, Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Default)]
struct DrainState {
    /// Committed leaves not yet known to be drained.
    wanted: u64,
    stop: bool,
    /// The last drain error, reported by `flush_evidence`.
    error: Option<Arc<Error>>,
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
pub(super) const DRAIN_EAGER_RECORDS: u64 = 32_768;

/// Most records moved per drain step.
const DRAIN_RECORDS_MAX: usize = 65_536;

/// Records indexed between two durable commits of the signature index: at most this
/// many are re-indexed from the log when the vault is opened after a crash.
const INDEX_DURABLE_RECORDS: u64 = 1 << 20;

/// What draining needs: the store, the journal, the signature index, the log, and the
/// vault's name.
pub(super) struct DrainCtx {
    pub(super) db: Arc<redb::Database>,
    pub(super) journal: Arc<Journal>,
    /// Journal frames not yet in the log.
    pub(super) pending: PendingFrames,
    /// `index.redb`: the signature index, derived from the log (see [`index_signed`]).
    pub(super) index: Arc<redb::Database>,
    pub(super) log: Arc<Mutex<LogStore>>,
    pub(super) submitter: String,
    /// Leaves of the log whose signatures are in the index.
    pub(super) indexed: Arc<AtomicU64>,
    /// Leaves of the log whose signatures are durably in the index.
    pub(super) index_durable: AtomicU64,
}

impl Vault {
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
                    return Err(Error::Evidence(EvidenceError::DrainFailed(e)));
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

    /// Key-signature records in journal frames not yet in the evidence log (an upper
    /// bound: the span of their leaves).
    pub(super) fn undrained_journal_records(&self) -> u64 {
        let pending = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match (pending.front(), pending.back()) {
            (Some(first), Some(last)) => last.end().saturating_sub(first.first_leaf),
            _ => 0,
        }
    }
}

impl Drainer {
    pub(super) fn start(ctx: DrainCtx, size: u64) -> Self {
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
                                st.error = Some(Arc::new(e));
                            }
                            return;
                        }
                        // Let small amounts accumulate for a moment: every drain is a log
                        // append (several fsyncs) and a store transaction, which compete
                        // with the signing path. Records are durable in the outbox already.
                        let deadline = std::time::Instant::now() + DRAIN_DELAY;
                        while !st.stop && !st.urgent && st.wanted - drained < DRAIN_EAGER_RECORDS {
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
                                    .error = Some(Arc::new(e));
                            }
                        }
                        Err(e) => {
                            let (lock, _) = &*s;
                            lock.lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner)
                                .error = Some(Arc::new(e));
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

    /// Stops the thread once it has drained what was committed (or failed to), and
    /// waits for it.
    pub(super) fn stop(mut self) {
        {
            let (lock, cv) = &*self.signal;
            lock.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .stop = true;
            cv.notify_one();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    pub(super) fn wake(&self, wanted: u64) {
        let (lock, cv) = &*self.signal;
        let mut st = lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        st.wanted = st.wanted.max(wanted);
        cv.notify_one();
    }
}

/// Moves the records at leaves `log.size()..` into the log, in order — from the journal
/// frames not drained yet and from the outbox — indexes their signatures, then forgets
/// them: journal frames from memory (their segments are retired by
/// [`Journal::maintain`]), outbox rows from the store. Derived entries (`outbox_keys`)
/// are expanded into their creation records.
pub(super) fn drain_outbox(ctx: &DrainCtx) -> Result<u64, Error> {
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
        while out.len() < DRAIN_RECORDS_MAX {
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
    tx.set_durability(redb::Durability::None)?;
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
        tx.set_durability(redb::Durability::None)?;
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
pub(super) fn catch_up_index(ctx: &DrainCtx) -> Result<u64, Error> {
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
        let end = size.min(next + DRAIN_RECORDS_MAX as u64);
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
pub(super) fn creation_records(
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
            return Err(Error::missing_evidence(format!(
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
                    .ok_or_else(|| Error::corrupt(format!("no tenant {}", record.tenant)))?
                    .value()
                    .to_owned();
                tenant_cache = Some((record.tenant, name.clone()));
                name
            }
        };
        out.push(evidence::key_created(&id, &record, &tenant, submitter)?);
    }
    if out.len() != count as usize {
        return Err(Error::missing_evidence(format!(
            "creation batch at key sequence {first_seq}: {} of {count} keys found",
            out.len()
        )));
    }
    Ok(out)
}
