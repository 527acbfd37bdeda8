//! The plan contract: what `dirsnap reconcile` writes and `plan show`, `replay`, `audit` and
//! users' own tools read (docs/plan-format.md). Holds no rules of Directory Sync, only the
//! shape of their outcome:
//!
//! * [`action`]: the actions (op, target, keys, reason, changes, PATCH operations, members,
//!   dependencies) — one SCIM request each;
//! * [`finding`] and [`codes`]: problems predicted before they happen, with their stable codes
//!   and usual severities (docs/findings.md), and the objects a plan leaves alone;
//! * [`plan`]: the whole plan with its instances, input digests and summary;
//! * [`digest`]: the per-object state digests the replayer's stale-plan check recomputes;
//! * [`json`] and [`tables`]: `plan.json` (one line per action) and the Parquet tables;
//! * [`dir`]: the plan directory, written atomically and read back checked.
//!
//! Both sides of the contract depend on this crate, not on each other: the engine
//! (dirsnap-reconcile) produces plans, the report and replay crates consume them.

pub mod action;
pub mod codes;
pub mod digest;
pub mod dir;
pub mod finding;
pub mod json;
pub mod plan;
pub mod tables;

pub use action::{Action, Change, Keys, MemberRef, Op, PatchOp, Request, Resource, show};
pub use dir::{
    InputRef, PLAN_DATA_FILES, PlanDir, PlanDirError, ReportFile, VerifiedFile, load_plan,
    manifest_digest, read_plan_manifest, verify_files, write_plan_dir,
};
pub use finding::{Confidence, Finding, Severity, Skipped};
pub use json::{ActionJson, write_list_item};
pub use plan::{InputDigest, InstanceInfo, Mode, PLAN_SCHEMA_VERSION, Plan, Summary};
pub use tables::{actions_batch, findings_batch};
