//! Validation of alerts and SLOs, on a tiny catalog whose every alert and SLO is wrong
//! in one way, and on the SMS catalog's alerts.

use std::collections::BTreeSet;

use catalog::{
    AlertDef, Comparison, LabelValue, MetricCatalog, MetricId, Severity, Signal, SloDef, Subsystem,
    Unit, minutes, validate,
};

const TINY: Subsystem = Subsystem {
    name: "jobs",
    title: "Jobs",
    description: "Runs jobs.",
};

/// Queue name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
#[label(name = "queue")]
enum Queue {
    A,
    B,
}

type Alert = AlertDef<TinyId>;

const BAD_ALERTS: &[Alert] = &[
    // Not CamelCase with the prefix; quantile on a counter; no summary.
    Alert::new(
        "jobs_slow",
        Signal::Quantile {
            quantile: 0.99,
            window: minutes(5),
        },
        Comparison::Above,
        1.0,
    )
    .description("x"),
    // Error ratio without a twin, threshold >= 1, templated summary, unknown label.
    Alert::new(
        "TinyRatio",
        Signal::ErrorRatio { window: minutes(5) },
        Comparison::Above,
        1.5,
    )
    .summary("{{ $value }}")
    .description("{{ $labels.queue }}"),
    // Same name twice, `by` a label the metric lacks, odd window and for.
    Alert::new(
        "TinyRatio",
        Signal::Rate {
            window: std::time::Duration::from_secs(90),
        },
        Comparison::Below,
        0.0,
    )
    .by(&[TinyLabel::Queue])
    .for_duration(std::time::Duration::from_secs(30))
    .summary("s")
    .description("{{ $value | title }}")
    .runbook_anchor("Not An Anchor"),
];

const HISTOGRAM_ALERTS: &[Alert] = &[Alert::new(
    "TinyDurationHigh",
    Signal::Quantile {
        quantile: 1.5,
        window: minutes(5),
    },
    Comparison::Above,
    2.0,
)
.severity(Severity::Warning)
.summary("s")
.description("{{ $value | humanizeDuration }}")];

#[catalog::metrics(
    prefix = "tiny_",
    labels = [Queue],
    subsystems = [TINY],
    label_enum = TinyLabel,
)]
enum Tiny {
    /// Jobs done.
    #[metric(counter("tiny_jobs_done_total", &TINY)
        .alerts(BAD_ALERTS)
        .slos(&[SloDef::availability("done", "t", Tiny::Done.id(), 0.5)]))]
    Done,
    /// Jobs failed.
    #[metric(counter("tiny_jobs_failed_total", &TINY)
        .labels::<Queue>()
        .success_twin(Tiny::Done)
        .slos(&[SloDef::availability("done", "", Tiny::Failed.id(), 1.0).period(minutes(60))]))]
    Failed,
    /// Job time.
    #[metric(histogram("tiny_jobs_duration_seconds", &TINY, &[1.0, 5.0])
        .unit(Unit::Seconds)
        .alerts(HISTOGRAM_ALERTS)
        .slos(&[SloDef::latency("Bad Name", "t", Tiny::Duration.id(), 3.0, 0.999)]))]
    Duration,
    /// Queued jobs.
    #[metric(gauge("tiny_jobs_depth", &TINY))]
    Depth,
}

#[test]
fn every_alert_and_slo_problem_is_reported_naming_metric_and_rule() {
    let problems = validate::<TinyId>().expect_err("the tiny catalog is wrong on purpose");
    let found: BTreeSet<(String, &str)> = problems
        .iter()
        .map(|p| (p.metric.clone(), p.rule))
        .collect();
    let expected = [
        ("tiny_jobs_done_total", "alert-name"),
        ("tiny_jobs_done_total", "alert-signal"),
        ("tiny_jobs_done_total", "alert-summary"),
        ("tiny_jobs_done_total", "alert-threshold"),
        ("tiny_jobs_done_total", "alert-description"),
        ("tiny_jobs_done_total", "alert-unique"),
        ("tiny_jobs_done_total", "alert-by"),
        ("tiny_jobs_done_total", "alert-window"),
        ("tiny_jobs_done_total", "alert-for"),
        ("tiny_jobs_done_total", "alert-runbook"),
        ("tiny_jobs_duration_seconds", "alert-signal"),
        ("tiny_jobs_duration_seconds", "slo-name"),
        ("tiny_jobs_duration_seconds", "slo-threshold"),
        ("tiny_jobs_done_total", "slo-indicator"),
        ("tiny_jobs_done_total", "slo-objective"),
        ("tiny_jobs_failed_total", "slo-unique"),
        ("tiny_jobs_failed_total", "slo-title"),
        ("tiny_jobs_failed_total", "slo-objective"),
        ("tiny_jobs_failed_total", "slo-period"),
    ];
    for (metric, rule) in expected {
        assert!(
            found.contains(&(metric.to_string(), rule)),
            "{metric} {rule} not reported; got:\n{}",
            problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    let threshold = problems
        .iter()
        .find(|p| p.rule == "slo-threshold")
        .unwrap()
        .to_string();
    assert!(
        threshold.contains("latency threshold 3 is not one of the buckets [1.0, 5.0]"),
        "{threshold}"
    );
    // The valid quantile threshold (2 is not a bucket) is reported too.
    assert!(
        problems
            .iter()
            .any(|p| p.rule == "alert-threshold" && p.metric == "tiny_jobs_duration_seconds")
    );
}

#[test]
fn sms_alert_names_are_unique_and_every_histogram_slo_uses_a_bucket() {
    let mut names = BTreeSet::new();
    for metric in MetricId::ALL {
        for alert in metric.def().alerts {
            assert!(names.insert(alert.name), "{} twice", alert.name);
        }
    }
    assert!(names.len() >= 5, "{names:?}");
    assert!(!MetricId::SLOS.is_empty());
    assert!(!MetricId::RUNBOOK_BASE.is_empty() && !MetricId::RUNBOOK_BASE.contains("example."));
}

#[test]
fn a_derived_label_lists_its_values_in_declaration_order() {
    assert_eq!(Queue::VALUES, ["a", "b"]);
    let strings: Vec<&str> = Queue::ALL.iter().map(|q| q.as_str()).collect();
    assert_eq!(strings, ["a", "b"]);
    assert_eq!(Queue::B.as_str(), "b");
}
