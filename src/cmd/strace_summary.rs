//! `rprof strace-summary`: a syscall table like `strace -c` (calls, errors, latency with
//! percentiles), from perf tracepoints, ptrace, or an existing `strace -f -T` log.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};

use crate::strace::model::{Meta, Summary};
use crate::strace::render::{self, Grouping, RenderOpts, SortKey};
use crate::strace::{bpf, log, perf, ptrace, target};

/// Which tracing mechanism to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// bpf where BPF loads, else perf when the raw_syscalls tracepoints open, else ptrace
    /// (each fallback says why).
    Auto,
    /// In-kernel counts and latency histograms in BPF maps (lowest overhead, nothing lost).
    Bpf,
    /// raw_syscalls tracepoints through perf_event_open, every call through a ring buffer
    /// (exact latencies per call; loses records when the reader falls behind).
    Perf,
    /// ptrace syscall stops (works without tracefs or perf permissions; slow, like strace).
    Ptrace,
}

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// strace -c style tables.
    Text,
    /// One JSON document.
    Json,
}

/// Flags of `rprof strace-summary`.
#[derive(Args, Debug, Clone)]
#[command(after_help = "Examples:\n  rprof strace-summary -p 1234 -d 10\n  \
    rprof strace-summary --per-thread --errors -- ./server --port 8080\n  \
    rprof strace-summary --from-log trace.log -S calls\n\n\
    Time is each call's wall-clock latency from entry to exit (strace's -w), so blocking calls \
    show their waiting time. A launched command's exit status becomes rprof's, except when \
    -d ended it (then 0).")]
pub struct StraceArgs {
    /// Trace these running processes (every thread, later threads and forked children).
    #[arg(
        short = 'p',
        long = "pid",
        value_name = "PID",
        value_delimiter = ',',
        conflicts_with = "from_log"
    )]
    pub pids: Vec<u32>,
    /// Stop after this many seconds: attached targets run on untraced; a launched command gets
    /// SIGTERM and is traced until it exits (as `record -d` does).
    #[arg(short = 'd', long = "duration", value_name = "SECONDS")]
    pub duration: Option<f64>,
    /// Sort rows by this column.
    #[arg(short = 'S', long = "sort", value_enum, default_value = "time")]
    pub sort: SortKey,
    /// One table per thread, with its name.
    #[arg(long, conflicts_with = "per_process")]
    pub per_thread: bool,
    /// One table per process.
    #[arg(long)]
    pub per_process: bool,
    /// List the error codes of each failing syscall (`ENOENT ×12`).
    #[arg(long)]
    pub errors: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Write the summary to FILE instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Only count calls and errors (no latencies): the lowest overhead.
    #[arg(long)]
    pub counts_only: bool,
    /// Tracing backend.
    #[arg(long, value_enum, default_value = "auto")]
    pub backend: Backend,
    /// Summarise an existing `strace -f -T` log instead of tracing (`-` reads standard input).
    #[arg(long, value_name = "FILE", conflicts_with = "command")]
    pub from_log: Option<PathBuf>,
    /// The command to launch and trace, after `--`.
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// Runs `rprof strace-summary`.
pub fn run(args: StraceArgs) -> Result<ExitCode> {
    let opts = RenderOpts {
        sort: args.sort,
        grouping: if args.per_thread {
            Grouping::Thread
        } else if args.per_process {
            Grouping::Process
        } else {
            Grouping::Total
        },
        errors: args.errors,
    };
    let (summary, code) = if let Some(path) = &args.from_log {
        let s = if path.as_os_str() == "-" {
            log::parse_reader(std::io::stdin().lock()).context("standard input")?
        } else {
            let f = log::open(path).with_context(|| format!("cannot read {}", path.display()))?;
            log::parse_reader(std::io::BufReader::with_capacity(1 << 16, f))
                .with_context(|| format!("{}", path.display()))?
        };
        (s, ExitCode::SUCCESS)
    } else {
        trace(&args)?
    };
    quality_line(&summary);
    let out = match args.format {
        Format::Text => render::text(&summary, &opts),
        Format::Json => render::json(&summary, &opts),
    };
    match &args.output {
        Some(p) => {
            // Temporary file + rename: a full disk leaves no empty file, a symlink planted at
            // the name is replaced rather than written through.
            crate::output::write_atomically(p, out.as_bytes())
                .with_context(|| format!("cannot write {}", p.display()))?
        }
        None => {
            let mut so = std::io::stdout().lock();
            so.write_all(out.as_bytes())?;
            so.flush()?;
        }
    }
    Ok(code)
}

/// The data-quality line on stderr: what was counted, lost and left out.
fn quality_line(s: &Summary) {
    let total = Summary::merged_stats(s.threads.iter().flat_map(|t| t.syscalls.values()));
    let m = &s.meta;
    let threads = m.threads_traced.unwrap_or(s.threads.len() as u64);
    let mut parts = vec![format!(
        "{} calls, {} errors in {threads} thread{}",
        total.calls,
        total.errors,
        if threads == 1 { "" } else { "s" }
    )];
    if m.backend.starts_with("ptrace") {
        // ptrace stops the tracee for every event: nothing can be dropped.
        parts.push(format!("{:.2}s traced, {}", m.duration_s, m.stop_reason));
    } else if m.backend != "strace log" {
        // Records, not calls: timed mode writes an entry and an exit per call, counts-only
        // sampling an entry per call and an exit per error.
        let records = if m.timed {
            2 * total.calls
        } else {
            total.calls + total.errors
        };
        let lost_pct = if records + m.lost_events > 0 {
            100.0 * m.lost_events as f64 / (records + m.lost_events) as f64
        } else {
            0.0
        };
        parts.push(format!(
            "lost events: {} ({lost_pct:.2}% of records)",
            m.lost_events
        ));
        parts.push(format!("{:.2}s traced, {}", m.duration_s, m.stop_reason));
    } else if m.skipped_lines > 0 {
        parts.push(format!("{} unrecognised lines skipped", m.skipped_lines));
    }
    if m.rejected_latencies > 0 {
        parts.push(format!(
            "{} latencies over {:e} s refused (those calls counted without a time)",
            m.rejected_latencies,
            log::MAX_LATENCY_S
        ));
    }
    if m.in_flight > 0 {
        parts.push(format!(
            "{} calls in flight at start/stop not counted",
            m.in_flight
        ));
    }
    if let Some(st) = &m.exit_status {
        parts.push(format!("command {st}"));
    }
    eprintln!("rprof: {}", parts.join("; "));
    if m.lost_events > 0 {
        eprintln!(
            "rprof: warning: the kernel dropped {} events: counts and times are incomplete \
             (try --counts-only, or fewer CPUs busy)",
            m.lost_events
        );
    }
}

fn choose_backend(b: Backend) -> Result<Backend> {
    match b {
        Backend::Auto => match perf::available() {
            Ok(()) => Ok(Backend::Perf),
            Err(e) => {
                eprintln!("rprof: perf tracepoints unavailable ({e:#}); using the ptrace backend");
                Ok(Backend::Ptrace)
            }
        },
        b => Ok(b),
    }
}

fn trace(args: &StraceArgs) -> Result<(Summary, ExitCode)> {
    if args.pids.is_empty() && args.command.is_empty() {
        bail!("nothing to trace: give -p PID, a command after --, or --from-log FILE");
    }
    if !args.pids.is_empty() && !args.command.is_empty() {
        bail!("give either -p PID or a command after --, not both");
    }
    if let Some(d) = args.duration {
        if !(d.is_finite() && d > 0.0) {
            bail!("-d needs a positive number of seconds, got {d}");
        }
        if std::time::Duration::try_from_secs_f64(d).is_err() {
            bail!("-d {d}: too long a duration");
        }
    }
    for &p in &args.pids {
        target::threads_of(p)?;
    }
    // The in-kernel backend when it loads (loading also proves the tracepoints work, so
    // `auto` skips its perf probe then); otherwise say why and fall back.
    let mode = if args.counts_only {
        bpf::Mode::CountsOnly {
            per_thread: args.per_thread || args.per_process,
        }
    } else {
        bpf::Mode::Timed
    };
    let mut tracer = None;
    let backend = match args.backend {
        Backend::Bpf => {
            tracer = Some(bpf::Tracer::load(mode).context("the bpf backend is unavailable")?);
            Backend::Bpf
        }
        Backend::Auto => match bpf::Tracer::load(mode) {
            Ok(t) => {
                tracer = Some(t);
                Backend::Bpf
            }
            Err(e) => {
                let b = choose_backend(Backend::Auto)?;
                let next = if b == Backend::Perf {
                    "using the perf tracepoint backend"
                } else {
                    "see above"
                };
                eprintln!("rprof: the bpf backend is unavailable ({e:#}); {next}");
                b
            }
        },
        b => b,
    };
    let backend_name = match backend {
        Backend::Bpf => "bpf",
        Backend::Perf => "perf",
        _ => "ptrace",
    };
    target::install_stop_handlers()?;
    let mut launched = if args.command.is_empty() {
        None
    } else {
        Some(crate::process::launch(&args.command)?)
    };
    let target_desc = match &launched {
        Some(l) => format!("{} (pid {})", args.command.join(" "), l.pid),
        None => format!(
            "pid {}",
            args.pids
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(",")
        ),
    };
    let deadline = target::Deadline::after(args.duration);
    let started = Instant::now();
    let mut status = None;
    let launched_pid = launched.as_ref().map(|l| l.pid);
    let counts_only = args.counts_only;
    let mut release = || -> Result<()> {
        eprintln!(
            "rprof: tracing {target_desc} with the {backend_name} backend{}; Ctrl-C to stop",
            if counts_only { " (counts only)" } else { "" }
        );
        match launched.as_mut() {
            Some(l) => l.release(),
            None => Ok(()),
        }
    };
    let result = match backend {
        Backend::Bpf => {
            let pids = match launched_pid {
                Some(p) => vec![p],
                None => args.pids.clone(),
            };
            let tracer = tracer.ok_or_else(|| anyhow::anyhow!("bpf tracer missing"))?;
            bpf::run(
                tracer,
                pids,
                launched_pid,
                deadline,
                &mut release,
                &mut status,
            )
            .map(|r| {
                (
                    r.threads,
                    r.lost,
                    r.in_flight,
                    r.stop_reason,
                    r.threads_traced,
                )
            })
        }
        Backend::Perf => {
            let t = match launched_pid {
                Some(p) => perf::PerfTarget::Launch(p),
                None => perf::PerfTarget::Attach(args.pids.clone()),
            };
            perf::run(t, counts_only, deadline, &mut release, &mut status)
                .map(|r| (r.threads, r.lost, r.in_flight, r.stop_reason, None))
        }
        _ => {
            let t = match launched_pid {
                Some(p) => ptrace::PtraceTarget::Launch(p),
                None => ptrace::PtraceTarget::Attach(args.pids.clone()),
            };
            ptrace::run(t, counts_only, deadline, &mut release, &mut status)
                .map(|r| (r.threads, 0, r.in_flight, r.stop_reason, None))
        }
    };
    let (threads, lost, in_flight, stop_reason, threads_traced) = match result {
        Ok(r) => r,
        Err(e) => {
            if let Some(mut l) = launched.take() {
                // Setup failed before the command ran: do not leave it waiting on the pipe.
                l.abort();
            }
            return Err(e);
        }
    };
    // When `-d` ended the command, its SIGTERM death is what was asked for, not a failure.
    let ended_by_duration = stop_reason.starts_with(target::DURATION_ELAPSED);
    let (exit_status, code) = match status.as_ref().and_then(crate::process::describe_status) {
        Some((text, _)) if ended_by_duration => (Some(text), ExitCode::SUCCESS),
        Some((text, code)) => (Some(text), ExitCode::from(code)),
        None => (
            launched_pid.map(|p| format!("still running (pid {p}), no longer traced")),
            ExitCode::SUCCESS,
        ),
    };
    let summary = Summary {
        meta: Meta {
            backend: if backend == Backend::Bpf && !counts_only {
                format!(
                    "{backend_name} backend (counted in the kernel; percentiles from \
                     log-linear histograms, buckets 1/32 wide)"
                )
            } else if backend == Backend::Bpf {
                format!("{backend_name} backend (counted in the kernel)")
            } else {
                format!("{backend_name} backend")
            },
            timed: !counts_only,
            lost_events: lost,
            in_flight,
            target: target_desc,
            exit_status,
            stop_reason,
            duration_s: started.elapsed().as_secs_f64(),
            skipped_lines: 0,
            threads_traced,
            ..Meta::default()
        },
        threads,
    };
    Ok((summary, code))
}
