//! Test fixtures: what a conforming instance serves, rendered by the real recorder.

use catalog::{LabelKey, LabelValues, Metric, MetricKind};

/// What every counter series of [`exposition`] was incremented by.
pub const COUNTER_STEP: u64 = 7;

/// Free-form label value used by [`exposition`].
pub const SOURCE: &str = "fixture-source";

/// The `/metrics` text of a recorder (not installed, not served) in which every catalog
/// metric was recorded once with allowed labels.
pub fn exposition() -> String {
    let recorder = recorder::Builder::<Metric>::new()
        .panic_on_misuse(true)
        .build()
        .expect("the catalog is valid");
    for metric in <Metric as catalog::MetricCatalog>::ALL {
        let def = metric.def();
        if def.unused.is_some() {
            // Recorded by the recorder itself (exposed at 0 from the start).
            continue;
        }
        let labels: Vec<_> = def
            .labels
            .iter()
            .map(|label| {
                let value = match label.def().values {
                    LabelValues::OneOf(values) => values[0],
                    LabelValues::CatalogMetric => Metric::SourcesRequestsSuccess.def().name,
                    LabelValues::FreeForm => SOURCE,
                };
                (*label, value)
            })
            .collect();
        match def.kind {
            MetricKind::Counter => recorder.add(*metric, &labels, COUNTER_STEP),
            MetricKind::Gauge => recorder.set(*metric, &labels, 1.0),
            MetricKind::Histogram { .. } => recorder.observe(*metric, &labels, 0.05),
        }
    }
    recorder.render()
}

/// The generated dashboards, with the first target of the first panel that has one
/// replaced by a rate of `metric` (a metric no instance emits) and that panel titled
/// `title`: the input of the "dashboard queries a metric nobody emits" reports.
pub fn dashboards_querying(metric: &str, title: &str) -> Vec<dashboard_gen::model::Dashboard> {
    let mut dashboards = dashboard_gen::generate::<Metric>().expect("the catalog generates");
    let panel = dashboards[0]
        .panels
        .iter_mut()
        .find(|p| p.targets.as_ref().is_some_and(|t| !t.is_empty()))
        .expect("a panel with targets");
    panel.title = title.to_string();
    panel.targets.as_mut().expect("targets")[0].expr =
        format!("sum(rate({metric}{{job=~\"$job\"}}[$__rate_interval]))");
    dashboards
}
