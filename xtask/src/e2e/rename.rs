//! The rename fixture: a fleet in the middle of a rename's deploy, and the proof that
//! every query spanning the renamed metric sees the whole fleet once.
//!
//! The last instance of the fleet runs `pipeline-demo --renamed-metrics old` (a test
//! fixture: only the names of the release before the rename, as an instance not yet
//! upgraded exposes them); the others run the new catalog with dual emission (both
//! names, same series). At one evaluation instant, on each backend, [`check`] requires:
//!
//! - the old-only instance exposes the old name and not the new one, the others both,
//!   with equal values under both names (one storage, rendered twice);
//! - the fleet total `sum(new or old)` equals the sum of the instances' own values
//!   (the new name where an instance has it, the old one on the old-only instance),
//!   exactly;
//! - every dashboard target and every recording rule that selects the renamed metric
//!   returns what it returns over the fleet's true series: the same expression with
//!   the new name restricted to the other instances and the old name to the old-only
//!   one (no instance on both sides of `or`, so nothing relies on its deduplication).
//!   And without the fallback (old name selecting nothing) at least one of them
//!   differs: the old-only instance really is counted through the fallback.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use anyhow::Result;
use catalog::{MetricCatalog, MetricKind};

use super::Check;
use super::prometheus::{self, Api};
use super::queries::Target;

/// Index in the fleet of the instance that runs the old catalog: the last, so the
/// drill's outage (which restarts the first instance) leaves it alone.
pub const OLD_INSTANCE: usize = super::INSTANCES - 1;

/// How far before "now" the comparisons are evaluated: every sample up to then is
/// committed (a scrape's samples carry its start time), so repeated queries agree.
pub const SETTLE: Duration = Duration::from_secs(3);

/// Extra `pipeline-demo` flags of instance `index`.
pub fn instance_args(index: usize) -> Vec<String> {
    if index == OLD_INSTANCE {
        vec!["--renamed-metrics".to_string(), "old".to_string()]
    } else {
        Vec::new()
    }
}

/// One side of a rename: an exposed metric name, and whether it is a histogram (whose
/// samples are `_bucket`, `_count` and `_sum`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Side {
    /// The exposed name.
    pub name: &'static str,
    histogram: bool,
}

impl Side {
    fn of<C: MetricCatalog>(metric: C) -> Self {
        Side {
            name: metric.def().name,
            histogram: matches!(metric.def().kind, MetricKind::Histogram { .. }),
        }
    }

    /// The series present whenever the metric is exposed (`signals::present_series`).
    fn present(self) -> String {
        match self.histogram {
            true => format!("{}_count", self.name),
            false => self.name.to_string(),
        }
    }

    /// The sample names a query can select.
    fn series_names(self) -> Vec<String> {
        match self.histogram {
            true => ["_bucket", "_count", "_sum"]
                .iter()
                .map(|suffix| format!("{}{suffix}", self.name))
                .collect(),
            false => vec![self.name.to_string()],
        }
    }
}

/// Every rename in its window, of every catalog of the service: (old, new).
pub fn renames() -> Vec<(Side, Side)> {
    struct Renames(Vec<(Side, Side)>);
    impl crate::catalogs::Visitor for Renames {
        fn visit<C: MetricCatalog>(&mut self) -> Result<()> {
            self.0.extend(
                C::ALL
                    .iter()
                    .filter_map(|old| Some((Side::of(*old), Side::of(old.def().renamed_to()?)))),
            );
            Ok(())
        }
    }
    let mut renames = Renames(Vec::new());
    // Infallible: the visitor never fails.
    let _ = crate::catalogs::visit_all(&mut renames);
    renames.0
}

/// Whether `expr` selects one of the sample names of `metric`.
pub fn selects(expr: &str, metric: Side) -> bool {
    metric
        .series_names()
        .iter()
        .any(|name| !occurrences(expr, name).is_empty())
}

/// Byte offsets just past each selector of sample name `name` in `expr` (the name as a
/// whole identifier, not inside a longer one).
fn occurrences(expr: &str, name: &str) -> Vec<usize> {
    let identifier = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    expr.match_indices(name)
        .filter(|(at, _)| !expr[..*at].ends_with(identifier))
        .map(|(at, _)| at + name.len())
        .filter(|end| !expr[*end..].starts_with(identifier))
        .collect()
}

/// `expr` with `matcher` (e.g. `instance="a"`) added to every selector of `metric`.
pub fn restrict(expr: &str, metric: Side, matcher: &str) -> String {
    let mut out = expr.to_string();
    for name in metric.series_names() {
        // From the end, so earlier offsets stay valid.
        for end in occurrences(&out, &name).into_iter().rev() {
            if out[end..].starts_with("{}") {
                out.replace_range(end..end + 2, &format!("{{{matcher}}}"));
            } else if out[end..].starts_with('{') {
                out.insert_str(end + 1, &format!("{matcher}, "));
            } else {
                out.insert_str(end, &format!("{{{matcher}}}"));
            }
        }
    }
    out
}

/// The truth for `expr` over the fleet: the new name restricted to the instances that
/// expose it, the old name to the one that does not (`old_instance`).
pub fn truth(expr: &str, (old, new): (Side, Side), old_instance: &str) -> String {
    let expr = restrict(expr, new, &format!("instance!=\"{old_instance}\""));
    restrict(&expr, old, &format!("instance=\"{old_instance}\""))
}

/// `expr` without its fallback: the old name selects nothing.
pub fn without_fallback(expr: &str, old: Side) -> String {
    restrict(expr, old, "instance=\"__no_instance__\"")
}

/// Two query results agree: same series, values equal up to float rounding of sums in
/// another order (NaN equals NaN: a 0/0 ratio on both sides).
pub fn same(a: &BTreeMap<String, f64>, b: &BTreeMap<String, f64>) -> bool {
    a.len() == b.len()
        && a.iter().all(|(key, x)| {
            b.get(key).is_some_and(|y| {
                (x.is_nan() && y.is_nan()) || x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs())
            })
        })
}

/// One backend's check of every rename at one instant. `rules` are the recording rules'
/// (name, expression).
pub async fn check(
    backend: &str,
    api: &Api,
    targets: &[Target],
    rules: &[(String, String)],
    addresses: &[String],
) -> Result<Check> {
    let name = format!("rename fallback on {backend}");
    let at = SystemTime::now() - SETTLE;
    let old_instance = &addresses[OLD_INSTANCE];
    let mut problems = Vec::new();
    let mut details = Vec::new();
    for (old, new) in renames() {
        let (old_name, new_name) = (old.present(), new.present());
        let job = prometheus::job_name();
        let per_instance = |name: &str| format!("sum by (instance) ({name}{{job=\"{job}\"}})");
        let olds = api.vector(&per_instance(&old_name), at).await?;
        let news = api.vector(&per_instance(&new_name), at).await?;
        let mut parts = Vec::new();
        for address in addresses {
            let key = format!("{{instance={address:?}}}");
            let value = match (news.get(&key), olds.get(&key), address == old_instance) {
                (None, Some(old), true) => *old,
                (Some(new), Some(old), false) if new == old => *new,
                (new, old, is_old) => {
                    problems.push(format!(
                        "{address} ({}): {new_name} = {new:?}, {old_name} = {old:?}; expected {}",
                        if is_old { "old catalog" } else { "new catalog" },
                        if is_old {
                            "the old name only"
                        } else {
                            "both, equal"
                        }
                    ));
                    continue;
                }
            };
            parts.push(value);
        }
        let expected: f64 = parts.iter().sum();
        let total_expr = format!("sum({new_name}{{job=\"{job}\"}} or {old_name}{{job=\"{job}\"}})");
        let total = api.number(&total_expr, at).await?;
        if total != Some(expected) {
            problems.push(format!(
                "fleet total {total_expr} = {total:?}, the instances' own values sum to {expected} ({parts:?})"
            ));
        }
        let parts_text: Vec<String> = parts.iter().map(f64::to_string).collect();
        details.push(format!(
            "{new_name}: fleet total {expected} = {}",
            parts_text.join(" + ")
        ));

        let spanning: Vec<(String, &str)> = targets
            .iter()
            .filter(|t| selects(&t.expr, new) || selects(&t.expr, old))
            .map(|t| (format!("panel {:?} {}", t.panel, t.ref_id), t.expr.as_str()))
            .chain(
                rules
                    .iter()
                    .filter(|(_, expr)| selects(expr, new) || selects(expr, old))
                    .map(|(rule, expr)| (format!("rule {rule}"), expr.as_str())),
            )
            .collect();
        let mut needed_fallback = 0;
        for (what, expr) in &spanning {
            if !selects(expr, old) {
                problems.push(format!(
                    "{what} selects {new_name} without the fallback to {old_name}: {expr}"
                ));
                continue;
            }
            let result = api.vector(expr, at).await?;
            let truth_expr = truth(expr, (old, new), old_instance);
            let expected = api.vector(&truth_expr, at).await?;
            if !same(&result, &expected) {
                problems.push(format!(
                    "{what}: {result:?}, the fleet's true series give {expected:?}\n    expr: {expr}\n    truth: {truth_expr}"
                ));
            }
            let without = api.vector(&without_fallback(expr, old), at).await?;
            needed_fallback += usize::from(!same(&result, &without));
        }
        if needed_fallback == 0 && !spanning.is_empty() {
            problems.push(format!(
                "no query spanning {new_name} changes without the fallback: the old-only instance {old_instance} is not counted through it"
            ));
        }
        details.push(format!(
            "{} panel targets and rules span it, all equal the fleet's true series, {needed_fallback} would miss {old_instance} without the fallback",
            spanning.len()
        ));
    }
    if details.is_empty() {
        details.push("the catalog has no rename in its window".to_string());
    }
    Ok(Check::new(name, details.join("; "), problems))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rename() -> (Side, Side) {
        renames()[0]
    }

    #[test]
    fn the_service_carries_a_rename_and_the_last_instance_runs_the_old_catalog() {
        let (old, new) = rename();
        assert_eq!(
            sms_storage::StorageMetricId::GatewayCasWritesSuccess
                .def()
                .renamed_to(),
            Some(sms_storage::StorageMetricId::GatewayCasObjectsWritten)
        );
        assert_eq!(
            (old.name, new.name),
            (
                sms_storage::StorageMetricId::GatewayCasWritesSuccess
                    .def()
                    .name,
                sms_storage::StorageMetricId::GatewayCasObjectsWritten
                    .def()
                    .name
            )
        );
        assert_eq!(instance_args(OLD_INSTANCE), ["--renamed-metrics", "old"]);
        assert!(instance_args(0).is_empty());
    }

    #[test]
    fn selectors_are_restricted_wherever_the_name_is_selected() {
        let (old, new) = rename();
        let (o, n) = (old.name, new.name);
        // What signals writes: each name twice, every occurrence restricted.
        let panel = format!(
            "sum by (instance) ({})",
            signals::rated(
                sms_storage::StorageMetricId::GatewayCasObjectsWritten,
                "",
                "4s",
                &|m: sms_storage::StorageMetricId, _: &str| format!(
                    "{}{{job=~\".*\"}}",
                    m.def().name
                )
            )
        );
        assert!(selects(&panel, new) && selects(&panel, old));
        let (rn, ro) = (
            format!("rate({n}{{instance!=\"a:1\", job=~\".*\"}}[4s])"),
            format!("rate({o}{{instance=\"a:1\", job=~\".*\"}}[4s])"),
        );
        assert_eq!(
            truth(&panel, (old, new), "a:1"),
            format!("sum by (instance) (({rn} >= {ro}) or {ro} or {rn})")
        );
        let rule = format!("sum by (job) (rate({n}[5m]) or rate({o}[5m])) + absent({o}{{}})");
        assert_eq!(
            without_fallback(&rule, old),
            format!(
                "sum by (job) (rate({n}[5m]) or rate({o}{{instance=\"__no_instance__\"}}[5m])) + absent({o}{{instance=\"__no_instance__\"}})"
            )
        );
        // A longer name that starts with the metric's is not the metric.
        let longer = format!("rate({n}_extra[5m]) + rate(x_{n}[5m])");
        assert!(!selects(&longer, new));
        assert_eq!(restrict(&longer, new, "a=\"b\""), longer);
    }

    #[test]
    fn results_agree_up_to_rounding_only() {
        let map = |pairs: &[(&str, f64)]| -> BTreeMap<String, f64> {
            pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
        };
        let a = map(&[("{job=\"x\"}", 0.1 + 0.2), ("{job=\"y\"}", f64::NAN)]);
        assert!(same(
            &a,
            &map(&[("{job=\"x\"}", 0.3), ("{job=\"y\"}", f64::NAN)])
        ));
        assert!(!same(
            &a,
            &map(&[("{job=\"x\"}", 0.31), ("{job=\"y\"}", f64::NAN)])
        ));
        assert!(!same(&a, &map(&[("{job=\"x\"}", 0.3)])));
    }
}
