//! The one-year Loan Prime Rate (LPR) table, and the legal cap on the interest rate of
//! private lending that it sets.
//!
//! 《最高人民法院关于审理民间借贷案件适用法律若干问题的规定》(2020 revision, 法释〔2020〕17号)
//! 第二十五条: a court supports interest at the agreed rate "但是双方约定的利率超过合同成立时
//! 一年期贷款市场报价利率四倍的除外" — except where the agreed rate exceeds four times the
//! one-year LPR at the time the contract is made. The one-year LPR is the one the National
//! Interbank Funding Center publishes monthly, as authorized by the People's Bank of China,
//! since 2019-08-20.

use core::fmt::Write as _;

use affix_time::Date;

use crate::template::parse_date;
use crate::{Decimal, Error};

/// The rule the rate cap applies, cited by [`Error::RateAboveLegalCap`].
pub const RATE_CAP_RULE: &str = "《最高人民法院关于审理民间借贷案件适用法律若干问题的规定》\
     (法释〔2020〕17号) 第二十五条: the agreed rate may not exceed four times the one-year \
     LPR in force when the contract is made";
/// The cap is this many times the one-year LPR.
pub const RATE_CAP_LPR_MULTIPLE: u8 = 4;
/// Entries an [`LprTable`] may hold (85 years of monthly fixings).
pub const LPR_ENTRIES_MAX: usize = 1024;
/// Bytes of an LPR table's text form.
pub const LPR_TABLE_BYTES_MAX: usize = 64 * 1024;

/// The first one-year LPR published under the reformed mechanism (PBC announcement
/// [2019] No. 15): the rule's definition of the LPR starts here, so no table entry may
/// be earlier.
const LPR_FIRST_DATE: (u16, u8, u8) = (2019, 8, 20);
/// The largest one-year LPR an entry may hold, in hundredths of a percent (20.00 %): a
/// sanity bound far above every published value (the highest was 4.25 %).
const LPR_BASIS_POINTS_MAX: u128 = 2000;

/// One published one-year LPR: the rate in force from `effective_date` until the next
/// entry's date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LprEntry {
    /// The date of publication, from which the rate is in force.
    pub effective_date: Date,
    /// The one-year LPR in percent (`3.00` for 3 %), 0.01 to 20.00, at most two fraction
    /// digits; [`LprTable::new`] writes it at scale 2.
    pub one_year_percent: Decimal,
}

/// A dated table of one-year LPRs, checked: at least one entry, effective dates strictly
/// increasing and none before 2019-08-20, rates from 0.01 to 20.00 percent with at most
/// two fraction digits, at most [`LPR_ENTRIES_MAX`] entries, and a `checked_through` date
/// (not before the last entry) up to which its maintainer vouches that no later
/// publication is missing.
///
/// A table may list every monthly fixing or only those that changed the rate: the rate
/// in force on a date is the same either way.
///
/// **Keep it current.** The LPR is published on the 20th of each month (the next working
/// day after a holiday). A date after `checked_through` has no known rate:
/// [`LprTable::in_force`] refuses it ([`Error::LprTableOutdated`]) instead of assuming the
/// last rate still holds. Operators update the table (and its `through` line) after each
/// fixing; [`LprTable::builtin`] is only a starting point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LprTable {
    entries: Vec<LprEntry>,
    checked_through: Date,
}

/// The rate cap a loan note was checked against: [`crate::LoanNote::check_rate_cap`]
/// returns it when the rate is within the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateCap {
    /// The date the contract is made, whose LPR applies.
    pub on: Date,
    /// The table entry in force on that date.
    pub lpr: LprEntry,
    /// The cap: [`RATE_CAP_LPR_MULTIPLE`] × the LPR, in percent, scale 2.
    pub cap_percent: Decimal,
    /// The loan note's annual rate in percent, at most the cap.
    pub annual_rate_percent: Decimal,
}

impl LprTable {
    /// A table of `entries` (oldest first) vouched for through `checked_through`;
    /// [`Error::LprTableInvalid`] (with `line` the 1-based position of the bad entry, or
    /// 0 for the table as a whole) if it breaks a rule of [`LprTable`].
    pub fn new(entries: Vec<LprEntry>, checked_through: Date) -> Result<Self, Error> {
        let positions = (1..=entries.len()).collect::<Vec<_>>();
        Self::checked(entries, &positions, checked_through)
    }

    /// Parses the text form: UTF-8 lines, each (after removing a `#` comment and
    /// surrounding spaces or tabs) empty, an entry `YYYY-MM-DD PERCENT` (date, spaces or
    /// tabs, decimal: `2025-05-20 3.00`), or exactly once `through YYYY-MM-DD`. At most
    /// [`LPR_TABLE_BYTES_MAX`] bytes. Errors name the 1-based line
    /// ([`Error::LprTableInvalid`]; line 0 for the text as a whole).
    pub fn parse(text: &str) -> Result<Self, Error> {
        let invalid = |line, reason| Error::LprTableInvalid { line, reason };
        let not_a_date = |line| invalid(line, "not a YYYY-MM-DD date");
        if text.len() > LPR_TABLE_BYTES_MAX {
            return Err(Error::TooLarge {
                what: "LPR table bytes",
                actual: text.len(),
                limit: LPR_TABLE_BYTES_MAX,
            });
        }
        let mut entries = Vec::new();
        let mut lines = Vec::new();
        let mut through = None;
        for (index, raw) in text.split('\n').enumerate() {
            let line = index + 1;
            let content = raw.split_once('#').map_or(raw, |(before, _)| before);
            let words: Vec<&str> = content
                .split([' ', '\t', '\r'])
                .filter(|w| !w.is_empty())
                .take(3)
                .collect();
            let (first, second) = match words[..] {
                [] => continue,
                [first, second] => (first, second),
                _ => {
                    return Err(invalid(
                        line,
                        "not `YYYY-MM-DD PERCENT` or `through YYYY-MM-DD`",
                    ));
                }
            };
            if first == "through" {
                if through.is_some() {
                    return Err(invalid(line, "a second `through` line"));
                }
                through = Some(parse_date(second).ok_or_else(|| not_a_date(line))?);
                continue;
            }
            if entries.len() == LPR_ENTRIES_MAX {
                return Err(invalid(line, "more entries than LPR_ENTRIES_MAX"));
            }
            let effective_date = parse_date(first).ok_or_else(|| not_a_date(line))?;
            let one_year_percent =
                Decimal::parse(second).ok_or(invalid(line, "rate not a decimal"))?;
            entries.push(LprEntry {
                effective_date,
                one_year_percent,
            });
            lines.push(line);
        }
        let through = through.ok_or(invalid(0, "no `through YYYY-MM-DD` line"))?;
        Self::checked(entries, &lines, through)
    }

    /// The built-in table: every change of the published one-year LPR from the first
    /// fixing of the reformed mechanism (2019-08-20, 4.25 %) to the latest this code
    /// knows (2025-05-20, 3.00 %), vouched for through 2026-03-19 (the fixings of
    /// 2025-06 to 2026-02 left the rate at 3.00 %; the next could be on 2026-03-20).
    ///
    /// Source: the monthly announcements "中国人民银行授权全国银行间同业拆借中心公布…贷款
    /// 市场报价利率（LPR）" of the People's Bank of China and the National Interbank
    /// Funding Center, as reported at each fixing (Xinhua and others). **Operators must
    /// keep their own table current** ([`LprTable::parse`]): after 2026-03-19 this one
    /// refuses every date with [`Error::LprTableOutdated`].
    pub fn builtin() -> Self {
        Self::parse(BUILTIN_TEXT)
            // The text below satisfies every rule (unit test `builtin_table_is_valid`).
            .expect("built-in LPR table is valid")
    }

    /// The entries, oldest first, rates at scale 2.
    pub fn entries(&self) -> &[LprEntry] {
        &self.entries
    }

    /// The last date the table is vouched for.
    pub fn checked_through(&self) -> Date {
        self.checked_through
    }

    /// The entry in force on `on`: the last one whose effective date is not after it.
    /// [`Error::NoLprInForce`] before the first entry; [`Error::LprTableOutdated`] after
    /// `checked_through`.
    pub fn in_force(&self, on: Date) -> Result<LprEntry, Error> {
        if on > self.checked_through {
            return Err(Error::LprTableOutdated {
                on,
                checked_through: self.checked_through,
            });
        }
        self.entries
            .iter()
            .rev()
            .find(|e| e.effective_date <= on)
            .copied()
            .ok_or(Error::NoLprInForce {
                on,
                // A table has at least one entry (`checked`).
                first_effective_date: self.entries[0].effective_date,
            })
    }

    /// The text form [`LprTable::parse`] reads, canonical: one `YYYY-MM-DD PERCENT` line
    /// per entry (rate at scale 2, one space), then `through YYYY-MM-DD`; every line ends
    /// with `\n`; no comments.
    pub fn canonical_text(&self) -> String {
        let mut text = String::new();
        for e in &self.entries {
            // Writing to a String cannot fail.
            let _ = writeln!(text, "{} {}", e.effective_date, e.one_year_percent);
        }
        let _ = writeln!(text, "through {}", self.checked_through);
        text
    }

    /// The rate cap on `on` (the entry in force × [`RATE_CAP_LPR_MULTIPLE`]), for
    /// [`crate::LoanNote::check_rate_cap`].
    pub(crate) fn cap_percent(&self, on: Date) -> Result<(LprEntry, Decimal), Error> {
        let lpr = self.in_force(on)?;
        // Rates are checked to scale 2 and at most 20.00: the units are at most 2000, the
        // cap at most 8000 units (80.00 %), far inside the digit limits.
        let units = lpr.one_year_percent.to_units(2).unwrap_or(0);
        let cap = Decimal::from_units(units * u128::from(RATE_CAP_LPR_MULTIPLE), 2)
            .unwrap_or(Decimal::ZERO);
        Ok((lpr, cap))
    }

    /// Checks the table rules; `positions[i]` names entry `i` in errors.
    fn checked(
        mut entries: Vec<LprEntry>,
        positions: &[usize],
        checked_through: Date,
    ) -> Result<Self, Error> {
        let whole = 0;
        let invalid = |line, reason| Err(Error::LprTableInvalid { line, reason });
        if entries.is_empty() {
            return invalid(whole, "no entries");
        }
        if entries.len() > LPR_ENTRIES_MAX {
            return invalid(whole, "more entries than LPR_ENTRIES_MAX");
        }
        let (year, month, day) = LPR_FIRST_DATE;
        let first_date = Date::new(year, month, day)
            // A fixed calendar date.
            .expect("2019-08-20 is a date");
        let mut previous: Option<Date> = None;
        for (entry, &line) in entries.iter_mut().zip(positions) {
            if entry.effective_date < first_date {
                return invalid(line, "effective date before 2019-08-20, the first LPR");
            }
            if previous.is_some_and(|p| entry.effective_date <= p) {
                return invalid(line, "effective dates not strictly increasing");
            }
            previous = Some(entry.effective_date);
            match entry.one_year_percent.to_units(2) {
                Some(units) if (1..=LPR_BASIS_POINTS_MAX).contains(&units) => {
                    entry.one_year_percent = Decimal::from_units(units, 2)
                        // At most 2000 units at scale 2: inside the digit limits.
                        .expect("small rate fits");
                }
                _ => {
                    return invalid(
                        line,
                        "rate not from 0.01 to 20.00 percent with at most two fraction digits",
                    );
                }
            }
        }
        if previous.is_some_and(|last| checked_through < last) {
            return invalid(whole, "`through` date before the last entry");
        }
        Ok(Self {
            entries,
            checked_through,
        })
    }
}

/// [`LprTable::builtin`] in text form: each change of the one-year LPR since the reform.
const BUILTIN_TEXT: &str = "\
# One-year LPR (percent), each change since the reformed LPR was first published.
# Source: PBC / National Interbank Funding Center monthly LPR announcements.
2019-08-20 4.25
2019-09-20 4.20
2019-11-20 4.15
2020-02-20 4.05
2020-04-20 3.85
2021-12-20 3.80
2022-01-20 3.70
2022-08-22 3.65
2023-06-20 3.55
2023-08-21 3.45
2024-07-22 3.35
2024-10-21 3.10
2025-05-20 3.00
# Fixings 2025-06-20 to 2026-02-24 left it at 3.00; the next is due 2026-03-20.
through 2026-03-19
";

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> Date {
        parse_date(text).unwrap()
    }

    #[test]
    fn builtin_table_is_valid() {
        let table = LprTable::builtin();
        assert_eq!(table.entries().len(), 13);
        assert_eq!(table.checked_through(), date("2026-03-19"));
        assert_eq!(LprTable::parse(&table.canonical_text()).unwrap(), table);
    }

    #[test]
    fn the_entry_in_force_changes_on_its_effective_date() {
        let table = LprTable::builtin();
        let rate = |on| {
            table
                .in_force(date(on))
                .unwrap()
                .one_year_percent
                .to_string()
        };
        assert_eq!(rate("2019-08-20"), "4.25");
        assert_eq!(rate("2020-04-19"), "4.05");
        assert_eq!(rate("2020-04-20"), "3.85");
        assert_eq!(rate("2021-12-19"), "3.85");
        assert_eq!(rate("2025-05-19"), "3.10");
        assert_eq!(rate("2025-05-20"), "3.00");
        assert_eq!(rate("2026-03-19"), "3.00");
        assert_eq!(
            table.in_force(date("2019-08-19")),
            Err(Error::NoLprInForce {
                on: date("2019-08-19"),
                first_effective_date: date("2019-08-20"),
            })
        );
        assert_eq!(
            table.in_force(date("2026-03-20")),
            Err(Error::LprTableOutdated {
                on: date("2026-03-20"),
                checked_through: date("2026-03-19"),
            })
        );
    }
}
