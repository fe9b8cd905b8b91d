//! `affix vault rotate`: every key and wallet seed re-sealed under a new master key,
//! resumable after a crash.

use std::path::PathBuf;
use std::sync::Arc;

use affix_seal::{MasterKey, Pkcs11Master};
use anyhow::{Context as _, Result};
use clap::Args as ClapArgs;

use super::master::{MasterSource, open_or_create_master, open_pkcs11, open_vault};
use super::{VaultArgs, now_ms, usage_error};

/// Arguments of `affix vault rotate`.
#[derive(ClapArgs, Debug)]
pub(crate) struct Args {
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

/// Re-seals every key and wallet seed under the new master key; a progress bar on a
/// terminal.
pub(super) fn run(args: &Args) -> Result<()> {
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
    let mut progress = crate::progress::Progress::new("rotate", 0, "keys");
    let mut draw = |done: u64, total: u64| {
        progress.set_total(total);
        progress.set(done);
    };
    let report = affix_vault::rotation::rotate(&vault, new_master, now_ms(), &mut draw);
    progress.finish();
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
