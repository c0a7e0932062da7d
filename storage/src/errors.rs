//! Storage failures: the catalog error type of an I/O error, and injected storage faults.
//!
//! Real and injected failures take the same path: an [`io::Error`] whose kind decides the
//! `error_type` label ([`error_type_of`]): `disk_full` for ENOSPC and quota errors,
//! `read_only` for EROFS and permission errors, `io` for everything else.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

pub use crate::metrics::StorageErrorType;

/// The catalog error type of a failed storage operation's error.
pub fn error_type_of(error: &io::Error) -> StorageErrorType {
    match error.kind() {
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => StorageErrorType::DiskFull,
        io::ErrorKind::ReadOnlyFilesystem | io::ErrorKind::PermissionDenied => {
            StorageErrorType::ReadOnly
        }
        _ => StorageErrorType::Io,
    }
}

/// An error as the operating system would report a failure of this type.
pub fn injected_error(kind: StorageErrorType) -> io::Error {
    let (io_kind, message) = match kind {
        StorageErrorType::DiskFull => (io::ErrorKind::StorageFull, "no space left on device"),
        StorageErrorType::ReadOnly => (io::ErrorKind::ReadOnlyFilesystem, "read-only file system"),
        StorageErrorType::Io => (io::ErrorKind::Other, "input/output error"),
    };
    io::Error::new(io_kind, format!("{message} (injected fault)"))
}

/// A failed storage operation: what was attempted, on which path, and why.
#[derive(Debug)]
pub struct StorageError {
    operation: &'static str,
    path: PathBuf,
    error: io::Error,
}

impl StorageError {
    /// `operation` (e.g. "write") on `path` failed with `error`.
    pub fn new(operation: &'static str, path: &Path, error: io::Error) -> Self {
        StorageError {
            operation,
            path: path.to_path_buf(),
            error,
        }
    }

    /// The catalog error type of this failure.
    pub fn error_type(&self) -> StorageErrorType {
        error_type_of(&self.error)
    }
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot {} {}: {}",
            self.operation,
            self.path.display(),
            self.error
        )
    }
}

impl std::error::Error for StorageError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn os_errors_map_to_their_type() {
        // Raw codes as Linux reports them.
        let table = [
            (28, StorageErrorType::DiskFull),  // ENOSPC
            (122, StorageErrorType::DiskFull), // EDQUOT
            (30, StorageErrorType::ReadOnly),  // EROFS
            (13, StorageErrorType::ReadOnly),  // EACCES
            (1, StorageErrorType::ReadOnly),   // EPERM
            (5, StorageErrorType::Io),         // EIO
            (2, StorageErrorType::Io),         // ENOENT
        ];
        for (code, expected) in table {
            let error = io::Error::from_raw_os_error(code);
            assert_eq!(error_type_of(&error), expected, "{error}");
        }
    }

    #[test]
    fn injected_errors_map_back_to_their_type() {
        for kind in StorageErrorType::ALL {
            assert_eq!(error_type_of(&injected_error(*kind)), *kind);
        }
    }

    #[test]
    fn message_names_operation_path_and_cause() {
        let error = StorageError::new(
            "write",
            Path::new("/data/x"),
            injected_error(StorageErrorType::DiskFull),
        );
        assert_eq!(
            error.to_string(),
            "cannot write /data/x: no space left on device (injected fault)"
        );
        assert_eq!(error.error_type(), StorageErrorType::DiskFull);
    }
}
