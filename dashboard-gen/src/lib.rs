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
//! - [`generate`], [`panel_for`] (links alerts to panels), [`render`], [`file_name`];
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
//! // Where an alert on source request errors should point.
//! let panel = dashboard_gen::panel_for(&dashboards, MetricId::SourcesRequestsError).unwrap();
//! assert_eq!(panel.dashboard_uid, "sms-overview");
//!
//! let json = dashboard_gen::render(overview);
//! assert!(json.ends_with("}\n"));
//! ```

mod error;
pub mod grafana;
mod layout;
mod lint;
pub mod model;
mod promql;
mod queries;
mod render;

use catalog::{MetricCatalog, Subsystem};

pub use error::{Error, QueryProblem};
pub use lint::{Finding, lint};
pub use render::{Provisioning, dashboard_provider_yaml, datasource_yaml, file_name, render};

use crate::layout::{flow, row};
use crate::model::{
    Annotations, Dashboard, DatasourceRef, FieldConfig, FieldDefaults, HeatmapColor,
    HeatmapOptions, HeatmapTooltip, HeatmapYAxis, Legend, Panel, PanelOptions, PanelType,
    ReduceOptions, SCHEMA_VERSION, StatOptions, Target, TargetFormat, Templating, TimeRange,
    TimeseriesOptions, Tooltip, Variable, VariableType,
};
use crate::promql::{Rules, analyze};
use crate::queries::{PanelSpec, Visual};

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

/// Generates the dashboards of catalog `C`: today one overview, uid `<prefix>-overview`.
///
/// Fails when the catalog is invalid, when a query (custom ones included) does not pass
/// the PromQL checks, naming the metric, panel and problem, or when a dashboard has any
/// lint finding.
pub fn generate<C: MetricCatalog>() -> Result<Vec<Dashboard>, Error> {
    catalog::validate::<C>().map_err(Error::Catalog)?;
    let filters = queries::filter_labels::<C>();
    let variables = variable_names(&filters);

    let mut problems = Vec::new();
    let mut sections: Vec<(&'static Subsystem, Vec<PanelSpec>)> = Vec::new();
    for subsystem in C::SUBSYSTEMS {
        let mut specs = Vec::new();
        for &metric in C::ALL.iter().filter(|m| m.def().subsystem == subsystem) {
            for spec in queries::panels(metric, &filters) {
                for query in &spec.queries {
                    let rules = Rules {
                        variables: &variables,
                        require_variable_matchers: true,
                        allow_raw_counters: false,
                    };
                    for finding in analyze::<C>(&query.expr, rules).findings {
                        problems.push(QueryProblem {
                            metric: metric.def().name.to_string(),
                            panel: spec.title.clone(),
                            expr: query.expr.clone(),
                            rule: finding.rule,
                            message: finding.message,
                        });
                    }
                }
                specs.push(spec);
            }
        }
        if !specs.is_empty() {
            sections.push((subsystem, specs));
        }
    }
    if !problems.is_empty() {
        return Err(Error::Queries(problems));
    }

    let dashboard = overview::<C>(&sections, &filters);
    let findings = lint::<C>(&dashboard);
    if !findings.is_empty() {
        return Err(Error::Lint {
            uid: dashboard.uid,
            findings,
        });
    }
    Ok(vec![dashboard])
}

/// The first panel, top to bottom in the first dashboard that has one, whose queries
/// select `metric`; `None` when no dashboard shows it.
///
/// For a metric's own panels this is its main one (rate, quantiles or current value),
/// since the generator emits a metric's panels in that order.
pub fn panel_for<C: MetricCatalog>(dashboards: &[Dashboard], metric: C) -> Option<PanelRef> {
    dashboards.iter().find_map(|dashboard| {
        let variables: Vec<String> = dashboard
            .templating
            .list
            .iter()
            .filter(|v| v.kind == VariableType::Query)
            .map(|v| v.name.clone())
            .collect();
        let rules = Rules {
            variables: &variables,
            require_variable_matchers: false,
            allow_raw_counters: true,
        };
        dashboard
            .panels
            .iter()
            .filter(|panel| panel.kind != PanelType::Row)
            .find(|panel| {
                panel
                    .targets
                    .iter()
                    .flatten()
                    .any(|target| analyze::<C>(&target.expr, rules).metrics.contains(&metric))
            })
            .map(|panel| PanelRef {
                dashboard_uid: dashboard.uid.clone(),
                panel_id: panel.id,
                panel_title: panel.title.clone(),
            })
    })
}

/// `sms` for prefix `sms_`: the catalog's name in uids.
fn slug<C: MetricCatalog>() -> String {
    C::PREFIX
        .trim_end_matches('_')
        .to_ascii_lowercase()
        .replace('_', "-")
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

fn overview<C: MetricCatalog>(
    sections: &[(&'static Subsystem, Vec<PanelSpec>)],
    filters: &[&str],
) -> Dashboard {
    let mut panels = Vec::new();
    let mut next_id = 1;
    let mut top = 0;
    for (subsystem, specs) in sections {
        panels.push(Panel {
            kind: PanelType::Row,
            id: next_id,
            title: subsystem.title.to_string(),
            description: None,
            grid_pos: row(top),
            collapsed: Some(false),
            panels: Some(Vec::new()),
            datasource: None,
            targets: None,
            field_config: None,
            options: None,
        });
        next_id += 1;
        let sizes: Vec<_> = specs.iter().map(|s| s.size).collect();
        let (positions, bottom) = flow(&sizes, top + 1);
        for (spec, grid_pos) in specs.iter().zip(positions) {
            panels.push(panel(spec, next_id, grid_pos));
            next_id += 1;
        }
        top = bottom;
    }
    let name = short_name::<C>();
    Dashboard {
        id: None,
        uid: format!("{}-overview", slug::<C>()),
        title: format!("{name} overview"),
        description: format!(
            "Every {name} metric by subsystem. Generated from the metric catalog by \
             `cargo xtask dashboards`: change the catalog, not this dashboard."
        ),
        tags: vec!["generated".to_string(), slug::<C>()],
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
        links: Vec::new(),
    }
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
    // Variables list values of the catalog's first metric (for `job` and `instance`) or
    // of the first metric with the label (for filters).
    let first = C::ALL[0];
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
        let metric = C::ALL
            .iter()
            .copied()
            .find(|m| {
                m.def()
                    .labels
                    .iter()
                    .any(|l| catalog::LabelKey::def(*l).name == *filter)
            })
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

fn panel(spec: &PanelSpec, id: u32, grid_pos: model::GridPos) -> Panel {
    let (kind, format, instant) = match spec.visual {
        Visual::Timeseries => (PanelType::Timeseries, TargetFormat::TimeSeries, false),
        Visual::Stat => (PanelType::Stat, TargetFormat::TimeSeries, true),
        Visual::Heatmap => (PanelType::Heatmap, TargetFormat::Heatmap, false),
    };
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
    let options = match spec.visual {
        Visual::Timeseries => PanelOptions::Timeseries(TimeseriesOptions {
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
            graph_mode: "area".to_string(),
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
            },
            overrides: Vec::new(),
        }),
        options: Some(options),
    }
}
