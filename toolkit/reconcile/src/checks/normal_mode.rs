//! Normal mode (docs/plan-format.md "Modes"; precautions, "Restrictions on Synchronized Users
//! and Groups of Directory Sync"): Directory Sync's normal mode computes its requests from
//! its cache — the plan does the same from `--previous-iid` — so what was edited in the
//! console since the last sync is invisible to it.
//!
//! * CONSOLE_DRIFT: an owned user or group differs between the cache and the live tenant,
//!   is gone from the tenant, or exists in the tenant but not in the cache.
//! * LIVE_NOT_FOUND: a request targets (or names as a member) an object the live tenant no
//!   longer has: 404.
//! * LIVE_UNIQUENESS_CONFLICT: a create the live tenant will refuse (409): its userName,
//!   externalId or group name is taken there.

use crate::findings;
use crate::ids::{DraftId, IidGroupRow, IidUserRow};
use crate::index::{Ci, IidIndex};
use crate::instance::InstanceState;
use crate::mapping::{LazyJson, normalized};
use crate::pending::PendingEvidence;
use crate::plan_builder::{Draft, DraftFinding, PlanBuilder};
use crate::scope;
use dirsnap_model::IidUserView;
use dirsnap_plan::{Action, Change, Finding, Op, Resource};
use serde_json::Value;
use std::collections::BTreeSet;

/// All normal-mode checks; `base` is the cache, `live` the live tenant.
pub(crate) fn check(
    plan: &mut PlanBuilder,
    instances: &[InstanceState<'_>],
    base: &IidIndex<'_>,
    live: &IidIndex<'_>,
) {
    user_drift(plan, instances, base, live);
    users_created_outside(plan, instances, base, live);
    group_drift(plan, instances, base, live);
    let findings = request_checks(plan.drafts(), live);
    plan.add_findings(findings);
}

/// CONSOLE_DRIFT for owned users of the cache: gone from the tenant, or different there.
fn user_drift(
    plan: &mut PlanBuilder,
    instances: &[InstanceState<'_>],
    base: &IidIndex<'_>,
    live: &IidIndex<'_>,
) {
    for (row, cached) in base.users.iter().enumerate() {
        let Some(inst) = instances.iter().find(|i| i.owns_user(IidUserRow::new(row))) else {
            continue;
        };
        let instance = inst.name();
        // A user the live listing lacks but history or the console's list shows pending is
        // as absent from the listing as any other (PENDING_DELETION_PRESUMED says why).
        let live_row = live
            .user_by_id(cached.id())
            .filter(|&i| live.presumed(i).is_none());
        match live_row.and_then(|i| live.user(i)) {
            // Pending deletion in the cache and not listed live: IIJ ID hides such users
            // over SCIM (assumption MK2), so their absence says nothing.
            None if cached.pending_deletion() => {}
            None => plan.add_finding(
                findings::console_drift_user_gone(instance, cached),
                Vec::new(),
            ),
            Some(live_user) => {
                let changes = drift(inst, cached, live_user);
                if !changes.is_empty() {
                    plan.add_finding(
                        findings::console_drift_user_changed(instance, cached, &changes),
                        Vec::new(),
                    );
                }
            }
        }
    }
}

/// CONSOLE_DRIFT for live users an instance would own that the cache does not have.
fn users_created_outside(
    plan: &mut PlanBuilder,
    instances: &[InstanceState<'_>],
    base: &IidIndex<'_>,
    live: &IidIndex<'_>,
) {
    for (row, live_user) in live.users.iter().enumerate() {
        // Presumed pending users were not created since the last sync: they are not listed.
        if base.user_by_id(live_user.id()).is_some() || live.presumed(row as u32).is_some() {
            continue;
        }
        let Some(inst) = instances.iter().find(|i| {
            scope::owned(i.iid_user_filter.as_ref(), || {
                crate::iid_json::view_json(live_user, &i.mapper.profile)
            })
        }) else {
            continue;
        };
        plan.add_finding(
            findings::console_drift_user_created(inst.name(), live_user),
            Vec::new(),
        );
    }
}

/// CONSOLE_DRIFT for owned groups of the cache: gone from the tenant, renamed or with other
/// members there.
fn group_drift(
    plan: &mut PlanBuilder,
    instances: &[InstanceState<'_>],
    base: &IidIndex<'_>,
    live: &IidIndex<'_>,
) {
    for (row, cached) in base.groups.iter().enumerate() {
        let Some(inst) = instances
            .iter()
            .find(|i| i.owns_group(IidGroupRow::new(row)))
        else {
            continue;
        };
        let Some(live_row) = live.group_by_id(&cached.id) else {
            plan.add_finding(
                findings::console_drift_group_gone(inst.name(), cached),
                Vec::new(),
            );
            continue;
        };
        let Some(live_group) = live.group(live_row) else {
            continue;
        };
        // As the tenant shows the group: without members the listing lacks because they are
        // pending deletion (MK2).
        let member_ids = |index: &IidIndex<'_>, group: u32| -> BTreeSet<String> {
            index
                .members(group)
                .iter()
                .filter(|u| index.presumed(**u).is_none())
                .filter_map(|u| index.user(*u).map(|u| u.id().to_owned()))
                .collect()
        };
        let (cached_members, live_members) =
            (member_ids(base, row as u32), member_ids(live, live_row));
        let drift = findings::GroupDrift {
            renamed_to: (live_group.display_name != cached.display_name)
                .then_some(live_group.display_name.as_str()),
            members: (cached_members != live_members).then(|| {
                (
                    live_members.difference(&cached_members).count(),
                    cached_members.difference(&live_members).count(),
                )
            }),
        };
        if drift.renamed_to.is_some() || drift.members.is_some() {
            plan.add_finding(
                findings::console_drift_group_changed(inst.name(), cached, &drift),
                Vec::new(),
            );
        }
    }
}

/// How an owned user differs between the cache and the live tenant (old = cache, new =
/// live), over the managed attributes, `active` and pending deletion.
fn drift(inst: &InstanceState<'_>, cached: IidUserView<'_>, live: IidUserView<'_>) -> Vec<Change> {
    let (cached_raw, live_raw) = (LazyJson::new(cached.raw()), LazyJson::new(live.raw()));
    let mut changes = Vec::new();
    for attr in &inst.mapper.managed {
        let (Some(old), Some(new)) = (
            inst.mapper.current(attr, cached, &cached_raw),
            inst.mapper.current(attr, live, &live_raw),
        ) else {
            continue;
        };
        let (old, new) = (normalized(&old), normalized(&new));
        if old != new {
            changes.push(Change {
                attribute: attr.label(),
                old,
                new,
            });
        }
    }
    if cached.active() != live.active() {
        changes.push(Change {
            attribute: "active".into(),
            old: Value::Bool(cached.active()),
            new: Value::Bool(live.active()),
        });
    }
    if cached.pending_deletion() != live.pending_deletion() {
        changes.push(Change {
            attribute: "pendingDeletion".into(),
            old: Value::Bool(cached.pending_deletion()),
            new: Value::Bool(live.pending_deletion()),
        });
    }
    changes
}

/// LIVE_NOT_FOUND and LIVE_UNIQUENESS_CONFLICT: each request computed from the cache,
/// against the live tenant, in draft order.
fn request_checks(drafts: &[Draft], live: &IidIndex<'_>) -> Vec<DraftFinding> {
    let mut out = Vec::new();
    for (index, draft) in drafts.iter().enumerate() {
        let action = &draft.action;
        let about = |finding| DraftFinding {
            finding,
            actions: vec![DraftId::new(index)],
        };
        // A user pending deletion that the live listing lacks is hidden over SCIM (MK2):
        // a request to it fails like one to a deleted user.
        let user_visible = |id: &str| -> Result<(), Option<&PendingEvidence>> {
            match live.user_by_id(id) {
                None => Err(None),
                Some(row) => live.presumed(row).map_or(Ok(()), |e| Err(Some(e))),
            }
        };
        let gone = match (action.resource, action.target.as_deref()) {
            (Resource::User, Some(target)) => user_visible(target).err(),
            (Resource::Group, Some(target)) => live.group_by_id(target).is_none().then_some(None),
            _ => None,
        };
        if let Some(evidence) = gone {
            out.push(about(findings::live_target_not_found(action, evidence)));
        }
        for (member, _) in &draft.members {
            if let Some(id) = &member.value
                && let Err(evidence) = user_visible(id)
            {
                out.push(about(findings::live_member_not_found(
                    action, member, id, evidence,
                )));
            }
        }
        match action.op {
            Op::CreateUser => {
                for finding in user_taken(action, live) {
                    out.push(about(finding));
                }
            }
            Op::CreateGroup => {
                if let Some(taken) = action.display_name.as_deref().and_then(|name| {
                    live.group_by_name
                        .get(&Ci(name))
                        .first()
                        .and_then(|row| live.group(row))
                }) {
                    out.push(about(findings::live_group_taken(action, taken)));
                }
            }
            _ => {}
        }
    }
    out
}

/// LIVE_UNIQUENESS_CONFLICT for a create_user whose userName or externalId a live user has.
fn user_taken(action: &Action, live: &IidIndex<'_>) -> Vec<Finding> {
    let name_taken = action
        .user_name
        .as_deref()
        .map(|n| live.by_user_name.get(&Ci(n)))
        .unwrap_or_default();
    let external_id_taken = action
        .external_id
        .as_deref()
        .map(|e| live.by_external_id.get(&e))
        .unwrap_or_default();
    [("userName", name_taken), ("externalId", external_id_taken)]
        .into_iter()
        .filter_map(|(attr, hits)| {
            let row = hits.first()?;
            let taken = live.user(row)?;
            Some(findings::live_user_taken(
                action,
                attr,
                taken,
                live.presumed(row),
            ))
        })
        .collect()
}
