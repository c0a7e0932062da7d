//! Grafana dashboards generated from a metric catalog, checked, rendered and pushed.
//!
//! [`generate`] turns any [`MetricCatalog`] into dashboards: one overview per catalog
//! with a row per subsystem (in `SUBSYSTEMS` order) and the panels of each metric (in
//! `ALL` order), chosen by metric kind and the catalog's dashboard hints. Every PromQL
//! expression, custom catalog queries included, is parsed with `promql-parser` and
//! checked against the catalog, and every dashboard passes the built-in [`lint`]
//! (grafana/dashboard-linter's rules); otherwise generation fails naming the metric,
//! panel and problem. Output is deterministic: [`render`] gives the same bytes for the
//! same catalog.
//!
//! Main items:
//! - [`model`]: the Grafana JSON model (classic, `schemaVersion` 39) as serde structs;
//! - [`generate`], [`build`] (also which panel plots each alert's signal: the link
//!   alerts carry), [`render`], [`file_name`];
//! - [`grafana`]: the HTTP client that pushes dashboards (the only module doing I/O);
//! - [`Provisioning`], [`datasource_yaml`], [`dashboard_provider_yaml`]: Grafana
//!   file-provisioning for self-hosted users.
//!
//! ```
//! use catalog::MetricId;
//!
//! let dashboards = dashboard_gen::generate::<MetricId>().unwrap();
//! let overview = &dashboards[0];
//! assert_eq!(overview.uid, "sms-overview");
//! assert!(dashboard_gen::lint::<MetricId>(overview).is_empty());
//!
//! // The panel plotting the series alert SmsSourceFailing compares.
//! let generated = dashboard_gen::build::<MetricId>().unwrap();
//! let panel = &generated.alert_panels["SmsSourceFailing"];
//! assert_eq!(panel.dashboard_uid, "sms-sources");
//!
//! let json = dashboard_gen::render(overview);
//! assert!(json.ends_with("}\n"));
//! ```

mod error;
pub mod grafana;
mod ids;
mod layout;
mod lint;
pub mod model;
mod overview;
mod promql;
mod queries;
mod render;

use std::collections::BTreeMap;

use catalog::{MetricCatalog, Signal, Subsystem};

pub use error::{Error, QueryProblem};
pub use ids::{Collision, MAX_PANEL_ID, panel_id};
pub use lint::{Finding, lint};
pub use render::{Provisioning, dashboard_provider_yaml, datasource_yaml, file_name, render};

use crate::layout::{flow, row};
use crate::model::{
    AlertStateFilter, AlertlistOptions, Annotations, Dashboard, DashboardLink, DataLink,
    DatasourceRef, FieldConfig, FieldCustom, FieldDefaults, HeatmapColor, HeatmapOptions,
    HeatmapTooltip, HeatmapYAxis, Legend, Panel, PanelOptions, PanelType, ReduceOptions,
    SCHEMA_VERSION, StatOptions, Target, TargetFormat, Templating, ThresholdStep, Thresholds,
    ThresholdsStyle, TimeRange, TimeseriesOptions, Tooltip, Variable, VariableType,
};
use crate::promql::{Rules, analyze};
use crate::queries::{PanelSpec, Threshold, Visual};
use catalog::Comparison;

/// Where a catalog metric is shown: enough to link an alert to its panel (Grafana's
/// `__dashboardUid__` and `__panelId__` annotations).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PanelRef {
    /// Uid of the dashboard.
    pub dashboard_uid: String,
    /// Id of the panel within it.
    pub panel_id: u32,
    /// Title of the panel.
    pub panel_title: String,
}

/// A Grafana folder for generated dashboards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Folder {
    /// Folder uid, e.g. `sms-generated`.
    pub uid: String,
    /// Folder title, e.g. `SMS (generated)`.
    pub title: String,
}

/// The folder generated dashboards go to unless told otherwise (push and provisioning).
pub fn default_folder<C: MetricCatalog>() -> Folder {
    Folder {
        uid: format!("{}-generated", slug::<C>()),
        title: format!("{} (generated)", short_name::<C>()),
    }
}

/// Generated dashboards and what their generation noticed.
#[derive(Clone, Debug, PartialEq)]
pub struct Generated {
    /// The dashboards, in display order.
    pub dashboards: Vec<Dashboard>,
    /// Panel id collisions, resolved deterministically but unstable (see [`Collision`]).
    pub collisions: Vec<Collision>,
    /// The panel each alerting rule links to, by [`signals::link_key`]: the panel that
    /// plots the series the alert compares, or for an absence alert its metric's main
    /// panel. Recorded while generating, from the model (not found in the PromQL).
    pub alert_panels: BTreeMap<String, PanelRef>,
    /// The main panel of each catalog metric (rate, quantiles or current value), by
    /// metric name.
    pub metric_panels: BTreeMap<String, PanelRef>,
}

/// Generates the dashboards of catalog `C`: the service overview (uid
/// `<prefix>-overview`: alerts firing now, golden signals per subsystem, SLO status),
/// then one dashboard per subsystem (uid `<prefix>-<subsystem>`: the panels plotting
/// its alerts' signals, then its metrics' panels). All link to each other.
///
/// Fails when the catalog is invalid, when a query (custom ones included) does not pass
/// the PromQL checks, naming the metric, panel and problem, or when a dashboard has any
/// lint finding. Panel ids derive from what each panel shows (see [`panel_id`]).
pub fn generate<C: MetricCatalog>() -> Result<Vec<Dashboard>, Error> {
    build::<C>().map(|generated| generated.dashboards)
}

/// A dashboard before assembly: rows of panel specs.
struct DashboardSpec {
    uid: String,
    title: String,
    description: String,
    /// (row key, row title, panels).
    rows: Vec<(String, String, Vec<PanelSpec>)>,
}

/// [`generate`], also returning the panel id collisions resolved on the way and which
/// panel shows each alert's signal and each metric.
pub fn build<C: MetricCatalog>() -> Result<Generated, Error> {
    catalog::validate::<C>().map_err(Error::Catalog)?;
    let filters = queries::filter_labels::<C>();
    let variables = variable_names(&filters);

    let mut problems = Vec::new();
    // Every query passes the PromQL checks and, on a metric's own panels, selects that
    // metric (or a series recorded from it).
    let mut check = |metric: Option<C>, spec: &PanelSpec| {
        for query in &spec.queries {
            let rules = Rules {
                variables: &variables,
                require_variable_matchers: true,
                allow_raw_counters: false,
            };
            let analysis = analyze::<C>(&query.expr, rules);
            let mut findings = analysis.findings;
            if let Some(metric) =
                metric.filter(|m| findings.is_empty() && !analysis.metrics.contains(m))
            {
                findings.push(promql::QueryFinding {
                    rule: "target-metric",
                    message: format!("does not select `{}`, whose panel it is", metric.def().name),
                });
            }
            let name =
                metric.map_or_else(|| "(overview)".to_string(), |m| m.def().name.to_string());
            for finding in findings {
                problems.push(QueryProblem {
                    metric: name.clone(),
                    panel: spec.title.clone(),
                    expr: query.expr.clone(),
                    rule: finding.rule,
                    message: finding.message,
                });
            }
        }
    };
    let name = short_name::<C>();
    // Metric name -> key of its main panel; absence alerts link there.
    let mut main_keys: BTreeMap<String, String> = BTreeMap::new();
    let mut absent_links: Vec<(String, String)> = Vec::new();
    let mut specs: Vec<DashboardSpec> = Vec::new();
    let mut golden = Vec::new();
    let mut slo_status = Vec::new();
    for subsystem in C::SUBSYSTEMS {
        let uid = subsystem_uid::<C>(subsystem);
        let mut signal_panels = Vec::new();
        let mut metric_panels = Vec::new();
        for &metric in C::ALL.iter().filter(|m| m.def().subsystem == subsystem) {
            let def = metric.def();
            let panels = queries::panels(metric, &filters);
            if let Some(main) = panels.first() {
                main_keys.insert(def.name.to_string(), main.key.clone());
            }
            for alert in def.alerts.iter().filter(|a| a.signal == Signal::Absent) {
                absent_links.push((signals::link_key(alert.name, None), def.name.to_string()));
            }
            for spec in queries::alert_panels(metric, &filters) {
                check(Some(metric), &spec);
                signal_panels.push(spec);
            }
            for spec in panels {
                check(Some(metric), &spec);
                metric_panels.push(spec);
            }
        }
        for slo in C::SLOS
            .iter()
            .filter(|slo| slo.indicator.metric().def().subsystem == subsystem)
        {
            for burn in &signals::BURN_WINDOWS {
                let spec = queries::burn_panel(slo, burn, &filters);
                check(Some(slo.indicator.metric()), &spec);
                signal_panels.push(spec);
            }
            for spec in overview::slo_status(slo, &uid, &filters) {
                check(Some(slo.indicator.metric()), &spec);
                slo_status.push(spec);
            }
        }
        for spec in overview::golden_signals::<C>(subsystem, &uid, &filters) {
            check(None, &spec);
            golden.push(spec);
        }
        let mut rows = Vec::new();
        if !signal_panels.is_empty() {
            rows.push((
                format!("row:{}:alerts", subsystem.name),
                "What the alerts compare".to_string(),
                signal_panels,
            ));
        }
        if !metric_panels.is_empty() {
            rows.push((
                format!("row:{}", subsystem.name),
                "Metrics".to_string(),
                metric_panels,
            ));
        }
        if !rows.is_empty() {
            specs.push(DashboardSpec {
                uid,
                title: format!("{name} {}", subsystem.title.to_lowercase()),
                description: format!(
                    "{} Every alert's signal with its threshold, then every metric. Generated \
                     from {} by `cargo xtask dashboards`: change the catalog, not this \
                     dashboard.",
                    subsystem.description,
                    origin::<C>()
                ),
                rows,
            });
        }
    }
    // A metric renamed away is shown by its new metric's panels (they fall back to it).
    for old in C::ALL {
        if let Some(key) = old
            .def()
            .renamed_to()
            .and_then(|new| main_keys.get(new.def().name).cloned())
        {
            main_keys.insert(old.def().name.to_string(), key);
        }
    }
    if !problems.is_empty() {
        return Err(Error::Queries(problems));
    }
    let mut overview_rows = vec![(
        "row:alerts".to_string(),
        "Alerts".to_string(),
        vec![overview::alert_list::<C>()],
    )];
    if !golden.is_empty() {
        overview_rows.push((
            "row:golden".to_string(),
            "Golden signals".to_string(),
            golden,
        ));
    }
    if !slo_status.is_empty() {
        overview_rows.push((
            "row:slos".to_string(),
            "Service-level objectives".to_string(),
            slo_status,
        ));
    }
    specs.insert(
        0,
        DashboardSpec {
            uid: format!("{}-overview", C::NAME.replace('_', "-")),
            title: format!("{} overview", catalog_title::<C>()),
            description: format!(
                "The {} at a glance: alerts firing now, golden signals per subsystem, SLO \
                 status; each panel opens its subsystem's dashboard. Generated from {} by \
                 `cargo xtask dashboards`.",
                catalog_title::<C>(),
                origin::<C>()
            ),
            rows: overview_rows,
        },
    );

    let mut dashboards = Vec::new();
    let mut collisions = Vec::new();
    let mut by_key: BTreeMap<String, PanelRef> = BTreeMap::new();
    let mut alert_panels = BTreeMap::new();
    for spec in &specs {
        let (dashboard, found, ids) = assemble::<C>(spec, &filters);
        let findings = lint::<C>(&dashboard);
        if !findings.is_empty() {
            return Err(Error::Lint {
                uid: dashboard.uid,
                findings,
            });
        }
        for (_, _, panels) in &spec.rows {
            for panel in panels {
                let reference = PanelRef {
                    dashboard_uid: dashboard.uid.clone(),
                    panel_id: ids[&panel.key],
                    panel_title: panel.title.clone(),
                };
                for key in &panel.alerts {
                    alert_panels.insert(key.clone(), reference.clone());
                }
                by_key.entry(panel.key.clone()).or_insert(reference);
            }
        }
        collisions.extend(found);
        dashboards.push(dashboard);
    }
    let metric_panels: BTreeMap<String, PanelRef> = main_keys
        .iter()
        .filter_map(|(metric, key)| Some((metric.clone(), by_key.get(key)?.clone())))
        .collect();
    for (key, metric) in absent_links {
        if let Some(panel) = metric_panels.get(&metric) {
            alert_panels.insert(key, panel.clone());
        }
    }
    Ok(Generated {
        dashboards,
        collisions,
        alert_panels,
        metric_panels,
    })
}

/// `sms-ingest-log` for subsystem `ingest_log`.
fn subsystem_uid<C: MetricCatalog>(subsystem: &Subsystem) -> String {
    format!("{}-{}", slug::<C>(), subsystem.name.replace('_', "-"))
}

/// `sms` for prefix `sms_`: the catalog's name in uids.
fn slug<C: MetricCatalog>() -> String {
    C::PREFIX
        .trim_end_matches('_')
        .to_ascii_lowercase()
        .replace('_', "-")
}

/// `metric catalog `storage` (crate `sms-storage`)`: where a dashboard comes from.
fn origin<C: MetricCatalog>() -> String {
    format!("metric catalog `{}` (crate `{}`)", C::NAME, C::CRATE)
}

/// `SMS` for catalog `sms`, `SMS storage` for catalog `storage` of prefix `sms_`.
fn catalog_title<C: MetricCatalog>() -> String {
    let name = short_name::<C>();
    if C::NAME == slug::<C>() {
        name
    } else {
        format!("{name} {}", C::NAME.replace('_', " "))
    }
}

/// `SMS` for prefix `sms_`: the catalog's name in titles.
fn short_name<C: MetricCatalog>() -> String {
    C::PREFIX
        .trim_end_matches('_')
        .to_ascii_uppercase()
        .replace('_', " ")
}

/// Names of the regex variables: `job`, `instance`, then the filter labels.
fn variable_names(filters: &[&str]) -> Vec<String> {
    ["job", "instance"]
        .iter()
        .chain(filters)
        .map(|v| v.to_string())
        .collect()
}

/// Lays out `spec` (rows full width, panels flowing below each), with ids from the
/// panels' keys; returns the dashboard, the id collisions and the ids by key.
fn assemble<C: MetricCatalog>(
    spec: &DashboardSpec,
    filters: &[&str],
) -> (Dashboard, Vec<Collision>, BTreeMap<String, u32>) {
    let keys: Vec<&str> = spec
        .rows
        .iter()
        .flat_map(|(key, _, panels)| {
            std::iter::once(key.as_str()).chain(panels.iter().map(|p| p.key.as_str()))
        })
        .collect();
    let (ids, collisions) = ids::allocate(&spec.uid, keys);
    let mut panels = Vec::new();
    let mut top = 0;
    for (key, title, specs) in &spec.rows {
        panels.push(Panel {
            kind: PanelType::Row,
            id: ids[key],
            title: title.clone(),
            description: None,
            grid_pos: row(top),
            collapsed: Some(false),
            panels: Some(Vec::new()),
            datasource: None,
            targets: None,
            field_config: None,
            options: None,
        });
        let sizes: Vec<_> = specs.iter().map(|s| s.size).collect();
        let (positions, bottom) = flow(&sizes, top + 1);
        for (panel_spec, grid_pos) in specs.iter().zip(positions) {
            panels.push(panel(panel_spec, ids[&panel_spec.key], grid_pos));
        }
        top = bottom;
    }
    let slug = slug::<C>();
    let dashboard = Dashboard {
        id: None,
        uid: spec.uid.clone(),
        title: spec.title.clone(),
        description: spec.description.clone(),
        // The prefix's tag joins every dashboard of the service; the catalog's says
        // where this one comes from.
        tags: vec![
            "generated".to_string(),
            slug.clone(),
            format!("catalog:{}", C::NAME),
        ],
        timezone: "browser".to_string(),
        editable: false,
        graph_tooltip: 1,
        time: TimeRange {
            from: "now-1h".to_string(),
            to: "now".to_string(),
        },
        refresh: "30s".to_string(),
        schema_version: SCHEMA_VERSION,
        templating: Templating {
            list: variables::<C>(filters),
        },
        annotations: Annotations { list: Vec::new() },
        panels,
        // Every generated dashboard of the catalog carries its tag: one dropdown links
        // each to all the others, both ways, keeping time range and variables.
        links: vec![DashboardLink {
            title: format!("{} dashboards", short_name::<C>()),
            kind: "dashboards".to_string(),
            tags: vec![slug],
            as_dropdown: true,
            include_vars: true,
            keep_time: true,
            target_blank: false,
            icon: "external link".to_string(),
            tooltip: "Overview and subsystem dashboards".to_string(),
            url: String::new(),
        }],
    };
    (dashboard, collisions, ids)
}

/// The `datasource`, `job`, `instance` and filter variables.
fn variables<C: MetricCatalog>(filters: &[&str]) -> Vec<Variable> {
    let query_variable = |name: &str, label: &str, query: String| Variable {
        name: name.to_string(),
        label: label.to_string(),
        kind: VariableType::Query,
        datasource: Some(DatasourceRef::prometheus_variable()),
        definition: Some(query.clone()),
        query,
        multi: true,
        include_all: true,
        all_value: Some(".+".to_string()),
        refresh: 2,
        sort: 1,
        hide: 0,
        regex: String::new(),
    };
    // Variables list values of the catalog's first metric every instance exposes (for
    // `job` and `instance`: not deprecated, behind no feature) or of the first such
    // metric with the label (for filters).
    let always = |m: &C| m.def().deprecated.is_none() && m.def().feature.is_none();
    let first = C::ALL.iter().copied().find(always).unwrap_or(C::ALL[0]);
    let mut list = vec![
        Variable {
            name: model::DATASOURCE_VARIABLE.to_string(),
            label: "Data source".to_string(),
            kind: VariableType::Datasource,
            datasource: None,
            query: "prometheus".to_string(),
            definition: None,
            multi: false,
            include_all: false,
            all_value: None,
            refresh: 1,
            sort: 0,
            hide: 0,
            regex: String::new(),
        },
        query_variable(
            "job",
            "Job",
            format!("label_values({}, job)", series_for_values(first, "")),
        ),
        query_variable(
            "instance",
            "Instance",
            format!(
                "label_values({}, instance)",
                series_for_values(first, "{job=~\"$job\"}")
            ),
        ),
    ];
    for filter in filters {
        let has_filter = |m: &C| {
            m.def()
                .labels
                .iter()
                .any(|l| catalog::LabelKey::def(*l).name == *filter)
        };
        let metric = C::ALL
            .iter()
            .copied()
            .find(|m| always(m) && has_filter(m))
            .or_else(|| C::ALL.iter().copied().find(has_filter))
            .expect("filter labels come from the catalog's metrics");
        list.push(query_variable(
            filter,
            filter,
            format!(
                "label_values({}, {filter})",
                series_for_values(metric, "{job=~\"$job\", instance=~\"$instance\"}")
            ),
        ));
    }
    list
}

/// A selector of a series of `metric` that exists for every kind (`_count` of a histogram).
fn series_for_values<C: MetricCatalog>(metric: C, matchers: &str) -> String {
    let def = metric.def();
    let suffix = if def.buckets().is_some() {
        "_count"
    } else {
        ""
    };
    format!("{}{suffix}{matchers}", def.name)
}

/// Green on the good side of the alert threshold, red on the side that fires.
fn thresholds(threshold: Threshold) -> Thresholds {
    let step = |color: &str, value| ThresholdStep {
        color: color.to_string(),
        value,
    };
    let (below, above) = match threshold.comparison {
        Comparison::Above => ("green", "red"),
        Comparison::Below => ("red", "green"),
    };
    Thresholds {
        mode: "absolute".to_string(),
        steps: vec![step(below, None), step(above, Some(threshold.value))],
    }
}

/// The alert list panel: alerts of the provisioned Prometheus data source (its rules
/// are the generated ones), firing or pending, most important first.
fn alert_list_panel(spec: &PanelSpec, id: u32, grid_pos: model::GridPos) -> Panel {
    Panel {
        kind: PanelType::Alertlist,
        id,
        title: spec.title.clone(),
        description: Some(spec.description.clone()),
        grid_pos,
        collapsed: None,
        panels: None,
        datasource: None,
        targets: None,
        field_config: None,
        options: Some(PanelOptions::Alertlist(AlertlistOptions {
            view_mode: "list".to_string(),
            group_mode: "default".to_string(),
            group_by: Vec::new(),
            max_items: 20,
            sort_order: 3,
            dashboard_alerts: false,
            alert_name: String::new(),
            show_instances: true,
            state_filter: AlertStateFilter {
                firing: true,
                pending: true,
                recovering: false,
                no_data: false,
                normal: false,
                error: true,
            },
            alert_instance_label_filter: "{job=~\"$job\"}".to_string(),
            datasource: render::DATASOURCE_NAME.to_string(),
        })),
    }
}

fn panel(spec: &PanelSpec, id: u32, grid_pos: model::GridPos) -> Panel {
    let (kind, format, instant) = match spec.visual {
        Visual::Timeseries => (PanelType::Timeseries, TargetFormat::TimeSeries, false),
        Visual::Stat => (PanelType::Stat, TargetFormat::TimeSeries, true),
        Visual::Heatmap => (PanelType::Heatmap, TargetFormat::Heatmap, false),
        Visual::AlertList => return alert_list_panel(spec, id, grid_pos),
    };
    let visual = spec.visual;
    let targets = spec
        .queries
        .iter()
        .zip('A'..='Z')
        .map(|(query, ref_id)| Target {
            ref_id: ref_id.to_string(),
            datasource: DatasourceRef::prometheus_variable(),
            expr: query.expr.clone(),
            legend_format: query.legend.clone(),
            range: !instant,
            instant,
            format,
            editor_mode: "code".to_string(),
        })
        .collect();
    let options = match visual {
        // The alert list returned above; a time series' options otherwise.
        Visual::Timeseries | Visual::AlertList => PanelOptions::Timeseries(TimeseriesOptions {
            legend: Legend {
                show_legend: true,
                display_mode: "list".to_string(),
                placement: "bottom".to_string(),
                calcs: Vec::new(),
            },
            tooltip: Tooltip {
                mode: "multi".to_string(),
                sort: "desc".to_string(),
            },
        }),
        Visual::Stat => PanelOptions::Stat(StatOptions {
            reduce_options: ReduceOptions {
                calcs: vec!["lastNotNull".to_string()],
                fields: String::new(),
                values: false,
            },
            color_mode: "value".to_string(),
            // Stat targets are instant queries: a sparkline would have no line to draw.
            graph_mode: "none".to_string(),
            text_mode: "auto".to_string(),
        }),
        Visual::Heatmap => PanelOptions::Heatmap(HeatmapOptions {
            calculate: false,
            cell_gap: 1,
            color: HeatmapColor {
                mode: "scheme".to_string(),
                scheme: "Oranges".to_string(),
                steps: 64,
            },
            y_axis: HeatmapYAxis {
                axis_placement: "left".to_string(),
                unit: spec.unit.to_string(),
            },
            tooltip: HeatmapTooltip {
                mode: "single".to_string(),
                y_histogram: false,
            },
        }),
    };
    Panel {
        kind,
        id,
        title: spec.title.clone(),
        description: Some(spec.description.clone()),
        grid_pos,
        collapsed: None,
        panels: None,
        datasource: Some(DatasourceRef::prometheus_variable()),
        targets: Some(targets),
        field_config: Some(FieldConfig {
            defaults: FieldDefaults {
                unit: spec.unit.to_string(),
                min: (spec.visual == Visual::Timeseries).then_some(0.0),
                custom: spec
                    .threshold
                    .filter(|_| spec.visual == Visual::Timeseries)
                    .map(|_| FieldCustom {
                        thresholds_style: ThresholdsStyle {
                            mode: "line".to_string(),
                        },
                    }),
                thresholds: spec.threshold.map(thresholds),
                links: spec
                    .drill_down
                    .iter()
                    .map(|(title, uid)| DataLink {
                        title: title.clone(),
                        url: format!("/d/{uid}?${{__url_time_range}}&${{__all_variables}}"),
                        target_blank: false,
                    })
                    .collect(),
            },
            overrides: Vec::new(),
        }),
        options: Some(options),
    }
}
