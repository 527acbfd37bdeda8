//! What the engine reasons from: the rows of each Directory Sync instance's AD snapshot(s) with
//! its config, the IIJ ID snapshot(s), optionally Microsoft 365, and the instant of the plan.
//! Everything is borrowed; the engine clones no row.

use crate::error::ReconcileError;
use crate::key::Edges;
use crate::pending::{DismissedPending, PendingEvidence};
use chrono::{DateTime, Utc};
use dirsnap_config::DsConfig;
use dirsnap_model::{AdGroup, AdUserTable, Filters, IidGroup, IidUserTable, M365User};
use dirsnap_plan::{InputDigest, Mode};
use std::collections::BTreeSet;

/// One AD snapshot's rows.
#[derive(Debug, Clone, Copy)]
pub struct AdSnapshot<'a> {
    pub users: &'a AdUserTable,
    pub groups: &'a [AdGroup],
    pub memberships: &'a Edges,
    pub taken_at: DateTime<Utc>,
    /// The LDAP filters the exporter applied (the snapshot's outer bound).
    pub filters: &'a Filters,
    pub domain: Option<&'a str>,
}

/// One IIJ ID snapshot's rows.
#[derive(Debug, Clone, Copy)]
pub struct IidSnapshot<'a> {
    pub users: &'a IidUserTable,
    pub groups: &'a [IidGroup],
    pub memberships: &'a Edges,
    /// When it was taken, when known (compared with the AD snapshots' time).
    pub taken_at: Option<DateTime<Utc>>,
}

/// One Directory Sync instance: its config and its AD snapshot(s).
#[derive(Debug, Clone)]
pub struct Instance<'a> {
    pub name: String,
    pub config: &'a DsConfig,
    /// Where the config came from, for the plan (`config.yml`, `SNAP/manifest.json`).
    pub config_source: String,
    pub ad: AdSnapshot<'a>,
    /// The AD state at the last sync (history: DN changes, recreated accounts, shrink).
    pub previous_ad: Option<AdSnapshot<'a>>,
}

/// Everything the engine reasons from. No clock: `as_of` is an input.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    pub instances: Vec<Instance<'a>>,
    /// The live tenant.
    pub iid: IidSnapshot<'a>,
    /// The last-known state (Directory Sync's cache), for normal mode.
    pub previous_iid: Option<IidSnapshot<'a>>,
    pub m365: Option<&'a [M365User]>,
    pub mode: Mode,
    pub as_of: DateTime<Utc>,
    /// `exp` of the IIJ ID access token, when known.
    pub token_expires_at: Option<DateTime<Utc>>,
    /// Threshold categories explicitly allowed (`all` allows every one).
    pub allow_thresholds: Vec<String>,
    pub input_digests: Vec<InputDigest>,
    /// Users pending deletion the live listing lacks (history, the console's list): one
    /// entry per row the loader appended to `iid.users` (`pending::Presumption`). Empty
    /// without such sources.
    pub pending_evidence: &'a [PendingEvidence],
    /// Users history suggested that something shows were deleted for good (plan notes).
    pub pending_dismissed: &'a [DismissedPending],
}

/// Threshold categories (the keys under `dirsnap.thresholds`).
pub const THRESHOLD_CATEGORIES: &[&str] = &[
    "pending_deletions",
    "disables",
    "group_deletes",
    "member_removals_per_group",
    "source_shrink",
];

impl<'a> Inputs<'a> {
    /// The IIJ ID state requests are computed against — what Directory Sync compares AD
    /// with: the live tenant in recovery mode, its cache (the last-known state) in normal
    /// mode. Refuses inputs no Directory Sync setup could have.
    pub(crate) fn base_iid(&self) -> Result<IidSnapshot<'a>, ReconcileError> {
        if self.instances.is_empty() {
            return Err(ReconcileError::Input(
                "at least one AD snapshot (--ad) is needed".into(),
            ));
        }
        let base = match (self.mode, self.previous_iid) {
            (Mode::Normal, Some(previous)) => previous,
            (Mode::Normal, None) => {
                return Err(ReconcileError::Input(
                    "--mode normal needs --previous-iid (the IIJ ID state the last sync left, i.e. Directory Sync's cache)".into(),
                ));
            }
            (Mode::Recovery, _) => self.iid,
        };
        let mut names = BTreeSet::new();
        for instance in &self.instances {
            if !names.insert(instance.name.as_str()) {
                return Err(ReconcileError::Input(format!(
                    "two AD snapshots belong to instance {:?}; each Directory Sync instance (one per AD domain) needs its own name (dirsnap.instance in its config)",
                    instance.name
                )));
            }
        }
        Ok(base)
    }
}
