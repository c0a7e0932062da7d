//! The catalogs the service uses, declared once: every generator, check, lint, the e2e
//! and `live-check` walk this list.
//!
//! `pipeline_demo::recorder_builder` registers the same catalogs at run time (xtask may
//! not depend on the demo); the e2e compares each instance's `/catalog` with
//! [`export`], so a catalog added on one side only fails it. Each catalog brings its
//! own artifacts (dashboards, rule files, runbooks, a section of `docs/metrics.md`);
//! names that two catalogs would both write (exposed metric names, subsystems, alerts,
//! catalog names) are [`collisions`], which `cargo xtask check` fails on.

use std::collections::BTreeMap;

use anyhow::Result;
use catalog::MetricCatalog;
use catalog_export::{CatalogExport, Export};

/// Files that declare a catalog outside `catalog/`: the lint treats them like
/// `catalog/` (metric names may be spelled there; a reference there is no use).
pub const DECLARATIONS: &[&str] = &["storage/src/metrics.rs", "recorder/src/self_metrics.rs"];

/// Something done once per catalog, with the catalog's type.
pub trait Visitor {
    /// Called for each catalog, in registration order.
    fn visit<C: MetricCatalog>(&mut self) -> Result<()>;
}

/// Calls `visitor` for every catalog of the service, in registration order: the SMS
/// catalog, the storage library's, the recorder's self-metrics (registered last by
/// every recorder).
pub fn visit_all(visitor: &mut impl Visitor) -> Result<()> {
    visitor.visit::<catalog::MetricId>()?;
    visitor.visit::<sms_storage::StorageMetricId>()?;
    visitor.visit::<recorder::SelfMetricId>()
}

/// Every catalog as one export document (what each instance serves at `/catalog`).
pub fn export() -> Export {
    struct Exports(Vec<CatalogExport>);
    impl Visitor for Exports {
        fn visit<C: MetricCatalog>(&mut self) -> Result<()> {
            self.0.push(CatalogExport::of::<C>());
            Ok(())
        }
    }
    let mut exports = Exports(Vec::new());
    // Infallible: the visitor never fails.
    let _ = visit_all(&mut exports);
    Export::new(exports.0)
}

/// Names two catalogs would both write, one line each naming both catalogs.
pub fn collisions() -> Vec<String> {
    collisions_in(visit_all)
}

/// [`collisions`] over the catalogs `visit` visits.
fn collisions_in(visit: impl FnOnce(&mut Seen) -> Result<()>) -> Vec<String> {
    let mut seen = Seen::default();
    let _ = visit(&mut seen);
    seen.found
}

/// What the catalogs visited so far declare.
#[derive(Default)]
struct Seen {
    /// (what, name) -> the catalog that declared it first (its type and description).
    first: BTreeMap<(&'static str, String), (&'static str, String)>,
    found: Vec<String>,
}

impl Seen {
    fn claim<C: MetricCatalog>(&mut self, what: &'static str, name: String) {
        let id = std::any::type_name::<C>();
        let catalog = format!("`{}` (crate `{}`)", C::NAME, C::CRATE);
        match self.first.get(&(what, name.clone())) {
            Some((first_id, first)) if *first_id != id => self.found.push(format!(
                "{what} `{name}` is declared by catalogs {first} and {catalog}: rename one"
            )),
            Some(_) => {}
            None => {
                self.first.insert((what, name), (id, catalog));
            }
        }
    }
}

impl Visitor for Seen {
    fn visit<C: MetricCatalog>(&mut self) -> Result<()> {
        self.claim::<C>("catalog", C::NAME.to_string());
        for metric in C::ALL {
            self.claim::<C>("metric", metric.def().name.to_string());
            for alert in metric.def().alerts {
                self.claim::<C>("alert", alert.name.to_string());
            }
        }
        for slo in C::SLOS {
            self.claim::<C>("alert", slo.burn_alert_name());
        }
        // Dashboards and rule files are named after the subsystem.
        for subsystem in C::SUBSYSTEMS {
            self.claim::<C>("subsystem", subsystem.name.to_string());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_catalogs_do_not_collide() {
        assert_eq!(collisions(), Vec::<String>::new());
        let names: Vec<String> = export().catalogs.into_iter().map(|c| c.name).collect();
        assert_eq!(names, ["sms", "storage", "recorder"]);
        // The seed's requirement, for the service as a whole.
        assert!(export().metrics().count() >= 15);
    }

    /// A library catalog reusing the SMS catalog's name, a subsystem and an alert name.
    mod clashing {
        use catalog::{AlertDef, Comparison, Signal, Subsystem, minutes};

        const SOURCES: Subsystem = Subsystem {
            name: "sources",
            title: "Sources",
            description: "Other sources.",
        };

        #[catalog::metrics(prefix = "lib_", name = "sms", labels = [], subsystems = [SOURCES])]
        pub enum Lib {
            /// Polls.
            #[metric(counter("lib_sources_polls_total", &SOURCES).alerts(&[
                AlertDef::new("SmsSourcesStalled", Signal::Rate { window: minutes(5) }, Comparison::Below, 1.0)
                    .summary("Stalled.")
                    .description("{{ $value }} polls per second."),
            ]))]
            Polls,
        }
    }

    #[test]
    fn collisions_name_what_and_both_catalogs() {
        let found = collisions_in(|seen| {
            seen.visit::<catalog::MetricId>()?;
            seen.visit::<clashing::LibId>()
        });
        assert_eq!(
            found,
            [
                "catalog `sms` is declared by catalogs `sms` (crate `catalog`) and `sms` (crate `xtask`): rename one",
                "alert `SmsSourcesStalled` is declared by catalogs `sms` (crate `catalog`) and `sms` (crate `xtask`): rename one",
                "subsystem `sources` is declared by catalogs `sms` (crate `catalog`) and `sms` (crate `xtask`): rename one",
            ]
        );
    }
}
