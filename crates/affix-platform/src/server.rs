//! `affix serve`: the whole platform in one process, wired from a [`Config`].

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use affix_node::client::LedgerClient;
use affix_node::embedded::EmbeddedLedger;
use affix_notify::{Clock, Notifier, SystemClock};
use affix_seal::{KeyFileMaster, MasterKey};
use affix_vault::Vault;
use sha2::{Digest as _, Sha256};

use crate::authority::Authority;
use crate::config::Config;
use crate::http::{Api, router};
use crate::outbox::MailOutbox;
use crate::service::{Parts, Platform};
use crate::store::Store;
use crate::{Error, random_bytes};

/// A running platform.
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// Base URL.
    pub url: String,
    /// The platform.
    pub platform: Arc<Platform>,
    /// Where the operator token is.
    pub operator_token_file: std::path::PathBuf,
    /// Where e-mail goes when no SMTP relay is configured.
    pub outbox: Option<std::path::PathBuf>,
    /// The embedded ledger (kept alive while running).
    _ledger: Option<EmbeddedLedger>,
    server: tokio::task::JoinHandle<()>,
    evidence: tokio::task::JoinHandle<()>,
    webhooks: tokio::task::JoinHandle<()>,
    loans: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Runs until the server task ends.
    pub async fn wait(self) {
        let _ = self.server.await;
        self.evidence.abort();
        self.webhooks.abort();
        self.loans.abort();
    }

    /// Stops serving.
    pub fn stop(self) {
        self.server.abort();
        self.evidence.abort();
        self.webhooks.abort();
        self.loans.abort();
    }
}

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::Io(format!("{}: {e}", path.display()))
}

/// The operator token: created on first start (mode 0600), read afterwards.
fn operator_token(dir: &Path) -> Result<(std::path::PathBuf, [u8; 32]), Error> {
    let path = dir.join("operator.token");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let token = format!("afo_{}", hex::encode(random_bytes::<32>()?));
            affix_seal::secret_file::create_new(&path, format!("{token}\n").as_bytes())
                .map_err(|e| Error::Io(e.to_string()))?;
            token
        }
        Err(e) => return Err(io(&path, e)),
    };
    let secret = text
        .trim()
        .strip_prefix("afo_")
        .ok_or_else(|| Error::Config(format!("{} is not an operator token", path.display())))?;
    Ok((path, Sha256::digest(secret.as_bytes()).into()))
}

fn open_vault(config: &Config) -> Result<Vault, Error> {
    let dir = config.data_dir.join("vault");
    let master: Arc<dyn MasterKey> = match config.vault.master.as_deref().unwrap_or("file") {
        "file" => {
            let path = config
                .vault
                .key_file
                .clone()
                .unwrap_or_else(|| config.data_dir.join("vault-master.key"));
            if !path.exists() {
                KeyFileMaster::create(&path).map_err(|e| Error::Config(e.to_string()))?;
            }
            Arc::new(KeyFileMaster::open(&path).map_err(|e| Error::Config(e.to_string()))?)
        }
        "pkcs11" => {
            let module = config
                .vault
                .pkcs11_module
                .clone()
                .ok_or_else(|| Error::Config("vault.pkcs11_module is required".into()))?;
            let token = config
                .vault
                .pkcs11_token
                .clone()
                .ok_or_else(|| Error::Config("vault.pkcs11_token is required".into()))?;
            let label = config
                .vault
                .pkcs11_key
                .clone()
                .unwrap_or_else(|| "affix-master".into());
            let pin = std::env::var("AFFIX_PKCS11_PIN")
                .map_err(|_| Error::Config("set AFFIX_PKCS11_PIN".into()))?;
            let token = affix_seal::Pkcs11Token::open(
                &module,
                &token,
                &affix_seal::Pin::new(pin).map_err(|e| Error::Config(e.to_string()))?,
            )
            .map_err(|e| Error::Config(e.to_string()))?;
            let master = match affix_seal::Pkcs11Master::find(&token, &label) {
                Ok(m) => m,
                Err(_) => affix_seal::Pkcs11Master::generate(&token, &label)
                    .map_err(|e| Error::Config(e.to_string()))?,
            };
            Arc::new(master)
        }
        other => {
            return Err(Error::Config(format!(
                "vault.master = {other:?}: file or pkcs11"
            )));
        }
    };
    let vconfig = affix_vault::VaultConfig {
        submitter: "vault:platform".into(),
        cache_bytes: 64 << 20,
        ..affix_vault::VaultConfig::default()
    };
    if dir.join("vault.redb").exists() {
        Ok(Vault::open(&dir, master, vconfig)?)
    } else {
        std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        Ok(Vault::create(&dir, master, "affix.local/vault", vconfig)?)
    }
}

fn lpr_table(config: &Config) -> Result<affix_contract::LprTable, Error> {
    match &config.lpr_table {
        None => Ok(affix_contract::LprTable::builtin()),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::Config(format!("lpr_table {}: {e}", path.display())))?;
            affix_contract::LprTable::parse(&text)
                .map_err(|e| Error::Config(format!("lpr_table {}: {e}", path.display())))
        }
    }
}

fn mailer(
    config: &Config,
    clock: Arc<dyn Clock>,
) -> Result<(Arc<dyn Notifier>, Option<std::path::PathBuf>), Error> {
    match &config.smtp {
        None => {
            let path = config.data_dir.join("outbox").join("email.jsonl");
            Ok((Arc::new(MailOutbox::open(&path, clock)?), Some(path)))
        }
        Some(smtp) => {
            let tls = match smtp.tls.as_str() {
                "none" => affix_notify::SmtpTls::DangerousPlaintext,
                "starttls" => affix_notify::SmtpTls::StartTls,
                "tls" => affix_notify::SmtpTls::Tls,
                other => {
                    return Err(Error::Config(format!(
                        "smtp.tls = {other:?}: none, starttls or tls"
                    )));
                }
            };
            let credentials = smtp
                .username
                .as_ref()
                .map(|u| affix_notify::SmtpCredentials {
                    username: u.clone(),
                    password: affix_notify::SmtpPassword::new(
                        std::env::var("AFFIX_SMTP_PASSWORD").unwrap_or_default(),
                    ),
                });
            let mailer = affix_notify::SmtpMailer::new(
                affix_notify::SmtpConfig {
                    host: smtp.host.clone(),
                    port: smtp.port,
                    tls,
                    credentials,
                    from: affix_notify::EmailAddress::parse(&smtp.from)
                        .map_err(|e| Error::Config(format!("smtp.from: {e}")))?,
                    from_name: Some(config.name.clone()),
                    timeout_ms: 10_000,
                },
                clock,
            )
            .map_err(|e| Error::Config(e.to_string()))?;
            Ok((Arc::new(mailer), None))
        }
    }
}

/// Starts the platform: opens (creating on first start) the data directory, the
/// database, the vault, the CA and TSA, the ledger (embedded unless nodes are
/// configured), starts the evidence loop and the HTTP server.
///
/// # Errors
/// [`Error::Config`], [`Error::Io`], [`Error::Db`], [`Error::Ledger`], vault errors.
pub async fn start(config: Config) -> Result<Running, Error> {
    start_with_clock(config, Arc::new(SystemClock)).await
}

/// [`start`] with another clock for the platform's own decisions (expiry of invites,
/// codes, prepared signatures; event times). Tests use a manual clock; the vault, TSA
/// and CA keep the system clock.
///
/// # Errors
/// As [`start`].
pub async fn start_with_clock(config: Config, clock: Arc<dyn Clock>) -> Result<Running, Error> {
    let mut opened = open_parts(&config, clock).await?;
    let (ledger, embedded) = if config.ledger.nodes.is_empty() {
        let dir = config.data_dir.join("ledger");
        let embedded =
            tokio::task::spawn_blocking(move || EmbeddedLedger::start(&dir, "affix.local/ledger"))
                .await
                .map_err(|e| Error::Internal(e.to_string()))?
                .map_err(|e| Error::Ledger(e.to_string()))?;
        (embedded.client(), Some(embedded))
    } else {
        let keys = config.ledger.verifier_keys.as_ref().ok_or_else(|| {
            Error::Config("ledger.verifier_keys is required with ledger.nodes".into())
        })?;
        let text = std::fs::read_to_string(keys).map_err(|e| io(keys, e))?;
        (
            LedgerClient::new(config.ledger.nodes.clone(), &text)
                .map_err(|e| Error::Ledger(e.to_string()))?,
            None,
        )
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| Error::Config(format!("cannot listen on {}: {e}", config.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Io(e.to_string()))?;
    if config.public_url.is_none() {
        opened.parts.public_url = format!("http://{addr}");
    }
    let public_url = opened.parts.public_url.clone();
    let (token_file, outbox) = (opened.operator_token_file, opened.outbox);
    let platform = Arc::new(Platform::new(opened.parts));
    let evidence = tokio::spawn(crate::evidence::run(platform.clone(), ledger.clone()));
    let webhooks = tokio::spawn(crate::webhooks::run(platform.clone()));
    let loans = tokio::spawn(crate::service::run_loans(platform.clone()));
    let api = Arc::new(Api::new(
        platform.clone(),
        ledger.verifier_keys_text().to_owned(),
        config.limits.requests_per_minute,
    ));
    let app = router(&api)?;
    let server = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "HTTP server stopped");
        }
    });
    Ok(Running {
        addr,
        url: public_url,
        platform,
        operator_token_file: token_file,
        outbox,
        _ledger: embedded,
        server,
        evidence,
        webhooks,
        loans,
    })
}

/// The platform of `config` on `clock`, without the HTTP server, the ledger or the
/// background loops (evidence submission, webhooks, the loan scheduler): opens
/// (creating on first use) the data directory, the database, the vault, the CA and TSA
/// and the outboxes, as [`start`] does. For tools and benchmarks that call
/// [`Platform`] operations directly: nothing is submitted to a ledger, delivered or
/// scheduled unless the caller calls the operation that does it.
///
/// Only with the `bench` feature (`affix-bench loans`).
///
/// # Errors
/// As [`start`], except that nothing listens or connects to a ledger.
#[cfg(feature = "bench")]
pub async fn open_with_clock(config: &Config, clock: Arc<dyn Clock>) -> Result<Platform, Error> {
    Ok(Platform::new(open_parts(config, clock).await?.parts))
}

/// What [`start_with_clock`] and [`open_with_clock`] share: everything but the ledger,
/// the listener and the tasks. The public URL is `config.public_url`, else the
/// configured listen address (`start` replaces it with the bound one).
struct Opened {
    parts: Parts,
    operator_token_file: std::path::PathBuf,
    outbox: Option<std::path::PathBuf>,
}

async fn open_parts(config: &Config, clock: Arc<dyn Clock>) -> Result<Opened, Error> {
    std::fs::create_dir_all(&config.data_dir).map_err(|e| io(&config.data_dir, e))?;
    let store = Store::connect(&config.database_url()).await?;
    let vault = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || open_vault(&config))
            .await
            .map_err(|e| Error::Internal(e.to_string()))??
    };
    let authority = Authority::open_or_create(&config.data_dir, &config.name, SystemTime::now())?;
    let (mailer, outbox) = mailer(config, clock.clone())?;
    let sms_path = config.data_dir.join("outbox").join("sms.jsonl");
    std::fs::create_dir_all(config.data_dir.join("outbox"))
        .map_err(|e| Error::Io(format!("{}: {e}", config.data_dir.display())))?;
    let sms: Arc<dyn Notifier> = Arc::new(affix_notify::SmsNotifier::new(
        Arc::new(
            affix_notify::FileOutbox::open(&sms_path, affix_notify::FileOutboxLimits::default())
                .map_err(|e| Error::Io(format!("{}: {e}", sms_path.display())))?,
        ),
        clock.clone(),
    ));
    let (token_file, token_hash) = operator_token(&config.data_dir)?;
    let public_url = match &config.public_url {
        Some(u) => u.trim_end_matches('/').to_owned(),
        None => format!("http://{}", config.listen),
    };
    Ok(Opened {
        parts: Parts {
            store,
            vault: Arc::new(vault),
            authority: Arc::new(authority),
            mailer,
            sms,
            clock,
            submitter: "affix-platform".into(),
            public_url,
            operator_token_hash: token_hash,
            data_dir: config.data_dir.clone(),
            allow_plain_http_webhooks: config.allow_plain_http_webhooks,
            lpr: Arc::new(lpr_table(config)?),
        },
        operator_token_file: token_file,
        outbox,
    })
}
