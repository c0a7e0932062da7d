//! [`Builder`]: validates the catalogs, builds the recorder and serves `/metrics`.
//!
//! A recorder serves a primary catalog `C`, any others registered with
//! [`Builder::with`] (a library's own catalog), and always the recorder's own
//! self-metrics ([`SelfMetric`](crate::SelfMetric)), last. Start-up refuses a catalog
//! registered twice and two catalogs exposing the same name, naming both.

use std::any::TypeId;
use std::collections::{BTreeMap, BTreeSet};
use std::marker::PhantomData;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use catalog::MetricCatalog;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};

use crate::error::Error;
use crate::recorder::{Recorder, Registered, Shared};
use crate::self_metrics::SelfMetricId;
use crate::series::MAX_LABELS;
use crate::server;
use crate::store::{RenamedMetrics, Store};

/// Default `/metrics` address: loopback only, never all interfaces unless asked.
pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 9464);

/// Configures and installs a [`Recorder`] for catalog `C` and the catalogs added with
/// [`Builder::with`].
///
/// ```no_run
/// # async fn run() -> Result<(), recorder::Error> {
/// let recorder = recorder::Builder::<catalog::MetricId>::new()
///     .listen("127.0.0.1:9464".parse().unwrap())
///     .install()?;
/// # Ok(()) }
/// ```
pub struct Builder<C: MetricCatalog> {
    listen: SocketAddr,
    panic_on_misuse: bool,
    show_hidden_metrics: bool,
    renamed_metrics: RenamedMetrics,
    upkeep_interval: Duration,
    limits: server::Limits,
    /// The catalogs after `C`, in registration order.
    others: Vec<Box<dyn Catalog>>,
    /// Every feature named with [`Builder::feature`], and whether it is on.
    features: BTreeMap<&'static str, bool>,
    _catalog: PhantomData<C>,
}

impl<C: MetricCatalog> std::fmt::Debug for Builder<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let others: Vec<&str> = self.others.iter().map(|c| c.name()).collect();
        f.debug_struct("Builder")
            .field("catalog", &C::NAME)
            .field("others", &others)
            .field("listen", &self.listen)
            .field("panic_on_misuse", &self.panic_on_misuse)
            .field("show_hidden_metrics", &self.show_hidden_metrics)
            .field("limits", &self.limits)
            .field("features", &self.features)
            .finish_non_exhaustive()
    }
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
            others: Vec::new(),
            features: BTreeMap::new(),
            _catalog: PhantomData,
        }
    }

    /// Turns service feature `feature` on or off (off by default): the metrics declared
    /// with `.feature(..)` of that name are exposed only while it is on; while it is
    /// off, recording them is a no-op and `/catalog` says `"enabled": false`. A
    /// feature no served metric declares is refused at start-up (`UnknownFeature`).
    pub fn feature(mut self, feature: &'static str, on: bool) -> Self {
        self.features.insert(feature, on);
        self
    }

    /// Serves catalog `D` too, on the same `/metrics` and `/catalog`, after the catalogs
    /// registered before it: one call per library catalog the service uses. Once
    /// installed, `recorder::inc(D's metric, ..)` records into it; a built or served
    /// recorder hands it out with [`Recorder::catalog`].
    pub fn with<D: MetricCatalog>(mut self) -> Self {
        self.others.push(Box::new(CatalogOf::<D>(PhantomData)));
        self
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

    /// Validates the catalogs and builds a recorder that is neither global nor served:
    /// for tests and for embedding (render it with [`Recorder::render`]).
    pub fn build(self) -> Result<Recorder<C>, Error> {
        self.check()?;
        let facade = self.facade_builder()?.build_recorder();
        Ok(self.recorder(&facade, None))
    }

    /// Validates the catalogs, serves `/metrics` on the listen address, installs the
    /// recorder as the target of the `recorder::inc`-style functions for every catalog
    /// it serves and as the global `metrics` recorder (when none is installed yet) for
    /// what other code records through the `metrics` facade, and runs that exporter's
    /// upkeep. One install per process: the second is `AlreadyInstalled`.
    ///
    /// Inside a Tokio runtime the server runs on it; otherwise on a thread of its own.
    /// The bound address (useful with port 0) is [`Recorder::listen_address`].
    pub fn install(self) -> Result<Recorder<C>, Error> {
        self.check()?;
        if crate::global::is_set() {
            return Err(Error::AlreadyInstalled);
        }
        let (listener, bound) = self.bind()?;
        let facade = self.facade_builder()?.build_recorder();
        let recorder = self.recorder(&facade, Some(bound));
        crate::global::claim()?;
        crate::global::set(recorder.clone())?;
        for other in &self.others {
            other.install(&recorder.shared())?;
        }
        if metrics::set_global_recorder(facade).is_err() {
            tracing::warn!(
                "another `metrics` recorder is installed: `metrics::counter!` and friends keep going there"
            );
        }
        self.spawn_server(listener, &recorder, bound)?;
        Ok(recorder)
    }

    /// Validates the catalogs and serves `/metrics` on the listen address, like
    /// [`Builder::install`], but installs nothing globally: record through the returned
    /// recorder (the `recorder::inc`-style functions do not reach it). For embedding
    /// several recorders in one process, and for tests.
    pub fn serve(self) -> Result<Recorder<C>, Error> {
        self.check()?;
        let (listener, bound) = self.bind()?;
        let facade = self.facade_builder()?.build_recorder();
        let recorder = self.recorder(&facade, Some(bound));
        self.spawn_server(listener, &recorder, bound)?;
        Ok(recorder)
    }

    /// Every catalog served, in render order: `C`, the others, the self-metrics.
    fn catalogs(&self) -> Vec<&dyn Catalog> {
        let mut all: Vec<&dyn Catalog> = vec![&CatalogOf::<C>(PhantomData)];
        all.extend(self.others.iter().map(|c| &**c));
        all.push(&CatalogOf::<SelfMetricId>(PhantomData));
        all
    }

    /// Each catalog valid, none registered twice, no exposed name written by two.
    fn check(&self) -> Result<(), Error> {
        let catalogs = self.catalogs();
        for (position, catalog) in catalogs.iter().enumerate() {
            if catalogs[..position]
                .iter()
                .any(|earlier| earlier.id() == catalog.id() || earlier.name() == catalog.name())
            {
                return Err(Error::DuplicateCatalog {
                    catalog: catalog.name(),
                });
            }
        }
        for catalog in &catalogs {
            let problems = catalog.problems();
            if !problems.is_empty() {
                return Err(Error::InvalidCatalog {
                    catalog: catalog.name(),
                    problems,
                });
            }
        }
        let declared: Vec<&str> = catalogs.iter().flat_map(|c| c.features()).collect();
        if let Some(feature) = self.features.keys().find(|f| !declared.contains(f)) {
            return Err(Error::UnknownFeature {
                feature: (*feature).to_string(),
                declared: declared.iter().map(|f| f.to_string()).collect(),
            });
        }
        let mut exposed: BTreeMap<String, &'static str> = BTreeMap::new();
        for catalog in &catalogs {
            for (name, metric) in catalog.exposed() {
                match exposed.get(&name) {
                    Some(&first) => {
                        return Err(Error::NameCollision {
                            name,
                            metric,
                            first,
                            second: catalog.name(),
                        });
                    }
                    None => {
                        exposed.insert(name, catalog.name());
                    }
                }
            }
        }
        Ok(())
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

    /// The recorder this builder configures (every catalog's storage, one shared
    /// render), rendering `facade` after the catalogs' series.
    fn recorder(
        &self,
        facade: &metrics_exporter_prometheus::PrometheusRecorder,
        listen_address: Option<SocketAddr>,
    ) -> Recorder<C> {
        // Calibrates the timers' clock (`quanta`, see `Timer`) now, not in the first
        // timer: the first reading of its global clock measures the time-stamp counter.
        let _ = quanta::Instant::now();
        let catalogs = self.catalogs();
        let on: BTreeSet<&'static str> = self
            .features
            .iter()
            .filter(|(_, on)| **on)
            .map(|(feature, _)| *feature)
            .collect();
        let names: Vec<&'static str> = catalogs.iter().flat_map(|c| c.metric_names(&on)).collect();
        let self_metrics = Store::<SelfMetricId>::new(self.panic_on_misuse, &on, &names, None);
        let primary = Store::<C>::new(self.panic_on_misuse, &on, &names, Some(&self_metrics));
        let mut registered = vec![Registered::of(Arc::clone(&primary))];
        registered.extend(
            self.others
                .iter()
                .map(|other| other.build(self.panic_on_misuse, &on, &names, &self_metrics)),
        );
        registered.push(Registered::of(self_metrics));
        let shared = Arc::new(Shared::new(
            facade.handle(),
            registered,
            self.show_hidden_metrics,
            self.renamed_metrics,
            listen_address,
        ));
        Recorder::from_parts(primary, shared)
    }

    /// The `metrics`-facade exporter. Catalog histograms get their catalog buckets
    /// there too, so a catalog histogram that other code records through the facade (a
    /// library calling `metrics::histogram!`, or a benchmark comparing with the facade)
    /// is a real histogram with the same buckets, not a summary.
    fn facade_builder(&self) -> Result<PrometheusBuilder, Error> {
        let mut builder = PrometheusBuilder::new();
        for catalog in self.catalogs() {
            for (name, buckets) in catalog.buckets() {
                builder = builder
                    .set_buckets_for_metric(Matcher::Full(name.to_string()), buckets)
                    .map_err(|e| Error::Server(format!("buckets of `{name}`: {e}")))?;
            }
        }
        Ok(builder)
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

/// One catalog a builder serves, whatever its type.
trait Catalog: Send + Sync {
    fn id(&self) -> TypeId;
    fn name(&self) -> &'static str;
    /// The names of the metrics exposed with the features `on`.
    fn metric_names(&self, on: &BTreeSet<&'static str>) -> Vec<&'static str>;
    /// Every feature a metric of the catalog depends on.
    fn features(&self) -> Vec<&'static str>;
    /// Every family name the catalog exposes, with the metric exposing it.
    fn exposed(&self) -> Vec<(String, &'static str)>;
    /// Catalog validation plus the recorder's own limits.
    fn problems(&self) -> Vec<catalog::Problem>;
    fn buckets(&self) -> Vec<(&'static str, &'static [f64])>;
    fn build(
        &self,
        panic_on_misuse: bool,
        features: &BTreeSet<&'static str>,
        names: &[&'static str],
        self_metrics: &Arc<Store<SelfMetricId>>,
    ) -> Registered;
    /// Puts this catalog's recorder of the set `shared` in the catalog's slot.
    fn install(&self, shared: &Arc<Shared>) -> Result<(), Error>;
}

struct CatalogOf<D>(PhantomData<fn() -> D>);

impl<D: MetricCatalog> Catalog for CatalogOf<D> {
    fn id(&self) -> TypeId {
        TypeId::of::<D>()
    }

    fn name(&self) -> &'static str {
        D::NAME
    }

    fn metric_names(&self, on: &BTreeSet<&'static str>) -> Vec<&'static str> {
        D::ALL
            .iter()
            .map(|m| m.def())
            .filter(|d| d.feature.is_none_or(|f| on.contains(f)))
            .map(|d| d.name)
            .collect()
    }

    fn features(&self) -> Vec<&'static str> {
        D::ALL.iter().filter_map(|m| m.def().feature).collect()
    }

    fn exposed(&self) -> Vec<(String, &'static str)> {
        // A histogram's `_bucket`, `_sum` and `_count` cannot collide with another
        // valid metric: validation reserves those suffixes.
        D::ALL
            .iter()
            .map(|m| (m.def().name.to_string(), m.def().name))
            .collect()
    }

    fn problems(&self) -> Vec<catalog::Problem> {
        let mut problems = catalog::validate::<D>().err().unwrap_or_default();
        for metric in D::ALL {
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
        problems
    }

    fn buckets(&self) -> Vec<(&'static str, &'static [f64])> {
        D::ALL
            .iter()
            .filter_map(|m| Some((m.def().name, m.def().buckets()?)))
            .collect()
    }

    fn build(
        &self,
        panic_on_misuse: bool,
        features: &BTreeSet<&'static str>,
        names: &[&'static str],
        self_metrics: &Arc<Store<SelfMetricId>>,
    ) -> Registered {
        Registered::of(Store::<D>::new(
            panic_on_misuse,
            features,
            names,
            Some(self_metrics),
        ))
    }

    fn install(&self, shared: &Arc<Shared>) -> Result<(), Error> {
        let recorder = Recorder::<D>::in_set(shared)
            .ok_or_else(|| Error::Server(format!("catalog `{}` was not built", D::NAME)))?;
        crate::global::set(recorder)
    }
}
