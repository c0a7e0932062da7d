//! Generation from the real SMS catalog: coverage, determinism, layout and the lint.

use catalog::{MetricCatalog, MetricId};
use dashboard_gen::model::{Dashboard, PanelType};
use dashboard_gen::{build, generate, lint, render};

fn overview() -> Dashboard {
    generate::<MetricId>().unwrap().remove(0)
}

#[test]
fn every_catalog_metric_appears_in_a_panel() {
    let generated = build::<MetricId>().unwrap();
    for &metric in MetricId::ALL {
        assert!(
            generated.metric_panels.contains_key(metric.def().name),
            "{} has no panel",
            metric.def().name
        );
    }
}

/// A renamed-away metric is shown by its new metric's panel, which reads both names.
#[test]
fn a_renamed_metric_is_shown_by_its_new_metrics_panel() {
    use sms_storage::StorageMetricId;
    let generated = build::<StorageMetricId>().unwrap();
    let old = StorageMetricId::GatewayCasWritesSuccess;
    let new = old
        .def()
        .renamed_to()
        .expect("renamed in the storage catalog");
    assert_eq!(
        generated.metric_panels[old.def().name],
        generated.metric_panels[new.def().name]
    );
    let main = &generated.metric_panels[new.def().name];
    let panel = generated
        .dashboards
        .iter()
        .filter(|d| d.uid == main.dashboard_uid)
        .flat_map(|d| &d.panels)
        .find(|p| p.id == main.panel_id)
        .expect("the new metric's panel");
    assert!(
        panel
            .description
            .as_deref()
            .is_some_and(|d| d.contains(&format!("Reads `{}` too", old.def().name))),
        "{:?}",
        panel.description
    );
    let expr = &panel.targets.as_ref().expect("queries")[0].expr;
    assert!(
        expr.contains(&format!("rate({}{{", new.def().name))
            && expr.contains(&format!(" or rate({}{{", old.def().name)),
        "{expr}"
    );
}

#[test]
fn generation_is_byte_deterministic() {
    assert_eq!(render(&overview()), render(&overview()));
}

#[test]
fn the_overview_comes_first_then_one_dashboard_per_subsystem() {
    let dashboards = generate::<MetricId>().unwrap();
    let uids: Vec<&str> = dashboards.iter().map(|d| d.uid.as_str()).collect();
    let mut expected = vec!["sms-overview".to_string()];
    expected.extend(
        MetricId::SUBSYSTEMS
            .iter()
            .map(|s| format!("sms-{}", s.name.replace('_', "-"))),
    );
    assert_eq!(uids, expected);
    let rows: Vec<&str> = dashboards[0]
        .panels
        .iter()
        .filter(|p| p.kind == PanelType::Row)
        .map(|p| p.title.as_str())
        .collect();
    assert_eq!(
        rows,
        ["Alerts", "Golden signals", "Service-level objectives"]
    );
    assert_eq!(dashboards[0].panels[1].kind, PanelType::Alertlist);
}

#[test]
fn dashboards_link_both_ways_keeping_time_and_variables() {
    let dashboards = generate::<MetricId>().unwrap();
    for dashboard in &dashboards {
        let link = &dashboard.links[0];
        assert_eq!(link.kind, "dashboards");
        assert!(link.keep_time && link.include_vars, "{}", dashboard.uid);
        // Every dashboard carries the tag the link selects, so each reaches every other.
        for other in &dashboards {
            assert!(
                link.tags.iter().all(|t| other.tags.contains(t)),
                "{}",
                other.uid
            );
        }
    }
    let uids: Vec<&str> = dashboards.iter().map(|d| d.uid.as_str()).collect();
    let mut data_links = 0;
    for panel in dashboards[0]
        .panels
        .iter()
        .filter(|p| p.kind != PanelType::Row)
    {
        let Some(config) = &panel.field_config else {
            continue;
        };
        for link in &config.defaults.links {
            data_links += 1;
            let uid = link
                .url
                .trim_start_matches("/d/")
                .split('?')
                .next()
                .unwrap();
            assert!(uids[1..].contains(&uid), "{}: {}", panel.title, link.url);
            assert!(
                link.url
                    .ends_with("?${__url_time_range}&${__all_variables}"),
                "{}",
                link.url
            );
        }
    }
    assert!(data_links >= 8, "{data_links} data links on the overview");
}

#[test]
fn stats_draw_no_sparkline_and_titles_are_short() {
    for dashboard in generate::<MetricId>().unwrap() {
        for panel in &dashboard.panels {
            assert!(panel.title.chars().count() <= 40, "{}", panel.title);
            if let Some(dashboard_gen::model::PanelOptions::Stat(options)) = &panel.options {
                assert_eq!(options.graph_mode, "none", "{}", panel.title);
            }
        }
    }
}

#[test]
fn metric_panels_are_the_metric_s_main_panel() {
    let generated = build::<MetricId>().unwrap();
    let errors = &generated.metric_panels[MetricId::SourcesRequestsError.def().name];
    assert_eq!(errors.dashboard_uid, "sms-sources");
    assert!(
        errors.panel_title.ends_with("(per second)"),
        "{}",
        errors.panel_title
    );
    let latency = &generated.metric_panels[MetricId::SourcesRequestDuration.def().name];
    assert!(
        latency.panel_title.ends_with("(p50 / p95 / p99)"),
        "{}",
        latency.panel_title
    );
    let panel = generated
        .dashboards
        .iter()
        .find(|d| d.uid == latency.dashboard_uid)
        .unwrap()
        .panels
        .iter()
        .find(|p| p.id == latency.panel_id)
        .unwrap();
    assert_eq!(panel.title, latency.panel_title);
}

#[test]
fn every_alert_links_to_the_panel_plotting_what_it_compares() {
    let generated = build::<MetricId>().unwrap();
    for &metric in MetricId::ALL {
        for alert in metric.def().alerts {
            let link = &generated.alert_panels[alert.name];
            let subsystem = metric.def().subsystem.name.replace('_', "-");
            assert_eq!(
                link.dashboard_uid,
                format!("sms-{subsystem}"),
                "{}",
                alert.name
            );
            let dashboard = generated
                .dashboards
                .iter()
                .find(|d| d.uid == link.dashboard_uid)
                .unwrap();
            let panel = dashboard
                .panels
                .iter()
                .find(|p| p.id == link.panel_id)
                .unwrap();
            let Some(record) = signals::alert_record(metric, alert) else {
                // Absence alerts link to the metric's main panel.
                assert_eq!(
                    *link,
                    generated.metric_panels[metric.def().name],
                    "{}",
                    alert.name
                );
                continue;
            };
            let targets = panel.targets.as_ref().unwrap();
            assert_eq!(targets.len(), 1, "{}", alert.name);
            assert!(
                targets[0]
                    .expr
                    .starts_with(&format!("{}{{job=~\"$job\"", record.name)),
                "{}: {}",
                alert.name,
                targets[0].expr
            );
            let defaults = &panel.field_config.as_ref().unwrap().defaults;
            let steps = &defaults.thresholds.as_ref().unwrap().steps;
            assert_eq!(steps[1].value, Some(alert.threshold), "{}", alert.name);
            assert_eq!(
                defaults.custom.as_ref().unwrap().thresholds_style.mode,
                "line"
            );
        }
    }
    for slo in MetricId::SLOS {
        for burn in &signals::BURN_WINDOWS {
            let key = signals::link_key(&slo.burn_alert_name(), Some(burn));
            assert!(generated.alert_panels.contains_key(&key), "{key}");
        }
    }
}

/// Mutates the generated overview and checks which lint rules fire.
fn check(mutate: impl FnOnce(&mut Dashboard), expected: &[&str]) {
    let mut dashboard = overview();
    mutate(&mut dashboard);
    let mut rules: Vec<&str> = lint::<MetricId>(&dashboard)
        .iter()
        .map(|f| f.rule)
        .collect();
    rules.dedup();
    assert_eq!(rules, expected);
}

fn first_panel(dashboard: &mut Dashboard) -> &mut dashboard_gen::model::Panel {
    dashboard
        .panels
        .iter_mut()
        .find(|p| p.kind == PanelType::Timeseries)
        .unwrap()
}

#[test]
fn lint_passes_the_generated_overview() {
    check(|_| {}, &[]);
}

#[test]
fn lint_rejects_an_editable_dashboard_and_a_bad_uid() {
    check(|d| d.editable = true, &["uneditable-dashboard"]);
    check(|d| d.uid = "SMS Overview".to_string(), &["dashboard-uid"]);
    check(|d| d.uid = "a".repeat(41), &["dashboard-uid"]);
}

#[test]
fn lint_rejects_missing_and_misconfigured_variables() {
    // Without `job`, the other variables' and every target's `$job` is unknown too.
    check(
        |d| d.templating.list.retain(|v| v.name != "job"),
        &["template-job", "template-label-promql", "target-promql"],
    );
    check(
        |d| d.templating.list[1].refresh = 1,
        &["template-on-time-change-reload"],
    );
    check(
        |d| {
            d.templating.list.remove(0);
        },
        &["template-datasource"],
    );
    check(
        |d| d.templating.list[1].query = "label_values(up, job)".to_string(),
        &["template-label-promql"],
    );
}

#[test]
fn lint_rejects_panel_problems() {
    check(
        |d| first_panel(d).description = None,
        &["panel-title-description"],
    );
    check(|d| first_panel(d).datasource = None, &["panel-datasource"]);
    check(
        |d| first_panel(d).field_config.as_mut().unwrap().defaults.unit = "furlongs".to_string(),
        &["panel-units"],
    );
    check(
        |d| first_panel(d).targets = Some(Vec::new()),
        &["panel-no-targets"],
    );
    check(
        |d| {
            let id = d.panels[2].id;
            first_panel(d).id = id;
        },
        &["panel-id-unique"],
    );
    check(|d| first_panel(d).grid_pos.x = 20, &["panel-grid"]);
    check(
        |d| first_panel(d).title = "x".repeat(41),
        &["panel-title-length"],
    );
    check(
        |d| {
            let stat = d
                .panels
                .iter_mut()
                .find(|p| p.kind == PanelType::Stat)
                .unwrap();
            if let Some(dashboard_gen::model::PanelOptions::Stat(options)) = &mut stat.options {
                options.graph_mode = "area".to_string();
            }
        },
        &["panel-stat-sparkline"],
    );
}

#[test]
fn lint_rejects_target_problems() {
    let name = MetricId::GatewayQueueDepth.def().name;
    let set = |expr: String| {
        move |d: &mut Dashboard| first_panel(d).targets.as_mut().unwrap()[0].expr = expr
    };
    check(
        set(format!(
            "rate({name}{{job=~\"$job\", instance=~\"$instance\"}}[$__rate_interval])"
        )),
        &["target-counter-agg"],
    );
    check(
        set(format!("sum({name}{{instance=~\"$instance\"}})")),
        &["target-job"],
    );
    check(
        set(format!("sum({name}{{job=~\"$job\"}})")),
        &["target-instance"],
    );
    check(
        set(format!(
            "sum({name}{{job=~\"$job\", instance=~\"$instance\"}}"
        )),
        &["target-promql"],
    );
}
