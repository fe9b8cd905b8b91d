//! Hostile or wrong input gets a specific error, never a panic.

#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

mod common;

use affix_pki::{
    Error,
    ca::{
        CreditCode, OrganizationSubject, Profile, SubjectName, SubjectPublicKey, ValidityPeriod,
        VerifiedCsr,
    },
    crl::{CrlTimes, RevokedEntry, build_crl},
    error::CreditCodeProblem,
    ocsp::{
        CertStatus, OcspResponseStatus, ParsedRequest, REQUEST_CERTS_MAX, REQUEST_DER_BYTES_MAX,
        Responder, ResponseTimes, asn1,
    },
};
use common::*;
use der::{Decode, Encode, asn1::OctetString};
use x509_cert::ext::pkix::CrlReason;

/// A P-256 CSR and an OCSP request (with nonce) made by openssl.
fn openssl_inputs(scratch: &Scratch, issuing: &P256Issuer) -> (Vec<u8>, Vec<u8>) {
    assert_ok(
        &openssl(
            &[
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-subj",
                "/CN=x",
                "-nodes",
                "-keyout",
                "key.pem",
                "-outform",
                "DER",
                "-out",
                "req.der",
            ],
            scratch.dir(),
        ),
        "openssl req",
    );
    let csr = std::fs::read(scratch.path("req.der")).unwrap();
    let leaf = issuing
        .issue(
            &Profile::Person(SubjectName::new("x").unwrap()),
            VerifiedCsr::from_der(&csr).unwrap().public_key(),
            serial(),
            validity(0, DAY_S),
        )
        .unwrap();
    scratch.write_cert("issuing.pem", issuing.certificate());
    scratch.write_cert("leaf.pem", &leaf);
    assert_ok(
        &openssl(
            &[
                "ocsp",
                "-issuer",
                "issuing.pem",
                "-cert",
                "leaf.pem",
                "-reqout",
                "ocsp.der",
            ],
            scratch.dir(),
        ),
        "openssl ocsp -reqout",
    );
    (csr, std::fs::read(scratch.path("ocsp.der")).unwrap())
}

#[test]
fn malformed_csr_der_gets_specific_errors() {
    let (_root, issuing): (P256Issuer, P256Issuer) = pki(p256_key(), p256_key());
    let scratch = Scratch::new();
    let (csr, _) = openssl_inputs(&scratch, &issuing);

    assert!(matches!(
        VerifiedCsr::from_der(&[]),
        Err(Error::MalformedCsr(_))
    ));
    assert!(matches!(
        VerifiedCsr::from_der(b"not DER"),
        Err(Error::MalformedCsr(_))
    ));
    assert!(matches!(
        VerifiedCsr::from_der(&csr[..csr.len() - 1]),
        Err(Error::MalformedCsr(_))
    ));
    let mut trailing = csr.clone();
    trailing.push(0);
    assert!(matches!(
        VerifiedCsr::from_der(&trailing),
        Err(Error::MalformedCsr(_))
    ));
    // A certificate is not a CSR.
    let certificate = issuing.certificate().to_der().unwrap();
    assert!(matches!(
        VerifiedCsr::from_der(&certificate),
        Err(Error::MalformedCsr(_))
    ));
    let huge = vec![0x30; VerifiedCsr::DER_BYTES_MAX + 1];
    assert!(matches!(
        VerifiedCsr::from_der(&huge),
        Err(Error::InputTooLarge { len_bytes, .. }) if len_bytes == huge.len()
    ));
}

#[test]
fn csr_with_unsupported_key_is_refused() {
    let scratch = Scratch::new();
    for (name, args) in [
        ("rsa", &["-newkey", "rsa:2048"][..]),
        (
            "p384",
            &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"][..],
        ),
    ] {
        let out = format!("{name}.der");
        let mut all = vec!["req", "-new"];
        all.extend_from_slice(args);
        all.extend_from_slice(&[
            "-subj", "/CN=x", "-nodes", "-keyout", "k.pem", "-outform", "DER", "-out", &out,
        ]);
        assert_ok(&openssl(&all, scratch.dir()), "openssl req");
        let der = std::fs::read(scratch.path(&out)).unwrap();
        assert!(
            matches!(
                VerifiedCsr::from_der(&der),
                Err(Error::UnsupportedPublicKey { .. })
            ),
            "{name}"
        );
    }
}

#[test]
fn malformed_ocsp_requests_get_specific_errors_and_malformed_request() {
    let (_root, issuing): (P256Issuer, P256Issuer) = pki(p256_key(), p256_key());
    let scratch = Scratch::new();
    let (_, request) = openssl_inputs(&scratch, &issuing);
    assert!(ParsedRequest::from_der(&request).is_ok());

    assert!(matches!(
        ParsedRequest::from_der(&[]),
        Err(Error::MalformedOcspRequest(_))
    ));
    assert!(matches!(
        ParsedRequest::from_der(&request[..request.len() - 3]),
        Err(Error::MalformedOcspRequest(_))
    ));
    let mut trailing = request.clone();
    trailing.extend_from_slice(&[0, 0]);
    assert!(matches!(
        ParsedRequest::from_der(&trailing),
        Err(Error::MalformedOcspRequest(_))
    ));
    let huge = vec![0x30; REQUEST_DER_BYTES_MAX + 1];
    assert!(matches!(
        ParsedRequest::from_der(&huge),
        Err(Error::InputTooLarge { .. })
    ));

    // Well-formed DER, but no certificate asked about / too many.
    let decoded = asn1::OcspRequest::from_der(&request).unwrap();
    let mut empty = decoded.clone();
    empty.tbs_request.request_list.clear();
    assert!(matches!(
        ParsedRequest::from_der(&empty.to_der().unwrap()),
        Err(Error::OcspRequestCount { count: 0, .. })
    ));
    let mut many = decoded.clone();
    let one = many.tbs_request.request_list[0].clone();
    many.tbs_request.request_list = vec![one; REQUEST_CERTS_MAX + 1];
    assert!(matches!(
        ParsedRequest::from_der(&many.to_der().unwrap()),
        Err(Error::OcspRequestCount { .. })
    ));

    // A 33-byte nonce (RFC 8954 allows 1..=32) and a nonce that is not an
    // OCTET STRING.
    for bad_value in [
        OctetString::new([7u8; 33]).unwrap().to_der().unwrap(),
        vec![0x05, 0x00],
    ] {
        let mut bad_nonce = decoded.clone();
        let extensions = bad_nonce.tbs_request.request_extensions.as_mut().unwrap();
        let nonce = extensions
            .iter_mut()
            .find(|e| e.extn_id == const_oid::db::rfc6960::ID_PKIX_OCSP_NONCE)
            .unwrap();
        nonce.extn_value = OctetString::new(bad_value).unwrap();
        assert!(matches!(
            ParsedRequest::from_der(&bad_nonce.to_der().unwrap()),
            Err(Error::OcspNonceInvalid)
        ));
    }

    // The responder turns all of these into unsigned malformedRequest.
    let responder = Responder::<_, p256::ecdsa::DerSignature>::for_ca(
        issuing.certificate(),
        issuing.signer().clone(),
    )
    .unwrap();
    let times = ResponseTimes::new(at(0), at(0), None).unwrap();
    for bad in [
        &[][..],
        &request[..10],
        &trailing[..],
        &empty.to_der().unwrap()[..],
    ] {
        let answer = responder.respond(bad, &times, |_| CertStatus::Good);
        assert_eq!(answer.status(), OcspResponseStatus::MalformedRequest);
        assert_eq!(answer.der(), &[0x30, 0x03, 0x0a, 0x01, 0x01]);
    }
}

/// Every truncation and many single-byte corruptions of real inputs: a
/// result (usually an error), never a panic.
#[test]
fn corrupted_inputs_never_panic() {
    let (_root, issuing): (P256Issuer, P256Issuer) = pki(p256_key(), p256_key());
    let scratch = Scratch::new();
    let (csr, request) = openssl_inputs(&scratch, &issuing);
    let responder = Responder::<_, p256::ecdsa::DerSignature>::for_ca(
        issuing.certificate(),
        issuing.signer().clone(),
    )
    .unwrap();
    let times = ResponseTimes::new(at(0), at(0), None).unwrap();
    for length in 0..csr.len() {
        let _ = VerifiedCsr::from_der(&csr[..length]);
    }
    for length in 0..request.len() {
        let _ = responder.respond(&request[..length], &times, |_| CertStatus::Good);
    }
    for round in 0..2_000usize {
        let [position, value] = random::<2>();
        let mut bad_csr = csr.clone();
        let index = round % bad_csr.len();
        bad_csr[index] = if round % 3 == 0 {
            value
        } else {
            bad_csr[index] ^ (1 << (position % 8))
        };
        let _ = VerifiedCsr::from_der(&bad_csr);
        let mut bad_request = request.clone();
        let index = round % bad_request.len();
        bad_request[index] = value;
        let _ = responder.respond(&bad_request, &times, |_| CertStatus::Good);
    }
}

#[test]
fn wrong_credit_code_checksum_is_refused() {
    assert!(matches!(
        CreditCode::parse("91350100M000100Y40"),
        Err(Error::InvalidCreditCode(
            CreditCodeProblem::CheckCharacter {
                expected: '3',
                found: '0'
            }
        ))
    ));
    assert!(matches!(
        "91350100M000100Y4".parse::<CreditCode>(),
        Err(Error::InvalidCreditCode(CreditCodeProblem::Length { .. }))
    ));
    let code = CreditCode::parse("91350100M000100Y43").unwrap();
    assert_eq!(code.semantic_identifier(), "NTRCN-91350100M000100Y43");
    assert!(OrganizationSubject::new("", code).is_err());
}

#[test]
fn issuer_misuse_is_refused() {
    let (root, issuing): (P256Issuer, P256Issuer) = pki(p256_key(), p256_key());
    let leaf_key = p256_key();
    let leaf = issuing
        .issue(
            &Profile::Person(SubjectName::new("x").unwrap()),
            &SubjectPublicKey::from_keypair(&leaf_key).unwrap(),
            serial(),
            validity(0, DAY_S),
        )
        .unwrap();
    // A leaf certificate is not a CA, even with its own key.
    assert!(matches!(
        P256Issuer::new(leaf, leaf_key),
        Err(Error::NotACaCertificate { .. })
    ));
    // The issuing CA's certificate with some other key.
    assert!(matches!(
        P256Issuer::new(issuing.certificate().clone(), p256_key()),
        Err(Error::SignerKeyMismatch)
    ));
    // Validity beyond the issuing CA's.
    let subject_key = SubjectPublicKey::from_keypair(&p256_key()).unwrap();
    assert!(matches!(
        issuing.issue(
            &Profile::Person(SubjectName::new("x").unwrap()),
            &subject_key,
            serial(),
            validity(0, 4000 * DAY_S),
        ),
        Err(Error::ValidityOutsideIssuer)
    ));
    assert!(matches!(
        ValidityPeriod::new(at(10), at(10)),
        Err(Error::EmptyValidity)
    ));
    // pathLen 0 leaves no room for another CA below the issuing CA.
    assert!(matches!(
        issuing.issue_subordinate_ca(
            &SubjectName::new("sub").unwrap(),
            &subject_key,
            0,
            serial(),
            validity(0, DAY_S),
        ),
        Err(Error::PathLengthNotAllowed { requested: 0 })
    ));
    assert!(
        root.issue_subordinate_ca(
            &SubjectName::new("sub").unwrap(),
            &subject_key,
            1,
            serial(),
            validity(0, DAY_S)
        )
        .is_ok()
    );
    // SM2 keys must use the default distinguishing identifier.
    let odd_id = sm2::dsa::SigningKey::from_slice("alice@example", &[7u8; 32]).unwrap();
    assert!(matches!(
        affix_pki::ca::Sm2DerSigner::new(odd_id),
        Err(Error::Sm2DistinguishingId)
    ));
}

#[test]
fn crl_input_is_checked() {
    let (_root, issuing): (P256Issuer, P256Issuer) = pki(p256_key(), p256_key());
    let times = CrlTimes::new(at(0), at(DAY_S)).unwrap();
    let entry = RevokedEntry::new(serial(), at(0), Some(CrlReason::KeyCompromise)).unwrap();
    assert!(matches!(
        build_crl(&issuing, 1, times, &[entry.clone(), entry]),
        Err(Error::DuplicateRevokedSerial { .. })
    ));
    assert!(matches!(
        RevokedEntry::new(serial(), at(0), Some(CrlReason::RemoveFromCRL)),
        Err(Error::RevocationReasonNotAllowed(_))
    ));
    assert_eq!(
        RevokedEntry::new(serial(), at(0), Some(CrlReason::Unspecified))
            .unwrap()
            .reason(),
        None
    );
    assert!(matches!(
        CrlTimes::new(at(DAY_S), at(0)),
        Err(Error::UpdateTimesOutOfOrder)
    ));
}

#[test]
fn crls_are_checked_against_their_issuer() {
    use affix_pki::crl::VerifiedCrl;
    use der::Encode as _;
    let (root, issuing): (P256Issuer, P256Issuer) = pki(p256_key(), p256_key());
    let revoked = serial();
    let entry = RevokedEntry::new(revoked.clone(), at(0), Some(CrlReason::KeyCompromise)).unwrap();
    let crl = build_crl(
        &issuing,
        7,
        CrlTimes::new(at(0), at(DAY_S)).unwrap(),
        &[entry],
    )
    .unwrap()
    .to_der()
    .unwrap();
    let verified = VerifiedCrl::from_der(&crl, issuing.certificate()).unwrap();
    assert_eq!(verified.revocation_time(&revoked), Some(at(0)));
    assert_eq!(verified.revocation_time(&serial()), None);
    // Another issuer, a flipped signature bit, garbage: refused.
    assert!(matches!(
        VerifiedCrl::from_der(&crl, root.certificate()),
        Err(affix_pki::Error::CrlSignatureInvalid)
    ));
    let mut tampered = crl.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert!(VerifiedCrl::from_der(&tampered, issuing.certificate()).is_err());
    assert!(matches!(
        VerifiedCrl::from_der(b"\x30\x00", issuing.certificate()),
        Err(affix_pki::Error::MalformedCrl(_))
    ));
}
