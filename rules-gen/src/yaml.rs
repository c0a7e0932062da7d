//! The rule-file and `promtool test rules` formats as serde structs (no logic).
//!
//! Field order is the order Prometheus' documentation uses; maps are `BTreeMap`s, so
//! output is deterministic.

use std::collections::BTreeMap;

use serde::Serialize;

use catalog::MetricCatalog;

use crate::{Error, header};

/// A Prometheus rule file.
#[derive(Debug, Serialize)]
pub(crate) struct RuleFile {
    pub groups: Vec<Group>,
}

/// A rule group: evaluated in order, every `interval`.
#[derive(Debug, Serialize)]
pub(crate) struct Group {
    pub name: String,
    pub rules: Vec<Rule>,
}

/// A recording or alerting rule.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum Rule {
    Recording {
        record: String,
        expr: String,
    },
    Alerting {
        alert: String,
        expr: String,
        #[serde(rename = "for", skip_serializing_if = "Option::is_none")]
        for_duration: Option<String>,
        labels: BTreeMap<String, String>,
        annotations: BTreeMap<String, String>,
    },
}

/// A `promtool test rules` file.
#[derive(Debug, Serialize)]
pub(crate) struct TestFile {
    pub rule_files: Vec<String>,
    pub evaluation_interval: String,
    pub tests: Vec<TestGroup>,
}

/// One test group: input series and the alerts expected at given times.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct TestGroup {
    pub interval: String,
    pub input_series: Vec<InputSeries>,
    pub alert_rule_test: Vec<AlertTest>,
}

/// One input series in promtool's expanding notation (`0+60x30`).
#[derive(Clone, Debug, Serialize)]
pub(crate) struct InputSeries {
    pub series: String,
    pub values: String,
}

/// The alerts named `alertname` expected at `eval_time`; none means "not firing".
#[derive(Clone, Debug, Serialize)]
pub(crate) struct AlertTest {
    pub eval_time: String,
    pub alertname: String,
    pub exp_alerts: Vec<ExpectedAlert>,
}

/// One expected alert: all its labels and annotations.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct ExpectedAlert {
    pub exp_labels: BTreeMap<String, String>,
    pub exp_annotations: BTreeMap<String, String>,
}

/// Serialises `value` with the generated-file header of catalog `C`.
pub(crate) fn to_string<C: MetricCatalog>(
    file: &str,
    value: &impl Serialize,
) -> Result<String, Error> {
    let body = serde_norway::to_string(value).map_err(|source| Error::Yaml {
        file: file.to_string(),
        source,
    })?;
    Ok(format!("{}{body}", header::<C>()))
}
