//! Group members: from the DNs AD lists in `member` to rows keyed by objectGUID. Pure.

use crate::convert::dn_key;
use dirsnap_model::{Guid, MemberKind, Membership};
use std::collections::HashMap;

/// Every exported object by DN, so member DNs can be resolved to stable keys.
#[derive(Debug, Default)]
pub struct ScopeIndex {
    by_dn: HashMap<String, (Guid, MemberKind)>,
}

/// Counts for the summary.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MemberCounts {
    pub rows: u64,
    pub out_of_scope: u64,
    pub nested_groups: u64,
}

impl ScopeIndex {
    pub fn insert(&mut self, dn: &str, guid: Guid, kind: MemberKind) {
        self.by_dn.insert(dn_key(dn), (guid, kind));
    }

    pub fn get(&self, dn: &str) -> Option<(Guid, MemberKind)> {
        self.by_dn.get(&dn_key(dn)).copied()
    }

    pub fn len(&self) -> usize {
        self.by_dn.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_dn.is_empty()
    }

    /// One row per direct member of `group`, ordered by member DN so the same directory gives
    /// the same file. Members outside the exported scope keep their DN with no key.
    pub fn resolve(
        &self,
        group: Guid,
        member_dns: &[Vec<u8>],
        counts: &mut MemberCounts,
    ) -> Vec<Membership> {
        let group_key = group.to_string();
        let mut dns: Vec<(String, String)> = member_dns
            .iter()
            .map(|v| {
                let dn = String::from_utf8_lossy(v).into_owned();
                (dn_key(&dn), dn)
            })
            .collect();
        dns.sort();
        dns.dedup_by(|a, b| a.0 == b.0);
        dns.into_iter()
            .map(|(key, dn)| {
                counts.rows += 1;
                match self.by_dn.get(&key).copied() {
                    Some((guid, kind)) => {
                        if kind == MemberKind::Group {
                            counts.nested_groups += 1;
                        }
                        Membership {
                            group_key: group_key.clone(),
                            member_key: Some(guid.to_string()),
                            member_kind: kind,
                            member_ref: Some(dn),
                            member_display: None,
                            in_scope: true,
                        }
                    }
                    None => {
                        counts.out_of_scope += 1;
                        Membership {
                            group_key: group_key.clone(),
                            member_key: None,
                            member_kind: MemberKind::Unknown,
                            member_ref: Some(dn),
                            member_display: None,
                            in_scope: false,
                        }
                    }
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_users_nested_groups_and_outsiders() {
        let (u, g, parent) = (Guid([1; 16]), Guid([2; 16]), Guid([3; 16]));
        let mut idx = ScopeIndex::default();
        idx.insert("CN=User,OU=Staff,DC=x", u, MemberKind::User);
        idx.insert("CN=Child,OU=Groups,DC=x", g, MemberKind::Group);
        let members: Vec<Vec<u8>> = [
            "cn=user,ou=staff,dc=x",
            "CN=Child,OU=Groups,DC=x",
            "CN=Outsider,OU=Elsewhere,DC=x",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        let mut counts = MemberCounts::default();
        let rows = idx.resolve(parent, &members, &mut counts);
        assert_eq!(
            counts,
            MemberCounts {
                rows: 3,
                out_of_scope: 1,
                nested_groups: 1
            }
        );
        let child = rows
            .iter()
            .find(|r| r.member_key == Some(g.to_string()))
            .unwrap();
        assert_eq!(child.member_kind, MemberKind::Group);
        assert!(child.in_scope);
        let out = rows.iter().find(|r| r.member_key.is_none()).unwrap();
        assert_eq!(
            out.member_ref.as_deref(),
            Some("CN=Outsider,OU=Elsewhere,DC=x")
        );
        assert_eq!(out.member_kind, MemberKind::Unknown);
        assert!(!out.in_scope);
        let user = rows
            .iter()
            .find(|r| r.member_key == Some(u.to_string()))
            .unwrap();
        assert_eq!(user.member_kind, MemberKind::User);
        assert!(rows.iter().all(|r| r.group_key == parent.to_string()));
    }
}
