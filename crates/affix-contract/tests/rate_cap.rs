//! The legal rate cap (four times the one-year LPR when the contract is made) and the
//! LPR table it reads.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

mod common;

use affix_contract::{
    Decimal, Error, LPR_TABLE_BYTES_MAX, LoanNote, LprEntry, LprTable, RATE_CAP_RULE,
    RepaymentMethod, Template,
};
use affix_identity::Date;
use proptest::prelude::*;

fn date(y: u16, m: u8, d: u8) -> Date {
    Date::new(y, m, d).unwrap()
}

fn d(text: &str) -> Decimal {
    Decimal::parse(text).unwrap()
}

fn note(rate: &str) -> LoanNote {
    LoanNote {
        principal_yuan: d("10000.00"),
        annual_rate_percent: d(rate),
        start_date: date(2026, 1, 1),
        term_months: 12,
        repayment_method: RepaymentMethod::Bullet,
    }
}

/// A table whose rate in force in 2021 is 3.85 % (cap 15.40 %), as in the 16 months
/// from April 2020.
fn table_2021() -> LprTable {
    LprTable::parse(
        "# one-year LPR\n\
         2019-08-20 4.25\n\
         2020-04-20\t3.85   # tabs and spaces separate\n\
         \n\
         2021-12-20 3.8\n\
         through 2021-12-31\n",
    )
    .unwrap()
}

#[test]
fn at_the_cap_is_accepted_and_one_basis_point_above_is_refused() {
    let on = date(2021, 6, 1);
    let cap = note("15.40").check_rate_cap(&table_2021(), on).unwrap();
    assert_eq!(cap.cap_percent.to_string(), "15.40");
    assert_eq!(cap.lpr.one_year_percent.to_string(), "3.85");
    assert_eq!(cap.lpr.effective_date, date(2020, 4, 20));
    assert_eq!(cap.on, on);
    assert_eq!(cap.annual_rate_percent, d("15.40"));

    let err = note("15.41").check_rate_cap(&table_2021(), on).unwrap_err();
    assert_eq!(
        err,
        Error::RateAboveLegalCap {
            cap_percent: d("15.40"),
            lpr_percent: d("3.85"),
            lpr_effective_date: date(2020, 4, 20),
            on,
        }
    );
    let message = err.to_string();
    assert!(message.contains("15.40%"), "{message}");
    assert!(message.contains("第二十五条"), "{message}");
    assert!(message.contains(RATE_CAP_RULE), "{message}");
    assert!(
        !message.contains("15.41"),
        "the rate is not echoed: {message}"
    );

    // Zero and low rates are always within the cap.
    assert!(note("0").check_rate_cap(&table_2021(), on).is_ok());
}

#[test]
fn the_builtin_table_caps_a_2026_note_at_12_percent() {
    let table = LprTable::builtin();
    let on = date(2026, 1, 1);
    let cap = note("12.00").check_rate_cap(&table, on).unwrap();
    assert_eq!(cap.cap_percent.to_string(), "12.00");
    assert_eq!(
        cap.lpr,
        LprEntry {
            effective_date: date(2025, 5, 20),
            one_year_percent: d("3.00"),
        }
    );
    assert!(matches!(
        note("12.01").check_rate_cap(&table, on),
        Err(Error::RateAboveLegalCap { .. })
    ));
}

#[test]
fn the_lpr_of_the_day_the_contract_is_made_applies() {
    // 2025-05-20 the LPR fell from 3.10 to 3.00: 12.40 % is lawful the day before only.
    let table = LprTable::builtin();
    assert!(
        note("12.40")
            .check_rate_cap(&table, date(2025, 5, 19))
            .is_ok()
    );
    assert!(
        note("12.40")
            .check_rate_cap(&table, date(2025, 5, 20))
            .is_err()
    );
    // The note's start date does not matter, only the date given.
    let mut early_start = note("12.40");
    early_start.start_date = date(2025, 1, 1);
    assert!(
        early_start
            .check_rate_cap(&table, date(2025, 5, 20))
            .is_err()
    );
}

#[test]
fn a_note_through_the_template_is_checked() {
    let mut values = common::loan_values();
    values.insert("annual_rate_percent".into(), "24".into());
    let fields = Template::loan_note()
        .validate(&values, common::today())
        .unwrap();
    let loan = LoanNote::from_fields(&fields).unwrap();
    assert!(matches!(
        loan.check_rate_cap(&LprTable::builtin(), common::today()),
        Err(Error::RateAboveLegalCap { .. })
    ));
}

#[test]
fn no_lpr_before_the_first_entry_and_none_after_the_table_is_vouched_for() {
    let table = table_2021();
    assert_eq!(
        note("1").check_rate_cap(&table, date(2019, 8, 19)),
        Err(Error::NoLprInForce {
            on: date(2019, 8, 19),
            first_effective_date: date(2019, 8, 20),
        })
    );
    assert!(note("1").check_rate_cap(&table, date(2021, 12, 31)).is_ok());
    assert_eq!(
        note("1").check_rate_cap(&table, date(2022, 1, 1)),
        Err(Error::LprTableOutdated {
            on: date(2022, 1, 1),
            checked_through: date(2021, 12, 31),
        })
    );
}

#[test]
fn the_text_form_round_trips_canonically() {
    let table = table_2021();
    assert_eq!(
        table.canonical_text(),
        "2019-08-20 4.25\n2020-04-20 3.85\n2021-12-20 3.80\nthrough 2021-12-31\n"
    );
    assert_eq!(LprTable::parse(&table.canonical_text()).unwrap(), table);
    // CRLF line ends are accepted too.
    assert_eq!(
        LprTable::parse(&table.canonical_text().replace('\n', "\r\n")).unwrap(),
        table
    );
    let built = LprTable::new(table.entries().to_vec(), table.checked_through()).unwrap();
    assert_eq!(built, table);
}

#[test]
fn bad_tables_are_refused_with_the_line() {
    let cases: &[(&str, usize)] = &[
        ("", 0),                                      // no entries, no through
        ("2019-08-20 4.25\n", 0),                     // no through
        ("through 2020-01-01\n", 0),                  // no entries
        ("2019-08-20 4.25\nthrough 2019-08-19\n", 0), // through before last
        (
            "2019-08-20 4.25\nthrough 2020-01-01\nthrough 2020-01-01\n",
            3,
        ), // two throughs
        ("2019-08-19 4.25\nthrough 2020-01-01\n", 1), // before the first LPR
        ("2019-08-20 4.25\n2019-08-20 4.20\nthrough 2020-01-01\n", 2), // not increasing
        ("2019-09-20 4.25\n2019-08-20 4.20\nthrough 2020-01-01\n", 2), // not increasing
        ("2019-08-20 0\nthrough 2020-01-01\n", 1),    // zero
        ("2019-08-20 20.01\nthrough 2020-01-01\n", 1), // not sane
        ("2019-08-20 -3.85\nthrough 2020-01-01\n", 1), // negative
        ("2019-08-20 3.855\nthrough 2020-01-01\n", 1), // three fraction digits
        ("2019-08-20 3,85\nthrough 2020-01-01\n", 1), // not a decimal
        ("2019-08-20 3.85%\nthrough 2020-01-01\n", 1), // not a decimal
        ("2019-02-30 3.85\nthrough 2020-01-01\n", 1), // not a date
        ("2019-08-20\nthrough 2020-01-01\n", 1),      // no rate
        ("2019-08-20 3.85 extra\nthrough 2020-01-01\n", 1), // extra word
        ("\n\n2019-08-20 3.85\nthrough 2020-1-1\n", 4), // not a date
        ("lpr = 3.85\n", 1),                          // not the format
    ];
    for (text, line) in cases {
        match LprTable::parse(text) {
            Err(Error::LprTableInvalid { line: got, .. }) => {
                assert_eq!(got, *line, "{text:?}");
            }
            other => panic!("{text:?}: {other:?}"),
        }
    }
    assert!(matches!(
        LprTable::parse(&"#".repeat(LPR_TABLE_BYTES_MAX + 1)),
        Err(Error::TooLarge { .. })
    ));
    let entry = |y, m, day, rate| LprEntry {
        effective_date: date(y, m, day),
        one_year_percent: d(rate),
    };
    assert_eq!(
        LprTable::new(
            vec![entry(2019, 8, 20, "4.25"), entry(2019, 9, 20, "25")],
            date(2020, 1, 1)
        ),
        Err(Error::LprTableInvalid {
            line: 2,
            reason: "rate not from 0.01 to 20.00 percent with at most two fraction digits",
        })
    );
    assert!(matches!(
        LprTable::new(vec![], date(2020, 1, 1)),
        Err(Error::LprTableInvalid { line: 0, .. })
    ));
}

#[test]
fn a_table_of_every_monthly_fixing_gives_the_same_caps() {
    // Unchanged fixings add entries but never change the rate in force.
    let mut monthly = String::new();
    for (y, m, rate) in [
        (2025, 4, "3.10"),
        (2025, 5, "3.00"),
        (2025, 6, "3.00"),
        (2025, 7, "3.00"),
    ] {
        monthly.push_str(&format!("{y}-{m:02}-21 {rate}\n"));
    }
    monthly.push_str("through 2025-08-19\n");
    let monthly = LprTable::parse(&monthly).unwrap();
    let on = date(2025, 8, 1);
    let cap = note("12.00").check_rate_cap(&monthly, on).unwrap();
    assert_eq!(cap.lpr.effective_date, date(2025, 7, 21));
    assert_eq!(cap.cap_percent.to_string(), "12.00");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parsing_arbitrary_text_never_panics(text in ".{0,200}") {
        if let Ok(table) = LprTable::parse(&text) {
            prop_assert_eq!(LprTable::parse(&table.canonical_text()).unwrap(), table);
        }
    }

    #[test]
    fn the_cap_is_exactly_four_times_the_lpr(lpr_units in 1u32..=2000, rate_units in 0u32..=10_000) {
        let lpr = format!("{}.{:02}", lpr_units / 100, lpr_units % 100);
        let table = LprTable::parse(&format!("2020-01-20 {lpr}\nthrough 2020-12-31\n")).unwrap();
        let rate = format!("{}.{:02}", rate_units / 100, rate_units % 100);
        let result = note(&rate).check_rate_cap(&table, date(2020, 6, 1));
        prop_assert_eq!(result.is_ok(), rate_units <= 4 * lpr_units, "{} vs {}", rate, lpr);
    }
}
