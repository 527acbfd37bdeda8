//! Plan assembly (docs/plan-format.md "plan.json", "Actions"): the drafts get their places and
//! seqs — by op (the execution order create_user … delete_group), instance, name, keys —
//! which is also a valid execution order (every dependency points backwards); draft
//! references become seqs (`depends_on`, `target_action`, `created_by`, `action:N` member
//! values); findings, skipped objects and notes are sorted. Deterministic: the same drafts in
//! the same push order give a byte-identical plan.

use crate::ids::DraftId;
use crate::inputs::Inputs;
use crate::instance::InstanceState;
use crate::plan_builder::{Draft, PlanBuilder, PlanParts};
use dirsnap_plan::{
    Action, Finding, InstanceInfo, MemberRef, Op, PLAN_SCHEMA_VERSION, PatchOp, Plan,
};
use serde_json::{Value, json};

pub(crate) fn finish(
    plan: PlanBuilder,
    inputs: &Inputs<'_>,
    instances: &[InstanceState<'_>],
) -> Plan {
    let PlanParts {
        drafts,
        findings,
        skipped,
        notes,
    } = plan.into_parts();
    let order = plan_order(&drafts);
    let mut seq_of = vec![0u32; drafts.len()];
    for (position, &draft) in order.iter().enumerate() {
        seq_of[draft] = (position + 1) as u32;
    }
    let seq = |draft: DraftId| seq_of.get(draft.index()).copied().unwrap_or(0);
    let actions = into_actions(drafts, order, &seq);
    let mut findings: Vec<Finding> = findings
        .into_iter()
        .map(|pending| {
            let mut finding = pending.finding;
            let mut seqs: Vec<u32> = pending
                .actions
                .into_iter()
                .map(seq)
                .filter(|s| *s != 0)
                .collect();
            seqs.sort_unstable();
            seqs.dedup();
            finding.actions = seqs;
            finding
        })
        .collect();
    findings.sort_by(|a, b| {
        (a.severity, &a.code, &a.instance, &a.subject, &a.message).cmp(&(
            b.severity,
            &b.code,
            &b.instance,
            &b.subject,
            &b.message,
        ))
    });
    findings.dedup();
    let mut skipped = skipped;
    skipped.sort_by(|a, b| {
        (a.resource, &a.instance, &a.name, &a.keys, &a.reason).cmp(&(
            b.resource,
            &b.instance,
            &b.name,
            &b.keys,
            &b.reason,
        ))
    });
    skipped.dedup();
    let mut notes = notes;
    notes.sort();
    notes.dedup();
    let mut input_digests = inputs.input_digests.clone();
    input_digests.sort();
    let mut plan = Plan {
        schema_version: PLAN_SCHEMA_VERSION,
        mode: inputs.mode,
        as_of: inputs.as_of,
        instances: instance_infos(instances),
        inputs: input_digests,
        summary: Default::default(),
        findings,
        actions,
        skipped,
        notes,
    };
    plan.summarize();
    plan
}

/// The drafts' plan order (position → draft index): by op rank, instance, sort name, keys,
/// target, then push order.
fn plan_order(drafts: &[Draft]) -> Vec<usize> {
    let full = |left: usize, right: usize| {
        let (l, r) = (&drafts[left], &drafts[right]);
        (
            l.action.op.rank(),
            &l.action.instance,
            &l.sort_name,
            &l.action.keys,
            &l.action.target,
            left,
        )
            .cmp(&(
                r.action.op.rank(),
                &r.action.instance,
                &r.sort_name,
                &r.action.keys,
                &r.action.target,
                right,
            ))
    };
    // Sorted by compact keys first (op rank, instance's rank, the name's first eight bytes):
    // order-preserving, so the full comparison only breaks their ties — sorting hundreds of
    // thousands of drafts then rarely touches the drafts themselves.
    let mut names: Vec<&str> = drafts.iter().map(|d| d.action.instance.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let mut keyed: Vec<(u64, u64, usize)> = drafts
        .iter()
        .enumerate()
        .map(|(index, draft)| {
            let instance = names
                .binary_search(&draft.action.instance.as_str())
                .unwrap_or(0) as u64;
            let mut prefix = [0u8; 8];
            for (slot, byte) in prefix.iter_mut().zip(draft.sort_name.bytes()) {
                *slot = byte;
            }
            (
                ((draft.action.op.rank() as u64) << 32) | instance,
                u64::from_be_bytes(prefix),
                index,
            )
        })
        .collect();
    keyed.sort_unstable_by(|x, y| (x.0, x.1).cmp(&(y.0, y.1)).then_with(|| full(x.2, y.2)));
    keyed.into_iter().map(|(_, _, index)| index).collect()
}

/// The drafts as actions in plan order, references turned into seqs.
fn into_actions(
    mut drafts: Vec<Draft>,
    order: Vec<usize>,
    seq: &(impl Fn(DraftId) -> u32 + Sync),
) -> Vec<Action> {
    // Drafts put in plan order in place, then turned into actions in place: a plan of
    // hundreds of thousands of actions is never held twice.
    permute(&mut drafts, order.clone());
    // Seqs, dependencies and member operations, side by side; then each draft becomes its
    // action in place.
    crate::par::for_each_mut(&mut drafts, |position, draft| {
        let action = &mut draft.action;
        action.seq = order
            .get(position)
            .map_or(0, |&index| seq(DraftId::new(index)));
        let mut deps: Vec<u32> = draft
            .deps
            .iter()
            .map(|&dep| seq(dep))
            .filter(|&s| s != 0 && s < action.seq)
            .collect();
        deps.sort_unstable();
        deps.dedup();
        action.depends_on = deps;
        action.target_action = draft.target_action.map(seq);
        if action.target.is_none()
            && let Some(target) = action.target_action
        {
            action.request.path = format!("Groups/action:{target}");
        }
        draft
            .members
            .sort_by(|x, y| (&x.0.display, &x.0.value).cmp(&(&y.0.display, &y.0.value)));
        let members: Vec<MemberRef> = std::mem::take(&mut draft.members)
            .into_iter()
            .map(|(mut member, created)| {
                member.created_by = created.map(seq);
                member
            })
            .collect();
        if matches!(action.op, Op::AddMembers | Op::RemoveMembers) {
            action.operations = member_ops(action.op, &members);
        }
        action.members = members;
    });
    drop(order);
    drafts.into_iter().map(|d| d.action).collect()
}

fn instance_infos(instances: &[InstanceState<'_>]) -> Vec<InstanceInfo> {
    instances
        .iter()
        .map(|i| {
            let config = i.input.config;
            InstanceInfo {
                name: i.input.name.clone(),
                domain: i.input.ad.domain.map(str::to_string),
                config_digest: config.digest(),
                config_source: i.input.config_source.clone(),
                ad_user_filter: config.ad.user_filter.as_ref().map(|f| f.value.clone()),
                ad_group_filter: config.ad.group_filter.as_ref().map(|f| f.value.clone()),
                iid_user_filter: config.iid.user_filter.as_ref().map(|f| f.value.clone()),
                iid_group_filter: config.iid.group_filter.as_ref().map(|f| f.value.clone()),
            }
        })
        .collect()
}

/// Reorders `items` so that position `i` holds what was at `order[i]` (a permutation),
/// by following its cycles with swaps.
fn permute<T>(items: &mut [T], mut order: Vec<usize>) {
    const DONE: usize = usize::MAX;
    for start in 0..order.len() {
        if order[start] == DONE {
            continue;
        }
        let mut at = start;
        loop {
            let from = std::mem::replace(&mut order[at], DONE);
            if from == start || from == DONE || from >= items.len() {
                break;
            }
            items.swap(at, from);
            at = from;
        }
    }
}

/// PATCH operations of a member action; members created by the plan are written
/// `action:N` (the replayer substitutes the created id).
fn member_ops(op: Op, members: &[MemberRef]) -> Vec<PatchOp> {
    let value_of = |m: &MemberRef| -> String {
        m.value
            .clone()
            .unwrap_or_else(|| format!("action:{}", m.created_by.unwrap_or(0)))
    };
    match op {
        Op::AddMembers => vec![PatchOp {
            op: "add".into(),
            path: Some("members".into()),
            value: Some(Value::Array(
                members
                    .iter()
                    .map(|m| json!({"value": value_of(m)}))
                    .collect(),
            )),
        }],
        _ => members
            .iter()
            .map(|m| PatchOp {
                op: "remove".into(),
                path: Some(format!("members[value eq \"{}\"]", value_of(m))),
                value: None,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn permute_puts_each_item_where_the_order_says() {
        for order in [
            vec![2usize, 0, 1],
            vec![0, 1, 2, 3],
            vec![3, 2, 1, 0],
            vec![1, 0, 3, 2, 4],
            vec![4, 0, 1, 2, 3],
        ] {
            let items: Vec<String> = (0..order.len()).map(|i| format!("x{i}")).collect();
            let want: Vec<String> = order.iter().map(|&i| items[i].clone()).collect();
            let mut got = items.clone();
            super::permute(&mut got, order.clone());
            assert_eq!(got, want, "{order:?}");
        }
    }
}
