//! Built-in lint: grafana/dashboard-linter's rules plus grid and identity invariants.
//! Returns every finding, not only the first.
//!
//! Rules: `uneditable-dashboard`, `template-datasource`, `template-job`,
//! `template-instance`, `template-label-promql`, `template-on-time-change-reload`,
//! `panel-datasource`, `panel-title-description`, `panel-units`, `panel-no-targets`, the
//! `target-*` rules of the PromQL checks (`target-promql`, `target-rate-interval`,
//! `target-job`, `target-instance`, `target-counter-agg`, ...), and `dashboard-uid`,
//! `panel-id-unique`, `panel-grid`, `target-refid-unique`, `panel-title-length` (at most
//! [`MAX_TITLE_LEN`] characters) and `panel-stat-sparkline` (no sparkline on a stat
//! panel fed by instant queries: it would draw nothing). Alert list panels have no
//! queries, so the datasource, unit and target rules skip them.

use std::collections::BTreeSet;
use std::fmt;

use catalog::MetricCatalog;

use crate::layout::{GRID_COLUMNS, overlaps};
use crate::model::{
    DATASOURCE_VARIABLE, Dashboard, DatasourceRef, Panel, PanelOptions, PanelType, VariableType,
};
use crate::promql::{Rules, analyze};

/// Grafana unit ids the generator may use (a subset of Grafana's `valueFormats`).
pub const KNOWN_UNITS: &[&str] = &[
    "none",
    "short",
    "percentunit",
    "percent",
    "s",
    "ms",
    "bytes",
    "decbytes",
    "Bps",
    "reqps",
    "ops",
    "cps",
];

/// Longest panel title: titles say what is shown in a few words; the HELP text is the
/// description.
pub const MAX_TITLE_LEN: usize = 40;

/// Longest uid Grafana accepts.
pub const MAX_UID_LEN: usize = 40;

/// One lint finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Rule identifier, e.g. `panel-units`.
    pub rule: &'static str,
    /// Where: the dashboard uid, and the panel id and title when it concerns a panel.
    pub location: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} [{}]", self.location, self.message, self.rule)
    }
}

/// Lints `dashboard` against catalog `C`; empty when it passes.
pub fn lint<C: MetricCatalog>(dashboard: &Dashboard) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut push = |location: &str, rule: &'static str, message: String| {
        findings.push(Finding {
            rule,
            location: location.to_string(),
            message,
        })
    };
    let here = format!("dashboard `{}`", dashboard.uid);

    if dashboard.editable {
        push(
            &here,
            "uneditable-dashboard",
            "dashboard is editable".into(),
        );
    }
    if !is_valid_uid(&dashboard.uid) {
        push(
            &here,
            "dashboard-uid",
            format!("uid must match [a-z][a-z0-9-]* and have at most {MAX_UID_LEN} characters"),
        );
    }

    // Templating.
    let variables = &dashboard.templating.list;
    let datasources: Vec<_> = variables
        .iter()
        .filter(|v| v.kind == VariableType::Datasource)
        .collect();
    if datasources.len() != 1
        || datasources[0].name != DATASOURCE_VARIABLE
        || datasources[0].query != "prometheus"
    {
        push(
            &here,
            "template-datasource",
            format!(
                "needs exactly one datasource variable `{DATASOURCE_VARIABLE}` of type prometheus"
            ),
        );
    }
    let query_variables: Vec<String> = variables
        .iter()
        .filter(|v| v.kind == VariableType::Query)
        .map(|v| v.name.clone())
        .collect();
    for (required, rule) in [("job", "template-job"), ("instance", "template-instance")] {
        if !query_variables.iter().any(|v| v == required) {
            push(&here, rule, format!("no `{required}` query variable"));
        }
    }
    for variable in variables.iter().filter(|v| v.kind == VariableType::Query) {
        let location = format!("{here} variable `{}`", variable.name);
        if variable.refresh != 2 {
            push(
                &location,
                "template-on-time-change-reload",
                "refresh must be 2 (on time range change)".into(),
            );
        }
        if variable.datasource.as_ref() != Some(&DatasourceRef::prometheus_variable()) {
            push(
                &location,
                "template-datasource",
                "must query the `datasource` variable".into(),
            );
        }
        for problem in label_values_problems::<C>(&variable.query, &query_variables) {
            push(&location, "template-label-promql", problem);
        }
    }

    // Panels.
    let panels = flatten(&dashboard.panels);
    let mut ids = BTreeSet::new();
    for (index, panel) in panels.iter().enumerate() {
        let location = format!("{here} panel {} `{}`", panel.id, panel.title);
        if !ids.insert(panel.id) {
            push(
                &location,
                "panel-id-unique",
                format!("id {} is used twice", panel.id),
            );
        }
        let grid = panel.grid_pos;
        if grid.w == 0 || grid.h == 0 || grid.x + grid.w > GRID_COLUMNS {
            push(
                &location,
                "panel-grid",
                format!("{grid:?} is off the 24-column grid"),
            );
        }
        for other in &panels[index + 1..] {
            if overlaps(&grid, &other.grid_pos) {
                push(
                    &location,
                    "panel-grid",
                    format!("overlaps panel {}", other.id),
                );
            }
        }
        if panel.kind == PanelType::Row {
            continue;
        }
        if panel.title.trim().is_empty()
            || panel.description.as_deref().unwrap_or("").trim().is_empty()
        {
            push(
                &location,
                "panel-title-description",
                "needs a title and a description".into(),
            );
        }
        let length = panel.title.chars().count();
        if length > MAX_TITLE_LEN {
            push(
                &location,
                "panel-title-length",
                format!(
                    "title has {length} characters, at most {MAX_TITLE_LEN}: move detail to the description"
                ),
            );
        }
        if panel.kind == PanelType::Alertlist {
            continue;
        }
        if let Some(PanelOptions::Stat(options)) = &panel.options {
            let instant = panel.targets.iter().flatten().any(|t| t.instant);
            if instant && options.graph_mode != "none" {
                push(
                    &location,
                    "panel-stat-sparkline",
                    format!(
                        "graphMode `{}` on instant queries draws no line: use `none`",
                        options.graph_mode
                    ),
                );
            }
        }
        if panel.datasource != Some(DatasourceRef::prometheus_variable()) {
            push(
                &location,
                "panel-datasource",
                "must use the `datasource` variable".into(),
            );
        }
        let unit = panel
            .field_config
            .as_ref()
            .map(|c| c.defaults.unit.as_str());
        if matches!(panel.kind, PanelType::Timeseries | PanelType::Stat)
            && !unit.is_some_and(|u| KNOWN_UNITS.contains(&u))
        {
            push(
                &location,
                "panel-units",
                format!("unit {unit:?} is not a known Grafana unit"),
            );
        }
        let targets = panel.targets.as_deref().unwrap_or_default();
        if targets.is_empty() {
            push(&location, "panel-no-targets", "panel has no queries".into());
        }
        let mut ref_ids = BTreeSet::new();
        for target in targets {
            if !ref_ids.insert(target.ref_id.as_str()) {
                push(
                    &location,
                    "target-refid-unique",
                    format!("refId {} is used twice", target.ref_id),
                );
            }
            if target.datasource != DatasourceRef::prometheus_variable() {
                push(
                    &location,
                    "panel-datasource",
                    format!(
                        "target {} must use the `datasource` variable",
                        target.ref_id
                    ),
                );
            }
            let rules = Rules {
                variables: &query_variables,
                require_variable_matchers: true,
                allow_raw_counters: false,
            };
            for finding in analyze::<C>(&target.expr, rules).findings {
                push(
                    &location,
                    finding.rule,
                    format!("target {}: {}", target.ref_id, finding.message),
                );
            }
        }
    }
    findings
}

/// True for a uid we are willing to emit: lower-case, starts with a letter, at most 40.
pub fn is_valid_uid(uid: &str) -> bool {
    uid.len() <= MAX_UID_LEN
        && uid.starts_with(|c: char| c.is_ascii_lowercase())
        && uid
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Rows and panels in a flat list, children of collapsed rows included.
fn flatten(panels: &[Panel]) -> Vec<&Panel> {
    let mut flat = Vec::new();
    for panel in panels {
        flat.push(panel);
        if let Some(children) = &panel.panels {
            flat.extend(flatten(children));
        }
    }
    flat
}

/// Problems with a `label_values(<selector>, <label>)` variable query.
fn label_values_problems<C: MetricCatalog>(query: &str, variables: &[String]) -> Vec<String> {
    let Some((selector, label)) = query
        .strip_prefix("label_values(")
        .and_then(|rest| rest.strip_suffix(')'))
        .and_then(|inner| inner.rsplit_once(','))
    else {
        return vec![format!(
            "`{query}` is not label_values(<selector>, <label>)"
        )];
    };
    let rules = Rules {
        variables,
        require_variable_matchers: false,
        allow_raw_counters: true,
    };
    // Grouping by the label also checks that the selected series have it.
    let grouped = format!("count by ({}) ({selector})", label.trim());
    analyze::<C>(&grouped, rules)
        .findings
        .into_iter()
        .map(|f| format!("{} [{}]", f.message, f.rule))
        .collect()
}
