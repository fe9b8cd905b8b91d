//! `affix mirror`: follows consortium nodes through their tiles, verifies everything,
//! keeps a copy and serves the same read API. A catch-up shows a progress bar on a
//! terminal.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};

/// Arguments of `affix mirror`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
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
    listen: SocketAddr,
    /// Poll interval in milliseconds.
    #[arg(long, default_value_t = 500)]
    interval_ms: u64,
}

/// How often the mirror's state is looked at (fatal errors, catch-up progress).
const WATCH_INTERVAL: Duration = Duration::from_millis(200);

/// Rounds fetching fewer entries than this are following, not catching up: no bar.
const CATCH_UP_BAR_ENTRIES_MIN: u64 = 4096;

/// Follows and serves until interrupted or a fatal error.
pub(crate) fn run(args: &Args) -> Result<()> {
    crate::logging::init("info");
    let policy = crate::verifier_keys::read_policy(&args.keys)?;
    let origin = policy.origin().to_string();
    let keys_text = crate::verifier_keys::read_text(&args.keys)?;
    let mirror = affix_node::mirror::Mirror::open(&args.dir, policy, keys_text, args.from.clone())?;
    let shared = affix_node::http::Shared::new(mirror);
    let listen = args.listen;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        eprintln!(
            "affix mirror of {origin}: serving http://{listen}, following {}",
            args.from.join(", ")
        );
        tokio::spawn(affix_node::mirror::follow(
            shared.clone(),
            Duration::from_millis(args.interval_ms),
        ));
        let serve = std::future::IntoFuture::into_future(axum::serve(
            listener,
            affix_node::http::read_router(shared.clone()),
        ));
        // A fatal error (a poisoned lock) stops the mirror: nothing may be served after it.
        let fatal = async {
            let mut progress: Option<crate::progress::Progress> = None;
            loop {
                tokio::time::sleep(WATCH_INTERVAL).await;
                if let Some(e) = shared.fatal() {
                    return e;
                }
                let catch_up = shared.lock().catch_up();
                match (catch_up, &mut progress) {
                    (Some(c), None) if c.target - c.from >= CATCH_UP_BAR_ENTRIES_MIN => {
                        let mut p = crate::progress::Progress::new(
                            "catch-up",
                            c.target - c.from,
                            "entries",
                        );
                        p.set(c.fetched);
                        progress = Some(p);
                    }
                    (Some(c), Some(p)) => {
                        p.set_total(c.target - c.from);
                        p.set(c.fetched);
                    }
                    (None, Some(_)) => {
                        if let Some(p) = progress.take() {
                            p.finish();
                        }
                    }
                    _ => {}
                }
            }
        };
        tokio::select! {
            served = serve => served?,
            e = fatal => bail!("mirror stopped: {e}"),
        }
        Ok(())
    })
}
