//! Grants: an owner delegates signing with one key to another credential, for a purpose,
//! until a time, for a number of signatures. A grantee's signature counts a use.

use super::Vault;
use crate::authz::{Action, Authorization};
use crate::error::{Error, Refusal, malformed};
use crate::evidence::{self, code};
use crate::ids::{CredentialId, GrantId, KeyId, TenantId};
use crate::record::GrantRecord;
use crate::store::{self, insert_new, usage_key};
use redb::ReadableDatabase;
use sha2::{Digest as _, Sha256};

impl Vault {
    /// Creates a delegated-signing grant on the owner's authorization
    /// (`Action::Grant`, digest = SHA-256 of the encoded [`GrantRecord`]).
    ///
    /// # Errors
    /// [`Error::AuthorizationRefused`], [`Error::KeyNotFound`], [`Error::Malformed`].
    pub fn grant(
        &self,
        tenant: &TenantId,
        grant: &GrantRecord,
        authorization: &Authorization,
        now_ms: u64,
    ) -> Result<GrantId, Error> {
        let (record, disabled) = self.load_key(tenant, &grant.key)?;
        if disabled {
            return Err(Error::KeyDisabled(grant.key.to_string()));
        }
        let bytes = grant.encode()?;
        let (grantee, revoked) = self
            .credential(&grant.grantee)
            .map_err(|_| Error::CredentialNotFound(grant.grantee.to_string()))?;
        if grantee.tenant != record.tenant || revoked {
            return Err(Error::CredentialNotFound(grant.grantee.to_string()));
        }
        if grant.not_after_ms <= now_ms {
            return Err(malformed("grant", "not_after is in the past"));
        }
        let digest = Sha256::digest(&bytes).into();
        self.check_owner_authorization(
            authorization,
            tenant,
            record.tenant,
            record.owner,
            Action::Grant,
            Some(grant.key),
            digest,
            now_ms,
        )?;
        let id = GrantId::random()?;
        let ev = evidence::record(
            "vault.grant.created",
            &format!("key:{}", grant.key),
            now_ms,
            self.submitter(),
            &[
                (
                    "authorization",
                    Sha256::digest(authorization.statement.to_bytes()).into(),
                ),
                ("grant", digest),
            ],
            &[
                ("grant", &id.to_string()),
                ("grantee", &grant.grantee.to_string()),
                ("max-uses", &grant.max_uses.to_string()),
                ("not-after", &grant.not_after_ms.to_string()),
                ("purpose", &grant.purpose),
                ("tenant", tenant.as_str()),
            ],
        )?;
        let key = grant.key;
        self.commit_authorized(Some(authorization), vec![ev], move |tx, leaf| {
            insert_new(
                &mut tx.open_table(store::GRANTS)?,
                &id.0,
                bytes.as_slice(),
                "grant",
                || id.to_string(),
            )?;
            tx.open_table(store::USAGE)?
                .insert(&usage_key(&key, leaf), code::GRANT_CREATED)?;
            Ok(())
        })?;
        Ok(id)
    }

    pub(super) fn check_grant(
        &self,
        g: GrantId,
        key: &KeyId,
        credential: &CredentialId,
        now_ms: u64,
    ) -> Result<(), Error> {
        let tx = self.db.begin_read()?;
        let grants = tx.open_table(store::GRANTS)?;
        let grant = grants.get(&g.0)?.ok_or(Refusal::GrantUnknown(g))?;
        let grant = GrantRecord::decode(grant.value())?;
        if grant.key != *key || grant.grantee != *credential {
            return Err(Refusal::GrantOutOfScope.into());
        }
        if now_ms > grant.not_after_ms {
            return Err(Refusal::GrantExpired {
                not_after_ms: grant.not_after_ms,
                now_ms,
            }
            .into());
        }
        if tx.open_table(store::GRANT_REVOKED)?.get(&g.0)?.is_some() {
            return Err(Refusal::GrantRevoked.into());
        }
        let used = tx
            .open_table(store::GRANT_USES)?
            .get(&g.0)?
            .map_or(0, |v| v.value());
        let mut inflight = self
            .inflight_grants
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let pending = inflight.entry(g).or_insert(0);
        if used.saturating_add(*pending) >= grant.max_uses {
            return Err(Refusal::GrantExhausted {
                max_uses: grant.max_uses,
            }
            .into());
        }
        *pending += 1;
        Ok(())
    }

    pub(super) fn release_grant(&self, grant: Option<GrantId>) {
        if let Some(g) = grant {
            let mut inflight = self
                .inflight_grants
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(n) = inflight.get_mut(&g) {
                *n = n.saturating_sub(1);
            }
        }
    }
}
