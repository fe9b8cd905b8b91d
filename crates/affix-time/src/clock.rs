//! Clocks: where "now" comes from.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::UnixMillis;

/// A source of the current time. Everything in Affix that needs "now" takes a `Clock`
/// (or a time parameter), so that tests and simulations can run at any date and so that
/// one process reads one time.
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;

    /// [`Clock::now_ms`] as [`UnixMillis`].
    fn now(&self) -> UnixMillis {
        UnixMillis(self.now_ms())
    }
}

/// The operating system's wall clock: the only code in Affix's libraries that reads it.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        // A clock before 1970 reads as 0 rather than failing; one past year 584,942,417
        // reads as u64::MAX.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

/// A clock that moves only when told: for tests and simulations.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    /// A clock reading `now_ms`.
    pub fn new(now_ms: u64) -> Self {
        Self(AtomicU64::new(now_ms))
    }

    /// Sets the time.
    pub fn set_ms(&self, now_ms: u64) {
        self.0.store(now_ms, Ordering::SeqCst);
    }

    /// Moves the time forward by `delta_ms` (saturating).
    pub fn advance_ms(&self, delta_ms: u64) {
        // `fetch_update` with a closure that always returns `Some` cannot fail.
        let _ = self
            .0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                Some(t.saturating_add(delta_ms))
            });
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks() {
        let c = ManualClock::new(5);
        c.advance_ms(10);
        assert_eq!(c.now_ms(), 15);
        c.set_ms(1);
        assert_eq!(c.now(), UnixMillis(1));
        c.set_ms(u64::MAX - 1);
        c.advance_ms(5);
        assert_eq!(c.now_ms(), u64::MAX);
        assert!(SystemClock.now_ms() > 1_700_000_000_000);
    }
}
