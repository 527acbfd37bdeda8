//! Reading a plan directory for replay, verified against its manifest.

use crate::ReplayError;
use dirsnap_reconcile::{Op, PLAN_SCHEMA_VERSION, Plan};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A plan as the replayer uses it.
#[derive(Debug, Clone)]
pub struct PlanDir {
    pub dir: PathBuf,
    pub plan: Plan,
    /// `sha256:` of `plan.json`: binds the journal to this exact plan.
    pub digest: String,
}

fn bad(path: &Path, msg: impl std::fmt::Display) -> ReplayError {
    ReplayError::Plan(format!("{}: {msg}", path.display()))
}

/// Opens `dir/plan.json`, checks it against `dir/manifest.json` and that its actions form a
/// valid order (every dependency exists and comes earlier).
pub fn load_plan(dir: &Path) -> Result<PlanDir, ReplayError> {
    let manifest_path = dir.join("manifest.json");
    let plan_path = dir.join("plan.json");
    let manifest_text = std::fs::read_to_string(&manifest_path).map_err(|e| {
        bad(
            &manifest_path,
            format!("{e}; expected a plan directory written by `dirsnap reconcile --out`"),
        )
    })?;
    let manifest: serde_json::Value = serde_json::from_str(&manifest_text)
        .map_err(|e| bad(&manifest_path, format!("not JSON: {e}")))?;
    let kind = manifest.get("kind").and_then(|k| k.as_str());
    if kind != Some("plan") {
        return Err(bad(
            &manifest_path,
            format!(
                "kind is {}, expected \"plan\" (replay executes plans, not snapshots)",
                kind.unwrap_or("absent")
            ),
        ));
    }
    let bytes = std::fs::read(&plan_path).map_err(|e| bad(&plan_path, e))?;
    let sha = hex::encode(Sha256::digest(&bytes));
    if let Some(expected) = manifest
        .pointer("/files/plan.json/sha256")
        .and_then(|v| v.as_str())
    {
        let expected = expected.trim_start_matches("sha256:");
        if expected != sha {
            return Err(bad(
                &plan_path,
                format!(
                    "sha256 {sha} differs from {expected} recorded in manifest.json: the plan was \
                     edited after review, so it is not replayed"
                ),
            ));
        }
    }
    let text = String::from_utf8(bytes).map_err(|e| bad(&plan_path, e))?;
    let plan = Plan::from_json(&text).map_err(|e| bad(&plan_path, e))?;
    if plan.schema_version != PLAN_SCHEMA_VERSION {
        return Err(bad(
            &plan_path,
            format!(
                "schema_version {} is not supported (this build reads {PLAN_SCHEMA_VERSION})",
                plan.schema_version
            ),
        ));
    }
    let mut seen = BTreeSet::new();
    for a in &plan.actions {
        if !seen.insert(a.seq) {
            return Err(bad(
                &plan_path,
                format!("action seq {} appears twice", a.seq),
            ));
        }
        for d in deps(a) {
            if d >= a.seq || !seen.contains(&d) {
                return Err(bad(
                    &plan_path,
                    format!(
                        "action {} depends on {d}, which is not an earlier action of the plan",
                        a.seq
                    ),
                ));
            }
        }
        if matches!(a.op, Op::CreateUser | Op::CreateGroup) && a.body.is_none() {
            return Err(bad(
                &plan_path,
                format!("action {} ({}) has no body", a.seq, a.op),
            ));
        }
    }
    Ok(PlanDir {
        dir: dir.to_path_buf(),
        plan,
        digest: format!("sha256:{sha}"),
    })
}

/// Every action `a` needs first: its `depends_on`, the create of its target, and the creates
/// of the members it names.
pub fn deps(a: &dirsnap_reconcile::Action) -> BTreeSet<u32> {
    let mut d: BTreeSet<u32> = a.depends_on.iter().copied().collect();
    d.extend(a.target_action);
    d.extend(a.members.iter().filter_map(|m| m.created_by));
    d
}
