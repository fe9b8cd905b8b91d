//! A proleptic Gregorian calendar date, just enough for birth dates and "today".

use core::fmt;

use crate::Error;

const MS_PER_DAY: u64 = 86_400_000;
/// Days from 1970-01-01 to 9999-12-31, the last date [`Date`] represents.
const DAYS_MAX: u64 = 2_932_896;
/// China Standard Time, UTC+8, no daylight saving since 1991.
const CHINA_OFFSET_MS: u64 = 8 * 3_600_000;

/// A calendar date (proleptic Gregorian), years 1 to 9999.
///
/// Ordered chronologically. Time zones are the caller's choice: [`Date::from_unix_ms`]
/// takes the UTC date, [`Date::from_unix_ms_china`] the date in China Standard Time (the
/// one a resident ID's birth date is written in).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    // Field order matters: the derived `Ord` compares year, then month, then day.
    year: u16,
    month: u8,
    day: u8,
}

impl Date {
    /// The date `year-month-day`, if it exists (leap years included).
    pub fn new(year: u16, month: u8, day: u8) -> Result<Self, Error> {
        if !(1..=9999).contains(&year)
            || !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
        {
            return Err(Error::InvalidDate { year, month, day });
        }
        Ok(Self { year, month, day })
    }

    /// The UTC date at `unix_ms` milliseconds after 1970-01-01T00:00:00Z. Times after
    /// 9999-12-31 give 9999-12-31.
    pub fn from_unix_ms(unix_ms: u64) -> Self {
        civil_from_days((unix_ms / MS_PER_DAY).min(DAYS_MAX))
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

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if Date::is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Howard Hinnant's `civil_from_days` for days since 1970-01-01, `days <= DAYS_MAX`.
fn civil_from_days(days: u64) -> Date {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    // With days <= DAYS_MAX the year is at most 9999, the month 1..=12 and the day 1..=31,
    // so none of the fallbacks is ever taken.
    Date {
        year: u16::try_from(year).unwrap_or(9999),
        month: u8::try_from(month).unwrap_or(12),
        day: u8::try_from(day).unwrap_or(31),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_epoch_and_known_days() {
        assert_eq!(Date::from_unix_ms(0), Date::new(1970, 1, 1).unwrap());
        // 2000-02-29T12:00:00Z = 951825600 s.
        assert_eq!(
            Date::from_unix_ms(951_825_600_000),
            Date::new(2000, 2, 29).unwrap()
        );
        // 2024-12-31T23:59:59.999Z, then the next millisecond.
        assert_eq!(
            Date::from_unix_ms(1_735_689_599_999),
            Date::new(2024, 12, 31).unwrap()
        );
        assert_eq!(
            Date::from_unix_ms(1_735_689_600_000),
            Date::new(2025, 1, 1).unwrap()
        );
        assert_eq!(
            Date::from_unix_ms(u64::MAX),
            Date::new(9999, 12, 31).unwrap()
        );
        assert_eq!(
            Date::from_unix_ms(DAYS_MAX * MS_PER_DAY),
            Date::new(9999, 12, 31).unwrap()
        );
    }

    #[test]
    fn china_date_is_eight_hours_ahead() {
        // 2024-12-31T16:00:00Z is 2025-01-01T00:00:00+08:00.
        let ms = 1_735_660_800_000;
        assert_eq!(Date::from_unix_ms(ms), Date::new(2024, 12, 31).unwrap());
        assert_eq!(Date::from_unix_ms_china(ms), Date::new(2025, 1, 1).unwrap());
        assert_eq!(
            Date::from_unix_ms_china(ms - 1),
            Date::new(2024, 12, 31).unwrap()
        );
    }

    #[test]
    fn every_day_round_trips_through_the_day_count() {
        // Walk day by day from 1970 to 2100 and check the successor relation.
        let mut previous = Date::from_unix_ms(0);
        for days in 1..(131 * 366) {
            let date = Date::from_unix_ms(days * MS_PER_DAY);
            assert!(date > previous);
            let next_of_previous = if previous.day < days_in_month(previous.year, previous.month) {
                Date::new(previous.year, previous.month, previous.day + 1)
            } else if previous.month < 12 {
                Date::new(previous.year, previous.month + 1, 1)
            } else {
                Date::new(previous.year + 1, 1, 1)
            };
            assert_eq!(Ok(date), next_of_previous);
            previous = date;
        }
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
        assert!(Date::new(0, 1, 1).is_err());
        assert!(Date::new(10000, 1, 1).is_err());
    }

    #[test]
    fn display_is_iso() {
        assert_eq!(Date::new(1949, 12, 31).unwrap().to_string(), "1949-12-31");
        assert_eq!(
            format!("{:?}", Date::new(7, 1, 2).unwrap()),
            "Date(0007-01-02)"
        );
    }
}
