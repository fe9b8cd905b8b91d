//! `affix demo`: the README's first command. Runs the standalone evidence log end to end
//! in a fresh directory and explains each artefact it leaves behind.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use affix_merkle::{LeafIndex, TreeSize, verify_consistency};
use affix_note::{NoteSigner, Receipt, TrustPolicy};
use anyhow::{Context as _, Result, bail};

use crate::cmd::log::LocalLog;
use crate::keys::{self, Algorithm};

const DOCUMENTS: [(&str, &str); 3] = [
    (
        "iou.txt",
        "借条\n今借到李四人民币壹万元整（¥10,000.00），年利率百分之三点六，\n\
         于二〇二七年十一月二十二日前一次性归还本息。\n借款人：张三  二〇二六年十一月二十二日\n",
    ),
    (
        "supply-contract.txt",
        "Supply agreement between Example Retail Ltd. and Example Foods Co.\n\
         Delivery: 500 cases monthly; payment 30 days net.\n",
    ),
    (
        "travel-booking.txt",
        "Booking confirmation 2026-TR-0042: 2 adults, Hangzhou, 3 nights.\n",
    ),
];

/// Arguments of `affix demo`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Directory to run in (a new run-<time> subdirectory is created inside).
    #[arg(long, default_value = "affix-demo")]
    dir: PathBuf,
}

/// Runs the walk-through in a new subdirectory of `args.dir`.
pub(crate) fn run(args: &Args) -> Result<()> {
    let base: &Path = &args.dir;
    let stamp = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let dir = base.join(format!("run-{stamp}"));
    if dir.exists() {
        bail!("{} already exists; try again in a second", dir.display());
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    println!(
        "Affix demo: a single-signer notarial evidence log, in {}\n",
        dir.display()
    );

    println!("1. A signing key for the log (Ed25519, Go sumdb note key format).");
    let key_path = dir.join("notary.key");
    let key = keys::generate("notary.example/demo", Algorithm::Ed25519)?;
    keys::write_key_file(&key_path, &key)?;
    let vkey = key.verifier_key().to_string();
    std::fs::write(dir.join("notary.vkey"), format!("{vkey}\n"))?;
    println!("   secret key   {} (mode 0600)", key_path.display());
    println!("   verifier key {vkey}\n");

    println!("2. An empty log whose checkpoints name origin notary.example/demo.");
    let log_dir = dir.join("log");
    let mut log = LocalLog::init(&log_dir, "notary.example/demo", &key_path)?;
    println!("   log directory {}\n", log_dir.display());

    println!("3. Three documents become three evidence records (digests only, never content).");
    let docs_dir = dir.join("documents");
    std::fs::create_dir_all(&docs_dir)?;
    let mut records = Vec::new();
    for (name, text) in DOCUMENTS {
        std::fs::write(docs_dir.join(name), text)?;
        records.push(log.document_record(text.as_bytes(), "document.notarized", None, &[])?);
    }
    let range = log.append(&records)?;
    for (i, (name, _)) in range.zip(DOCUMENTS) {
        println!("   record {i}: documents/{name}");
    }
    println!("   (appended with fsync before this line was printed)\n");

    println!("4. The signed checkpoint (C2SP tlog-checkpoint):");
    let checkpoint = log.checkpoint()?;
    let checkpoint_text = String::from_utf8_lossy(&checkpoint.to_bytes()).into_owned();
    for line in checkpoint_text.lines() {
        println!("   | {line}");
    }
    std::fs::write(dir.join("checkpoint"), &checkpoint_text)?;
    println!();

    println!("5. The receipt of record 0, the IOU (C2SP tlog-proof, record bytes in `extra`):");
    let receipt = log.receipt(LeafIndex(0))?;
    let receipt_path = dir.join("iou.txt.tlog-proof");
    std::fs::write(&receipt_path, receipt.to_bytes())?;
    println!("   written to {}\n", receipt_path.display());

    println!("6. Offline verification with only the verifier key and the document:");
    let verifiers = vec![key.verifier_key().clone()];
    let report = crate::receipt::verify_receipt_file(
        &receipt_path,
        verifiers.clone(),
        None,
        Some("notary.example/demo"),
        None,
        Some(&docs_dir.join("iou.txt")),
    )
    .map_err(|e| match e {
        crate::Failure::Verification(e)
        | crate::Failure::Error(e)
        | crate::Failure::UntrustedAnchors(e)
        | crate::Failure::Refused(e) => e,
    })?;
    for line in report.lines() {
        println!("   {line}");
    }
    println!(
        "   same check from the shell:\n   affix log verify --key '{vkey}' {} --document {}\n",
        receipt_path.display(),
        docs_dir.join("iou.txt").display()
    );

    println!("7. Tampering is detected:");
    let forged_doc = dir.join("iou-forged.txt");
    std::fs::write(&forged_doc, DOCUMENTS[0].1.replace("壹万元", "壹拾万元"))?;
    match crate::receipt::verify_receipt_file(
        &receipt_path,
        verifiers.clone(),
        None,
        None,
        None,
        Some(&forged_doc),
    ) {
        Err(crate::Failure::Verification(e)) => {
            println!("   altered amount in the IOU      -> rejected: {e}");
        }
        other => bail!("a forged document was not rejected: {other:?}"),
    }
    let mut forged = Receipt::parse(&receipt.to_bytes())?;
    forged.index = LeafIndex(1);
    let policy = TrustPolicy::new(
        affix_note::Origin::new("notary.example/demo")?,
        verifiers.clone(),
        1,
    )?;
    match forged.verify(&policy) {
        Err(e) => println!("   receipt moved to another index -> rejected: {e}"),
        Ok(_) => bail!("a forged receipt verified"),
    }
    let stranger = keys::generate("notary.example/demo", Algorithm::Ed25519)?;
    let stranger_policy = TrustPolicy::new(
        affix_note::Origin::new("notary.example/demo")?,
        vec![stranger.verifier_key().clone()],
        1,
    )?;
    match receipt.verify(&stranger_policy) {
        Err(e) => println!("   checked against another key    -> rejected: {e}\n"),
        Ok(_) => bail!("a receipt verified under the wrong key"),
    }

    println!("8. The log only grows: 100 more records, then a consistency proof from size 3.");
    let more: Vec<Vec<u8>> = (0..100)
        .map(|i| {
            log.document_record(
                format!("payment reminder {i}\n").as_bytes(),
                "reminder.delivered",
                None,
                &[],
            )
        })
        .collect::<Result<_>>()?;
    log.append(&more)?;
    let old_root = log.store.root_at(TreeSize(3))?;
    let new_size = log.store.size();
    let proof = log.store.consistency_proof(TreeSize(3), new_size)?;
    verify_consistency(
        log.store.suite(),
        TreeSize(3),
        new_size,
        &old_root,
        &log.store.root(),
        &proof,
    )?;
    println!(
        "   size 3 -> {new_size}: {} proof hashes, verified (affix log consistency {} 3 {new_size})\n",
        proof.len(),
        log_dir.display()
    );

    println!("9. The static tile layout any mirror or web server can serve (C2SP tlog-tiles):");
    let static_dir = dir.join("static");
    let checkpoint = log.checkpoint()?;
    let n = log
        .store
        .export_static(&static_dir, &checkpoint.to_bytes())?;
    println!(
        "   {n} tile files and /checkpoint under {}\n",
        static_dir.display()
    );

    println!(
        "Everything above is in {}. Receipts verify without this program:",
        dir.display()
    );
    println!(
        "any C2SP signed-note/tlog implementation (e.g. Go's golang.org/x/mod/sumdb) accepts them."
    );
    Ok(())
}
