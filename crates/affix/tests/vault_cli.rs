//! `affix vault ...` as a process: round trip, and SIGKILL during key creation and
//! master-key rotation (what was printed was acknowledged, and survives).

#![allow(clippy::unwrap_used, missing_docs, clippy::zombie_processes)]

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use affix_vault::{
    Algorithm, DeviceKey, KeyId, OwnerId, Payload, SignRequest, TenantId, Vault, VaultConfig,
};

fn affix() -> Command {
    Command::new(env!("CARGO_BIN_EXE_affix"))
}

fn run(args: &[&str]) -> Output {
    affix().args(args).output().expect("run affix")
}

/// Runs affix and returns stdout; panics with stderr on failure.
fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "affix {args:?} failed ({:?}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn field<'a>(text: &'a str, name: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

struct Fixture {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    master: PathBuf,
    root: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        let dir = root.join("vault");
        let master = root.join("master.key");
        let out = ok(&[
            "vault",
            "init",
            "--dir",
            s(&dir),
            "--master-file",
            s(&master),
            "--create-master",
        ]);
        assert!(out.contains("vault created in"), "{out}");
        assert!(out.contains("vault.affix.local/vault"), "{out}");
        Self {
            _tmp: tmp,
            dir,
            master,
            root,
        }
    }

    /// `--dir D --master-file M`.
    fn vault_args(&self) -> Vec<String> {
        vec![
            "--dir".into(),
            s(&self.dir).into(),
            "--master-file".into(),
            s(&self.master).into(),
        ]
    }

    fn cmd(&self, sub: &str, extra: &[&str]) -> Vec<String> {
        let mut v = vec!["vault".to_owned(), sub.to_owned()];
        v.extend(self.vault_args());
        v.extend(extra.iter().map(|x| (*x).to_owned()));
        v
    }

    fn ok(&self, sub: &str, extra: &[&str]) -> String {
        let v = self.cmd(sub, extra);
        ok(&v.iter().map(String::as_str).collect::<Vec<_>>())
    }

    fn run(&self, sub: &str, extra: &[&str]) -> Output {
        let v = self.cmd(sub, extra);
        run(&v.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// Enrols a new owner of `tenant`; returns (owner, device file).
    fn enroll(&self, tenant: &str, name: &str) -> (String, PathBuf) {
        let device = self.root.join(name);
        let out = self.ok(
            "enroll",
            &[
                "--tenant",
                tenant,
                "--new-owner",
                "--device-out",
                s(&device),
            ],
        );
        (field(&out, "owner").to_owned(), device)
    }

    fn open(&self) -> Vault {
        let master = Arc::new(affix_seal::KeyFileMaster::open(&self.master).unwrap());
        Vault::open(&self.dir, master, VaultConfig::default()).unwrap()
    }
}

impl Fixture {
    /// Writes recovery.toml (a 4 s window, no rate limit) with a platform approver and
    /// one authority, "notary"; returns their approver key files.
    fn recovery_policy(&self) -> (PathBuf, PathBuf) {
        let approver = |name: &str| {
            let path = self.root.join(name);
            let out = ok(&["vault", "recover", "approver-key", "--out", s(&path)]);
            (path, field(&out, "public-key").to_owned())
        };
        let (platform, platform_key) = approver("platform.approver");
        let (notary, notary_key) = approver("notary.approver");
        std::fs::remove_file(self.dir.join("recovery.toml")).unwrap();
        std::fs::write(
            self.dir.join("recovery.toml"),
            format!(
                "window_ms = 4000\nmin_interval_ms = 0\nplatform_key = \"{platform_key}\"\n\
                 [[authorities]]\nname = \"notary\"\nkey = \"{notary_key}\"\n"
            ),
        )
        .unwrap();
        (platform, notary)
    }

    /// `recover set-code` with the owner's device: the code, printed once.
    fn set_code(&self, device: &Path) -> String {
        let mut v = vec![
            "vault".to_owned(),
            "recover".to_owned(),
            "set-code".to_owned(),
        ];
        v.extend(self.vault_args());
        v.extend(["--device".to_owned(), s(device).to_owned()]);
        let out = ok(&v.iter().map(String::as_str).collect::<Vec<_>>());
        field(&out, "recovery-code").to_owned()
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The device key in a device-key file written by the CLI.
fn device_key(path: &Path) -> DeviceKey {
    let text = std::fs::read_to_string(path).unwrap();
    let mut seed = [0u8; 32];
    hex::decode_to_slice(field(&text, "seed"), &mut seed).unwrap();
    let mut key = DeviceKey::from_seed(&seed);
    key.credential = Some(affix_vault::CredentialId::parse(field(&text, "credential")).unwrap());
    key
}

#[test]
fn round_trip_every_algorithm_then_disable_refuses() {
    let fx = Fixture::new();
    let (owner, device) = fx.enroll("acme", "alice.device");
    let mode = std::fs::metadata(&device).unwrap().permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o600
    );
    // Never overwritten.
    let again = fx.run(
        "enroll",
        &[
            "--tenant",
            "acme",
            "--owner",
            &owner,
            "--device-out",
            s(&device),
        ],
    );
    assert_eq!(again.status.code(), Some(1));

    let message = fx.root.join("contract.txt");
    std::fs::write(&message, b"loan agreement v1").unwrap();
    let mut last_key = String::new();
    for alg in ["ed25519", "ecdsa-p256", "ecdsa-secp256k1", "sm2"] {
        let out = fx.ok(
            "create",
            &["--tenant", "acme", "--owner", &owner, "--alg", alg],
        );
        let parts: Vec<&str> = out.trim().split(' ').collect();
        assert_eq!(parts.len(), 3, "{out}");
        assert_eq!(parts[1], alg);
        let (key, public_key) = (parts[0].to_owned(), hex::decode(parts[2]).unwrap());
        let algorithm = Algorithm::from_name(alg).unwrap();

        let signed = fx.ok(
            "sign",
            &["--key", &key, "--device", s(&device), "--in", s(&message)],
        );
        let signature = hex::decode(field(&signed, "signature")).unwrap();
        let payload = Payload::Message(b"loan agreement v1".to_vec());
        affix_vault::verify(algorithm, &public_key, &payload, &signature).unwrap();
        assert_eq!(
            signed.contains("recovery-id"),
            alg == "ecdsa-secp256k1",
            "{signed}"
        );
        if algorithm.signs_prehash() {
            let digest = [0x5a; 32];
            let signed = fx.ok(
                "sign",
                &[
                    "--key",
                    &key,
                    "--device",
                    s(&device),
                    "--prehash",
                    &hex::encode(digest),
                ],
            );
            let signature = hex::decode(field(&signed, "signature")).unwrap();
            affix_vault::verify(
                algorithm,
                &public_key,
                &Payload::Prehash(digest),
                &signature,
            )
            .unwrap();
        } else {
            let refused = fx.run(
                "sign",
                &[
                    "--key",
                    &key,
                    "--device",
                    s(&device),
                    "--prehash",
                    &"11".repeat(32),
                ],
            );
            assert_eq!(refused.status.code(), Some(1));
        }

        let audit = fx.ok("audit", &["--tenant", "acme", "--key", &key]);
        assert!(audit.contains("vault.key.created"), "{audit}");
        assert!(audit.contains("vault.key.signed"), "{audit}");
        assert!(
            audit
                .lines()
                .all(|l| l.split('\t').nth(2).is_some_and(|t| t.ends_with('Z'))),
            "{audit}"
        );
        let show = fx.ok("show", &["--tenant", "acme", "--key", &key]);
        assert_eq!(field(&show, "algorithm"), alg);
        assert_eq!(field(&show, "disabled"), "false");
        last_key = key;
    }

    // Another tenant does not see the key.
    let other = fx.run("show", &["--tenant", "globex", "--key", &last_key]);
    assert_eq!(other.status.code(), Some(1));

    fx.ok("disable", &["--key", &last_key, "--device", s(&device)]);
    let refused = fx.run(
        "sign",
        &[
            "--key",
            &last_key,
            "--device",
            s(&device),
            "--in",
            s(&message),
        ],
    );
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("signing refused") && stderr.contains("disabled"),
        "{stderr}"
    );
    let audit = fx.ok("audit", &["--tenant", "acme", "--key", &last_key]);
    assert!(audit.contains("vault.key.disabled"), "{audit}");

    // Usage errors exit 2: no master key, two master keys.
    let none = run(&[
        "vault",
        "show",
        "--dir",
        s(&fx.dir),
        "--tenant",
        "acme",
        "--key",
        &last_key,
    ]);
    assert_eq!(
        none.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&none.stderr)
    );
    let two = fx.run(
        "show",
        &[
            "--tenant",
            "acme",
            "--key",
            &last_key,
            "--passphrase-env",
            "X",
        ],
    );
    assert_eq!(two.status.code(), Some(2));
    let bad_alg = fx.run(
        "create",
        &["--tenant", "acme", "--owner", &owner, "--alg", "rsa"],
    );
    assert_eq!(bad_alg.status.code(), Some(2));
}

/// Reads `create`'s stdout until `at_least` keys were printed, kills the process, and
/// returns every complete line it printed (including what was in the pipe).
fn create_and_kill(fx: &Fixture, owner: &str, at_least: usize) -> Vec<String> {
    let args = fx.cmd(
        "create",
        &[
            "--tenant", "acme", "--owner", owner, "--alg", "ed25519", "--count", "200000",
        ],
    );
    let mut child = affix()
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    let mut line = String::new();
    while lines.len() < at_least {
        line.clear();
        let n = reader.read_line(&mut line).unwrap();
        assert!(n > 0, "create ended before {at_least} keys");
        assert!(line.ends_with('\n'));
        lines.push(line.trim_end().to_owned());
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let mut rest = String::new();
    reader.read_to_string(&mut rest).unwrap();
    let complete = rest.rfind('\n').map_or("", |i| &rest[..i]);
    lines.extend(complete.lines().map(str::to_owned));
    lines
}

#[test]
fn killed_during_creation_keeps_every_printed_key() {
    let fx = Fixture::new();
    let (owner, device) = fx.enroll("acme", "owner.device");
    let device = device_key(&device);
    let tenant = TenantId::new("acme").unwrap();
    let owner = OwnerId::parse(&owner).unwrap();
    let mut printed = Vec::new();
    for at_least in [20_000, 5_000, 12_000] {
        printed.extend(create_and_kill(&fx, &owner.to_string(), at_least));
        let vault = fx.open();
        assert!(vault.key_count().unwrap() >= printed.len() as u64);
        let now = now_ms();
        let mut requests = Vec::new();
        for line in &printed {
            let parts: Vec<&str> = line.split(' ').collect();
            let id = KeyId::parse(parts[0]).unwrap();
            let info = vault
                .key(&tenant, &id)
                .unwrap_or_else(|e| panic!("printed key {id} lost: {e}"));
            assert_eq!(hex::encode(&info.public_key), parts[2]);
            assert_eq!(info.owner, owner);
            let payload = Payload::Message(id.0.to_vec());
            let statement = affix_vault::UnboundStatement::for_signing(
                &tenant, id, &payload, None, now, 60_000,
            )
            .unwrap();
            requests.push(SignRequest {
                tenant: tenant.clone(),
                key: id,
                payload,
                authorization: device.authorize(statement),
            });
        }
        let mut results = Vec::new();
        while !requests.is_empty() {
            let rest = requests.split_off(requests.len().min(20_000));
            results.extend(vault.sign_many(requests, now));
            requests = rest;
        }
        for (line, r) in printed.iter().zip(&results) {
            let signed = r.as_ref().unwrap_or_else(|e| panic!("{line}: {e}"));
            let public_key = hex::decode(line.split(' ').nth(2).unwrap()).unwrap();
            let id = KeyId::parse(line.split(' ').next().unwrap()).unwrap();
            affix_vault::verify(
                Algorithm::Ed25519,
                &public_key,
                &Payload::Message(id.0.to_vec()),
                &signed.signature.bytes,
            )
            .unwrap();
        }
    }
    // The vault still creates keys after the crashes.
    let out = fx.ok(
        "create",
        &[
            "--tenant",
            "acme",
            "--owner",
            &owner.to_string(),
            "--alg",
            "ed25519",
        ],
    );
    assert_eq!(out.lines().count(), 1);
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        .try_into()
        .unwrap()
}

/// Reads the rotation's progress lines (`rotate: 10000/50000 keys (20%)`, printed in a pipe
/// with AFFIX_PROGRESS=lines) until one shows a partly rotated vault, then kills the
/// process.
fn rotate_and_kill(fx: &Fixture, new_master: &Path) {
    let args = fx.cmd(
        "rotate",
        &["--to-master-file", s(new_master), "--create-master"],
    );
    let mut child = affix()
        .args(&args)
        .env("AFFIX_PROGRESS", "lines")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let mut seen = String::new();
    let mut buf = [0u8; 256];
    loop {
        let n = stderr.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "rotation ended before it could be interrupted: {seen}"
        );
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        let partial = seen
            .lines()
            .filter_map(|p| p.strip_prefix("rotate: "))
            .filter_map(|p| p.split_whitespace().next())
            .any(|p| {
                let (done, total) = p.split_once('/').unwrap_or(("0", "0"));
                let (done, total): (u64, u64) =
                    (done.parse().unwrap_or(0), total.parse().unwrap_or(0));
                done > 0 && done < total
            });
        if partial {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn killed_during_rotation_resumes_and_old_master_is_refused() {
    let fx = Fixture::new();
    let (owner, device) = fx.enroll("acme", "owner.device");
    let device = device_key(&device);
    let out = fx.ok(
        "create",
        &[
            "--tenant", "acme", "--owner", &owner, "--alg", "ed25519", "--count", "50000",
        ],
    );
    let keys: Vec<(KeyId, Vec<u8>)> = out
        .lines()
        .map(|l| {
            let p: Vec<&str> = l.split(' ').collect();
            (KeyId::parse(p[0]).unwrap(), hex::decode(p[2]).unwrap())
        })
        .collect();
    assert_eq!(keys.len(), 50_000);
    let new_master = fx.root.join("new-master.key");
    rotate_and_kill(&fx, &new_master);

    // Interrupted: the old master still opens the vault; the same command resumes.
    drop(fx.open());
    let out = fx.ok(
        "rotate",
        &["--to-master-file", s(&new_master), "--create-master"],
    );
    assert!(out.contains("resumed"), "{out}");

    // Every key signs under the new master only.
    let master = Arc::new(affix_seal::KeyFileMaster::open(&new_master).unwrap());
    let vault = Vault::open(&fx.dir, master, VaultConfig::default()).unwrap();
    let tenant = TenantId::new("acme").unwrap();
    let now = now_ms();
    for chunk in keys.chunks(25_000) {
        let requests = chunk
            .iter()
            .map(|(id, _)| {
                let payload = Payload::Message(id.0.to_vec());
                let statement = affix_vault::UnboundStatement::for_signing(
                    &tenant, *id, &payload, None, now, 60_000,
                )
                .unwrap();
                SignRequest {
                    tenant: tenant.clone(),
                    key: *id,
                    payload,
                    authorization: device.authorize(statement),
                }
            })
            .collect();
        for ((id, public_key), r) in chunk.iter().zip(vault.sign_many(requests, now)) {
            let signed = r.unwrap_or_else(|e| panic!("{id}: {e}"));
            affix_vault::verify(
                Algorithm::Ed25519,
                public_key,
                &Payload::Message(id.0.to_vec()),
                &signed.signature.bytes,
            )
            .unwrap();
        }
    }
    drop(vault);

    let refused = fx.run(
        "show",
        &["--tenant", "acme", "--key", &keys[0].0.to_string()],
    );
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("new master key"), "{stderr}");
    let args = [
        "vault",
        "show",
        "--dir",
        s(&fx.dir),
        "--master-file",
        s(&new_master),
        "--tenant",
        "acme",
        "--key",
    ];
    let shown = ok(&[&args[..], &[keys[0].0.to_string().as_str()]].concat());
    assert_eq!(field(&shown, "public-key"), hex::encode(&keys[0].1));
}

/// `recover`: the owner's code set with their device (enrolment prints none), a notice
/// for the owner on every start, an authority's approval always needed besides the
/// platform's or the code's, the window, and the owner's cancellation.
#[test]
fn recovery_needs_the_authority_and_one_more_approval_and_the_window_and_can_be_cancelled() {
    let fx = Fixture::new();
    let (platform, notary) = fx.recovery_policy();
    let device = fx.root.join("old.device");
    let out = fx.ok(
        "enroll",
        &[
            "--tenant",
            "acme",
            "--new-owner",
            "--device-out",
            s(&device),
        ],
    );
    let owner = field(&out, "owner").to_owned();
    assert!(
        !out.contains("recovery-code"),
        "enrolment sets no code: {out}"
    );
    let code = fx.set_code(&device);
    assert_eq!(code.len(), 39, "{code}");
    let (key, _) = {
        let out = fx.ok(
            "create",
            &["--tenant", "acme", "--owner", &owner, "--alg", "ed25519"],
        );
        let p: Vec<String> = out.split(' ').map(str::to_owned).collect();
        (p[0].clone(), p[2].clone())
    };
    let recover = |extra: &[&str]| {
        let mut v = vec!["vault".to_owned(), "recover".to_owned()];
        v.push(extra[0].to_owned());
        v.extend(fx.vault_args());
        v.extend(extra[1..].iter().map(|x| (*x).to_owned()));
        affix().args(&v).env("CODE", &code).output().unwrap()
    };
    let started = |name: &str| {
        let out = recover(&[
            "start",
            "--tenant",
            "acme",
            "--owner",
            &owner,
            "--provider",
            "face-check",
            "--result-digest",
            &"ab".repeat(32),
            "--device-out",
            s(&fx.root.join(name)),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        field(&String::from_utf8(out.stdout).unwrap(), "recovery").to_owned()
    };

    // The owner, still holding a device, is told of the first attempt and cancels it.
    let first = started("first.device");
    let outbox = fx.dir.join("recovery-notices.jsonl");
    let notices = std::fs::read_to_string(&outbox).unwrap();
    let notice: serde_json::Value = serde_json::from_str(notices.lines().last().unwrap()).unwrap();
    assert_eq!(notice["recovery"], first.as_str());
    assert_eq!(notice["owner"], owner.as_str());
    assert_eq!(notice["purpose"], "bind-credential");
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&outbox).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let out = recover(&["cancel", "--id", &first, "--device", s(&device)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = recover(&[
        "approve",
        "--tenant",
        "acme",
        "--owner",
        &owner,
        "--id",
        &first,
        "--platform",
        "--approver-key",
        s(&platform),
    ]);
    assert_eq!(out.status.code(), Some(1));

    // Second attempt: one approval is not enough, nor the platform's and the code's
    // without an authority, nor is the window skipped.
    let second = started("second.device");
    assert_eq!(
        std::fs::read_to_string(&outbox).unwrap().lines().count(),
        2,
        "one notice per start"
    );
    let ids = ["--tenant", "acme", "--owner", &owner, "--id", &second];
    let out = recover(
        &[
            &["approve"],
            &ids[..],
            &["--platform", "--approver-key", s(&platform)],
        ]
        .concat(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (pending, registered) = (fx.root.join("second.device"), fx.root.join("new.device"));
    let complete = [
        &["complete"],
        &ids[..],
        &["--device", s(&pending), "--device-out", s(&registered)],
    ]
    .concat();
    let out = recover(&complete);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("recovery refused"));
    let out = recover(&[&["approve"], &ids[..], &["--code-env", "CODE"]].concat());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = recover(&complete);
    assert_eq!(out.status.code(), Some(1), "completed without an authority");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("authority"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = recover(
        &[
            &["approve"],
            &ids[..],
            &["--authority", "notary", "--approver-key", s(&notary)],
        ]
        .concat(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = recover(&complete);
    assert_eq!(out.status.code(), Some(1), "completed inside the window");
    std::thread::sleep(std::time::Duration::from_millis(4100));
    let out = recover(&complete);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The new device signs with the old key; the old device is revoked.
    let message = fx.root.join("m");
    std::fs::write(&message, b"after recovery").unwrap();
    fx.ok(
        "sign",
        &[
            "--key",
            &key,
            "--device",
            s(&fx.root.join("new.device")),
            "--in",
            s(&message),
        ],
    );
    let refused = fx.run(
        "sign",
        &["--key", &key, "--device", s(&device), "--in", s(&message)],
    );
    assert_eq!(refused.status.code(), Some(1));
}

/// A vault secp256k1 key is an Ethereum account: `show` prints its EIP-55 address, and
/// PyPI eth-account (an implementation we did not write) recovers exactly that address
/// from the vault's signature over the EIP-191 hash of a message.
#[test]
fn vault_secp256k1_signatures_recover_to_the_shown_ethereum_address() {
    let fx = Fixture::new();
    let (owner, device) = fx.enroll("acme", "eth.device");
    let out = fx.ok(
        "create",
        &[
            "--tenant",
            "acme",
            "--owner",
            &owner,
            "--alg",
            "ecdsa-secp256k1",
        ],
    );
    let key = out.split(' ').next().unwrap().to_owned();
    let shown = fx.ok("show", &["--tenant", "acme", "--key", &key]);
    let address = field(&shown, "ethereum-address").to_owned();
    assert!(field(&shown, "bitcoin-address").starts_with("bc1q"));

    let message = "I owe Li Si 5,000 CNY, due 2027-01-31.";
    let hash = affix_wallet::eip191_hash(message.as_bytes());
    let signed = fx.ok(
        "sign",
        &[
            "--key",
            &key,
            "--device",
            s(&device),
            "--prehash",
            &hex::encode(hash),
        ],
    );
    let rs = field(&signed, "signature").to_owned();
    let v = 27 + field(&signed, "recovery-id").parse::<u8>().unwrap();
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/pyenv/bin/python");
    let script = "import sys\nfrom eth_account import Account\nfrom eth_account.messages import encode_defunct\nprint(Account.recover_message(encode_defunct(text=sys.argv[1]), signature=bytes.fromhex(sys.argv[2])))";
    let out = Command::new(&python)
        .args(["-c", script, message, &format!("{rs}{v:02x}")])
        .output()
        .expect("target/pyenv with eth-account is required (scripts/test installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), address);
}

/// `vault wallet create → address → sign`: PyPI eth-account recovers the printed Ethereum
/// address from the vault's EIP-191 signature; then the seed leaves through `recover
/// start --export-seed` (an authority's approval and the owner's code, the window, the
/// recipient key), and the exported
/// mnemonic derives (affix-wallet) the same addresses the vault printed.
#[test]
fn wallet_create_address_sign_verify_with_eth_account_then_export_the_seed() {
    let fx = Fixture::new();
    let (_, notary) = fx.recovery_policy();
    let device = fx.root.join("owner.device");
    let out = fx.ok(
        "enroll",
        &[
            "--tenant",
            "acme",
            "--new-owner",
            "--device-out",
            s(&device),
        ],
    );
    let owner = field(&out, "owner").to_owned();
    let code = fx.set_code(&device);
    let wallet_cmd = |extra: &[&str]| {
        let mut v = vec!["vault".to_owned(), "wallet".to_owned(), extra[0].to_owned()];
        v.extend(fx.vault_args());
        v.extend(extra[1..].iter().map(|x| (*x).to_owned()));
        ok(&v.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let out = wallet_cmd(&[
        "create", "--tenant", "acme", "--owner", &owner, "--words", "24",
    ]);
    let wallet = field(&out, "wallet").to_owned();
    assert_eq!(field(&out, "words"), "24");
    let address = |chain: &str, index: &str| {
        wallet_cmd(&[
            "address", "--tenant", "acme", "--wallet", &wallet, "--chain", chain, "--index", index,
        ])
    };
    let eth = address("ethereum", "2");
    assert_eq!(field(&eth, "path"), "m/44'/60'/0'/0/2");
    let eth_address = field(&eth, "address").to_owned();
    let btc_address = field(&address("bitcoin", "0"), "address").to_owned();
    assert!(btc_address.starts_with("bc1q"), "{btc_address}");

    let message = "I owe Li Si 5,000 CNY, due 2027-01-31.";
    let signed = wallet_cmd(&[
        "sign",
        "--wallet",
        &wallet,
        "--device",
        s(&device),
        "--chain",
        "ethereum",
        "--index",
        "2",
        "--message",
        message,
    ]);
    assert_eq!(field(&signed, "address"), eth_address);
    let signature = field(&signed, "signature").to_owned();
    assert_eq!(signature.len(), 130, "r ‖ s ‖ v");
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/pyenv/bin/python");
    let script = "import sys\nfrom eth_account import Account\nfrom eth_account.messages import encode_defunct\nprint(Account.recover_message(encode_defunct(text=sys.argv[1]), signature=bytes.fromhex(sys.argv[2])))";
    let out = Command::new(&python)
        .args(["-c", script, message, &signature])
        .output()
        .expect("target/pyenv with eth-account is required (scripts/test installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), eth_address);

    // Without a device of the owner, nothing is signed.
    let (_, stranger) = fx.enroll("acme", "stranger.device");
    let mut v = vec!["vault".to_owned(), "wallet".to_owned(), "sign".to_owned()];
    v.extend(fx.vault_args());
    v.extend(
        [
            "--wallet",
            &wallet,
            "--device",
            s(&stranger),
            "--chain",
            "ethereum",
            "--message",
            "x",
        ]
        .iter()
        .map(|x| (*x).to_owned()),
    );
    assert_eq!(affix().args(&v).output().unwrap().status.code(), Some(1));

    // The one exit: a seed export, approved by an authority and the owner's code.
    let recover = |extra: &[&str]| {
        let mut v = vec!["vault".to_owned(), "recover".to_owned()];
        v.push(extra[0].to_owned());
        v.extend(fx.vault_args());
        v.extend(extra[1..].iter().map(|x| (*x).to_owned()));
        let out = affix().args(&v).env("CODE", &code).output().unwrap();
        assert!(
            out.status.success(),
            "{extra:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let recipient = fx.root.join("recipient.device");
    let out = recover(&[
        "start",
        "--tenant",
        "acme",
        "--owner",
        &owner,
        "--provider",
        "face-check",
        "--result-digest",
        &"ab".repeat(32),
        "--device-out",
        s(&recipient),
        "--export-seed",
        &wallet,
    ]);
    let id = field(&out, "recovery").to_owned();
    let ids = ["--tenant", "acme", "--owner", &owner, "--id", &id];
    recover(
        &[
            &["approve"],
            &ids[..],
            &["--authority", "notary", "--approver-key", s(&notary)],
        ]
        .concat(),
    );
    recover(&[&["approve"], &ids[..], &["--code-env", "CODE"]].concat());
    std::thread::sleep(std::time::Duration::from_millis(4100));
    let out = recover(&[&["complete"], &ids[..], &["--device", s(&recipient)]].concat());
    let mnemonic = affix_wallet::Mnemonic::parse(field(&out, "mnemonic")).unwrap();
    assert_eq!(mnemonic.word_count(), 24);
    let seed = mnemonic.to_seed("");
    let derived = |path: affix_wallet::DerivationPath| seed.derive_secp256k1(&path).unwrap();
    assert_eq!(
        derived(affix_wallet::DerivationPath::ethereum(2).unwrap()).ethereum_address(),
        eth_address
    );
    assert_eq!(
        derived(affix_wallet::DerivationPath::bitcoin_p2wpkh(0).unwrap())
            .bitcoin_p2wpkh_address(affix_wallet::BitcoinNetwork::Mainnet),
        btc_address
    );
    let mut v = vec!["vault".to_owned(), "wallet".to_owned(), "audit".to_owned()];
    v.extend(fx.vault_args());
    v.extend(
        ["--tenant", "acme", "--wallet", &wallet]
            .iter()
            .map(|x| (*x).to_owned()),
    );
    let audit = ok(&v.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(audit.contains("vault.wallet.signed"), "{audit}");
    assert!(audit.contains("vault.wallet.seed-exported"), "{audit}");
}
