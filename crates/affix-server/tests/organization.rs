//! An organization signs: the admin sets the credit code and designates the seal holder;
//! the seal (vault key + organization certificate) is created when the holder first
//! proves their identity as a sealing party; the holder's device authorizes every use;
//! the CMS signature carries the organization certificate, which openssl verifies and
//! reads. Invite links also go out as text messages to the SMS outbox. On SQLite and
//! PostgreSQL.
#![allow(clippy::unwrap_used)]

mod common;

use affix_note::VerifierKeysFile;
use common::{Db, Device, TestPlatform, b64, party_signs, run, unb64, write};
use der::DecodePem as _;
use serde_json::{Value, json};

const CREDIT_CODE: &str = "91350100M000100Y43";

async fn put(p: &TestPlatform, path: &str, token: &str, body: Value) -> (u16, Value) {
    p.call(reqwest::Method::PUT, path, Some(token), Some(body))
        .await
}

async fn organization_signs_with_its_seal(db: Db) {
    let Some(p) = TestPlatform::start(db).await else {
        return;
    };
    let (_, admin) = p.tenant("Acme Lending Co., Ltd.").await;
    let (s, v) = p
        .post(
            "/v1/api-keys",
            &admin,
            json!({"role": "member", "label": "clerk"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let member = v["api_key"].as_str().unwrap().to_owned();
    let holder = p.person(&admin, "张三", "zhang@example.com").await;
    let borrower = p.person(&admin, "李四", "li@example.com").await;
    let contract = |parties: Value| {
        json!({
            "template": "generic_contract",
            "fields": {"title": "Loan agreement", "description": "company to person"},
            "parties": parties,
            "document": b64(b"Acme lends Li Si CNY 20,000 for 12 months."),
        })
    };

    // Nobody holds the seal yet: a sealing party is refused, and nothing is created.
    let (s, v) = p
        .post(
            "/v1/contracts",
            &admin,
            contract(json!([{"person": holder, "seal": true}, borrower])),
        )
        .await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["type"], "https://affix.dev/problems/not-seal-holder");
    let (s, v) = p.get("/v1/contracts", &admin).await;
    assert_eq!(s, 200);
    assert!(v["contracts"].as_array().unwrap().is_empty(), "{v}");

    // Bad credit code; members may not designate; the holder must be one of ours.
    let (s, v) = put(
        &p,
        "/v1/organization",
        &admin,
        json!({"credit_code": "91350100M000100Y44", "seal_holder": holder}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["type"], "https://affix.dev/problems/invalid-credit-code");
    let (s, v) = put(
        &p,
        "/v1/organization",
        &member,
        json!({"credit_code": CREDIT_CODE, "seal_holder": holder}),
    )
    .await;
    assert_eq!(s, 403, "{v}");
    let (s, v) = put(
        &p,
        "/v1/organization",
        &admin,
        json!({"credit_code": CREDIT_CODE, "seal_holder": "nobody"}),
    )
    .await;
    assert_eq!(s, 404, "{v}");
    let (s, org) = put(
        &p,
        "/v1/organization",
        &admin,
        json!({"credit_code": CREDIT_CODE, "seal_holder": holder}),
    )
    .await;
    assert_eq!(s, 200, "{org}");
    assert_eq!(org["seal_holder"], holder.as_str());
    assert!(org["seal_certificate"].is_null(), "created on first need");

    // Only the holder can seal.
    let (s, v) = p
        .post(
            "/v1/contracts",
            &member,
            contract(json!([{"person": borrower, "seal": true}, holder])),
        )
        .await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["type"], "https://affix.dev/problems/not-seal-holder");

    let (s, created) = p
        .post(
            "/v1/contracts",
            &member,
            contract(json!([{"person": holder, "seal": true}, borrower])),
        )
        .await;
    assert_eq!(s, 201, "{created}");
    assert_eq!(created["parties"][0]["seal"], true);
    assert_eq!(
        created["parties"][0]["name"],
        "Acme Lending Co., Ltd. (张三)"
    );
    assert_eq!(created["parties"][1]["seal"], false);
    let id = created["id"].as_str().unwrap().to_owned();
    let (s, sent) = p
        .post(&format!("/v1/contracts/{id}/send"), &member, json!({}))
        .await;
    let sent = p.received(&member, sent).await;
    assert_eq!(s, 200, "{sent}");
    let token = |n: usize| sent["invites"][n]["token"].as_str().unwrap().to_owned();
    let url = |n: usize| sent["invites"][n]["url"].as_str().unwrap().to_owned();

    // The invite links also went out as text messages (the SMS outbox: no gateway).
    let sms = std::fs::read_to_string(p.data().join("outbox/sms.jsonl")).unwrap();
    let texts: Vec<Value> = sms
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(texts.len(), 2, "{sms}");
    for (n, text) in texts.iter().enumerate() {
        assert_eq!(text["to"], "+8613812345678");
        assert_eq!(text["event_type"], "contract.invite");
        assert!(text["text"].as_str().unwrap().contains(&url(n)), "{text}");
    }

    let holder_device = Device::new();
    let borrower_device = Device::new();
    party_signs(&p, &token(0), "zhang@example.com", &holder_device).await;
    let (s, org) = p.get("/v1/organization", &member).await;
    assert_eq!(s, 200, "{org}");
    let seal_pem = org["seal_certificate"].as_str().unwrap().to_owned();
    let last = party_signs(&p, &token(1), "li@example.com", &borrower_device).await;
    assert_eq!(last["status"], "effective", "{last}");

    // Once the seal exists its holder is fixed.
    let (s, v) = put(
        &p,
        "/v1/organization",
        &admin,
        json!({"credit_code": CREDIT_CODE, "seal_holder": borrower}),
    )
    .await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["type"], "https://affix.dev/problems/seal-holder-set");

    // The bundle verifies offline; the seal's CMS signature carries the organization
    // certificate, the borrower's their own.
    let r = p
        .http
        .get(format!("{}/v1/contracts/{id}/bundle?wait=30", p.url))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let bundle_bytes = r.bytes().await.unwrap().to_vec();
    let keys = p.get("/v1/ledger/verifier-keys", &admin).await.1;
    let policy = VerifierKeysFile::parse(keys.as_str().unwrap())
        .unwrap()
        .trust_policy()
        .unwrap();
    let (_, ca) = p.call(reqwest::Method::GET, "/v1/ca", None, None).await;
    let root_pem = ca["root"].as_str().unwrap().to_owned();
    let root = x509_cert::Certificate::from_pem(root_pem.as_bytes()).unwrap();
    let verified =
        affix_platform::bundle::verify(&bundle_bytes, &policy, std::slice::from_ref(&root))
            .unwrap();
    assert_eq!(verified.signatures.len(), 2);
    assert_eq!(verified.status, affix_contract::ContractStatus::Effective);
    let bundle: affix_platform::bundle::Bundle = serde_json::from_slice(&bundle_bytes).unwrap();
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    write(&w.join("root.pem"), root_pem.as_bytes());
    write(&w.join("content.bin"), &unb64(&bundle.content));
    write(&w.join("seal.pem"), seal_pem.as_bytes());
    let mut subjects = Vec::new();
    for (n, sig) in bundle.signatures.iter().enumerate() {
        let cms = w.join(format!("sig{n}.p7s"));
        write(&cms, &unb64(&sig.cms));
        // `-signer` writes out the certificate that verified the signature.
        let signer = w.join(format!("signer{n}.pem"));
        run(std::process::Command::new("openssl")
            .args(["cms", "-verify", "-binary", "-inform", "DER", "-in"])
            .arg(&cms)
            .arg("-content")
            .arg(w.join("content.bin"))
            .arg("-CAfile")
            .arg(w.join("root.pem"))
            .arg("-signer")
            .arg(&signer)
            .args(["-purpose", "any", "-out", "/dev/null"]));
        subjects.push(run(std::process::Command::new("openssl")
            .args([
                "x509",
                "-noout",
                "-subject",
                "-nameopt",
                "RFC2253,-esc_msb",
                "-in",
            ])
            .arg(&signer)));
    }
    let seal_subject = run(std::process::Command::new("openssl")
        .args([
            "x509",
            "-noout",
            "-subject",
            "-nameopt",
            "RFC2253,-esc_msb",
            "-in",
        ])
        .arg(w.join("seal.pem")));
    assert!(
        seal_subject.contains("O=Acme Lending Co.\\, Ltd.") && seal_subject.contains(CREDIT_CODE),
        "{seal_subject}"
    );
    assert_eq!(
        subjects.iter().filter(|s| **s == seal_subject).count(),
        1,
        "one signature is the seal's: {subjects:?} vs {seal_subject}"
    );
    // 李四's own certificate: the name he gave at his first identity check (not the
    // tenant's "李四"), and his signer account's id.
    let li = format!("CN={}", common::signer_name("li@example.com"));
    assert!(
        subjects
            .iter()
            .any(|s| s.contains(&li) && s.contains("serialNumber=")),
        "{subjects:?}"
    );
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organization_signs_with_its_seal_on_sqlite() {
    organization_signs_with_its_seal(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organization_signs_with_its_seal_on_postgres() {
    organization_signs_with_its_seal(Db::Postgres).await;
}
