//! The static half of "every alert links to its own signal" (run by `cargo xtask check`).
//!
//! For every generated alerting rule, the panel its `__dashboardUid__` and
//! `__panelId__` annotations name must exist, and:
//!
//! - when the alert compares recording rules: every target of the panel selects one of
//!   them, all of them are plotted, and no target aggregates or rewrites them (a bare
//!   selector whose matchers are only dashboard-variable regexes), so the panel shows
//!   exactly the series the alert compares, split by everything the alert keeps;
//! - the threshold the rule compares against is drawn: a threshold step at that value
//!   and `thresholdsStyle` `line`;
//! - an absence alert links to a panel that selects its metric.

use std::collections::BTreeSet;

use catalog::MetricCatalog;
use dashboard_gen::model::{Dashboard, Panel};
use promql_parser::label::MatchOp;
use promql_parser::parser::{self, Expr};
use rules_gen::AlertRule;

/// Every problem with the links of `rules` into `dashboards`; empty when all are right.
pub fn problems<C: MetricCatalog>(rules: &[AlertRule<C>], dashboards: &[Dashboard]) -> Vec<String> {
    let mut problems = Vec::new();
    for rule in rules {
        let here = format!("alert {} ({})", rule.name, rule.link_key);
        let (Some(uid), Some(id)) = (
            rule.annotations.get("__dashboardUid__"),
            rule.annotations.get("__panelId__"),
        ) else {
            problems.push(format!(
                "{here}: no __dashboardUid__ / __panelId__ annotation"
            ));
            continue;
        };
        let Some(panel) = dashboards
            .iter()
            .filter(|d| d.uid == *uid)
            .flat_map(|d| flatten(&d.panels))
            .find(|p| p.id.to_string() == *id)
        else {
            problems.push(format!(
                "{here}: links to panel {id} of `{uid}`, which does not exist"
            ));
            continue;
        };
        let targets = panel.targets.as_deref().unwrap_or_default();
        let where_ = format!("{here}: panel {id} `{}`", panel.title);
        if rule.uses.is_empty() {
            let name = rule.metric.def().name;
            if !targets.iter().any(|t| t.expr.contains(name)) {
                problems.push(format!("{where_} does not select `{name}`"));
            }
            continue;
        }
        let compared: BTreeSet<&str> = rule.uses.iter().map(|(name, _)| name.as_str()).collect();
        let mut plotted = BTreeSet::new();
        for target in targets {
            match bare_selector(&target.expr) {
                Ok(name) if compared.contains(name.as_str()) => {
                    plotted.insert(name);
                }
                Ok(name) => problems.push(format!(
                    "{where_} target {} plots `{name}`, which the alert does not compare",
                    target.ref_id
                )),
                Err(why) => problems.push(format!(
                    "{where_} target {}: {why}\n    expr: {}",
                    target.ref_id, target.expr
                )),
            }
        }
        for missing in compared.iter().filter(|c| !plotted.contains(**c)) {
            problems.push(format!("{where_} does not plot `{missing}`"));
        }
        match threshold(rule) {
            Some(value) => {
                let defaults = panel.field_config.as_ref().map(|c| &c.defaults);
                let drawn = defaults
                    .and_then(|d| d.thresholds.as_ref())
                    .is_some_and(|t| {
                        t.steps
                            .iter()
                            .any(|s| s.value.is_some_and(|v| close(v, value)))
                    });
                let line = defaults
                    .and_then(|d| d.custom.as_ref())
                    .is_some_and(|c| c.thresholds_style.mode == "line");
                if !drawn || !line {
                    problems.push(format!(
                        "{where_} does not draw the threshold {value} as a line"
                    ));
                }
            }
            None => problems.push(format!(
                "{here}: cannot tell the threshold of `{}`",
                rule.expr
            )),
        }
    }
    problems
}

/// The threshold a rule compares: the catalog alert's, or the burn factor times the
/// budget of the window pair.
fn threshold<C: MetricCatalog>(rule: &AlertRule<C>) -> Option<f64> {
    if let Some(alert) = rule.alert {
        return Some(alert.threshold);
    }
    let slo = rule.slo?;
    let (long, short) = (
        rule.labels.get("long_window")?,
        rule.labels.get("short_window")?,
    );
    signals::BURN_WINDOWS
        .iter()
        .find(|b| {
            signals::format_duration(b.long) == *long && signals::format_duration(b.short) == *short
        })
        .map(|b| b.threshold(slo))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
}

/// The series name of `expr` when it is a bare selector whose matchers are only
/// `label=~"$label"` dashboard variables.
fn bare_selector(expr: &str) -> Result<String, String> {
    let ast = parser::parse(expr).map_err(|e| format!("does not parse: {e}"))?;
    let Expr::VectorSelector(selector) = ast else {
        return Err("is not a bare selector of the recorded series (it computes something)".into());
    };
    for matcher in &selector.matchers.matchers {
        let variable = format!("${}", matcher.name);
        if !(matches!(matcher.op, MatchOp::Re(_)) && matcher.value == variable) {
            return Err(format!(
                "matcher `{}` filters more than a dashboard variable",
                matcher.name
            ));
        }
    }
    selector.name.ok_or_else(|| "names no series".to_string())
}

fn flatten(panels: &[Panel]) -> Vec<&Panel> {
    let mut out = Vec::new();
    for panel in panels {
        out.push(panel);
        if let Some(children) = &panel.panels {
            out.extend(flatten(children));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use catalog::MetricId;

    fn inputs() -> (Vec<AlertRule<MetricId>>, Vec<Dashboard>) {
        let config = crate::rules::config().unwrap();
        let rules = rules_gen::alert_rules::<MetricId>(&config).unwrap();
        (rules, dashboard_gen::generate::<MetricId>().unwrap())
    }

    #[test]
    fn the_generated_links_pass() {
        let (rules, dashboards) = inputs();
        assert_eq!(problems(&rules, &dashboards), Vec::<String>::new());
    }

    #[test]
    fn a_panel_that_aggregates_misses_the_threshold_or_is_gone_fails() {
        let (rules, mut dashboards) = inputs();
        let failing = rules.iter().find(|r| r.name == "SmsSourceFailing").unwrap();
        let id: u32 = failing.annotations["__panelId__"].parse().unwrap();
        let uid = &failing.annotations["__dashboardUid__"];
        let index = dashboards.iter().position(|d| d.uid == *uid).unwrap();
        let panel = dashboards[index]
            .panels
            .iter_mut()
            .find(|p| p.id == id)
            .unwrap();
        let target = &mut panel.targets.as_mut().unwrap()[0];
        target.expr = format!("max by (job) ({})", target.expr);
        panel.field_config.as_mut().unwrap().defaults.thresholds = None;
        let found = problems(&rules, &dashboards);
        assert_eq!(found.len(), 3, "{found:#?}");
        assert!(found[0].contains("is not a bare selector"), "{}", found[0]);
        assert!(
            found[1].contains("does not plot `job_source_id:"),
            "{}",
            found[1]
        );
        assert!(
            found[2].contains("does not draw the threshold 0.1"),
            "{}",
            found[2]
        );

        dashboards[index].panels.retain(|p| p.id != id);
        let found = problems(&rules, &dashboards);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].contains("which does not exist"), "{}", found[0]);
    }
}
