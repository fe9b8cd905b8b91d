//! End to end through HTTP: a three-party sequential contract from creation to
//! effective, on SQLite and on PostgreSQL; every receipt verified with the ledger's
//! verifier keys, every CMS signature by openssl, every time-stamp token by
//! `openssl ts -verify`, the bundle by `affix_platform::bundle::verify`.
#![allow(clippy::unwrap_used)]

mod common;

use affix_note::VerifierKeysFile;
use common::{
    Db, Device, TestPlatform, b64, party_ready, party_signs, run, sign_prepared, unb64, write,
};
use der::DecodePem as _;
use serde_json::json;

async fn three_party_contract(db: Db) {
    let Some(p) = TestPlatform::start(db).await else {
        return;
    };
    let (_, admin) = p.tenant("Acme Trading").await;
    let people = [
        ("张三", "zhang@example.com"),
        ("李四", "li@example.com"),
        ("王五", "wang@example.com"),
    ];
    let mut ids = Vec::new();
    for (name, email) in people {
        ids.push(p.person(&admin, name, email).await);
    }
    let document =
        b"Supply agreement: 1,000 units at CNY 12.50 each, delivery 2026-12-31.".to_vec();
    let (s, contract) = p
        .post(
            "/v1/contracts",
            &admin,
            json!({
                "template": "generic_contract",
                "fields": {"title": "Supply agreement", "description": "three parties"},
                "parties": ids,
                "signing_order": "sequential",
                "document": b64(&document),
                "document_name": "supply.txt",
            }),
        )
        .await;
    assert_eq!(s, 201, "{contract}");
    assert_eq!(contract["status"], "draft");
    let id = contract["id"].as_str().unwrap().to_owned();
    let (s, sent) = p
        .post(&format!("/v1/contracts/{id}/send"), &admin, json!({}))
        .await;
    let sent = p.received(&admin, sent).await;
    assert_eq!(s, 200, "{sent}");
    let invites = sent["invites"].as_array().unwrap().clone();
    assert_eq!(invites.len(), 3);
    let token = |n: usize| invites[n]["token"].as_str().unwrap().to_owned();
    let devices = [Device::new(), Device::new(), Device::new()];

    // Out of turn: the third party, ready early, cannot sign before the others.
    let t2 = token(2);
    party_ready(&p, &t2, people[2].1, &devices[2]).await;
    let (s, v) = p.post("/v1/invite/sign/prepare", &t2, json!({})).await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["type"], "https://affix.dev/problems/not-your-turn");

    party_signs(&p, &token(0), people[0].1, &devices[0]).await;
    party_signs(&p, &token(1), people[1].1, &devices[1]).await;
    let last = sign_prepared(&p, &t2, &devices[2]).await;
    assert_eq!(last["status"], "effective", "{last}");
    assert!(
        last["parties"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["status"] == "signed")
    );

    // The bundle: every event with its receipt.
    let r = p
        .http
        .get(format!("{}/v1/contracts/{id}/bundle?wait=30", p.url))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let bundle_bytes = r.bytes().await.unwrap().to_vec();
    let bundle: affix_platform::bundle::Bundle = serde_json::from_slice(&bundle_bytes).unwrap();
    // created, sent, 3 × (identity, viewed, consented, signed)
    assert_eq!(bundle.events.len(), 14);

    // Trust anchors from the platform's published endpoints, not from the bundle.
    let keys = reqwest::Client::new()
        .get(format!("{}/v1/ledger/verifier-keys", p.url))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let policy = VerifierKeysFile::parse(&keys)
        .unwrap()
        .trust_policy()
        .unwrap();
    let (_, ca) = p.call(reqwest::Method::GET, "/v1/ca", None, None).await;
    let root_pem = ca["root"].as_str().unwrap().to_owned();
    let issuing_pem = ca["issuing"].as_str().unwrap().to_owned();
    let root = x509_cert::Certificate::from_pem(root_pem.as_bytes()).unwrap();
    let verified =
        affix_platform::bundle::verify(&bundle_bytes, &policy, std::slice::from_ref(&root))
            .unwrap();
    assert_eq!(verified.events, 14);
    assert_eq!(verified.signatures.len(), 3);
    assert_eq!(verified.status, affix_contract::ContractStatus::Effective);

    // Independent checks with openssl.
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    write(&w.join("root.pem"), root_pem.as_bytes());
    write(&w.join("issuing.pem"), issuing_pem.as_bytes());
    write(&w.join("content.bin"), &unb64(&bundle.content));
    for (n, sig) in bundle.signatures.iter().enumerate() {
        let cms = w.join(format!("sig{n}.p7s"));
        write(&cms, &unb64(&sig.cms));
        run(std::process::Command::new("openssl")
            .args(["cms", "-verify", "-binary", "-inform", "DER", "-in"])
            .arg(&cms)
            .arg("-content")
            .arg(w.join("content.bin"))
            .arg("-CAfile")
            .arg(w.join("root.pem"))
            .args(["-purpose", "any", "-out", "/dev/null"]));
        // The signature time-stamp: over SHA-256 of the CMS signature value.
        let parsed = affix_cms::DetachedSignature::from_der(&unb64(&sig.cms)).unwrap();
        let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
            parsed.signature_value(),
        ));
        let tok = w.join(format!("tok{n}.der"));
        write(&tok, &unb64(&sig.timestamp_token));
        run(std::process::Command::new("openssl")
            .args(["ts", "-verify", "-token_in", "-in"])
            .arg(&tok)
            .args(["-digest", &digest, "-CAfile"])
            .arg(w.join("root.pem"))
            .arg("-untrusted")
            .arg(w.join("issuing.pem")));
    }
    // Tampering with a receipt, an event or a signature is caught.
    let mut tampered = bundle.clone();
    tampered.signatures[1].image_png = b64(b"\x89PNG not the image");
    let bytes = serde_json::to_vec(&tampered).unwrap();
    assert!(affix_platform::bundle::verify(&bytes, &policy, std::slice::from_ref(&root)).is_err());
    let mut tampered = bundle.clone();
    tampered.events.pop();
    let bytes = serde_json::to_vec(&tampered).unwrap();
    // A shorter chain still links, but its last receipt anchors a non-final head: the
    // status it proves is not effective.
    let shorter =
        affix_platform::bundle::verify(&bytes, &policy, std::slice::from_ref(&root)).unwrap();
    assert_ne!(shorter.status, affix_contract::ContractStatus::Effective);
    let mut tampered = bundle.clone();
    let mut event = unb64(&tampered.events[3].event);
    let last_byte = event.len() - 1;
    event[last_byte] ^= 1;
    tampered.events[3].event = b64(&event);
    let bytes = serde_json::to_vec(&tampered).unwrap();
    assert!(affix_platform::bundle::verify(&bytes, &policy, &[root]).is_err());

    // The listing finds it by party, status and template.
    let (s, page) = p
        .get(
            &format!(
                "/v1/contracts?person={}&status=effective&template=generic_contract",
                ids[1]
            ),
            &admin,
        )
        .await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(page["contracts"].as_array().unwrap().len(), 1);
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_party_sequential_contract_on_sqlite() {
    three_party_contract(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_party_sequential_contract_on_postgres() {
    three_party_contract(Db::Postgres).await;
}

/// A loan note (借条) between two people, signed in parallel: the borrower signs first.
/// Then the bundle survives thousands of random mutations without a panic, and every
/// mutation that changes a signed byte is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_loan_note_and_a_bundle_that_resists_mutation() {
    let p = TestPlatform::start(Db::Sqlite).await.unwrap();
    let (_, admin) = p.tenant("Friends").await;
    let lender = p.person(&admin, "张三", "lender@example.com").await;
    let borrower = p.person(&admin, "李四", "borrower@example.com").await;
    let (s, contract) = p
        .post(
            "/v1/contracts",
            &admin,
            json!({
                "template": "loan_note",
                "fields": {"lender": "张三", "borrower": "李四", "principal": "10000",
                           "annual_rate_percent": "3.65", "start_date": "2026-12-01",
                           "term_months": "12", "repayment_method": "bullet", "purpose": "tuition"},
                "parties": [lender, borrower],
                "signing_order": "parallel",
            }),
        )
        .await;
    assert_eq!(s, 201, "{contract}");
    assert_eq!(contract["fields"]["principal"], "CNY 10000.00");
    let id = contract["id"].as_str().unwrap().to_owned();
    let (_, sent) = p
        .post(&format!("/v1/contracts/{id}/send"), &admin, json!({}))
        .await;
    let sent = p.received(&admin, sent).await;
    let invites = sent["invites"].as_array().unwrap().clone();
    let (t0, t1) = (
        invites[0]["token"].as_str().unwrap().to_owned(),
        invites[1]["token"].as_str().unwrap().to_owned(),
    );
    party_signs(&p, &t1, "borrower@example.com", &Device::new()).await;
    let last = party_signs(&p, &t0, "lender@example.com", &Device::new()).await;
    assert_eq!(last["status"], "effective");

    let r = p
        .http
        .get(format!("{}/v1/contracts/{id}/bundle?wait=30", p.url))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    let bytes = r.bytes().await.unwrap().to_vec();
    let keys = reqwest::get(format!("{}/v1/ledger/verifier-keys", p.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let policy = VerifierKeysFile::parse(&keys)
        .unwrap()
        .trust_policy()
        .unwrap();
    let bundle: affix_platform::bundle::Bundle = serde_json::from_slice(&bytes).unwrap();
    let root = x509_cert::Certificate::from_pem(bundle.certificates.root.as_bytes()).unwrap();
    let roots = std::slice::from_ref(&root);
    affix_platform::bundle::verify(&bytes, &policy, roots).unwrap();
    // Mutations of the raw JSON (a deterministic xorshift stream): never a panic.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..2_000 {
        let mut m = bytes.clone();
        let at = usize::try_from(next() % m.len() as u64).unwrap();
        m[at] = u8::try_from(next() & 0xff).unwrap();
        let _ = affix_platform::bundle::verify(&m, &policy, roots);
        m.truncate(at);
        let _ = affix_platform::bundle::verify(&m, &policy, roots);
    }
    // Any changed byte inside a signed field is refused: flip one byte of each event,
    // record, CMS signature and certificate in turn.
    for n in 0..bundle.events.len() {
        for field in 0..2 {
            let mut b = bundle.clone();
            let target = if field == 0 {
                &mut b.events[n].event
            } else {
                &mut b.events[n].record
            };
            let mut raw = unb64(target);
            let k = raw.len() / 2;
            raw[k] ^= 0x01;
            *target = b64(&raw);
            let m = serde_json::to_vec(&b).unwrap();
            assert!(
                affix_platform::bundle::verify(&m, &policy, roots).is_err(),
                "event {n} field {field}"
            );
        }
    }
    for n in 0..bundle.signatures.len() {
        for field in 0..2 {
            let mut b = bundle.clone();
            let target = if field == 0 {
                &mut b.signatures[n].cms
            } else {
                &mut b.signatures[n].certificate
            };
            let mut raw = unb64(target);
            let k = raw.len() / 2;
            raw[k] ^= 0x01;
            *target = b64(&raw);
            let m = serde_json::to_vec(&b).unwrap();
            assert!(
                affix_platform::bundle::verify(&m, &policy, roots).is_err(),
                "signature {n} field {field}"
            );
        }
    }
    p.stop().await;
}

/// Three parties of a parallel contract sign at the same moment: each signature lands
/// (a step that lost the race is replayed on the new state), the contract is effective,
/// and its chain and receipts verify.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_parties_signing_at_once_all_land() {
    let p = TestPlatform::start(Db::Sqlite).await.unwrap();
    let (_, admin) = p.tenant("Acme").await;
    let emails = ["p0@example.com", "p1@example.com", "p2@example.com"];
    let mut ids = Vec::new();
    for (n, e) in emails.iter().enumerate() {
        ids.push(p.person(&admin, &format!("P{n}"), e).await);
    }
    let (s, c) = p
        .post(
            "/v1/contracts",
            &admin,
            json!({"template": "generic_contract", "fields": {"title": "T"}, "parties": ids,
                   "signing_order": "parallel", "document": b64(b"doc")}),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    let id = c["id"].as_str().unwrap().to_owned();
    let (_, sent) = p
        .post(&format!("/v1/contracts/{id}/send"), &admin, json!({}))
        .await;
    let sent = p.received(&admin, sent).await;
    let tokens: Vec<String> = sent["invites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["token"].as_str().unwrap().to_owned())
        .collect();
    let devices = [Device::new(), Device::new(), Device::new()];
    for n in 0..3 {
        party_ready(&p, &tokens[n], emails[n], &devices[n]).await;
    }
    let results =
        futures::future::join_all((0..3).map(|n| sign_prepared(&p, &tokens[n], &devices[n]))).await;
    assert!(results.iter().any(|v| v["status"] == "effective"));
    let (_, view) = p.get(&format!("/v1/contracts/{id}"), &admin).await;
    assert_eq!(view["status"], "effective", "{view}");
    let r = p
        .http
        .get(format!("{}/v1/contracts/{id}/bundle?wait=30", p.url))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    let bytes = r.bytes().await.unwrap().to_vec();
    let keys = reqwest::get(format!("{}/v1/ledger/verifier-keys", p.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let policy = VerifierKeysFile::parse(&keys)
        .unwrap()
        .trust_policy()
        .unwrap();
    let bundle: affix_platform::bundle::Bundle = serde_json::from_slice(&bytes).unwrap();
    let root = x509_cert::Certificate::from_pem(bundle.certificates.root.as_bytes()).unwrap();
    let verified =
        affix_platform::bundle::verify(&bytes, &policy, std::slice::from_ref(&root)).unwrap();
    assert_eq!(verified.signatures.len(), 3);
    p.stop().await;
}
