//! `prometheus-client`: metrics registered in a `Registry`, labelled through a
//! `Family` keyed by an owned label-set struct (built per call for runtime labels).
//! It appends `_total` to counter names itself, so counters register without it.

use std::fmt::Write as _;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::catalog::{BenchId, LATENCY_BUCKETS, METHODS, STATUSES};
use crate::subjects::{LATENCY, REQUESTS, RESPONSES, SERIES, SeriesSubject, TENANT_REQUESTS};
use crate::{DynamicSubject, Subject};

/// Index into [`METHODS`], encoded as its string.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub struct Method(usize);

/// Index into [`STATUSES`], encoded as its string.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub struct Status(usize);

impl EncodeLabelValue for Method {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(METHODS[self.0])
    }
}

impl EncodeLabelValue for Status {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(STATUSES[self.0])
    }
}

/// Labels of [`Bench::Responses`].
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResponseLabels {
    method: Method,
    status: Status,
}

/// Labels of [`Bench::TenantRequests`].
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TenantLabels {
    tenant: String,
    route: String,
}

/// Labels of [`Bench::Series`].
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KeyLabels {
    key: String,
}

fn counter_name(name: &'static str) -> &'static str {
    name.strip_suffix("_total").unwrap_or(name)
}

fn render(registry: &Registry) -> String {
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, registry).expect("encodes");
    text
}

/// The benchmark workloads over one `prometheus_client::registry::Registry`.
pub struct Client {
    registry: Registry,
    requests: Counter,
    responses: Family<ResponseLabels, Counter>,
    tenant_requests: Family<TenantLabels, Counter>,
    /// The histogram (public for the timer workload).
    pub latency: Histogram,
}

impl Client {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Counter::default();
        let responses = Family::<ResponseLabels, Counter>::default();
        let tenant_requests = Family::<TenantLabels, Counter>::default();
        let latency = Histogram::new(LATENCY_BUCKETS);
        let help = |metric: BenchId| metric.def().help;
        registry.register(
            counter_name(REQUESTS),
            help(BenchId::Requests),
            requests.clone(),
        );
        registry.register(
            counter_name(RESPONSES),
            help(BenchId::Responses),
            responses.clone(),
        );
        registry.register(
            counter_name(TENANT_REQUESTS),
            help(BenchId::TenantRequests),
            tenant_requests.clone(),
        );
        registry.register(LATENCY, help(BenchId::Latency), latency.clone());
        Client {
            registry,
            requests,
            responses,
            tenant_requests,
            latency,
        }
    }

    /// The registry in the OpenMetrics text format.
    pub fn render(&self) -> String {
        render(&self.registry)
    }
}

impl Default for Client {
    fn default() -> Self {
        Self::new()
    }
}

impl Subject for Client {
    type Static = ResponseLabels;

    fn prepare_static(&self, (method, status): (usize, usize)) -> ResponseLabels {
        ResponseLabels {
            method: Method(method),
            status: Status(status),
        }
    }

    #[inline]
    fn inc_unlabeled(&self) {
        self.requests.inc();
    }

    #[inline]
    fn inc_static(&self, labels: &ResponseLabels) {
        self.responses.get_or_create(labels).inc();
    }

    #[inline]
    fn observe(&self, value: f64) {
        self.latency.observe(value);
    }
}

impl DynamicSubject for Client {
    #[inline]
    fn inc_dynamic(&self, tenant: &str, route: &str) {
        let labels = TenantLabels {
            tenant: tenant.to_owned(),
            route: route.to_owned(),
        };
        self.tenant_requests.get_or_create(&labels).inc();
    }
}

/// One `Family` of [`Bench::Series`] in its own registry.
pub struct ClientSeries {
    registry: Registry,
    series: Family<KeyLabels, Counter>,
}

impl SeriesSubject for ClientSeries {
    fn new() -> Self {
        let mut registry = Registry::default();
        let series = Family::<KeyLabels, Counter>::default();
        registry.register(
            counter_name(SERIES),
            BenchId::Series.def().help,
            series.clone(),
        );
        ClientSeries { registry, series }
    }

    #[inline]
    fn touch(&self, key: &str) {
        let labels = KeyLabels {
            key: key.to_owned(),
        };
        self.series.get_or_create(&labels).inc();
    }

    fn render(&self) -> String {
        render(&self.registry)
    }
}
