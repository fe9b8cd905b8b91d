//! Shared test support: throw-away keys, a two-level PKI, and runners for
//! the independent checkers (openssl, gmssl in the target/pyenv venv).
#![allow(dead_code, unreachable_pub)]

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, SystemTime},
};

use affix_pki::ca::{
    CertificateSigner, DistributionUrls, Issuer, Sm2DerSigner, SubjectName, SubjectPublicKey,
    ValidityPeriod, serial_number_from_random,
};
use der::{DateTime, EncodePem, pem::LineEnding};
use spki::SignatureBitStringEncoding;
use x509_cert::{Certificate, serial_number::SerialNumber};

pub type P256Issuer = Issuer<p256::ecdsa::SigningKey, p256::ecdsa::DerSignature>;
pub type Ed25519Issuer = Issuer<ed25519_dalek::SigningKey, ed25519_dalek::Signature>;
pub type Sm2Issuer = Issuer<Sm2DerSigner<sm2::dsa::SigningKey>, sm2::dsa::DerSignature>;

pub fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("OS randomness");
    bytes
}

pub fn serial() -> SerialNumber {
    serial_number_from_random(random())
}

pub fn p256_key() -> p256::ecdsa::SigningKey {
    loop {
        if let Ok(key) = p256::ecdsa::SigningKey::from_slice(&random::<32>()) {
            return key;
        }
    }
}

pub fn ed25519_key() -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&random())
}

pub fn sm2_key() -> Sm2DerSigner<sm2::dsa::SigningKey> {
    loop {
        if let Ok(key) =
            sm2::dsa::SigningKey::from_slice(affix_pki::SM2_DEFAULT_DISTID, &random::<32>())
        {
            return Sm2DerSigner::new(key).expect("default distid");
        }
    }
}

/// `now + offset_s` (may be negative), as the callers of the pure core do.
pub fn at(offset_s: i64) -> DateTime {
    let now = SystemTime::now();
    let time = if offset_s >= 0 {
        now + Duration::from_secs(offset_s.unsigned_abs())
    } else {
        now - Duration::from_secs(offset_s.unsigned_abs())
    };
    DateTime::from_system_time(time).expect("time in range")
}

pub const DAY_S: i64 = 86_400;

pub fn validity(from_s: i64, to_s: i64) -> ValidityPeriod {
    ValidityPeriod::new(at(from_s), at(to_s)).expect("ordered")
}

pub fn urls() -> DistributionUrls {
    DistributionUrls::new()
        .with_crl("http://ca.affix.test/issuing.crl")
        .unwrap()
        .with_ocsp("http://ocsp.affix.test/")
        .unwrap()
        .with_ca_issuers("http://ca.affix.test/issuing.cer")
        .unwrap()
}

/// Root (10 years) and issuing CA (5 years, pathLen 0) with the given keys.
pub fn pki<S, Sig>(root_key: S, issuing_key: S) -> (Issuer<S, Sig>, Issuer<S, Sig>)
where
    S: CertificateSigner<Sig>,
    Sig: SignatureBitStringEncoding,
{
    let root_name = SubjectName::new("Affix 测试根 CA")
        .unwrap()
        .with_organization("Affix 测试")
        .unwrap()
        .with_country("CN")
        .unwrap();
    let root = Issuer::create_root(
        root_key,
        &root_name,
        serial(),
        validity(-DAY_S, 3650 * DAY_S),
    )
    .expect("root");
    let issuing_name = SubjectName::new("Affix 测试签发 CA")
        .unwrap()
        .with_organization("Affix 测试")
        .unwrap()
        .with_country("CN")
        .unwrap();
    let issuing_public = SubjectPublicKey::from_keypair(&issuing_key).unwrap();
    let issuing_cert = root
        .issue_subordinate_ca(
            &issuing_name,
            &issuing_public,
            0,
            serial(),
            validity(-DAY_S + 60, 1825 * DAY_S),
        )
        .expect("issuing CA certificate");
    let issuing = Issuer::new(issuing_cert, issuing_key)
        .expect("issuing issuer")
        .with_distribution_urls(urls());
    (root, issuing)
}

/// A scratch directory removed at drop.
pub struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).expect("write");
        path
    }

    pub fn write_cert(&self, name: &str, certificate: &Certificate) -> PathBuf {
        self.write(
            name,
            certificate.to_pem(LineEnding::LF).expect("pem").as_bytes(),
        )
    }

    pub fn write_pem<T: EncodePem>(&self, name: &str, value: &T) -> PathBuf {
        self.write(name, value.to_pem(LineEnding::LF).expect("pem").as_bytes())
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// Output of a finished command.
pub struct Run {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

pub fn run(program: &str, args: &[&str], dir: &Path) -> Run {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    Run {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

pub fn openssl(args: &[&str], dir: &Path) -> Run {
    run("openssl", args, dir)
}

/// Assert an openssl run succeeded, printing everything if not.
#[track_caller]
pub fn assert_ok(run: &Run, what: &str) {
    assert!(
        run.success,
        "{what} failed:\n--- stdout\n{}\n--- stderr\n{}",
        run.stdout, run.stderr
    );
}

/// The gmssl (pure-Python SM2) checker, see tests/support/sm2_verify.py.
/// The Python with PyPI gmssl: `$AFFIX_PYTHON`, or the venv `scripts/test` makes in
/// `target/pyenv`.
pub const GMSSL_PYTHON: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/pyenv/bin/python");

pub fn sm2_verify_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/sm2_verify.py")
}
