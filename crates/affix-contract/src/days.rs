//! Day numbers: a [`Date`] as a count of days, for the day arithmetic of due dates,
//! grace periods and rule offsets ([`Date`] itself only compares).

use affix_identity::Date;

/// Days from 0000-03-01 (proleptic) to 1970-01-01, as in H. Hinnant's `days_from_civil`.
const EPOCH_SHIFT: i64 = 719_468;

/// The number of days from 1970-01-01 to `date` (negative before it). Exact for every
/// [`Date`] (years 1 to 9999).
pub(crate) fn day_number(date: Date) -> i64 {
    let (month, day) = (i64::from(date.month()), i64::from(date.day()));
    let year = i64::from(date.year()) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - EPOCH_SHIFT
}

/// The date `days` days after 1970-01-01; `None` outside years 1 to 9999.
pub(crate) fn date_of(days: i64) -> Option<Date> {
    let z = days.checked_add(EPOCH_SHIFT)?;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    Date::new(
        u16::try_from(year).ok()?,
        u8::try_from(month).ok()?,
        u8::try_from(day).ok()?,
    )
    .ok()
}

/// `date` moved by `days` (negative: back); `None` outside years 1 to 9999.
pub fn add_days(date: Date, days: i64) -> Option<Date> {
    date_of(day_number(date).checked_add(days)?)
}

/// Parses `YYYY-MM-DD` (exactly ten characters, a calendar date).
pub fn parse_day(text: &str) -> Option<Date> {
    crate::template::parse_date(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: u16, m: u8, d: u8) -> Date {
        Date::new(y, m, d).unwrap()
    }

    fn add_days(date: Date, days: i64) -> Option<Date> {
        date_of(day_number(date) + days)
    }

    #[test]
    fn day_numbers_match_the_unix_epoch_and_round_trip() {
        assert_eq!(day_number(date(1970, 1, 1)), 0);
        assert_eq!(day_number(date(2026, 1, 1)), 20_454);
        assert_eq!(day_number(date(1969, 12, 31)), -1);
        assert_eq!(add_days(date(2026, 2, 26), 3), Some(date(2026, 3, 1)));
        assert_eq!(add_days(date(2028, 2, 26), 3), Some(date(2028, 2, 29)));
        assert_eq!(add_days(date(2026, 3, 1), -3), Some(date(2026, 2, 26)));
        assert_eq!(add_days(date(9999, 12, 31), 1), None);
        assert_eq!(add_days(date(1, 1, 1), -1), None);
        let mut day = day_number(date(1, 1, 1));
        let last = day_number(date(9999, 12, 31));
        let mut previous = date_of(day).unwrap();
        while day < last {
            day += 1;
            let next = date_of(day).unwrap();
            assert!(next > previous);
            assert_eq!(day_number(next), day);
            previous = next;
        }
        assert_eq!(previous, date(9999, 12, 31));
    }
}
