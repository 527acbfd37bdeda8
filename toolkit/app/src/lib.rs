//! The workflows below the command line: what `dirsnap reconcile`, `audit`, `simulate`,
//! `replay --verify` and `check` do, without clap, terminals or exit codes. The `dirsnap`
//! binary parses arguments, draws progress from [`Progress`], renders the results and maps
//! an [`AppError`] to an exit code; everything between is here, for it and for any other
//! front end.
//!
//! * [`inputs`]: the one input loader. Snapshots and config — named on the command line, or
//!   recorded in a plan directory — opened, kind-checked, digested and read the way the
//!   engine wants them, once; [`inputs::LoadedInputs::view`] lends them to the engine.
//! * [`reconcile`]: load, compute the plan, write the plan directory.
//! * [`audit`]: the recovery-mode and normal-mode plans, the audit and its report files.
//! * [`simulate`]: reconcile, replay onto an in-process mock IIJ ID, reconcile again.
//! * [`verify`]: after a replay, re-read what the plan touched and reconcile its own inputs
//!   again over it: what is still pending.
//! * [`check`]: the pre-flight probes of config, domain controllers and IIJ ID, as data.

pub mod audit;
pub mod check;
mod error;
pub mod inputs;
mod progress;
pub mod reconcile;
pub mod simulate;
pub mod verify;

pub use error::AppError;
pub use progress::Progress;
