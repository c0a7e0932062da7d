//! Typed metrics: what `recorder::inc(Metric::X, labels)` checks at compile time.
//!
//! `#[catalog::metrics]` gives every metric its own zero-sized type, reachable as the
//! constant `Metric::X`. The type knows its id, its label set ([`TypedMetric::Labels`])
//! and its kind (one of [`CounterMetric`], [`GaugeMetric`], [`HistogramMetric`]), so a
//! recording call with the wrong labels or for the wrong kind does not compile.

use crate::labels::LabelSet;
use crate::model::{MetricCatalog, MetricDef};

/// A metric of a catalog, as a type.
pub trait TypedMetric: Copy + Send + Sync + 'static {
    /// The catalog it belongs to.
    type Catalog: MetricCatalog;

    /// Its label values, in declared order: `()`, one label type or a tuple.
    type Labels<'a>: LabelSet<'a>;

    /// Its id in the catalog.
    const ID: Self::Catalog;
}

/// A counter: `inc`, `add` and `counter` handles.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a counter",
    label = "not a counter",
    note = "`inc`, `add` and `counter` take a counter; a gauge takes `set`, `dec` or `gauge`, a histogram `observe`, `start_timer` or `histogram`"
)]
pub trait CounterMetric: TypedMetric {}

/// A gauge: `set`, `dec` and `gauge` handles.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a gauge",
    label = "not a gauge",
    note = "`set`, `dec` and `gauge` take a gauge; a counter takes `inc`, `add` or `counter`, a histogram `observe`, `start_timer` or `histogram`"
)]
pub trait GaugeMetric: TypedMetric {}

/// A histogram: `observe`, `start_timer` and `histogram` handles.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a histogram",
    label = "not a histogram",
    note = "`observe`, `start_timer` and `histogram` take a histogram; a counter takes `inc`, `add` or `counter`, a gauge `set`, `dec` or `gauge`"
)]
pub trait HistogramMetric: TypedMetric {}

impl<C: MetricCatalog> MetricDef<C> {
    /// Links an error counter to the counter of successes of the same operation
    /// (`Metric::X`, the typed constant).
    pub const fn success_twin<M: TypedMetric<Catalog = C>>(mut self, success: M) -> Self {
        let _ = success;
        self.success_twin = Some(M::ID);
        self
    }
}
