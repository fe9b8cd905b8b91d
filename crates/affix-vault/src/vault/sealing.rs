//! Sealing: tenants and their key-encryption keys (KEKs), the cache of unwrapped KEK
//! ciphers, and the AES-256-GCM envelopes every key and wallet seed is stored in.
//! Mechanism only: who may use a key is decided elsewhere.

use super::Vault;
use crate::error::Error;
use crate::ids::{KeyId, TenantId};
use crate::keys::SecretKey;
use crate::record::{KeyRecord, SEALED_LEN};
use crate::store;
use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{AeadInOut, KeyInit};
use affix_seal::{Kek, MasterKey, WrappedKek};
use redb::{ReadableDatabase, ReadableTable};
use std::sync::Arc;
use zeroize::Zeroizing;

/// Associated-data prefix of wrapped KEKs (then generation and tenant number, BE).
pub const KEK_AAD_CONTEXT: &[u8] = b"affix.dev/vault/kek/v1\0";

impl Vault {
    /// The number of a tenant, registering it (and its KEK) on first use.
    pub(crate) fn tenant_number(&self, tenant: &TenantId) -> Result<u32, Error> {
        if let Some(n) = self.lookup_tenant(tenant)? {
            return Ok(n);
        }
        let generation = self.current_gen();
        let master = self.master();
        let tx = self.db.begin_write()?;
        let n = {
            let mut names = tx.open_table(store::TENANTS)?;
            if let Some(n) = names.get(tenant.as_str())? {
                n.value()
            } else {
                let mut numbers = tx.open_table(store::TENANT_NAMES)?;
                let n = numbers.last()?.map_or(1, |(k, _)| k.value() + 1);
                names.insert(tenant.as_str(), n)?;
                numbers.insert(n, tenant.as_str())?;
                let kek = Kek::random()?;
                let wrapped = master.wrap(&kek, &kek_aad(generation, n))?;
                tx.open_table(store::KEKS)?.insert(
                    (generation, n),
                    (master.id().as_str(), wrapped.as_bytes().as_slice()),
                )?;
                n
            }
        };
        tx.commit()?;
        self.tenants
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(n, tenant.clone());
        Ok(n)
    }

    pub(crate) fn lookup_tenant(&self, tenant: &TenantId) -> Result<Option<u32>, Error> {
        {
            let cache = self
                .tenants
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((n, _)) = cache.iter().find(|(_, t)| *t == tenant) {
                return Ok(Some(*n));
            }
        }
        let tx = self.db.begin_read()?;
        let names = tx.open_table(store::TENANTS)?;
        Ok(names.get(tenant.as_str())?.map(|v| v.value()))
    }

    pub(crate) fn tenant_name(&self, n: u32) -> Result<TenantId, Error> {
        self.tenants
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&n)
            .cloned()
            .ok_or_else(|| Error::corrupt(format!("tenant number {n} has no name")))
    }

    /// The current or (during a rotation) previous master key with this id.
    fn master_by_id(&self, id: &str) -> Result<Arc<dyn MasterKey>, Error> {
        let current = self.master();
        if current.id().as_str() == id {
            return Ok(current);
        }
        if let Some(previous) = self
            .previous_master
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            && previous.id().as_str() == id
        {
            return Ok(previous.clone());
        }
        Err(Error::WrongMasterKey {
            given: current.id().to_string(),
            expected: id.to_owned(),
        })
    }

    /// The AES-256-GCM cipher of KEK (generation, tenant), unwrapped once and cached.
    pub(crate) fn cipher(&self, generation: u32, tenant: u32) -> Result<Arc<Aes256Gcm>, Error> {
        if let Some(c) = self
            .ciphers
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&(generation, tenant))
        {
            return Ok(c.clone());
        }
        let (master_id, wrapped) = {
            let tx = self.db.begin_read()?;
            let keks = tx.open_table(store::KEKS)?;
            let row = keks.get((generation, tenant))?.ok_or_else(|| {
                Error::corrupt(format!(
                    "no KEK for generation {generation}, tenant {tenant}"
                ))
            })?;
            let (id, bytes) = row.value();
            (id.to_owned(), WrappedKek::decode(bytes)?)
        };
        let master = self.master_by_id(&master_id)?;
        let kek = master.unwrap(&wrapped, &kek_aad(generation, tenant))?;
        let cipher = Arc::new(
            Aes256Gcm::new_from_slice(kek.expose_secret())
                .map_err(|_| Error::internal("AES key length"))?,
        );
        self.ciphers
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert((generation, tenant), cipher.clone());
        Ok(cipher)
    }

    pub(crate) fn forget_ciphers(&self) {
        self.ciphers
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    /// Seals `secret` into a key record (under KEK generation `record.kek_gen`).
    pub(crate) fn seal(
        &self,
        tenant: &TenantId,
        id: &KeyId,
        mut record: KeyRecord,
        secret: &[u8; 32],
    ) -> Result<KeyRecord, Error> {
        record.sealed = self.seal_envelope(
            &Envelope {
                kek_gen: record.kek_gen,
                tenant: record.tenant,
                nonce: key_nonce(id),
                aad: record.aad(tenant, id),
            },
            secret,
        )?;
        Ok(record)
    }

    /// Opens a key record's envelope; any tampering gives [`Error::Tampered`].
    pub(crate) fn open_secret(
        &self,
        tenant: &TenantId,
        id: &KeyId,
        record: &KeyRecord,
    ) -> Result<SecretKey, Error> {
        let secret = self
            .open_envelope(
                &Envelope {
                    kek_gen: record.kek_gen,
                    tenant: record.tenant,
                    nonce: key_nonce(id),
                    aad: record.aad(tenant, id),
                },
                &record.sealed,
            )
            .map_err(|_| Error::Tampered(id.to_string()))?;
        SecretKey::from_secret(record.algorithm, secret)
            .map_err(|_| Error::Tampered(id.to_string()))
    }

    /// AES-256-GCM of a 32-byte secret under the KEK an envelope names: ciphertext ‖ tag.
    /// Every sealed record (keys, wallet seeds) goes through here and [`Vault::open_envelope`].
    pub(crate) fn seal_envelope(
        &self,
        envelope: &Envelope,
        secret: &[u8; 32],
    ) -> Result<[u8; SEALED_LEN], Error> {
        let cipher = self.cipher(envelope.kek_gen, envelope.tenant)?;
        let mut buf = [0u8; SEALED_LEN];
        buf[..32].copy_from_slice(secret);
        let nonce = aes_gcm::Nonce::<aes_gcm::aead::consts::U12>::from(envelope.nonce);
        let tag = cipher
            .encrypt_inout_detached(&nonce, &envelope.aad, (&mut buf[..32]).into())
            .map_err(|_| Error::internal("AES-GCM encryption failed"))?;
        buf[32..].copy_from_slice(&tag);
        Ok(buf)
    }

    /// Opens what [`Vault::seal_envelope`] sealed. Any change to the sealed bytes, the
    /// associated data, the nonce or the KEK gives [`Error::Tampered`] (with an empty id:
    /// callers name the record).
    pub(crate) fn open_envelope(
        &self,
        envelope: &Envelope,
        sealed: &[u8; SEALED_LEN],
    ) -> Result<Zeroizing<[u8; 32]>, Error> {
        let cipher = self.cipher(envelope.kek_gen, envelope.tenant)?;
        let mut secret = Zeroizing::new([0u8; 32]);
        secret.copy_from_slice(&sealed[..32]);
        let nonce = aes_gcm::Nonce::<aes_gcm::aead::consts::U12>::from(envelope.nonce);
        let tag =
            aes_gcm::Tag::try_from(&sealed[32..]).map_err(|_| Error::Tampered(String::new()))?;
        cipher
            .decrypt_inout_detached(&nonce, &envelope.aad, (&mut secret[..]).into(), &tag)
            .map_err(|_| Error::Tampered(String::new()))?;
        Ok(secret)
    }
}

/// Where and how a 32-byte secret is sealed: the KEK (generation, tenant number), the
/// AES-GCM nonce and the associated data.
pub(crate) struct Envelope {
    pub(crate) kek_gen: u32,
    pub(crate) tenant: u32,
    pub(crate) nonce: [u8; 12],
    pub(crate) aad: Vec<u8>,
}

/// The envelope nonce of a key: the first 12 bytes of its id (unique per KEK: the
/// sequence number and 4 random bytes).
fn key_nonce(id: &KeyId) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(&id.0[..12]);
    nonce
}

/// Associated data of a wrapped KEK.
pub(crate) fn kek_aad(generation: u32, tenant: u32) -> Vec<u8> {
    let mut aad = KEK_AAD_CONTEXT.to_vec();
    aad.extend_from_slice(&generation.to_be_bytes());
    aad.extend_from_slice(&tenant.to_be_bytes());
    aad
}
