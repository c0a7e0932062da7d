//! [`Store`]: the series of one catalog, and the paths that record into them.
//!
//! Per metric it keeps the cell of every series it has seen (`crate::cells`,
//! `crate::histogram`), so recording a seen series costs one lock-free hash lookup (see
//! `crate::series`) and one atomic operation, with no allocation and no `metrics::Key`
//! built. Metrics whose labels are all enumerated skip hashing: each value's position in
//! its allowed list indexes their series, kept side by side (`Dense`). Enumerated label
//! combinations and unlabeled metrics are created up front, so they are exposed at 0
//! from the first scrape. Cells never move and live as long as the store: handles and
//! timers point at them (`crate::cell_ref`). Misuse (label set or value not matching the catalog) panics when
//! `panic_on_misuse` is set, and otherwise is counted in the recorder's
//! `SelfMetric::SamplesDropped` and logged once per metric.
//!
//! The installed recorder's stores sit in their catalogs' slots (`crate::global`) and
//! keep their per-metric states inline; the series of an unlabeled or all-enumerated
//! metric are published in that metric's `catalog::DenseSlot` at install
//! ([`Store::install`]), so `recorder::inc` on such a metric reaches its cell from a
//! static, as a cached handle does, without reaching the store.

use std::any::Any;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use catalog::{
    CounterMetric, DropReason, GaugeMetric, HistogramMetric, LabelKey, LabelSet, LabelValues,
    MetricCatalog, MetricDef, MetricKind, OVERFLOW_VALUE,
};

use crate::cell_ref::{CellRef, Keep};
use crate::cells::{CounterCell, GaugeCell, label_pairs};
use crate::chunks::{ChunkCell, Chunks};
use crate::exposition::Writer;
use crate::handles::{
    CounterHandle, GaugeHandle, HistogramHandle, Timer, ValueGuard, report_misuse,
};
use crate::histogram::AtomicHistogram;
use crate::self_metrics::SelfMetricId;
use crate::series::{Labelled, MAX_LABELS, SeriesRef, SeriesTable, ValueIndex};

/// Longest label value, in bytes, the recorder accepts. A new series with a longer
/// value is dropped as misuse (`wrong_labels`): counted in `SelfMetric::SamplesDropped` and logged
/// once, or a panic with `panic_on_misuse`. Bounds scrape size and memory per series.
pub const MAX_LABEL_VALUE_BYTES: usize = 256;

/// A catalog's storage, whatever its catalog type.
pub(crate) trait Family: Send + Sync {
    /// Renders every (visible) metric of the catalog, in catalog order.
    fn render_into(&self, writer: &mut Writer, show_hidden: bool, renamed: RenamedMetrics);
    /// The catalog as `/catalog` serves it.
    fn export(&self) -> catalog_export::CatalogExport;
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

/// The storage of one catalog's series.
pub(crate) struct Store<C: MetricCatalog> {
    /// Inline, so the installed store's slot leads straight to a metric's state.
    metrics: C::PerMetric<MetricState<C>>,
    panic_on_misuse: bool,
    /// This store, for handles to keep it alive (see [`Store::cell_ref`]).
    me: Weak<Store<C>>,
    /// Set once this store is installed (leaked for the process).
    installed: AtomicBool,
}

impl<C: MetricCatalog> Family for Store<C> {
    fn render_into(&self, writer: &mut Writer, show_hidden: bool, renamed: RenamedMetrics) {
        let shown =
            |state: &MetricState<C>| state.enabled && (!state.def.is_hidden() || show_hidden);
        for state in self.metrics.as_ref().iter() {
            // A renamed-away metric renders the new metric's series under its own name
            // (no second storage: the same cells, read twice).
            let (series, exposed) = match state.renamed_to {
                Some(target) => {
                    let series = &self.metrics.as_ref()[target];
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
            let mut render = |cell: Cell<'_>| match cell {
                Cell::Counter(cell) => writer.counter(cell),
                Cell::Gauge(cell) => writer.gauge(cell),
                Cell::Histogram(histogram) => writer.histogram(histogram),
            };
            match &series.dense {
                // Enumerated series in catalog order of their values.
                Some(dense) => dense.for_each(render),
                None => series.table.for_each(|series| render(series.cell())),
            }
        }
    }

    fn export(&self) -> catalog_export::CatalogExport {
        let mut export = catalog_export::CatalogExport::of::<C>();
        for (metric, state) in export.metrics.iter_mut().zip(self.metrics.as_ref().iter()) {
            if state.def.feature.is_some() {
                metric.enabled = Some(state.enabled);
            }
        }
        export
    }
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
    /// Series of a metric with a free-form label, keyed by label values in catalog order.
    table: SeriesTable<Series>,
    /// Where the table's new series take their cells.
    new_cells: NewCells,
    /// For an unlabeled metric, or one whose labels are all enumerated: every series,
    /// indexed by the positions of its values in `allowed` (mixed radix, last label
    /// fastest; 0 for the one series of an unlabeled metric).
    dense: Option<Dense>,
    /// The metric's number of labels, next to `dense`: a typed label set of another
    /// length (only a hand-written `TypedMetric` has one) never indexes it.
    label_count: usize,
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
    dropped: [CellRef<CounterCell>; 3],
    overflow: CellRef<CounterCell>,
}

/// The storage of one series, owned by its metric's state: in a chunk or boxed, so it
/// never moves (handles point at it, see `crate::cell_ref`).
enum Series {
    Counter(ChunkCell<CounterCell>),
    Gauge(ChunkCell<GaugeCell>),
    Histogram(Box<AtomicHistogram>),
}

/// Where a metric's new series take their cells: counters and gauges from chunks,
/// a histogram (not cache-line aligned, buckets as given) boxed on its own.
enum NewCells {
    Counter(Chunks<CounterCell>),
    Gauge(Chunks<GaugeCell>),
    Histogram(&'static [f64]),
}

impl Series {
    fn cell(&self) -> Cell<'_> {
        match self {
            Series::Counter(cell) => Cell::Counter(cell),
            Series::Gauge(cell) => Cell::Gauge(cell),
            Series::Histogram(histogram) => Cell::Histogram(histogram),
        }
    }
}

/// The series of an unlabeled or all-enumerated metric, created up front, side by side
/// in one allocation: a series is one step from its metric's state.
enum Dense {
    Counter(Box<[CounterCell]>),
    Gauge(Box<[GaugeCell]>),
    Histogram(Box<[AtomicHistogram]>),
}

impl Dense {
    /// One series of `kind` per rendered label set, in that order.
    fn new(kind: MetricKind, labels: Vec<Box<str>>) -> Self {
        match kind {
            MetricKind::Counter => {
                Dense::Counter(labels.into_iter().map(CounterCell::new).collect())
            }
            MetricKind::Gauge => Dense::Gauge(labels.into_iter().map(GaugeCell::new).collect()),
            MetricKind::Histogram { buckets } => Dense::Histogram(
                labels
                    .iter()
                    .map(|labels| AtomicHistogram::new(buckets, labels))
                    .collect(),
            ),
        }
    }

    /// The series at `index`.
    #[inline(always)]
    fn get(&self, index: usize) -> Option<Cell<'_>> {
        match self {
            Dense::Counter(cells) => cells.get(index).map(Cell::Counter),
            Dense::Gauge(cells) => cells.get(index).map(Cell::Gauge),
            Dense::Histogram(cells) => cells.get(index).map(Cell::Histogram),
        }
    }

    fn len(&self) -> usize {
        match self {
            Dense::Counter(cells) => cells.len(),
            Dense::Gauge(cells) => cells.len(),
            Dense::Histogram(cells) => cells.len(),
        }
    }

    fn for_each(&self, mut f: impl FnMut(Cell<'_>)) {
        match self {
            Dense::Counter(cells) => cells.iter().for_each(|c| f(Cell::Counter(c))),
            Dense::Gauge(cells) => cells.iter().for_each(|c| f(Cell::Gauge(c))),
            Dense::Histogram(cells) => cells.iter().for_each(|c| f(Cell::Histogram(c))),
        }
    }
}

/// A reference to one series' cell, wherever its metric keeps it.
#[derive(Clone, Copy)]
enum Cell<'a> {
    Counter(&'a CounterCell),
    Gauge(&'a GaugeCell),
    Histogram(&'a AtomicHistogram),
}

impl Labelled for Series {
    fn labels(&self) -> &str {
        match self {
            Series::Counter(cell) => cell.labels(),
            Series::Gauge(cell) => cell.labels(),
            Series::Histogram(histogram) => histogram.labels(),
        }
    }
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

    /// Applies the operation to `series` when the series is of the kind it needs
    /// (false otherwise: the slow path reports the misuse).
    #[inline(always)]
    fn apply(self, cell: Cell<'_>) -> bool {
        match (self, cell) {
            (Op::Add(v), Cell::Counter(c)) => c.add(v),
            (Op::Add(v), Cell::Gauge(g)) => g.add(v as f64),
            (Op::Decrement, Cell::Gauge(g)) => g.add(-1.0),
            (Op::Set(v), Cell::Gauge(g)) => g.set(v),
            (Op::Observe(v), Cell::Histogram(h)) => h.observe(v),
            _ => return false,
        }
        true
    }
}

/// The self-metric cells of each metric named in `names` (`None`: a metric whose feature
/// is off, which has none), from the self catalog's states.
///
/// # Safety
///
/// `keep` keeps the store owning `self_states` alive; `None` only when the references
/// go into that store itself.
#[allow(unsafe_code)]
unsafe fn self_cells(
    self_states: &[MetricState<SelfMetricId>],
    names: &[Option<&str>],
    keep: &Keep,
) -> Vec<Option<SelfMetrics>> {
    let counter =
        |metric: SelfMetricId, values: &[&str]| match self_states[metric.index()].lookup(values) {
            // SAFETY: the cell is owned by the store of `self_states`, which `keep` keeps
            // alive, or which holds these references (this function's contract).
            Some(Cell::Counter(cell)) => unsafe { CellRef::new(cell, keep.clone()) },
            // The self catalog is fixed: counters whose labels are all enumerated, every
            // combination registered up front (`self_metrics::tests::self_metrics_are_enumerated_counters`).
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

impl<C: MetricCatalog> Store<C> {
    /// The storage of catalog `C`: every unlabeled metric and enumerated label
    /// combination registered, except for metrics whose feature is not in `features`
    /// (those stay empty: not exposed, recording a no-op). `catalog_metrics` is every
    /// enabled metric name of the recorder (the values of `CatalogMetric` labels);
    /// `self_store` the self catalog's storage, `None` when `C` is the self catalog.
    pub(crate) fn new(
        panic_on_misuse: bool,
        features: &BTreeSet<&'static str>,
        catalog_metrics: &[&'static str],
        self_store: Option<&Arc<Store<SelfMetricId>>>,
    ) -> Arc<Self> {
        let mut metrics = C::per_metric(|metric| {
            let enabled = metric.def().feature.is_none_or(|f| features.contains(f));
            MetricState::new(metric, enabled, catalog_metrics)
        });
        let names: Vec<Option<&str>> = metrics
            .as_ref()
            .iter()
            .map(|state| state.enabled.then_some(state.def.name))
            .collect();
        #[allow(unsafe_code)]
        let cells = match self_store {
            Some(store) => {
                let keep: Keep = Some(Arc::clone(store) as Arc<dyn Any + Send + Sync>);
                // SAFETY: `keep` is an `Arc` of the store owning these states.
                unsafe { self_cells(store.metrics.as_ref(), &names, &keep) }
            }
            None => {
                // `C` is the self catalog: its own states hold the cells.
                let own: &dyn Any = &metrics;
                type SelfStates =
                    <SelfMetricId as MetricCatalog>::PerMetric<MetricState<SelfMetricId>>;
                match own.downcast_ref::<SelfStates>() {
                    // SAFETY: the references go into the store these states become
                    // (the cells are boxed: moving the states moves no cell).
                    Some(states) => unsafe { self_cells(states.as_ref(), &names, &None) },
                    None => unreachable!("only the self catalog is built without self-metrics"),
                }
            }
        };
        for (state, self_metrics) in metrics.as_mut().iter_mut().zip(cells) {
            // A metric whose feature is off records nothing: it needs no cells.
            let Some(self_metrics) = self_metrics else {
                continue;
            };
            state.value_guard = Arc::new(ValueGuard {
                metric_name: state.def.name,
                dropped_invalid: self_metrics.dropped[DropReason::InvalidValue as usize].clone(),
                logged: Arc::clone(&state.misuse_logged),
                panic_on_misuse,
            });
            state.self_metrics = Some(self_metrics);
        }
        Arc::new_cyclic(|me| Store {
            metrics,
            panic_on_misuse,
            me: me.clone(),
            installed: AtomicBool::new(false),
        })
    }

    /// Marks this store as the installed one, kept for the rest of the process: its
    /// handles and timers then keep nothing alive (no reference count touched), and the
    /// series of its unlabeled and all-enumerated metrics go in their metrics'
    /// [`catalog::DenseSlot`]s, where `recorder::inc` and friends find them.
    pub(crate) fn install(&'static self) {
        self.installed.store(true, Ordering::Relaxed);
        for (metric, state) in C::ALL.iter().zip(self.metrics.as_ref()) {
            let slot = metric.dense_slot();
            let label_count = state.label_count;
            // Write-once like the catalog's slot, which this install has just taken: no
            // other store has published here.
            let published = match &state.dense {
                Some(Dense::Counter(cells)) => slot.set(cells, label_count).is_ok(),
                Some(Dense::Gauge(cells)) => slot.set(cells, label_count).is_ok(),
                Some(Dense::Histogram(cells)) => slot.set(cells, label_count).is_ok(),
                None => true,
            };
            debug_assert!(published, "{}: dense slot taken", state.def.name);
        }
    }

    /// A reference to `cell`, one of this store's cells, that keeps this store alive.
    fn cell_ref<T: Sync + 'static>(&self, cell: &T) -> CellRef<T> {
        let keep: Keep = if self.installed.load(Ordering::Relaxed) {
            None
        } else {
            self.me
                .upgrade()
                .map(|store| store as Arc<dyn Any + Send + Sync>)
        };
        // SAFETY: every caller passes a cell of this store (found in `self.metrics`);
        // `keep` holds this store, or this store is installed, and an installed store
        // is leaked for the process (`Recorder::leak`). `upgrade` cannot fail while
        // `&self` is alive: stores are only ever reached through an `Arc`.
        #[allow(unsafe_code)]
        unsafe {
            CellRef::new(cell, keep)
        }
    }
}

impl<C: MetricCatalog> Store<C> {
    /// Adds one to a counter.
    #[inline]
    pub(crate) fn inc<M: CounterMetric<Catalog = C>>(&self, metric: M, labels: M::Labels<'_>) {
        let _ = metric;
        self.record(M::ID, labels, Op::Add(1));
    }

    /// Adds `value` to a counter.
    #[inline]
    pub(crate) fn add<M: CounterMetric<Catalog = C>>(
        &self,
        metric: M,
        labels: M::Labels<'_>,
        value: u64,
    ) {
        let _ = metric;
        self.record(M::ID, labels, Op::Add(value));
    }

    /// Subtracts one from a gauge.
    #[inline]
    pub(crate) fn dec<M: GaugeMetric<Catalog = C>>(&self, metric: M, labels: M::Labels<'_>) {
        let _ = metric;
        self.record(M::ID, labels, Op::Decrement);
    }

    /// Sets a gauge.
    #[inline]
    pub(crate) fn set<M: GaugeMetric<Catalog = C>>(
        &self,
        metric: M,
        labels: M::Labels<'_>,
        value: f64,
    ) {
        let _ = metric;
        self.record(M::ID, labels, Op::Set(value));
    }

    /// Records one observation into a histogram.
    #[inline]
    pub(crate) fn observe<M: HistogramMetric<Catalog = C>>(
        &self,
        metric: M,
        labels: M::Labels<'_>,
        value: f64,
    ) {
        let _ = metric;
        self.record(M::ID, labels, Op::Observe(value));
    }

    /// Starts a timer observing elapsed seconds into a histogram when dropped.
    pub(crate) fn start_timer<M: HistogramMetric<Catalog = C>>(
        &self,
        metric: M,
        labels: M::Labels<'_>,
    ) -> Timer {
        let _ = metric;
        // Straight from the series: no intermediate handle (and its value guard) to clone
        // and drop; elapsed seconds need no value check.
        let histogram = match self.resolve(M::ID, labels, Op::Observe(0.0)) {
            Some(Cell::Histogram(histogram)) => Some(self.cell_ref(histogram)),
            _ => None,
        };
        Timer::new(histogram)
    }

    /// A cached handle to a counter series.
    pub(crate) fn counter<M: CounterMetric<Catalog = C>>(
        &self,
        metric: M,
        labels: M::Labels<'_>,
    ) -> CounterHandle {
        let _ = metric;
        match self.resolve(M::ID, labels, Op::Add(0)) {
            Some(Cell::Counter(cell)) => CounterHandle {
                inner: self.cell_ref(cell),
            },
            _ => CounterHandle::detached(),
        }
    }

    /// A cached handle to a gauge series.
    pub(crate) fn gauge<M: GaugeMetric<Catalog = C>>(
        &self,
        metric: M,
        labels: M::Labels<'_>,
    ) -> GaugeHandle {
        let _ = metric;
        match self.resolve(M::ID, labels, Op::Set(0.0)) {
            Some(Cell::Gauge(cell)) => GaugeHandle {
                inner: self.cell_ref(cell),
                guard: Some(self.value_guard(M::ID)),
            },
            _ => GaugeHandle::detached(),
        }
    }

    /// A cached handle to a histogram series.
    pub(crate) fn histogram<M: HistogramMetric<Catalog = C>>(
        &self,
        metric: M,
        labels: M::Labels<'_>,
    ) -> HistogramHandle {
        let _ = metric;
        match self.resolve(M::ID, labels, Op::Observe(0.0)) {
            Some(Cell::Histogram(histogram)) => HistogramHandle {
                inner: Some(self.cell_ref(histogram)),
                guard: Some(self.value_guard(M::ID)),
            },
            _ => HistogramHandle::detached(),
        }
    }

    /// Number of series currently registered for `metric` (see `Recorder::series_count`).
    pub(crate) fn series_count(&self, metric: C) -> usize {
        let state = self.storage(self.state(metric));
        match &state.dense {
            Some(dense) => dense.len(),
            None => state.table.len(),
        }
    }

    #[inline]
    fn state(&self, metric: C) -> &MetricState<C> {
        &self.metrics.as_ref()[metric.index()]
    }

    /// Where `state`'s series are stored: the new metric's state for a metric renamed
    /// away (validated not to be renamed itself), else `state`.
    #[inline]
    fn storage<'s>(&'s self, state: &'s MetricState<C>) -> &'s MetricState<C> {
        match state.renamed_to {
            Some(target) => &self.metrics.as_ref()[target],
            None => state,
        }
    }

    /// The hot path, inlined into each caller: an unlabeled metric or a metric whose
    /// labels are all enumerated (the typed values give the dense index directly, no
    /// string is looked at) records here; everything else (free-form labels, first
    /// touch, misuse) goes through [`Store::record_slow`].
    #[inline(always)]
    fn record<'a, L: LabelSet<'a>>(&self, metric: C, labels: L, op: Op) {
        let state = self.state(metric);
        if op.value().is_none_or(f64::is_finite) {
            // The typed API already fixes the kind; the cell's variant checks it again
            // for free (a mismatch reaches the slow path, which reports it).
            if let Some(cell) = state.dense_cell(labels)
                && op.apply(cell)
            {
                return;
            }
        }
        let mut values = [""; MAX_LABELS];
        labels.write_values(&mut values);
        self.record_slow(state, &mut values[..L::LEN], op);
    }

    /// Everything [`Store::record`] does not handle inline: checks and reports
    /// misuse, looks up runtime label values, and handles first touch.
    ///
    /// First the common case, in a function of its own (small, so its call saves few
    /// registers): a seen series of a metric with free-form labels. The cell's variant
    /// checks the kind; a miss, a renamed-away or disabled metric (whose tables are
    /// empty) and misuse go on to [`Store::record_checked`].
    #[inline(never)]
    fn record_slow(&self, state: &MetricState<C>, values: &mut [&str], op: Op) {
        if op.value().is_none_or(f64::is_finite)
            && let Some(series) = state.table.get(SeriesRef(values))
            && op.apply(series.cell())
        {
            return;
        }
        self.record_checked(state, values, op);
    }

    /// [`Store::record_slow`] past a seen free-form series: every check, then the
    /// lookup or first touch.
    #[inline(never)]
    fn record_checked(&self, state: &MetricState<C>, values: &mut [&str], op: Op) {
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
        let series = state
            .lookup(values)
            .or_else(|| self.first_touch(state, values));
        if let Some(series) = series {
            // The kind is checked above: `apply` applies.
            op.apply(series);
        }
    }

    /// Resolves the series of `metric` and `labels`, checking `op` against the kind:
    /// inline for an unlabeled or all-enumerated metric (as [`Store::record`]), else
    /// through [`Store::resolve_slow`].
    #[inline]
    fn resolve<'a, L: LabelSet<'a>>(&self, metric: C, labels: L, op: Op) -> Option<Cell<'_>> {
        let state = self.state(metric);
        // A dense cell is the state's own metric's (renamed-away metrics have none), so
        // the metric's kind is the cell's.
        match state.dense_cell(labels) {
            Some(cell) if op.fits(state.def.kind) => Some(cell),
            _ => self.resolve_slow(metric, labels, op),
        }
    }

    /// Everything [`Store::resolve`] does not handle inline.
    #[inline(never)]
    fn resolve_slow<'a, L: LabelSet<'a>>(&self, metric: C, labels: L, op: Op) -> Option<Cell<'_>> {
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
        if let Some(cell) = state.dense_cell(labels) {
            return Some(cell);
        }
        state
            .lookup(values)
            .or_else(|| self.first_touch(state, values))
    }

    /// A series not found: check its values (a metric whose labels are all enumerated
    /// has every valid series already), admit it or fold it into the overflow series,
    /// and create its storage.
    #[cold]
    fn first_touch<'s>(&self, state: &'s MetricState<C>, values: &mut [&str]) -> Option<Cell<'s>> {
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
            return self.overflow_series(state, values);
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
        let make = || state.register(values);
        if max_series == 0 || state.admitted.load(Ordering::Relaxed) < max_series {
            if let Some((series, _)) =
                state
                    .table
                    .get_or_insert(SeriesRef(values), under_bound, make)
            {
                return Some(series.cell());
            }
        }
        self.overflow(state, values)
    }

    /// Folds a series past the metric's bound into its overflow series.
    fn overflow<'s>(&self, state: &'s MetricState<C>, values: &mut [&str]) -> Option<Cell<'s>> {
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
        self.overflow_series(state, values)
    }

    /// The overflow series of the series `values`: every free-form value replaced.
    fn overflow_series<'s>(
        &self,
        state: &'s MetricState<C>,
        values: &mut [&str],
    ) -> Option<Cell<'s>> {
        for (position, value) in values.iter_mut().enumerate() {
            if state.allowed[position].is_none() {
                *value = OVERFLOW_VALUE;
            }
        }
        let key = SeriesRef(values);
        if let Some(series) = state.table.get(key) {
            return Some(series.cell());
        }
        let make = || state.register(values);
        state
            .table
            .get_or_insert(key, |_| true, make)
            .map(|(series, _)| series.cell())
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
            self.panic_on_misuse,
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
        // per combination of enumerated values. Unlabeled and all-enumerated metrics
        // keep their series outside the table.
        let combinations: usize = allowed.iter().flatten().map(|a| a.values().len()).product();
        let capacity = if renamed_to.is_none() && def.has_free_form_label() {
            def.max_series + combinations
        } else {
            0
        };
        let names: Vec<&'static str> = def.labels.iter().map(|l| l.def().name).collect();
        let mut state = MetricState {
            def,
            enabled,
            renamed_to,
            renamed_from: catalog::renamed_from(metric).is_some(),
            table: SeriesTable::with_capacity(capacity, &names),
            new_cells: match def.kind {
                MetricKind::Counter => NewCells::Counter(Chunks::default()),
                MetricKind::Gauge => NewCells::Gauge(Chunks::default()),
                MetricKind::Histogram { buckets } => NewCells::Histogram(buckets),
            },
            label_count: def.labels.len(),
            dense: None,
            allowed,
            admitted: AtomicUsize::new(0),
            self_metrics: None,
            misuse_logged: Arc::new(AtomicBool::new(false)),
            overflow_logged: AtomicBool::new(false),
            // Replaced once the self-metrics exist (see `Store::new`).
            value_guard: Arc::new(ValueGuard {
                metric_name: def.name,
                dropped_invalid: CellRef::from_static(CounterCell::detached()),
                logged: Arc::new(AtomicBool::new(false)),
                panic_on_misuse: false,
            }),
        };
        if enabled && !def.has_free_form_label() && renamed_to.is_none() {
            state.dense = Some(Dense::new(def.kind, state.all_combinations(&names)));
        }
        state
    }

    /// The rendered labels (under `names`, the metric's label names) of every
    /// combination of enumerated label values, in odometer order (last label fastest),
    /// the order `dense_cell` indexes; one empty label set for an unlabeled metric.
    fn all_combinations(&self, names: &[&str]) -> Vec<Box<str>> {
        let lists: Vec<&[&'static str]> = self
            .allowed
            .iter()
            .flatten()
            .map(ValueIndex::values)
            .collect();
        let mut positions = vec![0usize; lists.len()];
        let mut series = Vec::new();
        loop {
            let values = lists.iter().zip(&positions).map(|(l, p)| l[*p]);
            series.push(label_pairs(names.iter().copied().zip(values)));
            // Advance the odometer; stop after the last combination.
            let mut digit = lists.len();
            loop {
                if digit == 0 {
                    return series;
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
    /// The series of `labels` when the metric is unlabeled or all-enumerated and the
    /// label set is typed (the values give the dense index directly, no string is
    /// looked at); `None` otherwise.
    #[inline(always)]
    fn dense_cell<'a, L: LabelSet<'a>>(&self, labels: L) -> Option<Cell<'_>> {
        if (L::LEN == 0 || L::ENUMERATED) && L::LEN == self.label_count {
            self.dense.as_ref()?.get(labels.dense_index())
        } else {
            None
        }
    }

    /// The existing series of `values` (as many as the metric's labels), wherever the
    /// metric keeps it; `None` when it does not exist (yet, or for an enumerated label,
    /// ever: the value is not allowed).
    fn lookup(&self, values: &[&str]) -> Option<Cell<'_>> {
        if let Some(dense) = &self.dense {
            let mut index = 0;
            for (allowed, value) in self.allowed.iter().zip(values) {
                let allowed = allowed.as_ref()?;
                index = index * allowed.values().len() + allowed.position(value)?;
            }
            return dense.get(index);
        }
        self.table.get(SeriesRef(values)).map(Series::cell)
    }
}

impl<C: MetricCatalog> MetricState<C> {
    /// Creates the storage of one series. Allocates: only called on first touch.
    fn register(&self, values: &[&str]) -> Series {
        let labels = label_pairs(
            self.def
                .labels
                .iter()
                .map(|l| l.def().name)
                .zip(values.iter().copied()),
        );
        match &self.new_cells {
            NewCells::Counter(chunks) => Series::Counter(chunks.take(labels)),
            NewCells::Gauge(chunks) => Series::Gauge(chunks.take(labels)),
            NewCells::Histogram(buckets) => {
                Series::Histogram(Box::new(AtomicHistogram::new(buckets, &labels)))
            }
        }
    }
}
