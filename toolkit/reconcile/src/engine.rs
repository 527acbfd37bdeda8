//! The reconcile algorithm. Inputs are borrowed snapshot rows; nothing is cloned per row
//! except the few keys the matcher needs. See docs/plan-format.md for the rules.

use crate::digest;
use crate::entry::{AdGraph, GroupEntry, UserEntry};
use crate::error::ReconcileError;
use crate::codes;
use crate::index::{Ci, IidIndex, KeyIndex, Lists, Map, Multi, eq_ci, map_with_capacity};
use crate::key::{Edges, Key};
use crate::mapping::{Attr, Desired, DesiredKeys, LazyJson, Mapper, normalized};
use crate::plan::{
    Action, Change, Confidence, Finding, InputDigest, InstanceInfo, Keys, MemberRef, Mode, Op,
    PLAN_SCHEMA_VERSION, PatchOp, Plan, Request, Resource, Severity, Skipped,
};
use crate::profile::RecreatedLiveUser;
use chrono::{DateTime, Utc};
use dirsnap_config::{DsConfig, Threshold};
use dirsnap_filter::ldap::LdapFilter;
use dirsnap_filter::scim::{DefaultSchema, Filter as ScimFilter};
use dirsnap_model::{AdGroup, AdUser, Filters, IidGroup, IidUser, M365User, MemberKind};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// One AD snapshot's rows.
#[derive(Debug, Clone, Copy)]
pub struct AdSnapshot<'a> {
    pub users: &'a [AdUser],
    pub groups: &'a [AdGroup],
    pub memberships: &'a Edges,
    pub taken_at: DateTime<Utc>,
    /// The LDAP filters the exporter applied (the snapshot's outer bound).
    pub filters: &'a Filters,
    pub domain: Option<&'a str>,
}

/// One IIJ ID snapshot's rows.
#[derive(Debug, Clone, Copy)]
pub struct IidSnapshot<'a> {
    pub users: &'a [IidUser],
    pub groups: &'a [IidGroup],
    pub memberships: &'a Edges,
}

/// One Directory Sync instance: its config and its AD snapshot(s).
#[derive(Debug, Clone)]
pub struct Instance<'a> {
    pub name: String,
    pub config: &'a DsConfig,
    /// Where the config came from, for the plan (`config.yml`, `SNAP/manifest.json`).
    pub config_source: String,
    pub ad: AdSnapshot<'a>,
    /// The AD state at the last sync (history: DN changes, recreated accounts, shrink).
    pub previous_ad: Option<AdSnapshot<'a>>,
}

/// Everything the engine reasons from. No clock: `as_of` is an input.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    pub instances: Vec<Instance<'a>>,
    /// The live tenant.
    pub iid: IidSnapshot<'a>,
    /// The last-known state (Directory Sync's cache), for normal mode.
    pub previous_iid: Option<IidSnapshot<'a>>,
    pub m365: Option<&'a [M365User]>,
    pub mode: Mode,
    pub as_of: DateTime<Utc>,
    /// `exp` of the IIJ ID access token, when known.
    pub token_expires_at: Option<DateTime<Utc>>,
    /// Threshold categories explicitly allowed (`all` allows every one).
    pub allow_thresholds: Vec<String>,
    pub input_digests: Vec<InputDigest>,
}

/// Threshold categories (the keys under `dirsnap.thresholds`).
pub const THRESHOLD_CATEGORIES: &[&str] = &[
    "pending_deletions",
    "disables",
    "group_deletes",
    "member_removals_per_group",
    "source_shrink",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    OutOfScope,
    /// Blocked by a finding (duplicate, ambiguous, not owned, recreated…): no action.
    Blocked,
    Matched(u32),
    Created(usize),
    Restored(u32, usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GFate {
    Blocked,
    Matched(u32),
    Created(usize),
}

struct Draft {
    action: Action,
    deps: Vec<usize>,
    target_action: Option<usize>,
    members: Vec<(MemberRef, Option<usize>)>,
    sort_name: String,
}

struct Ctx {
    drafts: Vec<Draft>,
    findings: Vec<(Finding, Vec<usize>)>,
    skipped: Vec<Skipped>,
    notes: Vec<String>,
}

impl Ctx {
    fn push(&mut self, d: Draft) -> usize {
        self.drafts.push(d);
        self.drafts.len() - 1
    }

    #[allow(clippy::too_many_arguments)]
    fn finding(
        &mut self,
        code: &str,
        severity: Severity,
        instance: Option<&str>,
        subject: String,
        keys: Keys,
        message: String,
        remediation: String,
        confidence: Confidence,
        actions: Vec<usize>,
    ) {
        self.findings.push((
            Finding {
                code: code.to_string(),
                severity,
                instance: instance.map(str::to_string),
                subject,
                keys,
                message,
                remediation,
                confidence,
                actions: Vec::new(),
                allowed: false,
            },
            actions,
        ));
    }
}

/// Per-instance working state.
struct Inst<'a> {
    input: &'a Instance<'a>,
    mapper: Mapper,
    iid_user_filter: Option<ScimFilter>,
    iid_group_filter: Option<ScimFilter>,
    ad_user_by_key: KeyIndex,
    users_in_scope: Vec<u32>,
    keys: Vec<DesiredKeys<'a>>,
    groups_in_scope: Vec<u32>,
    group_names: Vec<Option<String>>,
    owned_users: Vec<bool>,
    owned_groups: Vec<bool>,
    prev: Option<History<'a>>,
    /// The AD snapshot was exported with a narrower user / group filter than the config's:
    /// an IIJ ID object without an AD row may have one outside the snapshot, so it is not
    /// deleted as an orphan.
    users_partial: bool,
    groups_partial: bool,
}

/// What the previous AD snapshot says about each object.
struct History<'a> {
    snap: AdSnapshot<'a>,
    user_by_key: Map<Key, u32>,
    group_by_key: Map<Key, u32>,
    in_scope_users: usize,
}

fn keys_of_ad(user: &AdUser) -> Keys {
    let mut k = Keys::with_capacity(4);
    k.insert("objectGUID", user.object_guid.to_string());
    k.insert("dn", user.dn.clone());
    if !user.domain.is_empty() {
        k.insert("domain", user.domain.clone());
    }
    k
}

fn keys_of_ad_group(group: &AdGroup) -> Keys {
    let mut k = Keys::with_capacity(4);
    k.insert("objectGUID", group.object_guid.to_string());
    k.insert("dn", group.dn.clone());
    if !group.domain.is_empty() {
        k.insert("domain", group.domain.clone());
    }
    k
}

fn keys_of_iid(id: &str) -> Keys {
    let mut k = Keys::with_capacity(1);
    k.insert("id", id.to_string());
    k
}

fn user_subject(name: &str) -> String {
    format!("user {name}")
}

fn group_subject(name: &str) -> String {
    format!("group {name}")
}

/// The SCIM JSON of an IIJ ID user: its verbatim `raw`, or one rebuilt from the typed
/// columns when `raw` was not read.
pub fn user_json(u: &IidUser, profile: &crate::profile::Profile) -> Value {
    if !u.raw.is_empty()
        && let Ok(v) = serde_json::from_str::<Value>(&u.raw)
    {
        return v;
    }
    crate::apply::user_to_json(u, profile)
}

fn group_json(g: &IidGroup) -> Value {
    if !g.raw.is_empty()
        && let Ok(v) = serde_json::from_str::<Value>(&g.raw)
    {
        return v;
    }
    json!({"id": g.id, "displayName": g.display_name, "externalId": g.external_id.clone().unwrap_or_default()})
}

fn parse_ldap(
    config: &DsConfig,
    f: &Option<dirsnap_config::Located<String>>,
) -> Result<Option<LdapFilter>, ReconcileError> {
    match f {
        None => Ok(None),
        Some(l) => dirsnap_filter::ldap::parse(&l.value)
            .map(Some)
            .map_err(|e| ReconcileError::Config {
                file: config.path.display().to_string(),
                line: l.line,
                key: l.key.clone(),
                message: format!("not a valid LDAP filter: {e}"),
            }),
    }
}

fn parse_scim(
    config: &DsConfig,
    f: &Option<dirsnap_config::Located<String>>,
) -> Result<Option<ScimFilter>, ReconcileError> {
    match f {
        None => Ok(None),
        Some(l) => dirsnap_filter::scim::parse(&l.value)
            .map(Some)
            .map_err(|e| ReconcileError::Config {
                file: config.path.display().to_string(),
                line: l.line,
                key: l.key.clone(),
                message: format!("not a valid SCIM filter: {e}"),
            }),
    }
}

/// How the config's filter relates to the filter the snapshot was exported with.
enum Width {
    /// Same filter: every exported row is in scope, nothing to evaluate.
    Same,
    /// Different (narrower, or possibly wider): evaluate per row.
    Evaluate,
}

fn conjuncts(f: &LdapFilter) -> Vec<&LdapFilter> {
    match f {
        LdapFilter::And(items) => items.iter().flat_map(conjuncts).collect(),
        other => vec![other],
    }
}

/// Compares the config filter with the export filter; says so (a finding) when the config
/// may select objects the snapshot does not hold.
fn filter_width(
    ctx: &mut Ctx,
    inst: &str,
    what: &str,
    key: &str,
    config: Option<&LdapFilter>,
    class: Option<&LdapFilter>,
    export: Option<&str>,
) -> (Width, bool) {
    let export = match export.map(dirsnap_filter::ldap::parse) {
        None => None,
        Some(Ok(f)) => Some(f),
        Some(Err(_)) => {
            ctx.notes.push(format!(
                "instance {inst}: the AD snapshot's recorded {what} filter does not parse; {key} is evaluated on every exported row"
            ));
            return (Width::Evaluate, false);
        }
    };
    // The exporter ANDs the object-class filter with the configured one: it bounds what any
    // config would select, so it counts as part of the config here.
    let class_parts: Vec<&LdapFilter> = class.map(conjuncts).unwrap_or_default();
    match (config, export.as_ref()) {
        (None, None) => (Width::Same, false),
        (Some(c), Some(e)) if c == e => (Width::Same, false),
        (_, None) => (Width::Evaluate, false),
        (c, Some(e)) => {
            let mut cs: Vec<&LdapFilter> = c.map(conjuncts).unwrap_or_default();
            cs.extend(class_parts.iter().copied());
            let es = conjuncts(e);
            let narrower = es.iter().all(|x| cs.contains(x));
            if narrower && cs.iter().all(|x| es.contains(x)) {
                return (Width::Same, false);
            }
            if !narrower {
                let shown = c.map_or_else(|| "(none: every object)".to_string(), |c| c.to_string());
                wider(ctx, inst, what, key, &shown, &e.to_string());
            }
            (Width::Evaluate, !narrower)
        }
    }
}

/// An IIJ ID object with no AD row while the snapshot holds less than the config selects:
/// its AD object may exist outside the snapshot, so it is not deleted.
fn partial_skip(ctx: &mut Ctx, inst: &str, resource: Resource, name: &str, id: &str, what: &str) {
    ctx.skipped.push(Skipped {
        resource,
        instance: Some(inst.into()),
        name: name.to_string(),
        keys: keys_of_iid(id),
        reason: format!(
            "FILTER_WIDER_THAN_SNAPSHOT: no AD {what} in the snapshot maps to it, but the snapshot was exported with a narrower filter than ad.ldap.filter.{what}, so whether its AD {what} exists is unknown; not deleted. Re-export AD with this config to decide"
        ),
    });
}

fn wider(ctx: &mut Ctx, inst: &str, what: &str, key: &str, config: &str, export: &str) {
    ctx.finding(
        codes::FILTER_WIDER_THAN_SNAPSHOT,
        Severity::Warning,
        Some(inst),
        format!("{key} ({what}s)"),
        Keys::new(),
        format!(
            "{key} is {config} but the AD snapshot was exported with {export}; the snapshot is the outer bound, so {what}s the new filter selects that the export filter did not are missing from this plan, and IIJ ID {what}s without an AD row in the snapshot are not deleted (listed as skipped)"
        ),
        format!(
            "re-export AD with the new config (`dirsnap export ad --config …`) to see every {what} the new filter selects"
        ),
        Confidence::Low,
        Vec::new(),
    );
}

fn owned(filter: Option<&ScimFilter>, json: impl FnOnce() -> Value) -> bool {
    match filter {
        None => true,
        Some(f) => f.matches(&json(), &DefaultSchema),
    }
}

/// Computes the plan. Pure: the same inputs give the same plan.
pub fn reconcile(inputs: &Inputs<'_>) -> Result<Plan, ReconcileError> {
    if inputs.instances.is_empty() {
        return Err(ReconcileError::Input(
            "at least one AD snapshot (--ad) is needed".into(),
        ));
    }
    let base_snap = match (inputs.mode, inputs.previous_iid) {
        (Mode::Normal, Some(p)) => p,
        (Mode::Normal, None) => {
            return Err(ReconcileError::Input(
                "--mode normal needs --previous-iid (the IIJ ID state the last sync left, i.e. Directory Sync's cache)".into(),
            ));
        }
        (Mode::Recovery, _) => inputs.iid,
    };
    let mut names = BTreeSet::new();
    for i in &inputs.instances {
        if !names.insert(i.name.as_str()) {
            return Err(ReconcileError::Input(format!(
                "two AD snapshots belong to instance {:?}; each Directory Sync instance (one per AD domain) needs its own name (dirsnap.instance in its config)",
                i.name
            )));
        }
    }
    let mut base = IidIndex::new(base_snap.users, base_snap.groups, base_snap.memberships);
    let live_idx = match inputs.mode {
        Mode::Normal => Some(IidIndex::new(
            inputs.iid.users,
            inputs.iid.groups,
            inputs.iid.memberships,
        )),
        Mode::Recovery => None,
    };
    // Room for a plan that touches every object: growing a vector of a few hundred
    // thousand drafts would copy it several times over, and capacity never written costs
    // no memory.
    let most = inputs
        .instances
        .iter()
        .map(|i| i.ad.users.len() + 2 * i.ad.groups.len())
        .sum::<usize>()
        + base.users.len()
        + base.groups.len();
    let mut ctx = Ctx {
        drafts: Vec::with_capacity(most),
        findings: Vec::new(),
        skipped: Vec::new(),
        notes: Vec::new(),
    };

    let mut insts: Vec<Inst<'_>> = Vec::with_capacity(inputs.instances.len());
    for input in &inputs.instances {
        insts.push(prepare(&mut ctx, input, &base)?);
    }

    let users_state = users(&mut ctx, inputs, &insts, &base);
    // Matching is done: its lookups go before the group pass allocates.
    base.release_user_lookups();
    groups(&mut ctx, &insts, &base, &users_state);
    if let Some(live) = &live_idx {
        normal_mode_checks(&mut ctx, &insts, &base, live);
    }
    thresholds(&mut ctx, inputs, &insts, &base, &users_state);
    if let Some(exp) = inputs.token_expires_at {
        token_check(&mut ctx, inputs, exp);
    }
    // What the plan's assembly does not read goes now, so the memory is reused for it.
    drop((users_state, live_idx, base));
    for i in &mut insts {
        i.keys = Vec::new();
        i.ad_user_by_key = KeyIndex::with_capacity(0);
        i.owned_users = Vec::new();
        i.owned_groups = Vec::new();
    }
    Ok(finish(ctx, inputs, &insts))
}

fn prepare<'a>(
    ctx: &mut Ctx,
    input: &'a Instance<'a>,
    base: &IidIndex<'_>,
) -> Result<Inst<'a>, ReconcileError> {
    let cfg = input.config;
    let mapper = Mapper::new(cfg)?;
    for n in &mapper.notes {
        ctx.notes.push(format!("instance {}: {n}", input.name));
    }
    let user_filter = parse_ldap(cfg, &cfg.ad.user_filter)?;
    let group_filter = parse_ldap(cfg, &cfg.ad.group_filter)?;
    let iid_user_filter = parse_scim(cfg, &cfg.iid.user_filter)?;
    let iid_group_filter = parse_scim(cfg, &cfg.iid.group_filter)?;
    let name = input.name.as_str();
    let class = |c| {
        cfg.class_filter(c)
            .ok()
            .and_then(|t| dirsnap_filter::ldap::parse(&t).ok())
    };
    let (user_class, group_class) = (
        class(dirsnap_config::ObjectClass::User),
        class(dirsnap_config::ObjectClass::Group),
    );
    let (uw, users_partial) = filter_width(
        ctx,
        name,
        "user",
        "ad.ldap.filter.user",
        user_filter.as_ref(),
        user_class.as_ref(),
        input.ad.filters.user.as_deref(),
    );
    let (gw, groups_partial) = filter_width(
        ctx,
        name,
        "group",
        "ad.ldap.filter.group",
        group_filter.as_ref(),
        group_class.as_ref(),
        input.ad.filters.group.as_deref(),
    );
    let needs_graph = matches!(uw, Width::Evaluate) && user_filter.is_some()
        || matches!(gw, Width::Evaluate) && group_filter.is_some();
    let graph = needs_graph.then(|| AdGraph::new(input.ad.groups, input.ad.memberships));

    let ad = &input.ad;
    let mut ad_user_by_key = KeyIndex::with_capacity(ad.users.len());
    for (i, u) in ad.users.iter().enumerate() {
        if !u.is_deleted {
            ad_user_by_key.insert(Key::of_guid(&u.object_guid), i as u32);
        }
    }
    let user_dn = |k: &Key| -> Option<String> {
        ad_user_by_key
            .get(k)
            .and_then(|i| ad.users.get(i as usize))
            .map(|u| u.dn.clone())
    };
    let mut users_in_scope = Vec::with_capacity(ad.users.len());
    for (i, u) in ad.users.iter().enumerate() {
        if u.is_deleted {
            continue;
        }
        let inside = match (&uw, &user_filter, &graph) {
            (Width::Same, _, _) | (_, None, _) => true,
            (Width::Evaluate, Some(f), Some(g)) => f.matches(&UserEntry::new(u, g)),
            (Width::Evaluate, Some(_), None) => true,
        };
        if inside {
            users_in_scope.push(i as u32);
        }
    }
    let mut groups_in_scope = Vec::new();
    for (i, g) in ad.groups.iter().enumerate() {
        if g.is_deleted {
            continue;
        }
        let inside = match (&gw, &group_filter, &graph) {
            (Width::Same, _, _) | (_, None, _) => true,
            (Width::Evaluate, Some(f), Some(graph)) => {
                GroupEntry::new(i as u32, graph, &user_dn).is_some_and(|e| f.matches(&e))
            }
            (Width::Evaluate, Some(_), None) => true,
        };
        if inside {
            groups_in_scope.push(i as u32);
        }
    }
    let keys: Vec<DesiredKeys<'a>> = crate::par::map(&users_in_scope, |_, &i| {
        ad.users
            .get(i as usize)
            .map(|u| mapper.keys(u))
            .unwrap_or_default()
    });
    let group_names = groups_in_scope
        .iter()
        .map(|&i| ad.groups.get(i as usize).and_then(|g| mapper.group_name(g)))
        .collect();
    let profile = &mapper.profile;
    let owned_users = base
        .users
        .iter()
        .map(|u| owned(iid_user_filter.as_ref(), || user_json(u, profile)))
        .collect();
    let owned_groups = base
        .groups
        .iter()
        .map(|g| owned(iid_group_filter.as_ref(), || group_json(g)))
        .collect();
    let prev = input.previous_ad.map(|snap| {
        let mut user_by_key = map_with_capacity(snap.users.len());
        for (i, u) in snap.users.iter().enumerate() {
            if !u.is_deleted {
                user_by_key.insert(Key::of_guid(&u.object_guid), i as u32);
            }
        }
        let mut group_by_key = map_with_capacity(snap.groups.len());
        for (i, g) in snap.groups.iter().enumerate() {
            if !g.is_deleted {
                group_by_key.insert(Key::of_guid(&g.object_guid), i as u32);
            }
        }
        // The previous snapshot was taken with the previous config; its rows are the
        // population that was in scope then.
        let in_scope_users = snap.users.iter().filter(|u| !u.is_deleted).count();
        History {
            snap,
            user_by_key,
            group_by_key,
            in_scope_users,
        }
    });
    drop(graph);
    Ok(Inst {
        input,
        mapper,
        iid_user_filter,
        iid_group_filter,
        ad_user_by_key,
        users_in_scope,
        keys,
        groups_in_scope,
        group_names,
        owned_users,
        owned_groups,
        prev,
        users_partial,
        groups_partial,
    })
}

/// What the user pass leaves for the group pass.
struct UsersState {
    /// Per instance, per AD user row.
    fates: Vec<Vec<Fate>>,
    /// Per base user: the pending-deletion draft, when the plan deletes it.
    deleting: Vec<Option<usize>>,
    /// In-scope AD users per instance (for the shrink threshold).
    in_scope: Vec<usize>,
}

/// A duplicated key: attribute, value, and the (instance, position) of each AD user.
type DupGroup = (String, String, Vec<(usize, usize)>);

#[derive(Debug, Clone)]
enum Matched {
    None,
    One {
        iid: u32,
        by: &'static str,
        strong: bool,
    },
    Ambiguous(String),
}

fn find_match(base: &IidIndex<'_>, k: &DesiredKeys) -> Matched {
    // The common case, decided with one lookup: the externalId finds one user whose own
    // userName and linking ID are the AD user's, and no userName or linking ID is shared by
    // two IIJ ID users — so looking those up could only find that same user.
    if base.by_user_name.is_unique()
        && base.by_linking_id.is_unique()
        && let Some(e) = k.external_id.as_deref()
    {
        let hits = base.by_external_id.get(&e);
        if hits.len() == 1
            && let Some(x) = hits.first()
            && let Some(u) = base.user(x)
        {
            let name_same = k
                .user_name
                .as_deref()
                .is_none_or(|n| eq_ci(n, &u.user_name));
            let link_same = k.linking_id.as_deref().is_none_or(|l| {
                u.downstream_id
                    .as_deref()
                    .is_some_and(|d| !d.is_empty() && d == l)
            });
            if name_same && link_same {
                return Matched::One {
                    iid: x,
                    by: "externalId",
                    strong: true,
                };
            }
        }
    }
    let by_ext = k
        .external_id
        .as_deref()
        .map(|e| base.by_external_id.get(&e))
        .unwrap_or_default();
    let by_link = k
        .linking_id
        .as_deref()
        .map(|e| base.by_linking_id.get(&e))
        .unwrap_or_default();
    let by_name = k
        .user_name
        .as_deref()
        .map(|n| base.by_user_name.get(&Ci(n)))
        .unwrap_or_default();
    let describe = |ids: &mut dyn Iterator<Item = u32>| -> String {
        ids.filter_map(|i| base.user(i))
            .map(|u| format!("{} (id {})", u.user_name, u.id))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if by_ext.len() > 1 {
        return Matched::Ambiguous(format!(
            "externalId matches several IIJ ID users: {}",
            describe(&mut by_ext.iter())
        ));
    }
    if by_link.len() > 1 {
        return Matched::Ambiguous(format!(
            "downstreamId matches several IIJ ID users: {}",
            describe(&mut by_link.iter())
        ));
    }
    if let (Some(a), Some(b)) = (by_ext.first(), by_link.first())
        && a != b
    {
        return Matched::Ambiguous(format!(
            "externalId matches {} but downstreamId matches {}",
            describe(&mut std::iter::once(a)),
            describe(&mut std::iter::once(b))
        ));
    }
    let strong = by_ext
        .first()
        .map(|i| (i, "externalId"))
        .or(by_link.first().map(|i| (i, "downstreamId")));
    if let Some((x, by)) = strong {
        if let Some(y) = by_name.iter().find(|&y| y != x) {
            return Matched::Ambiguous(format!(
                "{by} matches {} but the userName belongs to {}",
                describe(&mut std::iter::once(x)),
                describe(&mut std::iter::once(y))
            ));
        }
        return Matched::One {
            iid: x,
            by,
            strong: true,
        };
    }
    match (by_name.len(), by_name.first()) {
        (0, _) | (_, None) => Matched::None,
        (1, Some(first)) => Matched::One {
            iid: first,
            by: "userName",
            strong: false,
        },
        _ => Matched::Ambiguous(format!(
            "userName matches several IIJ ID users: {}",
            describe(&mut by_name.iter())
        )),
    }
}

/// The linkage ID IIJ ID derives Microsoft 365's immutableId from: application-linking ID,
/// else externalId, else the IIJ ID UUID (adm/17404058).
fn linkage_of_iid(u: &IidUser) -> String {
    u.downstream_id
        .clone()
        .filter(|s| !s.is_empty())
        .or_else(|| u.external_id.clone().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| u.id.clone())
}

fn linkage_of_keys(k: &DesiredKeys) -> Option<String> {
    k.linking_id
        .as_deref()
        .or(k.external_id.as_deref())
        .map(str::to_string)
}

#[derive(Debug, Clone)]
enum Recreated {
    /// The anchor-derived linkage ID differs from the IIJ ID user's.
    Anchor {
        attribute: &'static str,
        old: String,
        new: String,
    },
    /// Linkage unchanged, but history shows another objectGUID with this login ID.
    History { old_guid: String },
}

fn users<'a>(
    ctx: &mut Ctx,
    inputs: &Inputs<'a>,
    insts: &[Inst<'a>],
    base: &IidIndex<'a>,
) -> UsersState {
    let nbase = base.users.len();
    let mut fates: Vec<Vec<Fate>> = insts
        .iter()
        .map(|i| vec![Fate::OutOfScope; i.input.ad.users.len()])
        .collect();
    let mut deleting: Vec<Option<usize>> = vec![None; nbase];
    let mut claimed: Vec<Option<usize>> = vec![None; nbase];

    // 1. Duplicate keys across every instance (IIJ ID answers 409 uniqueness).
    // Every in-scope AD user of every instance gets a global number: offset + position.
    let offsets: Vec<usize> = insts
        .iter()
        .scan(0usize, |acc, i| {
            let o = *acc;
            *acc += i.keys.len();
            Some(o)
        })
        .collect();
    let total: usize = insts.iter().map(|i| i.keys.len()).sum();
    let locate = |g: u32| -> (usize, usize) {
        let g = g as usize;
        let ii = offsets.partition_point(|&o| o <= g).saturating_sub(1);
        (ii, g - offsets.get(ii).copied().unwrap_or(0))
    };
    let key_at = |g: u32| -> Option<&DesiredKeys<'_>> {
        let (ii, pos) = locate(g);
        insts.get(ii)?.keys.get(pos)
    };
    let name_dups: Vec<(String, Vec<(usize, usize)>)> = duplicates(
        total,
        |g| key_at(g).and_then(|k| k.user_name.as_deref()).map(Ci),
        |a, b| a == b,
    )
    .into_iter()
    .map(|(k, v)| (k.0.to_lowercase(), v.into_iter().map(locate).collect()))
    .collect();
    let ext_dups: Vec<(String, Vec<(usize, usize)>)> = duplicates(
        total,
        |g| key_at(g).and_then(|k| k.external_id.as_deref()),
        |a, b| a == b,
    )
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.into_iter().map(locate).collect()))
    .collect();
    let mut dup: BTreeMap<(usize, usize), Vec<String>> = BTreeMap::new();
    let mut dup_groups: Vec<DupGroup> = Vec::new();
    for (attr, groups) in [("userName", name_dups), ("externalId", ext_dups)] {
        for (value, members) in groups {
            for m in &members {
                dup.entry(*m).or_default().push(attr.to_string());
            }
            dup_groups.push((attr.to_string(), value, members));
        }
    }
    dup_groups.sort();
    for (attr, value, members) in &dup_groups {
        let mut names: Vec<String> = members
            .iter()
            .filter_map(|&(ii, pos)| {
                let inst = insts.get(ii)?;
                let u = inst
                    .input
                    .ad
                    .users
                    .get(*inst.users_in_scope.get(pos)? as usize)?;
                Some(format!(
                    "{} ({}, objectGUID {}, instance {})",
                    u.label(),
                    u.dn,
                    u.object_guid,
                    inst.input.name
                ))
            })
            .collect();
        names.sort();
        ctx.finding(
            codes::DUPLICATE_KEY,
            Severity::Error,
            None,
            format!("{attr} {value}"),
            Keys::new(),
            format!(
                "{} AD objects map to the {attr} {value:?}: {}. IIJ ID keeps {attr} unique and answers 409 (uniqueness), so none of them is synchronized",
                members.len(),
                names.join("; ")
            ),
            format!(
                "change the AD attribute bound to {attr} on all but one of them, or narrow ad.ldap.filter.user so only one is in scope"
            ),
            Confidence::High,
            Vec::new(),
        );
    }

    // 2. Match every in-scope AD user (in parallel: pure lookups) and tell whether a matched
    //    one is already up to date; collect claims.
    let mut matches: Vec<Vec<Pre>> = Vec::with_capacity(insts.len());
    // Claims on each IIJ ID user: global AD number × 2 + (1 when by a strong key).
    let mut claims: Multi<u32> = Multi::with_capacity(nbase);
    for (ii, inst) in insts.iter().enumerate() {
        let ad = &inst.input.ad;
        let m = crate::par::map(&inst.keys, |pos, k| {
            let matched = find_match(base, k);
            let (mut unchanged, mut anchor) = (false, None);
            if let (Matched::One { iid, by, .. }, Some(&row)) =
                (&matched, inst.users_in_scope.get(pos))
                && let (Some(u), Some(b)) = (ad.users.get(row as usize), base.user(*iid))
            {
                unchanged = !b.pending_deletion && inst.mapper.unchanged(u, b, inputs.as_of);
                anchor = anchor_recreated(inst, k, b, by);
            }
            Pre {
                matched,
                unchanged,
                anchor,
            }
        });
        for (pos, p) in m.iter().enumerate() {
            if let Matched::One { iid, strong, .. } = &p.matched {
                claims.insert(*iid, ((offsets[ii] + pos) as u32) * 2 + u32::from(*strong));
            }
        }
        matches.push(m);
    }
    let mut contested: Map<(usize, usize), String> = map_with_capacity(0);
    for (iid, cl) in claims.duplicates() {
        let cl: Vec<(usize, usize, bool)> = cl
            .into_iter()
            .map(|c| {
                let (ii, pos) = locate(c / 2);
                (ii, pos, c % 2 == 1)
            })
            .collect();
        let strong: Vec<_> = cl.iter().filter(|c| c.2).collect();
        let winner = if strong.len() == 1 {
            Some((strong[0].0, strong[0].1))
        } else {
            None
        };
        let who = base
            .user(*iid)
            .map(|u| format!("{} (id {})", u.user_name, u.id))
            .unwrap_or_default();
        for c in &cl {
            if Some((c.0, c.1)) != winner {
                contested.insert(
                    (c.0, c.1),
                    format!("the IIJ ID user {who} is also matched by another AD object"),
                );
            }
        }
    }
    drop(claims);

    // 3. Lifecycle per AD user.
    let m365 = inputs.m365.map(M365Index::new);
    for (ii, inst) in insts.iter().enumerate() {
        let ad = &inst.input.ad;
        let iname = inst.input.name.as_str();
        let history_logins = history_logins(inst);
        for (pos, &row) in inst.users_in_scope.iter().enumerate() {
            let Some(user) = ad.users.get(row as usize) else {
                continue;
            };
            let k = &inst.keys[pos];
            fates[ii][row as usize] = Fate::Blocked;
            if let Some(attrs) = dup.get(&(ii, pos)) {
                protect_candidates(base, k, &mut claimed);
                ctx.skipped.push(Skipped {
                    resource: Resource::User,
                    instance: Some(iname.into()),
                    name: user.label().to_string(),
                    keys: keys_of_ad(user),
                    reason: format!(
                        "DUPLICATE_KEY: another AD object maps to the same {}",
                        attrs.join(" and ")
                    ),
                });
                continue;
            }
            if k.user_name.is_none() {
                let sources = inst.mapper.sources_of(&Attr::UserName).join(", ");
                ctx.finding(
                    codes::MISSING_USER_NAME,
                    Severity::Warning,
                    Some(iname),
                    user_subject(user.label()),
                    keys_of_ad(user),
                    format!(
                        "the AD user {} has no value for {sources} (bound to userName), so Directory Sync cannot synchronize it",
                        user.dn
                    ),
                    format!("set {sources} on the AD user, or exclude it with ad.ldap.filter.user"),
                    Confidence::High,
                    Vec::new(),
                );
                continue;
            }
            let ambiguous = match &matches[ii][pos].matched {
                Matched::Ambiguous(why) => Some(why.clone()),
                _ => contested.get(&(ii, pos)).cloned(),
            };
            if let Some(why) = ambiguous {
                protect_candidates(base, k, &mut claimed);
                ctx.finding(
                    codes::AMBIGUOUS_MATCH,
                    Severity::Error,
                    Some(iname),
                    user_subject(user.label()),
                    keys_of_ad(user),
                    format!(
                        "the AD user {} cannot be matched to one IIJ ID user: {why}; nothing is done for it",
                        user.dn
                    ),
                    "decide which IIJ ID user is this person's: fix externalId / userName in IIJ ID Console (or delete the stray user), then reconcile again".into(),
                    Confidence::High,
                    Vec::new(),
                );
                ctx.skipped.push(Skipped {
                    resource: Resource::User,
                    instance: Some(iname.into()),
                    name: user.label().to_string(),
                    keys: keys_of_ad(user),
                    reason: format!("AMBIGUOUS_MATCH: {why}"),
                });
                continue;
            }
            let history = k
                .user_name
                .as_deref()
                .filter(|_| !history_logins.is_empty())
                .and_then(|n| history_logins.get(&n.to_lowercase()))
                .filter(|g| {
                    **g != Key::of_guid(&user.object_guid) && !inst.ad_user_by_key.contains_key(g)
                })
                .map(|g| g.to_string());
            let Pre {
                matched,
                unchanged,
                anchor,
            } = std::mem::replace(&mut matches[ii][pos], Pre::TAKEN);
            match matched {
                Matched::None | Matched::Ambiguous(_) => {
                    let d = inst.mapper.desired(user, inputs.as_of);
                    if !owned(inst.iid_user_filter.as_ref(), || {
                        inst.mapper.create_body(&d)
                    }) {
                        unowned_create(ctx, inst, Resource::User, user.label(), keys_of_ad(user));
                        continue;
                    }
                    let draft = create_user(ctx, inst, user, &d);
                    fates[ii][row as usize] = Fate::Created(draft);
                    if let Some(old_guid) = history {
                        recreated_user_finding(ctx, inst, user, &old_guid, None, false);
                        m365_check(ctx, inst, &m365, user, k, None, true, Some(draft));
                    } else if let Some(m) = &m365 {
                        blocked_account_check(ctx, inst, m, user, k, draft);
                    }
                }
                Matched::One { iid, by, .. } => {
                    let Some(b) = base.user(iid) else { continue };
                    claimed[iid as usize] = Some(ii);
                    if !inst.owned_users[iid as usize] {
                        ownership_conflict(
                            ctx,
                            inst,
                            Resource::User,
                            user.label(),
                            keys_of_ad(user),
                            &b.user_name,
                            &b.id,
                            by,
                        );
                        continue;
                    }
                    let recreated =
                        anchor.or_else(|| history.map(|old_guid| Recreated::History { old_guid }));
                    let (fate, deleted) = lifecycle(
                        ctx, inputs, inst, &m365, user, k, b, iid, by, recreated, unchanged,
                    );
                    fates[ii][row as usize] = fate;
                    if let Some(d) = deleted {
                        deleting[iid as usize] = Some(d);
                    }
                }
            }
        }
    }

    // 4. Owned IIJ ID users no AD object claims: deleted in AD or out of scope → pending
    //    deletion (never a hard delete).
    for (ii, inst) in insts.iter().enumerate() {
        let reasons = orphan_reasons(inst, base);
        let iname = inst.input.name.as_str();
        for (x, u) in base.users.iter().enumerate() {
            if !inst.owned_users[x] || u.pending_deletion || deleting[x].is_some() {
                continue;
            }
            match claimed[x] {
                Some(other) if other == ii => continue,
                Some(usize::MAX) => continue,
                Some(other) => {
                    let other_name = insts.get(other).map_or("?", |i| i.input.name.as_str());
                    foreign_delete(ctx, iname, other_name, Resource::User, &u.user_name, &u.id);
                    continue;
                }
                None => {}
            }
            if inst.users_partial && !reasons.contains_key(&(x as u32)) {
                partial_skip(ctx, iname, Resource::User, &u.user_name, &u.id, "user");
                continue;
            }
            let (rule, reason) = reasons.get(&(x as u32)).cloned().unwrap_or_else(|| {
                (
                    "orphan",
                    format!(
                        "no AD user in the scope of instance {iname} maps to this IIJ ID user (none has its externalId or userName); Directory Sync puts the IIJ ID users its SCIM filter selects and its AD lacks into pending deletion"
                    ),
                )
            });
            let d = pending_delete(ctx, inst, u, rule, reason, None);
            deleting[x] = Some(d);
        }
    }
    let in_scope = insts.iter().map(|i| i.users_in_scope.len()).collect();
    UsersState {
        fates,
        deleting,
        in_scope,
    }
}

/// Keys shared by more than one of `n` numbered items (`key(i)`, `None` = no key), each with
/// every item having it in ascending order; the first item's key stands for the group.
/// Sort-based: hashes sorted, equal hashes compared with `eq` (so collisions are harmless).
fn duplicates<K: std::hash::Hash + Copy>(
    n: usize,
    key: impl Fn(u32) -> Option<K> + Sync,
    eq: impl Fn(&K, &K) -> bool,
) -> Vec<(K, Vec<u32>)> {
    use std::hash::BuildHasher;
    let hasher = foldhash::fast::FixedState::with_seed(0x6469_7273_6e61_7073);
    let ids: Vec<u32> = (0..n as u32).collect();
    let mut hashed: Vec<(u64, u32)> =
        crate::par::map(&ids, |_, &i| key(i).map(|k| (hasher.hash_one(k), i)))
            .into_iter()
            .flatten()
            .collect();
    drop(ids);
    hashed.sort_unstable();
    let mut out = Vec::new();
    let mut start = 0;
    while start < hashed.len() {
        let h = hashed[start].0;
        let mut end = start + 1;
        while end < hashed.len() && hashed[end].0 == h {
            end += 1;
        }
        if end - start > 1 {
            let mut groups: Vec<(K, Vec<u32>)> = Vec::new();
            for &(_, i) in &hashed[start..end] {
                let Some(k) = key(i) else { continue };
                match groups.iter_mut().find(|(g, _)| eq(g, &k)) {
                    Some((_, members)) => members.push(i),
                    None => groups.push((k, vec![i])),
                }
            }
            out.extend(groups.into_iter().filter(|(_, m)| m.len() > 1));
        }
        start = end;
    }
    out
}

/// Marks the IIJ ID users a blocked AD user could be, so they are not deleted as orphans.
fn protect_candidates(base: &IidIndex<'_>, k: &DesiredKeys, claimed: &mut [Option<usize>]) {
    let mut c = Vec::new();
    if let Some(e) = k.external_id.as_deref() {
        c.extend(base.by_external_id.get(&e).iter());
    }
    if let Some(l) = k.linking_id.as_deref() {
        c.extend(base.by_linking_id.get(&l).iter());
    }
    if let Some(n) = k.user_name.as_deref() {
        c.extend(base.by_user_name.get(&Ci(n)).iter());
    }
    for x in c {
        if let Some(slot) = claimed.get_mut(x as usize)
            && slot.is_none()
        {
            // usize::MAX: protected, claimed by no instance in particular.
            *slot = Some(usize::MAX);
        }
    }
}

fn history_logins(inst: &Inst<'_>) -> Map<String, Key> {
    let mut m = map_with_capacity(0);
    let mut add = |u: &AdUser| {
        if let Some(n) = inst.mapper.keys(u).user_name {
            m.entry(n.to_lowercase())
                .or_insert_with(|| Key::of_guid(&u.object_guid));
        }
    };
    if let Some(h) = &inst.prev {
        for u in h.snap.users {
            add(u);
        }
    }
    for u in inst.input.ad.users.iter().filter(|u| u.is_deleted) {
        add(u);
    }
    m
}

/// What the parallel match pass finds out about one in-scope AD user.
struct Pre {
    matched: Matched,
    /// Matched, not pending deletion, and every value already as AD says: nothing to send.
    unchanged: bool,
    /// Matched, and its anchor-derived linkage differs: a recreated AD object.
    anchor: Option<Recreated>,
}

impl Pre {
    const TAKEN: Pre = Pre {
        matched: Matched::None,
        unchanged: false,
        anchor: None,
    };
}

/// A recreated AD object told by its anchors: the anchor-derived linking ID (or, where no
/// linking ID is bound or the match was by userName, externalId) differs from the IIJ ID
/// user's.
fn anchor_recreated(inst: &Inst<'_>, k: &DesiredKeys, b: &IidUser, by: &str) -> Option<Recreated> {
    let linking_bound = inst.mapper.binds_target(&Attr::DownstreamId);
    if linking_bound
        && k.linking_from_anchor
        && let (Some(old), Some(new)) = (
            b.downstream_id.as_deref().filter(|s| !s.is_empty()),
            k.linking_id.as_deref(),
        )
        && old != new
    {
        return Some(Recreated::Anchor {
            attribute: "downstreamId",
            old: old.to_string(),
            new: new.to_string(),
        });
    }
    if (!linking_bound || by == "userName")
        && k.external_from_anchor
        && let (Some(old), Some(new)) = (
            b.external_id.as_deref().filter(|s| !s.is_empty()),
            k.external_id.as_deref(),
        )
        && old != new
    {
        return Some(Recreated::Anchor {
            attribute: "externalId",
            old: old.to_string(),
            new: new.to_string(),
        });
    }
    None
}

#[allow(clippy::too_many_arguments)]
fn lifecycle(
    ctx: &mut Ctx,
    inputs: &Inputs<'_>,
    inst: &Inst<'_>,
    m365: &Option<M365Index<'_>>,
    user: &AdUser,
    k: &DesiredKeys,
    b: &IidUser,
    iid: u32,
    by: &'static str,
    recreated: Option<Recreated>,
    unchanged: bool,
) -> (Fate, Option<usize>) {
    // The common case: nothing to send, nothing to report.
    if unchanged && recreated.is_none() {
        // The fast check must agree with the full comparison below: an "unchanged" that is
        // wrong would be a missed update no later plan finds either (it is just as blind), so
        // every debug build, i.e. every test, compares the two.
        debug_assert!(
            {
                let d = inst.mapper.desired(user, inputs.as_of);
                d.active == b.active && diff_user(inst, b, &d).0.is_empty()
            },
            "Mapper::unchanged disagrees with the full comparison for {}",
            b.user_name
        );
        return (Fate::Matched(iid), None);
    }
    let iname = inst.input.name.as_str();
    let d = inst.mapper.desired(user, inputs.as_of);
    if b.pending_deletion {
        let names_match = d
            .user_name
            .as_deref()
            .is_some_and(|n| eq_ci(n, &b.user_name));
        let ext_match = d.external_id.as_deref().filter(|s| !s.is_empty())
            == b.external_id.as_deref().filter(|s| !s.is_empty());
        return match (&recreated, names_match && ext_match) {
            (
                Some(Recreated::Anchor {
                    attribute,
                    old,
                    new,
                }),
                _,
            ) => {
                recreated_pending(
                    ctx,
                    inst,
                    user,
                    b,
                    &format!(
                        "it is a new AD object (objectGUID {}): its {attribute} {new} differs from the pending user's {old}",
                        user.object_guid
                    ),
                    None,
                );
                m365_check(ctx, inst, m365, user, k, Some(b), true, None);
                (Fate::Blocked, None)
            }
            (_, false) => {
                let why = if names_match {
                    format!(
                        "its externalId {} differs from the pending user's {}",
                        d.external_id.as_deref().unwrap_or("(none)"),
                        b.external_id.as_deref().unwrap_or("(none)")
                    )
                } else {
                    format!(
                        "its userName {} differs from the pending user's {}",
                        d.user_name.as_deref().unwrap_or("(none)"),
                        b.user_name
                    )
                };
                recreated_pending(ctx, inst, user, b, &why, None);
                if recreated.is_some() {
                    m365_check(ctx, inst, m365, user, k, Some(b), true, None);
                }
                (Fate::Blocked, None)
            }
            (history, true) => {
                let draft = restore_user(ctx, inst, user, b, &d, by);
                if let Some(Recreated::History { old_guid }) = history {
                    recreated_user_finding(ctx, inst, user, old_guid, Some(b), true);
                    m365_check(ctx, inst, m365, user, k, Some(b), true, Some(draft));
                }
                (Fate::Restored(iid, draft), None)
            }
        };
    }
    if let (
        Some(Recreated::Anchor {
            attribute,
            old,
            new,
        }),
        RecreatedLiveUser::PendingDelete,
    ) = (&recreated, inst.mapper.profile.recreated_live_user)
    {
        let reason = format!(
            "the AD object behind this user is gone: AD now has a new object (objectGUID {}) with the same login ID, whose {attribute} {new} differs from {old}; Directory Sync treats the old one as deleted",
            user.object_guid
        );
        let pd = pending_delete(ctx, inst, b, "recreated.old_object_deleted", reason, None);
        if let Some(d) = ctx.drafts.get_mut(pd) {
            d.action
                .keys
                .insert("replacedByObjectGUID", user.object_guid.to_string());
        }
        recreated_pending(
            ctx,
            inst,
            user,
            b,
            &format!(
                "it is a new AD object (objectGUID {}) whose {attribute} {new} differs from {old}; this plan first puts {} into pending deletion",
                user.object_guid, b.user_name
            ),
            Some(pd),
        );
        m365_check(ctx, inst, m365, user, k, Some(b), true, Some(pd));
        return (Fate::Blocked, Some(pd));
    }
    let rule = match (&recreated, by) {
        (Some(Recreated::Anchor { .. }), _) => "recreated.update_anchor",
        (_, "userName") if b.external_id.as_deref().is_none_or(str::is_empty) => "adopt",
        _ => "update",
    };
    let (ops, changes) = diff_user(inst, b, &d);
    let mut drafts = Vec::new();
    if !ops.is_empty() {
        let reason = match rule {
            "adopt" => format!(
                "adopting the pre-existing IIJ ID user {} (matched by userName; it had no externalId): {}",
                b.user_name,
                describe_changes(&changes)
            ),
            "recreated.update_anchor" => format!(
                "the AD account was recreated (new objectGUID {}); its anchors are updated in place: {}",
                user.object_guid,
                describe_changes(&changes)
            ),
            _ => format!(
                "AD values differ from IIJ ID: {}",
                describe_changes(&changes)
            ),
        };
        let mut a = base_action(Op::UpdateUser, iname, Some(b), Some(user), &d);
        a.matched_by = Some(by.into());
        a.rule = rule.into();
        a.reason = reason;
        a.changes = changes;
        a.operations = ops;
        let id = ctx.push(draft_of(a, &b.user_name));
        drafts.push(id);
        if rule == "adopt" {
            ctx.finding(
                codes::ADOPTION,
                Severity::Info,
                Some(iname),
                user_subject(&b.user_name),
                merged_keys(user, &b.id),
                format!(
                    "the IIJ ID user {} existed before and has no externalId; Directory Sync takes it over by userName and writes the AD values",
                    b.user_name
                ),
                "check it is the same person as the AD user before applying".into(),
                Confidence::High,
                vec![id],
            );
        }
    }
    if d.active != b.active {
        let op = if d.active {
            Op::EnableUser
        } else {
            Op::DisableUser
        };
        let mut a = base_action(op, iname, Some(b), Some(user), &d);
        a.matched_by = Some(by.into());
        a.rule = if d.active {
            "enable".into()
        } else {
            "disable".into()
        };
        a.reason = if d.active {
            "the AD account is enabled again (userAccountControl / accountExpires)".into()
        } else if user
            .user_account_control
            .is_some_and(|u| u & dirsnap_model::UAC_ACCOUNTDISABLE != 0)
            || (user.user_account_control.is_none() && !user.enabled)
        {
            "the AD account is disabled (userAccountControl ACCOUNTDISABLE)".into()
        } else {
            format!(
                "the AD account expired (accountExpires {})",
                user.account_expires
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_default()
            )
        };
        a.changes = vec![Change {
            attribute: "active".into(),
            old: Value::Bool(b.active),
            new: Value::Bool(d.active),
        }];
        a.operations = vec![PatchOp {
            op: "replace".into(),
            path: Some("active".into()),
            value: Some(Value::Bool(d.active)),
        }];
        drafts.push(ctx.push(draft_of(a, &b.user_name)));
    }
    match &recreated {
        Some(Recreated::Anchor { .. }) => {
            recreated_user_finding(ctx, inst, user, "", Some(b), false);
            m365_check(
                ctx,
                inst,
                m365,
                user,
                k,
                Some(b),
                false,
                drafts.first().copied(),
            );
        }
        Some(Recreated::History { old_guid }) => {
            recreated_user_finding(ctx, inst, user, old_guid, Some(b), false);
        }
        None => {}
    }
    (Fate::Matched(iid), None)
}

fn describe_changes(changes: &[Change]) -> String {
    changes
        .iter()
        .map(|c| format!("{}: {} → {}", c.attribute, show(&c.old), show(&c.new)))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A JSON value for people: strings without quotes, null as "(none)".
pub fn show(v: &Value) -> String {
    match v {
        Value::Null => "(none)".into(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(show).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

fn merged_keys(user: &AdUser, id: &str) -> Keys {
    let mut k = keys_of_ad(user);
    k.insert("id", id.to_string());
    k
}

fn base_action(
    op: Op,
    instance: &str,
    b: Option<&IidUser>,
    user: Option<&AdUser>,
    d: &Desired,
) -> Action {
    let mut keys = user.map(keys_of_ad).unwrap_or_default();
    if let Some(b) = b {
        keys.insert("id", b.id.clone());
    }
    let (method, path) = match (op, b) {
        (Op::CreateUser, _) | (_, None) => ("POST".to_string(), "Users".to_string()),
        (_, Some(b)) => ("PATCH".to_string(), format!("Users/{}", b.id)),
    };
    Action {
        seq: 0,
        op,
        resource: Resource::User,
        instance: instance.to_string(),
        target: b.map(|b| b.id.clone()),
        target_action: None,
        user_name: d.user_name.clone().or(b.map(|b| b.user_name.clone())),
        display_name: None,
        external_id: d
            .external_id
            .clone()
            .or(b.and_then(|b| b.external_id.clone())),
        keys,
        matched_by: None,
        rule: String::new(),
        reason: String::new(),
        changes: Vec::new(),
        request: Request { method, path },
        operations: Vec::new(),
        body: None,
        members: Vec::new(),
        depends_on: Vec::new(),
        state_digest: b.map(digest::user_digest),
    }
}

fn draft_of(action: Action, name: &str) -> Draft {
    Draft {
        action,
        deps: Vec::new(),
        target_action: None,
        members: Vec::new(),
        sort_name: name.to_string(),
    }
}

/// Attribute differences between what AD says and the IIJ ID user, as PATCH operations.
fn diff_user(inst: &Inst<'_>, b: &IidUser, d: &Desired) -> (Vec<PatchOp>, Vec<Change>) {
    let raw = LazyJson::new(&b.raw);
    let mut ops = Vec::new();
    let mut changes = Vec::new();
    let profile = &inst.mapper.profile;
    for (attr, want) in inst.mapper.managed.iter().zip(&d.values) {
        if inst.mapper.same_as_current(attr, b, want) == Some(true) {
            continue;
        }
        let Some(have) = inst.mapper.current(attr, b, &raw) else {
            // The IID snapshot was read without `raw`: this attribute cannot be compared.
            continue;
        };
        let (want_n, have_n) = (normalized(want), normalized(&have));
        if want_n == have_n {
            continue;
        }
        let path = attr.scim_path(profile);
        ops.push(if want_n.is_null() {
            PatchOp {
                op: "remove".into(),
                path: Some(path),
                value: None,
            }
        } else {
            PatchOp {
                op: "replace".into(),
                path: Some(path),
                value: Some(inst.mapper.write_value(attr, &want_n)),
            }
        });
        changes.push(Change {
            attribute: attr.label(),
            old: have_n,
            new: want_n,
        });
    }
    (ops, changes)
}

fn create_user(ctx: &mut Ctx, inst: &Inst<'_>, user: &AdUser, d: &Desired) -> usize {
    let iname = inst.input.name.as_str();
    let mut a = base_action(Op::CreateUser, iname, None, Some(user), d);
    a.rule = if d.active {
        "create.enabled".into()
    } else {
        "create.disabled".into()
    };
    a.reason = format!(
        "the AD user {} is in scope and no IIJ ID user has its externalId or userName{}",
        user.dn,
        if d.active {
            ""
        } else {
            "; it is created disabled because the AD account is disabled or expired"
        }
    );
    a.changes = inst
        .mapper
        .managed
        .iter()
        .zip(&d.values)
        .filter(|(_, v)| !normalized(v).is_null())
        .map(|(attr, v)| Change {
            attribute: attr.label(),
            old: Value::Null,
            new: normalized(v),
        })
        .chain(std::iter::once(Change {
            attribute: "active".into(),
            old: Value::Null,
            new: Value::Bool(d.active),
        }))
        .collect();
    a.body = Some(inst.mapper.create_body(d));
    let name = d.user_name.clone().unwrap_or_default();
    let id = ctx.push(draft_of(a, &name));
    let has_email = inst
        .mapper
        .index_of(&Attr::Emails)
        .and_then(|i| d.values.get(i))
        .is_some_and(|v| !normalized(v).is_null());
    if !has_email {
        let sources = inst.mapper.sources_of(&Attr::Emails);
        ctx.finding(
            codes::NO_NOTIFICATION_EMAIL,
            Severity::Warning,
            Some(iname),
            user_subject(&name),
            keys_of_ad(user),
            format!(
                "{name} will be created without a notification email ({}). Directory Sync sends no registration email; a user who does not use Password Sync gets a temporary password only by entering the login ID on the login page, and it is sent to the notification email: this user cannot receive one",
                if sources.is_empty() {
                    "no AD attribute is bound to emails".to_string()
                } else {
                    format!("{} is empty in AD", sources.join(", "))
                }
            ),
            "set the AD attribute bound to emails (mail) before the sync, use Password Sync for this user, or set the notification email in IIJ ID Console after creation".into(),
            Confidence::High,
            vec![id],
        );
    }
    id
}

fn restore_user(
    ctx: &mut Ctx,
    inst: &Inst<'_>,
    user: &AdUser,
    b: &IidUser,
    d: &Desired,
    by: &str,
) -> usize {
    let iname = inst.input.name.as_str();
    let profile = &inst.mapper.profile;
    let mut a = base_action(Op::RestoreUser, iname, Some(b), Some(user), d);
    a.request.method = profile.restore_method.clone();
    a.matched_by = Some(by.into());
    a.rule = "restore".into();
    a.reason = "the AD user is in scope again and both userName and externalId match the user pending deletion; Directory Sync restores it and overwrites its attributes with the AD values".into();
    let raw = LazyJson::new(&b.raw);
    let mut ops = Vec::new();
    let mut changes = Vec::new();
    for (attr, want) in inst.mapper.managed.iter().zip(&d.values) {
        let want_n = normalized(want);
        let path = attr.scim_path(profile);
        let have = inst.mapper.current(attr, b, &raw).map(|v| normalized(&v));
        if have.as_ref() != Some(&want_n) {
            changes.push(Change {
                attribute: attr.label(),
                old: have.clone().unwrap_or(Value::Null),
                new: want_n.clone(),
            });
        }
        if want_n.is_null() {
            if have.is_some_and(|h| !h.is_null()) {
                ops.push(PatchOp {
                    op: "remove".into(),
                    path: Some(path),
                    value: None,
                });
            }
        } else {
            ops.push(PatchOp {
                op: "replace".into(),
                path: Some(path),
                value: Some(inst.mapper.write_value(attr, &want_n)),
            });
        }
    }
    changes.push(Change {
        attribute: "pendingDeletion".into(),
        old: Value::Bool(true),
        new: Value::Bool(false),
    });
    if b.active != d.active {
        changes.push(Change {
            attribute: "active".into(),
            old: Value::Bool(b.active),
            new: Value::Bool(d.active),
        });
    }
    ops.push(PatchOp {
        op: "replace".into(),
        path: Some("active".into()),
        value: Some(Value::Bool(d.active)),
    });
    a.operations = ops;
    a.changes = changes;
    ctx.push(draft_of(a, &b.user_name))
}

fn pending_delete(
    ctx: &mut Ctx,
    inst: &Inst<'_>,
    b: &IidUser,
    rule: &str,
    reason: String,
    user: Option<&AdUser>,
) -> usize {
    let iname = inst.input.name.as_str();
    let d = Desired::default();
    let mut a = base_action(Op::PendingDeleteUser, iname, Some(b), user, &d);
    a.user_name = Some(b.user_name.clone());
    a.external_id = b.external_id.clone();
    a.request.method = inst.mapper.profile.pending_delete_method.clone();
    a.rule = rule.into();
    a.reason = reason;
    a.changes = vec![Change {
        attribute: "pendingDeletion".into(),
        old: Value::Bool(false),
        new: Value::Bool(true),
    }];
    ctx.push(draft_of(a, &b.user_name))
}

fn recreated_pending(
    ctx: &mut Ctx,
    inst: &Inst<'_>,
    user: &AdUser,
    b: &IidUser,
    why: &str,
    pd: Option<usize>,
) {
    let iname = inst.input.name.as_str();
    let pending_now = pd.is_none();
    ctx.finding(
        codes::RECREATED_PENDING_DELETION,
        Severity::Error,
        Some(iname),
        user_subject(user.label()),
        merged_keys(user, &b.id),
        format!(
            "the AD user {} has the login ID of the IIJ ID user {} (id {}){}, but {why}. Directory Sync cannot restore or create it and logs an error on every run until that user is deleted in the console; nothing is done for the AD user",
            user.dn,
            b.user_name,
            b.id,
            if pending_now {
                ", which is pending deletion"
            } else {
                ""
            },
        ),
        format!(
            "in IIJ ID Console, delete {} permanently (Users pending deletion → delete){}; the next sync then creates the new user. Check this user's Microsoft 365 findings first",
            b.user_name,
            if pending_now {
                ""
            } else {
                " after this plan has put it into pending deletion"
            }
        ),
        Confidence::High,
        pd.into_iter().collect(),
    );
}

fn recreated_user_finding(
    ctx: &mut Ctx,
    inst: &Inst<'_>,
    user: &AdUser,
    old_guid: &str,
    b: Option<&IidUser>,
    restore: bool,
) {
    let iname = inst.input.name.as_str();
    let (message, severity) = match b {
        Some(b) if !old_guid.is_empty() => (
            format!(
                "the AD account {} was recreated (objectGUID {} replaced {old_guid}), but nothing Directory Sync sends identifies the AD object, so the new account {} the IIJ ID user {} (id {}) and its Microsoft 365 linkage",
                user.dn,
                user.object_guid,
                if restore { "restores" } else { "continues as" },
                b.user_name,
                b.id
            ),
            Severity::Info,
        ),
        Some(b) => (
            format!(
                "the AD account {} was recreated (new objectGUID {}); profile recreated_live_user = update, so the IIJ ID user {} (id {}) is updated in place with the new anchors, changing its Microsoft 365 linkage ID",
                user.dn, user.object_guid, b.user_name, b.id
            ),
            Severity::Warning,
        ),
        None => (
            format!(
                "the AD account {} was recreated (objectGUID {} replaced {old_guid}) and no IIJ ID user with its login ID is visible, so a new IIJ ID user is planned. If the old user is in pending deletion — where Directory Sync puts the user of a deleted AD account, and which IIJ ID does not list over SCIM (assumption MK2) — the create fails with 409 (login ID taken) until that user is deleted for good (lifecycle table: Recreate user → error)",
                user.dn, user.object_guid
            ),
            Severity::Warning,
        ),
    };
    let (remediation, confidence) = if b.is_none() {
        (
            format!(
                "look for {} in IIJ ID Console → Users pending deletion; if it is there, check this user's Microsoft 365 findings, then delete it for good before applying (or restore it instead, by giving the AD account the old linkage ID)",
                user.label()
            ),
            Confidence::Low,
        )
    } else {
        (
            "confirm the recreation was intended; see this user's Microsoft 365 findings".into(),
            Confidence::High,
        )
    };
    ctx.finding(
        codes::RECREATED_USER,
        severity,
        Some(iname),
        user_subject(user.label()),
        keys_of_ad(user),
        message,
        remediation,
        confidence,
        Vec::new(),
    );
}

#[allow(clippy::too_many_arguments)]
fn ownership_conflict(
    ctx: &mut Ctx,
    inst: &Inst<'_>,
    resource: Resource,
    label: &str,
    keys: Keys,
    iid_name: &str,
    iid_id: &str,
    by: &str,
) {
    let iname = inst.input.name.as_str();
    let filter_key = match resource {
        Resource::User => "iid.scim.filter.user",
        Resource::Group => "iid.scim.filter.group",
    };
    let mut k = keys;
    k.insert("id", iid_id.to_string());
    ctx.finding(
        codes::OWNERSHIP_CONFLICT,
        Severity::Error,
        Some(iname),
        format!("{} {label}", resource.as_str()),
        k.clone(),
        format!(
            "the AD {} {label} maps (by {by}) to the IIJ ID {} {iid_name} (id {iid_id}), which {filter_key} of instance {iname} does not select: Directory Sync will neither update it nor be able to create another one (409 uniqueness)",
            resource.as_str(),
            resource.as_str()
        ),
        format!(
            "widen {filter_key} to include it if this instance should own it, or exclude the AD object with ad.ldap.filter"
        ),
        Confidence::High,
        Vec::new(),
    );
    ctx.skipped.push(Skipped {
        resource,
        instance: Some(iname.into()),
        name: iid_name.to_string(),
        keys: k,
        reason: format!("not owned: {filter_key} of instance {iname} does not select it"),
    });
}

/// An in-scope AD object whose IIJ ID counterpart would not be selected by this instance's
/// SCIM filter once created: the next run would not see it and would try to create it again
/// (409). Left out of the plan.
fn unowned_create(ctx: &mut Ctx, inst: &Inst<'_>, resource: Resource, label: &str, keys: Keys) {
    let iname = inst.input.name.as_str();
    let filter_key = match resource {
        Resource::User => "iid.scim.filter.user",
        Resource::Group => "iid.scim.filter.group",
    };
    let what = resource.as_str();
    ctx.finding(
        codes::OWNERSHIP_CONFLICT,
        Severity::Error,
        Some(iname),
        format!("{what} {label}"),
        keys.clone(),
        format!(
            "the AD {what} {label} is in the sync scope of instance {iname}, but the IIJ ID {what} it would create is not selected by {filter_key}: the next run would not see it and would fail creating it again (409 uniqueness); it is not created"
        ),
        format!(
            "make ad.ldap.filter and {filter_key} of instance {iname} select the same objects"
        ),
        Confidence::High,
        Vec::new(),
    );
    ctx.skipped.push(Skipped {
        resource,
        instance: Some(iname.into()),
        name: label.to_string(),
        keys,
        reason: format!(
            "would not be owned after creation: {filter_key} of instance {iname} does not select it"
        ),
    });
}

fn foreign_delete(
    ctx: &mut Ctx,
    iname: &str,
    other: &str,
    resource: Resource,
    name: &str,
    id: &str,
) {
    let (code, what, filter_key, verb) = match resource {
        Resource::User => (
            codes::FOREIGN_USER_DELETE,
            "user",
            "iid.scim.filter.user",
            "put into pending deletion",
        ),
        Resource::Group => (
            codes::FOREIGN_GROUP_DELETE,
            "group",
            "iid.scim.filter.group",
            "delete",
        ),
    };
    ctx.finding(
        code,
        Severity::Error,
        Some(iname),
        format!("{what} {name}"),
        keys_of_iid(id),
        format!(
            "instance {iname} owns the IIJ ID {what} {name} (its {filter_key} does not exclude it) but has no AD {what} for it, so Directory Sync of {iname} would {verb} it — yet instance {other} synchronizes it. The action is left out of this plan"
        ),
        format!(
            "set {filter_key} of instance {iname} so it excludes {other}'s {what}s{}",
            if resource == Resource::Group {
                ", or let only one instance sync groups (precautions: ad.ldap.filter.group '!(cn=*)' and iid.scim.filter.group 'displayName eq \"\"')"
            } else {
                ""
            }
        ),
        Confidence::High,
        Vec::new(),
    );
    ctx.skipped.push(Skipped {
        resource,
        instance: Some(iname.into()),
        name: name.to_string(),
        keys: keys_of_iid(id),
        reason: format!("synchronized by instance {other}; {code}"),
    });
}

/// Why each orphan has no AD object: left the filter scope, deleted in AD, or never synced.
fn orphan_reasons(inst: &Inst<'_>, base: &IidIndex<'_>) -> Map<u32, (&'static str, String)> {
    let mut out: Map<u32, (&'static str, String)> = map_with_capacity(0);
    let ad = &inst.input.ad;
    let iname = inst.input.name.as_str();
    let all_in = inst.users_in_scope.len() == ad.users.iter().filter(|u| !u.is_deleted).count();
    let in_scope: std::collections::HashSet<u32> = if all_in {
        std::collections::HashSet::new()
    } else {
        inst.users_in_scope.iter().copied().collect()
    };
    let mut locate = |u: &AdUser, rule: &'static str, why: String| {
        let k = inst.mapper.keys(u);
        if let Matched::One { iid, .. } = find_match(base, &k) {
            out.entry(iid).or_insert((rule, why));
        }
    };
    for (i, u) in ad.users.iter().enumerate() {
        if u.is_deleted {
            locate(
                u,
                "deleted",
                format!(
                    "the AD user {} was deleted (tombstone, objectGUID {}); Directory Sync puts its IIJ ID user into pending deletion",
                    u.dn, u.object_guid
                ),
            );
        } else if !all_in && !in_scope.contains(&(i as u32)) {
            locate(
                u,
                "out_of_scope",
                format!(
                    "the AD user {} left the sync scope (ad.ldap.filter.user of instance {iname} no longer selects it); Directory Sync puts its IIJ ID user into pending deletion",
                    u.dn
                ),
            );
        }
    }
    if let Some(h) = &inst.prev {
        for u in h.snap.users {
            if u.is_deleted
                || inst
                    .ad_user_by_key
                    .contains_key(&Key::of_guid(&u.object_guid))
            {
                continue;
            }
            locate(
                u,
                "deleted",
                format!(
                    "the AD user {} (objectGUID {}) was in the previous AD snapshot and is gone now: deleted in AD; Directory Sync puts its IIJ ID user into pending deletion",
                    u.dn, u.object_guid
                ),
            );
        }
    }
    out
}

/// Microsoft 365 accounts by UPN.
struct M365Index<'a> {
    by_upn: Map<String, Vec<&'a M365User>>,
}

impl<'a> M365Index<'a> {
    fn new(users: &'a [M365User]) -> Self {
        let mut by_upn: Map<String, Vec<&'a M365User>> = map_with_capacity(users.len());
        for u in users {
            by_upn
                .entry(u.user_principal_name.to_lowercase())
                .or_default()
                .push(u);
        }
        for v in by_upn.values_mut() {
            // Live accounts before soft-deleted ones, then by id: deterministic.
            v.sort_by(|a, b| (a.deleted, &a.id).cmp(&(b.deleted, &b.id)));
        }
        M365Index { by_upn }
    }

    fn account(&self, upn: &str) -> Option<&'a M365User> {
        self.by_upn
            .get(&upn.to_lowercase())
            .and_then(|v| v.iter().find(|u| !u.deleted).copied())
    }

    fn deleted_account(&self, upn: &str) -> Option<&'a M365User> {
        self.by_upn
            .get(&upn.to_lowercase())
            .and_then(|v| v.iter().find(|u| u.deleted).copied())
    }
}

/// The recreated-account table of the precautions, for one recreated AD user.
/// `blocked_by_sync`: the IIJ ID user is (or by this plan becomes) disabled or pending
/// deletion, so its Microsoft 365 account is blocked.
#[allow(clippy::too_many_arguments)]
fn m365_check(
    ctx: &mut Ctx,
    inst: &Inst<'_>,
    m365: &Option<M365Index<'_>>,
    user: &AdUser,
    k: &DesiredKeys,
    b: Option<&IidUser>,
    blocked_by_sync: bool,
    action: Option<usize>,
) {
    if m365.is_none() && !inst.mapper.profile.m365_linkage {
        return;
    }
    let iname = inst.input.name.as_str();
    let upn = k.user_name.as_deref().unwrap_or(user.label()).to_string();
    let new = linkage_of_keys(k);
    let old = b.map(linkage_of_iid);
    let new_text = new
        .clone()
        .unwrap_or_else(|| "(the new IIJ ID user's UUID)".into());
    let acts: Vec<usize> = action.into_iter().collect();
    let keys = keys_of_ad(user);
    let Some(m) = m365 else {
        let Some(old) = old else { return };
        let same = new.as_deref() == Some(old.as_str());
        let why = "inferred from IIJ ID state without a Microsoft 365 snapshot (pass --m365 for certainty): the IIJ ID user existed, so its Microsoft 365 account presumably exists and is blocked once the user is disabled or pending deletion";
        if same {
            ctx.finding(
                codes::M365_RECREATE_UNBLOCK,
                Severity::Info,
                Some(iname),
                user_subject(&upn),
                keys,
                format!(
                    "the recreated user's linkage ID {new_text} equals the previous one; a blocked Microsoft 365 account {upn} would be unblocked and reused ({why})"
                ),
                "export Microsoft 365 (`dirsnap export m365`) and reconcile with --m365 to confirm".into(),
                Confidence::Low,
                acts,
            );
        } else {
            ctx.finding(
                codes::M365_RECREATE_COLLISION,
                Severity::Error,
                Some(iname),
                user_subject(&upn),
                keys,
                format!(
                    "the recreated user's linkage ID {new_text} differs from the previous {old}; if the Microsoft 365 account {upn} exists blocked, linkage fails as a duplicate ({why})"
                ),
                "export Microsoft 365 and reconcile with --m365; if a blocked account exists, permanently delete it, or restore the old application-linking ID / externalId on the AD account".into(),
                Confidence::Low,
                acts,
            );
        }
        return;
    };
    match m.account(&upn) {
        Some(acc)
            if acc.account_enabled == Some(false)
                || blocked_by_sync
                || acc.account_enabled.is_none() =>
        {
            let (same, confidence, before) = if acc.immutable_id_known {
                (
                    acc.immutable_id.is_some() && acc.immutable_id == new,
                    Confidence::High,
                    acc.immutable_id.clone().unwrap_or_else(|| "(none)".into()),
                )
            } else {
                (
                    old.is_some() && old == new,
                    Confidence::Low,
                    old.clone().unwrap_or_else(|| "(unknown)".into()),
                )
            };
            let state = if acc.account_enabled == Some(false) {
                "is blocked".to_string()
            } else {
                "will be blocked when Directory Sync disables or deletes the IIJ ID user"
                    .to_string()
            };
            if same {
                ctx.finding(
                    codes::M365_RECREATE_UNBLOCK,
                    Severity::Info,
                    Some(iname),
                    user_subject(&upn),
                    keys,
                    format!(
                        "the Microsoft 365 account {upn} (id {}) {state}; the recreated user's linkage ID {new_text} is the same as before ({before}), so linkage succeeds: the account is unblocked and reused",
                        acc.id
                    ),
                    "nothing to do; licenses removed while blocked may need to be re-assigned".into(),
                    confidence,
                    acts,
                );
            } else {
                ctx.finding(
                    codes::M365_RECREATE_COLLISION,
                    Severity::Error,
                    Some(iname),
                    user_subject(&upn),
                    keys,
                    format!(
                        "the Microsoft 365 account {upn} (id {}) {state} and carries immutableId {before}, but the recreated user's linkage ID is {new_text}: IIJ ID's linkage will fail as a duplicate of the blocked account",
                        acc.id
                    ),
                    "permanently delete the blocked Microsoft 365 account (Microsoft 365 admin center → Deleted users → delete permanently), or restore the old application-linking ID / externalId on the AD account (e.g. set mS-DS-ConsistencyGuid to the old value)".into(),
                    confidence,
                    acts,
                );
            }
        }
        Some(_) => {}
        None => {
            let extra = m
                .deleted_account(&upn)
                .map(|d| {
                    format!(
                        " (a soft-deleted account with this UPN, id {}, is in the recycle bin)",
                        d.id
                    )
                })
                .unwrap_or_default();
            ctx.finding(
                codes::M365_RECREATE_NEW_ACCOUNT,
                Severity::Info,
                Some(iname),
                user_subject(&upn),
                keys,
                format!(
                    "no Microsoft 365 account has the UPN {upn}{extra}: linkage creates a new account for the recreated user"
                ),
                "nothing to do; the new account starts without the old mailbox data and licenses"
                    .into(),
                Confidence::High,
                acts,
            );
        }
    }
}

/// A user about to be created whose UPN already has a blocked Microsoft 365 account.
fn blocked_account_check(
    ctx: &mut Ctx,
    inst: &Inst<'_>,
    m: &M365Index<'_>,
    user: &AdUser,
    k: &DesiredKeys,
    draft: usize,
) {
    let Some(upn) = k.user_name.as_deref() else {
        return;
    };
    let Some(acc) = m.account(upn) else { return };
    if acc.account_enabled != Some(false) || !acc.immutable_id_known {
        return;
    }
    let new = linkage_of_keys(k);
    let iname = inst.input.name.as_str();
    let keys = keys_of_ad(user);
    if acc.immutable_id.is_some() && acc.immutable_id == new {
        ctx.finding(
            codes::M365_RECREATE_UNBLOCK,
            Severity::Info,
            Some(iname),
            user_subject(upn),
            keys,
            format!(
                "a blocked Microsoft 365 account {upn} (id {}) has the new user's linkage ID; it will be unblocked and reused",
                acc.id
            ),
            "nothing to do".into(),
            Confidence::High,
            vec![draft],
        );
    } else {
        ctx.finding(
            codes::M365_RECREATE_COLLISION,
            Severity::Error,
            Some(iname),
            user_subject(upn),
            keys,
            format!(
                "a blocked Microsoft 365 account {upn} (id {}) exists with immutableId {}, but the user to be created has linkage ID {}: linkage will fail as a duplicate",
                acc.id,
                acc.immutable_id.as_deref().unwrap_or("(none)"),
                new.as_deref().unwrap_or("(the new IIJ ID user's UUID)")
            ),
            "permanently delete the blocked Microsoft 365 account, or give the AD account the old linkage ID".into(),
            Confidence::High,
            vec![draft],
        );
    }
}

fn groups(ctx: &mut Ctx, insts: &[Inst<'_>], base: &IidIndex<'_>, us: &UsersState) {
    let nbase = base.groups.len();
    // Collisions: two AD groups (any instance) with one name.
    let mut by_name: BTreeMap<String, Vec<(usize, usize)>> = BTreeMap::new();
    for (ii, inst) in insts.iter().enumerate() {
        for (pos, n) in inst.group_names.iter().enumerate() {
            if let Some(n) = n {
                by_name.entry(n.to_lowercase()).or_default().push((ii, pos));
            }
        }
    }
    let mut blocked: BTreeSet<(usize, usize)> = BTreeSet::new();
    let mut protected: Vec<bool> = vec![false; nbase];
    for members in by_name.values().filter(|v| v.len() > 1) {
        let mut described = Vec::new();
        let mut name = String::new();
        for &(ii, pos) in members {
            blocked.insert((ii, pos));
            let inst = &insts[ii];
            if let Some(g) = inst
                .groups_in_scope
                .get(pos)
                .and_then(|&r| inst.input.ad.groups.get(r as usize))
            {
                described.push(format!(
                    "{} (objectGUID {}, instance {})",
                    g.dn, g.object_guid, inst.input.name
                ));
            }
            if let Some(n) = &inst.group_names[pos] {
                name = n.clone();
                for x in base.group_by_name.get(&Ci(n)).iter() {
                    protected[x as usize] = true;
                }
            }
        }
        described.sort();
        ctx.finding(
            codes::GROUP_NAME_COLLISION,
            Severity::Error,
            None,
            group_subject(&name),
            Keys::new(),
            format!(
                "{} different AD groups map to the IIJ ID group name {name:?}: {}. Group names are unique in IIJ ID, so different groups with the same name cannot be synchronized; none of them is",
                members.len(),
                described.join("; ")
            ),
            "rename all but one of them in AD, or change ad.ldap.filter.group so only one is synchronized".into(),
            Confidence::High,
            Vec::new(),
        );
    }

    // Match and claim.
    let mut gclaim: Vec<Option<usize>> = vec![None; nbase];
    let mut cand: Vec<Vec<(Option<u32>, &'static str)>> = Vec::new();
    let mut claims: BTreeMap<u32, Vec<(usize, usize, bool)>> = BTreeMap::new();
    for (ii, inst) in insts.iter().enumerate() {
        let mut c = Vec::with_capacity(inst.groups_in_scope.len());
        for (pos, &row) in inst.groups_in_scope.iter().enumerate() {
            let (Some(g), Some(name)) = (
                inst.input.ad.groups.get(row as usize),
                inst.group_names[pos].as_deref(),
            ) else {
                c.push((None, ""));
                continue;
            };
            if blocked.contains(&(ii, pos)) {
                c.push((None, ""));
                continue;
            }
            // A rename: the previous AD snapshot names the IIJ ID group this one had.
            let prev_name = inst.prev.as_ref().and_then(|h| {
                let &pi = h.group_by_key.get(&Key::of_guid(&g.object_guid))?;
                let pg = h.snap.groups.get(pi as usize)?;
                inst.mapper.group_name(pg).filter(|p| p != name)
            });
            let by_prev = prev_name
                .as_deref()
                .map(|p| base.group_by_name.get(&Ci(p)))
                .unwrap_or_default();
            let by_name = base.group_by_name.get(&Ci(name));
            let r = if by_prev.len() == 1 {
                (by_prev.first(), "previousName")
            } else if by_name.len() == 1 {
                (by_name.first(), "displayName")
            } else if by_name.len() > 1 {
                blocked.insert((ii, pos));
                for x in by_name.iter() {
                    protected[x as usize] = true;
                }
                ctx.finding(
                    codes::AMBIGUOUS_MATCH,
                    Severity::Error,
                    Some(&inst.input.name),
                    group_subject(name),
                    keys_of_ad_group(g),
                    format!(
                        "{} IIJ ID groups are named {name:?}; the AD group {} cannot be matched to one of them",
                        by_name.len(),
                        g.dn
                    ),
                    "delete or rename the extra IIJ ID groups in the console".into(),
                    Confidence::High,
                    Vec::new(),
                );
                (None, "")
            } else {
                (None, "")
            };
            if let (Some(x), by) = r {
                claims
                    .entry(x)
                    .or_default()
                    .push((ii, pos, by == "previousName"));
            }
            c.push(r);
        }
        cand.push(c);
    }
    for (x, cl) in &claims {
        if cl.len() < 2 {
            continue;
        }
        let strong: Vec<_> = cl.iter().filter(|c| c.2).collect();
        let winner = (strong.len() == 1).then(|| (strong[0].0, strong[0].1));
        for c in cl {
            if Some((c.0, c.1)) == winner {
                continue;
            }
            blocked.insert((c.0, c.1));
            protected[*x as usize] = true;
            let inst = &insts[c.0];
            if let Some(g) = inst
                .groups_in_scope
                .get(c.1)
                .and_then(|&r| inst.input.ad.groups.get(r as usize))
            {
                let who = base
                    .group(*x)
                    .map(|g| g.display_name.clone())
                    .unwrap_or_default();
                ctx.finding(
                    codes::AMBIGUOUS_MATCH,
                    Severity::Error,
                    Some(&inst.input.name),
                    group_subject(g.label()),
                    keys_of_ad_group(g),
                    format!(
                        "the IIJ ID group {who:?} is claimed by more than one AD group (one was renamed from this name); {} is left alone",
                        g.dn
                    ),
                    "rename one of the AD groups so the names no longer overlap, then reconcile again".into(),
                    Confidence::High,
                    Vec::new(),
                );
            }
        }
    }

    // Users this plan restores from pending deletion are members again afterwards.
    let mut restoring: Map<u32, usize> = map_with_capacity(0);
    for f in &us.fates {
        for fate in f {
            if let Fate::Restored(x, d) = fate {
                restoring.insert(*x, *d);
            }
        }
    }
    // Create / rename, then memberships.
    let mut nested_total = 0usize;
    // Base users not pending deletion. Member lists hit users in random order; a compact
    // vector instead of the rows keeps those lookups in cache.
    let live_user: Vec<bool> = base.users.iter().map(|u| !u.pending_deletion).collect();
    for (ii, inst) in insts.iter().enumerate() {
        let iname = inst.input.name.as_str();
        let ad = &inst.input.ad;
        let mut fates = vec![GFate::Blocked; inst.groups_in_scope.len()];
        for (pos, &row) in inst.groups_in_scope.iter().enumerate() {
            let Some(g) = ad.groups.get(row as usize) else {
                continue;
            };
            if blocked.contains(&(ii, pos)) {
                continue;
            }
            let Some(name) = inst.group_names[pos].clone() else {
                ctx.notes.push(format!(
                    "instance {iname}: the AD group {} has no {} or sAMAccountName; it is not synchronized",
                    g.dn, inst.mapper.profile.group_name_attribute
                ));
                continue;
            };
            match cand[ii][pos] {
                (Some(x), by) => {
                    let Some(ig) = base.group(x) else { continue };
                    gclaim[x as usize] = Some(ii);
                    if !inst.owned_groups[x as usize] {
                        ownership_conflict(
                            ctx,
                            inst,
                            Resource::Group,
                            &name,
                            keys_of_ad_group(g),
                            &ig.display_name,
                            &ig.id,
                            by,
                        );
                        continue;
                    }
                    fates[pos] = GFate::Matched(x);
                    if ig.display_name != name {
                        let mut a =
                            group_action(Op::UpdateGroup, iname, Some(ig), g, &name, base, x);
                        a.matched_by = Some(by.into());
                        a.rule = "rename".into();
                        a.reason = format!(
                            "the AD group {} is now named {name:?} (was {:?})",
                            g.dn, ig.display_name
                        );
                        a.changes = vec![Change {
                            attribute: "displayName".into(),
                            old: json!(ig.display_name),
                            new: json!(name),
                        }];
                        a.operations = vec![PatchOp {
                            op: "replace".into(),
                            path: Some("displayName".into()),
                            value: Some(json!(name)),
                        }];
                        ctx.push(draft_of(a, &name));
                    }
                }
                (None, _) => {
                    let body = json!({
                        "schemas": [dirsnap_model::URN_CORE_GROUP],
                        "displayName": name,
                        "members": [],
                    });
                    if !owned(inst.iid_group_filter.as_ref(), || body.clone()) {
                        unowned_create(ctx, inst, Resource::Group, &name, keys_of_ad_group(g));
                        continue;
                    }
                    let mut a = group_action(Op::CreateGroup, iname, None, g, &name, base, 0);
                    a.rule = "create".into();
                    a.reason = format!(
                        "the AD group {} is in scope and no IIJ ID group is named {name:?}",
                        g.dn
                    );
                    a.body = Some(body);
                    a.changes = vec![Change {
                        attribute: "displayName".into(),
                        old: Value::Null,
                        new: json!(name),
                    }];
                    let d = ctx.push(draft_of(a, &name));
                    fates[pos] = GFate::Created(d);
                }
            }
        }
        // Direct members that are users in scope; nested groups are neither synced nor
        // flattened.
        let mut group_row_by_key = KeyIndex::with_capacity(ad.groups.len());
        for (i, g) in ad.groups.iter().enumerate() {
            group_row_by_key.insert(Key::of_guid(&g.object_guid), i as u32);
        }
        nested_total += ad
            .memberships
            .iter()
            .filter(|e| e.kind() == MemberKind::Group && group_row_by_key.contains_key(e.group))
            .count();
        let pairs =
            crate::index::parallel_resolve(ad.memberships, &group_row_by_key, |e| match e.kind() {
                MemberKind::User => e.member().and_then(|m| inst.ad_user_by_key.get(&m)),
                _ => None,
            });
        drop(group_row_by_key);
        let members_of = Lists::from_pairs(ad.groups.len(), &pairs);
        drop(pairs);
        // What each AD user is as a member, decided once per user rather than once per
        // membership (member lists visit users in random order).
        let pos_of_row = |row: u32| inst.users_in_scope.binary_search(&row).ok();
        let as_member: Vec<AsMember> = crate::par::map(&us.fates[ii], |row, fate| match fate {
            Fate::Matched(x)
                if us.deleting.get(*x as usize).is_some_and(Option::is_none)
                    && live_user.get(*x as usize) == Some(&true) =>
            {
                AsMember::Existing(*x)
            }
            Fate::Restored(x, d) => AsMember::Restored(*x, *d as u32),
            Fate::Created(d) => {
                pos_of_row(row as u32).map_or(AsMember::Not, |p| AsMember::New(*d as u32, p as u32))
            }
            _ => AsMember::Not,
        });
        let view = MemberView {
            inst,
            base,
            as_member: &as_member,
            live_user: &live_user,
            restoring: &restoring,
        };
        // Each group's member changes are independent of the others': computed side by
        // side, pushed in order.
        let work = crate::par::map_chunks(&inst.groups_in_scope, |pos, &row| {
            let target = match fates[pos] {
                GFate::Blocked => return None,
                GFate::Matched(x) => GroupTarget::Existing(x),
                GFate::Created(d) => GroupTarget::Created(d),
            };
            view.member_drafts(pos, row, target, members_of.get(row as usize))
        });
        let n: usize = work
            .iter()
            .flatten()
            .flatten()
            .map(|w| usize::from(w.add.is_some()) + usize::from(w.remove.is_some()))
            .sum();
        ctx.drafts.reserve(n);
        for w in work.into_iter().flatten().flatten() {
            if let Some(add) = w.add {
                ctx.push(add);
            }
            if let Some(remove) = w.remove {
                let id = ctx.push(remove);
                for x in &w.removed {
                    if let Some(pd) = us.deleting[*x as usize]
                        && let Some(d) = ctx.drafts.get_mut(pd)
                    {
                        d.deps.push(id);
                    }
                }
            }
        }
    }
    if nested_total > 0 {
        ctx.notes.push(format!(
            "{nested_total} nested group memberships were left out: Directory Sync does not synchronize nested groups and does not flatten their members"
        ));
    }

    // Owned IIJ ID groups no AD group claims: deleted (hard), unless another instance
    // synchronizes them.
    let lower = |s: &str| s.to_lowercase();
    let in_scope_names: Vec<BTreeSet<String>> = insts
        .iter()
        .map(|i| i.group_names.iter().flatten().map(|n| lower(n)).collect())
        .collect();
    for (ii, inst) in insts.iter().enumerate() {
        let iname = inst.input.name.as_str();
        let mut why = OrphanGroups::new(inst);
        for (x, g) in base.groups.iter().enumerate() {
            if !inst.owned_groups[x] || protected[x] {
                continue;
            }
            match gclaim[x] {
                Some(other) if other == ii => continue,
                Some(other) => {
                    let other_name = insts.get(other).map_or("?", |i| i.input.name.as_str());
                    foreign_delete(
                        ctx,
                        iname,
                        other_name,
                        Resource::Group,
                        &g.display_name,
                        &g.id,
                    );
                    continue;
                }
                None => {}
            }
            // A group another instance's AD has, even if that instance cannot claim it
            // (blocked or not owned), is foreign too.
            let gl = lower(&g.display_name);
            if let Some((_, other)) = insts
                .iter()
                .enumerate()
                .find(|(oi, _)| *oi != ii && in_scope_names[*oi].contains(&gl))
            {
                foreign_delete(
                    ctx,
                    iname,
                    &other.input.name,
                    Resource::Group,
                    &g.display_name,
                    &g.id,
                );
                continue;
            }
            let (rule, reason) = why.reason(&g.display_name);
            if inst.groups_partial && rule == "orphan" {
                partial_skip(ctx, iname, Resource::Group, &g.display_name, &g.id, "group");
                continue;
            }
            let a = Action {
                seq: 0,
                op: Op::DeleteGroup,
                resource: Resource::Group,
                instance: iname.to_string(),
                target: Some(g.id.clone()),
                target_action: None,
                user_name: None,
                display_name: Some(g.display_name.clone()),
                external_id: g.external_id.clone(),
                keys: keys_of_iid(&g.id),
                matched_by: None,
                rule: rule.into(),
                reason,
                changes: vec![Change {
                    attribute: "displayName".into(),
                    old: json!(g.display_name),
                    new: Value::Null,
                }],
                request: Request {
                    method: "DELETE".into(),
                    path: format!("Groups/{}", g.id),
                },
                operations: Vec::new(),
                body: None,
                members: Vec::new(),
                depends_on: Vec::new(),
                state_digest: Some(group_digest(base, x as u32)),
            };
            ctx.push(draft_of(a, &g.display_name));
        }
    }
}

/// What the member pass of one instance reads.
struct MemberView<'v, 'a> {
    inst: &'v Inst<'a>,
    base: &'v IidIndex<'a>,
    /// Per AD user row of the instance.
    as_member: &'v [AsMember],
    /// Base users not pending deletion. Member lists hit users in random order; a compact
    /// vector instead of the rows keeps those lookups in cache.
    live_user: &'v [bool],
    /// Users this plan restores from pending deletion (members again afterwards).
    restoring: &'v Map<u32, usize>,
}

/// What an AD user is when it is a direct member of a synchronized group.
#[derive(Clone, Copy)]
enum AsMember {
    /// Not synchronized (blocked, out of scope, or its IIJ ID user is being deleted).
    Not,
    /// The IIJ ID user (base row) it is matched to.
    Existing(u32),
    /// The IIJ ID user this plan restores from pending deletion, and that draft.
    Restored(u32, u32),
    /// The draft creating its IIJ ID user, and its position among the in-scope users.
    New(u32, u32),
}

#[derive(Clone, Copy)]
enum GroupTarget {
    Existing(u32),
    Created(usize),
}

/// The member actions of one group, and the users its removal lists.
struct MemberDrafts {
    add: Option<Draft>,
    remove: Option<Draft>,
    removed: Vec<u32>,
}

impl MemberView<'_, '_> {
    fn restoring(&self, u: u32) -> Option<usize> {
        if self.restoring.is_empty() {
            None
        } else {
            self.restoring.get(&u).copied()
        }
    }

    /// `add_members` / `remove_members` for the in-scope group at `pos` (AD row `row`) with
    /// direct user members `rows` (AD user rows, sorted).
    fn member_drafts(
        &self,
        pos: usize,
        row: u32,
        target: GroupTarget,
        rows: &[u32],
    ) -> Option<MemberDrafts> {
        let (inst, base) = (self.inst, self.base);
        let ad = &inst.input.ad;
        let g = ad.groups.get(row as usize)?;
        let (target, create) = match target {
            GroupTarget::Existing(x) => (Some(x), None),
            GroupTarget::Created(d) => (None, Some(d)),
        };
        let name = inst.group_names[pos].clone().unwrap_or_default();
        let live = |x: u32| self.live_user.get(x as usize) == Some(&true);
        let mut want_existing: Vec<u32> = Vec::new();
        let mut want_new: Vec<(usize, u32)> = Vec::new();
        let mut restores: Vec<usize> = Vec::new();
        let mut new_pos: Vec<u32> = Vec::new();
        for &ur in rows {
            match self.as_member.get(ur as usize) {
                Some(AsMember::Existing(x)) => want_existing.push(*x),
                Some(AsMember::Restored(x, d)) => {
                    want_existing.push(*x);
                    restores.push(*d as usize);
                }
                Some(AsMember::New(d, p)) => {
                    want_new.push((*d as usize, ur));
                    new_pos.push(*p);
                }
                _ => {}
            }
        }
        want_existing.sort_unstable();
        want_existing.dedup();
        let current: Vec<u32> = target
            .map(|x| {
                base.members(x)
                    .iter()
                    .copied()
                    .filter(|&u| self.restoring(u).is_some() || live(u))
                    .collect()
            })
            .unwrap_or_default();
        let (add, remove) = sorted_difference(&want_existing, &current);
        let ig = target.and_then(|x| base.group(x));
        let iname = inst.input.name.as_str();
        let mut out = MemberDrafts {
            add: None,
            remove: None,
            removed: Vec::new(),
        };
        if !add.is_empty() || !want_new.is_empty() {
            let mut a = group_action(
                Op::AddMembers,
                iname,
                ig,
                g,
                &name,
                base,
                target.unwrap_or(0),
            );
            a.rule = "members.add".into();
            a.reason = format!(
                "direct members of the AD group {} that are synchronized users but not members in IIJ ID",
                g.dn
            );
            let mut members: Vec<(MemberRef, Option<usize>)> = Vec::new();
            members.extend(
                add.iter()
                    .filter_map(|x| base.user(*x))
                    .map(|u| (existing_member(u), None)),
            );
            for ((d, ur), p) in want_new.iter().zip(&new_pos) {
                let Some(au) = ad.users.get(*ur as usize) else {
                    continue;
                };
                let display = inst
                    .keys
                    .get(*p as usize)
                    .and_then(|k| k.user_name.as_deref())
                    .unwrap_or(au.label())
                    .to_string();
                members.push((
                    MemberRef {
                        value: None,
                        created_by: None,
                        display,
                        object_guid: Some(au.object_guid.to_string()),
                    },
                    Some(*d),
                ));
            }
            let mut draft = draft_of(a, &name);
            draft.target_action = create;
            draft.deps.extend(create);
            draft.deps.extend(want_new.iter().map(|(d, _)| *d));
            draft.deps.extend(restores.iter().copied());
            draft.members = members;
            out.add = Some(draft);
        }
        if let (false, Some(ig)) = (remove.is_empty(), ig) {
            let mut a = group_action(
                Op::RemoveMembers,
                iname,
                Some(ig),
                g,
                &name,
                base,
                target.unwrap_or(0),
            );
            a.rule = "members.remove".into();
            a.reason = format!(
                "IIJ ID members that are not (or no longer) synchronized direct members of the AD group {}",
                g.dn
            );
            let members: Vec<(MemberRef, Option<usize>)> = remove
                .iter()
                .filter_map(|x| base.user(*x))
                .map(|u| (existing_member(u), None))
                .collect();
            let mut draft = draft_of(a, &name);
            draft.members = members;
            draft
                .deps
                .extend(remove.iter().filter_map(|&x| self.restoring(x)));
            out.remove = Some(draft);
            out.removed = remove;
        }
        (out.add.is_some() || out.remove.is_some()).then_some(out)
    }
}

/// A member reference to a user that exists in IIJ ID.
fn existing_member(u: &IidUser) -> MemberRef {
    MemberRef {
        value: Some(u.id.clone()),
        created_by: None,
        display: u.user_name.clone(),
        object_guid: None,
    }
}

/// `a - b` and `b - a` of two sorted, duplicate-free lists, each sorted.
fn sorted_difference(a: &[u32], b: &[u32]) -> (Vec<u32>, Vec<u32>) {
    let (mut only_a, mut only_b) = (Vec::new(), Vec::new());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => {
                only_a.push(a[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                only_b.push(b[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
            }
        }
    }
    only_a.extend_from_slice(&a[i..]);
    only_b.extend_from_slice(&b[j..]);
    (only_a, only_b)
}

/// Why an owned IIJ ID group has no AD group: the names of every AD group of the instance
/// (in scope or not) and of the previous AD snapshot, lowercased, built once.
struct OrphanGroups<'i> {
    inst: &'i Inst<'i>,
    current: Option<BTreeSet<String>>,
    previous: Option<BTreeSet<String>>,
}

impl<'i> OrphanGroups<'i> {
    fn new(inst: &'i Inst<'i>) -> Self {
        OrphanGroups {
            inst,
            current: None,
            previous: None,
        }
    }

    fn reason(&mut self, name: &str) -> (&'static str, String) {
        let inst = self.inst;
        let iname = inst.input.name.as_str();
        let key = name.to_lowercase();
        let names = |groups: &[AdGroup]| -> BTreeSet<String> {
            groups
                .iter()
                .filter(|g| !g.is_deleted)
                .filter_map(|g| inst.mapper.group_name(g))
                .map(|n| n.to_lowercase())
                .collect()
        };
        let current = self
            .current
            .get_or_insert_with(|| names(inst.input.ad.groups));
        if current.contains(&key) {
            return (
                "out_of_scope",
                format!(
                    "the AD group named {name:?} left the sync scope (ad.ldap.filter.group of instance {iname}); Directory Sync deletes its IIJ ID group (groups have no pending deletion)"
                ),
            );
        }
        let previous = self.previous.get_or_insert_with(|| {
            inst.prev
                .as_ref()
                .map(|h| names(h.snap.groups))
                .unwrap_or_default()
        });
        if previous.contains(&key) {
            return (
                "deleted",
                format!(
                    "the AD group {name:?} was in the previous AD snapshot and is gone: deleted in AD; Directory Sync deletes its IIJ ID group"
                ),
            );
        }
        (
            "orphan",
            format!(
                "no AD group in the scope of instance {iname} is named {name:?}; Directory Sync deletes the IIJ ID groups its SCIM filter selects and its AD lacks"
            ),
        )
    }
}

fn group_digest(base: &IidIndex<'_>, x: u32) -> String {
    let (Some(g), Some(cell)) = (base.group(x), base.group_digests.get(x as usize)) else {
        return String::new();
    };
    cell.get_or_init(|| {
        let mut uuids: Vec<[u8; 16]> = Vec::new();
        for u in base.members(x) {
            match base.user_keys.get(*u as usize) {
                Some(Key::Uuid(b)) => uuids.push(*b),
                _ => {
                    uuids.clear();
                    break;
                }
            }
        }
        if uuids.len() == base.members(x).len() {
            return digest::group_digest_uuids(g, &mut uuids);
        }
        let ids: Vec<&str> = base
            .members(x)
            .iter()
            .filter_map(|u| base.user(*u).map(|u| u.id.as_str()))
            .collect();
        digest::group_digest(g, &ids)
    })
    .clone()
}

fn group_action(
    op: Op,
    iname: &str,
    ig: Option<&IidGroup>,
    g: &AdGroup,
    name: &str,
    base: &IidIndex<'_>,
    x: u32,
) -> Action {
    let mut keys = keys_of_ad_group(g);
    if let Some(ig) = ig {
        keys.insert("id", ig.id.clone());
    }
    let (method, path) = match (op, ig) {
        (Op::CreateGroup, _) => ("POST".to_string(), "Groups".to_string()),
        (_, Some(ig)) => ("PATCH".to_string(), format!("Groups/{}", ig.id)),
        (_, None) => ("PATCH".to_string(), "Groups/{id}".to_string()),
    };
    Action {
        seq: 0,
        op,
        resource: Resource::Group,
        instance: iname.to_string(),
        target: ig.map(|g| g.id.clone()),
        target_action: None,
        user_name: None,
        display_name: Some(name.to_string()),
        external_id: ig.and_then(|g| g.external_id.clone()),
        keys,
        matched_by: None,
        rule: String::new(),
        reason: String::new(),
        changes: Vec::new(),
        request: Request { method, path },
        operations: Vec::new(),
        body: None,
        members: Vec::new(),
        depends_on: Vec::new(),
        state_digest: ig.map(|_| group_digest(base, x)),
    }
}

/// Normal mode: what differs between the cache and the live tenant, and which requests will
/// fail on the live tenant.
fn normal_mode_checks(ctx: &mut Ctx, insts: &[Inst<'_>], base: &IidIndex<'_>, live: &IidIndex<'_>) {
    let owned_by = |x: usize| {
        insts
            .iter()
            .find(|i| i.owned_users.get(x).copied().unwrap_or(false))
    };
    for (x, c) in base.users.iter().enumerate() {
        let Some(inst) = owned_by(x) else { continue };
        let iname = inst.input.name.as_str();
        match live.user_by_id(&c.id).and_then(|i| live.user(i)) {
            // Pending deletion in the cache and not listed live: IIJ ID hides such users
            // over SCIM (assumption MK2), so their absence says nothing.
            None if c.pending_deletion => {}
            None => ctx.finding(
                codes::CONSOLE_DRIFT,
                Severity::Warning,
                Some(iname),
                user_subject(&c.user_name),
                keys_of_iid(&c.id),
                format!(
                    "the IIJ ID user {} (id {}) that the last sync wrote is gone from the live tenant (deleted in the console?)",
                    c.user_name, c.id
                ),
                "run Directory Sync in recovery mode (it rebuilds the cache from the live tenant); review this plan in --mode recovery first".into(),
                Confidence::High,
                Vec::new(),
            ),
            Some(l) => {
                let changes = drift(inst, c, l);
                if !changes.is_empty() {
                    ctx.finding(
                        codes::CONSOLE_DRIFT,
                        Severity::Warning,
                        Some(iname),
                        user_subject(&c.user_name),
                        keys_of_iid(&c.id),
                        format!(
                            "the IIJ ID user {} differs from what the last sync wrote (edited in the console): {}",
                            c.user_name,
                            describe_changes(&changes)
                        ),
                        "run Directory Sync in recovery mode so it re-reads the tenant (normal mode keeps sending requests computed from the stale cache); the precautions ask not to edit synchronized users in the console".into(),
                        Confidence::High,
                        Vec::new(),
                    );
                }
            }
        }
    }
    for l in live.users {
        if base.user_by_id(&l.id).is_some() {
            continue;
        }
        let Some(inst) = insts.iter().find(|i| {
            owned(i.iid_user_filter.as_ref(), || {
                user_json(l, &i.mapper.profile)
            })
        }) else {
            continue;
        };
        ctx.finding(
            codes::CONSOLE_DRIFT,
            Severity::Warning,
            Some(&inst.input.name),
            user_subject(&l.user_name),
            keys_of_iid(&l.id),
            format!(
                "the IIJ ID user {} (id {}) exists in the live tenant but not in the last-known state: created outside Directory Sync since the last sync",
                l.user_name, l.id
            ),
            "run recovery mode so Directory Sync learns about it (it then adopts or deletes it according to AD)".into(),
            Confidence::High,
            Vec::new(),
        );
    }
    for (x, c) in base.groups.iter().enumerate() {
        let Some(inst) = insts
            .iter()
            .find(|i| i.owned_groups.get(x).copied().unwrap_or(false))
        else {
            continue;
        };
        let Some(li) = live.group_by_id(&c.id) else {
            ctx.finding(
                codes::CONSOLE_DRIFT,
                Severity::Warning,
                Some(&inst.input.name),
                group_subject(&c.display_name),
                keys_of_iid(&c.id),
                format!(
                    "the IIJ ID group {} (id {}) that the last sync wrote is gone from the live tenant",
                    c.display_name, c.id
                ),
                "run Directory Sync in recovery mode".into(),
                Confidence::High,
                Vec::new(),
            );
            continue;
        };
        let Some(l) = live.group(li) else { continue };
        let mut diffs = Vec::new();
        if l.display_name != c.display_name {
            diffs.push(format!(
                "displayName: {} → {}",
                c.display_name, l.display_name
            ));
        }
        let ids = |idx: &IidIndex<'_>, g: u32| -> BTreeSet<String> {
            idx.members(g)
                .iter()
                .filter_map(|u| idx.user(*u).map(|u| u.id.clone()))
                .collect()
        };
        let (cm, lm) = (ids(base, x as u32), ids(live, li));
        if cm != lm {
            diffs.push(format!(
                "members: {} added, {} removed",
                lm.difference(&cm).count(),
                cm.difference(&lm).count()
            ));
        }
        if !diffs.is_empty() {
            ctx.finding(
                codes::CONSOLE_DRIFT,
                Severity::Warning,
                Some(&inst.input.name),
                group_subject(&c.display_name),
                keys_of_iid(&c.id),
                format!(
                    "the IIJ ID group {} differs from what the last sync wrote: {}",
                    c.display_name,
                    diffs.join("; ")
                ),
                "run Directory Sync in recovery mode".into(),
                Confidence::High,
                Vec::new(),
            );
        }
    }
    // Requests computed from the cache, checked against the live tenant.
    let mut found_all = Vec::new();
    for (id, d) in ctx.drafts.iter().enumerate() {
        let a = &d.action;
        let gone = match (a.resource, a.target.as_deref()) {
            (Resource::User, Some(t)) => live.user_by_id(t).is_none(),
            (Resource::Group, Some(t)) => live.group_by_id(t).is_none(),
            _ => false,
        };
        let mut found: Vec<(&str, String, String)> = Vec::new();
        if gone {
            found.push((
                codes::LIVE_NOT_FOUND,
                format!(
                    "{} targets {} {} (id {}), which the cache has but the live tenant does not: the request will fail with 404",
                    a.op,
                    a.resource.as_str(),
                    a.user_name.clone().or(a.display_name.clone()).unwrap_or_default(),
                    a.target.clone().unwrap_or_default()
                ),
                "run recovery mode (the cache is stale)".into(),
            ));
        }
        for (m, _) in &d.members {
            if let Some(v) = &m.value
                && live.user_by_id(v).is_none()
            {
                found.push((
                    codes::LIVE_NOT_FOUND,
                    format!(
                        "{} names the member {} (id {v}), which the live tenant no longer has: the request will fail",
                        a.op, m.display
                    ),
                    "run recovery mode (the cache is stale)".into(),
                ));
            }
        }
        match a.op {
            Op::CreateUser => {
                let name_taken = a
                    .user_name
                    .as_deref()
                    .map(|n| live.by_user_name.get(&Ci(n)))
                    .unwrap_or_default();
                let ext_taken = a
                    .external_id
                    .as_deref()
                    .map(|e| live.by_external_id.get(&e))
                    .unwrap_or_default();
                for (attr, hits) in [("userName", name_taken), ("externalId", ext_taken)] {
                    if let Some(u) = hits.first().and_then(|i| live.user(i)) {
                        found.push((
                            codes::LIVE_UNIQUENESS_CONFLICT,
                            format!(
                                "create_user {} will fail with 409: the live tenant already has this {attr} on user {} (id {}{}), which the cache does not know",
                                a.user_name.clone().unwrap_or_default(),
                                u.user_name,
                                u.id,
                                if u.pending_deletion {
                                    ", pending deletion"
                                } else {
                                    ""
                                }
                            ),
                            "run recovery mode, which matches existing users by externalId / userName instead of creating them".into(),
                        ));
                    }
                }
            }
            Op::CreateGroup => {
                if let Some(g) = a.display_name.as_deref().and_then(|n| {
                    live.group_by_name
                        .get(&Ci(n))
                        .first()
                        .and_then(|i| live.group(i))
                }) {
                    found.push((
                        codes::LIVE_UNIQUENESS_CONFLICT,
                        format!(
                            "create_group {} will fail with 409: the live tenant already has a group with that name (id {})",
                            g.display_name, g.id
                        ),
                        "run recovery mode".into(),
                    ));
                }
            }
            _ => {}
        }
        let subject = match a.resource {
            Resource::User => user_subject(a.user_name.as_deref().unwrap_or_default()),
            Resource::Group => group_subject(a.display_name.as_deref().unwrap_or_default()),
        };
        for (code, message, remediation) in found {
            found_all.push((
                Finding {
                    code: code.to_string(),
                    severity: Severity::Error,
                    instance: Some(a.instance.clone()),
                    subject: subject.clone(),
                    keys: a.keys.clone(),
                    message,
                    remediation,
                    confidence: Confidence::High,
                    actions: Vec::new(),
                    allowed: false,
                },
                vec![id],
            ));
        }
    }
    ctx.findings.extend(found_all);
}

fn drift(inst: &Inst<'_>, cache: &IidUser, live: &IidUser) -> Vec<Change> {
    let (rc, rl) = (LazyJson::new(&cache.raw), LazyJson::new(&live.raw));
    let mut out = Vec::new();
    for attr in &inst.mapper.managed {
        let (Some(a), Some(b)) = (
            inst.mapper.current(attr, cache, &rc),
            inst.mapper.current(attr, live, &rl),
        ) else {
            continue;
        };
        let (a, b) = (normalized(&a), normalized(&b));
        if a != b {
            out.push(Change {
                attribute: attr.label(),
                old: a,
                new: b,
            });
        }
    }
    if cache.active != live.active {
        out.push(Change {
            attribute: "active".into(),
            old: Value::Bool(cache.active),
            new: Value::Bool(live.active),
        });
    }
    if cache.pending_deletion != live.pending_deletion {
        out.push(Change {
            attribute: "pendingDeletion".into(),
            old: Value::Bool(cache.pending_deletion),
            new: Value::Bool(live.pending_deletion),
        });
    }
    out
}

fn exceeds(t: Threshold, count: u64, population: u64) -> bool {
    match t {
        Threshold::Count(n) => count > n,
        Threshold::Percent(p) => population > 0 && (count as f64) * 100.0 > p * population as f64,
    }
}

fn show_threshold(t: Threshold) -> String {
    match t {
        Threshold::Count(n) => n.to_string(),
        Threshold::Percent(p) => format!("{p}%"),
    }
}

type Check<'s> = (&'s str, Threshold, u64, u64, Vec<usize>, String);

fn thresholds(
    ctx: &mut Ctx,
    inputs: &Inputs<'_>,
    insts: &[Inst<'_>],
    base: &IidIndex<'_>,
    us: &UsersState,
) {
    let allowed = |cat: &str| {
        inputs
            .allow_thresholds
            .iter()
            .any(|a| a == cat || a == "all")
    };
    for (ii, inst) in insts.iter().enumerate() {
        let iname = inst.input.name.as_str();
        let t = &inst.input.config.dirsnap.thresholds;
        let mine = |op: Op| -> Vec<usize> {
            ctx.drafts
                .iter()
                .enumerate()
                .filter(|(_, d)| d.action.op == op && d.action.instance == iname)
                .map(|(i, _)| i)
                .collect()
        };
        let owned_live: Vec<&IidUser> = base
            .users
            .iter()
            .enumerate()
            .filter(|(x, u)| inst.owned_users[*x] && !u.pending_deletion)
            .map(|(_, u)| u)
            .collect();
        let owned_active = owned_live.iter().filter(|u| u.active).count() as u64;
        let owned_groups = inst.owned_groups.iter().filter(|o| **o).count() as u64;
        let mut checks: Vec<Check<'_>> = Vec::new();
        let pd = mine(Op::PendingDeleteUser);
        checks.push((
            "pending_deletions",
            t.pending_deletions,
            pd.len() as u64,
            owned_live.len() as u64,
            pd,
            "users put into pending deletion".into(),
        ));
        let dis = mine(Op::DisableUser);
        checks.push((
            "disables",
            t.disables,
            dis.len() as u64,
            owned_active,
            dis,
            "users disabled".into(),
        ));
        let gd = mine(Op::DeleteGroup);
        checks.push((
            "group_deletes",
            t.group_deletes,
            gd.len() as u64,
            owned_groups,
            gd,
            "groups deleted".into(),
        ));
        for id in mine(Op::RemoveMembers) {
            let Some(d) = ctx.drafts.get(id) else {
                continue;
            };
            let count = d.members.len() as u64;
            let population = d
                .action
                .target
                .as_deref()
                .and_then(|t| base.group_by_id(t))
                .map_or(0, |x| base.members(x).len() as u64);
            let name = d.action.display_name.clone().unwrap_or_default();
            checks.push((
                "member_removals_per_group",
                t.member_removals_per_group,
                count,
                population,
                vec![id],
                format!("members removed from group {name}"),
            ));
        }
        if let Some(shrink) = t.source_shrink {
            let now = us.in_scope[ii] as u64;
            let (before, what) = match &inst.prev {
                Some(h) => (h.in_scope_users as u64, "the previous AD snapshot"),
                None => (
                    owned_live.len() as u64,
                    "the IIJ ID users this instance owns",
                ),
            };
            let lost = before.saturating_sub(now);
            checks.push((
                "source_shrink",
                shrink,
                lost,
                before,
                Vec::new(),
                format!("fewer AD users in scope ({now} now, {before} in {what})"),
            ));
        }
        for (cat, thr, count, population, acts, what) in checks {
            if !exceeds(thr, count, population) {
                continue;
            }
            let is_allowed = allowed(cat);
            let pct = if population > 0 {
                format!(
                    " ({:.1}% of {population})",
                    count as f64 * 100.0 / population as f64
                )
            } else {
                String::new()
            };
            ctx.findings.push((
                Finding {
                    code: codes::THRESHOLD_EXCEEDED.into(),
                    severity: Severity::Error,
                    instance: Some(iname.into()),
                    subject: format!("threshold {cat}"),
                    keys: Keys::new(),
                    message: format!(
                        "{count} {what}{pct} exceeds dirsnap.thresholds.{cat} = {}{}",
                        show_threshold(thr),
                        if is_allowed {
                            "; explicitly allowed with --allow-threshold"
                        } else {
                            ""
                        }
                    ),
                    remediation: format!(
                        "review the actions; if they are intended, re-run with --allow-threshold {cat} (or raise dirsnap.thresholds.{cat}); if not, fix the AD filter or config change that causes them"
                    ),
                    confidence: Confidence::High,
                    actions: Vec::new(),
                    allowed: is_allowed,
                },
                acts,
            ));
        }
    }
}

fn token_check(ctx: &mut Ctx, inputs: &Inputs<'_>, exp: DateTime<Utc>) {
    let days = inputs
        .instances
        .first()
        .and_then(|i| crate::profile::Profile::from_config("", &i.config.dirsnap.profile).ok())
        .map_or(14, |(p, _)| p.token_warning_days);
    let left = exp - inputs.as_of;
    let (severity, message) = if left <= chrono::Duration::zero() {
        (
            Severity::Error,
            format!(
                "the IIJ ID access token expired at {} (before {}, the time this plan reasons at); Directory Sync and replay will fail",
                exp.to_rfc3339(),
                inputs.as_of.to_rfc3339()
            ),
        )
    } else if left <= chrono::Duration::days(days) {
        (
            Severity::Warning,
            format!(
                "the IIJ ID access token expires at {}, {} days after {}; a sync or replay after that fails",
                exp.to_rfc3339(),
                left.num_days(),
                inputs.as_of.to_rfc3339()
            ),
        )
    } else {
        return;
    };
    ctx.finding(
        codes::TOKEN_EXPIRING,
        severity,
        None,
        "IIJ ID access token".into(),
        Keys::new(),
        message,
        "issue a new token in IIJ ID Console (My Menu → Access Token Management; scopes escim_read_users, escim_write_users, escim_read_groups, escim_write_groups), put it in secret.yml, and run recovery_mode_dry_run to confirm".into(),
        Confidence::High,
        Vec::new(),
    );
}

/// The rows whose DN differs from their row in the previous snapshot, with that row.
fn moved<'r, R: 'r>(
    rows: impl Iterator<Item = &'r R>,
    previous: impl Fn(&R) -> Option<&'r R>,
    dn: fn(&R) -> &str,
) -> Vec<(&'r R, &'r R)> {
    rows.filter_map(|r| {
        previous(r)
            .filter(|p| crate::entry::norm_dn(dn(p)) != crate::entry::norm_dn(dn(r)))
            .map(|p| (r, p))
    })
    .collect()
}

fn dn_changes(ctx: &mut Ctx, insts: &[Inst<'_>]) {
    for inst in insts {
        let Some(h) = &inst.prev else { continue };
        let ad = &inst.input.ad;
        // (subject, keys, message, remediation) of each moved object.
        let mut found: Vec<(String, Keys, String, &str)> = Vec::new();
        let users = inst
            .users_in_scope
            .iter()
            .filter_map(|&r| ad.users.get(r as usize));
        let prev_user = |u: &AdUser| {
            let &i = h.user_by_key.get(&Key::of_guid(&u.object_guid))?;
            h.snap.users.get(i as usize)
        };
        for (u, p) in moved(users, prev_user, |u| &u.dn) {
            found.push((
                user_subject(u.label()),
                keys_of_ad(u),
                format!(
                    "the AD user's DN changed from {} to {} (moved or renamed); it is the same object (objectGUID {}), so its IIJ ID user and group memberships follow it",
                    p.dn, u.dn, u.object_guid
                ),
                "nothing to do; if group membership in IIJ ID looks wrong after a sync that ran during the move, run Directory Sync again (precautions)",
            ));
        }
        let groups = inst
            .groups_in_scope
            .iter()
            .filter_map(|&r| ad.groups.get(r as usize));
        let prev_group = |g: &AdGroup| {
            let &i = h.group_by_key.get(&Key::of_guid(&g.object_guid))?;
            h.snap.groups.get(i as usize)
        };
        for (g, p) in moved(groups, prev_group, |g| &g.dn) {
            found.push((
                group_subject(g.label()),
                keys_of_ad_group(g),
                format!(
                    "the AD group's DN changed from {} to {}; it is the same object (objectGUID {})",
                    p.dn, g.dn, g.object_guid
                ),
                "nothing to do; run Directory Sync again if memberships were synced during the move",
            ));
        }
        for (subject, keys, message, remediation) in found {
            ctx.finding(
                codes::DN_CHANGED,
                Severity::Info,
                Some(&inst.input.name),
                subject,
                keys,
                message,
                remediation.into(),
                Confidence::High,
                Vec::new(),
            );
        }
    }
}

fn finish(mut ctx: Ctx, inputs: &Inputs<'_>, insts: &[Inst<'_>]) -> Plan {
    dn_changes(&mut ctx, insts);
    // Deterministic order: by op, instance, name, keys; seqs are 1-based in that order,
    // which is also a valid execution order (dependencies always point backwards).
    let full = |a: usize, b: usize| {
        let (x, y) = (&ctx.drafts[a], &ctx.drafts[b]);
        (
            x.action.op.rank(),
            &x.action.instance,
            &x.sort_name,
            &x.action.keys,
            &x.action.target,
            a,
        )
            .cmp(&(
                y.action.op.rank(),
                &y.action.instance,
                &y.sort_name,
                &y.action.keys,
                &y.action.target,
                b,
            ))
    };
    // Sorted by compact keys first (op rank, instance's rank, the name's first eight bytes):
    // order-preserving, so the full comparison only breaks their ties — sorting hundreds of
    // thousands of drafts then rarely touches the drafts themselves.
    let mut names: Vec<&str> = ctx
        .drafts
        .iter()
        .map(|d| d.action.instance.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    let mut keyed: Vec<(u64, u64, usize)> = ctx
        .drafts
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let inst = names
                .binary_search(&d.action.instance.as_str())
                .unwrap_or(0) as u64;
            let mut p = [0u8; 8];
            for (slot, b) in p.iter_mut().zip(d.sort_name.bytes()) {
                *slot = b;
            }
            (
                ((d.action.op.rank() as u64) << 32) | inst,
                u64::from_be_bytes(p),
                i,
            )
        })
        .collect();
    keyed.sort_unstable_by(|x, y| (x.0, x.1).cmp(&(y.0, y.1)).then_with(|| full(x.2, y.2)));
    let order: Vec<usize> = keyed.into_iter().map(|(_, _, i)| i).collect();
    drop(names);
    let mut seq_of = vec![0u32; ctx.drafts.len()];
    for (i, &d) in order.iter().enumerate() {
        seq_of[d] = (i + 1) as u32;
    }
    let seq = |d: usize| seq_of.get(d).copied().unwrap_or(0);
    // Drafts put in plan order in place, then turned into actions in place: a plan of
    // hundreds of thousands of actions is never held twice.
    let mut drafts = ctx.drafts;
    permute(&mut drafts, order.clone());
    // Seqs, dependencies and member operations, side by side; then each draft becomes its
    // action in place.
    crate::par::for_each_mut(&mut drafts, |i, draft| {
        let a = &mut draft.action;
        a.seq = order.get(i).map_or(0, |&d| seq(d));
        let mut deps: Vec<u32> = draft
            .deps
            .iter()
            .map(|&x| seq(x))
            .filter(|&s| s != 0 && s < a.seq)
            .collect();
        deps.sort_unstable();
        deps.dedup();
        a.depends_on = deps;
        a.target_action = draft.target_action.map(seq);
        if a.target.is_none()
            && let Some(t) = a.target_action
        {
            a.request.path = format!("Groups/action:{t}");
        }
        draft
            .members
            .sort_by(|x, y| (&x.0.display, &x.0.value).cmp(&(&y.0.display, &y.0.value)));
        let members: Vec<MemberRef> = std::mem::take(&mut draft.members)
            .into_iter()
            .map(|(mut m, created)| {
                m.created_by = created.map(seq);
                m
            })
            .collect();
        if matches!(a.op, Op::AddMembers | Op::RemoveMembers) {
            a.operations = member_ops(a.op, &members);
        }
        a.members = members;
    });
    drop(order);
    let actions: Vec<Action> = drafts.into_iter().map(|d| d.action).collect();
    let mut findings: Vec<Finding> = ctx
        .findings
        .into_iter()
        .map(|(mut f, acts)| {
            let mut s: Vec<u32> = acts.into_iter().map(seq).filter(|s| *s != 0).collect();
            s.sort_unstable();
            s.dedup();
            f.actions = s;
            f
        })
        .collect();
    findings.sort_by(|a, b| {
        (a.severity, &a.code, &a.instance, &a.subject, &a.message).cmp(&(
            b.severity,
            &b.code,
            &b.instance,
            &b.subject,
            &b.message,
        ))
    });
    findings.dedup();
    let mut skipped = ctx.skipped;
    skipped.sort_by(|a, b| {
        (a.resource, &a.instance, &a.name, &a.keys, &a.reason).cmp(&(
            b.resource,
            &b.instance,
            &b.name,
            &b.keys,
            &b.reason,
        ))
    });
    skipped.dedup();
    let mut notes = ctx.notes;
    notes.sort();
    notes.dedup();
    let instances = insts
        .iter()
        .map(|i| {
            let c = i.input.config;
            InstanceInfo {
                name: i.input.name.clone(),
                domain: i.input.ad.domain.map(str::to_string),
                config_digest: c.digest(),
                config_source: i.input.config_source.clone(),
                ad_user_filter: c.ad.user_filter.as_ref().map(|f| f.value.clone()),
                ad_group_filter: c.ad.group_filter.as_ref().map(|f| f.value.clone()),
                iid_user_filter: c.iid.user_filter.as_ref().map(|f| f.value.clone()),
                iid_group_filter: c.iid.group_filter.as_ref().map(|f| f.value.clone()),
            }
        })
        .collect();
    let mut input_digests = inputs.input_digests.clone();
    input_digests.sort();
    let mut plan = Plan {
        schema_version: PLAN_SCHEMA_VERSION,
        mode: inputs.mode,
        as_of: inputs.as_of,
        instances,
        inputs: input_digests,
        summary: Default::default(),
        findings,
        actions,
        skipped,
        notes,
    };
    plan.summarize();
    plan
}

/// Reorders `items` so that position `i` holds what was at `order[i]` (a permutation),
/// by following its cycles with swaps.
fn permute<T>(items: &mut [T], mut order: Vec<usize>) {
    const DONE: usize = usize::MAX;
    for i in 0..order.len() {
        if order[i] == DONE {
            continue;
        }
        let mut j = i;
        loop {
            let k = std::mem::replace(&mut order[j], DONE);
            if k == i || k == DONE || k >= items.len() {
                break;
            }
            items.swap(j, k);
            j = k;
        }
    }
}

/// PATCH operations of a member action; members created by the plan are written
/// `action:N` (the replayer substitutes the created id).
fn member_ops(op: Op, members: &[MemberRef]) -> Vec<PatchOp> {
    let value_of = |m: &MemberRef| -> String {
        m.value
            .clone()
            .unwrap_or_else(|| format!("action:{}", m.created_by.unwrap_or(0)))
    };
    match op {
        Op::AddMembers => vec![PatchOp {
            op: "add".into(),
            path: Some("members".into()),
            value: Some(Value::Array(
                members
                    .iter()
                    .map(|m| json!({"value": value_of(m)}))
                    .collect(),
            )),
        }],
        _ => members
            .iter()
            .map(|m| PatchOp {
                op: "remove".into(),
                path: Some(format!("members[value eq \"{}\"]", value_of(m))),
                value: None,
            })
            .collect(),
    }
}

/// Which `raw` columns the engine needs for this config and AD snapshot, so callers read
/// with `ReadOptions { skip_raw }` whenever they can (raw is most of a snapshot's bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawNeeds {
    pub ad: bool,
    pub iid: bool,
    /// AD user columns the engine will not read (empty when `ad`: filters or raw-bound
    /// attributes may read any column).
    pub ad_unused: Vec<&'static str>,
}

pub fn raw_needs(config: &DsConfig, export: &Filters) -> Result<RawNeeds, ReconcileError> {
    let mapper = Mapper::new(config)?;
    let differs = |cfg: &Option<dirsnap_config::Located<String>>, exp: &Option<String>| -> bool {
        match (cfg, exp) {
            (None, _) => false,
            (Some(c), Some(e)) => match (
                dirsnap_filter::ldap::parse(&c.value),
                dirsnap_filter::ldap::parse(e),
            ) {
                (Ok(a), Ok(b)) => a != b,
                _ => true,
            },
            (Some(_), None) => true,
        }
    };
    let typed_group_name = ["cn", "displayname", "samaccountname", "mail"].contains(
        &mapper
            .profile
            .group_name_attribute
            .to_ascii_lowercase()
            .as_str(),
    );
    let ad = mapper.needs_ad_raw
        || differs(&config.ad.user_filter, &export.user)
        || differs(&config.ad.group_filter, &export.group)
        || !typed_group_name;
    Ok(RawNeeds {
        ad,
        ad_unused: if ad {
            Vec::new()
        } else {
            mapper.unused_ad_columns()
        },
        iid: mapper.needs_iid_raw
            || config.iid.user_filter.is_some()
            || config.iid.group_filter.is_some(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn permute_puts_each_item_where_the_order_says() {
        for order in [
            vec![2usize, 0, 1],
            vec![0, 1, 2, 3],
            vec![3, 2, 1, 0],
            vec![1, 0, 3, 2, 4],
            vec![4, 0, 1, 2, 3],
        ] {
            let items: Vec<String> = (0..order.len()).map(|i| format!("x{i}")).collect();
            let want: Vec<String> = order.iter().map(|&i| items[i].clone()).collect();
            let mut got = items.clone();
            super::permute(&mut got, order.clone());
            assert_eq!(got, want, "{order:?}");
        }
    }

    #[test]
    fn raw_needs_lists_the_ad_columns_nothing_reads() {
        let config = |bind: &str| {
            let yaml = format!(
                "ad:\n  ldap:\n    filter:\n      user: '(objectClass=user)'\n      group: '(objectClass=group)'\niid:\n  scim:\n    attribute:\n      user:\n        ad_bind:\n          userName: userPrincipalName\n{bind}"
            );
            dirsnap_config::parse_config(std::path::Path::new("t.yml"), &yaml).unwrap()
        };
        let exported = dirsnap_model::Filters {
            user: Some("(objectClass=user)".into()),
            group: Some("(objectClass=group)".into()),
        };
        let plain = super::raw_needs(&config(""), &exported).unwrap();
        assert!(!plain.ad);
        for col in [
            "when_created",
            "when_changed",
            "usn_changed",
            "expired",
            "object_sid",
        ] {
            assert!(
                plain.ad_unused.contains(&col),
                "{col}: {:?}",
                plain.ad_unused
            );
        }
        assert!(plain.ad_unused.contains(&"telephone_number"));
        // A bound attribute is read, so its column is decoded.
        let bound = super::raw_needs(
            &config(
                "          externalId: objectSid\n          phoneNumbers.value: telephoneNumber\n",
            ),
            &exported,
        )
        .unwrap();
        assert!(
            !bound.ad_unused.contains(&"object_sid"),
            "{:?}",
            bound.ad_unused
        );
        assert!(
            !bound.ad_unused.contains(&"telephone_number"),
            "{:?}",
            bound.ad_unused
        );
        assert!(bound.ad_unused.contains(&"mobile"));
        // A filter evaluated on the rows may read any attribute: nothing is skipped.
        let narrower = dirsnap_model::Filters {
            user: Some("(objectClass=person)".into()),
            ..exported
        };
        let evaluated = super::raw_needs(&config(""), &narrower).unwrap();
        assert!(evaluated.ad);
        assert!(evaluated.ad_unused.is_empty(), "{:?}", evaluated.ad_unused);
    }

    #[test]
    fn sorted_difference_is_both_set_differences() {
        let (a, b) = super::sorted_difference(&[1, 3, 5, 7], &[2, 3, 7, 9]);
        assert_eq!(a, vec![1, 5]);
        assert_eq!(b, vec![2, 9]);
        assert_eq!(super::sorted_difference(&[], &[4]), (vec![], vec![4]));
    }
}
