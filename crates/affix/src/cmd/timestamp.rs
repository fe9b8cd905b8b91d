//! `affix timestamp`: an RFC 3161 time-stamp token for a file, from a TSA over HTTP,
//! verified before it is written.

use std::path::{Path, PathBuf};

use affix_tsp::{
    DigestAlgorithm, ExpectedImprint, Nonce, TimeStampRequest, TimeStampResponse, TsaTrust,
};
use anyhow::{Context as _, Result, anyhow, bail};
use x509_cert::Certificate;

use crate::pki_files::read_certs;

/// Arguments of `affix timestamp`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The file.
    file: PathBuf,
    /// TSA URL.
    #[arg(long)]
    tsa: String,
    /// CA certificate(s) that issued the TSA certificate.
    #[arg(long = "ca", required = true)]
    ca: Vec<PathBuf>,
    /// Output file (default FILE.tsr).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Writes `FILE.tsr` (the token), verified first.
pub(crate) fn run(args: &Args) -> Result<()> {
    let data =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let trust = read_certs(&args.ca)?;
    let (token, time) =
        tokio::runtime::Runtime::new()?.block_on(fetch_token(&args.tsa, &data, &trust))?;
    let out = args.out.as_deref().map_or_else(
        || PathBuf::from(format!("{}.tsr", args.file.display())),
        Path::to_owned,
    );
    std::fs::write(&out, token).with_context(|| format!("writing {}", out.display()))?;
    println!("{}\ttime-stamped at {time}", out.display());
    Ok(())
}

/// Asks `tsa_url` for a token over `data`'s SHA-256, checks it against `trust`, returns
/// (token DER, gen time).
pub(crate) async fn fetch_token(
    tsa_url: &str,
    data: &[u8],
    trust: &[Certificate],
) -> Result<(Vec<u8>, String)> {
    let digest = DigestAlgorithm::Sha256.digest(data);
    let mut nonce = [0u8; 8];
    getrandom::fill(&mut nonce).map_err(|e| anyhow!("randomness: {e}"))?;
    nonce[0] &= 0x7f;
    let nonce = Nonce::from_unsigned_be_bytes(&nonce)?;
    let request = TimeStampRequest::new(DigestAlgorithm::Sha256, &digest)?
        .with_nonce(nonce.clone())
        .with_certificate_requested(true)
        .to_der()?;
    let response = reqwest::Client::new()
        .post(tsa_url)
        .header("content-type", "application/timestamp-query")
        .body(request)
        .send()
        .await
        .with_context(|| format!("contacting {tsa_url}"))?;
    if !response.status().is_success() {
        bail!("{tsa_url}: HTTP {}", response.status());
    }
    let bytes = response.bytes().await?.to_vec();
    let parsed = TimeStampResponse::parse(&bytes)?;
    let token = parsed
        .token_der()
        .ok_or_else(|| anyhow!("the TSA refused: {}", parsed.status_text().join("; ")))?
        .to_vec();
    let verified = affix_tsp::verify_token(
        &token,
        TsaTrust::IssuedBy(trust),
        ExpectedImprint::Data(data),
        Some(&nonce),
    )?;
    Ok((token, verified.gen_time().to_string()))
}
