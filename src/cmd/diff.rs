//! `rprof diff BEFORE AFTER`: differential flame graph and a table of changes.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};

use std::time::{Duration, Instant};

use crate::profile::detect::{self, LoadOptions, Loaded};
use crate::profile::file::write_atomically;
use crate::profile::folded::LineBuf;
use crate::profile::stack_counts::{self, StackCounts};
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
    /// For an input with several events (`perf record -e cpu-clock,page-faults`, then `perf
    /// script`): the one to read from each (default: the first present). `cycles` also finds
    /// `cycles:u`.
    #[arg(long, value_name = "NAME")]
    pub event: Option<String>,
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
        event: args.event.clone(),
    };
    let t0 = Instant::now();
    let before = detect::read_input(&args.before).map(|r| (r, t0.elapsed()));
    let t1 = Instant::now();
    let after = detect::read_input(&args.after).map(|r| (r, t1.elapsed()));
    if let (Ok(((bn, bb), _)), Ok(((an, ab), _))) = (&before, &after) {
        if let (Some(bt), Some(at)) = (folded_text(bb), folded_text(ab)) {
            return run_folded(&args, (bn, bt), (an, at));
        }
    }
    // Any other pair loads into the model: both at once, each on its own CPU. BEFORE's error,
    // if any, is the one to report, as when they loaded one after the other.
    let load = |r: Result<((String, detect::InputBytes), Duration)>| -> Result<Loaded> {
        let ((name, bytes), read_time) = r?;
        detect::load_read(name, &bytes, read_time, &opts)
    };
    let (b, a) = std::thread::scope(|s| {
        let h = s.spawn(|| load(after));
        let b = load(before);
        match h.join() {
            Ok(a) => (b, a),
            Err(p) => std::panic::resume_unwind(p),
        }
    });
    let (b, a) = (b?, a?);
    let is_massif = b.format == detect::Format::Massif && a.format == detect::Format::Massif;
    let lines = diff::diff_lines(&b.profile, &a.profile, !args.no_normalize);
    finish(&args, &b.name, &a.name, is_massif, &lines, || {
        diff::table(&b.profile, &a.profile, args.limit)
    })
}

/// The text of an input detected as folded stacks; None for anything else (which the model
/// loader then reads, or reports).
fn folded_text(bytes: &[u8]) -> Option<&str> {
    if bytes.is_empty() || detect::detect(bytes) != Some(detect::Format::Folded) {
        return None;
    }
    std::str::from_utf8(bytes).ok()
}

/// Two folded inputs: the graph and the table need only the samples per stack, so count
/// those and skip the model.
fn run_folded(args: &DiffArgs, (bn, bt): (&str, &str), (an, at): (&str, &str)) -> Result<ExitCode> {
    let counted = |name: &str, text| -> Result<StackCounts<'_>> {
        let t = Instant::now();
        let c = stack_counts::count(text, stack_counts::text_order)
            .with_context(|| format!("{name}: bad folded stacks"))?;
        if detect::timings() {
            eprintln!(
                "rprof-timing: read 0.0 ms, parse {:.1} ms (folded stacks, {} samples)",
                t.elapsed().as_secs_f64() * 1e3,
                c.lines
            );
        }
        Ok(c)
    };
    let b = counted(bn, bt)?;
    let a = counted(an, at)?;
    let t = Instant::now();
    let lines = diff::diff_lines_counted(&b, &a, !args.no_normalize);
    if detect::timings() {
        eprintln!(
            "rprof-timing: merge {:.1} ms",
            t.elapsed().as_secs_f64() * 1e3
        );
    }
    finish(args, bn, an, false, &lines, || {
        diff::table_counted(&b, &a, args.limit)
    })
}

/// Renders the graph of `lines` while `table` computes the change table on another CPU, then
/// prints the table and writes the graph.
fn finish(
    args: &DiffArgs,
    before_name: &str,
    after_name: &str,
    is_massif: bool,
    lines: &LineBuf,
    table: impl FnOnce() -> diff::DiffTable + Send,
) -> Result<ExitCode> {
    if lines.is_empty() {
        bail!("{before_name} and {after_name} hold no samples to compare");
    }
    let unit = if is_massif { "bytes" } else { "samples" };
    let o = SvgOptions {
        title: args.title.clone(),
        subtitle: Some(format!(
            "{before_name} → {after_name}; {}red: grew, blue: shrank{}",
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
    let t0 = Instant::now();
    let (svg, t) = std::thread::scope(|s| {
        let h = s.spawn(table);
        let svg = fg::render(lines.iter(), &o);
        match h.join() {
            Ok(t) => (svg, t),
            Err(p) => std::panic::resume_unwind(p),
        }
    });
    let svg = svg?;
    if detect::timings() {
        eprintln!(
            "rprof-timing: render and table {:.1} ms ({} lines)",
            t0.elapsed().as_secs_f64() * 1e3,
            lines.len()
        );
    }
    let mut so = std::io::stdout().lock();
    match args.format {
        DiffFormat::Text => {
            so.write_all(diff::to_text(&t, before_name, after_name, unit).as_bytes())?
        }
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
