//! `affix device keygen|sign`: a signer's device for HTTP clients of the platform.
//!
//! `sign` is the reference authenticator: it decodes the vault authorization statement
//! it is asked to sign, shows what it authorizes, signs only `sign` statements unless
//! the user names another action (`--allow-action`), and, given the CMS signed
//! attributes of the prepared signature (`--attributes`), checks that they are what the
//! statement authorizes and shows the content, document and signature image digests,
//! the signing time and the certificate they bind.

use std::path::PathBuf;

use affix_vault::authz::{Action, Statement};
use anyhow::{Context as _, anyhow};
use base64::Engine as _;
use sha2::Digest as _;

pub(crate) mod file;

use crate::Failure;
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
    /// POST /v1/invite/sign/prepare); prints the `device_signature`. Shows on stderr
    /// what the statement authorizes first. Exit code 5: refused (an action not
    /// allowed, or signed attributes that do not match the statement).
    Sign {
        /// The device key file.
        #[arg(long)]
        key: PathBuf,
        /// The prepared signature's `signed_attributes` (base64): checked against the
        /// statement's digest and shown (content, document and image digests, signing
        /// time, certificate hash).
        #[arg(long, value_name = "BASE64")]
        attributes: Option<String>,
        /// Also sign statements for this action (e.g. `register-credential`, `grant`);
        /// only `sign` is signed without it. Repeatable.
        #[arg(long = "allow-action", value_name = "ACTION")]
        allow_actions: Vec<String>,
        /// The statement (base64).
        statement: String,
    },
}

/// Runs one `affix device` command.
pub(crate) fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::Keygen { out } => keygen(&out).map_err(Failure::from),
        Command::Sign {
            key,
            attributes,
            allow_actions,
            statement,
        } => sign(&key, &statement, attributes.as_deref(), &allow_actions),
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

/// `affix device sign`: decodes the statement, shows it, refuses what the user did not
/// allow, checks the signed attributes when given, then signs and prints the signature
/// (base64) for `device_signature`.
fn sign(
    key: &std::path::Path,
    statement: &str,
    attributes: Option<&str>,
    allow_actions: &[String],
) -> Result<(), Failure> {
    use ed25519_dalek::Signer as _;
    let allowed = allow_actions
        .iter()
        .map(|name| Action::from_name(name))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Failure::Error(anyhow!("--allow-action: {e}")))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(statement.trim())
        .context("the statement is not base64")?;
    let decoded = Statement::from_bytes(&bytes).map_err(|e| {
        Failure::Error(anyhow!(
            "this is not a vault authorization statement ({e}); refusing to sign it"
        ))
    })?;
    eprint!("{}", describe(&decoded));
    if decoded.action != Action::Sign && !allowed.contains(&decoded.action) {
        return Err(Failure::Refused(anyhow!(
            "the statement authorizes `{}`, not a signature; sign it only if you asked \
             for exactly this (--allow-action {})",
            decoded.action.name(),
            decoded.action.name()
        )));
    }
    match attributes {
        Some(attributes) => {
            let attributes = base64::engine::general_purpose::STANDARD
                .decode(attributes.trim())
                .context("--attributes is not base64")?;
            check_attributes(&decoded, &attributes)?;
        }
        None if decoded.action == Action::Sign => eprintln!(
            "  (signed attributes not checked: pass --attributes to see the document, \
             image and certificate this signature binds)"
        ),
        None => {}
    }
    let key = DeviceFile::read(key)?.signing_key();
    let signature = key.sign(&bytes);
    println!(
        "{}",
        base64::engine::general_purpose::STANDARD.encode(signature.to_bytes())
    );
    Ok(())
}

/// What a statement authorizes, one field a line.
fn describe(statement: &Statement) -> String {
    let none = || "none".to_owned();
    let expires = affix_time::UnixMillis(statement.expires_ms).to_rfc3339();
    let payload = match statement.payload_kind {
        0 => "none",
        1 => "message (the digest is its SHA-256)",
        2 => "prehash (the digest is signed as is)",
        _ => "unknown",
    };
    format!(
        "this statement authorizes:\n  action      {}\n  tenant      {}\n  key         {}\n  \
         payload     {payload}\n  digest      {}\n  grant       {}\n  expires     {expires}\n  \
         credential  {}\n",
        statement.action.name(),
        statement.tenant,
        statement.key.map_or_else(none, |k| k.to_string()),
        hex::encode(statement.digest),
        statement.grant.map_or_else(none, |g| g.to_string()),
        statement.credential,
    )
}

/// Checks that `attributes` are the message a `sign` statement authorizes (SHA-256 of
/// them is its digest) and shows what they bind.
fn check_attributes(statement: &Statement, attributes: &[u8]) -> Result<(), Failure> {
    if statement.action != Action::Sign || statement.payload_kind != 1 {
        return Err(Failure::Refused(anyhow!(
            "--attributes given, but the statement does not authorize signing a message"
        )));
    }
    let digest: [u8; 32] = sha2::Sha256::digest(attributes).into();
    if digest != statement.digest {
        return Err(Failure::Refused(anyhow!(
            "the signed attributes are not what the statement authorizes: their SHA-256 is \
             {}, the statement's digest {}",
            hex::encode(digest),
            hex::encode(statement.digest)
        )));
    }
    let view = affix_cms::SignedAttributesView::from_der(attributes)
        .map_err(|e| Failure::Refused(anyhow!("the signed attributes do not decode: {e}")))?;
    let absent = || "absent".to_owned();
    let signing_time = view.signing_time().map_or_else(absent, |t| {
        t.duration_since(std::time::UNIX_EPOCH).map_or_else(
            |_| "before 1970".to_owned(),
            |d| {
                affix_time::UnixMillis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
                    .to_rfc3339()
            },
        )
    });
    let certificate = view
        .signing_certificate_v2()
        .and_then(|v| v.certs.first())
        .map_or_else(absent, |id| hex::encode(id.cert_hash.as_bytes()));
    let affix = view.affix_attributes();
    eprintln!(
        "the signed attributes (their SHA-256 is the statement's digest) bind:\n  \
         content     {} (CMS message-digest)\n  document    {}\n  image       {}\n  \
         signed at   {signing_time}\n  certificate {certificate} (SHA-256)",
        hex::encode(view.message_digest()),
        affix.document_digest().map_or_else(absent, hex::encode),
        affix
            .signature_image_digest()
            .map_or_else(absent, hex::encode),
    );
    Ok(())
}
