//! `audit`: the consistency audit to run before Directory Sync's recovery mode. Computes the
//! recovery-mode plan (and, with a previous IIJ ID snapshot, the normal-mode one for console
//! drift), then writes OUT/{audit.md, audit.html, audit.json, recovery-plan/} atomically.

use crate::error::AppError;
use crate::inputs::{Options, Sources};
use crate::progress::Progress;
use crate::reconcile::{self, Computed};
use dirsnap_durable::StagedDir;
use dirsnap_plan::Mode;
use dirsnap_report::audit::{self, AuditInput, PendingUser};
use std::path::Path;

/// What the audit accepts without calling it "not safe".
#[derive(Debug, Clone, Default)]
pub struct AuditOptions {
    /// Pending deletions plus group deletes expected of recovery mode.
    pub allow_deletes: u64,
    /// Console edits recovery mode would overwrite or delete are accepted (still listed).
    pub accept_console_edits: bool,
}

/// The audit, as written.
#[derive(Debug)]
pub struct Audited {
    pub report: audit::Audit,
    /// `audit.json`'s text.
    pub json: String,
}

/// Recovery mode against the live tenant (no cache), or normal mode against the cache.
fn sources(given: &Sources, mode: Mode) -> (Sources, Options) {
    let mut sources = given.clone();
    if mode == Mode::Recovery {
        sources.previous_iid = None;
    }
    let options = Options {
        mode: Some(mode),
        ..Options::default()
    };
    (sources, options)
}

/// The IIJ ID users pending deletion, from the live tenant's rows already read.
fn pending_users(computed: &Computed) -> Vec<PendingUser> {
    computed
        .inputs
        .iid
        .rows
        .users
        .iter()
        .filter(|u| u.pending_deletion())
        .map(|u| PendingUser {
            user_name: u.user_name().to_owned(),
            id: u.id().to_owned(),
        })
        .collect()
}

/// `dirsnap audit`: `out` must not exist; it appears whole or not at all.
pub fn run(
    given: &Sources,
    options: &AuditOptions,
    out: &Path,
    progress: &dyn Progress,
) -> Result<Audited, AppError> {
    if out.exists() {
        return Err(AppError::OutputExists {
            path: out.to_path_buf(),
        });
    }
    let recovery = {
        let (s, o) = sources(given, Mode::Recovery);
        reconcile::compute(&s, &o, progress)?
    };
    let pending = pending_users(&recovery);
    let Computed {
        plan: recovery,
        inputs,
    } = recovery;
    let refs = inputs.refs.clone();
    drop(inputs);
    let normal = match &given.previous_iid {
        Some(_) => {
            let (s, o) = sources(given, Mode::Normal);
            Some(reconcile::compute(&s, &o, progress)?.plan)
        }
        None => None,
    };
    let report = audit::audit(&AuditInput {
        recovery: &recovery,
        normal: normal.as_ref(),
        pending: &pending,
        allow_deletes: options.allow_deletes,
        accept_console_edits: options.accept_console_edits,
    });
    let json = serde_json::to_string_pretty(&report).map_err(|source| AppError::Encode {
        path: out.join("audit.json"),
        source,
    })? + "\n";

    // Everything in a hidden sibling, published by one rename: never half a report.
    let staged = StagedDir::create(out)?;
    reconcile::write_plan(
        &staged.path().join("recovery-plan"),
        &recovery,
        &refs,
        progress,
    )?;
    for (file, text) in [
        ("audit.md", audit::markdown(&report)),
        ("audit.html", audit::html(&report)),
        ("audit.json", json.clone()),
    ] {
        dirsnap_durable::write_synced(&staged.path().join(file), text.as_bytes())?;
    }
    staged.publish()?;
    Ok(Audited { report, json })
}
