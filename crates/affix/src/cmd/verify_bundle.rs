//! `affix verify-bundle`: checks a contract's evidence bundle (or a loan's litigation
//! bundle) offline against trust anchors obtained independently of it.
//!
//! A bundle carries copies of the consortium's verifier keys and the CA root, for
//! convenience; a bundle checked against its own copies proves only that it is
//! self-consistent, since whoever forged it could have forged them too. So `--keys` and
//! `--ca` are required; `--dangerous-trust-bundle-anchors` takes the missing ones from the
//! bundle, warns, and exits with code 4, never 0.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow};

use crate::Failure;

/// Arguments of `affix verify-bundle`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The bundle (GET /v1/contracts/{id}/bundle, or /v1/loans/{id}/bundle).
    bundle: PathBuf,
    /// The consortium's verifier-keys file, as the consortium publishes it.
    #[arg(long, required_unless_present = "dangerous_trust_bundle_anchors")]
    keys: Option<PathBuf>,
    /// The CA root certificate (PEM), as the CA publishes it.
    #[arg(long, required_unless_present = "dangerous_trust_bundle_anchors")]
    ca: Option<PathBuf>,
    /// Take the verifier keys and CA root not given above from the bundle itself. This
    /// checks only that the bundle is consistent with its own anchors, which a forger
    /// controls too: the command then exits with code 4, never 0.
    #[arg(long)]
    dangerous_trust_bundle_anchors: bool,
}

fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path)
        .with_context(|| format!("reading {}", path.display()))
        .map_err(Failure::Error)
}

/// Verifies the bundle; prints what it proves.
pub(crate) fn run(args: &Args) -> Result<(), Failure> {
    let bytes = read(&args.bundle)?;
    // A litigation bundle carries the loan note's evidence bundle inside it.
    let format = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v["format"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let litigation = format == affix_bundle::LITIGATION_FORMAT_V1
        || format == affix_bundle::LITIGATION_FORMAT_V2;
    let parsed: affix_bundle::Bundle = if litigation {
        serde_json::from_slice::<affix_bundle::LitigationBundle>(&bytes)
            .map(|l| l.contract)
            .map_err(|e| Failure::Verification(anyhow!("not a litigation bundle: {e}")))?
    } else {
        serde_json::from_slice(&bytes)
            .map_err(|e| Failure::Verification(anyhow!("not an evidence bundle: {e}")))?
    };
    let mut from_bundle = Vec::new();
    let keys_text = match &args.keys {
        Some(p) => String::from_utf8(read(p)?)
            .map_err(|_| Failure::Error(anyhow!("{} is not UTF-8 text", p.display())))?,
        None => {
            from_bundle.push("verifier keys");
            parsed.ledger.verifier_keys.clone()
        }
    };
    let root_pem = match &args.ca {
        Some(p) => read(p)?,
        None => {
            from_bundle.push("CA root");
            parsed.certificates.root.clone().into_bytes()
        }
    };
    if !from_bundle.is_empty() {
        eprintln!(
            "warning: --dangerous-trust-bundle-anchors: trusting the {} inside the bundle; \
             this checks only that the bundle is consistent with itself",
            from_bundle.join(" and ")
        );
    }
    let policy = affix_note::VerifierKeysFile::parse(&keys_text)
        .and_then(|f| f.trust_policy())
        .map_err(|e| Failure::Error(anyhow!("verifier keys: {e}")))?;
    let root = {
        use der::DecodePem as _;
        // Tolerate surrounding whitespace (a PEM saved by a shell pipeline often ends
        // in a blank line).
        let trimmed = String::from_utf8_lossy(&root_pem).trim().to_owned() + "\n";
        x509_cert::Certificate::from_pem(trimmed.as_bytes())
            .map_err(|e| Failure::Error(anyhow!("CA root: {e}")))?
    };
    let verified = if litigation {
        let loan = affix_bundle::verify_litigation(&bytes, &policy, &[root])
            .map_err(|e| Failure::Verification(anyhow!("{e}")))?;
        println!(
            "litigation bundle {}: {} loan events replayed and proven, {} rule actions proven",
            if from_bundle.is_empty() {
                "verified"
            } else {
                "consistent with its own anchors only"
            },
            loan.events,
            loan.actions
        );
        println!(
            "  loan:       outstanding CNY {}{}",
            loan.outstanding_yuan,
            if loan.settled { ", settled" } else { "" }
        );
        if loan.documents > 0 {
            println!(
                "  documents:  {} signed (receipts, addenda), each verified and matched to the step it backs",
                loan.documents
            );
        }
        loan.contract
    } else {
        affix_bundle::verify(&bytes, &policy, &[root])
            .map_err(|e| Failure::Verification(anyhow!("{e}")))?
    };
    if from_bundle.is_empty() {
        println!("bundle verified: contract {}", verified.contract_id);
    } else {
        println!(
            "bundle consistent with its own anchors only (NOT verified): contract {}",
            verified.contract_id
        );
    }
    println!("  status:     {:?}", verified.status);
    println!(
        "  events:     {} (each proven in the ledger; leaves {:?})",
        verified.events, verified.leaf_indices
    );
    for (n, (subject, at)) in verified.signatures.iter().enumerate() {
        let secs = at
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let approval = match verified.approvals.get(n).cloned().flatten() {
            Some(kind) => format!("; approved by the signer's {kind} credential (re-checked)"),
            None => "; no approval in the bundle (format v1)".to_owned(),
        };
        println!("  signature:  {subject}, time-stamped at Unix {secs}{approval}");
    }
    if from_bundle.is_empty() {
        Ok(())
    } else {
        Err(Failure::UntrustedAnchors(anyhow!(
            "the {} came from the bundle itself; pass --keys and --ca with the consortium's \
             and the CA's published files",
            from_bundle.join(" and ")
        )))
    }
}
