//! Whole-catalog invariants of the SMS catalog.

use std::collections::BTreeSet;

use catalog::{
    DropReason, Label, LabelKey, LabelValues, MetricCatalog, MetricId, MetricKind, Unit, validate,
};
use strum::IntoEnumIterator;

#[test]
fn catalog_is_valid() {
    if let Err(problems) = validate::<MetricId>() {
        let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
        panic!("catalog problems:\n{}", list.join("\n"));
    }
}

/// The seed document's metrics, with exactly these names, kinds and labels.
#[test]
fn seed_metrics_keep_their_names_kinds_and_labels() {
    let expect = |metric: MetricId, name: &str, kind: &str, labels: &[&str]| {
        let def = metric.def();
        assert_eq!(def.name, name, "{metric:?}");
        assert_eq!(def.kind.type_name(), kind, "{name}");
        let actual: Vec<&str> = def.labels.iter().map(|l| l.def().name).collect();
        assert_eq!(actual, labels, "{name}");
    };
    use MetricId::*;
    expect(
        SourcesRequestsSuccess,
        "sms_sources_requests_success_total",
        "counter",
        &["source_id"],
    );
    expect(
        SourcesRequestsError,
        "sms_sources_requests_error_total",
        "counter",
        &["source_id", "error_type"],
    );
    expect(
        SourcesRequestDuration,
        "sms_sources_request_duration_seconds",
        "histogram",
        &["source_id"],
    );
    expect(
        GatewayEnvelopesAccepted,
        "sms_gateway_envelopes_accepted_total",
        "counter",
        &["source_id"],
    );
    expect(
        GatewayEnvelopesDeduplicated,
        "sms_gateway_envelopes_deduplicated_total",
        "counter",
        &["source_id"],
    );
    expect(
        GatewayCasWritesSuccess,
        "sms_gateway_cas_writes_success_total",
        "counter",
        &[],
    );
    expect(
        GatewayCasObjectsWritten,
        "sms_gateway_cas_objects_written_total",
        "counter",
        &[],
    );
    expect(
        IngestLogWritesSuccess,
        "sms_ingest_log_writes_success_total",
        "counter",
        &[],
    );
    expect(
        IngestLogWritesError,
        "sms_ingest_log_writes_error_total",
        "counter",
        &["error_type"],
    );
    expect(
        IngestLogCurrentFileSize,
        "sms_ingest_log_current_file_size_bytes",
        "gauge",
        &[],
    );
    assert_eq!(
        SourcesRequestDuration.def().buckets(),
        Some(&[0.1, 0.5, 1.0, 2.5, 5.0, 10.0][..])
    );
}

#[test]
fn at_least_fifteen_metrics_of_all_three_kinds() {
    assert!(MetricId::ALL.len() >= 15);
    let kinds: BTreeSet<&str> = MetricId::ALL
        .iter()
        .map(|m| m.def().kind.type_name())
        .collect();
    assert_eq!(kinds, BTreeSet::from(["counter", "gauge", "histogram"]));
}

/// The seed's `all_metrics_have_unique_names`.
#[test]
fn all_metrics_have_unique_names() {
    let mut names = BTreeSet::new();
    for metric in MetricId::iter() {
        assert!(
            names.insert(metric.def().name),
            "duplicate metric: {}",
            metric.def().name
        );
    }
}

/// `ALL` and the strum iterator agree, and `index` is the position in `ALL`.
#[test]
fn all_lists_every_variant_in_order() {
    let iterated: Vec<MetricId> = MetricId::iter().collect();
    assert_eq!(iterated, MetricId::ALL);
    for (i, metric) in MetricId::ALL.iter().enumerate() {
        assert_eq!(metric.index(), i);
    }
}

/// Every subsystem has throughput, errors, and latency or saturation.
#[test]
fn every_pipeline_phase_has_throughput_errors_and_latency_or_saturation() {
    for subsystem in &MetricId::SUBSYSTEMS[..3] {
        let defs: Vec<_> = MetricId::ALL
            .iter()
            .map(|m| m.def())
            .filter(|d| d.subsystem == subsystem)
            .collect();
        let has = |pred: &dyn Fn(&&catalog::MetricDef<MetricId>) -> bool| defs.iter().any(pred);
        assert!(
            has(&|d| d.kind == MetricKind::Counter && d.success_twin.is_none()),
            "{}: throughput",
            subsystem.name
        );
        assert!(
            has(&|d| d.success_twin.is_some()),
            "{}: errors",
            subsystem.name
        );
        assert!(
            has(&|d| matches!(d.kind, MetricKind::Histogram { .. }) || d.kind == MetricKind::Gauge),
            "{}: latency or saturation",
            subsystem.name
        );
    }
}

#[test]
fn histograms_have_a_unit_and_free_form_labels_a_bound() {
    for metric in MetricId::ALL {
        let def = metric.def();
        if def.buckets().is_some() {
            assert_ne!(def.unit, Unit::None, "{}", def.name);
        }
        if def.has_free_form_label() {
            assert!(def.max_series > 0, "{}", def.name);
        }
    }
}

#[test]
fn drop_reasons_match_their_label_values() {
    let values: Vec<&str> = DropReason::iter().map(DropReason::as_str).collect();
    assert_eq!(values, DropReason::VALUES);
    assert_eq!(
        Label::DropReason.def().values,
        LabelValues::OneOf(DropReason::VALUES)
    );
}
