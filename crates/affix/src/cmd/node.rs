//! `affix node`: one authority node of a consortium ledger.

use std::path::PathBuf;

use affix_node::config::NodeConfig;
use anyhow::Context as _;

/// Arguments of `affix node`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Node configuration file (see affix-node's config module; `affix devnet` writes them).
    #[arg(long)]
    config: PathBuf,
}

/// Runs the node until it stops.
pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    crate::logging::init("info");
    let config = NodeConfig::load(&args.config)
        .with_context(|| format!("loading {}", args.config.display()))?;
    eprintln!(
        "affix node {} of {}: http://{} (consensus on {})",
        config.name,
        config.genesis.origin(),
        config.http_listen,
        config.p2p_listen
    );
    affix_node::run::run(config)?;
    Ok(())
}
