//! `docs/runbooks/<anchor>.md` (written by `cargo xtask docs`): one page per alert,
//! generated from the catalog and the generated rules.
//!
//! Each page says what the alert means, the expression with its threshold and `for`,
//! the recording rules it compares, its dashboard panel, the metrics involved with their
//! HELP, the labels worth looking at with their descriptions, and related alerts and
//! SLOs. Between the [`BEGIN`] and [`END`] markers is a hand-written section that
//! regeneration keeps: the generator reads the committed page and carries that text
//! over, so `--check` accepts any hand edit there and rejects any elsewhere.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use catalog::{Comparison, Indicator, LabelKey, MetricCatalog, MetricDef, Signal, SloDef};
use dashboard_gen::PanelRef;
use rules_gen::{AlertRule, format_duration};

use crate::markdown::{cell, label_values, percent};

/// Start of the hand-written section.
pub const BEGIN: &str =
    "<!-- hand-written: begin (regeneration keeps everything up to the end marker) -->";
/// End of the hand-written section.
pub const END: &str = "<!-- hand-written: end -->";
/// What a new page's hand-written section holds.
const PLACEHOLDER: &str = "_Nothing yet. Add what you learn on call: how to confirm the cause, \
     the fix, who to call. Regeneration keeps this section._";

/// The directory of the pages, relative to the workspace root.
pub const DIR: &str = "docs/runbooks";

/// File name of the runbook of the alert with `anchor`.
pub fn file_name(anchor: &str) -> String {
    format!("{anchor}.md")
}

/// The hand-written section of `page` (without markers), if it has one.
pub fn hand_written(page: &str) -> Option<&str> {
    let start = page.find(BEGIN)? + BEGIN.len();
    let end = start + page[start..].find(END)?;
    Some(page[start..end].trim_matches('\n'))
}

/// Every page, by file name. `existing` reads a committed page by file name (so its
/// hand-written section survives); `panels` maps link keys to the panels plotting
/// each rule's signal.
pub fn pages<C: MetricCatalog>(
    rules: &[AlertRule<C>],
    panels: &BTreeMap<String, PanelRef>,
    existing: impl Fn(&str) -> Option<String>,
) -> BTreeMap<String, String> {
    // One page per alert name (an SLO's burn alert has one rule per window pair).
    let mut by_name: BTreeMap<&str, Vec<&AlertRule<C>>> = BTreeMap::new();
    for rule in rules {
        by_name.entry(rule.name.as_str()).or_default().push(rule);
    }
    let mut pages = BTreeMap::new();
    for (name, group) in &by_name {
        let anchor = anchor_of(group[0]);
        let file = file_name(&anchor);
        let kept = existing(&file)
            .and_then(|page| hand_written(&page).map(str::to_string))
            .unwrap_or_else(|| PLACEHOLDER.to_string());
        let page = page::<C>(name, group, rules, panels, &kept);
        pages.insert(file, page);
    }
    pages
}

/// The runbook anchor of a rule: the catalog alert's, or the lower-cased burn alert name.
pub fn anchor_of<C: MetricCatalog>(rule: &AlertRule<C>) -> String {
    match rule.alert {
        Some(alert) => alert.anchor(),
        None => rule.name.to_ascii_lowercase(),
    }
}

fn page<C: MetricCatalog>(
    name: &str,
    group: &[&AlertRule<C>],
    all: &[AlertRule<C>],
    panels: &BTreeMap<String, PanelRef>,
    kept: &str,
) -> String {
    let first = group[0];
    let metric = first.metric.def();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# {name}\n\n<!-- Generated from the catalog by `cargo xtask docs`. Edit only the \
         hand-written section at the end; everything else is regenerated. -->\n"
    );
    let severities: Vec<&str> = dedup(
        group
            .iter()
            .filter_map(|r| r.labels.get("severity").map(String::as_str)),
    );
    let _ = writeln!(
        out,
        "Severity {} · subsystem {} · rule file `prometheus/rules/{}`\n",
        severities.join(" / "),
        metric.subsystem.title,
        first.file
    );

    out.push_str("## What it means\n\n");
    match (first.alert, first.slo) {
        (Some(alert), _) => {
            let _ = writeln!(
                out,
                "{}\n\n{}\n",
                alert.summary,
                describe::<C>(first.metric, alert.signal)
            );
            let _ = writeln!(out, "Notification text: {}\n", alert.description);
        }
        (None, Some(slo)) => {
            let _ = writeln!(
                out,
                "The error budget of SLO `{}` ({}) burns faster than the objective of {} over \
                 {} allows. Each window pair below fires on its own; the short window makes \
                 the alert resolve soon after the burn stops.\n",
                slo.name,
                slo.title,
                percent(slo.objective),
                format_duration(slo.period)
            );
        }
        (None, None) => {}
    }

    out.push_str("## Condition\n\n");
    for rule in group {
        let windows = match (
            rule.labels.get("long_window"),
            rule.labels.get("short_window"),
        ) {
            (Some(long), Some(short)) => format!(" (windows {long} and {short})"),
            _ => String::new(),
        };
        let for_text = if rule.for_duration.is_zero() {
            "as soon as it holds".to_string()
        } else {
            format!("after it holds for {}", format_duration(rule.for_duration))
        };
        let _ = writeln!(
            out,
            "Fires {for_text}{windows}, severity {}:\n\n```promql\n{}\n```\n",
            rule.labels.get("severity").map_or("?", String::as_str),
            rule.expr
        );
    }
    if let Some(alert) = first.alert {
        let side = match alert.comparison {
            Comparison::Above => "above",
            Comparison::Below => "below",
        };
        if alert.signal != Signal::Absent {
            let _ = writeln!(out, "Threshold: {side} {}.\n", alert.threshold);
        }
    }
    let uses: Vec<&(String, String)> = dedup(group.iter().flat_map(|r| r.uses.iter()));
    if !uses.is_empty() {
        out.push_str("Recording rules it compares:\n\n");
        for (record, expr) in uses {
            let _ = writeln!(out, "- `{record}`:\n\n  ```promql\n  {expr}\n  ```\n");
        }
    }

    out.push_str("## Dashboard\n\n");
    let linked: Vec<&PanelRef> = dedup(group.iter().filter_map(|r| panels.get(&r.link_key)));
    if linked.is_empty() {
        out.push_str("No panel.\n\n");
    }
    for panel in linked {
        let what = if first.uses.is_empty() {
            "the metric's main panel"
        } else {
            "plots exactly the series the alert compares, threshold drawn"
        };
        let _ = writeln!(
            out,
            "- Panel \"{}\" of dashboard `{}` ({what}): `/d/{}?viewPanel={}` on Grafana, the \
             alert's `dashboard` annotation.",
            panel.panel_title, panel.dashboard_uid, panel.dashboard_uid, panel.panel_id
        );
    }
    out.push('\n');

    out.push_str("## Metrics involved\n\n| Metric | Kind | Help |\n|---|---|---|\n");
    for metric in involved::<C>(first) {
        let def = metric.def();
        let _ = writeln!(
            out,
            "| `{}` | {} | {} |",
            def.name,
            def.kind.type_name(),
            cell(&def.exposed_help())
        );
    }

    out.push_str("\n## Labels worth looking at\n\n| Label | Meaning | Values |\n|---|---|---|\n");
    let _ = writeln!(
        out,
        "| `job` | The scrape job: which service the series come from. | set by Prometheus |"
    );
    for (label, values) in labels::<C>(first) {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} |",
            label.name,
            cell(label.help),
            values
        );
    }

    out.push_str("\n## Related\n\n");
    let related: Vec<&str> = dedup(
        all.iter()
            .filter(|r| r.name != name && shares_metric(r, first))
            .map(|r| r.name.as_str()),
    );
    if related.is_empty() {
        out.push_str("- Alerts: none on the same metrics.\n");
    } else {
        let links: Vec<String> = related
            .iter()
            .map(|other| {
                let anchor = all
                    .iter()
                    .find(|r| r.name == *other)
                    .map_or_else(|| other.to_ascii_lowercase(), anchor_of);
                format!("[{other}]({})", file_name(&anchor))
            })
            .collect();
        let _ = writeln!(out, "- Alerts on the same metrics: {}.", links.join(", "));
    }
    let slos: Vec<&SloDef<C>> = C::SLOS
        .iter()
        .filter(|slo| involved::<C>(first).contains(&slo.indicator.metric()))
        .collect();
    if slos.is_empty() {
        out.push_str("- SLOs: none on these metrics.\n");
    } else {
        for slo in slos {
            let _ = writeln!(
                out,
                "- SLO `{}`: {} (objective {} over {}).",
                slo.name,
                slo.title,
                percent(slo.objective),
                format_duration(slo.period)
            );
        }
    }
    out.push_str("- Every metric: [metrics.md](../metrics.md).\n");

    let _ = writeln!(out, "\n## Notes from on call\n\n{BEGIN}\n{kept}\n{END}");
    out
}

/// The signal in words.
fn describe<C: MetricCatalog>(metric: C, signal: Signal<C>) -> String {
    let name = metric.def().name;
    match signal {
        Signal::Rate { window } => format!(
            "It watches the per-second rate of `{name}` over {}.",
            format_duration(window)
        ),
        Signal::ErrorRatio { window } => format!(
            "It watches the share of failed operations, `{name}` over itself plus its success \
             counter, over {}.",
            format_duration(window)
        ),
        Signal::Ratio {
            denominator,
            window,
        } => format!(
            "It watches the rate of `{name}` divided by the rate of `{}`, over {}.",
            denominator.def().name,
            format_duration(window)
        ),
        Signal::Quantile { quantile, window } => format!(
            "It watches the {} quantile of `{name}`, estimated from its buckets over {}.",
            quantile,
            format_duration(window)
        ),
        Signal::Value => format!("It watches the current value of `{name}` (the maximum)."),
        Signal::Absent => format!("It fires when no series of `{name}` exists at all."),
    }
}

/// The metric of the rule, and the other metrics its expression reads.
fn involved<C: MetricCatalog>(rule: &AlertRule<C>) -> Vec<C> {
    let mut metrics = vec![rule.metric];
    let def: &MetricDef<C> = rule.metric.def();
    let mut extra = |metric: C| {
        if !metrics.contains(&metric) {
            metrics.push(metric);
        }
    };
    match (rule.alert, rule.slo) {
        (Some(alert), _) => match alert.signal {
            Signal::ErrorRatio { .. } => def.success_twin.into_iter().for_each(&mut extra),
            Signal::Ratio { denominator, .. } => extra(denominator),
            _ => {}
        },
        (None, Some(slo)) => {
            if let Indicator::Availability { .. } = slo.indicator {
                def.success_twin.into_iter().for_each(&mut extra);
            }
        }
        (None, None) => {}
    }
    metrics
}

/// The alert's `by` labels first, then every other label of the metrics involved.
fn labels<C: MetricCatalog>(rule: &AlertRule<C>) -> Vec<(&'static catalog::LabelDef, String)> {
    let mut out: Vec<(&'static catalog::LabelDef, String)> = Vec::new();
    let by = rule.alert.map_or(&[][..], |a| a.by);
    for metric in involved::<C>(rule) {
        let def = metric.def();
        for label in by.iter().chain(def.labels) {
            let label_def = label.def();
            if out.iter().any(|(l, _)| std::ptr::eq(*l, label_def)) {
                continue;
            }
            if !def.labels.contains(label) {
                continue;
            }
            let values = label_values(label_def.values, Some(def.max_series));
            let values = if by.contains(label) {
                format!("{values} (one alert per value)")
            } else {
                values
            };
            out.push((label_def, values));
        }
    }
    out
}

fn shares_metric<C: MetricCatalog>(a: &AlertRule<C>, b: &AlertRule<C>) -> bool {
    let theirs = involved::<C>(a);
    involved::<C>(b).iter().any(|m| theirs.contains(m))
}

fn dedup<T: PartialEq>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut out = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// Reads `DIR/<file>` below `root`, if it exists.
pub fn read_existing(root: &Path, file: &str) -> Option<String> {
    std::fs::read_to_string(root.join(DIR).join(file)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use catalog::MetricId;
    use rules_gen::Config;

    fn generated(existing: impl Fn(&str) -> Option<String>) -> BTreeMap<String, String> {
        let rules = rules_gen::alert_rules::<MetricId>(&Config::default()).unwrap();
        pages::<MetricId>(&rules, &BTreeMap::new(), existing)
    }

    #[test]
    fn every_alert_has_a_page_with_its_sections() {
        let pages = generated(|_| None);
        for metric in MetricId::ALL {
            for alert in metric.def().alerts {
                let page = &pages[&file_name(&alert.anchor())];
                assert!(page.starts_with(&format!("# {}\n", alert.name)), "{page}");
                for section in [
                    "## What it means",
                    "## Condition",
                    "## Dashboard",
                    "## Metrics involved",
                    "## Labels worth looking at",
                    "## Related",
                ] {
                    assert!(page.contains(section), "{}: no {section}", alert.name);
                }
                assert!(page.contains(metric.def().help), "{}", alert.name);
            }
        }
        for slo in MetricId::SLOS {
            let page = &pages[&file_name(&slo.burn_alert_name().to_ascii_lowercase())];
            assert!(
                page.contains("long_window") || page.contains("windows 1h and 5m"),
                "{page}"
            );
        }
        let failing = &pages["smssourcefailing.md"];
        let source_id = catalog::Label::SourceId.def();
        assert!(
            failing.contains(&format!("| `{}` | {} |", source_id.name, source_id.help)),
            "{failing}"
        );
        assert!(failing.contains("(one alert per value)"), "{failing}");
        assert!(
            failing.contains("sources_requests_availability"),
            "{failing}"
        );
    }

    #[test]
    fn regeneration_keeps_the_hand_written_section_only() {
        let pages = generated(|_| None);
        let original = &pages["smsgatewaybacklog.md"];
        assert_eq!(hand_written(original), Some(PLACEHOLDER));
        let notes = "1. Check the disk.\n\n2. Restart the gateway.";
        let edited = original
            .replace(PLACEHOLDER, notes)
            .replace("## Dashboard", "## Dashboard (edited)");
        let again = generated(|file| (file == "smsgatewaybacklog.md").then(|| edited.clone()));
        let page = &again["smsgatewaybacklog.md"];
        assert_eq!(hand_written(page), Some(notes));
        assert!(
            !page.contains("(edited)"),
            "an edit outside the markers survived"
        );
        assert_eq!(*page, original.replace(PLACEHOLDER, notes));
    }
}
