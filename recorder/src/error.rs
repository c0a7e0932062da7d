//! The recorder's error type.

use std::net::SocketAddr;

/// Why a recorder could not be built or installed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The catalog breaks a naming rule or an invariant; every problem is listed.
    #[error("invalid metric catalog:\n{}", .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    InvalidCatalog(Vec<catalog::Problem>),
    /// The `/metrics` listener could not be started (bad address, port in use, ...).
    #[error("cannot serve /metrics on {address}: {reason}")]
    Listen {
        /// The address asked for.
        address: SocketAddr,
        /// What the operating system or exporter said.
        reason: String,
    },
    /// A recorder is already installed in this process.
    #[error("a metrics recorder is already installed in this process")]
    AlreadyInstalled,
    /// The `/metrics` server could not be started (runtime, thread or socket setup).
    #[error("cannot start the metrics server: {0}")]
    Server(String),
}
