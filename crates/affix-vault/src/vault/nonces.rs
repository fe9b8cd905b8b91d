//! Authorization nonces: each is accepted once. A nonce is reserved in memory while its
//! request is checked and committed, then spent durably — in the signing journal for key
//! signatures, in the `nonces` table for everything else — and refused ever after.
//!
//! Passkey sign counters ride along: a use's counter is reserved in memory with its nonce
//! (above the stored counter and above every counter in flight for that credential), and
//! written in the commit that records the use.

use super::{Job, Vault};
use crate::authz::Authorization;
use crate::error::{Error, Refusal};
use crate::ids::CredentialId;
use crate::store::{self, insert_new, nonce_key, nonce_row};
use redb::{ReadableDatabase, ReadableTable};
use std::collections::HashMap;

/// Passkey sign counters accepted and not committed yet.
#[derive(Default)]
pub(crate) struct InflightSignCounts {
    /// Per credential, the highest counter in flight.
    highest: HashMap<CredentialId, u32>,
    /// Per reserved nonce, the counter its use writes.
    by_nonce: HashMap<[u8; 32], (CredentialId, u32)>,
}

impl Vault {
    pub(super) fn reserve_nonce(&self, auth: &Authorization) -> Result<(), Error> {
        let key = nonce_key(auth);
        let row = nonce_row(auth);
        {
            let spent = self
                .spent
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            // Below the floor the journal forgets nonces: refuse what could be among them.
            if auth.statement.expires_ms <= spent.floor_ms() {
                return Err(Refusal::BelowNonceFloor {
                    expires_ms: auth.statement.expires_ms,
                    floor_ms: spent.floor_ms(),
                }
                .into());
            }
            if spent.contains(&row) {
                return Err(Refusal::Replayed.into());
            }
        }
        {
            let tx = self.db.begin_read()?;
            if tx.open_table(store::NONCES)?.get(&row)?.is_some() {
                return Err(Refusal::Replayed.into());
            }
        }
        let mut inflight = self
            .inflight_nonces
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !inflight.insert(key) {
            // The same authorization in a concurrent request.
            return Err(Refusal::Replayed.into());
        }
        Ok(())
    }

    pub(crate) fn release_nonce(&self, auth: Option<&Authorization>) {
        if let Some(auth) = auth {
            let key = nonce_key(auth);
            self.inflight_nonces
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&key);
            self.release_sign_count(&key);
        }
    }

    /// The sign counter on record for a passkey (0 before its first use with a counter).
    pub(crate) fn stored_sign_count(&self, credential: &CredentialId) -> Result<u32, Error> {
        let tx = self.db.begin_read()?;
        let counts = tx.open_table(store::SIGN_COUNTS)?;
        Ok(counts.get(&credential.0)?.map_or(0, |v| v.value()))
    }

    /// Reserves passkey sign counter `count` for the use authorized by `auth` (whose
    /// nonce is reserved): it must exceed the stored counter and every counter in flight
    /// for the credential, unless the authenticator keeps no counter (0 and 0). Released
    /// with the nonce ([`Vault::release_nonce`]); [`Vault::commit_authorized`] and the
    /// signing commit write it.
    ///
    /// # Errors
    /// [`Refusal::Passkey`] with [`affix_webauthn::Error::CounterRegression`].
    pub(crate) fn reserve_sign_count(
        &self,
        auth: &Authorization,
        credential: CredentialId,
        count: u32,
    ) -> Result<(), Error> {
        let mut inflight = self
            .inflight_sign_counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Read under the lock: a use releases its reservation only after its commit, so
        // the store or the map always holds every accepted counter.
        let stored = self.stored_sign_count(&credential)?;
        let floor = stored.max(inflight.highest.get(&credential).copied().unwrap_or(0));
        affix_webauthn::check_sign_count(floor, count).map_err(Refusal::Passkey)?;
        if count > 0 {
            inflight.highest.insert(credential, count);
            inflight
                .by_nonce
                .insert(nonce_key(auth), (credential, count));
        }
        Ok(())
    }

    /// The sign counter reserved for the use authorized by `auth`, if any.
    pub(crate) fn reserved_sign_count(&self, auth: &Authorization) -> Option<(CredentialId, u32)> {
        self.inflight_sign_counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .by_nonce
            .get(&nonce_key(auth))
            .copied()
    }

    fn release_sign_count(&self, nonce: &[u8; 32]) {
        let mut inflight = self
            .inflight_sign_counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((credential, count)) = inflight.by_nonce.remove(nonce)
            && inflight.highest.get(&credential) == Some(&count)
        {
            // Committed (the store holds it) or failed (nobody holds it); a higher
            // counter in flight keeps its own entry.
            inflight.highest.remove(&credential);
        }
    }

    /// [`Vault::commit`] for an authorized operation: spends the authorization's nonce
    /// in the same transaction as `write`, and releases the in-memory reservation made by
    /// [`Vault::check_owner_authorization`] whatever the outcome.
    pub(crate) fn commit_authorized(
        &self,
        authorization: Option<&Authorization>,
        records: Vec<Vec<u8>>,
        write: impl FnOnce(&redb::WriteTransaction, u64) -> Result<(), Error> + Send + 'static,
    ) -> Result<u64, Error> {
        let spend = authorization.map(|a| (nonce_row(a), a.statement.expires_ms));
        let sign_count = authorization.and_then(|a| self.reserved_sign_count(a));
        let result = self.commit(Job {
            key_creations: None,
            records,
            write: Box::new(move |tx, leaf| {
                if let Some((nonce, expires)) = spend {
                    insert_new(
                        &mut tx.open_table(store::NONCES)?,
                        &nonce,
                        expires,
                        "nonce",
                        || "replayed".into(),
                    )?;
                }
                if let Some((credential, count)) = sign_count {
                    raise_sign_count(tx, &credential, count)?;
                }
                write(tx, leaf)
            }),
        });
        self.release_nonce(authorization);
        result
    }
}

/// Stores a passkey's sign counter in the commit of its use (never lowers it: concurrent
/// uses may commit out of order).
pub(crate) fn raise_sign_count(
    tx: &redb::WriteTransaction,
    credential: &CredentialId,
    count: u32,
) -> Result<(), Error> {
    let mut counts = tx.open_table(store::SIGN_COUNTS)?;
    let stored = counts.get(&credential.0)?.map_or(0, |v| v.value());
    if count > stored {
        counts.insert(&credential.0, count)?;
    }
    Ok(())
}
