//! `--verify`: after a replay, proves convergence. The objects the plan touched are read
//! again from the target (their state now), laid over the IIJ ID snapshot the plan was
//! computed from, and the same AD snapshot(s) and config are reconciled again. Every action
//! of that second plan is one the tenant still needs: zero means the replay converged.
//!
//! Only the plan's own objects are re-read: objects it left alone keep their snapshot rows,
//! so for them the second reconcile decides exactly what the first did (nothing). The inputs
//! come from `manifest.json` and must still be there, byte for byte (their digests).

use crate::journal::{self, ActionState, History, JOURNAL_FILE};
use crate::{Failure, ReplayError};
use dirsnap_config::DsConfig;
use dirsnap_model::scim_json::{LinkingIdPath, UserOptions, group_from_scim, user_from_scim_with};
use dirsnap_model::{IidGroup, IidUser, M365User, Manifest, MemberKind};
use dirsnap_plan::PlanDir;
use dirsnap_reconcile::{
    Action, Inputs, Instance, Key, MemberEdge, Op, Resource, THRESHOLD_CATEGORIES,
};
use dirsnap_report::inputs::{AdRows, IidRows};
use dirsnap_scim::{ScimClient, ScimError};
use dirsnap_snapshot::{ReadOptions, Snapshot, Table};
use futures::StreamExt as _;
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// The config the replay was started with; used when its digest is the recorded one
    /// (else the recorded path is read).
    pub config: Option<DsConfig>,
    pub linking_id: LinkingIdPath,
    /// Reads in flight at once.
    pub concurrency: usize,
}

/// An action the tenant still needs after the replay.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    /// The action of the second reconcile (its `seq` numbers that plan, not the replayed one).
    pub action: Action,
    /// The replayed plan's action for the same object and op, when there is one.
    pub planned_seq: Option<u32>,
    /// Why it is still pending, for people.
    pub why: String,
}

/// What `--verify` found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verification {
    pub users_read: usize,
    pub groups_read: usize,
    pub pending: Vec<Pending>,
    pub notes: Vec<String>,
}

impl Verification {
    pub fn converged(&self) -> bool {
        self.pending.is_empty()
    }
}

#[derive(Debug, Clone, Deserialize)]
struct InputEntry {
    kind: String,
    role: String,
    #[serde(default)]
    instance: Option<String>,
    path: String,
    digest: String,
}

fn input_err(msg: String) -> ReplayError {
    ReplayError::Plan(msg)
}

/// Where a recorded input path is now: as recorded (absolute, or relative to the current
/// directory), else relative to the directory holding the plan directory. The digest check
/// afterwards makes a wrong guess harmless.
fn locate(plan_dir: &Path, recorded: &str) -> Option<PathBuf> {
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

fn describe(e: &InputEntry) -> String {
    match &e.instance {
        Some(i) => format!("{} input (instance {i})", e.role),
        None => format!("{} input", e.role),
    }
}

/// Opens an input snapshot after checking it is the one the plan was built from.
fn open_snapshot(plan: &PlanDir, e: &InputEntry) -> Result<(PathBuf, Snapshot), ReplayError> {
    let path = check_snapshot(plan, e)?;
    let snap =
        Snapshot::open(&path).map_err(|err| input_err(format!("{}: {err}", path.display())))?;
    Ok((path, snap))
}

/// Finds an input snapshot and checks its digest.
fn check_snapshot(plan: &PlanDir, e: &InputEntry) -> Result<PathBuf, ReplayError> {
    let manifest = plan.dir.join("manifest.json");
    let Some(path) = locate(&plan.dir, &e.path) else {
        return Err(input_err(format!(
            "{}: the {} the plan was built from (recorded in {}) is gone; --verify reconciles \
             against the same inputs, so restore it (or verify from the directory reconcile ran in)",
            e.path,
            describe(e),
            manifest.display()
        )));
    };
    let digest = dirsnap_report::manifest_digest(&path)
        .map_err(|err| input_err(format!("{}: {err}", path.display())))?;
    if digest != e.digest {
        return Err(input_err(format!(
            "{}: the {} changed since the plan was built (manifest.json digest {digest}, the \
             plan recorded {}); --verify must reconcile against the same inputs",
            path.display(),
            describe(e),
            e.digest
        )));
    }
    Ok(path)
}

fn input_entries(plan: &PlanDir) -> Result<Vec<InputEntry>, ReplayError> {
    let manifest_path = plan.dir.join("manifest.json");
    let text = std::fs::read_to_string(&manifest_path).map_err(|e| read_err(&manifest_path, e))?;
    let manifest: Value = serde_json::from_str(&text).map_err(|e| read_err(&manifest_path, e))?;
    let entries: Vec<InputEntry> = match manifest.get("inputs") {
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| read_err(&manifest_path, format!("inputs: {e}")))?,
        None => Vec::new(),
    };
    let has = |role: &str| entries.iter().any(|e| e.role == role);
    if !has("ad") || !has("iid") {
        return Err(input_err(format!(
            "{}: records no ad/iid inputs, so --verify cannot reconcile this plan again",
            manifest_path.display()
        )));
    }
    Ok(entries)
}

/// Checks, before anything is applied, that every input `--verify` will need is still there
/// and unchanged (snapshot manifest digests; the config's digest), so a replay never ends
/// with a verification that cannot run.
pub fn check_verify_inputs(plan: &PlanDir, options: &VerifyOptions) -> Result<(), ReplayError> {
    for e in input_entries(plan)? {
        if e.kind == "config" {
            if e.path.ends_with("#config") {
                continue; // inside an AD snapshot manifest, checked with it
            }
            if let Some(c) = &options.config
                && c.digest() == e.digest
            {
                continue;
            }
            let Some(path) = locate(&plan.dir, &e.path) else {
                return Err(input_err(format!(
                    "{}: the config the plan was built from (recorded in {}) is gone; --verify \
                     reconciles against the same config",
                    e.path,
                    plan.dir.join("manifest.json").display()
                )));
            };
            let c = dirsnap_config::load_config(&path).map_err(|err| input_err(err.to_string()))?;
            if c.digest() != e.digest {
                return Err(input_err(format!(
                    "{}: the config changed since the plan was built (digest {}, the plan \
                     recorded {}); --verify must reconcile against the same config",
                    path.display(),
                    c.digest(),
                    e.digest
                )));
            }
        } else {
            check_snapshot(plan, &e)?;
        }
    }
    Ok(())
}

fn read_err(path: &Path, err: impl std::fmt::Display) -> ReplayError {
    input_err(format!("{}: {err}", path.display()))
}

type AdData = AdRows;
type IidData = IidRows;

fn read_ad(path: &Path, snap: &Snapshot, config: &DsConfig) -> Result<AdData, ReplayError> {
    let needs = dirsnap_reconcile::raw_needs(config, &snap.manifest().filters)
        .map_err(|err| read_err(path, err))?;
    AdRows::read(
        snap,
        &ReadOptions {
            skip_raw: !needs.ad,
            skip_columns: needs.ad_unused,
        },
    )
    .map_err(|err| read_err(path, err))
}

fn read_iid(path: &Path, snap: &Snapshot) -> Result<IidData, ReplayError> {
    IidRows::read(snap, &ReadOptions::default()).map_err(|err| read_err(path, err))
}

/// The config of one instance, checked against its recorded digest.
fn instance_config(
    plan: &PlanDir,
    entry: &InputEntry,
    ad_manifest: &Manifest,
    ad_path: &Path,
    given: Option<&DsConfig>,
) -> Result<DsConfig, ReplayError> {
    if let Some(c) = given
        && c.digest() == entry.digest
    {
        return Ok(c.clone());
    }
    let config = if entry.path.ends_with("#config") {
        // Recorded in the AD snapshot's manifest, whose digest was checked.
        let cfg = ad_manifest.config.as_ref().ok_or_else(|| {
            input_err(format!(
                "{}: records no config, but the plan took instance {}'s config from it",
                ad_path.join("manifest.json").display(),
                entry.instance.as_deref().unwrap_or("?")
            ))
        })?;
        let text = serde_json::to_string(cfg).map_err(|e| ReplayError::Runtime(e.to_string()))?;
        dirsnap_config::parse_config(&ad_path.join("manifest.json#config"), &text)
            .map_err(|e| input_err(e.to_string()))?
    } else {
        let Some(path) = locate(&plan.dir, &entry.path) else {
            return Err(input_err(format!(
                "{}: the config the plan was built from (recorded in {}) is gone; --verify \
                 reconciles against the same config",
                entry.path,
                plan.dir.join("manifest.json").display()
            )));
        };
        dirsnap_config::load_config(&path).map_err(|e| input_err(e.to_string()))?
    };
    if config.digest() != entry.digest {
        return Err(input_err(format!(
            "{}: the config changed since the plan was built (digest {}, the plan recorded {}); \
             --verify must reconcile against the same config",
            config.path.display(),
            config.digest(),
            entry.digest
        )));
    }
    Ok(config)
}

/// The state of one touched object now.
enum Fresh {
    Found(Value),
    Gone,
}

fn path_segment(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

async fn read_objects(
    client: &ScimClient,
    collection: &str,
    ids: &BTreeSet<String>,
    concurrency: usize,
) -> Result<BTreeMap<String, Fresh>, ScimError> {
    let mut out = BTreeMap::new();
    let mut reads = futures::stream::iter(ids.iter().map(|id| async move {
        let url = client.url(&format!("{collection}/{}", path_segment(id)))?;
        match client.send(Method::GET, url, None).await {
            Ok(r) => Ok((id.clone(), Fresh::Found(r.body))),
            Err(e) if e.status() == Some(404) => Ok((id.clone(), Fresh::Gone)),
            Err(e) => Err(e),
        }
    }))
    .buffer_unordered(concurrency.max(1));
    while let Some(r) = reads.next().await {
        let (id, fresh) = r?;
        out.insert(id, fresh);
    }
    Ok(out)
}

/// The ids of the objects the plan touched: its targets, and what its creates made.
fn touched(plan: &PlanDir, history: &History) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut users = BTreeSet::new();
    let mut groups = BTreeSet::new();
    for a in &plan.plan.actions {
        let mut ids: Vec<String> = a.target.iter().cloned().collect();
        if matches!(a.op, Op::CreateUser | Op::CreateGroup)
            && let Some(Some(id)) = history.done_id(a.seq)
        {
            ids.push(id.to_string());
        }
        match a.resource {
            Resource::User => users.extend(ids),
            Resource::Group => groups.extend(ids),
        }
    }
    (users, groups)
}

/// Lays the re-read objects over a snapshot's rows.
fn overlay(
    base: &IidData,
    users: &BTreeMap<String, Fresh>,
    groups: &BTreeMap<String, Fresh>,
    pending_deleted: &BTreeSet<String>,
    linking_id: &LinkingIdPath,
) -> Result<IidData, ReplayError> {
    let conv =
        |e: dirsnap_model::scim_json::ScimJsonError| ReplayError::Runtime(format!("--verify: {e}"));
    let mut out_users: Vec<IidUser> = Vec::with_capacity(base.users.len());
    for u in &base.users {
        match users.get(&u.id) {
            None => out_users.push(u.clone()),
            Some(Fresh::Found(_)) => {}
            // A user we moved to pending deletion is not readable over SCIM at IIJ ID (A3):
            // its 404 is the expected outcome, and the row stays, flagged.
            Some(Fresh::Gone) if pending_deleted.contains(&u.id) => {
                let mut u = u.clone();
                u.pending_deletion = true;
                u.active = false;
                out_users.push(u);
            }
            Some(Fresh::Gone) => {}
        }
    }
    let opts = UserOptions {
        linking_id: linking_id.clone(),
        pending_deletion: false,
    };
    for fresh in users.values() {
        if let Fresh::Found(body) = fresh {
            out_users.push(user_from_scim_with(body, &opts).map_err(conv)?);
        }
    }
    let user_ids: HashSet<String> = out_users.iter().map(|u| u.id.clone()).collect();
    let mut out_groups: Vec<IidGroup> = base
        .groups
        .iter()
        .filter(|g| !groups.contains_key(&g.id))
        .cloned()
        .collect();
    let kept: HashSet<Key> = out_groups.iter().map(|g| Key::parse(&g.id)).collect();
    let mut edges: Vec<MemberEdge> = base
        .edges
        .iter()
        .filter(|e| kept.contains(e.group))
        .map(|e| e.to_edge())
        .collect();
    let mut group_ids: HashSet<String> = out_groups.iter().map(|g| g.id.clone()).collect();
    group_ids.extend(
        groups
            .iter()
            .filter(|(_, f)| matches!(f, Fresh::Found(_)))
            .map(|(id, _)| id.clone()),
    );
    let resolve = |key: &str| {
        if user_ids.contains(key) {
            Some(MemberKind::User)
        } else if group_ids.contains(key) {
            Some(MemberKind::Group)
        } else {
            None
        }
    };
    for fresh in groups.values() {
        if let Fresh::Found(body) = fresh {
            let (g, members) = group_from_scim(body, &resolve).map_err(conv)?;
            out_groups.push(g);
            edges.extend(members.iter().map(MemberEdge::from));
        }
    }
    Ok(IidData {
        users: out_users,
        groups: out_groups,
        edges: edges.into_iter().collect(),
    })
}

fn same_object(a: &Action, b: &Action, created: &BTreeMap<u32, String>) -> bool {
    if a.resource != b.resource {
        return false;
    }
    let target = |x: &Action| {
        x.target
            .clone()
            .or_else(|| x.target_action.and_then(|s| created.get(&s).cloned()))
    };
    match (target(a), target(b)) {
        (Some(x), Some(y)) => x == y,
        _ => {
            (a.user_name.is_some() && a.user_name == b.user_name)
                || (a.user_name.is_none()
                    && a.display_name.is_some()
                    && a.display_name == b.display_name)
        }
    }
}

/// Says why `now` is still pending, from the replayed plan and the journal.
fn explain(
    now: &Action,
    plan: &PlanDir,
    history: &History,
    created: &BTreeMap<u32, String>,
    failures: &[Failure],
) -> (Option<u32>, String) {
    let was = plan
        .plan
        .actions
        .iter()
        .filter(|a| same_object(a, now, created))
        .find(|a| a.op == now.op)
        .or_else(|| {
            plan.plan
                .actions
                .iter()
                .find(|a| same_object(a, now, created))
        });
    let Some(was) = was else {
        return (
            None,
            format!(
                "the replayed plan had no action for this object: it changed after the plan \
                 was computed (edited in the console, another sync), or its state depends on an \
                 object that did; {}",
                now.reason
            ),
        );
    };
    let state = match history.actions.get(&was.seq) {
        Some(ActionState::Done { .. }) => {
            let diff: Vec<String> = now
                .changes
                .iter()
                .map(|c| format!("{}: {} -> {}", c.attribute, c.old, c.new))
                .collect();
            format!(
                "action {} ({}) was applied, but the object read back still differs{}: the \
                 server did not store what was sent, or it was changed again afterwards",
                was.seq,
                was.op,
                if diff.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", diff.join("; "))
                }
            )
        }
        Some(ActionState::Uncertain) => format!(
            "action {} ({}) was attempted but its outcome is unknown (interrupted run)",
            was.seq, was.op
        ),
        Some(ActionState::Retry) => {
            let why = failures
                .iter()
                .find(|f| f.seq == was.seq)
                .map(|f| format!(": {}", f.message))
                .unwrap_or_default();
            format!("action {} ({}) failed or was skipped{why}", was.seq, was.op)
        }
        None => format!("action {} ({}) has not run yet", was.seq, was.op),
    };
    (Some(was.seq), state)
}

/// Re-reads the touched objects, reconciles again, returns what is still pending. `failures`
/// (the replay's own) sharpen the explanations.
pub async fn verify(
    client: &ScimClient,
    plan: &PlanDir,
    options: &VerifyOptions,
    failures: &[Failure],
) -> Result<Verification, ReplayError> {
    let manifest_path = plan.dir.join("manifest.json");
    let entries = input_entries(plan)?;
    let by_role = |role: &'static str| entries.iter().filter(move |e| e.role == role);

    // The inputs, checked before anything is read from the tenant.
    let mut ads: Vec<(String, DsConfig, String, AdData, Option<AdData>)> = Vec::new();
    for e in by_role("ad") {
        let (path, snap) = open_snapshot(plan, e)?;
        let name = e.instance.clone().unwrap_or_default();
        let cfg_entry = entries
            .iter()
            .find(|c| c.kind == "config" && c.instance == e.instance)
            .ok_or_else(|| {
                input_err(format!(
                    "{}: no config input recorded for instance {name}",
                    manifest_path.display()
                ))
            })?;
        let config = instance_config(
            plan,
            cfg_entry,
            snap.manifest(),
            &path,
            options.config.as_ref(),
        )?;
        let ad = read_ad(&path, &snap, &config)?;
        let previous = match by_role("previous_ad").find(|p| p.instance == e.instance) {
            Some(p) => {
                let (pp, ps) = open_snapshot(plan, p)?;
                Some(read_ad(&pp, &ps, &config)?)
            }
            None => None,
        };
        ads.push((name, config, cfg_entry.path.clone(), ad, previous));
    }
    let read_iid_role = |role: &'static str| -> Result<Option<IidData>, ReplayError> {
        match by_role(role).next() {
            Some(e) => {
                let (path, snap) = open_snapshot(plan, e)?;
                Ok(Some(read_iid(&path, &snap)?))
            }
            None => Ok(None),
        }
    };
    let iid = read_iid_role("iid")?.ok_or_else(|| input_err("no iid input".into()))?;
    let previous_iid = read_iid_role("previous_iid")?;
    let m365: Option<Vec<M365User>> = match by_role("m365").next() {
        Some(e) => {
            let (path, snap) = open_snapshot(plan, e)?;
            Some(
                snap.read_table::<M365User>(Table::Users, &ReadOptions::without_raw())
                    .map_err(|err| read_err(&path, err))?,
            )
        }
        None => None,
    };

    // The touched objects, now.
    let (history, _) = journal::read(&plan.dir.join(JOURNAL_FILE), &plan.digest)?;
    let (user_ids, group_ids) = touched(plan, &history);
    let concurrency = options.concurrency.max(1);
    let scim = |e: ScimError| {
        if e.is_auth() {
            ReplayError::Stopped {
                reason: format!("--verify: {e}"),
                auth: true,
                summary: Box::default(),
            }
        } else {
            ReplayError::Runtime(format!("--verify: reading the touched objects: {e}"))
        }
    };
    let fresh_users = read_objects(client, "Users", &user_ids, concurrency)
        .await
        .map_err(scim)?;
    let fresh_groups = read_objects(client, "Groups", &group_ids, concurrency)
        .await
        .map_err(scim)?;
    let pending_deleted: BTreeSet<String> = plan
        .plan
        .actions
        .iter()
        .filter(|a| a.op == Op::PendingDeleteUser)
        .filter_map(|a| a.target.clone())
        .collect();
    let iid_now = overlay(
        &iid,
        &fresh_users,
        &fresh_groups,
        &pending_deleted,
        &options.linking_id,
    )?;
    let previous_now = match &previous_iid {
        Some(p) => Some(overlay(
            p,
            &fresh_users,
            &fresh_groups,
            &pending_deleted,
            &options.linking_id,
        )?),
        None => None,
    };

    let inputs = Inputs {
        instances: ads
            .iter()
            .map(|(name, config, source, ad, prev)| Instance {
                name: name.clone(),
                config,
                config_source: source.clone(),
                ad: ad.view(),
                previous_ad: prev.as_ref().map(AdRows::view),
            })
            .collect(),
        iid: iid_now.view(),
        previous_iid: previous_now.as_ref().map(IidRows::view),
        m365: m365.as_deref(),
        mode: plan.plan.mode,
        as_of: plan.plan.as_of,
        token_expires_at: None,
        // Thresholds were reviewed with the plan; they block, they do not remove actions.
        allow_thresholds: THRESHOLD_CATEGORIES.iter().map(|s| s.to_string()).collect(),
        input_digests: plan.plan.inputs.clone(),
    };
    let again = dirsnap_reconcile::reconcile(&inputs)
        .map_err(|e| ReplayError::Runtime(format!("--verify: reconciling again: {e}")))?;

    let created: BTreeMap<u32, String> = plan
        .plan
        .actions
        .iter()
        .filter(|a| matches!(a.op, Op::CreateUser | Op::CreateGroup))
        .filter_map(|a| match history.done_id(a.seq) {
            Some(Some(id)) => Some((a.seq, id.to_string())),
            _ => None,
        })
        .collect();
    let pending = again
        .actions
        .into_iter()
        .map(|action| {
            let (planned_seq, why) = explain(&action, plan, &history, &created, failures);
            Pending {
                action,
                planned_seq,
                why,
            }
        })
        .collect();
    let mut notes = Vec::new();
    let gone_unexpectedly: Vec<&String> = fresh_users
        .iter()
        .filter(|(id, f)| matches!(f, Fresh::Gone) && !pending_deleted.contains(*id))
        .map(|(id, _)| id)
        .collect();
    if !gone_unexpectedly.is_empty() {
        notes.push(format!(
            "{} touched user(s) answered 404 although the plan did not delete them",
            gone_unexpectedly.len()
        ));
    }
    Ok(Verification {
        users_read: fresh_users.len(),
        groups_read: fresh_groups.len(),
        pending,
        notes,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn user(id: &str, name: &str) -> IidUser {
        IidUser {
            id: id.into(),
            user_name: name.into(),
            active: true,
            ..IidUser::default()
        }
    }

    fn edge(g: &str, m: &str) -> MemberEdge {
        MemberEdge {
            group: Key::parse(g),
            member: Some(Key::parse(m)),
            kind: MemberKind::User,
        }
    }

    #[test]
    fn overlay_replaces_touched_rows_and_keeps_the_rest() {
        let base = IidData {
            users: vec![user("u1", "a@x"), user("u2", "b@x"), user("u3", "c@x")],
            groups: vec![
                IidGroup {
                    id: "g1".into(),
                    display_name: "G1".into(),
                    ..IidGroup::default()
                },
                IidGroup {
                    id: "g2".into(),
                    display_name: "G2".into(),
                    ..IidGroup::default()
                },
            ],
            edges: [edge("g1", "u1"), edge("g1", "u2"), edge("g2", "u3")]
                .into_iter()
                .collect(),
        };
        let users: BTreeMap<String, Fresh> = [
            (
                "u1".to_string(),
                Fresh::Found(json!({"id": "u1", "userName": "a@x", "active": false})),
            ),
            ("u2".to_string(), Fresh::Gone),
            ("u3".to_string(), Fresh::Gone),
            (
                "u9".to_string(),
                Fresh::Found(json!({"id": "u9", "userName": "new@x", "active": true})),
            ),
        ]
        .into();
        let groups: BTreeMap<String, Fresh> = [(
            "g1".to_string(),
            Fresh::Found(json!({"id": "g1", "displayName": "G1", "members": [{"value": "u9"}]})),
        )]
        .into();
        let pending: BTreeSet<String> = ["u2".to_string()].into();
        let out = overlay(&base, &users, &groups, &pending, &LinkingIdPath::default()).unwrap();
        let by_id: BTreeMap<&str, &IidUser> =
            out.users.iter().map(|u| (u.id.as_str(), u)).collect();
        // Read back: replaced. Deleted by the plan (404): kept, pending. Gone otherwise: removed.
        assert!(!by_id["u1"].active);
        assert!(by_id["u2"].pending_deletion && !by_id["u2"].active);
        assert!(!by_id.contains_key("u3"));
        assert_eq!(by_id["u9"].user_name, "new@x");
        // g1's members are what the server says now; g2 (untouched) keeps its snapshot edges.
        let mut edges: Vec<MemberEdge> = out.edges.iter().map(|e| e.to_edge()).collect();
        edges.sort();
        let mut want = vec![edge("g1", "u9"), edge("g2", "u3")];
        want.sort();
        assert_eq!(edges, want);
        assert_eq!(out.groups.len(), 2);
    }

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
