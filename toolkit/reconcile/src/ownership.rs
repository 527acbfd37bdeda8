//! Ownership and orphans (SPEC §5 "Ownership"; docs/plan-format.md "Ownership" and
//! "Lifecycle (users)"; precautions "Group Synchronization"): an instance only touches the
//! IIJ ID objects its `iid.scim.filter` selects.
//!
//! * An AD object that maps to an object the instance does not own, or would create one its
//!   filter would not select → OWNERSHIP_CONFLICT, skipped.
//! * An owned IIJ ID user no AD user claims → **pending deletion** (never a hard delete),
//!   with the reason history gives (deleted in AD, left the filter scope, or an orphan) —
//!   unless another instance synchronizes it (FOREIGN_USER_DELETE, RC10), a blocked AD user
//!   could be it, or the snapshot is partial (FILTER_WIDER_THAN_SNAPSHOT: skipped).
//!
//! Orphan groups are deleted by the group pass (`groups/orphans.rs`), with the same
//! conflicts and skips from here.

use crate::findings::{self, Counterpart};
use crate::ids::{AdUserRow, DraftId, IidUserRow, InstanceIdx};
use crate::index::{IidIndex, Map, map_with_capacity};
use crate::instance::InstanceState;
use crate::key::Key;
use crate::plan_builder::PlanBuilder;
use crate::users::UserClaim;
use crate::users::actions;
use crate::users::matching::{Matched, find_match};
use dirsnap_model::AdUserView;
use dirsnap_plan::{Keys, Resource};

/// OWNERSHIP_CONFLICT: the AD object `label` (with `keys`) maps to `counterpart`, which the
/// instance does not own; the counterpart is skipped.
pub(crate) fn conflict(
    plan: &mut PlanBuilder,
    instance: &str,
    resource: Resource,
    label: &str,
    keys: Keys,
    counterpart: &Counterpart<'_>,
) {
    let mut keys = keys;
    keys.insert("id", counterpart.id.to_string());
    plan.add_finding(
        findings::ownership_conflict(instance, resource, label, keys.clone(), counterpart),
        Vec::new(),
    );
    plan.skip(findings::skipped::not_owned(
        instance,
        resource,
        counterpart.name,
        keys,
    ));
}

/// An in-scope AD object whose IIJ ID counterpart would not be selected by this instance's
/// SCIM filter once created: the next run would not see it and would try to create it again
/// (409). Left out of the plan.
pub(crate) fn unowned_create(
    plan: &mut PlanBuilder,
    instance: &str,
    resource: Resource,
    label: &str,
    keys: Keys,
) {
    plan.add_finding(
        findings::unowned_create(instance, resource, label, keys.clone()),
        Vec::new(),
    );
    plan.skip(findings::skipped::unowned_create(
        instance, resource, label, keys,
    ));
}

/// FOREIGN_USER_DELETE / FOREIGN_GROUP_DELETE: `instance` would delete the object `name`
/// that instance `other` synchronizes; left out of the plan.
pub(crate) fn foreign_delete(
    plan: &mut PlanBuilder,
    instance: &str,
    other: &str,
    resource: Resource,
    name: &str,
    id: &str,
) {
    plan.add_finding(
        findings::foreign_delete(instance, other, resource, name, id),
        Vec::new(),
    );
    plan.skip(findings::skipped::foreign(
        instance, other, resource, name, id,
    ));
}

/// An owned IIJ ID object with no AD row while the snapshot holds less than the config
/// selects: its AD object may exist outside the snapshot, so it is not deleted.
pub(crate) fn skip_outside_snapshot(
    plan: &mut PlanBuilder,
    instance: &str,
    resource: Resource,
    name: &str,
    id: &str,
) {
    plan.skip(findings::skipped::outside_snapshot(
        instance, resource, name, id,
    ));
}

/// Owned IIJ ID users no AD object claims: deleted in AD or out of scope → pending
/// deletion. `deleting` gets each new pending deletion (and says which users already have
/// one).
pub(crate) fn orphan_users(
    plan: &mut PlanBuilder,
    instances: &[InstanceState<'_>],
    base: &IidIndex<'_>,
    claims: &[UserClaim],
    deleting: &mut [Option<DraftId>],
) {
    for (index, inst) in instances.iter().enumerate() {
        let reasons = orphan_reasons(inst, base);
        let instance = inst.name();
        for (row, iid) in base.users.iter().enumerate() {
            let iid_row = IidUserRow::new(row);
            if !inst.owns_user(iid_row) || iid.pending_deletion() || deleting[row].is_some() {
                continue;
            }
            match claims[row] {
                UserClaim::By(claimant) if claimant == InstanceIdx::new(index) => continue,
                UserClaim::Protected => continue,
                UserClaim::By(other) => {
                    let other = instances.get(other.index()).map_or("?", |i| i.name());
                    foreign_delete(
                        plan,
                        instance,
                        other,
                        Resource::User,
                        iid.user_name(),
                        iid.id(),
                    );
                    continue;
                }
                UserClaim::Unclaimed => {}
            }
            let reason = reasons.get(&iid_row);
            if inst.users_partial && reason.is_none() {
                skip_outside_snapshot(plan, instance, Resource::User, iid.user_name(), iid.id());
                continue;
            }
            let (rule, reason) = reason.cloned().unwrap_or_else(|| {
                (
                    "orphan",
                    format!(
                        "no AD user in the scope of instance {instance} maps to this IIJ ID user (none has its externalId or userName); Directory Sync puts the IIJ ID users its SCIM filter selects and its AD lacks into pending deletion"
                    ),
                )
            });
            let draft = plan.add_draft(actions::pending_delete(inst, iid, rule, reason));
            deleting[row] = Some(draft);
        }
    }
}

/// Why each orphan has no AD object — left the filter scope, deleted in AD (tombstone or
/// gone since the previous snapshot) — as its rule and reason; orphans history says nothing
/// of are absent.
fn orphan_reasons(
    inst: &InstanceState<'_>,
    base: &IidIndex<'_>,
) -> Map<IidUserRow, (&'static str, String)> {
    let mut reasons: Map<IidUserRow, (&'static str, String)> = map_with_capacity(0);
    let ad = &inst.input.ad;
    let instance = inst.name();
    let all_in = inst.users_in_scope.len() == ad.users.iter().filter(|u| !u.is_deleted()).count();
    let in_scope: std::collections::HashSet<AdUserRow> = if all_in {
        std::collections::HashSet::new()
    } else {
        inst.users_in_scope.iter().copied().collect()
    };
    let mut explain = |user: AdUserView<'_>, rule: &'static str, reason: String| {
        let keys = inst.mapper.keys(user);
        if let Matched::One { iid, .. } = find_match(base, &keys) {
            reasons.entry(iid).or_insert((rule, reason));
        }
    };
    for (row, user) in ad.users.iter().enumerate() {
        if user.is_deleted() {
            explain(
                user,
                "deleted",
                format!(
                    "the AD user {} was deleted (tombstone, objectGUID {}); Directory Sync puts its IIJ ID user into pending deletion",
                    user.dn(),
                    user.object_guid()
                ),
            );
        } else if !all_in && !in_scope.contains(&AdUserRow::new(row)) {
            explain(
                user,
                "out_of_scope",
                format!(
                    "the AD user {} left the sync scope (ad.ldap.filter.user of instance {instance} no longer selects it); Directory Sync puts its IIJ ID user into pending deletion",
                    user.dn()
                ),
            );
        }
    }
    if let Some(history) = &inst.history {
        for user in history.snap.users {
            if user.is_deleted()
                || inst
                    .ad_user_by_key
                    .contains_key(&Key::of_guid(user.object_guid()))
            {
                continue;
            }
            explain(
                user,
                "deleted",
                format!(
                    "the AD user {} (objectGUID {}) was in the previous AD snapshot and is gone now: deleted in AD; Directory Sync puts its IIJ ID user into pending deletion",
                    user.dn(),
                    user.object_guid()
                ),
            );
        }
    }
    reasons
}
