//! `affix verify-receipt`: a ledger receipt checked offline against a consortium's
//! verifier keys.

use std::path::PathBuf;

use crate::Failure;

/// Arguments of `affix verify-receipt`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Verifier keys file (one key per line; a consortium header gives origin and quorum).
    #[arg(long)]
    keys: PathBuf,
    /// Signatures required (default: the file's quorum, or all keys).
    #[arg(long)]
    quorum: Option<usize>,
    /// Required origin (default: the file's, else the receipt's).
    #[arg(long)]
    origin: Option<String>,
    /// The receipt.
    receipt: PathBuf,
    /// The original document: checks the record holds its digest.
    #[arg(long)]
    document: Option<PathBuf>,
}

/// Verifies the receipt and prints the report.
pub(crate) fn run(args: Args) -> Result<(), Failure> {
    let (verifiers, file_origin, file_quorum) = crate::verifier_keys::read(&args.keys)?;
    let report = crate::receipt::verify_receipt_file(
        &args.receipt,
        verifiers,
        args.quorum.or(file_quorum),
        args.origin.or(file_origin).as_deref(),
        None,
        args.document.as_deref(),
    )?;
    print!("{report}");
    Ok(())
}
