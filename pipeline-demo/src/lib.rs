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
//! [`storage`] maps I/O errors to the catalog's storage error types and injects storage
//! faults; [`faults`] schedules injected faults so that every error type shows up within
//! seconds at default settings; [`schedule`] parses a declared schedule (`--fault`)
//! instead, for drills. The `pipeline-demo` binary wires it all together and
//! serves `/metrics`; the library exists so tests can read back what the binary wrote
//! (e.g. [`ingest_log::read_dir`]).

#![deny(missing_docs)]

pub mod cas;
pub mod dedup;
pub mod envelope;
pub mod faults;
pub mod gateway;
pub mod ingest_log;
pub mod queue;
pub mod schedule;
pub mod sources;
pub mod storage;
