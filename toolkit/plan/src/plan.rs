//! The plan: what a Directory Sync run would do (actions) and what will go wrong (findings),
//! with the inputs it was computed from. `plan.json` is this type (encoded by [`crate::json`]).

use crate::action::Action;
use crate::finding::{Finding, Skipped};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The plan format version this build writes and reads.
pub const PLAN_SCHEMA_VERSION: u32 = 1;

/// Which state the AD side is diffed against (SPEC §5, issue 6 item 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Diff AD against the live IIJ ID snapshot: what recovery mode (or a first sync) does.
    Recovery,
    /// Diff AD against the last-known state (`--previous-iid`, Directory Sync's cache).
    Normal,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Recovery => "recovery",
            Mode::Normal => "normal",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One Directory Sync instance the plan covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceInfo {
    pub name: String,
    #[serde(default)]
    pub domain: Option<String>,
    /// `sha256:` of the config.yml that drove this instance's mapping.
    pub config_digest: String,
    /// Where the config came from: `--config` or the AD snapshot's manifest.
    pub config_source: String,
    pub ad_user_filter: Option<String>,
    pub ad_group_filter: Option<String>,
    pub iid_user_filter: Option<String>,
    pub iid_group_filter: Option<String>,
}

/// One input snapshot the plan was computed from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct InputDigest {
    /// `ad`, `previous_ad`, `iid`, `previous_iid` or `m365`.
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// `sha256:` of the snapshot's manifest.json (which holds each data file's sha256).
    pub digest: String,
}

/// Counts for people and for `dirsnap inspect`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Summary {
    pub actions: u64,
    pub by_op: BTreeMap<String, u64>,
    pub findings: u64,
    pub by_severity: BTreeMap<String, u64>,
    pub skipped: u64,
    /// True when an unallowed error finding makes the plan blocked (exit 3).
    pub blocked: bool,
}

/// A whole plan: `plan.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub schema_version: u32,
    pub mode: Mode,
    /// The instant the plan reasons at (account expiry, token expiry): an input, never the
    /// wall clock.
    pub as_of: chrono::DateTime<chrono::Utc>,
    pub instances: Vec<InstanceInfo>,
    pub inputs: Vec<InputDigest>,
    pub summary: Summary,
    pub findings: Vec<Finding>,
    pub actions: Vec<Action>,
    pub skipped: Vec<Skipped>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Plan {
    /// Whether any unallowed error finding blocks the plan (exit 3).
    pub fn is_blocked(&self) -> bool {
        self.findings.iter().any(Finding::blocks)
    }

    /// Recomputes `summary` from the actions, findings and skipped lists.
    pub fn summarize(&mut self) {
        let mut s = Summary {
            actions: self.actions.len() as u64,
            findings: self.findings.len() as u64,
            skipped: self.skipped.len() as u64,
            ..Summary::default()
        };
        for a in &self.actions {
            *s.by_op.entry(a.op.as_str().to_string()).or_default() += 1;
        }
        for f in &self.findings {
            *s.by_severity
                .entry(f.severity.as_str().to_string())
                .or_default() += 1;
        }
        s.blocked = self.is_blocked();
        self.summary = s;
    }

    /// The action with this seq.
    pub fn action(&self, seq: u32) -> Option<&Action> {
        self.actions
            .get(usize::try_from(seq).ok()?.checked_sub(1)?)
            .filter(|a| a.seq == seq)
            .or_else(|| self.actions.iter().find(|a| a.seq == seq))
    }
}
