//! `affix`: the Affix command-line program.
//!
//! This binary is an I/O shell: it reads files, the clock and the operating system's
//! randomness, and hands everything else to the pure library crates (`affix-merkle`,
//! `affix-note`, `affix-evidence`) and the log store (`affix-logstore`).
//!
//! Exit codes: 0 success; 1 error (bad input, I/O, refused operation); 2 command-line
//! usage error; 3 verification failed (the evidence does not check out).
#![forbid(unsafe_code)]

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
