//! The process-wide recorder behind `recorder::inc` and friends.

use std::any::Any;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use catalog::MetricCatalog;

use crate::error::Error;
use crate::recorder::Recorder;

/// The installed recorder, of whichever catalog type was installed.
static GLOBAL: OnceLock<Box<dyn Any + Send + Sync>> = OnceLock::new();
static NOT_INSTALLED_LOGGED: AtomicBool = AtomicBool::new(false);

/// Installs `recorder` as the process-wide recorder; only once per process.
pub(crate) fn set<C: MetricCatalog>(recorder: Recorder<C>) -> Result<(), Error> {
    GLOBAL
        .set(Box::new(recorder))
        .map_err(|_| Error::AlreadyInstalled)
}

/// True once a recorder is installed.
pub(crate) fn is_set() -> bool {
    GLOBAL.get().is_some()
}

/// The installed recorder for catalog `C`; logs once and returns `None` when no recorder
/// (or one of another catalog) is installed, so recording is then a no-op.
#[inline]
pub(crate) fn get<C: MetricCatalog>() -> Option<&'static Recorder<C>> {
    let recorder = GLOBAL
        .get()
        .and_then(|any| any.downcast_ref::<Recorder<C>>());
    if recorder.is_none() {
        not_installed::<C>();
    }
    recorder
}

#[cold]
fn not_installed<C: MetricCatalog>() {
    if !NOT_INSTALLED_LOGGED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            catalog = std::any::type_name::<C>(),
            "no recorder installed for this catalog: samples are discarded (call recorder::Builder::install at start-up)"
        );
    }
}
