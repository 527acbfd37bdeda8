//! `reconcile`: load the inputs, compute the plan (the pure engine), write the plan directory
//! atomically.

use crate::error::AppError;
use crate::inputs::{self, LoadedInputs, Options, Sources};
use crate::progress::{PhaseClock, Progress};
use chrono::Utc;
use dirsnap_plan::InputRef;
use dirsnap_plan::Plan;
use std::path::Path;

/// A plan and what it was computed from.
#[derive(Debug)]
pub struct Computed {
    pub plan: Plan,
    /// The rows the plan was computed from. The plan owns its data; they are handed back so
    /// a caller about to exit can leave freeing tens of millions of strings to the operating
    /// system. Their `refs` are what the plan directory's manifest records.
    pub inputs: LoadedInputs,
}

/// Everything `reconcile` does except writing the plan.
pub fn compute(
    sources: &Sources,
    options: &Options,
    progress: &dyn Progress,
) -> Result<Computed, AppError> {
    let clock = PhaseClock::start();
    let inputs = inputs::from_sources(sources, options, progress)?;
    progress.step("reconciling");
    let plan = dirsnap_reconcile::reconcile(&inputs.view())?;
    progress.step_done();
    clock.log("reconciled");
    Ok(Computed { plan, inputs })
}

/// Writes the plan directory atomically (it must not exist).
pub fn write_plan(
    out: &Path,
    plan: &Plan,
    refs: &[InputRef],
    progress: &dyn Progress,
) -> Result<(), AppError> {
    progress.step("writing the plan");
    dirsnap_report::write_plan_dir(out, plan, refs, Utc::now())?;
    progress.step_done();
    Ok(())
}

/// `dirsnap reconcile`: the plan computed from `sources` and written to `out`, which must
/// not exist (plans are immutable).
pub fn run(
    sources: &Sources,
    options: &Options,
    out: &Path,
    progress: &dyn Progress,
) -> Result<Computed, AppError> {
    if out.exists() {
        return Err(AppError::PlanExists {
            path: out.to_path_buf(),
        });
    }
    let clock = PhaseClock::start();
    let computed = compute(sources, options, progress)?;
    write_plan(out, &computed.plan, &computed.inputs.refs, progress)?;
    clock.log("wrote the plan");
    Ok(computed)
}
