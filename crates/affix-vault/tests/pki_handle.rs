//! Vault keys behind the `signature` traits sign X.509 certificates that openssl accepts:
//! the CA key is a vault key used by a CA service under a delegated grant; the subject key
//! is a person's vault key (only its public key leaves the vault).
#![allow(clippy::unwrap_used)]

use affix_pki::ca::{
    Issuer, Profile, SubjectName, SubjectPublicKey, ValidityPeriod, serial_number_from_random,
};
use affix_seal::KeyFileMaster;
use affix_vault::{
    Action, Algorithm, CredentialKind, DeviceKey, GrantRecord, OwnerId, TenantId, UnboundStatement,
    Vault, VaultConfig,
};
use der::{DateTime, EncodePem, pem::LineEnding};
use sha2::{Digest as _, Sha256};
use signature::Keypair as _;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn now_ms() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

fn at(offset_s: i64) -> DateTime {
    let now = SystemTime::now();
    let t = if offset_s >= 0 {
        now + Duration::from_secs(offset_s.unsigned_abs())
    } else {
        now - Duration::from_secs(offset_s.unsigned_abs())
    };
    DateTime::from_system_time(t).unwrap()
}

#[test]
fn a_ca_key_in_the_vault_issues_certificates_openssl_verifies() {
    let dir = tempfile::tempdir().unwrap();
    KeyFileMaster::create(&dir.path().join("m.key")).unwrap();
    let master = Arc::new(KeyFileMaster::open(&dir.path().join("m.key")).unwrap());
    let vault = Vault::create(
        &dir.path().join("v"),
        master,
        "test.affix.local/vault",
        VaultConfig::default(),
    )
    .unwrap();
    let t = TenantId::new("notary").unwrap();
    let now = now_ms();

    // The organization (the CA operator) owns the CA key; its admin grants the CA service
    // the right to sign with it.
    let org = OwnerId::random().unwrap();
    let mut admin = DeviceKey::generate().unwrap();
    admin.credential = Some(
        vault
            .register_credential(
                &t,
                org,
                CredentialKind::Ed25519,
                &admin.public_key(),
                None,
                now,
            )
            .unwrap(),
    );
    let service_owner = OwnerId::random().unwrap();
    let mut service = DeviceKey::generate().unwrap();
    service.credential = Some(
        vault
            .register_credential(
                &t,
                service_owner,
                CredentialKind::Ed25519,
                &service.public_key(),
                None,
                now,
            )
            .unwrap(),
    );
    let ca_key = vault
        .create_key(&t, org, Algorithm::EcdsaP256, now)
        .unwrap();
    let grant = GrantRecord {
        key: ca_key.id,
        grantee: service.credential.unwrap(),
        not_after_ms: now + 3_600_000,
        max_uses: 10,
        created_ms: now,
        purpose: "certificate-issuance".into(),
    };
    let stmt = UnboundStatement::for_action(
        &t,
        Action::Grant,
        Some(ca_key.id),
        Sha256::digest(grant.encode().unwrap()).into(),
        now,
        60_000,
    )
    .unwrap();
    let grant_id = vault
        .grant(&t, &grant, &admin.authorize(stmt), now)
        .unwrap();

    let signer = vault
        .p256_signer(&t, ca_key.id, Some(grant_id), service, now_ms)
        .unwrap();
    let root = Issuer::<_, p256::ecdsa::DerSignature>::create_root(
        signer,
        &SubjectName::new("Affix 公证处 CA").unwrap(),
        serial_number_from_random(rand16()),
        ValidityPeriod::new(at(-60), at(3600 * 24 * 365)).unwrap(),
    )
    .unwrap();

    // A person's key: the certificate binds its public key, read from the vault.
    let person = OwnerId::random().unwrap();
    let mut phone = DeviceKey::generate().unwrap();
    phone.credential = Some(
        vault
            .register_credential(
                &t,
                person,
                CredentialKind::Ed25519,
                &phone.public_key(),
                None,
                now,
            )
            .unwrap(),
    );
    let person_key = vault
        .create_key(&t, person, Algorithm::Ed25519, now)
        .unwrap();
    let person_signer = vault
        .ed25519_signer(&t, person_key.id, None, phone, now_ms)
        .unwrap();
    let subject = SubjectPublicKey::from_keypair(&person_signer).unwrap();
    let cert = root
        .issue(
            &Profile::Person(SubjectName::new("张三").unwrap()),
            &subject,
            serial_number_from_random(rand16()),
            ValidityPeriod::new(at(-30), at(3600 * 24 * 30)).unwrap(),
        )
        .unwrap();
    assert_eq!(
        person_signer.verifying_key().to_bytes().to_vec(),
        person_key.public_key
    );

    let root_pem = root.certificate().to_pem(LineEnding::LF).unwrap();
    let leaf_pem = cert.to_pem(LineEnding::LF).unwrap();
    std::fs::write(dir.path().join("root.pem"), root_pem).unwrap();
    std::fs::write(dir.path().join("leaf.pem"), leaf_pem).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["verify", "-x509_strict", "-CAfile", "root.pem", "leaf.pem"])
        .current_dir(dir.path())
        .output()
        .expect("openssl must be installed");
    assert!(
        out.status.success(),
        "openssl verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // Every CA signature (the root's probe, the root certificate, the leaf) is a recorded,
    // grant-authorized use of the CA key.
    let uses = vault.audit_key(&t, &ca_key.id, 0, 100).unwrap();
    let signed = uses
        .iter()
        .filter(|e| e.record.kind() == "vault.key.signed")
        .count();
    assert!(signed >= 2, "{signed} recorded signatures");
    assert!(uses.iter().all(|e| {
        e.record.kind() != "vault.key.signed"
            || e.record
                .metadata()
                .iter()
                .any(|(k, v)| k == "grant" && *v == grant_id.to_string())
    }));
}

fn rand16() -> [u8; 16] {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).unwrap();
    b
}
