//! `dirsnap export m365`: Microsoft 365 users (enabled, blocked, soft-deleted) from Microsoft
//! Graph, or from the admin center's "Export users" CSV, into an `m365` snapshot (issue 8).

use crate::error::CliError;
use crate::output::spinner;
use dirsnap_m365::{
    CredentialInputs, CsvOptions, DEFAULT_AUTHORITY, DEFAULT_GRAPH_URL, DEFAULT_SCOPE,
    ENV_AUTHORITY, ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_SCOPE, ENV_TENANT_ID, ExportReport,
    GraphOptions, Progress, Secret,
};
use indicatif::ProgressBar;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Snapshot directory to create (must not exist).
    #[arg(long, value_name = "SNAP")]
    pub out: PathBuf,
    /// Microsoft Graph base URL.
    #[arg(long, value_name = "URL", default_value = DEFAULT_GRAPH_URL, conflicts_with = "from_csv")]
    pub graph_url: String,
    /// Name of the environment variable holding a Graph access token (instead of the
    /// client-credentials flow).
    #[arg(long, value_name = "VAR", conflicts_with = "from_csv")]
    pub token_env: Option<String>,
    /// Import the admin center's "Export users" CSV instead of calling Graph.
    #[arg(long, value_name = "FILE")]
    pub from_csv: Option<PathBuf>,
    /// Encoding of a CSV without byte-order mark, e.g. shift_jis for a file re-saved by Excel
    /// (default UTF-8).
    #[arg(long, value_name = "LABEL", requires = "from_csv")]
    pub csv_encoding: Option<String>,
    /// Identity platform for the client-credentials flow.
    #[arg(long, value_name = "URL", env = ENV_AUTHORITY, default_value = DEFAULT_AUTHORITY)]
    pub authority_url: String,
    /// Tenant id or primary domain (client-credentials flow).
    #[arg(long, value_name = "ID", env = ENV_TENANT_ID, hide_env_values = true)]
    pub tenant_id: Option<String>,
    /// Application (client) id (client-credentials flow).
    #[arg(long, value_name = "ID", env = ENV_CLIENT_ID, hide_env_values = true)]
    pub client_id: Option<String>,
    /// OAuth scope requested with client credentials.
    #[arg(long, value_name = "SCOPE", env = ENV_SCOPE, default_value = DEFAULT_SCOPE)]
    pub scope: String,
    /// Do not list soft-deleted users (the recycle bin).
    #[arg(long)]
    pub no_deleted: bool,
    /// Users per Graph page ($top).
    #[arg(long, value_name = "N", default_value_t = 999,
          value_parser = clap::value_parser!(u32).range(1..=999))]
    pub page_size: u32,
    /// Attempts per request when Graph throttles (429) or fails transiently (5xx).
    #[arg(long, value_name = "N", default_value_t = 6,
          value_parser = clap::value_parser!(u32).range(1..=30))]
    pub max_attempts: u32,
    /// Per-request timeout, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 120,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
    /// Print the result as JSON on stdout (docs/m365-export.md); the summary for people goes
    /// to stderr.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, quiet: bool) -> Result<(), CliError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let started = Instant::now();
    crate::output::check_out("--out", &args.out, "snapshots")?;
    let (report, source) = match &args.from_csv {
        Some(csv) => {
            let options = match &args.csv_encoding {
                None => CsvOptions::default(),
                Some(label) => CsvOptions::with_encoding_label(label)?,
            };
            let pb = spinner(quiet, &format!("reading {}", csv.display()));
            let r = dirsnap_m365::import_csv(csv, options, &args.out);
            pb.finish_and_clear();
            (r?, format!("admin center CSV {}", csv.display()))
        }
        None => {
            let report = export_graph(&args, quiet)?;
            (report, format!("{} (Microsoft Graph)", args.graph_url))
        }
    };
    for w in report.warnings.iter().take(20) {
        tracing::warn!("{w}");
    }
    if report.warnings.len() > 20 {
        tracing::warn!("… and {} more warnings", report.warnings.len() - 20);
    }
    print_summary(&args, &report, &source, started.elapsed(), quiet);
    Ok(())
}

fn export_graph(args: &Args, quiet: bool) -> Result<ExportReport, CliError> {
    let client_secret = std::env::var(ENV_CLIENT_SECRET).ok().map(Secret::new);
    let credentials = dirsnap_m365::resolve_credentials(
        CredentialInputs {
            token_env: args.token_env.clone(),
            tenant_id: args.tenant_id.clone(),
            client_id: args.client_id.clone(),
            client_secret,
            authority: Some(args.authority_url.clone()),
            scope: Some(args.scope.clone()),
        },
        |var| std::env::var(var).ok(),
    )?;
    let mut options = GraphOptions::new(&args.graph_url, credentials)?;
    options.page_size = args.page_size;
    options.include_deleted = !args.no_deleted;
    options.timeout = Duration::from_secs(args.timeout);
    options.retry.max_attempts = args.max_attempts;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::system("cannot start the async runtime"))?;
    let mut reporter = Reporter::new(quiet, &args.graph_url);
    let result = runtime.block_on(dirsnap_m365::export_graph(options, &args.out, &mut |p| {
        reporter.event(p)
    }));
    reporter.finish();
    Ok(result?)
}

/// Progress: a spinner line on a terminal, plain stderr lines otherwise (at most one per few
/// seconds for pages; every retry).
struct Reporter {
    pb: ProgressBar,
    plain: bool,
    last_plain: Option<Instant>,
    last_page_collection: Option<dirsnap_m365::Collection>,
}

impl Reporter {
    fn new(quiet: bool, url: &str) -> Reporter {
        let plain = !quiet && !std::io::stderr().is_terminal();
        Reporter {
            pb: spinner(quiet, &format!("connecting to {url}")),
            plain,
            last_plain: None,
            last_page_collection: None,
        }
    }

    fn line(&mut self, text: &str, force: bool) {
        self.pb.set_message(text.to_string());
        if self.plain {
            let due = self
                .last_plain
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(5));
            if force || due {
                eprintln!("{text}");
                self.last_plain = Some(Instant::now());
            }
        }
    }

    fn event(&mut self, p: Progress<'_>) {
        match p {
            Progress::Token { url } => {
                self.line(&format!("requesting an access token from {url}"), false)
            }
            Progress::Page {
                collection,
                page,
                total,
                ..
            } => {
                let first = self.last_page_collection != Some(collection);
                self.last_page_collection = Some(collection);
                self.line(
                    &format!("{}: {total} listed (page {page})", collection.label()),
                    first,
                );
            }
            Progress::Retry {
                url,
                reason,
                wait,
                attempt,
                max_attempts,
            } => {
                let text = dirsnap_scim::retry_line(url, reason, wait, attempt + 1, max_attempts);
                // A retry stays on screen as a line, not only as the spinner's passing message.
                if !self.pb.is_hidden() {
                    self.pb.println(&text);
                }
                self.line(&text, true)
            }
        }
    }

    fn finish(&self) {
        self.pb.finish_and_clear();
    }
}

fn print_summary(args: &Args, report: &ExportReport, source: &str, elapsed: Duration, quiet: bool) {
    if !quiet {
        // A closed stdout or stderr must not turn a written snapshot into a failure.
        let _ = print_text(
            &mut *crate::output::human(args.json),
            args,
            report,
            source,
            elapsed,
        );
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary_json(args, report, elapsed)).unwrap_or_default()
        );
    }
}

/// `--json`: docs/m365-export.md documents every field.
fn summary_json(args: &Args, report: &ExportReport, elapsed: Duration) -> serde_json::Value {
    let t = &report.tally;
    let m = &report.manifest;
    let snapshot = crate::output::snapshot_json(&args.out, m, elapsed);
    serde_json::json!({
        "out": args.out.display().to_string(),
        "kind": "m365",
        "source": if args.from_csv.is_some() { "csv" } else { "graph" },
        "counts": t,
        "requests": report.stats.as_ref().map(|s| serde_json::json!({
            "requests": s.requests,
            "pages": s.pages,
            "retries": s.retries,
            "throttled": s.throttled,
            "waited_ms": s.waited.as_millis() as u64,
            "token_requests": s.token_requests,
        })),
        "duplicates": report.duplicates,
        "warnings": report.warnings,
        "taken_at": snapshot.get("taken_at"),
        "snapshot": {"source": snapshot.get("source"), "counts": snapshot.get("counts")},
        "files": snapshot.get("files"),
        "duration_seconds": elapsed.as_secs_f64(),
        "elapsed_ms": elapsed.as_millis() as u64,
    })
}

fn print_text(
    w: &mut dyn Write,
    args: &Args,
    report: &ExportReport,
    source: &str,
    elapsed: Duration,
) -> std::io::Result<()> {
    let t = &report.tally;
    let active = t.users - t.deleted;
    let mut states = vec![
        format!("{} enabled", t.enabled),
        format!("{} blocked", t.blocked),
    ];
    if t.enabled_unknown > 0 {
        states.push(format!("{} unknown", t.enabled_unknown));
    }
    writeln!(w, "m365 snapshot written: {}", args.out.display())?;
    writeln!(w, "  source       {source}")?;
    writeln!(w, "  users        {active}: {}", states.join(", "))?;
    writeln!(w, "  deleted      {} soft-deleted (recycle bin)", t.deleted)?;
    writeln!(w, "  licensed     {}", t.licensed)?;
    if t.immutable_id_unknown == t.users && t.users > 0 {
        writeln!(w, "  immutableId  unknown (the CSV cannot tell)")?;
    } else {
        writeln!(
            w,
            "  immutableId  {} set, {} unset",
            t.immutable_id_set,
            t.users - t.immutable_id_set - t.immutable_id_unknown
        )?;
    }
    if let Some(s) = &report.stats {
        writeln!(
            w,
            "  requests     {} ({} pages, {} retried, {} throttled, {:.1}s waited)",
            s.requests,
            s.pages,
            s.retries,
            s.throttled,
            s.waited.as_secs_f64()
        )?;
    }
    if report.duplicates > 0 {
        writeln!(w, "  duplicates   {} (kept once)", report.duplicates)?;
    }
    if !report.warnings.is_empty() {
        writeln!(
            w,
            "  warnings     {} (see manifest.json notes)",
            report.warnings.len()
        )?;
    }
    writeln!(w, "  took         {:.1}s", elapsed.as_secs_f64())
}
