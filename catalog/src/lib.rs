//! The metric catalog: every metric of the SMS ingest pipeline, defined once.
//!
//! Each metric is a variant of [`Metric`]; [`Metric::def`] returns its `&'static`
//! definition ([`MetricDef`]): Prometheus name, kind and buckets, help, labels
//! ([`Label`] variants, never strings), unit, subsystem, series bound and dashboard
//! hints, plus the alerts watching it ([`AlertDef`]); catalog-wide service-level
//! objectives ([`SloDef`]) are listed in [`MetricCatalog::SLOS`]. Everything downstream derives from these definitions: the `recorder` crate
//! records through them at run time, `dashboard-gen` and `xtask` generate dashboards,
//! rules and docs from them at build time.
//!
//! The vocabulary ([`MetricCatalog`], [`MetricDef`], ...) is generic, so other catalogs
//! can reuse the recorder and generators; [`validate`] checks any catalog against
//! Prometheus naming rules and the catalog's own invariants.
//!
//! ```
//! use catalog::{Label, Metric, MetricCatalog, MetricKind};
//!
//! let def = Metric::SourcesRequestsError.def();
//! assert_eq!(def.kind, MetricKind::Counter);
//! assert_eq!(def.labels, &[Label::SourceId, Label::SourceErrorType]);
//! assert!(catalog::validate::<Metric>().is_ok());
//! // Every metric is listed once, in declaration order, under the catalog's prefix.
//! assert!(Metric::ALL.iter().enumerate().all(|(i, m)| m.index() == i));
//! assert!(Metric::ALL.iter().all(|m| m.def().name.starts_with(Metric::PREFIX)));
//! ```
//!
//! This crate knows nothing about Grafana, PromQL evaluation or HTTP.

mod alerting;
mod model;
mod sms;
mod validate;

pub use alerting::{
    AlertDef, Comparison, Indicator, Placeholder, Severity, Signal, SloDef, TARGET_LABELS,
    TemplatePart, ValueFormat, days, hours, minutes, template_placeholders,
};
pub use model::{
    CustomQuery, DashboardHints, DropReason, LabelDef, LabelKey, LabelValues, MetricCatalog,
    MetricDef, MetricKind, OVERFLOW_VALUE, PanelHint, Subsystem, Unit,
};
pub use sms::{
    GATEWAY, INGEST_LOG, Label, Metric, RECORDER, SOURCE_ERROR_TYPES, SOURCES, STORAGE_ERROR_TYPES,
};
pub use validate::{Problem, check_buckets, check_label_name, check_metric_name, validate};
