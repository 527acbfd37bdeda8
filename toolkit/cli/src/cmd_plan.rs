//! `dirsnap plan show PLAN --format text|json|markdown|html`.

use crate::error::CliError;
use dirsnap_plan::load_plan;
use dirsnap_report::{Format, render};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Plan directory.
    pub plan: PathBuf,
    /// text, json, markdown or html.
    #[arg(long, default_value = "text")]
    pub format: String,
}

pub fn run(args: Args, _quiet: bool) -> Result<(), CliError> {
    let format = Format::parse(&args.format).ok_or_else(|| {
        CliError::Input(format!(
            "--format {:?}: expected text, json, markdown or html",
            args.format
        ))
    })?;
    let dir = load_plan(&args.plan)?;
    print!("{}", render(&dir.plan, format));
    Ok(())
}
