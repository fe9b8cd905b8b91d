//! `affix-bench ledger|etcd|tsa`: HTTP load generators for the consortium ledger and, for
//! comparison, an etcd cluster (`scripts/bench-ledger.sh` runs both on one machine and
//! prints them side by side), and for a TSA (`scripts/bench-pki.sh`). Each prints one
//! JSON object on stdout.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use affix_evidence::{DigestAlgorithm, EvidenceRecord, UnixMillis};
use affix_merkle::encode_bundle;
use affix_note::{Receipt, TrustPolicy};
use anyhow::{Context as _, Result, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Arguments of `affix-bench ledger`.
#[derive(clap::Args, Debug)]
pub(crate) struct LedgerArgs {
    /// File of node URLs, one a line (`affix devnet` writes DIR/nodes).
    #[arg(long)]
    nodes: PathBuf,
    /// The consortium's verifier keys file.
    #[arg(long)]
    keys: PathBuf,
    /// Records to submit.
    #[arg(long, default_value_t = 200_000)]
    records: u64,
    /// Records per request.
    #[arg(long, default_value_t = 1000)]
    batch: u64,
    /// Requests in flight.
    #[arg(long, default_value_t = 24)]
    concurrency: usize,
}

/// Arguments of `affix-bench tsa`.
#[derive(clap::Args, Debug)]
pub(crate) struct TsaArgs {
    /// TSA URL.
    #[arg(long)]
    url: String,
    /// Requests.
    #[arg(long, default_value_t = 20_000)]
    requests: u64,
    /// Requests in flight.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
}

/// Arguments of `affix-bench etcd`.
#[derive(clap::Args, Debug)]
pub(crate) struct EtcdArgs {
    /// etcd client URL; repeat for every member.
    #[arg(long = "endpoint", required = true)]
    endpoints: Vec<String>,
    /// Puts.
    #[arg(long, default_value_t = 200_000)]
    records: u64,
    /// Requests in flight.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
}

/// A realistic evidence record (~230 bytes): contract step with two digests, a
/// commitment and metadata. `run` and `i` make it unique.
fn bench_record(run: u64, i: u64) -> Vec<u8> {
    let commitment = affix_evidence::Commitment::compute(
        DigestAlgorithm::Sha256,
        "signer.name",
        &affix_evidence::Salt([7; 32]),
        &i.to_be_bytes(),
    )
    .unwrap_or_else(|_| unreachable!("fixed valid label"));
    EvidenceRecord::builder(
        "contract.signed",
        &format!("contract-{run:016x}-{i:012}"),
        UnixMillis(1_800_000_000_000 + i),
        "tenant-1/party-2",
    )
    .digest_of("document", DigestAlgorithm::Sha256, &i.to_le_bytes())
    .digest_of("signature-image", DigestAlgorithm::Sha256, &i.to_be_bytes())
    .commitment(commitment)
    .metadata("step", "2/2")
    .build()
    .map(|r| r.encode())
    .unwrap_or_default()
}

/// Nearest-rank percentile of a sorted sample, `per_mille` in 0..=1000.
fn percentile(sorted: &[f64], per_mille: usize) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (sorted.len() - 1) * per_mille.min(1000) / 1000;
    sorted[rank]
}

/// Runs `concurrency` workers; each repeatedly claims the next `step` items of `total`
/// and runs `job(worker, first, last)`, which returns the latency to record. Prints the
/// summary as JSON, with `extra` fields.
fn run_workers<F, Fut>(
    concurrency: usize,
    total: u64,
    step: u64,
    job: F,
    mut extra: serde_json::Value,
) -> Result<()>
where
    F: Fn(usize, u64, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<f64>> + Send,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let next = Arc::new(AtomicU64::new(0));
    let job = Arc::new(job);
    let progress = crate::progress::bar("", total, "records");
    let start = Instant::now();
    let results: Vec<Result<Vec<f64>>> = runtime.block_on(async {
        let mut tasks = Vec::new();
        for worker in 0..concurrency {
            let (next, job, progress) = (next.clone(), job.clone(), progress.clone());
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let first = next.fetch_add(step, Ordering::SeqCst);
                    if first >= total {
                        return Ok(latencies);
                    }
                    let last = (first + step).min(total);
                    latencies.push(job(worker, first, last).await?);
                    progress.inc(last - first);
                }
            }));
        }
        let mut out = Vec::new();
        for t in tasks {
            out.push(
                t.await
                    .unwrap_or_else(|e| Err(anyhow!("worker panicked: {e}"))),
            );
        }
        out
    });
    let seconds = start.elapsed().as_secs_f64();
    progress.finish_and_clear();
    let mut latencies = Vec::new();
    for r in results {
        latencies.extend(r?);
    }
    latencies.sort_by(f64::total_cmp);
    extra["records"] = total.into();
    extra["seconds"] = seconds.into();
    extra["records_per_second"] = (total as f64 / seconds).into();
    extra["concurrency"] = concurrency.into();
    extra["commit_latency_p50_s"] = percentile(&latencies, 500).into();
    extra["commit_latency_p99_s"] = percentile(&latencies, 990).into();
    println!("{extra}");
    Ok(())
}

fn http_client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?)
}

/// Submits `records` to `node` as one batch and waits for the receipt of the last one;
/// verifies it.
async fn submit_and_wait(
    client: &reqwest::Client,
    node: &str,
    records: &[Vec<u8>],
    policy: &TrustPolicy,
) -> Result<()> {
    let last = records.last().ok_or_else(|| anyhow!("empty batch"))?;
    let response = client
        .post(format!("{node}/v1/records/batch"))
        .body(encode_bundle(records)?)
        .send()
        .await?;
    if !response.status().is_success() {
        bail!(
            "{node}: HTTP {}: {}",
            response.status(),
            response.text().await.unwrap_or_default()
        );
    }
    let leaf = policy.origin().suite().leaf_hash(last).to_hex();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let r = client
            .get(format!("{node}/v1/receipts/{leaf}?wait=30"))
            .send()
            .await?;
        if r.status() == reqwest::StatusCode::OK {
            let receipt = Receipt::parse(&r.bytes().await?)?;
            receipt.verify(policy).context("a receipt did not verify")?;
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{node}: no receipt after 120 s");
        }
    }
}

/// Drives a consortium: `concurrency` workers each submit a batch of `batch` records to
/// the next node, then wait for the receipt of the batch's last record (a receipt exists
/// only once a quorum checkpoint covers the batch). One receipt per batch is verified.
pub(crate) fn ledger(args: &LedgerArgs) -> Result<()> {
    let (records, batch, concurrency) = (args.records, args.batch, args.concurrency);
    let nodes: Arc<Vec<String>> = Arc::new(
        std::fs::read_to_string(&args.nodes)
            .with_context(|| format!("reading {}", args.nodes.display()))?
            .lines()
            .map(str::to_owned)
            .filter(|l| !l.is_empty())
            .collect(),
    );
    if nodes.is_empty() || batch == 0 || records == 0 {
        bail!("need nodes, a batch size and a record count");
    }
    let keys_text = std::fs::read_to_string(&args.keys)
        .with_context(|| format!("reading {}", args.keys.display()))?;
    let policy = Arc::new(
        affix_note::VerifierKeysFile::parse(&keys_text)
            .and_then(|f| f.trust_policy())
            .with_context(|| format!("{}", args.keys.display()))?,
    );
    let mut run = [0u8; 8];
    getrandom::fill(&mut run).map_err(|e| anyhow!("randomness: {e}"))?;
    let run = u64::from_le_bytes(run);
    let client = http_client()?;
    // Warm-up, not measured: one small batch through every node, so connections are up
    // and consensus is running before the clock starts.
    tokio::runtime::Runtime::new()?.block_on(async {
        for (n, node) in nodes.iter().enumerate() {
            let warm: Vec<Vec<u8>> = (0..10)
                .map(|i| bench_record(!run, n as u64 * 10 + i))
                .collect();
            submit_and_wait(&client, node, &warm, &policy).await?;
        }
        Ok::<(), anyhow::Error>(())
    })?;
    let record_bytes = bench_record(run, 0).len();
    run_workers(
        concurrency,
        records,
        batch,
        move |worker, first, last| {
            let (client, nodes, policy) = (client.clone(), nodes.clone(), policy.clone());
            async move {
                let batch: Vec<Vec<u8>> = (first..last).map(|i| bench_record(run, i)).collect();
                let node = &nodes
                    [(worker + usize::try_from(first / (last - first).max(1))?) % nodes.len()];
                let sent = Instant::now();
                submit_and_wait(&client, node, &batch, &policy).await?;
                Ok(sent.elapsed().as_secs_f64())
            }
        },
        serde_json::json!({
            "system": "affix-consortium",
            "record_bytes": record_bytes,
            "batch": batch,
        }),
    )
}

/// The same number of replicated writes against etcd's v3 JSON gateway
/// (`POST /v3/kv/put`), `concurrency` requests in flight, values the size of a record.
pub(crate) fn etcd(args: &EtcdArgs) -> Result<()> {
    let (endpoints, records, concurrency) = (&args.endpoints, args.records, args.concurrency);
    if endpoints.is_empty() {
        bail!("need etcd endpoints");
    }
    let value = Arc::new(STANDARD.encode(bench_record(0, 0)));
    let endpoints = Arc::new(endpoints.to_vec());
    let client = http_client()?;
    run_workers(
        concurrency,
        records,
        1,
        move |worker, i, _| {
            let (client, endpoints, value) = (client.clone(), endpoints.clone(), value.clone());
            async move {
                let endpoint = &endpoints[worker % endpoints.len()];
                let body = serde_json::json!({
                    "key": STANDARD.encode(format!("record/{i:012}")),
                    "value": *value,
                });
                let sent = Instant::now();
                let r = client
                    .post(format!("{endpoint}/v3/kv/put"))
                    .json(&body)
                    .send()
                    .await?;
                if !r.status().is_success() {
                    bail!("{endpoint}: HTTP {}", r.status());
                }
                Ok(sent.elapsed().as_secs_f64())
            }
        },
        serde_json::json!({ "system": "etcd" }),
    )
}

/// RFC 3161 over HTTP: `requests` time-stamp queries (SHA-256, nonce, certReq) against
/// `url`, `concurrency` in flight; every answer must be a granted token.
pub(crate) fn tsa(args: &TsaArgs) -> Result<()> {
    let (requests, concurrency) = (args.requests, args.concurrency);
    let url = Arc::new(args.url.clone());
    let client = http_client()?;
    run_workers(
        concurrency,
        requests,
        1,
        move |_, i, _| {
            let (client, url) = (client.clone(), url.clone());
            async move {
                let digest = affix_tsp::DigestAlgorithm::Sha256.digest(&i.to_be_bytes());
                let query =
                    affix_tsp::TimeStampRequest::new(affix_tsp::DigestAlgorithm::Sha256, &digest)?
                        .with_nonce(affix_tsp::Nonce::from_u64(i + 1))
                        .with_certificate_requested(true)
                        .to_der()?;
                let sent = Instant::now();
                let r = client
                    .post(url.as_str())
                    .header("content-type", "application/timestamp-query")
                    .body(query)
                    .send()
                    .await?;
                if !r.status().is_success() {
                    bail!("{url}: HTTP {}", r.status());
                }
                let body = r.bytes().await?;
                let parsed = affix_tsp::TimeStampResponse::parse(&body)?;
                if parsed.token_der().is_none() {
                    bail!("request {i} was not granted");
                }
                Ok(sent.elapsed().as_secs_f64())
            }
        },
        serde_json::json!({ "system": "affix-tsa-http" }),
    )
}
