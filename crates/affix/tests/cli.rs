//! The `affix` command from the outside: exit codes, outputs, bad input, crashes.

#![allow(clippy::unwrap_used, missing_docs)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use affix_merkle::{Hash, HashSuite, TreeSize, verify_consistency};
use affix_note::SignedCheckpoint;

fn affix(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_affix"))
        .args(args)
        .output()
        .expect("run affix")
}

fn ok(args: &[&str]) -> String {
    let out = affix(args);
    assert!(
        out.status.success(),
        "affix {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn fails(args: &[&str], code: i32, message: &str) {
    let out = affix(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "affix {args:?}: {stderr}");
    assert!(
        stderr.contains(message),
        "affix {args:?}: {stderr:?} should mention {message:?}"
    );
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A key, a log with three documents, and the verifier key.
struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    log: PathBuf,
    vkey: String,
    docs: Vec<PathBuf>,
}

fn fixture(origin: &str, algorithm: &str) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_owned();
    let key = root.join("k.key");
    let vkey = ok(&[
        "keygen",
        "--name",
        "notary.test/log",
        "--out",
        s(&key),
        "--algorithm",
        algorithm,
    ])
    .trim()
    .to_owned();
    let log = root.join("log");
    ok(&["log", "init", s(&log), "--origin", origin, "--key", s(&key)]);
    let docs: Vec<PathBuf> = (0..3)
        .map(|i| {
            let p = root.join(format!("doc{i}.txt"));
            std::fs::write(&p, format!("document number {i}\n")).unwrap();
            p
        })
        .collect();
    let mut args = vec!["log", "append", s(&log)];
    args.extend(docs.iter().map(|d| s(d)));
    let out = ok(&args);
    assert_eq!(out.lines().count(), 3);
    assert!(out.starts_with("0\t"));
    Fixture {
        _tmp: tmp,
        root,
        log,
        vkey,
        docs,
    }
}

#[test]
fn keygen_writes_a_private_key_once() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("a.key");
    let vkey = ok(&["keygen", "--name", "a.example", "--out", s(&key)]);
    assert!(vkey.starts_with("a.example+"));
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(
        std::fs::read_to_string(&key)
            .unwrap()
            .starts_with("PRIVATE+KEY+a.example+")
    );
    fails(
        &["keygen", "--name", "a.example", "--out", s(&key)],
        1,
        "must not exist",
    );
    fails(
        &[
            "keygen",
            "--name",
            "bad name",
            "--out",
            s(&tmp.path().join("b")),
        ],
        1,
        "invalid key name",
    );
    fails(&["keygen", "--out", "x"], 2, "--name");
}

#[test]
fn receipt_round_trip_and_failures() {
    let f = fixture("notary.test/log", "ed25519");
    let receipt = f.root.join("r1.tlog-proof");
    std::fs::write(&receipt, ok(&["log", "proof", s(&f.log), "1"])).unwrap();
    let report = ok(&[
        "log",
        "verify",
        "--key",
        &f.vkey,
        s(&receipt),
        "--document",
        s(&f.docs[1]),
    ]);
    assert!(
        report.starts_with("OK: entry 1 is in log notary.test/log (tree size 3"),
        "{report}"
    );
    assert!(report.contains("kind       document.notarized"));

    // The wrong document, the wrong key, a wrong origin, a tampered receipt.
    fails(
        &[
            "log",
            "verify",
            "--key",
            &f.vkey,
            s(&receipt),
            "--document",
            s(&f.docs[0]),
        ],
        3,
        "not the document",
    );
    let other = f.root.join("other.key");
    let other_vkey = ok(&["keygen", "--name", "notary.test/log", "--out", s(&other)]);
    fails(
        &["log", "verify", "--key", other_vkey.trim(), s(&receipt)],
        3,
        "0 valid signatures",
    );
    fails(
        &[
            "log",
            "verify",
            "--key",
            &f.vkey,
            "--origin",
            "elsewhere.test/log",
            s(&receipt),
        ],
        3,
        "not the trusted origin",
    );
    let text = std::fs::read_to_string(&receipt).unwrap();
    let tampered = f.root.join("tampered.tlog-proof");
    std::fs::write(&tampered, text.replace("index 1", "index 2")).unwrap();
    fails(
        &["log", "verify", "--key", &f.vkey, s(&tampered)],
        3,
        "inclusion proof",
    );
    std::fs::write(&tampered, "garbage\n").unwrap();
    fails(
        &["log", "verify", "--key", &f.vkey, s(&tampered)],
        3,
        "not a valid receipt",
    );
    fails(&["log", "verify", s(&receipt)], 1, "no verifier keys");
    fails(
        &["log", "verify", "--key", "nonsense", s(&receipt)],
        1,
        "invalid verifier key",
    );
    fails(
        &[
            "log",
            "verify",
            "--key",
            &f.vkey,
            "--quorum",
            "2",
            s(&receipt),
        ],
        1,
        "quorum",
    );
    fails(
        &[
            "log",
            "verify",
            "--key",
            &f.vkey,
            s(&f.root.join("missing")),
        ],
        1,
        "reading",
    );

    // --leaf: the record bytes supplied out of band must be the logged ones.
    let leaf = f.root.join("leaf.bin");
    std::fs::write(&leaf, b"not the record").unwrap();
    fails(
        &[
            "log",
            "verify",
            "--key",
            &f.vkey,
            s(&receipt),
            "--leaf",
            s(&leaf),
        ],
        3,
        "differs",
    );
    let keys_file = f.root.join("keys");
    std::fs::write(&keys_file, format!("# trusted\n{}\n", f.vkey)).unwrap();
    ok(&[
        "log",
        "verify",
        "--keys",
        s(&keys_file),
        "--quorum",
        "1",
        s(&receipt),
    ]);

    // Proofs for records that don't exist are refused.
    fails(&["log", "proof", s(&f.log), "3"], 1, "beyond");
}

#[test]
fn consistency_and_checkpoints_verify_independently() {
    let f = fixture("notary.test/log", "ed25519");
    let cp3 = SignedCheckpoint::parse(ok(&["log", "checkpoint", s(&f.log)]).as_bytes()).unwrap();
    let more: Vec<PathBuf> = (0..50)
        .map(|i| {
            let p = f.root.join(format!("more{i}"));
            std::fs::write(&p, format!("more {i}")).unwrap();
            p
        })
        .collect();
    let mut args = vec!["log", "append", s(&f.log)];
    args.extend(more.iter().map(|d| s(d)));
    ok(&args);
    let cp53 = SignedCheckpoint::parse(ok(&["log", "checkpoint", s(&f.log)]).as_bytes()).unwrap();
    let (old, new) = (cp3.unverified_checkpoint(), cp53.unverified_checkpoint());
    assert_eq!(new.size, TreeSize(53));
    let proof: Vec<Hash> = ok(&["log", "consistency", s(&f.log), "3", "53"])
        .lines()
        .map(|l| Hash::from_base64(l).unwrap())
        .collect();
    verify_consistency(
        HashSuite::Sha256,
        old.size,
        new.size,
        &old.root,
        &new.root,
        &proof,
    )
    .unwrap();
    fails(&["log", "consistency", s(&f.log), "3", "54"], 1, "beyond");
    fails(
        &["log", "consistency", s(&f.log), "9", "4"],
        1,
        "larger than",
    );

    let status = ok(&["log", "status", s(&f.log)]);
    assert!(status.contains("size 53"), "{status}");
    let out = f.root.join("static");
    ok(&["log", "export", s(&f.log), s(&out)]);
    assert_eq!(
        std::fs::read(out.join("tile/0/000.p/53")).unwrap().len(),
        53 * 32
    );
    assert!(out.join("tile/entries/000.p/53").exists());
    assert!(
        std::fs::read_to_string(out.join("checkpoint"))
            .unwrap()
            .contains("\n53\n")
    );
}

#[test]
fn sm3_log_with_sm2_key() {
    let f = fixture("notary.test/log/sm3", "sm2");
    let status = ok(&["log", "status", s(&f.log)]);
    assert!(status.contains("hash sm3"), "{status}");
    let receipt = f.root.join("r.tlog-proof");
    std::fs::write(&receipt, ok(&["log", "proof", s(&f.log), "2"])).unwrap();
    let report = ok(&[
        "log",
        "verify",
        "--key",
        &f.vkey,
        s(&receipt),
        "--document",
        s(&f.docs[2]),
    ]);
    assert!(report.contains("sm3 hash"), "{report}");
}

#[test]
fn bad_input_is_refused_with_a_reason() {
    let f = fixture("notary.test/log", "ed25519");
    let key = f.root.join("k.key");
    fails(
        &[
            "log",
            "init",
            s(&f.log),
            "--origin",
            "x.test",
            "--key",
            s(&key),
        ],
        1,
        "not empty",
    );
    fails(
        &[
            "log",
            "init",
            s(&f.root.join("l2")),
            "--origin",
            "has space",
            "--key",
            s(&key),
        ],
        1,
        "invalid origin",
    );
    fails(
        &["log", "append", s(&f.root.join("nolog")), s(&f.docs[0])],
        1,
        "not an Affix log",
    );
    fails(
        &["log", "append", s(&f.log), s(&f.root.join("missing.txt"))],
        1,
        "missing.txt",
    );
    fails(
        &[
            "log",
            "append",
            s(&f.log),
            s(&f.docs[0]),
            "--metadata",
            "Bad Key=1",
        ],
        1,
        "invalid evidence record",
    );
    fails(
        &["log", "append", s(&f.log), s(&f.docs[0]), "--kind", "NOPE"],
        1,
        "kind",
    );
    // A key file others can read is refused.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    fails(&["log", "append", s(&f.log), s(&f.docs[0])], 1, "chmod 600");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    // Nothing above changed the log.
    assert!(ok(&["log", "status", s(&f.log)]).contains("size 3"));
}

#[test]
fn sigkill_during_append_loses_nothing_acknowledged() {
    let f = fixture("notary.test/log", "ed25519");
    let batch: Vec<PathBuf> = (0..300)
        .map(|i| {
            let p = f.root.join(format!("b{i}"));
            std::fs::write(&p, format!("batch document {i}")).unwrap();
            p
        })
        .collect();
    let mut size = 3u64;
    let mut killed = 0;
    for round in 0..12u64 {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_affix"));
        cmd.args(["log", "append", s(&f.log)])
            .args(batch.iter().map(|p| s(p)));
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Kill at a different point of the append each round (from before it starts to
        // after it finished).
        std::thread::sleep(Duration::from_millis(round * 7 % 60));
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        let acknowledged = out.status.success();
        if !acknowledged {
            killed += 1;
        }
        let status = ok(&["log", "status", s(&f.log)]);
        let now: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("size "))
            .unwrap()
            .parse()
            .unwrap();
        // One append is one batch: all 300 records or none, and never fewer than acknowledged.
        assert!(
            now == size || now == size + 300,
            "size went from {size} to {now}"
        );
        if acknowledged {
            assert_eq!(now, size + 300, "acknowledged append lost");
        }
        size = now;
    }
    assert!(
        killed > 0,
        "no append was interrupted; the test did not test anything"
    );
    // Every record still proves against the latest checkpoint.
    let receipt = f.root.join("last.tlog-proof");
    std::fs::write(
        &receipt,
        ok(&["log", "proof", s(&f.log), &(size - 1).to_string()]),
    )
    .unwrap();
    ok(&["log", "verify", "--key", &f.vkey, s(&receipt)]);
}

/// The recorded bundles of `affix-bundle` and the anchors they verify under.
fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../affix-bundle/tests/vectors")
}

#[test]
fn verify_bundle_needs_independent_anchors_or_exits_4() {
    let v = vectors();
    let (evidence, litigation) = (v.join("evidence-v1.json"), v.join("litigation-v2.json"));
    let (keys, root) = (v.join("verifier-keys"), v.join("root.pem"));
    let anchors = ["--keys", s(&keys), "--ca", s(&root)];

    // Against the published anchors: verified, exit 0.
    let out = ok(&[&["verify-bundle", s(&evidence)][..], &anchors].concat());
    assert!(out.starts_with("bundle verified: contract "), "{out}");
    let out = ok(&[&["verify-bundle", s(&litigation)][..], &anchors].concat());
    assert!(out.starts_with("litigation bundle verified: "), "{out}");

    // No anchors, or only one of them: a usage error, nothing is checked.
    fails(&["verify-bundle", s(&evidence)], 2, "--keys");
    fails(
        &["verify-bundle", s(&evidence), "--keys", s(&keys)],
        2,
        "--ca",
    );

    // The bundle's own anchors: checked, but never a success.
    for args in [
        vec![
            "verify-bundle",
            s(&evidence),
            "--dangerous-trust-bundle-anchors",
        ],
        vec![
            "verify-bundle",
            s(&litigation),
            "--keys",
            s(&keys),
            "--dangerous-trust-bundle-anchors",
        ],
    ] {
        let out = affix(&args);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert_eq!(out.status.code(), Some(4), "{args:?}: {stdout}{stderr}");
        assert!(!stdout.contains("verified:"), "{stdout}");
        assert!(stdout.contains("own anchors only"), "{stdout}");
        assert!(
            stderr.contains("warning: --dangerous-trust-bundle-anchors"),
            "{stderr}"
        );
        assert!(stderr.contains("NOT VERIFIED"), "{stderr}");
    }
    // All anchors given: the flag has nothing left to take from the bundle.
    ok(&[
        &["verify-bundle", s(&evidence)][..],
        &anchors,
        &["--dangerous-trust-bundle-anchors"],
    ]
    .concat());

    // A bundle that does not verify is exit 3, whatever the anchors.
    let tmp = tempfile::tempdir().unwrap();
    let forged = tmp.path().join("forged.json");
    let text = std::fs::read_to_string(&evidence).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["events"][0]["receipt"] = serde_json::Value::String("forged".into());
    std::fs::write(&forged, json.to_string()).unwrap();
    fails(
        &[&["verify-bundle", s(&forged)][..], &anchors].concat(),
        3,
        "verification FAILED",
    );
    fails(
        &[
            "verify-bundle",
            s(&forged),
            "--dangerous-trust-bundle-anchors",
        ],
        3,
        "verification FAILED",
    );
}

/// `affix device sign` is an authenticator that shows what it signs: it decodes the
/// statement, signs a `sign` statement, refuses every other action unless named with
/// `--allow-action` (exit 5), checks `--attributes` against the statement's digest
/// (exit 5 when they differ) and shows the digests they bind; it refuses bytes that are
/// not a statement (exit 1).
#[test]
fn device_sign_decodes_shows_and_refuses_what_it_was_not_asked_to_sign() {
    use affix_vault::authz::{Action, UnboundStatement};
    use affix_vault::{CredentialId, KeyId, TenantId};
    use base64::Engine as _;
    use der::Decode as _;
    use ed25519_dalek::Verifier as _;
    use sha2::Digest as _;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let dir = tempfile::tempdir().unwrap();
    let device = dir.path().join("zs.device");
    let public = ok(&["device", "keygen", "--out", s(&device)]);
    let public = base64::engine::general_purpose::STANDARD
        .decode(public.trim())
        .unwrap();
    let public =
        ed25519_dalek::VerifyingKey::from_bytes(&<[u8; 32]>::try_from(public).unwrap()).unwrap();

    // Signed attributes as the platform prepares them, with the Affix digests.
    let vectors = concat!(env!("CARGO_MANIFEST_DIR"), "/../affix-cms/tests/vectors");
    let certificate = |name: &str| {
        x509_cert::Certificate::from_der(&std::fs::read(format!("{vectors}/{name}")).unwrap())
            .unwrap()
    };
    let (signer, root) = (certificate("p256-signer.der"), certificate("p256-root.der"));
    let image: [u8; 32] = sha2::Sha256::digest(b"the image").into();
    let document: [u8; 32] = sha2::Sha256::digest(b"the document").into();
    let prepared = affix_cms::PreparedSignature::new(
        b"the content",
        &signer,
        &[root],
        std::time::UNIX_EPOCH + Duration::from_secs(1_778_311_800),
    )
    .unwrap()
    .with_affix_attributes(
        &affix_cms::AffixAttributes::new()
            .with_document_digest(document)
            .with_signature_image_digest(image),
    )
    .unwrap();
    let attributes = prepared.to_be_signed();
    let tenant = TenantId::new("t-acme").unwrap();
    let statement = |action: Action, digest: [u8; 32]| {
        let mut unbound =
            UnboundStatement::for_action(&tenant, action, Some(KeyId([1; 16])), digest, 0, 1)
                .unwrap();
        if action == Action::Sign {
            unbound.payload_kind = 1;
        }
        unbound.expires_ms = 1_778_312_000_000;
        b64(&unbound.bind(CredentialId([2; 16])).to_bytes())
    };
    let sign_statement = statement(Action::Sign, sha2::Sha256::digest(attributes).into());

    // A sign statement with its attributes: shown, checked, signed.
    let out = affix(&[
        "device",
        "sign",
        "--key",
        s(&device),
        "--attributes",
        &b64(attributes),
        &sign_statement,
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let expected: [String; 10] = [
        "action      sign".to_owned(),
        "tenant      t-acme".to_owned(),
        format!("key         {}", KeyId([1; 16])),
        format!("credential  {}", CredentialId([2; 16])),
        "expires     2026-05-09T07:33:20.000Z".to_owned(),
        format!("image       {}", hex::encode(image)),
        format!("document    {}", hex::encode(document)),
        format!(
            "content     {}",
            hex::encode(sha2::Sha256::digest(b"the content"))
        ),
        "signed at   2026-05-09T07:30:00.000Z".to_owned(),
        format!(
            "certificate {}",
            hex::encode(sha2::Sha256::digest(der::Encode::to_der(&signer).unwrap()))
        ),
    ];
    for shown in &expected {
        assert!(stderr.contains(shown.as_str()), "{shown:?} not in {stderr}");
    }
    let signature = base64::engine::general_purpose::STANDARD
        .decode(String::from_utf8(out.stdout).unwrap().trim())
        .unwrap();
    let statement_bytes = base64::engine::general_purpose::STANDARD
        .decode(&sign_statement)
        .unwrap();
    public
        .verify(
            &statement_bytes,
            &ed25519_dalek::Signature::from_slice(&signature).unwrap(),
        )
        .unwrap();
    // Without --attributes it still signs, and says what it did not check.
    let out = affix(&["device", "sign", "--key", s(&device), &sign_statement]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("signed attributes not checked"));

    // Attributes that are not what the statement authorizes (another image): refused.
    let mut tampered = attributes.to_vec();
    let at = tampered
        .windows(32)
        .position(|w| w == image)
        .expect("the image digest is in the attributes");
    tampered[at] ^= 1;
    fails(
        &[
            "device",
            "sign",
            "--key",
            s(&device),
            "--attributes",
            &b64(&tampered),
            &sign_statement,
        ],
        5,
        "the signed attributes are not what the statement authorizes",
    );

    // Other actions: refused unless named, and then signed.
    for action in [Action::RegisterCredential, Action::Grant, Action::Disable] {
        let other = statement(action, [7; 32]);
        let out = affix(&["device", "sign", "--key", s(&device), &other]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(5), "{stderr}");
        assert!(
            stderr.contains(&format!("action      {}", action.name())),
            "{stderr}"
        );
        assert!(
            stderr.contains(&format!("--allow-action {}", action.name())),
            "{stderr}"
        );
        assert!(out.stdout.is_empty(), "nothing signed");
        ok(&[
            "device",
            "sign",
            "--key",
            s(&device),
            "--allow-action",
            action.name(),
            &other,
        ]);
    }
    // Allowing one action does not allow another.
    fails(
        &[
            "device",
            "sign",
            "--key",
            s(&device),
            "--allow-action",
            "grant",
            &statement(Action::RegisterCredential, [7; 32]),
        ],
        5,
        "register-credential",
    );
    fails(
        &[
            "device",
            "sign",
            "--key",
            s(&device),
            "--allow-action",
            "everything",
            &sign_statement,
        ],
        1,
        "--allow-action",
    );
    // Not a statement: the vault prefix alone, or other bytes.
    fails(
        &[
            "device",
            "sign",
            "--key",
            s(&device),
            &b64(affix_vault::authz::AUTHORIZATION_CONTEXT),
        ],
        1,
        "not a vault authorization statement",
    );
    fails(
        &["device", "sign", "--key", s(&device), &b64(b"hello")],
        1,
        "not a vault authorization statement",
    );
}
