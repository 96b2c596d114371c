//! `rprof diff BEFORE AFTER`: differential flame graph and a table of changes.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};

use std::time::{Duration, Instant};

use crate::output::write_atomically;
use crate::profile::detect::{self, LoadOptions, Loaded};
use crate::profile::folded::LineBuf;
use crate::profile::stack_counts::{self, StackCounts};
use crate::render::diff::{self, DiffOptions, Totals, WidthBasis};
use crate::render::filter::{Filter, FilterArgs, PidFilterArgs};
use crate::render::flamegraph::{self as fg, SvgOptions};
use crate::render::report::count_samples;

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
    pub before: Option<String>,
    /// The profile to compare with it (any detected format).
    #[arg(value_name = "AFTER")]
    pub after: Option<String>,
    /// An input, as perf's `-i FILE`: given twice, BEFORE then AFTER; given once, BEFORE (and
    /// the one positional input is AFTER).
    #[arg(short = 'i', long = "input", value_name = "FILE", action = clap::ArgAction::Append)]
    pub input_file: Vec<String>,
    /// Where to write the differential flame graph.
    #[arg(
        short = 'o',
        long = "output",
        default_value = "diff.svg",
        value_name = "FILE"
    )]
    pub output: String,
    /// Compare raw weights instead of scaling BEFORE to AFTER's total (the default for heap
    /// profiles, whose bytes are absolute amounts).
    #[arg(long = "no-normalize", overrides_with = "normalize")]
    pub no_normalize: bool,
    /// Scale BEFORE's weights to AFTER's total before comparing (the default, except for two
    /// heap profiles in bytes); the factor is printed.
    #[arg(long, overrides_with = "no_normalize")]
    pub normalize: bool,
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
    /// For pprof input: the sample type to read (`cpu`, `alloc_space`, … or an index; default
    /// as `go tool pprof` chooses).
    #[arg(long = "sample-index", value_name = "TYPE")]
    pub sample_index: Option<String>,
    /// For an input with several events (`perf record -e cpu-clock,page-faults`, then `perf
    /// script`): the one to read from each (default: the first present). `cycles` also finds
    /// `cycles:u`.
    #[arg(long, value_name = "NAME")]
    pub event: Option<String>,
    /// Title of the graph.
    #[arg(long, default_value = "Differential Flame Graph", value_name = "TEXT")]
    pub title: String,
    /// Which weight sets a frame's width in the graph; the colour always shows the change.
    /// `max` (the default) keeps every stack of either input visible; `after` (inferno's
    /// choice) hides what vanished, `before` hides what is new.
    #[arg(long, value_enum, default_value_t = WidthBasis::Max, value_name = "BASIS")]
    pub width: WidthBasis,
    /// Compare inputs of different events or weight units (cpu-clock against page-faults,
    /// ns against samples) with a warning instead of refusing: only the shares then mean
    /// something.
    #[arg(long)]
    pub allow_mismatch: bool,
    /// Filters, applied to both inputs the same way before comparing.
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Only samples of these processes (comma-separated pids), in both inputs.
    #[command(flatten)]
    pub pid: PidFilterArgs,
}

impl DiffArgs {
    /// Whether to normalize: as the flags say, else yes unless both sides weigh bytes.
    fn normalize(&self, before_unit: &str, after_unit: &str) -> bool {
        if self.normalize {
            true
        } else if self.no_normalize {
            false
        } else {
            !(before_unit == "bytes" && after_unit == "bytes")
        }
    }
}

/// Runs `rprof diff`.
pub fn run(args: DiffArgs) -> Result<ExitCode> {
    let inputs: Vec<String> = args
        .input_file
        .iter()
        .chain(args.before.iter())
        .chain(args.after.iter())
        .cloned()
        .collect();
    let [before, after] = inputs.as_slice() else {
        bail!(
            "diff needs two inputs, BEFORE and AFTER (as positional arguments or -i FILE), {} given",
            inputs.len()
        );
    };
    if before == "-" && after == "-" {
        bail!("only one of BEFORE and AFTER can be stdin");
    }
    let opts = LoadOptions {
        massif_snapshot: args.snapshot,
        sample_index: args.sample_index.clone(),
        event: args.event.clone(),
        ..Default::default()
    };
    let t0 = Instant::now();
    let before = detect::read_input(before).map(|r| (r, t0.elapsed()));
    let t1 = Instant::now();
    let after = detect::read_input(after).map(|r| (r, t1.elapsed()));
    let filter = Filter::from_args(&args.filter, &args.pid.pid)?;
    if let (true, Ok(((bn, bb), _)), Ok(((an, ab), _))) = (filter.is_noop(), &before, &after) {
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
    let (mut b, mut a) = (b?, a?);
    check_comparable(&b, &a, args.allow_mismatch)?;
    let filtered = if filter.is_noop() {
        None
    } else {
        Some(filter_both(&filter, &mut b, &mut a)?)
    };
    let (bu, au) = (b.profile.unit(), a.profile.unit());
    let o = DiffOptions {
        normalize: args.normalize(bu, au),
        width: args.width,
    };
    let lines = diff::diff_lines(&b.profile, &a.profile, &o);
    let totals = Totals {
        before: b.profile.total_weight(),
        after: a.profile.total_weight(),
        before_unit: bu,
        after_unit: au,
    };
    finish(
        &args,
        (&b.name, &a.name),
        &totals,
        &o,
        &lines,
        filtered,
        || diff::table(&b.profile, &a.profile, &o, args.limit),
    )
}

/// The one filter stage, on both sides. A filter may match in one input only (`--focus` on a
/// function that is new), but one that matches in neither is named as an error. Returns the
/// filters in the order they ran and the samples each side kept, for the table and the graph.
fn filter_both(
    filter: &Filter,
    b: &mut Loaded,
    a: &mut Loaded,
) -> Result<(Vec<String>, diff::Kept)> {
    filter.check_time(&b.profile, &b.name)?;
    filter.check_time(&a.profile, &a.name)?;
    let fb = filter.apply_counted(&b.profile);
    let fa = filter.apply_counted(&a.profile);
    if let Some(both) = fb.unmatched.iter().find(|u| {
        let stage = |s: &str| s.split(" (").next().unwrap_or("").to_string();
        fa.unmatched.iter().any(|x| stage(x) == stage(u))
    }) {
        let what = both.split(" (").next().unwrap_or(both);
        bail!("{what} in {} and {}: nothing to compare", b.name, a.name);
    }
    eprintln!(
        "rprof: filters applied to both inputs, in this order: {}",
        filter.describe().join(", ")
    );
    let (pb, pa) = (fb.profile.into_owned(), fa.profile.into_owned());
    let kept = diff::Kept {
        before: count_samples(&pb),
        before_of: count_samples(&b.profile),
        after: count_samples(&pa),
        after_of: count_samples(&a.profile),
    };
    b.profile = pb;
    a.profile = pa;
    Ok((filter.describe(), kept))
}

/// Refuses (or, with `allow`, warns about) two inputs whose weights measure different things:
/// a known event or unit on both sides that differs. A side that does not say (folded stacks,
/// old data files) is taken at its word.
fn check_comparable(b: &Loaded, a: &Loaded, allow: bool) -> Result<()> {
    let (bm, am) = (&b.profile.meta, &a.profile.meta);
    let differ = |x: &str, y: &str| !x.is_empty() && !y.is_empty() && x != y;
    if !differ(base_event(&bm.event), base_event(&am.event)) && !differ(&bm.unit, &am.unit) {
        return Ok(());
    }
    let side = |l: &Loaded| {
        let m = &l.profile.meta;
        let event = if m.event.is_empty() {
            "an unnamed event"
        } else {
            &m.event
        };
        format!("{} holds {event} in {}", l.name, l.profile.unit())
    };
    let what = format!("{}, {}", side(b), side(a));
    if !allow {
        bail!(
            "the inputs measure different things ({what}); comparing them means nothing \
             (pass --allow-mismatch to compare their shares anyway)"
        );
    }
    eprintln!(
        "rprof: warning: the inputs measure different things ({what}); only the shares compare"
    );
    Ok(())
}

/// An event without perf's modifiers (`cpu-clock:ppp`, `cycles:u` -> `cpu-clock`, `cycles`):
/// they change precision or privilege level, not what is counted. A tracepoint's own colon
/// (`sched:sched_switch`) stays.
fn base_event(e: &str) -> &str {
    match e.rsplit_once(':') {
        Some((head, m)) if !m.is_empty() && m.chars().all(|c| "ukhpPGHSDIWe".contains(c)) => head,
        _ => e,
    }
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
    // Folded stacks carry no unit: plain sample counts, as the model names them.
    let unit = "samples";
    let o = DiffOptions {
        normalize: args.normalize(unit, unit),
        width: args.width,
    };
    let lines = diff::diff_lines_counted(&b, &a, &o);
    if detect::timings() {
        eprintln!(
            "rprof-timing: merge {:.1} ms",
            t.elapsed().as_secs_f64() * 1e3
        );
    }
    let totals = Totals {
        before: b.total(),
        after: a.total(),
        before_unit: unit,
        after_unit: unit,
    };
    finish(args, (bn, an), &totals, &o, &lines, None, || {
        diff::table_counted(&b, &a, &o, args.limit)
    })
}

/// Renders the graph of `lines` while `table` computes the change table on another CPU, then
/// prints the table and writes the graph; both name the filters applied, if any.
fn finish(
    args: &DiffArgs,
    (before_name, after_name): (&str, &str),
    totals: &Totals<'_>,
    d: &DiffOptions,
    lines: &LineBuf,
    filtered: Option<(Vec<String>, diff::Kept)>,
    table: impl FnOnce() -> diff::DiffTable + Send,
) -> Result<ExitCode> {
    if lines.is_empty() {
        bail!("{before_name} and {after_name} hold no samples to compare");
    }
    let unit = if totals.before_unit == totals.after_unit {
        totals.after_unit
    } else {
        "weight"
    };
    let normalization = totals.normalization_text(d.normalize);
    let o = SvgOptions {
        title: args.title.clone(),
        subtitle: Some(format!(
            "{before_name} → {after_name}{}; {normalization}; {}; red: grew, blue: shrank{}",
            filtered.as_ref().map_or(String::new(), |(f, _)| format!(
                " (filters: {})",
                f.join(" ")
            )),
            d.width.describe(),
            if args.negate { " (negated)" } else { "" }
        )),
        count_name: unit.into(),
        // With BEFORE's weights in the width column, inferno's differential is before minus
        // after: negating it keeps red for growth.
        negate: args.negate != d.width.swaps_columns(),
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
    let mut t = t;
    if let Some((filters, kept)) = filtered {
        t.filters = filters;
        t.kept = Some(kept);
    }
    if detect::timings() {
        eprintln!(
            "rprof-timing: render and table {:.1} ms ({} lines)",
            t0.elapsed().as_secs_f64() * 1e3,
            lines.len()
        );
    }
    let mut so = std::io::stdout().lock();
    match args.format {
        DiffFormat::Text => so.write_all(diff::to_text(&t, before_name, after_name).as_bytes())?,
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
    eprintln!("rprof: {normalization}");
    eprintln!("rprof: wrote {}", args.output);
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::base_event;

    #[test]
    fn modifiers_do_not_make_another_event() {
        assert_eq!(base_event("cpu-clock:ppp"), "cpu-clock");
        assert_eq!(base_event("cycles:u"), "cycles");
        assert_eq!(base_event("cpu-clock"), "cpu-clock");
        assert_eq!(base_event("sched:sched_switch"), "sched:sched_switch");
    }
}
