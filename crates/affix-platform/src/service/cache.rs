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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use affix_contract::{ContractContent, Party, PartyId, Role, SigningOrder, Template};
    use affix_identity::Commitment;
    use affix_time::Date;

    use super::*;

    const NOW_MS: u64 = 1_767_225_600_000;

    fn contract(id: ContractId) -> Contract {
        let values: BTreeMap<String, String> = [
            ("lender", "张三"),
            ("borrower", "李四"),
            ("principal", "10000"),
            ("annual_rate_percent", "3.65"),
            ("start_date", "2026-01-01"),
            ("term_months", "12"),
            ("repayment_method", "equal_instalments"),
            ("purpose", "home renovation"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let fields = Template::loan_note()
            .validate(&values, Date::new(2026, 1, 1).unwrap())
            .unwrap();
        let parties = [(1u8, Role::Initiator), (2, Role::Signer)]
            .map(|(n, role)| Party {
                id: PartyId::from_bytes([n; 16]),
                role,
                display_name: format!("party {n}"),
                identity: Commitment::from_bytes([n; 32]),
            })
            .to_vec();
        let content = ContractContent::new(
            id,
            fields,
            parties,
            SigningOrder::Sequential,
            NOW_MS + 86_400_000,
        )
        .unwrap();
        Contract::create(content, NOW_MS).unwrap().0
    }

    fn entry(contract: &Contract, event_count: u64) -> Cached {
        Cached {
            event_count,
            head: contract.head(),
            contract: contract.clone(),
            parties: Arc::from(Vec::new()),
        }
    }

    #[test]
    fn an_entry_serves_only_its_event_count_and_head() {
        let cache = ContractCache::default();
        let id = ContractId::from_bytes([7; 16]);
        let created = contract(id);
        let initiator = created.content().initiator().id;
        let (sent, _) = created.send(initiator, NOW_MS + 1).unwrap();
        assert!(cache.get(&id, 1, &created.head()).is_none());
        cache.put(id, entry(&created, 1));
        assert!(cache.get(&id, 1, &created.head()).is_some());
        assert!(cache.get(&id, 2, &created.head()).is_none());
        assert!(cache.get(&id, 1, &sent.head()).is_none());
        // A later state replaces it; an earlier one does not come back.
        cache.put(id, entry(&sent, 2));
        cache.put(id, entry(&created, 1));
        assert!(cache.get(&id, 1, &created.head()).is_none());
        assert_eq!(cache.get(&id, 2, &sent.head()).unwrap().contract, sent);
    }

    #[test]
    fn a_shard_holds_at_most_its_bound_and_evicts_the_oldest() {
        let cache = ContractCache::default();
        let template = contract(ContractId::from_bytes([0; 16]));
        // Same last byte: the same shard.
        let id = |n: usize| {
            let mut bytes = [0u8; 16];
            bytes[..8].copy_from_slice(&(n as u64).to_be_bytes());
            ContractId::from_bytes(bytes)
        };
        for n in 0..ENTRIES_PER_SHARD + 10 {
            cache.put(id(n), entry(&template, 1));
        }
        let shard = cache.shard(&id(0)).unwrap();
        assert_eq!(shard.entries.len(), ENTRIES_PER_SHARD);
        assert_eq!(shard.order.len(), ENTRIES_PER_SHARD);
        drop(shard);
        assert!(cache.get(&id(9), 1, &template.head()).is_none());
        assert!(cache.get(&id(10), 1, &template.head()).is_some());
        assert!(cache.parties(&id(ENTRIES_PER_SHARD + 9)).is_some());
    }
}
