//! Replayed contract state kept in memory, so that a request does not read and replay
//! every event of its contract.
//!
//! The database stays the source of truth: an entry is used only when the contract's
//! row, read in the request, has the entry's event count and chain head. The head is the
//! hash over the whole chain, so a matching head is the replayed state of exactly those
//! events; anything else (another process appended, a step that never committed) misses
//! and is replayed from the stored events. The parties' rows (`contract_parties`: party,
//! person, salt, seal) never change after creation and ride along.
//!
//! Bounded: [`SHARDS`] shards of at most [`ENTRIES_PER_SHARD`] contracts, the oldest
//! insertion evicted first.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use affix_contract::{Contract, ContractId, Sha256Digest};

use super::PartyRow;

/// Shards (each behind its own lock).
const SHARDS: usize = 16;
/// Contracts per shard: 16 × 4,096 = 65,536 in all, a few KiB each.
const ENTRIES_PER_SHARD: usize = 4_096;

/// One contract's replayed state.
#[derive(Clone)]
pub(super) struct Cached {
    pub(super) event_count: u64,
    pub(super) head: Sha256Digest,
    pub(super) contract: Contract,
    pub(super) parties: Arc<[PartyRow]>,
}

#[derive(Default)]
struct Shard {
    entries: HashMap<ContractId, Cached>,
    /// Insertion order of the keys in `entries` (each key once).
    order: VecDeque<ContractId>,
}

/// The cache (see the module documentation).
pub(super) struct ContractCache {
    shards: Vec<Mutex<Shard>>,
}

impl Default for ContractCache {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
        }
    }
}

impl ContractCache {
    fn shard(&self, id: &ContractId) -> Option<std::sync::MutexGuard<'_, Shard>> {
        // Contract ids are random: their last byte spreads them evenly.
        let n = usize::from(id.as_bytes()[15]) % SHARDS;
        // A poisoned shard is only a cache miss.
        self.shards.get(n)?.lock().ok()
    }

    /// The entry of `id` if it is the state after `event_count` events ending in `head`.
    pub(super) fn get(
        &self,
        id: &ContractId,
        event_count: u64,
        head: &Sha256Digest,
    ) -> Option<Cached> {
        let shard = self.shard(id)?;
        let entry = shard.entries.get(id)?;
        (entry.event_count == event_count && entry.head == *head).then(|| entry.clone())
    }

    /// The parties of `id`, whatever its state.
    pub(super) fn parties(&self, id: &ContractId) -> Option<Arc<[PartyRow]>> {
        Some(self.shard(id)?.entries.get(id)?.parties.clone())
    }

    /// Keeps `entry` as the state of `id`, unless a later state is already kept.
    pub(super) fn put(&self, id: ContractId, entry: Cached) {
        let Some(mut shard) = self.shard(&id) else {
            return;
        };
        if let Some(old) = shard.entries.get_mut(&id) {
            if old.event_count <= entry.event_count {
                *old = entry;
            }
            return;
        }
        while shard.entries.len() >= ENTRIES_PER_SHARD {
            let Some(oldest) = shard.order.pop_front() else {
                break;
            };
            shard.entries.remove(&oldest);
        }
        shard.order.push_back(id);
        shard.entries.insert(id, entry);
    }
}
