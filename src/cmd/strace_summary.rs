//! `rprof strace-summary`: a syscall table like `strace -c`.

use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Args;

/// Flags of `rprof strace-summary`.
#[derive(Args, Debug, Clone)]
pub struct StraceArgs {
    /// The command to launch and trace, after `--`.
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// Runs `rprof strace-summary`.
pub fn run(_args: StraceArgs) -> Result<ExitCode> {
    bail!("strace-summary is not available in this build")
}
