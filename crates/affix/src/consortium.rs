//! Consortium commands: `affix node`, `affix devnet`, `affix submit`, `affix mirror`.

use std::net::SocketAddr;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use affix_node::client::LedgerClient;
use affix_node::config::NodeConfig;
use affix_note::{KEYS_FILE_BYTES_MAX, Origin, TrustPolicy, VerifierKey, VerifierKeysFile};
use anyhow::{Context as _, Result, anyhow, bail};

/// `affix node --config FILE`.
pub(crate) fn node(config: &Path) -> Result<()> {
    init_tracing();
    let config =
        NodeConfig::load(config).with_context(|| format!("loading {}", config.display()))?;
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

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("AFFIX_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

pub(crate) fn write_secret(path: &Path, text: &str) -> Result<()> {
    use std::io::Write as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

/// Starts `affix node` for a config, logging to `node.log` beside it.
pub(crate) fn spawn_node(config: &Path) -> Result<Child> {
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

/// `affix devnet`: writes (or reuses) a local consortium and runs its nodes as separate
/// processes until interrupted.
pub(crate) fn devnet(dir: &Path, n: usize, origin: &str, no_start: bool) -> Result<()> {
    let nodes: Vec<(PathBuf, String)> = affix_node::devnet::init(dir, n, origin)?
        .into_iter()
        .map(|node| (node.config, node.url))
        .collect();
    println!("consortium:     {}", dir.join("genesis.toml").display());
    println!("verifier keys:  {}", dir.join("verifier-keys").display());
    println!("node URLs:      {}", dir.join("nodes").display());
    if no_start {
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
        let ready = runtime.block_on(wait_ready(&client, url, Duration::from_secs(30)));
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

/// Reads a verifier keys file; its `# Affix consortium <origin>: receipts need <k> of ...`
/// header (written by nodes and devnet) supplies the origin and quorum defaults.
pub(crate) fn read_keys_file(
    path: &Path,
) -> Result<(Vec<VerifierKey>, Option<String>, Option<usize>)> {
    let text = read_keys_text(path)?;
    let file = VerifierKeysFile::parse(&text).with_context(|| format!("{}", path.display()))?;
    Ok((
        file.keys().to_vec(),
        file.origin().map(|o| o.as_str().to_owned()),
        file.quorum(),
    ))
}

fn read_keys_text(path: &Path) -> Result<String> {
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if meta.len() > KEYS_FILE_BYTES_MAX as u64 {
        bail!("{} is too large to be a verifier keys file", path.display());
    }
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// Without `--keys`: the keys file the first reachable node serves. That proves nothing
/// about who runs the node, only that its receipts are consistent with what it claims.
async fn keys_from_nodes(nodes: &[String]) -> Result<String> {
    let mut last_error = None;
    for node in nodes {
        match affix_node::client::dangerous_fetch_verifier_keys(node).await {
            Ok(text) => {
                eprintln!(
                    "affix: no --keys given: receipts are checked against the verifier keys {node} serves, which says nothing about who runs it; pass --keys FILE"
                );
                return Ok(text);
            }
            Err(e) => last_error = Some(e),
        }
    }
    Err(anyhow!(
        "no node served its verifier keys: {}",
        last_error.map_or_else(String::new, |e| e.to_string())
    ))
}

/// `affix submit`.
pub(crate) fn submit(
    nodes: &[String],
    files: &[PathBuf],
    raw: bool,
    kind: &str,
    timeout: Duration,
    keys_file: Option<&Path>,
) -> Result<()> {
    if nodes.is_empty() {
        bail!("give at least one --node URL");
    }
    let mut records = Vec::with_capacity(files.len());
    for file in files {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let record = if raw {
            bytes
        } else {
            document_record(&bytes, kind)?
        };
        records.push(record);
    }
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let keys_text = match keys_file {
            Some(path) => read_keys_text(path)?,
            None => keys_from_nodes(nodes).await?,
        };
        let client = LedgerClient::new(nodes.to_vec(), &keys_text)?;
        let submitted = client
            .submit_batch(&records)
            .await
            .context("submitting the records")?;
        let deadline = Instant::now() + timeout;
        for (file, s) in files.iter().zip(submitted) {
            let receipt = loop {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    bail!("no receipt for {} within {timeout:?}", file.display());
                }
                let wait = left.min(Duration::from_secs(10));
                if let Some(r) = client
                    .receipt(&s.leaf_hash, wait)
                    .await
                    .with_context(|| format!("fetching the receipt for {}", file.display()))?
                {
                    break r;
                }
            };
            let out = PathBuf::from(format!("{}.tlog-proof", file.display()));
            std::fs::write(&out, receipt.text())?;
            println!("{}\tindex {}", out.display(), receipt.index());
        }
        Ok(())
    })
}

fn document_record(content: &[u8], kind: &str) -> Result<Vec<u8>> {
    use affix_evidence::{DigestAlgorithm, EvidenceRecord, UnixMillis};
    let sha = DigestAlgorithm::Sha256.digest(content);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis();
    Ok(EvidenceRecord::builder(
        kind,
        &format!("doc-{}", hex::encode(&sha[..8])),
        UnixMillis(u64::try_from(now)?),
        "affix-cli",
    )
    .digest_value("document", DigestAlgorithm::Sha256, sha)
    .digest_of("document", DigestAlgorithm::Sm3, content)
    .metadata("document.bytes", &content.len().to_string())
    .build()?
    .encode())
}

/// `affix mirror`.
pub(crate) fn mirror(
    from: &[String],
    dir: &Path,
    keys_file: &Path,
    listen: SocketAddr,
    interval: Duration,
) -> Result<()> {
    init_tracing();
    if from.is_empty() {
        bail!("give at least one --from URL");
    }
    let (keys, origin, quorum) = read_keys_file(keys_file)?;
    let origin = origin
        .ok_or_else(|| anyhow!("{} has no consortium header (origin)", keys_file.display()))?;
    let quorum = quorum.unwrap_or(keys.len());
    let policy = TrustPolicy::new(Origin::new(&origin)?, keys, quorum)?;
    let keys_text = std::fs::read_to_string(keys_file)?;
    let mirror = affix_node::mirror::Mirror::open(dir, policy, keys_text, from.to_vec())?;
    let shared = affix_node::http::Shared::new(mirror);
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        eprintln!(
            "affix mirror of {origin}: serving http://{listen}, following {}",
            from.join(", ")
        );
        tokio::spawn(affix_node::mirror::follow(shared.clone(), interval));
        let serve = std::future::IntoFuture::into_future(axum::serve(
            listener,
            affix_node::http::read_router(shared.clone()),
        ));
        // A fatal error (a poisoned lock) stops the mirror: nothing may be served after it.
        let fatal = async {
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                if let Some(e) = shared.fatal() {
                    return e;
                }
            }
        };
        tokio::select! {
            served = serve => served?,
            e = fatal => bail!("mirror stopped: {e}"),
        }
        Ok(())
    })
}
