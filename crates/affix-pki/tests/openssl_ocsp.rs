//! OCSP: requests made by `openssl ocsp`, answered by the core, checked by
//! `openssl ocsp -respin`.

#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

mod common;

use affix_pki::{
    Error,
    ca::{CertificateSigner, Issuer, Profile, SubjectName, SubjectPublicKey},
    ocsp::{CertStatus, OcspResponseStatus, ParsedRequest, Responder, ResponseTimes, asn1},
};
use common::*;
use der::{DateTime, Decode};
use spki::SignatureBitStringEncoding;
use x509_cert::{Certificate, ext::pkix::CrlReason, serial_number::SerialNumber};

fn person() -> Profile {
    Profile::Person(
        SubjectName::new("李四")
            .unwrap()
            .with_country("CN")
            .unwrap(),
    )
}

struct Fixture<S, Sig> {
    root: Issuer<S, Sig>,
    issuing: Issuer<S, Sig>,
    good: Certificate,
    revoked: Certificate,
    revoked_at: DateTime,
    scratch: Scratch,
}

fn fixture<S, Sig>(root_key: S, issuing_key: S, leaf_key: &SubjectPublicKey) -> Fixture<S, Sig>
where
    S: CertificateSigner<Sig>,
    Sig: SignatureBitStringEncoding,
{
    let (root, issuing) = pki(root_key, issuing_key);
    let good = issuing
        .issue(&person(), leaf_key, serial(), validity(0, DAY_S))
        .unwrap();
    let revoked = issuing
        .issue(&person(), leaf_key, serial(), validity(0, DAY_S))
        .unwrap();
    let scratch = Scratch::new();
    scratch.write_cert("root.pem", root.certificate());
    scratch.write_cert("issuing.pem", issuing.certificate());
    scratch.write_cert("good.pem", &good);
    scratch.write_cert("revoked.pem", &revoked);
    Fixture {
        root,
        issuing,
        good,
        revoked,
        revoked_at: at(-120),
        scratch,
    }
}

impl<S, Sig> Fixture<S, Sig> {
    fn lookup(&self) -> impl Fn(&SerialNumber) -> CertStatus + '_ {
        move |serial| {
            if serial == self.good.tbs_certificate().serial_number() {
                CertStatus::Good
            } else if serial == self.revoked.tbs_certificate().serial_number() {
                CertStatus::Revoked {
                    revoked_at: self.revoked_at,
                    reason: Some(CrlReason::KeyCompromise),
                }
            } else {
                CertStatus::Unknown
            }
        }
    }
}

fn times() -> ResponseTimes {
    ResponseTimes::new(at(0), at(-60), Some(at(DAY_S))).unwrap()
}

/// Make a request with openssl, answer it with `responder`, and check the
/// answer with openssl. Returns openssl's combined output.
fn round_trip<S, Sig>(
    fixture: &Fixture<S, Sig>,
    responder: &Responder<S, Sig>,
    leaf: &str,
    request_flags: &[&str],
) -> String
where
    S: CertificateSigner<Sig>,
    Sig: SignatureBitStringEncoding,
{
    let dir = fixture.scratch.dir();
    // openssl wants the digest option before -cert.
    let mut args = vec!["ocsp"];
    args.extend_from_slice(request_flags);
    args.extend_from_slice(&[
        "-issuer",
        "issuing.pem",
        "-cert",
        leaf,
        "-reqout",
        "req.der",
    ]);
    assert_ok(&openssl(&args, dir), "openssl ocsp -reqout");
    let request = std::fs::read(fixture.scratch.path("req.der")).unwrap();

    let answer = responder.respond(&request, &times(), fixture.lookup());
    assert_eq!(
        answer.status(),
        OcspResponseStatus::Successful,
        "{:?}",
        answer.refusal()
    );
    fixture.scratch.write("resp.der", answer.der());

    // Check 1: signature, chain and nonce against the stored request.
    // (`-cert` would make openssl build a fresh request with a new nonce,
    // so it is left out here.)
    let run = openssl(
        &[
            "ocsp",
            "-respin",
            "resp.der",
            "-reqin",
            "req.der",
            "-issuer",
            "issuing.pem",
            "-CAfile",
            "root.pem",
            "-resp_text",
        ],
        dir,
    );
    assert_ok(&run, "openssl ocsp -respin -reqin");
    let mut all = run.all();
    assert!(all.contains("Response verify OK"), "{all}");
    assert!(!all.contains("WARNING"), "{all}");
    assert!(!all.contains("Nonce Verify error"), "{all}");

    // Check 2: openssl matches the answer to the certificate itself and
    // prints its status (no nonce to compare in this mode).
    let mut args = vec!["ocsp", "-no_nonce"];
    if request_flags.contains(&"-sha256") {
        args.push("-sha256");
    }
    args.extend_from_slice(&[
        "-respin",
        "resp.der",
        "-issuer",
        "issuing.pem",
        "-CAfile",
        "root.pem",
        "-cert",
        leaf,
    ]);
    let run = openssl(&args, dir);
    assert_ok(&run, "openssl ocsp -respin -cert");
    assert!(run.all().contains("Response verify OK"), "{}", run.all());
    all.push_str(&run.all());
    all
}

fn check_all_request_kinds<S, Sig>(fixture: &Fixture<S, Sig>, responder: &Responder<S, Sig>)
where
    S: CertificateSigner<Sig>,
    Sig: SignatureBitStringEncoding,
{
    for flags in [
        &[][..],
        &["-no_nonce"][..],
        &["-sha256"][..],
        &["-sha256", "-no_nonce"][..],
    ] {
        let out = round_trip(fixture, responder, "good.pem", flags);
        assert!(out.contains("good.pem: good"), "{flags:?}: {out}");
        let with_nonce = !flags.contains(&"-no_nonce");
        assert_eq!(out.contains("OCSP Nonce"), with_nonce, "{flags:?}: {out}");
        if flags.contains(&"-sha256") {
            assert!(out.contains("Hash Algorithm: sha256"), "{out}");
        } else {
            assert!(out.contains("Hash Algorithm: sha1"), "{out}");
        }

        let out = round_trip(fixture, responder, "revoked.pem", flags);
        assert!(out.contains("revoked.pem: revoked"), "{flags:?}: {out}");
        assert!(out.contains("Reason: keyCompromise"), "{flags:?}: {out}");
    }
}

#[test]
fn p256_ca_signed_responses_verify_in_openssl() {
    let leaf = SubjectPublicKey::from_keypair(&p256_key()).unwrap();
    let fixture: Fixture<_, p256::ecdsa::DerSignature> = fixture(p256_key(), p256_key(), &leaf);
    let responder = Responder::<_, p256::ecdsa::DerSignature>::for_ca(
        fixture.issuing.certificate(),
        fixture.issuing.signer().clone(),
    )
    .unwrap();
    check_all_request_kinds(&fixture, &responder);
    let out = round_trip(&fixture, &responder, "good.pem", &[]);
    println!("{out}");
    assert!(out.contains("Responder Id: "), "{out}");

    // A certificate the lookup does not know is "unknown".
    let stranger = fixture
        .issuing
        .issue(&person(), &leaf, serial(), validity(0, DAY_S))
        .unwrap();
    fixture.scratch.write_cert("stranger.pem", &stranger);
    let out = round_trip(&fixture, &responder, "stranger.pem", &[]);
    assert!(out.contains("stranger.pem: unknown"), "{out}");

    // Negative control: a response with one signature bit flipped fails
    // openssl's verification.
    let mut tampered = std::fs::read(fixture.scratch.path("resp.der")).unwrap();
    let last = tampered.len() - 1;
    tampered[last] ^= 0x01;
    fixture.scratch.write("tampered.der", &tampered);
    let run = openssl(
        &[
            "ocsp",
            "-respin",
            "tampered.der",
            "-reqin",
            "req.der",
            "-issuer",
            "issuing.pem",
            "-CAfile",
            "root.pem",
        ],
        fixture.scratch.dir(),
    );
    assert!(!run.all().contains("Response verify OK"), "{}", run.all());
    assert!(
        run.all().contains("Response Verify Failure"),
        "{}",
        run.all()
    );
}

#[test]
fn ed25519_ca_signed_responses_verify_in_openssl() {
    let leaf = SubjectPublicKey::from_keypair(&ed25519_key()).unwrap();
    let fixture: Fixture<_, ed25519_dalek::Signature> =
        fixture(ed25519_key(), ed25519_key(), &leaf);
    let responder = Responder::<_, ed25519_dalek::Signature>::for_ca(
        fixture.issuing.certificate(),
        fixture.issuing.signer().clone(),
    )
    .unwrap();
    check_all_request_kinds(&fixture, &responder);
}

#[test]
fn delegated_responder_responses_verify_in_openssl() {
    let leaf = SubjectPublicKey::from_keypair(&p256_key()).unwrap();
    let fixture: Fixture<_, p256::ecdsa::DerSignature> = fixture(p256_key(), p256_key(), &leaf);
    let responder_key = p256_key();
    let responder_certificate = fixture
        .issuing
        .issue(
            &Profile::OcspSigner(SubjectName::new("Affix OCSP").unwrap()),
            &SubjectPublicKey::from_keypair(&responder_key).unwrap(),
            serial(),
            validity(0, DAY_S),
        )
        .unwrap();
    let responder = Responder::<_, p256::ecdsa::DerSignature>::delegated(
        fixture.issuing.certificate(),
        responder_certificate.clone(),
        responder_key.clone(),
    )
    .unwrap();
    check_all_request_kinds(&fixture, &responder);

    // A person certificate is no OCSP signer, and a signer that does not
    // hold the responder certificate's key is refused.
    let person_cert = fixture
        .issuing
        .issue(
            &person(),
            &SubjectPublicKey::from_keypair(&responder_key).unwrap(),
            serial(),
            validity(0, DAY_S),
        )
        .unwrap();
    assert!(matches!(
        Responder::<_, p256::ecdsa::DerSignature>::delegated(
            fixture.issuing.certificate(),
            person_cert,
            responder_key.clone(),
        ),
        Err(Error::NotAnOcspResponder { .. })
    ));
    assert!(matches!(
        Responder::<_, p256::ecdsa::DerSignature>::delegated(
            fixture.issuing.certificate(),
            responder_certificate.clone(),
            p256_key(),
        ),
        Err(Error::SignerKeyMismatch)
    ));
    // Issued by the root, not by the CA it would answer for.
    let foreign = fixture
        .root
        .issue(
            &Profile::OcspSigner(SubjectName::new("Affix OCSP").unwrap()),
            &SubjectPublicKey::from_keypair(&responder_key).unwrap(),
            serial(),
            validity(0, DAY_S),
        )
        .unwrap();
    assert!(matches!(
        Responder::<_, p256::ecdsa::DerSignature>::delegated(
            fixture.issuing.certificate(),
            foreign,
            responder_key,
        ),
        Err(Error::NotAnOcspResponder { .. })
    ));
}

#[test]
fn response_structure_echoes_nonce_and_cert_id() {
    let leaf = SubjectPublicKey::from_keypair(&p256_key()).unwrap();
    let fixture: Fixture<_, p256::ecdsa::DerSignature> = fixture(p256_key(), p256_key(), &leaf);
    let responder = Responder::<_, p256::ecdsa::DerSignature>::for_ca(
        fixture.issuing.certificate(),
        fixture.issuing.signer().clone(),
    )
    .unwrap();
    let dir = fixture.scratch.dir();
    assert_ok(
        &openssl(
            &[
                "ocsp",
                "-issuer",
                "issuing.pem",
                "-cert",
                "good.pem",
                "-cert",
                "revoked.pem",
                "-reqout",
                "req.der",
            ],
            dir,
        ),
        "openssl ocsp -reqout",
    );
    let request_der = std::fs::read(fixture.scratch.path("req.der")).unwrap();
    let request = ParsedRequest::from_der(&request_der).unwrap();
    let nonce = request.nonce().expect("openssl sends a nonce by default");
    assert_eq!(request.cert_ids().count(), 2);

    let answer = responder.respond_to(&request, &times(), fixture.lookup());
    let response = asn1::OcspResponse::from_der(answer.der()).unwrap();
    let basic =
        asn1::BasicOcspResponse::from_der(response.response_bytes.unwrap().response.as_bytes())
            .unwrap();
    let data = basic.tbs_response_data;
    assert!(basic.certs.is_none(), "CA-signed: no certs");
    assert!(matches!(data.responder_id, asn1::ResponderId::ByKey(_)));
    let echoed = data.response_extensions.unwrap();
    assert_eq!(echoed.len(), 1);
    let echoed_nonce = der::asn1::OctetString::from_der(echoed[0].extn_value.as_bytes()).unwrap();
    assert_eq!(echoed_nonce.as_bytes(), nonce.as_slice());
    let cert_ids: Vec<_> = request.cert_ids().cloned().collect();
    let answered: Vec<_> = data.responses.iter().map(|r| r.cert_id.clone()).collect();
    assert_eq!(cert_ids, answered);
    assert!(matches!(
        data.responses[0].cert_status,
        asn1::CertStatus::Good(_)
    ));
    assert!(matches!(
        data.responses[1].cert_status,
        asn1::CertStatus::Revoked(_)
    ));
    assert!(data.responses.iter().all(|r| r.next_update.is_some()));
}

#[test]
fn foreign_issuer_gets_unauthorized_and_garbage_gets_malformed_request() {
    let leaf = SubjectPublicKey::from_keypair(&p256_key()).unwrap();
    let fixture: Fixture<_, p256::ecdsa::DerSignature> = fixture(p256_key(), p256_key(), &leaf);
    let responder = Responder::<_, p256::ecdsa::DerSignature>::for_ca(
        fixture.issuing.certificate(),
        fixture.issuing.signer().clone(),
    )
    .unwrap();
    let dir = fixture.scratch.dir();

    // Ask the issuing CA's responder about the issuing CA certificate
    // itself, whose issuer is the root.
    assert_ok(
        &openssl(
            &[
                "ocsp",
                "-issuer",
                "root.pem",
                "-cert",
                "issuing.pem",
                "-reqout",
                "req.der",
            ],
            dir,
        ),
        "openssl ocsp -reqout",
    );
    let request = std::fs::read(fixture.scratch.path("req.der")).unwrap();
    let answer = responder.respond(&request, &times(), fixture.lookup());
    assert_eq!(answer.status(), OcspResponseStatus::Unauthorized);
    assert!(matches!(answer.refusal(), Some(Error::OcspIssuerNotServed)));
    fixture.scratch.write("unauthorized.der", answer.der());
    let run = openssl(&["ocsp", "-respin", "unauthorized.der", "-resp_text"], dir);
    println!("{}", run.all());
    assert!(run.all().contains("unauthorized (6)"), "{}", run.all());

    let answer = responder.respond(b"\x30\x03\x02\x01", &times(), fixture.lookup());
    assert_eq!(answer.status(), OcspResponseStatus::MalformedRequest);
    assert!(matches!(
        answer.refusal(),
        Some(Error::MalformedOcspRequest(_))
    ));
    fixture.scratch.write("malformed.der", answer.der());
    let run = openssl(&["ocsp", "-respin", "malformed.der", "-resp_text"], dir);
    println!("{}", run.all());
    assert!(
        run.all().to_lowercase().contains("malformedrequest (1)"),
        "{}",
        run.all()
    );
}
