// A metric's doc comment is its HELP text: it cannot be left out.
use catalog::{DropReason, MetricName, Subsystem};

const JOBS: Subsystem = Subsystem { name: "jobs", title: "Jobs", description: "Jobs." };

#[catalog::metrics(
    prefix = "app_",
    labels = [MetricName, DropReason],
    subsystems = [JOBS],
    samples_dropped = Dropped,
    series_overflow = Overflow,
)]
pub enum Metric {
    #[metric(counter("app_jobs_done_total", &JOBS))]
    Done,
    /// Dropped samples.
    #[metric(counter("app_jobs_dropped_total", &JOBS).labels::<(MetricName<'_>, DropReason)>())]
    Dropped,
    /// Folded series.
    #[metric(counter("app_jobs_overflow_total", &JOBS).labels::<MetricName<'_>>())]
    Overflow,
}

fn main() {}
