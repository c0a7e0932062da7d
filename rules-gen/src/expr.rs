//! What an alert compares, from the shared signal builders (`signals`).
//!
//! Every expression aggregates per scrape `job` plus the alert's `by` labels and is
//! recorded under `level:metric:operations` (Prometheus' recording-rule convention);
//! `signals` writes both, so dashboards plot exactly the series alerts compare.

use catalog::{AlertDef, MetricCatalog};

pub(crate) use signals::{Record, kept_labels, le_forms, present_series, slo_error_ratio};

/// The recorded series an alert's condition compares, or the raw expression for
/// signals that need no recording rule (absent).
pub(crate) fn signal<C: MetricCatalog>(metric: C, alert: &AlertDef<C>) -> SignalExpr {
    match signals::alert_record(metric, alert) {
        Some(record) => SignalExpr::Recorded(record),
        None => SignalExpr::Raw(signals::absent(metric)),
    }
}

/// What an alert compares with its threshold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SignalExpr {
    /// A recording rule; the alert compares the recorded series.
    Recorded(Record),
    /// An expression used as it is.
    Raw(String),
}
