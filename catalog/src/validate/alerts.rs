//! Alert and SLO checks: signals fit their metric, windows, thresholds, labels and
//! description templates.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::alerting::{AlertDef, Comparison, Indicator, Signal, TARGET_LABELS, camel_case};
use crate::labels::LabelKey;
use crate::model::{MetricCatalog, MetricKind};
use crate::template::{Placeholder, TemplatePart, template_placeholders};

/// Burn-rate factor of the fastest SLO page (1 h and 5 m windows).
const FASTEST_BURN_RATE: f64 = 14.4;
/// Longest window of the SLO burn-rate alerts.
const LONGEST_SLO_WINDOW: Duration = Duration::from_secs(3 * 86_400);

pub(super) fn check_alert<C: MetricCatalog>(
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
    if alert.signal == Signal::Absent
        && let Some(feature) = def.feature
    {
        problem(
            "alert-feature-absent",
            format!(
                "the metric depends on feature `{feature}`, so it is absent wherever the feature is off: alert on another metric's absence"
            ),
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

pub(super) fn check_slos<C: MetricCatalog>(push: &mut impl FnMut(&str, &'static str, String)) {
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

fn whole_minutes(duration: Duration) -> bool {
    duration.subsec_nanos() == 0 && duration.as_secs() % 60 == 0
}
