//! PromQL and recording-rule names for alert signals and SLO error ratios (pure).
//!
//! Every expression aggregates per scrape `job` plus the alert's `by` labels, and is
//! recorded under `level:metric:operations` (Prometheus' recording-rule convention):
//! the level lists the kept labels, the metric drops `_total` from counters, the
//! operations say what was computed (`rate5m`, `ratio_rate5m`, `p99_rate5m`, `max`).

use std::time::Duration;

use catalog::{Indicator, LabelKey, MetricCatalog, MetricDef, MetricKind, Signal, SloDef};

use crate::render::format_duration;

/// A recording rule: name and expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Record {
    pub name: String,
    pub expr: String,
}

/// Labels every aggregation keeps, followed by `by`.
pub(crate) fn kept_labels<C: MetricCatalog>(by: &[C::Label]) -> Vec<&'static str> {
    let mut labels: Vec<&'static str> = catalog::TARGET_LABELS.to_vec();
    labels.extend(by.iter().map(|l| l.def().name));
    labels
}

/// The recorded series an alert's condition compares, or the raw expression for
/// signals that need no recording rule (absent).
pub(crate) fn signal<C: MetricCatalog>(
    metric: C,
    signal: Signal<C>,
    by: &[C::Label],
) -> SignalExpr {
    let def = metric.def();
    let kept = kept_labels::<C>(by);
    let level = kept.join("_");
    let by = kept.join(", ");
    let name = def.name;
    let record = |metric_part: String, operations: String, expr: String| {
        SignalExpr::Recorded(Record {
            name: format!("{level}:{metric_part}:{operations}"),
            expr,
        })
    };
    match signal {
        Signal::Rate { window } => {
            let w = format_duration(window);
            record(
                base(def),
                format!("rate{w}"),
                format!("sum by ({by}) (rate({name}[{w}]))"),
            )
        }
        Signal::ErrorRatio { window } => {
            let twin = def
                .success_twin
                .expect("validated: error ratios have a success twin")
                .def();
            let w = format_duration(window);
            record(
                base(def),
                format!("ratio_rate{w}"),
                error_ratio(name, twin.name, &by, &w),
            )
        }
        Signal::Ratio {
            denominator,
            window,
        } => {
            let denominator = denominator.def();
            let w = format_duration(window);
            let per = base(denominator);
            let per = per.strip_prefix(C::PREFIX).unwrap_or(&per);
            record(
                format!("{}_per_{per}", base(def)),
                format!("ratio_rate{w}"),
                format!(
                    "sum by ({by}) (rate({name}[{w}])) / sum by ({by}) (rate({}[{w}]))",
                    denominator.name
                ),
            )
        }
        Signal::Quantile { quantile, window } => {
            let w = format_duration(window);
            record(
                name.to_string(),
                format!("p{}_rate{w}", quantile_digits(quantile)),
                format!(
                    "histogram_quantile({quantile}, sum by ({by}, le) (rate({name}_bucket[{w}])))"
                ),
            )
        }
        Signal::Value => record(
            name.to_string(),
            "max".to_string(),
            format!("max by ({by}) ({name})"),
        ),
        Signal::Absent => SignalExpr::Raw(format!("absent({})", present_series(def))),
    }
}

/// What an alert compares with its threshold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SignalExpr {
    /// A recording rule; the alert compares the recorded series.
    Recorded(Record),
    /// An expression used as it is.
    Raw(String),
}

/// Windows of the SLO error-ratio recording rules.
pub(crate) const SLO_WINDOWS: [Duration; 7] = [
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(3600),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(6 * 3600),
    Duration::from_secs(86_400),
    Duration::from_secs(3 * 86_400),
];

/// The recording rule of an SLO's error ratio over `window`, per job.
///
/// Availability reuses the error-ratio rule of alerts (same name, same expression);
/// latency records the share of observations above the threshold bucket.
pub(crate) fn slo_error_ratio<C: MetricCatalog>(slo: &SloDef<C>, window: Duration) -> Record {
    let w = format_duration(window);
    let by = kept_labels::<C>(&[]).join(", ");
    let level = kept_labels::<C>(&[]).join("_");
    match slo.indicator {
        Indicator::Availability { errors } => {
            let def = errors.def();
            let twin = def
                .success_twin
                .expect("validated: availability SLOs have a success twin")
                .def();
            Record {
                name: format!("{level}:{}:ratio_rate{w}", base(def)),
                expr: error_ratio(def.name, twin.name, &by, &w),
            }
        }
        Indicator::Latency {
            histogram,
            threshold,
        } => {
            let name = histogram.def().name;
            let le = le_matcher(threshold);
            let total = format!("sum by ({by}) (rate({name}_count[{w}]))");
            Record {
                name: format!(
                    "{level}:{name}_above_{}:ratio_rate{w}",
                    threshold.to_string().replace('.', "_")
                ),
                expr: format!(
                    "({total} - sum by ({by}) (rate({name}_bucket{{{le}}}[{w}]))) / {total}"
                ),
            }
        }
    }
}

/// Every form a bucket bound `bound` may be stored in: as written by Rust's `Display`
/// (`1`, older expositions), and as Prometheus 3 normalises `le` at ingestion and
/// OpenMetrics writes it (`1.0`, Go's shortest `%g` with `.0` added to integers, e.g.
/// `1e-05`, `1e+06`). Deduplicated, in that order.
pub(crate) fn le_forms(bound: f64) -> Vec<String> {
    let display = bound.to_string();
    let scientific = format!("{bound:e}");
    let (mantissa, exponent) = scientific
        .split_once('e')
        .map_or((scientific.as_str(), 0), |(m, e)| {
            (m, e.parse::<i32>().unwrap_or(0))
        });
    // Go's `strconv.FormatFloat(f, 'g', -1, 64)` uses an exponent below 1e-4 and from
    // 1e6 up (shortest precision decides at 6 digits).
    let canonical = if bound.is_finite() && bound != 0.0 && !(-4..6).contains(&exponent) {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.abs())
    } else if display.contains('.') || !bound.is_finite() {
        display.clone()
    } else {
        format!("{display}.0")
    };
    let mut forms = vec![display, canonical];
    forms.dedup();
    forms
}

/// A matcher selecting the bucket with upper bound `bound` on Prometheus 2 and 3 alike:
/// `le="2.5"` when every form agrees, else a regex of the forms, e.g. `le=~"1|1\\.0"`.
pub(crate) fn le_matcher(bound: f64) -> String {
    let forms = le_forms(bound);
    if forms.len() == 1 {
        return format!("le=\"{}\"", forms[0]);
    }
    let alternatives: Vec<String> = forms
        .iter()
        .map(|f| f.replace('.', "\\\\.").replace('+', "\\\\+"))
        .collect();
    format!("le=~\"{}\"", alternatives.join("|"))
}

/// Errors over errors plus successes; a missing error series counts as no errors.
fn error_ratio(errors: &str, successes: &str, by: &str, w: &str) -> String {
    let ok = format!("sum by ({by}) (rate({successes}[{w}]))");
    let err = format!("(sum by ({by}) (rate({errors}[{w}])) or 0 * {ok})");
    format!("{err} / ({err} + {ok})")
}

/// The series whose presence shows the metric is exported (`_count` for histograms).
pub(crate) fn present_series<C: MetricCatalog>(def: &MetricDef<C>) -> String {
    match def.kind {
        MetricKind::Histogram { .. } => format!("{}_count", def.name),
        _ => def.name.to_string(),
    }
}

/// The metric part of a recording rule name: counters lose `_total`.
fn base<C: MetricCatalog>(def: &MetricDef<C>) -> String {
    match def.kind {
        MetricKind::Counter => def.name.trim_end_matches("_total").to_string(),
        _ => def.name.to_string(),
    }
}

/// `0.99` -> `99`, `0.999` -> `999`, `0.5` -> `50`.
fn quantile_digits(quantile: f64) -> String {
    let text = quantile.to_string();
    let digits = text.trim_start_matches("0.");
    if digits.len() < 2 {
        format!("{digits:0<2}")
    } else {
        digits.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn le_matchers_match_every_stored_form() {
        for (bound, matcher) in [
            (2.5, r#"le="2.5""#),
            (0.025, r#"le="0.025""#),
            (0.0001, r#"le="0.0001""#),
            (1.0, r#"le=~"1|1\\.0""#),
            (10.0, r#"le=~"10|10\\.0""#),
            (0.00001, r#"le=~"0\\.00001|1e-05""#),
        ] {
            assert_eq!(le_matcher(bound), matcher, "{bound}");
        }
        assert_eq!(le_forms(1e6), ["1000000", "1e+06"]);
        assert_eq!(le_forms(100_000.0), ["100000", "100000.0"]);
    }

    #[test]
    fn quantile_digits_read_like_percentiles() {
        for (q, expected) in [(0.99, "99"), (0.999, "999"), (0.5, "50"), (0.95, "95")] {
            assert_eq!(quantile_digits(q), expected);
        }
    }
}
