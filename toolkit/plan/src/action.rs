//! The actions of a plan: what Directory Sync would send, one SCIM request each. Their
//! serialized names are fixed by SPEC §5 and read by the replayer.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

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

    /// Whether the op creates an object (its body is the whole resource; its result's id is
    /// what later actions name as `action:N`).
    pub fn is_create(self) -> bool {
        matches!(self, Op::CreateUser | Op::CreateGroup)
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

/// A JSON value of a [`Change`] as plan texts show it to people: strings without quotes,
/// lists joined with commas, null as "(none)".
pub fn show(v: &Value) -> String {
    match v {
        Value::Null => "(none)".into(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(show).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
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
    /// ([`crate::digest`]), for the replayer's stale-plan check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_digest: Option<String>,
}

impl Action {
    /// The seqs of the actions that must run before this one: its `depends_on`, the create of
    /// its target, and the creates of the members it names.
    pub fn prerequisites(&self) -> BTreeSet<u32> {
        let mut seqs: BTreeSet<u32> = self.depends_on.iter().copied().collect();
        seqs.extend(self.target_action);
        seqs.extend(self.members.iter().filter_map(|m| m.created_by));
        seqs
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
