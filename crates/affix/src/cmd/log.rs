//! `affix log ...`: a standalone evidence log on one machine, signed by one key — a
//! single-signer notarial log, and the harness that exercises the formats end to end.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use affix_evidence::{DigestAlgorithm, EvidenceRecord, UnixMillis};
use affix_logstore::LogStore;
use affix_merkle::{LeafIndex, TreeSize};
use affix_note::{
    Checkpoint, NoteSigner, Origin, Receipt, SignedCheckpoint, SignerKey, VerifierKey,
};
use anyhow::{Context as _, Result, anyhow, bail};
use clap::Subcommand;

use crate::{Failure, keys, receipt};

/// File in the log directory naming the signer key and its verifier key.
const SIGNER_FILE: &str = "signer";

/// Largest document `log append` reads.
const MAX_DOCUMENT_BYTES: u64 = 1 << 30;

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Create an empty log signed by KEYFILE. An origin ending in /sm3 makes an SM3 log.
    Init {
        /// Log directory (created; must be empty).
        dir: PathBuf,
        /// The log's origin line, e.g. notary.example/log (…/sm3 for an SM3 log).
        #[arg(long)]
        origin: String,
        /// Secret key file from `affix keygen`.
        #[arg(long)]
        key: PathBuf,
    },
    /// Record one evidence record per FILE (its SHA-256 and SM3 digests, never its
    /// content), durably; prints each record's index.
    Append {
        /// Log directory.
        dir: PathBuf,
        /// Documents to record.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Event kind ([a-z0-9._-]).
        #[arg(long, default_value = "document.notarized")]
        kind: String,
        /// Subject identifier (default: doc- and the first 16 hex digits of the SHA-256).
        #[arg(long)]
        subject: Option<String>,
        /// Extra metadata, KEY=VALUE (never personal data). Repeatable.
        #[arg(long = "metadata", value_name = "KEY=VALUE")]
        metadata: Vec<String>,
    },
    /// Print the latest signed checkpoint (signing a fresh one if the log has grown).
    Checkpoint {
        /// Log directory.
        dir: PathBuf,
    },
    /// Print the receipt (.tlog-proof) of record INDEX against the latest checkpoint.
    Proof {
        /// Log directory.
        dir: PathBuf,
        /// Record index.
        index: u64,
    },
    /// Print the consistency proof between two tree sizes (base64 hashes, one a line).
    Consistency {
        /// Log directory.
        dir: PathBuf,
        /// Older tree size.
        old_size: u64,
        /// Newer tree size.
        new_size: u64,
    },
    /// Verify a receipt offline against trusted verifier keys.
    Verify {
        /// Trusted verifier key (name+id+key). Repeatable.
        #[arg(long = "key", value_name = "VERIFIER_KEY")]
        keys: Vec<String>,
        /// File of trusted verifier keys, one per line. Repeatable.
        #[arg(long = "keys", value_name = "FILE")]
        key_files: Vec<PathBuf>,
        /// Signatures required (default: all given keys).
        #[arg(long)]
        quorum: Option<usize>,
        /// Required origin (default: the receipt's own origin, which is then printed).
        #[arg(long)]
        origin: Option<String>,
        /// The receipt.
        proof_file: PathBuf,
        /// The record's bytes, when the receipt has no extra line (or to check it).
        #[arg(long)]
        leaf: Option<PathBuf>,
        /// The original document: checks the record holds its digest.
        #[arg(long)]
        document: Option<PathBuf>,
    },
    /// Write the static C2SP tlog-tiles layout (checkpoint, tiles, entry bundles) to OUT.
    Export {
        /// Log directory.
        dir: PathBuf,
        /// Output directory, servable by any static web server.
        out: PathBuf,
    },
    /// Print the log's origin, size and root.
    Status {
        /// Log directory.
        dir: PathBuf,
    },
}

pub(crate) fn run(cmd: Command) -> Result<(), Failure> {
    match cmd {
        Command::Init { dir, origin, key } => {
            let log = LocalLog::init(&dir, &origin, &key)?;
            println!("{}", String::from_utf8_lossy(&log.checkpoint()?.to_bytes()));
            eprintln!("log created in {}", dir.display());
        }
        Command::Append {
            dir,
            files,
            kind,
            subject,
            metadata,
        } => {
            let mut log = LocalLog::open(&dir)?;
            let mut records = Vec::with_capacity(files.len());
            for file in &files {
                let content = read_document(file)?;
                records.push(log.document_record(
                    &content,
                    &kind,
                    subject.as_deref(),
                    &metadata,
                )?);
            }
            let range = log.append(&records)?;
            for (index, file) in range.zip(&files) {
                println!("{index}\t{}", file.display());
            }
        }
        Command::Checkpoint { dir } => {
            let log = LocalLog::open(&dir)?;
            print!("{}", String::from_utf8_lossy(&log.checkpoint()?.to_bytes()));
        }
        Command::Proof { dir, index } => {
            let log = LocalLog::open(&dir)?;
            print!(
                "{}",
                String::from_utf8_lossy(&log.receipt(LeafIndex(index))?.to_bytes())
            );
        }
        Command::Consistency {
            dir,
            old_size,
            new_size,
        } => {
            let log = LocalLog::open(&dir)?;
            let proof = log
                .store
                .consistency_proof(TreeSize(old_size), TreeSize(new_size))
                .map_err(anyhow::Error::from)?;
            for h in proof {
                println!("{h}");
            }
        }
        Command::Verify {
            keys,
            key_files,
            quorum,
            origin,
            proof_file,
            leaf,
            document,
        } => {
            let verifiers = keys::read_verifier_keys(&keys, &key_files)?;
            let report = receipt::verify_receipt_file(
                &proof_file,
                verifiers,
                quorum,
                origin.as_deref(),
                leaf.as_deref(),
                document.as_deref(),
            )?;
            print!("{report}");
        }
        Command::Export { dir, out } => {
            let log = LocalLog::open(&dir)?;
            let checkpoint = log.checkpoint()?;
            let n = log
                .store
                .export_static(&out, &checkpoint.to_bytes())
                .map_err(anyhow::Error::from)?;
            eprintln!(
                "wrote {n} tile files and the checkpoint for {} entries to {}",
                log.store.size(),
                out.display()
            );
        }
        Command::Status { dir } => {
            let log = LocalLog::open(&dir)?;
            println!("origin {}", log.store.origin());
            println!("hash {}", log.store.suite().name());
            println!("size {}", log.store.size());
            println!("root {}", log.store.root());
            println!("signer {}", log.verifier);
        }
    }
    Ok(())
}

fn read_document(path: &Path) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if meta.len() > MAX_DOCUMENT_BYTES {
        bail!("{} is larger than 1 GiB", path.display());
    }
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// Milliseconds since the Unix epoch from the system clock: the only clock read.
fn now() -> Result<UnixMillis> {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("system clock is before 1970")?
        .as_millis();
    Ok(UnixMillis(
        u64::try_from(ms).context("system clock is out of range")?,
    ))
}

/// An open local log: the store plus its signing key.
pub(crate) struct LocalLog {
    pub(crate) store: LogStore,
    key: SignerKey,
    pub(crate) verifier: VerifierKey,
    origin: Origin,
}

impl LocalLog {
    /// `affix log init`: creates the store, records the key, signs the empty checkpoint.
    pub(crate) fn init(dir: &Path, origin: &str, key_file: &Path) -> Result<Self> {
        let origin = Origin::new(origin).context("invalid origin")?;
        let key = keys::read_key_file(key_file)?;
        let key_file = std::fs::canonicalize(key_file)
            .with_context(|| format!("resolving {}", key_file.display()))?;
        let key_path = key_file
            .to_str()
            .ok_or_else(|| anyhow!("key file path must be UTF-8"))?;
        let store = LogStore::create(dir, origin.as_str())?;
        let verifier = key.verifier_key().clone();
        std::fs::write(
            dir.join(SIGNER_FILE),
            format!("key {key_path}\nverifier {verifier}\n"),
        )
        .context("writing signer file")?;
        let log = Self {
            store,
            key,
            verifier,
            origin,
        };
        log.sign_checkpoint()?;
        Ok(log)
    }

    /// Opens a log and its signing key, checking the key is the one the log was made with.
    pub(crate) fn open(dir: &Path) -> Result<Self> {
        let store = LogStore::open(dir)?;
        let signer = std::fs::read_to_string(dir.join(SIGNER_FILE))
            .with_context(|| format!("{} has no signer file", dir.display()))?;
        let mut lines = signer.lines();
        let key_path = lines
            .next()
            .and_then(|l| l.strip_prefix("key "))
            .ok_or_else(|| anyhow!("malformed signer file"))?;
        let verifier = lines
            .next()
            .and_then(|l| l.strip_prefix("verifier "))
            .ok_or_else(|| anyhow!("malformed signer file"))?;
        let verifier = VerifierKey::parse(verifier).context("malformed signer file")?;
        let key = keys::read_key_file(Path::new(key_path))?;
        if *key.verifier_key() != verifier {
            bail!("key file {key_path} is not the key this log was created with ({verifier})");
        }
        let origin = Origin::new(store.origin()).context("stored origin")?;
        Ok(Self {
            store,
            key,
            verifier,
            origin,
        })
    }

    /// Builds the evidence record of one document: digests, never content.
    pub(crate) fn document_record(
        &self,
        content: &[u8],
        kind: &str,
        subject: Option<&str>,
        metadata: &[String],
    ) -> Result<Vec<u8>> {
        let sha = DigestAlgorithm::Sha256.digest(content);
        let default_subject = format!("doc-{}", hex::encode(&sha[..8]));
        let mut builder = EvidenceRecord::builder(
            kind,
            subject.unwrap_or(&default_subject),
            now()?,
            self.verifier.name().as_str(),
        )
        .digest_value("document", DigestAlgorithm::Sha256, sha)
        .digest_of("document", DigestAlgorithm::Sm3, content)
        .metadata("document.bytes", &content.len().to_string());
        for kv in metadata {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| anyhow!("metadata must be KEY=VALUE, got {kv:?}"))?;
            builder = builder.metadata(k, v);
        }
        Ok(builder.build().context("invalid evidence record")?.encode())
    }

    /// Appends records durably, then signs and stores the new checkpoint.
    pub(crate) fn append(&mut self, records: &[Vec<u8>]) -> Result<std::ops::Range<u64>> {
        let range = self.store.append(records)?;
        self.sign_checkpoint()?;
        Ok(range)
    }

    fn sign_checkpoint(&self) -> Result<SignedCheckpoint> {
        let checkpoint = Checkpoint {
            origin: self.origin.clone(),
            size: self.store.size(),
            root: self.store.root(),
            extensions: Vec::new(),
        };
        let signed = checkpoint.sign(&[&self.key])?;
        self.store.save_checkpoint(&signed.to_bytes())?;
        Ok(signed)
    }

    /// The checkpoint for the current size: the stored one, or a freshly signed one if the
    /// stored one is missing or stale (e.g. a crash between append and checkpoint).
    pub(crate) fn checkpoint(&self) -> Result<SignedCheckpoint> {
        if let Some(bytes) = self.store.checkpoint()? {
            let signed = SignedCheckpoint::parse(&bytes).context("stored checkpoint")?;
            let c = signed.unverified_checkpoint();
            if c.size == self.store.size() && c.root == self.store.root() && c.origin == self.origin
            {
                return Ok(signed);
            }
        }
        self.sign_checkpoint()
    }

    /// The receipt of record `index` in the current tree, with the record as `extra`.
    pub(crate) fn receipt(&self, index: LeafIndex) -> Result<Receipt> {
        let checkpoint = self.checkpoint()?;
        let size = checkpoint.unverified_checkpoint().size;
        let entry = self.store.entry(index)?;
        let proof = self.store.inclusion_proof(index, size)?;
        Ok(Receipt {
            extra: Some(entry),
            index,
            proof,
            checkpoint,
        })
    }
}
