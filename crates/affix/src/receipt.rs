//! Offline receipt verification and human-readable reports.

use std::fmt::Write as _;
use std::path::Path;

use affix_evidence::EvidenceRecord;
use affix_note::{Origin, Receipt, TrustPolicy, VerifiedReceipt, VerifierKey};
use anyhow::{Context as _, anyhow};

use crate::Failure;

/// Largest receipt file read.
const MAX_RECEIPT_FILE_BYTES: u64 = 1024 * 1024;

/// Largest leaf or document file read for verification.
const MAX_INPUT_BYTES: u64 = 1 << 30;

fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, Failure> {
    let meta = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))
        .map_err(Failure::Error)?;
    if meta.len() > limit {
        return Err(Failure::Error(anyhow!(
            "{} is {} bytes, above the limit of {limit}",
            path.display(),
            meta.len()
        )));
    }
    std::fs::read(path)
        .with_context(|| format!("reading {}", path.display()))
        .map_err(Failure::Error)
}

/// Verifies a receipt file and returns a report. Verification failures (malformed
/// receipt, wrong signatures, bad proof, document mismatch) are [`Failure::Verification`].
pub(crate) fn verify_receipt_file(
    proof_file: &Path,
    verifiers: Vec<VerifierKey>,
    quorum: Option<usize>,
    origin: Option<&str>,
    leaf: Option<&Path>,
    document: Option<&Path>,
) -> Result<String, Failure> {
    let bytes = read_bounded(proof_file, MAX_RECEIPT_FILE_BYTES)?;
    let receipt = Receipt::parse(&bytes)
        .with_context(|| format!("{} is not a valid receipt", proof_file.display()))
        .map_err(Failure::Verification)?;
    let origin = match origin {
        Some(o) => Origin::new(o).context("invalid --origin")?,
        None => receipt.checkpoint.unverified_checkpoint().origin.clone(),
    };
    let quorum = quorum.unwrap_or(verifiers.len());
    let key_count = verifiers.len();
    let policy = TrustPolicy::new(origin, verifiers, quorum).context("invalid trust policy")?;
    let verified = match leaf {
        Some(path) => {
            let entry = read_bounded(path, MAX_INPUT_BYTES)?;
            receipt.verify_entry(&policy, &entry)
        }
        None => receipt.verify(&policy),
    }
    .map_err(|e| Failure::Verification(e.into()))?;
    let mut report = describe(&verified, key_count);
    if let Some(path) = document {
        let content = read_bounded(path, MAX_INPUT_BYTES)?;
        let record = EvidenceRecord::decode(verified.entry()).map_err(|e| {
            Failure::Verification(anyhow!("the logged entry is not an evidence record: {e}"))
        })?;
        if !record.covers(&content, None) {
            return Err(Failure::Verification(anyhow!(
                "{} is not the document this record is about (no matching digest)",
                path.display()
            )));
        }
        let _ = writeln!(
            report,
            "document   {} matches the record's digest",
            path.display()
        );
    }
    Ok(report)
}

/// A plain-text account of a verified receipt and the record it proves.
pub(crate) fn describe(verified: &VerifiedReceipt, key_count: usize) -> String {
    let cp = verified.checkpoint();
    let mut out = String::new();
    let signers: Vec<String> = cp.signers().iter().map(|k| k.name().to_string()).collect();
    let _ = writeln!(
        out,
        "OK: entry {} is in log {} (tree size {}, {} hash), signed by {} of {} trusted keys: {}",
        verified.index(),
        cp.checkpoint().origin,
        cp.size(),
        cp.suite().name(),
        signers.len(),
        key_count,
        signers.join(", ")
    );
    let _ = writeln!(out, "root       {}", cp.root());
    let _ = writeln!(out, "leaf hash  {}", verified.leaf_hash());
    match EvidenceRecord::decode(verified.entry()) {
        Ok(record) => {
            let _ = writeln!(out, "record     evidence record v1");
            let _ = writeln!(out, "  kind       {}", record.kind());
            let _ = writeln!(out, "  subject    {}", record.subject());
            let _ = writeln!(out, "  time       {}", record.event_time().to_rfc3339());
            let _ = writeln!(out, "  submitter  {}", record.submitter());
            for d in record.digests() {
                let _ = writeln!(
                    out,
                    "  digest     {} {} {}",
                    d.label(),
                    d.algorithm().name(),
                    hex::encode(d.value())
                );
            }
            for c in record.commitments() {
                let _ = writeln!(
                    out,
                    "  commitment {} {} {}",
                    c.label(),
                    c.algorithm().name(),
                    hex::encode(c.value())
                );
            }
            for (k, v) in record.metadata() {
                let _ = writeln!(out, "  metadata   {k} = {v}");
            }
        }
        Err(e) => {
            let _ = writeln!(
                out,
                "record     not an Affix evidence record ({e}); {} bytes",
                verified.entry().len()
            );
        }
    }
    out
}
