//! `affix vault wallet ...`: HD wallets sealed in the vault; keys derived from the seed
//! sign on the owner's authorization.

use std::io::Write as _;
use std::path::PathBuf;

use affix_vault::{
    OwnerId, TenantId, WalletChain, WalletId, WalletPayload, WalletSignRequest, WordCount,
};
use anyhow::{Context as _, Result};
use clap::Subcommand;

use super::master::open_vault;
use super::{
    AUTHORIZATION_LIFETIME_MS, VaultArgs, now_ms, parse_chain, parse_digest, parse_owner,
    parse_tenant, parse_wallet, parse_words, usage_error,
};
use crate::cmd::device::file::DeviceFile;

/// `affix vault wallet ...`.
#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Create a wallet for an owner (the seed is generated inside the vault and never
    /// printed); prints its id once it is durable.
    Create {
        #[command(flatten)]
        vault: VaultArgs,
        /// Tenant.
        #[arg(long, value_parser = parse_tenant)]
        tenant: TenantId,
        /// Owner id (32 hex digits).
        #[arg(long, value_parser = parse_owner)]
        owner: OwnerId,
        /// Mnemonic length: 12 or 24 words.
        #[arg(long, default_value = "12", value_parser = parse_words)]
        words: WordCount,
    },
    /// Print the address and public key of a derived key.
    Address {
        #[command(flatten)]
        vault: VaultArgs,
        /// Tenant.
        #[arg(long, value_parser = parse_tenant)]
        tenant: TenantId,
        /// Wallet id.
        #[arg(long, value_parser = parse_wallet)]
        wallet: WalletId,
        /// ethereum, bitcoin, bitcoin-testnet, bitcoin-regtest or ed25519.
        #[arg(long, value_parser = parse_chain)]
        chain: WalletChain,
        /// Address index (the last level of the derivation path).
        #[arg(long, default_value_t = 0)]
        index: u32,
    },
    /// Sign with a derived key, authorized by the owner's device: an EIP-191 message or
    /// a raw 32-byte hash (ethereum; prints r‖s‖v), or an Ed25519 message.
    Sign {
        #[command(flatten)]
        vault: VaultArgs,
        /// Wallet id.
        #[arg(long, value_parser = parse_wallet)]
        wallet: WalletId,
        /// The owner's device-key file.
        #[arg(long)]
        device: PathBuf,
        /// ethereum or ed25519.
        #[arg(long, value_parser = parse_chain)]
        chain: WalletChain,
        /// Address index.
        #[arg(long, default_value_t = 0)]
        index: u32,
        /// The message (UTF-8 text).
        #[arg(long, conflicts_with_all = ["input", "hash"])]
        message: Option<String>,
        /// The message, from a file.
        #[arg(long = "in", conflicts_with = "hash")]
        input: Option<PathBuf>,
        /// A 32-byte hash to sign as it is (ethereum), 64 hex digits.
        #[arg(long, value_parser = parse_digest)]
        hash: Option<[u8; 32]>,
    },
    /// Print every evidence record about a wallet.
    Audit {
        #[command(flatten)]
        vault: VaultArgs,
        /// Tenant.
        #[arg(long, value_parser = parse_tenant)]
        tenant: TenantId,
        /// Wallet id.
        #[arg(long, value_parser = parse_wallet)]
        wallet: WalletId,
    },
}

/// Runs one `affix vault wallet` command.
pub(super) fn run(command: Command) -> Result<()> {
    match command {
        Command::Create {
            vault,
            tenant,
            owner,
            words,
        } => {
            let v = open_vault(&vault)?;
            let info = v
                .create_wallet(&tenant, owner, words, now_ms())
                .context("creating the wallet")?;
            // Printed only now: the wallet is durable (store and evidence outbox).
            println!("wallet {}", info.id);
            println!("words {}", info.words);
            if let Some(leaf) = info.evidence_leaf {
                println!("evidence-leaf {leaf}");
            }
            Ok(())
        }
        Command::Address {
            vault,
            tenant,
            wallet,
            chain,
            index,
        } => {
            let v = open_vault(&vault)?;
            let address = v.wallet_address(&tenant, &wallet, chain, index)?;
            println!("chain {}", chain.name());
            println!("path {}", address.path);
            println!("address {}", address.address);
            println!("public-key {}", hex::encode(&address.public_key));
            Ok(())
        }
        Command::Sign {
            vault,
            wallet,
            device,
            chain,
            index,
            message,
            input,
            hash,
        } => {
            let device = DeviceFile::read(&device)?;
            let tenant = device.vault_owner()?.tenant.clone();
            let message = match (message, input) {
                (Some(text), None) => Some(text.into_bytes()),
                (None, Some(path)) => Some(
                    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?,
                ),
                _ => None,
            };
            let payload = match (chain, message, hash) {
                (WalletChain::Ethereum, Some(m), None) => WalletPayload::EthereumMessage(m),
                (WalletChain::Ethereum, None, Some(h)) => WalletPayload::EthereumHash(h),
                (WalletChain::Ed25519, Some(m), None) => WalletPayload::Ed25519Message(m),
                (WalletChain::Ethereum, _, _) => {
                    usage_error("give --message TEXT, --in FILE or --hash HEX")
                }
                (WalletChain::Ed25519, _, _) => {
                    usage_error("ed25519 signs messages: give --message TEXT or --in FILE")
                }
                _ => usage_error("wallet keys sign for --chain ethereum or ed25519"),
            };
            let v = open_vault(&vault)?;
            let now = now_ms();
            let statement = affix_vault::UnboundStatement::for_wallet_signing(
                &tenant,
                wallet,
                index,
                &payload,
                now,
                AUTHORIZATION_LIFETIME_MS,
            )?;
            let authorization = device.vault_key()?.authorize(statement);
            let signed = v
                .wallet_sign(
                    &WalletSignRequest {
                        tenant,
                        wallet,
                        index,
                        payload,
                        authorization,
                    },
                    now,
                )
                .context("signing refused")?;
            println!("signature {}", hex::encode(&signed.signature));
            println!("address {}", signed.address.address);
            println!("path {}", signed.address.path);
            println!("evidence-leaf {}", signed.evidence_leaf);
            Ok(())
        }
        Command::Audit {
            vault,
            tenant,
            wallet,
        } => {
            let v = open_vault(&vault)?;
            let mut out = std::io::stdout().lock();
            super::audit::print_audit(&mut out, &v.audit_wallet(&tenant, &wallet, usize::MAX)?)?;
            out.flush()?;
            Ok(())
        }
    }
}
