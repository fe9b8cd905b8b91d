//! `affix device keygen|sign`: a signer's device for HTTP clients of the platform.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use base64::Engine as _;

pub(crate) mod file;

use file::DeviceFile;

/// `affix device ...`.
#[derive(clap::Subcommand, Debug)]
pub(crate) enum Command {
    /// Generate an Ed25519 device key (mode 0600); prints its public key (base64), the
    /// `device_public_key` of the first identity check.
    Keygen {
        /// Where to write it (never overwritten).
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign a prepared vault authorization statement (base64, from
    /// POST /v1/invite/sign/prepare); prints the `device_signature`.
    Sign {
        /// The device key file.
        #[arg(long)]
        key: PathBuf,
        /// The statement (base64).
        statement: String,
    },
}

/// Runs one `affix device` command.
pub(crate) fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Keygen { out } => keygen(&out),
        Command::Sign { key, statement } => sign(&key, &statement),
    }
}

/// `affix device keygen`: prints the public key in base64 for `device_public_key`.
fn keygen(out: &std::path::Path) -> anyhow::Result<()> {
    let device = DeviceFile::generate(None)?;
    device.write_new(out)?;
    println!(
        "{}",
        base64::engine::general_purpose::STANDARD.encode(device.public_key())
    );
    Ok(())
}

/// `affix device sign`: signs a prepared statement (base64) and prints the signature
/// (base64) for `device_signature`. Prints what is being authorized first (stderr).
fn sign(key: &std::path::Path, statement: &str) -> anyhow::Result<()> {
    use ed25519_dalek::Signer as _;
    let key = DeviceFile::read(key)?.signing_key();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(statement.trim())
        .context("the statement is not base64")?;
    if !bytes.starts_with(affix_vault::authz::AUTHORIZATION_CONTEXT) {
        bail!("this is not a vault authorization statement; refusing to sign it");
    }
    eprintln!(
        "authorizing a vault signature ({} bytes statement)",
        bytes.len()
    );
    let signature = key.sign(&bytes);
    println!(
        "{}",
        base64::engine::general_purpose::STANDARD.encode(signature.to_bytes())
    );
    Ok(())
}
