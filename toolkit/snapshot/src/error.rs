use std::path::PathBuf;

/// Why a snapshot could not be written or read. Every variant names the file concerned.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("{path}: not a snapshot or plan directory (no manifest.json)")]
    MissingManifest { path: PathBuf },
    #[error("{path}: invalid manifest: {message}")]
    BadManifest { path: PathBuf, message: String },
    #[error(
        "{path}: schema_version {found} is not supported; this dirsnap reads version {supported}. \
         Re-export the snapshot with this dirsnap, or use the dirsnap version that wrote it"
    )]
    SchemaVersion {
        path: PathBuf,
        found: u64,
        supported: u32,
    },
    #[error(
        "{path}: checksum mismatch: manifest.json records sha256 {expected}, the file has {actual}; \
         the snapshot was modified or corrupted after it was written, so it is refused. Re-export it"
    )]
    Checksum {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("{path}: data file listed in manifest.json is missing")]
    MissingFile { path: PathBuf },
    #[error("{path}: is {found}, expected {expected}")]
    KindMismatch {
        path: PathBuf,
        found: String,
        expected: String,
    },
    #[error("{path}: not a valid snapshot data file: {message}")]
    BadData { path: PathBuf, message: String },
    #[error("{path}: already exists; snapshots are immutable, so choose a new output directory")]
    TargetExists { path: PathBuf },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: could not encode {table}: {message}")]
    Encode {
        path: PathBuf,
        table: &'static str,
        message: String,
    },
}

impl From<dirsnap_durable::DurableError> for SnapshotError {
    fn from(e: dirsnap_durable::DurableError) -> Self {
        use dirsnap_durable::DurableError;
        match e {
            DurableError::Exists { path } => SnapshotError::TargetExists { path },
            DurableError::Unwritable {
                path,
                parent,
                source,
            } => SnapshotError::Io {
                path,
                source: std::io::Error::new(
                    source.kind(),
                    format!(
                        "cannot create it: {} is not a writable directory ({source})",
                        parent.display()
                    ),
                ),
            },
            DurableError::Io { path, source } => SnapshotError::Io { path, source },
        }
    }
}

impl SnapshotError {
    /// True when the input given by the user is at fault (exit 2), false for runtime
    /// failures such as a full disk (exit 1).
    pub fn is_invalid_input(&self) -> bool {
        !matches!(
            self,
            SnapshotError::Io { .. } | SnapshotError::Encode { .. }
        )
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        SnapshotError::Io {
            path: path.into(),
            source,
        }
    }
}
