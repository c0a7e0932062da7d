//! PromQL checks against the catalog: every expression a dashboard emits is parsed with
//! `promql-parser` and may only select catalog series, declared labels and sound functions.
//!
//! Grafana variables are substituted before parsing, since PromQL has no syntax for them:
//! `$__rate_interval` becomes a sentinel duration (so a range that is not
//! `$__rate_interval` is recognisable after parsing) and `$name` of a known variable a
//! placeholder that is a valid regex. Rules checked (names follow grafana/dashboard-linter
//! where one exists):
//!
//! - `target-promql`: the expression parses, uses only known variables;
//! - `target-metric`: every selector names a catalog series with the right suffix
//!   (`_bucket`, `_count`, `_sum` for histograms, the bare name otherwise) or a series
//!   the generated rules record (`signals::recorded_series`, labels: those it keeps);
//! - `target-label`: matchers and grouping use declared labels, plus `job`, `instance`,
//!   and `le` on bucket series;
//! - `target-counter-agg`: counter and histogram series only inside `rate`, `irate` or
//!   `increase`, and those functions only over them (never over a gauge);
//! - `target-rate-interval`: every range is `$__rate_interval`; no subqueries;
//! - `target-job`, `target-instance`, `target-filter`: every selector carries
//!   `label=~"$label"` for each dashboard variable whose label the series has;
//! - `target-renamed`: a metric renamed away (deprecated with `renamed_to`) is selected
//!   only as the fallback of its new metric in the same expression
//!   (`(rate(new[w]) >= rate(old[w])) or rate(old[w]) or rate(new[w])`, built by
//!   `signals`), never alone.

use std::collections::BTreeSet;
use std::time::Duration;

use catalog::{LabelKey, MetricCatalog, MetricKind};
use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::{self, Expr, VectorSelector};

/// What `$__rate_interval` is replaced with before parsing.
const RATE_INTERVAL_SENTINEL: &str = "987654321ms";
const RATE_INTERVAL_MILLIS: u64 = 987_654_321;

/// Functions that take a counter (or histogram series) range and handle resets.
const COUNTER_FUNCTIONS: &[&str] = &["rate", "irate", "increase"];

/// One problem with one expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryFinding {
    /// Rule identifier, e.g. `target-counter-agg`.
    pub rule: &'static str,
    /// What is wrong, naming the offending series, label or function.
    pub message: String,
}

/// What a check of one expression found.
#[derive(Debug)]
pub struct Analysis<C> {
    /// Catalog metrics the expression selects, in catalog order.
    pub metrics: BTreeSet<C>,
    /// Problems; empty when the expression is fine.
    pub findings: Vec<QueryFinding>,
}

/// How strictly to check.
#[derive(Clone, Copy, Debug)]
pub struct Rules<'a> {
    /// Names of the dashboard's regex variables (`job`, `instance`, ...), usable as `$name`.
    pub variables: &'a [String],
    /// Require `label=~"$label"` on every selector for each variable whose label it has
    /// (true for panel targets, false for variable queries).
    pub require_variable_matchers: bool,
    /// Allow bare counter selectors (true for `label_values(...)` variable queries).
    pub allow_raw_counters: bool,
}

/// Parses `expr` (with Grafana variables) and checks it against catalog `C`.
pub fn analyze<C: MetricCatalog>(expr: &str, rules: Rules<'_>) -> Analysis<C> {
    let mut walk: Walk<'_, C> = Walk {
        rules,
        metrics: BTreeSet::new(),
        findings: Vec::new(),
    };
    match substitute(expr, rules.variables) {
        Err(message) => walk.push("target-promql", message),
        Ok(substituted) => match parser::parse(&substituted) {
            Err(error) => walk.push("target-promql", format!("does not parse: {error}")),
            Ok(ast) => walk.expr(&ast),
        },
    }
    for old in &walk.metrics {
        if let Some(new) = old.def().renamed_to()
            && !walk.metrics.contains(&new)
        {
            walk.findings.push(QueryFinding {
                rule: "target-renamed",
                message: format!(
                    "selects `{}`, renamed to `{}`, without the new name: select the new \
                     one with the old as fallback, the larger rate per series, \
                     `(rate(new[w]) >= rate(old[w])) or rate(old[w]) or rate(new[w])`",
                    old.def().name,
                    new.def().name
                ),
            });
        }
    }
    Analysis {
        metrics: walk.metrics,
        findings: walk.findings,
    }
}

/// The placeholder a `$name` variable is replaced with before parsing.
pub fn placeholder(variable: &str) -> String {
    format!("__grafana_var_{variable}__")
}

/// Replaces Grafana variables by parseable stand-ins; errors on an unknown variable.
fn substitute(expr: &str, variables: &[String]) -> Result<String, String> {
    let mut out = String::with_capacity(expr.len());
    let mut rest = expr;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        let (name, consumed) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => return Err("unclosed `${` variable".to_string()),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        if name.is_empty() {
            // A `$` that starts no variable, e.g. a regex anchor.
            out.push('$');
        } else if name == "__rate_interval" {
            out.push_str(RATE_INTERVAL_SENTINEL);
        } else if variables.iter().any(|v| v == name) {
            out.push_str(&placeholder(name));
        } else {
            return Err(format!(
                "unknown variable `${name}` (known: $__rate_interval{})",
                variables
                    .iter()
                    .map(|v| format!(", ${v}"))
                    .collect::<String>()
            ));
        }
        rest = &after[consumed..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Which series of a catalog metric a selector names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Series {
    Counter,
    Gauge,
    Bucket,
    Count,
    Sum,
    /// A series the generated rules record (index into `signals::recorded_series`):
    /// an instantaneous value, like a gauge.
    Recorded(usize),
}

impl Series {
    fn is_counter_like(self) -> bool {
        !matches!(self, Series::Gauge | Series::Recorded(_))
    }
}

struct Walk<'a, C> {
    rules: Rules<'a>,
    metrics: BTreeSet<C>,
    findings: Vec<QueryFinding>,
}

impl<C: MetricCatalog> Walk<'_, C> {
    fn push(&mut self, rule: &'static str, message: String) {
        self.findings.push(QueryFinding { rule, message });
    }

    fn expr(&mut self, expr: &Expr) {
        match expr {
            Expr::Aggregate(aggregate) => {
                if let Some(param) = &aggregate.param {
                    self.expr(param);
                }
                self.expr(&aggregate.expr);
                if let Some(modifier) = &aggregate.modifier {
                    let available = self.labels_of(&aggregate.expr);
                    for label in &modifier.labels().labels {
                        if !available.contains(label.as_str()) {
                            self.push(
                                "target-label",
                                format!(
                                    "`{}` groups by `{label}`, which the series it aggregates do not have",
                                    aggregate.op
                                ),
                            );
                        }
                    }
                }
            }
            Expr::Unary(unary) => self.expr(&unary.expr),
            Expr::Binary(binary) => {
                self.expr(&binary.lhs);
                self.expr(&binary.rhs);
            }
            Expr::Paren(paren) => self.expr(&paren.expr),
            Expr::Subquery(_) => self.push(
                "target-rate-interval",
                "subqueries are not allowed: their range cannot be $__rate_interval".to_string(),
            ),
            Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
            Expr::VectorSelector(selector) => {
                if let Some((metric, series)) = self.selector(selector) {
                    if series.is_counter_like() && !self.rules.allow_raw_counters {
                        self.push(
                            "target-counter-agg",
                            format!(
                                "`{}` is a counter series used raw: wrap it in rate() or increase()",
                                series_name(metric, series)
                            ),
                        );
                    }
                }
            }
            Expr::MatrixSelector(matrix) => {
                self.range(matrix.range);
                self.selector(&matrix.vs);
            }
            Expr::Call(call) => {
                let function = call.func.name;
                for arg in &call.args.args {
                    let Expr::MatrixSelector(matrix) = arg.as_ref() else {
                        self.expr(arg);
                        continue;
                    };
                    self.range(matrix.range);
                    let Some((metric, series)) = self.selector(&matrix.vs) else {
                        continue;
                    };
                    let counter_function = COUNTER_FUNCTIONS.contains(&function);
                    if counter_function && !series.is_counter_like() {
                        self.push(
                            "target-counter-agg",
                            format!(
                                "{function}() over gauge `{}`: rate and increase only apply to counters",
                                series_name(metric, series)
                            ),
                        );
                    } else if !counter_function && series.is_counter_like() {
                        self.push(
                            "target-counter-agg",
                            format!(
                                "{function}() over counter series `{}`: use rate() or increase()",
                                series_name(metric, series)
                            ),
                        );
                    }
                }
            }
        }
    }

    fn range(&mut self, range: Duration) {
        if range != Duration::from_millis(RATE_INTERVAL_MILLIS) {
            self.push(
                "target-rate-interval",
                format!("range [{}ms] must be [$__rate_interval]", range.as_millis()),
            );
        }
    }

    /// Checks one selector; returns the catalog series it names, if it names one.
    fn selector(&mut self, selector: &VectorSelector) -> Option<(C, Series)> {
        let name = selector.name.clone().or_else(|| {
            selector
                .matchers
                .matchers
                .iter()
                .find(|m| m.name == "__name__" && m.op == MatchOp::Equal)
                .map(|m| m.value.clone())
        });
        let Some(name) = name else {
            self.push(
                "target-metric",
                format!("selector `{selector}` names no metric"),
            );
            return None;
        };
        let Some((metric, series)) = resolve::<C>(&name) else {
            let hint = C::ALL
                .iter()
                .find(|m| m.def().name == name)
                .map(|m| {
                    format!(
                        ": histogram `{0}` is queried as {0}_bucket, {0}_count or {0}_sum",
                        m.def().name
                    )
                })
                .unwrap_or_else(|| " in the catalog".to_string());
            self.push("target-metric", format!("no series `{name}`{hint}"));
            return None;
        };
        self.metrics.insert(metric);
        let allowed = series_labels(metric, series);
        let matchers = selector
            .matchers
            .matchers
            .iter()
            .chain(selector.matchers.or_matchers.iter().flatten());
        for matcher in matchers {
            if matcher.name != "__name__" && !allowed.contains(matcher.name.as_str()) {
                self.push(
                    "target-label",
                    format!(
                        "`{name}` has no label `{}` (it has: {})",
                        matcher.name,
                        allowed.iter().copied().collect::<Vec<_>>().join(", ")
                    ),
                );
            }
        }
        if self.rules.require_variable_matchers {
            for variable in self.rules.variables {
                if allowed.contains(variable.as_str())
                    && !has_variable_matcher(&selector.matchers.matchers, variable)
                {
                    let rule = match variable.as_str() {
                        "job" => "target-job",
                        "instance" => "target-instance",
                        _ => "target-filter",
                    };
                    self.push(
                        rule,
                        format!("`{name}` lacks the matcher {variable}=~\"${variable}\""),
                    );
                }
            }
        }
        Some((metric, series))
    }

    /// Labels the series selected in `expr` can carry (for checking `by (...)`).
    fn labels_of(&self, expr: &Expr) -> BTreeSet<&'static str> {
        let mut labels = BTreeSet::new();
        collect_labels::<C>(expr, &mut labels);
        labels
    }
}

fn has_variable_matcher(matchers: &[Matcher], variable: &str) -> bool {
    let expected = placeholder(variable);
    matchers
        .iter()
        .any(|m| m.name == variable && matches!(m.op, MatchOp::Re(_)) && m.value == expected)
}

fn collect_labels<C: MetricCatalog>(expr: &Expr, labels: &mut BTreeSet<&'static str>) {
    match expr {
        Expr::Aggregate(aggregate) => match &aggregate.modifier {
            Some(modifier) if modifier.is_include() => {
                let mut inner = BTreeSet::new();
                collect_labels::<C>(&aggregate.expr, &mut inner);
                labels.extend(
                    inner
                        .into_iter()
                        .filter(|l| modifier.labels().labels.iter().any(|g| g == l)),
                );
            }
            Some(_) => collect_labels::<C>(&aggregate.expr, labels),
            None => {}
        },
        Expr::Unary(unary) => collect_labels::<C>(&unary.expr, labels),
        Expr::Binary(binary) => {
            collect_labels::<C>(&binary.lhs, labels);
            collect_labels::<C>(&binary.rhs, labels);
        }
        Expr::Paren(paren) => collect_labels::<C>(&paren.expr, labels),
        Expr::Subquery(subquery) => collect_labels::<C>(&subquery.expr, labels),
        Expr::VectorSelector(selector) => selector_labels::<C>(selector, labels),
        Expr::MatrixSelector(matrix) => selector_labels::<C>(&matrix.vs, labels),
        Expr::Call(call) => {
            for arg in &call.args.args {
                collect_labels::<C>(arg, labels);
            }
            // histogram_quantile consumes `le`.
            if call.func.name == "histogram_quantile" {
                labels.remove("le");
            }
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

fn selector_labels<C: MetricCatalog>(
    selector: &VectorSelector,
    labels: &mut BTreeSet<&'static str>,
) {
    if let Some((metric, series)) = selector.name.as_deref().and_then(resolve::<C>) {
        labels.extend(series_labels(metric, series));
    }
}

/// The catalog metric and series a Prometheus series name denotes: a catalog series, or
/// a series the generated rules record from one.
fn resolve<C: MetricCatalog>(name: &str) -> Option<(C, Series)> {
    resolve_catalog::<C>(name).or_else(|| {
        let recorded = signals::recorded_series::<C>();
        let index = recorded.iter().position(|s| s.name == name)?;
        Some((recorded[index].metric, Series::Recorded(index)))
    })
}

fn resolve_catalog<C: MetricCatalog>(name: &str) -> Option<(C, Series)> {
    C::ALL.iter().find_map(|&metric| {
        let def = metric.def();
        match def.kind {
            MetricKind::Counter => (name == def.name).then_some((metric, Series::Counter)),
            MetricKind::Gauge => (name == def.name).then_some((metric, Series::Gauge)),
            MetricKind::Histogram { .. } => {
                let suffix = name.strip_prefix(def.name)?;
                let series = match suffix {
                    "_bucket" => Series::Bucket,
                    "_count" => Series::Count,
                    "_sum" => Series::Sum,
                    _ => return None,
                };
                Some((metric, series))
            }
        }
    })
}

fn series_name<C: MetricCatalog>(metric: C, series: Series) -> String {
    let suffix = match series {
        Series::Recorded(i) => {
            return signals::recorded_series::<C>()
                .get(i)
                .map_or_else(String::new, |s| s.name.clone());
        }
        Series::Counter | Series::Gauge => "",
        Series::Bucket => "_bucket",
        Series::Count => "_count",
        Series::Sum => "_sum",
    };
    format!("{}{suffix}", metric.def().name)
}

/// Labels a series has: declared ones, the scrape's `job` and `instance`, `le` on buckets;
/// for a recorded series, the labels its rule keeps.
fn series_labels<C: MetricCatalog>(metric: C, series: Series) -> BTreeSet<&'static str> {
    if let Series::Recorded(i) = series {
        return signals::recorded_series::<C>()
            .get(i)
            .map(|s| s.labels.iter().copied().collect())
            .unwrap_or_default();
    }
    let mut labels: BTreeSet<&'static str> =
        metric.def().labels.iter().map(|l| l.def().name).collect();
    labels.extend(["job", "instance"]);
    if series == Series::Bucket {
        labels.insert("le");
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;
    use catalog::MetricId;
    use sms_storage::StorageMetricId;

    fn variables() -> Vec<String> {
        ["job", "instance", "source_id"].map(String::from).to_vec()
    }

    /// Checks a panel query; `expected` lists the rules that fire, in order.
    fn check<C: MetricCatalog>(expr: &str, expected: &[&str]) {
        let variables = variables();
        let rules = Rules {
            variables: &variables,
            require_variable_matchers: true,
            allow_raw_counters: false,
        };
        let analysis = analyze::<C>(expr, rules);
        let rules: Vec<&str> = analysis.findings.iter().map(|f| f.rule).collect();
        assert_eq!(rules, expected, "{expr}: {:?}", analysis.findings);
    }

    fn sel<C: MetricCatalog>(metric: C, suffix: &str, extra: &str) -> String {
        format!(
            "{}{suffix}{{job=~\"$job\", instance=~\"$instance\"{extra}}}",
            metric.def().name
        )
    }

    #[test]
    fn a_counter_rate_with_all_matchers_is_fine() {
        let s = sel(StorageMetricId::GatewayCasObjectsWritten, "", "");
        check::<StorageMetricId>(&format!("sum(rate({s}[$__rate_interval]))"), &[]);
    }

    #[test]
    fn a_renamed_metric_is_selected_only_as_its_new_metrics_fallback() {
        let new = StorageMetricId::GatewayCasObjectsWritten;
        let old = catalog::renamed_from(new).expect("the storage catalog renames it");
        let (n, o) = (sel(new, "", ""), sel(old, "", ""));
        let (rn, ro) = (
            format!("rate({n}[$__rate_interval])"),
            format!("rate({o}[$__rate_interval])"),
        );
        check::<StorageMetricId>(&format!("sum(({rn} >= {ro}) or {ro} or {rn})"), &[]);
        // What signals writes is that form.
        assert_eq!(
            signals::rated(new, "", "$__rate_interval", &|m, suffix| sel(m, suffix, "")),
            format!("({rn} >= {ro}) or {ro} or {rn}")
        );
        check::<StorageMetricId>(
            &format!("sum(rate({o}[$__rate_interval]))"),
            &["target-renamed"],
        );
    }

    #[test]
    fn histogram_quantile_over_buckets_is_fine() {
        let s = sel(StorageMetricId::GatewayCasWriteDuration, "_bucket", "");
        check::<StorageMetricId>(
            &format!("histogram_quantile(0.95, sum by (le) (rate({s}[$__rate_interval])))"),
            &[],
        );
    }

    #[test]
    fn a_raw_counter_is_rejected() {
        check::<StorageMetricId>(
            &sel(StorageMetricId::GatewayCasObjectsWritten, "", ""),
            &["target-counter-agg"],
        );
    }

    #[test]
    fn rate_over_a_gauge_is_rejected() {
        let s = sel(MetricId::GatewayQueueDepth, "", "");
        check::<MetricId>(
            &format!("rate({s}[$__rate_interval])"),
            &["target-counter-agg"],
        );
    }

    #[test]
    fn a_fixed_range_is_rejected() {
        let s = sel(StorageMetricId::GatewayCasObjectsWritten, "", "");
        check::<StorageMetricId>(&format!("rate({s}[5m])"), &["target-rate-interval"]);
    }

    #[test]
    fn a_histogram_without_suffix_is_rejected() {
        let s = sel(StorageMetricId::GatewayCasWriteDuration, "", "");
        check::<StorageMetricId>(&s, &["target-metric"]);
    }

    #[test]
    fn an_undeclared_label_is_rejected_in_matchers_and_grouping() {
        let s = sel(
            StorageMetricId::GatewayCasObjectsWritten,
            "",
            ", source_id=~\"$source_id\"",
        );
        check::<StorageMetricId>(
            &format!("sum by (reason) (rate({s}[$__rate_interval]))"),
            &["target-label", "target-label"],
        );
    }

    #[test]
    fn missing_variable_matchers_are_reported_per_variable() {
        let name = MetricId::SourcesRequestsSuccess.def().name;
        check::<MetricId>(
            &format!("sum(rate({name}[$__rate_interval]))"),
            &["target-job", "target-instance", "target-filter"],
        );
    }

    #[test]
    fn unknown_variables_and_syntax_errors_are_reported() {
        let s = sel(StorageMetricId::GatewayCasObjectsWritten, "", "");
        check::<StorageMetricId>(&format!("rate({s}[$__interval])"), &["target-promql"]);
        check::<StorageMetricId>("sum(rate(", &["target-promql"]);
    }

    #[test]
    fn analysis_lists_the_selected_metrics() {
        let a = sel(StorageMetricId::IngestLogWritesError, "", "");
        let b = sel(StorageMetricId::IngestLogWritesSuccess, "", "");
        let variables = variables();
        let analysis = analyze::<StorageMetricId>(
            &format!("sum(rate({a}[$__rate_interval])) / sum(rate({b}[$__rate_interval]))"),
            Rules {
                variables: &variables,
                require_variable_matchers: true,
                allow_raw_counters: false,
            },
        );
        assert!(analysis.findings.is_empty(), "{:?}", analysis.findings);
        assert_eq!(
            analysis.metrics.into_iter().collect::<Vec<_>>(),
            [
                StorageMetricId::IngestLogWritesSuccess,
                StorageMetricId::IngestLogWritesError
            ]
        );
    }
}
