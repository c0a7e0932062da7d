//! The compatibility check: the catalog against a baseline export (the last release's).
//!
//! The policy follows OpenTelemetry semantic conventions and Kubernetes metric stability:
//! what users may rely on depends on the metric's [`Stability`] in the baseline.
//!
//! | change without a deprecation | alpha | beta | stable |
//! |---|---|---|---|
//! | metric removed | ok | breaking | breaking |
//! | kind or unit changed under the same name | ok | breaking | breaking |
//! | enumerated label value removed | ok | breaking | breaking |
//! | label added or removed | ok | ok | breaking |
//! | histogram buckets changed | ok | ok | breaking |
//!
//! A removal is fine once the baseline marks the metric deprecated. A rename is a
//! deprecation with `renamed_to`: the target must exist, and a rename may not change kind
//! or unit (refused as a rename, as Weaver's rule says: choose a new name instead).

use std::collections::BTreeMap;
use std::fmt;

use crate::{Export, MetricExport, Stability, Values};

/// Which rule a finding breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rule {
    /// A beta or stable metric disappeared without a deprecation.
    Removed,
    /// Same name, other kind.
    KindChanged,
    /// Same name, other unit.
    UnitChanged,
    /// A label of a stable metric went away.
    LabelRemoved,
    /// A stable metric gained a label.
    LabelAdded,
    /// An enumerated value of a beta or stable metric's label went away.
    ValueRemoved,
    /// A stable histogram's buckets changed (quantiles across the change are wrong).
    BucketsChanged,
    /// A deprecation's `renamed_to` names no metric of the catalogs.
    RenamedToUnknown,
    /// A rename whose target has another kind or unit.
    RenameChangesKindOrUnit,
}

impl Rule {
    /// The rule's name in findings, e.g. `metric-removed`.
    pub fn name(self) -> &'static str {
        match self {
            Rule::Removed => "metric-removed",
            Rule::KindChanged => "kind-changed",
            Rule::UnitChanged => "unit-changed",
            Rule::LabelRemoved => "label-removed",
            Rule::LabelAdded => "label-added",
            Rule::ValueRemoved => "value-removed",
            Rule::BucketsChanged => "buckets-changed",
            Rule::RenamedToUnknown => "renamed-to-unknown",
            Rule::RenameChangesKindOrUnit => "rename-changes-kind-or-unit",
        }
    }
}

/// One breaking change: the metric, the rule, what happened and the fix.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    /// The metric concerned (its baseline name).
    pub metric: String,
    /// The rule broken.
    pub rule: Rule,
    /// What changed.
    pub message: String,
    /// What to do instead.
    pub fix: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {} (fix: {})",
            self.metric,
            self.rule.name(),
            self.message,
            self.fix
        )
    }
}

/// Every breaking change from `baseline` to `current`, sorted.
pub fn compatibility(baseline: &Export, current: &Export) -> Vec<Finding> {
    let before: BTreeMap<&str, &MetricExport> = by_name(baseline);
    let after: BTreeMap<&str, &MetricExport> = by_name(current);
    let mut findings = Vec::new();
    let mut finding = |metric: &str, rule, message: String, fix: String| {
        findings.push(Finding {
            metric: metric.to_string(),
            rule,
            message,
            fix,
        });
    };
    for (&name, old) in &before {
        let promised = old.stability;
        let Some(new) = after.get(name) else {
            if old.deprecated.is_none() && promised > Stability::Alpha {
                let successor = after
                    .values()
                    .find(|m| !before.contains_key(m.name.as_str()) && same_shape(old, m));
                let fix = match successor {
                    Some(m) => format!(
                        "keep it, deprecated with renamed_to = \"{}\", for a release before removing it",
                        m.name
                    ),
                    None => "keep it, deprecated (since, reason), for a release before removing it"
                        .to_string(),
                };
                finding(
                    name,
                    Rule::Removed,
                    format!(
                        "a {} metric was removed without a deprecation",
                        promised.as_str()
                    ),
                    fix,
                );
            }
            continue;
        };
        if promised == Stability::Alpha {
            continue;
        }
        let new_name = "choose a new name for the changed metric and deprecate this one with renamed_to = \"<new name>\"";
        if old.kind != new.kind {
            finding(
                name,
                Rule::KindChanged,
                format!(
                    "kind changed from {} to {}",
                    old.kind.as_str(),
                    new.kind.as_str()
                ),
                new_name.to_string(),
            );
        }
        if old.unit != new.unit {
            finding(
                name,
                Rule::UnitChanged,
                format!("unit changed from {} to {}", unit(old), unit(new)),
                new_name.to_string(),
            );
        }
        for label in &old.labels {
            let Some(now) = new.labels.iter().find(|l| l.name == label.name) else {
                if promised == Stability::Stable {
                    finding(
                        name,
                        Rule::LabelRemoved,
                        format!("label {} was removed from a stable metric", label.name),
                        new_name.to_string(),
                    );
                }
                continue;
            };
            if let (Values::OneOf { values: was }, Values::OneOf { values: is }) =
                (&label.values, &now.values)
            {
                for value in was.iter().filter(|v| !is.contains(v)) {
                    finding(
                        name,
                        Rule::ValueRemoved,
                        format!("value {value:?} of label {} was removed", label.name),
                        format!(
                            "keep {value:?} among the values of {} (record it no more if it no longer happens)",
                            label.name
                        ),
                    );
                }
            }
        }
        if promised == Stability::Stable {
            for label in new
                .labels
                .iter()
                .filter(|l| !old.labels.iter().any(|o| o.name == l.name))
            {
                finding(
                    name,
                    Rule::LabelAdded,
                    format!("label {} was added to a stable metric", label.name),
                    new_name.to_string(),
                );
            }
            if old.buckets != new.buckets {
                finding(
                    name,
                    Rule::BucketsChanged,
                    format!(
                        "buckets changed from {:?} to {:?}: quantiles across the change are wrong",
                        old.buckets.as_deref().unwrap_or_default(),
                        new.buckets.as_deref().unwrap_or_default()
                    ),
                    new_name.to_string(),
                );
            }
        }
    }
    for (&name, metric) in &after {
        let Some(target) = metric
            .deprecated
            .as_ref()
            .and_then(|d| d.renamed_to.as_deref())
        else {
            continue;
        };
        match after.get(target) {
            None => finding(
                name,
                Rule::RenamedToUnknown,
                format!("deprecated with renamed_to = \"{target}\", which no catalog defines"),
                format!("declare {target}, or name the metric that replaces {name}"),
            ),
            Some(successor) if !same_shape(metric, successor) => finding(
                name,
                Rule::RenameChangesKindOrUnit,
                format!(
                    "renamed to {target}, a {} in {}, but it is a {} in {}",
                    successor.kind.as_str(),
                    unit(successor),
                    metric.kind.as_str(),
                    unit(metric)
                ),
                format!(
                    "a rename keeps kind and unit: choose a new name for the new measurement and deprecate {name} without renamed_to"
                ),
            ),
            Some(_) => {}
        }
    }
    findings.sort();
    findings
}

fn by_name(export: &Export) -> BTreeMap<&str, &MetricExport> {
    export
        .metrics()
        .map(|(_, m)| (m.name.as_str(), m))
        .collect()
}

/// Same kind and unit: what a rename must keep.
fn same_shape(a: &MetricExport, b: &MetricExport) -> bool {
    a.kind == b.kind && a.unit == b.unit
}

fn unit(metric: &MetricExport) -> &str {
    metric.unit.as_deref().unwrap_or("no unit")
}
