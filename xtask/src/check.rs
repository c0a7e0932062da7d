//! `cargo xtask check`: every generator in check mode, then the panel id collision check,
//! the alert link check (`alert_links`), the cross-catalog collision check
//! (`catalogs::collisions`), the compatibility check and the lint, each over every
//! catalog of the service; one line per artifact, a summary, and a non-zero exit when
//! anything is stale or wrong.

use anyhow::{Result, bail};
use catalog::MetricCatalog;

use crate::catalogs::{Visitor, visit_all};
use crate::codegen::{self, Artifact, Mode};
use crate::lint;

/// Panel ids and alert links, summed over the catalogs.
#[derive(Default)]
struct PerCatalog {
    panels: usize,
    dashboards: usize,
    collisions: Vec<String>,
    rules: usize,
    link_problems: Vec<String>,
}

impl Visitor for PerCatalog {
    fn visit<C: MetricCatalog>(&mut self) -> Result<()> {
        let generated = dashboard_gen::build::<C>()?;
        self.panels += generated
            .dashboards
            .iter()
            .map(|d| d.panels.len())
            .sum::<usize>();
        self.dashboards += generated.dashboards.len();
        self.collisions
            .extend(generated.collisions.iter().map(ToString::to_string));
        let config = crate::rules::config::<C>()?;
        let rules = rules_gen::alert_rules::<C>(&config)?;
        self.rules += rules.len();
        self.link_problems
            .extend(crate::alert_links::problems(&rules, &generated.dashboards));
        Ok(())
    }
}

/// Every generated artifact of the workspace.
pub fn artifacts() -> Result<Vec<Artifact>> {
    let mut artifacts = crate::dashboards::artifacts()?;
    artifacts.extend(crate::rules::artifacts()?);
    artifacts.extend(crate::docs::artifacts()?);
    artifacts.extend(crate::e2e::deploy::artifacts()?);
    artifacts.extend(crate::export::artifacts(&codegen::workspace_root())?);
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
    let mut per_catalog = PerCatalog::default();
    visit_all(&mut per_catalog)?;
    let PerCatalog {
        panels,
        dashboards,
        collisions,
        rules,
        link_problems,
    } = per_catalog;
    if collisions.is_empty() {
        println!(
            "ok    panel ids: {panels} panels in {dashboards} dashboards, derived from their content, no collision"
        );
    } else {
        println!("FAIL  panel ids: {} collisions", collisions.len());
        let list: Vec<String> = collisions.iter().map(|c| format!("  {c}")).collect();
        failures.push(format!("panel id collisions:\n{}", list.join("\n")));
    }
    if link_problems.is_empty() {
        println!(
            "ok    alert links: {rules} alerting rules link to the panel plotting what they compare"
        );
    } else {
        println!("FAIL  alert links: {} problems", link_problems.len());
        let list: Vec<String> = link_problems.iter().map(|p| format!("  {p}")).collect();
        failures.push(format!("alert links:\n{}", list.join("\n")));
    }
    let clashes = crate::catalogs::collisions();
    if clashes.is_empty() {
        println!("ok    catalogs: no name declared by two catalogs");
    } else {
        println!("FAIL  catalogs: {} names declared twice", clashes.len());
        let list: Vec<String> = clashes.iter().map(|c| format!("  {c}")).collect();
        failures.push(format!("catalog collisions:\n{}", list.join("\n")));
    }
    let breaking = crate::export::compatibility(&root)?;
    if breaking.is_empty() {
        println!(
            "ok    compatibility with {}: no breaking change",
            crate::export::BASELINE
        );
    } else {
        println!(
            "FAIL  compatibility with {}: {} breaking changes",
            crate::export::BASELINE,
            breaking.len()
        );
        let list: Vec<String> = breaking.iter().map(|f| format!("  {f}")).collect();
        failures.push(format!(
            "breaking changes since {} (deprecate instead; the baseline only advances at a release, `cargo xtask baseline`):\n{}",
            crate::export::BASELINE,
            list.join("\n")
        ));
    }
    let findings = lint::lint_all(&root)?;
    if findings.is_empty() {
        println!("ok    lint: no finding");
    } else {
        println!("FAIL  lint: {} findings", findings.len());
        let list: Vec<String> = findings.iter().map(|f| format!("  {f}")).collect();
        failures.push(format!("lint findings:\n{}", list.join("\n")));
    }
    let total = artifacts.len() + 5;
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
