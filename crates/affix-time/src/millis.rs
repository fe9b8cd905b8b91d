//! Milliseconds since the Unix epoch, and their RFC 3339 rendering.

use core::fmt;

use crate::Date;
use crate::civil::civil_from_days;

/// Milliseconds in a day.
pub const MS_PER_DAY: u64 = 86_400_000;

/// Milliseconds since the Unix epoch (1970-01-01T00:00:00Z), UTC, leap seconds not
/// counted (POSIX time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UnixMillis(pub u64);

impl UnixMillis {
    /// RFC 3339 rendering in UTC with milliseconds, e.g. `2026-11-22T15:26:26.000Z`.
    /// Years past 9999 (beyond RFC 3339's four digits) are written with more digits.
    pub fn to_rfc3339(self) -> String {
        self.to_string()
    }

    /// The UTC date of this instant (9999-12-31 for any later instant).
    pub fn date(self) -> Date {
        Date::from_unix_ms(self.0)
    }
}

impl From<u64> for UnixMillis {
    fn from(ms: u64) -> Self {
        Self(ms)
    }
}

impl fmt::Display for UnixMillis {
    /// RFC 3339 in UTC with milliseconds: `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0 % 1000;
        let secs = self.0 / 1000;
        let (days, rem) = (secs / 86_400, secs % 86_400);
        let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
        // u64::MAX ms is about 2.1e11 days, far inside what the calendar computes in i64:
        // neither fallback is ever taken.
        let (year, month, day) = i64::try_from(days)
            .ok()
            .and_then(civil_from_days)
            .unwrap_or((i64::MAX, 12, 31));
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{ms:03}Z"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_rendering() {
        assert_eq!(UnixMillis(0).to_rfc3339(), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            UnixMillis(951_782_400_000).to_rfc3339(),
            "2000-02-29T00:00:00.000Z"
        );
        assert_eq!(
            UnixMillis(951_782_400_001).to_rfc3339(),
            "2000-02-29T00:00:00.001Z"
        );
        assert_eq!(
            UnixMillis(1_614_265_330_123).to_rfc3339(),
            "2021-02-25T15:02:10.123Z"
        );
        // The last millisecond of year 9999.
        assert_eq!(
            UnixMillis(253_402_300_799_999).to_rfc3339(),
            "9999-12-31T23:59:59.999Z"
        );
        assert_eq!(
            UnixMillis(253_402_300_800_000).to_string(),
            "10000-01-01T00:00:00.000Z"
        );
        // The largest value renders without overflow.
        assert!(UnixMillis(u64::MAX).to_rfc3339().ends_with(".615Z"));
    }

    #[test]
    fn dates_of_instants() {
        assert_eq!(UnixMillis(0).date(), Date::new(1970, 1, 1).unwrap());
        assert_eq!(UnixMillis(u64::MAX).date(), Date::MAX);
    }
}
