//! Four real `affix node` processes on loopback: records submitted under load while nodes
//! are SIGKILLed and restarted; afterwards every acknowledged record has a receipt that
//! verifies (in Rust and in Go's sumdb), on every node; a mirror and a lone surviving node
//! serve every record, proof and tile; bad input is refused and changes nothing.

#![allow(clippy::unwrap_used, missing_docs, clippy::cast_possible_truncation)]

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use affix_evidence::{DigestAlgorithm, EvidenceRecord, UnixMillis};
use affix_merkle::{TileId, TreeSize, tiles_for_size};
use affix_note::{Receipt, SignedCheckpoint, TrustPolicy};

fn affix() -> Command {
    Command::new(env!("CARGO_BIN_EXE_affix"))
}

fn record(i: u64) -> Vec<u8> {
    EvidenceRecord::builder(
        "load.event",
        &format!("rec-{i}"),
        UnixMillis(1_800_000_000_000 + i),
        "load",
    )
    .digest_of("document", DigestAlgorithm::Sha256, &i.to_be_bytes())
    .build()
    .unwrap()
    .encode()
}

struct Devnet {
    dir: PathBuf,
    configs: Vec<PathBuf>,
    urls: Vec<String>,
    children: Vec<Option<Child>>,
}

impl Devnet {
    fn start(dir: &Path) -> Self {
        let out = affix()
            .args(["devnet", "--nodes", "4", "--no-start", "--dir"])
            .arg(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let urls: Vec<String> = std::fs::read_to_string(dir.join("nodes"))
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        let names = ["operator", "notary", "arbitration", "appraisal"];
        let configs: Vec<PathBuf> = names
            .iter()
            .map(|n| dir.join(n).join("node.toml"))
            .collect();
        let mut net = Self {
            dir: dir.to_owned(),
            configs,
            urls,
            children: Vec::new(),
        };
        for i in 0..4 {
            let child = net.spawn(i);
            net.children.push(Some(child));
        }
        net
    }

    fn spawn(&self, i: usize) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.configs[i].with_file_name("node.log"))
            .unwrap();
        affix()
            .arg("node")
            .arg("--config")
            .arg(&self.configs[i])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap()
    }

    fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.children[i].take() {
            let _ = c.kill(); // SIGKILL
            let _ = c.wait();
        }
    }

    fn restart(&mut self, i: usize) {
        self.kill(i);
        let c = self.spawn(i);
        self.children[i] = Some(c);
    }

    fn policy(&self) -> TrustPolicy {
        let genesis = affix_ledger::Genesis::parse(
            &std::fs::read_to_string(self.dir.join("genesis.toml")).unwrap(),
        )
        .unwrap();
        genesis.trust_policy().unwrap()
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        for i in 0..self.children.len() {
            self.kill(i);
        }
    }
}

fn client() -> sync_http::Client {
    sync_http::Client::new()
}

/// A tiny synchronous HTTP client over reqwest's async one.
mod sync_http {
    use std::time::Duration;

    pub(crate) struct Client {
        rt: tokio::runtime::Runtime,
        inner: ::reqwest::Client,
    }

    impl Client {
        pub(crate) fn new() -> Self {
            Self {
                rt: tokio::runtime::Runtime::new().unwrap(),
                inner: ::reqwest::Client::builder()
                    .timeout(Duration::from_secs(40))
                    .build()
                    .unwrap(),
            }
        }

        /// (status, body) or None if the node is unreachable.
        pub(crate) fn get(&self, url: &str) -> Option<(u16, Vec<u8>)> {
            self.rt.block_on(async {
                let r = self.inner.get(url).send().await.ok()?;
                let status = r.status().as_u16();
                Some((status, r.bytes().await.ok()?.to_vec()))
            })
        }

        pub(crate) fn post(
            &self,
            url: &str,
            body: Vec<u8>,
            headers: &[(&str, &str)],
        ) -> Option<(u16, Vec<u8>)> {
            self.rt.block_on(async {
                let mut req = self.inner.post(url).body(body);
                for (k, v) in headers {
                    req = req.header(*k, *v);
                }
                let r = req.send().await.ok()?;
                let status = r.status().as_u16();
                Some((status, r.bytes().await.ok()?.to_vec()))
            })
        }
    }
}

fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn status(c: &sync_http::Client, url: &str) -> Option<serde_json::Value> {
    let (code, body) = c.get(&format!("{url}/v1/status"))?;
    (code == 200).then(|| serde_json::from_slice(&body).unwrap())
}

fn quorum_size(c: &sync_http::Client, url: &str) -> u64 {
    status(c, url)
        .and_then(|s| s["quorum_size"].as_u64())
        .unwrap_or(0)
}

fn batch(records: &[Vec<u8>]) -> Vec<u8> {
    affix_merkle::encode_bundle(records).unwrap()
}

fn go_validator(dir: &Path) -> PathBuf {
    let out = dir.join("affix-interop");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../interop/go/affix-interop.go");
    let ok = Command::new("go")
        .args(["build", "-o"])
        .arg(&out)
        .arg(&src)
        .env("GO111MODULE", "off")
        .env("GOPATH", "/usr/share/gocode")
        .env("GOCACHE", dir.join("gocache"))
        .status()
        .expect("`go` not found: scripts/test installs golang-go and golang-golang-x-mod-dev")
        .success();
    assert!(ok);
    out
}

#[test]
fn consortium_survives_sigkill_under_load_and_serves_verifiable_receipts() {
    let tmp = tempfile::tempdir().unwrap();
    let mut net = Devnet::start(&tmp.path().join("devnet"));
    let c = client();
    let policy = net.policy();
    for url in &net.urls {
        wait_for("node start", Duration::from_secs(60), || {
            status(&c, url).is_some()
        });
    }

    // Load with SIGKILL and restart of one node at a time (f = 1).
    let mut acknowledged: BTreeMap<String, (u64, Vec<u8>)> = BTreeMap::new();
    let mut next = 0u64;
    let mut first_checkpoint: Option<Vec<u8>> = None;
    for round in 0..6usize {
        let victim = round % 4;
        net.kill(victim);
        // Submit to the live nodes while the victim is down, then bring it back.
        for _ in 0..4 {
            let target = (victim + 1 + (next as usize % 3)) % 4;
            let records: Vec<Vec<u8>> = (next..next + 50).map(record).collect();
            next += 50;
            let (code, body) = c
                .post(
                    &format!("{}/v1/records/batch", net.urls[target]),
                    batch(&records),
                    &[],
                )
                .expect("live node unreachable");
            assert_eq!(code, 202, "{}", String::from_utf8_lossy(&body));
            let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
            for r in answer["records"].as_array().unwrap() {
                let hash = r["leaf_hash"].as_str().unwrap().to_owned();
                // Wait for the receipt: this is the acknowledgement.
                let (code, receipt) = c
                    .get(&format!("{}/v1/receipts/{hash}?wait=30", net.urls[target]))
                    .unwrap();
                assert_eq!(
                    code,
                    200,
                    "no receipt: {}",
                    String::from_utf8_lossy(&receipt)
                );
                let parsed = Receipt::parse(&receipt).unwrap();
                parsed.verify(&policy).unwrap();
                if first_checkpoint.is_none() {
                    first_checkpoint = Some(parsed.checkpoint.to_bytes());
                }
                acknowledged.insert(hash, (parsed.index.0, receipt));
            }
        }
        net.restart(victim);
        std::thread::sleep(Duration::from_millis(700));
    }
    assert_eq!(acknowledged.len() as u64, next);

    // Everyone catches up; every acknowledged record has a verifying receipt on every node.
    for url in &net.urls {
        let deadline = Instant::now() + Duration::from_secs(90);
        while quorum_size(&c, url) < next {
            if Instant::now() > deadline {
                for (u, config) in net.urls.iter().zip(&net.configs) {
                    eprintln!("{u}: {:?}", status(&c, u));
                    let log = std::fs::read_to_string(config.with_file_name("node.log"))
                        .unwrap_or_default();
                    let tail: Vec<&str> = log.lines().rev().take(15).collect();
                    eprintln!("{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
                }
                panic!("{url} did not catch up to {next}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    for url in &net.urls {
        for (hash, (index, _)) in acknowledged.iter().step_by(7) {
            let (code, receipt) = c.get(&format!("{url}/v1/receipts/{hash}")).unwrap();
            assert_eq!(code, 200);
            let v = Receipt::parse(&receipt).unwrap().verify(&policy).unwrap();
            assert_eq!(v.index().0, *index, "record moved between nodes");
        }
    }

    // Go's sumdb verifies receipts, consistency and tiles.
    let go = go_validator(tmp.path());
    let keys: Vec<String> = policy
        .verifiers()
        .iter()
        .flat_map(|k| ["-vkey".to_owned(), k.to_string()])
        .collect();
    let go_run = |args: &[&str]| {
        let out = Command::new(&go).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "Go rejected {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let origin = policy.origin().to_string();
    let mut base: Vec<&str> = Vec::new();
    for k in &keys {
        base.push(k);
    }
    for (i, (_, (_, receipt))) in acknowledged.iter().enumerate().step_by(97) {
        let path = tmp.path().join(format!("r{i}.tlog-proof"));
        std::fs::write(&path, receipt).unwrap();
        let mut args = vec!["verify-proof"];
        args.extend(&base);
        args.extend(["-quorum", "3", "-origin", &origin, path.to_str().unwrap()]);
        go_run(&args);
    }
    let old = first_checkpoint.unwrap();
    let old_size = SignedCheckpoint::parse(&old)
        .unwrap()
        .unverified_checkpoint()
        .size
        .0;
    let (_, new) = c.get(&format!("{}/checkpoint", net.urls[1])).unwrap();
    let new_size = SignedCheckpoint::parse(&new)
        .unwrap()
        .unverified_checkpoint()
        .size
        .0;
    let (_, proof) = c
        .get(&format!(
            "{}/v1/proofs/consistency?old={old_size}&new={new_size}",
            net.urls[1]
        ))
        .unwrap();
    let proof: serde_json::Value = serde_json::from_slice(&proof).unwrap();
    let lines: String = proof["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| format!("{}\n", h.as_str().unwrap()))
        .collect();
    for (name, bytes) in [
        ("old", old.as_slice()),
        ("new", new.as_slice()),
        ("proof", lines.as_bytes()),
    ] {
        std::fs::write(tmp.path().join(name), bytes).unwrap();
    }
    let paths: Vec<String> = ["old", "new", "proof"]
        .iter()
        .map(|n| tmp.path().join(n).to_str().unwrap().to_owned())
        .collect();
    let mut args = vec!["verify-consistency"];
    args.extend(&base);
    args.extend([
        "-quorum", "3", "-origin", &origin, &paths[0], &paths[1], &paths[2],
    ]);
    go_run(&args);

    // A mirror follows, verifying everything.
    let mirror_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mirror_url = format!("http://127.0.0.1:{mirror_port}");
    let mut mirror = affix()
        .args([
            "mirror",
            "--from",
            &net.urls[2],
            "--from",
            &net.urls[3],
            "--listen",
            &format!("127.0.0.1:{mirror_port}"),
            "--keys",
        ])
        .arg(net.dir.join("verifier-keys"))
        .arg("--dir")
        .arg(tmp.path().join("mirror"))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("mirror sync", Duration::from_secs(60), || {
        quorum_size(&c, &mirror_url) >= next
    });

    // Only one node survives: it (and the mirror) still serve every record and tile.
    for i in 1..4 {
        net.kill(i);
    }
    for url in [net.urls[0].clone(), mirror_url.clone()] {
        let size = quorum_size(&c, &url);
        for index in (0..size).step_by(41) {
            let (code, receipt) = c
                .get(&format!("{url}/v1/receipts/by-index/{index}"))
                .unwrap();
            assert_eq!(code, 200);
            Receipt::parse(&receipt).unwrap().verify(&policy).unwrap();
        }
        // Copy the static tile API and let Go check it.
        let site = tmp
            .path()
            .join(format!("site-{}", url.rsplit(':').next().unwrap()));
        let (_, checkpoint) = c.get(&format!("{url}/checkpoint")).unwrap();
        let size = SignedCheckpoint::parse(&checkpoint)
            .unwrap()
            .unverified_checkpoint()
            .size;
        std::fs::create_dir_all(&site).unwrap();
        std::fs::write(site.join("checkpoint"), &checkpoint).unwrap();
        for tile in tiles_for_size(TreeSize(0), size) {
            let (code, data) = c.get(&format!("{url}/{}", tile.path())).unwrap();
            assert_eq!(code, 200, "{}", tile.path());
            let path = site.join(tile.path());
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::File::create(path)
                .unwrap()
                .write_all(&data)
                .unwrap();
        }
        let mut args = vec!["verify-tiles"];
        args.extend(&base);
        args.extend(["-quorum", "3", "-origin", &origin, site.to_str().unwrap()]);
        go_run(&args);
        let _ = TileId::entries(0, 1);
    }
    let _ = mirror.kill();
    let _ = mirror.wait();
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let net = Devnet::start(&tmp.path().join("devnet"));
    let c = client();
    let url = net.urls[0].clone();
    wait_for("node start", Duration::from_secs(60), || {
        status(&c, &url).is_some()
    });
    let before = status(&c, &url).unwrap();

    let problem = |code: u16, body: &[u8], kind: &str| {
        let v: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert!(v["type"].as_str().unwrap().ends_with(kind), "{v}");
        assert_eq!(v["status"].as_u64(), Some(u64::from(code)));
    };
    let (code, body) = c
        .post(&format!("{url}/v1/records"), b"not a record".to_vec(), &[])
        .unwrap();
    assert_eq!(code, 422);
    problem(code, &body, "invalid-record");
    let (code, _) = c
        .post(&format!("{url}/v1/records"), vec![0u8; 70_000], &[])
        .unwrap();
    assert_eq!(code, 413);
    let (code, body) = c
        .post(
            &format!("{url}/v1/records"),
            record(1),
            &[("affix-expected-origin", "other.example/ledger")],
        )
        .unwrap();
    assert_eq!(code, 409);
    problem(code, &body, "wrong-origin");
    let (code, body) = c
        .post(&format!("{url}/v1/records/batch"), vec![0, 9, 1], &[])
        .unwrap();
    assert_eq!(code, 400);
    problem(code, &body, "malformed-batch");
    let mut mixed = batch(&[record(2)]);
    mixed.extend_from_slice(&batch(&[b"junk".to_vec()]));
    let (code, _) = c
        .post(&format!("{url}/v1/records/batch"), mixed, &[])
        .unwrap();
    assert_eq!(
        code, 422,
        "a batch with one bad record must be refused whole"
    );
    let (code, body) = c.get(&format!("{url}/v1/receipts/zz")).unwrap();
    assert_eq!(code, 400);
    problem(code, &body, "bad-leaf-hash");
    let (code, _) = c.get(&format!("{url}/tile/0/x001")).unwrap();
    assert_eq!(code, 404);
    let (code, _) = c
        .get(&format!("{url}/v1/proofs/inclusion?index=5"))
        .unwrap();
    assert_eq!(code, 404);

    // Garbage on every node's p2p port.
    let genesis = std::fs::read_to_string(net.dir.join("genesis.toml")).unwrap();
    for line in genesis.lines().filter(|l| l.starts_with("p2p = ")) {
        let addr = line.trim_start_matches("p2p = ").trim_matches('"');
        if let Ok(mut s) = std::net::TcpStream::connect(addr) {
            let _ = s.write_all(&[0xffu8; 4096]);
            let _ = s.write_all(b"GET / HTTP/1.1\r\n\r\n");
        }
    }
    std::thread::sleep(Duration::from_secs(2));

    // Nothing changed, and the consortium still works.
    let after = status(&c, &url).unwrap();
    assert_eq!(before["size"], after["size"]);
    assert_eq!(before["mempool"], after["mempool"]);
    let (code, body) = c
        .post(&format!("{url}/v1/records"), record(3), &[])
        .unwrap();
    assert_eq!(code, 202);
    let hash = serde_json::from_slice::<serde_json::Value>(&body).unwrap()["leaf_hash"]
        .as_str()
        .unwrap()
        .to_owned();
    let (code, receipt) = c.get(&format!("{url}/v1/receipts/{hash}?wait=30")).unwrap();
    assert_eq!(code, 200);
    let logged = Receipt::parse(&receipt).unwrap();
    logged.verify(&net.policy()).unwrap();

    // A duplicate is answered with where the record already is, and logs nothing twice.
    let size = status(&c, &url).unwrap()["size"].as_u64().unwrap();
    let (code, body) = c
        .post(&format!("{url}/v1/records"), record(3), &[])
        .unwrap();
    assert_eq!(code, 202);
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(answer["status"], "logged");
    assert_eq!(answer["index"].as_u64(), Some(logged.index.0));
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(status(&c, &url).unwrap()["size"].as_u64(), Some(size));
}
