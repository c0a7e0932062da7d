//! `pipeline-demo`: a simulated SMS ingest pipeline that serves every catalog metric.
//!
//! Run it for 15 seconds and scrape it meanwhile:
//!
//! ```text
//! cargo run -p pipeline-demo -- --duration 15
//! curl -s http://127.0.0.1:9464/metrics
//! ```
//!
//! Without `--duration` it runs until Ctrl-C or SIGTERM. `--help` lists every flag
//! (`--listen`, `--sources`, `--rate`, `--data-dir`, `--seed`, ...). `--fault` declares
//! a fault schedule for drills, e.g. `--fault source-connection:5..7 --fault cas-slow:10..30`
//! (see `pipeline_demo::schedule`).
//!
//! Start-up: parse flags, install the `recorder` (which serves `/metrics`), open the
//! content-addressed store and the ingest log in the data directory, seed the dedup
//! window from the log, then start one poller task per source and the gateway on a
//! blocking thread. Shutdown: stop the pollers (intake), let the gateway drain the
//! queue and fsync the ingest log, exit 0. A second signal, or a drain that outlasts
//! [`DRAIN_TIMEOUT`] (storage keeps failing, or is too slow), makes the gateway give up
//! at the next batch: the log is closed, what is still queued is reported lost, exit 1.

mod cli;

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser as _;
use pipeline_demo::cas::Cas;
use pipeline_demo::faults::{FaultPlan, Schedule};
use pipeline_demo::ingest_log::IngestLog;
use pipeline_demo::sources::{self, RemoteSource, SourceSettings};
use pipeline_demo::storage::StorageErrorType;
use pipeline_demo::{gateway, queue, schedule};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::watch;
use tracing_subscriber::EnvFilter;

use crate::cli::Cli;

/// Envelopes the queue between sources and gateway holds before sources wait.
const QUEUE_CAPACITY: usize = 1024;
/// Hashes of recently accepted envelopes remembered for deduplication.
const DEDUP_CAPACITY: usize = 100_000;
/// How long shutdown waits for the gateway to drain before asking it to give up.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Probability of a random storage fault per operation, besides the scheduled ones (well
/// under the catalog's 1 % error-ratio alerts).
const STORAGE_FAULT_PROBABILITY: f64 = 0.001;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    // Handle signals before anything is visible from outside.
    let mut signals = Signals::new()?;
    let features = pipeline_demo::features();
    if let Some(unknown) = cli
        .features
        .iter()
        .find(|f| !features.contains(&f.as_str()))
    {
        anyhow::bail!("unknown --feature {unknown:?}: the demo knows {features:?}");
    }
    let builder = features
        .iter()
        .fold(pipeline_demo::recorder_builder(), |builder, feature| {
            builder.feature(feature, cli.features.iter().any(|f| f == feature))
        });
    let recorder = builder
        .listen(cli.listen)
        .renamed_metrics(cli.renamed_metrics)
        .install()
        .map_err(|error| match error {
            recorder::Error::Listen { .. } => {
                anyhow::anyhow!("{error} (choose another address with --listen)")
            }
            other => anyhow::Error::new(other),
        })?;
    // The bound address: differs from --listen with port 0.
    let metrics_address = recorder.listen_address().unwrap_or(cli.listen);

    let temporary;
    let data_dir = match &cli.data_dir {
        Some(dir) => dir.as_path(),
        None => {
            temporary = tempfile::Builder::new()
                .prefix("pipeline-demo-")
                .tempdir()
                .context("cannot create a temporary data directory (or pass --data-dir)")?;
            temporary.path()
        }
    };
    // The clock of `--fault` windows.
    let start = std::time::Instant::now();
    let seed = cli.seed.unwrap_or_else(clock_seed);
    let mut seeds = StdRng::seed_from_u64(seed);
    let storage_faults = |seeds: &mut StdRng, first_after_ms| {
        if cli.no_faults {
            return FaultPlan::never(StorageErrorType::ALL);
        }
        let schedule = Schedule {
            first_after: Duration::from_millis(first_after_ms),
            period: Duration::from_secs(2),
            first_kind: 0,
        };
        let start = std::time::Instant::now();
        FaultPlan::new(
            StorageErrorType::ALL,
            schedule,
            start,
            STORAGE_FAULT_PROBABILITY,
            seeds.random(),
        )
    };
    let mut cas_faults = storage_faults(&mut seeds, 1500);
    let mut log_faults = storage_faults(&mut seeds, 2500);
    if !cli.fault.is_empty() {
        cas_faults = schedule::cas_plan(&cli.fault, start);
        log_faults = schedule::log_plan(&cli.fault, start);
    }
    let (cas, log, window) = open_storage(data_dir, &cli, cas_faults, log_faults)?;

    let (queue, queue_receiver) = queue::channel(QUEUE_CAPACITY);
    let give_up = Arc::new(AtomicBool::new(false));
    let gateway_give_up = Arc::clone(&give_up);
    let mut gateway = tokio::task::spawn_blocking(move || {
        gateway::run(queue_receiver, cas, log, window, &gateway_give_up)
    });
    let (stop, stopped) = watch::channel(false);
    let mut pollers = tokio::task::JoinSet::new();
    let settings = SourceSettings {
        rate: cli.rate,
        faults: !cli.no_faults,
    };
    for index in 0..usize::from(cli.sources) {
        let id = format!("provider-{}", index + 1);
        let mut source = RemoteSource::new(id.clone(), index, seeds.random(), settings);
        if !cli.fault.is_empty() {
            source = source.with_schedule(
                schedule::source_plan(&cli.fault, &id, start),
                schedule::resend_windows(&cli.fault, &id, start),
            );
        }
        let poller = sources::poll(
            source,
            queue.clone(),
            cli.request_timeout(),
            stopped.clone(),
        );
        pollers.spawn(poller);
    }
    drop(queue);
    tracing::info!(
        metrics = %format!("http://{metrics_address}/metrics"),
        data_dir = %data_dir.display(),
        sources = cli.sources,
        rate = cli.rate,
        seed,
        "pipeline running"
    );

    let reason = match cli.duration {
        Some(seconds) => tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(seconds)) => "duration elapsed",
            reason = signals.next() => reason,
        },
        None => signals.next().await,
    };
    tracing::info!("{reason}: stopping intake, draining the queue");
    stop.send_replace(true);
    let second_signal = tokio::spawn({
        let give_up = Arc::clone(&give_up);
        async move {
            let reason = signals.next().await;
            tracing::warn!("{reason} again: giving up on the drain");
            give_up.store(true, Ordering::Relaxed);
        }
    });
    let drained = match tokio::time::timeout(DRAIN_TIMEOUT, &mut gateway).await {
        Ok(drained) => drained,
        Err(_) => {
            tracing::warn!(timeout = ?DRAIN_TIMEOUT, "drain is taking too long: giving up");
            give_up.store(true, Ordering::Relaxed);
            gateway.await
        }
    };
    second_signal.abort();
    let summary = drained
        .context("the gateway thread panicked")?
        .context("gave up draining the queue: envelopes were not persisted")?;
    while let Some(poller) = pollers.join_next().await {
        poller.context("a source poller panicked")?;
    }
    tracing::info!(
        accepted = summary.accepted,
        deduplicated = summary.deduplicated,
        "queue drained, ingest log fsynced: bye"
    );
    Ok(())
}

/// Opens the CAS and the ingest log under `data_dir`, and the dedup window from the log.
fn open_storage(
    data_dir: &Path,
    cli: &Cli,
    cas_faults: FaultPlan<StorageErrorType>,
    log_faults: FaultPlan<StorageErrorType>,
) -> anyhow::Result<(Cas, IngestLog, pipeline_demo::dedup::DedupWindow)> {
    let hint = || format!("cannot open the data directory {}", data_dir.display());
    let cas = Cas::open(&data_dir.join("cas"), cas_faults).with_context(hint)?;
    let log_dir = data_dir.join("ingest-log");
    let (window, recovered) = gateway::recover_window(&log_dir, DEDUP_CAPACITY)
        .with_context(|| format!("cannot read the ingest log in {}", log_dir.display()))?;
    if recovered > 0 {
        tracing::info!(
            records = recovered,
            "dedup window seeded from the ingest log"
        );
    }
    let log = IngestLog::open(&log_dir, cli.log_rotate_size, log_faults).with_context(hint)?;
    Ok((cas, log, window))
}

/// A seed from the clock, for runs without `--seed`.
fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos() as u64)
}

/// SIGINT (Ctrl-C) and SIGTERM, registered at start-up.
struct Signals {
    interrupt: Signal,
    terminate: Signal,
}

impl Signals {
    fn new() -> anyhow::Result<Self> {
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt()).context("cannot handle SIGINT")?,
            terminate: signal(SignalKind::terminate()).context("cannot handle SIGTERM")?,
        })
    }

    /// Waits for the next signal; names it.
    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "interrupted (Ctrl-C)",
            _ = self.terminate.recv() => "SIGTERM received",
        }
    }
}
