//! The live fire drill: the demo fleet runs a declared fault schedule ([`FAULTS`]); the
//! generated alerts fire on Prometheus and, with the same rule files, on vmalert over
//! VictoriaMetrics (fed by vmagent), reach a real Alertmanager and a webhook receiver in
//! the harness with the catalog's labels and links, and resolve once their fault is over.
//!
//! **Timing.** Production rules wait minutes (`for: 10m`); the drill runs both rule
//! engines on copies of the committed rule files with the `for` of every alert it
//! reaches removed ([`drill_rules`]; the alerts it does not reach keep theirs, so a
//! young series' start-up transient does not fire them), expressions, labels and annotations unchanged, and Alertmanager with
//! second-scale grouping. The rate windows stay as committed (5m to 3d): on a Prometheus
//! younger than a window, a window holds only the data since the first scrape, so a
//! ratio over it is "failures since start / operations since start" whatever its length.
//! A short fault early in the run pushes such a ratio over its threshold; healthy
//! traffic afterwards brings it back under, after about `failures / threshold`
//! operations. The faults therefore come in the first seconds (the demos start once
//! Prometheus is ready, so every fault lies after the first scrape), each as short as
//! its highest threshold allows, and [`expect`] says, alert by alert, which ones fire and
//! resolve within [`DEADLINE`].
//!
//! **Schedule** (seconds after each demo instance starts; 3 instances of 3 sources; the
//! demos' storage on tmpfs, so that only injected faults make it slow):
//!
//! | window | fault | fires |
//! |---|---|---|
//! | 1.15-1.45 | `cas-disk_full` (3 attempts per instance, with the gateway's backoff) | CAS error ratio, CAS availability burn (all four windows) |
//! | 1.45-1.8 | `log-io` (3 or 4 attempts of the batch the CAS fault held back, so an append surely falls in it) | log error ratio, log availability burn |
//! | 1.8-2.4 | `fsync-slow` | fsync p99, fsync latency burn (all four) |
//! | 2.5-11.5 | `source-slow` on provider-1 and -2 (three 3 s answers each: the latency burn clears 14.4x on both engines), `source-timeout` on provider-3 until 4.5 (one 6.5 s timeout) | source p99 (provider-3), latency burn (all four) |
//! | 10-17 | `source-connection`, then `source-http_status`, then `source-malformed`, every source | source error ratio per source and fleet-wide, availability burn |
//! | 21-25.5 | `source-resend`, every source (each page re-sends the source's last 200 envelopes) | duplicates ratio per source |
//! | 23.5-29.5 | `cas-slow` (150 ms more per write) | CAS p99; with the re-sent pages, the queue stays over 1000 (backlog) |
//!
//! Then, after the fault phase: an outage (every instance stopped) fires the absence
//! alert, and bringing one instance back (without faults) resolves it.
//!
//! **Not taken to the end in the drill's time** (covered by the promtool tests
//! `cargo xtask rules` generates; the reasons are in [`expect`] and in the e2e summary):
//! the 10-minute stall, the in-flight pile-up (the demo polls each source one request at
//! a time), the 1 GiB log file and the two recorder alerts (`rate5m > 0` holds for five
//! minutes after one event) do not fire; the sources' availability tickets and 6h page,
//! the latency 3d ticket and the ingest log's availability tickets and 6h page fire but
//! resolve only after minutes (objectives of 99 % and 99.9 % need 16 to 1000 times the
//! failures in healthy operations before the since-start ratio is back under them).
//!
//! vmalert's notifications go to the webhook, which keeps only Alertmanager's payloads:
//! vmalert's alerts are read from its API and compared instance by instance with
//! Prometheus' over the fault phase (the outage is Prometheus only).
//!
//! [`webhook`] is the receiver, [`watch`] polls both rule engines and Alertmanager
//! throughout, and [`judge`] (pure) compares what they saw with the catalog's rules.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::prometheus::Api;

/// Labels of one alert.
pub type Labels = BTreeMap<String, String>;

/// The drill's fault schedule, passed to every demo instance as `--fault` flags.
pub const FAULTS: &[&str] = &[
    "cas-disk_full:1.15..1.45",
    "log-io:1.45..1.8",
    "fsync-slow:1.8..2.4",
    "source-slow@provider-1:2.5..11.5",
    "source-slow@provider-2:2.5..11.5",
    "source-timeout@provider-3:2.5..4.5",
    "source-connection:10..13.5",
    "source-http_status:13.5..15",
    "source-malformed:15..17",
    "source-resend:21..25.5",
    "cas-slow:23.5..29.5",
];

/// Severities the generated routing notifies (`page`, `ticket`); others go to the
/// `silent` receiver ([`rules_gen::alertmanager`]), so they reach Alertmanager only.
const NOTIFYING_SEVERITIES: &[&str] = &["critical", "warning"];

/// The demo's `--request-timeout` in the drill: above the 3 s of a `source-slow` answer
/// (a slow success, not a timeout) and above the 5 s p99 threshold (a timed-out request
/// is a slow one).
pub const REQUEST_TIMEOUT: &str = "6.5";

/// How long after the demos start the drill waits, at most, for every alert that
/// [`expect`]s to resolve to have fired and resolved on every backend.
pub const DEADLINE: Duration = Duration::from_secs(150);

/// What the drill expects of one alerting rule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Expect {
    /// Fires during the fault phase and resolves before [`DEADLINE`]; the fault that
    /// drives it starts this many seconds after the demos (for the time to fire).
    Resolves(f64),
    /// Fires during the fault phase; resolving takes longer than the drill, for this reason.
    FiresOnly(&'static str),
    /// Fires during the outage and resolves when an instance comes back.
    Outage,
    /// Does not fire in the drill, for this reason.
    Unreachable(&'static str),
}

/// What the drill expects of the alerting rule `name` (with its `long_window` label,
/// for an SLO burn-rate rule); `None` for a rule the drill does not know (a test keeps
/// this table complete).
pub fn expect(name: &str, long_window: Option<&str>) -> Option<Expect> {
    const SOURCES_TICKET: &str = "objective 99 %: the since-start error ratio must fall under \
        6 % (6h), 3 % (1d) or 1 % (3d), i.e. 16 to 100 times the failed requests in \
        successful ones, minutes of healthy traffic";
    const LOG_TICKET: &str = "objective 99.9 %: the since-start ratio of failed records must \
        fall under 0.6 % to 0.1 %, i.e. 170 to 1000 times the failed records in written ones";
    let expect = match (name, long_window) {
        ("SmsSourcesMetricsAbsent", None) => Expect::Outage,
        ("SmsSourcesStalled", None) => Expect::Unreachable(
            "success rate over 10m per job: the successes before any fault stay in the \
             window for 10 minutes",
        ),
        ("SmsSourceRequestsPilingUp", None) => Expect::Unreachable(
            "the demo polls each source one request at a time: at most 3 in flight per \
             instance, the threshold is 50",
        ),
        ("SmsIngestLogNotRotating", None) => Expect::Unreachable(
            "needs a log file over 1 GiB; the demo rotates at 64 KiB and the drill writes \
             no such file",
        ),
        ("SmsRecorderDroppingSamples" | "SmsRecorderSeriesOverflow", None) => Expect::Unreachable(
            "rate over 5m above 0: one dropped sample keeps it firing for 5 minutes, \
                 and the demo records no misuse",
        ),
        ("SmsGatewayCasWritesFailing", None)
        | ("SmsGatewayCasWritesAvailabilityBudgetBurn", Some("1h" | "6h" | "1d" | "3d")) => {
            Expect::Resolves(1.15)
        }
        ("SmsIngestLogFsyncSlow", None)
        | ("SmsIngestLogFsyncLatencyBudgetBurn", Some("1h" | "6h" | "1d" | "3d")) => {
            Expect::Resolves(1.8)
        }
        ("SmsIngestLogWritesFailing", None)
        | ("SmsIngestLogWritesAvailabilityBudgetBurn", Some("1h")) => Expect::Resolves(1.45),
        ("SmsIngestLogWritesAvailabilityBudgetBurn", Some("6h" | "1d" | "3d")) => {
            Expect::FiresOnly(LOG_TICKET)
        }
        ("SmsSourceSlow", None)
        | ("SmsSourcesRequestsLatencyBudgetBurn", Some("1h" | "6h" | "1d")) => {
            Expect::Resolves(2.5)
        }
        ("SmsSourcesRequestsLatencyBudgetBurn", Some("3d")) => Expect::FiresOnly(
            "objective 99 %: 100 times the slow requests in fast ones, about two minutes of \
             traffic after a burn that lasts long enough to page",
        ),
        ("SmsSourceFailing" | "SmsSourcesMostlyFailing", None)
        | ("SmsSourcesRequestsAvailabilityBudgetBurn", Some("1h")) => Expect::Resolves(10.0),
        ("SmsSourcesRequestsAvailabilityBudgetBurn", Some("6h" | "1d" | "3d")) => {
            Expect::FiresOnly(SOURCES_TICKET)
        }
        ("SmsSourceMostlyDuplicates", None) => Expect::Resolves(21.0),
        ("SmsGatewayBacklog" | "SmsGatewayCasWritesSlow", None) => Expect::Resolves(23.5),
        _ => return None,
    };
    Some(expect)
}

/// The Alertmanager program of the Debian package `prometheus-alertmanager`.
pub const PROGRAM: &str = "prometheus-alertmanager";

/// One alert of one webhook notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notified {
    /// `firing` or `resolved`.
    pub status: String,
    /// The alert's labels.
    pub labels: Labels,
    /// The alert's annotations.
    pub annotations: Labels,
    /// Milliseconds since the drill started when it arrived.
    pub at_ms: u128,
}

/// Whether the drill's copy of alerting rule `alert` keeps its `for`: the alerts the
/// drill does not reach do (a start-up transient of a young series, which `for` hides
/// in production, must not fire them); every other alert loses it (drill timing).
pub fn keeps_for(alert: &str) -> bool {
    matches!(expect(alert, None), Some(Expect::Unreachable(_)))
}

/// The committed rule file `text` with the `for:` of every alerting rule but those that
/// [`keeps_for`] removed (drill timing); a label or annotation named `for` stays.
pub fn drill_rules(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // Column of the keys of the alerting rule being read (`alert`, `expr`, `for`, ...),
    // when its `for` goes.
    let mut rule_keys = None;
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        if let Some(rest) = line.trim_start().strip_prefix("- ") {
            rule_keys = rest
                .strip_prefix("alert:")
                .filter(|name| !keeps_for(name.trim().trim_matches(['"', '\''])))
                .map(|_| indent + 2);
        }
        if rule_keys == Some(indent) && line.trim_start().starts_with("for: ") {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Alertmanager's flags for a loopback run without clustering.
pub fn args(config: &std::path::Path, storage: &std::path::Path, port: u16) -> Vec<String> {
    vec![
        format!("--config.file={}", config.display()),
        format!("--storage.path={}", storage.display()),
        format!("--web.listen-address=127.0.0.1:{port}"),
        "--cluster.listen-address=".to_string(),
    ]
}

/// A webhook receiver on 127.0.0.1: every alert of every notification, in order.
pub struct Webhook {
    /// URL to give Alertmanager.
    pub url: String,
    started: Instant,
    received: Arc<Mutex<Vec<Notified>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Webhook {
    /// Milliseconds since the receiver started (the clock of [`Notified::at_ms`]).
    pub fn now_ms(&self) -> u128 {
        self.started.elapsed().as_millis()
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Notified> {
        self.received.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

/// Starts the receiver on a free loopback port.
pub async fn webhook(started: Instant) -> Result<Webhook> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding the webhook receiver")?;
    let url = format!("http://{}/", listener.local_addr()?);
    let received = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&received);
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let sink = Arc::clone(&sink);
            tokio::spawn(async move {
                let Some(body) = read_request(&mut stream).await else {
                    return;
                };
                let at_ms = started.elapsed().as_millis();
                if let Ok(payload) = serde_json::from_slice::<Value>(&body) {
                    let alerts = parse_payload(&payload, at_ms);
                    if let Ok(mut received) = sink.lock() {
                        received.extend(alerts);
                    }
                }
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    Ok(Webhook {
        url,
        started,
        received,
        task,
    })
}

/// Reads one HTTP request and returns its body (bounded to 1 MiB).
async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<Vec<u8>> {
    const LIMIT: usize = 1 << 20;
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(end) = find(&buffer, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0)
                .min(LIMIT);
            while buffer.len() < end + 4 + length {
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buffer.extend_from_slice(&chunk[..n]);
            }
            return Some(buffer[end + 4..end + 4 + length].to_vec());
        }
        if buffer.len() > LIMIT {
            return None;
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn string_map(value: &Value) -> Labels {
    value
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect()
}

/// The alerts of one Alertmanager webhook payload (version 4).
pub fn parse_payload(payload: &Value, at_ms: u128) -> Vec<Notified> {
    payload["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|alert| Notified {
            status: alert["status"].as_str().unwrap_or_default().to_string(),
            labels: string_map(&alert["labels"]),
            annotations: string_map(&alert["annotations"]),
            at_ms,
        })
        .collect()
}

/// One alert as Prometheus or Alertmanager reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reported {
    /// Labels.
    pub labels: Labels,
    /// Annotations.
    pub annotations: Labels,
    /// Alertmanager only: inhibited by another alert.
    pub inhibited: bool,
}

/// Firing alerts of Prometheus' `/api/v1/alerts` data.
pub fn prometheus_firing(data: &Value) -> Vec<Reported> {
    data["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["state"] == "firing")
        .map(|a| Reported {
            labels: string_map(&a["labels"]),
            annotations: string_map(&a["annotations"]),
            inhibited: false,
        })
        .collect()
}

/// Alerts of Alertmanager's `GET /api/v2/alerts`.
pub fn alertmanager_alerts(alerts: &Value) -> Vec<Reported> {
    alerts
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| Reported {
            labels: string_map(&a["labels"]),
            annotations: string_map(&a["annotations"]),
            inhibited: a["status"]["inhibitedBy"]
                .as_array()
                .is_some_and(|by| !by.is_empty()),
        })
        .collect()
}

/// `AlertName{label="value", ...}` without the static labels (and vmalert's
/// `alertgroup`, which Prometheus does not add).
pub fn describe(labels: &Labels) -> String {
    let name = labels.get("alertname").cloned().unwrap_or_default();
    let rest: Vec<String> = labels
        .iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "alertname" | "alertgroup" | "severity" | "signal"
            )
        })
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect();
    format!("{name}{{{}}}", rest.join(", "))
}

/// One alert instance as a rule engine reported it over the run.
#[derive(Clone, Debug, PartialEq)]
pub struct Seen {
    /// Its labels.
    pub labels: Labels,
    /// Its annotations when first seen firing.
    pub annotations: Labels,
    /// Milliseconds after the demos started when first seen firing.
    pub first_ms: u128,
    /// Milliseconds after the demos started when last seen firing.
    pub last_ms: u128,
    /// Firing at the latest poll.
    pub firing_now: bool,
}

/// Every alert instance a rule engine fired during the run, by [`describe`] key.
#[derive(Clone, Debug, Default)]
pub struct Timeline(pub BTreeMap<String, Seen>);

impl Timeline {
    /// Records one poll: `firing` were firing `at_ms` after the demos started.
    pub fn record(&mut self, firing: &[Reported], at_ms: u128) {
        for seen in self.0.values_mut() {
            seen.firing_now = false;
        }
        for alert in firing {
            self.0
                .entry(describe(&alert.labels))
                .or_insert_with(|| Seen {
                    labels: alert.labels.clone(),
                    annotations: alert.annotations.clone(),
                    first_ms: at_ms,
                    last_ms: at_ms,
                    firing_now: true,
                });
            let seen = self.0.get_mut(&describe(&alert.labels));
            if let Some(seen) = seen {
                seen.last_ms = at_ms;
                seen.firing_now = true;
            }
        }
    }
}

/// What [`watch`] saw so far.
#[derive(Clone, Debug, Default)]
pub struct Watched {
    /// Alerts Prometheus fired.
    pub prometheus: Timeline,
    /// Alerts vmalert fired (`None` without VictoriaMetrics).
    pub vmalert: Option<Timeline>,
    /// Every alert Alertmanager held, and whether it ever reported it inhibited.
    pub managed: BTreeMap<String, bool>,
    /// Polls that failed, and the last failure.
    pub failures: (usize, String),
}

/// The servers [`watch`] polls.
pub struct Engines {
    /// Prometheus' API.
    pub prometheus: Api,
    /// vmalert's API and VictoriaMetrics' (flushed before each poll), when installed.
    pub victoria: Option<(Api, Api)>,
    /// Alertmanager's API, when installed.
    pub alertmanager: Option<Api>,
}

/// Polls [`Engines`] in the background until dropped.
pub struct Watcher {
    state: Arc<Mutex<Watched>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Watcher {
    /// What was seen so far.
    pub fn snapshot(&self) -> Watched {
        self.state.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

/// Starts polling every [`super::POLL`]: firing alerts of both rule engines, the alerts
/// Alertmanager holds. Times count from `started` (when the demos started).
pub fn watch(engines: Engines, started: Instant) -> Watcher {
    let state = Arc::new(Mutex::new(Watched {
        vmalert: engines.victoria.as_ref().map(|_| Timeline::default()),
        ..Watched::default()
    }));
    let shared = Arc::clone(&state);
    let task = tokio::spawn(async move {
        loop {
            if let Err(error) = poll_once(&engines, &shared, started).await
                && let Ok(mut state) = shared.lock()
            {
                state.failures.0 += 1;
                state.failures.1 = format!("{error:#}");
            }
            tokio::time::sleep(super::POLL).await;
        }
    });
    Watcher { state, task }
}

async fn poll_once(engines: &Engines, state: &Mutex<Watched>, started: Instant) -> Result<()> {
    let at_ms = started.elapsed().as_millis();
    let prometheus = prometheus_firing(&engines.prometheus.json("/api/v1/alerts").await?);
    let vmalert = match &engines.victoria {
        Some((vmalert, victoria)) => {
            super::victoria::force_flush(victoria).await?;
            Some(prometheus_firing(&vmalert.json("/api/v1/alerts").await?))
        }
        None => None,
    };
    let managed = match &engines.alertmanager {
        Some(api) => alertmanager_alerts(&serde_json::from_str(
            &api.get_text("/api/v2/alerts").await?,
        )?),
        None => Vec::new(),
    };
    let mut state = state
        .lock()
        .map_err(|_| anyhow::anyhow!("watch state poisoned"))?;
    state.prometheus.record(&prometheus, at_ms);
    if let (Some(timeline), Some(firing)) = (&mut state.vmalert, vmalert) {
        timeline.record(&firing, at_ms);
    }
    for alert in managed {
        *state.managed.entry(describe(&alert.labels)).or_default() |= alert.inhibited;
    }
    Ok(())
}

/// One generated alerting rule, as the drill compares it.
#[derive(Clone, Debug)]
pub struct RuleView {
    /// Alert name.
    pub name: String,
    /// Static labels (severity, signal, SLO windows).
    pub labels: Labels,
    /// Annotations as written (templates unrendered).
    pub annotations: Labels,
    /// What the drill expects of it ([`expect`]).
    pub expect: Option<Expect>,
}

impl RuleView {
    /// `Name` or, for an SLO burn-rate rule, `Name[1h]`.
    pub fn id(&self) -> String {
        match self.labels.get("long_window") {
            Some(window) => format!("{}[{window}]", self.name),
            None => self.name.clone(),
        }
    }

    /// What the drill expects of it.
    pub fn expect(&self) -> Option<Expect> {
        self.expect
    }

    /// Whether `labels` are an instance of this rule.
    fn matches(&self, labels: &Labels) -> bool {
        labels.get("alertname") == Some(&self.name)
            && labels.get("long_window") == self.labels.get("long_window")
    }

    /// Problems with an instance's labels and annotations: every static label and every
    /// annotation without a template as written, every templated one rendered.
    fn problems_with(&self, seen: &Seen) -> Vec<String> {
        let key = describe(&seen.labels);
        let mut problems = Vec::new();
        for (name, value) in &self.labels {
            if seen.labels.get(name) != Some(value) {
                problems.push(format!(
                    "{key}: label {name} is {:?}, the catalog says {value:?}",
                    seen.labels.get(name)
                ));
            }
        }
        for (name, value) in &self.annotations {
            let shown = seen.annotations.get(name);
            let ok = if value.contains("{{") {
                shown.is_some_and(|s| !s.is_empty() && !s.contains("{{"))
            } else {
                shown == Some(value)
            };
            if !ok {
                problems.push(format!(
                    "{key}: annotation {name} is {shown:?}, the catalog says {value:?}"
                ));
            }
        }
        problems
    }
}

/// Instances of `rule` in `timeline`.
fn instances<'a>(rule: &'a RuleView, timeline: &'a Timeline) -> impl Iterator<Item = &'a Seen> {
    timeline
        .0
        .values()
        .filter(|seen| rule.matches(&seen.labels))
}

/// Whether the fault phase is over as far as alerts go: every rule expected to resolve
/// fired and resolved on every rule engine (and its notified instances were notified
/// resolved), every rule expected to fire fired on every engine.
pub fn settled(rules: &[RuleView], watched: &Watched, notified: &[Notified]) -> bool {
    let engines: Vec<&Timeline> = std::iter::once(&watched.prometheus)
        .chain(&watched.vmalert)
        .collect();
    rules.iter().all(|rule| match rule.expect() {
        Some(Expect::Resolves(_)) => engines.iter().all(|timeline| {
            let mut seen = instances(rule, timeline).peekable();
            seen.peek().is_some()
                && seen.all(|s| !s.firing_now && notified_resolved(&s.labels, notified, watched))
        }),
        Some(Expect::FiresOnly(_)) => engines
            .iter()
            .all(|timeline| instances(rule, timeline).next().is_some()),
        _ => true,
    })
}

/// True unless the instance was notified firing and not (yet) resolved, or was inhibited
/// at some point (Alertmanager notifies no resolution of an alert it mutes).
fn notified_resolved(labels: &Labels, notified: &[Notified], watched: &Watched) -> bool {
    let key = describe(labels);
    if watched.managed.get(&key) == Some(&true) {
        return true;
    }
    let last = notified
        .iter()
        .filter(|n| describe(&n.labels) == key)
        .max_by_key(|n| n.at_ms);
    last.is_none_or(|n| n.status == "resolved")
}

/// The verdict on the fault phase.
#[derive(Debug, Default)]
pub struct Judgement {
    /// Rules that fired and resolved on Prometheus, out of those expected to.
    pub resolves: (usize, usize),
    /// Rules that fired, out of those expected to fire (resolution past the drill).
    pub fires_only: (usize, usize),
    /// Alert instances Prometheus fired, notified firing, and inhibited at some point.
    pub instances: (usize, usize, usize),
    /// Slowest time from a rule's fault to its first instance firing: (seconds, rule).
    pub slowest: Option<(f64, String)>,
    /// Fastest time from a rule's fault to its first instance firing.
    pub fastest: Option<f64>,
    /// Seconds after the demos started when the last instance expected to resolve was
    /// last seen firing, and its rule.
    pub resolved_by: (f64, String),
    /// vmalert: Prometheus' instances it fired too, out of all, and the rules expected to
    /// resolve that resolved there.
    pub vmalert: Option<VmalertJudgement>,
    /// Problems with Prometheus and Alertmanager.
    pub problems: Vec<String>,
}

/// vmalert's part of the verdict.
#[derive(Debug, Default)]
pub struct VmalertJudgement {
    /// Alert instances (label sets) fired on both, and fired on Prometheus.
    pub same: (usize, usize),
    /// Rules expected to resolve that fired and resolved on vmalert, out of all.
    pub resolves: (usize, usize),
    /// Instances on one side only, rules that did not resolve.
    pub problems: Vec<String>,
}

/// Judges the fault phase from what [`watch`] saw and the webhook received.
pub fn judge(rules: &[RuleView], watched: &Watched, notified: &[Notified]) -> Judgement {
    let mut judgement = Judgement::default();
    let mut matched = BTreeSet::new();
    for rule in rules {
        let Some(expect) = rule.expect() else {
            judgement.problems.push(format!(
                "{}: the drill has no expectation for this rule: add it to drill::expect",
                rule.id()
            ));
            continue;
        };
        let seen: Vec<&Seen> = instances(rule, &watched.prometheus).collect();
        matched.extend(seen.iter().map(|s| describe(&s.labels)));
        match expect {
            Expect::Resolves(fault_at) => {
                judgement.resolves.1 += 1;
                if seen.is_empty() {
                    judgement
                        .problems
                        .push(format!("{}: never fired on Prometheus", rule.id()));
                    continue;
                }
                let first = seen.iter().map(|s| s.first_ms).min().unwrap_or_default();
                let after = (first as f64 / 1000.0 - fault_at).max(0.0);
                if judgement.slowest.as_ref().is_none_or(|(s, _)| after > *s) {
                    judgement.slowest = Some((after, rule.id()));
                }
                if judgement.fastest.is_none_or(|f| after < f) {
                    judgement.fastest = Some(after);
                }
                let still: Vec<String> = seen
                    .iter()
                    .filter(|s| s.firing_now)
                    .map(|s| describe(&s.labels))
                    .collect();
                let last = seen.iter().map(|s| s.last_ms).max().unwrap_or_default();
                if last as f64 / 1000.0 > judgement.resolved_by.0 {
                    judgement.resolved_by = (last as f64 / 1000.0, rule.id());
                }
                if still.is_empty() {
                    judgement.resolves.0 += 1;
                } else {
                    judgement.problems.push(format!(
                        "{}: still firing at the end of the drill: {}",
                        rule.id(),
                        still.join(", ")
                    ));
                }
                for s in &seen {
                    if !s.firing_now && !notified_resolved(&s.labels, notified, watched) {
                        judgement.problems.push(format!(
                            "{}: resolved on Prometheus, never notified resolved",
                            describe(&s.labels)
                        ));
                    }
                }
            }
            Expect::FiresOnly(_) => {
                judgement.fires_only.1 += 1;
                if seen.is_empty() {
                    judgement
                        .problems
                        .push(format!("{}: never fired on Prometheus", rule.id()));
                } else {
                    judgement.fires_only.0 += 1;
                }
            }
            Expect::Outage => continue,
            Expect::Unreachable(_) => {
                if !seen.is_empty() {
                    judgement.problems.push(format!(
                        "{}: fired, although the drill does not expect it: update drill::expect",
                        rule.id()
                    ));
                }
                continue;
            }
        }
        for s in &seen {
            judgement.instances.0 += 1;
            judgement.problems.extend(rule.problems_with(s));
            judgement.problems.extend(delivery_problems(
                s,
                rule,
                watched,
                notified,
                &mut judgement.instances,
            ));
        }
    }
    for key in watched
        .prometheus
        .0
        .keys()
        .filter(|k| !matched.contains(*k))
    {
        judgement
            .problems
            .push(format!("{key}: fired, but matches no generated rule"));
    }
    judgement.vmalert = watched
        .vmalert
        .as_ref()
        .map(|vmalert| judge_vmalert(rules, &watched.prometheus, vmalert));
    judgement
}

/// Problems with how one instance reached Alertmanager and the webhook; counts it as
/// notified or inhibited in `instances`.
fn delivery_problems(
    seen: &Seen,
    rule: &RuleView,
    watched: &Watched,
    notified: &[Notified],
    instances: &mut (usize, usize, usize),
) -> Vec<String> {
    let key = describe(&seen.labels);
    let Some(inhibited) = watched.managed.get(&key) else {
        return vec![format!(
            "{key}: fired on Prometheus, never reached Alertmanager"
        )];
    };
    instances.2 += usize::from(*inhibited);
    let sent = notified
        .iter()
        .find(|n| n.status == "firing" && describe(&n.labels) == key);
    let routed = seen
        .labels
        .get("severity")
        .is_some_and(|s| NOTIFYING_SEVERITIES.contains(&s.as_str()));
    match sent {
        None if *inhibited || !routed => Vec::new(),
        None => vec![format!(
            "{key}: never reached the webhook (and was never inhibited)"
        )],
        Some(sent) => {
            instances.1 += 1;
            let mut problems = Vec::new();
            if sent.labels != seen.labels {
                problems.push(format!("{key}: the webhook got other labels"));
            }
            let as_sent = Seen {
                labels: sent.labels.clone(),
                annotations: sent.annotations.clone(),
                ..seen.clone()
            };
            problems.extend(
                rule.problems_with(&as_sent)
                    .into_iter()
                    .map(|p| format!("webhook: {p}")),
            );
            problems
        }
    }
}

/// vmalert fired the same instances (label sets, `alertgroup` aside) as Prometheus, and
/// resolved the rules expected to resolve. Outage alerts are left out (the outage
/// comes after this comparison).
fn judge_vmalert(
    rules: &[RuleView],
    prometheus: &Timeline,
    vmalert: &Timeline,
) -> VmalertJudgement {
    let mut judgement = VmalertJudgement::default();
    let outage = |key: &String, timeline: &Timeline| {
        timeline.0[key].labels.get("alertname").is_some_and(|name| {
            rules
                .iter()
                .any(|r| r.name == *name && r.expect() == Some(Expect::Outage))
        })
    };
    let ours: BTreeSet<&String> = prometheus
        .0
        .keys()
        .filter(|k| !outage(k, prometheus))
        .collect();
    let theirs: BTreeSet<&String> = vmalert.0.keys().filter(|k| !outage(k, vmalert)).collect();
    judgement.same = (ours.intersection(&theirs).count(), ours.len());
    for key in ours.difference(&theirs) {
        judgement
            .problems
            .push(format!("{key}: fired on Prometheus only"));
    }
    for key in theirs.difference(&ours) {
        judgement
            .problems
            .push(format!("{key}: fired on vmalert only"));
    }
    for rule in rules
        .iter()
        .filter(|r| matches!(r.expect(), Some(Expect::Resolves(_))))
    {
        judgement.resolves.1 += 1;
        let seen: Vec<&Seen> = instances(rule, vmalert).collect();
        if !seen.is_empty() && seen.iter().all(|s| !s.firing_now) {
            judgement.resolves.0 += 1;
        } else if !seen.is_empty() {
            judgement.problems.push(format!(
                "{}: still firing on vmalert at the end of the drill",
                rule.id()
            ));
        }
    }
    judgement
}

/// What the fault phase left for [`checks`].
pub struct FaultPhase {
    /// Every generated alerting rule.
    pub rules: Vec<RuleView>,
    /// What both rule engines and Alertmanager showed.
    pub watched: Watched,
    /// What the webhook received.
    pub notified: Vec<Notified>,
    /// How long after the demos started the phase ended.
    pub took: Duration,
}

/// Waits until every alert [`settled`] (or [`DEADLINE`] after the demos started), failing
/// only when a process of the fleet exits.
pub async fn run_faults(
    fleet: &mut super::Fleet,
    watcher: &Watcher,
    webhook: &Webhook,
    alert_rules: &[crate::rules::AnyAlertRule],
    demos_started: Instant,
) -> Result<FaultPhase> {
    let rules = rule_views(alert_rules);
    let deadline = demos_started + DEADLINE;
    eprintln!(
        "e2e: drill: waiting (until {} s after the demos started) for every alert to fire and resolve",
        DEADLINE.as_secs()
    );
    loop {
        fleet.ensure_running()?;
        let watched = watcher.snapshot();
        let notified = webhook.received();
        if settled(&rules, &watched, &notified) || Instant::now() >= deadline {
            return Ok(FaultPhase {
                rules,
                watched,
                notified,
                took: demos_started.elapsed(),
            });
        }
        tokio::time::sleep(super::POLL).await;
    }
}

/// What the drill expects of each generated alerting rule.
fn rule_views(alert_rules: &[crate::rules::AnyAlertRule]) -> Vec<RuleView> {
    alert_rules
        .iter()
        .map(|rule| RuleView {
            expect: expect(
                &rule.name,
                rule.labels.get("long_window").map(String::as_str),
            ),
            name: rule.name.clone(),
            labels: rule.labels.clone(),
            annotations: rule.annotations.clone(),
        })
        .collect()
}

/// The drill's summary rows: Prometheus and Alertmanager (with the `outage` phrase and
/// its `problems`), vmalert, and the rules the drill does not take to the end, by reason.
pub fn checks(phase: &FaultPhase, outage: &str, mut problems: Vec<String>) -> Vec<super::Check> {
    use super::{Check, Status};
    let judgement = judge(&phase.rules, &phase.watched, &phase.notified);
    problems.extend(judgement.problems);
    let timing = match (&judgement.slowest, judgement.fastest) {
        (Some((slowest, rule)), Some(fastest)) => {
            format!("time to fire after its fault {fastest:.1} to {slowest:.1} s (slowest {rule})")
        }
        _ => "nothing fired".to_string(),
    };
    let (instances, notified, inhibited) = judgement.instances;
    let mut checks = vec![Check::new(
        "fire drill: Prometheus -> Alertmanager",
        format!(
            "fired and resolved {}/{} alerts ({instances} instances: {notified} notified \
             with the catalog's labels and links, {inhibited} inhibited at times), fired {}/{} \
             whose resolution outlasts the drill; {timing}; all resolved {:.0} s after \
             start (last {}), fault phase {:.0} s; {outage}",
            judgement.resolves.0,
            judgement.resolves.1,
            judgement.fires_only.0,
            judgement.fires_only.1,
            judgement.resolved_by.0,
            judgement.resolved_by.1,
            phase.took.as_secs_f64(),
        ),
        problems,
    )];
    checks.push(match judgement.vmalert {
        Some(vmalert) => Check::new(
            "fire drill: vmalert + VictoriaMetrics",
            format!(
                "{}/{} alert instances fired on Prometheus fired on vmalert (same label sets), \
                 fired and resolved {}/{} alerts",
                vmalert.same.0, vmalert.same.1, vmalert.resolves.0, vmalert.resolves.1
            ),
            vmalert.problems,
        ),
        None => Check {
            name: "fire drill: vmalert + VictoriaMetrics".to_string(),
            status: Status::Skipped,
            detail: "victoria-metrics is not installed".to_string(),
            problems: Vec::new(),
        },
    });
    let mut by_reason: BTreeMap<(&str, &str), Vec<String>> = BTreeMap::new();
    for rule in &phase.rules {
        let row = match rule.expect() {
            Some(Expect::FiresOnly(why)) => ("drill: fires, resolves later", why),
            Some(Expect::Unreachable(why)) => ("drill: not reached", why),
            _ => continue,
        };
        by_reason.entry(row).or_default().push(rule.id());
    }
    for ((name, why), ids) in by_reason {
        checks.push(Check {
            name: name.to_string(),
            status: Status::Skipped,
            detail: format!("{}: {why} (promtool tests cover it)", ids.join(", ")),
            problems: Vec::new(),
        });
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn rule() -> RuleView {
        RuleView {
            name: "Ticket".to_string(),
            labels: labels(&[("severity", "warning"), ("signal", "m")]),
            annotations: labels(&[
                ("summary", "Something is off."),
                ("description", "{{ $labels.job }} is at {{ $value }}."),
                ("runbook_url", "docs/runbooks/ticket.md"),
            ]),
            expect: Some(Expect::Resolves(1.0)),
        }
    }

    /// An instance of [`rule`] for job `job` as an engine or the webhook reports it.
    fn reported(job: &str) -> Reported {
        Reported {
            labels: labels(&[
                ("alertname", "Ticket"),
                ("job", job),
                ("severity", "warning"),
                ("signal", "m"),
            ]),
            annotations: labels(&[
                ("summary", "Something is off."),
                ("description", "sms is at 0.5."),
                ("runbook_url", "docs/runbooks/ticket.md"),
            ]),
            inhibited: false,
        }
    }

    fn note(status: &str, alert: &Reported, at_ms: u128) -> Notified {
        Notified {
            status: status.to_string(),
            labels: alert.labels.clone(),
            annotations: alert.annotations.clone(),
            at_ms,
        }
    }

    /// A run where `alert` fired at 2 s on both engines and resolved at 5 s, and was in
    /// Alertmanager (not inhibited).
    fn fired_and_resolved(alert: &Reported) -> Watched {
        let mut timeline = Timeline::default();
        timeline.record(&[], 1000);
        timeline.record(std::slice::from_ref(alert), 2000);
        timeline.record(std::slice::from_ref(alert), 3000);
        timeline.record(&[], 5000);
        Watched {
            prometheus: timeline.clone(),
            vmalert: Some(timeline),
            managed: [(describe(&alert.labels), false)].into_iter().collect(),
            failures: (0, String::new()),
        }
    }

    #[test]
    fn a_timeline_keeps_first_and_last_firing() {
        let alert = reported("sms");
        let watched = fired_and_resolved(&alert);
        let seen = &watched.prometheus.0[&describe(&alert.labels)];
        assert_eq!(
            (seen.first_ms, seen.last_ms, seen.firing_now),
            (2000, 3000, false)
        );
    }

    #[test]
    fn an_alert_that_fired_reached_the_webhook_and_resolved_passes() {
        let alert = reported("sms");
        let watched = fired_and_resolved(&alert);
        let notes = [note("firing", &alert, 2500), note("resolved", &alert, 5500)];
        let judged = judge(&[rule()], &watched, &notes);
        assert_eq!(judged.problems, Vec::<String>::new());
        assert_eq!((judged.resolves, judged.instances), ((1, 1), (1, 1, 0)));
        let vmalert = judged.vmalert.unwrap();
        assert_eq!((vmalert.same, vmalert.resolves), ((1, 1), (1, 1)));
        assert!(settled(&[rule()], &watched, &notes));
        // Not settled while the resolution has not been notified.
        assert!(!settled(&[rule()], &watched, &notes[..1]));
    }

    #[test]
    fn wrong_links_missing_notifications_and_other_instances_are_reported() {
        let alert = reported("sms");
        let mut watched = fired_and_resolved(&alert);
        // Still firing on Prometheus, with another runbook; vmalert fired another job.
        let mut wrong = alert.clone();
        wrong
            .annotations
            .insert("runbook_url".to_string(), "https://example.com".to_string());
        watched.prometheus = Timeline::default();
        watched.prometheus.record(&[wrong], 2000);
        watched.vmalert = Some(Timeline::default());
        let other = reported("other");
        if let Some(vmalert) = &mut watched.vmalert {
            vmalert.record(&[other], 2000);
        }
        let judged = judge(&[rule()], &watched, &[]);
        let key = describe(&alert.labels);
        assert_eq!(
            judged.problems,
            [
                format!("Ticket: still firing at the end of the drill: {key}"),
                format!(
                    "{key}: annotation runbook_url is Some(\"https://example.com\"), the catalog says \"docs/runbooks/ticket.md\""
                ),
                format!("{key}: never reached the webhook (and was never inhibited)"),
            ]
        );
        let vmalert = judged.vmalert.unwrap();
        assert_eq!(
            vmalert.problems,
            [
                format!("{key}: fired on Prometheus only"),
                format!(
                    "{}: fired on vmalert only",
                    describe(&reported("other").labels)
                ),
                "Ticket: still firing on vmalert at the end of the drill".to_string(),
            ]
        );
    }

    #[test]
    fn inhibited_alerts_need_no_notification() {
        let alert = reported("sms");
        let mut watched = fired_and_resolved(&alert);
        watched.managed.insert(describe(&alert.labels), true);
        let judged = judge(&[rule()], &watched, &[]);
        assert_eq!(judged.problems, Vec::<String>::new());
        assert_eq!(judged.instances, (1, 0, 1));
    }

    #[test]
    fn every_generated_rule_has_an_expectation_tied_to_a_fault() {
        let starts: Vec<f64> = FAULTS
            .iter()
            .map(|f| {
                let (_, window) = f.split_once(':').unwrap();
                window.split_once("..").unwrap().0.parse().unwrap()
            })
            .collect();
        let rules = rule_views(&crate::rules::every_alert_rule().unwrap());
        assert!(rules.len() > 20, "{} rules", rules.len());
        for rule in &rules {
            match rule.expect() {
                None => panic!("{}: no expectation", rule.id()),
                Some(Expect::Resolves(at)) => {
                    assert!(
                        starts.contains(&at),
                        "{}: no fault starts at {at}",
                        rule.id()
                    )
                }
                Some(_) => {}
            }
        }
    }

    #[test]
    fn rules_lose_only_their_for() {
        let text = "  - alert: A\n    expr: x > 1\n    for: 10m\n    labels:\n      for: y\n";
        assert_eq!(
            drill_rules(text),
            "  - alert: A\n    expr: x > 1\n    labels:\n      for: y\n"
        );
        // An alert the drill does not reach keeps it.
        assert!(keeps_for("SmsSourcesStalled") && !keeps_for("A"));
        let kept = "  - alert: SmsSourcesStalled\n    expr: x < 1\n    for: 10m\n";
        assert_eq!(drill_rules(kept), kept);
    }

    #[test]
    fn a_payload_lists_its_alerts() {
        let payload = serde_json::json!({
            "version": "4",
            "status": "firing",
            "alerts": [{"status": "firing", "labels": {"alertname": "A"}, "annotations": {"summary": "s"}}]
        });
        let alerts = parse_payload(&payload, 7);
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].labels["alertname"], "A");
        assert_eq!(alerts[0].annotations["summary"], "s");
        assert_eq!(alerts[0].at_ms, 7);
    }
}
