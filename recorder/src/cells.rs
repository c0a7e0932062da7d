//! Counter and gauge series owned by the recorder, and the text-format escaping every
//! series of the recorder is rendered with.
//!
//! A cell is one cache-line-aligned atomic plus its labels, pre-rendered for
//! exposition at first touch, so recording is one relaxed atomic operation and
//! rendering writes each series with a single formatted line.
//!
//! Escaping follows the Prometheus text format 0.0.4: label values escape `\`, `"` and
//! line feed; HELP text escapes `\` and line feed.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// One counter series. Aligned to a cache line so threads recording different series
/// never share one.
#[derive(Debug)]
#[repr(align(64))]
pub(crate) struct CounterCell {
    value: AtomicU64,
    labels: Box<str>,
}

impl CounterCell {
    /// A zero counter with `labels` rendered by [`label_pairs`].
    pub(crate) fn new(labels: Box<str>) -> Self {
        CounterCell {
            value: AtomicU64::new(0),
            labels,
        }
    }

    /// Adds `value`.
    #[inline(always)]
    pub(crate) fn add(&self, value: u64) {
        self.value.fetch_add(value, Ordering::Relaxed);
    }

    /// Appends `name{labels} value`.
    pub(crate) fn render(&self, name: &str, out: &mut String) {
        let value = self.value.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}{} {value}", Braced(&self.labels));
    }
}

/// One gauge series: an `f64` stored as its bits.
#[derive(Debug)]
#[repr(align(64))]
pub(crate) struct GaugeCell {
    bits: AtomicU64,
    labels: Box<str>,
}

impl GaugeCell {
    /// A zero gauge with `labels` rendered by [`label_pairs`].
    pub(crate) fn new(labels: Box<str>) -> Self {
        GaugeCell {
            bits: AtomicU64::new(0f64.to_bits()),
            labels,
        }
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

    /// Appends `name{labels} value`.
    pub(crate) fn render(&self, name: &str, out: &mut String) {
        let value = f64::from_bits(self.bits.load(Ordering::Relaxed));
        let _ = writeln!(out, "{name}{} {}", Braced(&self.labels), Value(value));
    }
}

/// `{labels}`, or nothing when there is no label.
struct Braced<'a>(&'a str);

impl std::fmt::Display for Braced<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            Ok(())
        } else {
            write!(f, "{{{}}}", self.0)
        }
    }
}

/// A sample value as the text format spells it (`+Inf`, `-Inf`, `NaN`, else Rust's
/// shortest round-trip decimal).
pub(crate) struct Value(pub(crate) f64);

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            v if v.is_nan() => f.write_str("NaN"),
            v if v == f64::INFINITY => f.write_str("+Inf"),
            v if v == f64::NEG_INFINITY => f.write_str("-Inf"),
            v => write!(f, "{v}"),
        }
    }
}

/// `name1="value1",name2="value2"` with every value escaped; empty without labels.
pub(crate) fn label_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Box<str> {
    let mut out = String::new();
    for (name, value) in pairs {
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(name);
        out.push_str("=\"");
        for c in value.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out.into_boxed_str()
}

/// Appends the `# HELP` and `# TYPE` lines of a metric family.
pub(crate) fn write_family_header(out: &mut String, name: &str, help: &str, type_name: &str) {
    let _ = write!(out, "# HELP {name} ");
    for c in help.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    let _ = writeln!(out, "\n# TYPE {name} {type_name}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_and_help_are_escaped_as_the_text_format_requires() {
        let labels = label_pairs([("a", "q\"b\\n\nx"), ("b", "")]);
        assert_eq!(&*labels, "a=\"q\\\"b\\\\n\\nx\",b=\"\"");
        let mut text = String::new();
        write_family_header(&mut text, "m_total", "line \\ one\ntwo \"q\"", "counter");
        assert_eq!(
            text,
            "# HELP m_total line \\\\ one\\ntwo \"q\"\n# TYPE m_total counter\n"
        );
    }

    #[test]
    fn cells_render_their_values() {
        let counter = CounterCell::new(label_pairs([("a", "x")]));
        counter.add(2);
        counter.add(3);
        let gauge = GaugeCell::new(label_pairs([]));
        gauge.set(1.5);
        gauge.add(-4.0);
        let mut text = String::new();
        counter.render("c_total", &mut text);
        gauge.render("g", &mut text);
        assert_eq!(text, "c_total{a=\"x\"} 5\ng -2.5\n");
        assert_eq!(Value(f64::INFINITY).to_string(), "+Inf");
        assert_eq!(Value(f64::NEG_INFINITY).to_string(), "-Inf");
        assert_eq!(Value(f64::NAN).to_string(), "NaN");
        assert_eq!(Value(0.1).to_string(), "0.1");
    }
}
