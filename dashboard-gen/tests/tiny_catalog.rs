//! Generation is generic over `MetricCatalog`: a tiny catalog defined here (with its
//! own names, so literals are fine) gets its own dashboards, and a bad custom query in a
//! catalog fails generation naming the metric and the problem.

use catalog::{CustomQuery, DashboardHints, LabelValue, MetricCatalog, Subsystem, Unit};
use dashboard_gen::{Error, build, generate, lint, render};

const WORK: Subsystem = Subsystem {
    name: "work",
    title: "Work",
    description: "Does the work.",
};

/// Queue name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
#[label(name = "queue")]
pub struct Queue<'a>(pub &'a str);

// Four catalogs that differ only in the custom queries of their jobs counter.

mod tiny {
    use super::*;

    const QUERIES: &[CustomQuery] = &[];

    /// A tiny catalog whose jobs counter carries `QUERIES`.
    #[catalog::metrics(
        prefix = "tiny_",
        labels = [Queue],
        subsystems = [WORK],
        label_enum = TinyLabel,
    )]
    pub enum Tiny {
        /// Jobs done.
        #[metric(counter("tiny_work_jobs_done_total", &WORK)
            .labels::<Queue<'_>>()
            .max_series(10)
            .dashboard(DashboardHints::AUTO.split_by(&[TinyLabel::Queue]).queries(QUERIES)))]
        JobsDone,
        /// Jobs failed.
        #[metric(counter("tiny_work_jobs_failed_total", &WORK)
            .labels::<Queue<'_>>()
            .max_series(10)
            .success_twin(Tiny::JobsDone))]
        JobsFailed,
        /// Jobs waiting.
        #[metric(gauge("tiny_work_backlog", &WORK))]
        Backlog,
        /// Time per job.
        #[metric(histogram("tiny_work_job_duration_seconds", &WORK, &[0.1, 1.0]).unit(Unit::Seconds))]
        JobSeconds,
    }
}

mod good_query {
    use super::*;

    const QUERIES: &[CustomQuery] = &[CustomQuery {
        title: "Failure share",
        expr: "sum(rate(tiny_work_jobs_failed_total{job=~\"$job\", instance=~\"$instance\", queue=~\"$queue\"}[$__rate_interval])) / sum(rate(tiny_work_jobs_done_total{job=~\"$job\", instance=~\"$instance\", queue=~\"$queue\"}[$__rate_interval]))",
        legend: "failed",
        unit: Unit::Ratio,
    }];

    /// A tiny catalog whose jobs counter carries `QUERIES`.
    #[catalog::metrics(
        prefix = "tiny_",
        labels = [Queue],
        subsystems = [WORK],
        label_enum = TinyLabel,
    )]
    pub enum WithGoodQuery {
        /// Jobs done.
        #[metric(counter("tiny_work_jobs_done_total", &WORK)
            .labels::<Queue<'_>>()
            .max_series(10)
            .dashboard(DashboardHints::AUTO.split_by(&[TinyLabel::Queue]).queries(QUERIES)))]
        JobsDone,
        /// Jobs failed.
        #[metric(counter("tiny_work_jobs_failed_total", &WORK)
            .labels::<Queue<'_>>()
            .max_series(10)
            .success_twin(WithGoodQuery::JobsDone))]
        JobsFailed,
        /// Jobs waiting.
        #[metric(gauge("tiny_work_backlog", &WORK))]
        Backlog,
        /// Time per job.
        #[metric(histogram("tiny_work_job_duration_seconds", &WORK, &[0.1, 1.0]).unit(Unit::Seconds))]
        JobSeconds,
    }
}

mod rate_over_gauge {
    use super::*;

    const QUERIES: &[CustomQuery] = &[CustomQuery {
        title: "Backlog growth",
        expr: "rate(tiny_work_backlog{job=~\"$job\", instance=~\"$instance\"}[$__rate_interval])",
        legend: "growth",
        unit: Unit::None,
    }];

    /// A tiny catalog whose jobs counter carries `QUERIES`.
    #[catalog::metrics(
        prefix = "tiny_",
        labels = [Queue],
        subsystems = [WORK],
        label_enum = TinyLabel,
    )]
    pub enum WithRateOverGauge {
        /// Jobs done.
        #[metric(counter("tiny_work_jobs_done_total", &WORK)
            .labels::<Queue<'_>>()
            .max_series(10)
            .dashboard(DashboardHints::AUTO.split_by(&[TinyLabel::Queue]).queries(QUERIES)))]
        JobsDone,
        /// Jobs failed.
        #[metric(counter("tiny_work_jobs_failed_total", &WORK)
            .labels::<Queue<'_>>()
            .max_series(10)
            .success_twin(WithRateOverGauge::JobsDone))]
        JobsFailed,
        /// Jobs waiting.
        #[metric(gauge("tiny_work_backlog", &WORK))]
        Backlog,
        /// Time per job.
        #[metric(histogram("tiny_work_job_duration_seconds", &WORK, &[0.1, 1.0]).unit(Unit::Seconds))]
        JobSeconds,
    }
}

mod unknown_label {
    use super::*;

    const QUERIES: &[CustomQuery] = &[CustomQuery {
        title: "By host",
        expr: "sum by (host) (rate(tiny_work_jobs_done_total{job=~\"$job\", instance=~\"$instance\", queue=~\"$queue\"}[5m]))",
        legend: "{{host}}",
        unit: Unit::None,
    }];

    /// A tiny catalog whose jobs counter carries `QUERIES`.
    #[catalog::metrics(
        prefix = "tiny_",
        labels = [Queue],
        subsystems = [WORK],
        label_enum = TinyLabel,
    )]
    pub enum WithUnknownLabelAndFixedRange {
        /// Jobs done.
        #[metric(counter("tiny_work_jobs_done_total", &WORK)
            .labels::<Queue<'_>>()
            .max_series(10)
            .dashboard(DashboardHints::AUTO.split_by(&[TinyLabel::Queue]).queries(QUERIES)))]
        JobsDone,
        /// Jobs failed.
        #[metric(counter("tiny_work_jobs_failed_total", &WORK)
            .labels::<Queue<'_>>()
            .max_series(10)
            .success_twin(WithUnknownLabelAndFixedRange::JobsDone))]
        JobsFailed,
        /// Jobs waiting.
        #[metric(gauge("tiny_work_backlog", &WORK))]
        Backlog,
        /// Time per job.
        #[metric(histogram("tiny_work_job_duration_seconds", &WORK, &[0.1, 1.0]).unit(Unit::Seconds))]
        JobSeconds,
    }
}

use good_query::WithGoodQueryId;
use rate_over_gauge::WithRateOverGaugeId;
use tiny::TinyId;
use unknown_label::WithUnknownLabelAndFixedRangeId;

#[test]
fn a_tiny_catalog_gets_its_own_linted_dashboard_with_every_metric() {
    let dashboards = generate::<TinyId>().unwrap();
    let uids: Vec<&str> = dashboards.iter().map(|d| d.uid.as_str()).collect();
    assert_eq!(uids, ["tiny-overview", "tiny-work"]);
    for dashboard in &dashboards {
        assert!(lint::<TinyId>(dashboard).is_empty(), "{}", dashboard.uid);
    }
    let overview = &dashboards[0];
    let variables: Vec<&str> = overview
        .templating
        .list
        .iter()
        .map(|v| v.name.as_str())
        .collect();
    assert_eq!(variables, ["datasource", "job", "instance", "queue"]);
    let generated = build::<TinyId>().unwrap();
    for &metric in TinyId::ALL {
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
    let dashboards = generate::<WithGoodQueryId>().unwrap();
    assert!(
        dashboards
            .iter()
            .flat_map(|d| &d.panels)
            .any(|p| p.title == "Failure share")
    );
}

#[test]
fn rate_over_a_gauge_in_a_custom_query_fails_naming_the_metric() {
    let error = generate::<WithRateOverGaugeId>().unwrap_err();
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
    let error = generate::<WithUnknownLabelAndFixedRangeId>().unwrap_err();
    let Error::Queries(problems) = &error else {
        panic!("expected query problems, got {error}");
    };
    let rules: Vec<&str> = problems.iter().map(|p| p.rule).collect();
    assert_eq!(rules, ["target-rate-interval", "target-label"], "{error}");
    assert!(error.to_string().contains("groups by `host`"), "{error}");
}
