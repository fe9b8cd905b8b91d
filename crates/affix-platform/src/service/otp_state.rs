//! A party's one-time-code state, as stored in `party_state.otp`: the current challenge
//! and the counters that cap challenges and failed codes **across** challenges, with the
//! lock they set. Every change is written by compare and swap on the whole value
//! (`store::contracts::swap_otp_state`), so concurrent requests cannot each start from
//! the same counters.
//!
//! ## Encoding (version 1)
//!
//! All integers unsigned big-endian; `n` + 26 bytes in all.
//!
//! | Offset | Bytes | Field | Values |
//! |---:|---:|---|---|
//! | 0 | 4 | magic | `AFOS` (`41 46 4f 53`) |
//! | 4 | 1 | version | `01` |
//! | 5 | 8 | hour_start_ms | start of the current one-hour window of challenges (Unix ms) |
//! | 13 | 1 | challenges_in_hour | challenges issued in that window, 0 to [`OTP_CHALLENGES_PER_HOUR_MAX`] |
//! | 14 | 8 | day_start_ms | start of the current one-day window of failed codes |
//! | 22 | 1 | failures_in_day | wrong codes in that window, 0 to [`OTP_FAILURES_PER_DAY_MAX`] |
//! | 23 | 1 | lock | `00` open, `01` locked: too many challenges, `02` locked: too many wrong codes |
//! | 24 | 2 | n | length of the challenge, 0 (none) or `affix_identity::CHALLENGE_ENCODED_BYTES` |
//! | 26 | n | challenge | `affix_identity::OtpChallenge::encode` |
//!
//! A value that does not decode (a bare challenge stored before this wrapper, or any
//! other bytes) is read as "no challenge, no counters": the party asks for a new code.
//! A window starts with the first challenge (or failure) after the previous one ended.
//! The lock stays until the sender re-invites the party (`reset_identity_lock`).

use affix_identity::{CHALLENGE_ENCODED_BYTES, OtpChallenge};

/// Challenges a party may request per hour; the next request locks the identity check.
pub const OTP_CHALLENGES_PER_HOUR_MAX: u8 = 3;
/// Wrong codes a party may send per day; the last of them locks the identity check.
pub const OTP_FAILURES_PER_DAY_MAX: u8 = 10;

const MAGIC: [u8; 4] = *b"AFOS";
const VERSION: u8 = 1;
const HEADER_BYTES: usize = 26;
const HOUR_MS: u64 = 3_600_000;
const DAY_MS: u64 = 24 * HOUR_MS;

/// Why a party's identity check is locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lock {
    /// More than [`OTP_CHALLENGES_PER_HOUR_MAX`] codes were requested in an hour.
    TooManyChallenges,
    /// [`OTP_FAILURES_PER_DAY_MAX`] wrong codes were sent in a day.
    TooManyFailures,
}

impl Lock {
    fn byte(self) -> u8 {
        match self {
            Lock::TooManyChallenges => 1,
            Lock::TooManyFailures => 2,
        }
    }

    /// What to tell the signer.
    pub(crate) fn detail(self) -> String {
        let why = match self {
            Lock::TooManyChallenges => format!(
                "more than {OTP_CHALLENGES_PER_HOUR_MAX} one-time codes were requested within an hour"
            ),
            Lock::TooManyFailures => {
                format!("{OTP_FAILURES_PER_DAY_MAX} wrong one-time codes were entered within a day")
            }
        };
        format!(
            "the identity check of this invite is locked: {why}; ask the sender for a new invite"
        )
    }
}

/// Why a new challenge is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StartRefusal {
    /// The last code was sent less than `OTP_RESEND_MS` ago (nothing changes).
    TooSoon {
        /// Seconds until a new code may be requested.
        retry_after_s: u64,
    },
    /// Locked; `newly` when this request set the lock (the state must be stored).
    Locked {
        /// Why.
        lock: Lock,
        /// Whether this request locked it.
        newly: bool,
    },
}

/// The decoded state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct OtpState {
    hour_start_ms: u64,
    challenges_in_hour: u8,
    day_start_ms: u64,
    failures_in_day: u8,
    lock: Option<Lock>,
    challenge: Option<Vec<u8>>,
}

impl OtpState {
    /// Reads a stored value; `None` (no row) and anything that does not decode are a
    /// fresh state.
    pub(crate) fn read(stored: Option<&[u8]>) -> Self {
        stored.and_then(Self::decode).unwrap_or_default()
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        let (header, challenge) = bytes.split_first_chunk::<HEADER_BYTES>()?;
        let u64_at = |at: usize| {
            header
                .get(at..at + 8)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_be_bytes)
        };
        if header[..4] != MAGIC || header[4] != VERSION {
            return None;
        }
        let hour_start_ms = u64_at(5)?;
        let challenges_in_hour = header[13];
        let day_start_ms = u64_at(14)?;
        let failures_in_day = header[22];
        let lock = match header[23] {
            0 => None,
            1 => Some(Lock::TooManyChallenges),
            2 => Some(Lock::TooManyFailures),
            _ => return None,
        };
        let n = usize::from(u16::from_be_bytes([header[24], header[25]]));
        if challenges_in_hour > OTP_CHALLENGES_PER_HOUR_MAX
            || failures_in_day > OTP_FAILURES_PER_DAY_MAX
            || challenge.len() != n
            || (n != 0 && n != CHALLENGE_ENCODED_BYTES)
        {
            return None;
        }
        Some(Self {
            hour_start_ms,
            challenges_in_hour,
            day_start_ms,
            failures_in_day,
            lock,
            challenge: (n != 0).then(|| challenge.to_vec()),
        })
    }

    /// The version-1 encoding (module documentation).
    pub(crate) fn encode(&self) -> Vec<u8> {
        let challenge = self.challenge.as_deref().unwrap_or_default();
        let mut out = Vec::with_capacity(HEADER_BYTES + challenge.len());
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&self.hour_start_ms.to_be_bytes());
        out.push(self.challenges_in_hour);
        out.extend_from_slice(&self.day_start_ms.to_be_bytes());
        out.push(self.failures_in_day);
        out.push(self.lock.map_or(0, Lock::byte));
        // The challenge is CHALLENGE_ENCODED_BYTES (106) long: it fits in a u16.
        let n = u16::try_from(challenge.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&n.to_be_bytes());
        out.extend_from_slice(challenge);
        out
    }

    /// The lock, if the identity check is locked.
    pub(crate) fn lock(&self) -> Option<Lock> {
        self.lock
    }

    /// The current challenge, if there is one and it decodes.
    pub(crate) fn challenge(&self) -> Option<OtpChallenge> {
        self.challenge
            .as_deref()
            .and_then(|b| OtpChallenge::decode(b).ok())
    }

    /// Replaces the current challenge (after issuing one, or after a check changed it).
    pub(crate) fn set_challenge(&mut self, challenge: &OtpChallenge) {
        self.challenge = Some(challenge.encode());
    }

    /// Counts a new challenge at `now_ms`, or says why there may be none: locked, too
    /// soon after the last one (`resend_ms`), or one too many this hour (which locks).
    pub(crate) fn start(&mut self, now_ms: u64, resend_ms: u64) -> Result<(), StartRefusal> {
        if let Some(lock) = self.lock {
            return Err(StartRefusal::Locked { lock, newly: false });
        }
        if let Some(last) = self.challenge() {
            let next_ms = last.issued_at_ms().saturating_add(resend_ms);
            if now_ms < next_ms {
                return Err(StartRefusal::TooSoon {
                    retry_after_s: (next_ms - now_ms).div_ceil(1000),
                });
            }
        }
        if now_ms >= self.hour_start_ms.saturating_add(HOUR_MS) || now_ms < self.hour_start_ms {
            self.hour_start_ms = now_ms;
            self.challenges_in_hour = 0;
        }
        if self.challenges_in_hour >= OTP_CHALLENGES_PER_HOUR_MAX {
            self.lock = Some(Lock::TooManyChallenges);
            return Err(StartRefusal::Locked {
                lock: Lock::TooManyChallenges,
                newly: true,
            });
        }
        self.challenges_in_hour += 1;
        Ok(())
    }

    /// Counts a wrong code at `now_ms`; returns the lock if this one set it.
    pub(crate) fn record_failure(&mut self, now_ms: u64) -> Option<Lock> {
        if now_ms >= self.day_start_ms.saturating_add(DAY_MS) || now_ms < self.day_start_ms {
            self.day_start_ms = now_ms;
            self.failures_in_day = 0;
        }
        self.failures_in_day = self.failures_in_day.saturating_add(1);
        if self.failures_in_day >= OTP_FAILURES_PER_DAY_MAX && self.lock.is_none() {
            self.failures_in_day = OTP_FAILURES_PER_DAY_MAX;
            self.lock = Some(Lock::TooManyFailures);
            return self.lock;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_767_225_600_000;

    #[test]
    fn round_trip_and_undecodable_values_are_fresh() {
        let mut state = OtpState::default();
        state.start(T0, 30_000).unwrap();
        state.record_failure(T0);
        state.challenge = Some(vec![7; CHALLENGE_ENCODED_BYTES]);
        let bytes = state.encode();
        assert_eq!(bytes.len(), HEADER_BYTES + CHALLENGE_ENCODED_BYTES);
        assert_eq!(&bytes[..5], b"AFOS\x01");
        assert_eq!(OtpState::read(Some(&bytes)), state);
        // A bare challenge of before, garbage, truncation, a bad lock byte: fresh.
        for bad in [
            b"AFOC\x01 an old bare challenge".to_vec(),
            bytes[..bytes.len() - 1].to_vec(),
            bytes[..10].to_vec(),
            {
                let mut b = bytes.clone();
                b[23] = 9;
                b
            },
            {
                let mut b = bytes.clone();
                b[22] = OTP_FAILURES_PER_DAY_MAX + 1;
                b
            },
        ] {
            assert_eq!(OtpState::read(Some(&bad)), OtpState::default());
        }
        assert_eq!(OtpState::read(None), OtpState::default());
    }

    #[test]
    fn the_fourth_challenge_in_an_hour_locks() {
        let mut state = OtpState::default();
        for i in 0..u64::from(OTP_CHALLENGES_PER_HOUR_MAX) {
            state.start(T0 + i * 60_000, 30_000).unwrap();
        }
        assert_eq!(
            state.start(T0 + 10 * 60_000, 30_000),
            Err(StartRefusal::Locked {
                lock: Lock::TooManyChallenges,
                newly: true
            })
        );
        // Still locked an hour and a day later: only a new invite opens it.
        assert_eq!(
            state.start(T0 + DAY_MS * 2, 30_000),
            Err(StartRefusal::Locked {
                lock: Lock::TooManyChallenges,
                newly: false
            })
        );
    }

    #[test]
    fn the_hour_window_rolls_over() {
        let mut state = OtpState::default();
        for i in 0..u64::from(OTP_CHALLENGES_PER_HOUR_MAX) {
            state.start(T0 + i * 60_000, 30_000).unwrap();
        }
        assert!(state.start(T0 + HOUR_MS, 30_000).is_ok());
    }

    #[test]
    fn the_tenth_failure_in_a_day_locks_and_the_window_rolls_over() {
        let mut state = OtpState::default();
        for i in 0..u64::from(OTP_FAILURES_PER_DAY_MAX - 1) {
            assert_eq!(state.record_failure(T0 + i), None);
        }
        // A day later the count starts again.
        assert_eq!(state.record_failure(T0 + DAY_MS), None);
        let mut state = OtpState::default();
        for i in 0..u64::from(OTP_FAILURES_PER_DAY_MAX - 1) {
            assert_eq!(state.record_failure(T0 + i), None);
        }
        assert_eq!(
            state.record_failure(T0 + HOUR_MS),
            Some(Lock::TooManyFailures)
        );
        assert_eq!(state.lock(), Some(Lock::TooManyFailures));
        assert!(matches!(
            state.start(T0 + 2 * DAY_MS, 30_000),
            Err(StartRefusal::Locked { newly: false, .. })
        ));
    }
}
