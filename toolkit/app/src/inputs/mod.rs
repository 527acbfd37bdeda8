//! The one input loader: snapshots and config in, an owned set of rows the engine borrows
//! ([`LoadedInputs::view`]) out.
//!
//! Two front doors, one path: [`from_sources`] reads what the command line names
//! (`reconcile`, `audit`, `simulate`), [`from_plan`] reads what a plan directory recorded
//! (`replay --verify`), each checked against its recorded digest first. Both open,
//! kind-check, digest, take an instance's config from a manifest and read the rows through
//! the same functions ([`snapshot`], [`instance`]), so a rule about inputs is written once.
//!
//! Users pending deletion that the live listing cannot show (IIJ ID hides them over SCIM) come
//! from earlier IID snapshots and the console's list ([`pending`]); they are appended to the
//! live users, with their evidence beside them for the engine.
//!
//! Columns nothing will look at are not decoded: an AD snapshot is read without `raw` and
//! without the columns its instance's mapping never binds, unless a filter is evaluated on
//! the rows ([`dirsnap_reconcile::raw_needs`]).

mod consistency;
mod edges;
mod instance;
pub mod pending;
mod recorded;
mod rows;
mod snapshot;
mod sources;

pub use edges::{EdgeRow, read_edges};
pub use pending::{Pending, PendingListError, read_pending_list};
pub use recorded::{check_recorded, from_plan, locate};
pub use rows::{AdRows, IidRows};
pub use snapshot::Read;
pub use sources::{Options, Sources, from_sources};

use chrono::{DateTime, Utc};
use dirsnap_config::DsConfig;
use dirsnap_model::M365User;
use dirsnap_plan::InputRef;
use dirsnap_plan::{InputDigest, Mode};
use dirsnap_reconcile::{Inputs, Instance};
use std::path::PathBuf;

/// An input file as a plan records it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: PathBuf,
    /// `sha256:` of a snapshot's `manifest.json`, or of a file's bytes.
    pub digest: String,
}

/// One Directory Sync instance's inputs.
#[derive(Debug)]
pub struct LoadedInstance {
    pub name: String,
    pub config: DsConfig,
    /// Where the config came from, for the plan (a config.yml, or an AD snapshot's manifest).
    pub config_source: String,
    pub ad: Read<AdRows>,
    pub previous_ad: Option<Read<AdRows>>,
}

/// Everything a plan is computed from, loaded and owned.
#[derive(Debug)]
pub struct LoadedInputs {
    pub instances: Vec<LoadedInstance>,
    /// The live tenant; its users end with those [`Pending`] adds (pending deletion, not
    /// listed).
    pub iid: Read<IidRows>,
    /// The state the last sync left (Directory Sync's cache).
    pub previous_iid: Option<Read<IidRows>>,
    /// Users pending deletion the live listing lacks, and where that comes from.
    pub pending: Pending,
    pub m365: Option<Read<Vec<M365User>>>,
    pub mode: Mode,
    pub as_of: DateTime<Utc>,
    pub token_expires_at: Option<DateTime<Utc>>,
    /// Threshold categories allowed to be exceeded (`all` allows each).
    pub allow_thresholds: Vec<String>,
    /// The inputs' digests as the plan records them.
    pub input_digests: Vec<InputDigest>,
    /// The inputs as the plan directory's manifest records them.
    pub refs: Vec<InputRef>,
}

impl LoadedInputs {
    /// The engine's view: borrows every row, copies none.
    pub fn view(&self) -> Inputs<'_> {
        Inputs {
            instances: self
                .instances
                .iter()
                .map(|i| Instance {
                    name: i.name.clone(),
                    config: &i.config,
                    config_source: i.config_source.clone(),
                    ad: i.ad.rows.view(),
                    previous_ad: i.previous_ad.as_ref().map(|p| p.rows.view()),
                })
                .collect(),
            iid: self.iid.rows.view(),
            previous_iid: self.previous_iid.as_ref().map(|p| p.rows.view()),
            m365: self.m365.as_ref().map(|m| m.rows.as_slice()),
            mode: self.mode,
            as_of: self.as_of,
            token_expires_at: self.token_expires_at,
            allow_thresholds: self.allow_thresholds.clone(),
            input_digests: self.input_digests.clone(),
            pending_evidence: &self.pending.evidence,
            pending_dismissed: &self.pending.dismissed,
        }
    }
}
