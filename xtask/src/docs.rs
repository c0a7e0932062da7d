//! `cargo xtask docs [--check]`: `docs/metrics.md`, the catalog as a document, and the
//! runbooks `docs/runbooks/*.md` (see [`crate::runbooks`]).
//!
//! Per subsystem (in flow order): a table of its metrics (name, kind, unit, labels with
//! their allowed values or bounds, help, dashboard panel), its alerts (linked to their
//! runbooks) and its SLOs; at the top a Mermaid flowchart of the subsystems with the
//! metrics each one emits; at the end every label with its description.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result};
use catalog::{
    AlertDef, Comparison, Indicator, LabelKey, LabelValues, MetricCatalog, MetricDef, Signal, Unit,
};
use dashboard_gen::PanelRef;
use rules_gen::format_duration;

use crate::catalogs::{Visitor, visit_all};
use crate::codegen::Artifact;
use crate::markdown::{cell, label_values, percent};
use crate::runbooks;

/// `docs/metrics.md` (one section per catalog) and `docs/runbooks/*.md` (one page per
/// alert of every catalog).
pub fn artifacts() -> Result<Vec<Artifact>> {
    #[derive(Default)]
    struct Docs {
        sections: Vec<String>,
        runbooks: BTreeMap<String, String>,
        metrics: usize,
    }
    impl Visitor for Docs {
        fn visit<C: MetricCatalog>(&mut self) -> Result<()> {
            let generated = dashboard_gen::build::<C>().with_context(|| {
                format!(
                    "generating the dashboards of catalog `{}` to list each metric's panel",
                    C::NAME
                )
            })?;
            let panels: BTreeMap<C, PanelRef> = C::ALL
                .iter()
                .filter_map(|&m| Some((m, generated.metric_panels.get(m.def().name)?.clone())))
                .collect();
            let config = crate::rules::config::<C>()?;
            let rules = rules_gen::alert_rules::<C>(&config).context("listing the alert rules")?;
            let root = crate::codegen::workspace_root();
            self.runbooks.extend(runbooks::pages::<C>(
                &rules,
                &generated.alert_panels,
                |file| runbooks::read_existing(&root, file),
            ));
            self.sections.push(render::<C>(&panels));
            self.metrics += C::ALL.len();
            Ok(())
        }
    }
    let mut docs = Docs::default();
    visit_all(&mut docs)?;
    let mut document = format!(
        "# Metrics\n\n<!-- Generated from the catalogs by `cargo xtask docs`. Do not edit. -->\n\n\
         Every metric of the service ({} in all), one section per catalog (the crate that \
         declares it, then its subsystems in flow order), with its dashboard panel, alerts and \
         service-level objectives. Each alert links to its runbook in \
         [runbooks/](runbooks/); each catalog's labels are described at its end.\n",
        docs.metrics
    );
    for section in &docs.sections {
        document.push_str(section);
    }
    Ok(vec![
        Artifact {
            name: "docs",
            dir: PathBuf::from("docs"),
            // docs/ also holds hand-written pages: own only metrics.md.
            extension: None,
            files: BTreeMap::from([("metrics.md".to_string(), document)]),
            fix_command: "cargo xtask docs",
        },
        Artifact {
            name: "runbooks",
            dir: PathBuf::from(runbooks::DIR),
            extension: Some("md"),
            files: docs.runbooks,
            fix_command: "cargo xtask docs",
        },
    ])
}

/// The stability level, the deprecation's stage when there is one, the rename's dual
/// emission (a metric renamed away shows its new metric's series, and a new metric is
/// also exposed under its old name until that one is hidden), and the feature the
/// metric depends on.
fn stability<C: MetricCatalog>(metric: C) -> String {
    let def = metric.def();
    let level = format!("{:?}", def.stability).to_lowercase();
    let stage = match (&def.deprecated, def.renamed_to()) {
        (Some(deprecation), Some(new)) if deprecation.hidden => format!(
            "{level}, deprecated, hidden (renamed to `{}`)",
            new.def().name
        ),
        (Some(_), Some(new)) => format!(
            "{level}, deprecated, renamed to `{}`: exposed with its series (dual emission){}",
            new.def().name,
            signals::longest_slo_window::<C>().map_or_else(String::new, |window| format!(
                "; hide it no sooner than {} after the deploy, the longest window the rules \
                 read (the fallback takes the larger of the two names' rates, and a window \
                 spanning both the deploy and the hiding would dip)",
                signals::format_duration(window)
            ))
        ),
        (Some(deprecation), None) if deprecation.hidden => format!("{level}, deprecated, hidden"),
        (Some(_), None) => format!("{level}, deprecated"),
        (None, _) => level,
    };
    let stage = match catalog::renamed_from(metric) {
        Some(old) if !old.def().is_hidden() => format!(
            "{stage}; also exposed as `{}` until that is hidden (dual emission)",
            old.def().name
        ),
        _ => stage,
    };
    match def.feature {
        Some(feature) => format!("{stage}, feature `{feature}`"),
        None => stage,
    }
}

/// The section of catalog `C`: where it is declared, a flowchart, its subsystems, its
/// labels.
pub fn render<C: MetricCatalog>(panels: &BTreeMap<C, PanelRef>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n## Catalog `{}`\n\nDeclared in crate `{}` (prefix `{}`): {} metrics.\n",
        C::NAME,
        C::CRATE,
        C::PREFIX,
        C::ALL.len(),
    );
    out.push_str(&flowchart::<C>());
    for subsystem in C::SUBSYSTEMS {
        let metrics: Vec<C> = C::ALL
            .iter()
            .copied()
            .filter(|m| m.def().subsystem == subsystem)
            .collect();
        let _ = writeln!(
            out,
            "\n### {}\n\n{}\n\n| Metric | Kind | Unit | Stability | Labels | Help | Panel |\n|---|---|---|---|---|---|---|",
            subsystem.title, subsystem.description
        );
        for &metric in &metrics {
            let def = metric.def();
            let panel = panels.get(&metric).map_or("none".to_string(), |p| {
                format!(
                    "{} (`{}`, panel {})",
                    p.panel_title, p.dashboard_uid, p.panel_id
                )
            });
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} | {} | {} |",
                def.name,
                kind(def),
                unit(def.unit),
                stability(metric),
                labels(def),
                cell(&def.exposed_help()),
                cell(&panel)
            );
        }
        let alerts: Vec<(C, &AlertDef<C>)> = metrics
            .iter()
            .flat_map(|&m| m.def().alerts.iter().map(move |a| (m, a)))
            .collect();
        if !alerts.is_empty() {
            out.push_str(
                "\n#### Alerts\n\n| Alert | Metric | Fires when | For | Severity | Summary |\n|---|---|---|---|---|---|\n",
            );
            for (metric, alert) in alerts {
                let runbook = format!(
                    "[{}](runbooks/{})",
                    alert.name,
                    runbooks::file_name(&alert.anchor())
                );
                let _ = writeln!(
                    out,
                    "| {runbook} | `{}` | {} | {} | {} | {} |",
                    metric.def().name,
                    cell(&condition(metric, alert)),
                    format_duration(alert.for_duration),
                    alert.severity.as_str(),
                    cell(alert.summary)
                );
            }
        }
        let slos: Vec<_> = C::SLOS
            .iter()
            .filter(|slo| slo.indicator.metric().def().subsystem == subsystem)
            .collect();
        if !slos.is_empty() {
            out.push_str(
                "\n#### Service-level objectives\n\nPaged when the error budget burns 14.4 times too fast over 1h and 5m or 6 times over 6h and 30m; ticketed at 3 times over 1d and 2h or once over 3d and 6h.\n\n| SLO | Promise | Good events | Objective | Period |\n|---|---|---|---|---|\n",
            );
            for slo in slos {
                let good = match slo.indicator {
                    Indicator::Availability { errors } => format!(
                        "`{}` against errors `{}`",
                        errors
                            .def()
                            .success_twin
                            .map_or("?", |twin| twin.def().name),
                        errors.def().name
                    ),
                    Indicator::Latency {
                        histogram,
                        threshold,
                    } => format!(
                        "`{}` at or below {}",
                        histogram.def().name,
                        with_unit(threshold, histogram.def().unit)
                    ),
                };
                let _ = writeln!(
                    out,
                    "| `{}` | {} | {} | {} | {} |",
                    slo.name,
                    cell(slo.title),
                    good,
                    percent(slo.objective),
                    format_duration(slo.period)
                );
            }
        }
    }
    out.push_str(&labels_section::<C>());
    out
}

/// Every label of the catalog with its description, in order of first use.
fn labels_section<C: MetricCatalog>() -> String {
    let mut out = String::from(
        "\n### Labels\n\nEvery series also carries `job` and `instance` (set by Prometheus).\n\n\
         | Label | Meaning | Values | Metrics |\n|---|---|---|---|\n",
    );
    let mut seen: Vec<&'static catalog::LabelDef> = Vec::new();
    for metric in C::ALL {
        for label in metric.def().labels {
            let def = label.def();
            if seen.iter().any(|d| std::ptr::eq(*d, def)) {
                continue;
            }
            seen.push(def);
            let metrics: Vec<String> = C::ALL
                .iter()
                .filter(|m| m.def().labels.contains(label))
                .map(|m| format!("`{}`", m.def().name))
                .collect();
            let values = label_values(def.values, None);
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                def.name,
                cell(def.help),
                values,
                metrics.join(", ")
            );
        }
    }
    out
}

/// Subsystems in flow order, each listing the metrics it emits.
fn flowchart<C: MetricCatalog>() -> String {
    let mut out = String::from("```mermaid\nflowchart LR\n");
    for subsystem in C::SUBSYSTEMS {
        let names: Vec<&str> = C::ALL
            .iter()
            .map(|m| m.def())
            .filter(|d| d.subsystem == subsystem)
            .map(|d| d.name)
            .collect();
        let _ = writeln!(
            out,
            "    {}[\"<b>{}</b><br/>{}\"]",
            subsystem.name,
            subsystem.title,
            names.join("<br/>")
        );
    }
    let chain: Vec<&str> = C::SUBSYSTEMS.iter().map(|s| s.name).collect();
    if chain.len() > 1 {
        let _ = writeln!(out, "    {}", chain.join(" --> "));
    }
    out.push_str("```\n");
    out
}

fn kind<C: MetricCatalog>(def: &MetricDef<C>) -> String {
    match def.buckets() {
        Some(buckets) => format!(
            "histogram ({})",
            buckets
                .iter()
                .map(|b| b.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => def.kind.type_name().to_string(),
    }
}

fn unit(unit: Unit) -> &'static str {
    unit.suffix().unwrap_or("-")
}

fn with_unit(value: f64, unit: Unit) -> String {
    match unit.suffix() {
        Some(suffix) => format!("{value} {suffix}"),
        None => value.to_string(),
    }
}

fn labels<C: MetricCatalog>(def: &MetricDef<C>) -> String {
    if def.labels.is_empty() {
        return "-".to_string();
    }
    def.labels
        .iter()
        .map(|label| {
            let label = label.def();
            let values = match label.values {
                LabelValues::OneOf(_) => {
                    format!("one of {}", label_values(label.values, None))
                }
                _ => label_values(label.values, Some(def.max_series)),
            };
            format!("`{}`: {values}", label.name)
        })
        .collect::<Vec<_>>()
        .join("<br/>")
}

/// The condition in words, e.g. `error ratio over 5m above 0.1, by source_id`.
fn condition<C: MetricCatalog>(metric: C, alert: &AlertDef<C>) -> String {
    let unit = metric.def().unit;
    let signal = match alert.signal {
        Signal::Rate { window } => format!("rate over {}", format_duration(window)),
        Signal::ErrorRatio { window } => format!("error ratio over {}", format_duration(window)),
        Signal::Ratio {
            denominator,
            window,
        } => format!(
            "ratio to `{}` over {}",
            denominator.def().name,
            format_duration(window)
        ),
        Signal::Quantile { quantile, window } => format!(
            "p{} over {}",
            percent(quantile).trim_end_matches('%'),
            format_duration(window)
        ),
        Signal::Value => "value".to_string(),
        Signal::Absent => return "no series".to_string(),
    };
    let threshold = match alert.signal {
        Signal::Quantile { .. } | Signal::Value => with_unit(alert.threshold, unit),
        _ => alert.threshold.to_string(),
    };
    let side = match alert.comparison {
        Comparison::Above => "above",
        Comparison::Below => "below",
    };
    let mut text = format!("{signal} {side} {threshold}");
    if !alert.by.is_empty() {
        let by: Vec<&str> = alert.by.iter().map(|l| l.def().name).collect();
        let _ = write!(text, ", by {}", by.join(", "));
    }
    text
}

#[cfg(test)]
mod tests {
    use catalog::MetricId;

    use super::*;

    #[test]
    fn every_catalog_metric_is_listed() {
        let doc = render::<MetricId>(&BTreeMap::new());
        for metric in MetricId::ALL {
            let row = format!("| `{}` |", metric.def().name);
            assert!(doc.contains(&row), "{} missing", metric.def().name);
        }
        for slo in MetricId::SLOS {
            assert!(doc.contains(&format!("| `{}` |", slo.name)));
        }
        assert!(doc.contains("```mermaid\nflowchart LR\n"));
        let source_id = catalog::Label::SourceId.def();
        assert!(
            doc.contains(&format!("| `{}` | {} |", source_id.name, source_id.help)),
            "label descriptions missing"
        );
        assert!(doc.contains("[SmsSourceFailing](runbooks/smssourcefailing.md)"));
    }
}
