//! `affix serve` (the platform), `affix verify-bundle` (offline check of an evidence
//! bundle) and `affix device keygen|sign` (a signer's device for HTTP clients).

use std::path::Path;

use anyhow::{Context as _, anyhow, bail};
use base64::Engine as _;

use crate::Failure;

/// `affix serve`.
pub(crate) fn serve(
    config: Option<&Path>,
    listen: Option<&str>,
    data_dir: Option<&Path>,
) -> anyhow::Result<()> {
    // The consensus engine logs every view at info; the platform's own info is what an
    // operator reads.
    let filter = tracing_subscriber::EnvFilter::try_from_env("AFFIX_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,commonware_consensus=warn,commonware_p2p=warn,commonware_storage=warn,commonware_runtime=warn,commonware_broadcast=warn")
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
    let mut config = affix_platform::Config::load(config)?;
    if let Some(l) = listen {
        config.listen = l.parse().with_context(|| format!("--listen {l:?}"))?;
    }
    if let Some(d) = data_dir {
        config.data_dir = d.to_owned();
    }
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let running = affix_server::start(config.clone()).await?;
        println!("Affix is serving at {}", running.url);
        println!("  data directory:  {}", config.data_dir.display());
        println!("  database:        {}", redact_url(&config.database_url()));
        println!(
            "  operator token:  {} (create tenants with it)",
            running.operator_token_file.display()
        );
        if let Some(outbox) = &running.outbox {
            println!(
                "  e-mail outbox:   {} (no SMTP relay configured: messages are written here, not sent)",
                outbox.display()
            );
        }
        println!("  API description: {}/openapi.json", running.url);
        tokio::select! {
            () = running.wait() => {}
            _ = tokio::signal::ctrl_c() => { println!("stopping"); }
        }
        Ok::<(), anyhow::Error>(())
    })
}

fn redact_url(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…@{}", &url[..s], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

/// `affix verify-bundle`.
pub(crate) fn verify_bundle(
    bundle: &Path,
    keys: Option<&Path>,
    ca: Option<&Path>,
) -> Result<(), Failure> {
    let bytes = std::fs::read(bundle)
        .with_context(|| format!("reading {}", bundle.display()))
        .map_err(Failure::Error)?;
    // A litigation bundle carries the loan note's evidence bundle inside it.
    let format = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v["format"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let litigation = format == affix_bundle::LITIGATION_FORMAT_V1
        || format == affix_bundle::LITIGATION_FORMAT_V2;
    let parsed: affix_bundle::Bundle = if litigation {
        serde_json::from_slice::<affix_bundle::LitigationBundle>(&bytes)
            .map(|l| l.contract)
            .map_err(|e| Failure::Verification(anyhow!("not a litigation bundle: {e}")))?
    } else {
        serde_json::from_slice(&bytes)
            .map_err(|e| Failure::Verification(anyhow!("not an evidence bundle: {e}")))?
    };
    let keys_text = match keys {
        Some(p) => std::fs::read_to_string(p)
            .with_context(|| format!("reading {}", p.display()))
            .map_err(Failure::Error)?,
        None => {
            eprintln!(
                "warning: trusting the verifier keys inside the bundle; pass --keys with the consortium's published file"
            );
            parsed.ledger.verifier_keys.clone()
        }
    };
    let policy = affix_note::VerifierKeysFile::parse(&keys_text)
        .and_then(|f| f.trust_policy())
        .map_err(|e| Failure::Error(anyhow!("verifier keys: {e}")))?;
    let root_pem = match ca {
        Some(p) => std::fs::read(p)
            .with_context(|| format!("reading {}", p.display()))
            .map_err(Failure::Error)?,
        None => {
            eprintln!(
                "warning: trusting the CA root inside the bundle; pass --ca with the CA's published root"
            );
            parsed.certificates.root.clone().into_bytes()
        }
    };
    let root = {
        use der::DecodePem as _;
        // Tolerate surrounding whitespace (a PEM saved by a shell pipeline often ends
        // in a blank line).
        let trimmed = String::from_utf8_lossy(&root_pem).trim().to_owned() + "\n";
        x509_cert::Certificate::from_pem(trimmed.as_bytes())
            .map_err(|e| Failure::Error(anyhow!("CA root: {e}")))?
    };
    let verified = if litigation {
        let loan = affix_bundle::verify_litigation(&bytes, &policy, &[root])
            .map_err(|e| Failure::Verification(anyhow!("{e}")))?;
        println!(
            "litigation bundle verified: {} loan events replayed and proven, {} rule actions proven",
            loan.events, loan.actions
        );
        println!(
            "  loan:       outstanding CNY {}{}",
            loan.outstanding_yuan,
            if loan.settled { ", settled" } else { "" }
        );
        if loan.documents > 0 {
            println!(
                "  documents:  {} signed (receipts, addenda), each verified and matched to the step it backs",
                loan.documents
            );
        }
        loan.contract
    } else {
        affix_bundle::verify(&bytes, &policy, &[root])
            .map_err(|e| Failure::Verification(anyhow!("{e}")))?
    };
    println!("bundle verified: contract {}", verified.contract_id);
    println!("  status:     {:?}", verified.status);
    println!(
        "  events:     {} (each proven in the ledger; leaves {:?})",
        verified.events, verified.leaf_indices
    );
    for (subject, at) in &verified.signatures {
        let secs = at
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        println!("  signature:  {subject}, time-stamped at Unix {secs}");
    }
    Ok(())
}

const DEVICE_HEADER: &str = "affix-device v1";

/// `affix device keygen`: a signer's Ed25519 device key (mode 0600); prints the public
/// key in base64 for `device_public_key`.
pub(crate) fn device_keygen(out: &Path) -> anyhow::Result<()> {
    let mut seed = zeroize::Zeroizing::new([0u8; 32]);
    getrandom::fill(seed.as_mut()).map_err(|e| anyhow!("randomness: {e}"))?;
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    crate::consortium::write_secret(
        out,
        &format!("{DEVICE_HEADER}\n{}\n", hex::encode(seed.as_slice())),
    )?;
    println!(
        "{}",
        base64::engine::general_purpose::STANDARD.encode(key.verifying_key().to_bytes())
    );
    Ok(())
}

fn read_device(path: &Path) -> anyhow::Result<ed25519_dalek::SigningKey> {
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
    );
    let mut lines = text.lines();
    if lines.next() != Some(DEVICE_HEADER) {
        bail!("{} is not an affix device key", path.display());
    }
    let seed = zeroize::Zeroizing::new(
        hex::decode(lines.next().unwrap_or_default())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| anyhow!("{}: bad key line", path.display()))?,
    );
    Ok(ed25519_dalek::SigningKey::from_bytes(&seed))
}

/// `affix device sign`: signs a prepared statement (base64) and prints the signature
/// (base64) for `device_signature`. Prints what is being authorized first (stderr).
pub(crate) fn device_sign(key: &Path, statement: &str) -> anyhow::Result<()> {
    use ed25519_dalek::Signer as _;
    let key = read_device(key)?;
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
