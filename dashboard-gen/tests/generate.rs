//! Generation from the real SMS catalog: coverage, determinism, layout and the lint.

use catalog::{MetricCatalog, MetricId};
use dashboard_gen::model::{Dashboard, PanelType};
use dashboard_gen::{generate, lint, panel_for, render};

fn overview() -> Dashboard {
    generate::<MetricId>().unwrap().remove(0)
}

#[test]
fn every_catalog_metric_appears_in_a_panel() {
    let dashboards = generate::<MetricId>().unwrap();
    for &metric in MetricId::ALL {
        assert!(
            panel_for(&dashboards, metric).is_some(),
            "{} has no panel",
            metric.def().name
        );
    }
}

#[test]
fn generation_is_byte_deterministic() {
    assert_eq!(render(&overview()), render(&overview()));
}

#[test]
fn rows_follow_the_subsystems_in_catalog_order() {
    let rows: Vec<String> = overview()
        .panels
        .iter()
        .filter(|p| p.kind == PanelType::Row)
        .map(|p| p.title.clone())
        .collect();
    let subsystems: Vec<String> = MetricId::SUBSYSTEMS
        .iter()
        .map(|s| s.title.to_string())
        .collect();
    assert_eq!(rows, subsystems);
}

#[test]
fn panel_for_points_at_the_metric_s_main_panel() {
    let dashboards = generate::<MetricId>().unwrap();
    let errors = panel_for(&dashboards, MetricId::SourcesRequestsError).unwrap();
    assert_eq!(errors.dashboard_uid, dashboards[0].uid);
    assert!(
        errors.panel_title.ends_with("(per second)"),
        "{}",
        errors.panel_title
    );
    let latency = panel_for(&dashboards, MetricId::GatewayCasWriteDuration).unwrap();
    assert!(
        latency.panel_title.ends_with("(p50 / p95 / p99)"),
        "{}",
        latency.panel_title
    );
    let panel = dashboards[0]
        .panels
        .iter()
        .find(|p| p.id == latency.panel_id)
        .unwrap();
    assert_eq!(panel.title, latency.panel_title);
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
        .find(|p| p.kind != PanelType::Row)
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
