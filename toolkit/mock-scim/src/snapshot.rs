//! Seeding the mock from an IID snapshot and dumping it to one, through
//! `dirsnap_model::scim_json` (the same conversion `dirsnap export iid` uses), so a dump of
//! the mock and an export of a real tenant holding the same resources give the same rows.

use crate::error::MockError;
use crate::profile::Profile;
use crate::schema::Kind;
use crate::store::Store;
use chrono::{DateTime, Utc};
use dirsnap_model::scim_json::{self, UserOptions};
use dirsnap_model::{IidGroup, IidUser, Manifest, MemberKind, Membership, Source};
use dirsnap_snapshot::{Iid, ReadOptions, Snapshot, SnapshotMeta, SnapshotWriter};
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
    let resolve = |key: &str| {
        if store.users.get(key).is_some() {
            Some(MemberKind::User)
        } else if store.groups.get(key).is_some() {
            Some(MemberKind::Group)
        } else {
            None
        }
    };
    let mut out = IidTables::default();
    for e in store.users.iter() {
        let options = UserOptions {
            linking_id: profile.linking_id.clone(),
            pending_deletion: e.pending_deletion,
        };
        out.users.push(
            scim_json::user_from_scim_with(&e.resource, &options)
                .map_err(|err| MockError::Dump(err.to_string()))?,
        );
    }
    for e in store.groups.iter() {
        let (g, members) = scim_json::group_from_scim(&e.resource, &resolve)
            .map_err(|err| MockError::Dump(err.to_string()))?;
        out.groups.push(g);
        out.memberships.extend(members);
    }
    Ok(out)
}

/// Loads snapshot rows into the store, verbatim.
pub fn load(store: &mut Store, t: &IidTables) -> Result<SeedSummary, MockError> {
    let bad = MockError::SeedResource;
    let mut summary = SeedSummary::default();
    for u in &t.users {
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
    let mut by_group: HashMap<&str, Vec<&Membership>> = HashMap::new();
    for m in &t.memberships {
        by_group.entry(m.group_key.as_str()).or_default().push(m);
    }
    for g in &t.groups {
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
    Ok(summary)
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
    let host = base_url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .map(str::to_owned);
    let meta = SnapshotMeta {
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
    };
    Ok(w.commit(meta)?)
}
