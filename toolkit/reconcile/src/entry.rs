//! AD snapshot rows as LDAP entries, so Directory Sync's `ad.ldap.filter.{user,group}` can be
//! evaluated offline: typed columns first, then the row's `raw` attributes; `memberOf` and
//! the in-chain rule (1.2.840.113556.1.4.1941) follow the snapshot's memberships.

use crate::key::{Edges, Key};
use chrono::{DateTime, Utc};
use dirsnap_filter::ldap::LdapEntry;
use dirsnap_model::{AdGroup, AdUserView, MemberKind};
use serde_json::Value;
use std::cell::OnceCell;
use std::collections::{HashMap, HashSet, VecDeque};

/// Normalizes a DN for comparison: case-insensitive, spaces around separators ignored.
pub fn norm_dn(dn: &str) -> String {
    let mut out = String::with_capacity(dn.len());
    let mut prev_sep = true;
    let mut pending_space = false;
    let mut escaped = false;
    for c in dn.chars() {
        if escaped {
            out.extend(c.to_lowercase());
            escaped = false;
            prev_sep = false;
            continue;
        }
        match c {
            '\\' => {
                if pending_space {
                    out.push(' ');
                    pending_space = false;
                }
                out.push('\\');
                escaped = true;
                prev_sep = false;
            }
            ',' | '=' | '+' => {
                out.push(c);
                prev_sep = true;
                pending_space = false;
            }
            ' ' => {
                if !prev_sep {
                    pending_space = true;
                }
            }
            other => {
                if pending_space {
                    out.push(' ');
                    pending_space = false;
                }
                out.extend(other.to_lowercase());
                prev_sep = false;
            }
        }
    }
    out
}

/// The group graph of one AD snapshot, for `memberOf` and in-chain evaluation.
pub struct AdGraph<'a> {
    groups: &'a [AdGroup],
    by_dn: HashMap<String, u32>,
    /// Direct groups of each member (user or group), by the member's key.
    member_of: HashMap<Key, Vec<u32>>,
    /// Direct members of each group that are groups, for `member` in-chain.
    child_groups: Vec<Vec<u32>>,
    /// Direct user members of each group.
    user_members: Vec<Vec<Key>>,
}

impl<'a> AdGraph<'a> {
    pub fn new(groups: &'a [AdGroup], edges: &Edges) -> AdGraph<'a> {
        let by_key: HashMap<Key, u32> = groups
            .iter()
            .enumerate()
            .map(|(i, g)| (Key::of_guid(&g.object_guid), i as u32))
            .collect();
        let by_dn = groups
            .iter()
            .enumerate()
            .map(|(i, g)| (norm_dn(&g.dn), i as u32))
            .collect();
        let mut member_of: HashMap<Key, Vec<u32>> = HashMap::new();
        let mut child_groups = vec![Vec::new(); groups.len()];
        let mut user_members = vec![Vec::new(); groups.len()];
        for e in edges.iter() {
            let (Some(&gi), Some(m)) = (by_key.get(e.group), e.member()) else {
                continue;
            };
            match e.kind() {
                MemberKind::Group => {
                    if let Some(&ci) = by_key.get(&m) {
                        child_groups[gi as usize].push(ci);
                    }
                }
                MemberKind::User => user_members[gi as usize].push(m.clone()),
                MemberKind::Unknown => {}
            }
            member_of.entry(m).or_default().push(gi);
        }
        AdGraph {
            groups,
            by_dn,
            member_of,
            child_groups,
            user_members,
        }
    }

    fn direct_groups(&self, key: &Key) -> &[u32] {
        self.member_of.get(key).map_or(&[], Vec::as_slice)
    }

    /// Whether the member with `key` reaches the group named `target_dn` through `memberOf`
    /// links (transitively); `raw_member_of` adds DNs from the row's own memberOf values.
    fn reaches(&self, key: &Key, raw_member_of: &[String], target_dn: &str) -> bool {
        let target = norm_dn(target_dn);
        if raw_member_of.iter().any(|d| norm_dn(d) == target) {
            return true;
        }
        let mut seen = HashSet::new();
        let mut queue: VecDeque<u32> = self.direct_groups(key).iter().copied().collect();
        for d in raw_member_of {
            if let Some(&g) = self.by_dn.get(&norm_dn(d)) {
                queue.push_back(g);
            }
        }
        while let Some(g) = queue.pop_front() {
            if !seen.insert(g) {
                continue;
            }
            let Some(group) = self.groups.get(g as usize) else {
                continue;
            };
            if norm_dn(&group.dn) == target {
                return true;
            }
            let gk = Key::of_guid(&group.object_guid);
            queue.extend(self.direct_groups(&gk).iter().copied());
        }
        false
    }

    /// Whether group `g` contains the entry named `target_dn` transitively (`member` chain).
    fn contains(&self, g: u32, target_dn: &str, user_dns: &dyn Fn(&Key) -> Option<String>) -> bool {
        let target = norm_dn(target_dn);
        let mut seen = HashSet::new();
        let mut queue = VecDeque::from([g]);
        while let Some(g) = queue.pop_front() {
            if !seen.insert(g) {
                continue;
            }
            for u in self
                .user_members
                .get(g as usize)
                .map_or(&[][..], Vec::as_slice)
            {
                if user_dns(u).is_some_and(|d| norm_dn(&d) == target) {
                    return true;
                }
            }
            for &c in self
                .child_groups
                .get(g as usize)
                .map_or(&[][..], Vec::as_slice)
            {
                if self
                    .groups
                    .get(c as usize)
                    .is_some_and(|cg| norm_dn(&cg.dn) == target)
                {
                    return true;
                }
                queue.push_back(c);
            }
        }
        false
    }

    fn group_dns(&self, idx: &[u32]) -> Vec<String> {
        idx.iter()
            .filter_map(|&i| self.groups.get(i as usize).map(|g| g.dn.clone()))
            .collect()
    }
}

fn generalized(t: &DateTime<Utc>) -> String {
    t.format("%Y%m%d%H%M%S.0Z").to_string()
}

fn filetime(t: &DateTime<Utc>) -> String {
    const EPOCH_DIFF_SECS: i64 = 11_644_473_600;
    let ticks = (t.timestamp() + EPOCH_DIFF_SECS) * 10_000_000
        + i64::from(t.timestamp_subsec_nanos() / 100);
    ticks.to_string()
}

/// Values computed once per entry: numbers and times as AD prints them, raw attributes.
#[derive(Default)]
struct Computed {
    attrs: HashMap<String, Vec<Vec<u8>>>,
}

impl Computed {
    fn put(&mut self, name: &str, value: impl Into<Vec<u8>>) {
        self.attrs
            .entry(name.to_ascii_lowercase())
            .or_default()
            .push(value.into());
    }

    /// What users and groups share: whenChanged / whenCreated, uSNChanged, memberOf from
    /// the snapshot's memberships, then the `raw` attributes (typed values put first win).
    fn common(
        &mut self,
        graph: &AdGraph<'_>,
        [changed, created]: [&Option<DateTime<Utc>>; 2],
        usn_changed: Option<i64>,
        guid: &dirsnap_model::Guid,
        raw: &str,
    ) {
        for (name, t) in [("whenChanged", changed), ("whenCreated", created)] {
            if let Some(t) = t {
                self.put(name, generalized(t));
            }
        }
        if let Some(n) = usn_changed {
            self.put("uSNChanged", n.to_string());
        }
        for dn in graph.group_dns(graph.direct_groups(&Key::of_guid(guid))) {
            self.put("memberOf", dn);
        }
        parse_raw(raw, self);
    }

    /// objectClass and objectCategory when `raw` did not carry them.
    fn defaults(&mut self, classes: &[&str], category: &str) {
        if !self.attrs.contains_key("objectclass") {
            for oc in classes {
                self.put("objectClass", *oc);
            }
        }
        if !self.attrs.contains_key("objectcategory") {
            self.put("objectCategory", category);
        }
    }
}

fn parse_raw(raw: &str, into: &mut Computed) {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(raw) else {
        return;
    };
    for (k, v) in map {
        let lk = k.to_ascii_lowercase();
        if into.attrs.contains_key(&lk) {
            continue;
        }
        let items = match v {
            Value::Array(a) => a,
            other => vec![other],
        };
        for item in items {
            let bytes = match item {
                Value::String(s) => s.into_bytes(),
                Value::Number(n) => n.to_string().into_bytes(),
                Value::Object(m) => match m.get("base64").and_then(Value::as_str) {
                    Some(b) => {
                        use base64::Engine as _;
                        match base64::engine::general_purpose::STANDARD.decode(b) {
                            Ok(b) => b,
                            Err(_) => continue,
                        }
                    }
                    None => continue,
                },
                _ => continue,
            };
            into.attrs.entry(lk.clone()).or_default().push(bytes);
        }
    }
}

fn typed<'s>(name: &str, pairs: &[(&str, Option<&'s [u8]>)]) -> Option<Vec<&'s [u8]>> {
    pairs
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.iter().copied().collect())
}

/// An AD user as an LDAP entry.
pub struct UserEntry<'a> {
    pub user: AdUserView<'a>,
    graph: &'a AdGraph<'a>,
    computed: OnceCell<Computed>,
}

impl<'a> UserEntry<'a> {
    pub fn new(user: AdUserView<'a>, graph: &'a AdGraph<'a>) -> Self {
        UserEntry {
            user,
            graph,
            computed: OnceCell::new(),
        }
    }

    fn computed(&self) -> &Computed {
        self.computed.get_or_init(|| {
            let u = self.user;
            let mut c = Computed::default();
            if let Some(uac) = u.user_account_control() {
                c.put("userAccountControl", uac.to_string());
            }
            c.common(
                self.graph,
                [&u.when_changed(), &u.when_created()],
                u.usn_changed(),
                u.object_guid(),
                u.raw(),
            );
            if !c.attrs.contains_key("accountexpires") {
                c.put(
                    "accountExpires",
                    u.account_expires()
                        .as_ref()
                        .map_or_else(|| i64::MAX.to_string(), filetime),
                );
            }
            c.defaults(
                &["top", "person", "organizationalPerson", "user"],
                "CN=Person,CN=Schema,CN=Configuration",
            );
            c
        })
    }
}

impl LdapEntry for UserEntry<'_> {
    fn values<'s>(&'s self, attr: &str) -> Vec<&'s [u8]> {
        let u = self.user;
        let b = |o: Option<&'s str>| o.map(str::as_bytes);
        if let Some(v) = typed(
            attr,
            &[
                ("objectGUID", Some(u.object_guid().as_bytes().as_slice())),
                ("objectSid", b(u.object_sid())),
                ("distinguishedName", Some(u.dn().as_bytes())),
                ("sAMAccountName", b(u.sam_account_name())),
                ("userPrincipalName", b(u.user_principal_name())),
                ("mail", b(u.mail())),
                ("givenName", b(u.given_name())),
                ("sn", b(u.sn())),
                ("displayName", b(u.display_name())),
                ("department", b(u.department())),
                ("title", b(u.title())),
                ("telephoneNumber", b(u.telephone_number())),
                ("mobile", b(u.mobile())),
                ("mS-DS-ConsistencyGuid", u.consistency_guid()),
            ],
        ) {
            return v;
        }
        self.computed()
            .attrs
            .get(&attr.to_ascii_lowercase())
            .map(|vs| vs.iter().map(Vec::as_slice).collect())
            .unwrap_or_default()
    }

    fn dn(&self) -> &str {
        self.user.dn()
    }

    fn in_chain(&self, attr: &str, target_dn: &str) -> bool {
        if !attr.eq_ignore_ascii_case("memberOf") {
            return false;
        }
        let raw = raw_member_of(self.user.raw());
        self.graph
            .reaches(&Key::of_guid(self.user.object_guid()), &raw, target_dn)
    }
}

/// An AD group as an LDAP entry.
pub struct GroupEntry<'a> {
    pub group: &'a AdGroup,
    index: u32,
    graph: &'a AdGraph<'a>,
    user_dns: &'a dyn Fn(&Key) -> Option<String>,
    computed: OnceCell<Computed>,
}

impl<'a> GroupEntry<'a> {
    pub fn new(
        index: u32,
        graph: &'a AdGraph<'a>,
        user_dns: &'a dyn Fn(&Key) -> Option<String>,
    ) -> Option<Self> {
        Some(GroupEntry {
            group: graph.groups.get(index as usize)?,
            index,
            graph,
            user_dns,
            computed: OnceCell::new(),
        })
    }

    fn computed(&self) -> &Computed {
        self.computed.get_or_init(|| {
            let g = self.group;
            let mut c = Computed::default();
            if let Some(t) = g.group_type {
                c.put("groupType", t.to_string());
            }
            c.common(
                self.graph,
                [&g.when_changed, &g.when_created],
                g.usn_changed,
                &g.object_guid,
                &g.raw,
            );
            c.defaults(&["top", "group"], "CN=Group,CN=Schema,CN=Configuration");
            c
        })
    }
}

impl LdapEntry for GroupEntry<'_> {
    fn values<'s>(&'s self, attr: &str) -> Vec<&'s [u8]> {
        let g = self.group;
        let b = |o: Option<&'s str>| o.map(str::as_bytes);
        if let Some(v) = typed(
            attr,
            &[
                ("objectGUID", Some(g.object_guid.as_bytes().as_slice())),
                ("objectSid", b(g.object_sid.as_deref())),
                ("distinguishedName", Some(g.dn.as_bytes())),
                ("sAMAccountName", b(g.sam_account_name.as_deref())),
                ("cn", b(g.cn.as_deref())),
                ("displayName", b(g.display_name.as_deref())),
                ("description", b(g.description.as_deref())),
                ("mail", b(g.mail.as_deref())),
            ],
        ) {
            return v;
        }
        self.computed()
            .attrs
            .get(&attr.to_ascii_lowercase())
            .map(|vs| vs.iter().map(Vec::as_slice).collect())
            .unwrap_or_default()
    }

    fn dn(&self) -> &str {
        &self.group.dn
    }

    fn in_chain(&self, attr: &str, target_dn: &str) -> bool {
        if attr.eq_ignore_ascii_case("memberOf") {
            let raw = raw_member_of(&self.group.raw);
            return self
                .graph
                .reaches(&Key::of_guid(&self.group.object_guid), &raw, target_dn);
        }
        if attr.eq_ignore_ascii_case("member") {
            return self.graph.contains(self.index, target_dn, self.user_dns);
        }
        false
    }
}

/// `memberOf` DNs in a row's raw attributes (exporters may include them).
fn raw_member_of(raw: &str) -> Vec<String> {
    if raw.is_empty() || !raw.contains("emberOf") {
        return Vec::new();
    }
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(raw) else {
        return Vec::new();
    };
    map.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("memberOf"))
        .and_then(|(_, v)| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dn_normalization_ignores_case_and_separator_spaces() {
        assert_eq!(
            norm_dn("CN=Taro Yamada, OU=Tokyo,DC=Example"),
            norm_dn("cn=taro yamada,ou=tokyo, dc=example")
        );
        assert_ne!(norm_dn("CN=a\\,b,DC=x"), norm_dn("CN=a,b,DC=x"));
        assert_eq!(
            filetime(&DateTime::from_timestamp(1_704_067_200, 0).unwrap()),
            "133485408000000000"
        );
    }
}
