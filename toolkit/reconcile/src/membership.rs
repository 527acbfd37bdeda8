//! Group membership (SPEC §5; docs/plan-format.md rules `members.add` / `members.remove`):
//! a synchronized group's IIJ ID members are its direct AD members that are synchronized
//! users — by objectGUID, never by DN (precautions, "Restrictions on Changing DNs").
//! Nested groups are neither synchronized nor flattened (a note counts what is left out).
//!
//! Per group, one add_members (depending on the creates and restores it needs) and one
//! remove_members; a user this plan puts into pending deletion is removed first (its pending
//! deletion depends on the removal). Groups are independent, so their member changes are
//! computed on all cores and added in group order.

use crate::groups::action::{GroupTarget, group_action};
use crate::groups::create_rename::GroupFate;
use crate::ids::{
    AdUserRow, DraftId, IidGroupRow, IidUserRow, InScopeGroup, InScopeUser, InstanceIdx,
};
use crate::index::{IidIndex, KeyIndex, Lists, Map, map_with_capacity};
use crate::instance::InstanceState;
use crate::key::Key;
use crate::plan_builder::{Draft, PlanBuilder};
use crate::users::{UserFate, UsersOutcome};
use dirsnap_model::{IidUserView, MemberKind};
use dirsnap_plan::{MemberRef, Op};

/// What the member changes of every instance read about the users.
pub(crate) struct MemberPass<'p, 'a> {
    base: &'p IidIndex<'a>,
    users: &'p UsersOutcome,
    /// Base users not pending deletion. Member lists hit users in random order; a compact
    /// vector instead of the rows keeps those lookups in cache.
    live_user: Vec<bool>,
    /// Users this plan restores from pending deletion (members again afterwards), with the
    /// restoring draft.
    restoring: Map<IidUserRow, DraftId>,
}

impl<'p, 'a> MemberPass<'p, 'a> {
    pub(crate) fn new(base: &'p IidIndex<'a>, users: &'p UsersOutcome) -> Self {
        let mut restoring = map_with_capacity(0);
        for fates in &users.fates {
            for fate in fates {
                if let UserFate::Restored(iid, draft) = fate {
                    restoring.insert(*iid, *draft);
                }
            }
        }
        let live_user = base.users.iter().map(|u| !u.pending_deletion()).collect();
        MemberPass {
            base,
            users,
            live_user,
            restoring,
        }
    }
}

/// Plans the member changes of one instance's synchronized groups (`fates`, per in-scope
/// group). Returns how many nested group memberships were left out.
pub(crate) fn plan_instance(
    plan: &mut PlanBuilder,
    pass: &MemberPass<'_, '_>,
    instance: InstanceIdx,
    inst: &InstanceState<'_>,
    fates: &[GroupFate],
) -> usize {
    let ad = &inst.input.ad;
    let mut group_row_by_key = KeyIndex::with_capacity(ad.groups.len());
    for (row, group) in ad.groups.iter().enumerate() {
        group_row_by_key.insert(Key::of_guid(&group.object_guid), row as u32);
    }
    let nested = ad
        .memberships
        .iter()
        .filter(|e| e.kind() == MemberKind::Group && group_row_by_key.contains_key(e.group))
        .count();
    let pairs = crate::index::parallel_resolve(
        ad.memberships,
        &group_row_by_key,
        &inst.ad_user_by_key,
        |kind| kind == MemberKind::User,
    );
    drop(group_row_by_key);
    // Per AD group row: its direct user members (AD user rows, sorted).
    let members_of = Lists::from_pairs(ad.groups.len(), &pairs);
    drop(pairs);
    let as_member = as_members(pass, instance, inst);
    let view = MemberView {
        inst,
        base: pass.base,
        as_member: &as_member,
        live_user: &pass.live_user,
        restoring: &pass.restoring,
    };
    let work = crate::par::map_chunks(&inst.groups_in_scope, |position, &row| {
        let target = match fates.get(position).copied()? {
            GroupFate::Blocked => return None,
            GroupFate::Matched(group) => MemberTarget::Existing(group),
            GroupFate::Created(draft) => MemberTarget::Created(draft),
        };
        view.member_drafts(
            InScopeGroup::new(position),
            target,
            members_of.get(row.index()),
        )
    });
    let count: usize = work
        .iter()
        .flatten()
        .flatten()
        .map(|w| usize::from(w.add.is_some()) + usize::from(w.remove.is_some()))
        .sum();
    plan.reserve_drafts(count);
    for drafts in work.into_iter().flatten().flatten() {
        if let Some(add) = drafts.add {
            plan.add_draft(add);
        }
        if let Some(remove) = drafts.remove {
            let removal = plan.add_draft(remove);
            for user in &drafts.removed {
                if let Some(deletion) = pass.users.deleting[user.index()] {
                    plan.add_dependency(deletion, removal);
                }
            }
        }
    }
    nested
}

/// What each AD user of the instance is as a member, decided once per user rather than
/// once per membership (member lists visit users in random order).
fn as_members(
    pass: &MemberPass<'_, '_>,
    instance: InstanceIdx,
    inst: &InstanceState<'_>,
) -> Vec<AsMember> {
    let deleting = &pass.users.deleting;
    let position_of = |row: AdUserRow| inst.users_in_scope.binary_search(&row).ok();
    crate::par::map(
        &pass.users.fates[instance.index()],
        |row, fate| match fate {
            UserFate::Matched(iid)
                if deleting.get(iid.index()).is_some_and(Option::is_none)
                    && pass.live_user.get(iid.index()) == Some(&true) =>
            {
                AsMember::Existing(*iid)
            }
            UserFate::Restored(iid, draft) => AsMember::Restored(*iid, *draft),
            UserFate::Created(draft) => position_of(AdUserRow::new(row))
                .map_or(AsMember::Not, |p| {
                    AsMember::New(*draft, InScopeUser::new(p))
                }),
            _ => AsMember::Not,
        },
    )
}

/// What the member changes of one instance's groups read.
struct MemberView<'v, 'a> {
    inst: &'v InstanceState<'a>,
    base: &'v IidIndex<'a>,
    /// Per AD user row of the instance.
    as_member: &'v [AsMember],
    /// Base users not pending deletion.
    live_user: &'v [bool],
    /// Users this plan restores from pending deletion (members again afterwards).
    restoring: &'v Map<IidUserRow, DraftId>,
}

/// What an AD user is when it is a direct member of a synchronized group.
#[derive(Clone, Copy)]
enum AsMember {
    /// Not synchronized (blocked, out of scope, or its IIJ ID user is being deleted).
    Not,
    /// The IIJ ID user it is matched to.
    Existing(IidUserRow),
    /// The IIJ ID user this plan restores from pending deletion, and that draft.
    Restored(IidUserRow, DraftId),
    /// The draft creating its IIJ ID user, and its position among the in-scope users.
    New(DraftId, InScopeUser),
}

/// The group whose members change.
#[derive(Clone, Copy)]
enum MemberTarget {
    Existing(IidGroupRow),
    /// Created by this draft.
    Created(DraftId),
}

/// The member actions of one group, and the users its removal lists.
struct MemberDrafts {
    add: Option<Draft>,
    remove: Option<Draft>,
    removed: Vec<IidUserRow>,
}

/// The members a group should have in IIJ ID, split by how they exist.
struct WantedMembers {
    /// Existing IIJ ID users (restored ones included), sorted, without duplicates.
    existing: Vec<IidUserRow>,
    /// Users this plan creates: the creating draft and the AD user row.
    new: Vec<(DraftId, AdUserRow)>,
    /// Position among the in-scope users of each of `new`.
    new_positions: Vec<InScopeUser>,
    /// The restore drafts of restored members.
    restores: Vec<DraftId>,
}

impl MemberView<'_, '_> {
    fn restoring(&self, user: IidUserRow) -> Option<DraftId> {
        if self.restoring.is_empty() {
            None
        } else {
            self.restoring.get(&user).copied()
        }
    }

    fn wanted(&self, rows: &[u32]) -> WantedMembers {
        let mut wanted = WantedMembers {
            existing: Vec::new(),
            new: Vec::new(),
            new_positions: Vec::new(),
            restores: Vec::new(),
        };
        for &row in rows {
            match self.as_member.get(row as usize) {
                Some(AsMember::Existing(iid)) => wanted.existing.push(*iid),
                Some(AsMember::Restored(iid, draft)) => {
                    wanted.existing.push(*iid);
                    wanted.restores.push(*draft);
                }
                Some(AsMember::New(draft, position)) => {
                    wanted.new.push((*draft, AdUserRow::from_raw(row)));
                    wanted.new_positions.push(*position);
                }
                _ => {}
            }
        }
        wanted.existing.sort_unstable();
        wanted.existing.dedup();
        wanted
    }

    /// `add_members` / `remove_members` for the in-scope group at `position` with direct
    /// user members `rows` (AD user rows, sorted).
    fn member_drafts(
        &self,
        position: InScopeGroup,
        target: MemberTarget,
        rows: &[u32],
    ) -> Option<MemberDrafts> {
        let (inst, base) = (self.inst, self.base);
        let group = inst.in_scope_group(position)?;
        let (existing, created) = match target {
            MemberTarget::Existing(row) => (Some(row), None),
            MemberTarget::Created(draft) => (None, Some(draft)),
        };
        let name = inst.group_name(position).unwrap_or_default();
        let wanted = self.wanted(rows);
        let current: Vec<IidUserRow> = existing
            .map(|row| {
                base.members(row.raw())
                    .iter()
                    .map(|&user| IidUserRow::from_raw(user))
                    .filter(|&user| {
                        self.restoring(user).is_some()
                            || self.live_user.get(user.index()) == Some(&true)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let (add, remove) = sorted_difference(&wanted.existing, &current);
        let target = GroupTarget {
            instance: inst.name(),
            ad: group,
            name,
            iid: existing.and_then(|row| base.group(row.raw()).map(|g| (g, row))),
        };
        let mut out = MemberDrafts {
            add: None,
            remove: None,
            removed: Vec::new(),
        };
        if !add.is_empty() || !wanted.new.is_empty() {
            out.add = Some(self.add_draft(&target, created, &add, &wanted));
        }
        if !remove.is_empty() && target.iid.is_some() {
            out.remove = Some(self.remove_draft(&target, &remove));
            out.removed = remove;
        }
        (out.add.is_some() || out.remove.is_some()).then_some(out)
    }

    /// add_members of the existing users `add` and the created users of `wanted`, after the
    /// group's create (`created`), the users' creates and restores.
    fn add_draft(
        &self,
        target: &GroupTarget<'_>,
        created: Option<DraftId>,
        add: &[IidUserRow],
        wanted: &WantedMembers,
    ) -> Draft {
        let (inst, base) = (self.inst, self.base);
        let mut action = group_action(Op::AddMembers, target, base);
        action.rule = "members.add".into();
        action.reason = format!(
            "direct members of the AD group {} that are synchronized users but not members in IIJ ID",
            target.ad.dn
        );
        let mut members: Vec<(MemberRef, Option<DraftId>)> = Vec::new();
        members.extend(
            add.iter()
                .filter_map(|user| base.user(user.raw()))
                .map(|user| (existing_member(user), None)),
        );
        for ((draft, row), position) in wanted.new.iter().zip(&wanted.new_positions) {
            let Some(user) = inst.ad_user(*row) else {
                continue;
            };
            let display = inst
                .keys
                .get(position.index())
                .and_then(|k| k.user_name.as_deref())
                .unwrap_or(user.label())
                .to_string();
            members.push((
                MemberRef {
                    value: None,
                    created_by: None,
                    display,
                    object_guid: Some(user.object_guid().to_string()),
                },
                Some(*draft),
            ));
        }
        let mut draft = Draft::new(action, target.name);
        draft.target_action = created;
        draft.deps.extend(created);
        draft
            .deps
            .extend(wanted.new.iter().map(|(draft, _)| *draft));
        draft.deps.extend(wanted.restores.iter().copied());
        draft.members = members;
        draft
    }

    /// remove_members of the users `remove`, after the restores among them.
    fn remove_draft(&self, target: &GroupTarget<'_>, remove: &[IidUserRow]) -> Draft {
        let base = self.base;
        let mut action = group_action(Op::RemoveMembers, target, base);
        action.rule = "members.remove".into();
        action.reason = format!(
            "IIJ ID members that are not (or no longer) synchronized direct members of the AD group {}",
            target.ad.dn
        );
        let members: Vec<(MemberRef, Option<DraftId>)> = remove
            .iter()
            .filter_map(|user| base.user(user.raw()))
            .map(|user| (existing_member(user), None))
            .collect();
        let mut draft = Draft::new(action, target.name);
        draft.members = members;
        draft
            .deps
            .extend(remove.iter().filter_map(|&user| self.restoring(user)));
        draft
    }
}

/// A member reference to a user that exists in IIJ ID.
fn existing_member(user: IidUserView<'_>) -> MemberRef {
    MemberRef {
        value: Some(user.id().to_owned()),
        created_by: None,
        display: user.user_name().to_owned(),
        object_guid: None,
    }
}

/// `a - b` and `b - a` of two sorted, duplicate-free lists, each sorted.
fn sorted_difference<T: Ord + Copy>(a: &[T], b: &[T]) -> (Vec<T>, Vec<T>) {
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

#[cfg(test)]
mod tests {
    #[test]
    fn sorted_difference_is_both_set_differences() {
        let (a, b) = super::sorted_difference(&[1, 3, 5, 7], &[2, 3, 7, 9]);
        assert_eq!(a, vec![1, 5]);
        assert_eq!(b, vec![2, 9]);
        assert_eq!(
            super::sorted_difference::<u32>(&[], &[4]),
            (vec![], vec![4])
        );
    }
}
