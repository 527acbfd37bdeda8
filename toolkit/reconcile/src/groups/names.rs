//! GROUP_NAME_COLLISION (precautions, "Group Synchronization (in Multi-forest and
//! Multi-domain Environments Only)": "Different groups with the same name cannot be
//! synchronized"): two different AD groups, of any instance, whose IIJ ID group name is the
//! same (case-insensitively). None of them is synchronized, and the IIJ ID group of that name
//! is left alone.

use crate::findings;
use crate::groups::GroupGuards;
use crate::ids::{IidGroupRow, InScopeGroup, InstanceIdx, ScopedGroup};
use crate::index::{Ci, IidIndex};
use crate::instance::InstanceState;
use crate::plan_builder::PlanBuilder;
use std::collections::{BTreeMap, BTreeSet};

/// Finds the names several AD groups have (a finding for each, in name order) and blocks
/// those groups.
pub(crate) fn collisions(
    plan: &mut PlanBuilder,
    instances: &[InstanceState<'_>],
    base: &IidIndex<'_>,
) -> GroupGuards {
    let mut by_name: BTreeMap<String, Vec<ScopedGroup>> = BTreeMap::new();
    for (index, inst) in instances.iter().enumerate() {
        for (position, name) in inst.group_names.iter().enumerate() {
            if let Some(name) = name {
                by_name
                    .entry(name.to_lowercase())
                    .or_default()
                    .push(ScopedGroup {
                        instance: InstanceIdx::new(index),
                        group: InScopeGroup::new(position),
                    });
            }
        }
    }
    let mut guards = GroupGuards {
        blocked: BTreeSet::new(),
        protected: vec![false; base.groups.len()],
    };
    for members in by_name.values().filter(|members| members.len() > 1) {
        let mut described = Vec::new();
        let mut name = String::new();
        for &member in members {
            guards.blocked.insert(member);
            let inst = &instances[member.instance.index()];
            if let Some(group) = inst.in_scope_group(member.group) {
                described.push(findings::group_name_collision_member(group, inst.name()));
            }
            if let Some(group_name) = inst.group_name(member.group) {
                name = group_name.to_string();
                for row in base.group_by_name.get(&Ci(group_name)).iter() {
                    guards.protect(IidGroupRow::from_raw(row));
                }
            }
        }
        described.sort();
        plan.add_finding(
            findings::group_name_collision(&name, members.len(), &described),
            Vec::new(),
        );
    }
    guards
}
