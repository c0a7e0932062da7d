//! The vocabulary of a metric catalog: what one metric definition holds.
//!
//! Everything here is `const`-constructible, so a catalog is plain static data:
//! no lazy initialisation, no hashing, no string keys. A catalog is any enum that
//! implements [`MetricCatalog`]; the SMS pipeline's catalog lives in `crate::sms`.

use std::fmt::Debug;
use std::hash::Hash;

use crate::alerting::{AlertDef, SloDef, camel_case};
use crate::labels::{CatalogLabels, LabelKey, LabelValues};

/// A set of metrics, one enum variant per metric.
///
/// `recorder` and `dashboard-gen` are generic over this trait, so they work with any
/// catalog (tests use a second, tiny one).
///
/// Its label-key type comes from the supertrait [`CatalogLabels`]. Catalogs are declared
/// with `#[catalog::metrics]`, which implements both.
pub trait MetricCatalog:
    CatalogLabels + Copy + Eq + Ord + Hash + Debug + Send + Sync + 'static
{
    /// Application prefix every metric name starts with, e.g. `sms_`.
    const PREFIX: &'static str;

    /// The catalog's name in exports and `/catalog`, e.g. `sms` (the prefix without its
    /// trailing `_`).
    const NAME: &'static str;

    /// The crate that declares the catalog (its `CARGO_PKG_NAME`).
    const CRATE: &'static str;

    /// Every metric, in catalog order (the order dashboards and docs follow).
    const ALL: &'static [Self];

    /// The subsystems (pipeline phases), in flow order.
    const SUBSYSTEMS: &'static [Subsystem];

    /// Service-level objectives over this catalog's metrics (none by default).
    const SLOS: &'static [SloDef<Self>] = &[];

    /// Base URL of the runbook pages; an alert's runbook URL is this plus `/`, its anchor
    /// and `.md`. Empty (the default) leaves alerts without a runbook link.
    const RUNBOOK_BASE: &'static str = "";

    /// Counter the recorder increments when it drops a sample because of misuse.
    /// Labels: one `CatalogMetric` label and one label enumerating [`DropReason`]s.
    const SAMPLES_DROPPED: Self;

    /// Counter the recorder increments when a new series is folded into the overflow
    /// series because its metric reached `max_series`. Labels: one `CatalogMetric` label.
    const SERIES_OVERFLOW: Self;

    /// The definition of this metric.
    fn def(self) -> &'static MetricDef<Self>;

    /// Position of this metric in [`MetricCatalog::ALL`].
    fn index(self) -> usize;
}

/// The deprecated metric of catalog `C` renamed to `metric`, while it is still in the
/// catalog (the rename's window): the recorder exposes `metric`'s series under that old
/// name too (dual emission), and queries read the old name as a fallback. The validation
/// allows at most one per metric.
pub fn renamed_from<C: MetricCatalog>(metric: C) -> Option<C> {
    C::ALL
        .iter()
        .copied()
        .find(|old| old.def().renamed_to() == Some(metric))
}

impl<C: MetricCatalog> SloDef<C> {
    /// Name of this objective's burn-rate alerts: the catalog prefix and the SLO name in
    /// CamelCase, e.g. `sources_requests_availability` ->
    /// `SmsSourcesRequestsAvailabilityBudgetBurn`.
    pub fn burn_alert_name(&self) -> String {
        format!(
            "{}{}BudgetBurn",
            camel_case(C::PREFIX),
            camel_case(self.name)
        )
    }
}

/// Why the sample was dropped.
///
/// The label type of the recorder's [`MetricCatalog::SAMPLES_DROPPED`] self-metric: its
/// reason label must be exactly this type. The value strings are the snake case of the
/// variants (`wrong_labels`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, strum::EnumIter, crate::LabelValue)]
#[label(name = "reason")]
pub enum DropReason {
    /// The label set did not match the catalog: a free-form value over the length bound,
    /// or a value outside an enumerated label's allowed values.
    WrongLabels,
    /// The operation does not fit the metric's kind (only reachable through a
    /// hand-written typed metric: the typed API rejects it at compile time).
    WrongKind,
    /// The value is not allowed (NaN or infinite).
    InvalidValue,
}

/// Name of the catalog metric concerned.
///
/// The label type of the recorder's self-metrics ([`MetricCatalog::SAMPLES_DROPPED`],
/// [`MetricCatalog::SERIES_OVERFLOW`]); its values are the catalog's metric names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, crate::LabelValue)]
#[label(name = "metric", catalog_metric)]
pub struct MetricName<'a>(pub &'a str);

/// Everything the workspace knows about one metric.
///
/// Built with the `const` constructors [`MetricDef::counter`], [`MetricDef::gauge`] and
/// [`MetricDef::histogram`] followed by `const` setters, so a new field gets a default
/// and existing definitions do not change.
#[derive(Debug)]
pub struct MetricDef<C: MetricCatalog> {
    /// Full Prometheus name, e.g. `sms_sources_requests_success_total`.
    pub name: &'static str,
    /// Counter, gauge, or histogram with its buckets.
    pub kind: MetricKind,
    /// One sentence saying what is measured; becomes the `# HELP` line and panel description.
    pub help: &'static str,
    /// Label keys, in exposition order.
    pub labels: &'static [C::Label],
    /// Base unit; must agree with the name's suffix.
    pub unit: Unit,
    /// The pipeline phase this metric belongs to.
    pub subsystem: &'static Subsystem,
    /// Upper bound on the number of series when a label is free-form; `0` when every
    /// label is enumerated (the bound is then the product of the value counts).
    pub max_series: usize,
    /// For an error counter: the counter of successes of the same operation, so
    /// dashboards and alerts can build an error ratio.
    pub success_twin: Option<C>,
    /// Hints for dashboard generation.
    pub dashboard: DashboardHints<C>,
    /// Why no code of the workspace records this metric directly, if that is intended.
    pub unused: Option<&'static str>,
    /// Alerts on this metric.
    pub alerts: &'static [AlertDef<C>],
    /// How much users may rely on this metric; what `cargo xtask check`'s compatibility
    /// check lets change without a deprecation.
    pub stability: Stability,
    /// Set once the metric is deprecated (then hidden, then removed).
    pub deprecated: Option<Deprecation<C>>,
}

/// How much users may rely on a metric (Kubernetes' metric stability levels).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stability {
    /// May change or go away in any release (the default).
    Alpha,
    /// Kind, unit and enumerated values are kept; removal needs a deprecation first.
    Beta,
    /// Name, kind, unit, labels, enumerated values and buckets are kept; any change needs
    /// a new metric and a deprecation of this one.
    Stable,
}

/// A deprecation: since which release, why, and the metric replacing it.
///
/// A deprecated metric is still exposed, its HELP starting with the deprecation, until it
/// is hidden ([`Deprecation::hidden`]: no longer exposed unless the service shows hidden
/// metrics), and then removed from the catalog.
#[derive(Debug)]
pub struct Deprecation<C> {
    /// The release that deprecated it, e.g. `0.3.0`.
    pub since: &'static str,
    /// Why, in one sentence.
    pub reason: &'static str,
    /// The metric that replaces it, when it was renamed.
    pub renamed_to: Option<C>,
    /// Hidden: the step before removal.
    pub hidden: bool,
}

impl<C: Copy> Deprecation<C> {
    /// Deprecated since release `since`, for `reason`.
    pub const fn new(since: &'static str, reason: &'static str) -> Self {
        Deprecation {
            since,
            reason,
            renamed_to: None,
            hidden: false,
        }
    }

    /// Replaced by `metric` (same kind and unit, as the validation requires).
    pub const fn renamed_to(mut self, metric: C) -> Self {
        self.renamed_to = Some(metric);
        self
    }

    /// No longer exposed unless the service shows hidden metrics.
    pub const fn hidden(mut self) -> Self {
        self.hidden = true;
        self
    }
}

impl<C: MetricCatalog> MetricDef<C> {
    const fn new(
        name: &'static str,
        kind: MetricKind,
        help: &'static str,
        subsystem: &'static Subsystem,
    ) -> Self {
        MetricDef {
            name,
            kind,
            help,
            labels: &[],
            unit: Unit::None,
            subsystem,
            max_series: 0,
            success_twin: None,
            dashboard: DashboardHints {
                panel: PanelHint::Auto,
                split_by: &[],
                queries: &[],
            },
            unused: None,
            alerts: &[],
            stability: Stability::Alpha,
            deprecated: None,
        }
    }

    /// A monotonically increasing counter.
    pub const fn counter(
        name: &'static str,
        help: &'static str,
        subsystem: &'static Subsystem,
    ) -> Self {
        Self::new(name, MetricKind::Counter, help, subsystem)
    }

    /// A value that goes up and down.
    pub const fn gauge(
        name: &'static str,
        help: &'static str,
        subsystem: &'static Subsystem,
    ) -> Self {
        Self::new(name, MetricKind::Gauge, help, subsystem)
    }

    /// A histogram with explicit bucket upper bounds (`+Inf` is implied).
    pub const fn histogram(
        name: &'static str,
        help: &'static str,
        subsystem: &'static Subsystem,
        buckets: &'static [f64],
    ) -> Self {
        Self::new(name, MetricKind::Histogram { buckets }, help, subsystem)
    }

    /// Sets the label keys. In a `#[catalog::metrics]` declaration write
    /// `.labels::<(SourceId<'_>, ErrorType)>()` instead: the macro derives the keys and
    /// the typed label set from the types.
    pub const fn labels(mut self, labels: &'static [C::Label]) -> Self {
        self.labels = labels;
        self
    }

    /// Sets the base unit.
    pub const fn unit(mut self, unit: Unit) -> Self {
        self.unit = unit;
        self
    }

    /// Sets the series bound for metrics with a free-form label.
    pub const fn max_series(mut self, max_series: usize) -> Self {
        self.max_series = max_series;
        self
    }

    /// Sets the dashboard hints.
    pub const fn dashboard(mut self, dashboard: DashboardHints<C>) -> Self {
        self.dashboard = dashboard;
        self
    }

    /// Marks the metric as intentionally not recorded by workspace code, with the reason.
    pub const fn unused(mut self, reason: &'static str) -> Self {
        self.unused = Some(reason);
        self
    }

    /// Sets the alerts on this metric.
    pub const fn alerts(mut self, alerts: &'static [AlertDef<C>]) -> Self {
        self.alerts = alerts;
        self
    }

    /// Sets how much users may rely on this metric (alpha by default).
    pub const fn stability(mut self, stability: Stability) -> Self {
        self.stability = stability;
        self
    }

    /// Deprecates this metric.
    pub const fn deprecated(mut self, deprecation: Deprecation<C>) -> Self {
        self.deprecated = Some(deprecation);
        self
    }

    /// The metric this one was renamed to, during the rename's window (deprecated with
    /// `renamed_to`, hidden or not).
    pub fn renamed_to(&self) -> Option<C> {
        self.deprecated.as_ref().and_then(|d| d.renamed_to)
    }

    /// Whether the recorder leaves this metric out unless told to show hidden metrics.
    pub const fn is_hidden(&self) -> bool {
        matches!(self.deprecated, Some(Deprecation { hidden: true, .. }))
    }

    /// The `# HELP` text as exposed: the help, after the deprecation when there is one
    /// (`Deprecated since 0.3.0, use sms_x_total instead: reason. Help.`).
    pub fn exposed_help(&self) -> std::borrow::Cow<'static, str> {
        let Some(deprecation) = &self.deprecated else {
            return std::borrow::Cow::Borrowed(self.help);
        };
        let instead = deprecation
            .renamed_to
            .map(|metric| format!(", use {} instead", metric.def().name))
            .unwrap_or_default();
        std::borrow::Cow::Owned(format!(
            "Deprecated since {}{instead}: {} {}",
            deprecation.since,
            deprecation.reason.trim_end_matches('.').to_string() + ".",
            self.help
        ))
    }

    /// Buckets of a histogram, `None` for other kinds.
    pub const fn buckets(&self) -> Option<&'static [f64]> {
        match self.kind {
            MetricKind::Histogram { buckets } => Some(buckets),
            _ => None,
        }
    }

    /// True when some label is free-form (its values are not enumerated).
    pub fn has_free_form_label(&self) -> bool {
        self.labels
            .iter()
            .any(|label| matches!(label.def().values, LabelValues::FreeForm))
    }

    /// Position of `label` in this metric's label list.
    pub fn label_position(&self, label: C::Label) -> Option<usize> {
        self.labels.iter().position(|l| *l == label)
    }
}

/// The Prometheus metric type, with the histogram's buckets.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MetricKind {
    /// Monotonic counter; the name ends in `_total`.
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// Cumulative histogram with these bucket upper bounds (sorted, finite, positive).
    Histogram {
        /// Bucket upper bounds, without `+Inf`.
        buckets: &'static [f64],
    },
}

impl MetricKind {
    /// The Prometheus `# TYPE` word.
    pub const fn type_name(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram { .. } => "histogram",
        }
    }
}

/// Base units (Prometheus naming: base units, plural, as a name suffix).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Unit {
    /// A plain count of things; no unit suffix.
    None,
    /// Seconds; the name carries `_seconds`.
    Seconds,
    /// Bytes; the name carries `_bytes`.
    Bytes,
    /// A ratio from 0 to 1; the name carries `_ratio`.
    Ratio,
}

impl Unit {
    /// The name suffix this unit requires (before `_total` on counters), if any.
    pub const fn suffix(self) -> Option<&'static str> {
        match self {
            Unit::None => None,
            Unit::Seconds => Some("seconds"),
            Unit::Bytes => Some("bytes"),
            Unit::Ratio => Some("ratio"),
        }
    }
}

/// A pipeline phase: groups metrics in dashboards and docs.
#[derive(Debug, PartialEq, Eq)]
pub struct Subsystem {
    /// Identifier used in metric names after the prefix, e.g. `ingest_log`.
    pub name: &'static str,
    /// Human title, e.g. `Ingest log`.
    pub title: &'static str,
    /// What this phase does, one sentence.
    pub description: &'static str,
}

/// How a metric should appear on dashboards.
#[derive(Debug)]
pub struct DashboardHints<C: MetricCatalog> {
    /// Which panel to prefer; `Auto` chooses by metric kind.
    pub panel: PanelHint,
    /// Labels worth splitting the series by (legend entries), in addition to none.
    pub split_by: &'static [C::Label],
    /// Extra queries shown in their own panels, checked against the catalog at generation.
    pub queries: &'static [CustomQuery],
}

impl<C: MetricCatalog> DashboardHints<C> {
    /// Default hints: panels chosen by kind, no split, no custom query.
    pub const AUTO: Self = DashboardHints {
        panel: PanelHint::Auto,
        split_by: &[],
        queries: &[],
    };

    /// Splits series by these labels.
    pub const fn split_by(mut self, labels: &'static [C::Label]) -> Self {
        self.split_by = labels;
        self
    }

    /// Adds custom queries.
    pub const fn queries(mut self, queries: &'static [CustomQuery]) -> Self {
        self.queries = queries;
        self
    }

    /// Prefers a panel kind.
    pub const fn panel(mut self, panel: PanelHint) -> Self {
        self.panel = panel;
        self
    }
}

/// Preferred panel for a metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PanelHint {
    /// Chosen by kind: rate time series for counters, quantiles and heatmap for
    /// histograms, stat and time series for gauges.
    Auto,
    /// A single current value.
    Stat,
    /// A time series only.
    TimeSeries,
}

/// A hand-written PromQL query shown on the metric's dashboard.
#[derive(Debug)]
pub struct CustomQuery {
    /// Panel title.
    pub title: &'static str,
    /// PromQL; may use `$__rate_interval` and the dashboard's variables.
    pub expr: &'static str,
    /// Grafana legend format, e.g. `{{source_id}}`.
    pub legend: &'static str,
    /// Unit of the result (`Unit::Ratio` for a share, shown as a percentage).
    pub unit: Unit,
}
