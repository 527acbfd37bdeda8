//! Group matching (docs/plan-format.md "Lifecycle (groups)"): an AD group is the IIJ ID group
//! named as it was in the previous AD snapshot (it was renamed since: `previousName`), else
//! the one named as it is now (`displayName`). Several IIJ ID groups with its name, or
//! several AD groups claiming one IIJ ID group (a rename onto another group's name) →
//! AMBIGUOUS_MATCH; those AD groups are left alone and those IIJ ID groups are not deleted.

use crate::findings;
use crate::groups::GroupGuards;
use crate::ids::{IidGroupRow, InScopeGroup, InstanceIdx, ScopedGroup};
use crate::index::{Ci, IidIndex};
use crate::instance::InstanceState;
use crate::object_keys::ad_group_keys;
use crate::plan_builder::PlanBuilder;
use std::collections::BTreeMap;

/// The IIJ ID group an AD group matched, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GroupMatch {
    pub group: IidGroupRow,
    /// `previousName` (a rename) or `displayName`.
    pub by: &'static str,
}

/// Matches every in-scope AD group that is not blocked. Returns, per instance and in-scope
/// group, its match (`None`: create it, or it is blocked).
pub(crate) fn match_groups(
    plan: &mut PlanBuilder,
    instances: &[InstanceState<'_>],
    base: &IidIndex<'_>,
    guards: &mut GroupGuards,
) -> Vec<Vec<Option<GroupMatch>>> {
    let mut candidates: Vec<Vec<Option<GroupMatch>>> = Vec::new();
    // Per IIJ ID group, in row order: the AD groups matching it, and whether by a rename.
    let mut claims: BTreeMap<IidGroupRow, Vec<(ScopedGroup, bool)>> = BTreeMap::new();
    for (index, inst) in instances.iter().enumerate() {
        let mut found = Vec::with_capacity(inst.groups_in_scope.len());
        for position in 0..inst.groups_in_scope.len() {
            let scoped = ScopedGroup {
                instance: InstanceIdx::new(index),
                group: InScopeGroup::new(position),
            };
            let group_match = match_group(plan, inst, base, guards, scoped);
            if let Some(GroupMatch { group, by }) = group_match {
                claims
                    .entry(group)
                    .or_default()
                    .push((scoped, by == "previousName"));
            }
            found.push(group_match);
        }
        candidates.push(found);
    }
    settle_claims(plan, instances, base, guards, &claims);
    candidates
}

fn match_group(
    plan: &mut PlanBuilder,
    inst: &InstanceState<'_>,
    base: &IidIndex<'_>,
    guards: &mut GroupGuards,
    scoped: ScopedGroup,
) -> Option<GroupMatch> {
    let (Some(group), Some(name)) = (
        inst.in_scope_group(scoped.group),
        inst.group_name(scoped.group),
    ) else {
        return None;
    };
    if guards.blocked.contains(&scoped) {
        return None;
    }
    // A rename: the previous AD snapshot names the IIJ ID group this one had.
    let previous_name = inst.history.as_ref().and_then(|history| {
        let previous = history.group(group)?;
        inst.mapper
            .group_name(previous)
            .filter(|previous| previous != name)
    });
    let by_previous_name = previous_name
        .as_deref()
        .map(|previous| base.group_by_name.get(&Ci(previous)))
        .unwrap_or_default();
    let by_name = base.group_by_name.get(&Ci(name));
    if by_previous_name.len() == 1 {
        return by_previous_name.first().map(|row| GroupMatch {
            group: IidGroupRow::from_raw(row),
            by: "previousName",
        });
    }
    if by_name.len() == 1 {
        return by_name.first().map(|row| GroupMatch {
            group: IidGroupRow::from_raw(row),
            by: "displayName",
        });
    }
    if by_name.len() > 1 {
        guards.blocked.insert(scoped);
        for row in by_name.iter() {
            guards.protect(IidGroupRow::from_raw(row));
        }
        plan.add_finding(
            findings::ambiguous_group_name(
                inst.name(),
                group,
                ad_group_keys(group),
                name,
                by_name.len(),
            ),
            Vec::new(),
        );
    }
    None
}

/// An IIJ ID group claimed by several AD groups goes to the only one that claims it by its
/// previous name; the others (all, when no single one does) are blocked.
fn settle_claims(
    plan: &mut PlanBuilder,
    instances: &[InstanceState<'_>],
    base: &IidIndex<'_>,
    guards: &mut GroupGuards,
    claims: &BTreeMap<IidGroupRow, Vec<(ScopedGroup, bool)>>,
) {
    for (row, claimants) in claims {
        if claimants.len() < 2 {
            continue;
        }
        let by_previous_name: Vec<ScopedGroup> = claimants
            .iter()
            .filter(|(_, renamed)| *renamed)
            .map(|(group, _)| *group)
            .collect();
        let winner = (by_previous_name.len() == 1)
            .then(|| by_previous_name.first().copied())
            .flatten();
        for (claimant, _) in claimants {
            if Some(*claimant) == winner {
                continue;
            }
            guards.blocked.insert(*claimant);
            guards.protect(*row);
            let inst = &instances[claimant.instance.index()];
            if let Some(group) = inst.in_scope_group(claimant.group) {
                let claimed = base
                    .group(row.raw())
                    .map(|g| g.display_name.clone())
                    .unwrap_or_default();
                plan.add_finding(
                    findings::ambiguous_group_claim(
                        inst.name(),
                        group,
                        ad_group_keys(group),
                        &claimed,
                    ),
                    Vec::new(),
                );
            }
        }
    }
}
