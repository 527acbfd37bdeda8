//! `dirsnap audit`: the consistency audit to run before Directory Sync's recovery mode
//! (SPEC §2). Computes the recovery-mode plan (and, with `--previous-iid`, the normal-mode one
//! for console drift), then writes REPORT_DIR/{audit.md, audit.html, audit.json,
//! recovery-plan/} atomically. Exit 3 when the verdict is "not safe".

use crate::cmd_reconcile::{self, Computed, Options, Sources};
use crate::error::CliError;
use dirsnap_model::{IidUser, SnapshotKind};
use dirsnap_report::audit::{self, AuditInput, PendingUser};
use dirsnap_snapshot::{ReadOptions, Snapshot, Table};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The config, the AD snapshots, the live IIJ ID snapshot; --previous-iid (the state the
    /// last sync left) shows console edits.
    #[command(flatten)]
    pub sources: Sources,
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

/// Recovery mode against the live tenant (no cache), or normal mode against the cache.
fn sources(args: &Args, normal: bool) -> (Sources, Options) {
    let mut sources = args.sources.clone();
    if !normal {
        sources.previous_iid = None;
    }
    let options = Options {
        mode: Some(if normal { "normal" } else { "recovery" }.into()),
        ..Options::default()
    };
    (sources, options)
}

fn runtime(path: &Path, e: impl std::fmt::Display) -> CliError {
    CliError::Runtime(format!("{}: {e}", path.display()))
}

fn pending_users(path: &Path) -> Result<Vec<PendingUser>, CliError> {
    let snap = Snapshot::open(path)?;
    if snap.kind() != SnapshotKind::Iid {
        return Err(CliError::Input(format!(
            "{}: --iid expects a iid snapshot, but this is a {} snapshot",
            path.display(),
            snap.kind()
        )));
    }
    let users = snap.read_table::<IidUser>(Table::Users, &ReadOptions::without_raw())?;
    Ok(users
        .into_iter()
        .filter(|u| u.pending_deletion)
        .map(|u| PendingUser {
            user_name: u.user_name,
            id: u.id,
        })
        .collect())
}

pub fn run(args: Args, quiet: bool) -> Result<(), CliError> {
    if args.out.exists() {
        return Err(CliError::Input(format!(
            "{}: already exists; choose a new --out directory",
            args.out.display()
        )));
    }
    let Computed {
        plan: recovery,
        refs,
        ..
    } = {
        let (s, o) = sources(&args, false);
        cmd_reconcile::compute(&s, &o, quiet)?
    };
    let normal = match &args.sources.previous_iid {
        Some(_) => {
            let (s, o) = sources(&args, true);
            Some(cmd_reconcile::compute(&s, &o, quiet)?.plan)
        }
        None => None,
    };
    let pending = pending_users(&args.sources.iid)?;
    let report = audit::audit(&AuditInput {
        recovery: &recovery,
        normal: normal.as_ref(),
        pending: &pending,
        allow_deletes: args.allow_deletes,
        accept_console_edits: args.accept_console_edits,
    });

    // Everything in a temporary sibling, renamed into place at the end: never half a report.
    let name = args
        .out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "audit".into());
    let tmp = args
        .out
        .with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| runtime(&tmp, e))?;
    }
    std::fs::create_dir_all(&tmp).map_err(|e| runtime(&tmp, e))?;
    let written = (|| {
        cmd_reconcile::write_plan(&tmp.join("recovery-plan"), &recovery, &refs, quiet)?;
        let json = serde_json::to_string_pretty(&report).map_err(|e| runtime(&tmp, e))? + "\n";
        for (file, text) in [
            ("audit.md", audit::markdown(&report)),
            ("audit.html", audit::html(&report)),
            ("audit.json", json.clone()),
        ] {
            let p = tmp.join(file);
            std::fs::write(&p, text).map_err(|e| runtime(&p, e))?;
        }
        std::fs::rename(&tmp, &args.out).map_err(|e| runtime(&args.out, e))?;
        Ok::<String, CliError>(json)
    })();
    let json = match written {
        Ok(j) => j,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    if args.json {
        print!("{json}");
    } else {
        print!("{}", audit::text_summary(&report));
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
