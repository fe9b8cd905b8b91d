//! Log output of the long-running commands (`serve`, `node`, `mirror`, the CA and TSA
//! servers): `tracing` to stderr, filtered by `AFFIX_LOG`.

/// Logs to stderr with `AFFIX_LOG`'s filter, else `default` (a `tracing` filter).
pub(crate) fn init(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("AFFIX_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // A second initialization (none happens in one process) would be a no-op.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}
