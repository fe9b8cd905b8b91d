//! The OpenAPI document checked by implementations we did not write: the document by
//! `openapi-spec-validator`, and the running API by `schemathesis` (PyPI), which
//! generates requests from the document (examples, boundary values, fuzzing) and
//! checks every answer: never a 5xx, only documented status codes and content types,
//! bodies that match the documented schemas.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Db, TestPlatform};

fn python() -> Option<std::path::PathBuf> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/pyenv/bin/python");
    let ok = std::process::Command::new(&path)
        .args(["-c", "import schemathesis, openapi_spec_validator"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(path);
    }
    assert!(
        std::env::var("AFFIX_REQUIRE_POSTGRES").is_err(),
        "scripts/test installs schemathesis and openapi-spec-validator into target/pyenv"
    );
    eprintln!("skipping: target/pyenv lacks schemathesis (scripts/test installs it)");
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_no_undocumented_answer() {
    let Some(python) = python() else {
        return;
    };
    let p = TestPlatform::start(Db::Sqlite).await.unwrap();
    let (_, admin) = p.tenant("Acme").await;
    let doc = reqwest::get(format!("{}/openapi.json", p.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let spec = p.dir.path().join("openapi.json");
    std::fs::write(&spec, &doc).unwrap();
    let out = tokio::process::Command::new(&python)
        .args([
            "-c",
            "import json, sys\nfrom openapi_spec_validator import validate\nvalidate(json.load(open(sys.argv[1])))\nprint('valid')",
        ])
        .arg(&spec)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "openapi-spec-validator: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let st = python.with_file_name("schemathesis");
    // Its cache goes to the test's temporary directory, not the source tree.
    let out = tokio::process::Command::new(st)
        .current_dir(p.dir.path())
        .arg("run")
        .arg(format!("{}/openapi.json", p.url))
        .args(["-H", &format!("Authorization: Bearer {admin}")])
        // POST /v1/ca/ocsp takes a DER body (`application/ocsp-request`) schemathesis
        // has no serializer for; openssl drives it in tests/revocation.rs (a good
        // answer, garbage, a wrong media type).
        .args(["--exclude-path", "/v1/ca/ocsp"])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance",
            "--max-examples",
            "25",
            "--phases",
            "examples,coverage,fuzzing",
            "--seed",
            "20261123",
        ])
        .output()
        .await
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "schemathesis found failures:\n{text}");
    assert!(text.contains("passed"), "{text}");
    p.stop().await;
}
