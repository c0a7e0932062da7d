//! `cargo xtask`: the workspace's build-time tasks (rust-analyzer's xtask pattern).
//!
//! Every artifact derived from the catalog (dashboards, rules, docs) is generated here,
//! written through [`codegen`], and checked in CI with `--check`.

mod alert_links;
mod bench;
mod catalogs;
mod check;
mod codegen;
mod dashboards;
mod deny;
mod docs;
mod e2e;
mod export;
mod lint;
mod live_check;
mod markdown;
mod rules;
mod runbooks;
mod setup;
mod test;

use std::process::ExitCode;

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
    /// Generate Prometheus rules (prometheus/rules/) and their promtool tests
    /// (prometheus/tests/) from the catalog; with --check, fail with a diff if stale.
    Rules(GenerateArgs),
    /// Generate docs/metrics.md and the runbooks docs/runbooks/*.md from the catalog
    /// (keeping each runbook's hand-written section); with --check, fail with a diff if stale.
    Docs(GenerateArgs),
    /// Generate catalog/catalog.json (the catalogs as versioned JSON, the schema /catalog
    /// serves) and docs/catalog-changelog.md (changes since catalog/baseline.json); with
    /// --check, fail with a diff if stale.
    Export(GenerateArgs),
    /// Make the current catalog the compatibility baseline (catalog/baseline.json): run
    /// when cutting a release, never to silence `check`.
    Baseline,
    /// Lint the catalog and its use in the workspace; every finding names the metric,
    /// the rule and the fix.
    Lint,
    /// Run every generator with --check, then the panel id, alert link and lint checks;
    /// one line per artifact.
    Check,
    /// Generate deploy/prometheus/prometheus.yml and deploy/alertmanager/alertmanager.yml
    /// (the docker compose configs); with --check, fail with a diff if stale.
    Deploy(GenerateArgs),
    /// Prove it live: 3 pipeline-demo instances scraped by a real Prometheus (and
    /// VictoriaMetrics): conformance, every dashboard panel has data, rules healthy,
    /// numbers agree. Needs the Debian packages prometheus and victoria-metrics.
    E2e,
    /// Run the recorder benchmarks against the `metrics` facade, the seed design and
    /// the peer crates; print one table (ns/op, ratio to ours). --quick: short subset.
    Bench(bench::Args),
    /// Every test, as CI runs them: install missing Debian packages (as root; otherwise
    /// print the command), then cargo test --workspace, check, e2e, deny, the quickstart.
    Test,
    /// Compare a running service's /metrics with the committed catalog: every exposed
    /// family catalogued, every catalog metric exposed, kinds, labels, label values and
    /// buckets as declared; one line per finding, non-zero exit when there is one.
    LiveCheck(live_check::Args),
    /// Install the Debian packages the tests need when missing (as root, with apt-get);
    /// otherwise fail at once with the command to run.
    Setup,
    /// Check the dependency policy (deny.toml) with cargo-deny: licences, bans, sources,
    /// and advisories when their database can be fetched.
    Deny,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // The chain, without a backtrace: errors here are about the workspace
            // (stale files, lint findings, a failed push), and each says what fixes it.
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.task {
        Task::Dashboards(args) => dashboards::run(args),
        Task::Rules(args) => generate(rules::artifacts()?, args),
        Task::Docs(args) => generate(docs::artifacts()?, args),
        Task::Export(args) => generate(export::artifacts(&codegen::workspace_root())?, args),
        Task::Baseline => export::advance_baseline(&codegen::workspace_root()),
        Task::Lint => {
            let findings = lint::lint_all(&codegen::workspace_root())?;
            for finding in &findings {
                println!("{finding}");
            }
            if !findings.is_empty() {
                anyhow::bail!("lint: {} findings (see above)", findings.len());
            }
            println!("lint: no finding");
            Ok(())
        }
        Task::Check => check::run(),
        Task::Deploy(args) => generate(e2e::deploy::artifacts()?, args),
        Task::E2e => e2e::run(),
        Task::Bench(args) => bench::run(args),
        Task::Test => test::run(),
        Task::LiveCheck(args) => live_check::run(args),
        Task::Setup => setup::system_packages(),
        Task::Deny => deny::run(),
    }
}

/// Flags of the plain generators.
#[derive(clap::Args, Debug)]
struct GenerateArgs {
    /// Compare the committed files with freshly generated ones; fail with a diff if any differ
    #[arg(long)]
    check: bool,
}

/// Writes or checks generated artifacts, one progress line each.
fn generate(artifacts: Vec<codegen::Artifact>, args: GenerateArgs) -> anyhow::Result<()> {
    let mode = if args.check {
        codegen::Mode::Check
    } else {
        codegen::Mode::Write
    };
    let root = codegen::workspace_root();
    for artifact in &artifacts {
        let report = codegen::sync(&root, artifact, mode)?;
        eprintln!("{}", report.summary(artifact, mode));
    }
    Ok(())
}
