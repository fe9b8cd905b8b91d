//! `affix keygen`: a note signing key (for a log or a consortium authority).

use std::path::PathBuf;

use affix_note::NoteSigner as _;

use crate::keys::{self, Algorithm};

/// Arguments of `affix keygen`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Key name, conventionally a schema-less URL such as notary.example/log.
    #[arg(long)]
    name: String,
    /// Where to write the secret key (created with mode 0600; never overwritten).
    #[arg(long)]
    out: PathBuf,
    /// Signature algorithm.
    #[arg(long, value_enum, default_value_t = Algorithm::Ed25519)]
    algorithm: Algorithm,
}

/// Writes the secret key file and prints the verifier key.
pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    let key = keys::generate(&args.name, args.algorithm)?;
    keys::write_key_file(&args.out, &key)?;
    eprintln!("secret key written to {} (mode 0600)", args.out.display());
    eprintln!("verifier key (publish this; it verifies checkpoints and receipts):");
    println!("{}", key.verifier_key());
    Ok(())
}
