//! Interop with independent implementations: OpenSSL 3.0 (`openssl cms`, `openssl ts`)
//! and pyHanko (asn1crypto + cryptography) verify what we sign; we verify what they sign;
//! CAdES-T tokens come from a throwaway `openssl ts` TSA.

// Test code: failing loudly is the point.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use affix_cms::{
    DetachedSignature, DigestAlgorithm, Error, SignatureAlgorithm, TimestampTokenVerifier,
    ValidationTime, add_timestamp, sign_detached, verify_detached, verify_detached_timestamped,
};
use support::{Pki, ToolOutput, certificate_pem};

const CMS_VERIFY_OK: &str = "Verification successful";

fn document() -> Vec<u8> {
    let mut document = b"Loan agreement No. 2026-0001\n".to_vec();
    document.extend_from_slice(&support::random_bytes::<4096>());
    document
}

/// `openssl cms -verify` of a detached DER signature against `root.pem`.
#[rustfmt::skip]
fn openssl_cms_verify(pki: &Pki, signature: &str, content: &str, extra: &[&str]) -> ToolOutput {
    let mut args = vec![
        "cms", "-verify", "-binary", "-inform", "DER", "-in", signature, "-content", content,
        "-CAfile", "root.pem", "-purpose", "any", "-out", "/dev/null",
    ];
    args.extend_from_slice(extra);
    pki.openssl(&args)
}

/// pyHanko's verdict on a detached signature, trusting `root.pem` (and `tsa_root`).
fn pyhanko_verify(pki: &Pki, signature: &str, content: &str, tsa_root: Option<&str>) -> ToolOutput {
    let script = support::tool("pyhanko_verify.py");
    let mut args = vec![script.as_str(), signature, content, "root.pem"];
    args.extend(tsa_root);
    support::run(pki.dir.path(), &support::pyhanko_python(), &args)
}

#[test]
fn openssl_and_pyhanko_verify_our_p256_signature_and_reject_a_modified_document() {
    let pki = Pki::new();
    let document = document();
    let signature = sign_detached::<_, p256::ecdsa::DerSignature>(
        &document,
        &pki.signer_key,
        &pki.signer,
        &pki.chain(),
        pki.now,
    )
    .unwrap();
    pki.write("doc.bin", &document);
    pki.write("sig.der", &signature);

    let output = openssl_cms_verify(&pki, "sig.der", "doc.bin", &[]);
    assert!(output.success, "{}", output.text());
    assert!(output.text().contains(CMS_VERIFY_OK), "{}", output.text());
    // Also under RFC 5280 strict checking (AKI, key usage, ...).
    let output = openssl_cms_verify(&pki, "sig.der", "doc.bin", &["-x509_strict"]);
    assert!(output.text().contains(CMS_VERIFY_OK), "{}", output.text());
    let output = pyhanko_verify(&pki, "sig.der", "doc.bin", None);
    assert!(output.success, "{}", output.text());

    let mut modified = document.clone();
    modified[100] ^= 1;
    pki.write("modified.bin", &modified);
    let output = openssl_cms_verify(&pki, "sig.der", "modified.bin", &[]);
    assert!(!output.success, "{}", output.text());
    assert!(!output.text().contains(CMS_VERIFY_OK), "{}", output.text());
    let output = pyhanko_verify(&pki, "sig.der", "modified.bin", None);
    assert!(!output.success, "{}", output.text());

    let verified = verify_detached(
        &signature,
        &document,
        std::slice::from_ref(&pki.root),
        pki.now,
    )
    .unwrap();
    assert_eq!(verified.signer_subject(), support::SIGNER_NAME);
    assert_eq!(verified.signer_certificate(), &pki.signer);
    assert_eq!(
        verified.chain(),
        [
            pki.signer.clone(),
            pki.intermediate.clone(),
            pki.root.clone()
        ]
    );
    assert_eq!(verified.digest_algorithm(), DigestAlgorithm::Sha256);
    assert_eq!(
        verified.signature_algorithm(),
        SignatureAlgorithm::EcdsaP256(DigestAlgorithm::Sha256)
    );
    assert_eq!(verified.signing_time(), Some(support::truncate(pki.now)));
    assert_eq!(
        verified.content_digest(),
        DigestAlgorithm::Sha256.digest(&document)
    );
    assert!(verified.signing_certificate_bound());
    assert!(verified.timestamp().is_none());
    assert_eq!(verified.validation_time(), ValidationTime::Given(pki.now));

    // What OpenSSL sees in our SignerInfo.
    let output = pki.openssl(&[
        "cms", "-cmsout", "-print", "-inform", "DER", "-in", "sig.der",
    ]);
    assert!(output.success, "{}", output.text());
    for expected in [
        "eContent: <ABSENT>",
        "d.issuerAndSerialNumber:",
        "object: contentType",
        "object: messageDigest",
        "object: signingTime",
        "object: id-smime-aa-signingCertificateV2",
        "unsignedAttrs:\n          <ABSENT>",
    ] {
        assert!(
            output.stdout.contains(expected),
            "{expected} missing:\n{}",
            output.stdout
        );
    }
}

#[test]
fn pyhanko_verifies_our_ed25519_signature_which_openssl_3_0_cannot() {
    let pki = Pki::new();
    let (key, certificate) = pki.ed25519_leaf("Ed25519 Signer");
    let document = document();
    let signature = sign_detached::<_, ed25519_dalek::Signature>(
        &document,
        &key,
        &certificate,
        &pki.chain(),
        pki.now,
    )
    .unwrap();
    pki.write("doc.bin", &document);
    pki.write("sig.der", &signature);

    let verified = verify_detached(
        &signature,
        &document,
        std::slice::from_ref(&pki.root),
        pki.now,
    )
    .unwrap();
    assert_eq!(verified.signature_algorithm(), SignatureAlgorithm::Ed25519);
    assert_eq!(verified.digest_algorithm(), DigestAlgorithm::Sha512);

    let output = pyhanko_verify(&pki, "sig.der", "doc.bin", None);
    assert!(output.success, "{}", output.text());
    assert!(
        output.stdout.contains("mechanism=sha512/ed25519"),
        "{}",
        output.stdout
    );
    println!("pyHanko on our Ed25519 signature:\n{}", output.stdout);
    let mut modified = document.clone();
    modified[0] ^= 0x20;
    pki.write("modified.bin", &modified);
    let output = pyhanko_verify(&pki, "sig.der", "modified.bin", None);
    assert!(!output.success, "{}", output.text());

    // OpenSSL 3.0 hands the CMS digest to EVP_DigestVerifyInit, which PureEdDSA refuses;
    // Ed25519 in CMS needs a newer OpenSSL. Accept success too, so a newer one passes.
    let output = openssl_cms_verify(&pki, "sig.der", "doc.bin", &[]);
    assert!(
        output.text().contains(CMS_VERIFY_OK)
            || output
                .text()
                .contains("eddsa_digest_signverify_init:invalid digest"),
        "{}",
        output.text()
    );
}

/// `openssl cms -sign` a detached signature over doc.bin with the given signer files.
#[rustfmt::skip]
fn openssl_sign(pki: &Pki, extra: &[&str]) -> Vec<u8> {
    let mut args = vec![
        "cms", "-sign", "-binary", "-in", "doc.bin", "-signer", "signer.pem", "-inkey",
        "signer.key", "-certfile", "intermediate.pem", "-outform", "DER", "-out",
        "openssl-sig.der",
    ];
    args.extend_from_slice(extra);
    let output = pki.openssl(&args);
    assert!(output.success, "{}", output.text());
    pki.read("openssl-sig.der")
}

#[test]
fn we_verify_openssl_p256_signatures_with_and_without_cades() {
    let pki = Pki::new();
    let document = document();
    pki.write("doc.bin", &document);
    let trust = [pki.root.clone()];

    let plain = openssl_sign(&pki, &["-md", "sha256"]);
    let verified = verify_detached(&plain, &document, &trust, SystemTime::now()).unwrap();
    assert_eq!(verified.signer_subject(), support::SIGNER_NAME);
    assert_eq!(verified.digest_algorithm(), DigestAlgorithm::Sha256);
    assert!(verified.signing_time().is_some());
    assert!(!verified.signing_certificate_bound());
    assert!(matches!(
        verify_detached(&plain, b"other", &trust, SystemTime::now()),
        Err(Error::MessageDigestMismatch)
    ));

    let cades = openssl_sign(&pki, &["-md", "sha256", "-cades"]);
    let verified = verify_detached(&cades, &document, &trust, SystemTime::now()).unwrap();
    assert!(verified.signing_certificate_bound());

    let sha384 = openssl_sign(&pki, &["-md", "sha384", "-cades"]);
    let verified = verify_detached(&sha384, &document, &trust, SystemTime::now()).unwrap();
    assert_eq!(verified.digest_algorithm(), DigestAlgorithm::Sha384);
    assert_eq!(
        verified.signature_algorithm(),
        SignatureAlgorithm::EcdsaP256(DigestAlgorithm::Sha384)
    );

    // `-nodetach` encapsulates the content: not a detached signature.
    let attached = openssl_sign(&pki, &["-nodetach"]);
    assert!(matches!(
        verify_detached(&attached, &document, &trust, SystemTime::now()),
        Err(Error::ContentNotDetached)
    ));
    // `-noattr`: the signature covers the content directly; we require signed attributes.
    let no_attributes = openssl_sign(&pki, &["-noattr"]);
    assert!(matches!(
        verify_detached(&no_attributes, &document, &trust, SystemTime::now()),
        Err(Error::SignedAttributesMissing)
    ));
    // `-nocerts`: the signer certificate must then come from the trust list.
    let no_certificates = openssl_sign(&pki, &["-nocerts"]);
    assert!(matches!(
        verify_detached(&no_certificates, &document, &trust, SystemTime::now()),
        Err(Error::SignerCertificateNotFound)
    ));
}

#[test]
fn we_verify_pyhanko_ed25519_and_p256_signatures() {
    let pki = Pki::new();
    let document = document();
    pki.write("doc.bin", &document);
    let (key, certificate) = pki.ed25519_leaf("Ed25519 Signer");
    pki.write("ed.pem", certificate_pem(&certificate).as_bytes());
    pki.write("ed.key", support::ed25519_pkcs8_v1_pem(&key).as_bytes());
    let script = support::tool("pyhanko_sign.py");
    let python = support::pyhanko_python();
    let trust = [pki.root.clone()];

    for (key, certificate, digest, algorithm) in [
        ("ed.key", "ed.pem", "sha512", SignatureAlgorithm::Ed25519),
        (
            "signer.key",
            "signer.pem",
            "sha256",
            SignatureAlgorithm::EcdsaP256(DigestAlgorithm::Sha256),
        ),
    ] {
        let output = support::run(
            pki.dir.path(),
            &python,
            &[
                &script,
                key,
                certificate,
                "intermediate.pem",
                "doc.bin",
                digest,
                "py-sig.der",
            ],
        );
        assert!(output.success, "{}", output.text());
        let signature = pki.read("py-sig.der");
        let verified = verify_detached(&signature, &document, &trust, SystemTime::now()).unwrap();
        assert_eq!(verified.signature_algorithm(), algorithm);
        assert!(verified.signing_certificate_bound());
    }
}

/// A [`TimestampTokenVerifier`] backed by `openssl ts -verify`; genTime read from
/// `openssl ts -reply -text`, independently of our TSTInfo parser.
struct OpensslTsa<'a> {
    pki: &'a Pki,
}

#[derive(Debug)]
struct OpensslTsaError(String);

impl std::fmt::Display for OpensslTsaError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl std::error::Error for OpensslTsaError {}

impl TimestampTokenVerifier for OpensslTsa<'_> {
    type Error = OpensslTsaError;

    #[rustfmt::skip]
    fn verify_timestamp_token(
        &self,
        token_der: &[u8],
        timestamped_data: &[u8],
    ) -> Result<SystemTime, OpensslTsaError> {
        self.pki.write("hook.tst", token_der);
        self.pki.write("hook.bin", timestamped_data);
        let output = self.pki.openssl(&[
            "ts", "-verify", "-data", "hook.bin", "-in", "hook.tst", "-token_in",
            "-CAfile", "tsa-root.pem", "-untrusted", "tsa.pem",
        ]);
        if !output.text().contains("Verification: OK") {
            return Err(OpensslTsaError(output.text()));
        }
        let output = self.pki.openssl(&["ts", "-reply", "-in", "hook.tst", "-token_in", "-text"]);
        let line = output
            .stdout
            .lines()
            .find_map(|line| line.strip_prefix("Time stamp: "))
            .ok_or_else(|| OpensslTsaError(output.text()))?;
        parse_openssl_time(line).ok_or_else(|| OpensslTsaError(line.to_owned()))
    }
}

/// The OpenSSL TSA's root certificate (`tsa-root.pem`).
fn tsa_root(pki: &Pki) -> x509_cert::Certificate {
    let (_, der) = der::pem::decode_vec(&pki.read("tsa-root.pem")).unwrap();
    der::Decode::from_der(&der).unwrap()
}

/// Parses OpenSSL's `May  9 07:30:00 2026 GMT` (fractional seconds dropped).
fn parse_openssl_time(text: &str) -> Option<SystemTime> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let fields: Vec<&str> = text.split_whitespace().collect();
    let [month, day, time, year, "GMT"] = fields[..] else {
        return None;
    };
    let month = u8::try_from(MONTHS.iter().position(|name| *name == month)? + 1).ok()?;
    let mut hms = time.split(':');
    let (hour, minute, second) = (hms.next()?, hms.next()?, hms.next()?);
    let date_time = der::DateTime::new(
        year.parse().ok()?,
        month,
        day.parse().ok()?,
        hour.parse().ok()?,
        minute.parse().ok()?,
        second.split('.').next()?.parse().ok()?,
    )
    .ok()?;
    Some(date_time.to_system_time())
}

#[test]
fn cades_t_with_an_openssl_tsa_token() {
    let pki = Pki::new();
    support::setup_openssl_tsa(&pki);
    let document = document();
    pki.write("doc.bin", &document);
    let signature = sign_detached::<_, p256::ecdsa::DerSignature>(
        &document,
        &pki.signer_key,
        &pki.signer,
        &pki.chain(),
        pki.now,
    )
    .unwrap();
    let parsed = DetachedSignature::from_der(&signature).unwrap();
    let signature_value = parsed.signature_value().to_vec();

    // `openssl ts -query -data sig.bin` hashes the signature value itself.
    let token = support::openssl_timestamp(&pki, "sig", &signature_value);
    #[rustfmt::skip]
    let output = pki.openssl(&[
        "ts", "-verify", "-data", "sig.bin", "-in", "sig.tst", "-token_in",
        "-CAfile", "tsa-root.pem", "-untrusted", "tsa.pem",
    ]);
    assert!(
        output.text().contains("Verification: OK"),
        "{}",
        output.text()
    );

    let timestamped = add_timestamp(&signature, &token).unwrap();
    pki.write("sig-t.der", &timestamped);

    // OpenSSL still verifies the CMS signature: unsigned attributes are outside it.
    let output = openssl_cms_verify(&pki, "sig-t.der", "doc.bin", &[]);
    assert!(output.text().contains(CMS_VERIFY_OK), "{}", output.text());
    let output = pki.openssl(&[
        "cms",
        "-cmsout",
        "-print",
        "-inform",
        "DER",
        "-in",
        "sig-t.der",
    ]);
    assert!(output.success, "{}", output.text());
    assert!(output.stdout.contains("unsignedAttrs:\n            object: id-smime-aa-timeStampToken (1.2.840.113549.1.9.16.2.14)"), "{}", output.stdout);
    // pyHanko validates the signature and the embedded signature time-stamp token.
    let output = pyhanko_verify(&pki, "sig-t.der", "doc.bin", Some("tsa-root.pem"));
    assert!(output.success, "{}", output.text());
    println!("pyHanko on our CAdES-T signature:\n{}", output.stdout);

    // Our verifier extracts the token byte for byte; affix-tsp's TSTInfo parser (the
    // only one) reads a SHA-256 imprint and the genTime.
    let verified = verify_detached(
        &timestamped,
        &document,
        std::slice::from_ref(&pki.root),
        pki.now,
    )
    .unwrap();
    let embedded = verified.timestamp().unwrap();
    assert_eq!(embedded.token_der(), token.as_slice());
    let parsed_token = affix_tsp::TimeStampToken::from_der(embedded.token_der()).unwrap();
    let tst_info = parsed_token.tst_info();
    assert_eq!(
        DigestAlgorithm::from_algorithm_identifier(&tst_info.message_imprint.hash_algorithm)
            .unwrap(),
        DigestAlgorithm::Sha256
    );
    let gen_time = tst_info.gen_time.to_system_time();
    let skew = gen_time
        .duration_since(pki.now)
        .unwrap_or_else(|error| error.duration());
    assert!(
        skew < Duration::from_secs(120),
        "genTime {gen_time:?} vs {:?}",
        pki.now
    );

    // The OpenSSL-backed hook verifies the token; certificates are validated at genTime,
    // which OpenSSL's text output and our TSTInfo parser agree on.
    let verified = verify_detached_timestamped(
        &timestamped,
        &document,
        std::slice::from_ref(&pki.root),
        &OpensslTsa { pki: &pki },
    )
    .unwrap();
    let ValidationTime::SignatureTimestamp(validated_at) = verified.validation_time() else {
        panic!("validated at {:?}", verified.validation_time());
    };
    assert_eq!(
        validated_at.duration_since(UNIX_EPOCH).unwrap().as_secs(),
        gen_time.duration_since(UNIX_EPOCH).unwrap().as_secs()
    );
    // affix-tsp's verifier, the one Affix uses, accepts the OpenSSL token too.
    let tsa_root = tsa_root(&pki);
    let tsa_trust = affix_tsp::TsaTrust::IssuedBy(std::slice::from_ref(&tsa_root));
    let verified = verify_detached_timestamped(
        &timestamped,
        &document,
        std::slice::from_ref(&pki.root),
        &tsa_trust,
    )
    .unwrap();
    assert_eq!(
        verified.validation_time(),
        ValidationTime::SignatureTimestamp(gen_time)
    );

    // A second token is refused. A token over something else is embedded (only its
    // form is checked then) but refused by both verifiers: the imprint is not the
    // signature value's hash.
    assert!(matches!(
        add_timestamp(&timestamped, &token),
        Err(Error::TimestampAlreadyPresent)
    ));
    let other_token = support::openssl_timestamp(&pki, "other", b"not the signature");
    let wrong = add_timestamp(&signature, &other_token).unwrap();
    assert!(matches!(
        verify_detached_timestamped(
            &wrong,
            &document,
            std::slice::from_ref(&pki.root),
            &OpensslTsa { pki: &pki }
        ),
        Err(Error::TimestampRejected { .. })
    ));
    assert!(matches!(
        verify_detached_timestamped(&wrong, &document, std::slice::from_ref(&pki.root), &tsa_trust),
        Err(Error::TimestampRejected { source })
            if matches!(source.downcast_ref(), Some(affix_tsp::Error::ImprintMismatch))
    ));
    // Without a token the timestamped verification has nothing to stand on.
    assert!(matches!(
        verify_detached_timestamped(
            &signature,
            &document,
            std::slice::from_ref(&pki.root),
            &OpensslTsa { pki: &pki }
        ),
        Err(Error::TimestampMissing)
    ));
}
