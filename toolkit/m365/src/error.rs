use dirsnap_snapshot::SnapshotError;
use std::path::PathBuf;

/// Why an M365 export failed. Messages name the file and line, the URL, or the variable
/// concerned, and never contain a secret: server text is passed through [`crate::Redactor`]
/// before it lands here.
#[derive(Debug, thiserror::Error)]
pub enum M365Error {
    /// Missing or contradictory options and credentials (exit 2).
    #[error("{0}")]
    Usage(String),
    /// The CSV file cannot be used as it is (exit 2).
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Csv {
        path: PathBuf,
        line: Option<u64>,
        message: String,
    },
    /// The identity platform or Graph refused our credentials or permissions (exit 2: the
    /// user has to fix the credentials, retrying cannot help).
    #[error("{url}: {message}")]
    Auth { url: String, message: String },
    /// Graph answered with a client error for the request itself, e.g. a wrong --graph-url
    /// (exit 2).
    #[error("{url}: {message}")]
    Request { url: String, message: String },
    /// Network failure or server error, after the retry budget was spent (exit 1).
    #[error("{url}: {message}")]
    Http { url: String, message: String },
    /// The server answered something that is not what Graph sends (exit 1).
    #[error("{url}: unexpected response: {message}")]
    Protocol { url: String, message: String },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
}

impl M365Error {
    /// True when the user's input, options or credentials are at fault (exit 2), false for
    /// runtime failures (exit 1).
    pub fn is_invalid_input(&self) -> bool {
        match self {
            M365Error::Usage(_)
            | M365Error::Csv { .. }
            | M365Error::Auth { .. }
            | M365Error::Request { .. } => true,
            M365Error::Http { .. } | M365Error::Protocol { .. } | M365Error::Io { .. } => false,
            M365Error::Snapshot(e) => e.is_invalid_input(),
        }
    }

    pub(crate) fn csv(
        path: &std::path::Path,
        line: Option<u64>,
        message: impl Into<String>,
    ) -> Self {
        M365Error::Csv {
            path: path.to_path_buf(),
            line,
            message: message.into(),
        }
    }
}
