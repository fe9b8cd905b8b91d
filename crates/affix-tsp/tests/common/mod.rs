//! Test support: deterministic keys, a root CA and TSA certificates built
//! with x509-cert's builder, PEM files, and a runner for `openssl`.
//!
//! Each test binary uses a subset of this module.
#![allow(dead_code, unreachable_pub)]

use std::path::Path;
use std::process::Command;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use affix_tsp::{GenTime, SM2_DEFAULT_DISTID, Sm2DerSigner};
use base64::Engine;
use const_oid::AssociatedOid;
use const_oid::db::rfc5280::ID_KP_TIME_STAMPING;
use der::Encode;
use der::asn1::{OctetString, UtcTime};
use p256::pkcs8::EncodePrivateKey;
use sha2::{Digest, Sha256};
use signature::{Keypair, Signer};
use spki::{
    DynSignatureAlgorithmIdentifier, EncodePublicKey, SignatureBitStringEncoding,
    SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef,
};
use x509_cert::builder::profile::{BuilderProfile, cabf};
use x509_cert::builder::{self, Builder, CertificateBuilder};
use x509_cert::certificate::{Certificate, TbsCertificate};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectKeyIdentifier,
};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

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
pub fn validity() -> Validity {
    let at = |secs| Time::UtcTime(UtcTime::from_unix_duration(Duration::from_secs(secs)).unwrap());
    Validity::new(at(1_704_067_200), at(2_524_607_999))
}

/// The current time, as a TSA's trusted clock would give it.
pub fn now() -> GenTime {
    GenTime::from_system_time(SystemTime::now()).unwrap()
}

/// A self-signed root CA certificate (CA/B Forum root profile: basic
/// constraints cA, keyCertSign and cRLSign, key identifiers).
pub fn root_certificate<S, Sig>(key: &S, subject: &str) -> Certificate
where
    S: Signer<Sig> + Keypair + DynSignatureAlgorithmIdentifier,
    S::VerifyingKey: EncodePublicKey,
    Sig: SignatureBitStringEncoding,
{
    let profile = cabf::Root::new(false, Name::from_str(subject).unwrap()).unwrap();
    let public_key = SubjectPublicKeyInfoOwned::from_key(&key.verifying_key()).unwrap();
    CertificateBuilder::new(profile, SerialNumber::from(1u32), validity(), public_key)
        .unwrap()
        .build::<_, Sig>(key)
        .unwrap()
}

/// The profile RFC 3161 §2.3 asks of a TSA certificate: extended key usage
/// timeStamping only, critical; key usage digitalSignature and
/// nonRepudiation; not a CA.
struct TsaProfile {
    subject: Name,
    issuer: Name,
}

impl BuilderProfile for TsaProfile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        spk: SubjectPublicKeyInfoRef<'_>,
        issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &TbsCertificate,
    ) -> builder::Result<Vec<Extension>> {
        let subject = tbs.subject();
        let mut extensions = Vec::new();
        let issuer_key_id = SubjectKeyIdentifier::try_from(issuer_spk)?;
        extensions.push(
            AuthorityKeyIdentifier {
                key_identifier: Some(issuer_key_id.0),
                ..Default::default()
            }
            .to_extension(subject, &extensions)?,
        );
        extensions.push(SubjectKeyIdentifier::try_from(spk)?.to_extension(subject, &extensions)?);
        extensions.push(
            BasicConstraints {
                ca: false,
                path_len_constraint: None,
            }
            .to_extension(subject, &extensions)?,
        );
        extensions.push(
            KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation)
                .to_extension(subject, &extensions)?,
        );
        // `ExtendedKeyUsage::to_extension` marks it non-critical; RFC 3161
        // and OpenSSL need it critical.
        extensions.push(Extension {
            extn_id: ExtendedKeyUsage::OID,
            critical: true,
            extn_value: OctetString::new(ExtendedKeyUsage(vec![ID_KP_TIME_STAMPING]).to_der()?)?,
        });
        Ok(extensions)
    }
}

/// A TSA certificate for `tsa_public_key`, issued by `issuer` (signed with
/// `issuer_key`), valid over [`validity`].
pub fn tsa_certificate<S, Sig>(
    tsa_public_key: SubjectPublicKeyInfoOwned,
    issuer: &Certificate,
    issuer_key: &S,
    serial: u32,
) -> Certificate
where
    S: Signer<Sig> + Keypair + DynSignatureAlgorithmIdentifier,
    S::VerifyingKey: EncodePublicKey,
    Sig: SignatureBitStringEncoding,
{
    tsa_certificate_valid::<S, Sig>(tsa_public_key, issuer, issuer_key, serial, validity())
}

/// A TSA certificate that expired at the end of 2024.
pub fn expired_validity() -> Validity {
    let at = |secs| Time::UtcTime(UtcTime::from_unix_duration(Duration::from_secs(secs)).unwrap());
    Validity::new(at(1_704_067_200), at(1_735_689_599))
}

/// A TSA certificate with the given validity.
pub fn tsa_certificate_valid<S, Sig>(
    tsa_public_key: SubjectPublicKeyInfoOwned,
    issuer: &Certificate,
    issuer_key: &S,
    serial: u32,
    validity: Validity,
) -> Certificate
where
    S: Signer<Sig> + Keypair + DynSignatureAlgorithmIdentifier,
    S::VerifyingKey: EncodePublicKey,
    Sig: SignatureBitStringEncoding,
{
    let profile = TsaProfile {
        subject: Name::from_str(TSA_SUBJECT).unwrap(),
        issuer: issuer.tbs_certificate().subject().clone(),
    };
    let builder = CertificateBuilder::new(
        profile,
        SerialNumber::from(serial),
        validity,
        tsa_public_key,
    )
    .unwrap();
    builder.build::<_, Sig>(issuer_key).unwrap()
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
