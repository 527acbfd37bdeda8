//! Why an action is still pending after a replay, from the replayed plan and its journal.

use dirsnap_plan::Action;
use dirsnap_plan::PlanDir;
use dirsnap_replay::Failure;
use dirsnap_replay::journal::{ActionState, History};
use std::collections::BTreeMap;

fn same_object(a: &Action, b: &Action, created: &BTreeMap<u32, String>) -> bool {
    if a.resource != b.resource {
        return false;
    }
    let target = |x: &Action| {
        x.target
            .clone()
            .or_else(|| x.target_action.and_then(|s| created.get(&s).cloned()))
    };
    match (target(a), target(b)) {
        (Some(x), Some(y)) => x == y,
        _ => {
            (a.user_name.is_some() && a.user_name == b.user_name)
                || (a.user_name.is_none()
                    && a.display_name.is_some()
                    && a.display_name == b.display_name)
        }
    }
}

/// Says why `now` is still pending, from the replayed plan and the journal.
pub(super) fn explain(
    now: &Action,
    plan: &PlanDir,
    history: &History,
    created: &BTreeMap<u32, String>,
    failures: &[Failure],
) -> (Option<u32>, String) {
    let was = plan
        .plan
        .actions
        .iter()
        .filter(|a| same_object(a, now, created))
        .find(|a| a.op == now.op)
        .or_else(|| {
            plan.plan
                .actions
                .iter()
                .find(|a| same_object(a, now, created))
        });
    let Some(was) = was else {
        return (
            None,
            format!(
                "the replayed plan had no action for this object: it changed after the plan \
                 was computed (edited in the console, another sync), or its state depends on an \
                 object that did; {}",
                now.reason
            ),
        );
    };
    let state = match history.actions.get(&was.seq) {
        Some(ActionState::Done { .. }) => {
            let diff: Vec<String> = now
                .changes
                .iter()
                .map(|c| format!("{}: {} -> {}", c.attribute, c.old, c.new))
                .collect();
            format!(
                "action {} ({}) was applied, but the object read back still differs{}: the \
                 server did not store what was sent, or it was changed again afterwards",
                was.seq,
                was.op,
                if diff.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", diff.join("; "))
                }
            )
        }
        Some(ActionState::Uncertain) => format!(
            "action {} ({}) was attempted but its outcome is unknown (interrupted run)",
            was.seq, was.op
        ),
        Some(ActionState::Retry) => {
            let why = failures
                .iter()
                .find(|f| f.seq == was.seq)
                .map(|f| format!(": {}", f.message))
                .unwrap_or_default();
            format!("action {} ({}) failed or was skipped{why}", was.seq, was.op)
        }
        None => format!("action {} ({}) has not run yet", was.seq, was.op),
    };
    (Some(was.seq), state)
}
