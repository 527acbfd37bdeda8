//! Seeding the mock from an IID snapshot and dumping it to one, through
//! `dirsnap_model::scim_json` (the same conversion `dirsnap export iid` uses), so a dump of
//! the mock and an export of a real tenant holding the same resources give the same rows.

use crate::error::MockError;
use crate::profile::Profile;
use crate::schema::Kind;
use crate::store::{Collection, Entry, Store};
use chrono::{DateTime, Utc};
use dirsnap_model::SnapshotKind;
use dirsnap_model::scim_json::{self, UserOptions};
use dirsnap_model::{IidGroup, IidUser, Manifest, MemberKind, Membership, Source};
use dirsnap_snapshot::{Iid, ReadOptions, Snapshot, SnapshotMeta, SnapshotWriter, Table};
use std::borrow::Borrow;
use std::collections::HashMap;
use std::path::Path;

/// The rows of an IID snapshot.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IidTables {
    pub users: Vec<IidUser>,
    pub groups: Vec<IidGroup>,
    pub memberships: Vec<Membership>,
}

/// What a seed loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SeedSummary {
    pub users: usize,
    pub pending_deletion: usize,
    pub groups: usize,
    pub memberships: usize,
}

/// The state as snapshot rows: users and groups in creation order, memberships in group
/// order then member order. Pending-deletion users are included with `pending_deletion`.
pub fn tables(store: &Store, profile: &Profile) -> Result<IidTables, MockError> {
    let mut out = IidTables::default();
    for e in store.users.iter() {
        out.users.push(user_row(&e, profile)?);
    }
    for e in store.groups.iter() {
        let (g, members) = group_rows(store, &e)?;
        out.groups.push(g);
        out.memberships.extend(members);
    }
    Ok(out)
}

fn user_row(e: &Entry, profile: &Profile) -> Result<IidUser, MockError> {
    let options = UserOptions {
        linking_id: profile.linking_id.clone(),
        pending_deletion: e.pending_deletion,
    };
    scim_json::user_from_scim_with(&e.resource, &options)
        .map_err(|err| MockError::Dump(err.to_string()))
}

fn group_rows(store: &Store, e: &Entry) -> Result<(IidGroup, Vec<Membership>), MockError> {
    let resolve = |key: &str| {
        if store.users.contains(key) {
            Some(MemberKind::User)
        } else if store.groups.contains(key) {
            Some(MemberKind::Group)
        } else {
            None
        }
    };
    scim_json::group_from_scim(&e.resource, &resolve)
        .map_err(|err| MockError::Dump(err.to_string()))
}

/// Rows per chunk of a dump: the snapshot writer's row group, so writing chunk by chunk
/// gives the same files as writing every row at once.
const DUMP_CHUNK_ROWS: usize = 64 * 1024;

/// Writes the state as an IID snapshot at `dir` (as [`tables`] then [`write`] would), a
/// chunk of rows at a time, each chunk converted on every core: the whole state is never
/// held as rows.
pub fn dump(
    store: &Store,
    profile: &Profile,
    dir: &Path,
    base_url: &str,
    taken_at: DateTime<Utc>,
) -> Result<Manifest, MockError> {
    let mut w = SnapshotWriter::<Iid>::create(dir)?;
    for chunk in store.users.live_positions().chunks(DUMP_CHUNK_ROWS) {
        let rows = convert_in_parallel(&store.users, chunk, |e| user_row(&e, profile))?;
        w.write_users(&rows)?;
    }
    // Groups are converted a few thousand at a time (a chunk of 65,536 groups would hold
    // millions of membership rows at once), their rows written in whole row groups.
    let mut groups: Vec<IidGroup> = Vec::new();
    let mut memberships: Vec<Membership> = Vec::new();
    for chunk in store.groups.live_positions().chunks(DUMP_GROUP_CHUNK) {
        let rows = convert_in_parallel(&store.groups, chunk, |e| group_rows(store, &e))?;
        for (g, members) in rows {
            groups.push(g);
            memberships.extend(members);
            flush_whole_chunks(&mut memberships, |rows| w.write_memberships(rows))?;
        }
        flush_whole_chunks(&mut groups, |rows| w.write_groups(rows))?;
    }
    w.write_groups(&groups)?;
    w.write_memberships(&memberships)?;
    Ok(w.commit(dump_meta(base_url, taken_at))?)
}

/// Groups converted at a time by a dump.
const DUMP_GROUP_CHUNK: usize = 4 * 1024;

/// Writes the first [`DUMP_CHUNK_ROWS`] rows of `rows` as long as there are that many.
fn flush_whole_chunks<T>(
    rows: &mut Vec<T>,
    mut write: impl FnMut(&[T]) -> Result<(), dirsnap_snapshot::SnapshotError>,
) -> Result<(), MockError> {
    while rows.len() >= DUMP_CHUNK_ROWS {
        write(&rows[..DUMP_CHUNK_ROWS])?;
        rows.drain(..DUMP_CHUNK_ROWS);
    }
    Ok(())
}

/// The entries at `positions` converted by `convert`, in order, on every core.
fn convert_in_parallel<T: Send>(
    coll: &Collection,
    positions: &[usize],
    convert: impl Fn(Entry) -> Result<T, MockError> + Sync,
) -> Result<Vec<T>, MockError> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_thread = positions.len().div_ceil(threads).max(1);
    let convert = &convert;
    let parts: Vec<Result<Vec<T>, MockError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = positions
            .chunks(per_thread)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .filter_map(|pos| coll.entry_at(*pos))
                        .map(convert)
                        .collect::<Result<Vec<T>, MockError>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(MockError::Dump("a dump thread panicked".into())))
            })
            .collect()
    });
    let mut out = Vec::with_capacity(positions.len());
    for part in parts {
        out.extend(part?);
    }
    Ok(out)
}

/// Loads snapshot rows into the store, verbatim.
pub fn load(store: &mut Store, t: &IidTables) -> Result<SeedSummary, MockError> {
    let mut summary = SeedSummary::default();
    seed_users(store, &t.users, &mut summary)?;
    seed_groups(store, &t.groups, &t.memberships, &mut summary)?;
    Ok(summary)
}

fn seed_users<U: Borrow<IidUser>>(
    store: &mut Store,
    users: impl IntoIterator<Item = U>,
    summary: &mut SeedSummary,
) -> Result<(), MockError> {
    let bad = MockError::SeedResource;
    for u in users {
        let u = u.borrow();
        let value = scim_json::user_to_scim(u).map_err(|e| bad(e.to_string()))?;
        if value.get("id").and_then(|v| v.as_str()) != Some(u.id.as_str()) {
            return Err(bad(format!(
                "IID user {}: the raw JSON's id is not the row's id",
                u.id
            )));
        }
        store
            .seed(Kind::User, value, u.pending_deletion)
            .map_err(bad)?;
        summary.users += 1;
        summary.pending_deletion += usize::from(u.pending_deletion);
    }
    Ok(())
}

fn seed_groups(
    store: &mut Store,
    groups: &[IidGroup],
    memberships: &[Membership],
    summary: &mut SeedSummary,
) -> Result<(), MockError> {
    let bad = MockError::SeedResource;
    let mut by_group: HashMap<&str, Vec<&Membership>> = HashMap::new();
    for m in memberships {
        by_group.entry(m.group_key.as_str()).or_default().push(m);
    }
    for g in groups {
        let members = by_group.remove(g.id.as_str()).unwrap_or_default();
        summary.memberships += members.len();
        let value = scim_json::group_to_scim(g, &members).map_err(|e| bad(e.to_string()))?;
        if value.get("id").and_then(|v| v.as_str()) != Some(g.id.as_str()) {
            return Err(bad(format!(
                "IID group {}: the raw JSON's id is not the row's id",
                g.id
            )));
        }
        store.seed(Kind::Group, value, false).map_err(bad)?;
        summary.groups += 1;
    }
    if let Some((group, _)) = by_group.into_iter().next() {
        return Err(bad(format!(
            "memberships.parquet names group {group}, which groups.parquet does not hold"
        )));
    }
    Ok(())
}

/// The typed columns a seed never reads: it loads each resource from `raw` (the id and the
/// pending flag aside), so their pages are left undecoded.
const SEED_SKIPS: &[&str] = &[
    "user_name",
    "external_id",
    "downstream_id",
    "active",
    "display_name",
    "family_name",
    "given_name",
    "email",
    "emails",
    "title",
    "department",
    "preferred_language",
    "timezone",
    "meta_created",
    "meta_last_modified",
    "meta_version",
    "description",
];

/// Seeds the store from an IID snapshot directory (checked as every reader checks it) plus
/// `extra` rows: users first, their rows freed before the groups and memberships are read,
/// and only the columns a seed uses decoded, so the rows never sit beside the whole store.
/// The same resources as [`read`] then [`load`] would seed.
pub fn seed_from_dir(
    store: &mut Store,
    dir: &Path,
    extra: Option<&IidTables>,
) -> Result<(SeedSummary, Manifest), MockError> {
    let snap = Snapshot::open(dir)?;
    if snap.kind() != SnapshotKind::Iid {
        // The full read reports a kind mismatch its own way.
        let (tables, manifest) = read(dir)?;
        return Ok((load_with_extra(store, tables, extra)?, manifest));
    }
    let options = ReadOptions {
        skip_raw: false,
        skip_columns: SEED_SKIPS.to_vec(),
    };
    let mut summary = SeedSummary::default();
    let users: Vec<IidUser> = snap.read_table(Table::Users, &options)?;
    let extra_users = extra.map_or(&[][..], |e| &e.users[..]);
    store.reserve(Kind::User, users.len() + extra_users.len());
    seed_users(store, users, &mut summary)?;
    seed_users(store, extra_users, &mut summary)?;
    let mut groups: Vec<IidGroup> = snap.read_table(Table::Groups, &options)?;
    let mut memberships: Vec<Membership> = snap.read_table(Table::Memberships, &options)?;
    if let Some(e) = extra {
        groups.extend(e.groups.iter().cloned());
        memberships.extend(e.memberships.iter().cloned());
    }
    store.reserve(Kind::Group, groups.len());
    seed_groups(store, &groups, &memberships, &mut summary)?;
    Ok((summary, snap.manifest().clone()))
}

fn load_with_extra(
    store: &mut Store,
    mut tables: IidTables,
    extra: Option<&IidTables>,
) -> Result<SeedSummary, MockError> {
    if let Some(extra) = extra {
        tables.users.extend(extra.users.iter().cloned());
        tables.groups.extend(extra.groups.iter().cloned());
        tables.memberships.extend(extra.memberships.iter().cloned());
    }
    load(store, &tables)
}

/// Reads an IID snapshot directory (checked as every reader checks it).
pub fn read(dir: &Path) -> Result<(IidTables, Manifest), MockError> {
    let snap = Snapshot::open(dir)?;
    let t = snap.read::<Iid>(&ReadOptions::default())?;
    Ok((
        IidTables {
            users: t.users,
            groups: t.groups,
            memberships: t.memberships,
        },
        t.manifest,
    ))
}

/// Writes the rows as an IID snapshot at `dir` (atomically; `dir` must not exist).
pub fn write(
    t: &IidTables,
    dir: &Path,
    base_url: &str,
    taken_at: DateTime<Utc>,
) -> Result<Manifest, MockError> {
    let mut w = SnapshotWriter::<Iid>::create(dir)?;
    w.write_users(&t.users)?;
    w.write_groups(&t.groups)?;
    w.write_memberships(&t.memberships)?;
    Ok(w.commit(dump_meta(base_url, taken_at))?)
}

/// What a dump's manifest says about where it came from.
fn dump_meta(base_url: &str, taken_at: DateTime<Utc>) -> SnapshotMeta {
    let host = base_url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .map(str::to_owned);
    SnapshotMeta {
        source: Source {
            host,
            tenant_url: Some(base_url.to_owned()),
            ..Source::default()
        },
        taken_at: Some(taken_at),
        notes: vec![
            "dumped by dirsnap mock-scim (the state of the mock, not of a real tenant)".into(),
        ],
        ..SnapshotMeta::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The streamed dump writes the same files as converting everything then writing it,
    /// across row-group boundaries of every table.
    #[test]
    fn a_streamed_dump_writes_the_files_a_whole_write_does() {
        let mut store = Store::new(0);
        let users: Vec<String> = (0..20).map(|i| format!("u{i}")).collect();
        for u in &users {
            let user = json!({"id": u, "userName": format!("{u}@example.jp"), "externalId": u});
            store.seed(Kind::User, user, false).unwrap();
        }
        // 5,000 groups of 20 members: more groups than a conversion chunk, and more
        // memberships than a row group.
        for g in 0..5_000 {
            let members: Vec<_> = users.iter().map(|u| json!({"value": u})).collect();
            let group = json!({"id": format!("g{g}"), "displayName": format!("group {g}"), "members": members});
            store.seed(Kind::Group, group, false).unwrap();
        }
        let profile = Profile::iij();
        let taken_at = DateTime::<Utc>::UNIX_EPOCH;
        let dir = tempfile::tempdir().unwrap();
        let (streamed, whole) = (dir.path().join("streamed"), dir.path().join("whole"));
        dump(&store, &profile, &streamed, "http://mock/", taken_at).unwrap();
        let rows = tables(&store, &profile).unwrap();
        assert_eq!(rows.memberships.len(), 100_000);
        write(&rows, &whole, "http://mock/", taken_at).unwrap();
        for file in ["users.parquet", "groups.parquet", "memberships.parquet"] {
            let a = std::fs::read(streamed.join(file)).unwrap();
            let b = std::fs::read(whole.join(file)).unwrap();
            assert!(a == b, "{file} differs");
        }
    }
}
