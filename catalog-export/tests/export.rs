//! The export's round trip, its refusals, and what it says about the SMS catalog.

use catalog::{MetricCatalog, MetricId};
use catalog_export::{
    CatalogExport, Deprecated, Export, Exposition, Kind, LabelExport, MetricExport, RenamedNames,
    SCHEMA_VERSION, Stability, Values,
};
use proptest::prelude::*;

/// The storage library's catalog (the workspace's one rename in its window), compiled
/// from its declaration: `sms-storage` depends on `recorder`, which depends on this crate.
#[allow(dead_code)]
#[path = "../../storage/src/metrics.rs"]
mod storage;

fn metric() -> impl Strategy<Value = MetricExport> {
    (
        "[a-z_]{1,20}",
        prop_oneof![
            Just(Kind::Counter),
            Just(Kind::Gauge),
            Just(Kind::Histogram)
        ],
        "\\PC{0,40}",
        proptest::option::of(prop_oneof![
            Just("seconds".to_string()),
            Just("bytes".to_string())
        ]),
        proptest::collection::vec(
            (
                "[a-z_]{1,10}",
                "\\PC{0,20}",
                proptest::collection::vec("\\PC{0,8}", 0..4),
                any::<bool>(),
            ),
            0..3,
        ),
        proptest::option::of(1usize..100_000),
        proptest::option::of(proptest::collection::vec(
            any::<f64>().prop_filter("finite", |v| v.is_finite()),
            1..12,
        )),
    )
        .prop_map(|(name, kind, help, unit, labels, max_series, buckets)| {
            let deprecated = (help.len() % 2 == 1).then(|| Deprecated {
                since: "0.2.0".into(),
                reason: help.clone(),
                renamed_to: (help.len() % 3 == 0).then(|| name.clone()),
                hidden: help.len() % 5 == 0,
            });
            MetricExport {
                stability: [Stability::Alpha, Stability::Beta, Stability::Stable][name.len() % 3],
                deprecated,
                renamed_from: (help.len() % 4 == 0).then(|| format!("{name}_old")),
                name,
                kind,
                help,
                unit,
                subsystem: "sub".to_string(),
                labels: labels
                    .into_iter()
                    .map(|(name, help, values, free)| LabelExport {
                        name,
                        help,
                        values: if free {
                            Values::FreeForm
                        } else {
                            Values::OneOf { values }
                        },
                    })
                    .collect(),
                max_series,
                buckets,
                feature: (max_series.is_some()).then(|| "some_feature".to_string()),
                enabled: max_series.map(|m| m % 2 == 0),
            }
        })
}

proptest! {
    /// Any export reads back equal, floats included, and renders to the same bytes.
    #[test]
    fn json_round_trips_exactly(
        metrics in proptest::collection::vec(metric(), 0..6),
        exposition in proptest::option::of((0usize..3, any::<bool>())),
    ) {
        let mut export = Export::new(vec![CatalogExport {
            name: "t".into(),
            crate_name: "t".into(),
            prefix: "t_".into(),
            runtime_defined: false,
            metrics,
        }]);
        export.exposition = exposition.map(|(names, show_hidden_metrics)| Exposition {
            renamed_metrics: [RenamedNames::Both, RenamedNames::NewOnly, RenamedNames::OldOnly][names],
            show_hidden_metrics,
        });
        let json = export.to_json();
        let back = Export::from_json(&json).unwrap();
        prop_assert_eq!(&back, &export);
        prop_assert_eq!(back.to_json(), json);
    }
}

#[test]
fn other_schemas_newer_versions_and_unknown_fields_are_refused() {
    let json = Export::new(Vec::new()).to_json();
    assert!(Export::from_json(&json).is_ok());
    let other = json.replace("sms-metrics.catalog", "something.else");
    assert!(Export::from_json(&other).unwrap_err().contains("is not"));
    let newer = json.replace(
        &format!("\"schema_version\": {SCHEMA_VERSION}"),
        "\"schema_version\": 99",
    );
    assert_ne!(newer, json);
    // The release baseline of an older version stays readable.
    let older = json.replace(
        &format!("\"schema_version\": {SCHEMA_VERSION}"),
        "\"schema_version\": 1",
    );
    assert!(Export::from_json(&older).is_ok());
    assert!(
        Export::from_json(&newer)
            .unwrap_err()
            .contains("newer than")
    );
    let unknown = json.replace("\"catalogs\"", "\"extra\": 1, \"catalogs\"");
    assert!(
        Export::from_json(&unknown)
            .unwrap_err()
            .contains("unknown field")
    );
}

#[test]
fn the_sms_catalog_exports_every_metric_with_its_definition() {
    let export = CatalogExport::of::<MetricId>();
    assert_eq!(export.metrics.len(), MetricId::ALL.len());
    for (exported, metric) in export.metrics.iter().zip(MetricId::ALL) {
        let def = metric.def();
        assert_eq!(exported.name, def.name);
        assert_eq!(exported.help, def.help);
        assert_eq!(exported.labels.len(), def.labels.len());
        assert_eq!(
            exported.buckets.is_some(),
            matches!(exported.kind, Kind::Histogram)
        );
        assert_eq!(exported.max_series.unwrap_or(0), def.max_series);
    }
}

#[test]
fn a_rename_is_exported_both_ways() {
    use storage::StorageMetricId;
    let export = CatalogExport::of::<StorageMetricId>();
    let old = StorageMetricId::GatewayCasWritesSuccess;
    let new = old
        .def()
        .renamed_to()
        .expect("renamed in the storage catalog");
    let find = |m: StorageMetricId| {
        export
            .metrics
            .iter()
            .find(|e| e.name == m.def().name)
            .expect("exported")
    };
    assert_eq!(
        find(old)
            .deprecated
            .as_ref()
            .and_then(|d| d.renamed_to.as_deref()),
        Some(new.def().name)
    );
    assert_eq!(find(new).renamed_from.as_deref(), Some(old.def().name));
    assert_eq!(find(old).renamed_from, None);
}
