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
}

/// Flags of `rprof report`.
#[derive(Args, Debug, Clone)]
pub struct ReportArgs {
    /// Input: an rprof data file, folded stacks, `perf script` text or massif output; `-` for
    /// stdin.
    #[arg(default_value = "rprof.data", value_name = "INPUT")]
    pub input: String,
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
    /// For an input with several events (`perf record -e cpu-clock,page-faults`, then `perf
    /// script`): the one to read (default: the first present). `cycles` also finds `cycles:u`.
    #[arg(long, value_name = "NAME")]
    pub event: Option<String>,
}

/// Runs `rprof report`.
pub fn run(args: ReportArgs) -> Result<ExitCode> {
    let loaded = detect::load(
        &args.input,
        &LoadOptions {
            massif_snapshot: args.snapshot,
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
    let mut stdout = std::io::stdout().lock();
    match args.format {
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
            serde_json::to_writer_pretty(&mut stdout, &v).context("writing JSON")?;
            stdout.write_all(b"\n")?;
        }
    }
    stdout.flush()?;
    // Some tids matched and were shown, but one asked for had no sample: say so in the status.
    Ok(if unknown_tid {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
