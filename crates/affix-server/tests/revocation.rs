//! The platform's CA serves OCSP and its CRL (issue 18, item 4: long-term validation
//! needs both): a signer's certificate names `/v1/ca/ocsp` (AIA) and `/v1/ca/crl` (CRL
//! distribution point), and openssl — an implementation we did not write — gets a
//! verified "good" OCSP answer and a verified CRL from them.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Db, Device, TestPlatform, b64, party_signs, run, unb64, write};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signers_certificate_names_the_ocsp_responder_and_crl_which_openssl_accepts() {
    let Some(p) = TestPlatform::start(Db::Sqlite).await else {
        return;
    };
    let (_, admin) = p.tenant("Acme").await;
    let a = p.person(&admin, "Alice", "alice@example.com").await;
    let b = p.person(&admin, "Bob", "bob@example.com").await;
    let (s, c) = p
        .post(
            "/v1/contracts",
            &admin,
            json!({"template": "generic_contract", "fields": {"title": "Supply"},
                   "parties": [a, b], "document": b64(b"terms"), "expires_in_days": 3}),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    let id = c["id"].as_str().unwrap().to_owned();
    let (s, sent) = p
        .post(&format!("/v1/contracts/{id}/send"), &admin, json!({}))
        .await;
    assert_eq!(s, 200, "{sent}");
    let sent = p.received(&admin, sent).await;
    for (n, email) in ["alice@example.com", "bob@example.com"].iter().enumerate() {
        let token = sent["invites"][n]["token"].as_str().unwrap().to_owned();
        party_signs(&p, &token, email, &Device::new()).await;
    }
    let bundle: serde_json::Value = p
        .http
        .get(format!("{}/v1/contracts/{id}/bundle?wait=30", p.url))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cert = unb64(bundle["signatures"][0]["certificate"].as_str().unwrap());

    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let (_, ca) = p.call(reqwest::Method::GET, "/v1/ca", None, None).await;
    write(&w.join("root.pem"), ca["root"].as_str().unwrap().as_bytes());
    write(
        &w.join("issuing.pem"),
        ca["issuing"].as_str().unwrap().as_bytes(),
    );
    write(
        &w.join("chain.pem"),
        format!(
            "{}{}",
            ca["issuing"].as_str().unwrap(),
            ca["root"].as_str().unwrap()
        )
        .as_bytes(),
    );
    write(&w.join("signer.der"), &cert);

    // The certificate points at the platform's responder and CRL.
    let text = run(std::process::Command::new("openssl")
        .args(["x509", "-inform", "DER", "-noout", "-text", "-in"])
        .arg(w.join("signer.der")));
    let ocsp_url = format!("{}/v1/ca/ocsp", p.url);
    let crl_url = format!("{}/v1/ca/crl", p.url);
    assert!(text.contains(&format!("OCSP - URI:{ocsp_url}")), "{text}");
    assert!(text.contains(&format!("URI:{crl_url}")), "{text}");

    // openssl asks the responder: good, and the response verifies to the root.
    run(std::process::Command::new("openssl")
        .args(["x509", "-inform", "DER", "-in"])
        .arg(w.join("signer.der"))
        .arg("-out")
        .arg(w.join("signer.pem")));
    let out = std::process::Command::new("openssl")
        .args(["ocsp", "-issuer"])
        .arg(w.join("issuing.pem"))
        .arg("-cert")
        .arg(w.join("signer.pem"))
        .args(["-url", &ocsp_url, "-CAfile"])
        .arg(w.join("root.pem"))
        .output()
        .unwrap();
    let answer = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(answer.contains("Response verify OK"), "{answer}");
    assert!(answer.contains("signer.pem: good"), "{answer}");

    // The CRL, signed by the issuing CA, verifies and lists nothing.
    let r = p.http.get(&crl_url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/pkix-crl"
    );
    write(&w.join("crl.der"), &r.bytes().await.unwrap());
    let out = std::process::Command::new("openssl")
        .args(["crl", "-inform", "DER", "-noout", "-text", "-in"])
        .arg(w.join("crl.der"))
        .arg("-CAfile")
        .arg(w.join("chain.pem"))
        .output()
        .unwrap();
    let crl = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(crl.contains("verify OK"), "{crl}");
    assert!(crl.contains("No Revoked Certificates"), "{crl}");

    // Garbage gets an OCSP error inside a 200 (RFC 6960 §2.3); another media type 415.
    let r = p
        .http
        .post(&ocsp_url)
        .header("content-type", "application/ocsp-request")
        .body(vec![0x30, 0x03, 0x02, 0x01, 0x00])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let r = p
        .http
        .post(&ocsp_url)
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 415);
}
