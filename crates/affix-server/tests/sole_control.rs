//! The signer alone can sign (issue 17): signer accounts belong to people, and no
//! tenant key — admin, member, another tenant's — nor no key at all reaches a signer's
//! key, credential, one-time code or invite. `docs/trust-model.md` names these tests.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Db, Device, TestPlatform, b64, party_signs, run, signer_name, unb64, write};
use serde_json::{Value, json};

/// A two-party contract from `key` between `persons`, sent; its id and the answer.
async fn sent_contract(p: &TestPlatform, key: &str, persons: &[&str]) -> (String, Value) {
    let (s, c) = p
        .post(
            "/v1/contracts",
            key,
            json!({"template": "generic_contract", "fields": {"title": "Supply"},
                   "parties": persons, "document": b64(b"terms"), "expires_in_days": 3}),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    let id = c["id"].as_str().unwrap().to_owned();
    let (s, sent) = p
        .post(&format!("/v1/contracts/{id}/send"), key, json!({}))
        .await;
    assert_eq!(s, 200, "{sent}");
    (id, sent)
}

async fn bundle(p: &TestPlatform, key: &str, id: &str) -> Value {
    let r = reqwest::Client::new()
        .get(format!("{}/v1/contracts/{id}/bundle?wait=30", p.url))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    r.json().await.unwrap()
}

/// The certificate of the signature of `party` in a bundle (DER).
fn certificate_of(bundle: &Value, party: &str) -> Vec<u8> {
    let sig = bundle["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["party"] == party)
        .unwrap_or_else(|| panic!("no signature of {party}: {bundle}"));
    unb64(sig["certificate"].as_str().unwrap())
}

/// The text `openssl x509 -text` prints for a certificate.
fn openssl_text(der: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.der");
    write(&path, der);
    run(std::process::Command::new("openssl")
        .args([
            "x509",
            "-inform",
            "DER",
            "-noout",
            "-text",
            "-nameopt",
            "utf8,sep_comma_plus",
            "-in",
        ])
        .arg(&path))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signer_invited_by_two_tenants_signs_both_with_one_account_on_sqlite() {
    one_account_two_tenants(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signer_invited_by_two_tenants_signs_both_with_one_account_on_postgres() {
    one_account_two_tenants(Db::Postgres).await;
}

async fn one_account_two_tenants(db: Db) {
    let Some(p) = TestPlatform::start(db).await else {
        return;
    };
    let (_, admin_a) = p.tenant("Tenant A").await;
    let (_, admin_b) = p.tenant("Tenant B").await;
    // Each tenant calls the same person by another name; neither name is the signer's.
    let wang_a = p
        .person(&admin_a, "王五 (as A knows him)", "wang@example.com")
        .await;
    let other_a = p.person(&admin_a, "甲", "jia@example.com").await;
    let wang_b = p
        .person(&admin_b, "Wang Wu (as B knows him)", "wang@example.com")
        .await;
    let other_b = p.person(&admin_b, "乙", "yi@example.com").await;
    let wang = Device::new();
    let yi = Device::new();

    let (id_a, sent) = sent_contract(&p, &admin_a, &[&wang_a, &other_a]).await;
    let sent = p.received(&admin_a, sent).await;
    let tok = |n: usize| sent["invites"][n]["token"].as_str().unwrap().to_owned();
    party_signs(&p, &tok(0), "wang@example.com", &wang).await;
    party_signs(&p, &tok(1), "jia@example.com", &Device::new()).await;
    let wang_in_a = sent["invites"][0]["party_id"].as_str().unwrap().to_owned();

    let (id_b, sent) = sent_contract(&p, &admin_b, &[&wang_b, &other_b]).await;
    let sent = p.received(&admin_b, sent).await;
    let tok = |n: usize| sent["invites"][n]["token"].as_str().unwrap().to_owned();
    party_signs(&p, &tok(0), "wang@example.com", &wang).await;
    party_signs(&p, &tok(1), "yi@example.com", &yi).await;

    // One account: the same certificate under both tenants' contracts.
    let party = |sent: &Value| sent["invites"][0]["party_id"].as_str().unwrap().to_owned();
    let cert_a = certificate_of(&bundle(&p, &admin_a, &id_a).await, &wang_in_a);
    let cert_b = certificate_of(&bundle(&p, &admin_b, &id_b).await, &party(&sent));
    assert_eq!(cert_a, cert_b, "one account, one key, one certificate");

    // What openssl reads in it: the signer's own name (not either tenant's), the
    // account id that tells namesakes apart, and what was verified.
    let text = openssl_text(&cert_a);
    let name = signer_name("wang@example.com");
    assert!(text.contains(&format!("CN={name}")), "{text}");
    assert!(
        !text.contains("as A knows him") && !text.contains("as B knows him"),
        "{text}"
    );
    assert!(text.contains("serialNumber="), "{text}");
    assert!(
        text.contains("Policy: 1.3.6.1.4.1.59999.2.1.1"),
        "contact verified, name self-asserted: {text}"
    );
    assert!(
        text.contains("Policy: 1.3.6.1.4.1.59999.2.3.1"),
        "a device key authorizes the key's use: {text}"
    );

    // A namesake is another account with another serialNumber.
    let namesake_b = p
        .person(&admin_b, "Wang Wu (as B knows him)", "wang2@example.com")
        .await;
    let (id_c, sent) = sent_contract(&p, &admin_b, &[&namesake_b, &other_b]).await;
    let sent = p.received(&admin_b, sent).await;
    let tok = |n: usize| sent["invites"][n]["token"].as_str().unwrap().to_owned();
    // The namesake gives the same name as wang.
    party_signs_named(&p, &tok(0), "wang2@example.com", &name).await;
    party_signs(&p, &tok(1), "yi@example.com", &yi).await;
    let cert_c = certificate_of(&bundle(&p, &admin_b, &id_c).await, &party(&sent));
    let serial = |text: &str| {
        text.split("serialNumber=")
            .nth(1)
            .unwrap()
            .split(|c: char| !c.is_ascii_alphanumeric())
            .next()
            .unwrap()
            .to_owned()
    };
    let text_c = openssl_text(&cert_c);
    assert!(text_c.contains(&format!("CN={name}")), "{text_c}");
    assert_ne!(serial(&text), serial(&text_c), "namesakes are told apart");
}

/// A party's whole ceremony where the signer gives `name` at the first check.
async fn party_signs_named(p: &TestPlatform, token: &str, email: &str, name: &str) {
    let device = Device::new();
    common::party_ready_named(p, token, email, &device, name).await;
    let v = common::sign_prepared(p, token, &device).await;
    assert!(v["status"].is_string(), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_tenant_key_reaches_a_signers_key_code_or_invite_on_sqlite() {
    attack_matrix(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_tenant_key_reaches_a_signers_key_code_or_invite_on_postgres() {
    attack_matrix(Db::Postgres).await;
}

async fn attack_matrix(db: Db) {
    let Some(p) = TestPlatform::start(db).await else {
        return;
    };
    let (_, admin_a) = p.tenant("Tenant A").await;
    let (_, admin_b) = p.tenant("Tenant B").await;
    let (s, v) = p
        .post(
            "/v1/api-keys",
            &admin_a,
            json!({"role": "member", "label": "m"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let member_a = v["api_key"].as_str().unwrap().to_owned();
    let zhang = p.person(&admin_a, "张三", "zhang@example.com").await;
    let li = p.person(&admin_a, "李四", "li@example.com").await;

    // 张三 signs one contract: his account, key and certificate exist.
    let (first, sent) = sent_contract(&p, &admin_a, &[&zhang, &li]).await;
    let sent = p.received(&admin_a, sent).await;
    let spent_invite = sent["invites"][0]["token"].as_str().unwrap().to_owned();
    party_signs(&p, &spent_invite, "zhang@example.com", &Device::new()).await;

    let platform = &p.running.as_ref().unwrap().platform;
    let account =
        affix_platform::store::signers::by_email(platform.store().pool(), "zhang@example.com")
            .await
            .unwrap()
            .expect("the signer's account");
    let key = account.vault_key.clone().unwrap();
    let owner = account.id.clone();
    let signers =
        affix_vault::TenantId::new(affix_platform::service::SIGNERS_VAULT_TENANT).unwrap();
    let key_id = affix_vault::KeyId::parse(&key).unwrap();
    let usage = |platform: &affix_platform::Platform| {
        platform
            .vault()
            .audit_key(&signers, &key_id, 0, 10_000)
            .unwrap()
            .len()
    };
    let before = usage(platform);

    // A second contract to 张三, out for signature: its invite is live.
    let (second, sent) = sent_contract(&p, &member_a, &[&zhang, &li]).await;
    let answer = sent.to_string();
    assert!(
        !answer.contains("afi_"),
        "send returns no invite token: {answer}"
    );
    assert!(sent["invites"][0].get("url").is_none(), "{answer}");
    let zhang_party = sent["invites"][0]["party_id"].as_str().unwrap().to_owned();

    // An attacker's own device, and an authorization it signs for 张三's key.
    let attacker = Device::new();
    let statement = json!({
        "tenant": affix_platform::service::SIGNERS_VAULT_TENANT, "action": "sign", "key": key,
        "payload_kind": 0, "digest": "00".repeat(32), "grant": null,
        "nonce": "11".repeat(16), "expires_ms": 4_102_444_800_000u64,
        "credential": "22".repeat(16), "signature": "33".repeat(64),
    });
    let callers = [
        ("tenant admin", admin_a.as_str()),
        ("tenant member", member_a.as_str()),
        ("another tenant", admin_b.as_str()),
        ("no key", ""),
    ];
    for (who, caller) in callers {
        let attempts: Vec<(&str, String, Value)> = vec![
            (
                "sign with the signer's key",
                format!("/v1/vault/keys/{key}/sign"),
                json!({"message_b64": b64(b"I owe you everything"), "authorization": statement}),
            ),
            (
                "grant the signer's key",
                format!("/v1/vault/keys/{key}/grants"),
                json!({"grantee": "22".repeat(16), "not_after_ms": 4_102_444_800_000u64, "max_uses": 1000,
                    "purpose": "x", "created_ms": 1, "authorization": statement}),
            ),
            (
                "disable the signer's key",
                format!("/v1/vault/keys/{key}/disable"),
                json!({"authorization": statement}),
            ),
        ];
        for (what, path, body) in attempts {
            let (s, v) = p.post(&path, caller, body).await;
            assert!(
                (400..500).contains(&s) && v["type"].is_string(),
                "{who}: {what}: {s} {v}"
            );
        }
        for path in [
            format!("/v1/vault/keys/{key}"),
            format!("/v1/vault/keys/{key}/audit"),
        ] {
            let (s, v) = p.get(&path, caller).await;
            assert!(
                (400..500).contains(&s) && v["type"].is_string(),
                "{who}: GET {path}: {s} {v}"
            );
        }
        // A credential "for 张三": with a tenant key it can only land in the tenant's
        // own vault namespace, never on the signer's owner; it signs nothing of his.
        let (s, v) = p
            .post(
                &format!("/v1/vault/owners/{owner}/credentials"),
                caller,
                json!({"kind": "ed25519", "public_key": hex::encode(attacker.0.verifying_key().to_bytes())}),
            )
            .await;
        if caller.is_empty() {
            assert_eq!(s, 401, "{v}");
        } else if s == 201 {
            let credential = v["credential"].as_str().unwrap();
            let mut forged = statement.clone();
            forged["credential"] = json!(credential);
            let (s, v) = p
                .post(
                    &format!("/v1/vault/keys/{key}/sign"),
                    caller,
                    json!({"message_b64": b64(b"x"), "authorization": forged}),
                )
                .await;
            assert!(
                (400..500).contains(&s),
                "{who}: sign after registering: {s} {v}"
            );
        } else {
            assert!((400..500).contains(&s), "{who}: register: {s} {v}");
        }
        // Re-sending 张三's invite goes to 张三, not to the caller.
        let (s, v) = p
            .post(
                &format!("/v1/contracts/{second}/parties/{zhang_party}/remind"),
                caller,
                json!({}),
            )
            .await;
        if caller == admin_b || caller.is_empty() {
            assert!((400..500).contains(&s), "{who}: remind: {s} {v}");
        } else {
            assert_eq!(s, 202, "{who}: remind: {v}");
            assert!(!v.to_string().contains("afi_"), "{v}");
        }
        // Nothing a tenant reads holds a token or a code.
        if !caller.is_empty() {
            for path in [
                format!("/v1/contracts/{second}"),
                format!("/v1/contracts/{second}/events"),
                format!("/v1/persons/{zhang}"),
            ] {
                let (s, v) = p.get(&path, caller).await;
                let text = v.to_string();
                assert!(!text.contains("afi_"), "{who}: GET {path}: {s} {text}");
            }
        }
    }
    // The invite of the contract 张三 signed is dead; so is every link the reminders
    // replaced; the newest one works, for 张三 only.
    let (s, v) = p.get("/v1/invite", &spent_invite).await;
    assert_eq!(
        (s, v["type"].as_str().unwrap()),
        (410, "https://affix.dev/problems/invite-spent"),
        "{v}"
    );
    let newest = p.invite_token("zhang@example.com", &second);
    let (s, v) = p.get("/v1/invite", &newest).await;
    assert_eq!(s, 200, "{v}");
    let bundle_first = bundle(&p, &admin_a, &first).await.to_string();
    assert!(!bundle_first.contains("afi_"));

    // No attempt left a usage record on the signer's key.
    assert_eq!(usage(platform), before, "the signer's key was not used");
}
