//! One-time codes: issue, verify, attempts, expiry, reuse, encoding.

#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

mod common;

use affix_identity::{
    CHALLENGE_ENCODED_BYTES, ChallengeState, EmailAddress, Error, OtpChallenge, OtpCode, OtpPepper,
    OtpPolicy, VerificationMethod,
};
use common::{NOW_MS, SeededRng, pepper, salt};

const LIFETIME_MS: u64 = 600_000;

fn issue(seed: &[u8]) -> (OtpChallenge, OtpCode) {
    let email = EmailAddress::parse("alice@example.com").unwrap();
    OtpChallenge::issue(
        &email,
        &salt(),
        OtpPolicy::default(),
        NOW_MS,
        &pepper(),
        &mut SeededRng::new(seed),
    )
    .unwrap()
}

/// A well-formed code that is not `code`.
fn wrong(code: &OtpCode) -> String {
    let c = code.expose_code();
    let last = (c.as_bytes()[5] - b'0' + 1) % 10;
    format!("{}{last}", &c[..5])
}

#[test]
fn default_policy() {
    let policy = OtpPolicy::default();
    assert_eq!(policy.digits(), 6);
    assert_eq!(policy.lifetime_ms(), LIFETIME_MS);
    assert_eq!(policy.max_attempts(), 5);
    assert_eq!(OtpPolicy::new(6, LIFETIME_MS, 5), Ok(policy));
}

#[test]
fn policy_limits() {
    let out = |field| Err(Error::OtpPolicyOutOfRange { field });
    assert_eq!(OtpPolicy::new(5, LIFETIME_MS, 5), out("digits"));
    assert_eq!(OtpPolicy::new(10, LIFETIME_MS, 5), out("digits"));
    assert_eq!(OtpPolicy::new(6, 0, 5), out("lifetime_ms"));
    assert_eq!(OtpPolicy::new(6, 86_400_001, 5), out("lifetime_ms"));
    assert_eq!(OtpPolicy::new(6, LIFETIME_MS, 0), out("max_attempts"));
    assert_eq!(OtpPolicy::new(6, LIFETIME_MS, 11), out("max_attempts"));
    assert!(OtpPolicy::new(9, 86_400_000, 10).is_ok());
}

#[test]
fn right_code_verifies_once() {
    let (mut challenge, code) = issue(b"once");
    assert_eq!(code.expose_code().len(), 6);
    assert_eq!(challenge.state(NOW_MS), ChallengeState::Pending);
    let verified = challenge
        .verify(code.expose_code(), NOW_MS + 1_000, &pepper())
        .unwrap();
    assert_eq!(verified.verified_at_ms(), NOW_MS + 1_000);
    assert_eq!(
        verified.subject(),
        EmailAddress::parse("alice@example.com")
            .unwrap()
            .commitment(&salt())
    );
    assert_eq!(
        verified.method(),
        &VerificationMethod::EmailOtp {
            challenge: challenge.id()
        }
    );
    assert_eq!(challenge.state(NOW_MS + 1_000), ChallengeState::Used);
    assert_eq!(
        challenge
            .verify(code.expose_code(), NOW_MS + 2_000, &pepper())
            .unwrap_err(),
        Error::OtpAlreadyUsed
    );
    // Still refused after a store-and-load.
    let mut reloaded = OtpChallenge::decode(&challenge.encode()).unwrap();
    assert_eq!(
        reloaded
            .verify(code.expose_code(), NOW_MS + 3_000, &pepper())
            .unwrap_err(),
        Error::OtpAlreadyUsed
    );
}

#[test]
fn surrounding_whitespace_is_trimmed() {
    let (mut challenge, code) = issue(b"trim");
    let padded = format!(" {}\n", code.expose_code());
    assert!(challenge.verify(&padded, NOW_MS, &pepper()).is_ok());
}

#[test]
fn wrong_codes_count_and_lock_after_five() {
    let (mut challenge, code) = issue(b"lock");
    let wrong = wrong(&code);
    for attempts_left in (0..5).rev() {
        assert_eq!(
            challenge.verify(&wrong, NOW_MS, &pepper()).unwrap_err(),
            Error::OtpMismatch { attempts_left }
        );
        assert_eq!(challenge.attempts_left(), attempts_left);
    }
    assert_eq!(challenge.attempts_used(), 5);
    assert_eq!(challenge.state(NOW_MS), ChallengeState::Locked);
    // Locked: even the right code is refused, and the refusal does not count.
    assert_eq!(
        challenge
            .verify(code.expose_code(), NOW_MS, &pepper())
            .unwrap_err(),
        Error::OtpAttemptsExhausted
    );
    assert_eq!(challenge.attempts_used(), 5);
}

#[test]
fn right_code_after_wrong_ones_within_the_limit() {
    let (mut challenge, code) = issue(b"fourth");
    let wrong = wrong(&code);
    for _ in 0..4 {
        assert!(matches!(
            challenge.verify(&wrong, NOW_MS, &pepper()),
            Err(Error::OtpMismatch { .. })
        ));
    }
    assert!(
        challenge
            .verify(code.expose_code(), NOW_MS, &pepper())
            .is_ok()
    );
}

#[test]
fn the_counter_survives_a_store_and_load() {
    let (mut challenge, code) = issue(b"persist");
    let wrong = wrong(&code);
    for _ in 0..4 {
        let _ = challenge.verify(&wrong, NOW_MS, &pepper());
        challenge = OtpChallenge::decode(&challenge.encode()).unwrap();
    }
    assert_eq!(
        challenge.verify(&wrong, NOW_MS, &pepper()).unwrap_err(),
        Error::OtpMismatch { attempts_left: 0 }
    );
    let mut challenge = OtpChallenge::decode(&challenge.encode()).unwrap();
    assert_eq!(
        challenge
            .verify(code.expose_code(), NOW_MS, &pepper())
            .unwrap_err(),
        Error::OtpAttemptsExhausted
    );
}

#[test]
fn malformed_codes_are_refused_without_counting() {
    let (mut challenge, code) = issue(b"malformed");
    let c = code.expose_code();
    for bad in [
        "",
        "12345",
        "1234567",
        "12345a",
        "１２３４５６",
        &format!("{c}0"),
        &c[..5],
        "12 345",
    ] {
        assert_eq!(
            challenge.verify(bad, NOW_MS, &pepper()).unwrap_err(),
            Error::OtpMalformedCode { digits: 6 },
            "{bad:?}"
        );
    }
    assert_eq!(challenge.attempts_used(), 0);
    assert!(challenge.verify(c, NOW_MS, &pepper()).is_ok());
}

#[test]
fn expired_codes_are_refused() {
    let (mut challenge, code) = issue(b"expiry");
    assert_eq!(challenge.expires_at_ms(), NOW_MS + LIFETIME_MS);
    assert_eq!(
        challenge.state(NOW_MS + LIFETIME_MS),
        ChallengeState::Expired
    );
    assert_eq!(
        challenge
            .verify(code.expose_code(), NOW_MS + LIFETIME_MS, &pepper())
            .unwrap_err(),
        Error::OtpExpired
    );
    assert_eq!(
        challenge
            .verify(code.expose_code(), u64::MAX, &pepper())
            .unwrap_err(),
        Error::OtpExpired
    );
    assert_eq!(challenge.attempts_used(), 0);
    // One millisecond before expiry it still works.
    assert!(
        challenge
            .verify(code.expose_code(), NOW_MS + LIFETIME_MS - 1, &pepper())
            .is_ok()
    );
}

#[test]
fn issue_refuses_an_overflowing_expiry() {
    let email = EmailAddress::parse("alice@example.com").unwrap();
    let result = OtpChallenge::issue(
        &email,
        &salt(),
        OtpPolicy::default(),
        u64::MAX - 10,
        &pepper(),
        &mut SeededRng::new(b"overflow"),
    );
    assert_eq!(result.unwrap_err(), Error::OtpTimeOverflow);
}

#[test]
fn codes_and_ids_differ_between_challenges() {
    let (a, code_a) = issue(b"a");
    let (b, code_b) = issue(b"b");
    assert_ne!(a.id(), b.id());
    assert_ne!(a.encode(), b.encode());
    // Codes may collide by chance (1 in 10^6) but not for these seeds.
    assert_ne!(code_a.expose_code(), code_b.expose_code());
}

#[test]
fn codes_have_the_policy_digits_with_leading_zeros() {
    let email = EmailAddress::parse("alice@example.com").unwrap();
    let policy = OtpPolicy::new(9, LIFETIME_MS, 3).unwrap();
    let mut leading_zero = false;
    for i in 0u32..200 {
        let (mut challenge, code) = OtpChallenge::issue(
            &email,
            &salt(),
            policy,
            NOW_MS,
            &pepper(),
            &mut SeededRng::new(&i.to_be_bytes()),
        )
        .unwrap();
        assert_eq!(code.expose_code().len(), 9);
        assert!(code.expose_code().bytes().all(|b| b.is_ascii_digit()));
        leading_zero |= code.expose_code().starts_with('0');
        assert_eq!(challenge.digits(), 9);
        assert!(
            challenge
                .verify(code.expose_code(), NOW_MS, &pepper())
                .is_ok()
        );
    }
    assert!(
        leading_zero,
        "no code of 200 starts with 0: is the padding lost?"
    );
}

#[test]
fn secrets_are_redacted() {
    let (challenge, code) = issue(b"redact");
    assert_eq!(format!("{code:?}"), "OtpCode(<redacted>)");
    let debug = format!("{challenge:?}");
    assert!(!debug.contains(code.expose_code()), "{debug}");
    assert!(debug.contains(&challenge.id().to_string()), "{debug}");
    // The tag (bytes 74..106) does not appear in hex, nor the pepper.
    let encoded = challenge.encode();
    assert!(!debug.contains(&hex::encode(&encoded[74..90])), "{debug}");
    assert_eq!(format!("{:?}", pepper()), "OtpPepper(<redacted>)");
}

#[test]
fn encode_decode_round_trip_in_every_state() {
    let (mut challenge, code) = issue(b"round trip");
    let check = |challenge: &OtpChallenge| {
        let bytes = challenge.encode();
        assert_eq!(bytes.len(), CHALLENGE_ENCODED_BYTES);
        let decoded = OtpChallenge::decode(&bytes).unwrap();
        assert_eq!(decoded.encode(), bytes);
        assert_eq!(decoded.id(), challenge.id());
        assert_eq!(decoded.subject(), challenge.subject());
        assert_eq!(decoded.attempts_used(), challenge.attempts_used());
        assert_eq!(decoded.state(NOW_MS), challenge.state(NOW_MS));
    };
    check(&challenge);
    let _ = challenge.verify(&wrong(&code), NOW_MS, &pepper());
    check(&challenge);
    challenge
        .verify(code.expose_code(), NOW_MS, &pepper())
        .unwrap();
    check(&challenge);
}

#[test]
fn decode_refuses_truncated_extended_and_garbage_bytes() {
    let (challenge, _) = issue(b"decode");
    let bytes = challenge.encode();
    for length in 0..bytes.len() {
        let result = OtpChallenge::decode(&bytes[..length]);
        assert!(
            matches!(result, Err(Error::ChallengeLength { .. })),
            "{length}: {result:?}"
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(
        OtpChallenge::decode(&longer).unwrap_err(),
        Error::ChallengeLength {
            length_bytes: 107,
            expected: 106
        }
    );
    assert_eq!(
        OtpChallenge::decode(&[0u8; 106]).unwrap_err(),
        Error::ChallengeMagic
    );
    assert_eq!(
        OtpChallenge::decode(b"garbage garbage").unwrap_err(),
        Error::ChallengeMagic
    );
}

#[test]
fn decode_checks_the_version_first() {
    let (challenge, _) = issue(b"version");
    let mut bytes = challenge.encode();
    // Version 1 (the MAC key stored beside the tag) is no longer read.
    for version in [0u8, 1, 3, 255] {
        bytes[4] = version;
        assert_eq!(
            OtpChallenge::decode(&bytes).unwrap_err(),
            Error::ChallengeUnsupportedVersion { version }
        );
        // A future version may have another length: the version is reported, not the
        // length.
        assert_eq!(
            OtpChallenge::decode(&bytes[..20]).unwrap_err(),
            Error::ChallengeUnsupportedVersion { version }
        );
    }
}

#[test]
fn decode_checks_every_field_range() {
    let (mut challenge, code) = issue(b"fields");
    let _ = challenge.verify(&wrong(&code), NOW_MS, &pepper());
    let good = challenge.encode();
    let invalid = |field| Err::<(), _>(Error::ChallengeInvalidField { field });
    let cases: [(usize, &[u8], &str); 11] = [
        (5, &[0], "channel"),
        (5, &[2], "channel"),
        (6, &[5], "digits"),
        (6, &[10], "digits"),
        (7, &[0], "max_attempts"),
        (7, &[11], "max_attempts"),
        (8, &[6], "attempts_used"),
        (9, &[2], "state"),
        // Expiry equal to issue, before issue, and more than a day after.
        (34, &NOW_MS.to_be_bytes(), "expires_at_ms"),
        (34, &(NOW_MS - 1).to_be_bytes(), "expires_at_ms"),
        (34, &(NOW_MS + 86_400_001).to_be_bytes(), "expires_at_ms"),
    ];
    for (offset, value, field) in cases {
        let mut bytes = good.clone();
        bytes[offset..offset + value.len()].copy_from_slice(value);
        assert_eq!(
            OtpChallenge::decode(&bytes).map(|_| ()),
            invalid(field),
            "offset {offset}"
        );
    }
    // The edges that are allowed.
    let mut bytes = good.clone();
    bytes[8] = 5; // attempts_used = max_attempts: a locked challenge
    assert_eq!(
        OtpChallenge::decode(&bytes).unwrap().state(NOW_MS),
        ChallengeState::Locked
    );
    bytes[34..42].copy_from_slice(&(NOW_MS + 86_400_000).to_be_bytes());
    assert!(OtpChallenge::decode(&bytes).is_ok());
}

#[test]
fn a_tampered_tag_or_id_makes_the_right_code_fail() {
    let (challenge, code) = issue(b"tamper");
    for offset in [74, 105, 10, 25] {
        let mut bytes = challenge.encode();
        bytes[offset] ^= 1;
        let mut tampered = OtpChallenge::decode(&bytes).unwrap();
        assert!(
            matches!(
                tampered.verify(code.expose_code(), NOW_MS, &pepper()),
                Err(Error::OtpMismatch { .. })
            ),
            "offset {offset}"
        );
    }
}

/// What the database holds is not enough: a verifier with the stored bytes but another
/// pepper (or none it knows) refuses the right code, so a database reader cannot test
/// codes offline.
#[test]
fn without_the_pepper_the_stored_challenge_refuses_the_right_code() {
    let (challenge, code) = issue(b"pepper");
    let stored = challenge.encode();
    for other in [OtpPepper::from_bytes([0; 32]), {
        let mut p = *pepper().expose_bytes();
        p[31] ^= 1;
        OtpPepper::from_bytes(p)
    }] {
        let mut read_back = OtpChallenge::decode(&stored).unwrap();
        assert!(
            matches!(
                read_back.verify(code.expose_code(), NOW_MS, &other),
                Err(Error::OtpMismatch { .. })
            ),
            "another pepper refuses the right code"
        );
    }
    // The bytes hold neither the code nor the pepper.
    assert!(!hex::encode(&stored).contains(&hex::encode(pepper().expose_bytes())));
    // With the pepper, the same stored bytes accept it.
    let mut read_back = OtpChallenge::decode(&stored).unwrap();
    assert!(
        read_back
            .verify(code.expose_code(), NOW_MS, &pepper())
            .is_ok()
    );
}
