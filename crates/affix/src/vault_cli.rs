//! `affix vault ...`: the key vault from the command line.
//!
//! An I/O shell around `affix-vault` and `affix-seal`: it reads master keys, device-key
//! files and the clock, and prints what the vault acknowledged. Every line `create`
//! prints is a key that is durable in the store and in the evidence log: the crash tests
//! rely on "printed = acknowledged".
//!
//! Files in a vault directory `DIR`:
//!
//! | file | what |
//! |---|---|
//! | `vault.redb`, `evidence/` | the vault (`affix-vault`) |
//! | `master.passphrase` | Argon2id header of a passphrase master key (not secret) |
//! | `recovery.toml` | the recovery policy (window, platform and authority public keys) |
//!
//! Device-key files (written by `enroll`, `device-key` and `recover start` — for a seed
//! export, the recipient key — mode 0600,
//! never overwritten) hold an owner's authenticator — the vault's CLI plays the owner's
//! device:
//!
//! ```text
//! affix-vault-device v1
//! tenant <tenant>
//! owner <32 hex>
//! credential <32 hex, or "none" before registration>
//! seed <64 hex>
//! ```

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::{Read as _, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use affix_seal::{
    KdfParams, KeyFileMaster, MasterKey, Passphrase, PassphraseMaster, Pin, Pkcs11Master,
    Pkcs11Token, ShamirMaster, Share,
};
use affix_vault::{
    Action, Algorithm, CredentialId, CredentialKind, DeviceKey, GrantRecord, KeyId, OwnerId,
    Payload, SignRequest, TenantId, Vault, VaultConfig, WalletChain, WalletId, WalletPayload,
    WalletSignRequest, WordCount,
};
use anyhow::{Context as _, Result, anyhow, bail};
use clap::{Args, Subcommand};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use affix_server::vault::AuthorizationJson;

/// Keys per `create_keys` call: each batch is one durable commit, then printed.
const CREATE_BATCH: u64 = 10_000;

/// Lifetime of the authorizations the CLI's device makes.
const AUTHORIZATION_LIFETIME_MS: u64 = 60_000;

/// Audit records fetched per page.
const AUDIT_PAGE: usize = 1000;

/// Largest device-key, share or API-key file read.
const SMALL_FILE_BYTES: u64 = 64 * 1024;

/// The key vault: envelope-encrypted signing keys, used only with the owner's fresh
/// authorization, every use recorded in the vault's evidence log.
#[derive(Subcommand, Debug)]
pub(crate) enum VaultCommand {
    /// Create a vault in DIR with a new or existing master key.
    Init(InitArgs),
    /// Enrol an owner's first authenticator (a device key) after the platform verified
    /// the owner's identity, or add a device for a new owner. Writes the device-key file.
    Enroll {
        #[command(flatten)]
        vault: VaultArgs,
        /// Tenant (organization) the owner belongs to.
        #[arg(long, value_parser = parse_tenant)]
        tenant: TenantId,
        /// Existing owner id (32 hex digits).
        #[arg(long, value_parser = parse_owner, conflicts_with = "new_owner", required_unless_present = "new_owner")]
        owner: Option<OwnerId>,
        /// Draw a fresh random owner id.
        #[arg(long)]
        new_owner: bool,
        /// Where to write the device key (mode 0600; never overwritten).
        #[arg(long)]
        device_out: PathBuf,
    },
    /// Create keys for an owner; prints `<key id> <algorithm> <public key hex>` per key,
    /// each line only once its batch is durable.
    Create {
        #[command(flatten)]
        vault: VaultArgs,
        /// Tenant.
        #[arg(long, value_parser = parse_tenant)]
        tenant: TenantId,
        /// Owner id (32 hex digits).
        #[arg(long, value_parser = parse_owner)]
        owner: OwnerId,
        /// ed25519, ecdsa-p256, ecdsa-secp256k1 or sm2.
        #[arg(long = "alg", value_parser = parse_algorithm)]
        algorithm: Algorithm,
        /// Number of keys.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
        count: u64,
    },
    /// Sign a file (or a 32-byte digest) with a key, authorized by the owner's device.
    Sign {
        #[command(flatten)]
        vault: VaultArgs,
        /// Key id.
        #[arg(long, value_parser = parse_key)]
        key: KeyId,
        /// The owner's device-key file.
        #[arg(long)]
        device: PathBuf,
        /// The message to sign.
        #[arg(
            long = "in",
            conflicts_with = "prehash",
            required_unless_present = "prehash"
        )]
        input: Option<PathBuf>,
        /// A 32-byte digest to sign (ECDSA keys), 64 hex digits.
        #[arg(long, value_parser = parse_digest)]
        prehash: Option<[u8; 32]>,
        /// Also write the raw signature bytes here.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Disable a key on its owner's authorization; it signs nothing more.
    Disable {
        #[command(flatten)]
        vault: VaultArgs,
        /// Key id.
        #[arg(long, value_parser = parse_key)]
        key: KeyId,
        /// The owner's device-key file.
        #[arg(long)]
        device: PathBuf,
    },
    /// Print every evidence record about a key.
    Audit {
        #[command(flatten)]
        vault: VaultArgs,
        /// Tenant.
        #[arg(long, value_parser = parse_tenant)]
        tenant: TenantId,
        /// Key id.
        #[arg(long, value_parser = parse_key)]
        key: KeyId,
    },
    /// Print a key's public description.
    Show {
        #[command(flatten)]
        vault: VaultArgs,
        /// Tenant.
        #[arg(long, value_parser = parse_tenant)]
        tenant: TenantId,
        /// Key id.
        #[arg(long, value_parser = parse_key)]
        key: KeyId,
    },
    /// Serve the vault's HTTP API (tenants authenticated by API keys).
    Serve {
        #[command(flatten)]
        vault: VaultArgs,
        /// Listen address.
        #[arg(long, default_value = "127.0.0.1:8700")]
        listen: std::net::SocketAddr,
        /// API-key file: `<SHA-256 of the key, hex> <tenant>` per line.
        #[arg(long)]
        api_keys: PathBuf,
    },
    /// Generate an API key for a tenant: appends its hash to FILE, prints the key once.
    ApiKey {
        /// Tenant.
        #[arg(long, value_parser = parse_tenant)]
        tenant: TenantId,
        /// API-key file (created with mode 0600 if missing).
        #[arg(long)]
        file: PathBuf,
    },
    /// Generate a device key for an owner without touching a vault (for HTTP clients:
    /// register its public key with POST /v1/owners/{owner}/credentials). Prints the
    /// public key.
    DeviceKey {
        /// Tenant.
        #[arg(long, value_parser = parse_tenant)]
        tenant: TenantId,
        /// Owner id.
        #[arg(long, value_parser = parse_owner)]
        owner: OwnerId,
        /// Where to write the device key (mode 0600; never overwritten).
        #[arg(long)]
        out: PathBuf,
    },
    /// Play the owner's device: print a JSON authorization for the HTTP API.
    Authorize(AuthorizeArgs),
    /// Re-seal every key under a new master key (resumable: after a crash, run the same
    /// command again with the same keys).
    Rotate(RotateArgs),
    /// Recover an owner who lost every authenticator: identity re-verification, two of
    /// platform / authority / recovery-code approvals, a cancellation window. Also the
    /// one way a wallet seed leaves the vault (`recover start --export-seed WALLET`).
    #[command(subcommand)]
    Recover(RecoverCommand),
    /// HD wallets: a BIP-39 seed sealed in the vault; Ethereum, Bitcoin and Ed25519 keys
    /// derived from it sign on the owner's authorization.
    #[command(subcommand)]
    Wallet(WalletCommand),
}

/// `affix vault wallet ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum WalletCommand {
    /// Create a wallet for an owner (the seed is generated inside the vault and never
    /// printed); prints its id once it is durable.
    Create {
        #[command(flatten)]
        vault: VaultArgs,
        /// Tenant.
        #[arg(long, value_parser = parse_tenant)]
        tenant: TenantId,
        /// Owner id (32 hex digits).
        #[arg(long, value_parser = parse_owner)]
        owner: OwnerId,
        /// Mnemonic length: 12 or 24 words.
        #[arg(long, default_value = "12", value_parser = parse_words)]
        words: WordCount,
    },
    /// Print the address and public key of a derived key.
    Address {
        #[command(flatten)]
        vault: VaultArgs,
        /// Tenant.
        #[arg(long, value_parser = parse_tenant)]
        tenant: TenantId,
        /// Wallet id.
        #[arg(long, value_parser = parse_wallet)]
        wallet: WalletId,
        /// ethereum, bitcoin, bitcoin-testnet, bitcoin-regtest or ed25519.
        #[arg(long, value_parser = parse_chain)]
        chain: WalletChain,
        /// Address index (the last level of the derivation path).
        #[arg(long, default_value_t = 0)]
        index: u32,
    },
    /// Sign with a derived key, authorized by the owner's device: an EIP-191 message or
    /// a raw 32-byte hash (ethereum; prints r‖s‖v), or an Ed25519 message.
    Sign {
        #[command(flatten)]
        vault: VaultArgs,
        /// Wallet id.
        #[arg(long, value_parser = parse_wallet)]
        wallet: WalletId,
        /// The owner's device-key file.
        #[arg(long)]
        device: PathBuf,
        /// ethereum or ed25519.
        #[arg(long, value_parser = parse_chain)]
        chain: WalletChain,
        /// Address index.
        #[arg(long, default_value_t = 0)]
        index: u32,
        /// The message (UTF-8 text).
        #[arg(long, conflicts_with_all = ["input", "hash"])]
        message: Option<String>,
        /// The message, from a file.
        #[arg(long = "in", conflicts_with = "hash")]
        input: Option<PathBuf>,
        /// A 32-byte hash to sign as it is (ethereum), 64 hex digits.
        #[arg(long, value_parser = parse_digest)]
        hash: Option<[u8; 32]>,
    },
    /// Print every evidence record about a wallet.
    Audit {
        #[command(flatten)]
        vault: VaultArgs,
        /// Tenant.
        #[arg(long, value_parser = parse_tenant)]
        tenant: TenantId,
        /// Wallet id.
        #[arg(long, value_parser = parse_wallet)]
        wallet: WalletId,
    },
}

/// `affix vault rotate`.
#[derive(Args, Debug)]
pub(crate) struct RotateArgs {
    #[command(flatten)]
    vault: VaultArgs,
    /// New master key file.
    #[arg(long, value_name = "PATH")]
    to_master_file: Option<PathBuf>,
    /// Environment variable holding the new master passphrase.
    #[arg(long, value_name = "VAR")]
    to_passphrase_env: Option<String>,
    /// Header file of the new passphrase master key (default DIR/master.passphrase, which
    /// must not be the current master's).
    #[arg(long, value_name = "PATH")]
    to_passphrase_header: Option<PathBuf>,
    /// PKCS#11 module of the new master key.
    #[arg(long, value_name = "PATH")]
    to_pkcs11_module: Option<PathBuf>,
    /// Token label of the new master key.
    #[arg(long, value_name = "LABEL")]
    to_pkcs11_token: Option<String>,
    /// Key label of the new master key.
    #[arg(long, value_name = "LABEL")]
    to_pkcs11_key: Option<String>,
    /// Environment variable holding the new token's PIN.
    #[arg(long, value_name = "VAR")]
    to_pkcs11_pin_env: Option<String>,
    /// Create the new master key (file, or key on the token) unless it already exists
    /// (it does when resuming).
    #[arg(long)]
    create_master: bool,
}

/// `affix vault recover ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum RecoverCommand {
    /// Start a recovery after the owner's identity was re-verified; writes the new
    /// (pending) device key and prints the recovery id.
    Start {
        #[command(flatten)]
        vault: VaultArgs,
        /// Tenant.
        #[arg(long, value_parser = parse_tenant)]
        tenant: TenantId,
        /// Owner id.
        #[arg(long, value_parser = parse_owner)]
        owner: OwnerId,
        /// Identity provider that re-verified the owner, e.g. face-provider-x.
        #[arg(long)]
        provider: String,
        /// SHA-256 of the provider's signed result, 64 hex digits.
        #[arg(long, value_parser = parse_digest)]
        result_digest: [u8; 32],
        /// Where to write the new device key (mode 0600; never overwritten). For
        /// --export-seed, the recipient key whose signature completes the export.
        #[arg(long)]
        device_out: PathBuf,
        /// Export this wallet's seed to the owner instead of binding a new credential
        /// (the same approvals, window and rate limit).
        #[arg(long, value_parser = parse_wallet, value_name = "WALLET")]
        export_seed: Option<WalletId>,
    },
    /// Record one party's approval: --platform or --authority NAME (signed with
    /// --approver-key FILE or given as --signature HEX), or the owner's --code-env VAR.
    Approve {
        #[command(flatten)]
        vault: VaultArgs,
        /// Tenant.
        #[arg(long, value_parser = parse_tenant)]
        tenant: TenantId,
        /// Owner id.
        #[arg(long, value_parser = parse_owner)]
        owner: OwnerId,
        /// Recovery id.
        #[arg(long, value_parser = parse_recovery)]
        id: affix_vault::RecoveryId,
        /// Approve as the platform.
        #[arg(long, conflicts_with_all = ["authority", "code_env"])]
        platform: bool,
        /// Approve as this authority (its name in recovery.toml).
        #[arg(long, conflicts_with = "code_env")]
        authority: Option<String>,
        /// Environment variable holding the owner's recovery code.
        #[arg(long, value_name = "VAR")]
        code_env: Option<String>,
        /// The approver's key file (from `affix vault recover approver-key`).
        #[arg(long, conflicts_with = "signature")]
        approver_key: Option<PathBuf>,
        /// The approver's Ed25519 signature over the approval message, hex.
        #[arg(long)]
        signature: Option<String>,
    },
    /// Cancel a pending recovery with one of the owner's existing devices.
    Cancel {
        #[command(flatten)]
        vault: VaultArgs,
        /// Recovery id.
        #[arg(long, value_parser = parse_recovery)]
        id: affix_vault::RecoveryId,
        /// An existing device of the owner.
        #[arg(long)]
        device: PathBuf,
    },
    /// Complete an approved recovery after its window: registers the new credential,
    /// revokes the old ones. With --device/--device-out, writes the registered device.
    /// A seed export needs --device (the recipient key) and prints the mnemonic once.
    Complete {
        #[command(flatten)]
        vault: VaultArgs,
        /// Tenant.
        #[arg(long, value_parser = parse_tenant)]
        tenant: TenantId,
        /// Owner id.
        #[arg(long, value_parser = parse_owner)]
        owner: OwnerId,
        /// Recovery id.
        #[arg(long, value_parser = parse_recovery)]
        id: affix_vault::RecoveryId,
        /// The pending device file written by `recover start`.
        #[arg(long)]
        device: Option<PathBuf>,
        /// Where to write the registered device file.
        #[arg(long, requires = "device")]
        device_out: Option<PathBuf>,
    },
    /// Generate an approver's (platform's or authority's) Ed25519 key; prints the public
    /// key for recovery.toml.
    ApproverKey {
        /// Where to write the key (mode 0600; never overwritten).
        #[arg(long)]
        out: PathBuf,
    },
}

/// Where the vault is and which master key opens it.
#[derive(Args, Debug)]
pub(crate) struct VaultArgs {
    /// Vault directory.
    #[arg(long)]
    dir: PathBuf,
    #[command(flatten)]
    master: MasterArgs,
}

/// Master-key selection: exactly one source.
#[derive(Args, Debug, Default)]
pub(crate) struct MasterArgs {
    /// Master key file (affix-seal key file, mode 0600).
    #[arg(long, value_name = "PATH")]
    master_file: Option<PathBuf>,
    /// Environment variable holding the master passphrase.
    #[arg(long, value_name = "VAR")]
    passphrase_env: Option<String>,
    /// Passphrase header file (default DIR/master.passphrase).
    #[arg(long, value_name = "PATH")]
    passphrase_header: Option<PathBuf>,
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

/// `affix vault init`.
#[derive(Args, Debug)]
pub(crate) struct InitArgs {
    /// Vault directory (created; must not hold a vault).
    #[arg(long)]
    dir: PathBuf,
    #[command(flatten)]
    master: MasterArgs,
    /// With --master-file: create the key file (never overwritten).
    #[arg(long)]
    create_master: bool,
    /// Split a fresh master key into Shamir shares, e.g. 3-of-5.
    #[arg(long, value_name = "K-of-N", requires = "shares_out")]
    shamir: Option<String>,
    /// With --shamir: directory for the share files (share-<i>.txt, mode 0600).
    #[arg(long, requires = "shamir")]
    shares_out: Option<PathBuf>,
    /// With --pkcs11-*: generate the AES-256 master key on the token.
    #[arg(long)]
    generate_key: bool,
    /// Name of the vault in its evidence records.
    #[arg(long, default_value = "vault:main")]
    submitter: String,
}

/// `affix vault authorize`.
#[derive(Args, Debug)]
pub(crate) struct AuthorizeArgs {
    /// The owner's device-key file.
    #[arg(long)]
    device: PathBuf,
    /// Credential id, if the device file was written before registration.
    #[arg(long, value_parser = parse_credential)]
    credential: Option<CredentialId>,
    /// sign, disable, grant or register-credential.
    #[arg(long, default_value = "sign")]
    action: String,
    /// Key id (sign, disable, grant).
    #[arg(long, value_parser = parse_key)]
    key: Option<KeyId>,
    /// sign: the message file.
    #[arg(long = "in", conflicts_with = "prehash")]
    input: Option<PathBuf>,
    /// sign: a 32-byte digest, 64 hex digits.
    #[arg(long, value_parser = parse_digest)]
    prehash: Option<[u8; 32]>,
    /// register-credential: kind of the new credential.
    #[arg(long, default_value = "ed25519")]
    kind: String,
    /// register-credential: its public key, hex.
    #[arg(long)]
    public_key: Option<String>,
    /// grant: grantee credential id.
    #[arg(long, value_parser = parse_credential)]
    grantee: Option<CredentialId>,
    /// grant: last moment the grant may be used (Unix ms).
    #[arg(long)]
    not_after_ms: Option<u64>,
    /// grant: most signatures.
    #[arg(long, default_value_t = 1)]
    max_uses: u32,
    /// grant: scope label.
    #[arg(long, default_value = "delegated")]
    purpose: String,
    /// grant: creation time in the grant record (Unix ms; default now).
    #[arg(long)]
    created_ms: Option<u64>,
    /// Lifetime of the authorization.
    #[arg(long, default_value_t = AUTHORIZATION_LIFETIME_MS)]
    lifetime_ms: u64,
}

/// Runs one `affix vault` command.
pub(crate) fn run(cmd: VaultCommand) -> Result<()> {
    match cmd {
        VaultCommand::Init(args) => init(args),
        VaultCommand::Enroll {
            vault,
            tenant,
            owner,
            new_owner: _,
            device_out,
        } => enroll(&vault, &tenant, owner, &device_out),
        VaultCommand::Create {
            vault,
            tenant,
            owner,
            algorithm,
            count,
        } => create(&vault, &tenant, owner, algorithm, count),
        VaultCommand::Sign {
            vault,
            key,
            device,
            input,
            prehash,
            out,
        } => sign(
            &vault,
            key,
            &device,
            input.as_deref(),
            prehash,
            out.as_deref(),
        ),
        VaultCommand::Disable { vault, key, device } => disable(&vault, key, &device),
        VaultCommand::Audit { vault, tenant, key } => audit(&vault, &tenant, key),
        VaultCommand::Show { vault, tenant, key } => show(&vault, &tenant, key),
        VaultCommand::Serve {
            vault,
            listen,
            api_keys,
        } => {
            let keys = read_api_keys(&api_keys)?;
            let opened = open_vault(&vault)?;
            serve_http(Arc::new(opened), keys, listen)
        }
        VaultCommand::ApiKey { tenant, file } => api_key(&tenant, &file),
        VaultCommand::DeviceKey { tenant, owner, out } => {
            let device = DeviceKey::generate()?;
            write_device_file(&out, &device, None, &tenant, owner)?;
            println!("public-key {}", hex::encode(device.public_key()));
            println!("device {}", out.display());
            Ok(())
        }
        VaultCommand::Authorize(args) => authorize(&args),
        VaultCommand::Rotate(args) => rotate(&args),
        VaultCommand::Recover(cmd) => recover(cmd),
        VaultCommand::Wallet(cmd) => wallet(cmd),
    }
}

// ------------------------------------------------------------------------ master keys

/// One master-key source, chosen on the command line.
enum MasterSource {
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

/// Prints a usage error and exits with code 2, like clap does for its own.
fn usage_error(message: &str) -> ! {
    clap::Error::raw(
        clap::error::ErrorKind::ArgumentConflict,
        format!("{message}\n"),
    )
    .exit()
}

impl MasterArgs {
    /// The one source selected, or `None` if none is.
    fn source(&self, dir: &Path) -> Option<MasterSource> {
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

fn secret_env(var: &str) -> Result<Zeroizing<String>> {
    std::env::var(var)
        .map(Zeroizing::new)
        .map_err(|_| anyhow!("environment variable {var} is not set (or not UTF-8)"))
}

fn open_pkcs11(module: &Path, token: &str, pin_env: &str) -> Result<Pkcs11Token> {
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
                let text = Zeroizing::new(read_small(path)?);
                shares.push(
                    Share::parse(&text)
                        .with_context(|| format!("share file {}", path.display()))?,
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
fn open_or_create_master(source: &MasterSource, create: bool) -> Result<Arc<dyn MasterKey>> {
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
    open_vault_with(&args.dir, master)
}

fn open_vault_with(dir: &Path, master: Arc<dyn MasterKey>) -> Result<Vault> {
    if !dir.join("vault.redb").exists() {
        bail!("no vault in {} (run `affix vault init`)", dir.display());
    }
    let config = vault_config(dir)?;
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

/// The vault's settings: the recovery policy from DIR/recovery.toml, if present.
fn vault_config(dir: &Path) -> Result<VaultConfig> {
    let mut config = VaultConfig::default();
    let path = dir.join(RECOVERY_POLICY_FILE);
    if path.exists() {
        config.recovery = read_recovery_policy(&path)?;
    }
    Ok(config)
}

const RECOVERY_POLICY_FILE: &str = "recovery.toml";

/// `recovery.toml`: the window, the rate limit and the approvers' public keys.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RecoveryPolicyFile {
    window_ms: Option<u64>,
    min_interval_ms: Option<u64>,
    platform_key: Option<String>,
    #[serde(default)]
    authorities: Vec<AuthorityEntry>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthorityEntry {
    name: String,
    key: String,
}

fn read_recovery_policy(path: &Path) -> Result<affix_vault::recovery::RecoveryPolicy> {
    let text = read_small(path)?;
    let file: RecoveryPolicyFile =
        toml::from_str(&text).with_context(|| format!("reading {}", path.display()))?;
    let key = |hex_text: &str, what: &str| -> Result<[u8; 32]> {
        let mut k = [0u8; 32];
        hex::decode_to_slice(hex_text, &mut k)
            .map_err(|_| anyhow!("{}: {what} must be 64 hex digits", path.display()))?;
        Ok(k)
    };
    let defaults = affix_vault::recovery::RecoveryPolicy::default();
    Ok(affix_vault::recovery::RecoveryPolicy {
        window_ms: file.window_ms.unwrap_or(defaults.window_ms),
        min_interval_ms: file.min_interval_ms.unwrap_or(defaults.min_interval_ms),
        platform_key: file
            .platform_key
            .as_deref()
            .map(|k| key(k, "platform_key"))
            .transpose()?,
        authorities: file
            .authorities
            .iter()
            .map(|a| Ok((a.name.clone(), key(&a.key, "authority key")?)))
            .collect::<Result<_>>()?,
    })
}

const RECOVERY_POLICY_TEMPLATE: &str = "\
# Recovery policy of this vault (read when the vault is opened).
# A recovery completes with approvals from two of: the platform, an authority, the
# owner's offline recovery code; and only after the cancellation window.
# window_ms = 172800000        # 48 h
# min_interval_ms = 86400000   # 24 h between two starts for one owner
# platform_key = \"<Ed25519 public key, 64 hex>\"   # affix vault recover approver-key
# [[authorities]]
# name = \"notary-office\"
# key = \"<Ed25519 public key, 64 hex>\"
";

// ------------------------------------------------------------------------ commands

fn init(args: InitArgs) -> Result<()> {
    let dir = &args.dir;
    if dir.join("vault.redb").exists() {
        bail!("{} already holds a vault", dir.display());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let source = args.master.source(dir);
    let mut created = Vec::new();
    let master: Arc<dyn MasterKey> = match (&args.shamir, source) {
        (Some(_), Some(_)) => {
            usage_error("--shamir makes a new master key; give no other master key")
        }
        (None, None) => usage_error(
            "a master key is needed: --master-file [--create-master], --passphrase-env, --shamir K-of-N, --shares or --pkcs11-* [--generate-key]",
        ),
        (Some(spec), None) => {
            let (k, n) = parse_k_of_n(spec).unwrap_or_else(|e| usage_error(&e));
            let out = args
                .shares_out
                .as_deref()
                .unwrap_or_else(|| usage_error("--shamir needs --shares-out DIR"));
            let (master, shares) = ShamirMaster::split(k, n)?;
            std::fs::create_dir_all(out)?;
            for share in &shares {
                let path = out.join(format!("share-{}.txt", share.index()));
                let mut text = share.to_text();
                text.push('\n');
                write_new_secret(&path, text.as_bytes())?;
                created.push(format!(
                    "share {} of {n} (threshold {k}): {}",
                    share.index(),
                    path.display()
                ));
            }
            Arc::new(master)
        }
        (None, Some(source)) => {
            let create = args.create_master || args.generate_key;
            let master = open_or_create_master(&source, create)?;
            match &source {
                MasterSource::File(p) if create => {
                    created.push(format!("master key file {}", p.display()));
                }
                MasterSource::Passphrase { header, .. } => {
                    created.push(format!("passphrase header {}", header.display()));
                }
                MasterSource::Pkcs11 { key, .. } if create => {
                    created.push(format!("token key {key}"));
                }
                _ => {}
            }
            master
        }
    };
    let policy = dir.join(RECOVERY_POLICY_FILE);
    if !policy.exists() {
        write_new_secret(&policy, RECOVERY_POLICY_TEMPLATE.as_bytes())?;
        created.push(format!("recovery policy template {}", policy.display()));
    }
    let origin = vault_origin(dir);
    let config = VaultConfig {
        submitter: args.submitter.clone(),
        ..vault_config(dir)?
    };
    let master_id = master.id().to_string();
    Vault::create(dir, master, &origin, config)
        .with_context(|| format!("creating the vault in {}", dir.display()))?;
    println!("vault created in {}", dir.display());
    println!("  origin   {origin}");
    println!("  master   {master_id}");
    println!("  evidence {}", dir.join("evidence").display());
    for line in created {
        println!("  created  {line}");
    }
    Ok(())
}

/// `vault.affix.local/<directory name>`, reduced to characters origins allow.
fn vault_origin(dir: &Path) -> String {
    let name = std::fs::canonicalize(dir)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let mut clean: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    if clean.is_empty() {
        clean.push_str("vault");
    }
    format!("vault.affix.local/{clean}")
}

fn parse_k_of_n(spec: &str) -> Result<(u8, u8), String> {
    let bad = || format!("--shamir {spec:?}: expected K-of-N, e.g. 3-of-5");
    let (k, n) = spec.split_once("-of-").ok_or_else(bad)?;
    Ok((k.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?))
}

fn enroll(
    args: &VaultArgs,
    tenant: &TenantId,
    owner: Option<OwnerId>,
    device_out: &Path,
) -> Result<()> {
    if device_out.exists() {
        bail!(
            "{} exists; refusing to overwrite a device key",
            device_out.display()
        );
    }
    let vault = open_vault(args)?;
    let owner = match owner {
        Some(o) => o,
        None => OwnerId::random()?,
    };
    let mut device = DeviceKey::generate()?;
    let credential = vault
        .register_credential(
            tenant,
            owner,
            CredentialKind::Ed25519,
            &device.public_key(),
            None,
            now_ms(),
        )
        .context("enrolling the device")?;
    device.credential = Some(credential);
    write_device_file(device_out, &device, Some(credential), tenant, owner)
        .with_context(|| format!("credential {credential} was registered, but"))?;
    println!("owner {owner}");
    println!("credential {credential}");
    println!("device {}", device_out.display());
    match vault.set_recovery_code(tenant, owner, now_ms()) {
        Ok(code) => {
            let code = Zeroizing::new(code);
            println!("recovery-code {}", code.as_str());
            eprintln!(
                "The recovery code is shown once: the owner keeps it offline (paper); it is one \
                 of the approvals that can restore access if every device is lost."
            );
        }
        Err(affix_vault::Error::AlreadyExists { .. }) => {
            eprintln!("the owner already has a recovery code; it is unchanged");
        }
        Err(e) => return Err(anyhow::Error::new(e).context("setting the recovery code")),
    }
    Ok(())
}

fn create(
    args: &VaultArgs,
    tenant: &TenantId,
    owner: OwnerId,
    algorithm: Algorithm,
    count: u64,
) -> Result<()> {
    let vault = open_vault(args)?;
    let mut out = std::io::stdout().lock();
    let mut left = count;
    while left > 0 {
        let n = left.min(CREATE_BATCH);
        let requests = vec![(owner, algorithm); usize::try_from(n)?];
        let keys = vault
            .create_keys(tenant, &requests, now_ms())
            .context("creating keys")?;
        // Printed only now: the batch is durable (evidence log and store, fsynced).
        for key in &keys {
            writeln!(
                out,
                "{} {} {}",
                key.id,
                algorithm.name(),
                hex::encode(&key.public_key)
            )?;
        }
        out.flush()?;
        left -= n;
    }
    Ok(())
}

fn sign(
    args: &VaultArgs,
    key: KeyId,
    device_path: &Path,
    input: Option<&Path>,
    prehash: Option<[u8; 32]>,
    out: Option<&Path>,
) -> Result<()> {
    let device = read_device_file(device_path)?;
    let payload = match (input, prehash) {
        (Some(path), None) => Payload::Message(
            std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
        ),
        (None, Some(digest)) => Payload::Prehash(digest),
        _ => usage_error("give --in FILE or --prehash HEX"),
    };
    let vault = open_vault(args)?;
    let info = vault.key(&device.tenant, &key).context("signing refused")?;
    let now = now_ms();
    let statement = affix_vault::UnboundStatement::for_signing(
        &device.tenant,
        key,
        &payload,
        None,
        now,
        AUTHORIZATION_LIFETIME_MS,
    )?;
    let authorization = device.key()?.authorize(statement);
    let signed = vault
        .sign(
            SignRequest {
                tenant: device.tenant.clone(),
                key,
                payload: payload.clone(),
                authorization,
            },
            now,
        )
        .context("signing refused")?;
    affix_vault::verify(
        info.algorithm,
        &info.public_key,
        &payload,
        &signed.signature.bytes,
    )
    .context("the vault's signature does not verify under the key's public key")?;
    if let Some(path) = out {
        std::fs::write(path, &signed.signature.bytes)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    println!("signature {}", hex::encode(&signed.signature.bytes));
    if let Some(v) = signed.signature.recovery_id {
        println!("recovery-id {v}");
    }
    println!("evidence-leaf {}", signed.evidence_leaf);
    Ok(())
}

fn disable(args: &VaultArgs, key: KeyId, device_path: &Path) -> Result<()> {
    let device = read_device_file(device_path)?;
    let vault = open_vault(args)?;
    let now = now_ms();
    let statement = affix_vault::UnboundStatement::for_action(
        &device.tenant,
        Action::Disable,
        Some(key),
        Sha256::digest(key.0).into(),
        now,
        AUTHORIZATION_LIFETIME_MS,
    )?;
    let authorization = device.key()?.authorize(statement);
    vault
        .disable(&device.tenant, &key, &authorization, now)
        .context("disabling refused")?;
    println!("disabled {key}");
    Ok(())
}

/// One line per evidence record: leaf, kind, time, metadata.
fn print_audit(out: &mut impl std::io::Write, entries: &[affix_vault::AuditEntry]) -> Result<()> {
    for entry in entries {
        let r = &entry.record;
        let metadata: Vec<String> = r
            .metadata()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        writeln!(
            out,
            "{}\t{}\t{}\t{}",
            entry.leaf,
            r.kind(),
            r.event_time().to_rfc3339(),
            metadata.join(" ")
        )?;
    }
    Ok(())
}

fn audit(args: &VaultArgs, tenant: &TenantId, key: KeyId) -> Result<()> {
    let vault = open_vault(args)?;
    let mut out = std::io::stdout().lock();
    let mut from = 0;
    loop {
        let page = vault.audit_key(tenant, &key, from, AUDIT_PAGE)?;
        print_audit(&mut out, &page)?;
        match page.last() {
            Some(last) if page.len() == AUDIT_PAGE => from = last.leaf + 1,
            _ => break,
        }
    }
    out.flush()?;
    Ok(())
}

fn show(args: &VaultArgs, tenant: &TenantId, key: KeyId) -> Result<()> {
    let vault = open_vault(args)?;
    let info = vault.key(tenant, &key)?;
    println!("key {}", info.id);
    println!("tenant {}", info.tenant);
    println!("owner {}", info.owner);
    println!("algorithm {}", info.algorithm.name());
    println!("public-key {}", hex::encode(&info.public_key));
    if info.algorithm == Algorithm::EcdsaSecp256k1 {
        // Blockchain addresses of the key (affix-wallet): Ethereum (EIP-55) and Bitcoin
        // P2WPKH (bech32, mainnet).
        let point = k256::ecdsa::VerifyingKey::from_sec1_bytes(&info.public_key)
            .map_err(|_| anyhow!("stored secp256k1 public key does not parse"))?;
        println!(
            "ethereum-address {}",
            affix_wallet::ethereum_address_of(&point)
        );
        println!(
            "bitcoin-address {}",
            affix_wallet::p2wpkh_address_of(&point, affix_wallet::BitcoinNetwork::Mainnet)
        );
    }
    println!(
        "created {}",
        affix_evidence::UnixMillis(info.created_ms).to_rfc3339()
    );
    println!("disabled {}", info.disabled);
    Ok(())
}

fn api_key(tenant: &TenantId, file: &Path) -> Result<()> {
    let mut secret = Zeroizing::new([0u8; 32]);
    getrandom::fill(secret.as_mut()).map_err(|e| anyhow!("random generator: {e}"))?;
    let key = Zeroizing::new(format!("avk_{}", hex::encode(*secret)));
    let line = format!("{} {tenant}\n", hex::encode(Sha256::digest(key.as_bytes())));
    let mut f = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(file)
        .with_context(|| format!("opening {}", file.display()))?;
    f.write_all(line.as_bytes())?;
    f.sync_all()?;
    eprintln!(
        "API key for tenant {tenant} (shown once; {} keeps only its hash):",
        file.display()
    );
    println!("{}", key.as_str());
    Ok(())
}

/// Reads an API-key file: `<SHA-256 hex> <tenant>` per line; `#` starts a comment.
pub(crate) fn read_api_keys(path: &Path) -> Result<HashMap<[u8; 32], TenantId>> {
    let text = read_small(path)?;
    let mut keys = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || {
            anyhow!(
                "{}:{}: expected `<sha-256 hex> <tenant>`",
                path.display(),
                i + 1
            )
        };
        let (hash, tenant) = line.split_once(' ').ok_or_else(bad)?;
        let mut digest = [0u8; 32];
        hex::decode_to_slice(hash, &mut digest).map_err(|_| bad())?;
        keys.insert(digest, TenantId::new(tenant.trim()).map_err(|_| bad())?);
    }
    Ok(keys)
}

fn authorize(args: &AuthorizeArgs) -> Result<()> {
    let mut device = read_device_file(&args.device)?;
    if let Some(c) = args.credential {
        device.credential = Some(c);
    }
    let tenant = &device.tenant;
    let now = now_ms();
    let need_key = || {
        args.key
            .unwrap_or_else(|| usage_error("this action needs --key"))
    };
    let statement = match args.action.as_str() {
        "sign" => {
            let payload = match (&args.input, args.prehash) {
                (Some(path), None) => Payload::Message(std::fs::read(path)?),
                (None, Some(d)) => Payload::Prehash(d),
                _ => usage_error("sign needs --in FILE or --prehash HEX"),
            };
            affix_vault::UnboundStatement::for_signing(
                tenant,
                need_key(),
                &payload,
                None,
                now,
                args.lifetime_ms,
            )?
        }
        "disable" => {
            let key = need_key();
            affix_vault::UnboundStatement::for_action(
                tenant,
                Action::Disable,
                Some(key),
                Sha256::digest(key.0).into(),
                now,
                args.lifetime_ms,
            )?
        }
        "register-credential" => {
            let kind = CredentialKind::from_name(&args.kind)?;
            let public_key = hex::decode(
                args.public_key
                    .as_deref()
                    .unwrap_or_else(|| usage_error("register-credential needs --public-key")),
            )
            .context("--public-key: not hex")?;
            let digest = affix_vault::credential_digest(kind, &public_key);
            affix_vault::UnboundStatement::for_action(
                tenant,
                Action::RegisterCredential,
                None,
                digest,
                now,
                args.lifetime_ms,
            )?
        }
        "grant" => {
            let key = need_key();
            let grant = GrantRecord {
                key,
                grantee: args
                    .grantee
                    .unwrap_or_else(|| usage_error("grant needs --grantee")),
                not_after_ms: args
                    .not_after_ms
                    .unwrap_or_else(|| usage_error("grant needs --not-after-ms")),
                max_uses: args.max_uses,
                created_ms: args.created_ms.unwrap_or(now),
                purpose: args.purpose.clone(),
            };
            let digest = Sha256::digest(grant.encode()?).into();
            affix_vault::UnboundStatement::for_action(
                tenant,
                Action::Grant,
                Some(key),
                digest,
                now,
                args.lifetime_ms,
            )?
        }
        other => usage_error(&format!(
            "unknown --action {other:?}; expected sign, disable, grant or register-credential"
        )),
    };
    let authorization = device.key()?.authorize(statement);
    println!(
        "{}",
        serde_json::to_string(&AuthorizationJson::from(&authorization))?
    );
    Ok(())
}

fn rotate(args: &RotateArgs) -> Result<()> {
    let dir = &args.vault.dir;
    let mut sources = Vec::new();
    if let Some(p) = &args.to_master_file {
        sources.push(MasterSource::File(p.clone()));
    }
    if let Some(env) = &args.to_passphrase_env {
        let header = args
            .to_passphrase_header
            .clone()
            .unwrap_or_else(|| dir.join("master.passphrase"));
        if args.vault.master.passphrase_env.is_some()
            && args.to_passphrase_header.is_none()
            && args.vault.master.passphrase_header.is_none()
        {
            usage_error(
                "the current master uses DIR/master.passphrase: give --to-passphrase-header",
            );
        }
        sources.push(MasterSource::Passphrase {
            env: env.clone(),
            header,
        });
    }
    match (
        &args.to_pkcs11_module,
        &args.to_pkcs11_token,
        &args.to_pkcs11_key,
        &args.to_pkcs11_pin_env,
    ) {
        (None, None, None, None) => {}
        (Some(module), Some(token), Some(key), Some(pin_env)) => {
            sources.push(MasterSource::Pkcs11 {
                module: module.clone(),
                token: token.clone(),
                key: key.clone(),
                pin_env: pin_env.clone(),
            });
        }
        _ => usage_error(
            "a PKCS#11 master key needs --to-pkcs11-module, --to-pkcs11-token, --to-pkcs11-key and --to-pkcs11-pin-env",
        ),
    }
    if sources.len() != 1 {
        usage_error(
            "choose one new master key: --to-master-file, --to-passphrase-env or --to-pkcs11-*",
        );
    }
    let target = sources.remove(0);
    let vault = open_vault(&args.vault)?;
    // Creating is skipped when the new key exists already: that is a resumed rotation.
    let create = args.create_master
        && match &target {
            MasterSource::File(p) => !p.exists(),
            _ => true,
        };
    let new_master = match (&target, create) {
        (
            MasterSource::Pkcs11 {
                module,
                token,
                key,
                pin_env,
            },
            true,
        ) => {
            let token = open_pkcs11(module, token, pin_env)?;
            match Pkcs11Master::find(&token, key) {
                Ok(m) => Arc::new(m) as Arc<dyn MasterKey>,
                Err(affix_seal::Error::KeyNotFound { .. }) => {
                    Arc::new(Pkcs11Master::generate(&token, key)?)
                }
                Err(e) => return Err(e.into()),
            }
        }
        (source, create) => open_or_create_master(source, create)?,
    };
    let new_id = new_master.id().to_string();
    let mut stderr = std::io::stderr().lock();
    let mut draw = |done: u64, total: u64| {
        const WIDTH: u64 = 30;
        let filled = (done.saturating_mul(WIDTH))
            .checked_div(total)
            .unwrap_or(WIDTH);
        let percent = (done.saturating_mul(100)).checked_div(total).unwrap_or(100);
        let bar: String = (0..WIDTH)
            .map(|i| if i < filled { '#' } else { '.' })
            .collect();
        // A failed write to the terminal must not stop the rotation.
        let _ = write!(stderr, "\r[{bar}] {percent:3}% {done}/{total} keys");
        let _ = stderr.flush();
    };
    let report = affix_vault::rotation::rotate(&vault, new_master, now_ms(), &mut draw);
    eprintln!();
    let report = report.context("rotation stopped (run the same command again to resume)")?;
    println!(
        "rotated to master {new_id}: {} of {} keys and {} of {} wallet seeds re-sealed in this run (KEK generation {}){}",
        report.resealed,
        report.total,
        report.wallets_resealed,
        report.wallets_total,
        report.generation,
        if report.resumed {
            ", resumed an interrupted rotation"
        } else {
            ""
        }
    );
    println!("open the vault with the new master key from now on");
    Ok(())
}

fn recover(cmd: RecoverCommand) -> Result<()> {
    use affix_vault::recovery::{Approval, IdentityCheck};
    match cmd {
        RecoverCommand::Start {
            vault,
            tenant,
            owner,
            provider,
            result_digest,
            device_out,
            export_seed,
        } => {
            if device_out.exists() {
                bail!(
                    "{} exists; refusing to overwrite a device key",
                    device_out.display()
                );
            }
            let v = open_vault(&vault)?;
            let device = DeviceKey::generate()?;
            let identity = IdentityCheck {
                provider,
                result_digest,
            };
            let now = now_ms();
            let id = match export_seed {
                None => v.start_recovery(
                    &tenant,
                    owner,
                    CredentialKind::Ed25519,
                    &device.public_key(),
                    &identity,
                    now,
                ),
                Some(wallet) => v.start_seed_export(
                    &tenant,
                    owner,
                    wallet,
                    CredentialKind::Ed25519,
                    &device.public_key(),
                    &identity,
                    now,
                ),
            }
            .context("starting the recovery")?;
            write_device_file(&device_out, &device, None, &tenant, owner)?;
            let config = vault_config(&vault.dir)?;
            println!("recovery {id}");
            println!(
                "window-ends {}",
                affix_evidence::UnixMillis(now.saturating_add(config.recovery.window_ms))
                    .to_rfc3339()
            );
            println!(
                "device {} (pending until the recovery completes)",
                device_out.display()
            );
            Ok(())
        }
        RecoverCommand::Approve {
            vault,
            tenant,
            owner,
            id,
            platform,
            authority,
            code_env,
            approver_key,
            signature,
        } => {
            let v = open_vault(&vault)?;
            let approval = if let Some(var) = code_env {
                Approval::RecoveryCode(secret_env(&var)?.to_string())
            } else {
                let recovery = v.recovery(&tenant, owner, id)?;
                let message = recovery.approval_message(&tenant, id);
                let signature = match (approver_key, signature) {
                    (Some(path), None) => {
                        use approver::sign_with_seed;
                        sign_with_seed(&*read_approver_key(&path)?, &message)
                    }
                    (None, Some(hex_sig)) => {
                        hex::decode(hex_sig).context("--signature: not hex")?
                    }
                    _ => usage_error("give --approver-key FILE or --signature HEX"),
                };
                match (platform, authority) {
                    (true, None) => Approval::Platform { signature },
                    (false, Some(name)) => Approval::Authority { name, signature },
                    _ => usage_error(
                        "approve as --platform, --authority NAME or with --code-env VAR",
                    ),
                }
            };
            v.approve_recovery(&tenant, owner, id, approval, now_ms())
                .context("approval refused")?;
            let recovery = v.recovery(&tenant, owner, id)?;
            println!("approved: {} of 2 approvals", recovery.approval_count());
            Ok(())
        }
        RecoverCommand::Cancel { vault, id, device } => {
            let device = read_device_file(&device)?;
            let v = open_vault(&vault)?;
            let now = now_ms();
            let statement = affix_vault::UnboundStatement::for_action(
                &device.tenant,
                Action::CancelRecovery,
                None,
                Sha256::digest(id.0).into(),
                now,
                AUTHORIZATION_LIFETIME_MS,
            )?;
            let authorization = device.key()?.authorize(statement);
            v.cancel_recovery(&device.tenant, device.owner, id, &authorization, now)
                .context("cancelling refused")?;
            println!("cancelled {id}");
            Ok(())
        }
        RecoverCommand::Complete {
            vault,
            tenant,
            owner,
            id,
            device,
            device_out,
        } => {
            let v = open_vault(&vault)?;
            let recovery = v.recovery(&tenant, owner, id)?;
            if let affix_vault::recovery::Purpose::ExportSeed { wallet } = recovery.purpose {
                let Some(device) = device else {
                    usage_error("a seed export completes with --device (the recipient key file)");
                };
                let pending = read_device_file(&device)?;
                let key = DeviceKey::from_seed(&pending.seed);
                if key.public_key().as_slice() != recovery.public_key.as_slice() {
                    bail!("the device file is not this export's recipient key");
                }
                let now = now_ms();
                let statement = affix_vault::UnboundStatement::for_action(
                    &tenant,
                    Action::ExportSeed,
                    None,
                    affix_vault::seed_export_digest(id, wallet),
                    now,
                    AUTHORIZATION_LIFETIME_MS,
                )?;
                let exported = v
                    .complete_seed_export(&tenant, owner, id, &key.authorize(statement), now)
                    .context("completing refused")?;
                println!("wallet {wallet}");
                println!("mnemonic {}", exported.mnemonic.as_str());
                println!("evidence-leaf {}", exported.evidence_leaf);
                eprintln!(
                    "The mnemonic is shown once: whoever holds it controls the wallet's keys \
                     on every chain."
                );
                return Ok(());
            }
            let pending = match (&device, &device_out) {
                (Some(d), Some(out)) => {
                    if out.exists() {
                        bail!(
                            "{} exists; refusing to overwrite a device key",
                            out.display()
                        );
                    }
                    Some(read_device_file(d)?)
                }
                (None, None) => None,
                _ => usage_error("give both --device and --device-out, or neither"),
            };
            if let Some(p) = &pending {
                let key = DeviceKey::from_seed(&p.seed);
                if key.public_key().as_slice() != recovery.public_key.as_slice() {
                    bail!("the device file is not the one this recovery registers");
                }
            }
            let credential = v
                .complete_recovery(&tenant, owner, id, now_ms())
                .context("completing refused")?;
            println!("credential {credential}");
            if let (Some(p), Some(out)) = (pending, device_out) {
                let key = DeviceKey::from_seed(&p.seed);
                write_device_file(&out, &key, Some(credential), &tenant, owner)?;
                println!("device {}", out.display());
            }
            Ok(())
        }
        RecoverCommand::ApproverKey { out } => {
            let mut seed = Zeroizing::new([0u8; 32]);
            getrandom::fill(seed.as_mut()).map_err(|e| anyhow!("random generator: {e}"))?;
            let text = Zeroizing::new(format!(
                "{APPROVER_HEADER}\nseed {}\n",
                Zeroizing::new(hex::encode(*seed)).as_str()
            ));
            write_new_secret(&out, text.as_bytes())?;
            println!("public-key {}", hex::encode(approver::public_key(&seed)));
            Ok(())
        }
    }
}

fn wallet(cmd: WalletCommand) -> Result<()> {
    match cmd {
        WalletCommand::Create {
            vault,
            tenant,
            owner,
            words,
        } => {
            let v = open_vault(&vault)?;
            let info = v
                .create_wallet(&tenant, owner, words, now_ms())
                .context("creating the wallet")?;
            // Printed only now: the wallet is durable (store and evidence outbox).
            println!("wallet {}", info.id);
            println!("words {}", info.words);
            if let Some(leaf) = info.evidence_leaf {
                println!("evidence-leaf {leaf}");
            }
            Ok(())
        }
        WalletCommand::Address {
            vault,
            tenant,
            wallet,
            chain,
            index,
        } => {
            let v = open_vault(&vault)?;
            let address = v.wallet_address(&tenant, &wallet, chain, index)?;
            println!("chain {}", chain.name());
            println!("path {}", address.path);
            println!("address {}", address.address);
            println!("public-key {}", hex::encode(&address.public_key));
            Ok(())
        }
        WalletCommand::Sign {
            vault,
            wallet,
            device,
            chain,
            index,
            message,
            input,
            hash,
        } => {
            let device = read_device_file(&device)?;
            let message = match (message, input) {
                (Some(text), None) => Some(text.into_bytes()),
                (None, Some(path)) => Some(
                    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?,
                ),
                _ => None,
            };
            let payload = match (chain, message, hash) {
                (WalletChain::Ethereum, Some(m), None) => WalletPayload::EthereumMessage(m),
                (WalletChain::Ethereum, None, Some(h)) => WalletPayload::EthereumHash(h),
                (WalletChain::Ed25519, Some(m), None) => WalletPayload::Ed25519Message(m),
                (WalletChain::Ethereum, _, _) => {
                    usage_error("give --message TEXT, --in FILE or --hash HEX")
                }
                (WalletChain::Ed25519, _, _) => {
                    usage_error("ed25519 signs messages: give --message TEXT or --in FILE")
                }
                _ => usage_error("wallet keys sign for --chain ethereum or ed25519"),
            };
            let v = open_vault(&vault)?;
            let now = now_ms();
            let statement = affix_vault::UnboundStatement::for_wallet_signing(
                &device.tenant,
                wallet,
                index,
                &payload,
                now,
                AUTHORIZATION_LIFETIME_MS,
            )?;
            let authorization = device.key()?.authorize(statement);
            let signed = v
                .wallet_sign(
                    &WalletSignRequest {
                        tenant: device.tenant.clone(),
                        wallet,
                        index,
                        payload,
                        authorization,
                    },
                    now,
                )
                .context("signing refused")?;
            println!("signature {}", hex::encode(&signed.signature));
            println!("address {}", signed.address.address);
            println!("path {}", signed.address.path);
            println!("evidence-leaf {}", signed.evidence_leaf);
            Ok(())
        }
        WalletCommand::Audit {
            vault,
            tenant,
            wallet,
        } => {
            let v = open_vault(&vault)?;
            let mut out = std::io::stdout().lock();
            print_audit(&mut out, &v.audit_wallet(&tenant, &wallet, usize::MAX)?)?;
            out.flush()?;
            Ok(())
        }
    }
}

const APPROVER_HEADER: &str = "affix-vault-approver v1";

fn read_approver_key(path: &Path) -> Result<Zeroizing<[u8; 32]>> {
    let text = Zeroizing::new(read_small(path)?);
    let bad = || anyhow!("{} is not an approver key file", path.display());
    let mut lines = text.lines();
    if lines.next() != Some(APPROVER_HEADER) {
        return Err(bad());
    }
    let seed_hex = lines
        .next()
        .and_then(|l| l.strip_prefix("seed "))
        .ok_or_else(bad)?;
    let mut seed = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(seed_hex, seed.as_mut()).map_err(|_| bad())?;
    Ok(seed)
}

/// The approver's side (platform or authority) of a recovery approval: an Ed25519
/// signature over `affix_vault::recovery::approval_message`, as the CLI plays it.
mod approver {
    /// Signs `message` with the Ed25519 key of `seed`.
    pub(super) fn sign_with_seed(seed: &[u8; 32], message: &[u8]) -> Vec<u8> {
        use ed25519_dalek::Signer as _;
        ed25519_dalek::SigningKey::from_bytes(seed)
            .sign(message)
            .to_bytes()
            .to_vec()
    }

    /// The public key of `seed`.
    pub(super) fn public_key(seed: &[u8; 32]) -> [u8; 32] {
        ed25519_dalek::SigningKey::from_bytes(seed)
            .verifying_key()
            .to_bytes()
    }
}

// ------------------------------------------------------------------------ device files

/// An owner's device as the CLI keeps it.
pub(crate) struct DeviceFile {
    tenant: TenantId,
    owner: OwnerId,
    credential: Option<CredentialId>,
    seed: Zeroizing<[u8; 32]>,
}

impl DeviceFile {
    /// The device key, with its registered credential id.
    fn key(&self) -> Result<DeviceKey> {
        let credential = self.credential.ok_or_else(|| {
            anyhow!("the device key is not registered yet (no credential id; pass --credential)")
        })?;
        let mut key = DeviceKey::from_seed(&self.seed);
        key.credential = Some(credential);
        Ok(key)
    }
}

const DEVICE_HEADER: &str = "affix-vault-device v1";

fn write_device_file(
    path: &Path,
    device: &DeviceKey,
    credential: Option<CredentialId>,
    tenant: &TenantId,
    owner: OwnerId,
) -> Result<()> {
    let credential = credential.map_or_else(|| "none".to_owned(), |c| c.to_string());
    let text = Zeroizing::new(format!(
        "{DEVICE_HEADER}\ntenant {tenant}\nowner {owner}\ncredential {credential}\nseed {}\n",
        Zeroizing::new(hex::encode(*device.seed())).as_str()
    ));
    write_new_secret(path, text.as_bytes())
}

fn read_device_file(path: &Path) -> Result<DeviceFile> {
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if meta.permissions().mode() & 0o077 != 0 {
        bail!(
            "{} may be read by group or others; a device key must be private (chmod 600)",
            path.display()
        );
    }
    let text = Zeroizing::new(read_small(path)?);
    let bad = |what: &str| anyhow!("{} is not a device-key file: {what}", path.display());
    let mut lines = text.lines();
    if lines.next() != Some(DEVICE_HEADER) {
        return Err(bad("missing `affix-vault-device v1` header"));
    }
    let mut field = |name: &str| {
        lines
            .next()
            .and_then(|l| l.strip_prefix(name))
            .and_then(|l| l.strip_prefix(' '))
            .ok_or_else(|| bad("expected lines tenant, owner, credential, seed"))
    };
    let tenant = TenantId::new(field("tenant")?).map_err(|_| bad("tenant"))?;
    let owner = OwnerId::parse(field("owner")?).map_err(|_| bad("owner"))?;
    let credential = match field("credential")? {
        "none" => None,
        c => Some(CredentialId::parse(c).map_err(|_| bad("credential"))?),
    };
    let mut seed = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(field("seed")?, seed.as_mut()).map_err(|_| bad("seed"))?;
    Ok(DeviceFile {
        tenant,
        owner,
        credential,
        seed,
    })
}

/// Writes a new file readable by its owner only; never overwrites.
fn write_new_secret(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {} (never overwritten)", path.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

fn read_small(path: &Path) -> Result<String> {
    let f = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut text = String::new();
    f.take(SMALL_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("reading {}", path.display()))?;
    if text.len() as u64 > SMALL_FILE_BYTES {
        bail!("{} is larger than {SMALL_FILE_BYTES} bytes", path.display());
    }
    Ok(text)
}

// ------------------------------------------------------------------------ parsing

/// Milliseconds since the Unix epoch: the CLI's one clock.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn parse_tenant(s: &str) -> Result<TenantId, String> {
    TenantId::new(s).map_err(|e| e.to_string())
}

fn parse_owner(s: &str) -> Result<OwnerId, String> {
    OwnerId::parse(s).map_err(|e| e.to_string())
}

fn parse_key(s: &str) -> Result<KeyId, String> {
    KeyId::parse(s).map_err(|e| e.to_string())
}

fn parse_credential(s: &str) -> Result<CredentialId, String> {
    CredentialId::parse(s).map_err(|e| e.to_string())
}

fn parse_algorithm(s: &str) -> Result<Algorithm, String> {
    Algorithm::from_name(s).map_err(|e| e.to_string())
}

fn parse_wallet(s: &str) -> Result<WalletId, String> {
    WalletId::parse(s).map_err(|e| e.to_string())
}

fn parse_words(s: &str) -> Result<WordCount, String> {
    match s {
        "12" => Ok(WordCount::Words12),
        "24" => Ok(WordCount::Words24),
        _ => Err("expected 12 or 24".to_owned()),
    }
}

fn parse_chain(s: &str) -> Result<WalletChain, String> {
    WalletChain::from_name(s).map_err(|e| e.to_string())
}

fn parse_recovery(s: &str) -> Result<affix_vault::RecoveryId, String> {
    affix_vault::RecoveryId::parse(s).map_err(|e| e.to_string())
}

fn parse_digest(s: &str) -> Result<[u8; 32], String> {
    let mut d = [0u8; 32];
    hex::decode_to_slice(s, &mut d).map_err(|_| "expected 64 hex digits".to_owned())?;
    Ok(d)
}

/// `affix vault serve`: the vault API alone under `/v1`, tenants from the API-key file;
/// serves until killed; prints the address on stderr.
fn serve_http(
    vault: Arc<Vault>,
    api_keys: std::collections::HashMap<[u8; 32], TenantId>,
    listen: std::net::SocketAddr,
) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let app = affix_server::vault::standalone(vault, api_keys)?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        eprintln!("affix vault: http://{}", listener.local_addr()?);
        axum::serve(listener, app).await?;
        Ok(())
    })
}
