//! The member index and the compact form against what a scan of every group (the store's
//! former way) gives: memberships found by the index, groups rendered exactly as before.

use super::*;
use crate::clock::LogicalClock;
use proptest::prelude::*;
use serde_json::json;

struct Fixture {
    registry: Registry,
    profile: Profile,
    clock: LogicalClock,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            registry: Registry::builtin(),
            profile: Profile::iij(),
            clock: LogicalClock::new(chrono::DateTime::UNIX_EPOCH, chrono::Duration::seconds(1)),
        }
    }

    fn env(&self) -> Env<'_> {
        Env {
            registry: &self.registry,
            profile: &self.profile,
            clock: &self.clock,
            base_url: "http://mock/",
        }
    }
}

fn user(store: &mut Store, env: &Env<'_>, name: &str) -> String {
    let body = json!({"userName": format!("{name}@example.jp"), "externalId": name});
    store.create(env, Kind::User, &body).unwrap().entry.id
}

fn group(store: &mut Store, env: &Env<'_>, name: &str, members: &[&str]) -> String {
    let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
    let body = json!({"displayName": name, "members": members});
    store.create(env, Kind::Group, &body).unwrap().entry.id
}

fn member_ids(store: &Store, group: &str) -> Vec<String> {
    let entry = store.groups.get(group).unwrap();
    entry.resource["members"]
        .as_array()
        .map(|ms| {
            ms.iter()
                .map(|m| m["value"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn patch_members(
    store: &mut Store,
    env: &Env<'_>,
    group: &str,
    op: &str,
    member: &str,
) -> Result<Entry, ScimError> {
    let body = match op {
        "add" => {
            json!({"Operations": [{"op": "add", "path": "members", "value": [{"value": member}]}]})
        }
        _ => {
            json!({"Operations": [{"op": "remove", "path": format!("members[value eq \"{member}\"]")}]})
        }
    };
    store.patch(env, Kind::Group, group, &body, None)
}

/// What the store used to do on every purge: walk every group, drop the member, remove a
/// `members` array left empty.
fn scan_drop(groups: &mut [Value], member: &str) {
    for g in groups {
        if let Value::Object(o) = g
            && let Some(Value::Array(members)) = o.get_mut("members")
        {
            members.retain(|m| m.get("value").and_then(Value::as_str) != Some(member));
            if members.is_empty() {
                o.remove("members");
            }
        }
    }
}

fn rendered_groups(store: &Store) -> Vec<String> {
    store
        .groups
        .iter()
        .map(|e| e.resource.to_string())
        .collect()
}

#[test]
fn purging_a_user_removes_it_from_every_group_it_was_in() {
    let f = Fixture::new();
    let env = f.env();
    let mut store = Store::new(0);
    let a = user(&mut store, &env, "a");
    let b = user(&mut store, &env, "b");
    let g1 = group(&mut store, &env, "g1", &[&a, &b]);
    let g2 = group(&mut store, &env, "g2", &[&a]);
    let g3 = group(&mut store, &env, "g3", &[&b]);
    assert!(store.purge(Kind::User, &a));
    assert_eq!(member_ids(&store, &g1), [b.as_str()]);
    // g2 lost its last member: the attribute is gone, as a scan left it.
    assert!(
        store
            .groups
            .get(&g2)
            .unwrap()
            .resource
            .get("members")
            .is_none()
    );
    assert_eq!(member_ids(&store, &g3), [b.as_str()]);
    assert!(store.groups.indexed_groups_of(&a).is_empty());
    assert_eq!(store.groups.indexed_groups_of(&b).len(), 2);
}

#[test]
fn deleting_a_group_removes_it_from_the_groups_it_is_nested_in() {
    let f = Fixture::new();
    let env = f.env();
    let mut store = Store::new(0);
    let a = user(&mut store, &env, "a");
    let inner = group(&mut store, &env, "inner", &[&a]);
    let outer = group(&mut store, &env, "outer", &[&inner, &a]);
    // Enrichment typed the nested member as a Group.
    let outer_entry = store.groups.get(&outer).unwrap();
    assert_eq!(
        outer_entry.resource["members"][0]["$ref"],
        format!("http://mock/Groups/{inner}")
    );
    assert_eq!(outer_entry.resource["members"][0]["display"], "inner");
    store.delete(&env, Kind::Group, &inner, None).unwrap();
    assert_eq!(member_ids(&store, &outer), [a.as_str()]);
    assert!(store.groups.indexed_groups_of(&inner).is_empty());
}

#[test]
fn a_renamed_member_keeps_its_memberships_and_its_new_name_is_indexed() {
    let f = Fixture::new();
    let env = f.env();
    let mut store = Store::new(0);
    let a = user(&mut store, &env, "a");
    let g = group(&mut store, &env, "g", &[&a]);
    let rename =
        json!({"Operations": [{"op": "replace", "path": "userName", "value": "z@example.jp"}]});
    store.patch(&env, Kind::User, &a, &rename, None).unwrap();
    assert_eq!(member_ids(&store, &g), [a.as_str()]);
    assert_eq!(store.users.id_by_name("Z@example.jp"), Some(a.as_str()));
    assert_eq!(store.users.id_by_name("a@example.jp"), None);
    // A later member write enriches the new member with its name as it is now; the display
    // written before stays as it was written.
    let b = user(&mut store, &env, "b");
    patch_members(&mut store, &env, &g, "add", &b).unwrap();
    let entry = store.groups.get(&g).unwrap();
    assert_eq!(entry.resource["members"][0]["display"], "a@example.jp");
    assert_eq!(entry.resource["members"][1]["display"], "b@example.jp");
}

#[test]
fn a_pending_user_keeps_its_memberships_through_delete_and_restore() {
    let f = Fixture::new();
    let env = f.env();
    let mut store = Store::new(0);
    let a = user(&mut store, &env, "a");
    let g = group(&mut store, &env, "g", &[&a]);
    store.delete(&env, Kind::User, &a, None).unwrap();
    assert_eq!(store.users.pending_deletion(&a), Some(true));
    assert_eq!(member_ids(&store, &g), [a.as_str()]);
    // Restored by PATCH, the IIJ profile's restore method.
    let patch = json!({"Operations": [{"op": "replace", "path": "active", "value": true}]});
    store.patch(&env, Kind::User, &a, &patch, None).unwrap();
    assert_eq!(store.users.pending_deletion(&a), Some(false));
    assert_eq!(member_ids(&store, &g), [a.as_str()]);
    assert_eq!(store.groups.indexed_groups_of(&a).len(), 1);
    // And by the console's restore.
    store.delete(&env, Kind::User, &a, None).unwrap();
    store.restore(&a).unwrap();
    assert_eq!(member_ids(&store, &g), [a.as_str()]);
}

#[test]
fn a_purge_removes_empty_members_arrays_of_other_groups_as_the_scan_did() {
    let f = Fixture::new();
    let env = f.env();
    let mut store = Store::new(0);
    let a = user(&mut store, &env, "a");
    store
        .seed(
            Kind::Group,
            json!({"id": "e", "displayName": "empty", "members": [], "meta": {"version": "W/\"1\""}}),
            false,
        )
        .unwrap();
    let before = rendered_groups(&store);
    assert!(before[0].contains("\"members\":[]"));
    let mut expected: Vec<Value> = store.groups.iter().map(|e| e.resource).collect();
    scan_drop(&mut expected, &a);
    store.purge(Kind::User, &a);
    let expected: Vec<String> = expected.iter().map(Value::to_string).collect();
    assert_eq!(rendered_groups(&store), expected);
}

#[test]
fn members_keep_their_shape_and_order_when_stored_compactly() {
    let f = Fixture::new();
    let env = f.env();
    let mut store = Store::new(0);
    let a = user(&mut store, &env, "a");
    let b = user(&mut store, &env, "b");
    let group = json!({
        "id": "g", "displayName": "g", "externalId": "x",
        "members": [
            {"value": a},
            {"display": "B first", "value": b, "type": "User"},
            {"value": "unknown-id", "$ref": "https://elsewhere/Users/unknown-id", "display": "u"},
            "not an object",
            {"no": "value"}
        ],
        "meta": {"resourceType": "Group"}
    });
    store.seed(Kind::Group, group.clone(), false).unwrap();
    assert_eq!(
        store.groups.get("g").unwrap().resource.to_string(),
        group.to_string()
    );
    assert_eq!(store.groups.indexed_groups_of("unknown-id").len(), 1);
}

#[test]
fn a_page_starts_at_its_rank_after_holes_and_pending_users() {
    let f = Fixture::new();
    let env = f.env();
    let mut store = Store::new(0);
    let ids: Vec<String> = (0..10)
        .map(|i| user(&mut store, &env, &format!("u{i}")))
        .collect();
    store.purge(Kind::User, &ids[2]);
    store.delete(&env, Kind::User, &ids[4], None).unwrap();
    let names = |from: usize, with_pending: bool| -> Vec<String> {
        let order = store.users.ordered(with_pending);
        order
            .iter_from(from)
            .map(|seq| store.users.by_seq(seq).unwrap().resource["externalId"].to_string())
            .collect()
    };
    assert_eq!(
        names(2, false),
        ["\"u3\"", "\"u5\"", "\"u6\"", "\"u7\"", "\"u8\"", "\"u9\""]
    );
    assert_eq!(
        names(3, true),
        ["\"u4\"", "\"u5\"", "\"u6\"", "\"u7\"", "\"u8\"", "\"u9\""]
    );
    assert_eq!(store.users.ordered(false).len(), 8);
    assert_eq!(store.users.ordered(true).len(), 9);
    assert!(names(8, false).is_empty());
}

#[derive(Debug, Clone)]
enum Op {
    User,
    Group(Vec<prop::sample::Index>),
    Add(prop::sample::Index, prop::sample::Index),
    Remove(prop::sample::Index, prop::sample::Index),
    PurgeUser(prop::sample::Index),
    DeleteGroup(prop::sample::Index),
    PendUser(prop::sample::Index),
    Restore(prop::sample::Index),
}

fn op() -> impl Strategy<Value = Op> {
    let ix = any::<prop::sample::Index>;
    prop_oneof![
        3 => Just(Op::User),
        2 => prop::collection::vec(ix(), 0..4).prop_map(Op::Group),
        3 => (ix(), ix()).prop_map(|(g, m)| Op::Add(g, m)),
        2 => (ix(), ix()).prop_map(|(g, m)| Op::Remove(g, m)),
        2 => ix().prop_map(Op::PurgeUser),
        1 => ix().prop_map(Op::DeleteGroup),
        1 => ix().prop_map(Op::PendUser),
        1 => ix().prop_map(Op::Restore),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// After any sequence of writes the member index is what a scan of every group finds,
    /// and every purge leaves the groups exactly as the former scan left them.
    #[test]
    fn the_member_index_is_what_a_scan_finds(ops in prop::collection::vec(op(), 1..40)) {
        let f = Fixture::new();
        let env = f.env();
        let mut store = Store::new(7);
        let mut users: Vec<String> = Vec::new();
        let mut groups: Vec<String> = Vec::new();
        let mut n = 0;
        for o in ops {
            n += 1;
            let members: Vec<&String> = users.iter().chain(groups.iter()).collect();
            let pick = |i: &prop::sample::Index| (!members.is_empty()).then(|| members[i.index(members.len())].clone());
            match &o {
                Op::User => users.push(user(&mut store, &env, &format!("u{n}"))),
                Op::Group(ms) => {
                    let chosen: Vec<String> = ms.iter().filter_map(pick).collect();
                    let refs: Vec<&str> = chosen.iter().map(String::as_str).collect();
                    let mut unique = refs.clone();
                    unique.sort_unstable();
                    unique.dedup();
                    groups.push(group(&mut store, &env, &format!("g{n}"), &unique));
                }
                Op::Add(g, m) | Op::Remove(g, m) if !groups.is_empty() => {
                    let Some(member) = pick(m) else { continue };
                    let g = groups[g.index(groups.len())].clone();
                    let verb = if matches!(o, Op::Add(..)) { "add" } else { "remove" };
                    // Removing a member the group does not list is a 400: fine here.
                    let _ = patch_members(&mut store, &env, &g, verb, &member);
                }
                Op::PurgeUser(i) | Op::DeleteGroup(i) => {
                    let (list, kind) = if matches!(o, Op::PurgeUser(_)) {
                        (&mut users, Kind::User)
                    } else {
                        (&mut groups, Kind::Group)
                    };
                    if list.is_empty() {
                        continue;
                    }
                    let id = list.remove(i.index(list.len()));
                    let mut expected: Vec<Value> = store.groups.iter().map(|e| e.resource).collect();
                    let gone = store.collection(kind).get(&id).unwrap().seq;
                    expected.retain(|g| g["id"] != id.as_str());
                    scan_drop(&mut expected, &id);
                    prop_assert!(store.purge(kind, &id));
                    let expected: Vec<String> = expected.iter().map(Value::to_string).collect();
                    prop_assert_eq!(rendered_groups(&store), expected, "after purging seq {}", gone);
                }
                Op::PendUser(i) if !users.is_empty() => {
                    let id = &users[i.index(users.len())];
                    let _ = store.delete(&env, Kind::User, id, None);
                }
                Op::Restore(i) if !users.is_empty() => {
                    let id = &users[i.index(users.len())];
                    let _ = store.restore(id);
                }
                _ => {}
            }
            prop_assert_eq!(store.groups.held_member_index(), store.groups.scanned_member_index());
            let listed = store.users.ordered(false);
            let scanned: Vec<u64> = store.users.iter().filter(|e| !e.pending_deletion).map(|e| e.seq).collect();
            prop_assert_eq!(listed.iter().copied().collect::<Vec<_>>(), scanned.clone());
            for skip in 0..=scanned.len() {
                prop_assert_eq!(listed.iter_from(skip).next(), scanned.get(skip).copied());
            }
        }
    }
}
