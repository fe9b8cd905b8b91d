//! The CA, the TSA and CMS signatures from the command line and over HTTP, every
//! artefact checked by openssl: `verify -x509_strict`, `verify -crl_check`, `ocsp`,
//! `ts -verify`, `cms -verify`.

#![allow(clippy::unwrap_used, missing_docs, clippy::zombie_processes)]

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

fn affix(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_affix"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn ok(args: &[&str], dir: &Path) -> String {
    let out = affix(args, dir);
    assert!(
        out.status.success(),
        "affix {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn openssl(args: &[&str], dir: &Path) -> Output {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl")
}

fn openssl_ok(args: &[&str], dir: &Path) -> String {
    let out = openssl(args, dir);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "openssl {args:?}: {text}");
    text
}

fn port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(args: &[&str], dir: &Path, port: u16) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_affix"))
        .args(args)
        .current_dir(dir)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Server(child);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("server on {port} did not start");
}

fn post(url: &str, content_type: &str, body: Vec<u8>) -> (u16, Vec<u8>) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let r = reqwest::Client::new()
            .post(url)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
    })
}

#[test]
fn ca_tsa_and_cms_signatures_validate_in_openssl() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let (ca_port, tsa_port) = (port(), port());
    let ocsp_url = format!("http://127.0.0.1:{ca_port}/ocsp");
    ok(
        &[
            "ca",
            "init",
            "--dir",
            "ca",
            "--name",
            "Affix 测试",
            "--ocsp-url",
            &ocsp_url,
        ],
        d,
    );
    std::fs::write(
        d.join("chain.pem"),
        [
            std::fs::read(d.join("ca/root.pem")).unwrap(),
            std::fs::read(d.join("ca/issuing.pem")).unwrap(),
        ]
        .concat(),
    )
    .unwrap();

    // A person (new key), an organization (from an openssl CSR), both verify strictly.
    ok(
        &[
            "ca",
            "issue",
            "--dir",
            "ca",
            "--name",
            "张三",
            "--organization",
            "北京某某科技有限公司",
            "--key-out",
            "zs.key",
            "--out",
            "zs.pem",
        ],
        d,
    );
    openssl_ok(
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "org.key",
            "-subj",
            "/CN=ignored",
            "-out",
            "org.csr",
        ],
        d,
    );
    ok(
        &[
            "ca",
            "issue",
            "--dir",
            "ca",
            "--profile",
            "organization",
            "--name",
            "某某供应链管理有限公司",
            "--credit-code",
            "91350100M000100Y43",
            "--csr",
            "org.csr",
            "--out",
            "org.pem",
        ],
        d,
    );
    for cert in ["zs.pem", "org.pem"] {
        let out = openssl_ok(
            &[
                "verify",
                "-x509_strict",
                "-CAfile",
                "ca/root.pem",
                "-untrusted",
                "ca/issuing.pem",
                cert,
            ],
            d,
        );
        assert!(out.contains(": OK"), "{out}");
    }
    let subject = openssl_ok(
        &[
            "x509", "-in", "org.pem", "-noout", "-subject", "-nameopt", "utf8",
        ],
        d,
    );
    assert!(
        subject.contains("某某供应链管理有限公司") && subject.contains("NTRCN-91350100M000100Y43"),
        "{subject}"
    );
    // Bad input: a wrong credit code, a garbage CSR.
    let out = affix(
        &[
            "ca",
            "issue",
            "--dir",
            "ca",
            "--profile",
            "organization",
            "--name",
            "X",
            "--credit-code",
            "91350100M000100Y44",
            "--key-out",
            "x.key",
            "--out",
            "x.pem",
        ],
        d,
    );
    assert_eq!(out.status.code(), Some(1));
    std::fs::write(d.join("bad.csr"), b"\x30\x03\x02\x01\x01").unwrap();
    let out = affix(
        &[
            "ca", "issue", "--dir", "ca", "--name", "Y", "--csr", "bad.csr", "--out", "y.pem",
        ],
        d,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(!d.join("y.pem").exists());

    // The TSA over HTTP: openssl's requests, verified by openssl.
    ok(&["tsa", "init", "--dir", "tsa", "--ca", "ca"], d);
    let tsa_url = format!("http://127.0.0.1:{tsa_port}");
    let _tsa = serve(
        &[
            "tsa",
            "serve",
            "--dir",
            "tsa",
            "--listen",
            &format!("127.0.0.1:{tsa_port}"),
        ],
        d,
        tsa_port,
    );
    std::fs::write(d.join("doc.txt"), "借条：今借到人民币壹万元整。\n").unwrap();
    openssl_ok(
        &[
            "ts", "-query", "-data", "doc.txt", "-sha256", "-cert", "-out", "req.tsq",
        ],
        d,
    );
    let (code, reply) = post(
        &tsa_url,
        "application/timestamp-query",
        std::fs::read(d.join("req.tsq")).unwrap(),
    );
    assert_eq!(code, 200);
    std::fs::write(d.join("resp.tsr"), reply).unwrap();
    let out = openssl_ok(
        &[
            "ts",
            "-verify",
            "-in",
            "resp.tsr",
            "-queryfile",
            "req.tsq",
            "-CAfile",
            "ca/root.pem",
            "-untrusted",
            "tsa/chain.pem",
        ],
        d,
    );
    assert!(out.contains("Verification: OK"), "{out}");
    // Our client, verified by openssl too; serials increase.
    ok(
        &[
            "timestamp",
            "doc.txt",
            "--tsa",
            &tsa_url,
            "--ca",
            "ca/issuing.pem",
        ],
        d,
    );
    let out = openssl_ok(
        &[
            "ts",
            "-verify",
            "-data",
            "doc.txt",
            "-in",
            "doc.txt.tsr",
            "-token_in",
            "-CAfile",
            "ca/root.pem",
            "-untrusted",
            "tsa/chain.pem",
        ],
        d,
    );
    assert!(out.contains("Verification: OK"), "{out}");
    // Bad input: not a time-stamp query → an RFC 3161 rejection; wrong type → 415.
    let (code, reply) = post(&tsa_url, "application/timestamp-query", b"garbage".to_vec());
    assert_eq!(code, 200);
    std::fs::write(d.join("rej.tsr"), reply).unwrap();
    let out = openssl_ok(&["ts", "-reply", "-in", "rej.tsr", "-text"], d);
    assert!(out.contains("Rejected"), "{out}");
    let (code, body) = post(&tsa_url, "text/plain", b"x".to_vec());
    assert_eq!(code, 415);
    assert!(String::from_utf8_lossy(&body).contains("wrong-content-type"));
    let (code, _) = post(&tsa_url, "application/timestamp-query", vec![0u8; 100_000]);
    assert_eq!(code, 413);

    // CMS: a time-stamped detached signature that openssl verifies, and ours.
    ok(
        &[
            "sign",
            "--cms",
            "doc.txt",
            "--cert",
            "zs.pem",
            "--key",
            "zs.key",
            "--chain",
            "ca/issuing.pem",
            "--tsa",
            &tsa_url,
            "--tsa-ca",
            "ca/issuing.pem",
        ],
        d,
    );
    let out = openssl_ok(
        &[
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            "doc.txt.p7s",
            "-content",
            "doc.txt",
            "-CAfile",
            "ca/root.pem",
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ],
        d,
    );
    assert!(out.contains("Verification successful"), "{out}");
    let printed = openssl_ok(
        &[
            "cms",
            "-cmsout",
            "-print",
            "-inform",
            "DER",
            "-in",
            "doc.txt.p7s",
        ],
        d,
    );
    assert!(
        printed.contains("id-smime-aa-timeStampToken"),
        "no CAdES-T token"
    );
    let report = ok(
        &[
            "verify",
            "--cms",
            "doc.txt.p7s",
            "doc.txt",
            "--ca",
            "ca/root.pem",
            "--ca",
            "ca/issuing.pem",
        ],
        d,
    );
    assert!(report.starts_with("OK: signed by CN=张三"), "{report}");
    assert!(report.contains("time-stamped (verified token)"), "{report}");
    // And ours on openssl's signature.
    openssl_ok(
        &[
            "cms",
            "-sign",
            "-binary",
            "-in",
            "doc.txt",
            "-signer",
            "zs.pem",
            "-inkey",
            "zs.key",
            "-certfile",
            "ca/issuing.pem",
            "-outform",
            "DER",
            "-out",
            "ossl.p7s",
            "-md",
            "sha256",
            "-cades",
        ],
        d,
    );
    ok(
        &[
            "verify",
            "--cms",
            "ossl.p7s",
            "doc.txt",
            "--ca",
            "ca/root.pem",
        ],
        d,
    );
    // A changed document fails with exit code 3.
    std::fs::write(d.join("doc2.txt"), "借条：今借到人民币壹拾万元整。\n").unwrap();
    assert_eq!(
        affix(
            &[
                "verify",
                "--cms",
                "doc.txt.p7s",
                "doc2.txt",
                "--ca",
                "ca/root.pem",
                "--ca",
                "ca/issuing.pem"
            ],
            d
        )
        .status
        .code(),
        Some(3)
    );

    // OCSP and CRL: good, then revoked.
    let _ca = serve(
        &[
            "ca",
            "serve",
            "--dir",
            "ca",
            "--listen",
            &format!("127.0.0.1:{ca_port}"),
        ],
        d,
        ca_port,
    );
    let out = openssl_ok(
        &[
            "ocsp",
            "-issuer",
            "ca/issuing.pem",
            "-cert",
            "zs.pem",
            "-url",
            &ocsp_url,
            "-CAfile",
            "ca/root.pem",
        ],
        d,
    );
    assert!(
        out.contains("Response verify OK") && out.contains("zs.pem: good"),
        "{out}"
    );
    let serial = openssl_ok(&["x509", "-in", "zs.pem", "-noout", "-serial"], d);
    let serial = serial.trim().trim_start_matches("serial=").to_owned();
    // Revocation times have one-second resolution: revoke in a later second than the
    // signature's time-stamp, so the two can be ordered.
    std::thread::sleep(Duration::from_millis(1100));
    ok(
        &[
            "ca",
            "revoke",
            "--dir",
            "ca",
            &serial,
            "--reason",
            "keyCompromise",
        ],
        d,
    );
    let out = openssl_ok(
        &[
            "ocsp",
            "-issuer",
            "ca/issuing.pem",
            "-cert",
            "zs.pem",
            "-url",
            &ocsp_url,
            "-CAfile",
            "ca/root.pem",
        ],
        d,
    );
    assert!(out.contains("zs.pem: revoked"), "{out}");
    openssl_ok(
        &[
            "crl",
            "-inform",
            "DER",
            "-in",
            "ca/crl.der",
            "-out",
            "crl.pem",
        ],
        d,
    );
    let out = openssl(
        &[
            "verify",
            "-crl_check",
            "-CAfile",
            "chain.pem",
            "-CRLfile",
            "crl.pem",
            "zs.pem",
        ],
        d,
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("revoked")
            || String::from_utf8_lossy(&out.stderr).contains("revoked")
    );
    let out = openssl_ok(
        &[
            "verify",
            "-crl_check",
            "-CAfile",
            "chain.pem",
            "-CRLfile",
            "crl.pem",
            "org.pem",
        ],
        d,
    );
    assert!(out.contains(": OK"), "{out}");
    assert_eq!(
        affix(&["ca", "revoke", "--dir", "ca", &serial], d)
            .status
            .code(),
        Some(1)
    );
    // A signature made before the revocation stays valid (its time-stamp proves when it
    // was made); one without a time-stamp, checked now, does not.
    let report = ok(
        &[
            "verify",
            "--cms",
            "doc.txt.p7s",
            "doc.txt",
            "--ca",
            "ca/root.pem",
            "--ca",
            "ca/issuing.pem",
            "--crl",
            "ca/crl.der",
        ],
        d,
    );
    assert!(report.contains("not revoked"), "{report}");
    let out = affix(
        &[
            "verify",
            "--cms",
            "ossl.p7s",
            "doc.txt",
            "--ca",
            "ca/root.pem",
            "--crl",
            "ca/crl.der",
        ],
        d,
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("revoked"));
}
