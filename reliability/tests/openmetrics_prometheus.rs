//! OpenMetrics through a real Prometheus (2.42 asks for OpenMetrics first): every
//! series of the exposition is ingested, the `# UNIT` metadata arrives (which the text
//! format cannot carry, so OpenMetrics was negotiated), and with exemplar storage on
//! the exemplars attached through the handles are queryable through
//! `/api/v1/query_exemplars`. Integral bucket bounds are stored as `le="1.0"`.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use catalog::{Metric, MetricId, SourceErrorType, SourceId};
use reliability::{Prometheus, percent_encode};
use sms_storage::{StorageErrorType, StorageMetric, StorageMetricId};

const COUNTER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const BUCKET_TRACE: &str = "00f067aa0ba902b7-{x} #=,";

/// Records one sample into every catalog metric the workspace records, and the two
/// exemplars (the self-metrics are exposed at 0 from the start).
fn record_everything(recorder: &recorder::Recorder<MetricId>) {
    let storage = recorder.catalog::<StorageMetricId>().expect("registered");
    let source = SourceId("source-a");
    recorder.inc(Metric::SourcesRequestsSuccess, source);
    recorder.inc(
        Metric::SourcesRequestsError,
        (source, SourceErrorType::Timeout),
    );
    recorder.observe(Metric::SourcesRequestDuration, source, 0.3);
    recorder.set(Metric::SourcesRequestsInFlight, (), 3.0);
    recorder.inc(Metric::SourcesEnvelopesReceived, source);
    recorder.inc(Metric::GatewayEnvelopesAccepted, source);
    recorder.inc(Metric::GatewayEnvelopesDeduplicated, source);
    recorder.set(Metric::GatewayQueueDepth, (), 3.0);
    storage.inc(StorageMetric::GatewayCasObjectsWritten, ());
    storage.inc(
        StorageMetric::GatewayCasWritesError,
        StorageErrorType::DiskFull,
    );
    storage.observe(StorageMetric::GatewayCasWriteDuration, (), 0.3);
    storage.inc(StorageMetric::GatewayCasWrittenBytes, ());
    storage.inc(StorageMetric::IngestLogWritesSuccess, ());
    storage.inc(
        StorageMetric::IngestLogWritesError,
        StorageErrorType::DiskFull,
    );
    storage.set(StorageMetric::IngestLogCurrentFileSize, (), 3.0);
    storage.inc(StorageMetric::IngestLogRotations, ());
    storage.observe(StorageMetric::IngestLogFsyncDuration, (), 0.3);
    storage.inc(StorageMetric::IngestLogWrittenBytes, ());
    recorder
        .counter(
            Metric::SourcesRequestsError,
            (source, SourceErrorType::Timeout),
        )
        .inc_with_exemplar(COUNTER_TRACE);
    recorder
        .histogram(Metric::SourcesRequestDuration, source)
        .observe_with_exemplar(0.3, BUCKET_TRACE);
}

/// `(name, labels)` of every sample line of a text exposition (label text as written).
fn exposed_series(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.rsplit_once(' ').map(|(series, _)| series.to_string()))
        .collect()
}

#[test]
fn prometheus_ingests_every_series_and_the_exemplars_over_openmetrics() {
    let recorder = recorder::Builder::<MetricId>::new()
        .with::<StorageMetricId>()
        .panic_on_misuse(true)
        .listen("127.0.0.1:0".parse().unwrap())
        .serve()
        .expect("serve");
    record_everything(&recorder);
    let target = recorder.listen_address().expect("bound");
    let Some(prometheus) = Prometheus::start_with(target, &["--enable-feature=exemplar-storage"])
    else {
        return;
    };
    prometheus
        .wait_until_scraped(Duration::from_secs(60))
        .expect("scraped");

    // Every series the exposition holds, by count and by name.
    let exposed = exposed_series(&recorder.render());
    let data = prometheus
        .api(&format!(
            "/api/v1/series?match%5B%5D={}",
            percent_encode("{job=\"reliability\"}")
        ))
        .expect("series");
    let ingested: Vec<&serde_json::Value> = data
        .as_array()
        .expect("series list")
        .iter()
        .filter(|s| {
            let name = s["__name__"].as_str().unwrap_or("");
            name != "up" && !name.starts_with("scrape_")
        })
        .collect();
    assert_eq!(
        ingested.len(),
        exposed.len(),
        "every exposed series is ingested"
    );
    let names = |series: &mut dyn Iterator<Item = String>| series.collect::<BTreeSet<String>>();
    let exposed_names = names(
        &mut exposed
            .iter()
            .map(|s| s.split('{').next().unwrap_or("").to_string()),
    );
    let ingested_names = names(
        &mut ingested
            .iter()
            .map(|s| s["__name__"].as_str().unwrap_or("").to_string()),
    );
    assert_eq!(ingested_names, exposed_names);

    // Integral bucket bounds are stored as `1.0`, the form Prometheus 3 normalises to,
    // so an `le="1.0"` matcher finds the bucket on both versions (and `le="1"` on none).
    let duration_bucket = format!("{}_bucket", Metric::SourcesRequestDuration.def().name);
    let canonical = prometheus
        .query(&format!("{duration_bucket}{{le=\"1.0\"}}"))
        .expect("query");
    assert_eq!(canonical.len(), 1, "{canonical:?}");
    let short = prometheus
        .query(&format!("{duration_bucket}{{le=\"1\"}}"))
        .expect("query");
    assert!(short.is_empty(), "{short:?}");

    // `# UNIT` only exists in OpenMetrics: its arrival proves what was negotiated.
    let duration = Metric::SourcesRequestDuration.def().name;
    let metadata = prometheus
        .api(&format!("/api/v1/metadata?metric={duration}"))
        .expect("metadata");
    assert_eq!(
        metadata[duration][0]["unit"], "seconds",
        "unit metadata: {metadata}"
    );
    assert_eq!(metadata[duration][0]["type"], "histogram");

    // The exemplars, on the counter series and on the bucket 0.3 falls in.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let exemplars = |query: &str| {
        prometheus
            .api(&format!(
                "/api/v1/query_exemplars?query={}&start={}&end={}",
                percent_encode(query),
                now - 600,
                now + 600
            ))
            .expect("query_exemplars")
    };
    let errors = Metric::SourcesRequestsError.def().name;
    let counter = exemplars(errors);
    let counter_traces: Vec<String> = counter
        .as_array()
        .expect("exemplar list")
        .iter()
        .flat_map(|series| series["exemplars"].as_array().cloned().unwrap_or_default())
        .filter_map(|e| e["labels"]["trace_id"].as_str().map(str::to_string))
        .collect();
    assert_eq!(counter_traces, [COUNTER_TRACE], "{counter}");
    let buckets = exemplars(&format!("{duration}_bucket"));
    let bucket_series: Vec<&serde_json::Value> = buckets
        .as_array()
        .expect("exemplar list")
        .iter()
        .filter(|s| !s["exemplars"].as_array().is_none_or(Vec::is_empty))
        .collect();
    assert_eq!(bucket_series.len(), 1, "{buckets}");
    assert_eq!(bucket_series[0]["seriesLabels"]["le"], "0.5", "{buckets}");
    assert_eq!(
        bucket_series[0]["exemplars"][0]["labels"]["trace_id"], BUCKET_TRACE,
        "{buckets}"
    );
    eprintln!(
        "openmetrics: {} series ingested (all exposed), unit metadata present, 2 exemplars queryable",
        ingested.len()
    );
}
