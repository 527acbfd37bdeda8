//! Safety thresholds (SPEC §5 "Safety"; docs/plan-format.md "Thresholds"): per instance,
//! from `dirsnap.thresholds` — `pending_deletions`, `disables`, `group_deletes`,
//! `member_removals_per_group` (a count, default 500 like Entra Connect's export deletion
//! threshold, or `"N%"` of the owned population / the group's members) and `source_shrink`
//! (in-scope AD users now against the previous AD snapshot, else against the owned IIJ ID
//! users; off unless configured). Exceeded → THRESHOLD_EXCEEDED (error, exit 3) unless
//! `--allow-threshold CATEGORY` (or `all`) accepts it.

use crate::findings;
use crate::ids::{DraftId, IidUserRow};
use crate::index::IidIndex;
use crate::inputs::Inputs;
use crate::instance::InstanceState;
use crate::plan_builder::PlanBuilder;
use crate::users::UsersOutcome;
use dirsnap_config::Threshold;
use dirsnap_model::IidUserView;
use dirsnap_plan::Op;

/// What a threshold counts.
pub(crate) enum Counted {
    PendingDeletions,
    Disables,
    GroupDeletes,
    /// Members removed from the group named `group`.
    MemberRemovals {
        group: String,
    },
    /// In-scope AD users lost: `now` against `before` (in the previous AD snapshot, else
    /// the owned IIJ ID users).
    SourceShrink {
        now: u64,
        before: u64,
        against_previous_snapshot: bool,
    },
}

/// One threshold of one instance, with what it is compared against.
pub(crate) struct ThresholdCheck {
    /// The key under `dirsnap.thresholds`.
    pub category: &'static str,
    pub threshold: Threshold,
    pub count: u64,
    /// What a percentage is of.
    pub population: u64,
    /// The actions counted.
    pub actions: Vec<DraftId>,
    pub counted: Counted,
}

impl ThresholdCheck {
    fn exceeded(&self) -> bool {
        match self.threshold {
            Threshold::Count(n) => self.count > n,
            Threshold::Percent(p) => {
                self.population > 0 && (self.count as f64) * 100.0 > p * self.population as f64
            }
        }
    }
}

/// Adds THRESHOLD_EXCEEDED for every exceeded threshold of every instance.
pub(crate) fn check(
    plan: &mut PlanBuilder,
    inputs: &Inputs<'_>,
    instances: &[InstanceState<'_>],
    base: &IidIndex<'_>,
    users: &UsersOutcome,
) {
    let allowed = |category: &str| {
        inputs
            .allow_thresholds
            .iter()
            .any(|a| a == category || a == "all")
    };
    for (index, inst) in instances.iter().enumerate() {
        let checks = instance_checks(plan, inst, base, users.in_scope[index]);
        for check in checks {
            if !check.exceeded() {
                continue;
            }
            let is_allowed = allowed(check.category);
            let finding = findings::threshold_exceeded(inst.name(), &check, is_allowed);
            plan.add_finding(finding, check.actions);
        }
    }
}

/// Every threshold of one instance (`in_scope`: its in-scope AD users), in category order.
fn instance_checks(
    plan: &PlanBuilder,
    inst: &InstanceState<'_>,
    base: &IidIndex<'_>,
    in_scope: usize,
) -> Vec<ThresholdCheck> {
    let instance = inst.name();
    let thresholds = &inst.input.config.dirsnap.thresholds;
    let drafts_of = |op: Op| -> Vec<DraftId> {
        plan.drafts()
            .iter()
            .enumerate()
            .filter(|(_, d)| d.action.op == op && d.action.instance == instance)
            .map(|(id, _)| DraftId::new(id))
            .collect()
    };
    let owned_live: Vec<IidUserView<'_>> = base
        .users
        .iter()
        .enumerate()
        .filter(|(row, u)| inst.owns_user(IidUserRow::new(*row)) && !u.pending_deletion())
        .map(|(_, u)| u)
        .collect();
    let owned_active = owned_live.iter().filter(|u| u.active()).count() as u64;
    let owned_groups = inst.owned_groups.iter().filter(|o| **o).count() as u64;
    let mut checks = Vec::new();
    let pending_deletions = drafts_of(Op::PendingDeleteUser);
    checks.push(ThresholdCheck {
        category: "pending_deletions",
        threshold: thresholds.pending_deletions,
        count: pending_deletions.len() as u64,
        population: owned_live.len() as u64,
        actions: pending_deletions,
        counted: Counted::PendingDeletions,
    });
    let disables = drafts_of(Op::DisableUser);
    checks.push(ThresholdCheck {
        category: "disables",
        threshold: thresholds.disables,
        count: disables.len() as u64,
        population: owned_active,
        actions: disables,
        counted: Counted::Disables,
    });
    let group_deletes = drafts_of(Op::DeleteGroup);
    checks.push(ThresholdCheck {
        category: "group_deletes",
        threshold: thresholds.group_deletes,
        count: group_deletes.len() as u64,
        population: owned_groups,
        actions: group_deletes,
        counted: Counted::GroupDeletes,
    });
    for id in drafts_of(Op::RemoveMembers) {
        let Some(draft) = plan.draft(id) else {
            continue;
        };
        let population = draft
            .action
            .target
            .as_deref()
            .and_then(|t| base.group_by_id(t))
            .map_or(0, |group| base.members(group).len() as u64);
        checks.push(ThresholdCheck {
            category: "member_removals_per_group",
            threshold: thresholds.member_removals_per_group,
            count: draft.members.len() as u64,
            population,
            actions: vec![id],
            counted: Counted::MemberRemovals {
                group: draft.action.display_name.clone().unwrap_or_default(),
            },
        });
    }
    if let Some(shrink) = thresholds.source_shrink {
        let now = in_scope as u64;
        let (before, against_previous_snapshot) = match &inst.history {
            Some(history) => (history.in_scope_users as u64, true),
            None => (owned_live.len() as u64, false),
        };
        checks.push(ThresholdCheck {
            category: "source_shrink",
            threshold: shrink,
            count: before.saturating_sub(now),
            population: before,
            actions: Vec::new(),
            counted: Counted::SourceShrink {
                now,
                before,
                against_previous_snapshot,
            },
        });
    }
    checks
}
