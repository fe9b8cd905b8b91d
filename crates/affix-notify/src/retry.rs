//! Retry schedule and the per-notification delivery state machine (pure).

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::{Error, NotificationId, Outcome};

/// Most attempts a [`RetrySchedule`] may have.
pub const RETRY_ATTEMPTS_MAX: usize = 32;
/// Longest delay between two attempts (7 days).
pub const RETRY_DELAY_MS_MAX: u64 = 7 * 24 * 3600 * 1000;
/// Largest jitter, in percent of a delay.
pub const RETRY_JITTER_PERCENT_MAX: u8 = 50;

const SECOND_MS: u64 = 1000;
const MINUTE_MS: u64 = 60 * SECOND_MS;
const HOUR_MS: u64 = 60 * MINUTE_MS;

/// When to try a notification again: the delay before each attempt, and jitter.
///
/// Jitter only ever delays (by up to `jitter_percent` of the delay) and is derived from
/// SHA-256 of the notification id and attempt number, so it spreads retries of different
/// notifications apart yet is reproducible: no random generator to inject, and a
/// restored [`DeliveryState`] computes the same times.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetrySchedule {
    delays_ms: Vec<u64>,
    jitter_percent: u8,
}

impl RetrySchedule {
    /// The example schedule of the Standard Webhooks specification, without jitter:
    /// immediately, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h
    /// (10 attempts over about 3 days 3.5 hours).
    pub fn standard_webhooks() -> Self {
        Self {
            delays_ms: vec![
                0,
                5 * SECOND_MS,
                5 * MINUTE_MS,
                30 * MINUTE_MS,
                2 * HOUR_MS,
                5 * HOUR_MS,
                10 * HOUR_MS,
                14 * HOUR_MS,
                20 * HOUR_MS,
                24 * HOUR_MS,
            ],
            jitter_percent: 0,
        }
    }

    /// A schedule: `delays_ms[0]` is the delay before the first attempt (usually 0),
    /// `delays_ms[i]` the delay after attempt `i` before attempt `i + 1`.
    pub fn new(delays_ms: Vec<u64>, jitter_percent: u8) -> Result<Self, Error> {
        if delays_ms.is_empty() || delays_ms.len() > RETRY_ATTEMPTS_MAX {
            return Err(Error::InvalidRetrySchedule {
                reason: "must have 1 to 32 attempts",
            });
        }
        if delays_ms.iter().any(|&d| d > RETRY_DELAY_MS_MAX) {
            return Err(Error::InvalidRetrySchedule {
                reason: "a delay is longer than 7 days",
            });
        }
        if jitter_percent > RETRY_JITTER_PERCENT_MAX {
            return Err(Error::InvalidRetrySchedule {
                reason: "jitter is more than 50 %",
            });
        }
        Ok(Self {
            delays_ms,
            jitter_percent,
        })
    }

    /// The same schedule with `jitter_percent` (at most 50).
    pub fn with_jitter_percent(self, jitter_percent: u8) -> Result<Self, Error> {
        Self::new(self.delays_ms, jitter_percent)
    }

    /// Most attempts made for one notification.
    pub fn attempts_max(&self) -> u32 {
        u32::try_from(self.delays_ms.len()).unwrap_or(u32::MAX)
    }

    /// The delay before attempt number `attempt` (1-based), jitter included; `None` past
    /// the last attempt.
    pub fn delay_before_attempt_ms(&self, attempt: u32, id: &NotificationId) -> Option<u64> {
        let index = usize::try_from(attempt.checked_sub(1)?).ok()?;
        let delay = *self.delays_ms.get(index)?;
        if self.jitter_percent == 0 || delay == 0 {
            return Some(delay);
        }
        let mut hash = Sha256::new();
        hash.update(b"affix.dev/notify/retry-jitter/v1");
        hash.update((id.as_str().len() as u64).to_be_bytes());
        hash.update(id.as_str().as_bytes());
        hash.update(attempt.to_be_bytes());
        let digest = hash.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        let fraction = u128::from(u64::from_be_bytes(first)); // of 2^64
        let extra =
            u128::from(delay) * u128::from(self.jitter_percent) * fraction / (100u128 << 64);
        // extra <= delay * 0.5 <= RETRY_DELAY_MS_MAX, so it fits in u64.
        Some(delay + u64::try_from(extra).unwrap_or(0))
    }
}

/// Where one notification's delivery stands. The caller persists it (with the
/// notification) after every change so delivery survives restarts; see
/// [`crate::Dispatcher::restore`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[non_exhaustive]
pub enum DeliveryState {
    /// Waiting for its next attempt.
    Pending {
        /// Attempts made so far.
        attempts_made: u32,
        /// When the next attempt is due, milliseconds since the Unix epoch.
        next_attempt_at_ms: u64,
    },
    /// The next hop acknowledged it.
    Delivered {
        /// Attempts made.
        attempts_made: u32,
    },
    /// Written to an outbox (SMS stand-in).
    Outboxed {
        /// Attempts made.
        attempts_made: u32,
    },
    /// Refused permanently (non-retryable failure).
    Rejected {
        /// Attempts made.
        attempts_made: u32,
    },
    /// Every attempt of the schedule failed.
    GaveUp {
        /// Attempts made.
        attempts_made: u32,
    },
}

impl DeliveryState {
    /// The state of a notification just queued at `now_ms`.
    pub fn new(schedule: &RetrySchedule, id: &NotificationId, now_ms: u64) -> Self {
        let delay = schedule.delay_before_attempt_ms(1, id).unwrap_or(0);
        Self::Pending {
            attempts_made: 0,
            next_attempt_at_ms: now_ms.saturating_add(delay),
        }
    }

    /// Whether an attempt is due at `now_ms`.
    pub fn is_due(&self, now_ms: u64) -> bool {
        matches!(self, Self::Pending { next_attempt_at_ms, .. } if *next_attempt_at_ms <= now_ms)
    }

    /// Whether delivery is over (no further attempt will be made).
    pub fn is_final(&self) -> bool {
        !matches!(self, Self::Pending { .. })
    }

    /// Attempts made so far.
    pub fn attempts_made(&self) -> u32 {
        match *self {
            Self::Pending { attempts_made, .. }
            | Self::Delivered { attempts_made }
            | Self::Outboxed { attempts_made }
            | Self::Rejected { attempts_made }
            | Self::GaveUp { attempts_made } => attempts_made,
        }
    }

    /// When the next attempt is due, if one is pending.
    pub fn next_attempt_at_ms(&self) -> Option<u64> {
        match *self {
            Self::Pending {
                next_attempt_at_ms, ..
            } => Some(next_attempt_at_ms),
            _ => None,
        }
    }

    /// The state after an attempt that ended at `now_ms` with `outcome`. A final state
    /// is returned unchanged.
    pub fn after_attempt(
        self,
        outcome: &Outcome,
        schedule: &RetrySchedule,
        id: &NotificationId,
        now_ms: u64,
    ) -> Self {
        let Self::Pending { attempts_made, .. } = self else {
            return self;
        };
        let attempts_made = attempts_made.saturating_add(1);
        match outcome {
            Outcome::Delivered { .. } => Self::Delivered { attempts_made },
            Outcome::Outboxed { .. } => Self::Outboxed { attempts_made },
            Outcome::Failed {
                retryable: false, ..
            } => Self::Rejected { attempts_made },
            Outcome::Failed {
                retryable: true, ..
            } => match schedule.delay_before_attempt_ms(attempts_made.saturating_add(1), id) {
                Some(delay) => Self::Pending {
                    attempts_made,
                    next_attempt_at_ms: now_ms.saturating_add(delay),
                },
                None => Self::GaveUp { attempts_made },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> NotificationId {
        NotificationId::parse("n1").unwrap()
    }

    #[test]
    fn standard_schedule_walks_to_give_up() {
        let schedule = RetrySchedule::standard_webhooks();
        let fail = Outcome::failed(true, Some(503), "HTTP 503");
        let mut now = 1_000;
        let mut state = DeliveryState::new(&schedule, &id(), now);
        let mut times = vec![];
        while let Some(at) = state.next_attempt_at_ms() {
            assert!(!state.is_due(at - 1) && state.is_due(at));
            times.push(at - 1_000);
            now = at;
            state = state.after_attempt(&fail, &schedule, &id(), now);
        }
        assert_eq!(state, DeliveryState::GaveUp { attempts_made: 10 });
        // "Time since start" column of the spec's table: 00:00:00, 00:00:05, 00:05:05, …
        let s = 1000;
        let h = 3600 * s;
        assert_eq!(
            times,
            vec![
                0,
                5 * s,
                305 * s,
                2105 * s,
                2 * h + 2105 * s,
                7 * h + 2105 * s,
                17 * h + 2105 * s,
                31 * h + 2105 * s,
                51 * h + 2105 * s,
                75 * h + 2105 * s
            ]
        );
    }

    #[test]
    fn outcomes_end_or_continue() {
        let schedule = RetrySchedule::standard_webhooks();
        let start = DeliveryState::new(&schedule, &id(), 0);
        let delivered = start.after_attempt(&Outcome::delivered(200, "ok"), &schedule, &id(), 1);
        assert_eq!(delivered, DeliveryState::Delivered { attempts_made: 1 });
        let rejected =
            start.after_attempt(&Outcome::failed(false, Some(400), "x"), &schedule, &id(), 1);
        assert_eq!(rejected, DeliveryState::Rejected { attempts_made: 1 });
        assert!(rejected.is_final() && !rejected.is_due(u64::MAX));
        let again = rejected.after_attempt(&Outcome::delivered(200, "ok"), &schedule, &id(), 2);
        assert_eq!(again, rejected);
    }

    #[test]
    fn jitter_only_delays_and_is_reproducible() {
        let schedule = RetrySchedule::standard_webhooks()
            .with_jitter_percent(20)
            .unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for n in 0..50 {
            let id = NotificationId::parse(&format!("n{n}")).unwrap();
            let d = schedule.delay_before_attempt_ms(3, &id).unwrap();
            assert!((300_000..=360_000).contains(&d), "{d}");
            assert_eq!(schedule.delay_before_attempt_ms(3, &id), Some(d));
            seen.insert(d);
            assert_eq!(schedule.delay_before_attempt_ms(1, &id), Some(0));
        }
        assert!(seen.len() > 40);
    }

    #[test]
    fn schedules_have_limits() {
        assert!(RetrySchedule::new(vec![], 0).is_err());
        assert!(RetrySchedule::new(vec![0; 33], 0).is_err());
        assert!(RetrySchedule::new(vec![0, RETRY_DELAY_MS_MAX + 1], 0).is_err());
        assert!(RetrySchedule::new(vec![0], 51).is_err());
        assert_eq!(
            RetrySchedule::new(vec![0, 10], 0).unwrap().attempts_max(),
            2
        );
        assert_eq!(
            RetrySchedule::standard_webhooks().delay_before_attempt_ms(0, &id()),
            None
        );
        assert_eq!(
            RetrySchedule::standard_webhooks().delay_before_attempt_ms(11, &id()),
            None
        );
    }

    #[test]
    fn states_round_trip_through_json() {
        let s = DeliveryState::Pending {
            attempts_made: 2,
            next_attempt_at_ms: 99,
        };
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(
            json,
            r#"{"state":"pending","attempts_made":2,"next_attempt_at_ms":99}"#
        );
        assert_eq!(serde_json::from_str::<DeliveryState>(&json).unwrap(), s);
    }
}
