//! `dirsnap`: the command line. Parsing, progress, output and exit codes live here; the work
//! is done by the library crates.

mod error;
mod inspect;
mod output;
mod snapdiff;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "dirsnap",
    version,
    about = "Snapshot AD and IIJ ID to Parquet, compute what Directory Sync would do, replay a reviewed plan",
    long_about = None,
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
    /// Show what a snapshot or plan holds: kind, source, time, counts, schema, a sample.
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
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
