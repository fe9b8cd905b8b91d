//! `affix serve`: the signing platform (HTTP API) in this process.

use std::path::PathBuf;

use anyhow::Context as _;

/// Arguments of `affix serve`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// TOML configuration (the keys are listed at the top of
    /// crates/affix-platform/src/config.rs); AFFIX_* variables override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Listen address (default 127.0.0.1:8080).
    #[arg(long)]
    listen: Option<String>,
    /// Data directory (default ./affix-data).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

/// Runs the platform until interrupted.
pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    // The consensus engine logs every view at info; the platform's own info is what an
    // operator reads.
    crate::logging::init(
        "info,commonware_consensus=warn,commonware_p2p=warn,commonware_storage=warn,commonware_runtime=warn,commonware_broadcast=warn",
    );
    let mut config = affix_platform::Config::load(args.config.as_deref())?;
    if let Some(l) = &args.listen {
        config.listen = l.parse().with_context(|| format!("--listen {l:?}"))?;
    }
    if let Some(d) = args.data_dir {
        config.data_dir = d;
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

/// The database URL without its user information (a password may be in it).
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…@{}", &url[..s], &url[at + 1..]),
        _ => url.to_owned(),
    }
}
