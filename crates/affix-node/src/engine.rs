//! The consensus engine adapter (commonware). Work in progress.

/// Identifies the engine that produced stored finalization certificates.
pub const ENGINE_ID: &str = "commonware-consensus 2026.10.0 simplex ed25519";
