//! What the inputs say about the run itself (the app refuses inputs that contradict each
//! other outright; these are the suspicious ones):
//!
//! * SNAPSHOT_TIME_GAP: the IIJ ID snapshot and an AD snapshot taken more than
//!   [`SNAPSHOT_GAP_HOURS`] apart — what changed in between on either side is in neither, so
//!   the plan describes a moment that never existed.
//! * DOMAIN_SYNCED_TWICE: two instances synchronize one AD domain. The precautions: never run
//!   two instances against the same domain; sync breaks.
//! * SNAPSHOT_REPEATED: one snapshot given in two roles (`--iid` and `--previous-iid`, `--ad`
//!   and `--previous-ad`): the history it was meant to give adds nothing.

use crate::findings;
use crate::inputs::Inputs;
use crate::plan_builder::PlanBuilder;

/// The largest gap between the AD and IIJ ID snapshots that goes without a finding.
pub(crate) const SNAPSHOT_GAP_HOURS: i64 = 24;

pub(crate) fn check(plan: &mut PlanBuilder, inputs: &Inputs<'_>) {
    if let Some(iid_taken) = inputs.iid.taken_at {
        for instance in &inputs.instances {
            let gap = instance.ad.taken_at - iid_taken;
            if gap.num_hours().abs() > SNAPSHOT_GAP_HOURS {
                plan.add_finding(
                    findings::snapshot_time_gap(
                        &instance.name,
                        instance.ad.taken_at,
                        iid_taken,
                        SNAPSHOT_GAP_HOURS,
                    ),
                    Vec::new(),
                );
            }
        }
    }
    for (i, first) in inputs.input_digests.iter().enumerate() {
        for second in inputs.input_digests.iter().skip(i + 1) {
            if first.digest == second.digest {
                plan.add_finding(findings::snapshot_repeated(first, second), Vec::new());
            }
        }
    }
    for (i, first) in inputs.instances.iter().enumerate() {
        let Some(domain) = first.ad.domain.filter(|d| !d.is_empty()) else {
            continue;
        };
        for second in inputs.instances.iter().skip(i + 1) {
            if second
                .ad
                .domain
                .is_some_and(|d| d.eq_ignore_ascii_case(domain))
            {
                plan.add_finding(
                    findings::domain_synced_twice(domain, &first.name, &second.name),
                    Vec::new(),
                );
            }
        }
    }
}
