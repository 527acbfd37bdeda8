//! `dirsnap export ad`: Active Directory over LDAP to an AD snapshot (issue 5).

use crate::error::CliError;
use dirsnap_ad::{ExportOptions, ExportSummary, MAX_PAGE_SIZE, Progress};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use std::io::IsTerminal;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Directory Sync config.yml (ad.ldap.server.*, ad.ldap.base_dn, ad.ldap.filter.*).
    #[arg(long)]
    pub config: PathBuf,
    /// secret.yml with the AD bind password (else DIRSNAP_AD_PASSWORD).
    #[arg(long)]
    pub secret: Option<PathBuf>,
    /// Snapshot directory to create (must not exist).
    #[arg(long, required_unless_present = "explain")]
    pub out: Option<PathBuf>,
    /// Also export deleted objects (tombstones, via the show-deleted control) whose last
    /// known parent is under the base DN, marked is_deleted.
    #[arg(long)]
    pub include_deleted: bool,
    /// PEM file of CA certificates trusted for LDAPS / StartTLS, besides the system store.
    #[arg(long, env = "DIRSNAP_AD_CA_FILE", value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// Entries per page of the paged-results control (AD allows at most 1000).
    #[arg(long, default_value_t = MAX_PAGE_SIZE, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_PAGE_SIZE)))]
    pub page_size: u32,
    /// Read group members in windows of N values (member;range=0-(N-1), …) from the first
    /// request; by default the server decides when to range (AD: above 1500 values).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub member_range_size: Option<u32>,
    /// Print the LDAP searches the export would make (base, filter, attributes, page size) as
    /// JSON and exit without connecting.
    #[arg(long)]
    pub explain: bool,
    /// Print the result as JSON on stdout (docs/ad-export.md); the summary for people goes to
    /// stderr.
    #[arg(long)]
    pub json: bool,
}

/// Progress on a terminal: a spinner with the object count and rate. Elsewhere: one line per
/// step on stderr.
struct CliProgress {
    bar: Option<ProgressBar>,
    quiet: bool,
}

impl CliProgress {
    fn new(quiet: bool) -> CliProgress {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let pb = crate::output::multi().add(ProgressBar::new_spinner());
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} {msg}: {human_pos} objects ({per_sec}, {elapsed})",
            ) {
                pb.set_style(style);
            }
            pb.enable_steady_tick(Duration::from_millis(120));
            pb
        });
        CliProgress { bar, quiet }
    }

    fn finish(&self) {
        if let Some(pb) = &self.bar {
            pb.finish_and_clear();
        }
    }
}

impl Progress for CliProgress {
    fn phase(&self, what: &str) {
        match &self.bar {
            Some(pb) => pb.set_message(what.to_string()),
            None if !self.quiet => eprintln!("export ad: {what}"),
            None => {}
        }
    }

    fn objects(&self, n: u64) {
        if let Some(pb) = &self.bar {
            pb.inc(n);
        }
    }
}

pub fn run(args: Args, quiet: bool) -> Result<(), CliError> {
    dirsnap_ad::install_ring_provider();
    let cfg = dirsnap_config::load_config(&args.config)?;
    let options = ExportOptions {
        page_size: args.page_size,
        member_range_step: args.member_range_size,
        include_deleted: args.include_deleted,
        ca_file: args.ca_file.clone(),
    };
    if args.explain {
        let searches = dirsnap_ad::searches(&cfg, &options)?;
        let text = serde_json::to_string_pretty(&searches)?;
        println!("{text}");
        return Ok(());
    }
    let Some(out) = args.out.clone() else {
        return Err(CliError::Input("--out SNAP is required".into()));
    };
    crate::output::check_out("--out", &out, "snapshots")?;
    let secrets = dirsnap_config::load_secrets(args.secret.as_deref(), &|k| std::env::var(k).ok())?;
    let Some((password, _source)) = secrets.ad_password else {
        return Err(CliError::Input(format!(
            "no AD bind password: give --secret secret.yml with ad.ldap.server.password, or set {}",
            dirsnap_config::ENV_AD_PASSWORD
        )));
    };
    // One thread: the export waits on the DC, and on a busy 2-core machine extra runtime
    // threads only compete with the DC for CPU.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::system("cannot start the async runtime"))?;
    let progress = CliProgress::new(quiet);
    let result = runtime.block_on(dirsnap_ad::export(
        &cfg, &password, &out, &options, &progress,
    ));
    progress.finish();
    let summary = result?;
    if !quiet {
        // A closed stdout or stderr must not turn a written snapshot into a failure.
        let _ = print_summary(
            &mut *crate::output::human(args.json),
            &summary,
            &out,
            args.page_size,
        );
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary_json(&summary, &out, args.page_size))?
        );
    }
    Ok(())
}

/// `--json`: docs/ad-export.md documents every field.
fn summary_json(s: &ExportSummary, out: &Path, page_size: u32) -> serde_json::Value {
    let mut obj = crate::output::snapshot_json(out, &s.manifest, s.elapsed);
    obj.insert("server".into(), json!(s.server));
    obj.insert(
        "details".into(),
        json!({
            "disabled_users": s.disabled_users,
            "expired_users": s.expired_users,
            "deleted_users": s.deleted_users,
            "deleted_groups": s.deleted_groups,
            "ranged_groups": s.ranged_groups,
            "members_out_of_scope": s.members_out_of_scope,
            "nested_group_members": s.nested_group_members,
            "skipped_entries": s.skipped.len(),
        }),
    );
    obj.insert(
        "filters".into(),
        json!({"user": s.filters.user, "group": s.filters.group}),
    );
    obj.insert(
        "ldap".into(),
        json!({"pages": s.wire.pages, "page_size": page_size,
               "referrals_skipped": s.wire.referrals_skipped}),
    );
    serde_json::Value::Object(obj)
}

fn print_summary(
    w: &mut dyn Write,
    s: &ExportSummary,
    out: &Path,
    page_size: u32,
) -> std::io::Result<()> {
    let secs = s.elapsed.as_secs_f64();
    let objects = s.users + s.groups;
    let rate = if secs > 0.0 {
        objects as f64 / secs
    } else {
        0.0
    };
    let domain = s.manifest.source.domain.as_deref().unwrap_or("?");
    writeln!(
        w,
        "exported AD {domain} from {} in {secs:.1} s ({rate:.0} objects/s) to {}",
        s.server,
        out.display()
    )?;
    let mut users = format!("  users:       {}", s.users);
    let mut extra = Vec::new();
    if s.disabled_users > 0 {
        extra.push(format!("{} disabled", s.disabled_users));
    }
    if s.expired_users > 0 {
        extra.push(format!("{} expired", s.expired_users));
    }
    if s.deleted_users > 0 {
        extra.push(format!("{} deleted", s.deleted_users));
    }
    if !extra.is_empty() {
        users.push_str(&format!(" ({})", extra.join(", ")));
    }
    writeln!(w, "{users}")?;
    let mut groups = format!("  groups:      {}", s.groups);
    if s.deleted_groups > 0 {
        groups.push_str(&format!(" ({} deleted)", s.deleted_groups));
    }
    if s.ranged_groups > 0 {
        groups.push_str(&format!(
            " ({} read with ranged retrieval)",
            s.ranged_groups
        ));
    }
    writeln!(w, "{groups}")?;
    writeln!(
        w,
        "  memberships: {} ({} members outside the exported scope, {} nested groups)",
        s.memberships, s.members_out_of_scope, s.nested_group_members
    )?;
    writeln!(w, "  user filter:  {}", s.filters.user)?;
    writeln!(w, "  group filter: {}", s.filters.group)?;
    writeln!(
        w,
        "  LDAP: {} pages of up to {} entries, {} continuation references skipped",
        s.wire.pages, page_size, s.wire.referrals_skipped
    )?;
    if !s.skipped.is_empty() {
        writeln!(
            w,
            "  skipped:     {} entries (see notes in manifest.json)",
            s.skipped.len()
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn json_has_the_documented_fields() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/demo/ad");
        let manifest: dirsnap_model::Manifest =
            serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
        let s = ExportSummary {
            server: "ldaps://dc1.example.co.jp:636".into(),
            users: manifest.counts.users,
            disabled_users: 1,
            expired_users: 0,
            deleted_users: 0,
            groups: manifest.counts.groups,
            deleted_groups: 0,
            memberships: manifest.counts.memberships,
            members_out_of_scope: 2,
            nested_group_members: 0,
            ranged_groups: 0,
            skipped: Vec::new(),
            wire: Default::default(),
            filters: dirsnap_ad::EffectiveFilters {
                user: "(objectClass=user)".into(),
                group: "(objectClass=group)".into(),
            },
            elapsed: Duration::from_millis(1500),
            manifest: manifest.clone(),
        };
        let v = summary_json(&s, Path::new("snap"), 1000);
        assert_eq!(v["kind"], "ad");
        assert_eq!(v["out"], "snap");
        assert_eq!(v["counts"]["users"], manifest.counts.users);
        assert_eq!(v["details"]["members_out_of_scope"], 2);
        assert_eq!(
            v["files"]["users.parquet"]["sha256"],
            manifest.files["users.parquet"].sha256
        );
        assert_eq!(v["duration_seconds"], 1.5);
        assert_eq!(v["ldap"]["page_size"], 1000);
        assert_eq!(v["filters"]["user"], "(objectClass=user)");
        assert_eq!(v["server"], "ldaps://dc1.example.co.jp:636");
    }
}
