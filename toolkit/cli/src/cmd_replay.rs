//! `dirsnap replay PLAN`: executes a reviewed plan against IIJ ID over SCIM, resumably
//! (SPEC §6, docs/replay.md).

use crate::error::CliError;
use crate::output::ActionsBar;
use dirsnap_app::verify::{Verification, VerifyOptions, check_inputs, verify};
use dirsnap_config::{Threshold, load_config, load_secrets};
use dirsnap_model::scim_json::LinkingIdPath;
use dirsnap_plan::load_plan;
use dirsnap_replay::{DeleteLimit, ReplayError, ReplayOptions, ReplaySummary, StopCause, replay};
use dirsnap_scim::{ClientOptions, ScimClient};
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Plan directory written by `dirsnap reconcile --out`.
    pub plan: PathBuf,
    /// Directory Sync config.yml.
    #[arg(long)]
    pub config: PathBuf,
    /// secret.yml with the IIJ ID access token (else DIRSNAP_IID_TOKEN).
    #[arg(long)]
    pub secret: Option<PathBuf>,
    /// SCIM endpoint (default: iid.scim.url, else https://scim.auth.iij.jp/scim/v2/).
    #[arg(long)]
    pub base_url: Option<String>,
    /// Check for staleness and print the requests that would be sent; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Requests started per second at most.
    #[arg(long)]
    pub max_rps: Option<f64>,
    /// Pending deletions plus group deletes allowed (default: the config's count thresholds).
    #[arg(long)]
    pub allow_deletes: Option<u64>,
    /// Apply although objects changed in IIJ ID since the plan was computed.
    #[arg(long)]
    pub force_stale: bool,
    /// Apply a plan that has blocking error findings (they name objects the plan leaves alone).
    #[arg(long)]
    pub allow_blocked: bool,
    /// Extra PEM CA certificates to trust for the SCIM endpoint.
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
    /// Seconds before one request times out.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
    /// After applying, re-read the objects the plan touched, reconcile the plan's own inputs
    /// again and report every action still pending (exit 1 unless none is).
    #[arg(long)]
    pub verify: bool,
    /// Print the outcome as JSON on stdout (counts, failures, journal, duration, why it
    /// stopped and the command that resumes it); the summary for people stays on stderr.
    #[arg(long)]
    pub json: bool,
}

fn count(t: &Threshold) -> Option<u64> {
    match t {
        Threshold::Count(n) => Some(*n),
        // A percentage was checked against the population by reconcile.
        Threshold::Percent(_) => None,
    }
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The command line that resumes this run: the same one (the journal makes it resume), with
/// `--allow-deletes N` in place of any it had when `allow_deletes` is given — repeating the
/// limit that stopped a run would only stop it again.
fn resume_command(allow_deletes: Option<u64>) -> String {
    resume_command_from(std::env::args().collect(), allow_deletes)
}

fn resume_command_from(mut args: Vec<String>, allow_deletes: Option<u64>) -> String {
    if let Some(first) = args.first_mut() {
        *first = "dirsnap".into();
    }
    if let Some(n) = allow_deletes {
        let mut kept = Vec::with_capacity(args.len() + 2);
        let mut it = args.into_iter();
        while let Some(a) = it.next() {
            if a == "--allow-deletes" {
                it.next();
            } else if !a.starts_with("--allow-deletes=") {
                kept.push(a);
            }
        }
        kept.push("--allow-deletes".into());
        kept.push(n.to_string());
        args = kept;
    }
    args.iter()
        .map(|a| shell_quote(a))
        .collect::<Vec<_>>()
        .join(" ")
}

fn print_verification(v: &Verification) {
    eprintln!(
        "verify: re-read {} user(s) and {} group(s) the plan touched and reconciled its inputs again",
        v.users_read, v.groups_read
    );
    for n in &v.notes {
        eprintln!("verify: note: {n}");
    }
    if v.converged() {
        eprintln!("verify: converged: no action is pending");
        return;
    }
    eprintln!(
        "verify: NOT converged: {} action(s) still pending:",
        v.pending.len()
    );
    for p in &v.pending {
        let a = &p.action;
        let who = a
            .user_name
            .as_deref()
            .map(|u| format!("user {u}"))
            .or_else(|| a.display_name.as_deref().map(|g| format!("group {g}")))
            .unwrap_or_else(|| {
                format!(
                    "{} {}",
                    a.resource.as_str(),
                    a.target.as_deref().unwrap_or("?")
                )
            });
        let id = a
            .target
            .as_deref()
            .map(|t| format!(" ({t})"))
            .unwrap_or_default();
        eprintln!("  pending: {} {who}{id}", a.op.as_str());
        eprintln!("    why: {}", p.why);
    }
}

fn print_summary(s: &ReplaySummary) {
    eprintln!(
        "{:<22} {:>8} {:>12} {:>10} {:>7} {:>8}",
        "op", "applied", "already done", "earlier", "failed", "skipped"
    );
    let mut rows: Vec<_> = s.by_op.iter().collect();
    rows.sort_by_key(|(op, _)| op.rank());
    for (op, t) in rows {
        eprintln!(
            "{:<22} {:>8} {:>12} {:>10} {:>7} {:>8}",
            op.as_str(),
            t.applied,
            t.already_done,
            t.previously_done,
            t.failed,
            t.skipped
        );
    }
    let t = s.total();
    eprintln!(
        "{:<22} {:>8} {:>12} {:>10} {:>7} {:>8}   in {:.1} s",
        "total",
        t.applied,
        t.already_done,
        t.previously_done,
        t.failed,
        t.skipped,
        s.elapsed.as_secs_f64()
    );
    for f in &s.failures {
        eprintln!(
            "failed: action {} {} {}: {}",
            f.seq,
            f.op.as_str(),
            f.subject,
            f.message
        );
    }
    for n in &s.notes {
        eprintln!("note: {n}");
    }
    if let Some(j) = &s.journal {
        eprintln!("journal: {}", j.display());
    }
}

/// How a replay ended, for the exit code, the message and `--json`.
struct Ended<'a> {
    args: &'a Args,
    plan_dir: &'a std::path::Path,
    summary: Option<&'a ReplaySummary>,
    verification: Option<&'a Verification>,
    stop: Option<(&'a str, StopCause)>,
    resume: Option<String>,
}

impl Ended<'_> {
    fn outcome(&self) -> &'static str {
        if self.stop.is_some() {
            return "stopped";
        }
        let failed = self
            .summary
            .map_or(0, |s| s.total().failed + s.total().skipped);
        if failed > 0 {
            "failed"
        } else if self.verification.is_some_and(|v| !v.converged()) {
            "not_converged"
        } else if self.args.dry_run {
            "dry_run"
        } else {
            "done"
        }
    }

    fn json(&self, exit: u8) -> serde_json::Value {
        use serde_json::json;
        let tally = |t: &dirsnap_replay::Tally| {
            json!({"applied": t.applied, "already_done": t.already_done,
                   "previously_done": t.previously_done, "failed": t.failed,
                   "skipped": t.skipped})
        };
        let s = self.summary;
        let mut by_op = serde_json::Map::new();
        if let Some(s) = s {
            let mut rows: Vec<_> = s.by_op.iter().collect();
            rows.sort_by_key(|(op, _)| op.rank());
            for (op, t) in rows {
                by_op.insert(op.as_str().into(), tally(t));
            }
        }
        json!({
            "plan": self.plan_dir.display().to_string(),
            "dry_run": self.args.dry_run,
            "outcome": self.outcome(),
            "exit_code": exit,
            "counts": s.map(|s| tally(&s.total())),
            "by_op": by_op,
            "failures": s.map_or_else(Vec::new, |s| s.failures.iter().map(|f| json!({
                "seq": f.seq, "op": f.op.as_str(), "subject": f.subject,
                "status": f.status, "message": f.message})).collect()),
            "notes": s.map_or_else(Vec::new, |s| s.notes.clone()),
            "journal": s.and_then(|s| s.journal.as_ref()).map(|j| j.display().to_string()),
            "duration_seconds": s.map(|s| s.elapsed.as_secs_f64()),
            "stop": self.stop.map(|(reason, cause)| {
                let (name, deletions) = match cause {
                    StopCause::Auth => ("auth", None),
                    StopCause::DeleteLimit { deletions } => ("delete_limit", Some(deletions)),
                    StopCause::Interrupted => ("interrupted", None),
                };
                json!({"reason": reason, "cause": name, "deletions": deletions})
            }),
            "resume_command": self.resume,
            "requests": self.args.dry_run.then(|| s.map_or_else(Vec::new, |s| s.planned.iter().map(|r| json!({
                "seq": r.seq, "op": r.op.as_str(), "method": r.method, "path": r.path,
                "body": r.body})).collect())),
            "verify": self.verification.map(|v| json!({
                "converged": v.converged(),
                "users_read": v.users_read,
                "groups_read": v.groups_read,
                "notes": v.notes,
                "pending": v.pending.iter().map(|p| json!({
                    "op": p.action.op.as_str(),
                    "resource": p.action.resource.as_str(),
                    "target": p.action.target,
                    "userName": p.action.user_name,
                    "displayName": p.action.display_name,
                    "planned_seq": p.planned_seq,
                    "why": p.why})).collect::<Vec<_>>(),
            })),
        })
    }
}

pub fn run(args: Args, quiet: bool) -> Result<(), CliError> {
    let config = load_config(&args.config)?;
    let plan = load_plan(&args.plan)?;
    let secrets = load_secrets(args.secret.as_deref(), &|k| std::env::var(k).ok())?;
    let Some((token, _source)) = secrets.iid_token else {
        return Err(CliError::Input(
            "no IIJ ID access token: set DIRSNAP_IID_TOKEN or pass --secret secret.yml \
             (key iid.scim.access_token)"
                .into(),
        ));
    };
    let linking_id = config
        .profile_settings()?
        .application_linking_id
        .as_deref()
        .map_or_else(LinkingIdPath::default, LinkingIdPath::parse);
    let th = &config.dirsnap.thresholds;
    let options = ReplayOptions {
        concurrency: args.concurrency.max(1),
        max_rps: args.max_rps,
        delete_limit: match args.allow_deletes {
            Some(n) => DeleteLimit::Total(n),
            None => DeleteLimit::PerKind {
                users: count(&th.pending_deletions),
                groups: count(&th.group_deletes),
            },
        },
        force_stale: args.force_stale,
        check_stale: true,
        dry_run: args.dry_run,
        linking_id,
        allow_blocked: args.allow_blocked,
        interrupt: dirsnap_replay::Interrupt::default(),
    };
    let mut client_options = ClientOptions::new(config.scim_url(args.base_url.as_deref()), token);
    client_options.proxy = match (&config.iid.proxy.enabled, &config.iid.proxy.address) {
        (true, Some(address)) => Some(match config.iid.proxy.port {
            Some(port) => format!("http://{address}:{port}"),
            None => format!("http://{address}"),
        }),
        _ => None,
    };
    client_options.ca_file = args.ca_file.clone();
    client_options.timeout = Duration::from_secs(args.timeout.max(1));
    let client = ScimClient::new(client_options).map_err(CliError::ScimSetup)?;
    let verify_options = VerifyOptions {
        config: Some(config.clone()),
        linking_id: options.linking_id.clone(),
        concurrency: options.concurrency,
    };
    if args.verify {
        if args.dry_run {
            return Err(CliError::Input(
                "--verify checks what a replay applied, and --dry-run applies nothing; use one or the other".into(),
            ));
        }
        // Before anything is applied: a verification that cannot run must not be found out
        // after the writes.
        check_inputs(&plan, &verify_options)?;
    }

    let bar = ActionsBar::new(quiet || args.dry_run, "actions");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::system("cannot start the async runtime"))?;
    if !args.dry_run {
        runtime.spawn(crate::interrupt::stop_on_signal(options.interrupt.clone()));
    }
    let result = runtime.block_on(replay(&client, &plan, &options, &bar));
    bar.finish();
    let mut ended = Ended {
        args: &args,
        plan_dir: &plan.dir,
        summary: None,
        verification: None,
        stop: None,
        resume: None,
    };
    let verification;
    let outcome = match &result {
        Ok(s) if args.dry_run => {
            ended.summary = Some(s);
            if !args.json {
                print_requests(s);
            }
            for n in &s.notes {
                eprintln!("note: {n}");
            }
            if !quiet {
                eprintln!(
                    "dry run: {} request(s) would be sent; nothing was written",
                    s.planned.len()
                );
            }
            Ok(())
        }
        Ok(s) => {
            ended.summary = Some(s);
            if !quiet || !s.failures.is_empty() {
                print_summary(s);
            }
            verification = if args.verify {
                let v = runtime.block_on(verify(&client, &plan, &verify_options, &s.failures))?;
                if !quiet || !v.converged() {
                    print_verification(&v);
                }
                Some(v)
            } else {
                None
            };
            ended.verification = verification.as_ref();
            let failed = s.total().failed + s.total().skipped;
            if failed > 0 {
                let resume = resume_command(None);
                ended.resume = Some(resume.clone());
                Err(CliError::Failed(format!(
                    "{failed} action(s) failed or were skipped (see above and the journal); \
                     fix the cause and run the same command again to retry only those: {resume}"
                )))
            } else if let Some(v) = &verification
                && !v.converged()
            {
                Err(CliError::Failed(format!(
                    "every action was applied, but the tenant did not converge: {} action(s) \
                     are still pending (listed above). Running the same command again sends \
                     nothing (the journal says done); read why, then reconcile again from a \
                     fresh `dirsnap export iid` for a plan of what is left",
                    v.pending.len()
                )))
            } else {
                Ok(())
            }
        }
        Err(ReplayError::Stopped {
            reason,
            cause,
            summary,
        }) => {
            ended.summary = Some(summary);
            print_summary(summary);
            let (how, resume) = match cause {
                // The reason (the server's 401/403, explained) already says what to do about
                // the token; only how to resume is added.
                StopCause::Auth => (
                    "once the token is replaced, resume with:",
                    resume_command(None),
                ),
                StopCause::DeleteLimit { deletions } => (
                    "review the deletions (`dirsnap plan show PLAN` lists them), then resume allowing them with:",
                    resume_command(Some(*deletions)),
                ),
                StopCause::Interrupted => ("resume with:", resume_command(None)),
            };
            ended.stop = Some((reason.as_str(), *cause));
            ended.resume = Some(resume.clone());
            Err(CliError::Stopped(format!(
                "replay stopped early: {reason}\n{how}\n  {resume}\n(the journal {} makes it resume: nothing already applied is sent again)",
                plan.dir
                    .join(dirsnap_replay::journal::JOURNAL_FILE)
                    .display()
            )))
        }
        Err(_) => Ok(()),
    };
    if args.json && ended.summary.is_some() {
        let code = crate::error::exit_code(&outcome);
        println!("{}", serde_json::to_string_pretty(&ended.json(code))?);
    }
    match result {
        Err(e) if !matches!(e, ReplayError::Stopped { .. }) => Err(e.into()),
        _ => outcome,
    }
}

fn print_requests(s: &ReplaySummary) {
    for r in &s.planned {
        println!("# action {} {}", r.seq, r.op.as_str());
        println!("{} {}", r.method, r.path);
        if let Some(b) = &r.body {
            println!(
                "{}",
                serde_json::to_string_pretty(b).unwrap_or_else(|_| b.to_string())
            );
        }
        println!();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn the_resume_command_replaces_the_limit_that_stopped_the_run() {
        let argv = args("/usr/bin/dirsnap replay plan --allow-deletes 1 --config c.yml");
        assert_eq!(
            resume_command_from(argv.clone(), Some(3)),
            "dirsnap replay plan --config c.yml --allow-deletes 3"
        );
        assert_eq!(
            resume_command_from(argv, None),
            "dirsnap replay plan --allow-deletes 1 --config c.yml"
        );
        assert_eq!(
            resume_command_from(args("dirsnap replay p --allow-deletes=0"), Some(2)),
            "dirsnap replay p --allow-deletes 2"
        );
        assert_eq!(
            resume_command_from(args("dirsnap replay p"), Some(2)),
            "dirsnap replay p --allow-deletes 2"
        );
    }
}
