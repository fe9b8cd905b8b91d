//! Running a node as a process: the tokio runtime, the authenticated p2p network with the
//! consortium's fixed peer set, the engine, and the HTTP server.

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

/// Runs the node until a fatal error; blocks the calling thread.
pub fn run(config: NodeConfig) -> Result<(), Error> {
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
    let result: Result<(), Error> = executor.start(|context| async move {
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

        let listener = ::tokio::net::TcpListener::bind(http_listen)
            .await
            .map_err(Error::io(
                "listen on",
                std::path::Path::new(&http_listen.to_string()),
            ))?;
        let router = node_router(shared.clone());
        context.child("http").spawn(move |_| async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::error!(error = %e, "HTTP server stopped");
            }
        });
        tracing::info!(%http_listen, %p2p_listen, "node started");

        let handles = engine::start(
            context.child("engine"),
            shared.clone(),
            EngineConfig {
                signer,
                participants,
                namespace,
                partition_prefix: "affix".into(),
                timing: Timing::default(),
                peer_provider: oracle.clone(),
                blocker: oracle,
            },
            channels,
        )
        .await;
        if handles.is_empty() {
            return Err(Error::Fatal("the consensus engine did not start".into()));
        }
        loop {
            context.sleep(Duration::from_millis(200)).await;
            if let Some(e) = shared.fatal() {
                return Err(Error::Fatal(e));
            }
        }
    });
    result
}
