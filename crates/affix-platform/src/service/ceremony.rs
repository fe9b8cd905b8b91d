//! The signing ceremony, party side: identity check and device enrolment, view,
//! consent, handwritten-signature image, prepared statement, signature.

use super::otp_state::{Lock, OtpState, StartRefusal};
use super::*;
use crate::store::contracts::PartyStateColumn;
use p256::ecdsa::signature::Signer as _;

/// Wraps the signer's authorization (a device or browser-held key's signature, or a
/// passkey's assertion) so the vault's `signature::Signer` handle uses it for exactly
/// the payload it was prepared for.
struct SignerAuthorization {
    authorization: Authorization,
}

impl Authorizer for SignerAuthorization {
    fn authorize(&self, statement: UnboundStatement) -> Result<Authorization, affix_vault::Error> {
        use affix_vault::Refusal;
        let ours = &self.authorization.statement;
        let refusal = if statement.tenant != ours.tenant {
            Refusal::WrongTenant
        } else if statement.key != ours.key {
            Refusal::WrongKey
        } else if statement.payload_kind != ours.payload_kind {
            Refusal::WrongPayloadKind
        } else if statement.digest != ours.digest {
            Refusal::DigestMismatch
        } else {
            return Ok(self.authorization.clone());
        };
        Err(affix_vault::Error::AuthorizationRefused(refusal))
    }
}

/// The time the vault's signer handles see. Wall time on purpose, not the platform's
/// clock: the vault is a trust boundary of its own and checks the freshness of every
/// authorization (and dates its usage records) against its own clock, so a platform
/// with a wrong or injected clock cannot make it accept a stale statement. (The handle
/// also takes a plain `fn() -> u64`, which could not capture the platform's clock.)
fn vault_wall_clock_ms() -> u64 {
    unix_ms(SystemTime::now())
}

/// The party's CMS signature, prepared: the signed attributes over the contract content,
/// with the signer's certificate and the issuing CA, at `signing_time_ms` (whole
/// seconds), and the digests of what the party was shown (`shown`: the document and
/// the signature image). Preparation is deterministic, so `prepare_signature` (which has
/// the device authorize these bytes) and `sign` (which has the vault sign them) agree —
/// unless the document or image changed in between, and then the vault refuses.
fn prepare_cms(
    content: &[u8],
    certificate: &Certificate,
    issuing: &Certificate,
    signing_time_ms: u64,
    shown: &affix_cms::AffixAttributes,
) -> Result<affix_cms::PreparedSignature, Error> {
    affix_cms::PreparedSignature::new(
        content,
        certificate,
        std::slice::from_ref(issuing),
        system_time(signing_time_ms),
    )
    .and_then(|prepared| prepared.with_affix_attributes(shown))
    .map_err(|e| Error::Pki(e.to_string()))
}

/// The refusal of a locked identity check.
fn identity_locked(lock: Lock) -> Error {
    conflict(ProblemType::IdentityLocked, lock.detail())
}

/// Signer account credential kinds (the `signers.credential_kind` column).
const KIND_DEVICE: &str = "device-ed25519";
const KIND_BROWSER: &str = "browser-p256";

/// The vault credential kind of a signer account's credential kind.
pub(super) fn vault_credential_kind(kind: &str) -> Result<CredentialKind, Error> {
    match kind {
        KIND_DEVICE => Ok(CredentialKind::Ed25519),
        KIND_BROWSER => Ok(CredentialKind::BrowserP256),
        other => CredentialKind::from_name(other)
            .ok()
            .filter(|k| k.is_passkey())
            .ok_or_else(|| Error::Internal(format!("stored credential kind {other:?}"))),
    }
}

/// The certificate policy naming a signer account's credential kind.
fn credential_policy(kind: &str) -> Result<crate::authority::CredentialPolicy, Error> {
    use crate::authority::CredentialPolicy as P;
    Ok(match vault_credential_kind(kind)? {
        CredentialKind::BrowserP256 => P::BrowserKey,
        k if k.is_passkey() => P::Passkey,
        _ => P::DeviceKey,
    })
}

/// The WebAuthn challenge of a passkey registration at a first identity check: bound to
/// the pending one-time code's challenge (random, never shown to the sender) and to the
/// party, so a registration cannot be made ahead or carried to another invite.
fn passkey_registration_challenge(
    code: &OtpChallenge,
    contract: ContractId,
    party: PartyId,
) -> [u8; 32] {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    h.update(b"affix.dev/platform/passkey-registration/v1\0");
    h.update(code.id().as_bytes());
    h.update(contract.to_string().as_bytes());
    h.update(b"/");
    h.update(party.to_string().as_bytes());
    h.finalize().into()
}

/// A registered signer credential: the vault credential id, the account's credential
/// kind, the public key as stored (raw or COSE) and a passkey's WebAuthn credential id.
type RegisteredCredential = (CredentialId, &'static str, Vec<u8>, Option<Vec<u8>>);

/// Registers a new signer account's credential in the vault (blocking): the vault
/// checks the key, or verifies the passkey registration against its relying party.
fn register_signer_credential(
    vault: &Vault,
    tenant: &TenantId,
    owner: OwnerId,
    credential: NewCredential,
    challenge: Vec<u8>,
    now_ms: u64,
) -> Result<RegisteredCredential, Error> {
    Ok(match credential {
        NewCredential::Device(key) => {
            let id = vault.register_credential(
                tenant,
                owner,
                CredentialKind::Ed25519,
                &key,
                None,
                now_ms,
            )?;
            (id, KIND_DEVICE, key.to_vec(), None)
        }
        NewCredential::Browser(key) => {
            // WebCrypto exports the raw key uncompressed; the vault keeps points
            // compressed (33 bytes).
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&key)
                .map_err(|_| {
                    invalid(
                        ProblemType::InvalidDeviceKey,
                        "browser_public_key is not a P-256 point",
                    )
                })?
                .to_sec1_point(true)
                .as_bytes()
                .to_vec();
            let id = vault.register_credential(
                tenant,
                owner,
                CredentialKind::BrowserP256,
                &key,
                None,
                now_ms,
            )?;
            (id, KIND_BROWSER, key, None)
        }
        NewCredential::Passkey {
            attestation_object,
            client_data_json,
        } => {
            let registration = affix_vault::PasskeyRegistration {
                attestation_object,
                client_data_json,
                challenge,
            };
            let (kind, verified) = vault.verify_passkey_registration(&registration)?;
            let id = vault.register_passkey(tenant, owner, &registration, None, now_ms)?;
            (
                id,
                kind.name(),
                verified.cose_key,
                Some(verified.credential_id),
            )
        }
    })
}

/// A prepared signature as stored: statement fields and the CMS signing time.
struct Prepared {
    statement: Statement,
    signing_time_ms: u64,
}

impl Prepared {
    fn encode(&self) -> Vec<u8> {
        let s = &self.statement;
        let mut out = Vec::with_capacity(128);
        out.push(1); // version
        out.extend_from_slice(&self.signing_time_ms.to_be_bytes());
        out.extend_from_slice(&s.key.map_or([0; 16], |k| k.0));
        out.extend_from_slice(&s.digest);
        out.extend_from_slice(&s.nonce);
        out.extend_from_slice(&s.expires_ms.to_be_bytes());
        out.extend_from_slice(&s.credential.0);
        out
    }

    fn decode(bytes: &[u8], tenant: &TenantId) -> Result<Self, Error> {
        let bad = || Error::Internal("stored prepared signature does not decode".into());
        if bytes.len() != 1 + 8 + 16 + 32 + 16 + 8 + 16 || bytes[0] != 1 {
            return Err(bad());
        }
        let take = |from: usize, n: usize| &bytes[from..from + n];
        let arr16 = |b: &[u8]| <[u8; 16]>::try_from(b).map_err(|_| bad());
        let arr8 = |b: &[u8]| <[u8; 8]>::try_from(b).map_err(|_| bad());
        let signing_time_ms = u64::from_be_bytes(arr8(take(1, 8))?);
        let key = KeyId(arr16(take(9, 16))?);
        let digest = <[u8; 32]>::try_from(take(25, 32)).map_err(|_| bad())?;
        let nonce = arr16(take(57, 16))?;
        let expires_ms = u64::from_be_bytes(arr8(take(73, 8))?);
        let credential = CredentialId(arr16(take(81, 16))?);
        Ok(Self {
            statement: UnboundStatement {
                tenant: tenant.clone(),
                action: Action::Sign,
                key: Some(key),
                payload_kind: 1,
                digest,
                grant: None,
                nonce,
                expires_ms,
            }
            .bind(credential),
            signing_time_ms,
        })
    }
}

impl Platform {
    // ----- the signing ceremony (party side) -------------------------------------------

    async fn party_context(
        &self,
        who: &Principal,
    ) -> Result<(String, ContractId, PartyId, ContractRow, PartyRow), Error> {
        let (tenant, id, party) = who.party()?;
        let row = self.load(tenant, id).await?;
        let me = row
            .parties
            .iter()
            .find(|p| p.party == party)
            .cloned()
            .ok_or_else(|| Error::NotFound("party".into()))?;
        // An invite dies when its party has signed or declined and when the contract
        // is final: a link found later in a mailbox or a browser history acts for no one.
        let spent = row.contract.status().is_final()
            || matches!(
                row.contract.party_status(party),
                Some(PartyStatus::Signed | PartyStatus::Declined)
            );
        if spent {
            return Err(conflict(
                ProblemType::InviteSpent,
                "this invite link is no longer valid: the party has signed or declined, or the contract is final",
            ));
        }
        Ok((tenant.to_owned(), id, party, row, me))
    }

    /// What the invite page shows: the contract as the party sees it, the party id, the
    /// canonical content (what the party signs) and the document.
    ///
    /// # Errors
    /// [`Error::Forbidden`] unless a party.
    pub async fn invite_open(&self, who: &Principal) -> Result<InviteOpened, Error> {
        let (_, id, party, row, _) = self.party_context(who).await?;
        let document = store::contracts::document(self.store.pool(), &id.to_string()).await?;
        Ok(InviteOpened {
            contract: Self::view_of(who, id, &row),
            party: party.to_string(),
            content: row.contract.content().encode(),
            document,
        })
    }

    /// Sends a one-time code to the party's e-mail address.
    ///
    /// At most [`OTP_CHALLENGES_PER_HOUR_MAX`] codes an hour: the request after them
    /// locks the party's identity check until the sender re-invites the party. The
    /// counters and the challenge change together, by compare and swap on the stored
    /// state, so concurrent requests cannot pass the cap.
    ///
    /// # Errors
    /// [`Error::RateLimited`] within [`OTP_RESEND_MS`] of the last code;
    /// [`ProblemType::IdentityLocked`] when locked; contract refusals (not sent, final).
    pub async fn start_email_check(&self, who: &Principal) -> Result<u64, Error> {
        let (_, id, party, row, me) = self.party_context(who).await?;
        match row.contract.party_status(party) {
            Some(PartyStatus::Invited) => {}
            Some(other) => {
                return Err(conflict(
                    ProblemType::WrongStep,
                    format!(
                        "identity checks are for invited parties; this party is {}",
                        party_status_name(other)
                    ),
                ));
            }
            None => return Err(Error::NotFound("party".into())),
        }
        let now = self.now_ms();
        let (contract, party_id) = (id.to_string(), party.to_string());
        let (email, _) =
            store::contracts::email_and_otp(self.store.pool(), &contract, &party_id, &me.person)
                .await?;
        let address = EmailAddress::parse(&email)?;
        let policy = OtpPolicy::new(6, 10 * 60 * 1000, 5)?;
        let mut tries = 0;
        let (challenge, code) = loop {
            tries += 1;
            if tries > OTP_SWAP_TRIES_MAX {
                return Err(Error::RateLimited { retry_after_s: 1 });
            }
            let stored = store::contracts::otp(self.store.writer(), &contract, &party_id).await?;
            let mut state = OtpState::read(stored.as_deref());
            let (challenge, code) = match state.start(now, OTP_RESEND_MS) {
                Err(StartRefusal::TooSoon { retry_after_s }) => {
                    return Err(Error::RateLimited { retry_after_s });
                }
                Err(StartRefusal::Locked { lock, newly }) => {
                    if newly
                        && !store::contracts::swap_otp_state(
                            self.store.writer(),
                            &contract,
                            &party_id,
                            stored.as_deref(),
                            &state.encode(),
                        )
                        .await?
                    {
                        continue;
                    }
                    return Err(identity_locked(lock));
                }
                Ok(()) => OtpChallenge::issue(
                    &address,
                    &me.salt,
                    policy,
                    now,
                    &self.otp_pepper,
                    &mut OsSeeded::new()?,
                )?,
            };
            state.set_challenge(&challenge);
            if store::contracts::swap_otp_state(
                self.store.writer(),
                &contract,
                &party_id,
                stored.as_deref(),
                &state.encode(),
            )
            .await?
            {
                break (challenge, code);
            }
        };
        self.mail(
            &email,
            "identity.code",
            "Your Affix signing code",
            &format!(
                "Your one-time code is {}\n\nIt is valid for 10 minutes. Nobody from the platform will ask you for it.",
                code.expose_code()
            ),
        )
        .await?;
        Ok(challenge.expires_at_ms())
    }

    /// Checks the party's one-time code and enrols the party's signing device: on a
    /// person's first check the vault registers `device_public_key` (Ed25519) as the
    /// person's credential, creates the person's P-256 signing key and the CA certifies
    /// it. Records the identity-verified event (the result digest only).
    ///
    /// # Errors
    /// [`Error::Identity`] for a wrong, expired or spent code; [`Error::Conflict`] if the
    /// person already enrolled another device.
    pub async fn finish_email_check(
        &self,
        who: &Principal,
        code: &str,
        credential: Option<NewCredential>,
        signer_name: Option<&str>,
    ) -> Result<ContractView, Error> {
        let (tenant, id, party, row, me) = self.party_context(who).await?;
        let now = self.now_ms();
        let (contract, party_id) = (id.to_string(), party.to_string());
        // Every attempt is counted on the stored state it read, by compare and swap:
        // concurrent guesses are serialized, so no more than the policy's attempts are
        // ever tried, and every wrong code counts towards the party's daily cap
        // (OTP_FAILURES_PER_DAY_MAX, then locked). An accepted code is spent at once (a
        // concurrent guess sees it spent) and given back if the step then fails before
        // it commits.
        let no_code = || {
            conflict(
                ProblemType::NoCode,
                "request a code first (POST /v1/invite/identity/email)",
            )
        };
        let mut tries = 0;
        let (stored, spent, identity, registration_challenge) = loop {
            tries += 1;
            if tries > OTP_SWAP_TRIES_MAX {
                return Err(Error::RateLimited { retry_after_s: 1 });
            }
            let stored = store::contracts::otp(self.store.writer(), &contract, &party_id)
                .await?
                .ok_or_else(no_code)?;
            let mut state = OtpState::read(Some(stored.as_slice()));
            if let Some(lock) = state.lock() {
                return Err(identity_locked(lock));
            }
            let mut challenge = state.challenge().ok_or_else(no_code)?;
            let registration_challenge = passkey_registration_challenge(&challenge, id, party);
            let verified = challenge.verify(code, now, &self.otp_pepper);
            let locked = match verified {
                Err(affix_identity::Error::OtpMismatch { .. }) => state.record_failure(now),
                _ => None,
            };
            state.set_challenge(&challenge);
            let after = state.encode();
            if !store::contracts::swap_otp(
                self.store.writer(),
                &contract,
                &party_id,
                &stored,
                &after,
            )
            .await?
            {
                continue;
            }
            match (verified, locked) {
                (Ok(identity), _) => break (stored, after, identity, registration_challenge),
                (Err(_), Some(lock)) => {
                    return Err(identity_locked(lock));
                }
                (Err(e), None) => return Err(e.into()),
            }
        };
        let result = async {
            // Refused before enrolment if the state machine would refuse the step.
            row.contract.verify_identity(party, &identity, now)?;
            self.enrol(&me.person, credential, signer_name, &registration_challenge)
                .await?;
            if me.seal {
                self.ensure_seal(who, &tenant, &me.person).await?;
            }
            self.commit_step_with(
                &tenant,
                id,
                row,
                Some((party, PartyStateColumn::Otp, &spent)),
                |c, now| c.verify_identity(party, &identity, now),
            )
            .await
        }
        .await;
        match result {
            Ok(row) => Ok(Self::view_of(who, id, &row)),
            Err(e) => {
                // The step did not happen: the code may be tried again (unless another
                // request replaced the challenge meanwhile).
                store::contracts::swap_otp(
                    self.store.writer(),
                    &contract,
                    &party_id,
                    &spent,
                    &stored,
                )
                .await?;
                Err(e)
            }
        }
    }

    /// The options of a passkey registration at the party's first identity check
    /// (`navigator.credentials.create`): offered while a one-time code is pending, with
    /// a challenge bound to that code's check, so the registration sent with the code
    /// (`finish_email_check`, [`NewCredential::Passkey`]) was made for it.
    ///
    /// # Errors
    /// [`ProblemType::NoCode`] without a pending code; [`ProblemType::IdentityLocked`].
    pub async fn passkey_creation(&self, who: &Principal) -> Result<PasskeyCreation, Error> {
        let (_, id, party, _, me) = self.party_context(who).await?;
        let (contract, party_id) = (id.to_string(), party.to_string());
        let (email, stored) =
            store::contracts::email_and_otp(self.store.pool(), &contract, &party_id, &me.person)
                .await?;
        let state = OtpState::read(stored.as_deref());
        if let Some(lock) = state.lock() {
            return Err(identity_locked(lock));
        }
        let challenge = state
            .challenge()
            .filter(|c| c.attempts_left() > 0 && c.expires_at_ms() > self.now_ms())
            .ok_or_else(|| {
                conflict(
                    ProblemType::NoCode,
                    "request a code first (POST /v1/invite/identity/email): a passkey is registered with it",
                )
            })?;
        let registration = passkey_registration_challenge(&challenge, id, party);
        let b64url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        Ok(PasskeyCreation {
            challenge: base64::Engine::encode(&b64url, registration),
            rp_id: self.webauthn.id().to_owned(),
            rp_name: "Affix".to_owned(),
            user_id: base64::Engine::encode(&b64url, &registration[..16]),
            user_name: email,
        })
    }

    /// The signer account of `person`'s verified address: created at the first identity
    /// check with the signer's own device key and the name the signer gives, reused by
    /// every tenant that invites the address; gets its vault key and certificate on
    /// first need (one enrolment at a time per process).
    async fn enrol(
        &self,
        person: &str,
        credential: Option<NewCredential>,
        signer_name: Option<&str>,
        registration_challenge: &[u8; 32],
    ) -> Result<store::signers::SignerAccountRow, Error> {
        let email = store::persons::contact(self.store.pool(), person)
            .await?
            .email;
        // A returning signer (the common case) needs no lock: the account is complete.
        let existing = store::signers::by_email(self.store.pool(), &email).await?;
        let _guard = match &existing {
            Some(account) if account.vault_key.is_some() => None,
            _ => Some(self.enrol_lock.lock().await),
        };
        let existing = match existing {
            Some(account) if account.vault_key.is_some() => Some(account),
            // Read again under the lock: another enrolment may have completed it.
            _ => store::signers::by_email(self.store.pool(), &email).await?,
        };
        let vt = signers_vault_tenant();
        let account = match existing {
            Some(account) => {
                // A returning signer uses the credential the account has; a passkey is
                // never registered twice (the page asks only on a first check).
                let same = match &credential {
                    None => true,
                    Some(NewCredential::Device(key)) => {
                        account.credential_kind == KIND_DEVICE
                            && key.as_slice() == account.credential_public_key.as_slice()
                    }
                    Some(NewCredential::Browser(key)) => {
                        account.credential_kind == KIND_BROWSER
                            && key.as_slice() == account.credential_public_key.as_slice()
                    }
                    Some(NewCredential::Passkey { .. }) => false,
                };
                if !same {
                    return Err(conflict(
                        ProblemType::DeviceMismatch,
                        "this address's signer account has another credential; use it, or recover access",
                    ));
                }
                account
            }
            None => {
                let Some(given) = credential else {
                    return Err(invalid(
                        ProblemType::MissingDeviceKey,
                        "first identity check: send the signer's credential: `passkey` (a WebAuthn registration), `browser_public_key` (WebCrypto P-256) or `device_public_key` (Ed25519)",
                    ));
                };
                let name = check_name(
                    "signer_name",
                    signer_name.ok_or_else(|| {
                        invalid(
                            ProblemType::MissingSignerName,
                            "first identity check: send `signer_name`, your name as it will appear in your certificate",
                        )
                    })?,
                )?;
                let owner = OwnerId::random()?;
                let vault = self.vault.clone();
                let vt2 = vt.clone();
                let now = self.now_ms();
                let challenge = registration_challenge.to_vec();
                let (credential, kind, public_key, webauthn_id) =
                    tokio::task::spawn_blocking(move || {
                        register_signer_credential(&vault, &vt2, owner, given, challenge, now)
                    })
                    .await
                    .map_err(|e| Error::Internal(e.to_string()))??;
                let account = store::signers::SignerAccountRow {
                    id: owner.to_string(),
                    email: email.clone(),
                    name,
                    credential_id: credential.to_string(),
                    credential_kind: kind.to_owned(),
                    credential_public_key: public_key,
                    webauthn_credential_id: webauthn_id,
                    vault_key: None,
                    certificate: None,
                    created_ms: now,
                };
                if !store::signers::insert(self.store.pool(), &account).await? {
                    return Err(Error::Internal(
                        "a signer account for this address appeared during enrolment".into(),
                    ));
                }
                account
            }
        };
        if account.vault_key.is_some() {
            return Ok(account);
        }
        let owner = owner_of(&account.id)?;
        let vault = self.vault.clone();
        let now = self.now_ms();
        let key = tokio::task::spawn_blocking(move || {
            vault.create_key(&vt, owner, Algorithm::EcdsaP256, now)
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
        let cert = self.authority.issue_person(
            &account.name,
            &account.id,
            credential_policy(&account.credential_kind)?,
            &key.public_key,
            system_time(self.now_ms()),
        )?;
        let der = cert.to_der().map_err(|e| Error::Pki(e.to_string()))?;
        store::signers::set_signing_key(
            self.store.pool(),
            &account.id,
            &key.id.to_string(),
            der.clone(),
        )
        .await?;
        Ok(store::signers::SignerAccountRow {
            vault_key: Some(key.id.to_string()),
            certificate: Some(der),
            ..account
        })
    }

    /// Records that the party was shown the content with `content_digest`.
    ///
    /// # Errors
    /// Contract refusals (wrong step, wrong digest).
    pub async fn view(&self, who: &Principal, content_digest: &str) -> Result<ContractView, Error> {
        self.party_step(who, content_digest, |c, p, d, now| c.view(p, d, now))
            .await
    }

    /// Records the party's consent to sign electronically.
    ///
    /// # Errors
    /// Contract refusals.
    pub async fn consent(
        &self,
        who: &Principal,
        content_digest: &str,
    ) -> Result<ContractView, Error> {
        self.party_step(who, content_digest, |c, p, d, now| c.consent(p, d, now))
            .await
    }

    /// The party declines.
    ///
    /// # Errors
    /// Contract refusals.
    pub async fn decline(&self, who: &Principal) -> Result<ContractView, Error> {
        let (tenant, id, party, row, _) = self.party_context(who).await?;
        let row = self
            .commit_step(&tenant, id, row, |c, now| c.decline(party, now))
            .await?;
        Ok(Self::view_of(who, id, &row))
    }

    async fn party_step(
        &self,
        who: &Principal,
        content_digest: &str,
        step: impl Fn(
            &Contract,
            PartyId,
            Sha256Digest,
            u64,
        ) -> Result<(Contract, ContractEvent), affix_contract::Error>,
    ) -> Result<ContractView, Error> {
        let digest = Sha256Digest::parse_hex(content_digest).map_err(|_| {
            invalid(
                ProblemType::InvalidDigest,
                "content_digest must be 64 hex digits",
            )
        })?;
        let (tenant, id, party, row, _) = self.party_context(who).await?;
        let row = self
            .commit_step(&tenant, id, row, |c, now| step(c, party, digest, now))
            .await?;
        Ok(Self::view_of(who, id, &row))
    }

    /// Stores the party's handwritten signature image: the PNG (at most
    /// [`SIGNATURE_IMAGE_BYTES_MAX`] bytes) is decoded under limits and re-encoded
    /// canonically ([`affix_contract::SignatureImage`]); the canonical bytes are stored
    /// and their SHA-256 (hex) returned. That digest goes into the CMS signed attributes
    /// the device approves and into the signed event.
    ///
    /// # Errors
    /// [`Error::TooLarge`]; [`Error::Invalid`] ([`ProblemType::InvalidImage`]) for
    /// anything the canonicalization refuses, with nothing stored.
    pub async fn put_signature_image(
        &self,
        who: &Principal,
        png: Vec<u8>,
    ) -> Result<String, Error> {
        if png.len() > SIGNATURE_IMAGE_BYTES_MAX {
            return Err(Error::TooLarge {
                what: "signature image",
                max: SIGNATURE_IMAGE_BYTES_MAX,
            });
        }
        let (_, id, party, row, _) = self.party_context(who).await?;
        if row.contract.status().is_final() {
            return Err(conflict(
                ProblemType::ContractFinal,
                "the contract is no longer open",
            ));
        }
        // Decoding takes milliseconds for the largest image: off the async workers.
        let image =
            tokio::task::spawn_blocking(move || affix_contract::SignatureImage::canonicalize(&png))
                .await
                .map_err(|e| Error::Internal(e.to_string()))?
                .map_err(|e| match e {
                    affix_contract::Error::SignatureImageInvalid { problem } => invalid(
                        ProblemType::InvalidImage,
                        format!("not an acceptable PNG image: {problem}"),
                    ),
                    affix_contract::Error::TooLarge { .. } => Error::TooLarge {
                        what: "signature image",
                        max: SIGNATURE_IMAGE_BYTES_MAX,
                    },
                    other => Error::from(other),
                })?;
        let digest = image.digest().to_string();
        upsert_party_state(
            self.store.writer(),
            id,
            party,
            PartyStateColumn::Image,
            Some(image.into_bytes()),
        )
        .await?;
        Ok(digest)
    }

    /// Prepares the party's signature: checks the state machine would accept it now,
    /// builds the CMS signed attributes over the canonical content with the party's
    /// certificate, and returns the vault authorization statement the party's device
    /// must sign.
    ///
    /// # Errors
    /// Contract refusals (not consented, not your turn); [`Error::Conflict`] without a
    /// signature image.
    pub async fn prepare_signature(&self, who: &Principal) -> Result<PreparedSignature, Error> {
        let (tenant, id, party, row, me) = self.party_context(who).await?;
        let now = self.now_ms();
        let digest = row.contract.content_digest();
        self.dry_run_signature(&tenant, id, party, &row, now)
            .await?;
        let image = store::contracts::prepared_and_image(
            self.store.pool(),
            &id.to_string(),
            &party.to_string(),
        )
        .await?
        .and_then(|(_, image)| image)
        .ok_or_else(|| {
            conflict(
                ProblemType::NoSignatureImage,
                "upload the handwritten signature first (PUT /v1/invite/signature-image)",
            )
        })?;
        let shown = self.shown_digests(id, &image).await?;
        let signer = self.signer_of(&tenant, &me).await?;
        let (vt, key, credential, cert) = (
            signer.tenant.clone(),
            signer.key,
            signer.credential,
            &signer.certificate,
        );
        let content = row.contract.content().encode();
        // Whole seconds: the CMS signing-time attribute has second precision.
        let signing_time_ms = now / 1000 * 1000;
        // The device authorizes the vault to sign exactly the CMS signed attributes,
        // which bind the content, the document, the image, the time and the certificate.
        let cms = prepare_cms(
            &content,
            cert,
            self.authority.issuing(),
            signing_time_ms,
            &shown,
        )?;
        let payload = affix_vault::Payload::Message(cms.to_be_signed().to_vec());
        let statement = UnboundStatement {
            tenant: vt.clone(),
            action: Action::Sign,
            key: Some(key),
            payload_kind: payload.kind_code(),
            digest: payload.digest(),
            grant: None,
            nonce: affix_vault::fresh_nonce()?,
            expires_ms: now + PREPARED_LIFETIME_MS,
        }
        .bind(credential);
        let prepared = Prepared {
            statement: statement.clone(),
            signing_time_ms,
        };
        upsert_party_state(
            self.store.writer(),
            id,
            party,
            PartyStateColumn::Prepared,
            Some(prepared.encode()),
        )
        .await?;
        Ok(PreparedSignature {
            statement: base64::Engine::encode(&b64(), statement.to_bytes()),
            payload_digest: hex::encode(statement.digest),
            key_id: key.to_string(),
            credential_id: credential.to_string(),
            expires_ms: statement.expires_ms,
            content_digest: digest.to_string(),
            signed_attributes: base64::Engine::encode(&b64(), cms.to_be_signed()),
            passkey: signer.kind.is_passkey().then(|| {
                let b64url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
                PasskeyRequest {
                    challenge: base64::Engine::encode(
                        &b64url,
                        affix_vault::webauthn_challenge(&statement),
                    ),
                    rp_id: self.webauthn.id().to_owned(),
                    credential_id: base64::Engine::encode(
                        &b64url,
                        signer.webauthn_id.as_deref().unwrap_or_default(),
                    ),
                }
            }),
            credential_kind: signer.account_kind,
        })
    }

    /// The digests of what the party was shown beside the content, for the CMS signed
    /// attributes: the contract's document (if it has one) and the party's signature
    /// image (canonical bytes, as stored).
    async fn shown_digests(
        &self,
        id: ContractId,
        image: &[u8],
    ) -> Result<affix_cms::AffixAttributes, Error> {
        let shown = affix_cms::AffixAttributes::new().with_signature_image_digest(sha256(image));
        let document = store::contracts::document(self.store.pool(), &id.to_string()).await?;
        Ok(match document {
            Some(document) => shown.with_document_digest(sha256(&document)),
            None => shown,
        })
    }

    /// The vault tenant, key, credential and certificate a party signs with, and the
    /// credential that approves: the organization's seal (in the tenant's vault,
    /// approved by the holder's own device or browser-held key) for a sealing party,
    /// the signer account of the person's address (in the signers' vault tenant)
    /// otherwise.
    async fn signer_of(&self, tenant: &str, party: &PartyRow) -> Result<SignerKey, Error> {
        let not_enrolled = || {
            conflict(
                ProblemType::NotEnrolled,
                "the signer has no signing key yet: verify identity first",
            )
        };
        let account = store::signers::of_person(self.store.pool(), &party.person)
            .await?
            .ok_or_else(not_enrolled)?;
        let kind = vault_credential_kind(&account.credential_kind)?;
        if party.seal {
            let seal = self.seal_of(tenant).await?;
            return Ok(SignerKey {
                tenant: vault_tenant(tenant)?,
                key: seal.key,
                credential: seal.credential,
                certificate: seal.certificate,
                kind,
                account_kind: account.credential_kind,
                public_key: account.credential_public_key,
                webauthn_id: None,
            });
        }
        let (Some(key), Some(cert)) = (&account.vault_key, &account.certificate) else {
            return Err(not_enrolled());
        };
        Ok(SignerKey {
            tenant: signers_vault_tenant(),
            key: KeyId::parse(key)?,
            credential: CredentialId::parse(&account.credential_id)?,
            certificate: Certificate::from_der(cert)
                .map_err(|e| Error::Internal(format!("stored certificate: {e}")))?,
            kind,
            account_kind: account.credential_kind,
            public_key: account.credential_public_key,
            webauthn_id: account.webauthn_credential_id,
        })
    }

    /// Signs: the party's device signature over the prepared statement authorizes the
    /// vault to sign the CMS signed attributes; the CMS signature gets an RFC 3161
    /// time-stamp; the signed event records the digests of image, CMS signature,
    /// certificate and token. The last signature makes the contract effective.
    ///
    /// A crash before the database commit leaves the party unsigned (the vault's usage
    /// record shows the attempt); preparing and signing again completes.
    ///
    /// # Errors
    /// [`Error::Conflict`] without a prepared signature; [`Error::Expired`];
    /// [`Error::Vault`] when the device signature does not verify.
    pub async fn sign(&self, who: &Principal, approval: Approval) -> Result<ContractView, Error> {
        let (tenant, id, party, row, me) = self.party_context(who).await?;
        let signer = self.signer_of(&tenant, &me).await?;
        let (vt, key, cert) = (
            signer.tenant.clone(),
            signer.key,
            signer.certificate.clone(),
        );
        let (prepared, image) = store::contracts::prepared_and_image(
            self.store.pool(),
            &id.to_string(),
            &party.to_string(),
        )
        .await?
        .ok_or_else(|| conflict(ProblemType::NotPrepared, "prepare the signature first"))?;
        let prepared = Prepared::decode(
            &prepared
                .ok_or_else(|| conflict(ProblemType::NotPrepared, "prepare the signature first"))?,
            &vt,
        )?;
        let image = image.ok_or_else(|| {
            conflict(
                ProblemType::NoSignatureImage,
                "upload the signature image first",
            )
        })?;
        let now = self.now_ms();
        if prepared.statement.expires_ms <= now {
            return Err(Error::Expired(
                "the prepared signature expired; prepare again".into(),
            ));
        }
        let proof = match (approval, signer.kind.is_passkey()) {
            (Approval::Signature(signature), false) if signature.len() == 64 => signature,
            (Approval::Signature(_), false) => {
                return Err(invalid(
                    ProblemType::InvalidSignature,
                    "the device signature is 64 bytes (Ed25519, or P-256 r ‖ s for a browser-held key)",
                ));
            }
            (Approval::Assertion(assertion), true) => assertion.encode().map_err(|e| {
                invalid(
                    ProblemType::InvalidSignature,
                    format!("the passkey assertion is not acceptable: {e}"),
                )
            })?,
            (Approval::Signature(_), true) => {
                return Err(invalid(
                    ProblemType::InvalidSignature,
                    "this signer approves with a passkey: send its WebAuthn `assertion`",
                ));
            }
            (Approval::Assertion(_), false) => {
                return Err(invalid(
                    ProblemType::InvalidSignature,
                    "this signer approves with a device or browser-held key: send `device_signature`",
                ));
            }
        };
        // Refused before anything is signed, so the vault records no signature that
        // would never be used.
        self.dry_run_signature(&tenant, id, party, &row, now)
            .await?;
        let authorization = Authorization {
            statement: prepared.statement.clone(),
            signature: proof,
        };
        // What the evidence keeps: the authorization and the credential that proved it,
        // so anyone can re-check offline what the signer's credential approved.
        let approval = store::contracts::ApprovalRow {
            authorization: authorization.encode()?,
            credential_kind: signer.kind.name().to_owned(),
            credential_public_key: signer.public_key.clone(),
            rp_id: signer
                .kind
                .is_passkey()
                .then(|| self.webauthn.id().to_owned()),
            rp_origin: signer
                .kind
                .is_passkey()
                .then(|| self.webauthn.origins().first().cloned())
                .flatten(),
        };
        let authorization = SignerAuthorization { authorization };
        // What the party is shown now: a document or image replaced since preparation
        // gives other signed attributes, and the vault refuses them (digest mismatch).
        let shown = self.shown_digests(id, &image).await?;
        let content = row.contract.content().encode();
        let vault = self.vault.clone();
        let issuing = self.authority.issuing().clone();
        let cert2 = cert.clone();
        let vt2 = vt.clone();
        let signing_time_ms = prepared.signing_time_ms;
        let started = std::time::Instant::now();
        let cms = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, Error> {
            let prepared = prepare_cms(&content, &cert2, &issuing, signing_time_ms, &shown)?;
            let signer = vault.p256_signer(&vt2, key, None, authorization, vault_wall_clock_ms)?;
            let signature: p256::ecdsa::DerSignature =
                signer.try_sign(prepared.to_be_signed()).map_err(|inner| {
                    tracing::debug!(error = %inner, "the vault refused to sign");
                    Error::Vault(affix_vault::Error::AuthorizationRefused(
                        affix_vault::Refusal::HandleRefused,
                    ))
                })?;
            prepared
                .assemble(signature.as_bytes())
                .map_err(|e| Error::Pki(e.to_string()))
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
        let parsed =
            affix_cms::DetachedSignature::from_der(&cms).map_err(|e| Error::Pki(e.to_string()))?;
        self.stages.record(crate::stages::Stage::VaultCms, started);
        let started = std::time::Instant::now();
        let token = self
            .authority
            .timestamp(parsed.signature_value(), system_time(self.now_ms()))?;
        self.stages.record(crate::stages::Stage::Tsa, started);
        let cms = affix_cms::add_timestamp(&cms, &token).map_err(|e| Error::Pki(e.to_string()))?;
        let cert_der = cert.to_der().map_err(|e| Error::Pki(e.to_string()))?;
        let evidence = SignatureEvidence {
            signature_image: Sha256Digest::from_bytes(sha256(&image)),
            cms_signature: Sha256Digest::from_bytes(sha256(&cms)),
            signer_certificate: Sha256Digest::from_bytes(sha256(&cert_der)),
            timestamp_token: Sha256Digest::from_bytes(sha256(&token)),
        };
        // Another party of a parallel contract may append an event between our load and
        // our commit: the signature stays valid (it covers the content, not the chain),
        // so the step is replayed on the new state, a few times at most.
        let started = std::time::Instant::now();
        let mut row = row;
        let mut attempt = 0;
        let row = loop {
            let now = self.now_ms();
            let (next, event) =
                row.contract
                    .sign(party, row.contract.content_digest(), evidence, now)?;
            // The dry run checked the rate cap on the state it loaded; a replay on a
            // changed state (a parallel party signed meanwhile) checks again.
            if attempt > 0 && next.status() == ContractStatus::Effective {
                self.check_rate_cap_at_signing(&tenant, id, next.content(), now)
                    .await?;
            }
            match self
                .commit_signature(
                    &tenant,
                    id,
                    party,
                    &row,
                    &next,
                    &event,
                    SignatureParts {
                        cms: &cms,
                        cert_der: &cert_der,
                        token: &token,
                        image: &image,
                        approval: &approval,
                    },
                    now,
                )
                .await
            {
                Err(Error::Conflict {
                    kind: ProblemType::ConcurrentChange,
                    ..
                }) if attempt < STEP_RETRIES => {
                    attempt += 1;
                    row = self.load(&tenant, id).await?;
                }
                Err(e) => return Err(e),
                Ok(()) => break self.advance(id, &row, next, event.at_ms()),
            }
        };
        self.stages.record(crate::stages::Stage::Database, started);
        self.evidence_wake.notify_one();
        Ok(Self::view_of(who, id, &row))
    }
}

impl Platform {
    /// Dry run of `party`'s signature with placeholder digests: refuses early exactly as
    /// the real step would (turn, status, expiry, and for the signature that would make
    /// the contract effective, the rate cap).
    async fn dry_run_signature(
        &self,
        tenant: &str,
        id: ContractId,
        party: PartyId,
        row: &ContractRow,
        now: u64,
    ) -> Result<(), Error> {
        let placeholder = Sha256Digest::from_bytes([0; 32]);
        let (next, _) = row.contract.sign(
            party,
            row.contract.content_digest(),
            SignatureEvidence {
                signature_image: placeholder,
                cms_signature: placeholder,
                signer_certificate: placeholder,
                timestamp_token: placeholder,
            },
            now,
        )?;
        if next.status() == ContractStatus::Effective {
            self.check_rate_cap_at_signing(tenant, id, next.content(), now)
                .await?;
        }
        Ok(())
    }

    /// The rate cap on the day the last signature makes the contract (the LPR may have
    /// changed since it was created): a loan note's rate, or an extension addendum's.
    async fn check_rate_cap_at_signing(
        &self,
        tenant: &str,
        id: ContractId,
        content: &affix_contract::ContractContent,
        now: u64,
    ) -> Result<(), Error> {
        if content.template_id() != affix_contract::LOAN_NOTE_ID {
            return self.check_extension_cap_at_signing(tenant, id, now).await;
        }
        let today = Date::from_unix_ms_china(now);
        let fields = Template::loan_note().parse(content.fields())?;
        affix_contract::LoanNote::from_fields(&fields)?.check_rate_cap(&self.lpr, today)?;
        Ok(())
    }
}

/// What a party signs with: the vault key and certificate, and the credential that
/// approves ([`Platform::signer_of`]).
struct SignerKey {
    tenant: TenantId,
    key: KeyId,
    credential: CredentialId,
    certificate: Certificate,
    /// The approving credential's vault kind.
    kind: CredentialKind,
    /// The signer account's name of that kind.
    account_kind: String,
    /// The approving credential's public key (raw, or a passkey's COSE key).
    public_key: Vec<u8>,
    /// A passkey's WebAuthn credential id.
    webauthn_id: Option<Vec<u8>>,
}

/// A signature's stored parts, committed with its event.
struct SignatureParts<'a> {
    cms: &'a [u8],
    cert_der: &'a [u8],
    token: &'a [u8],
    image: &'a [u8],
    approval: &'a store::contracts::ApprovalRow,
}

/// How often a step is replayed on a contract that changed under it.
const STEP_RETRIES: u32 = 5;

impl Platform {
    /// The signed event, the signature and the cleared prepared statement, in one
    /// transaction.
    #[allow(clippy::too_many_arguments)] // one transaction's parts
    async fn commit_signature(
        &self,
        tenant: &str,
        id: ContractId,
        party: PartyId,
        row: &ContractRow,
        next: &Contract,
        event: &ContractEvent,
        parts: SignatureParts<'_>,
        now: u64,
    ) -> Result<(), Error> {
        let SignatureParts {
            cms,
            cert_der,
            token,
            image,
            approval,
        } = parts;
        let mut tx = self.store.writer().begin().await?;
        self.append_event(&mut tx, tenant, id, row.event_count, next, event)
            .await?;
        store::contracts::insert_signature(
            &mut *tx,
            store::contracts::NewSignatureRow {
                contract: &id.to_string(),
                party: &party.to_string(),
                cms,
                certificate: cert_der,
                timestamp_token: token,
                image,
                approval,
                created_ms: now,
            },
        )
        .await?;
        store::contracts::clear_prepared(&mut *tx, &id.to_string(), &party.to_string()).await?;
        if next.status() == ContractStatus::Effective {
            self.open_loan(&mut tx, tenant, next, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Applies `step` to the contract's current state and appends its event, replaying
    /// it on a fresh load when another step got there first; returns the new row.
    async fn commit_step(
        &self,
        tenant: &str,
        id: ContractId,
        row: ContractRow,
        step: impl Fn(&Contract, u64) -> Result<(Contract, ContractEvent), affix_contract::Error>,
    ) -> Result<ContractRow, Error> {
        self.commit_step_with(tenant, id, row, None, step).await
    }

    /// [`Self::commit_step`], also setting a `party_state` column in the step's
    /// transaction.
    async fn commit_step_with(
        &self,
        tenant: &str,
        id: ContractId,
        row: ContractRow,
        party_state: Option<(PartyId, PartyStateColumn, &[u8])>,
        step: impl Fn(&Contract, u64) -> Result<(Contract, ContractEvent), affix_contract::Error>,
    ) -> Result<ContractRow, Error> {
        let mut row = row;
        let mut attempt = 0;
        loop {
            let now = self.now_ms();
            let (next, event) = step(&row.contract, now)?;
            let mut tx = self.store.writer().begin().await?;
            match self
                .append_event(&mut tx, tenant, id, row.event_count, &next, &event)
                .await
            {
                Err(Error::Conflict {
                    kind: ProblemType::ConcurrentChange,
                    ..
                }) if attempt < STEP_RETRIES => {
                    drop(tx);
                    attempt += 1;
                    row = self.load(tenant, id).await?;
                }
                Err(e) => return Err(e),
                Ok(()) => {
                    if let Some((party, column, value)) = party_state {
                        upsert_party_state(&mut *tx, id, party, column, Some(value.to_vec()))
                            .await?;
                    }
                    tx.commit().await?;
                    self.evidence_wake.notify_one();
                    return Ok(self.advance(id, &row, next, event.at_ms()));
                }
            }
        }
    }
}

async fn upsert_party_state<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    id: ContractId,
    party: PartyId,
    column: PartyStateColumn,
    value: Option<Vec<u8>>,
) -> Result<(), Error> {
    store::contracts::set_party_state(executor, &id.to_string(), &party.to_string(), column, value)
        .await
}
