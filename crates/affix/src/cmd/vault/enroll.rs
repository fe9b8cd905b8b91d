//! `affix vault enroll` (an owner's first device, registered in the vault) and
//! `affix vault device-key` (a device key for an HTTP client, no vault touched).

use std::path::PathBuf;

use affix_vault::{CredentialKind, OwnerId, TenantId};
use anyhow::{Context as _, Result};
use clap::Args as ClapArgs;

use super::{VaultArgs, now_ms, parse_owner, parse_tenant, refuse_existing};
use crate::cmd::device::file::{DeviceFile, VaultOwner};

/// Arguments of `affix vault enroll`.
#[derive(ClapArgs, Debug)]
pub(crate) struct Args {
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
}

/// Arguments of `affix vault device-key`.
#[derive(ClapArgs, Debug)]
pub(crate) struct DeviceKeyArgs {
    /// Tenant.
    #[arg(long, value_parser = parse_tenant)]
    tenant: TenantId,
    /// Owner id.
    #[arg(long, value_parser = parse_owner)]
    owner: OwnerId,
    /// Where to write the device key (mode 0600; never overwritten).
    #[arg(long)]
    out: PathBuf,
}

/// Registers a new device key for the owner and writes its file. It sets no recovery
/// code: that is the owner's (`affix vault recover set-code`, with this device).
pub(super) fn run(args: &Args) -> Result<()> {
    refuse_existing(&args.device_out)?;
    let vault = super::master::open_vault(&args.vault)?;
    let owner = match args.owner {
        Some(o) => o,
        None => OwnerId::random()?,
    };
    let mut device = DeviceFile::generate(Some(VaultOwner {
        tenant: args.tenant.clone(),
        owner,
        credential: None,
    }))?;
    let credential = vault
        .register_credential(
            &args.tenant,
            owner,
            CredentialKind::Ed25519,
            &device.public_key(),
            None,
            now_ms(),
        )
        .context("enrolling the device")?;
    device.set_credential(credential)?;
    device
        .write_new(&args.device_out)
        .with_context(|| format!("credential {credential} was registered, but"))?;
    println!("owner {owner}");
    println!("credential {credential}");
    println!("device {}", args.device_out.display());
    // The recovery code is the owner's: generated on their side, set with their device.
    eprintln!(
        "The owner can now set an offline recovery code with their device: \
         affix vault recover set-code --device {}",
        args.device_out.display()
    );
    Ok(())
}

/// Writes an unregistered device key for the owner and prints its public key.
pub(super) fn device_key(args: &DeviceKeyArgs) -> Result<()> {
    let device = DeviceFile::generate(Some(VaultOwner {
        tenant: args.tenant.clone(),
        owner: args.owner,
        credential: None,
    }))?;
    device.write_new(&args.out)?;
    println!("public-key {}", hex::encode(device.public_key()));
    println!("device {}", args.out.display());
    Ok(())
}
