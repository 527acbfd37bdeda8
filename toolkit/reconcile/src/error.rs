/// Why a plan could not be computed. Every variant names the file and key at fault; all of
/// them are invalid input (exit 2): the engine does no I/O that could fail otherwise.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("{file}: {key}: expected {expected}, found {found}")]
    Profile {
        file: String,
        key: String,
        expected: String,
        found: String,
    },
    #[error("{file}:{line}: {key}: {message}")]
    Config {
        file: String,
        line: u64,
        key: String,
        message: String,
    },
    #[error("{0}")]
    Input(String),
}
