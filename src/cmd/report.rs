//! `rprof report`: the hot functions of any stack source.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};

use crate::profile::detect::{self, LoadOptions};
use crate::profile::folded::{self, FoldOptions};
use crate::render::filter::{Filter, FilterArgs, PidFilterArgs};
use crate::render::report::{self, ReportOptions, SortKey};
use crate::render::{callgraph, listing, tree};

/// Output formats of `report`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// A table for people.
    Text,
    /// The header and rows as JSON.
    Json,
    /// Folded stacks, for `rprof flamegraph -` and other tools.
    Folded,
    /// Gzipped pprof (`profile.proto`), for `go tool pprof`, Pyroscope and Parca; needs `-o`
    /// unless stdout is redirected.
    Pprof,
}

/// Flags of `rprof report`.
#[derive(Args, Debug, Clone)]
pub struct ReportArgs {
    /// Input: an rprof data file, perf.data, folded stacks, `perf script` text, pprof or massif
    /// output; `-` for stdin.
    #[arg(default_value = "rprof.data", value_name = "INPUT")]
    pub input: String,
    /// The input, as perf's `-i FILE` (the same as INPUT).
    #[arg(
        short = 'i',
        long = "input",
        value_name = "FILE",
        conflicts_with = "input"
    )]
    pub input_file: Option<String>,
    /// Group rows by these keys, comma-separated (`--sort module,function`, as perf's --sort):
    /// function (unsymbolized addresses of a module as one `module+?` row), module, thread,
    /// line (file:line where known), address (one row per code address), pid, comm, cpu (the
    /// CPU samples ran on, for rprof recordings). perf's
    /// names (sym, dso, srcline, tid) work too.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "function",
        value_name = "KEYS"
    )]
    pub sort: Vec<SortKey>,
    /// Show at most N rows (with --callers, --callees, --list: N functions).
    #[arg(long, default_value_t = 25, value_name = "N")]
    pub limit: usize,
    /// Hide rows whose Total (Self with --no-children) is below P percent; with --tree, nodes
    /// below P percent of the whole.
    #[arg(long = "percent-limit", default_value_t = 0.0, value_name = "P")]
    pub percent_limit: f64,
    /// Self only, ordered by it (perf's default without -g): rows that never ran themselves
    /// are left out.
    #[arg(long = "no-children")]
    pub no_children: bool,
    /// For each function matching REGEX: its callers with the weight through each edge, and
    /// its Total and Self (pprof's -peek, perf's caller graph).
    #[arg(long, value_name = "REGEX", help_heading = "Views")]
    pub callers: Option<String>,
    /// For each function matching REGEX: its callees with the weight through each edge; given
    /// with the same REGEX as callers, both are shown around the function.
    #[arg(long, value_name = "REGEX", help_heading = "Views")]
    pub callees: Option<String>,
    /// The call tree from the roots, indented, with Total and Self per node; pruned by the
    /// percent limit and the depth, bottom-up when inverted.
    #[arg(long, help_heading = "Views")]
    pub tree: bool,
    /// With --tree: from the innermost frames out to their callers (bottom-up).
    #[arg(long, requires = "tree", help_heading = "Views")]
    pub inverted: bool,
    /// With --tree: show at most N levels.
    #[arg(long, value_name = "N", requires = "tree", help_heading = "Views")]
    pub depth: Option<usize>,
    /// The source of each function matching REGEX with Self and Total per line (pprof's
    /// -list), read from the file the debug info names.
    #[arg(long, value_name = "REGEX", help_heading = "Views")]
    pub list: Option<String>,
    /// Filters (applied in the order of the flags below, before any view).
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Only samples of these processes (comma-separated pids).
    #[command(flatten)]
    pub pid: PidFilterArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// For massif input: the snapshot to use (default: the peak).
    #[arg(long, value_name = "N")]
    pub snapshot: Option<usize>,
    /// For pprof input: the sample type to read (`cpu`, `alloc_space`, `inuse_space`, … or an
    /// index; default: the profile's default type, else its last, as `go tool pprof` does).
    #[arg(long = "sample-index", value_name = "TYPE")]
    pub sample_index: Option<String>,
    /// Upload the profile as pprof (see `rprof record --push`).
    #[command(flatten)]
    pub push: crate::push::PushArgs,
    /// Write the report to FILE instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<String>,
    /// For an input with several events (`perf record -e cpu-clock,page-faults`, then `perf
    /// script`): the one to read (default: the first present). `cycles` also finds `cycles:u`.
    #[arg(long, value_name = "NAME")]
    pub event: Option<String>,
}

/// Runs `rprof report`.
pub fn run(mut args: ReportArgs) -> Result<ExitCode> {
    if let Some(i) = args.input_file.take() {
        args.input = i;
    }
    let loaded = detect::load(
        &args.input,
        &LoadOptions {
            massif_snapshot: args.snapshot,
            sample_index: args.sample_index.clone(),
            event: args.event.clone(),
            ..Default::default()
        },
    )?;
    let mut loaded = loaded;
    // A massif snapshot is weighed in bytes, whether or not its reader said so.
    if loaded.format == detect::Format::Massif && loaded.profile.meta.unit.is_empty() {
        loaded.profile.meta.unit = "bytes".into();
    }
    let view = View::of(&args)?;
    if view != View::Table && matches!(args.format, ReportFormat::Folded | ReportFormat::Pprof) {
        bail!(
            "--{} shows as text or json, not as {}",
            view.flag(),
            if args.format == ReportFormat::Folded {
                "folded stacks"
            } else {
                "pprof"
            }
        );
    }
    let filter = Filter::from_args(&args.filter, &args.pid.pid)?;
    let (p, unknown_tid) = filter.run(&loaded.profile, &loaded.name)?;
    let filters = filter.describe();
    let mut header = report::header(&p, &loaded.name, loaded.format.name());
    if let Some(l) = report::filter_line(
        &filters,
        report::count_samples(&p),
        report::count_samples(&loaded.profile),
    ) {
        header.push(l);
    }
    let app = std::path::Path::new(&args.input)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("rprof")
        .to_string();
    if let Some(cfg) = args.push.config(&app)? {
        let pprof = crate::profile::pprof::encode(&p)?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        // An input without a start time is stored as of now.
        let (from, until) = if p.meta.start_unix_ns == 0 {
            crate::push::interval_secs(now, 0)
        } else {
            crate::push::interval_secs(p.meta.start_unix_ns, p.meta.duration_ns)
        };
        crate::push::push_once(
            &cfg,
            crate::push::Upload {
                pprof,
                from_unix_s: from,
                until_unix_s: until,
                sample_rate: p.meta.frequency,
                samples: report::count_samples(&p),
            },
        )?;
        eprintln!(
            "rprof: uploaded {} samples to {} as {}",
            report::count_samples(&p),
            cfg.url,
            cfg.app
        );
        if args.format != ReportFormat::Pprof || args.output.is_none() {
            return Ok(ExitCode::SUCCESS);
        }
    }
    if args.format == ReportFormat::Pprof {
        let bytes = crate::profile::pprof::encode(&p)?;
        return write_binary(args.output.as_deref(), &bytes, &p);
    }
    let computed = Computed::of(&view, &p, &args, &loaded.name)?;
    let mut buf: Vec<u8> = Vec::new();
    let stdout = &mut buf;
    match args.format {
        ReportFormat::Pprof => unreachable!("handled above"),
        ReportFormat::Folded => {
            let lines = folded::fold(&p, &FoldOptions::default());
            stdout.write_all(folded::to_text(&lines).as_bytes())?;
        }
        ReportFormat::Text => {
            let text = match &computed {
                Computed::Table => report::to_text(&table(&p, &args), &header),
                Computed::CallGraph(g) => {
                    callgraph::to_text(g, &header, args.callers.is_some(), args.callees.is_some())
                }
                Computed::Tree => tree::to_text(&tree::compute(&p, &tree_options(&args)), &header),
                Computed::List(l) => listing::to_text(l, &header),
            };
            stdout.write_all(text.as_bytes())?;
        }
        ReportFormat::Json => {
            let mut v = serde_json::json!({
                "source": loaded.name,
                "format": loaded.format.name(),
                "metadata": p.meta,
                "event": p.meta.event,
                "events": p.meta.events,
                "unit": p.unit(),
                "samples": report::count_samples(&p),
                // Rows of the profile: a recording merges identical samples into one row.
                "sample_rows": p.samples.len(),
                "total_weight": p.total_weight(),
                "filters": filters,
                "threads": p.threads.iter().map(|t| serde_json::json!({
                    "pid": t.pid.0, "tid": t.tid.0, "name": p.str(t.name)
                })).collect::<Vec<_>>(),
            });
            let extra = match &computed {
                Computed::Table => table_json(&table(&p, &args)),
                Computed::CallGraph(g) => {
                    serde_json::json!({
                        "view": "callgraph",
                        "pattern": g.pattern,
                        "functions": g.functions,
                        "omitted": g.omitted,
                    })
                }
                Computed::Tree => {
                    let t = tree::compute(&p, &tree_options(&args));
                    serde_json::json!({
                        "view": "tree",
                        "inverted": t.inverted,
                        "roots": t.roots,
                        "omitted": t.omitted,
                    })
                }
                Computed::List(l) => {
                    serde_json::json!({
                        "view": "list",
                        "pattern": l.pattern,
                        "functions": l.functions,
                        "omitted": l.omitted,
                    })
                }
            };
            if let (Some(o), serde_json::Value::Object(e)) = (v.as_object_mut(), extra) {
                o.extend(e);
            }
            serde_json::to_writer_pretty(&mut *stdout, &v).context("writing JSON")?;
            stdout.write_all(b"\n")?;
        }
    }
    match args.output.as_deref() {
        None | Some("-") => {
            let mut out = std::io::stdout().lock();
            out.write_all(&buf)?;
            out.flush()?;
        }
        Some(path) => {
            crate::output::write_atomically(std::path::Path::new(path), &buf)
                .with_context(|| format!("cannot write '{path}'"))?;
        }
    }
    // Some tids matched and were shown, but one asked for had no sample: say so in the status.
    Ok(if unknown_tid {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Writes a binary report (pprof) to `-o FILE`, or to stdout when it is not a terminal.
fn write_binary(
    output: Option<&str>,
    bytes: &[u8],
    p: &crate::profile::Profile,
) -> Result<ExitCode> {
    use std::io::IsTerminal;
    match output {
        None | Some("-") => {
            let mut out = std::io::stdout().lock();
            if output.is_none() && out.is_terminal() {
                anyhow::bail!(
                    "pprof is binary: name a file with -o FILE.pb.gz (or redirect stdout)"
                );
            }
            out.write_all(bytes)?;
            out.flush()?;
        }
        Some(path) => {
            crate::output::write_atomically(std::path::Path::new(path), bytes)
                .with_context(|| format!("cannot write '{path}'"))?;
            eprintln!(
                "rprof: wrote {path} (pprof, {} samples, {} bytes)",
                crate::render::report::count_samples(p),
                bytes.len()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The view `report` prints.
#[derive(Debug)]
enum View {
    /// The table of functions (or other keys).
    Table,
    /// Callers and/or callees of the functions matching.
    CallGraph(regex::Regex),
    /// The call tree.
    Tree,
    /// The source listing of the functions matching.
    List(regex::Regex),
}

impl PartialEq for View {
    fn eq(&self, o: &Self) -> bool {
        self.flag() == o.flag()
    }
}

impl View {
    /// The view the flags ask for; two views at once are a usage error.
    fn of(a: &ReportArgs) -> Result<View> {
        let re = |s: &str, flag: &str| {
            regex::Regex::new(s).with_context(|| format!("invalid {flag} regex '{s}'"))
        };
        let mut views = Vec::new();
        if a.callers.is_some() || a.callees.is_some() {
            // With both, one regex serves: the same functions, seen from both sides.
            let (flag, pat) = match (&a.callers, &a.callees) {
                (Some(c), Some(d)) if c != d => {
                    bail!("--callers and --callees together take the same REGEX ('{c}' and '{d}' differ)")
                }
                (Some(c), _) => ("--callers", c),
                (None, Some(d)) => ("--callees", d),
                (None, None) => unreachable!("checked above"),
            };
            views.push(View::CallGraph(re(pat, flag)?));
        }
        if a.tree {
            views.push(View::Tree);
        }
        if let Some(l) = &a.list {
            views.push(View::List(re(l, "--list")?));
        }
        if views.len() > 1 {
            bail!("choose one view: --callers/--callees, --tree or --list");
        }
        Ok(views.pop().unwrap_or(View::Table))
    }

    fn flag(&self) -> &'static str {
        match self {
            View::Table => "table",
            View::CallGraph(_) => "callers/--callees",
            View::Tree => "tree",
            View::List(_) => "list",
        }
    }
}

/// A view computed once for either output format; the views that select functions by a regex
/// carry what they found.
enum Computed {
    Table,
    CallGraph(callgraph::CallGraph),
    Tree,
    List(listing::Listing),
}

impl Computed {
    /// Computes the regex views, failing when the regex matches no function of what the
    /// filters kept: an empty view is as likely a typo, and `go tool pprof -peek/-list` fail
    /// the same way.
    fn of(
        view: &View,
        p: &crate::profile::Profile,
        args: &ReportArgs,
        source: &str,
    ) -> Result<Computed> {
        let none = |flag: &str, re: &regex::Regex| {
            anyhow::anyhow!(
                "{source}: {flag} '{}' matches no function (in {} samples); nothing to show",
                re.as_str(),
                crate::render::thousands(report::count_samples(p))
            )
        };
        Ok(match view {
            View::Table => Computed::Table,
            View::Tree => Computed::Tree,
            View::CallGraph(re) => {
                let g = callgraph::compute(p, re, args.limit);
                if g.functions.is_empty() && g.omitted == 0 {
                    let flag = if args.callers.is_some() {
                        "--callers"
                    } else {
                        "--callees"
                    };
                    return Err(none(flag, re));
                }
                Computed::CallGraph(g)
            }
            View::List(re) => {
                let l = listing::compute(p, re, args.limit);
                if l.functions.is_empty() && l.omitted == 0 {
                    return Err(none("--list", re));
                }
                Computed::List(l)
            }
        })
    }
}

fn table(p: &crate::profile::Profile, args: &ReportArgs) -> report::Report {
    report::compute_with(
        p,
        &ReportOptions {
            keys: args.sort.clone(),
            limit: args.limit,
            percent_limit: args.percent_limit,
            children: !args.no_children,
        },
    )
}

fn tree_options(args: &ReportArgs) -> tree::TreeOptions {
    tree::TreeOptions {
        inverted: args.inverted,
        percent_limit: args.percent_limit,
        max_depth: args.depth,
    }
}

/// The table's JSON fields.
fn table_json(r: &report::Report) -> serde_json::Value {
    serde_json::json!({
        "sort": r.sort_text(),
        "keys": r.keys.iter().map(|k| k.name()).collect::<Vec<_>>(),
        "children": r.children,
        "rows": r.rows.iter().map(|row| serde_json::json!({
            // The text's " (inlined)" mark becomes a field of its own.
            "name": row.name.strip_suffix(report::INLINED_SUFFIX).unwrap_or(&row.name),
            "keys": row.keys,
            "inlined": row.name.ends_with(report::INLINED_SUFFIX),
            "module": row.module,
            "total": row.total,
            "total_pct": row.total_pct,
            "total_samples": row.total_samples,
            "self": row.self_,
            "self_pct": row.self_pct,
            "self_samples": row.self_samples,
            "addresses": row.addresses,
        })).collect::<Vec<_>>(),
        "omitted": r.omitted,
    })
}
