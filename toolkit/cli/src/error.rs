use dirsnap_snapshot::SnapshotError;

/// A command's failure, carrying the exit code SPEC §2 assigns to it.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Usage or invalid input (exit 2).
    #[error("{0}")]
    Input(String),
    /// Runtime failure: I/O, network, server (exit 1).
    #[error("{0}")]
    Runtime(String),
    /// Reconcile produced error findings or a threshold blocks the plan (exit 3).
    #[error("{0}")]
    Blocked(String),
    /// Replay stopped early and can be resumed (exit 4).
    #[error("{0}")]
    Stopped(String),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Input(_) => 2,
            CliError::Runtime(_) => 1,
            CliError::Blocked(_) => 3,
            CliError::Stopped(_) => 4,
        }
    }
}

impl From<SnapshotError> for CliError {
    fn from(e: SnapshotError) -> Self {
        if e.is_invalid_input() {
            CliError::Input(e.to_string())
        } else {
            CliError::Runtime(e.to_string())
        }
    }
}

impl From<dirsnap_config::ConfigError> for CliError {
    /// A config.yml or secret.yml that cannot be used is always the user's input to fix.
    fn from(e: dirsnap_config::ConfigError) -> Self {
        CliError::Input(e.to_string())
    }
}
