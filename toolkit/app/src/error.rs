//! Why a workflow failed. Every variant keeps the error it comes from as its source, and every
//! message names the file, the key or the flag at fault and what was expected; the command
//! line decides the exit code from the variant (and its source), nothing here does.

use dirsnap_config::ConfigError;
use dirsnap_mock_scim::MockError;
use dirsnap_model::SnapshotKind;
use dirsnap_model::scim_json::ScimJsonError;
use dirsnap_plan::PlanDirError;
use dirsnap_reconcile::ReconcileError;
use dirsnap_replay::ReplayError;
use dirsnap_replay::journal::JournalError;
use dirsnap_scim::ScimError;
use dirsnap_snapshot::SnapshotError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    // --- what the inputs' own crates found ---
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// The engine refused the inputs (a profile value, a mapping, a filter).
    #[error(transparent)]
    Reconcile(#[from] ReconcileError),
    /// Writing or reading a plan directory, or digesting an input snapshot's manifest.
    #[error(transparent)]
    PlanDir(#[from] PlanDirError),
    #[error(transparent)]
    Journal(#[from] JournalError),

    // --- inputs named on the command line ---
    #[error("{path}: {label} expects {} snapshot, but this is {} snapshot", .expected.with_article(), .found.with_article())]
    WrongKind {
        path: PathBuf,
        /// How the snapshot was named: the flag, or the plan's record of it.
        label: String,
        expected: SnapshotKind,
        found: SnapshotKind,
    },
    #[error(
        "{path}: this AD snapshot belongs to instance {instance} but its manifest.json records no config, so that instance's mapping and ownership filters are unknown; export it with `dirsnap export ad --config <its config.yml>`, or reconcile it on its own with --config"
    )]
    NoRecordedConfig { path: PathBuf, instance: String },
    #[error("{path}: the config it records cannot be read back: {source}")]
    RecordedConfig {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "--mode normal needs --previous-iid SNAP: the IIJ ID state the last sync left (Directory Sync's cache)"
    )]
    NormalModeWithoutPreviousIid,
    #[error("{path}: --previous-ad belongs to instance {instance}, which no --ad snapshot has")]
    PreviousAdUnmatched { path: PathBuf, instance: String },
    #[error("{path}: a second --previous-ad for instance {instance}")]
    PreviousAdTwice { path: PathBuf, instance: String },
    #[error(
        "{path}: --secret given but it holds no IIJ ID access token (nor is {env} set)",
        env = dirsnap_config::ENV_IID_TOKEN
    )]
    SecretWithoutToken { path: PathBuf },
    /// Two inputs contradict each other (swapped, the same twice, another tenant or domain).
    #[error("{message}")]
    InputsDisagree { message: String },
    #[error(transparent)]
    PendingList(#[from] crate::inputs::PendingListError),
    #[error(
        "{path}: --history names neither an IID snapshot nor a folder holding one taken before --iid (a snapshot directory has a manifest.json)"
    )]
    HistoryFolderEmpty { path: PathBuf },
    #[error(
        "{path}: the {what} changed since the plan was built (digest {digest}, the plan recorded {recorded}); --verify must reconcile against the same inputs"
    )]
    RecordedFileChanged {
        path: PathBuf,
        what: String,
        digest: String,
        recorded: String,
    },
    #[error("{path}: already exists; plans are immutable, so choose a new --out directory")]
    PlanExists { path: PathBuf },
    #[error("{path}: already exists; choose a new --out directory")]
    OutputExists { path: PathBuf },

    // --- inputs a plan recorded (`replay --verify`) ---
    #[error("{path}: {source}")]
    PlanManifest {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: inputs: {source}")]
    PlanManifestInputs {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{manifest}: records no ad/iid inputs, so --verify cannot reconcile this plan again")]
    NoRecordedInputs { manifest: PathBuf },
    #[error("{manifest}: no config input recorded for instance {instance}")]
    NoRecordedInstanceConfig { manifest: PathBuf, instance: String },
    #[error(
        "{recorded}: the {what} the plan was built from (recorded in {manifest}) is gone; --verify reconciles against the same inputs, so restore it (or verify from the directory reconcile ran in)"
    )]
    InputGone {
        recorded: String,
        what: String,
        manifest: PathBuf,
    },
    #[error(
        "{path}: the {what} changed since the plan was built (manifest.json digest {digest}, the plan recorded {recorded}); --verify must reconcile against the same inputs"
    )]
    InputChanged {
        path: PathBuf,
        what: String,
        digest: String,
        recorded: String,
    },
    #[error(
        "{recorded}: the config the plan was built from (recorded in {manifest}) is gone; --verify reconciles against the same config"
    )]
    ConfigGone { recorded: String, manifest: PathBuf },
    #[error(
        "{path}: the config changed since the plan was built (digest {digest}, the plan recorded {recorded}); --verify must reconcile against the same config"
    )]
    ConfigChanged {
        path: PathBuf,
        digest: String,
        recorded: String,
    },

    // --- `replay --verify` against the tenant ---
    /// 401/403 while reading the touched objects back.
    #[error(
        "--verify: {source}\nthen run the same command again: the journal says every action is done, so only the verification runs"
    )]
    VerifyAuth {
        #[source]
        source: ScimError,
    },
    #[error("--verify: reading the touched objects: {source}")]
    VerifyRead {
        #[source]
        source: ScimError,
    },
    #[error("--verify: {source}")]
    VerifyConvert {
        #[source]
        source: ScimJsonError,
    },
    /// The inputs reconciled once; failing the second time is not the user's input.
    #[error("--verify: reconciling again: {source}")]
    ReconcileAgain {
        #[source]
        source: ReconcileError,
    },

    // --- `simulate`'s mock IIJ ID ---
    #[error("{path}: dirsnap.profile: {source}")]
    MockProfile {
        path: PathBuf,
        #[source]
        source: MockError,
    },
    #[error("cannot start the in-process mock IIJ ID: {source}")]
    MockStart {
        #[source]
        source: MockError,
    },
    #[error("SCIM client for the mock: {source}")]
    MockClient {
        #[source]
        source: ScimError,
    },
    /// The plan just written, read back for the replay.
    #[error(transparent)]
    ReloadPlan { source: PlanDirError },
    #[error("replay onto the mock: {source}")]
    MockReplay {
        #[source]
        source: ReplayError,
    },
    #[error("dumping the mock to {path}: {source}")]
    MockDump {
        path: PathBuf,
        #[source]
        source: MockError,
    },

    // --- the machine ---
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Creating, writing or publishing an output directory (`--out`).
    #[error(transparent)]
    Output(#[from] dirsnap_durable::DurableError),
    #[error("{path}: {source}")]
    Encode {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot start the async runtime: {0}")]
    AsyncRuntime(#[source] std::io::Error),
    /// Users that do not fit the engine's user table (4 GiB of one attribute's text in
    /// 65,536 consecutive users).
    #[error("cannot hold the users in memory: {0}")]
    UserTable(#[from] dirsnap_model::TableError),
}
