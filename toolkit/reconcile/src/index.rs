//! Lookup structures over snapshot rows, built once, without cloning rows.

use crate::key::{Key, MemberEdge};
use dirsnap_model::{IidGroup, IidUser, MemberKind};
use std::hash::{Hash, Hasher};

pub type Map<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

pub fn map_with_capacity<K, V>(n: usize) -> Map<K, V> {
    Map::with_capacity_and_hasher(n, foldhash::fast::RandomState::default())
}

/// A string compared case-insensitively (SCIM `userName`, group names): ASCII fast path,
/// Unicode lowercase otherwise.
#[derive(Debug, Clone, Copy)]
pub struct Ci<'a>(pub &'a str);

impl PartialEq for Ci<'_> {
    fn eq(&self, other: &Self) -> bool {
        if self.0.is_ascii() && other.0.is_ascii() {
            self.0.eq_ignore_ascii_case(other.0)
        } else {
            self.0
                .chars()
                .flat_map(char::to_lowercase)
                .eq(other.0.chars().flat_map(char::to_lowercase))
        }
    }
}

impl Eq for Ci<'_> {}

impl Hash for Ci<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        if self.0.is_ascii() {
            for b in self.0.bytes() {
                state.write_u8(b.to_ascii_lowercase());
            }
        } else {
            for c in self.0.chars().flat_map(char::to_lowercase) {
                if c.is_ascii() {
                    state.write_u8(c as u8);
                } else {
                    state.write_u32(c as u32);
                }
            }
        }
        state.write_u8(0xff);
    }
}

/// Case-insensitive equality of two strings.
pub fn eq_ci(a: &str, b: &str) -> bool {
    Ci(a) == Ci(b)
}

/// A key → rows index where keys are almost always unique: one `u32` per key, a list only
/// for the rare duplicates.
#[derive(Debug)]
pub struct Multi<K: Hash + Eq> {
    first: Map<K, u32>,
    more: Map<K, Vec<u32>>,
}

impl<K: Hash + Eq + Clone> Multi<K> {
    pub fn with_capacity(n: usize) -> Self {
        Multi {
            first: map_with_capacity(n),
            more: map_with_capacity(0),
        }
    }

    pub fn insert(&mut self, k: K, v: u32) {
        match self.first.entry(k) {
            std::collections::hash_map::Entry::Occupied(e) => {
                self.more.entry(e.key().clone()).or_default().push(v);
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(v);
            }
        }
    }

    /// Keys with more than one row, with all their rows (first one first).
    pub fn duplicates(&self) -> Vec<(&K, Vec<u32>)> {
        self.more
            .iter()
            .filter_map(|(k, extra)| {
                let first = *self.first.get(k)?;
                let mut all = vec![first];
                all.extend_from_slice(extra);
                Some((k, all))
            })
            .collect()
    }

    pub fn get(&self, k: &K) -> Vec<u32> {
        let mut out: Vec<u32> = self.first.get(k).copied().into_iter().collect();
        if let Some(m) = self.more.get(k) {
            out.extend_from_slice(m);
        }
        out
    }
}

/// One IIJ ID snapshot's rows with indexes.
pub struct IidIndex<'a> {
    pub users: &'a [IidUser],
    pub groups: &'a [IidGroup],
    pub user_by_key: Map<Key, u32>,
    pub by_external_id: Multi<&'a str>,
    pub by_linking_id: Multi<&'a str>,
    pub by_user_name: Multi<Ci<'a>>,
    pub group_by_key: Map<Key, u32>,
    pub group_by_name: Multi<Ci<'a>>,
    /// User members (row indexes) of each group, sorted.
    pub group_members: Vec<Vec<u32>>,
    /// Each group's state digest, computed on first use: a group with members both added
    /// and removed has two actions, and hashing a group hashes all its member ids.
    pub group_digests: Vec<std::cell::OnceCell<String>>,
}

impl<'a> IidIndex<'a> {
    pub fn new(users: &'a [IidUser], groups: &'a [IidGroup], edges: &[MemberEdge]) -> Self {
        let n = users.len();
        let mut user_by_key = map_with_capacity(n);
        let mut by_external_id = Multi::with_capacity(n);
        let mut by_linking_id = Multi::with_capacity(n);
        let mut by_user_name = Multi::with_capacity(n);
        for (i, u) in users.iter().enumerate() {
            let i = i as u32;
            user_by_key.insert(Key::parse(&u.id), i);
            if let Some(e) = u.external_id.as_deref().filter(|e| !e.is_empty()) {
                by_external_id.insert(e, i);
            }
            if let Some(d) = u.downstream_id.as_deref().filter(|e| !e.is_empty()) {
                by_linking_id.insert(d, i);
            }
            by_user_name.insert(Ci(u.user_name.as_str()), i);
        }
        let mut group_by_key = map_with_capacity(groups.len());
        let mut group_by_name = Multi::with_capacity(groups.len());
        for (i, g) in groups.iter().enumerate() {
            group_by_key.insert(Key::parse(&g.id), i as u32);
            group_by_name.insert(Ci(g.display_name.as_str()), i as u32);
        }
        let mut group_members = vec![Vec::new(); groups.len()];
        for e in edges {
            let Some(&g) = group_by_key.get(&e.group) else {
                continue;
            };
            let user = match (&e.member, e.kind) {
                (Some(m), MemberKind::User | MemberKind::Unknown) => user_by_key.get(m).copied(),
                _ => None,
            };
            if let Some(u) = user {
                group_members[g as usize].push(u);
            }
        }
        for m in &mut group_members {
            m.sort_unstable();
            m.dedup();
        }
        IidIndex {
            users,
            groups,
            user_by_key,
            by_external_id,
            by_linking_id,
            by_user_name,
            group_by_key,
            group_by_name,
            group_digests: vec![std::cell::OnceCell::new(); group_members.len()],
            group_members,
        }
    }

    pub fn user_by_id(&self, id: &str) -> Option<u32> {
        self.user_by_key.get(&Key::parse(id)).copied()
    }

    pub fn group_by_id(&self, id: &str) -> Option<u32> {
        self.group_by_key.get(&Key::parse(id)).copied()
    }

    pub fn user(&self, i: u32) -> Option<&'a IidUser> {
        self.users.get(i as usize)
    }

    pub fn group(&self, i: u32) -> Option<&'a IidGroup> {
        self.groups.get(i as usize)
    }
}
