//! `cargo xtask dashboards`: generate, check and push the Grafana dashboards and the
//! Grafana provisioning files derived from the catalog.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use catalog::{MetricCatalog, MetricId};
use dashboard_gen::grafana::{self, Action, Auth, Client, PushOptions, Settings};
use dashboard_gen::model::Dashboard;
use dashboard_gen::{Folder, Provisioning, default_folder};

use crate::catalogs::{Visitor, visit_all};
use crate::codegen::{self, Artifact, Mode};

/// Prometheus scrape interval the deploy files use. The provisioned datasource's
/// `timeInterval` must equal it, or `$__rate_interval` spans too few scrapes and rate
/// panels go blank; a test checks every `scrape_interval:` under `deploy/`.
pub const SCRAPE_INTERVAL: &str = "15s";

/// Prometheus as the Grafana container reaches it in the deploy files.
const PROMETHEUS_URL: &str = "http://prometheus:9090";

/// Where the Grafana container mounts `dashboards/`.
const DASHBOARDS_MOUNT: &str = "/var/lib/grafana/dashboards";

const FIX_COMMAND: &str = "cargo xtask dashboards";

/// Generate Grafana dashboards from the catalog, check them, or push them to Grafana.
///
/// Without flags, writes dashboards/*.json and the Grafana provisioning files under
/// deploy/grafana/provisioning/. With --check, changes nothing and fails with a diff
/// when the committed files are stale (CI runs this). With --push, saves the dashboards
/// to a running Grafana over its HTTP API.
///
/// Credentials for --push come only from the environment, never from flags:
/// GRAFANA_TOKEN (a service-account token, sent as Bearer), or GRAFANA_USER and
/// GRAFANA_PASSWORD (basic auth). They are never printed.
///
/// Example: GRAFANA_TOKEN=glsa_... cargo xtask dashboards --push --grafana-url http://localhost:3000
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Compare the committed files with freshly generated ones; fail with a diff if any differ
    #[arg(long, conflicts_with = "push")]
    check: bool,
    /// Push the dashboards to Grafana (POST /api/dashboards/db), skipping unchanged ones
    #[arg(long)]
    push: bool,
    /// With --push: report what would be created or updated, write nothing
    #[arg(long, requires = "push")]
    dry_run: bool,
    /// Grafana base URL for --push, e.g. http://localhost:3000
    #[arg(long, env = "GRAFANA_URL", value_name = "URL")]
    grafana_url: Option<String>,
    /// Uid of the Grafana folder for --push, created if missing [default: sms-generated]
    #[arg(long, value_name = "UID")]
    folder: Option<String>,
    /// Grafana organization id for --push (sent as X-Grafana-Org-Id); default: the
    /// credentials' current organization
    #[arg(long, env = "GRAFANA_ORG_ID", value_name = "ID")]
    org_id: Option<u64>,
    /// Per-request timeout for --push, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    timeout: u64,
}

/// Runs the subcommand.
pub fn run(args: Args) -> Result<()> {
    if args.push {
        return push(&args);
    }
    let mode = if args.check { Mode::Check } else { Mode::Write };
    let root = codegen::workspace_root();
    for artifact in artifacts()? {
        let report = codegen::sync(&root, &artifact, mode)?;
        eprintln!("{}", report.summary(&artifact, mode));
    }
    Ok(())
}

/// Every file this task owns: the dashboards and the two provisioning files.
pub fn artifacts() -> Result<Vec<Artifact>> {
    let dashboards = generate()?;
    let settings = provisioning();
    let provisioning_dir = Path::new("deploy/grafana/provisioning");
    Ok(vec![
        Artifact {
            name: "dashboards",
            dir: PathBuf::from("dashboards"),
            extension: Some("json"),
            files: dashboards
                .iter()
                .map(|d| (dashboard_gen::file_name(d), dashboard_gen::render(d)))
                .collect(),
            fix_command: FIX_COMMAND,
        },
        Artifact {
            name: "grafana datasources",
            dir: provisioning_dir.join("datasources"),
            extension: Some("yaml"),
            files: [(
                "prometheus.yaml".to_string(),
                dashboard_gen::datasource_yaml(&settings),
            )]
            .into(),
            fix_command: FIX_COMMAND,
        },
        Artifact {
            name: "grafana dashboard providers",
            dir: provisioning_dir.join("dashboards"),
            extension: Some("yaml"),
            files: [(
                "generated.yaml".to_string(),
                dashboard_gen::dashboard_provider_yaml(&settings),
            )]
            .into(),
            fix_command: FIX_COMMAND,
        },
    ])
}

/// Every catalog's dashboards (each catalog its overview and one per subsystem).
pub fn generate() -> Result<Vec<Dashboard>> {
    struct All(Vec<Dashboard>);
    impl Visitor for All {
        fn visit<C: MetricCatalog>(&mut self) -> Result<()> {
            let dashboards = dashboard_gen::generate::<C>()
                .with_context(|| format!("generating the dashboards of catalog `{}`", C::NAME))?;
            self.0.extend(dashboards);
            Ok(())
        }
    }
    let mut all = All(Vec::new());
    visit_all(&mut all)?;
    Ok(all.0)
}

fn provisioning() -> Provisioning {
    let folder = default_folder::<MetricId>();
    Provisioning {
        prometheus_url: PROMETHEUS_URL.to_string(),
        scrape_interval: SCRAPE_INTERVAL.to_string(),
        folder_title: folder.title,
        folder_uid: folder.uid,
        dashboards_path: DASHBOARDS_MOUNT.to_string(),
    }
}

fn push(args: &Args) -> Result<()> {
    let Some(url) = args.grafana_url.as_deref() else {
        bail!("--push needs Grafana's URL: pass --grafana-url URL or set GRAFANA_URL");
    };
    let auth = auth_from_env(|name| std::env::var(name).ok())?;
    let dashboards = generate()?;
    let default = default_folder::<MetricId>();
    let folder = match &args.folder {
        Some(uid) if *uid == default.uid => default,
        Some(uid) => Folder {
            uid: uid.clone(),
            title: uid.clone(),
        },
        None => default,
    };
    let options = PushOptions {
        folder,
        message: format!(
            "generated by `cargo xtask dashboards` from commit {}",
            git_commit()
        ),
        dry_run: args.dry_run,
    };
    let settings = Settings {
        timeout: Duration::from_secs(args.timeout.max(1)),
        ..Settings::default()
    };
    let client = Client::new(url, auth, settings)?;
    let client = match args.org_id {
        Some(org_id) => client.org(org_id),
        None => client,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let report = runtime
        .block_on(grafana::push(&client, &dashboards, &options, &mut |line| {
            eprintln!("{line}")
        }))
        .with_context(|| format!("pushing dashboards to {url}"))?;
    eprintln!("{}", summary(&report));
    if report.failures() > 0 {
        bail!(
            "{} of {} dashboards failed to push (see above)",
            report.failures(),
            report.dashboards.len()
        );
    }
    Ok(())
}

/// One line counting outcomes and naming the dashboards that succeeded and failed.
fn summary(report: &grafana::PushReport) -> String {
    let mut succeeded = Vec::new();
    let mut failed = Vec::new();
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for outcome in &report.dashboards {
        match &outcome.result {
            Ok(pushed) => {
                succeeded.push(outcome.uid.as_str());
                *counts.entry(pushed.action.to_string()).or_default() += 1;
            }
            Err(_) => failed.push(outcome.uid.as_str()),
        }
    }
    let mut line = format!("Grafana {}: ", report.grafana_version);
    let order = [
        Action::Created,
        Action::Updated,
        Action::Unchanged,
        Action::WouldCreate,
        Action::WouldUpdate,
    ];
    let parts: Vec<String> = order
        .iter()
        .filter_map(|a| counts.get(&a.to_string()).map(|n| format!("{n} {a}")))
        .collect();
    line.push_str(&if parts.is_empty() {
        "nothing pushed".to_string()
    } else {
        parts.join(", ")
    });
    if !succeeded.is_empty() {
        let _ = write!(line, "; succeeded: {}", succeeded.join(", "));
    }
    if !failed.is_empty() {
        let _ = write!(line, "; failed: {}", failed.join(", "));
    }
    line
}

/// Credentials from the environment: `GRAFANA_TOKEN`, else `GRAFANA_USER` and
/// `GRAFANA_PASSWORD`. Empty values count as unset.
fn auth_from_env(var: impl Fn(&str) -> Option<String>) -> Result<Auth> {
    let var = |name: &str| var(name).filter(|v| !v.is_empty());
    if let Some(token) = var("GRAFANA_TOKEN") {
        return Ok(Auth::Token(token));
    }
    match (var("GRAFANA_USER"), var("GRAFANA_PASSWORD")) {
        (Some(user), Some(password)) => Ok(Auth::Basic { user, password }),
        (Some(_), None) => bail!("GRAFANA_USER is set but GRAFANA_PASSWORD is not"),
        (None, Some(_)) => bail!("GRAFANA_PASSWORD is set but GRAFANA_USER is not"),
        (None, None) => bail!(
            "no Grafana credentials: set GRAFANA_TOKEN to a service-account token, \
             or GRAFANA_USER and GRAFANA_PASSWORD"
        ),
    }
}

/// The short commit of HEAD, or a placeholder outside a git checkout.
fn git_commit() -> String {
    Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(codegen::workspace_root())
        .output()
        .ok()
        .filter(|output| output.status.success())
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .map(|commit| commit.trim().to_string())
        .filter(|commit| !commit.is_empty())
        .unwrap_or_else(|| "unknown (not a git checkout)".to_string())
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    #[test]
    fn committed_files_are_up_to_date() {
        let root = codegen::workspace_root();
        for artifact in artifacts().unwrap() {
            if let Err(error) = codegen::sync(&root, &artifact, Mode::Check) {
                panic!("{error:#}");
            }
        }
    }

    fn temp_root(test: &str) -> PathBuf {
        let root =
            std::env::temp_dir().join(format!("xtask-dashboards-{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(&root).unwrap();
        root
    }

    #[test]
    fn a_hand_edit_or_a_stale_file_makes_check_fail_with_a_diff() {
        let root = temp_root("hand-edit");
        let artifacts = artifacts().unwrap();
        for artifact in &artifacts {
            codegen::sync(&root, artifact, Mode::Write).unwrap();
        }
        let dashboards = &artifacts[0];
        let (name, content) = dashboards.files.iter().next().unwrap();
        let path = root.join(&dashboards.dir).join(name);
        fs::write(
            &path,
            content.replacen("\"refresh\": \"30s\"", "\"refresh\": \"5s\"", 1),
        )
        .unwrap();
        let error = codegen::sync(&root, dashboards, Mode::Check)
            .unwrap_err()
            .to_string();
        assert!(error.contains("-  \"refresh\": \"5s\""), "{error}");
        assert!(error.contains("+  \"refresh\": \"30s\""), "{error}");
        assert!(error.contains("run `cargo xtask dashboards`"), "{error}");

        codegen::sync(&root, dashboards, Mode::Write).unwrap();
        fs::write(root.join(&dashboards.dir).join("old.json"), "{}\n").unwrap();
        let error = codegen::sync(&root, dashboards, Mode::Check)
            .unwrap_err()
            .to_string();
        assert!(error.contains("dashboards/old.json: stale file"), "{error}");
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn datasource_time_interval_matches_every_deploy_scrape_interval() {
        let datasource = dashboard_gen::datasource_yaml(&provisioning());
        assert!(datasource.contains(&format!("timeInterval: \"{SCRAPE_INTERVAL}\"")));
        let mut pending = vec![codegen::workspace_root().join("deploy")];
        while let Some(dir) = pending.pop() {
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                    continue;
                }
                let text = fs::read_to_string(&path).unwrap_or_default();
                for line in text
                    .lines()
                    .filter(|l| l.trim_start().starts_with("scrape_interval:"))
                {
                    let value = line.split_once(':').unwrap().1.trim().trim_matches('"');
                    assert_eq!(value, SCRAPE_INTERVAL, "{}: {line}", path.display());
                }
            }
        }
    }

    #[test]
    fn credentials_come_from_the_environment_only() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            auth_from_env(env(&[("GRAFANA_TOKEN", "t"), ("GRAFANA_USER", "u")])).unwrap(),
            Auth::Token("t".into())
        );
        assert_eq!(
            auth_from_env(env(&[
                ("GRAFANA_TOKEN", ""),
                ("GRAFANA_USER", "u"),
                ("GRAFANA_PASSWORD", "p")
            ]))
            .unwrap(),
            Auth::Basic {
                user: "u".into(),
                password: "p".into()
            }
        );
        let error = auth_from_env(env(&[("GRAFANA_USER", "u")])).unwrap_err();
        assert!(
            error.to_string().contains("GRAFANA_PASSWORD is not"),
            "{error}"
        );
        let error = auth_from_env(env(&[])).unwrap_err();
        assert!(error.to_string().contains("GRAFANA_TOKEN"), "{error}");
    }

    #[test]
    fn summary_names_what_succeeded_and_what_failed() {
        let report = grafana::PushReport {
            grafana_version: "11.6.0".into(),
            folder: grafana::FolderAction::Existed,
            dashboards: vec![
                grafana::DashboardOutcome {
                    uid: "a".into(),
                    title: "A".into(),
                    result: Ok(grafana::Pushed {
                        action: Action::Unchanged,
                        url: "http://g/d/a/a".into(),
                        version: Some(3),
                    }),
                },
                grafana::DashboardOutcome {
                    uid: "b".into(),
                    title: "B".into(),
                    result: Err(dashboard_gen::Error::Rejected {
                        operation: "POST /api/dashboards/db (b)".into(),
                        message: "folder not found".into(),
                    }),
                },
            ],
        };
        assert_eq!(
            summary(&report),
            "Grafana 11.6.0: 1 unchanged; succeeded: a; failed: b"
        );
    }
}
