//! The storage catalog: valid, registered next to the SMS catalog without a clash, and
//! complete per subsystem.

use catalog::MetricCatalog;
use sms_storage::StorageMetricId;

#[test]
fn the_catalog_registers_next_to_the_sms_catalog() {
    assert!(catalog::validate::<StorageMetricId>().is_ok());
    let recorder = recorder::Builder::<catalog::MetricId>::new()
        .with::<StorageMetricId>()
        .build()
        .expect("no name is declared by both catalogs");
    let names: Vec<String> = recorder
        .export()
        .catalogs
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, ["sms", "storage", "recorder"]);
    assert_eq!(StorageMetricId::CRATE, "sms-storage");
}

/// Each subsystem has throughput, errors with their success twin, and latency.
#[test]
fn every_subsystem_has_throughput_errors_and_latency() {
    for subsystem in StorageMetricId::SUBSYSTEMS {
        let defs: Vec<_> = StorageMetricId::ALL
            .iter()
            .map(|m| m.def())
            .filter(|d| d.subsystem == subsystem)
            .collect();
        let kinds = |kind: &str| defs.iter().filter(|d| d.kind.type_name() == kind).count();
        assert!(kinds("counter") >= 2, "{}", subsystem.name);
        assert!(
            defs.iter().any(|d| d.success_twin.is_some()),
            "{}",
            subsystem.name
        );
        assert_eq!(kinds("histogram"), 1, "{}", subsystem.name);
    }
}
