//! Credentials: an owner's authenticators (registration, revocation) and the check that
//! an authorization was made by one of them, for exactly the request at hand.

use super::Vault;
use crate::authz::{Action, Authorization};
use crate::error::{Error, Refusal};
use crate::evidence::{self, code};
use crate::ids::{CredentialId, KeyId, OwnerId, TenantId};
use crate::record::{CredentialKind, CredentialRecord};
use crate::store::{self, index_owner_event, insert_new, owner_cred_key};
use redb::ReadableDatabase;
use sha2::{Digest as _, Sha256};

impl Vault {
    /// Registers an authenticator credential for `owner`. The first credential of an
    /// owner is enrolled by the platform after identity verification (`authorization`
    /// `None`); every later one needs an authorization by an active credential of the
    /// same owner (`Action::RegisterCredential`, digest = SHA-256(kind code ‖ public key)).
    /// An owner whose credentials were all revoked is not new: only a recovery binds them
    /// a credential again.
    ///
    /// # Errors
    /// [`Error::AuthorizationRefused`] if the owner has or had credentials and no valid
    /// authorization was given ([`Refusal::AuthorizationRequired`] if none was);
    /// [`Error::Malformed`] for a bad public key.
    pub fn register_credential(
        &self,
        tenant: &TenantId,
        owner: OwnerId,
        kind: CredentialKind,
        public_key: &[u8],
        authorization: Option<&Authorization>,
        now_ms: u64,
    ) -> Result<CredentialId, Error> {
        CredentialRecord::check_public_key(kind, public_key)?;
        let t = self.tenant_number(tenant)?;
        let mut digests = vec![("public-key", Sha256::digest(public_key).into())];
        let mut via = "enrolment".to_owned();
        // Enrolment is for owners who never had a credential. Counting only active ones
        // would let anyone with the platform's enrolment right bind a credential to an
        // owner who revoked them all, without the recovery's approvals and window.
        if self.has_had_credentials(t, owner)? {
            let auth = authorization.ok_or(Refusal::AuthorizationRequired)?;
            let digest = credential_digest(kind, public_key);
            self.check_owner_authorization(
                auth,
                tenant,
                t,
                owner,
                Action::RegisterCredential,
                None,
                digest,
                now_ms,
            )?;
            digests.push((
                "authorization",
                Sha256::digest(auth.statement.to_bytes()).into(),
            ));
            via = format!("credential:{}", auth.statement.credential);
        }
        let id = CredentialId::random()?;
        let record = CredentialRecord {
            kind,
            tenant: t,
            owner,
            created_ms: now_ms,
            public_key: public_key.to_vec(),
        };
        let ev = evidence::record(
            "vault.credential.registered",
            &format!("owner:{owner}"),
            now_ms,
            self.submitter(),
            &digests,
            &[
                ("tenant", tenant.as_str()),
                ("credential", &id.to_string()),
                ("kind", kind.name()),
                ("via", &via),
            ],
        )?;
        let bytes = record.encode();
        self.commit_authorized(authorization, vec![ev], move |tx, leaf| {
            insert_new(
                &mut tx.open_table(store::CREDENTIALS)?,
                &id.0,
                bytes.as_slice(),
                "credential",
                || id.to_string(),
            )?;
            tx.open_table(store::OWNER_CREDENTIALS)?
                .insert(&owner_cred_key(t, &owner, &id), ())?;
            index_owner_event(tx, t, &owner, leaf, code::CREDENTIAL_REGISTERED)
        })?;
        Ok(id)
    }

    /// Revokes one of the owner's credentials, authorized by another (or the same) active
    /// credential of that owner (`Action::RevokeCredential`, digest = SHA-256 of the
    /// revoked credential id). The revocation is recorded (`vault.credential.revoked`,
    /// in the owner's audit trail); from then on every authorization by that credential
    /// is refused with [`Refusal::CredentialRevoked`], grants to it included.
    ///
    /// # Errors
    /// [`Error::CredentialNotFound`] for a credential this tenant's owner does not have;
    /// [`Error::AlreadyExists`] (`revocation`) if it was revoked already;
    /// [`Error::AuthorizationRefused`].
    pub fn revoke_credential(
        &self,
        tenant: &TenantId,
        owner: OwnerId,
        credential: CredentialId,
        authorization: &Authorization,
        now_ms: u64,
    ) -> Result<(), Error> {
        let not_found = || Error::CredentialNotFound(credential.to_string());
        // Looked up, not registered: a refused revocation creates no tenant.
        let t = self.lookup_tenant(tenant)?.ok_or_else(not_found)?;
        let (rec, revoked) = self.credential(&credential)?;
        if rec.tenant != t || rec.owner != owner {
            return Err(not_found());
        }
        if revoked {
            return Err(Error::AlreadyExists {
                what: "revocation",
                id: credential.to_string(),
            });
        }
        let digest = Sha256::digest(credential.0).into();
        self.check_owner_authorization(
            authorization,
            tenant,
            t,
            owner,
            Action::RevokeCredential,
            None,
            digest,
            now_ms,
        )?;
        let ev = evidence::record(
            "vault.credential.revoked",
            &format!("owner:{owner}"),
            now_ms,
            self.submitter(),
            &[(
                "authorization",
                Sha256::digest(authorization.statement.to_bytes()).into(),
            )],
            &[
                ("tenant", tenant.as_str()),
                ("credential", &credential.to_string()),
                (
                    "via",
                    &format!("credential:{}", authorization.statement.credential),
                ),
            ],
        )?;
        self.commit_authorized(Some(authorization), vec![ev], move |tx, leaf| {
            insert_new(
                &mut tx.open_table(store::CREDENTIAL_REVOKED)?,
                &credential.0,
                now_ms,
                "revocation",
                || credential.to_string(),
            )?;
            index_owner_event(tx, t, &owner, leaf, code::CREDENTIAL_REVOKED)
        })?;
        Ok(())
    }

    /// A credential and whether it was revoked.
    pub(crate) fn credential(&self, id: &CredentialId) -> Result<(CredentialRecord, bool), Error> {
        let tx = self.db.begin_read()?;
        let creds = tx.open_table(store::CREDENTIALS)?;
        let rec = creds
            .get(&id.0)?
            .ok_or_else(|| Error::CredentialNotFound(id.to_string()))?;
        let rec = CredentialRecord::decode(rec.value())?;
        let revoked = tx
            .open_table(store::CREDENTIAL_REVOKED)?
            .get(&id.0)?
            .is_some();
        Ok((rec, revoked))
    }

    /// The credential an authorization names, and whether it was revoked; an unknown one
    /// is [`Refusal::CredentialUnknown`].
    pub(super) fn presented_credential(
        &self,
        id: &CredentialId,
    ) -> Result<(CredentialRecord, bool), Error> {
        self.credential(id).map_err(|e| match e {
            Error::CredentialNotFound(_) => Refusal::CredentialUnknown.into(),
            other => other,
        })
    }

    /// Whether `owner` has or had a credential (revoked ones count).
    fn has_had_credentials(&self, t: u32, owner: OwnerId) -> Result<bool, Error> {
        let tx = self.db.begin_read()?;
        let index = tx.open_table(store::OWNER_CREDENTIALS)?;
        let lo = owner_cred_key(t, &owner, &CredentialId([0; 16]));
        let hi = owner_cred_key(t, &owner, &CredentialId([0xff; 16]));
        Ok(index.range::<&[u8; 36]>(&lo..=&hi)?.next().is_some())
    }

    /// The owner's active (unrevoked) credential ids.
    pub(crate) fn active_credentials(
        &self,
        t: u32,
        owner: OwnerId,
    ) -> Result<Vec<CredentialId>, Error> {
        let tx = self.db.begin_read()?;
        let index = tx.open_table(store::OWNER_CREDENTIALS)?;
        let revoked = tx.open_table(store::CREDENTIAL_REVOKED)?;
        let lo = owner_cred_key(t, &owner, &CredentialId([0; 16]));
        let hi = owner_cred_key(t, &owner, &CredentialId([0xff; 16]));
        let mut out = Vec::new();
        for row in index.range::<&[u8; 36]>(&lo..=&hi)? {
            let (k, _) = row?;
            let mut id = [0u8; 16];
            id.copy_from_slice(&k.value()[20..]);
            if revoked.get(&id)?.is_none() {
                out.push(CredentialId(id));
            }
        }
        Ok(out)
    }

    /// Checks an authorization by one of `owner`'s active credentials for `action` over
    /// `digest`, and reserves its nonce (released by [`Vault::release_nonce`] after commit).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn check_owner_authorization(
        &self,
        auth: &Authorization,
        tenant: &TenantId,
        t: u32,
        owner: OwnerId,
        action: Action,
        key: Option<KeyId>,
        digest: [u8; 32],
        now_ms: u64,
    ) -> Result<CredentialRecord, Error> {
        let s = &auth.statement;
        s.check_for(action, tenant, key, &digest)?;
        if s.grant.is_some() {
            return Err(Refusal::UnexpectedGrant.into());
        }
        let (cred, revoked) = self.presented_credential(&s.credential)?;
        if cred.tenant != t || cred.owner != owner {
            return Err(Refusal::NotOwnersCredential.into());
        }
        if revoked {
            return Err(Refusal::CredentialRevoked.into());
        }
        auth.verify_signature(cred.kind, &cred.public_key, now_ms)?;
        self.reserve_nonce(auth)?;
        Ok(cred)
    }
}

/// The digest a `RegisterCredential` authorization binds.
pub fn credential_digest(kind: CredentialKind, public_key: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([kind.code()]);
    h.update(public_key);
    h.finalize().into()
}
