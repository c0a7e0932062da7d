//! `cargo xtask deny`: the dependency policy of `deny.toml`, checked with cargo-deny.
//!
//! Licences, bans (one version per crate unless listed) and sources (crates.io only)
//! always run and fail on a violation. Advisories need the RustSec database, fetched
//! from its git repository: when it cannot be fetched, one line says so and the rest of
//! the policy still runs.

use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::codegen::workspace_root;
use crate::setup;

/// How long fetching the advisory database may take before it counts as unreachable.
const FETCH_TIMEOUT: Duration = Duration::from_secs(90);

/// Runs the policy; fails when a check finds a violation.
pub fn run() -> Result<()> {
    let deny = setup::cargo_deny()?;
    let root = workspace_root();
    let mut checks = vec!["bans", "licenses", "sources"];
    match fetch_advisory_db(&deny) {
        Ok(()) => checks.insert(0, "advisories"),
        Err(why) => {
            println!("deny: advisories skipped: the advisory database cannot be fetched ({why})")
        }
    }
    eprintln!("deny: cargo deny check {}", checks.join(" "));
    let status = Command::new(&deny)
        .args(["deny", "--log-level", "warn", "check"])
        .args(&checks)
        .current_dir(&root)
        .status()
        .context("running cargo deny check")?;
    if !status.success() {
        bail!(
            "cargo deny check {} failed ({status}): see the findings above; the policy is deny.toml",
            checks.join(" ")
        );
    }
    println!("deny: {} ok", checks.join(", "));
    Ok(())
}

/// The first error line of cargo-deny's log, without its timestamp and level.
fn first_error(stderr: &str) -> String {
    let line = stderr
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or("no message");
    let message = line.split_once("] ").map_or(line, |(_, message)| message);
    // "failed to fetch database: failed to fetch advisory database URL with cli: ..."
    let message = message.split(" with cli").next().unwrap_or(message);
    message.chars().take(160).collect()
}

/// Fetches the advisory database, bounded in time; the error is one line.
fn fetch_advisory_db(deny: &std::path::Path) -> std::result::Result<(), String> {
    let mut child = Command::new(deny)
        .args(["deny", "--log-level", "error", "fetch", "db"])
        .current_dir(workspace_root())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run cargo-deny: {e}"))?;
    let started = std::time::Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(_)) => {
                let mut stderr = String::new();
                if let Some(mut pipe) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
                }
                return Err(first_error(&stderr));
            }
            Ok(None) if started.elapsed() > FETCH_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("no answer within {}s", FETCH_TIMEOUT.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(200)),
            Err(e) => return Err(format!("waiting for cargo-deny: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::first_error;

    #[test]
    fn first_error_keeps_the_message_only() {
        let stderr = "\n2026-12-01 21:02:57 [ERROR] failed to fetch database: failed to fetch advisory database https://example.invalid/db with cli: failed to clone: [\"clone\"]\nmore\n";
        assert_eq!(
            first_error(stderr),
            "failed to fetch database: failed to fetch advisory database https://example.invalid/db"
        );
        assert_eq!(first_error(""), "no message");
        assert_eq!(first_error(&"x".repeat(500)).len(), 160);
    }
}
