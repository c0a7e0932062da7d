//! Deprecated metrics: HELP says so and names the replacement, hidden ones are left out
//! unless the service shows hidden metrics, and a rename that changes kind is refused.

use catalog::{Deprecation, Stability, Subsystem};

const CORE: Subsystem = Subsystem {
    name: "core",
    title: "Core",
    description: "Does the work.",
};

mod lifecycle {
    use super::*;

    /// A catalog in the middle of a rename, with a hidden metric on its way out.
    #[catalog::metrics(
        prefix = "lc_",
        labels = [],
        subsystems = [CORE],
    )]
    pub enum Lc {
        /// Jobs done (old name).
        #[metric(counter("lc_core_jobs_total", &CORE)
            .stability(Stability::Stable)
            .deprecated(Deprecation::new("0.2.0", "Renamed for consistency").renamed_to(Lc::Done.id())))]
        Jobs,
        /// Jobs done.
        #[metric(counter("lc_core_jobs_done_total", &CORE).stability(Stability::Stable))]
        Done,
        /// Retries, no longer measured.
        #[metric(counter("lc_core_retries_total", &CORE)
            .deprecated(Deprecation::new("0.1.0", "Retries are gone").hidden()))]
        Retries,
    }
}

mod bad_rename {
    use super::*;

    /// A rename whose target is a gauge.
    #[catalog::metrics(
        prefix = "br_",
        labels = [],
        subsystems = [CORE],
    )]
    pub enum Br {
        /// Jobs done (old name).
        #[metric(counter("br_core_jobs_total", &CORE)
            .deprecated(Deprecation::new("0.2.0", "Renamed").renamed_to(Br::Backlog.id())))]
        Jobs,
        /// Jobs waiting.
        #[metric(gauge("br_core_backlog", &CORE))]
        Backlog,
    }
}

use lifecycle::{Lc, LcId};

fn render(show_hidden: bool) -> String {
    let recorder = recorder::Builder::<LcId>::new()
        .panic_on_misuse(true)
        .show_hidden_metrics(show_hidden)
        .build()
        .expect("the lifecycle catalog is valid");
    recorder.inc(Lc::Jobs, ());
    recorder.inc(Lc::Done, ());
    recorder.inc(Lc::Retries, ());
    recorder.render()
}

#[test]
fn a_deprecated_metric_says_so_in_its_help_and_names_its_replacement() {
    let text = render(false);
    assert!(
        text.contains("# HELP lc_core_jobs_total Deprecated since 0.2.0, use lc_core_jobs_done_total instead: Renamed for consistency. Jobs done (old name).\n"),
        "{text}"
    );
    assert!(
        text.contains("# HELP lc_core_jobs_done_total Jobs done.\n"),
        "{text}"
    );
    // Renamed: the old name shows the new metric's series, recorded into directly or
    // through the old metric (see tests/rename.rs).
    assert!(text.contains("\nlc_core_jobs_total 2\n"), "{text}");
    assert!(text.contains("\nlc_core_jobs_done_total 2\n"), "{text}");
}

#[test]
fn a_hidden_metric_is_left_out_unless_hidden_metrics_are_shown() {
    let hidden = render(false);
    assert!(!hidden.contains("# HELP lc_core_retries_total"), "{hidden}");
    assert!(!hidden.contains("\nlc_core_retries_total "), "{hidden}");
    let shown = render(true);
    assert!(
        shown.contains("# HELP lc_core_retries_total Deprecated since 0.1.0: Retries are gone. Retries, no longer measured.\n"),
        "{shown}"
    );
    assert!(shown.contains("\nlc_core_retries_total 1\n"), "{shown}");
}

#[test]
fn a_rename_that_changes_kind_is_refused() {
    let problems = catalog::validate::<bad_rename::BrId>().expect_err("kind changes");
    let text = format!("{problems:?}");
    assert!(text.contains("renamed-to"), "{text}");
    assert!(text.contains("br_core_backlog"), "{text}");
    assert!(catalog::validate::<LcId>().is_ok());
}

#[test]
fn the_export_carries_stability_and_deprecations() {
    let export = catalog_export::CatalogExport::of::<LcId>();
    let jobs = &export.metrics[0];
    assert_eq!(jobs.stability, catalog_export::Stability::Stable);
    let deprecated = jobs.deprecated.as_ref().expect("deprecated");
    assert_eq!(deprecated.since, "0.2.0");
    assert_eq!(
        deprecated.renamed_to.as_deref(),
        Some("lc_core_jobs_done_total")
    );
    assert!(!deprecated.hidden);
    let retries = export.metrics[2].deprecated.as_ref().expect("deprecated");
    assert!(retries.hidden && retries.renamed_to.is_none());
    // Not declared: alpha.
    assert_eq!(
        export.metrics[2].stability,
        catalog_export::Stability::Alpha
    );
}
