//! The reconcile engine: snapshots' rows and Directory Sync's config in, a plan of actions
//! and findings out. Pure: no I/O, no clock (the instant it reasons at is an input), so the
//! same inputs always give a byte-identical `plan.json`.
//!
//! * [`reconcile`] computes a [`Plan`] from [`Inputs`] (one or more AD snapshots, each with
//!   its instance's config; the live IIJ ID snapshot; optionally the last-known IIJ ID state,
//!   a previous AD snapshot and a Microsoft 365 snapshot).
//! * [`profile`] holds every assumption about undocumented IIJ ID behaviour.
//! * [`apply`] applies a plan to an in-memory IIJ ID state (convergence checks).
//!
//! The plan's types, its finding codes and the state digests are the plan contract, in
//! dirsnap-plan (docs/plan-format.md; docs/findings.md lists every code).

pub mod apply;
mod engine;
mod entry;
mod error;
mod index;
mod key;
pub mod mapping;
mod par;
pub mod profile;
pub mod token;

pub use engine::{
    AdSnapshot, IidSnapshot, Inputs, Instance, RawNeeds, THRESHOLD_CATEGORIES, raw_needs,
    reconcile, show, user_json,
};
pub use entry::norm_dn;
pub use error::ReconcileError;
pub use key::{EdgeRef, Edges, Key, MemberEdge, edges};
// The plan contract under the names the engine's modules use.
use dirsnap_plan as plan;
use dirsnap_plan::{codes as findings, digest};
