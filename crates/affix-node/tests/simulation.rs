//! Deterministic multi-node simulation of the consortium (commonware's deterministic
//! runtime and simulated network): four authorities, crashes and restarts, a partition,
//! and a Byzantine authority. The invariants checked after every scenario:
//! - honest nodes never diverge (same log root at the same size);
//! - every receipt a node serves verifies under the genesis policy (2f+1 = 3 of 4
//!   authority signatures), so no receipt exists for a checkpoint a quorum did not sign;
//! - every record a node acknowledged (gave a receipt for) survives crashes, exactly once.

#![allow(
    clippy::unwrap_used,
    missing_docs,
    clippy::cast_possible_truncation,
    clippy::needless_range_loop
)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use affix_evidence::{DigestAlgorithm, EvidenceRecord, UnixMillis};
use affix_ledger::Genesis;
use affix_merkle::LeafIndex;
use affix_node::engine::{self, Channels, EngineConfig, PublicKey, Timing};
use affix_node::http::{LogView, Shared};
use affix_node::ledger::Ledger;
use affix_note::{Checkpoint, KeyName, NoteSigner, SignedCheckpoint, SignerKey};
use commonware_cryptography::Signer as _;
use commonware_p2p::simulated::{self, Link, Network, Oracle};
use commonware_p2p::{Recipients, Sender as _};
use commonware_runtime::{
    Clock as _, Handle, Runner as _, Spawner as _, Supervisor as _, deterministic,
};
use commonware_utils::{NZUsize, channel::oneshot, probability};

const N: usize = 4;
type Ctx = deterministic::Context;

struct Consortium {
    genesis: Genesis,
    seeds: Vec<[u8; 32]>,
    note_seeds: Vec<[u8; 32]>,
}

fn consortium() -> Consortium {
    let seeds: Vec<[u8; 32]> = (0..N as u8).map(|i| [i + 1; 32]).collect();
    let note_seeds: Vec<[u8; 32]> = (0..N as u8).map(|i| [i + 101; 32]).collect();
    let mut text = String::from("origin = \"sim.affix.test/ledger\"\n");
    for i in 0..N {
        let note = note_key(&note_seeds, i);
        text.push_str(&format!(
            "[[authority]]\nname = \"a{i}\"\nrole = \"notary\"\nconsensus_key = \"{}\"\nnote_key = \"{}\"\np2p = \"127.0.0.1:{}\"\nhttp = \"http://127.0.0.1:{}\"\n",
            affix_node::run::consensus_public_hex(&seeds[i]).unwrap(),
            note.verifier_key(),
            7100 + i,
            8100 + i
        ));
    }
    Consortium {
        genesis: Genesis::parse(&text).unwrap(),
        seeds,
        note_seeds,
    }
}

fn note_key(seeds: &[[u8; 32]], i: usize) -> SignerKey {
    SignerKey::ed25519_from_seed(KeyName::new(&format!("a{i}.sim.test")).unwrap(), &seeds[i])
}

fn record(i: usize) -> Vec<u8> {
    EvidenceRecord::builder(
        "sim.event",
        &format!("case-{i}"),
        UnixMillis(1_800_000_000_000 + i as u64),
        "sim",
    )
    .digest_of("document", DigestAlgorithm::Sha256, &i.to_be_bytes())
    .build()
    .unwrap()
    .encode()
}

async fn network(context: &Ctx, c: &Consortium) -> Oracle<PublicKey, Ctx> {
    let participants = affix_node::run::participants(&c.genesis).unwrap();
    let (network, oracle) = Network::new_with_peers(
        context.child("network"),
        simulated::Config {
            max_size: engine::max_message_size(N as u32),
            max_peers_per_set: NZUsize!(N),
            disconnect_on_block: true,
            tracked_peer_sets: NZUsize!(1),
        },
        participants.iter().cloned(),
    )
    .await;
    network.start();
    for a in participants.iter() {
        for b in participants.iter() {
            if a != b {
                oracle.add_link(a.clone(), b.clone(), link()).await.unwrap();
            }
        }
    }
    oracle
}

fn link() -> Link {
    Link {
        latency: Duration::from_millis(20),
        jitter: Duration::from_millis(5),
        success_rate: probability!(1.0),
    }
}

struct Running {
    handle: Handle<()>,
    shared: Arc<Shared<Ledger>>,
}

/// Registers a node's channels; the cosign slot uses channel `cosign` (normally
/// [`engine::COSIGN_CHANNEL`]).
async fn register(
    oracle: &Oracle<PublicKey, Ctx>,
    pk: &PublicKey,
    cosign: u64,
) -> Channels<
    impl commonware_p2p::Sender<PublicKey = PublicKey>,
    impl commonware_p2p::Receiver<PublicKey = PublicKey>,
> {
    let control = oracle.control(pk.clone());
    let mut registered = Vec::new();
    for (channel, quota) in engine::channel_quotas() {
        let channel = if channel == engine::COSIGN_CHANNEL {
            cosign
        } else {
            channel
        };
        registered.push(control.register(channel, quota).await.unwrap());
    }
    let mut it = registered.into_iter();
    Channels {
        votes: it.next().unwrap(),
        certificates: it.next().unwrap(),
        resolver: it.next().unwrap(),
        broadcast: it.next().unwrap(),
        backfill: it.next().unwrap(),
        cosign: it.next().unwrap(),
        forward: it.next().unwrap(),
    }
}

/// Starts authority `idx` as a task tree: aborting `handle` kills every actor of it, like
/// a process crash. Its log lives in `dir` on the real file system.
async fn spawn_node(
    context: &Ctx,
    oracle: &Oracle<PublicKey, Ctx>,
    c: &Consortium,
    idx: usize,
    run: usize,
    dir: &Path,
) -> Running {
    let ledger = Ledger::open(
        c.genesis.clone(),
        &format!("a{idx}"),
        note_key(&c.note_seeds, idx),
        dir,
    )
    .unwrap();
    let shared = Shared::new(ledger);
    let signer = affix_node::run::consensus_key(&c.seeds[idx]).unwrap();
    let pk = signer.public_key();
    let channels = register(oracle, &pk, engine::COSIGN_CHANNEL).await;
    let cfg = EngineConfig {
        signer,
        participants: affix_node::run::participants(&c.genesis).unwrap(),
        namespace: engine::namespace(&c.genesis.digest()),
        partition_prefix: format!("node{idx}"),
        timing: Timing::default(),
        peer_provider: oracle.manager(),
        blocker: oracle.control(pk),
    };
    let (tx, rx) = oneshot::channel();
    let node_shared = shared.clone();
    let handle = context
        .child("node")
        .with_attribute("index", idx)
        .with_attribute("run", run)
        .spawn(move |context| async move {
            let handles = engine::start(context, node_shared, cfg, channels).await;
            let _ = tx.send(handles.len());
            let _ = Handle::select(handles).await;
        });
    assert!(rx.await.unwrap() > 0, "engine did not start");
    Running { handle, shared }
}

async fn wait_until(context: &Ctx, mut cond: impl FnMut() -> bool) {
    while !cond() {
        context.sleep(Duration::from_millis(500)).await;
    }
}

/// Every receipt node `shared` serves for indices `0..count` verifies under the genesis
/// policy and proves the expected record.
fn check_receipts(shared: &Shared<Ledger>, genesis: &Genesis, expected: &[Vec<u8>]) {
    let policy = genesis.trust_policy().unwrap();
    let ledger = shared.lock();
    let mut seen = std::collections::HashSet::new();
    for index in 0..ledger.quorum_size() {
        let receipt = ledger.receipt(index).unwrap().unwrap();
        let verified = receipt.verify(&policy).unwrap();
        assert!(verified.checkpoint().signers().len() >= genesis.quorum());
        assert!(
            seen.insert(verified.entry().to_vec()),
            "record logged twice"
        );
    }
    for r in expected {
        let leaf = genesis.origin().suite().leaf_hash(r);
        let index = ledger.index_of(&leaf).expect("acknowledged record missing");
        assert_eq!(ledger.store().entry(LeafIndex(index)).unwrap(), *r);
    }
}

fn root_at(shared: &Shared<Ledger>, size: u64) -> affix_merkle::Hash {
    shared
        .lock()
        .store()
        .root_at(affix_merkle::TreeSize(size))
        .unwrap()
}

#[test]
fn four_authorities_issue_quorum_receipts_and_survive_a_crash_and_a_partition() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs: Vec<_> = (0..N).map(|i| tmp.path().join(format!("a{i}"))).collect();
    let executor = deterministic::Runner::new(
        deterministic::Config::new()
            .with_seed(7)
            .with_timeout(Some(Duration::from_secs(900))),
    );
    executor.start(|context| async move {
        let c = consortium();
        let oracle = network(&context, &c).await;
        let mut nodes = Vec::new();
        for (i, dir) in dirs.iter().enumerate() {
            nodes.push(Some(spawn_node(&context, &oracle, &c, i, 0, dir).await));
        }
        let node =
            |nodes: &Vec<Option<Running>>, i: usize| nodes[i].as_ref().unwrap().shared.clone();

        // 1. Records submitted to every node all get quorum receipts everywhere.
        let mut records: Vec<Vec<u8>> = Vec::new();
        for i in 0..120 {
            records.push(record(i));
            node(&nodes, i % N).lock().submit(record(i)).unwrap();
        }
        wait_until(&context, || {
            (0..N).all(|i| node(&nodes, i).lock().quorum_size() >= 120)
        })
        .await;
        for i in 0..N {
            check_receipts(&node(&nodes, i), &c.genesis, &records);
        }
        let r120 = root_at(&node(&nodes, 0), 120);
        assert!(
            (1..N).all(|i| root_at(&node(&nodes, i), 120) == r120),
            "nodes diverged"
        );

        // 2. Crash authority 3 (every task aborted); the other three keep going.
        let crashed = nodes[3].take().unwrap();
        crashed.handle.abort();
        let _ = crashed.handle.await;
        drop(crashed.shared);
        for i in 120..200 {
            records.push(record(i));
            node(&nodes, i % 3).lock().submit(record(i)).unwrap();
        }
        wait_until(&context, || {
            (0..3).all(|i| node(&nodes, i).lock().quorum_size() >= 200)
        })
        .await;

        // 3. Partition authority 0 from the rest: 1 and 2 alone are not a quorum, so
        //    nothing new finalizes and, above all, no receipt is issued without 3 signatures.
        let participants: Vec<PublicKey> = affix_node::run::participants(&c.genesis)
            .unwrap()
            .iter()
            .cloned()
            .collect();
        for other in &participants {
            if *other != participants[0] {
                oracle
                    .remove_link(participants[0].clone(), other.clone())
                    .await
                    .unwrap();
                oracle
                    .remove_link(other.clone(), participants[0].clone())
                    .await
                    .unwrap();
            }
        }
        let stalled = node(&nodes, 1).lock().quorum_size();
        for i in 200..220 {
            records.push(record(i));
            node(&nodes, 1).lock().submit(record(i)).unwrap();
        }
        context.sleep(Duration::from_secs(10)).await;
        for i in 1..3 {
            let l = node(&nodes, i);
            let l = l.lock();
            assert_eq!(
                l.quorum_size(),
                stalled,
                "a checkpoint got a quorum without one"
            );
        }

        // 4. Restart authority 3 from its directory and heal the partition: it catches up,
        //    the stalled records finalize, and all four agree.
        nodes[3] = Some(spawn_node(&context, &oracle, &c, 3, 1, &dirs[3]).await);
        for other in &participants {
            if *other != participants[0] {
                oracle
                    .add_link(participants[0].clone(), other.clone(), link())
                    .await
                    .unwrap();
                oracle
                    .add_link(other.clone(), participants[0].clone(), link())
                    .await
                    .unwrap();
            }
        }
        wait_until(&context, || {
            (0..N).all(|i| node(&nodes, i).lock().quorum_size() >= 220)
        })
        .await;
        for i in 0..N {
            check_receipts(&node(&nodes, i), &c.genesis, &records);
        }
        let r220 = root_at(&node(&nodes, 0), 220);
        assert!(
            (1..N).all(|i| root_at(&node(&nodes, i), 220) == r220),
            "nodes diverged"
        );
        assert_eq!(root_at(&node(&nodes, 3), 120), r120);
        // Finalization certificates are kept and served.
        let l = node(&nodes, 2);
        let height = l.lock().finalized_height();
        assert!((1..=height).any(|h| l.lock().finalization(h).unwrap().is_some()));
    });
}

/// How the fourth authority misbehaves.
#[derive(Clone, Copy)]
enum Byzantine {
    /// Votes for conflicting random proposals in every view (commonware's `Conflicter`).
    Equivocates,
    /// Runs consensus honestly, but as a cosigner signs a checkpoint with a forged root for
    /// every tree size it hears of, and sends it to everyone.
    ForgesCheckpoints,
}

/// Starts the Byzantine authority 3.
async fn start_byzantine(
    context: &Ctx,
    oracle: &Oracle<PublicKey, Ctx>,
    c: &Consortium,
    dir: &Path,
    kind: Byzantine,
) {
    let signer = affix_node::run::consensus_key(&c.seeds[3]).unwrap();
    let pk = signer.public_key();
    let participants = affix_node::run::participants(&c.genesis).unwrap();
    let namespace = engine::namespace(&c.genesis.digest());
    match kind {
        Byzantine::Equivocates => {
            let channels = register(oracle, &pk, engine::COSIGN_CHANNEL).await;
            let scheme = engine::Scheme::signer(&namespace, participants, signer).unwrap();
            commonware_consensus::simplex::mocks::conflicter::Conflicter::<
                _,
                _,
                commonware_cryptography::Sha256,
            >::new(
                context.child("conflicter"),
                commonware_consensus::simplex::mocks::conflicter::Config { scheme },
            )
            .start(channels.votes);
        }
        Byzantine::ForgesCheckpoints => {
            // The node's own (honest) cosignatures go to a channel nobody listens on; the
            // forger owns the real cosign channel.
            let channels = register(oracle, &pk, 99).await;
            let (mut sender, mut receiver) = oracle
                .control(pk.clone())
                .register(engine::COSIGN_CHANNEL, engine::channel_quotas()[5].1)
                .await
                .unwrap();
            let ledger =
                Ledger::open(c.genesis.clone(), "a3", note_key(&c.note_seeds, 3), dir).unwrap();
            let shared = Shared::new(ledger);
            let cfg = EngineConfig {
                signer,
                participants,
                namespace,
                partition_prefix: "node3".into(),
                timing: Timing::default(),
                peer_provider: oracle.manager(),
                blocker: oracle.control(pk),
            };
            context.child("node3").spawn(move |context| async move {
                let handles = engine::start(context, shared, cfg, channels).await;
                let _ = Handle::select(handles).await;
            });
            let origin = c.genesis.origin().clone();
            let forger_key = note_key(&c.note_seeds, 3);
            context.child("forger").spawn(move |_| async move {
                while let Ok((_, bytes)) = commonware_p2p::Receiver::recv(&mut receiver).await {
                    let Ok(honest) = SignedCheckpoint::parse(bytes.as_ref()) else {
                        continue;
                    };
                    let size = honest.unverified_checkpoint().size;
                    let mut root = honest.unverified_checkpoint().root;
                    root.0[0] ^= 0xff;
                    let forged = Checkpoint {
                        origin: origin.clone(),
                        size,
                        root,
                        extensions: vec![],
                    }
                    .sign(&[&forger_key as &dyn NoteSigner])
                    .unwrap();
                    sender.send(Recipients::All, forged.to_bytes(), false);
                }
            });
        }
    }
}

/// Runs 90 records through three honest authorities and a Byzantine fourth, then checks
/// receipts, agreement, and that the quorum checkpoints carry no signature of the
/// Byzantine authority. Returns each honest node's misbehaviour reports.
fn with_byzantine_authority(seed: u64, kind: Byzantine) -> Vec<Vec<String>> {
    let tmp = tempfile::tempdir().unwrap();
    let executor = deterministic::Runner::new(
        deterministic::Config::new()
            .with_seed(seed)
            .with_timeout(Some(Duration::from_secs(600))),
    );
    executor.start(|context| async move {
        let c = consortium();
        let oracle = network(&context, &c).await;
        let mut nodes = Vec::new();
        for i in 0..3 {
            nodes.push(
                spawn_node(
                    &context,
                    &oracle,
                    &c,
                    i,
                    0,
                    &tmp.path().join(format!("a{i}")),
                )
                .await,
            );
        }
        start_byzantine(&context, &oracle, &c, &tmp.path().join("a3"), kind).await;
        let mut records = Vec::new();
        for i in 0..90 {
            records.push(record(i));
            nodes[i % 3].shared.lock().submit(record(i)).unwrap();
        }
        wait_until(&context, || {
            nodes.iter().all(|n| n.shared.lock().quorum_size() >= 90)
        })
        .await;
        let policy = c.genesis.trust_policy().unwrap();
        let mut reports = Vec::new();
        for n in &nodes {
            check_receipts(&n.shared, &c.genesis, &records);
            let ledger = n.shared.lock();
            let verified = ledger.quorum_checkpoint().unwrap().verify(&policy).unwrap();
            assert!(
                verified
                    .signers()
                    .iter()
                    .all(|k| k.name().as_str() != "a3.sim.test")
            );
            reports.push(ledger.misbehaviour().unwrap());
        }
        let r = root_at(&nodes[0].shared, 90);
        assert!(
            nodes.iter().all(|n| root_at(&n.shared, 90) == r),
            "honest nodes diverged"
        );
        reports
    })
}

#[test]
fn an_equivocating_authority_does_not_stop_the_others() {
    with_byzantine_authority(11, Byzantine::Equivocates);
}

#[test]
fn a_forged_checkpoint_signature_is_caught_and_never_counts() {
    for node_reports in with_byzantine_authority(13, Byzantine::ForgesCheckpoints) {
        assert!(
            !node_reports.is_empty(),
            "forged checkpoints were not reported"
        );
        assert!(node_reports[0].contains("authority a3"));
    }
}
