//! A second, tiny catalog (proves the recorder works with any `MetricCatalog`) and
//! helpers to read samples back. Shared by several test binaries; each uses a part.
#![allow(dead_code)]

use std::io::Write as _;
use std::process::{Command, Stdio};

use catalog::{DashboardHints, LabelValue, MetricCatalog, Subsystem, TypedMetric, Unit};

pub const JOBS: Subsystem = Subsystem {
    name: "jobs",
    title: "Jobs",
    description: "Background jobs.",
};

/// Tenant id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
#[label(name = "tenant")]
pub struct Tenant<'a>(pub &'a str);

/// How the job ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
#[label(name = "outcome")]
pub enum Outcome {
    Ok,
    Failed,
}

/// How urgent the job is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
#[label(name = "priority")]
pub enum Priority {
    Low,
    Normal,
    High,
}

/// Series bound of `ByTenant`.
pub const MAX_TENANT_SERIES: usize = 3;

#[catalog::metrics(
    prefix = "tiny_",
    labels = [Tenant, Outcome, Priority],
    subsystems = [JOBS],
    label_enum = TinyLabel,
)]
pub enum Tiny {
    /// Jobs run.
    #[metric(counter("tiny_jobs_run_total", &JOBS).labels::<Outcome>())]
    Run,
    /// Jobs per tenant.
    #[metric(counter("tiny_jobs_by_tenant_total", &JOBS)
        .labels::<(Tenant<'_>, Outcome)>()
        .max_series(MAX_TENANT_SERIES)
        .dashboard(DashboardHints::AUTO))]
    ByTenant,
    /// Jobs run, by outcome and priority (two enumerated labels: a dense metric).
    #[metric(counter("tiny_jobs_graded_total", &JOBS).labels::<(Outcome, Priority)>())]
    Graded,
    /// Jobs waiting.
    #[metric(gauge("tiny_jobs_queued", &JOBS))]
    Queued,
    /// Job run time.
    #[metric(histogram("tiny_jobs_duration_seconds", &JOBS, &[0.5, 1.0]).unit(Unit::Seconds))]
    Duration,
}

/// `Tiny::Run` with no labels: only a hand-written `TypedMetric` can say so.
#[derive(Clone, Copy)]
pub struct RunWithoutLabels;

impl TypedMetric for RunWithoutLabels {
    type Catalog = TinyId;
    type Labels<'a> = ();
    const ID: TinyId = TinyId::Run;
}

impl catalog::CounterMetric for RunWithoutLabels {}

/// A recorder of the tiny catalog that counts misuse instead of panicking.
pub fn counting_recorder() -> recorder::Recorder<TinyId> {
    recorder::Builder::<TinyId>::new()
        .panic_on_misuse(false)
        .build()
        .expect("tiny catalog is valid")
}

/// The value of `SAMPLES_DROPPED{metric=metric, reason=reason}` of `metric`'s catalog in `text`.
pub fn dropped<M: TypedMetric>(text: &str, metric: M, reason: &str) -> f64 {
    let _ = metric;
    let series = format!(
        "{}{{metric=\"{}\",reason=\"{reason}\"}}",
        recorder::SelfMetric::SamplesDropped.def().name,
        M::ID.def().name
    );
    sample(text, &series).unwrap_or_else(|| panic!("{series} not in:\n{text}"))
}

/// The value of the sample line `series` (e.g. `name{a="b"}`) in `text`.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// A catalog that breaks naming rules, to prove the builder refuses it.
pub mod bad {
    use super::*;

    const BAD: Subsystem = Subsystem {
        name: "bad",
        title: "Bad",
        description: "Broken on purpose.",
    };

    #[catalog::metrics(
        prefix = "bad_",
        labels = [],
        subsystems = [BAD],
    )]
    pub enum Bad {
        /// Requests.
        #[metric(counter("bad_requests", &BAD))]
        Requests,
        /// Latency.
        #[metric(histogram("bad_latency_ms", &BAD, &[1.0]).unit(Unit::Seconds))]
        Latency,
    }
}

/// Runs `promtool check metrics` on `text`; `Err` with its output when it rejects it.
/// `Ok(false)` when promtool is not installed (allowed outside CI only).
pub fn promtool_accepts(text: &str) -> Result<bool, String> {
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        assert!(
            std::env::var_os("CI").is_none(),
            "promtool missing: apt-get install -y prometheus"
        );
        eprintln!(
            "skipping the promtool check: promtool not installed (apt-get install -y prometheus)"
        );
        return Ok(false);
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let output = child.wait_with_output().expect("promtool");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() && printed.trim().is_empty() {
        Ok(true)
    } else {
        Err(printed)
    }
}
