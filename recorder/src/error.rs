//! The recorder's error type.

use std::net::SocketAddr;

/// Why a recorder could not be built or installed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A catalog breaks a naming rule or an invariant; every problem is listed.
    #[error("invalid metric catalog `{catalog}`:\n{}", .problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    InvalidCatalog {
        /// The catalog's name (`MetricCatalog::NAME`).
        catalog: &'static str,
        /// Every problem found.
        problems: Vec<catalog::Problem>,
    },
    /// The same catalog (or two catalogs of the same name) registered twice.
    #[error(
        "catalog `{catalog}` is registered twice (the recorder registers its own self-metrics catalog `recorder` itself): register each catalog once"
    )]
    DuplicateCatalog {
        /// The catalog's name.
        catalog: &'static str,
    },
    /// Two catalogs expose the same name: their series would mix in one family.
    #[error(
        "catalogs `{first}` and `{second}` both expose `{name}` (metric `{metric}` of `{second}`): rename one of them"
    )]
    NameCollision {
        /// The exposed name both declare.
        name: String,
        /// The metric of the second catalog that exposes it.
        metric: &'static str,
        /// The catalog registered first.
        first: &'static str,
        /// The catalog registered second.
        second: &'static str,
    },
    /// A feature turned on or off that no served metric depends on (a typo, or a
    /// catalog not registered).
    #[error("feature `{feature}` is not declared by any served metric (declared: {declared:?})")]
    UnknownFeature {
        /// The feature named.
        feature: String,
        /// Every feature the served catalogs declare.
        declared: Vec<String>,
    },
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
