//! The vault's HTTP API: mounted at `/v1/vault` in the platform server (tenant API keys
//! of the admin and member roles) and served alone by `affix vault serve` (API keys
//! from a file) under `/v1`.
//!
//! The tenant always comes from the caller's API key (a [`VaultTenant`] request
//! extension put there by the server's authentication layer), never from the body. Bytes travel as lowercase hex
//! (messages as base64), bodies are JSON of at most [`MAX_BODY_BYTES`], errors are
//! `application/problem+json` (RFC 9457). Vault calls fsync, so they run on the blocking
//! pool.
//!
//! Paths below are relative to the mount point.
//!
//! | method | path | body | answer |
//! |---|---|---|---|
//! | POST | `/owners/{owner}/credentials` | `{kind, public_key, authorization?}` | 201 `{credential}` |
//! | POST | `/keys` | `{owner, algorithm}` | 201 `{id, algorithm, public_key, evidence_leaf}` |
//! | GET | `/keys/{id}` | | `{id, owner, algorithm, public_key, created_ms, disabled}` |
//! | POST | `/keys/{id}/sign` | `{message_b64 \| prehash_hex, authorization}` | `{signature, recovery_id?, evidence_leaf}` |
//! | POST | `/keys/{id}/disable` | `{authorization}` | `{id, disabled}` |
//! | POST | `/keys/{id}/grants` | `{grantee, not_after_ms, max_uses, purpose, created_ms, authorization}` | 201 `{grant}` |
//! | GET | `/keys/{id}/audit?from=&limit=` | | `{entries: [...]}` |
//!
//! An authorization in JSON ([`AuthorizationJson`], the one place it is defined):
//! `{tenant, action, key, payload_kind, digest, grant, nonce, expires_ms, credential,
//! signature}` with ids and bytes in hex and `key`/`grant` null when absent.

use std::collections::HashMap;
use std::sync::Arc;

use affix_vault::{
    Action, Algorithm, Authorization, CredentialId, CredentialKind, GrantId, GrantRecord, KeyId,
    OwnerId, Payload, SignQueue, SignQueueConfig, SignRequest, TenantId, UnboundStatement, Vault,
};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest as _, Sha256};

fn now_ms() -> u64 {
    crate::unix_ms(std::time::SystemTime::now())
}

/// The tenant of the request, established by the server's authentication layer.
#[derive(Debug, Clone)]
pub struct VaultTenant(pub TenantId);

/// Largest request body.
pub const MAX_BODY_BYTES: usize = 128 * 1024;

/// Most audit entries in one answer.
const MAX_AUDIT_LIMIT: usize = 1000;

/// An authorization as JSON: the statement's fields and the signature, bytes in hex.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizationJson {
    tenant: String,
    action: String,
    key: Option<String>,
    payload_kind: u8,
    digest: String,
    grant: Option<String>,
    nonce: String,
    expires_ms: u64,
    credential: String,
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
            .map_err(|_| Problem::bad_request(format!("unknown action {:?}", self.action)))?;
        let signature = hex::decode(&self.signature)
            .map_err(|_| Problem::bad_request("authorization signature: not hex"))?;
        if signature.len() > 128 {
            return Err(Problem::bad_request("authorization signature: too long"));
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

fn hex32(text: &str, what: &str) -> Result<[u8; 32], Problem> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out)
        .map_err(|_| Problem::bad_request(format!("{what}: expected 64 hex digits")))?;
    Ok(out)
}

fn hex16(text: &str, what: &str) -> Result<[u8; 16], Problem> {
    let mut out = [0u8; 16];
    hex::decode_to_slice(text, &mut out)
        .map_err(|_| Problem::bad_request(format!("{what}: expected 32 hex digits")))?;
    Ok(out)
}

// ------------------------------------------------------------------------ problems

/// An RFC 9457 problem.
#[derive(Debug)]
struct Problem {
    status: StatusCode,
    kind: &'static str,
    detail: String,
}

impl Problem {
    fn new(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            detail: detail.into(),
        }
    }

    fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed-request", detail)
    }

    fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = json!({
            "type": format!("https://affix.dev/problems/{}", self.kind),
            "title": self.kind.replace('-', " "),
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        let mut response = (self.status, body.to_string()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

impl From<affix_vault::Error> for Problem {
    fn from(e: affix_vault::Error) -> Self {
        use affix_vault::Error as E;
        let detail = e.to_string();
        match e {
            E::Malformed { .. } => {
                Problem::new(StatusCode::BAD_REQUEST, "malformed-request", detail)
            }
            E::Unsupported(_) => Problem::new(StatusCode::BAD_REQUEST, "unsupported", detail),
            E::TooLarge { .. } => Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", detail),
            E::KeyNotFound(_) => Problem::new(StatusCode::NOT_FOUND, "key-not-found", detail),
            E::CredentialNotFound(_) => {
                Problem::new(StatusCode::NOT_FOUND, "credential-not-found", detail)
            }
            E::GrantNotFound(_) => Problem::new(StatusCode::NOT_FOUND, "grant-not-found", detail),
            E::RecoveryNotFound(_) => {
                Problem::new(StatusCode::NOT_FOUND, "recovery-not-found", detail)
            }
            E::KeyDisabled(_) => Problem::new(StatusCode::CONFLICT, "key-disabled", detail),
            E::AlreadyExists { .. } => Problem::new(StatusCode::CONFLICT, "already-exists", detail),
            E::RecoveryRefused(_) => Problem::new(StatusCode::CONFLICT, "recovery-refused", detail),
            E::AuthorizationRefused(_) => {
                Problem::new(StatusCode::FORBIDDEN, "unauthorized", detail)
            }
            E::RateLimited(_) => {
                Problem::new(StatusCode::TOO_MANY_REQUESTS, "rate-limited", detail)
            }
            E::Busy(_) => Problem::new(StatusCode::SERVICE_UNAVAILABLE, "busy", detail),
            // Storage, master-key, evidence and integrity faults: logged, never shown.
            other => {
                tracing::error!(error = %other, "vault error serving a request");
                Problem::internal()
            }
        }
    }
}

type Answer = Result<Response, Problem>;

// ------------------------------------------------------------------------ server

struct Server {
    vault: Arc<Vault>,
    /// Signing requests are batched here (batch verification, one commit per batch).
    queue: SignQueue,
}

/// The vault API's routes (paths relative to the mount point). Requests must carry a
/// [`VaultTenant`] extension: put it there with the server's authentication layer
/// ([`api_key_layer`] for a standalone server).
///
/// # Errors
/// If the signing queue cannot start.
pub fn router(vault: Arc<Vault>) -> Result<Router, affix_vault::Error> {
    let queue = SignQueue::start(vault.clone(), Arc::new(now_ms), SignQueueConfig::default())?;
    let state = Arc::new(Server { vault, queue });
    Ok(Router::new()
        .route("/owners/{owner}/credentials", post(register_credential))
        .route("/keys", post(create_key))
        .route("/keys/{id}", get(key_info))
        .route("/keys/{id}/sign", post(sign))
        .route("/keys/{id}/disable", post(disable))
        .route("/keys/{id}/grants", post(grant))
        .route("/keys/{id}/audit", get(audit))
        .fallback(|| async { Problem::new(StatusCode::NOT_FOUND, "not-found", "no such endpoint") })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(answer_oversized))
        .with_state(state))
}

/// Declared bodies up to this size are read (and dropped) before a 413 is answered.
const DRAIN_BYTES_MAX: usize = 1024 * 1024;

/// Answers a body declared over [`MAX_BODY_BYTES`] with 413 at once, after reading it
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
        Some(n) if n > MAX_BODY_BYTES as u64 => {
            if n <= DRAIN_BYTES_MAX as u64 {
                let _ = axum::body::to_bytes(request.into_body(), DRAIN_BYTES_MAX).await;
            }
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                format!("request bodies are at most {MAX_BODY_BYTES} bytes"),
            )
            .into_response()
        }
        _ => next.run(request).await,
    }
}

/// For a standalone vault server: authenticates `Authorization: Bearer <API key>`
/// against `api_keys` (SHA-256 of each key → its tenant) and puts the [`VaultTenant`]
/// into the request.
pub async fn api_key_layer(
    State(api_keys): State<Arc<HashMap<[u8; 32], TenantId>>>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let unauthenticated = |detail: &str| {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            detail.to_owned(),
        )
        .into_response()
    };
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

/// The tenant the authentication layer established.
fn tenant_of(tenant: Option<axum::Extension<VaultTenant>>) -> Result<TenantId, Problem> {
    tenant.map(|t| t.0.0).ok_or_else(|| {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "send Authorization: Bearer <API key>".to_owned(),
        )
    })
}

/// A JSON body, or a problem (413 over the limit, 400 for anything unparsable).
fn json_body<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, Problem> {
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                format!("request bodies are at most {MAX_BODY_BYTES} bytes"),
            )
        } else {
            Problem::bad_request(e.body_text())
        }
    })?;
    serde_json::from_slice(&bytes).map_err(|e| Problem::bad_request(format!("JSON body: {e}")))
}

/// Runs a vault call on the blocking pool (vault calls fsync).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Problem> + Send + 'static,
) -> Result<T, Problem> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        tracing::error!(error = %e, "vault task failed");
        Problem::internal()
    })?
}

fn created(body: serde_json::Value) -> Response {
    (StatusCode::CREATED, axum::Json(body)).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialBody {
    kind: String,
    public_key: String,
    authorization: Option<AuthorizationJson>,
}

async fn register_credential(
    State(s): State<Arc<Server>>,
    Path(owner): Path<String>,
    tenant: Option<axum::Extension<VaultTenant>>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let tenant = tenant_of(tenant)?;
    let owner = OwnerId::parse(&owner)?;
    let body: CredentialBody = json_body(body)?;
    let kind = CredentialKind::from_name(&body.kind)?;
    let public_key =
        hex::decode(&body.public_key).map_err(|_| Problem::bad_request("public_key: not hex"))?;
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
    Ok(created(json!({ "credential": id.to_string() })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateKeyBody {
    owner: String,
    algorithm: String,
}

async fn create_key(
    State(s): State<Arc<Server>>,
    tenant: Option<axum::Extension<VaultTenant>>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let tenant = tenant_of(tenant)?;
    let body: CreateKeyBody = json_body(body)?;
    let owner = OwnerId::parse(&body.owner)?;
    let algorithm = Algorithm::from_name(&body.algorithm)?;
    let vault = s.vault.clone();
    let info = blocking(move || Ok(vault.create_key(&tenant, owner, algorithm, now_ms())?)).await?;
    Ok(created(json!({
        "id": info.id.to_string(),
        "algorithm": info.algorithm.name(),
        "public_key": hex::encode(&info.public_key),
        "evidence_leaf": info.evidence_leaf,
    })))
}

async fn key_info(
    State(s): State<Arc<Server>>,
    Path(id): Path<String>,
    tenant: Option<axum::Extension<VaultTenant>>,
) -> Answer {
    let tenant = tenant_of(tenant)?;
    let id = KeyId::parse(&id)?;
    let vault = s.vault.clone();
    let info = blocking(move || Ok(vault.key(&tenant, &id)?)).await?;
    Ok(axum::Json(json!({
        "id": info.id.to_string(),
        "owner": info.owner.to_string(),
        "algorithm": info.algorithm.name(),
        "public_key": hex::encode(&info.public_key),
        "created_ms": info.created_ms,
        "disabled": info.disabled,
    }))
    .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignBody {
    message_b64: Option<String>,
    prehash_hex: Option<String>,
    authorization: AuthorizationJson,
}

async fn sign(
    State(s): State<Arc<Server>>,
    Path(id): Path<String>,
    tenant: Option<axum::Extension<VaultTenant>>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let tenant = tenant_of(tenant)?;
    let key = KeyId::parse(&id)?;
    let body: SignBody = json_body(body)?;
    let payload = match (&body.message_b64, &body.prehash_hex) {
        (Some(m), None) => Payload::Message(
            base64::engine::general_purpose::STANDARD
                .decode(m)
                .map_err(|_| Problem::bad_request("message_b64: not base64"))?,
        ),
        (None, Some(d)) => Payload::Prehash(hex32(d, "prehash_hex")?),
        _ => {
            return Err(Problem::bad_request(
                "give exactly one of message_b64 and prehash_hex",
            ));
        }
    };
    let authorization = body.authorization.parse()?;
    let (reply, answer) = tokio::sync::oneshot::channel();
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
    let signed = answer.await.map_err(|_| Problem::internal())??;
    let mut answer = json!({
        "signature": hex::encode(&signed.signature.bytes),
        "evidence_leaf": signed.evidence_leaf,
    });
    if let Some(v) = signed.signature.recovery_id {
        answer["recovery_id"] = json!(v);
    }
    Ok(axum::Json(answer).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthorizedBody {
    authorization: AuthorizationJson,
}

async fn disable(
    State(s): State<Arc<Server>>,
    Path(id): Path<String>,
    tenant: Option<axum::Extension<VaultTenant>>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let tenant = tenant_of(tenant)?;
    let key = KeyId::parse(&id)?;
    let body: AuthorizedBody = json_body(body)?;
    let authorization = body.authorization.parse()?;
    let vault = s.vault.clone();
    blocking(move || Ok(vault.disable(&tenant, &key, &authorization, now_ms())?)).await?;
    Ok(axum::Json(json!({ "id": key.to_string(), "disabled": true })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantBody {
    grantee: String,
    not_after_ms: u64,
    max_uses: u32,
    purpose: String,
    created_ms: u64,
    authorization: AuthorizationJson,
}

async fn grant(
    State(s): State<Arc<Server>>,
    Path(id): Path<String>,
    tenant: Option<axum::Extension<VaultTenant>>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let tenant = tenant_of(tenant)?;
    let key = KeyId::parse(&id)?;
    let body: GrantBody = json_body(body)?;
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
    Ok(created(json!({ "grant": grant.to_string() })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    from: Option<u64>,
    limit: Option<usize>,
}

async fn audit(
    State(s): State<Arc<Server>>,
    Path(id): Path<String>,
    tenant: Option<axum::Extension<VaultTenant>>,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Answer {
    let tenant = tenant_of(tenant)?;
    let key = KeyId::parse(&id)?;
    let Query(query) = query.map_err(|e| Problem::bad_request(e.body_text()))?;
    let from = query.from.unwrap_or(0);
    let limit = query.limit.unwrap_or(MAX_AUDIT_LIMIT).min(MAX_AUDIT_LIMIT);
    let vault = s.vault.clone();
    let entries = blocking(move || Ok(vault.audit_key(&tenant, &key, from, limit)?)).await?;
    let entries: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| {
            let r = &e.record;
            let metadata: serde_json::Map<String, serde_json::Value> = r
                .metadata()
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect();
            let digests: serde_json::Map<String, serde_json::Value> = r
                .digests()
                .iter()
                .map(|d| (d.label().to_owned(), json!(hex::encode(d.value()))))
                .collect();
            json!({
                "leaf": e.leaf,
                "kind": r.kind(),
                "subject": r.subject(),
                "time_ms": r.event_time().0,
                "time": r.event_time().to_rfc3339(),
                "digests": digests,
                "metadata": metadata,
            })
        })
        .collect();
    Ok(axum::Json(json!({ "entries": entries })).into_response())
}
