//! `affix bench`: load generators for the consortium ledger and, for comparison, an etcd
//! cluster. `scripts/bench-ledger.sh` runs both on one machine and prints them side by
//! side. Each prints one JSON object on stdout.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use affix_evidence::{DigestAlgorithm, EvidenceRecord, UnixMillis};
use affix_note::{Origin, Receipt, TrustPolicy};
use anyhow::{Context as _, Result, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

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

/// Drives a consortium: `concurrency` workers each submit a batch of `batch` records to
/// the next node, then wait for the receipt of the batch's last record (a receipt exists
/// only once a quorum checkpoint covers the batch). One receipt per batch is verified.
pub(crate) fn ledger(
    nodes_file: &std::path::Path,
    keys_file: &std::path::Path,
    records: u64,
    batch: u64,
    concurrency: usize,
) -> Result<()> {
    let nodes: Vec<String> = std::fs::read_to_string(nodes_file)?
        .lines()
        .map(str::to_owned)
        .filter(|l| !l.is_empty())
        .collect();
    if nodes.is_empty() || batch == 0 || records == 0 {
        bail!("need nodes, a batch size and a record count");
    }
    let (keys, origin, quorum) = crate::consortium::read_keys_file(keys_file)?;
    let origin = origin.ok_or_else(|| anyhow!("keys file lacks the consortium header"))?;
    let policy = TrustPolicy::new(
        Origin::new(&origin)?,
        keys.clone(),
        quorum.unwrap_or(keys.len()),
    )?;
    let mut run = [0u8; 8];
    getrandom::fill(&mut run).map_err(|e| anyhow!("randomness: {e}"))?;
    let run = u64::from_le_bytes(run);
    let record_bytes = bench_record(run, 0).len();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    // Warm-up, not measured: one small batch through every node, waiting for its
    // receipt, so connections are up and consensus is running before the clock starts.
    runtime.block_on(async {
        for (n, node) in nodes.iter().enumerate() {
            let mut body = Vec::new();
            let mut last = Vec::new();
            for i in 0..10 {
                let r = bench_record(run ^ u64::MAX, (n as u64) * 10 + i);
                body.extend_from_slice(&u16::try_from(r.len())?.to_be_bytes());
                body.extend_from_slice(&r);
                last = r;
            }
            client
                .post(format!("{node}/v1/records/batch"))
                .body(body)
                .send()
                .await?;
            let leaf = policy.origin().suite().leaf_hash(&last).to_hex();
            let deadline = Instant::now() + Duration::from_secs(120);
            while client
                .get(format!("{node}/v1/receipts/{leaf}?wait=30"))
                .send()
                .await?
                .status()
                != reqwest::StatusCode::OK
            {
                if Instant::now() > deadline {
                    bail!("{node}: warm-up batch got no receipt");
                }
            }
        }
        Ok::<(), anyhow::Error>(())
    })?;
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let results: Vec<Result<Vec<f64>>> = runtime.block_on(async {
        let mut tasks = Vec::new();
        for worker in 0..concurrency {
            let (client, nodes, next, policy) =
                (client.clone(), nodes.clone(), next.clone(), policy.clone());
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let first = next.fetch_add(batch, Ordering::SeqCst);
                    if first >= records {
                        break;
                    }
                    let last = (first + batch).min(records);
                    let mut body =
                        Vec::with_capacity(usize::try_from(last - first)? * (record_bytes + 2));
                    let mut last_record = Vec::new();
                    for i in first..last {
                        let r = bench_record(run, i);
                        body.extend_from_slice(&u16::try_from(r.len())?.to_be_bytes());
                        body.extend_from_slice(&r);
                        last_record = r;
                    }
                    let node = &nodes[(worker + usize::try_from(first / batch)?) % nodes.len()];
                    let sent = Instant::now();
                    let response = client
                        .post(format!("{node}/v1/records/batch"))
                        .body(body)
                        .send()
                        .await?;
                    if !response.status().is_success() {
                        bail!(
                            "{node}: HTTP {}: {}",
                            response.status(),
                            response.text().await.unwrap_or_default()
                        );
                    }
                    let leaf = policy.origin().suite().leaf_hash(&last_record).to_hex();
                    loop {
                        let r = client
                            .get(format!("{node}/v1/receipts/{leaf}?wait=30"))
                            .send()
                            .await?;
                        if r.status() == reqwest::StatusCode::OK {
                            let receipt = Receipt::parse(&r.bytes().await?)?;
                            receipt
                                .verify(&policy)
                                .context("a receipt did not verify")?;
                            break;
                        }
                        if sent.elapsed() > Duration::from_secs(120) {
                            bail!("no receipt after 120 s");
                        }
                    }
                    latencies.push(sent.elapsed().as_secs_f64());
                }
                Ok(latencies)
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
    let elapsed = start.elapsed().as_secs_f64();
    let mut latencies = Vec::new();
    for r in results {
        latencies.extend(r?);
    }
    latencies.sort_by(f64::total_cmp);
    println!(
        "{}",
        serde_json::json!({
            "system": "affix-consortium",
            "records": records,
            "record_bytes": record_bytes,
            "seconds": elapsed,
            "records_per_second": records as f64 / elapsed,
            "batch": batch,
            "concurrency": concurrency,
            "commit_latency_p50_s": percentile(&latencies, 500),
            "commit_latency_p99_s": percentile(&latencies, 990),
        })
    );
    Ok(())
}

/// The same number of replicated writes against etcd's v3 JSON gateway
/// (`POST /v3/kv/put`), `concurrency` requests in flight, values the size of a record.
pub(crate) fn etcd(endpoints: &[String], records: u64, concurrency: usize) -> Result<()> {
    if endpoints.is_empty() {
        bail!("need etcd endpoints");
    }
    let value = STANDARD.encode(bench_record(0, 0));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let results: Vec<Result<Vec<f64>>> = runtime.block_on(async {
        let mut tasks = Vec::new();
        for worker in 0..concurrency {
            let (client, endpoints, next, value) = (
                client.clone(),
                endpoints.to_vec(),
                next.clone(),
                value.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= records {
                        break;
                    }
                    let endpoint = &endpoints[worker % endpoints.len()];
                    let body = serde_json::json!({
                        "key": STANDARD.encode(format!("record/{i:012}")),
                        "value": value,
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
                    latencies.push(sent.elapsed().as_secs_f64());
                }
                Ok(latencies)
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
    let elapsed = start.elapsed().as_secs_f64();
    let mut latencies = Vec::new();
    for r in results {
        latencies.extend(r?);
    }
    latencies.sort_by(f64::total_cmp);
    println!(
        "{}",
        serde_json::json!({
            "system": "etcd",
            "records": records,
            "seconds": elapsed,
            "records_per_second": records as f64 / elapsed,
            "concurrency": concurrency,
            "commit_latency_p50_s": percentile(&latencies, 500),
            "commit_latency_p99_s": percentile(&latencies, 990),
        })
    );
    Ok(())
}
