//! `affix vault serve`: the HTTP API end to end, with two tenants that must never reach
//! each other's keys, and specific problem+json answers for bad input.

#![allow(clippy::unwrap_used, missing_docs, clippy::zombie_processes)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use affix_vault::{Algorithm, Payload};
use base64::Engine as _;
use serde_json::{Value, json};

fn affix() -> Command {
    Command::new(env!("CARGO_BIN_EXE_affix"))
}

fn ok(args: &[&str]) -> String {
    let out = affix().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "affix {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

struct Server {
    child: Child,
    base: String,
    http: reqwest::Client,
    root: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    async fn call(
        &self,
        method: &str,
        path: &str,
        api_key: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let mut req = match method {
            "GET" => self.http.get(url),
            _ => self.http.post(url),
        };
        if let Some(k) = api_key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let problem = resp
            .headers()
            .get("content-type")
            .is_some_and(|v| v.as_bytes() == b"application/problem+json");
        let text = resp.text().await.unwrap();
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if status >= 400 {
            assert!(problem, "{status} without problem+json: {value}");
            assert_eq!(value["status"], status, "{value}");
            assert!(
                value["type"]
                    .as_str()
                    .unwrap()
                    .starts_with("https://affix.dev/problems/")
            );
            assert!(value["title"].is_string() && value["detail"].is_string());
        }
        (status, value)
    }

    /// A device for a new owner of `tenant`, enrolled over HTTP; returns (owner, device file,
    /// credential).
    async fn enroll(&self, tenant: &str, api_key: &str, name: &str) -> (String, PathBuf, String) {
        let owner = hex::encode(rand16());
        let device = self.root.join(name);
        let out = ok(&[
            "vault",
            "device-key",
            "--tenant",
            tenant,
            "--owner",
            &owner,
            "--out",
            s(&device),
        ]);
        let public_key = out
            .lines()
            .next()
            .unwrap()
            .strip_prefix("public-key ")
            .unwrap()
            .to_owned();
        let (status, body) = self
            .call(
                "POST",
                &format!("/v1/owners/{owner}/credentials"),
                Some(api_key),
                Some(json!({"kind": "ed25519", "public_key": public_key})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        (
            owner,
            device,
            body["credential"].as_str().unwrap().to_owned(),
        )
    }

    async fn create(&self, api_key: &str, owner: &str, algorithm: &str) -> (String, Vec<u8>) {
        let (status, body) = self
            .call(
                "POST",
                "/v1/keys",
                Some(api_key),
                Some(json!({"owner": owner, "algorithm": algorithm})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        assert!(body["evidence_leaf"].is_u64());
        (
            body["id"].as_str().unwrap().to_owned(),
            hex::decode(body["public_key"].as_str().unwrap()).unwrap(),
        )
    }

    /// The device's JSON authorization (from `affix vault authorize`).
    fn authorize(&self, device: &Path, credential: &str, extra: &[&str]) -> Value {
        let mut args = vec![
            "vault",
            "authorize",
            "--device",
            s(device),
            "--credential",
            credential,
        ];
        args.extend_from_slice(extra);
        serde_json::from_str(&ok(&args)).unwrap()
    }

    fn sign_auth(
        &self,
        device: &Path,
        credential: &str,
        key: &str,
        message: &[u8],
        extra: &[&str],
    ) -> Value {
        let file = self.root.join(format!("msg-{}", hex::encode(rand16())));
        std::fs::write(&file, message).unwrap();
        let mut args = vec!["--key", key, "--in", s(&file)];
        args.extend_from_slice(extra);
        self.authorize(device, credential, &args)
    }
}

fn rand16() -> [u8; 16] {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).unwrap();
    b
}

fn start() -> (Server, String, String) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let dir = root.join("vault");
    let master = root.join("master.key");
    ok(&[
        "vault",
        "init",
        "--dir",
        s(&dir),
        "--master-file",
        s(&master),
        "--create-master",
    ]);
    let keys = root.join("api-keys");
    let key_a = ok(&["vault", "api-key", "--tenant", "alpha", "--file", s(&keys)])
        .trim()
        .to_owned();
    let key_b = ok(&["vault", "api-key", "--tenant", "beta", "--file", s(&keys)])
        .trim()
        .to_owned();
    let mut child = affix()
        .args([
            "vault",
            "serve",
            "--dir",
            s(&dir),
            "--master-file",
            s(&master),
        ])
        .args(["--listen", "127.0.0.1:0", "--api-keys", s(&keys)])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let base = loop {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "server exited");
        if let Some(url) = line.trim().strip_prefix("affix vault: ") {
            break url.to_owned();
        }
    };
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    let server = Server {
        child,
        base,
        http: reqwest::Client::new(),
        root,
        _tmp: tmp,
    };
    (server, key_a, key_b)
}

#[tokio::test]
async fn owner_signs_and_tenants_stay_apart() {
    let (srv, key_a, key_b) = start();
    let (owner_a, device_a, cred_a) = srv.enroll("alpha", &key_a, "a.device").await;

    // Every algorithm signs for its owner; the signature verifies.
    let mut ed_key = String::new();
    for alg in ["ed25519", "ecdsa-p256", "ecdsa-secp256k1", "sm2"] {
        let (id, public_key) = srv.create(&key_a, &owner_a, alg).await;
        let message = b"loan agreement v2";
        let auth = srv.sign_auth(&device_a, &cred_a, &id, message, &[]);
        let (status, body) = srv
            .call(
                "POST",
                &format!("/v1/keys/{id}/sign"),
                Some(&key_a),
                Some(json!({"message_b64": base64::engine::general_purpose::STANDARD.encode(message), "authorization": auth})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let signature = hex::decode(body["signature"].as_str().unwrap()).unwrap();
        let algorithm = Algorithm::from_name(alg).unwrap();
        affix_vault::verify(
            algorithm,
            &public_key,
            &Payload::Message(message.to_vec()),
            &signature,
        )
        .unwrap();
        assert_eq!(
            body["recovery_id"].is_u64(),
            alg == "ecdsa-secp256k1",
            "{body}"
        );
        if algorithm.signs_prehash() {
            let digest = hex::encode([9u8; 32]);
            let auth = srv.authorize(&device_a, &cred_a, &["--key", &id, "--prehash", &digest]);
            let (status, body) = srv
                .call(
                    "POST",
                    &format!("/v1/keys/{id}/sign"),
                    Some(&key_a),
                    Some(json!({"prehash_hex": digest, "authorization": auth})),
                )
                .await;
            assert_eq!(status, 200, "{body}");
            let signature = hex::decode(body["signature"].as_str().unwrap()).unwrap();
            affix_vault::verify(
                algorithm,
                &public_key,
                &Payload::Prehash([9; 32]),
                &signature,
            )
            .unwrap();
        }
        if alg == "ed25519" {
            ed_key = id;
        }
    }
    let (status, info) = srv
        .call("GET", &format!("/v1/keys/{ed_key}"), Some(&key_a), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(info["owner"], owner_a.as_str());
    assert_eq!(info["disabled"], false);

    // Tenant beta's API key reaches none of alpha's keys: 404 everywhere, as if absent.
    let (owner_b, device_b, cred_b) = srv.enroll("beta", &key_b, "b.device").await;
    let (key_of_b, _) = srv.create(&key_b, &owner_b, "ed25519").await;
    let (status, _) = srv
        .call("GET", &format!("/v1/keys/{ed_key}"), Some(&key_b), None)
        .await;
    assert_eq!(status, 404);
    let auth = srv.sign_auth(&device_a, &cred_a, &ed_key, b"x", &[]);
    let (status, _) = srv
        .call(
            "POST",
            &format!("/v1/keys/{ed_key}/sign"),
            Some(&key_b),
            Some(json!({"message_b64": "eA==", "authorization": auth})),
        )
        .await;
    assert_eq!(status, 404);
    let auth = srv.authorize(
        &device_a,
        &cred_a,
        &["--action", "disable", "--key", &ed_key],
    );
    let (status, _) = srv
        .call(
            "POST",
            &format!("/v1/keys/{ed_key}/disable"),
            Some(&key_b),
            Some(json!({"authorization": auth})),
        )
        .await;
    assert_eq!(status, 404);
    let not_after = (now_ms() + 3_600_000).to_string();
    let created = now_ms().to_string();
    let auth = srv.authorize(
        &device_a,
        &cred_a,
        &[
            "--action",
            "grant",
            "--key",
            &ed_key,
            "--grantee",
            &cred_b,
            "--not-after-ms",
            &not_after,
            "--created-ms",
            &created,
        ],
    );
    let grant_body = json!({"grantee": cred_b, "not_after_ms": not_after.parse::<u64>().unwrap(), "max_uses": 1, "purpose": "delegated", "created_ms": created.parse::<u64>().unwrap(), "authorization": auth});
    let (status, _) = srv
        .call(
            "POST",
            &format!("/v1/keys/{ed_key}/grants"),
            Some(&key_b),
            Some(grant_body.clone()),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = srv
        .call(
            "GET",
            &format!("/v1/keys/{ed_key}/audit"),
            Some(&key_b),
            None,
        )
        .await;
    assert_eq!(status, 404);
    // Alpha's owner authorizing a signature with beta's key, sent with beta's API key.
    let auth = srv.sign_auth(&device_a, &cred_a, &key_of_b, b"x", &[]);
    let (status, body) = srv
        .call(
            "POST",
            &format!("/v1/keys/{key_of_b}/sign"),
            Some(&key_b),
            Some(json!({"message_b64": "eA==", "authorization": auth})),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    // Beta's owner cannot authorize for alpha's key through alpha's API key either.
    let auth = srv.sign_auth(&device_b, &cred_b, &ed_key, b"x", &[]);
    let (status, _) = srv
        .call(
            "POST",
            &format!("/v1/keys/{ed_key}/sign"),
            Some(&key_a),
            Some(json!({"message_b64": "eA==", "authorization": auth})),
        )
        .await;
    assert_eq!(status, 403);
    // Alpha's grant to a beta credential: the grantee is not in the tenant.
    let (status, body) = srv
        .call(
            "POST",
            &format!("/v1/keys/{ed_key}/grants"),
            Some(&key_a),
            Some(grant_body),
        )
        .await;
    assert_eq!(status, 404, "{body}");

    // Owner disables; signing is then refused with 409; the audit shows it all.
    let auth = srv.authorize(
        &device_a,
        &cred_a,
        &["--action", "disable", "--key", &ed_key],
    );
    let (status, body) = srv
        .call(
            "POST",
            &format!("/v1/keys/{ed_key}/disable"),
            Some(&key_a),
            Some(json!({"authorization": auth})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let auth = srv.sign_auth(&device_a, &cred_a, &ed_key, b"x", &[]);
    let (status, body) = srv
        .call(
            "POST",
            &format!("/v1/keys/{ed_key}/sign"),
            Some(&key_a),
            Some(json!({"message_b64": "eA==", "authorization": auth})),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let (status, audit) = srv
        .call(
            "GET",
            &format!("/v1/keys/{ed_key}/audit"),
            Some(&key_a),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let kinds: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "vault.key.created",
            "vault.key.signed",
            "vault.key.disabled"
        ]
    );
}

#[tokio::test]
async fn bad_requests_get_specific_problems() {
    let (srv, key_a, _key_b) = start();
    let (owner, device, cred) = srv.enroll("alpha", &key_a, "a.device").await;
    let (id, _) = srv.create(&key_a, &owner, "ecdsa-p256").await;
    let sign_path = format!("/v1/keys/{id}/sign");

    // Authentication: missing, malformed and unknown API keys.
    for key in [None, Some("avk_00"), Some("")] {
        let (status, body) = srv.call("GET", &format!("/v1/keys/{id}"), key, None).await;
        assert_eq!(status, 401, "{body}");
    }

    // Malformed hex in the path and in the body; unknown algorithm; bad JSON.
    let (status, _) = srv
        .call("GET", "/v1/keys/not-hex", Some(&key_a), None)
        .await;
    assert_eq!(status, 400);
    let auth = srv.authorize(
        &device,
        &cred,
        &["--key", &id, "--prehash", &"ab".repeat(32)],
    );
    let (status, body) = srv
        .call(
            "POST",
            &sign_path,
            Some(&key_a),
            Some(json!({"prehash_hex": "zz", "authorization": auth})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let mut broken = auth.clone();
    broken["nonce"] = json!("xyz");
    let (status, _) = srv
        .call(
            "POST",
            &sign_path,
            Some(&key_a),
            Some(json!({"prehash_hex": "ab".repeat(32), "authorization": broken})),
        )
        .await;
    assert_eq!(status, 400);
    let (status, body) = srv
        .call(
            "POST",
            "/v1/keys",
            Some(&key_a),
            Some(json!({"owner": owner, "algorithm": "rsa-2048"})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("algorithm"),
        "{body}"
    );
    let (status, _) = srv
        .call(
            "POST",
            "/v1/keys",
            Some(&key_a),
            Some(json!({"owner": owner})),
        )
        .await;
    assert_eq!(status, 400);

    // Oversized body: 413 before any parsing.
    let big = json!({"message_b64": "A".repeat(200 * 1024), "authorization": auth});
    let (status, _) = srv.call("POST", &sign_path, Some(&key_a), Some(big)).await;
    assert_eq!(status, 413);

    // The authorization signs once; a replay is refused.
    let good = json!({"prehash_hex": "ab".repeat(32), "authorization": auth});
    let (status, body) = srv
        .call("POST", &sign_path, Some(&key_a), Some(good.clone()))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = srv.call("POST", &sign_path, Some(&key_a), Some(good)).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("replayed"),
        "{body}"
    );

    // Expired, and too long-lived, authorizations are refused.
    let expired = srv.authorize(
        &device,
        &cred,
        &[
            "--key",
            &id,
            "--prehash",
            &"cd".repeat(32),
            "--lifetime-ms",
            "1",
        ],
    );
    std::thread::sleep(std::time::Duration::from_millis(20));
    let (status, body) = srv
        .call(
            "POST",
            &sign_path,
            Some(&key_a),
            Some(json!({"prehash_hex": "cd".repeat(32), "authorization": expired})),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("expired"),
        "{body}"
    );
    let long = srv.authorize(
        &device,
        &cred,
        &[
            "--key",
            &id,
            "--prehash",
            &"cd".repeat(32),
            "--lifetime-ms",
            "3600000",
        ],
    );
    let (status, _) = srv
        .call(
            "POST",
            &sign_path,
            Some(&key_a),
            Some(json!({"prehash_hex": "cd".repeat(32), "authorization": long})),
        )
        .await;
    assert_eq!(status, 403);

    // An authorization for another digest, and a tampered signature.
    let other = srv.authorize(
        &device,
        &cred,
        &["--key", &id, "--prehash", &"ee".repeat(32)],
    );
    let (status, _) = srv
        .call(
            "POST",
            &sign_path,
            Some(&key_a),
            Some(json!({"prehash_hex": "cd".repeat(32), "authorization": other})),
        )
        .await;
    assert_eq!(status, 403);
    let mut forged = srv.authorize(
        &device,
        &cred,
        &["--key", &id, "--prehash", &"cd".repeat(32)],
    );
    let sig = forged["signature"].as_str().unwrap().to_owned();
    forged["signature"] = json!(format!(
        "{}{}",
        if sig.starts_with('0') { "1" } else { "0" },
        &sig[1..]
    ));
    let (status, _) = srv
        .call(
            "POST",
            &sign_path,
            Some(&key_a),
            Some(json!({"prehash_hex": "cd".repeat(32), "authorization": forged})),
        )
        .await;
    assert_eq!(status, 403);

    // A second credential needs the first one's authorization.
    let second = srv.root.join("second.device");
    let out = ok(&[
        "vault",
        "device-key",
        "--tenant",
        "alpha",
        "--owner",
        &owner,
        "--out",
        s(&second),
    ]);
    let public_key = out
        .lines()
        .next()
        .unwrap()
        .strip_prefix("public-key ")
        .unwrap()
        .to_owned();
    let path = format!("/v1/owners/{owner}/credentials");
    let body = json!({"kind": "ed25519", "public_key": public_key});
    let (status, _) = srv.call("POST", &path, Some(&key_a), Some(body)).await;
    assert_eq!(status, 403);
    let auth = srv.authorize(
        &device,
        &cred,
        &[
            "--action",
            "register-credential",
            "--public-key",
            &public_key,
        ],
    );
    let body = json!({"kind": "ed25519", "public_key": public_key, "authorization": auth});
    let (status, body) = srv.call("POST", &path, Some(&key_a), Some(body)).await;
    assert_eq!(status, 201, "{body}");

    // Unknown keys and endpoints are 404.
    let (status, _) = srv
        .call(
            "GET",
            &format!("/v1/keys/{}", "0".repeat(32)),
            Some(&key_a),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = srv.call("GET", "/v1/nothing", Some(&key_a), None).await;
    assert_eq!(status, 404);
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        .try_into()
        .unwrap()
}
