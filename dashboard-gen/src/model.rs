//! The Grafana dashboard JSON model (classic model, `schemaVersion` 39), as serde structs.
//!
//! Names follow Grafana's own terms and JSON keys (see Grafana's "JSON model" docs). The
//! model is only as wide as what the generator emits; it holds no logic. Field order is
//! declaration order, so serialisation is deterministic.

use serde::{Deserialize, Serialize};

/// The schema version every generated dashboard declares; Grafana 11 to 13 load it and
/// migrate it up on load.
pub const SCHEMA_VERSION: u32 = 39;

/// The name of the datasource template variable every panel and target refers to.
pub const DATASOURCE_VARIABLE: &str = "datasource";

/// A dashboard: the bare model, as Grafana file provisioning reads it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dashboard {
    /// Always `null`: Grafana assigns the numeric id; the `uid` is what identifies it.
    pub id: Option<u64>,
    /// Stable identifier (`[a-z0-9-]`, at most 40 characters).
    pub uid: String,
    /// Title shown in Grafana.
    pub title: String,
    /// What the dashboard shows.
    pub description: String,
    /// Tags for search.
    pub tags: Vec<String>,
    /// Time zone (`browser`).
    pub timezone: String,
    /// False: generated dashboards are edited in the catalog, not in Grafana.
    pub editable: bool,
    /// 1 = shared crosshair.
    pub graph_tooltip: u8,
    /// Default time range.
    pub time: TimeRange,
    /// Auto-refresh interval, e.g. `30s`.
    pub refresh: String,
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Template variables.
    pub templating: Templating,
    /// Annotation queries (none are generated).
    pub annotations: Annotations,
    /// Rows and panels, top-level; an expanded row's children follow it.
    pub panels: Vec<Panel>,
    /// Dashboard links: every generated dashboard links to the others of its catalog.
    pub links: Vec<DashboardLink>,
}

/// A dashboard link (`links[]`), Grafana's `DashboardLink`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DashboardLink {
    /// Text of the link (or dropdown).
    pub title: String,
    /// `dashboards` (dashboards with `tags`) or `link` (`url`).
    #[serde(rename = "type")]
    pub kind: String,
    /// For `dashboards`: link to dashboards with all of these tags.
    pub tags: Vec<String>,
    /// Show the linked dashboards in a dropdown.
    pub as_dropdown: bool,
    /// Carry the current variable values.
    pub include_vars: bool,
    /// Carry the current time range.
    pub keep_time: bool,
    /// Open in a new tab.
    pub target_blank: bool,
    /// Icon name, e.g. `external link`.
    pub icon: String,
    /// Hover text.
    pub tooltip: String,
    /// For `link`: the URL (empty for `dashboards`).
    pub url: String,
}

/// A relative time range such as `now-1h` to `now`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeRange {
    /// Start, e.g. `now-1h`.
    pub from: String,
    /// End, e.g. `now`.
    pub to: String,
}

/// The `templating` object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Templating {
    /// Variables, in the order Grafana shows them.
    pub list: Vec<Variable>,
}

/// The `annotations` object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Annotations {
    /// Annotation queries.
    pub list: Vec<serde_json::Value>,
}

/// The kind of a template variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VariableType {
    /// Picks a datasource of a plugin type.
    Datasource,
    /// Values from a datasource query such as `label_values(...)`.
    Query,
}

/// A template variable (`templating.list[]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Variable {
    /// Name used in queries as `$name`.
    pub name: String,
    /// Label shown on the dashboard.
    pub label: String,
    /// Datasource or query variable.
    #[serde(rename = "type")]
    pub kind: VariableType,
    /// For query variables, the datasource to query.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub datasource: Option<DatasourceRef>,
    /// Plugin type (`prometheus`) for datasource variables, PromQL for query variables.
    pub query: String,
    /// For query variables, the query as shown in the editor (same as `query`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub definition: Option<String>,
    /// Several values may be selected.
    pub multi: bool,
    /// An "All" option is offered.
    pub include_all: bool,
    /// Regex used for "All" (`.+`), so `=~` matchers select every value.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub all_value: Option<String>,
    /// When values are refreshed: 1 = on load, 2 = on time range change.
    pub refresh: u8,
    /// Value sort: 1 = alphabetical ascending.
    pub sort: u8,
    /// 0 = shown.
    pub hide: u8,
    /// Filter regex on values (empty).
    pub regex: String,
}

/// A reference to a datasource, as panels and targets carry it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasourceRef {
    /// Plugin type, `prometheus`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Datasource uid, here always `${datasource}`.
    pub uid: String,
}

impl DatasourceRef {
    /// The Prometheus datasource chosen with the `datasource` variable.
    pub fn prometheus_variable() -> Self {
        DatasourceRef {
            kind: "prometheus".to_string(),
            uid: format!("${{{DATASOURCE_VARIABLE}}}"),
        }
    }
}

/// The visualisation of a panel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PanelType {
    /// A row grouping the panels below it.
    Row,
    /// Time series graph.
    Timeseries,
    /// Single value.
    Stat,
    /// Heatmap of histogram buckets.
    Heatmap,
    /// Grafana's alert list: the alerts firing now.
    Alertlist,
}

/// A panel or row (`panels[]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Panel {
    /// Visualisation.
    #[serde(rename = "type")]
    pub kind: PanelType,
    /// Unique within the dashboard.
    pub id: u32,
    /// Title.
    pub title: String,
    /// Description shown in the panel's info tooltip.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub description: Option<String>,
    /// Position on the 24-column grid.
    pub grid_pos: GridPos,
    /// Rows only: whether the row is collapsed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub collapsed: Option<bool>,
    /// Rows only: children of a collapsed row (empty for an expanded row).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub panels: Option<Vec<Panel>>,
    /// Datasource of the panel's queries.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub datasource: Option<DatasourceRef>,
    /// Queries.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub targets: Option<Vec<Target>>,
    /// Field defaults (unit).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub field_config: Option<FieldConfig>,
    /// Visualisation options.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub options: Option<PanelOptions>,
}

/// Position and size on the grid: 24 columns, heights in grid units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GridPos {
    /// Column, `0 <= x`, `x + w <= 24`.
    pub x: u32,
    /// Grid line from the top.
    pub y: u32,
    /// Width in columns.
    pub w: u32,
    /// Height, `h > 0`.
    pub h: u32,
}

/// A query of a panel (`targets[]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// Unique per panel: `A`, `B`, ...
    pub ref_id: String,
    /// Datasource (the `datasource` variable).
    pub datasource: DatasourceRef,
    /// The PromQL expression.
    pub expr: String,
    /// Legend, e.g. `{{source_id}}`.
    pub legend_format: String,
    /// Range query.
    pub range: bool,
    /// Instant query (stat panels).
    pub instant: bool,
    /// `time_series` or `heatmap`.
    pub format: TargetFormat,
    /// Opens in the code editor.
    pub editor_mode: String,
}

/// How Grafana shapes a target's result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetFormat {
    /// One frame per series.
    TimeSeries,
    /// Buckets sorted by `le`, for heatmaps.
    Heatmap,
}

/// `fieldConfig`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldConfig {
    /// Defaults for every field.
    pub defaults: FieldDefaults,
    /// Per-field overrides (none are generated).
    pub overrides: Vec<serde_json::Value>,
}

/// `fieldConfig.defaults`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldDefaults {
    /// Grafana unit id, e.g. `s`, `bytes`, `cps`, `percentunit`.
    pub unit: String,
    /// Lower bound of the axis, when fixed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub min: Option<f64>,
    /// Visualisation-specific field options (the threshold line of alert panels).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub custom: Option<FieldCustom>,
    /// Threshold steps (colour changes at the alert's threshold).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub thresholds: Option<Thresholds>,
    /// Data links on every value (to the subsystem's dashboard, with time range and
    /// variables).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub links: Vec<DataLink>,
}

/// A data link (`fieldConfig.defaults.links[]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataLink {
    /// Text in the link menu.
    pub title: String,
    /// URL; may use `${__url_time_range}` and `${__all_variables}`.
    pub url: String,
    /// Open in a new tab.
    pub target_blank: bool,
}

/// `fieldConfig.defaults.custom` of a time series panel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldCustom {
    /// How thresholds are drawn.
    pub thresholds_style: ThresholdsStyle,
}

/// `custom.thresholdsStyle`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThresholdsStyle {
    /// `off`, `line`, `area`, `line+area`, `dashed`, ...
    pub mode: String,
}

/// `fieldConfig.defaults.thresholds`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// `absolute` or `percentage`.
    pub mode: String,
    /// Steps in increasing value order; the first has no value (minus infinity).
    pub steps: Vec<ThresholdStep>,
}

/// One threshold step: from `value` up, values take `color`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThresholdStep {
    /// Colour name, e.g. `green`, `red`.
    pub color: String,
    /// Lower bound of the step; `null` for the base step.
    pub value: Option<f64>,
}

/// Visualisation options; the variant matches the panel's [`PanelType`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PanelOptions {
    /// For [`PanelType::Timeseries`].
    Timeseries(TimeseriesOptions),
    /// For [`PanelType::Stat`].
    Stat(StatOptions),
    /// For [`PanelType::Heatmap`].
    Heatmap(HeatmapOptions),
    /// For [`PanelType::Alertlist`].
    Alertlist(AlertlistOptions),
}

/// Options of an alert list panel (Grafana's `UnifiedAlertListOptions`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertlistOptions {
    /// `list` or `stat`.
    pub view_mode: String,
    /// `default` (by rule) or `custom` (by `group_by` labels).
    pub group_mode: String,
    /// Labels to group by in custom mode.
    pub group_by: Vec<String>,
    /// Maximum number of alerts listed.
    pub max_items: u32,
    /// 1 alphabetical, 2 reverse, 3 importance, 4 time, 5 time reversed.
    pub sort_order: u8,
    /// Only alerts linked to this dashboard.
    pub dashboard_alerts: bool,
    /// Alert name filter (substring).
    pub alert_name: String,
    /// Show each alert's instances.
    pub show_instances: bool,
    /// Which states to show.
    pub state_filter: AlertStateFilter,
    /// Label matchers on alert instances, e.g. `{job=~"$job"}`.
    pub alert_instance_label_filter: String,
    /// Name of the data source whose alert rules are listed (`grafana` for
    /// Grafana-managed rules).
    pub datasource: String,
}

/// `options.stateFilter` of an alert list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertStateFilter {
    /// Firing.
    pub firing: bool,
    /// Pending (condition holds, `for` not elapsed).
    pub pending: bool,
    /// Recovering.
    pub recovering: bool,
    /// No data.
    pub no_data: bool,
    /// Normal (not firing).
    pub normal: bool,
    /// Evaluation error.
    pub error: bool,
}

/// Options of a time series panel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimeseriesOptions {
    /// Legend.
    pub legend: Legend,
    /// Tooltip.
    pub tooltip: Tooltip,
}

/// A panel legend.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Legend {
    /// Shown.
    pub show_legend: bool,
    /// `list` or `table`.
    pub display_mode: String,
    /// `bottom` or `right`.
    pub placement: String,
    /// Reducers shown next to each series.
    pub calcs: Vec<String>,
}

/// A panel tooltip.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tooltip {
    /// `single` or `multi`.
    pub mode: String,
    /// `none`, `asc` or `desc`.
    pub sort: String,
}

/// Options of a stat panel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatOptions {
    /// How series reduce to one value.
    pub reduce_options: ReduceOptions,
    /// `value` or `background`.
    pub color_mode: String,
    /// `area` (sparkline) or `none`.
    pub graph_mode: String,
    /// `auto`.
    pub text_mode: String,
}

/// `options.reduceOptions` of a stat panel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReduceOptions {
    /// Reducers, e.g. `lastNotNull`.
    pub calcs: Vec<String>,
    /// Field filter (empty = numeric fields).
    pub fields: String,
    /// False: reduce each series to one value.
    pub values: bool,
}

/// Options of a heatmap panel fed with pre-bucketed Prometheus histograms.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeatmapOptions {
    /// False: the data is already bucketed (`format: heatmap`).
    pub calculate: bool,
    /// Gap between cells in pixels.
    pub cell_gap: u32,
    /// Colour scheme.
    pub color: HeatmapColor,
    /// Y axis (bucket bounds) unit.
    pub y_axis: HeatmapYAxis,
    /// Tooltip.
    pub tooltip: HeatmapTooltip,
}

/// `options.color` of a heatmap.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeatmapColor {
    /// `scheme`.
    pub mode: String,
    /// Scheme name, e.g. `Oranges`.
    pub scheme: String,
    /// Number of colour steps.
    pub steps: u32,
}

/// `options.yAxis` of a heatmap.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeatmapYAxis {
    /// `left`.
    pub axis_placement: String,
    /// Grafana unit id of the bucket bounds.
    pub unit: String,
}

/// `options.tooltip` of a heatmap.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeatmapTooltip {
    /// `single`.
    pub mode: String,
    /// Show a histogram of the hovered column.
    pub y_histogram: bool,
}
