//! `Idempotency-Key`s: a POST repeated with the same key and body gets the first answer
//! again instead of running twice (the server stores and replays answers through these).

use super::*;
use crate::store::idempotency::{self, Claim};

/// Longest `Idempotency-Key`.
pub const IDEMPOTENCY_KEY_CHARS_MAX: usize = 255;

impl Platform {
    /// Holds `key` for `who`'s request whose method, path and body hash to
    /// `request_hash`, or says why the request must not run: it ran (its answer), is
    /// running, or the key was used for another request.
    ///
    /// # Errors
    /// [`Error::Invalid`] (`invalid-idempotency-key`) unless the key is 1 to
    /// [`IDEMPOTENCY_KEY_CHARS_MAX`] visible ASCII characters; [`Error::Db`].
    pub async fn claim_idempotency_key(
        &self,
        who: &Principal,
        key: &str,
        request_hash: &[u8; 32],
    ) -> Result<Claim, Error> {
        if key.is_empty()
            || key.len() > IDEMPOTENCY_KEY_CHARS_MAX
            || !key.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(invalid(
                ProblemType::InvalidIdempotencyKey,
                format!(
                    "Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_CHARS_MAX} visible ASCII characters"
                ),
            ));
        }
        idempotency::claim(&self.store, &who.name(), key, request_hash, self.now_ms()).await
    }

    /// Stores the answer of the request that holds `key`, for replays.
    ///
    /// # Errors
    /// [`Error::Db`].
    pub async fn finish_idempotent_request(
        &self,
        who: &Principal,
        key: &str,
        status: u16,
        body: &[u8],
    ) -> Result<(), Error> {
        idempotency::finish(&self.store, &who.name(), key, status, body).await
    }

    /// Records that the request holding `key` finished with an answer that holds a
    /// secret (an API key, invite tokens, a webhook secret): only its status and digest
    /// are kept, and a replay is refused.
    ///
    /// # Errors
    /// [`Error::Db`].
    pub async fn finish_idempotent_request_withheld(
        &self,
        who: &Principal,
        key: &str,
        status: u16,
        answer: &[u8],
    ) -> Result<(), Error> {
        let digest: [u8; 32] = Sha256::digest(answer).into();
        idempotency::finish_withheld(&self.store, &who.name(), key, status, &digest).await
    }

    /// Forgets the idempotency keys older than
    /// [`idempotency::IDEMPOTENCY_KEY_LIFETIME_MS`]; returns how many.
    ///
    /// # Errors
    /// [`Error::Db`].
    pub async fn prune_idempotency_keys(&self) -> Result<u64, Error> {
        let before = self
            .now_ms()
            .saturating_sub(idempotency::IDEMPOTENCY_KEY_LIFETIME_MS);
        idempotency::prune(&self.store, before).await
    }

    /// Releases `key` after a failure of ours, so that a retry runs again.
    ///
    /// # Errors
    /// [`Error::Db`].
    pub async fn release_idempotency_key(&self, who: &Principal, key: &str) -> Result<(), Error> {
        idempotency::release(&self.store, &who.name(), key).await
    }
}
