//! Keys: creation (in batches, one commit each), their public description, and
//! disablement on the owner's authorization.

use super::commit::Job;
use super::{BATCH_REQUESTS_MAX, Vault};
use crate::authz::{Action, Authorization};
use crate::error::Error;
use crate::evidence::{self, code};
use crate::ids::{KeyId, OwnerId, TenantId};
use crate::keys::{Algorithm, SecretKey};
use crate::record::{KeyRecord, SEALED_LEN};
use crate::store::{self, insert_new, usage_key};
use redb::{ReadableDatabase, ReadableTableMetadata};
use sha2::{Digest as _, Sha256};
use std::sync::atomic::Ordering;

/// A key's public description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// Key id.
    pub id: KeyId,
    /// Tenant.
    pub tenant: TenantId,
    /// Owner.
    pub owner: OwnerId,
    /// Algorithm.
    pub algorithm: Algorithm,
    /// Encoded public key.
    pub public_key: Vec<u8>,
    /// Creation time.
    pub created_ms: u64,
    /// Whether the key was disabled.
    pub disabled: bool,
    /// Leaf index of the creation record in the evidence log (when just created).
    pub evidence_leaf: Option<u64>,
}

impl Vault {
    /// Creates a key for `owner`. The secret is generated inside the vault and never
    /// leaves it.
    ///
    /// # Errors
    /// Storage, evidence and master-key errors.
    pub fn create_key(
        &self,
        tenant: &TenantId,
        owner: OwnerId,
        algorithm: Algorithm,
        now_ms: u64,
    ) -> Result<KeyInfo, Error> {
        let mut keys = self.create_keys(tenant, &[(owner, algorithm)], now_ms)?;
        keys.pop().ok_or_else(|| Error::internal("no key created"))
    }

    /// Creates keys in one commit (at most [`BATCH_REQUESTS_MAX`]).
    ///
    /// # Errors
    /// [`Error::TooLarge`] for an oversized batch; storage, evidence, master-key errors.
    pub fn create_keys(
        &self,
        tenant: &TenantId,
        requests: &[(OwnerId, Algorithm)],
        now_ms: u64,
    ) -> Result<Vec<KeyInfo>, Error> {
        if requests.len() > BATCH_REQUESTS_MAX {
            return Err(Error::TooLarge {
                what: "key batch",
                size: requests.len(),
                max: BATCH_REQUESTS_MAX,
            });
        }
        let t = self.tenant_number(tenant)?;
        let generation = self.current_gen();
        let mut rows = Vec::with_capacity(requests.len());
        let mut infos = Vec::with_capacity(requests.len());
        let first_seq = self
            .next_seq
            .fetch_add(requests.len() as u64, Ordering::AcqRel);
        for (i, &(owner, algorithm)) in requests.iter().enumerate() {
            let key = SecretKey::generate(algorithm)?;
            let public_key = key.public_key()?;
            let mut random = [0u8; 8];
            getrandom::fill(&mut random).map_err(|_| Error::Random)?;
            let id = KeyId::new(first_seq + i as u64, random);
            let record = KeyRecord {
                algorithm,
                tenant: t,
                owner,
                created_ms: now_ms,
                kek_gen: generation,
                public_key: public_key.clone(),
                sealed: [0; SEALED_LEN],
            };
            let record = self.seal(tenant, &id, record, key.secret())?;
            rows.push((id, record.encode()));
            infos.push(KeyInfo {
                id,
                tenant: tenant.clone(),
                owner,
                algorithm,
                public_key,
                created_ms: now_ms,
                disabled: false,
                evidence_leaf: None,
            });
        }
        let count = u32::try_from(rows.len()).map_err(|_| Error::internal("batch too large"))?;
        if count == 0 {
            return Ok(infos);
        }
        let first = self.commit(Job {
            key_creations: Some((first_seq, count)),
            records: Vec::new(),
            write: Box::new(move |tx, first| {
                let mut keys = tx.open_table(store::KEYS)?;
                for (id, bytes) in &rows {
                    insert_new(&mut keys, &id.0, bytes.as_slice(), "key", || id.to_string())?;
                }
                tx.open_table(store::CREATIONS)?
                    .insert(first_seq, (count, first))?;
                Ok(())
            }),
        })?;
        for (i, info) in infos.iter_mut().enumerate() {
            info.evidence_leaf = Some(first + i as u64);
        }
        Ok(infos)
    }

    /// A key's public description. Keys of other tenants are [`Error::KeyNotFound`].
    ///
    /// # Errors
    /// [`Error::KeyNotFound`].
    pub fn key(&self, tenant: &TenantId, id: &KeyId) -> Result<KeyInfo, Error> {
        let (record, disabled) = self.load_key(tenant, id)?;
        Ok(KeyInfo {
            id: *id,
            tenant: tenant.clone(),
            owner: record.owner,
            algorithm: record.algorithm,
            public_key: record.public_key,
            created_ms: record.created_ms,
            disabled,
            evidence_leaf: None,
        })
    }

    pub(crate) fn load_key(
        &self,
        tenant: &TenantId,
        id: &KeyId,
    ) -> Result<(KeyRecord, bool), Error> {
        let not_found = || Error::KeyNotFound(id.to_string());
        let t = self.lookup_tenant(tenant)?.ok_or_else(not_found)?;
        let tx = self.db.begin_read()?;
        let keys = tx.open_table(store::KEYS)?;
        let bytes = keys.get(&id.0)?.ok_or_else(not_found)?;
        let record =
            KeyRecord::decode(bytes.value()).map_err(|_| Error::Tampered(id.to_string()))?;
        if record.tenant != t {
            return Err(not_found());
        }
        let disabled = tx.open_table(store::KEY_DISABLED)?.get(&id.0)?.is_some();
        Ok((record, disabled))
    }

    /// Disables a key on its owner's authorization (`Action::Disable`, digest = SHA-256
    /// of the key id). The record and its history stay; the key signs nothing more.
    ///
    /// # Errors
    /// [`Error::AuthorizationRefused`], [`Error::KeyNotFound`], [`Error::KeyDisabled`].
    pub fn disable(
        &self,
        tenant: &TenantId,
        key: &KeyId,
        authorization: &Authorization,
        now_ms: u64,
    ) -> Result<(), Error> {
        let (record, disabled) = self.load_key(tenant, key)?;
        if disabled {
            return Err(Error::KeyDisabled(key.to_string()));
        }
        let digest = Sha256::digest(key.0).into();
        self.check_owner_authorization(
            authorization,
            tenant,
            record.tenant,
            record.owner,
            Action::Disable,
            Some(*key),
            digest,
            now_ms,
        )?;
        let ev = evidence::record(
            "vault.key.disabled",
            &format!("key:{key}"),
            now_ms,
            self.submitter(),
            &[(
                "authorization",
                Sha256::digest(authorization.statement.to_bytes()).into(),
            )],
            &[
                (
                    "credential",
                    &authorization.statement.credential.to_string(),
                ),
                ("tenant", tenant.as_str()),
            ],
        )?;
        let key = *key;
        self.commit_authorized(Some(authorization), vec![ev], move |tx, leaf| {
            insert_new(
                &mut tx.open_table(store::KEY_DISABLED)?,
                &key.0,
                (now_ms, "owner"),
                "disablement",
                || key.to_string(),
            )?;
            tx.open_table(store::USAGE)?
                .insert(&usage_key(&key, leaf), code::KEY_DISABLED)?;
            Ok(())
        })
        .map(|_| ())
    }

    /// Number of keys in the vault (scans the key table).
    ///
    /// # Errors
    /// Storage errors.
    pub fn key_count(&self) -> Result<u64, Error> {
        let tx = self.db.begin_read()?;
        Ok(tx.open_table(store::KEYS)?.len()?)
    }
}
