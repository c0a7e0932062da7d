//! [`Slot`]: where a recorder installs itself for one catalog.
//!
//! `#[catalog::metrics]` gives every catalog its own static slot
//! ([`MetricCatalog::slot`](crate::MetricCatalog::slot)), so a process can install one
//! recorder serving several catalogs and `recorder::inc(Metric::X, ..)` finds the
//! recorder of `Metric::X`'s catalog with one load and one type check: no map, no lock,
//! no virtual call (the type is checked against a `TypeId` stored next to the pointer,
//! not through `Any`'s vtable). The catalog crate only holds the slot; what goes in it
//! is the recorder's business.

use std::any::{Any, TypeId};
use std::fmt;
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

#[cfg(test)]
mod tests {
    use super::Slot;

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
}
