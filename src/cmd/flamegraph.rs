//! `rprof flamegraph`: any stack source to an SVG flame graph (or folded stacks); with a
//! target (`-p PID` or `-- CMD`), records first and renders in one go.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Args;

use crate::cmd::record::TargetArgs;
use crate::output::write_atomically;
use crate::profile::detect::{self, LoadOptions};
use crate::profile::folded::{self, FoldOptions, LineBuf};
use crate::profile::stack_counts;
use crate::profile::Profile;
use crate::render::filter::{Filter, FilterArgs};
use crate::render::flamegraph::{self as fg, SvgOptions};

/// Flags of `rprof flamegraph`.
#[derive(Args, Debug, Clone)]
pub struct FlamegraphArgs {
    /// Input: an rprof data file, perf.data, folded stacks, `perf script` text, pprof or massif
    /// output; `-` for stdin. Ignored when a target (-p, -a or -- CMD) is given.
    #[arg(value_name = "INPUT")]
    pub input: Option<String>,
    /// The input, as perf's `-i FILE` (the same as INPUT).
    #[arg(
        short = 'i',
        long = "input",
        value_name = "FILE",
        conflicts_with = "input"
    )]
    pub input_file: Option<String>,
    /// Where to write the SVG (or folded text with --folded); `-` for stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<String>,
    /// Title of the graph (default: "Flame Graph"; "Icicle Graph" when inverted, "Flame
    /// Chart" or "Icicle Chart" for a flame chart).
    #[arg(long, value_name = "TEXT")]
    pub title: Option<String>,
    /// Subtitle under the title (default: the target and sample count).
    #[arg(long, value_name = "TEXT")]
    pub subtitle: Option<String>,
    /// Colour palette: hot, mem, io, wakeup, java, js, perl, python, rust, red, green, blue,
    /// aqua, yellow, purple, orange.
    #[arg(long, default_value = "hot", value_name = "PALETTE")]
    pub colors: String,
    /// Draw an icicle graph: roots at the top, growing down.
    #[arg(long)]
    pub inverted: bool,
    /// Reverse every stack before merging, so callers sit on top of their callees.
    #[arg(long)]
    pub reverse: bool,
    /// Omit frames narrower than this many pixels.
    #[arg(long = "minwidth", default_value_t = 0.1, value_name = "PIXELS")]
    pub min_width: f64,
    /// Width of the image in pixels.
    #[arg(long, default_value_t = 1200, value_name = "PIXELS")]
    pub width: usize,
    /// Flame chart: samples in time order instead of merged alphabetically (needs timestamps).
    #[arg(long)]
    pub flamechart: bool,
    /// One root per thread (`name-tid`).
    #[arg(long = "per-thread")]
    pub per_thread: bool,
    /// Filters, as on `report` and `diff` (with an INPUT, `-p/--pid` keeps only samples of
    /// those processes).
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Write folded stacks instead of SVG (default output then stdout).
    #[arg(long)]
    pub folded: bool,
    /// For massif input: the snapshot to draw (default: the peak).
    #[arg(long, value_name = "N")]
    pub snapshot: Option<usize>,
    /// For pprof input: the sample type to read (`cpu`, `alloc_space`, … or an index; default
    /// as `go tool pprof` chooses).
    #[arg(long = "sample-index", value_name = "TYPE")]
    pub sample_index: Option<String>,
    /// Record first (one-step mode): the target and sampling flags of `rprof record`.
    #[command(flatten)]
    pub target: TargetArgs,
}

/// Whether the flags ask to record: a command, `-a`, or `-p` without an INPUT (with an INPUT,
/// `-p` filters it by process, as `report --pid` does).
fn has_target(t: &TargetArgs, input: Option<&str>) -> bool {
    (!t.pids.is_empty() && input.is_none()) || t.all_cpus || !t.command.is_empty()
}

/// Runs `rprof flamegraph`.
pub fn run(mut args: FlamegraphArgs) -> Result<ExitCode> {
    if let Some(i) = args.input_file.take() {
        args.input = Some(i);
    }
    let (profile, source, is_massif) = if has_target(&args.target, args.input.as_deref()) {
        if args.input.is_some() {
            bail!("give either an INPUT file or a target to record (-p, -a, -- CMD), not both");
        }
        let p = crate::cmd::record::record_profile(&args.target, &[])?;
        (p, "recording".to_string(), false)
    } else {
        let input = args.input.clone().unwrap_or_else(|| "rprof.data".into());
        let (name, bytes) = detect::read_input(&input)?;
        if detect::detect(&bytes) == Some(detect::Format::Folded) && passes_through(&args) {
            return render_folded_text(&args, &name, &bytes);
        }
        let l = detect::load_bytes(
            name,
            &bytes,
            &LoadOptions {
                massif_snapshot: args.snapshot,
                sample_index: args.sample_index.clone(),
                // The recording's -e/--event names, for an input, the event to read from it.
                event: args.target.event.first().cloned(),
                // A flame graph names functions: no source lines to read.
                names_only: true,
                ..Default::default()
            },
        )?;
        let is_massif = l.format == detect::Format::Massif;
        (l.profile, l.name, is_massif)
    };
    render_to_output(&args, &profile, &source, is_massif)
}

fn render_to_output(
    args: &FlamegraphArgs,
    profile: &Profile,
    source: &str,
    is_massif: bool,
) -> Result<ExitCode> {
    // Recorded just now, `-p` chose the process; on an INPUT it filters.
    let pids: &[u32] = if source == "recording" {
        &[]
    } else {
        &args.target.pids
    };
    let filter = Filter::from_args(&args.filter, pids)?;
    let t0 = std::time::Instant::now();
    let (p, unknown_tid) = filter.run(profile, source)?;
    if args.flamechart && !p.has_timestamps() {
        bail!("{source} has no timestamps, so no flame chart can be drawn (folded stacks carry none; use an rprof data file, perf.data or perf script text)");
    }
    let lines = folded::fold(
        &p,
        &FoldOptions {
            per_thread: args.per_thread,
            time_order: args.flamechart,
            annotate: false,
        },
    );
    if lines.is_empty() {
        bail!("{source}: no samples left to draw (after filters)");
    }
    let text: Vec<String> = lines.iter().map(|(s, w)| format!("{s} {w}")).collect();
    let t1 = std::time::Instant::now();
    let total: u64 = lines.iter().map(|x| x.1).sum();
    let mut target = if p.meta.target.is_empty() {
        source.to_string()
    } else {
        p.meta.target.clone()
    };
    // Say what the widths are when they are not CPU time.
    match p.meta.event.as_str() {
        "off-cpu" => target.push_str(", off-CPU time"),
        "wall" => target.push_str(", wall-clock time (off-CPU frames in blue)"),
        _ => {}
    }
    // The subtitle names the filters, as report's header does: a filtered graph must not pass
    // for the whole profile.
    let filters = filter.describe();
    let target = if filters.is_empty() {
        target
    } else {
        format!("{target} (filters: {})", filters.join(" "))
    };
    // Widths are weights (the folded counts are summed periods); the tooltips name their unit.
    let unit = if is_massif {
        "bytes".to_string()
    } else {
        p.unit().to_string()
    };
    let samples = crate::render::report::count_samples(&p);
    let bytes = if args.folded {
        let mut t = text.join("\n");
        t.push('\n');
        t.into_bytes()
    } else {
        let what = Weight {
            total,
            unit: &unit,
            samples: (unit != "samples" && !is_massif).then_some(samples),
            massif: is_massif,
        };
        svg(args, text.iter().map(|s| s.as_str()), &what, &target, true)?
    };
    if std::env::var_os("RPROF_TIMINGS").is_some() {
        eprintln!(
            "rprof-timing: filter+fold {:.1} ms, render {:.1} ms",
            (t1 - t0).as_secs_f64() * 1e3,
            t1.elapsed().as_secs_f64() * 1e3
        );
    }
    write_output(args, &bytes, lines.len())?;
    Ok(if unknown_tid {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// True when the flags ask for no transformation, so folded text can go straight to inferno.
fn passes_through(args: &FlamegraphArgs) -> bool {
    !args.folded
        && !args.per_thread
        && !args.flamechart
        && args.target.pids.is_empty()
        && Filter::from_args(&args.filter, &[]).is_ok_and(|f| f.is_noop())
}

/// Folded text with nothing to filter: validate every line (a bad count is an error naming
/// the line, where inferno would skip it), then let inferno merge it; building the model first
/// would only repeat inferno's own work.
fn render_folded_text(args: &FlamegraphArgs, name: &str, bytes: &[u8]) -> Result<ExitCode> {
    let text = std::str::from_utf8(bytes)
        .with_context(|| format!("{name}: folded stacks are not valid UTF-8"))?;
    let (svg, n) = folded_svg(args, name, text)?;
    write_output(args, &svg, n)?;
    Ok(ExitCode::SUCCESS)
}

/// The SVG of folded text and the number of its non-blank lines.
fn folded_svg(args: &FlamegraphArgs, name: &str, text: &str) -> Result<(Vec<u8>, usize)> {
    let target = format!("folded stacks {name}");
    // With --reverse inferno re-sorts the reversed stacks itself; the lines go as they are.
    if !args.reverse {
        let t0 = std::time::Instant::now();
        if let Some(c) = stack_counts::count_plain(text) {
            return summed_svg(args, name, &target, c, t0);
        }
    }
    raw_svg(args, name, &target, text)
}

/// Every line as it is, for inferno to sort and merge.
fn raw_svg(
    args: &FlamegraphArgs,
    name: &str,
    target: &str,
    text: &str,
) -> Result<(Vec<u8>, usize)> {
    let mut total: u64 = 0;
    let mut n = 0usize;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let (_, c) = folded::split_line(line)
            .map_err(|msg| anyhow::anyhow!("{name}: bad folded stacks: line {}: {msg}", i + 1))?;
        total = total.saturating_add(c);
        n += 1;
    }
    if total == 0 {
        bail!("{name}: no samples to draw");
    }
    let bytes = svg(
        args,
        text.lines().filter(|l| !l.trim().is_empty()),
        &Weight::counted(total),
        target,
        false,
    )?;
    Ok((bytes, n))
}

/// Plain folded text (see `stack_counts::count_plain`) drawn from one summed line per stack:
/// inferno then sorts and merges a fifth of the lines on a typical profile, and draws exactly
/// the same graph.
fn summed_svg(
    args: &FlamegraphArgs,
    name: &str,
    target: &str,
    c: stack_counts::StackCounts<'_>,
    t0: std::time::Instant,
) -> Result<(Vec<u8>, usize)> {
    let total = c.total();
    if total == 0 {
        bail!("{name}: no samples to draw");
    }
    let n = c.lines;
    let tc = t0.elapsed();
    let mut lines = LineBuf::with_capacity(
        c.stacks.len(),
        c.stacks.iter().map(|(s, _)| s.len() + 12).sum(),
    );
    for (s, w) in &c.stacks {
        lines.push_counted(s, *w);
    }
    let t1 = std::time::Instant::now();
    let bytes = svg(args, lines.iter(), &Weight::counted(total), target, true)?;
    if std::env::var_os("RPROF_TIMINGS").is_some() {
        eprintln!(
            "rprof-timing: count and sort {:.1} ms, lines {:.1} ms ({n} lines, {} stacks), render {:.1} ms",
            tc.as_secs_f64() * 1e3,
            (t1 - t0 - tc).as_secs_f64() * 1e3,
            lines.len(),
            t1.elapsed().as_secs_f64() * 1e3
        );
    }
    Ok((bytes, n))
}

/// What the widths of a graph add up to.
struct Weight<'a> {
    /// Sum of the weights drawn.
    total: u64,
    /// Their unit (`samples`, `ns`, `page-faults`, `bytes`).
    unit: &'a str,
    /// The number of samples, when it differs from the weight.
    samples: Option<u64>,
    /// A heap profile (drawn in the memory palette).
    massif: bool,
}

impl Weight<'_> {
    /// Folded counts: the weight is the sample count.
    fn counted(total: u64) -> Weight<'static> {
        Weight {
            total,
            unit: "samples",
            samples: None,
            massif: false,
        }
    }
}

/// The default title: what is drawn (flame graph or chart) and which way up.
fn default_title(args: &FlamegraphArgs) -> &'static str {
    match (args.flamechart, args.inverted) {
        (false, false) => "Flame Graph",
        (false, true) => "Icicle Graph",
        (true, false) => "Flame Chart",
        (true, true) => "Icicle Chart",
    }
}

fn svg<'a>(
    args: &FlamegraphArgs,
    lines: impl IntoIterator<Item = &'a str>,
    w: &Weight<'_>,
    target: &str,
    presorted: bool,
) -> Result<Vec<u8>> {
    let unit = w.unit;
    let subtitle = args.subtitle.clone().or_else(|| {
        let total = crate::render::report::weight_text(w.total, unit);
        Some(match w.samples {
            Some(n) => format!("{target}: {} samples, {total}", crate::render::thousands(n)),
            None => format!("{target}: {total}"),
        })
    });
    let o = SvgOptions {
        title: args
            .title
            .clone()
            .unwrap_or_else(|| default_title(args).to_string()),
        subtitle,
        colors: if w.massif && args.colors == "hot" {
            "mem".into()
        } else {
            args.colors.clone()
        },
        inverted: args.inverted,
        reverse: args.reverse,
        min_width: args.min_width,
        width: Some(args.width),
        flame_chart: args.flamechart,
        count_name: unit.into(),
        negate: false,
        presorted,
    };
    fg::render(lines, &o)
}

fn write_output(args: &FlamegraphArgs, bytes: &[u8], stacks: usize) -> Result<()> {
    let default_out = if args.folded { "-" } else { "flamegraph.svg" };
    let out = args
        .output
        .clone()
        .unwrap_or_else(|| default_out.to_string());
    if out == "-" {
        let mut so = std::io::stdout().lock();
        so.write_all(bytes)?;
        so.flush()?;
    } else {
        write_atomically(Path::new(&out), bytes)
            .with_context(|| format!("cannot write '{out}'"))?;
        eprintln!(
            "rprof: wrote {out} ({} stacks, {} bytes)",
            stacks,
            bytes.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: FlamegraphArgs,
    }

    /// One summed line per stack must draw the very graph all the lines draw.
    #[test]
    fn summed_lines_draw_the_same_graph() {
        let inputs = [
            "main;foo (inlined) 3\nmain;foo 5\nmain;foo x;bar 4\nmain;foo 7\n",
            "a\tb 1\na 2\na;b 3\na\tb 4\na 5\na!c 1\n",
            "z 1\na;b 2\na 3\na;b 4\nz 5\na 6\na;b 0\n",
            "a;;b 1\n;a 2\na;;b 3\n;; 1\n#x 2\n",
            "f\u{fc}nc;\u{65e5} 3\nf\u{fc}nc 2\nf\u{fc}nc;\u{65e5} 1\n\n",
        ];
        for flags in [&[][..], &["--inverted", "--minwidth", "0"][..]] {
            let mut argv = vec!["rprof", "-o", "-"];
            argv.extend_from_slice(flags);
            let args = Cli::parse_from(argv).args;
            for text in inputs {
                let c = stack_counts::count_plain(text).expect("plain input");
                let t0 = std::time::Instant::now();
                let summed = summed_svg(&args, "x", "t", c, t0).expect("summed");
                let raw = raw_svg(&args, "x", "t", text).expect("raw");
                assert_eq!(summed.1, raw.1, "{text:?}");
                assert!(summed.0 == raw.0, "{text:?} draws differently");
            }
        }
    }
}
