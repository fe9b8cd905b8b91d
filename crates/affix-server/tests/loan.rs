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
/// contract is made is the one that counts, so the last signature is refused (when it is
/// prepared, before the vault signs) and the contract stays partially signed.
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
    let sent = p.received(&admin, sent).await;
    assert_eq!(s, 200, "{sent}");
    // Signing happens today (the vault checks authorizations against real time).
    clock.set_ms(real_now);
    let token = |n: usize| sent["invites"][n]["token"].as_str().unwrap().to_owned();
    let v = party_signs(&p, &token(0), "zhang@example.com", &Device::new()).await;
    assert_eq!(v["status"], "partially_signed", "{v}");
    let device = Device::new();
    party_ready(&p, &token(1), "li@example.com", &device).await;
    // Refused when the party prepares, before the vault is asked to sign anything.
    let (s, v) = p
        .post("/v1/invite/sign/prepare", &token(1), json!({}))
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

/// Days from `a` to `b` (b ≥ a, at most a few hundred).
fn days_between(a: affix_identity::Date, b: affix_identity::Date) -> u64 {
    let mut d = a;
    let mut n = 0;
    while d < b {
        d = affix_contract::add_days(d, 1).unwrap();
        n += 1;
    }
    n
}

/// Notices to `to` whose subject starts with `subject`, as the SMTP server received them.
fn received(p: &TestPlatform, to: &str, subject: &str) -> usize {
    p.sink
        .as_ref()
        .unwrap()
        .messages()
        .iter()
        .filter(|m| m["rcpt_tos"][0] == to && m["subject"].as_str().unwrap().starts_with(subject))
        .count()
}

/// The ledger's trust policy and the CA root, as the platform publishes them.
async fn anchors(p: &TestPlatform, key: &str) -> (affix_note::TrustPolicy, x509_cert::Certificate) {
    let keys = p.get("/v1/ledger/verifier-keys", key).await.1;
    let policy = affix_note::VerifierKeysFile::parse(keys.as_str().unwrap())
        .unwrap()
        .trust_policy()
        .unwrap();
    let (_, ca) = p.call(reqwest::Method::GET, "/v1/ca", None, None).await;
    let root = <x509_cert::Certificate as der::DecodePem>::from_pem(
        ca["root"].as_str().unwrap().as_bytes(),
    )
    .unwrap();
    (policy, root)
}

/// The loan's litigation bundle, once every record has its receipt.
async fn loan_bundle(p: &TestPlatform, key: &str, id: &str) -> Vec<u8> {
    let r = p
        .http
        .get(format!("{}/v1/loans/{id}/bundle?wait=30", p.url))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    r.bytes().await.unwrap().to_vec()
}

/// Waits until the loan's evidence has `n` actions matching `what`, all done.
async fn wait_actions(p: &TestPlatform, key: &str, id: &str, what: &str, n: usize) -> Value {
    for _ in 0..150 {
        let (s, ev) = p.get(&format!("/v1/loans/{id}/evidence"), key).await;
        assert_eq!(s, 200, "{ev}");
        let matching: Vec<&Value> = ev["actions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["action"].as_str().unwrap().contains(what))
            .collect();
        if matching.len() >= n && matching.iter().all(|a| a["state"] == "done") {
            assert_eq!(matching.len(), n, "{ev}");
            return ev;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no {n} done actions {what:?}");
}

/// A loan lived with a test clock: signed, reminded before and on each due date,
/// partly repaid, overdue, caught up after a restart that spans due dates, settled.
/// Every notice reaches a real SMTP server (aiosmtpd) exactly once and is recorded with
/// its delivery result; every loan event and rule action has a receipt that verifies.
async fn a_loan_lived(db: Db) {
    let real_now = SystemClock.now_ms();
    let clock = Arc::new(ManualClock::new(real_now));
    let Some(mut p) = TestPlatform::start_with_smtp(db, clock.clone()).await else {
        return;
    };
    let (_, admin) = p.tenant("IOU app").await;
    let lender = p.person(&admin, "张三", "zhang@example.com").await;
    let borrower = p.person(&admin, "李四", "li@example.com").await;
    let today = affix_identity::Date::from_unix_ms_china(real_now);
    let mut body = note(&lender, &borrower, "12.00");
    body["fields"]["start_date"] = json!(today.to_string());
    body["fields"]["principal"] = json!("CNY 3000.00");
    body["fields"]["term_months"] = json!("3");
    body["fields"]["repayment_method"] = json!("equal_principal");
    let (s, created) = p.post("/v1/contracts", &admin, body).await;
    assert_eq!(s, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    // The schedule and the rules are signed with the note, by their digest.
    let signed_terms = created["fields"]["loan_terms_sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(signed_terms.len(), 64, "{created}");
    let (s, sent) = p
        .post(&format!("/v1/contracts/{id}/send"), &admin, json!({}))
        .await;
    let sent = p.received(&admin, sent).await;
    assert_eq!(s, 200, "{sent}");
    let token = |n: usize| sent["invites"][n]["token"].as_str().unwrap().to_owned();
    party_signs(&p, &token(0), "zhang@example.com", &Device::new()).await;
    let v = party_signs(&p, &token(1), "li@example.com", &Device::new()).await;
    assert_eq!(v["status"], "effective", "{v}");

    let (s, loan) = p.get(&format!("/v1/loans/{id}"), &admin).await;
    assert_eq!(s, 200, "{loan}");
    assert_eq!(loan["status"], "active");
    let dues: Vec<affix_identity::Date> = loan["instalments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| affix_contract::parse_day(i["due_date"].as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(dues.len(), 3);
    // 1000.00 principal a month plus 1 % interest on what is left: 30.00, 20.00, 10.00.
    assert_eq!(loan["outstanding"], "3060.00", "{loan}");
    let at = |d: affix_identity::Date| real_now + days_between(today, d) * DAY_MS;
    let minus3 = |d| affix_contract::add_days(d, -3).unwrap();
    assert_eq!(loan["next_due"], minus3(dues[0]).to_string());

    // Three days before the first due date: a reminder to the borrower.
    clock.set_ms(at(minus3(dues[0])));
    p.loans_wake().await;
    wait_actions(&p, &admin, &id, "reminder_before_due", 1).await;
    assert_eq!(received(&p, "li@example.com", "Repayment due soon"), 1);
    // On the due date; then a restart in the middle of it sends nothing twice.
    clock.set_ms(at(dues[0]));
    p.loans_wake().await;
    wait_actions(&p, &admin, &id, "reminder_due_today", 1).await;
    p.halt();
    p.resume().await;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    wait_actions(&p, &admin, &id, "reminder_due_today", 1).await;
    assert_eq!(received(&p, "li@example.com", "Repayment due today"), 1);

    // A partial repayment, confirmed by the lender.
    let (s, v) = p
        .post(
            &format!("/v1/loans/{id}/repayments"),
            &admin,
            json!({"amount": "500.00", "paid_on": dues[0].to_string(), "proof": common::b64(b"transfer receipt")}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["pending"], "500.00", "{v}");
    let r = v["repayments"][0]["id"].as_u64().unwrap();
    let (s, v) = p
        .post(
            &format!("/v1/loans/{id}/repayments/9999/confirm"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(s, 404, "{v}");
    let (s, v) = p
        .post(
            &format!("/v1/loans/{id}/repayments/{r}/confirm"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["outstanding"], "2560.00", "{v}");
    let (s, v) = p
        .post(
            &format!("/v1/loans/{id}/repayments"),
            &admin,
            json!({"amount": "9999.00", "paid_on": dues[0].to_string()}),
        )
        .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["type"], "https://affix.dev/problems/overpayment");

    // Down across the next instalment's reminders and the first one's grace period:
    // after the restart every missed rule day is caught up, once.
    p.halt();
    clock.set_ms(at(affix_contract::add_days(dues[1], 1).unwrap()));
    p.resume().await;
    p.loans_wake().await;
    wait_actions(&p, &admin, &id, "reminder_before_due", 2).await;
    wait_actions(&p, &admin, &id, "reminder_due_today", 2).await;
    wait_actions(&p, &admin, &id, "overdue_notice", 1).await;
    let (_, loan) = p.get(&format!("/v1/loans/{id}"), &admin).await;
    assert_eq!(loan["status"], "overdue", "{loan}");
    assert_eq!(received(&p, "li@example.com", "Repayment due soon"), 2);
    assert_eq!(received(&p, "li@example.com", "Repayment due today"), 2);

    // The rest, confirmed: settled.
    let (s, v) = p
        .post(
            &format!("/v1/loans/{id}/repayments"),
            &admin,
            json!({"amount": "2560.00", "paid_on": dues[1].to_string()}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let r = v["repayments"][1]["id"].as_u64().unwrap();
    let (s, v) = p
        .post(
            &format!("/v1/loans/{id}/repayments/{r}/confirm"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "settled", "{v}");
    let (s, v) = p
        .post(
            &format!("/v1/loans/{id}/repayments"),
            &admin,
            json!({"amount": "1.00", "paid_on": dues[1].to_string()}),
        )
        .await;
    assert!(s == 409 || s == 422, "{v}");
    // Past the last due date nothing more is sent.
    clock.set_ms(at(dues[2]));
    p.loans_wake().await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    wait_actions(&p, &admin, &id, "reminder_due_today", 2).await;

    // Every event and action has a receipt that verifies under the ledger's keys, and
    // every notice its delivery result.
    let (policy, root) = anchors(&p, &admin).await;
    let mut evidence = Value::Null;
    for _ in 0..300 {
        let (_, ev) = p.get(&format!("/v1/loans/{id}/evidence"), &admin).await;
        let all = ev["events"]
            .as_array()
            .unwrap()
            .iter()
            .chain(ev["actions"].as_array().unwrap())
            .all(|e| e["receipt"].is_string());
        evidence = ev;
        if all {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let events = evidence["events"].as_array().unwrap();
    // reported, confirmed, reported, confirmed, settled
    assert_eq!(events.len(), 5, "{evidence}");
    for e in events.iter().chain(evidence["actions"].as_array().unwrap()) {
        let receipt =
            affix_note::Receipt::parse(e["receipt"].as_str().unwrap().as_bytes()).unwrap();
        let record = common::unb64(e["record"].as_str().unwrap());
        receipt.verify_entry(&policy, &record).unwrap();
    }
    // The litigation bundle verifies offline against anchors from outside it; tampering
    // is caught.
    let bytes = loan_bundle(&p, &admin, &id).await;
    let roots = std::slice::from_ref(&root);
    let verified = affix_platform::bundle::verify_litigation(&bytes, &policy, roots).unwrap();
    assert_eq!(verified.events, 5);
    assert!(verified.settled);
    assert_eq!(verified.outstanding_yuan, "0.00");
    assert_eq!(
        verified.actions,
        evidence["actions"].as_array().unwrap().len()
    );
    let bundle: affix_platform::bundle::LitigationBundle = serde_json::from_slice(&bytes).unwrap();
    assert!(bundle.events[0].proof.is_some());
    let check = |b: &affix_platform::bundle::LitigationBundle| {
        affix_platform::bundle::verify_litigation(&serde_json::to_vec(b).unwrap(), &policy, roots)
    };
    let mut t = bundle.clone();
    t.rules = affix_contract::RuleSet::standard_with_grace_days(10)
        .unwrap()
        .to_json();
    assert!(check(&t).is_err(), "other rules than the signed ones");
    let mut t = bundle.clone();
    t.events[0].proof = Some(common::b64(b"another receipt"));
    assert!(check(&t).is_err(), "a swapped proof attachment");
    let mut t = bundle.clone();
    t.events[1].text = t.events[1].text.replace("500.00", "600.00");
    assert!(check(&t).is_err(), "an edited event");
    let mut t = bundle.clone();
    t.events.pop();
    assert!(
        check(&t).is_err(),
        "a settling confirmation without its settlement"
    );
    let mut t = bundle.clone();
    t.events.truncate(3);
    assert!(!check(&t).unwrap().settled, "a shortened chain proves less");
    for a in evidence["actions"].as_array().unwrap() {
        if a["action"].as_str().unwrap().starts_with("notify") {
            let d = a["deliveries"].as_array().unwrap();
            assert!(!d.is_empty(), "{a}");
            // Each recipient's last attempt delivered it (an earlier attempt may have
            // failed, e.g. on a busy machine or across the restart, and been retried).
            let recipients: std::collections::BTreeSet<&str> =
                d.iter().filter_map(|x| x["to"].as_str()).collect();
            assert!(!recipients.is_empty(), "{a}");
            for to in recipients {
                let last = d.iter().rfind(|x| x["to"] == to).unwrap();
                assert_eq!(last["outcome"], "delivered", "{a}");
            }
        }
    }
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loan_lived_on_sqlite() {
    a_loan_lived(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loan_lived_on_postgres() {
    a_loan_lived(Db::Postgres).await;
}

/// An extension (展期): proposed within the rate cap, the addendum is a contract both
/// parties sign; once effective the loan takes the new schedule, with a loan event of
/// its own, and the litigation bundle still verifies.
async fn an_extension_both_sign(db: Db) {
    let Some(p) = TestPlatform::start(db).await else {
        return;
    };
    let (_, admin) = p.tenant("IOU app").await;
    let lender = p.person(&admin, "张三", "zhang@example.com").await;
    let borrower = p.person(&admin, "李四", "li@example.com").await;
    let today = affix_identity::Date::from_unix_ms_china(SystemClock.now_ms());
    let mut body = note(&lender, &borrower, "12.00");
    body["fields"]["start_date"] = json!(today.to_string());
    body["fields"]["principal"] = json!("CNY 3000.00");
    body["fields"]["term_months"] = json!("3");
    body["fields"]["repayment_method"] = json!("equal_principal");
    let (s, created) = p.post("/v1/contracts", &admin, body).await;
    assert_eq!(s, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let (_, sent) = p
        .post(&format!("/v1/contracts/{id}/send"), &admin, json!({}))
        .await;
    let sent = p.received(&admin, sent).await;
    let token = |v: &Value, n: usize| v["invites"][n]["token"].as_str().unwrap().to_owned();
    let (lender_device, borrower_device) = (Device::new(), Device::new());
    party_signs(&p, &token(&sent, 0), "zhang@example.com", &lender_device).await;
    party_signs(&p, &token(&sent, 1), "li@example.com", &borrower_device).await;
    let (s, v) = p.get(&format!("/v1/loans/{id}"), &admin).await;
    assert_eq!(s, 200, "{v}");

    // Above the cap: refused, nothing proposed.
    let (s, v) = p
        .post(
            &format!("/v1/loans/{id}/extensions"),
            &admin,
            json!({"annual_rate_percent": "12.01", "term_months": 6, "repayment_method": "equal_principal"}),
        )
        .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["type"], "https://affix.dev/problems/rate-above-legal-cap");
    let (s, addendum) = p
        .post(
            &format!("/v1/loans/{id}/extensions"),
            &admin,
            json!({"annual_rate_percent": "10.00", "term_months": 6, "repayment_method": "equal_principal"}),
        )
        .await;
    assert_eq!(s, 201, "{addendum}");
    assert!(
        addendum["title"].as_str().unwrap().starts_with("展期"),
        "{addendum}"
    );
    let addendum_id = addendum["id"].as_str().unwrap().to_owned();
    let r = p
        .http
        .get(format!("{}/v1/contracts/{addendum_id}/document", p.url))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    assert!(text.starts_with("affix-loan-extension v1"), "{text}");
    let (s, sent) = p
        .post(
            &format!("/v1/contracts/{addendum_id}/send"),
            &admin,
            json!({}),
        )
        .await;
    let sent = p.received(&admin, sent).await;
    assert_eq!(s, 200, "{sent}");
    party_signs(&p, &token(&sent, 0), "zhang@example.com", &lender_device).await;
    let v = party_signs(&p, &token(&sent, 1), "li@example.com", &borrower_device).await;
    assert_eq!(v["status"], "effective", "{v}");

    // The scheduler applies the signed addendum.
    let mut loan = Value::Null;
    for _ in 0..100 {
        p.loans_wake().await;
        loan = p.get(&format!("/v1/loans/{id}"), &admin).await.1;
        if loan["events"] == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(loan["events"], 1, "{loan}");
    assert_eq!(loan["instalments"].as_array().unwrap().len(), 6, "{loan}");
    let (_, ev) = p.get(&format!("/v1/loans/{id}/evidence"), &admin).await;
    assert!(
        ev["events"][0]["text"]
            .as_str()
            .unwrap()
            .contains("extended"),
        "{ev}"
    );
    let bytes = loan_bundle(&p, &admin, &id).await;
    let (policy, root) = anchors(&p, &admin).await;
    let verified =
        affix_platform::bundle::verify_litigation(&bytes, &policy, std::slice::from_ref(&root))
            .unwrap();
    assert_eq!(verified.events, 1);
    // The addendum both signed travels with it (v2), matched to the extension.
    assert_eq!(verified.documents, 1);
    p.stop().await;
}

/// The mail server is down when a reminder falls due: the notice stays pending and is
/// tried again on its schedule (not before), reaches the borrower once the server is
/// back, and keeps both attempts' delivery results.
async fn a_notice_is_retried(db: Db) {
    let real_now = SystemClock.now_ms();
    let clock = Arc::new(ManualClock::new(real_now));
    let Some(mut p) = TestPlatform::start_with_smtp(db, clock.clone()).await else {
        return;
    };
    let (_, admin) = p.tenant("IOU app").await;
    let lender = p.person(&admin, "张三", "zhang@example.com").await;
    let borrower = p.person(&admin, "李四", "li@example.com").await;
    let today = affix_identity::Date::from_unix_ms_china(real_now);
    let mut body = note(&lender, &borrower, "12.00");
    body["fields"]["start_date"] = json!(today.to_string());
    body["fields"]["term_months"] = json!("3");
    let (s, created) = p.post("/v1/contracts", &admin, body).await;
    assert_eq!(s, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let (_, sent) = p
        .post(&format!("/v1/contracts/{id}/send"), &admin, json!({}))
        .await;
    let sent = p.received(&admin, sent).await;
    let token = |n: usize| sent["invites"][n]["token"].as_str().unwrap().to_owned();
    party_signs(&p, &token(0), "zhang@example.com", &Device::new()).await;
    let v = party_signs(&p, &token(1), "li@example.com", &Device::new()).await;
    assert_eq!(v["status"], "effective", "{v}");
    let (_, loan) = p.get(&format!("/v1/loans/{id}"), &admin).await;
    let first_due =
        affix_contract::parse_day(loan["instalments"][0]["due_date"].as_str().unwrap()).unwrap();
    let reminder_day = affix_contract::add_days(first_due, -3).unwrap();
    let at = real_now + days_between(today, reminder_day) * DAY_MS;

    // The mail server goes away; the reminder falls due.
    let port = p.sink.as_ref().unwrap().port;
    p.sink = None;
    clock.set_ms(at);
    p.loans_wake().await;
    let reminder = |ev: &Value| {
        ev["actions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| {
                a["action"]
                    .as_str()
                    .unwrap()
                    .contains("reminder_before_due")
            })
            .cloned()
    };
    let mut action = Value::Null;
    for _ in 0..100 {
        let (_, ev) = p.get(&format!("/v1/loans/{id}/evidence"), &admin).await;
        if let Some(a) = reminder(&ev)
            && a["deliveries"].is_array()
        {
            action = a;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(action["state"], "pending", "{action}");
    let first = &action["deliveries"][0];
    assert_eq!(first["to"], "borrower", "{action}");
    assert_eq!(first["attempt"], 1, "{action}");
    assert_eq!(first["retryable"], true, "{action}");
    assert!(
        first["outcome"].as_str().unwrap().starts_with("failed"),
        "{action}"
    );

    // The server is back on the same port; the retry waits for its time (one minute).
    p.sink = Some(common::SmtpSink::start_on(port).unwrap());
    p.loans_wake().await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(received(&p, "li@example.com", "Repayment due soon"), 0);
    clock.set_ms(at + 60_000);
    p.loans_wake().await;
    let ev = wait_actions(&p, &admin, &id, "reminder_before_due", 1).await;
    assert_eq!(received(&p, "li@example.com", "Repayment due soon"), 1);
    let action = reminder(&ev).unwrap();
    let deliveries = action["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 2, "{action}");
    assert_eq!(deliveries[1]["attempt"], 2, "{action}");
    assert_eq!(deliveries[1]["outcome"], "delivered", "{action}");
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notice_is_retried_on_sqlite() {
    a_notice_is_retried(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notice_is_retried_on_postgres() {
    a_notice_is_retried(Db::Postgres).await;
}

/// A repayment confirmed by the lender's own signed acknowledgement (收条): it is a
/// contract the lender alone signs; once it is effective the scheduler confirms the
/// repayment; the litigation bundle (v2) carries its own evidence bundle (document kind
/// "receipt", the bundle format's frozen name),
/// matched to the confirmation it backs, and a verifier refuses it misattributed.
async fn an_acknowledgement_the_lender_signs(db: Db) {
    let Some(p) = TestPlatform::start(db).await else {
        return;
    };
    let (_, admin) = p.tenant("IOU app").await;
    let lender = p.person(&admin, "张三", "zhang@example.com").await;
    let borrower = p.person(&admin, "李四", "li@example.com").await;
    let today = affix_identity::Date::from_unix_ms_china(SystemClock.now_ms());
    let mut body = note(&lender, &borrower, "12.00");
    body["fields"]["start_date"] = json!(today.to_string());
    body["fields"]["principal"] = json!("CNY 3000.00");
    body["fields"]["term_months"] = json!("3");
    let (s, created) = p.post("/v1/contracts", &admin, body).await;
    assert_eq!(s, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let (_, sent) = p
        .post(&format!("/v1/contracts/{id}/send"), &admin, json!({}))
        .await;
    let sent = p.received(&admin, sent).await;
    let token = |v: &Value, n: usize| v["invites"][n]["token"].as_str().unwrap().to_owned();
    let lender_device = Device::new();
    party_signs(&p, &token(&sent, 0), "zhang@example.com", &lender_device).await;
    party_signs(&p, &token(&sent, 1), "li@example.com", &Device::new()).await;
    let (s, v) = p
        .post(
            &format!("/v1/loans/{id}/repayments"),
            &admin,
            json!({"amount": "500.00", "paid_on": today.to_string(), "proof": common::b64(b"transfer receipt")}),
        )
        .await;
    assert_eq!(s, 200, "{v}");

    let (s, v) = p
        .post(
            &format!("/v1/loans/{id}/repayments/9/receipt"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(s, 404, "{v}");
    let (s, receipt) = p
        .post(
            &format!("/v1/loans/{id}/repayments/1/receipt"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(s, 201, "{receipt}");
    assert!(
        receipt["title"].as_str().unwrap().starts_with("收条"),
        "{receipt}"
    );
    assert_eq!(receipt["parties"].as_array().unwrap().len(), 1, "{receipt}");
    let receipt_id = receipt["id"].as_str().unwrap().to_owned();
    let r = p
        .http
        .get(format!("{}/v1/contracts/{receipt_id}/document", p.url))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    assert!(text.starts_with("affix-loan-receipt v1\n"), "{text}");
    assert!(text.contains("\namount_yuan 500.00\n"), "{text}");
    let (s, v) = p
        .post(
            &format!("/v1/loans/{id}/repayments/1/receipt"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["type"], "https://affix.dev/problems/receipt-requested");

    // The lender signs it; the scheduler confirms the repayment.
    let (s, sent) = p
        .post(
            &format!("/v1/contracts/{receipt_id}/send"),
            &admin,
            json!({}),
        )
        .await;
    let sent = p.received(&admin, sent).await;
    assert_eq!(s, 200, "{sent}");
    let v = party_signs(&p, &token(&sent, 0), "zhang@example.com", &lender_device).await;
    assert_eq!(v["status"], "effective", "{v}");
    let mut loan = Value::Null;
    for _ in 0..100 {
        p.loans_wake().await;
        loan = p.get(&format!("/v1/loans/{id}"), &admin).await.1;
        if loan["repayments"][0]["status"] == "confirmed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(loan["repayments"][0]["status"], "confirmed", "{loan}");
    assert_eq!(loan["events"], 2, "{loan}");
    let (s, v) = p
        .post(
            &format!("/v1/loans/{id}/repayments/1/receipt"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["type"], "https://affix.dev/problems/repayment-decided");

    // The litigation bundle carries the signed receipt, matched to the confirmation.
    let bytes = loan_bundle(&p, &admin, &id).await;
    let (policy, root) = anchors(&p, &admin).await;
    let roots = std::slice::from_ref(&root);
    let verified = affix_platform::bundle::verify_litigation(&bytes, &policy, roots).unwrap();
    assert_eq!((verified.events, verified.documents), (2, 1));
    let bundle: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(bundle["format"], "affix-litigation-bundle/v2");
    assert_eq!(bundle["documents"][0]["kind"], "receipt");
    let refused = |mut b: Value, edit: &dyn Fn(&mut Value)| {
        edit(&mut b);
        affix_platform::bundle::verify_litigation(&serde_json::to_vec(&b).unwrap(), &policy, roots)
            .unwrap_err()
            .to_string()
    };
    // Passed off as an addendum both parties signed: refused.
    let e = refused(bundle.clone(), &|b| {
        b["documents"][0]["kind"] = json!("extension");
    });
    assert!(e.contains("not signed by the note's parties"), "{e}");
    // Documents in a v1 bundle: refused.
    let e = refused(bundle.clone(), &|b| {
        b["format"] = json!("affix-litigation-bundle/v1");
    });
    assert!(e.contains("v1 bundle carries no documents"), "{e}");
    // The loan note's own bundle passed off as the receipt: not effective text of a receipt.
    let e = refused(bundle.clone(), &|b| {
        b["documents"][0]["bundle"] = b["contract"].clone();
    });
    assert!(e.contains("document 0"), "{e}");
    p.stop().await;
}

/// A company lends (its note sealed by the seal holder): the company's acknowledgement is
/// sealed too, so the litigation bundle matches it to the note's lender by the seal's key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_company_lender_acknowledges_with_its_seal() {
    let Some(p) = TestPlatform::start(Db::Sqlite).await else {
        return;
    };
    let (_, admin) = p.tenant("Acme Lending Co., Ltd.").await;
    let holder = p.person(&admin, "张三", "zhang@example.com").await;
    let borrower = p.person(&admin, "李四", "li@example.com").await;
    let (s, v) = p
        .call(
            reqwest::Method::PUT,
            "/v1/organization",
            Some(&admin),
            Some(json!({"credit_code": "91350100M000100Y43", "seal_holder": holder})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let today = affix_identity::Date::from_unix_ms_china(SystemClock.now_ms());
    let mut body = note(&holder, &borrower, "12.00");
    body["parties"] = json!([{"person": holder, "seal": true}, borrower]);
    body["fields"]["lender"] = json!("Acme Lending Co., Ltd.");
    body["fields"]["start_date"] = json!(today.to_string());
    let (s, created) = p.post("/v1/contracts", &admin, body).await;
    assert_eq!(s, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let (_, sent) = p
        .post(&format!("/v1/contracts/{id}/send"), &admin, json!({}))
        .await;
    let sent = p.received(&admin, sent).await;
    let token = |v: &Value, n: usize| v["invites"][n]["token"].as_str().unwrap().to_owned();
    let holder_device = Device::new();
    party_signs(&p, &token(&sent, 0), "zhang@example.com", &holder_device).await;
    party_signs(&p, &token(&sent, 1), "li@example.com", &Device::new()).await;
    let (s, v) = p
        .post(
            &format!("/v1/loans/{id}/repayments"),
            &admin,
            json!({"amount": "100.00", "paid_on": today.to_string()}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, receipt) = p
        .post(
            &format!("/v1/loans/{id}/repayments/1/receipt"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(s, 201, "{receipt}");
    let receipt_id = receipt["id"].as_str().unwrap().to_owned();
    let (_, sent) = p
        .post(
            &format!("/v1/contracts/{receipt_id}/send"),
            &admin,
            json!({}),
        )
        .await;
    let sent = p.received(&admin, sent).await;
    party_signs(&p, &token(&sent, 0), "zhang@example.com", &holder_device).await;
    for _ in 0..100 {
        p.loans_wake().await;
        let loan = p.get(&format!("/v1/loans/{id}"), &admin).await.1;
        if loan["repayments"][0]["status"] == "confirmed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let bytes = loan_bundle(&p, &admin, &id).await;
    let (policy, root) = anchors(&p, &admin).await;
    let verified =
        affix_platform::bundle::verify_litigation(&bytes, &policy, std::slice::from_ref(&root))
            .unwrap();
    assert_eq!((verified.events, verified.documents), (2, 1));
    // The receipt's signer is the organization (its certificate names the company).
    let bundle: Value = serde_json::from_slice(&bytes).unwrap();
    let subjects: Vec<&str> = verified
        .contract
        .signatures
        .iter()
        .map(|(s, _)| s.as_str())
        .collect();
    assert!(subjects[0].contains("Acme Lending"), "{subjects:?}");
    assert_eq!(bundle["documents"][0]["kind"], "receipt");
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acknowledgement_the_lender_signs_on_sqlite() {
    an_acknowledgement_the_lender_signs(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acknowledgement_the_lender_signs_on_postgres() {
    an_acknowledgement_the_lender_signs(Db::Postgres).await;
}

/// The LPR falls after an extension is proposed: the addendum's rate is checked again
/// when its last signature would make it effective, and refused (at `prepare` already,
/// before the vault signs anything); the loan keeps its schedule.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extension_is_capped_again_at_its_last_signature() {
    let Some(mut p) = TestPlatform::start(Db::Sqlite).await else {
        return;
    };
    let (_, admin) = p.tenant("IOU app").await;
    let lender = p.person(&admin, "张三", "zhang@example.com").await;
    let borrower = p.person(&admin, "李四", "li@example.com").await;
    let today = affix_identity::Date::from_unix_ms_china(SystemClock.now_ms());
    let mut body = note(&lender, &borrower, "10.00");
    body["fields"]["start_date"] = json!(today.to_string());
    let (s, created) = p.post("/v1/contracts", &admin, body).await;
    assert_eq!(s, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let (_, sent) = p
        .post(&format!("/v1/contracts/{id}/send"), &admin, json!({}))
        .await;
    let sent = p.received(&admin, sent).await;
    let token = |v: &Value, n: usize| v["invites"][n]["token"].as_str().unwrap().to_owned();
    let (lender_device, borrower_device) = (Device::new(), Device::new());
    party_signs(&p, &token(&sent, 0), "zhang@example.com", &lender_device).await;
    let v = party_signs(&p, &token(&sent, 1), "li@example.com", &borrower_device).await;
    assert_eq!(v["status"], "effective", "{v}");
    // 11.50 % is under today's cap (12.00 %: LPR 3.00 %).
    let (s, addendum) = p
        .post(
            &format!("/v1/loans/{id}/extensions"),
            &admin,
            json!({"annual_rate_percent": "11.50", "term_months": 18, "repayment_method": "equal_principal"}),
        )
        .await;
    assert_eq!(s, 201, "{addendum}");
    let addendum_id = addendum["id"].as_str().unwrap().to_owned();
    let (s, sent) = p
        .post(
            &format!("/v1/contracts/{addendum_id}/send"),
            &admin,
            json!({}),
        )
        .await;
    let sent = p.received(&admin, sent).await;
    assert_eq!(s, 200, "{sent}");
    party_signs(&p, &token(&sent, 0), "zhang@example.com", &lender_device).await;
    party_ready(&p, &token(&sent, 1), "li@example.com", &borrower_device).await;

    // Today's LPR is published at 2.60 % (cap 10.40 %); the operator updates the table.
    p.halt();
    let path = p.config.lpr_table.clone().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let (entries, through) = text.rsplit_once("through").unwrap();
    std::fs::write(&path, format!("{entries}{today} 2.60\nthrough{through}")).unwrap();
    p.resume().await;

    let (s, v) = p
        .post("/v1/invite/sign/prepare", &token(&sent, 1), json!({}))
        .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["type"], "https://affix.dev/problems/rate-above-legal-cap");
    assert!(v["detail"].as_str().unwrap().contains("10.40"), "{v}");
    let (_, c) = p.get(&format!("/v1/contracts/{addendum_id}"), &admin).await;
    assert_eq!(c["status"], "partially_signed", "{c}");
    p.loans_wake().await;
    let (_, loan) = p.get(&format!("/v1/loans/{id}"), &admin).await;
    assert_eq!(loan["events"], 0, "{loan}");
    assert_eq!(loan["instalments"].as_array().unwrap().len(), 12, "{loan}");
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extension_both_sign_on_sqlite() {
    an_extension_both_sign(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extension_both_sign_on_postgres() {
    an_extension_both_sign(Db::Postgres).await;
}
