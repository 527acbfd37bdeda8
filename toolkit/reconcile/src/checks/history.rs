//! DN_CHANGED (precautions, "Restrictions on Changing DNs of Active Directory Users and
//! Groups"): with `--previous-ad`, an in-scope object whose DN differs from its row in the
//! previous snapshot was moved or renamed. It is the same object (objectGUID), so its IIJ ID
//! user and memberships follow it; a sync that ran during the move may need running again.

use crate::entry::norm_dn;
use crate::findings;
use crate::instance::InstanceState;
use crate::object_keys::{ad_group_keys, ad_user_keys};
use crate::plan_builder::PlanBuilder;

/// The rows whose DN differs from their row in the previous snapshot, with that row.
fn moved<R: Copy>(
    rows: impl Iterator<Item = R>,
    previous: impl Fn(R) -> Option<R>,
    dn: fn(&R) -> &str,
) -> Vec<(R, R)> {
    rows.filter_map(|row| {
        previous(row)
            .filter(|before| norm_dn(dn(before)) != norm_dn(dn(&row)))
            .map(|before| (row, before))
    })
    .collect()
}

/// A DN_CHANGED finding for every moved in-scope user, then group, of each instance.
pub(crate) fn dn_changes(plan: &mut PlanBuilder, instances: &[InstanceState<'_>]) {
    for inst in instances {
        let Some(history) = &inst.history else {
            continue;
        };
        let users = inst
            .users_in_scope
            .iter()
            .filter_map(|&row| inst.ad_user(row));
        for (user, before) in moved(users, |u| history.user(u), |u| u.dn()) {
            plan.add_finding(
                findings::dn_changed_user(inst.name(), user, ad_user_keys(user), before),
                Vec::new(),
            );
        }
        let groups = inst
            .groups_in_scope
            .iter()
            .filter_map(|&row| inst.ad_group(row));
        for (group, before) in moved(groups, |g| history.group(g), |g| g.dn.as_str()) {
            plan.add_finding(
                findings::dn_changed_group(inst.name(), group, ad_group_keys(group), before),
                Vec::new(),
            );
        }
    }
}
