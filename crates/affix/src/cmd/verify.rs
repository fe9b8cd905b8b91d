//! `affix verify --cms SIGNATURE FILE`: a detached CMS signature checked against trusted
//! CA certificates; a signature time-stamp, if present, is verified too and fixes the
//! time at which the certificates must have been valid; CRLs are checked at that time.
//!
//! `affix verify FILE.pdf`: every PAdES signature of a PDF — its byte range (exactly the
//! `/Contents` hole, ending where a revision ends), its CMS over those bytes to the
//! trusted CAs (at its time-stamp's time when it has one), and what later revisions
//! changed of what it signed (only further signatures may be added).

use std::path::PathBuf;
use std::time::SystemTime;

use affix_tsp::TsaTrust;
use anyhow::{Context as _, anyhow};

use crate::Failure;
use crate::pki_files::read_certs;

/// Arguments of `affix verify`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Verify a detached CMS (RFC 5652) signature: give the signature (.p7s) and the
    /// signed file. Without it, give one PDF.
    #[arg(long)]
    cms: bool,
    /// With `--cms`: SIGNATURE FILE; otherwise: FILE.pdf.
    #[arg(required = true, num_args = 1..=2)]
    paths: Vec<PathBuf>,
    /// Trusted CA certificate(s): the root, and intermediates.
    #[arg(long = "ca", required = true)]
    ca: Vec<PathBuf>,
    /// CRL(s) to check the signer's certificate against (DER or PEM).
    #[arg(long = "crl")]
    crls: Vec<PathBuf>,
}

fn read(path: &std::path::Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path)
        .with_context(|| format!("reading {}", path.display()))
        .map_err(Failure::Error)
}

/// Verifies and prints the report.
pub(crate) fn run(args: &Args) -> Result<(), Failure> {
    let trust = read_certs(&args.ca).map_err(Failure::Error)?;
    if trust.is_empty() {
        return Err(Failure::Error(anyhow!(
            "give the trusted CA certificates with --ca"
        )));
    }
    let (sig, content) = match (args.cms, args.paths.as_slice()) {
        (true, [signature, file]) => (read(signature)?, read(file)?),
        (false, [pdf]) => return verify_pdf(&read(pdf)?, &trust),
        (true, _) => {
            return Err(Failure::Error(anyhow!(
                "--cms takes two files: the signature and the signed file"
            )));
        }
        (false, _) => {
            return Err(Failure::Error(anyhow!(
                "give one PDF, or --cms SIGNATURE FILE"
            )));
        }
    };
    let parsed = affix_cms::DetachedSignature::from_der(&sig)
        .map_err(|e| Failure::Verification(anyhow!("not a detached CMS signature: {e}")))?;
    let timestamped = parsed
        .embedded_timestamp()
        .map_err(|e| Failure::Verification(e.into()))?
        .is_some();
    // The verifier's clock, for a signature without a time-stamp.
    let now = SystemTime::now();
    let verified = if timestamped {
        affix_cms::verify_detached_timestamped(&sig, &content, &trust, &TsaTrust::IssuedBy(&trust))
    } else {
        affix_cms::verify_detached(&sig, &content, &trust, now)
    }
    .map_err(|e| Failure::Verification(e.into()))?;
    let validation_time = match verified.validation_time() {
        affix_cms::ValidationTime::SignatureTimestamp(t) | affix_cms::ValidationTime::Given(t) => t,
        _ => now,
    };
    let signer_serial = verified
        .signer_certificate()
        .tbs_certificate()
        .serial_number()
        .clone();
    let signer_issuer = verified
        .signer_certificate()
        .tbs_certificate()
        .issuer()
        .clone();
    for path in &args.crls {
        let bytes = read(path)?;
        let der = match x509_cert::der::pem::decode_vec(&bytes) {
            Ok((_, der)) => der,
            Err(_) => bytes,
        };
        let issuer = verified
            .chain()
            .iter()
            .chain(&trust)
            .find(|c| *c.tbs_certificate().subject() == signer_issuer)
            .ok_or_else(|| {
                Failure::Error(anyhow!(
                    "the signer's issuer is not known to check {}",
                    path.display()
                ))
            })?;
        let crl = affix_pki::crl::VerifiedCrl::from_der(&der, issuer)
            .map_err(|e| Failure::Verification(anyhow!("{}: {e}", path.display())))?;
        if let Some(revoked_at) = crl.revocation_time(&signer_serial)
            && revoked_at.to_system_time() <= validation_time
        {
            return Err(Failure::Verification(anyhow!(
                "the signer's certificate was revoked at {} (before the signature's time)",
                rfc3339(revoked_at.to_system_time())
            )));
        }
    }
    let mut report = format!("OK: signed by {}\n", verified.signer_subject());
    if !args.crls.is_empty() {
        report.push_str("revocation: not revoked according to the given CRL(s)\n");
    }
    if let Some(t) = verified.signing_time() {
        report.push_str(&format!(
            "signing time (claimed by the signer) {}\n",
            rfc3339(t)
        ));
    }
    match verified.validation_time() {
        affix_cms::ValidationTime::SignatureTimestamp(t) => {
            report.push_str(&format!("time-stamped (verified token) {}\n", rfc3339(t)));
        }
        _ => report.push_str("no signature time-stamp\n"),
    }
    report.push_str(&format!(
        "chain: {} certificate(s); signing-certificate-v2 bound: {}\n",
        verified.chain().len(),
        verified.signing_certificate_bound()
    ));
    print!("{report}");
    Ok(())
}

/// Every signature of a PDF; prints one block per signature and fails if any does not
/// hold or the file has none.
fn verify_pdf(bytes: &[u8], trust: &[x509_cert::Certificate]) -> Result<(), Failure> {
    let pdf =
        affix_pdf::Pdf::parse(bytes.to_vec()).map_err(|e| Failure::Verification(anyhow!("{e}")))?;
    let signatures = pdf
        .embedded_signatures()
        .map_err(|e| Failure::Verification(anyhow!("{e}")))?;
    if signatures.is_empty() {
        return Err(Failure::Verification(anyhow!("the PDF has no signature")));
    }
    let now = SystemTime::now();
    let mut faults = Vec::new();
    for sig in &signatures {
        let signed = sig.signed_bytes(bytes);
        let timestamped = affix_cms::DetachedSignature::from_der(&sig.cms)
            .and_then(|parsed| parsed.embedded_timestamp())
            .is_ok_and(|t| t.is_some());
        let verified = if timestamped {
            affix_cms::verify_detached_timestamped(
                &sig.cms,
                &signed,
                trust,
                &TsaTrust::IssuedBy(trust),
            )
        } else {
            affix_cms::verify_detached(&sig.cms, &signed, trust, now)
        };
        println!("signature {:?} ({})", sig.field, sig.sub_filter);
        match &verified {
            Ok(v) => {
                println!("  OK: signed by {}", v.signer_subject());
                match v.validation_time() {
                    affix_cms::ValidationTime::SignatureTimestamp(t) => {
                        println!("  time-stamped (verified token) {}", rfc3339(t));
                    }
                    _ => println!("  no signature time-stamp: certificates checked now"),
                }
            }
            Err(e) => {
                println!("  FAILED: {e}");
                faults.push(format!("{}: {e}", sig.field));
            }
        }
        if sig.covers_whole_file {
            println!("  covers the whole file");
        } else {
            println!(
                "  covers the first {} bytes; later revisions add to it",
                sig.byte_range[2] + sig.byte_range[3]
            );
        }
        if let Some(change) = &sig.disallowed_change {
            println!("  FAILED: after this signature, {change}");
            faults.push(format!("{}: after it, {change}", sig.field));
        }
    }
    if faults.is_empty() {
        Ok(())
    } else {
        Err(Failure::Verification(anyhow!(
            "{} of {} signatures do not hold: {}",
            faults.len(),
            signatures.len(),
            faults.join("; ")
        )))
    }
}

fn rfc3339(t: SystemTime) -> String {
    let ms = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0));
    affix_evidence::UnixMillis(ms).to_rfc3339()
}
