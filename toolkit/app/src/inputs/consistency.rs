//! Inputs checked against each other before anything is read: a plan computed from swapped
//! or mismatched snapshots would be confidently wrong — `--previous-ad` newer than `--ad`
//! turns every new account into a "deleted" one. These are refusals (exit 2), each saying
//! which two inputs disagree and how; what is only suspicious or useless (a long gap between
//! the AD and IIJ ID snapshots, one snapshot given twice, two instances on one domain) is a
//! finding of the engine instead (`checks/inputs.rs`).

use super::sources::Sources;
use crate::error::AppError;
use dirsnap_model::{Manifest, SnapshotKind};
use std::path::{Path, PathBuf};

/// One input snapshot as named on the command line.
struct Named {
    flag: &'static str,
    path: PathBuf,
    manifest: Manifest,
}

fn named(flag: &'static str, kind: SnapshotKind, path: &Path) -> Result<Named, AppError> {
    let snapshot = super::snapshot::open(path, kind, flag)?;
    Ok(Named {
        flag,
        path: path.to_path_buf(),
        manifest: snapshot.manifest().clone(),
    })
}

fn disagree(message: String) -> AppError {
    AppError::InputsDisagree { message }
}

/// Refuses inputs that contradict each other.
pub(super) fn check(src: &Sources) -> Result<(), AppError> {
    let mut all: Vec<Named> = Vec::new();
    for p in &src.ad {
        all.push(named("--ad", SnapshotKind::Ad, p)?);
    }
    for p in &src.previous_ad {
        all.push(named("--previous-ad", SnapshotKind::Ad, p)?);
    }
    all.push(named("--iid", SnapshotKind::Iid, &src.iid)?);
    if let Some(p) = &src.previous_iid {
        all.push(named("--previous-iid", SnapshotKind::Iid, p)?);
    }
    if let Some(p) = &src.m365 {
        all.push(named("--m365", SnapshotKind::M365, p)?);
    }
    let of = |flag: &'static str| all.iter().filter(move |n| n.flag == flag);
    for previous in of("--previous-ad") {
        let current = of("--ad").find(|ad| same_instance(&ad.manifest, &previous.manifest));
        match current {
            Some(current) => earlier(previous, current)?,
            None if src.ad.len() == 1 => {
                let Some(current) = of("--ad").next() else {
                    continue;
                };
                return Err(disagree(format!(
                    "--previous-ad {} is of {} but --ad {} is of {}: the previous snapshot must be of the same instance and domain",
                    previous.path.display(),
                    describe(&previous.manifest),
                    current.path.display(),
                    describe(&current.manifest),
                )));
            }
            // Matched to its instance (or refused) when the snapshots are read.
            None => {}
        }
    }
    if let (Some(previous), Some(current)) = (of("--previous-iid").next(), of("--iid").next()) {
        earlier(previous, current)?;
    }
    Ok(())
}

/// Whether two AD manifests are of one instance: the same instance name, else the same
/// domain; unknown on either side counts as the same.
fn same_instance(a: &Manifest, b: &Manifest) -> bool {
    match (&a.source.instance, &b.source.instance) {
        (Some(x), Some(y)) => x == y,
        _ => match (&a.source.domain, &b.source.domain) {
            (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
            _ => true,
        },
    }
}

fn describe(m: &Manifest) -> String {
    format!(
        "instance {}, domain {}",
        m.source.instance.as_deref().unwrap_or("(unnamed)"),
        m.source.domain.as_deref().unwrap_or("(unknown)")
    )
}

/// `previous` must have been taken before `current`.
fn earlier(previous: &Named, current: &Named) -> Result<(), AppError> {
    if previous.manifest.taken_at > current.manifest.taken_at {
        return Err(disagree(format!(
            "{} {} was taken at {}, after {} {} ({}): the previous snapshot must be the older one — are the two swapped?",
            previous.flag,
            previous.path.display(),
            previous.manifest.taken_at.to_rfc3339(),
            current.flag,
            current.path.display(),
            current.manifest.taken_at.to_rfc3339(),
        )));
    }
    Ok(())
}

/// Users a cache must share with the live tenant to be taken for the same tenant.
const SAME_TENANT_SAMPLE: usize = 1000;

/// `--previous-iid` (or a `--history` snapshot: `flag`) must be the same tenant as `--iid`. The SCIM endpoint URL says nothing
/// (every IIJ ID tenant is served at one URL; the token picks the tenant), but SCIM ids are
/// stable: a cache none of whose first users is in the live tenant is another tenant's (or
/// every user was deleted and created again, which no plan should be computed over either).
pub(super) fn same_tenant(
    previous: &super::Read<super::IidRows>,
    live: &super::Read<super::IidRows>,
    flag: &str,
) -> Result<(), AppError> {
    let sample: std::collections::HashSet<&str> = previous
        .rows
        .users
        .iter()
        .take(SAME_TENANT_SAMPLE)
        .map(|u| u.id())
        .collect();
    if sample.len() < 10 || live.rows.users.is_empty() {
        return Ok(());
    }
    if live.rows.users.iter().any(|u| sample.contains(u.id())) {
        return Ok(());
    }
    Err(disagree(format!(
        "{flag} {} and --iid {} share no user (none of the first {} user ids of the earlier snapshot is in the live tenant): they are snapshots of different tenants, and a plan over them would be meaningless",
        previous.path.display(),
        live.path.display(),
        sample.len()
    )))
}
