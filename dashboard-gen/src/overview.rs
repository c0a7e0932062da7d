//! The service overview's panels (pure): the alerts firing now, the golden signals per
//! subsystem and the status of every SLO, each built with the shared signal builders.
//!
//! Golden signals are derived from the catalog, per subsystem: throughput is the rate
//! of every counter that is some error counter's success twin, errors the error ratio
//! of every error counter with a twin, latency the p99 of every histogram, saturation
//! the maximum of every gauge; all per job. A subsystem with none of them (the
//! recorder's self-metrics) has no golden-signal line. Every golden-signal panel links
//! (data link, time range and variables carried) to its subsystem's dashboard.

use catalog::{Comparison, MetricCatalog, MetricKind, SloDef, Subsystem};

use crate::layout::Size;
use crate::queries::{
    PanelSpec, Query, Threshold, Visual, rate_unit, round_significant, selector, short_name,
    slo_label, value_unit,
};

const RATE_INTERVAL: &str = "$__rate_interval";
const QUARTER: Size = Size { w: 6, h: 7 };
const STAT: Size = Size { w: 4, h: 4 };

/// The alert list: every alert of the Prometheus data source, firing or pending.
pub fn alert_list<C: MetricCatalog>() -> PanelSpec {
    PanelSpec {
        key: "alertlist".to_string(),
        visual: Visual::AlertList,
        title: "Alerts firing now".to_string(),
        description: format!(
            "Alerts of the generated Prometheus rules that fire or are pending now, most \
             important first. Each links to its runbook and to the panel plotting its signal. \
             Catalog: {}.",
            C::PREFIX.trim_end_matches('_')
        ),
        unit: "short",
        queries: Vec::new(),
        size: Size { w: 24, h: 8 },
        threshold: None,
        alerts: Vec::new(),
        drill_down: None,
    }
}

/// The golden-signal panels of `subsystem` (throughput, errors, latency, saturation,
/// those it has), each linking to `dashboard_uid`.
pub fn golden_signals<C: MetricCatalog>(
    subsystem: &Subsystem,
    dashboard_uid: &str,
    filters: &[&str],
) -> Vec<PanelSpec> {
    let select = |m: C, suffix: &str| selector(m, suffix, filters);
    let by = catalog::TARGET_LABELS;
    let metrics: Vec<C> = C::ALL
        .iter()
        .copied()
        .filter(|m| m.def().subsystem == subsystem && m.def().renamed_to().is_none())
        .collect();
    let twins: Vec<C> = C::ALL.iter().filter_map(|m| m.def().success_twin).collect();
    let query = |metric: C, expr: String| Query {
        expr,
        legend: format!("{{{{job}}}} {}", short_name(metric).to_lowercase()),
    };
    let mut kinds: Vec<(&str, &str, &'static str, Vec<Query>)> = Vec::new();
    let throughput: Vec<Query> = metrics
        .iter()
        .filter(|m| twins.contains(m))
        .map(|&m| query(m, signals::rate(m, by, RATE_INTERVAL, &select)))
        .collect();
    let unit = metrics
        .iter()
        .find(|m| twins.contains(m))
        .map_or("cps", |m| rate_unit(m.def().unit));
    kinds.push(("throughput", "Operations per second", unit, throughput));
    let errors: Vec<Query> = metrics
        .iter()
        .filter_map(|&m| {
            Some(query(
                m,
                signals::error_ratio(m, by, RATE_INTERVAL, &select)?,
            ))
        })
        .collect();
    kinds.push((
        "errors",
        "Share of operations that failed",
        "percentunit",
        errors,
    ));
    let histograms: Vec<C> = metrics
        .iter()
        .copied()
        .filter(|m| matches!(m.def().kind, MetricKind::Histogram { .. }))
        .collect();
    let latency: Vec<Query> = histograms
        .iter()
        .map(|&m| query(m, signals::quantile(m, 0.99, by, RATE_INTERVAL, &select)))
        .collect();
    let unit = histograms.first().map_or("s", |m| value_unit(m.def().unit));
    kinds.push(("latency p99", "99th percentile latency", unit, latency));
    let gauges: Vec<C> = metrics
        .iter()
        .copied()
        .filter(|m| m.def().kind == MetricKind::Gauge)
        .collect();
    let saturation: Vec<Query> = gauges
        .iter()
        .map(|&m| query(m, signals::saturation(m, by, &select)))
        .collect();
    let unit = gauges.first().map_or("short", |m| value_unit(m.def().unit));
    kinds.push((
        "saturation",
        "Highest value of the work waiting or held",
        unit,
        saturation,
    ));

    kinds
        .into_iter()
        .filter(|(_, _, _, queries)| !queries.is_empty())
        .map(|(kind, what, unit, queries)| {
            let names: Vec<String> = metrics
                .iter()
                .filter(|m| queries.iter().any(|q| q.expr.contains(m.def().name)))
                .map(|m| {
                    format!(
                        "`{}` ({})",
                        m.def().name,
                        m.def().help.trim_end_matches('.')
                    )
                })
                .collect();
            PanelSpec {
                key: format!("golden:{}:{}", subsystem.name, kind.replace(' ', "_")),
                visual: Visual::Timeseries,
                title: format!("{}: {kind}", subsystem.title),
                description: format!(
                    "{}. {what}, per job, from {}. Click a series for the {} dashboard.",
                    subsystem.description.trim_end_matches('.'),
                    names.join(", "),
                    subsystem.title
                ),
                unit,
                queries,
                size: QUARTER,
                threshold: None,
                alerts: Vec::new(),
                drill_down: Some((
                    format!("{} dashboard", subsystem.title),
                    dashboard_uid.to_string(),
                )),
            }
        })
        .collect()
}

/// The status of `slo`: error budget left over its period and the current (1h) burn
/// rate, two instant stats without sparkline; both link to `dashboard_uid`.
pub fn slo_status<C: MetricCatalog>(
    slo: &SloDef<C>,
    dashboard_uid: &str,
    filters: &[&str],
) -> Vec<PanelSpec> {
    let budget = round_significant(1.0 - slo.objective, 12);
    let kept = signals::kept_labels::<C>(&[]);
    let recorded = |window| {
        let record = signals::slo_error_ratio(slo, window);
        let matchers: Vec<String> = kept
            .iter()
            .filter(|l| **l == "job" || filters.contains(l))
            .map(|l| format!("{l}=~\"${l}\""))
            .collect();
        (
            record.name.clone(),
            format!("{}{{{}}}", record.name, matchers.join(", ")),
        )
    };
    let period = signals::format_duration(slo.period);
    let (period_record, over_period) = recorded(slo.period);
    let (hour_record, over_hour) = recorded(std::time::Duration::from_secs(3600));
    let label = slo_label(slo);
    let subsystem = slo.indicator.metric().def().subsystem;
    // Short enough for a title with the subsystem: `Ingest log 99.9% avail`.
    let short = format!(
        "{} {}",
        subsystem.title,
        label.replace("availability", "avail")
    );
    let drill = Some((
        format!("{} dashboard", subsystem.title),
        dashboard_uid.to_string(),
    ));
    vec![
        PanelSpec {
            key: format!("slo:{}:budget", slo.name),
            visual: Visual::Stat,
            title: format!("{short}: budget left"),
            description: format!(
                "SLO {}: {} (objective {label} over {period}). Share of the {period} error \
                 budget ({budget} of events may fail) not spent yet: 1 - `{period_record}` / \
                 {budget}. Below 0 the objective is missed.",
                slo.name, slo.title
            ),
            unit: "percentunit",
            queries: vec![Query {
                expr: format!("1 - {over_period} / {budget}"),
                legend: "{{job}}".to_string(),
            }],
            size: STAT,
            threshold: Some(Threshold {
                value: 0.0,
                comparison: Comparison::Below,
            }),
            alerts: Vec::new(),
            drill_down: drill.clone(),
        },
        PanelSpec {
            key: format!("slo:{}:burn", slo.name),
            visual: Visual::Stat,
            title: format!("{short}: burn rate 1h"),
            description: format!(
                "SLO {}: {}. How many times faster than sustainable the error budget burned \
                 over the last hour: `{hour_record}` / {budget}. Above 1 the budget runs out \
                 before the {period} period ends; the page fires above 14.4.",
                slo.name, slo.title
            ),
            unit: "short",
            queries: vec![Query {
                expr: format!("{over_hour} / {budget}"),
                legend: "{{job}}".to_string(),
            }],
            size: STAT,
            threshold: Some(Threshold {
                value: 1.0,
                comparison: Comparison::Above,
            }),
            alerts: Vec::new(),
            drill_down: drill,
        },
    ]
}
