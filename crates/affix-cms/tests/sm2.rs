//! SM2-with-SM3 detached signatures. OpenSSL 3.0 cannot verify SM2 in CMS, so the
//! signature math is cross-checked with PyPI gmssl (pure Python): the SM3 content digest,
//! the SM2 signature over the DER signed attributes (default ID), and the SM2 certificate
//! signatures. OpenSSL is used only to parse the structure.

// Test code: failing loudly is the point.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::time::SystemTime;

use affix_cms::{
    DigestAlgorithm, Error, SignatureAlgorithm, Sm2DerSigner, sign_detached, verify_detached,
};
use cms::{content_info::ContentInfo, signed_data::SignedData};
use der::{Decode, Encode};
use support::{Pki, Sm2Pki};
use x509_cert::Certificate;

/// `gmssl_check.py` in `dir`.
fn gmssl(dir: &std::path::Path, args: &[&str]) -> support::ToolOutput {
    let script = support::tool("gmssl_check.py");
    let mut all = vec![script.as_str()];
    all.extend_from_slice(args);
    support::run(dir, &support::gmssl_python(), &all)
}

/// The x‖y hex of an SM2 certificate's public key (uncompressed point without 04).
fn public_key_hex(certificate: &Certificate) -> String {
    let point = certificate
        .tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .raw_bytes();
    assert_eq!(point.len(), 65);
    assert_eq!(point[0], 0x04);
    hex::encode(&point[1..])
}

#[test]
fn sm2_signature_verifies_here_and_its_math_checks_out_in_gmssl() {
    let pki = Pki::new(); // for its temporary directory and openssl runner
    let sm2 = Sm2Pki::new(pki.now);
    let signer = Sm2DerSigner::new(sm2.signer_key.clone()).unwrap();
    let mut document = "电子合同 / e-contract\n".as_bytes().to_vec();
    document.extend_from_slice(&support::random_bytes::<2048>());
    let signature = sign_detached::<_, sm2::dsa::DerSignature>(
        &document,
        &signer,
        &sm2.signer,
        std::slice::from_ref(&sm2.root),
        pki.now,
    )
    .unwrap();

    let trust = [sm2.root.clone()];
    let verified = verify_detached(&signature, &document, &trust, pki.now).unwrap();
    assert_eq!(
        verified.signature_algorithm(),
        SignatureAlgorithm::Sm2WithSm3
    );
    assert_eq!(verified.digest_algorithm(), DigestAlgorithm::Sm3);
    assert_eq!(verified.signer_subject(), "CN=Li Si 李四,O=Affix Test");
    assert!(verified.signing_certificate_bound());
    assert!(matches!(
        verify_detached(&signature, b"another document", &trust, pki.now),
        Err(Error::MessageDigestMismatch)
    ));

    // Pull out what gmssl needs with the cms crate (not with the code under test).
    let content_info = ContentInfo::from_der(&signature).unwrap();
    let signed_data = content_info.content.decode_as::<SignedData>().unwrap();
    let signer_info = signed_data.signer_infos.0.get(0).unwrap();
    let signed_attributes = signer_info.signed_attrs.as_ref().unwrap();
    let message_digest = signed_attributes
        .iter()
        .find(|attribute| attribute.oid.to_string() == "1.2.840.113549.1.9.4")
        .unwrap()
        .values
        .get(0)
        .unwrap()
        .value()
        .to_vec();
    pki.write("doc.bin", &document);
    pki.write("attrs.der", &signed_attributes.to_der().unwrap());
    pki.write("sig.der", signer_info.signature.as_bytes());
    pki.write(
        "leaf-tbs.der",
        &sm2.signer.tbs_certificate().to_der().unwrap(),
    );
    pki.write("leaf-sig.der", sm2.signer.signature().raw_bytes());
    pki.write(
        "root-tbs.der",
        &sm2.root.tbs_certificate().to_der().unwrap(),
    );
    pki.write("root-sig.der", sm2.root.signature().raw_bytes());
    let dir = pki.dir.path();

    // 1. The message-digest attribute is SM3 of the document.
    let output = gmssl(dir, &["sm3", "doc.bin"]);
    assert!(output.success, "{}", output.text());
    assert_eq!(output.stdout.trim(), hex::encode(&message_digest));

    // 2. The SM2 signature over the DER SET OF signed attributes, signer key, default ID.
    let signer_key = public_key_hex(&sm2.signer);
    let output = gmssl(dir, &["sm2-verify", &signer_key, "sig.der", "attrs.der"]);
    assert!(
        output.success,
        "gmssl rejected the CMS signature: {}",
        output.text()
    );
    // ... and gmssl does reject a tampered message.
    let mut tampered = signed_attributes.to_der().unwrap();
    *tampered.last_mut().unwrap() ^= 1;
    pki.write("tampered.der", &tampered);
    let output = gmssl(dir, &["sm2-verify", &signer_key, "sig.der", "tampered.der"]);
    assert!(!output.success, "gmssl accepted a tampered message");

    // 3. The certificate signatures (leaf by root, root by itself).
    let root_key = public_key_hex(&sm2.root);
    for (signature, tbs) in [
        ("leaf-sig.der", "leaf-tbs.der"),
        ("root-sig.der", "root-tbs.der"),
    ] {
        let output = gmssl(dir, &["sm2-verify", &root_key, signature, tbs]);
        assert!(
            output.success,
            "gmssl rejected {signature}: {}",
            output.text()
        );
    }

    // OpenSSL parses the structure and names the algorithms (it cannot verify SM2 CMS).
    pki.write("sm2-sig.der", &signature);
    let output = pki.openssl(&[
        "cms",
        "-cmsout",
        "-print",
        "-inform",
        "DER",
        "-in",
        "sm2-sig.der",
    ]);
    assert!(output.success, "{}", output.text());
    assert!(
        output
            .stdout
            .contains("algorithm: sm3 (1.2.156.10197.1.401)"),
        "{}",
        output.stdout
    );
    assert!(
        output.stdout.contains("(1.2.156.10197.1.501)"),
        "{}",
        output.stdout
    );
}

#[test]
fn sm2_signers_must_use_the_default_distinguishing_identifier() {
    let key = sm2::dsa::SigningKey::from_slice("alice@example.com", &support::random_bytes::<32>())
        .unwrap();
    assert!(matches!(
        Sm2DerSigner::new(key),
        Err(affix_pki::Error::Sm2DistinguishingId)
    ));
}

#[test]
fn sm2_signature_with_a_p256_chain_is_rejected_as_untrusted() {
    let pki = Pki::new();
    let sm2 = Sm2Pki::new(SystemTime::now());
    let signer = Sm2DerSigner::new(sm2.signer_key.clone()).unwrap();
    let signature =
        sign_detached::<_, sm2::dsa::DerSignature>(b"document", &signer, &sm2.signer, &[], pki.now)
            .unwrap();
    assert!(matches!(
        verify_detached(
            &signature,
            b"document",
            std::slice::from_ref(&pki.root),
            pki.now
        ),
        Err(Error::UntrustedChain { .. })
    ));
}
