//! `affix devnet`: a local consortium (keys, genesis, node configurations) whose nodes
//! run as separate `affix node` processes on loopback until interrupted.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

/// Arguments of `affix devnet`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Number of authority nodes.
    #[arg(long, default_value_t = 4)]
    nodes: usize,
    /// Directory for the consortium (reused if it already holds one).
    #[arg(long)]
    dir: PathBuf,
    /// The ledger's origin.
    #[arg(long, default_value = "devnet.affix.local/ledger")]
    origin: String,
    /// Only write the configuration; start nothing.
    #[arg(long)]
    no_start: bool,
}

/// How long a node may take to answer its status after it was started.
const NODE_READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Writes (or reuses) the consortium and runs its nodes until interrupted.
pub(crate) fn run(args: &Args) -> Result<()> {
    let dir = &args.dir;
    let nodes: Vec<(PathBuf, String)> = affix_node::devnet::init(dir, args.nodes, &args.origin)?
        .into_iter()
        .map(|node| (node.config, node.url))
        .collect();
    println!("consortium:     {}", dir.join("genesis.toml").display());
    println!("verifier keys:  {}", dir.join("verifier-keys").display());
    println!("node URLs:      {}", dir.join("nodes").display());
    if args.no_start {
        return Ok(());
    }
    let mut children = Vec::new();
    for (config, url) in &nodes {
        children.push(spawn_node(config)?);
        println!(
            "started {url}  (log: {})",
            config.with_file_name("node.log").display()
        );
    }
    let runtime = tokio::runtime::Runtime::new()?;
    let client = reqwest::Client::new();
    for (_, url) in &nodes {
        let ready = runtime.block_on(wait_ready(&client, url, NODE_READY_TIMEOUT));
        if !ready {
            for c in &mut children {
                let _ = c.kill();
            }
            bail!("{url} did not come up; see its node.log");
        }
    }
    println!(
        "devnet running; submit with: affix submit --node {} FILE",
        nodes[0].1
    );
    println!("press Ctrl-C to stop");
    runtime.block_on(async {
        let mut sigterm =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = sigterm.recv() => {}
        }
        Ok::<(), std::io::Error>(())
    })?;
    for c in &mut children {
        let _ = c.kill();
        let _ = c.wait();
    }
    Ok(())
}

/// Starts `affix node` for a config, logging to `node.log` beside it.
fn spawn_node(config: &Path) -> Result<Child> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(config.with_file_name("node.log"))?;
    Command::new(std::env::current_exe()?)
        .arg("node")
        .arg("--config")
        .arg(config)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .context("starting affix node")
}

async fn wait_ready(client: &reqwest::Client, url: &str, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(r) = client.get(format!("{url}/v1/status")).send().await
            && r.status().is_success()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}
