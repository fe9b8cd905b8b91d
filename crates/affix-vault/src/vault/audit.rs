//! Audit: a key's, an owner's (and, in [`crate::wallet`], a wallet's) evidence records,
//! read back from the evidence log — or, for records not drained yet, from the journal
//! frames in memory and the outbox.

use super::Vault;
use super::drain::creation_records;
use crate::error::Error;
use crate::ids::{KeyId, OwnerId, TenantId};
use crate::store::{self, owner_event_key, usage_key};
use redb::ReadableDatabase;

/// One entry of a key's or owner's audit trail.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    /// Leaf index in the evidence log.
    pub leaf: u64,
    /// The record.
    pub record: affix_evidence::EvidenceRecord,
}

impl Vault {
    /// Every evidence record about a key (creation, signatures, grants, disablement), in
    /// log order, at most `limit` from leaf `from` on.
    ///
    /// # Errors
    /// [`Error::KeyNotFound`]; storage and evidence errors.
    pub fn audit_key(
        &self,
        tenant: &TenantId,
        key: &KeyId,
        from: u64,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, Error> {
        self.load_key(tenant, key)?;
        self.flush_evidence()?;
        let leaves: Vec<u64> = {
            let tx = self.db.begin_read()?;
            let creations = tx.open_table(store::CREATIONS)?;
            let seq = key.sequence();
            let created = match creations.range(..=seq)?.next_back() {
                Some(row) => {
                    let (first_seq, v) = row?;
                    let (count, leaf) = v.value();
                    (seq - first_seq.value() < u64::from(count))
                        .then(|| leaf + (seq - first_seq.value()))
                }
                None => None,
            };
            let usage = tx.open_table(store::USAGE)?;
            let lo = usage_key(key, from);
            let hi = usage_key(key, u64::MAX);
            let leaf_of = |k: &[u8; 24]| {
                let mut leaf = [0u8; 8];
                leaf.copy_from_slice(&k[16..]);
                u64::from_be_bytes(leaf)
            };
            let mut out: Vec<u64> = created.filter(|l| *l >= from).into_iter().collect();
            for row in usage.range::<&[u8; 24]>(&lo..=&hi)?.take(limit) {
                out.push(leaf_of(row?.0.value()));
            }
            // Signatures, from the index the drainer keeps (current: flushed above).
            let itx = self.index.begin_read()?;
            let signed = itx.open_table(store::SIGNED_INDEX)?;
            for row in signed.range::<&[u8; 24]>(&lo..=&hi)?.take(limit) {
                out.push(leaf_of(row?.0.value()));
            }
            out.sort_unstable();
            out.truncate(limit);
            out
        };
        self.read_evidence(&leaves)
    }

    /// Every evidence record about an owner's credentials and recoveries.
    ///
    /// # Errors
    /// Storage and evidence errors.
    pub fn audit_owner(
        &self,
        tenant: &TenantId,
        owner: OwnerId,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, Error> {
        let Some(t) = self.lookup_tenant(tenant)? else {
            return Ok(Vec::new());
        };
        let leaves: Vec<u64> = {
            let tx = self.db.begin_read()?;
            let index = tx.open_table(store::OWNER_EVENTS)?;
            let lo = owner_event_key(t, &owner, 0);
            let hi = owner_event_key(t, &owner, u64::MAX);
            let mut out = Vec::new();
            for row in index.range::<&[u8; 28]>(&lo..=&hi)?.take(limit) {
                let (k, _) = row?;
                let mut leaf = [0u8; 8];
                leaf.copy_from_slice(&k.value()[20..]);
                out.push(u64::from_be_bytes(leaf));
            }
            out
        };
        self.read_evidence(&leaves)
    }

    pub(crate) fn read_evidence(&self, leaves: &[u64]) -> Result<Vec<AuditEntry>, Error> {
        // Lock the log first: the drainer moves records out of the outbox only under
        // this lock, so each record is in exactly one of the two while we read.
        let log = self
            .evidence
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let pending = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let tx = self.db.begin_read()?;
        let outbox = tx.open_table(store::OUTBOX)?;
        let outbox_keys = tx.open_table(store::OUTBOX_KEYS)?;
        let missing = |leaf: u64| Error::missing_evidence(format!("record {leaf} is missing"));
        leaves
            .iter()
            .map(|&leaf| {
                let bytes = if leaf < log.size().0 {
                    log.entry(affix_merkle::LeafIndex(leaf))?
                } else if let Some(bytes) = pending
                    .iter()
                    .find(|f| f.first_leaf <= leaf && leaf < f.end())
                    .and_then(|f| f.records.get(usize::try_from(leaf - f.first_leaf).ok()?))
                {
                    bytes.clone()
                } else if let Some(v) = outbox.get(leaf)? {
                    v.value().to_vec()
                } else {
                    // A creation record not drained yet: derive it as the drainer will.
                    let row = outbox_keys.range(..=leaf)?.next_back().transpose()?;
                    let (first, (seq, count)) = row
                        .map(|(k, v)| (k.value(), v.value()))
                        .ok_or_else(|| missing(leaf))?;
                    if leaf - first >= u64::from(count) {
                        return Err(missing(leaf));
                    }
                    creation_records(&tx, seq + (leaf - first), 1, self.submitter())?
                        .pop()
                        .ok_or_else(|| missing(leaf))?
                };
                Ok(AuditEntry {
                    leaf,
                    record: affix_evidence::EvidenceRecord::decode(&bytes)?,
                })
            })
            .collect()
    }
}
