//! The signing ceremony, for the party holding an invite: open, identity check, view,
//! consent, the handwritten signature, prepare, sign (or decline).

use std::sync::Arc;

use affix_platform::ProblemType;
use affix_platform::service::{
    Approval, NewCredential, PasskeyCreation, PreparedSignature, SIGNATURE_IMAGE_BYTES_MAX,
};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::contracts::{Contract, contract_answer};
use super::{ApiResult, base64, base64_field, base64url_field, json_body, ok};
use crate::gate::Caller;
use crate::problem::{Problem, ProblemBody};
use crate::routes::Api;

/// What an invited party opens.
#[derive(Serialize, ToSchema)]
pub(crate) struct InviteView {
    /// The contract as the party sees it.
    contract: Contract,
    /// The party's id.
    party_id: String,
    /// The canonical content (base64): what every party signs.
    content: String,
    /// The document (base64), if any.
    document: Option<String>,
}

/// The contract, the party's id, the canonical content and the document.
#[utoipa::path(get, path = "/v1/invite", operation_id = "invite",
    security(("invite" = [])), responses((status = 200, body = InviteView)))]
pub(crate) async fn invite(State(api): State<Arc<Api>>, Caller(who): Caller) -> ApiResult {
    let opened = api.platform.invite_open(&who).await?;
    ok(
        StatusCode::OK,
        &InviteView {
            contract: Contract::from(opened.contract),
            party_id: opened.party,
            content: base64(&opened.content),
            document: opened.document.as_deref().map(base64),
        },
    )
}

/// A one-time code sent.
#[derive(Serialize, ToSchema)]
pub(crate) struct CodeSent {
    /// Always true.
    sent: bool,
    /// When the code expires (Unix ms).
    expires_ms: u64,
}

/// Send a one-time code to the party's e-mail address.
#[utoipa::path(post, path = "/v1/invite/identity/email", operation_id = "startEmailCheck",
    security(("invite" = [])), responses((status = 200, body = CodeSent),
        (status = 423, description = "The identity check is locked (too many codes requested, or wrong codes): ask the sender for a new invite",
            body = ProblemBody, content_type = "application/problem+json")))]
pub(crate) async fn start_email(State(api): State<Arc<Api>>, Caller(who): Caller) -> ApiResult {
    let expires_ms = api.platform.start_email_check(&who).await?;
    ok(
        StatusCode::OK,
        &CodeSent {
            sent: true,
            expires_ms,
        },
    )
}

/// What `navigator.credentials.create` needs to register the signer's passkey.
#[derive(Serialize, ToSchema)]
pub(crate) struct PasskeyCreationOptions {
    /// The challenge (base64url): bound to the pending one-time code's check.
    challenge: String,
    /// The relying party id (the host of the platform's public URL).
    rp_id: String,
    /// The relying party name.
    rp_name: String,
    /// The WebAuthn user handle (base64url; random).
    user_id: String,
    /// The user name the authenticator shows: the invited address.
    user_name: String,
    /// COSE algorithms accepted, in order of preference: ES256 (-7), EdDSA (-8).
    algorithms: Vec<i64>,
    /// Always `required`: the passkey verifies the signer (PIN, biometrics).
    user_verification: &'static str,
}

impl From<PasskeyCreation> for PasskeyCreationOptions {
    fn from(p: PasskeyCreation) -> Self {
        Self {
            challenge: p.challenge,
            rp_id: p.rp_id,
            rp_name: p.rp_name,
            user_id: p.user_id,
            user_name: p.user_name,
            algorithms: vec![-7, -8],
            user_verification: "required",
        }
    }
}

/// The options of a passkey registration with the pending one-time code (first identity
/// check): create the passkey, then send its registration with the code.
#[utoipa::path(get, path = "/v1/invite/identity/passkey-options", operation_id = "passkeyCreationOptions",
    security(("invite" = [])), responses((status = 200, body = PasskeyCreationOptions),
        (status = 409, description = "No one-time code is pending: request one first",
            body = ProblemBody, content_type = "application/problem+json")))]
pub(crate) async fn passkey_options(State(api): State<Arc<Api>>, Caller(who): Caller) -> ApiResult {
    let options = api.platform.passkey_creation(&who).await?;
    ok(StatusCode::OK, &PasskeyCreationOptions::from(options))
}

/// A passkey registration (`PublicKeyCredential.response` of `navigator.credentials.create`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasskeyIn {
    /// `attestationObject` (base64url or base64).
    attestation_object: String,
    /// `clientDataJSON` (base64url or base64).
    client_data_json: String,
}

/// The one-time code, and on the first check the signer's credential: a passkey, a
/// browser-held key or a device key (one of them).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyIn {
    /// The code from the e-mail.
    code: String,
    /// The signer's passkey registration, made with `GET /v1/invite/identity/passkey-options`.
    #[serde(default)]
    passkey: Option<PasskeyIn>,
    /// The signer's browser-held key: a non-extractable WebCrypto ECDSA P-256 public key
    /// (SEC1 uncompressed, 65 bytes, base64).
    #[serde(default)]
    #[schema(content_encoding = "base64")]
    browser_public_key: Option<String>,
    /// The signer's device key (Ed25519 public key, base64), enrolled on the first check.
    #[serde(default)]
    #[schema(content_encoding = "base64")]
    device_public_key: Option<String>,
    /// The signer's name as the certificate will carry it (first check only: the
    /// signer's account is created then, and the name is the signer's own, never the
    /// sender's).
    #[serde(default)]
    signer_name: Option<String>,
}

/// Check the one-time code (enrols the device on the first check).
#[utoipa::path(post, path = "/v1/invite/identity/email/verify", operation_id = "finishEmailCheck",
    security(("invite" = [])), request_body = VerifyIn,
    responses((status = 200, body = Contract),
        (status = 423, description = "The identity check is locked (too many codes requested, or wrong codes): ask the sender for a new invite",
            body = ProblemBody, content_type = "application/problem+json")))]
pub(crate) async fn finish_email(
    State(api): State<Arc<Api>>,
    Caller(who): Caller,
    body: Bytes,
) -> ApiResult {
    let input: VerifyIn = json_body(&body)?;
    let credential = match (input.passkey, input.browser_public_key, input.device_public_key) {
        (None, None, None) => None,
        (Some(passkey), None, None) => Some(NewCredential::Passkey {
            attestation_object: base64url_field(
                &passkey.attestation_object,
                "passkey.attestation_object",
            )?,
            client_data_json: base64url_field(&passkey.client_data_json, "passkey.client_data_json")?,
        }),
        (None, Some(key), None) => Some(NewCredential::Browser(
            base64_field(&key, "browser_public_key")
                .ok()
                .filter(|b| b.len() == 65 && b[0] == 4)
                .ok_or_else(|| {
                    Problem::new(
                        ProblemType::InvalidDeviceKey,
                        "browser_public_key must be an uncompressed SEC1 P-256 public key (65 bytes) in base64",
                    )
                })?,
        )),
        (None, None, Some(key)) => Some(NewCredential::Device(
            base64_field(&key, "device_public_key")
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| {
                    Problem::new(
                        ProblemType::InvalidDeviceKey,
                        "device_public_key must be 32 bytes (Ed25519) in base64",
                    )
                })?,
        )),
        _ => {
            return Err(Problem::new(
                ProblemType::InvalidDeviceKey,
                "send one credential: `passkey`, `browser_public_key` or `device_public_key`",
            ));
        }
    };
    let view = api
        .platform
        .finish_email_check(&who, &input.code, credential, input.signer_name.as_deref())
        .await?;
    contract_answer(StatusCode::OK, view)
}

/// The content digest the party saw.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DigestIn {
    /// SHA-256 (hex) of the canonical content.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    content_digest: String,
}

/// The party viewed the contract whose content has this digest.
#[utoipa::path(post, path = "/v1/invite/view", operation_id = "view",
    security(("invite" = [])), request_body = DigestIn,
    responses((status = 200, body = Contract)))]
pub(crate) async fn view(
    State(api): State<Arc<Api>>,
    Caller(who): Caller,
    body: Bytes,
) -> ApiResult {
    let input: DigestIn = json_body(&body)?;
    let view = api.platform.view(&who, &input.content_digest).await?;
    contract_answer(StatusCode::OK, view)
}

/// The party consents to sign the contract whose content has this digest.
#[utoipa::path(post, path = "/v1/invite/consent", operation_id = "consent",
    security(("invite" = [])), request_body = DigestIn,
    responses((status = 200, body = Contract)))]
pub(crate) async fn consent(
    State(api): State<Arc<Api>>,
    Caller(who): Caller,
    body: Bytes,
) -> ApiResult {
    let input: DigestIn = json_body(&body)?;
    let view = api.platform.consent(&who, &input.content_digest).await?;
    contract_answer(StatusCode::OK, view)
}

/// A signature image stored.
#[derive(Serialize, ToSchema)]
pub(crate) struct ImageStored {
    /// SHA-256 (hex) of the image as stored: the PNG decoded and re-encoded in
    /// canonical form (8-bit RGBA, no ancillary chunks), signed into the CMS signed
    /// attributes and the event.
    sha256: String,
}

/// Upload the handwritten signature (PNG).
#[utoipa::path(put, path = "/v1/invite/signature-image", operation_id = "signatureImage",
    security(("invite" = [])),
    request_body(content = Vec<u8>, content_type = "image/png", description = "The handwritten signature: a PNG of at most 2048×1024 pixels, stored re-encoded in canonical form"),
    responses((status = 200, body = ImageStored)))]
pub(crate) async fn signature_image(
    State(api): State<Arc<Api>>,
    Caller(who): Caller,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    if headers
        .get(header::CONTENT_TYPE)
        .is_none_or(|v| v.as_bytes() != b"image/png")
    {
        return Err(Problem::new(
            ProblemType::WrongContentType,
            "send the handwritten signature as image/png",
        ));
    }
    if body.len() > SIGNATURE_IMAGE_BYTES_MAX {
        return Err(Problem::new(
            ProblemType::TooLarge,
            format!("signature image too large: at most {SIGNATURE_IMAGE_BYTES_MAX} bytes"),
        ));
    }
    let sha256 = api
        .platform
        .put_signature_image(&who, body.to_vec())
        .await?;
    ok(StatusCode::OK, &ImageStored { sha256 })
}

/// A signature prepared for the signer's device.
#[derive(Serialize, ToSchema)]
pub(crate) struct Prepared {
    /// The vault authorization statement (base64): the device signs exactly these bytes
    /// with its Ed25519 credential key.
    statement: String,
    /// SHA-256 (hex) of the CMS signed attributes the vault will sign; the statement
    /// binds it.
    payload_digest: String,
    /// The signer's vault key.
    key_id: String,
    /// The credential that must sign.
    credential_id: String,
    /// When the statement expires (Unix ms).
    expires_ms: u64,
    /// The content digest (hex) the CMS signature covers.
    content_digest: String,
    /// The CMS signed attributes (base64 DER `SET OF Attribute`) the vault will sign:
    /// content message-digest, signing time, signer certificate hash (ESS
    /// signing-certificate-v2), and Affix's document and signature image digests. Their
    /// SHA-256 is `payload_digest`, so a device can check what it approves.
    signed_attributes: String,
    /// The signer's credential kind: `device-ed25519` or `browser-p256` sign
    /// `statement`; `passkey-es256` or `passkey-ed25519` assert over `passkey.challenge`.
    credential_kind: String,
    /// For a passkey: the options of `navigator.credentials.get`.
    #[serde(skip_serializing_if = "Option::is_none")]
    passkey: Option<PasskeyRequestOptions>,
}

/// What `navigator.credentials.get` needs for a passkey's approval.
#[derive(Serialize, ToSchema)]
pub(crate) struct PasskeyRequestOptions {
    /// The challenge (base64url): SHA-256 of `statement`.
    challenge: String,
    /// The relying party id.
    rp_id: String,
    /// The signer's WebAuthn credential id (base64url), for `allowCredentials`.
    credential_id: String,
    /// Always `required`.
    user_verification: &'static str,
}

impl From<PreparedSignature> for Prepared {
    fn from(p: PreparedSignature) -> Self {
        Self {
            statement: p.statement,
            payload_digest: p.payload_digest,
            key_id: p.key_id,
            credential_id: p.credential_id,
            expires_ms: p.expires_ms,
            content_digest: p.content_digest,
            signed_attributes: p.signed_attributes,
            credential_kind: p.credential_kind,
            passkey: p.passkey.map(|r| PasskeyRequestOptions {
                challenge: r.challenge,
                rp_id: r.rp_id,
                credential_id: r.credential_id,
                user_verification: "required",
            }),
        }
    }
}

/// Prepare the signature: the vault statement the signer's device approves.
#[utoipa::path(post, path = "/v1/invite/sign/prepare", operation_id = "prepareSignature",
    security(("invite" = [])), responses((status = 200, body = Prepared)))]
pub(crate) async fn prepare(State(api): State<Arc<Api>>, Caller(who): Caller) -> ApiResult {
    let prepared = api.platform.prepare_signature(&who).await?;
    ok(StatusCode::OK, &Prepared::from(prepared))
}

/// The signer credential's approval of the prepared statement: one of
/// `device_signature` and `assertion`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignIn {
    /// The signature of the statement bytes by the enrolled device key (Ed25519) or
    /// browser-held key (ECDSA P-256, `r ‖ s`), base64.
    #[serde(default)]
    #[schema(content_encoding = "base64")]
    device_signature: Option<String>,
    /// A passkey's WebAuthn assertion over the prepared challenge.
    #[serde(default)]
    assertion: Option<AssertionIn>,
}

/// A WebAuthn assertion (`AuthenticatorAssertionResponse`), each part base64url or
/// base64.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AssertionIn {
    /// `authenticatorData`.
    authenticator_data: String,
    /// `clientDataJSON`.
    client_data_json: String,
    /// `signature`.
    signature: String,
}

/// Sign: the vault signs under the device's approval; the CMS signature is time-stamped
/// and recorded (the last signature makes the contract effective).
#[utoipa::path(post, path = "/v1/invite/sign", operation_id = "sign",
    security(("invite" = [])), request_body = SignIn,
    responses((status = 200, body = Contract)))]
pub(crate) async fn sign(
    State(api): State<Arc<Api>>,
    Caller(who): Caller,
    body: Bytes,
) -> ApiResult {
    let input: SignIn = json_body(&body)?;
    let approval = match (input.device_signature, input.assertion) {
        (Some(signature), None) => {
            Approval::Signature(base64_field(&signature, "device_signature")?)
        }
        (None, Some(a)) => Approval::Assertion(affix_platform::service::Assertion {
            authenticator_data: base64url_field(
                &a.authenticator_data,
                "assertion.authenticator_data",
            )?,
            client_data_json: base64url_field(&a.client_data_json, "assertion.client_data_json")?,
            signature: base64url_field(&a.signature, "assertion.signature")?,
        }),
        _ => {
            return Err(Problem::new(
                ProblemType::InvalidSignature,
                "send one approval: `device_signature` or `assertion`",
            ));
        }
    };
    let view = api.platform.sign(&who, approval).await?;
    contract_answer(StatusCode::OK, view)
}

/// Decline to sign.
#[utoipa::path(post, path = "/v1/invite/decline", operation_id = "decline",
    security(("invite" = [])), responses((status = 200, body = Contract)))]
pub(crate) async fn decline(State(api): State<Arc<Api>>, Caller(who): Caller) -> ApiResult {
    let view = api.platform.decline(&who).await?;
    contract_answer(StatusCode::OK, view)
}
