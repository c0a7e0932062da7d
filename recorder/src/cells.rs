//! Counter and gauge series owned by the recorder, and the label escaping every series
//! of the recorder is exposed with.
//!
//! A cell is one cache-line-aligned atomic plus its labels, pre-rendered for
//! exposition at first touch (cells of series created at run time come in chunks,
//! `crate::chunks`), so recording is one relaxed atomic operation and
//! rendering (`crate::exposition`) copies each series' labels as they are. A counter
//! written from several threads at once gets stripes (`crate::stripes`).
//!
//! Label values escape `\`, `"` and line feed, as both the Prometheus text format 0.0.4
//! and OpenMetrics 1.0 require.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::chunks::ChunkedCell;
use crate::exemplar::Exemplars;
use crate::stripes::Contention;

/// One counter series. Aligned to a cache line so threads recording different series
/// never share one.
#[derive(Debug)]
#[repr(align(64))]
pub(crate) struct CounterCell {
    value: AtomicU64,
    contention: Contention,
    /// Set when the series is created (see `crate::chunks`).
    labels: OnceLock<Box<str>>,
    /// Fits in the cache line's padding: no memory per series until an exemplar is set.
    pub(crate) exemplar: Exemplars,
}

impl CounterCell {
    /// A zero counter with `labels` rendered by [`label_pairs`].
    pub(crate) fn new(labels: Box<str>) -> Self {
        CounterCell {
            labels: OnceLock::from(labels),
            ..CounterCell::vacant()
        }
    }

    /// The process's one detached counter: what handles of misused calls record
    /// into, never rendered.
    pub(crate) fn detached() -> &'static CounterCell {
        static DETACHED: OnceLock<CounterCell> = OnceLock::new();
        DETACHED.get_or_init(|| CounterCell::new("".into()))
    }

    /// Adds `value`.
    #[inline(always)]
    pub(crate) fn add(&self, value: u64) {
        self.contention.add(&self.value, value);
    }

    /// The current value (its stripes included).
    #[inline]
    pub(crate) fn get(&self) -> u64 {
        self.contention.total(&self.value)
    }

    /// Labels as rendered by [`label_pairs`] (empty without labels).
    #[inline]
    pub(crate) fn labels(&self) -> &str {
        self.labels.get().map_or("", |labels| labels)
    }
}

impl ChunkedCell for CounterCell {
    fn vacant() -> Self {
        CounterCell {
            value: AtomicU64::new(0),
            contention: Contention::default(),
            labels: OnceLock::new(),
            exemplar: Exemplars::default(),
        }
    }

    fn occupy(&self, labels: Box<str>) {
        occupy(&self.labels, labels);
    }
}

/// One gauge series: an `f64` stored as its bits.
#[derive(Debug)]
#[repr(align(64))]
pub(crate) struct GaugeCell {
    bits: AtomicU64,
    /// Set when the series is created (see `crate::chunks`).
    labels: OnceLock<Box<str>>,
}

impl GaugeCell {
    /// A zero gauge with `labels` rendered by [`label_pairs`].
    pub(crate) fn new(labels: Box<str>) -> Self {
        GaugeCell {
            labels: OnceLock::from(labels),
            ..GaugeCell::vacant()
        }
    }

    /// The process's one detached gauge (see [`CounterCell::detached`]).
    pub(crate) fn detached() -> &'static GaugeCell {
        static DETACHED: OnceLock<GaugeCell> = OnceLock::new();
        DETACHED.get_or_init(|| GaugeCell::new("".into()))
    }

    /// Sets the value.
    #[inline(always)]
    pub(crate) fn set(&self, value: f64) {
        self.bits.store(value.to_bits(), Ordering::Relaxed);
    }

    /// Adds `delta` (negative to subtract).
    #[inline]
    pub(crate) fn add(&self, delta: f64) {
        let mut current = self.bits.load(Ordering::Relaxed);
        loop {
            let next = (f64::from_bits(current) + delta).to_bits();
            match self.bits.compare_exchange_weak(
                current,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }

    /// The current value.
    #[inline]
    pub(crate) fn get(&self) -> f64 {
        f64::from_bits(self.bits.load(Ordering::Relaxed))
    }

    /// Labels as rendered by [`label_pairs`] (empty without labels).
    #[inline]
    pub(crate) fn labels(&self) -> &str {
        self.labels.get().map_or("", |labels| labels)
    }
}

impl ChunkedCell for GaugeCell {
    fn vacant() -> Self {
        GaugeCell {
            bits: AtomicU64::new(0f64.to_bits()),
            labels: OnceLock::new(),
        }
    }

    fn occupy(&self, labels: Box<str>) {
        occupy(&self.labels, labels);
    }
}

/// Gives a vacant cell's label slot its labels. `Chunks` hands each vacant cell out
/// once, so the slot is empty.
fn occupy(slot: &OnceLock<Box<str>>, labels: Box<str>) {
    let taken = slot.set(labels).is_err();
    debug_assert!(!taken, "a cell is handed out once");
}

/// `name1="value1",name2="value2"` with every value escaped; empty without labels.
pub(crate) fn label_pairs<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)> + Clone,
) -> Box<str> {
    // Sized for values that need no escaping (nearly all): then the string is built
    // in one allocation that `into_boxed_str` keeps as it is.
    let len: usize = pairs
        .clone()
        .into_iter()
        .map(|(name, value)| name.len() + value.len() + 4)
        .sum();
    let mut out = String::with_capacity(len.saturating_sub(1));
    for (name, value) in pairs {
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(name);
        out.push_str("=\"");
        push_escaped_label_value(&mut out, value);
        out.push('"');
    }
    out.into_boxed_str()
}

/// Appends `value` escaped for a quoted label value (`\`, `"`, line feed).
pub(crate) fn push_escaped_label_value(out: &mut String, value: &str) {
    if !value.bytes().any(|b| matches!(b, b'\\' | b'"' | b'\n')) {
        return out.push_str(value);
    }
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped_as_both_formats_require() {
        let labels = label_pairs([("a", "q\"b\\n\nx"), ("b", "")]);
        assert_eq!(&*labels, "a=\"q\\\"b\\\\n\\nx\",b=\"\"");
    }

    #[test]
    fn cells_hold_their_values() {
        let counter = CounterCell::new(label_pairs([("a", "x")]));
        counter.add(2);
        counter.add(3);
        let gauge = GaugeCell::new(label_pairs([]));
        gauge.set(1.5);
        gauge.add(-4.0);
        assert_eq!((counter.get(), counter.labels()), (5, "a=\"x\""));
        assert_eq!((gauge.get(), gauge.labels()), (-2.5, ""));
    }

    #[test]
    fn a_counter_cell_stays_one_cache_line_with_its_exemplar_and_stripe_slots() {
        assert_eq!(std::mem::size_of::<CounterCell>(), 64);
    }
}
