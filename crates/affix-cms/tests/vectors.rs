//! Frozen encodings: deterministic keys (seeded), certificates (fixed serials and
//! validity) and signing time give byte-identical signatures (RFC 6979 ECDSA, EdDSA,
//! deterministic SM2), stored in `tests/vectors/`. A change in attribute order, DER
//! sorting or certificate encoding shows up here.
//!
//! Regenerating (`AFFIX_REGENERATE_VECTORS=1 cargo test --test vectors`) approves a new
//! encoding: say why in the commit.

// Test code: failing loudly is the point.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use affix_cms::{DigestAlgorithm, Sm2DerSigner, sign_detached, verify_detached};
use sha2::Digest as _;
use support::Role;
use x509_cert::Certificate;

const CONTENT: &[u8] = b"Affix CMS test vector v1\n";
const ROOT: &str = "CN=Affix Vector Root,O=Affix Test";
const SIGNER: &str = "CN=Affix Vector Signer,O=Affix Test";

/// 2026-05-09T07:30:00Z.
fn signing_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_778_311_800)
}

/// 2026-01-01T00:00:00Z to 2036-01-01T00:00:00Z.
fn validity() -> (SystemTime, SystemTime) {
    (
        UNIX_EPOCH + Duration::from_secs(1_767_225_600),
        UNIX_EPOCH + Duration::from_secs(2_082_758_400),
    )
}

fn seed(label: &str) -> [u8; 32] {
    sha2::Sha256::digest(label.as_bytes()).into()
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

fn p256_hierarchy() -> (p256::ecdsa::SigningKey, Certificate, Certificate) {
    let root_key = p256::ecdsa::SigningKey::from_slice(&seed("affix vector p256 root")).unwrap();
    let signer_key =
        p256::ecdsa::SigningKey::from_slice(&seed("affix vector p256 signer")).unwrap();
    let root = support::issue_custom::<_, p256::ecdsa::DerSignature>(
        ROOT,
        ROOT,
        Role::CA,
        support::spki_of(root_key.verifying_key()),
        validity(),
        &root_key,
        &[0x01],
        Vec::new(),
    );
    let signer = support::issue_custom::<_, p256::ecdsa::DerSignature>(
        SIGNER,
        ROOT,
        Role::signer(),
        support::spki_of(signer_key.verifying_key()),
        validity(),
        &root_key,
        &[0x02],
        Vec::new(),
    );
    (signer_key, signer, root)
}

#[test]
fn p256_signature_encoding_is_frozen() {
    let (key, signer, root) = p256_hierarchy();
    let signature = sign_detached::<_, p256::ecdsa::DerSignature>(
        CONTENT,
        &key,
        &signer,
        std::slice::from_ref(&root),
        signing_time(),
    )
    .unwrap();
    check_vector("p256-root.der", &der::Encode::to_der(&root).unwrap());
    check_vector("p256-detached.der", &signature);
    let verified = verify_detached(&signature, CONTENT, &[root], signing_time()).unwrap();
    assert_eq!(verified.digest_algorithm(), DigestAlgorithm::Sha256);
}

#[test]
fn ed25519_signature_encoding_is_frozen() {
    let (_, _, root) = p256_hierarchy();
    let root_key = p256::ecdsa::SigningKey::from_slice(&seed("affix vector p256 root")).unwrap();
    let key = ed25519_dalek::SigningKey::from_bytes(&seed("affix vector ed25519 signer"));
    let signer = support::issue_custom::<_, p256::ecdsa::DerSignature>(
        "CN=Affix Vector Ed25519 Signer,O=Affix Test",
        ROOT,
        Role::signer(),
        support::spki_of(&key.verifying_key()),
        validity(),
        &root_key,
        &[0x03],
        Vec::new(),
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
    verify_detached(&signature, CONTENT, &[root], signing_time()).unwrap();
}

#[test]
fn sm2_signature_encoding_is_frozen() {
    let distid = affix_cms::SM2_DEFAULT_DISTID;
    let root_key =
        sm2::dsa::SigningKey::from_slice(distid, &seed("affix vector sm2 root")).unwrap();
    let key = sm2::dsa::SigningKey::from_slice(distid, &seed("affix vector sm2 signer")).unwrap();
    let root_signer = Sm2DerSigner::new(root_key.clone()).unwrap();
    let root = support::issue_custom::<_, sm2::dsa::DerSignature>(
        "CN=Affix Vector SM2 Root,O=Affix Test",
        "CN=Affix Vector SM2 Root,O=Affix Test",
        Role::CA,
        support::spki_of(root_key.verifying_key()),
        validity(),
        &root_signer,
        &[0x04],
        Vec::new(),
    );
    let signer = support::issue_custom::<_, sm2::dsa::DerSignature>(
        "CN=Affix Vector SM2 Signer,O=Affix Test",
        "CN=Affix Vector SM2 Root,O=Affix Test",
        Role::signer(),
        support::spki_of(key.verifying_key()),
        validity(),
        &root_signer,
        &[0x05],
        Vec::new(),
    );
    let signature = sign_detached::<_, sm2::dsa::DerSignature>(
        CONTENT,
        &Sm2DerSigner::new(key).unwrap(),
        &signer,
        std::slice::from_ref(&root),
        signing_time(),
    )
    .unwrap();
    check_vector("sm2-root.der", &der::Encode::to_der(&root).unwrap());
    check_vector("sm2-detached.der", &signature);
    verify_detached(&signature, CONTENT, &[root], signing_time()).unwrap();
}
