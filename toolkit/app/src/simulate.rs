//! `simulate`: reconcile → replay the plan onto an in-process mock IIJ ID seeded from the IID
//! snapshot → dump the mock → reconcile again. Two verdicts, because they answer different
//! questions: the simulation *converges* when the second plan has no action (the next sync
//! would send nothing), and it is *ready* when neither plan has a blocking finding (a
//! recreated user, say, converges but makes Directory Sync log an error on every run).
//! Everything it did is left under OUT for review.
//!
//! The mock also holds the users the first plan takes as pending deletion though the IID
//! snapshot cannot show them (history, the console's list: `inputs::pending`), hidden and
//! holding their login IDs as IIJ ID does (MK1, MK2), so a replay meets the same 409 the
//! tenant would.
//!
//! The post-replay state is the mock's own store, not a SCIM export: IIJ ID hides users in
//! pending deletion from SCIM reads (assumption MK2), and the second reconcile must see them to
//! say what Directory Sync's next run would do about them (docs/guide.md, "simulate").

use crate::error::AppError;
use crate::inputs::{LoadedInputs, Options, Sources};
use crate::progress::{OpClock, PhaseClock, Progress};
use crate::reconcile::{self, Computed};
use dirsnap_config::Secret;
use dirsnap_durable::StagedDir;
use dirsnap_mock_scim::{IidTables, MockConfig, MockServer, Profile, TokenSpec};
use dirsnap_model::Membership;
use dirsnap_plan::InputRef;
use dirsnap_plan::{Mode, Plan};
use dirsnap_replay::{DeleteLimit, ReplayOptions, ReplaySummary};
use dirsnap_scim::{ClientOptions, ScimClient};
use serde_json::json;
use std::path::Path;

/// The verdicts of a simulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// The second plan has no action.
    pub converged: bool,
    /// Blocking findings of the first plan (what `replay` refuses without --allow-blocked).
    pub blocked: usize,
    /// Blocking findings of the second plan: what is still wrong after the replay, which the
    /// next sync meets on every run.
    pub blocked_after: usize,
}

impl Verdict {
    /// No blocking finding in either plan.
    pub fn ready(&self) -> bool {
        self.blocked == 0 && self.blocked_after == 0
    }

    /// Both verdicts hold: exit 0.
    pub fn passed(&self) -> bool {
        self.converged && self.ready()
    }
}

/// What a simulation did, as written under OUT.
#[derive(Debug)]
pub struct Simulation {
    pub plan: Plan,
    pub replay: ReplaySummary,
    /// The plan against the mock after the replay.
    pub second: Plan,
    pub verdict: Verdict,
    /// `simulation.json`'s text.
    pub json: String,
}

/// The second plan: the same AD against the mock after the replay. The mock holds the whole
/// truth then: no cache, no Microsoft 365 (its findings are not actions, and its state after
/// a sync is not simulated), the same instant; thresholds are the first plan's business.
fn second_sources(given: &Sources, after: &Path, plan: &Plan) -> (Sources, Options) {
    let sources = Sources {
        iid: after.to_path_buf(),
        m365: None,
        previous_iid: None,
        // The dump holds the pending users themselves.
        history: Vec::new(),
        pending_list: None,
        as_of: Some(plan.as_of),
        ..given.clone()
    };
    let options = Options {
        mode: Some(Mode::Recovery),
        secret: None,
        allow_thresholds: vec!["all".into()],
    };
    (sources, options)
}

/// `dirsnap simulate`: `out` must not exist. The first plan is computed exactly as
/// `reconcile` computes it from `sources` and `options`; `concurrency` requests are in flight
/// against the mock at once.
pub fn run(
    given: &Sources,
    options: &Options,
    concurrency: usize,
    out: &Path,
    progress: &dyn Progress,
) -> Result<Simulation, AppError> {
    if out.exists() {
        return Err(AppError::OutputExists {
            path: out.to_path_buf(),
        });
    }
    let config = dirsnap_config::load_config(&given.config)?;
    let started = std::time::Instant::now();
    // Timing lines of the simulation's phases (scripts/bench-simulate reads them).
    let clock = PhaseClock::start();

    // 1. The plan, exactly as `reconcile` computes it. Everything is written into a hidden
    // sibling of `out`, published by one rename at the end: an interrupted simulation leaves
    // nothing a rerun would refuse.
    let Computed { plan, inputs } = reconcile::compute(given, options, progress)?;
    let staged = StagedDir::create(out)?;
    let work = staged.path().to_path_buf();
    let plan_dir = work.join("plan");
    reconcile::write_plan(&plan_dir, &plan, &inputs.refs, progress)?;
    let pending_rows = pending_seed(&inputs, &config)?;
    drop(inputs);
    // The replay reads the plan back from plan/ (its journal is bound to plan.json's digest),
    // and a plan read back is the plan written (dirsnap-plan's round trip): hold one copy at a
    // time, not two beside the mock (at 298,000 actions a copy is about half a GiB).
    drop(plan);
    clock.log("simulate: first plan written");

    // 2. A mock IIJ ID with the config's profile rules, seeded from the IID snapshot.
    let mut profile = Profile::iij();
    profile
        .apply(&config.dirsnap.profile)
        .map_err(|source| AppError::MockProfile {
            path: given.config.clone(),
            source,
        })?;
    // The replay writes the linking ID where the mock keeps it: one parse of the profile key.
    let linking_id = profile.linking_id.clone();
    let token = format!("simulate-{}", std::process::id());
    let mut mock_config = MockConfig::with_profile(profile);
    mock_config.tokens.push(TokenSpec::new(token.clone()));
    mock_config.seed_snapshot = Some(given.iid.clone());
    mock_config.seed_extra = pending_rows;
    let mut server = MockServer::spawn(mock_config, "127.0.0.1:0")
        .map_err(|source| AppError::MockStart { source })?;
    tracing::info!(
        url = server.url(),
        "mock IIJ ID seeded from {}",
        given.iid.display()
    );
    clock.log("simulate: mock seeded");

    // 3. Replay the plan onto it. Thresholds and blocking findings are the verdict's business,
    // not a reason to stop half way; the mock starts from the IID snapshot, so no staleness,
    // and re-reading every target (one GET each, in sequence) to find none is skipped.
    let replay_options = ReplayOptions {
        concurrency: concurrency.max(1),
        delete_limit: DeleteLimit::Total(u64::MAX),
        force_stale: true,
        check_stale: false,
        allow_blocked: true,
        linking_id,
        ..ReplayOptions::default()
    };
    let client = ScimClient::new(ClientOptions::new(server.url(), Secret::new(token)))
        .map_err(|source| AppError::MockClient { source })?;
    let loaded =
        dirsnap_plan::load_plan(&plan_dir).map_err(|source| AppError::ReloadPlan { source })?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(AppError::AsyncRuntime)?;
    let bar = OpClock::new(progress.actions("replaying onto the mock"));
    let replayed = rt.block_on(dirsnap_replay::replay(
        &client,
        &loaded,
        &replay_options,
        &bar,
    ));
    drop(bar);
    let plan = loaded.plan;
    let summary: ReplaySummary = match replayed {
        Ok(s) => s,
        Err(dirsnap_replay::ReplayError::Stopped { summary, .. }) => *summary,
        Err(source) => return Err(AppError::MockReplay { source }),
    };
    clock.log("simulate: replayed");

    // 4. The mock's state after the replay, then the second plan.
    let after = work.join("iid-after");
    server
        .dump_snapshot(&after)
        .map_err(|source| AppError::MockDump {
            path: after.clone(),
            source,
        })?;
    server.stop();
    // The mock's state is in the dump now: free it before the second plan needs the memory.
    drop(server);
    clock.log("simulate: mock dumped");
    let (sources, second_options) = second_sources(given, &after, &plan);
    let Computed {
        plan: second,
        inputs: second_inputs,
    } = reconcile::compute(&sources, &second_options, progress)?;
    // The second plan records where its IIJ ID input will be once published.
    let refs: Vec<InputRef> = second_inputs
        .refs
        .iter()
        .map(|r| relocated(r, &work, out))
        .collect();
    reconcile::write_plan(&work.join("plan-after"), &second, &refs, progress)?;
    drop(second_inputs);
    clock.log("simulate: second plan written");

    let verdict = Verdict {
        converged: second.actions.is_empty(),
        blocked: plan.findings.iter().filter(|f| f.blocks()).count(),
        blocked_after: second.findings.iter().filter(|f| f.blocks()).count(),
    };
    let report = report_json(out, &plan, &summary, &second, &verdict, started.elapsed());
    let json = serde_json::to_string_pretty(&report).map_err(|source| AppError::Encode {
        path: out.join("simulation.json"),
        source,
    })? + "\n";
    dirsnap_durable::write_synced(&work.join("simulation.json"), json.as_bytes())?;
    staged.publish()?;
    Ok(Simulation {
        plan,
        replay: summary,
        second,
        verdict,
        json,
    })
}

/// The users the loader added as pending deletion (the tail of the live users) and their
/// memberships, as rows the mock loads with the snapshot; `None` when there are none.
fn pending_seed(
    inputs: &LoadedInputs,
    config: &dirsnap_config::DsConfig,
) -> Result<Option<IidTables>, AppError> {
    let added = inputs.pending.evidence.len();
    if added == 0 {
        return Ok(None);
    }
    let users = &inputs.iid.rows.users;
    let (profile, _) = dirsnap_reconcile::profile::Profile::from_config(
        &config.path.display().to_string(),
        &config.dirsnap.profile,
    )?;
    let mut tables = IidTables::default();
    for u in users.iter().skip(users.len().saturating_sub(added)) {
        let mut row = u.to_row();
        // Read without `raw` (nothing needed it): the mock loads SCIM JSON.
        if row.raw.is_empty() {
            row.raw = dirsnap_reconcile::user_json(&row, &profile).to_string();
        }
        tables.users.push(row);
    }
    for e in &inputs.pending.edges {
        let Some(member) = &e.member else { continue };
        tables.memberships.push(Membership {
            group_key: e.group.to_string(),
            member_key: Some(member.to_string()),
            member_kind: e.kind,
            member_ref: None,
            member_display: None,
            in_scope: true,
        });
    }
    Ok(Some(tables))
}

/// `r` with a path under `from` moved under `to`.
fn relocated(r: &InputRef, from: &Path, to: &Path) -> InputRef {
    let path = Path::new(&r.path).strip_prefix(from).map_or_else(
        |_| r.path.clone(),
        |rest| to.join(rest).display().to_string(),
    );
    InputRef { path, ..r.clone() }
}

/// `simulation.json`: the verdicts, where everything is, and what each step did.
fn report_json(
    out: &Path,
    plan: &Plan,
    s: &ReplaySummary,
    second: &Plan,
    v: &Verdict,
    elapsed: std::time::Duration,
) -> serde_json::Value {
    let t = s.total();
    let finding = |f: &dirsnap_plan::Finding| {
        json!({"code": f.code, "severity": f.severity, "subject": f.subject,
               "message": f.message, "remediation": f.remediation})
    };
    json!({
        "converged": v.converged,
        "ready": v.ready(),
        "blocked": !v.ready(),
        "plan": out.join("plan").display().to_string(),
        "report": out.join("plan/report.html").display().to_string(),
        "post_replay_snapshot": out.join("iid-after").display().to_string(),
        "second_plan": out.join("plan-after").display().to_string(),
        "first": {"actions": plan.summary.actions, "by_op": plan.summary.by_op,
                  "findings": plan.summary.findings, "by_severity": plan.summary.by_severity,
                  "blocking_findings": v.blocked,
                  "blocking": plan.findings.iter().filter(|f| f.blocks()).map(finding)
                      .collect::<Vec<_>>()},
        "replay": {"applied": t.applied, "already_done": t.already_done, "failed": t.failed,
                   "skipped": t.skipped, "seconds": s.elapsed.as_secs_f64(),
                   "failures": s.failures.iter().map(|f| json!({
                       "seq": f.seq, "op": f.op.as_str(), "subject": f.subject,
                       "status": f.status, "message": f.message})).collect::<Vec<_>>()},
        "not_converged": second.actions.iter().map(|a| json!({
            "op": a.op.as_str(), "subject": a.user_name.as_deref().or(a.display_name.as_deref()),
            "rule": a.rule, "reason": a.reason})).collect::<Vec<_>>(),
        "second": {"actions": second.summary.actions, "findings": second.summary.findings,
                   "by_severity": second.summary.by_severity,
                   "blocking_findings": v.blocked_after,
                   "blocking": second.findings.iter().filter(|f| f.blocks()).map(finding)
                       .collect::<Vec<_>>()},
        "seconds": elapsed.as_secs_f64(),
    })
}
