//! Orphan groups (docs/plan-format.md rules `deleted`, `out_of_scope`, `orphan` for
//! delete_group): an owned IIJ ID group no AD group claims is deleted — hard: groups have no
//! pending deletion. Not when another instance synchronizes it (FOREIGN_GROUP_DELETE,
//! precautions "Group Synchronization"), a blocked AD group could be it, or the snapshot is
//! partial and history does not explain it (skipped).

use crate::groups::action::group_digest;
use crate::ids::{IidGroupRow, InstanceIdx};
use crate::index::IidIndex;
use crate::instance::InstanceState;
use crate::object_keys::iid_keys;
use crate::ownership;
use crate::plan_builder::{Draft, PlanBuilder};
use dirsnap_model::{AdGroup, IidGroup};
use dirsnap_plan::{Action, Change, Op, Request, Resource};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Deletes, per instance, the owned IIJ ID groups no AD group claims. `protected`: groups a
/// blocked AD group could be; `claimed_by`: the instance whose AD group matched each group.
pub(crate) fn delete_orphans(
    plan: &mut PlanBuilder,
    instances: &[InstanceState<'_>],
    base: &IidIndex<'_>,
    protected: &[bool],
    claimed_by: &[Option<InstanceIdx>],
) {
    let in_scope_names: Vec<BTreeSet<String>> = instances
        .iter()
        .map(|i| {
            i.group_names
                .iter()
                .flatten()
                .map(|n| n.to_lowercase())
                .collect()
        })
        .collect();
    for (index, inst) in instances.iter().enumerate() {
        let instance = inst.name();
        let mut reasons = OrphanReasons::new(inst);
        for (row, group) in base.groups.iter().enumerate() {
            let group_row = IidGroupRow::new(row);
            if !inst.owns_group(group_row) || protected[row] {
                continue;
            }
            match claimed_by[row] {
                Some(claimant) if claimant == InstanceIdx::new(index) => continue,
                Some(other) => {
                    let other = instances.get(other.index()).map_or("?", |i| i.name());
                    ownership::foreign_delete(
                        plan,
                        instance,
                        other,
                        Resource::Group,
                        &group.display_name,
                        &group.id,
                    );
                    continue;
                }
                None => {}
            }
            // A group another instance's AD has, even if that instance cannot claim it
            // (blocked or not owned), is foreign too.
            let lowercase = group.display_name.to_lowercase();
            if let Some((_, other)) = instances
                .iter()
                .enumerate()
                .find(|(other, _)| *other != index && in_scope_names[*other].contains(&lowercase))
            {
                ownership::foreign_delete(
                    plan,
                    instance,
                    other.name(),
                    Resource::Group,
                    &group.display_name,
                    &group.id,
                );
                continue;
            }
            let (rule, reason) = reasons.reason(&group.display_name);
            if inst.groups_partial && rule == "orphan" {
                ownership::skip_outside_snapshot(
                    plan,
                    instance,
                    Resource::Group,
                    &group.display_name,
                    &group.id,
                );
                continue;
            }
            plan.add_draft(delete_group(instance, group, group_row, base, rule, reason));
        }
    }
}

fn delete_group(
    instance: &str,
    group: &IidGroup,
    row: IidGroupRow,
    base: &IidIndex<'_>,
    rule: &str,
    reason: String,
) -> Draft {
    let action = Action {
        seq: 0,
        op: Op::DeleteGroup,
        resource: Resource::Group,
        instance: instance.to_string(),
        target: Some(group.id.clone()),
        target_action: None,
        user_name: None,
        display_name: Some(group.display_name.clone()),
        external_id: group.external_id.clone(),
        keys: iid_keys(&group.id),
        matched_by: None,
        rule: rule.into(),
        reason,
        changes: vec![Change {
            attribute: "displayName".into(),
            old: json!(group.display_name),
            new: Value::Null,
        }],
        request: Request {
            method: "DELETE".into(),
            path: format!("Groups/{}", group.id),
        },
        operations: Vec::new(),
        body: None,
        members: Vec::new(),
        depends_on: Vec::new(),
        state_digest: Some(group_digest(base, row)),
    };
    Draft::new(action, &group.display_name)
}

/// Why an owned IIJ ID group has no AD group: the names of every AD group of the instance
/// (in scope or not) and of the previous AD snapshot, lowercased, built on first use.
struct OrphanReasons<'i, 'a> {
    inst: &'i InstanceState<'a>,
    current: Option<BTreeSet<String>>,
    previous: Option<BTreeSet<String>>,
}

impl<'i, 'a> OrphanReasons<'i, 'a> {
    fn new(inst: &'i InstanceState<'a>) -> Self {
        OrphanReasons {
            inst,
            current: None,
            previous: None,
        }
    }

    /// The rule (`out_of_scope`, `deleted`, `orphan`) and reason of deleting the group
    /// `name`.
    fn reason(&mut self, name: &str) -> (&'static str, String) {
        let inst = self.inst;
        let instance = inst.name();
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
                    "the AD group named {name:?} left the sync scope (ad.ldap.filter.group of instance {instance}); Directory Sync deletes its IIJ ID group (groups have no pending deletion)"
                ),
            );
        }
        let previous = self.previous.get_or_insert_with(|| {
            inst.history
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
                "no AD group in the scope of instance {instance} is named {name:?}; Directory Sync deletes the IIJ ID groups its SCIM filter selects and its AD lacks"
            ),
        )
    }
}
