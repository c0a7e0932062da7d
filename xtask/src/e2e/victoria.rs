//! VictoriaMetrics (single node) scraping the same fleet: flags and the flush that makes
//! fresh samples queryable.
//!
//! VictoriaMetrics hides samples younger than `-search.latencyOffset` (30 s by default)
//! and buffers recent ones in memory; the run sets the offset to one second and calls
//! `/internal/force_flush` before querying.

use std::path::Path;

use anyhow::Result;

use super::prometheus::Api;

/// The binary of Debian's `victoria-metrics` package.
pub const PROGRAM: &str = "victoria-metrics";

/// Command-line flags: scrape `config`, store in `data`, serve on 127.0.0.1:`port`.
pub fn args(config: &Path, data: &Path, port: u16) -> Vec<String> {
    vec![
        format!("-promscrape.config={}", config.display()),
        // The config is Prometheus's minus rule_files; keep parsing lenient anyway.
        "-promscrape.config.strictParse=false".to_string(),
        format!("-storageDataPath={}", data.display()),
        format!("-httpListenAddr=127.0.0.1:{port}"),
        "-search.latencyOffset=1s".to_string(),
        // Cached responses from before the data arrived would hide it.
        "-search.disableCache".to_string(),
        "-loggerLevel=WARN".to_string(),
    ]
}

/// Makes every ingested sample searchable now.
pub async fn force_flush(api: &Api) -> Result<()> {
    api.get_text("/internal/force_flush").await.map(drop)
}
