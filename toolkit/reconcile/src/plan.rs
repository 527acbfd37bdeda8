//! The plan: what a Directory Sync run would do (actions) and what will go wrong (findings).
//! These types are the contract of `plan.json` and `actions.parquet` (docs/plan-format.md);
//! their serialized names are fixed by SPEC §5 and read by the replayer.

use serde::{Deserialize, Serialize};
use serde_json::Value;
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

/// An action's operation. The names are fixed by SPEC §5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    CreateUser,
    UpdateUser,
    DisableUser,
    EnableUser,
    PendingDeleteUser,
    RestoreUser,
    CreateGroup,
    UpdateGroup,
    AddMembers,
    RemoveMembers,
    DeleteGroup,
}

impl Op {
    /// Every op in execution (and report) order.
    pub const ALL: [Op; 11] = [
        Op::CreateUser,
        Op::RestoreUser,
        Op::UpdateUser,
        Op::EnableUser,
        Op::CreateGroup,
        Op::UpdateGroup,
        Op::AddMembers,
        Op::RemoveMembers,
        Op::DisableUser,
        Op::PendingDeleteUser,
        Op::DeleteGroup,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Op::CreateUser => "create_user",
            Op::UpdateUser => "update_user",
            Op::DisableUser => "disable_user",
            Op::EnableUser => "enable_user",
            Op::PendingDeleteUser => "pending_delete_user",
            Op::RestoreUser => "restore_user",
            Op::CreateGroup => "create_group",
            Op::UpdateGroup => "update_group",
            Op::AddMembers => "add_members",
            Op::RemoveMembers => "remove_members",
            Op::DeleteGroup => "delete_group",
        }
    }

    pub fn parse(s: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|o| o.as_str() == s)
    }

    pub fn resource(self) -> Resource {
        match self {
            Op::CreateUser
            | Op::UpdateUser
            | Op::DisableUser
            | Op::EnableUser
            | Op::PendingDeleteUser
            | Op::RestoreUser => Resource::User,
            _ => Resource::Group,
        }
    }

    /// Position in the execution order (and in reports): users come into being before the
    /// groups that list them, members are removed before users are deleted.
    pub fn rank(self) -> usize {
        Op::ALL
            .iter()
            .position(|o| *o == self)
            .unwrap_or(usize::MAX)
    }

    /// A short human heading for reports.
    pub fn heading(self) -> &'static str {
        match self {
            Op::CreateUser => "Users to create",
            Op::RestoreUser => "Users to restore from pending deletion",
            Op::UpdateUser => "Users to update",
            Op::EnableUser => "Users to enable",
            Op::CreateGroup => "Groups to create",
            Op::UpdateGroup => "Groups to update",
            Op::AddMembers => "Members to add",
            Op::RemoveMembers => "Members to remove",
            Op::DisableUser => "Users to disable",
            Op::PendingDeleteUser => "Users to put into pending deletion",
            Op::DeleteGroup => "Groups to delete",
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Resource {
    User,
    Group,
}

impl Resource {
    pub fn as_str(self) -> &'static str {
        match self {
            Resource::User => "user",
            Resource::Group => "group",
        }
    }
}

/// One SCIM PATCH operation (RFC 7644 §3.5.2). A string value `action:N` inside `value` or
/// `path` stands for the SCIM id of the object created by action `N`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchOp {
    pub op: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
}

/// The HTTP request an action becomes (the replayer may re-derive it; it is here so a
/// person can read exactly what will be sent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub method: String,
    /// Relative to the SCIM base URL, e.g. `Users/2819c223-…` or `Groups`.
    pub path: String,
}

/// One attribute an action changes, old → new (JSON values; absent = null).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub attribute: String,
    pub old: Value,
    pub new: Value,
}

/// A member named by an `add_members` / `remove_members` action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRef {
    /// SCIM id of the member; `None` when the member is created by this plan.
    #[serde(default)]
    pub value: Option<String>,
    /// Seq of the action creating the member, when it does not exist yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<u32>,
    /// The member's userName, for people.
    pub display: String,
    /// The AD objectGUID behind the member, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_guid: Option<String>,
}

/// One action of the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    pub seq: u32,
    pub op: Op,
    pub resource: Resource,
    pub instance: String,
    /// SCIM id of the object acted on; absent for creates, and for member changes of a
    /// group this plan creates (see `target_action`).
    #[serde(default)]
    pub target: Option<String>,
    /// Seq of the create action whose result is the target (member changes of new groups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_action: Option<u32>,
    #[serde(rename = "userName", default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(
        rename = "displayName",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub display_name: Option<String>,
    #[serde(rename = "externalId", default)]
    pub external_id: Option<String>,
    /// Stable keys of the objects involved: `objectGUID`, `dn`, `domain` of the AD object,
    /// `id` of the IIJ ID object.
    pub keys: BTreeMap<String, String>,
    /// Which key matched the AD object to the IIJ ID object (`externalId`,
    /// `downstreamId`, `userName`, `displayName`, `previousName`), when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched_by: Option<String>,
    /// The lifecycle rule that produced the action (docs/plan-format.md lists them).
    pub rule: String,
    /// Why, in one sentence.
    pub reason: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
    pub request: Request,
    /// The PATCH operations (updates, member changes, restores).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operations: Vec<PatchOp>,
    /// The full resource for creates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberRef>,
    #[serde(default)]
    pub depends_on: Vec<u32>,
    /// `sha256:` digest of the IIJ ID object as the action was computed against it
    /// (`dirsnap_reconcile::digest`), for the replayer's stale-plan check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_digest: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How sure a finding is: `low` when it is inferred (e.g. Microsoft 365 state guessed from
/// IIJ ID history because no `--m365` snapshot was given).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    High,
    Low,
}

/// A problem predicted before it happens. `code` values are listed in docs/findings.md.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub code: String,
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// What it is about, for people (`user taro@example.co.jp`, `group 営業部`).
    pub subject: String,
    /// Stable keys of the subject (objectGUID, IIJ ID id…).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub keys: BTreeMap<String, String>,
    pub message: String,
    pub remediation: String,
    pub confidence: Confidence,
    /// Seqs of the actions this finding is about.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<u32>,
    /// Set when a blocking finding was explicitly allowed (`--allow-threshold`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allowed: bool,
}

impl Finding {
    /// Whether this finding makes `dirsnap reconcile` exit 3.
    pub fn blocks(&self) -> bool {
        self.severity == Severity::Error && !self.allowed
    }
}

/// An object the plan deliberately leaves alone, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub resource: Resource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The object's name for people.
    pub name: String,
    pub keys: BTreeMap<String, String>,
    pub reason: String,
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

    /// `plan.json` text: pretty JSON, newline-terminated, byte-identical for equal plans.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        let mut s = serde_json::to_string_pretty(self)?;
        s.push('\n');
        Ok(s)
    }

    pub fn from_json(text: &str) -> Result<Plan, serde_json::Error> {
        serde_json::from_str(text)
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
