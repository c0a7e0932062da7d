//! Command-line flags.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use pipeline_demo::schedule::FaultSpec;

/// A simulated SMS ingest pipeline that records every catalog metric and serves them
/// at http://ADDR/metrics for Prometheus.
///
/// Sources are polled over simulated HTTP (with latency, timeouts, refused connections,
/// error statuses and malformed bodies); the gateway drops duplicates and stores new
/// envelopes in a content-addressed store; an ingest log records each one, fsynced per
/// batch and rotated by size. Storage faults are injected at a low rate; real ones
/// (disk full, read-only file system) are handled the same way.
///
/// On Ctrl-C or SIGTERM it stops polling, drains the queue, fsyncs the ingest log and
/// exits 0. Logging follows RUST_LOG (default: info).
#[derive(Debug, Parser)]
#[command(version)]
pub struct Cli {
    /// Address to serve /metrics on.
    #[arg(long, value_name = "ADDR", default_value_t = recorder::DEFAULT_LISTEN)]
    pub listen: SocketAddr,

    /// Run for SECS seconds, then shut down as on SIGTERM [default: until Ctrl-C or SIGTERM].
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub duration: Option<u64>,

    /// Number of simulated sources (each is one `source_id` label value).
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=100))]
    pub sources: u16,

    /// Envelopes per second arriving at each source.
    #[arg(long, value_name = "PER_SEC", default_value_t = 25.0, value_parser = positive_number)]
    pub rate: f64,

    /// Directory for the content-addressed store and the ingest log
    /// [default: a temporary directory, removed at exit].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Seed for every random choice (latencies, failures, contents), for reproducible
    /// runs [default: drawn from the clock, and logged].
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    /// Size in bytes past which the ingest log moves on to a new file.
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024, value_parser = clap::value_parser!(u64).range(1024..))]
    pub log_rotate_size: u64,

    /// Seconds a source request may take before it fails as a timeout.
    #[arg(long, value_name = "SECS", default_value_t = 2.0, value_parser = positive_number)]
    pub request_timeout: f64,

    /// Inject no failures (real storage errors are still handled and counted).
    #[arg(long, conflicts_with = "fault")]
    pub no_faults: bool,

    /// Turn a metrics feature on (repeatable): `dedup_window_stats` exposes the
    /// deduplication window's size. Features left out are off: their metrics are absent.
    #[arg(long = "feature", value_name = "NAME")]
    pub features: Vec<String>,
    /// Names renamed metrics are exposed under while their rename lasts: `both` (dual
    /// emission), `new` (the old names stopped early), or `old` (only the names of the
    /// release before the rename: a test fixture, which `cargo xtask e2e` runs one
    /// instance of its fleet with).
    #[arg(long, value_name = "NAMES", default_value = "both", value_parser = renamed_names)]
    pub renamed_metrics: recorder::RenamedMetrics,
    /// Inject exactly this fault from FROM to UNTIL seconds after start, and no other
    /// (repeatable; replaces the start-up and random faults). KIND is one of
    /// source-timeout, source-connection, source-http_status, source-malformed,
    /// source-slow, source-resend, cas-disk_full, cas-read_only, cas-io, cas-slow,
    /// log-disk_full, log-read_only, log-io, fsync-slow; @SOURCE (e.g. @provider-1)
    /// limits a source-* fault to one source.
    #[arg(long, value_name = "KIND[@SOURCE]:FROM..UNTIL")]
    pub fault: Vec<FaultSpec>,
}

impl Cli {
    /// `--request-timeout` as a duration.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.request_timeout)
    }
}

/// Parses `both`, `new` or `old`.
fn renamed_names(text: &str) -> Result<recorder::RenamedMetrics, String> {
    match text {
        "both" => Ok(recorder::RenamedMetrics::Both),
        "new" => Ok(recorder::RenamedMetrics::NewOnly),
        "old" => Ok(recorder::RenamedMetrics::OldOnly),
        _ => Err("must be one of both, new, old".to_string()),
    }
}

/// Parses a finite number greater than zero.
fn positive_number(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() && value > 0.0 => Ok(value),
        Ok(_) => Err("must be a number greater than 0".to_string()),
        Err(error) => Err(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn flags_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn defaults() {
        let cli = Cli::try_parse_from(["pipeline-demo"]).unwrap();
        assert_eq!(cli.listen, recorder::DEFAULT_LISTEN);
        assert_eq!(cli.duration, None);
        assert_eq!(cli.sources, 4);
        assert_eq!(cli.log_rotate_size, 65536);
        assert_eq!(cli.request_timeout(), Duration::from_secs(2));
        assert!(cli.fault.is_empty());
        assert!(cli.features.is_empty());
        let cli =
            Cli::try_parse_from(["pipeline-demo", "--feature", "dedup_window_stats"]).unwrap();
        assert_eq!(cli.features, ["dedup_window_stats"]);
        assert_eq!(cli.renamed_metrics, recorder::RenamedMetrics::Both);
        let old = Cli::try_parse_from(["pipeline-demo", "--renamed-metrics", "old"]).unwrap();
        assert_eq!(old.renamed_metrics, recorder::RenamedMetrics::OldOnly);
    }

    #[test]
    fn faults_repeat_and_exclude_no_faults() {
        let cli = Cli::try_parse_from([
            "pipeline-demo",
            "--fault",
            "cas-io:1..2",
            "--fault",
            "source-slow@provider-1:3..4",
        ])
        .unwrap();
        assert_eq!(cli.fault.len(), 2);
        assert_eq!(cli.fault[1].source.as_deref(), Some("provider-1"));
        let error = Cli::try_parse_from(["pipeline-demo", "--no-faults", "--fault", "cas-io:1..2"])
            .unwrap_err();
        assert!(error.to_string().contains("--no-faults"), "{error}");
    }

    #[test]
    fn bad_values_are_rejected_naming_the_value() {
        for args in [
            ["--listen", "localhost"],
            ["--rate", "0"],
            ["--rate", "NaN"],
            ["--sources", "0"],
            ["--sources", "101"],
            ["--duration", "0"],
            ["--renamed-metrics", "neither"],
            ["--fault", "cas-io:3..1"],
        ] {
            let error = Cli::try_parse_from(["pipeline-demo", args[0], args[1]]).unwrap_err();
            assert!(
                error.to_string().contains(&format!("'{}'", args[1])),
                "{args:?}: {error}"
            );
        }
    }
}
