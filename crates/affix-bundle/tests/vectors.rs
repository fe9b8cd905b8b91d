//! Bundles recorded from a real run (`examples/iou.sh` against `affix serve`, 2026-11-23):
//! a loan note both parties signed, a repayment, the lender's signed receipt that
//! confirmed it. They must verify with this crate alone, forever: the formats are frozen,
//! and certificates are checked at their signatures' time-stamps, not today.
#![allow(clippy::unwrap_used)]

use affix_bundle::{Error, verify, verify_litigation};
use affix_note::{Origin, TrustPolicy, VerifierKey};
use serde_json::{Value, json};
use x509_cert::Certificate;

fn vector(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/vectors")
            .join(name),
    )
    .unwrap()
}

/// The ledger's published verifier keys (the file's header names origin and quorum).
fn policy() -> TrustPolicy {
    let text = String::from_utf8(vector("verifier-keys")).unwrap();
    let keys = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| VerifierKey::parse(l).unwrap())
        .collect();
    TrustPolicy::new(Origin::new("affix.local/ledger").unwrap(), keys, 1).unwrap()
}

fn root() -> Certificate {
    <Certificate as der::DecodePem>::from_pem(vector("root.pem")).unwrap()
}

fn check(bundle: &Value) -> Result<affix_bundle::VerifiedLitigation, Error> {
    verify_litigation(
        &serde_json::to_vec(bundle).unwrap(),
        &policy(),
        std::slice::from_ref(&root()),
    )
}

#[test]
fn the_recorded_note_bundle_verifies() {
    let v = verify(&vector("evidence-v1.json"), &policy(), &[root()]).unwrap();
    assert_eq!(v.status, affix_contract::ContractStatus::Effective);
    assert_eq!(v.events, 10);
    let signers: Vec<&str> = v.signatures.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(signers, ["CN=张三,C=CN", "CN=李四,C=CN"]);
}

#[test]
fn the_recorded_litigation_bundle_verifies() {
    let bundle: Value = serde_json::from_slice(&vector("litigation-v2.json")).unwrap();
    assert_eq!(bundle["format"], "affix-litigation-bundle/v2");
    let v = check(&bundle).unwrap();
    assert_eq!((v.events, v.actions, v.documents), (2, 2, 1));
    assert_eq!(v.outstanding_yuan, "2030.00");
    assert!(!v.settled);
}

#[test]
fn other_anchors_or_edits_are_refused() {
    let bundle: Value = serde_json::from_slice(&vector("litigation-v2.json")).unwrap();
    let refused = |edit: &dyn Fn(&mut Value)| {
        let mut b = bundle.clone();
        edit(&mut b);
        check(&b).unwrap_err().to_string()
    };
    // The receipt's text says another amount (and its digest is recomputed to match).
    let e = refused(&|b| {
        let doc = &mut b["documents"][0]["bundle"]["document"];
        let text = String::from_utf8(
            base64::Engine::decode(
                &base64::engine::general_purpose::STANDARD,
                doc["bytes"].as_str().unwrap(),
            )
            .unwrap(),
        )
        .unwrap()
        .replace("amount_yuan 1030.00", "amount_yuan 1300.00");
        doc["sha256"] = json!(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
            text.as_bytes()
        )));
        doc["bytes"] = json!(base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            text
        ));
    });
    assert!(e.contains("document 0"), "{e}");
    // Documents in a v1 bundle; a kind that is not the document's.
    let e = refused(&|b| b["format"] = json!("affix-litigation-bundle/v1"));
    assert!(e.contains("v1 bundle carries no documents"), "{e}");
    let e = refused(&|b| b["documents"][0]["kind"] = json!("extension"));
    assert!(e.contains("not signed by the note's parties"), "{e}");
    // The confirmation the receipt backs is cut from the chain.
    let e = refused(&|b| {
        b["events"].as_array_mut().unwrap().pop();
    });
    assert!(e.contains("1 documents for 0 steps"), "{e}");
    // Without the CA root it was issued under.
    let err = verify(&vector("evidence-v1.json"), &policy(), &[]).unwrap_err();
    assert!(matches!(err, Error::DoesNotVerify(_)), "{err}");
}
