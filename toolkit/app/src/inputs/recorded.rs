//! The plan directory's front door: the inputs a plan's `manifest.json` records, found again
//! and checked byte for byte (their digests) before they are read, so reconciling them again
//! (`replay --verify`) reasons from exactly what the plan was built from.

use super::instance::config_from_manifest;
use super::snapshot;
use super::{LoadedInputs, LoadedInstance};
use crate::error::AppError;
use dirsnap_config::DsConfig;
use dirsnap_model::{Manifest, SnapshotKind};
use dirsnap_plan::InputRef;
use dirsnap_plan::PlanDir;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Where a recorded input path is now: as recorded (absolute, or relative to the current
/// directory), else relative to the directory holding the plan directory. The digest check
/// afterwards makes a wrong guess harmless.
pub fn locate(plan_dir: &Path, recorded: &str) -> Option<PathBuf> {
    let p = PathBuf::from(recorded);
    if p.exists() {
        return Some(p);
    }
    if p.is_relative() {
        let base = plan_dir
            .canonicalize()
            .ok()
            .and_then(|d| d.parent().map(Path::to_path_buf))?;
        let q = base.join(&p);
        if q.exists() {
            return Some(q);
        }
    }
    None
}

/// "ad input (instance corp)": an input as people know it.
fn describe(e: &InputRef) -> String {
    match &e.instance {
        Some(i) => format!("{} input (instance {i})", e.role),
        None => format!("{} input", e.role),
    }
}

fn manifest_path(plan: &PlanDir) -> PathBuf {
    plan.dir.join("manifest.json")
}

/// The inputs the plan's manifest records; an AD and an IIJ ID input at least.
fn recorded_inputs(plan: &PlanDir) -> Result<Vec<InputRef>, AppError> {
    let path = manifest_path(plan);
    let text = std::fs::read_to_string(&path).map_err(|source| AppError::Io {
        path: path.clone(),
        source,
    })?;
    let manifest: Value = serde_json::from_str(&text).map_err(|source| AppError::PlanManifest {
        path: path.clone(),
        source,
    })?;
    let entries: Vec<InputRef> = match manifest.get("inputs") {
        Some(v) => {
            serde_json::from_value(v.clone()).map_err(|source| AppError::PlanManifestInputs {
                path: path.clone(),
                source,
            })?
        }
        None => Vec::new(),
    };
    let has = |role: &str| entries.iter().any(|e| e.role == role);
    if !has("ad") || !has("iid") {
        return Err(AppError::NoRecordedInputs { manifest: path });
    }
    Ok(entries)
}

/// Finds a recorded input snapshot and checks its digest.
fn check_snapshot(plan: &PlanDir, e: &InputRef) -> Result<PathBuf, AppError> {
    let Some(path) = locate(&plan.dir, &e.path) else {
        return Err(AppError::InputGone {
            recorded: e.path.clone(),
            what: describe(e),
            manifest: manifest_path(plan),
        });
    };
    let digest = snapshot::digest(&path)?;
    if digest != e.digest {
        return Err(AppError::InputChanged {
            path,
            what: describe(e),
            digest,
            recorded: e.digest.clone(),
        });
    }
    Ok(path)
}

/// A recorded input snapshot, checked, then opened and kind-checked.
fn open(
    plan: &PlanDir,
    e: &InputRef,
    kind: SnapshotKind,
) -> Result<(PathBuf, dirsnap_snapshot::Snapshot), AppError> {
    let path = check_snapshot(plan, e)?;
    let label = format!("the {} recorded in the plan", describe(e));
    let snap = snapshot::open(&path, kind, &label)?;
    Ok((path, snap))
}

/// A config file the plan recorded, unchanged: `given` when its digest is the recorded one,
/// else the recorded file read again.
fn config_file(
    plan: &PlanDir,
    e: &InputRef,
    given: Option<&DsConfig>,
) -> Result<DsConfig, AppError> {
    if let Some(c) = given
        && c.digest() == e.digest
    {
        return Ok(c.clone());
    }
    let Some(path) = locate(&plan.dir, &e.path) else {
        return Err(AppError::ConfigGone {
            recorded: e.path.clone(),
            manifest: manifest_path(plan),
        });
    };
    checked_config(dirsnap_config::load_config(&path)?, e)
}

fn checked_config(config: DsConfig, e: &InputRef) -> Result<DsConfig, AppError> {
    if config.digest() != e.digest {
        return Err(AppError::ConfigChanged {
            path: config.path.clone(),
            digest: config.digest(),
            recorded: e.digest.clone(),
        });
    }
    Ok(config)
}

/// Whether a config entry was taken from an AD snapshot's manifest (checked with it).
fn in_manifest(e: &InputRef) -> bool {
    e.path.ends_with("#config")
}

/// The config of one instance, checked against its recorded digest.
fn instance_config(
    plan: &PlanDir,
    entry: &InputRef,
    ad_manifest: &Manifest,
    ad_path: &Path,
    given: Option<&DsConfig>,
) -> Result<DsConfig, AppError> {
    if !in_manifest(entry) {
        return config_file(plan, entry, given);
    }
    if let Some(c) = given
        && c.digest() == entry.digest
    {
        return Ok(c.clone());
    }
    let instance = entry.instance.as_deref().unwrap_or("?");
    checked_config(config_from_manifest(ad_path, ad_manifest, instance)?, entry)
}

/// The console's pending-deletion list the plan recorded, unchanged: its rows and digest.
fn pending_list(
    plan: &PlanDir,
    e: &InputRef,
) -> Result<(PathBuf, Vec<dirsnap_reconcile::pending::ConsoleRow>, String), AppError> {
    let Some(path) = locate(&plan.dir, &e.path) else {
        return Err(AppError::InputGone {
            recorded: e.path.clone(),
            what: describe(e),
            manifest: manifest_path(plan),
        });
    };
    let (rows, digest) = super::pending::read_pending_list(&path)?;
    if digest != e.digest {
        return Err(AppError::RecordedFileChanged {
            path,
            what: describe(e),
            digest,
            recorded: e.digest.clone(),
        });
    }
    Ok((path, rows, digest))
}

/// Checks, before anything is applied, that every input the plan records is still there and
/// unchanged (snapshot manifest digests; the config's digest; the pending list's bytes), so a
/// replay never ends with a verification that cannot run.
pub fn check_recorded(plan: &PlanDir, given: Option<&DsConfig>) -> Result<(), AppError> {
    for e in recorded_inputs(plan)? {
        match e.kind.as_str() {
            "config" if !in_manifest(&e) => {
                config_file(plan, &e, given)?;
            }
            "config" => {}
            "pending_list" => {
                pending_list(plan, &e)?;
            }
            _ => {
                check_snapshot(plan, &e)?;
            }
        }
    }
    Ok(())
}

/// Reads the inputs a plan was computed from, each checked against its recorded digest
/// first, at the plan's own mode and instant. `given` is a config already loaded (the one a
/// replay was started with): used when it is the recorded one.
///
/// Unlike the command line's front door, IIJ ID snapshots are read whole (`raw` included):
/// their rows are overlaid with objects read back from the tenant, which carry theirs.
pub fn from_plan(plan: &PlanDir, given: Option<&DsConfig>) -> Result<LoadedInputs, AppError> {
    let entries = recorded_inputs(plan)?;
    let by_role = |role: &'static str| entries.iter().filter(move |e| e.role == role);

    let mut instances = Vec::new();
    for e in by_role("ad") {
        let (path, snap) = open(plan, e, SnapshotKind::Ad)?;
        let name = e.instance.clone().unwrap_or_default();
        let cfg_entry = entries
            .iter()
            .find(|c| c.kind == "config" && c.instance == e.instance)
            .ok_or_else(|| AppError::NoRecordedInstanceConfig {
                manifest: manifest_path(plan),
                instance: name.clone(),
            })?;
        let config = instance_config(plan, cfg_entry, snap.manifest(), &path, given)?;
        let (ad, _) = snapshot::read_ad(&path, &snap, &config)?;
        let previous_ad = match by_role("previous_ad").find(|p| p.instance == e.instance) {
            Some(p) => {
                let (pp, ps) = open(plan, p, SnapshotKind::Ad)?;
                Some(snapshot::read_ad(&pp, &ps, &config)?.0)
            }
            None => None,
        };
        instances.push(LoadedInstance {
            name,
            config,
            config_source: cfg_entry.path.clone(),
            ad,
            previous_ad,
        });
    }
    let read_iid = |e: &InputRef| {
        let (path, snap) = open(plan, e, SnapshotKind::Iid)?;
        snapshot::read_iid(&path, &snap, true)
    };
    let Some(iid) = by_role("iid").next() else {
        return Err(AppError::NoRecordedInputs {
            manifest: manifest_path(plan),
        });
    };
    let mut iid = read_iid(iid)?;
    let previous_iid = by_role("previous_iid").next().map(read_iid).transpose()?;
    // The same presumption of pending deletion as the command line's, from the same files.
    let mut history = Vec::new();
    for e in by_role("history") {
        let path = check_snapshot(plan, e)?;
        history.push((path, format!("the {} recorded in the plan", describe(e))));
    }
    let list = by_role("pending_list")
        .next()
        .map(|e| pending_list(plan, e))
        .transpose()?;
    let pending = super::pending::presume(
        &mut iid,
        previous_iid.as_ref(),
        &history,
        list.as_ref()
            .map(|(path, rows, digest)| (path.as_path(), rows.clone(), digest.clone())),
        // The tenant's profile is --config's: the instance whose config is a file.
        instances
            .iter()
            .find(|i| !i.config_source.ends_with("#config"))
            .or(instances.first())
            .is_some_and(|i| super::pending::listing_shows_pending(&i.config)),
        true,
    )?;
    let m365 = match by_role("m365").next() {
        Some(e) => {
            let (path, snap) = open(plan, e, SnapshotKind::M365)?;
            Some(snapshot::read_m365(&path, &snap)?)
        }
        None => None,
    };
    Ok(LoadedInputs {
        instances,
        iid,
        previous_iid,
        pending,
        m365,
        mode: plan.plan.mode,
        as_of: plan.plan.as_of,
        token_expires_at: None,
        allow_thresholds: Vec::new(),
        input_digests: plan.plan.inputs.clone(),
        refs: entries,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_relative_input_path_is_found_beside_the_plan_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("plans/p1")).unwrap();
        std::fs::create_dir_all(dir.path().join("plans/snaps/ad")).unwrap();
        let plan_dir = dir.path().join("plans/p1");
        assert_eq!(
            locate(&plan_dir, "snaps/ad")
                .unwrap()
                .canonicalize()
                .unwrap(),
            dir.path().join("plans/snaps/ad").canonicalize().unwrap()
        );
        assert!(locate(&plan_dir, "snaps/none").is_none());
    }
}
