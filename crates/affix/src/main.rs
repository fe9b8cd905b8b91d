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
mod bench_platform;
mod bench_vault;
mod consortium;
mod demo;
mod keys;
mod locallog;
mod pki;
mod serve;
mod vault_cli;
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
    /// Run the signing platform (HTTP API) on its embedded defaults or a configuration:
    /// SQLite, a single-authority ledger in process, a vault with a key-file master key,
    /// the CA and TSA, e-mail to a file outbox unless SMTP is configured.
    Serve {
        /// TOML configuration (the keys are listed at the top of
        /// crates/affix-platform/src/config.rs); AFFIX_* variables override it.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Listen address (default 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<String>,
        /// Data directory (default ./affix-data).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Verify a contract's evidence bundle offline: every receipt against the
    /// consortium's verifier keys, the event chain, every CMS signature and time-stamp
    /// against the CA root, the document digest.
    VerifyBundle {
        /// The bundle (GET /v1/contracts/{id}/bundle).
        bundle: PathBuf,
        /// The consortium's verifier-keys file (default: the copy inside the bundle,
        /// with a warning).
        #[arg(long)]
        keys: Option<PathBuf>,
        /// The CA root certificate, PEM (default: the copy inside the bundle, with a
        /// warning).
        #[arg(long)]
        ca: Option<PathBuf>,
    },
    /// A signer's device key for HTTP clients of the platform.
    #[command(subcommand)]
    Device(DeviceCommand),
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
    /// Certificate authority: keys and certificates for signers, CRLs, OCSP.
    #[command(subcommand)]
    Ca(CaCommand),
    /// Time-stamping authority (RFC 3161).
    #[command(subcommand)]
    Tsa(TsaCommand),
    /// Get an RFC 3161 time-stamp token for FILE (written to FILE.tsr after verification).
    Timestamp {
        /// The file.
        file: PathBuf,
        /// TSA URL.
        #[arg(long)]
        tsa: String,
        /// CA certificate(s) that issued the TSA certificate.
        #[arg(long = "ca", required = true)]
        ca: Vec<PathBuf>,
        /// Output file (default FILE.tsr).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Sign FILE: a detached CMS signature (FILE.p7s), time-stamped with --tsa (CAdES-T).
    Sign {
        /// Make a CMS (RFC 5652) signature; the only format for now.
        #[arg(long, required = true)]
        cms: bool,
        /// The file to sign.
        file: PathBuf,
        /// Signer certificate (PEM).
        #[arg(long)]
        cert: PathBuf,
        /// Signer key (PKCS#8 PEM, P-256).
        #[arg(long)]
        key: PathBuf,
        /// Intermediate certificates to include.
        #[arg(long)]
        chain: Vec<PathBuf>,
        /// TSA URL for a signature time-stamp.
        #[arg(long)]
        tsa: Option<String>,
        /// CA certificate(s) that issued the TSA certificate.
        #[arg(long = "tsa-ca")]
        tsa_ca: Vec<PathBuf>,
        /// Output file (default FILE.p7s).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Verify a detached CMS signature over FILE.
    Verify {
        /// Verify a CMS (RFC 5652) signature.
        #[arg(long, required = true)]
        cms: bool,
        /// The signature (.p7s).
        signature: PathBuf,
        /// The signed file.
        file: PathBuf,
        /// Trusted CA certificate(s): the root, and intermediates.
        #[arg(long = "ca", required = true)]
        ca: Vec<PathBuf>,
        /// CRL(s) to check the signer's certificate against (DER or PEM).
        #[arg(long = "crl")]
        crls: Vec<PathBuf>,
    },
    /// Load generators for benchmarks (see scripts/bench-ledger.sh).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Key vault: create keys, sign with the owner's authorization, audit, rotate master
    /// keys, recover, serve the HTTP API.
    #[command(subcommand)]
    Vault(vault_cli::VaultCommand),
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
enum CaCommand {
    /// Create a root and an issuing CA (ECDSA P-256) in DIR.
    Init {
        /// CA directory.
        #[arg(long)]
        dir: PathBuf,
        /// Organization name in the CA certificates.
        #[arg(long)]
        name: String,
        /// OCSP responder URL to put in issued certificates.
        #[arg(long)]
        ocsp_url: Option<String>,
        /// CRL URL to put in issued certificates.
        #[arg(long)]
        crl_url: Option<String>,
        /// Validity of the issuing CA in days (the root gets twice as long).
        #[arg(long, default_value_t = 3650)]
        days: u64,
    },
    /// Issue a certificate: for a CSR, or for a new key written to --key-out.
    Issue {
        /// CA directory.
        #[arg(long)]
        dir: PathBuf,
        /// person, organization or tsa.
        #[arg(long, default_value = "person")]
        profile: String,
        /// Subject name (a person's name, or the organization's registered name).
        #[arg(long)]
        name: String,
        /// Organization of a person.
        #[arg(long)]
        organization: Option<String>,
        /// Unified social credit code of an organization (18 characters).
        #[arg(long)]
        credit_code: Option<String>,
        /// PKCS#10 request (PEM or DER); its key stays with the requester.
        #[arg(long)]
        csr: Option<PathBuf>,
        /// Generate a P-256 key and write it here (mode 0600).
        #[arg(long)]
        key_out: Option<PathBuf>,
        /// Validity in days.
        #[arg(long, default_value_t = 365)]
        days: u64,
        /// Where to write the certificate (PEM).
        #[arg(long)]
        out: PathBuf,
    },
    /// Revoke a certificate (hex serial) and publish a new CRL.
    Revoke {
        /// CA directory.
        #[arg(long)]
        dir: PathBuf,
        /// Serial number, hex.
        serial: String,
        /// keyCompromise, superseded, cessationOfOperation, affiliationChanged, ...
        #[arg(long, default_value = "keyCompromise")]
        reason: String,
    },
    /// Sign a fresh CRL; writes DER to --out (default DIR/crl.der).
    Crl {
        /// CA directory.
        #[arg(long)]
        dir: PathBuf,
        /// Output file.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Serve OCSP (POST /ocsp) and the CRL (GET /crl).
    Serve {
        /// CA directory.
        #[arg(long)]
        dir: PathBuf,
        /// Listen address.
        #[arg(long, default_value = "127.0.0.1:8180")]
        listen: std::net::SocketAddr,
    },
}

#[derive(Subcommand, Debug)]
enum TsaCommand {
    /// Create a TSA: a key and a certificate issued by the CA in --ca.
    Init {
        /// TSA directory.
        #[arg(long)]
        dir: PathBuf,
        /// CA directory that issues the TSA certificate.
        #[arg(long)]
        ca: PathBuf,
        /// TSA name.
        #[arg(long, default_value = "Affix Time-Stamping Authority")]
        name: String,
    },
    /// Serve RFC 3161 over HTTP (POST / with application/timestamp-query).
    Serve {
        /// TSA directory.
        #[arg(long)]
        dir: PathBuf,
        /// Listen address.
        #[arg(long, default_value = "127.0.0.1:8318")]
        listen: std::net::SocketAddr,
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
    /// RFC 3161 requests against a TSA over HTTP; prints JSON.
    Tsa {
        /// TSA URL.
        #[arg(long)]
        url: String,
        /// Requests.
        #[arg(long, default_value_t = 20_000)]
        requests: u64,
        /// Requests in flight.
        #[arg(long, default_value_t = 32)]
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
    /// The key vault: 10M keys created, authorized signatures per algorithm beside the raw
    /// signing rate, latency at half load, and SoftHSM2 over PKCS#11 as a peer.
    Vault(bench_vault::VaultBench),
    /// The signing platform in process: complete two-party contract flows through the
    /// HTTP API (throughput, closed loop; signing latency, open loop) with the stage
    /// breakdown (see scripts/bench-platform.sh).
    Platform(bench_platform::PlatformBench),
}

/// `affix device ...`.
#[derive(Subcommand, Debug)]
enum DeviceCommand {
    /// Generate an Ed25519 device key (mode 0600); prints its public key (base64), the
    /// `device_public_key` of the first identity check.
    Keygen {
        /// Where to write it (never overwritten).
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign a prepared vault authorization statement (base64, from
    /// POST /v1/invite/sign/prepare); prints the `device_signature`.
    Sign {
        /// The device key file.
        #[arg(long)]
        key: PathBuf,
        /// The statement (base64).
        statement: String,
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

fn run_ca(cmd: CaCommand) -> anyhow::Result<()> {
    match cmd {
        CaCommand::Init {
            dir,
            name,
            ocsp_url,
            crl_url,
            days,
        } => pki::ca_init(&dir, &name, ocsp_url.as_deref(), crl_url.as_deref(), days),
        CaCommand::Issue {
            dir,
            profile,
            name,
            organization,
            credit_code,
            csr,
            key_out,
            days,
            out,
        } => {
            let cert = pki::ca_issue(
                &dir,
                &pki::IssueRequest {
                    profile: &profile,
                    name: &name,
                    organization: organization.as_deref(),
                    credit_code: credit_code.as_deref(),
                    csr: csr.as_deref(),
                    key_out: key_out.as_deref(),
                    days,
                    out: &out,
                },
            )?;
            println!(
                "{}\tserial {}",
                out.display(),
                hex::encode(cert.tbs_certificate().serial_number().as_bytes())
            );
            Ok(())
        }
        CaCommand::Revoke {
            dir,
            serial,
            reason,
        } => pki::ca_revoke(&dir, &serial, &reason),
        CaCommand::Crl { dir, out } => {
            let der = pki::ca_crl(&dir)?;
            if let Some(out) = out {
                std::fs::write(out, der)?;
            }
            Ok(())
        }
        CaCommand::Serve { dir, listen } => pki::ca_serve(&dir, listen),
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
        Command::Serve {
            config,
            listen,
            data_dir,
        } => serve::serve(config.as_deref(), listen.as_deref(), data_dir.as_deref())
            .map_err(Failure::from),
        Command::VerifyBundle { bundle, keys, ca } => {
            serve::verify_bundle(&bundle, keys.as_deref(), ca.as_deref())
        }
        Command::Device(DeviceCommand::Keygen { out }) => {
            serve::device_keygen(&out).map_err(Failure::from)
        }
        Command::Device(DeviceCommand::Sign { key, statement }) => {
            serve::device_sign(&key, &statement).map_err(Failure::from)
        }
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
        Command::Ca(cmd) => run_ca(cmd).map_err(Failure::from),
        Command::Tsa(TsaCommand::Init { dir, ca, name }) => {
            pki::tsa_init(&dir, &ca, &name).map_err(Failure::from)
        }
        Command::Tsa(TsaCommand::Serve { dir, listen }) => {
            pki::tsa_serve(&dir, listen).map_err(Failure::from)
        }
        Command::Timestamp { file, tsa, ca, out } => {
            pki::timestamp(&file, &tsa, &ca, out.as_deref()).map_err(Failure::from)
        }
        Command::Sign {
            cms: _,
            file,
            cert,
            key,
            chain,
            tsa,
            tsa_ca,
            out,
        } => pki::sign_cms(
            &file,
            &cert,
            &key,
            &chain,
            tsa.as_deref().map(|u| (u, tsa_ca.as_slice())),
            out.as_deref(),
        )
        .map_err(Failure::from),
        Command::Verify {
            cms: _,
            signature,
            file,
            ca,
            crls,
        } => pki::verify_cms(&signature, &file, &ca, &crls).map(|report| print!("{report}")),
        Command::Bench(BenchCommand::Ledger {
            nodes,
            keys,
            records,
            batch,
            concurrency,
        }) => bench::ledger(&nodes, &keys, records, batch, concurrency).map_err(Failure::from),
        Command::Bench(BenchCommand::Tsa {
            url,
            requests,
            concurrency,
        }) => bench::tsa(&url, requests, concurrency).map_err(Failure::from),
        Command::Bench(BenchCommand::Etcd {
            endpoints,
            records,
            concurrency,
        }) => bench::etcd(&endpoints, records, concurrency).map_err(Failure::from),
        Command::Bench(BenchCommand::Vault(args)) => bench_vault::run(&args).map_err(Failure::from),
        Command::Bench(BenchCommand::Platform(args)) => {
            bench_platform::run(&args).map_err(Failure::from)
        }
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
        Command::Vault(cmd) => vault_cli::run(cmd).map_err(Failure::from),
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
