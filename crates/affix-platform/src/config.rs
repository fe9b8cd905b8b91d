//! Settings: a TOML file (optional) overridden by `AFFIX_*` environment variables.
//!
//! Every setting has an embedded default, so `affix serve` with no file runs the whole
//! platform in one process: SQLite in the data directory, a single-authority ledger in
//! process, a vault whose master key is a key file, the CA and TSA, and e-mail written
//! to a file outbox (no SMTP server needed; configure `[smtp]` for real delivery).
//!
//! ```toml
//! listen = "127.0.0.1:8080"
//! public_url = "https://sign.example.com"
//! data_dir = "/var/lib/affix"
//! database_url = "postgres://affix:secret@db/affix"   # default: SQLite in data_dir
//! name = "Example Signing Service"
//! lpr_table = "/etc/affix/lpr.txt"   # one-year LPR, for the loan note's rate cap
//!
//! [ledger]                  # default: embedded
//! nodes = ["https://node-a.example:8443", "https://node-b.example:8443"]
//! verifier_keys = "/etc/affix/verifier-keys"
//!
//! [vault]                   # default: key file <data_dir>/vault-master.key
//! master = "pkcs11"
//! pkcs11_module = "/usr/lib/softhsm/libsofthsm2.so"
//! pkcs11_token = "affix"
//! pkcs11_key = "affix-master"   # PIN from AFFIX_PKCS11_PIN
//!
//! [smtp]
//! host = "smtp.example.com"
//! port = 587
//! tls = "starttls"           # none | starttls | tls
//! from = "Affix <no-reply@example.com>"
//! username = "affix"         # password from AFFIX_SMTP_PASSWORD
//!
//! [limits]
//! requests_per_minute = 600  # per API key or invite
//! identity_requests_per_minute = 10  # per invite, on the one-time-code routes
//! ```
//!
//! Without `[smtp]`, e-mail (one-time codes, invite links: bearer secrets) goes to the
//! file outbox `<data_dir>/outbox/email.jsonl`, and text messages to `sms.jsonl` (no SMS
//! gateway exists here). That is for local use: the platform refuses to start when it
//! listens on a non-loopback address without `[smtp]`, unless `insecure_outbox = true`
//! (`AFFIX_INSECURE_OUTBOX=true`); and beyond loopback without that setting, text
//! messages are not written anywhere (their delivery is recorded as not configured).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::Error;

/// The platform's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP API listens on.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Base URL in invite links (default: `http://<listen>`).
    #[serde(default)]
    pub public_url: Option<String>,
    /// Where the platform keeps its files.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// sqlx database URL (default: SQLite `affix.db` in the data directory).
    #[serde(default)]
    pub database_url: Option<String>,
    /// Name of the service (CA subject, e-mail sender name).
    #[serde(default = "default_name")]
    pub name: String,
    /// The evidence ledger.
    #[serde(default)]
    pub ledger: LedgerConfig,
    /// The key vault.
    #[serde(default)]
    pub vault: VaultConfig,
    /// SMTP for e-mail (default: a file outbox).
    #[serde(default)]
    pub smtp: Option<SmtpSettings>,
    /// Request limits.
    #[serde(default)]
    pub limits: Limits,
    /// Accept plain-http webhook URLs (for local receivers and tests; production
    /// webhooks are https).
    #[serde(default)]
    pub allow_plain_http_webhooks: bool,
    /// The one-year LPR table (text form of `affix_contract::LprTable::parse`) the loan
    /// note's rate cap is checked against. Default: the built-in table, which vouches
    /// only through its `through` date and refuses loan notes after it — operators keep
    /// their own table current.
    #[serde(default)]
    pub lpr_table: Option<PathBuf>,
    /// Accept writing bearer secrets (one-time codes, invite links) to the file outboxes
    /// in the data directory while listening beyond loopback. Without it such a
    /// configuration refuses to start (e-mail without `[smtp]`), and text messages are
    /// not written (see [`Config::check_outbox_exposure`]). Default false.
    #[serde(default)]
    pub insecure_outbox: bool,
}

/// Where evidence records go.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerConfig {
    /// Node URLs of an external consortium; empty: a single authority in process.
    #[serde(default)]
    pub nodes: Vec<String>,
    /// The consortium's verifier-keys file (needed with `nodes`).
    #[serde(default)]
    pub verifier_keys: Option<PathBuf>,
}

/// The vault's master key.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultConfig {
    /// `file` (default) or `pkcs11`.
    #[serde(default)]
    pub master: Option<String>,
    /// The key file (default `<data_dir>/vault-master.key`).
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// PKCS#11 module path.
    #[serde(default)]
    pub pkcs11_module: Option<PathBuf>,
    /// PKCS#11 token label.
    #[serde(default)]
    pub pkcs11_token: Option<String>,
    /// Label of the master key object on the token.
    #[serde(default)]
    pub pkcs11_key: Option<String>,
}

/// An SMTP relay.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    /// Host name.
    pub host: String,
    /// Port.
    pub port: u16,
    /// `none`, `starttls` or `tls`.
    #[serde(default = "default_tls")]
    pub tls: String,
    /// The From header.
    pub from: String,
    /// User name (the password comes from `AFFIX_SMTP_PASSWORD`).
    #[serde(default)]
    pub username: Option<String>,
}

/// Request limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Requests per minute per API key, invite or client address.
    #[serde(default = "default_rpm")]
    pub requests_per_minute: u32,
    /// Requests per minute per invite on the identity routes (sending and checking a
    /// one-time code), a bucket of their own beside `requests_per_minute`.
    #[serde(default = "default_identity_rpm")]
    pub identity_requests_per_minute: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            requests_per_minute: default_rpm(),
            identity_requests_per_minute: default_identity_rpm(),
        }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_data_dir() -> PathBuf {
    PathBuf::from("affix-data")
}
fn default_name() -> String {
    "Affix Local".into()
}
fn default_tls() -> String {
    "starttls".into()
}
fn default_rpm() -> u32 {
    6_000
}
fn default_identity_rpm() -> u32 {
    10
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            public_url: None,
            data_dir: default_data_dir(),
            database_url: None,
            name: default_name(),
            ledger: LedgerConfig::default(),
            vault: VaultConfig::default(),
            smtp: None,
            limits: Limits::default(),
            allow_plain_http_webhooks: false,
            lpr_table: None,
            insecure_outbox: false,
        }
    }
}

impl Config {
    /// Reads `path` (if given) and applies the environment: `AFFIX_LISTEN`,
    /// `AFFIX_PUBLIC_URL`, `AFFIX_DATA_DIR`, `AFFIX_DATABASE_URL`, `AFFIX_NAME`, `AFFIX_LPR_TABLE`,
    /// `AFFIX_LEDGER_NODES` (comma-separated), `AFFIX_LEDGER_VERIFIER_KEYS`,
    /// `AFFIX_INSECURE_OUTBOX` (`true` or `false`).
    ///
    /// # Errors
    /// [`Error::Config`] naming the file or variable that is wrong.
    pub fn load(path: Option<&Path>) -> Result<Self, Error> {
        let mut config = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| Error::Config(format!("{}: {e}", p.display())))?;
                toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", p.display())))?
            }
            None => Config::default(),
        };
        config.apply_env(|k| std::env::var(k).ok())?;
        Ok(config)
    }

    /// Applies environment overrides read through `var`.
    ///
    /// # Errors
    /// [`Error::Config`].
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), Error> {
        if let Some(v) = var("AFFIX_LISTEN") {
            self.listen = v
                .parse()
                .map_err(|e| Error::Config(format!("AFFIX_LISTEN={v:?}: {e}")))?;
        }
        if let Some(v) = var("AFFIX_PUBLIC_URL") {
            self.public_url = Some(v);
        }
        if let Some(v) = var("AFFIX_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = var("AFFIX_DATABASE_URL") {
            self.database_url = Some(v);
        }
        if let Some(v) = var("AFFIX_LPR_TABLE") {
            self.lpr_table = Some(PathBuf::from(v));
        }
        if let Some(v) = var("AFFIX_NAME") {
            self.name = v;
        }
        if let Some(v) = var("AFFIX_LEDGER_NODES") {
            self.ledger.nodes = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
        }
        if let Some(v) = var("AFFIX_LEDGER_VERIFIER_KEYS") {
            self.ledger.verifier_keys = Some(PathBuf::from(v));
        }
        if let Some(v) = var("AFFIX_INSECURE_OUTBOX") {
            self.insecure_outbox = v.parse().map_err(|_| {
                Error::Config(format!("AFFIX_INSECURE_OUTBOX={v:?}: true or false"))
            })?;
        }
        Ok(())
    }

    /// Whether the API listens on a loopback address only (`127.0.0.0/8`, `::1`).
    pub fn listens_on_loopback(&self) -> bool {
        self.listen.ip().is_loopback()
    }

    /// Refuses to start a platform that listens beyond loopback and would write e-mail,
    /// which carries bearer secrets (one-time codes, invite links), to the file outbox in
    /// clear: no `[smtp]` and no `insecure_outbox = true`.
    ///
    /// # Errors
    /// [`Error::Config`] naming the setting.
    pub fn check_outbox_exposure(&self) -> Result<(), Error> {
        if self.smtp.is_none() && !self.listens_on_loopback() && !self.insecure_outbox {
            return Err(Error::Config(format!(
                "listen = {} is not a loopback address and no [smtp] relay is configured: \
                 one-time codes and invite links would be written in clear to the file outbox \
                 {}; configure [smtp], listen on 127.0.0.1, or set insecure_outbox = true \
                 (AFFIX_INSECURE_OUTBOX=true) to accept the outbox",
                self.listen,
                self.data_dir.join("outbox").join("email.jsonl").display()
            )));
        }
        Ok(())
    }

    /// Whether text messages may go to the file outbox `<data_dir>/outbox/sms.jsonl`
    /// (there is no SMS gateway): on loopback, or with `insecure_outbox = true`.
    pub fn sms_file_outbox_allowed(&self) -> bool {
        self.listens_on_loopback() || self.insecure_outbox
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("affix.db").display()
            )
        })
    }

    /// The base URL of invite links, and the WebAuthn relying party (its host is the RP
    /// id): `public_url`, else `http://localhost:PORT` for a loopback or wildcard
    /// listener (browsers refuse an IP address as an RP id) and `http://ADDRESS`
    /// otherwise.
    pub fn public_url(&self) -> String {
        let ip = self.listen.ip();
        self.public_url
            .clone()
            .unwrap_or_else(|| {
                if ip.is_loopback() || ip.is_unspecified() {
                    format!("http://localhost:{}", self.listen.port())
                } else {
                    format!("http://{}", self.listen)
                }
            })
            .trim_end_matches('/')
            .to_owned()
    }
}
