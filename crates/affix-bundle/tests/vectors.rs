//! Bundles recorded from a real run (`examples/iou.sh` against `affix serve`, 2026-11-23):
//! a loan note both parties signed, a repayment, the lender's signed receipt that
//! confirmed it. They must verify with this crate alone, forever: the formats are frozen,
//! and certificates are checked at their signatures' time-stamps, not today.
#![allow(clippy::unwrap_used)]

use affix_bundle::{
    Entry, Error, SignatureFault, SignaturePart, TimestampFault, verify, verify_litigation,
};
use affix_note::{TrustPolicy, VerifierKeysFile};
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

/// The ledger's published verifier keys: the file's header names origin and quorum.
fn policy() -> TrustPolicy {
    let text = String::from_utf8(vector("verifier-keys")).unwrap();
    let policy = VerifierKeysFile::parse(&text)
        .unwrap()
        .trust_policy()
        .unwrap();
    assert_eq!(policy.origin().as_str(), "affix.local/ledger");
    assert_eq!(policy.quorum(), 1);
    policy
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
        check(&b).unwrap_err()
    };
    // The receipt's text says another amount (and its digest is recomputed to match):
    // the document is not the one its signed content names.
    let e = refused(&|b| {
        let doc = &mut b["documents"][0]["bundle"]["document"];
        let text = String::from_utf8(unb64(doc["bytes"].as_str().unwrap()))
            .unwrap()
            .replace("amount_yuan 1030.00", "amount_yuan 1300.00");
        doc["sha256"] = json!(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
            text.as_bytes()
        )));
        doc["bytes"] = json!(b64(text.as_bytes()));
    });
    assert!(e.to_string().contains("document 0"), "{e}");
    assert!(
        matches!(&e, Error::Document { document: 0, source } if matches!(**source, Error::DocumentDigestMismatch)),
        "{e}"
    );
    // Documents in a v1 bundle; a kind that is not the document's.
    let e = refused(&|b| b["format"] = json!("affix-litigation-bundle/v1"));
    assert!(matches!(e, Error::Malformed { .. }), "{e}");
    assert!(
        e.to_string().contains("v1 bundle carries no documents"),
        "{e}"
    );
    let e = refused(&|b| b["documents"][0]["kind"] = json!("extension"));
    assert!(
        matches!(&e, Error::DocumentWrongSigner { document: 0, kind } if kind == "extension"),
        "{e}"
    );
    assert!(
        e.to_string().contains("not signed by the note's parties"),
        "{e}"
    );
    // The confirmation the receipt backs is cut from the chain.
    let e = refused(&|b| {
        b["events"].as_array_mut().unwrap().pop();
    });
    assert!(
        matches!(
            e,
            Error::DocumentsUnbacked {
                documents: 1,
                steps: 0
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("1 documents for 0 steps"), "{e}");
    // Without the CA root it was issued under.
    let err = verify(&vector("evidence-v1.json"), &policy(), &[]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::SignatureInvalid {
                fault: SignatureFault::Cms(_),
                ..
            }
        ),
        "{err}"
    );
}

// ---- each class of tampering yields its own error -------------------------------------

fn b64(bytes: &[u8]) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    base64::Engine::decode(&base64::engine::general_purpose::STANDARD, text).unwrap()
}

/// Flips one bit in the middle of a base64 field.
fn flip(field: &mut Value) {
    let mut raw = unb64(field.as_str().unwrap());
    let at = raw.len() / 2;
    raw[at] ^= 0x01;
    *field = json!(b64(&raw));
}

/// The recorded note bundle, edited, as [`verify`] sees it.
fn note_refused(edit: &dyn Fn(&mut Value)) -> Error {
    let mut b: Value = serde_json::from_slice(&vector("evidence-v1.json")).unwrap();
    edit(&mut b);
    verify(&serde_json::to_vec(&b).unwrap(), &policy(), &[root()]).unwrap_err()
}

fn litigation_refused(edit: &dyn Fn(&mut Value)) -> Error {
    let mut b: Value = serde_json::from_slice(&vector("litigation-v2.json")).unwrap();
    edit(&mut b);
    check(&b).unwrap_err()
}

/// The first signature's party, as the bundle names it.
fn first_party() -> String {
    let b: Value = serde_json::from_slice(&vector("evidence-v1.json")).unwrap();
    b["signatures"][0]["party"].as_str().unwrap().to_owned()
}

#[test]
fn a_tampered_receipt_is_a_receipt_invalid_for_its_event() {
    // Another index: the inclusion proof no longer reaches the signed root.
    let e = note_refused(&|b| {
        let receipt = b["events"][3]["receipt"].as_str().unwrap();
        let index = receipt
            .lines()
            .find_map(|l| l.strip_prefix("index "))
            .unwrap();
        let other = receipt.replace(
            &format!("index {index}\n"),
            &format!("index {}\n", index.parse::<u64>().unwrap() + 1),
        );
        b["events"][3]["receipt"] = json!(other);
    });
    assert!(
        matches!(
            e,
            Error::ReceiptInvalid {
                entry: Entry::Event(3),
                ..
            }
        ),
        "{e}"
    );
    let source = std::error::Error::source(&e).unwrap();
    assert!(
        source.downcast_ref::<affix_note::Error>().is_some(),
        "{source}"
    );
    // A receipt of another event: it proves another record.
    let e = note_refused(&|b| b["events"][3]["receipt"] = b["events"][4]["receipt"].clone());
    assert!(
        matches!(
            e,
            Error::ReceiptInvalid {
                entry: Entry::Event(3),
                source: affix_note::Error::EntryMismatch
            }
        ),
        "{e}"
    );
    // No receipt; a loan event's and an action's receipt.
    let e = note_refused(&|b| b["events"][0]["receipt"] = Value::Null);
    assert!(
        matches!(
            e,
            Error::ReceiptMissing {
                entry: Entry::Event(0)
            }
        ),
        "{e}"
    );
    let e = litigation_refused(&|b| b["events"][1]["receipt"] = b["events"][0]["receipt"].clone());
    assert!(
        matches!(
            e,
            Error::ReceiptInvalid {
                entry: Entry::LoanEvent(1),
                ..
            }
        ),
        "{e}"
    );
    let e =
        litigation_refused(&|b| b["actions"][0]["receipt"] = b["actions"][1]["receipt"].clone());
    assert!(
        matches!(
            e,
            Error::ReceiptInvalid {
                entry: Entry::Action(0),
                ..
            }
        ),
        "{e}"
    );
    // Under another consortium's keys, every receipt fails.
    let other = VerifierKeysFile::parse(&format!(
        "# Affix consortium affix.local/ledger: receipts need 1 of these 1 keys\n{}\n",
        affix_note::NoteSigner::verifier_key(&affix_note::SignerKey::ed25519_from_seed(
            affix_note::KeyName::new("stranger.test").unwrap(),
            &[7; 32]
        ))
    ))
    .unwrap()
    .trust_policy()
    .unwrap();
    let e = verify(&vector("evidence-v1.json"), &other, &[root()]).unwrap_err();
    assert!(
        matches!(
            e,
            Error::ReceiptInvalid {
                entry: Entry::Event(0),
                source: affix_note::Error::QuorumNotMet { .. }
            }
        ),
        "{e}"
    );
}

#[test]
fn a_tampered_cms_signature_is_a_signature_invalid_for_its_party() {
    let party = first_party();
    for (field, part) in [
        ("cms", SignaturePart::Cms),
        ("certificate", SignaturePart::Certificate),
        ("image_png", SignaturePart::Image),
    ] {
        let e = note_refused(&|b| flip(&mut b["signatures"][0][field]));
        match &e {
            Error::SignatureInvalid {
                party: p,
                fault: SignatureFault::NotRecorded(found),
            } => {
                assert_eq!(p.to_string(), party);
                assert_eq!(*found, part);
            }
            other => panic!("{field}: {other}"),
        }
        assert!(e.to_string().contains(&party), "{e}");
    }
    // A party without its signature.
    let e = note_refused(&|b| {
        b["signatures"].as_array_mut().unwrap().remove(0);
    });
    assert!(
        matches!(
            e,
            Error::SignatureInvalid {
                fault: SignatureFault::Missing,
                ..
            }
        ),
        "{e}"
    );
    // The CMS error is the source of the fault.
    let e = verify(&vector("evidence-v1.json"), &policy(), &[]).unwrap_err();
    let fault = std::error::Error::source(&e).unwrap();
    assert!(
        fault
            .source()
            .unwrap()
            .downcast_ref::<affix_cms::Error>()
            .is_some(),
        "{e}"
    );
}

#[test]
fn a_tampered_time_stamp_token_is_a_timestamp_invalid_for_its_party() {
    let party = first_party();
    let e = note_refused(&|b| flip(&mut b["signatures"][0]["timestamp_token"]));
    match &e {
        Error::TimestampInvalid {
            party: p,
            fault: TimestampFault::NotRecorded,
        } => assert_eq!(p.to_string(), party),
        other => panic!("{other}"),
    }
    // The other party's token in its place.
    let e = note_refused(&|b| {
        b["signatures"][0]["timestamp_token"] = b["signatures"][1]["timestamp_token"].clone();
    });
    assert!(
        matches!(
            e,
            Error::TimestampInvalid {
                fault: TimestampFault::NotRecorded,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn a_tampered_document_is_a_document_digest_mismatch() {
    let bundle: Value = serde_json::from_slice(&vector("litigation-v2.json")).unwrap();
    let mut receipt = bundle["documents"][0]["bundle"].clone();
    verify(&serde_json::to_vec(&receipt).unwrap(), &policy(), &[root()]).unwrap();
    flip(&mut receipt["document"]["bytes"]);
    let e = verify(&serde_json::to_vec(&receipt).unwrap(), &policy(), &[root()]).unwrap_err();
    assert!(matches!(e, Error::DocumentDigestMismatch), "{e}");
    // Inside the litigation bundle, the document's own fault is the source.
    let e = litigation_refused(&|b| flip(&mut b["documents"][0]["bundle"]["document"]["bytes"]));
    assert!(
        matches!(&e, Error::Document { document: 0, source } if matches!(**source, Error::DocumentDigestMismatch)),
        "{e}"
    );
    // A document the content does not name (the note bundle with one attached).
    let e = note_refused(&|b| {
        b["document"] = receipt["document"].clone();
    });
    assert!(matches!(e, Error::DocumentNotNamed), "{e}");
}

#[test]
fn tampered_loan_terms_are_a_loan_terms_mismatch() {
    // Other rules than the signed ones (a longer grace period).
    let e = litigation_refused(&|b| {
        let rules = b["rules"]
            .as_str()
            .unwrap()
            .replace("\"grace_days\":3", "\"grace_days\":10");
        b["rules"] = json!(rules);
    });
    assert!(matches!(e, Error::LoanTermsMismatch), "{e}");
    // Rules that do not parse.
    let e = litigation_refused(&|b| b["rules"] = json!("{}"));
    assert!(matches!(e, Error::Malformed { .. }), "{e}");
}

#[test]
fn a_tampered_event_is_a_record_mismatch_or_a_broken_chain() {
    // Another event's bytes beside this event's record.
    let e = note_refused(&|b| b["events"][3]["event"] = b["events"][4]["event"].clone());
    assert!(
        matches!(
            e,
            Error::RecordMismatch {
                entry: Entry::Event(3)
            }
        ),
        "{e}"
    );
    // Two events swapped, each with its own record and receipt: the chain breaks.
    let e = note_refused(&|b| b["events"].as_array_mut().unwrap().swap(3, 4));
    assert!(matches!(e, Error::ChainBroken { .. }), "{e}");
    let source = std::error::Error::source(&e).unwrap();
    assert!(
        source.downcast_ref::<affix_contract::Error>().is_some(),
        "{source}"
    );
    // An event that does not decode.
    let e = note_refused(&|b| b["events"][2]["event"] = json!(b64(b"AFEV")));
    assert!(matches!(e, Error::Malformed { .. }), "{e}");
    assert!(e.to_string().contains("event 2"), "{e}");
    // No events at all.
    let e = note_refused(&|b| b["events"] = json!([]));
    assert!(matches!(e, Error::NoEvents), "{e}");
    // A loan event edited: its record is not its record any more.
    let e = litigation_refused(&|b| {
        let text = b["events"][1]["text"]
            .as_str()
            .unwrap()
            .replace("outstanding_yuan 2030.00", "outstanding_yuan 2000.00");
        b["events"][1]["text"] = json!(text);
    });
    assert!(
        matches!(
            e,
            Error::RecordMismatch {
                entry: Entry::LoanEvent(1)
            }
        ),
        "{e}"
    );
    // The report cut from the loan chain: the confirmation no longer replays.
    let e = litigation_refused(&|b| {
        b["events"].as_array_mut().unwrap().remove(0);
    });
    assert!(matches!(e, Error::LoanChainBroken { .. }), "{e}");
    // A swapped proof attachment.
    let e = litigation_refused(&|b| b["events"][0]["proof"] = json!(b64(b"another image")));
    assert!(
        matches!(
            e,
            Error::ProofAttachmentMismatch {
                entry: Entry::LoanEvent(0),
                named: true
            }
        ),
        "{e}"
    );
    let e = litigation_refused(&|b| b["events"][1]["proof"] = json!(b64(b"an image")));
    assert!(
        matches!(
            e,
            Error::ProofAttachmentMismatch {
                entry: Entry::LoanEvent(1),
                named: false
            }
        ),
        "{e}"
    );
    // An action of another loan.
    let e = litigation_refused(&|b| {
        let key = b["actions"][0]["key"]
            .as_str()
            .unwrap()
            .replacen('5', "6", 1);
        b["actions"][0]["key"] = json!(key);
    });
    assert!(
        matches!(
            e,
            Error::ActionOfAnotherLoan {
                action: 0,
                part: "key"
            }
        ),
        "{e}"
    );
}

#[test]
fn malformed_bundles_and_other_documents_are_named() {
    let e = note_refused(&|b| b["format"] = json!("affix-evidence-bundle/v9"));
    assert!(
        matches!(&e, Error::UnknownFormat { found } if found == "affix-evidence-bundle/v9"),
        "{e}"
    );
    let e = note_refused(&|b| b["contract_id"] = json!("00000000000000000000000000000000"));
    assert!(matches!(e, Error::ContractIdMismatch { .. }), "{e}");
    let e = note_refused(&|b| b["content"] = json!("not base64!"));
    assert!(
        matches!(&e, Error::Malformed { what, source: Some(_) } if what.contains("content")),
        "{e}"
    );
    let e = verify(b"{}", &policy(), &[root()]).unwrap_err();
    assert!(matches!(e, Error::Malformed { .. }), "{e}");
    let huge = vec![b' '; affix_bundle::BUNDLE_BYTES_MAX + 1];
    let e = verify(&huge, &policy(), &[root()]).unwrap_err();
    assert!(matches!(e, Error::TooLarge { .. }), "{e}");
    // Two documents for the one step that rests on one.
    let e = litigation_refused(&|b| {
        let d = b["documents"][0].clone();
        b["documents"].as_array_mut().unwrap().push(d);
    });
    assert!(
        matches!(
            e,
            Error::DocumentsUnbacked {
                documents: 2,
                steps: 1
            }
        ),
        "{e}"
    );
    // The loan note's own bundle passed off as the lender's receipt: it has no text.
    let e = litigation_refused(&|b| b["documents"][0]["bundle"] = b["contract"].clone());
    assert!(matches!(e, Error::Malformed { .. }), "{e}");
    assert!(e.to_string().contains("document 0"), "{e}");
    // An unknown document kind.
    let e = litigation_refused(&|b| b["documents"][0]["kind"] = json!("affidavit"));
    assert!(matches!(e, Error::Malformed { .. }), "{e}");
}

/// The v2 vector (`evidence-v2/`, recorded by `affix-server/tests/passkey.rs` with
/// `AFFIX_RECORD_BUNDLE_V2`): a passkey signer and a browser-held-key signer.
fn v2() -> (Vec<u8>, TrustPolicy, Certificate) {
    let text = String::from_utf8(vector("evidence-v2/verifier-keys")).unwrap();
    let policy = VerifierKeysFile::parse(&text)
        .unwrap()
        .trust_policy()
        .unwrap();
    let root = <Certificate as der::DecodePem>::from_pem(vector("evidence-v2/root.pem")).unwrap();
    (vector("evidence-v2/evidence-v2.json"), policy, root)
}

fn v2_refused(edit: &dyn Fn(&mut Value)) -> Error {
    let (bytes, policy, root) = v2();
    let mut b: Value = serde_json::from_slice(&bytes).unwrap();
    edit(&mut b);
    verify(&serde_json::to_vec(&b).unwrap(), &policy, &[root]).unwrap_err()
}

#[test]
fn the_recorded_v2_bundle_verifies_every_approval() {
    let (bytes, policy, root) = v2();
    let verified = verify(&bytes, &policy, &[root]).unwrap();
    assert_eq!(verified.status, affix_contract::ContractStatus::Effective);
    assert_eq!(
        verified.approvals,
        [
            Some("passkey-es256".to_owned()),
            Some("browser-p256".to_owned())
        ]
    );
}

#[test]
fn a_tampered_or_missing_approval_is_a_signature_invalid_for_its_party() {
    // Each part of each approval, edited: a flipped bit in the authorization (the
    // WebAuthn assertion or the signature inside), in the credential's public key;
    // another relying party or origin; another credential kind.
    for n in 0..2 {
        for field in ["authorization", "credential_public_key"] {
            let err = v2_refused(&|b| flip(&mut b["signatures"][n]["approval"][field]));
            assert!(
                matches!(
                    err,
                    Error::SignatureInvalid {
                        fault: SignatureFault::ApprovalInvalid(_)
                            | SignatureFault::ApprovalMalformed(_)
                            | SignatureFault::NotApproved,
                        ..
                    }
                ),
                "{n} {field}: {err}"
            );
        }
        let err = v2_refused(&|b| {
            b["signatures"][n]["approval"]["credential_kind"] = json!("ed25519");
        });
        assert!(matches!(err, Error::SignatureInvalid { .. }), "{n}: {err}");
        let err = v2_refused(&|b| {
            b["signatures"][n]
                .as_object_mut()
                .unwrap()
                .remove("approval");
        });
        assert!(
            matches!(
                err,
                Error::SignatureInvalid {
                    fault: SignatureFault::ApprovalMissing,
                    ..
                }
            ),
            "{n}: {err}"
        );
    }
    for (field, value) in [("rp_id", "example.com"), ("origin", "https://evil.example")] {
        let err = v2_refused(&|b| b["signatures"][0]["approval"][field] = json!(value));
        assert!(
            matches!(
                err,
                Error::SignatureInvalid {
                    fault: SignatureFault::ApprovalInvalid(_),
                    ..
                }
            ),
            "{field}: {err}"
        );
    }
    // A v1 bundle carries no approvals; a v2 bundle read as v1 is refused.
    let err = v2_refused(&|b| b["format"] = json!("affix-evidence-bundle/v1"));
    assert!(matches!(err, Error::Malformed { .. }), "{err}");
}
