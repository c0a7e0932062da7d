//! The recording hot path does not allocate once a label set has been seen.
//!
//! `allocation-counter` (a counting global allocator) counts allocations made by this
//! test's thread only (other threads, like the `/metrics` server, are ignored), over
//! 100,000 operations per path after one warm-up call.

use catalog::{Metric, MetricId, SourceErrorType, SourceId};
use storage::{StorageErrorType, StorageMetric, StorageMetricId};

/// The storage library's catalog, compiled from its declaration: `recorder` cannot
/// depend on `sms-storage`, which depends on it.
#[allow(dead_code)]
#[path = "../../storage/src/metrics.rs"]
mod storage;

/// Allocations made by `f` on this thread.
fn allocations_during(f: impl FnOnce()) -> u64 {
    allocation_counter::measure(f).count_total
}

const OPS: usize = 100_000;

#[test]
fn hot_paths_do_not_allocate_after_first_touch() {
    let recorder = recorder::Builder::<MetricId>::new()
        .with::<StorageMetricId>()
        .listen("127.0.0.1:0".parse().unwrap())
        .install()
        .expect("install");
    let storage = recorder.catalog::<StorageMetricId>().expect("registered");
    let source_ids: Vec<String> = (0..8).map(|i| format!("source-{i}")).collect();
    let labels = |i: usize| SourceId(&source_ids[i % 8]);
    let error_labels = |i: usize| (labels(i), SourceErrorType::Timeout);
    // Warm up: first touch of every series used below (allocates, by design).
    for i in 0..8 {
        recorder::inc(Metric::SourcesRequestsSuccess, labels(i));
        recorder::inc(Metric::SourcesRequestsError, error_labels(i));
        recorder::observe(Metric::SourcesRequestDuration, labels(i), 0.2);
    }
    let counter = storage.counter(StorageMetric::GatewayCasObjectsWritten, ());
    let histogram = storage.histogram(StorageMetric::IngestLogFsyncDuration, ());
    let timer_histogram = recorder::histogram(StorageMetric::GatewayCasWriteDuration, ());

    let paths: [(&str, &dyn Fn(usize)); 9] = [
        ("inc unlabeled", &|_| {
            recorder::inc(StorageMetric::IngestLogWritesSuccess, ())
        }),
        ("inc enumerated label", &|_| {
            recorder::inc(StorageMetric::IngestLogWritesError, StorageErrorType::Io)
        }),
        ("inc runtime string label", &|i| {
            recorder::inc(Metric::SourcesRequestsSuccess, labels(i))
        }),
        ("inc two labels", &|i| {
            recorder::inc(Metric::SourcesRequestsError, error_labels(i))
        }),
        ("observe labeled", &|i| {
            recorder::observe(Metric::SourcesRequestDuration, labels(i), 0.3)
        }),
        ("set gauge", &|i| {
            recorder::set(Metric::GatewayQueueDepth, (), i as f64)
        }),
        ("cached counter", &|_| counter.inc()),
        ("cached histogram", &|_| histogram.observe(0.001)),
        ("timer", &|_| drop(timer_histogram.start_timer())),
    ];
    for (name, path) in paths {
        let allocations = allocations_during(|| (0..OPS).for_each(path));
        assert_eq!(
            allocations, 0,
            "{name}: {allocations} allocations over {OPS} calls"
        );
    }
    // The counter really moved (the loop was not optimised away or dropped).
    let text = recorder.render();
    let name = StorageMetric::IngestLogWritesSuccess.def().name;
    assert!(text.contains(&format!("\n{name} {OPS}\n")), "{text}");
}

#[test]
fn the_counting_allocator_sees_allocations() {
    let allocations = allocations_during(|| drop(std::hint::black_box(vec![1u8; 64])));
    assert_eq!(allocations, 1);
}
