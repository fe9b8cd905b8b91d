//! Running a node: the tokio runtime, the authenticated p2p network with the
//! consortium's fixed peer set, the engine, and the HTTP server.
//!
//! [`run`] is what `affix node` calls; [`run_until`] is the same for a node inside a
//! larger process ([`crate::embedded`]): it stops when told, can take an already bound
//! HTTP listener, and reports readiness. Neither installs anything process-wide: no
//! signal handlers, no tracing subscriber (the caller's, if any, receives the node's
//! events), no panic hook, no `process::exit`. A panic inside the node's runtime ends
//! the node and is returned as [`Error::Fatal`].

use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use affix_ledger::Genesis;
use commonware_codec::DecodeExt as _;
use commonware_cryptography::{ChaCha20Poly1305, Signer as _, ed25519};
use commonware_p2p::authenticated::{self, lookup};
use commonware_p2p::{Address, AddressableManager as _};
use commonware_runtime::{Clock as _, Runner as _, Spawner as _, Supervisor as _, tokio};
use commonware_stream::cups::{self, Cups};
use commonware_stream::sake::{self, Sake};
use commonware_utils::NZUsize;
use commonware_utils::ordered::{Map, Set};

use crate::Error;
use crate::config::NodeConfig;
use crate::engine::{self, Channels, EngineConfig, PublicKey, Timing};
use crate::http::{Shared, node_router};
use crate::ledger::Ledger;

/// The consensus public keys of the genesis, as the engine's ordered set.
pub fn participants(genesis: &Genesis) -> Result<Set<PublicKey>, Error> {
    let keys = genesis
        .authorities()
        .iter()
        .map(|a| {
            PublicKey::decode(a.consensus_key.to_vec())
                .map_err(|_| Error::Config(format!("{}: invalid consensus key", a.name)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Set::from_iter_dedup(keys))
}

/// The consensus private key from its 32-byte seed.
pub fn consensus_key(seed: &[u8; 32]) -> Result<ed25519::PrivateKey, Error> {
    ed25519::PrivateKey::decode(seed.to_vec())
        .map_err(|_| Error::Config("invalid consensus key".into()))
}

/// The hex public key of a consensus seed (for genesis files).
pub fn consensus_public_hex(seed: &[u8; 32]) -> Result<String, Error> {
    Ok(hex::encode(consensus_key(seed)?.public_key().as_ref()))
}

/// How a node is run, beyond its configuration file.
#[derive(Default)]
pub struct RunOptions {
    /// Serve HTTP on this already bound listener instead of binding
    /// `NodeConfig::http_listen` (lets the caller pick a free port without a race).
    pub http_listener: Option<std::net::TcpListener>,
    /// Consensus timing.
    pub timing: Timing,
    /// Called once, on a runtime thread, when the HTTP API is listening and the engine
    /// has started, with the HTTP address.
    pub on_ready: Option<Box<dyn FnOnce(SocketAddr) + Send>>,
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("http_listener", &self.http_listener)
            .field("timing", &self.timing)
            .field("on_ready", &self.on_ready.is_some())
            .finish()
    }
}

/// Runs the node until a fatal error; blocks the calling thread.
pub fn run(config: NodeConfig) -> Result<(), Error> {
    run_until(config, RunOptions::default(), std::future::pending())
}

/// Runs the node on the calling thread until `stop` completes (then returns `Ok`, after
/// the node's tasks have ended and its files are closed) or a fatal error. Must not be
/// called from inside an async runtime: it starts its own.
pub fn run_until(
    config: NodeConfig,
    options: RunOptions,
    stop: impl Future<Output = ()>,
) -> Result<(), Error> {
    let signer = consensus_key(&config.consensus_seed)?;
    let me = signer.public_key();
    let participants = participants(&config.genesis)?;
    if !participants.iter().any(|p| *p == me) {
        return Err(Error::Config(format!(
            "the consensus key is not {}'s consensus_key in the genesis",
            config.name
        )));
    }
    let ledger = Ledger::open(
        config.genesis.clone(),
        &config.name,
        config.note_key,
        &config.data_dir,
    )?;
    let namespace = engine::namespace(&config.genesis.digest());
    let shared = Shared::new(ledger);
    let consensus_dir = config.data_dir.join("consensus");
    let book: Vec<(PublicKey, Address)> = config
        .genesis
        .authorities()
        .iter()
        .map(|a| {
            PublicKey::decode(a.consensus_key.to_vec())
                .map(|k| (k, Address::from(a.p2p)))
                .map_err(|_| Error::Config(format!("{}: invalid consensus key", a.name)))
        })
        .collect::<Result<_, _>>()?;
    let book: Map<PublicKey, Address> = book
        .try_into()
        .map_err(|_| Error::Config("duplicate consensus keys".into()))?;
    let n = u32::try_from(participants.len()).unwrap_or(u32::MAX);
    let http_listen = config.http_listen;
    let p2p_listen = config.p2p_listen;

    let executor = tokio::Runner::new(
        tokio::Config::new()
            .with_storage_directory(&consensus_dir)
            .with_worker_threads(2),
    );
    let RunOptions {
        http_listener,
        timing,
        on_ready,
    } = options;
    let started = std::panic::catch_unwind(AssertUnwindSafe(|| {
        executor.start(|context| async move {
            let mut p2p = lookup::Config::local(
                Cups::<_, ChaCha20Poly1305>::new(
                    Sake {
                        signer: signer.clone(),
                        synchrony_bound: Duration::from_secs(5),
                        max_handshake_age: Duration::from_secs(10),
                        version: sake::Version::V1,
                    },
                    cups::Version::V1,
                ),
                &[namespace.as_slice(), b"_P2P"].concat(),
                p2p_listen,
                authenticated::peer_set_limit(participants.iter(), &me),
                engine::max_message_size(n),
                NZUsize!(1024),
            );
            p2p.peer_connection_cooldown = Duration::from_millis(250);
            p2p.dial_frequency = Duration::from_millis(250);
            p2p.ping_frequency = Duration::from_secs(1);
            let (mut network, mut oracle) = lookup::Network::new(context.child("network"), p2p);
            let _ = oracle.track(0, book);
            let mut registered = engine::channel_quotas()
                .into_iter()
                .map(|(channel, quota)| network.register(channel, quota));
            let mut next = || {
                registered
                    .next()
                    .ok_or_else(|| Error::Fatal("channel registration".into()))
            };
            let channels = Channels {
                votes: next()?,
                certificates: next()?,
                resolver: next()?,
                broadcast: next()?,
                backfill: next()?,
                cosign: next()?,
                forward: next()?,
            };
            let _network = network.start();

            let listen_error =
                Error::io("listen on", std::path::Path::new(&http_listen.to_string()));
            let listener = match http_listener {
                Some(l) => l
                    .set_nonblocking(true)
                    .and_then(|()| ::tokio::net::TcpListener::from_std(l))
                    .map_err(listen_error)?,
                None => ::tokio::net::TcpListener::bind(http_listen)
                    .await
                    .map_err(listen_error)?,
            };
            let http_addr = listener.local_addr().unwrap_or(http_listen);
            let router = node_router(shared.clone());
            context.child("http").spawn(move |_| async move {
                if let Err(e) = axum::serve(listener, router).await {
                    tracing::error!(error = %e, "HTTP server stopped");
                }
            });
            tracing::info!(%http_addr, %p2p_listen, "node started");

            let handles = engine::start(
                context.child("engine"),
                shared.clone(),
                EngineConfig {
                    signer,
                    participants,
                    namespace,
                    partition_prefix: "affix".into(),
                    timing,
                    peer_provider: oracle.clone(),
                    blocker: oracle,
                },
                channels,
            )
            .await;
            if handles.is_empty() {
                return Err(Error::Fatal("the consensus engine did not start".into()));
            }
            if let Some(ready) = on_ready {
                ready(http_addr);
            }
            let fatal = async {
                loop {
                    context.sleep(Duration::from_millis(200)).await;
                    if let Some(e) = shared.fatal() {
                        return e;
                    }
                }
            };
            // Returning ends every task the runtime started; the runner waits for them.
            match futures::future::select(std::pin::pin!(stop), std::pin::pin!(fatal)).await {
                futures::future::Either::Left(((), _)) => {
                    tracing::info!(%http_addr, "node stopping");
                    Ok(())
                }
                futures::future::Either::Right((e, _)) => Err(Error::Fatal(e)),
            }
        })
    }));
    started.unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        Err(Error::Fatal(format!(
            "the node's runtime panicked: {message}"
        )))
    })
}
