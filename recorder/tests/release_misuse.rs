//! Misuse with the builder's default settings: a panic in debug builds; in release
//! builds never a panic, every dropped sample counted, one warning per metric.
//!
//! The release half only runs in a release build; CI runs it with
//! `cargo test --release -p recorder --test release_misuse`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

mod support;

use catalog::{Metric, MetricId, SourceId};
use recorder::MAX_LABEL_VALUE_BYTES;
use support::dropped;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// Counts warnings; ignores everything else.
struct CountWarnings(Arc<AtomicUsize>);

impl Subscriber for CountWarnings {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        if *event.metadata().level() == Level::WARN {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// Misuse of three metrics, each several times: 5 dropped samples. (Wrong label sets
/// and wrong kinds do not compile; what is left at run time is values.)
fn misuse(recorder: &recorder::Recorder<MetricId>) {
    let success = Metric::SourcesRequestsSuccess;
    let too_long = "x".repeat(MAX_LABEL_VALUE_BYTES + 2);
    recorder.inc(success, SourceId(&too_long)); // over the length bound
    recorder.inc(success, SourceId(&too_long[1..])); // still over it
    let duration = Metric::SourcesRequestDuration;
    recorder.observe(duration, SourceId("a"), f64::NAN);
    recorder
        .histogram(duration, SourceId("a"))
        .observe(f64::INFINITY);
    recorder.set(Metric::GatewayQueueDepth, (), f64::NAN);
}

#[test]
fn misuse_with_default_settings_panics_in_debug_and_is_counted_once_logged_in_release() {
    let recorder = recorder::Builder::<MetricId>::new()
        .build()
        .expect("valid catalog");
    if cfg!(debug_assertions) {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| misuse(&recorder)));
        assert!(outcome.is_err(), "debug builds panic on misuse by default");
        eprintln!(
            "release_misuse: debug build: misuse panics; run `cargo test --release -p recorder --test release_misuse` for the release half"
        );
        return;
    }
    let warnings = Arc::new(AtomicUsize::new(0));
    let subscriber = CountWarnings(Arc::clone(&warnings));
    tracing::subscriber::with_default(subscriber, || {
        for _ in 0..10 {
            misuse(&recorder);
        }
    });
    let text = recorder.render();
    let success = Metric::SourcesRequestsSuccess;
    assert_eq!(dropped(&text, success, "wrong_labels"), 20.0);
    assert_eq!(dropped(&text, success, "wrong_kind"), 0.0);
    assert_eq!(
        dropped(&text, Metric::SourcesRequestDuration, "invalid_value"),
        20.0
    );
    assert_eq!(
        dropped(&text, Metric::GatewayQueueDepth, "invalid_value"),
        10.0
    );
    assert_eq!(
        warnings.load(Ordering::Relaxed),
        3,
        "one warning per metric"
    );
    let duration = Metric::SourcesRequestDuration.def().name;
    assert!(
        !text.contains(&format!("{duration}_count{{source_id=\"a\"}} 1")),
        "no invalid observation lands"
    );
    eprintln!(
        "release_misuse: release build: 50 misuses of 3 metrics, no panic, 50 drops counted, 3 warnings"
    );
}
