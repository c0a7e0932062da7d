//! The generated rules and tests, checked with the real tool: `promtool check rules` on
//! every rule file and `promtool test rules` on every test file.
//!
//! Needs `promtool` on `PATH` (Debian: `apt-get install -y prometheus`). Without it the
//! test fails when `CI` is set and is skipped, saying so, otherwise.

use std::path::{Path, PathBuf};
use std::process::Command;

use catalog::MetricId;
use rules_gen::{Config, PanelLink};

mod support;
use support::promtool;

fn write_all(dir: &Path, files: &std::collections::BTreeMap<String, String>) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    files
        .iter()
        .map(|(name, content)| {
            let path = dir.join(name);
            std::fs::write(&path, content).unwrap();
            path
        })
        .collect()
}

fn run(promtool: &Path, args: &[&str], files: &[PathBuf]) {
    let output = Command::new(promtool)
        .args(args)
        .args(files)
        .output()
        .expect("running promtool");
    assert!(
        output.status.success(),
        "promtool {} failed:\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn promtool_checks_and_tests_every_generated_file() {
    let Some(promtool) = promtool() else { return };
    let mut config = Config::<MetricId>::default();
    // Links exercise the dashboard annotations; their values do not matter here.
    let rules = rules_gen::alert_rules::<MetricId>(&config).unwrap();
    for (i, rule) in rules.iter().enumerate() {
        config.panels.insert(
            rule.link_key.clone(),
            PanelLink {
                dashboard_uid: "overview".to_string(),
                panel_id: i as u32 + 1,
            },
        );
    }
    let output = rules_gen::generate::<MetricId>(&config).unwrap();
    let root = std::env::temp_dir().join(format!("rules-gen-promtool-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let rules = write_all(&root.join("rules"), &output.rules);
    let tests = write_all(&root.join("tests"), &output.tests);
    assert!(!rules.is_empty() && rules.len() == tests.len());
    run(&promtool, &["check", "rules"], &rules);
    run(&promtool, &["test", "rules"], &tests);
    std::fs::remove_dir_all(root).unwrap();
}

/// A catalog with a latency SLO at an integral threshold (1 s): Prometheus 2 stores the
/// bucket as the exposition wrote it (`le="1"` from older expositions), Prometheus 3
/// normalises it to `le="1.0"`. The generated rule must match both.
mod integral_threshold {
    use catalog::{SloDef, Subsystem, Unit};

    pub const WORK: Subsystem = Subsystem {
        name: "work",
        title: "Work",
        description: "Does the work.",
    };

    /// One histogram with a latency SLO at 1 s, and the recorder's self-metrics.
    #[catalog::metrics(
        prefix = "int_",
        labels = [],
        subsystems = [WORK],
    )]
    pub enum Int {
        /// Time per job.
        #[metric(histogram("int_work_job_duration_seconds", &WORK, &[0.5, 1.0, 2.0])
            .unit(Unit::Seconds)
            .slos(&[SloDef::latency("work_latency", "99 % of jobs complete within 1 s", Int::Seconds.id(), 1.0, 0.99)]))]
        Seconds,
    }
}

#[test]
fn an_integral_latency_threshold_matches_le_1_and_le_1_0() {
    use integral_threshold::IntId;
    let output = rules_gen::generate::<IntId>(&Config::default()).unwrap();
    let rules = &output.rules["work.yaml"];
    assert!(
        rules.contains(r#"int_work_job_duration_seconds_bucket{le=~"1|1\\.0"}"#),
        "{rules}"
    );
    let tests = &output.tests["work.yaml"];
    for form in [r#"le="1"}"#, r#"le="1.0"}"#] {
        assert!(
            tests.contains(form),
            "no input series with {form}:\n{tests}"
        );
    }
    let Some(promtool) = promtool() else { return };
    let root = std::env::temp_dir().join(format!("rules-gen-le-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let rules = write_all(&root.join("rules"), &output.rules);
    let tests = write_all(&root.join("tests"), &output.tests);
    run(&promtool, &["check", "rules"], &rules);
    run(&promtool, &["test", "rules"], &tests);
    std::fs::remove_dir_all(root).unwrap();
}

/// An alert on a metric that depends on a feature says which one, and its promtool test
/// predicts the annotation.
mod featured {
    use catalog::{AlertDef, Comparison, Signal, Subsystem};

    pub const WORK: Subsystem = Subsystem {
        name: "work",
        title: "Work",
        description: "Does the work.",
    };

    #[catalog::metrics(prefix = "feat_", labels = [], subsystems = [WORK])]
    pub enum Feat {
        /// Jobs waiting (only with feature `queue_stats`).
        #[metric(gauge("feat_work_queued", &WORK).feature("queue_stats").alerts(&[
            AlertDef::new("FeatWorkQueueLong", Signal::Value, Comparison::Above, 10.0)
                .summary("Jobs pile up.")
                .description("{{ $value }} jobs wait."),
        ]))]
        Queued,
    }
}

#[test]
fn an_alert_on_a_feature_metric_names_the_feature() {
    use featured::FeatId;
    let output = rules_gen::generate::<FeatId>(&Config::default()).unwrap();
    let rules = &output.rules["work.yaml"];
    assert!(rules.contains("feature: queue_stats"), "{rules}");
    assert!(output.tests["work.yaml"].contains("feature: queue_stats"));
    let Some(promtool) = promtool() else { return };
    let root = std::env::temp_dir().join(format!("rules-gen-feature-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let rules = write_all(&root.join("rules"), &output.rules);
    let tests = write_all(&root.join("tests"), &output.tests);
    run(&promtool, &["check", "rules"], &rules);
    run(&promtool, &["test", "rules"], &tests);
    std::fs::remove_dir_all(root).unwrap();
}
