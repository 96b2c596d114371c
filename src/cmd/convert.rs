//! `rprof convert`: turn any stack source into an rprof data file (or folded stacks), so
//! `perf script` text or folded stacks can be stored, shared and loaded fast.

use std::io::Write;
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
    /// Input: perf.data, folded stacks, `perf script` text, pprof, massif output or an rprof
    /// data file; `-` for stdin.
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
    /// The file to write (`-`: standard output).
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
    let bytes = match to {
        ConvertTo::Rprof => file::encode(&l.profile),
        ConvertTo::Pprof => crate::profile::pprof::encode(&l.profile)?,
        ConvertTo::Folded => {
            let lines = crate::profile::folded::fold(&l.profile, &Default::default());
            crate::profile::folded::to_text(&lines).into_bytes()
        }
    };
    // `-o -` is standard output, as for every other command (a pipe into `go tool pprof` or
    // `rprof flamegraph -`), never a file named `-`.
    let shown = if args.output == "-" {
        let mut so = std::io::stdout().lock();
        so.write_all(&bytes)
            .and_then(|()| so.flush())
            .context("cannot write to standard output")?;
        "standard output"
    } else {
        crate::output::write_atomically(Path::new(&args.output), &bytes)
            .with_context(|| format!("cannot write '{}'", args.output))?;
        args.output.as_str()
    };
    eprintln!(
        "rprof: wrote {} ({} samples from {} {}, {} bytes)",
        shown,
        crate::render::report::count_samples(&l.profile),
        l.format.name(),
        l.name,
        bytes.len()
    );
    Ok(ExitCode::SUCCESS)
}
