//! `cargo xtask e2e`: a real Prometheus (and VictoriaMetrics) scraping a fleet of demo
//! instances shows data in every panel.
//!
//! The run builds `pipeline-demo`, starts Prometheus with the committed rule files
//! (`prometheus/rules/*.yaml`, in drill timing: see [`drill`]),
//! Alertmanager and, when installed, VictoriaMetrics fed by vmagent with vmalert
//! evaluating the same rules ([`victoria`]),
//! all on free 127.0.0.1 ports with temporary storage and a 1 s scrape interval, then
//! [`INSTANCES`] demo instances once both scrapers list them. Once every target is up
//! and has been scraped a few times it checks:
//!
//! - conformance: each instance's `/metrics` against the catalog ([`conformance`]);
//! - numbers agree: each counter's fleet-wide total in Prometheus lies between the sums
//!   the instances expose just before and just after the scrape it reflects;
//! - every target of every committed dashboard (`dashboards/*.json`), variables
//!   substituted as Grafana does ([`queries`]), returns at least one series, on both
//!   backends;
//! - the rename fixture ([`rename`]): the last instance runs the old catalog (old names
//!   only), the others dual emission; fleet totals and every panel and recording rule
//!   spanning the renamed metric equal the fleet's true series, on both backends;
//! - every committed rule expression evaluates, Prometheus loaded the committed rules
//!   (the drill's copies equal them minus the `for` of the alerts the drill reaches),
//!   and every rule's health is ok;
//! - every alert's signal (the recorded series it compares) and the query of the panel
//!   it links to, evaluated at the same instant, return the same series with the same
//!   values ([`compare_signal`]);
//! - every demo instance exits 0 on SIGTERM;
//! - the fire drill ([`drill`]): every demo instance runs the drill's fault schedule
//!   (`--fault`); Prometheus and vmalert evaluate the committed rules with the `for` of
//!   the alerts the drill reaches removed;
//!   Prometheus sends to a real Alertmanager (generated routing, `amtool check-config`d)
//!   whose receivers post to a webhook in the harness. Every alert that can fire and
//!   resolve within the drill must, on both engines, with the same instances (label
//!   sets), reaching Alertmanager and (unless inhibited or routed to `silent`) the webhook
//!   with the catalog's labels, severity, summary, runbook and panel link, then resolve;
//!   an outage (every instance stopped) fires the absence alert, and bringing one
//!   instance back resolves it. The alerts the drill cannot take to the end are listed
//!   in summary rows, by reason;
//! - vmalert on VictoriaMetrics: every dashboard panel (recorded series included) has
//!   data there.
//!
//! It prints a summary table and fails when any check failed. Every process it starts
//! is a [`processes::Process`], killed when dropped: on errors, on panics, and on
//! Ctrl-C (which drops the whole run). Every wait is bounded.

pub mod conformance;
pub mod deploy;
mod drill;
#[cfg(test)]
mod fixtures;
pub mod processes;
pub mod prometheus;
mod queries;
mod rename;
mod victoria;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, anyhow, bail};
use catalog::{MetricCatalog, MetricId};
use dashboard_gen::model::Dashboard;

use self::conformance::Exposition;
use self::processes::{Process, find_program, free_ports};
use self::prometheus::{Api, ScrapeConfig};
use self::queries::{Intervals, Outcome, Target, VariableQuery};
use crate::codegen::workspace_root;

/// Demo instances in the fleet.
pub const INSTANCES: usize = 3;
/// Scrape and rule evaluation interval of the run.
const SCRAPE_INTERVAL: Duration = Duration::from_secs(1);
/// Simulated sources per instance, and envelopes per second each.
const DEMO_SOURCES: u16 = 3;
const DEMO_RATE: f64 = 20.0;
/// Demo instances stop by themselves after this long, even if this process is killed.
const DEMO_DURATION: Duration = Duration::from_secs(240);
/// Bound on every wait for a server to come up or a target to be scraped.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// The demo records every catalog metric within 10 s of start; allow some slack.
const ALL_METRICS_TIMEOUT: Duration = Duration::from_secs(20);
/// Scrapes of every target before rates are expected (rate windows are 4 scrapes).
const WARM_UP_SCRAPES: u32 = 8;
/// Time a demo instance has to drain and exit after SIGTERM.
const STOP_GRACE: Duration = Duration::from_secs(15);
/// Poll period of every wait.
const POLL: Duration = Duration::from_millis(250);

/// The install command shown when Prometheus is missing.
const PROMETHEUS_INSTALL: &str = "apt-get update && apt-get install -y prometheus";
/// The install command shown when VictoriaMetrics is missing.
const VICTORIA_INSTALL: &str = "apt-get update && apt-get install -y victoria-metrics";

/// Outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// The check passed.
    Passed,
    /// The check failed; its problems say why.
    Failed,
    /// The check could not run (a backend is not installed).
    Skipped,
}

/// One row of the summary table.
#[derive(Debug)]
pub struct Check {
    /// What was checked, e.g. `dashboards on Prometheus`.
    pub name: String,
    /// Passed, failed or skipped.
    pub status: Status,
    /// One-line figures, e.g. `panels with data: 31/31`.
    pub detail: String,
    /// Every problem found, one readable line (or paragraph) each.
    pub problems: Vec<String>,
}

impl Check {
    fn new(name: impl Into<String>, detail: impl Into<String>, problems: Vec<String>) -> Check {
        let status = if problems.is_empty() {
            Status::Passed
        } else {
            Status::Failed
        };
        Check {
            name: name.into(),
            status,
            detail: detail.into(),
            problems,
        }
    }
}

/// Runs the whole end-to-end check; fails when a check fails or the run cannot proceed.
pub fn run() -> Result<()> {
    let started = Instant::now();
    let Some(prometheus) = find_program("prometheus") else {
        bail!(
            "prometheus is not installed (Debian package `prometheus`): run `{PROMETHEUS_INSTALL}`"
        );
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let root = workspace_root();
    let checks = runtime.block_on(async {
        tokio::select! {
            checks = run_checks(&root, &prometheus) => checks,
            _ = tokio::signal::ctrl_c() => {
                Err(anyhow!("interrupted by Ctrl-C: stopped every process the run had started"))
            }
        }
    })?;
    drop(runtime);
    print!("{}", summary(&checks, started.elapsed()));
    let failed = checks.iter().filter(|c| c.status == Status::Failed).count();
    if failed > 0 {
        bail!(
            "e2e failed: {failed} of {} checks failed (details above)",
            checks.len()
        );
    }
    Ok(())
}

/// The summary table, then the problems of every failed check.
pub fn summary(checks: &[Check], elapsed: Duration) -> String {
    let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let mut text = format!("\ne2e summary ({:.1} s)\n", elapsed.as_secs_f64());
    for check in checks {
        let status = match check.status {
            Status::Passed => "ok",
            Status::Failed => "FAILED",
            Status::Skipped => "skipped",
        };
        let _ = writeln!(
            text,
            "  {status:<7}  {:<width$}  {}",
            check.name, check.detail
        );
    }
    for check in checks.iter().filter(|c| c.status == Status::Failed) {
        let _ = writeln!(text, "\n{} failed:", check.name);
        for problem in &check.problems {
            let _ = writeln!(text, "  - {problem}");
        }
    }
    text
}

/// Everything the run started; dropping it kills what is still running.
struct Fleet {
    demos: Vec<(String, Process)>,
    prometheus: Process,
    /// VictoriaMetrics, vmagent and vmalert, when installed.
    victoria: Vec<Process>,
    alertmanager: Option<Process>,
}

impl Fleet {
    fn ensure_running(&mut self) -> Result<()> {
        for (_, demo) in &mut self.demos {
            demo.ensure_running()?;
        }
        self.prometheus.ensure_running()?;
        for victoria in &mut self.victoria {
            victoria.ensure_running()?;
        }
        if let Some(alertmanager) = &mut self.alertmanager {
            alertmanager.ensure_running()?;
        }
        Ok(())
    }
}

async fn run_checks(root: &Path, prometheus_program: &Path) -> Result<Vec<Check>> {
    let intervals = Intervals {
        scrape: SCRAPE_INTERVAL,
        step: SCRAPE_INTERVAL,
        range: Duration::from_secs(300),
    };
    let dashboards = committed_dashboards(root)?;
    let targets = queries::targets(&dashboards, intervals).map_err(anyhow::Error::msg)?;
    let variables =
        queries::variable_queries(&dashboards, intervals).map_err(anyhow::Error::msg)?;
    let rule_files = committed_rule_files(root)?;
    let demo = build_demo(root).await?;

    let temp = tempfile::Builder::new()
        .prefix("xtask-e2e-")
        .tempdir()
        .context("creating the run's temporary directory")?;
    let dir = temp.path();
    let ports = free_ports(INSTANCES + 5)?;
    let drill_started = Instant::now();
    let addresses: Vec<String> = ports[..INSTANCES]
        .iter()
        .map(|p| format!("127.0.0.1:{p}"))
        .collect();
    let scrape_interval = queries::duration(SCRAPE_INTERVAL);
    let prometheus_config = dir.join("prometheus.yml");
    // The drill's rules: the committed ones with drill timing (no `for`).
    let drill_dir = dir.join("drill-rules");
    std::fs::create_dir_all(&drill_dir).context("creating the drill rule directory")?;
    for file in &rule_files {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        let name = file.file_name().context("rule file name")?;
        write(&drill_dir.join(name), &drill::drill_rules(&text))?;
    }
    let rule_glob = drill_dir.join("*.yaml").display().to_string();
    let alertmanager_port = ports[INSTANCES + 2];
    let webhook = drill::webhook(drill_started).await?;
    let (alertmanager, mut drill_problems, alertmanagers) = match find_program(drill::PROGRAM) {
        Some(program) => {
            let config = dir.join("alertmanager.yml");
            let routing = rules_gen::alertmanager::Routing {
                page_webhook: Some(webhook.url.clone()),
                ticket_webhook: Some(webhook.url.clone()),
                group_wait: "1s".to_string(),
                group_interval: "1s".to_string(),
                repeat_interval: "1h".to_string(),
            };
            write(
                &config,
                &rules_gen::alertmanager::config(
                    &routing,
                    "# Generated by `cargo xtask e2e` for the drill.\n",
                )?,
            )?;
            let mut problems = Vec::new();
            if let Some(amtool) = find_program("amtool") {
                let output = tokio::process::Command::new(amtool)
                    .arg("check-config")
                    .arg(&config)
                    .output()
                    .await
                    .context("running amtool check-config")?;
                if !output.status.success() {
                    problems.push(format!(
                        "amtool check-config: {}{}",
                        String::from_utf8_lossy(&output.stdout),
                        String::from_utf8_lossy(&output.stderr)
                    ));
                }
            }
            let args = drill::args(&config, &dir.join("alertmanager-data"), alertmanager_port);
            let process = Process::spawn(
                drill::PROGRAM,
                &program,
                &args,
                &dir.join("alertmanager.log"),
            )?;
            (
                Some(process),
                problems,
                vec![format!("127.0.0.1:{alertmanager_port}")],
            )
        }
        None => (None, Vec::new(), Vec::new()),
    };
    write(
        &prometheus_config,
        &prometheus::config(&ScrapeConfig {
            generated_by: "`cargo xtask e2e` for one run",
            interval: &scrape_interval,
            targets: &addresses,
            rule_files: &[rule_glob],
            alertmanagers: &alertmanagers,
        }),
    )?;
    let prometheus_port = ports[INSTANCES];
    let prometheus_args = [
        format!("--config.file={}", prometheus_config.display()),
        format!(
            "--storage.tsdb.path={}",
            dir.join("prometheus-data").display()
        ),
        format!("--web.listen-address=127.0.0.1:{prometheus_port}"),
    ];
    let prometheus = Process::spawn(
        "prometheus",
        prometheus_program,
        &prometheus_args,
        &dir.join("prometheus.log"),
    )?;

    let mut victoria_skipped = None;
    let victoria_url = format!("http://127.0.0.1:{}", ports[INSTANCES + 1]);
    let (agent_port, alert_port) = (ports[INSTANCES + 3], ports[INSTANCES + 4]);
    let programs = [victoria::PROGRAM, victoria::AGENT, victoria::ALERT].map(find_program);
    let victoria = match programs {
        [Some(single), Some(agent), Some(alert)] => {
            let config = dir.join("vmagent.yml");
            write(
                &config,
                &prometheus::config(&ScrapeConfig {
                    generated_by: "`cargo xtask e2e` for one run",
                    interval: &scrape_interval,
                    targets: &addresses,
                    rule_files: &[],
                    alertmanagers: &[],
                }),
            )?;
            let single_args = victoria::args(&dir.join("victoria-data"), ports[INSTANCES + 1]);
            let agent_args = victoria::agent_args(
                &config,
                &victoria_url,
                &dir.join("vmagent-data"),
                agent_port,
            );
            // vmalert's notifications go to the drill's webhook, which keeps only
            // Alertmanager's webhook payloads: the drill's notifications come from
            // Prometheus; vmalert's alerts are read from its API.
            let alert_args = victoria::alert_args(
                &drill_dir.join("*.yaml").display().to_string(),
                &victoria_url,
                webhook.url.trim_end_matches('/'),
                &scrape_interval,
                alert_port,
            );
            vec![
                Process::spawn(
                    victoria::PROGRAM,
                    &single,
                    &single_args,
                    &dir.join("victoria.log"),
                )?,
                Process::spawn(
                    victoria::AGENT,
                    &agent,
                    &agent_args,
                    &dir.join("vmagent.log"),
                )?,
                Process::spawn(
                    victoria::ALERT,
                    &alert,
                    &alert_args,
                    &dir.join("vmalert.log"),
                )?,
            ]
        }
        _ => {
            victoria_skipped = Some(format!(
                "{}, {} or {} is not installed: run `{VICTORIA_INSTALL}`",
                victoria::PROGRAM,
                victoria::AGENT,
                victoria::ALERT
            ));
            Vec::new()
        }
    };
    // The demos start once Prometheus and vmagent scrape, so that their first scrape
    // comes before the drill's first fault.
    let prometheus_api = Api::new(format!("http://127.0.0.1:{prometheus_port}"))?;
    let agent_api = Api::new(format!("http://127.0.0.1:{agent_port}"))?;
    let (mut prometheus, mut victoria) = (prometheus, victoria);
    wait_for_scrape_loops(&mut prometheus, &prometheus_api).await?;
    if let Some(agent) = victoria.get_mut(1) {
        wait_for_scrape_loops(agent, &agent_api).await?;
    }
    // Demo storage on tmpfs where there is one: the drill's storage latency alerts are
    // then driven by its injected faults only, not by a busy disk's fsyncs.
    let storage = tempfile::Builder::new()
        .prefix("xtask-e2e-demo-")
        .tempdir_in(tmpfs().unwrap_or(dir))
        .context("creating the demos' data directory")?;
    let demo_started = SystemTime::now();
    let demos_started = Instant::now();
    let mut demos = Vec::new();
    // How the drill brings the first instance back after the outage (without faults).
    let mut restart: Option<(String, Vec<String>, PathBuf)> = None;
    for (index, address) in addresses.iter().enumerate() {
        let data = storage.path().join(format!("demo-{index}"));
        let mut args = [
            "--listen",
            address,
            "--duration",
            &DEMO_DURATION.as_secs().to_string(),
            "--sources",
            &DEMO_SOURCES.to_string(),
            "--rate",
            &DEMO_RATE.to_string(),
            "--seed",
            &index.to_string(),
            "--data-dir",
            &data.display().to_string(),
            "--request-timeout",
            drill::REQUEST_TIMEOUT,
        ]
        .map(String::from)
        .to_vec();
        // Every feature on for all instances but the last: both states are proven.
        if index + 1 < INSTANCES {
            for feature in features() {
                args.extend(["--feature".to_string(), feature]);
            }
        }
        args.extend(rename::instance_args(index));
        let name = format!("pipeline-demo {address}");
        if index == 0 {
            let mut calm = args.clone();
            calm.push("--no-faults".to_string());
            restart = Some((name.clone(), calm, dir.join("demo-restarted.log")));
        }
        for fault in drill::FAULTS {
            args.extend(["--fault".to_string(), (*fault).to_string()]);
        }
        let log = dir.join(format!("demo-{index}.log"));
        demos.push((address.clone(), Process::spawn(&name, &demo, &args, &log)?));
    }
    let mut fleet = Fleet {
        demos,
        prometheus,
        victoria,
        alertmanager,
    };
    let servers: Vec<&str> = std::iter::once(&fleet.prometheus)
        .chain(&fleet.victoria)
        .chain(&fleet.alertmanager)
        .map(|process| process.name.as_str())
        .collect();
    eprintln!(
        "e2e: fleet started: {} pipeline-demo instances, {}",
        fleet.demos.len(),
        servers.join(", ")
    );
    let victoria_api = Api::new(victoria_url.clone())?;
    let vmalert_api = Api::new(format!("http://127.0.0.1:{alert_port}"))?;
    let alertmanager_api = Api::new(format!("http://127.0.0.1:{alertmanager_port}"))?;
    let watcher = drill::watch(
        drill::Engines {
            prometheus: prometheus_api.clone(),
            victoria: (!fleet.victoria.is_empty())
                .then(|| (vmalert_api.clone(), victoria_api.clone())),
            alertmanager: fleet
                .alertmanager
                .is_some()
                .then(|| alertmanager_api.clone()),
        },
        demos_started,
    );
    let demo_apis = addresses
        .iter()
        .map(|a| Api::new(format!("http://{a}")))
        .collect::<Result<Vec<_>>>()?;

    let mut apis = vec![("Prometheus", &prometheus_api)];
    if !fleet.victoria.is_empty() {
        apis.push(("vmagent", &agent_api));
    }
    for (backend, api) in &apis {
        wait_for_targets(&mut fleet, backend, api).await?;
    }
    wait_for_every_metric(&mut fleet, &demo_apis).await?;
    wait_for_scrapes(&mut fleet, &prometheus_api).await?;

    let mut checks = Vec::new();
    let mut exposed = BTreeSet::new();
    for (address, api) in addresses.iter().zip(&demo_apis) {
        let exposition = Exposition::parse(&api.get_text("/metrics").await?);
        let export = crate::catalogs::export();
        let served = api.get_text("/catalog").await?;
        let with_features = conformance::with_served_features(&export, &served);
        checks.push(conformance_check(address, &with_features, &exposition));
        exposed.extend(exposition.sample_names);
        let drift = conformance::catalog_drift(&export, &served);
        let mut on: Vec<String> = Vec::new();
        let mut off: Vec<String> = Vec::new();
        for (_, metric) in with_features.metrics() {
            if let (Some(feature), Some(enabled)) = (&metric.feature, metric.enabled) {
                let list = if enabled { &mut on } else { &mut off };
                if !list.contains(feature) {
                    list.push(feature.clone());
                }
            }
        }
        checks.push(Check::new(
            format!("/catalog {address}"),
            format!(
                "{} catalogs as generated; features on: [{}], off: [{}]",
                export.catalogs.len(),
                on.join(", "),
                off.join(", ")
            ),
            drift,
        ));
    }
    checks.push(numbers_agree(&prometheus_api, &demo_apis).await?);

    let rules = wait_for_rule_evaluation(&mut fleet, &prometheus_api).await?;
    let recorded: BTreeSet<String> = rules
        .iter()
        .filter(|r| r.kind == "recording")
        .map(|r| r.name.clone())
        .collect();
    let (expressions, health) =
        check_rules(&prometheus_api, &rules, &rule_files, &drill_dir).await?;
    checks.push(expressions);
    checks.push(health);
    let recording: Vec<(String, String)> = rules
        .iter()
        .filter(|r| r.kind == "recording")
        .map(|r| (r.name.clone(), r.query.clone()))
        .collect();
    let rename_check = |backend, api| rename::check(backend, api, &targets, &recording, &addresses);
    checks.push(rename_check("Prometheus", &prometheus_api).await?);
    let alert_rules = crate::rules::every_alert_rule()?;
    let pairs = signal_pairs(&alert_rules, &dashboards, &targets)?;
    checks.push(signals_match_panels(&prometheus_api, &pairs).await?);
    checks.push(
        check_dashboards(
            "Prometheus",
            &prometheus_api,
            (&targets, &variables),
            demo_started,
            &exposed,
            &recorded,
        )
        .await?,
    );
    match victoria_skipped {
        Some(why) => checks.push(Check {
            name: "dashboards on VictoriaMetrics".to_string(),
            status: Status::Skipped,
            detail: why,
            problems: Vec::new(),
        }),
        None => {
            wait_for_victoria_data(&mut fleet, &victoria_api).await?;
            // vmalert writes the recorded series back some evaluations after the raw
            // data arrives: retry the whole check, bounded.
            let what = "for every dashboard panel to have data on VictoriaMetrics";
            let check = wait_until(&mut fleet, what, DRILL_TIMEOUT, || async {
                victoria::force_flush(&victoria_api).await?;
                let check = check_dashboards(
                    "VictoriaMetrics (vmagent + vmalert)",
                    &victoria_api,
                    (&targets, &variables),
                    demo_started,
                    &exposed,
                    &recorded,
                )
                .await?;
                if check.status == Status::Passed {
                    Ok(Ok(check))
                } else {
                    Ok(Err(check.problems.join("; ")))
                }
            })
            .await;
            checks.push(match check {
                Ok(check) => check,
                Err(e) => Check::new(
                    "dashboards on VictoriaMetrics (vmagent + vmalert)",
                    "panels without data after the wait",
                    vec![format!("{e:#}")],
                ),
            });
            victoria::force_flush(&victoria_api).await?;
            checks.push(rename_check("VictoriaMetrics", &victoria_api).await?);
        }
    }

    let drill = if fleet.alertmanager.is_some() {
        Some(drill::run_faults(&mut fleet, &watcher, &webhook, &alert_rules, demos_started).await?)
    } else {
        None
    };
    eprintln!("e2e: stopping every process (SIGTERM)");
    let mut exit_problems = Vec::new();
    for (address, demo) in std::mem::take(&mut fleet.demos) {
        match demo.stop(STOP_GRACE).await {
            Ok(status) if status.success() => {}
            Ok(status) => exit_problems.push(format!("pipeline-demo {address}: {status}")),
            Err(e) => exit_problems.push(format!("{e:#}")),
        }
    }
    let outage = match (&drill, restart) {
        (Some(_), Some(restart)) => {
            Some(outage_drill(&mut fleet, (&demo, restart), &webhook, &mut drill_problems).await?)
        }
        _ => None,
    };
    checks.push(Check::new(
        "demo instances exit 0 on SIGTERM",
        format!("{}/{INSTANCES}", INSTANCES - exit_problems.len()),
        exit_problems,
    ));
    match (drill, outage) {
        (Some(faults), Some(outage)) => {
            checks.extend(drill::checks(&faults, &outage.line(), drill_problems));
        }
        _ => checks.push(Check {
            name: "fire drill: Prometheus -> Alertmanager".to_string(),
            status: Status::Skipped,
            detail: format!(
                "{} is not installed: run `apt-get update && apt-get install -y prometheus-alertmanager`",
                drill::PROGRAM
            ),
            problems: Vec::new(),
        }),
    }
    for server in std::iter::once(fleet.prometheus)
        .chain(fleet.victoria)
        .chain(fleet.alertmanager)
    {
        let name = server.name.clone();
        if let Err(e) = server.stop(STOP_GRACE).await {
            eprintln!("e2e: warning: stopping {name}: {e:#}");
        }
    }
    Ok(checks)
}

/// Bound on each wait of the outage, and on the VictoriaMetrics dashboards' wait.
const DRILL_TIMEOUT: Duration = Duration::from_secs(30);

/// What the outage half of the drill saw.
struct Outage {
    /// Absence alerts notified firing, and after how long (ms since the fleet stopped).
    fired: Vec<(String, u128)>,
    /// Absence alerts notified resolved after one instance came back.
    resolved: Vec<String>,
}

impl Outage {
    /// One summary phrase: each absence alert and its time to fire, resolved N/N.
    fn line(&self) -> String {
        let fired: Vec<String> = self
            .fired
            .iter()
            .map(|(n, ms)| format!("{n} fired in {:.1} s", *ms as f64 / 1000.0))
            .collect();
        format!(
            "outage: {}, {}/{} resolved when an instance came back",
            if fired.is_empty() {
                "nothing fired".to_string()
            } else {
                fired.join(", ")
            },
            self.resolved.len(),
            self.fired.len()
        )
    }
}

/// Second half, after every demo instance stopped (the outage): every absence alert
/// fires and reaches the webhook; then one instance comes back and every absence alert
/// is notified resolved.
async fn outage_drill(
    fleet: &mut Fleet,
    (program, (name, args, log)): (&Path, (String, Vec<String>, PathBuf)),
    webhook: &drill::Webhook,
    problems: &mut Vec<String>,
) -> Result<Outage> {
    let absent: Vec<&str> = MetricId::ALL
        .iter()
        .flat_map(|m| m.def().alerts)
        .filter(|a| a.signal == catalog::Signal::Absent)
        .map(|a| a.name)
        .collect();
    let stopped_at = webhook.now_ms();
    let notified_as = |status: &'static str| {
        let absent = absent.clone();
        move |notes: &[drill::Notified]| -> Vec<(String, u128)> {
            absent
                .iter()
                .filter_map(|name| {
                    notes
                        .iter()
                        .find(|n| {
                            n.status == status
                                && n.labels.get("alertname").map(String::as_str) == Some(*name)
                        })
                        .map(|n| (name.to_string(), n.at_ms))
                })
                .collect()
        }
    };
    let firing = notified_as("firing");
    let what = "for the absence alerts to fire during the outage";
    let fired = wait_until(fleet, what, DRILL_TIMEOUT, || async {
        let seen = firing(&webhook.received());
        if seen.len() == absent.len() {
            Ok(Ok(seen))
        } else {
            Ok(Err(format!("{}/{} notified", seen.len(), absent.len())))
        }
    })
    .await;
    let fired = match fired {
        Ok(fired) => fired
            .into_iter()
            .map(|(n, at)| (n, at.saturating_sub(stopped_at)))
            .collect(),
        Err(e) => {
            problems.push(format!("{e:#}"));
            return Ok(Outage {
                fired: Vec::new(),
                resolved: Vec::new(),
            });
        }
    };
    eprintln!("e2e: drill: bringing {name} back");
    fleet
        .demos
        .push((name.clone(), Process::spawn(&name, program, &args, &log)?));
    let resolved_as = notified_as("resolved");
    let what = "for the absence alerts to resolve once an instance is back";
    let resolved = wait_until(fleet, what, DRILL_TIMEOUT, || async {
        let seen = resolved_as(&webhook.received());
        if seen.len() == absent.len() {
            Ok(Ok(seen))
        } else {
            Ok(Err(format!("{}/{} resolved", seen.len(), absent.len())))
        }
    })
    .await;
    let resolved = match resolved {
        Ok(resolved) => resolved.into_iter().map(|(n, _)| n).collect(),
        Err(e) => {
            problems.push(format!("{e:#}"));
            Vec::new()
        }
    };
    for (name, demo) in std::mem::take(&mut fleet.demos) {
        if let Err(e) = demo.stop(STOP_GRACE).await {
            problems.push(format!("{name}: {e:#}"));
        }
    }
    Ok(Outage { fired, resolved })
}

/// One alert's signal and the (substituted) query of the panel target plotting it.
#[derive(Debug)]
struct SignalPair {
    alert: String,
    record: String,
    panel_query: String,
}

/// For every alerting rule comparing recorded series: each series and the target of
/// its linked panel that plots it, variables substituted as Grafana does ("All").
fn signal_pairs(
    rules: &[crate::rules::AnyAlertRule],
    dashboards: &[Dashboard],
    targets: &[Target],
) -> Result<Vec<SignalPair>> {
    let mut pairs = Vec::new();
    for rule in rules {
        let (Some(uid), Some(id)) = (
            rule.annotations.get("__dashboardUid__"),
            rule.annotations.get("__panelId__"),
        ) else {
            continue;
        };
        let Some(panel) = dashboards
            .iter()
            .filter(|d| d.uid == *uid)
            .flat_map(|d| &d.panels)
            .find(|p| p.id.to_string() == *id)
        else {
            bail!(
                "alert {}: panel {id} of {uid} is not in the committed dashboards",
                rule.name
            );
        };
        for (record, _) in &rule.uses {
            let target = targets
                .iter()
                .filter(|t| t.dashboard == *uid && t.panel == panel.title)
                .find(|t| queries::selected_metrics(&t.expr).contains(record))
                .with_context(|| {
                    format!(
                        "alert {}: panel {:?} plots no `{record}`",
                        rule.name, panel.title
                    )
                })?;
            pairs.push(SignalPair {
                alert: rule.link_key.clone(),
                record: record.clone(),
                panel_query: target.expr.clone(),
            });
        }
    }
    Ok(pairs)
}

/// Evaluates every pair at one instant and compares.
async fn signals_match_panels(api: &Api, pairs: &[SignalPair]) -> Result<Check> {
    let at = SystemTime::now();
    let mut problems = Vec::new();
    let (mut series, mut with_data) = (0, 0);
    for pair in pairs {
        let signal = api.vector(&pair.record, at).await?;
        let panel = api.vector(&pair.panel_query, at).await?;
        series += signal.len();
        with_data += usize::from(!signal.is_empty());
        problems.extend(compare_signal(&pair.alert, &pair.record, &signal, &panel));
    }
    Ok(Check::new(
        "alert signals equal their panels",
        format!(
            "{}/{} signals identical per series ({series} series, {with_data} signals with data now)",
            pairs.len() - problems.len().min(pairs.len()),
            pairs.len()
        ),
        problems,
    ))
}

/// Problems when the panel's series differ from the alert's signal: a series on one side
/// only, or a different value (NaN equals NaN).
fn compare_signal(
    alert: &str,
    record: &str,
    signal: &std::collections::BTreeMap<String, f64>,
    panel: &std::collections::BTreeMap<String, f64>,
) -> Option<String> {
    let mut differences = Vec::new();
    for (labels, value) in signal {
        match panel.get(labels) {
            None => differences.push(format!("{labels} is missing from the panel")),
            Some(shown) if !(shown == value || (shown.is_nan() && value.is_nan())) => {
                differences.push(format!("{labels}: alert sees {value}, panel shows {shown}"))
            }
            Some(_) => {}
        }
    }
    for labels in panel.keys().filter(|l| !signal.contains_key(*l)) {
        differences.push(format!("{labels} is on the panel only"));
    }
    (!differences.is_empty())
        .then(|| format!("alert {alert} (`{record}`): {}", differences.join("; ")))
}

/// Every metrics feature the service's catalogs declare.
fn features() -> Vec<String> {
    let mut features: Vec<String> = crate::catalogs::export()
        .metrics()
        .filter_map(|(_, m)| m.feature.clone())
        .collect();
    features.sort();
    features.dedup();
    features
}

/// Conformance of one instance's exposition with the catalog (`export`, with the
/// instance's feature flags), as a summary row.
fn conformance_check(
    address: &str,
    export: &catalog_export::Export,
    exposition: &Exposition,
) -> Check {
    let problems: Vec<String> = conformance::check(export, exposition)
        .iter()
        .map(ToString::to_string)
        .collect();
    let families = exposition.families.iter().filter(|(name, _)| {
        export
            .catalogs
            .iter()
            .any(|c| name.starts_with(c.prefix.as_str()))
    });
    let (n_families, n_series) = families.fold((0, 0), |(f, s), (_, family)| {
        (f + 1, s + family.series.len())
    });
    Check::new(
        format!("conformance {address}"),
        format!("{n_families} families, {n_series} series"),
        problems,
    )
}

/// `/dev/shm` when it is a writable directory (tmpfs on Linux).
fn tmpfs() -> Option<&'static Path> {
    let shm = Path::new("/dev/shm");
    let writable = shm
        .metadata()
        .is_ok_and(|m| m.is_dir() && !m.permissions().readonly());
    writable.then_some(shm)
}

/// The committed dashboards, `dashboards/*.json`.
fn committed_dashboards(root: &Path) -> Result<Vec<Dashboard>> {
    let files = files_with_extension(&root.join("dashboards"), "json")?;
    if files.is_empty() {
        bail!("no dashboards in dashboards/: run `cargo xtask dashboards`");
    }
    files
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
        })
        .collect()
}

/// The committed rule files, `prometheus/rules/*.yaml`.
fn committed_rule_files(root: &Path) -> Result<Vec<PathBuf>> {
    let files = files_with_extension(&root.join("prometheus/rules"), "yaml")?;
    if files.is_empty() {
        bail!("no rule files in prometheus/rules/: run `cargo xtask rules`");
    }
    Ok(files)
}

fn files_with_extension(dir: &Path, extension: &str) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("listing {}", dir.display())),
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == extension) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn write(path: &Path, content: &str) -> Result<()> {
    std::fs::write(path, content).with_context(|| format!("writing {}", path.display()))
}

/// Builds `pipeline-demo` (debug profile, shared with `cargo test`) and returns its path.
async fn build_demo(root: &Path) -> Result<PathBuf> {
    eprintln!("e2e: building pipeline-demo (cargo build -p pipeline-demo)");
    let output = tokio::process::Command::new(crate::setup::cargo())
        .args([
            "build",
            "-p",
            "pipeline-demo",
            "--bin",
            "pipeline-demo",
            "--message-format=json-render-diagnostics",
        ])
        .current_dir(root)
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true)
        .output()
        .await
        .context("running cargo build -p pipeline-demo")?;
    if !output.status.success() {
        bail!("cargo build -p pipeline-demo failed ({})", output.status);
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["target"]["name"] == "pipeline-demo")
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .context("cargo build -p pipeline-demo reported no pipeline-demo executable")
}

/// Runs `poll` every [`POLL`] until it returns `Some`, for at most `timeout`; fails
/// when a process of the fleet exits, or on time-out with `what` and the last state.
async fn wait_until<T, F>(
    fleet: &mut Fleet,
    what: &str,
    timeout: Duration,
    mut poll: impl FnMut() -> F,
) -> Result<T>
where
    F: std::future::Future<Output = Result<std::result::Result<T, String>>>,
{
    eprintln!("e2e: waiting (at most {}s) {what}", timeout.as_secs());
    let deadline = Instant::now() + timeout;
    loop {
        fleet.ensure_running()?;
        let state = match poll().await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(state)) => state,
            Err(e) => format!("{e:#}"),
        };
        if Instant::now() >= deadline {
            bail!("timed out after {}s {what}: {state}", timeout.as_secs());
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Waits until `server` (Prometheus or vmagent) lists every demo instance as a scrape
/// target: its scrape loops then run, and the first scrape follows an instance's start
/// by at most one interval (Prometheus applies its configuration's targets up to 5 s
/// after it starts).
async fn wait_for_scrape_loops(server: &mut Process, api: &Api) -> Result<()> {
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    loop {
        server.ensure_running()?;
        if api.targets().await.is_ok_and(|t| t.len() == INSTANCES) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "timed out after {}s waiting for {} to list the {INSTANCES} demo instances as targets",
                STARTUP_TIMEOUT.as_secs(),
                server.name
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn wait_for_targets(fleet: &mut Fleet, backend: &str, api: &Api) -> Result<()> {
    let what = format!("for {backend} to scrape all {INSTANCES} demo instances");
    wait_until(fleet, &what, STARTUP_TIMEOUT, || async {
        let targets = api.targets().await?;
        let up = targets.iter().filter(|t| t.health == "up").count();
        if up == INSTANCES {
            return Ok(Ok(()));
        }
        let states: Vec<String> = targets
            .iter()
            .map(|t| format!("{} {} {}", t.scrape_url, t.health, t.last_error))
            .collect();
        Ok(Err(format!("{up}/{INSTANCES} up [{}]", states.join("; "))))
    })
    .await
}

async fn wait_for_every_metric(fleet: &mut Fleet, demos: &[Api]) -> Result<()> {
    let what = "for every instance to expose every catalog metric";
    wait_until(fleet, what, ALL_METRICS_TIMEOUT, || async {
        let mut missing = BTreeSet::new();
        for demo in demos {
            let exposition = Exposition::parse(&demo.get_text("/metrics").await?);
            let export = conformance::with_served_features(
                &crate::catalogs::export(),
                &demo.get_text("/catalog").await?,
            );
            missing.extend(
                export
                    .metrics()
                    // A metric whose feature is off on this instance stays absent.
                    .filter(|(_, m)| m.enabled != Some(false))
                    .filter(|(_, m)| {
                        !exposition.exposes(&m.name) && !conformance::may_be_absent(m, &exposition)
                    })
                    .map(|(_, m)| m.name.clone()),
            );
        }
        if missing.is_empty() {
            Ok(Ok(()))
        } else {
            let missing: Vec<String> = missing.into_iter().collect();
            Ok(Err(format!("still missing: {}", missing.join(", "))))
        }
    })
    .await
}

async fn wait_for_scrapes(fleet: &mut Fleet, api: &Api) -> Result<()> {
    let job = prometheus::job_name();
    let expr = format!("min(count_over_time(up{{job=\"{job}\"}}[5m]))");
    let what = format!("for {WARM_UP_SCRAPES} scrapes of every instance");
    wait_until(fleet, &what, STARTUP_TIMEOUT, || async {
        let scrapes = api.number(&expr, SystemTime::now()).await?.unwrap_or(0.0);
        if scrapes >= f64::from(WARM_UP_SCRAPES) {
            Ok(Ok(()))
        } else {
            Ok(Err(format!("{scrapes} scrapes so far")))
        }
    })
    .await
}

/// Numbers agree: for every catalog counter, Prometheus's fleet-wide total lies between
/// the sums the instances expose right before and right after the scrape it reflects.
///
/// Counters only grow, so reading every instance (before), waiting until Prometheus has
/// scraped every instance after that read, querying, then reading again (after) brackets
/// the value Prometheus holds: `before <= prometheus <= after`. The bracket is about
/// one scrape interval wide.
async fn numbers_agree(prometheus: &Api, demos: &[Api]) -> Result<Check> {
    let export = crate::catalogs::export();
    let counters: Vec<&str> = export
        .metrics()
        .map(|(_, m)| m)
        .filter(|m| m.kind == catalog_export::Kind::Counter)
        .map(|m| m.name.as_str())
        .collect();
    let before = fleet_totals(demos, &counters).await?;
    let read_at = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)?
        .as_secs_f64();
    let job = prometheus::job_name();
    let oldest_scrape = format!("min(timestamp(up{{job=\"{job}\"}}))");
    let deadline = Instant::now() + SCRAPE_INTERVAL * 10;
    loop {
        let scraped = prometheus.number(&oldest_scrape, SystemTime::now()).await?;
        if scraped.is_some_and(|t| t > read_at) {
            break;
        }
        if Instant::now() >= deadline {
            bail!("Prometheus did not scrape every instance within 10 scrape intervals");
        }
        tokio::time::sleep(SCRAPE_INTERVAL / 4).await;
    }
    let at = SystemTime::now();
    let mut in_prometheus = Vec::new();
    for name in &counters {
        let expr = format!("sum({name}{{job=\"{job}\"}})");
        in_prometheus.push(prometheus.number(&expr, at).await?.unwrap_or(0.0));
    }
    let after = fleet_totals(demos, &counters).await?;
    let mut problems = Vec::new();
    let mut example = String::new();
    for (i, name) in counters.iter().enumerate() {
        let (low, value, high) = (before[i], in_prometheus[i], after[i]);
        if !(low <= value && value <= high) {
            problems.push(format!(
                "{name}: Prometheus says {value} for the fleet, the instances exposed {low} before and {high} after"
            ));
        } else if example.is_empty() && low > 0.0 {
            example = format!(", e.g. {name}: {low} <= {value} <= {high}");
        }
    }
    Ok(Check::new(
        format!("numbers agree ({} counters)", counters.len()),
        format!("fleet totals within one scrape{example}"),
        problems,
    ))
}

/// For each counter, the sum over every series of every instance.
async fn fleet_totals(demos: &[Api], counters: &[&str]) -> Result<Vec<f64>> {
    let mut totals = vec![0.0; counters.len()];
    for demo in demos {
        let exposition = Exposition::parse(&demo.get_text("/metrics").await?);
        for (total, name) in totals.iter_mut().zip(counters) {
            *total += exposition.total(name);
        }
    }
    Ok(totals)
}

async fn wait_for_rule_evaluation(
    fleet: &mut Fleet,
    api: &Api,
) -> Result<Vec<prometheus::RuleState>> {
    let what = "for Prometheus to evaluate every rule once";
    wait_until(fleet, what, STARTUP_TIMEOUT, || async {
        let rules = api.rules().await?;
        let pending: Vec<&str> = rules
            .iter()
            .filter(|r| r.health == "unknown")
            .map(|r| r.name.as_str())
            .collect();
        if rules.is_empty() {
            Ok(Err("no rule loaded yet".to_string()))
        } else if pending.is_empty() {
            Ok(Ok(rules))
        } else {
            Ok(Err(format!("not evaluated yet: {}", pending.join(", "))))
        }
    })
    .await
}

/// The committed rules' expressions parse and evaluate (each sent to `/api/v1/query`
/// as written in `prometheus/rules/*.yaml`), Prometheus loaded as many rules as the
/// files hold, and every loaded rule's health is ok.
///
/// Prometheus loads the drill's copies of the files (see [`drill`]): the first row also
/// proves that each copy, parsed, equals its committed file with the `for` of the
/// alerting rules the drill reaches removed, so the loaded rules evaluate exactly the committed expressions and
/// their health (which `for` does not affect) is that of the committed rules.
async fn check_rules(
    api: &Api,
    rules: &[prometheus::RuleState],
    files: &[PathBuf],
    drill_dir: &Path,
) -> Result<(Check, Check)> {
    let mut problems = Vec::new();
    let mut expressions = Vec::new();
    for file in files {
        let committed = read_yaml(file)?;
        let name = file.file_name().context("rule file name")?;
        let copy = read_yaml(&drill_dir.join(name))?;
        if copy != without_for(committed.clone()) {
            problems.push(format!(
                "{}: the drill's copy differs from the committed file by more than `for`",
                file.display()
            ));
        }
        for group in committed["groups"].as_sequence().into_iter().flatten() {
            for rule in group["rules"].as_sequence().into_iter().flatten() {
                let name = rule["record"].as_str().or(rule["alert"].as_str());
                let expr = rule["expr"].as_str().unwrap_or_default();
                expressions.push((name.unwrap_or_default().to_string(), expr.to_string()));
            }
        }
    }
    if rules.len() != expressions.len() {
        problems.push(format!(
            "Prometheus loaded {} rules, prometheus/rules/*.yaml hold {}",
            rules.len(),
            expressions.len()
        ));
    }
    let now = SystemTime::now();
    let mut with_data = 0;
    for (name, expr) in &expressions {
        match api.query(expr, now).await? {
            Outcome::Series(n) => with_data += usize::from(n > 0),
            Outcome::Error(e) => problems.push(format!("{name}: {e}\n    expr: {expr}")),
        }
    }
    let expressions = Check::new(
        "rule expressions evaluate",
        format!(
            "{}/{} committed rules evaluated, {with_data} with data now; loaded: the same minus the `for` of the alerts the drill reaches",
            expressions.len(),
            rules.len()
        ),
        problems,
    );
    let unhealthy: Vec<String> = rules
        .iter()
        .filter(|r| r.health != "ok")
        .map(|r| {
            format!(
                "{} ({}): health {}: {}",
                r.name, r.kind, r.health, r.last_error
            )
        })
        .collect();
    let health = Check::new(
        "rule health",
        format!("{}/{} ok", rules.len() - unhealthy.len(), rules.len()),
        unhealthy,
    );
    Ok((expressions, health))
}

fn read_yaml(path: &Path) -> Result<serde_norway::Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_norway::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// A rule file with the `for` of every alerting rule but those the drill does not reach
/// ([`drill::keeps_for`]) removed.
fn without_for(mut file: serde_norway::Value) -> serde_norway::Value {
    for group in file["groups"].as_sequence_mut().into_iter().flatten() {
        for rule in group["rules"].as_sequence_mut().into_iter().flatten() {
            let stripped = rule
                .get("alert")
                .and_then(serde_norway::Value::as_str)
                .is_some_and(|name| !drill::keeps_for(name));
            if stripped && let Some(rule) = rule.as_mapping_mut() {
                rule.remove("for");
            }
        }
    }
    file
}

async fn wait_for_victoria_data(fleet: &mut Fleet, api: &Api) -> Result<()> {
    let job = prometheus::job_name();
    let expr = format!("min(count_over_time(up{{job=\"{job}\"}}[5m]))");
    let what = format!("for VictoriaMetrics to hold {WARM_UP_SCRAPES} scrapes of every instance");
    wait_until(fleet, &what, STARTUP_TIMEOUT, || async {
        victoria::force_flush(api).await?;
        let scrapes = api.number(&expr, SystemTime::now()).await?.unwrap_or(0.0);
        if scrapes >= f64::from(WARM_UP_SCRAPES) {
            Ok(Ok(()))
        } else {
            Ok(Err(format!("{scrapes} scrapes queryable so far")))
        }
    })
    .await
}

/// Sends every dashboard target to `api` as Grafana would (instant or range query over
/// the run so far, step = scrape interval) and reports panels with data; every query
/// variable must have values too.
async fn check_dashboards(
    backend: &str,
    api: &Api,
    (targets, variables): (&[Target], &[VariableQuery]),
    start: SystemTime,
    exposed: &BTreeSet<String>,
    recorded: &BTreeSet<String>,
) -> Result<Check> {
    let end = SystemTime::now();
    let mut outcomes = Vec::new();
    for target in targets {
        let outcome = if target.instant {
            api.query(&target.expr, end).await?
        } else {
            api.query_range(&target.expr, start, end, SCRAPE_INTERVAL)
                .await?
        };
        outcomes.push(outcome);
    }
    let report = queries::report(targets, &outcomes, exposed, recorded);
    let mut problems = report.failures;
    let mut with_values = 0;
    for variable in variables {
        match api.query(&variable.expr, end).await? {
            Outcome::Series(n) if n > 0 => with_values += 1,
            outcome => problems.push(format!(
                "dashboard {} variable ${}: no values ({outcome:?})\n    query: {}",
                variable.dashboard, variable.name, variable.expr
            )),
        }
    }
    Ok(Check::new(
        format!("dashboards on {backend}"),
        format!(
            "panels with data: {}/{} ({} targets), variables with values: {with_values}/{}",
            report.panels_with_data,
            report.panels,
            targets.len(),
            variables.len()
        ),
        problems,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The report of a run where the demo emits a metric the catalog does not know and
    /// a dashboard queries a metric the demo does not emit.
    #[test]
    fn drift_fails_the_run_with_a_readable_report() {
        let bogus = format!("{}bogus_total", MetricId::PREFIX);
        let text = format!(
            "{}# HELP {bogus} Not in the catalog.\n# TYPE {bogus} counter\n{bogus} 1\n",
            fixtures::exposition()
        );
        let exposition = Exposition::parse(&text);
        let conformance =
            conformance_check("127.0.0.1:9464", &crate::catalogs::export(), &exposition);

        let missing = format!("{}not_emitted_total", MetricId::PREFIX);
        let dashboards = fixtures::dashboards_querying(&missing, "Not emitted");
        let intervals = Intervals {
            scrape: SCRAPE_INTERVAL,
            step: SCRAPE_INTERVAL,
            range: Duration::from_secs(300),
        };
        let targets = queries::targets(&dashboards, intervals).unwrap();
        let outcomes: Vec<Outcome> = targets
            .iter()
            .map(|t| Outcome::Series(usize::from(!t.expr.contains(&missing))))
            .collect();
        let report = queries::report(
            &targets,
            &outcomes,
            &exposition.sample_names,
            &BTreeSet::new(),
        );
        let dashboards = Check::new(
            "dashboards on Prometheus",
            format!(
                "panels with data: {}/{}",
                report.panels_with_data, report.panels
            ),
            report.failures,
        );

        let text = summary(&[conformance, dashboards], Duration::from_secs(30));
        let row = format!(
            "  FAILED   conformance 127.0.0.1:9464  {} families",
            crate::catalogs::export().metrics().count() + 1
        );
        assert!(text.contains(&row), "{text}");
        assert!(
            text.contains(&format!(
                "  - {bogus}: exposed, but the catalog does not define it (declare it in catalog::Metric or stop recording it)\n"
            )),
            "{text}"
        );
        assert!(
            text.contains("  FAILED   dashboards on Prometheus"),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "target A: no series: it selects {missing}, which no demo instance exposes\n    query: sum(rate({missing}{{job=~\".+\"}}[4s]))"
            )),
            "{text}"
        );
    }

    #[test]
    fn drill_copies_of_the_committed_rules_lose_only_their_for() {
        let files = committed_rule_files(&workspace_root()).unwrap();
        let mut alerts_with_for = 0;
        for file in &files {
            let text = std::fs::read_to_string(file).unwrap();
            let committed: serde_norway::Value = serde_norway::from_str(&text).unwrap();
            let copy: serde_norway::Value =
                serde_norway::from_str(&drill::drill_rules(&text)).unwrap();
            assert_eq!(copy, without_for(committed.clone()), "{}", file.display());
            alerts_with_for += text.matches("\n    for: ").count();
        }
        assert!(alerts_with_for > 10, "{alerts_with_for} rules with `for`");
    }

    #[test]
    fn a_panel_that_differs_from_the_alert_signal_is_reported() {
        let map = |pairs: &[(&str, f64)]| -> std::collections::BTreeMap<String, f64> {
            pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
        };
        let signal = map(&[("{job=\"a\"}", 0.5), ("{job=\"b\"}", f64::NAN)]);
        assert_eq!(compare_signal("A", "r", &signal, &signal.clone()), None);
        let panel = map(&[("{job=\"a\"}", 0.25), ("{job=\"c\"}", 1.0)]);
        assert_eq!(
            compare_signal("A", "r", &signal, &panel).unwrap(),
            "alert A (`r`): {job=\"a\"}: alert sees 0.5, panel shows 0.25; \
             {job=\"b\"} is missing from the panel; {job=\"c\"} is on the panel only"
        );
    }

    #[test]
    fn summary_lists_every_check_then_the_problems_of_failed_ones() {
        let checks = [
            Check::new(
                "conformance 127.0.0.1:1",
                "20 families, 90 series",
                Vec::new(),
            ),
            Check::new(
                "dashboards on Prometheus",
                "panels with data: 30/31 (40 targets)",
                vec!["dashboard d panel \"p\" target A: no series".to_string()],
            ),
            Check {
                name: "dashboards on VictoriaMetrics".to_string(),
                status: Status::Skipped,
                detail: "victoria-metrics is not installed".to_string(),
                problems: Vec::new(),
            },
        ];
        assert_eq!(
            summary(&checks, Duration::from_millis(41_250)),
            "\ne2e summary (41.2 s)\n\
             \x20 ok       conformance 127.0.0.1:1        20 families, 90 series\n\
             \x20 FAILED   dashboards on Prometheus       panels with data: 30/31 (40 targets)\n\
             \x20 skipped  dashboards on VictoriaMetrics  victoria-metrics is not installed\n\
             \n\
             dashboards on Prometheus failed:\n\
             \x20 - dashboard d panel \"p\" target A: no series\n"
        );
    }
}
