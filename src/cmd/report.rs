//! `rprof report`: the hot functions of any stack source.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};

use crate::profile::detect::{self, LoadOptions};
use crate::profile::folded::{self, FoldOptions};
use crate::render::filter::Filter;
use crate::render::report::{self, SortKey};

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
    /// Input: an rprof data file, perf.data, folded stacks, `perf script` text or massif output;
    /// `-` for stdin.
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
    /// Group rows by function (unsymbolized addresses of a module as one `module+?` row),
    /// module, thread, line (file:line where known) or address (one row per code address).
    #[arg(long, value_enum, default_value_t = SortKey::Function)]
    pub sort: SortKey,
    /// Show at most N rows.
    #[arg(long, default_value_t = 25, value_name = "N")]
    pub limit: usize,
    /// Hide rows whose Total is below P percent.
    #[arg(long = "percent-limit", default_value_t = 0.0, value_name = "P")]
    pub percent_limit: f64,
    /// Only samples of these threads (comma-separated tids).
    #[arg(long, value_delimiter = ',', value_name = "TID")]
    pub tid: Vec<u32>,
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
        },
    )?;
    let mut loaded = loaded;
    // A massif snapshot is weighed in bytes, whether or not its reader said so.
    if loaded.format == detect::Format::Massif && loaded.profile.meta.unit.is_empty() {
        loaded.profile.meta.unit = "bytes".into();
    }
    let filter = Filter::new(&args.tid, None, None, false)?;
    let unknown_tid = filter.warn_unknown_tids(&loaded.profile, &loaded.name);
    let p = filter.apply(&loaded.profile);
    if p.samples.is_empty() && unknown_tid {
        // Nothing but unknown tids: an empty table would read as an idle thread.
        return Ok(ExitCode::FAILURE);
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
                samples: p.samples.len() as u64,
            },
        )?;
        eprintln!(
            "rprof: uploaded {} samples to {} as {}",
            p.samples.len(),
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
    let mut buf: Vec<u8> = Vec::new();
    let stdout = &mut buf;
    match args.format {
        ReportFormat::Pprof => unreachable!("handled above"),
        ReportFormat::Folded => {
            let lines = folded::fold(&p, &FoldOptions::default());
            stdout.write_all(folded::to_text(&lines).as_bytes())?;
        }
        ReportFormat::Text => {
            let r = report::compute(&p, args.sort, args.limit, args.percent_limit);
            let header = report::header(&p, &loaded.name, loaded.format.name());
            stdout.write_all(report::to_text(&r, &header).as_bytes())?;
        }
        ReportFormat::Json => {
            let r = report::compute(&p, args.sort, args.limit, args.percent_limit);
            let v = serde_json::json!({
                "source": loaded.name,
                "format": loaded.format.name(),
                "metadata": p.meta,
                "event": p.meta.event,
                "events": p.meta.events,
                "unit": r.unit,
                "samples": r.samples,
                "total_weight": r.total_weight,
                "threads": p.threads.iter().map(|t| serde_json::json!({
                    "pid": t.pid.0, "tid": t.tid.0, "name": p.str(t.name)
                })).collect::<Vec<_>>(),
                "sort": r.sort,
                "rows": r.rows.iter().map(|row| serde_json::json!({
                    // The text's " (inlined)" mark becomes a field of its own.
                    "name": row.name.strip_suffix(report::INLINED_SUFFIX).unwrap_or(&row.name),
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
            });
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
                p.samples.len(),
                bytes.len()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
