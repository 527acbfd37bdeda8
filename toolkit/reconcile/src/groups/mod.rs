//! The group pass (SPEC §5; docs/plan-format.md "Lifecycle (groups)"; precautions "Group
//! Synchronization"): groups are matched by name (`cn`, RC2), never by a stable key, so
//! names decide everything here. In order:
//!
//! 1. [`names`]: two AD groups with one name (any domain, forest or instance) →
//!    GROUP_NAME_COLLISION; none of them is synchronized;
//! 2. [`matching`]: each AD group's IIJ ID group — by its previous name (a rename, from the
//!    previous AD snapshot), else by its name; two candidates or two claimants →
//!    AMBIGUOUS_MATCH;
//! 3. per instance, [`create_rename`] (create_group / update_group), then its member
//!    changes (`membership.rs`);
//! 4. [`orphans`]: owned IIJ ID groups no AD group claims → delete_group (groups have no
//!    pending deletion), unless another instance synchronizes them (FOREIGN_GROUP_DELETE);
//! 5. [`replaced`]: a deleted group and a created one with the same members → GROUP_REPLACED
//!    (a rename the plan could not see, and a Microsoft 365 group deleted).

pub(crate) mod action;
pub(crate) mod attributes;
pub(crate) mod create_rename;
pub(crate) mod matching;
pub(crate) mod names;
pub(crate) mod orphans;
pub(crate) mod replaced;

use crate::ids::{IidGroupRow, InstanceIdx, ScopedGroup};
use crate::index::IidIndex;
use crate::instance::InstanceState;
use crate::membership::{self, MemberPass};
use crate::plan_builder::PlanBuilder;
use crate::users::UsersOutcome;
use std::collections::BTreeSet;

/// AD groups left alone and IIJ ID groups that must not be deleted, as the checks find
/// them.
pub(crate) struct GroupGuards {
    /// In-scope AD groups that are not synchronized (name collision, ambiguous match).
    pub blocked: BTreeSet<ScopedGroup>,
    /// Per base IIJ ID group: one a blocked AD group could be (never deleted as an orphan).
    pub protected: Vec<bool>,
}

impl GroupGuards {
    pub(crate) fn protect(&mut self, group: IidGroupRow) {
        if let Some(slot) = self.protected.get_mut(group.index()) {
            *slot = true;
        }
    }
}

pub(crate) fn plan_groups(
    plan: &mut PlanBuilder,
    instances: &[InstanceState<'_>],
    base: &IidIndex<'_>,
    users: &UsersOutcome,
) {
    let mut guards = names::collisions(plan, instances, base);
    let candidates = matching::match_groups(plan, instances, base, &mut guards);
    let members = MemberPass::new(base, users);
    // Per base IIJ ID group: the instance whose AD group claims it.
    let mut claimed_by: Vec<Option<InstanceIdx>> = vec![None; base.groups.len()];
    let mut nested_total = 0usize;
    for (index, inst) in instances.iter().enumerate() {
        let instance = InstanceIdx::new(index);
        let fates = create_rename::plan_instance(
            plan,
            create_rename::InstanceGroups {
                instance,
                inst,
                base,
                blocked: &guards.blocked,
                candidates: &candidates[index],
            },
            &mut claimed_by,
        );
        nested_total += membership::plan_instance(plan, &members, instance, inst, &fates);
    }
    if nested_total > 0 {
        plan.note(crate::findings::notes::nested_groups_left_out(nested_total));
    }
    orphans::delete_orphans(plan, instances, base, &guards.protected, &claimed_by);
    replaced::check(plan, base);
}
