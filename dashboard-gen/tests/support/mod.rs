//! Shared test support.

pub mod grafana_double;
