//! `affix serve`: the platform launched from a configuration, with this API in front.

use std::net::SocketAddr;
use std::sync::Arc;

use affix_node::embedded::EmbeddedLedger;
use affix_notify::{Clock, SystemClock};
use affix_platform::launch::{Launched, Ledger, launch};
use affix_platform::{Config, Error, Platform};

/// The origin of the embedded ledger (`affix serve` without `ledger.nodes`).
pub const EMBEDDED_LEDGER_ORIGIN: &str = "affix.local/ledger";

/// A running platform and its HTTP server.
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// Base URL.
    pub url: String,
    /// The platform.
    pub platform: Arc<Platform>,
    /// Where the operator token is.
    pub operator_token_file: std::path::PathBuf,
    /// Where e-mail goes when no SMTP relay is configured.
    pub outbox: Option<std::path::PathBuf>,
    launched: Launched,
    server: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Runs until the server task ends.
    pub async fn wait(self) {
        let Running {
            launched, server, ..
        } = self;
        let _ = server.await;
        launched.stop();
    }

    /// Stops serving.
    pub fn stop(self) {
        self.server.abort();
        self.launched.stop();
    }
}

/// Starts the platform (see [`affix_platform::launch::launch`]) and serves the API on
/// `config.listen`, on the system clock. Without `ledger.nodes` in the configuration,
/// it runs the embedded one-authority ledger in `<data_dir>/ledger` first.
///
/// # Errors
/// As [`launch`], and [`Error::Config`] when the address cannot be bound, or when it is
/// not a loopback address while e-mail would go to the file outbox (see
/// [`Config::check_outbox_exposure`]).
pub async fn start(config: Config) -> Result<Running, Error> {
    start_with_clock(config, Arc::new(SystemClock)).await
}

/// [`start`] on another clock (tests use a manual one).
///
/// # Errors
/// As [`start`].
pub async fn start_with_clock(config: Config, clock: Arc<dyn Clock>) -> Result<Running, Error> {
    // Before anything is bound or created (`launch` checks again).
    config.check_outbox_exposure()?;
    // Bound first: invite links point at the address actually bound (port 0 in tests).
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| Error::Config(format!("cannot listen on {}: {e}", config.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Io(e.to_string()))?;
    let ledger = if config.ledger.nodes.is_empty() {
        // The embedded one-authority ledger: the platform links only the node API's
        // client, so the node runs here, beside the server, for as long as the platform.
        // The data directory first, owner only: the ledger creates its directory inside.
        affix_platform::launch::create_private_dir(&config.data_dir)?;
        let dir = config.data_dir.join("ledger");
        let embedded = tokio::task::spawn_blocking(move || {
            EmbeddedLedger::start(&dir, EMBEDDED_LEDGER_ORIGIN)
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
        .map_err(|e| Error::Ledger(e.to_string()))?;
        Ledger::running(embedded.client(), embedded)
    } else {
        Ledger::configured(&config)?
    };
    // Invite links and the WebAuthn relying party: `localhost` for a loopback or
    // wildcard listener (a browser's secure context without TLS, and an RP id browsers
    // accept, which an IP address is not); set `public_url` for anything else.
    let bound = if addr.ip().is_loopback() || addr.ip().is_unspecified() {
        format!("http://localhost:{}", addr.port())
    } else {
        format!("http://{addr}")
    };
    let launched = launch(&config, clock, &bound, ledger).await?;
    let app = crate::routes::router(launched.platform.clone(), &config.limits)
        .map_err(|e| Error::Internal(e.to_string()))?;
    let server = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "HTTP server stopped");
        }
    });
    Ok(Running {
        addr,
        url: launched.platform.public_url().to_owned(),
        platform: launched.platform.clone(),
        operator_token_file: launched.operator_token_file.clone(),
        outbox: launched.outbox.clone(),
        launched,
        server,
    })
}
