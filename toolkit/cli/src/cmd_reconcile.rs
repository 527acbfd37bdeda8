//! `dirsnap reconcile`: the arguments, progress and the printed summary; the work is
//! `dirsnap_app::reconcile`. Exit 3 when the plan has error findings or a threshold blocks it.

use crate::error::CliError;
use crate::output::Steps;
use chrono::{DateTime, Utc};
use dirsnap_app::inputs::{Options, Sources};
use dirsnap_plan::{Mode, Plan};
use std::path::PathBuf;

/// The snapshots and config a plan is computed from (reconcile, simulate and audit take them
/// alike).
#[derive(clap::Args, Debug, Clone)]
pub struct SourceArgs {
    /// Directory Sync config.yml.
    #[arg(long)]
    pub config: PathBuf,
    /// AD snapshot (repeat for several Directory Sync instances / domains; instances other
    /// than --config's use the config recorded in their snapshot's manifest).
    #[arg(long = "ad", required = true)]
    pub ad: Vec<PathBuf>,
    /// IIJ ID snapshot (the live tenant).
    #[arg(long)]
    pub iid: PathBuf,
    /// Microsoft 365 snapshot, for the recreated-account checks.
    #[arg(long)]
    pub m365: Option<PathBuf>,
    /// The IIJ ID state the last sync left (Directory Sync's cache), for normal mode.
    #[arg(long)]
    pub previous_iid: Option<PathBuf>,
    /// AD snapshot taken at the last sync (repeatable, one per instance): DN changes,
    /// recreated accounts, deletions, the "source shrank" threshold.
    #[arg(long = "previous-ad")]
    pub previous_ad: Vec<PathBuf>,
    /// An earlier IID snapshot, or a folder of them (repeatable): a user one listed that
    /// --iid lacks is presumed pending deletion (low confidence), unless its login ID is now
    /// another user's. --previous-iid counts too. docs/pending-deletion.md.
    #[arg(long = "history", value_name = "SNAP")]
    pub history: Vec<PathBuf>,
    /// IIJ ID Console's "Users pending deletion", as CSV (header
    /// `userName,externalId,id,deleted_at`): those users are pending deletion, and no others.
    /// docs/pending-deletion.md.
    #[arg(long = "pending-list", value_name = "FILE")]
    pub pending_list: Option<PathBuf>,
    /// The instant the plan reasons at (account and token expiry), RFC 3339. Default: when
    /// the newest AD snapshot was taken.
    #[arg(long)]
    pub as_of: Option<String>,
}

impl SourceArgs {
    pub fn sources(&self) -> Result<Sources, CliError> {
        let as_of = match &self.as_of {
            Some(t) => Some(
                DateTime::parse_from_rfc3339(t)
                    .map_err(|e| {
                        CliError::Input(format!(
                            "--as-of {t:?}: expected an RFC 3339 time such as 2026-11-27T09:00:00+09:00 ({e})"
                        ))
                    })?
                    .with_timezone(&Utc),
            ),
            None => None,
        };
        Ok(Sources {
            config: self.config.clone(),
            ad: self.ad.clone(),
            iid: self.iid.clone(),
            m365: self.m365.clone(),
            previous_iid: self.previous_iid.clone(),
            previous_ad: self.previous_ad.clone(),
            history: self.history.clone(),
            pending_list: self.pending_list.clone(),
            as_of,
        })
    }
}

/// `--mode`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeArg {
    Normal,
    Recovery,
}

impl From<ModeArg> for Mode {
    fn from(m: ModeArg) -> Mode {
        match m {
            ModeArg::Normal => Mode::Normal,
            ModeArg::Recovery => Mode::Recovery,
        }
    }
}

/// `--allow-threshold`: a category of `dirsnap.thresholds`, or all of them.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
#[value(rename_all = "snake_case")]
pub enum ThresholdArg {
    PendingDeletions,
    Disables,
    GroupDeletes,
    MemberRemovalsPerGroup,
    SourceShrink,
    All,
}

impl ThresholdArg {
    /// The engine's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            ThresholdArg::PendingDeletions => "pending_deletions",
            ThresholdArg::Disables => "disables",
            ThresholdArg::GroupDeletes => "group_deletes",
            ThresholdArg::MemberRemovalsPerGroup => "member_removals_per_group",
            ThresholdArg::SourceShrink => "source_shrink",
            ThresholdArg::All => "all",
        }
    }
}

/// How a plan is computed from the sources, from the flags that say it.
pub fn options(
    mode: Option<ModeArg>,
    secret: Option<PathBuf>,
    allow_threshold: &[ThresholdArg],
) -> Options {
    Options {
        mode: mode.map(Mode::from),
        secret,
        allow_thresholds: allow_threshold
            .iter()
            .map(|t| t.as_str().to_string())
            .collect(),
    }
}

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub sources: SourceArgs,
    /// normal (diff against --previous-iid) or recovery (diff against the live tenant).
    /// Default: normal with --previous-iid, recovery without.
    #[arg(long, value_enum)]
    pub mode: Option<ModeArg>,
    /// Plan directory to create (must not exist).
    #[arg(long)]
    pub out: PathBuf,
    /// secret.yml, to check when the IIJ ID access token expires (TOKEN_EXPIRING).
    #[arg(long)]
    pub secret: Option<PathBuf>,
    /// Accept an exceeded threshold (repeatable).
    #[arg(long = "allow-threshold", value_enum)]
    pub allow_threshold: Vec<ThresholdArg>,
    /// Print the summary as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, quiet: bool) -> Result<(), CliError> {
    crate::output::check_out("--out", &args.out, "plans")?;
    let sources = args.sources.sources()?;
    let options = options(args.mode, args.secret.clone(), &args.allow_threshold);
    let computed = dirsnap_app::reconcile::run(&sources, &options, &args.out, &Steps::new(quiet))?;
    print_summary(&args, &computed.plan)?;
    let hint = computed
        .plan
        .summary
        .blocked
        .then(|| blocked_hint(&computed.plan, &args.out));
    // Tens of millions of rows and strings: freeing them one by one takes longer than the
    // operating system's reclaiming them all when the process exits a moment later.
    std::mem::forget(computed);
    match hint {
        Some(h) => Err(CliError::Blocked(h)),
        None => Ok(()),
    }
}

/// Why a plan is blocked and what lifts it: `--allow-threshold` only for exceeded thresholds;
/// other error findings are resolved at their source (or the plan is replayed with
/// `--allow-blocked`, which still leaves those objects alone).
pub fn blocked_hint(plan: &Plan, out: &std::path::Path) -> String {
    let mut thresholds = Vec::new();
    let mut findings = std::collections::BTreeMap::<&str, usize>::new();
    for f in plan.findings.iter().filter(|f| f.blocks()) {
        if f.code == dirsnap_plan::codes::THRESHOLD_EXCEEDED {
            let category = f.subject.strip_prefix("threshold ").unwrap_or(&f.subject);
            if !thresholds.contains(&category) {
                thresholds.push(category);
            }
        } else {
            *findings.entry(f.code.as_str()).or_default() += 1;
        }
    }
    let mut why = Vec::new();
    let mut what = Vec::new();
    if !findings.is_empty() {
        let n: usize = findings.values().sum();
        let codes: Vec<String> = findings.iter().map(|(c, k)| format!("{c} ×{k}")).collect();
        why.push(format!(
            "{n} blocking error finding(s) ({})",
            codes.join(", ")
        ));
        what.push(
            "resolve the findings as their remediation says (docs/findings.md); `dirsnap replay` refuses the plan until then unless given --allow-blocked".to_string(),
        );
    }
    if !thresholds.is_empty() {
        why.push(format!(
            "{} exceeded threshold(s) ({})",
            thresholds.len(),
            thresholds.join(", ")
        ));
        let flags: Vec<String> = thresholds
            .iter()
            .map(|c| format!("--allow-threshold {c}"))
            .collect();
        what.push(format!(
            "if those numbers are expected, compute the plan again with {}",
            flags.join(" ")
        ));
    }
    format!(
        "the plan is blocked: {}; it was written to {} for review. To go on: {}",
        why.join(" and "),
        out.display(),
        what.join("; ")
    )
}

fn print_summary(args: &Args, plan: &Plan) -> Result<(), CliError> {
    if args.json {
        let v = serde_json::json!({
            "plan": args.out.display().to_string(),
            "mode": plan.mode,
            "summary": plan.summary,
            "findings": plan.findings.iter().map(|f| serde_json::json!({
                "code": f.code,
                "severity": f.severity,
                "subject": f.subject,
                "instance": f.instance,
            })).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    let s = &plan.summary;
    println!(
        "plan written to {} ({} mode)",
        args.out.display(),
        plan.mode
    );
    let (ops, sev) = (
        dirsnap_report::render::op_counts(s),
        dirsnap_report::render::severity_counts(s),
    );
    let tail = |t: String| if t.is_empty() { t } else { format!(": {t}") };
    println!("actions   {}{}", s.actions, tail(ops));
    println!("findings  {}{}", s.findings, tail(sev));
    let shown: Vec<_> = plan
        .findings
        .iter()
        .filter(|f| f.severity != dirsnap_plan::Severity::Info)
        .collect();
    for f in shown.iter().take(20) {
        println!("  {:<7} {:<28} {}", f.severity.as_str(), f.code, f.subject);
    }
    if shown.len() > 20 {
        println!("  … and {} more", shown.len() - 20);
    }
    if s.skipped > 0 {
        println!("skipped   {}", s.skipped);
    }
    println!(
        "review    dirsnap plan show {}   (or open {})",
        args.out.display(),
        args.out.join("report.html").display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum as _;

    #[test]
    fn allow_threshold_values_are_the_engines_categories_and_all() {
        let names: Vec<String> = ThresholdArg::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_string()))
            .collect();
        let mut want: Vec<String> = dirsnap_reconcile::THRESHOLD_CATEGORIES
            .iter()
            .map(|s| s.to_string())
            .collect();
        want.push("all".into());
        assert_eq!(names, want);
        for v in ThresholdArg::value_variants() {
            assert_eq!(
                v.to_possible_value().map(|p| p.get_name().to_string()),
                Some(v.as_str().to_string())
            );
        }
    }
}
