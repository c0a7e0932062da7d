//! A simulated SMS ingest pipeline that records every catalog metric through `recorder`.
//!
//! Envelopes flow through four stages, one module each:
//!
//! 1. [`sources`]: simulated providers answer (in-process) HTTP polls with seeded latency,
//!    re-sent envelopes and failures of every catalog kind (timeout, connection,
//!    HTTP status, malformed body);
//! 2. [`queue`]: a bounded queue between the sources and the gateway, with its depth gauge;
//! 3. [`gateway`]: drops duplicates ([`dedup`]) and stores each new envelope in the
//!    content-addressed store ([`cas`]);
//! 4. [`ingest_log`]: appends one checksummed record per accepted envelope, fsyncs per
//!    batch and rotates by size.
//!
//! The storage layer ([`cas`], [`ingest_log`], [`envelope`], [`storage`] for the error
//! types, [`faults`] for the fault plans: every error type within seconds at default
//! settings, or declared windows) is the library crate `sms-storage`, with its own
//! catalog; it is re-exported here under its old paths. [`schedule`] parses a declared
//! fault schedule (`--fault`) into those windows, for drills. The demo serves both
//! catalogs ([`recorder_builder`]). The `pipeline-demo` binary wires it all together and
//! serves `/metrics`; the library exists so tests can read back what the binary wrote
//! (e.g. [`ingest_log::read_dir`]).

#![deny(missing_docs)]

pub mod dedup;
pub mod gateway;
pub mod queue;
pub mod schedule;
pub mod sources;

pub use sms_storage::errors as storage;
pub use sms_storage::{cas, envelope, faults, ingest_log};

/// The recorder the demo installs: the SMS catalog, then the storage layer's (the
/// recorder adds its own self-metrics last). `cargo xtask` generates the artifacts of
/// the same list (`xtask/src/catalogs.rs`); the e2e compares each instance's `/catalog`
/// with the committed export, so the two cannot drift apart unnoticed.
pub fn recorder_builder() -> recorder::Builder<catalog::MetricId> {
    recorder::Builder::<catalog::MetricId>::new().with::<sms_storage::StorageMetricId>()
}

/// The metrics features of the demo's catalogs (`--feature`), each off unless turned on.
pub fn features() -> Vec<&'static str> {
    use catalog::MetricCatalog;
    let sms = catalog::MetricId::ALL.iter().map(|m| m.def().feature);
    let storage = sms_storage::StorageMetricId::ALL
        .iter()
        .map(|m| m.def().feature);
    let mut features: Vec<&'static str> = sms.chain(storage).flatten().collect();
    features.sort_unstable();
    features.dedup();
    features
}
