//! `affix vault audit`: every evidence record about a key.

use std::io::Write as _;

use affix_vault::{KeyId, TenantId};
use anyhow::Result;
use clap::Args as ClapArgs;

use super::{VaultArgs, parse_key, parse_tenant};

/// Audit records fetched per page.
const AUDIT_PAGE: usize = 1000;

/// Arguments of `affix vault audit`.
#[derive(ClapArgs, Debug)]
pub(crate) struct Args {
    #[command(flatten)]
    vault: VaultArgs,
    /// Tenant.
    #[arg(long, value_parser = parse_tenant)]
    tenant: TenantId,
    /// Key id.
    #[arg(long, value_parser = parse_key)]
    key: KeyId,
}

/// Prints the key's records, a page at a time.
pub(super) fn run(args: &Args) -> Result<()> {
    let vault = super::master::open_vault(&args.vault)?;
    let mut out = std::io::stdout().lock();
    let mut from = 0;
    loop {
        let page = vault.audit_key(&args.tenant, &args.key, from, AUDIT_PAGE)?;
        print_audit(&mut out, &page)?;
        match page.last() {
            Some(last) if page.len() == AUDIT_PAGE => from = last.leaf + 1,
            _ => break,
        }
    }
    out.flush()?;
    Ok(())
}

/// One line per evidence record: leaf, kind, time, metadata.
pub(super) fn print_audit(
    out: &mut impl std::io::Write,
    entries: &[affix_vault::AuditEntry],
) -> Result<()> {
    for entry in entries {
        let r = &entry.record;
        let metadata: Vec<String> = r
            .metadata()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        writeln!(
            out,
            "{}\t{}\t{}\t{}",
            entry.leaf,
            r.kind(),
            r.event_time().to_rfc3339(),
            metadata.join(" ")
        )?;
    }
    Ok(())
}
