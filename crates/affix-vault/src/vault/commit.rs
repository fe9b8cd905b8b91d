//! The group commit: concurrent callers hand in their work and one of them, the leader,
//! commits everything waiting as one batch — the signing journal's part first (one
//! append, one flush), then the store's (one redb transaction). A commit whose outcome on
//! disk is unknown poisons the queue: nothing more commits until the vault is reopened.
//! Mechanism only: what a job writes, and whether it may, is decided by its caller.

use super::Vault;
use crate::error::{Error, EvidenceError};
use crate::journal;
use crate::store;
use std::collections::HashMap;
use std::sync::Arc;

type StoreWrite = Box<dyn FnOnce(&redb::WriteTransaction, u64) -> Result<(), Error> + Send>;

/// One unit of group commit: evidence records and the store writes that go with them
/// (given the leaf index of the first record).
pub(crate) struct Job {
    pub(crate) records: Vec<Vec<u8>>,
    /// Keys created by this job (first key sequence number, count): their
    /// `vault.key.created` records take the job's first `count` leaves and are derived
    /// from the key records by the drainer ([`super::drain::creation_records`]) instead of being
    /// copied into the outbox, where ten million of them would churn gigabytes.
    pub(crate) key_creations: Option<(u64, u32)>,
    pub(crate) write: StoreWrite,
}

/// Key signatures for the signing journal: their records take consecutive leaves.
pub(super) struct JournalJob {
    pub(super) signatures: Vec<journal::Signature>,
    pub(super) now_ms: u64,
}

/// What a group commit is given.
pub(super) enum Work {
    /// Records and store writes, committed in one redb transaction.
    Store(Job),
    /// Key signatures, appended to the signing journal.
    Journal(JournalJob),
}

#[derive(Default)]
pub(super) struct CommitQueue {
    pending: Vec<(u64, Work)>,
    next_ticket: u64,
    leader: bool,
    done: HashMap<u64, Result<u64, Error>>,
    /// Leaf index of the next evidence record (log size plus outbox and journal records
    /// not drained yet).
    next_leaf: u64,
    /// A commit failed with what reached the disk unknown: leaves may be taken, so
    /// nothing more commits until the vault is reopened.
    poisoned: Option<Arc<Error>>,
}

impl CommitQueue {
    /// An empty queue whose next record takes leaf `next_leaf`.
    pub(super) fn starting_at(next_leaf: u64) -> Self {
        Self {
            next_leaf,
            ..Self::default()
        }
    }
}

impl Vault {
    /// Commits `job.records` (durable in the outbox, then drained into the evidence log)
    /// and applies `job.write`, sharing the transaction with concurrent callers. Returns
    /// the leaf index of the job's first record.
    pub(crate) fn commit(&self, job: Job) -> Result<u64, Error> {
        self.commit_works(vec![Work::Store(job)])
            .pop()
            .unwrap_or_else(|| Err(Error::internal("no commit result")))
    }

    /// Hands `works` to the group commit and waits for all of them: one result each, in
    /// order (the leaf index of each one's first record).
    pub(super) fn commit_works(&self, works: Vec<Work>) -> Vec<Result<u64, Error>> {
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
                            .unwrap_or_else(|| Err(Error::internal("no commit result")))
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

    /// One group commit: the journal's signatures take the first leaves (one append,
    /// one flush), then the store jobs (one redb transaction). Each part is durable
    /// before the next starts, so the leaves on disk never have a hole.
    ///
    /// A job's own write error is that job's answer; a failure of the commit itself is
    /// every job's ([`EvidenceError::CommitFailed`]).
    fn commit_batch(&self, batch: Vec<(u64, Work)>) -> Vec<(u64, Result<u64, Error>)> {
        let (first, poisoned) = {
            let queue = self
                .queue
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            (queue.next_leaf, queue.poisoned.clone())
        };
        if let Some(e) = poisoned {
            return batch
                .into_iter()
                .map(|(t, _)| (t, Err(Error::Evidence(EvidenceError::Poisoned(e.clone())))))
                .collect();
        }
        let failed_with = |e: &Arc<Error>| Err(Error::commit_failed(e));
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
                    let e = e.shared();
                    results.extend(tickets.into_iter().map(|(t, _)| (t, failed_with(&e))));
                    results.extend(stored.drain(..).map(|(t, _)| (t, failed_with(&e))));
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
                    let e = e.shared();
                    results.extend(tickets.into_iter().map(|t| (t, failed_with(&e))));
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
    ) -> Result<(Vec<Result<u64, Error>>, u64), (Error, bool)> {
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
            results.push((job.write)(&tx, start).map(|()| start));
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
}
