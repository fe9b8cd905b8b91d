//! The evidence loop: submits queued evidence records (events with `submitted = 0`) to
//! the ledger in batches, then collects their receipts and stores them.
//!
//! `events.submitted` is 0 while a record is queued, then the time (Unix ms) it was
//! handed to the ledger. Events are queued in the same transaction as the step they
//! record, so a crash between a step and its submission loses nothing. The ledger
//! accepting a record (202) is not yet the record being logged: until a receipt proves
//! it, the record can still be lost (a node killed with the record in its mempool).
//! So a record without a receipt is submitted again [`RESUBMIT_AFTER_MS`] after its
//! last submission, and every record without a receipt is requeued at start
//! ([`requeue_unreceipted`]). Submission is idempotent on the ledger side (a record is
//! identified by its leaf hash), so resubmitting what was in fact logged is harmless.

use std::sync::Arc;
use std::time::Duration;

use crate::Error;
use crate::service::Platform;
use crate::store::evidence::{self, Queue};
use crate::store::i;
use affix_node::client::LedgerClient;

/// A record without a receipt this long after its submission is submitted again.
pub const RESUBMIT_AFTER_MS: u64 = 10_000;

/// Records per submission batch.
const BATCH: i64 = 2_000;
/// Receipts waited for per round.
const RECEIPTS_PER_ROUND: i64 = 2_000;

/// How often (in platform time) expired idempotency keys are swept.
const IDEMPOTENCY_PRUNE_EVERY_MS: u64 = 60_000;

/// Runs until the process ends: submit what is queued, fetch receipts, sleep until
/// woken or a second passes.
pub async fn run(platform: Arc<Platform>, ledger: LedgerClient) {
    if let Err(e) = requeue_unreceipted(&platform).await {
        tracing::warn!(error = %e, "requeueing unreceipted records failed");
    }
    let mut pruned_ms = 0;
    loop {
        let mut busy = false;
        match submit_once(&platform, &ledger).await {
            Ok(n) => busy |= n > 0,
            Err(e) => tracing::warn!(error = %e, "evidence submission failed; will retry"),
        }
        if let Err(e) = platform.expire_due().await {
            tracing::warn!(error = %e, "expiring contracts failed; will retry");
        }
        // Idempotency keys are forgotten after 24 h; swept once a minute of platform time.
        let now = platform.now_ms();
        if now.saturating_sub(pruned_ms) >= IDEMPOTENCY_PRUNE_EVERY_MS || pruned_ms == 0 {
            match platform.prune_idempotency_keys().await {
                Ok(n) if n > 0 => tracing::debug!(keys = n, "idempotency keys pruned"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "pruning idempotency keys failed; will retry"),
            }
            pruned_ms = now.max(1);
        }
        match receipts_once(&platform, &ledger).await {
            Ok(n) => busy |= n > 0,
            Err(e) => tracing::warn!(error = %e, "receipt collection failed; will retry"),
        }
        if !busy {
            let wake = platform.evidence_wake.clone();
            let _ = tokio::time::timeout(Duration::from_millis(500), wake.notified()).await;
        }
    }
}

/// Requeues every record the ledger has not receipted (at start: whatever a node
/// accepted before a crash may not have been logged).
///
/// # Errors
/// [`Error::Db`].
pub async fn requeue_unreceipted(platform: &Platform) -> Result<u64, Error> {
    let mut n = 0;
    for queue in Queue::ALL {
        n += evidence::requeue_unreceipted(platform.store.pool(), queue).await?;
    }
    Ok(n)
}

/// Submits one batch of queued records; returns how many.
///
/// # Errors
/// [`Error::Ledger`], [`Error::Db`].
pub async fn submit_once(platform: &Platform, ledger: &LedgerClient) -> Result<usize, Error> {
    let mut n = 0;
    for queue in Queue::ALL {
        n += submit_queue(platform, ledger, queue).await?;
    }
    Ok(n)
}

async fn submit_queue(
    platform: &Platform,
    ledger: &LedgerClient,
    queue: Queue,
) -> Result<usize, Error> {
    let rows = evidence::queued(platform.store.pool(), queue, BATCH).await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut keys = Vec::with_capacity(rows.len());
    let mut records = Vec::with_capacity(rows.len());
    for r in rows {
        keys.push((r.contract_id, r.seq));
        records.push(r.record);
    }
    let started = std::time::Instant::now();
    let submitted = ledger
        .submit_batch(&records)
        .await
        .map_err(|e| Error::Ledger(e.to_string()))?;
    platform
        .stages
        .record(crate::stages::Stage::LedgerSubmit, started);
    if submitted.len() != records.len() {
        return Err(Error::Ledger(format!(
            "the ledger answered {} of {} records",
            submitted.len(),
            records.len()
        )));
    }
    let mut tx = platform.store.writer().begin().await?;
    for ((contract, seq), s) in keys.iter().zip(&submitted) {
        evidence::mark_submitted(
            &mut *tx,
            queue,
            contract,
            *seq,
            platform.now_ms().max(1),
            &s.leaf_hash,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(records.len())
}

/// Fetches receipts of submitted records that have none yet; returns how many arrived.
///
/// # Errors
/// [`Error::Ledger`], [`Error::Db`].
pub async fn receipts_once(platform: &Platform, ledger: &LedgerClient) -> Result<usize, Error> {
    let mut n = 0;
    for queue in Queue::ALL {
        n += receipts_queue(platform, ledger, queue).await?;
    }
    Ok(n)
}

async fn receipts_queue(
    platform: &Platform,
    ledger: &LedgerClient,
    queue: Queue,
) -> Result<usize, Error> {
    let rows = evidence::awaiting_receipt(platform.store.pool(), queue, RECEIPTS_PER_ROUND).await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut wanted = Vec::with_capacity(rows.len());
    for r in rows {
        let leaf: [u8; 32] = r
            .leaf_hash
            .try_into()
            .map_err(|_| Error::Internal("stored leaf hash".into()))?;
        wanted.push((r.contract_id, r.seq, leaf, r.submitted));
    }
    // The first wait covers the time to the next quorum checkpoint; the rest are then
    // usually ready at once. Fetched concurrently, a bounded number at a time.
    let started = std::time::Instant::now();
    let mut got = Vec::new();
    for chunk in wanted.chunks(64) {
        let fetches = chunk.iter().map(|(c, s, leaf, _)| {
            let ledger = ledger.clone();
            let leaf = *leaf;
            let (c, s) = (c.clone(), *s);
            async move {
                let r = ledger.receipt(&leaf, Duration::from_secs(2)).await;
                (c, s, r)
            }
        });
        for (c, s, r) in futures::future::join_all(fetches).await {
            match r {
                Ok(Some(receipt)) => got.push((c, s, receipt.text().to_owned())),
                Ok(None) => {}
                Err(e) => return Err(Error::Ledger(e.to_string())),
            }
        }
    }
    platform
        .stages
        .record(crate::stages::Stage::LedgerReceipts, started);
    // Records still without a receipt long after their submission go back to the queue.
    let now = platform.now_ms();
    let stale: Vec<_> = wanted
        .iter()
        .filter(|(c, s, _, at)| {
            u64::try_from(*at).unwrap_or(0) + RESUBMIT_AFTER_MS <= now
                && !got.iter().any(|(gc, gs, _)| gc == c && gs == s)
        })
        .collect();
    if !stale.is_empty() {
        tracing::info!(
            records = stale.len(),
            "resubmitting records without receipts"
        );
        let mut tx = platform.store.writer().begin().await?;
        for (c, s, _, at) in &stale {
            evidence::requeue(&mut *tx, queue, c, *s, *at).await?;
        }
        tx.commit().await?;
    }
    if got.is_empty() {
        return Ok(0);
    }
    let mut tx = platform.store.writer().begin().await?;
    for (contract, seq, text) in &got {
        evidence::set_receipt(
            &mut *tx,
            queue,
            contract,
            i(u64::try_from(*seq).unwrap_or(0)),
            text,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(got.len())
}
