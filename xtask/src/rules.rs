//! `cargo xtask rules [--check]`: Prometheus rule files and their promtool tests.
//!
//! Writes `prometheus/rules/*.yaml` and `prometheus/tests/*.yaml` from the catalog with
//! `rules_gen`, linking every alert to the panel that plots its signal in the generated
//! dashboards.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result};
use catalog::MetricId;
use rules_gen::{Config, PanelLink};

use crate::codegen::Artifact;

/// The rules generator's configuration: every alert links to the panel that plots the
/// series it compares, as the dashboard generator recorded it.
pub fn config() -> Result<Config<MetricId>> {
    let generated = dashboard_gen::build::<MetricId>()
        .context("generating dashboards to link alerts to their panels")?;
    let panels: BTreeMap<String, PanelLink> = generated
        .alert_panels
        .into_iter()
        .map(|(key, panel)| {
            (
                key,
                PanelLink {
                    dashboard_uid: panel.dashboard_uid,
                    panel_id: panel.panel_id,
                },
            )
        })
        .collect();
    Ok(Config {
        panels,
        ..Config::default()
    })
}

/// The rule files and the rule test files, as two artifacts.
pub fn artifacts() -> Result<Vec<Artifact>> {
    let config = config()?;
    let output = rules_gen::generate::<MetricId>(&config).context("generating rules")?;
    Ok(vec![
        Artifact {
            name: "rules",
            dir: PathBuf::from("prometheus/rules"),
            extension: Some("yaml"),
            files: output.rules,
            fix_command: "cargo xtask rules",
        },
        Artifact {
            name: "rule tests",
            dir: PathBuf::from("prometheus/tests"),
            extension: Some("yaml"),
            files: output.tests,
            fix_command: "cargo xtask rules",
        },
    ])
}
