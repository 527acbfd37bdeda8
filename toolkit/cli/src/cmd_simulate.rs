//! `dirsnap simulate`: the arguments, the printed result and the verdicts' exit code; the
//! work (reconcile → replay onto an in-process mock → reconcile again) is
//! `dirsnap_app::simulate`. Two verdicts: converged (the second plan has no action) and ready
//! (no blocking finding in either plan); exit 0 only when both hold, 3 otherwise.

use crate::cmd_reconcile::{self, ModeArg, SourceArgs, ThresholdArg};
use crate::error::CliError;
use crate::output::Steps;
use dirsnap_app::simulate::{Simulation, Verdict};
use dirsnap_plan::{Action, Plan};
use dirsnap_replay::ReplaySummary;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The config.yml to try, the AD snapshots, and the IIJ ID snapshot the mock starts from.
    #[command(flatten)]
    pub sources: SourceArgs,
    /// normal or recovery (default: normal with --previous-iid, recovery without).
    #[arg(long, value_enum)]
    pub mode: Option<ModeArg>,
    /// Accept an exceeded threshold in the verdict (as `reconcile --allow-threshold`).
    #[arg(long = "allow-threshold", value_enum)]
    pub allow_threshold: Vec<ThresholdArg>,
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
    crate::output::check_out("--out", &args.out, "simulations")?;
    let options = cmd_reconcile::options(args.mode, args.secret.clone(), &args.allow_threshold);
    let sim = dirsnap_app::simulate::run(
        &args.sources.sources()?,
        &options,
        args.concurrency,
        &args.out,
        &Steps::new(quiet),
    )?;
    if args.json {
        print!("{}", sim.json);
    } else {
        print_text(&args.out, &sim);
    }
    verdict(&args.out, &sim.verdict)
}

fn verdict(out: &Path, v: &Verdict) -> Result<(), CliError> {
    if v.passed() {
        return Ok(());
    }
    let converged = if v.converged {
        "the simulation converges (the next sync would send nothing)".to_string()
    } else {
        format!(
            "the simulation does NOT converge: after replaying the plan onto the mock, a second reconcile still has actions (listed above; {})",
            out.join("plan-after/report.html").display()
        )
    };
    let ready = if v.ready() {
        "no finding blocks it".to_string()
    } else {
        format!(
            "it is NOT ready: {} blocking finding(s) in the plan (`dirsnap replay` refuses it without --allow-blocked) and {} left after the replay (Directory Sync would meet them on every run); read them in {} and {}",
            v.blocked,
            v.blocked_after,
            out.join("plan/report.html").display(),
            out.join("plan-after/report.html").display()
        )
    };
    let joint = if v.converged { "but" } else { "and" };
    Err(CliError::Blocked(format!("{converged}, {joint} {ready}")))
}

fn print_text(out: &Path, sim: &Simulation) {
    let (plan, s, second, v): (&Plan, &ReplaySummary, &Plan, &Verdict) =
        (&sim.plan, &sim.replay, &sim.second, &sim.verdict);
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
        "4. re-plan     {} action(s) left, {} finding(s) ({} blocking)   {}",
        second.actions.len(),
        second.summary.findings,
        v.blocked_after,
        out.join("plan-after/report.html").display()
    );
    for a in second.actions.iter().take(50) {
        println!("     {}", describe(a));
    }
    if second.actions.len() > 50 {
        println!("     … and {} more", second.actions.len() - 50);
    }
    if v.converged {
        println!(
            "converged   yes: the second plan has no action; the next sync would send nothing"
        );
    } else {
        println!(
            "converged   NO: the {} action(s) above would still be sent by the next sync",
            second.actions.len()
        );
    }
    if v.ready() {
        println!("ready       yes: no blocking finding in the plan or after the replay");
    } else {
        println!(
            "ready       NO: {} blocking finding(s) in the plan, {} after the replay",
            v.blocked, v.blocked_after
        );
    }
    for (when, p) in [("plan", plan), ("after replay", second)] {
        let blocking: Vec<_> = p.findings.iter().filter(|f| f.blocks()).collect();
        for f in blocking.iter().take(20) {
            println!(
                "  blocking ({when}): {} {} — {}",
                f.code, f.subject, f.remediation
            );
        }
        if blocking.len() > 20 {
            println!("  … and {} more ({when})", blocking.len() - 20);
        }
    }
}
