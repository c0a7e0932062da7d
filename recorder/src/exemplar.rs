//! Exemplars: a trace id attached to a counter series or a histogram bucket, exposed in
//! OpenMetrics only (the text format 0.0.4 has no syntax for them).
//!
//! Storage is bounded and costs nothing until used: each counter cell and each histogram
//! series holds one empty `OnceBox` (a null pointer: no allocation, and the plain recording path never
//! touches it); the first exemplar allocates one slot per counter, or one per bucket of a
//! histogram, and every later exemplar overwrites its slot in place under a mutex (the
//! trace id's buffer is reused, so no allocation either once it is long enough). The
//! newest exemplar wins, as OpenMetrics allows one per sample.
//!
//! OpenMetrics limits an exemplar's label set to [`MAX_EXEMPLAR_LABEL_CHARS`] characters
//! (names and values together). The label is `trace_id`, so a trace id may be up to
//! [`MAX_TRACE_ID_CHARS`] characters, and none of them a control character, `"` or `\`:
//! Prometheus 2.42 stores exemplar label values still escaped, so a trace id that
//! needs escaping would not read back as recorded (trace ids are hex in practice). A
//! trace id that is empty, longer or holds such a character is rejected: the sample is
//! recorded without its exemplar and the rejection is logged once per process.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use once_cell::race::OnceBox;

/// Name of the one label of every exemplar.
pub(crate) const TRACE_ID_LABEL: &str = "trace_id";

/// Longest exemplar label set OpenMetrics allows, in UTF-8 characters (names and
/// values together).
pub const MAX_EXEMPLAR_LABEL_CHARS: usize = 128;

/// Longest trace id an exemplar takes, in characters: the label set bound less the
/// label name `trace_id`.
pub const MAX_TRACE_ID_CHARS: usize = MAX_EXEMPLAR_LABEL_CHARS - TRACE_ID_LABEL.len();

/// One exemplar: the trace id, the value it was recorded with, and when.
#[derive(Debug, Default)]
pub(crate) struct Exemplar {
    pub(crate) trace_id: String,
    pub(crate) value: f64,
    /// Seconds since the Unix epoch.
    pub(crate) timestamp: f64,
}

/// Exemplar storage of one series: `slots` exemplars (one for a counter, one per
/// bucket for a histogram), allocated on the first exemplar.
#[derive(Debug, Default)]
pub(crate) struct Exemplars(OnceBox<Box<[Mutex<Option<Exemplar>>]>>);

impl Exemplars {
    /// Stores `trace_id` and `value` as the exemplar of slot `slot` of `slots`.
    /// The caller has checked the trace id with [`accept_trace_id`].
    pub(crate) fn record(&self, slots: usize, slot: usize, trace_id: &str, value: f64) {
        let all = self
            .0
            .get_or_init(|| Box::new((0..slots).map(|_| Mutex::new(None)).collect()));
        let Some(cell) = all.get(slot) else {
            return;
        };
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let mut guard = cell.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let exemplar = guard.get_or_insert_with(Exemplar::default);
        exemplar.trace_id.clear();
        exemplar.trace_id.push_str(trace_id);
        exemplar.value = value;
        exemplar.timestamp = timestamp;
    }

    /// Calls `f` with the exemplar of `slot`, if one was recorded. One atomic load when
    /// the series never had an exemplar.
    #[inline]
    pub(crate) fn with(&self, slot: usize, f: impl FnOnce(&Exemplar)) {
        if let Some(cell) = self.0.get().and_then(|all| all.get(slot)) {
            let guard = cell.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some(exemplar) = &*guard {
                f(exemplar);
            }
        }
    }
}

static REJECTION_LOGGED: AtomicBool = AtomicBool::new(false);

/// True when `trace_id` fits an exemplar; otherwise logs (once per process) why not.
pub(crate) fn accept_trace_id(trace_id: &str) -> bool {
    let chars = trace_id.chars().count();
    let plain = !trace_id.contains(|c: char| c.is_control() || c == '"' || c == '\\');
    if chars > 0 && chars <= MAX_TRACE_ID_CHARS && plain {
        return true;
    }
    if !REJECTION_LOGGED.swap(true, Ordering::Relaxed) {
        let start: String = trace_id.chars().take(32).collect();
        tracing::warn!(
            "exemplar dropped: trace id of {chars} characters (starts {start:?}); \
             trace ids must have 1 to {MAX_TRACE_ID_CHARS} characters (OpenMetrics bounds \
             an exemplar's labels at {MAX_EXEMPLAR_LABEL_CHARS}), none of them a control \
             character, `\"` or `\\`; the sample itself was recorded (logged once)"
        );
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids_are_bounded_by_the_openmetrics_label_set_limit() {
        assert_eq!(MAX_TRACE_ID_CHARS, 120);
        assert!(accept_trace_id("4bf92f3577b34da6a3ce929d0e0e4736"));
        assert!(accept_trace_id(&"é".repeat(120)), "characters, not bytes");
        assert!(!accept_trace_id(&"a".repeat(121)));
        assert!(!accept_trace_id(""));
        for needs_escaping in ["a\"b", "a\\b", "a\nb", "a\u{0}"] {
            assert!(!accept_trace_id(needs_escaping), "{needs_escaping:?}");
        }
    }

    #[test]
    fn the_newest_exemplar_wins_and_reuses_its_slot() {
        let exemplars = Exemplars::default();
        let mut seen = Vec::new();
        exemplars.with(0, |e| seen.push(e.trace_id.clone()));
        assert!(seen.is_empty(), "nothing before the first exemplar");
        exemplars.record(3, 1, "first", 0.5);
        exemplars.record(3, 1, "second", 0.7);
        exemplars.record(3, 7, "out of range", 1.0);
        exemplars.with(0, |e| seen.push(e.trace_id.clone()));
        exemplars.with(1, |e| seen.push(format!("{} {}", e.trace_id, e.value)));
        assert_eq!(seen, ["second 0.7"]);
    }
}
