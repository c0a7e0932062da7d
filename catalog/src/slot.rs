//! [`Slot`]: where a recorder installs itself for one catalog; [`DenseSlot`]: where it
//! publishes the series of one metric that has them all up front.
//!
//! `#[catalog::metrics]` gives every catalog its own static slot
//! ([`MetricCatalog::slot`](crate::MetricCatalog::slot)), so a process can install one
//! recorder serving several catalogs and `recorder::inc(Metric::X, ..)` finds the
//! recorder of `Metric::X`'s catalog with one load and one type check: no map, no lock,
//! no virtual call (the type is checked against a `TypeId` stored next to the pointer,
//! not through `Any`'s vtable). A metric that is unlabeled or has only enumerated labels
//! also gets a [`DenseSlot`] of its own ([`MetricCatalog::dense_slot`](crate::MetricCatalog::dense_slot),
//! a static at a constant address for a constant metric): the installed recorder puts
//! that metric's series there, so `recorder::inc(Metric::X, labels)` on such a metric
//! reaches its series with one load, as a cached handle does. The catalog crate only
//! holds the slots; what goes in them is the recorder's business.

use std::any::{Any, TypeId};
use std::fmt;
use std::ptr::NonNull;
use std::sync::OnceLock;

/// A write-once, type-erased place for a `&'static` value (the recorder of one catalog).
pub struct Slot(OnceLock<Installed>);

/// What a slot holds: a `'static` value and the `TypeId` of its concrete type.
struct Installed {
    type_id: TypeId,
    value: &'static (dyn Any + Send + Sync),
}

impl Slot {
    /// An empty slot (a `static` initialiser).
    pub const fn new() -> Self {
        Slot(OnceLock::new())
    }

    /// What was installed, if anything was and it is a `T`.
    #[inline]
    pub fn get<T: Any>(&self) -> Option<&'static T> {
        let installed = self.0.get()?;
        if installed.type_id != TypeId::of::<T>() {
            return None;
        }
        let value: *const (dyn Any + Send + Sync) = installed.value;
        // SAFETY: `set` stores `value` together with the `TypeId` of its concrete type,
        // and `installed.type_id == TypeId::of::<T>()`, so the data pointer of `value`
        // points to a `T`; it is `'static` (so valid for as long as the returned
        // reference) and shared-only (`&'static`, never mutated through the slot).
        #[allow(unsafe_code)]
        Some(unsafe { &*value.cast::<T>() })
    }

    /// Installs `value`; gives it back when the slot is already taken.
    pub fn set<T: Any + Send + Sync>(&self, value: &'static T) -> Result<(), &'static T> {
        self.0
            .set(Installed {
                type_id: TypeId::of::<T>(),
                value,
            })
            .map_err(|_| value)
    }
}

impl Default for Slot {
    fn default() -> Self {
        Slot::new()
    }
}

impl fmt::Debug for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slot")
            .field("installed", &self.0.get().is_some())
            .finish()
    }
}

/// A write-once place for the series of one metric, all created up front (an unlabeled
/// metric's one series, or every combination of enumerated label values), indexed by
/// [`LabelSet::dense_index`](crate::LabelSet::dense_index). Type-checked as [`Slot`] is,
/// and by the number of labels the series have, so a label set of another length never
/// indexes them. On a cache line of its own: read by every recording call, written once.
#[repr(align(64))]
pub struct DenseSlot(OnceLock<Dense>);

/// What a dense slot holds: a `&'static [T]` taken apart, with the `TypeId` of `T`.
struct Dense {
    type_id: TypeId,
    label_count: usize,
    first: NonNull<()>,
    len: usize,
}

// SAFETY: a `Dense` is only ever made from a `&'static [T]` with `T: Sync`
// (`DenseSlot::set`), and only hands out that `&'static [T]` again (`DenseSlot::get`);
// sending or sharing it sends or shares `&T`s, which `T: Sync` allows.
#[allow(unsafe_code)]
unsafe impl Send for Dense {}
// SAFETY: as for `Send`.
#[allow(unsafe_code)]
unsafe impl Sync for Dense {}

impl DenseSlot {
    /// An empty slot (a `static` initialiser).
    pub const fn new() -> Self {
        DenseSlot(OnceLock::new())
    }

    /// The series published here, if any were, they are `T`s, and their metric has
    /// `label_count` labels.
    #[inline]
    pub fn get<T: Any + Sync>(&self, label_count: usize) -> Option<&'static [T]> {
        let dense = self.0.get()?;
        if dense.type_id != TypeId::of::<T>() || dense.label_count != label_count {
            return None;
        }
        // SAFETY: `set` stored the pointer and length of a `&'static [T]` together with
        // `TypeId::of::<T>()`, which equals this `T`'s: they describe `len` initialised
        // `T`s that live for the rest of the process, only ever shared.
        #[allow(unsafe_code)]
        Some(unsafe { std::slice::from_raw_parts(dense.first.cast::<T>().as_ptr(), dense.len) })
    }

    /// Publishes `series`, the series of a metric with `label_count` labels; gives them
    /// back when the slot is already taken.
    pub fn set<T: Any + Sync>(
        &self,
        series: &'static [T],
        label_count: usize,
    ) -> Result<(), &'static [T]> {
        self.0
            .set(Dense {
                type_id: TypeId::of::<T>(),
                label_count,
                first: NonNull::from(series).cast::<()>(),
                len: series.len(),
            })
            .map_err(|_| series)
    }
}

impl Default for DenseSlot {
    fn default() -> Self {
        DenseSlot::new()
    }
}

impl fmt::Debug for DenseSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DenseSlot")
            .field("series", &self.0.get().map(|dense| dense.len))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::{DenseSlot, Slot};

    #[test]
    fn a_slot_gives_back_only_the_type_it_holds() {
        static SLOT: Slot = Slot::new();
        static VALUE: u32 = 7;
        assert_eq!(SLOT.get::<u32>(), None, "empty");
        SLOT.set(&VALUE).unwrap();
        assert_eq!(SLOT.get::<u32>(), Some(&7));
        assert_eq!(SLOT.get::<i32>(), None, "another type of the same size");
        assert!(SLOT.set(&8u32).is_err(), "write-once");
        assert_eq!(SLOT.get::<u32>(), Some(&7));
    }

    #[test]
    fn a_dense_slot_gives_back_only_its_type_and_label_count() {
        static SLOT: DenseSlot = DenseSlot::new();
        static SERIES: [u64; 3] = [1, 2, 3];
        assert_eq!(SLOT.get::<u64>(2), None, "empty");
        SLOT.set(&SERIES, 2).unwrap();
        assert_eq!(SLOT.get::<u64>(2), Some(&SERIES[..]));
        assert_eq!(SLOT.get::<i64>(2), None, "another type of the same size");
        assert_eq!(SLOT.get::<u64>(1), None, "another number of labels");
        assert!(SLOT.set(&SERIES[..1], 2).is_err(), "write-once");
        assert_eq!(SLOT.get::<u64>(2).map(<[u64]>::len), Some(3));
    }
}
