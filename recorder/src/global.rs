//! The process-wide recorder behind `recorder::inc` and friends.
//!
//! One recorder is installed per process; it serves several catalogs, and each catalog's
//! storage (`Store<C>`, kept for the rest of the process) sits in that catalog's own
//! [`catalog::Slot`], so the free functions find it with one load and one type check
//! (a `TypeId` compare, no virtual call). The series of its unlabeled and
//! all-enumerated metrics are one step closer: in each metric's own
//! [`catalog::DenseSlot`], so recording into them skips the store.

use std::any::Any;
use std::sync::atomic::{AtomicBool, Ordering};

use catalog::{LabelSet, MetricCatalog, TypedMetric};

use crate::error::Error;
use crate::recorder::Recorder;
use crate::store::Store;

/// Set by the first install: one recorder per process.
static INSTALLED: AtomicBool = AtomicBool::new(false);
static NOT_INSTALLED_LOGGED: AtomicBool = AtomicBool::new(false);

/// Claims the process-wide install; `AlreadyInstalled` the second time.
pub(crate) fn claim() -> Result<(), Error> {
    if INSTALLED.swap(true, Ordering::AcqRel) {
        Err(Error::AlreadyInstalled)
    } else {
        Ok(())
    }
}

/// True once a recorder is installed.
pub(crate) fn is_set() -> bool {
    INSTALLED.load(Ordering::Acquire)
}

/// Puts `recorder`'s storage in its catalog's slot, for good.
pub(crate) fn set<C: MetricCatalog>(recorder: Recorder<C>) -> Result<(), Error> {
    let store = recorder.leak();
    C::slot().set(store).map_err(|_| Error::AlreadyInstalled)?;
    store.install();
    Ok(())
}

/// The installed recorder's `T` cell of `M`'s series `labels`, when `M` has its series
/// up front (unlabeled or all-enumerated, published in its [`catalog::DenseSlot`]):
/// one load from the metric's own static and one index, as a cached handle. `None`
/// for every other metric, or before install: the caller takes the store's path.
#[inline(always)]
pub(crate) fn dense<'a, M: TypedMetric, T: Any + Sync>(
    labels: M::Labels<'a>,
) -> Option<&'static T> {
    if !publishes_dense::<M>() {
        return None;
    }
    let len = <M::Labels<'a> as LabelSet<'a>>::LEN;
    M::ID.dense_slot().get::<T>(len)?.get(labels.dense_index())
}

/// Whether `M`'s series are published in its [`catalog::DenseSlot`] once installed:
/// it is unlabeled or all its labels are enumerated. Known at compile time.
#[inline(always)]
pub(crate) const fn publishes_dense<M: TypedMetric>() -> bool {
    <M::Labels<'static> as LabelSet<'static>>::LEN == 0
        || <M::Labels<'static> as LabelSet<'static>>::ENUMERATED
}

/// The installed recorder for catalog `C`; logs once and returns `None` when no
/// installed recorder serves `C`, so recording is then a no-op.
#[inline]
pub(crate) fn get<C: MetricCatalog>() -> Option<&'static Store<C>> {
    let recorder = C::slot().get::<Store<C>>();
    if recorder.is_none() {
        not_installed::<C>();
    }
    recorder
}

#[cold]
fn not_installed<C: MetricCatalog>() {
    if !NOT_INSTALLED_LOGGED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            catalog = C::NAME,
            "no installed recorder serves this catalog: samples are discarded (register it with recorder::Builder::with and call install at start-up)"
        );
    }
}
