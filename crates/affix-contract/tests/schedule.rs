//! Repayment schedules against tables computed independently, schedule text v1 frozen,
//! a cross-check with an independent Python implementation, and properties over random
//! terms.
//!
//! The expected tables were computed with `tests/tools/loan_schedule.py` (Python's
//! `decimal` module, every step quantized as the crate README specifies; it shares no
//! code or integer shortcuts with the Rust side), by running
//! `python3 tests/tools/loan_schedule.py METHOD PRINCIPAL RATE START TERM` (the command
//! is above each table), and hard-coded here. Checked by hand:
//!
//! - bullet 10000 at 3.65 % for 12 months: 10000 × 0.0365 × 12/12 = 365.00;
//! - bullet 10000.01 for 7 months: 10000.01 × 0.0365 × 7/12 = 212.9168… → 212.92;
//! - every first month's interest 10000 × 0.0365 / 12 = 30.4166… → 30.42;
//! - equal instalments 10000 at 3.65 % for 12 months: payment 849.90 (the textbook
//!   formula in exact fractions, `loan_schedule.py --exact 10000 3.65 12`, gives the
//!   same); month 2 interest 9180.52 × 0.0365 / 12 = 27.924… → 27.92; the last
//!   instalment pays the remaining 847.34 + 2.58 = 849.92 (it absorbs the rounding);
//! - equal instalments 5000 at 6 % for 3 months: r = 0.5 %, payment
//!   25 × 1.005³ / (1.005³ − 1) = 1683.3609… → 1683.36, interest 25.00, 16.71, 8.37;
//! - equal principal 1200 at 12 % for 4 months: 300 a month, interest 1 % of the
//!   balance: 12, 9, 6, 3;
//! - equal principal 10000 for 12 months: 833.33 × 11 + 833.37.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

mod common;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use affix_contract::{
    Decimal, Error, LoanNote, RepaymentMethod, SCHEDULE_TEXT_HEADER, Schedule, Template,
};
use affix_identity::Date;
use proptest::prelude::*;

fn date(text: &str) -> Date {
    Date::new(
        text[0..4].parse().unwrap(),
        text[5..7].parse().unwrap(),
        text[8..10].parse().unwrap(),
    )
    .unwrap()
}

/// `year-month-day`, or the month's last day if it has no such day.
fn valid_date(year: u16, month: u8, day: u8) -> Date {
    (1..=day)
        .rev()
        .find_map(|d| Date::new(year, month, d).ok())
        .unwrap()
}

fn method(name: &str) -> RepaymentMethod {
    match name {
        "bullet" => RepaymentMethod::Bullet,
        "equal_instalments" => RepaymentMethod::EqualInstalments,
        "equal_principal" => RepaymentMethod::EqualPrincipal,
        _ => panic!("{name}"),
    }
}

fn loan(method_name: &str, principal: &str, rate: &str, start: &str, term: u16) -> LoanNote {
    LoanNote {
        principal_yuan: Decimal::parse(principal).unwrap(),
        annual_rate_percent: Decimal::parse(rate).unwrap(),
        start_date: date(start),
        term_months: term,
        repayment_method: method(method_name),
    }
}

/// Compares the schedule of `loan` with `rows` (`number due principal interest total
/// balance_after`, one a line, surrounding spaces ignored) and the three totals.
fn check(loan: LoanNote, rows: &str, totals: [&str; 3]) {
    let schedule = loan.schedule().unwrap();
    let actual: Vec<String> = schedule
        .instalments()
        .iter()
        .map(|i| {
            format!(
                "{} {} {} {} {} {}",
                i.number,
                i.due_date,
                i.principal_yuan,
                i.interest_yuan,
                i.total_yuan,
                i.balance_after_yuan
            )
        })
        .collect();
    let expected: Vec<&str> = rows.lines().map(str::trim).collect();
    assert_eq!(actual, expected);
    assert_eq!(
        [
            schedule.total_principal_yuan().to_string(),
            schedule.total_interest_yuan().to_string(),
            schedule.total_repayment_yuan().to_string(),
        ],
        totals.map(str::to_owned)
    );
    assert_schedule_invariants(&schedule);
}

/// What holds for every schedule: the principals sum exactly to the principal, every
/// amount has scale 2 and is non-negative, totals add up, the balance runs down to
/// zero, due dates increase, numbers count from 1.
fn assert_schedule_invariants(schedule: &Schedule) {
    let terms = schedule.terms();
    let fen = |d: Decimal| {
        assert_eq!(d.scale(), 2, "{d:?}");
        assert!(!d.is_negative(), "{d:?}");
        d.to_string().replace('.', "").parse::<u128>().unwrap()
    };
    let principal = fen(terms.principal_yuan);
    let expected_count = match terms.repayment_method {
        RepaymentMethod::Bullet => 1,
        _ => usize::from(terms.term_months),
    };
    assert_eq!(schedule.instalments().len(), expected_count);
    let (mut balance, mut principal_sum, mut interest_sum) = (principal, 0, 0);
    let mut previous_due = terms.start_date;
    for (index, i) in schedule.instalments().iter().enumerate() {
        assert_eq!(usize::from(i.number), index + 1);
        assert!(i.due_date > previous_due);
        previous_due = i.due_date;
        let (p, interest) = (fen(i.principal_yuan), fen(i.interest_yuan));
        assert_eq!(fen(i.total_yuan), p + interest);
        balance -= p;
        assert_eq!(fen(i.balance_after_yuan), balance);
        principal_sum += p;
        interest_sum += interest;
    }
    assert_eq!(balance, 0);
    assert_eq!(principal_sum, principal);
    assert_eq!(fen(schedule.total_principal_yuan()), principal);
    assert_eq!(fen(schedule.total_interest_yuan()), interest_sum);
    assert_eq!(
        fen(schedule.total_repayment_yuan()),
        principal + interest_sum
    );
}

#[test]
fn bullet_10000_at_3_65_over_12_months() {
    // loan_schedule.py bullet 10000 3.65 2026-01-01 12
    check(
        loan("bullet", "10000", "3.65", "2026-01-01", 12),
        "\
         1 2027-01-01 10000.00 365.00 10365.00 0.00
",
        ["10000.00", "365.00", "10365.00"],
    );
}

#[test]
fn equal_instalments_10000_at_3_65_over_12_months() {
    // loan_schedule.py equal_instalments 10000 3.65 2026-01-01 12
    check(
        loan("equal_instalments", "10000", "3.65", "2026-01-01", 12),
        "\
         1 2026-02-01 819.48 30.42 849.90 9180.52
         2 2026-03-01 821.98 27.92 849.90 8358.54
         3 2026-04-01 824.48 25.42 849.90 7534.06
         4 2026-05-01 826.98 22.92 849.90 6707.08
         5 2026-06-01 829.50 20.40 849.90 5877.58
         6 2026-07-01 832.02 17.88 849.90 5045.56
         7 2026-08-01 834.55 15.35 849.90 4211.01
         8 2026-09-01 837.09 12.81 849.90 3373.92
         9 2026-10-01 839.64 10.26 849.90 2534.28
         10 2026-11-01 842.19 7.71 849.90 1692.09
         11 2026-12-01 844.75 5.15 849.90 847.34
         12 2027-01-01 847.34 2.58 849.92 0.00
",
        ["10000.00", "198.82", "10198.82"],
    );
}

#[test]
fn equal_principal_10000_at_3_65_over_12_months() {
    // loan_schedule.py equal_principal 10000 3.65 2026-01-01 12
    check(
        loan("equal_principal", "10000", "3.65", "2026-01-01", 12),
        "\
         1 2026-02-01 833.33 30.42 863.75 9166.67
         2 2026-03-01 833.33 27.88 861.21 8333.34
         3 2026-04-01 833.33 25.35 858.68 7500.01
         4 2026-05-01 833.33 22.81 856.14 6666.68
         5 2026-06-01 833.33 20.28 853.61 5833.35
         6 2026-07-01 833.33 17.74 851.07 5000.02
         7 2026-08-01 833.33 15.21 848.54 4166.69
         8 2026-09-01 833.33 12.67 846.00 3333.36
         9 2026-10-01 833.33 10.14 843.47 2500.03
         10 2026-11-01 833.33 7.60 840.93 1666.70
         11 2026-12-01 833.33 5.07 838.40 833.37
         12 2027-01-01 833.37 2.53 835.90 0.00
",
        ["10000.00", "197.70", "10197.70"],
    );
}

#[test]
fn bullet_odd_principal_over_7_months() {
    // loan_schedule.py bullet 10000.01 3.65 2026-01-01 7
    check(
        loan("bullet", "10000.01", "3.65", "2026-01-01", 7),
        "\
         1 2026-08-01 10000.01 212.92 10212.93 0.00
",
        ["10000.01", "212.92", "10212.93"],
    );
}

#[test]
fn equal_instalments_odd_principal_over_7_months() {
    // loan_schedule.py equal_instalments 10000.01 3.65 2026-01-01 7
    check(
        loan("equal_instalments", "10000.01", "3.65", "2026-01-01", 7),
        "\
         1 2026-02-01 1415.59 30.42 1446.01 8584.42
         2 2026-03-01 1419.90 26.11 1446.01 7164.52
         3 2026-04-01 1424.22 21.79 1446.01 5740.30
         4 2026-05-01 1428.55 17.46 1446.01 4311.75
         5 2026-06-01 1432.90 13.11 1446.01 2878.85
         6 2026-07-01 1437.25 8.76 1446.01 1441.60
         7 2026-08-01 1441.60 4.38 1445.98 0.00
",
        ["10000.01", "122.03", "10122.04"],
    );
}

#[test]
fn equal_principal_odd_principal_over_7_months() {
    // loan_schedule.py equal_principal 10000.01 3.65 2026-01-01 7
    check(
        loan("equal_principal", "10000.01", "3.65", "2026-01-01", 7),
        "\
         1 2026-02-01 1428.57 30.42 1458.99 8571.44
         2 2026-03-01 1428.57 26.07 1454.64 7142.87
         3 2026-04-01 1428.57 21.73 1450.30 5714.30
         4 2026-05-01 1428.57 17.38 1445.95 4285.73
         5 2026-06-01 1428.57 13.04 1441.61 2857.16
         6 2026-07-01 1428.57 8.69 1437.26 1428.59
         7 2026-08-01 1428.59 4.35 1432.94 0.00
",
        ["10000.01", "121.68", "10121.69"],
    );
}

#[test]
fn equal_instalments_at_zero_rate() {
    // loan_schedule.py equal_instalments 10000.01 0 2026-01-01 7
    check(
        loan("equal_instalments", "10000.01", "0", "2026-01-01", 7),
        "\
         1 2026-02-01 1428.57 0.00 1428.57 8571.44
         2 2026-03-01 1428.57 0.00 1428.57 7142.87
         3 2026-04-01 1428.57 0.00 1428.57 5714.30
         4 2026-05-01 1428.57 0.00 1428.57 4285.73
         5 2026-06-01 1428.57 0.00 1428.57 2857.16
         6 2026-07-01 1428.57 0.00 1428.57 1428.59
         7 2026-08-01 1428.59 0.00 1428.59 0.00
",
        ["10000.01", "0.00", "10000.01"],
    );
}

#[test]
fn equal_principal_at_zero_rate() {
    // loan_schedule.py equal_principal 1000 0 2026-01-01 3
    check(
        loan("equal_principal", "1000", "0", "2026-01-01", 3),
        "\
         1 2026-02-01 333.33 0.00 333.33 666.67
         2 2026-03-01 333.33 0.00 333.33 333.34
         3 2026-04-01 333.34 0.00 333.34 0.00
",
        ["1000.00", "0.00", "1000.00"],
    );
}

#[test]
fn bullet_at_zero_rate() {
    // loan_schedule.py bullet 10000 0 2026-01-01 12
    check(
        loan("bullet", "10000", "0", "2026-01-01", 12),
        "\
         1 2027-01-01 10000.00 0.00 10000.00 0.00
",
        ["10000.00", "0.00", "10000.00"],
    );
}

#[test]
fn month_end_start_is_clamped() {
    // loan_schedule.py equal_principal 1200 12 2026-01-31 4
    check(
        loan("equal_principal", "1200", "12", "2026-01-31", 4),
        "\
         1 2026-02-28 300.00 12.00 312.00 900.00
         2 2026-03-31 300.00 9.00 309.00 600.00
         3 2026-04-30 300.00 6.00 306.00 300.00
         4 2026-05-31 300.00 3.00 303.00 0.00
",
        ["1200.00", "30.00", "1230.00"],
    );
}

#[test]
fn month_end_start_is_clamped_in_a_leap_year() {
    // loan_schedule.py equal_instalments 5000 6 2027-12-31 3
    check(
        loan("equal_instalments", "5000", "6", "2027-12-31", 3),
        "\
         1 2028-01-31 1658.36 25.00 1683.36 3341.64
         2 2028-02-29 1666.65 16.71 1683.36 1674.99
         3 2028-03-31 1674.99 8.37 1683.36 0.00
",
        ["5000.00", "50.08", "5050.08"],
    );
}

#[test]
fn bullet_from_month_end() {
    // loan_schedule.py bullet 500 24 2026-01-31 1
    check(
        loan("bullet", "500", "24", "2026-01-31", 1),
        "\
         1 2026-02-28 500.00 10.00 510.00 0.00
",
        ["500.00", "10.00", "510.00"],
    );
}

#[test]
fn a_few_fen_over_many_months_never_overshoot() {
    // loan_schedule.py equal_principal 0.08 12 2026-03-15 12
    check(
        loan("equal_principal", "0.08", "12", "2026-03-15", 12),
        "\
         1 2026-04-15 0.01 0.00 0.01 0.07
         2 2026-05-15 0.01 0.00 0.01 0.06
         3 2026-06-15 0.01 0.00 0.01 0.05
         4 2026-07-15 0.01 0.00 0.01 0.04
         5 2026-08-15 0.01 0.00 0.01 0.03
         6 2026-09-15 0.01 0.00 0.01 0.02
         7 2026-10-15 0.01 0.00 0.01 0.01
         8 2026-11-15 0.01 0.00 0.01 0.00
         9 2026-12-15 0.00 0.00 0.00 0.00
         10 2027-01-15 0.00 0.00 0.00 0.00
         11 2027-02-15 0.00 0.00 0.00 0.00
         12 2027-03-15 0.00 0.00 0.00 0.00
",
        ["0.08", "0.00", "0.08"],
    );
}

#[test]
fn the_fixture_loan_note_schedule_text_is_frozen() {
    // The loan note of the contract vectors, through the template as the platform gets it.
    let fields = Template::loan_note()
        .validate(&common::loan_values(), common::today())
        .unwrap();
    let schedule = LoanNote::from_fields(&fields).unwrap().schedule().unwrap();
    let text = schedule.canonical_text();
    assert!(text.starts_with(SCHEDULE_TEXT_HEADER));
    check_vector("schedule-v1.txt", &text);
    check_vector("schedule-v1.digest", &format!("{}\n", schedule.digest()));
    // The digest as an independent SHA-256 computes it.
    let digest = python_tool(&["--digest"], &text);
    assert_eq!(digest, format!("{}\n", schedule.digest()));
}

#[test]
fn terms_outside_the_template_are_refused() {
    let refused = |loan: LoanNote| match loan.schedule() {
        Err(Error::LoanTermsInvalid { .. }) => {}
        other => panic!("{other:?}"),
    };
    let ok = loan("equal_principal", "100", "3.65", "2026-01-01", 12);
    refused(LoanNote {
        principal_yuan: Decimal::parse("0").unwrap(),
        ..ok.clone()
    });
    refused(LoanNote {
        principal_yuan: Decimal::parse("100.001").unwrap(),
        ..ok.clone()
    });
    refused(LoanNote {
        principal_yuan: Decimal::parse("10000000000000").unwrap(),
        ..ok.clone()
    });
    refused(LoanNote {
        annual_rate_percent: Decimal::parse("100.01").unwrap(),
        ..ok.clone()
    });
    refused(LoanNote {
        annual_rate_percent: Decimal::parse("-1").unwrap(),
        ..ok.clone()
    });
    refused(LoanNote {
        annual_rate_percent: Decimal::parse("3.655").unwrap(),
        ..ok.clone()
    });
    refused(LoanNote {
        term_months: 0,
        ..ok.clone()
    });
    refused(LoanNote {
        term_months: 361,
        ..ok.clone()
    });
    refused(LoanNote {
        start_date: date("9999-06-01"),
        ..ok.clone()
    });
    // Scales other than 2 are accepted and written at scale 2.
    let schedule = LoanNote {
        principal_yuan: Decimal::parse("100").unwrap(),
        annual_rate_percent: Decimal::parse("3.6").unwrap(),
        ..ok
    }
    .schedule()
    .unwrap();
    assert_eq!(schedule.terms().principal_yuan.to_string(), "100.00");
    assert_eq!(schedule.terms().annual_rate_percent.to_string(), "3.60");
}

#[test]
fn the_largest_terms_are_computed() {
    for name in ["bullet", "equal_instalments", "equal_principal"] {
        let schedule = loan(name, "9999999999999", "100", "2026-01-31", 360)
            .schedule()
            .unwrap();
        assert_schedule_invariants(&schedule);
    }
    let bullet = loan("bullet", "9999999999999", "100", "2026-01-31", 360)
        .schedule()
        .unwrap();
    // 30 years at 100 %: thirty times the principal in interest.
    assert_eq!(
        bullet.total_interest_yuan().to_string(),
        "299999999999970.00"
    );
}

#[test]
fn an_independent_python_implementation_computes_the_same_texts() {
    // 300 pseudo-random terms (a fixed xorshift, so a failure reproduces), spread over
    // every method, tiny to huge principals, zero to 100 % rates, 1 to 360 months and
    // month-end start dates.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |bound: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % bound
    };
    let mut input = String::new();
    let mut expected = String::new();
    for case in 0..300 {
        let name = ["bullet", "equal_instalments", "equal_principal"][case % 3];
        let principal_fen = match next(4) {
            0 => 1 + next(1_000),
            1 => 1 + next(100_000_000),
            2 => 1 + next(10_000_000_000),
            _ => 1 + next(999_999_999_999_900),
        };
        let principal = format!("{}.{:02}", principal_fen / 100, principal_fen % 100);
        let rate_units = match next(5) {
            0 => 0,
            1 => 1 + next(10_000),
            _ => 1 + next(2_400),
        };
        let rate = format!("{}.{:02}", rate_units / 100, rate_units % 100);
        let start = valid_date(
            2019 + u16::try_from(next(20)).unwrap(),
            1 + u8::try_from(next(12)).unwrap(),
            [1, 15, 28, 29, 30, 31][usize::try_from(next(6)).unwrap()],
        )
        .to_string();
        let term = u16::try_from(1 + next(360)).unwrap();
        input.push_str(&format!("{name} {principal} {rate} {start} {term}\n"));
        let schedule = loan(name, &principal, &rate, &start, term)
            .schedule()
            .unwrap();
        assert_schedule_invariants(&schedule);
        expected.push_str(&schedule.canonical_text());
    }
    let actual = python_tool(&["-"], &input);
    // Compare line by line so a difference names its place.
    for (n, (a, e)) in actual.lines().zip(expected.lines()).enumerate() {
        assert_eq!(a, e, "line {}", n + 1);
    }
    assert_eq!(actual, expected);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn principals_sum_exactly_and_amounts_are_fen(
        method_index in 0usize..3,
        principal_fen in 1u64..=999_999_999_999_900,
        rate_units in prop_oneof![Just(0u64), 1u64..=10_000, 1u64..=2_400],
        start in (2019u16..2100, 1u8..=12, 1u8..=31),
        term in 1u16..=360,
    ) {
        let (year, month, day) = start;
        let start = valid_date(year, month, day);
        let loan = LoanNote {
            principal_yuan: Decimal::parse(&format!("{}.{:02}", principal_fen / 100, principal_fen % 100)).unwrap(),
            annual_rate_percent: Decimal::parse(&format!("{}.{:02}", rate_units / 100, rate_units % 100)).unwrap(),
            start_date: start,
            term_months: term,
            repayment_method: [RepaymentMethod::Bullet, RepaymentMethod::EqualInstalments, RepaymentMethod::EqualPrincipal][method_index],
        };
        let schedule = loan.schedule().unwrap();
        assert_schedule_invariants(&schedule);
        // Text lines: 7 of header, one per instalment, 3 of totals.
        prop_assert_eq!(schedule.canonical_text().lines().count(), schedule.instalments().len() + 10);
    }
}

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

/// Compares `actual` with the vector file `name` (or writes it when regenerating, an
/// explicit approval of a format change: `tests/vectors/README.md`).
fn check_vector(name: &str, actual: &str) {
    let path = vectors_dir().join(name);
    if std::env::var_os("AFFIX_CONTRACT_WRITE_VECTORS").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(actual, expected, "{name} changed: the format is frozen");
}

/// Runs `tests/tools/loan_schedule.py ARGS` with `input` on stdin, in the venv Python
/// that `scripts/test` makes (`target/pyenv`; only the standard library is used).
fn python_tool(args: &[&str], input: &str) -> String {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/pyenv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/test once (or `python3 -m venv target/pyenv`)",
        python.display()
    );
    let tool = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/loan_schedule.py");
    let mut child = Command::new(python)
        .arg(&tool)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_owned();
    // Written from a thread so a full stdout pipe cannot deadlock the two processes.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        output.status.success(),
        "{}: {}",
        tool.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}
