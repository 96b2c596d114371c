//! `rprof convert`: turn any stack source into an rprof data file (or folded stacks), so
//! `perf script` text or folded stacks can be stored, shared and loaded fast.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

use crate::profile::detect::{self, LoadOptions};
use crate::profile::file;

/// Flags of `rprof convert`.
#[derive(Args, Debug, Clone)]
pub struct ConvertArgs {
    /// Input: folded stacks, `perf script` text, massif output or an rprof data file; `-` for
    /// stdin.
    #[arg(value_name = "INPUT")]
    pub input: String,
    /// The rprof data file to write.
    #[arg(
        short = 'o',
        long = "output",
        default_value = "rprof.data",
        value_name = "FILE"
    )]
    pub output: String,
    /// For an input with several events (`perf record -e cpu-clock,page-faults`, then `perf
    /// script`): the one to read (default: the first present). `cycles` also finds `cycles:u`.
    #[arg(long, value_name = "NAME")]
    pub event: Option<String>,
}

/// Runs `rprof convert`.
pub fn run(args: ConvertArgs) -> Result<ExitCode> {
    let l = detect::load(
        &args.input,
        &LoadOptions {
            event: args.event.clone(),
            ..Default::default()
        },
    )?;
    let size = file::write_file(&l.profile, Path::new(&args.output))
        .with_context(|| format!("cannot write '{}'", args.output))?;
    eprintln!(
        "rprof: wrote {} ({} samples from {} {}, {} bytes)",
        args.output,
        l.profile.samples.len(),
        l.format.name(),
        l.name,
        size
    );
    Ok(ExitCode::SUCCESS)
}
