//! [`CellRef`]: how a handle or a timer points at a series' cell.
//!
//! A store (`crate::store::Store`) owns every cell it creates, each in a `Box` of its
//! own: cells are never moved, replaced or freed before the store itself drops (tables
//! and lists are append-only). So a cell can be reached through a plain pointer for as
//! long as its store lives, and a `CellRef` is that pointer plus what keeps the store
//! alive: an `Arc` of the store, or nothing for the installed stores, which live for the
//! rest of the process. No reference count per series (a cell needs no `Arc` header,
//! which the cache-line alignment would pad to 64 bytes), and none touched by a handle
//! or timer of the installed recorder.

use std::any::Any;
use std::fmt;
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::Arc;

/// What keeps a store alive while a [`CellRef`] into it exists.
pub(crate) type Keep = Option<Arc<dyn Any + Send + Sync>>;

/// A shared reference to a cell owned by a store, valid while `keep` (or, when `keep`
/// is `None`, the process, or the store holding this `CellRef`) keeps that store alive.
pub(crate) struct CellRef<T: 'static> {
    cell: NonNull<T>,
    _keep: Keep,
}

impl<T: Sync + 'static> CellRef<T> {
    /// A cell that lives for the rest of the process.
    pub(crate) fn from_static(cell: &'static T) -> Self {
        CellRef {
            cell: NonNull::from(cell),
            _keep: None,
        }
    }

    /// A cell of the store `keep` keeps alive (`None`: a store that is never freed).
    ///
    /// # Safety
    ///
    /// `cell` is owned by a store (`crate::store::Store`) that is never freed while
    /// this `CellRef` exists: the store `keep` holds, a store leaked for the process
    /// (then `keep` may be `None`), or the store that owns the place this `CellRef`
    /// is kept in (then `keep` is `None`).
    #[allow(unsafe_code)]
    pub(crate) unsafe fn new(cell: &T, keep: Keep) -> Self {
        CellRef {
            cell: NonNull::from(cell),
            _keep: keep,
        }
    }
}

impl<T: Sync + 'static> Deref for CellRef<T> {
    type Target = T;

    #[inline(always)]
    fn deref(&self) -> &T {
        // SAFETY: `new`'s contract (or `from_static`'s `'static`) keeps the cell's store,
        // and with it the boxed cell, alive and in place while `self` exists; a store
        // hands out only shared references to its cells.
        #[allow(unsafe_code)]
        unsafe {
            self.cell.as_ref()
        }
    }
}

impl<T: 'static> Clone for CellRef<T> {
    fn clone(&self) -> Self {
        CellRef {
            cell: self.cell,
            _keep: self._keep.clone(),
        }
    }
}

// SAFETY: a `CellRef<T>` is a `&T` with its store kept alive by an `Arc` of a
// `Send + Sync` value; `&T` is `Send` and `Sync` exactly when `T: Sync`.
#[allow(unsafe_code)]
unsafe impl<T: Sync + 'static> Send for CellRef<T> {}
// SAFETY: as for `Send`.
#[allow(unsafe_code)]
unsafe impl<T: Sync + 'static> Sync for CellRef<T> {}

impl<T: fmt::Debug + Sync + 'static> fmt::Debug for CellRef<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
