//! Metric invariants: labels and their bounds, success twins and dashboard hints.

use std::collections::BTreeSet;

use crate::labels::{LabelKey, LabelValues, OVERFLOW_VALUE};
use crate::model::{MetricCatalog, MetricKind};
use crate::validate::naming::check_label_name;

/// Success twin and dashboard hints of `metric`, against its own labels.
pub(super) fn check_relations<C: MetricCatalog>(
    metric: &C,
    push: &mut impl FnMut(&str, &'static str, String),
) {
    let def = metric.def();
    let name = def.name;
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
    if let Some(target) = def.deprecated.as_ref().and_then(|d| d.renamed_to) {
        let target_def = target.def();
        if target == *metric {
            push(
                name,
                "renamed-to",
                "a metric cannot be renamed to itself".to_string(),
            );
        } else if target_def.kind != def.kind || target_def.unit != def.unit {
            push(
                name,
                "renamed-to",
                format!(
                    "renamed to `{}`, which has another kind or unit: a rename keeps both \
                     (choose a new name for a new measurement and drop renamed_to)",
                    target_def.name
                ),
            );
        }
        if target_def.deprecated.is_some() {
            push(
                name,
                "renamed-to",
                format!(
                    "renamed to `{}`, which is deprecated itself",
                    target_def.name
                ),
            );
        }
        check_rename_window(metric, target, push);
    }
    check_renamed_references(metric, push);
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

pub(super) fn check_labels<C: MetricCatalog>(
    metric: C,
    push: &mut impl FnMut(&str, &'static str, String),
) {
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
            if values.iter().any(|v| v.is_empty() || *v == OVERFLOW_VALUE) {
                push(
                    def.name,
                    "label-values",
                    format!(
                        "label `{}`: values must be non-empty and not `{}`",
                        label_def.name, OVERFLOW_VALUE
                    ),
                );
            }
        }
    }
    if let Some(feature) = def.feature
        && (feature.is_empty()
            || !feature
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
    {
        push(
            def.name,
            "feature-name",
            format!("feature `{feature}`: write it in snake case, e.g. `dedup_stats`"),
        );
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

/// A rename in its window (`metric` deprecated with `renamed_to = target`): the recorder
/// exposes `target`'s series under the old name too, and queries read `new or old` per
/// series, which counts an instance exposing both once only when both names carry the
/// same label set. So the labels stay, one old name per new one, and everything derived
/// (alerts, SLOs, custom queries) moves to the new name.
fn check_rename_window<C: MetricCatalog>(
    metric: &C,
    target: C,
    push: &mut impl FnMut(&str, &'static str, String),
) {
    let def = metric.def();
    let name = def.name;
    let target_def = target.def();
    if target_def.labels != def.labels {
        let keys = |labels: &[C::Label]| {
            labels
                .iter()
                .map(|l| l.def().name)
                .collect::<Vec<_>>()
                .join(", ")
        };
        push(
            name,
            "renamed-to",
            format!(
                "renamed to `{}`, whose labels ({}) differ from these ({}): a rename keeps the \
                 labels, or the fallback `new or old` counts an instance exposing both twice",
                target_def.name,
                keys(target_def.labels),
                keys(def.labels)
            ),
        );
    }
    if let Some(other) = C::ALL
        .iter()
        .find(|m| *m != metric && m.def().renamed_to() == Some(target))
        .filter(|other| other.index() < metric.index())
    {
        push(
            name,
            "renamed-to",
            format!(
                "`{}` is renamed to `{}` too: one old name per new metric",
                other.def().name,
                target_def.name
            ),
        );
    }
    let derived = [
        (!def.alerts.is_empty(), "alerts"),
        (
            !def.dashboard.queries.is_empty(),
            "custom dashboard queries",
        ),
        (
            C::SLOS.iter().any(|slo| slo.indicator.metric() == *metric),
            "SLOs",
        ),
    ];
    for (_, what) in derived.iter().filter(|(present, _)| *present) {
        push(
            name,
            "renamed-to",
            format!(
                "renamed to `{}` but still declares {what}: move them to `{}` (its queries \
                 fall back to this name while the rename lasts)",
                target_def.name, target_def.name
            ),
        );
    }
}

/// No metric relates to a renamed-away one: success twins and ratio denominators name
/// the new metric, whose queries fall back to the old name.
fn check_renamed_references<C: MetricCatalog>(
    metric: &C,
    push: &mut impl FnMut(&str, &'static str, String),
) {
    let def = metric.def();
    let related = def
        .success_twin
        .into_iter()
        .chain(def.alerts.iter().filter_map(|alert| match alert.signal {
            crate::alerting::Signal::Ratio { denominator, .. } => Some(denominator),
            _ => None,
        }));
    for other in related {
        if let Some(target) = other.def().renamed_to() {
            push(
                def.name,
                "renamed-to",
                format!(
                    "refers to `{}`, which is renamed to `{}`: refer to `{}` (queries fall back \
                     to the old name)",
                    other.def().name,
                    target.def().name,
                    target.def().name
                ),
            );
        }
    }
}
