//! A snapshot's tables as the engine reads them: users, groups and membership edges, decoded
//! side by side (one thread per table) so a million-user snapshot is read in the time of its
//! largest table.

use super::edges::read_edges;
use dirsnap_reconcile::Edges;
use dirsnap_snapshot::{ReadOptions, Snapshot, SnapshotError, Table};

fn join<T>(
    h: std::thread::ScopedJoinHandle<'_, Result<T, SnapshotError>>,
) -> Result<T, SnapshotError> {
    h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
}

/// How much memory a snapshot's users take (debug level; docs/performance.md's memory
/// table comes from these lines).
fn log_table_size(source: &str, by_column: &[(&'static str, usize)]) {
    let bytes: usize = by_column.iter().map(|(_, bytes)| bytes).sum();
    let largest: Vec<String> = by_column
        .iter()
        .take(6)
        .map(|(column, bytes)| format!("{column} {} MiB", bytes >> 20))
        .collect();
    tracing::debug!(
        "{source} users held in {} MiB ({}, …)",
        bytes >> 20,
        largest.join(", ")
    );
}

/// An AD snapshot's rows as the engine reads them.
#[derive(Debug, Clone)]
pub struct AdRows {
    pub manifest: dirsnap_model::Manifest,
    pub users: dirsnap_model::AdUserTable,
    pub groups: Vec<dirsnap_model::AdGroup>,
    pub edges: Edges,
}

impl AdRows {
    /// Users, groups and memberships, decoded side by side.
    pub fn read(snap: &Snapshot, opts: &ReadOptions) -> Result<AdRows, SnapshotError> {
        let (users, groups, edges) = std::thread::scope(|s| {
            let users = s.spawn(|| snap.read_user_table::<dirsnap_model::AdUser>(opts));
            let groups = s.spawn(|| snap.read_table(Table::Groups, opts));
            let edges = read_edges(snap);
            (join(users), join(groups), edges)
        });
        if let Ok(users) = &users {
            log_table_size("AD", &users.heap_bytes_by_column());
        }
        Ok(AdRows {
            manifest: snap.manifest().clone(),
            users: users?,
            groups: groups?,
            edges: edges?,
        })
    }

    pub fn view(&self) -> dirsnap_reconcile::AdSnapshot<'_> {
        dirsnap_reconcile::AdSnapshot {
            users: &self.users,
            groups: &self.groups,
            memberships: &self.edges,
            taken_at: self.manifest.taken_at,
            filters: &self.manifest.filters,
            domain: self.manifest.source.domain.as_deref(),
        }
    }
}

/// An IID snapshot's rows as the engine reads them.
#[derive(Debug, Clone, Default)]
pub struct IidRows {
    pub users: dirsnap_model::IidUserTable,
    pub groups: Vec<dirsnap_model::IidGroup>,
    pub edges: Edges,
    /// When the snapshot was taken (`None` for a state read back just now).
    pub taken_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl IidRows {
    /// Users, groups and memberships, decoded side by side.
    pub fn read(snap: &Snapshot, opts: &ReadOptions) -> Result<IidRows, SnapshotError> {
        let (users, groups, edges) = std::thread::scope(|s| {
            let users = s.spawn(|| snap.read_user_table::<dirsnap_model::IidUser>(opts));
            let groups = s.spawn(|| snap.read_table(Table::Groups, opts));
            let edges = read_edges(snap);
            (join(users), join(groups), edges)
        });
        if let Ok(users) = &users {
            log_table_size("IIJ ID", &users.heap_bytes_by_column());
        }
        Ok(IidRows {
            users: users?,
            groups: groups?,
            edges: edges?,
            taken_at: Some(snap.manifest().taken_at),
        })
    }

    pub fn view(&self) -> dirsnap_reconcile::IidSnapshot<'_> {
        dirsnap_reconcile::IidSnapshot {
            users: &self.users,
            groups: &self.groups,
            memberships: &self.edges,
            taken_at: self.taken_at,
        }
    }
}
