//! The device-key file: a signer's Ed25519 device key, written by `affix device keygen`
//! and by `affix vault enroll|device-key|recover`, read by `affix device sign` and every
//! `affix vault` command that plays the owner's device.
//!
//! One format (docs/formats.md, "Device-key file"), mode 0600, never overwritten:
//!
//! ```text
//! affix-device v2
//! seed <64 lowercase hex: the Ed25519 seed>
//! tenant <tenant>            ┐ the vault owner the key belongs to:
//! owner <32 hex>             ┘ both lines or neither
//! credential <32 hex>        the credential id the vault registered (only after `owner`)
//! ```
//!
//! Each line ends in `\n`; nothing else may follow. The two formats it replaces stay
//! readable, so existing files keep working; they are never written again:
//! `affix-device v1` (the header, then the seed in hex) and `affix-vault-device v1`
//! (`tenant`, `owner`, `credential` — `none` before registration — and `seed` lines).

use std::path::Path;

use affix_vault::{CredentialId, DeviceKey, OwnerId, TenantId};
use anyhow::{Context as _, Result, anyhow};
use zeroize::Zeroizing;

/// First line of the format written.
const HEADER: &str = "affix-device v2";
/// First line of `affix device keygen`'s files before v2.
const LEGACY_DEVICE_HEADER: &str = "affix-device v1";
/// First line of `affix vault`'s device files before v2.
const LEGACY_VAULT_HEADER: &str = "affix-vault-device v1";

/// Largest device-key file read.
const DEVICE_FILE_BYTES_MAX: usize = 4096;

/// The vault owner a device key belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VaultOwner {
    /// The owner's tenant.
    pub(crate) tenant: TenantId,
    /// The owner.
    pub(crate) owner: OwnerId,
    /// The credential id the vault registered for the key, once it has.
    pub(crate) credential: Option<CredentialId>,
}

/// A device key as its file holds it.
pub(crate) struct DeviceFile {
    seed: Zeroizing<[u8; 32]>,
    vault: Option<VaultOwner>,
}

impl std::fmt::Debug for DeviceFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceFile")
            .field("vault", &self.vault)
            .finish_non_exhaustive()
    }
}

impl DeviceFile {
    /// A fresh key from the operating system's randomness.
    pub(crate) fn generate(vault: Option<VaultOwner>) -> Result<Self> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut()).map_err(|e| anyhow!("randomness: {e}"))?;
        Ok(Self { seed, vault })
    }

    /// The key of `seed`, for `vault`'s owner.
    pub(crate) fn from_seed(seed: &[u8; 32], vault: Option<VaultOwner>) -> Self {
        Self {
            seed: Zeroizing::new(*seed),
            vault,
        }
    }

    /// The Ed25519 seed.
    pub(crate) fn seed(&self) -> &[u8; 32] {
        &self.seed
    }

    /// The Ed25519 signing key.
    pub(crate) fn signing_key(&self) -> ed25519_dalek::SigningKey {
        ed25519_dalek::SigningKey::from_bytes(&self.seed)
    }

    /// The Ed25519 public key.
    pub(crate) fn public_key(&self) -> [u8; 32] {
        self.signing_key().verifying_key().to_bytes()
    }

    /// The vault owner, or an error for a key that belongs to none (one from
    /// `affix device keygen`).
    pub(crate) fn vault_owner(&self) -> Result<&VaultOwner> {
        self.vault.as_ref().ok_or_else(|| {
            anyhow!("this device key belongs to no vault owner (no tenant and owner lines)")
        })
    }

    /// Sets the credential id the vault registered for the key.
    pub(crate) fn set_credential(&mut self, credential: CredentialId) -> Result<()> {
        let owner = self.vault.as_mut().ok_or_else(|| {
            anyhow!("this device key belongs to no vault owner (no tenant and owner lines)")
        })?;
        owner.credential = Some(credential);
        Ok(())
    }

    /// The key as the vault's authorizations use it, with its registered credential id.
    pub(crate) fn vault_key(&self) -> Result<DeviceKey> {
        let credential = self.vault_owner()?.credential.ok_or_else(|| {
            anyhow!("the device key is not registered yet (no credential id; pass --credential)")
        })?;
        let mut key = DeviceKey::from_seed(&self.seed);
        key.credential = Some(credential);
        Ok(key)
    }

    /// The file's bytes (format v2).
    fn encode(&self) -> Zeroizing<String> {
        let mut text = Zeroizing::new(format!(
            "{HEADER}\nseed {}\n",
            Zeroizing::new(hex::encode(*self.seed)).as_str()
        ));
        if let Some(v) = &self.vault {
            text.push_str(&format!("tenant {}\nowner {}\n", v.tenant, v.owner));
            if let Some(c) = v.credential {
                text.push_str(&format!("credential {c}\n"));
            }
        }
        text
    }

    /// Writes a new file (mode 0600, never overwriting anything, fsync'd).
    pub(crate) fn write_new(&self, path: &Path) -> Result<()> {
        affix_seal::secret_file::create_new(path, self.encode().as_bytes())
            .with_context(|| format!("writing the device key {}", path.display()))
    }

    /// Reads a device-key file of any of the three formats; refuses one that group or
    /// others may access.
    pub(crate) fn read(path: &Path) -> Result<Self> {
        let bytes = affix_seal::secret_file::read_owner_only(path, DEVICE_FILE_BYTES_MAX)
            .with_context(|| format!("reading the device key {}", path.display()))?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| anyhow!("{} is not a device-key file: not UTF-8", path.display()))?;
        Self::parse(text)
            .map_err(|what| anyhow!("{} is not a device-key file: {what}", path.display()))
    }

    /// Parses the text of a file; the error says what is wrong (never the secret).
    fn parse(text: &str) -> Result<Self, &'static str> {
        let Some(body) = text.strip_suffix('\n') else {
            return Err("it does not end in a newline");
        };
        let mut lines = body.split('\n');
        let header = lines.next().unwrap_or_default();
        let lines: Vec<&str> = lines.collect();
        match header {
            HEADER => parse_v2(&lines),
            LEGACY_DEVICE_HEADER => match lines.as_slice() {
                [seed] => Ok(Self {
                    seed: parse_seed(seed)?,
                    vault: None,
                }),
                _ => Err("expected one seed line after `affix-device v1`"),
            },
            LEGACY_VAULT_HEADER => parse_legacy_vault(&lines),
            _ => Err("unknown header (expected `affix-device v2`)"),
        }
    }
}

fn parse_seed(hex_text: &str) -> Result<Zeroizing<[u8; 32]>, &'static str> {
    let mut seed = Zeroizing::new([0u8; 32]);
    if hex_text.len() != 64 || hex_text.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err("the seed is not 64 lowercase hex digits");
    }
    hex::decode_to_slice(hex_text, seed.as_mut())
        .map_err(|_| "the seed is not 64 lowercase hex digits")?;
    Ok(seed)
}

fn field<'a>(line: Option<&&'a str>, name: &str) -> Option<&'a str> {
    line.and_then(|l| l.strip_prefix(name))
        .and_then(|l| l.strip_prefix(' '))
}

fn parse_owner(tenant: &str, owner: &str) -> Result<(TenantId, OwnerId), &'static str> {
    Ok((
        TenantId::new(tenant).map_err(|_| "bad tenant")?,
        OwnerId::parse(owner).map_err(|_| "bad owner")?,
    ))
}

fn parse_v2(lines: &[&str]) -> Result<DeviceFile, &'static str> {
    let seed = parse_seed(field(lines.first(), "seed").ok_or("expected a seed line")?)?;
    let vault = match lines.len() {
        1 => None,
        3 | 4 => {
            let (tenant, owner) = parse_owner(
                field(lines.get(1), "tenant").ok_or("expected a tenant line after the seed")?,
                field(lines.get(2), "owner").ok_or("expected an owner line after the tenant")?,
            )?;
            let credential = match lines.get(3) {
                None => None,
                line => Some(
                    CredentialId::parse(
                        field(line, "credential").ok_or("expected a credential line")?,
                    )
                    .map_err(|_| "bad credential")?,
                ),
            };
            Some(VaultOwner {
                tenant,
                owner,
                credential,
            })
        }
        _ => return Err("expected seed, then tenant and owner, then credential"),
    };
    Ok(DeviceFile { seed, vault })
}

fn parse_legacy_vault(lines: &[&str]) -> Result<DeviceFile, &'static str> {
    if lines.len() != 4 {
        return Err("expected lines tenant, owner, credential, seed");
    }
    let (tenant, owner) = parse_owner(
        field(lines.first(), "tenant").ok_or("expected a tenant line")?,
        field(lines.get(1), "owner").ok_or("expected an owner line")?,
    )?;
    let credential = match field(lines.get(2), "credential").ok_or("expected a credential line")? {
        "none" => None,
        c => Some(CredentialId::parse(c).map_err(|_| "bad credential")?),
    };
    Ok(DeviceFile {
        seed: parse_seed(field(lines.get(3), "seed").ok_or("expected a seed line")?)?,
        vault: Some(VaultOwner {
            tenant,
            owner,
            credential,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const OWNER: &str = "00112233445566778899aabbccddeeff";
    const CREDENTIAL: &str = "ffeeddccbbaa99887766554433221100";

    fn owner(credential: Option<&str>) -> VaultOwner {
        VaultOwner {
            tenant: TenantId::new("acme").unwrap(),
            owner: OwnerId::parse(OWNER).unwrap(),
            credential: credential.map(|c| CredentialId::parse(c).unwrap()),
        }
    }

    #[test]
    fn writes_v2_byte_for_byte_and_reads_it_back() {
        let seed: [u8; 32] = core::array::from_fn(|i| u8::try_from(i).unwrap());
        let bare = DeviceFile::from_seed(&seed, None);
        assert_eq!(
            bare.encode().as_str(),
            format!("affix-device v2\nseed {SEED}\n")
        );
        let pending = DeviceFile::from_seed(&seed, Some(owner(None)));
        assert_eq!(
            pending.encode().as_str(),
            format!("affix-device v2\nseed {SEED}\ntenant acme\nowner {OWNER}\n")
        );
        let registered = DeviceFile::from_seed(&seed, Some(owner(Some(CREDENTIAL))));
        let text = registered.encode();
        assert_eq!(
            text.as_str(),
            format!(
                "affix-device v2\nseed {SEED}\ntenant acme\nowner {OWNER}\ncredential {CREDENTIAL}\n"
            )
        );
        for file in [bare, pending, registered] {
            let back = DeviceFile::parse(&file.encode()).unwrap();
            assert_eq!(back.seed(), &seed);
            assert_eq!(back.vault, file.vault);
        }
    }

    #[test]
    fn reads_both_earlier_formats() {
        let legacy = DeviceFile::parse(&format!("affix-device v1\n{SEED}\n")).unwrap();
        assert_eq!(hex::encode(legacy.seed()), SEED);
        assert!(legacy.vault.is_none());
        let vault = DeviceFile::parse(&format!(
            "affix-vault-device v1\ntenant acme\nowner {OWNER}\ncredential {CREDENTIAL}\nseed {SEED}\n"
        ))
        .unwrap();
        assert_eq!(vault.vault, Some(owner(Some(CREDENTIAL))));
        let unregistered = DeviceFile::parse(&format!(
            "affix-vault-device v1\ntenant acme\nowner {OWNER}\ncredential none\nseed {SEED}\n"
        ))
        .unwrap();
        assert_eq!(unregistered.vault, Some(owner(None)));
        assert!(unregistered.vault_key().is_err());
    }

    #[test]
    fn refuses_malformed_files_without_echoing_the_seed() {
        for text in [
            String::new(),
            format!("affix-device v2\nseed {SEED}"),
            format!("affix-device v3\nseed {SEED}\n"),
            format!("affix-device v2\nseed {}\n", SEED.to_uppercase()),
            format!("affix-device v2\nseed {}\n", &SEED[..62]),
            format!("affix-device v2\nseed {SEED}\ntenant acme\n"),
            format!("affix-device v2\nseed {SEED}\nowner {OWNER}\ntenant acme\n"),
            format!("affix-device v2\nseed {SEED}\ntenant acme\nowner {OWNER}\ncredential none\n"),
            format!("affix-device v2\nseed {SEED}\n\n"),
            format!("affix-device v1\nseed {SEED}\n"),
        ] {
            let error = DeviceFile::parse(&text).expect_err(&text);
            assert!(!error.contains(SEED), "{error}");
        }
    }
}
