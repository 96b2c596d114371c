//! `rprof diff BEFORE AFTER`: differential flame graph and a table of changes.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};

use crate::profile::detect::{self, LoadOptions};
use crate::profile::file::write_atomically;
use crate::render::diff;
use crate::render::flamegraph::{self as fg, SvgOptions};

/// Output format of the change table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// Tables for people.
    Text,
    /// JSON.
    Json,
}

/// Flags of `rprof diff`.
#[derive(Args, Debug, Clone)]
pub struct DiffArgs {
    /// The baseline profile (any detected format; `-` for stdin).
    #[arg(value_name = "BEFORE")]
    pub before: String,
    /// The profile to compare with it (any detected format).
    #[arg(value_name = "AFTER")]
    pub after: String,
    /// Where to write the differential flame graph.
    #[arg(
        short = 'o',
        long = "output",
        default_value = "diff.svg",
        value_name = "FILE"
    )]
    pub output: String,
    /// Compare raw counts instead of scaling BEFORE to AFTER's total.
    #[arg(long = "no-normalize")]
    pub no_normalize: bool,
    /// Swap the colours: red for what shrank, blue for what grew.
    #[arg(long)]
    pub negate: bool,
    /// Show at most N rows per table.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub limit: usize,
    /// Format of the change table on stdout.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
    /// For massif inputs: the snapshot to compare (default: each file's peak).
    #[arg(long, value_name = "N")]
    pub snapshot: Option<usize>,
    /// Title of the graph.
    #[arg(long, default_value = "Differential Flame Graph", value_name = "TEXT")]
    pub title: String,
}

/// Runs `rprof diff`.
pub fn run(args: DiffArgs) -> Result<ExitCode> {
    if args.before == "-" && args.after == "-" {
        bail!("only one of BEFORE and AFTER can be stdin");
    }
    let opts = LoadOptions {
        massif_snapshot: args.snapshot,
    };
    let b = detect::load(&args.before, &opts)?;
    let a = detect::load(&args.after, &opts)?;
    let is_massif = b.format == detect::Format::Massif && a.format == detect::Format::Massif;
    let lines = diff::diff_lines(&b.profile, &a.profile, !args.no_normalize);
    if lines.is_empty() {
        bail!("{} and {} hold no samples to compare", b.name, a.name);
    }
    let unit = if is_massif { "bytes" } else { "samples" };
    let o = SvgOptions {
        title: args.title.clone(),
        subtitle: Some(format!(
            "{} → {}; {}red: grew, blue: shrank{}",
            b.name,
            a.name,
            if args.no_normalize {
                "raw counts; "
            } else {
                "before scaled to after's total; "
            },
            if args.negate { " (negated)" } else { "" }
        )),
        count_name: unit.into(),
        negate: args.negate,
        presorted: true,
        ..SvgOptions::default()
    };
    let svg = fg::render(lines.iter().map(|s| s.as_str()), &o)?;
    let t = diff::table(&b.profile, &a.profile, args.limit);
    let mut so = std::io::stdout().lock();
    match args.format {
        DiffFormat::Text => so.write_all(diff::to_text(&t, &b.name, &a.name, unit).as_bytes())?,
        DiffFormat::Json => {
            serde_json::to_writer_pretty(&mut so, &t).context("writing JSON")?;
            so.write_all(b"\n")?;
        }
    }
    so.flush()?;
    if args.output == "-" {
        bail!("the change table goes to stdout; give -o a file for the SVG");
    }
    write_atomically(Path::new(&args.output), &svg)
        .with_context(|| format!("cannot write '{}'", args.output))?;
    eprintln!("rprof: wrote {}", args.output);
    Ok(ExitCode::SUCCESS)
}
