//! `affix vault init`: a new vault with a new or existing master key.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use affix_seal::{MasterKey, ShamirMaster};
use affix_vault::{Vault, VaultConfig};
use anyhow::{Context as _, Result, bail};
use clap::Args as ClapArgs;

use super::master::{MasterArgs, MasterSource, open_or_create_master};
use super::policy::{RECOVERY_POLICY_FILE, RECOVERY_POLICY_TEMPLATE, vault_config};
use super::usage_error;

/// Arguments of `affix vault init`.
#[derive(ClapArgs, Debug)]
pub(crate) struct Args {
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

/// Creates the vault.
pub(super) fn run(args: &Args) -> Result<()> {
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
                affix_seal::secret_file::create_new(&path, text.as_bytes())?;
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
        affix_seal::secret_file::create_new(&policy, RECOVERY_POLICY_TEMPLATE.as_bytes())?;
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
