//! The vault from the outside: authorized signing, refusals, tenant isolation, tampering,
//! grants, disablement, audit, rotation and recovery.
#![allow(clippy::unwrap_used)]

use affix_seal::{KeyFileMaster, MasterKey};
use affix_vault::recovery::{
    Approval, IdentityCheck, Party, Purpose, RecoveryCode, RecoveryNotice, RecoveryNotifier,
    RecoveryPolicy, approval_message,
};
use affix_vault::{
    Action, Algorithm, CredentialKind, DeviceKey, Error, GrantRecord, OwnerId, Payload,
    RecoveryRefusal, Refusal, SignRequest, StoreError, TenantId, UnboundStatement, Vault,
    VaultConfig, credential_digest, verify,
};
use sha2::{Digest as _, Sha256};
use signature::Signer as _;
use std::sync::{Arc, Mutex};

const T0: u64 = 1_795_000_000_000;

// Field order matters: the vault closes before its directory is removed.
struct Fixture {
    vault: Vault,
    path: std::path::PathBuf,
    master_path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

fn master(path: &std::path::Path) -> Arc<dyn MasterKey> {
    Arc::new(KeyFileMaster::open(path).unwrap())
}

fn fixture_with(config: VaultConfig) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let master_path = dir.path().join("master.key");
    KeyFileMaster::create(&master_path).unwrap();
    let path = dir.path().join("vault");
    let vault = Vault::create(
        &path,
        master(&master_path),
        "test.affix.local/vault",
        config,
    )
    .unwrap();
    Fixture {
        _dir: dir,
        path,
        master_path,
        vault,
    }
}

fn fixture() -> Fixture {
    fixture_with(VaultConfig::default())
}

fn tenant(name: &str) -> TenantId {
    TenantId::new(name).unwrap()
}

/// An owner with one enrolled device.
fn enrol(vault: &Vault, t: &TenantId) -> (OwnerId, DeviceKey) {
    let owner = OwnerId::random().unwrap();
    let mut device = DeviceKey::generate().unwrap();
    device.credential = Some(
        vault
            .register_credential(
                t,
                owner,
                CredentialKind::Ed25519,
                &device.public_key(),
                None,
                T0,
            )
            .unwrap(),
    );
    (owner, device)
}

fn sign_request(
    t: &TenantId,
    key: affix_vault::KeyId,
    payload: Payload,
    device: &DeviceKey,
    now: u64,
) -> SignRequest {
    let statement = UnboundStatement::for_signing(t, key, &payload, None, now, 60_000).unwrap();
    SignRequest {
        tenant: t.clone(),
        key,
        payload,
        authorization: device.authorize(statement),
    }
}

#[test]
fn every_algorithm_signs_only_with_the_owners_authorization_and_records_it() {
    let f = fixture();
    let t = tenant("acme");
    let (owner, device) = enrol(&f.vault, &t);
    for alg in Algorithm::ALL {
        let key = f.vault.create_key(&t, owner, alg, T0).unwrap();
        let payload = Payload::Message(b"loan agreement v3".to_vec());
        let signed = f
            .vault
            .sign(sign_request(&t, key.id, payload.clone(), &device, T0), T0)
            .unwrap();
        verify(alg, &key.public_key, &payload, &signed.signature.bytes).unwrap();
        if alg.signs_prehash() {
            let pre = Payload::Prehash(Sha256::digest(b"x").into());
            let s = f
                .vault
                .sign(sign_request(&t, key.id, pre.clone(), &device, T0), T0)
                .unwrap();
            verify(alg, &key.public_key, &pre, &s.signature.bytes).unwrap();
        }
        let audit = f.vault.audit_key(&t, &key.id, 0, 100).unwrap();
        let kinds: Vec<&str> = audit.iter().map(|e| e.record.kind()).collect();
        assert_eq!(kinds[0], "vault.key.created");
        assert!(kinds.contains(&"vault.key.signed"));
        let signed_record = audit
            .iter()
            .find(|e| e.leaf == signed.evidence_leaf)
            .unwrap();
        assert!(
            signed_record
                .record
                .covers(b"loan agreement v3", Some("signed"))
        );
        // No secret or document content in any record.
        for e in &audit {
            let bytes = e.record.encode();
            assert!(!bytes.windows(17).any(|w| w == b"loan agreement v3"));
        }
    }
}

#[test]
fn bad_authorizations_are_refused_and_nothing_is_signed() {
    let f = fixture();
    let t = tenant("acme");
    let (owner, device) = enrol(&f.vault, &t);
    let (_, stranger) = enrol(&f.vault, &t);
    let key = f
        .vault
        .create_key(&t, owner, Algorithm::Ed25519, T0)
        .unwrap();
    let msg = Payload::Message(b"doc".to_vec());
    let leaves_before = f.vault.evidence_len();

    // Replay: the same authorization twice.
    let req = sign_request(&t, key.id, msg.clone(), &device, T0);
    f.vault.sign(req.clone(), T0).unwrap();
    let after_first = f.vault.evidence_len();
    assert!(matches!(
        f.vault.sign(req, T0 + 1),
        Err(Error::AuthorizationRefused(Refusal::Replayed))
    ));
    // Expired, and too long-lived.
    let req = sign_request(&t, key.id, msg.clone(), &device, T0);
    assert!(matches!(
        f.vault.sign(req, T0 + 60_000),
        Err(Error::AuthorizationRefused(Refusal::Expired { expires_ms, now_ms }))
            if expires_ms == T0 + 60_000 && now_ms == T0 + 60_000
    ));
    let long = UnboundStatement::for_signing(&t, key.id, &msg, None, T0, 10 * 60_000).unwrap();
    let req = SignRequest {
        tenant: t.clone(),
        key: key.id,
        payload: msg.clone(),
        authorization: device.authorize(long),
    };
    assert!(matches!(
        f.vault.sign(req, T0),
        Err(Error::AuthorizationRefused(Refusal::LifetimeTooLong {
            lifetime_ms: 600_000
        }))
    ));
    // Authorized one document, asked to sign another.
    let mut req = sign_request(&t, key.id, msg.clone(), &device, T0);
    req.payload = Payload::Message(b"other doc".to_vec());
    assert!(matches!(
        f.vault.sign(req, T0),
        Err(Error::AuthorizationRefused(Refusal::DigestMismatch))
    ));
    // Someone else's credential.
    let req = sign_request(&t, key.id, msg.clone(), &stranger, T0);
    assert!(matches!(
        f.vault.sign(req, T0),
        Err(Error::AuthorizationRefused(Refusal::NotOwnersCredential))
    ));
    // A forged signature.
    let mut req = sign_request(&t, key.id, msg.clone(), &device, T0);
    req.authorization.signature[5] ^= 1;
    assert!(matches!(
        f.vault.sign(req, T0),
        Err(Error::AuthorizationRefused(Refusal::SignatureInvalid))
    ));
    // Digests to an Ed25519 key.
    let req = sign_request(&t, key.id, Payload::Prehash([1; 32]), &device, T0);
    assert!(matches!(f.vault.sign(req, T0), Err(Error::Unsupported(_))));
    // Oversized message.
    let req = sign_request(
        &t,
        key.id,
        Payload::Message(vec![0; affix_vault::MESSAGE_BYTES_MAX + 1]),
        &device,
        T0,
    );
    assert!(matches!(f.vault.sign(req, T0), Err(Error::TooLarge { .. })));
    // Exactly one signature record was added, for the one good request.
    assert_eq!(after_first, leaves_before + 1);
    assert_eq!(f.vault.evidence_len(), after_first);
}

#[test]
fn tenants_cannot_reach_each_others_keys() {
    let f = fixture();
    let (a, b) = (tenant("bank-a"), tenant("bank-b"));
    let (owner, device) = enrol(&f.vault, &a);
    let (_, device_b) = enrol(&f.vault, &b);
    let key = f
        .vault
        .create_key(&a, owner, Algorithm::EcdsaP256, T0)
        .unwrap();
    assert!(matches!(
        f.vault.key(&b, &key.id),
        Err(Error::KeyNotFound(_))
    ));
    assert!(matches!(
        f.vault.audit_key(&b, &key.id, 0, 10),
        Err(Error::KeyNotFound(_))
    ));
    // The owner's valid authorization, presented by tenant B.
    let mut req = sign_request(&a, key.id, Payload::Message(b"m".to_vec()), &device, T0);
    req.tenant = b.clone();
    assert!(matches!(f.vault.sign(req, T0), Err(Error::KeyNotFound(_))));
    // Tenant B's own credential, naming tenant A's key.
    let req = sign_request(&b, key.id, Payload::Message(b"m".to_vec()), &device_b, T0);
    assert!(matches!(f.vault.sign(req, T0), Err(Error::KeyNotFound(_))));
    let stmt = UnboundStatement::for_action(
        &b,
        Action::Disable,
        Some(key.id),
        Sha256::digest(key.id.0).into(),
        T0,
        60_000,
    )
    .unwrap();
    assert!(
        f.vault
            .disable(&b, &key.id, &device_b.authorize(stmt), T0)
            .is_err()
    );
    assert!(!f.vault.key(&a, &key.id).unwrap().disabled);
}

#[test]
fn a_flipped_byte_in_a_stored_key_never_yields_a_signature() {
    const KEYS: redb::TableDefinition<&[u8; 16], &[u8]> = redb::TableDefinition::new("keys");
    let f = fixture();
    let t = tenant("acme");
    let (owner, device) = enrol(&f.vault, &t);
    let key = f
        .vault
        .create_key(&t, owner, Algorithm::EcdsaSecp256k1, T0)
        .unwrap();
    let Fixture {
        _dir,
        path,
        master_path,
        vault,
    } = f;
    drop(vault);
    let db_path = path.join("vault.redb");
    let original = {
        let db = redb::Database::open(&db_path).unwrap();
        let tx = redb::ReadableDatabase::begin_read(&db).unwrap();
        let table = tx.open_table(KEYS).unwrap();
        table.get(&key.id.0).unwrap().unwrap().value().to_vec()
    };
    for i in 0..original.len() {
        let mut bad = original.clone();
        bad[i] ^= 0x01;
        {
            let db = redb::Database::open(&db_path).unwrap();
            let tx = db.begin_write().unwrap();
            tx.open_table(KEYS)
                .unwrap()
                .insert(&key.id.0, bad.as_slice())
                .unwrap();
            tx.commit().unwrap();
        }
        let vault = Vault::open(&path, master(&master_path), VaultConfig::default()).unwrap();
        let payload = Payload::Message(format!("m{i}").into_bytes());
        let result = vault.sign(sign_request(&t, key.id, payload, &device, T0), T0);
        assert!(result.is_err(), "byte {i} flipped, yet it signed");
    }
}

#[test]
fn grants_let_a_delegate_sign_within_scope_only() {
    let f = fixture();
    let t = tenant("retailer");
    let (org, admin) = enrol(&f.vault, &t);
    let (_, clerk) = enrol(&f.vault, &t);
    let seal = f.vault.create_key(&t, org, Algorithm::Sm2, T0).unwrap();
    let grant = GrantRecord {
        key: seal.id,
        grantee: clerk.credential.unwrap(),
        not_after_ms: T0 + 3_600_000,
        max_uses: 2,
        created_ms: T0,
        purpose: "contract-seal".into(),
    };
    let stmt = UnboundStatement::for_action(
        &t,
        Action::Grant,
        Some(seal.id),
        Sha256::digest(grant.encode().unwrap()).into(),
        T0,
        60_000,
    )
    .unwrap();
    let grant_id = f
        .vault
        .grant(&t, &grant, &admin.authorize(stmt), T0)
        .unwrap();
    let sign_under_grant = |now: u64, doc: &[u8]| {
        let payload = Payload::Message(doc.to_vec());
        let stmt =
            UnboundStatement::for_signing(&t, seal.id, &payload, Some(grant_id), now, 60_000)
                .unwrap();
        f.vault.sign(
            SignRequest {
                tenant: t.clone(),
                key: seal.id,
                payload,
                authorization: clerk.authorize(stmt),
            },
            now,
        )
    };
    sign_under_grant(T0, b"po-1").unwrap();
    sign_under_grant(T0, b"po-2").unwrap();
    assert!(matches!(
        sign_under_grant(T0, b"po-3"),
        Err(Error::AuthorizationRefused(Refusal::GrantExhausted {
            max_uses: 2
        }))
    ));
    // Without naming the grant, the clerk is just someone else.
    let req = sign_request(&t, seal.id, Payload::Message(b"x".to_vec()), &clerk, T0);
    assert!(matches!(
        f.vault.sign(req, T0),
        Err(Error::AuthorizationRefused(Refusal::NotOwnersCredential))
    ));
}

#[test]
fn a_disabled_key_keeps_its_history_and_signs_nothing() {
    let f = fixture();
    let t = tenant("acme");
    let (owner, device) = enrol(&f.vault, &t);
    let key = f
        .vault
        .create_key(&t, owner, Algorithm::Ed25519, T0)
        .unwrap();
    let stmt = UnboundStatement::for_action(
        &t,
        Action::Disable,
        Some(key.id),
        Sha256::digest(key.id.0).into(),
        T0,
        60_000,
    )
    .unwrap();
    f.vault
        .disable(&t, &key.id, &device.authorize(stmt), T0)
        .unwrap();
    let req = sign_request(&t, key.id, Payload::Message(b"m".to_vec()), &device, T0);
    assert!(matches!(f.vault.sign(req, T0), Err(Error::KeyDisabled(_))));
    let info = f.vault.key(&t, &key.id).unwrap();
    assert!(info.disabled);
    let kinds: Vec<String> = f
        .vault
        .audit_key(&t, &key.id, 0, 10)
        .unwrap()
        .iter()
        .map(|e| e.record.kind().to_owned())
        .collect();
    assert_eq!(kinds, ["vault.key.created", "vault.key.disabled"]);
}

#[test]
fn second_credentials_need_the_first() {
    let f = fixture();
    let t = tenant("acme");
    let (owner, device) = enrol(&f.vault, &t);
    let phone = DeviceKey::generate().unwrap();
    let refused = f.vault.register_credential(
        &t,
        owner,
        CredentialKind::Ed25519,
        &phone.public_key(),
        None,
        T0,
    );
    assert!(matches!(
        refused,
        Err(Error::AuthorizationRefused(Refusal::AuthorizationRequired))
    ));
    let stmt = UnboundStatement::for_action(
        &t,
        Action::RegisterCredential,
        None,
        credential_digest(CredentialKind::Ed25519, &phone.public_key()),
        T0,
        60_000,
    )
    .unwrap();
    f.vault
        .register_credential(
            &t,
            owner,
            CredentialKind::Ed25519,
            &phone.public_key(),
            Some(&device.authorize(stmt)),
            T0,
        )
        .unwrap();
}

#[test]
fn rotation_reseals_every_key_and_retires_the_old_master() {
    let f = fixture();
    let t = tenant("acme");
    let (owner, device) = enrol(&f.vault, &t);
    let keys: Vec<_> = (0..25)
        .map(|i| {
            f.vault
                .create_key(&t, owner, Algorithm::ALL[i % 4], T0)
                .unwrap()
        })
        .collect();
    let new_path = f.path.parent().unwrap().join("master2.key");
    KeyFileMaster::create(&new_path).unwrap();
    let mut calls = Vec::new();
    let report = affix_vault::rotation::rotate(&f.vault, master(&new_path), T0, &mut |d, t| {
        calls.push((d, t));
    })
    .unwrap();
    assert_eq!(report.resealed, 25);
    assert_eq!(calls.last(), Some(&(25, 25)));
    // Signs right away, and after reopening with the new master only.
    let sign_all = |vault: &Vault, round: u64| {
        for k in &keys {
            let payload = Payload::Message(format!("after {round}").into_bytes());
            let s = vault
                .sign(
                    sign_request(&t, k.id, payload.clone(), &device, T0 + round),
                    T0 + round,
                )
                .unwrap();
            verify(k.algorithm, &k.public_key, &payload, &s.signature.bytes).unwrap();
        }
    };
    sign_all(&f.vault, 1);
    let Fixture {
        _dir,
        path,
        master_path,
        vault,
    } = f;
    drop(vault);
    assert!(matches!(
        Vault::open(&path, master(&master_path), VaultConfig::default()),
        Err(Error::WrongMasterKey { .. })
    ));
    let vault = Vault::open(&path, master(&new_path), VaultConfig::default()).unwrap();
    sign_all(&vault, 2);
}

/// The owner's recovery code, generated on the owner's side and registered with their
/// device's authorization.
fn set_code(
    vault: &Vault,
    t: &TenantId,
    owner: OwnerId,
    device: &DeviceKey,
    now: u64,
) -> RecoveryCode {
    let code = RecoveryCode::generate().unwrap();
    let digest = code.digest().unwrap();
    let stmt = UnboundStatement::for_action(
        t,
        Action::SetRecoveryCode,
        None,
        digest.authorization_digest(),
        now,
        60_000,
    )
    .unwrap();
    vault
        .set_recovery_code(t, owner, &digest, &device.authorize(stmt), now)
        .unwrap();
    code
}

/// A notifier that keeps every notice (the platform's is an e-mail and SMS outbox).
#[derive(Default)]
struct Notices(Mutex<Vec<RecoveryNotice>>);

impl RecoveryNotifier for Notices {
    fn recovery_started(
        &self,
        notice: &RecoveryNotice,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.0.lock().unwrap().push(notice.clone());
        Ok(())
    }
}

fn recovery_config() -> (
    VaultConfig,
    ed25519_dalek::SigningKey,
    ed25519_dalek::SigningKey,
) {
    let platform = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let notary = ed25519_dalek::SigningKey::from_bytes(&[8; 32]);
    let config = VaultConfig {
        recovery: RecoveryPolicy {
            platform_key: Some(platform.verifying_key().to_bytes()),
            authorities: vec![("notary".into(), notary.verifying_key().to_bytes())],
            ..RecoveryPolicy::default()
        },
        ..VaultConfig::default()
    };
    (config, platform, notary)
}

fn refused(result: Result<impl std::fmt::Debug, Error>) -> RecoveryRefusal {
    match result {
        Err(Error::RecoveryRefused(r)) => r,
        other => panic!("expected a recovery refusal, got {other:?}"),
    }
}

#[test]
fn recovery_needs_the_authority_and_one_more_party_and_the_window_and_keeps_the_key() {
    let (config, platform, notary) = recovery_config();
    let window = config.recovery.window_ms;
    let f = fixture_with(config);
    let t = tenant("people");
    let (owner, lost_phone) = enrol(&f.vault, &t);
    let code = set_code(&f.vault, &t, owner, &lost_phone, T0);
    let key = f
        .vault
        .create_key(&t, owner, Algorithm::Ed25519, T0)
        .unwrap();

    let mut new_phone = DeviceKey::generate().unwrap();
    let identity = IdentityCheck {
        provider: "email-otp".into(),
        result_digest: [3; 32],
    };
    let start = T0 + 1000;
    let notices = Notices::default();
    let id = f
        .vault
        .start_recovery(
            &t,
            owner,
            CredentialKind::Ed25519,
            &new_phone.public_key(),
            &identity,
            &notices,
            start,
        )
        .unwrap();
    // Rate limit: a second start within the interval is refused.
    assert!(matches!(
        f.vault.start_recovery(
            &t,
            owner,
            CredentialKind::Ed25519,
            &new_phone.public_key(),
            &identity,
            &notices,
            start + 1
        ),
        Err(Error::RateLimited(_))
    ));
    assert_eq!(notices.0.lock().unwrap().len(), 1, "one notice per start");
    let message = approval_message(&t, owner, id, &new_phone.public_key());
    let approve = |approval, now| f.vault.approve_recovery(&t, owner, id, approval, now);
    let by_platform = || Approval::Platform {
        signature: platform.sign(&message).to_bytes().to_vec(),
    };
    // The platform alone cannot complete, even after the window.
    approve(by_platform(), start).unwrap();
    assert_eq!(
        refused(f.vault.complete_recovery(&t, owner, id, start + window + 1)),
        RecoveryRefusal::AuthorityApprovalMissing
    );
    // Nor by approving twice, nor with a wrong code or a forged authority signature.
    assert_eq!(
        refused(approve(by_platform(), start)),
        RecoveryRefusal::AlreadyApproved(Party::Platform)
    );
    assert_eq!(
        refused(approve(Approval::RecoveryCode("0000-0000".into()), start)),
        RecoveryRefusal::WrongRecoveryCode
    );
    assert_eq!(
        refused(approve(
            Approval::Authority {
                name: "notary".into(),
                signature: platform.sign(&message).to_bytes().to_vec()
            },
            start
        )),
        RecoveryRefusal::ApprovalSignatureInvalid
    );
    assert_eq!(
        refused(approve(
            Approval::Authority {
                name: "registrar".into(),
                signature: notary.sign(&message).to_bytes().to_vec()
            },
            start
        )),
        RecoveryRefusal::UnknownAuthority("registrar".into())
    );
    // The platform and the owner's recovery code: two parties, but no authority — the
    // operator who learnt the code still cannot complete.
    approve(Approval::RecoveryCode(code.as_str().to_owned()), start).unwrap();
    assert_eq!(
        refused(f.vault.complete_recovery(&t, owner, id, start + window + 1)),
        RecoveryRefusal::AuthorityApprovalMissing
    );
    // With the authority: complete, but only once the window is over.
    approve(
        Approval::Authority {
            name: "notary".into(),
            signature: notary.sign(&message).to_bytes().to_vec(),
        },
        start,
    )
    .unwrap();
    assert!(matches!(
        refused(f.vault.complete_recovery(&t, owner, id, start + window - 1)),
        RecoveryRefusal::WindowOpen { .. }
    ));
    new_phone.credential = Some(
        f.vault
            .complete_recovery(&t, owner, id, start + window)
            .unwrap(),
    );
    let now = start + window + 10;
    // The same key signs with the new phone; the lost one is revoked.
    let s = f
        .vault
        .sign(
            sign_request(
                &t,
                key.id,
                Payload::Message(b"after".to_vec()),
                &new_phone,
                now,
            ),
            now,
        )
        .unwrap();
    verify(
        Algorithm::Ed25519,
        &key.public_key,
        &Payload::Message(b"after".to_vec()),
        &s.signature.bytes,
    )
    .unwrap();
    assert!(matches!(
        f.vault.sign(
            sign_request(
                &t,
                key.id,
                Payload::Message(b"x".to_vec()),
                &lost_phone,
                now
            ),
            now
        ),
        Err(Error::AuthorizationRefused(Refusal::CredentialRevoked))
    ));
    let kinds: Vec<String> = f
        .vault
        .audit_owner(&t, owner, 100)
        .unwrap()
        .iter()
        .map(|e| e.record.kind().to_owned())
        .collect();
    assert!(
        kinds.contains(&"vault.recovery.completed".to_owned()),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&"vault.recovery.code-set".to_owned()),
        "{kinds:?}"
    );
}

/// The authority and the owner's recovery code complete a recovery without the
/// platform; the authority alone does not.
#[test]
fn the_authority_and_the_owners_code_complete_without_the_platform() {
    let (config, _, notary) = recovery_config();
    let window = config.recovery.window_ms;
    let f = fixture_with(config);
    let t = tenant("people");
    let (owner, lost_phone) = enrol(&f.vault, &t);
    let code = set_code(&f.vault, &t, owner, &lost_phone, T0);
    let new_phone = DeviceKey::generate().unwrap();
    let id = f
        .vault
        .start_recovery(
            &t,
            owner,
            CredentialKind::Ed25519,
            &new_phone.public_key(),
            &IdentityCheck {
                provider: "face-provider-x".into(),
                result_digest: [4; 32],
            },
            &Notices::default(),
            T0,
        )
        .unwrap();
    let message = approval_message(&t, owner, id, &new_phone.public_key());
    f.vault
        .approve_recovery(
            &t,
            owner,
            id,
            Approval::Authority {
                name: "notary".into(),
                signature: notary.sign(&message).to_bytes().to_vec(),
            },
            T0,
        )
        .unwrap();
    assert_eq!(
        refused(f.vault.complete_recovery(&t, owner, id, T0 + window)),
        RecoveryRefusal::SecondApprovalMissing
    );
    f.vault
        .approve_recovery(
            &t,
            owner,
            id,
            Approval::RecoveryCode(code.as_str().to_uppercase()),
            T0,
        )
        .unwrap();
    f.vault
        .complete_recovery(&t, owner, id, T0 + window)
        .unwrap();
}

/// Only an active credential of the owner registers or replaces the recovery code, for
/// exactly the digest it authorized, once; a replaced code no longer approves.
#[test]
fn only_the_owner_sets_or_replaces_the_recovery_code() {
    let (config, _, _) = recovery_config();
    let f = fixture_with(config);
    let t = tenant("people");
    let (owner, phone) = enrol(&f.vault, &t);
    let (_, stranger) = enrol(&f.vault, &t);
    let code = RecoveryCode::generate().unwrap();
    let digest = code.digest().unwrap();
    let stmt = |action, d: [u8; 32]| {
        UnboundStatement::for_action(&t, action, None, d, T0, 60_000).unwrap()
    };
    let set =
        |auth: &affix_vault::Authorization, d| f.vault.set_recovery_code(&t, owner, d, auth, T0);
    let authorized = stmt(Action::SetRecoveryCode, digest.authorization_digest());
    // Another owner's credential (an operator's own enrolment, say) cannot set it.
    assert!(matches!(
        set(&stranger.authorize(authorized.clone()), &digest),
        Err(Error::AuthorizationRefused(Refusal::NotOwnersCredential))
    ));
    // The owner's authorization is for one digest only, and for this action only.
    let other = RecoveryCode::generate().unwrap().digest().unwrap();
    assert!(matches!(
        set(&phone.authorize(authorized.clone()), &other),
        Err(Error::AuthorizationRefused(Refusal::DigestMismatch))
    ));
    assert!(matches!(
        set(
            &phone.authorize(stmt(Action::CancelRecovery, digest.authorization_digest())),
            &digest
        ),
        Err(Error::AuthorizationRefused(Refusal::WrongAction { .. }))
    ));
    let auth = phone.authorize(authorized);
    set(&auth, &digest).unwrap();
    assert!(matches!(
        set(&auth, &digest),
        Err(Error::AuthorizationRefused(Refusal::Replayed))
    ));
    // Replacing it needs the owner too; then the old code no longer approves.
    let replacement = set_code(&f.vault, &t, owner, &phone, T0);
    let id = f
        .vault
        .start_recovery(
            &t,
            owner,
            CredentialKind::Ed25519,
            &DeviceKey::generate().unwrap().public_key(),
            &IdentityCheck {
                provider: "email-otp".into(),
                result_digest: [3; 32],
            },
            &Notices::default(),
            T0,
        )
        .unwrap();
    assert_eq!(
        refused(f.vault.approve_recovery(
            &t,
            owner,
            id,
            Approval::RecoveryCode(code.as_str().to_owned()),
            T0
        )),
        RecoveryRefusal::WrongRecoveryCode
    );
    f.vault
        .approve_recovery(
            &t,
            owner,
            id,
            Approval::RecoveryCode(replacement.as_str().to_owned()),
            T0,
        )
        .unwrap();
    // An owner without a code has none to approve with.
    let (other_owner, _) = enrol(&f.vault, &t);
    let other_id = f
        .vault
        .start_recovery(
            &t,
            other_owner,
            CredentialKind::Ed25519,
            &DeviceKey::generate().unwrap().public_key(),
            &IdentityCheck {
                provider: "email-otp".into(),
                result_digest: [3; 32],
            },
            &Notices::default(),
            T0,
        )
        .unwrap();
    assert_eq!(
        refused(f.vault.approve_recovery(
            &t,
            other_owner,
            other_id,
            Approval::RecoveryCode(replacement.as_str().to_owned()),
            T0
        )),
        RecoveryRefusal::NoRecoveryCode
    );
    let sets = f
        .vault
        .audit_owner(&t, owner, 100)
        .unwrap()
        .iter()
        .filter(|e| e.record.kind() == "vault.recovery.code-set")
        .count();
    assert_eq!(sets, 2);
}

/// The owner is told of every start before it happens: a notifier that fails stops the
/// start (nothing recorded, the rate limit untouched), and a policy without an
/// authority starts nothing at all.
#[test]
fn a_recovery_starts_only_once_the_owners_notice_is_accepted() {
    let (config, _, _) = recovery_config();
    let window = config.recovery.window_ms;
    let f = fixture_with(config);
    let t = tenant("people");
    let (owner, _) = enrol(&f.vault, &t);
    let new_key = DeviceKey::generate().unwrap().public_key();
    let identity = IdentityCheck {
        provider: "email-otp".into(),
        result_digest: [3; 32],
    };
    let failing = |_: &RecoveryNotice| -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        Err("the mail queue is full".into())
    };
    let before = f.vault.audit_owner(&t, owner, 100).unwrap().len();
    let e = f
        .vault
        .start_recovery(
            &t,
            owner,
            CredentialKind::Ed25519,
            &new_key,
            &identity,
            &failing,
            T0,
        )
        .unwrap_err();
    assert!(matches!(e, Error::RecoveryNotNotified(_)), "{e:?}");
    assert_eq!(f.vault.audit_owner(&t, owner, 100).unwrap().len(), before);
    let notices = Notices::default();
    let id = f
        .vault
        .start_recovery(
            &t,
            owner,
            CredentialKind::Ed25519,
            &new_key,
            &identity,
            &notices,
            T0,
        )
        .unwrap();
    let sent = notices.0.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    let n = &sent[0];
    assert_eq!((&n.tenant, n.owner, n.recovery), (&t, owner, id));
    assert_eq!(n.purpose, Purpose::BindCredential);
    assert_eq!(n.new_key_digest, <[u8; 32]>::from(Sha256::digest(new_key)));
    assert_eq!(n.provider, "email-otp");
    assert_eq!((n.started_ms, n.window_ends_ms), (T0, T0 + window));

    let g = fixture();
    let (owner, _) = enrol(&g.vault, &t);
    let notices = Notices::default();
    assert_eq!(
        refused(g.vault.start_recovery(
            &t,
            owner,
            CredentialKind::Ed25519,
            &new_key,
            &identity,
            &notices,
            T0
        )),
        RecoveryRefusal::NoAuthorityConfigured
    );
    assert!(notices.0.lock().unwrap().is_empty());
}

#[test]
fn an_old_credential_cancels_a_recovery_in_the_window() {
    let (config, platform, notary) = recovery_config();
    let window = config.recovery.window_ms;
    let f = fixture_with(config);
    let t = tenant("people");
    let (owner, phone) = enrol(&f.vault, &t);
    let attacker = DeviceKey::generate().unwrap();
    let identity = IdentityCheck {
        provider: "email-otp".into(),
        result_digest: [3; 32],
    };
    let id = f
        .vault
        .start_recovery(
            &t,
            owner,
            CredentialKind::Ed25519,
            &attacker.public_key(),
            &identity,
            &Notices::default(),
            T0,
        )
        .unwrap();
    let message = approval_message(&t, owner, id, &attacker.public_key());
    f.vault
        .approve_recovery(
            &t,
            owner,
            id,
            Approval::Platform {
                signature: platform.sign(&message).to_bytes().to_vec(),
            },
            T0,
        )
        .unwrap();
    f.vault
        .approve_recovery(
            &t,
            owner,
            id,
            Approval::Authority {
                name: "notary".into(),
                signature: notary.sign(&message).to_bytes().to_vec(),
            },
            T0,
        )
        .unwrap();
    let stmt = UnboundStatement::for_action(
        &t,
        Action::CancelRecovery,
        None,
        Sha256::digest(id.0).into(),
        T0 + 5,
        60_000,
    )
    .unwrap();
    f.vault
        .cancel_recovery(&t, owner, id, &phone.authorize(stmt), T0 + 5)
        .unwrap();
    assert_eq!(
        refused(f.vault.complete_recovery(&t, owner, id, T0 + window + 1)),
        RecoveryRefusal::Cancelled
    );
}

#[test]
fn one_forged_authorization_in_a_batch_fails_alone() {
    let f = fixture();
    let t = tenant("acme");
    let (owner, device) = enrol(&f.vault, &t);
    let key = f
        .vault
        .create_key(&t, owner, Algorithm::Ed25519, T0)
        .unwrap();
    let mut requests: Vec<SignRequest> = (0..16)
        .map(|i| {
            let payload = Payload::Message(format!("doc {i}").into_bytes());
            sign_request(&t, key.id, payload, &device, T0)
        })
        .collect();
    requests[7].authorization.signature[0] ^= 0x80;
    let results = f.vault.sign_many(requests, T0);
    for (i, r) in results.iter().enumerate() {
        if i == 7 {
            assert!(
                matches!(
                    r,
                    Err(Error::AuthorizationRefused(Refusal::SignatureInvalid))
                ),
                "forged one signed"
            );
        } else {
            let s = r.as_ref().unwrap();
            let payload = Payload::Message(format!("doc {i}").into_bytes());
            verify(
                Algorithm::Ed25519,
                &key.public_key,
                &payload,
                &s.signature.bytes,
            )
            .unwrap();
        }
    }
}

#[test]
fn creation_records_are_derived_from_the_key_records_and_read_the_same_before_and_after_draining() {
    let f = fixture();
    let t = tenant("acme");
    let owner = OwnerId::random().unwrap();
    let requests: Vec<(OwnerId, Algorithm)> =
        Algorithm::ALL.iter().map(|&alg| (owner, alg)).collect();
    let keys = f.vault.create_keys(&t, &requests, T0).unwrap();
    // Read at once (usually still pending in the store), then after the drain.
    let before: Vec<Vec<u8>> = keys
        .iter()
        .map(|k| {
            let audit = f.vault.audit_key(&t, &k.id, 0, 10).unwrap();
            assert_eq!(audit.len(), 1);
            assert_eq!(audit[0].leaf, k.evidence_leaf.unwrap());
            audit[0].record.encode()
        })
        .collect();
    f.vault.flush_evidence().unwrap();
    for (k, early) in keys.iter().zip(&before) {
        let audit = f.vault.audit_key(&t, &k.id, 0, 10).unwrap();
        let record = &audit[0].record;
        assert_eq!(
            &record.encode(),
            early,
            "same bytes from the store and the log"
        );
        assert_eq!(record.kind(), "vault.key.created");
        assert_eq!(record.subject(), format!("key:{}", k.id));
        assert_eq!(record.event_time().0, T0);
        assert!(record.covers(&k.public_key, Some("public-key")));
        let meta: Vec<(&str, &str)> = record
            .metadata()
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        assert!(meta.contains(&("algorithm", k.algorithm.name())));
        assert!(meta.contains(&("tenant", "acme")));
        assert!(meta.contains(&("owner", owner.to_string().as_str())));
    }
    // Consecutive leaves, in key order.
    let leaves: Vec<u64> = keys.iter().map(|k| k.evidence_leaf.unwrap()).collect();
    assert!(leaves.windows(2).all(|w| w[1] == w[0] + 1));
    // A reopened vault finds the same records.
    let Fixture {
        vault,
        path,
        master_path,
        _dir,
    } = f;
    drop(vault);
    let vault = Vault::open(&path, master(&master_path), VaultConfig::default()).unwrap();
    for (k, early) in keys.iter().zip(&before) {
        let audit = vault.audit_key(&t, &k.id, 0, 10).unwrap();
        assert_eq!(&audit[0].record.encode(), early);
    }
}

#[test]
fn a_batch_spread_over_threads_answers_in_order_and_forged_ones_fail_alone() {
    let f = fixture_with(VaultConfig {
        sign_threads: 4,
        ..VaultConfig::default()
    });
    let t = tenant("acme");
    let (owner, device) = enrol(&f.vault, &t);
    let keys: Vec<_> = [Algorithm::Ed25519, Algorithm::EcdsaP256]
        .into_iter()
        .map(|alg| f.vault.create_key(&t, owner, alg, T0).unwrap())
        .collect();
    let payload = |i: usize| Payload::Message(format!("page {i}").into_bytes());
    let forged = [3, 40, 41, 99];
    let requests: Vec<SignRequest> = (0..100)
        .map(|i| {
            let mut r = sign_request(&t, keys[i % 2].id, payload(i), &device, T0);
            if forged.contains(&i) {
                r.authorization.signature[10] ^= 0x04;
            }
            r
        })
        .collect();
    let results = f.vault.sign_many(requests, T0);
    assert_eq!(results.len(), 100);
    let mut leaves = Vec::new();
    for (i, r) in results.into_iter().enumerate() {
        if forged.contains(&i) {
            assert!(
                matches!(
                    r,
                    Err(Error::AuthorizationRefused(Refusal::SignatureInvalid))
                ),
                "request {i}"
            );
            continue;
        }
        let s = r.unwrap();
        let key = &keys[i % 2];
        verify(
            key.algorithm,
            &key.public_key,
            &payload(i),
            &s.signature.bytes,
        )
        .unwrap();
        leaves.push(s.evidence_leaf);
    }
    // One record each, consecutive, in request order.
    assert!(leaves.windows(2).all(|w| w[1] == w[0] + 1));
}

#[test]
fn the_signature_index_is_rebuilt_from_the_log_when_lost() {
    let f = fixture();
    let t = tenant("acme");
    let (owner, device) = enrol(&f.vault, &t);
    let key = f
        .vault
        .create_key(&t, owner, Algorithm::Ed25519, T0)
        .unwrap();
    let mut leaves = Vec::new();
    for i in 0..5 {
        let payload = Payload::Message(format!("clause {i}").into_bytes());
        let s = f
            .vault
            .sign(sign_request(&t, key.id, payload, &device, T0), T0)
            .unwrap();
        leaves.push(s.evidence_leaf);
    }
    let signed_leaves = |vault: &Vault| -> Vec<u64> {
        vault
            .audit_key(&t, &key.id, 0, 100)
            .unwrap()
            .iter()
            .filter(|e| e.record.kind() == "vault.key.signed")
            .map(|e| e.leaf)
            .collect()
    };
    assert_eq!(
        signed_leaves(&f.vault),
        leaves,
        "audit sees every signature at once"
    );
    let Fixture {
        vault,
        path,
        master_path,
        _dir,
    } = f;
    drop(vault);
    std::fs::remove_file(path.join("index.redb")).unwrap();
    let vault = Vault::open(&path, master(&master_path), VaultConfig::default()).unwrap();
    assert_eq!(
        signed_leaves(&vault),
        leaves,
        "rebuilt from the evidence log"
    );
}

#[test]
fn a_stalled_drain_makes_signing_busy_instead_of_holding_more_records() {
    let f = fixture_with(VaultConfig {
        undrained_signature_records_max: 3,
        ..VaultConfig::default()
    });
    let t = tenant("acme");
    let (owner, device) = enrol(&f.vault, &t);
    let key = f
        .vault
        .create_key(&t, owner, Algorithm::Ed25519, T0)
        .unwrap();
    f.vault.flush_evidence().unwrap();
    let request = || {
        sign_request(
            &t,
            key.id,
            Payload::Message(b"clause".to_vec()),
            &device,
            T0,
        )
    };
    // Holding the evidence log stalls the drainer: the journal's records stay in memory.
    f.vault.with_evidence(|_| {
        for _ in 0..3 {
            f.vault.sign(request(), T0).unwrap();
        }
        let refused = f.vault.sign(request(), T0);
        assert!(matches!(refused, Err(Error::Busy(_))), "{refused:?}");
    });
    // Once the drainer has caught up, signing goes on.
    f.vault.flush_evidence().unwrap();
    f.vault.sign(request(), T0).unwrap();
}

#[test]
fn a_v2_store_is_migrated_to_v3_and_a_v3_store_without_its_journal_is_refused() {
    const META: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("meta");
    let format = |path: &std::path::Path| {
        use redb::ReadableDatabase as _;
        let db = redb::Database::open(path.join("vault.redb")).unwrap();
        let tx = db.begin_read().unwrap();
        let meta = tx.open_table(META).unwrap();
        meta.get("format").unwrap().unwrap().value().to_vec()
    };
    let f = fixture();
    let t = tenant("acme");
    let (owner, device) = enrol(&f.vault, &t);
    let key = f
        .vault
        .create_key(&t, owner, Algorithm::Ed25519, T0)
        .unwrap();
    let Fixture {
        vault,
        path,
        master_path,
        _dir,
    } = f;
    drop(vault);
    assert_eq!(format(&path), affix_vault::STORE_FORMAT);
    // What a v2 build left: its mark and no journal.
    {
        let db = redb::Database::open(path.join("vault.redb")).unwrap();
        let tx = db.begin_write().unwrap();
        tx.open_table(META)
            .unwrap()
            .insert("format", b"affix-vault/v2".as_slice())
            .unwrap();
        tx.commit().unwrap();
    }
    std::fs::remove_dir_all(path.join("journal")).unwrap();
    let vault = Vault::open(&path, master(&master_path), VaultConfig::default()).unwrap();
    let payload = Payload::Message(b"after the migration".to_vec());
    vault
        .sign(sign_request(&t, key.id, payload, &device, T0), T0)
        .unwrap();
    drop(vault);
    assert_eq!(format(&path), b"affix-vault/v3");
    assert!(path.join("journal").is_dir());
    // A v3 store whose journal is gone may have lost acknowledged signatures: refused.
    std::fs::remove_dir_all(path.join("journal")).unwrap();
    let refused = Vault::open(&path, master(&master_path), VaultConfig::default());
    assert!(
        matches!(&refused, Err(Error::Store(StoreError::JournalMissing(_)))),
        "{:?}",
        refused.err()
    );
}

/// A statement by `device` authorizing the revocation of `credential`.
fn revocation(
    t: &TenantId,
    device: &DeviceKey,
    credential: affix_vault::CredentialId,
    now: u64,
) -> affix_vault::Authorization {
    let statement = UnboundStatement::for_action(
        t,
        Action::RevokeCredential,
        None,
        Sha256::digest(credential.0).into(),
        now,
        60_000,
    )
    .unwrap();
    device.authorize(statement)
}

#[test]
fn a_revoked_credential_authorizes_nothing_and_its_revocation_is_evidence() {
    let f = fixture();
    let t = tenant("acme");
    let (owner, phone) = enrol(&f.vault, &t);
    let (_, stranger) = enrol(&f.vault, &t);
    // A second credential, registered with the first one's authorization.
    let mut laptop = DeviceKey::generate().unwrap();
    let stmt = UnboundStatement::for_action(
        &t,
        Action::RegisterCredential,
        None,
        credential_digest(CredentialKind::Ed25519, &laptop.public_key()),
        T0,
        60_000,
    )
    .unwrap();
    laptop.credential = Some(
        f.vault
            .register_credential(
                &t,
                owner,
                CredentialKind::Ed25519,
                &laptop.public_key(),
                Some(&phone.authorize(stmt)),
                T0,
            )
            .unwrap(),
    );
    let laptop_id = laptop.credential.unwrap();
    let key = f
        .vault
        .create_key(&t, owner, Algorithm::Ed25519, T0)
        .unwrap();
    let doc = |n: u8| Payload::Message(vec![n; 8]);
    f.vault
        .sign(sign_request(&t, key.id, doc(1), &laptop, T0), T0)
        .unwrap();

    // Refusals that change nothing: an unknown credential, another owner's, one in a
    // tenant that does not exist, an authorization of another revocation, a stranger's.
    let before = f.vault.evidence_len();
    let unknown = affix_vault::CredentialId([7; 16]);
    assert!(matches!(
        f.vault
            .revoke_credential(&t, owner, unknown, &revocation(&t, &phone, unknown, T0), T0),
        Err(Error::CredentialNotFound(_))
    ));
    let strangers = stranger.credential.unwrap();
    assert!(matches!(
        f.vault.revoke_credential(
            &t,
            owner,
            strangers,
            &revocation(&t, &phone, strangers, T0),
            T0
        ),
        Err(Error::CredentialNotFound(_))
    ));
    let nowhere = tenant("nowhere");
    assert!(matches!(
        f.vault.revoke_credential(
            &nowhere,
            owner,
            laptop_id,
            &revocation(&nowhere, &phone, laptop_id, T0),
            T0
        ),
        Err(Error::CredentialNotFound(_))
    ));
    assert!(matches!(
        f.vault.revoke_credential(
            &t,
            owner,
            laptop_id,
            &revocation(&t, &phone, strangers, T0),
            T0
        ),
        Err(Error::AuthorizationRefused(Refusal::DigestMismatch))
    ));
    assert!(matches!(
        f.vault.revoke_credential(
            &t,
            owner,
            laptop_id,
            &revocation(&t, &stranger, laptop_id, T0),
            T0
        ),
        Err(Error::AuthorizationRefused(Refusal::NotOwnersCredential))
    ));
    assert_eq!(f.vault.evidence_len(), before, "a refusal records nothing");

    // The phone revokes the laptop; the revocation is in the owner's audit trail.
    let authorization = revocation(&t, &phone, laptop_id, T0 + 1);
    f.vault
        .revoke_credential(&t, owner, laptop_id, &authorization, T0 + 1)
        .unwrap();
    let audit = f.vault.audit_owner(&t, owner, 100).unwrap();
    let last = &audit.last().unwrap().record;
    assert_eq!(last.kind(), "vault.credential.revoked");
    assert_eq!(last.subject(), format!("owner:{owner}"));
    let meta: Vec<(&str, &str)> = last
        .metadata()
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let via = format!("credential:{}", phone.credential.unwrap());
    assert!(meta.contains(&("credential", laptop_id.to_string().as_str())));
    assert!(meta.contains(&("via", via.as_str())));
    assert!(meta.contains(&("tenant", "acme")));
    assert!(last.covers(&authorization.statement.to_bytes(), Some("authorization")));
    // Revoking it again, even with the same authorization, is refused.
    assert!(matches!(
        f.vault
            .revoke_credential(&t, owner, laptop_id, &authorization, T0 + 2),
        Err(Error::AlreadyExists {
            what: "revocation",
            ..
        })
    ));

    // Nothing the laptop authorizes is accepted any more; the phone still signs.
    let refused_as_revoked = |vault: &Vault, now: u64| {
        assert!(matches!(
            vault.sign(sign_request(&t, key.id, doc(2), &laptop, now), now),
            Err(Error::AuthorizationRefused(Refusal::CredentialRevoked))
        ));
        let disable = UnboundStatement::for_action(
            &t,
            Action::Disable,
            Some(key.id),
            Sha256::digest(key.id.0).into(),
            now,
            60_000,
        )
        .unwrap();
        assert!(matches!(
            vault.disable(&t, &key.id, &laptop.authorize(disable), now),
            Err(Error::AuthorizationRefused(Refusal::CredentialRevoked))
        ));
        assert!(!vault.key(&t, &key.id).unwrap().disabled);
        // Revoking twice is its own error, before any authorization is looked at.
        assert!(matches!(
            vault.revoke_credential(
                &t,
                owner,
                laptop_id,
                &revocation(&t, &phone, laptop_id, now),
                now
            ),
            Err(Error::AlreadyExists {
                what: "revocation",
                ..
            })
        ));
        vault
            .sign(sign_request(&t, key.id, doc(3), &phone, now), now)
            .unwrap();
    };
    refused_as_revoked(&f.vault, T0 + 3);

    // Also after the vault is reopened.
    let Fixture {
        vault,
        path,
        master_path,
        _dir,
    } = f;
    drop(vault);
    let vault = Vault::open(&path, master(&master_path), VaultConfig::default()).unwrap();
    refused_as_revoked(&vault, T0 + 4);

    // An owner may revoke its last credential, with that credential; no enrolment then
    // binds a new one (only a recovery does).
    let phone_id = phone.credential.unwrap();
    vault
        .revoke_credential(
            &t,
            owner,
            phone_id,
            &revocation(&t, &phone, phone_id, T0 + 5),
            T0 + 5,
        )
        .unwrap();
    let intruder = DeviceKey::generate().unwrap();
    assert!(matches!(
        vault.register_credential(
            &t,
            owner,
            CredentialKind::Ed25519,
            &intruder.public_key(),
            None,
            T0 + 6
        ),
        Err(Error::AuthorizationRefused(Refusal::AuthorizationRequired))
    ));
    assert!(matches!(
        vault.sign(sign_request(&t, key.id, doc(4), &phone, T0 + 6), T0 + 6),
        Err(Error::AuthorizationRefused(Refusal::CredentialRevoked))
    ));
    let kinds: Vec<String> = vault
        .audit_owner(&t, owner, 100)
        .unwrap()
        .iter()
        .map(|e| e.record.kind().to_owned())
        .collect();
    assert_eq!(
        kinds,
        [
            "vault.credential.registered",
            "vault.credential.registered",
            "vault.credential.revoked",
            "vault.credential.revoked"
        ]
    );
}
