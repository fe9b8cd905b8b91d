//! Credentials: an owner's authenticators (registration, revocation) and the check that
//! an authorization was made by one of them, for exactly the request at hand.

use super::Vault;
use crate::authz::{Action, Authorization};
use crate::error::{Error, Refusal};
use crate::evidence::{self, code};
use crate::ids::{CredentialId, KeyId, OwnerId, TenantId};
use crate::record::{CredentialKind, CredentialRecord, PasskeyRecord};
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
        self.enrol(tenant, owner, kind, public_key, authorization, None, now_ms)
    }

    /// Registers a passkey for `owner` from a WebAuthn registration made for this
    /// vault's relying party ([`crate::VaultConfig::webauthn`]) over
    /// `registration.challenge` (the platform's ceremony challenge), verified here:
    /// type, challenge, origin, RP id, UP and UV, the COSE key (ES256 or EdDSA), and the
    /// attestation (`none`, or `packed` self attestation, verified). Stores the COSE key
    /// as the credential's public key, the WebAuthn credential id, RP id, AAGUID and
    /// attestation beside it, and the initial sign counter. As with
    /// [`Vault::register_credential`], an owner who has or had credentials needs an
    /// authorization by an active one (`Action::RegisterCredential`, digest
    /// [`Vault::passkey_registration_digest`]).
    ///
    /// # Errors
    /// [`Error::PasskeyRegistration`] with the WebAuthn reason;
    /// [`Error::AuthorizationRefused`] as for [`Vault::register_credential`].
    pub fn register_passkey(
        &self,
        tenant: &TenantId,
        owner: OwnerId,
        registration: &PasskeyRegistration,
        authorization: Option<&Authorization>,
        now_ms: u64,
    ) -> Result<CredentialId, Error> {
        let (kind, reg) = self.verify_passkey_registration(registration)?;
        let side = Passkey {
            record: PasskeyRecord {
                attestation: reg.attestation,
                aaguid: reg.aaguid,
                rp_id: self.config.webauthn.id().to_owned(),
                webauthn_id: reg.credential_id,
            },
            sign_count: reg.sign_count,
            digests: [
                (
                    "attestation-object",
                    Sha256::digest(&registration.attestation_object).into(),
                ),
                (
                    "client-data",
                    Sha256::digest(&registration.client_data_json).into(),
                ),
            ],
        };
        self.enrol(
            tenant,
            owner,
            kind,
            &reg.cose_key,
            authorization,
            Some(side),
            now_ms,
        )
    }

    /// The digest a `RegisterCredential` authorization binds for a passkey registration:
    /// [`credential_digest`] of its kind and COSE key (the registration is verified
    /// first, as [`Vault::register_passkey`] will).
    ///
    /// # Errors
    /// [`Error::PasskeyRegistration`].
    pub fn passkey_registration_digest(
        &self,
        registration: &PasskeyRegistration,
    ) -> Result<[u8; 32], Error> {
        let (kind, reg) = self.verify_passkey_registration(registration)?;
        Ok(credential_digest(kind, &reg.cose_key))
    }

    /// Verifies a passkey registration for this vault's relying party as
    /// [`Vault::register_passkey`] does, without storing anything: the credential kind
    /// and what would be registered (WebAuthn credential id, COSE key, counter,
    /// attestation), for a caller that keeps them beside its own account.
    ///
    /// # Errors
    /// [`Error::PasskeyRegistration`] with the WebAuthn reason; [`Error::Malformed`]
    /// for an unusable COSE key.
    pub fn verify_passkey_registration(
        &self,
        registration: &PasskeyRegistration,
    ) -> Result<(CredentialKind, affix_webauthn::Registration), Error> {
        let reg = affix_webauthn::verify_registration(
            &self.config.webauthn,
            &registration.challenge,
            &registration.attestation_object,
            &registration.client_data_json,
        )
        .map_err(Error::PasskeyRegistration)?;
        let kind = CredentialKind::passkey(reg.public_key.algorithm())?;
        CredentialRecord::check_cose_key(kind, &reg.cose_key)?;
        Ok((kind, reg))
    }

    /// Registration of a checked public key, with a passkey's side record.
    #[allow(clippy::too_many_arguments)]
    fn enrol(
        &self,
        tenant: &TenantId,
        owner: OwnerId,
        kind: CredentialKind,
        public_key: &[u8],
        authorization: Option<&Authorization>,
        passkey: Option<Passkey>,
        now_ms: u64,
    ) -> Result<CredentialId, Error> {
        let t = self.tenant_number(tenant)?;
        let mut digests = vec![("public-key", Sha256::digest(public_key).into())];
        let mut via = "enrolment".to_owned();
        // Enrolment is for owners who never had a credential. Counting only active ones
        // would let anyone with the platform's enrolment right bind a credential to an
        // owner who revoked them all, without the recovery's approvals and window.
        if self.has_had_credentials(t, owner)? {
            let auth = authorization.ok_or(Refusal::AuthorizationRequired)?;
            let digest = credential_digest(kind, public_key);
            let by = self.check_owner_authorization(
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
            digests.extend(proof_digests(by.kind, auth));
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
        let id_text = id.to_string();
        let mut metadata = vec![
            ("tenant", tenant.as_str().to_owned()),
            ("credential", id_text),
            ("kind", kind.name().to_owned()),
            ("via", via),
        ];
        if let Some(p) = &passkey {
            digests.extend(p.digests);
            metadata.push(("attestation", p.record.attestation.name().to_owned()));
            metadata.push(("aaguid", hex::encode(p.record.aaguid)));
            metadata.push(("rp-id", p.record.rp_id.clone()));
            metadata.push(("sign-count", p.sign_count.to_string()));
        }
        let metadata: Vec<(&str, &str)> = metadata.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let ev = match evidence::record(
            "vault.credential.registered",
            &format!("owner:{owner}"),
            now_ms,
            self.submitter(),
            &digests,
            &metadata,
        ) {
            Ok(ev) => ev,
            Err(e) => {
                self.release_nonce(authorization);
                return Err(e);
            }
        };
        let bytes = record.encode();
        let side = passkey.map(|p| (p.record.encode(), p.sign_count));
        self.commit_authorized(authorization, vec![ev], move |tx, leaf| {
            insert_new(
                &mut tx.open_table(store::CREDENTIALS)?,
                &id.0,
                bytes.as_slice(),
                "credential",
                || id.to_string(),
            )?;
            if let Some((side, sign_count)) = &side {
                insert_new(
                    &mut tx.open_table(store::PASSKEYS)?,
                    &id.0,
                    side.as_slice(),
                    "passkey",
                    || id.to_string(),
                )?;
                tx.open_table(store::SIGN_COUNTS)?
                    .insert(&id.0, *sign_count)?;
            }
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
        let sign_count = self.verify_authorization(auth, &cred, now_ms)?;
        self.reserve_nonce(auth)?;
        if let Some(count) = sign_count
            && let Err(e) = self.reserve_sign_count(auth, s.credential, count)
        {
            self.release_nonce(Some(auth));
            return Err(e);
        }
        Ok(cred)
    }

    /// Verifies `auth`'s proof by credential `cred` (the one its statement names): the
    /// signature, or for a passkey the WebAuthn assertion against this vault's relying
    /// party; returns a passkey's sign counter, for the caller to reserve (and so check
    /// against the stored one) after the nonce.
    pub(crate) fn verify_authorization(
        &self,
        auth: &Authorization,
        cred: &CredentialRecord,
        now_ms: u64,
    ) -> Result<Option<u32>, Error> {
        if !cred.kind.is_passkey() {
            auth.verify_signature(cred.kind, &cred.public_key, now_ms)?;
            return Ok(None);
        }
        let id = auth.statement.credential;
        let passkey = {
            let tx = self.db.begin_read()?;
            let table = tx.open_table(store::PASSKEYS)?;
            let row = table
                .get(&id.0)?
                .ok_or_else(|| Error::internal(format!("passkey {id} has no passkey record")))?;
            PasskeyRecord::decode(row.value())?
        };
        // A passkey is scoped to the RP id it was created for.
        if passkey.rp_id != self.config.webauthn.id() {
            return Err(Refusal::Passkey(affix_webauthn::Error::WrongRpId).into());
        }
        // The counter is checked when it is reserved, after the nonce (so a replay is
        // refused as one) and under the lock that orders concurrent uses
        // ([`Vault::reserve_sign_count`]); here against 0, which any counter passes.
        auth.verify_assertion(
            cred.kind,
            &cred.public_key,
            &self.config.webauthn,
            0,
            now_ms,
        )
        .map(Some)
    }
}

/// The digest a `RegisterCredential` authorization binds.
pub fn credential_digest(kind: CredentialKind, public_key: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([kind.code()]);
    h.update(public_key);
    h.finalize().into()
}

/// A passkey registration as the browser returns it, with the challenge the platform
/// set for the ceremony.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyRegistration {
    /// `attestationObject`.
    pub attestation_object: Vec<u8>,
    /// `clientDataJSON`.
    pub client_data_json: Vec<u8>,
    /// The challenge the platform set for the ceremony.
    pub challenge: Vec<u8>,
}

/// What a passkey registration stores beside the credential record.
struct Passkey {
    record: PasskeyRecord,
    sign_count: u32,
    digests: [(&'static str, [u8; 32]); 2],
}

/// Digests of a passkey authorization's assertion parts, for its evidence record (an
/// offline verifier holding the assertion, [`Authorization::encode`], matches them and
/// re-checks it against the registered COSE key); none for other credential kinds.
pub(crate) fn proof_digests(
    kind: CredentialKind,
    auth: &Authorization,
) -> Vec<(&'static str, [u8; 32])> {
    if !kind.is_passkey() {
        return Vec::new();
    }
    match affix_webauthn::Assertion::decode(&auth.signature) {
        Ok(a) => vec![
            (
                "assertion-authenticator-data",
                Sha256::digest(&a.authenticator_data).into(),
            ),
            (
                "assertion-client-data",
                Sha256::digest(&a.client_data_json).into(),
            ),
            ("assertion-signature", Sha256::digest(&a.signature).into()),
        ],
        // Verified before: unreachable for an accepted authorization.
        Err(_) => Vec::new(),
    }
}
