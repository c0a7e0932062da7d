//! Validation of alerts and SLOs, on a tiny catalog whose every alert and SLO is wrong
//! in one way, and on the SMS catalog's alerts.

use std::collections::BTreeSet;

use catalog::{
    AlertDef, Comparison, LabelDef, LabelKey, LabelValues, Metric, MetricCatalog, MetricDef,
    Severity, Signal, SloDef, Subsystem, Unit, minutes, validate,
};

const TINY: Subsystem = Subsystem {
    name: "jobs",
    title: "Jobs",
    description: "Runs jobs.",
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum TinyLabel {
    Queue,
    Reason,
    Metric,
}

impl LabelKey for TinyLabel {
    fn def(self) -> &'static LabelDef {
        match self {
            TinyLabel::Queue => &LabelDef {
                name: "queue",
                help: "Queue name.",
                values: LabelValues::OneOf(&["a", "b"]),
            },
            TinyLabel::Reason => &LabelDef {
                name: "reason",
                help: "Why.",
                values: LabelValues::OneOf(catalog::DropReason::LABEL_VALUES),
            },
            TinyLabel::Metric => &LabelDef {
                name: "metric",
                help: "Metric.",
                values: LabelValues::CatalogMetric,
            },
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Tiny {
    Done,
    Failed,
    Duration,
    Depth,
    Dropped,
    Overflow,
}

type Def = MetricDef<Tiny>;
type Alert = AlertDef<Tiny>;

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

const BAD_SLOS: &[SloDef<Tiny>] = &[
    SloDef::latency("Bad Name", "t", Tiny::Duration, 3.0, 0.999),
    SloDef::availability("done", "t", Tiny::Done, 0.5),
    SloDef::availability("done", "", Tiny::Failed, 1.0).period(minutes(60)),
];

impl Tiny {
    const fn def(self) -> &'static Def {
        match self {
            Tiny::Done => {
                const { &Def::counter("tiny_jobs_done_total", "Jobs done.", &TINY).alerts(BAD_ALERTS) }
            }
            Tiny::Failed => {
                const {
                    &Def::counter("tiny_jobs_failed_total", "Jobs failed.", &TINY)
                        .labels(&[TinyLabel::Queue])
                        .success_twin(Tiny::Done)
                }
            }
            Tiny::Duration => {
                const {
                    &Def::histogram(
                        "tiny_jobs_duration_seconds",
                        "Job time.",
                        &TINY,
                        &[1.0, 5.0],
                    )
                    .unit(Unit::Seconds)
                    .alerts(HISTOGRAM_ALERTS)
                }
            }
            Tiny::Depth => const { &Def::gauge("tiny_jobs_depth", "Queued jobs.", &TINY) },
            Tiny::Dropped => {
                const {
                    &Def::counter("tiny_jobs_dropped_total", "Dropped.", &TINY)
                        .labels(&[TinyLabel::Metric, TinyLabel::Reason])
                }
            }
            Tiny::Overflow => {
                const {
                    &Def::counter("tiny_jobs_overflow_total", "Overflow.", &TINY)
                        .labels(&[TinyLabel::Metric])
                }
            }
        }
    }
}

impl MetricCatalog for Tiny {
    type Label = TinyLabel;
    const PREFIX: &'static str = "tiny_";
    const ALL: &'static [Self] = &[
        Tiny::Done,
        Tiny::Failed,
        Tiny::Duration,
        Tiny::Depth,
        Tiny::Dropped,
        Tiny::Overflow,
    ];
    const SUBSYSTEMS: &'static [Subsystem] = &[TINY];
    const SLOS: &'static [SloDef<Self>] = BAD_SLOS;
    const SAMPLES_DROPPED: Self = Tiny::Dropped;
    const SERIES_OVERFLOW: Self = Tiny::Overflow;

    fn def(self) -> &'static MetricDef<Self> {
        Tiny::def(self)
    }

    fn index(self) -> usize {
        self as usize
    }
}

#[test]
fn every_alert_and_slo_problem_is_reported_naming_metric_and_rule() {
    let problems = validate::<Tiny>().expect_err("the tiny catalog is wrong on purpose");
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
    for metric in Metric::ALL {
        for alert in metric.def().alerts {
            assert!(names.insert(alert.name), "{} twice", alert.name);
        }
    }
    assert!(names.len() >= 10, "{names:?}");
    assert!(!Metric::SLOS.is_empty());
    assert!(!Metric::RUNBOOK_BASE.is_empty() && !Metric::RUNBOOK_BASE.contains("example."));
}
