//! [`reconcile`]: the order of the passes, and nothing else. Each pass is a module named for
//! the Directory Sync rule it implements; what one pass leaves for the next is passed on as
//! a value. The passes add drafts, findings and notes in a fixed order, which assembly
//! relies on for ties.

use crate::assembly;
use crate::checks;
use crate::error::ReconcileError;
use crate::groups;
use crate::index::IidIndex;
use crate::inputs::Inputs;
use crate::instance::InstanceState;
use crate::plan_builder::PlanBuilder;
use crate::thresholds;
use crate::users;
use dirsnap_plan::{Mode, Plan};

/// Computes the plan. Pure: the same inputs give the same plan.
pub fn reconcile(inputs: &Inputs<'_>) -> Result<Plan, ReconcileError> {
    let base_snapshot = inputs.base_iid()?;
    let mut base = IidIndex::new(
        base_snapshot.users,
        base_snapshot.groups,
        base_snapshot.memberships,
    );
    base.mark_presumed(inputs.pending_evidence);
    let live = match inputs.mode {
        Mode::Normal => {
            let mut live =
                IidIndex::new(inputs.iid.users, inputs.iid.groups, inputs.iid.memberships);
            live.mark_presumed(inputs.pending_evidence);
            Some(live)
        }
        Mode::Recovery => None,
    };
    let mut plan = PlanBuilder::with_draft_capacity(most_drafts(inputs, &base));
    let mut instances = Vec::with_capacity(inputs.instances.len());
    for input in &inputs.instances {
        instances.push(InstanceState::prepare(&mut plan, input, &base)?);
    }

    let users = users::plan_users(&mut plan, inputs, &instances, &base);
    // Matching is done: its lookups go before the group pass allocates.
    base.release_user_lookups();
    groups::plan_groups(&mut plan, &instances, &base, &users);
    if let Some(live) = &live {
        checks::normal_mode::check(&mut plan, &instances, &base, live);
    }
    thresholds::check(&mut plan, inputs, &instances, &base, &users);
    if let Some(expires) = inputs.token_expires_at {
        checks::token::check(&mut plan, inputs, expires);
    }
    // What the plan's assembly does not read goes now, so the memory is reused for it.
    drop((users, live, base));
    for instance in &mut instances {
        instance.release_pass_state();
    }
    checks::history::dn_changes(&mut plan, &instances);
    checks::config::check(&mut plan, &instances);
    checks::inputs::check(&mut plan, inputs);
    checks::pending::check(&mut plan, inputs);
    Ok(assembly::finish(plan, inputs, &instances))
}

/// Room for a plan that touches every object (at most one action per user, two per group).
fn most_drafts(inputs: &Inputs<'_>, base: &IidIndex<'_>) -> usize {
    inputs
        .instances
        .iter()
        .map(|i| i.ad.users.len() + 2 * i.ad.groups.len())
        .sum::<usize>()
        + base.users.len()
        + base.groups.len()
}
