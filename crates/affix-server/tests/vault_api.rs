//! The vault's HTTP API inside the platform server (`/v1/vault`): a tenant's API key
//! names the tenant; an owner's device authorizes every signature; another tenant's key
//! finds nothing; a regulator cannot use it.
#![allow(clippy::unwrap_used)]

mod common;

use affix_server::vault::AuthorizationJson;
use affix_vault::{DeviceKey, KeyId, Payload, TenantId, UnboundStatement};
use common::{Db, TestPlatform};
use ed25519_dalek::Verifier as _;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_vault_api_is_served_by_the_platform_under_tenant_keys() {
    let p = TestPlatform::start(Db::Sqlite).await.unwrap();
    let (tenant, admin) = p.tenant("Acme").await;
    let (_, admin_b) = p.tenant("Other").await;
    let (_, reg) = p
        .post(
            "/v1/api-keys",
            &admin,
            json!({"role": "regulator", "label": "r"}),
        )
        .await;
    let regulator = reg["api_key"].as_str().unwrap().to_owned();

    let owner = affix_vault::OwnerId::random().unwrap().to_string();
    let mut device = DeviceKey::generate().unwrap();
    let (s, v) = p
        .post(
            &format!("/v1/vault/owners/{owner}/credentials"),
            &admin,
            json!({"kind": "ed25519", "public_key": hex::encode(device.public_key())}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    device.credential =
        Some(affix_vault::CredentialId::parse(v["credential"].as_str().unwrap()).unwrap());
    let (s, key) = p
        .post(
            "/v1/vault/keys",
            &admin,
            json!({"owner": owner, "algorithm": "ed25519"}),
        )
        .await;
    assert_eq!(s, 201, "{key}");
    let key_id = key["id"].as_str().unwrap().to_owned();
    let public = hex::decode(key["public_key"].as_str().unwrap()).unwrap();

    let message = b"pay 100 to Li Si".to_vec();
    let payload = Payload::Message(message.clone());
    let now = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    let statement = UnboundStatement::for_signing(
        &TenantId::new(&tenant).unwrap(),
        KeyId::parse(&key_id).unwrap(),
        &payload,
        None,
        now,
        60_000,
    )
    .unwrap();
    let authorization = device.authorize(statement);
    let body = json!({
        "message_b64": common::b64(&message),
        "authorization": AuthorizationJson::from(&authorization),
    });
    // Another tenant and a regulator get nothing.
    let (s, _) = p
        .post(
            &format!("/v1/vault/keys/{key_id}/sign"),
            &admin_b,
            body.clone(),
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = p
        .post(
            &format!("/v1/vault/keys/{key_id}/sign"),
            &regulator,
            body.clone(),
        )
        .await;
    assert_eq!(s, 403);
    let (s, _) = p.get(&format!("/v1/vault/keys/{key_id}"), &admin_b).await;
    assert_eq!(s, 404);
    // The tenant's own key signs once; the replayed authorization is refused.
    let (s, signed) = p
        .post(
            &format!("/v1/vault/keys/{key_id}/sign"),
            &admin,
            body.clone(),
        )
        .await;
    assert_eq!(s, 200, "{signed}");
    let signature = hex::decode(signed["signature"].as_str().unwrap()).unwrap();
    let vk = ed25519_dalek::VerifyingKey::try_from(public.as_slice()).unwrap();
    vk.verify(
        &message,
        &ed25519_dalek::Signature::from_slice(&signature).unwrap(),
    )
    .unwrap();
    let (s, v) = p
        .post(&format!("/v1/vault/keys/{key_id}/sign"), &admin, body)
        .await;
    assert_eq!(s, 403, "{v}");
    // The use is on the record.
    let (s, audit) = p
        .get(&format!("/v1/vault/keys/{key_id}/audit"), &admin)
        .await;
    assert_eq!(s, 200, "{audit}");
    assert!(audit.to_string().contains("vault.key.signed"), "{audit}");
    p.stop().await;
}
