//! `signature::Signer` + `Keypair` handles over vault keys, for the PKI and CMS code.
//!
//! A handle never holds the private key: each `try_sign` builds the authorization
//! statement for exactly the bytes the caller (a certificate or CMS builder) asks to sign,
//! has its [`Authorizer`] sign it, and goes through [`Vault::sign`] like any other request
//! — checked, recorded, then signed. The authorizer is the owner's device for a person's
//! key, or a service credential holding a delegated [`crate::GrantRecord`] for an
//! organization's seal or a CA key.

use crate::authz::{Authorization, DeviceKey, UnboundStatement};
use crate::error::Error;
use crate::ids::{GrantId, KeyId, TenantId};
use crate::keys::{Algorithm, Payload};
use crate::vault::{SignRequest, Vault};
use affix_note::SM2_DEFAULT_DISTID;
use der::asn1::AnyRef;
use spki::{AlgorithmIdentifier, SignatureAlgorithmIdentifier};

/// Signs authorization statements on behalf of a credential.
pub trait Authorizer {
    /// Binds `statement` to the credential and signs it.
    ///
    /// # Errors
    /// Whatever stops the authenticator from approving
    /// ([`crate::Refusal::AuthorizerDeclined`] when it says no).
    fn authorize(&self, statement: UnboundStatement) -> Result<Authorization, Error>;
}

impl Authorizer for DeviceKey {
    fn authorize(&self, statement: UnboundStatement) -> Result<Authorization, Error> {
        Ok(DeviceKey::authorize(self, statement))
    }
}

/// Lifetime of the authorizations a handle makes: each is used at once.
const HANDLE_AUTHORIZATION_MS: u64 = 30_000;

/// A vault key seen through the `signature` traits. `K` is the verifying-key type, which
/// selects the algorithm.
pub struct VaultSigner<'v, A, K> {
    vault: &'v Vault,
    tenant: TenantId,
    key: KeyId,
    grant: Option<GrantId>,
    authorizer: A,
    now_ms: fn() -> u64,
    verifying_key: K,
}

impl<A, K> std::fmt::Debug for VaultSigner<'_, A, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultSigner")
            .field("tenant", &self.tenant)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl<A: Authorizer, K> VaultSigner<'_, A, K> {
    fn sign_message(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let now = (self.now_ms)();
        let payload = Payload::Message(message.to_vec());
        let statement = UnboundStatement::for_signing(
            &self.tenant,
            self.key,
            &payload,
            self.grant,
            now,
            HANDLE_AUTHORIZATION_MS,
        )?;
        let authorization = self.authorizer.authorize(statement)?;
        let signed = self.vault.sign(
            SignRequest {
                tenant: self.tenant.clone(),
                key: self.key,
                payload,
                authorization,
            },
            now,
        )?;
        Ok(signed.signature.bytes)
    }
}

impl<A, K: Clone> signature::Keypair for VaultSigner<'_, A, K> {
    type VerifyingKey = K;

    fn verifying_key(&self) -> K {
        self.verifying_key.clone()
    }
}

impl Vault {
    #[allow(clippy::too_many_arguments)] // private; the public constructors take six
    fn handle<A, K>(
        &self,
        tenant: &TenantId,
        key: KeyId,
        algorithm: Algorithm,
        grant: Option<GrantId>,
        authorizer: A,
        now_ms: fn() -> u64,
        parse: impl FnOnce(&[u8]) -> Option<K>,
    ) -> Result<VaultSigner<'_, A, K>, Error> {
        let info = self.key(tenant, &key)?;
        if info.algorithm != algorithm {
            return Err(Error::Unsupported(format!(
                "key {key} is {}, not {}",
                info.algorithm.name(),
                algorithm.name()
            )));
        }
        let verifying_key = parse(&info.public_key)
            .ok_or_else(|| Error::Tampered(format!("public key of {key}")))?;
        Ok(VaultSigner {
            vault: self,
            tenant: tenant.clone(),
            key,
            grant,
            authorizer,
            now_ms,
            verifying_key,
        })
    }

    /// An Ed25519 handle (`Signer<ed25519_dalek::Signature>`).
    ///
    /// # Errors
    /// [`Error::KeyNotFound`], [`Error::Unsupported`] for another algorithm.
    pub fn ed25519_signer<A: Authorizer>(
        &self,
        tenant: &TenantId,
        key: KeyId,
        grant: Option<GrantId>,
        authorizer: A,
        now_ms: fn() -> u64,
    ) -> Result<VaultSigner<'_, A, ed25519_dalek::VerifyingKey>, Error> {
        self.handle(
            tenant,
            key,
            Algorithm::Ed25519,
            grant,
            authorizer,
            now_ms,
            |b| ed25519_dalek::VerifyingKey::try_from(b).ok(),
        )
    }

    /// An ECDSA P-256 handle (`Signer<p256::ecdsa::Signature>` and `DerSignature`).
    ///
    /// # Errors
    /// [`Error::KeyNotFound`], [`Error::Unsupported`] for another algorithm.
    pub fn p256_signer<A: Authorizer>(
        &self,
        tenant: &TenantId,
        key: KeyId,
        grant: Option<GrantId>,
        authorizer: A,
        now_ms: fn() -> u64,
    ) -> Result<VaultSigner<'_, A, p256::ecdsa::VerifyingKey>, Error> {
        self.handle(
            tenant,
            key,
            Algorithm::EcdsaP256,
            grant,
            authorizer,
            now_ms,
            |b| p256::ecdsa::VerifyingKey::from_sec1_bytes(b).ok(),
        )
    }

    /// An SM2 handle (`Signer<sm2::dsa::Signature>`; wrap it in `affix_pki`'s
    /// `Sm2DerSigner` for certificates and CMS).
    ///
    /// # Errors
    /// [`Error::KeyNotFound`], [`Error::Unsupported`] for another algorithm.
    pub fn sm2_signer<A: Authorizer>(
        &self,
        tenant: &TenantId,
        key: KeyId,
        grant: Option<GrantId>,
        authorizer: A,
        now_ms: fn() -> u64,
    ) -> Result<VaultSigner<'_, A, sm2::dsa::VerifyingKey>, Error> {
        self.handle(
            tenant,
            key,
            Algorithm::Sm2,
            grant,
            authorizer,
            now_ms,
            |b| {
                let point = sm2::PublicKey::from_sec1_bytes(b).ok()?;
                sm2::dsa::VerifyingKey::new(SM2_DEFAULT_DISTID, point).ok()
            },
        )
    }
}

fn refused(_: Error) -> signature::Error {
    // The `signature` error carries no detail without allocation features; the vault's
    // evidence log and the caller's own checks say what happened.
    signature::Error::new()
}

impl<A: Authorizer> signature::Signer<ed25519_dalek::Signature>
    for VaultSigner<'_, A, ed25519_dalek::VerifyingKey>
{
    fn try_sign(&self, msg: &[u8]) -> signature::Result<ed25519_dalek::Signature> {
        let bytes = self.sign_message(msg).map_err(refused)?;
        ed25519_dalek::Signature::from_slice(&bytes)
    }
}

impl<A: Authorizer> signature::Signer<p256::ecdsa::Signature>
    for VaultSigner<'_, A, p256::ecdsa::VerifyingKey>
{
    fn try_sign(&self, msg: &[u8]) -> signature::Result<p256::ecdsa::Signature> {
        let bytes = self.sign_message(msg).map_err(refused)?;
        p256::ecdsa::Signature::from_slice(&bytes)
    }
}

impl<A: Authorizer> signature::Signer<p256::ecdsa::DerSignature>
    for VaultSigner<'_, A, p256::ecdsa::VerifyingKey>
{
    fn try_sign(&self, msg: &[u8]) -> signature::Result<p256::ecdsa::DerSignature> {
        let sig: p256::ecdsa::Signature = signature::Signer::try_sign(self, msg)?;
        Ok(sig.to_der())
    }
}

impl<A: Authorizer> signature::Signer<sm2::dsa::Signature>
    for VaultSigner<'_, A, sm2::dsa::VerifyingKey>
{
    fn try_sign(&self, msg: &[u8]) -> signature::Result<sm2::dsa::Signature> {
        let bytes = self.sign_message(msg).map_err(refused)?;
        sm2::dsa::Signature::from_slice(&bytes)
    }
}

impl<A> SignatureAlgorithmIdentifier for VaultSigner<'_, A, ed25519_dalek::VerifyingKey> {
    type Params = AnyRef<'static>;

    const SIGNATURE_ALGORITHM_IDENTIFIER: AlgorithmIdentifier<Self::Params> = AlgorithmIdentifier {
        oid: const_oid::db::rfc8410::ID_ED_25519,
        parameters: None,
    };
}

impl<A> SignatureAlgorithmIdentifier for VaultSigner<'_, A, p256::ecdsa::VerifyingKey> {
    type Params = AnyRef<'static>;

    const SIGNATURE_ALGORITHM_IDENTIFIER: AlgorithmIdentifier<Self::Params> = AlgorithmIdentifier {
        oid: const_oid::db::rfc5912::ECDSA_WITH_SHA_256,
        parameters: None,
    };
}
