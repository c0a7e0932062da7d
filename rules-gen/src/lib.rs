//! Prometheus rules and their `promtool` unit tests, generated from a metric catalog.
//!
//! [`generate`] turns any [`MetricCatalog`] into rule files (one per subsystem, one
//! group each) and `promtool test rules` files:
//!
//! - for every alert of the catalog ([`catalog::AlertDef`]) a recording rule named
//!   `level:metric:operations` (e.g. `job_source_id:sms_sources_requests_error:ratio_rate5m`)
//!   and an alerting rule on it, with `severity`, a static summary, the templated
//!   description, a runbook URL (`RUNBOOK_BASE/<anchor>.md`, see [`runbook_url`]) and links to the
//!   metric's dashboard panel (`__dashboardUid__`, `__panelId__`, `dashboard`);
//! - for every SLO ([`catalog::SloDef`]) error-ratio recording rules over 5m, 30m, 1h,
//!   2h, 6h, 1d, 3d and its period (for the error budget left) and the multi-window multi-burn-rate alerts of the Google SRE
//!   workbook: page (critical) when 1h and 5m burn faster than 14.4 or 6h and 30m
//!   faster than 6, ticket (warning) when 1d and 2h burn faster than 3 or 3d and 6h
//!   faster than 1; each rule labels its `long_window` and `short_window`;
//! - every alert labelled with `severity` and `signal` (the catalog metric it watches),
//!   which [`alertmanager::config`] routes and inhibits on;
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

pub mod alertmanager;
mod expr;
mod render;
mod rules;
mod tests_gen;
mod yaml;

use std::collections::BTreeMap;

use catalog::{MetricCatalog, Problem};

pub use render::{format_duration, humanize, humanize_duration, humanize_percentage, plain};
pub use rules::runbook_url;

/// What [`generate`] needs besides the catalog.
#[derive(Clone, Debug)]
pub struct Config<C: MetricCatalog> {
    /// Value of the `job` label in generated test inputs, e.g. `sms`.
    pub job: String,
    /// Base URL of Grafana for the `dashboard` annotation; empty gives a path relative
    /// to Grafana's root (`/d/UID?viewPanel=ID`).
    pub grafana_url: String,
    /// The dashboard panel plotting each alert's signal, by [`signals::link_key`] (from
    /// the dashboard generator).
    pub panels: BTreeMap<String, PanelLink>,
    /// Ties the config to its catalog.
    pub catalog: std::marker::PhantomData<C>,
}

impl<C: MetricCatalog> Default for Config<C> {
    fn default() -> Self {
        Config {
            job: "sms".to_string(),
            grafana_url: String::new(),
            panels: BTreeMap::new(),
            catalog: std::marker::PhantomData,
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

/// One generated alerting rule, as documentation (runbooks) needs it. An SLO's burn
/// alert is one rule per window pair, all with the same name.
#[derive(Clone, Debug)]
pub struct AlertRule<C: MetricCatalog> {
    /// Alert name.
    pub name: String,
    /// What links it to its panel ([`signals::link_key`]; [`Config::panels`]' key).
    pub link_key: String,
    /// The rule file holding it, e.g. `sources.yaml`.
    pub file: String,
    /// The expression as written in the rule.
    pub expr: String,
    /// The recording rules the expression compares: (name, expression).
    pub uses: Vec<(String, String)>,
    /// The `for` duration (zero: none).
    pub for_duration: std::time::Duration,
    /// Static labels (`severity`, SLO window labels).
    pub labels: BTreeMap<String, String>,
    /// Annotations as written (descriptions unrendered).
    pub annotations: BTreeMap<String, String>,
    /// The catalog metric the alert is declared on (for an SLO, its indicator's metric).
    pub metric: C,
    /// The SLO, for a burn-rate alert.
    pub slo: Option<&'static catalog::SloDef<C>>,
    /// The catalog alert, for a metric alert.
    pub alert: Option<&'static catalog::AlertDef<C>>,
}

/// Every alerting rule [`generate`] writes, in file and rule order.
pub fn alert_rules<C: MetricCatalog>(config: &Config<C>) -> Result<Vec<AlertRule<C>>, Error> {
    catalog::validate::<C>().map_err(Error::Catalog)?;
    let mut out = Vec::new();
    for subsystem in C::SUBSYSTEMS {
        let file = format!("{}.yaml", subsystem.name);
        for planned in rules::plan::<C>(subsystem, config).alerts {
            let (metric, slo, alert, link_key) = match planned.origin {
                rules::Origin::Alert { metric, alert } => (
                    metric,
                    None,
                    Some(alert),
                    signals::link_key(alert.name, None),
                ),
                rules::Origin::Burn { slo, burn } => (
                    slo.indicator.metric(),
                    Some(slo),
                    None,
                    signals::link_key(&planned.name, Some(burn)),
                ),
            };
            out.push(AlertRule {
                name: planned.name,
                link_key,
                file: file.clone(),
                expr: planned.expr,
                uses: planned.uses.into_iter().map(|r| (r.name, r.expr)).collect(),
                for_duration: planned.for_duration,
                labels: planned.labels,
                annotations: planned.annotations,
                metric,
                slo,
                alert,
            });
        }
    }
    Ok(out)
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

/// Header of every file generated for catalog `C`: says which catalog (and crate) it
/// comes from.
pub fn header<C: MetricCatalog>() -> String {
    format!(
        "# Generated from metric catalog `{}` (crate `{}`) by `cargo xtask rules`. Do not edit.\n",
        C::NAME,
        C::CRATE
    )
}

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
            .insert(file.clone(), yaml::to_string::<C>(&file, &rule_file)?);
        let test_file = tests_gen::test_file::<C>(&file, &plan, config);
        output
            .tests
            .insert(file.clone(), yaml::to_string::<C>(&file, &test_file)?);
    }
    Ok(output)
}
