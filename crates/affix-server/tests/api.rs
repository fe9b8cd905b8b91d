//! The API's edges: bad input everywhere gets a specific 4xx and changes nothing; an
//! authorization matrix over every operation of the OpenAPI document × every kind of
//! caller, where nothing crosses a tenant; the OpenAPI document, generated from the same
//! declarations as the router, is complete.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use common::{
    Db, Device, TestPlatform, b64, chunk, party_ready, png, png_of, test_lpr_table, unb64,
};
use serde_json::{Value, json};

/// Who may call an operation, as its OpenAPI security requirement says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Auth {
    Public,
    Operator,
    ApiKey,
    Invite,
}

/// One operation of the served OpenAPI document.
#[derive(Debug)]
struct Operation {
    method: String,
    path: String,
    id: String,
    auth: Auth,
    /// The request body's schema name, or its media type when not JSON.
    body: Option<String>,
}

/// Every operation of the document `/openapi.json` serves.
async fn operations(p: &TestPlatform) -> Vec<Operation> {
    let doc: Value = reqwest::get(format!("{}/openapi.json", p.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let security = op["security"].as_array().unwrap();
            let auth = match security.as_slice() {
                [] => Auth::Public,
                [one] => match one.as_object().unwrap().keys().next().unwrap().as_str() {
                    "operator" => Auth::Operator,
                    "apiKey" | "vaultKey" => Auth::ApiKey,
                    "invite" => Auth::Invite,
                    other => panic!("{method} {path}: caller kind {other}"),
                },
                _ => panic!("{method} {path}: {security:?}"),
            };
            let body = op["requestBody"]["content"].as_object().map(|content| {
                let (media, schema) = content.iter().next().unwrap();
                if media == "application/json" {
                    schema["schema"]["$ref"]
                        .as_str()
                        .unwrap()
                        .trim_start_matches("#/components/schemas/")
                        .to_owned()
                } else {
                    media.clone()
                }
            });
            out.push(Operation {
                method: method.clone(),
                path: path.clone(),
                id: op["operationId"].as_str().unwrap().to_owned(),
                auth,
                body,
            });
        }
    }
    out
}

async fn count(p: &TestPlatform, table: &str) -> i64 {
    let pool = p.running.as_ref().unwrap().platform.store().pool().clone();
    sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(&pool)
        .await
        .unwrap()
}

async fn counts(p: &TestPlatform) -> Vec<i64> {
    let mut out = Vec::new();
    for t in [
        "tenants",
        "api_keys",
        "persons",
        "contracts",
        "contract_parties",
        "events",
        "signatures",
    ] {
        out.push(count(p, t).await);
    }
    out
}

fn kind(v: &Value) -> String {
    v["type"]
        .as_str()
        .unwrap_or_default()
        .trim_start_matches("https://affix.dev/problems/")
        .to_owned()
}

async fn raw(
    p: &TestPlatform,
    method: reqwest::Method,
    path: &str,
    token: &str,
    ct: &str,
    body: Vec<u8>,
) -> (u16, Value) {
    let r = p
        .http
        .request(method, format!("{}{path}", p.url))
        .bearer_auth(token)
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    let v = r.json::<Value>().await.unwrap_or(Value::Null);
    (s, v)
}

async fn contract_with_invites(
    p: &TestPlatform,
    key: &str,
    persons: &[String],
) -> (String, Vec<String>) {
    let (s, c) = p
        .post(
            "/v1/contracts",
            key,
            json!({"template": "generic_contract", "fields": {"title": "T"}, "parties": persons,
                   "document": b64(b"doc"), "expires_in_days": 1}),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    let id = c["id"].as_str().unwrap().to_owned();
    let (s, sent) = p
        .post(&format!("/v1/contracts/{id}/send"), key, json!({}))
        .await;
    let sent = p.received(key, sent).await;
    assert_eq!(s, 200, "{sent}");
    let tokens = sent["invites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["token"].as_str().unwrap().to_owned())
        .collect();
    (id, tokens)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_specific_error_and_changes_nothing_on_sqlite() {
    bad_input(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_specific_error_and_changes_nothing_on_postgres() {
    bad_input(Db::Postgres).await;
}

async fn bad_input(db: Db) {
    let clock = Arc::new(affix_notify::ManualClock::new(affix_platform_now()));
    let Some(p) = TestPlatform::start_with_clock(db, clock.clone()).await else {
        return;
    };
    let (_, admin) = p.tenant("Acme").await;
    let a = p.person(&admin, "甲", "a@example.com").await;
    let b = p.person(&admin, "乙", "b@example.com").await;
    let before = counts(&p).await;

    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({"name": "X", "email": "x@example.com", "resident_id": "110105194912310021"}),
            422,
            "invalid-resident-id",
        ),
        (
            json!({"name": "X", "email": "x@example.com", "mobile": "12345"}),
            422,
            "invalid-mobile",
        ),
        (
            json!({"name": "X", "email": "not an address"}),
            422,
            "invalid-email",
        ),
        (
            json!({"name": "", "email": "x@example.com"}),
            422,
            "invalid-name",
        ),
        (
            json!({"name": "X", "email": "x@example.com", "extra": 1}),
            400,
            "invalid-json",
        ),
        (json!({"email": "x@example.com"}), 400, "invalid-json"),
    ];
    for (body, status, k) in cases {
        let (s, v) = p.post("/v1/persons", &admin, body.clone()).await;
        assert_eq!((s, kind(&v).as_str()), (status, k), "{body}: {v}");
    }
    let (s, v) = raw(
        &p,
        reqwest::Method::POST,
        "/v1/persons",
        &admin,
        "application/json",
        b"{\"name\": ".to_vec(),
    )
    .await;
    assert_eq!((s, kind(&v).as_str()), (400, "invalid-json"), "{v}");
    // Contracts: unknown template, invalid fields (all listed), missing document,
    // unknown person, oversized document.
    let (s, v) = p
        .post(
            "/v1/contracts",
            &admin,
            json!({"template": "nda", "parties": [a, b]}),
        )
        .await;
    assert_eq!((s, kind(&v).as_str()), (422, "unknown-template"), "{v}");
    let (s, v) = p
        .post("/v1/contracts", &admin, json!({"template": "loan_note", "parties": [a, b],
            "fields": {"lender": "甲", "borrower": "乙", "principal": "-5", "annual_rate_percent": "abc",
                       "start_date": "2026-02-30", "term_months": "12", "repayment_method": "bullet"}}))
        .await;
    assert_eq!((s, kind(&v).as_str()), (422, "invalid-fields"), "{v}");
    let fields: BTreeSet<&str> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains("principal")
            && fields.contains("annual_rate_percent")
            && fields.contains("start_date"),
        "{v}"
    );
    let (s, v) = p
        .post(
            "/v1/contracts",
            &admin,
            json!({"template": "generic_contract", "parties": [a, b], "fields": {"title": "T"}}),
        )
        .await;
    assert_eq!((s, kind(&v).as_str()), (422, "missing-document"), "{v}");
    let (s, v) = p.post("/v1/contracts", &admin, json!({"template": "generic_contract", "parties": [a, "00000000000000000000000000000000"], "fields": {"title": "T"}, "document": b64(b"d")})).await;
    assert_eq!((s, kind(&v).as_str()), (404, "not-found"), "{v}");
    let big = vec![7u8; 10 * 1024 * 1024 + 1];
    let (s, v) = p.post("/v1/contracts", &admin, json!({"template": "generic_contract", "parties": [a, b], "fields": {"title": "T"}, "document": b64(&big)})).await;
    assert_eq!((s, kind(&v).as_str()), (413, "too-large"), "{v}");
    // Tokens.
    let (s, _) = p
        .call(reqwest::Method::GET, "/v1/contracts", None, None)
        .await;
    assert_eq!(s, 401);
    let (s, _) = p
        .get("/v1/contracts", "afk_00000000000000000000000000000000.00")
        .await;
    assert_eq!(s, 401);
    assert_eq!(counts(&p).await, before, "refused requests changed nothing");

    // Idempotency: the same key and body replay; another body is refused.
    let body = json!({"name": "丙", "email": "c@example.com"});
    let r1 = p
        .http
        .post(format!("{}/v1/persons", p.url))
        .bearer_auth(&admin)
        .header("idempotency-key", "k-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r1.status().as_u16(), 201);
    let v1: Value = r1.json().await.unwrap();
    let r2 = p
        .http
        .post(format!("{}/v1/persons", p.url))
        .bearer_auth(&admin)
        .header("idempotency-key", "k-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r2.status().as_u16(), 201);
    assert_eq!(r2.headers().get("idempotent-replayed").unwrap(), "true");
    let v2: Value = r2.json().await.unwrap();
    assert_eq!(v1["id"], v2["id"]);
    let r3 = p
        .http
        .post(format!("{}/v1/persons", p.url))
        .bearer_auth(&admin)
        .header("idempotency-key", "k-1")
        .json(&json!({"name": "丁", "email": "d@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r3.status().as_u16(), 422);
    let v3: Value = r3.json().await.unwrap();
    assert_eq!(kind(&v3), "idempotency-key-reused");
    assert_eq!(
        count(&p, "persons").await,
        before[2] + 1,
        "one person for three requests"
    );

    // The ceremony's refusals.
    let (id, tokens) = contract_with_invites(&p, &admin, &[a.clone(), b.clone()]).await;
    let t0 = &tokens[0];
    let (_, inv) = p.get("/v1/invite", t0).await;
    let digest = inv["contract"]["content_digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, v) = p
        .post("/v1/invite/view", t0, json!({"content_digest": digest}))
        .await;
    assert_eq!(
        (s, kind(&v).as_str()),
        (409, "wrong-step"),
        "view before identity: {v}"
    );
    let (s, _) = p.post("/v1/invite/identity/email", t0, json!({})).await;
    assert_eq!(s, 200);
    let (s, v) = p.post("/v1/invite/identity/email", t0, json!({})).await;
    assert_eq!((s, kind(&v).as_str()), (429, "rate-limited"), "{v}");
    let code = p.last_code("a@example.com");
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let device = Device::new();
    let (s, v) = p
        .post(
            "/v1/invite/identity/email/verify",
            t0,
            json!({"code": wrong, "device_public_key": device.public_b64(), "signer_name": "Signer"}),
        )
        .await;
    assert_eq!((s, kind(&v).as_str()), (422, "wrong-code"), "{v}");
    let (s, v) = p
        .post(
            "/v1/invite/identity/email/verify",
            t0,
            json!({"code": code, "device_public_key": "AAAA"}),
        )
        .await;
    assert_eq!((s, kind(&v).as_str()), (422, "invalid-device-key"), "{v}");
    let (s, v) = p
        .post(
            "/v1/invite/identity/email/verify",
            t0,
            json!({"code": code, "device_public_key": device.public_b64(), "signer_name": "Signer"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = p
        .post(
            "/v1/invite/view",
            t0,
            json!({"content_digest": "00".repeat(32)}),
        )
        .await;
    assert_eq!((s, kind(&v).as_str()), (409, "wrong-content-digest"), "{v}");
    let (s, v) = p
        .post("/v1/invite/view", t0, json!({"content_digest": "xyz"}))
        .await;
    assert_eq!((s, kind(&v).as_str()), (422, "invalid-digest"), "{v}");
    p.post("/v1/invite/view", t0, json!({"content_digest": digest}))
        .await;
    p.post("/v1/invite/consent", t0, json!({"content_digest": digest}))
        .await;
    let (s, v) = p.post("/v1/invite/sign/prepare", t0, json!({})).await;
    assert_eq!((s, kind(&v).as_str()), (409, "no-signature-image"), "{v}");
    let (s, v) = raw(
        &p,
        reqwest::Method::PUT,
        "/v1/invite/signature-image",
        t0,
        "image/png",
        vec![0u8; 300 * 1024],
    )
    .await;
    assert_eq!((s, kind(&v).as_str()), (413, "too-large"), "{v}");
    let (s, v) = raw(
        &p,
        reqwest::Method::PUT,
        "/v1/invite/signature-image",
        t0,
        "image/png",
        b"GIF89a not a png at all, really not".to_vec(),
    )
    .await;
    assert_eq!((s, kind(&v).as_str()), (422, "invalid-image"), "{v}");
    let (s, v) = raw(
        &p,
        reqwest::Method::PUT,
        "/v1/invite/signature-image",
        t0,
        "image/jpeg",
        png(),
    )
    .await;
    assert_eq!((s, kind(&v).as_str()), (415, "wrong-content-type"), "{v}");
    // Hostile PNGs: each refused as invalid-image, and nothing stored (prepare still
    // finds no image).
    for (what, bytes) in hostile_pngs() {
        let (s, v) = raw(
            &p,
            reqwest::Method::PUT,
            "/v1/invite/signature-image",
            t0,
            "image/png",
            bytes,
        )
        .await;
        assert_eq!(
            (s, kind(&v).as_str()),
            (422, "invalid-image"),
            "{what}: {v}"
        );
    }
    let (s, v) = p.post("/v1/invite/sign/prepare", t0, json!({})).await;
    assert_eq!((s, kind(&v).as_str()), (409, "no-signature-image"), "{v}");
    let (s, stored) = raw(
        &p,
        reqwest::Method::PUT,
        "/v1/invite/signature-image",
        t0,
        "image/png",
        png(),
    )
    .await;
    assert_eq!(s, 200);
    // The image is stored in canonical form: its digest is not the upload's.
    let uploaded = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(png()));
    assert_ne!(stored["sha256"].as_str().unwrap(), uploaded);
    let (s, prepared) = p.post("/v1/invite/sign/prepare", t0, json!({})).await;
    assert_eq!(s, 200, "{prepared}");
    // The signed attributes the device may check: their SHA-256 is the statement's
    // digest, and they carry the stored image's digest.
    let attributes = unb64(prepared["signed_attributes"].as_str().unwrap());
    assert_eq!(
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&attributes)),
        prepared["payload_digest"].as_str().unwrap()
    );
    let view = affix_cms::SignedAttributesView::from_der(&attributes).unwrap();
    assert_eq!(
        view.affix_attributes()
            .signature_image_digest()
            .map(hex::encode),
        stored["sha256"].as_str().map(str::to_owned)
    );
    // A signature by another device, and a malformed one, are refused; nothing signed.
    let other = Device::new();
    let forged = other.sign_statement(prepared["statement"].as_str().unwrap());
    let (s, v) = p
        .post("/v1/invite/sign", t0, json!({"device_signature": forged}))
        .await;
    assert_eq!(
        (s, kind(&v).as_str()),
        (403, "authorization-refused"),
        "{v}"
    );
    let (s, v) = p
        .post(
            "/v1/invite/sign",
            t0,
            json!({"device_signature": b64(&[1; 10])}),
        )
        .await;
    assert_eq!((s, kind(&v).as_str()), (422, "invalid-signature"), "{v}");
    assert_eq!(count(&p, "signatures").await, 0);
    // The image replaced after preparation: the device approved the old image's
    // digest, the re-prepared signed attributes carry the new one, and the vault
    // refuses (digest mismatch); nothing signed.
    let (s, _) = raw(
        &p,
        reqwest::Method::PUT,
        "/v1/invite/signature-image",
        t0,
        "image/png",
        png_of([0x80, 0x10]),
    )
    .await;
    assert_eq!(s, 200);
    let approved = device.sign_statement(prepared["statement"].as_str().unwrap());
    let (s, v) = p
        .post("/v1/invite/sign", t0, json!({"device_signature": approved}))
        .await;
    assert_eq!(
        (s, kind(&v).as_str()),
        (403, "authorization-refused"),
        "{v}"
    );
    assert_eq!(count(&p, "signatures").await, 0);
    let (_, c) = p.get(&format!("/v1/contracts/{id}"), &admin).await;
    assert_eq!(c["parties"][0]["status"], "consented");
    // The prepared statement expires.
    clock.advance_ms(5 * 60 * 1000);
    let good = device.sign_statement(prepared["statement"].as_str().unwrap());
    let (s, v) = p
        .post("/v1/invite/sign", t0, json!({"device_signature": good}))
        .await;
    assert_eq!((s, kind(&v).as_str()), (410, "expired"), "{v}");
    // The invite expires with the contract (one day), and the contract is expired by
    // the sweep with an event of its own.
    clock.advance_ms(2 * 86_400_000);
    let (s, v) = p.get("/v1/invite", &tokens[1]).await;
    assert_eq!((s, kind(&v).as_str()), (410, "expired"), "{v}");
    let mut status = String::new();
    for _ in 0..50 {
        let (_, c) = p.get(&format!("/v1/contracts/{id}"), &admin).await;
        status = c["status"].as_str().unwrap().to_owned();
        if status == "expired" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, "expired");
    assert_eq!(count(&p, "signatures").await, 0);
    p.stop().await;
}

fn affix_platform_now() -> u64 {
    u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// Every operation × every kind of caller. Tenant B's admin, a regulator, a party of
/// another contract and no token at all each get exactly what their role allows on
/// tenant A's objects; nothing of A is ever in an answer to B.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_matrix_nothing_crosses_a_tenant_on_sqlite() {
    authorization_matrix(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_matrix_nothing_crosses_a_tenant_on_postgres() {
    authorization_matrix(Db::Postgres).await;
}

async fn authorization_matrix(db: Db) {
    let Some(p) = TestPlatform::start(db).await else {
        return;
    };
    let (_, admin_a) = p.tenant("A").await;
    let (_, admin_b) = p.tenant("B").await;
    let key = |role: &str| {
        let (p, admin_a) = (&p, admin_a.clone());
        let role = role.to_owned();
        async move {
            let (s, v) = p
                .post(
                    "/v1/api-keys",
                    &admin_a,
                    json!({"role": role, "label": "k"}),
                )
                .await;
            assert_eq!(s, 201, "{v}");
            v["api_key"].as_str().unwrap().to_owned()
        }
    };
    let member_a = key("member").await;
    let regulator_a = key("regulator").await;
    let x = p.person(&admin_a, "甲", "a@example.com").await;
    let y = p.person(&admin_a, "乙", "b@example.com").await;
    let (contract, tokens) = contract_with_invites(&p, &admin_a, &[x.clone(), y.clone()]).await;
    let (_, other_tokens) = contract_with_invites(&p, &admin_a, &[y.clone(), x.clone()]).await;
    let party = tokens[0].clone();
    let other_party = other_tokens[0].clone();
    // The B side has objects of its own, which must never show up for A and vice versa.
    let z = p.person(&admin_b, "丙", "c@example.com").await;
    let w = p.person(&admin_b, "丁", "d@example.com").await;
    let (contract_b, _) = contract_with_invites(&p, &admin_b, &[z, w]).await;

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Who {
        Nobody,
        Operator,
        AdminA,
        MemberA,
        RegulatorA,
        AdminB,
        Party,
        OtherParty,
    }
    let callers = [
        Who::Nobody,
        Who::Operator,
        Who::AdminA,
        Who::MemberA,
        Who::RegulatorA,
        Who::AdminB,
        Who::Party,
        Who::OtherParty,
    ];
    let token = |w: Who| -> Option<String> {
        match w {
            Who::Nobody => None,
            Who::Operator => Some(p.operator.clone()),
            Who::AdminA => Some(admin_a.clone()),
            Who::MemberA => Some(member_a.clone()),
            Who::RegulatorA => Some(regulator_a.clone()),
            Who::AdminB => Some(admin_b.clone()),
            Who::Party => Some(party.clone()),
            Who::OtherParty => Some(other_party.clone()),
        }
    };
    let (s, hook) = p
        .post(
            "/v1/webhooks",
            &admin_a,
            json!({"url": "https://example.com/a"}),
        )
        .await;
    assert_eq!(s, 201, "{hook}");
    let hook_a = hook["id"].as_str().unwrap().to_owned();
    let mut checked = 0;
    for op in operations(&p).await {
        // Destructive operations on shared objects are checked for refusals only.
        for &who in &callers {
            let path = op.path.replace("{owner}", &x).replace(
                "{id}",
                if op.path.starts_with("/v1/persons") {
                    &x
                } else if op.path.starts_with("/v1/api-keys") {
                    "00000000000000000000000000000000"
                } else if op.path.starts_with("/v1/webhooks") {
                    &hook_a
                } else {
                    &contract
                },
            );
            let method = reqwest::Method::from_bytes(op.method.to_uppercase().as_bytes()).unwrap();
            let allowed_role = match op.auth {
                Auth::Public => true,
                Auth::Operator => who == Who::Operator,
                Auth::Invite => matches!(who, Who::Party | Who::OtherParty),
                Auth::ApiKey => {
                    let write = op.method != "get"
                        || op.id == "contractBundle"
                        || op.id == "loanBundle"
                        || op.id == "contractDocument"
                        || op.id == "webhookDeliveries"
                        || op.id.starts_with("vault");
                    match who {
                        Who::AdminA | Who::AdminB => true,
                        Who::MemberA => ![
                            "createApiKey",
                            "revokeApiKey",
                            "createWebhook",
                            "setOrganization",
                        ]
                        .contains(&op.id.as_str()),
                        Who::RegulatorA => !write,
                        _ => false,
                    }
                }
            };
            if allowed_role && !matches!(op.auth, Auth::Public) && op.method != "get" {
                // Allowed writes are exercised by the flow tests; here only refusals
                // and reads, so the shared objects stay as they are.
                if who != Who::AdminB && who != Who::OtherParty {
                    continue;
                }
            }
            let body = match op.body.as_deref() {
                Some("TenantIn") => Some(json!({"name": "T"})),
                Some("ApiKeyIn") => Some(json!({"role": "member", "label": "k"})),
                Some("PersonIn") => Some(json!({"name": "N", "email": "n@example.com"})),
                Some("ContractIn") => Some(
                    json!({"template": "generic_contract", "fields": {"title": "T"}, "parties": [x, y], "document": b64(b"d")}),
                ),
                Some("VerifyIn") => Some(json!({"code": "000000"})),
                Some("DigestIn") => Some(json!({"content_digest": "00".repeat(32)})),
                Some("SignIn") => Some(json!({"device_signature": b64(&[0; 64])})),
                Some("WebhookIn") => Some(json!({"url": "https://example.com/hook"})),
                Some("ExtensionIn") => Some(
                    json!({"annual_rate_percent": "8.00", "term_months": 6, "repayment_method": "bullet"}),
                ),
                Some("RepaymentIn") => Some(json!({"amount": "1.00", "paid_on": "2026-12-01"})),
                Some("OrganizationIn") => {
                    Some(json!({"credit_code": "91350100M000100Y43", "seal_holder": x}))
                }
                Some("VaultCredentialIn") => {
                    Some(json!({"kind": "ed25519", "public_key": "00".repeat(32)}))
                }
                Some("VaultKeyIn") => Some(json!({"owner": x, "algorithm": "ed25519"})),
                Some("VaultSignIn" | "VaultAuthorizationIn" | "VaultGrantIn") => Some(json!({})),
                Some("image/png" | "application/ocsp-request") | None => None,
                Some(other) => panic!("no sample body for {other}"),
            };
            let mut rb = p.http.request(method, format!("{}{path}", p.url));
            if let Some(t) = token(who) {
                rb = rb.bearer_auth(t);
            }
            if op.body.as_deref() == Some("image/png") {
                rb = rb.header("content-type", "image/png").body(png());
            } else if op.body.as_deref() == Some("application/ocsp-request") {
                // Not an OCSP request: the responder answers with an OCSP error (200).
                rb = rb
                    .header("content-type", "application/ocsp-request")
                    .body(vec![0x30, 0x03, 0x02, 0x01, 0x00]);
            } else if let Some(b) = body {
                rb = rb.json(&b);
            }
            let r = rb.send().await.unwrap();
            let status = r.status().as_u16();
            let text = r.text().await.unwrap();
            let ctx = format!(
                "{} {} as {who:?}: {status} {}",
                op.method,
                path,
                text.chars().take(300).collect::<String>()
            );
            checked += 1;
            match (who, allowed_role) {
                (Who::Nobody, _) if op.auth != Auth::Public => assert_eq!(status, 401, "{ctx}"),
                (_, false) => assert!(status == 403 || status == 401, "{ctx}"),
                (Who::AdminB, true) => {
                    // B acts in B: A's objects are not found, listings hold only B's.
                    // (The vault checks a request's shape before looking the key up:
                    // an empty body is a 400 there, which reveals nothing either.)
                    if op.path.contains("{id}") {
                        assert!(
                            status == 404 || op.id.starts_with("vault") && status == 400,
                            "{ctx}"
                        );
                    }
                    assert!(
                        !text.contains("a@example.com") && !text.contains("甲"),
                        "{ctx}"
                    );
                    if op.method == "get" && !op.path.contains("{id}") {
                        assert!(!text.contains(&contract) && !text.contains(&x), "{ctx}");
                    }
                }
                (Who::OtherParty, true) => {
                    // The other contract's party acts on its own contract only.
                    assert!(!text.contains(&contract), "{ctx}");
                }
                // (The contract here is no loan: loan operations find nothing.)
                // (No code is pending: passkey options need one.)
                (_, true) => assert!(
                    status < 400
                        || status == 404
                            && (op.id == "contractDocument"
                                || op.id.starts_with("vault")
                                || op.path.starts_with("/v1/loans"))
                        || status == 409 && op.id == "passkeyCreationOptions",
                    "{ctx}"
                ),
            }
            // Nothing of B ever reaches A's callers.
            if matches!(
                who,
                Who::AdminA | Who::MemberA | Who::RegulatorA | Who::Party
            ) {
                assert!(!text.contains(&contract_b), "{ctx}");
            }
            // Regulators see metadata, never field values or contact details.
            if who == Who::RegulatorA && status == 200 && op.auth != Auth::Public {
                assert!(
                    !text.contains("\"fields\"") && !text.contains("a@example.com"),
                    "{ctx}"
                );
            }
        }
    }
    assert!(checked > 150, "checked {checked}");
    p.stop().await;
}

/// The served document is OpenAPI 3.1, every operation has an id and a caller kind,
/// every schema it references exists, and every route it lists is routed (none falls
/// through to the "no such endpoint" answer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_describes_every_route_completely() {
    let p = TestPlatform::start(Db::Sqlite).await.unwrap();
    let doc: Value = reqwest::get(format!("{}/openapi.json", p.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let text = doc.to_string();
    for piece in text.split("#/components/schemas/").skip(1) {
        let name = piece.split('"').next().unwrap();
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "missing schema {name}"
        );
    }
    let operations = operations(&p).await;
    assert!(operations.len() >= 46, "{}", operations.len());
    let ids: BTreeSet<&str> = operations.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids.len(), operations.len(), "operation ids are unique");
    for op in &operations {
        let path = op
            .path
            .replace("{id}", "x")
            .replace("{n}", "1")
            .replace("{owner}", "x");
        let method = reqwest::Method::from_bytes(op.method.to_uppercase().as_bytes()).unwrap();
        let r = p
            .http
            .request(method, format!("{}{path}", p.url))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        assert!(
            !text.contains("no such endpoint"),
            "{} {}: {status} {text}",
            op.method,
            op.path
        );
        if op.auth != Auth::Public {
            assert_eq!(status, 401, "{} {}: {text}", op.method, op.path);
        }
    }
    p.stop().await;
}

/// A party that is ready and consented can still be refused by a forged device; after
/// the real one signs, the contract moves on — used above; here the happy path runs
/// under an Idempotency-Key on every POST, replayed once each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_post_of_a_ceremony_replays_under_its_idempotency_key() {
    let p = TestPlatform::start(Db::Sqlite).await.unwrap();
    let (_, admin) = p.tenant("Acme").await;
    let a = p.person(&admin, "甲", "a@example.com").await;
    let b = p.person(&admin, "乙", "b@example.com").await;
    let (id, tokens) = contract_with_invites(&p, &admin, &[a, b]).await;
    let device = Device::new();
    party_ready(&p, &tokens[0], "a@example.com", &device).await;
    let post = |path: &str, token: &str, key: &str, body: Value| {
        p.http
            .post(format!("{}{path}", p.url))
            .bearer_auth(token.to_owned())
            .header("idempotency-key", key.to_owned())
            .json(&body)
            .send()
    };
    let r = post("/v1/invite/sign/prepare", &tokens[0], "prep-1", json!({}))
        .await
        .unwrap();
    let prepared: Value = r.json().await.unwrap();
    let sig = device.sign_statement(prepared["statement"].as_str().unwrap());
    let first = post(
        "/v1/invite/sign",
        &tokens[0],
        "sign-1",
        json!({"device_signature": sig}),
    )
    .await
    .unwrap();
    assert_eq!(first.status().as_u16(), 200);
    let first: Value = first.json().await.unwrap();
    let again = post(
        "/v1/invite/sign",
        &tokens[0],
        "sign-1",
        json!({"device_signature": sig}),
    )
    .await
    .unwrap();
    assert_eq!(again.status().as_u16(), 200);
    assert_eq!(again.headers().get("idempotent-replayed").unwrap(), "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(first, again);
    assert_eq!(count(&p, "signatures").await, 1, "signed once");
    let (_, events) = p.get(&format!("/v1/contracts/{id}/events"), &admin).await;
    let signed = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "contract.signed")
        .count();
    assert_eq!(signed, 1);
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_holding_secrets_are_never_kept_for_replay_on_sqlite() {
    secrets_never_kept(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_holding_secrets_are_never_kept_for_replay_on_postgres() {
    secrets_never_kept(Db::Postgres).await;
}

/// An answer that holds a bearer secret (an API key, invite tokens, a webhook secret) is
/// not stored under its Idempotency-Key: a replay is refused with `replay-unavailable`
/// and runs nothing; the table holds none of the secrets; keys are pruned after 24 h.
async fn secrets_never_kept(db: Db) {
    let clock = Arc::new(affix_notify::ManualClock::new(affix_platform_now()));
    let Some(p) = TestPlatform::start_with_clock(db, clock.clone()).await else {
        return;
    };
    let (_, admin) = p.tenant("Acme").await;
    let post = |path: &str, key: &str, body: Value| {
        p.http
            .post(format!("{}{path}", p.url))
            .bearer_auth(admin.clone())
            .header("idempotency-key", key.to_owned())
            .json(&body)
            .send()
    };
    let mut secrets = Vec::new();

    // A new API key: its secret is shown once, and never replayed.
    let body = json!({"role": "member", "label": "ci"});
    let first = post("/v1/api-keys", "ak-1", body.clone()).await.unwrap();
    assert_eq!(first.status().as_u16(), 201);
    let first: Value = first.json().await.unwrap();
    secrets.push(first["api_key"].as_str().unwrap().to_owned());
    let keys_before = count(&p, "api_keys").await;
    let again = post("/v1/api-keys", "ak-1", body).await.unwrap();
    assert_eq!(again.status().as_u16(), 409);
    let again: Value = again.json().await.unwrap();
    assert_eq!(kind(&again), "replay-unavailable", "{again}");
    assert_eq!(
        count(&p, "api_keys").await,
        keys_before,
        "the replay ran nothing"
    );

    // Invite tokens sent by `send` (to the parties, not the sender).
    let a = p.person(&admin, "甲", "a@example.com").await;
    let b = p.person(&admin, "乙", "b@example.com").await;
    let (s, c) = p
        .post(
            "/v1/contracts",
            &admin,
            json!({"template": "generic_contract", "fields": {"title": "T"}, "parties": [a, b],
                   "document": b64(b"doc"), "expires_in_days": 1}),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    let path = format!("/v1/contracts/{}/send", c["id"].as_str().unwrap());
    let sent = post(&path, "send-1", json!({})).await.unwrap();
    assert_eq!(sent.status().as_u16(), 200);
    let sent: Value = sent.json().await.unwrap();
    // The sender's answer holds no link (the parties receive theirs by mail), so it
    // may be kept and replayed; the links the parties received must not be stored.
    let received = p.received(&admin, sent.clone()).await;
    for invite in received["invites"].as_array().unwrap() {
        secrets.push(invite["token"].as_str().unwrap().to_owned());
    }
    let again = post(&path, "send-1", json!({})).await.unwrap();
    assert_eq!(again.status().as_u16(), 200);
    assert_eq!(again.json::<Value>().await.unwrap(), sent);

    // A webhook's signing secret.
    let hook = post(
        "/v1/webhooks",
        "wh-1",
        json!({"url": "https://hooks.example.com/affix"}),
    )
    .await
    .unwrap();
    assert_eq!(hook.status().as_u16(), 201);
    let hook: Value = hook.json().await.unwrap();
    secrets.push(hook["secret"].as_str().unwrap().to_owned());

    // An answer without a secret is still replayed.
    let person = json!({"name": "丙", "email": "c@example.com"});
    let r1 = post("/v1/persons", "p-1", person.clone()).await.unwrap();
    assert_eq!(r1.status().as_u16(), 201);
    let r2 = post("/v1/persons", "p-1", person).await.unwrap();
    assert_eq!(r2.status().as_u16(), 201);
    assert_eq!(r2.headers().get("idempotent-replayed").unwrap(), "true");

    // Nothing in the table holds a secret: withheld rows keep no body at all.
    let pool = p.running.as_ref().unwrap().platform.store().pool().clone();
    let bodies: Vec<Option<Vec<u8>>> = sqlx::query_scalar("SELECT body FROM idempotency")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(bodies.len(), 4);
    // The API key and the webhook secret are withheld; the send answer holds no secret.
    assert_eq!(bodies.iter().filter(|b| b.is_none()).count(), 2);
    for body in bodies.into_iter().flatten() {
        let text = String::from_utf8_lossy(&body).into_owned();
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "a secret is stored: {text}"
            );
        }
    }

    // A day later the keys are forgotten (the evidence loop sweeps them).
    clock.advance_ms(24 * 60 * 60 * 1000 + 60_000);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while count(&p, "idempotency").await > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "idempotency keys were not pruned"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    p.stop().await;
}

/// The data directory and everything in the outboxes are the service user's alone: the
/// outboxes carry one-time codes and invite links.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_directory_and_outboxes_are_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let p = TestPlatform::start(Db::Sqlite).await.unwrap();
    let (_, admin) = p.tenant("Acme").await;
    let a = p.person(&admin, "甲", "a@example.com").await;
    let b = p.person(&admin, "乙", "b@example.com").await;
    let (_, tokens) = contract_with_invites(&p, &admin, &[a, b]).await;
    let (s, _) = p
        .post("/v1/invite/identity/email", &tokens[0], json!({}))
        .await;
    assert_eq!(s, 200);
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let data = p.data();
    assert_eq!(mode(&data), 0o700, "{}", data.display());
    let outbox = data.join("outbox");
    assert_eq!(mode(&outbox), 0o700);
    let mut files = 0;
    for entry in std::fs::read_dir(&outbox).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
        files += 1;
    }
    assert!(files >= 2, "the e-mail and SMS outboxes exist");
    // The one-time codes' MAC key: owner only, 32 bytes, outside the database.
    let pepper = data.join("otp-pepper.key");
    assert_eq!(mode(&pepper), 0o600);
    assert_eq!(std::fs::read(&pepper).unwrap().len(), 32);
    assert!(
        std::fs::read_to_string(outbox.join("email.jsonl"))
            .unwrap()
            .contains("a@example.com"),
        "the code went to the outbox this test checks"
    );
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_wrong_codes_count_every_attempt_on_sqlite() {
    concurrent_wrong_codes(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_wrong_codes_count_every_attempt_on_postgres() {
    concurrent_wrong_codes(Db::Postgres).await;
}

/// 50 wrong one-time codes sent at once: no more than the policy's 5 attempts are ever
/// tried (each is counted on the state it read), and the right code is refused after.
async fn concurrent_wrong_codes(db: Db) {
    // The identity routes' own bucket (10 a minute per invite) would refuse most of the
    // 50 guesses before they reach the store: raised here, so that the compare and swap
    // is what the test exercises.
    let Some(p) = TestPlatform::start_configured(db, Arc::new(affix_notify::SystemClock), |c| {
        c.limits.identity_requests_per_minute = 1_000;
    })
    .await
    else {
        return;
    };
    let (_, admin) = p.tenant("Acme").await;
    let a = p.person(&admin, "甲", "a@example.com").await;
    let b = p.person(&admin, "乙", "b@example.com").await;
    let (_, tokens) = contract_with_invites(&p, &admin, &[a, b]).await;
    let (s, v) = p
        .post("/v1/invite/identity/email", &tokens[0], json!({}))
        .await;
    assert_eq!(s, 200, "{v}");
    let code = p.last_code("a@example.com");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let device = Device::new();
    let guesses = (0..50).map(|_| {
        p.http
            .post(format!("{}/v1/invite/identity/email/verify", p.url))
            .bearer_auth(tokens[0].clone())
            .json(&json!({"code": wrong, "device_public_key": device.public_b64(), "signer_name": "Signer"}))
            .send()
    });
    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    for answer in futures::future::join_all(guesses).await {
        let answer = answer.unwrap();
        let status = answer.status().as_u16();
        let v: Value = answer.json().await.unwrap();
        assert!((400..500).contains(&status), "{status} {v}");
        *kinds.entry(kind(&v)).or_default() += 1;
    }
    let tried = kinds.get("wrong-code").copied().unwrap_or(0);
    assert!(tried <= 5, "{tried} wrong codes were tried: {kinds:?}");
    assert!(kinds.contains_key("code-attempts-exhausted"), "{kinds:?}");
    let (s, v) = p
        .post(
            "/v1/invite/identity/email/verify",
            &tokens[0],
            json!({"code": code, "device_public_key": device.public_b64(), "signer_name": "Signer"}),
        )
        .await;
    assert_eq!(
        (s, kind(&v).as_str()),
        (429, "code-attempts-exhausted"),
        "{v}"
    );
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_check_locks_across_challenges_until_reinvited_on_sqlite() {
    identity_check_locks_across_challenges(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_check_locks_across_challenges_until_reinvited_on_postgres() {
    identity_check_locks_across_challenges(Db::Postgres).await;
}

/// The caps across challenges: a fourth code within an hour locks the party's identity
/// check (the lock outlives the hour), ten wrong codes within a day lock it too (over
/// two challenges, each of 5 attempts), and only a re-invite
/// (`POST /v1/contracts/{id}/parties/{n}/remind`) opens it again, with a fresh link.
async fn identity_check_locks_across_challenges(db: Db) {
    let clock = Arc::new(affix_notify::ManualClock::new(affix_platform_now()));
    let Some(p) = TestPlatform::start_configured(db, clock.clone(), |c| {
        c.limits.identity_requests_per_minute = 1_000;
    })
    .await
    else {
        return;
    };
    let (_, admin) = p.tenant("Acme").await;
    let a = p.person(&admin, "甲", "a@example.com").await;
    let b = p.person(&admin, "乙", "b@example.com").await;
    let (id, tokens) = contract_with_invites(&p, &admin, &[a, b]).await;
    let start = |token: String| {
        let p = &p;
        async move { p.post("/v1/invite/identity/email", &token, json!({})).await }
    };
    let device = Device::new();
    let verify = |token: String, code: String| {
        let (p, device) = (&p, &device);
        async move {
            p.post(
                "/v1/invite/identity/email/verify",
                &token,
                json!({"code": code, "device_public_key": device.public_b64(), "signer_name": "Signer"}),
            )
            .await
        }
    };

    // Party A: three codes an hour (each 31 s apart), the fourth request locks.
    for _ in 0..3 {
        let (s, v) = start(tokens[0].clone()).await;
        assert_eq!(s, 200, "{v}");
        clock.advance_ms(31_000);
    }
    let code_a = p.last_code("a@example.com");
    let (s, v) = start(tokens[0].clone()).await;
    assert_eq!((s, kind(&v).as_str()), (423, "identity-locked"), "{v}");
    assert!(
        v["detail"]
            .as_str()
            .unwrap()
            .contains("ask the sender for a new invite"),
        "{v}"
    );
    // Locked for good: two hours later, and even for the last code sent.
    clock.advance_ms(2 * 3_600_000);
    let (s, v) = start(tokens[0].clone()).await;
    assert_eq!((s, kind(&v).as_str()), (423, "identity-locked"), "{v}");
    let (s, v) = verify(tokens[0].clone(), code_a).await;
    assert_eq!((s, kind(&v).as_str()), (423, "identity-locked"), "{v}");

    // Party B: 5 wrong codes use up a challenge (the sixth is not counted), 5 more on a
    // second challenge make 10 in a day: the tenth locks.
    let (s, v) = start(tokens[1].clone()).await;
    assert_eq!(s, 200, "{v}");
    let wrong = |code: &str| (if code == "000000" { "111111" } else { "000000" }).to_owned();
    let code = p.last_code("b@example.com");
    for _ in 0..5 {
        let (s, v) = verify(tokens[1].clone(), wrong(&code)).await;
        assert_eq!((s, kind(&v).as_str()), (422, "wrong-code"), "{v}");
    }
    let (s, v) = verify(tokens[1].clone(), code.clone()).await;
    assert_eq!(
        (s, kind(&v).as_str()),
        (429, "code-attempts-exhausted"),
        "{v}"
    );
    clock.advance_ms(31_000);
    let (s, v) = start(tokens[1].clone()).await;
    assert_eq!(s, 200, "{v}");
    let code = p.last_code("b@example.com");
    for _ in 0..4 {
        let (s, v) = verify(tokens[1].clone(), wrong(&code)).await;
        assert_eq!((s, kind(&v).as_str()), (422, "wrong-code"), "{v}");
    }
    let (s, v) = verify(tokens[1].clone(), wrong(&code)).await;
    assert_eq!(
        (s, kind(&v).as_str()),
        (423, "identity-locked"),
        "the tenth: {v}"
    );
    let (s, v) = verify(tokens[1].clone(), code.clone()).await;
    assert_eq!((s, kind(&v).as_str()), (423, "identity-locked"), "{v}");
    clock.advance_ms(31_000);
    let (s, v) = start(tokens[1].clone()).await;
    assert_eq!((s, kind(&v).as_str()), (423, "identity-locked"), "{v}");

    // The sender re-invites A: a fresh link, and the check opens again for it; the old
    // link is dead.
    let (_, invite) = p.get("/v1/invite", &tokens[0]).await;
    let party = invite["party_id"].as_str().unwrap().to_owned();
    let (s, v) = p
        .post(
            &format!("/v1/contracts/{id}/parties/{party}/remind"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(s, 202, "{v}");
    let (s, v) = start(tokens[0].clone()).await;
    assert_eq!(s, 401, "the replaced link: {v}");
    let fresh = p.invite_token("a@example.com", &id);
    assert_ne!(fresh, tokens[0]);
    let tokens = [fresh, tokens[1].clone()];
    let (s, v) = start(tokens[0].clone()).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = verify(tokens[0].clone(), p.last_code("a@example.com")).await;
    assert_eq!(s, 200, "{v}");
    p.stop().await;
}

/// The identity routes have a bucket of their own per invite (10 a minute by default),
/// apart from the general one: past it, 429 with Retry-After, while the invite's other
/// routes and another invite's identity routes still answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_routes_have_their_own_rate_limit() {
    let p = TestPlatform::start(Db::Sqlite).await.unwrap();
    assert_eq!(p.config.limits.identity_requests_per_minute, 10);
    let (_, admin) = p.tenant("Acme").await;
    let a = p.person(&admin, "甲", "a@example.com").await;
    let b = p.person(&admin, "乙", "b@example.com").await;
    let (_, tokens) = contract_with_invites(&p, &admin, &[a, b]).await;
    let (s, v) = p
        .post("/v1/invite/identity/email", &tokens[0], json!({}))
        .await;
    assert_eq!(s, 200, "{v}");
    // Malformed codes: refused without counting an attempt, but each is a request.
    for _ in 0..9 {
        let (s, v) = p
            .post(
                "/v1/invite/identity/email/verify",
                &tokens[0],
                json!({"code": "abc"}),
            )
            .await;
        assert_eq!((s, kind(&v).as_str()), (422, "wrong-code"), "{v}");
    }
    let answer = p
        .http
        .post(format!("{}/v1/invite/identity/email/verify", p.url))
        .bearer_auth(&tokens[0])
        .json(&json!({"code": "abc"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 429);
    let retry_after: u64 = answer.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let v: Value = answer.json().await.unwrap();
    assert_eq!(kind(&v), "rate-limited", "{v}");
    let (s, v) = p
        .post("/v1/invite/identity/email", &tokens[0], json!({}))
        .await;
    assert_eq!((s, kind(&v).as_str()), (429, "rate-limited"), "{v}");
    // The general bucket is another one: the same invite still opens the contract.
    let (s, v) = p.get("/v1/invite", &tokens[0]).await;
    assert_eq!(s, 200, "{v}");
    // And another invite has its own identity bucket.
    let (s, v) = p
        .post("/v1/invite/identity/email", &tokens[1], json!({}))
        .await;
    assert_eq!(s, 200, "{v}");
    p.stop().await;
}

/// A platform listening beyond loopback would write bearer secrets (one-time codes,
/// invite links) to the file outbox: refused at start-up without `[smtp]` unless
/// `insecure_outbox = true`; loopback is unaffected; with `[smtp]` and without the
/// setting, text messages are not written to the SMS file outbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outboxes_beyond_loopback_need_smtp_or_insecure_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let clock: Arc<dyn affix_notify::Clock> = Arc::new(affix_notify::SystemClock);
    let config = affix_platform::Config {
        listen: "0.0.0.0:0".parse().unwrap(),
        data_dir: dir.path().join("data"),
        lpr_table: Some(test_lpr_table(dir.path(), affix_platform_now())),
        ..affix_platform::Config::default()
    };
    let refused = affix_server::start_with_clock(config.clone(), clock.clone())
        .await
        .err()
        .expect("0.0.0.0 without [smtp] or insecure_outbox is refused");
    let message = refused.to_string();
    assert!(
        matches!(refused, affix_platform::Error::Config(_)),
        "{message}"
    );
    assert!(message.contains("insecure_outbox = true"), "{message}");
    assert!(message.contains("0.0.0.0"), "{message}");
    assert!(!config.data_dir.exists(), "nothing was created");

    // With the setting: starts, and both outboxes are written.
    let p = TestPlatform::start_configured(Db::Sqlite, clock.clone(), |c| {
        c.listen = "0.0.0.0:0".parse().unwrap();
        c.insecure_outbox = true;
    })
    .await
    .unwrap();
    assert!(p.data().join("outbox/email.jsonl").exists());
    assert!(p.data().join("outbox/sms.jsonl").exists());
    p.stop().await;

    // Loopback without the setting: starts, outboxes as before.
    let p = TestPlatform::start(Db::Sqlite).await.unwrap();
    assert!(!p.config.insecure_outbox);
    assert!(p.data().join("outbox/sms.jsonl").exists());
    p.stop().await;

    // Beyond loopback with [smtp] (never reached here) and without the setting: starts,
    // and there is no SMS file outbox (texts are recorded as not configured).
    let p = TestPlatform::start_configured(Db::Sqlite, clock, |c| {
        c.listen = "0.0.0.0:0".parse().unwrap();
        c.smtp = Some(affix_platform::config::SmtpSettings {
            host: "127.0.0.1".into(),
            port: 9,
            tls: "none".into(),
            from: "sign@affix.example".into(),
            username: None,
        });
    })
    .await
    .unwrap();
    assert!(!p.data().join("outbox/sms.jsonl").exists());
    assert!(!p.data().join("outbox/email.jsonl").exists());
    p.stop().await;
}

/// PNGs a hostile party might upload, each with what is wrong with it.
fn hostile_pngs() -> Vec<(&'static str, Vec<u8>)> {
    const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    let ihdr = |width: u32, height: u32, depth: u8, color: u8| {
        let mut data = width.to_be_bytes().to_vec();
        data.extend_from_slice(&height.to_be_bytes());
        data.extend_from_slice(&[depth, color, 0, 0, 0]);
        chunk(b"IHDR", &data)
    };
    let with = |header: Vec<u8>, idat: &[u8]| {
        let mut out = SIGNATURE.to_vec();
        out.extend(header);
        out.extend(chunk(b"IDAT", idat));
        out.extend(chunk(b"IEND", &[]));
        out
    };
    let good = png();
    let mut bad_crc = good.clone();
    let idat_data = 8 + 25 + 8;
    bad_crc[idat_data + 2] ^= 0x01;
    // zlib of 64 KiB of zeros in fixed-Huffman blocks would do; a short valid stream
    // is enough, since the declared size is refused before anything is inflated.
    let zeros = [
        0x78, 0x01, 0x01, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01,
    ];
    vec![
        ("bad CRC", bad_crc),
        ("truncated in IDAT", good[..good.len() - 20].to_vec()),
        ("no IEND", good[..good.len() - 12].to_vec()),
        ("0×0", with(ihdr(0, 0, 8, 0), &zeros)),
        (
            "huge dimensions",
            with(ihdr(100_000, 100_000, 8, 6), &zeros),
        ),
        (
            "decodes to more than 16 MiB",
            with(ihdr(2048, 1024, 16, 6), &zeros),
        ),
        ("not zlib", with(ihdr(2, 1, 8, 0), b"not a zlib stream")),
        ("not a PNG", b"GIF89a".to_vec()),
    ]
}
