//! The SMS pipeline's storage layer, a library with its own metric catalog.
//!
//! - [`cas`]: the content-addressed store, one fsynced file per envelope named by its
//!   [`envelope::ContentHash`];
//! - [`ingest_log`]: the append-only, checksummed, rotating log of accepted envelopes,
//!   and [`ingest_log::read_dir`], the one reader;
//! - [`errors`]: I/O errors mapped to the catalog's storage error types;
//! - [`faults`]: deterministic plus seeded random fault plans, for drills and tests;
//! - [`metrics`]: the catalog ([`StorageMetric`]) with its panels, alerts and SLOs.
//!
//! A service records these metrics by using the store and the log; it serves them by
//! registering the catalog with its recorder:
//!
//! ```no_run
//! # fn main() -> Result<(), recorder::Error> {
//! recorder::Builder::<catalog::MetricId>::new()
//!     .with::<sms_storage::StorageMetricId>()
//!     .install()?;
//! # Ok(()) }
//! ```

pub mod cas;
pub mod envelope;
pub mod errors;
pub mod faults;
pub mod ingest_log;
pub mod metrics;

pub use metrics::{StorageErrorType, StorageLabel, StorageMetric, StorageMetricId};
