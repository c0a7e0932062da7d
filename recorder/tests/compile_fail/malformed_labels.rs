// Labels are named by their types, and must be labels of the catalog.
use catalog::{SourceId, Subsystem};

const JOBS: Subsystem = Subsystem { name: "jobs", title: "Jobs", description: "Jobs." };

#[catalog::metrics(
    prefix = "app_",
    labels = [],
    subsystems = [JOBS],
)]
pub enum Metric {
    /// Jobs done, per source.
    #[metric(counter("app_jobs_done_total", &JOBS).labels::<SourceId<'_>>().max_series(10))]
    Done,
}

fn main() {}
