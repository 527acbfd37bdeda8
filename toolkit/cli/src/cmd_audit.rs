//! `dirsnap audit`: the arguments, the printed summary and the verdict's exit code (3 when
//! "not safe"); the work is `dirsnap_app::audit`.

use crate::cmd_reconcile::SourceArgs;
use crate::error::CliError;
use crate::output::Steps;
use dirsnap_app::audit::AuditOptions;
use dirsnap_report::audit;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The config, the AD snapshots, the live IIJ ID snapshot; --previous-iid (the state the
    /// last sync left) shows console edits.
    #[command(flatten)]
    pub sources: SourceArgs,
    /// Pending deletions plus group deletes you expect recovery mode to make (default 0:
    /// any delete makes the verdict "not safe" until reviewed).
    #[arg(long, default_value_t = 0)]
    pub allow_deletes: u64,
    /// Console edits that recovery mode would overwrite or delete are accepted (they are
    /// still listed); without it they make the verdict "not safe".
    #[arg(long)]
    pub accept_console_edits: bool,
    /// Report directory to create.
    #[arg(long)]
    pub out: PathBuf,
    /// Print the audit as JSON instead of the text summary.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, quiet: bool) -> Result<(), CliError> {
    crate::output::check_out("--out", &args.out, "audit reports")?;
    let options = AuditOptions {
        allow_deletes: args.allow_deletes,
        accept_console_edits: args.accept_console_edits,
    };
    let audited = dirsnap_app::audit::run(
        &args.sources.sources()?,
        &options,
        &args.out,
        &Steps::new(quiet),
    )?;
    let report = &audited.report;
    if args.json {
        print!("{}", audited.json);
    } else {
        print!("{}", audit::text_summary(report));
        println!(
            "report: {} (and audit.md, audit.json; the recovery-mode plan in recovery-plan/)",
            args.out.join("audit.html").display()
        );
    }
    if report.safe {
        Ok(())
    } else {
        Err(CliError::Blocked(format!(
            "not safe to run recovery mode yet ({} reason(s)); read {}",
            report.reasons.len(),
            args.out.join("audit.html").display()
        )))
    }
}
