//! `cargo xtask check`: every generator in check mode, then the lint; one line per
//! artifact, a summary, and a non-zero exit when anything is stale or wrong.

use anyhow::{Result, bail};
use catalog::MetricId;

use crate::codegen::{self, Artifact, Mode};
use crate::lint;

/// Every generated artifact of the workspace.
pub fn artifacts() -> Result<Vec<Artifact>> {
    let mut artifacts = crate::dashboards::artifacts()?;
    artifacts.extend(crate::rules::artifacts()?);
    artifacts.push(crate::docs::artifact()?);
    artifacts.push(crate::e2e::deploy::artifact());
    Ok(artifacts)
}

/// Checks every artifact and lints; prints as it goes.
pub fn run() -> Result<()> {
    let root = codegen::workspace_root();
    let mut failures = Vec::new();
    let artifacts = artifacts()?;
    for artifact in &artifacts {
        match codegen::sync(&root, artifact, Mode::Check) {
            Ok(report) => println!("ok    {}", report.summary(artifact, Mode::Check)),
            Err(error) => {
                println!("FAIL  {}: out of date (diff below)", artifact.name);
                failures.push(format!("{error:#}"));
            }
        }
    }
    let findings = lint::lint::<MetricId>(&root)?;
    if findings.is_empty() {
        println!("ok    lint: no finding");
    } else {
        println!("FAIL  lint: {} findings", findings.len());
        let list: Vec<String> = findings.iter().map(|f| format!("  {f}")).collect();
        failures.push(format!("lint findings:\n{}", list.join("\n")));
    }
    let total = artifacts.len() + 1;
    for failure in &failures {
        eprintln!("\n{failure}");
    }
    println!(
        "\ncheck: {} passed, {} failed",
        total - failures.len(),
        failures.len()
    );
    if !failures.is_empty() {
        bail!(
            "{} of {total} checks failed (details above)",
            failures.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `cargo test` alone catches any stale generated file.
    #[test]
    fn committed_artifacts_are_up_to_date() {
        let root = codegen::workspace_root();
        for artifact in &artifacts().unwrap() {
            if let Err(error) = codegen::sync(&root, artifact, Mode::Check) {
                panic!("{error:#}");
            }
        }
    }
}
