//! `affix vault ...`: the key vault from the command line.
//!
//! An I/O shell around `affix-vault` and `affix-seal`: it reads master keys, device-key
//! files and the clock, and prints what the vault acknowledged. Every line `create`
//! prints is a key that is durable in the store and in the evidence log: the crash tests
//! rely on "printed = acknowledged".
//!
//! Files in a vault directory `DIR` (docs/formats.md, "Command-line key and policy
//! files"):
//!
//! | file | what |
//! |---|---|
//! | `vault.redb`, `evidence/` | the vault (`affix-vault`) |
//! | `master.passphrase` | Argon2id header of a passphrase master key (not secret) |
//! | `recovery.toml` | the recovery policy (window, platform and authority public keys) |
//! | `recovery-notices.jsonl` | the owner's notice of each recovery start, for delivery (0600) |
//!
//! Device-key files (written by `enroll`, `device-key` and `recover start` — for a seed
//! export, the recipient key) are the one device-key format of `affix device`
//! ([`crate::cmd::device::file`]): the vault's CLI plays the owner's device. Approver
//! keys (`recover approver-key`) are `affix-vault-approver v1` files.
//!
//! One module per command group: [`init`], [`enroll`] (and `device-key`), [`keys`]
//! (`create`, `sign`, `disable`, `show`), [`audit`], [`api`] (`serve`, `api-key`),
//! [`authorize`], [`rotate`], [`recover`], [`wallet`]; [`master`] opens master keys and
//! the vault, [`policy`] reads `recovery.toml`.

use std::io::Read as _;
use std::path::Path;

use affix_vault::{
    Algorithm, CredentialId, KeyId, OwnerId, TenantId, WalletChain, WalletId, WordCount,
};
use anyhow::{Context as _, Result, bail};
use clap::Subcommand;

pub(crate) mod api;
pub(crate) mod audit;
pub(crate) mod authorize;
pub(crate) mod enroll;
pub(crate) mod init;
pub(crate) mod keys;
pub(crate) mod master;
pub(crate) mod policy;
pub(crate) mod recover;
pub(crate) mod rotate;
pub(crate) mod wallet;

pub(crate) use master::VaultArgs;

/// Lifetime of the authorizations the CLI's device makes.
const AUTHORIZATION_LIFETIME_MS: u64 = 60_000;

/// Largest share, policy or API-key file read.
const SMALL_FILE_BYTES_MAX: usize = 64 * 1024;

/// The key vault: envelope-encrypted signing keys, used only with the owner's fresh
/// authorization, every use recorded in the vault's evidence log.
#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Create a vault in DIR with a new or existing master key.
    Init(init::Args),
    /// Enrol an owner's first authenticator (a device key) after the platform verified
    /// the owner's identity, or add a device for a new owner. Writes the device-key file.
    Enroll(enroll::Args),
    /// Create keys for an owner; prints `<key id> <algorithm> <public key hex>` per key,
    /// each line only once its batch is durable.
    Create(keys::CreateArgs),
    /// Sign a file (or a 32-byte digest) with a key, authorized by the owner's device.
    Sign(keys::SignArgs),
    /// Disable a key on its owner's authorization; it signs nothing more.
    Disable(keys::DisableArgs),
    /// Print every evidence record about a key.
    Audit(audit::Args),
    /// Print a key's public description.
    Show(keys::ShowArgs),
    /// Serve the vault's HTTP API (tenants authenticated by API keys).
    Serve(api::ServeArgs),
    /// Generate an API key for a tenant: appends its hash to FILE, prints the key once.
    ApiKey(api::ApiKeyArgs),
    /// Generate a device key for an owner without touching a vault (for HTTP clients:
    /// register its public key with POST /v1/owners/{owner}/credentials). Prints the
    /// public key.
    DeviceKey(enroll::DeviceKeyArgs),
    /// Play the owner's device: print a JSON authorization for the HTTP API.
    Authorize(authorize::Args),
    /// Re-seal every key under a new master key (resumable: after a crash, run the same
    /// command again with the same keys).
    Rotate(rotate::Args),
    /// Recover an owner who lost every authenticator: identity re-verification, a notice
    /// to the owner, an authority's approval and the platform's or the owner's recovery
    /// code's, a cancellation window. Also the owner's recovery code (`set-code`) and the
    /// one way a wallet seed leaves the vault (`recover start --export-seed WALLET`).
    #[command(subcommand)]
    Recover(recover::Command),
    /// HD wallets: a BIP-39 seed sealed in the vault; Ethereum, Bitcoin and Ed25519 keys
    /// derived from it sign on the owner's authorization.
    #[command(subcommand)]
    Wallet(wallet::Command),
}

/// Runs one `affix vault` command.
pub(crate) fn run(command: Command) -> Result<()> {
    match command {
        Command::Init(args) => init::run(&args),
        Command::Enroll(args) => enroll::run(&args),
        Command::Create(args) => keys::create(&args),
        Command::Sign(args) => keys::sign(&args),
        Command::Disable(args) => keys::disable(&args),
        Command::Audit(args) => audit::run(&args),
        Command::Show(args) => keys::show(&args),
        Command::Serve(args) => api::serve(&args),
        Command::ApiKey(args) => api::api_key(&args),
        Command::DeviceKey(args) => enroll::device_key(&args),
        Command::Authorize(args) => authorize::run(&args),
        Command::Rotate(args) => rotate::run(&args),
        Command::Recover(command) => recover::run(command),
        Command::Wallet(command) => wallet::run(command),
    }
}

/// Prints a usage error and exits with code 2, like clap does for its own.
fn usage_error(message: &str) -> ! {
    clap::Error::raw(
        clap::error::ErrorKind::ArgumentConflict,
        format!("{message}\n"),
    )
    .exit()
}

/// A small file that is not secret (policy, API-key hashes).
fn read_small(path: &Path) -> Result<String> {
    let f = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut text = String::new();
    f.take(SMALL_FILE_BYTES_MAX as u64 + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("reading {}", path.display()))?;
    if text.len() > SMALL_FILE_BYTES_MAX {
        bail!(
            "{} is larger than {SMALL_FILE_BYTES_MAX} bytes",
            path.display()
        );
    }
    Ok(text)
}

/// Refuses to go on if a device-key file would be overwritten (checked before the vault
/// registers anything, so nothing is registered for a file that cannot be written).
fn refuse_existing(device_out: &Path) -> Result<()> {
    if device_out.exists() {
        bail!(
            "{} exists; refusing to overwrite a device key",
            device_out.display()
        );
    }
    Ok(())
}

/// Milliseconds since the Unix epoch: the vault commands' one clock.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

// ------------------------------------------------------------------ argument parsers

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
