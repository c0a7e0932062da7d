//! Every compatibility rule on a small catalog: one change that breaks it, one that does not.

use catalog_export::{
    CatalogExport, Deprecated, Export, Kind, LabelExport, MetricExport, Rule, Stability, Values,
    compatibility,
};

fn metric(name: &str, kind: Kind, unit: Option<&str>, stability: Stability) -> MetricExport {
    MetricExport {
        name: name.to_string(),
        kind,
        help: "Help.".to_string(),
        unit: unit.map(str::to_string),
        subsystem: "core".to_string(),
        labels: vec![LabelExport {
            name: "outcome".to_string(),
            help: "How it ended.".to_string(),
            values: Values::OneOf {
                values: vec!["ok".to_string(), "failed".to_string()],
            },
        }],
        max_series: None,
        buckets: (kind == Kind::Histogram).then(|| vec![0.1, 1.0]),
        stability,
        deprecated: None,
        feature: None,
        enabled: None,
        renamed_from: None,
    }
}

fn export(metrics: Vec<MetricExport>) -> Export {
    Export::new(vec![CatalogExport {
        name: "t".to_string(),
        crate_name: "t".to_string(),
        prefix: "t_".to_string(),
        runtime_defined: false,
        metrics,
    }])
}

fn deprecated(mut metric: MetricExport, renamed_to: Option<&str>) -> MetricExport {
    metric.deprecated = Some(Deprecated {
        since: "0.2.0".to_string(),
        reason: "Replaced.".to_string(),
        renamed_to: renamed_to.map(str::to_string),
        hidden: false,
    });
    metric
}

/// The rules broken going from `before` to `after`.
fn check(before: Vec<MetricExport>, after: Vec<MetricExport>) -> Vec<Rule> {
    compatibility(&export(before), &export(after))
        .into_iter()
        .map(|f| f.rule)
        .collect()
}

const S: Stability = Stability::Stable;
const B: Stability = Stability::Beta;
const A: Stability = Stability::Alpha;

fn writes(stability: Stability) -> MetricExport {
    metric("t_writes_total", Kind::Counter, None, stability)
}

fn latency(stability: Stability) -> MetricExport {
    metric(
        "t_latency_seconds",
        Kind::Histogram,
        Some("seconds"),
        stability,
    )
}

#[test]
fn removed() {
    assert_eq!(check(vec![writes(B)], vec![]), [Rule::Removed]);
    assert_eq!(check(vec![writes(A)], vec![]), []);
    assert_eq!(check(vec![deprecated(writes(S), None)], vec![]), []);
    // The fix names the likely successor.
    let findings = compatibility(
        &export(vec![writes(S)]),
        &export(vec![metric("t_puts_total", Kind::Counter, None, S)]),
    );
    assert_eq!(findings.len(), 1);
    assert!(
        findings[0].fix.contains("renamed_to = \"t_puts_total\""),
        "{}",
        findings[0]
    );
    assert!(
        findings[0]
            .to_string()
            .starts_with("t_writes_total: metric-removed: ")
    );
}

#[test]
fn kind_changed() {
    let gauge = metric("t_writes_total", Kind::Gauge, None, B);
    assert_eq!(
        check(vec![writes(B)], vec![gauge.clone()]),
        [Rule::KindChanged]
    );
    assert_eq!(check(vec![writes(A)], vec![gauge]), []);
}

#[test]
fn unit_changed() {
    let millis = metric("t_latency_seconds", Kind::Histogram, Some("bytes"), S);
    assert_eq!(check(vec![latency(B)], vec![millis]), [Rule::UnitChanged]);
    assert_eq!(check(vec![latency(B)], vec![latency(B)]), []);
}

#[test]
fn label_removed_and_added() {
    let mut without = writes(S);
    without.labels.clear();
    assert_eq!(
        check(vec![writes(S)], vec![without.clone()]),
        [Rule::LabelRemoved]
    );
    assert_eq!(check(vec![writes(B)], vec![without.clone()]), []);
    assert_eq!(
        check(vec![without.clone()], vec![writes(S)]),
        [Rule::LabelAdded]
    );
    let mut beta = without;
    beta.stability = B;
    assert_eq!(check(vec![beta], vec![writes(B)]), []);
}

#[test]
fn value_removed() {
    let mut fewer = writes(B);
    fewer.labels[0].values = Values::OneOf {
        values: vec!["ok".to_string()],
    };
    assert_eq!(
        check(vec![writes(B)], vec![fewer.clone()]),
        [Rule::ValueRemoved]
    );
    // Adding a value is fine.
    assert_eq!(check(vec![fewer], vec![writes(S)]), []);
}

#[test]
fn buckets_changed() {
    let mut rebucketed = latency(S);
    rebucketed.buckets = Some(vec![0.1, 2.0]);
    assert_eq!(
        check(vec![latency(S)], vec![rebucketed.clone()]),
        [Rule::BucketsChanged]
    );
    assert_eq!(check(vec![latency(B)], vec![rebucketed]), []);
}

#[test]
fn renames() {
    let successor = metric("t_puts_total", Kind::Counter, None, S);
    let renamed = deprecated(writes(S), Some("t_puts_total"));
    assert_eq!(check(vec![writes(S)], vec![renamed.clone(), successor]), []);
    assert_eq!(
        check(vec![writes(S)], vec![renamed.clone()]),
        [Rule::RenamedToUnknown]
    );
    let other_kind = metric("t_puts_total", Kind::Gauge, None, S);
    assert_eq!(
        check(vec![writes(S)], vec![renamed, other_kind]),
        [Rule::RenameChangesKindOrUnit]
    );
}

#[test]
fn the_changelog_lists_what_changed_since_the_baseline() {
    let baseline = export(vec![
        writes(S),
        latency(B),
        metric("t_old", Kind::Gauge, None, A),
    ]);
    let current = export(vec![
        deprecated(writes(S), Some("t_puts_total")),
        metric("t_puts_total", Kind::Counter, None, S),
        latency(S),
    ]);
    let text = catalog_export::changelog(&baseline, &current);
    let section = |title: &str| {
        let start = text.find(&format!("## {title}")).expect(title);
        let rest = &text[start..];
        let end = rest[3..].find("## ").map_or(rest.len(), |i| i + 3);
        rest[..end].to_string()
    };
    assert!(
        section("Added").contains("- `t_puts_total` (counter, stable): Help."),
        "{text}"
    );
    assert!(
        section("Renamed")
            .contains("- `t_writes_total` -> `t_puts_total` (since 0.2.0): Replaced."),
        "{text}"
    );
    assert!(section("Deprecated").contains("None."), "{text}");
    assert!(section("Removed").contains("- `t_old`"), "{text}");
    assert!(
        section("Stability changed").contains("- `t_latency_seconds`: beta -> stable"),
        "{text}"
    );
    // Nothing changed: every section says so.
    let same = catalog_export::changelog(&current, &current);
    assert_eq!(same.matches("None.").count(), 6, "{same}");
}
