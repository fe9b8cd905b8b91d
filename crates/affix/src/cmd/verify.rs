//! `affix verify --cms`: a detached CMS signature checked against trusted CA
//! certificates; a signature time-stamp, if present, is verified too and fixes the time
//! at which the certificates must have been valid; CRLs are checked at that time.

use std::path::PathBuf;
use std::time::SystemTime;

use affix_tsp::TsaTrust;
use anyhow::{Context as _, anyhow};

use crate::Failure;
use crate::pki_files::read_certs;

/// Arguments of `affix verify`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Verify a CMS (RFC 5652) signature.
    #[arg(long, required = true)]
    cms: bool,
    /// The signature (.p7s).
    signature: PathBuf,
    /// The signed file.
    file: PathBuf,
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
    let sig = read(&args.signature)?;
    let content = read(&args.file)?;
    let trust = read_certs(&args.ca).map_err(Failure::Error)?;
    if trust.is_empty() {
        return Err(Failure::Error(anyhow!(
            "give the trusted CA certificates with --ca"
        )));
    }
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

fn rfc3339(t: SystemTime) -> String {
    let ms = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0));
    affix_evidence::UnixMillis(ms).to_rfc3339()
}
