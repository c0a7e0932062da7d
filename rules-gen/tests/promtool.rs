//! The generated rules and tests, checked with the real tool: `promtool check rules` on
//! every rule file and `promtool test rules` on every test file.
//!
//! Needs `promtool` on `PATH` (Debian: `apt-get install -y prometheus`). Without it the
//! test fails when `CI` is set and is skipped, saying so, otherwise.

use std::path::{Path, PathBuf};
use std::process::Command;

use catalog::MetricId;
use rules_gen::{Config, PanelLink};

fn promtool() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("promtool"))
            .find(|path| path.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "promtool not found on PATH: install it: apt-get install -y prometheus"
        );
        eprintln!(
            "SKIPPED: promtool not found on PATH (install it: apt-get install -y prometheus)"
        );
    }
    found
}

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
    for (i, metric) in catalog::MetricCatalog::ALL.iter().enumerate() {
        config.panels.insert(
            *metric,
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
