//! The vault's HTTP API: mounted at `/v1/vault` in the platform server (tenant API keys
//! of the admin and member roles) and served alone by `affix vault serve` (API keys
//! from a file) under `/v1`. Each route is declared once (its `#[utoipa::path]`);
//! [`routes`] gives them to either server.
//!
//! The tenant always comes from the caller's API key (a [`VaultTenant`] request
//! extension put there by the server's gate or [`api_key_layer`]), never from the body.
//! Bytes travel as lowercase hex (messages as base64), bodies are JSON of at most
//! [`BODY_BYTES_MAX`], errors are RFC 9457 problems. Vault calls fsync, so they run on
//! the blocking pool.
//!
//! An authorization in JSON ([`AuthorizationJson`], the one place it is defined):
//! `{tenant, action, key, payload_kind, digest, grant, nonce, expires_ms, credential,
//! signature}` with ids and bytes in hex and `key`/`grant` null when absent.

use std::collections::HashMap;
use std::sync::Arc;

use affix_platform::ProblemType;
use affix_vault::{
    Action, Algorithm, Authorization, CredentialId, CredentialKind, GrantId, GrantRecord, KeyId,
    OwnerId, Payload, SignQueue, SignQueueConfig, SignRequest, TenantId, UnboundStatement, Vault,
};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::problem::Problem;

/// The vault's clock: authorizations expire in wall time, which the vault checks against
/// the statement's own expiry (the owner's device signs wall-clock times).
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The tenant of the request, established by the server's gate.
#[derive(Debug, Clone)]
pub struct VaultTenant(pub TenantId);

impl<S: Send + Sync> FromRequestParts<S> for VaultTenant {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<VaultTenant>()
            .cloned()
            .ok_or_else(|| {
                Problem::new(
                    ProblemType::Unauthenticated,
                    "send Authorization: Bearer <API key>",
                )
            })
    }
}

/// Largest request body.
pub const BODY_BYTES_MAX: usize = 128 * 1024;

/// Most audit entries in one answer.
const AUDIT_ENTRIES_MAX: usize = 1000;

/// An authorization as JSON: the statement's fields and the signature, bytes in hex
/// (see docs/formats.md, authorization statement v1).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = VaultAuthorization)]
pub struct AuthorizationJson {
    /// Tenant id.
    tenant: String,
    /// Action name (`sign`, `disable`, `grant`, `register-credential`, …).
    action: String,
    /// Key id (hex), for actions on a key.
    key: Option<String>,
    /// Payload kind: 0 message, 1 pre-hashed.
    payload_kind: u8,
    /// SHA-256 of the payload (hex).
    digest: String,
    /// Grant id (hex), when acting under a grant.
    grant: Option<String>,
    /// Single-use nonce (hex, 16 bytes).
    nonce: String,
    /// Expiry (Unix ms).
    expires_ms: u64,
    /// The credential that signs (hex).
    credential: String,
    /// The credential's proof over the statement (hex): its signature (device and
    /// browser-held keys), or the passkey's WebAuthn assertion in Affix's encoding.
    signature: String,
}

impl From<&Authorization> for AuthorizationJson {
    fn from(a: &Authorization) -> Self {
        let s = &a.statement;
        Self {
            tenant: s.tenant.to_string(),
            action: s.action.name().to_owned(),
            key: s.key.map(|k| k.to_string()),
            payload_kind: s.payload_kind,
            digest: hex::encode(s.digest),
            grant: s.grant.map(|g| g.to_string()),
            nonce: hex::encode(s.nonce),
            expires_ms: s.expires_ms,
            credential: s.credential.to_string(),
            signature: hex::encode(&a.signature),
        }
    }
}

impl AuthorizationJson {
    /// Parses the fields; any malformed one is a 400.
    fn parse(&self) -> Result<Authorization, Problem> {
        let action = Action::from_name(&self.action)
            .map_err(|_| bad_input(format!("unknown action {:?}", self.action)))?;
        let signature = hex::decode(&self.signature)
            .map_err(|_| bad_input("authorization signature: not hex"))?;
        // A raw signature, or a passkey's encoded WebAuthn assertion.
        if signature.len() > affix_vault::PROOF_BYTES_MAX {
            return Err(bad_input("authorization signature: too long"));
        }
        Ok(Authorization {
            statement: UnboundStatement {
                tenant: TenantId::new(&self.tenant)?,
                action,
                key: self.key.as_deref().map(KeyId::parse).transpose()?,
                payload_kind: self.payload_kind,
                digest: hex32(&self.digest, "authorization digest")?,
                grant: self.grant.as_deref().map(GrantId::parse).transpose()?,
                nonce: hex16(&self.nonce, "authorization nonce")?,
                expires_ms: self.expires_ms,
            }
            .bind(CredentialId::parse(&self.credential)?),
            signature,
        })
    }
}

fn bad_input(detail: impl Into<String>) -> Problem {
    Problem::new(ProblemType::InvalidInput, detail)
}

fn hex32(text: &str, what: &str) -> Result<[u8; 32], Problem> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out)
        .map_err(|_| bad_input(format!("{what}: expected 64 hex digits")))?;
    Ok(out)
}

fn hex16(text: &str, what: &str) -> Result<[u8; 16], Problem> {
    let mut out = [0u8; 16];
    hex::decode_to_slice(text, &mut out)
        .map_err(|_| bad_input(format!("{what}: expected 32 hex digits")))?;
    Ok(out)
}

type Answer = Result<Response, Problem>;

/// The vault behind the API, with its signing queue.
pub struct VaultServer {
    vault: Arc<Vault>,
    /// Signing requests are batched here (batch verification, one commit per batch).
    queue: SignQueue,
}

impl VaultServer {
    /// Starts the signing queue of `vault`.
    ///
    /// # Errors
    /// If the signing queue cannot start.
    pub fn start(vault: Arc<Vault>) -> Result<Arc<Self>, affix_vault::Error> {
        let queue = SignQueue::start(vault.clone(), Arc::new(now_ms), SignQueueConfig::default())?;
        Ok(Arc::new(Self { vault, queue }))
    }
}

/// Every route of the vault API (paths relative to the mount point), each as declared.
pub(crate) fn routes() -> Vec<utoipa_axum::router::UtoipaMethodRouter<Arc<VaultServer>>> {
    vec![
        routes!(register_credential),
        routes!(create_key),
        routes!(key_info),
        routes!(sign),
        routes!(disable),
        routes!(grant),
        routes!(audit),
    ]
}

/// The body limit and the early 413 every vault route has.
pub(crate) fn limits(router: OpenApiRouter<Arc<VaultServer>>) -> OpenApiRouter<Arc<VaultServer>> {
    router
        .layer(DefaultBodyLimit::max(BODY_BYTES_MAX))
        .layer(axum::middleware::from_fn(answer_oversized))
}

/// The vault API alone (`affix vault serve`): every route under `/v1`, tenants from
/// `api_keys` (SHA-256 of each key → its tenant).
///
/// # Errors
/// If the signing queue cannot start.
pub fn standalone(
    vault: Arc<Vault>,
    api_keys: HashMap<[u8; 32], TenantId>,
) -> Result<Router, affix_vault::Error> {
    let server = VaultServer::start(vault)?;
    let router = routes()
        .into_iter()
        .fold(OpenApiRouter::new(), OpenApiRouter::routes);
    let (router, _) = limits(router).split_for_parts();
    Ok(Router::new()
        .nest("/v1", router.with_state(server))
        .fallback(|| async { Problem::new(ProblemType::NotFound, "no such endpoint") })
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(api_keys),
            api_key_layer,
        )))
}

/// Declared bodies up to this size are read (and dropped) before a 413 is answered.
const DRAIN_BYTES_MAX: usize = 1024 * 1024;

/// Answers a body declared over [`BODY_BYTES_MAX`] with 413 at once, after reading it
/// when it is no larger than [`DRAIN_BYTES_MAX`]: a server that answers without reading
/// closes the connection on unread bytes, and a client still sending them may then see
/// a reset instead of the answer. Larger ones get the answer and the close.
async fn answer_oversized(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(n) if n > BODY_BYTES_MAX as u64 => {
            if n <= DRAIN_BYTES_MAX as u64 {
                let _ = axum::body::to_bytes(request.into_body(), DRAIN_BYTES_MAX).await;
            }
            too_large().into_response()
        }
        _ => next.run(request).await,
    }
}

fn too_large() -> Problem {
    Problem::new(
        ProblemType::TooLarge,
        format!("request bodies are at most {BODY_BYTES_MAX} bytes"),
    )
}

/// For a standalone vault server: authenticates `Authorization: Bearer <API key>`
/// against `api_keys` (SHA-256 of each key → its tenant) and puts the [`VaultTenant`]
/// into the request.
async fn api_key_layer(
    State(api_keys): State<Arc<HashMap<[u8; 32], TenantId>>>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let unauthenticated =
        |detail: &str| Problem::new(ProblemType::Unauthenticated, detail).into_response();
    let Some(key) = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return unauthenticated("send Authorization: Bearer <API key>");
    };
    let digest: [u8; 32] = Sha256::digest(key.trim().as_bytes()).into();
    let Some(tenant) = api_keys.get(&digest).cloned() else {
        return unauthenticated("unknown API key");
    };
    request.extensions_mut().insert(VaultTenant(tenant));
    next.run(request).await
}

/// A JSON body, or a problem (413 over the limit, 400 for anything unparsable).
fn json_body<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, Problem> {
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            Problem::new(ProblemType::InvalidJson, e.body_text())
        }
    })?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Problem::new(ProblemType::InvalidJson, format!("JSON body: {e}")))
}

/// Runs a vault call on the blocking pool (vault calls fsync).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Problem> + Send + 'static,
) -> Result<T, Problem> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Problem::internal(&e))?
}

fn answer(status: StatusCode, body: &impl Serialize) -> Answer {
    crate::api::ok(status, body)
}

/// A credential to register for an owner.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VaultCredentialIn {
    /// `ed25519` or `ecdsa-p256`.
    #[schema(pattern = "^(ed25519|ecdsa-p256)$")]
    kind: String,
    /// The credential's public key (hex).
    public_key: String,
    /// An existing credential's authorization (needed once the owner has one).
    authorization: Option<AuthorizationJson>,
}

/// A credential registered.
#[derive(Serialize, ToSchema)]
pub(crate) struct VaultCredential {
    /// Its id (hex).
    credential: String,
}

/// Register a credential (device key) for an owner.
#[utoipa::path(post, path = "/owners/{owner}/credentials", operation_id = "vaultRegisterCredential",
    security(("vaultKey" = [])), params(("owner" = String, Path, description = "Owner id (hex)")),
    request_body = VaultCredentialIn, responses((status = 201, body = VaultCredential)))]
pub(crate) async fn register_credential(
    State(s): State<Arc<VaultServer>>,
    Path(owner): Path<String>,
    VaultTenant(tenant): VaultTenant,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let owner = OwnerId::parse(&owner)?;
    let body: VaultCredentialIn = json_body(body)?;
    let kind = CredentialKind::from_name(&body.kind)?;
    let public_key = hex::decode(&body.public_key).map_err(|_| bad_input("public_key: not hex"))?;
    let authorization = body
        .authorization
        .as_ref()
        .map(AuthorizationJson::parse)
        .transpose()?;
    let vault = s.vault.clone();
    let id = blocking(move || {
        Ok(vault.register_credential(
            &tenant,
            owner,
            kind,
            &public_key,
            authorization.as_ref(),
            now_ms(),
        )?)
    })
    .await?;
    answer(
        StatusCode::CREATED,
        &VaultCredential {
            credential: id.to_string(),
        },
    )
}

/// A key to create.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VaultKeyIn {
    /// Owner id (hex).
    owner: String,
    /// `ed25519`, `ecdsa-p256`, `ecdsa-secp256k1` or `sm2`.
    #[schema(pattern = "^(ed25519|ecdsa-p256|ecdsa-secp256k1|sm2)$")]
    algorithm: String,
}

/// A key created.
#[derive(Serialize, ToSchema)]
pub(crate) struct VaultKeyCreated {
    /// Key id (hex).
    id: String,
    /// Its algorithm.
    algorithm: String,
    /// Its public key (hex).
    public_key: String,
    /// The leaf of its creation record in the vault's evidence log.
    evidence_leaf: Option<u64>,
}

/// Create a key for an owner.
#[utoipa::path(post, path = "/keys", operation_id = "vaultCreateKey",
    security(("vaultKey" = [])), request_body = VaultKeyIn,
    responses((status = 201, body = VaultKeyCreated)))]
pub(crate) async fn create_key(
    State(s): State<Arc<VaultServer>>,
    VaultTenant(tenant): VaultTenant,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let body: VaultKeyIn = json_body(body)?;
    let owner = OwnerId::parse(&body.owner)?;
    let algorithm = Algorithm::from_name(&body.algorithm)?;
    let vault = s.vault.clone();
    let info = blocking(move || Ok(vault.create_key(&tenant, owner, algorithm, now_ms())?)).await?;
    answer(
        StatusCode::CREATED,
        &VaultKeyCreated {
            id: info.id.to_string(),
            algorithm: info.algorithm.name().to_owned(),
            public_key: hex::encode(&info.public_key),
            evidence_leaf: info.evidence_leaf,
        },
    )
}

/// A key.
#[derive(Serialize, ToSchema)]
pub(crate) struct VaultKey {
    /// Key id (hex).
    id: String,
    /// Owner id (hex).
    owner: String,
    /// Its algorithm.
    algorithm: String,
    /// Its public key (hex).
    public_key: String,
    /// Creation time (Unix ms).
    created_ms: u64,
    /// VaultKeyDisabled keys sign nothing.
    disabled: bool,
}

/// A key of the tenant.
#[utoipa::path(get, path = "/keys/{id}", operation_id = "vaultKey",
    security(("vaultKey" = [])), params(("id" = String, Path, description = "Key id (hex)")),
    responses((status = 200, body = VaultKey)))]
pub(crate) async fn key_info(
    State(s): State<Arc<VaultServer>>,
    Path(id): Path<String>,
    VaultTenant(tenant): VaultTenant,
) -> Answer {
    let id = KeyId::parse(&id)?;
    let vault = s.vault.clone();
    let info = blocking(move || Ok(vault.key(&tenant, &id)?)).await?;
    answer(
        StatusCode::OK,
        &VaultKey {
            id: info.id.to_string(),
            owner: info.owner.to_string(),
            algorithm: info.algorithm.name().to_owned(),
            public_key: hex::encode(&info.public_key),
            created_ms: info.created_ms,
            disabled: info.disabled,
        },
    )
}

/// What to sign, and the owner's authorization.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VaultSignIn {
    /// The message (base64); or give `prehash_hex`.
    #[schema(content_encoding = "base64")]
    message_b64: Option<String>,
    /// The pre-hashed message (hex, 32 bytes); or give `message_b64`.
    prehash_hex: Option<String>,
    /// The owner's authorization of exactly this payload.
    authorization: AuthorizationJson,
}

/// A signature.
#[derive(Serialize, ToSchema)]
pub(crate) struct VaultSigned {
    /// The signature (hex).
    signature: String,
    /// The recovery id (secp256k1).
    #[serde(skip_serializing_if = "Option::is_none")]
    recovery_id: Option<u8>,
    /// The leaf of its usage record in the vault's evidence log.
    evidence_leaf: u64,
}

/// Sign with a key under the owner's authorization.
#[utoipa::path(post, path = "/keys/{id}/sign", operation_id = "vaultSign",
    security(("vaultKey" = [])), params(("id" = String, Path, description = "Key id (hex)")),
    request_body = VaultSignIn, responses((status = 200, body = VaultSigned)))]
pub(crate) async fn sign(
    State(s): State<Arc<VaultServer>>,
    Path(id): Path<String>,
    VaultTenant(tenant): VaultTenant,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let key = KeyId::parse(&id)?;
    let body: VaultSignIn = json_body(body)?;
    let payload = match (&body.message_b64, &body.prehash_hex) {
        (Some(m), None) => Payload::Message(
            base64::engine::general_purpose::STANDARD
                .decode(m)
                .map_err(|_| bad_input("message_b64: not base64"))?,
        ),
        (None, Some(d)) => Payload::Prehash(hex32(d, "prehash_hex")?),
        _ => {
            return Err(bad_input("give exactly one of message_b64 and prehash_hex"));
        }
    };
    let authorization = body.authorization.parse()?;
    let (reply, answered) = tokio::sync::oneshot::channel();
    s.queue.submit(
        SignRequest {
            tenant,
            key,
            payload,
            authorization,
        },
        move |result| {
            // The handler awaits below; it is gone only if the client hung up.
            let _ = reply.send(result);
        },
    )?;
    let signed = answered.await.map_err(|e| Problem::internal(&e))??;
    answer(
        StatusCode::OK,
        &VaultSigned {
            signature: hex::encode(&signed.signature.bytes),
            recovery_id: signed.signature.recovery_id,
            evidence_leaf: signed.evidence_leaf,
        },
    )
}

/// The owner's authorization of an action.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VaultAuthorizationIn {
    /// The authorization.
    authorization: AuthorizationJson,
}

/// A key disabled.
#[derive(Serialize, ToSchema)]
pub(crate) struct VaultKeyDisabled {
    /// Key id (hex).
    id: String,
    /// Always true.
    disabled: bool,
}

/// Disable a key under the owner's authorization (its history stays).
#[utoipa::path(post, path = "/keys/{id}/disable", operation_id = "vaultDisable",
    security(("vaultKey" = [])), params(("id" = String, Path, description = "Key id (hex)")),
    request_body = VaultAuthorizationIn, responses((status = 200, body = VaultKeyDisabled)))]
pub(crate) async fn disable(
    State(s): State<Arc<VaultServer>>,
    Path(id): Path<String>,
    VaultTenant(tenant): VaultTenant,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let key = KeyId::parse(&id)?;
    let body: VaultAuthorizationIn = json_body(body)?;
    let authorization = body.authorization.parse()?;
    let vault = s.vault.clone();
    blocking(move || Ok(vault.disable(&tenant, &key, &authorization, now_ms())?)).await?;
    answer(
        StatusCode::OK,
        &VaultKeyDisabled {
            id: key.to_string(),
            disabled: true,
        },
    )
}

/// A grant to create.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VaultGrantIn {
    /// The credential that may use the key (hex).
    grantee: String,
    /// Last moment of use (Unix ms).
    not_after_ms: u64,
    /// Most uses.
    max_uses: u32,
    /// What for, in words.
    purpose: String,
    /// Creation time the owner signed (Unix ms).
    created_ms: u64,
    /// The owner's authorization.
    authorization: AuthorizationJson,
}

/// A grant created.
#[derive(Serialize, ToSchema)]
pub(crate) struct VaultGrant {
    /// Grant id (hex).
    grant: String,
}

/// Delegate a key's use to another credential, bounded in time and uses.
#[utoipa::path(post, path = "/keys/{id}/grants", operation_id = "vaultGrant",
    security(("vaultKey" = [])), params(("id" = String, Path, description = "Key id (hex)")),
    request_body = VaultGrantIn, responses((status = 201, body = VaultGrant)))]
pub(crate) async fn grant(
    State(s): State<Arc<VaultServer>>,
    Path(id): Path<String>,
    VaultTenant(tenant): VaultTenant,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let key = KeyId::parse(&id)?;
    let body: VaultGrantIn = json_body(body)?;
    let record = GrantRecord {
        key,
        grantee: CredentialId::parse(&body.grantee)?,
        not_after_ms: body.not_after_ms,
        max_uses: body.max_uses,
        created_ms: body.created_ms,
        purpose: body.purpose,
    };
    let authorization = body.authorization.parse()?;
    let vault = s.vault.clone();
    let grant =
        blocking(move || Ok(vault.grant(&tenant, &record, &authorization, now_ms())?)).await?;
    answer(
        StatusCode::CREATED,
        &VaultGrant {
            grant: grant.to_string(),
        },
    )
}

/// Where an audit listing starts and how long it is.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct VaultAuditQuery {
    /// First leaf.
    from: Option<u64>,
    /// Most entries (at most 1000).
    limit: Option<usize>,
}

/// One use of a key, as the vault's evidence log records it.
#[derive(Serialize, ToSchema)]
pub(crate) struct VaultAuditEntry {
    /// Leaf in the vault's evidence log.
    leaf: u64,
    /// Record kind (`vault.key.signed`, …).
    kind: String,
    /// Its subject.
    subject: String,
    /// When (Unix ms).
    time_ms: u64,
    /// When (RFC 3339).
    time: String,
    /// Labelled digests (hex).
    digests: std::collections::BTreeMap<String, String>,
    /// Metadata.
    metadata: std::collections::BTreeMap<String, String>,
}

/// A key's audit trail.
#[derive(Serialize, ToSchema)]
pub(crate) struct VaultAudit {
    /// In log order.
    entries: Vec<VaultAuditEntry>,
}

/// Every use of a key, from its evidence log.
#[utoipa::path(get, path = "/keys/{id}/audit", operation_id = "vaultAudit",
    security(("vaultKey" = [])),
    params(("id" = String, Path, description = "Key id (hex)"), VaultAuditQuery),
    responses((status = 200, body = VaultAudit)))]
pub(crate) async fn audit(
    State(s): State<Arc<VaultServer>>,
    Path(id): Path<String>,
    VaultTenant(tenant): VaultTenant,
    query: Result<Query<VaultAuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Answer {
    let key = KeyId::parse(&id)?;
    let Query(query) = query.map_err(|e| Problem::new(ProblemType::InvalidQuery, e.body_text()))?;
    let from = query.from.unwrap_or(0);
    let limit = query
        .limit
        .unwrap_or(AUDIT_ENTRIES_MAX)
        .min(AUDIT_ENTRIES_MAX);
    let vault = s.vault.clone();
    let entries = blocking(move || Ok(vault.audit_key(&tenant, &key, from, limit)?)).await?;
    let entries = entries
        .iter()
        .map(|e| {
            let r = &e.record;
            VaultAuditEntry {
                leaf: e.leaf,
                kind: r.kind().to_owned(),
                subject: r.subject().to_owned(),
                time_ms: r.event_time().0,
                time: r.event_time().to_rfc3339(),
                digests: r
                    .digests()
                    .iter()
                    .map(|d| (d.label().to_owned(), hex::encode(d.value())))
                    .collect(),
                metadata: r
                    .metadata()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            }
        })
        .collect();
    answer(StatusCode::OK, &VaultAudit { entries })
}
