//! Prometheus naming rules: what `promtool check metrics` reports about metric and
//! label names, units and buckets (see prometheus.io "Metric and label naming" and
//! client_golang's `promlint`).

use crate::model::{MetricKind, Unit};

/// Units Prometheus wants spelled as their base unit, with the base unit to use.
const NON_BASE_UNITS: &[(&str, &str)] = &[
    ("milliseconds", "seconds"),
    ("microseconds", "seconds"),
    ("nanoseconds", "seconds"),
    ("minutes", "seconds"),
    ("hours", "seconds"),
    ("days", "seconds"),
    ("weeks", "seconds"),
    ("kilobytes", "bytes"),
    ("megabytes", "bytes"),
    ("gigabytes", "bytes"),
    ("terabytes", "bytes"),
    ("kibibytes", "bytes"),
    ("mebibytes", "bytes"),
    ("gibibytes", "bytes"),
    ("tebibytes", "bytes"),
    ("bits", "bytes"),
    ("percent", "ratio"),
    (
        "celsius",
        "celsius is fine only as the base unit of temperature; prefer it over fahrenheit",
    ),
    ("fahrenheit", "celsius"),
];

/// Unit abbreviations promtool rejects as name tokens.
const ABBREVIATED_UNITS: &[&str] = &[
    "s", "ms", "us", "ns", "sec", "secs", "min", "mins", "hr", "hrs", "kb", "mb", "gb", "tb", "pb",
    "kib", "mib", "gib", "tib", "b",
];

/// Metric type names that must not appear in a metric name.
const TYPE_WORDS: &[&str] = &["counter", "gauge", "histogram", "summary", "untyped"];

/// Checks a metric name against Prometheus naming rules for a metric of `kind` and `unit`.
///
/// Returns `(rule, message)` pairs; empty when the name is fine. `prefix` is the
/// application prefix every name must start with.
pub fn check_metric_name(
    name: &str,
    kind: MetricKind,
    unit: Unit,
    prefix: &str,
) -> Vec<(&'static str, String)> {
    let mut found = Vec::new();
    if !is_valid_metric_name(name) {
        found.push((
            "name-charset",
            format!("`{name}` must match [a-zA-Z_][a-zA-Z0-9_]*"),
        ));
        return found;
    }
    if name.contains(':') {
        found.push((
            "name-colon",
            "colons are reserved for recording rules; use `_`".to_string(),
        ));
    }
    if name.chars().any(|c| c.is_ascii_uppercase()) {
        found.push((
            "name-snake-case",
            "use snake_case, not camelCase or upper case".to_string(),
        ));
    }
    if !name.starts_with(prefix) {
        found.push((
            "name-prefix",
            format!("names start with the application prefix `{prefix}`"),
        ));
    }
    let tokens: Vec<&str> = name.split('_').collect();
    if tokens.iter().any(|t| t.is_empty()) && !name.starts_with('_') {
        found.push((
            "name-underscores",
            "no empty `_` tokens (double or trailing underscores)".to_string(),
        ));
    }
    for token in &tokens {
        let lower = token.to_ascii_lowercase();
        if let Some((_, base)) = NON_BASE_UNITS.iter().find(|(u, _)| *u == lower) {
            found.push((
                "name-base-unit",
                format!("`{token}` is not a base unit: use `{base}`"),
            ));
        }
        if ABBREVIATED_UNITS.contains(&lower.as_str()) {
            found.push((
                "name-unit-abbreviation",
                format!("`{token}` is an abbreviated unit: spell it out (`seconds`, `bytes`)"),
            ));
        }
        if TYPE_WORDS.contains(&lower.as_str()) {
            found.push((
                "name-type-word",
                format!("the metric type `{token}` does not belong in the name"),
            ));
        }
    }
    let is_counter = kind == MetricKind::Counter;
    let base = match name.strip_suffix("_total") {
        Some(base) if is_counter => base,
        Some(base) => {
            found.push((
                "name-total-suffix",
                "only counters end in `_total`".to_string(),
            ));
            base
        }
        None if is_counter => {
            found.push((
                "counter-suffix",
                "counter names end in `_total`".to_string(),
            ));
            name
        }
        None => name,
    };
    for reserved in ["_bucket", "_count", "_sum"] {
        if base.ends_with(reserved) {
            found.push((
                "name-reserved-suffix",
                format!("`{reserved}` is reserved for histogram and summary series"),
            ));
        }
    }
    if name.ends_with("_info") && kind != MetricKind::Gauge {
        found.push((
            "name-info-suffix",
            "`_info` is for gauges of value 1 that carry metadata labels".to_string(),
        ));
    }
    match unit.suffix() {
        Some(suffix) if !base.ends_with(&format!("_{suffix}")) => found.push((
            "unit-suffix",
            format!(
                "unit {unit:?} requires the name to end in `_{suffix}`{}",
                if is_counter { " before `_total`" } else { "" }
            ),
        )),
        None => {
            if let Some(suffix) = [Unit::Seconds, Unit::Bytes, Unit::Ratio]
                .iter()
                .filter_map(|u| u.suffix())
                .find(|s| base.ends_with(&format!("_{s}")))
            {
                found.push((
                    "unit-suffix",
                    format!("the name ends in `_{suffix}` but the unit is None: declare the unit"),
                ));
            }
        }
        _ => {}
    }
    found
}

/// Checks a label name: charset, snake_case, not reserved.
pub fn check_label_name(name: &str) -> Vec<(&'static str, String)> {
    let mut found = Vec::new();
    let valid = name
        .chars()
        .enumerate()
        .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
    if name.is_empty() || !valid {
        found.push((
            "label-charset",
            format!("label `{name}` must match [a-zA-Z_][a-zA-Z0-9_]*"),
        ));
    }
    if name.starts_with("__") {
        found.push((
            "label-reserved",
            format!("label `{name}`: `__` prefixed labels are reserved for Prometheus"),
        ));
    }
    if name == "le" || name == "quantile" {
        found.push((
            "label-reserved",
            format!("label `{name}` is reserved for histograms and summaries"),
        ));
    }
    if name.chars().any(|c| c.is_ascii_uppercase()) {
        found.push((
            "label-snake-case",
            format!("label `{name}`: use snake_case"),
        ));
    }
    found
}

fn is_valid_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c == '_' || c == ':' || c.is_ascii_alphabetic() => {}
        _ => return false,
    }
    chars.all(|c| c == '_' || c == ':' || c.is_ascii_alphanumeric())
}

/// Checks bucket bounds: non-empty, finite, positive, strictly increasing.
pub fn check_buckets(buckets: &[f64]) -> Vec<(&'static str, String)> {
    let mut found = Vec::new();
    if buckets.is_empty() {
        found.push((
            "buckets-empty",
            "a histogram needs at least one bucket".to_string(),
        ));
    }
    for bound in buckets {
        if !bound.is_finite() || *bound <= 0.0 {
            found.push((
                "buckets-finite-positive",
                format!("bucket bound {bound} must be finite and positive (`+Inf` is implied)"),
            ));
        }
    }
    if buckets.windows(2).any(|w| w[0] >= w[1]) {
        found.push((
            "buckets-sorted",
            format!("buckets {buckets:?} must be strictly increasing"),
        ));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Rules reported for `name` as a metric of `kind` and `unit` with prefix `sms_`.
    fn rules(name: &str, kind: MetricKind, unit: Unit) -> Vec<&'static str> {
        check_metric_name(name, kind, unit, "sms_")
            .into_iter()
            .map(|(rule, _)| rule)
            .collect()
    }

    const HISTOGRAM: MetricKind = MetricKind::Histogram { buckets: &[1.0] };

    #[test]
    fn names_promtool_would_reject_are_reported() {
        use MetricKind::{Counter, Gauge};
        let cases: &[(&str, MetricKind, Unit, &str)] = &[
            ("sms_requests", Counter, Unit::None, "counter-suffix"),
            ("sms_queue_total", Gauge, Unit::None, "name-total-suffix"),
            (
                "sms_latency_milliseconds",
                HISTOGRAM,
                Unit::Seconds,
                "name-base-unit",
            ),
            ("sms_size_kilobytes", Gauge, Unit::Bytes, "name-base-unit"),
            ("sms_errors_percent", Gauge, Unit::Ratio, "name-base-unit"),
            (
                "sms_latency_ms",
                HISTOGRAM,
                Unit::Seconds,
                "name-unit-abbreviation",
            ),
            (
                "sms_requests_counter_total",
                Counter,
                Unit::None,
                "name-type-word",
            ),
            ("sms_queue_gauge", Gauge, Unit::None, "name-type-word"),
            ("sms:requests_total", Counter, Unit::None, "name-colon"),
            (
                "sms_requestCount_total",
                Counter,
                Unit::None,
                "name-snake-case",
            ),
            (
                "sms_requests__total",
                Counter,
                Unit::None,
                "name-underscores",
            ),
            ("requests_total", Counter, Unit::None, "name-prefix"),
            (
                "sms_queue_bucket",
                Gauge,
                Unit::None,
                "name-reserved-suffix",
            ),
            ("sms_queue_count", Gauge, Unit::None, "name-reserved-suffix"),
            ("sms_build_info", Counter, Unit::None, "name-info-suffix"),
            ("sms_latency", HISTOGRAM, Unit::Seconds, "unit-suffix"),
            ("sms_written_total", Counter, Unit::Bytes, "unit-suffix"),
            ("sms_fill_ratio", Gauge, Unit::None, "unit-suffix"),
            ("0sms_total", Counter, Unit::None, "name-charset"),
            ("sms-requests_total", Counter, Unit::None, "name-charset"),
        ];
        for (name, kind, unit, rule) in cases {
            assert!(
                rules(name, *kind, *unit).contains(rule),
                "{name}: expected {rule}, got {:?}",
                rules(name, *kind, *unit)
            );
        }
    }

    #[test]
    fn good_names_pass() {
        assert!(rules("sms_written_bytes_total", MetricKind::Counter, Unit::Bytes).is_empty());
        assert!(rules("sms_request_duration_seconds", HISTOGRAM, Unit::Seconds).is_empty());
        assert!(rules("sms_cache_hit_ratio", MetricKind::Gauge, Unit::Ratio).is_empty());
        assert!(rules("sms_build_info", MetricKind::Gauge, Unit::None).is_empty());
    }

    #[test]
    fn reserved_and_malformed_labels_are_reported() {
        for bad in [
            "le", "quantile", "__name__", "__x", "sourceId", "0abc", "a-b", "",
        ] {
            assert!(!check_label_name(bad).is_empty(), "{bad:?} accepted");
        }
        assert!(check_label_name("source_id").is_empty());
    }

    fn snake_word() -> impl Strategy<Value = String> {
        // Words that are neither units, abbreviations nor type names.
        "[a-z]{3,8}".prop_filter("reserved word", |w| {
            !NON_BASE_UNITS.iter().any(|(u, _)| u == w)
                && !ABBREVIATED_UNITS.contains(&w.as_str())
                && !TYPE_WORDS.contains(&w.as_str())
                && ![
                    "total", "bucket", "count", "sum", "info", "seconds", "bytes", "ratio",
                ]
                .contains(&w.as_str())
        })
    }

    proptest! {
        /// Any snake_case name built from plain words passes as a counter with `_total`
        /// and as a gauge without it, and the swapped suffixes are always rejected.
        #[test]
        fn suffix_rules_hold_for_any_snake_case_name(words in prop::collection::vec(snake_word(), 1..5)) {
            let base = format!("sms_{}", words.join("_"));
            let counter = format!("{base}_total");
            prop_assert!(rules(&counter, MetricKind::Counter, Unit::None).is_empty(), "{counter}");
            prop_assert!(rules(&base, MetricKind::Gauge, Unit::None).is_empty(), "{base}");
            prop_assert!(rules(&base, MetricKind::Counter, Unit::None).contains(&"counter-suffix"));
            prop_assert!(rules(&counter, MetricKind::Gauge, Unit::None).contains(&"name-total-suffix"));
            let seconds = format!("{base}_seconds");
            prop_assert!(rules(&seconds, HISTOGRAM, Unit::Seconds).is_empty(), "{seconds}");
            prop_assert!(rules(&seconds, HISTOGRAM, Unit::None).contains(&"unit-suffix"));
        }

        /// Upper-case anywhere in a name is reported.
        #[test]
        fn upper_case_is_always_reported(words in prop::collection::vec(snake_word(), 1..4), at in 0usize..100) {
            let mut name: Vec<char> = format!("sms_{}_total", words.join("_")).chars().collect();
            let letters: Vec<usize> = (4..name.len() - 6).filter(|i| name[*i].is_ascii_lowercase()).collect();
            let i = letters[at % letters.len()];
            name[i] = name[i].to_ascii_uppercase();
            let name: String = name.into_iter().collect();
            prop_assert!(rules(&name, MetricKind::Counter, Unit::None).contains(&"name-snake-case"), "{name}");
        }

        /// Buckets pass exactly when they are finite, positive and strictly increasing.
        #[test]
        fn bucket_check_matches_its_definition(buckets in prop::collection::vec(prop_oneof![
            -10.0f64..100.0, Just(f64::NAN), Just(f64::INFINITY), Just(0.0)], 0..8)) {
            let ok = !buckets.is_empty()
                && buckets.iter().all(|b| b.is_finite() && *b > 0.0)
                && buckets.windows(2).all(|w| w[0] < w[1]);
            prop_assert_eq!(check_buckets(&buckets).is_empty(), ok, "{:?}", buckets);
        }
    }
}
