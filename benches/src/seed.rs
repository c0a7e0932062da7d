//! The seed document's design ("Phase 2: Runtime Metric Recording"), as a baseline.
//!
//! Faithful to the seed: a process-wide `HashMap` from a dotted string key to the
//! metric definition, looked up on every call; label values copied into a fresh
//! `Vec<(&str, String)>` on every call; then the `metrics` macro, which builds a `Key`
//! and looks the series up in the current recorder's registry. The one adaptation is
//! that label names are `&'static str`, which `metrics` 0.24 requires.

use std::collections::HashMap;
use std::sync::LazyLock;

use catalog::{MetricCatalog, MetricKind};

use crate::catalog::{BenchId, METHODS, STATUSES};
use crate::subjects::{METHOD, ROUTE, STATUS, TENANT};
use crate::{DynamicSubject, Subject};

/// What the seed's catalog holds per metric (the fields recording uses).
#[derive(Debug)]
struct MetricDefinition {
    name: &'static str,
    kind: MetricKind,
}

/// The seed's `METRICS`: dotted key -> definition.
static METRICS: LazyLock<HashMap<String, MetricDefinition>> = LazyLock::new(|| {
    BenchId::ALL
        .iter()
        .map(|metric| {
            let def = metric.def();
            let definition = MetricDefinition {
                name: def.name,
                kind: def.kind,
            };
            (key(*metric), definition)
        })
        .collect()
});

/// The seed-style key of `metric`: its name without prefix and `_total`, dotted
/// (`bench_api_requests_total` -> `api.requests`).
pub fn key(metric: BenchId) -> String {
    let name = metric.def().name;
    let name = name.strip_prefix(BenchId::PREFIX).unwrap_or(name);
    name.strip_suffix("_total")
        .unwrap_or(name)
        .replace('_', ".")
}

/// Records `value` into the metric of catalog key `key` (the seed's `MetricRecorder::record`).
pub fn record(key: &str, value: f64, labels: &[(&'static str, &str)]) {
    if let Some(def) = METRICS.get(key) {
        let label_pairs: Vec<(&'static str, String)> =
            labels.iter().map(|(k, v)| (*k, v.to_string())).collect();
        match def.kind {
            MetricKind::Counter => {
                metrics::counter!(def.name, &label_pairs).increment(value as u64);
            }
            MetricKind::Gauge => {
                metrics::gauge!(def.name, &label_pairs).set(value);
            }
            MetricKind::Histogram { .. } => {
                metrics::histogram!(def.name, &label_pairs).record(value);
            }
        }
    } else {
        tracing::warn!("Unknown metric key: {}", key);
    }
}

/// The seed's `MetricRecorder::increment`.
pub fn increment(key: &str, labels: &[(&'static str, &str)]) {
    record(key, 1.0, labels);
}

/// The seed design as a [`Subject`], holding its pre-built keys.
#[derive(Debug)]
pub struct Seed {
    requests: String,
    responses: String,
    tenant_requests: String,
    latency: String,
}

impl Seed {
    /// Pre-builds the keys (the seed's `Metrics::*` constants).
    pub fn new() -> Self {
        LazyLock::force(&METRICS);
        Seed {
            requests: key(BenchId::Requests),
            responses: key(BenchId::Responses),
            tenant_requests: key(BenchId::TenantRequests),
            latency: key(BenchId::Latency),
        }
    }
}

impl Default for Seed {
    fn default() -> Self {
        Self::new()
    }
}

impl Subject for Seed {
    type Static = [(&'static str, &'static str); 2];

    fn prepare_static(&self, (method, status): (usize, usize)) -> Self::Static {
        [(METHOD, METHODS[method]), (STATUS, STATUSES[status])]
    }

    fn inc_unlabeled(&self) {
        increment(&self.requests, &[]);
    }

    fn inc_static(&self, labels: &Self::Static) {
        increment(&self.responses, labels);
    }

    fn observe(&self, value: f64) {
        record(&self.latency, value, &[]);
    }
}

impl DynamicSubject for Seed {
    fn inc_dynamic(&self, tenant: &str, route: &str) {
        increment(&self.tenant_requests, &[(TENANT, tenant), (ROUTE, route)]);
    }
}
