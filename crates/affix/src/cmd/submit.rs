//! `affix submit`: evidence to a consortium node, and each receipt written beside its
//! file.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use affix_node::client::LedgerClient;
use anyhow::{Context as _, Result, anyhow, bail};

/// Arguments of `affix submit`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Node URL; repeat to fall back to other nodes.
    #[arg(long = "node", required = true)]
    nodes: Vec<String>,
    /// Files: documents (a record with their digests is logged) or, with --raw,
    /// evidence records.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The files are evidence records already.
    #[arg(long)]
    raw: bool,
    /// Event kind of the records made for documents.
    #[arg(long, default_value = "document.notarized")]
    kind: String,
    /// Give up waiting for receipts after this many seconds.
    #[arg(long, default_value_t = 120)]
    timeout_s: u64,
    /// Verify each receipt against this consortium verifier keys file.
    #[arg(long)]
    keys: Option<PathBuf>,
}

/// Longest single wait for a receipt before asking again.
const RECEIPT_POLL_MAX: Duration = Duration::from_secs(10);

/// Submits the files' records and writes each `FILE.tlog-proof`.
pub(crate) fn run(args: &Args) -> Result<()> {
    let timeout = Duration::from_secs(args.timeout_s);
    let mut records = Vec::with_capacity(args.files.len());
    for file in &args.files {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let record = if args.raw {
            bytes
        } else {
            document_record(&bytes, &args.kind)?
        };
        records.push(record);
    }
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let keys_text = match &args.keys {
            Some(path) => crate::verifier_keys::read_text(path)?,
            None => keys_from_nodes(&args.nodes).await?,
        };
        let client = LedgerClient::new(args.nodes.clone(), &keys_text)?;
        let submitted = client
            .submit_batch(&records)
            .await
            .context("submitting the records")?;
        let deadline = Instant::now() + timeout;
        for (file, s) in args.files.iter().zip(submitted) {
            let receipt = loop {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    bail!("no receipt for {} within {timeout:?}", file.display());
                }
                if let Some(r) = client
                    .receipt(&s.leaf_hash, left.min(RECEIPT_POLL_MAX))
                    .await
                    .with_context(|| format!("fetching the receipt for {}", file.display()))?
                {
                    break r;
                }
            };
            let out = PathBuf::from(format!("{}.tlog-proof", file.display()));
            std::fs::write(&out, receipt.text())?;
            println!("{}\tindex {}", out.display(), receipt.index());
        }
        Ok(())
    })
}

/// Without `--keys`: the keys file the first reachable node serves. That proves nothing
/// about who runs the node, only that its receipts are consistent with what it claims.
async fn keys_from_nodes(nodes: &[String]) -> Result<String> {
    let mut last_error = None;
    for node in nodes {
        match affix_node::client::dangerous_fetch_verifier_keys(node).await {
            Ok(text) => {
                eprintln!(
                    "affix: no --keys given: receipts are checked against the verifier keys {node} serves, which says nothing about who runs it; pass --keys FILE"
                );
                return Ok(text);
            }
            Err(e) => last_error = Some(e),
        }
    }
    Err(anyhow!(
        "no node served its verifier keys: {}",
        last_error.map_or_else(String::new, |e| e.to_string())
    ))
}

/// An evidence record of a document: its SHA-256 and SM3 digests and its length, never
/// its content.
fn document_record(content: &[u8], kind: &str) -> Result<Vec<u8>> {
    use affix_evidence::{DigestAlgorithm, EvidenceRecord, UnixMillis};
    let sha = DigestAlgorithm::Sha256.digest(content);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis();
    Ok(EvidenceRecord::builder(
        kind,
        &format!("doc-{}", hex::encode(&sha[..8])),
        UnixMillis(u64::try_from(now)?),
        "affix-cli",
    )
    .digest_value("document", DigestAlgorithm::Sha256, sha)
    .digest_of("document", DigestAlgorithm::Sm3, content)
    .metadata("document.bytes", &content.len().to_string())
    .build()?
    .encode())
}
