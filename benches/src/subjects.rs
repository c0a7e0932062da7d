//! Our recorder and the `metrics` facade as [`Subject`]s, and [`SeriesSubject`]s for
//! the render, first-touch and memory workloads.

use metrics::Key;
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use recorder::{CounterHandle, HistogramHandle, Recorder};

use crate::catalog::{
    Bench, BenchId, Key as KeyLabel, LATENCY_BUCKETS, METHODS, Method, Route, STATUSES, Status,
    Tenant,
};
pub use crate::catalog::{KEY, METHOD, ROUTE, STATUS, TENANT};
use crate::{DynamicSubject, Subject};

/// Name of [`Bench::Requests`].
pub const REQUESTS: &str = Bench::Requests.def().name;
/// Name of [`Bench::Responses`].
pub const RESPONSES: &str = Bench::Responses.def().name;
/// Name of [`Bench::TenantRequests`].
pub const TENANT_REQUESTS: &str = Bench::TenantRequests.def().name;
/// Name of [`Bench::Latency`].
pub const LATENCY: &str = Bench::Latency.def().name;
/// Name of [`Bench::Series`].
pub const SERIES: &str = Bench::Series.def().name;
/// A fresh registry holding one counter series per key (render, first touch, memory).
pub trait SeriesSubject {
    /// An empty registry.
    fn new() -> Self;
    /// Adds one to the series of `key` of [`Bench::Series`], creating it if new.
    fn touch(&self, key: &str);
    /// The registry in the Prometheus text format.
    fn render(&self) -> String;
}

/// Our recorder through the installed global: `recorder::inc` and friends.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ours;

impl Subject for Ours {
    type Static = (Method, Status);

    fn prepare_static(&self, (method, status): (usize, usize)) -> Self::Static {
        (Method::ALL[method], Status::ALL[status])
    }

    #[inline]
    fn inc_unlabeled(&self) {
        recorder::inc(Bench::Requests, ());
    }

    #[inline]
    fn inc_static(&self, labels: &Self::Static) {
        recorder::inc(Bench::Responses, *labels);
    }

    #[inline]
    fn observe(&self, value: f64) {
        recorder::observe(Bench::Latency, (), value);
    }
}

impl DynamicSubject for Ours {
    #[inline]
    fn inc_dynamic(&self, tenant: &str, route: &str) {
        recorder::inc(Bench::TenantRequests, (Tenant(tenant), Route(route)));
    }
}

/// Our cached handles, resolved once from the installed global recorder.
#[derive(Debug)]
pub struct OursHandles {
    requests: CounterHandle,
    responses: Vec<CounterHandle>,
    /// The histogram handle (public for the timer workload).
    pub latency: HistogramHandle,
}

impl OursHandles {
    /// Resolves every handle.
    pub fn new() -> Self {
        let responses = (0..METHODS.len())
            .flat_map(|m| (0..STATUSES.len()).map(move |s| (m, s)))
            .map(|pair| recorder::counter(Bench::Responses, Ours.prepare_static(pair)))
            .collect();
        OursHandles {
            requests: recorder::counter(Bench::Requests, ()),
            responses,
            latency: recorder::histogram(Bench::Latency, ()),
        }
    }
}

impl Default for OursHandles {
    fn default() -> Self {
        Self::new()
    }
}

impl Subject for OursHandles {
    type Static = usize;

    fn prepare_static(&self, (method, status): (usize, usize)) -> usize {
        method * STATUSES.len() + status
    }

    #[inline]
    fn inc_unlabeled(&self) {
        self.requests.inc();
    }

    #[inline]
    fn inc_static(&self, index: &usize) {
        self.responses[*index].inc();
    }

    #[inline]
    fn observe(&self, value: f64) {
        self.latency.observe(value);
    }
}

/// `metrics` macros on every call, over whichever recorder is current.
#[derive(Clone, Copy, Debug, Default)]
pub struct MetricsMacros;

impl Subject for MetricsMacros {
    type Static = (&'static str, &'static str);

    fn prepare_static(&self, (method, status): (usize, usize)) -> Self::Static {
        (METHODS[method], STATUSES[status])
    }

    #[inline]
    fn inc_unlabeled(&self) {
        metrics::counter!(REQUESTS).increment(1);
    }

    #[inline]
    fn inc_static(&self, (method, status): &Self::Static) {
        metrics::counter!(RESPONSES, METHOD => *method, STATUS => *status).increment(1);
    }

    #[inline]
    fn observe(&self, value: f64) {
        metrics::histogram!(LATENCY).record(value);
    }
}

impl DynamicSubject for MetricsMacros {
    #[inline]
    fn inc_dynamic(&self, tenant: &str, route: &str) {
        metrics::counter!(TENANT_REQUESTS, TENANT => tenant.to_owned(), ROUTE => route.to_owned())
            .increment(1);
    }
}

/// `metrics` handles registered once (per label combination) and then reused.
#[derive(Debug)]
pub struct MetricsHandles {
    requests: metrics::Counter,
    responses: Vec<metrics::Counter>,
    /// The histogram handle (public for the timer workload).
    pub latency: metrics::Histogram,
}

impl MetricsHandles {
    /// Registers every handle with the current `metrics` recorder.
    pub fn new() -> Self {
        let responses = METHODS
            .iter()
            .flat_map(|m| STATUSES.iter().map(move |s| (*m, *s)))
            .map(|(m, s)| metrics::counter!(RESPONSES, METHOD => m, STATUS => s))
            .collect();
        MetricsHandles {
            requests: metrics::counter!(REQUESTS),
            responses,
            latency: metrics::histogram!(LATENCY),
        }
    }
}

impl Default for MetricsHandles {
    fn default() -> Self {
        Self::new()
    }
}

impl Subject for MetricsHandles {
    type Static = usize;

    fn prepare_static(&self, (method, status): (usize, usize)) -> usize {
        method * STATUSES.len() + status
    }

    #[inline]
    fn inc_unlabeled(&self) {
        self.requests.increment(1);
    }

    #[inline]
    fn inc_static(&self, index: &usize) {
        self.responses[*index].increment(1);
    }

    #[inline]
    fn observe(&self, value: f64) {
        self.latency.record(value);
    }
}

/// The exporter alone, configured with the catalog's buckets (what a `metrics` user
/// installs).
pub fn exporter() -> PrometheusRecorder {
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(LATENCY.to_owned()), &LATENCY_BUCKETS)
        .expect("buckets are valid")
        .build_recorder()
}

/// Our recorder, built (not installed) for one registry of [`Bench::Series`].
#[derive(Debug)]
pub struct OursSeries {
    recorder: Recorder<BenchId>,
}

impl SeriesSubject for OursSeries {
    fn new() -> Self {
        let recorder = recorder::Builder::<BenchId>::new()
            .panic_on_misuse(false)
            .build()
            .expect("the bench catalog is valid");
        OursSeries { recorder }
    }

    #[inline]
    fn touch(&self, key: &str) {
        self.recorder.inc(Bench::Series, KeyLabel(key));
    }

    fn render(&self) -> String {
        self.recorder.render()
    }
}

/// `metrics-exporter-prometheus` alone: what `counter!` does on first touch of a series
/// (build a `Key` with owned labels, register it), and the exporter's own render.
pub struct ExporterSeries {
    exporter: PrometheusRecorder,
    handle: PrometheusHandle,
}

static METADATA: metrics::Metadata<'static> =
    metrics::Metadata::new(module_path!(), metrics::Level::INFO, None);

impl SeriesSubject for ExporterSeries {
    fn new() -> Self {
        let exporter = exporter();
        let handle = exporter.handle();
        ExporterSeries { exporter, handle }
    }

    #[inline]
    fn touch(&self, key: &str) {
        use metrics::Recorder as _;
        let key = Key::from_parts(SERIES, vec![metrics::Label::new(KEY, key.to_owned())]);
        self.exporter.register_counter(&key, &METADATA).increment(1);
    }

    fn render(&self) -> String {
        self.handle.render()
    }
}
