//! The live fire drill: the generated alerts fire through a real Alertmanager to a
//! webhook receiver in the harness, carrying the catalog's labels and links, and
//! resolve when their fault ends.
//!
//! Production rules wait minutes (`for: 10m`, rate windows of 5m and more); the drill
//! runs Prometheus on copies of the committed rule files with every `for` removed
//! ([`drill_rules`]), expressions unchanged, and Alertmanager with second-scale grouping.
//! Faults: the demo's own scheduled start-up faults (one of every error kind within
//! seconds, which pushes the young error ratios over their thresholds), then an outage
//! (every instance stopped), which makes the absence alert fire, ended by bringing one
//! instance back, which resolves it. Alerts over windows of 5 minutes and more keep a
//! fault in view for that long, so they cannot resolve within the drill. [`webhook`] is the receiver; the
//! comparison is pure ([`compare`]).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The Alertmanager program of the Debian package `prometheus-alertmanager`.
pub const PROGRAM: &str = "prometheus-alertmanager";

/// Labels of one alert.
pub type Labels = BTreeMap<String, String>;

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

/// The committed rule file `text` with every alerting rule's `for:` removed (drill
/// timing); a label or annotation named `for` stays.
pub fn drill_rules(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // Column of the keys of the alerting rule being read (`alert`, `expr`, `for`, ...).
    let mut rule_keys = None;
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        if let Some(rest) = line.trim_start().strip_prefix("- ") {
            rule_keys = rest.starts_with("alert:").then_some(indent + 2);
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
    received: Arc<Mutex<Vec<Notified>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Webhook {
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

/// Problems with how firing alerts reached the webhook: every alert Prometheus fires is
/// in Alertmanager with the same annotations; every one not inhibited reached the webhook
/// as `firing` with identical labels and annotations (severity, summary, runbook and
/// dashboard links included); no inhibited one did.
pub fn compare(
    firing: &[Reported],
    in_alertmanager: &[Reported],
    notified: &[Notified],
) -> Vec<String> {
    let mut problems = Vec::new();
    for alert in firing {
        let name = describe(&alert.labels);
        for required in ["severity", "signal"] {
            if !alert.labels.contains_key(required) {
                problems.push(format!("{name}: no `{required}` label"));
            }
        }
        for required in [
            "summary",
            "description",
            "runbook_url",
            "dashboard",
            "__panelId__",
        ] {
            if !alert.annotations.contains_key(required) {
                problems.push(format!("{name}: no `{required}` annotation"));
            }
        }
        let Some(managed) = in_alertmanager.iter().find(|a| a.labels == alert.labels) else {
            problems.push(format!(
                "{name}: firing in Prometheus, unknown to Alertmanager"
            ));
            continue;
        };
        if static_annotations(&managed.annotations) != static_annotations(&alert.annotations) {
            problems.push(format!("{name}: Alertmanager holds other annotations"));
        }
        let sent = notified
            .iter()
            .find(|n| n.status == "firing" && n.labels == alert.labels);
        match (managed.inhibited, sent) {
            (false, None) => problems.push(format!("{name}: never reached the webhook")),
            (false, Some(sent))
                if static_annotations(&sent.annotations)
                    != static_annotations(&alert.annotations) =>
            {
                problems.push(format!("{name}: the webhook got other annotations"))
            }
            (true, Some(_)) => problems.push(format!("{name}: inhibited, yet notified")),
            _ => {}
        }
    }
    problems
}

/// Annotations that do not depend on the value: all but `description`, which Prometheus
/// re-renders with `$value` at every evaluation and Alertmanager holds as last sent.
fn static_annotations(annotations: &Labels) -> Labels {
    annotations
        .iter()
        .filter(|(k, _)| *k != "description")
        .map(|(k, v)| (k.clone(), v.clone()))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn alert(name: &str, severity: &str) -> Reported {
        Reported {
            labels: labels(&[("alertname", name), ("severity", severity), ("signal", "m")]),
            annotations: labels(&[
                ("summary", "s"),
                ("description", "d"),
                ("runbook_url", "r"),
                ("dashboard", "d"),
                ("__panelId__", "1"),
            ]),
            inhibited: false,
        }
    }

    #[test]
    fn rules_lose_only_their_for() {
        let text = "  - alert: A\n    expr: x > 1\n    for: 10m\n    labels:\n      for: y\n";
        assert_eq!(
            drill_rules(text),
            "  - alert: A\n    expr: x > 1\n    labels:\n      for: y\n"
        );
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

    #[test]
    fn missing_notifications_and_broken_inhibition_are_reported() {
        let page = alert("Page", "critical");
        let ticket = alert("Ticket", "warning");
        let notified = |a: &Reported| Notified {
            status: "firing".to_string(),
            labels: a.labels.clone(),
            annotations: a.annotations.clone(),
            at_ms: 0,
        };
        let mut inhibited = ticket.clone();
        inhibited.inhibited = true;
        let managed = [page.clone(), inhibited];
        let firing = [page.clone(), ticket.clone()];
        assert_eq!(
            compare(&firing, &managed, &[notified(&page)]),
            Vec::<String>::new()
        );
        let problems = compare(&firing, &managed, &[notified(&ticket)]);
        assert_eq!(
            problems,
            [
                "Page{}: never reached the webhook",
                "Ticket{}: inhibited, yet notified"
            ]
        );
        let mut bare = page.clone();
        bare.annotations.remove("runbook_url");
        let problems = compare(&[bare], &[], &[]);
        assert_eq!(
            problems,
            [
                "Page{}: no `runbook_url` annotation",
                "Page{}: firing in Prometheus, unknown to Alertmanager"
            ]
        );
    }
}
