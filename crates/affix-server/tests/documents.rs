//! Uploaded PDF documents (issue 18, item 3): a PDF that cannot be read or signed —
//! malformed, encrypted, without pages — is refused with 422 `invalid-pdf` and nothing
//! is stored; a readable one (classic or compressed cross-references) is accepted.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Db, TestPlatform, b64};
use serde_json::json;

/// A one-page PDF with a classic cross-reference table.
fn minimal_pdf() -> Vec<u8> {
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ];
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (n, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", n + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(b"xref\n0 4\n0000000000 65535 f \n");
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
    );
    out
}

async fn pdfs_are_checked_on_upload(db: Db) {
    let Some(p) = TestPlatform::start(db).await else {
        return;
    };
    let (_, admin) = p.tenant("Acme").await;
    let a = p.person(&admin, "Alice", "alice@example.com").await;
    let b = p.person(&admin, "Bob", "bob@example.com").await;
    let create = |document: Vec<u8>| {
        json!({"template": "generic_contract", "fields": {"title": "Supply"},
               "parties": [a.clone(), b.clone()], "document": b64(&document),
               "document_name": "supply.pdf", "expires_in_days": 3})
    };
    let mut refused = vec![
        ("not a PDF after its header", b"%PDF-1.7\ngarbage".to_vec()),
        ("truncated", minimal_pdf()[..120].to_vec()),
    ];
    let qpdf = std::process::Command::new("qpdf")
        .arg("--version")
        .output()
        .is_ok();
    assert!(
        qpdf || std::env::var("AFFIX_REQUIRE_POSTGRES").is_err(),
        "scripts/test installs qpdf"
    );
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.pdf");
    std::fs::write(&plain, minimal_pdf()).unwrap();
    if qpdf {
        let encrypted = dir.path().join("encrypted.pdf");
        let status = std::process::Command::new("qpdf")
            .args(["--encrypt", "u", "o", "256", "--"])
            .arg(&plain)
            .arg(&encrypted)
            .status()
            .unwrap();
        assert!(status.success());
        refused.push(("encrypted", std::fs::read(&encrypted).unwrap()));
    }
    for (what, document) in refused {
        let (s, v) = p.post("/v1/contracts", &admin, create(document)).await;
        assert_eq!(s, 422, "{what}: {v}");
        assert_eq!(
            v["type"], "https://affix.dev/problems/invalid-pdf",
            "{what}: {v}"
        );
    }
    let (s, v) = p.get("/v1/contracts", &admin).await;
    assert_eq!(s, 200);
    assert_eq!(
        v["items"].as_array().map_or(0, Vec::len),
        0,
        "nothing stored: {v}"
    );

    let (s, v) = p.post("/v1/contracts", &admin, create(minimal_pdf())).await;
    assert_eq!(s, 201, "{v}");
    if qpdf {
        let streams = dir.path().join("streams.pdf");
        let status = std::process::Command::new("qpdf")
            .args(["--object-streams=generate"])
            .arg(&plain)
            .arg(&streams)
            .status()
            .unwrap();
        assert!(status.success());
        let (s, v) = p
            .post(
                "/v1/contracts",
                &admin,
                create(std::fs::read(&streams).unwrap()),
            )
            .await;
        assert_eq!(s, 201, "compressed cross-references: {v}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pdfs_are_checked_on_upload_on_sqlite() {
    pdfs_are_checked_on_upload(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pdfs_are_checked_on_upload_on_postgres() {
    pdfs_are_checked_on_upload(Db::Postgres).await;
}
