//! Measures the embedded ledger: start time, and the time from submitting a record to
//! its verified receipt, one record at a time (p50, p90, max over 50 records by default).
//!
//! `cargo run -p affix-node --example embedded_latency [-- RECORDS]`

#![allow(clippy::unwrap_used, clippy::cast_possible_truncation)]

use std::time::{Duration, Instant};

use affix_evidence::{DigestAlgorithm, EvidenceRecord, UnixMillis};
use affix_node::embedded::EmbeddedLedger;

fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .map_or(50, |n| n.parse().expect("RECORDS must be a number"));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    let t = Instant::now();
    let ledger = EmbeddedLedger::start(&dir, "latency.affix.test/ledger").unwrap();
    let first_start = t.elapsed();
    ledger.stop().unwrap();
    let t = Instant::now();
    let ledger = EmbeddedLedger::start(&dir, "latency.affix.test/ledger").unwrap();
    let restart = t.elapsed();
    let client = ledger.client();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut latencies: Vec<Duration> = rt.block_on(async {
        let mut out = Vec::with_capacity(count);
        for i in 0..count as u64 {
            let record = EvidenceRecord::builder(
                "latency.probe",
                &format!("probe-{i}"),
                UnixMillis(1_800_000_000_000 + i),
                "example",
            )
            .digest_of("document", DigestAlgorithm::Sha256, &i.to_be_bytes())
            .build()
            .unwrap()
            .encode();
            let t = Instant::now();
            let submitted = client.submit(&record).await.unwrap();
            while client
                .receipt(&submitted.leaf_hash, Duration::from_secs(10))
                .await
                .unwrap()
                .is_none()
            {}
            out.push(t.elapsed());
        }
        out
    });
    latencies.sort_unstable();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    println!("first start (writes keys and genesis): {first_start:?}");
    println!("restart: {restart:?}");
    println!(
        "submit -> verified receipt over {count} records, one at a time: p50 {:?}, p90 {:?}, max {:?}",
        at(0.5),
        at(0.9),
        at(1.0)
    );
    ledger.stop().unwrap();
}
