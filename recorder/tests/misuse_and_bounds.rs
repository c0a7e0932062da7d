//! Misuse is counted (or panics when asked to), and free-form labels stay bounded.

mod support;

use proptest::prelude::*;
use support::{
    MAX_TENANT_SERIES, Outcome, Priority, RunWithoutLabels, Tenant, Tiny, TinyId,
    counting_recorder, dropped, sample,
};

// Wrong label sets, wrong values of enumerated labels and operations of the wrong kind
// do not compile: see `tests/compile_fail/`.

#[test]
fn enumerated_series_exist_from_the_start_and_count_exactly() {
    let recorder = counting_recorder();
    let run = Tiny::Run;
    recorder.inc(run, Outcome::Ok);
    let text = recorder.render();
    let name = run.def().name;
    assert_eq!(
        sample(&text, &format!("{name}{{outcome=\"ok\"}}")),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, &format!("{name}{{outcome=\"failed\"}}")),
        Some(0.0)
    );
    assert_eq!(dropped(&text, run, "wrong_labels"), 0.0);
}

#[test]
fn invalid_values_are_dropped_and_counted() {
    let recorder = counting_recorder();
    recorder.observe(Tiny::Duration, (), f64::NAN);
    recorder.set(Tiny::Queued, (), f64::INFINITY);
    recorder.histogram(Tiny::Duration, ()).observe(f64::NAN);
    recorder.gauge(Tiny::Queued, ()).set(f64::NEG_INFINITY);
    let text = recorder.render();
    assert_eq!(dropped(&text, Tiny::Duration, "invalid_value"), 2.0);
    assert_eq!(dropped(&text, Tiny::Queued, "invalid_value"), 2.0);
    assert_eq!(dropped(&text, Tiny::Duration, "wrong_kind"), 0.0);
    let duration = Tiny::Duration.def().name;
    let count = sample(&text, &format!("{duration}_count"));
    assert!(
        matches!(count, None | Some(0.0)),
        "no observation may land: {count:?}"
    );
    assert!(!text.contains("NaN"), "{text}");
}

#[test]
#[should_panic(expected = "recorder misuse on `tiny_jobs_queued` (invalid_value)")]
fn misuse_panics_when_asked_to() {
    let recorder = recorder::Builder::<TinyId>::new()
        .panic_on_misuse(true)
        .build()
        .unwrap();
    recorder.set(Tiny::Queued, (), f64::NAN);
}

#[test]
fn series_past_the_bound_fold_into_one_overflow_series_per_enumerated_value() {
    let recorder = counting_recorder();
    let metric = Tiny::ByTenant;
    for tenant in 0..50 {
        let tenant = format!("tenant-{tenant}");
        recorder.inc(metric, (Tenant(&tenant), Outcome::Ok));
        recorder.inc(metric, (Tenant(&tenant), Outcome::Failed));
    }
    let text = recorder.render();
    let name = metric.def().name;
    let overflow = |outcome: &str| {
        sample(
            &text,
            &format!(
                "{name}{{tenant=\"{}\",outcome=\"{outcome}\"}}",
                catalog::OVERFLOW_VALUE
            ),
        )
    };
    // The first MAX_TENANT_SERIES series are admitted (tenant-0 ok, tenant-0 failed, tenant-1 ok).
    assert_eq!(MAX_TENANT_SERIES, 3);
    assert_eq!(overflow("ok"), Some(49.0 - 1.0));
    assert_eq!(overflow("failed"), Some(49.0));
    assert_eq!(recorder.series_count(metric), MAX_TENANT_SERIES + 2);
    let folded = format!(
        "{}{{metric=\"{name}\"}}",
        recorder::SelfMetric::SeriesOverflow.def().name
    );
    assert_eq!(sample(&text, &folded), Some(97.0));
    // Admitted series keep counting after the bound is reached.
    recorder.inc(metric, (Tenant("tenant-0"), Outcome::Ok));
    let text = recorder.render();
    assert_eq!(
        sample(
            &text,
            &format!("{name}{{tenant=\"tenant-0\",outcome=\"ok\"}}")
        ),
        Some(2.0)
    );
}

proptest! {
    /// Typed enumerated labels index the dense series directly: whatever combinations
    /// are recorded, each lands on the series exposed with exactly those label values.
    #[test]
    fn enumerated_label_sets_land_on_their_own_series(
        calls in prop::collection::vec((0usize..2, 0usize..3), 0..40)
    ) {
        let recorder = counting_recorder();
        let mut expected = [[0.0f64; 3]; 2];
        for &(outcome, priority) in &calls {
            recorder.inc(Tiny::Graded, (Outcome::ALL[outcome], Priority::ALL[priority]));
            expected[outcome][priority] += 1.0;
        }
        let text = recorder.render();
        let name = Tiny::Graded.def().name;
        for (o, outcome) in Outcome::ALL.iter().enumerate() {
            for (p, priority) in Priority::ALL.iter().enumerate() {
                let series = format!(
                    "{name}{{outcome=\"{}\",priority=\"{}\"}}",
                    outcome.as_str(),
                    priority.as_str()
                );
                prop_assert_eq!(sample(&text, &series), Some(expected[o][p]), "{}", series);
            }
        }
    }

    /// Whatever tenants arrive, in whatever order: at most the bound plus the overflow
    /// series exist, and no increment is lost (admitted + overflow = calls).
    #[test]
    fn bounded_series_and_no_lost_increments(tenants in prop::collection::vec("[a-z]{1,3}", 1..60)) {
        let recorder = counting_recorder();
        let metric = Tiny::ByTenant;
        for tenant in &tenants {
            recorder.inc(metric, (Tenant(tenant), Outcome::Ok));
        }
        prop_assert!(recorder.series_count(metric) <= MAX_TENANT_SERIES + 1);
        let text = recorder.render();
        let prefix = format!("{}{{", metric.def().name);
        let total: f64 = text
            .lines()
            .filter(|l| l.starts_with(&prefix))
            .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
            .sum();
        prop_assert_eq!(total, tenants.len() as f64);
    }
}

#[test]
fn an_invalid_catalog_fails_fast_naming_the_metric() {
    // The SMS catalog is valid; a catalog with a bad name is not. Validation is the
    // catalog's, run again by the builder: check the builder's error text.
    let error = recorder::Builder::<support::bad::BadId>::new()
        .build()
        .expect_err("invalid catalog");
    let text = error.to_string();
    assert!(
        text.contains("bad_requests: counter names end in `_total`"),
        "{text}"
    );
    assert!(text.contains("bad_latency_ms"), "{text}");
}

#[test]
fn a_label_set_of_the_wrong_length_never_lands_in_a_series() {
    let recorder = counting_recorder();
    recorder.inc(RunWithoutLabels, ());
    recorder.counter(RunWithoutLabels, ()).inc();
    let text = recorder.render();
    let name = Tiny::Run.def().name;
    for outcome in ["ok", "failed"] {
        assert_eq!(
            sample(&text, &format!("{name}{{outcome=\"{outcome}\"}}")),
            Some(0.0),
            "{text}"
        );
    }
    assert_eq!(dropped(&text, Tiny::Run, "wrong_labels"), 2.0);
}
