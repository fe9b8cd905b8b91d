//! Passkeys as vault credentials: a software authenticator registers, its assertions
//! authorize signatures, and every refused assertion (replayed, counter regression,
//! wrong origin, wrong challenge, missing UV) leaves no usage record. Browser-held
//! WebCrypto P-256 keys sign like P-256 device keys and are named in the evidence.
#![allow(clippy::unwrap_used)]

use affix_seal::{KeyFileMaster, MasterKey};
use affix_vault::affix_webauthn::soft::SoftAuthenticator;
use affix_vault::affix_webauthn::{self, Algorithm as WebAuthnAlgorithm, Attestation};
use affix_vault::{
    Action, Algorithm, Authorization, CredentialId, CredentialKind, Error, KeyId, OwnerId,
    PasskeyRegistration, Payload, Refusal, SignRequest, Statement, TenantId, UnboundStatement,
    Vault, VaultConfig, credential_digest, verify, webauthn_challenge,
};
use std::sync::Arc;

const T0: u64 = 1_795_000_000_000;
const RP: &str = "sign.example";
const ORIGIN: &str = "https://sign.example";

struct Fixture {
    vault: Vault,
    path: std::path::PathBuf,
    master_path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

fn config() -> VaultConfig {
    VaultConfig {
        webauthn: affix_webauthn::RelyingParty::new(RP, vec![ORIGIN.to_owned()]).unwrap(),
        ..VaultConfig::default()
    }
}

fn master(path: &std::path::Path) -> Arc<dyn MasterKey> {
    Arc::new(KeyFileMaster::open(path).unwrap())
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let master_path = dir.path().join("master.key");
    KeyFileMaster::create(&master_path).unwrap();
    let path = dir.path().join("vault");
    let vault = Vault::create(
        &path,
        master(&master_path),
        "test.affix.local/vault",
        config(),
    )
    .unwrap();
    Fixture {
        vault,
        path,
        master_path,
        _dir: dir,
    }
}

fn tenant() -> TenantId {
    TenantId::new("acme").unwrap()
}

/// A registration of `authenticator` over a fresh ceremony challenge.
fn registration(
    authenticator: &mut SoftAuthenticator,
    attestation: Attestation,
) -> PasskeyRegistration {
    let challenge = b"ceremony challenge from the platform".to_vec();
    let r = authenticator.register(RP, ORIGIN, &challenge, attestation);
    PasskeyRegistration {
        attestation_object: r.attestation_object,
        client_data_json: r.client_data_json,
        challenge,
    }
}

/// An owner with a passkey and a P-256 key.
fn enrolled(
    f: &Fixture,
    alg: WebAuthnAlgorithm,
    seed: u8,
) -> (OwnerId, CredentialId, SoftAuthenticator, KeyId) {
    let t = tenant();
    let owner = OwnerId::random().unwrap();
    let mut passkey = SoftAuthenticator::new(alg, &[seed; 32]);
    let reg = registration(&mut passkey, Attestation::None);
    let credential = f.vault.register_passkey(&t, owner, &reg, None, T0).unwrap();
    let key = f
        .vault
        .create_key(&t, owner, Algorithm::EcdsaP256, T0)
        .unwrap();
    (owner, credential, passkey, key.id)
}

/// The statement for signing `payload`, and the passkey's assertion over it from `origin`.
fn authorize(
    passkey: &mut SoftAuthenticator,
    credential: CredentialId,
    key: KeyId,
    payload: &Payload,
    origin: &str,
) -> Authorization {
    let statement: Statement =
        UnboundStatement::for_signing(&tenant(), key, payload, None, T0, 60_000)
            .unwrap()
            .bind(credential);
    let assertion = passkey.assert(RP, origin, &webauthn_challenge(&statement));
    Authorization {
        statement,
        signature: assertion.encode().unwrap(),
    }
}

fn request(key: KeyId, payload: Payload, authorization: Authorization) -> SignRequest {
    SignRequest {
        tenant: tenant(),
        key,
        payload,
        authorization,
    }
}

fn refusal(result: Result<affix_vault::Signed, Error>) -> Refusal {
    match result {
        Err(Error::AuthorizationRefused(r)) => r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_passkey_authorizes_signatures_and_the_evidence_lets_anyone_recheck_it() {
    for (alg, kind) in [
        (WebAuthnAlgorithm::Es256, CredentialKind::PasskeyEs256),
        (WebAuthnAlgorithm::EdDsa, CredentialKind::PasskeyEd25519),
    ] {
        let f = fixture();
        let (owner, credential, mut passkey, key) = enrolled(&f, alg, 1);
        let info = f.vault.key(&tenant(), &key).unwrap();
        for n in 0..3u32 {
            let payload = Payload::Message(format!("contract {n}").into_bytes());
            let auth = authorize(&mut passkey, credential, key, &payload, ORIGIN);
            let encoded = auth.encode().unwrap();
            let signed = f
                .vault
                .sign(request(key, payload.clone(), auth), T0)
                .unwrap();
            verify(
                Algorithm::EcdsaP256,
                &info.public_key,
                &payload,
                &signed.signature.bytes,
            )
            .unwrap();
            // The evidence record names the kind and the counter and digests the
            // assertion's parts; the encoded authorization re-checks offline against the
            // registered COSE key.
            let audit = f.vault.audit_key(&tenant(), &key, 0, 100).unwrap();
            let record = &audit
                .iter()
                .find(|e| e.leaf == signed.evidence_leaf)
                .unwrap()
                .record;
            let meta = record.metadata();
            assert!(meta.contains(&("credential-kind".into(), kind.name().into())));
            assert!(meta.contains(&("sign-count".into(), (n + 2).to_string())));
            let decoded = Authorization::decode(&encoded).unwrap();
            let assertion = affix_webauthn::Assertion::decode(&decoded.signature).unwrap();
            assert!(record.covers(
                &assertion.authenticator_data,
                Some("assertion-authenticator-data")
            ));
            assert!(record.covers(&assertion.client_data_json, Some("assertion-client-data")));
            assert!(record.covers(&assertion.signature, Some("assertion-signature")));
            assert!(record.covers(&decoded.statement.to_bytes(), Some("authorization")));
            let cose = passkey.public_key();
            assertion
                .verify(
                    &config().webauthn,
                    &cose,
                    &webauthn_challenge(&decoded.statement),
                    n + 1,
                )
                .unwrap();
        }
        // The registration is in the owner's trail, with kind and attestation.
        let trail = f.vault.audit_owner(&tenant(), owner, 10).unwrap();
        let reg = trail
            .iter()
            .find(|e| e.record.kind() == "vault.credential.registered")
            .unwrap();
        assert!(
            reg.record
                .metadata()
                .contains(&("kind".into(), kind.name().into()))
        );
        assert!(
            reg.record
                .metadata()
                .contains(&("attestation".into(), "none".into()))
        );
        assert!(
            reg.record
                .covers(&passkey.public_key().to_cose(), Some("public-key"))
        );
    }
}

#[test]
fn a_replayed_assertion_is_refused_and_leaves_no_record() {
    let f = fixture();
    let (_, credential, mut passkey, key) = enrolled(&f, WebAuthnAlgorithm::Es256, 2);
    let payload = Payload::Message(b"once".to_vec());
    let auth = authorize(&mut passkey, credential, key, &payload, ORIGIN);
    f.vault
        .sign(request(key, payload.clone(), auth.clone()), T0)
        .unwrap();
    let before = f.vault.evidence_len();
    assert_eq!(
        refusal(f.vault.sign(request(key, payload, auth), T0)),
        Refusal::Replayed
    );
    assert_eq!(f.vault.evidence_len(), before);
}

#[test]
fn a_counter_regression_is_refused_and_leaves_no_record() {
    let f = fixture();
    let (_, credential, mut passkey, key) = enrolled(&f, WebAuthnAlgorithm::Es256, 3);
    let payload = Payload::Message(b"first".to_vec());
    let first = authorize(&mut passkey, credential, key, &payload, ORIGIN); // counter 2
    let second = authorize(&mut passkey, credential, key, &payload, ORIGIN); // counter 3
    f.vault
        .sign(request(key, payload.clone(), second), T0)
        .unwrap();
    let before = f.vault.evidence_len();
    // An older assertion (fresh nonce, lower counter) after a newer one.
    assert_eq!(
        refusal(f.vault.sign(request(key, payload.clone(), first), T0)),
        Refusal::Passkey(affix_webauthn::Error::CounterRegression {
            stored: 3,
            presented: 2
        })
    );
    // A cloned authenticator whose counter lags.
    passkey.set_sign_count(1);
    let cloned = authorize(&mut passkey, credential, key, &payload, ORIGIN); // counter 2
    assert!(matches!(
        refusal(f.vault.sign(request(key, payload.clone(), cloned), T0)),
        Refusal::Passkey(affix_webauthn::Error::CounterRegression { .. })
    ));
    assert_eq!(f.vault.evidence_len(), before);
    // The counter survives a reopen.
    let Fixture {
        vault,
        path,
        master_path,
        _dir,
    } = f;
    drop(vault);
    let vault = Vault::open(&path, master(&master_path), config()).unwrap();
    passkey.set_sign_count(2);
    let lagging = authorize(&mut passkey, credential, key, &payload, ORIGIN); // counter 3
    assert!(matches!(
        refusal(vault.sign(request(key, payload.clone(), lagging), T0)),
        Refusal::Passkey(affix_webauthn::Error::CounterRegression { .. })
    ));
    let next = authorize(&mut passkey, credential, key, &payload, ORIGIN); // counter 4
    vault.sign(request(key, payload, next), T0).unwrap();
}

#[test]
fn wrong_origin_challenge_and_missing_uv_are_refused_and_leave_no_record() {
    let f = fixture();
    let (_, credential, mut passkey, key) = enrolled(&f, WebAuthnAlgorithm::EdDsa, 4);
    let payload = Payload::Message(b"contract".to_vec());
    let before = f.vault.evidence_len();
    let evil = authorize(
        &mut passkey,
        credential,
        key,
        &payload,
        "https://evil.example",
    );
    assert_eq!(
        refusal(f.vault.sign(request(key, payload.clone(), evil), T0)),
        Refusal::Passkey(affix_webauthn::Error::WrongOrigin(
            "https://evil.example".into()
        ))
    );
    // An assertion over another statement, presented with this one.
    let other = authorize(&mut passkey, credential, key, &payload, ORIGIN);
    let mut mixed = authorize(&mut passkey, credential, key, &payload, ORIGIN);
    mixed.signature = other.signature;
    assert_eq!(
        refusal(f.vault.sign(request(key, payload.clone(), mixed), T0)),
        Refusal::Passkey(affix_webauthn::Error::WrongChallenge)
    );
    passkey.options.user_verified = false;
    let unverified = authorize(&mut passkey, credential, key, &payload, ORIGIN);
    assert_eq!(
        refusal(f.vault.sign(request(key, payload.clone(), unverified), T0)),
        Refusal::Passkey(affix_webauthn::Error::UserNotVerified)
    );
    // A raw signature where an assertion is due.
    let mut raw = authorize(&mut passkey, credential, key, &payload, ORIGIN);
    raw.signature = vec![7; 64];
    assert!(matches!(
        refusal(f.vault.sign(request(key, payload, raw), T0)),
        Refusal::Passkey(affix_webauthn::Error::Malformed { .. })
    ));
    assert_eq!(f.vault.evidence_len(), before);
}

#[test]
fn a_second_passkey_needs_the_first_ones_authorization_and_counts_its_use() {
    let f = fixture();
    let t = tenant();
    let (owner, first, mut passkey, _) = enrolled(&f, WebAuthnAlgorithm::Es256, 5);
    let mut laptop = SoftAuthenticator::new(WebAuthnAlgorithm::EdDsa, &[6; 32]);
    let reg = registration(&mut laptop, Attestation::PackedSelf);
    assert!(matches!(
        f.vault.register_passkey(&t, owner, &reg, None, T0),
        Err(Error::AuthorizationRefused(Refusal::AuthorizationRequired))
    ));
    let digest = f.vault.passkey_registration_digest(&reg).unwrap();
    assert_eq!(
        digest,
        credential_digest(
            CredentialKind::PasskeyEd25519,
            &laptop.public_key().to_cose()
        )
    );
    let statement =
        UnboundStatement::for_action(&t, Action::RegisterCredential, None, digest, T0, 60_000)
            .unwrap()
            .bind(first);
    let assertion = passkey.assert(RP, ORIGIN, &webauthn_challenge(&statement));
    let auth = Authorization {
        statement,
        signature: assertion.encode().unwrap(),
    };
    let second = f
        .vault
        .register_passkey(&t, owner, &reg, Some(&auth), T0)
        .unwrap();
    assert_ne!(second, first);
    // The use of the first passkey raised its counter: its previous assertion is old.
    passkey.set_sign_count(1);
    let key = f
        .vault
        .create_key(&t, owner, Algorithm::Ed25519, T0)
        .unwrap()
        .id;
    let payload = Payload::Message(b"x".to_vec());
    let stale = authorize(&mut passkey, first, key, &payload, ORIGIN); // counter 2
    assert!(matches!(
        refusal(f.vault.sign(request(key, payload.clone(), stale), T0)),
        Refusal::Passkey(affix_webauthn::Error::CounterRegression {
            stored: 2,
            presented: 2
        })
    ));
    let fresh = authorize(&mut laptop, second, key, &payload, ORIGIN);
    f.vault.sign(request(key, payload, fresh), T0).unwrap();
}

#[test]
fn bad_registrations_are_refused_and_store_nothing() {
    let f = fixture();
    let t = tenant();
    let owner = OwnerId::random().unwrap();
    let mut passkey = SoftAuthenticator::new(WebAuthnAlgorithm::Es256, &[7; 32]);
    let mut reg = registration(&mut passkey, Attestation::None);
    reg.challenge = b"another ceremony".to_vec();
    let before = f.vault.evidence_len();
    assert!(matches!(
        f.vault.register_passkey(&t, owner, &reg, None, T0),
        Err(Error::PasskeyRegistration(
            affix_webauthn::Error::WrongChallenge
        ))
    ));
    let wrong_rp = passkey.register("evil.example", ORIGIN, b"c", Attestation::None);
    let wrong_rp = PasskeyRegistration {
        attestation_object: wrong_rp.attestation_object,
        client_data_json: wrong_rp.client_data_json,
        challenge: b"c".to_vec(),
    };
    assert!(matches!(
        f.vault.register_passkey(&t, owner, &wrong_rp, None, T0),
        Err(Error::PasskeyRegistration(affix_webauthn::Error::WrongRpId))
    ));
    let mut garbage = registration(&mut passkey, Attestation::None);
    garbage.attestation_object.truncate(20);
    assert!(matches!(
        f.vault.register_passkey(&t, owner, &garbage, None, T0),
        Err(Error::PasskeyRegistration(
            affix_webauthn::Error::Malformed { .. }
        ))
    ));
    // A passkey kind through the raw registration path (a COSE key without a verified
    // registration) is refused.
    assert!(matches!(
        f.vault.register_credential(
            &t,
            owner,
            CredentialKind::PasskeyEs256,
            &passkey.public_key().to_cose(),
            None,
            T0
        ),
        Err(Error::Unsupported(_))
    ));
    assert_eq!(f.vault.evidence_len(), before);
    assert!(f.vault.audit_owner(&t, owner, 10).unwrap().is_empty());
}

#[test]
fn a_browser_held_webcrypto_key_signs_like_p256_and_is_named_in_the_evidence() {
    use signature::Signer as _;
    let f = fixture();
    let t = tenant();
    let owner = OwnerId::random().unwrap();
    // WebCrypto's ECDSA P-256 signs SHA-256 of the data and returns r ‖ s.
    let browser = p256::ecdsa::SigningKey::from_slice(&[0x42; 32]).unwrap();
    let public = browser
        .verifying_key()
        .to_sec1_point(true)
        .as_bytes()
        .to_vec();
    let credential = f
        .vault
        .register_credential(&t, owner, CredentialKind::BrowserP256, &public, None, T0)
        .unwrap();
    let key = f
        .vault
        .create_key(&t, owner, Algorithm::EcdsaP256, T0)
        .unwrap()
        .id;
    let payload = Payload::Message(b"signed in the browser".to_vec());
    let statement = UnboundStatement::for_signing(&t, key, &payload, None, T0, 60_000)
        .unwrap()
        .bind(credential);
    let sig: p256::ecdsa::Signature = browser.sign(&statement.to_bytes());
    let auth = Authorization {
        statement,
        signature: sig.to_bytes().to_vec(),
    };
    assert_eq!(
        Authorization::decode(&auth.encode().unwrap()).unwrap(),
        auth
    );
    let signed = f.vault.sign(request(key, payload, auth), T0).unwrap();
    let audit = f.vault.audit_key(&t, &key, 0, 100).unwrap();
    let record = &audit
        .iter()
        .find(|e| e.leaf == signed.evidence_leaf)
        .unwrap()
        .record;
    assert!(
        record
            .metadata()
            .contains(&("credential-kind".into(), "browser-p256".into()))
    );
    let trail = f.vault.audit_owner(&t, owner, 10).unwrap();
    assert!(
        trail[0]
            .record
            .metadata()
            .contains(&("kind".into(), "browser-p256".into()))
    );
}
