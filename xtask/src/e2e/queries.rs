//! Dashboard targets as Grafana sends them: variables substituted, ready for a query API.
//!
//! Grafana replaces `$name`, `${name}`, `${name:format}` and `[[name]]` before a query
//! leaves the browser: query variables by their selection ("All" is the variable's
//! `allValue`, or `.*` without one), `$__rate_interval` by
//! `max($__interval + scrape interval, 4 x scrape interval)`, `$__interval` by the step.
//! [`targets`] lists every target of every panel (rows included), [`substitute`] does
//! the replacement, and [`report`] turns per-target results into the readable
//! "panels with data" verdict, naming the metrics a query selects that no instance
//! exposes. All of it is pure.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use dashboard_gen::model::{Dashboard, Panel, VariableType};
use promql_parser::label::{METRIC_NAME, MatchOp};
use promql_parser::parser::Expr;
use promql_parser::util::{ExprVisitor, walk_expr};

/// One target of one dashboard panel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Uid of the dashboard.
    pub dashboard: String,
    /// Panel title.
    pub panel: String,
    /// The target's `refId`.
    pub ref_id: String,
    /// PromQL with variables substituted.
    pub expr: String,
    /// Grafana sends it as an instant query (else a range query).
    pub instant: bool,
}

/// What a query returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The query succeeded with this many series holding at least one finite value.
    Series(usize),
    /// The backend rejected the query (parse, type or execution error).
    Error(String),
}

/// The verdict on one backend's dashboards.
#[derive(Debug, PartialEq, Eq)]
pub struct DashboardReport {
    /// Panels with targets.
    pub panels: usize,
    /// Panels every target of which returned at least one series.
    pub panels_with_data: usize,
    /// One readable line per failing target.
    pub failures: Vec<String>,
}

/// Grafana's interval variables for a view of the demo's data.
#[derive(Clone, Copy, Debug)]
pub struct Intervals {
    /// Scrape interval (the datasource's `timeInterval`).
    pub scrape: Duration,
    /// `$__interval`: the step between points.
    pub step: Duration,
    /// `$__range`: the dashboard's time range.
    pub range: Duration,
}

impl Intervals {
    /// `$__rate_interval`: `max($__interval + scrape, 4 x scrape)`.
    pub fn rate_interval(&self) -> Duration {
        (self.step + self.scrape).max(self.scrape * 4)
    }
}

/// Every target of every panel of `dashboards`, with variables substituted as Grafana
/// would with every query variable on "All". Fails naming a target that uses an
/// unknown variable.
pub fn targets(dashboards: &[Dashboard], intervals: Intervals) -> Result<Vec<Target>, String> {
    let mut out = Vec::new();
    for dashboard in dashboards {
        let values = variable_values(dashboard, intervals);
        let mut panels: Vec<&Panel> = dashboard.panels.iter().collect();
        while let Some(panel) = panels.pop() {
            panels.extend(panel.panels.iter().flatten());
            for target in panel.targets.iter().flatten() {
                let expr = substitute(&target.expr, &values).map_err(|e| {
                    format!(
                        "dashboard {} panel {:?} target {}: {e}",
                        dashboard.uid, panel.title, target.ref_id
                    )
                })?;
                out.push(Target {
                    dashboard: dashboard.uid.clone(),
                    panel: panel.title.clone(),
                    ref_id: target.ref_id.clone(),
                    expr,
                    instant: target.instant,
                });
            }
        }
    }
    out.sort_by(|a, b| {
        (&a.dashboard, &a.panel, &a.ref_id).cmp(&(&b.dashboard, &b.panel, &b.ref_id))
    });
    Ok(out)
}

/// A query variable's `label_values(selector, label)` as PromQL: one series per value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VariableQuery {
    /// Uid of the dashboard.
    pub dashboard: String,
    /// Variable name.
    pub name: String,
    /// `count by (label) (selector)`, variables substituted.
    pub expr: String,
}

/// The values query of every query variable of `dashboards`, as PromQL. Grafana asks
/// `/api/v1/series` for `label_values(selector, label)`; `count by (label) (selector)`
/// has one series per value on both backends. Fails naming a variable whose query is
/// not `label_values(...)` or uses an unknown variable.
pub fn variable_queries(
    dashboards: &[Dashboard],
    intervals: Intervals,
) -> Result<Vec<VariableQuery>, String> {
    let mut out = Vec::new();
    for dashboard in dashboards {
        let values = variable_values(dashboard, intervals);
        for variable in &dashboard.templating.list {
            if variable.kind != VariableType::Query {
                continue;
            }
            let context = || format!("dashboard {} variable ${}", dashboard.uid, variable.name);
            let (selector, label) = variable
                .query
                .trim()
                .strip_prefix("label_values(")
                .and_then(|q| q.strip_suffix(')'))
                .and_then(|q| q.rsplit_once(','))
                .ok_or_else(|| {
                    format!(
                        "{}: not label_values(selector, label): {:?}",
                        context(),
                        variable.query
                    )
                })?;
            let selector =
                substitute(selector.trim(), &values).map_err(|e| format!("{}: {e}", context()))?;
            out.push(VariableQuery {
                dashboard: dashboard.uid.clone(),
                name: variable.name.clone(),
                expr: format!("count by ({}) ({selector})", label.trim()),
            });
        }
    }
    Ok(out)
}

/// The value of each variable of `dashboard` (built-in interval variables included).
pub fn variable_values(dashboard: &Dashboard, intervals: Intervals) -> BTreeMap<String, String> {
    let mut values: BTreeMap<String, String> = dashboard
        .templating
        .list
        .iter()
        .map(|variable| {
            let value = match variable.kind {
                // Only used in datasource references, never in PromQL.
                VariableType::Datasource => variable.query.clone(),
                VariableType::Query => variable.all_value.clone().unwrap_or(".*".to_string()),
            };
            (variable.name.clone(), value)
        })
        .collect();
    let builtins = [
        ("__rate_interval", duration(intervals.rate_interval())),
        ("__interval", duration(intervals.step)),
        ("__interval_ms", intervals.step.as_millis().to_string()),
        ("__range", duration(intervals.range)),
        ("__range_s", intervals.range.as_secs().to_string()),
        ("__range_ms", intervals.range.as_millis().to_string()),
    ];
    values.extend(builtins.map(|(k, v)| (k.to_string(), v)));
    values
}

/// Replaces `$name`, `${name}`, `${name:format}` and `[[name]]` with their values; an
/// unknown name is an error naming it.
pub fn substitute(expr: &str, values: &BTreeMap<String, String>) -> Result<String, String> {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(expr.len());
    let mut rest = expr;
    while let Some(start) = rest.find(['$', '[']) {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let (name, len) = if let Some(braced) = tail.strip_prefix("${") {
            let end = braced
                .find('}')
                .ok_or_else(|| format!("unclosed ${{ in {expr:?}"))?;
            let name = braced[..end].split(':').next().unwrap_or_default();
            (name, end + 3)
        } else if let Some(bracketed) = tail.strip_prefix("[[") {
            match bracketed.find("]]") {
                Some(end) => (
                    bracketed[..end].split(':').next().unwrap_or_default(),
                    end + 4,
                ),
                None => ("", 0),
            }
        } else if let Some(plain) = tail.strip_prefix('$') {
            let end = plain.find(|c| !is_name(c)).unwrap_or(plain.len());
            (&plain[..end], end + 1)
        } else {
            ("", 0)
        };
        if len == 0 || name.is_empty() {
            // A `[` of a range selector, or a lone `$`.
            out.push_str(&tail[..1]);
            rest = &tail[1..];
            continue;
        }
        let value = values
            .get(name)
            .ok_or_else(|| format!("unknown variable ${name} in {expr:?}"))?;
        out.push_str(value);
        rest = &tail[len..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A Prometheus duration: `4s`, `1m`, `1m30s`, `250ms`.
pub fn duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms % 1000 != 0 {
        return format!("{ms}ms");
    }
    let s = ms / 1000;
    match (s / 60, s % 60) {
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m{s}s"),
    }
}

/// Metric names a PromQL expression selects (by name or `__name__="..."`); empty when
/// it does not parse.
pub fn selected_metrics(expr: &str) -> BTreeSet<String> {
    struct Names(BTreeSet<String>);
    impl ExprVisitor for Names {
        type Error = std::convert::Infallible;
        fn pre_visit(&mut self, expr: &Expr) -> Result<bool, Self::Error> {
            let selector = match expr {
                Expr::VectorSelector(vs) => vs,
                Expr::MatrixSelector(ms) => &ms.vs,
                _ => return Ok(true),
            };
            self.0.extend(selector.name.clone());
            self.0.extend(
                selector
                    .matchers
                    .matchers
                    .iter()
                    .filter(|m| m.name == METRIC_NAME && m.op == MatchOp::Equal)
                    .map(|m| m.value.clone()),
            );
            Ok(true)
        }
    }
    let mut names = Names(BTreeSet::new());
    if let Ok(parsed) = promql_parser::parser::parse(expr) {
        let Ok(_) = walk_expr(&mut names, &parsed);
    }
    names.0
}

/// The verdict on `targets` given each target's outcome (same order). `exposed` holds
/// every sample name the demo instances expose, `recorded` the recording rules' names:
/// a query selecting a name in neither is explained as such.
pub fn report(
    targets: &[Target],
    outcomes: &[Outcome],
    exposed: &BTreeSet<String>,
    recorded: &BTreeSet<String>,
) -> DashboardReport {
    let mut panels: BTreeMap<(&str, &str), bool> = BTreeMap::new();
    let mut failures = Vec::new();
    for (target, outcome) in targets.iter().zip(outcomes) {
        let ok = matches!(outcome, Outcome::Series(n) if *n > 0);
        *panels
            .entry((&target.dashboard, &target.panel))
            .or_insert(true) &= ok;
        if ok {
            continue;
        }
        let why = match outcome {
            Outcome::Error(error) => format!("query failed: {error}"),
            Outcome::Series(_) => {
                let unknown: Vec<String> = selected_metrics(&target.expr)
                    .into_iter()
                    .filter(|m| !exposed.contains(m) && !recorded.contains(m))
                    .collect();
                if unknown.is_empty() {
                    "no series with a value".to_string()
                } else {
                    format!(
                        "no series: it selects {}, which no demo instance exposes",
                        unknown.join(", ")
                    )
                }
            }
        };
        failures.push(format!(
            "dashboard {} panel {:?} target {}: {why}\n    query: {}",
            target.dashboard, target.panel, target.ref_id, target.expr
        ));
    }
    DashboardReport {
        panels: panels.len(),
        panels_with_data: panels.values().filter(|ok| **ok).count(),
        failures,
    }
}

#[cfg(test)]
mod tests {
    use catalog::MetricId;

    use super::*;
    use crate::e2e::conformance::Exposition;
    use crate::e2e::fixtures;

    const ONE_SECOND: Intervals = Intervals {
        scrape: Duration::from_secs(1),
        step: Duration::from_secs(1),
        range: Duration::from_secs(300),
    };

    fn check(expr: &str, expected: &str) {
        let values: BTreeMap<String, String> = [
            ("job", ".+"),
            ("jobs", "many"),
            ("instance", ".*"),
            ("__rate_interval", "4s"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .into();
        assert_eq!(substitute(expr, &values).as_deref(), Ok(expected), "{expr}");
    }

    #[test]
    fn substitutes_every_grafana_syntax() {
        check(
            r#"rate(x{job=~"$job"}[$__rate_interval])"#,
            r#"rate(x{job=~".+"}[4s])"#,
        );
        check(
            r#"x{job=~"${job}", i=~"${instance:regex}"}"#,
            r#"x{job=~".+", i=~".*"}"#,
        );
        check(r#"x{job=~"[[job]]"}[5m]"#, r#"x{job=~".+"}[5m]"#);
        check("$jobs and $job", "many and .+");
        check("no variables [1m] $", "no variables [1m] $");
    }

    #[test]
    fn unknown_variable_is_named() {
        let error = substitute("x{a=~\"$nope\"}", &BTreeMap::new()).unwrap_err();
        assert_eq!(error, "unknown variable $nope in \"x{a=~\\\"$nope\\\"}\"");
    }

    #[test]
    fn rate_interval_follows_grafana() {
        assert_eq!(duration(ONE_SECOND.rate_interval()), "4s");
        let fifteen = Intervals {
            scrape: Duration::from_secs(15),
            step: Duration::from_secs(15),
            range: Duration::from_secs(3600),
        };
        assert_eq!(duration(fifteen.rate_interval()), "1m");
        let slow_step = Intervals {
            step: Duration::from_secs(89),
            ..fifteen
        };
        assert_eq!(duration(slow_step.rate_interval()), "1m44s");
        assert_eq!(duration(Duration::from_millis(250)), "250ms");
    }

    #[test]
    fn generated_dashboards_substitute_cleanly() {
        let dashboards = dashboard_gen::generate::<MetricId>().unwrap();
        let targets = targets(&dashboards, ONE_SECOND).unwrap();
        assert!(!targets.is_empty());
        for target in &targets {
            assert!(!target.expr.contains('$'), "{target:?}");
            assert!(
                promql_parser::parser::parse(&target.expr).is_ok(),
                "{target:?}"
            );
            assert!(!selected_metrics(&target.expr).is_empty(), "{target:?}");
        }
    }

    #[test]
    fn label_values_become_count_by() {
        let dashboards = dashboard_gen::generate::<MetricId>().unwrap();
        let queries = variable_queries(&dashboards, ONE_SECOND).unwrap();
        let names: Vec<&str> = queries.iter().map(|q| q.name.as_str()).collect();
        assert!(names.starts_with(&["job", "instance"]), "{names:?}");
        for query in &queries {
            assert!(
                query
                    .expr
                    .starts_with(&format!("count by ({}) (", query.name)),
                "{query:?}"
            );
            assert!(!query.expr.contains('$'), "{query:?}");
            assert!(
                promql_parser::parser::parse(&query.expr).is_ok(),
                "{query:?}"
            );
        }
    }

    /// The readable report when a dashboard queries a metric the demo does not emit.
    #[test]
    fn report_names_a_metric_the_demo_does_not_emit() {
        let dashboards = fixtures::dashboards_querying("sms_bogus_total", "Bogus");
        let targets = targets(&dashboards, ONE_SECOND).unwrap();
        let exposed = Exposition::parse(&fixtures::exposition()).sample_names;
        let recorded: BTreeSet<String> = signals::recorded_series::<MetricId>()
            .into_iter()
            .map(|s| s.name)
            .collect();
        // What a backend answers: data for everything the demo exposes or the rules
        // record, nothing else.
        let outcomes: Vec<Outcome> = targets
            .iter()
            .map(|t| {
                let emitted = selected_metrics(&t.expr)
                    .iter()
                    .all(|m| exposed.contains(m) || recorded.contains(m));
                Outcome::Series(usize::from(emitted))
            })
            .collect();
        let report = report(&targets, &outcomes, &exposed, &recorded);
        assert_eq!(report.panels_with_data, report.panels - 1);
        assert_eq!(
            report.failures,
            [
                "dashboard sms-overview panel \"Bogus\" target A: no series: it selects sms_bogus_total, which no demo instance exposes\n    query: sum(rate(sms_bogus_total{job=~\".+\"}[4s]))"
            ]
        );
    }

    #[test]
    fn report_shows_backend_errors() {
        let target = Target {
            dashboard: "d".to_string(),
            panel: "p".to_string(),
            ref_id: "A".to_string(),
            expr: "rate(x)".to_string(),
            instant: true,
        };
        let report = report(
            &[target],
            &[Outcome::Error(
                "bad_data: ranges only allowed for vector selectors".to_string(),
            )],
            &BTreeSet::new(),
            &BTreeSet::new(),
        );
        assert_eq!(report.panels_with_data, 0);
        assert_eq!(
            report.failures,
            [
                "dashboard d panel \"p\" target A: query failed: bad_data: ranges only allowed for vector selectors\n    query: rate(x)"
            ]
        );
    }
}
