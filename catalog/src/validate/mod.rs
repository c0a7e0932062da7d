//! Catalog validation: Prometheus naming rules ([`naming`]), metric invariants
//! (`metrics`) and alert and SLO checks (`alerts`). Every problem is reported, not only
//! the first.

mod alerts;
mod metrics;
pub(crate) mod naming;

use std::collections::BTreeSet;
use std::fmt;

use crate::model::MetricCatalog;

pub use naming::{check_buckets, check_label_name, check_metric_name};

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
        metrics::check_labels::<C>(*metric, &mut push);
        for alert in def.alerts {
            alerts::check_alert::<C>(*metric, alert, &mut push);
            if !alert_names.insert(alert.name) {
                push(
                    name,
                    "alert-unique",
                    format!("alert `{}` is defined twice: rename one", alert.name),
                );
            }
        }
        metrics::check_relations::<C>(metric, &mut push);
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
    alerts::check_slos::<C>(&mut push);

    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}
