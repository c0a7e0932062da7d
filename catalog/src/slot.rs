//! [`Slot`]: where a recorder installs itself for one catalog.
//!
//! `#[catalog::metrics]` gives every catalog its own static slot
//! ([`MetricCatalog::slot`](crate::MetricCatalog::slot)), so a process can install one
//! recorder serving several catalogs and `recorder::inc(Metric::X, ..)` finds the
//! recorder of `Metric::X`'s catalog with one load and one type check: no map, no lock.
//! The catalog crate only holds the slot; what goes in it is the recorder's business.

use std::any::Any;
use std::fmt;
use std::sync::OnceLock;

/// A write-once, type-erased place for the recorder of one catalog.
pub struct Slot(OnceLock<Box<dyn Any + Send + Sync>>);

impl Slot {
    /// An empty slot (a `static` initialiser).
    pub const fn new() -> Self {
        Slot(OnceLock::new())
    }

    /// What was installed, if anything.
    #[inline]
    pub fn get(&self) -> Option<&(dyn Any + Send + Sync)> {
        self.0.get().map(|boxed| &**boxed)
    }

    /// Installs `value`; gives it back when the slot is already taken.
    pub fn set(&self, value: Box<dyn Any + Send + Sync>) -> Result<(), Box<dyn Any + Send + Sync>> {
        self.0.set(value)
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
