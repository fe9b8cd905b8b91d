//! Test PKI, key generation and tool runners shared by the integration tests.
//!
//! The hierarchy (root → issuing CA → signers) is issued by `affix_pki::ca`, the CA code
//! the platform runs. Certificates that CA refuses to issue — a key usage without
//! digitalSignature, a CA below a pathLenConstraint of 0, an unknown critical extension,
//! a validity outside the issuer's, a certificate issued by an end entity — come from
//! x509-cert's builder ([`issue_custom`]) for the rejection tests. Everything is written
//! as PEM/DER into a temporary directory so that OpenSSL and Python can read it.

#![allow(dead_code, unreachable_pub)]

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use affix_cms::{SM2_DEFAULT_DISTID, Sm2DerSigner};
use affix_pki::ca::{
    Issuer, Profile, SubjectName, SubjectPublicKey, ValidityPeriod, serial_number_from_random,
};
use base64::Engine as _;
use der::{DateTime, Encode, flagset::FlagSet};
use signature::{Keypair, Signer};
use spki::{
    DynSignatureAlgorithmIdentifier, EncodePublicKey, SignatureBitStringEncoding,
    SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef,
};
use x509_cert::{
    Certificate,
    builder::{Builder, CertificateBuilder, profile::BuilderProfile},
    certificate::TbsCertificate,
    ext::{
        Extension, ToExtension,
        pkix::{
            AuthorityKeyIdentifier, BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier,
        },
    },
    name::Name,
    serial_number::SerialNumber,
    time::{Time, Validity},
};

/// A CA of the test hierarchy: `affix_pki`'s issuer over a P-256 key.
pub type P256Issuer = Issuer<p256::ecdsa::SigningKey, p256::ecdsa::DerSignature>;

/// `N` bytes from the OS.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).unwrap();
    bytes
}

pub fn p256_key() -> p256::ecdsa::SigningKey {
    loop {
        if let Ok(key) = p256::ecdsa::SigningKey::from_slice(&random_bytes::<32>()) {
            return key;
        }
    }
}

pub fn ed25519_key() -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&random_bytes())
}

pub fn sm2_key() -> sm2::dsa::SigningKey {
    loop {
        if let Ok(key) = sm2::dsa::SigningKey::from_slice(SM2_DEFAULT_DISTID, &random_bytes::<32>())
        {
            return key;
        }
    }
}

/// What a certificate from [`issue_custom`] is for.
#[derive(Clone, Copy)]
pub enum Role {
    /// CA: basicConstraints cA (critical), keyUsage keyCertSign + cRLSign (critical).
    Ca { path_len: Option<u8> },
    /// End entity with the given key usage (critical).
    Leaf(FlagSet<KeyUsages>),
}

impl Role {
    pub const CA: Role = Role::Ca { path_len: None };

    /// digitalSignature + nonRepudiation, as an e-contract signer certificate has.
    pub fn signer() -> Role {
        Role::Leaf(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation)
    }
}

/// The x509-cert builder profile of [`issue_custom`]: subject, issuer, and extensions
/// by role, always with SKI and AKI (key identifier = SHA-1 of the issuer's public key).
pub struct TestProfile {
    pub subject: Name,
    pub issuer: Name,
    pub role: Role,
}

impl BuilderProfile for TestProfile {
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
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let subject = tbs.subject();
        let mut extensions = Vec::new();
        let ski = SubjectKeyIdentifier::try_from(spk)?;
        extensions.push(ski.to_extension(subject, &extensions)?);
        let aki = AuthorityKeyIdentifier {
            key_identifier: Some(SubjectKeyIdentifier::try_from(issuer_spk)?.0),
            ..Default::default()
        };
        extensions.push(aki.to_extension(subject, &extensions)?);
        match self.role {
            Role::Ca { path_len } => {
                let basic_constraints = BasicConstraints {
                    ca: true,
                    path_len_constraint: path_len,
                };
                extensions.push(basic_constraints.to_extension(subject, &extensions)?);
                let key_usage = KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign);
                extensions.push(key_usage.to_extension(subject, &extensions)?);
            }
            Role::Leaf(usage) => {
                extensions.push(KeyUsage(usage).to_extension(subject, &extensions)?);
            }
        }
        Ok(extensions)
    }
}

/// Whole seconds of `time`, as certificates carry.
pub fn truncate(time: SystemTime) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(time.duration_since(UNIX_EPOCH).unwrap().as_secs())
}

/// Issues, with x509-cert's builder and a random serial, a certificate the CA code would
/// refuse to issue (see [`issue_custom`]).
pub fn issue<S, Sig>(
    subject: &str,
    issuer: &Certificate,
    role: Role,
    subject_key: SubjectPublicKeyInfoOwned,
    validity: (SystemTime, SystemTime),
    issuer_signer: &S,
) -> Certificate
where
    S: Signer<Sig> + Keypair + DynSignatureAlgorithmIdentifier,
    S::VerifyingKey: EncodePublicKey,
    Sig: SignatureBitStringEncoding,
{
    let mut serial = random_bytes::<16>();
    serial[0] = (serial[0] & 0x7f) | 0x01;
    issue_custom::<S, Sig>(
        subject,
        issuer,
        role,
        subject_key,
        validity,
        issuer_signer,
        &serial,
        Vec::new(),
    )
}

/// Issues, with x509-cert's builder, a certificate `affix_pki::ca` would refuse to issue:
/// named `subject` (RFC 4514), issued by `issuer` (its subject becomes the issuer name)
/// signing with `issuer_signer`, with a chosen serial number and extra extensions.
#[allow(clippy::too_many_arguments)]
pub fn issue_custom<S, Sig>(
    subject: &str,
    issuer: &Certificate,
    role: Role,
    subject_key: SubjectPublicKeyInfoOwned,
    validity: (SystemTime, SystemTime),
    issuer_signer: &S,
    serial: &[u8],
    extra_extensions: Vec<Extension>,
) -> Certificate
where
    S: Signer<Sig> + Keypair + DynSignatureAlgorithmIdentifier,
    S::VerifyingKey: EncodePublicKey,
    Sig: SignatureBitStringEncoding,
{
    let profile = TestProfile {
        subject: subject.parse().unwrap(),
        issuer: issuer.tbs_certificate().subject().clone(),
        role,
    };
    let validity = Validity::new(
        Time::try_from(truncate(validity.0)).unwrap(),
        Time::try_from(truncate(validity.1)).unwrap(),
    );
    let mut builder = CertificateBuilder::new(
        profile,
        SerialNumber::new(serial).unwrap(),
        validity,
        subject_key,
    )
    .unwrap();
    for extension in extra_extensions {
        builder.add_extension(extension).unwrap();
    }
    builder.build::<S, Sig>(issuer_signer).unwrap()
}

pub fn spki_of<K: EncodePublicKey>(key: &K) -> SubjectPublicKeyInfoOwned {
    SubjectPublicKeyInfoOwned::from_key(key).unwrap()
}

pub const ROOT_NAME: &str = "CN=Affix Test Root CA,O=Affix Test";
pub const INTERMEDIATE_NAME: &str = "CN=Affix Test Signing CA,O=Affix Test";
pub const SIGNER_NAME: &str = "CN=Zhang San 张三,O=Affix Test";

/// `common_name`, in organization "Affix Test".
pub fn name(common_name: &str) -> SubjectName {
    SubjectName::new(common_name)
        .unwrap()
        .with_organization("Affix Test")
        .unwrap()
}

/// A validity period for `affix_pki::ca`, from a pair of times cut to whole seconds.
pub fn validity_period(validity: (SystemTime, SystemTime)) -> ValidityPeriod {
    let at = |time| DateTime::from_system_time(truncate(time)).unwrap();
    ValidityPeriod::new(at(validity.0), at(validity.1)).unwrap()
}

/// A random certificate serial number.
pub fn random_serial() -> SerialNumber {
    serial_number_from_random(random_bytes())
}

/// A P-256 root → issuing CA (pathLenConstraint 0) → signer hierarchy, valid from two
/// days ago to tomorrow, issued by `affix_pki::ca`.
pub struct Pki {
    pub dir: tempfile::TempDir,
    pub now: SystemTime,
    pub root_issuer: P256Issuer,
    pub root: Certificate,
    pub intermediate_issuer: P256Issuer,
    pub intermediate: Certificate,
    pub signer_key: p256::ecdsa::SigningKey,
    pub signer: Certificate,
}

impl Pki {
    pub fn new() -> Self {
        let now = SystemTime::now();
        let validity = validity_period(Pki::default_validity(now));
        let root_issuer = P256Issuer::create_root(
            p256_key(),
            &name("Affix Test Root CA"),
            random_serial(),
            validity,
        )
        .unwrap();
        let intermediate_key = p256_key();
        let intermediate = root_issuer
            .issue_subordinate_ca(
                &name("Affix Test Signing CA"),
                &SubjectPublicKey::from_keypair(&intermediate_key).unwrap(),
                0,
                random_serial(),
                validity,
            )
            .unwrap();
        let intermediate_issuer = P256Issuer::new(intermediate.clone(), intermediate_key).unwrap();
        let signer_key = p256_key();
        let signer = person(
            &intermediate_issuer,
            &signer_key,
            &name("Zhang San 张三"),
            validity,
        );
        let pki = Pki {
            dir: tempfile::tempdir().unwrap(),
            now,
            root: root_issuer.certificate().clone(),
            root_issuer,
            intermediate,
            intermediate_issuer,
            signer_key,
            signer,
        };
        pki.write("root.pem", certificate_pem(&pki.root).as_bytes());
        pki.write(
            "intermediate.pem",
            certificate_pem(&pki.intermediate).as_bytes(),
        );
        pki.write("signer.pem", certificate_pem(&pki.signer).as_bytes());
        pki.write("signer.key", pkcs8_pem(&pki.signer_key).as_bytes());
        pki
    }

    pub fn default_validity(now: SystemTime) -> (SystemTime, SystemTime) {
        (
            now - Duration::from_secs(2 * 86_400),
            now + Duration::from_secs(86_400),
        )
    }

    /// The issuing CA's key.
    pub fn intermediate_key(&self) -> &p256::ecdsa::SigningKey {
        self.intermediate_issuer.signer()
    }

    /// The chain a signer passes to `sign_detached`.
    pub fn chain(&self) -> Vec<Certificate> {
        vec![self.intermediate.clone(), self.root.clone()]
    }

    /// A P-256 person certificate named `common_name` from the issuing CA.
    pub fn p256_leaf(
        &self,
        common_name: &str,
        validity: (SystemTime, SystemTime),
    ) -> (p256::ecdsa::SigningKey, Certificate) {
        let key = p256_key();
        let certificate = person(
            &self.intermediate_issuer,
            &key,
            &SubjectName::new(common_name).unwrap(),
            validity_period(validity),
        );
        (key, certificate)
    }

    /// An Ed25519 person certificate (issued with ECDSA) named `common_name` in "Affix
    /// Test" from the issuing CA.
    pub fn ed25519_leaf(&self, common_name: &str) -> (ed25519_dalek::SigningKey, Certificate) {
        let key = ed25519_key();
        let certificate = person(
            &self.intermediate_issuer,
            &key,
            &name(common_name),
            validity_period(Pki::default_validity(self.now)),
        );
        (key, certificate)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }

    /// Runs `openssl` in the temporary directory.
    pub fn openssl(&self, args: &[&str]) -> ToolOutput {
        run(self.dir.path(), "openssl", args)
    }
}

/// A natural person's signing certificate (profile `Person`) for `key`, from `issuer`.
pub fn person<S, Sig, K>(
    issuer: &Issuer<S, Sig>,
    key: &K,
    subject: &SubjectName,
    validity: ValidityPeriod,
) -> Certificate
where
    S: affix_pki::ca::CertificateSigner<Sig>,
    Sig: SignatureBitStringEncoding,
    K: Keypair<VerifyingKey: EncodePublicKey>,
{
    issuer
        .issue(
            &Profile::Person(subject.clone()),
            &SubjectPublicKey::from_keypair(key).unwrap(),
            random_serial(),
            validity,
        )
        .unwrap()
}

/// An SM2 root and SM2 signer, both signed with SM2-with-SM3 (DER signatures), issued
/// by `affix_pki::ca`.
pub struct Sm2Pki {
    pub root_key: sm2::dsa::SigningKey,
    pub root: Certificate,
    pub signer_key: sm2::dsa::SigningKey,
    pub signer: Certificate,
}

impl Sm2Pki {
    pub fn new(now: SystemTime) -> Self {
        let validity = validity_period(Pki::default_validity(now));
        let root_key = sm2_key();
        let root_issuer = Issuer::<_, sm2::dsa::DerSignature>::create_root(
            Sm2DerSigner::new(root_key.clone()).unwrap(),
            &name("Affix Test SM2 Root CA"),
            random_serial(),
            validity,
        )
        .unwrap();
        let signer_key = sm2_key();
        let signer = person(&root_issuer, &signer_key, &name("Li Si 李四"), validity);
        Sm2Pki {
            root_key,
            root: root_issuer.certificate().clone(),
            signer_key,
            signer,
        }
    }
}

pub fn pem(label: &str, der: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in encoded.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

pub fn certificate_pem(certificate: &Certificate) -> String {
    pem("CERTIFICATE", &certificate.to_der().unwrap())
}

pub fn pkcs8_pem(key: &p256::ecdsa::SigningKey) -> String {
    use p256::pkcs8::EncodePrivateKey;
    pem("PRIVATE KEY", key.to_pkcs8_der().unwrap().as_bytes())
}

/// What a tool printed and whether it succeeded.
#[derive(Debug)]
pub struct ToolOutput {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl ToolOutput {
    pub fn text(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

pub fn run(dir: &Path, program: &str, args: &[&str]) -> ToolOutput {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|error| panic!("cannot run {program}: {error}"));
    ToolOutput {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[rustfmt::skip]
/// A throwaway OpenSSL TSA (root → TSA certificate with critical EKU timeStamping) in
/// `pki.dir`; returns the `openssl ts` config path.
pub fn setup_openssl_tsa(pki: &Pki) -> PathBuf {
    let ok = |output: ToolOutput| assert!(output.success, "{}", output.text());
    ok(pki.openssl(&[
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "tsa-root.key", "-out", "tsa-root.pem", "-subj", "/CN=Affix Test TSA Root",
        "-days", "2", "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]));
    ok(pki.openssl(&[
        "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "tsa.key", "-out", "tsa.csr", "-subj", "/CN=Affix Test TSA",
    ]));
    pki.write(
        "tsa-ext.cnf",
        b"basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n\
          extendedKeyUsage=critical,timeStamping\nsubjectKeyIdentifier=hash\n\
          authorityKeyIdentifier=keyid\n",
    );
    ok(pki.openssl(&[
        "x509", "-req", "-in", "tsa.csr", "-CA", "tsa-root.pem", "-CAkey", "tsa-root.key",
        "-CAcreateserial", "-out", "tsa.pem", "-days", "1", "-extfile", "tsa-ext.cnf",
    ]));
    pki.write("tsaserial", b"01\n");
    let dir = pki.dir.path().display();
    let config = format!(
        "[ tsa ]\ndefault_tsa = tsa_config\n\n[ tsa_config ]\ndir = {dir}\n\
         serial = $dir/tsaserial\nsigner_cert = $dir/tsa.pem\ncerts = $dir/tsa.pem\n\
         signer_key = $dir/tsa.key\nsigner_digest = sha256\n\
         default_policy = 1.3.6.1.4.1.99999.1\ndigests = sha256, sha384, sha512\n\
         accuracy = secs:1\nordering = no\ntsa_name = yes\ness_cert_id_chain = no\n\
         ess_cert_id_alg = sha256\n"
    );
    pki.write("ts.cnf", config.as_bytes())
}

#[rustfmt::skip]
/// Asks the OpenSSL TSA for a token over `data` (written to `name`.bin); returns the
/// token (DER ContentInfo).
pub fn openssl_timestamp(pki: &Pki, name: &str, data: &[u8]) -> Vec<u8> {
    let data_file = format!("{name}.bin");
    let query = format!("{name}.tsq");
    let token = format!("{name}.tst");
    pki.write(&data_file, data);
    let output = pki.openssl(&[
        "ts", "-query", "-data", &data_file, "-sha256", "-cert", "-out", &query,
    ]);
    assert!(output.success, "{}", output.text());
    let output = pki.openssl(&[
        "ts", "-reply", "-queryfile", &query, "-config", "ts.cnf", "-token_out", "-out",
        &token,
    ]);
    assert!(output.success, "{}", output.text());
    pki.read(&token)
}

/// The Python with pyHanko (`AFFIX_PYHANKO_PYTHON`, default the venv `scripts/test` makes in `target/pyenv`;
/// install with `python3 -m venv DIR && DIR/bin/pip install pyhanko`).
pub fn pyhanko_python() -> String {
    let python = std::env::var("AFFIX_PYHANKO_PYTHON").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/pyenv/bin/python").to_owned()
    });
    assert!(
        Path::new(&python).exists(),
        "pyHanko Python not found at {python}: python3 -m venv DIR && DIR/bin/pip install \
         pyhanko, then set AFFIX_PYHANKO_PYTHON=DIR/bin/python"
    );
    python
}

/// The Python with PyPI `gmssl` (`AFFIX_GMSSL_PYTHON`, default the venv in `target/pyenv`).
pub fn gmssl_python() -> String {
    let python = std::env::var("AFFIX_GMSSL_PYTHON").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/pyenv/bin/python").to_owned()
    });
    assert!(
        Path::new(&python).exists(),
        "gmssl Python not found at {python}: python3 -m venv DIR && DIR/bin/pip install \
         gmssl, then set AFFIX_GMSSL_PYTHON=DIR/bin/python"
    );
    python
}

/// A script in `tests/tools/`.
pub fn tool(name: &str) -> String {
    format!("{}/tests/tools/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// PKCS#8 v1 (RFC 5958 without the public key) for an Ed25519 key: OpenSSL 3.0 does not
/// load the v2 form ed25519-dalek writes.
pub fn ed25519_pkcs8_v1_pem(key: &ed25519_dalek::SigningKey) -> String {
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(key.as_bytes());
    pem("PRIVATE KEY", &der)
}
