//! The user pass: every in-scope AD user of every instance against the IIJ ID users
//! (docs/plan-format.md, "Matching" and "Lifecycle (users)"), in four steps:
//!
//! 1. [`duplicates`]: two AD objects with one userName or externalId → DUPLICATE_KEY;
//! 2. [`matching`]: each AD user's IIJ ID user (externalId, linking ID, userName), and two AD
//!    users claiming one IIJ ID user → AMBIGUOUS_MATCH;
//! 3. [`lifecycle`]: the lifecycle rule of each AD user — create, update, adopt, enable,
//!    disable, restore from pending deletion, recreated accounts;
//! 4. `ownership::orphan_users`: owned IIJ ID users no AD user claims → pending deletion;
//! 5. `m365_lifecycle`: what the disables, pending deletions, restores and enables do to
//!    the users' Microsoft 365 accounts.
//!
//! What the group pass needs comes back as a [`UsersOutcome`].

pub(crate) mod actions;
pub(crate) mod duplicates;
pub(crate) mod lifecycle;
pub(crate) mod matching;
pub(crate) mod recreated;

use crate::ids::{DraftId, IidUserRow, InstanceIdx, UserNumbers};
use crate::index::IidIndex;
use crate::inputs::Inputs;
use crate::instance::InstanceState;
use crate::m365::M365Index;
use crate::m365_lifecycle;
use crate::ownership;
use crate::plan_builder::PlanBuilder;

/// What the plan does with one AD user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UserFate {
    OutOfScope,
    /// Blocked by a finding (duplicate, ambiguous, not owned, recreated…): no action.
    Blocked,
    /// Matched to this IIJ ID user (updated or not).
    Matched(IidUserRow),
    /// Created by this draft.
    Created(DraftId),
    /// This IIJ ID user is restored from pending deletion by this draft.
    Restored(IidUserRow, DraftId),
}

/// Which instance, if any, an IIJ ID user belongs to after matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UserClaim {
    Unclaimed,
    /// An AD user of this instance matched it.
    By(InstanceIdx),
    /// A blocked AD user (duplicate, ambiguous) could be it: never deleted as an orphan.
    Protected,
}

/// What the user pass leaves for the group pass and the thresholds.
pub(crate) struct UsersOutcome {
    /// Per instance, per AD user row.
    pub fates: Vec<Vec<UserFate>>,
    /// Per base IIJ ID user: the pending-deletion draft, when the plan deletes it.
    pub deleting: Vec<Option<DraftId>>,
    /// In-scope AD users per instance (for the shrink threshold).
    pub in_scope: Vec<usize>,
}

pub(crate) fn plan_users<'a>(
    plan: &mut PlanBuilder,
    inputs: &Inputs<'a>,
    instances: &[InstanceState<'a>],
    base: &IidIndex<'a>,
) -> UsersOutcome {
    let numbers = UserNumbers::new(instances.iter().map(|i| i.keys.len()));
    let duplicates = duplicates::find(plan, instances, &numbers);
    let matches = matching::match_all(inputs.as_of, instances, base, &numbers);
    let m365 = inputs.m365.map(M365Index::new);
    let mut lifecycles = lifecycle::plan_lifecycles(
        plan,
        inputs,
        instances,
        base,
        &duplicates,
        matches,
        m365.as_ref(),
    );
    ownership::orphan_users(
        plan,
        instances,
        base,
        &lifecycles.claims,
        &mut lifecycles.deleting,
    );
    m365_lifecycle::check(plan, instances, base, m365.as_ref());
    UsersOutcome {
        fates: lifecycles.fates,
        deleting: lifecycles.deleting,
        in_scope: instances.iter().map(|i| i.users_in_scope.len()).collect(),
    }
}
