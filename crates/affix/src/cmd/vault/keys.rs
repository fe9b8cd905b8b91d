//! `affix vault create|sign|disable|show`: an owner's signing keys.

use std::io::Write as _;
use std::path::PathBuf;

use affix_vault::{Action, Algorithm, KeyId, OwnerId, Payload, SignRequest, TenantId};
use anyhow::{Context as _, Result, anyhow};
use clap::Args;
use sha2::{Digest as _, Sha256};

use super::master::open_vault;
use super::{
    AUTHORIZATION_LIFETIME_MS, VaultArgs, now_ms, parse_algorithm, parse_digest, parse_key,
    parse_owner, parse_tenant, usage_error,
};
use crate::cmd::device::file::DeviceFile;

/// Keys per `create_keys` call: each batch is one durable commit, then printed.
const CREATE_BATCH: u64 = 10_000;

/// Arguments of `affix vault create`.
#[derive(Args, Debug)]
pub(crate) struct CreateArgs {
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
}

/// Arguments of `affix vault sign`.
#[derive(Args, Debug)]
pub(crate) struct SignArgs {
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
}

/// Arguments of `affix vault disable`.
#[derive(Args, Debug)]
pub(crate) struct DisableArgs {
    #[command(flatten)]
    vault: VaultArgs,
    /// Key id.
    #[arg(long, value_parser = parse_key)]
    key: KeyId,
    /// The owner's device-key file.
    #[arg(long)]
    device: PathBuf,
}

/// Arguments of `affix vault show`.
#[derive(Args, Debug)]
pub(crate) struct ShowArgs {
    #[command(flatten)]
    vault: VaultArgs,
    /// Tenant.
    #[arg(long, value_parser = parse_tenant)]
    tenant: TenantId,
    /// Key id.
    #[arg(long, value_parser = parse_key)]
    key: KeyId,
}

/// Creates the keys in durable batches, printing each batch once it is durable; a
/// progress bar on a terminal.
pub(super) fn create(args: &CreateArgs) -> Result<()> {
    let vault = open_vault(&args.vault)?;
    let mut progress = crate::progress::Progress::new("create", args.count, "keys");
    let mut out = std::io::stdout().lock();
    let mut left = args.count;
    while left > 0 {
        let n = left.min(CREATE_BATCH);
        let requests = vec![(args.owner, args.algorithm); usize::try_from(n)?];
        let keys = vault
            .create_keys(&args.tenant, &requests, now_ms())
            .context("creating keys")?;
        // Printed only now: the batch is durable (evidence log and store, fsynced).
        for key in &keys {
            writeln!(
                out,
                "{} {} {}",
                key.id,
                args.algorithm.name(),
                hex::encode(&key.public_key)
            )?;
        }
        out.flush()?;
        progress.inc(n);
        left -= n;
    }
    progress.finish();
    Ok(())
}

/// Signs on the owner's authorization (made here, by the device file) and checks the
/// signature under the key's public key before printing it.
pub(super) fn sign(args: &SignArgs) -> Result<()> {
    let device = DeviceFile::read(&args.device)?;
    let tenant = device.vault_owner()?.tenant.clone();
    let payload = match (&args.input, args.prehash) {
        (Some(path), None) => Payload::Message(
            std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
        ),
        (None, Some(digest)) => Payload::Prehash(digest),
        _ => usage_error("give --in FILE or --prehash HEX"),
    };
    let vault = open_vault(&args.vault)?;
    let info = vault.key(&tenant, &args.key).context("signing refused")?;
    let now = now_ms();
    let statement = affix_vault::UnboundStatement::for_signing(
        &tenant,
        args.key,
        &payload,
        None,
        now,
        AUTHORIZATION_LIFETIME_MS,
    )?;
    let authorization = device.vault_key()?.authorize(statement);
    let signed = vault
        .sign(
            SignRequest {
                tenant,
                key: args.key,
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
    if let Some(path) = &args.out {
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

/// Disables the key on the owner's authorization.
pub(super) fn disable(args: &DisableArgs) -> Result<()> {
    let device = DeviceFile::read(&args.device)?;
    let tenant = &device.vault_owner()?.tenant;
    let vault = open_vault(&args.vault)?;
    let now = now_ms();
    let statement = affix_vault::UnboundStatement::for_action(
        tenant,
        Action::Disable,
        Some(args.key),
        Sha256::digest(args.key.0).into(),
        now,
        AUTHORIZATION_LIFETIME_MS,
    )?;
    let authorization = device.vault_key()?.authorize(statement);
    vault
        .disable(tenant, &args.key, &authorization, now)
        .context("disabling refused")?;
    println!("disabled {}", args.key);
    Ok(())
}

/// Prints the key's public description.
pub(super) fn show(args: &ShowArgs) -> Result<()> {
    let vault = open_vault(&args.vault)?;
    let info = vault.key(&args.tenant, &args.key)?;
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
