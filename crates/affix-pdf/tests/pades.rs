//! PAdES signatures made with affix-pdf and affix-cms, checked by implementations we did
//! not write: pyHanko (its validator with strict syntax and difference analysis),
//! poppler's `pdfsig` (NSS trusting our root) and `qpdf --check`. One signer, two
//! signers one after the other (the first stays valid), tampering, and the refusals.
#![allow(clippy::unwrap_used)]

#[path = "../../affix-cms/tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::process::Command;
use std::time::SystemTime;

use affix_cms::PreparedSignature;
use affix_pdf::{Error, Pdf, SignatureField, SignatureRequest};
use lopdf::{Document, Object, Stream, dictionary};
use signature::Signer as _;
use support::Pki;

/// A one-page A4 PDF as a generator would write it (lopdf, classic cross-reference).
fn base_pdf(text: &str) -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let content = format!("BT /F1 18 Tf 72 760 Td ({text}) Tj ET");
    let content_id = doc.add_object(Stream::new(dictionary! {}, content.into_bytes()));
    let page_id = doc.add_object(dictionary! {
        "Type" => "Page",
        "Parent" => pages_id,
        "Contents" => content_id,
        "Resources" => dictionary! { "Font" => dictionary! { "F1" => font_id } },
        "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1,
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    doc.reference_table.cross_reference_type = lopdf::xref::XrefType::CrossReferenceTable;
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).unwrap();
    bytes
}

/// Signs `pdf` in a new field `name` at `rect` on page 1 with `key`/`certificate`.
fn sign(
    pdf: &[u8],
    pki: &Pki,
    key: &p256::ecdsa::SigningKey,
    certificate: &x509_cert::Certificate,
    name: &str,
    rect: [f32; 4],
) -> Vec<u8> {
    let prepared = Pdf::parse(pdf.to_vec())
        .unwrap()
        .prepare_signature(&SignatureRequest {
            field: SignatureField {
                name: name.to_owned(),
                page: 1,
                rect,
            },
            signing_time: "D:20261207120000Z".to_owned(),
            reserved_bytes: 8192,
        })
        .unwrap();
    // The earlier revision is a prefix of the new one: nothing was rewritten.
    assert!(prepared.bytes().starts_with(pdf));
    let cms = PreparedSignature::from_content_digest(
        &prepared.digest(),
        certificate,
        &pki.chain(),
        SystemTime::now(),
    )
    .unwrap()
    .without_signing_time()
    .unwrap();
    let signature: p256::ecdsa::DerSignature = key.sign(cms.to_be_signed());
    let der = cms.assemble(signature.as_bytes()).unwrap();
    // The CMS verifies over exactly the signed bytes, and carries no signing-time.
    let parsed = affix_cms::DetachedSignature::from_der(&der).unwrap();
    let verified = parsed
        .verify(
            &prepared.signed_bytes(),
            std::slice::from_ref(&pki.root),
            pki.now,
        )
        .unwrap();
    assert!(verified.signing_time().is_none());
    prepared.embed(&der).unwrap()
}

/// Whether the independent tools must be present (the full test run installs them).
fn required() -> bool {
    std::env::var("AFFIX_REQUIRE_POSTGRES").is_ok()
}

fn have(tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found || !required(),
        "{tool} is not installed (scripts/test installs it)"
    );
    found
}

fn pyhanko(pki: &Pki, pdf: &Path) -> support::ToolOutput {
    support::run(
        pki.dir.path(),
        &support::pyhanko_python(),
        &[
            &support::tool("pyhanko_validate.py"),
            pdf.to_str().unwrap(),
            pki.path("root.pem").to_str().unwrap(),
        ],
    )
}

/// `pdfsig` with an NSS database that trusts only our root.
fn pdfsig(pki: &Pki, pdf: &Path) -> String {
    let nss = pki.path("nss");
    if !nss.exists() {
        std::fs::create_dir(&nss).unwrap();
        let db = format!("sql:{}", nss.display());
        let out = support::run(
            pki.dir.path(),
            "certutil",
            &["-N", "-d", &db, "--empty-password"],
        );
        assert!(out.success, "{}", out.text());
        let out = support::run(
            pki.dir.path(),
            "certutil",
            &[
                "-A",
                "-d",
                &db,
                "-n",
                "affix-test-root",
                "-t",
                "C,C,C",
                "-i",
                pki.path("root.pem").to_str().unwrap(),
            ],
        );
        assert!(out.success, "{}", out.text());
    }
    let out = support::run(
        pki.dir.path(),
        "pdfsig",
        &[
            "-nssdir",
            &format!("sql:{}", nss.display()),
            "-no-ocsp",
            pdf.to_str().unwrap(),
        ],
    );
    // pdfsig exits 0 on invalid signatures too: its lines are the verdict.
    out.text()
}

fn qpdf_check(pki: &Pki, pdf: &Path) {
    let out = Command::new("qpdf")
        .arg("--check")
        .arg(pdf)
        .current_dir(pki.dir.path())
        .output()
        .unwrap();
    // 0: no problems; 3: warnings only.
    assert!(
        matches!(out.status.code(), Some(0)),
        "qpdf --check: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn one_signature_is_valid_and_trusted_for_pyhanko_pdfsig_and_qpdf() {
    let pki = Pki::new();
    let signed = sign(
        &base_pdf("IOU: Li Si owes Zhang San CNY 3000.00"),
        &pki,
        &pki.signer_key,
        &pki.signer,
        "party-1",
        [72.0, 100.0, 272.0, 160.0],
    );
    let path = pki.write("signed.pdf", &signed);
    assert_eq!(
        Pdf::parse(signed.clone()).unwrap().signature_fields(),
        ["party-1"]
    );

    let out = pyhanko(&pki, &path);
    assert!(out.success, "{}", out.text());
    assert!(
        out.stdout
            .contains("party-1 intact=True valid=True trusted=True coverage=ENTIRE_FILE"),
        "{}",
        out.text()
    );
    if have("pdfsig") && have("certutil") {
        let text = pdfsig(&pki, &path);
        // pdfsig's certificate verdict for the test hierarchy is "Unknown issue with
        // Certificate" even for a PDF pyHanko signs with the same certificate (checked by
        // hand), so only the signature and coverage verdicts are asserted here; pyHanko
        // above checks the trust path.
        assert!(text.contains("Signature is Valid."), "{text}");
        assert!(text.contains("Total document signed"), "{text}");
        assert!(text.contains("ETSI.CAdES.detached"), "{text}");
    }
    if have("qpdf") {
        qpdf_check(&pki, &path);
    }
}

#[test]
fn a_second_signer_keeps_the_first_signature_valid() {
    let pki = Pki::new();
    let (key_b, cert_b) = pki.p256_leaf("Li Si 李四", Pki::default_validity(pki.now));
    let first = sign(
        &base_pdf("Supply contract"),
        &pki,
        &pki.signer_key,
        &pki.signer,
        "party-1",
        [72.0, 100.0, 272.0, 160.0],
    );
    let both = sign(
        &first,
        &pki,
        &key_b,
        &cert_b,
        "party-2",
        [320.0, 100.0, 520.0, 160.0],
    );
    assert!(
        both.starts_with(&first),
        "the first revision is kept byte for byte"
    );
    let path = pki.write("both.pdf", &both);
    assert_eq!(
        Pdf::parse(both.clone()).unwrap().signature_fields(),
        ["party-1", "party-2"]
    );
    let out = pyhanko(&pki, &path);
    assert!(out.success, "{}", out.text());
    assert!(
        out.stdout
            .contains("party-1 intact=True valid=True trusted=True"),
        "{}",
        out.text()
    );
    assert!(
        out.stdout
            .contains("party-2 intact=True valid=True trusted=True coverage=ENTIRE_FILE"),
        "{}",
        out.text()
    );
    if have("pdfsig") && have("certutil") {
        let text = pdfsig(&pki, &path);
        assert_eq!(text.matches("Signature is Valid.").count(), 2, "{text}");
    }
    if have("qpdf") {
        qpdf_check(&pki, &path);
    }
    // A field name used before is refused.
    let err = Pdf::parse(both)
        .unwrap()
        .prepare_signature(&SignatureRequest {
            field: SignatureField {
                name: "party-1".into(),
                page: 1,
                rect: [0.0, 0.0, 10.0, 10.0],
            },
            signing_time: "D:20261207120000Z".into(),
            reserved_bytes: 8192,
        })
        .unwrap_err();
    assert_eq!(err, Error::FieldExists("party-1".into()));
}

#[test]
fn a_changed_byte_in_the_signed_range_is_caught() {
    let pki = Pki::new();
    let signed = sign(
        &base_pdf("IOU: CNY 3000.00"),
        &pki,
        &pki.signer_key,
        &pki.signer,
        "party-1",
        [72.0, 100.0, 272.0, 160.0],
    );
    // The amount in the page content, 3000 → 9000: same length, same offsets.
    let at = signed.windows(4).position(|w| w == b"3000").unwrap();
    let mut tampered = signed.clone();
    tampered[at] = b'9';
    let path = pki.write("tampered.pdf", &tampered);
    let out = pyhanko(&pki, &path);
    assert!(!out.success, "{}", out.text());
    assert!(out.stdout.contains("intact=False"), "{}", out.text());
    if have("pdfsig") && have("certutil") {
        let text = pdfsig(&pki, &path);
        assert!(text.contains("Digest Mismatch"), "{text}");
    }
}

#[test]
fn unusable_pdfs_and_requests_get_specific_errors() {
    assert!(matches!(
        Pdf::parse(b"not a pdf".to_vec()),
        Err(Error::Malformed(_))
    ));
    assert!(matches!(
        Pdf::parse(b"%PDF-1.7\n1 0 obj <<>> endobj\n".to_vec()),
        Err(Error::Malformed(_))
    ));
    let base = base_pdf("x");
    let mut truncated = base.clone();
    truncated.truncate(base.len() / 2);
    assert!(Pdf::parse(truncated).is_err());
    // Found by fuzzing: a cross-reference table shifted by one object number (it names
    // other objects than those at its offsets), and a file without its end marker, are
    // not signed.
    let mut shifted = base.clone();
    let at = shifted.windows(7).position(|w| w == b"xref\n0 ").unwrap();
    shifted[at + 5] = b'1';
    let refused = Pdf::parse(shifted).and_then(|pdf| {
        pdf.prepare_signature(&SignatureRequest {
            field: SignatureField {
                name: "a".into(),
                page: 1,
                rect: [0.0, 0.0, 10.0, 10.0],
            },
            signing_time: "D:20261207120000Z".into(),
            reserved_bytes: 100,
        })
    });
    assert!(matches!(refused, Err(Error::Malformed(_))), "{refused:?}");
    let mut unterminated = base.clone();
    unterminated.truncate(base.len() - 6);
    assert!(matches!(Pdf::parse(unterminated), Err(Error::Malformed(_))));
    let pdf = Pdf::parse(base.clone()).unwrap();
    assert_eq!(pdf.page_count(), 1);
    let request =
        |name: &str, page: u32, rect: [f32; 4], reserved: usize, time: &str| SignatureRequest {
            field: SignatureField {
                name: name.into(),
                page,
                rect,
            },
            signing_time: time.into(),
            reserved_bytes: reserved,
        };
    let ok_rect = [0.0, 0.0, 10.0, 10.0];
    let t = "D:20261207120000Z";
    assert_eq!(
        pdf.prepare_signature(&request("a", 2, ok_rect, 100, t)),
        Err(Error::NoSuchPage { page: 2, pages: 1 })
    );
    assert_eq!(
        pdf.prepare_signature(&request("a", 1, [10.0, 0.0, 5.0, 10.0], 100, t)),
        Err(Error::BadRectangle)
    );
    assert_eq!(
        pdf.prepare_signature(&request("a", 1, [0.0, 0.0, f32::NAN, 10.0], 100, t)),
        Err(Error::BadRectangle)
    );
    assert_eq!(
        pdf.prepare_signature(&request("a.b", 1, ok_rect, 100, t)),
        Err(Error::BadFieldName)
    );
    assert!(matches!(
        pdf.prepare_signature(&request("a", 1, ok_rect, 0, t)),
        Err(Error::BadReservation { .. })
    ));
    assert_eq!(
        pdf.prepare_signature(&request("a", 1, ok_rect, 100, "yesterday")),
        Err(Error::BadDate)
    );
    let prepared = pdf
        .prepare_signature(&request("a", 1, ok_rect, 16, t))
        .unwrap();
    assert_eq!(
        prepared.embed(&[0; 17]),
        Err(Error::SignatureTooLarge {
            size: 17,
            reserved: 16
        })
    );

    // Encrypted, and compressed cross-references, made by qpdf.
    if have("qpdf") {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain.pdf");
        std::fs::write(&plain, &base).unwrap();
        let encrypted = dir.path().join("encrypted.pdf");
        let status = Command::new("qpdf")
            .args(["--encrypt", "user", "owner", "256", "--"])
            .arg(&plain)
            .arg(&encrypted)
            .status()
            .unwrap();
        assert!(status.success());
        assert_eq!(
            Pdf::parse(std::fs::read(&encrypted).unwrap()).unwrap_err(),
            Error::Encrypted
        );
        assert_eq!(
            Pdf::check_upload(&std::fs::read(&encrypted).unwrap()).unwrap_err(),
            Error::Encrypted
        );
        let streams = dir.path().join("streams.pdf");
        let status = Command::new("qpdf")
            .args(["--object-streams=generate"])
            .arg(&plain)
            .arg(&streams)
            .status()
            .unwrap();
        assert!(status.success());
        assert_eq!(
            Pdf::parse(std::fs::read(&streams).unwrap()).unwrap_err(),
            Error::XrefStream
        );
        // A readable document all the same, as an upload.
        assert_eq!(Pdf::check_upload(&std::fs::read(&streams).unwrap()), Ok(1));
    }
}

/// The CMS of every embedded signature verifies (affix-cms) over the bytes it covers.
fn verify_all(pdf: &[u8], pki: &Pki) -> Vec<affix_pdf::EmbeddedSignature> {
    let signatures = Pdf::parse(pdf.to_vec())
        .unwrap()
        .embedded_signatures()
        .unwrap();
    for sig in &signatures {
        affix_cms::DetachedSignature::from_der(&sig.cms)
            .unwrap()
            .verify(
                &sig.signed_bytes(pdf),
                std::slice::from_ref(&pki.root),
                pki.now,
            )
            .unwrap_or_else(|e| panic!("{}: {e}", sig.field));
    }
    signatures
}

#[test]
fn our_verifier_reads_both_signatures_and_flags_a_later_content_change() {
    let pki = Pki::new();
    let (key_b, cert_b) = pki.p256_leaf("Li Si 李四", Pki::default_validity(pki.now));
    let first = sign(
        &base_pdf("IOU: CNY 3000.00"),
        &pki,
        &pki.signer_key,
        &pki.signer,
        "party-1",
        [72.0, 100.0, 272.0, 160.0],
    );
    let both = sign(
        &first,
        &pki,
        &key_b,
        &cert_b,
        "party-2",
        [320.0, 100.0, 520.0, 160.0],
    );
    let signatures = verify_all(&both, &pki);
    assert_eq!(signatures.len(), 2);
    assert_eq!(signatures[0].field, "party-1");
    assert_eq!(signatures[0].sub_filter, "ETSI.CAdES.detached");
    assert!(!signatures[0].covers_whole_file);
    assert_eq!(
        signatures[0].disallowed_change, None,
        "a second signature is allowed"
    );
    assert!(signatures[1].covers_whole_file);

    // A later revision that replaces the page's content stream: the amount changes
    // where a reader looks, while every signed byte stays as it was.
    let doc = Document::load_mem(&both).unwrap();
    let page = doc.get_pages()[&1];
    let content = doc
        .get_dictionary(page)
        .unwrap()
        .get(b"Contents")
        .unwrap()
        .as_reference()
        .unwrap();
    let size = doc.trailer.get(b"Size").unwrap().as_i64().unwrap();
    let root = doc.trailer.get(b"Root").unwrap().as_reference().unwrap();
    let prev = {
        let tail = String::from_utf8_lossy(&both[both.len() - 40..]).into_owned();
        tail.split("startxref")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned()
    };
    let stream = "BT /F1 18 Tf 72 760 Td (IOU: CNY 9000.00) Tj ET";
    let mut tampered = both.clone();
    let at = tampered.len();
    tampered.extend_from_slice(
        format!(
            "{} 0 obj\n<< /Length {} >>\nstream\n{stream}\nendstream\nendobj\n",
            content.0,
            stream.len()
        )
        .as_bytes(),
    );
    let xref = tampered.len();
    tampered.extend_from_slice(
        format!(
            "xref\n{} 1\n{at:010} 00000 n \ntrailer\n<< /Size {size} /Root {} 0 R /Prev {prev} >>\nstartxref\n{xref}\n%%EOF\n",
            content.0, root.0
        )
        .as_bytes(),
    );
    let signatures = verify_all(&tampered, &pki);
    for sig in &signatures {
        assert!(!sig.covers_whole_file);
        assert_eq!(
            sig.disallowed_change.as_deref(),
            Some(format!("object {} was changed", content.0).as_str()),
            "{}",
            sig.field
        );
    }
    // pyHanko's difference analysis agrees.
    let path = pki.write("changed-later.pdf", &tampered);
    let out = pyhanko(&pki, &path);
    assert!(!out.success, "{}", out.text());
}

#[test]
fn a_pdf_pyhanko_signed_with_our_certificate_is_verified_by_ours() {
    let pki = Pki::new();
    let source = pki.write("base.pdf", &base_pdf("Signed by pyHanko"));
    let target = pki.path("by-pyhanko.pdf");
    let out = support::run(
        pki.dir.path(),
        &support::pyhanko_python(),
        &[
            &support::tool("pyhanko_sign.py"),
            source.to_str().unwrap(),
            target.to_str().unwrap(),
            pki.path("signer.key").to_str().unwrap(),
            pki.path("signer.pem").to_str().unwrap(),
            pki.path("intermediate.pem").to_str().unwrap(),
            pki.path("root.pem").to_str().unwrap(),
        ],
    );
    assert!(out.success, "{}", out.text());
    let signed = std::fs::read(&target).unwrap();
    let signatures = verify_all(&signed, &pki);
    assert_eq!(signatures.len(), 1);
    assert_eq!(signatures[0].field, "pyhanko");
    assert_eq!(signatures[0].sub_filter, "ETSI.CAdES.detached");
    assert!(signatures[0].covers_whole_file);
    // And a second signature by us on top of pyHanko's keeps pyHanko's valid.
    let both = sign(
        &signed,
        &pki,
        &pki.signer_key,
        &pki.signer,
        "party-2",
        [320.0, 100.0, 520.0, 160.0],
    );
    let signatures = verify_all(&both, &pki);
    assert_eq!(signatures.len(), 2);
    assert_eq!(signatures[0].disallowed_change, None);
    let path = pki.write("both.pdf", &both);
    let out = pyhanko(&pki, &path);
    assert!(out.success, "{}", out.text());
}
