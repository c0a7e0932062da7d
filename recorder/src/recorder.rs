//! [`Recorder`]: records catalog metrics and renders them in the Prometheus text format.
//!
//! Per metric it keeps the cell of every series it has seen (`crate::cells`,
//! `crate::histogram`), so recording a seen series costs one lock-free hash lookup (see
//! `crate::series`) and one atomic operation, with no allocation and no `metrics::Key`
//! built. Metrics whose
//! labels are all enumerated skip hashing: each value's position in its allowed list
//! indexes a dense array of handles. Enumerated label combinations and
//! unlabeled metrics are registered up front, so they are exposed at 0 from the first
//! scrape. Misuse (label set or value not matching the catalog) panics when
//! `panic_on_misuse` is set, and otherwise is counted in the recorder's
//! `SelfMetric::SamplesDropped` and logged once per metric.
//!
//! One recorder serves several catalogs: each has its own [`Recorder<C>`] storage
//! (`Inner<C>`), and all of them share one `Shared` (the facade exporter, the render
//! order, the listen address), so every `Recorder<C>` of a set renders the same
//! `/metrics`: every catalog in registration order, the recorder's own self-metrics
//! last, then the facade.

use std::any::Any;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use catalog::{
    CounterMetric, DropReason, GaugeMetric, HistogramMetric, LabelKey, LabelSet, LabelValues,
    MetricCatalog, MetricDef, MetricKind, OVERFLOW_VALUE,
};
use metrics_exporter_prometheus::PrometheusHandle;

use crate::cells::{CounterCell, GaugeCell, label_pairs};
use crate::exposition::{Format, Writer};
use crate::handles::{
    CounterHandle, GaugeHandle, HistogramHandle, Timer, ValueGuard, report_misuse,
};
use crate::histogram::AtomicHistogram;
use crate::self_metrics::SelfMetricId;
use crate::series::{MAX_LABELS, SeriesRef, SeriesTable, ValueIndex};

/// Longest label value, in bytes, the recorder accepts. A new series with a longer
/// value is dropped as misuse (`wrong_labels`): counted in `SelfMetric::SamplesDropped` and logged
/// once, or a panic with `panic_on_misuse`. Bounds scrape size and memory per series.
pub const MAX_LABEL_VALUE_BYTES: usize = 256;

/// Records metrics of catalog `C`. Cheap to clone (shared state).
///
/// The free functions (`recorder::inc`, ...) record into the installed instance; these
/// methods, with the same typed signatures, record into this one (tests, benchmarks,
/// embedding without a global).
pub struct Recorder<C: MetricCatalog> {
    inner: Arc<Inner<C>>,
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
            .field("panic_on_misuse", &self.inner.panic_on_misuse)
            .finish_non_exhaustive()
    }
}

/// The storage of one catalog's series.
pub(crate) struct Inner<C: MetricCatalog> {
    metrics: Box<[MetricState<C>]>,
    panic_on_misuse: bool,
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
/// type through `any` (the same `Inner<C>`).
#[derive(Clone)]
pub(crate) struct Registered {
    family: Arc<dyn Family>,
    any: Arc<dyn Any + Send + Sync>,
}

impl Registered {
    pub(crate) fn of<C: MetricCatalog>(inner: Arc<Inner<C>>) -> Self {
        Registered {
            family: Arc::clone(&inner) as Arc<dyn Family>,
            any: inner,
        }
    }
}

/// A catalog's storage, whatever its catalog type.
trait Family: Send + Sync {
    /// Renders every (visible) metric of the catalog, in catalog order.
    fn render_into(&self, writer: &mut Writer, show_hidden: bool, renamed: RenamedMetrics);
    /// The catalog as `/catalog` serves it.
    fn export(&self) -> catalog_export::CatalogExport;
}

impl<C: MetricCatalog> Family for Inner<C> {
    fn render_into(&self, writer: &mut Writer, show_hidden: bool, renamed: RenamedMetrics) {
        let shown =
            |state: &MetricState<C>| state.enabled && (!state.def.is_hidden() || show_hidden);
        for state in self.metrics.iter() {
            // A renamed-away metric renders the new metric's series under its own name
            // (no second storage: the same cells, read twice).
            let (series, exposed) = match state.renamed_to {
                Some(target) => {
                    let series = &self.metrics[target];
                    let exposed = series.enabled
                        && match renamed {
                            RenamedMetrics::Both => shown(state),
                            RenamedMetrics::NewOnly => false,
                            RenamedMetrics::OldOnly => true,
                        };
                    (series, exposed)
                }
                None => (
                    state,
                    shown(state) && !(state.renamed_from && renamed == RenamedMetrics::OldOnly),
                ),
            };
            if !exposed {
                continue;
            }
            writer.family(state.def);
            let mut render = |handle: &Handle| match handle {
                Handle::Counter(cell) => writer.counter(cell),
                Handle::Gauge(cell) => writer.gauge(cell),
                Handle::Histogram(histogram) => writer.histogram(histogram),
            };
            match (&series.unlabeled, &series.dense) {
                (Some(handle), _) => render(handle),
                // Enumerated series in catalog order of their values.
                (None, Some(dense)) => dense.iter().for_each(render),
                (None, None) => series.table.for_each(render),
            }
        }
    }

    fn export(&self) -> catalog_export::CatalogExport {
        let mut export = catalog_export::CatalogExport::of::<C>();
        for (metric, state) in export.metrics.iter_mut().zip(self.metrics.iter()) {
            if state.def.feature.is_some() {
                metric.enabled = Some(state.enabled);
            }
        }
        export
    }
}

/// Which names a renamed metric is exposed under while the old one is still in the
/// catalog (deprecated with `renamed_to`): see [`crate::Builder::renamed_metrics`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RenamedMetrics {
    /// Dual emission (the default): the new name, and the old name with the same series
    /// and its deprecated HELP until the catalog hides it (or always, with
    /// [`crate::Builder::show_hidden_metrics`]).
    #[default]
    Both,
    /// Only the new name: stops the old one before the catalog hides it, once every
    /// consumer reads the new name.
    NewOnly,
    /// Only the old names, the new metric's series under its old name, as the release
    /// before the rename exposed them (the HELP still says deprecated: queries see
    /// names, not HELP). A test fixture for consumers' fallback queries (`cargo xtask
    /// e2e` runs one such instance in its fleet), not for production.
    OldOnly,
}

/// Everything the recorder keeps for one catalog metric.
struct MetricState<C: MetricCatalog> {
    def: &'static MetricDef<C>,
    /// False when the metric's feature is off: no series, nothing rendered, every
    /// recording call returns on the cold path (the hot path finds no handle).
    enabled: bool,
    /// For a metric renamed away (deprecated with `renamed_to`): the index of the new
    /// metric. Such a metric has no storage of its own: recording into it records into
    /// the new metric (on the slow path), and its name renders the new metric's series.
    renamed_to: Option<usize>,
    /// Whether a metric renamed away names this one (its series render under both names).
    renamed_from: bool,
    /// The handle of an unlabeled metric.
    unlabeled: Option<Handle>,
    /// Series of a labeled metric, keyed by label values in catalog order.
    table: SeriesTable<Handle>,
    /// For a metric whose labels are all enumerated: every series, indexed by the
    /// positions of its values in `allowed` (mixed radix, last label fastest).
    dense: Option<Box<[Handle]>>,
    /// Allowed values per label position; `None` for free-form labels.
    allowed: Box<[Option<ValueIndex>]>,
    /// Series admitted so far (overflow series excluded), for metrics with a free-form label.
    admitted: AtomicUsize,
    /// `SamplesDropped{metric=this}` per [`DropReason`], and `SeriesOverflow{metric=this}`.
    /// `None` only while the self-metrics themselves are being set up.
    self_metrics: Option<SelfMetrics>,
    misuse_logged: Arc<AtomicBool>,
    overflow_logged: AtomicBool,
    /// Shared by the metric's gauge and histogram handles (one clone per handle).
    value_guard: Arc<ValueGuard>,
}

struct SelfMetrics {
    dropped: [Arc<CounterCell>; 3],
    overflow: Arc<CounterCell>,
}

/// The storage of one series.
#[derive(Clone)]
enum Handle {
    Counter(Arc<CounterCell>),
    Gauge(Arc<GaugeCell>),
    Histogram(Arc<AtomicHistogram>),
}

/// One recording operation, checked against the metric's kind.
#[derive(Clone, Copy, Debug)]
enum Op {
    Add(u64),
    Decrement,
    Set(f64),
    Observe(f64),
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Add(_) => "inc/add",
            Op::Decrement => "dec",
            Op::Set(_) => "set",
            Op::Observe(_) => "observe",
        }
    }

    fn fits(self, kind: MetricKind) -> bool {
        matches!(
            (self, kind),
            (Op::Add(_), MetricKind::Counter | MetricKind::Gauge)
                | (Op::Decrement | Op::Set(_), MetricKind::Gauge)
                | (Op::Observe(_), MetricKind::Histogram { .. })
        )
    }

    fn value(self) -> Option<f64> {
        match self {
            Op::Set(v) | Op::Observe(v) => Some(v),
            Op::Add(_) | Op::Decrement => None,
        }
    }

    #[inline(always)]
    fn apply(self, handle: &Handle) {
        match (self, handle) {
            (Op::Add(v), Handle::Counter(c)) => c.add(v),
            (Op::Add(v), Handle::Gauge(g)) => g.add(v as f64),
            (Op::Decrement, Handle::Gauge(g)) => g.add(-1.0),
            (Op::Set(v), Handle::Gauge(g)) => g.set(v),
            (Op::Observe(v), Handle::Histogram(h)) => h.observe(v),
            // Kinds are checked before a handle is looked up.
            _ => unreachable!("operation checked against the metric kind"),
        }
    }
}

/// The self-metric cells of each metric named in `names` (`None`: a metric whose feature
/// is off, which has none), from the self catalog's states.
fn self_cells(
    self_states: &[MetricState<SelfMetricId>],
    names: &[Option<&str>],
) -> Vec<Option<SelfMetrics>> {
    let counter = |metric: SelfMetricId, values: &[&str]| match self_states[metric.index()]
        .table
        .with(SeriesRef(values), Clone::clone)
    {
        Some(Handle::Counter(c)) => c,
        // The self catalog is fixed: counters whose labels are all enumerated, every
        // combination registered up front (`tests::self_metrics_are_enumerated_counters`).
        _ => unreachable!("self-metrics are counters with enumerated labels"),
    };
    names
        .iter()
        .map(|name| {
            let name = (*name)?;
            Some(SelfMetrics {
                dropped: [
                    DropReason::WrongLabels,
                    DropReason::WrongKind,
                    DropReason::InvalidValue,
                ]
                .map(|reason| counter(SelfMetricId::SamplesDropped, &[name, reason.as_str()])),
                overflow: counter(SelfMetricId::SeriesOverflow, &[name]),
            })
        })
        .collect()
}

impl<C: MetricCatalog> Inner<C> {
    /// The storage of catalog `C`: every unlabeled metric and enumerated label
    /// combination registered, except for metrics whose feature is not in `features`
    /// (those stay empty: not exposed, recording a no-op). `catalog_metrics` is every
    /// enabled metric name of the recorder (the values of `CatalogMetric` labels);
    /// `self_states` the self catalog's storage, `None` when `C` is the self catalog.
    pub(crate) fn new(
        panic_on_misuse: bool,
        features: &BTreeSet<&'static str>,
        catalog_metrics: &[&'static str],
        self_states: Option<&Inner<SelfMetricId>>,
    ) -> Self {
        let mut metrics: Vec<MetricState<C>> = C::ALL
            .iter()
            .map(|metric| {
                let enabled = metric.def().feature.is_none_or(|f| features.contains(f));
                MetricState::new(*metric, enabled, catalog_metrics)
            })
            .collect();
        let names: Vec<Option<&str>> = metrics
            .iter()
            .map(|state| state.enabled.then_some(state.def.name))
            .collect();
        let cells = match self_states {
            Some(inner) => self_cells(&inner.metrics, &names),
            None => {
                // `C` is the self catalog: its own states hold the cells.
                let own: &dyn Any = &metrics;
                match own.downcast_ref::<Vec<MetricState<SelfMetricId>>>() {
                    Some(states) => self_cells(states, &names),
                    None => unreachable!("only the self catalog is built without self-metrics"),
                }
            }
        };
        for (state, self_metrics) in metrics.iter_mut().zip(cells) {
            // A metric whose feature is off records nothing: it needs no cells.
            let Some(self_metrics) = self_metrics else {
                continue;
            };
            state.value_guard = Arc::new(ValueGuard {
                metric_name: state.def.name,
                dropped_invalid: Arc::clone(
                    &self_metrics.dropped[DropReason::InvalidValue as usize],
                ),
                logged: Arc::clone(&state.misuse_logged),
                panic_on_misuse,
            });
            state.self_metrics = Some(self_metrics);
        }
        Inner {
            metrics: metrics.into_boxed_slice(),
            panic_on_misuse,
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
    pub(crate) fn from_parts(inner: Arc<Inner<C>>, shared: Arc<Shared>) -> Self {
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
            let inner = Arc::clone(&registered.any).downcast::<Inner<C>>().ok()?;
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
        let _ = metric;
        self.record(M::ID, labels, Op::Add(1));
    }

    /// Adds `value` to a counter.
    #[inline]
    pub fn add<M: CounterMetric<Catalog = C>>(&self, metric: M, labels: M::Labels<'_>, value: u64) {
        let _ = metric;
        self.record(M::ID, labels, Op::Add(value));
    }

    /// Subtracts one from a gauge.
    #[inline]
    pub fn dec<M: GaugeMetric<Catalog = C>>(&self, metric: M, labels: M::Labels<'_>) {
        let _ = metric;
        self.record(M::ID, labels, Op::Decrement);
    }

    /// Sets a gauge.
    #[inline]
    pub fn set<M: GaugeMetric<Catalog = C>>(&self, metric: M, labels: M::Labels<'_>, value: f64) {
        let _ = metric;
        self.record(M::ID, labels, Op::Set(value));
    }

    /// Records one observation into a histogram.
    #[inline]
    pub fn observe<M: HistogramMetric<Catalog = C>>(
        &self,
        metric: M,
        labels: M::Labels<'_>,
        value: f64,
    ) {
        let _ = metric;
        self.record(M::ID, labels, Op::Observe(value));
    }

    /// Starts a timer observing elapsed seconds into a histogram when dropped.
    pub fn start_timer<M: HistogramMetric<Catalog = C>>(
        &self,
        metric: M,
        labels: M::Labels<'_>,
    ) -> Timer {
        let _ = metric;
        // Straight from the series: no intermediate handle (and its value guard) to clone
        // and drop; elapsed seconds need no value check.
        let histogram = match self.resolve(M::ID, labels, Op::Observe(0.0)) {
            Some(Handle::Histogram(inner)) => Some(inner),
            _ => None,
        };
        Timer::new(histogram)
    }

    /// A cached handle to a counter series.
    pub fn counter<M: CounterMetric<Catalog = C>>(
        &self,
        metric: M,
        labels: M::Labels<'_>,
    ) -> CounterHandle {
        let _ = metric;
        match self.resolve(M::ID, labels, Op::Add(0)) {
            Some(Handle::Counter(inner)) => CounterHandle { inner },
            _ => CounterHandle::detached(),
        }
    }

    /// A cached handle to a gauge series.
    pub fn gauge<M: GaugeMetric<Catalog = C>>(
        &self,
        metric: M,
        labels: M::Labels<'_>,
    ) -> GaugeHandle {
        let _ = metric;
        match self.resolve(M::ID, labels, Op::Set(0.0)) {
            Some(Handle::Gauge(inner)) => GaugeHandle {
                inner,
                guard: Some(self.value_guard(M::ID)),
            },
            _ => GaugeHandle::detached(),
        }
    }

    /// A cached handle to a histogram series.
    pub fn histogram<M: HistogramMetric<Catalog = C>>(
        &self,
        metric: M,
        labels: M::Labels<'_>,
    ) -> HistogramHandle {
        let _ = metric;
        match self.resolve(M::ID, labels, Op::Observe(0.0)) {
            Some(Handle::Histogram(inner)) => HistogramHandle {
                inner: Some(inner),
                guard: Some(self.value_guard(M::ID)),
            },
            _ => HistogramHandle::detached(),
        }
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
        let state = self.storage(self.state(metric.into()));
        if state.unlabeled.is_some() {
            1
        } else {
            state.table.len()
        }
    }

    #[inline]
    fn state(&self, metric: C) -> &MetricState<C> {
        &self.inner.metrics[metric.index()]
    }

    /// Where `state`'s series are stored: the new metric's state for a metric renamed
    /// away (validated not to be renamed itself), else `state`.
    #[inline]
    fn storage<'s>(&'s self, state: &'s MetricState<C>) -> &'s MetricState<C> {
        match state.renamed_to {
            Some(target) => &self.inner.metrics[target],
            None => state,
        }
    }

    /// The hot path, inlined into each caller: an unlabeled metric or a metric whose
    /// labels are all enumerated (the typed values give the dense index directly, no
    /// string is looked at) records here; everything else (free-form labels, first
    /// touch, misuse) goes through [`Recorder::record_slow`].
    #[inline(always)]
    fn record<'a, L: LabelSet<'a>>(&self, metric: C, labels: L, op: Op) {
        let state = self.state(metric);
        if op.fits(state.def.kind) && op.value().is_none_or(f64::is_finite) {
            if L::LEN == 0 {
                if let Some(handle) = &state.unlabeled {
                    return op.apply(handle);
                }
            } else if L::ENUMERATED
                && let Some(handle) = state.dense_handle(labels.dense_index())
            {
                return op.apply(handle);
            }
        }
        let mut values = [""; MAX_LABELS];
        labels.write_values(&mut values);
        self.record_slow(state, &mut values[..L::LEN], op);
    }

    /// Everything [`Recorder::record`] does not handle inline: checks and reports
    /// misuse, looks up runtime label values, and handles first touch.
    #[inline(never)]
    fn record_slow(&self, state: &MetricState<C>, values: &mut [&str], op: Op) {
        // A metric renamed away has no storage (so the inline path always lands here):
        // it records into the new metric.
        let state = self.storage(state);
        if !state.enabled {
            return;
        }
        if !op.fits(state.def.kind) {
            return self.wrong_kind(state, op);
        }
        if let Some(value) = op.value()
            && !value.is_finite()
        {
            return self.misuse(
                state,
                DropReason::InvalidValue,
                &format!("{} of {value}: values must be finite", op.name()),
            );
        }
        if values.len() != state.def.labels.len() {
            return self.label_mismatch(state, values);
        }
        if let Some(handle) = &state.unlabeled {
            return op.apply(handle);
        }
        if state
            .table
            .with(SeriesRef(values), |handle| op.apply(handle))
            .is_none()
        {
            self.first_touch(state, values, |handle| op.apply(handle));
        }
    }

    /// Resolves the series of `metric` and `labels`, checking `op` against the kind.
    fn resolve<'a, L: LabelSet<'a>>(&self, metric: C, labels: L, op: Op) -> Option<Handle> {
        let state = self.storage(self.state(metric));
        if !state.enabled {
            // A detached handle: recording through it is a no-op too.
            return None;
        }
        if !op.fits(state.def.kind) {
            self.wrong_kind(state, op);
            return None;
        }
        let mut values = [""; MAX_LABELS];
        labels.write_values(&mut values);
        let values = &mut values[..L::LEN];
        if values.len() != state.def.labels.len() {
            self.label_mismatch(state, values);
            return None;
        }
        if let Some(handle) = &state.unlabeled {
            return Some(handle.clone());
        }
        if L::ENUMERATED
            && let Some(handle) = state.dense_handle(labels.dense_index())
        {
            return Some(handle.clone());
        }
        state
            .table
            .with(SeriesRef(values), Clone::clone)
            .or_else(|| self.first_touch(state, values, Clone::clone))
    }

    /// A series not seen yet: check its values, admit it or fold it into the overflow
    /// series, and create its storage.
    ///
    /// `f` runs on the series' handle (by reference, so folding into the overflow
    /// series, the one first-touch path that repeats at run time, clones nothing).
    #[cold]
    fn first_touch<R>(
        &self,
        state: &MetricState<C>,
        values: &mut [&str],
        f: impl FnOnce(&Handle) -> R,
    ) -> Option<R> {
        for (position, value) in values.iter().enumerate() {
            if value.len() > MAX_LABEL_VALUE_BYTES {
                let label = state.def.labels[position].def().name;
                let start: String = value.chars().take(32).collect();
                self.misuse(
                    state,
                    DropReason::WrongLabels,
                    &format!(
                        "value of label `{label}` is {} bytes, over the {MAX_LABEL_VALUE_BYTES}-byte bound (starts {start:?})",
                        value.len()
                    ),
                );
                return None;
            }
            if let Some(allowed) = &state.allowed[position]
                && allowed.position(value).is_none()
            {
                let label = state.def.labels[position].def().name;
                self.misuse(
                    state,
                    DropReason::WrongLabels,
                    &format!(
                        "value {value:?} of label `{label}` is not one of {:?}",
                        allowed.values()
                    ),
                );
                return None;
            }
        }
        // A caller-supplied overflow value is the overflow series itself: it never takes
        // a slot of the bound and is not counted as a fold.
        if (0..values.len()).any(|p| state.allowed[p].is_none() && values[p] == OVERFLOW_VALUE) {
            return self.overflow_series(state, values, f);
        }
        let max_series = state.def.max_series;
        let under_bound = |_: usize| {
            // Called under the table's insert lock: admission is race-free.
            let admitted = state.admitted.load(Ordering::Relaxed);
            let admit = max_series == 0 || admitted < max_series;
            if admit {
                state.admitted.store(admitted + 1, Ordering::Relaxed);
            }
            admit
        };
        let make = || register(state.def, values);
        if max_series == 0 || state.admitted.load(Ordering::Relaxed) < max_series {
            if let Some((handle, _)) =
                state
                    .table
                    .get_or_insert(SeriesRef(values), under_bound, make)
            {
                return Some(f(&handle));
            }
        }
        self.overflow(state, values, f)
    }

    /// Folds a series past the metric's bound into its overflow series.
    fn overflow<R>(
        &self,
        state: &MetricState<C>,
        values: &mut [&str],
        f: impl FnOnce(&Handle) -> R,
    ) -> Option<R> {
        if let Some(self_metrics) = &state.self_metrics {
            self_metrics.overflow.add(1);
        }
        // A plain load first: the flag's cache line stays shared once it is set.
        if !state.overflow_logged.load(Ordering::Relaxed)
            && !state.overflow_logged.swap(true, Ordering::Relaxed)
        {
            tracing::warn!(
                metric = state.def.name,
                max_series = state.def.max_series,
                "series bound reached: new label values are recorded as {OVERFLOW_VALUE:?} (logged once)"
            );
        }
        self.overflow_series(state, values, f)
    }

    /// The overflow series of the series `values`: every free-form value replaced.
    fn overflow_series<R>(
        &self,
        state: &MetricState<C>,
        values: &mut [&str],
        f: impl FnOnce(&Handle) -> R,
    ) -> Option<R> {
        for (position, value) in values.iter_mut().enumerate() {
            if state.allowed[position].is_none() {
                *value = OVERFLOW_VALUE;
            }
        }
        let key = SeriesRef(values);
        let mut f = Some(f);
        let mut run = |handle: &Handle| f.take().map(|f| f(handle));
        if let Some(result) = state.table.with(key, &mut run) {
            return result;
        }
        let make = || register(state.def, values);
        let (handle, _) = state.table.get_or_insert(key, |_| true, make)?;
        run(&handle)
    }

    #[cold]
    fn wrong_kind(&self, state: &MetricState<C>, op: Op) {
        self.misuse(
            state,
            DropReason::WrongKind,
            &format!("{} on a {}", op.name(), state.def.kind.type_name()),
        );
    }

    /// A typed label set of another length than the definition's labels: only a
    /// hand-written [`catalog::TypedMetric`] can get here.
    #[cold]
    fn label_mismatch(&self, state: &MetricState<C>, values: &[&str]) {
        let expected: Vec<&str> = state.def.labels.iter().map(|l| l.def().name).collect();
        self.misuse(
            state,
            DropReason::WrongLabels,
            &format!("label values {values:?} do not match the catalog's labels {expected:?}"),
        );
    }

    #[cold]
    fn misuse(&self, state: &MetricState<C>, reason: DropReason, detail: &str) {
        let dropped = state
            .self_metrics
            .as_ref()
            .map(|s| &*s.dropped[reason as usize]);
        report_misuse(
            state.def.name,
            reason,
            detail,
            self.inner.panic_on_misuse,
            dropped,
            &state.misuse_logged,
        );
    }

    /// The metric's guard against invalid values, shared by its handles.
    fn value_guard(&self, metric: C) -> Arc<ValueGuard> {
        Arc::clone(&self.storage(self.state(metric)).value_guard)
    }
}

impl<C: MetricCatalog> MetricState<C> {
    fn new(metric: C, enabled: bool, catalog_metrics: &[&'static str]) -> Self {
        let def = metric.def();
        let renamed_to = def.renamed_to().map(MetricCatalog::index);
        let allowed: Box<[Option<ValueIndex>]> = def
            .labels
            .iter()
            .map(|label| match label.def().values {
                LabelValues::OneOf(values) => Some(values.to_vec()),
                LabelValues::CatalogMetric => Some(catalog_metrics.to_vec()),
                LabelValues::FreeForm => None,
            })
            .map(|values| values.map(ValueIndex::new))
            .collect();
        // Every series the table can hold: the admitted ones plus one overflow series
        // per combination of enumerated values (all of them when nothing is free-form).
        let combinations: usize = allowed.iter().flatten().map(|a| a.values().len()).product();
        let capacity = match def.labels.len() {
            _ if renamed_to.is_some() => 0,
            0 => 0,
            _ if def.has_free_form_label() => def.max_series + combinations,
            _ => combinations,
        };
        let mut state = MetricState {
            def,
            enabled,
            renamed_to,
            renamed_from: catalog::renamed_from(metric).is_some(),
            unlabeled: (enabled && def.labels.is_empty() && renamed_to.is_none())
                .then(|| register(def, &[])),
            table: SeriesTable::with_capacity(capacity),
            dense: None,
            allowed,
            admitted: AtomicUsize::new(0),
            self_metrics: None,
            misuse_logged: Arc::new(AtomicBool::new(false)),
            overflow_logged: AtomicBool::new(false),
            // Replaced once the self-metrics exist (see `Inner::new`).
            value_guard: Arc::new(ValueGuard {
                metric_name: def.name,
                dropped_invalid: Arc::new(CounterCell::new("".into())),
                logged: Arc::new(AtomicBool::new(false)),
                panic_on_misuse: false,
            }),
        };
        if enabled && !def.labels.is_empty() && !def.has_free_form_label() && renamed_to.is_none() {
            state.dense = Some(state.register_all_combinations());
        }
        state
    }

    /// Registers every combination of enumerated label values; returns their handles
    /// in odometer order (last label fastest), the order `dense_handle` indexes.
    fn register_all_combinations(&self) -> Box<[Handle]> {
        let lists: Vec<&[&'static str]> = self
            .allowed
            .iter()
            .flatten()
            .map(ValueIndex::values)
            .collect();
        let mut positions = vec![0usize; lists.len()];
        let mut handles = Vec::new();
        loop {
            let values: Vec<&str> = lists.iter().zip(&positions).map(|(l, p)| l[*p]).collect();
            let make = || register(self.def, &values);
            if let Some((handle, _)) = self.table.get_or_insert(SeriesRef(&values), |_| true, make)
            {
                handles.push(handle);
            }
            // Advance the odometer; stop after the last combination.
            let mut digit = lists.len();
            loop {
                if digit == 0 {
                    return handles.into_boxed_slice();
                }
                digit -= 1;
                positions[digit] += 1;
                if positions[digit] < lists[digit].len() {
                    break;
                }
                positions[digit] = 0;
            }
        }
    }
}

impl<C: MetricCatalog> MetricState<C> {
    /// The series at `index` of a metric whose labels are all enumerated (see
    /// [`LabelSet::dense_index`]); `None` for other metrics.
    #[inline]
    fn dense_handle(&self, index: usize) -> Option<&Handle> {
        self.dense.as_deref()?.get(index)
    }
}

/// Creates the storage of one series. Allocates: only called on first touch.
fn register<C: MetricCatalog>(def: &'static MetricDef<C>, values: &[&str]) -> Handle {
    let labels = label_pairs(
        def.labels
            .iter()
            .map(|l| l.def().name)
            .zip(values.iter().copied()),
    );
    match def.kind {
        MetricKind::Counter => Handle::Counter(Arc::new(CounterCell::new(labels))),
        MetricKind::Gauge => Handle::Gauge(Arc::new(GaugeCell::new(labels))),
        MetricKind::Histogram { buckets } => {
            Handle::Histogram(Arc::new(AtomicHistogram::new(buckets, &labels)))
        }
    }
}
