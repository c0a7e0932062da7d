//! The benchmark catalog: one metric per workload, shaped like the fair-suite fixtures.
//!
//! Every implementation (ours, the `metrics` facade, the seed design and the peers)
//! registers these names through [`Bench::def`], so no name is written twice.

use catalog::{LabelDef, LabelKey, LabelValues, MetricCatalog, MetricDef, Subsystem, Unit};

/// The only subsystem of the benchmark catalog.
pub const API: Subsystem = Subsystem {
    name: "api",
    title: "API",
    description: "Benchmark workloads.",
};

/// Values of the enumerated `method` label.
pub const METHODS: &[&str] = &["get", "put", "delete"];
/// Values of the enumerated `status` label.
pub const STATUSES: &[&str] = &[
    "ok",
    "not_found",
    "conflict",
    "timeout",
    "refused",
    "internal",
];
/// Histogram buckets shared by every implementation.
pub const LATENCY_BUCKETS: [f64; 7] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0];
/// Series bound of [`Bench::Spilled`]: small, so the overflow path is easy to reach.
pub const SPILL_BOUND: usize = 16;
/// Series bound of [`Bench::Series`]: room for the largest render workload.
pub const SERIES_BOUND: usize = 100_000;
/// Series bound of [`Bench::TenantRequests`].
pub const TENANT_BOUND: usize = 64;

/// Label keys of the benchmark catalog.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BenchLabel {
    /// Enumerated: [`METHODS`].
    Method,
    /// Enumerated: [`STATUSES`].
    Status,
    /// Free-form tenant name.
    Tenant,
    /// Free-form route.
    Route,
    /// Free-form key, for render, first-touch and overflow workloads.
    Key,
    /// A catalog metric name (self-metrics).
    Metric,
    /// Why a sample was dropped (self-metrics).
    Reason,
}

impl LabelKey for BenchLabel {
    fn def(self) -> &'static LabelDef {
        match self {
            BenchLabel::Method => {
                const {
                    &LabelDef {
                        name: label_name(BenchLabel::Method),
                        help: "Request method.",
                        values: LabelValues::OneOf(METHODS),
                    }
                }
            }
            BenchLabel::Status => {
                const {
                    &LabelDef {
                        name: label_name(BenchLabel::Status),
                        help: "Response status.",
                        values: LabelValues::OneOf(STATUSES),
                    }
                }
            }
            BenchLabel::Tenant => {
                const {
                    &LabelDef {
                        name: label_name(BenchLabel::Tenant),
                        help: "Tenant name.",
                        values: LabelValues::FreeForm,
                    }
                }
            }
            BenchLabel::Route => {
                const {
                    &LabelDef {
                        name: label_name(BenchLabel::Route),
                        help: "Route template.",
                        values: LabelValues::FreeForm,
                    }
                }
            }
            BenchLabel::Key => {
                const {
                    &LabelDef {
                        name: label_name(BenchLabel::Key),
                        help: "Arbitrary key.",
                        values: LabelValues::FreeForm,
                    }
                }
            }
            BenchLabel::Metric => {
                const {
                    &LabelDef {
                        name: label_name(BenchLabel::Metric),
                        help: "Metric name.",
                        values: LabelValues::CatalogMetric,
                    }
                }
            }
            BenchLabel::Reason => {
                const {
                    &LabelDef {
                        name: label_name(BenchLabel::Reason),
                        help: "Drop reason.",
                        values: LabelValues::OneOf(catalog::DropReason::LABEL_VALUES),
                    }
                }
            }
        }
    }
}

/// Metrics of the benchmark catalog, one per workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bench {
    /// Unlabeled counter.
    Requests,
    /// Counter with two enumerated labels (3 x 6 = 18 series).
    Responses,
    /// Counter with two free-form labels.
    TenantRequests,
    /// Unlabeled histogram over [`LATENCY_BUCKETS`].
    Latency,
    /// Counter with one free-form label bounded at [`SPILL_BOUND`] series.
    Spilled,
    /// Counter with one free-form label bounded at [`SERIES_BOUND`] series.
    Series,
    /// Samples the recorder dropped (self-metric).
    Dropped,
    /// Series folded into overflow (self-metric).
    Overflow,
}

type Def = MetricDef<Bench>;

impl MetricCatalog for Bench {
    type Label = BenchLabel;
    const PREFIX: &'static str = "bench_";
    const ALL: &'static [Self] = &[
        Bench::Requests,
        Bench::Responses,
        Bench::TenantRequests,
        Bench::Latency,
        Bench::Spilled,
        Bench::Series,
        Bench::Dropped,
        Bench::Overflow,
    ];
    const SUBSYSTEMS: &'static [Subsystem] = &[API];
    const SAMPLES_DROPPED: Self = Bench::Dropped;
    const SERIES_OVERFLOW: Self = Bench::Overflow;

    fn def(self) -> &'static Def {
        Bench::def(self)
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl Bench {
    /// The definition of this metric (as [`MetricCatalog::def`], usable in `const`).
    pub const fn def(self) -> &'static Def {
        match self {
            Bench::Requests => {
                const { &Def::counter("bench_api_requests_total", "Requests.", &API) }
            }
            Bench::Responses => {
                const {
                    &Def::counter("bench_api_responses_total", "Responses.", &API)
                        .labels(&[BenchLabel::Method, BenchLabel::Status])
                }
            }
            Bench::TenantRequests => {
                const {
                    &Def::counter(
                        "bench_api_tenant_requests_total",
                        "Requests per tenant and route.",
                        &API,
                    )
                    .labels(&[BenchLabel::Tenant, BenchLabel::Route])
                    .max_series(TENANT_BOUND)
                }
            }
            Bench::Latency => {
                const {
                    &Def::histogram(
                        "bench_api_latency_seconds",
                        "Request latency.",
                        &API,
                        &LATENCY_BUCKETS,
                    )
                    .unit(Unit::Seconds)
                }
            }
            Bench::Spilled => {
                const {
                    &Def::counter("bench_api_spilled_total", "Keys past a small bound.", &API)
                        .labels(&[BenchLabel::Key])
                        .max_series(SPILL_BOUND)
                }
            }
            Bench::Series => {
                const {
                    &Def::counter("bench_api_series_total", "One series per key.", &API)
                        .labels(&[BenchLabel::Key])
                        .max_series(SERIES_BOUND)
                }
            }
            Bench::Dropped => {
                const {
                    &Def::counter("bench_api_samples_dropped_total", "Dropped samples.", &API)
                        .labels(&[BenchLabel::Metric, BenchLabel::Reason])
                }
            }
            Bench::Overflow => {
                const {
                    &Def::counter(
                        "bench_api_series_overflow_total",
                        "Overflowed samples.",
                        &API,
                    )
                    .labels(&[BenchLabel::Metric])
                }
            }
        }
    }
}

/// Label name of `label`, usable in `const`.
pub const fn label_name(label: BenchLabel) -> &'static str {
    match label {
        BenchLabel::Method => "method",
        BenchLabel::Status => "status",
        BenchLabel::Tenant => "tenant",
        BenchLabel::Route => "route",
        BenchLabel::Key => "key",
        BenchLabel::Metric => "metric",
        BenchLabel::Reason => "reason",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_bench_catalog_is_valid() {
        if let Err(problems) = catalog::validate::<super::Bench>() {
            panic!("{problems:?}");
        }
    }
}
