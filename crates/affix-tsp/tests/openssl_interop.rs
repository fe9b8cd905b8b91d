//! Interop with OpenSSL 3.0 `openssl ts`, in both directions.
//!
//! - OpenSSL makes requests, this crate answers, OpenSSL prints and verifies
//!   the responses.
//! - OpenSSL acts as the TSA (`openssl ts -reply -config`), this crate
//!   verifies its tokens.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fs;
use std::path::Path;
use std::str::FromStr;

use affix_tsp::{
    Accuracy, DigestAlgorithm, ExpectedImprint, FailureInfo, Nonce, PkiStatus, Response,
    TimeStampAuthority, TimeStampRequest, TimeStampResponse, TokenSerial, TsaConfig, TsaTrust,
    verify_response, verify_token,
};
use common::*;
use const_oid::ObjectIdentifier;
use der::Encode;
use x509_cert::Certificate;

const DATA: &[u8] = b"Affix contract #42: both parties agree.\n";

struct Setup {
    dir: tempfile::TempDir,
    root: Certificate,
    tsa_certificate: Certificate,
}

/// Root CA (P-256) and a P-256 TSA certificate, written to a temporary
/// directory as `root.pem`, `tsa.pem`, `tsa.key`, with `data.txt`.
fn p256_setup() -> (Setup, p256::ecdsa::SigningKey) {
    let dir = tempfile::tempdir().unwrap();
    let root_key = p256_key("root");
    let root = root_certificate::<_, p256::ecdsa::DerSignature>(&root_key, ROOT_SUBJECT);
    let tsa_key = p256_key("tsa");
    let tsa_certificate = tsa_certificate::<_, p256::ecdsa::DerSignature>(
        public_key_of(&tsa_key),
        &root,
        &root_key,
        2,
    );
    write_certificate(&dir.path().join("root.pem"), &root);
    write_certificate(&dir.path().join("tsa.pem"), &tsa_certificate);
    write_p256_key(&dir.path().join("tsa.key"), &tsa_key);
    fs::write(dir.path().join("data.txt"), DATA).unwrap();
    (
        Setup {
            dir,
            root,
            tsa_certificate,
        },
        tsa_key,
    )
}

fn config() -> TsaConfig {
    TsaConfig::new(ObjectIdentifier::new_unwrap(POLICY))
        .with_accepted_policy(ObjectIdentifier::new_unwrap(OTHER_POLICY))
        .with_accuracy(Accuracy {
            seconds: Some(1),
            millis: Some(500),
            micros: None,
        })
        .unwrap()
        .with_tsa_name(true)
}

/// Asks OpenSSL for a request with `query_args`, answers it with `tsa`, and
/// has OpenSSL print and verify the response. Returns the response.
fn answer_openssl_request<S, Sig>(
    setup: &Setup,
    tsa: &TimeStampAuthority<S, Sig>,
    name: &str,
    query_args: &[&str],
    serial: u64,
) -> Vec<u8>
where
    S: signature::Signer<Sig> + signature::Keypair + spki::DynSignatureAlgorithmIdentifier,
    S::VerifyingKey: spki::EncodePublicKey,
    Sig: spki::SignatureBitStringEncoding,
{
    let dir = setup.dir.path();
    let request_file = format!("{name}.tsq");
    let response_file = format!("{name}.tsr");
    let mut args = vec!["ts", "-query", "-data", "data.txt", "-out", &request_file];
    args.extend_from_slice(query_args);
    openssl_ok(dir, &args);

    let request_der = fs::read(dir.join(&request_file)).unwrap();
    let request = TimeStampRequest::parse(&request_der).unwrap();
    assert_eq!(
        request.nonce().is_some(),
        !query_args.contains(&"-no_nonce")
    );
    assert_eq!(
        request.certificate_requested(),
        query_args.contains(&"-cert")
    );

    let response = tsa
        .respond(&request_der, &TokenSerial::from_u64(serial), now())
        .unwrap();
    let Response::Granted(response_der) = response else {
        panic!("request {name} was rejected: {response:?}");
    };
    fs::write(dir.join(&response_file), &response_der).unwrap();

    let text = openssl_ok(dir, &["ts", "-reply", "-in", &response_file, "-text"]);
    assert!(text.contains("Status: Granted."), "{text}");
    assert!(text.contains(&format!("Policy OID: {POLICY}")), "{text}");
    assert!(
        text.contains(&format!("Serial number: 0x{serial:02X}")),
        "{text}"
    );
    println!("--- openssl ts -reply -in {response_file} -text\n{text}");

    let verified = openssl_ok(
        dir,
        &[
            "ts",
            "-verify",
            "-in",
            &response_file,
            "-queryfile",
            &request_file,
            "-CAfile",
            "root.pem",
            "-untrusted",
            "tsa.pem",
        ],
    );
    assert!(verified.contains("Verification: OK"), "{verified}");
    // The same response checked against the data instead of the request.
    let verified = openssl_ok(
        dir,
        &[
            "ts",
            "-verify",
            "-data",
            "data.txt",
            "-in",
            &response_file,
            "-CAfile",
            "root.pem",
            "-untrusted",
            "tsa.pem",
        ],
    );
    assert!(verified.contains("Verification: OK"), "{verified}");

    // And by this crate, pinned to the TSA certificate.
    let ours = verify_response(
        &response_der,
        TsaTrust::Pinned(tsa.certificate()),
        ExpectedImprint::Data(DATA),
        request.nonce(),
    )
    .unwrap();
    assert_eq!(ours.serial().to_u64(), Some(serial));
    response_der
}

#[test]
fn openssl_verifies_p256_tokens_for_openssl_requests() {
    let (setup, tsa_key) = p256_setup();
    let tsa = TimeStampAuthority::<_, p256::ecdsa::DerSignature>::new(
        tsa_key,
        setup.tsa_certificate.clone(),
        vec![],
        config(),
    )
    .unwrap();

    let cases: [(&str, &[&str]); 4] = [
        ("sha256-cert-nonce", &["-sha256", "-cert"]),
        ("sha256-cert-no-nonce", &["-sha256", "-cert", "-no_nonce"]),
        ("sha256-no-cert", &["-sha256"]),
        ("sha512-cert", &["-sha512", "-cert"]),
    ];
    for (serial, (name, args)) in (1..).zip(cases) {
        answer_openssl_request(&setup, &tsa, name, args, serial);
    }

    // The certificates from x509-cert's builder pass OpenSSL's strict chain
    // check for the time-stamping purpose.
    let chain = openssl_ok(
        setup.dir.path(),
        &[
            "verify",
            "-x509_strict",
            "-purpose",
            "timestampsign",
            "-CAfile",
            "root.pem",
            "tsa.pem",
        ],
    );
    assert!(chain.contains("tsa.pem: OK"), "{chain}");

    // A request naming the other accepted policy gets a token under it.
    let dir = setup.dir.path();
    openssl_ok(
        dir,
        &[
            "ts",
            "-query",
            "-data",
            "data.txt",
            "-sha384",
            "-cert",
            "-tspolicy",
            OTHER_POLICY,
            "-out",
            "other.tsq",
        ],
    );
    let request = fs::read(dir.join("other.tsq")).unwrap();
    let response = tsa
        .respond(&request, &TokenSerial::from_u64(100), now())
        .unwrap();
    fs::write(dir.join("other.tsr"), response.der()).unwrap();
    let text = openssl_ok(dir, &["ts", "-reply", "-in", "other.tsr", "-text"]);
    assert!(
        text.contains(&format!("Policy OID: {OTHER_POLICY}")),
        "{text}"
    );
    let verified = openssl_ok(
        dir,
        &[
            "ts",
            "-verify",
            "-in",
            "other.tsr",
            "-queryfile",
            "other.tsq",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "tsa.pem",
        ],
    );
    assert!(verified.contains("Verification: OK"), "{verified}");

    // A bare token (not a response) verifies with `-token_in`.
    let request =
        TimeStampRequest::parse(&fs::read(dir.join("sha256-cert-nonce.tsq")).unwrap()).unwrap();
    let token = tsa
        .issue_token(&request, &TokenSerial::from_u64(101), now())
        .unwrap();
    fs::write(dir.join("token.der"), &token).unwrap();
    let verified = openssl_ok(
        dir,
        &[
            "ts",
            "-verify",
            "-in",
            "token.der",
            "-token_in",
            "-queryfile",
            "sha256-cert-nonce.tsq",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "tsa.pem",
        ],
    );
    assert!(verified.contains("Verification: OK"), "{verified}");
}

#[test]
fn openssl_prints_our_rejections() {
    let (setup, tsa_key) = p256_setup();
    let tsa = TimeStampAuthority::<_, p256::ecdsa::DerSignature>::new(
        tsa_key,
        setup.tsa_certificate.clone(),
        vec![],
        config(),
    )
    .unwrap();
    let dir = setup.dir.path();

    // Unaccepted policy.
    openssl_ok(
        dir,
        &[
            "ts",
            "-query",
            "-data",
            "data.txt",
            "-sha256",
            "-tspolicy",
            "1.2.3.4.5",
            "-out",
            "policy.tsq",
        ],
    );
    let request = fs::read(dir.join("policy.tsq")).unwrap();
    let response = tsa
        .respond(&request, &TokenSerial::from_u64(1), now())
        .unwrap();
    assert!(
        matches!(response, Response::Rejected { .. }),
        "{response:?}"
    );
    expect_rejection(dir, "policy", response.der(), FailureInfo::UnacceptedPolicy);

    // SHA-1 imprint.
    openssl_ok(
        dir,
        &[
            "ts", "-query", "-data", "data.txt", "-sha1", "-out", "sha1.tsq",
        ],
    );
    let request = fs::read(dir.join("sha1.tsq")).unwrap();
    let response = tsa
        .respond(&request, &TokenSerial::from_u64(2), now())
        .unwrap();
    expect_rejection(dir, "sha1", response.der(), FailureInfo::BadAlg);

    // Not DER at all.
    let response = tsa
        .respond(b"GET / HTTP/1.1\r\n", &TokenSerial::from_u64(3), now())
        .unwrap();
    expect_rejection(dir, "garbage", response.der(), FailureInfo::BadDataFormat);
}

fn expect_rejection(dir: &Path, name: &str, der: &[u8], failure: FailureInfo) {
    let parsed = TimeStampResponse::parse(der).unwrap();
    assert_eq!(parsed.status(), PkiStatus::Rejection);
    assert_eq!(parsed.failure_info(), [failure]);
    assert!(parsed.token_der().is_none());

    let file = format!("{name}-rejection.tsr");
    fs::write(dir.join(&file), der).unwrap();
    let text = openssl_ok(dir, &["ts", "-reply", "-in", &file, "-text"]);
    println!("--- openssl ts -reply -in {file} -text\n{text}");
    assert!(text.contains("Status: Rejected."), "{text}");
    assert!(
        text.contains(&format!("Status description: {}", failure.description())),
        "{text}"
    );
    // OpenSSL names the failure bit itself, with the RFC's words; only the
    // capitalisation of "Algorithm Identifier" differs.
    let failure_line = format!("Failure info: {}", failure.description()).to_lowercase();
    assert!(text.to_lowercase().contains(&failure_line), "{text}");
}

/// OpenSSL as the TSA (`openssl ts -reply -config`), this crate as the
/// relying party.
#[test]
fn openssl_tokens_pass_verify_token() {
    let (setup, _tsa_key) = p256_setup();
    let dir = setup.dir.path();
    // OpenSSL increments the serial file before use: the token gets 0x0B.
    fs::write(dir.join("serial"), "0A\n").unwrap();
    fs::write(
        dir.join("tsa.cnf"),
        format!(
            "\
[ tsa ]
default_tsa = tsa_config1

[ tsa_config1 ]
dir = .
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/root.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = {POLICY}
other_policies = {OTHER_POLICY}
digests = sha256, sha384, sha512
accuracy = secs:1, millisecs:500, microsecs:100
clock_precision_digits = 3
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"
        ),
    )
    .unwrap();

    // An OpenSSL request with nonce and certReq.
    openssl_ok(
        dir,
        &[
            "ts", "-query", "-data", "data.txt", "-sha256", "-cert", "-out", "req.tsq",
        ],
    );
    openssl_ok(
        dir,
        &[
            "ts",
            "-reply",
            "-config",
            "tsa.cnf",
            "-queryfile",
            "req.tsq",
            "-out",
            "resp.tsr",
        ],
    );
    let text = openssl_ok(dir, &["ts", "-reply", "-in", "resp.tsr", "-text"]);
    println!("--- OpenSSL-issued response\n{text}");
    let request = TimeStampRequest::parse(&fs::read(dir.join("req.tsq")).unwrap()).unwrap();
    let response = fs::read(dir.join("resp.tsr")).unwrap();
    let verified = verify_response(
        &response,
        TsaTrust::IssuedBy(std::slice::from_ref(&setup.root)),
        ExpectedImprint::Data(DATA),
        request.nonce(),
    )
    .unwrap();
    assert_eq!(verified.policy(), ObjectIdentifier::new_unwrap(POLICY));
    assert_eq!(verified.serial().to_u64(), Some(0x0b));
    assert_eq!(verified.hash_algorithm(), DigestAlgorithm::Sha256);
    assert!(verified.ordering());
    assert!(verified.tsa_name().is_some());
    assert_eq!(
        verified.accuracy(),
        Some(Accuracy {
            seconds: Some(1),
            millis: Some(500),
            micros: Some(100),
        })
    );
    assert_eq!(verified.signer_certificate(), &setup.tsa_certificate);
    println!(
        "OpenSSL token genTime as read by verify_token: {}",
        verified.gen_time()
    );

    // A request made by this crate, without certReq, answered by OpenSSL:
    // the token carries no certificate, so the TSA certificate is pinned.
    let nonce = Nonce::from_unsigned_be_bytes(&[0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4]).unwrap();
    let ours = TimeStampRequest::new(
        DigestAlgorithm::Sha512,
        &DigestAlgorithm::Sha512.digest(DATA),
    )
    .unwrap()
    .with_nonce(nonce.clone())
    .with_policy(ObjectIdentifier::new_unwrap(OTHER_POLICY));
    fs::write(dir.join("ours.tsq"), ours.to_der().unwrap()).unwrap();
    let text = openssl_ok(dir, &["ts", "-query", "-in", "ours.tsq", "-text"]);
    assert!(text.contains("Nonce: 0xDEADBEEF01020304"), "{text}");
    assert!(text.contains("Certificate required: no"), "{text}");
    openssl_ok(
        dir,
        &[
            "ts",
            "-reply",
            "-config",
            "tsa.cnf",
            "-queryfile",
            "ours.tsq",
            "-token_out",
            "-out",
            "token.der",
        ],
    );
    let token = fs::read(dir.join("token.der")).unwrap();
    let verified = verify_token(
        &token,
        TsaTrust::Pinned(&setup.tsa_certificate),
        ExpectedImprint::Digest {
            algorithm: DigestAlgorithm::Sha512,
            digest: &DigestAlgorithm::Sha512.digest(DATA),
        },
        Some(&nonce),
    )
    .unwrap();
    assert_eq!(
        verified.policy(),
        ObjectIdentifier::new_unwrap(OTHER_POLICY)
    );
    // Without the certificate in the token, issuer-based trust has nothing to
    // check.
    assert!(matches!(
        verify_token(
            &token,
            TsaTrust::IssuedBy(std::slice::from_ref(&setup.root)),
            ExpectedImprint::Data(DATA),
            None,
        ),
        Err(affix_tsp::Error::SignedData(
            affix_cms::Error::SignerCertificateNotFound
        ))
    ));

    // OpenSSL signs with a TSA certificate that has expired; this crate
    // refuses the token because its genTime is after notAfter (the CMS
    // verifier validates the path at genTime).
    let expired = tsa_certificate_valid::<_, p256::ecdsa::DerSignature>(
        public_key_of(&p256_key("tsa")),
        &setup.root,
        &p256_key("root"),
        5,
        expired_validity(),
    );
    write_certificate(&dir.join("tsa-expired.pem"), &expired);
    let config = fs::read_to_string(dir.join("tsa.cnf")).unwrap();
    fs::write(
        dir.join("tsa-expired.cnf"),
        config.replace("$dir/tsa.pem", "$dir/tsa-expired.pem"),
    )
    .unwrap();
    openssl_ok(
        dir,
        &[
            "ts",
            "-reply",
            "-config",
            "tsa-expired.cnf",
            "-queryfile",
            "req.tsq",
            "-out",
            "expired.tsr",
        ],
    );
    let response = fs::read(dir.join("expired.tsr")).unwrap();
    assert!(matches!(
        verify_response(
            &response,
            TsaTrust::IssuedBy(std::slice::from_ref(&setup.root)),
            ExpectedImprint::Data(DATA),
            request.nonce(),
        ),
        Err(affix_tsp::Error::SignedData(
            affix_cms::Error::CertificateExpired { subject, .. }
        )) if subject.starts_with("CN=Affix Test TSA")
    ));

    // OpenSSL's default `ess_cert_id_alg` is SHA-1, giving a v1
    // signing-certificate attribute only: refused.
    let config = fs::read_to_string(dir.join("tsa.cnf")).unwrap();
    fs::write(
        dir.join("tsa-sha1.cnf"),
        config.replace("ess_cert_id_alg = sha256\n", ""),
    )
    .unwrap();
    openssl_ok(
        dir,
        &[
            "ts",
            "-reply",
            "-config",
            "tsa-sha1.cnf",
            "-queryfile",
            "req.tsq",
            "-out",
            "sha1.tsr",
        ],
    );
    let response = fs::read(dir.join("sha1.tsr")).unwrap();
    assert!(matches!(
        verify_response(
            &response,
            TsaTrust::IssuedBy(std::slice::from_ref(&setup.root)),
            ExpectedImprint::Data(DATA),
            request.nonce(),
        ),
        Err(affix_tsp::Error::SigningCertificateMissing)
    ));
}

/// Ed25519 tokens (RFC 8419: SHA-512 message digest, pure Ed25519 over the
/// signed attributes).
///
/// OpenSSL 3.0 cannot check these end to end: `ts -verify` goes through its
/// PKCS#7 code, and its CMS code fails even on Ed25519 `SignedData` it would
/// make itself (`eddsa_digest_signverify_init: invalid digest`; fixed in
/// OpenSSL 3.2). So OpenSSL checks the parts: it parses and prints the
/// response, verifies the certificate chain for the time-stamping purpose,
/// recomputes the SHA-512 message digest and verifies the raw Ed25519
/// signature over the signed attributes.
#[test]
fn ed25519_tokens_check_with_openssl_piecewise() {
    let (setup, _) = p256_setup();
    let dir = setup.dir.path();
    let root_key = p256_key("root");
    let tsa_key = ed25519_key("tsa-ed25519");
    let tsa_certificate = tsa_certificate::<_, p256::ecdsa::DerSignature>(
        public_key_of(&tsa_key),
        &setup.root,
        &root_key,
        3,
    );
    write_certificate(&dir.join("tsa-ed25519.pem"), &tsa_certificate);
    let public_key = public_key_of(&tsa_key).to_der().unwrap();
    fs::write(
        dir.join("tsa-ed25519-pub.pem"),
        pem("PUBLIC KEY", &public_key),
    )
    .unwrap();
    let tsa = TimeStampAuthority::<_, ed25519_dalek::Signature>::new(
        tsa_key,
        tsa_certificate.clone(),
        vec![],
        config(),
    )
    .unwrap();

    openssl_ok(
        dir,
        &[
            "ts", "-query", "-data", "data.txt", "-sha256", "-cert", "-out", "ed.tsq",
        ],
    );
    let request = TimeStampRequest::parse(&fs::read(dir.join("ed.tsq")).unwrap()).unwrap();
    let response = tsa
        .issue(&request, &TokenSerial::from_u64(7), now())
        .unwrap();
    fs::write(dir.join("ed.tsr"), &response).unwrap();

    let text = openssl_ok(dir, &["ts", "-reply", "-in", "ed.tsr", "-text"]);
    assert!(text.contains("Status: Granted."), "{text}");
    let chain = openssl_ok(
        dir,
        &[
            "verify",
            "-CAfile",
            "root.pem",
            "-purpose",
            "timestampsign",
            "-x509_strict",
            "tsa-ed25519.pem",
        ],
    );
    assert!(chain.contains("tsa-ed25519.pem: OK"), "{chain}");

    let token = TimeStampResponse::parse(&response)
        .unwrap()
        .token_der()
        .unwrap()
        .to_vec();
    let parts = signer_parts(&token);
    fs::write(dir.join("ed-econtent.der"), &parts.econtent).unwrap();
    fs::write(dir.join("ed-attrs.der"), &parts.signed_attributes).unwrap();
    fs::write(dir.join("ed-sig.bin"), &parts.signature).unwrap();
    let digest = openssl_ok(dir, &["dgst", "-sha512", "-r", "ed-econtent.der"]);
    assert!(
        digest.starts_with(&hex::encode(&parts.message_digest)),
        "{digest}"
    );
    let signature = openssl_ok(
        dir,
        &[
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            "tsa-ed25519-pub.pem",
            "-rawin",
            "-in",
            "ed-attrs.der",
            "-sigfile",
            "ed-sig.bin",
        ],
    );
    assert!(
        signature.contains("Signature Verified Successfully"),
        "{signature}"
    );

    // What OpenSSL 3.0 says when asked to verify the whole token.
    let ts_verify = openssl(
        dir,
        &[
            "ts",
            "-verify",
            "-in",
            "ed.tsr",
            "-queryfile",
            "ed.tsq",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "tsa-ed25519.pem",
        ],
    );
    println!(
        "--- openssl ts -verify on an Ed25519 token (success: {})\n{}",
        ts_verify.success, ts_verify.output
    );

    let verified = verify_response(
        &response,
        TsaTrust::IssuedBy(std::slice::from_ref(&setup.root)),
        ExpectedImprint::Data(DATA),
        request.nonce(),
    )
    .unwrap();
    assert_eq!(verified.signer_certificate(), &tsa_certificate);
}

/// SM2 with SM3. OpenSSL 3.0 cannot verify SM2 in CMS or TS, so the token's
/// SM3 message digest and SM2 signature, and the SM2 signature on the TSA
/// certificate, are checked with the pure-Python GmSSL port (PyPI `gmssl`)
/// from the virtualenv `scripts/test` makes in `target/pyenv`.
#[test]
fn sm2_tokens_verify_with_gmssl() {
    let dir = tempfile::tempdir().unwrap();
    let root_key = sm2_key("sm2-root");
    let root = root_certificate::<_, sm2::dsa::DerSignature>(&root_key, ROOT_SUBJECT);
    let tsa_key = sm2_key("sm2-tsa");
    let tsa_certificate =
        tsa_certificate::<_, sm2::dsa::DerSignature>(public_key_of(&tsa_key), &root, &root_key, 2);
    write_certificate(&dir.path().join("sm2-root.pem"), &root);
    write_certificate(&dir.path().join("sm2-tsa.pem"), &tsa_certificate);
    let tsa = TimeStampAuthority::<_, sm2::dsa::DerSignature>::new(
        tsa_key,
        tsa_certificate.clone(),
        vec![],
        config(),
    )
    .unwrap();

    let request = TimeStampRequest::new(DigestAlgorithm::Sm3, &DigestAlgorithm::Sm3.digest(DATA))
        .unwrap()
        .with_nonce(Nonce::from_u64(0x1122_3344_5566_7788))
        .with_certificate_requested(true);
    let token = tsa
        .issue_token(&request, &TokenSerial::from_u64(9), now())
        .unwrap();
    let verified = verify_token(
        &token,
        TsaTrust::IssuedBy(std::slice::from_ref(&root)),
        ExpectedImprint::Data(DATA),
        request.nonce(),
    )
    .unwrap();
    assert_eq!(verified.hash_algorithm(), DigestAlgorithm::Sm3);

    // OpenSSL parses SM2 certificates even though it cannot verify the
    // token.
    let text = openssl_ok(
        dir.path(),
        &["x509", "-in", "sm2-tsa.pem", "-noout", "-text"],
    );
    assert!(text.contains("Time Stamping"), "{text}");
    assert!(text.contains("critical"), "{text}");
    fs::write(dir.path().join("sm2-token.der"), &token).unwrap();
    fs::write(dir.path().join("data.txt"), DATA).unwrap();
    let ts_verify = openssl(
        dir.path(),
        &[
            "ts",
            "-verify",
            "-in",
            "sm2-token.der",
            "-token_in",
            "-data",
            "data.txt",
            "-CAfile",
            "sm2-root.pem",
            "-untrusted",
            "sm2-tsa.pem",
        ],
    );
    println!(
        "--- openssl ts -verify on an SM2 token (success: {})\n{}",
        ts_verify.success, ts_verify.output
    );

    // Pull the pieces out with our own ASN.1 types, then check them with
    // gmssl.
    let pieces = sm2_pieces(&token, &tsa_certificate, &root);
    let script = r#"
import sys
from gmssl import sm2, sm3, func
econtent, digest, attrs, sig, cert_pub, tbs, cert_sig, root_pub = sys.argv[1:]
assert sm3.sm3_hash(func.bytes_to_list(bytes.fromhex(econtent))) == digest, "SM3 message digest"
def check(pub, sig, data, what):
    s = sm2.CryptSM2(private_key=None, public_key="00", asn1=True)
    s.public_key = pub  # set after construction: the constructor's lstrip("04") can eat key digits
    assert s.verify_with_sm3(sig, bytes.fromhex(data)), what
check(cert_pub, sig, attrs, "token signature")
check(root_pub, cert_sig, tbs, "certificate signature")
print("gmssl: SM3 digest, SM2 token signature and SM2 certificate signature OK")
"#;
    let output = std::process::Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../target/pyenv/bin/python"
    ))
    .arg("-c")
    .arg(script)
    .args(&pieces)
    .output()
    .expect("the gmssl virtualenv target/pyenv exists (scripts/test makes it)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{stdout}");

    // A flipped bit in the signed attributes fails gmssl too: the check above
    // is not vacuous.
    let mut tampered = pieces.clone();
    tampered[2] = flip_last_hex_digit(&tampered[2]);
    let output = std::process::Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../target/pyenv/bin/python"
    ))
    .arg("-c")
    .arg(script)
    .args(&tampered)
    .output()
    .unwrap();
    assert!(!output.status.success());
}

fn flip_last_hex_digit(hex_text: &str) -> String {
    let mut text = hex_text.to_owned();
    let last = text.pop().unwrap();
    text.push(if last == '0' { '1' } else { '0' });
    text
}

/// The parts of a token's only signer that its signature and digest cover.
struct SignerParts {
    /// The `TSTInfo` DER (the eContent octets).
    econtent: Vec<u8>,
    /// The message-digest attribute's value.
    message_digest: Vec<u8>,
    /// The signed attributes as a DER `SET OF`, as signed.
    signed_attributes: Vec<u8>,
    /// The signature value.
    signature: Vec<u8>,
}

fn signer_parts(token: &[u8]) -> SignerParts {
    use cms::content_info::ContentInfo;
    use cms::signed_data::SignedData;
    use der::Decode;
    use der::asn1::OctetString;

    let content_info = ContentInfo::from_der(token).unwrap();
    let signed_data: SignedData = content_info.content.decode_as().unwrap();
    let econtent: OctetString = signed_data
        .encap_content_info
        .econtent
        .as_ref()
        .unwrap()
        .decode_as()
        .unwrap();
    let signer = signed_data.signer_infos.0.get(0).unwrap();
    let attributes = signer.signed_attrs.as_ref().unwrap();
    let digest: OctetString = attributes
        .iter()
        .find(|a| a.oid == const_oid::db::rfc5911::ID_MESSAGE_DIGEST)
        .unwrap()
        .values
        .get(0)
        .unwrap()
        .decode_as()
        .unwrap();
    SignerParts {
        econtent: econtent.as_bytes().to_vec(),
        message_digest: digest.as_bytes().to_vec(),
        signed_attributes: attributes.to_der().unwrap(),
        signature: signer.signature.as_bytes().to_vec(),
    }
}

/// Hex arguments for the gmssl script: eContent, message digest, signed
/// attributes, token signature, TSA public key (x‖y), TSA certificate TBS,
/// its signature, root public key (x‖y).
fn sm2_pieces(token: &[u8], tsa_certificate: &Certificate, root: &Certificate) -> Vec<String> {
    let parts = signer_parts(token);
    let point = |certificate: &Certificate| {
        let key = certificate
            .tbs_certificate()
            .subject_public_key_info()
            .subject_public_key
            .raw_bytes();
        assert_eq!(key[0], 4, "uncompressed point");
        hex::encode(&key[1..])
    };
    vec![
        hex::encode(&parts.econtent),
        hex::encode(&parts.message_digest),
        hex::encode(&parts.signed_attributes),
        hex::encode(&parts.signature),
        point(tsa_certificate),
        hex::encode(tsa_certificate.tbs_certificate().to_der().unwrap()),
        hex::encode(tsa_certificate.signature().raw_bytes()),
        point(root),
    ]
}

#[test]
fn requests_of_every_supported_hash_parse() {
    let (setup, _) = p256_setup();
    let dir = setup.dir.path();
    for (flag, algorithm) in [
        ("-sha256", DigestAlgorithm::Sha256),
        ("-sha384", DigestAlgorithm::Sha384),
        ("-sha512", DigestAlgorithm::Sha512),
        ("-sm3", DigestAlgorithm::Sm3),
    ] {
        let file = format!("{}.tsq", &flag[1..]);
        openssl_ok(
            dir,
            &["ts", "-query", "-data", "data.txt", flag, "-out", &file],
        );
        let request = TimeStampRequest::parse(&fs::read(dir.join(&file)).unwrap()).unwrap();
        assert_eq!(request.hash_algorithm(), algorithm);
        assert_eq!(request.hashed_message(), algorithm.digest(DATA));
    }
    // `Name::from_str` is what the fixtures use; make sure the subject came
    // out as written.
    let subject = setup
        .tsa_certificate
        .tbs_certificate()
        .subject()
        .to_string();
    assert_eq!(
        x509_cert::name::Name::from_str(&subject).unwrap(),
        *setup.tsa_certificate.tbs_certificate().subject()
    );
}
