//! Renames with dual emission: one recording call exposes the new name and the old
//! (deprecated) one from the same cells; recording into the old metric lands in the new
//! one; hidden old names and `RenamedMetrics` stop the old name, and `OldOnly` imitates
//! the release before the rename. Every kind and storage path: a counter with a
//! free-form label (hash table), a gauge with an enumerated label (dense array), an
//! unlabeled histogram whose old name is hidden.

use catalog::{Deprecation, Subsystem, Unit};
use recorder::RenamedMetrics;

const CORE: Subsystem = Subsystem {
    name: "core",
    title: "Core",
    description: "Does the work.",
};

/// The queue a job ran on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, catalog::LabelValue)]
#[label(name = "queue")]
pub struct Queue<'a>(pub &'a str);

/// Whether work can proceed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, catalog::LabelValue)]
#[label(name = "state")]
pub enum State {
    /// It can.
    Ready,
    /// It waits.
    Blocked,
}

mod renames {
    use super::*;

    /// A catalog in the middle of three renames.
    #[catalog::metrics(
        prefix = "rn_",
        labels = [Queue, State],
        subsystems = [CORE],
    )]
    pub enum Rn {
        /// Jobs run (old name).
        #[metric(counter("rn_core_jobs_total", &CORE)
            .labels::<Queue<'_>>()
            .max_series(10)
            .deprecated(Deprecation::new("0.2.0", "Says what it counts").renamed_to(Rn::JobsRun.id())))]
        Jobs,
        /// Jobs run.
        #[metric(counter("rn_core_jobs_run_total", &CORE).labels::<Queue<'_>>().max_series(10))]
        JobsRun,
        /// Work waiting (old name).
        #[metric(gauge("rn_core_depth", &CORE)
            .labels::<State>()
            .deprecated(Deprecation::new("0.2.0", "Says what waits").renamed_to(Rn::Backlog.id())))]
        Depth,
        /// Work waiting.
        #[metric(gauge("rn_core_backlog", &CORE).labels::<State>())]
        Backlog,
        /// Time to run a job (old name, hidden: the rename's last release).
        #[metric(histogram("rn_core_time_seconds", &CORE, &[0.1, 1.0])
            .unit(Unit::Seconds)
            .deprecated(Deprecation::new("0.1.0", "Says what is timed").renamed_to(Rn::RunDuration.id()).hidden()))]
        Time,
        /// Time to run a job.
        #[metric(histogram("rn_core_run_duration_seconds", &CORE, &[0.1, 1.0]).unit(Unit::Seconds))]
        RunDuration,
    }
}

mod bad {
    use super::*;

    /// Renames the validation refuses: labels changed, alerts left on the old name, a
    /// twin naming the old metric, two old names for one new metric.
    #[catalog::metrics(
        prefix = "bd_",
        labels = [Queue],
        subsystems = [CORE],
    )]
    pub enum Bd {
        /// Jobs run (old name).
        #[metric(counter("bd_core_jobs_total", &CORE)
            .alerts(&[catalog::AlertDef::new("BdNoJobs", catalog::Signal::Rate { window: catalog::minutes(5) }, catalog::Comparison::Below, 1.0)
                .summary("No job runs.")
                .description("{{ $labels.job }} runs {{ $value }} jobs per second.")])
            .deprecated(Deprecation::new("0.2.0", "Renamed").renamed_to(Bd::JobsRun.id())))]
        Jobs,
        /// Jobs run (another old name).
        #[metric(counter("bd_core_runs_total", &CORE)
            .deprecated(Deprecation::new("0.2.0", "Renamed").renamed_to(Bd::JobsRun.id())))]
        Runs,
        /// Jobs run.
        #[metric(counter("bd_core_jobs_run_total", &CORE).labels::<Queue<'_>>().max_series(10))]
        JobsRun,
        /// Jobs failed.
        #[metric(counter("bd_core_jobs_failed_total", &CORE).success_twin(Bd::Runs))]
        JobsFailed,
    }
}

use renames::{Rn, RnId};

fn recorder(renamed: RenamedMetrics, show_hidden: bool) -> recorder::Recorder<RnId> {
    recorder::Builder::<RnId>::new()
        .panic_on_misuse(true)
        .renamed_metrics(renamed)
        .show_hidden_metrics(show_hidden)
        .build()
        .expect("the rename catalog is valid")
}

/// Records through the new metrics only, as migrated code does.
fn record(recorder: &recorder::Recorder<RnId>) {
    recorder.add(Rn::JobsRun, Queue("a"), 3);
    recorder.inc(Rn::JobsRun, Queue("b"));
    recorder.set(Rn::Backlog, State::Blocked, 7.0);
    recorder.observe(Rn::RunDuration, (), 0.5);
}

/// Sample lines of `text` (no comments) whose series name is exactly `name` + a suffix
/// of `suffixes` (`""`, `_bucket`, ...), with the name cut off: what they render.
fn samples(text: &str, name: &str, suffixes: &[&str]) -> Vec<String> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let rest = line.strip_prefix(name)?;
            suffixes
                .iter()
                .any(|s| {
                    rest.strip_prefix(s)
                        .is_some_and(|r| r.starts_with('{') || r.starts_with(' '))
                })
                .then(|| rest.to_string())
        })
        .collect()
}

/// How many families named `name` `text` has (its `# TYPE` lines).
fn families(text: &str, name: &str) -> usize {
    text.lines()
        .filter(|line| line.starts_with(&format!("# TYPE {name} ")))
        .count()
}

#[test]
fn one_recording_call_exposes_both_names_with_the_same_series() {
    let text = recorder(RenamedMetrics::Both, false).render_with(record);
    for (old, new, suffixes) in [
        (RnId::Jobs, RnId::JobsRun, &[""][..]),
        (RnId::Depth, RnId::Backlog, &[""][..]),
    ] {
        let (old, new) = (old.def().name, new.def().name);
        let new_samples = samples(&text, new, suffixes);
        assert!(!new_samples.is_empty(), "{new} in\n{text}");
        assert_eq!(
            samples(&text, old, suffixes),
            new_samples,
            "{old} in\n{text}"
        );
        assert_eq!(families(&text, old), 1, "{text}");
        assert_eq!(families(&text, new), 1, "{text}");
    }
    assert!(
        text.contains("\nrn_core_jobs_total{queue=\"a\"} 3\n"),
        "{text}"
    );
    assert!(
        text.contains("\nrn_core_depth{state=\"blocked\"} 7\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "# HELP {} Deprecated since 0.2.0, use {} instead: Says what it counts. Jobs run (old name).\n",
            RnId::Jobs.def().name,
            RnId::JobsRun.def().name
        )),
        "{text}"
    );
    // The hidden old histogram name is gone; its new name is there.
    assert_eq!(families(&text, RnId::Time.def().name), 0, "{text}");
    assert_eq!(
        samples(&text, RnId::RunDuration.def().name, &["_count"]),
        ["_count 1"]
    );
}

#[test]
fn showing_hidden_metrics_brings_a_hidden_old_name_back() {
    let text = recorder(RenamedMetrics::Both, true).render_with(record);
    let suffixes = &["_bucket", "_sum", "_count"][..];
    let new = samples(&text, RnId::RunDuration.def().name, suffixes);
    assert_eq!(new.len(), 5, "{text}");
    assert_eq!(samples(&text, RnId::Time.def().name, suffixes), new);
}

#[test]
fn recording_into_the_old_metric_records_into_the_new_one() {
    let recorder = recorder(RenamedMetrics::Both, false);
    recorder.inc(Rn::Jobs, Queue("a"));
    recorder.counter(Rn::Jobs, Queue("c")).add(2);
    recorder.set(Rn::Depth, State::Ready, 4.0);
    recorder.observe(Rn::Time, (), 0.05);
    recorder.inc(Rn::JobsRun, Queue("a"));
    let text = recorder.render();
    let jobs = RnId::JobsRun.def().name;
    assert_eq!(
        samples(&text, jobs, &[""]),
        ["{queue=\"a\"} 2", "{queue=\"c\"} 2"],
        "{text}"
    );
    assert_eq!(
        samples(&text, RnId::Jobs.def().name, &[""]),
        samples(&text, jobs, &[""])
    );
    assert!(text.contains(&format!(
        "\n{}{{state=\"ready\"}} 4\n",
        RnId::Backlog.def().name
    )));
    assert_eq!(
        samples(&text, RnId::RunDuration.def().name, &["_count"]),
        ["_count 1"]
    );
    assert_eq!(
        recorder.series_count(RnId::Jobs),
        recorder.series_count(RnId::JobsRun)
    );
    for old in [RnId::Jobs, RnId::Depth, RnId::Time] {
        assert!(families(&text, old.def().name) <= 1, "{text}");
    }
}

#[test]
fn new_only_stops_the_old_names_and_old_only_imitates_the_release_before() {
    let text = recorder(RenamedMetrics::NewOnly, true).render_with(record);
    for old in [RnId::Jobs, RnId::Depth, RnId::Time] {
        assert_eq!(families(&text, old.def().name), 0, "{text}");
    }
    assert!(
        text.contains("\nrn_core_jobs_run_total{queue=\"a\"} 3\n"),
        "{text}"
    );

    let text = recorder(RenamedMetrics::OldOnly, false).render_with(record);
    for (old, new) in [
        (RnId::Jobs, RnId::JobsRun),
        (RnId::Depth, RnId::Backlog),
        (RnId::Time, RnId::RunDuration),
    ] {
        assert_eq!(families(&text, new.def().name), 0, "{text}");
        assert_eq!(families(&text, old.def().name), 1, "{text}");
    }
    assert!(
        text.contains("\nrn_core_jobs_total{queue=\"a\"} 3\n"),
        "{text}"
    );
    assert!(text.contains("\nrn_core_time_seconds_count 1\n"), "{text}");
}

#[test]
fn renames_that_would_double_count_or_orphan_their_consumers_are_refused() {
    let problems = catalog::validate::<bad::BdId>().expect_err("bad renames");
    let messages: Vec<String> = problems
        .iter()
        .filter(|p| p.rule == "renamed-to")
        .map(|p| format!("{}: {}", p.metric, p.message))
        .collect();
    let text = messages.join("\n");
    for expected in [
        "bd_core_jobs_total: renamed to `bd_core_jobs_run_total`, whose labels (queue) differ from these ()",
        "bd_core_jobs_total: renamed to `bd_core_jobs_run_total` but still declares alerts",
        "bd_core_runs_total: `bd_core_jobs_total` is renamed to `bd_core_jobs_run_total` too",
        "bd_core_jobs_failed_total: refers to `bd_core_runs_total`, which is renamed to `bd_core_jobs_run_total`",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    assert_eq!(messages.len(), 5, "{text}");
    assert!(catalog::validate::<RnId>().is_ok());
}

trait RenderWith {
    fn render_with(self, record: fn(&recorder::Recorder<RnId>)) -> String;
}

impl RenderWith for recorder::Recorder<RnId> {
    fn render_with(self, record: fn(&recorder::Recorder<RnId>)) -> String {
        record(&self);
        self.render()
    }
}
