//! Resident ID numbers (GB 11643-1999): known-valid numbers, checksum, regions, dates.

#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

mod common;

use affix_identity::{Date, Error, ResidentId, Sex};
use common::{salt, today};

/// A valid number, its region code, birth date and sex.
type ValidRow = (&'static str, u32, (u16, u8, u8), Sex);

/// Valid numbers. The first is the sample published with GB 11643-1999; the check
/// characters of the others were computed independently of this crate with:
///
/// ```text
/// python3 -c "
/// import sys
/// for b in sys.argv[1:]: print(b + '10X98765432'[sum(int(d)*(2**(17-i)%11) for i,d in enumerate(b))%11])
/// " 11010519491231002 44030820000229123 81000019900101001 83000019900101002 \
///   65010219000101001 31011519870615245 51010720240229004 71000020010911005
/// ```
const VALID: &[ValidRow] = &[
    ("11010519491231002X", 110105, (1949, 12, 31), Sex::Female),
    ("440308200002291231", 440308, (2000, 2, 29), Sex::Male),
    ("810000199001010019", 810000, (1990, 1, 1), Sex::Male),
    ("830000199001010020", 830000, (1990, 1, 1), Sex::Female),
    ("650102190001010016", 650102, (1900, 1, 1), Sex::Male),
    ("310115198706152452", 310115, (1987, 6, 15), Sex::Male),
    ("510107202402290043", 510107, (2024, 2, 29), Sex::Female),
    ("710000200109110056", 710000, (2001, 9, 11), Sex::Male),
];

fn parse(text: &str) -> Result<ResidentId, Error> {
    ResidentId::parse(text, today())
}

#[test]
fn known_valid_numbers_parse_with_their_fields() {
    for &(text, region, (year, month, day), sex) in VALID {
        let id = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(id.expose_number(), text);
        assert_eq!(id.region_code(), region, "{text}");
        assert_eq!(u32::from(id.province_code()), region / 10_000, "{text}");
        assert_eq!(
            id.birth_date(),
            Date::new(year, month, day).unwrap(),
            "{text}"
        );
        assert_eq!(id.sex(), sex, "{text}");
    }
}

#[test]
fn every_single_digit_change_is_rejected() {
    for &(text, ..) in VALID {
        for position in 0..18 {
            for replacement in "0123456789X".chars() {
                let mut chars: Vec<char> = text.chars().collect();
                if chars[position] == replacement {
                    continue;
                }
                chars[position] = replacement;
                let changed: String = chars.into_iter().collect();
                let result = parse(&changed);
                assert!(result.is_err(), "{changed} (from {text}) was accepted");
                // A digit changed in the body is always caught by the checksum (MOD 11-2
                // detects every single substitution), before any other check.
                if position < 17 && replacement != 'X' {
                    assert!(
                        matches!(result, Err(Error::ResidentIdChecksumMismatch { .. })),
                        "{changed}: {result:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn checksum_error_reports_both_check_characters() {
    assert_eq!(
        parse("110105194912310021").unwrap_err(),
        Error::ResidentIdChecksumMismatch {
            expected: 'X',
            found: '1'
        }
    );
    assert_eq!(
        parse("44030820000229123X").unwrap_err(),
        Error::ResidentIdChecksumMismatch {
            expected: '1',
            found: 'X'
        }
    );
}

#[test]
fn adjacent_transpositions_are_rejected() {
    for &(text, ..) in VALID {
        let chars: Vec<char> = text.chars().collect();
        for i in 0..16 {
            if chars[i] == chars[i + 1] {
                continue;
            }
            let mut swapped = chars.clone();
            swapped.swap(i, i + 1);
            let swapped: String = swapped.into_iter().collect();
            assert!(
                parse(&swapped).is_err(),
                "{swapped} (from {text}) was accepted"
            );
        }
    }
}

#[test]
fn lowercase_x_is_accepted_and_normalized() {
    let id = parse("11010519491231002x").unwrap();
    assert_eq!(id.expose_number(), "11010519491231002X");
    assert_eq!(id, parse("11010519491231002X").unwrap());
    assert_eq!(
        id.commitment(&salt()),
        parse("11010519491231002X").unwrap().commitment(&salt())
    );
}

#[test]
fn x_only_in_the_last_position() {
    assert_eq!(
        parse("1101051949123100X2").unwrap_err(),
        Error::ResidentIdInvalidCharacter { position: 16 }
    );
    assert_eq!(
        parse("X1010519491231002X").unwrap_err(),
        Error::ResidentIdInvalidCharacter { position: 0 }
    );
}

#[test]
fn wrong_lengths_and_characters() {
    assert_eq!(
        parse("").unwrap_err(),
        Error::ResidentIdWrongLength { length: 0 }
    );
    // A first-generation 15-digit number.
    assert_eq!(
        parse("110105491231002").unwrap_err(),
        Error::ResidentIdWrongLength { length: 15 }
    );
    assert_eq!(
        parse("11010519491231002X0").unwrap_err(),
        Error::ResidentIdWrongLength { length: 19 }
    );
    assert_eq!(
        parse(" 11010519491231002X").unwrap_err(),
        Error::ResidentIdWrongLength { length: 19 }
    );
    assert_eq!(
        parse("1101051949-231002X").unwrap_err(),
        Error::ResidentIdInvalidCharacter { position: 10 }
    );
    // Full-width digits are not digits here, and are counted as characters, not bytes.
    assert_eq!(
        parse("１1010519491231002X").unwrap_err(),
        Error::ResidentIdInvalidCharacter { position: 0 }
    );
    assert_eq!(
        parse("11010519491231002Y").unwrap_err(),
        Error::ResidentIdInvalidCharacter { position: 17 }
    );
}

#[test]
fn unknown_province_codes_are_rejected() {
    // Check characters computed with the command above (region codes 91…, 00…, 16…, 72…).
    assert_eq!(
        parse("91010519900101001X").unwrap_err(),
        Error::ResidentIdUnknownRegion { province_code: 91 }
    );
    for body in [
        "00010519900101001",
        "16010519900101001",
        "72010519900101001",
        "84000019900101001",
    ] {
        let id = with_check(body);
        assert!(
            matches!(parse(&id), Err(Error::ResidentIdUnknownRegion { .. })),
            "{id}"
        );
    }
    for province in [
        11, 15, 21, 23, 31, 37, 41, 46, 50, 54, 61, 65, 71, 81, 82, 83,
    ] {
        let id = with_check(&format!("{province}010519900101001"));
        assert_eq!(parse(&id).unwrap().province_code(), province);
    }
}

#[test]
fn leap_days() {
    // 2000 is a leap year (divisible by 400), 1900 and 2100 are not (by 100 only).
    assert!(parse(&with_check("11010520000229001")).is_ok());
    assert!(parse(&with_check("11010520240229001")).is_ok());
    assert_eq!(
        parse("110105190002290017").unwrap_err(),
        Error::ResidentIdInvalidBirthDate
    );
    assert_eq!(
        parse(&with_check("11010520230229001")).unwrap_err(),
        Error::ResidentIdInvalidBirthDate
    );
    // 2100-02-29 is no date, whatever the reference date.
    assert_eq!(
        ResidentId::parse("110105210002290012", Date::new(9999, 12, 31).unwrap()).unwrap_err(),
        Error::ResidentIdInvalidBirthDate
    );
}

#[test]
fn impossible_dates() {
    for date in [
        "19900230", "19900431", "19901301", "19900001", "19900100", "00000000",
    ] {
        let id = with_check(&format!("110105{date}001"));
        assert!(
            matches!(
                parse(&id),
                Err(Error::ResidentIdInvalidBirthDate | Error::ResidentIdBirthDateBefore1900)
            ),
            "{id}"
        );
    }
    assert_eq!(
        parse("11010519900230001X").unwrap_err(),
        Error::ResidentIdInvalidBirthDate
    );
}

#[test]
fn dates_before_1900_are_rejected() {
    assert_eq!(
        parse("110105189912310015").unwrap_err(),
        Error::ResidentIdBirthDateBefore1900
    );
    assert!(parse("650102190001010016").is_ok());
}

#[test]
fn future_birth_dates_are_rejected_and_today_is_accepted() {
    let id = "110105209912310010";
    assert_eq!(parse(id).unwrap_err(), Error::ResidentIdBirthDateInFuture);
    assert!(ResidentId::parse(id, Date::new(2099, 12, 31).unwrap()).is_ok());
    assert_eq!(
        ResidentId::parse(id, Date::new(2099, 12, 30).unwrap()).unwrap_err(),
        Error::ResidentIdBirthDateInFuture
    );
    // Born on the reference date (2026-01-01).
    assert!(parse(&with_check("11010520260101001")).is_ok());
    assert_eq!(
        parse(&with_check("11010520260102001")).unwrap_err(),
        Error::ResidentIdBirthDateInFuture
    );
}

#[test]
fn the_undated_parse_leaves_only_the_birth_date_check_to_the_caller() {
    let future = "110105209912310010";
    let id = ResidentId::parse_undated(future).unwrap();
    assert_eq!(id.birth_date(), Date::new(2099, 12, 31).unwrap());
    assert_eq!(
        id.check_born_by(today()).unwrap_err(),
        Error::ResidentIdBirthDateInFuture
    );
    assert!(id.check_born_by(Date::new(2099, 12, 31).unwrap()).is_ok());
    // Every other check still applies.
    assert_eq!(
        ResidentId::parse_undated("110105189912310015").unwrap_err(),
        Error::ResidentIdBirthDateBefore1900
    );
    assert_eq!(
        ResidentId::parse_undated("11010519491231002Y").unwrap_err(),
        Error::ResidentIdInvalidCharacter { position: 17 }
    );
    for &(text, ..) in VALID {
        assert_eq!(
            ResidentId::parse_undated(text).unwrap(),
            parse(text).unwrap()
        );
    }
}

#[test]
fn display_and_debug_are_redacted() {
    let id = parse("11010519491231002X").unwrap();
    assert_eq!(id.to_string(), "110105***********X");
    assert_eq!(format!("{id:?}"), "ResidentId(110105***********X)");
    let other = parse("440308200002291231").unwrap();
    assert_eq!(other.to_string(), "440308***********1");
    assert!(!format!("{other:?}").contains("20000229"));
}

#[test]
fn commitment_depends_on_number_and_salt() {
    let id = parse("11010519491231002X").unwrap();
    let other = parse("440308200002291231").unwrap();
    assert_eq!(id.commitment(&salt()), id.commitment(&salt()));
    assert_ne!(id.commitment(&salt()), other.commitment(&salt()));
    assert_ne!(id.commitment(&salt()), id.commitment(&[0u8; 32]));
}

/// `body` (17 digits) with its check character, computed here independently of the crate
/// by the GB 11643 definition: weights `2^(17-i) mod 11`, check `(12 - sum mod 11) mod 11`,
/// 10 written `X`.
fn with_check(body: &str) -> String {
    assert_eq!(body.len(), 17);
    let sum: u32 = body
        .bytes()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * ((1u32 << (17 - i)) % 11))
        .sum();
    let check = (12 - sum % 11) % 11;
    let check = if check == 10 {
        'X'
    } else {
        char::from_digit(check, 10).unwrap()
    };
    format!("{body}{check}")
}

#[test]
fn independent_check_function_agrees_with_the_python_command() {
    for &(text, ..) in VALID {
        assert_eq!(with_check(&text[..17]), text);
    }
}
