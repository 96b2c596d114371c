//! `rprof massif`: heap profiles from valgrind's massif.

use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Args;

/// Flags of `rprof massif`.
#[derive(Args, Debug, Clone)]
pub struct MassifArgs {
    /// A massif.out file, or `-` for stdin.
    pub input: Option<String>,
    /// The command to run under massif, after `--`.
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// Runs `rprof massif`.
pub fn run(_args: MassifArgs) -> Result<ExitCode> {
    bail!("massif is not available in this build")
}
