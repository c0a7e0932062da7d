//! Records catalog metrics at run time and serves them in the Prometheus text format.
//!
//! One way to record: install once with [`Builder`], then call [`inc`], [`add`],
//! [`dec`], [`set`], [`observe`] or [`start_timer`] with a typed metric of the catalog
//! (`Metric::X`) and its label values, always in the order (metric, labels, value). The
//! label set is the metric's declared label types, so unknown or missing labels, labels
//! on an unlabeled metric, a misspelled or foreign enumerated value, and an operation of
//! the wrong kind (`observe` on a counter) do not compile. For hot loops, [`counter`],
//! [`gauge`] and [`histogram`] return a cached handle, resolved with the same checks.
//!
//! ```no_run
//! use catalog::{Metric, MetricId, SourceErrorType, SourceId};
//!
//! # fn main() -> Result<(), recorder::Error> {
//! recorder::Builder::<MetricId>::new().install()?; // serves http://127.0.0.1:9464/metrics
//! let id = SourceId("sms-provider-a");
//! recorder::inc(Metric::SourcesRequestsError, (id, SourceErrorType::Timeout));
//! recorder::observe(Metric::SourcesRequestDuration, id, 0.42);
//! let received = recorder::counter(Metric::SourcesEnvelopesReceived, id); // cached handle
//! received.add(512);
//! # Ok(()) }
//! ```
//!
//! The `metrics` facade (`metrics::counter!` and friends) is for third-party code only:
//! libraries that record through it are rendered after the catalog's series on the same
//! `/metrics`. Workspace code records catalog metrics through the functions above.
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
//! Renames: while a metric deprecated with `renamed_to` is in the catalog, its name
//! has no storage of its own. Recording into the new metric exposes its series under
//! both names (dual emission: the old family carries the old HELP, marked deprecated),
//! rendered twice from the same cells, so the recording path costs nothing more; code
//! not yet migrated that records into the old metric records into the new one (on the
//! slow path). The old name goes once the catalog hides it, or earlier with
//! [`Builder::renamed_metrics`]`(`[`RenamedMetrics::NewOnly`]`)`.
//!
//! Counter increments are `u64`, so negative or NaN counter increments cannot be written.
//!
//! Label values: a free-form value is taken as given (any UTF-8: quotes, backslashes,
//! newlines, control characters; the empty string too, which Prometheus reads as an
//! absent label) and escaped exactly on exposition. Absurd values are bounded on first
//! touch: a new series with a value longer than [`MAX_LABEL_VALUE_BYTES`] is misuse
//! (`wrong_labels`: dropped, counted, logged once with the value cut short). A
//! caller-supplied `__overflow__` is recorded into the overflow series itself: it takes
//! no slot of `max_series` and is not counted as a fold in `SelfMetric::SeriesOverflow`.
//!
//! Several catalogs, one process: [`Builder::with`] registers a library's catalog next
//! to the service's, on the same `/metrics` and `/catalog`; the recorder's own
//! self-metrics ([`SelfMetric`], counted for every catalog it serves) are registered by
//! every recorder, so no catalog declares them. A catalog registered twice, or two
//! catalogs exposing the same name, are a start-up [`Error`] naming both.

mod builder;
mod cell_ref;
mod cells;
mod chunks;
mod error;
mod exemplar;
mod exposition;
mod global;
mod handles;
mod histogram;
mod recorder;
mod self_metrics;
mod series;
mod server;
mod store;
mod stripes;

pub use builder::{Builder, DEFAULT_LISTEN};
pub use error::Error;
pub use exemplar::{MAX_EXEMPLAR_LABEL_CHARS, MAX_TRACE_ID_CHARS};
pub use exposition::{Format, canonical_float, gzip};
pub use handles::{CounterHandle, GaugeHandle, HistogramHandle, Timer};
pub use recorder::Recorder;
pub use self_metrics::{RECORDER, SelfLabel, SelfMetric, SelfMetricId, self_metric};
pub use store::{MAX_LABEL_VALUE_BYTES, RenamedMetrics};

use catalog::{CounterMetric, GaugeMetric, HistogramMetric, TypedMetric};

use crate::cell_ref::CellRef;
use crate::cells::{CounterCell, GaugeCell};
use crate::histogram::AtomicHistogram;

/// Adds one to a counter of the installed recorder.
#[inline(always)]
pub fn inc<M: CounterMetric>(metric: M, labels: M::Labels<'_>) {
    add(metric, labels, 1);
}

/// Adds `value` to a counter of the installed recorder.
#[inline(always)]
pub fn add<M: CounterMetric>(metric: M, labels: M::Labels<'_>, value: u64) {
    match global::dense::<M, CounterCell>(labels) {
        Some(cell) => cell.add(value),
        None => via_store::<M>(move || {
            if let Some(recorder) = global::get::<M::Catalog>() {
                recorder.add(metric, labels, value);
            }
        }),
    }
}

/// Subtracts one from a gauge of the installed recorder.
#[inline(always)]
pub fn dec<M: GaugeMetric>(metric: M, labels: M::Labels<'_>) {
    match global::dense::<M, GaugeCell>(labels) {
        Some(cell) => cell.add(-1.0),
        None => via_store::<M>(move || {
            if let Some(recorder) = global::get::<M::Catalog>() {
                recorder.dec(metric, labels);
            }
        }),
    }
}

/// Sets a gauge of the installed recorder.
#[inline(always)]
pub fn set<M: GaugeMetric>(metric: M, labels: M::Labels<'_>, value: f64) {
    match global::dense::<M, GaugeCell>(labels) {
        Some(cell) if value.is_finite() => cell.set(value),
        // Not finite: the store reports the misuse.
        _ => via_store::<M>(move || {
            if let Some(recorder) = global::get::<M::Catalog>() {
                recorder.set(metric, labels, value);
            }
        }),
    }
}

/// Records an observation into a histogram of the installed recorder.
#[inline(always)]
pub fn observe<M: HistogramMetric>(metric: M, labels: M::Labels<'_>, value: f64) {
    match global::dense::<M, AtomicHistogram>(labels) {
        Some(histogram) if value.is_finite() => histogram.observe(value),
        // Not finite: the store reports the misuse.
        _ => via_store::<M>(move || {
            if let Some(recorder) = global::get::<M::Catalog>() {
                recorder.observe(metric, labels, value);
            }
        }),
    }
}

/// Records through the installed store: inline for a metric with free-form labels (its
/// usual path), out of line for one whose series are published in its
/// [`catalog::DenseSlot`], which takes the store's path only before install, when
/// disabled or on misuse. So a call site of such a metric inlines the dense path alone,
/// a few instructions, and the free functions can be `#[inline(always)]`: with plain
/// `#[inline]`, LLVM called `recorder::add` out of line from a crate with two call sites
/// of it (4.6 ns a call, against 3.1 ns inlined and 2.9 ns for a cached handle, in a
/// standalone loop over the 18 enumerated series).
#[inline(always)]
fn via_store<M: TypedMetric>(record: impl FnOnce()) {
    if global::publishes_dense::<M>() {
        out_of_line(record);
    } else {
        record();
    }
}

#[cold]
#[inline(never)]
fn out_of_line(record: impl FnOnce()) {
    record();
}

/// Starts a timer that observes elapsed seconds into a histogram when dropped.
pub fn start_timer<M: HistogramMetric>(metric: M, labels: M::Labels<'_>) -> Timer {
    if let Some(histogram) = global::dense::<M, AtomicHistogram>(labels) {
        return Timer::new(Some(CellRef::from_static(histogram)));
    }
    match global::get::<M::Catalog>() {
        Some(recorder) => recorder.start_timer(metric, labels),
        None => Timer::new(None),
    }
}

/// A cached handle to a counter series of the installed recorder.
pub fn counter<M: CounterMetric>(metric: M, labels: M::Labels<'_>) -> CounterHandle {
    match global::get::<M::Catalog>() {
        Some(recorder) => recorder.counter(metric, labels),
        None => CounterHandle::detached(),
    }
}

/// A cached handle to a gauge series of the installed recorder.
pub fn gauge<M: GaugeMetric>(metric: M, labels: M::Labels<'_>) -> GaugeHandle {
    match global::get::<M::Catalog>() {
        Some(recorder) => recorder.gauge(metric, labels),
        None => GaugeHandle::detached(),
    }
}

/// A cached handle to a histogram series of the installed recorder.
pub fn histogram<M: HistogramMetric>(metric: M, labels: M::Labels<'_>) -> HistogramHandle {
    match global::get::<M::Catalog>() {
        Some(recorder) => recorder.histogram(metric, labels),
        None => HistogramHandle::detached(),
    }
}
