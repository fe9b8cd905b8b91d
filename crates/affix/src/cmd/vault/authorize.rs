//! `affix vault authorize`: the owner's device, played from the command line — a JSON
//! authorization for the vault's HTTP API.

use std::path::PathBuf;

use affix_server::vault::AuthorizationJson;
use affix_vault::{Action, CredentialId, CredentialKind, GrantRecord, KeyId, Payload};
use anyhow::{Context as _, Result};
use clap::Args as ClapArgs;
use sha2::{Digest as _, Sha256};

use super::{
    AUTHORIZATION_LIFETIME_MS, now_ms, parse_credential, parse_digest, parse_key, usage_error,
};
use crate::cmd::device::file::DeviceFile;

/// Arguments of `affix vault authorize`.
#[derive(ClapArgs, Debug)]
pub(crate) struct Args {
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

/// Prints the authorization as JSON.
pub(super) fn run(args: &Args) -> Result<()> {
    let mut device = DeviceFile::read(&args.device)?;
    if let Some(c) = args.credential {
        device.set_credential(c)?;
    }
    let tenant = device.vault_owner()?.tenant.clone();
    let tenant = &tenant;
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
    let authorization = device.vault_key()?.authorize(statement);
    println!(
        "{}",
        serde_json::to_string(&AuthorizationJson::from(&authorization))?
    );
    Ok(())
}
