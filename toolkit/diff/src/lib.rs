//! What changed between two snapshots of one kind, by stable key (objectGUID for AD, SCIM
//! `id` for IIJ ID, object id for Microsoft 365). A renamed or moved object is one change
//! with old → new values, never a removal plus an addition.

use chrono::{DateTime, SecondsFormat, Utc};
use dirsnap_model::{AdGroup, AdUser, IidGroup, IidUser, M365Group, M365User, Membership};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One attribute that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub attribute: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// An object identified for people: its stable key and a recognisable name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectRef {
    pub key: String,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Changed {
    pub key: String,
    pub label: String,
    pub changes: Vec<Change>,
}

/// Differences of one table, each list sorted by key.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct TableDiff {
    pub added: Vec<ObjectRef>,
    pub removed: Vec<ObjectRef>,
    pub changed: Vec<Changed>,
}

impl TableDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct MembershipRef {
    pub group_key: String,
    pub group: String,
    /// The member's key, or how the source named it when it is outside the scope.
    pub member_key: String,
    pub member: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct MembershipDiff {
    pub added: Vec<MembershipRef>,
    pub removed: Vec<MembershipRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct SnapshotDiff {
    pub users: TableDiff,
    pub groups: TableDiff,
    pub memberships: MembershipDiff,
}

impl SnapshotDiff {
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
            && self.groups.is_empty()
            && self.memberships.added.is_empty()
            && self.memberships.removed.is_empty()
    }
}

/// A row that can be compared attribute by attribute.
pub trait Keyed {
    fn key(&self) -> String;
    fn label(&self) -> String;
    /// Attribute name → value as text, in a stable order. Raw attributes not covered by a
    /// typed column are included so nothing that changed goes unseen.
    fn attributes(&self) -> BTreeMap<String, String>;
}

/// Compares two tables by key.
pub fn diff_table<T: Keyed>(before: &[T], after: &[T]) -> TableDiff {
    let old: HashMap<String, &T> = before.iter().map(|r| (r.key(), r)).collect();
    let new: HashMap<String, &T> = after.iter().map(|r| (r.key(), r)).collect();
    let mut diff = TableDiff::default();
    for (key, row) in &new {
        match old.get(key) {
            None => diff.added.push(ObjectRef {
                key: key.clone(),
                label: row.label(),
            }),
            Some(prev) => {
                let changes = diff_attributes(&prev.attributes(), &row.attributes());
                if !changes.is_empty() {
                    diff.changed.push(Changed {
                        key: key.clone(),
                        label: row.label(),
                        changes,
                    });
                }
            }
        }
    }
    for (key, row) in &old {
        if !new.contains_key(key) {
            diff.removed.push(ObjectRef {
                key: key.clone(),
                label: row.label(),
            });
        }
    }
    diff.added.sort_by(|a, b| a.key.cmp(&b.key));
    diff.removed.sort_by(|a, b| a.key.cmp(&b.key));
    diff.changed.sort_by(|a, b| a.key.cmp(&b.key));
    diff
}

fn diff_attributes(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> Vec<Change> {
    let names: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    names
        .into_iter()
        .filter_map(|name| {
            let (old, new) = (a.get(name), b.get(name));
            (old != new).then(|| Change {
                attribute: name.clone(),
                old: old.cloned(),
                new: new.cloned(),
            })
        })
        .collect()
}

/// Compares direct memberships. `labels` maps keys of both snapshots to names.
pub fn diff_memberships(
    before: &[Membership],
    after: &[Membership],
    labels: &HashMap<String, String>,
) -> MembershipDiff {
    fn member_id(m: &Membership) -> String {
        m.member_key
            .clone()
            .or_else(|| m.member_ref.clone())
            .unwrap_or_default()
    }
    let set = |ms: &[Membership]| -> BTreeSet<(String, String)> {
        ms.iter()
            .map(|m| (m.group_key.clone(), member_id(m)))
            .collect()
    };
    let display: HashMap<(String, String), String> = before
        .iter()
        .chain(after)
        .filter_map(|m| {
            m.member_display
                .clone()
                .or_else(|| m.member_ref.clone())
                .map(|d| ((m.group_key.clone(), member_id(m)), d))
        })
        .collect();
    let (a, b) = (set(before), set(after));
    let make = |(g, m): &(String, String)| MembershipRef {
        group_key: g.clone(),
        group: labels.get(g).cloned().unwrap_or_else(|| g.clone()),
        member_key: m.clone(),
        member: labels
            .get(m)
            .cloned()
            .or_else(|| display.get(&(g.clone(), m.clone())).cloned())
            .unwrap_or_else(|| m.clone()),
    };
    MembershipDiff {
        added: b.difference(&a).map(make).collect(),
        removed: a.difference(&b).map(make).collect(),
    }
}

/// Diffs two snapshots' tables and memberships.
pub fn diff_snapshot<U: Keyed, G: Keyed>(
    (users_a, groups_a, members_a): (&[U], &[G], &[Membership]),
    (users_b, groups_b, members_b): (&[U], &[G], &[Membership]),
) -> SnapshotDiff {
    let mut labels = HashMap::new();
    for u in users_a.iter().chain(users_b) {
        labels.insert(u.key(), u.label());
    }
    for g in groups_a.iter().chain(groups_b) {
        labels.insert(g.key(), g.label());
    }
    SnapshotDiff {
        users: diff_table(users_a, users_b),
        groups: diff_table(groups_a, groups_b),
        memberships: diff_memberships(members_a, members_b, &labels),
    }
}

fn ts(t: &Option<DateTime<Utc>>) -> Option<String> {
    t.map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

fn put(map: &mut BTreeMap<String, String>, name: &str, value: Option<String>) {
    if let Some(v) = value {
        map.insert(name.to_string(), v);
    }
}

fn put_str(map: &mut BTreeMap<String, String>, name: &str, value: &Option<String>) {
    put(map, name, value.clone());
}

/// Adds raw attributes whose (case-insensitive) names no typed column covers.
fn put_raw(map: &mut BTreeMap<String, String>, raw: &str, covered: &[&str], expand: &[&str]) {
    let Ok(serde_json::Value::Object(obj)) = serde_json::from_str::<serde_json::Value>(raw) else {
        return;
    };
    let is_covered = |name: &str| covered.iter().any(|c| c.eq_ignore_ascii_case(name));
    for (name, value) in obj {
        if expand.iter().any(|e| e.eq_ignore_ascii_case(&name)) {
            if let serde_json::Value::Object(inner) = value {
                for (sub, v) in inner {
                    let full = format!("{name}:{sub}");
                    if !is_covered(&full) {
                        map.insert(full, v.to_string());
                    }
                }
            }
            continue;
        }
        if !is_covered(&name) {
            map.insert(name, value.to_string());
        }
    }
}

const AD_COVERED: &[&str] = &[
    "objectGUID",
    "objectSid",
    "distinguishedName",
    "sAMAccountName",
    "userPrincipalName",
    "mail",
    "givenName",
    "sn",
    "displayName",
    "department",
    "title",
    "telephoneNumber",
    "mobile",
    "mS-DS-ConsistencyGuid",
    "userAccountControl",
    "accountExpires",
    "whenCreated",
    "whenChanged",
    "uSNChanged",
    "isDeleted",
    "cn",
    "description",
    "groupType",
    "member",
];

impl Keyed for AdUser {
    fn key(&self) -> String {
        self.object_guid.to_string()
    }
    fn label(&self) -> String {
        self.label().to_string()
    }
    fn attributes(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        put_str(&mut m, "objectSid", &self.object_sid);
        m.insert("distinguishedName".into(), self.dn.clone());
        m.insert("domain".into(), self.domain.clone());
        put_str(&mut m, "sAMAccountName", &self.sam_account_name);
        put_str(&mut m, "userPrincipalName", &self.user_principal_name);
        put_str(&mut m, "mail", &self.mail);
        put_str(&mut m, "givenName", &self.given_name);
        put_str(&mut m, "sn", &self.sn);
        put_str(&mut m, "displayName", &self.display_name);
        put_str(&mut m, "department", &self.department);
        put_str(&mut m, "title", &self.title);
        put_str(&mut m, "telephoneNumber", &self.telephone_number);
        put_str(&mut m, "mobile", &self.mobile);
        put(
            &mut m,
            "mS-DS-ConsistencyGuid",
            self.consistency_guid.as_ref().map(|b| {
                dirsnap_model::Guid::from_slice(b).map_or_else(|| hex_of(b), |g| g.to_string())
            }),
        );
        put(
            &mut m,
            "userAccountControl",
            self.user_account_control.map(|v| format!("0x{v:x}")),
        );
        m.insert("enabled".into(), self.enabled.to_string());
        put(&mut m, "accountExpires", ts(&self.account_expires));
        m.insert("expired".into(), self.expired.to_string());
        put(&mut m, "whenCreated", ts(&self.when_created));
        put(&mut m, "whenChanged", ts(&self.when_changed));
        put(
            &mut m,
            "uSNChanged",
            self.usn_changed.map(|v| v.to_string()),
        );
        m.insert("isDeleted".into(), self.is_deleted.to_string());
        put_raw(&mut m, &self.raw, AD_COVERED, &[]);
        m
    }
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Keyed for AdGroup {
    fn key(&self) -> String {
        self.object_guid.to_string()
    }
    fn label(&self) -> String {
        self.label().to_string()
    }
    fn attributes(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        put_str(&mut m, "objectSid", &self.object_sid);
        m.insert("distinguishedName".into(), self.dn.clone());
        m.insert("domain".into(), self.domain.clone());
        put_str(&mut m, "sAMAccountName", &self.sam_account_name);
        put_str(&mut m, "cn", &self.cn);
        put_str(&mut m, "displayName", &self.display_name);
        put_str(&mut m, "description", &self.description);
        put_str(&mut m, "mail", &self.mail);
        put(&mut m, "groupType", self.group_type.map(|v| v.to_string()));
        put(&mut m, "whenCreated", ts(&self.when_created));
        put(&mut m, "whenChanged", ts(&self.when_changed));
        put(
            &mut m,
            "uSNChanged",
            self.usn_changed.map(|v| v.to_string()),
        );
        m.insert("isDeleted".into(), self.is_deleted.to_string());
        put_raw(&mut m, &self.raw, AD_COVERED, &[]);
        m
    }
}

const IID_USER_COVERED: &[&str] = &[
    "id",
    "userName",
    "externalId",
    "active",
    "displayName",
    "name",
    "emails",
    "title",
    "preferredLanguage",
    "timezone",
    "meta",
    "groups",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    "urn:iij:params:scim:schemas:extension:enterprisejp:2.0:User:downstreamId",
];
const IID_EXPANDED: &[&str] = &[
    dirsnap_model::URN_ENTERPRISE_USER,
    dirsnap_model::URN_IIJ_ENTERPRISEJP_USER,
    dirsnap_model::URN_OIDFJ_ENTERPRISEJP_USER,
    dirsnap_model::URN_IIJ_ENTERPRISE_GROUP,
];

impl Keyed for IidUser {
    fn key(&self) -> String {
        self.id.clone()
    }
    fn label(&self) -> String {
        self.user_name.clone()
    }
    fn attributes(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        m.insert("userName".into(), self.user_name.clone());
        put_str(&mut m, "externalId", &self.external_id);
        put_str(&mut m, "downstreamId", &self.downstream_id);
        m.insert("active".into(), self.active.to_string());
        put_str(&mut m, "displayName", &self.display_name);
        put_str(&mut m, "name.familyName", &self.family_name);
        put_str(&mut m, "name.givenName", &self.given_name);
        if !self.emails.is_empty() {
            m.insert("emails".into(), self.emails.join(", "));
        }
        put_str(&mut m, "title", &self.title);
        put_str(&mut m, "department", &self.department);
        put_str(&mut m, "preferredLanguage", &self.preferred_language);
        put_str(&mut m, "timezone", &self.timezone);
        m.insert("pendingDeletion".into(), self.pending_deletion.to_string());
        put(&mut m, "meta.created", ts(&self.meta_created));
        put(&mut m, "meta.lastModified", ts(&self.meta_last_modified));
        put_str(&mut m, "meta.version", &self.meta_version);
        put_raw(&mut m, &self.raw, IID_USER_COVERED, IID_EXPANDED);
        m
    }
}

impl Keyed for IidGroup {
    fn key(&self) -> String {
        self.id.clone()
    }
    fn label(&self) -> String {
        self.display_name.clone()
    }
    fn attributes(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        m.insert("displayName".into(), self.display_name.clone());
        put_str(&mut m, "externalId", &self.external_id);
        put_str(&mut m, "description", &self.description);
        put(&mut m, "meta.created", ts(&self.meta_created));
        put(&mut m, "meta.lastModified", ts(&self.meta_last_modified));
        put_str(&mut m, "meta.version", &self.meta_version);
        put_raw(
            &mut m,
            &self.raw,
            &[
                "id",
                "displayName",
                "externalId",
                "meta",
                "members",
                "urn:iij:params:scim:schemas:extension:enterprise:2.0:Group:description",
            ],
            IID_EXPANDED,
        );
        m
    }
}

impl Keyed for M365User {
    fn key(&self) -> String {
        self.id.clone()
    }
    fn label(&self) -> String {
        self.user_principal_name.clone()
    }
    fn attributes(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        m.insert("userPrincipalName".into(), self.user_principal_name.clone());
        put_str(&mut m, "displayName", &self.display_name);
        put_str(&mut m, "mail", &self.mail);
        put(
            &mut m,
            "accountEnabled",
            self.account_enabled.map(|b| b.to_string()),
        );
        put_str(&mut m, "onPremisesImmutableId", &self.immutable_id);
        if !self.licenses.is_empty() {
            m.insert("licenses".into(), self.licenses.join(", "));
        }
        put(&mut m, "createdDateTime", ts(&self.created));
        m.insert("deleted".into(), self.deleted.to_string());
        put(&mut m, "deletedDateTime", ts(&self.deleted_at));
        m
    }
}

impl Keyed for M365Group {
    fn key(&self) -> String {
        self.id.clone()
    }
    fn label(&self) -> String {
        self.display_name.clone()
    }
    fn attributes(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        m.insert("displayName".into(), self.display_name.clone());
        put_str(&mut m, "mail", &self.mail);
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dirsnap_model::{Guid, MemberKind};

    fn user(guid: u8, dn: &str, upn: &str) -> AdUser {
        AdUser {
            object_guid: Guid([guid; 16]),
            dn: dn.into(),
            user_principal_name: Some(upn.into()),
            enabled: true,
            raw: format!(r#"{{"cn":["{upn}"],"extensionAttribute1":["x"]}}"#),
            ..AdUser::default()
        }
    }

    #[test]
    fn rename_and_move_is_a_change_not_remove_plus_add() {
        let a = vec![
            user(1, "CN=Taro,OU=Tokyo,DC=x", "taro@x"),
            user(2, "CN=B,DC=x", "b@x"),
        ];
        let mut moved = user(1, "CN=Taro Yamada,OU=Osaka,DC=x", "taro@x");
        moved.enabled = false;
        let b = vec![moved, user(3, "CN=C,DC=x", "c@x")];
        let d = diff_table(&a, &b);
        assert_eq!(d.added.len(), 1);
        assert_eq!(d.added[0].label, "c@x");
        assert_eq!(d.removed.len(), 1);
        assert_eq!(d.removed[0].label, "b@x");
        assert_eq!(d.changed.len(), 1);
        let attrs: Vec<&str> = d.changed[0]
            .changes
            .iter()
            .map(|c| c.attribute.as_str())
            .collect();
        assert_eq!(attrs, vec!["distinguishedName", "enabled"]);
        assert_eq!(
            d.changed[0].changes[0].old.as_deref(),
            Some("CN=Taro,OU=Tokyo,DC=x")
        );
    }

    #[test]
    fn raw_only_attributes_are_compared() {
        let a = vec![user(1, "CN=A,DC=x", "a@x")];
        let mut changed = a[0].clone();
        changed.raw = r#"{"cn":["a@x"],"extensionAttribute1":["y"]}"#.into();
        let d = diff_table(&a, &[changed]);
        assert_eq!(
            d.changed[0].changes,
            vec![Change {
                attribute: "extensionAttribute1".into(),
                old: Some(r#"["x"]"#.into()),
                new: Some(r#"["y"]"#.into()),
            }]
        );
    }

    #[test]
    fn memberships_by_key_survive_dn_changes() {
        let m = |g: &str, k: &str, dn: &str| Membership {
            group_key: g.into(),
            member_key: Some(k.into()),
            member_kind: MemberKind::User,
            member_ref: Some(dn.into()),
            member_display: None,
            in_scope: true,
        };
        let a = vec![m("g", "u1", "CN=old,DC=x"), m("g", "u2", "CN=u2,DC=x")];
        let b = vec![m("g", "u1", "CN=new,DC=x"), m("g", "u3", "CN=u3,DC=x")];
        let labels = HashMap::from([("g".to_string(), "Sales".to_string())]);
        let d = diff_memberships(&a, &b, &labels);
        assert_eq!(d.added.len(), 1);
        assert_eq!(d.added[0].member_key, "u3");
        assert_eq!(d.added[0].group, "Sales");
        assert_eq!(d.removed.len(), 1);
        assert_eq!(d.removed[0].member_key, "u2");
    }

    #[test]
    fn identical_snapshots_have_an_empty_diff() {
        let a = vec![user(1, "CN=A,DC=x", "a@x")];
        let d = diff_snapshot::<AdUser, AdGroup>((&a, &[], &[]), (&a, &[], &[]));
        assert!(d.is_empty());
    }
}
