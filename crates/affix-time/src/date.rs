//! A proleptic Gregorian calendar date, years 1 to 9999, with day arithmetic.

use core::fmt;

use crate::civil::{civil_from_days, days_from_civil};
use crate::{Error, MS_PER_DAY};

/// China Standard Time, UTC+8, no daylight saving since 1991.
const CHINA_OFFSET_MS: u64 = 8 * 3_600_000;

/// A calendar date (proleptic Gregorian), years 1 to 9999.
///
/// Ordered chronologically. Time zones are the caller's choice: [`Date::from_unix_ms`]
/// takes the UTC date, [`Date::from_unix_ms_china`] the date in China Standard Time (the
/// one a resident ID's birth date and a loan's due dates are written in).
///
/// Day arithmetic goes through the day number ([`Date::day_number`], days since
/// 1970-01-01): [`Date::add_days`] and [`Date::from_day_number`] refuse results outside
/// years 1 to 9999 rather than wrap or clamp.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    // Field order matters: the derived `Ord` compares year, then month, then day.
    year: u16,
    month: u8,
    day: u8,
}

impl Date {
    /// 0001-01-01, the first date a [`Date`] represents.
    pub const MIN: Self = Self {
        year: 1,
        month: 1,
        day: 1,
    };
    /// 9999-12-31, the last date a [`Date`] represents.
    pub const MAX: Self = Self {
        year: 9999,
        month: 12,
        day: 31,
    };

    /// The date `year-month-day`, if it exists (leap years included).
    ///
    /// # Errors
    /// [`Error::InvalidDate`] for a day that does not exist or a year outside 1..=9999.
    pub fn new(year: u16, month: u8, day: u8) -> Result<Self, Error> {
        if !(1..=9999).contains(&year)
            || !(1..=12).contains(&month)
            || day == 0
            || day > Self::days_in_month(year, month)
        {
            return Err(Error::InvalidDate { year, month, day });
        }
        Ok(Self { year, month, day })
    }

    /// Parses `YYYY-MM-DD`: exactly ten characters, four-digit year, two-digit month and
    /// day, a calendar date. No whitespace, sign or other separator is accepted.
    ///
    /// # Errors
    /// [`Error::MalformedDate`] for anything not of that shape; [`Error::InvalidDate`]
    /// for a shape that names no date (`2026-02-29`).
    pub fn parse(text: &str) -> Result<Self, Error> {
        let b = text.as_bytes();
        if b.len() != 10
            || b[4] != b'-'
            || b[7] != b'-'
            || ![0, 1, 2, 3, 5, 6, 8, 9]
                .iter()
                .all(|&i| b[i].is_ascii_digit())
        {
            return Err(Error::MalformedDate);
        }
        // Ten ASCII bytes: every slice is on a character boundary and all digits, so the
        // numbers parse and fit.
        let number = |range: core::ops::Range<usize>| {
            text[range]
                .bytes()
                .fold(0u16, |n, digit| n * 10 + u16::from(digit - b'0'))
        };
        let (year, month, day) = (number(0..4), number(5..7), number(8..10));
        let (Ok(month), Ok(day)) = (u8::try_from(month), u8::try_from(day)) else {
            return Err(Error::MalformedDate);
        };
        Self::new(year, month, day)
    }

    /// The UTC date at `unix_ms` milliseconds after 1970-01-01T00:00:00Z. Times after
    /// 9999-12-31 give 9999-12-31.
    pub fn from_unix_ms(unix_ms: u64) -> Self {
        // u64::MAX ms is about 2.1e11 days: the conversion never fails, and anything past
        // the last representable day clamps to it.
        let days = i64::try_from(unix_ms / MS_PER_DAY).unwrap_or(i64::MAX);
        Self::from_day_number(days).unwrap_or(Self::MAX)
    }

    /// The date in China Standard Time (UTC+8) at `unix_ms`. Times after 9999-12-31 give
    /// 9999-12-31.
    pub fn from_unix_ms_china(unix_ms: u64) -> Self {
        Self::from_unix_ms(unix_ms.saturating_add(CHINA_OFFSET_MS))
    }

    /// The year, 1 to 9999.
    pub fn year(self) -> u16 {
        self.year
    }

    /// The month, 1 to 12.
    pub fn month(self) -> u8 {
        self.month
    }

    /// The day of the month, 1 to 31.
    pub fn day(self) -> u8 {
        self.day
    }

    /// Whether `year` is a Gregorian leap year (divisible by 4, and by 400 if by 100).
    pub fn is_leap_year(year: u16) -> bool {
        (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
    }

    /// Days in `month` (1 to 12) of `year`: 28 to 31. A month outside 1 to 12 counts as
    /// 31 days (only [`Date::new`] validates months).
    pub fn days_in_month(year: u16, month: u8) -> u8 {
        match month {
            2 if Self::is_leap_year(year) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        }
    }

    /// The number of days from 1970-01-01 to this date (negative before it). Exact for
    /// every date.
    pub fn day_number(self) -> i64 {
        days_from_civil(self.year, self.month, self.day)
    }

    /// The date `days` days after 1970-01-01; `None` outside years 1 to 9999.
    pub fn from_day_number(days: i64) -> Option<Self> {
        let (year, month, day) = civil_from_days(days)?;
        Self::new(u16::try_from(year).ok()?, month, day).ok()
    }

    /// This date moved by `days` (negative: back); `None` outside years 1 to 9999.
    pub fn add_days(self, days: i64) -> Option<Self> {
        Self::from_day_number(self.day_number().checked_add(days)?)
    }

    /// Milliseconds from 1970-01-01T00:00:00Z to the start of this day in UTC; `None`
    /// for days before 1970.
    pub fn unix_ms(self) -> Option<u64> {
        let days = u64::try_from(self.day_number()).ok()?;
        days.checked_mul(MS_PER_DAY)
    }
}

impl fmt::Display for Date {
    /// ISO 8601: `YYYY-MM-DD`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Date({self})")
    }
}

impl core::str::FromStr for Date {
    type Err = Error;

    /// [`Date::parse`].
    fn from_str(text: &str) -> Result<Self, Error> {
        Self::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Days from 1970-01-01 to 9999-12-31.
    const DAYS_MAX: u64 = 2_932_896;

    fn date(y: u16, m: u8, d: u8) -> Date {
        Date::new(y, m, d).unwrap()
    }

    #[test]
    fn unix_epoch_and_known_days() {
        assert_eq!(Date::from_unix_ms(0), date(1970, 1, 1));
        // 2000-02-29T12:00:00Z = 951825600 s.
        assert_eq!(Date::from_unix_ms(951_825_600_000), date(2000, 2, 29));
        // 2024-12-31T23:59:59.999Z, then the next millisecond.
        assert_eq!(Date::from_unix_ms(1_735_689_599_999), date(2024, 12, 31));
        assert_eq!(Date::from_unix_ms(1_735_689_600_000), date(2025, 1, 1));
        assert_eq!(Date::from_unix_ms(u64::MAX), date(9999, 12, 31));
        assert_eq!(
            Date::from_unix_ms(DAYS_MAX * MS_PER_DAY),
            date(9999, 12, 31)
        );
        assert_eq!(
            Date::from_unix_ms((DAYS_MAX + 1) * MS_PER_DAY),
            date(9999, 12, 31)
        );
        assert_eq!(date(9999, 12, 31).day_number(), DAYS_MAX as i64);
        assert_eq!(date(2025, 1, 1).unix_ms(), Some(1_735_689_600_000));
        assert_eq!(date(1969, 12, 31).unix_ms(), None);
    }

    #[test]
    fn china_date_is_eight_hours_ahead() {
        // 2024-12-31T16:00:00Z is 2025-01-01T00:00:00+08:00.
        let ms = 1_735_660_800_000;
        assert_eq!(Date::from_unix_ms(ms), date(2024, 12, 31));
        assert_eq!(Date::from_unix_ms_china(ms), date(2025, 1, 1));
        assert_eq!(Date::from_unix_ms_china(ms - 1), date(2024, 12, 31));
    }

    #[test]
    fn every_day_round_trips_through_the_day_number() {
        // Every date from 0001-01-01 to 9999-12-31: the successor relation holds and the
        // day number counts up by one.
        let mut previous = Date::MIN;
        let mut day = Date::MIN.day_number();
        while previous < Date::MAX {
            day += 1;
            let date = Date::from_day_number(day).unwrap();
            let expected = if previous.day < Date::days_in_month(previous.year, previous.month) {
                Date::new(previous.year, previous.month, previous.day + 1)
            } else if previous.month < 12 {
                Date::new(previous.year, previous.month + 1, 1)
            } else {
                Date::new(previous.year + 1, 1, 1)
            };
            assert_eq!(Ok(date), expected);
            assert_eq!(date.day_number(), day);
            previous = date;
        }
        assert_eq!(Date::from_day_number(day + 1), None);
        assert_eq!(Date::from_day_number(Date::MIN.day_number() - 1), None);
    }

    #[test]
    fn day_arithmetic() {
        assert_eq!(date(1970, 1, 1).day_number(), 0);
        assert_eq!(date(2026, 1, 1).day_number(), 20_454);
        assert_eq!(date(1969, 12, 31).day_number(), -1);
        assert_eq!(date(2026, 2, 26).add_days(3), Some(date(2026, 3, 1)));
        assert_eq!(date(2028, 2, 26).add_days(3), Some(date(2028, 2, 29)));
        assert_eq!(date(2026, 3, 1).add_days(-3), Some(date(2026, 2, 26)));
        assert_eq!(date(9999, 12, 31).add_days(1), None);
        assert_eq!(date(1, 1, 1).add_days(-1), None);
        assert_eq!(date(1, 1, 1).add_days(i64::MIN), None);
        assert_eq!(date(1, 1, 1).add_days(i64::MAX), None);
    }

    #[test]
    fn leap_years() {
        assert!(Date::new(2000, 2, 29).is_ok());
        assert!(Date::new(2024, 2, 29).is_ok());
        assert!(Date::new(1900, 2, 29).is_err());
        assert!(Date::new(2100, 2, 29).is_err());
        assert!(Date::new(2023, 2, 29).is_err());
        assert!(Date::new(2023, 4, 31).is_err());
        assert!(Date::new(2023, 13, 1).is_err());
        assert!(Date::new(2023, 0, 1).is_err());
        assert_eq!(
            Date::new(0, 1, 1),
            Err(Error::InvalidDate {
                year: 0,
                month: 1,
                day: 1
            })
        );
        assert!(Date::new(10000, 1, 1).is_err());
    }

    #[test]
    fn parsing_is_strict() {
        assert_eq!(Date::parse("2026-02-28"), Ok(date(2026, 2, 28)));
        assert_eq!("0001-01-01".parse(), Ok(Date::MIN));
        assert!(matches!(
            Date::parse("2026-02-29"),
            Err(Error::InvalidDate { .. })
        ));
        for bad in [
            "2026-2-28",
            "+026-02-28",
            "2026-02-2８",
            "2026/02/28",
            " 2026-02-28",
            "2026-02-28 ",
            "20260228",
            "",
        ] {
            assert_eq!(Date::parse(bad), Err(Error::MalformedDate), "{bad:?}");
        }
        assert!(Date::parse("0000-01-01").is_err());
        assert!(Date::parse("2026-00-10").is_err());
    }

    #[test]
    fn display_is_iso() {
        assert_eq!(date(1949, 12, 31).to_string(), "1949-12-31");
        assert_eq!(format!("{:?}", date(7, 1, 2)), "Date(0007-01-02)");
    }
}
