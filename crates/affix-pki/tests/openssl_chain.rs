//! Certificates and CRLs issued by the core, checked by `openssl` 3.0.

#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

mod common;

use affix_pki::{
    Error,
    ca::{
        CertificateSigner, CreditCode, Issuer, OrganizationSubject, Profile, SubjectName,
        SubjectPublicKey, VerifiedCsr,
    },
    crl::{CrlTimes, RevokedEntry, build_crl},
};
use common::*;
use der::{Decode, Encode, Tagged, asn1::Utf8StringRef};
use spki::SignatureBitStringEncoding;
use x509_cert::{
    Certificate,
    ext::pkix::{BasicConstraints, CrlReason, KeyUsage},
};

const PERSON_CN: &str = "张三";
const COMPANY: &str = "北京某某科技有限公司";
const CREDIT_CODE: &str = "91350100M000100Y43";

fn person() -> Profile {
    Profile::Person(
        SubjectName::new(PERSON_CN)
            .unwrap()
            .with_organization(COMPANY)
            .unwrap()
            .with_country("CN")
            .unwrap(),
    )
}

fn organization() -> Profile {
    Profile::Organization(
        OrganizationSubject::new(COMPANY, CreditCode::parse(CREDIT_CODE).unwrap()).unwrap(),
    )
}

fn tsa() -> Profile {
    Profile::TsaSigner(SubjectName::new("Affix 时间戳服务").unwrap())
}

fn ocsp_signer() -> Profile {
    Profile::OcspSigner(SubjectName::new("Affix OCSP 响应器").unwrap())
}

/// Issue person, organization, TSA and OCSP-signer certificates for
/// `leaf_key` and have openssl verify them with -x509_strict.
fn chain_verifies<S, Sig>(
    root: &Issuer<S, Sig>,
    issuing: &Issuer<S, Sig>,
    leaf_key: &SubjectPublicKey,
) where
    S: CertificateSigner<Sig>,
    Sig: SignatureBitStringEncoding,
{
    let scratch = Scratch::new();
    scratch.write_cert("root.pem", root.certificate());
    scratch.write_cert("issuing.pem", issuing.certificate());
    for (name, profile) in [
        ("person.pem", person()),
        ("organization.pem", organization()),
        ("tsa.pem", tsa()),
        ("ocsp.pem", ocsp_signer()),
    ] {
        let certificate = issuing
            .issue(&profile, leaf_key, serial(), validity(0, 365 * DAY_S))
            .expect("issue");
        scratch.write_cert(name, &certificate);
    }
    let run = openssl(
        &[
            "verify",
            "-x509_strict",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "issuing.pem",
            "person.pem",
            "organization.pem",
            "tsa.pem",
            "ocsp.pem",
        ],
        scratch.dir(),
    );
    assert_ok(&run, "openssl verify -x509_strict");
    for name in ["person.pem", "organization.pem", "tsa.pem", "ocsp.pem"] {
        assert!(
            run.stdout.contains(&format!("{name}: OK")),
            "{}",
            run.stdout
        );
    }
    // The TSA certificate also passes OpenSSL's time-stamping purpose check
    // (critical EKU timeStamping only).
    let run = openssl(
        &[
            "verify",
            "-x509_strict",
            "-purpose",
            "timestampsign",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "issuing.pem",
            "tsa.pem",
        ],
        scratch.dir(),
    );
    assert_ok(&run, "openssl verify -purpose timestampsign");
}

#[test]
fn p256_person_and_organization_chains_verify_strict() {
    let (root, issuing): (P256Issuer, P256Issuer) = pki(p256_key(), p256_key());
    chain_verifies(
        &root,
        &issuing,
        &SubjectPublicKey::from_keypair(&p256_key()).unwrap(),
    );
}

#[test]
fn ed25519_person_and_organization_chains_verify_strict() {
    let (root, issuing): (Ed25519Issuer, Ed25519Issuer) = pki(ed25519_key(), ed25519_key());
    chain_verifies(
        &root,
        &issuing,
        &SubjectPublicKey::from_keypair(&ed25519_key()).unwrap(),
    );
}

#[test]
fn chinese_names_round_trip_and_display_in_openssl() {
    let (_root, issuing): (P256Issuer, P256Issuer) = pki(p256_key(), p256_key());
    let key = SubjectPublicKey::from_keypair(&p256_key()).unwrap();
    let person = issuing
        .issue(&person(), &key, serial(), validity(0, DAY_S))
        .unwrap();
    let organization = issuing
        .issue(&organization(), &key, serial(), validity(0, DAY_S))
        .unwrap();

    // Round trip through DER: CN is a UTF8String holding exactly 张三.
    let decoded = Certificate::from_der(&person.to_der().unwrap()).unwrap();
    let cn = decoded
        .tbs_certificate()
        .subject()
        .iter()
        .find(|atv| atv.oid == const_oid::db::rfc4519::CN)
        .unwrap();
    assert_eq!(cn.value.tag(), der::Tag::Utf8String);
    assert_eq!(
        Utf8StringRef::try_from(&cn.value).unwrap().as_str(),
        PERSON_CN
    );

    let scratch = Scratch::new();
    scratch.write_cert("person.pem", &person);
    scratch.write_cert("organization.pem", &organization);
    let run = openssl(
        &[
            "x509",
            "-in",
            "person.pem",
            "-noout",
            "-text",
            "-nameopt",
            "utf8",
        ],
        scratch.dir(),
    );
    assert_ok(&run, "openssl x509 -text");
    println!("{}", run.stdout);
    assert!(run.stdout.contains("CN=张三"), "{}", run.stdout);
    assert!(
        run.stdout.contains(&format!("O={COMPANY}")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("Digital Signature, Non Repudiation"));
    assert!(run.stdout.contains("CA:FALSE"));
    assert!(run.stdout.contains("URI:http://ca.affix.test/issuing.crl"));
    assert!(run.stdout.contains("OCSP - URI:http://ocsp.affix.test/"));

    let run = openssl(
        &[
            "x509",
            "-in",
            "organization.pem",
            "-noout",
            "-subject",
            "-nameopt",
            "utf8",
        ],
        scratch.dir(),
    );
    assert_ok(&run, "openssl x509 -subject");
    println!("{}", run.stdout);
    assert!(
        run.stdout
            .contains(&format!("organizationIdentifier=NTRCN-{CREDIT_CODE}")),
        "{}",
        run.stdout
    );
}

#[test]
fn tsa_and_ocsp_signer_profiles_have_their_extended_key_usage() {
    let (_root, issuing): (P256Issuer, P256Issuer) = pki(p256_key(), p256_key());
    let key = SubjectPublicKey::from_keypair(&p256_key()).unwrap();
    let scratch = Scratch::new();
    let tsa = issuing
        .issue(&tsa(), &key, serial(), validity(0, DAY_S))
        .unwrap();
    let ocsp = issuing
        .issue(&ocsp_signer(), &key, serial(), validity(0, DAY_S))
        .unwrap();
    scratch.write_cert("tsa.pem", &tsa);
    scratch.write_cert("ocsp.pem", &ocsp);
    let run = openssl(
        &["x509", "-in", "tsa.pem", "-noout", "-text"],
        scratch.dir(),
    );
    assert_ok(&run, "openssl x509 -text (tsa)");
    let eku = run
        .stdout
        .split("X509v3 Extended Key Usage: critical")
        .nth(1);
    assert!(
        eku.is_some_and(|rest| rest.trim_start().starts_with("Time Stamping\n")),
        "{}",
        run.stdout
    );
    let run = openssl(
        &["x509", "-in", "ocsp.pem", "-noout", "-text"],
        scratch.dir(),
    );
    assert_ok(&run, "openssl x509 -text (ocsp)");
    assert!(run.stdout.contains("OCSP Signing"), "{}", run.stdout);
    assert!(run.stdout.contains("OCSP No Check"), "{}", run.stdout);
    // No OCSP URL in the OCSP signer's own certificate.
    assert!(!run.stdout.contains("OCSP - URI"), "{}", run.stdout);
}

#[test]
fn p256_crl_revokes_and_openssl_reads_and_checks_it() {
    let (root, issuing): (P256Issuer, P256Issuer) = pki(p256_key(), p256_key());
    crl_revokes(
        &root,
        &issuing,
        &SubjectPublicKey::from_keypair(&p256_key()).unwrap(),
    );
}

#[test]
fn ed25519_crl_revokes_and_openssl_reads_and_checks_it() {
    let (root, issuing): (Ed25519Issuer, Ed25519Issuer) = pki(ed25519_key(), ed25519_key());
    crl_revokes(
        &root,
        &issuing,
        &SubjectPublicKey::from_keypair(&ed25519_key()).unwrap(),
    );
}

fn crl_revokes<S, Sig>(root: &Issuer<S, Sig>, issuing: &Issuer<S, Sig>, key: &SubjectPublicKey)
where
    S: CertificateSigner<Sig>,
    Sig: SignatureBitStringEncoding,
{
    let good = issuing
        .issue(&person(), key, serial(), validity(0, DAY_S))
        .unwrap();
    let revoked = issuing
        .issue(&person(), key, serial(), validity(0, DAY_S))
        .unwrap();
    let times = CrlTimes::new(at(-60), at(7 * DAY_S)).unwrap();
    let entry = RevokedEntry::new(
        revoked.tbs_certificate().serial_number().clone(),
        at(-30),
        Some(CrlReason::KeyCompromise),
    )
    .unwrap();
    let issuing_crl = build_crl(issuing, 42, times, &[entry]).unwrap();
    let root_crl = build_crl(root, 1, times, &[]).unwrap();

    let scratch = Scratch::new();
    scratch.write_cert("root.pem", root.certificate());
    scratch.write_cert("issuing.pem", issuing.certificate());
    scratch.write_cert("good.pem", &good);
    scratch.write_cert("revoked.pem", &revoked);
    scratch.write_pem("crl.pem", &issuing_crl);
    scratch.write_pem("root-crl.pem", &root_crl);
    std::fs::write(
        scratch.path("all-crls.pem"),
        [
            std::fs::read(scratch.path("crl.pem")).unwrap(),
            std::fs::read(scratch.path("root-crl.pem")).unwrap(),
        ]
        .concat(),
    )
    .unwrap();

    let run = openssl(
        &[
            "crl",
            "-in",
            "crl.pem",
            "-noout",
            "-text",
            "-CAfile",
            "issuing.pem",
        ],
        scratch.dir(),
    );
    assert_ok(&run, "openssl crl -text");
    println!("{}", run.all());
    assert!(run.all().contains("verify OK"), "{}", run.all());
    assert!(run.stdout.contains("Version 2"), "{}", run.stdout);
    assert!(run.stdout.contains("X509v3 CRL Number"), "{}", run.stdout);
    assert!(run.stdout.contains("42"), "{}", run.stdout);
    assert!(run.stdout.contains("Key Compromise"), "{}", run.stdout);
    assert!(
        run.stdout.contains("X509v3 Authority Key Identifier"),
        "{}",
        run.stdout
    );
    let serial_hex: String = revoked
        .tbs_certificate()
        .serial_number()
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    assert!(run.stdout.contains(&serial_hex), "{}", run.stdout);

    let verify = |leaf: &str, crl_flag: &str, crl_file: &str| {
        openssl(
            &[
                "verify",
                "-x509_strict",
                crl_flag,
                "-CRLfile",
                crl_file,
                "-CAfile",
                "root.pem",
                "-untrusted",
                "issuing.pem",
                leaf,
            ],
            scratch.dir(),
        )
    };
    assert_ok(
        &verify("good.pem", "-crl_check", "crl.pem"),
        "crl_check good",
    );
    assert_ok(
        &verify("good.pem", "-crl_check_all", "all-crls.pem"),
        "crl_check_all good",
    );
    for (flag, file) in [
        ("-crl_check", "crl.pem"),
        ("-crl_check_all", "all-crls.pem"),
    ] {
        let run = verify("revoked.pem", flag, file);
        assert!(!run.success, "revoked certificate accepted");
        assert!(run.all().contains("certificate revoked"), "{}", run.all());
    }
}

/// `openssl req` makes a CSR asking for CA powers; we issue a person
/// certificate for its key and nothing it asked for.
#[test]
fn csr_from_openssl_is_issued_without_requested_extensions() {
    let (_root, issuing): (P256Issuer, P256Issuer) = pki(p256_key(), p256_key());
    let scratch = Scratch::new();
    scratch.write_cert("root.pem", _root.certificate());
    scratch.write_cert("issuing.pem", issuing.certificate());
    for (name, key_args) in [
        (
            "p256",
            &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"][..],
        ),
        ("ed25519", &["-newkey", "ed25519"][..]),
    ] {
        let csr_file = format!("{name}.csr.der");
        let mut args = vec!["req", "-new"];
        args.extend_from_slice(key_args);
        args.extend_from_slice(&[
            "-subj",
            "/CN=Mallory/O=Evil CA",
            "-nodes",
            "-keyout",
            "key.pem",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-addext",
            "subjectAltName=DNS:bank.example",
            "-outform",
            "DER",
            "-out",
            &csr_file,
        ]);
        assert_ok(&openssl(&args, scratch.dir()), "openssl req");
        let csr_der = std::fs::read(scratch.path(&csr_file)).unwrap();
        let csr = VerifiedCsr::from_der(&csr_der).expect("CSR verifies");
        // The same request as PEM.
        let pem_file = format!("{name}.csr.pem");
        assert_ok(
            &openssl(
                &["req", "-in", &csr_file, "-inform", "DER", "-out", &pem_file],
                scratch.dir(),
            ),
            "openssl req -out PEM",
        );
        let from_pem =
            VerifiedCsr::from_pem(&std::fs::read_to_string(scratch.path(&pem_file)).unwrap())
                .expect("PEM CSR verifies");
        assert_eq!(from_pem.public_key(), csr.public_key());
        assert_eq!(csr.requested_extensions().len(), 3);
        let certificate = issuing
            .issue_from_csr(&person(), &csr, serial(), validity(0, DAY_S))
            .unwrap();
        let tbs = certificate.tbs_certificate();
        assert_eq!(tbs.subject_public_key_info(), csr.public_key().spki());
        let (_, bc) = tbs.get_extension::<BasicConstraints>().unwrap().unwrap();
        assert!(!bc.ca);
        let (_, ku) = tbs.get_extension::<KeyUsage>().unwrap().unwrap();
        assert!(!ku.key_cert_sign() && !ku.crl_sign());
        assert!(
            tbs.extensions()
                .unwrap()
                .iter()
                .all(|e| e.extn_id != const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME)
        );
        assert!(!tbs.subject().to_string().contains("Mallory"));

        let leaf = format!("{name}.pem");
        scratch.write_cert(&leaf, &certificate);
        let run = openssl(
            &[
                "verify",
                "-x509_strict",
                "-CAfile",
                "root.pem",
                "-untrusted",
                "issuing.pem",
                &leaf,
            ],
            scratch.dir(),
        );
        assert_ok(&run, "openssl verify (CSR path)");
        // The certificate's key is the one openssl generated.
        let run_key = openssl(&["pkey", "-in", "key.pem", "-pubout"], scratch.dir());
        let run_cert = openssl(&["x509", "-in", &leaf, "-noout", "-pubkey"], scratch.dir());
        assert_eq!(run_key.stdout, run_cert.stdout);
    }
}

#[test]
fn csr_with_bad_signature_is_refused() {
    let scratch = Scratch::new();
    let run = openssl(
        &[
            "req",
            "-new",
            "-utf8",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-subj",
            "/CN=张三",
            "-nodes",
            "-keyout",
            "key.pem",
            "-outform",
            "DER",
            "-out",
            "req.der",
        ],
        scratch.dir(),
    );
    assert_ok(&run, "openssl req");
    let good = std::fs::read(scratch.path("req.der")).unwrap();
    assert!(VerifiedCsr::from_der(&good).is_ok());

    // Change one byte of the signed certificationRequestInfo (inside the
    // subject's CN) so the structure stays valid DER but the signature fails.
    let mut tampered = good.clone();
    let position = good
        .windows("张三".len())
        .position(|w| w == "张三".as_bytes())
        .unwrap();
    tampered[position + 2] ^= 0x01;
    assert!(matches!(
        VerifiedCsr::from_der(&tampered),
        Err(Error::CsrSignatureInvalid)
    ));

    // Change the last byte of the ECDSA signature's s value.
    let mut tampered = good.clone();
    *tampered.last_mut().unwrap() ^= 0x01;
    assert!(matches!(
        VerifiedCsr::from_der(&tampered),
        Err(Error::CsrSignatureInvalid)
    ));
}
