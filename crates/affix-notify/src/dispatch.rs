//! The bounded delivery queue: attempts due notifications, logs every attempt and
//! schedules retries.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::{
    Clock, DeliveryLog, DeliveryRecord, DeliveryState, Error, Notification, NotificationId,
    Notifier, RetrySchedule,
};

/// Configuration of a [`Dispatcher`].
#[derive(Clone, Debug)]
pub struct DispatcherConfig {
    /// Most pending notifications; [`Dispatcher::enqueue`] refuses beyond it.
    pub capacity: usize,
    /// Most attempts made by one [`Dispatcher::deliver_due`] call.
    pub batch_max: usize,
    /// When to retry.
    pub schedule: RetrySchedule,
}

impl Default for DispatcherConfig {
    fn default() -> Self {
        Self {
            capacity: 10_000,
            batch_max: 100,
            schedule: RetrySchedule::standard_webhooks(),
        }
    }
}

/// One attempt made by [`Dispatcher::deliver_due`]: the logged record and the
/// notification's new state, for the caller to persist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryUpdate {
    /// The attempt's record (already appended to the log).
    pub record: DeliveryRecord,
    /// The state after it; final states have left the queue.
    pub state: DeliveryState,
}

struct Entry {
    notification: Arc<Notification>,
    state: DeliveryState,
    in_flight: bool,
}

/// A bounded in-memory queue of pending notifications over a [`Notifier`], a
/// [`DeliveryLog`] and a [`Clock`].
///
/// It does no scheduling of its own: the caller runs [`Self::deliver_due`] (e.g. every
/// second, or at [`Self::next_due_ms`]). Each attempt's record is appended to the log
/// **before** the state advances; if the log refuses, the call fails and the
/// notification stays due, so it is attempted again (at-least-once: every logged record
/// is true, and no attempt goes unlogged after a successful return). Persisting pending
/// work is the caller's: store each [`DeliveryUpdate::state`] with its notification and
/// [`Self::restore`] them after a restart.
pub struct Dispatcher {
    notifier: Arc<dyn Notifier>,
    log: Arc<dyn DeliveryLog>,
    clock: Arc<dyn Clock>,
    config: DispatcherConfig,
    entries: Mutex<BTreeMap<NotificationId, Entry>>,
}

impl Dispatcher {
    /// A dispatcher with an empty queue.
    pub fn new(
        notifier: Arc<dyn Notifier>,
        log: Arc<dyn DeliveryLog>,
        clock: Arc<dyn Clock>,
        config: DispatcherConfig,
    ) -> Result<Self, Error> {
        if config.capacity == 0 || config.batch_max == 0 {
            return Err(Error::InvalidConfig {
                reason: "dispatcher capacity and batch size must be at least 1".into(),
            });
        }
        Ok(Self {
            notifier,
            log,
            clock,
            config,
            entries: Mutex::new(BTreeMap::new()),
        })
    }

    fn entries(&self) -> MutexGuard<'_, BTreeMap<NotificationId, Entry>> {
        // The map is never left half-updated by a panic (every update is one insert or
        // remove), so a poisoned lock's data is still consistent.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `notification` for its first attempt (due now, or after the schedule's
    /// first delay). Returns its state, for the caller to persist.
    pub fn enqueue(&self, notification: Notification) -> Result<DeliveryState, Error> {
        let state = DeliveryState::new(
            &self.config.schedule,
            notification.id(),
            self.clock.now_ms(),
        );
        self.insert(notification, state)?;
        Ok(state)
    }

    /// Puts back a notification persisted while pending (after a restart).
    pub fn restore(&self, notification: Notification, state: DeliveryState) -> Result<(), Error> {
        if state.is_final() {
            return Err(Error::AlreadyFinal {
                id: notification.id().to_string(),
            });
        }
        self.insert(notification, state)
    }

    fn insert(&self, notification: Notification, state: DeliveryState) -> Result<(), Error> {
        let mut entries = self.entries();
        if entries.contains_key(notification.id()) {
            return Err(Error::AlreadyQueued {
                id: notification.id().to_string(),
            });
        }
        if entries.len() >= self.config.capacity {
            return Err(Error::QueueFull {
                capacity: self.config.capacity,
            });
        }
        entries.insert(
            notification.id().clone(),
            Entry {
                notification: Arc::new(notification),
                state,
                in_flight: false,
            },
        );
        Ok(())
    }

    /// Number of pending notifications.
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.entries().is_empty()
    }

    /// The pending notifications and their states (for persistence or inspection).
    pub fn pending(&self) -> Vec<(Notification, DeliveryState)> {
        self.entries()
            .values()
            .map(|e| ((*e.notification).clone(), e.state))
            .collect()
    }

    /// The state of a pending notification.
    pub fn state(&self, id: &NotificationId) -> Option<DeliveryState> {
        self.entries().get(id).map(|e| e.state)
    }

    /// When the earliest pending attempt is due.
    pub fn next_due_ms(&self) -> Option<u64> {
        self.entries()
            .values()
            .filter_map(|e| e.state.next_attempt_at_ms())
            .min()
    }

    /// Attempts every notification due now (at most `batch_max`, earliest first), one
    /// after another; logs each attempt, advances its state, and drops notifications
    /// whose delivery is over. Attempts already in flight from a concurrent call are
    /// skipped.
    pub async fn deliver_due(&self) -> Result<Vec<DeliveryUpdate>, Error> {
        let now_ms = self.clock.now_ms();
        let due: Vec<(Arc<Notification>, DeliveryState)> = {
            let mut entries = self.entries();
            let mut due: Vec<_> = entries
                .values()
                .filter(|e| !e.in_flight && e.state.is_due(now_ms))
                .map(|e| {
                    (
                        e.state.next_attempt_at_ms().unwrap_or(0),
                        e.notification.id().clone(),
                    )
                })
                .collect();
            due.sort();
            due.truncate(self.config.batch_max);
            due.into_iter()
                .filter_map(|(_, id)| {
                    let entry = entries.get_mut(&id)?;
                    entry.in_flight = true;
                    Some((Arc::clone(&entry.notification), entry.state))
                })
                .collect()
        };
        let mut updates = Vec::with_capacity(due.len());
        let mut failure = None;
        for (notification, state) in due {
            if failure.is_some() {
                self.release(notification.id());
                continue;
            }
            let attempt = state.attempts_made().saturating_add(1);
            let record = self.notifier.send(&notification, attempt).await;
            let logged = {
                let log = Arc::clone(&self.log);
                let record = record.clone();
                tokio::task::spawn_blocking(move || log.append(&record))
                    .await
                    .map_err(|e| Error::Task {
                        reason: e.to_string(),
                    })
                    .and_then(|r| r)
            };
            if let Err(e) = logged {
                self.release(notification.id());
                failure = Some(e);
                continue;
            }
            let next = state.after_attempt(
                &record.outcome,
                &self.config.schedule,
                notification.id(),
                record.at_ms,
            );
            {
                let mut entries = self.entries();
                if next.is_final() {
                    entries.remove(notification.id());
                } else if let Some(entry) = entries.get_mut(notification.id()) {
                    entry.state = next;
                    entry.in_flight = false;
                }
            }
            tracing::debug!(
                id = notification.id().as_str(),
                attempt,
                final_state = next.is_final(),
                "delivery attempt logged"
            );
            updates.push(DeliveryUpdate {
                record,
                state: next,
            });
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(updates),
        }
    }

    fn release(&self, id: &NotificationId) {
        if let Some(entry) = self.entries().get_mut(id) {
            entry.in_flight = false;
        }
    }
}
