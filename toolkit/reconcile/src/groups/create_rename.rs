//! create_group / update_group (docs/plan-format.md rules `create`, `rename` and `update`):
//! an in-scope AD group that matched no IIJ ID group is created (unless the instance would
//! not own it: OWNERSHIP_CONFLICT); one that matched a group under another name (its previous
//! name) is renamed; one whose mapped attributes differ (`description`, `email`, RC15,
//! `attributes.rs`) is updated — one update_group for both. A matched group the instance
//! does not own is OWNERSHIP_CONFLICT. Groups are named by `cn` (RC2); a group without a name
//! is not synchronized (a note).

use crate::findings::{self, Counterpart};
use crate::groups::action::{GroupTarget, group_action};
use crate::groups::attributes::{AttributeChanges, GroupAttributes};
use crate::groups::matching::GroupMatch;
use crate::ids::{DraftId, IidGroupRow, InScopeGroup, InstanceIdx, ScopedGroup};
use crate::index::IidIndex;
use crate::instance::InstanceState;
use crate::object_keys::ad_group_keys;
use crate::ownership;
use crate::plan_builder::{Draft, PlanBuilder};
use crate::scope;
use dirsnap_model::{AdGroup, IidGroup};
use dirsnap_plan::{Change, Op, PatchOp, Resource};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// What the plan does with one in-scope AD group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GroupFate {
    /// Not synchronized (collision, ambiguous, not owned, no name).
    Blocked,
    /// This IIJ ID group (renamed or not).
    Matched(IidGroupRow),
    /// Created by this draft.
    Created(DraftId),
}

/// One instance's in-scope groups, with what the group checks found.
pub(crate) struct InstanceGroups<'g, 'a> {
    pub instance: InstanceIdx,
    pub inst: &'g InstanceState<'a>,
    pub base: &'g IidIndex<'a>,
    pub blocked: &'g BTreeSet<ScopedGroup>,
    /// Per in-scope group: its match.
    pub candidates: &'g [Option<GroupMatch>],
}

/// Creates or renames the instance's in-scope groups, in row order. `claimed_by` gets the
/// instance of every IIJ ID group an AD group of it matched. Returns each in-scope group's
/// fate.
pub(crate) fn plan_instance(
    plan: &mut PlanBuilder,
    groups: InstanceGroups<'_, '_>,
    claimed_by: &mut [Option<InstanceIdx>],
) -> Vec<GroupFate> {
    let inst = groups.inst;
    let attributes = GroupAttributes::of(inst.input.config);
    let mut fates = vec![GroupFate::Blocked; inst.groups_in_scope.len()];
    for (position, fate) in fates.iter_mut().enumerate() {
        let position = InScopeGroup::new(position);
        let Some(group) = inst.in_scope_group(position) else {
            continue;
        };
        let scoped = ScopedGroup {
            instance: groups.instance,
            group: position,
        };
        if groups.blocked.contains(&scoped) {
            continue;
        }
        let Some(name) = inst.group_name(position) else {
            plan.note(findings::notes::group_without_name(
                inst.name(),
                &group.dn,
                &inst.mapper.profile.group_name_attribute,
            ));
            continue;
        };
        *fate = match groups.candidates.get(position.index()).copied().flatten() {
            Some(GroupMatch { group: row, by }) => {
                let Some(iid) = groups.base.group(row.raw()) else {
                    continue;
                };
                claimed_by[row.index()] = Some(groups.instance);
                if !inst.owns_group(row) {
                    ownership::conflict(
                        plan,
                        inst.name(),
                        Resource::Group,
                        name,
                        ad_group_keys(group),
                        &Counterpart {
                            name: &iid.display_name,
                            id: &iid.id,
                            matched_by: by,
                        },
                    );
                    continue;
                }
                let attribute_changes = if attributes.is_empty() {
                    None
                } else {
                    Some(attributes.diff(group, iid)).filter(|c| !c.operations.is_empty())
                };
                if iid.display_name != name || attribute_changes.is_some() {
                    let target = GroupTarget {
                        instance: inst.name(),
                        ad: group,
                        name,
                        iid: Some((iid, row)),
                    };
                    plan.add_draft(update(&target, iid, by, groups.base, attribute_changes));
                }
                GroupFate::Matched(row)
            }
            None => match create(plan, inst, &attributes, group, name, groups.base) {
                Some(draft) => GroupFate::Created(draft),
                None => continue,
            },
        };
    }
    fates
}

/// update_group renaming `iid` to the AD group's name (rule `rename`) and writing the mapped
/// attributes that differ (rule `update` when the name is unchanged).
fn update(
    target: &GroupTarget<'_>,
    iid: &IidGroup,
    by: &str,
    base: &IidIndex<'_>,
    attributes: Option<AttributeChanges>,
) -> Draft {
    let name = target.name;
    let mut action = group_action(Op::UpdateGroup, target, base);
    action.matched_by = Some(by.into());
    let renamed = iid.display_name != name;
    if renamed {
        action.rule = "rename".into();
        action.reason = format!(
            "the AD group {} is now named {name:?} (was {:?})",
            target.ad.dn, iid.display_name
        );
        action.changes = vec![Change {
            attribute: "displayName".into(),
            old: json!(iid.display_name),
            new: json!(name),
        }];
        action.operations = vec![PatchOp {
            op: "replace".into(),
            path: Some("displayName".into()),
            value: Some(json!(name)),
        }];
    } else {
        action.rule = "update".into();
        action.reason = format!(
            "the AD group {}'s mapped attributes differ from IIJ ID (iid.scim.attribute.group.ad_bind)",
            target.ad.dn
        );
    }
    if let Some(attributes) = attributes {
        action.changes.extend(attributes.changes);
        action.operations.extend(attributes.operations);
    }
    Draft::new(action, name)
}

/// create_group for an AD group no IIJ ID group matches, unless the instance would not own
/// the group it creates (then OWNERSHIP_CONFLICT and `None`).
fn create(
    plan: &mut PlanBuilder,
    inst: &InstanceState<'_>,
    attributes: &GroupAttributes,
    group: &AdGroup,
    name: &str,
    base: &IidIndex<'_>,
) -> Option<DraftId> {
    let mut body = json!({
        "schemas": [dirsnap_model::URN_CORE_GROUP],
        "displayName": name,
        "members": [],
    });
    let extension = attributes.create_extension(group);
    if let (Some((extension, _)), Value::Object(fields)) = (&extension, &mut body) {
        fields.insert(
            "schemas".into(),
            json!([
                dirsnap_model::URN_CORE_GROUP,
                dirsnap_model::URN_IIJ_ENTERPRISE_GROUP
            ]),
        );
        fields.insert(
            dirsnap_model::URN_IIJ_ENTERPRISE_GROUP.into(),
            extension.clone(),
        );
    }
    if !scope::owned(inst.iid_group_filter.as_ref(), || body.clone()) {
        ownership::unowned_create(
            plan,
            inst.name(),
            Resource::Group,
            name,
            ad_group_keys(group),
        );
        return None;
    }
    let target = GroupTarget {
        instance: inst.name(),
        ad: group,
        name,
        iid: None,
    };
    let mut action = group_action(Op::CreateGroup, &target, base);
    action.rule = "create".into();
    action.reason = format!(
        "the AD group {} is in scope and no IIJ ID group is named {name:?}",
        group.dn
    );
    action.body = Some(body);
    action.changes = vec![Change {
        attribute: "displayName".into(),
        old: Value::Null,
        new: json!(name),
    }];
    if let Some((_, changes)) = extension {
        action.changes.extend(changes);
    }
    Some(plan.add_draft(Draft::new(action, name)))
}
