//! `affix`: the Affix command-line program.
//!
//! One binary for the whole system: the signing platform (`affix serve`), the
//! consortium ledger (`node`, `devnet`, `submit`, `mirror`), the certificate and
//! time-stamping authorities (`ca`, `tsa`, `timestamp`), CMS signatures (`sign`,
//! `verify`), the key vault (`vault`), a signer's device (`device`), a standalone
//! notarial evidence log (`keygen`, `log`, `demo`), and the offline checks a relying
//! party runs (`verify-bundle`, `verify-receipt`). Load generators are a separate
//! binary, `affix-bench`.
//!
//! This binary is an I/O shell: it reads files, the clock and the operating system's
//! randomness, and hands everything else to the library crates. Each command is one
//! module of [`cmd`], owning its arguments; this file only dispatches.
//!
//! Exit codes: 0 success; 1 error (bad input, I/O, refused operation); 2 command-line
//! usage error; 3 verification failed (the evidence does not check out); 4 evidence
//! checked only against trust anchors it carries itself (`verify-bundle
//! --dangerous-trust-bundle-anchors`), which is never a success.
#![forbid(unsafe_code)]

mod cmd;
mod failure;
mod http;
mod keys;
mod logging;
mod pki_files;
mod progress;
mod receipt;
mod verifier_keys;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub(crate) use failure::Failure;

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
    Serve(cmd::serve::Args),
    /// Verify a contract's evidence bundle offline against the consortium's verifier keys
    /// and the CA root: every receipt, the event chain, every CMS signature and
    /// time-stamp, the document digest.
    VerifyBundle(cmd::verify_bundle::Args),
    /// A signer's device key for HTTP clients of the platform.
    #[command(subcommand)]
    Device(cmd::device::Command),
    /// Walk through the standalone evidence log: keys, records, checkpoint, receipt,
    /// verification, tamper detection, consistency and static tiles.
    Demo(cmd::demo::Args),
    /// Generate a note signing key; writes the secret key file and prints the verifier key.
    Keygen(cmd::keygen::Args),
    /// A standalone evidence log on this machine, signed by one key.
    #[command(subcommand)]
    Log(cmd::log::Command),
    /// Run one authority node of a consortium ledger.
    Node(cmd::node::Args),
    /// Write a local consortium (keys, genesis, node configs) and run its nodes as separate
    /// processes on loopback until interrupted.
    Devnet(cmd::devnet::Args),
    /// Submit evidence to a consortium node and write each FILE.tlog-proof receipt.
    Submit(cmd::submit::Args),
    /// Verify a receipt offline against a consortium's verifier keys.
    VerifyReceipt(cmd::verify_receipt::Args),
    /// Certificate authority: keys and certificates for signers, CRLs, OCSP.
    #[command(subcommand)]
    Ca(cmd::ca::Command),
    /// Time-stamping authority (RFC 3161).
    #[command(subcommand)]
    Tsa(cmd::tsa::Command),
    /// Get an RFC 3161 time-stamp token for FILE (written to FILE.tsr after verification).
    Timestamp(cmd::timestamp::Args),
    /// Sign FILE: a detached CMS signature (FILE.p7s), time-stamped with --tsa (CAdES-T).
    Sign(cmd::sign::Args),
    /// Verify a detached CMS signature over FILE.
    Verify(cmd::verify::Args),
    /// Key vault: create keys, sign with the owner's authorization, audit, rotate master
    /// keys, recover, serve the HTTP API.
    #[command(subcommand)]
    Vault(cmd::vault::Command),
    /// Follow consortium nodes through their tiles, verify everything, keep a copy and
    /// serve the same read API.
    Mirror(cmd::mirror::Args),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Serve(args) => cmd::serve::run(args).map_err(Failure::from),
        Command::VerifyBundle(args) => cmd::verify_bundle::run(&args),
        Command::Device(command) => cmd::device::run(command),
        Command::Demo(args) => cmd::demo::run(&args).map_err(Failure::from),
        Command::Keygen(args) => cmd::keygen::run(&args).map_err(Failure::from),
        Command::Log(command) => cmd::log::run(command),
        Command::Node(args) => cmd::node::run(&args).map_err(Failure::from),
        Command::Devnet(args) => cmd::devnet::run(&args).map_err(Failure::from),
        Command::Submit(args) => cmd::submit::run(&args).map_err(Failure::from),
        Command::VerifyReceipt(args) => cmd::verify_receipt::run(args),
        Command::Ca(command) => cmd::ca::run(command).map_err(Failure::from),
        Command::Tsa(command) => cmd::tsa::run(command).map_err(Failure::from),
        Command::Timestamp(args) => cmd::timestamp::run(&args).map_err(Failure::from),
        Command::Sign(args) => cmd::sign::run(&args).map_err(Failure::from),
        Command::Verify(args) => cmd::verify::run(&args),
        Command::Vault(command) => cmd::vault::run(command).map_err(Failure::from),
        Command::Mirror(args) => cmd::mirror::run(&args).map_err(Failure::from),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}
