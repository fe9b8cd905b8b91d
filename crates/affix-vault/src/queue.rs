//! The signing queue: the vault's front end for many concurrent single requests.
//!
//! A server receives signing requests one at a time from many clients. Handled one by
//! one, each would verify its authorization alone and pay for its own store commit.
//! The queue gathers whatever requests are waiting (up to
//! [`SignQueueConfig::max_batch`]) and hands them to [`Vault::sign_many`] as one batch:
//! Ed25519 authorizations are batch-verified and the whole batch shares one group
//! commit. A batch is never held back to wait for more requests: a worker takes what is
//! queued the moment it is free, so a lone request is signed at once and batches grow
//! only under load. Each request still succeeds or fails on its own.
//!
//! The queue is bounded ([`SignQueueConfig::capacity`]); a full queue refuses new
//! requests with [`Error::Busy`] instead of letting latency grow without limit.

use crate::error::Error;
use crate::vault::{SignRequest, Signed, Vault};
use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;

/// What a queued request's caller is told, exactly once.
type Reply = Box<dyn FnOnce(Result<Signed, Error>) + Send>;

/// The clock the workers read when they sign a batch (milliseconds since the epoch).
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// Sizes of the signing queue.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct SignQueueConfig {
    /// Worker threads, each signing one batch at a time (default 2). The first takes
    /// whatever is waiting; the others join only while at least [`Self::backlog`]
    /// requests wait. Under light load one pipeline keeps commits few and large (low
    /// latency); under heavy load the others overlap one batch's commit with the next
    /// one's signing (throughput). [`Vault::sign_many`] also spreads a large batch over
    /// the cores.
    pub workers: usize,
    /// Most requests in one batch (at most [`crate::BATCH_REQUESTS_MAX`]).
    pub max_batch: usize,
    /// Most requests waiting; more are refused with [`Error::Busy`].
    pub capacity: usize,
    /// Waiting requests from which workers beyond the first join in.
    pub backlog: usize,
}

impl Default for SignQueueConfig {
    fn default() -> Self {
        Self {
            workers: 2,
            max_batch: 256,
            capacity: 16_384,
            backlog: 64,
        }
    }
}

impl SignQueueConfig {
    /// A configuration with `workers` workers, batches of at most `max_batch` and room
    /// for `capacity` waiting requests; workers beyond the first join from a backlog of
    /// a quarter batch.
    pub fn new(workers: usize, max_batch: usize, capacity: usize) -> Self {
        Self {
            workers,
            max_batch,
            capacity,
            backlog: (max_batch / 4).max(1),
        }
    }
}

/// The signing queue and its worker threads. Dropping it signs what is queued, then
/// stops the workers.
pub struct SignQueue {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
}

struct Shared {
    vault: Arc<Vault>,
    clock: Clock,
    config: SignQueueConfig,
    state: Mutex<State>,
    /// Wakes the first worker: something is waiting.
    ready: Condvar,
    /// Wakes the other workers: a backlog is waiting.
    backlog: Condvar,
}

#[derive(Default)]
struct State {
    pending: VecDeque<(SignRequest, Reply)>,
    stop: bool,
}

impl std::fmt::Debug for SignQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignQueue")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl SignQueue {
    /// Starts the workers.
    ///
    /// # Errors
    /// [`Error::Malformed`] for a configuration with no worker, an empty or oversized
    /// batch, or no capacity; [`Error::Store`] if a thread cannot be started.
    pub fn start(vault: Arc<Vault>, clock: Clock, config: SignQueueConfig) -> Result<Self, Error> {
        if config.workers == 0
            || config.max_batch == 0
            || config.max_batch > crate::BATCH_REQUESTS_MAX
            || config.capacity == 0
        {
            return Err(crate::error::malformed(
                "signing queue configuration",
                format!(
                    "workers {}, max_batch {} (1..={}), capacity {}",
                    config.workers,
                    config.max_batch,
                    crate::BATCH_REQUESTS_MAX,
                    config.capacity
                ),
            ));
        }
        let shared = Arc::new(Shared {
            vault,
            clock,
            config,
            state: Mutex::new(State::default()),
            ready: Condvar::new(),
            backlog: Condvar::new(),
        });
        let mut workers = Vec::with_capacity(config.workers);
        for i in 0..config.workers {
            let shared = Arc::clone(&shared);
            let handle = std::thread::Builder::new()
                .name(format!("affix-sign-{i}"))
                .spawn(move || shared.work(i == 0))
                .map_err(|e| Error::io("starting a signing worker", e))?;
            workers.push(handle);
        }
        Ok(Self { shared, workers })
    }

    /// Queues `request`; `reply` is called once with its outcome, on a worker thread
    /// (keep it short: hand the result over, don't work in it; a panic in it is caught).
    ///
    /// # Errors
    /// [`Error::Busy`] when the queue is full (`reply` is not called).
    pub fn submit(
        &self,
        request: SignRequest,
        reply: impl FnOnce(Result<Signed, Error>) + Send + 'static,
    ) -> Result<(), Error> {
        let mut state = self.shared.lock();
        if state.stop {
            return Err(Error::Busy("the signing queue is shutting down".into()));
        }
        if state.pending.len() >= self.shared.config.capacity {
            return Err(Error::Busy(format!(
                "{} signing requests are waiting already",
                state.pending.len()
            )));
        }
        state.pending.push_back((request, Box::new(reply)));
        let backlog = state.pending.len() >= self.shared.config.backlog;
        drop(state);
        self.shared.ready.notify_one();
        if backlog {
            self.shared.backlog.notify_one();
        }
        Ok(())
    }

    /// Queues `request` and waits for its outcome.
    ///
    /// # Errors
    /// [`Error::Busy`] when the queue is full; otherwise as [`Vault::sign_many`].
    pub fn sign(&self, request: SignRequest) -> Result<Signed, Error> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.submit(request, move |result| {
            // The receiver waits below; it is gone only if this thread died.
            let _ = tx.send(result);
        })?;
        rx.recv()
            .unwrap_or_else(|_| Err(Error::internal("signing worker stopped")))
    }

    /// Requests waiting for a worker.
    pub fn waiting(&self) -> usize {
        self.shared.lock().pending.len()
    }
}

impl Drop for SignQueue {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.ready.notify_all();
        self.shared.backlog.notify_all();
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn work(&self, first: bool) {
        loop {
            let batch: Vec<(SignRequest, Reply)> = {
                let mut state = self.lock();
                loop {
                    let enough = if first {
                        !state.pending.is_empty()
                    } else {
                        state.pending.len() >= self.config.backlog
                    };
                    if enough || state.stop {
                        break;
                    }
                    let signal = if first { &self.ready } else { &self.backlog };
                    state = signal.wait(state).unwrap_or_else(PoisonError::into_inner);
                }
                if state.pending.is_empty() {
                    return; // stopping, and nothing left to sign
                }
                let n = state.pending.len().min(self.config.max_batch);
                let batch = state.pending.drain(..n).collect();
                // More waiting than this batch: let another worker start on it now.
                if !state.pending.is_empty() {
                    self.ready.notify_one();
                }
                if state.pending.len() >= self.config.backlog {
                    self.backlog.notify_one();
                }
                batch
            };
            let (requests, replies): (Vec<SignRequest>, Vec<Reply>) = batch.into_iter().unzip();
            let count = requests.len();
            // A panic must not take a worker down with it (the first worker is the one
            // that serves a light load): answer the batch with an error and go on.
            let results = std::panic::catch_unwind(AssertUnwindSafe(|| {
                self.vault.sign_many(requests, (self.clock)())
            }))
            .unwrap_or_else(|_| {
                (0..count)
                    .map(|_| Err(Error::internal("signing failed unexpectedly")))
                    .collect()
            });
            for (reply, result) in replies.into_iter().zip(results) {
                let _ = std::panic::catch_unwind(AssertUnwindSafe(|| reply(result)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_is_valid() {
        let c = SignQueueConfig::default();
        assert!(c.workers >= 1 && c.max_batch <= crate::BATCH_REQUESTS_MAX && c.capacity > 0);
    }
}
