//! DUPLICATE_KEY (SPEC §5): two AD objects — of one instance or of several — that map to one
//! userName (compared case-insensitively) or one externalId. IIJ ID keeps both unique and
//! answers 409 (`scimType: uniqueness`), so none of them is synchronized.

use crate::findings;
use crate::ids::{ScopedUser, UserNumbers};
use crate::index::Ci;
use crate::instance::InstanceState;
use crate::mapping::DesiredKeys;
use crate::plan_builder::PlanBuilder;
use std::collections::BTreeMap;

/// The in-scope AD users that share a key with another, and which keys.
pub(crate) struct DuplicateKeys {
    attrs: BTreeMap<ScopedUser, Vec<&'static str>>,
}

impl DuplicateKeys {
    /// The attributes (`userName`, `externalId`) `user` shares with another AD object.
    pub(crate) fn of(&self, user: ScopedUser) -> Option<&[&'static str]> {
        self.attrs.get(&user).map(Vec::as_slice)
    }
}

/// One duplicated key: attribute, value, and every AD user having it. Ordered by attribute,
/// value, members (the order of the findings).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct DuplicateGroup {
    attr: &'static str,
    value: String,
    members: Vec<ScopedUser>,
}

/// Finds the duplicated userNames and externalIds among all instances' in-scope users and
/// adds a DUPLICATE_KEY finding for each.
pub(crate) fn find(
    plan: &mut PlanBuilder,
    instances: &[InstanceState<'_>],
    numbers: &UserNumbers,
) -> DuplicateKeys {
    let keys_of = |number: u32| -> Option<&DesiredKeys<'_>> {
        let user = numbers.locate(number);
        instances
            .get(user.instance.index())?
            .keys
            .get(user.user.index())
    };
    let by_user_name: Vec<(String, Vec<ScopedUser>)> = shared_keys(
        numbers.total(),
        |number| keys_of(number).and_then(|k| k.user_name.as_deref()).map(Ci),
        |a, b| a == b,
    )
    .into_iter()
    .map(|(name, users)| {
        let users = users.into_iter().map(|n| numbers.locate(n)).collect();
        (name.0.to_lowercase(), users)
    })
    .collect();
    let by_external_id: Vec<(String, Vec<ScopedUser>)> = shared_keys(
        numbers.total(),
        |number| keys_of(number).and_then(|k| k.external_id.as_deref()),
        |a, b| a == b,
    )
    .into_iter()
    .map(|(id, users)| {
        let users = users.into_iter().map(|n| numbers.locate(n)).collect();
        (id.to_string(), users)
    })
    .collect();

    let mut attrs: BTreeMap<ScopedUser, Vec<&'static str>> = BTreeMap::new();
    let mut groups: Vec<DuplicateGroup> = Vec::new();
    for (attr, shared) in [("userName", by_user_name), ("externalId", by_external_id)] {
        for (value, members) in shared {
            for member in &members {
                attrs.entry(*member).or_default().push(attr);
            }
            groups.push(DuplicateGroup {
                attr,
                value,
                members,
            });
        }
    }
    groups.sort();
    for group in &groups {
        let mut names: Vec<String> = group
            .members
            .iter()
            .filter_map(|member| {
                let instance = instances.get(member.instance.index())?;
                let user = instance.in_scope_user(member.user)?;
                Some(findings::duplicate_key_member(user, instance.name()))
            })
            .collect();
        names.sort();
        plan.add_finding(
            findings::duplicate_key(group.attr, &group.value, group.members.len(), &names),
            Vec::new(),
        );
    }
    DuplicateKeys { attrs }
}

/// Keys shared by more than one of `count` numbered items (`key(item)`, `None` = no key),
/// each with every item having it in ascending order; the first item's key stands for the
/// group. Sort-based, on all cores: hashes sorted, equal hashes compared with `eq` (so hash
/// collisions are harmless).
fn shared_keys<K: std::hash::Hash + Copy>(
    count: usize,
    key: impl Fn(u32) -> Option<K> + Sync,
    eq: impl Fn(&K, &K) -> bool,
) -> Vec<(K, Vec<u32>)> {
    use std::hash::BuildHasher;
    let hasher = foldhash::fast::FixedState::with_seed(0x6469_7273_6e61_7073);
    let items: Vec<u32> = (0..count as u32).collect();
    let mut hashed: Vec<(u64, u32)> = crate::par::map(&items, |_, &item| {
        key(item).map(|k| (hasher.hash_one(k), item))
    })
    .into_iter()
    .flatten()
    .collect();
    drop(items);
    hashed.sort_unstable();
    let mut out = Vec::new();
    let mut start = 0;
    while start < hashed.len() {
        let hash = hashed[start].0;
        let mut end = start + 1;
        while end < hashed.len() && hashed[end].0 == hash {
            end += 1;
        }
        if end - start > 1 {
            let mut groups: Vec<(K, Vec<u32>)> = Vec::new();
            for &(_, item) in &hashed[start..end] {
                let Some(k) = key(item) else { continue };
                match groups.iter_mut().find(|(group_key, _)| eq(group_key, &k)) {
                    Some((_, members)) => members.push(item),
                    None => groups.push((k, vec![item])),
                }
            }
            out.extend(groups.into_iter().filter(|(_, members)| members.len() > 1));
        }
        start = end;
    }
    out
}
