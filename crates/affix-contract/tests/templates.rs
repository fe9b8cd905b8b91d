//! Template validation: canonical forms, and every field error listed at once.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

mod common;

use affix_contract::{
    Decimal, Error, FieldError, FieldProblem, FieldSpec, FieldType, LoanNote, RepaymentMethod,
    Template, TemplateId,
};
use common::{loan_values, today, values};

#[test]
fn loan_note_values_are_canonicalized() {
    let fields = Template::loan_note()
        .validate(&loan_values(), today())
        .unwrap();
    assert_eq!(fields.get("principal"), Some("CNY 10000.00"));
    assert_eq!(fields.get("annual_rate_percent"), Some("3.65"));
    assert_eq!(fields.get("term_months"), Some("12"));
    assert_eq!(fields.get("lender"), Some("张三"));
    let loan = LoanNote::from_fields(&fields).unwrap();
    assert_eq!(loan.term_months, 12);
    assert_eq!(loan.repayment_method, RepaymentMethod::EqualInstalments);
    assert_eq!(loan.principal_yuan, Decimal::parse("10000").unwrap());
}

#[test]
fn every_failing_field_is_listed_by_name() {
    let mut v = loan_values();
    v.remove("borrower"); // missing required
    v.insert("annual_rate_percent".into(), "3.6.5".into()); // bad decimal
    v.insert("principal".into(), "-5".into()); // out of range
    v.insert("start_date".into(), "2026-02-30".into()); // not a date
    v.insert("repayment_method".into(), "balloon".into()); // not an option
    v.insert("term_months".into(), "361".into()); // out of range
    v.insert("collateral".into(), "house".into()); // unknown
    let err = Template::loan_note().validate(&v, today()).unwrap_err();
    let Error::FieldsInvalid { errors } = err else {
        panic!("{err:?}")
    };
    let got: Vec<_> = errors
        .iter()
        .map(|e| (e.field.as_str(), e.problem))
        .collect();
    assert_eq!(
        got,
        vec![
            ("annual_rate_percent", FieldProblem::NotADecimal),
            ("borrower", FieldProblem::Missing),
            ("collateral", FieldProblem::Unknown),
            ("principal", FieldProblem::OutOfRange),
            ("repayment_method", FieldProblem::NotAnOption),
            ("start_date", FieldProblem::NotADate),
            ("term_months", FieldProblem::OutOfRange),
        ]
    );
}

#[test]
fn rate_with_more_digits_than_the_scale_is_not_a_decimal() {
    let mut v = loan_values();
    v.insert("annual_rate_percent".into(), "3.655".into());
    v.insert("principal".into(), "100.001".into());
    let err = Template::loan_note().validate(&v, today()).unwrap_err();
    assert_eq!(
        err,
        Error::FieldsInvalid {
            errors: vec![
                FieldError {
                    field: "annual_rate_percent".into(),
                    problem: FieldProblem::NotADecimal
                },
                FieldError {
                    field: "principal".into(),
                    problem: FieldProblem::NotADecimal
                },
            ]
        }
    );
}

fn identity_template() -> Template {
    Template::new(
        TemplateId::from_bytes([7; 16]),
        3,
        "KYC",
        vec![
            FieldSpec::new("id_number", "ID", FieldType::ResidentId, true),
            FieldSpec::new("phone", "Phone", FieldType::Phone, true),
            FieldSpec::new("email", "E-mail", FieldType::Email, false),
            FieldSpec::new(
                "note",
                "Note",
                FieldType::Text {
                    max_chars: 4,
                    multiline: false,
                },
                false,
            ),
        ],
        "",
    )
    .unwrap()
}

#[test]
fn identity_fields_use_affix_identity_parsers() {
    let t = identity_template();
    let ok = t
        .validate(
            &values(&[
                ("id_number", "11010519491231002x"),
                ("phone", "+86 138 1234 5678"),
                ("email", "Alice@Example.com"),
                ("note", "四个字符"),
            ]),
            today(),
        )
        .unwrap();
    assert_eq!(ok.get("id_number"), Some("11010519491231002X"));
    assert_eq!(ok.get("phone"), Some("+8613812345678"));
    assert_eq!(ok.get("note"), Some("四个字符"));

    let err = t
        .validate(
            &values(&[
                ("id_number", "110105194912310021"), // checksum wrong
                ("phone", "12345"),
                ("email", "not an address"),
                ("note", "five!"),
            ]),
            today(),
        )
        .unwrap_err();
    let Error::FieldsInvalid { errors } = err else {
        panic!("{err:?}")
    };
    let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["email", "id_number", "note", "phone"]);
    assert!(matches!(
        errors[1].problem,
        FieldProblem::Identity(affix_identity::Error::ResidentIdChecksumMismatch { .. })
    ));
    assert_eq!(errors[2].problem, FieldProblem::TooLong { max_chars: 4 });
    // No error message holds the number that was sent.
    assert!(!format!("{errors:?}").contains("110105194912310021"));
}

#[test]
fn parsing_is_pure_and_the_birth_date_check_is_separate() {
    let t = identity_template();
    // Born 2099-12-31: well-formed, but not yet born today.
    let future = values(&[
        ("id_number", "110105209912310010"),
        ("phone", "13812345678"),
    ]);
    let parsed = t.parse(&future).unwrap();
    assert_eq!(parsed.get("id_number"), Some("110105209912310010"));
    let expected = Error::FieldsInvalid {
        errors: vec![FieldError {
            field: "id_number".into(),
            problem: FieldProblem::Identity(affix_identity::Error::ResidentIdBirthDateInFuture),
        }],
    };
    assert_eq!(parsed.check_dates(today()).unwrap_err(), expected);
    assert_eq!(t.validate(&future, today()).unwrap_err(), expected);
    let born = affix_identity::Date::new(2099, 12, 31).unwrap();
    assert!(parsed.check_dates(born).is_ok());
    assert_eq!(t.validate(&future, born).unwrap(), parsed);
    // validate = parse + check_dates, with one list of every problem.
    let both = values(&[("id_number", "110105209912310010"), ("phone", "12345")]);
    let Error::FieldsInvalid { errors } = t.validate(&both, today()).unwrap_err() else {
        panic!()
    };
    assert_eq!(
        errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
        ["id_number", "phone"]
    );
    // Templates without resident IDs have nothing to check.
    let loan = Template::loan_note().parse(&loan_values()).unwrap();
    assert!(loan.check_dates(affix_identity::Date::MIN).is_ok());
    assert_eq!(
        loan,
        Template::loan_note()
            .validate(&loan_values(), today())
            .unwrap()
    );
}

#[test]
fn empty_optional_values_are_absent_and_limits_come_first() {
    let mut v = loan_values();
    v.insert("purpose".into(), String::new());
    let fields = Template::loan_note().validate(&v, today()).unwrap();
    assert_eq!(fields.get("purpose"), None);

    v.insert("purpose".into(), "x".repeat(5000));
    assert!(matches!(
        Template::loan_note().validate(&v, today()),
        Err(Error::TooLarge { .. })
    ));
    let many = (0..200)
        .map(|i| (format!("f{i}"), "x".to_owned()))
        .collect();
    assert!(matches!(
        Template::loan_note().validate(&many, today()),
        Err(Error::TooLarge { .. })
    ));
}

#[test]
fn generic_contract_takes_a_document_digest() {
    let t = Template::generic_contract();
    let digest = "AB".repeat(32);
    let fields = t
        .validate(
            &values(&[("title", "Lease"), ("document_sha256", &digest)]),
            today(),
        )
        .unwrap();
    assert_eq!(
        fields.get("document_sha256"),
        Some("ab".repeat(32).as_str())
    );
    let err = t
        .validate(
            &values(&[("title", "Lease\n"), ("document_sha256", "ab")]),
            today(),
        )
        .unwrap_err();
    let Error::FieldsInvalid { errors } = err else {
        panic!()
    };
    assert_eq!(errors[0].problem, FieldProblem::NotADigest);
    assert_eq!(errors[1].problem, FieldProblem::ControlCharacter);
}

#[test]
fn bad_templates_are_refused() {
    let text = FieldType::Text {
        max_chars: 10,
        multiline: false,
    };
    let id = TemplateId::from_bytes([1; 16]);
    let dup = vec![
        FieldSpec::new("a", "A", text.clone(), true),
        FieldSpec::new("a", "A", text.clone(), true),
    ];
    assert!(Template::new(id, 1, "T", dup, "").is_err());
    let bad_name = vec![FieldSpec::new("A b", "A", text, true)];
    assert!(Template::new(id, 1, "T", bad_name, "").is_err());
    let bad_range = vec![FieldSpec::new(
        "n",
        "N",
        FieldType::Decimal {
            scale: 1,
            min: Decimal::parse("2").unwrap(),
            max: Decimal::parse("1").unwrap(),
        },
        true,
    )];
    assert!(Template::new(id, 1, "T", bad_range, "").is_err());
    let empty_enum = vec![FieldSpec::new(
        "e",
        "E",
        FieldType::Enum { options: vec![] },
        true,
    )];
    assert!(Template::new(id, 1, "T", empty_enum, "").is_err());
}
