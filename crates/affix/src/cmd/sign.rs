//! `affix sign --cms`: a detached CMS signature (CAdES-B), time-stamped with `--tsa`
//! (CAdES-T).

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context as _, Result};
use p256::ecdsa::{DerSignature, SigningKey};

use crate::pki_files::{read_cert, read_certs, read_p256_key};

/// Arguments of `affix sign`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Make a CMS (RFC 5652) signature; the only format for now.
    #[arg(long, required = true)]
    cms: bool,
    /// The file to sign.
    file: PathBuf,
    /// Signer certificate (PEM).
    #[arg(long)]
    cert: PathBuf,
    /// Signer key (PKCS#8 PEM, P-256, mode 0600).
    #[arg(long)]
    key: PathBuf,
    /// Intermediate certificates to include.
    #[arg(long)]
    chain: Vec<PathBuf>,
    /// TSA URL for a signature time-stamp.
    #[arg(long)]
    tsa: Option<String>,
    /// CA certificate(s) that issued the TSA certificate.
    #[arg(long = "tsa-ca")]
    tsa_ca: Vec<PathBuf>,
    /// Output file (default FILE.p7s).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Writes the signature to `FILE.p7s` (or `--out`).
pub(crate) fn run(args: &Args) -> Result<()> {
    let content =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let cert = read_cert(&args.cert)?;
    let chain = read_certs(&args.chain)?;
    let key = read_p256_key(&args.key)?;
    let mut signature = affix_cms::sign_detached::<SigningKey, DerSignature>(
        &content,
        &key,
        &cert,
        &chain,
        SystemTime::now(),
    )?;
    if let Some(url) = &args.tsa {
        let trust = read_certs(&args.tsa_ca)?;
        let parsed = affix_cms::DetachedSignature::from_der(&signature)?;
        let (token, _) = tokio::runtime::Runtime::new()?.block_on(
            super::timestamp::fetch_token(url, parsed.signature_value(), &trust),
        )?;
        signature = affix_cms::add_timestamp(&signature, &token)?;
    }
    let out = args.out.as_deref().map_or_else(
        || PathBuf::from(format!("{}.p7s", args.file.display())),
        Path::to_owned,
    );
    std::fs::write(&out, signature).with_context(|| format!("writing {}", out.display()))?;
    println!("{}", out.display());
    Ok(())
}
