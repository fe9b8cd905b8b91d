//! The small HTTP servers of `affix ca serve` and `affix tsa serve`: problem+json
//! errors, typed bodies, and serving a router until killed.

use std::net::SocketAddr;

use anyhow::{Context as _, Result};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Largest request body the servers read.
pub(crate) const REQUEST_BYTES_MAX: usize = 64 * 1024;

/// An RFC 9457 problem: `https://affix.dev/problems/<kind>`.
pub(crate) fn problem(status: StatusCode, kind: &str, detail: &str) -> Response {
    let body = serde_json::json!({
        "type": format!("https://affix.dev/problems/{kind}"),
        "title": kind.replace('-', " "),
        "status": status.as_u16(),
        "detail": detail,
    });
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    r
}

/// `bytes` with `content_type`.
pub(crate) fn typed(bytes: Vec<u8>, content_type: &'static str) -> Response {
    let mut r = bytes.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// Serves `router` on `listen` until the process is killed; prints the address on stderr.
pub(crate) fn serve(router: axum::Router, listen: SocketAddr, what: &str) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        eprintln!("affix {what}: http://{}", listener.local_addr()?);
        axum::serve(listener, router).await?;
        Ok(())
    })
}
