//! Records catalog metrics at run time and serves them in the Prometheus text format.
//!
//! A tiny facade in the style of the `metrics` crate, keyed by catalog enums instead of
//! strings: install once with [`Builder`], then record anywhere with [`inc`], [`add`],
//! [`dec`], [`set`], [`observe`] and [`start_timer`], or hold a cached handle from
//! [`counter`], [`gauge`] or [`histogram`] on the hottest paths. The macros [`inc!`],
//! [`add!`], [`set!`] and [`observe!`] do the same and, because metric and labels are
//! written literally, reject at compile time a label set the catalog does not declare.
//!
//! ```no_run
//! use catalog::{Label, Metric};
//!
//! # fn main() -> Result<(), recorder::Error> {
//! recorder::Builder::<Metric>::new().install()?; // serves http://127.0.0.1:9464/metrics
//! let source_id = "sms-provider-a";
//! recorder::inc(Metric::SourcesRequestsError, &[(Label::SourceId, source_id), (Label::SourceErrorType, "timeout")]);
//! recorder::observe!(Metric::SourcesRequestDuration, 0.42, Label::SourceId => source_id);
//! # Ok(()) }
//! ```
//!
//! Underneath, the recorder stores every catalog series itself (one cache-line-aligned
//! atomic per counter or gauge, fixed atomic buckets per histogram with the catalog's
//! buckets) and renders them with the catalog's HELP and types; anything other code
//! records through the `metrics` facade goes to `metrics-exporter-prometheus`, installed
//! as the global `metrics` recorder and rendered after them. It registers unlabeled
//! metrics and enumerated label combinations up front (exposed at 0 from the first
//! scrape), finds a seen series without locking or allocating, caps
//! free-form labels at the catalog's `max_series` (excess goes to one `__overflow__`
//! series, counted), and turns misuse into a panic in debug builds or a counted, once-
//! logged dropped sample in release builds.
//!
//! Counter increments are `u64`, so negative or NaN counter increments cannot be written.
//!
//! Label values: a free-form value is taken as given (any UTF-8: quotes, backslashes,
//! newlines, control characters; the empty string too, which Prometheus reads as an
//! absent label) and escaped exactly on exposition. Absurd values are bounded on first
//! touch: a new series with a value longer than [`MAX_LABEL_VALUE_BYTES`] is misuse
//! (`wrong_labels`: dropped, counted, logged once with the value cut short). A
//! caller-supplied `__overflow__` is recorded into the overflow series itself: it takes
//! no slot of `max_series` and is not counted as a fold in `SERIES_OVERFLOW`.

mod builder;
mod cells;
mod error;
mod exemplar;
mod exposition;
mod global;
mod handles;
mod histogram;
mod macros;
mod recorder;
mod series;
mod server;

pub use builder::{Builder, DEFAULT_LISTEN};
pub use error::Error;
pub use exemplar::{MAX_EXEMPLAR_LABEL_CHARS, MAX_TRACE_ID_CHARS};
pub use exposition::{Format, canonical_float, gzip};
pub use handles::{CounterHandle, GaugeHandle, HistogramHandle, Timer};
pub use recorder::{Labels, MAX_LABEL_VALUE_BYTES, Recorder};

use catalog::MetricCatalog;

/// Adds one to a counter (or gauge) of the installed recorder.
#[inline]
pub fn inc<C: MetricCatalog>(metric: C, labels: Labels<'_, C>) {
    if let Some(recorder) = global::get::<C>() {
        recorder.inc(metric, labels);
    }
}

/// Adds `value` to a counter (or gauge) of the installed recorder.
#[inline]
pub fn add<C: MetricCatalog>(metric: C, labels: Labels<'_, C>, value: u64) {
    if let Some(recorder) = global::get::<C>() {
        recorder.add(metric, labels, value);
    }
}

/// Subtracts one from a gauge of the installed recorder.
#[inline]
pub fn dec<C: MetricCatalog>(metric: C, labels: Labels<'_, C>) {
    if let Some(recorder) = global::get::<C>() {
        recorder.dec(metric, labels);
    }
}

/// Sets a gauge of the installed recorder.
#[inline]
pub fn set<C: MetricCatalog>(metric: C, labels: Labels<'_, C>, value: f64) {
    if let Some(recorder) = global::get::<C>() {
        recorder.set(metric, labels, value);
    }
}

/// Records an observation into a histogram of the installed recorder.
#[inline]
pub fn observe<C: MetricCatalog>(metric: C, labels: Labels<'_, C>, value: f64) {
    if let Some(recorder) = global::get::<C>() {
        recorder.observe(metric, labels, value);
    }
}

/// Starts a timer that observes elapsed seconds into a histogram when dropped.
pub fn start_timer<C: MetricCatalog>(metric: C, labels: Labels<'_, C>) -> Timer {
    histogram(metric, labels).start_timer()
}

/// A cached handle to a counter series of the installed recorder.
pub fn counter<C: MetricCatalog>(metric: C, labels: Labels<'_, C>) -> CounterHandle {
    match global::get::<C>() {
        Some(recorder) => recorder.counter(metric, labels),
        None => CounterHandle::detached(),
    }
}

/// A cached handle to a gauge series of the installed recorder.
pub fn gauge<C: MetricCatalog>(metric: C, labels: Labels<'_, C>) -> GaugeHandle {
    match global::get::<C>() {
        Some(recorder) => recorder.gauge(metric, labels),
        None => GaugeHandle::detached(),
    }
}

/// A cached handle to a histogram series of the installed recorder.
pub fn histogram<C: MetricCatalog>(metric: C, labels: Labels<'_, C>) -> HistogramHandle {
    match global::get::<C>() {
        Some(recorder) => recorder.histogram(metric, labels),
        None => HistogramHandle::detached(),
    }
}
