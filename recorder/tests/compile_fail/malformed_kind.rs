// A declaration must start with `counter`, `gauge` or `histogram`.
use catalog::{Subsystem};

const JOBS: Subsystem = Subsystem { name: "jobs", title: "Jobs", description: "Jobs." };

#[catalog::metrics(
    prefix = "app_",
    labels = [],
    subsystems = [JOBS],
)]
pub enum Metric {
    /// Jobs done.
    #[metric(countr("app_jobs_done_total", &JOBS))]
    Done,
}

fn main() {}
