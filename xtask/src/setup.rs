//! `cargo xtask setup`: the programs the tests run, installed when missing.
//!
//! The tests run the real promtool, Prometheus, VictoriaMetrics and Alertmanager, all
//! from Debian. When one is missing and we are root with `apt-get`, the packages are
//! installed (`apt-get update` first); otherwise setup fails at once with the exact
//! command to run. `cargo-deny` (the dependency policy) is built from crates.io once per
//! machine into a cache folder of its own, independent of `CARGO_HOME`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::e2e::processes::find_program;

/// A program the tests need and the Debian package that ships it.
struct Tool {
    program: &'static str,
    package: &'static str,
    used_for: &'static str,
}

/// Every system program the README's test command needs.
const TOOLS: &[Tool] = &[
    Tool {
        program: "promtool",
        package: "prometheus",
        used_for: "checking exposition and rules, rule unit tests",
    },
    Tool {
        program: "prometheus",
        package: "prometheus",
        used_for: "the live e2e and reliability tests",
    },
    Tool {
        program: "victoria-metrics",
        package: "victoria-metrics",
        used_for: "the e2e's second backend",
    },
    Tool {
        program: "vmagent",
        package: "victoria-metrics",
        used_for: "scraping the fleet into VictoriaMetrics",
    },
    Tool {
        program: "vmalert",
        package: "victoria-metrics",
        used_for: "the generated rules on VictoriaMetrics",
    },
    Tool {
        program: "prometheus-alertmanager",
        package: "prometheus-alertmanager",
        used_for: "the e2e fire drill",
    },
    Tool {
        program: "amtool",
        package: "prometheus-alertmanager",
        used_for: "checking the generated Alertmanager config",
    },
    Tool {
        program: "chattr",
        package: "e2fsprogs",
        used_for: "the read-only data directory fault test",
    },
    Tool {
        program: "setpriv",
        package: "util-linux",
        used_for: "e2e children that die with the harness (--pdeathsig)",
    },
];

/// The cargo-deny release the dependency policy is checked with.
pub const CARGO_DENY_VERSION: &str = "0.20.2";

/// Installs every missing Debian package, or fails with the command that does.
pub fn system_packages() -> Result<()> {
    let missing: Vec<&Tool> = TOOLS
        .iter()
        .filter(|tool| find_program(tool.program).is_none())
        .collect();
    if missing.is_empty() {
        eprintln!("setup: system programs present ({})", program_list(TOOLS));
        return Ok(());
    }
    let mut packages: Vec<&str> = missing.iter().map(|tool| tool.package).collect();
    packages.sort_unstable();
    packages.dedup();
    let needs: Vec<String> = missing
        .iter()
        .map(|tool| format!("{} ({}, for {})", tool.program, tool.package, tool.used_for))
        .collect();
    let command = format!(
        "apt-get update && apt-get install -y --no-install-recommends {}",
        packages.join(" ")
    );
    if !is_root() || find_program("apt-get").is_none() {
        bail!(
            "missing: {}\nrun as root: {command}\n(setup installs them itself when run as root on Debian)",
            needs.join(", ")
        );
    }
    eprintln!("setup: missing {}; installing: {command}", needs.join(", "));
    run_quietly(Command::new("apt-get").args(["update", "-qq"]))?;
    run_quietly(
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(&packages)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    let still: Vec<&str> = missing
        .iter()
        .filter(|tool| find_program(tool.program).is_none())
        .map(|tool| tool.program)
        .collect();
    if !still.is_empty() {
        bail!(
            "`{command}` succeeded but {} is still not on PATH",
            still.join(", ")
        );
    }
    eprintln!("setup: installed {}", packages.join(", "));
    Ok(())
}

/// The path of a cargo-deny binary of [`CARGO_DENY_VERSION`], built once per machine.
pub fn cargo_deny() -> Result<PathBuf> {
    let root = tools_root();
    let binary = root.join("bin").join("cargo-deny");
    if has_version(&binary) {
        return Ok(binary);
    }
    if let Some(on_path) = find_program("cargo-deny").filter(|path| has_version(path)) {
        return Ok(on_path);
    }
    eprintln!(
        "setup: building cargo-deny {CARGO_DENY_VERSION} from crates.io into {} (once per machine, a few minutes)",
        root.display()
    );
    let status = Command::new(cargo())
        .args(["install", "--locked", "--quiet", "cargo-deny", "--version"])
        .arg(CARGO_DENY_VERSION)
        .arg("--root")
        .arg(&root)
        .status()
        .context("running cargo install cargo-deny")?;
    if !status.success() || !has_version(&binary) {
        bail!(
            "cargo install cargo-deny {CARGO_DENY_VERSION} failed ({status}); \
             try it by hand: cargo install --locked cargo-deny --version {CARGO_DENY_VERSION}"
        );
    }
    Ok(binary)
}

/// The cargo that runs this xtask (cargo sets `CARGO` for `cargo run`).
pub fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}

/// Where tools built for the workspace live: outside any clone and outside `CARGO_HOME`,
/// so a fresh clone or an empty cargo home reuses them.
fn tools_root() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    cache.join("sms-metrics").join("tools")
}

fn has_version(binary: &Path) -> bool {
    Command::new(binary)
        .arg("--version")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains(CARGO_DENY_VERSION))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

fn program_list(tools: &[Tool]) -> String {
    let names: Vec<&str> = tools.iter().map(|tool| tool.program).collect();
    names.join(", ")
}

fn run_quietly(command: &mut Command) -> Result<()> {
    let shown = format!("{command:?}");
    let output = command
        .output()
        .with_context(|| format!("running {shown}"))?;
    if !output.status.success() {
        bail!(
            "{shown} failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}
