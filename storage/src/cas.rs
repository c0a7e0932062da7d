//! The content-addressed store: one file per envelope, named by the hash of its content.
//!
//! Layout under the store's directory: `objects/ab/abcdef…` (the first two hex digits fan
//! the objects out over 256 directories) and `tmp/` for writes in progress. A write goes
//! to `tmp/`, is fsynced, renamed into place and its directory fsynced, so an object is
//! either complete or absent, never half written. Writing an object that exists is a
//! no-op: content addressing makes writes idempotent.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use recorder::{CounterHandle, HistogramHandle};

use crate::envelope::ContentHash;
use crate::errors::{StorageError, StorageErrorType};
use crate::faults::FaultPlan;
use crate::metrics::StorageMetric;

/// A content-addressed store in a directory.
#[derive(Debug)]
pub struct Cas {
    objects: PathBuf,
    tmp: PathBuf,
    faults: FaultPlan<StorageErrorType>,
    writes: CounterHandle,
    written_bytes: CounterHandle,
    write_duration: HistogramHandle,
}

/// What [`Cas::put`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Put {
    /// The object was written.
    Written,
    /// An object with this hash was already stored; nothing was written.
    AlreadyPresent,
}

impl Cas {
    /// Opens (creating it if needed) the store in `dir`; `faults` decides which writes fail
    /// on purpose.
    pub fn open(dir: &Path, faults: FaultPlan<StorageErrorType>) -> Result<Self, StorageError> {
        let objects = dir.join("objects");
        let tmp = dir.join("tmp");
        for path in [&objects, &tmp] {
            fs::create_dir_all(path).map_err(|e| StorageError::new("create directory", path, e))?;
        }
        Ok(Cas {
            objects,
            tmp,
            faults,
            writes: recorder::counter(StorageMetric::GatewayCasObjectsWritten, ()),
            written_bytes: recorder::counter(StorageMetric::GatewayCasWrittenBytes, ()),
            write_duration: recorder::histogram(StorageMetric::GatewayCasWriteDuration, ()),
        })
    }

    /// Where the object with `hash` lives.
    pub fn path_of(&self, hash: &ContentHash) -> PathBuf {
        let hex = hash.to_hex();
        self.objects.join(&hex[..2]).join(hex)
    }

    /// Stores `bytes` under `hash` (their hash) durably, unless already stored.
    pub fn put(&mut self, hash: &ContentHash, bytes: &[u8]) -> Result<Put, StorageError> {
        let path = self.path_of(hash);
        if path.try_exists().unwrap_or(false) {
            return Ok(Put::AlreadyPresent);
        }
        let started = Instant::now();
        let result = match self.faults.draw(started) {
            Some(fault) => Err(StorageError::new(
                "write",
                &path,
                crate::errors::injected_error(fault),
            )),
            None => {
                self.injected_delay(started);
                self.write(hash, bytes, &path)
            }
        };
        match &result {
            Ok(()) => {
                self.write_duration.observe(started.elapsed().as_secs_f64());
                self.writes.inc();
                self.written_bytes.add(bytes.len() as u64);
            }
            Err(error) => {
                recorder::inc(StorageMetric::GatewayCasWritesError, error.error_type());
            }
        }
        result.map(|()| Put::Written)
    }

    /// Sleeps through the delay a slow-storage fault window adds to a write at `now`.
    fn injected_delay(&self, now: Instant) {
        let delay = self.faults.delay(now);
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
    }

    /// Writes to `tmp/`, fsyncs, renames into place, fsyncs the directory.
    fn write(&self, hash: &ContentHash, bytes: &[u8], path: &Path) -> Result<(), StorageError> {
        let dir = path.parent().expect("objects have a parent directory");
        fs::create_dir_all(dir).map_err(|e| StorageError::new("create directory", dir, e))?;
        let tmp = self.tmp.join(format!("{}.tmp", hash.to_hex()));
        let written = File::create(&tmp)
            .and_then(|mut file| {
                file.write_all(bytes)?;
                file.sync_all()
            })
            .map_err(|e| StorageError::new("write", &tmp, e))
            .and_then(|()| {
                fs::rename(&tmp, path).map_err(|e| StorageError::new("rename into", path, e))
            });
        if written.is_err() {
            // Best effort: a leftover temporary file is harmless and overwritten next time.
            let _ = fs::remove_file(&tmp);
        }
        written?;
        File::open(dir)
            .and_then(|dir| dir.sync_all())
            .map_err(|e| StorageError::new("fsync directory", dir, e))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::faults::Schedule;

    fn open(dir: &Path) -> Cas {
        Cas::open(dir, FaultPlan::never(StorageErrorType::ALL)).unwrap()
    }

    #[test]
    fn an_object_is_stored_under_its_hash_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut cas = open(dir.path());
        let bytes = b"an envelope";
        let hash = ContentHash::of(bytes);
        assert_eq!(cas.put(&hash, bytes).unwrap(), Put::Written);
        assert_eq!(cas.put(&hash, bytes).unwrap(), Put::AlreadyPresent);
        let stored = fs::read(cas.path_of(&hash)).unwrap();
        assert_eq!(ContentHash::of(&stored), hash);
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    }

    #[test]
    fn an_injected_fault_fails_the_write_and_the_retry_succeeds() {
        let dir = tempfile::tempdir().unwrap();
        let schedule = Schedule {
            first_after: Duration::ZERO,
            period: Duration::from_secs(3600),
            first_kind: 0,
        };
        let faults = FaultPlan::new(StorageErrorType::ALL, schedule, Instant::now(), 0.0, 1);
        let mut cas = Cas::open(dir.path(), faults).unwrap();
        let hash = ContentHash::of(b"x");
        let error = cas.put(&hash, b"x").unwrap_err();
        assert_eq!(error.error_type(), StorageErrorType::DiskFull);
        assert!(!cas.path_of(&hash).exists());
        assert_eq!(cas.put(&hash, b"x").unwrap(), Put::Written);
    }

    #[test]
    fn a_real_failure_is_an_error_not_a_crash_and_recovers() {
        let dir = tempfile::tempdir().unwrap();
        let mut cas = open(dir.path());
        let hash = ContentHash::of(b"y");
        // A file where the fan-out directory should be: the write fails with an OS error.
        let fan_out = cas.path_of(&hash).parent().unwrap().to_path_buf();
        fs::write(&fan_out, b"in the way").unwrap();
        let error = cas.put(&hash, b"y").unwrap_err();
        assert_eq!(error.error_type(), StorageErrorType::Io);
        assert!(error.to_string().contains(&fan_out.display().to_string()));
        fs::remove_file(&fan_out).unwrap();
        assert_eq!(cas.put(&hash, b"y").unwrap(), Put::Written);
    }
}
