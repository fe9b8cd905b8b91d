//! `affix tsa ...`: an RFC 3161 time-stamping authority in a directory
//! (`affix_platform::authority::TsaDirectory`: `tsa.pem`, `tsa.key`, `chain.pem`,
//! `root.pem`, `tsa.toml`, `serial`), served over HTTP.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use affix_platform::authority::{CaDirectory, Serials, TsaDirectory};
use affix_tsp::{GenTime, TimeStampAuthority, TokenSerial};
use anyhow::Result;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use p256::ecdsa::{DerSignature, SigningKey};

use crate::http::{REQUEST_BYTES_MAX, problem, typed};

/// `affix tsa ...`.
#[derive(clap::Subcommand, Debug)]
pub(crate) enum Command {
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
        listen: SocketAddr,
    },
}

/// Runs one `affix tsa` command.
pub(crate) fn run(command: Command) -> Result<()> {
    match command {
        Command::Init { dir, ca, name } => {
            let ca = CaDirectory::open(&ca)?;
            TsaDirectory::create(&dir, &ca, &name, SystemTime::now())?;
            println!("TSA certificate: {}", dir.join("tsa.pem").display());
            Ok(())
        }
        Command::Serve { dir, listen } => serve(&dir, listen),
    }
}

struct TsaServer {
    tsa: TimeStampAuthority<SigningKey, DerSignature>,
    serials: Mutex<Serials>,
}

async fn tsa_post(State(s): State<Arc<TsaServer>>, headers: HeaderMap, body: Bytes) -> Response {
    if headers
        .get(header::CONTENT_TYPE)
        .is_none_or(|v| v.as_bytes() != b"application/timestamp-query")
    {
        return problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "wrong-content-type",
            "send application/timestamp-query",
        );
    }
    let Ok(serial) = s
        .serials
        .lock()
        .map_err(|_| ())
        .and_then(|mut g| g.take().map_err(|_| ()))
    else {
        return problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "serial store",
        );
    };
    // The only clock read of the TSA.
    let Ok(time) = GenTime::from_system_time(SystemTime::now()) else {
        return problem(StatusCode::INTERNAL_SERVER_ERROR, "internal", "clock");
    };
    match s.tsa.respond(&body, &TokenSerial::from_u64(serial), time) {
        Ok(affix_tsp::Response::Granted(der)) => typed(der, "application/timestamp-reply"),
        Ok(affix_tsp::Response::Rejected { der, reason }) => {
            if let Ok(mut g) = s.serials.lock() {
                g.give_back(serial);
            }
            tracing::info!(error = %reason, "time-stamp request rejected");
            // RFC 3161 rejections are answers, not HTTP errors.
            typed(der, "application/timestamp-reply")
        }
        Err(e) => {
            tracing::error!(error = %e, "TSA cannot issue");
            problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "tsa-unavailable",
                &e.to_string(),
            )
        }
    }
}

/// `affix tsa serve`: RFC 3161 over HTTP (POST `/` or `/tsa`, application/timestamp-query).
fn serve(dir: &Path, listen: SocketAddr) -> Result<()> {
    let tsa = TsaDirectory::open(dir)?;
    let state = Arc::new(TsaServer {
        tsa: tsa.authority()?,
        serials: Mutex::new(tsa.serials()?),
    });
    let router = axum::Router::new()
        .route("/", axum::routing::post(tsa_post))
        .route("/tsa", axum::routing::post(tsa_post))
        .layer(axum::extract::DefaultBodyLimit::max(REQUEST_BYTES_MAX))
        .with_state(state);
    crate::http::serve(router, listen, "time-stamping authority (RFC 3161)")
}
