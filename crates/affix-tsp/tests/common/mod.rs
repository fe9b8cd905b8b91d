//! Test support: deterministic keys, a root CA and TSA certificates issued by
//! `affix_pki::ca` (the CA code the platform runs), PEM files, and a runner for
//! `openssl`.
//!
//! Each test binary uses a subset of this module.
#![allow(dead_code, unreachable_pub)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use affix_pki::ca::{
    CertificateSigner, Issuer, Profile, SubjectName, SubjectPublicKey, ValidityPeriod,
};
use affix_tsp::{GenTime, SM2_DEFAULT_DISTID, Sm2DerSigner};
use base64::Engine;
use der::{DateTime, Encode};
use p256::pkcs8::EncodePrivateKey;
use sha2::{Digest, Sha256};
use signature::Keypair;
use spki::{EncodePublicKey, SignatureBitStringEncoding, SubjectPublicKeyInfoOwned};
use x509_cert::certificate::Certificate;
use x509_cert::serial_number::SerialNumber;

/// TSA policy used by the tests (an OID under a private enterprise arc used
/// only for tests).
pub const POLICY: &str = "1.3.6.1.4.1.99999.1.1";
/// A second policy the test TSAs also accept.
pub const OTHER_POLICY: &str = "1.3.6.1.4.1.99999.1.2";

pub const ROOT_SUBJECT: &str = "CN=Affix Test Root CA,O=Affix,C=CN";
pub const TSA_SUBJECT: &str = "CN=Affix Test TSA,O=Affix,C=CN";

fn seed(label: &str) -> [u8; 32] {
    Sha256::digest(label.as_bytes()).into()
}

/// A P-256 key derived from `label` (tests only: reproducible, not secret).
pub fn p256_key(label: &str) -> p256::ecdsa::SigningKey {
    p256::ecdsa::SigningKey::from_slice(&seed(label)).unwrap()
}

/// An Ed25519 key derived from `label`.
pub fn ed25519_key(label: &str) -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&seed(label))
}

/// An SM2 key derived from `label`, wrapped to sign to DER.
pub fn sm2_key(label: &str) -> Sm2DerSigner<sm2::dsa::SigningKey> {
    Sm2DerSigner::new(sm2::dsa::SigningKey::from_slice(SM2_DEFAULT_DISTID, &seed(label)).unwrap())
        .unwrap()
}

/// 2024-01-01 to 2049-12-31: covers "now" for OpenSSL, which checks the
/// chain at the current time, and stays within UTCTime.
pub fn validity() -> ValidityPeriod {
    period(1_704_067_200, 2_524_607_999)
}

/// A TSA certificate that expired at the end of 2024.
pub fn expired_validity() -> ValidityPeriod {
    period(1_704_067_200, 1_735_689_599)
}

fn period(not_before: u64, not_after: u64) -> ValidityPeriod {
    let at = |secs| DateTime::from_unix_duration(Duration::from_secs(secs)).unwrap();
    ValidityPeriod::new(at(not_before), at(not_after)).unwrap()
}

/// The current time, as a TSA's trusted clock would give it.
pub fn now() -> GenTime {
    GenTime::from_system_time(SystemTime::now()).unwrap()
}

/// `CN=…,O=…,C=…` (the only attributes the tests use) as a subject name.
pub fn subject_name(rfc4514: &str) -> SubjectName {
    let mut common_name = None;
    let mut organization = None;
    let mut country = None;
    for part in rfc4514.split(',') {
        match part.split_once('=').unwrap() {
            ("CN", value) => common_name = Some(value),
            ("O", value) => organization = Some(value),
            ("C", value) => country = Some(value),
            (other, _) => panic!("attribute {other} is not used in tests"),
        }
    }
    let mut name = SubjectName::new(common_name.unwrap()).unwrap();
    if let Some(organization) = organization {
        name = name.with_organization(organization).unwrap();
    }
    if let Some(country) = country {
        name = name.with_country(country).unwrap();
    }
    name
}

/// A self-signed root CA certificate, serial 1, over [`validity`].
pub fn root_certificate<S, Sig>(key: &S, subject: &str) -> Certificate
where
    S: CertificateSigner<Sig> + Clone,
    Sig: SignatureBitStringEncoding,
{
    Issuer::<S, Sig>::create_root(
        key.clone(),
        &subject_name(subject),
        SerialNumber::from(1u32),
        validity(),
    )
    .unwrap()
    .certificate()
    .clone()
}

/// A TSA certificate (RFC 3161 §2.3: extended key usage timeStamping only,
/// critical; key usage digitalSignature and nonRepudiation; not a CA) for
/// `tsa_public_key`, issued by `issuer` (signed with `issuer_key`), valid
/// over [`validity`].
pub fn tsa_certificate<S, Sig>(
    tsa_public_key: SubjectPublicKeyInfoOwned,
    issuer: &Certificate,
    issuer_key: &S,
    serial: u32,
) -> Certificate
where
    S: CertificateSigner<Sig> + Clone,
    Sig: SignatureBitStringEncoding,
{
    tsa_certificate_valid::<S, Sig>(tsa_public_key, issuer, issuer_key, serial, validity())
}

/// A TSA certificate with the given validity.
pub fn tsa_certificate_valid<S, Sig>(
    tsa_public_key: SubjectPublicKeyInfoOwned,
    issuer: &Certificate,
    issuer_key: &S,
    serial: u32,
    validity: ValidityPeriod,
) -> Certificate
where
    S: CertificateSigner<Sig> + Clone,
    Sig: SignatureBitStringEncoding,
{
    Issuer::<S, Sig>::new(issuer.clone(), issuer_key.clone())
        .unwrap()
        .issue(
            &Profile::TsaSigner(subject_name(TSA_SUBJECT)),
            &SubjectPublicKey::from_spki(&tsa_public_key).unwrap(),
            SerialNumber::from(serial),
            validity,
        )
        .unwrap()
}

/// The subject public key info of a signer.
pub fn public_key_of<K>(key: &K) -> SubjectPublicKeyInfoOwned
where
    K: Keypair,
    K::VerifyingKey: EncodePublicKey,
{
    SubjectPublicKeyInfoOwned::from_key(&key.verifying_key()).unwrap()
}

/// PEM armour.
pub fn pem(label: &str, der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut text = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        text.push_str(std::str::from_utf8(line).unwrap());
        text.push('\n');
    }
    text.push_str(&format!("-----END {label}-----\n"));
    text
}

/// Writes a certificate as PEM.
pub fn write_certificate(path: &Path, certificate: &Certificate) {
    std::fs::write(path, pem("CERTIFICATE", &certificate.to_der().unwrap())).unwrap();
}

/// Writes a P-256 key as unencrypted PKCS#8 PEM, for OpenSSL acting as TSA.
pub fn write_p256_key(path: &Path, key: &p256::ecdsa::SigningKey) {
    let der = key.to_pkcs8_der().unwrap();
    std::fs::write(path, pem("PRIVATE KEY", der.as_bytes())).unwrap();
}

/// Output of a finished `openssl` run.
pub struct Run {
    pub success: bool,
    /// stdout then stderr.
    pub output: String,
}

/// Runs `openssl` with `args` in `dir`.
pub fn openssl(dir: &Path, args: &[&str]) -> Run {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is installed");
    Run {
        success: output.status.success(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}

/// Runs `openssl` and requires success.
pub fn openssl_ok(dir: &Path, args: &[&str]) -> String {
    let run = openssl(dir, args);
    assert!(
        run.success,
        "openssl {} failed:\n{}",
        args.join(" "),
        run.output
    );
    run.output
}
