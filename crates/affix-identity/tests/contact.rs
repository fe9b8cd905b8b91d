//! Mobile numbers and e-mail addresses: normalization tables and refusals.

#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

mod common;

use affix_identity::{EmailAddress, Error, MobileNumber};
use common::salt;

#[test]
fn mobile_normalization_table() {
    let table = [
        ("13812345678", "+8613812345678"),
        ("+8613812345678", "+8613812345678"),
        ("+86 138 1234 5678", "+8613812345678"),
        ("0086-138-1234-5678", "+8613812345678"),
        ("008613812345678", "+8613812345678"),
        ("8613812345678", "+8613812345678"),
        ("138-1234-5678", "+8613812345678"),
        ("138 1234 5678", "+8613812345678"),
        ("+86-19912345678", "+8619912345678"),
        ("15000000000", "+8615000000000"),
        ("16612345678", "+8616612345678"),
        ("17712345678", "+8617712345678"),
    ];
    for (input, e164) in table {
        let mobile = MobileNumber::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(mobile.expose_e164(), e164, "{input}");
    }
    // Every way of writing the same number is the same value with the same commitment.
    let a = MobileNumber::parse("+86 138 1234 5678").unwrap();
    let b = MobileNumber::parse("13812345678").unwrap();
    assert_eq!(a, b);
    assert_eq!(a.commitment(&salt()), b.commitment(&salt()));
}

#[test]
fn mobile_refusals() {
    let table = [
        ("", Error::MobileWrongLength { digits: 0 }),
        ("1381234567", Error::MobileWrongLength { digits: 10 }),
        ("138123456789", Error::MobileWrongLength { digits: 12 }),
        ("+86138123456789", Error::MobileWrongLength { digits: 12 }),
        (
            "1381234567a",
            Error::MobileInvalidCharacter { position: 10 },
        ),
        (
            "138.1234.5678",
            Error::MobileInvalidCharacter { position: 3 },
        ),
        (
            "(138)12345678",
            Error::MobileInvalidCharacter { position: 0 },
        ),
        (
            "86+13812345678",
            Error::MobileInvalidCharacter { position: 2 },
        ),
        (
            "１3812345678",
            Error::MobileInvalidCharacter { position: 0 },
        ),
        ("12812345678", Error::MobileInvalidPrefix),
        ("10812345678", Error::MobileInvalidPrefix),
        ("23812345678", Error::MobileInvalidPrefix),
        ("+8612812345678", Error::MobileInvalidPrefix),
        ("+1 415 555 0100", Error::MobileNotMainland),
        ("+85291234567", Error::MobileNotMainland),
        ("00852 9123 4567", Error::MobileNotMainland),
        ("+", Error::MobileNotMainland),
        (
            " 13812345678",
            Error::MobileMisplacedSeparator { position: 0 },
        ),
        (
            "13812345678 ",
            Error::MobileMisplacedSeparator { position: 11 },
        ),
        (
            "138  12345678",
            Error::MobileMisplacedSeparator { position: 4 },
        ),
        (
            "138- 12345678",
            Error::MobileMisplacedSeparator { position: 4 },
        ),
        (
            "+ 8613812345678",
            Error::MobileMisplacedSeparator { position: 1 },
        ),
        // 13 digits not starting with 86 is no number.
        ("1381234567812", Error::MobileWrongLength { digits: 13 }),
    ];
    for (input, error) in table {
        assert_eq!(MobileNumber::parse(input).unwrap_err(), error, "{input:?}");
    }
    let long = "1".repeat(33);
    assert!(matches!(
        MobileNumber::parse(&long),
        Err(Error::TooLarge { limit: 32, .. })
    ));
}

#[test]
fn mobile_display_and_debug_are_redacted() {
    let mobile = MobileNumber::parse("13812345678").unwrap();
    assert_eq!(mobile.to_string(), "+86138****5678");
    assert_eq!(format!("{mobile:?}"), "MobileNumber(+86138****5678)");
}

#[test]
fn mobile_and_email_commitments_are_domain_separated() {
    // Same salt, different kinds: different tags give different commitments even for
    // (contrived) equal bytes.
    let mobile = MobileNumber::parse("13812345678").unwrap();
    let email = EmailAddress::parse("alice@example.com").unwrap();
    assert_ne!(mobile.commitment(&salt()), email.commitment(&salt()));
    assert_ne!(mobile.commitment(&salt()), mobile.commitment(&[1u8; 32]));
}

#[test]
fn email_normalization() {
    let table = [
        ("alice@example.com", "alice@example.com"),
        ("Alice@Example.COM", "Alice@example.com"),
        (
            "first.last+tag@mail.example.cn",
            "first.last+tag@mail.example.cn",
        ),
        ("o'brien@xn--fiqs8s.cn", "o'brien@xn--fiqs8s.cn"),
        ("a@b.co", "a@b.co"),
        (
            "user_name-1@sub-domain.example.org",
            "user_name-1@sub-domain.example.org",
        ),
    ];
    for (input, normalized) in table {
        let email = EmailAddress::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(email.expose_address(), normalized, "{input}");
    }
    assert_eq!(
        EmailAddress::parse("Alice@Example.COM").unwrap().domain(),
        "example.com"
    );
    // The domain's case does not change the commitment; the local part's does.
    let c = |s| EmailAddress::parse(s).unwrap().commitment(&salt());
    assert_eq!(c("alice@EXAMPLE.com"), c("alice@example.com"));
    assert_ne!(c("Alice@example.com"), c("alice@example.com"));
}

#[test]
fn email_refusals() {
    let local = |reason| Error::EmailInvalidLocalPart { reason };
    let domain = |reason| Error::EmailInvalidDomain { reason };
    let dots = local("dots must stand between other characters");
    let local_chars = local("only ASCII letters, digits and !#$%&'*+/=?^_`{|}~-. are accepted");
    let domain_chars = domain("only ASCII letters, digits and '-' are accepted");
    let label_length = domain("labels must be 1 to 63 characters");
    let table = [
        ("", Error::EmailAtSign),
        ("alice", Error::EmailAtSign),
        ("alice@@example.com", Error::EmailAtSign),
        ("a@b@example.com", Error::EmailAtSign),
        ("@example.com", local("empty")),
        ("alice@", domain("empty")),
        (".alice@example.com", dots),
        ("alice.@example.com", dots),
        ("al..ice@example.com", dots),
        ("al ice@example.com", local_chars),
        ("\"alice\"@example.com", local_chars),
        ("ålice@example.com", local_chars),
        ("alice@example", domain("at least two labels are needed")),
        ("alice@example..com", label_length),
        ("alice@.example.com", label_length),
        ("alice@example.com.", label_length),
        (
            "alice@-example.com",
            domain("labels must not start or end with '-'"),
        ),
        (
            "alice@example-.com",
            domain("labels must not start or end with '-'"),
        ),
        ("alice@exa_mple.com", domain_chars),
        ("alice@[127.0.0.1]", domain_chars),
        (
            "alice@127.0.0.1",
            domain("the top-level label must not be all digits"),
        ),
        ("alice@例子.中国", domain_chars),
        ("alice@example.com ", domain_chars),
    ];
    for (input, error) in table {
        assert_eq!(EmailAddress::parse(input).unwrap_err(), error, "{input:?}");
    }
}

#[test]
fn email_limits() {
    let local_64 = "a".repeat(64);
    assert!(EmailAddress::parse(&format!("{local_64}@example.com")).is_ok());
    assert!(matches!(
        EmailAddress::parse(&format!("{local_64}a@example.com")),
        Err(Error::TooLarge { limit: 64, .. })
    ));
    let label_63 = "b".repeat(63);
    assert!(EmailAddress::parse(&format!("a@{label_63}.com")).is_ok());
    assert_eq!(
        EmailAddress::parse(&format!("a@{label_63}b.com")).unwrap_err(),
        Error::EmailInvalidDomain {
            reason: "labels must be 1 to 63 characters"
        }
    );
    // 254 bytes in all is the most: 64 + 1 + 189.
    let domain_189 = format!("{0}.{0}.{1}.com", "c".repeat(61), "d".repeat(61));
    assert_eq!(domain_189.len(), 189);
    assert!(EmailAddress::parse(&format!("{local_64}@{domain_189}")).is_ok());
    assert!(matches!(
        EmailAddress::parse(&format!("{local_64}@d{domain_189}")),
        Err(Error::TooLarge { limit: 254, .. })
    ));
}

#[test]
fn email_display_and_debug_are_redacted() {
    let email = EmailAddress::parse("alice@Example.com").unwrap();
    assert_eq!(email.to_string(), "a***@example.com");
    assert_eq!(format!("{email:?}"), "EmailAddress(a***@example.com)");
}
