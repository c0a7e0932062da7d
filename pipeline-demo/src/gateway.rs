//! The gateway: drops duplicate envelopes, stores new ones in the CAS, logs them.
//!
//! It runs on a blocking thread of its own (all its work is file I/O) and takes the
//! queue batch by batch: for each envelope, the content hash decides whether it is a
//! duplicate (already in the [`DedupWindow`] or earlier in the batch); a new one is
//! written to the [`Cas`]; then the batch's records are appended to the [`IngestLog`]
//! and fsynced together. Only then are the envelopes accepted and remembered: a record
//! is never logged before its object is stored.
//!
//! Storage failures are retried with exponential backoff until they clear; meanwhile the
//! queue fills and the sources wait. [`run`] returns once the queue is closed and
//! drained, or gives up when asked to (see [`run`]).

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use catalog::{Metric, SourceId};

use crate::cas::Cas;
use crate::dedup::DedupWindow;
use crate::envelope::{ContentHash, unix_millis};
use crate::ingest_log::{self, IngestLog, LogRecord};
use crate::queue::QueueReceiver;
use crate::storage::StorageError;

/// Most envelopes the gateway handles per ingest log batch (and fsync).
pub const MAX_BATCH: usize = 64;

/// First delay before retrying a failed storage operation; doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
/// Longest delay between retries.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// What the gateway did until the queue closed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Envelopes stored and logged.
    pub accepted: u64,
    /// Envelopes dropped as duplicates.
    pub deduplicated: u64,
}

/// Why the gateway stopped before draining the queue.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// Asked to give up while storage kept failing.
    #[error("storage kept failing: {0}")]
    GaveUp(StorageError),
    /// Asked to give up while storage worked but the drain was too slow; what was
    /// written is closed (fsynced) first.
    #[error("gave up with {queued} envelopes still queued")]
    Abandoned {
        /// Envelopes left in the queue, not persisted.
        queued: usize,
    },
    /// The final fsync of the ingest log failed.
    #[error("cannot close the ingest log: {0}")]
    Close(StorageError),
}

/// A dedup window of `capacity` seeded with the most recent records of the ingest log
/// in `log_dir`, so envelopes re-sent across a restart are still caught. Unreadable
/// records are skipped; returns the window and the number of records read.
pub fn recover_window(log_dir: &Path, capacity: usize) -> std::io::Result<(DedupWindow, usize)> {
    let mut window = DedupWindow::new(capacity);
    let mut records = 0;
    if !log_dir.exists() {
        return Ok((window, records));
    }
    for file in ingest_log::read_dir(log_dir)? {
        for payload in &file.parsed.records {
            let hash = serde_json::from_slice::<LogRecord>(payload)
                .ok()
                .and_then(|record| ContentHash::from_hex(&record.hash));
            if let Some(hash) = hash {
                window.insert(hash);
                records += 1;
            }
        }
    }
    Ok((window, records))
}

/// Runs the gateway until `queue` is closed and drained, then closes the log.
///
/// While storage is failing it retries; once `give_up` is set it stops retrying and
/// returns [`GatewayError::GaveUp`] (the envelopes of the batch at hand and those still
/// queued are lost; the sources would re-send them in a real system). Once `give_up` is
/// set while storage works, it stops at the next batch, closes the log and returns
/// [`GatewayError::Abandoned`].
pub fn run(
    mut queue: QueueReceiver,
    mut cas: Cas,
    mut log: IngestLog,
    mut window: DedupWindow,
    give_up: &AtomicBool,
) -> Result<Summary, GatewayError> {
    let mut summary = Summary::default();
    loop {
        if give_up.load(Ordering::Relaxed) {
            log.close().map_err(GatewayError::Close)?;
            return Err(GatewayError::Abandoned {
                queued: queue.waiting(),
            });
        }
        let batch = queue.blocking_recv_batch(MAX_BATCH);
        if batch.is_empty() {
            break;
        }
        let mut in_batch = HashSet::new();
        let mut accepted = Vec::new();
        for envelope in batch {
            let bytes = envelope.canonical_bytes();
            let hash = ContentHash::of(&bytes);
            if window.contains(&hash) || !in_batch.insert(hash) {
                recorder::inc(
                    Metric::GatewayEnvelopesDeduplicated,
                    SourceId(&envelope.source_id),
                );
                summary.deduplicated += 1;
                continue;
            }
            retry(give_up, || cas.put(&hash, &bytes)).map_err(GatewayError::GaveUp)?;
            let record = LogRecord {
                hash: hash.to_hex(),
                source_id: envelope.source_id,
                envelope_id: envelope.id,
                size: bytes.len() as u64,
                accepted_at_ms: unix_millis(),
            };
            accepted.push((hash, record));
        }
        if accepted.is_empty() {
            continue;
        }
        let payloads: Vec<Vec<u8>> = accepted
            .iter()
            .map(|(_, record)| serde_json::to_vec(record).expect("records always serialise"))
            .collect();
        retry(give_up, || log.append_batch(&payloads)).map_err(GatewayError::GaveUp)?;
        for (hash, record) in accepted {
            window.insert(hash);
            recorder::inc(
                Metric::GatewayEnvelopesAccepted,
                SourceId(&record.source_id),
            );
            summary.accepted += 1;
        }
        // A no-op unless the service turns feature `dedup_window_stats` on.
        recorder::set(Metric::GatewayDedupWindowEntries, (), window.len() as f64);
    }
    log.close().map_err(GatewayError::Close)?;
    Ok(summary)
}

/// Runs `operation` until it succeeds, sleeping between attempts with exponential
/// backoff; returns the last error once `give_up` is set.
fn retry<T>(
    give_up: &AtomicBool,
    mut operation: impl FnMut() -> Result<T, StorageError>,
) -> Result<T, StorageError> {
    let mut backoff = FIRST_BACKOFF;
    loop {
        let error = match operation() {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        if give_up.load(Ordering::Relaxed) {
            return Err(error);
        }
        tracing::warn!(
            error_type = error.error_type().as_str(),
            retry_in = ?backoff,
            "{error}"
        );
        std::thread::sleep(backoff);
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::envelope::Envelope;
    use crate::faults::{FaultPlan, Schedule};
    use crate::storage::StorageErrorType;

    fn envelope(n: u32) -> Envelope {
        Envelope {
            source_id: format!("provider-{}", n % 2),
            id: format!("m{n}"),
            from: "+31600000000".into(),
            to: "4411".into(),
            body: format!("message {n}"),
            sent_at_ms: 1_700_000_000_000,
        }
    }

    /// Runs the gateway over `envelopes` (queued in order) with the given fault plans.
    fn check(
        dir: &Path,
        envelopes: &[Envelope],
        cas_faults: FaultPlan<StorageErrorType>,
        log_faults: FaultPlan<StorageErrorType>,
    ) -> Summary {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (sender, receiver) = crate::queue::channel(envelopes.len().max(1));
        runtime.block_on(async {
            for envelope in envelopes {
                sender.send(envelope.clone()).await.unwrap();
            }
        });
        drop(sender);
        let cas = Cas::open(&dir.join("cas"), cas_faults).unwrap();
        let log = IngestLog::open(&dir.join("log"), 4096, log_faults).unwrap();
        let (window, _) = recover_window(&dir.join("log"), 1000).unwrap();
        run(receiver, cas, log, window, &AtomicBool::new(false)).unwrap()
    }

    fn logged_hashes(dir: &Path) -> Vec<String> {
        ingest_log::read_dir(&dir.join("log"))
            .unwrap()
            .into_iter()
            .flat_map(|file| {
                assert_eq!(file.parsed.tail, ingest_log::Tail::Clean);
                file.parsed.records
            })
            .map(|payload| serde_json::from_slice::<LogRecord>(&payload).unwrap().hash)
            .collect()
    }

    fn never() -> FaultPlan<StorageErrorType> {
        FaultPlan::never(StorageErrorType::ALL)
    }

    #[test]
    fn duplicates_are_dropped_within_a_batch_and_across_batches() {
        let dir = tempfile::tempdir().unwrap();
        let envelopes: Vec<Envelope> = [1, 2, 1, 3, 2, 2].map(envelope).to_vec();
        let summary = check(dir.path(), &envelopes, never(), never());
        assert_eq!(
            summary,
            Summary {
                accepted: 3,
                deduplicated: 3
            }
        );
        let summary = check(dir.path(), &[envelope(3), envelope(4)], never(), never());
        assert_eq!(
            summary,
            Summary {
                accepted: 1,
                deduplicated: 1
            },
            "after a restart"
        );
        let expected: Vec<String> = [1, 2, 3, 4]
            .map(|n| ContentHash::of(&envelope(n).canonical_bytes()).to_hex())
            .to_vec();
        assert_eq!(logged_hashes(dir.path()), expected);
    }

    #[test]
    fn every_logged_record_points_at_a_stored_object_despite_faults() {
        let dir = tempfile::tempdir().unwrap();
        let often = |seed| {
            let schedule = Schedule {
                first_after: Duration::ZERO,
                period: Duration::from_secs(3600),
                first_kind: 0,
            };
            FaultPlan::new(StorageErrorType::ALL, schedule, Instant::now(), 0.05, seed)
        };
        let envelopes: Vec<Envelope> = (0..200).map(envelope).collect();
        let summary = check(dir.path(), &envelopes, often(1), often(2));
        assert_eq!(summary.accepted, 200);
        let hashes = logged_hashes(dir.path());
        assert_eq!(hashes.len(), 200);
        for hash in hashes {
            let path = dir.path().join("cas/objects").join(&hash[..2]).join(&hash);
            let bytes = std::fs::read(&path).unwrap();
            assert_eq!(ContentHash::of(&bytes).to_hex(), hash);
        }
    }

    #[test]
    fn giving_up_on_a_healthy_drain_stops_and_leaves_a_clean_log() {
        let dir = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (sender, receiver) = crate::queue::channel(10);
        runtime.block_on(async {
            for n in 0..10 {
                sender.send(envelope(n)).await.unwrap();
            }
        });
        let cas = Cas::open(&dir.path().join("cas"), never()).unwrap();
        let log = IngestLog::open(&dir.path().join("log"), 4096, never()).unwrap();
        let give_up = AtomicBool::new(true);
        // The sender is still alive: without giving up, the gateway would wait for more.
        let error = run(receiver, cas, log, DedupWindow::new(10), &give_up).unwrap_err();
        assert!(
            matches!(error, GatewayError::Abandoned { queued: 10 }),
            "{error}"
        );
        assert!(logged_hashes(dir.path()).is_empty());
        drop(sender);
    }
}
