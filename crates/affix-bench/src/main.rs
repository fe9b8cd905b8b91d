//! `affix-bench`: Affix's load generators, one subcommand per benchmark in
//! docs/benchmarks.md (the `scripts/bench-*.sh` scripts run them).
//!
//! - `ledger` and `etcd`: records submitted to a consortium until their receipts come
//!   back, beside the same number of replicated puts to etcd (`scripts/bench-ledger.sh`);
//!   `tsa`: RFC 3161 requests against a TSA over HTTP (`scripts/bench-pki.sh`).
//! - `vault`: 10M keys created, authorized signatures per algorithm beside the raw
//!   signing rate, latency at half load, and SoftHSM2 over PKCS#11 as a peer
//!   (`scripts/bench-vault.sh`).
//! - `platform`: complete two-party contract flows through the platform's HTTP API
//!   (`scripts/bench-platform.sh`).
//! - `loans`: the loan scheduler with a million active loans (`scripts/bench-loans.sh`),
//!   seeded through the platform's `bench` feature (`affix_platform::seed`), never
//!   with SQL of its own.
//!
//! Not published and not a default member of the workspace: it turns on the `bench`
//! features of `affix-platform` and `affix-vault`, whose hooks (seeding, stage timers,
//! the raw signer) the `affix` binary does not carry.
//!
//! Progress goes to stderr as a bar when stderr is a terminal, and nowhere otherwise;
//! results go to stdout.
#![forbid(unsafe_code)]

mod ledger;
mod loans;
mod pkcs11_peer;
mod platform;
mod progress;
mod vault;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Affix load generators (docs/benchmarks.md).
#[derive(Parser, Debug)]
#[command(name = "affix-bench", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Submit records to a consortium and wait for their receipts; prints JSON.
    Ledger(ledger::LedgerArgs),
    /// RFC 3161 requests against a TSA over HTTP; prints JSON.
    Tsa(ledger::TsaArgs),
    /// The same number of replicated puts against etcd's v3 JSON gateway; prints JSON.
    Etcd(ledger::EtcdArgs),
    /// The key vault: 10M keys created, authorized signatures per algorithm beside the raw
    /// signing rate, latency at half load, and SoftHSM2 over PKCS#11 as a peer.
    Vault(vault::Args),
    /// The signing platform in process: complete two-party contract flows through the
    /// HTTP API (throughput, closed loop; signing latency, open loop) with the stage
    /// breakdown (see scripts/bench-platform.sh).
    Platform(platform::Args),
    /// The loan scheduler with many active loans: one day's due rules evaluated and
    /// their actions enqueued, timed (see scripts/bench-loans.sh).
    Loans(loans::Args),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Ledger(args) => ledger::ledger(&args),
        Command::Tsa(args) => ledger::tsa(&args),
        Command::Etcd(args) => ledger::etcd(&args),
        Command::Vault(args) => vault::run(&args),
        Command::Platform(args) => platform::run(&args),
        Command::Loans(args) => loans::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("affix-bench: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
