//! `affix vault recover ...`: an owner who lost every authenticator regains access, or a
//! wallet seed is exported: identity re-verification, a notice to the owner, an
//! authority's approval and the platform's or the owner's recovery code's, a
//! cancellation window. Also the owner's recovery code (`set-code`, played by the
//! owner's device) and the approvers' key files.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use affix_vault::recovery::{Purpose, RecoveryCode, RecoveryNotice, RecoveryNotifier};
use affix_vault::{Action, CredentialKind, DeviceKey, OwnerId, TenantId, WalletId};
use anyhow::{Context as _, Result, anyhow, bail};
use clap::Subcommand;
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use super::master::{open_vault, secret_env};
use super::policy::vault_config;
use super::{
    AUTHORIZATION_LIFETIME_MS, VaultArgs, now_ms, parse_digest, parse_owner, parse_recovery,
    parse_tenant, parse_wallet, refuse_existing, usage_error,
};
use crate::cmd::device::file::{DeviceFile, VaultOwner};

/// The notice outbox in a vault directory: one JSON line per recovery start, for the
/// owner (docs/formats.md, "Recovery notice outbox").
pub(super) const NOTICE_OUTBOX_FILE: &str = "recovery-notices.jsonl";

/// `affix vault recover ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// The owner sets (or replaces) their offline recovery code: generated here, on the
    /// owner's side, printed once; the vault gets only its salted digest, authorized by
    /// the owner's device.
    SetCode {
        #[command(flatten)]
        vault: VaultArgs,
        /// The owner's registered device-key file (it signs the authorization).
        #[arg(long)]
        device: PathBuf,
    },
    /// Start a recovery after the owner's identity was re-verified: appends the owner's
    /// notice to DIR/recovery-notices.jsonl (for delivery to the owner; nothing starts
    /// if it cannot be written), writes the new (pending) device key and prints the
    /// recovery id.
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
    /// Record one party's approval: --authority NAME or --platform (signed with
    /// --approver-key FILE or given as --signature HEX), or the owner's --code-env VAR.
    /// Completion needs an authority and one of the other two.
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

/// Runs one `affix vault recover` command.
pub(super) fn run(command: Command) -> Result<()> {
    use affix_vault::recovery::{Approval, IdentityCheck};
    match command {
        Command::SetCode { vault, device } => set_code(&vault, &device),
        Command::Start {
            vault,
            tenant,
            owner,
            provider,
            result_digest,
            device_out,
            export_seed,
        } => {
            refuse_existing(&device_out)?;
            let v = open_vault(&vault)?;
            let device = DeviceFile::generate(Some(VaultOwner {
                tenant: tenant.clone(),
                owner,
                credential: None,
            }))?;
            let identity = IdentityCheck {
                provider,
                result_digest,
            };
            let now = now_ms();
            let notifier = NoticeOutbox(vault.dir.join(NOTICE_OUTBOX_FILE));
            let id = match export_seed {
                None => v.start_recovery(
                    &tenant,
                    owner,
                    CredentialKind::Ed25519,
                    &device.public_key(),
                    &identity,
                    &notifier,
                    now,
                ),
                Some(wallet) => v.start_seed_export(
                    &tenant,
                    owner,
                    wallet,
                    CredentialKind::Ed25519,
                    &device.public_key(),
                    &identity,
                    &notifier,
                    now,
                ),
            }
            .context("starting the recovery")?;
            device.write_new(&device_out)?;
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
            println!("owner-notice {}", notifier.0.display());
            Ok(())
        }
        Command::Approve {
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
                    (Some(path), None) => ApproverKey::read(&path)?.sign(&message),
                    (None, Some(hex_sig)) => {
                        hex::decode(hex_sig).context("--signature: not hex")?
                    }
                    _ => usage_error("give --approver-key FILE or --signature HEX"),
                };
                match (platform, authority) {
                    (true, None) => Approval::Platform { signature },
                    (false, Some(name)) => Approval::Authority { name, signature },
                    _ => usage_error(
                        "approve as --authority NAME, --platform or with --code-env VAR",
                    ),
                }
            };
            v.approve_recovery(&tenant, owner, id, approval, now_ms())
                .context("approval refused")?;
            let recovery = v.recovery(&tenant, owner, id)?;
            let parties: Vec<&str> = recovery.parties().iter().map(|p| p.name()).collect();
            println!("approved-by {}", parties.join(","));
            // The approvals alone, as if the window were over.
            match affix_vault::recovery::check_complete(&recovery, &config_of(&vault)?, u64::MAX) {
                Ok(()) => println!("approvals enough; complete once the window is over"),
                Err(e) => println!("approvals not enough: {e}"),
            }
            Ok(())
        }
        Command::Cancel { vault, id, device } => {
            let device = DeviceFile::read(&device)?;
            let owner = device.vault_owner()?.clone();
            let v = open_vault(&vault)?;
            let now = now_ms();
            let statement = affix_vault::UnboundStatement::for_action(
                &owner.tenant,
                Action::CancelRecovery,
                None,
                Sha256::digest(id.0).into(),
                now,
                AUTHORIZATION_LIFETIME_MS,
            )?;
            let authorization = device.vault_key()?.authorize(statement);
            v.cancel_recovery(&owner.tenant, owner.owner, id, &authorization, now)
                .context("cancelling refused")?;
            println!("cancelled {id}");
            Ok(())
        }
        Command::Complete {
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
                let pending = DeviceFile::read(&device)?;
                let key = DeviceKey::from_seed(pending.seed());
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
                    refuse_existing(out)?;
                    Some(DeviceFile::read(d)?)
                }
                (None, None) => None,
                _ => usage_error("give both --device and --device-out, or neither"),
            };
            if let Some(p) = &pending
                && p.public_key().as_slice() != recovery.public_key.as_slice()
            {
                bail!("the device file is not the one this recovery registers");
            }
            let credential = v
                .complete_recovery(&tenant, owner, id, now_ms())
                .context("completing refused")?;
            println!("credential {credential}");
            if let (Some(p), Some(out)) = (pending, device_out) {
                let registered = DeviceFile::from_seed(
                    p.seed(),
                    Some(VaultOwner {
                        tenant: tenant.clone(),
                        owner,
                        credential: Some(credential),
                    }),
                );
                registered.write_new(&out)?;
                println!("device {}", out.display());
            }
            Ok(())
        }
        Command::ApproverKey { out } => {
            let key = ApproverKey::generate()?;
            key.write_new(&out)?;
            println!("public-key {}", hex::encode(key.public_key()));
            Ok(())
        }
    }
}

/// The owner's recovery code, generated here (the command plays the owner's device):
/// only its salted digest reaches the vault, with the device's `set-recovery-code`
/// authorization; the code is printed once.
fn set_code(vault: &VaultArgs, device: &Path) -> Result<()> {
    let device = DeviceFile::read(device)?;
    let owner = device.vault_owner()?.clone();
    let key = device.vault_key()?;
    let v = open_vault(vault)?;
    let code = RecoveryCode::generate()?;
    let digest = code.digest()?;
    let now = now_ms();
    let statement = affix_vault::UnboundStatement::for_action(
        &owner.tenant,
        Action::SetRecoveryCode,
        None,
        digest.authorization_digest(),
        now,
        AUTHORIZATION_LIFETIME_MS,
    )?;
    v.set_recovery_code(
        &owner.tenant,
        owner.owner,
        &digest,
        &key.authorize(statement),
        now,
    )
    .context("setting the recovery code refused")?;
    println!("recovery-code {}", code.as_str());
    eprintln!(
        "The recovery code is shown once: keep it offline (paper). With an authority's \
         approval it can restore access if every device is lost; a new `set-code` replaces it."
    );
    Ok(())
}

/// The recovery policy the vault was opened with.
fn config_of(vault: &VaultArgs) -> Result<affix_vault::recovery::RecoveryPolicy> {
    Ok(vault_config(&vault.dir)?.recovery)
}

/// The command line's [`RecoveryNotifier`]: appends the owner's notice as one JSON line
/// to the vault directory's notice outbox (mode 0600, fsync'd before the recovery
/// starts), from which the operator's mailer delivers it to the owner. The platform's
/// notifier sends e-mail and SMS instead.
struct NoticeOutbox(PathBuf);

impl RecoveryNotifier for NoticeOutbox {
    fn recovery_started(
        &self,
        notice: &RecoveryNotice,
    ) -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let (purpose, wallet) = match notice.purpose {
            Purpose::ExportSeed { wallet } => ("export-seed", Some(wallet.to_string())),
            _ => ("bind-credential", None),
        };
        let mut line = serde_json::to_string(&serde_json::json!({
            "kind": "vault.recovery.started",
            "tenant": notice.tenant.as_str(),
            "owner": notice.owner.to_string(),
            "recovery": notice.recovery.to_string(),
            "purpose": purpose,
            "wallet": wallet,
            "new-key-sha256": hex::encode(notice.new_key_digest),
            "provider": notice.provider,
            "started": affix_evidence::UnixMillis(notice.started_ms).to_rfc3339(),
            "window-ends": affix_evidence::UnixMillis(notice.window_ends_ms).to_rfc3339(),
        }))?;
        line.push('\n');
        let created = !self.0.exists();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&self.0)?;
        f.write_all(line.as_bytes())?;
        f.sync_all()?;
        if created {
            affix_seal::secret_file::sync_parent(&self.0)?;
        }
        Ok(())
    }
}

/// An approver's (the platform's or an authority's) Ed25519 key for recovery approvals,
/// as the CLI keeps it: mode 0600, never overwritten (docs/formats.md, "Approver key
/// file"):
///
/// ```text
/// affix-vault-approver v1
/// seed <64 lowercase hex: the Ed25519 seed>
/// ```
struct ApproverKey(Zeroizing<[u8; 32]>);

/// First line of an approver key file.
const APPROVER_HEADER: &str = "affix-vault-approver v1";

/// Largest approver key file read.
const APPROVER_FILE_BYTES_MAX: usize = 4096;

impl ApproverKey {
    fn generate() -> Result<Self> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut()).map_err(|e| anyhow!("random generator: {e}"))?;
        Ok(Self(seed))
    }

    fn write_new(&self, path: &Path) -> Result<()> {
        let text = Zeroizing::new(format!(
            "{APPROVER_HEADER}\nseed {}\n",
            Zeroizing::new(hex::encode(*self.0)).as_str()
        ));
        affix_seal::secret_file::create_new(path, text.as_bytes())
            .with_context(|| format!("writing the approver key {}", path.display()))
    }

    fn read(path: &Path) -> Result<Self> {
        let bytes = affix_seal::secret_file::read_owner_only(path, APPROVER_FILE_BYTES_MAX)
            .with_context(|| format!("reading the approver key {}", path.display()))?;
        let bad = || anyhow!("{} is not an approver key file", path.display());
        let text = std::str::from_utf8(&bytes).map_err(|_| bad())?;
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
        Ok(Self(seed))
    }

    fn signing_key(&self) -> ed25519_dalek::SigningKey {
        ed25519_dalek::SigningKey::from_bytes(&self.0)
    }

    /// An Ed25519 signature over `message` (an approval message of
    /// `affix_vault::recovery`).
    fn sign(&self, message: &[u8]) -> Vec<u8> {
        use ed25519_dalek::Signer as _;
        self.signing_key().sign(message).to_bytes().to_vec()
    }

    fn public_key(&self) -> [u8; 32] {
        self.signing_key().verifying_key().to_bytes()
    }
}
