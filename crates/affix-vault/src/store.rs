//! The embedded store: table definitions and small typed accessors over `redb`.
//!
//! Tables written once per object (`keys`, `wallets`, `credentials`, `grants`, `key_disabled`,
//! `credential_revoked`, `nonces`, `usage`) are only ever inserted into; `insert_new`
//! refuses to overwrite. The exceptions, each documented at its table: `keys` and `wallets` values are
//! re-sealed by master-key rotation (immutable header checked byte for byte),
//! `grant_uses` and `sign_counts` counters, `recoveries` state and `meta`.
//!
//! The byte layouts of composite table keys are built here, beside the tables, and
//! nowhere else.

use crate::authz::Authorization;
use crate::error::Error;
use crate::ids::{CredentialId, KeyId, OwnerId};
use redb::{ReadableTable, TableDefinition};

/// Key records (`record::KeyRecord`) by key id. Insert-only, except that rotation
/// replaces the sealed secret and KEK generation of a record whose other bytes it
/// checks unchanged.
pub(crate) const KEYS: TableDefinition<&[u8; 16], &[u8]> = TableDefinition::new("keys");
/// Wallet seed records (`record::WalletRecord`) by wallet id. Insert-only, except that
/// rotation replaces the sealed entropy and KEK generation of a record whose other bytes
/// it checks unchanged.
pub(crate) const WALLETS: TableDefinition<&[u8; 16], &[u8]> = TableDefinition::new("wallets");
/// Disabled keys: key id → (time ms, reason). Insert-only.
pub(crate) const KEY_DISABLED: TableDefinition<&[u8; 16], (u64, &str)> =
    TableDefinition::new("key_disabled");
/// Credentials (`record::CredentialRecord`) by id. Insert-only.
pub(crate) const CREDENTIALS: TableDefinition<&[u8; 16], &[u8]> =
    TableDefinition::new("credentials");
/// Revoked credentials: id → time ms. Insert-only.
pub(crate) const CREDENTIAL_REVOKED: TableDefinition<&[u8; 16], u64> =
    TableDefinition::new("credential_revoked");
/// Owner's credentials: (tenant ‖ owner ‖ credential id) → (). Insert-only index.
pub(crate) const OWNER_CREDENTIALS: TableDefinition<&[u8; 36], ()> =
    TableDefinition::new("owner_credentials");
/// Passkeys (`record::PasskeyRecord`) by the vault's credential id. Insert-only.
pub(crate) const PASSKEYS: TableDefinition<&[u8; 16], &[u8]> = TableDefinition::new("passkeys");
/// Passkey sign counters by credential id: the highest accepted, written in the commit
/// of each use (only ever raised).
pub(crate) const SIGN_COUNTS: TableDefinition<&[u8; 16], u32> = TableDefinition::new("sign_counts");
/// Grants (`record::GrantRecord`) by id. Insert-only.
pub(crate) const GRANTS: TableDefinition<&[u8; 16], &[u8]> = TableDefinition::new("grants");
/// Signatures made under each grant (a counter, only ever incremented).
pub(crate) const GRANT_USES: TableDefinition<&[u8; 16], u32> = TableDefinition::new("grant_uses");
/// Revoked grants: id → time ms. Insert-only.
pub(crate) const GRANT_REVOKED: TableDefinition<&[u8; 16], u64> =
    TableDefinition::new("grant_revoked");
/// Used authorization nonces: (expiry ms BE ‖ credential ‖ nonce) → expiry ms. Keyed by
/// expiry first so that inserts land at the end of the tree (expiries grow with time and
/// lie at most five minutes ahead) instead of dirtying a random page each; a replay
/// carries the same statement, hence the same expiry, and finds its row. Entries past
/// expiry may be pruned (a range delete): an expired authorization is refused anyway.
pub(crate) const NONCES: TableDefinition<&[u8; 40], u64> = TableDefinition::new("nonces");
/// Evidence index: (key or wallet id ‖ leaf index BE) → event code. Insert-only.
pub(crate) const USAGE: TableDefinition<&[u8; 24], u8> = TableDefinition::new("usage");
/// Creation records of key batches: first key sequence number → (keys, leaf of the first
/// key's `vault.key.created` record). Key `first + i` was recorded at leaf `leaf + i`:
/// one row per batch instead of one per key. Insert-only.
pub(crate) const CREATIONS: TableDefinition<u64, (u32, u64)> = TableDefinition::new("creations");
/// Evidence index for owners: (tenant ‖ owner ‖ leaf index BE) → event code. Insert-only.
pub(crate) const OWNER_EVENTS: TableDefinition<&[u8; 28], u8> =
    TableDefinition::new("owner_events");
/// Tenants: name → number, and number → name. Insert-only.
pub(crate) const TENANTS: TableDefinition<&str, u32> = TableDefinition::new("tenants");
/// Tenant numbers to names. Insert-only.
pub(crate) const TENANT_NAMES: TableDefinition<u32, &str> = TableDefinition::new("tenant_names");
/// Wrapped KEKs: (generation, tenant number) → (master key id, wrapped bytes).
/// Insert-only; a generation's rows are deleted when rotation has moved every key off it.
pub(crate) const KEKS: TableDefinition<(u32, u32), (&str, &[u8])> = TableDefinition::new("keks");
/// Recovery codes: (tenant ‖ owner) → salt ‖ SHA-256(context ‖ salt ‖ code)
/// (`recovery::RecoveryCodeDigest`); written, and replaced, only on the owner's
/// `set-recovery-code` authorization.
pub(crate) const RECOVERY_CODES: TableDefinition<&[u8; 20], &[u8]> =
    TableDefinition::new("recovery_codes");
/// Recoveries by id: the current state (`recovery::Recovery` encoding); every transition
/// is also an evidence record.
pub(crate) const RECOVERIES: TableDefinition<&[u8; 16], &[u8]> = TableDefinition::new("recoveries");
/// Last recovery start per owner: (tenant ‖ owner) → time ms (rate limit).
pub(crate) const RECOVERY_LAST_START: TableDefinition<&[u8; 20], u64> =
    TableDefinition::new("recovery_last_start");
/// Evidence outbox: leaf index → record bytes, committed with the state change the record
/// describes; moved into the evidence log in order by the drainer, then deleted.
pub(crate) const OUTBOX: TableDefinition<u64, &[u8]> = TableDefinition::new("outbox");
/// Pending derived evidence: first leaf → (first key sequence number, count) of a batch
/// of created keys whose `vault.key.created` records the drainer derives from `keys`
/// (`vault::drain::creation_records`). Deleted, like outbox rows, once the log holds them.
pub(crate) const OUTBOX_KEYS: TableDefinition<u64, (u64, u32)> =
    TableDefinition::new("outbox_keys");
/// In `index.redb`: signatures by key, (key id ‖ leaf index BE) → (). Derived from the
/// evidence log's `vault.key.signed` records by the drainer; rebuilt from the log when
/// behind (a crash between a log append and its index commit) or missing.
pub(crate) const SIGNED_INDEX: TableDefinition<&[u8; 24], ()> = TableDefinition::new("signed");
/// In `index.redb`: `indexed` → leaves of the log already indexed.
pub(crate) const INDEX_META: TableDefinition<&str, u64> = TableDefinition::new("index_meta");
/// Vault metadata: format, master key id, current KEK generation, rotation cursor.
pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

/// Inserts `value` under `key` unless the key exists.
pub(crate) fn insert_new<K, V>(
    table: &mut redb::Table<'_, K, V>,
    key: K::SelfType<'_>,
    value: V::SelfType<'_>,
    what: &'static str,
    id: impl FnOnce() -> String,
) -> Result<(), Error>
where
    K: redb::Key + 'static,
    V: redb::Value + 'static,
{
    if table.get(&key)?.is_some() {
        return Err(Error::AlreadyExists { what, id: id() });
    }
    table.insert(key, value)?;
    Ok(())
}

/// (tenant number ‖ owner id).
pub(crate) fn owner_key(tenant: u32, owner: &[u8; 16]) -> [u8; 20] {
    let mut k = [0u8; 20];
    k[..4].copy_from_slice(&tenant.to_be_bytes());
    k[4..].copy_from_slice(owner);
    k
}

pub(crate) fn owner_cred_key(t: u32, owner: &OwnerId, cred: &CredentialId) -> [u8; 36] {
    let mut k = [0u8; 36];
    k[..20].copy_from_slice(&owner_key(t, &owner.0));
    k[20..].copy_from_slice(&cred.0);
    k
}

pub(crate) fn owner_event_key(t: u32, owner: &OwnerId, leaf: u64) -> [u8; 28] {
    let mut k = [0u8; 28];
    k[..20].copy_from_slice(&owner_key(t, &owner.0));
    k[20..].copy_from_slice(&leaf.to_be_bytes());
    k
}

/// Indexes the evidence record at `leaf` under the owner it is about.
pub(crate) fn index_owner_event(
    tx: &redb::WriteTransaction,
    t: u32,
    owner: &OwnerId,
    leaf: u64,
    event: u8,
) -> Result<(), Error> {
    tx.open_table(OWNER_EVENTS)?
        .insert(&owner_event_key(t, owner, leaf), event)?;
    Ok(())
}

pub(crate) fn usage_key(key: &KeyId, leaf: u64) -> [u8; 24] {
    usage_key_of(&key.0, leaf)
}

/// (key or wallet id ‖ leaf index BE): wallet ids have their first bit set and key ids
/// do not, so the two share the `usage` index without meeting.
pub(crate) fn usage_key_of(id: &[u8; 16], leaf: u64) -> [u8; 24] {
    let mut k = [0u8; 24];
    k[..16].copy_from_slice(id);
    k[16..].copy_from_slice(&leaf.to_be_bytes());
    k
}

/// The `nonces` table key of a spent authorization: expiry ms BE ‖ credential ‖ nonce.
pub(crate) fn nonce_row(auth: &Authorization) -> [u8; 40] {
    let mut k = [0u8; 40];
    k[..8].copy_from_slice(&auth.statement.expires_ms.to_be_bytes());
    k[8..].copy_from_slice(&nonce_key(auth));
    k
}

/// An authorization's identity for in-flight reservations: credential ‖ nonce.
pub(crate) fn nonce_key(auth: &Authorization) -> [u8; 32] {
    let mut k = [0u8; 32];
    k[..16].copy_from_slice(&auth.statement.credential.0);
    k[16..].copy_from_slice(&auth.statement.nonce);
    k
}
