//! [`Builder`]: validates the catalog, builds the recorder and serves `/metrics`.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use catalog::MetricCatalog;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};

use crate::error::Error;
use crate::recorder::{Recorder, RenamedMetrics};
use crate::series::MAX_LABELS;
use crate::server;

/// Default `/metrics` address: loopback only, never all interfaces unless asked.
pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 9464);

/// Configures and installs a [`Recorder`] for catalog `C`.
///
/// ```no_run
/// # async fn run() -> Result<(), recorder::Error> {
/// let recorder = recorder::Builder::<catalog::MetricId>::new()
///     .listen("127.0.0.1:9464".parse().unwrap())
///     .install()?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Builder<C: MetricCatalog> {
    listen: SocketAddr,
    panic_on_misuse: bool,
    show_hidden_metrics: bool,
    renamed_metrics: RenamedMetrics,
    upkeep_interval: Duration,
    limits: server::Limits,
    _catalog: std::marker::PhantomData<C>,
}

impl<C: MetricCatalog> Default for Builder<C> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C: MetricCatalog> Builder<C> {
    /// Defaults: listen on [`DEFAULT_LISTEN`], panic on misuse in debug builds only,
    /// upkeep every 5 s, a 10 s header read timeout and at most 64 connections.
    pub fn new() -> Self {
        Builder {
            listen: DEFAULT_LISTEN,
            panic_on_misuse: cfg!(debug_assertions),
            show_hidden_metrics: false,
            renamed_metrics: RenamedMetrics::Both,
            upkeep_interval: Duration::from_secs(5),
            limits: server::Limits::default(),
            _catalog: std::marker::PhantomData,
        }
    }

    /// Address `/metrics` is served on (by [`Builder::install`]).
    pub fn listen(mut self, address: SocketAddr) -> Self {
        self.listen = address;
        self
    }

    /// How long a `/metrics` client may take to send its request head (default 10 s;
    /// at least 1 ms). A connection that has not sent a complete head by then is
    /// closed, however slowly it trickles bytes in; so is a kept-alive connection idle
    /// that long, which a scraper simply reopens.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.limits.header_read_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Most `/metrics` connections served at once (default 64; at least 1). A
    /// connection past it gets `503` and is closed; each burst of refusals is logged
    /// once.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.limits.max_connections = connections.clamp(1, tokio::sync::Semaphore::MAX_PERMITS);
        self
    }

    /// Render deprecated metrics marked hidden too (off by default), as Kubernetes'
    /// `--show-hidden-metrics-for-version` does: the escape hatch while consumers migrate.
    pub fn show_hidden_metrics(mut self, show: bool) -> Self {
        self.show_hidden_metrics = show;
        self
    }

    /// Which names a renamed metric is exposed under while its old name is in the
    /// catalog: both (default: dual emission, one recording call feeds both names), only
    /// the new one (to stop the old name early, before the catalog hides it), or only
    /// the old one (a test fixture imitating the release before the rename).
    pub fn renamed_metrics(mut self, renamed: RenamedMetrics) -> Self {
        self.renamed_metrics = renamed;
        self
    }

    /// Whether misuse panics (default: in debug builds) or is counted and logged.
    pub fn panic_on_misuse(mut self, panic: bool) -> Self {
        self.panic_on_misuse = panic;
        self
    }

    /// Validates the catalog and builds a recorder that is neither global nor served:
    /// for tests and for embedding (render it with [`Recorder::render`]).
    pub fn build(self) -> Result<Recorder<C>, Error> {
        validate::<C>()?;
        let facade = facade_builder::<C>()?.build_recorder();
        Ok(self.recorder(&facade, None))
    }

    /// Validates the catalog, serves `/metrics` on the listen address, installs the
    /// recorder as the target of the `recorder::inc`-style functions and as the global
    /// `metrics` recorder (when none is installed yet) for what other code records
    /// through the `metrics` facade, and runs that exporter's upkeep.
    ///
    /// Inside a Tokio runtime the server runs on it; otherwise on a thread of its own.
    /// The bound address (useful with port 0) is [`Recorder::listen_address`].
    pub fn install(self) -> Result<Recorder<C>, Error> {
        validate::<C>()?;
        if crate::global::is_set() {
            return Err(Error::AlreadyInstalled);
        }
        let (listener, bound) = self.bind()?;
        let facade = facade_builder::<C>()?.build_recorder();
        let recorder = self.recorder(&facade, Some(bound));
        crate::global::set(recorder.clone())?;
        if metrics::set_global_recorder(facade).is_err() {
            tracing::warn!(
                "another `metrics` recorder is installed: `metrics::counter!` and friends keep going there"
            );
        }
        self.spawn_server(listener, &recorder, bound)?;
        Ok(recorder)
    }

    /// Validates the catalog and serves `/metrics` on the listen address, like
    /// [`Builder::install`], but installs nothing globally: record through the returned
    /// recorder (the `recorder::inc`-style functions do not reach it). For embedding
    /// several recorders in one process, and for tests.
    pub fn serve(self) -> Result<Recorder<C>, Error> {
        validate::<C>()?;
        let (listener, bound) = self.bind()?;
        let facade = facade_builder::<C>()?.build_recorder();
        let recorder = self.recorder(&facade, Some(bound));
        self.spawn_server(listener, &recorder, bound)?;
        Ok(recorder)
    }

    /// Serves `recorder` on `listener` (bound to `bound`) with this builder's limits.
    fn spawn_server(
        &self,
        listener: std::net::TcpListener,
        recorder: &Recorder<C>,
        bound: SocketAddr,
    ) -> Result<(), Error> {
        server::spawn(
            listener,
            recorder.clone(),
            self.upkeep_interval,
            self.limits,
        )?;
        tracing::info!("serving metrics at http://{bound}/metrics");
        Ok(())
    }

    /// The recorder this builder configures, rendering `facade` after its own series.
    fn recorder(
        &self,
        facade: &metrics_exporter_prometheus::PrometheusRecorder,
        listen_address: Option<SocketAddr>,
    ) -> Recorder<C> {
        Recorder::new(
            facade.handle(),
            self.panic_on_misuse,
            self.show_hidden_metrics,
            self.renamed_metrics,
            listen_address,
        )
    }

    /// Binds the listen address; returns the listener and the bound address.
    fn bind(&self) -> Result<(std::net::TcpListener, SocketAddr), Error> {
        let address = self.listen;
        let listener = std::net::TcpListener::bind(address).map_err(|e| Error::Listen {
            address,
            reason: e.to_string(),
        })?;
        let bound = listener.local_addr().map_err(|e| Error::Listen {
            address,
            reason: e.to_string(),
        })?;
        Ok((listener, bound))
    }
}

/// Catalog validation plus the recorder's own limits.
fn validate<C: MetricCatalog>() -> Result<(), Error> {
    let mut problems = catalog::validate::<C>().err().unwrap_or_default();
    for metric in C::ALL {
        let def = metric.def();
        if def.labels.len() > MAX_LABELS {
            problems.push(catalog::Problem {
                metric: def.name.to_string(),
                rule: "recorder-max-labels",
                message: format!(
                    "{} labels; the recorder supports at most {MAX_LABELS}",
                    def.labels.len()
                ),
            });
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::InvalidCatalog(problems))
    }
}

/// The `metrics`-facade exporter. Catalog histograms get their catalog buckets there
/// too, so a catalog histogram that other code records through the facade (a library
/// calling `metrics::histogram!`, or a benchmark comparing with the facade) is a real
/// histogram with the same buckets, not a summary.
fn facade_builder<C: MetricCatalog>() -> Result<PrometheusBuilder, Error> {
    let mut builder = PrometheusBuilder::new();
    for metric in C::ALL {
        let def = metric.def();
        if let Some(buckets) = def.buckets() {
            builder = builder
                .set_buckets_for_metric(Matcher::Full(def.name.to_string()), buckets)
                .map_err(|e| Error::Server(format!("buckets of `{}`: {e}", def.name)))?;
        }
    }
    Ok(builder)
}
