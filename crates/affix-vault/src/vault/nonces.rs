//! Authorization nonces: each is accepted once. A nonce is reserved in memory while its
//! request is checked and committed, then spent durably — in the signing journal for key
//! signatures, in the `nonces` table for everything else — and refused ever after.

use super::{Job, Vault};
use crate::authz::Authorization;
use crate::error::{Error, Refusal};
use crate::store::{self, insert_new, nonce_key, nonce_row};
use redb::ReadableDatabase;

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
            self.inflight_nonces
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&nonce_key(auth));
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
                write(tx, leaf)
            }),
        });
        self.release_nonce(authorization);
        result
    }
}
