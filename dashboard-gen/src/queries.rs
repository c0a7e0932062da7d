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
//! A metric renamed away gets no panel; its new metric's queries fall back to the old
//! name per series (`signals::rated`, `signals::current`).
//!
//! Every selector carries `job=~"$job"`, `instance=~"$instance"` and `label=~"$label"` for
//! each filter variable whose label the metric has.

use catalog::{
    AlertDef, Comparison, LabelKey, LabelValues, MetricCatalog, MetricKind, PanelHint, Signal,
    SloDef, Unit,
};
use signals::BurnWindows;

use crate::layout::Size;

/// Quantiles of the histogram latency panel.
const QUANTILES: &[(f64, &str)] = &[(0.5, "p50"), (0.95, "p95"), (0.99, "p99")];

/// The rate window of every dashboard query.
const RATE_INTERVAL: &str = "$__rate_interval";

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
    /// Grafana's list of firing alerts (no queries).
    AlertList,
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
#[derive(Clone, Debug, PartialEq)]
pub struct PanelSpec {
    /// What the panel shows, e.g. `sms_gateway_queue_depth:current`: the source of its
    /// stable id (see `crate::ids`).
    pub key: String,
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
    /// The alert threshold drawn as a line, on panels plotting an alert's signal.
    pub threshold: Option<Threshold>,
    /// Link keys ([`signals::link_key`]) of the alerts whose signal this panel plots.
    pub alerts: Vec<String>,
    /// A data link on every value: (title, uid of the dashboard it opens).
    pub drill_down: Option<(String, String)>,
}

/// A metric's name in a few words: without the catalog prefix, the subsystem, `_total`
/// and the unit suffix, first letter upper-cased (`sms_gateway_queue_depth` -> `Queue
/// depth`).
pub fn short_name<C: MetricCatalog>(metric: C) -> String {
    let def = metric.def();
    let mut name = def.name.strip_prefix(C::PREFIX).unwrap_or(def.name);
    name = name
        .strip_prefix(def.subsystem.name)
        .and_then(|n| n.strip_prefix('_'))
        .unwrap_or(name);
    name = name.strip_suffix("_total").unwrap_or(name);
    if let Some(unit) = def.unit.suffix() {
        name = name
            .strip_suffix(unit)
            .and_then(|n| n.strip_suffix('_'))
            .unwrap_or(name);
    }
    let words = name.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => words,
    }
}

/// A threshold drawn on a panel: red beyond `value` on the `comparison` side.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Threshold {
    /// The alert's threshold.
    pub value: f64,
    /// Which side fires.
    pub comparison: Comparison,
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

/// The panels showing `metric`, in display order. None for a metric renamed away: the
/// new metric's panels read it as their fallback (see `signals`).
pub fn panels<C: MetricCatalog>(metric: C, filters: &[&str]) -> Vec<PanelSpec> {
    let def = metric.def();
    if def.renamed_to().is_some() {
        return Vec::new();
    }
    let short = short_name(metric);
    let mut panels = Vec::new();
    match def.kind {
        MetricKind::Counter => {
            let (by, legend) = grouping::<C>(metric);
            let select = |m: C, suffix: &str| selector(m, suffix, filters);
            let split: Vec<&str> = by.split(", ").collect();
            let rate = signals::rate(metric, &split, RATE_INTERVAL, &select);
            let visual = match def.dashboard.panel {
                PanelHint::Stat => Visual::Stat,
                PanelHint::Auto | PanelHint::TimeSeries => Visual::Timeseries,
            };
            panels.push(PanelSpec {
                key: format!("{}:rate", def.name),
                visual,
                title: format!("{short} (per second)"),
                description: format!(
                    "{} Per-second rate of `{}` over $__rate_interval, by {by}.",
                    def.exposed_help(),
                    def.name
                ),
                unit: rate_unit(def.unit),
                queries: vec![Query { expr: rate, legend }],
                size: if visual == Visual::Stat { STAT } else { WIDE },
                threshold: None,
                alerts: Vec::new(),
                drill_down: None,
            });
            if let (Some(success), Some(ratio)) = (
                def.success_twin,
                signals::error_ratio(metric, catalog::TARGET_LABELS, RATE_INTERVAL, &select),
            ) {
                panels.push(PanelSpec {
                    key: format!("{}:error_ratio", def.name),
                    visual: Visual::Timeseries,
                    title: format!("{short} (error ratio)"),
                    description: format!(
                        "{} Share of failed operations per job: `{}` / (`{}` + `{}`).",
                        def.exposed_help(),
                        def.name,
                        def.name,
                        success.def().name
                    ),
                    unit: "percentunit",
                    queries: vec![Query {
                        expr: ratio,
                        legend: "{{job}}".to_string(),
                    }],
                    size: WIDE,
                    threshold: None,
                    alerts: Vec::new(),
                    drill_down: None,
                });
            }
        }
        MetricKind::Histogram { .. } => {
            let select = |m: C, suffix: &str| selector(m, suffix, filters);
            let buckets = format!(
                "sum by (le) ({})",
                signals::rated(metric, "_bucket", RATE_INTERVAL, &select)
            );
            panels.push(PanelSpec {
                key: format!("{}:quantiles", def.name),
                visual: Visual::Timeseries,
                title: format!("{short} (p50 / p95 / p99)"),
                description: format!(
                    "{} Quantiles estimated from the buckets of `{}`.",
                    def.exposed_help(),
                    def.name
                ),
                unit: value_unit(def.unit),
                queries: QUANTILES
                    .iter()
                    .map(|(quantile, legend)| Query {
                        expr: signals::quantile(metric, *quantile, &[], RATE_INTERVAL, &select),
                        legend: (*legend).to_string(),
                    })
                    .collect(),
                size: WIDE,
                threshold: None,
                alerts: Vec::new(),
                drill_down: None,
            });
            panels.push(PanelSpec {
                key: format!("{}:heatmap", def.name),
                visual: Visual::Heatmap,
                title: format!("{short} (heatmap)"),
                description: format!(
                    "{} Observations per second in each bucket of `{}`.",
                    def.exposed_help(),
                    def.name
                ),
                unit: value_unit(def.unit),
                queries: vec![Query {
                    expr: buckets,
                    legend: "{{le}}".to_string(),
                }],
                size: WIDE,
                threshold: None,
                alerts: Vec::new(),
                drill_down: None,
            });
        }
        MetricKind::Gauge => {
            let (by, legend) = grouping::<C>(metric);
            let select = |m: C, suffix: &str| selector(m, suffix, filters);
            let selector = signals::current(metric, &select);
            let stat = def.dashboard.panel != PanelHint::TimeSeries;
            let series = def.dashboard.panel != PanelHint::Stat;
            if stat {
                panels.push(PanelSpec {
                    key: format!("{}:current", def.name),
                    visual: Visual::Stat,
                    title: format!("{short} (current)"),
                    description: format!(
                        "{} Current value of `{}`, summed.",
                        def.exposed_help(),
                        def.name
                    ),
                    unit: value_unit(def.unit),
                    queries: vec![Query {
                        expr: format!("sum({selector})"),
                        legend: "total".to_string(),
                    }],
                    size: if series { STAT } else { WIDE },
                    threshold: None,
                    alerts: Vec::new(),
                    drill_down: None,
                });
            }
            if series {
                panels.push(PanelSpec {
                    key: format!("{}:value", def.name),
                    visual: Visual::Timeseries,
                    title: short.clone(),
                    description: format!("{} `{}` by {by}.", def.exposed_help(), def.name),
                    unit: value_unit(def.unit),
                    queries: vec![Query {
                        expr: format!("sum by ({by}) ({selector})"),
                        legend,
                    }],
                    size: if stat { BESIDE_STAT } else { WIDE },
                    threshold: None,
                    alerts: Vec::new(),
                    drill_down: None,
                });
            }
        }
    }
    for custom in def.dashboard.queries {
        panels.push(PanelSpec {
            key: format!("{}:custom:{}", def.name, custom.title),
            visual: Visual::Timeseries,
            title: custom.title.to_string(),
            description: format!("{} Custom query of `{}`.", def.exposed_help(), def.name),
            unit: value_unit(custom.unit),
            queries: vec![Query {
                expr: custom.expr.to_string(),
                legend: custom.legend.to_string(),
            }],
            size: WIDE,
            threshold: None,
            alerts: Vec::new(),
            drill_down: None,
        });
    }
    if let Some(feature) = def.feature {
        for panel in &mut panels {
            panel.description.push_str(&format!(
                " Depends on feature `{feature}`: no data from instances where it is off."
            ));
        }
    }
    if let Some(old) = catalog::renamed_from(metric) {
        for panel in &mut panels {
            panel.description.push_str(&format!(
                " Reads `{}` too, its name before the rename, per series: instances still on \
                 the previous release count, those exposing both names count once.",
                old.def().name
            ));
        }
    }
    panels
}

/// The panels plotting `metric`'s alert signals: for each alert but absence ones, the
/// series its recording rule records (the one the alert compares), by job and the
/// alert's `by` labels, with the threshold drawn.
pub fn alert_panels<C: MetricCatalog>(metric: C, filters: &[&str]) -> Vec<PanelSpec> {
    metric
        .def()
        .alerts
        .iter()
        .filter_map(|alert| alert_panel(metric, alert, filters))
        .collect()
}

fn alert_panel<C: MetricCatalog>(
    metric: C,
    alert: &AlertDef<C>,
    filters: &[&str],
) -> Option<PanelSpec> {
    let def = metric.def();
    let record = signals::alert_record(metric, alert)?;
    let kept = signals::kept_labels::<C>(alert.by);
    let unit = match alert.signal {
        Signal::Rate { .. } => rate_unit(def.unit),
        Signal::ErrorRatio { .. } | Signal::Ratio { .. } => "percentunit",
        Signal::Quantile { .. } | Signal::Value | Signal::Absent => value_unit(def.unit),
    };
    let side = match alert.comparison {
        Comparison::Above => "above",
        Comparison::Below => "below",
    };
    let key = signals::link_key(alert.name, None);
    Some(PanelSpec {
        key: format!("alert:{key}"),
        visual: Visual::Timeseries,
        title: alert.name.to_string(),
        description: format!(
            "{} Plots `{}`, the series alert {} compares, by {}; it fires {side} the red line ({}){}.",
            alert.summary,
            record.name,
            alert.name,
            kept.join(", "),
            alert.threshold,
            if alert.for_duration.is_zero() {
                String::new()
            } else {
                format!(" held for {}", signals::format_duration(alert.for_duration))
            }
        ),
        unit,
        queries: vec![Query {
            expr: recorded_selector(&record.name, &kept, filters),
            legend: legend(&kept),
        }],
        size: WIDE,
        threshold: Some(Threshold {
            value: alert.threshold,
            comparison: alert.comparison,
        }),
        alerts: vec![key],
        drill_down: None,
    })
}

/// The panel of one window pair of `slo`'s burn alert: both windows' error ratios, the
/// series the rule compares, with the threshold both must exceed.
pub fn burn_panel<C: MetricCatalog>(
    slo: &SloDef<C>,
    burn: &BurnWindows,
    filters: &[&str],
) -> PanelSpec {
    let name = slo.burn_alert_name();
    let key = signals::link_key(&name, Some(burn));
    let kept = signals::kept_labels::<C>(&[]);
    let (long, short) = (
        signals::format_duration(burn.long),
        signals::format_duration(burn.short),
    );
    // Rounded to 12 significant digits: `14.4 * (1 - 0.99)` is 0.14400000000000013, which
    // JSON parsers need not read back exactly; the line sits where the rule compares.
    let threshold = round_significant(burn.threshold(slo), 12);
    let records = [
        signals::slo_error_ratio(slo, burn.long),
        signals::slo_error_ratio(slo, burn.short),
    ];
    PanelSpec {
        key: format!("alert:{key}"),
        visual: Visual::Timeseries,
        title: format!("{} burn {long}/{short}", slo_label(slo)),
        description: format!(
            "SLO {}: {}. Error ratio over {long} and over {short} (`{}`, `{}`), the series alert              {name} compares; it fires ({}) when both are above the red line, {} times the              error budget.",
            slo.name,
            slo.title,
            records[0].name,
            records[1].name,
            burn.severity.as_str(),
            burn.factor
        ),
        unit: "percentunit",
        queries: records
            .iter()
            .zip([&long, &short])
            .map(|(record, window)| Query {
                expr: recorded_selector(&record.name, &kept, filters),
                legend: format!("{} {window}", legend(&kept)),
            })
            .collect(),
        size: WIDE,
        threshold: Some(Threshold {
            value: threshold,
            comparison: Comparison::Above,
        }),
        alerts: vec![key],
        drill_down: None,
    }
}

/// `99.9% availability` or `99% latency`: an SLO in a few words, for titles.
pub fn slo_label<C: MetricCatalog>(slo: &SloDef<C>) -> String {
    let kind = match slo.indicator {
        catalog::Indicator::Availability { .. } => "availability",
        catalog::Indicator::Latency { .. } => "latency",
    };
    let percent = format!("{:.4}", slo.objective * 100.0);
    let percent = percent.trim_end_matches('0').trim_end_matches('.');
    format!("{percent}% {kind}")
}

/// `value` rounded to `digits` significant digits.
pub(crate) fn round_significant(value: f64, digits: i32) -> f64 {
    if value == 0.0 || !value.is_finite() {
        return value;
    }
    let scale = 10f64.powi(digits - 1 - value.abs().log10().floor() as i32);
    (value * scale).round() / scale
}

/// `record{job=~"$job", ...}`: a recorded series filtered by the dashboard variables
/// whose labels it keeps (recorded series have no `instance`).
fn recorded_selector(record: &str, kept: &[&str], filters: &[&str]) -> String {
    let matchers: Vec<String> = kept
        .iter()
        .filter(|label| **label == "job" || filters.contains(label))
        .map(|label| format!("{label}=~\"${label}\""))
        .collect();
    format!("{record}{{{}}}", matchers.join(", "))
}

/// `{{a}} {{b}}`.
fn legend(labels: &[&str]) -> String {
    labels
        .iter()
        .map(|l| format!("{{{{{l}}}}}"))
        .collect::<Vec<_>>()
        .join(" ")
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
    fn burn_thresholds_lose_only_float_noise() {
        assert_eq!(round_significant(14.4 * (1.0 - 0.99), 12), 0.144);
        assert_eq!(round_significant(6.0 * (1.0 - 0.999), 12), 0.006);
        assert_eq!(round_significant(0.0, 12), 0.0);
    }

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
        let without = selector(
            sms_storage::StorageMetricId::GatewayCasObjectsWritten,
            "",
            &["source_id"],
        );
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
        assert_eq!(
            visuals(MetricId::GatewayEnvelopesDeduplicated),
            [Timeseries, Timeseries]
        );
        let rotations = sms_storage::StorageMetricId::IngestLogRotations;
        let rotations: Vec<Visual> = panels(rotations, &[]).iter().map(|p| p.visual).collect();
        assert_eq!(rotations, [Stat]);
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
