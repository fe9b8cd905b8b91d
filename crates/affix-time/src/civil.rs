//! Howard Hinnant's civil-calendar algorithms ("chrono-Compatible Low-Level Date
//! Algorithms", `days_from_civil` and `civil_from_days`), in signed day numbers counted
//! from 1970-01-01. The only copy in Affix: dates, day arithmetic and RFC 3339 rendering
//! all go through these two functions.

/// Days from 0000-03-01 (proleptic) to 1970-01-01.
const EPOCH_SHIFT: i64 = 719_468;
/// Days in a 400-year era.
const DAYS_PER_ERA: i64 = 146_097;

/// The number of days from 1970-01-01 to `year-month-day` (negative before it). Exact
/// for every year that fits a `u16` and every month 1 to 12.
pub(crate) fn days_from_civil(year: u16, month: u8, day: u8) -> i64 {
    let (month, day) = (i64::from(month), i64::from(day));
    let year = i64::from(year) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * DAYS_PER_ERA + doe - EPOCH_SHIFT
}

/// The (year, month, day) `days` days after 1970-01-01, or `None` if `days` is so far
/// from the epoch that the arithmetic would overflow (beyond about ±2.5 × 10^16 years;
/// callers check the year range they need).
pub(crate) fn civil_from_days(days: i64) -> Option<(i64, u8, u8)> {
    let z = days.checked_add(EPOCH_SHIFT)?;
    let era = z.div_euclid(DAYS_PER_ERA);
    let doe = z - era * DAYS_PER_ERA;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe.checked_add(era.checked_mul(400)?)? + i64::from(month <= 2);
    // 1 <= month <= 12 and 1 <= day <= 31 by construction.
    Some((year, u8::try_from(month).ok()?, u8::try_from(day).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_directions_are_inverse() {
        for days in (-800_000..3_000_000).step_by(7) {
            let (year, month, day) = civil_from_days(days).unwrap();
            if let Ok(year) = u16::try_from(year) {
                assert_eq!(days_from_civil(year, month, day), days);
            }
        }
        assert_eq!(civil_from_days(0), Some((1970, 1, 1)));
        assert_eq!(civil_from_days(-1), Some((1969, 12, 31)));
        assert_eq!(days_from_civil(2026, 1, 1), 20_454);
        assert!(civil_from_days(i64::MAX).is_none());
        assert!(civil_from_days(i64::MIN / 2).is_some());
    }
}
