//! `rprof record`: sample call stacks into a data file.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Args;

use crate::profile::Profile;

/// Who to sample and how; shared by `record` and the one-step `flamegraph`.
#[derive(Args, Debug, Clone)]
pub struct TargetArgs {
    /// Attach to these processes (comma-separated), every thread, including threads and
    /// children created later.
    #[arg(short = 'p', long = "pid", value_delimiter = ',', value_name = "PID")]
    pub pids: Vec<u32>,
    /// Sample the whole system (every CPU, every process).
    #[arg(short = 'a', long = "all-cpus")]
    pub all_cpus: bool,
    /// Stop after this many seconds (default: until the target exits or Ctrl-C).
    #[arg(short = 'd', long = "duration", value_name = "SECONDS")]
    pub duration: Option<f64>,
    /// Sampling frequency in Hz.
    #[arg(short = 'F', long = "freq", value_name = "HZ", default_value_t = 999)]
    pub frequency: u64,
    /// Event to sample: cycles, cpu-clock, task-clock, page-faults (default: cycles when the
    /// hardware counter opens, else cpu-clock).
    #[arg(short = 'e', long = "event", value_name = "EVENT")]
    pub event: Option<String>,
    /// Sample user stacks only (by default kernel frames are included when permitted).
    #[arg(long = "no-kernel")]
    pub no_kernel: bool,
    /// How to unwind user stacks: fp (frame pointers, from the kernel), dwarf[,STACK_BYTES]
    /// or auto.
    #[arg(long = "call-graph", value_name = "MODE", default_value = "fp")]
    pub call_graph: String,
    /// The command to launch and profile, after `--`.
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// Flags of `rprof record`.
#[derive(Args, Debug, Clone)]
pub struct RecordArgs {
    /// What to sample.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Sample only these threads (comma-separated tids).
    #[arg(short = 't', long = "tid", value_delimiter = ',', value_name = "TID")]
    pub tids: Vec<u32>,
    /// Data file to write; an existing one is kept as FILE.old.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FILE",
        default_value = "rprof.data"
    )]
    pub output: PathBuf,
}

/// Records according to `target` (and `tids`) and returns the symbolized profile.
pub fn record_profile(_target: &TargetArgs, _tids: &[u32]) -> Result<Profile> {
    bail!("recording is not available in this build")
}

/// Runs `rprof record`.
pub fn run(args: RecordArgs) -> Result<ExitCode> {
    let _ = record_profile(&args.target, &args.tids)?;
    Ok(ExitCode::SUCCESS)
}
