use std::path::PathBuf;

/// Why a configuration or secret file could not be used. Each message names the file, the
/// line and column, and the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: malformed YAML: {message}")]
    Yaml {
        path: PathBuf,
        line: u64,
        column: u64,
        message: String,
    },
    #[error("{path}:{line}:{column}: {key}: expected {expected}, found {found}")]
    Invalid {
        path: PathBuf,
        line: u64,
        column: u64,
        key: String,
        expected: String,
        found: String,
    },
    #[error("{path}:{line}:{column}: {key}: {message}")]
    BadValue {
        path: PathBuf,
        line: u64,
        column: u64,
        key: String,
        message: String,
    },
    #[error("{path}: {key} is required: {why}")]
    Missing {
        path: PathBuf,
        key: String,
        why: String,
    },
    /// A `dirsnap.profile` setting of the wrong shape.
    #[error("{path}: {source}")]
    Profile {
        path: PathBuf,
        #[source]
        source: crate::profile::ProfileValueError,
    },
}

impl ConfigError {
    /// The dotted key the error is about, when there is one.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { key, .. }
            | ConfigError::BadValue { key, .. }
            | ConfigError::Missing { key, .. } => Some(key),
            _ => None,
        }
    }
}
