//! `affix vault serve` (the vault's HTTP API alone) and `affix vault api-key`.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use affix_vault::{TenantId, Vault};
use anyhow::{Context as _, Result, anyhow};
use clap::Args;
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use super::{VaultArgs, parse_tenant};

/// Arguments of `affix vault serve`.
#[derive(Args, Debug)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    vault: VaultArgs,
    /// Listen address.
    #[arg(long, default_value = "127.0.0.1:8700")]
    listen: std::net::SocketAddr,
    /// API-key file: `<SHA-256 of the key, hex> <tenant>` per line.
    #[arg(long)]
    api_keys: PathBuf,
}

/// Arguments of `affix vault api-key`.
#[derive(Args, Debug)]
pub(crate) struct ApiKeyArgs {
    /// Tenant.
    #[arg(long, value_parser = parse_tenant)]
    tenant: TenantId,
    /// API-key file (created with mode 0600 if missing).
    #[arg(long)]
    file: PathBuf,
}

/// Serves the vault API until killed.
pub(super) fn serve(args: &ServeArgs) -> Result<()> {
    let keys = read_api_keys(&args.api_keys)?;
    let vault = super::master::open_vault(&args.vault)?;
    serve_http(Arc::new(vault), keys, args.listen)
}

/// Appends a new key's hash to the API-key file and prints the key once. The file holds
/// hashes, not keys: it is appended to (mode 0600 when created), not written anew.
pub(super) fn api_key(args: &ApiKeyArgs) -> Result<()> {
    let (tenant, file) = (&args.tenant, &args.file);
    let mut secret = Zeroizing::new([0u8; 32]);
    getrandom::fill(secret.as_mut()).map_err(|e| anyhow!("random generator: {e}"))?;
    let key = Zeroizing::new(format!("avk_{}", hex::encode(*secret)));
    let line = format!("{} {tenant}\n", hex::encode(Sha256::digest(key.as_bytes())));
    let created = !file.exists();
    let mut f = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(file)
        .with_context(|| format!("opening {}", file.display()))?;
    f.write_all(line.as_bytes())?;
    f.sync_all()?;
    if created {
        affix_seal::secret_file::sync_parent(file)?;
    }
    eprintln!(
        "API key for tenant {tenant} (shown once; {} keeps only its hash):",
        file.display()
    );
    println!("{}", key.as_str());
    Ok(())
}

/// Reads an API-key file: `<SHA-256 hex> <tenant>` per line; `#` starts a comment.
fn read_api_keys(path: &Path) -> Result<HashMap<[u8; 32], TenantId>> {
    let text = super::read_small(path)?;
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

/// The vault API alone under `/v1`, tenants from the API-key file; serves until killed;
/// prints the address on stderr.
fn serve_http(
    vault: Arc<Vault>,
    api_keys: HashMap<[u8; 32], TenantId>,
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
