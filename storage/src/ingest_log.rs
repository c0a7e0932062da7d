//! The append-only ingest log: one checksummed, length-prefixed record per accepted envelope.
//!
//! Files are `ingest-0000000001.log`, `ingest-0000000002.log`, ... in the log directory;
//! the writer appends to the highest and starts a new one when the next batch would take
//! it past the rotation size. Each file holds [`MAGIC`], then records:
//!
//! ```text
//! u32 LE payload length | u32 LE CRC-32 (IEEE) of the payload | payload (JSON LogRecord)
//! ```
//!
//! A crash or a failed write can leave a torn record at the end of a file; [`parse`]
//! returns the records before it and reports where and why the file stops being valid.
//! The writer fsyncs after every batch, truncates a half-written batch away after a
//! failed write, and abandons a file whose fsync failed (its state is then unknown) for
//! a new one. At start-up it never appends to an existing file: it starts the next one.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use recorder::{CounterHandle, GaugeHandle, HistogramHandle};
use serde::{Deserialize, Serialize};

use crate::errors::{StorageError, StorageErrorType};
use crate::faults::FaultPlan;
use crate::metrics::StorageMetric;

/// First bytes of every ingest log file.
pub const MAGIC: &[u8; 8] = b"SMSILOG1";

/// Largest payload a record may have; a longer length prefix means a corrupt file.
pub const MAX_PAYLOAD_LEN: usize = 1 << 20;

/// Bytes of a record before its payload: length and checksum.
const RECORD_HEADER_LEN: usize = 8;

/// One accepted envelope, as the ingest log records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRecord {
    /// Content hash of the envelope: its object name in the CAS.
    pub hash: String,
    /// The source that delivered it.
    pub source_id: String,
    /// The source's identifier of the message.
    pub envelope_id: String,
    /// Size of the stored envelope in bytes.
    pub size: u64,
    /// When the gateway accepted it, in milliseconds since the Unix epoch.
    pub accepted_at_ms: u64,
}

/// Appends the framed `payload` (length, checksum, bytes) to `out`.
///
/// # Panics
///
/// If `payload` is longer than [`MAX_PAYLOAD_LEN`].
pub fn encode_record(payload: &[u8], out: &mut Vec<u8>) {
    assert!(
        payload.len() <= MAX_PAYLOAD_LEN,
        "ingest log record too long"
    );
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// The valid records of one file, and how the file ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed {
    /// Payloads of the records before the first invalid byte, in order.
    pub records: Vec<Vec<u8>>,
    /// Whether the file ends cleanly after them.
    pub tail: Tail,
}

/// How an ingest log file ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tail {
    /// After the last record, nothing.
    Clean,
    /// From `offset` on, the bytes are not a valid record.
    Torn {
        /// Byte offset of the first invalid byte (the start of the torn record).
        offset: usize,
        /// What is wrong there.
        reason: TornReason,
    },
}

/// Why the bytes at a torn tail are not a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TornReason {
    /// The file is shorter than [`MAGIC`] or does not start with it.
    BadMagic,
    /// Fewer bytes than a record header are left.
    ShortHeader,
    /// The length prefix exceeds [`MAX_PAYLOAD_LEN`].
    BadLength,
    /// Fewer bytes than the length prefix announces are left.
    ShortPayload,
    /// The payload does not match its checksum.
    BadChecksum,
}

/// The records of an ingest log file's contents.
pub fn parse(bytes: &[u8]) -> Parsed {
    let mut records = Vec::new();
    let torn = |offset, reason| Tail::Torn { offset, reason };
    let Some(mut rest) = bytes.strip_prefix(MAGIC.as_slice()) else {
        let tail = torn(0, TornReason::BadMagic);
        return Parsed { records, tail };
    };
    let tail = loop {
        let offset = bytes.len() - rest.len();
        if rest.is_empty() {
            break Tail::Clean;
        }
        let Some((header, after_header)) = rest.split_first_chunk::<RECORD_HEADER_LEN>() else {
            break torn(offset, TornReason::ShortHeader);
        };
        let [l0, l1, l2, l3, c0, c1, c2, c3] = *header;
        let len = u32::from_le_bytes([l0, l1, l2, l3]) as usize;
        if len > MAX_PAYLOAD_LEN {
            break torn(offset, TornReason::BadLength);
        }
        let Some((payload, after)) = after_header.split_at_checked(len) else {
            break torn(offset, TornReason::ShortPayload);
        };
        if crc32fast::hash(payload) != u32::from_le_bytes([c0, c1, c2, c3]) {
            break torn(offset, TornReason::BadChecksum);
        }
        records.push(payload.to_vec());
        rest = after;
    };
    Parsed { records, tail }
}

/// One ingest log file, read back.
#[derive(Clone, Debug)]
pub struct LogFile {
    /// Where it is.
    pub path: PathBuf,
    /// Its records and how it ends.
    pub parsed: Parsed,
}

/// Reads every ingest log file in `dir`, oldest first.
pub fn read_dir(dir: &Path) -> io::Result<Vec<LogFile>> {
    list_files(dir)?
        .into_iter()
        .map(|(_, path)| {
            let parsed = parse(&fs::read(&path)?);
            Ok(LogFile { path, parsed })
        })
        .collect()
}

/// The sequence number and path of every log file in `dir`, in sequence order.
fn list_files(dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let sequence = path
            .file_name()
            .and_then(|name| name.to_str())
            .and_then(|name| name.strip_prefix("ingest-")?.strip_suffix(".log"))
            .and_then(|digits| digits.parse::<u64>().ok());
        if let Some(sequence) = sequence {
            files.push((sequence, path));
        }
    }
    files.sort();
    Ok(files)
}

fn file_name(sequence: u64) -> String {
    format!("ingest-{sequence:010}.log")
}

/// Sleeps through the delay a slow-fsync fault window adds to an fsync at `now`.
fn injected_delay(faults: &FaultPlan<StorageErrorType>, now: Instant) {
    let delay = faults.delay(now);
    if !delay.is_zero() {
        std::thread::sleep(delay);
    }
}

/// The writer: appends batches of records, fsyncs each batch, rotates by size.
#[derive(Debug)]
pub struct IngestLog {
    dir: PathBuf,
    rotate_size: u64,
    current: Option<OpenFile>,
    next_sequence: u64,
    faults: FaultPlan<StorageErrorType>,
    metrics: LogMetrics,
}

#[derive(Debug)]
struct OpenFile {
    file: File,
    path: PathBuf,
    len: u64,
}

#[derive(Debug)]
struct LogMetrics {
    writes: CounterHandle,
    written_bytes: CounterHandle,
    rotations: CounterHandle,
    file_size: GaugeHandle,
    fsync_duration: HistogramHandle,
}

impl IngestLog {
    /// Opens the log in `dir` (created if needed). Existing files are left as they are:
    /// appends go to a new file after them. A torn tail in the newest existing file (the
    /// trace of a crash) is logged.
    pub fn open(
        dir: &Path,
        rotate_size: u64,
        faults: FaultPlan<StorageErrorType>,
    ) -> Result<Self, StorageError> {
        fs::create_dir_all(dir).map_err(|e| StorageError::new("create directory", dir, e))?;
        let files = list_files(dir).map_err(|e| StorageError::new("list", dir, e))?;
        if let Some((_, newest)) = files.last() {
            let bytes = fs::read(newest).map_err(|e| StorageError::new("read", newest, e))?;
            let parsed = parse(&bytes);
            if let Tail::Torn { offset, reason } = parsed.tail {
                tracing::warn!(
                    path = %newest.display(),
                    offset,
                    ?reason,
                    records = parsed.records.len(),
                    "ingest log file ends in a torn record (earlier crash?); its valid records are kept, appends go to a new file"
                );
            }
        }
        Ok(IngestLog {
            dir: dir.to_path_buf(),
            rotate_size,
            current: None,
            next_sequence: files.last().map_or(1, |(sequence, _)| sequence + 1),
            faults,
            metrics: LogMetrics {
                writes: recorder::counter(StorageMetric::IngestLogWritesSuccess, ()),
                written_bytes: recorder::counter(StorageMetric::IngestLogWrittenBytes, ()),
                rotations: recorder::counter(StorageMetric::IngestLogRotations, ()),
                file_size: recorder::gauge(StorageMetric::IngestLogCurrentFileSize, ()),
                fsync_duration: recorder::histogram(StorageMetric::IngestLogFsyncDuration, ()),
            },
        })
    }

    /// Appends one record per payload and fsyncs: on `Ok` every record is durable; on
    /// `Err` none is in the log (the caller may retry the whole batch). Metrics count
    /// records either way (one success or one error per record), so the error ratio is
    /// per record.
    pub fn append_batch(&mut self, payloads: &[Vec<u8>]) -> Result<(), StorageError> {
        let result = self.try_append(payloads);
        if let Err(error) = &result {
            recorder::add(
                StorageMetric::IngestLogWritesError,
                error.error_type(),
                payloads.len() as u64,
            );
        }
        result
    }

    /// Fsyncs and closes the current file.
    pub fn close(mut self) -> Result<(), StorageError> {
        match self.current.take() {
            Some(open) => open
                .file
                .sync_all()
                .map_err(|e| StorageError::new("fsync", &open.path, e)),
            None => Ok(()),
        }
    }

    fn try_append(&mut self, payloads: &[Vec<u8>]) -> Result<(), StorageError> {
        let mut batch = Vec::new();
        for payload in payloads {
            encode_record(payload, &mut batch);
        }
        // Injected faults: a full disk tears the batch half way; the others fail up front.
        let fault = self.faults.draw(Instant::now());
        if let Some(fault) = fault
            && fault != StorageErrorType::DiskFull
        {
            return Err(StorageError::new(
                "append to",
                &self.dir,
                crate::errors::injected_error(fault),
            ));
        }
        self.rotate_if_full(batch.len() as u64)?;
        if self.current.is_none() {
            let created = self.create_file()?;
            self.current = Some(created);
        }
        let open = self.current.as_mut().expect("opened above");
        let written = match fault {
            Some(fault) => open
                .file
                .write_all(&batch[..batch.len() / 2])
                .and_then(|()| Err(crate::errors::injected_error(fault))),
            None => open.file.write_all(&batch),
        };
        if let Err(error) = written {
            let path = open.path.clone();
            // Cut the partial batch off so later appends do not follow a torn record;
            // if even that fails, abandon the file (a reader stops at its torn tail).
            if open.file.set_len(open.len).is_err() {
                self.current = None;
            }
            return Err(StorageError::new("append to", &path, error));
        }
        let started = Instant::now();
        injected_delay(&self.faults, started);
        if let Err(error) = open.file.sync_data() {
            let path = open.path.clone();
            // After a failed fsync the file's contents are unknown: start a new file.
            self.current = None;
            return Err(StorageError::new("fsync", &path, error));
        }
        self.metrics
            .fsync_duration
            .observe(started.elapsed().as_secs_f64());
        open.len += batch.len() as u64;
        self.metrics.file_size.set(open.len as f64);
        self.metrics.written_bytes.add(batch.len() as u64);
        self.metrics.writes.add(payloads.len() as u64);
        Ok(())
    }

    /// Closes the current file if `incoming` more bytes would take it past the rotation
    /// size (a file always takes at least one batch).
    fn rotate_if_full(&mut self, incoming: u64) -> Result<(), StorageError> {
        let Some(open) = &self.current else {
            return Ok(());
        };
        if open.len <= MAGIC.len() as u64 || open.len + incoming <= self.rotate_size {
            return Ok(());
        }
        let open = self.current.take().expect("checked above");
        open.file
            .sync_all()
            .map_err(|e| StorageError::new("fsync", &open.path, e))?;
        self.metrics.rotations.inc();
        tracing::info!(path = %open.path.display(), bytes = open.len, "ingest log file rotated");
        Ok(())
    }

    /// Creates the next file with its magic, fsynced, and fsyncs the directory.
    fn create_file(&mut self) -> Result<OpenFile, StorageError> {
        let path = self.dir.join(file_name(self.next_sequence));
        // A failed creation burns its sequence number: never reuse a name that may exist.
        self.next_sequence += 1;
        let created = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(&path)
            .and_then(|mut file| {
                file.write_all(MAGIC)?;
                file.sync_all()?;
                File::open(&self.dir)?.sync_all()?;
                Ok(file)
            });
        match created {
            Ok(file) => {
                self.metrics.file_size.set(MAGIC.len() as f64);
                Ok(OpenFile {
                    file,
                    path,
                    len: MAGIC.len() as u64,
                })
            }
            Err(error) => {
                // Best effort: a header-only or empty file would only be noise.
                let _ = fs::remove_file(&path);
                Err(StorageError::new("create", &path, error))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use proptest::prelude::*;

    use super::*;
    use crate::faults::Schedule;

    fn encode(payloads: &[Vec<u8>]) -> Vec<u8> {
        let mut bytes = MAGIC.to_vec();
        for payload in payloads {
            encode_record(payload, &mut bytes);
        }
        bytes
    }

    fn payloads(n: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| format!("record number {i}").into_bytes())
            .collect()
    }

    fn all_records(dir: &Path) -> Vec<Vec<u8>> {
        let files = read_dir(dir).unwrap();
        for file in &files {
            assert_eq!(file.parsed.tail, Tail::Clean, "{}", file.path.display());
        }
        files.into_iter().flat_map(|f| f.parsed.records).collect()
    }

    #[test]
    fn records_round_trip() {
        let records = payloads(3);
        let parsed = parse(&encode(&records));
        assert_eq!(parsed.records, records);
        assert_eq!(parsed.tail, Tail::Clean);
    }

    #[test]
    fn torn_tails_are_detected() {
        let records = payloads(2);
        let bytes = encode(&records);
        let second = MAGIC.len() + RECORD_HEADER_LEN + records[0].len();
        let check = |bytes: &[u8], offset, reason| {
            let parsed = parse(bytes);
            assert_eq!(parsed.records, records[..1]);
            assert_eq!(parsed.tail, Tail::Torn { offset, reason });
        };
        check(&bytes[..second + 3], second, TornReason::ShortHeader);
        check(&bytes[..bytes.len() - 1], second, TornReason::ShortPayload);
        let mut flipped = bytes.clone();
        *flipped.last_mut().unwrap() ^= 1;
        check(&flipped, second, TornReason::BadChecksum);
        let mut huge = bytes.clone();
        huge[second..second + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        check(&huge, second, TornReason::BadLength);
    }

    #[test]
    fn a_file_without_magic_has_no_records() {
        for bytes in [&b""[..], b"SMSI", b"NOTALOG!rest"] {
            let parsed = parse(bytes);
            assert!(parsed.records.is_empty());
            assert_eq!(
                parsed.tail,
                Tail::Torn {
                    offset: 0,
                    reason: TornReason::BadMagic
                }
            );
        }
    }

    #[test]
    fn the_writer_rotates_by_size_and_everything_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut log =
            IngestLog::open(dir.path(), 256, FaultPlan::never(StorageErrorType::ALL)).unwrap();
        let records = payloads(40);
        for batch in records.chunks(3) {
            log.append_batch(batch).unwrap();
        }
        log.close().unwrap();
        let files = read_dir(dir.path()).unwrap();
        assert!(files.len() > 3, "{} files", files.len());
        for file in &files {
            let size = fs::metadata(&file.path).unwrap().len();
            assert!(size <= 256, "{} is {size} bytes", file.path.display());
        }
        assert_eq!(all_records(dir.path()), records);
    }

    #[test]
    fn reopening_starts_a_new_file_after_the_existing_ones() {
        let dir = tempfile::tempdir().unwrap();
        let never = || FaultPlan::never(StorageErrorType::ALL);
        let records = payloads(4);
        let mut log = IngestLog::open(dir.path(), 1 << 16, never()).unwrap();
        log.append_batch(&records[..2]).unwrap();
        log.close().unwrap();
        // Simulate a crash that tore the last record of the first file.
        let first = dir.path().join(file_name(1));
        let len = fs::metadata(&first).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&first)
            .unwrap()
            .set_len(len - 2)
            .unwrap();
        let mut log = IngestLog::open(dir.path(), 1 << 16, never()).unwrap();
        log.append_batch(&records[2..]).unwrap();
        log.close().unwrap();
        let files = read_dir(dir.path()).unwrap();
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].parsed.records, records[..1]);
        assert!(matches!(files[0].parsed.tail, Tail::Torn { .. }));
        assert_eq!(files[1].path, dir.path().join(file_name(2)));
        assert_eq!(files[1].parsed.records, records[2..]);
    }

    #[test]
    fn failed_appends_leave_no_torn_record_and_retries_succeed() {
        let dir = tempfile::tempdir().unwrap();
        let mut log =
            IngestLog::open(dir.path(), 1 << 16, FaultPlan::never(StorageErrorType::ALL)).unwrap();
        let records = payloads(6);
        log.append_batch(&records[..2]).unwrap();
        // A fault on every append, cycling through the types (disk full tears the write).
        let every_time = Schedule {
            first_after: Duration::ZERO,
            period: Duration::ZERO,
            first_kind: 0,
        };
        log.faults = FaultPlan::new(StorageErrorType::ALL, every_time, Instant::now(), 0.0, 3);
        let types: Vec<_> = (0..3)
            .map(|_| log.append_batch(&records[2..]).unwrap_err().error_type())
            .collect();
        assert_eq!(types, StorageErrorType::ALL);
        log.faults = FaultPlan::never(StorageErrorType::ALL);
        log.append_batch(&records[2..]).unwrap();
        log.close().unwrap();
        assert_eq!(all_records(dir.path()), records);
    }

    proptest! {
        #[test]
        fn any_records_round_trip(records in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..16)) {
            let parsed = parse(&encode(&records));
            prop_assert_eq!(parsed.records, records);
            prop_assert_eq!(parsed.tail, Tail::Clean);
        }

        /// Truncating a file anywhere yields a prefix of its records, and a clean tail
        /// exactly at record boundaries.
        #[test]
        fn any_truncation_yields_a_prefix(
            records in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..32), 1..8),
            cut in any::<prop::sample::Index>(),
        ) {
            let bytes = encode(&records);
            let cut = cut.index(bytes.len() + 1);
            let parsed = parse(&bytes[..cut]);
            prop_assert!(parsed.records.len() <= records.len());
            prop_assert_eq!(&parsed.records[..], &records[..parsed.records.len()]);
            let mut boundaries = vec![MAGIC.len()];
            for record in &records {
                boundaries.push(boundaries.last().unwrap() + RECORD_HEADER_LEN + record.len());
            }
            prop_assert_eq!(parsed.tail == Tail::Clean, boundaries.contains(&cut));
        }
    }
}
