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

/// Stable keys of an object (`objectGUID`, `dn`, `domain`, `id`, …): a small map kept
/// sorted by name, serialized as a JSON object. A plan has one per action, finding and
/// skipped object; a sorted vector is a fraction of a `BTreeMap`'s size and ordered the same.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Keys(Vec<(std::borrow::Cow<'static, str>, String)>);

impl Keys {
    pub fn new() -> Keys {
        Keys(Vec::new())
    }

    pub fn with_capacity(n: usize) -> Keys {
        Keys(Vec::with_capacity(n))
    }

    /// Sets `name` to `value`, returning the value it replaces.
    pub fn insert(&mut self, name: &'static str, value: String) -> Option<String> {
        self.insert_cow(std::borrow::Cow::Borrowed(name), value)
    }

    fn insert_cow(
        &mut self,
        name: std::borrow::Cow<'static, str>,
        value: String,
    ) -> Option<String> {
        match self
            .0
            .binary_search_by(|(k, _)| k.as_ref().cmp(name.as_ref()))
        {
            Ok(i) => self.0.get_mut(i).map(|(_, v)| std::mem::replace(v, value)),
            Err(i) => {
                self.0.insert(i, (name, value));
                None
            }
        }
    }

    pub fn get(&self, name: &str) -> Option<&String> {
        self.0
            .binary_search_by(|(k, _)| k.as_ref().cmp(name))
            .ok()
            .and_then(|i| self.0.get(i))
            .map(|(_, v)| v)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// (name, value) pairs in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &String)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), v))
    }
}

impl<K: Into<String>> FromIterator<(K, String)> for Keys {
    fn from_iter<I: IntoIterator<Item = (K, String)>>(iter: I) -> Keys {
        let mut k = Keys::new();
        for (name, value) in iter {
            k.insert_cow(std::borrow::Cow::Owned(name.into()), value);
        }
        k
    }
}

impl Serialize for Keys {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k.as_ref(), v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Keys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Keys, D::Error> {
        let m = BTreeMap::<String, String>::deserialize(d)?;
        Ok(Keys(
            m.into_iter()
                .map(|(k, v)| (std::borrow::Cow::Owned(k), v))
                .collect(),
        ))
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
    pub keys: Keys,
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
    #[serde(default, skip_serializing_if = "Keys::is_empty")]
    pub keys: Keys,
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
    pub keys: Keys,
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

    /// `plan.json` text (see [`Plan::write_json`]), byte-identical for equal plans.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        let mut out = Vec::new();
        self.write_json(&mut out)?;
        String::from_utf8(out).map_err(|e| {
            serde_json::Error::io(std::io::Error::new(std::io::ErrorKind::InvalidData, e))
        })
    }

    /// Writes `plan.json`: indented like pretty JSON down to the plan's lists, one compact line
    /// per action, finding, skipped object and note; newline-terminated. A plan of a million
    /// changes stays greppable and line-diffable at about two thirds of the pretty size.
    pub fn write_json<W: std::io::Write>(&self, w: &mut W) -> Result<(), serde_json::Error> {
        self.write_json_head(w)?;
        let mut line = Vec::new();
        for (i, a) in self.actions.iter().enumerate() {
            line.clear();
            ActionJson::of(a)?.write_action(a, &mut line)?;
            write_list_item(w, i == 0, &line)?;
        }
        self.write_json_tail(w)
    }

    /// `plan.json` up to and including `"actions": [`; then come the actions, one
    /// [`write_list_item`] each, then [`Plan::write_json_tail`].
    pub fn write_json_head<W: std::io::Write>(&self, w: &mut W) -> Result<(), serde_json::Error> {
        let io = serde_json::Error::io;
        w.write_all(b"{").map_err(io)?;
        field(w, true, "schema_version", &self.schema_version)?;
        field(w, false, "mode", &self.mode)?;
        field(w, false, "as_of", &self.as_of)?;
        field(w, false, "instances", &self.instances)?;
        field(w, false, "inputs", &self.inputs)?;
        field(w, false, "summary", &self.summary)?;
        field(w, false, "findings", &self.findings)?;
        w.write_all(b",\n  \"actions\": [").map_err(io)
    }

    /// Closes the action list and writes the rest of `plan.json`.
    pub fn write_json_tail<W: std::io::Write>(&self, w: &mut W) -> Result<(), serde_json::Error> {
        let io = serde_json::Error::io;
        w.write_all(if self.actions.is_empty() {
            b"]"
        } else {
            b"\n  ]"
        })
        .map_err(io)?;
        field(w, false, "skipped", &self.skipped)?;
        if !self.notes.is_empty() {
            field(w, false, "notes", &self.notes)?;
        }
        w.write_all(b"\n}\n").map_err(io)
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

/// One top-level member of `plan.json`: `"name": value`, the value laid out by [`Lines`] as a
/// member of the top-level object.
fn field<W: std::io::Write, T: Serialize + ?Sized>(
    w: &mut W,
    first: bool,
    name: &str,
    value: &T,
) -> Result<(), serde_json::Error> {
    w.write_all(if first { b"\n  " } else { b",\n  " })
        .map_err(serde_json::Error::io)?;
    serde_json::to_writer(&mut *w, name)?;
    w.write_all(b": ").map_err(serde_json::Error::io)?;
    let mut ser = serde_json::Serializer::with_formatter(
        &mut *w,
        Lines {
            depth: 1,
            has_value: false,
        },
    );
    value.serialize(&mut ser)
}

/// One element of `plan.json`'s action list: its compact JSON `line` on a line of its own.
pub fn write_list_item<W: std::io::Write>(
    w: &mut W,
    first: bool,
    line: &[u8],
) -> Result<(), serde_json::Error> {
    w.write_all(if first { b"\n    " } else { b",\n    " })
        .map_err(serde_json::Error::io)?;
    w.write_all(line).map_err(serde_json::Error::io)
}

/// The nested values of an action as compact JSON text, serialized once for both
/// `plan.json` and the JSON-text columns of `actions.parquet`.
#[derive(Debug, Clone, Default)]
pub struct ActionJson {
    pub keys: String,
    pub changes: String,
    pub operations: String,
    pub body: Option<String>,
    pub members: String,
}

impl ActionJson {
    pub fn of(a: &Action) -> Result<ActionJson, serde_json::Error> {
        Ok(ActionJson {
            keys: serde_json::to_string(&a.keys)?,
            changes: serde_json::to_string(&a.changes)?,
            operations: serde_json::to_string(&a.operations)?,
            body: a.body.as_ref().map(serde_json::to_string).transpose()?,
            members: serde_json::to_string(&a.members)?,
        })
    }

    /// Appends `a` as compact JSON — the bytes `serde_json::to_vec(a)` gives — reusing
    /// these serialized parts. Field order and omissions follow [`Action`]'s serde
    /// attributes (a test holds the two together).
    pub fn write_action(&self, a: &Action, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        fn key(out: &mut Vec<u8>, name: &str) {
            out.push(b',');
            out.push(b'"');
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"\":");
        }
        fn value<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) -> Result<(), serde_json::Error> {
            serde_json::to_writer(&mut *out, v)
        }
        out.extend_from_slice(b"{\"seq\":");
        value(out, &a.seq)?;
        key(out, "op");
        value(out, &a.op)?;
        key(out, "resource");
        value(out, &a.resource)?;
        key(out, "instance");
        value(out, &a.instance)?;
        key(out, "target");
        value(out, &a.target)?;
        if let Some(t) = a.target_action {
            key(out, "target_action");
            value(out, &t)?;
        }
        if let Some(n) = &a.user_name {
            key(out, "userName");
            value(out, n)?;
        }
        if let Some(n) = &a.display_name {
            key(out, "displayName");
            value(out, n)?;
        }
        key(out, "externalId");
        value(out, &a.external_id)?;
        key(out, "keys");
        out.extend_from_slice(self.keys.as_bytes());
        if let Some(m) = &a.matched_by {
            key(out, "matched_by");
            value(out, m)?;
        }
        key(out, "rule");
        value(out, &a.rule)?;
        key(out, "reason");
        value(out, &a.reason)?;
        if !a.changes.is_empty() {
            key(out, "changes");
            out.extend_from_slice(self.changes.as_bytes());
        }
        key(out, "request");
        value(out, &a.request)?;
        if !a.operations.is_empty() {
            key(out, "operations");
            out.extend_from_slice(self.operations.as_bytes());
        }
        if let Some(b) = &self.body {
            key(out, "body");
            out.extend_from_slice(b.as_bytes());
        }
        if !a.members.is_empty() {
            key(out, "members");
            out.extend_from_slice(self.members.as_bytes());
        }
        key(out, "depends_on");
        value(out, &a.depends_on)?;
        if let Some(d) = &a.state_digest {
            key(out, "state_digest");
            value(out, d)?;
        }
        out.push(b'}');
        Ok(())
    }
}

/// A JSON formatter that indents the containers down to [`Lines::PRETTY_DEPTH`] as
/// `serde_json`'s pretty printer does and writes everything deeper compactly, so each element
/// of a top-level list is one line.
#[derive(Debug, Default)]
struct Lines {
    depth: usize,
    has_value: bool,
}

impl Lines {
    const PRETTY_DEPTH: usize = 2;

    fn pretty(&self) -> bool {
        self.depth <= Self::PRETTY_DEPTH
    }

    fn indent<W: ?Sized + std::io::Write>(&self, w: &mut W) -> std::io::Result<()> {
        for _ in 0..self.depth {
            w.write_all(b"  ")?;
        }
        Ok(())
    }

    fn open<W: ?Sized + std::io::Write>(&mut self, w: &mut W, c: &[u8]) -> std::io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(c)
    }

    fn close<W: ?Sized + std::io::Write>(&mut self, w: &mut W, c: &[u8]) -> std::io::Result<()> {
        let pretty = self.pretty();
        self.depth -= 1;
        if pretty && self.has_value {
            w.write_all(b"\n")?;
            self.indent(w)?;
        }
        w.write_all(c)
    }

    fn item<W: ?Sized + std::io::Write>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
        if self.pretty() {
            w.write_all(if first { b"\n" } else { b",\n" })?;
            self.indent(w)
        } else if first {
            Ok(())
        } else {
            w.write_all(b",")
        }
    }
}

impl serde_json::ser::Formatter for Lines {
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open(w, b"[")
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close(w, b"]")
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.item(w, first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, _w: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open(w, b"{")
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close(w, b"}")
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.item(w, first)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(if self.pretty() { b": " } else { b":" })
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, _w: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

#[cfg(test)]
mod keys_tests {
    use super::Keys;
    use std::collections::BTreeMap;

    #[test]
    fn keys_behave_like_a_sorted_map() {
        let mut k = Keys::new();
        k.insert("objectGUID", "g".into());
        k.insert("dn", "CN=x".into());
        k.insert("id", "1".into());
        assert_eq!(k.insert("id", "2".into()), Some("1".into()));
        let mut b = BTreeMap::new();
        b.insert("objectGUID".to_string(), "g".to_string());
        b.insert("dn".to_string(), "CN=x".to_string());
        b.insert("id".to_string(), "2".to_string());
        assert_eq!(
            serde_json::to_string(&k).unwrap_or_default(),
            serde_json::to_string(&b).unwrap_or_default()
        );
        let back: Keys = serde_json::from_str(&serde_json::to_string(&k).unwrap_or_default())
            .unwrap_or_default();
        assert_eq!(back, k);
        assert_eq!(k.get("dn").map(String::as_str), Some("CN=x"));
        assert!(!k.contains_key("domain"));
        assert_eq!(k.len(), 3);
        // Ordered as the BTreeMap it replaces.
        let mut other = k.clone();
        other.insert("dn", "CN=y".into());
        let mut ob = b.clone();
        ob.insert("dn".into(), "CN=y".into());
        assert_eq!(k.cmp(&other), b.cmp(&ob));
    }
}

#[cfg(test)]
mod json_lines_tests {
    use serde::Serialize;

    fn lines(v: &serde_json::Value) -> String {
        let mut out = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(&mut out, super::Lines::default());
        let _ = v.serialize(&mut ser);
        String::from_utf8(out).unwrap_or_default()
    }

    fn sample_actions() -> Vec<super::Action> {
        use super::*;
        let base = Action {
            seq: 7,
            op: Op::UpdateUser,
            resource: Resource::User,
            instance: "ad-1 \"x\"".into(),
            target: Some("u-1".into()),
            target_action: None,
            user_name: Some("太郎@x".into()),
            display_name: None,
            external_id: None,
            keys: [("dn", "CN=a\\,b".to_string()), ("id", "u-1".to_string())]
                .into_iter()
                .collect(),
            matched_by: Some("externalId".into()),
            rule: "update".into(),
            reason: "title: a → b\n".into(),
            changes: vec![Change {
                attribute: "title".into(),
                old: serde_json::json!("a"),
                new: serde_json::Value::Null,
            }],
            request: Request {
                method: "PATCH".into(),
                path: "Users/u-1".into(),
            },
            operations: vec![PatchOp {
                op: "remove".into(),
                path: Some("title".into()),
                value: None,
            }],
            body: None,
            members: Vec::new(),
            depends_on: vec![1, 2],
            state_digest: Some("sha256:00".into()),
        };
        let mut group = base.clone();
        group.op = Op::AddMembers;
        group.resource = Resource::Group;
        group.target = None;
        group.target_action = Some(3);
        group.user_name = None;
        group.display_name = Some("営業".into());
        group.external_id = Some("".into());
        group.keys = Keys::new();
        group.matched_by = None;
        group.changes = Vec::new();
        group.operations = Vec::new();
        group.body = Some(serde_json::json!({"schemas": ["s"], "members": []}));
        group.members = vec![MemberRef {
            value: None,
            created_by: Some(3),
            display: "a".into(),
            object_guid: Some("g".into()),
        }];
        group.depends_on = Vec::new();
        group.state_digest = None;
        vec![base, group]
    }

    #[test]
    fn action_lines_are_exactly_serde_json() {
        for a in sample_actions() {
            let mut line = Vec::new();
            super::ActionJson::of(&a)
                .and_then(|j| j.write_action(&a, &mut line))
                .unwrap_or_default();
            assert_eq!(
                String::from_utf8_lossy(&line),
                serde_json::to_string(&a).unwrap_or_default()
            );
        }
    }

    #[test]
    fn plan_json_is_the_lines_layout_of_the_whole_plan() {
        use super::*;
        let mut plan = Plan {
            schema_version: PLAN_SCHEMA_VERSION,
            mode: Mode::Recovery,
            as_of: chrono::DateTime::from_timestamp(1_764_000_000, 0).unwrap_or_default(),
            instances: Vec::new(),
            inputs: vec![InputDigest {
                role: "ad".into(),
                instance: None,
                digest: "sha256:1".into(),
            }],
            summary: Summary::default(),
            findings: Vec::new(),
            actions: sample_actions(),
            skipped: Vec::new(),
            notes: vec!["a note".into()],
        };
        plan.summarize();
        for p in [
            plan.clone(),
            Plan {
                actions: Vec::new(),
                notes: Vec::new(),
                ..plan
            },
        ] {
            let mut want = Vec::new();
            let mut ser =
                serde_json::Serializer::with_formatter(&mut want, super::Lines::default());
            let _ = p.serialize(&mut ser);
            want.push(b'\n');
            let got = p.to_json().unwrap_or_default();
            assert_eq!(got, String::from_utf8_lossy(&want));
            assert_eq!(Plan::from_json(&got).ok(), Some(p));
        }
    }

    #[test]
    fn lists_of_the_top_object_get_one_line_per_element() {
        let v = serde_json::json!({
            "a": 1,
            "list": [{"x": [1, 2], "y": {"z": null}}, {"x": []}],
            "empty": [],
            "obj": {"k": {"deep": [true]}, "n": "s"}
        });
        let want = "{\n  \"a\": 1,\n  \"list\": [\n    {\"x\":[1,2],\"y\":{\"z\":null}},\n    {\"x\":[]}\n  ],\n  \"empty\": [],\n  \"obj\": {\n    \"k\": {\"deep\":[true]},\n    \"n\": \"s\"\n  }\n}";
        assert_eq!(lines(&v), want);
        let back: serde_json::Value = serde_json::from_str(&lines(&v)).unwrap_or_default();
        assert_eq!(back, v);
        // Down to the lists it is exactly serde_json's pretty form.
        let shallow = serde_json::json!({"a": [1, 2], "b": {"c": "d"}, "e": []});
        assert_eq!(
            lines(&shallow),
            serde_json::to_string_pretty(&shallow).unwrap_or_default()
        );
    }
}
