//! Test fixtures: what a conforming instance serves, rendered by the real recorder.

use catalog::{Metric, MetricId, SourceErrorType, SourceId};
use sms_storage::{StorageErrorType, StorageMetric, StorageMetricId};

/// What every counter series of [`exposition`] was incremented by.
pub const COUNTER_STEP: u64 = 7;

/// Free-form label value used by [`exposition`].
pub const SOURCE: &str = "fixture-source";

/// The `/metrics` text of a recorder (not installed, not served) of the service's
/// catalogs in which every catalog metric the workspace records was recorded once, with the first allowed value of each
/// enumerated label (the self-metrics are exposed at 0 from the start), every feature on.
pub fn exposition() -> String {
    exposition_naming(recorder::RenamedMetrics::Both)
}

/// The SMS catalog's one feature.
fn dedup_window_feature() -> &'static str {
    MetricId::GatewayDedupWindowEntries
        .def()
        .feature
        .expect("the SMS catalog's feature metric")
}

/// [`exposition`] with renamed metrics exposed under the names `renamed` says.
pub fn exposition_naming(renamed: recorder::RenamedMetrics) -> String {
    let recorder = recorder::Builder::<MetricId>::new()
        .with::<StorageMetricId>()
        .panic_on_misuse(true)
        .renamed_metrics(renamed)
        .feature(dedup_window_feature(), true)
        .build()
        .expect("the catalogs are valid");
    let storage = recorder
        .catalog::<StorageMetricId>()
        .expect("registered with `with`");
    let source = SourceId(SOURCE);
    let step = COUNTER_STEP;
    recorder.add(Metric::SourcesRequestsSuccess, source, step);
    recorder.add(
        Metric::SourcesRequestsError,
        (source, SourceErrorType::Timeout),
        step,
    );
    recorder.observe(Metric::SourcesRequestDuration, source, 0.05);
    recorder.set(Metric::SourcesRequestsInFlight, (), 1.0);
    recorder.add(Metric::SourcesEnvelopesReceived, source, step);
    recorder.add(Metric::GatewayEnvelopesAccepted, source, step);
    recorder.add(Metric::GatewayEnvelopesDeduplicated, source, step);
    recorder.set(Metric::GatewayQueueDepth, (), 1.0);
    recorder.set(Metric::GatewayDedupWindowEntries, (), 1.0);
    storage.add(StorageMetric::GatewayCasObjectsWritten, (), step);
    storage.add(
        StorageMetric::GatewayCasWritesError,
        StorageErrorType::DiskFull,
        step,
    );
    storage.observe(StorageMetric::GatewayCasWriteDuration, (), 0.05);
    storage.add(StorageMetric::GatewayCasWrittenBytes, (), step);
    storage.add(StorageMetric::IngestLogWritesSuccess, (), step);
    storage.add(
        StorageMetric::IngestLogWritesError,
        StorageErrorType::DiskFull,
        step,
    );
    storage.set(StorageMetric::IngestLogCurrentFileSize, (), 1.0);
    storage.add(StorageMetric::IngestLogRotations, (), step);
    storage.observe(StorageMetric::IngestLogFsyncDuration, (), 0.05);
    storage.add(StorageMetric::IngestLogWrittenBytes, (), step);
    recorder.render()
}

/// The generated dashboards, with the first target of the first panel that has one
/// replaced by a rate of `metric` (a metric no instance emits) and that panel titled
/// `title`: the input of the "dashboard queries a metric nobody emits" reports.
pub fn dashboards_querying(metric: &str, title: &str) -> Vec<dashboard_gen::model::Dashboard> {
    let mut dashboards = dashboard_gen::generate::<MetricId>().expect("the catalog generates");
    let panel = dashboards[0]
        .panels
        .iter_mut()
        .find(|p| p.targets.as_ref().is_some_and(|t| !t.is_empty()))
        .expect("a panel with targets");
    panel.title = title.to_string();
    panel.targets.as_mut().expect("targets")[0].expr =
        format!("sum(rate({metric}{{job=~\"$job\"}}[$__rate_interval]))");
    dashboards
}
