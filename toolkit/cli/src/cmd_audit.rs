//! `dirsnap audit`: the consistency audit to run before Directory Sync's recovery mode
//! (SPEC §2). Computes the recovery-mode plan (and, with `--previous-iid`, the normal-mode one
//! for console drift), then writes REPORT_DIR/{audit.md, audit.html, audit.json,
//! recovery-plan/} atomically. Exit 3 when the verdict is "not safe".

use crate::cmd_reconcile::{self, Computed};
use crate::error::CliError;
use dirsnap_model::{IidUser, SnapshotKind};
use dirsnap_report::audit::{self, AuditInput, PendingUser};
use dirsnap_snapshot::{ReadOptions, Snapshot, Table};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Directory Sync config.yml.
    #[arg(long)]
    pub config: PathBuf,
    /// AD snapshot (repeat for several Directory Sync instances / domains).
    #[arg(long = "ad", required = true)]
    pub ad: Vec<PathBuf>,
    /// IIJ ID snapshot of the live tenant.
    #[arg(long)]
    pub iid: PathBuf,
    /// The IIJ ID state the last sync left (Directory Sync's cache): shows console edits.
    #[arg(long)]
    pub previous_iid: Option<PathBuf>,
    /// AD snapshot taken at the last sync (repeatable, one per instance).
    #[arg(long = "previous-ad")]
    pub previous_ad: Vec<PathBuf>,
    /// Microsoft 365 snapshot, for the recreated-account checks.
    #[arg(long)]
    pub m365: Option<PathBuf>,
    /// The instant the audit reasons at, RFC 3339 (default: when the newest AD snapshot was taken).
    #[arg(long)]
    pub as_of: Option<String>,
    /// Pending deletions plus group deletes you expect recovery mode to make (default 0:
    /// any delete makes the verdict "not safe" until reviewed).
    #[arg(long, default_value_t = 0)]
    pub allow_deletes: u64,
    /// Report directory to create.
    #[arg(long)]
    pub out: PathBuf,
    /// Print the audit as JSON instead of the text summary.
    #[arg(long)]
    pub json: bool,
}

fn reconcile_args(args: &Args, normal: bool) -> cmd_reconcile::Args {
    cmd_reconcile::Args {
        config: args.config.clone(),
        ad: args.ad.clone(),
        iid: args.iid.clone(),
        m365: args.m365.clone(),
        previous_iid: if normal {
            args.previous_iid.clone()
        } else {
            None
        },
        previous_ad: args.previous_ad.clone(),
        mode: Some(if normal { "normal" } else { "recovery" }.into()),
        out: PathBuf::new(),
        secret: None,
        as_of: args.as_of.clone(),
        allow_threshold: Vec::new(),
        json: false,
    }
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
    let users = snap.read_table::<IidUser>(Table::Users, &ReadOptions { skip_raw: true })?;
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
    } = cmd_reconcile::compute(&reconcile_args(&args, false), quiet)?;
    let normal = match &args.previous_iid {
        Some(_) => Some(cmd_reconcile::compute(&reconcile_args(&args, true), quiet)?.plan),
        None => None,
    };
    let pending = pending_users(&args.iid)?;
    let report = audit::audit(&AuditInput {
        recovery: &recovery,
        normal: normal.as_ref(),
        pending: &pending,
        allow_deletes: args.allow_deletes,
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
