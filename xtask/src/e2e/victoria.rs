//! The VictoriaMetrics topology users move to when one Prometheus no longer holds a
//! fleet: `vmagent` scrapes the fleet and remote-writes into VictoriaMetrics (single
//! node), `vmalert` evaluates the same rule files against it and writes the recorded
//! series back. Flags of the three, and the flush that makes fresh samples queryable.
//!
//! VictoriaMetrics hides samples younger than `-search.latencyOffset` (30 s by default)
//! and buffers recent ones in memory; the run sets the offset to one second and calls
//! `/internal/force_flush` before querying.

use std::path::Path;

use anyhow::Result;

use super::prometheus::Api;

/// The binary of Debian's `victoria-metrics` package.
pub const PROGRAM: &str = "victoria-metrics";

/// The scraper of Debian's `victoria-metrics` package.
pub const AGENT: &str = "vmagent";

/// The rule evaluator of Debian's `victoria-metrics` package.
pub const ALERT: &str = "vmalert";

/// VictoriaMetrics' flags: store in `data`, serve (and accept remote writes) on
/// 127.0.0.1:`port`.
pub fn args(data: &Path, port: u16) -> Vec<String> {
    vec![
        format!("-storageDataPath={}", data.display()),
        format!("-httpListenAddr=127.0.0.1:{port}"),
        "-search.latencyOffset=1s".to_string(),
        // Cached responses from before the data arrived would hide it.
        "-search.disableCache".to_string(),
        "-loggerLevel=WARN".to_string(),
    ]
}

/// vmagent's flags: scrape as `config` says (a Prometheus config minus rule files),
/// remote-write to `victoria`, buffer in `tmp`, serve its API on 127.0.0.1:`port`.
pub fn agent_args(config: &Path, victoria: &str, tmp: &Path, port: u16) -> Vec<String> {
    vec![
        format!("-promscrape.config={}", config.display()),
        "-promscrape.config.strictParse=false".to_string(),
        format!("-remoteWrite.url={victoria}/api/v1/write"),
        format!("-remoteWrite.tmpDataPath={}", tmp.display()),
        "-remoteWrite.flushInterval=1s".to_string(),
        format!("-httpListenAddr=127.0.0.1:{port}"),
        "-loggerLevel=WARN".to_string(),
    ]
}

/// vmalert's flags: evaluate `rules` (a glob) every `interval` against `victoria`, write
/// recorded series back to it, send alerts to `notifier` (an Alertmanager API; vmalert
/// 1.79 has no way to send nowhere), serve its API on 127.0.0.1:`port`.
pub fn alert_args(
    rules: &str,
    victoria: &str,
    notifier: &str,
    interval: &str,
    port: u16,
) -> Vec<String> {
    vec![
        format!("-rule={rules}"),
        format!("-datasource.url={victoria}"),
        format!("-remoteWrite.url={victoria}"),
        format!("-notifier.url={notifier}"),
        format!("-evaluationInterval={interval}"),
        format!("-httpListenAddr=127.0.0.1:{port}"),
        "-loggerLevel=WARN".to_string(),
    ]
}

/// Makes every ingested sample searchable now.
pub async fn force_flush(api: &Api) -> Result<()> {
    api.get_text("/internal/force_flush").await.map(drop)
}
