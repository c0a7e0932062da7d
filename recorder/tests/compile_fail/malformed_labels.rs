// Labels are named by their types, and must be labels of the catalog.
use catalog::{DropReason, MetricName, SourceId, Subsystem};

const JOBS: Subsystem = Subsystem { name: "jobs", title: "Jobs", description: "Jobs." };

#[catalog::metrics(
    prefix = "app_",
    labels = [MetricName, DropReason],
    subsystems = [JOBS],
    samples_dropped = Dropped,
    series_overflow = Overflow,
)]
pub enum Metric {
    /// Jobs done, per source.
    #[metric(counter("app_jobs_done_total", &JOBS).labels::<SourceId<'_>>().max_series(10))]
    Done,
    /// Dropped samples.
    #[metric(counter("app_jobs_dropped_total", &JOBS).labels::<(MetricName<'_>, DropReason)>())]
    Dropped,
    /// Folded series.
    #[metric(counter("app_jobs_overflow_total", &JOBS).labels::<MetricName<'_>>())]
    Overflow,
}

fn main() {}
