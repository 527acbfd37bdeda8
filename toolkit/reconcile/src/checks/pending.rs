//! Pending deletion the live listing cannot show (`pending.rs`; assumptions PD1–PD5):
//!
//! * PENDING_DELETION_PRESUMED: one per user the loader added as pending deletion from
//!   history or the console's list, saying where that comes from (confidence low for
//!   history, high for the console's list);
//! * a note per user history suggested but something shows was deleted for good, so the
//!   reader sees what was weighed and set aside.

use crate::findings;
use crate::inputs::Inputs;
use crate::plan_builder::PlanBuilder;

/// Named one by one up to this many; the rest are counted.
const DISMISSED_NAMED: usize = 20;

pub(crate) fn check(plan: &mut PlanBuilder, inputs: &Inputs<'_>) {
    for evidence in inputs.pending_evidence {
        plan.add_finding(findings::pending_deletion_presumed(evidence), Vec::new());
    }
    for dismissed in inputs.pending_dismissed.iter().take(DISMISSED_NAMED) {
        plan.note(findings::notes::pending_dismissed(dismissed));
    }
    let more = inputs
        .pending_dismissed
        .len()
        .saturating_sub(DISMISSED_NAMED);
    if more > 0 {
        plan.note(findings::notes::pending_dismissed_more(more));
    }
}
