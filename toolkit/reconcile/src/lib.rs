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
//!
//! Where each Directory Sync rule lives (the passes run in the order `driver.rs` gives):
//!
//! | rule | module |
//! |---|---|
//! | inputs, one instance's working state | `inputs`, `instance`, `ids` (typed row indices) |
//! | scope, filter width, ownership filters | `scope` |
//! | duplicate keys, matching | `users::duplicates`, `users::matching` |
//! | user lifecycle (create, update, adopt, enable/disable, restore, recreated) | `users::lifecycle`, `users::recreated`, `users::actions` |
//! | ownership conflicts, foreign deletes, orphan users | `ownership` |
//! | Microsoft 365 linkage of recreated accounts | `m365` |
//! | Microsoft 365 accounts of disabled, deleted, restored and enabled users | `m365_lifecycle` |
//! | pending deletion the live listing cannot show (history, the console's list) | `pending` (pure, called by the loader), `checks::pending` |
//! | groups: names, matching, create/rename, orphan deletes | `groups` |
//! | group membership | `membership` |
//! | normal-mode drift, DN changes, token expiry | `checks` |
//! | thresholds | `thresholds` |
//! | plan order and seqs | `assembly` |
//! | the text of every finding, skipped object and note | `findings` |
//! | column pruning for the snapshot reader | `raw_needs` |

pub mod apply;
mod assembly;
mod checks;
mod driver;
mod entry;
mod error;
mod findings;
mod groups;
mod ids;
mod iid_json;
mod index;
mod inputs;
mod instance;
mod key;
mod m365;
mod m365_lifecycle;
pub mod mapping;
mod membership;
mod object_keys;
mod ownership;
mod par;
pub mod pending;
mod plan_builder;
pub mod profile;
mod raw_needs;
mod scope;
mod thresholds;
pub mod token;
mod users;

pub use driver::reconcile;
pub use entry::norm_dn;
pub use error::ReconcileError;
pub use iid_json::user_json;
pub use inputs::{AdSnapshot, IidSnapshot, Inputs, Instance, THRESHOLD_CATEGORIES};
pub use key::{EdgeRef, Edges, Key, MemberEdge, edges};
pub use raw_needs::{IID_COLUMNS_NEVER_READ, RawNeeds, raw_needs};
