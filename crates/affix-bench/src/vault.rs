//! `affix-bench vault`: the key vault at scale, in one process, beside its limits.
//!
//! 1. Creates `--keys` ECDSA P-256 keys (each with its `vault.key.created` evidence
//!    record) for 1,024 owners, and reports time and bytes on disk.
//! 2. For each algorithm: authorized signatures on random keys — owner's authorization
//!    verified, key unwrapped, signed, usage recorded durably (group commit) — beside the
//!    raw signing rate of the same backend with a key kept in memory, measured in the same
//!    run with the same number of threads, and beside the cryptography alone (the owner's
//!    Ed25519 authorization verified in batches of 64, then the signature with a key in
//!    memory): the floor every authorized signature pays. Authorizations are made
//!    beforehand, as the owners' devices would make them.
//! 3. Owner-authorization verification alone: WebAuthn passkey assertions (ES256 and
//!    EdDSA, the whole check the vault runs: decoding, client data, flags, signature)
//!    beside raw P-256 ECDSA and Ed25519 signatures over the same statements, same run,
//!    same threads.
//! 4. Ed25519 latency at half the measured throughput (open loop).
//! 5. Optionally, SoftHSM2 over PKCS#11 (keys created per second, signatures per second
//!    on random keys among those it holds).

// Rates and counts are converted between f64 and integers for printing and sizing only.
#![allow(clippy::cast_possible_truncation)]

use affix_seal::{KeyFileMaster, MasterKey};
use affix_vault::{
    Algorithm, CredentialKind, DeviceKey, KeyId, OwnerId, Payload, SignQueue, SignQueueConfig,
    SignRequest, TenantId, UnboundStatement, Vault, VaultConfig, bench::raw_signer,
};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Options of `affix-bench vault`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Working directory (a fresh vault is created inside; removed afterwards unless --keep).
    #[arg(long, default_value = "target/bench-vault")]
    dir: PathBuf,
    /// Keys to create in the bulk phase (ECDSA P-256).
    #[arg(long, default_value_t = 10_000_000)]
    keys: u64,
    /// Keys per algorithm for the signing phase (besides the bulk keys for P-256).
    #[arg(long, default_value_t = 20_000)]
    keys_per_algorithm: u64,
    /// Seconds per signing measurement.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Worker threads (default: available cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Workers of the signing queue (the second joins under a backlog; each batch is
    /// spread over `--threads` threads).
    #[arg(long, default_value_t = 2)]
    queue_workers: usize,
    /// Most requests per batch of the signing queue.
    #[arg(long, default_value_t = 256)]
    batch: usize,
    /// SoftHSM2 (or other PKCS#11) module for the peer measurement.
    #[arg(long)]
    pkcs11_module: Option<PathBuf>,
    /// Token label.
    #[arg(long, default_value = "affix-bench")]
    pkcs11_token: String,
    /// Environment variable holding the user PIN.
    #[arg(long, default_value = "AFFIX_PKCS11_PIN")]
    pkcs11_pin_env: String,
    /// Keys to create in the PKCS#11 token, per algorithm.
    #[arg(long, default_value_t = 1000)]
    pkcs11_keys: usize,
    /// The vault store's page cache, in MiB.
    #[arg(long, default_value_t = 4096)]
    cache_mib: usize,
    /// Keep the vault directory.
    #[arg(long)]
    keep: bool,
    /// Only these algorithms in the signing phase (comma-separated names, default all).
    #[arg(long, value_delimiter = ',')]
    algorithms: Vec<String>,
    /// Seconds per latency measurement (long enough for a steady state).
    #[arg(long, default_value_t = 20.0)]
    latency_seconds: f64,
    /// Skip the latency measurement.
    #[arg(long)]
    no_latency: bool,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Bytes allocated on disk (what `du` reports): redb preallocates file regions it has not
/// written yet, which take no disk space.
fn allocated_bytes(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt as _;
    let Ok(meta) = std::fs::metadata(path) else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.blocks() * 512;
    }
    std::fs::read_dir(path)
        .map(|entries| entries.flatten().map(|e| allocated_bytes(&e.path())).sum())
        .unwrap_or(0)
}

fn dir_bytes(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return std::fs::metadata(path).map_or(0, |m| m.len());
    };
    entries
        .flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                dir_bytes(&p)
            } else {
                e.metadata().map_or(0, |m| m.len())
            }
        })
        .sum()
}

struct Owners {
    ids: Vec<OwnerId>,
    devices: Vec<DeviceKey>,
}

fn enrol_owners(vault: &Vault, tenant: &TenantId, n: usize) -> Result<Owners> {
    let mut ids = Vec::with_capacity(n);
    let mut devices = Vec::with_capacity(n);
    for _ in 0..n {
        let owner = OwnerId::random()?;
        let mut device = DeviceKey::generate()?;
        device.credential = Some(vault.register_credential(
            tenant,
            owner,
            CredentialKind::Ed25519,
            &device.public_key(),
            None,
            now_ms(),
        )?);
        ids.push(owner);
        devices.push(device);
    }
    Ok(Owners { ids, devices })
}

/// Creates `count` keys of `alg` for the owners (key i belongs to owner i % owners),
/// from `threads` threads in batches of 10,000, advancing `progress`. Returns (key,
/// owner index) pairs.
fn create_keys(
    vault: &Vault,
    tenant: &TenantId,
    owners: &Owners,
    alg: Algorithm,
    count: u64,
    threads: usize,
    progress: &indicatif::ProgressBar,
) -> Result<Vec<(KeyId, usize)>> {
    const BATCH: u64 = 10_000;
    let next = AtomicU64::new(0);
    let results: Vec<Result<Vec<(KeyId, usize)>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| -> Result<Vec<(KeyId, usize)>> {
                    let mut mine = Vec::new();
                    loop {
                        let start = next.fetch_add(BATCH, Ordering::Relaxed);
                        if start >= count {
                            return Ok(mine);
                        }
                        let end = (start + BATCH).min(count);
                        let requests: Vec<(OwnerId, Algorithm)> = (start..end)
                            .map(|i| (owners.ids[(i as usize) % owners.ids.len()], alg))
                            .collect();
                        let keys = vault.create_keys(tenant, &requests, now_ms())?;
                        for (i, k) in (start..end).zip(keys) {
                            mine.push((k.id, (i as usize) % owners.ids.len()));
                        }
                        progress.inc(end - start);
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| bail_panic()))
            .collect()
    });
    let mut all = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    for r in results {
        all.extend(r?);
    }
    Ok(all)
}

fn bail_panic<T>() -> Result<T> {
    bail!("a benchmark thread panicked")
}

/// A tiny xorshift generator: picks keys without pulling in a crate.
struct Pick(u64);

impl Pick {
    fn next(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

impl rand_core::TryRng for Pick {
    type Error = std::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok((self.try_next_u64()? >> 32) as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        self.next(usize::MAX);
        Ok(self.0)
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for chunk in dst.chunks_mut(8) {
            let v = self.try_next_u64()?.to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        Ok(())
    }
}

fn payload_for(alg: Algorithm, i: u64) -> Payload {
    let mut m = [0u8; 32];
    m[..8].copy_from_slice(&i.to_be_bytes());
    if alg.signs_prehash() {
        Payload::Prehash(m)
    } else {
        Payload::Message(m.to_vec())
    }
}

/// Requests with authorizations made in advance by the owners' devices.
fn prepare_requests(
    tenant: &TenantId,
    keys: &[(KeyId, usize)],
    owners: &Owners,
    alg: Algorithm,
    count: usize,
    seed: u64,
) -> Result<Vec<SignRequest>> {
    let mut pick = Pick(seed | 1);
    let now = now_ms();
    (0..count)
        .map(|i| {
            let (key, owner) = keys[pick.next(keys.len())];
            let payload = payload_for(alg, i as u64);
            // Lifetime: the run must finish within it; the vault caps it at 5 minutes.
            let statement =
                UnboundStatement::for_signing(tenant, key, &payload, None, now, 290_000)?;
            Ok(SignRequest {
                tenant: tenant.clone(),
                key,
                payload,
                authorization: owners.devices[owner].authorize(statement),
            })
        })
        .collect()
}

/// Signs `requests` through a [`SignQueue`] with `threads` workers and batches of at
/// most `batch`, submitting as fast as the queue takes them (the server's path under
/// saturation); returns signatures per second and failures.
fn authorized_rate(
    vault: &Arc<Vault>,
    requests: Vec<SignRequest>,
    threads: usize,
    batch: usize,
) -> Result<(f64, u64)> {
    const IN_FLIGHT: u64 = 8192;
    let queue = SignQueue::start(
        vault.clone(),
        Arc::new(now_ms),
        SignQueueConfig::new(threads, batch, IN_FLIGHT as usize * 2),
    )?;
    let count = requests.len() as u64;
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    for (submitted, r) in (0u64..).zip(requests) {
        while submitted - ok.load(Ordering::Relaxed) - failed.load(Ordering::Relaxed) >= IN_FLIGHT {
            std::thread::sleep(Duration::from_micros(50));
        }
        let (ok, failed) = (ok.clone(), failed.clone());
        queue.submit(r, move |result| {
            match result {
                Ok(_) => ok.fetch_add(1, Ordering::Relaxed),
                Err(_) => failed.fetch_add(1, Ordering::Relaxed),
            };
        })?;
    }
    while ok.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed) < count {
        std::thread::sleep(Duration::from_micros(200));
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok((
        ok.load(Ordering::Relaxed) as f64 / elapsed,
        failed.load(Ordering::Relaxed),
    ))
}

fn raw_rate(alg: Algorithm, threads: usize, seconds: f64) -> Result<f64> {
    let signer = raw_signer(alg)?;
    let count = AtomicU64::new(0);
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let (signer, count) = (&signer, &count);
            s.spawn(move || {
                let mut i = (t as u64) << 40;
                while Instant::now() < deadline {
                    for _ in 0..64 {
                        let _ = signer(&payload_for(alg, i));
                        i += 1;
                    }
                    count.fetch_add(64, Ordering::Relaxed);
                }
            });
        }
    });
    Ok(count.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
}

/// What the cryptography alone allows per authorized signature: each thread verifies
/// the owners' Ed25519 authorizations 64 at a time (`verify_batch`, as the vault does)
/// and signs with a key kept in memory; no key lookup, unsealing or record.
fn crypto_floor_rate(
    alg: Algorithm,
    tenant: &TenantId,
    threads: usize,
    seconds: f64,
) -> Result<f64> {
    const BATCH: usize = 64;
    let signer = raw_signer(alg)?;
    let mut messages = Vec::with_capacity(BATCH);
    let mut signatures = Vec::with_capacity(BATCH);
    let mut keys = Vec::with_capacity(BATCH);
    for i in 0..BATCH {
        let device = DeviceKey::generate()?;
        let payload = payload_for(alg, i as u64);
        let statement = UnboundStatement::for_signing(
            tenant,
            KeyId([i as u8; 16]),
            &payload,
            None,
            now_ms(),
            290_000,
        )?;
        let authorization = device.authorize(statement);
        messages.push(authorization.statement.to_bytes());
        signatures.push(ed25519_dalek::Signature::from_slice(
            &authorization.signature,
        )?);
        keys.push(ed25519_dalek::VerifyingKey::from_bytes(
            &device.public_key(),
        )?);
    }
    let messages: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
    let count = AtomicU64::new(0);
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let (signer, count, messages, signatures, keys) =
                (&signer, &count, &messages, &signatures, &keys);
            s.spawn(move || {
                let mut i = (t as u64) << 40;
                while Instant::now() < deadline {
                    if ed25519_dalek::verify_batch(messages, signatures, keys).is_err() {
                        return;
                    }
                    for _ in 0..BATCH {
                        let _ = signer(&payload_for(alg, i));
                        i += 1;
                    }
                    count.fetch_add(BATCH as u64, Ordering::Relaxed);
                }
            });
        }
    });
    Ok(count.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
}

/// Verifications per second of owner authorizations over 64 distinct signing
/// statements: raw P-256 ECDSA (`r ‖ s`, the `ecdsa-p256` and `browser-p256` kinds),
/// WebAuthn ES256 assertions (`passkey-es256`), raw Ed25519 and WebAuthn EdDSA
/// assertions, each through the vault's own check (`Authorization::verify_signature`,
/// `Authorization::verify_assertion`).
fn authorization_verify_rates(
    tenant: &TenantId,
    threads: usize,
    seconds: f64,
) -> Result<Vec<(&'static str, f64)>> {
    use affix_vault::affix_webauthn::{self, soft::SoftAuthenticator};
    use affix_vault::{Authorization, CredentialId, webauthn_challenge};
    use signature::Signer as _;
    const STATEMENTS: usize = 64;
    let rp = affix_vault::default_relying_party();
    let origin = rp.origins()[0].clone();
    let now = now_ms();
    let unbound = (0..STATEMENTS)
        .map(|i| {
            let payload = Payload::Message(format!("contract {i}").into_bytes());
            Ok(UnboundStatement::for_signing(
                tenant,
                KeyId([i as u8; 16]),
                &payload,
                None,
                now,
                290_000,
            )?)
        })
        .collect::<Result<Vec<_>>>()?;
    let statements: Vec<_> = unbound
        .iter()
        .map(|u| u.clone().bind(CredentialId([1; 16])))
        .collect();
    let p256_key = p256::ecdsa::SigningKey::from_slice(&[0x42; 32])?;
    let p256_public = p256_key
        .verifying_key()
        .to_sec1_point(true)
        .as_bytes()
        .to_vec();
    let ed_device = DeviceKey::from_seed(&[0x43; 32]);
    let mut cases: Vec<(&'static str, CredentialKind, Vec<u8>, Vec<Authorization>)> = Vec::new();
    let raw_p256 = statements
        .iter()
        .map(|s| {
            let sig: p256::ecdsa::Signature = p256_key.sign(&s.to_bytes());
            Authorization {
                statement: s.clone(),
                signature: sig.to_bytes().to_vec(),
            }
        })
        .collect();
    cases.push((
        "raw P-256 ECDSA verifications/s",
        CredentialKind::EcdsaP256,
        p256_public,
        raw_p256,
    ));
    for (name, alg, kind) in [
        (
            "WebAuthn assertion verifications/s (ES256)",
            affix_webauthn::Algorithm::Es256,
            CredentialKind::PasskeyEs256,
        ),
        (
            "WebAuthn assertion verifications/s (EdDSA)",
            affix_webauthn::Algorithm::EdDsa,
            CredentialKind::PasskeyEd25519,
        ),
    ] {
        let mut passkey = SoftAuthenticator::new(alg, &[0x44; 32]);
        let auths = statements
            .iter()
            .map(|s| {
                let assertion = passkey.assert(rp.id(), &origin, &webauthn_challenge(s));
                Ok(Authorization {
                    statement: s.clone(),
                    signature: assertion.encode()?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        cases.push((name, kind, passkey.public_key().to_cose(), auths));
        if alg == affix_webauthn::Algorithm::Es256 {
            let raw_ed = unbound
                .iter()
                .map(|u| ed_device.authorize(u.clone()))
                .collect();
            cases.push((
                "raw Ed25519 verifications/s",
                CredentialKind::Ed25519,
                ed_device.public_key().to_vec(),
                raw_ed,
            ));
        }
    }
    let mut rates = Vec::new();
    for (name, kind, public, auths) in &cases {
        // Every authorization verifies before it is timed.
        for a in auths {
            verify_one(a, *kind, public, &rp, now)?;
        }
        let count = AtomicU64::new(0);
        let deadline = Instant::now() + Duration::from_secs_f64(seconds);
        let started = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..threads {
                let (count, rp) = (&count, &rp);
                s.spawn(move || {
                    while Instant::now() < deadline {
                        for a in auths {
                            if verify_one(a, *kind, public, rp, now).is_err() {
                                return;
                            }
                        }
                        count.fetch_add(auths.len() as u64, Ordering::Relaxed);
                    }
                });
            }
        });
        rates.push((
            *name,
            count.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64(),
        ));
    }
    Ok(rates)
}

fn verify_one(
    authorization: &affix_vault::Authorization,
    kind: CredentialKind,
    public: &[u8],
    rp: &affix_vault::affix_webauthn::RelyingParty,
    now: u64,
) -> Result<()> {
    if kind.is_passkey() {
        authorization.verify_assertion(kind, public, rp, 0, now)?;
    } else {
        authorization.verify_signature(kind, public, now)?;
    }
    Ok(())
}

/// Open-loop latency: one request submitted to a [`SignQueue`] every `1/rate` seconds,
/// as a server's connection handlers would; each is timed from its scheduled time (so a
/// late submission counts against the vault) to its answer. Returns (p50, p90, p99, max) in ms and
/// failures.
fn latency(
    vault: &Arc<Vault>,
    requests: Vec<SignRequest>,
    rate: f64,
    threads: usize,
    batch: usize,
) -> Result<([f64; 4], u64)> {
    let queue = SignQueue::start(
        vault.clone(),
        Arc::new(now_ms),
        SignQueueConfig::new(threads, batch, 65_536),
    )?;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let count = requests.len();
    let latencies = Arc::new(std::sync::Mutex::new(Vec::with_capacity(count)));
    let failures = Arc::new(AtomicU64::new(0));
    let start = Instant::now() + Duration::from_millis(50);
    for (i, r) in requests.into_iter().enumerate() {
        let due = start + interval.mul_f64(i as f64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let (latencies, failures) = (latencies.clone(), failures.clone());
        queue.submit(r, move |result| {
            let ms = due.elapsed().as_secs_f64() * 1000.0;
            if result.is_err() {
                failures.fetch_add(1, Ordering::Relaxed);
            }
            latencies
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(ms);
        })?;
    }
    drop(queue); // signs what is queued, then stops
    let mut all = std::mem::take(
        &mut *latencies
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    all.sort_by(f64::total_cmp);
    let p = |q: f64| {
        all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    };
    Ok((
        [p(0.50), p(0.90), p(0.99), p(1.0)],
        failures.load(Ordering::Relaxed),
    ))
}

fn pkcs11_peer(args: &Args, module: &Path) -> Result<Vec<(String, f64, f64, usize)>> {
    use crate::pkcs11_peer::{PeerAlgorithm, generate_keys, sign_with_random_key, supported};
    use affix_seal::{Pin, Pkcs11Token};
    let pin = std::env::var(&args.pkcs11_pin_env)
        .with_context(|| format!("set {} to the token's user PIN", args.pkcs11_pin_env))?;
    let token = Pkcs11Token::open(module, &args.pkcs11_token, &Pin::new(pin)?)?;
    let mut out = Vec::new();
    for (alg, name) in [
        (PeerAlgorithm::Ed25519, "ed25519"),
        (PeerAlgorithm::EcdsaP256, "ecdsa-p256"),
    ] {
        if !supported(&token, alg)? {
            continue;
        }
        let session = token.open_session()?;
        let started = Instant::now();
        let keys = generate_keys(&session, alg, args.pkcs11_keys, &format!("bench-{name}"))?;
        let create_rate = keys.len() as f64 / started.elapsed().as_secs_f64();
        let mut rng = Pick(0x2545_f491_4f6c_dd1d);
        let deadline = Instant::now() + Duration::from_secs_f64(args.seconds);
        let started = Instant::now();
        let mut n = 0u64;
        while Instant::now() < deadline {
            sign_with_random_key(&session, &keys, &[n as u8; 32], &mut rng)?;
            n += 1;
        }
        out.push((
            name.to_owned(),
            create_rate,
            n as f64 / started.elapsed().as_secs_f64(),
            keys.len(),
        ));
    }
    Ok(out)
}

pub(crate) fn run(args: &Args) -> Result<()> {
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from));
    if args.dir.exists() {
        std::fs::remove_dir_all(&args.dir)
            .with_context(|| format!("clearing {}", args.dir.display()))?;
    }
    std::fs::create_dir_all(&args.dir)?;
    let master_path = args.dir.join("master.key");
    let master: Arc<dyn MasterKey> = Arc::new(KeyFileMaster::create(&master_path)?);
    let vault = Arc::new(Vault::create(
        &args.dir.join("vault"),
        master,
        "bench.affix.local/vault",
        VaultConfig {
            cache_bytes: args.cache_mib << 20,
            sign_threads: threads,
            ..VaultConfig::default()
        },
    )?);
    let tenant = TenantId::new("bench")?;
    let owners = enrol_owners(&vault, &tenant, 1024)?;
    println!(
        "affix-bench vault: {threads} threads, signing queue with {} worker(s) and batches of at most {}, store cache {} MiB",
        args.queue_workers, args.batch, args.cache_mib
    );

    // 1. Bulk creation.
    let progress = crate::progress::bar("creating ECDSA P-256 keys", args.keys, "keys");
    let started = Instant::now();
    let bulk = create_keys(
        &vault,
        &tenant,
        &owners,
        Algorithm::EcdsaP256,
        args.keys,
        threads,
        &progress,
    )?;
    progress.finish_and_clear();
    let created_s = started.elapsed().as_secs_f64();
    let store_path = args.dir.join("vault/vault.redb");
    let store_apparent = std::fs::metadata(&store_path)?.len();
    let store_bytes = allocated_bytes(&store_path);
    let evidence_bytes = allocated_bytes(&args.dir.join("vault/evidence"));
    let evidence_apparent = dir_bytes(&args.dir.join("vault/evidence"));
    println!();
    println!("## Key creation (ECDSA P-256, sealed, stored, each with an evidence record)");
    println!("keys                      {:>14}", args.keys);
    println!(
        "time                      {:>12.1} s   (target ≤ 300 s)",
        created_s
    );
    println!(
        "rate                      {:>12.0} /s",
        args.keys as f64 / created_s
    );
    let per_key = |b: u64| b as f64 / args.keys.max(1) as f64;
    println!(
        "key store on disk (redb)  {:>12.2} GB  ({:.0} B/key; target ≤ 1.5 GB for 10M; file size {:.2} GB with preallocated regions)",
        store_bytes as f64 / 1e9,
        per_key(store_bytes),
        store_apparent as f64 / 1e9
    );
    println!(
        "evidence log on disk      {:>12.2} GB  ({:.0} B/key: record, index, hash tiles; {:.2} GB apparent)",
        evidence_bytes as f64 / 1e9,
        per_key(evidence_bytes),
        evidence_apparent as f64 / 1e9
    );

    // 2. Authorized signing per algorithm.
    println!();
    println!(
        "## Authorized signatures on random keys vs the raw signing rate (same run, {threads} threads)"
    );
    println!(
        "{:<16} {:>10} {:>14} {:>12} {:>8} {:>16} {:>8} {:>8}",
        "algorithm", "keys", "authorized/s", "raw/s", "ratio", "verify+sign/s", "ratio", "target"
    );
    let mut ed25519_rate = 0.0;
    let mut ed25519_keys = Vec::new();
    for (alg, target) in [
        (Algorithm::Ed25519, 15_000),
        (Algorithm::EcdsaP256, 10_000),
        (Algorithm::EcdsaSecp256k1, 8_000),
        (Algorithm::Sm2, 4_000),
    ] {
        if !args.algorithms.is_empty() && !args.algorithms.iter().any(|a| a == alg.name()) {
            continue;
        }
        let keys = if alg == Algorithm::EcdsaP256 && !bulk.is_empty() {
            bulk.clone()
        } else {
            create_keys(
                &vault,
                &tenant,
                &owners,
                alg,
                args.keys_per_algorithm,
                threads,
                &indicatif::ProgressBar::hidden(),
            )?
        };
        let raw = raw_rate(alg, threads, args.seconds.min(3.0))?;
        let floor = crypto_floor_rate(alg, &tenant, threads, args.seconds.min(3.0))?;
        // Enough requests for `seconds` at up to 1.3 × the raw rate's half.
        let count = ((raw * 0.65 * args.seconds) as usize).clamp(1000, 400_000);
        let requests = prepare_requests(
            &tenant,
            &keys,
            &owners,
            alg,
            count,
            0x9e37_79b9 ^ u64::from(alg as u8),
        )?;
        let (rate, failed) = authorized_rate(&vault, requests, args.queue_workers, args.batch)?;
        if failed > 0 {
            bail!("{failed} authorized {} signatures failed", alg.name());
        }
        println!(
            "{:<16} {:>10} {:>14.0} {:>12.0} {:>7.0}% {:>16.0} {:>7.0}% {:>8}",
            alg.name(),
            keys.len(),
            rate,
            raw,
            100.0 * rate / raw,
            floor,
            100.0 * rate / floor,
            target
        );
        if alg == Algorithm::Ed25519 {
            ed25519_rate = rate;
            ed25519_keys = keys;
        }
    }

    // 3. Authorization verification: passkey assertions beside raw signatures.
    println!();
    println!(
        "## Owner-authorization verification alone (same run, {threads} threads, statements of one signature each)"
    );
    for (name, rate) in authorization_verify_rates(&tenant, threads, args.seconds.min(3.0))? {
        println!("{name:<44} {rate:>12.0}");
    }

    // 4. Latency at half load.
    if !args.no_latency && !ed25519_keys.is_empty() {
        latency_phase(&vault, &tenant, &owners, &ed25519_keys, ed25519_rate, args)?;
    }

    // 5. PKCS#11 peer.
    if let Some(module) = &args.pkcs11_module {
        println!();
        println!("## SoftHSM2 over PKCS#11 (one session, random key per signature)");
        println!(
            "{:<12} {:>8} {:>16} {:>14}",
            "algorithm", "keys", "keys created/s", "signatures/s"
        );
        for (name, create, sign, n) in pkcs11_peer(args, module)? {
            println!("{name:<12} {n:>8} {create:>16.0} {sign:>14.0}");
        }
    }
    println!();
    println!(
        "evidence records in the vault log: {}",
        vault.evidence_len()
    );
    drop(vault);
    if !args.keep {
        std::fs::remove_dir_all(&args.dir)?;
    }
    Ok(())
}

/// Ed25519 latency at half the target and at half the measured throughput.
fn latency_phase(
    vault: &Arc<Vault>,
    tenant: &TenantId,
    owners: &Owners,
    keys: &[(KeyId, usize)],
    rate: f64,
    args: &Args,
) -> Result<()> {
    let (seconds, batch) = (args.latency_seconds, args.batch);
    println!();
    println!(
        "## Ed25519 latency, open loop: single requests through the signing queue, timed from their scheduled submission"
    );
    println!(
        "{:<34} {:>9} {:>9} {:>9} {:>9}",
        "offered load", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    for (label, offered) in [
        ("half the 15,000/s target", 7_500.0),
        ("half the measured throughput", rate / 2.0),
    ] {
        let count = ((offered * seconds) as usize).max(1000);
        let requests = prepare_requests(tenant, keys, owners, Algorithm::Ed25519, count, 0xabcdef)?;
        let ([p50, p90, p99, max], failed) =
            latency(vault, requests, offered, args.queue_workers, batch)?;
        if failed > 0 {
            bail!("{failed} signatures failed in the latency run");
        }
        println!(
            "{:<34} {p50:>9.2} {p90:>9.2} {p99:>9.2} {max:>9.1}",
            format!("{label} ({offered:.0}/s)")
        );
    }
    let [p50, p90, p99, max] = fsync_latency(&args.dir, 8192, 1000)?;
    println!(
        "{:<34} {p50:>9.2} {p90:>9.2} {p99:>9.2} {max:>9.1}",
        "limit: 8 KiB append + fdatasync"
    );
    println!(
        "(target: p99 ≤ 5 ms at half of 15,000/s; the last line is the disk alone, same directory)"
    );
    Ok(())
}

/// The physical limit under the latency figures: `count` appends of `bytes` to a file in
/// `dir`, each followed by `fdatasync`, timed one by one. Returns (p50, p90, p99, max) in ms.
fn fsync_latency(dir: &Path, bytes: usize, count: usize) -> Result<[f64; 4]> {
    use std::io::Write as _;
    let path = dir.join("fsync-probe");
    let mut file = std::fs::File::create(&path)?;
    let block = vec![0x5a_u8; bytes];
    let mut all = Vec::with_capacity(count);
    for _ in 0..count {
        let started = Instant::now();
        file.write_all(&block)?;
        file.sync_data()?;
        all.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    drop(file);
    std::fs::remove_file(&path)?;
    all.sort_by(f64::total_cmp);
    let p = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    Ok([p(0.50), p(0.90), p(0.99), p(1.0)])
}
