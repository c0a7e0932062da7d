//! `cargo xtask test`: every test of the workspace, on a fresh machine as on a warm one.
//!
//! Installs what the tests need ([`crate::setup`]), then runs, in order and stopping at the
//! first failure: `cargo test --workspace`, `cargo xtask check`, `cargo xtask e2e`, the
//! dependency policy (`cargo xtask deny`) and the recorder's quickstart example. Prints a
//! header per step and a timing table at the end.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::codegen::workspace_root;
use crate::setup;

/// One step of the run: its name and what it runs.
type Step = (&'static str, fn() -> Result<()>);

/// Runs every step; fails with the step that failed.
pub fn run() -> Result<()> {
    let started = Instant::now();
    let steps: [Step; 6] = [
        ("setup (system packages)", setup::system_packages),
        ("cargo test --workspace", cargo_test),
        ("cargo xtask check", crate::check::run),
        ("cargo xtask e2e", crate::e2e::run),
        ("cargo xtask deny", crate::deny::run),
        ("quickstart example", quickstart),
    ];
    let mut timings: Vec<(&str, Duration)> = Vec::new();
    for (index, (name, step)) in steps.iter().enumerate() {
        eprintln!("\n== test {}/{}: {name}", index + 1, steps.len());
        let step_started = Instant::now();
        step().with_context(|| format!("step {name} failed"))?;
        timings.push((name, step_started.elapsed()));
    }
    println!(
        "\ntest: every step passed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    for (name, took) in timings {
        println!("  {:>6.1} s  {name}", took.as_secs_f64());
    }
    Ok(())
}

fn cargo_test() -> Result<()> {
    let status = Command::new(setup::cargo())
        .args(["test", "--workspace"])
        .current_dir(workspace_root())
        .status()
        .context("running cargo test --workspace")?;
    if !status.success() {
        bail!("cargo test --workspace failed ({status})");
    }
    Ok(())
}

/// Runs `recorder/examples/quickstart.rs` and checks that it printed a scrape.
fn quickstart() -> Result<()> {
    let output = Command::new(setup::cargo())
        .args([
            "run",
            "--quiet",
            "-p",
            "recorder",
            "--example",
            "quickstart",
        ])
        .current_dir(workspace_root())
        .output()
        .context("running the quickstart example")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!("{stdout}");
    if !output.status.success() {
        bail!(
            "the quickstart example failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    for expected in ["# TYPE ", "_bucket{", "} 1"] {
        if !stdout.contains(expected) {
            bail!("the quickstart example's scrape has no `{expected}`");
        }
    }
    Ok(())
}
