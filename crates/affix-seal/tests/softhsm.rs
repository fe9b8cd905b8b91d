//! The PKCS#11 master key against a real SoftHSM2 token (the benchmark's signing peer
//! is tested the same way in `affix-bench`).
//!
//! SoftHSM2 reads its configuration file from `SOFTHSM2_CONF` when the module is
//! initialized, and that variable is process-wide. So every test here runs twice: the
//! parent creates a temporary token directory and configuration, initializes a token with
//! `softhsm2-util`, and re-runs this test binary filtered to the one test with
//! `SOFTHSM2_CONF` set for the child; the child does the work. Tests fail (never skip)
//! when SoftHSM2 is not installed.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use affix_seal::cryptoki::mechanism::Mechanism;
use affix_seal::cryptoki::object::{Attribute, KeyType, ObjectClass};
use affix_seal::{Error, MasterKey, Pin, Pkcs11Master, Pkcs11Token};
use support::{AAD, assert_wraps_and_detects_tampering, sample_kek};

const CHILD_ENV: &str = "AFFIX_SEAL_SOFTHSM_CHILD";
const MODULE_ENV: &str = "AFFIX_SEAL_SOFTHSM_MODULE";
const TOKEN: &str = "affix-test";
const USER_PIN: &str = "1234";
const SO_PIN: &str = "5678";

/// Where Debian, Ubuntu, Fedora and Homebrew-style installs put the module.
const MODULE_CANDIDATES: &[&str] = &[
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
];

fn module_path() -> PathBuf {
    if let Some(path) = std::env::var_os(MODULE_ENV) {
        return PathBuf::from(path);
    }
    MODULE_CANDIDATES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!(
                "SoftHSM2 module not found in {MODULE_CANDIDATES:?}: install softhsm2 \
                 (apt install softhsm2) or set {MODULE_ENV}"
            )
        })
}

/// Runs `body` in a child process that sees a fresh SoftHSM2 token `affix-test`
/// (user PIN 1234, SO PIN 5678).
fn with_softhsm(test_name: &str, body: impl FnOnce(&Path)) {
    if std::env::var_os(CHILD_ENV).is_some() {
        body(&module_path());
        return;
    }
    let module = module_path();
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = dir.path().join("tokens");
    std::fs::create_dir(&tokens).expect("token dir");
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
            tokens.display()
        ),
    )
    .expect("write softhsm2.conf");
    let init = Command::new("softhsm2-util")
        .args(["--init-token", "--free", "--label", TOKEN])
        .args(["--pin", USER_PIN, "--so-pin", SO_PIN])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .expect("softhsm2-util must be installed (apt install softhsm2)");
    assert!(
        init.status.success(),
        "softhsm2-util --init-token failed: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    let child = Command::new(std::env::current_exe().expect("test binary path"))
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env("SOFTHSM2_CONF", &conf)
        .env(CHILD_ENV, "1")
        .env(MODULE_ENV, &module)
        .output()
        .expect("re-run test binary");
    let stdout = String::from_utf8_lossy(&child.stdout);
    let stderr = String::from_utf8_lossy(&child.stderr);
    assert!(
        child.status.success() && stdout.contains("1 passed"),
        "child run of {test_name} failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    print!("{stdout}");
}

fn pin(text: &str) -> Pin {
    Pin::new(text.to_owned()).expect("valid PIN")
}

fn open_token(module: &Path) -> Pkcs11Token {
    Pkcs11Token::open(module, TOKEN, &pin(USER_PIN)).expect("open token")
}

#[test]
fn generated_key_is_found_again_and_unwraps_what_it_wrapped() {
    with_softhsm(
        "generated_key_is_found_again_and_unwraps_what_it_wrapped",
        |module| {
            let token = open_token(module);
            let generated = Pkcs11Master::generate(&token, "vault-master").expect("generate");
            assert_eq!(generated.id().as_str(), "pkcs11:affix-test/vault-master");
            let wrapped = generated.wrap(&sample_kek(), AAD).expect("wrap");
            drop(generated);
            drop(token);

            let token = open_token(module);
            let found = Pkcs11Master::find(&token, "vault-master").expect("find");
            assert_eq!(found.id().as_str(), "pkcs11:affix-test/vault-master");
            let kek = found.unwrap(&wrapped, AAD).expect("unwrap");
            assert_eq!(kek.expose_secret(), sample_kek().expose_secret());

            assert!(matches!(
                Pkcs11Master::generate(&token, "vault-master"),
                Err(Error::KeyAlreadyExists { .. })
            ));
            assert!(matches!(
                Pkcs11Master::find(&token, "no-such-key"),
                Err(Error::KeyNotFound { .. })
            ));
            assert!(matches!(
                Pkcs11Master::find(&token, "bad/label"),
                Err(Error::InvalidArgument(_))
            ));
        },
    );
}

#[test]
fn token_key_wraps_and_detects_tampering() {
    with_softhsm("token_key_wraps_and_detects_tampering", |module| {
        let token = open_token(module);
        let master = Pkcs11Master::generate(&token, "vault-master").expect("generate");
        assert_wraps_and_detects_tampering(&master);
    });
}

#[test]
fn another_token_key_cannot_unwrap() {
    with_softhsm("another_token_key_cannot_unwrap", |module| {
        let token = open_token(module);
        let a = Pkcs11Master::generate(&token, "master-a").expect("generate a");
        let b = Pkcs11Master::generate(&token, "master-b").expect("generate b");
        let wrapped = a.wrap(&sample_kek(), AAD).expect("wrap");
        let error = b.unwrap(&wrapped, AAD).expect_err("other key");
        assert!(matches!(error, Error::UnwrapFailed), "{error:?}");
        // The session is still usable after the failed decryption.
        assert_eq!(
            a.unwrap(&wrapped, AAD).expect("unwrap").expose_secret(),
            sample_kek().expose_secret()
        );
    });
}

#[test]
fn wrong_pin_is_refused() {
    with_softhsm("wrong_pin_is_refused", |module| {
        let error = Pkcs11Token::open(module, TOKEN, &pin("0000")).expect_err("wrong PIN");
        assert!(matches!(error, Error::WrongPin), "{error:?}");
        assert!(!format!("{error} {error:?}").contains("0000"));
        // The right PIN still works afterwards (one failure does not lock the token).
        open_token(module);
    });
}

#[test]
fn unknown_token_label_is_reported() {
    with_softhsm("unknown_token_label_is_reported", |module| {
        let error =
            Pkcs11Token::open(module, "no-such-token", &pin(USER_PIN)).expect_err("no token");
        assert!(matches!(error, Error::TokenNotFound(_)), "{error:?}");
        let error = Pkcs11Token::open(
            Path::new("/nonexistent/libpkcs11.so"),
            TOKEN,
            &pin(USER_PIN),
        )
        .expect_err("no module");
        assert!(matches!(error, Error::Pkcs11 { .. }), "{error:?}");
    });
}

#[test]
fn extractable_or_ambiguous_token_keys_are_refused_as_master_keys() {
    with_softhsm(
        "extractable_or_ambiguous_token_keys_are_refused_as_master_keys",
        |module| {
            let token = open_token(module);
            let session = token.open_session().expect("session");
            let template = |label: &str, extractable: bool| {
                vec![
                    Attribute::Class(ObjectClass::SECRET_KEY),
                    Attribute::KeyType(KeyType::AES),
                    Attribute::ValueLen(32u64.into()),
                    Attribute::Token(true),
                    Attribute::Sensitive(!extractable),
                    Attribute::Extractable(extractable),
                    Attribute::Encrypt(true),
                    Attribute::Decrypt(true),
                    Attribute::Label(label.as_bytes().to_vec()),
                ]
            };
            session
                .generate_key(&Mechanism::AesKeyGen, &template("loose", true))
                .expect("generate extractable key");
            let error = Pkcs11Master::find(&token, "loose").expect_err("extractable");
            assert!(matches!(error, Error::KeyRejected(_)), "{error:?}");

            for _ in 0..2 {
                session
                    .generate_key(&Mechanism::AesKeyGen, &template("twice", false))
                    .expect("generate");
            }
            let error = Pkcs11Master::find(&token, "twice").expect_err("ambiguous");
            assert!(
                matches!(error, Error::KeyAmbiguous { count: 2, .. }),
                "{error:?}"
            );
        },
    );
}

#[test]
fn token_master_key_is_usable_from_many_threads() {
    with_softhsm("token_master_key_is_usable_from_many_threads", |module| {
        let token = open_token(module);
        let master = Arc::new(Pkcs11Master::generate(&token, "vault-master").expect("generate"));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let master = Arc::clone(&master);
                std::thread::spawn(move || {
                    for i in 0..25 {
                        let aad = format!("affix.dev/vault/kek/v1\0kek-{t}-{i}");
                        let kek = affix_seal::Kek::random().expect("random");
                        let wrapped = master.wrap(&kek, aad.as_bytes()).expect("wrap");
                        let back = master.unwrap(&wrapped, aad.as_bytes()).expect("unwrap");
                        assert_eq!(back.expose_secret(), kek.expose_secret());
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("thread");
        }
    });
}
