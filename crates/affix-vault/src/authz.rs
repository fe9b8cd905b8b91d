//! Owner authorizations: a credential's signature over exactly one action.
//!
//! ```text
//! signed bytes (v1)
//!   "affix.dev/vault/authorization/v1" 0x00
//!   tenant       u8 len + name
//!   action       u8   1 sign, 2 grant, 3 disable, 4 register-credential,
//!                     5 cancel-recovery, 6 export-seed, 7 revoke-credential,
//!                     8 wallet-sign, 9 set-recovery-code
//!   key          16   key id (zeros when the action names no key)
//!   payload      u8   1 message, 2 prehash (sign and wallet-sign; 0 otherwise)
//!   digest       32   sign: Payload::digest; wallet-sign: wallet::wallet_sign_digest;
//!                     export-seed: wallet::seed_export_digest; set-recovery-code:
//!                     recovery::RecoveryCodeDigest::authorization_digest; others:
//!                     SHA-256 of the action's object
//!   grant        16   grant id when signing under a delegated grant, zeros otherwise
//!   nonce        16   chosen by the authenticator, never accepted twice
//!   expires_ms   u64 BE
//!   credential   16   the signing credential's id (zeros for export-seed, which the
//!                     recipient key the recovery names signs)
//! ```
//!
//! The vault accepts an authorization only if it is unexpired and expires at most
//! [`AUTHORIZATION_LIFETIME_MS_MAX`] ahead, its nonce is new, the credential is active and
//! belongs to the key's owner (or is the grantee of an active grant), and the signature
//! verifies. The signature is Ed25519 or ECDSA P-256 (fixed `r ‖ s`; device keys and
//! browser-held WebCrypto keys) by the credential, or, for a passkey, a WebAuthn
//! assertion ([`affix_webauthn::Assertion::encode`]) whose challenge is
//! [`webauthn_challenge`] = SHA-256 of the signed bytes above, verified by the vault
//! against its relying-party settings and the passkey's sign counter.
//!
//! ```text
//! Authorization::encode (v1), what an evidence bundle carries
//!   version      u8       0x01
//!   statement    u16 BE length ‖ Statement::to_bytes
//!   proof        u16 BE length ‖ the signature, or the encoded WebAuthn assertion
//! ```

use crate::error::{Error, Refusal, malformed};
use crate::ids::{CredentialId, GrantId, KeyId, TenantId};
use crate::keys::Payload;
use crate::record::{CredentialKind, Reader, push_short};
use sha2::{Digest as _, Sha256};
use signature::Verifier as _;

/// Domain separation of authorization signatures.
pub const AUTHORIZATION_CONTEXT: &[u8] = b"affix.dev/vault/authorization/v1\0";

/// Longest authorization proof: a raw signature (64 bytes) or an encoded WebAuthn
/// assertion.
pub const PROOF_BYTES_MAX: usize = affix_webauthn::ASSERTION_BYTES_MAX;

/// Version byte of [`Authorization::encode`].
pub const AUTHORIZATION_ENCODING_VERSION: u8 = 1;

/// Longest accepted authorization lifetime: an authorization is fresh or it is refused.
pub const AUTHORIZATION_LIFETIME_MS_MAX: u64 = 5 * 60 * 1000;

/// What an authorization allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Sign a payload with a key.
    Sign,
    /// Create a delegated-signing grant.
    Grant,
    /// Disable a key.
    Disable,
    /// Register another credential to the same owner.
    RegisterCredential,
    /// Stop a recovery during its cancellation window.
    CancelRecovery,
    /// Receive a wallet's seed at the end of a seed-export recovery (signed by the
    /// recipient key the recovery names).
    ExportSeed,
    /// Revoke one of the owner's credentials.
    RevokeCredential,
    /// Sign with a key derived from one of the owner's HD wallets.
    WalletSign,
    /// Register (or replace) the owner's offline recovery code: the digest is
    /// [`crate::recovery::RecoveryCodeDigest::authorization_digest`] of the code the
    /// owner generated on their side.
    SetRecoveryCode,
}

impl Action {
    fn code(self) -> u8 {
        match self {
            Action::Sign => 1,
            Action::Grant => 2,
            Action::Disable => 3,
            Action::RegisterCredential => 4,
            Action::CancelRecovery => 5,
            Action::ExportSeed => 6,
            Action::RevokeCredential => 7,
            Action::WalletSign => 8,
            Action::SetRecoveryCode => 9,
        }
    }

    fn from_code(code: u8) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|a| a.code() == code)
            .ok_or_else(|| malformed("action", format!("unknown code {code}")))
    }

    /// Every action.
    pub const ALL: [Action; 9] = [
        Action::Sign,
        Action::Grant,
        Action::Disable,
        Action::RegisterCredential,
        Action::CancelRecovery,
        Action::ExportSeed,
        Action::RevokeCredential,
        Action::WalletSign,
        Action::SetRecoveryCode,
    ];

    /// The action with this [`Action::name`].
    ///
    /// # Errors
    /// [`Error::Malformed`] for an unknown name.
    pub fn from_name(name: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|a| a.name() == name)
            .ok_or_else(|| malformed("action", format!("unknown action {name:?}")))
    }

    /// Name used in the API.
    pub fn name(self) -> &'static str {
        match self {
            Action::Sign => "sign",
            Action::Grant => "grant",
            Action::Disable => "disable",
            Action::RegisterCredential => "register-credential",
            Action::CancelRecovery => "cancel-recovery",
            Action::ExportSeed => "export-seed",
            Action::RevokeCredential => "revoke-credential",
            Action::WalletSign => "wallet-sign",
            Action::SetRecoveryCode => "set-recovery-code",
        }
    }
}

/// What is to be authorized, before a credential is bound to it: everything a
/// [`Statement`] says but who signs it. The vault's client builds one
/// ([`UnboundStatement::for_signing`], [`UnboundStatement::for_action`],
/// [`UnboundStatement::for_wallet_signing`]); the authenticator binds its credential
/// ([`UnboundStatement::bind`], which [`DeviceKey::authorize`] does) and signs the result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnboundStatement {
    /// Tenant of the key and credential.
    pub tenant: TenantId,
    /// The action.
    pub action: Action,
    /// The key, for key actions.
    pub key: Option<KeyId>,
    /// Payload kind code (signing only).
    pub payload_kind: u8,
    /// Digest of what is acted on.
    pub digest: [u8; 32],
    /// Grant under which a grantee signs.
    pub grant: Option<GrantId>,
    /// Single-use nonce.
    pub nonce: [u8; 16],
    /// Expiry.
    pub expires_ms: u64,
}

impl UnboundStatement {
    /// A statement for signing `payload` with `key` (under `grant`, for a grantee), valid
    /// for `lifetime_ms` from `now_ms`, with a fresh nonce.
    ///
    /// # Errors
    /// [`Error::Random`].
    pub fn for_signing(
        tenant: &TenantId,
        key: KeyId,
        payload: &Payload,
        grant: Option<GrantId>,
        now_ms: u64,
        lifetime_ms: u64,
    ) -> Result<Self, Error> {
        Ok(Self {
            tenant: tenant.clone(),
            action: Action::Sign,
            key: Some(key),
            payload_kind: payload.kind_code(),
            digest: payload.digest(),
            grant,
            nonce: fresh_nonce()?,
            expires_ms: now_ms.saturating_add(lifetime_ms),
        })
    }

    /// A statement for a non-signing `action` over `digest` (see [`Action`] for what each
    /// action's digest covers), valid for `lifetime_ms` from `now_ms`, with a fresh nonce.
    ///
    /// # Errors
    /// [`Error::Random`].
    pub fn for_action(
        tenant: &TenantId,
        action: Action,
        key: Option<KeyId>,
        digest: [u8; 32],
        now_ms: u64,
        lifetime_ms: u64,
    ) -> Result<Self, Error> {
        Ok(Self {
            tenant: tenant.clone(),
            action,
            key,
            payload_kind: 0,
            digest,
            grant: None,
            nonce: fresh_nonce()?,
            expires_ms: now_ms.saturating_add(lifetime_ms),
        })
    }

    /// The statement `credential` signs.
    pub fn bind(self, credential: CredentialId) -> Statement {
        let UnboundStatement {
            tenant,
            action,
            key,
            payload_kind,
            digest,
            grant,
            nonce,
            expires_ms,
        } = self;
        Statement {
            tenant,
            action,
            key,
            payload_kind,
            digest,
            grant,
            nonce,
            expires_ms,
            credential,
        }
    }
}

/// The statement a credential signs: an [`UnboundStatement`] bound to its signer
/// ([`UnboundStatement::bind`], the only way to build one outside this crate).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Statement {
    /// Tenant of the key and credential.
    pub tenant: TenantId,
    /// The action.
    pub action: Action,
    /// The key, for key actions.
    pub key: Option<KeyId>,
    /// Payload kind code (signing only).
    pub payload_kind: u8,
    /// Digest of what is acted on.
    pub digest: [u8; 32],
    /// Grant under which a grantee signs.
    pub grant: Option<GrantId>,
    /// Single-use nonce.
    pub nonce: [u8; 16],
    /// Expiry.
    pub expires_ms: u64,
    /// The signing credential.
    pub credential: CredentialId,
}

impl Statement {
    /// Checks that the statement is for `action` in `tenant` on `key` over `digest`, in
    /// that order; the caller checks the grant and payload kind its action needs.
    ///
    /// # Errors
    /// [`Error::AuthorizationRefused`] with [`Refusal::WrongAction`],
    /// [`Refusal::WrongTenant`], [`Refusal::WrongKey`] or [`Refusal::DigestMismatch`].
    pub(crate) fn check_for(
        &self,
        action: Action,
        tenant: &TenantId,
        key: Option<KeyId>,
        digest: &[u8; 32],
    ) -> Result<(), Error> {
        let refusal = if self.action != action {
            Refusal::WrongAction {
                expected: action,
                found: self.action,
            }
        } else if &self.tenant != tenant {
            Refusal::WrongTenant
        } else if self.key != key {
            Refusal::WrongKey
        } else if &self.digest != digest {
            Refusal::DigestMismatch
        } else {
            return Ok(());
        };
        Err(refusal.into())
    }

    /// The canonical bytes that are signed.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(AUTHORIZATION_CONTEXT.len() + 200);
        out.extend_from_slice(AUTHORIZATION_CONTEXT);
        push_short(&mut out, self.tenant.as_str().as_bytes());
        out.push(self.action.code());
        out.extend_from_slice(&self.key.map_or([0; 16], |k| k.0));
        out.push(self.payload_kind);
        out.extend_from_slice(&self.digest);
        out.extend_from_slice(&self.grant.map_or([0; 16], |g| g.0));
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.expires_ms.to_be_bytes());
        out.extend_from_slice(&self.credential.0);
        out
    }

    /// Decodes [`Statement::to_bytes`] strictly.
    ///
    /// # Errors
    /// [`Error::Malformed`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let what = "authorization statement";
        let mut r = Reader::new(bytes, what);
        if r.bytes(AUTHORIZATION_CONTEXT.len())? != AUTHORIZATION_CONTEXT {
            return Err(malformed(what, "not an authorization statement"));
        }
        let len = usize::from(r.u8()?);
        let tenant = std::str::from_utf8(r.bytes(len)?)
            .map_err(|_| malformed(what, "tenant is not UTF-8"))?;
        let tenant = TenantId::new(tenant)?;
        let action = Action::from_code(r.u8()?)?;
        let key: [u8; 16] = r.array()?;
        let payload_kind = r.u8()?;
        let digest = r.array()?;
        let grant: [u8; 16] = r.array()?;
        let nonce = r.array()?;
        let expires_ms = r.u64()?;
        let credential = CredentialId(r.array()?);
        r.end()?;
        Ok(Self {
            tenant,
            action,
            key: (key != [0; 16]).then_some(KeyId(key)),
            payload_kind,
            digest,
            grant: (grant != [0; 16]).then_some(GrantId(grant)),
            nonce,
            expires_ms,
            credential,
        })
    }
}

/// The WebAuthn challenge a passkey signs to authorize `statement`: SHA-256 of
/// [`Statement::to_bytes`] (the digest the evidence records call `authorization`).
pub fn webauthn_challenge(statement: &Statement) -> [u8; 32] {
    Sha256::digest(statement.to_bytes()).into()
}

/// A statement and the credential's proof over it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// What is authorized.
    pub statement: Statement,
    /// The proof, by credential kind: Ed25519 signature (64 bytes); ECDSA P-256 `r ‖ s`
    /// (64 bytes; device and browser-held keys); for passkeys the WebAuthn assertion
    /// over [`webauthn_challenge`], encoded by [`affix_webauthn::Assertion::encode`].
    pub signature: Vec<u8>,
}

impl Authorization {
    /// Checks freshness and the signature against the credential's public key. The
    /// caller checks the credential's owner, status and the nonce.
    ///
    /// # Errors
    /// [`Error::AuthorizationRefused`] when expired ([`Refusal::Expired`]), too
    /// long-lived ([`Refusal::LifetimeTooLong`]), or the signature fails
    /// ([`Refusal::SignatureInvalid`]); [`Error::Malformed`] for a bad public key.
    pub fn verify_signature(
        &self,
        kind: CredentialKind,
        public_key: &[u8],
        now_ms: u64,
    ) -> Result<(), Error> {
        self.check_fresh(now_ms)?;
        self.verify_raw(kind, public_key)
    }

    /// Re-checks the proof alone, as an offline verifier of evidence does years later:
    /// no freshness (the statement's expiry has long passed), no nonce and no sign
    /// counter (the vault checked those when it accepted the authorization, and its
    /// usage record says so). For device and browser-held keys the signature over
    /// [`Statement::to_bytes`]; for passkeys the WebAuthn assertion against the COSE
    /// key and `rp` (RP id hash, origin, type, challenge = [`webauthn_challenge`], UP
    /// and UV, the signature over `authenticatorData ‖ SHA-256(clientDataJSON)`).
    ///
    /// # Errors
    /// [`Error::AuthorizationRefused`] ([`Refusal::SignatureInvalid`], or
    /// [`Refusal::Passkey`] with the WebAuthn reason); [`Error::Malformed`] for a public
    /// key that is not of `kind`.
    pub fn verify_proof(
        &self,
        kind: CredentialKind,
        public_key: &[u8],
        rp: &affix_webauthn::RelyingParty,
    ) -> Result<(), Error> {
        if !kind.is_passkey() {
            return self.verify_raw(kind, public_key);
        }
        let key = affix_webauthn::PublicKey::from_cose(public_key)
            .map_err(|e| malformed("credential public key", e.to_string()))?;
        if kind.webauthn_algorithm() != Some(key.algorithm()) {
            return Err(malformed(
                "credential public key",
                "not of the credential's kind",
            ));
        }
        let assertion =
            affix_webauthn::Assertion::decode(&self.signature).map_err(Refusal::Passkey)?;
        assertion
            .verify(rp, &key, &webauthn_challenge(&self.statement), 0)
            .map_err(Refusal::Passkey)?;
        Ok(())
    }

    /// The signature of a device or browser-held key over the statement.
    fn verify_raw(&self, kind: CredentialKind, public_key: &[u8]) -> Result<(), Error> {
        let message = self.statement.to_bytes();
        let refused = || Error::AuthorizationRefused(Refusal::SignatureInvalid);
        match kind {
            CredentialKind::Ed25519 => {
                let key = ed25519_dalek::VerifyingKey::try_from(public_key)
                    .map_err(|_| malformed("credential public key", "ed25519"))?;
                let sig =
                    ed25519_dalek::Signature::from_slice(&self.signature).map_err(|_| refused())?;
                key.verify_strict(&message, &sig).map_err(|_| refused())
            }
            CredentialKind::EcdsaP256 | CredentialKind::BrowserP256 => {
                let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(public_key)
                    .map_err(|_| malformed("credential public key", "P-256"))?;
                let sig =
                    p256::ecdsa::Signature::from_slice(&self.signature).map_err(|_| refused())?;
                key.verify(&message, &sig).map_err(|_| refused())
            }
            // An assertion needs the relying party and the sign counter on record.
            CredentialKind::PasskeyEs256 | CredentialKind::PasskeyEd25519 => {
                Err(Error::Unsupported(
                    "passkey assertions are verified with Authorization::verify_assertion".into(),
                ))
            }
        }
    }

    /// Checks freshness and the WebAuthn assertion of a passkey authorization against
    /// the passkey's COSE key, the relying party and the sign counter on record; returns
    /// the assertion's sign counter (to be stored with the use). The caller checks the
    /// credential's owner, status and the nonce, and orders concurrent counters.
    ///
    /// # Errors
    /// [`Error::AuthorizationRefused`] when expired ([`Refusal::Expired`]), too
    /// long-lived ([`Refusal::LifetimeTooLong`]), or the assertion fails
    /// ([`Refusal::Passkey`] with the WebAuthn reason: origin, RP id, challenge, flags,
    /// signature, counter regression, malformed or oversized parts);
    /// [`Error::Malformed`] for a COSE key that is not of `kind`.
    pub fn verify_assertion(
        &self,
        kind: CredentialKind,
        cose_key: &[u8],
        rp: &affix_webauthn::RelyingParty,
        stored_sign_count: u32,
        now_ms: u64,
    ) -> Result<u32, Error> {
        self.check_fresh(now_ms)?;
        let key = affix_webauthn::PublicKey::from_cose(cose_key)
            .map_err(|e| malformed("credential public key", e.to_string()))?;
        if kind.webauthn_algorithm() != Some(key.algorithm()) {
            return Err(malformed(
                "credential public key",
                "not of the credential's kind",
            ));
        }
        let assertion =
            affix_webauthn::Assertion::decode(&self.signature).map_err(Refusal::Passkey)?;
        let verified = assertion
            .verify(
                rp,
                &key,
                &webauthn_challenge(&self.statement),
                stored_sign_count,
            )
            .map_err(Refusal::Passkey)?;
        Ok(verified.sign_count)
    }

    /// The frozen encoding (see the module documentation): the statement and the proof,
    /// for evidence bundles and offline re-checking.
    ///
    /// # Errors
    /// [`Error::TooLarge`] for a proof over [`PROOF_BYTES_MAX`].
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        let statement = self.statement.to_bytes();
        if self.signature.len() > PROOF_BYTES_MAX {
            return Err(Error::TooLarge {
                what: "authorization proof",
                size: self.signature.len(),
                max: PROOF_BYTES_MAX,
            });
        }
        let mut out = Vec::with_capacity(5 + statement.len() + self.signature.len());
        out.push(AUTHORIZATION_ENCODING_VERSION);
        for part in [statement.as_slice(), self.signature.as_slice()] {
            // Statements are under 200 bytes; proofs are bounded just above.
            let len = u16::try_from(part.len()).unwrap_or(u16::MAX);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(part);
        }
        Ok(out)
    }

    /// Decodes [`Authorization::encode`]'s output strictly.
    ///
    /// # Errors
    /// [`Error::Malformed`], [`Error::TooLarge`].
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let what = "authorization";
        let mut r = Reader::new(bytes, what);
        let version = r.u8()?;
        if version != AUTHORIZATION_ENCODING_VERSION {
            return Err(malformed(what, format!("version {version}")));
        }
        let len = usize::from(u16::from_be_bytes(r.array()?));
        let statement = Statement::from_bytes(r.bytes(len)?)?;
        let len = usize::from(u16::from_be_bytes(r.array()?));
        if len > PROOF_BYTES_MAX {
            return Err(Error::TooLarge {
                what: "authorization proof",
                size: len,
                max: PROOF_BYTES_MAX,
            });
        }
        let signature = r.bytes(len)?.to_vec();
        r.end()?;
        Ok(Self {
            statement,
            signature,
        })
    }

    /// Refuses expired authorizations and ones that live longer than the maximum.
    ///
    /// # Errors
    /// [`Error::AuthorizationRefused`] with [`Refusal::Expired`] or
    /// [`Refusal::LifetimeTooLong`].
    pub fn check_fresh(&self, now_ms: u64) -> Result<(), Error> {
        let expires_ms = self.statement.expires_ms;
        if expires_ms <= now_ms {
            return Err(Refusal::Expired { expires_ms, now_ms }.into());
        }
        let lifetime_ms = expires_ms - now_ms;
        if lifetime_ms > AUTHORIZATION_LIFETIME_MS_MAX {
            return Err(Refusal::LifetimeTooLong { lifetime_ms }.into());
        }
        Ok(())
    }
}

/// An authenticator's signing key, as held by the owner's device (tests, the CLI and the
/// benchmark play the device).
pub struct DeviceKey {
    /// The credential id the vault assigned at registration; `None` before it, and for a
    /// key that is no credential (a seed export's recipient key).
    pub credential: Option<CredentialId>,
    key: ed25519_dalek::SigningKey,
}

/// The credential id in a statement signed by a key that is no registered credential: a
/// seed export's recipient key (`export-seed`; the vault checks that signature against
/// the key the recovery names, not against a credential). Any other statement bound to
/// it names an unknown credential and is refused.
const UNREGISTERED: CredentialId = CredentialId([0; 16]);

impl std::fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.credential {
            Some(c) => write!(f, "DeviceKey({c}, <redacted>)"),
            None => write!(f, "DeviceKey(unregistered, <redacted>)"),
        }
    }
}

impl DeviceKey {
    /// A fresh Ed25519 device key (the credential id is set on registration).
    ///
    /// # Errors
    /// [`Error::Random`].
    pub fn generate() -> Result<Self, Error> {
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut()).map_err(|_| Error::Random)?;
        Ok(Self::from_seed(&seed))
    }

    /// A device key from a 32-byte seed (not registered yet: no credential id).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self {
            credential: None,
            key: ed25519_dalek::SigningKey::from_bytes(seed),
        }
    }

    /// The 32-byte seed (for the CLI's device-key file).
    pub fn seed(&self) -> zeroize::Zeroizing<[u8; 32]> {
        zeroize::Zeroizing::new(self.key.to_bytes())
    }

    /// Public key to register.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// Binds `statement` to this key's credential and signs it. A key without a
    /// credential (a seed export's recipient key) binds the all-zero credential id that
    /// an `export-seed` statement carries.
    pub fn authorize(&self, statement: UnboundStatement) -> Authorization {
        use signature::Signer as _;
        let statement = statement.bind(self.credential.unwrap_or(UNREGISTERED));
        let signature = self.key.sign(&statement.to_bytes()).to_bytes().to_vec();
        Authorization {
            statement,
            signature,
        }
    }
}

/// A fresh random nonce.
///
/// # Errors
/// [`Error::Random`].
pub fn fresh_nonce() -> Result<[u8; 16], Error> {
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).map_err(|_| Error::Random)?;
    Ok(nonce)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Statements and authorizations decode strictly from their encodings.
    #[test]
    fn statements_and_authorizations_round_trip_strictly() {
        let statement = Statement {
            tenant: TenantId::new("acme").unwrap(),
            action: Action::Grant,
            key: Some(KeyId([1; 16])),
            payload_kind: 0,
            digest: [2; 32],
            grant: Some(GrantId([5; 16])),
            nonce: [3; 16],
            expires_ms: 77,
            credential: CredentialId([4; 16]),
        };
        let bytes = statement.to_bytes();
        assert_eq!(Statement::from_bytes(&bytes).unwrap(), statement);
        for n in 0..bytes.len() {
            assert!(Statement::from_bytes(&bytes[..n]).is_err());
        }
        let auth = Authorization {
            statement,
            signature: vec![9; 64],
        };
        let encoded = auth.encode().unwrap();
        assert_eq!(encoded[0], AUTHORIZATION_ENCODING_VERSION);
        assert_eq!(
            u16::from_be_bytes([encoded[1], encoded[2]]),
            u16::try_from(bytes.len()).unwrap()
        );
        assert_eq!(&encoded[3..3 + bytes.len()], bytes.as_slice());
        assert_eq!(&encoded[3 + bytes.len()..5 + bytes.len()], &[0, 64]);
        assert_eq!(Authorization::decode(&encoded).unwrap(), auth);
        for n in 0..encoded.len() {
            assert!(Authorization::decode(&encoded[..n]).is_err());
        }
        let mut long = encoded;
        long.push(0);
        assert!(Authorization::decode(&long).is_err());
    }

    /// Statement bytes are frozen: adding `wallet-sign` changed no existing encoding.
    /// Expected digests computed independently from the layout above (Python hashlib).
    #[test]
    fn statement_encodings_are_frozen() {
        let statement = |action, key| Statement {
            tenant: TenantId::new("acme").unwrap(),
            action,
            key,
            payload_kind: 1,
            digest: [2; 32],
            grant: None,
            nonce: [3; 16],
            expires_ms: 0x0102_0304_0506_0708,
            credential: CredentialId([4; 16]),
        };
        let digest = |s: Statement| hex::encode(Sha256::digest(s.to_bytes()));
        assert_eq!(
            digest(statement(Action::Sign, Some(KeyId([1; 16])))),
            "cfaf05ab483d6f8416387c05cdd00ff74f2335796b0251c4063fc65944740559"
        );
        assert_eq!(
            digest(statement(Action::WalletSign, None)),
            "062bc85b5a4d2428cd48c6d3297294df255a00447aebe18adb7bc0b4df63c7ff"
        );
        // Every statement decodes back to itself.
        for action in Action::ALL {
            for key in [None, Some(KeyId([1; 16]))] {
                let s = statement(action, key);
                assert_eq!(Statement::from_bytes(&s.to_bytes()).unwrap(), s);
            }
        }
        let codes: Vec<u8> = Action::ALL.iter().map(|a| a.code()).collect();
        assert_eq!(codes, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
        for a in Action::ALL {
            assert_eq!(Action::from_name(a.name()).unwrap(), a);
        }
    }

    #[test]
    fn statement_decoding_is_strict() {
        let statement = Statement {
            tenant: TenantId::new("acme").unwrap(),
            action: Action::RegisterCredential,
            key: None,
            payload_kind: 0,
            digest: [7; 32],
            grant: Some(GrantId([8; 16])),
            nonce: [3; 16],
            expires_ms: 99,
            credential: CredentialId([4; 16]),
        };
        let bytes = statement.to_bytes();
        assert_eq!(Statement::from_bytes(&bytes).unwrap(), statement);
        // Every truncation, a trailing byte, another context, an unknown action, a bad
        // tenant id: refused.
        for n in 0..bytes.len() {
            assert!(Statement::from_bytes(&bytes[..n]).is_err(), "{n}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Statement::from_bytes(&longer).is_err());
        let mut other_context = bytes.clone();
        other_context[0] = b'b';
        assert!(Statement::from_bytes(&other_context).is_err());
        let action_at = AUTHORIZATION_CONTEXT.len() + 1 + 4;
        for code in [0, 10, 255] {
            let mut unknown = bytes.clone();
            unknown[action_at] = code;
            assert!(Statement::from_bytes(&unknown).is_err(), "{code}");
        }
        let mut bad_tenant = bytes.clone();
        bad_tenant[AUTHORIZATION_CONTEXT.len() + 1] = b'A';
        assert!(Statement::from_bytes(&bad_tenant).is_err());
    }
}
