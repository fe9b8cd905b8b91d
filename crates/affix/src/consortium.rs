//! Consortium commands: `affix node`, `affix devnet`, `affix submit`, `affix mirror`.

use std::net::{SocketAddr, TcpListener};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use affix_node::config::NodeConfig;
use affix_note::{Origin, Receipt, TrustPolicy, VerifierKey};
use anyhow::{Context as _, Result, anyhow, bail};
use zeroize::Zeroizing;

use crate::keys::{self, Algorithm};

/// Roles given to the first devnet authorities, in order.
const DEVNET_ROLES: [(&str, &str); 4] = [
    ("operator", "operator"),
    ("notary", "notary"),
    ("arbitration", "arbitration"),
    ("appraisal", "appraisal"),
];

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

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
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

/// Writes a local consortium of `n` authorities under `dir` (unless one is there already):
/// keys, `genesis.toml`, one `node.toml` per authority, `verifier-keys` and `nodes`.
/// Returns the node config paths and HTTP URLs.
pub(crate) fn devnet_init(dir: &Path, n: usize, origin: &str) -> Result<Vec<(PathBuf, String)>> {
    let genesis_path = dir.join("genesis.toml");
    if !genesis_path.exists() {
        if !(1..=16).contains(&n) {
            bail!("a devnet has 1 to 16 nodes");
        }
        Origin::new(origin).context("invalid origin")?;
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut genesis = format!("# Affix devnet consortium\norigin = \"{origin}\"\n");
        for i in 0..n {
            let (name, role) = DEVNET_ROLES.get(i).map_or_else(
                || (format!("authority-{i}"), "other".to_owned()),
                |(n, r)| ((*n).to_owned(), (*r).to_owned()),
            );
            let node_dir = dir.join(&name);
            std::fs::create_dir_all(&node_dir)?;
            let mut seed = Zeroizing::new([0u8; 32]);
            getrandom::fill(seed.as_mut_slice()).map_err(|e| anyhow!("randomness: {e}"))?;
            write_secret(
                &node_dir.join("consensus.key"),
                &format!("{}\n", hex::encode(seed.as_slice())),
            )?;
            let consensus_public = affix_node::run::consensus_public_hex(&seed)?;
            let note_key =
                keys::generate(&format!("{name}.devnet.affix.local"), Algorithm::Ed25519)?;
            keys::write_key_file(&node_dir.join("note.key"), &note_key)?;
            let (p2p, http) = (free_port()?, free_port()?);
            genesis.push_str(&format!(
                "\n[[authority]]\nname = \"{name}\"\nrole = \"{role}\"\nconsensus_key = \"{consensus_public}\"\nnote_key = \"{}\"\np2p = \"127.0.0.1:{p2p}\"\nhttp = \"http://127.0.0.1:{http}\"\n",
                affix_note::NoteSigner::verifier_key(&note_key)
            ));
            std::fs::write(
                node_dir.join("node.toml"),
                format!(
                    "genesis = \"../genesis.toml\"\nname = \"{name}\"\nconsensus_key = \"consensus.key\"\nnote_key = \"note.key\"\ndata_dir = \"data\"\n"
                ),
            )?;
        }
        std::fs::write(&genesis_path, genesis)?;
    }
    let genesis = affix_ledger::Genesis::parse(&std::fs::read_to_string(&genesis_path)?)
        .with_context(|| format!("{}", genesis_path.display()))?;
    std::fs::write(dir.join("verifier-keys"), genesis.verifier_keys_file())?;
    let urls: Vec<String> = genesis
        .authorities()
        .iter()
        .map(|a| a.http.clone())
        .collect();
    std::fs::write(
        dir.join("nodes"),
        urls.iter().map(|u| format!("{u}\n")).collect::<String>(),
    )?;
    Ok(genesis
        .authorities()
        .iter()
        .map(|a| (dir.join(&a.name).join("node.toml"), a.http.clone()))
        .collect())
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
    let nodes = devnet_init(dir, n, origin)?;
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
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let keys = keys::read_verifier_keys(&[], &[path.to_owned()])?;
    let mut origin = None;
    let mut quorum = None;
    if let Some((o, tail)) = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("# Affix consortium "))
        .and_then(|rest| rest.split_once(": receipts need "))
    {
        origin = Some(o.to_owned());
        quorum = tail.split_whitespace().next().and_then(|k| k.parse().ok());
    }
    Ok((keys, origin, quorum))
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
    let policy = match keys_file {
        Some(path) => {
            let (keys, origin, quorum) = read_keys_file(path)?;
            let origin = origin.ok_or_else(|| {
                anyhow!("{} has no consortium header; cannot verify", path.display())
            })?;
            let quorum = quorum.unwrap_or(keys.len());
            Some(TrustPolicy::new(Origin::new(&origin)?, keys, quorum)?)
        }
        None => None,
    };
    let runtime = tokio::runtime::Runtime::new()?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    runtime.block_on(async {
        let body = affix_merkle::encode_bundle(&records).context("record too large")?;
        let mut accepted = None;
        let mut last_error = String::new();
        for node in nodes {
            let mut request = client
                .post(format!("{node}/v1/records/batch"))
                .body(body.clone());
            if let Some(p) = &policy {
                request = request.header("affix-expected-origin", p.origin().as_str());
            }
            match request.send().await {
                Ok(response) if response.status().is_success() => {
                    accepted = Some((node.clone(), response.json::<serde_json::Value>().await?));
                    break;
                }
                Ok(response) => {
                    let status = response.status();
                    last_error = format!(
                        "{node}: HTTP {status}: {}",
                        response.text().await.unwrap_or_default()
                    );
                    if status.is_client_error() {
                        bail!("{last_error}");
                    }
                }
                Err(e) => last_error = format!("{node}: {e}"),
            }
        }
        let (node, answer) =
            accepted.ok_or_else(|| anyhow!("no node accepted the records: {last_error}"))?;
        let hashes: Vec<String> = answer["records"]
            .as_array()
            .ok_or_else(|| anyhow!("unexpected answer from {node}"))?
            .iter()
            .map(|r| r["leaf_hash"].as_str().unwrap_or_default().to_owned())
            .collect();
        let deadline = Instant::now() + timeout;
        for (file, hash) in files.iter().zip(hashes) {
            let receipt = loop {
                if Instant::now() > deadline {
                    bail!("no receipt for {} within {timeout:?}", file.display());
                }
                let response = client
                    .get(format!("{node}/v1/receipts/{hash}?wait=10"))
                    .send()
                    .await?;
                if response.status() == reqwest::StatusCode::OK {
                    break response.bytes().await?.to_vec();
                }
            };
            let parsed = Receipt::parse(&receipt)?;
            if let Some(p) = &policy {
                parsed.verify(p).with_context(|| {
                    format!("the receipt for {} does not verify", file.display())
                })?;
            }
            let out = PathBuf::from(format!("{}.tlog-proof", file.display()));
            std::fs::write(&out, &receipt)?;
            println!("{}\tindex {}", out.display(), parsed.index);
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
        axum::serve(listener, affix_node::http::read_router(shared)).await?;
        Ok(())
    })
}
