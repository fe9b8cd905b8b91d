//! `affix`: the Affix command-line program.
//!
//! This binary is an I/O shell: it reads files, the clock and the operating system's
//! randomness, and hands everything else to the pure library crates (`affix-merkle`,
//! `affix-note`, `affix-evidence`) and the log store (`affix-logstore`).
//!
//! Exit codes: 0 success; 1 error (bad input, I/O, refused operation); 2 command-line
//! usage error; 3 verification failed (the evidence does not check out).
#![forbid(unsafe_code)]

mod bench;
mod consortium;
mod demo;
mod keys;
mod locallog;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Affix: legally valid electronic contracts whose evidence outlives the platform.
#[derive(Parser, Debug)]
#[command(name = "affix", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Walk through the standalone evidence log: keys, records, checkpoint, receipt,
    /// verification, tamper detection, consistency and static tiles.
    Demo {
        /// Directory to run in (a new run-<time> subdirectory is created inside).
        #[arg(long, default_value = "affix-demo")]
        dir: PathBuf,
    },
    /// Generate a note signing key; writes the secret key file and prints the verifier key.
    Keygen {
        /// Key name, conventionally a schema-less URL such as notary.example/log.
        #[arg(long)]
        name: String,
        /// Where to write the secret key (created with mode 0600; never overwritten).
        #[arg(long)]
        out: PathBuf,
        /// Signature algorithm.
        #[arg(long, value_enum, default_value_t = keys::Algorithm::Ed25519)]
        algorithm: keys::Algorithm,
    },
    /// A standalone evidence log on this machine, signed by one key.
    #[command(subcommand)]
    Log(locallog::LogCommand),
    /// Run one authority node of a consortium ledger.
    Node {
        /// Node configuration file (see affix-node's config module; `affix devnet` writes them).
        #[arg(long)]
        config: PathBuf,
    },
    /// Write a local consortium (keys, genesis, node configs) and run its nodes as separate
    /// processes on loopback until interrupted.
    Devnet {
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
    },
    /// Submit evidence to a consortium node and write each FILE.tlog-proof receipt.
    Submit {
        /// Node URL; repeat to fall back to other nodes.
        #[arg(long = "node", required = true)]
        nodes: Vec<String>,
        /// Files: documents (a record with their digests is logged) or, with --raw,
        /// evidence records.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The files are evidence records already.
        #[arg(long)]
        raw: bool,
        /// Event kind of the records made for documents.
        #[arg(long, default_value = "document.notarized")]
        kind: String,
        /// Give up waiting for receipts after this many seconds.
        #[arg(long, default_value_t = 120)]
        timeout: u64,
        /// Verify each receipt against this consortium verifier keys file.
        #[arg(long)]
        keys: Option<PathBuf>,
    },
    /// Verify a receipt offline against a consortium's verifier keys.
    VerifyReceipt {
        /// Verifier keys file (one key per line; a consortium header gives origin and quorum).
        #[arg(long)]
        keys: PathBuf,
        /// Signatures required (default: the file's quorum, or all keys).
        #[arg(long)]
        quorum: Option<usize>,
        /// Required origin (default: the file's, else the receipt's).
        #[arg(long)]
        origin: Option<String>,
        /// The receipt.
        receipt: PathBuf,
        /// The original document: checks the record holds its digest.
        #[arg(long)]
        document: Option<PathBuf>,
    },
    /// Load generators for benchmarks (see scripts/bench-ledger.sh).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Follow consortium nodes through their tiles, verify everything, keep a copy and
    /// serve the same read API.
    Mirror {
        /// Node (or mirror) URL to follow; repeat for fallbacks.
        #[arg(long = "from", required = true)]
        from: Vec<String>,
        /// Directory for the copy.
        #[arg(long)]
        dir: PathBuf,
        /// The consortium's verifier keys file.
        #[arg(long)]
        keys: PathBuf,
        /// Address to serve the read API on.
        #[arg(long, default_value = "127.0.0.1:8900")]
        listen: std::net::SocketAddr,
        /// Poll interval in milliseconds.
        #[arg(long, default_value_t = 500)]
        interval_ms: u64,
    },
}

#[derive(Subcommand, Debug)]
enum BenchCommand {
    /// Submit records to a consortium and wait for their receipts; prints JSON.
    Ledger {
        /// File of node URLs, one a line (`affix devnet` writes DIR/nodes).
        #[arg(long)]
        nodes: PathBuf,
        /// The consortium's verifier keys file.
        #[arg(long)]
        keys: PathBuf,
        /// Records to submit.
        #[arg(long, default_value_t = 200_000)]
        records: u64,
        /// Records per request.
        #[arg(long, default_value_t = 1000)]
        batch: u64,
        /// Requests in flight.
        #[arg(long, default_value_t = 24)]
        concurrency: usize,
    },
    /// The same number of replicated puts against etcd's v3 JSON gateway; prints JSON.
    Etcd {
        /// etcd client URL; repeat for every member.
        #[arg(long = "endpoint", required = true)]
        endpoints: Vec<String>,
        /// Puts.
        #[arg(long, default_value_t = 200_000)]
        records: u64,
        /// Requests in flight.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
    },
}

/// An error that maps to an exit code: verification failures are told apart from the rest.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The evidence did not verify (exit 3).
    Verification(anyhow::Error),
    /// Anything else (exit 1).
    Error(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Error(e)
    }
}

fn verify_receipt(
    keys: &std::path::Path,
    quorum: Option<usize>,
    origin: Option<String>,
    receipt: &std::path::Path,
    document: Option<&std::path::Path>,
) -> Result<(), Failure> {
    let (verifiers, file_origin, file_quorum) = consortium::read_keys_file(keys)?;
    let report = verify::verify_receipt_file(
        receipt,
        verifiers,
        quorum.or(file_quorum),
        origin.or(file_origin).as_deref(),
        None,
        document,
    )?;
    print!("{report}");
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo { dir } => demo::run(&dir).map_err(Failure::from),
        Command::Keygen {
            name,
            out,
            algorithm,
        } => keys::keygen(&name, &out, algorithm).map_err(Failure::from),
        Command::Log(cmd) => locallog::run(cmd),
        Command::Node { config } => consortium::node(&config).map_err(Failure::from),
        Command::Devnet {
            nodes,
            dir,
            origin,
            no_start,
        } => consortium::devnet(&dir, nodes, &origin, no_start).map_err(Failure::from),
        Command::Submit {
            nodes,
            files,
            raw,
            kind,
            timeout,
            keys,
        } => consortium::submit(
            &nodes,
            &files,
            raw,
            &kind,
            std::time::Duration::from_secs(timeout),
            keys.as_deref(),
        )
        .map_err(Failure::from),
        Command::VerifyReceipt {
            keys,
            quorum,
            origin,
            receipt,
            document,
        } => verify_receipt(&keys, quorum, origin, &receipt, document.as_deref()),
        Command::Bench(BenchCommand::Ledger {
            nodes,
            keys,
            records,
            batch,
            concurrency,
        }) => bench::ledger(&nodes, &keys, records, batch, concurrency).map_err(Failure::from),
        Command::Bench(BenchCommand::Etcd {
            endpoints,
            records,
            concurrency,
        }) => bench::etcd(&endpoints, records, concurrency).map_err(Failure::from),
        Command::Mirror {
            from,
            dir,
            keys,
            listen,
            interval_ms,
        } => consortium::mirror(
            &from,
            &dir,
            &keys,
            listen,
            std::time::Duration::from_millis(interval_ms),
        )
        .map_err(Failure::from),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Verification(e)) => {
            eprintln!("affix: verification FAILED: {e:#}");
            ExitCode::from(3)
        }
        Err(Failure::Error(e)) => {
            eprintln!("affix: error: {e:#}");
            ExitCode::from(1)
        }
    }
}
