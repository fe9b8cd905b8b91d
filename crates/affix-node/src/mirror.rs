//! A mirror: follows one or more nodes through the C2SP read API (checkpoint and entry
//! bundles), verifies everything — every checkpoint's quorum of signatures, and that the
//! entries it fetched rebuild exactly the signed root, which also proves each checkpoint
//! consistent with the previous one — stores it durably, and serves the same read API.
//! A mirror needs no trust in the node it copies: only the consortium's verifier keys.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use affix_logstore::LogStore;
use affix_merkle::{Hash, TileId, TreeSize};
use affix_note::{SignedCheckpoint, TrustPolicy};
use serde_json::json;

use crate::Error;
use crate::http::{LogView, Shared};

/// Largest checkpoint or entry bundle fetched.
const MAX_FETCH_BYTES: usize = 256 * 65_537;

/// The mirror's state.
pub struct Mirror {
    store: LogStore,
    policy: TrustPolicy,
    checkpoint: Option<SignedCheckpoint>,
    leaves: HashMap<Hash, u64>,
    keys_file: String,
    sources: Vec<String>,
    last_error: Option<String>,
    catch_up: Option<CatchUp>,
}

/// A catch-up in progress: entries being fetched from a source that is ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatchUp {
    /// The mirror's size when the round started.
    pub from: u64,
    /// Entries fetched (not yet verified nor stored) so far, counted from `from`.
    pub fetched: u64,
    /// The size of the source's verified checkpoint.
    pub target: u64,
}

impl Mirror {
    /// Opens (or creates) a mirror in `dir` for the log `policy` describes.
    pub fn open(
        dir: &Path,
        policy: TrustPolicy,
        keys_file: String,
        sources: Vec<String>,
    ) -> Result<Self, Error> {
        let log_dir = dir.join("log");
        let store = if log_dir.join("config").exists() {
            LogStore::open(&log_dir)?
        } else {
            std::fs::create_dir_all(dir).map_err(Error::io("create directory", dir))?;
            LogStore::create(&log_dir, policy.origin().as_str())?
        };
        if store.origin() != policy.origin().as_str() {
            return Err(Error::Config(format!(
                "{} mirrors {}, not {}",
                dir.display(),
                store.origin(),
                policy.origin()
            )));
        }
        let checkpoint = match store.checkpoint()? {
            Some(bytes) => {
                let c = SignedCheckpoint::parse(&bytes)?;
                c.verify(&policy)?;
                Some(c)
            }
            None => None,
        };
        let leaves = store
            .leaf_hashes()?
            .into_iter()
            .enumerate()
            .map(|(i, h)| (h, i as u64))
            .collect();
        Ok(Self {
            store,
            policy,
            checkpoint,
            leaves,
            keys_file,
            sources,
            last_error: None,
            catch_up: None,
        })
    }

    /// The catch-up in progress, if a round is fetching entries (for a progress display).
    pub fn catch_up(&self) -> Option<CatchUp> {
        self.catch_up
    }
}

impl LogView for Mirror {
    fn store(&self) -> &LogStore {
        &self.store
    }

    fn quorum_checkpoint(&self) -> Option<&SignedCheckpoint> {
        self.checkpoint.as_ref()
    }

    fn index_of(&self, leaf_hash: &Hash) -> Option<u64> {
        self.leaves.get(leaf_hash).copied()
    }

    fn verifier_keys(&self) -> String {
        self.keys_file.clone()
    }

    fn status(&self) -> serde_json::Value {
        json!({
            "kind": "mirror",
            "sources": self.sources,
            "last_error": self.last_error,
        })
    }
}

async fn fetch(client: &reqwest::Client, url: &str) -> Result<Vec<u8>, String> {
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("{url}: HTTP {}", response.status()));
    }
    if response
        .content_length()
        .is_some_and(|l| l > MAX_FETCH_BYTES as u64)
    {
        return Err(format!("{url}: response too large"));
    }
    let bytes = response.bytes().await.map_err(|e| format!("{url}: {e}"))?;
    if bytes.len() > MAX_FETCH_BYTES {
        return Err(format!("{url}: response too large"));
    }
    Ok(bytes.to_vec())
}

/// One round against one source: fetch and verify its checkpoint; if it is ahead, fetch
/// the missing entries, check they rebuild its root, then store them durably.
async fn sync_once(
    shared: &Shared<Mirror>,
    client: &reqwest::Client,
    source: &str,
) -> Result<u64, String> {
    let (policy, local) = {
        let m = shared.lock();
        (m.policy.clone(), m.store.size().0)
    };
    let bytes = fetch(client, &format!("{source}/checkpoint")).await?;
    let signed =
        SignedCheckpoint::parse(&bytes).map_err(|e| format!("{source}: checkpoint: {e}"))?;
    let verified = signed
        .verify(&policy)
        .map_err(|e| format!("{source}: checkpoint does not verify: {e}"))?;
    let size = verified.size().0;
    if size < local {
        return Ok(local);
    }
    let mut entries: Vec<Vec<u8>> = Vec::new();
    let mut next = local;
    while next < size {
        shared.lock().catch_up = Some(CatchUp {
            from: local,
            fetched: next - local,
            target: size,
        });
        let bundle = next / 256;
        let width = (size - bundle * 256).min(256);
        let tile = TileId::entries(bundle, u16::try_from(width).unwrap_or(256))
            .map_err(|e| e.to_string())?;
        let data = fetch(client, &format!("{source}/{}", tile.path())).await?;
        let parsed: Vec<Vec<u8>> = affix_merkle::decode_bundle(&data, 256)
            .ok()
            .filter(|p| p.len() as u64 == width)
            .ok_or_else(|| format!("{source}: malformed entry bundle {}", tile.path()))?
            .into_iter()
            .map(<[u8]>::to_vec)
            .collect();
        let skip = usize::try_from(next - bundle * 256).unwrap_or(0);
        entries.extend(parsed.into_iter().skip(skip));
        next = bundle * 256 + width;
    }
    let mut m = shared.lock();
    if m.store.size().0 != local {
        return Ok(m.store.size().0);
    }
    // Rebuild the signed root from our tree plus the fetched entries before storing
    // anything: a node serving entries its checkpoint does not vouch for (or a checkpoint
    // inconsistent with the one we hold) is caught here.
    let suite = policy.origin().suite();
    let mut tree = m.store.tree().clone();
    for e in &entries {
        tree.append(suite.leaf_hash(e)).map_err(|e| e.to_string())?;
    }
    if tree.size() != TreeSize(size) || tree.root() != *verified.root() {
        return Err(format!(
            "{source}: entries do not rebuild the signed root at size {size} (inconsistent log or bad data)"
        ));
    }
    let range = m.store.append(&entries).map_err(|e| e.to_string())?;
    let hashes: Vec<Hash> = entries.iter().map(|e| suite.leaf_hash(e)).collect();
    for (i, h) in range.zip(hashes) {
        m.leaves.insert(h, i);
    }
    m.store.save_checkpoint(&bytes).map_err(|e| e.to_string())?;
    m.checkpoint = Some(signed);
    Ok(size)
}

/// Follows the sources forever, trying each in turn, every `interval`.
pub async fn follow(shared: Arc<Shared<Mirror>>, interval: Duration) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_default();
    let sources = shared.lock().sources.clone();
    loop {
        for source in &sources {
            let synced = sync_once(&shared, &client, source).await;
            shared.lock().catch_up = None;
            match synced {
                Ok(_) => {
                    shared.lock().last_error = None;
                    shared.publish();
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "mirror sync failed");
                    shared.lock().last_error = Some(e);
                }
            }
        }
        tokio::time::sleep(interval).await;
    }
}
