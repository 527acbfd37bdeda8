//! `replay --verify`: after a replay, proves convergence. The objects the plan touched are
//! read again from the target (their state now), laid over the IIJ ID snapshot the plan was
//! computed from, and the same AD snapshot(s) and config are reconciled again. Every action
//! of that second plan is one the tenant still needs: zero means the replay converged.
//!
//! Only the plan's own objects are re-read: objects it left alone keep their snapshot rows,
//! so for them the second reconcile decides exactly what the first did (nothing). The inputs
//! come from `manifest.json` and must still be there, byte for byte (their digests):
//! [`crate::inputs::from_plan`].

mod explain;
mod overlay;

use crate::error::AppError;
use crate::inputs;
use dirsnap_config::DsConfig;
use dirsnap_model::scim_json::LinkingIdPath;
use dirsnap_plan::PlanDir;
use dirsnap_plan::{Action, Op};
use dirsnap_reconcile::THRESHOLD_CATEGORIES;
use dirsnap_replay::Failure;
use dirsnap_replay::journal::{self, JOURNAL_FILE};
use dirsnap_scim::{ScimClient, ScimError};
use overlay::{Fresh, overlay, read_objects, touched};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// The config the replay was started with; used when its digest is the recorded one
    /// (else the recorded path is read).
    pub config: Option<DsConfig>,
    pub linking_id: LinkingIdPath,
    /// Reads in flight at once.
    pub concurrency: usize,
}

/// An action the tenant still needs after the replay.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    /// The action of the second reconcile (its `seq` numbers that plan, not the replayed one).
    pub action: Action,
    /// The replayed plan's action for the same object and op, when there is one.
    pub planned_seq: Option<u32>,
    /// Why it is still pending, for people.
    pub why: String,
}

/// What `--verify` found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verification {
    pub users_read: usize,
    pub groups_read: usize,
    pub pending: Vec<Pending>,
    pub notes: Vec<String>,
}

impl Verification {
    pub fn converged(&self) -> bool {
        self.pending.is_empty()
    }
}

/// Checks, before anything is applied, that every input `--verify` will need is still there
/// and unchanged, so a replay never ends with a verification that cannot run.
pub fn check_inputs(plan: &PlanDir, options: &VerifyOptions) -> Result<(), AppError> {
    inputs::check_recorded(plan, options.config.as_ref())
}

/// Re-reads the touched objects, reconciles again, returns what is still pending. `failures`
/// (the replay's own) sharpen the explanations.
pub async fn verify(
    client: &ScimClient,
    plan: &PlanDir,
    options: &VerifyOptions,
    failures: &[Failure],
) -> Result<Verification, AppError> {
    // The inputs, checked before anything is read from the tenant.
    let mut inputs = inputs::from_plan(plan, options.config.as_ref())?;
    // Thresholds were reviewed with the plan; they block, they do not remove actions.
    inputs.allow_thresholds = THRESHOLD_CATEGORIES.iter().map(|s| s.to_string()).collect();

    // The touched objects, now.
    let (history, _) = journal::read(&plan.dir.join(JOURNAL_FILE), &plan.digest)?;
    let (user_ids, group_ids) = touched(plan, &history);
    let concurrency = options.concurrency.max(1);
    let scim = |source: ScimError| {
        if source.is_auth() {
            AppError::VerifyAuth { source }
        } else {
            AppError::VerifyRead { source }
        }
    };
    let fresh_users = read_objects(client, "Users", &user_ids, concurrency)
        .await
        .map_err(scim)?;
    let fresh_groups = read_objects(client, "Groups", &group_ids, concurrency)
        .await
        .map_err(scim)?;
    // Users this plan put into pending deletion, and those it found pending though the
    // listing lacked them: a 404 for either is pending deletion, not a deletion.
    let pending_deleted: BTreeSet<String> = plan
        .plan
        .actions
        .iter()
        .filter(|a| a.op == Op::PendingDeleteUser)
        .filter_map(|a| a.target.clone())
        .chain(inputs.pending.evidence.iter().map(|e| e.id.clone()))
        .collect();
    inputs.iid.rows = overlay(
        &inputs.iid.rows,
        &fresh_users,
        &fresh_groups,
        &pending_deleted,
        &options.linking_id,
    )?;
    if let Some(p) = &mut inputs.previous_iid {
        p.rows = overlay(
            &p.rows,
            &fresh_users,
            &fresh_groups,
            &pending_deleted,
            &options.linking_id,
        )?;
    }
    let again = dirsnap_reconcile::reconcile(&inputs.view())
        .map_err(|source| AppError::ReconcileAgain { source })?;

    let created: BTreeMap<u32, String> = plan
        .plan
        .actions
        .iter()
        .filter(|a| matches!(a.op, Op::CreateUser | Op::CreateGroup))
        .filter_map(|a| match history.done_id(a.seq) {
            Some(Some(id)) => Some((a.seq, id.to_string())),
            _ => None,
        })
        .collect();
    let pending = again
        .actions
        .into_iter()
        .map(|action| {
            let (planned_seq, why) = explain::explain(&action, plan, &history, &created, failures);
            Pending {
                action,
                planned_seq,
                why,
            }
        })
        .collect();
    let mut notes = Vec::new();
    let gone_unexpectedly: Vec<&String> = fresh_users
        .iter()
        .filter(|(id, f)| matches!(f, Fresh::Gone) && !pending_deleted.contains(*id))
        .map(|(id, _)| id)
        .collect();
    if !gone_unexpectedly.is_empty() {
        notes.push(format!(
            "{} touched user(s) answered 404 although the plan did not delete them",
            gone_unexpectedly.len()
        ));
    }
    Ok(Verification {
        users_read: fresh_users.len(),
        groups_read: fresh_groups.len(),
        pending,
        notes,
    })
}
