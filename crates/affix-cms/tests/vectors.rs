//! Frozen encodings: deterministic keys (seeded), fixed certificates and signing time
//! give byte-identical signatures (RFC 6979 ECDSA, EdDSA, deterministic SM2), stored in
//! `tests/vectors/`. A change in attribute order, DER sorting or SignedData encoding
//! shows up here, whether the signature is made in one step (`sign_detached`) or two
//! (`PreparedSignature`).
//!
//! The certificates are inputs, stored beside the signatures (`*-root.der`,
//! `*-signer.der`): they were made once and are not regenerated, so a change in a
//! certificate builder cannot move these vectors.
//!
//! Regenerating (`AFFIX_REGENERATE_VECTORS=1 cargo test --test vectors`) approves a new
//! signature encoding: say why in the commit.

// Test code: failing loudly is the point.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use affix_cms::{DigestAlgorithm, PreparedSignature, Sm2DerSigner, sign_detached, verify_detached};
use der::Decode;
use sha2::Digest as _;
use signature::Signer as _;
use x509_cert::Certificate;

const CONTENT: &[u8] = b"Affix CMS test vector v1\n";

/// 2026-05-09T07:30:00Z.
fn signing_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_778_311_800)
}

fn seed(label: &str) -> [u8; 32] {
    sha2::Sha256::digest(label.as_bytes()).into()
}

/// A stored vector file.
fn stored(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// A stored certificate.
fn certificate(name: &str) -> Certificate {
    Certificate::from_der(&stored(name)).unwrap()
}

/// Compares `actual` with the stored vector, or stores it when regenerating.
fn check_vector(name: &str, actual: &[u8]) {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("AFFIX_REGENERATE_VECTORS").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    assert!(
        expected == actual,
        "{name} changed: SHA-256 {} stored, {} produced",
        hex::encode(sha2::Sha256::digest(&expected)),
        hex::encode(sha2::Sha256::digest(actual))
    );
}

#[test]
fn p256_signature_encoding_is_frozen() {
    let key = p256::ecdsa::SigningKey::from_slice(&seed("affix vector p256 signer")).unwrap();
    let (signer, root) = (certificate("p256-signer.der"), certificate("p256-root.der"));
    let signature = sign_detached::<_, p256::ecdsa::DerSignature>(
        CONTENT,
        &key,
        &signer,
        std::slice::from_ref(&root),
        signing_time(),
    )
    .unwrap();
    check_vector("p256-detached.der", &signature);
    let verified = verify_detached(
        &signature,
        CONTENT,
        std::slice::from_ref(&root),
        signing_time(),
    )
    .unwrap();
    assert_eq!(verified.digest_algorithm(), DigestAlgorithm::Sha256);

    // Two-phase: prepare, sign the to-be-signed bytes elsewhere, assemble — the same bytes.
    let prepared = PreparedSignature::new(
        CONTENT,
        &signer,
        std::slice::from_ref(&root),
        signing_time(),
    )
    .unwrap();
    let elsewhere: p256::ecdsa::DerSignature = key.sign(prepared.to_be_signed());
    assert_eq!(prepared.assemble(elsewhere.as_bytes()).unwrap(), signature);
    // The prehash an ECDSA signer would sign is SHA-256 of those bytes.
    assert_eq!(
        prepared.to_be_signed_digest().unwrap(),
        DigestAlgorithm::Sha256.digest(prepared.to_be_signed())
    );
}

#[test]
fn ed25519_signature_encoding_is_frozen() {
    let key = ed25519_dalek::SigningKey::from_bytes(&seed("affix vector ed25519 signer"));
    let (signer, root) = (
        certificate("ed25519-signer.der"),
        certificate("p256-root.der"),
    );
    let signature = sign_detached::<_, ed25519_dalek::Signature>(
        CONTENT,
        &key,
        &signer,
        std::slice::from_ref(&root),
        signing_time(),
    )
    .unwrap();
    check_vector("ed25519-detached.der", &signature);
    verify_detached(
        &signature,
        CONTENT,
        std::slice::from_ref(&root),
        signing_time(),
    )
    .unwrap();

    let content_digest = DigestAlgorithm::Sha512.digest(CONTENT);
    let prepared = PreparedSignature::from_content_digest(
        &content_digest,
        &signer,
        std::slice::from_ref(&root),
        signing_time(),
    )
    .unwrap();
    assert_eq!(prepared.to_be_signed_digest(), None);
    let elsewhere = key.sign(prepared.to_be_signed());
    assert_eq!(prepared.assemble(&elsewhere.to_bytes()).unwrap(), signature);
}

#[test]
fn sm2_signature_encoding_is_frozen() {
    let key = sm2::dsa::SigningKey::from_slice(
        affix_cms::SM2_DEFAULT_DISTID,
        &seed("affix vector sm2 signer"),
    )
    .unwrap();
    let (signer, root) = (certificate("sm2-signer.der"), certificate("sm2-root.der"));
    let signature = sign_detached::<_, sm2::dsa::DerSignature>(
        CONTENT,
        &Sm2DerSigner::new(key.clone()).unwrap(),
        &signer,
        std::slice::from_ref(&root),
        signing_time(),
    )
    .unwrap();
    check_vector("sm2-detached.der", &signature);
    verify_detached(
        &signature,
        CONTENT,
        std::slice::from_ref(&root),
        signing_time(),
    )
    .unwrap();

    let prepared = PreparedSignature::new(
        CONTENT,
        &signer,
        std::slice::from_ref(&root),
        signing_time(),
    )
    .unwrap();
    let elsewhere: sm2::dsa::Signature = key.sign(prepared.to_be_signed());
    assert_eq!(
        prepared.assemble(elsewhere.to_der().as_bytes()).unwrap(),
        signature
    );
}

#[test]
fn assembling_a_signature_by_another_key_or_over_other_bytes_is_refused() {
    let key = p256::ecdsa::SigningKey::from_slice(&seed("affix vector p256 signer")).unwrap();
    let other = p256::ecdsa::SigningKey::from_slice(&seed("affix vector p256 root")).unwrap();
    let (signer, root) = (certificate("p256-signer.der"), certificate("p256-root.der"));
    let prepared = PreparedSignature::new(
        CONTENT,
        &signer,
        std::slice::from_ref(&root),
        signing_time(),
    )
    .unwrap();
    let by_other: p256::ecdsa::DerSignature = other.sign(prepared.to_be_signed());
    assert!(matches!(
        prepared.assemble(by_other.as_bytes()),
        Err(affix_cms::Error::SignatureInvalid)
    ));
    let over_other: p256::ecdsa::DerSignature = key.sign(b"not the signed attributes");
    assert!(matches!(
        prepared.assemble(over_other.as_bytes()),
        Err(affix_cms::Error::SignatureInvalid)
    ));
    assert!(matches!(
        PreparedSignature::from_content_digest(&[0; 20], &signer, &[], signing_time()),
        Err(affix_cms::Error::ContentDigestLength {
            len: 20,
            expected: 32
        })
    ));
}

/// Affix's signed attributes (document and signature image digests): frozen like the
/// rest, covered by the signature, read back by verification and by
/// `SignedAttributesView`; any other digest gives other signed attributes; a signature
/// without them verifies as before, with none reported.
#[test]
fn affix_attributes_are_signed_read_back_and_change_the_signed_bytes() {
    use affix_cms::{AffixAttributes, SignedAttributesView};
    let key = p256::ecdsa::SigningKey::from_slice(&seed("affix vector p256 signer")).unwrap();
    let (signer, root) = (certificate("p256-signer.der"), certificate("p256-root.der"));
    let affix = AffixAttributes::new()
        .with_document_digest(seed("the document"))
        .with_signature_image_digest(seed("the image"));
    let prepare = |affix: &AffixAttributes| {
        PreparedSignature::new(
            CONTENT,
            &signer,
            std::slice::from_ref(&root),
            signing_time(),
        )
        .unwrap()
        .with_affix_attributes(affix)
        .unwrap()
    };
    let prepared = prepare(&affix);
    let signature: p256::ecdsa::DerSignature = key.sign(prepared.to_be_signed());
    let der = prepared.assemble(signature.as_bytes()).unwrap();
    check_vector("p256-affix-attributes.der", &der);
    let verified =
        verify_detached(&der, CONTENT, std::slice::from_ref(&root), signing_time()).unwrap();
    assert_eq!(verified.affix_attributes(), &affix);

    let view = SignedAttributesView::from_der(prepared.to_be_signed()).unwrap();
    assert_eq!(view.affix_attributes(), &affix);
    assert_eq!(
        view.message_digest(),
        sha2::Sha256::digest(CONTENT).as_slice()
    );
    assert_eq!(view.signing_time(), Some(signing_time()));
    let certificate_hash = &view.signing_certificate_v2().unwrap().certs[0].cert_hash;
    assert_eq!(
        certificate_hash.as_bytes(),
        sha2::Sha256::digest(der::Encode::to_der(&signer).unwrap()).as_slice()
    );

    // Another image, or no document: other bytes to sign.
    let other_image = affix.with_signature_image_digest(seed("another image"));
    assert_ne!(
        prepare(&other_image).to_be_signed(),
        prepared.to_be_signed()
    );
    let image_only = AffixAttributes::new().with_signature_image_digest(seed("the image"));
    assert_ne!(prepare(&image_only).to_be_signed(), prepared.to_be_signed());
    // Added twice: refused.
    assert!(matches!(
        prepare(&affix).with_affix_attributes(&affix),
        Err(affix_cms::Error::AttributeInvalid { .. })
    ));
    // Without them: the frozen plain signature verifies, with no Affix attributes.
    let plain = stored("p256-detached.der");
    let verified =
        verify_detached(&plain, CONTENT, std::slice::from_ref(&root), signing_time()).unwrap();
    assert_eq!(verified.affix_attributes(), &AffixAttributes::new());
    // Not canonical (a trailing byte) and not DER at all: refused.
    let mut trailing = prepared.to_be_signed().to_vec();
    trailing.push(0);
    assert!(SignedAttributesView::from_der(&trailing).is_err());
    assert!(SignedAttributesView::from_der(b"\x31\x00").is_err());
}
