//! The tenant as an organization (legal person): its unified social credit code, the
//! person who holds its seal, and the seal itself — a P-256 vault key under the
//! organization's own vault owner, certified by the CA as an organization certificate.
//!
//! The seal is created on first need: when the designated holder first proves their
//! identity as a sealing party of a contract. The holder's signing device (the Ed25519
//! credential they enrolled as a person) is registered as the seal's only credential, so
//! the vault signs with the seal only on the holder's fresh device authorization, as it
//! does for a person's own key. Nobody at the platform can seal alone.
//!
//! Changing the holder of an existing seal would need the current holder's authorization
//! (a vault `RegisterCredential` statement signed by their device); it is refused for
//! now with `seal-holder-set`.

use affix_vault::{Algorithm, CredentialId, KeyId, OwnerId};
use der::{Decode as _, Encode as _, EncodePem as _};
use x509_cert::Certificate;

use super::{Platform, Principal, Role, conflict, invalid, vault_tenant};
use crate::Error;
use crate::ProblemType;
use crate::store::{persons, tenants};

/// An organization as the API shows it.
#[derive(Debug, Clone)]
pub struct OrganizationView {
    /// Tenant id.
    pub id: String,
    /// Registered name (the tenant's name).
    pub name: String,
    /// Unified social credit code (GB 32100), once set.
    pub credit_code: Option<String>,
    /// Person id of the seal holder, once designated.
    pub seal_holder: Option<String>,
    /// The seal's certificate (PEM), once the seal exists.
    pub seal_certificate: Option<String>,
    /// The seal's vault key id, once the seal exists.
    pub seal_key: Option<String>,
}

/// What a sealing party signs with.
pub(super) struct Seal {
    pub(super) key: KeyId,
    pub(super) credential: CredentialId,
    pub(super) certificate: Certificate,
}

impl Platform {
    /// The caller's organization (admins, members and regulators).
    ///
    /// # Errors
    /// [`Error::Forbidden`] for parties.
    pub async fn organization(&self, who: &Principal) -> Result<OrganizationView, Error> {
        let tenant = who.member(&[Role::Admin, Role::Member, Role::Regulator])?;
        let row = tenants::organization(self.store.pool(), tenant).await?;
        let seal_certificate = row
            .seal_certificate
            .map(|der| {
                Certificate::from_der(&der)
                    .and_then(|c| c.to_pem(der::pem::LineEnding::LF))
                    .map_err(|e| Error::Internal(format!("stored seal certificate: {e}")))
            })
            .transpose()?;
        Ok(OrganizationView {
            id: tenant.to_owned(),
            name: row.name,
            credit_code: row.credit_code,
            seal_holder: row.seal_holder,
            seal_certificate,
            seal_key: row.seal_key,
        })
    }

    /// Sets the organization's credit code and designates the person who holds its
    /// seal (admins only). Both are fixed once the seal exists.
    ///
    /// # Errors
    /// [`Error::Forbidden`]; [`Error::Invalid`] `invalid-credit-code`;
    /// [`Error::NotFound`] for a person of another tenant; [`Error::Conflict`]
    /// `seal-holder-set` once the seal exists.
    pub async fn set_organization(
        &self,
        who: &Principal,
        credit_code: &str,
        seal_holder: &str,
    ) -> Result<OrganizationView, Error> {
        let tenant = who.member(&[Role::Admin])?.to_owned();
        let code = affix_pki::ca::CreditCode::parse(credit_code).map_err(|e| {
            invalid(
                ProblemType::InvalidCreditCode,
                format!("credit_code is not a unified social credit code (GB 32100): {e}"),
            )
        })?;
        let code = code.as_str().to_owned();
        if !persons::exists(self.store.pool(), seal_holder, &tenant).await? {
            return Err(Error::NotFound(format!("person {seal_holder}")));
        }
        let _guard = self.enrol_lock.lock().await;
        let set =
            tenants::set_organization(self.store.writer(), &tenant, &code, seal_holder).await?;
        if !set {
            return Err(conflict(
                ProblemType::SealHolderSet,
                "the organization's seal exists: its holder and credit code are fixed (a change needs the current holder's authorization, not offered yet)",
            ));
        }
        self.audit(
            Some(&tenant),
            who,
            "organization.set",
            &format!("credit_code={code} seal_holder={seal_holder}"),
        )
        .await?;
        drop(_guard);
        self.organization(who).await
    }

    /// Whether `person` is the designated seal holder of `tenant`.
    pub(super) async fn is_seal_holder(&self, tenant: &str, person: &str) -> Result<bool, Error> {
        let holder = tenants::seal_holder(self.store.pool(), tenant).await?;
        Ok(holder.as_deref() == Some(person))
    }

    /// Creates the seal on first need, once the holder has an enrolled device: the
    /// organization's vault owner with the holder's device as its credential, the P-256
    /// seal key and its organization certificate.
    pub(super) async fn ensure_seal(
        &self,
        who: &Principal,
        tenant: &str,
        person: &str,
    ) -> Result<(), Error> {
        let _guard = self.enrol_lock.lock().await;
        let row = tenants::seal_progress(self.store.pool(), tenant).await?;
        if row.seal_holder.as_deref() != Some(person) {
            return Err(conflict(
                ProblemType::NotSealHolder,
                "this person no longer holds the organization's seal",
            ));
        }
        if row.seal_key.is_some() {
            return Ok(());
        }
        let name = row.name;
        let code = row
            .credit_code
            .ok_or_else(|| Error::Internal("seal holder without credit code".into()))?;
        // The holder's own device (their signer account's credential) authorizes the
        // seal's use.
        let account = crate::store::signers::of_person(self.store.pool(), person)
            .await?
            .ok_or_else(|| Error::Internal("seal holder without a signer account".into()))?;
        let kind = super::ceremony::vault_credential_kind(&account.credential_kind)?;
        if kind.is_passkey() {
            // A passkey is bound to the signer's own vault owner (its WebAuthn record
            // and counter); the seal's owner is the organization's.
            return Err(conflict(
                ProblemType::DeviceMismatch,
                "the seal holder's signer account uses a passkey; a seal is approved with a device or browser-held key",
            ));
        }
        let device = account.credential_public_key;
        let vt = vault_tenant(tenant)?;
        // Each step is stored as soon as it is done, so a crash between steps resumes
        // from the first missing one instead of registering twice.
        let owner = match row.seal_owner {
            Some(o) => OwnerId::parse(&o)?,
            None => {
                let o = OwnerId::random()?;
                tenants::set_seal_owner(self.store.writer(), tenant, &o.to_string()).await?;
                o
            }
        };
        if row.seal_credential.is_none() {
            let vault = self.vault.clone();
            let vt2 = vt.clone();
            let now = self.now_ms();
            let credential = tokio::task::spawn_blocking(move || {
                vault.register_credential(&vt2, owner, kind, &device, None, now)
            })
            .await
            .map_err(|e| Error::Internal(e.to_string()))??;
            tenants::set_seal_credential(self.store.writer(), tenant, &credential.to_string())
                .await?;
        }
        let vault = self.vault.clone();
        let now = self.now_ms();
        let key = tokio::task::spawn_blocking(move || {
            vault.create_key(&vt, owner, Algorithm::EcdsaP256, now)
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
        let cert = self.authority.issue_organization(
            &name,
            &code,
            &key.public_key,
            crate::system_time(self.now_ms()),
        )?;
        tenants::set_seal_key(
            self.store.writer(),
            tenant,
            &key.id.to_string(),
            cert.to_der().map_err(|e| Error::Pki(e.to_string()))?,
        )
        .await?;
        self.audit(
            Some(tenant),
            who,
            "organization.seal.create",
            &key.id.to_string(),
        )
        .await
    }

    /// The seal a sealing party signs with.
    pub(super) async fn seal_of(&self, tenant: &str) -> Result<Seal, Error> {
        let row = tenants::seal(self.store.pool(), tenant).await?;
        match (row.seal_key, row.seal_credential, row.seal_certificate) {
            (Some(k), Some(c), Some(cert)) => Ok(Seal {
                key: KeyId::parse(&k)?,
                credential: CredentialId::parse(&c)?,
                certificate: Certificate::from_der(&cert)
                    .map_err(|e| Error::Internal(format!("stored seal certificate: {e}")))?,
            }),
            _ => Err(conflict(
                ProblemType::NotEnrolled,
                "the organization's seal does not exist yet: the seal holder verifies identity first",
            )),
        }
    }
}
