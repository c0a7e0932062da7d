// A metric's doc comment is its HELP text: it cannot be left out.
use catalog::{Subsystem};

const JOBS: Subsystem = Subsystem { name: "jobs", title: "Jobs", description: "Jobs." };

#[catalog::metrics(
    prefix = "app_",
    labels = [],
    subsystems = [JOBS],
)]
pub enum Metric {
    #[metric(counter("app_jobs_done_total", &JOBS))]
    Done,
}

fn main() {}
