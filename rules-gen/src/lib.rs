//! Prometheus rules and their `promtool` unit tests, generated from a metric catalog.
//!
//! [`generate`] turns any [`MetricCatalog`] into rule files (one per subsystem, one
//! group each) and `promtool test rules` files:
//!
//! - for every alert of the catalog ([`catalog::AlertDef`]) a recording rule named
//!   `level:metric:operations` (e.g. `job_source_id:sms_sources_requests_error:ratio_rate5m`)
//!   and an alerting rule on it, with `severity`, a static summary, the templated
//!   description, a runbook URL (catalog base plus the alert's anchor) and links to the
//!   metric's dashboard panel (`__dashboardUid__`, `__panelId__`, `dashboard`);
//! - for every SLO ([`catalog::SloDef`]) error-ratio recording rules over 5m, 30m, 1h,
//!   2h, 6h, 1d and 3d and the multi-window multi-burn-rate alerts of the Google SRE
//!   workbook: page (critical) when 1h and 5m burn faster than 14.4 or 6h and 30m
//!   faster than 6, ticket (warning) when 1d and 2h burn faster than 3 or 3d and 6h
//!   faster than 1; each rule labels its `long_window` and `short_window`;
//! - for every alert a firing and a not-firing test case, with inputs chosen so every
//!   value the tests compare is exactly representable (promtool 2.42 compares exactly).
//!
//! Output is deterministic: same catalog and config, same bytes.
//!
//! ```
//! use catalog::MetricId;
//!
//! let output = rules_gen::generate::<MetricId>(&rules_gen::Config::default()).unwrap();
//! let sources = &output.rules["sources.yaml"];
//! assert!(sources.contains("alert: SmsSourceFailing"));
//! assert!(output.tests["sources.yaml"].contains("rule_files:"));
//! ```

mod expr;
mod render;
mod rules;
mod tests_gen;
mod yaml;

use std::collections::BTreeMap;

use catalog::{MetricCatalog, Problem};

pub use render::{format_duration, humanize, humanize_duration, humanize_percentage, plain};

/// What [`generate`] needs besides the catalog.
#[derive(Clone, Debug)]
pub struct Config<C: MetricCatalog> {
    /// Value of the `job` label in generated test inputs, e.g. `sms`.
    pub job: String,
    /// Base URL of Grafana for the `dashboard` annotation; empty gives a path relative
    /// to Grafana's root (`/d/UID?viewPanel=ID`).
    pub grafana_url: String,
    /// The dashboard panel showing each metric (from the dashboard generator).
    pub panels: BTreeMap<C, PanelLink>,
}

impl<C: MetricCatalog> Default for Config<C> {
    fn default() -> Self {
        Config {
            job: "sms".to_string(),
            grafana_url: String::new(),
            panels: BTreeMap::new(),
        }
    }
}

/// A dashboard panel an alert links to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PanelLink {
    /// Uid of the dashboard.
    pub dashboard_uid: String,
    /// Id of the panel within the dashboard.
    pub panel_id: u32,
}

/// Generated files, by file name.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Output {
    /// Rule files for `prometheus/rules/`, one per subsystem with rules.
    pub rules: BTreeMap<String, String>,
    /// `promtool test rules` files for `prometheus/tests/`, same names as the rule
    /// files they test (which they load from `../rules/`).
    pub tests: BTreeMap<String, String>,
}

/// Why rules could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The catalog does not validate; every problem is listed.
    #[error("the catalog is invalid:\n{}", list(.0))]
    Catalog(Vec<Problem>),
    /// A rule or test file could not be serialised.
    #[error("serialising {file}: {source}")]
    Yaml {
        /// The file being written.
        file: String,
        /// The serialiser's error.
        source: serde_norway::Error,
    },
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Header of every generated file.
pub const HEADER: &str =
    "# Generated from the metric catalog by `cargo xtask rules`. Do not edit.\n";

/// Generates the rule files and their unit tests for catalog `C`.
///
/// Fails when the catalog does not validate (alert and SLO definitions included).
pub fn generate<C: MetricCatalog>(config: &Config<C>) -> Result<Output, Error> {
    catalog::validate::<C>().map_err(Error::Catalog)?;
    let mut output = Output::default();
    for subsystem in C::SUBSYSTEMS {
        let plan = rules::plan::<C>(subsystem, config);
        if plan.is_empty() {
            continue;
        }
        let file = format!("{}.yaml", subsystem.name);
        let rule_file = rules::rule_file::<C>(subsystem, &plan);
        output
            .rules
            .insert(file.clone(), yaml::to_string(&file, &rule_file)?);
        let test_file = tests_gen::test_file::<C>(&file, &plan, config);
        output
            .tests
            .insert(file.clone(), yaml::to_string(&file, &test_file)?);
    }
    Ok(output)
}
