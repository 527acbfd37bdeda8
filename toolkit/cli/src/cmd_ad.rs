//! Stub (private mirror for building m365 while other crates are in progress).
use crate::error::CliError;
#[derive(clap::Args, Debug)]
pub struct Args {}
pub fn run(_args: Args, _quiet: bool) -> Result<(), CliError> {
    Err(CliError::Input("not available".into()))
}
