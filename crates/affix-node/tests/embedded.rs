//! The embedded single-authority ledger, driven through `LedgerClient` over real loopback
//! HTTP, its receipts verified independently with `affix-note` (what `affix
//! verify-receipt` does), across a stop and a restart from the same directory.

#![allow(clippy::unwrap_used, missing_docs, clippy::cast_possible_truncation)]

use std::path::Path;
use std::time::{Duration, Instant};

use affix_evidence::{DigestAlgorithm, EvidenceRecord, UnixMillis};
use affix_node::Error;
use affix_node::client::{LedgerClient, Receipt, Submitted};
use affix_node::embedded::EmbeddedLedger;
use affix_note::{KeyName, NoteSigner as _, Origin, SignerKey, TrustPolicy, VerifierKey};

const ORIGIN: &str = "embedded.affix.test/ledger";

fn record(i: u64) -> Vec<u8> {
    EvidenceRecord::builder(
        "contract.signed",
        &format!("contract-{i}"),
        UnixMillis(1_800_000_000_000 + i),
        "platform",
    )
    .digest_of("document", DigestAlgorithm::Sha256, &i.to_be_bytes())
    .build()
    .unwrap()
    .encode()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// The policy a relying party builds from the `verifier-keys` file by hand: the origin it
/// was told, every key line, and the quorum 1 of a one-authority ledger.
fn independent_policy(dir: &Path) -> TrustPolicy {
    let text = std::fs::read_to_string(dir.join("verifier-keys")).unwrap();
    assert!(text.starts_with(&format!(
        "# Affix consortium {ORIGIN}: receipts need 1 of these 1 keys"
    )));
    let keys: Vec<VerifierKey> = text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| VerifierKey::parse(l).unwrap())
        .collect();
    assert_eq!(keys.len(), 1);
    TrustPolicy::new(Origin::new(ORIGIN).unwrap(), keys, 1).unwrap()
}

/// Polls for a receipt the way a caller would.
async fn receipt_of(client: &LedgerClient, submitted: &Submitted) -> Receipt {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(r) = client
            .receipt(&submitted.leaf_hash, Duration::from_secs(5))
            .await
            .unwrap()
        {
            return r;
        }
        assert!(Instant::now() < deadline, "no receipt within 20 s");
    }
}

fn check_independently(policy: &TrustPolicy, text: &str, record: &[u8], index: u64) {
    let verified = affix_note::Receipt::parse(text.as_bytes())
        .unwrap()
        .verify(policy)
        .unwrap();
    assert_eq!(verified.entry(), record);
    assert_eq!(verified.index().0, index);
}

#[test]
fn records_get_receipts_that_verify_and_survive_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    let rt = runtime();

    let t = Instant::now();
    let ledger = EmbeddedLedger::start(&dir, ORIGIN).unwrap();
    println!("embedded ledger: first start {:?}", t.elapsed());
    assert!(ledger.is_running());
    assert!(ledger.url().starts_with("http://127.0.0.1:"));
    assert_eq!(ledger.origin().as_str(), ORIGIN);
    assert_eq!(
        ledger.verifier_keys_text(),
        std::fs::read_to_string(dir.join("verifier-keys")).unwrap()
    );
    for key in ["operator/consensus.key", "operator/note.key"] {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.join(key))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{key}");
    }
    let policy = independent_policy(&dir);
    let client = ledger.client();
    assert_eq!(client.verifier_keys_text(), ledger.verifier_keys_text());

    // Three records one at a time, two in a batch.
    let records: Vec<Vec<u8>> = (0..5).map(record).collect();
    let (first, latencies) = rt.block_on(async {
        let mut out = Vec::new();
        let mut latencies = Vec::new();
        for r in &records[..3] {
            let t = Instant::now();
            let s = client.submit(r).await.unwrap();
            assert_eq!(s.leaf_hash, client.leaf_hash(r));
            assert_eq!(s.index, None);
            let receipt = receipt_of(&client, &s).await;
            latencies.push(t.elapsed());
            out.push(receipt);
        }
        let batch = client.submit_batch(&records[3..]).await.unwrap();
        assert_eq!(batch.len(), 2);
        for s in &batch {
            out.push(receipt_of(&client, s).await);
        }
        (out, latencies)
    });
    println!("embedded ledger: submit to receipt {latencies:?}");
    let mut indices: Vec<u64> = first.iter().map(Receipt::index).collect();
    indices.sort_unstable();
    assert_eq!(indices, vec![0, 1, 2, 3, 4]);
    for (r, receipt) in records.iter().zip(&first) {
        assert_eq!(receipt.record(), r.as_slice());
        assert_eq!(receipt.leaf_hash(), client.leaf_hash(r));
        assert!(receipt.checkpoint_size() > receipt.index());
        check_independently(&policy, receipt.text(), r, receipt.index());
    }
    ledger.stop().unwrap();

    // Restart from the same directory: the log is kept and indices continue.
    let t = Instant::now();
    let ledger = EmbeddedLedger::start(&dir, ORIGIN).unwrap();
    println!("embedded ledger: restart {:?}", t.elapsed());
    let client = ledger.client();
    rt.block_on(async {
        // A record logged before the restart is recognized, not logged twice.
        let again = client.submit(&records[0]).await.unwrap();
        assert_eq!(again.index, Some(first[0].index()));
        let more: Vec<Vec<u8>> = (5..7).map(record).collect();
        for (i, r) in more.iter().enumerate() {
            let s = client.submit(r).await.unwrap();
            let receipt = receipt_of(&client, &s).await;
            assert_eq!(receipt.index(), 5 + i as u64);
            check_independently(&policy, receipt.text(), r, 5 + i as u64);
        }
        // An old record's receipt, fetched again, is against the newer checkpoint.
        let old = receipt_of(&client, &again).await;
        assert_eq!(old.index(), first[0].index());
        assert!(old.checkpoint_size() >= 7);
    });
    // The receipts issued before the restart still verify offline.
    for (r, receipt) in records.iter().zip(&first) {
        check_independently(&policy, receipt.text(), r, receipt.index());
    }
    drop(ledger);

    // Another origin for the same directory is refused.
    let err = EmbeddedLedger::start(&dir, "other.affix.test/ledger").unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");
}

#[test]
fn refusals_and_failures_are_specific() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ledger");
    let rt = runtime();
    let ledger = EmbeddedLedger::start(&dir, ORIGIN).unwrap();
    let client = ledger.client();
    let keys = ledger.verifier_keys_text();

    // Only one ledger runs from a directory.
    let err = EmbeddedLedger::start(&dir, ORIGIN).unwrap_err();
    assert!(err.to_string().contains("in use"), "{err}");
    assert!(ledger.is_running());

    rt.block_on(async {
        let err = client.submit(b"not an evidence record").await.unwrap_err();
        assert!(matches!(err, Error::RecordInvalid(_)), "{err}");
        let err = client.submit(&vec![0u8; 20_000]).await.unwrap_err();
        assert!(matches!(err, Error::RecordTooLarge(20_000)), "{err}");
        let err = client
            .submit_batch(&[record(100), b"junk".to_vec()])
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::RecordInvalid(d) if d.contains("record 1")),
            "{err}"
        );
        let err = client.receipt(&[7; 32], Duration::ZERO).await.unwrap_err();
        assert!(matches!(err, Error::UnknownRecord { .. }), "{err}");

        // A client of another ledger is refused by the node.
        let other = LedgerClient::new(
            vec![ledger.url().to_owned()],
            &keys.replace(ORIGIN, "other.affix.test/ledger"),
        )
        .unwrap();
        let err = other.submit(&record(101)).await.unwrap_err();
        assert!(
            matches!(&err, Error::Refused { status: 409, kind, .. } if kind == "wrong-origin"),
            "{err}"
        );

        // Dead nodes are skipped; when all are dead the error says so.
        let dead = "http://127.0.0.1:9".to_owned();
        let failover =
            LedgerClient::new(vec![dead.clone(), ledger.url().to_owned()], &keys).unwrap();
        let s = failover.submit(&record(102)).await.unwrap();
        let receipt = receipt_of(&failover, &s).await;
        let err = LedgerClient::new(vec![dead], &keys)
            .unwrap()
            .submit(&record(103))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::NodesUnavailable(_)), "{err}");

        // A receipt that does not verify under the client's keys is never returned.
        let stranger =
            SignerKey::ed25519_from_seed(KeyName::new("stranger.test").unwrap(), &[9; 32]);
        let wrong_keys = format!(
            "# Affix consortium {ORIGIN}: receipts need 1 of these 1 keys\n{}\n",
            stranger.verifier_key()
        );
        let err = LedgerClient::new(vec![ledger.url().to_owned()], &wrong_keys)
            .unwrap()
            .receipt(&receipt.leaf_hash(), Duration::ZERO)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::ReceiptUnverified { .. }), "{err}");
    });

    // Misuse is caught before any request.
    assert!(matches!(
        LedgerClient::new(Vec::new(), &keys),
        Err(Error::Config(_))
    ));
    assert!(matches!(
        LedgerClient::new(vec!["not a url".into()], &keys),
        Err(Error::Config(_))
    ));
    let headerless: String = keys.lines().filter(|l| !l.starts_with('#')).collect();
    assert!(matches!(
        LedgerClient::new(vec![ledger.url().to_owned()], &headerless),
        Err(Error::VerifierKeys(_))
    ));
    ledger.stop().unwrap();
}

/// The platform keeps these in shared state and awaits the client in its handlers.
#[test]
fn handles_can_be_shared_and_client_futures_sent() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>(_: &T) {}
    send_sync::<EmbeddedLedger>();
    send_sync::<LedgerClient>();
    send_sync::<Receipt>();
    let keys = format!(
        "# Affix consortium {ORIGIN}: receipts need 1 of these 1 keys\n{}\n",
        SignerKey::ed25519_from_seed(KeyName::new("k.test").unwrap(), &[1; 32]).verifier_key()
    );
    let client = LedgerClient::new(vec!["http://127.0.0.1:9".into()], &keys).unwrap();
    send(&client.submit(b""));
    send(&client.submit_batch(&[]));
    send(&client.receipt(&[0; 32], Duration::ZERO));
}
