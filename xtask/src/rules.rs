//! `cargo xtask rules [--check]`: Prometheus rule files and their promtool tests.
//!
//! Writes `prometheus/rules/*.yaml` and `prometheus/tests/*.yaml` from every catalog of
//! the service ([`crate::catalogs`]) with `rules_gen`, one file per subsystem (its header
//! and group name say which catalog it comes from), linking every alert to the panel
//! that plots its signal in the generated dashboards.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use catalog::MetricCatalog;
use rules_gen::{Config, PanelLink};

use crate::catalogs::{Visitor, visit_all};
use crate::codegen::Artifact;

/// The rules generator's configuration for catalog `C`: every alert links to the panel
/// that plots the series it compares, as the dashboard generator recorded it.
pub fn config<C: MetricCatalog>() -> Result<Config<C>> {
    let generated = dashboard_gen::build::<C>().with_context(|| {
        format!(
            "generating the dashboards of catalog `{}` to link alerts to their panels",
            C::NAME
        )
    })?;
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

/// One generated alerting rule, whatever its catalog: what the e2e compares with what
/// the rule engines, Alertmanager and the dashboards show.
pub struct AnyAlertRule {
    /// Alert name.
    pub name: String,
    /// What links it to its panel ([`signals::link_key`]).
    pub link_key: String,
    /// Static labels (`severity`, `signal`, SLO window labels).
    pub labels: BTreeMap<String, String>,
    /// Annotations as written (templates unrendered).
    pub annotations: BTreeMap<String, String>,
    /// The recording rules the expression compares: (name, expression).
    pub uses: Vec<(String, String)>,
}

/// Every alerting rule of every catalog of the service, as `cargo xtask rules` writes
/// them (catalog, file and rule order).
pub fn every_alert_rule() -> Result<Vec<AnyAlertRule>> {
    struct Rules(Vec<AnyAlertRule>);
    impl Visitor for Rules {
        fn visit<C: MetricCatalog>(&mut self) -> Result<()> {
            let rules = rules_gen::alert_rules::<C>(&config::<C>()?)?;
            self.0.extend(rules.into_iter().map(|rule| AnyAlertRule {
                name: rule.name,
                link_key: rule.link_key,
                labels: rule.labels,
                annotations: rule.annotations,
                uses: rule.uses,
            }));
            Ok(())
        }
    }
    let mut rules = Rules(Vec::new());
    visit_all(&mut rules)?;
    Ok(rules.0)
}

/// The rule files and the rule test files of every catalog, as two artifacts.
pub fn artifacts() -> Result<Vec<Artifact>> {
    #[derive(Default)]
    struct Files {
        rules: BTreeMap<String, String>,
        tests: BTreeMap<String, String>,
        /// File -> the catalog that wrote it.
        owner: BTreeMap<String, &'static str>,
    }
    impl Visitor for Files {
        fn visit<C: MetricCatalog>(&mut self) -> Result<()> {
            let output = rules_gen::generate::<C>(&config::<C>()?)
                .with_context(|| format!("generating the rules of catalog `{}`", C::NAME))?;
            for file in output.rules.keys() {
                if let Some(first) = self.owner.insert(file.clone(), C::NAME) {
                    bail!(
                        "catalogs `{first}` and `{}` both write prometheus/rules/{file}: rename a subsystem",
                        C::NAME
                    );
                }
            }
            self.rules.extend(output.rules);
            self.tests.extend(output.tests);
            Ok(())
        }
    }
    let mut files = Files::default();
    visit_all(&mut files)?;
    Ok(vec![
        Artifact {
            name: "rules",
            dir: PathBuf::from("prometheus/rules"),
            extension: Some("yaml"),
            files: files.rules,
            fix_command: "cargo xtask rules",
        },
        Artifact {
            name: "rule tests",
            dir: PathBuf::from("prometheus/tests"),
            extension: Some("yaml"),
            files: files.tests,
            fix_command: "cargo xtask rules",
        },
    ])
}
