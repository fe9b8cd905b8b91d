//! `affix verify FILE.pdf`: a PDF signed by pyHanko (an implementation we did not write)
//! with a certificate `affix ca` issued is verified; a changed byte fails with the
//! verification exit code (3), as does a file without signatures.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

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
        "affix {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A one-page PDF with a classic cross-reference table, offsets computed.
fn minimal_pdf() -> Vec<u8> {
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        "<< /Length 18 >>\nstream\n0 0 1 RG 72 72 m S\nendstream",
    ];
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (n, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", n + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(b"xref\n0 5\n0000000000 65535 f \n");
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
    );
    out
}

#[test]
fn verify_checks_every_signature_of_a_pdf_signed_by_pyhanko() {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/pyenv/bin/python");
    if !python.exists() {
        assert!(
            std::env::var("AFFIX_REQUIRE_POSTGRES").is_err(),
            "scripts/test installs pyHanko in target/pyenv"
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    ok(&["ca", "init", "--dir", "ca", "--name", "Affix 测试"], d);
    ok(
        &[
            "ca",
            "issue",
            "--dir",
            "ca",
            "--name",
            "张三",
            "--key-out",
            "zs.key",
            "--out",
            "zs.pem",
        ],
        d,
    );
    std::fs::write(d.join("unsigned.pdf"), minimal_pdf()).unwrap();
    let sign = Command::new(&python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../affix-pdf/tests/tools/pyhanko_sign.py"))
        .args([
            "unsigned.pdf",
            "signed.pdf",
            "zs.key",
            "zs.pem",
            "ca/issuing.pem",
            "ca/root.pem",
        ])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(
        sign.status.success(),
        "{}",
        String::from_utf8_lossy(&sign.stderr)
    );
    let trust = ["--ca", "ca/root.pem", "--ca", "ca/issuing.pem"];
    let report = ok(&[&["verify", "signed.pdf"][..], &trust[..]].concat(), d);
    assert!(
        report.contains("signature \"pyhanko\" (ETSI.CAdES.detached)"),
        "{report}"
    );
    assert!(report.contains("OK: signed by"), "{report}");
    assert!(report.contains("covers the whole file"), "{report}");

    // One changed byte inside the signed range (in the page's drawing: 72 → 73).
    let mut tampered = std::fs::read(d.join("signed.pdf")).unwrap();
    let at = tampered.windows(8).position(|w| w == b"72 72 m ").unwrap();
    tampered[at + 1] = b'3';
    std::fs::write(d.join("tampered.pdf"), tampered).unwrap();
    let out = affix(&[&["verify", "tampered.pdf"][..], &trust[..]].concat(), d);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAILED"));

    // No signature at all, and not a PDF.
    let out = affix(&[&["verify", "unsigned.pdf"][..], &trust[..]].concat(), d);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no signature"));
    std::fs::write(d.join("junk.pdf"), b"junk").unwrap();
    let out = affix(&[&["verify", "junk.pdf"][..], &trust[..]].concat(), d);
    assert_eq!(out.status.code(), Some(3));
}
