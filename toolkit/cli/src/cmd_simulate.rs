//! `dirsnap simulate`: reconcile → replay the plan onto an in-process mock IIJ ID seeded from
//! the IID snapshot → dump the mock → reconcile again (SPEC §2). The simulation converges when
//! the second plan has no action; everything it did is left under `--out` for review.
//!
//! The post-replay state is the mock's own store, not a SCIM export: IIJ ID hides users in
//! pending deletion from SCIM reads (assumption MK2), and the second reconcile must see them to
//! say what Directory Sync's next run would do about them (docs/guide.md, "simulate").

use crate::cmd_reconcile::{self, Computed, Options, Sources};
use crate::error::CliError;
use crate::output::ActionsBar;
use dirsnap_config::{Secret, load_config};
use dirsnap_mock_scim::{MockConfig, MockServer, Profile, TokenSpec};
use dirsnap_reconcile::{Action, Plan};
use dirsnap_replay::{DeleteLimit, ReplayOptions, ReplaySummary};
use dirsnap_scim::{ClientOptions, ScimClient};
use serde_json::json;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The config.yml to try, the AD snapshots, and the IIJ ID snapshot the mock starts from.
    #[command(flatten)]
    pub sources: Sources,
    /// normal or recovery (default: normal with --previous-iid, recovery without).
    #[arg(long)]
    pub mode: Option<String>,
    /// Accept an exceeded threshold in the verdict (as `reconcile --allow-threshold`).
    #[arg(long = "allow-threshold")]
    pub allow_threshold: Vec<String>,
    /// secret.yml, to check when the IIJ ID access token expires (TOKEN_EXPIRING); the
    /// simulation itself never uses it.
    #[arg(long)]
    pub secret: Option<PathBuf>,
    /// Directory to create: plan/, iid-after/, plan-after/, simulation.json.
    #[arg(long)]
    pub out: PathBuf,
    /// Requests in flight at once against the mock.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Print the result as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

fn runtime(msg: impl std::fmt::Display) -> CliError {
    CliError::Runtime(msg.to_string())
}

/// The first plan: as `reconcile` would compute it from the same arguments.
fn first(args: &Args) -> Options {
    Options {
        mode: args.mode.clone(),
        secret: args.secret.clone(),
        allow_threshold: args.allow_threshold.clone(),
    }
}

/// The second plan: the same AD against the mock after the replay. The mock holds the whole
/// truth then: no cache, no Microsoft 365 (its findings are not actions, and its state after
/// a sync is not simulated), the same instant.
fn second(args: &Args, after: &Path, as_of: String) -> (Sources, Options) {
    let sources = Sources {
        iid: after.to_path_buf(),
        m365: None,
        previous_iid: None,
        as_of: Some(as_of),
        ..args.sources.clone()
    };
    let options = Options {
        mode: Some("recovery".into()),
        secret: None,
        allow_threshold: vec!["all".into()],
    };
    (sources, options)
}

/// One line per action: what it is and about whom.
fn describe(a: &Action) -> String {
    let who = a
        .user_name
        .as_deref()
        .or(a.display_name.as_deref())
        .or(a.target.as_deref())
        .unwrap_or("?");
    format!("{} {} ({}): {}", a.op.as_str(), who, a.rule, a.reason)
}

pub fn run(args: Args, quiet: bool) -> Result<(), CliError> {
    if args.out.exists() {
        return Err(CliError::Input(format!(
            "{}: already exists; choose a new --out directory",
            args.out.display()
        )));
    }
    let config = load_config(&args.sources.config)?;
    let started = std::time::Instant::now();

    // 1. The plan, exactly as `reconcile` computes it.
    let Computed { plan, refs, .. } = cmd_reconcile::compute(&args.sources, &first(&args), quiet)?;
    std::fs::create_dir_all(&args.out)
        .map_err(|e| runtime(format!("{}: cannot create: {e}", args.out.display())))?;
    let plan_dir = args.out.join("plan");
    cmd_reconcile::write_plan(&plan_dir, &plan, &refs, quiet)?;

    // 2. A mock IIJ ID with the config's profile rules, seeded from the IID snapshot.
    let mut profile = Profile::iij();
    profile.apply(&config.dirsnap.profile).map_err(|e| {
        CliError::Input(format!(
            "{}: dirsnap.profile: {e}",
            args.sources.config.display()
        ))
    })?;
    // The replay writes the linking ID where the mock keeps it: one parse of the profile key.
    let linking_id = profile.linking_id.clone();
    let token = format!("simulate-{}", std::process::id());
    let mut mock_config = MockConfig::with_profile(profile);
    mock_config.tokens.push(TokenSpec::new(token.clone()));
    mock_config.seed_snapshot = Some(args.sources.iid.clone());
    let mut server = MockServer::spawn(mock_config, "127.0.0.1:0")
        .map_err(|e| runtime(format!("cannot start the in-process mock IIJ ID: {e}")))?;
    tracing::info!(
        url = server.url(),
        "mock IIJ ID seeded from {}",
        args.sources.iid.display()
    );

    // 3. Replay the plan onto it. Thresholds and blocking findings are the verdict's business,
    // not a reason to stop half way; the mock starts from the IID snapshot, so no staleness.
    let options = ReplayOptions {
        concurrency: args.concurrency.max(1),
        delete_limit: DeleteLimit::Total(u64::MAX),
        force_stale: true,
        allow_blocked: true,
        linking_id,
        ..ReplayOptions::default()
    };
    let client = ScimClient::new(ClientOptions::new(server.url(), Secret::new(token)))
        .map_err(|e| runtime(format!("SCIM client for the mock: {e}")))?;
    let loaded = dirsnap_replay::load_plan(&plan_dir).map_err(runtime)?;
    let bar = ActionsBar::new(quiet, "replaying onto the mock");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| runtime(format!("cannot start the async runtime: {e}")))?;
    let replayed = rt.block_on(dirsnap_replay::replay(&client, &loaded, &options, &bar));
    bar.finish();
    let summary: ReplaySummary = match replayed {
        Ok(s) => s,
        Err(dirsnap_replay::ReplayError::Stopped { summary, .. }) => *summary,
        Err(e) => return Err(runtime(format!("replay onto the mock: {e}"))),
    };

    // 4. The mock's state after the replay, then the second plan.
    let after = args.out.join("iid-after");
    server
        .dump_snapshot(&after)
        .map_err(|e| runtime(format!("dumping the mock to {}: {e}", after.display())))?;
    server.stop();
    let (sources, options) = second(&args, &after, plan.as_of.to_rfc3339());
    let Computed {
        plan: second,
        refs: second_refs,
        ..
    } = cmd_reconcile::compute(&sources, &options, quiet)?;
    cmd_reconcile::write_plan(&args.out.join("plan-after"), &second, &second_refs, quiet)?;

    let outcome = Verdict::of(&plan, &second);
    let report = outcome.to_json(&args.out, &plan, &summary, &second, started.elapsed());
    let text = serde_json::to_string_pretty(&report).map_err(runtime)? + "\n";
    // Written last and renamed into place: its presence means the simulation ran to the end.
    let path = args.out.join("simulation.json");
    let tmp = args.out.join(".simulation.json.tmp");
    std::fs::write(&tmp, &text)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| runtime(format!("{}: {e}", path.display())))?;
    if args.json {
        print!("{text}");
    } else {
        print_text(&args.out, &plan, &summary, &second, &outcome);
    }
    outcome.into_result(&args.out)
}

struct Verdict {
    converged: bool,
    blocked: usize,
}

impl Verdict {
    fn of(plan: &Plan, second: &Plan) -> Verdict {
        Verdict {
            converged: second.actions.is_empty(),
            blocked: plan.findings.iter().filter(|f| f.blocks()).count(),
        }
    }

    fn to_json(
        &self,
        out: &Path,
        plan: &Plan,
        s: &ReplaySummary,
        second: &Plan,
        elapsed: std::time::Duration,
    ) -> serde_json::Value {
        let t = s.total();
        json!({
            "converged": self.converged,
            "blocked": self.blocked > 0,
            "plan": out.join("plan").display().to_string(),
            "report": out.join("plan/report.html").display().to_string(),
            "post_replay_snapshot": out.join("iid-after").display().to_string(),
            "second_plan": out.join("plan-after").display().to_string(),
            "first": {"actions": plan.summary.actions, "by_op": plan.summary.by_op,
                      "findings": plan.summary.findings, "by_severity": plan.summary.by_severity,
                      "blocking_findings": self.blocked},
            "replay": {"applied": t.applied, "already_done": t.already_done, "failed": t.failed,
                       "skipped": t.skipped, "seconds": s.elapsed.as_secs_f64(),
                       "failures": s.failures.iter().map(|f| json!({
                           "seq": f.seq, "op": f.op.as_str(), "subject": f.subject,
                           "status": f.status, "message": f.message})).collect::<Vec<_>>()},
            "not_converged": second.actions.iter().map(|a| json!({
                "op": a.op.as_str(), "subject": a.user_name.as_deref().or(a.display_name.as_deref()),
                "rule": a.rule, "reason": a.reason})).collect::<Vec<_>>(),
            "seconds": elapsed.as_secs_f64(),
        })
    }

    fn into_result(self, out: &Path) -> Result<(), CliError> {
        match (self.converged, self.blocked) {
            (true, 0) => Ok(()),
            (true, n) => Err(CliError::Blocked(format!(
                "the simulation converges, but the plan has {n} blocking finding(s) that `dirsnap replay` refuses without --allow-blocked; read them in {}",
                out.join("plan/report.html").display()
            ))),
            (false, _) => Err(CliError::Blocked(format!(
                "the simulation does not converge: after replaying the plan onto the mock, a second reconcile still has actions (listed above; {})",
                out.join("plan-after/report.html").display()
            ))),
        }
    }
}

fn print_text(out: &Path, plan: &Plan, s: &ReplaySummary, second: &Plan, v: &Verdict) {
    let t = s.total();
    println!("simulation under {}", out.display());
    println!(
        "1. plan        {} action(s), {} finding(s) ({} blocking)   {}",
        plan.summary.actions,
        plan.summary.findings,
        v.blocked,
        out.join("plan/report.html").display()
    );
    println!(
        "2. replay      {} applied, {} already done, {} failed, {} skipped on the mock in {:.1} s",
        t.applied,
        t.already_done,
        t.failed,
        t.skipped,
        s.elapsed.as_secs_f64()
    );
    for f in &s.failures {
        println!(
            "     failed: action {} {} {}: {}",
            f.seq,
            f.op.as_str(),
            f.subject,
            f.message
        );
    }
    println!("3. mock after  {}", out.join("iid-after").display());
    println!(
        "4. re-plan     {} action(s) left   {}",
        second.actions.len(),
        out.join("plan-after/report.html").display()
    );
    for a in second.actions.iter().take(50) {
        println!("     {}", describe(a));
    }
    if second.actions.len() > 50 {
        println!("     … and {} more", second.actions.len() - 50);
    }
    if v.converged {
        println!("converged: replaying this plan leaves nothing for the next sync to do");
    } else {
        println!("NOT converged: the actions above would still be sent by the next sync");
    }
    let blocking: Vec<_> = plan.findings.iter().filter(|f| f.blocks()).collect();
    for f in blocking.iter().take(20) {
        println!("  blocking: {} {} — {}", f.code, f.subject, f.remediation);
    }
}
