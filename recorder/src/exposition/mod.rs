//! Exposition: the two formats `/metrics` speaks, which one a scraper gets, and gzip.
//!
//! - [`Format::Text`]: the Prometheus text format 0.0.4 (`text.rs`), the answer to
//!   every scraper that does not ask for OpenMetrics.
//! - [`Format::OpenMetrics`]: OpenMetrics 1.0.0 (`openmetrics.rs`): family names
//!   without `_total` for counters, `# UNIT` when the unit is the name's suffix, the
//!   exemplars callers attached, `# EOF` last.
//!
//! [`Format::negotiate`] reads an `Accept` header the way Prometheus' client libraries
//! do (highest `q` wins, the first listed among equals, text when nothing matches).
//! [`Writer`] encodes the recorder's series; histogram bucket bounds are written in the
//! canonical OpenMetrics float form in both formats ([`canonical_float`]: `le="1.0"`,
//! `le="+Inf"`), which Prometheus 2 stores as written and Prometheus 3 normalises to,
//! so the same series has the same `le` on both.

mod openmetrics;
mod text;

use std::io::Write as _;

use catalog::{MetricCatalog, MetricDef, MetricKind};

use crate::cells::{CounterCell, GaugeCell};
use crate::histogram::AtomicHistogram;

/// An exposition format the recorder renders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The Prometheus text format 0.0.4.
    Text,
    /// OpenMetrics 1.0.0 (with exemplars).
    OpenMetrics,
}

impl Format {
    /// The `Content-Type` of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }

    /// The format to answer a request whose `Accept` header is `accept` with: the
    /// acceptable media range with the highest `q` (the first listed among equals),
    /// where `application/openmetrics-text` (version `1.0.0`, `0.0.1` or none) means
    /// OpenMetrics and `text/plain` (version `0.0.4` or none), `text/*` and `*/*` mean
    /// text. Anything else, or no header, is text.
    pub fn negotiate(accept: Option<&str>) -> Format {
        let mut best: Option<(f32, Format)> = None;
        for range in accept.unwrap_or("").split(',') {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or("").to_ascii_lowercase();
            let mut q = 1.0f32;
            let mut version = None;
            for parameter in parts {
                let Some((key, value)) = parameter.split_once('=') else {
                    continue;
                };
                let value = value.trim().trim_matches('"');
                match key.trim().to_ascii_lowercase().as_str() {
                    "q" => q = value.parse().unwrap_or(0.0),
                    "version" => version = Some(value.to_string()),
                    _ => {}
                }
            }
            let format = match (media.as_str(), version.as_deref()) {
                ("application/openmetrics-text", None | Some("1.0.0" | "0.0.1")) => {
                    Format::OpenMetrics
                }
                ("text/plain", None | Some("0.0.4")) | ("text/*" | "*/*", _) => Format::Text,
                _ => continue,
            };
            if q > 0.0 && best.is_none_or(|(best_q, _)| q > best_q) {
                best = Some((q, format));
            }
        }
        best.map_or(Format::Text, |(_, format)| format)
    }
}

/// True when an `Accept-Encoding` header (all its values, comma-joined or one per
/// field) accepts gzip: `gzip` or `x-gzip` with a `q` above 0, or `*` above 0 when
/// gzip is not listed.
pub(crate) fn accepts_gzip<'a>(values: impl IntoIterator<Item = &'a str>) -> bool {
    let mut gzip = None;
    let mut any = None;
    for coding in values.into_iter().flat_map(|v| v.split(',')) {
        let mut parts = coding.split(';').map(str::trim);
        let name = parts.next().unwrap_or("").to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.split_once('='))
            .find(|(key, _)| key.trim().eq_ignore_ascii_case("q"))
            .map_or(1.0, |(_, value)| value.trim().parse::<f32>().unwrap_or(0.0));
        match name.as_str() {
            "gzip" | "x-gzip" => gzip = Some(gzip.map_or(q, |g: f32| g.max(q))),
            "*" => any = Some(q),
            _ => {}
        }
    }
    gzip.or(any).is_some_and(|q| q > 0.0)
}

/// `body` gzip-compressed as `/metrics` sends it when the scraper accepts gzip: the
/// fastest level, which `docs/performance.md` measured at about the same size as the
/// default level for a fraction of its CPU. Public for embedders serving a recorder
/// themselves, and for the benchmarks.
pub fn gzip(body: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 8),
        flate2::Compression::fast(),
    );
    // Writing into a `Vec` cannot fail.
    let _ = encoder.write_all(body);
    encoder.finish().unwrap_or_default()
}

/// The canonical OpenMetrics spelling of a float, the one Prometheus 3 normalises `le`
/// and `quantile` to (Go's `strconv.FormatFloat(f, 'g', -1, 64)`, with `.0` appended
/// when that has neither `.` nor an exponent): `1.0`, `0.25`, `1e+06`, `1e-05`,
/// `+Inf`, `NaN`.
pub fn canonical_float(value: f64) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if value == 0.0 {
        return "0.0".into();
    }
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific
        .split_once('e')
        .unwrap_or((scientific.as_str(), "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    // Go's shortest 'g' switches to an exponent below 1e-4 and from 1e6 (precision 6).
    if !(-4..6).contains(&exponent) {
        let sign = if exponent < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs());
    }
    let mut fixed = value.to_string();
    if !fixed.contains('.') {
        fixed.push_str(".0");
    }
    fixed
}

/// Appends a sample value: `+Inf`, `-Inf`, `NaN`, else Rust's shortest round-trip
/// decimal (valid in both formats).
pub(crate) fn push_float(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        use std::fmt::Write as _;
        let _ = write!(out, "{value}");
    }
}

/// Appends `value` in decimal.
#[inline]
pub(crate) fn push_u64(out: &mut String, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    out.push_str(std::str::from_utf8(&digits[start..]).unwrap_or("0"));
}

/// Encodes the recorder's series, family by family, in one [`Format`].
pub(crate) struct Writer {
    format: Format,
    out: String,
    /// Sample name of the current family (the catalog name).
    name: &'static str,
    /// `le` values of the current histogram family, canonical, `+Inf` last.
    le: Vec<String>,
}

impl Writer {
    /// A writer with room for `capacity` bytes.
    pub(crate) fn new(format: Format, capacity: usize) -> Self {
        Writer {
            format,
            out: String::with_capacity(capacity),
            name: "",
            le: Vec::new(),
        }
    }

    /// Starts the family of `def`: its metadata lines; the series that follow are its.
    pub(crate) fn family<C: MetricCatalog>(&mut self, def: &'static MetricDef<C>) {
        self.name = def.name;
        if let MetricKind::Histogram { buckets } = def.kind {
            self.le = buckets.iter().copied().map(canonical_float).collect();
            self.le.push("+Inf".into());
        }
        match self.format {
            Format::Text => text::family(&mut self.out, def),
            Format::OpenMetrics => openmetrics::family(&mut self.out, def),
        }
    }

    /// One counter series of the current family.
    pub(crate) fn counter(&mut self, cell: &CounterCell) {
        let out = &mut self.out;
        push_series_name(out, self.name, "", cell.labels(), None);
        out.push(' ');
        push_u64(out, cell.get());
        if self.format == Format::OpenMetrics {
            cell.exemplar
                .with(0, |exemplar| openmetrics::exemplar(out, exemplar));
        }
        out.push('\n');
    }

    /// One gauge series of the current family.
    pub(crate) fn gauge(&mut self, cell: &GaugeCell) {
        let out = &mut self.out;
        push_series_name(out, self.name, "", cell.labels(), None);
        out.push(' ');
        push_float(out, cell.get());
        out.push('\n');
    }

    /// One histogram series of the current family. `_count` equals the `+Inf` bucket,
    /// as both formats require, even while observations race the render.
    pub(crate) fn histogram(&mut self, histogram: &AtomicHistogram) {
        let out = &mut self.out;
        let labels = histogram.labels();
        let mut cumulative = 0u64;
        for (bucket, (count, le)) in histogram.counts().zip(&self.le).enumerate() {
            cumulative += count;
            push_series_name(out, self.name, "_bucket", labels, Some(le));
            out.push(' ');
            push_u64(out, cumulative);
            if self.format == Format::OpenMetrics {
                histogram
                    .exemplars
                    .with(bucket, |exemplar| openmetrics::exemplar(out, exemplar));
            }
            out.push('\n');
        }
        let bare = labels.strip_suffix(',').unwrap_or(labels);
        push_series_name(out, self.name, "_sum", bare, None);
        out.push(' ');
        push_float(out, histogram.sum());
        out.push('\n');
        push_series_name(out, self.name, "_count", bare, None);
        out.push(' ');
        push_u64(out, cumulative);
        out.push('\n');
    }

    /// Appends what other code recorded through the `metrics` facade (text format
    /// 0.0.4 with `le` and `quantile` made canonical, or translated for OpenMetrics)
    /// and, for OpenMetrics, `# EOF`.
    pub(crate) fn finish(mut self, facade_text: &str) -> String {
        match self.format {
            Format::Text => text::facade(facade_text, &mut self.out),
            Format::OpenMetrics => {
                openmetrics::translate_text(facade_text, &mut self.out);
                self.out.push_str("# EOF\n");
            }
        }
        self.out
    }
}

/// Position of the `}` closing a label block (quotes and escapes respected).
pub(super) fn label_block_end(inner: &str) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in inner.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '}' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

/// `name="raw"` pairs of a label block, values still escaped.
fn label_pairs(block: &str) -> impl Iterator<Item = (&str, &str)> {
    let mut rest = block;
    std::iter::from_fn(move || {
        let start = rest.trim_start_matches([',', ' ']);
        let (name, after) = start.split_once('=')?;
        let after = after.strip_prefix('"')?;
        let mut escaped = false;
        let end = after.char_indices().find_map(|(i, c)| match c {
            _ if escaped => {
                escaped = false;
                None
            }
            '\\' => {
                escaped = true;
                None
            }
            '"' => Some(i),
            _ => None,
        })?;
        rest = &after[end + 1..];
        Some((name.trim(), &after[..end]))
    })
}

/// Appends `{block}` (a label block's inside, values still escaped) with the value of
/// label `bound` (`le` or `quantile`), when given and numeric, in canonical form.
fn push_label_block(out: &mut String, block: &str, bound: Option<&str>) {
    out.push('{');
    for (i, (label, raw)) in label_pairs(block).enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(label);
        out.push_str("=\"");
        match raw.parse::<f64>() {
            Ok(value) if Some(label) == bound => out.push_str(&canonical_float(value)),
            _ => out.push_str(raw),
        }
        out.push('"');
    }
    out.push('}');
}

/// `name suffix {labels le="..."}` (braces only when there is a label).
#[inline]
fn push_series_name(out: &mut String, name: &str, suffix: &str, labels: &str, le: Option<&str>) {
    out.push_str(name);
    out.push_str(suffix);
    match le {
        Some(le) => {
            out.push('{');
            out.push_str(labels);
            out.push_str("le=\"");
            out.push_str(le);
            out.push_str("\"}");
        }
        None if labels.is_empty() => {}
        None => {
            out.push('{');
            out.push_str(labels);
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PROMETHEUS_2_42: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

    #[test]
    fn negotiation_follows_q_values_and_falls_back_to_text() {
        let cases = [
            (Some(PROMETHEUS_2_42), Format::OpenMetrics),
            (
                Some("application/openmetrics-text; version=1.0.0"),
                Format::OpenMetrics,
            ),
            (Some("application/openmetrics-text"), Format::OpenMetrics),
            (
                Some("application/openmetrics-text;version=0.0.1"),
                Format::OpenMetrics,
            ),
            // A version we do not speak is not OpenMetrics 1.0.
            (
                Some("application/openmetrics-text;version=2.0.0"),
                Format::Text,
            ),
            (
                Some("text/plain;version=0.0.4;q=0.9,application/openmetrics-text;q=0.5"),
                Format::Text,
            ),
            (
                Some("text/plain,application/openmetrics-text"),
                Format::Text,
            ),
            (
                Some("application/openmetrics-text;q=0,text/plain;q=0.1"),
                Format::Text,
            ),
            (
                Some("APPLICATION/OpenMetrics-Text; Version=1.0.0"),
                Format::OpenMetrics,
            ),
            (Some("application/vnd.google.protobuf"), Format::Text),
            (Some("*/*"), Format::Text),
            (Some(""), Format::Text),
            (None, Format::Text),
        ];
        for (accept, expected) in cases {
            assert_eq!(Format::negotiate(accept), expected, "{accept:?}");
        }
    }

    #[test]
    fn gzip_is_accepted_unless_refused() {
        let cases: [(&[&str], bool); 9] = [
            (&["gzip"], true),
            (&["deflate, gzip;q=0.5"], true),
            (&["identity", "x-gzip"], true),
            (&["gzip;q=0"], false),
            (&["gzip; q=0.000"], false),
            (&["*"], true),
            (&["*;q=0.1, gzip;q=0"], false),
            (&["deflate, br"], false),
            (&[], false),
        ];
        for (values, expected) in cases {
            assert_eq!(accepts_gzip(values.iter().copied()), expected, "{values:?}");
        }
    }

    #[test]
    fn canonical_floats_match_go_formatting_as_prometheus_3_normalises() {
        let cases = [
            (1.0, "1.0"),
            (0.0, "0.0"),
            (-0.0, "0.0"),
            (-1.0, "-1.0"),
            (0.005, "0.005"),
            (0.025, "0.025"),
            (2.5, "2.5"),
            (10.0, "10.0"),
            (100000.0, "100000.0"),
            (123456.0, "123456.0"),
            (1e6, "1e+06"),
            (2.5e6, "2.5e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e100, "1e+100"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
        ];
        for (value, expected) in cases {
            assert_eq!(canonical_float(value), expected, "{value}");
        }
    }

    proptest! {
        /// The canonical form parses back to the same float.
        #[test]
        fn canonical_floats_round_trip(value in any::<f64>().prop_filter("finite", |v| v.is_finite())) {
            let text = canonical_float(value);
            let parsed: f64 = text.parse().unwrap();
            prop_assert!(parsed == value, "{} -> {}", value, text);
        }

        #[test]
        fn integers_are_written_in_decimal(value in any::<u64>()) {
            let mut out = String::new();
            push_u64(&mut out, value);
            prop_assert_eq!(out, value.to_string());
        }
    }

    #[test]
    fn gzip_round_trips() {
        use std::io::Read as _;
        let body = "metric_total 1\n".repeat(1000);
        let compressed = gzip(body.as_bytes());
        assert!(compressed.len() < body.len() / 10, "{}", compressed.len());
        let mut plain = String::new();
        flate2::read::GzDecoder::new(&compressed[..])
            .read_to_string(&mut plain)
            .unwrap();
        assert_eq!(plain, body);
    }
}
