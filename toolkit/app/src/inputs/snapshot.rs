//! The one way an input snapshot is opened, kind-checked, digested and read, whichever front
//! door named it.

use super::rows::{AdRows, IidRows};
use crate::error::AppError;
use dirsnap_config::DsConfig;
use dirsnap_model::{M365User, SnapshotKind};
use dirsnap_snapshot::{ReadOptions, Snapshot, Table};
use std::path::{Path, PathBuf};

/// A snapshot read for the engine, with where it came from and the digest a plan records.
#[derive(Debug)]
pub struct Read<T> {
    pub path: PathBuf,
    /// `sha256:` of its `manifest.json` (which holds every data file's sha256).
    pub digest: String,
    pub rows: T,
}

/// Opens a snapshot and checks it is of the kind its role needs. `label` is how the user
/// named it: the flag (`--ad`) or the plan's record of it.
pub(crate) fn open(path: &Path, kind: SnapshotKind, label: &str) -> Result<Snapshot, AppError> {
    let snap = Snapshot::open(path)?;
    if snap.kind() != kind {
        return Err(AppError::WrongKind {
            path: path.to_path_buf(),
            label: label.to_string(),
            expected: kind,
            found: snap.kind(),
        });
    }
    Ok(snap)
}

/// The digest a plan records for an input snapshot.
pub(crate) fn digest(path: &Path) -> Result<String, AppError> {
    Ok(dirsnap_plan::manifest_digest(path)?)
}

/// An AD snapshot as `config`'s instance reads it: without `raw` and the columns the mapping
/// never reads, unless filters are evaluated on the rows. Also says whether that instance
/// needs the IIJ ID snapshots' `raw` column.
pub(crate) fn read_ad(
    path: &Path,
    snap: &Snapshot,
    config: &DsConfig,
) -> Result<(Read<AdRows>, bool), AppError> {
    let needs = dirsnap_reconcile::raw_needs(config, &snap.manifest().filters)?;
    let options = ReadOptions {
        skip_raw: !needs.ad,
        skip_columns: needs.ad_unused,
    };
    let rows = AdRows::read(snap, &options)?;
    Ok((
        Read {
            rows,
            path: path.to_path_buf(),
            digest: digest(path)?,
        },
        needs.iid,
    ))
}

pub(crate) fn read_iid(path: &Path, snap: &Snapshot, raw: bool) -> Result<Read<IidRows>, AppError> {
    let options = ReadOptions {
        skip_raw: !raw,
        ..ReadOptions::default()
    };
    Ok(Read {
        rows: IidRows::read(snap, &options)?,
        path: path.to_path_buf(),
        digest: digest(path)?,
    })
}

pub(crate) fn read_m365(path: &Path, snap: &Snapshot) -> Result<Read<Vec<M365User>>, AppError> {
    Ok(Read {
        rows: snap.read_table::<M365User>(Table::Users, &ReadOptions::without_raw())?,
        path: path.to_path_buf(),
        digest: digest(path)?,
    })
}
