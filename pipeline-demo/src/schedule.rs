//! Declared fault schedules: `--fault KIND[@SOURCE]:FROM..UNTIL`, seconds after start.
//!
//! A schedule makes a run reproducible: with at least one `--fault`, only the declared
//! faults happen (no start-up faults, no random ones). Each [`FaultSpec`] turns into a
//! window of the [`FaultPlan`] of the component it hits ([`source_plan`], [`cas_plan`],
//! [`log_plan`]) or, for re-sent envelopes, into a window of [`resend_windows`]; the
//! components only call `FaultPlan::draw` and `FaultPlan::delay`, as for random faults.
//!
//! | kind | effect on every operation starting inside the window | alerts it drives |
//! |---|---|---|
//! | `source-timeout`, `source-connection`, `source-http_status`, `source-malformed` | the source request fails with that `error_type` | source error ratio, availability SLO |
//! | `source-slow` | the source answers after [`SLOW_RESPONSE`] | latency SLO |
//! | `source-resend` | the page re-sends every recently delivered envelope | duplicates ratio |
//! | `cas-disk_full`, `cas-read_only`, `cas-io` | the CAS write fails with that `error_type` | CAS error ratio, availability SLO |
//! | `cas-slow` | the CAS write takes [`SLOW_CAS_WRITE`] longer (the queue backs up) | CAS p99 latency, backlog |
//! | `log-disk_full`, `log-read_only`, `log-io` | the ingest log append fails with that `error_type` | log error ratio, availability SLO |
//! | `fsync-slow` | the fsync takes [`SLOW_FSYNC`] longer | fsync p99 latency, latency SLO |
//!
//! `@SOURCE` (a `source_id`, e.g. `@provider-1`) limits a `source-*` fault to one source.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;
use std::time::{Duration, Instant};

use crate::faults::{Effect, FaultPlan};
use crate::sources::SourceErrorType;
use crate::storage::StorageErrorType;

/// Latency of a source answer inside a `source-slow` window: over the 2.5 s latency
/// objective, under the 5 s p99 alert (a `source-timeout` with a `--request-timeout`
/// over 5 s reaches that one).
pub const SLOW_RESPONSE: Duration = Duration::from_secs(3);
/// Extra time of a CAS write inside a `cas-slow` window (over the 0.1 s p99 alert; the
/// gateway then writes under 7 new envelopes a second and the queue backs up).
pub const SLOW_CAS_WRITE: Duration = Duration::from_millis(150);
/// Extra time of an fsync inside an `fsync-slow` window (over the 25 ms p99 alert).
pub const SLOW_FSYNC: Duration = Duration::from_millis(50);

/// What a scheduled fault does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// Source requests fail with this type.
    SourceError(SourceErrorType),
    /// Source answers take [`SLOW_RESPONSE`].
    SourceSlow,
    /// Source pages re-send every recently delivered envelope.
    SourceResend,
    /// CAS writes fail with this type.
    CasError(StorageErrorType),
    /// CAS writes take [`SLOW_CAS_WRITE`] longer.
    CasSlow,
    /// Ingest log appends fail with this type.
    LogError(StorageErrorType),
    /// Ingest log fsyncs take [`SLOW_FSYNC`] longer.
    FsyncSlow,
}

impl FaultKind {
    /// Every kind, in the order of the table above.
    pub fn all() -> Vec<FaultKind> {
        let sources = SourceErrorType::ALL
            .iter()
            .map(|t| FaultKind::SourceError(*t));
        let cas = StorageErrorType::ALL
            .iter()
            .map(|t| FaultKind::CasError(*t));
        let log = StorageErrorType::ALL
            .iter()
            .map(|t| FaultKind::LogError(*t));
        sources
            .chain([FaultKind::SourceSlow, FaultKind::SourceResend])
            .chain(cas)
            .chain([FaultKind::CasSlow])
            .chain(log)
            .chain([FaultKind::FsyncSlow])
            .collect()
    }

    fn hits_sources(self) -> bool {
        matches!(
            self,
            FaultKind::SourceError(_) | FaultKind::SourceSlow | FaultKind::SourceResend
        )
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultKind::SourceError(t) => write!(f, "source-{}", t.as_str()),
            FaultKind::SourceSlow => f.write_str("source-slow"),
            FaultKind::SourceResend => f.write_str("source-resend"),
            FaultKind::CasError(t) => write!(f, "cas-{}", t.as_str()),
            FaultKind::CasSlow => f.write_str("cas-slow"),
            FaultKind::LogError(t) => write!(f, "log-{}", t.as_str()),
            FaultKind::FsyncSlow => f.write_str("fsync-slow"),
        }
    }
}

/// One `--fault`: a kind, optionally one source, and a window in seconds after start.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultSpec {
    /// What happens.
    pub kind: FaultKind,
    /// The only source a `source-*` fault hits (`None`: every source).
    pub source: Option<String>,
    /// When, counted from start.
    pub window: Range<Duration>,
}

impl FromStr for FaultSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (target, window) = text
            .split_once(':')
            .ok_or_else(|| format!("{text:?}: expected KIND[@SOURCE]:FROM..UNTIL"))?;
        let (name, source) = match target.split_once('@') {
            Some((name, source)) => (name, Some(source.to_string())),
            None => (target, None),
        };
        let kinds = FaultKind::all();
        let kind = kinds
            .iter()
            .copied()
            .find(|k| k.to_string() == name)
            .ok_or_else(|| {
                let known: Vec<String> = kinds.iter().map(ToString::to_string).collect();
                format!("unknown fault kind {name:?} (known: {})", known.join(", "))
            })?;
        if source.as_deref() == Some("") {
            return Err(format!("{text:?}: empty source after `@`"));
        }
        if source.is_some() && !kind.hits_sources() {
            return Err(format!("{text:?}: only source-* faults take @SOURCE"));
        }
        let (from, until) = window
            .split_once("..")
            .ok_or_else(|| format!("{window:?}: expected FROM..UNTIL in seconds, e.g. 5..7.5"))?;
        let seconds = |value: &str| -> Result<Duration, String> {
            value
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && (0.0..=86_400.0).contains(s))
                .map(Duration::from_secs_f64)
                .ok_or_else(|| format!("{value:?}: not a number of seconds from 0 to 86400"))
        };
        let window = seconds(from)?..seconds(until)?;
        if window.start >= window.end {
            return Err(format!("{text:?}: the window ends before it starts"));
        }
        Ok(FaultSpec {
            kind,
            source,
            window,
        })
    }
}

/// The plan of the source `source_id` under `specs`, counted from `start`.
pub fn source_plan(
    specs: &[FaultSpec],
    source_id: &str,
    start: Instant,
) -> FaultPlan<SourceErrorType> {
    let windows = hitting_source(specs, source_id).filter_map(|spec| {
        let effect = match spec.kind {
            FaultKind::SourceError(t) => Effect::Fail(t),
            FaultKind::SourceSlow => Effect::Delay(SLOW_RESPONSE),
            _ => return None,
        };
        Some((spec.window.clone(), effect))
    });
    FaultPlan::windows(SourceErrorType::ALL, start, windows)
}

/// When the source `source_id` re-sends every recently delivered envelope.
pub fn resend_windows(specs: &[FaultSpec], source_id: &str, start: Instant) -> Vec<Range<Instant>> {
    hitting_source(specs, source_id)
        .filter(|spec| spec.kind == FaultKind::SourceResend)
        .map(|spec| start + spec.window.start..start + spec.window.end)
        .collect()
}

/// The plan of the content-addressed store under `specs`, counted from `start`.
pub fn cas_plan(specs: &[FaultSpec], start: Instant) -> FaultPlan<StorageErrorType> {
    storage_plan(specs, start, |kind| match kind {
        FaultKind::CasError(t) => Some(Effect::Fail(t)),
        FaultKind::CasSlow => Some(Effect::Delay(SLOW_CAS_WRITE)),
        _ => None,
    })
}

/// The plan of the ingest log under `specs`, counted from `start`.
pub fn log_plan(specs: &[FaultSpec], start: Instant) -> FaultPlan<StorageErrorType> {
    storage_plan(specs, start, |kind| match kind {
        FaultKind::LogError(t) => Some(Effect::Fail(t)),
        FaultKind::FsyncSlow => Some(Effect::Delay(SLOW_FSYNC)),
        _ => None,
    })
}

fn storage_plan(
    specs: &[FaultSpec],
    start: Instant,
    effect: impl Fn(FaultKind) -> Option<Effect<StorageErrorType>>,
) -> FaultPlan<StorageErrorType> {
    let windows = specs
        .iter()
        .filter_map(|spec| Some((spec.window.clone(), effect(spec.kind)?)));
    FaultPlan::windows(StorageErrorType::ALL, start, windows)
}

fn hitting_source<'a>(
    specs: &'a [FaultSpec],
    source_id: &'a str,
) -> impl Iterator<Item = &'a FaultSpec> {
    specs
        .iter()
        .filter(move |spec| spec.source.as_deref().is_none_or(|s| s == source_id))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn spec(text: &str) -> FaultSpec {
        text.parse().unwrap()
    }

    #[test]
    fn every_kind_parses_back_from_its_name() {
        for kind in FaultKind::all() {
            let parsed = spec(&format!("{kind}:1..2.5"));
            assert_eq!(parsed.kind, kind);
            assert_eq!(
                parsed.window,
                Duration::from_secs(1)..Duration::from_millis(2500)
            );
            assert_eq!(parsed.source, None);
        }
        assert_eq!(
            spec("source-malformed@provider-2:0..1").source.as_deref(),
            Some("provider-2")
        );
    }

    #[test]
    fn bad_specs_are_rejected_naming_the_value() {
        for (text, named) in [
            ("cas-io", "\"cas-io\""),
            ("disk-full:1..2", "\"disk-full\""),
            ("cas-io:2..1", "\"cas-io:2..1\""),
            ("cas-io:1..1", "\"cas-io:1..1\""),
            ("cas-io:x..2", "\"x\""),
            ("cas-io:1-2", "\"1-2\""),
            ("cas-io:-1..2", "\"-1\""),
            ("cas-io:1..NaN", "\"NaN\""),
            ("cas-io@provider-1:1..2", "\"cas-io@provider-1:1..2\""),
            ("source-slow@:1..2", "\"source-slow@:1..2\""),
        ] {
            let error = text.parse::<FaultSpec>().unwrap_err();
            assert!(error.contains(named), "{text}: {error}");
        }
    }

    #[test]
    fn plans_apply_only_the_faults_of_their_component_and_source() {
        let specs = [
            spec("source-connection@provider-1:1..2"),
            spec("source-slow:3..4"),
            spec("source-resend@provider-2:5..6"),
            spec("cas-disk_full:1..2"),
            spec("cas-slow:3..4"),
            spec("log-read_only:5..6"),
            spec("fsync-slow:7..8"),
        ];
        let start = Instant::now();
        let at = |secs: f64| start + Duration::from_secs_f64(secs);
        let mut one = source_plan(&specs, "provider-1", start);
        let mut two = source_plan(&specs, "provider-2", start);
        assert_eq!(one.draw(at(1.5)), Some(SourceErrorType::Connection));
        assert_eq!(two.draw(at(1.5)), None);
        assert_eq!(one.delay(at(3.5)), SLOW_RESPONSE);
        assert_eq!(two.delay(at(3.5)), SLOW_RESPONSE);
        assert!(resend_windows(&specs, "provider-1", start).is_empty());
        assert_eq!(
            resend_windows(&specs, "provider-2", start),
            [at(5.0)..at(6.0)]
        );
        let mut cas = cas_plan(&specs, start);
        assert_eq!(cas.draw(at(1.5)), Some(StorageErrorType::DiskFull));
        assert_eq!(cas.draw(at(5.5)), None);
        assert_eq!(cas.delay(at(3.5)), SLOW_CAS_WRITE);
        assert_eq!(cas.delay(at(7.5)), Duration::ZERO);
        let mut log = log_plan(&specs, start);
        assert_eq!(log.draw(at(1.5)), None);
        assert_eq!(log.draw(at(5.5)), Some(StorageErrorType::ReadOnly));
        assert_eq!(log.delay(at(7.5)), SLOW_FSYNC);
    }

    proptest! {
        #[test]
        fn any_window_round_trips(from in 0u32..10_000, length in 1u32..10_000, kind in 0usize..15) {
            let kind = FaultKind::all()[kind % FaultKind::all().len()];
            let (from, until) = (f64::from(from) / 100.0, f64::from(from + length) / 100.0);
            let parsed = spec(&format!("{kind}:{from}..{until}"));
            prop_assert_eq!(parsed.kind, kind);
            prop_assert!((parsed.window.start.as_secs_f64() - from).abs() < 1e-9);
            prop_assert!((parsed.window.end.as_secs_f64() - until).abs() < 1e-9);
        }
    }
}
