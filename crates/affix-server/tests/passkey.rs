//! Passkeys and browser-held keys in the signing ceremony (issue 17, item 2): the signer
//! registers a WebAuthn passkey (or a WebCrypto P-256 key) at the first identity check,
//! approves the prepared statement with an assertion whose challenge is the statement's
//! digest, and the evidence bundle carries the raw assertion and the credential's public
//! key, so that an offline verifier re-checks what the signer's authenticator approved.
//! A software authenticator makes real WebAuthn registrations and assertions.
#![allow(clippy::unwrap_used)]

mod common;

use affix_vault::affix_webauthn::soft::{SoftAuthenticator, SoftOptions};
use affix_vault::affix_webauthn::{Algorithm, Attestation};
use base64::Engine as _;
use common::{Db, TestPlatform, b64, put_image, signer_name, unb64};
use der::DecodePem as _;
use serde_json::{Value, json};
use sha2::Digest as _;

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64url(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}

/// A contract from `key` between `persons`, sent; its id and the invite tokens as the
/// parties received them.
async fn sent(p: &TestPlatform, key: &str, persons: &[&str]) -> (String, Vec<String>) {
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
    let (s, answer) = p
        .post(&format!("/v1/contracts/{id}/send"), key, json!({}))
        .await;
    assert_eq!(s, 200, "{answer}");
    let answer = p.received(key, answer).await;
    let tokens = answer["invites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["token"].as_str().unwrap().to_owned())
        .collect();
    (id, tokens)
}

/// The relying party id and origin of the platform: `localhost` and its URL.
fn rp(p: &TestPlatform) -> (String, String) {
    assert!(
        p.url.starts_with("http://localhost:"),
        "the default public URL is http://localhost:PORT: {}",
        p.url
    );
    ("localhost".to_owned(), p.url.clone())
}

/// Requests a code and the passkey options; returns (code, options).
async fn code_and_options(p: &TestPlatform, token: &str, email: &str) -> (String, Value) {
    let (s, v) = p.post("/v1/invite/identity/email", token, json!({})).await;
    assert_eq!(s, 200, "{v}");
    let (s, options) = p.get("/v1/invite/identity/passkey-options", token).await;
    assert_eq!(s, 200, "{options}");
    (p.last_code(email), options)
}

/// First identity check with a passkey made by `authenticator` from `origin`, with the
/// pending `code` and its passkey `options`.
async fn verify_with_passkey(
    p: &TestPlatform,
    token: &str,
    (email, code, options): (&str, &str, &Value),
    authenticator: &mut SoftAuthenticator,
    origin: &str,
) -> (u16, Value) {
    assert_eq!(options["rp_id"], "localhost");
    assert_eq!(options["user_name"], email);
    assert_eq!(options["user_verification"], "required");
    let challenge = unb64url(options["challenge"].as_str().unwrap());
    let registration = authenticator.register(
        options["rp_id"].as_str().unwrap(),
        origin,
        &challenge,
        Attestation::None,
    );
    p.post(
        "/v1/invite/identity/email/verify",
        token,
        json!({"code": code, "signer_name": signer_name(email), "passkey": {
            "attestation_object": b64url(&registration.attestation_object),
            "client_data_json": b64url(&registration.client_data_json)}}),
    )
    .await
}

/// View, consent and image.
async fn view_consent_image(p: &TestPlatform, token: &str) {
    let (s, v) = p.get("/v1/invite", token).await;
    assert_eq!(s, 200, "{v}");
    let digest = v["contract"]["content_digest"].as_str().unwrap().to_owned();
    for step in ["view", "consent"] {
        let (s, v) = p
            .post(
                &format!("/v1/invite/{step}"),
                token,
                json!({"content_digest": digest}),
            )
            .await;
        assert_eq!(s, 200, "{v}");
    }
    put_image(p, token).await;
}

/// Prepares and approves with the passkey; returns the sign answer.
async fn sign_with_passkey(
    p: &TestPlatform,
    token: &str,
    authenticator: &mut SoftAuthenticator,
    origin: &str,
) -> (u16, Value) {
    let (s, prepared) = p.post("/v1/invite/sign/prepare", token, json!({})).await;
    assert_eq!(s, 200, "{prepared}");
    let request = &prepared["passkey"];
    // The challenge is the statement's digest: the assertion approves exactly it.
    let statement = unb64(prepared["statement"].as_str().unwrap());
    assert_eq!(
        unb64url(request["challenge"].as_str().unwrap()),
        sha2::Sha256::digest(&statement).to_vec()
    );
    assert_eq!(
        unb64url(request["credential_id"].as_str().unwrap()),
        authenticator.credential_id()
    );
    let assertion = authenticator.assert(
        request["rp_id"].as_str().unwrap(),
        origin,
        &unb64url(request["challenge"].as_str().unwrap()),
    );
    p.post(
        "/v1/invite/sign",
        token,
        json!({"assertion": {
            "authenticator_data": b64url(&assertion.authenticator_data),
            "client_data_json": b64url(&assertion.client_data_json),
            "signature": b64url(&assertion.signature)}}),
    )
    .await
}

async fn anchors(p: &TestPlatform, key: &str) -> (affix_note::TrustPolicy, x509_cert::Certificate) {
    let keys = p
        .http
        .get(format!("{}/v1/ledger/verifier-keys", p.url))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let policy = affix_note::VerifierKeysFile::parse(&keys)
        .unwrap()
        .trust_policy()
        .unwrap();
    let (_, ca) = p.call(reqwest::Method::GET, "/v1/ca", None, None).await;
    let root = x509_cert::Certificate::from_pem(ca["root"].as_str().unwrap().as_bytes()).unwrap();
    (policy, root)
}

async fn bundle_bytes(p: &TestPlatform, key: &str, id: &str) -> Vec<u8> {
    let r = p
        .http
        .get(format!("{}/v1/contracts/{id}/bundle?wait=30", p.url))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    r.bytes().await.unwrap().to_vec()
}

/// The whole flow: a passkey signer and a browser-held-key signer; the bundle (v2)
/// verifies offline, every approval re-checked against the registered public key, and
/// any change to an approval is caught.
async fn passkey_flow(db: Db) {
    let Some(p) = TestPlatform::start(db).await else {
        return;
    };
    let (origin_rp, origin) = rp(&p);
    let (_, admin) = p.tenant("Acme").await;
    let alice = p.person(&admin, "Alice", "alice@example.com").await;
    let bob = p.person(&admin, "Bob", "bob@example.com").await;
    let (id, tokens) = sent(&p, &admin, &[&alice, &bob]).await;

    // Alice: a passkey (ES256), registered with the code; a passkey with no user
    // verification or from another origin is refused first, and nothing is stored.
    let mut alice_key = SoftAuthenticator::new(Algorithm::Es256, &[7; 32]);
    let mut wrong = SoftAuthenticator::new(Algorithm::Es256, &[8; 32]);
    let (code, options) = code_and_options(&p, &tokens[0], "alice@example.com").await;
    let check = ("alice@example.com", code.as_str(), &options);
    let (s, v) =
        verify_with_passkey(&p, &tokens[0], check, &mut wrong, "http://evil.example").await;
    assert_eq!(s, 400, "another origin: {v}");
    let mut no_uv = SoftAuthenticator::new(Algorithm::Es256, &[9; 32]);
    no_uv.options = SoftOptions {
        user_verified: false,
        ..SoftOptions::default()
    };
    let (s, v) = verify_with_passkey(&p, &tokens[0], check, &mut no_uv, &origin).await;
    assert_eq!(s, 400, "no user verification: {v}");
    let (s, v) = verify_with_passkey(&p, &tokens[0], check, &mut alice_key, &origin).await;
    assert_eq!(s, 200, "{v}");
    view_consent_image(&p, &tokens[0]).await;

    // An assertion from another origin, or over another challenge, signs nothing.
    let (s, prepared) = p
        .post("/v1/invite/sign/prepare", &tokens[0], json!({}))
        .await;
    assert_eq!(s, 200, "{prepared}");
    assert_eq!(prepared["credential_kind"], "passkey-es256");
    let request = &prepared["passkey"];
    assert_eq!(request["rp_id"], origin_rp);
    let evil = alice_key.assert(
        "localhost",
        "http://evil.example",
        &unb64url(request["challenge"].as_str().unwrap()),
    );
    let other = alice_key.assert("localhost", &origin, &[0; 32]);
    for (what, a) in [("another origin", evil), ("another challenge", other)] {
        let (s, v) = p
            .post(
                "/v1/invite/sign",
                &tokens[0],
                json!({"assertion": {
                    "authenticator_data": b64url(&a.authenticator_data),
                    "client_data_json": b64url(&a.client_data_json),
                    "signature": b64url(&a.signature)}}),
            )
            .await;
        assert!((400..500).contains(&s), "{what}: {s} {v}");
    }
    // A raw signature is not how a passkey signer approves.
    let (s, v) = p
        .post(
            "/v1/invite/sign",
            &tokens[0],
            json!({"device_signature": b64(&[0; 64])}),
        )
        .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["type"], "https://affix.dev/problems/invalid-signature");
    let (s, v) = sign_with_passkey(&p, &tokens[0], &mut alice_key, &origin).await;
    assert_eq!(s, 200, "{v}");

    // Bob: a browser-held WebCrypto P-256 key (non-extractable in a real browser; here
    // the same algorithm: ECDSA P-256 with SHA-256, signature r ‖ s).
    let bob_key = p256::ecdsa::SigningKey::from_slice(&[5; 32]).unwrap();
    let bob_public = bob_key
        .verifying_key()
        .to_sec1_point(false)
        .as_bytes()
        .to_vec();
    let (s, v) = p
        .post("/v1/invite/identity/email", &tokens[1], json!({}))
        .await;
    assert_eq!(s, 200, "{v}");
    let code = p.last_code("bob@example.com");
    let (s, v) = p
        .post(
            "/v1/invite/identity/email/verify",
            &tokens[1],
            json!({"code": code, "signer_name": signer_name("bob@example.com"),
                   "browser_public_key": b64(&bob_public)}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    view_consent_image(&p, &tokens[1]).await;
    let (s, prepared) = p
        .post("/v1/invite/sign/prepare", &tokens[1], json!({}))
        .await;
    assert_eq!(s, 200, "{prepared}");
    assert_eq!(prepared["credential_kind"], "browser-p256");
    assert!(prepared.get("passkey").is_none(), "{prepared}");
    let statement = unb64(prepared["statement"].as_str().unwrap());
    let signature: p256::ecdsa::Signature =
        p256::ecdsa::signature::Signer::sign(&bob_key, &statement);
    let (s, v) = p
        .post(
            "/v1/invite/sign",
            &tokens[1],
            json!({"device_signature": b64(&signature.to_bytes())}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["status"], "effective", "{v}");

    // The bundle, v2: each signature with its approval, re-checked offline.
    let bytes = bundle_bytes(&p, &admin, &id).await;
    let (policy, root) = anchors(&p, &admin).await;
    // `AFFIX_RECORD_BUNDLE_V2=<dir>` records the bundle and its anchors (the vectors in
    // crates/affix-bundle/tests/vectors/evidence-v2 were made so).
    if let Ok(dir) = std::env::var("AFFIX_RECORD_BUNDLE_V2") {
        let dir = std::path::Path::new(&dir);
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("evidence-v2.json"), &bytes).unwrap();
        let (_, ca) = p.call(reqwest::Method::GET, "/v1/ca", None, None).await;
        std::fs::write(dir.join("root.pem"), ca["root"].as_str().unwrap()).unwrap();
        let keys = p
            .http
            .get(format!("{}/v1/ledger/verifier-keys", p.url))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        std::fs::write(dir.join("verifier-keys"), keys).unwrap();
    }
    let verified = affix_bundle::verify(&bytes, &policy, std::slice::from_ref(&root)).unwrap();
    let mut kinds: Vec<_> = verified.approvals.iter().flatten().cloned().collect();
    kinds.sort();
    assert_eq!(kinds, ["browser-p256", "passkey-es256"]);
    let bundle: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(bundle["format"], "affix-evidence-bundle/v2");
    // The same approvals re-checked by implementations we did not write (python-fido2,
    // pyca/cryptography, asn1crypto), from the documented encodings.
    if let Some(python) = python() {
        let work = tempfile::tempdir().unwrap();
        let path = work.path().join("bundle.json");
        std::fs::write(&path, &bytes).unwrap();
        let out = recheck(&python, &path);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("passkey-es256: WebAuthn assertion verified"),
            "{text}"
        );
        assert!(
            text.contains("browser-p256: ECDSA P-256 signature over the statement verified"),
            "{text}"
        );
    }
    let alice_sig = bundle["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["approval"]["credential_kind"] == "passkey-es256")
        .unwrap()
        .clone();
    assert_eq!(alice_sig["approval"]["rp_id"], "localhost");
    assert_eq!(alice_sig["approval"]["origin"], origin.as_str());
    // The bundled COSE key is the authenticator's.
    assert_eq!(
        unb64(
            alice_sig["approval"]["credential_public_key"]
                .as_str()
                .unwrap()
        ),
        alice_key.public_key().to_cose()
    );

    // Tampering with an approval is caught: the assertion's signature, the credential
    // key (another authenticator's), the relying party.
    let n = bundle["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .position(|s| s["approval"]["credential_kind"] == "passkey-es256")
        .unwrap();
    let mut flipped = unb64(alice_sig["approval"]["authorization"].as_str().unwrap());
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    let other_key = SoftAuthenticator::new(Algorithm::Es256, &[1; 32])
        .public_key()
        .to_cose();
    let tampers: [(&str, Value); 4] = [
        ("authorization", json!(b64(&flipped))),
        ("credential_public_key", json!(b64(&other_key))),
        ("rp_id", json!("example.com")),
        ("origin", json!("http://evil.example")),
    ];
    for (field, value) in tampers {
        let mut tampered = bundle.clone();
        tampered["signatures"][n]["approval"][field] = value;
        let err = affix_bundle::verify(
            &serde_json::to_vec(&tampered).unwrap(),
            &policy,
            std::slice::from_ref(&root),
        )
        .expect_err(field);
        assert!(
            matches!(err, affix_bundle::Error::SignatureInvalid { .. }),
            "{field}: {err}"
        );
    }
    // python-fido2 catches the flipped assertion too.
    if let Some(python) = python() {
        let work = tempfile::tempdir().unwrap();
        let path = work.path().join("tampered.json");
        let mut tampered = bundle.clone();
        tampered["signatures"][n]["approval"]["authorization"] = json!(b64(&flipped));
        std::fs::write(&path, serde_json::to_vec(&tampered).unwrap()).unwrap();
        let out = recheck(&python, &path);
        assert!(
            !out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    // Dropping an approval from a v2 bundle is caught as well.
    let mut stripped = bundle.clone();
    stripped["signatures"][n]
        .as_object_mut()
        .unwrap()
        .remove("approval");
    let err = affix_bundle::verify(
        &serde_json::to_vec(&stripped).unwrap(),
        &policy,
        std::slice::from_ref(&root),
    )
    .unwrap_err();
    assert!(err.to_string().contains("no approval"), "{err}");

    // The certificate names the credential kind (certificate policy "passkey").
    let cert = unb64(alice_sig["certificate"].as_str().unwrap());
    let cert = <x509_cert::Certificate as der::Decode>::from_der(&cert).unwrap();
    let policies = cert
        .tbs_certificate()
        .extensions()
        .unwrap()
        .iter()
        .find(|e| e.extn_id == const_oid_policies())
        .unwrap();
    let expected = affix_pki_passkey_policy();
    assert!(
        policies
            .extn_value
            .as_bytes()
            .windows(expected.len())
            .any(|w| w == expected),
        "the passkey policy OID is in the certificate"
    );
}

/// The venv Python of `scripts/test` with python-fido2; `None` (skipped) only outside
/// the full test run.
fn python() -> Option<std::path::PathBuf> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/pyenv/bin/python");
    let usable = path.exists()
        && std::process::Command::new(&path)
            .args(["-c", "import fido2, asn1crypto, cryptography"])
            .status()
            .is_ok_and(|s| s.success());
    assert!(
        usable || std::env::var("AFFIX_REQUIRE_POSTGRES").is_err(),
        "scripts/test installs python-fido2 in target/pyenv"
    );
    usable.then_some(path)
}

/// Runs `tests/fido2_recheck.py` on a bundle file.
fn recheck(python: &std::path::Path, bundle: &std::path::Path) -> std::process::Output {
    std::process::Command::new(python)
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fido2_recheck.py"))
        .arg(bundle)
        .output()
        .unwrap()
}

/// id-ce-certificatePolicies.
fn const_oid_policies() -> der::asn1::ObjectIdentifier {
    der::asn1::ObjectIdentifier::new_unwrap("2.5.29.32")
}

/// The DER bytes (value only) of the passkey credential policy OID.
fn affix_pki_passkey_policy() -> Vec<u8> {
    affix_pki::oid::CP_CREDENTIAL_PASSKEY.as_bytes().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkey_and_browser_key_signers_and_an_offline_recheck_on_sqlite() {
    passkey_flow(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkey_and_browser_key_signers_and_an_offline_recheck_on_postgres() {
    passkey_flow(Db::Postgres).await;
}

/// A returning passkey signer, invited by another contract, approves with the same
/// passkey (counter advancing), and a replayed old assertion is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returning_passkey_signer_reuses_the_passkey_and_replays_fail() {
    let Some(p) = TestPlatform::start(Db::Sqlite).await else {
        return;
    };
    let (_, origin) = rp(&p);
    let (_, admin) = p.tenant("Acme").await;
    let zhang = p.person(&admin, "Zhang", "zhang@example.com").await;
    let mut key = SoftAuthenticator::new(Algorithm::EdDsa, &[3; 32]);

    let other = p.person(&admin, "Acme", "desk@acme.example").await;
    let (_, first) = sent(&p, &admin, &[&zhang, &other]).await;
    let (code, options) = code_and_options(&p, &first[0], "zhang@example.com").await;
    let check = ("zhang@example.com", code.as_str(), &options);
    let (s, v) = verify_with_passkey(&p, &first[0], check, &mut key, &origin).await;
    assert_eq!(s, 200, "{v}");
    view_consent_image(&p, &first[0]).await;
    let (s, v) = sign_with_passkey(&p, &first[0], &mut key, &origin).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["parties"][0]["status"], "signed", "{v}");

    // The second contract: the sender embeds signing in its own app and asks for a
    // short-lived signing URL (a passkey party only); it replaces the e-mailed link.
    let (second_id, emailed) = sent(&p, &admin, &[&zhang, &other]).await;
    let (s, c) = p.get(&format!("/v1/contracts/{second_id}"), &admin).await;
    assert_eq!(s, 200, "{c}");
    let party = c["parties"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/contracts/{second_id}/parties/{party}/signing-url");
    let (s, v) = p.call(reqwest::Method::POST, &path, None, None).await;
    assert_eq!(s, 401, "no key: {v}");
    let (s, url) = p.post(&path, &admin, json!({})).await;
    assert_eq!(s, 201, "{url}");
    assert!(url["expires_ms"].as_u64().unwrap() <= p.clock.now_ms() + 15 * 60 * 1000);
    let second = [url["url"]
        .as_str()
        .unwrap()
        .split_once('#')
        .unwrap()
        .1
        .to_owned()];
    let (s, v) = p.get("/v1/invite", &emailed[0]).await;
    assert!(
        (400..500).contains(&s),
        "the e-mailed link is replaced: {s} {v}"
    );
    // A party with a device key gets no signing URL.
    let wang = p.person(&admin, "Wang", "wang@example.com").await;
    let (third_id, third) = sent(&p, &admin, &[&wang, &other]).await;
    let device = common::Device::new();
    common::party_ready(&p, &third[0], "wang@example.com", &device).await;
    let (_, c) = p.get(&format!("/v1/contracts/{third_id}"), &admin).await;
    let wang_party = c["parties"][0]["id"].as_str().unwrap().to_owned();
    let (s, v) = p
        .post(
            &format!("/v1/contracts/{third_id}/parties/{wang_party}/signing-url"),
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["type"], "https://affix.dev/problems/no-passkey");

    // With the signing URL: the code alone (no new credential), the same passkey.
    let (s, v) = p
        .post("/v1/invite/identity/email", &second[0], json!({}))
        .await;
    assert_eq!(s, 200, "{v}");
    let code = p.last_code("zhang@example.com");
    let (s, v) = p
        .post(
            "/v1/invite/identity/email/verify",
            &second[0],
            json!({"code": code}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    view_consent_image(&p, &second[0]).await;
    let (s, prepared) = p
        .post("/v1/invite/sign/prepare", &second[0], json!({}))
        .await;
    assert_eq!(s, 200, "{prepared}");
    assert_eq!(prepared["credential_kind"], "passkey-ed25519");
    let challenge = unb64url(prepared["passkey"]["challenge"].as_str().unwrap());
    let assertion = key.assert("localhost", &origin, &challenge);
    let body = json!({"assertion": {
        "authenticator_data": b64url(&assertion.authenticator_data),
        "client_data_json": b64url(&assertion.client_data_json),
        "signature": b64url(&assertion.signature)}});
    // A counter that went backwards (a cloned authenticator) is refused.
    let mut clone = SoftAuthenticator::new(Algorithm::EdDsa, &[3; 32]);
    let cloned = clone.assert("localhost", &origin, &challenge);
    let (s, v) = p
        .post(
            "/v1/invite/sign",
            &second[0],
            json!({"assertion": {
                "authenticator_data": b64url(&cloned.authenticator_data),
                "client_data_json": b64url(&cloned.client_data_json),
                "signature": b64url(&cloned.signature)}}),
        )
        .await;
    assert!((400..500).contains(&s), "counter regression: {s} {v}");
    let (s, v) = p.post("/v1/invite/sign", &second[0], body.clone()).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["parties"][0]["status"], "signed", "{v}");
    // The invite is spent; the assertion cannot be used again anyway.
    let (s, _) = p.post("/v1/invite/sign", &second[0], body).await;
    assert!((400..500).contains(&s));
}

/// Passkey options need a pending code; malformed registrations and assertions get
/// specific 4xx answers and store nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkey_bad_input_is_refused() {
    let Some(p) = TestPlatform::start(Db::Sqlite).await else {
        return;
    };
    let (_, origin) = rp(&p);
    let (_, admin) = p.tenant("Acme").await;
    let li = p.person(&admin, "Li", "li@example.com").await;
    let other = p.person(&admin, "Acme", "desk@acme.example").await;
    let (_, tokens) = sent(&p, &admin, &[&li, &other]).await;
    let token = &tokens[0];
    let (s, v) = p.get("/v1/invite/identity/passkey-options", token).await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["type"], "https://affix.dev/problems/no-code");

    let (code, options) = code_and_options(&p, token, "li@example.com").await;
    for (what, passkey) in [
        (
            "not CBOR",
            json!({"attestation_object": b64url(b"\xff\xff"), "client_data_json": b64url(b"{}")}),
        ),
        (
            "not base64url",
            json!({"attestation_object": "@@@", "client_data_json": "@@@"}),
        ),
        (
            "oversized client data",
            json!({"attestation_object": b64url(&[0xa0]), "client_data_json": b64url(&vec![b' '; 5000])}),
        ),
    ] {
        let (s, v) = p
            .post(
                "/v1/invite/identity/email/verify",
                token,
                json!({"code": code, "signer_name": "Li", "passkey": passkey}),
            )
            .await;
        assert_eq!(s, 400, "{what}: {v}");
    }
    // Two credentials at once are refused.
    let (s, v) = p
        .post(
            "/v1/invite/identity/email/verify",
            token,
            json!({"code": code, "signer_name": "Li", "device_public_key": b64(&[1; 32]),
                   "browser_public_key": b64(&[4; 65])}),
        )
        .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["type"], "https://affix.dev/problems/invalid-device-key");
    // The code still works afterwards: a refused credential gives the code back.
    let mut key = SoftAuthenticator::new(Algorithm::Es256, &[2; 32]);
    let check = ("li@example.com", code.as_str(), &options);
    let (s, v) = verify_with_passkey(&p, token, check, &mut key, &origin).await;
    assert_eq!(s, 200, "{v}");
    view_consent_image(&p, token).await;
    let (s, _) = p.post("/v1/invite/sign/prepare", token, json!({})).await;
    assert_eq!(s, 200);
    for (what, assertion) in [
        (
            "malformed authenticator data",
            json!({"authenticator_data": b64url(b"x"), "client_data_json": b64url(b"{}"), "signature": b64url(&[1; 64])}),
        ),
        (
            "oversized signature",
            json!({"authenticator_data": b64url(&[0; 37]), "client_data_json": b64url(b"{}"), "signature": b64url(&[1; 300])}),
        ),
    ] {
        let (s, v) = p
            .post("/v1/invite/sign", token, json!({"assertion": assertion}))
            .await;
        assert_eq!(s, 422, "{what}: {v}");
        assert_eq!(v["type"], "https://affix.dev/problems/invalid-signature");
    }
}
