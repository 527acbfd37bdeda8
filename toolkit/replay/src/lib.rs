//! Replay: executes exactly the actions of a reviewed plan against a SCIM endpoint (SPEC §6).
//!
//! * `dirsnap_plan::load_plan` reads and verifies a plan directory.
//! * [`replay`] checks the plan is not stale, then runs the actions in dependency order with
//!   bounded concurrency and pacing, journaling every attempt and outcome (fsync'd) to
//!   `PLAN/journal.jsonl`; running it again resumes from the journal and never applies an
//!   action twice. A lock file refuses two replays of one plan at once.
//!
//! docs/replay.md describes the behaviour for users.

mod exec;
pub mod journal;
pub mod lock;
mod stale;

pub use exec::{
    DeleteLimit, Failure, Interrupt, Outcome, PlannedRequest, Progress, ReplayOptions,
    ReplaySummary, Tally, replay,
};
pub use stale::Drift;

use dirsnap_scim::ScimError;

/// What stopped a replay early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopCause {
    /// The access token was refused (401/403): resume once it is replaced.
    Auth,
    /// The deletions still to apply exceed the delete limit: resume with a limit of at least
    /// `deletions`, once they are reviewed.
    DeleteLimit { deletions: u64 },
    /// Ctrl-C or SIGTERM: resume as it was.
    Interrupted,
}

/// Why a replay did not run to its end.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The plan directory is not a valid, unmodified plan (exit 2).
    #[error("{0}")]
    Plan(String),
    /// The plan has unallowed error findings (exit 3).
    #[error("{0}")]
    Blocked(String),
    /// The tenant moved since the plan was computed (exit 2).
    #[error("the plan is stale: {} object(s) changed in IIJ ID since it was computed:\n{}\nnothing was written; reconcile again from a fresh export, or pass --force-stale to apply it anyway", .0.len(), stale::list(.0))]
    Stale(Vec<Drift>),
    #[error(transparent)]
    Lock(#[from] lock::LockError),
    #[error(transparent)]
    Journal(#[from] journal::JournalError),
    /// Stopped early; the journal lets the same command resume (exit 4).
    #[error("{reason}")]
    Stopped {
        reason: String,
        /// What stopped it, which decides how to resume.
        cause: StopCause,
        summary: Box<ReplaySummary>,
    },
    /// Reading the tenant for the stale check failed (exit 1, or 4 for 401/403).
    #[error("stale-plan check: {0}")]
    Scim(#[from] ScimError),
    #[error("{0}")]
    Runtime(String),
}
