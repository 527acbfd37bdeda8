//! `dirsnap`: the command line. Parsing, progress, output and exit codes live here; the work
//! is done by the library crates, the workflows by `dirsnap-app`.

mod cmd_audit;
mod cmd_check;
mod cmd_export_ad;
mod cmd_export_iid;
mod cmd_export_m365;
mod cmd_mock_scim;
mod cmd_plan;
mod cmd_reconcile;
mod cmd_replay;
mod cmd_simulate;
mod error;
mod help;
mod inspect;
mod interrupt;
mod output;
mod snapdiff;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

// Snapshots of a million users are tens of millions of small strings: mimalloc allocates
// and frees them in about half the time of glibc's malloc and with less overhead per string
// (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(
    name = "dirsnap",
    version,
    about = "Snapshot AD and IIJ ID to Parquet, compute what Directory Sync would do, replay a reviewed plan",
    long_about = None,
    after_help = help::DIRSNAP,
)]
struct Cli {
    /// Only errors on stderr; no progress bars.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Show what a snapshot or plan holds: kind, source, time, counts, schema, a sample; for a
    /// plan its verdict. Every file is checked against the sha256 its manifest records.
    #[command(after_help = help::INSPECT)]
    Inspect {
        /// A snapshot or plan directory.
        path: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// How many sample rows of each table to show.
        #[arg(long, default_value_t = 3)]
        sample: usize,
    },
    /// Show what changed between two snapshots of the same kind, by stable key.
    #[command(after_help = help::DIFF)]
    Diff {
        /// The earlier snapshot.
        before: PathBuf,
        /// The later snapshot.
        after: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Show at most this many objects per section in text output (0 = all).
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Export a system's state to a Parquet snapshot.
    #[command(subcommand, after_help = help::EXPORT)]
    Export(ExportCommand),
    /// Compute what Directory Sync would do: a plan of actions and findings, offline.
    #[command(after_help = help::RECONCILE)]
    Reconcile(cmd_reconcile::Args),
    /// Work with a plan.
    #[command(subcommand, after_help = help::PLAN)]
    Plan(PlanCommand),
    /// Execute a reviewed plan against a SCIM endpoint, resumably.
    #[command(after_help = help::REPLAY)]
    Replay(cmd_replay::Args),
    /// Run an in-memory SCIM 2.0 server that behaves like IIJ ID.
    #[command(name = "mock-scim", after_help = help::MOCK_SCIM)]
    MockScim(cmd_mock_scim::Args),
    /// Audit before recovery mode: console edits, orphans, duplicates, what recovery would do, a verdict.
    #[command(after_help = help::AUDIT)]
    Audit(cmd_audit::Args),
    /// Reconcile, replay the plan onto an in-process mock IIJ ID, reconcile again: does it
    /// converge, and is it ready (no blocking finding)?
    #[command(after_help = help::SIMULATE)]
    Simulate(cmd_simulate::Args),
    /// Pre-flight: config and filters parse, every domain controller binds, IIJ ID is
    /// reachable, TLS verifies, the token works and has the four scopes. Exit 0 only if all pass.
    #[command(after_help = help::CHECK)]
    Check(cmd_check::Args),
}

#[derive(Subcommand, Debug)]
enum ExportCommand {
    /// Active Directory over LDAP.
    #[command(after_help = help::EXPORT_AD)]
    Ad(cmd_export_ad::Args),
    /// IIJ ID over SCIM 2.0.
    #[command(after_help = help::EXPORT_IID)]
    Iid(cmd_export_iid::Args),
    /// Microsoft 365 over Microsoft Graph, or from the admin center CSV.
    #[command(after_help = help::EXPORT_M365, after_long_help = help::EXPORT_M365_LONG)]
    M365(cmd_export_m365::Args),
}

#[derive(Subcommand, Debug)]
enum PlanCommand {
    /// Render a plan as text, JSON, Markdown or HTML.
    #[command(after_help = help::PLAN_SHOW)]
    Show(cmd_plan::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    output::init_logging(cli.quiet);
    let result = match cli.command {
        Command::Inspect { path, json, sample } => inspect::run(&path, json, sample, cli.quiet),
        Command::Diff {
            before,
            after,
            json,
            limit,
        } => snapdiff::run(&before, &after, json, limit, cli.quiet),
        Command::Export(ExportCommand::Ad(args)) => cmd_export_ad::run(args, cli.quiet),
        Command::Export(ExportCommand::Iid(args)) => cmd_export_iid::run(args, cli.quiet),
        Command::Export(ExportCommand::M365(args)) => cmd_export_m365::run(args, cli.quiet),
        Command::Reconcile(args) => cmd_reconcile::run(args, cli.quiet),
        Command::Plan(PlanCommand::Show(args)) => cmd_plan::run(args, cli.quiet),
        Command::Replay(args) => cmd_replay::run(args, cli.quiet),
        Command::MockScim(args) => cmd_mock_scim::run(args, cli.quiet),
        Command::Check(args) => cmd_check::run(args, cli.quiet),
        Command::Audit(args) => cmd_audit::run(args, cli.quiet),
        Command::Simulate(args) => cmd_simulate::run(args, cli.quiet),
    };
    if let Err(e) = &result {
        eprintln!("error: {e}");
    }
    ExitCode::from(error::exit_code(&result))
}
