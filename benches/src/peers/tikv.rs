//! `prometheus` (tikv) 0.14: typed metrics in a `Registry`, labelled with
//! `with_label_values` on every call.

use prometheus::{
    Encoder as _, Histogram, HistogramOpts, IntCounter, IntCounterVec, Opts, Registry, TextEncoder,
};

use crate::catalog::{BenchId, LATENCY_BUCKETS, METHODS, STATUSES};
use crate::subjects::{
    KEY, LATENCY, METHOD, REQUESTS, RESPONSES, ROUTE, SERIES, STATUS, SeriesSubject, TENANT,
    TENANT_REQUESTS,
};
use crate::{DynamicSubject, Subject};

/// The benchmark workloads over one `prometheus::Registry`.
pub struct Tikv {
    registry: Registry,
    requests: IntCounter,
    responses: IntCounterVec,
    tenant_requests: IntCounterVec,
    /// The histogram (public for the timer workload).
    pub latency: Histogram,
}

fn help(metric: BenchId) -> &'static str {
    metric.def().help
}

impl Tikv {
    /// Registers every metric.
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = IntCounter::new(REQUESTS, help(BenchId::Requests)).expect("valid");
        let responses = IntCounterVec::new(
            Opts::new(RESPONSES, help(BenchId::Responses)),
            &[METHOD, STATUS],
        )
        .expect("valid");
        let tenant_requests = IntCounterVec::new(
            Opts::new(TENANT_REQUESTS, help(BenchId::TenantRequests)),
            &[TENANT, ROUTE],
        )
        .expect("valid");
        let latency = Histogram::with_opts(
            HistogramOpts::new(LATENCY, help(BenchId::Latency)).buckets(LATENCY_BUCKETS.to_vec()),
        )
        .expect("valid");
        registry
            .register(Box::new(requests.clone()))
            .expect("unique");
        registry
            .register(Box::new(responses.clone()))
            .expect("unique");
        registry
            .register(Box::new(tenant_requests.clone()))
            .expect("unique");
        registry
            .register(Box::new(latency.clone()))
            .expect("unique");
        Tikv {
            registry,
            requests,
            responses,
            tenant_requests,
            latency,
        }
    }

    /// The registry in the Prometheus text format.
    pub fn render(&self) -> String {
        render(&self.registry)
    }
}

impl Default for Tikv {
    fn default() -> Self {
        Self::new()
    }
}

fn render(registry: &Registry) -> String {
    let mut buffer = Vec::new();
    TextEncoder::new()
        .encode(&registry.gather(), &mut buffer)
        .expect("encodes");
    String::from_utf8(buffer).expect("utf-8")
}

impl Subject for Tikv {
    type Static = [&'static str; 2];

    fn prepare_static(&self, (method, status): (usize, usize)) -> Self::Static {
        [METHODS[method], STATUSES[status]]
    }

    #[inline]
    fn inc_unlabeled(&self) {
        self.requests.inc();
    }

    #[inline]
    fn inc_static(&self, labels: &Self::Static) {
        self.responses.with_label_values(labels).inc();
    }

    #[inline]
    fn observe(&self, value: f64) {
        self.latency.observe(value);
    }
}

impl DynamicSubject for Tikv {
    #[inline]
    fn inc_dynamic(&self, tenant: &str, route: &str) {
        self.tenant_requests
            .with_label_values(&[tenant, route])
            .inc();
    }
}

/// One `IntCounterVec` of [`Bench::Series`] in its own registry.
pub struct TikvSeries {
    registry: Registry,
    series: IntCounterVec,
}

impl SeriesSubject for TikvSeries {
    fn new() -> Self {
        let registry = Registry::new();
        let series =
            IntCounterVec::new(Opts::new(SERIES, help(BenchId::Series)), &[KEY]).expect("valid");
        registry.register(Box::new(series.clone())).expect("unique");
        TikvSeries { registry, series }
    }

    #[inline]
    fn touch(&self, key: &str) {
        self.series.with_label_values(&[key]).inc();
    }

    fn render(&self) -> String {
        render(&self.registry)
    }
}
