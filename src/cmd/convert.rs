//! `rprof convert`: turn any stack source into an rprof data file (or folded stacks), so
//! `perf script` text or folded stacks can be stored, shared and loaded fast.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};

use crate::profile::detect::{self, LoadOptions};
use crate::profile::file;

/// What `rprof convert` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ConvertTo {
    /// rprof's own data file.
    Rprof,
    /// Gzipped pprof (`profile.proto`).
    Pprof,
    /// Folded stacks (`a;b;c WEIGHT` lines).
    Folded,
}

/// Flags of `rprof convert`.
#[derive(Args, Debug, Clone)]
pub struct ConvertArgs {
    /// Input: perf.data, folded stacks, `perf script` text, massif output or an rprof data file;
    /// `-` for stdin.
    #[arg(value_name = "INPUT", required_unless_present = "input_file")]
    pub input: Option<String>,
    /// The input, as perf's `-i FILE` (the same as INPUT).
    #[arg(
        short = 'i',
        long = "input",
        value_name = "FILE",
        conflicts_with = "input"
    )]
    pub input_file: Option<String>,
    /// The rprof data file to write.
    #[arg(
        short = 'o',
        long = "output",
        default_value = "rprof.data",
        value_name = "FILE"
    )]
    pub output: String,
    /// Output format (default: pprof for a name ending in `.pb.gz`/`.pprof`, folded for
    /// `.folded`, else an rprof data file).
    #[arg(long = "to", value_enum, value_name = "FORMAT")]
    pub to: Option<ConvertTo>,
    /// For pprof input: the sample type to read (`cpu`, `alloc_space`, … or an index; default
    /// as `go tool pprof` chooses).
    #[arg(long = "sample-index", value_name = "TYPE")]
    pub sample_index: Option<String>,
    /// For an input with several events (`perf record -e cpu-clock,page-faults`, then `perf
    /// script`): the one to read (default: the first present). `cycles` also finds `cycles:u`.
    #[arg(long, value_name = "NAME")]
    pub event: Option<String>,
}

/// Runs `rprof convert`.
pub fn run(args: ConvertArgs) -> Result<ExitCode> {
    let input = args
        .input_file
        .clone()
        .or_else(|| args.input.clone())
        .unwrap_or_else(|| "-".into());
    let l = detect::load(
        &input,
        &LoadOptions {
            sample_index: args.sample_index.clone(),
            event: args.event.clone(),
            ..Default::default()
        },
    )?;
    let to = args.to.unwrap_or_else(|| {
        let o = args.output.as_str();
        if o.ends_with(".pb.gz") || o.ends_with(".pprof") || o.ends_with(".pb") {
            ConvertTo::Pprof
        } else if o.ends_with(".folded") {
            ConvertTo::Folded
        } else {
            ConvertTo::Rprof
        }
    });
    let size = match to {
        ConvertTo::Rprof => file::write_file(&l.profile, Path::new(&args.output))
            .with_context(|| format!("cannot write '{}'", args.output))?,
        ConvertTo::Pprof => {
            let bytes = crate::profile::pprof::encode(&l.profile)?;
            crate::output::write_atomically(Path::new(&args.output), &bytes)
                .with_context(|| format!("cannot write '{}'", args.output))?;
            bytes.len() as u64
        }
        ConvertTo::Folded => {
            let lines = crate::profile::folded::fold(&l.profile, &Default::default());
            let text = crate::profile::folded::to_text(&lines);
            crate::output::write_atomically(Path::new(&args.output), text.as_bytes())
                .with_context(|| format!("cannot write '{}'", args.output))?;
            text.len() as u64
        }
    };
    eprintln!(
        "rprof: wrote {} ({} samples from {} {}, {} bytes)",
        args.output,
        crate::render::report::count_samples(&l.profile),
        l.format.name(),
        l.name,
        size
    );
    Ok(ExitCode::SUCCESS)
}
