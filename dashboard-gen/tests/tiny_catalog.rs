//! Generation is generic over `MetricCatalog`: a tiny catalog defined here (with its
//! own names, so literals are fine) gets its own dashboards, and a bad custom query in a
//! catalog fails generation naming the metric and the problem.

use catalog::{
    CustomQuery, DashboardHints, DropReason, LabelDef, LabelKey, LabelValues, MetricCatalog,
    MetricDef, Subsystem, Unit,
};
use dashboard_gen::{Error, build, generate, lint, render};

const WORK: Subsystem = Subsystem {
    name: "work",
    title: "Work",
    description: "Does the work.",
};
const SELF: Subsystem = Subsystem {
    name: "self",
    title: "Self",
    description: "The recorder's own metrics.",
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum TinyLabel {
    Queue,
    Metric,
    Reason,
}

impl LabelKey for TinyLabel {
    fn def(self) -> &'static LabelDef {
        match self {
            TinyLabel::Queue => &LabelDef {
                name: "queue",
                help: "Queue name.",
                values: LabelValues::FreeForm,
            },
            TinyLabel::Metric => &LabelDef {
                name: "metric",
                help: "Metric concerned.",
                values: LabelValues::CatalogMetric,
            },
            TinyLabel::Reason => &LabelDef {
                name: "reason",
                help: "Why.",
                values: LabelValues::OneOf(DropReason::LABEL_VALUES),
            },
        }
    }
}

/// Defines a tiny catalog enum `$name` whose jobs counter carries `$queries`.
macro_rules! tiny_catalog {
    ($name:ident, $queries:expr) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        enum $name {
            JobsDone,
            JobsFailed,
            Backlog,
            JobSeconds,
            Dropped,
            Overflow,
        }

        impl MetricCatalog for $name {
            type Label = TinyLabel;
            const PREFIX: &'static str = "tiny_";
            const ALL: &'static [Self] = &[
                $name::JobsDone,
                $name::JobsFailed,
                $name::Backlog,
                $name::JobSeconds,
                $name::Dropped,
                $name::Overflow,
            ];
            const SUBSYSTEMS: &'static [Subsystem] = &[WORK, SELF];
            const SAMPLES_DROPPED: Self = $name::Dropped;
            const SERIES_OVERFLOW: Self = $name::Overflow;

            fn def(self) -> &'static MetricDef<Self> {
                type Def = MetricDef<$name>;
                match self {
                    $name::JobsDone => {
                        const {
                            &Def::counter("tiny_work_jobs_done_total", "Jobs done.", &WORK)
                                .labels(&[TinyLabel::Queue])
                                .max_series(10)
                                .dashboard(
                                    DashboardHints::AUTO
                                        .split_by(&[TinyLabel::Queue])
                                        .queries($queries),
                                )
                        }
                    }
                    $name::JobsFailed => {
                        const {
                            &Def::counter("tiny_work_jobs_failed_total", "Jobs failed.", &WORK)
                                .labels(&[TinyLabel::Queue])
                                .max_series(10)
                                .success_twin($name::JobsDone)
                        }
                    }
                    $name::Backlog => {
                        const { &Def::gauge("tiny_work_backlog", "Jobs waiting.", &WORK) }
                    }
                    $name::JobSeconds => {
                        const {
                            &Def::histogram(
                                "tiny_work_job_duration_seconds",
                                "Time per job.",
                                &WORK,
                                &[0.1, 1.0],
                            )
                            .unit(Unit::Seconds)
                        }
                    }
                    $name::Dropped => {
                        const {
                            &Def::counter(
                                "tiny_self_samples_dropped_total",
                                "Samples dropped.",
                                &SELF,
                            )
                            .labels(&[TinyLabel::Metric, TinyLabel::Reason])
                        }
                    }
                    $name::Overflow => {
                        const {
                            &Def::counter(
                                "tiny_self_series_overflow_total",
                                "Series folded.",
                                &SELF,
                            )
                            .labels(&[TinyLabel::Metric])
                        }
                    }
                }
            }

            fn index(self) -> usize {
                self as usize
            }
        }
    };
}

tiny_catalog!(Tiny, &[]);
tiny_catalog!(
    WithGoodQuery,
    &[CustomQuery {
        title: "Failure share",
        expr: "sum(rate(tiny_work_jobs_failed_total{job=~\"$job\", instance=~\"$instance\", queue=~\"$queue\"}[$__rate_interval])) / sum(rate(tiny_work_jobs_done_total{job=~\"$job\", instance=~\"$instance\", queue=~\"$queue\"}[$__rate_interval]))",
        legend: "failed",
        unit: Unit::Ratio,
    }]
);
tiny_catalog!(
    WithRateOverGauge,
    &[CustomQuery {
        title: "Backlog growth",
        expr: "rate(tiny_work_backlog{job=~\"$job\", instance=~\"$instance\"}[$__rate_interval])",
        legend: "growth",
        unit: Unit::None,
    }]
);
tiny_catalog!(
    WithUnknownLabelAndFixedRange,
    &[CustomQuery {
        title: "By host",
        expr: "sum by (host) (rate(tiny_work_jobs_done_total{job=~\"$job\", instance=~\"$instance\", queue=~\"$queue\"}[5m]))",
        legend: "{{host}}",
        unit: Unit::None,
    }]
);

#[test]
fn a_tiny_catalog_gets_its_own_linted_dashboard_with_every_metric() {
    let dashboards = generate::<Tiny>().unwrap();
    let uids: Vec<&str> = dashboards.iter().map(|d| d.uid.as_str()).collect();
    assert_eq!(uids, ["tiny-overview", "tiny-work", "tiny-self"]);
    for dashboard in &dashboards {
        assert!(lint::<Tiny>(dashboard).is_empty(), "{}", dashboard.uid);
    }
    let overview = &dashboards[0];
    let variables: Vec<&str> = overview
        .templating
        .list
        .iter()
        .map(|v| v.name.as_str())
        .collect();
    assert_eq!(variables, ["datasource", "job", "instance", "queue"]);
    let generated = build::<Tiny>().unwrap();
    for &metric in Tiny::ALL {
        assert!(
            generated.metric_panels.contains_key(metric.def().name),
            "{metric:?} has no panel"
        );
    }
    // The overview's golden signals: the error ratio of jobs failed against jobs done.
    assert!(render(overview).contains("tiny_work_jobs_failed_total"));
}

#[test]
fn a_good_custom_query_gets_a_panel() {
    let dashboards = generate::<WithGoodQuery>().unwrap();
    assert!(
        dashboards
            .iter()
            .flat_map(|d| &d.panels)
            .any(|p| p.title == "Failure share")
    );
}

#[test]
fn rate_over_a_gauge_in_a_custom_query_fails_naming_the_metric() {
    let error = generate::<WithRateOverGauge>().unwrap_err();
    let Error::Queries(problems) = &error else {
        panic!("expected query problems, got {error}");
    };
    assert_eq!(problems.len(), 1, "{error}");
    assert_eq!(problems[0].metric, "tiny_work_jobs_done_total");
    assert_eq!(problems[0].panel, "Backlog growth");
    assert_eq!(problems[0].rule, "target-counter-agg");
    assert!(
        error
            .to_string()
            .contains("rate() over gauge `tiny_work_backlog`"),
        "{error}"
    );
}

#[test]
fn every_problem_of_a_custom_query_is_reported() {
    let error = generate::<WithUnknownLabelAndFixedRange>().unwrap_err();
    let Error::Queries(problems) = &error else {
        panic!("expected query problems, got {error}");
    };
    let rules: Vec<&str> = problems.iter().map(|p| p.rule).collect();
    assert_eq!(rules, ["target-rate-interval", "target-label"], "{error}");
    assert!(error.to_string().contains("groups by `host`"), "{error}");
}
