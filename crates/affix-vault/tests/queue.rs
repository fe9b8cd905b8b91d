//! The signing queue from the outside: concurrent single requests, each answered on its
//! own (a forged one fails alone), a bounded queue that refuses when full, and a queue
//! that signs what it holds before it stops.
#![allow(clippy::unwrap_used)]

use affix_seal::{KeyFileMaster, MasterKey};
use affix_vault::{
    Algorithm, CredentialKind, DeviceKey, Error, OwnerId, Payload, Refusal, SignQueue,
    SignQueueConfig, SignRequest, TenantId, UnboundStatement, Vault, VaultConfig, verify,
};
use std::sync::Arc;
use std::sync::mpsc;

const T0: u64 = 1_795_000_000_000;

struct Fixture {
    vault: Arc<Vault>,
    tenant: TenantId,
    device: DeviceKey,
    key: affix_vault::KeyInfo,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let master_path = dir.path().join("master.key");
    let master: Arc<dyn MasterKey> = Arc::new(KeyFileMaster::create(&master_path).unwrap());
    let vault = Arc::new(
        Vault::create(
            &dir.path().join("vault"),
            master,
            "test.affix.local/vault",
            VaultConfig::default(),
        )
        .unwrap(),
    );
    let tenant = TenantId::new("acme").unwrap();
    let owner = OwnerId::random().unwrap();
    let mut device = DeviceKey::generate().unwrap();
    device.credential = Some(
        vault
            .register_credential(
                &tenant,
                owner,
                CredentialKind::Ed25519,
                &device.public_key(),
                None,
                T0,
            )
            .unwrap(),
    );
    let key = vault
        .create_key(&tenant, owner, Algorithm::Ed25519, T0)
        .unwrap();
    Fixture {
        vault,
        tenant,
        device,
        key,
        _dir: dir,
    }
}

fn request(f: &Fixture, i: usize) -> SignRequest {
    let payload = Payload::Message(format!("contract {i}").into_bytes());
    let statement =
        UnboundStatement::for_signing(&f.tenant, f.key.id, &payload, None, T0, 60_000).unwrap();
    SignRequest {
        tenant: f.tenant.clone(),
        key: f.key.id,
        payload,
        authorization: f.device.authorize(statement),
    }
}

fn queue(f: &Fixture, workers: usize, capacity: usize) -> SignQueue {
    SignQueue::start(
        f.vault.clone(),
        Arc::new(|| T0),
        SignQueueConfig::new(workers, 64, capacity),
    )
    .unwrap()
}

#[test]
fn concurrent_single_requests_are_each_answered_and_a_forged_one_fails_alone() {
    let f = fixture();
    let q = queue(&f, 2, 1024);
    let (tx, rx) = mpsc::channel();
    for i in 0..200 {
        let mut r = request(&f, i);
        if i == 77 {
            r.authorization.signature[3] ^= 0x01;
        }
        let tx = tx.clone();
        q.submit(r, move |result| tx.send((i, result)).unwrap())
            .unwrap();
    }
    drop(tx);
    let mut answers: Vec<_> = rx.iter().collect();
    answers.sort_by_key(|(i, _)| *i);
    assert_eq!(answers.len(), 200, "every request is answered exactly once");
    let mut leaves = std::collections::HashSet::new();
    for (i, result) in answers {
        if i == 77 {
            assert!(
                matches!(
                    result,
                    Err(Error::AuthorizationRefused(Refusal::SignatureInvalid))
                ),
                "the forged one"
            );
            continue;
        }
        let signed = result.unwrap();
        let payload = Payload::Message(format!("contract {i}").into_bytes());
        verify(
            Algorithm::Ed25519,
            &f.key.public_key,
            &payload,
            &signed.signature.bytes,
        )
        .unwrap();
        assert!(
            leaves.insert(signed.evidence_leaf),
            "one record per signature"
        );
    }
    // Blocking form, and the record of every signature is in the evidence log.
    let signed = q.sign(request(&f, 1000)).unwrap();
    f.vault.flush_evidence().unwrap();
    assert!(signed.evidence_leaf < f.vault.evidence_len());
    let audit = f.vault.audit_key(&f.tenant, &f.key.id, 0, 1000).unwrap();
    let signed_records = audit
        .iter()
        .filter(|e| e.record.kind() == "vault.key.signed")
        .count();
    assert_eq!(signed_records, 200, "199 from the batch and 1 blocking");
}

#[test]
fn a_full_queue_refuses_with_busy_and_loses_nothing_it_accepted() {
    let f = fixture();
    let q = queue(&f, 1, 2);
    // Hold the only worker inside the first reply until the test lets it go.
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (first_tx, first_rx) = mpsc::channel();
    q.submit(request(&f, 0), move |result| {
        first_tx.send(result.is_ok()).unwrap();
        release_rx.recv().unwrap();
    })
    .unwrap();
    assert!(first_rx.recv().unwrap(), "the first request was signed");
    // The worker is now blocked; two requests fill the queue, the third is refused.
    let (tx, rx) = mpsc::channel();
    for i in 1..=2 {
        let tx = tx.clone();
        q.submit(request(&f, i), move |r| tx.send(r.is_ok()).unwrap())
            .unwrap();
    }
    assert_eq!(q.waiting(), 2);
    let refused = q.submit(request(&f, 3), |_| {
        panic!("a refused request is never answered")
    });
    assert!(matches!(refused, Err(Error::Busy(_))), "{refused:?}");
    release_tx.send(()).unwrap();
    drop(tx);
    assert_eq!(
        rx.iter().filter(|ok| *ok).count(),
        2,
        "both queued ones signed"
    );
}

#[test]
fn dropping_the_queue_signs_what_it_holds() {
    let f = fixture();
    let q = queue(&f, 1, 1024);
    let (tx, rx) = mpsc::channel();
    for i in 0..50 {
        let tx = tx.clone();
        q.submit(request(&f, i), move |r| tx.send(r.is_ok()).unwrap())
            .unwrap();
    }
    drop(q);
    drop(tx);
    assert_eq!(rx.iter().filter(|ok| *ok).count(), 50);
}

#[test]
fn a_bad_configuration_is_refused() {
    let f = fixture();
    for config in [
        SignQueueConfig::new(0, 64, 10),
        SignQueueConfig::new(1, 0, 10),
        SignQueueConfig::new(1, 64, 0),
        SignQueueConfig::new(1, affix_vault::BATCH_REQUESTS_MAX + 1, 10),
    ] {
        assert!(SignQueue::start(f.vault.clone(), Arc::new(|| T0), config).is_err());
    }
}

#[test]
fn a_panicking_reply_does_not_stop_the_queue() {
    let f = fixture();
    let q = queue(&f, 1, 16);
    q.submit(request(&f, 0), |_| panic!("a careless caller"))
        .unwrap();
    // The single worker survived and signs the next request.
    assert!(q.sign(request(&f, 1)).is_ok());
}
