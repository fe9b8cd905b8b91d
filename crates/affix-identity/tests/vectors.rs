//! Frozen formats: commitments, the challenge encoding and the verified-identity
//! encoding, compared byte for byte with `tests/vectors/v1.txt` (computed by
//! `tests/tools/vectors.py`, from the README's layouts, with Python's standard library).
//!
//! A failure here means a persisted or evidence format changed. Regenerating the vectors
//! is an explicit approval of a new format: bump the version instead.

#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

mod common;

use affix_identity::{
    Commitment, EmailAddress, ExternalCheck, ExternalDecision, ExternalOutcome, FaceSample,
    FaceVerificationRequest, MobileNumber, OtpChallenge, OtpPolicy, PersonName, ProviderName,
    ProviderReference, ResidentId, ResultDigest, VerifiedIdentity,
};
use common::{NOW_MS, SeededRng, pepper, salt, today, vectors};

const SEED: &[u8] = b"affix-identity/test-rng/otp-v1";

fn vector(name: &str) -> Vec<u8> {
    vectors()
        .remove(name)
        .unwrap_or_else(|| panic!("no vector {name}"))
}

fn digest(name: &str) -> ResultDigest {
    ResultDigest::from_bytes(vector(name).try_into().unwrap())
}

fn resident_id() -> ResidentId {
    ResidentId::parse("11010519491231002X", today()).unwrap()
}

#[test]
fn commitments() {
    let c = |name| Commitment::from_bytes(vector(name).try_into().unwrap());
    assert_eq!(
        resident_id().commitment(&salt()),
        c("commitment-resident-id")
    );
    assert_eq!(
        MobileNumber::parse("+86 138 1234 5678")
            .unwrap()
            .commitment(&salt()),
        c("commitment-mobile")
    );
    assert_eq!(
        EmailAddress::parse("alice@EXAMPLE.com")
            .unwrap()
            .commitment(&salt()),
        c("commitment-email")
    );
}

fn issue() -> (OtpChallenge, affix_identity::OtpCode) {
    OtpChallenge::issue(
        &EmailAddress::parse("alice@example.com").unwrap(),
        &salt(),
        OtpPolicy::default(),
        NOW_MS,
        &pepper(),
        &mut SeededRng::new(SEED),
    )
    .unwrap()
}

#[test]
fn challenge_encoding_is_frozen() {
    let (mut challenge, code) = issue();
    assert_eq!(code.expose_code().as_bytes(), vector("otp-code-v2"));
    assert_eq!(
        hex::encode(challenge.encode()),
        hex::encode(vector("challenge-v2-fresh"))
    );

    let _ = challenge
        .verify("000000", NOW_MS + 30_000, &pepper())
        .unwrap_err();
    let verified = challenge
        .verify(code.expose_code(), NOW_MS + 60_000, &pepper())
        .unwrap();
    assert_eq!(
        hex::encode(challenge.encode()),
        hex::encode(vector("challenge-v2-after-one-wrong-then-right"))
    );
    assert_eq!(
        verified.canonical_encoding(),
        vector("verified-email-otp-encoding")
    );
    assert_eq!(
        verified.result_digest(),
        digest("verified-email-otp-digest")
    );
}

#[test]
fn the_stored_fixture_still_verifies_its_code() {
    // A challenge stored by this version must keep working after an upgrade.
    let mut challenge = OtpChallenge::decode(&vector("challenge-v2-fresh")).unwrap();
    let code = String::from_utf8(vector("otp-code-v2")).unwrap();
    assert!(challenge.verify(&code, NOW_MS + 60_000, &pepper()).is_ok());
}

#[test]
fn a_version_1_challenge_is_no_longer_read() {
    // Version 1 stored the MAC key beside the tag: a database reader could search its
    // codes. A stored one is refused as an unsupported version (the platform then
    // treats the party as having no code and sends a new one).
    for name in ["challenge-fresh", "challenge-after-one-wrong-then-right"] {
        assert_eq!(
            OtpChallenge::decode(&vector(name)).unwrap_err(),
            affix_identity::Error::ChallengeUnsupportedVersion { version: 1 }
        );
    }
}

#[test]
fn verified_identity_encodings_are_frozen() {
    let at = NOW_MS + 60_000;
    let id = VerifiedIdentity::from_resident_id_format(&resident_id(), &salt(), at);
    assert_eq!(
        id.canonical_encoding(),
        vector("verified-resident-id-format-encoding")
    );
    assert_eq!(
        id.result_digest(),
        digest("verified-resident-id-format-digest")
    );

    let mobile = MobileNumber::parse("13812345678").unwrap();
    let mobile = VerifiedIdentity::from_mobile_format(&mobile, &salt(), at);
    assert_eq!(
        mobile.canonical_encoding(),
        vector("verified-mobile-format-encoding")
    );
    assert_eq!(
        mobile.result_digest(),
        digest("verified-mobile-format-digest")
    );

    let resident_id = resident_id();
    let name = PersonName::new("张三").unwrap();
    let request = FaceVerificationRequest::new(
        &resident_id,
        &name,
        FaceSample::LivenessSession { token: "session" },
    )
    .unwrap();
    let outcome = ExternalOutcome::new(
        ProviderName::new("example-faceid").unwrap(),
        ExternalCheck::Face,
        ExternalDecision::Match,
        ProviderReference::new("req-0001").unwrap(),
        [0xAB; 32],
        at,
    );
    let face = VerifiedIdentity::from_face(&request, &outcome, &salt()).unwrap();
    assert_eq!(
        face.canonical_encoding(),
        vector("verified-external-face-encoding")
    );
    assert_eq!(
        face.result_digest(),
        digest("verified-external-face-digest")
    );
}
