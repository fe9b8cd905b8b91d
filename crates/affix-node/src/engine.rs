//! The adapter to the consensus engine: `commonware-consensus` 2026.10.0 (pinned).
//!
//! - **Agreement**: simplex with the Ed25519 *attributable* scheme (a finalization carries
//!   2f + 1 individual signatures and a signer bitmap) and round-robin leaders.
//! - **Ordered delivery and backfill**: `marshal` (standard variant, wrapped by `Inline`)
//!   delivers finalized blocks in height order, at least once, fetching missing ones from
//!   peers; `commonware-broadcast` (buffered) disseminates proposals.
//! - **Network**: `commonware-p2p` channels, authenticated with the consensus keys.
//!
//! Only this module names the engine. It hands our [`affix_ledger::Block`] to the engine
//! as opaque bytes (its digest is SHA-256 of our canonical encoding) and calls the
//! engine-independent [`Ledger`]: `propose`, `verify`, `apply_finalized`,
//! `accept_cosignature`. Finalization certificates are stored as the engine encodes them,
//! labelled with [`ENGINE_ID`], and served; receipts never depend on them.
//!
//! Exactly-once application: marshal persists its processed height only after our
//! acknowledgement, so after a crash it may redeliver blocks; [`Ledger::apply_finalized`]
//! skips heights at or below the durable tip and we acknowledge only after it returned
//! (everything fsync'd).

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use affix_ledger::{BLOCK_BYTES_MAX, Block, BlockDigest};
use bytes::BufMut;
use commonware_broadcast::buffered;
use commonware_codec::{Buf, Encode as _, EncodeSize, Error as CodecError, RangeCfg, Read, Write};
use commonware_consensus::marshal::ancestry::Ancestry;
use commonware_consensus::marshal::core::{Actor as MarshalActor, Mailbox};
use commonware_consensus::marshal::resolver::p2p as marshal_resolver;
use commonware_consensus::marshal::standard::{Inline, Standard};
use commonware_consensus::marshal::{self, Update};
use commonware_consensus::simplex::{self, elector::RoundRobin};
use commonware_consensus::types::{Epoch, FixedEpocher, Height, ViewDelta};
use commonware_consensus::{Application, BoundedBlock, Heightable, Reporter};
use commonware_cryptography::certificate::ConstantProvider;
use commonware_cryptography::{Digested, Digestible, Sha256, ed25519, sha256};
use commonware_p2p::{Blocker, Channel, Provider, Receiver, Recipients, Sender};
use commonware_parallel::Sequential;
use commonware_runtime::buffer::paged::CacheRef;
use commonware_runtime::{Clock, Handle, Metrics, Quota, Spawner, Storage};
use commonware_storage::archive::immutable;
use commonware_utils::acknowledgement::Exact;
use commonware_utils::channel::mpsc;
use commonware_utils::ordered::Set;
use commonware_utils::{Acknowledgement as _, NZDuration, NZU16, NZU32, NZU64, NZUsize};
use futures::StreamExt as _;
use rand_core::CryptoRng;

use crate::http::Shared;
use crate::ledger::Ledger;

/// Identifies the engine (and certificate encoding) behind stored finalizations.
pub const ENGINE_ID: &str = "commonware-consensus 2026.10.0 simplex ed25519 (attributable)";

/// Consensus identity public key.
pub type PublicKey = ed25519::PublicKey;
/// Consensus signing scheme.
pub type Scheme = simplex::scheme::ed25519::Scheme;
/// A finalization certificate.
pub type Finalization = simplex::types::Finalization<Scheme, sha256::Digest>;
type Context = simplex::types::Context<sha256::Digest, PublicKey>;
type Marshal = Mailbox<Scheme, Standard<EngineBlock>>;

/// Simplex votes.
pub const VOTE_CHANNEL: Channel = 0;
/// Simplex certificates.
pub const CERTIFICATE_CHANNEL: Channel = 1;
/// Simplex resolver (missing certificates by view).
pub const RESOLVER_CHANNEL: Channel = 2;
/// Block dissemination (buffered broadcast).
pub const BROADCAST_CHANNEL: Channel = 3;
/// Marshal backfill (blocks and finalizations by height or digest).
pub const BACKFILL_CHANNEL: Channel = 4;
/// Checkpoint cosignatures between authorities.
pub const COSIGN_CHANNEL: Channel = 5;
/// Client submissions forwarded between authorities' mempools.
pub const FORWARD_CHANNEL: Channel = 6;

/// Largest forwarded batch, in bytes (well below the p2p message limit).
const MAX_FORWARD_BYTES: usize = 1024 * 1024;

/// Per-peer rate limits of every channel.
pub fn channel_quotas() -> [(Channel, Quota); 7] {
    [
        (VOTE_CHANNEL, Quota::per_second(NZU32!(256))),
        (CERTIFICATE_CHANNEL, Quota::per_second(NZU32!(256))),
        (RESOLVER_CHANNEL, Quota::per_second(NZU32!(128))),
        (BROADCAST_CHANNEL, Quota::per_second(NZU32!(64))),
        (BACKFILL_CHANNEL, Quota::per_second(NZU32!(256))),
        (COSIGN_CHANNEL, Quota::per_second(NZU32!(64))),
        (FORWARD_CHANNEL, Quota::per_second(NZU32!(128))),
    ]
}

/// The p2p maximum message size: the larger of simplex's and marshal's payloads.
pub fn max_message_size(participants: u32) -> u32 {
    commonware_p2p::max_message_size(&[
        simplex::max_payload_size::<Scheme, sha256::Digest>(participants),
        marshal::max_payload_size::<Standard<EngineBlock>, Scheme>(participants, &()),
    ])
}

/// The consensus namespace: separates this consortium's votes from any other's.
pub fn namespace(genesis_digest: &BlockDigest) -> Vec<u8> {
    let mut ns = b"affix-ledger-v1:".to_vec();
    ns.extend_from_slice(&genesis_digest.0);
    ns
}

/// Our block, as the engine sees it: opaque canonical bytes with a SHA-256 digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineBlock(pub Block);

impl Write for EngineBlock {
    fn write(&self, buf: &mut impl BufMut) {
        self.0.encode().write(buf);
    }
}

impl EncodeSize for EngineBlock {
    fn encode_size(&self) -> usize {
        self.0.encode().encode_size()
    }
}

impl Read for EngineBlock {
    type Cfg = ();

    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let bytes = Vec::<u8>::read_cfg(buf, &(RangeCfg::from(..=BLOCK_BYTES_MAX), ()))?;
        Block::decode(&bytes)
            .map(EngineBlock)
            .map_err(|_| CodecError::Invalid("EngineBlock", "not a canonical Affix block"))
    }
}

impl Digestible for EngineBlock {
    type Digest = sha256::Digest;

    fn digest(&self) -> sha256::Digest {
        sha256::Digest(self.0.digest().0)
    }
}

impl Heightable for EngineBlock {
    fn height(&self) -> Height {
        Height::new(self.0.height)
    }
}

impl commonware_consensus::Block for EngineBlock {
    fn parent(&self) -> sha256::Digest {
        sha256::Digest(self.0.parent.0)
    }
}

impl BoundedBlock for EngineBlock {
    fn max_encode_size(_: &()) -> usize {
        // Length prefix (varint of a u32) plus the largest block.
        5 + BLOCK_BYTES_MAX
    }
}

fn now_ms(now: SystemTime) -> u64 {
    now.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Consensus timing.
#[derive(Clone, Debug)]
pub struct Timing {
    /// Wait this long for the leader's proposal before voting to skip the view.
    pub leader_timeout: Duration,
    /// Wait this long for notarization before voting to skip (> `leader_timeout`).
    pub certification_timeout: Duration,
    /// Re-broadcast skip votes this often while stuck.
    pub timeout_retry: Duration,
    /// Skip a leader that has been inactive this long.
    pub skip_timeout: Duration,
    /// Certificate and block fetch timeout.
    pub fetch_timeout: Duration,
    /// Pause before building a block: paces blocks (and empty blocks when idle).
    pub propose_delay: Duration,
    /// Gossip our best signed checkpoint to peers this often.
    pub cosign_resend: Duration,
    /// Finalized blocks the engine keeps for peers that catch up (older ones are pruned
    /// from its archives; the records stay in our log).
    pub retain_blocks: u64,
}

impl Default for Timing {
    /// Settings for a LAN or loopback consortium.
    fn default() -> Self {
        Self {
            leader_timeout: Duration::from_secs(1),
            certification_timeout: Duration::from_secs(2),
            timeout_retry: Duration::from_millis(500),
            skip_timeout: Duration::from_secs(5),
            fetch_timeout: Duration::from_secs(1),
            propose_delay: Duration::from_millis(150),
            cosign_resend: Duration::from_secs(1),
            // About an hour of blocks at the default pace.
            retain_blocks: 20_000,
        }
    }
}

/// Builds and verifies blocks for the engine by calling the [`Ledger`].
#[derive(Clone)]
struct App {
    shared: Arc<Shared<Ledger>>,
    propose_delay: Duration,
}

impl App {
    /// Makes `first` (and, if needed, its unfinalized ancestors) known to the ledger by
    /// verifying them oldest first. They were notarized by the consortium, but we check
    /// them like any proposal. Fails if the chain does not reach a known block.
    async fn make_known(
        &self,
        first: Digested<EngineBlock>,
        ancestry: &mut impl Ancestry<EngineBlock>,
    ) -> bool {
        let mut missing = Vec::new();
        let mut cursor = Some(first);
        while let Some(block) = cursor {
            {
                let ledger = self.shared.lock();
                if ledger.knows(&block.inner().0) {
                    break;
                }
                if block.inner().0.height <= ledger.finalized_height() || missing.len() >= 256 {
                    return false;
                }
            }
            missing.push(block);
            cursor = ancestry.next().await;
        }
        let mut ledger = self.shared.lock();
        for block in missing.iter().rev() {
            if let Err(e) = ledger.verify(&block.inner().0, u64::MAX) {
                tracing::warn!(error = %e, height = block.inner().0.height, "ancestor does not verify");
                return false;
            }
        }
        true
    }
}

impl<E: Clock> Application<E> for App {
    type SigningScheme = Scheme;
    type Context = Context;
    type Block = EngineBlock;
    type Input = ();

    async fn propose(
        &mut self,
        (runtime, _context): (E, Context),
        mut ancestry: impl Ancestry<EngineBlock>,
        _input: (),
    ) -> Option<Digested<EngineBlock>> {
        if !self.propose_delay.is_zero() {
            runtime.sleep(self.propose_delay).await;
        }
        let parent = ancestry.next().await?;
        let parent_block = parent.inner().0.clone();
        if !self.make_known(parent, &mut ancestry).await {
            return None;
        }
        let now = now_ms(runtime.current());
        let block = match self.shared.lock().propose(&parent_block, now) {
            Ok(block) => block,
            Err(e) => {
                tracing::warn!(error = %e, "cannot build a block");
                return None;
            }
        };
        let digest = sha256::Digest(block.digest().0);
        Some(Digested::precomputed(EngineBlock(block), digest))
    }

    async fn verify(
        &mut self,
        (runtime, _context): (E, Context),
        mut ancestry: impl Ancestry<EngineBlock>,
    ) -> bool {
        let (Some(block), Some(parent)) = (ancestry.next().await, ancestry.next().await) else {
            return false;
        };
        if !self.make_known(parent, &mut ancestry).await {
            return false;
        }
        let now = now_ms(runtime.current());
        match self.shared.lock().verify(&block.inner().0, now) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, height = block.inner().0.height, "refusing a proposed block");
                false
            }
        }
    }
}

/// Forwards marshal's updates to the finalizer without ever blocking marshal.
#[derive(Clone)]
struct FinalizedReporter(mpsc::UnboundedSender<Update<EngineBlock>>);

impl Reporter for FinalizedReporter {
    type Activity = Update<EngineBlock>;

    fn report(&mut self, activity: Update<EngineBlock>) -> commonware_actor::Feedback {
        if self.0.send(activity).is_ok() {
            commonware_actor::Feedback::Ok
        } else {
            commonware_actor::Feedback::Closed
        }
    }
}

/// The p2p channels a node registers, in [`channel_quotas`] order.
pub struct Channels<S, R> {
    /// [`VOTE_CHANNEL`]
    pub votes: (S, R),
    /// [`CERTIFICATE_CHANNEL`]
    pub certificates: (S, R),
    /// [`RESOLVER_CHANNEL`]
    pub resolver: (S, R),
    /// [`BROADCAST_CHANNEL`]
    pub broadcast: (S, R),
    /// [`BACKFILL_CHANNEL`]
    pub backfill: (S, R),
    /// [`COSIGN_CHANNEL`]
    pub cosign: (S, R),
    /// [`FORWARD_CHANNEL`]
    pub forward: (S, R),
}

/// What a node needs to run consensus.
pub struct EngineConfig<C, B> {
    /// This authority's consensus key.
    pub signer: ed25519::PrivateKey,
    /// All authorities' consensus keys.
    pub participants: Set<PublicKey>,
    /// Consensus namespace ([`namespace`]).
    pub namespace: Vec<u8>,
    /// Prefix of the engine's storage partitions.
    pub partition_prefix: String,
    /// Timing.
    pub timing: Timing,
    /// The network's peer-set provider.
    pub peer_provider: C,
    /// The network's blocker (for misbehaving peers).
    pub blocker: B,
}

const MAILBOX: NonZeroUsize = NZUsize!(1024);

/// Starts consensus, marshal, block broadcast, the finalizer and the cosigner for the
/// ledger in `shared`. Returns the handles of the running actors. Runtime-generic: the
/// same code runs under the deterministic runtime in tests and tokio in production.
pub async fn start<E, C, B, S, R>(
    context: E,
    shared: Arc<Shared<Ledger>>,
    cfg: EngineConfig<C, B>,
    channels: Channels<S, R>,
) -> Vec<Handle<()>>
where
    E: Spawner + Clock + Metrics + Storage + CryptoRng,
    C: Provider<PublicKey = PublicKey>,
    B: Blocker<PublicKey = PublicKey>,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
{
    let me = commonware_cryptography::Signer::public_key(&cfg.signer);
    let prefix = cfg.partition_prefix.clone();
    let page_cache = CacheRef::new(NZU16!(4096), NZUsize!(2048));
    let Some(scheme) = Scheme::signer(&cfg.namespace, cfg.participants.clone(), cfg.signer.clone())
    else {
        tracing::error!("this node's consensus key is not in the genesis");
        return Vec::new();
    };
    let provider = ConstantProvider::<Scheme, Epoch>::new(scheme.clone());
    // One epoch for the life of the consortium: membership changes are a new genesis.
    let epocher = FixedEpocher::new(NZU64!(u64::MAX));
    let genesis = {
        let ledger = shared.lock();
        let g = ledger.genesis();
        Block::genesis(g.digest(), g.origin().suite().empty_root())
    };
    let genesis_digest = sha256::Digest(genesis.digest().0);

    let resolver = marshal_resolver::init(
        context.child("marshal_resolver"),
        marshal_resolver::Config {
            public_key: me.clone(),
            peer_provider: cfg.peer_provider.clone(),
            blocker: cfg.blocker.clone(),
            mailbox_size: MAILBOX,
            fetch_timeout: NZDuration!(cfg.timing.fetch_timeout),
            fetch_retry_delay: Duration::from_millis(100),
            priority_requests: false,
            priority_responses: false,
        },
        channels.backfill,
    );

    let (broadcast_engine, buffer) = buffered::Engine::new(
        context.child("broadcast"),
        buffered::Config {
            public_key: me.clone(),
            mailbox_size: MAILBOX,
            deque_size: 16,
            priority: false,
            codec_config: (),
            peer_provider: cfg.peer_provider.clone(),
            strategy: Sequential,
        },
    );
    let broadcast_handle = broadcast_engine.start(channels.broadcast);

    let Ok(finalizations_by_height) = immutable::Archive::init(
        context.child("finalizations_by_height"),
        archive_config(
            &format!("{prefix}-finalizations-by-height"),
            &page_cache,
            1 << 20,
            <Scheme as commonware_cryptography::certificate::Verifier>::certificate_codec_config(
                &scheme,
            ),
        ),
    )
    .await
    else {
        tracing::error!("cannot open the finalizations archive");
        return Vec::new();
    };
    let Ok(finalized_blocks) = immutable::Archive::init(
        context.child("finalized_blocks"),
        archive_config(
            &format!("{prefix}-finalized-blocks"),
            &page_cache,
            64 << 20,
            (),
        ),
    )
    .await
    else {
        tracing::error!("cannot open the blocks archive");
        return Vec::new();
    };

    let (marshal_actor, marshal_mailbox, _floor) = MarshalActor::init(
        context.child("marshal"),
        finalizations_by_height,
        finalized_blocks,
        marshal::Config {
            provider,
            epocher: epocher.clone(),
            start: marshal::Start::Genesis(Digested::precomputed(
                EngineBlock(genesis),
                genesis_digest,
            )),
            partition_prefix: prefix.clone(),
            mailbox_size: MAILBOX,
            view_retention: ViewDelta::new(10),
            prunable_items_per_section: NZU64!(64),
            page_cache: page_cache.clone(),
            replay_buffer: NZUsize!(1 << 20),
            key_write_buffer: NZUsize!(1 << 16),
            value_write_buffer: NZUsize!(1 << 20),
            block_codec_config: (),
            max_repair: NZUsize!(16),
            max_pending_acks: NZUsize!(8),
            strategy: Sequential,
        },
    )
    .await;

    let app = App {
        shared: shared.clone(),
        propose_delay: cfg.timing.propose_delay,
    };
    let inline = Inline::new(
        context.child("application"),
        app,
        marshal_mailbox.clone(),
        epocher,
    );
    let engine = simplex::Engine::new(
        context.child("consensus"),
        simplex::Config {
            scheme,
            elector: RoundRobin::<Sha256>::default(),
            blocker: cfg.blocker,
            automaton: inline.clone(),
            relay: inline.clone(),
            reporter: inline,
            strategy: Sequential,
            partition: format!("{prefix}-simplex-e0"),
            mailbox_size: MAILBOX,
            epoch: Epoch::zero(),
            floor: simplex::Floor::Genesis(genesis_digest),
            replay_buffer: NZUsize!(1 << 20),
            write_buffer: NZUsize!(1 << 20),
            page_cache,
            leader_timeout: cfg.timing.leader_timeout,
            certification_timeout: cfg.timing.certification_timeout,
            timeout_retry: cfg.timing.timeout_retry,
            view_retention: ViewDelta::new(64),
            skip: simplex::SkipPolicy::Enabled {
                timeout: cfg.timing.skip_timeout,
                budget: simplex::SkipBudget::Participants,
            },
            fetch_timeout: NZDuration!(cfg.timing.fetch_timeout),
            fetch_retry_delay: Duration::from_millis(100),
            forward: simplex::ForwardPolicy::Disabled,
            track_historical_votes: false,
        },
    );
    let engine_handle = engine.start(channels.votes, channels.certificates, channels.resolver);

    let (updates_tx, updates_rx) = mpsc::unbounded_channel();
    let (cosign_sender, cosign_receiver) = channels.cosign;
    let finalizer_handle = context.child("finalizer").spawn({
        let shared = shared.clone();
        let marshal = marshal_mailbox.clone();
        let sender = cosign_sender.clone();
        let retain = cfg.timing.retain_blocks;
        move |_| finalizer(shared, marshal, updates_rx, sender, retain)
    });
    let cosign_handle = context.child("cosign").spawn({
        let shared = shared.clone();
        let resend = cfg.timing.cosign_resend;
        move |context| cosigner(context, shared, cosign_sender, cosign_receiver, resend)
    });
    let forward_handle = context.child("forward").spawn({
        let shared = shared.clone();
        let (sender, receiver) = channels.forward;
        move |context| forwarder(context, shared, sender, receiver)
    });
    let marshal_handle = marshal_actor.start(FinalizedReporter(updates_tx), buffer, resolver);

    vec![
        broadcast_handle,
        engine_handle,
        finalizer_handle,
        cosign_handle,
        forward_handle,
        marshal_handle,
    ]
}

/// Applies finalized blocks in order, durably, then acknowledges them to marshal and
/// sends this node's signed checkpoint to the other authorities.
async fn finalizer<S: Sender<PublicKey = PublicKey>>(
    shared: Arc<Shared<Ledger>>,
    marshal: Marshal,
    mut updates: mpsc::UnboundedReceiver<Update<EngineBlock>>,
    mut sender: S,
    retain_blocks: u64,
) {
    while let Some(update) = updates.recv().await {
        let Update::Block(block, ack): Update<EngineBlock, Exact> = update else {
            continue;
        };
        let height = block.inner().0.height;
        if height <= shared.lock().finalized_height() {
            ack.acknowledge();
            continue;
        }
        // Marshal stores the certificate before dispatching the block; a block finalized
        // implicitly by a descendant's certificate has none of its own.
        let certificate = marshal
            .get_finalization(Height::new(height))
            .await
            .filter(|f| f.proposal.payload == block.digest())
            .map(|f| f.encode().to_vec());
        let result = shared
            .lock()
            .apply_finalized(&block.inner().0, certificate.as_deref());
        match result {
            Ok(own) => {
                ack.acknowledge();
                // Our log holds every record; the engine's copy of old blocks only serves
                // peers catching up. Keep a window of them.
                if height % 256 == 0 && height > retain_blocks {
                    marshal.prune(Height::new(height - retain_blocks));
                }
                shared.publish();
                if let Some(bytes) = own {
                    sender.send(Recipients::All, bytes, false);
                }
            }
            Err(e) => {
                // The log could not be extended durably, or a finalized block contradicts
                // the ledger rules: stop applying (no ack), so nothing is acknowledged that
                // is not on disk. The node reports the fault and must be restarted.
                tracing::error!(error = %e, height, "cannot apply a finalized block; stopping");
                shared.set_fatal(e.to_string());
                return;
            }
        }
    }
}

/// Receives the other authorities' signed checkpoints, and periodically sends the best
/// signed checkpoint of our current tree (the quorum one once it exists, else ours).
async fn cosigner<
    E: Clock,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
>(
    context: E,
    shared: Arc<Shared<Ledger>>,
    mut sender: S,
    mut receiver: R,
    resend: Duration,
) {
    let mut next_resend = context.current() + resend;
    loop {
        let wait = next_resend
            .duration_since(context.current())
            .unwrap_or(Duration::ZERO);
        commonware_macros::select! {
            message = receiver.recv() => {
                let Ok((peer, bytes)) = message else { return };
                let outcome = shared.lock().accept_cosignature(bytes.as_ref());
                match outcome {
                    Ok(affix_ledger::CosignOutcome::Quorum(c)) => {
                        tracing::debug!(size = c.unverified_checkpoint().size.0, "quorum checkpoint");
                        shared.publish();
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, ?peer, "cosignature refused"),
                }
            },
            _ = context.sleep(wait) => {
                next_resend = context.current() + resend;
                // Gossip the best signed checkpoint of our current tree: a node that was
                // down (or missed messages) completes its quorum from these.
                let gossip = shared.lock().gossip_checkpoint();
                if let Some(bytes) = gossip {
                    sender.send(Recipients::All, bytes, false);
                }
            },
        }
    }
}

/// Forwards client submissions to the other authorities every 20 ms (as framed batches)
/// and puts theirs into our mempool.
async fn forwarder<
    E: Clock,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
>(
    context: E,
    shared: Arc<Shared<Ledger>>,
    mut sender: S,
    mut receiver: R,
) {
    loop {
        commonware_macros::select! {
            message = receiver.recv() => {
                let Ok((peer, bytes)) = message else { return };
                let Ok(records) = affix_merkle::decode_bundle(bytes.as_ref(), affix_ledger::BLOCK_RECORDS_MAX) else {
                    tracing::warn!(?peer, "malformed forwarded batch");
                    continue;
                };
                let mut ledger = shared.lock();
                for record in records {
                    if let Err(e) = ledger.submit_forwarded(record.to_vec()) {
                        tracing::debug!(error = %e, ?peer, "forwarded record refused");
                    }
                }
            },
            _ = context.sleep(Duration::from_millis(20)) => {
                let records = shared.lock().take_outbox();
                let mut start = 0;
                while start < records.len() {
                    // Chunks well below the p2p message limit; records passed `submit`, so
                    // they are framable.
                    let mut end = start;
                    let mut bytes = 0;
                    while end < records.len() && bytes + 2 + records[end].len() <= MAX_FORWARD_BYTES {
                        bytes += 2 + records[end].len();
                        end += 1;
                    }
                    let end = end.max(start + 1);
                    if let Ok(batch) = affix_merkle::encode_bundle(&records[start..end]) {
                        sender.send(Recipients::All, batch, false);
                    }
                    start = end;
                }
            },
        }
    }
}

fn archive_config<C>(
    name: &str,
    page_cache: &CacheRef,
    value_target: u64,
    codec_config: C,
) -> immutable::Config<C> {
    immutable::Config {
        metadata_partition: format!("{name}-metadata"),
        freezer_table_partition: format!("{name}-freezer-table"),
        freezer_table_initial_size: 1024,
        freezer_table_resize_frequency: 4,
        freezer_table_resize_chunk_size: 1024,
        freezer_key_partition: format!("{name}-freezer-key"),
        freezer_key_page_cache: page_cache.clone(),
        freezer_value_partition: format!("{name}-freezer-value"),
        freezer_value_target_size: value_target,
        freezer_value_compression: None,
        ordinal_partition: format!("{name}-ordinal"),
        items_per_section: NZU64!(1024),
        codec_config,
        replay_buffer: NZUsize!(1 << 20),
        freezer_key_write_buffer: NZUsize!(1 << 16),
        freezer_value_write_buffer: NZUsize!(1 << 20),
        ordinal_write_buffer: NZUsize!(1 << 16),
    }
}
