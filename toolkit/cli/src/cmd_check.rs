//! `dirsnap check`: one line per check, ✓ / ✗ (and ! for a warning, - for not applicable),
//! each failure with what to do about it; then a summary. The probes are
//! `dirsnap_app::check`; this prints them as they arrive.
//!
//! Exit codes: 0 when no check failed (warnings allowed); 1 when a check failed (a server,
//! the network, a credential, a scope); 2 when config.yml or secret.yml cannot be used (YAML,
//! a wrong type, an unparsable filter, a required key missing, an unreadable CA file) — the
//! configuration problem is shown with its file:line:col and the checks that need the broken
//! part are not run.

use crate::error::{CliError, exit_code};
use dirsnap_app::check::{Check, CheckOptions, CheckReport, Observer, Status, plural};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Directory Sync config.yml.
    #[arg(long)]
    pub config: PathBuf,
    /// secret.yml with the AD bind password and the IIJ ID access token (else
    /// DIRSNAP_AD_PASSWORD and DIRSNAP_IID_TOKEN).
    #[arg(long)]
    pub secret: Option<PathBuf>,
    /// SCIM endpoint (default: iid.scim.url, else https://scim.auth.iij.jp/scim/v2/).
    #[arg(long)]
    pub base_url: Option<String>,
    /// PEM file of CA certificates trusted for LDAPS / StartTLS, besides the system store.
    #[arg(long, env = "DIRSNAP_AD_CA_FILE", value_name = "PEM")]
    pub ad_ca_file: Option<PathBuf>,
    /// PEM file of CA certificates trusted for the SCIM endpoint, besides the system store.
    #[arg(long, value_name = "PEM")]
    pub iid_ca_file: Option<PathBuf>,
    /// Seconds to wait for each connection or request.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
    /// Warn when the access token expires within this many days.
    #[arg(long, default_value_t = 14)]
    pub warn_days: i64,
    /// Do not probe the write scopes (a PATCH without operations on a nonexistent id); they
    /// are then reported as not verified.
    #[arg(long)]
    pub no_write_probe: bool,
    /// Print the checks as JSON on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

fn mark(s: Status) -> &'static str {
    match s {
        Status::Pass => "✓",
        Status::Warn => "!",
        Status::Fail => "✗",
        Status::Skip => "-",
    }
}

/// Prints each section and check as it is decided (text mode).
struct Lines;

impl Observer for Lines {
    fn section(&mut self, title: &str) {
        println!("\n{title}");
    }

    fn check(&mut self, c: &Check) {
        let mut lines = c.text.lines();
        println!("  {} {}", mark(c.status), lines.next().unwrap_or_default());
        for more in lines {
            println!("      {more}");
        }
        if let Some(f) = &c.fix {
            println!("      fix: {f}");
        }
    }
}

pub fn run(args: Args, _quiet: bool) -> Result<(), CliError> {
    let options = CheckOptions {
        config: args.config.clone(),
        secret: args.secret.clone(),
        base_url: args.base_url.clone(),
        ad_ca_file: args.ad_ca_file.clone(),
        iid_ca_file: args.iid_ca_file.clone(),
        timeout: Duration::from_secs(args.timeout.max(1)),
        warn_days: args.warn_days,
        write_probe: !args.no_write_probe,
    };
    if !args.json {
        println!("dirsnap check {}", args.config.display());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::system("cannot start the async runtime"))?;
    let mut lines = Lines;
    let observer: &mut dyn Observer = if args.json { &mut () } else { &mut lines };
    let report = runtime.block_on(dirsnap_app::check::run(&options, observer));
    finish(&args, &report)
}

fn finish(args: &Args, report: &CheckReport) -> Result<(), CliError> {
    let (pass, warn, fail, skip) = (
        report.count(Status::Pass),
        report.count(Status::Warn),
        report.count(Status::Fail),
        report.count(Status::Skip),
    );
    let result = if report.config_unusable {
        Err(CliError::Input(
            "the configuration cannot be used; fix the ✗ line(s) under Configuration (or the \
             setting named) first"
                .into(),
        ))
    } else if fail > 0 {
        Err(CliError::Failed(format!(
            "{} failed; each ✗ line says what to do",
            plural(fail, "check")
        )))
    } else {
        Ok(())
    };
    if args.json {
        let checks: Vec<Value> = report
            .checks
            .iter()
            .map(|c| {
                json!({
                    "id": c.id,
                    "status": c.status.name(),
                    "text": c.text,
                    "fix": c.fix,
                })
            })
            .collect();
        let doc = json!({
            "config": args.config.display().to_string(),
            "checks": checks,
            "summary": {"passed": pass, "warnings": warn, "failed": fail, "skipped": skip},
            "exit_code": exit_code(&result),
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        println!(
            "\n{pass} passed, {}, {fail} failed, {skip} not run",
            plural(warn, "warning")
        );
    }
    result
}
