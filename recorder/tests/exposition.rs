//! What the recorder exposes matches the catalog: names, types, HELP, labels, buckets.

mod support;

use catalog::{Metric, MetricCatalog, MetricId, SourceErrorType, SourceId};
use storage::{StorageErrorType, StorageMetric, StorageMetricId};
use support::promtool_accepts;

/// The storage library's catalog, compiled from its declaration: `recorder` cannot
/// depend on `sms-storage`, which depends on it.
#[allow(dead_code)]
#[path = "../../storage/src/metrics.rs"]
mod storage;

fn recorder() -> recorder::Recorder<MetricId> {
    let feature = Metric::GatewayDedupWindowEntries
        .id()
        .def()
        .feature
        .expect("the SMS catalog's feature metric");
    recorder::Builder::<MetricId>::new()
        .with::<StorageMetricId>()
        .feature(feature, true)
        .panic_on_misuse(true)
        .build()
        .expect("valid catalog")
}

/// Records one sample into every catalog metric the workspace records (the
/// self-metrics are exposed from the start), with valid labels.
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
    recorder.set(Metric::GatewayDedupWindowEntries, (), 3.0);
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
}

#[test]
fn every_metric_is_exposed_with_its_catalog_type_and_help() {
    let recorder = recorder();
    record_everything(&recorder);
    let text = recorder.render();
    for metric in MetricId::ALL {
        let def = metric.def();
        assert!(
            text.contains(&format!("# TYPE {} {}\n", def.name, def.kind.type_name())),
            "{} missing or wrong type in:\n{text}",
            def.name
        );
        assert!(
            text.contains(&format!("# HELP {} {}\n", def.name, def.exposed_help())),
            "{} help",
            def.name
        );
    }
}

#[test]
fn histograms_have_exactly_the_catalog_buckets() {
    let recorder = recorder();
    record_everything(&recorder);
    let text = recorder.render();
    for metric in MetricId::ALL {
        let def = metric.def();
        let Some(buckets) = def.buckets() else {
            continue;
        };
        let bucket_prefix = format!("{}_bucket{{", def.name);
        let bounds: Vec<String> = text
            .lines()
            .filter(|line| line.starts_with(&bucket_prefix))
            .filter_map(|line| {
                line.split("le=\"")
                    .nth(1)?
                    .split('"')
                    .next()
                    .map(str::to_string)
            })
            .collect();
        // The canonical float form Prometheus 3 normalises `le` to: `1.0`, not `1`.
        let mut expected: Vec<String> = buckets
            .iter()
            .copied()
            .map(recorder::canonical_float)
            .collect();
        expected.push("+Inf".to_string());
        assert_eq!(bounds, expected, "{}", def.name);
        for (bound, bucket) in bounds.iter().zip(buckets) {
            assert_eq!(bound.parse::<f64>().ok(), Some(*bucket), "{bound}");
            assert!(bound.contains(['.', 'e']), "{bound} is not canonical");
        }
    }
}

#[test]
fn unlabeled_and_enumerated_series_are_exposed_at_zero_before_any_recording() {
    let text = recorder().render();
    // Unlabeled counter.
    let success = StorageMetric::GatewayCasObjectsWritten.def().name;
    assert!(text.contains(&format!("\n{success} 0\n")), "{text}");
    // Every enumerated combination of an enum-only metric.
    let errors = StorageMetric::IngestLogWritesError.def().name;
    for value in StorageErrorType::VALUES {
        assert!(
            text.contains(&format!("{errors}{{error_type=\"{value}\"}} 0\n")),
            "{value}: {text}"
        );
    }
}

#[test]
fn labels_are_exposed_in_catalog_order_and_one_label_set_is_one_series() {
    let recorder = recorder();
    let labels = (SourceId("b"), SourceErrorType::Timeout);
    recorder.add(Metric::SourcesRequestsError, labels, 2);
    recorder.inc(Metric::SourcesRequestsError, labels);
    let name = Metric::SourcesRequestsError.def().name;
    assert!(
        recorder.render().contains(&format!(
            "{name}{{source_id=\"b\",error_type=\"timeout\"}} 3\n"
        )),
        "{}",
        recorder.render()
    );
    assert_eq!(recorder.series_count(Metric::SourcesRequestsError), 1);
}

#[test]
fn timer_observes_elapsed_seconds() {
    let recorder = recorder();
    let storage = recorder.catalog::<StorageMetricId>().expect("registered");
    {
        let _timer = storage.start_timer(StorageMetric::GatewayCasWriteDuration, ());
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let name = StorageMetric::GatewayCasWriteDuration.def().name;
    let text = storage.render();
    assert!(text.contains(&format!("{name}_count 1\n")), "{text}");
    let sum: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}_sum ")))
        .unwrap()
        .parse()
        .unwrap();
    assert!((0.002..1.0).contains(&sum), "sum {sum}");
}

/// `promtool check metrics` prints nothing for a full scrape.
#[test]
fn promtool_check_metrics_is_clean() {
    let recorder = recorder();
    record_everything(&recorder);
    if let Err(printed) = promtool_accepts(&recorder.render()) {
        panic!("promtool: {printed}");
    }
}
