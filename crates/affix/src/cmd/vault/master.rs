//! The master key named on the command line, and opening the vault with it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use affix_seal::{
    KdfParams, KeyFileMaster, MasterKey, Passphrase, PassphraseMaster, Pin, Pkcs11Master,
    Pkcs11Token, ShamirMaster, Share,
};
use affix_vault::Vault;
use anyhow::{Context as _, Result, anyhow, bail};
use clap::Args;
use zeroize::Zeroizing;

use super::usage_error;

/// Largest share file read.
const SHARE_FILE_BYTES_MAX: usize = 4096;

/// Where the vault is and which master key opens it.
#[derive(Args, Debug)]
pub(crate) struct VaultArgs {
    /// Vault directory.
    #[arg(long)]
    pub(super) dir: PathBuf,
    #[command(flatten)]
    pub(super) master: MasterArgs,
}

/// Master-key selection: exactly one source.
#[derive(Args, Debug, Default)]
pub(crate) struct MasterArgs {
    /// Master key file (affix-seal key file, mode 0600).
    #[arg(long, value_name = "PATH")]
    master_file: Option<PathBuf>,
    /// Environment variable holding the master passphrase.
    #[arg(long, value_name = "VAR")]
    pub(super) passphrase_env: Option<String>,
    /// Passphrase header file (default DIR/master.passphrase).
    #[arg(long, value_name = "PATH")]
    pub(super) passphrase_header: Option<PathBuf>,
    /// Shamir share file; repeat for at least the threshold of shares.
    #[arg(long = "shares", value_name = "FILE")]
    shares: Vec<PathBuf>,
    /// PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so).
    #[arg(long, value_name = "PATH")]
    pkcs11_module: Option<PathBuf>,
    /// PKCS#11 token label.
    #[arg(long, value_name = "LABEL")]
    pkcs11_token: Option<String>,
    /// Label of the AES-256 master key on the token.
    #[arg(long, value_name = "LABEL")]
    pkcs11_key: Option<String>,
    /// Environment variable holding the token's user PIN.
    #[arg(long, value_name = "VAR")]
    pkcs11_pin_env: Option<String>,
}

/// One master-key source, chosen on the command line.
pub(super) enum MasterSource {
    File(PathBuf),
    Passphrase {
        env: String,
        header: PathBuf,
    },
    Shares(Vec<PathBuf>),
    Pkcs11 {
        module: PathBuf,
        token: String,
        key: String,
        pin_env: String,
    },
}

impl MasterArgs {
    /// The one source selected, or `None` if none is.
    pub(super) fn source(&self, dir: &Path) -> Option<MasterSource> {
        let mut sources = Vec::new();
        if let Some(p) = &self.master_file {
            sources.push(MasterSource::File(p.clone()));
        }
        if let Some(env) = &self.passphrase_env {
            sources.push(MasterSource::Passphrase {
                env: env.clone(),
                header: self
                    .passphrase_header
                    .clone()
                    .unwrap_or_else(|| dir.join("master.passphrase")),
            });
        }
        if !self.shares.is_empty() {
            sources.push(MasterSource::Shares(self.shares.clone()));
        }
        let pkcs11 = [
            self.pkcs11_module.is_some(),
            self.pkcs11_token.is_some(),
            self.pkcs11_key.is_some(),
            self.pkcs11_pin_env.is_some(),
        ];
        if pkcs11.iter().any(|x| *x) {
            match (
                &self.pkcs11_module,
                &self.pkcs11_token,
                &self.pkcs11_key,
                &self.pkcs11_pin_env,
            ) {
                (Some(module), Some(token), Some(key), Some(pin_env)) => {
                    sources.push(MasterSource::Pkcs11 {
                        module: module.clone(),
                        token: token.clone(),
                        key: key.clone(),
                        pin_env: pin_env.clone(),
                    });
                }
                _ => usage_error(
                    "a PKCS#11 master key needs --pkcs11-module, --pkcs11-token, --pkcs11-key and --pkcs11-pin-env",
                ),
            }
        }
        if sources.len() > 1 {
            usage_error(
                "choose one master key: --master-file, --passphrase-env, --shares or --pkcs11-*",
            );
        }
        sources.pop()
    }

    fn required_source(&self, dir: &Path) -> MasterSource {
        self.source(dir).unwrap_or_else(|| {
            usage_error(
                "a master key is needed: --master-file, --passphrase-env, --shares or --pkcs11-*",
            )
        })
    }
}

/// A secret from the environment variable `var`.
pub(super) fn secret_env(var: &str) -> Result<Zeroizing<String>> {
    std::env::var(var)
        .map(Zeroizing::new)
        .map_err(|_| anyhow!("environment variable {var} is not set (or not UTF-8)"))
}

pub(super) fn open_pkcs11(module: &Path, token: &str, pin_env: &str) -> Result<Pkcs11Token> {
    let pin = Pin::new(secret_env(pin_env)?.to_string())?;
    Pkcs11Token::open(module, token, &pin)
        .with_context(|| format!("opening PKCS#11 token {token:?} with {}", module.display()))
}

/// Opens an existing master key.
fn open_master(source: &MasterSource) -> Result<Arc<dyn MasterKey>> {
    Ok(match source {
        MasterSource::File(path) => Arc::new(
            KeyFileMaster::open(path)
                .with_context(|| format!("opening master key file {}", path.display()))?,
        ),
        MasterSource::Passphrase { env, header } => {
            let passphrase = Passphrase::new(secret_env(env)?.to_string())?;
            Arc::new(
                PassphraseMaster::open(header, &passphrase)
                    .with_context(|| format!("passphrase master key ({})", header.display()))?,
            )
        }
        MasterSource::Shares(paths) => {
            let mut shares = Vec::with_capacity(paths.len());
            for path in paths {
                let bytes = affix_seal::secret_file::read_owner_only(path, SHARE_FILE_BYTES_MAX)
                    .with_context(|| format!("reading share file {}", path.display()))?;
                let text = std::str::from_utf8(&bytes)
                    .map_err(|_| anyhow!("share file {} is not UTF-8", path.display()))?;
                shares.push(
                    Share::parse(text).with_context(|| format!("share file {}", path.display()))?,
                );
            }
            Arc::new(ShamirMaster::combine(&shares).context("combining Shamir shares")?)
        }
        MasterSource::Pkcs11 {
            module,
            token,
            key,
            pin_env,
        } => {
            let token = open_pkcs11(module, token, pin_env)?;
            Arc::new(Pkcs11Master::find(&token, key)?)
        }
    })
}

/// Opens or creates a master key (`create`: key file or token key to be made).
pub(super) fn open_or_create_master(
    source: &MasterSource,
    create: bool,
) -> Result<Arc<dyn MasterKey>> {
    Ok(match source {
        MasterSource::File(path) if create => Arc::new(
            KeyFileMaster::create(path)
                .with_context(|| format!("creating master key file {}", path.display()))?,
        ),
        MasterSource::Passphrase { env, header } if !header.exists() => {
            let passphrase = Passphrase::new(secret_env(env)?.to_string())?;
            Arc::new(
                PassphraseMaster::create(header, &passphrase, KdfParams::default())
                    .with_context(|| format!("creating passphrase header {}", header.display()))?,
            )
        }
        MasterSource::Pkcs11 {
            module,
            token,
            key,
            pin_env,
        } if create => {
            let token = open_pkcs11(module, token, pin_env)?;
            Arc::new(Pkcs11Master::generate(&token, key)?)
        }
        other => open_master(other)?,
    })
}

/// Opens the vault in `args.dir` with the selected master key.
pub(crate) fn open_vault(args: &VaultArgs) -> Result<Vault> {
    let master = open_master(&args.master.required_source(&args.dir))?;
    let dir = &args.dir;
    if !dir.join("vault.redb").exists() {
        bail!("no vault in {} (run `affix vault init`)", dir.display());
    }
    let config = super::policy::vault_config(dir)?;
    Vault::open(dir, master, config).map_err(|e| match e {
        affix_vault::Error::MasterKey(_)
        | affix_vault::Error::Tampered(_)
        | affix_vault::Error::WrongMasterKey { .. } => anyhow!(
            "this master key does not open the vault in {} ({e}); if a master-key rotation \
             completed, open it with the new master key",
            dir.display()
        ),
        other => {
            anyhow::Error::new(other).context(format!("opening the vault in {}", dir.display()))
        }
    })
}
