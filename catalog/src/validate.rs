//! Catalog validation: Prometheus naming rules and internal consistency.
//!
//! Covers everything `promtool check metrics` reports about names and help (see
//! prometheus.io "Metric and label naming" and client_golang's `promlint`), plus the
//! catalog's own invariants. Every problem is reported, not only the first.

use std::collections::BTreeSet;
use std::fmt;

use std::time::Duration;

use crate::alerting::{
    AlertDef, Comparison, Indicator, Placeholder, Signal, TARGET_LABELS, TemplatePart,
    template_placeholders,
};
use crate::model::{DropReason, LabelKey, LabelValues, MetricCatalog, MetricKind, Unit};

/// One thing wrong with a catalog, naming the metric, the rule and the fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The metric's Prometheus name (or the catalog-level item concerned).
    pub metric: String,
    /// Short rule identifier, e.g. `counter-suffix`.
    pub rule: &'static str,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} [{}]", self.metric, self.message, self.rule)
    }
}

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

/// Validates a whole catalog; `Err` lists every problem found.
pub fn validate<C: MetricCatalog>() -> Result<(), Vec<Problem>> {
    let mut problems = Vec::new();
    let mut push = |metric: &str, rule: &'static str, message: String| {
        problems.push(Problem {
            metric: metric.to_string(),
            rule,
            message,
        })
    };

    let mut names = BTreeSet::new();
    let mut alert_names = BTreeSet::new();
    for (position, metric) in C::ALL.iter().enumerate() {
        let def = metric.def();
        let name = def.name;
        if metric.index() != position {
            push(
                name,
                "catalog-index",
                format!(
                    "index() is {} but the metric is at position {position} of ALL",
                    metric.index()
                ),
            );
        }
        if !names.insert(name) {
            push(
                name,
                "name-unique",
                "two metrics share this name".to_string(),
            );
        }
        for (rule, message) in check_metric_name(name, def.kind, def.unit, C::PREFIX) {
            push(name, rule, message);
        }
        if def.help.trim().is_empty() {
            push(
                name,
                "help-empty",
                "help text is empty: say what is measured".to_string(),
            );
        }
        if let Some(buckets) = def.buckets() {
            for (rule, message) in check_buckets(buckets) {
                push(name, rule, message);
            }
        }
        if !C::SUBSYSTEMS.contains(def.subsystem) {
            push(
                name,
                "subsystem-known",
                format!("subsystem `{}` is not in SUBSYSTEMS", def.subsystem.name),
            );
        }
        let subsystem_prefix = format!("{}{}_", C::PREFIX, def.subsystem.name);
        if !name.starts_with(&subsystem_prefix) {
            push(
                name,
                "name-subsystem",
                format!(
                    "names of subsystem `{}` start with `{subsystem_prefix}`",
                    def.subsystem.name
                ),
            );
        }
        check_labels::<C>(*metric, &mut push);
        for alert in def.alerts {
            check_alert::<C>(*metric, alert, &mut push);
            if !alert_names.insert(alert.name) {
                push(
                    name,
                    "alert-unique",
                    format!("alert `{}` is defined twice: rename one", alert.name),
                );
            }
        }
        if let Some(twin) = def.success_twin {
            let twin_def = twin.def();
            if def.kind != MetricKind::Counter || twin_def.kind != MetricKind::Counter {
                push(
                    name,
                    "success-twin",
                    format!(
                        "error/success twins must both be counters (twin `{}`)",
                        twin_def.name
                    ),
                );
            }
            if twin == *metric {
                push(
                    name,
                    "success-twin",
                    "a metric cannot be its own success twin".to_string(),
                );
            }
            if let Some(extra) = twin_def.labels.iter().find(|l| !def.labels.contains(l)) {
                push(
                    name,
                    "success-twin",
                    format!(
                        "success twin `{}` has label `{}` that the error counter lacks",
                        twin_def.name,
                        extra.def().name
                    ),
                );
            }
        }
        for split in def.dashboard.split_by {
            if !def.labels.contains(split) {
                push(
                    name,
                    "dashboard-split",
                    format!(
                        "splits by `{}`, which is not one of its labels",
                        split.def().name
                    ),
                );
            }
        }
        for query in def.dashboard.queries {
            if query.expr.trim().is_empty() || query.title.trim().is_empty() {
                push(
                    name,
                    "dashboard-query",
                    "custom queries need a title and an expression".to_string(),
                );
            }
        }
    }
    if C::SUBSYSTEMS
        .iter()
        .map(|s| s.name)
        .collect::<BTreeSet<_>>()
        .len()
        != C::SUBSYSTEMS.len()
    {
        push(
            "catalog",
            "subsystem-unique",
            "two subsystems share a name".to_string(),
        );
    }
    check_self_metrics::<C>(&mut push);
    check_slos::<C>(&mut push);

    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

fn check_labels<C: MetricCatalog>(metric: C, push: &mut impl FnMut(&str, &'static str, String)) {
    let def = metric.def();
    let mut label_names = BTreeSet::new();
    for label in def.labels {
        let label_def = label.def();
        for (rule, message) in check_label_name(label_def.name) {
            push(def.name, rule, message);
        }
        if !label_names.insert(label_def.name) {
            push(
                def.name,
                "label-unique",
                format!("label `{}` appears twice", label_def.name),
            );
        }
        if label_def.help.trim().is_empty() {
            push(
                def.name,
                "label-help",
                format!("label `{}` has no help text", label_def.name),
            );
        }
        if let LabelValues::OneOf(values) = label_def.values {
            if values.is_empty() {
                push(
                    def.name,
                    "label-values",
                    format!("label `{}` allows no value", label_def.name),
                );
            }
            if values.iter().collect::<BTreeSet<_>>().len() != values.len() {
                push(
                    def.name,
                    "label-values",
                    format!("label `{}` lists a value twice", label_def.name),
                );
            }
            if values
                .iter()
                .any(|v| v.is_empty() || *v == crate::OVERFLOW_VALUE)
            {
                push(
                    def.name,
                    "label-values",
                    format!(
                        "label `{}`: values must be non-empty and not `{}`",
                        label_def.name,
                        crate::OVERFLOW_VALUE
                    ),
                );
            }
        }
    }
    let free_form = def.has_free_form_label();
    if free_form && def.max_series == 0 {
        push(
            def.name,
            "label-bound",
            "a free-form label needs a series bound: set max_series".to_string(),
        );
    }
    if !free_form && def.max_series != 0 {
        push(
            def.name,
            "label-bound",
            "max_series only applies to metrics with a free-form label".to_string(),
        );
    }
}

/// Burn-rate factor of the fastest SLO page (1 h and 5 m windows).
const FASTEST_BURN_RATE: f64 = 14.4;
/// Longest window of the SLO burn-rate alerts.
const LONGEST_SLO_WINDOW: Duration = Duration::from_secs(3 * 86_400);

fn check_alert<C: MetricCatalog>(
    metric: C,
    alert: &AlertDef<C>,
    push: &mut impl FnMut(&str, &'static str, String),
) {
    let def = metric.def();
    let mut problem = |rule: &'static str, message: String| {
        push(def.name, rule, format!("alert `{}`: {message}", alert.name))
    };
    let camel_prefix = camel_case(C::PREFIX);
    let camel = alert.name.starts_with(|c: char| c.is_ascii_uppercase())
        && alert.name.chars().all(|c| c.is_ascii_alphanumeric());
    if !camel || !alert.name.starts_with(&camel_prefix) {
        problem(
            "alert-name",
            format!("alert names are CamelCase and start with `{camel_prefix}`"),
        );
    }
    let counter = def.kind == MetricKind::Counter;
    match alert.signal {
        Signal::Rate { .. } if !counter => {
            problem("alert-signal", "a rate needs a counter".to_string())
        }
        Signal::ErrorRatio { .. } if def.success_twin.is_none() => problem(
            "alert-signal",
            "an error ratio needs an error counter with a success twin: set success_twin"
                .to_string(),
        ),
        Signal::Ratio { denominator, .. }
            if !counter
                || denominator.def().kind != MetricKind::Counter
                || denominator == metric =>
        {
            problem(
                "alert-signal",
                format!(
                    "a ratio divides this counter by another counter (denominator `{}`)",
                    denominator.def().name
                ),
            );
        }
        Signal::Quantile { quantile, .. } => match def.buckets() {
            None => problem("alert-signal", "a quantile needs a histogram".to_string()),
            Some(buckets) => {
                if !(quantile > 0.0 && quantile < 1.0) {
                    problem(
                        "alert-signal",
                        format!("quantile {quantile} must be strictly between 0 and 1"),
                    );
                }
                let last = buckets.last().copied();
                if !buckets.contains(&alert.threshold) || Some(alert.threshold) == last {
                    problem(
                        "alert-threshold",
                        format!(
                            "a quantile threshold must be one of the buckets {buckets:?} other than the largest, \
                             the only values a bucketed quantile is exact at (got {})",
                            alert.threshold
                        ),
                    );
                }
            }
        },
        Signal::Value if def.kind != MetricKind::Gauge => {
            problem("alert-signal", "a value alert needs a gauge".to_string())
        }
        _ => {}
    }
    if let Some(window) = alert.signal.window() {
        if !whole_minutes(window) || window.is_zero() {
            problem(
                "alert-window",
                format!("window {window:?} must be a positive whole number of minutes"),
            );
        }
    }
    if !whole_minutes(alert.for_duration) {
        problem(
            "alert-for",
            format!(
                "`for` {:?} must be a whole number of minutes",
                alert.for_duration
            ),
        );
    }
    if alert.signal != Signal::Absent {
        let t = alert.threshold;
        let is_ratio = matches!(alert.signal, Signal::ErrorRatio { .. });
        if !t.is_finite() || t < 0.0 {
            problem(
                "alert-threshold",
                format!("threshold {t} must be finite and not negative"),
            );
        } else if alert.comparison == Comparison::Below && t == 0.0 {
            problem(
                "alert-threshold",
                "`below 0` can never fire: raise the threshold".to_string(),
            );
        } else if is_ratio && t >= 1.0 {
            problem(
                "alert-threshold",
                format!("an error ratio is at most 1: threshold {t} can never be exceeded"),
            );
        }
    }
    let twin_labels = match alert.signal {
        Signal::ErrorRatio { .. } => def.success_twin.map(|twin| twin.def()),
        Signal::Ratio { denominator, .. } => Some(denominator.def()),
        _ => None,
    };
    for label in alert.by {
        if !def.labels.contains(label) {
            problem(
                "alert-by",
                format!(
                    "keeps label `{}`, which the metric does not have",
                    label.def().name
                ),
            );
        } else if let Some(other) = twin_labels.filter(|other| !other.labels.contains(label)) {
            problem(
                "alert-by",
                format!(
                    "keeps label `{}`, which `{}` does not have",
                    label.def().name,
                    other.name
                ),
            );
        }
    }
    if alert.signal == Signal::Absent && !alert.by.is_empty() {
        problem(
            "alert-by",
            "an absent alert keeps no labels: remove `by`".to_string(),
        );
    }
    if alert.summary.trim().is_empty() || alert.summary.contains(['\n', '{', '}']) {
        problem(
            "alert-summary",
            "the summary is one static line: no template, no line break".to_string(),
        );
    }
    if alert.description.trim().is_empty() {
        problem(
            "alert-description",
            "describe what is happening, e.g. with `{{ $value }}`".to_string(),
        );
    }
    match template_placeholders(alert.description) {
        Err(message) => problem("alert-description", message),
        Ok(parts) => {
            for part in parts {
                let TemplatePart::Placeholder(Placeholder::Label(label)) = part else {
                    continue;
                };
                let known = TARGET_LABELS.contains(&label.as_str())
                    || alert.by.iter().any(|l| l.def().name == label);
                if !known || alert.signal == Signal::Absent {
                    problem(
                        "alert-description",
                        format!(
                            "`$labels.{label}` is not a label of the alert (it keeps {:?} and `by`)",
                            if alert.signal == Signal::Absent {
                                &[][..]
                            } else {
                                TARGET_LABELS
                            }
                        ),
                    );
                }
            }
        }
    }
    if let Some(anchor) = alert.runbook_anchor {
        if anchor.is_empty()
            || !anchor
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            problem(
                "alert-runbook",
                format!("runbook anchor `{anchor}` must be lower-case letters, digits and `-`"),
            );
        }
    }
}

fn check_slos<C: MetricCatalog>(push: &mut impl FnMut(&str, &'static str, String)) {
    let mut slo_names = BTreeSet::new();
    for slo in C::SLOS {
        let metric = slo.indicator.metric().def();
        let mut problem = |rule: &'static str, message: String| {
            push(metric.name, rule, format!("SLO `{}`: {message}", slo.name))
        };
        let snake = !slo.name.is_empty()
            && slo
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !snake {
            problem("slo-name", "SLO names are snake_case".to_string());
        }
        if !slo_names.insert(slo.name) {
            problem("slo-unique", "two SLOs share this name".to_string());
        }
        if slo.title.trim().is_empty() {
            problem("slo-title", "say what the objective promises".to_string());
        }
        match slo.indicator {
            Indicator::Availability { .. } => {
                if metric.success_twin.is_none() {
                    problem(
                        "slo-indicator",
                        "availability needs an error counter with a success twin: set success_twin"
                            .to_string(),
                    );
                }
            }
            Indicator::Latency { threshold, .. } => match metric.buckets() {
                None => problem(
                    "slo-indicator",
                    "a latency SLO needs a histogram".to_string(),
                ),
                Some(buckets) if !buckets.contains(&threshold) => problem(
                    "slo-threshold",
                    format!(
                        "latency threshold {threshold} is not one of the buckets {buckets:?}: \
                         use one of them or add it to the buckets"
                    ),
                ),
                Some(_) => {}
            },
        }
        let budget = 1.0 - slo.objective;
        if !(slo.objective > 0.0 && slo.objective < 1.0) || FASTEST_BURN_RATE * budget >= 1.0 {
            problem(
                "slo-objective",
                format!(
                    "objective {} must be below 1 and above {:.4} so that a {FASTEST_BURN_RATE}x burn rate can be reached",
                    slo.objective,
                    1.0 - 1.0 / FASTEST_BURN_RATE
                ),
            );
        }
        if slo.period < LONGEST_SLO_WINDOW || slo.period.as_secs() % 86_400 != 0 {
            problem(
                "slo-period",
                format!(
                    "period {:?} must be whole days, at least the 3d alert window",
                    slo.period
                ),
            );
        }
    }
}

/// `sms_` -> `Sms`, `my_app_` -> `MyApp`: how alert names spell the catalog's words.
pub(crate) fn camel_case(snake: &str) -> String {
    snake
        .split('_')
        .filter(|word| !word.is_empty())
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn whole_minutes(duration: Duration) -> bool {
    duration.subsec_nanos() == 0 && duration.as_secs() % 60 == 0
}

fn check_self_metrics<C: MetricCatalog>(push: &mut impl FnMut(&str, &'static str, String)) {
    let shape = |metric: C| -> Vec<LabelValues> {
        metric.def().labels.iter().map(|l| l.def().values).collect()
    };
    let dropped = C::SAMPLES_DROPPED.def();
    let expected = [
        LabelValues::CatalogMetric,
        LabelValues::OneOf(DropReason::LABEL_VALUES),
    ];
    if dropped.kind != MetricKind::Counter || shape(C::SAMPLES_DROPPED) != expected {
        push(
            dropped.name,
            "self-metric",
            format!(
                "SAMPLES_DROPPED must be a counter labelled (catalog metric, reason one of {:?})",
                DropReason::LABEL_VALUES
            ),
        );
    }
    let overflow = C::SERIES_OVERFLOW.def();
    if overflow.kind != MetricKind::Counter
        || shape(C::SERIES_OVERFLOW) != [LabelValues::CatalogMetric]
    {
        push(
            overflow.name,
            "self-metric",
            "SERIES_OVERFLOW must be a counter labelled (catalog metric)".to_string(),
        );
    }
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
