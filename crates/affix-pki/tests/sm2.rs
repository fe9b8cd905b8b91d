//! SM2/SM3 issuance, checked with an independent SM2 implementation (PyPI
//! gmssl, pure Python) and with openssl 3.0 as far as it goes.

#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

mod common;

use affix_pki::{
    ca::{CreditCode, OrganizationSubject, Profile, SubjectName, SubjectPublicKey, VerifiedCsr},
    crl::{CrlTimes, RevokedEntry, build_crl},
    ocsp::{CertStatus, OcspResponseStatus, Responder, ResponseTimes},
};
use common::*;
use der::{Decode, Encode};
use x509_cert::ext::pkix::CrlReason;

fn gmssl_verify(scratch: &Scratch, kind: &str, signed: &str, signer: &str) -> Run {
    run(
        GMSSL_PYTHON,
        &[sm2_verify_script().to_str().unwrap(), kind, signed, signer],
        scratch.dir(),
    )
}

#[test]
fn sm2_chain_crl_and_ocsp_verify_with_gmssl() {
    let (root, issuing): (Sm2Issuer, Sm2Issuer) = pki(sm2_key(), sm2_key());
    let leaf_key = SubjectPublicKey::from_keypair(&sm2_key()).unwrap();
    let person = issuing
        .issue(
            &Profile::Person(
                SubjectName::new("张三")
                    .unwrap()
                    .with_country("CN")
                    .unwrap(),
            ),
            &leaf_key,
            serial(),
            validity(0, DAY_S),
        )
        .unwrap();
    let organization = issuing
        .issue(
            &Profile::Organization(
                OrganizationSubject::new(
                    "北京某某科技有限公司",
                    CreditCode::parse("91350100M000100Y43").unwrap(),
                )
                .unwrap(),
            ),
            &leaf_key,
            serial(),
            validity(0, DAY_S),
        )
        .unwrap();
    let crl = build_crl(
        &issuing,
        7,
        CrlTimes::new(at(-60), at(DAY_S)).unwrap(),
        &[RevokedEntry::new(
            organization.tbs_certificate().serial_number().clone(),
            at(-30),
            Some(CrlReason::Superseded),
        )
        .unwrap()],
    )
    .unwrap();

    let scratch = Scratch::new();
    scratch.write("root.der", &root.certificate().to_der().unwrap());
    scratch.write("issuing.der", &issuing.certificate().to_der().unwrap());
    scratch.write("person.der", &person.to_der().unwrap());
    scratch.write("organization.der", &organization.to_der().unwrap());
    scratch.write("crl.der", &crl.to_der().unwrap());
    scratch.write_cert("root.pem", root.certificate());
    scratch.write_cert("issuing.pem", issuing.certificate());
    scratch.write_cert("person.pem", &person);

    // OCSP request from openssl for the SM2 leaf, answered by the SM2 CA.
    let run_req = openssl(
        &[
            "ocsp",
            "-issuer",
            "issuing.pem",
            "-cert",
            "person.pem",
            "-reqout",
            "req.der",
        ],
        scratch.dir(),
    );
    assert_ok(&run_req, "openssl ocsp -reqout");
    let responder = Responder::<_, sm2::dsa::DerSignature>::for_ca(
        issuing.certificate(),
        issuing.signer().clone(),
    )
    .unwrap();
    let answer = responder.respond(
        &std::fs::read(scratch.path("req.der")).unwrap(),
        &ResponseTimes::new(at(0), at(-60), Some(at(DAY_S))).unwrap(),
        |_| CertStatus::Good,
    );
    assert_eq!(answer.status(), OcspResponseStatus::Successful);
    scratch.write("resp.der", answer.der());

    for (kind, signed, signer) in [
        ("cert", "root.der", "root.der"),
        ("cert", "issuing.der", "root.der"),
        ("cert", "person.der", "issuing.der"),
        ("cert", "organization.der", "issuing.der"),
        ("crl", "crl.der", "issuing.der"),
        ("ocsp", "resp.der", "issuing.der"),
    ] {
        let run = gmssl_verify(&scratch, kind, signed, signer);
        assert_ok(&run, &format!("gmssl verify {signed} by {signer}"));
        assert_eq!(run.stdout.trim(), "OK");
    }

    // Negative controls: the checker is not vacuous.
    let run = gmssl_verify(&scratch, "cert", "person.der", "root.der");
    assert!(!run.success, "wrong signer key accepted");
    let mut tampered = person.to_der().unwrap();
    let cn = tampered
        .windows("张三".len())
        .position(|w| w == "张三".as_bytes())
        .unwrap();
    tampered[cn + 2] ^= 0x01;
    scratch.write("tampered.der", &tampered);
    let run = gmssl_verify(&scratch, "cert", "tampered.der", "issuing.der");
    assert!(!run.success, "tampered certificate accepted");

    // openssl 3.0: parses and prints the SM2 certificate ...
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
    assert!(run.stdout.contains("SM2-with-SM3"), "{}", run.stdout);
    assert!(run.stdout.contains("CN=张三"), "{}", run.stdout);
    assert!(run.stdout.contains("ASN1 OID: SM2"), "{}", run.stdout);
    // ... and, given the default identifier, verifies every SM2 signature
    // we made with `pkeyutl` (to-be-signed bytes and signature cut out by
    // x509-cert, key taken out of the signer certificate by openssl).
    //
    // Not used: `openssl verify` / `openssl crl -CAfile` / `openssl ocsp`.
    // OpenSSL 3.0 checks SM2 certificate, CRL and OCSP signatures with an
    // empty identifier, and `-vfyopt distid:...` does not reach chain
    // building, so it rejects every SM2 signature made with the standard
    // identifier, including those made by `openssl req -x509 -sigopt
    // distid:1234567812345678` itself.
    let basic = {
        let response = affix_pki::ocsp::asn1::OcspResponse::from_der(answer.der()).unwrap();
        affix_pki::ocsp::asn1::BasicOcspResponse::from_der(
            response.response_bytes.unwrap().response.as_bytes(),
        )
        .unwrap()
    };
    let signed: [(&str, Vec<u8>, &der::asn1::BitString, &str); 6] = [
        (
            "root",
            root.certificate().tbs_certificate().to_der().unwrap(),
            root.certificate().signature(),
            "root.pem",
        ),
        (
            "issuing",
            issuing.certificate().tbs_certificate().to_der().unwrap(),
            issuing.certificate().signature(),
            "root.pem",
        ),
        (
            "person",
            person.tbs_certificate().to_der().unwrap(),
            person.signature(),
            "issuing.pem",
        ),
        (
            "organization",
            organization.tbs_certificate().to_der().unwrap(),
            organization.signature(),
            "issuing.pem",
        ),
        (
            "crl",
            crl.tbs_cert_list.to_der().unwrap(),
            &crl.signature,
            "issuing.pem",
        ),
        (
            "ocsp",
            basic.tbs_response_data.to_der().unwrap(),
            &basic.signature,
            "issuing.pem",
        ),
    ];
    for (name, tbs, signature, signer) in signed {
        let tbs_file = format!("{name}.tbs");
        let sig_file = format!("{name}.sig");
        scratch.write(&tbs_file, &tbs);
        scratch.write(&sig_file, signature.raw_bytes());
        let pub_file = format!("{signer}.pub");
        let run = openssl(
            &[
                "x509", "-in", signer, "-noout", "-pubkey", "-out", &pub_file,
            ],
            scratch.dir(),
        );
        assert_ok(&run, "openssl x509 -pubkey");
        let verify = |id: Option<&str>| {
            let mut args = vec![
                "pkeyutl", "-verify", "-pubin", "-inkey", &pub_file, "-rawin", "-digest", "sm3",
                "-in", &tbs_file, "-sigfile", &sig_file,
            ];
            if let Some(id) = id {
                args.extend_from_slice(&["-pkeyopt", id]);
            }
            openssl(&args, scratch.dir())
        };
        let run = verify(Some("distid:1234567812345678"));
        assert_ok(&run, &format!("openssl pkeyutl -verify {name}"));
        assert!(
            run.stdout.contains("Signature Verified Successfully"),
            "{}",
            run.all()
        );
        // Negative control: the identifier really is hashed in.
        assert!(
            !verify(None).success,
            "{name} verified with the empty identifier"
        );
    }
}

/// An SM2 CSR made and signed by openssl (SM3, default ID) verifies in our
/// CSR path: an independent SM2 signer checked by our verifier.
#[test]
fn sm2_csr_from_openssl_is_verified_and_issued() {
    let (_root, issuing): (Sm2Issuer, Sm2Issuer) = pki(sm2_key(), sm2_key());
    let scratch = Scratch::new();
    // `-newkey ec -pkeyopt ec_paramgen_curve:SM2` together with `-sigopt`
    // fails in openssl 3.0, so make the key first.
    assert_ok(
        &openssl(
            &["genpkey", "-algorithm", "SM2", "-out", "key.pem"],
            scratch.dir(),
        ),
        "openssl genpkey SM2",
    );
    let run = openssl(
        &[
            "req",
            "-new",
            "-utf8",
            "-key",
            "key.pem",
            "-sm3",
            "-sigopt",
            "distid:1234567812345678",
            "-subj",
            "/CN=王五",
            "-outform",
            "DER",
            "-out",
            "req.der",
        ],
        scratch.dir(),
    );
    assert_ok(&run, "openssl req (SM2)");
    let csr_der = std::fs::read(scratch.path("req.der")).unwrap();
    let csr = VerifiedCsr::from_der(&csr_der).expect("openssl SM2 CSR verifies");
    assert_eq!(
        csr.public_key().algorithm(),
        affix_pki::ca::KeyAlgorithm::Sm2
    );
    let certificate = issuing
        .issue_from_csr(
            &Profile::Person(SubjectName::new("王五").unwrap()),
            &csr,
            serial(),
            validity(0, DAY_S),
        )
        .unwrap();
    scratch.write("leaf.der", &certificate.to_der().unwrap());
    scratch.write("issuing.der", &issuing.certificate().to_der().unwrap());
    let run = gmssl_verify(&scratch, "cert", "leaf.der", "issuing.der");
    assert_ok(&run, "gmssl verify leaf from SM2 CSR");
    // openssl also checks the CSR's own signature with the same ID.
    let run = openssl(
        &[
            "req",
            "-in",
            "req.der",
            "-inform",
            "DER",
            "-verify",
            "-noout",
            "-vfyopt",
            "distid:1234567812345678",
        ],
        scratch.dir(),
    );
    assert_ok(&run, "openssl req -verify (SM2)");
    assert!(run.all().contains("verify OK"), "{}", run.all());

    // Without -sigopt, openssl 3.0 signs SM2 with an empty identifier: still
    // proof of possession, accepted.
    let run = openssl(
        &[
            "req",
            "-new",
            "-utf8",
            "-key",
            "key.pem",
            "-sm3",
            "-subj",
            "/CN=王五",
            "-outform",
            "DER",
            "-out",
            "req-empty-id.der",
        ],
        scratch.dir(),
    );
    assert_ok(&run, "openssl req (SM2, empty ID)");
    let csr = VerifiedCsr::from_der(&std::fs::read(scratch.path("req-empty-id.der")).unwrap())
        .expect("empty-ID SM2 CSR verifies");
    assert_eq!(
        csr.public_key().algorithm(),
        affix_pki::ca::KeyAlgorithm::Sm2
    );
}
