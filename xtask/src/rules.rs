//! `cargo xtask rules [--check]`: Prometheus rule files and their promtool tests.
//!
//! Writes `prometheus/rules/*.yaml` and `prometheus/tests/*.yaml` from the catalog with
//! `rules_gen`, linking every alert to its metric's panel in the generated dashboards.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result};
use catalog::{MetricCatalog, MetricId};
use rules_gen::{Config, PanelLink};

use crate::codegen::Artifact;

/// The rule files and the rule test files, as two artifacts.
pub fn artifacts() -> Result<Vec<Artifact>> {
    let dashboards = dashboard_gen::generate::<MetricId>()
        .context("generating dashboards to link alerts to their panels")?;
    let panels: BTreeMap<MetricId, PanelLink> = MetricId::ALL
        .iter()
        .filter_map(|&metric| {
            dashboard_gen::panel_for(&dashboards, metric).map(|panel| {
                (
                    metric,
                    PanelLink {
                        dashboard_uid: panel.dashboard_uid,
                        panel_id: panel.panel_id,
                    },
                )
            })
        })
        .collect();
    let config = Config {
        panels,
        ..Config::default()
    };
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
