//! `cargo xtask`: the workspace's build-time tasks (rust-analyzer's xtask pattern).
//!
//! Every artifact derived from the catalog (dashboards, rules, docs) is generated here,
//! written through [`codegen`], and checked in CI with `--check`.

mod codegen;
mod dashboards;

use clap::{Parser, Subcommand};

/// Tasks for the metrics workspace. Run `cargo xtask <task> --help` for details.
#[derive(Parser)]
#[command(name = "cargo xtask", version, about)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    Dashboards(dashboards::Args),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.task {
        Task::Dashboards(args) => dashboards::run(args),
    }
}
