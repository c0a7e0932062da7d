//! Panels and PromQL per metric kind (pure): what to show for a counter, a gauge or a
//! histogram, given the catalog's hints.
//!
//! - counter: per-second rate over `[$__rate_interval]`, summed by the hint's `split_by`
//!   labels (by `instance` without a hint); an error counter with a success twin also
//!   gets `errors / (errors + successes)`;
//! - histogram: p50 / p95 / p99 over `sum by (le)` of the bucket rates, and a heatmap;
//! - gauge: the current value (stat) and a time series, never under `rate()`;
//! - every custom query of the hints in its own time series panel.
//!
//! Every selector carries `job=~"$job"`, `instance=~"$instance"` and `label=~"$label"` for
//! each filter variable whose label the metric has.

use catalog::{LabelKey, LabelValues, MetricCatalog, MetricKind, PanelHint, Unit};

use crate::layout::Size;

/// Quantiles of the histogram latency panel.
const QUANTILES: &[(&str, &str)] = &[("0.5", "p50"), ("0.95", "p95"), ("0.99", "p99")];

/// Sizes on the 24-column grid.
const WIDE: Size = Size { w: 12, h: 8 };
const STAT: Size = Size { w: 4, h: 8 };
const BESIDE_STAT: Size = Size { w: 8, h: 8 };

/// The visualisation of a generated panel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visual {
    /// Time series graph.
    Timeseries,
    /// Single current value.
    Stat,
    /// Heatmap of histogram buckets.
    Heatmap,
}

/// One PromQL query of a panel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    /// PromQL with Grafana variables.
    pub expr: String,
    /// Legend format.
    pub legend: String,
}

/// A panel before placement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PanelSpec {
    /// Visualisation.
    pub visual: Visual,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Grafana unit id.
    pub unit: &'static str,
    /// Queries, in `refId` order.
    pub queries: Vec<Query>,
    /// Size on the grid.
    pub size: Size,
}

/// Labels worth a dashboard variable: free-form labels (bounded per metric by
/// `max_series`), in order of first use in the catalog. Enumerated labels are better
/// split by than filtered on.
pub fn filter_labels<C: MetricCatalog>() -> Vec<&'static str> {
    let mut labels: Vec<&'static str> = Vec::new();
    for metric in C::ALL {
        for label in metric.def().labels {
            let def = label.def();
            if def.values == LabelValues::FreeForm && !labels.contains(&def.name) {
                labels.push(def.name);
            }
        }
    }
    labels
}

/// `name{suffix}{job=~"$job", instance=~"$instance", ...}` for `metric`, with a matcher for
/// each of `filters` the metric has.
pub fn selector<C: MetricCatalog>(metric: C, suffix: &str, filters: &[&str]) -> String {
    let def = metric.def();
    let mut matchers = vec![
        "job=~\"$job\"".to_string(),
        "instance=~\"$instance\"".to_string(),
    ];
    for filter in filters {
        if def.labels.iter().any(|l| l.def().name == *filter) {
            matchers.push(format!("{filter}=~\"${filter}\""));
        }
    }
    format!("{}{suffix}{{{}}}", def.name, matchers.join(", "))
}

/// The panels showing `metric`, in display order.
pub fn panels<C: MetricCatalog>(metric: C, filters: &[&str]) -> Vec<PanelSpec> {
    let def = metric.def();
    let help = def.help.trim_end_matches('.');
    let mut panels = Vec::new();
    match def.kind {
        MetricKind::Counter => {
            let (by, legend) = grouping::<C>(metric);
            let rate = format!(
                "sum by ({by}) (rate({}[$__rate_interval]))",
                selector(metric, "", filters)
            );
            let visual = match def.dashboard.panel {
                PanelHint::Stat => Visual::Stat,
                PanelHint::Auto | PanelHint::TimeSeries => Visual::Timeseries,
            };
            panels.push(PanelSpec {
                visual,
                title: format!("{help} (per second)"),
                description: format!(
                    "{} Per-second rate of `{}` over $__rate_interval, by {by}.",
                    def.help, def.name
                ),
                unit: rate_unit(def.unit),
                queries: vec![Query { expr: rate, legend }],
                size: if visual == Visual::Stat { STAT } else { WIDE },
            });
            if let Some(success) = def.success_twin {
                let errors = format!(
                    "sum(rate({}[$__rate_interval]))",
                    selector(metric, "", filters)
                );
                let successes = format!(
                    "sum(rate({}[$__rate_interval]))",
                    selector(success, "", filters)
                );
                panels.push(PanelSpec {
                    visual: Visual::Timeseries,
                    title: format!("{help} (error ratio)"),
                    description: format!(
                        "Share of failed operations: `{}` / (`{}` + `{}`).",
                        def.name,
                        def.name,
                        success.def().name
                    ),
                    unit: "percentunit",
                    queries: vec![Query {
                        expr: format!("{errors} / ({errors} + {successes})"),
                        legend: "error ratio".to_string(),
                    }],
                    size: WIDE,
                });
            }
        }
        MetricKind::Histogram { .. } => {
            let buckets = format!(
                "sum by (le) (rate({}[$__rate_interval]))",
                selector(metric, "_bucket", filters)
            );
            panels.push(PanelSpec {
                visual: Visual::Timeseries,
                title: format!("{help} (p50 / p95 / p99)"),
                description: format!(
                    "{} Quantiles estimated from the buckets of `{}`.",
                    def.help, def.name
                ),
                unit: value_unit(def.unit),
                queries: QUANTILES
                    .iter()
                    .map(|(quantile, legend)| Query {
                        expr: format!("histogram_quantile({quantile}, {buckets})"),
                        legend: (*legend).to_string(),
                    })
                    .collect(),
                size: WIDE,
            });
            panels.push(PanelSpec {
                visual: Visual::Heatmap,
                title: format!("{help} (heatmap)"),
                description: format!(
                    "{} Observations per second in each bucket of `{}`.",
                    def.help, def.name
                ),
                unit: value_unit(def.unit),
                queries: vec![Query {
                    expr: buckets,
                    legend: "{{le}}".to_string(),
                }],
                size: WIDE,
            });
        }
        MetricKind::Gauge => {
            let (by, legend) = grouping::<C>(metric);
            let selector = selector(metric, "", filters);
            let stat = def.dashboard.panel != PanelHint::TimeSeries;
            let series = def.dashboard.panel != PanelHint::Stat;
            if stat {
                panels.push(PanelSpec {
                    visual: Visual::Stat,
                    title: format!("{help} (current)"),
                    description: format!("{} Current value of `{}`, summed.", def.help, def.name),
                    unit: value_unit(def.unit),
                    queries: vec![Query {
                        expr: format!("sum({selector})"),
                        legend: "total".to_string(),
                    }],
                    size: if series { STAT } else { WIDE },
                });
            }
            if series {
                panels.push(PanelSpec {
                    visual: Visual::Timeseries,
                    title: help.to_string(),
                    description: format!("{} `{}` by {by}.", def.help, def.name),
                    unit: value_unit(def.unit),
                    queries: vec![Query {
                        expr: format!("sum by ({by}) ({selector})"),
                        legend,
                    }],
                    size: if stat { BESIDE_STAT } else { WIDE },
                });
            }
        }
    }
    for custom in def.dashboard.queries {
        panels.push(PanelSpec {
            visual: Visual::Timeseries,
            title: custom.title.to_string(),
            description: format!("{} Custom query of `{}`.", def.help, def.name),
            unit: value_unit(custom.unit),
            queries: vec![Query {
                expr: custom.expr.to_string(),
                legend: custom.legend.to_string(),
            }],
            size: WIDE,
        });
    }
    panels
}

/// `by (...)` labels and the matching legend: the hint's `split_by`, else `instance`.
fn grouping<C: MetricCatalog>(metric: C) -> (String, String) {
    let split: Vec<&str> = metric
        .def()
        .dashboard
        .split_by
        .iter()
        .map(|l| l.def().name)
        .collect();
    let split = if split.is_empty() {
        vec!["instance"]
    } else {
        split
    };
    let legend = split
        .iter()
        .map(|l| format!("{{{{{l}}}}}"))
        .collect::<Vec<_>>()
        .join(" ");
    (split.join(", "), legend)
}

/// Grafana unit of a metric's value (gauges, histogram observations).
pub fn value_unit(unit: Unit) -> &'static str {
    match unit {
        Unit::None => "short",
        Unit::Seconds => "s",
        Unit::Bytes => "bytes",
        Unit::Ratio => "percentunit",
    }
}

/// Grafana unit of a counter's per-second rate.
pub fn rate_unit(unit: Unit) -> &'static str {
    match unit {
        Unit::None => "cps",
        Unit::Bytes => "Bps",
        // Seconds per second and ratio per second are plain numbers.
        Unit::Seconds | Unit::Ratio => "short",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use catalog::MetricId;

    #[test]
    fn units_map_to_grafana_ids() {
        let table = [
            (Unit::None, "short", "cps"),
            (Unit::Seconds, "s", "short"),
            (Unit::Bytes, "bytes", "Bps"),
            (Unit::Ratio, "percentunit", "short"),
        ];
        for (unit, value, rate) in table {
            assert_eq!(
                (value_unit(unit), rate_unit(unit)),
                (value, rate),
                "{unit:?}"
            );
        }
    }

    #[test]
    fn selectors_match_only_the_filters_a_metric_has() {
        let with = selector(MetricId::SourcesRequestsSuccess, "", &["source_id"]);
        assert!(with.ends_with("source_id=~\"$source_id\"}"), "{with}");
        let without = selector(MetricId::GatewayCasWritesSuccess, "", &["source_id"]);
        assert!(!without.contains("source_id"), "{without}");
    }

    #[test]
    fn the_sms_catalog_filters_on_source_id_only() {
        let source_id = catalog::Label::SourceId.def().name;
        assert_eq!(filter_labels::<MetricId>(), [source_id]);
    }

    #[test]
    fn panels_follow_the_metric_kind() {
        let visuals = |metric: MetricId| -> Vec<Visual> {
            panels(metric, &[]).iter().map(|p| p.visual).collect()
        };
        use Visual::*;
        assert_eq!(visuals(MetricId::SourcesRequestsSuccess), [Timeseries]);
        assert_eq!(
            visuals(MetricId::SourcesRequestsError),
            [Timeseries, Timeseries]
        );
        assert_eq!(
            visuals(MetricId::SourcesRequestDuration),
            [Timeseries, Heatmap]
        );
        assert_eq!(visuals(MetricId::GatewayQueueDepth), [Stat, Timeseries]);
        assert_eq!(visuals(MetricId::IngestLogRotations), [Stat]);
        assert_eq!(
            visuals(MetricId::GatewayEnvelopesDeduplicated),
            [Timeseries, Timeseries]
        );
    }

    #[test]
    fn gauges_are_never_rated_and_counters_never_raw() {
        for &metric in <MetricId as MetricCatalog>::ALL {
            for panel in panels(metric, &[]) {
                for query in &panel.queries {
                    let rated = query.expr.contains("rate(");
                    match metric.def().kind {
                        MetricKind::Gauge => assert!(!rated, "{}", query.expr),
                        _ => assert!(rated, "{}", query.expr),
                    }
                }
            }
        }
    }

    proptest::proptest! {
        /// Whatever filter variables a dashboard has, every query of every metric passes
        /// the PromQL checks with exactly those variables.
        #[test]
        fn queries_pass_the_promql_checks_for_any_filters(
            metric_idx in 0..<MetricId as MetricCatalog>::ALL.len(),
            filters in proptest::sample::subsequence(vec!["source_id", "error_type", "metric", "reason"], 0..=4),
        ) {
            let metric = <MetricId as MetricCatalog>::ALL[metric_idx];
            let variables: Vec<String> = ["job", "instance"]
                .iter()
                .chain(&filters)
                .map(|v| v.to_string())
                .collect();
            for panel in panels(metric, &filters) {
                // Custom catalog queries are written for the catalog's own filters.
                if metric.def().dashboard.queries.iter().any(|q| q.title == panel.title) {
                    continue;
                }
                for query in &panel.queries {
                    let analysis = crate::promql::analyze::<MetricId>(
                        &query.expr,
                        crate::promql::Rules {
                            variables: &variables,
                            require_variable_matchers: true,
                            allow_raw_counters: false,
                        },
                    );
                    proptest::prop_assert!(analysis.findings.is_empty(), "{}: {:?}", query.expr, analysis.findings);
                    proptest::prop_assert!(analysis.metrics.contains(&metric));
                }
            }
        }
    }
}
