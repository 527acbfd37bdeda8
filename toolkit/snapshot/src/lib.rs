//! Parquet snapshots of AD, IIJ ID and Microsoft 365: one directory with `manifest.json`,
//! `users.parquet`, `groups.parquet` and `memberships.parquet`, written atomically and
//! checked (schema version, sha256) when read. docs/snapshot-format.md is the contract.

mod columns;
mod error;
mod kinds;
mod reader;
mod records;
mod writer;

pub use columns::ColumnError;
pub use error::SnapshotError;
pub use kinds::{Ad, Iid, KindSpec, M365};
pub use reader::{AnySnapshot, ReadOptions, Snapshot, Tables, read_manifest_json};
pub use records::{ColumnDoc, Record, Table, Tabular};
pub use writer::{SnapshotMeta, SnapshotWriter};

/// The documented columns of each table of a snapshot kind.
pub fn columns_of(kind: dirsnap_model::SnapshotKind, table: Table) -> &'static [ColumnDoc] {
    use dirsnap_model::SnapshotKind as K;
    match (kind, table) {
        (_, Table::Memberships) => <dirsnap_model::Membership as Record>::columns(),
        (K::Ad, Table::Users) => <dirsnap_model::AdUser as Record>::columns(),
        (K::Ad, Table::Groups) => <dirsnap_model::AdGroup as Record>::columns(),
        (K::Iid, Table::Users) => <dirsnap_model::IidUser as Record>::columns(),
        (K::Iid, Table::Groups) => <dirsnap_model::IidGroup as Record>::columns(),
        (K::M365, Table::Users) => <dirsnap_model::M365User as Record>::columns(),
        (K::M365, Table::Groups) => <dirsnap_model::M365Group as Record>::columns(),
    }
}
