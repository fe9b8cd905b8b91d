//! Master-key rotation: every key and every wallet seed re-sealed under new KEKs wrapped
//! by the new master key, online and resumable.
//!
//! 1. Start (one transaction): a new KEK generation `g+1`, one KEK per tenant wrapped by
//!    the new master key; `meta.rotation` = target master id. New keys are sealed under
//!    `g+1` from now on.
//! 2. Re-seal in batches of [`BATCH`] keys in key-id order, each batch one transaction
//!    that also advances the cursor: every record is decrypted under its old KEK,
//!    re-encrypted under the new one, and the rewritten record is checked to differ only
//!    in KEK generation and sealed bytes before it is written. A crash loses at most one
//!    uncommitted batch, which the next run redoes; every key stays readable throughout,
//!    since both generations' KEKs remain until the end.
//!    Wallet seed records (table `wallets`) are re-sealed the same way after the keys,
//!    with their own cursor (`meta.rotation_wallet_cursor`): each rewritten record is
//!    checked to differ only in KEK generation and sealed bytes, and to open to the same
//!    entropy.
//! 3. Finish: old generations' wrapped KEKs deleted, `meta.master` = new id, a
//!    `vault.master.rotated` evidence record.
//!
//! During an interrupted rotation, open the vault with the *old* master key and call
//! [`rotate`] again with the new one.

use crate::error::Error;
use crate::evidence;
use crate::ids::{KeyId, WalletId};
use crate::record::{KeyRecord, WalletRecord};
use crate::store;
use crate::vault::{Job, Vault, kek_aad};
use affix_seal::{Kek, MasterKey};
use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata};
use std::sync::Arc;

/// Keys re-sealed per transaction.
pub const BATCH: usize = 10_000;

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationReport {
    /// Keys re-sealed by this call (a resumed rotation counts only its own).
    pub resealed: u64,
    /// Keys in the vault.
    pub total: u64,
    /// The new KEK generation.
    pub generation: u32,
    /// Whether this call resumed an interrupted rotation.
    pub resumed: bool,
    /// Wallet seeds re-sealed by this call.
    pub wallets_resealed: u64,
    /// Wallets in the vault.
    pub wallets_total: u64,
}

/// Rotates the vault to `new_master`, calling `progress(done, total)` after each batch.
///
/// # Errors
/// [`Error::WrongMasterKey`] if a different rotation is in progress; master-key, storage
/// and evidence errors (rerun to resume).
pub fn rotate(
    vault: &Vault,
    new_master: Arc<dyn MasterKey>,
    now_ms: u64,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<RotationReport, Error> {
    let old_master = vault.master();
    let (target_gen, mut cursor, resumed) = start(vault, &old_master, &new_master)?;
    vault.set_previous_master(Some(old_master.clone()));
    vault.set_master(new_master.clone());
    vault.bump_gen(target_gen);

    let total = {
        let tx = vault.db().begin_read()?;
        tx.open_table(store::KEYS)?.len()?
    };
    let mut done = {
        // Keys before the cursor are done.
        let tx = vault.db().begin_read()?;
        let keys = tx.open_table(store::KEYS)?;
        match cursor {
            Some(c) => keys.range::<&[u8; 16]>(..=&c)?.count() as u64,
            None => 0,
        }
    };
    let mut resealed = 0u64;
    progress(done, total);
    loop {
        let batch: Vec<(KeyId, Vec<u8>)> = next_batch(vault, store::KEYS, cursor)?
            .into_iter()
            .map(|(k, v)| (KeyId(k), v))
            .collect();
        let Some((last, _)) = batch.last() else {
            break;
        };
        let last = *last;
        let mut rewritten = Vec::with_capacity(batch.len());
        for (id, bytes) in &batch {
            let record = KeyRecord::decode(bytes).map_err(|_| Error::Tampered(id.to_string()))?;
            if record.kek_gen >= target_gen {
                continue;
            }
            let tenant = vault.tenant_name(record.tenant)?;
            let secret = vault.open_secret(&tenant, id, &record)?;
            let mut fresh = record.clone();
            fresh.kek_gen = target_gen;
            let fresh = vault.seal(&tenant, id, fresh, secret.secret())?;
            // Check before writing: only the generation and the sealed bytes change.
            let mut expected = record.clone();
            expected.kek_gen = target_gen;
            expected.sealed = fresh.sealed;
            if expected != fresh
                || vault.open_secret(&tenant, id, &fresh)?.secret() != secret.secret()
            {
                return Err(Error::corrupt(format!(
                    "re-sealing key {id} changed more than its envelope"
                )));
            }
            rewritten.push((*id, fresh.encode()));
        }
        write_batch(
            vault,
            store::KEYS,
            rewritten.iter().map(|(id, b)| (&id.0, b.as_slice())),
            "rotation_cursor",
            last.0,
        )?;
        resealed += rewritten.len() as u64;
        done += batch.len() as u64;
        cursor = Some(last.0);
        progress(done.min(total), total);
    }
    let (wallets_resealed, wallets_total) = reseal_wallets(vault, target_gen)?;
    finish(
        vault,
        &old_master,
        &new_master,
        target_gen,
        resealed,
        wallets_resealed,
        now_ms,
    )?;
    Ok(RotationReport {
        resealed,
        total,
        generation: target_gen,
        resumed,
        wallets_resealed,
        wallets_total,
    })
}

/// Re-seals every wallet record below `target_gen`, in batches, from the wallet cursor.
/// Returns (re-sealed by this call, wallets in the vault).
fn reseal_wallets(vault: &Vault, target_gen: u32) -> Result<(u64, u64), Error> {
    let (total, mut cursor) = {
        let tx = vault.db().begin_read()?;
        let total = tx.open_table(store::WALLETS)?.len()?;
        let cursor = tx
            .open_table(store::META)?
            .get("rotation_wallet_cursor")?
            .and_then(|v| <[u8; 16]>::try_from(v.value()).ok());
        (total, cursor)
    };
    let mut resealed = 0u64;
    loop {
        let batch: Vec<(WalletId, Vec<u8>)> = next_batch(vault, store::WALLETS, cursor)?
            .into_iter()
            .map(|(k, v)| (WalletId(k), v))
            .collect();
        let Some((last, _)) = batch.last() else {
            break;
        };
        let last = *last;
        let mut rewritten = Vec::with_capacity(batch.len());
        for (id, bytes) in &batch {
            let record =
                WalletRecord::decode(bytes).map_err(|_| Error::Tampered(id.to_string()))?;
            if record.kek_gen >= target_gen {
                continue;
            }
            let tenant = vault.tenant_name(record.tenant)?;
            let entropy = vault.open_wallet_entropy(&tenant, id, &record)?;
            let mut fresh = record.clone();
            fresh.kek_gen = target_gen;
            let fresh = vault.seal_wallet(&tenant, id, fresh, &entropy)?;
            // Check before writing: only the generation and the sealed bytes change.
            let mut expected = record.clone();
            expected.kek_gen = target_gen;
            expected.sealed = fresh.sealed;
            if expected != fresh || *vault.open_wallet_entropy(&tenant, id, &fresh)? != *entropy {
                return Err(Error::corrupt(format!(
                    "re-sealing wallet {id} changed more than its envelope"
                )));
            }
            rewritten.push((*id, fresh.encode()));
        }
        write_batch(
            vault,
            store::WALLETS,
            rewritten.iter().map(|(id, b)| (&id.0, b.as_slice())),
            "rotation_wallet_cursor",
            last.0,
        )?;
        resealed += rewritten.len() as u64;
        cursor = Some(last.0);
    }
    Ok((resealed, total))
}

/// Begins a rotation (or finds the interrupted one): returns the target generation, the
/// cursor and whether it resumed.
fn start(
    vault: &Vault,
    old_master: &Arc<dyn MasterKey>,
    new_master: &Arc<dyn MasterKey>,
) -> Result<(u32, Option<[u8; 16]>, bool), Error> {
    if old_master.id() == new_master.id() {
        return Err(Error::Unsupported(
            "the new master key is the current one".into(),
        ));
    }
    let tx = vault.db().begin_write()?;
    let result = {
        let mut meta = tx.open_table(store::META)?;
        let rotation = meta.get("rotation")?.map(|v| v.value().to_vec());
        let cursor = meta
            .get("rotation_cursor")?
            .and_then(|v| <[u8; 16]>::try_from(v.value()).ok());
        let current_gen = meta
            .get("kek_gen")?
            .and_then(|v| <[u8; 4]>::try_from(v.value()).ok())
            .map_or(1, u32::from_be_bytes);
        match rotation {
            Some(target) if target == new_master.id().as_str().as_bytes() => {
                (current_gen, cursor, true)
            }
            Some(target) => {
                return Err(Error::WrongMasterKey {
                    given: new_master.id().to_string(),
                    expected: String::from_utf8_lossy(&target).into_owned(),
                });
            }
            None => {
                let generation = current_gen + 1;
                let tenants: Vec<u32> = {
                    let names = tx.open_table(store::TENANT_NAMES)?;
                    let mut v = Vec::new();
                    for row in names.iter()? {
                        v.push(row?.0.value());
                    }
                    v
                };
                let mut keks = tx.open_table(store::KEKS)?;
                for t in tenants {
                    let kek = Kek::random()?;
                    let wrapped = new_master.wrap(&kek, &kek_aad(generation, t))?;
                    keks.insert(
                        (generation, t),
                        (new_master.id().as_str(), wrapped.as_bytes().as_slice()),
                    )?;
                }
                meta.insert("rotation", new_master.id().as_str().as_bytes())?;
                meta.insert("kek_gen", generation.to_be_bytes().as_slice())?;
                meta.remove("rotation_cursor")?;
                meta.remove("rotation_wallet_cursor")?;
                (generation, None, false)
            }
        }
    };
    tx.commit()?;
    Ok(result)
}

fn finish(
    vault: &Vault,
    old_master: &Arc<dyn MasterKey>,
    new_master: &Arc<dyn MasterKey>,
    generation: u32,
    resealed: u64,
    wallets_resealed: u64,
    now_ms: u64,
) -> Result<(), Error> {
    let ev = evidence::record(
        "vault.master.rotated",
        "vault",
        now_ms,
        vault.submitter(),
        &[(
            "master-key-id",
            <sha2::Sha256 as sha2::Digest>::digest(new_master.id().as_str().as_bytes()).into(),
        )],
        &[
            ("from", old_master.id().as_str()),
            ("generation", &generation.to_string()),
            ("resealed", &resealed.to_string()),
            ("to", new_master.id().as_str()),
            ("wallets-resealed", &wallets_resealed.to_string()),
        ],
    )?;
    let new_id = new_master.id().as_str().to_owned();
    vault.commit(Job {
        key_creations: None,
        records: vec![ev],
        write: Box::new(move |tx, _| {
            let mut keks = tx.open_table(store::KEKS)?;
            let old: Vec<(u32, u32)> = keks
                .range((0, 0)..(generation, 0))?
                .map(|r| r.map(|(k, _)| k.value()))
                .collect::<Result<_, _>>()?;
            for k in old {
                keks.remove(k)?;
            }
            let mut meta = tx.open_table(store::META)?;
            meta.insert("master", new_id.as_bytes())?;
            meta.remove("rotation")?;
            meta.remove("rotation_cursor")?;
            meta.remove("rotation_wallet_cursor")?;
            Ok(())
        }),
    })?;
    vault.set_previous_master(None);
    vault.forget_ciphers();
    Ok(())
}

/// Writes re-sealed records and moves the cursor named `cursor` past `last`, in one
/// transaction: a crash leaves either the whole batch done or none of it.
fn write_batch<'a>(
    vault: &Vault,
    table: redb::TableDefinition<&[u8; 16], &[u8]>,
    rewritten: impl Iterator<Item = (&'a [u8; 16], &'a [u8])>,
    cursor: &str,
    last: [u8; 16],
) -> Result<(), Error> {
    let tx = vault.db().begin_write()?;
    {
        let mut table = tx.open_table(table)?;
        for (id, bytes) in rewritten {
            table.insert(id, bytes)?;
        }
        tx.open_table(store::META)?
            .insert(cursor, last.as_slice())?;
    }
    tx.commit()?;
    Ok(())
}

/// A stored record under its 16-byte id.
type Row = ([u8; 16], Vec<u8>);

/// The next (at most `BATCH`) rows of a record table after `cursor`.
fn next_batch(
    vault: &Vault,
    table: redb::TableDefinition<&[u8; 16], &[u8]>,
    cursor: Option<[u8; 16]>,
) -> Result<Vec<Row>, Error> {
    let tx = vault.db().begin_read()?;
    let table = tx.open_table(table)?;
    let rows: Box<dyn Iterator<Item = _>> = match cursor {
        Some(c) => Box::new(
            table
                .range::<&[u8; 16]>((std::ops::Bound::Excluded(&c), std::ops::Bound::Unbounded))?,
        ),
        None => Box::new(table.iter()?),
    };
    let mut out = Vec::with_capacity(BATCH);
    for row in rows.take(BATCH) {
        let (k, v) = row?;
        out.push((*k.value(), v.value().to_vec()));
    }
    Ok(out)
}
