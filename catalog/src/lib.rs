//! The metric catalog: every metric of the SMS ingest pipeline, defined once, and the
//! generic vocabulary any other catalog is written in.
//!
//! Two layers, kept apart (see ARCHITECTURE.md):
//!
//! - **The vocabulary** (generic, knows no SMS metric): [`MetricCatalog`], [`MetricDef`]
//!   and its parts, labels ([`LabelKey`], [`LabelValue`], [`LabelSet`]), typed metrics
//!   ([`TypedMetric`] and the kind traits), alerts and SLOs ([`AlertDef`], [`SloDef`]),
//!   [`validate`] (Prometheus naming rules, metric invariants, alert checks) and the
//!   declaration macros [`metrics`] and [`LabelValue`](macro@LabelValue). Another
//!   service declares its own catalog with them and uses `recorder` and the generators
//!   with none of the SMS metrics.
//! - **The SMS instance** ([`sms`], re-exported at the root): [`Metric`], its label
//!   types ([`SourceId`], [`SourceErrorType`]), subsystems, SLOs
//!   and runbook.
//!
//! Each metric is one item: a variant of the enum under `#[catalog::metrics]`, whose doc
//! comment is its HELP text and whose `#[metric(...)]` holds everything else. The macro
//! makes `Metric::X` a typed constant (labels and kind checked when recording) and
//! `MetricId::X` its id, whose `const fn def` returns the `&'static` [`MetricDef`].
//!
//! ```
//! use catalog::{Label, Metric, MetricCatalog, MetricId, MetricKind};
//!
//! let def = Metric::SourcesRequestsError.def();
//! assert_eq!(def.kind, MetricKind::Counter);
//! assert_eq!(def.labels, &[Label::SourceId, Label::SourceErrorType]);
//! assert!(catalog::validate::<MetricId>().is_ok());
//! // Every metric is listed once, in declaration order, under the catalog's prefix.
//! assert!(MetricId::ALL.iter().enumerate().all(|(i, m)| m.index() == i));
//! assert!(MetricId::ALL.iter().all(|m| m.def().name.starts_with(MetricId::PREFIX)));
//! ```
//!
//! This crate knows nothing about Grafana, PromQL evaluation or HTTP.

// The declaration macros name this crate `::catalog`, here as everywhere else.
extern crate self as catalog;

mod alerting;
mod labels;
mod model;
mod slot;
pub mod sms;
mod template;
mod typed;
mod validate;

pub use alerting::{
    AlertDef, Comparison, Indicator, Severity, Signal, SloDef, TARGET_LABELS, days, hours, minutes,
};
/// Derives a label type: [`LabelType`], [`LabelValue`] and the one-label [`LabelSet`].
///
/// Its doc comment's first paragraph is the label's help; `#[label(name = "...")]` its
/// Prometheus name. A fieldless enum is an enumerated label whose values are the snake
/// case of the variants (`HttpStatus` -> `http_status`; `#[label(value = "...")]` on a
/// variant overrides); a newtype over `&str` is free-form (add `catalog_metric` for a
/// label whose values are the catalog's metric names). The type must be `Copy`.
pub use catalog_macros::LabelValue;
/// Declares a catalog: one item per metric.
///
/// On an enum whose variants each carry a doc comment (the metric's HELP text, also its
/// rustdoc and its line in `docs/metrics.md`) and one `#[metric(...)]`:
///
/// ```
/// use catalog::{Subsystem, Unit, LabelValue};
///
/// const JOBS: Subsystem = Subsystem { name: "jobs", title: "Jobs", description: "Runs jobs." };
///
/// /// Which queue a job came from.
/// #[derive(Clone, Copy, Debug, LabelValue)]
/// #[label(name = "queue")]
/// pub enum Queue { Fast, Slow }
///
/// #[catalog::metrics(
///     prefix = "app_",
///     labels = [Queue],
///     subsystems = [JOBS],
/// )]
/// pub enum Metric {
///     /// Jobs finished.
///     #[metric(counter("app_jobs_done_total", &JOBS).labels::<Queue>())]
///     Done,
/// }
///
/// assert_eq!(Metric::Done.def().help, "Jobs finished.");
/// assert_eq!(<MetricId as catalog::MetricCatalog>::NAME, "app");
/// assert!(catalog::validate::<MetricId>().is_ok());
/// ```
///
/// A declaration starts with `counter(name, &SUBSYSTEM)`, `gauge(name, &SUBSYSTEM)` or
/// `histogram(name, &SUBSYSTEM, BUCKETS)` and continues with [`MetricDef`]'s setters,
/// ordinary `const` Rust: `.unit(..)`, `.max_series(..)`, `.success_twin(Metric::Y)`,
/// `.dashboard(..)`, `.alerts(&[..])`, `.unused(..)`. Two setters are read by the macro:
/// `.labels::<(A<'_>, B)>()` names the label types in exposition order (keys of the
/// definition and the typed label set of recording), and `.slos(&[..])` adds the
/// metric's SLOs to [`MetricCatalog::SLOS`], in catalog order.
///
/// Generated, next to the enum: `Metric` (an uninhabited type whose associated constants
/// `Metric::X` are the typed metrics, one zero-sized type each in module `metric`),
/// `MetricId` (the id enum: strum's iteration, [`MetricCatalog`], `const fn def`), and the
/// label-key enum (`Label`, or `label_enum = Name`). Settings: `prefix`, `labels` (every
/// label type of the catalog), `subsystems` (flow order), optional `runbook_base` and
/// `name` (the catalog's name in exports, `/catalog` and generated artifacts; the prefix
/// without its `_` by default). The recorder's self-metrics are not declared here: the
/// recorder brings its own catalog. Each catalog also gets its own [`Slot`], where the
/// recorder serving it installs itself, and each metric a [`DenseSlot`], where that
/// recorder publishes the series of an unlabeled or all-enumerated metric.
pub use catalog_macros::metrics;
pub use labels::{
    CatalogLabels, LabelDef, LabelKey, LabelSet, LabelType, LabelValue, LabelValues, MAX_LABELS,
    OVERFLOW_VALUE,
};
pub use model::{
    CustomQuery, DashboardHints, Deprecation, DropReason, MetricCatalog, MetricDef, MetricKind,
    MetricName, PanelHint, Stability, Subsystem, Unit, deprecated_help, renamed_from,
};
pub use slot::{DenseSlot, Slot};
pub use sms::{
    GATEWAY, Label, Metric, MetricId, RUNBOOK_BASE, SOURCES, SourceErrorType, SourceId, metric,
};
pub use template::{Placeholder, TemplatePart, ValueFormat, template_placeholders};
pub use typed::{CounterMetric, GaugeMetric, HistogramMetric, TypedMetric};
pub use validate::{Problem, check_buckets, check_label_name, check_metric_name, validate};

/// What the declaration macros' expansions name; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use strum;
}
