//! The platform wired from a [`Config`]: the database, the vault, the CA and TSA, the
//! ledger, the outboxes and the background loops, in one process (`affix serve` puts
//! `affix-server`'s HTTP API in front of it).

use std::path::Path;
use std::sync::Arc;

use affix_node::client::LedgerClient;
use affix_notify::{Clock, Notifier};
use affix_seal::{KeyFileMaster, MasterKey};
use affix_vault::Vault;
use sha2::{Digest as _, Sha256};

use crate::authority::Authority;
use crate::config::Config;
use crate::outbox::MailOutbox;
use crate::service::{Parts, Platform};
use crate::store::Store;
use crate::{Error, random_bytes};

/// A launched platform: the [`Platform`] with its ledger and background loops
/// (evidence submission, webhook delivery, the loan scheduler). Serving it over HTTP is
/// `affix-server`'s job.
pub struct Launched {
    /// The platform.
    pub platform: Arc<Platform>,
    /// Where the operator token is.
    pub operator_token_file: std::path::PathBuf,
    /// Where e-mail goes when no SMTP relay is configured.
    pub outbox: Option<std::path::PathBuf>,
    /// Whatever keeps the ledger running (an embedded ledger), kept alive while launched.
    _ledger: Option<Box<dyn std::any::Any + Send + Sync>>,
    loops: [tokio::task::JoinHandle<()>; 3],
}

impl Launched {
    /// Stops the background loops (an embedded ledger stops when this is dropped).
    pub fn stop(self) {
        for task in &self.loops {
            task.abort();
        }
    }
}

impl Drop for Launched {
    fn drop(&mut self) {
        for task in &self.loops {
            task.abort();
        }
    }
}

/// The ledger the platform submits its evidence records to: a client of its nodes, and
/// whatever must stay alive while the platform runs (an embedded ledger its caller
/// started: the platform links the node API's client only, never a node).
pub struct Ledger {
    client: LedgerClient,
    keep_alive: Option<Box<dyn std::any::Any + Send + Sync>>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("embedded", &self.keep_alive.is_some())
            .finish_non_exhaustive()
    }
}

impl Ledger {
    /// The consortium's nodes that `config.ledger` names (`nodes`, with the
    /// `verifier_keys` file that receipts are verified against).
    ///
    /// # Errors
    /// [`Error::Config`] without `nodes` or `verifier_keys`, [`Error::Io`],
    /// [`Error::Ledger`] for a malformed verifier keys file.
    pub fn configured(config: &Config) -> Result<Self, Error> {
        if config.ledger.nodes.is_empty() {
            return Err(Error::Config("ledger.nodes is empty".into()));
        }
        let keys = config.ledger.verifier_keys.as_ref().ok_or_else(|| {
            Error::Config("ledger.verifier_keys is required with ledger.nodes".into())
        })?;
        let text = std::fs::read_to_string(keys).map_err(|e| io(keys, e))?;
        Ok(Self {
            client: LedgerClient::new(config.ledger.nodes.clone(), &text)
                .map_err(|e| Error::Ledger(e.to_string()))?,
            keep_alive: None,
        })
    }

    /// A ledger its caller runs (the embedded one-authority ledger of `affix serve`),
    /// reached with `client`; `keep_alive` is dropped when the platform is.
    pub fn running(client: LedgerClient, keep_alive: impl std::any::Any + Send + Sync) -> Self {
        Self {
            client,
            keep_alive: Some(Box::new(keep_alive)),
        }
    }
}

/// Creates `dir` and its missing parents with mode 0700 (owner only): the data directory
/// holds the database, the vault, the CA keys and the outboxes. An existing directory is
/// left as it is.
///
/// # Errors
/// [`Error::Io`].
pub fn create_private_dir(dir: &Path) -> Result<(), Error> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| io(dir, e))
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

/// Name of the OTP pepper's file in the data directory.
pub const OTP_PEPPER_FILE: &str = "otp-pepper.key";

/// The one-time codes' MAC key (see [`affix_identity::OtpPepper`]): 32 random bytes in
/// `<data_dir>/otp-pepper.key`, created on first start (mode 0600, fsync'd, never
/// overwritten), read afterwards (refused if group or others may read it, or if it is
/// not 32 bytes). It stays out of the database on purpose: a database reader without it
/// cannot test a single code. Losing it only invalidates the codes pending at the time.
fn otp_pepper(dir: &Path) -> Result<affix_identity::OtpPepper, Error> {
    let path = dir.join(OTP_PEPPER_FILE);
    if !path.exists() {
        let pepper = affix_identity::OtpPepper::generate(&mut crate::OsSeeded::new()?);
        match affix_seal::secret_file::create_new(&path, pepper.expose_bytes()) {
            Ok(()) => return Ok(pepper),
            // Another process created it meanwhile: read theirs.
            Err(affix_seal::Error::AlreadyExists(_)) => {}
            Err(e) => return Err(Error::Io(e.to_string())),
        }
    }
    let bytes = affix_seal::secret_file::read_owner_only(&path, affix_identity::OTP_PEPPER_BYTES)
        .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
    if bytes.len() != affix_identity::OTP_PEPPER_BYTES {
        return Err(Error::Config(format!(
            "{} is not {} bytes",
            path.display(),
            affix_identity::OTP_PEPPER_BYTES
        )));
    }
    // Zeroized when dropped, like the file's bytes; the pepper keeps the only copy.
    let mut array = zeroize::Zeroizing::new([0u8; affix_identity::OTP_PEPPER_BYTES]);
    array.copy_from_slice(&bytes);
    Ok(affix_identity::OtpPepper::from_bytes(*array))
}

/// The WebAuthn relying party of the public URL: its host is the RP id, its origin
/// (scheme, host and any non-default port) the one allowed origin. Browsers refuse an IP
/// address as an RP id, hence the default public URL `http://localhost:PORT`.
///
/// # Errors
/// [`Error::Config`] for a URL that is not `http(s)://host[:port][/path]`.
pub fn relying_party(public_url: &str) -> Result<affix_vault::affix_webauthn::RelyingParty, Error> {
    let bad = |why: &str| Error::Config(format!("public_url {public_url:?}: {why}"));
    let (scheme, rest) = public_url
        .split_once("://")
        .ok_or_else(|| bad("not an absolute URL"))?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => "443",
        "http" => "80",
        _ => return Err(bad("the scheme is http or https")),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(bad("no user information"));
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || host.starts_with('[') => {
            if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("the port is a number"));
            }
            (host, Some(port))
        }
        _ => (authority, None),
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    let host = host.to_ascii_lowercase();
    let origin = match port {
        Some(port) if port != default_port => format!("{scheme}://{host}:{port}"),
        _ => format!("{scheme}://{host}"),
    };
    let id = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    affix_vault::affix_webauthn::RelyingParty::new(id, vec![origin])
        .map_err(|e| bad(&e.to_string()))
}

fn open_vault(config: &Config, public_url: &str) -> Result<Vault, Error> {
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
        webauthn: relying_party(public_url)?,
        ..affix_vault::VaultConfig::default()
    };
    if dir.join("vault.redb").exists() {
        Ok(Vault::open(&dir, master, vconfig)?)
    } else {
        create_private_dir(&dir)?;
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

/// The SMS channel: the file outbox `<data_dir>/outbox/sms.jsonl` (no gateway exists
/// here) when [`Config::sms_file_outbox_allowed`], else nothing is written and every
/// text's delivery record says SMS is not configured.
fn sms_channel(config: &Config, clock: Arc<dyn Clock>) -> Result<Arc<dyn Notifier>, Error> {
    let sender: Arc<dyn affix_notify::SmsSender> = if config.sms_file_outbox_allowed() {
        let dir = config.data_dir.join("outbox");
        create_private_dir(&dir)?;
        let path = dir.join("sms.jsonl");
        Arc::new(
            affix_notify::FileOutbox::open(&path, affix_notify::FileOutboxLimits::default())
                .map_err(|e| Error::Io(format!("{}: {e}", path.display())))?,
        )
    } else {
        Arc::new(crate::outbox::SmsNotConfigured)
    };
    Ok(Arc::new(affix_notify::SmsNotifier::new(sender, clock)))
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

/// Launches the platform of `config` on `clock`: opens (creating on first start) the
/// data directory, the database, the vault, the CA and TSA, and starts the background
/// loops, which submit evidence to `ledger`. Invite links point at
/// `public_url` unless `config.public_url` is set (the server passes the address it bound).
///
/// The clock decides everything the platform decides (expiry of invites, codes and
/// prepared signatures, event times, certificates' and time-stamps' times); tests pass a
/// manual one.
///
/// # Errors
/// [`Error::Config`], [`Error::Io`], [`Error::Db`], [`Error::Ledger`], vault errors.
pub async fn launch(
    config: &Config,
    clock: Arc<dyn Clock>,
    public_url: &str,
    ledger: Ledger,
) -> Result<Launched, Error> {
    let mut opened = open_parts(config, clock, Some(public_url)).await?;
    let Ledger {
        client: ledger,
        keep_alive,
    } = ledger;
    opened.parts.verifier_keys = ledger.verifier_keys_text().to_owned();
    let platform = Arc::new(Platform::new(opened.parts));
    let loops = [
        tokio::spawn(crate::evidence::run(platform.clone(), ledger)),
        tokio::spawn(crate::webhooks::run(platform.clone())),
        tokio::spawn(crate::service::run_loans(platform.clone())),
    ];
    Ok(Launched {
        platform,
        operator_token_file: opened.operator_token_file,
        outbox: opened.outbox,
        _ledger: keep_alive,
        loops,
    })
}

/// The platform of `config` on `clock`, without the ledger or the background loops (evidence submission, webhooks, the loan scheduler): opens
/// (creating on first use) the data directory, the database, the vault, the CA and TSA
/// and the outboxes, as [`launch`] does. For tools and benchmarks that call
/// [`Platform`] operations directly: nothing is submitted to a ledger, delivered or
/// scheduled unless the caller calls the operation that does it.
///
/// Only with the `bench` feature (`affix-bench loans`).
///
/// # Errors
/// As [`launch`], except that nothing connects to a ledger.
#[cfg(feature = "bench")]
pub async fn open_with_clock(config: &Config, clock: Arc<dyn Clock>) -> Result<Platform, Error> {
    Ok(Platform::new(open_parts(config, clock, None).await?.parts))
}

/// What [`launch`] and [`open_with_clock`] share: everything but the ledger and the
/// tasks. The public URL is `config.public_url`, else `bound` (the address the server
/// bound, from `launch`), else the configured listen address. The vault's WebAuthn
/// relying party is the public URL's host and origin.
struct Opened {
    parts: Parts,
    operator_token_file: std::path::PathBuf,
    outbox: Option<std::path::PathBuf>,
}

async fn open_parts(
    config: &Config,
    clock: Arc<dyn Clock>,
    bound: Option<&str>,
) -> Result<Opened, Error> {
    config.check_outbox_exposure()?;
    let public_url = match (&config.public_url, bound) {
        (None, Some(bound)) => bound.trim_end_matches('/').to_owned(),
        _ => config.public_url(),
    };
    let webauthn = relying_party(&public_url)?;
    create_private_dir(&config.data_dir)?;
    let otp_pepper = otp_pepper(&config.data_dir)?;
    let store = Store::connect(&config.database_url()).await?;
    let vault = {
        let config = config.clone();
        let public_url = public_url.clone();
        tokio::task::spawn_blocking(move || open_vault(&config, &public_url))
            .await
            .map_err(|e| Error::Internal(e.to_string()))??
    };
    let authority = Authority::open_or_create(
        &config.data_dir,
        &config.name,
        Some(&public_url),
        crate::system_time(clock.now_ms()),
    )?;
    let (mailer, outbox) = mailer(config, clock.clone())?;
    let sms = sms_channel(config, clock.clone())?;
    let (token_file, token_hash) = operator_token(&config.data_dir)?;
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
            verifier_keys: String::new(),
            otp_pepper,
            webauthn,
        },
        operator_token_file: token_file,
        outbox,
    })
}
