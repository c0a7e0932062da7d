//! [`Recorder`]: records catalog metrics and renders them in the Prometheus text format.
//!
//! A `Recorder<C>` is a handle on two shared parts: the series of catalog `C`
//! (`crate::store::Store`, which does the recording) and what every catalog of one
//! recorder shares (`Shared`: the facade exporter, the render order, the listen address).
//!
//! One recorder serves several catalogs: each has its own [`Recorder<C>`] storage
//! (`Store<C>`), and all of them share one `Shared` (the facade exporter, the render
//! order, the listen address), so every `Recorder<C>` of a set renders the same
//! `/metrics`: every catalog in registration order, the recorder's own self-metrics
//! last, then the facade.

use std::any::Any;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use catalog::{CounterMetric, GaugeMetric, HistogramMetric, MetricCatalog};
use metrics_exporter_prometheus::PrometheusHandle;

use crate::exposition::{Format, Writer};
use crate::handles::{CounterHandle, GaugeHandle, HistogramHandle, Timer};
use crate::store::{Family, RenamedMetrics, Store};

/// Records metrics of catalog `C`. Cheap to clone (shared state).
///
/// The free functions (`recorder::inc`, ...) record into the installed instance; these
/// methods, with the same typed signatures, record into this one (tests, benchmarks,
/// embedding without a global).
pub struct Recorder<C: MetricCatalog> {
    inner: Arc<Store<C>>,
    shared: Arc<Shared>,
}

impl<C: MetricCatalog> Clone for Recorder<C> {
    fn clone(&self) -> Self {
        Recorder {
            inner: Arc::clone(&self.inner),
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<C: MetricCatalog> std::fmt::Debug for Recorder<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("catalog", &std::any::type_name::<C>())
            .field("listen_address", &self.shared.listen_address)
            .finish_non_exhaustive()
    }
}

/// What every catalog of one recorder shares: one `/metrics`, one facade.
pub(crate) struct Shared {
    /// The `metrics`-facade exporter: renders what other code records through
    /// `metrics::counter!` and friends, after the catalogs' series.
    facade: PrometheusHandle,
    /// Every catalog, in render order (the self-metrics last).
    catalogs: Vec<Registered>,
    /// Whether deprecated metrics marked hidden are rendered anyway.
    show_hidden: bool,
    /// Which names renamed metrics are exposed under.
    renamed: RenamedMetrics,
    listen_address: Option<SocketAddr>,
    /// Length of the last render: the next one reserves it up front (no regrowth).
    render_hint: AtomicUsize,
}

/// One catalog of a recorder, type-erased: rendered through `family`, found again by
/// type through `any` (the same `Store<C>`).
#[derive(Clone)]
pub(crate) struct Registered {
    family: Arc<dyn Family>,
    any: Arc<dyn Any + Send + Sync>,
}

impl Registered {
    pub(crate) fn of<C: MetricCatalog>(inner: Arc<Store<C>>) -> Self {
        Registered {
            family: Arc::clone(&inner) as Arc<dyn Family>,
            any: inner,
        }
    }
}

impl Shared {
    pub(crate) fn new(
        facade: PrometheusHandle,
        catalogs: Vec<Registered>,
        show_hidden: bool,
        renamed: RenamedMetrics,
        listen_address: Option<SocketAddr>,
    ) -> Self {
        Shared {
            facade,
            catalogs,
            show_hidden,
            renamed,
            listen_address,
            render_hint: AtomicUsize::new(0),
        }
    }

    /// Every catalog as `/catalog` serves it, with the names this recorder exposes
    /// renamed and hidden metrics under.
    pub(crate) fn export(&self) -> catalog_export::Export {
        let mut export =
            catalog_export::Export::new(self.catalogs.iter().map(|c| c.family.export()).collect());
        export.exposition = Some(catalog_export::Exposition {
            renamed_metrics: match self.renamed {
                RenamedMetrics::Both => catalog_export::RenamedNames::Both,
                RenamedMetrics::NewOnly => catalog_export::RenamedNames::NewOnly,
                RenamedMetrics::OldOnly => catalog_export::RenamedNames::OldOnly,
            },
            show_hidden_metrics: self.show_hidden,
        });
        export
    }
}

impl<C: MetricCatalog> Recorder<C> {
    /// The recorder of catalog `C` within the set `shared`.
    pub(crate) fn from_parts(inner: Arc<Store<C>>, shared: Arc<Shared>) -> Self {
        Recorder { inner, shared }
    }

    /// The recorder of another catalog `D` this recorder serves (registered with
    /// [`Builder::with`](crate::Builder::with)), sharing its `/metrics`; `None` when
    /// `D` is not one of them.
    pub fn catalog<D: MetricCatalog>(&self) -> Option<Recorder<D>> {
        Recorder::<D>::in_set(&self.shared)
    }

    /// The recorder of catalog `C` within the set `shared`, if `C` is one of its catalogs.
    pub(crate) fn in_set(shared: &Arc<Shared>) -> Option<Self> {
        shared.catalogs.iter().find_map(|registered| {
            let inner = Arc::clone(&registered.any).downcast::<Store<C>>().ok()?;
            Some(Recorder::from_parts(inner, Arc::clone(shared)))
        })
    }

    /// The set this recorder belongs to.
    pub(crate) fn shared(&self) -> Arc<Shared> {
        Arc::clone(&self.shared)
    }

    /// Every catalog this recorder serves, as `/catalog` serves them.
    pub fn export(&self) -> catalog_export::Export {
        self.shared.export()
    }

    /// Adds one to a counter.
    #[inline]
    pub fn inc<M: CounterMetric<Catalog = C>>(&self, metric: M, labels: M::Labels<'_>) {
        self.inner.inc(metric, labels);
    }

    /// Adds `value` to a counter.
    #[inline]
    pub fn add<M: CounterMetric<Catalog = C>>(&self, metric: M, labels: M::Labels<'_>, value: u64) {
        self.inner.add(metric, labels, value);
    }

    /// Subtracts one from a gauge.
    #[inline]
    pub fn dec<M: GaugeMetric<Catalog = C>>(&self, metric: M, labels: M::Labels<'_>) {
        self.inner.dec(metric, labels);
    }

    /// Sets a gauge.
    #[inline]
    pub fn set<M: GaugeMetric<Catalog = C>>(&self, metric: M, labels: M::Labels<'_>, value: f64) {
        self.inner.set(metric, labels, value);
    }

    /// Records one observation into a histogram.
    #[inline]
    pub fn observe<M: HistogramMetric<Catalog = C>>(
        &self,
        metric: M,
        labels: M::Labels<'_>,
        value: f64,
    ) {
        self.inner.observe(metric, labels, value);
    }

    /// Starts a timer observing elapsed seconds into a histogram when dropped.
    pub fn start_timer<M: HistogramMetric<Catalog = C>>(
        &self,
        metric: M,
        labels: M::Labels<'_>,
    ) -> Timer {
        self.inner.start_timer(metric, labels)
    }

    /// A cached handle to a counter series.
    pub fn counter<M: CounterMetric<Catalog = C>>(
        &self,
        metric: M,
        labels: M::Labels<'_>,
    ) -> CounterHandle {
        self.inner.counter(metric, labels)
    }

    /// A cached handle to a gauge series.
    pub fn gauge<M: GaugeMetric<Catalog = C>>(
        &self,
        metric: M,
        labels: M::Labels<'_>,
    ) -> GaugeHandle {
        self.inner.gauge(metric, labels)
    }

    /// A cached handle to a histogram series.
    pub fn histogram<M: HistogramMetric<Catalog = C>>(
        &self,
        metric: M,
        labels: M::Labels<'_>,
    ) -> HistogramHandle {
        self.inner.histogram(metric, labels)
    }

    /// Renders every series in the Prometheus text format 0.0.4: every catalog this
    /// recorder serves (registration order, the self-metrics last; each in catalog
    /// order), then anything recorded through the `metrics` facade.
    pub fn render(&self) -> String {
        self.render_as(Format::Text)
    }

    /// Renders every series in `format` (what `/metrics` serves, negotiated with
    /// [`Format::negotiate`]): every catalog this recorder serves, then anything
    /// recorded through the `metrics` facade.
    pub fn render_as(&self, format: Format) -> String {
        let shared = &*self.shared;
        let hint = shared.render_hint.load(Ordering::Relaxed);
        let mut writer = Writer::new(format, hint + hint / 16);
        for registered in &shared.catalogs {
            registered
                .family
                .render_into(&mut writer, shared.show_hidden, shared.renamed);
        }
        let text = writer.finish(&shared.facade.render());
        shared.render_hint.store(text.len(), Ordering::Relaxed);
        text
    }

    /// The address `/metrics` is served on, for an installed recorder.
    pub fn listen_address(&self) -> Option<SocketAddr> {
        self.shared.listen_address
    }

    /// Runs the facade exporter's upkeep (drains buffered samples of its histograms).
    pub(crate) fn run_upkeep(&self) {
        self.shared.facade.run_upkeep();
    }

    /// Number of series currently registered for `metric` (overflow series included;
    /// for a metric renamed away, the new metric's).
    pub fn series_count(&self, metric: impl Into<C>) -> usize {
        self.inner.series_count(metric.into())
    }

    /// This recorder's storage of `C`, kept for the rest of the process (installing
    /// a recorder is for good): what the catalog's slot holds.
    pub(crate) fn leak(self) -> &'static Store<C> {
        let kept: &'static Arc<Store<C>> = Box::leak(Box::new(self.inner));
        kept
    }
}
