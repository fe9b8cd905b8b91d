//! The loan note's legal rate cap through the HTTP API: four times the one-year LPR in
//! force, checked when the note is created and again when the last signature makes the
//! contract; at the cap is allowed, 0.01 % above is refused with the rule cited and
//! nothing created; a platform whose LPR table is out of date refuses loan notes rather
//! than guess.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use affix_notify::{Clock as _, ManualClock, SystemClock};
use common::{Db, Device, TestPlatform, party_ready, party_signs};
use serde_json::{Value, json};

const DAY_MS: u64 = 86_400_000;

fn note(lender: &str, borrower: &str, rate: &str) -> Value {
    json!({
        "template": "loan_note",
        "parties": [lender, borrower],
        "fields": {
            "lender": "张三", "borrower": "李四", "principal": "CNY 20000.00",
            "annual_rate_percent": rate, "start_date": "2026-12-01", "term_months": "12",
            "repayment_method": "equal_instalments",
        },
    })
}

async fn rate_cap_at_creation(db: Db) {
    let Some(p) = TestPlatform::start(db).await else {
        return;
    };
    let (_, admin) = p.tenant("IOU app").await;
    let lender = p.person(&admin, "张三", "zhang@example.com").await;
    let borrower = p.person(&admin, "李四", "li@example.com").await;
    // The test table's last one-year LPR is 3.00 % (2025-05-20): the cap is 12.00 %.
    let (s, v) = p
        .post("/v1/contracts", &admin, note(&lender, &borrower, "12.01"))
        .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["type"], "https://affix.dev/problems/rate-above-legal-cap");
    let detail = v["detail"].as_str().unwrap();
    assert!(
        detail.contains("12.00") && detail.contains("3.00") && detail.contains("第二十五条"),
        "{detail}"
    );
    let (_, list) = p.get("/v1/contracts", &admin).await;
    assert!(list["contracts"].as_array().unwrap().is_empty(), "{list}");
    let (s, v) = p
        .post("/v1/contracts", &admin, note(&lender, &borrower, "12.00"))
        .await;
    assert_eq!(s, 201, "{v}");
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_cap_at_creation_on_sqlite() {
    rate_cap_at_creation(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_cap_at_creation_on_postgres() {
    rate_cap_at_creation(Db::Postgres).await;
}

/// The LPR falls between creation and the last signature: the cap in force when the
/// contract is made is the one that counts, so the last signature is refused and the
/// contract stays partially signed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_cap_is_checked_again_at_the_last_signature() {
    let real_now = SystemClock.now_ms();
    // The note is created two days ago; the LPR fell to 2.90 % (cap 11.60 %) yesterday.
    let clock = Arc::new(ManualClock::new(real_now - 2 * DAY_MS));
    let yesterday = affix_identity::Date::from_unix_ms_china(real_now - DAY_MS);
    let Some(p) = TestPlatform::start_configured(Db::Sqlite, clock.clone(), |config| {
        let path = config.lpr_table.clone().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let (entries, through) = text.rsplit_once("through").unwrap();
        std::fs::write(
            &path,
            format!("{entries}{yesterday} 2.90\nthrough{through}"),
        )
        .unwrap();
    })
    .await
    else {
        return;
    };
    let (_, admin) = p.tenant("IOU app").await;
    let lender = p.person(&admin, "张三", "zhang@example.com").await;
    let borrower = p.person(&admin, "李四", "li@example.com").await;
    let (s, created) = p
        .post("/v1/contracts", &admin, note(&lender, &borrower, "12.00"))
        .await;
    assert_eq!(s, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let (s, sent) = p
        .post(&format!("/v1/contracts/{id}/send"), &admin, json!({}))
        .await;
    assert_eq!(s, 200, "{sent}");
    // Signing happens today (the vault checks authorizations against real time).
    clock.set_ms(real_now);
    let token = |n: usize| sent["invites"][n]["token"].as_str().unwrap().to_owned();
    let v = party_signs(&p, &token(0), "zhang@example.com", &Device::new()).await;
    assert_eq!(v["status"], "partially_signed", "{v}");
    let device = Device::new();
    party_ready(&p, &token(1), "li@example.com", &device).await;
    let (s, prepared) = p
        .post("/v1/invite/sign/prepare", &token(1), json!({}))
        .await;
    assert_eq!(s, 200, "{prepared}");
    let signature = device.sign_statement(prepared["statement"].as_str().unwrap());
    let (s, v) = p
        .post(
            "/v1/invite/sign",
            &token(1),
            json!({"device_signature": signature}),
        )
        .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["type"], "https://affix.dev/problems/rate-above-legal-cap");
    assert!(v["detail"].as_str().unwrap().contains("11.60"), "{v}");
    let (_, c) = p.get(&format!("/v1/contracts/{id}"), &admin).await;
    assert_eq!(c["status"], "partially_signed", "{c}");
    assert_eq!(c["parties"][1]["status"], "consented", "{c}");
    p.stop().await;
}

/// The built-in table vouches only through its `through` date: after it, loan notes
/// are refused (503, the operator's to fix), generic contracts still work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outdated_lpr_table_refuses_loan_notes() {
    let Some(p) = TestPlatform::start_configured(Db::Sqlite, Arc::new(SystemClock), |config| {
        config.lpr_table = None;
    })
    .await
    else {
        return;
    };
    let today = affix_identity::Date::from_unix_ms_china(SystemClock.now_ms());
    assert!(
        affix_contract::LprTable::builtin().checked_through() < today,
        "the built-in table still covers today: this test needs a later date"
    );
    let (_, admin) = p.tenant("IOU app").await;
    let lender = p.person(&admin, "张三", "zhang@example.com").await;
    let borrower = p.person(&admin, "李四", "li@example.com").await;
    let (s, v) = p
        .post("/v1/contracts", &admin, note(&lender, &borrower, "3.00"))
        .await;
    assert_eq!(s, 503, "{v}");
    assert_eq!(v["type"], "https://affix.dev/problems/lpr-table-outdated");
    p.stop().await;
}
