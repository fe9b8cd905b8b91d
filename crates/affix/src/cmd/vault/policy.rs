//! `recovery.toml`: a vault's recovery policy (docs/formats.md, "Recovery policy"),
//! read whenever the command line opens the vault.

use std::path::Path;

use affix_vault::VaultConfig;
use affix_vault::recovery::RecoveryPolicy;
use anyhow::{Context as _, Result, anyhow};

/// The policy's file name in the vault directory.
pub(super) const RECOVERY_POLICY_FILE: &str = "recovery.toml";

/// What `affix vault init` writes: every setting commented out (the defaults apply).
pub(super) const RECOVERY_POLICY_TEMPLATE: &str = "\
# Recovery policy of this vault (read when the vault is opened).
# A recovery completes only with an authority's approval and one more: the platform's,
# or the owner's offline recovery code (which the owner sets with their device:
# affix vault recover set-code); and only after the cancellation window. With no
# authority listed, no recovery starts.
# window_ms = 172800000        # 48 h
# min_interval_ms = 86400000   # 24 h between two starts for one owner
# platform_key = \"<Ed25519 public key, 64 hex>\"   # affix vault recover approver-key
# [[authorities]]
# name = \"notary-office\"
# key = \"<Ed25519 public key, 64 hex>\"
";

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

/// The vault's settings: the recovery policy from DIR/recovery.toml, if present.
pub(super) fn vault_config(dir: &Path) -> Result<VaultConfig> {
    let mut config = VaultConfig::default();
    let path = dir.join(RECOVERY_POLICY_FILE);
    if path.exists() {
        config.recovery = read_recovery_policy(&path)?;
    }
    Ok(config)
}

fn read_recovery_policy(path: &Path) -> Result<RecoveryPolicy> {
    let text = super::read_small(path)?;
    let file: RecoveryPolicyFile =
        toml::from_str(&text).with_context(|| format!("reading {}", path.display()))?;
    let key = |hex_text: &str, what: &str| -> Result<[u8; 32]> {
        let mut k = [0u8; 32];
        hex::decode_to_slice(hex_text, &mut k)
            .map_err(|_| anyhow!("{}: {what} must be 64 hex digits", path.display()))?;
        Ok(k)
    };
    let defaults = RecoveryPolicy::default();
    Ok(RecoveryPolicy {
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
