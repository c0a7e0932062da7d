//! Benchmarks of the recorder's hot path against the `metrics` facade, the seed design
//! and peer crates, on identical workloads.
//!
//! Every implementation is a [`Subject`]: the same operations (unlabeled increment,
//! increment with two enumerated labels, increment with two runtime string labels,
//! histogram observation) over the metrics of the benchmark catalog ([`catalog::Bench`]),
//! so the criterion suite (`benches/hot_path.rs`) and the parity test
//! (`tests/parity.rs`) drive them all through one interface. Peer crates
//! (`prometheus`, `prometheus-client`, `measured`) sit behind the `peers` feature.
//!
//! Run everything with `cargo xtask bench` (see `docs/performance.md`).
//!
//! ```
//! use recorder_benches::{Subject, fixtures::Fixtures, subjects::MetricsHandles};
//!
//! let fixtures = Fixtures::new();
//! let exporter = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
//! metrics::with_local_recorder(&exporter, || {
//!     let subject = MetricsHandles::new();
//!     let labels = subject.prepare_static(fixtures.static_pairs[0]);
//!     subject.inc_static(&labels);
//! });
//! ```

pub mod catalog;
pub mod fixtures;
#[cfg(feature = "peers")]
pub mod peers;
pub mod seed;
pub mod subjects;

/// One implementation under test, recording the benchmark catalog's workloads.
pub trait Subject: Sync {
    /// Enumerated label values of [`catalog::Bench::Responses`], prepared the way this
    /// implementation takes them (strings, enums or a cached handle index).
    type Static: Sync;

    /// Prepares the label values `(method, status)`, indexes into
    /// [`catalog::METHODS`] and [`catalog::STATUSES`]. Not timed.
    fn prepare_static(&self, pair: (usize, usize)) -> Self::Static;

    /// Adds one to [`catalog::Bench::Requests`] (no labels).
    fn inc_unlabeled(&self);

    /// Adds one to [`catalog::Bench::Responses`] (two enumerated labels).
    fn inc_static(&self, labels: &Self::Static);

    /// Observes `value` into [`catalog::Bench::Latency`] (no labels).
    fn observe(&self, value: f64);
}

/// An implementation that records runtime string labels.
pub trait DynamicSubject: Subject {
    /// Adds one to [`catalog::Bench::TenantRequests`] (two runtime string labels).
    fn inc_dynamic(&self, tenant: &str, route: &str);
}
