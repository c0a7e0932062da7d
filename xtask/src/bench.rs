//! `cargo xtask bench`: runs the criterion suite of `recorder-benches` with the peer
//! crates and prints one table: a row per workload, ns/op per implementation and the
//! ratio to ours.
//!
//! Criterion writes `target/criterion/<group>/<implementation>/new/estimates.json`; the
//! memory target writes `target/tmp/recorder-benches-memory.json`. Both are read here,
//! never scraped from stdout. Results of earlier runs are removed first, so the table
//! always comes from one run.
//!
//! The short workloads run in rounds (`--rounds`, groups `<group>.round<k>`) and each
//! implementation's cell is the best of its rounds' medians: on a shared host a slower
//! minute that falls on one implementation's turn otherwise decides a row of a few
//! nanoseconds (measured: the same binary's bare `fetch_add` at 3.1 and 4.4 ns in two
//! runs a minute apart). Every implementation gets the same rounds and the same rule.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::codegen;

/// Flags of `cargo xtask bench`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A short subset (unlabeled, enum labels, runtime labels, observe, render at 10k)
    /// with short measurement times, for a quick check
    #[arg(long)]
    quick: bool,
    /// Rounds of the short workloads (counters, histograms, first touch); each cell is
    /// the implementation's best round [default: 3, 1 with --quick]
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=20))]
    rounds: Option<u32>,
}

/// Table columns: criterion benchmark ids, in display order.
const IMPLEMENTATIONS: &[&str] = &[
    "ours",
    "ours_handle",
    "metrics_macro",
    "metrics_handle",
    "exporter",
    "seed",
    "prometheus",
    "prometheus_client",
    "measured",
    "floor",
];

/// Table rows: criterion groups and what they measure, in display order.
const WORKLOADS: &[(&str, &str)] = &[
    ("counter_unlabeled", "counter, no labels"),
    ("counter_static2", "counter, 2 enum labels"),
    (
        "counter_dynamic2",
        "counter, 2 runtime string labels (seen)",
    ),
    ("counter_first_touch", "counter, first touch of a series"),
    ("counter_overflow", "counter, new series past the bound"),
    ("histogram_observe", "histogram observe"),
    ("histogram_timer", "histogram timer (start + stop)"),
    ("contention_2t_same", "2 threads, same series"),
    ("contention_2t_distinct", "2 threads, distinct series"),
    ("render_1k", "render 1k series"),
    ("render_10k", "render 10k series"),
    ("render_100k", "render 100k series"),
];

/// Runs the suite and prints the table.
pub fn run(args: Args) -> Result<()> {
    let root = codegen::workspace_root();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let criterion_dir = target.join("criterion");
    for (group, _) in WORKLOADS {
        for dir in group_dirs(&criterion_dir, group)? {
            std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        }
    }
    let rounds = args.rounds.unwrap_or(if args.quick { 1 } else { 3 });
    let memory_file = target.join("tmp").join("recorder-benches-memory.json");
    let _ = std::fs::remove_file(&memory_file);

    let load_before = load_average();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    command
        .current_dir(&root)
        .args(["bench", "-p", "recorder-benches", "--features", "peers"]);
    if args.quick {
        command.env("RECORDER_BENCH_QUICK", "1");
    }
    command.env("RECORDER_BENCH_ROUNDS", rounds.to_string());
    println!(
        "cargo xtask bench: {} suite, short workloads in {rounds} round(s)",
        if args.quick { "quick" } else { "full" }
    );
    let status = command.status().context("running cargo bench")?;
    if !status.success() {
        bail!("cargo bench -p recorder-benches failed ({status})");
    }

    let mut table = String::new();
    let _ = writeln!(table, "{}", machine(&load_before));
    if rounds > 1 {
        let _ = writeln!(
            table,
            "Short workloads: best of {rounds} rounds per implementation."
        );
    }
    let _ = writeln!(table);
    table.push_str(&render_table(&criterion_dir)?);
    if let Ok(text) = std::fs::read_to_string(&memory_file) {
        let memory: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&text).context("parsing the memory results")?;
        let _ = writeln!(
            table,
            "\nMemory per series (10,000 counter series, one runtime label):\n"
        );
        let _ = writeln!(table, "| implementation | bytes/series |\n|---|---|");
        for (id, bytes) in memory {
            let _ = writeln!(
                table,
                "| {id} | {:.0} |",
                bytes.as_f64().unwrap_or(f64::NAN)
            );
        }
    }
    print!("{table}");
    Ok(())
}

/// The markdown table: a row per workload that ran, a column per implementation that
/// ran anywhere; each cell is the median time per operation and its ratio to ours.
fn render_table(criterion_dir: &Path) -> Result<String> {
    let mut rows = Vec::new();
    for (group, title) in WORKLOADS {
        let runs = group_dirs(criterion_dir, group)?;
        let cells: Vec<Option<f64>> = IMPLEMENTATIONS
            .iter()
            .map(|id| best_median_ns(&runs, id))
            .collect::<Result<_>>()?;
        if cells.iter().any(Option::is_some) {
            rows.push((*group, *title, cells));
        }
    }
    if rows.is_empty() {
        bail!("no criterion estimates under {}", criterion_dir.display());
    }
    let columns: Vec<usize> = (0..IMPLEMENTATIONS.len())
        .filter(|column| rows.iter().any(|(_, _, cells)| cells[*column].is_some()))
        .collect();
    let mut table = String::from("| workload |");
    for column in &columns {
        let _ = write!(table, " {} |", IMPLEMENTATIONS[*column]);
    }
    table.push_str("\n|---|");
    table.push_str(&"---|".repeat(columns.len()));
    table.push('\n');
    for (group, title, cells) in rows {
        let ours = cells[0];
        let _ = write!(table, "| {title} (`{group}`) |");
        for column in &columns {
            match (cells[*column], ours) {
                (Some(ns), Some(ours)) if *column != 0 => {
                    let _ = write!(table, " {} ({:.2}x) |", duration(ns), ns / ours);
                }
                (Some(ns), _) => {
                    let _ = write!(table, " {} |", duration(ns));
                }
                (None, _) => table.push_str(" - |"),
            }
        }
        table.push('\n');
    }
    table.push_str(
        "\nCells: median time per operation (x: ratio to ours; above 1 means ours is faster).\n",
    );
    Ok(table)
}

/// The directories criterion wrote for workload `group`: `<group>` itself, or one
/// `<group>.round<k>` per round.
fn group_dirs(criterion_dir: &Path, group: &str) -> Result<Vec<PathBuf>> {
    let Ok(entries) = std::fs::read_dir(criterion_dir) else {
        return Ok(Vec::new());
    };
    let mut dirs = Vec::new();
    for entry in entries {
        let dir = entry
            .with_context(|| format!("listing {}", criterion_dir.display()))?
            .path();
        if dir
            .file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| round_of(name, group).is_some())
        {
            dirs.push(dir);
        }
    }
    dirs.sort();
    Ok(dirs)
}

/// For a criterion directory `name`: `Some(0)` when it is workload `group`'s single
/// run, `Some(k)` when it is its round `k`, `None` when it belongs to another workload.
fn round_of(name: &str, group: &str) -> Option<u32> {
    let rest = name.strip_prefix(group)?;
    if rest.is_empty() {
        return Some(0);
    }
    rest.strip_prefix(".round")?.parse().ok()
}

/// The best (lowest) median of implementation `id` over the runs of one workload in
/// ns, `None` when it ran in none of them.
fn best_median_ns(runs: &[PathBuf], id: &str) -> Result<Option<f64>> {
    let mut best: Option<f64> = None;
    for run in runs {
        if let Some(ns) = median_ns(&run.join(id))? {
            best = Some(best.map_or(ns, |best| best.min(ns)));
        }
    }
    Ok(best)
}

/// The median estimate of one benchmark in ns, `None` when it did not run.
fn median_ns(bench_dir: &Path) -> Result<Option<f64>> {
    let path = bench_dir.join("new").join("estimates.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let estimates: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let median = estimates["median"]["point_estimate"]
        .as_f64()
        .with_context(|| format!("{} has no median", path.display()))?;
    Ok(Some(median))
}

/// `ns` with a readable unit.
fn duration(ns: f64) -> String {
    if ns < 1_000.0 {
        format!("{ns:.1} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.1} µs", ns / 1_000.0)
    } else {
        format!("{:.2} ms", ns / 1_000_000.0)
    }
}

/// One line describing the machine and its load.
fn machine(load_before: &str) -> String {
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|line| {
                Some(
                    line.strip_prefix("model name")?
                        .split_once(':')?
                        .1
                        .trim()
                        .to_owned(),
                )
            })
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let rustc = Command::new("rustc")
        .arg("-V")
        .output()
        .ok()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_default();
    format!(
        "Machine: {cpus} CPUs, {model}, {rustc}; load average before: {load_before}, after: {}",
        load_average()
    )
}

/// The 1, 5 and 15 minute load averages.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_directories_belong_to_their_workload_only() {
        assert_eq!(round_of("counter_static2", "counter_static2"), Some(0));
        assert_eq!(
            round_of("counter_static2.round3", "counter_static2"),
            Some(3)
        );
        assert_eq!(round_of("counter_static2.roundx", "counter_static2"), None);
        assert_eq!(round_of("render_10k", "render_1k"), None, "a longer name");
        assert_eq!(round_of("render_1k.round1", "render_10k"), None);
    }

    #[test]
    fn a_cell_is_the_best_round_of_its_implementation() {
        let criterion = tempfile::tempdir().unwrap();
        let write = |group: &str, id: &str, median: f64| {
            let dir = criterion.path().join(group).join(id).join("new");
            std::fs::create_dir_all(&dir).unwrap();
            let estimates = serde_json::json!({ "median": { "point_estimate": median } });
            std::fs::write(dir.join("estimates.json"), estimates.to_string()).unwrap();
        };
        write("counter_unlabeled.round1", "ours", 3.0);
        write("counter_unlabeled.round2", "ours", 2.5);
        write("counter_unlabeled.round1", "measured", 2.0);
        write("counter_unlabeled.round2", "measured", 4.0);
        write("render_1k", "ours", 40_000.0);
        write("render_10k", "ours", 400_000.0);
        let table = render_table(criterion.path()).unwrap();
        let row = |group: &str| {
            table
                .lines()
                .find(|line| line.contains(&format!("(`{group}`)")))
                .unwrap_or_else(|| panic!("no row for {group} in\n{table}"))
                .to_owned()
        };
        let unlabeled = row("counter_unlabeled");
        assert!(
            unlabeled.contains("| 2.5 ns |") && unlabeled.contains("| 2.0 ns (0.80x) |"),
            "{unlabeled}"
        );
        assert!(row("render_1k").contains("| 40.0 µs |"), "{table}");
        assert!(row("render_10k").contains("| 400.0 µs |"), "{table}");
    }
}
