//! A signing process killed with SIGKILL: reopening the vault finds every returned
//! signature's usage record at its leaf, and every authorization it spent stays spent;
//! a torn last journal append (what a crash in the middle of the write leaves) loses only
//! that unacknowledged batch.
#![allow(clippy::unwrap_used)]

use affix_seal::{KeyFileMaster, MasterKey};
use affix_vault::{
    Action, Algorithm, Authorization, CredentialId, CredentialKind, DeviceKey, Error, KeyId,
    OwnerId, Payload, Refusal, SignRequest, TenantId, UnboundStatement, Vault, VaultConfig,
};
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

const T0: u64 = 1_795_000_000_000;
/// Set in the child process: the directory of the vault it signs with.
const CHILD_ENV: &str = "AFFIX_VAULT_CRASH_CHILD";
const DEVICE_SEED: [u8; 32] = [7; 32];
/// Signatures the child makes before (drained into the log) and after (not drained
/// when it is killed) its pause; after those, it signs one more alone (`LAST`: the last
/// journal frame).
const BEFORE: u8 = 8;
const AFTER: u8 = 24;
const LAST: u8 = BEFORE + AFTER;
/// Bytes of a journal segment's header block, and of a frame's header (docs/formats.md).
const SEGMENT_HEADER_BYTES: usize = 4096;
const FRAME_HEADER_BYTES: usize = 64;

fn master(dir: &Path) -> Arc<dyn MasterKey> {
    Arc::new(KeyFileMaster::open(&dir.join("master.key")).unwrap())
}

/// The same authorization every time for nonce `n`: what a replaying attacker holds.
fn request(key: KeyId, credential: CredentialId, n: u8) -> SignRequest {
    let tenant = TenantId::new("acme").unwrap();
    let payload = Payload::Message(format!("clause {n}").into_bytes());
    let statement = UnboundStatement {
        tenant: tenant.clone(),
        action: Action::Sign,
        key: Some(key),
        payload_kind: payload.kind_code(),
        digest: payload.digest(),
        grant: None,
        nonce: [n; 16],
        expires_ms: T0 + 240_000,
    };
    let mut device = DeviceKey::from_seed(&DEVICE_SEED);
    device.credential = Some(credential);
    let authorization: Authorization = device.authorize(statement);
    SignRequest {
        tenant,
        key,
        payload,
        authorization,
    }
}

fn ids(dir: &Path) -> (KeyId, CredentialId) {
    let text = std::fs::read_to_string(dir.join("ids")).unwrap();
    let (key, credential) = text.split_once(' ').unwrap();
    (
        KeyId::parse(key).unwrap(),
        CredentialId::parse(credential).unwrap(),
    )
}

/// The child: signs `BEFORE` signatures and waits until the log holds them, then,
/// holding the evidence log (so the drainer cannot move anything into it), signs `AFTER`
/// more in one batch and `LAST` alone, prints every leaf, and waits to be killed.
fn child(dir: &Path) -> ! {
    let vault = Vault::open(&dir.join("vault"), master(dir), VaultConfig::default()).unwrap();
    let (key, credential) = ids(dir);
    let mut out = std::io::stdout();
    for n in 0..BEFORE {
        let signed = vault.sign(request(key, credential, n), T0).unwrap();
        writeln!(out, "signed {n} {}", signed.evidence_leaf).unwrap();
    }
    vault.flush_evidence().unwrap();
    // Hold the evidence log from here on: the drainer cannot move these into it.
    vault.with_evidence(|_| {
        let batch = (BEFORE..BEFORE + AFTER)
            .map(|n| request(key, credential, n))
            .collect();
        for (n, signed) in (BEFORE..).zip(vault.sign_many(batch, T0)) {
            writeln!(out, "signed {n} {}", signed.unwrap().evidence_leaf).unwrap();
        }
        let last = vault.sign(request(key, credential, LAST), T0).unwrap();
        writeln!(out, "signed {LAST} {}", last.evidence_leaf).unwrap();
        writeln!(out, "ready").unwrap();
        out.flush().unwrap();
        loop {
            std::thread::sleep(std::time::Duration::from_secs(60));
        }
    })
}

/// Creates a vault with one key, runs the child (as test `test`) until it is ready and
/// SIGKILLs it: the key and the leaves of the child's returned signatures, in order.
fn sign_and_kill(dir: &Path, test: &str) -> (KeyId, Vec<u64>) {
    KeyFileMaster::create(&dir.join("master.key")).unwrap();
    let tenant = TenantId::new("acme").unwrap();
    let key = {
        let vault = Vault::create(
            &dir.join("vault"),
            master(dir),
            "test.affix.local/vault",
            VaultConfig::default(),
        )
        .unwrap();
        let owner = OwnerId::random().unwrap();
        let credential = vault
            .register_credential(
                &tenant,
                owner,
                CredentialKind::Ed25519,
                &DeviceKey::from_seed(&DEVICE_SEED).public_key(),
                None,
                T0,
            )
            .unwrap();
        let key = vault
            .create_key(&tenant, owner, Algorithm::Ed25519, T0)
            .unwrap();
        std::fs::write(dir.join("ids"), format!("{} {credential}", key.id)).unwrap();
        key.id
    };

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, dir)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut leaves = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        // The test harness prints its own words before the child's on the first line.
        if line.ends_with("ready") {
            break;
        }
        if let Some((_, rest)) = line.split_once("signed ") {
            let (_, leaf) = rest.split_once(' ').unwrap();
            leaves.push(leaf.parse::<u64>().unwrap());
        }
    }
    child.kill().unwrap(); // SIGKILL: no destructor runs, the drainer stops where it is
    child.wait().unwrap();
    assert_eq!(leaves.len(), usize::from(LAST) + 1, "the child signed");
    (key, leaves)
}

#[test]
fn a_killed_signing_process_loses_no_usage_record_and_no_spent_nonce() {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        child(Path::new(&dir));
    }
    let dir = tempfile::tempdir().unwrap();
    let tenant = TenantId::new("acme").unwrap();
    let (key, leaves) = sign_and_kill(
        dir.path(),
        "a_killed_signing_process_loses_no_usage_record_and_no_spent_nonce",
    );

    // The last signatures were returned with their records in the journal only.
    let logged = affix_logstore::LogStore::open(&dir.path().join("vault/evidence"))
        .unwrap()
        .size()
        .0;
    assert!(logged > leaves[usize::from(BEFORE) - 1]);
    assert!(logged <= leaves[usize::from(BEFORE)]);

    let vault = Vault::open(
        &dir.path().join("vault"),
        master(dir.path()),
        VaultConfig::default(),
    )
    .unwrap();
    let (_, credential) = ids(dir.path());
    // Every returned signature has its usage record, at the leaf it was told.
    let audit: Vec<(u64, String)> = vault
        .audit_key(&tenant, &key, 0, 1000)
        .unwrap()
        .into_iter()
        .filter(|e| e.record.kind() == "vault.key.signed")
        .map(|e| (e.leaf, e.record.subject().to_owned()))
        .collect();
    assert_eq!(
        audit.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
        leaves,
        "every returned signature is in the log"
    );
    // No authorization the killed process spent can be used again, one by one or in a
    // batch.
    for n in 0..=LAST {
        let replay = vault.sign(request(key, credential, n), T0 + 1);
        assert!(
            matches!(&replay, Err(Error::AuthorizationRefused(Refusal::Replayed))),
            "replay {n}: {replay:?}"
        );
    }
    let batch = (0..=LAST).map(|n| request(key, credential, n)).collect();
    assert!(
        vault
            .sign_many(batch, T0 + 2)
            .iter()
            .all(|r| matches!(r, Err(Error::AuthorizationRefused(Refusal::Replayed))))
    );
    // A fresh authorization still signs, after the recovered records.
    let fresh = vault.sign(request(key, credential, 200), T0 + 3).unwrap();
    assert!(fresh.evidence_leaf > *leaves.last().unwrap());

    // And again after a clean close and reopen (the nonces now come from the journal
    // written before the kill and after it).
    drop(vault);
    let vault = Vault::open(
        &dir.path().join("vault"),
        master(dir.path()),
        VaultConfig::default(),
    )
    .unwrap();
    for n in [0, BEFORE, LAST, 200] {
        assert!(matches!(
            vault.sign(request(key, credential, n), T0 + 4),
            Err(Error::AuthorizationRefused(Refusal::Replayed))
        ));
    }
}

/// The frames of the journal segment with the highest sequence number: (offset, bytes).
/// Reads the layout in docs/formats.md; the segment was a new file, so zeros follow its
/// last frame.
fn last_segment_frames(journal: &Path) -> (std::path::PathBuf, Vec<(usize, usize)>) {
    let mut best: Option<(u64, std::path::PathBuf)> = None;
    for entry in std::fs::read_dir(journal).unwrap() {
        let path = entry.unwrap().path();
        if !path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("segment-")
        {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        if !bytes.starts_with(b"affix-vault/journal/v1\0") {
            continue; // a spare
        }
        let seq = u64::from_be_bytes(bytes[23..31].try_into().unwrap());
        if best.as_ref().is_none_or(|(s, _)| seq > *s) {
            best = Some((seq, path));
        }
    }
    let (_, path) = best.unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let mut frames = Vec::new();
    let mut offset = SEGMENT_HEADER_BYTES;
    loop {
        let payload = u32::from_be_bytes(bytes[offset..offset + 4].try_into().unwrap()) as usize;
        if payload == 0 {
            break;
        }
        frames.push((offset, FRAME_HEADER_BYTES + payload));
        offset += FRAME_HEADER_BYTES + payload;
    }
    (path, frames)
}

#[test]
fn a_torn_last_journal_append_loses_only_that_unacknowledged_batch() {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        child(Path::new(&dir));
    }
    let dir = tempfile::tempdir().unwrap();
    let tenant = TenantId::new("acme").unwrap();
    let (key, leaves) = sign_and_kill(
        dir.path(),
        "a_torn_last_journal_append_loses_only_that_unacknowledged_batch",
    );
    // The child's segment: one frame per single signature, one for the batch.
    let journal = dir.path().join("vault/journal");
    let (segment, frames) = last_segment_frames(&journal);
    assert_eq!(frames.len(), usize::from(BEFORE) + 2);
    // Tear the last append as a crash in the middle of the write would: its second half
    // never reached the disk (the blocks keep what they held: zeros). That signature was
    // therefore never returned; treat `LAST` as unacknowledged.
    let (offset, len) = *frames.last().unwrap();
    {
        use std::os::unix::fs::FileExt as _;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&segment)
            .unwrap();
        file.write_all_at(&vec![0u8; len / 2], (offset + len - len / 2) as u64)
            .unwrap();
        file.sync_all().unwrap();
    }

    let vault = Vault::open(
        &dir.path().join("vault"),
        master(dir.path()),
        VaultConfig::default(),
    )
    .unwrap();
    let (_, credential) = ids(dir.path());
    let acknowledged = &leaves[..usize::from(LAST)];
    let torn_leaf = leaves[usize::from(LAST)];
    let audit: Vec<u64> = vault
        .audit_key(&tenant, &key, 0, 1000)
        .unwrap()
        .into_iter()
        .filter(|e| e.record.kind() == "vault.key.signed")
        .map(|e| e.leaf)
        .collect();
    assert_eq!(
        audit, acknowledged,
        "every other signature keeps its record"
    );
    // Every other authorization stays spent.
    for n in 0..LAST {
        assert!(
            matches!(
                vault.sign(request(key, credential, n), T0 + 1),
                Err(Error::AuthorizationRefused(Refusal::Replayed))
            ),
            "replay {n}"
        );
    }
    // The torn batch left nothing: its authorization was never spent (its caller got no
    // signature and may retry), and its leaf is the next one, so the log has no hole.
    let retried = vault.sign(request(key, credential, LAST), T0 + 2).unwrap();
    assert_eq!(retried.evidence_leaf, torn_leaf);
    vault.flush_evidence().unwrap();
    drop(vault);

    // A journal segment that lost bytes is corruption, not a crash (segments never change
    // size): the vault refuses to open rather than drop what the segment held.
    let (segment, _) = last_segment_frames(&journal);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .unwrap()
        .set_len(SEGMENT_HEADER_BYTES as u64 * 2)
        .unwrap();
    assert!(
        Vault::open(
            &dir.path().join("vault"),
            master(dir.path()),
            VaultConfig::default()
        )
        .is_err()
    );
}
