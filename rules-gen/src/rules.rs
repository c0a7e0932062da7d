//! From catalog to rules: the plan of one subsystem (recording rules, alerts, SLO burn
//! alerts) and its rule file.

use std::collections::BTreeMap;
use std::time::Duration;

use catalog::{AlertDef, Comparison, MetricCatalog, Severity, SloDef, Subsystem};

use crate::expr::{self, Record, SignalExpr};
use crate::render::format_duration;
use crate::yaml::{Group, Rule, RuleFile};
use crate::{Config, PanelLink};

/// Everything one subsystem's rule file holds, with where each alert came from (the
/// test generator needs it).
pub(crate) struct Plan<C: MetricCatalog> {
    /// Recording rules, deduplicated by name, in catalog order.
    pub records: Vec<Record>,
    /// Alerting rules, in catalog order, SLO burn alerts last.
    pub alerts: Vec<PlannedAlert<C>>,
}

impl<C: MetricCatalog> Plan<C> {
    pub fn is_empty(&self) -> bool {
        self.records.is_empty() && self.alerts.is_empty()
    }
}

/// One alerting rule and its origin.
pub(crate) struct PlannedAlert<C: MetricCatalog> {
    pub name: String,
    pub expr: String,
    /// The recording rules `expr` compares, in order of appearance.
    pub uses: Vec<Record>,
    pub for_duration: Duration,
    /// Static rule labels (`severity`, window labels).
    pub labels: BTreeMap<String, String>,
    /// Annotations as written in the rule (descriptions unrendered).
    pub annotations: BTreeMap<String, String>,
    pub origin: Origin<C>,
}

/// Where an alerting rule comes from.
pub(crate) enum Origin<C: MetricCatalog> {
    /// A catalog alert on `metric`.
    Alert {
        metric: C,
        alert: &'static AlertDef<C>,
    },
    /// One window pair of an SLO's burn-rate alert.
    Burn {
        slo: &'static SloDef<C>,
        burn: &'static BurnWindows,
    },
}

pub(crate) use signals::{BURN_WINDOWS, BurnWindows};

/// Plans the rules of `subsystem`: its metrics' alerts, then the SLOs on its metrics.
pub(crate) fn plan<C: MetricCatalog>(subsystem: &Subsystem, config: &Config<C>) -> Plan<C> {
    let mut plan = Plan {
        records: Vec::new(),
        alerts: Vec::new(),
    };
    let add_record = |records: &mut Vec<Record>, record: Record| {
        if !records.iter().any(|r| r.name == record.name) {
            records.push(record);
        }
    };
    let in_subsystem = |metric: C| metric.def().subsystem == subsystem;
    for &metric in C::ALL.iter().filter(|m| in_subsystem(**m)) {
        for alert in metric.def().alerts {
            let mut uses = Vec::new();
            let compared = match expr::signal(metric, alert) {
                SignalExpr::Recorded(record) => {
                    let name = record.name.clone();
                    uses.push(record.clone());
                    add_record(&mut plan.records, record);
                    let op = match alert.comparison {
                        Comparison::Above => ">",
                        Comparison::Below => "<",
                    };
                    format!("{name} {op} {}", alert.threshold)
                }
                SignalExpr::Raw(expr) => expr,
            };
            let mut annotations = BTreeMap::from([
                ("summary".to_string(), alert.summary.to_string()),
                ("description".to_string(), alert.description.to_string()),
            ]);
            add_feature(&mut annotations, metric.def().feature);
            add_links::<C>(
                &mut annotations,
                &signals::link_key(alert.name, None),
                &alert.anchor(),
                config,
            );
            plan.alerts.push(PlannedAlert {
                name: alert.name.to_string(),
                expr: compared,
                uses,
                for_duration: alert.for_duration,
                labels: BTreeMap::from([
                    ("severity".to_string(), alert.severity.as_str().to_string()),
                    (
                        crate::alertmanager::SIGNAL_LABEL.to_string(),
                        metric.def().name.to_string(),
                    ),
                ]),
                annotations,
                origin: Origin::Alert { metric, alert },
            });
        }
    }
    for slo in C::SLOS
        .iter()
        .filter(|slo| in_subsystem(slo.indicator.metric()))
    {
        for window in signals::slo_windows(slo) {
            add_record(&mut plan.records, expr::slo_error_ratio(slo, window));
        }
        let name = slo.burn_alert_name();
        for burn in &BURN_WINDOWS {
            plan.alerts.push(burn_alert(slo, burn, &name, config));
        }
    }
    plan
}

fn burn_alert<C: MetricCatalog>(
    slo: &'static SloDef<C>,
    burn: &'static BurnWindows,
    name: &str,
    config: &Config<C>,
) -> PlannedAlert<C> {
    let long = format_duration(burn.long);
    let short = format_duration(burn.short);
    let threshold = format!("({} * (1 - {}))", burn.factor, slo.objective);
    let uses = vec![
        expr::slo_error_ratio(slo, burn.long),
        expr::slo_error_ratio(slo, burn.short),
    ];
    let expr = format!(
        "{} > {threshold}\nand\n{} > {threshold}",
        uses[0].name, uses[1].name
    );
    let urgency = match burn.severity {
        Severity::Critical => "page",
        _ => "ticket",
    };
    let mut annotations = BTreeMap::from([
        (
            "summary".to_string(),
            format!(
                "SLO {} ({}): error budget burning over {}x too fast over {long} and {short} ({urgency}).",
                slo.name, slo.title, burn.factor
            ),
        ),
        (
            "description".to_string(),
            format!(
                "{{{{ $labels.job }}}} spends the {} error budget of SLO {} (objective {}) more than {} times faster than sustainable, over both the last {long} and the last {short}.",
                format_duration(slo.period),
                slo.name,
                percent(slo.objective),
                burn.factor
            ),
        ),
    ]);
    add_feature(&mut annotations, slo.indicator.metric().def().feature);
    add_links::<C>(
        &mut annotations,
        &signals::link_key(name, Some(burn)),
        &name.to_ascii_lowercase(),
        config,
    );
    PlannedAlert {
        name: name.to_string(),
        expr,
        uses,
        for_duration: Duration::ZERO,
        labels: BTreeMap::from([
            ("severity".to_string(), burn.severity.as_str().to_string()),
            (
                crate::alertmanager::SIGNAL_LABEL.to_string(),
                slo.indicator.metric().def().name.to_string(),
            ),
            ("slo".to_string(), slo.name.to_string()),
            ("long_window".to_string(), long),
            ("short_window".to_string(), short),
        ]),
        annotations,
        origin: Origin::Burn { slo, burn },
    }
}

/// The `feature` annotation of an alert on a metric that depends on one: the alert can
/// only fire where the feature is on (elsewhere its series are absent, so its expression
/// is empty, never an error).
fn add_feature(annotations: &mut BTreeMap<String, String>, feature: Option<&str>) {
    if let Some(feature) = feature {
        annotations.insert("feature".to_string(), feature.to_string());
    }
}

/// Runbook and dashboard annotations.
fn add_links<C: MetricCatalog>(
    annotations: &mut BTreeMap<String, String>,
    link_key: &str,
    anchor: &str,
    config: &Config<C>,
) {
    if let Some(url) = runbook_url::<C>(anchor) {
        annotations.insert("runbook_url".to_string(), url);
    }
    if let Some(PanelLink {
        dashboard_uid,
        panel_id,
    }) = config.panels.get(link_key)
    {
        annotations.insert("__dashboardUid__".to_string(), dashboard_uid.clone());
        annotations.insert("__panelId__".to_string(), panel_id.to_string());
        annotations.insert(
            "dashboard".to_string(),
            format!(
                "{}/d/{dashboard_uid}?viewPanel={panel_id}",
                config.grafana_url.trim_end_matches('/')
            ),
        );
    }
}

/// The runbook page of the alert with `anchor`: `RUNBOOK_BASE/<anchor>.md`, `None`
/// without a base.
pub fn runbook_url<C: MetricCatalog>(anchor: &str) -> Option<String> {
    let base = C::RUNBOOK_BASE.trim_end_matches('/');
    (!base.is_empty()).then(|| format!("{base}/{anchor}.md"))
}

/// The rule file of one subsystem: one group, recording rules first so alerts see
/// fresh values in the same evaluation.
pub(crate) fn rule_file<C: MetricCatalog>(subsystem: &Subsystem, plan: &Plan<C>) -> RuleFile {
    let records = plan.records.iter().map(|r| Rule::Recording {
        record: r.name.clone(),
        expr: r.expr.clone(),
    });
    let alerts = plan.alerts.iter().map(|a| Rule::Alerting {
        alert: a.name.clone(),
        expr: a.expr.clone(),
        for_duration: (!a.for_duration.is_zero()).then(|| format_duration(a.for_duration)),
        labels: a.labels.clone(),
        annotations: a.annotations.clone(),
    });
    RuleFile {
        groups: vec![Group {
            // The catalog's name: says where the group comes from.
            name: format!("{}.{}", C::NAME, subsystem.name),
            rules: records.chain(alerts).collect(),
        }],
    }
}

/// `0.999` -> `99.9%`, without floating-point noise.
pub(crate) fn percent(ratio: f64) -> String {
    let text = ratio.to_string();
    let Some(fraction) = text.strip_prefix("0.") else {
        return format!("{}%", ratio * 100.0);
    };
    let padded = format!("{fraction:0<2}");
    let (whole, rest) = padded.split_at(2);
    let whole = whole.trim_start_matches('0');
    let whole = if whole.is_empty() { "0" } else { whole };
    if rest.is_empty() {
        format!("{whole}%")
    } else {
        format!("{whole}.{rest}%")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objectives_read_as_percentages() {
        for (ratio, expected) in [
            (0.999, "99.9%"),
            (0.99, "99%"),
            (0.9, "90%"),
            (0.95, "95%"),
            (0.9995, "99.95%"),
            (0.05, "5%"),
        ] {
            assert_eq!(percent(ratio), expected);
        }
    }
}
