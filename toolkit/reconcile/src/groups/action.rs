//! Group actions as Directory Sync sends them (docs/plan-format.md "Actions"): the request,
//! keys and state digest every create_group / update_group / add_members / remove_members
//! carries.

use crate::ids::IidGroupRow;
use crate::index::IidIndex;
use crate::key::Key;
use crate::object_keys::ad_group_keys;
use dirsnap_model::{AdGroup, IidGroup};
use dirsnap_plan::digest;
use dirsnap_plan::{Action, Op, Request, Resource};

/// What a group action acts on: the AD group (named `name` in IIJ ID) and, unless it is
/// created, its IIJ ID group.
pub(crate) struct GroupTarget<'t> {
    pub instance: &'t str,
    pub ad: &'t AdGroup,
    pub name: &'t str,
    /// The IIJ ID group and its base row (`None`: a group this plan creates).
    pub iid: Option<(&'t IidGroup, IidGroupRow)>,
}

/// A group action on `target`, rule and reason still empty.
pub(crate) fn group_action(op: Op, target: &GroupTarget<'_>, base: &IidIndex<'_>) -> Action {
    let iid = target.iid.map(|(group, _)| group);
    let mut keys = ad_group_keys(target.ad);
    if let Some(group) = iid {
        keys.insert("id", group.id.clone());
    }
    let (method, path) = match (op, iid) {
        (Op::CreateGroup, _) => ("POST".to_string(), "Groups".to_string()),
        (_, Some(group)) => ("PATCH".to_string(), format!("Groups/{}", group.id)),
        (_, None) => ("PATCH".to_string(), "Groups/{id}".to_string()),
    };
    Action {
        seq: 0,
        op,
        resource: Resource::Group,
        instance: target.instance.to_string(),
        target: iid.map(|g| g.id.clone()),
        target_action: None,
        user_name: None,
        display_name: Some(target.name.to_string()),
        external_id: iid.and_then(|g| g.external_id.clone()),
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
        state_digest: target.iid.map(|(_, row)| group_digest(base, row)),
    }
}

/// The state digest of a base IIJ ID group, computed once per group (a group with members
/// both added and removed has two actions, and it hashes every member id).
pub(crate) fn group_digest(base: &IidIndex<'_>, row: IidGroupRow) -> String {
    let (Some(group), Some(cell)) = (base.group(row.raw()), base.group_digests.get(row.index()))
    else {
        return String::new();
    };
    cell.get_or_init(|| {
        let all = base.members(row.raw());
        // Members the live listing lacks because they are pending deletion are hidden in the
        // group the replay re-reads too (MK2): the digest is of what the tenant shows.
        let visible: Vec<u32>;
        let members = if base.presumed.is_empty() {
            all
        } else {
            visible = all
                .iter()
                .copied()
                .filter(|&u| base.presumed(u).is_none())
                .collect();
            &visible
        };
        let mut uuids: Vec<[u8; 16]> = Vec::new();
        for user in members {
            match base.user_keys.get(*user as usize) {
                Some(Key::Uuid(bytes)) => uuids.push(*bytes),
                _ => {
                    uuids.clear();
                    break;
                }
            }
        }
        if uuids.len() == members.len() {
            return digest::group_digest_uuids(group, &mut uuids);
        }
        let ids: Vec<&str> = members
            .iter()
            .filter_map(|user| base.user(*user).map(|u| u.id()))
            .collect();
        digest::group_digest(group, &ids)
    })
    .clone()
}
