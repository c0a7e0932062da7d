//! Several catalogs in one recorder: one `/metrics` and one `/catalog` for all of them,
//! the self-metrics counted for every catalog, and the start-up errors (a catalog
//! registered twice, two catalogs exposing one name) naming what clashes.

mod support;

use catalog::{MetricCatalog, Subsystem};
use support::{Outcome, Priority, RunWithoutLabels, Tenant, Tiny, TinyId, dropped};

const STORE: Subsystem = Subsystem {
    name: "store",
    title: "Store",
    description: "Stores things.",
};

/// A library's catalog, registered next to the service's.
mod library {
    use super::*;

    #[catalog::metrics(prefix = "lib_", labels = [], subsystems = [STORE])]
    pub enum Lib {
        /// Things stored.
        #[metric(counter("lib_store_writes_total", &STORE))]
        Writes,
        /// Time to store a thing.
        #[metric(histogram("lib_store_write_seconds", &STORE, &[0.1, 1.0]).unit(catalog::Unit::Seconds))]
        WriteTime,
        /// Things waiting to be stored (only with feature `queue_stats`).
        #[metric(gauge("lib_store_queued", &STORE).feature("queue_stats"))]
        Queued,
    }
}

/// A catalog declaring a name the tiny catalog exposes too.
mod clash {
    use super::*;

    const JOBS: Subsystem = Subsystem {
        name: "jobs",
        title: "Jobs",
        description: "Other jobs.",
    };

    #[catalog::metrics(prefix = "tiny_", name = "clash", labels = [], subsystems = [JOBS])]
    pub enum Clash {
        /// Jobs waiting, counted again.
        #[metric(gauge("tiny_jobs_queued", &JOBS))]
        Queued,
    }
}

use clash::ClashId;
use library::{Lib, LibId};

fn both() -> recorder::Recorder<TinyId> {
    recorder::Builder::<TinyId>::new()
        .panic_on_misuse(false)
        .with::<LibId>()
        .build()
        .expect("two distinct catalogs")
}

#[test]
fn one_render_holds_every_catalog_then_the_self_metrics() {
    let tiny = both();
    let lib = tiny.catalog::<LibId>().expect("registered with `with`");
    tiny.inc(Tiny::Run, Outcome::Ok);
    lib.add(Lib::Writes, (), 3);
    lib.observe(Lib::WriteTime, (), 0.5);
    let text = tiny.render();
    assert_eq!(
        text,
        lib.render(),
        "every recorder of the set renders the same"
    );
    assert!(
        text.contains("tiny_jobs_run_total{outcome=\"ok\"} 1\n"),
        "{text}"
    );
    assert!(text.contains("lib_store_writes_total 3\n"), "{text}");
    assert!(text.contains("lib_store_write_seconds_count 1\n"), "{text}");
    let position = |name: &str| {
        text.find(&format!("# TYPE {name} "))
            .unwrap_or_else(|| panic!("{name} not in {text}"))
    };
    let dropped = recorder::SelfMetric::SamplesDropped.def().name;
    assert!(position("tiny_jobs_run_total") < position("lib_store_writes_total"));
    assert!(position("lib_store_writes_total") < position(dropped));
    assert!(tiny.catalog::<ClashId>().is_none());
}

#[test]
fn self_metrics_count_misuse_of_every_catalog() {
    let tiny = both();
    let lib = tiny.catalog::<LibId>().unwrap();
    lib.observe(Lib::WriteTime, (), f64::NAN);
    let text = tiny.render();
    assert_eq!(
        support::dropped(&text, Lib::WriteTime, "invalid_value"),
        1.0,
        "{text}"
    );
    assert_eq!(support::dropped(&text, Tiny::Run, "invalid_value"), 0.0);
    // The self-metrics' `metric` label enumerates every catalog's metrics, its own too.
    let dropped = recorder::SelfMetric::SamplesDropped.def().name;
    for name in [Lib::Writes.def().name, Tiny::Queued.def().name, dropped] {
        assert!(
            text.contains(&format!(
                "{dropped}{{metric=\"{name}\",reason=\"wrong_kind\"}} 0\n"
            )),
            "{name}: {text}"
        );
    }
}

#[test]
fn catalog_serves_every_catalog_in_order() {
    let export = both().export();
    let names: Vec<&str> = export.catalogs.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["tiny", "lib", "recorder"]);
    assert_eq!(export.catalogs[2].crate_name, "recorder");
}

#[test]
fn a_catalog_registered_twice_is_refused() {
    let error = recorder::Builder::<TinyId>::new()
        .with::<LibId>()
        .with::<LibId>()
        .build()
        .unwrap_err();
    assert!(
        matches!(error, recorder::Error::DuplicateCatalog { catalog: "lib" }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("`lib` is registered twice"),
        "{error}"
    );
    // The self-metrics are registered by the recorder: registering them is a duplicate.
    let error = recorder::Builder::<TinyId>::new()
        .with::<recorder::SelfMetricId>()
        .build()
        .unwrap_err();
    assert!(
        matches!(
            error,
            recorder::Error::DuplicateCatalog {
                catalog: "recorder"
            }
        ),
        "{error:?}"
    );
    let error = recorder::Builder::<TinyId>::new()
        .with::<TinyId>()
        .build()
        .unwrap_err();
    assert!(matches!(
        error,
        recorder::Error::DuplicateCatalog { catalog: "tiny" }
    ));
}

#[test]
fn two_catalogs_exposing_one_name_are_refused_naming_both() {
    let error = recorder::Builder::<TinyId>::new()
        .with::<LibId>()
        .with::<ClashId>()
        .build()
        .unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(
            &error,
            recorder::Error::NameCollision { name, metric: "tiny_jobs_queued", first: "tiny", second: "clash" }
                if name == "tiny_jobs_queued"
        ),
        "{error:?}"
    );
    assert!(
        message.contains("`tiny` and `clash` both expose `tiny_jobs_queued`"),
        "{message}"
    );
}

#[test]
fn an_invalid_library_catalog_is_refused_naming_it() {
    let error = recorder::Builder::<TinyId>::new()
        .with::<support::bad::BadId>()
        .build()
        .unwrap_err();
    assert!(
        matches!(&error, recorder::Error::InvalidCatalog { catalog: "bad", problems } if !problems.is_empty()),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .starts_with("invalid metric catalog `bad`")
    );
}

#[test]
fn a_feature_off_exposes_nothing_and_records_nothing_on_exposes_it() {
    let queued = Lib::Queued.def().name;
    for on in [false, true] {
        let lib = recorder::Builder::<LibId>::new()
            .feature("queue_stats", on)
            .build()
            .unwrap();
        lib.set(Lib::Queued, (), 4.0);
        lib.gauge(Lib::Queued, ()).set(5.0);
        let text = lib.render();
        assert_eq!(
            text.contains(&format!("# TYPE {queued} gauge")),
            on,
            "{text}"
        );
        assert_eq!(text.contains(&format!("\n{queued} 5\n")), on, "{text}");
        let export = lib.export();
        let metric = export.metrics().find(|(_, m)| m.name == queued).unwrap().1;
        assert_eq!(metric.feature.as_deref(), Some("queue_stats"));
        assert_eq!(metric.enabled, Some(on));
        let writes = export
            .metrics()
            .find(|(_, m)| m.name == Lib::Writes.def().name);
        assert_eq!(writes.unwrap().1.enabled, None, "no feature, no flag");
    }
    // Off is the default.
    let lib = recorder::Builder::<LibId>::new().build().unwrap();
    assert!(!lib.render().contains(queued));
}

#[test]
fn an_unknown_feature_is_refused_naming_the_declared_ones() {
    let error = recorder::Builder::<TinyId>::new()
        .with::<LibId>()
        .feature("queue_stat", true)
        .build()
        .unwrap_err();
    assert!(
        matches!(&error, recorder::Error::UnknownFeature { feature, declared }
            if feature == "queue_stat" && declared == &["queue_stats"]),
        "{error:?}"
    );
    assert!(error.to_string().contains("`queue_stat`"), "{error}");
}

/// The only test of this binary that installs: the free functions reach every catalog,
/// every kind, whether the metric's series are published up front (unlabeled and
/// all-enumerated metrics, found in their `DenseSlot`) or looked up (free-form labels),
/// and misuse through them is still caught.
#[test]
fn installed_free_functions_reach_every_catalog() {
    let tiny = recorder::Builder::<TinyId>::new()
        .listen("127.0.0.1:0".parse().unwrap())
        .with::<LibId>()
        .panic_on_misuse(false)
        .install()
        .expect("first install");
    recorder::inc(Tiny::Run, Outcome::Failed);
    recorder::add(Lib::Writes, (), 2);
    recorder::add(Tiny::Graded, (Outcome::Ok, Priority::High), 3);
    recorder::inc(Tiny::ByTenant, (Tenant("acme"), Outcome::Ok));
    recorder::set(Tiny::Queued, (), 5.0);
    recorder::dec(Tiny::Queued, ());
    recorder::observe(Tiny::Duration, (), 0.7);
    drop(recorder::start_timer(Lib::WriteTime, ()));
    // Misuse through the free functions: dropped and counted, never recorded.
    recorder::set(Tiny::Queued, (), f64::NAN);
    recorder::observe(Tiny::Duration, (), f64::INFINITY);
    recorder::inc(RunWithoutLabels, ());
    let text = tiny.render();
    for line in [
        "tiny_jobs_run_total{outcome=\"failed\"} 1\n",
        "tiny_jobs_run_total{outcome=\"ok\"} 0\n",
        "lib_store_writes_total 2\n",
        "tiny_jobs_graded_total{outcome=\"ok\",priority=\"high\"} 3\n",
        "tiny_jobs_graded_total{outcome=\"failed\",priority=\"high\"} 0\n",
        "tiny_jobs_by_tenant_total{tenant=\"acme\",outcome=\"ok\"} 1\n",
        "tiny_jobs_queued 4\n",
        "tiny_jobs_duration_seconds_bucket{le=\"0.5\"} 0\n",
        "tiny_jobs_duration_seconds_bucket{le=\"1.0\"} 1\n",
        "tiny_jobs_duration_seconds_count 1\n",
        "lib_store_write_seconds_count 1\n",
    ] {
        assert!(text.contains(line), "{line} not in:\n{text}");
    }
    assert_eq!(dropped(&text, Tiny::Queued, "invalid_value"), 1.0);
    assert_eq!(dropped(&text, Tiny::Duration, "invalid_value"), 1.0);
    assert_eq!(dropped(&text, Tiny::Run, "wrong_labels"), 1.0);
    assert_eq!(<LibId as MetricCatalog>::NAME, "lib");
    let again = recorder::Builder::<ClashId>::new()
        .listen("127.0.0.1:0".parse().unwrap())
        .install();
    assert!(matches!(again, Err(recorder::Error::AlreadyInstalled)));
}
