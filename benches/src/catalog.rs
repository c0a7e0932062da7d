//! The benchmark catalog: one metric per workload, shaped like the fair-suite fixtures.
//!
//! Every implementation (ours, the `metrics` facade, the seed design and the peers)
//! registers these names through [`Bench::def`], so no name is written twice.

use catalog::{LabelType, LabelValue, Subsystem, Unit};

/// The only subsystem of the benchmark catalog.
pub const API: Subsystem = Subsystem {
    name: "api",
    title: "API",
    description: "Benchmark workloads.",
};

/// Request method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
#[label(name = "method")]
pub enum Method {
    /// `get`.
    Get,
    /// `put`.
    Put,
    /// `delete`.
    Delete,
}

/// Response status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
#[label(name = "status")]
pub enum Status {
    /// `ok`.
    Ok,
    /// `not_found`.
    NotFound,
    /// `conflict`.
    Conflict,
    /// `timeout`.
    Timeout,
    /// `refused`.
    Refused,
    /// `internal`.
    Internal,
}

/// Tenant name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
#[label(name = "tenant")]
pub struct Tenant<'a>(pub &'a str);

/// Route template.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
#[label(name = "route")]
pub struct Route<'a>(pub &'a str);

/// Arbitrary key, for render, first-touch and overflow workloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
#[label(name = "key")]
pub struct Key<'a>(pub &'a str);

/// Values of the enumerated `method` label.
pub const METHODS: &[&str] = Method::VALUES;
/// Values of the enumerated `status` label.
pub const STATUSES: &[&str] = Status::VALUES;
/// Label names, as the string-keyed implementations take them.
pub const METHOD: &str = <Method as LabelType>::DEF.name;
/// See [`METHOD`].
pub const STATUS: &str = <Status as LabelType>::DEF.name;
/// See [`METHOD`].
pub const TENANT: &str = <Tenant<'static> as LabelType>::DEF.name;
/// See [`METHOD`].
pub const ROUTE: &str = <Route<'static> as LabelType>::DEF.name;
/// See [`METHOD`].
pub const KEY: &str = <Key<'static> as LabelType>::DEF.name;
/// Histogram buckets shared by every implementation.
pub const LATENCY_BUCKETS: [f64; 7] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0];
/// Series bound of [`Bench::Spilled`]: small, so the overflow path is easy to reach.
pub const SPILL_BOUND: usize = 16;
/// Series bound of [`Bench::Series`]: room for the largest render workload.
pub const SERIES_BOUND: usize = 100_000;
/// Series bound of [`Bench::TenantRequests`].
pub const TENANT_BOUND: usize = 64;

/// Metrics of the benchmark catalog, one per workload.
#[catalog::metrics(
    prefix = "bench_",
    labels = [Method, Status, Tenant, Route, Key],
    subsystems = [API],
    label_enum = BenchLabel,
)]
pub enum Bench {
    /// Requests.
    #[metric(counter("bench_api_requests_total", &API))]
    Requests,
    /// Responses.
    #[metric(counter("bench_api_responses_total", &API).labels::<(Method, Status)>())]
    Responses,
    /// Requests per tenant and route.
    #[metric(counter("bench_api_tenant_requests_total", &API)
        .labels::<(Tenant<'_>, Route<'_>)>()
        .max_series(TENANT_BOUND))]
    TenantRequests,
    /// Request latency.
    #[metric(histogram("bench_api_latency_seconds", &API, &LATENCY_BUCKETS).unit(Unit::Seconds))]
    Latency,
    /// Keys past a small bound.
    #[metric(counter("bench_api_spilled_total", &API).labels::<Key<'_>>().max_series(SPILL_BOUND))]
    Spilled,
    /// One series per key.
    #[metric(counter("bench_api_series_total", &API).labels::<Key<'_>>().max_series(SERIES_BOUND))]
    Series,
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_bench_catalog_is_valid() {
        if let Err(problems) = catalog::validate::<super::BenchId>() {
            panic!("{problems:?}");
        }
    }
}
