//! A command's failure, with the error it comes from kept as its source, and the one place
//! that turns a failure into an exit code: [`exit_code`].

use dirsnap_ad::AdError;
use dirsnap_app::AppError;
use dirsnap_app::inputs::PendingListError;
use dirsnap_config::ConfigError;
use dirsnap_m365::M365Error;
use dirsnap_mock_scim::MockError;
use dirsnap_plan::PlanDirError;
use dirsnap_replay::ReplayError;
use dirsnap_scim::{ExportError, ScimError};
use dirsnap_snapshot::SnapshotError;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Usage or invalid input the command itself found: a missing or conflicting argument,
    /// a value it cannot use.
    #[error("{0}")]
    Input(String),
    /// The run ended as it should, with an outcome that is a failure: checks failed, actions
    /// failed, the tenant did not converge.
    #[error("{0}")]
    Failed(String),
    /// Error findings or an exceeded threshold block the plan; the audit's verdict is "not
    /// safe"; the simulation does not converge.
    #[error("{0}")]
    Blocked(String),
    /// Replay stopped early and can be resumed; the message says with which command.
    #[error("{0}")]
    Stopped(String),
    #[error(transparent)]
    App(#[from] AppError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error(transparent)]
    PlanDir(#[from] PlanDirError),
    #[error(transparent)]
    Replay(#[from] ReplayError),
    #[error(transparent)]
    Ad(#[from] AdError),
    #[error(transparent)]
    M365(#[from] M365Error),
    #[error(transparent)]
    Mock(#[from] MockError),
    #[error(transparent)]
    IidExport(#[from] ExportError),
    /// A SCIM client that cannot be built from the settings given (URL, CA file, proxy).
    #[error(transparent)]
    ScimSetup(ScimError),
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    /// The operating system refused something the command needs (a runtime, a signal).
    #[error("{what}: {source}")]
    System {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
}

impl CliError {
    pub fn system(what: &'static str) -> impl FnOnce(std::io::Error) -> CliError {
        move |source| CliError::System { what, source }
    }
}

const DONE: u8 = 0;
const RUNTIME: u8 = 1;
const INPUT: u8 = 2;
const BLOCKED: u8 = 3;
const STOPPED: u8 = 4;

/// SPEC §2: 0 done; 1 runtime error (network, I/O, server); 2 usage or invalid
/// config/input; 3 error findings or a threshold block the plan; 4 replay stopped early and
/// can be resumed.
pub fn exit_code(result: &Result<(), CliError>) -> u8 {
    let input_or_runtime = |invalid: bool| if invalid { INPUT } else { RUNTIME };
    let Err(e) = result else {
        return DONE;
    };
    match e {
        CliError::Input(_) | CliError::Config(_) | CliError::ScimSetup(_) => INPUT,
        CliError::Failed(_)
        | CliError::IidExport(_)
        | CliError::Json(_)
        | CliError::System { .. } => RUNTIME,
        CliError::Blocked(_) => BLOCKED,
        CliError::Stopped(_) => STOPPED,
        CliError::Snapshot(e) => input_or_runtime(e.is_invalid_input()),
        CliError::PlanDir(e) => input_or_runtime(e.is_invalid_input()),
        CliError::Ad(e) => input_or_runtime(e.is_invalid_input()),
        CliError::M365(e) => input_or_runtime(e.is_invalid_input()),
        CliError::Mock(e) => input_or_runtime(e.is_invalid_input()),
        CliError::Replay(e) => match e {
            ReplayError::Plan(_) | ReplayError::Stale(_) => INPUT,
            ReplayError::Blocked(_) => BLOCKED,
            ReplayError::Stopped { .. } => STOPPED,
            ReplayError::Lock(_)
            | ReplayError::Journal(_)
            | ReplayError::Scim(_)
            | ReplayError::Runtime(_) => RUNTIME,
        },
        CliError::App(e) => match e {
            AppError::Snapshot(e) => input_or_runtime(e.is_invalid_input()),
            AppError::PlanDir(e) => input_or_runtime(e.is_invalid_input()),
            AppError::Config(_)
            | AppError::Reconcile(_)
            | AppError::WrongKind { .. }
            | AppError::NoRecordedConfig { .. }
            | AppError::NormalModeWithoutPreviousIid
            | AppError::PreviousAdUnmatched { .. }
            | AppError::PreviousAdTwice { .. }
            | AppError::SecretWithoutToken { .. }
            | AppError::PlanExists { .. }
            | AppError::OutputExists { .. }
            | AppError::InputsDisagree { .. }
            | AppError::HistoryFolderEmpty { .. }
            | AppError::RecordedFileChanged { .. }
            | AppError::PlanManifest { .. }
            | AppError::PlanManifestInputs { .. }
            | AppError::NoRecordedInputs { .. }
            | AppError::NoRecordedInstanceConfig { .. }
            | AppError::InputGone { .. }
            | AppError::InputChanged { .. }
            | AppError::ConfigGone { .. }
            | AppError::ConfigChanged { .. }
            | AppError::MockProfile { .. }
            | AppError::UserTable(_) => INPUT,
            AppError::PendingList(e) => match e {
                PendingListError::Io { source, .. } => input_or_runtime(matches!(
                    source.kind(),
                    std::io::ErrorKind::NotFound
                        | std::io::ErrorKind::PermissionDenied
                        | std::io::ErrorKind::IsADirectory
                        | std::io::ErrorKind::InvalidData
                )),
                PendingListError::Csv { .. } | PendingListError::Invalid { .. } => INPUT,
            },
            AppError::VerifyAuth { .. } => STOPPED,
            AppError::Journal(_)
            | AppError::RecordedConfig { .. }
            | AppError::VerifyRead { .. }
            | AppError::VerifyConvert { .. }
            | AppError::ReconcileAgain { .. }
            | AppError::MockStart { .. }
            | AppError::MockClient { .. }
            | AppError::ReloadPlan { .. }
            | AppError::MockReplay { .. }
            | AppError::MockDump { .. }
            | AppError::Io { .. }
            | AppError::Output(_)
            | AppError::Encode { .. }
            | AppError::AsyncRuntime(_) => RUNTIME,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_and_inputs_have_their_codes() {
        assert_eq!(exit_code(&Ok(())), 0);
        assert_eq!(exit_code(&Err(CliError::Input("x".into()))), 2);
        assert_eq!(exit_code(&Err(CliError::Blocked("x".into()))), 3);
        assert_eq!(exit_code(&Err(CliError::Stopped("x".into()))), 4);
        let io = |kind| std::io::Error::new(kind, "x");
        let missing = SnapshotError::MissingManifest { path: "s".into() };
        assert_eq!(exit_code(&Err(AppError::from(missing).into())), 2);
        let disk = SnapshotError::Io {
            path: "s".into(),
            source: io(std::io::ErrorKind::StorageFull),
        };
        assert_eq!(exit_code(&Err(AppError::from(disk).into())), 1);
        assert_eq!(
            exit_code(&Err(AppError::NormalModeWithoutPreviousIid.into())),
            2
        );
    }
}
