//! GROUP_REPLACED: an IIJ ID group this plan deletes and a group it creates with the same
//! members. Groups are matched by name only (RC2), so an AD group renamed without the previous
//! AD snapshot to tell (`--previous-ad`) — or deleted and made again — becomes delete_group +
//! create_group. Deleting an IIJ ID group deletes its Microsoft 365 group (iij-facts §2,
//! admj/16877844): its address, Teams and site go, and the new group starts empty of them.
//! Only an identical, non-empty set of existing members counts (two unrelated groups rarely
//! share all their members; one or two members could, so those are low confidence).

use crate::findings;
use crate::ids::DraftId;
use crate::index::{IidIndex, Map, map_with_capacity};
use crate::plan_builder::PlanBuilder;
use dirsnap_plan::Op;

/// Groups with fewer members than this are reported with low confidence.
const CONFIDENT_MEMBERS: usize = 3;

pub(crate) fn check(plan: &mut PlanBuilder, base: &IidIndex<'_>) {
    let drafts = plan.drafts();
    // Each deleted group's current members (SCIM ids, sorted), by that list.
    let mut deleted: Map<Vec<&str>, Vec<DraftId>> = map_with_capacity(0);
    for (index, draft) in drafts.iter().enumerate() {
        if draft.action.op != Op::DeleteGroup {
            continue;
        }
        let Some(row) = draft
            .action
            .target
            .as_deref()
            .and_then(|id| base.group_by_id(id))
        else {
            continue;
        };
        let mut members: Vec<&str> = base
            .members(row)
            .iter()
            .filter_map(|&user| base.user(user).map(|u| u.id()))
            .collect();
        if members.is_empty() {
            continue;
        }
        members.sort_unstable();
        members.dedup();
        deleted
            .entry(members)
            .or_default()
            .push(DraftId::new(index));
    }
    if deleted.is_empty() {
        return;
    }
    // Each created group's members, from the add_members planned for it: existing users
    // only (a user this plan creates cannot have been a member of the deleted group).
    let mut replaced = Vec::new();
    for (index, draft) in drafts.iter().enumerate() {
        if draft.action.op != Op::AddMembers {
            continue;
        }
        let Some(created) = draft.target_action else {
            continue;
        };
        if draft.members.iter().any(|(m, _)| m.value.is_none()) {
            continue;
        }
        let mut members: Vec<&str> = draft
            .members
            .iter()
            .filter_map(|(m, _)| m.value.as_deref())
            .collect();
        members.sort_unstable();
        members.dedup();
        if let Some(deletions) = deleted.get(&members) {
            for &deletion in deletions {
                replaced.push((deletion, created, DraftId::new(index), members.len()));
            }
        }
    }
    let found: Vec<_> = replaced
        .into_iter()
        .filter_map(|(deletion, created, added, count)| {
            let old = plan.draft(deletion)?;
            let new = plan.draft(created)?;
            Some((
                findings::group_replaced(
                    &new.action.instance,
                    old.action.display_name.as_deref().unwrap_or_default(),
                    old.action.target.as_deref().unwrap_or_default(),
                    new.action.display_name.as_deref().unwrap_or_default(),
                    count,
                    count >= CONFIDENT_MEMBERS,
                ),
                vec![deletion, created, added],
            ))
        })
        .collect();
    for (finding, actions) in found {
        plan.add_finding(finding, actions);
    }
}
