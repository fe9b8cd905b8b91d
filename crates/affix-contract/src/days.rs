//! The day functions callers of this crate know by name. Day arithmetic itself lives in
//! `affix-time` ([`Date::day_number`], [`Date::add_days`], [`Date::parse`]).

use affix_time::Date;

/// `date` moved by `days` (negative: back); `None` outside years 1 to 9999
/// ([`Date::add_days`]).
pub fn add_days(date: Date, days: i64) -> Option<Date> {
    date.add_days(days)
}

/// Parses `YYYY-MM-DD` (exactly ten characters, a calendar date): [`Date::parse`].
pub fn parse_day(text: &str) -> Option<Date> {
    Date::parse(text).ok()
}
