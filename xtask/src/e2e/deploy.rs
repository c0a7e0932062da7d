//! `cargo xtask deploy`: the generated Prometheus config of `deploy/docker-compose.yml`.
//!
//! `deploy/prometheus/prometheus.yml` scrapes the compose service `pipeline-demo` as job
//! `sms` every [`SCRAPE_INTERVAL`] (the provisioned Grafana datasource's
//! `timeInterval`) and loads the generated rules mounted next to it. The tests check
//! the committed file is current, run `promtool check config` on the files laid out as
//! the Prometheus container sees them, and check every path the compose file mounts or
//! builds from exists and agrees with the Grafana provisioning.

use std::path::PathBuf;

use crate::codegen::Artifact;
use crate::dashboards::SCRAPE_INTERVAL;

use super::prometheus::{ScrapeConfig, config};

/// The demo's `/metrics` as Prometheus reaches it inside the compose network.
pub const DEMO_TARGET: &str = "pipeline-demo:9464";

/// The generated file of the deploy directory.
pub fn artifact() -> Artifact {
    let text = config(&ScrapeConfig {
        generated_by: "`cargo xtask deploy` for deploy/docker-compose.yml",
        interval: SCRAPE_INTERVAL,
        targets: &[DEMO_TARGET.to_string()],
        // Resolved relative to the config file: the compose file mounts the generated
        // rules at /etc/prometheus/rules.
        rule_files: &["rules/*.yaml".to_string()],
    });
    Artifact {
        name: "deploy prometheus config",
        dir: PathBuf::from("deploy/prometheus"),
        extension: Some("yml"),
        files: [("prometheus.yml".to_string(), text)].into(),
        fix_command: "cargo xtask deploy",
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    use serde_norway::Value;

    use super::*;
    use crate::codegen::{self, Mode, workspace_root};

    fn deploy_dir() -> PathBuf {
        workspace_root().join("deploy")
    }

    fn compose() -> Value {
        let path = deploy_dir().join("docker-compose.yml");
        let text = fs::read_to_string(&path).unwrap();
        serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// `(host path, container path)` of each volume of `service`, host paths resolved
    /// against `deploy/` as compose does.
    fn volumes(compose: &Value, service: &str) -> Vec<(PathBuf, String)> {
        compose["services"][service]["volumes"]
            .as_sequence()
            .unwrap_or_else(|| panic!("service {service} has no volumes"))
            .iter()
            .map(|v| {
                let spec = v.as_str().expect("short volume syntax");
                let mut parts = spec.split(':');
                let host = parts.next().unwrap();
                let container = parts.next().unwrap_or_else(|| panic!("{spec}: no target"));
                (deploy_dir().join(host), container.to_string())
            })
            .collect()
    }

    fn copy_tree(from: &Path, to: &Path) {
        if from.is_dir() {
            fs::create_dir_all(to).unwrap();
            for entry in fs::read_dir(from).unwrap() {
                let entry = entry.unwrap();
                copy_tree(&entry.path(), &to.join(entry.file_name()));
            }
        } else {
            fs::create_dir_all(to.parent().unwrap()).unwrap();
            fs::copy(from, to).unwrap();
        }
    }

    #[test]
    fn committed_config_is_current() {
        codegen::sync(&workspace_root(), &artifact(), Mode::Check).unwrap();
    }

    #[test]
    fn every_mounted_or_built_path_exists() {
        let compose = compose();
        let services = compose["services"].as_mapping().expect("services");
        assert!(services.len() >= 3, "{services:?}");
        for (name, service) in services {
            let name = name.as_str().unwrap();
            for volume in service["volumes"].as_sequence().into_iter().flatten() {
                let host = volume.as_str().unwrap().split(':').next().unwrap();
                let path = deploy_dir().join(host);
                assert!(
                    path.exists(),
                    "service {name} mounts {host}: {} does not exist",
                    path.display()
                );
            }
            if let Some(build) = service.get("build") {
                let context = deploy_dir().join(build["context"].as_str().unwrap());
                assert!(
                    context.join("Cargo.toml").is_file(),
                    "{name}: build context {}",
                    context.display()
                );
                let dockerfile = context.join(build["dockerfile"].as_str().unwrap());
                assert!(
                    dockerfile.is_file(),
                    "{name}: {} does not exist",
                    dockerfile.display()
                );
            }
        }
    }

    /// Lays the Prometheus service's volumes out as its container sees them and runs
    /// `promtool check config` there: the config and every rule file it loads.
    #[test]
    fn prometheus_service_files_pass_promtool() {
        let compose = compose();
        let root = tempfile::tempdir().unwrap();
        for (host, container) in volumes(&compose, "prometheus") {
            copy_tree(&host, &root.path().join(container.trim_start_matches('/')));
        }
        let command = compose["services"]["prometheus"]["command"]
            .as_sequence()
            .expect("prometheus command");
        let config = command
            .iter()
            .find_map(|a| a.as_str()?.strip_prefix("--config.file="))
            .expect("--config.file");
        let config = root.path().join(config.trim_start_matches('/'));
        let output = Command::new("promtool")
            .arg("check")
            .arg("config")
            .arg(&config)
            .output()
            .expect("promtool is not installed: apt-get install -y prometheus");
        let report = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.status.success(), "{report}");
        // The rule glob matched the generated rules, not nothing.
        let rules = fs::read_dir(workspace_root().join("prometheus/rules"))
            .unwrap()
            .count();
        assert!(rules > 0);
        assert!(
            report.contains(&format!("SUCCESS: {rules} rule files found")),
            "{report}"
        );
    }

    #[test]
    fn services_agree_with_each_other() {
        let compose = compose();
        // Prometheus scrapes the demo where it listens.
        let demo_command: Vec<&str> = compose["services"]["pipeline-demo"]["command"]
            .as_sequence()
            .expect("pipeline-demo command")
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        let port = DEMO_TARGET.rsplit(':').next().unwrap();
        assert_eq!(demo_command, ["--listen", &format!("0.0.0.0:{port}")]);

        // Grafana reads the dashboards where the provider looks, and the datasource
        // points at the Prometheus service.
        let grafana = volumes(&compose, "grafana");
        let provisioning = grafana
            .iter()
            .find(|(_, c)| c == "/etc/grafana/provisioning")
            .map(|(h, _)| h.clone())
            .expect("grafana mounts its provisioning directory");
        let provider: Value = serde_norway::from_str(
            &fs::read_to_string(provisioning.join("dashboards/generated.yaml")).unwrap(),
        )
        .unwrap();
        let path = provider["providers"][0]["options"]["path"]
            .as_str()
            .unwrap();
        let (dashboards, _) = grafana
            .iter()
            .find(|(_, c)| c == path)
            .unwrap_or_else(|| panic!("no grafana volume mounted at {path}"));
        let mut n_dashboards = 0;
        for entry in fs::read_dir(dashboards).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|x| x != "json") {
                continue;
            }
            let dashboard: dashboard_gen::model::Dashboard =
                serde_json::from_str(&fs::read_to_string(&path).unwrap())
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let findings = dashboard_gen::lint::<catalog::MetricId>(&dashboard);
            assert!(findings.is_empty(), "{}: {findings:?}", path.display());
            n_dashboards += 1;
        }
        assert!(n_dashboards > 0, "{}", dashboards.display());
        let datasource: Value = serde_norway::from_str(
            &fs::read_to_string(provisioning.join("datasources/prometheus.yaml")).unwrap(),
        )
        .unwrap();
        let url = datasource["datasources"][0]["url"].as_str().unwrap();
        assert_eq!(url, "http://prometheus:9090");
        assert!(compose["services"].get("prometheus").is_some());
    }

    #[test]
    fn dockerfile_builds_and_runs_the_demo() {
        let compose = compose();
        let build = &compose["services"]["pipeline-demo"]["build"];
        let dockerfile = deploy_dir()
            .join(build["context"].as_str().unwrap())
            .join(build["dockerfile"].as_str().unwrap());
        let text = fs::read_to_string(&dockerfile).unwrap();
        for expected in [
            "cargo build --release --locked -p pipeline-demo",
            "COPY --from=build /src/target/release/pipeline-demo /usr/local/bin/pipeline-demo",
            "ENTRYPOINT [\"pipeline-demo\"]",
        ] {
            assert!(
                text.contains(expected),
                "{}: no {expected:?}",
                dockerfile.display()
            );
        }
        // BuildKit reads `<Dockerfile>.dockerignore` beside it: keep target/ out of the context.
        let ignore = fs::read_to_string(format!("{}.dockerignore", dockerfile.display())).unwrap();
        assert!(ignore.lines().any(|l| l == "target/"), "{ignore}");
    }
}
