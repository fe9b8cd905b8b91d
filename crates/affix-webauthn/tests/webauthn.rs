//! Registrations and assertions by the software authenticator, verified; and every way
//! one must be refused.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use affix_webauthn::soft::{SoftAuthenticator, SoftRegistration};
use affix_webauthn::{
    Algorithm, Assertion, Attestation, CLIENT_DATA_BYTES_MAX, Error, PublicKey, RelyingParty,
    verify_registration,
};

const RP: &str = "localhost";
const ORIGIN: &str = "http://localhost:8080";

fn rp() -> RelyingParty {
    RelyingParty::new(
        RP,
        vec![ORIGIN.to_owned(), "https://sign.example".to_owned()],
    )
    .unwrap()
}

fn registered(algorithm: Algorithm, attestation: Attestation) -> (SoftAuthenticator, PublicKey) {
    let mut auth = SoftAuthenticator::new(algorithm, &[7; 32]);
    let challenge = [1u8; 32];
    let SoftRegistration {
        attestation_object,
        client_data_json,
    } = auth.register(RP, ORIGIN, &challenge, attestation);
    let reg =
        verify_registration(&rp(), &challenge, &attestation_object, &client_data_json).unwrap();
    assert_eq!(reg.credential_id, auth.credential_id());
    assert_eq!(reg.attestation, attestation);
    assert_eq!(reg.public_key, auth.public_key());
    assert_eq!(PublicKey::from_cose(&reg.cose_key).unwrap(), reg.public_key);
    assert_eq!(reg.sign_count, 1);
    (auth, reg.public_key)
}

#[test]
fn es256_and_eddsa_register_and_assert() {
    for alg in [Algorithm::Es256, Algorithm::EdDsa] {
        for att in [Attestation::None, Attestation::PackedSelf] {
            let (mut auth, key) = registered(alg, att);
            let challenge = b"statement digest: 32 bytes long!";
            let a = auth.assert(RP, ORIGIN, challenge);
            let v = a.verify(&rp(), &key, challenge, 1).unwrap();
            assert_eq!(v.sign_count, 2);
            let b = auth.assert(RP, "https://sign.example", challenge);
            assert_eq!(b.verify(&rp(), &key, challenge, 2).unwrap().sign_count, 3);
            // The frozen encoding round-trips.
            let decoded = Assertion::decode(&a.encode().unwrap()).unwrap();
            assert_eq!(decoded, a);
        }
    }
}

/// Assertion encoding v1 is frozen: version, u16 lengths, u8 signature length.
#[test]
fn assertion_encoding_is_frozen() {
    let a = Assertion {
        authenticator_data: vec![0xaa; 37],
        client_data_json: b"{}".to_vec(),
        signature: vec![0x55; 3],
    };
    let mut expected = vec![1, 0, 37];
    expected.extend([0xaa; 37]);
    expected.extend([0, 2, b'{', b'}', 3, 0x55, 0x55, 0x55]);
    assert_eq!(a.encode().unwrap(), expected);
    assert!(Assertion::decode(&expected[..expected.len() - 1]).is_err());
    let mut trailing = expected.clone();
    trailing.push(0);
    assert!(Assertion::decode(&trailing).is_err());
    let mut version = expected;
    version[0] = 2;
    assert!(matches!(
        Assertion::decode(&version),
        Err(Error::Malformed { .. })
    ));
}

fn es256() -> (SoftAuthenticator, PublicKey) {
    registered(Algorithm::Es256, Attestation::None)
}

const CHALLENGE: &[u8] = b"the digest of one statement.....";

#[test]
fn wrong_origin_is_refused() {
    let (mut auth, key) = es256();
    let a = auth.assert(RP, "https://evil.example", CHALLENGE);
    assert_eq!(
        a.verify(&rp(), &key, CHALLENGE, 1),
        Err(Error::WrongOrigin("https://evil.example".into()))
    );
}

#[test]
fn cross_origin_is_refused() {
    let (mut auth, key) = es256();
    auth.options.cross_origin = true;
    let a = auth.assert(RP, ORIGIN, CHALLENGE);
    assert_eq!(a.verify(&rp(), &key, CHALLENGE, 1), Err(Error::CrossOrigin));
}

#[test]
fn wrong_rp_id_is_refused() {
    let (mut auth, key) = es256();
    let a = auth.assert("evil.example", ORIGIN, CHALLENGE);
    assert_eq!(a.verify(&rp(), &key, CHALLENGE, 1), Err(Error::WrongRpId));
    // And at registration.
    let mut other = SoftAuthenticator::new(Algorithm::Es256, &[9; 32]);
    let r = other.register("evil.example", ORIGIN, CHALLENGE, Attestation::None);
    assert_eq!(
        verify_registration(&rp(), CHALLENGE, &r.attestation_object, &r.client_data_json),
        Err(Error::WrongRpId)
    );
}

#[test]
fn wrong_challenge_is_refused() {
    let (mut auth, key) = es256();
    let a = auth.assert(RP, ORIGIN, b"another statement");
    assert_eq!(
        a.verify(&rp(), &key, CHALLENGE, 1),
        Err(Error::WrongChallenge)
    );
    let mut other = SoftAuthenticator::new(Algorithm::EdDsa, &[9; 32]);
    let r = other.register(RP, ORIGIN, b"another", Attestation::None);
    assert_eq!(
        verify_registration(&rp(), CHALLENGE, &r.attestation_object, &r.client_data_json),
        Err(Error::WrongChallenge)
    );
}

#[test]
fn wrong_type_is_refused() {
    // A registration's client data presented as an assertion's.
    let (mut auth, key) = es256();
    let mut a = auth.assert(RP, ORIGIN, CHALLENGE);
    let r = auth.register(RP, ORIGIN, CHALLENGE, Attestation::None);
    a.client_data_json = r.client_data_json;
    assert!(matches!(
        a.verify(&rp(), &key, CHALLENGE, 1),
        Err(Error::WrongType {
            expected: "webauthn.get",
            ..
        })
    ));
}

#[test]
fn missing_uv_and_up_are_refused() {
    let (mut auth, key) = es256();
    auth.options.user_verified = false;
    let a = auth.assert(RP, ORIGIN, CHALLENGE);
    assert_eq!(
        a.verify(&rp(), &key, CHALLENGE, 1),
        Err(Error::UserNotVerified)
    );
    auth.options.user_verified = true;
    auth.options.user_present = false;
    let a = auth.assert(RP, ORIGIN, CHALLENGE);
    assert_eq!(
        a.verify(&rp(), &key, CHALLENGE, 1),
        Err(Error::UserNotPresent)
    );
    let mut other = SoftAuthenticator::new(Algorithm::Es256, &[9; 32]);
    other.options.user_verified = false;
    let r = other.register(RP, ORIGIN, CHALLENGE, Attestation::None);
    assert_eq!(
        verify_registration(&rp(), CHALLENGE, &r.attestation_object, &r.client_data_json),
        Err(Error::UserNotVerified)
    );
}

#[test]
fn counter_regression_is_refused_and_zero_counters_pass() {
    let (mut auth, key) = es256();
    let a = auth.assert(RP, ORIGIN, CHALLENGE); // counter 2
    assert_eq!(
        a.verify(&rp(), &key, CHALLENGE, 2),
        Err(Error::CounterRegression {
            stored: 2,
            presented: 2
        })
    );
    assert!(matches!(
        a.verify(&rp(), &key, CHALLENGE, 5),
        Err(Error::CounterRegression { .. })
    ));
    // A cloned authenticator whose counter lags.
    auth.set_sign_count(0);
    let cloned = auth.assert(RP, ORIGIN, CHALLENGE); // counter 1
    assert!(matches!(
        cloned.verify(&rp(), &key, CHALLENGE, 2),
        Err(Error::CounterRegression { .. })
    ));
    // An authenticator without a counter: 0 and 0 pass, 0 after a counter does not.
    auth.set_sign_count(0);
    auth.options.counter_step = 0;
    let zero = auth.assert(RP, ORIGIN, CHALLENGE);
    assert_eq!(
        zero.verify(&rp(), &key, CHALLENGE, 0).unwrap().sign_count,
        0
    );
    assert!(matches!(
        zero.verify(&rp(), &key, CHALLENGE, 3),
        Err(Error::CounterRegression { .. })
    ));
}

#[test]
fn tampered_client_data_and_authenticator_data_are_refused() {
    for alg in [Algorithm::Es256, Algorithm::EdDsa] {
        let (mut auth, key) = registered(alg, Attestation::None);
        let a = auth.assert(RP, ORIGIN, CHALLENGE);
        // A member added: still the right type, challenge and origin, but not what was signed.
        let mut t = a.clone();
        let json = String::from_utf8(t.client_data_json.clone()).unwrap();
        t.client_data_json = json.replacen('}', r#","extra":1}"#, 1).into_bytes();
        assert_eq!(
            t.verify(&rp(), &key, CHALLENGE, 1),
            Err(Error::BadSignature)
        );
        // The counter raised after signing.
        let mut t = a.clone();
        t.authenticator_data[36] ^= 0x40;
        assert_eq!(
            t.verify(&rp(), &key, CHALLENGE, 1),
            Err(Error::BadSignature)
        );
        // A flag added after signing (backup state).
        let mut t = a.clone();
        t.authenticator_data[32] |= 0x10;
        assert_eq!(
            t.verify(&rp(), &key, CHALLENGE, 1),
            Err(Error::BadSignature)
        );
        // The signature itself.
        let mut t = a.clone();
        let last = t.signature.len() - 1;
        t.signature[last] ^= 1;
        assert_eq!(
            t.verify(&rp(), &key, CHALLENGE, 1),
            Err(Error::BadSignature)
        );
        // Another credential's key.
        let other = SoftAuthenticator::new(alg, &[8; 32]).public_key();
        assert_eq!(
            a.verify(&rp(), &other, CHALLENGE, 1),
            Err(Error::BadSignature)
        );
    }
}

#[test]
fn oversized_client_data_is_refused() {
    let (mut auth, key) = es256();
    let mut a = auth.assert(RP, ORIGIN, CHALLENGE);
    let json = String::from_utf8(a.client_data_json.clone()).unwrap();
    let pad = " ".repeat(CLIENT_DATA_BYTES_MAX);
    a.client_data_json = json.replacen('}', &format!("{pad}}}"), 1).into_bytes();
    assert!(matches!(
        a.verify(&rp(), &key, CHALLENGE, 1),
        Err(Error::TooLarge {
            what: "client data",
            ..
        })
    ));
    assert!(matches!(a.encode(), Err(Error::TooLarge { .. })));
}

#[test]
fn malformed_cbor_and_cose_are_refused() {
    let mut auth = SoftAuthenticator::new(Algorithm::Es256, &[3; 32]);
    let r = auth.register(RP, ORIGIN, CHALLENGE, Attestation::None);
    let verify = |object: &[u8]| verify_registration(&rp(), CHALLENGE, object, &r.client_data_json);
    // Every truncation of the attestation object.
    for n in 0..r.attestation_object.len() {
        assert!(
            matches!(
                verify(&r.attestation_object[..n]),
                Err(Error::Malformed { .. })
            ),
            "truncated at {n}"
        );
    }
    // Trailing bytes.
    let mut longer = r.attestation_object.clone();
    longer.push(0);
    assert!(matches!(verify(&longer), Err(Error::Malformed { .. })));
    // Deep nesting: 64 nested arrays.
    let mut deep = vec![0x81u8; 64];
    deep.push(0x00);
    assert!(matches!(verify(&deep), Err(Error::Malformed { .. })));
    // A byte string declaring 2^62 bytes.
    let huge = [0x5b, 0x40, 0, 0, 0, 0, 0, 0, 0];
    assert!(matches!(verify(&huge), Err(Error::Malformed { .. })));
    // COSE keys: not a map, missing x, duplicate label, wrong curve, point off the curve.
    let key = auth.public_key().to_cose();
    assert!(PublicKey::from_cose(&key).is_ok());
    for bad in [
        vec![0x01],
        hex::decode("a4010203262001215820").unwrap(),
        hex::decode("a301020102032620").unwrap(),
    ] {
        assert!(
            matches!(PublicKey::from_cose(&bad), Err(Error::Malformed { .. })),
            "{bad:02x?}"
        );
    }
    let mut wrong_curve = key.clone();
    let crv = wrong_curve
        .windows(2)
        .position(|w| w == [0x20, 0x01])
        .unwrap();
    wrong_curve[crv + 1] = 0x02; // crv 2 (P-384)
    assert!(matches!(
        PublicKey::from_cose(&wrong_curve),
        Err(Error::Malformed { .. })
    ));
    let mut off_curve = key.clone();
    let last = off_curve.len() - 1;
    off_curve[last] ^= 1;
    assert!(matches!(
        PublicKey::from_cose(&off_curve),
        Err(Error::Malformed { .. })
    ));
    // Garbage client data.
    assert!(matches!(
        verify_registration(&rp(), CHALLENGE, &r.attestation_object, b"{\"type\":"),
        Err(Error::Malformed { .. })
    ));
}

#[test]
fn unknown_algorithms_and_attestations_are_refused() {
    // An RS256 COSE key (kty 3, alg -257, n, e): refused by its algorithm.
    let rs256 = hex::decode("a4010303390100204101214103").unwrap();
    assert_eq!(
        PublicKey::from_cose(&rs256),
        Err(Error::UnsupportedAlgorithm(-257))
    );
    // ES384 (alg -35).
    let es384 = hex::decode("a301020338222002").unwrap();
    assert_eq!(
        PublicKey::from_cose(&es384),
        Err(Error::UnsupportedAlgorithm(-35))
    );
    // An attestation format other than none and packed.
    let mut auth = SoftAuthenticator::new(Algorithm::EdDsa, &[3; 32]);
    let r = auth.register(RP, ORIGIN, CHALLENGE, Attestation::None);
    let object = String::from_utf8_lossy(&r.attestation_object).into_owned();
    assert!(object.contains("none"));
    let mut tpm = r.attestation_object.clone();
    let at = tpm.windows(4).position(|w| w == b"none").unwrap();
    tpm[at..at + 4].copy_from_slice(b"tpm!");
    assert_eq!(
        verify_registration(&rp(), CHALLENGE, &tpm, &r.client_data_json),
        Err(Error::UnsupportedAttestation("tpm!".into()))
    );
}

#[test]
fn packed_self_attestation_signature_is_checked() {
    let mut auth = SoftAuthenticator::new(Algorithm::Es256, &[5; 32]);
    let r = auth.register(RP, ORIGIN, CHALLENGE, Attestation::PackedSelf);
    // Flip a byte of the credential id inside authData: the self signature fails.
    let mut object = r.attestation_object.clone();
    let id = auth.credential_id().to_vec();
    let at = object
        .windows(id.len())
        .position(|w| w == id.as_slice())
        .unwrap();
    object[at] ^= 1;
    assert_eq!(
        verify_registration(&rp(), CHALLENGE, &object, &r.client_data_json),
        Err(Error::BadSignature)
    );
}

/// A real YubiKey 5 NFC registration and assertion (tests/vectors/README.md).
#[test]
fn real_yubikey_assertion_verifies_up_to_the_uv_policy() {
    use base64::Engine as _;
    let v: serde_json::Value =
        serde_json::from_str(include_str!("vectors/yubikey5nfc.json")).unwrap();
    let b64 = |k: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(v[k].as_str().unwrap())
            .unwrap()
    };
    let text = |k: &str| v[k].as_str().unwrap().as_bytes().to_vec();
    let rp = RelyingParty::new(
        v["rp_id"].as_str().unwrap(),
        vec![v["origin"].as_str().unwrap().to_owned()],
    )
    .unwrap();
    // The registration: its authData (after the "authData" key, a 0x58 length byte) holds
    // the attested credential; packed with x5c is refused, after UV, which it lacks.
    let object = b64("attestation_object");
    let reg_challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode("0b-5-z3_EvP6pqaBj6Fu7A4M5SdefgZ_jcAoFa6_miU")
        .unwrap();
    assert_eq!(
        verify_registration(
            &rp,
            &reg_challenge,
            &object,
            &text("registration_client_data")
        ),
        Err(Error::UserNotVerified)
    );
    let at = object.windows(8).position(|w| w == b"authData").unwrap() + 8;
    assert_eq!(object[at], 0x58);
    let len = usize::from(object[at + 1]);
    let auth_data =
        affix_webauthn::AuthenticatorData::parse(&object[at + 2..at + 2 + len]).unwrap();
    assert_eq!(auth_data.rp_id_hash, rp.id_hash());
    let attested = auth_data.attested.unwrap();
    assert_eq!(attested.credential_id, b64("credential_id"));
    assert_eq!(attested.public_key.algorithm(), Algorithm::Es256);
    assert_eq!(
        PublicKey::from_cose(&attested.cose_key).unwrap(),
        attested.public_key
    );
    // The assertion: type, challenge, origin (with an unknown member), rpIdHash and UP
    // pass; UV is not set; the signature is the authenticator's.
    let assertion = Assertion {
        authenticator_data: b64("assertion_authenticator_data"),
        client_data_json: text("assertion_client_data"),
        signature: b64("assertion_signature"),
    };
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode("AK6EVGBeT_DvQQk3hoUCocO8k3WVvnQnwL5Kd2oFWzM")
        .unwrap();
    assert_eq!(assertion.sign_count().unwrap(), 58);
    assert_eq!(
        assertion.verify(&rp, &attested.public_key, &challenge, 0),
        Err(Error::UserNotVerified)
    );
    let signed =
        affix_webauthn::signed_bytes(&assertion.authenticator_data, &assertion.client_data_json);
    attested
        .public_key
        .verify(&signed, &assertion.signature)
        .unwrap();
    let mut tampered = signed.clone();
    tampered[36] ^= 1;
    assert_eq!(
        attested.public_key.verify(&tampered, &assertion.signature),
        Err(Error::BadSignature)
    );
}
