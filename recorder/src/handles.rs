//! Cached handles for the hottest paths, and the timer guard.
//!
//! A handle is resolved once (metric + label values) and then records with a single
//! atomic operation. Handles resolved from a call that did not match the catalog are
//! detached: the misuse was counted and logged when resolving, and what they record is
//! never exposed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use catalog::DropReason;

use crate::cell_ref::CellRef;
use crate::cells::{CounterCell, GaugeCell};
use crate::exemplar::accept_trace_id;
use crate::histogram::AtomicHistogram;

/// Counts and logs (once per metric) samples dropped for an invalid value.
#[derive(Clone, Debug)]
pub(crate) struct ValueGuard {
    pub(crate) metric_name: &'static str,
    pub(crate) dropped_invalid: CellRef<CounterCell>,
    pub(crate) logged: Arc<AtomicBool>,
    pub(crate) panic_on_misuse: bool,
}

impl ValueGuard {
    /// True when `value` may be recorded; otherwise the sample is counted as dropped.
    #[inline]
    pub(crate) fn accepts(&self, value: f64) -> bool {
        if value.is_finite() {
            return true;
        }
        self.reject(value);
        false
    }

    #[cold]
    fn reject(&self, value: f64) {
        report_misuse(
            self.metric_name,
            DropReason::InvalidValue,
            &format!("value {value} is not finite"),
            self.panic_on_misuse,
            Some(&self.dropped_invalid),
            &self.logged,
        );
    }
}

/// The single place misuse is reported: panic (debug builds by default), or count the
/// dropped sample and log once per metric.
#[cold]
pub(crate) fn report_misuse(
    metric_name: &'static str,
    reason: DropReason,
    detail: &str,
    panic_on_misuse: bool,
    dropped: Option<&CounterCell>,
    logged: &AtomicBool,
) {
    if panic_on_misuse {
        panic!(
            "recorder misuse on `{metric_name}` ({}): {detail}",
            reason.as_str()
        );
    }
    if let Some(dropped) = dropped {
        dropped.add(1);
    }
    if !logged.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            metric = metric_name,
            reason = reason.as_str(),
            "sample dropped: {detail} (further drops of this metric are counted, not logged)"
        );
    }
}

/// A cached counter series.
#[derive(Clone, Debug)]
pub struct CounterHandle {
    pub(crate) inner: CellRef<CounterCell>,
}

impl CounterHandle {
    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.inner.add(1);
    }

    /// Adds `value`.
    #[inline]
    pub fn add(&self, value: u64) {
        self.inner.add(value);
    }
}

/// A cached gauge series.
#[derive(Clone, Debug)]
pub struct GaugeHandle {
    pub(crate) inner: CellRef<GaugeCell>,
    pub(crate) guard: Option<Arc<ValueGuard>>,
}

impl GaugeHandle {
    /// Sets the value; NaN and infinities are dropped and counted.
    #[inline]
    pub fn set(&self, value: f64) {
        if self.guard.as_ref().is_none_or(|g| g.accepts(value)) {
            self.inner.set(value);
        }
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.inner.add(1.0);
    }

    /// Subtracts one.
    #[inline]
    pub fn dec(&self) {
        self.inner.add(-1.0);
    }

    /// Adds `delta` (negative to subtract); NaN and infinities are dropped and counted.
    #[inline]
    pub fn add(&self, delta: f64) {
        if self.guard.as_ref().is_none_or(|g| g.accepts(delta)) {
            self.inner.add(delta);
        }
    }
}

/// A cached histogram series.
#[derive(Clone, Debug)]
pub struct HistogramHandle {
    /// `None` when detached.
    pub(crate) inner: Option<CellRef<AtomicHistogram>>,
    pub(crate) guard: Option<Arc<ValueGuard>>,
}

impl HistogramHandle {
    /// Records one observation; NaN and infinities are dropped and counted.
    #[inline]
    pub fn observe(&self, value: f64) {
        if let Some(histogram) = &self.inner
            && self.guard.as_ref().is_none_or(|g| g.accepts(value))
        {
            histogram.observe(value);
        }
    }

    /// Starts a timer that observes the elapsed seconds into this histogram when dropped.
    pub fn start_timer(&self) -> Timer {
        Timer::new(self.inner.clone())
    }
}

/// Observes the seconds elapsed since its creation into a histogram when dropped.
///
/// The clock is `quanta`'s (the one `metrics-util` uses): the CPU's invariant time-stamp
/// counter, calibrated against the OS monotonic clock, where the CPU has one (else the
/// OS clock). Reading it costs a few nanoseconds, where `std::time::Instant` is a
/// `clock_gettime` call (about 25 ns under KVM): a timer reads the clock twice.
#[derive(Debug)]
#[must_use = "a timer observes when dropped; bind it to a variable"]
pub struct Timer {
    /// `None` when detached. No value guard: elapsed seconds are always finite.
    histogram: Option<CellRef<AtomicHistogram>>,
    start: quanta::Instant,
}

impl Timer {
    /// A timer started now, observing into `histogram` (nothing when `None`).
    pub(crate) fn new(histogram: Option<CellRef<AtomicHistogram>>) -> Self {
        Timer {
            histogram,
            start: quanta::Instant::now(),
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        if let Some(histogram) = &self.histogram {
            histogram.observe(self.start.elapsed().as_secs_f64());
        }
    }
}

impl CounterHandle {
    /// A handle that records nothing (the call that made it was counted as misuse).
    pub(crate) fn detached() -> Self {
        CounterHandle {
            inner: CellRef::from_static(CounterCell::detached()),
        }
    }
}

impl GaugeHandle {
    /// A handle that records nothing (the call that made it was counted as misuse).
    pub(crate) fn detached() -> Self {
        GaugeHandle {
            inner: CellRef::from_static(GaugeCell::detached()),
            guard: None,
        }
    }
}

impl HistogramHandle {
    /// A handle that records nothing (the call that made it was counted as misuse).
    pub(crate) fn detached() -> Self {
        HistogramHandle {
            inner: None,
            guard: None,
        }
    }
}

impl CounterHandle {
    /// Adds one and attaches `trace_id` as the series' exemplar (exposed in
    /// OpenMetrics). A trace id that is empty, longer than [`MAX_TRACE_ID_CHARS`](crate::MAX_TRACE_ID_CHARS)
    /// characters or holds a control character, `"` or `\` is dropped (logged once);
    /// the increment is always recorded.
    #[inline]
    pub fn inc_with_exemplar(&self, trace_id: &str) {
        self.add_with_exemplar(1, trace_id);
    }

    /// Adds `value` and attaches `trace_id` as the series' exemplar, with `value` as
    /// the exemplar's value. See [`CounterHandle::inc_with_exemplar`].
    pub fn add_with_exemplar(&self, value: u64, trace_id: &str) {
        self.inner.add(value);
        if accept_trace_id(trace_id) {
            self.inner.exemplar.record(1, 0, trace_id, value as f64);
        }
    }
}

impl HistogramHandle {
    /// Records one observation and attaches `trace_id` as the exemplar of the bucket
    /// it falls in (exposed in OpenMetrics). NaN and infinities are dropped and counted
    /// as with [`HistogramHandle::observe`]; a trace id that is refused (see
    /// [`CounterHandle::inc_with_exemplar`]) is dropped (logged once) and the
    /// observation recorded without it.
    pub fn observe_with_exemplar(&self, value: f64, trace_id: &str) {
        if let Some(histogram) = &self.inner
            && self.guard.as_ref().is_none_or(|g| g.accepts(value))
        {
            if accept_trace_id(trace_id) {
                histogram.observe_with_exemplar(value, trace_id);
            } else {
                histogram.observe(value);
            }
        }
    }
}
