//! The reconcile engine: snapshots' rows and Directory Sync's config in, a plan of actions
//! and findings out. Pure: no I/O, no clock (the instant it reasons at is an input), so the
//! same inputs always give a byte-identical `plan.json`.
//!
//! * [`reconcile`] computes a [`Plan`] from [`Inputs`] (one or more AD snapshots, each with
//!   its instance's config; the live IIJ ID snapshot; optionally the last-known IIJ ID state,
//!   a previous AD snapshot and a Microsoft 365 snapshot).
//! * [`profile`] holds every assumption about undocumented IIJ ID behaviour.
//! * [`digest`] computes the per-object state digests the replayer checks for staleness.
//! * [`apply`] applies a plan to an in-memory IIJ ID state (convergence checks).
//!
//! docs/plan-format.md is the contract of the plan files; docs/findings.md lists every code.

pub mod apply;
pub mod codes;
pub mod digest;
mod engine;
mod entry;
mod error;
mod index;
mod key;
pub mod mapping;
mod par;
pub mod plan;
pub mod profile;
pub mod token;

pub use engine::{
    AdSnapshot, IidSnapshot, Inputs, Instance, RawNeeds, THRESHOLD_CATEGORIES, raw_needs,
    reconcile, show, user_json,
};
pub use entry::norm_dn;
pub use error::ReconcileError;
/// The finding codes under their former path (`dirsnap_reconcile::findings::CATALOG`).
pub use codes as findings;
pub use key::{EdgeRef, Edges, Key, MemberEdge, edges};
pub use plan::{
    Action, ActionJson, Change, Confidence, Finding, InputDigest, InstanceInfo, Keys, MemberRef,
    Mode, Op, PLAN_SCHEMA_VERSION, PatchOp, Plan, Request, Resource, Severity, Skipped, Summary,
};
