//! `rprof record`: sample call stacks into a data file.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;

use crate::profile::Profile;
use crate::record::build::{self, BuildStats};
use crate::record::events;
use crate::record::session::EventKind;
use crate::record::{self as rec, offcpu, Options, Target};
use crate::unwind::CallGraph;

/// Who to sample and how; shared by `record` and the one-step `flamegraph`.
#[derive(Args, Debug, Clone)]
pub struct TargetArgs {
    /// Attach to these processes (comma-separated), every thread, including threads and
    /// children created later.
    #[arg(short = 'p', long = "pid", value_delimiter = ',', value_name = "PID")]
    pub pids: Vec<u32>,
    /// Sample the whole system (every CPU, every process).
    #[arg(short = 'a', long = "all-cpus")]
    pub all_cpus: bool,
    /// Only these CPUs, in perf's list syntax (`0-3,5`): with -a or alone, every process on
    /// them; with a command or -p, the target only while it runs on them.
    #[arg(short = 'C', long = "cpu", value_name = "CPUS")]
    pub cpu_list: Option<String>,
    /// Every process of this user (name or uid) running when recording starts, with their
    /// threads and children created later (as perf's -u).
    #[arg(short = 'u', long = "uid", value_name = "USER")]
    pub user: Option<String>,
    /// Stop after this many seconds (default: until the target exits or Ctrl-C).
    #[arg(short = 'd', long = "duration", value_name = "SECONDS")]
    pub duration: Option<f64>,
    /// Sampling frequency in Hz.
    #[arg(short = 'F', long = "freq", value_name = "HZ", default_value_t = 999)]
    pub frequency: u64,
    /// Sample once every COUNT events (a fixed period) instead of at a frequency; with
    /// -e page-faults, one sample per COUNT faults.
    #[arg(
        short = 'c',
        long = "count",
        value_name = "COUNT",
        conflicts_with = "frequency",
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub count: Option<u64>,
    /// Events to sample, perf's names (repeat -e or separate with commas to record several
    /// together; each view then shows one, chosen with --event): hardware (cycles,
    /// instructions, cache-misses, branch-misses, ...), hardware cache (L1-dcache-load-misses,
    /// LLC-load-misses, dTLB-load-misses, ...), software (cpu-clock, task-clock, page-faults,
    /// context-switches, cpu-migrations, minor-faults, major-faults, ...), raw PMU codes
    /// (rNNNN) and tracepoints (subsys:name, such as sched:sched_switch, or a glob such as
    /// 'sched:sched_wak*' for every match). perf's `:u` suffix
    /// (cycles:u) means user mode only, as --no-kernel. `rprof list` shows what this machine
    /// supports. Default: cycles when the hardware counts it, else cpu-clock.
    #[arg(
        short = 'e',
        long = "event",
        value_name = "EVENT",
        value_delimiter = ','
    )]
    pub event: Vec<String>,
    /// Sample user stacks only (by default kernel frames are included when permitted).
    #[arg(long = "no-kernel")]
    pub no_kernel: bool,
    /// How to unwind user stacks: auto (DWARF from a copied stack, falling back to the
    /// frame-pointer chain where DWARF stops early), dwarf[,STACK_BYTES] (DWARF only; bytes of
    /// stack copied per sample, default and maximum 65528), fp (frame-pointer chains walked by
    /// the kernel: cheapest, but truncated or wrong for code built without frame pointers), or
    /// lbr (user stacks from the CPU's last branch record, on Intel CPUs that have one).
    #[arg(long = "call-graph", value_name = "MODE", default_value = "auto")]
    pub call_graph: String,
    /// Off-CPU profile: for every context switch away from a target thread, the stack where it
    /// blocked (kernel and user) weighted by the ns until it ran again, with an
    /// `[off-cpu: S|D|...]` leaf giving the thread state. Runnable waits for a CPU are left
    /// out (the wall-clock mode keeps them). Uses the sched:sched_switch tracepoint; no BPF
    /// needed.
    #[arg(long = "off-cpu", conflicts_with = "wall")]
    pub off_cpu: bool,
    /// Wall-clock profile: on-CPU cpu-clock samples and all off-CPU time (runqueue waits
    /// included, as `[off-cpu: R]`) in one profile, both in ns, so each thread's shares are
    /// of its wall-clock time.
    #[arg(long)]
    pub wall: bool,
    /// Off-CPU and wall-clock modes: waits shorter than this (e.g. 100us, 1ms) keep no stack;
    /// each thread's are summed under one `[off-cpu: short waits]` frame.
    #[arg(long = "min-block", value_name = "DURATION", default_value = "0")]
    pub min_block: String,
    /// Frame-pointer call graphs, as perf's -g (the same as --call-graph fp).
    #[arg(short = 'g', conflicts_with = "call_graph")]
    pub fp_call_graph: bool,
    /// The command to launch and profile, after `--`.
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// Flags of `rprof record`.
#[derive(Args, Debug, Clone)]
pub struct RecordArgs {
    /// What to sample.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Sample only these threads (comma-separated tids).
    #[arg(short = 't', long = "tid", value_delimiter = ',', value_name = "TID")]
    pub tids: Vec<u32>,
    /// Continuous mode: upload a pprof profile of every interval to Pyroscope or Parca
    /// (`--push URL`) instead of writing a data file.
    #[command(flatten)]
    pub push: crate::push::PushArgs,
    /// With --push: the length of each uploaded profile (`15s`, `500ms`, `1m`, or seconds).
    #[arg(long, value_name = "TIME", default_value = "15s", requires = "push")]
    pub interval: String,
    /// Data file to write; an existing one is kept as FILE.old.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FILE",
        default_value = "rprof.data"
    )]
    pub output: PathBuf,
}

fn options(t: &TargetArgs, tids: &[u32]) -> Result<Options> {
    let mut kinds = 0;
    kinds += usize::from(!t.pids.is_empty());
    kinds += usize::from(!tids.is_empty());
    kinds += usize::from(!t.command.is_empty());
    kinds += usize::from(t.all_cpus);
    kinds += usize::from(t.user.is_some());
    if kinds == 0 && t.cpu_list.is_none() {
        bail!(
            "nothing to record: give -p PID, -t TID, -a, -C CPUS, -u USER, or a command after --"
        );
    }
    if kinds > 1 {
        bail!("give only one target: -p PID, -t TID, -a, -u USER, or a command after --");
    }
    let target = if !t.pids.is_empty() {
        Target::Pids(t.pids.clone())
    } else if !tids.is_empty() {
        Target::Tids(tids.to_vec())
    } else if let Some(u) = &t.user {
        let (uid, name) = crate::record::target::resolve_user(u)?;
        Target::User { name, uid }
    } else if t.all_cpus || t.command.is_empty() {
        // -C alone is system-wide on those CPUs, as in perf.
        Target::System
    } else {
        Target::Command(t.command.clone())
    };
    let cpus = t
        .cpu_list
        .as_deref()
        .map(|c| events::parse_cpu_list(c, &crate::record::session::online_cpus()))
        .transpose()?;
    let mut events = Vec::new();
    // perf's `:u` suffix: user mode only, which rprof records as --no-kernel does. Kernel
    // frames are kept or left out for every event of a recording together, so `:u` must be on
    // each event or none.
    let mut user_only = Vec::new();
    for e in &t.event {
        for (spec, mods) in EventKind::parse_expanding(e)? {
            user_only.push(mods.user_only);
            if !events.contains(&spec) {
                events.push(spec);
            }
        }
    }
    let all_user_only = !user_only.is_empty() && user_only.iter().all(|u| *u);
    if !all_user_only && user_only.iter().any(|u| *u) {
        bail!(
            "-e: the :u modifier is on some events only; rprof keeps or leaves out kernel frames for all events of a recording together: put :u on every event, or use --no-kernel"
        );
    }
    let min_block_ns = crate::record::offcpu::parse_duration_ns(&t.min_block)?;
    let offcpu_mode = match (t.off_cpu, t.wall) {
        (true, _) => Some(offcpu::Mode::OffCpu),
        (_, true) => Some(offcpu::Mode::Wall),
        _ => None,
    };
    match offcpu_mode {
        None if min_block_ns > 0 => bail!("--min-block applies to --off-cpu and --wall"),
        Some(offcpu::Mode::OffCpu) if !events.is_empty() || t.count.is_some() => {
            bail!("--off-cpu records context switches; -e and -c do not apply (use --wall to add on-CPU samples)")
        }
        Some(offcpu::Mode::Wall) => {
            // Off-CPU time is in ns: the on-CPU side must be one clock to share its unit.
            match events.as_slice() {
                [] => events.push(EventKind::cpu_clock()),
                [e] if matches!(e.name(), "cpu-clock" | "task-clock") => {}
                [e] => bail!(
                    "--wall adds on-CPU time to off-CPU time, so its event must be a clock (cpu-clock or task-clock), not {}",
                    e.name()
                ),
                _ => bail!("--wall takes one on-CPU event (cpu-clock or task-clock), not several"),
            }
        }
        _ => {}
    }
    let duration = match t.duration {
        Some(d) if !(d > 0.0 && d.is_finite()) => bail!("-d must be a positive number of seconds"),
        Some(d) => Some(
            Duration::try_from_secs_f64(d)
                .map_err(|_| anyhow::anyhow!("-d {d}: too long a duration"))?,
        ),
        None => None,
    };
    if t.frequency == 0 {
        bail!("-F must be at least 1 Hz");
    }
    // The kernel refuses faster sampling with a bare EINVAL; say which limit it is.
    if let Some(max) = std::fs::read_to_string("/proc/sys/kernel/perf_event_max_sample_rate")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
    {
        if t.frequency > max {
            bail!(
                "-F {} is above the kernel's limit of {max} Hz (kernel.perf_event_max_sample_rate); use a lower -F, or raise it: sudo sysctl kernel.perf_event_max_sample_rate={}",
                t.frequency,
                t.frequency
            );
        }
    }
    let call_graph = if t.fp_call_graph {
        CallGraph::Fp
    } else {
        CallGraph::parse(&t.call_graph)?
    };
    Ok(Options {
        target,
        events,
        frequency: t.frequency,
        period: t.count,
        cpus,
        duration,
        kernel: !t.no_kernel && !all_user_only,
        call_graph,
        interval: None,
        offcpu: offcpu_mode.map(|mode| offcpu::OffCpuOptions { mode, min_block_ns }),
    })
}

fn pct(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 * 100.0 / b as f64
    }
}

/// Records, symbolizes and fills the metadata; prints why it stopped and the data quality.
fn record_and_build(target: &TargetArgs, tids: &[u32]) -> Result<(Profile, BuildStats)> {
    let opts = options(target, tids)?;
    let r = rec::record(&opts)?;
    let (mut p, stats) = build::build(&r, opts.call_graph);
    fill_meta(&mut p, &r, &opts, &stats);
    summarize(&r, &opts, &stats);
    if let (Some(o), Some(st)) = (&opts.offcpu, &r.offcpu) {
        summarize_offcpu(&p, st, o.mode);
    }
    Ok((p, stats))
}

/// Threads listed in the off-CPU summary.
const SUMMARY_THREADS: usize = 20;

/// The off-CPU part of the summary: switch figures and each thread's on- and off-CPU time.
fn summarize_offcpu(p: &Profile, st: &offcpu::OffCpuStats, mode: offcpu::Mode) {
    let total = st.switch_outs + st.lost;
    eprintln!(
        "rprof: off-CPU: {} switches away from target threads, {} off-CPU intervals, {} lost switch events ({:.2}%), {} waits dropped (switch-in lost), {} still blocked at the end (weighted up to it), {} folded by --min-block, {} switch-ins with no switch-out seen (new threads, or waits begun before the recording: not attributed)",
        crate::render::thousands(st.switch_outs),
        crate::render::thousands(st.intervals),
        crate::render::thousands(st.lost),
        pct(st.lost, total),
        crate::render::thousands(st.unmatched),
        crate::render::thousands(st.open_at_end),
        crate::render::thousands(st.folded),
        crate::render::thousands(st.no_switch_out),
    );
    if mode == offcpu::Mode::OffCpu && st.runqueue_left_out > 0 {
        eprintln!(
            "rprof: off-CPU: {} waits for a CPU after a preemption left out (runnable, not blocked; --wall counts them)",
            crate::render::thousands(st.runqueue_left_out)
        );
    }
    if st.unparsed > 0 {
        eprintln!(
            "rprof: warning: {} switch records could not be parsed and were skipped",
            crate::render::thousands(st.unparsed)
        );
    }
    // For the benchmarks and tests: pairing as the events drain holds few of them.
    if crate::profile::detect::timings() {
        eprintln!(
            "rprof-timing: off-CPU: at most {} switch events held at once for pairing",
            st.max_held
        );
    }
    let totals = offcpu::thread_totals(p);
    let secs = |ns: u64| format!("{:.3} s", ns as f64 / 1e9);
    for t in totals.iter().take(SUMMARY_THREADS) {
        let states: Vec<String> = t
            .by_state
            .iter()
            .map(|(k, w)| format!("{k} {}", secs(*w)))
            .collect();
        let wall = t.on_cpu + t.off_cpu;
        let states = if states.is_empty() {
            String::new()
        } else {
            format!(" [{}]", states.join(", "))
        };
        if mode == offcpu::Mode::Wall {
            eprintln!(
                "rprof:   {}: wall {}: on-CPU {} ({:.1}%), off-CPU {} ({:.1}%){states}",
                t.label,
                secs(wall),
                secs(t.on_cpu),
                pct(t.on_cpu, wall),
                secs(t.off_cpu),
                pct(t.off_cpu, wall),
            );
        } else {
            eprintln!("rprof:   {}: off-CPU {}{states}", t.label, secs(t.off_cpu));
        }
    }
    if totals.len() > SUMMARY_THREADS {
        eprintln!(
            "rprof:   ... and {} more threads (rprof report --sort thread lists them all)",
            totals.len() - SUMMARY_THREADS
        );
    }
}

/// The recording's facts into the profile's metadata.
fn fill_meta(p: &mut Profile, r: &rec::Recording, opts: &Options, stats: &BuildStats) {
    let m = &mut p.meta;
    m.command = r.command.clone();
    m.target = r.target_desc.clone();
    m.event = r.event.name().to_string();
    m.events = r.events.iter().map(|e| e.name().to_string()).collect();
    if m.events.is_empty() {
        m.events = vec![m.event.clone()];
    }
    m.unit = r.event.unit().to_string();
    // A fixed period (-c, or a tracepoint's every hit) has no frequency.
    m.frequency = if opts.period.is_some() || r.event.default_period().is_some() {
        0
    } else {
        opts.frequency
    };
    if let Some(c) = opts.period.or(r.event.default_period()) {
        m.extra.push(("period".into(), c.to_string()));
    }
    if opts.cpus.is_some() {
        m.extra
            .push(("cpus".into(), events::format_cpu_list(&r.cpus)));
    }
    if r.events.len() > 1 {
        // Truncated stacks and unsymbolized frames per event, so a view of one event states
        // its own (see profile::file::select_event).
        let per: Vec<String> = stats
            .per_event
            .iter()
            .map(|[_, _, t, u]| format!("{t}/{u}"))
            .collect();
        m.extra
            .push((crate::profile::file::EVENT_QUALITY.into(), per.join(",")));
    }
    m.start_unix_ns = r.start_unix_ns;
    m.duration_ns = r.duration_ns;
    m.lost = r.collected.lost;
    m.truncated = stats.truncated;
    m.unsymbolized = stats.unsymbolized;
    m.call_graph = opts.call_graph.name().to_string();
    m.host = host();
    m.extra.push(("stopped".into(), r.stop.describe()));
    if let Some(e) = &r.exit {
        m.extra.push(("exit".into(), e.clone()));
    }
    if let Some(c) = r.exit_code {
        m.extra.push(("exit_code".into(), c.to_string()));
    }
    if !r.kernel {
        m.extra.push(("kernel_frames".into(), "no".into()));
    }
    if let Some(bytes) = opts.call_graph.stack_bytes() {
        m.extra.push(("stack_bytes".into(), bytes.to_string()));
    }
    if let (Some(o), Some(st)) = (&opts.offcpu, &r.offcpu) {
        m.event = o.mode.event_name().to_string();
        m.events = match o.mode {
            offcpu::Mode::OffCpu => vec!["sched:sched_switch".into()],
            offcpu::Mode::Wall => vec![r.event.name().to_string(), "sched:sched_switch".into()],
        };
        m.unit = "ns".into();
        m.lost += st.lost;
        if o.mode == offcpu::Mode::OffCpu {
            // Nothing is sampled by frequency: every switch is recorded.
            m.frequency = 0;
        }
        if opts.call_graph.stack_bytes().is_some() {
            m.extra.push((
                "off_cpu_stack_bytes".into(),
                offcpu::STACK_BYTES.to_string(),
            ));
        }
        m.extra.push(("mode".into(), o.mode.describe().into()));
        if o.min_block_ns > 0 {
            m.extra.push((
                "min_block".into(),
                format!(
                    "{} ns ({} shorter waits folded into [off-cpu: short waits])",
                    crate::render::thousands(o.min_block_ns),
                    crate::render::thousands(st.folded)
                ),
            ));
        }
        m.extra.push((
            "context_switches".into(),
            format!(
                "{} off-CPU intervals, {} lost switch events, {} unmatched",
                crate::render::thousands(st.intervals),
                crate::render::thousands(st.lost),
                crate::render::thousands(st.unmatched)
            ),
        ));
    }
    if let Some(u) = &r.unwind_stats {
        m.extra.push((
            "dwarf_unwind_ns_per_sample".into(),
            (u.unwind_ns / u.unwound.max(1)).to_string(),
        ));
        if matches!(opts.call_graph, CallGraph::Auto { .. }) {
            m.extra
                .push(("fp_fallbacks".into(), stats.fp_fallbacks.to_string()));
        }
    }
}

/// The end-of-run summary on stderr: why it stopped and how good the data is.
fn summarize(r: &rec::Recording, opts: &Options, stats: &BuildStats) {
    for n in &r.notes {
        eprintln!("rprof: note: {n}");
    }
    let mut why = format!("rprof: recording stopped: {}", r.stop.describe());
    if let Some(e) = &r.exit {
        why.push_str(&format!("; the command {e}"));
    }
    eprintln!("{why}");
    let total = stats.samples + r.collected.lost;
    // A clock's weight is the time the samples cover, which the duration already tells; a
    // counting event's weight (faults, cycles) is news.
    let weight = if r.event.unit() == "ns" || r.events.len() > 1 {
        String::new()
    } else {
        format!(
            " ({} {})",
            crate::render::thousands(stats.weight),
            r.event.unit()
        )
    };
    eprintln!(
        "rprof: {} samples{weight}, {} lost ({:.2}%), {} truncated stacks ({:.2}%), {} unsymbolized frames ({:.2}%), {} threads in {} processes, {:.2} s, event {}",
        crate::render::thousands(stats.samples),
        crate::render::thousands(r.collected.lost),
        pct(r.collected.lost, total),
        crate::render::thousands(stats.truncated),
        pct(stats.truncated, stats.samples),
        crate::render::thousands(stats.unsymbolized),
        pct(stats.unsymbolized, stats.frames),
        stats.threads,
        stats.processes,
        r.duration_ns as f64 / 1e9,
        match &opts.offcpu {
            Some(o) if o.mode == offcpu::Mode::Wall => {
                format!("{} + sched:sched_switch (--wall)", r.event.name())
            }
            Some(_) => "sched:sched_switch (--off-cpu)".to_string(),
            None => r
                .events
                .iter()
                .map(|e| e.name())
                .collect::<Vec<_>>()
                .join(", "),
        },
    );
    if r.events.len() > 1 {
        for (e, [n, w, t, _]) in r.events.iter().zip(&stats.per_event) {
            eprintln!(
                "rprof:   {}: {} samples, {} {}, {} truncated stacks ({:.2}%)",
                e.name(),
                crate::render::thousands(*n),
                crate::render::thousands(*w),
                e.unit(),
                crate::render::thousands(*t),
                pct(*t, *n)
            );
        }
        eprintln!(
            "rprof: every view shows one event at a time: the first ({}) unless --event NAME picks another",
            r.event.name()
        );
    }
    if !stats.changed_modules.is_empty() {
        let mut list = stats.changed_modules.clone();
        list.sort();
        list.dedup();
        let shown: Vec<&str> = list.iter().take(3).map(String::as_str).collect();
        let more = list.len().saturating_sub(shown.len());
        eprintln!(
            "rprof: note: changed on disk since the target mapped it (rebuilt, upgraded or deleted): {}{}; frames in it are left as module+offset rather than named from another file",
            shown.join(", "),
            if more > 0 { format!(" and {more} more") } else { String::new() }
        );
    }
    if r.collected.unparsed > 0 {
        eprintln!(
            "rprof: warning: {} ring-buffer records could not be parsed and were skipped",
            crate::render::thousands(r.collected.unparsed)
        );
    }
    if let Some(u) = &r.unwind_stats {
        let mut line = format!(
            "rprof: {} unwinding: {} samples in {:.1} ms ({} ns/sample), {} modules from {} files",
            opts.call_graph.name(),
            crate::render::thousands(u.unwound),
            u.unwind_ns as f64 / 1e6,
            u.unwind_ns / u.unwound.max(1),
            crate::render::thousands(u.modules),
            u.files,
        );
        if u.stopped_early > 0 {
            line.push_str(&format!(
                "; stopped early: {} ({} at the end of the stack copy, {} in code without unwind info, {} at a frame no unwind rule could step past)",
                crate::render::thousands(u.stopped_early),
                crate::render::thousands(u.stack_exhausted),
                crate::render::thousands(u.no_unwind_info),
                // Code a module's CFI does not cover gets framehop's frame-pointer guess, which
                // fails in code without frame pointers: that lands here.
                crate::render::thousands(
                    u.stopped_early
                        .saturating_sub(u.stack_exhausted)
                        .saturating_sub(u.no_unwind_info)
                ),
            ));
        }
        if u.module_errors > 0 {
            line.push_str(&format!(
                " ({} unreadable, stacks through them truncated)",
                u.module_errors
            ));
        }
        if matches!(opts.call_graph, CallGraph::Auto { .. }) {
            line.push_str(&format!(
                ", {} stacks ({:.2}%) from frame pointers where DWARF stopped early",
                crate::render::thousands(stats.fp_fallbacks),
                pct(stats.fp_fallbacks, stats.samples)
            ));
        }
        eprintln!("{line}");
    }
    // Many truncated frame-pointer stacks almost always mean code built without frame
    // pointers: say what fixes it rather than leave a plausible-looking, wrong profile.
    if opts.call_graph == CallGraph::Fp
        && stats.samples >= 20
        && pct(stats.truncated, stats.samples) > 20.0
    {
        eprintln!(
            "rprof: hint: {:.0}% of the frame-pointer stacks are truncated (code built without frame pointers); record with --call-graph dwarf or auto for complete stacks",
            pct(stats.truncated, stats.samples)
        );
    }
}

fn host() -> String {
    let h = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let k = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{} (Linux {})", h.trim(), k.trim())
}

/// Records according to `target` (and `tids`) and returns the symbolized profile.
pub fn record_profile(target: &TargetArgs, tids: &[u32]) -> Result<Profile> {
    let (mut p, _) = record_and_build(target, tids)?;
    // A view shows one event: the first recorded.
    crate::profile::file::select_event(&mut p, None).map_err(|e| anyhow::anyhow!(e))?;
    Ok(p)
}

/// Fails early, before recording, when `path` cannot be written; creates nothing.
fn check_writable(path: &Path) -> Result<()> {
    crate::output::check_writable(path).map_err(|e| {
        anyhow::anyhow!(
            "cannot write the output {}: {e:#} (choose another place with -o FILE)",
            path.display()
        )
    })
}

/// Parses `15s`, `500ms`, `2m` or a plain number of seconds.
pub fn parse_interval(s: &str) -> Result<Duration> {
    let (num, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else {
        (s, 1.0)
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("--interval {s}: expected e.g. 15s, 500ms or 1m"))?;
    let secs = v * scale;
    if !(0.1..=86_400.0).contains(&secs) {
        bail!("--interval {s}: must be between 100ms and 24h");
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Continuous mode: records until stopped, building and uploading one pprof profile per
/// interval. Capture hands each interval to a builder thread (symbolizing never stalls the
/// ring buffers), which hands the encoded profile to the uploader thread (the network never
/// stalls either); when the builder falls behind by more than two intervals, an interval is
/// dropped and counted rather than memory growing.
fn run_push(args: &RecordArgs, cfg: crate::push::PushConfig) -> Result<ExitCode> {
    use std::sync::mpsc;
    let mut opts = options(&args.target, &args.tids)?;
    opts.interval = Some(parse_interval(&args.interval)?);
    eprintln!(
        "rprof: continuous mode: a profile every {} to {} ({:?} API) as {}",
        args.interval, cfg.url, cfg.format, cfg.app
    );
    let pusher = crate::push::Pusher::start(cfg);
    let (tx, rx) = mpsc::sync_channel::<rec::Recording>(2);
    let call_graph = opts.call_graph;
    let bopts = opts.clone();
    let builder = std::thread::Builder::new()
        .name("rprof-build".into())
        .spawn(move || {
            let mut total = BuildStats::default();
            let mut intervals = 0u64;
            for r in rx {
                let (mut p, stats) = build::build(&r, call_graph);
                fill_meta(&mut p, &r, &bopts, &stats);
                total.samples += stats.samples;
                total.weight += stats.weight;
                total.truncated += stats.truncated;
                total.unsymbolized += stats.unsymbolized;
                total.frames += stats.frames;
                total.fp_fallbacks += stats.fp_fallbacks;
                total.threads = total.threads.max(stats.threads);
                total.processes = total.processes.max(stats.processes);
                total.changed_modules.extend(stats.changed_modules);
                intervals += 1;
                let (from_unix_s, until_unix_s) =
                    crate::push::interval_secs(r.start_unix_ns, r.duration_ns);
                match crate::profile::pprof::encode(&p) {
                    Ok(pprof) => pusher.send(crate::push::Upload {
                        pprof,
                        from_unix_s,
                        until_unix_s,
                        sample_rate: bopts.frequency,
                        samples: stats.samples,
                    }),
                    Err(e) => eprintln!("rprof: warning: interval not encoded: {e:#}"),
                }
                drop(p);
                drop(r);
                // Symbolizing an interval parses debug info (tens of MB for a libc with its
                // debug file) and frees it again; glibc keeps freed arena memory mapped, so
                // without a trim the RSS of a long run creeps up in steps instead of staying
                // flat.
                #[cfg(all(target_os = "linux", target_env = "gnu"))]
                // SAFETY: malloc_trim only returns free heap memory to the kernel.
                unsafe {
                    libc::malloc_trim(0);
                }
            }
            (total, intervals, pusher.finish())
        })
        .context("starting the builder thread")?;
    let mut busy_drops = 0u64;
    let mut busy_samples = 0u64;
    let result = rec::record_with(&opts, &mut |r| {
        let n = r.collected.samples;
        if let Err(mpsc::TrySendError::Full(_)) = tx.try_send(r) {
            busy_drops += 1;
            busy_samples += n;
        }
    });
    drop(tx);
    let (stats, intervals, push) = builder
        .join()
        .map_err(|_| anyhow::anyhow!("the builder thread failed"))?;
    let r = result?;
    summarize(&r, &opts, &stats);
    eprintln!(
        "rprof: uploaded {} of {} intervals ({} samples); {} retried uploads; {} intervals ({} samples) dropped: {} while the server was unreachable (queue full or final deadline), {} while symbolizing fell behind",
        push.sent,
        intervals + busy_drops,
        crate::render::thousands(push.sent_samples),
        push.retries,
        push.dropped + busy_drops,
        crate::render::thousands(push.dropped_samples + busy_samples),
        push.dropped,
        busy_drops
    );
    if let Some(e) = &push.last_error {
        eprintln!("rprof: last upload error: {e}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `rprof record`.
pub fn run(args: RecordArgs) -> Result<ExitCode> {
    let default_app = args
        .target
        .command
        .first()
        .map(|c| {
            Path::new(c)
                .file_name()
                .and_then(|s| s.to_str())
                .unwrap_or(c)
                .to_string()
        })
        .or_else(|| {
            args.target
                .pids
                .first()
                .and_then(|p| std::fs::read_to_string(format!("/proc/{p}/comm")).ok())
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "rprof".into());
    if let Some(cfg) = args.push.config(&default_app)? {
        options(&args.target, &args.tids)?;
        if args.target.off_cpu || args.target.wall {
            bail!("--off-cpu and --wall are not available in continuous mode (--push) yet; record to a file");
        }
        return run_push(&args, cfg);
    }
    // Validate everything before starting the target.
    options(&args.target, &args.tids)?;
    check_writable(&args.output)?;
    let (p, _) = record_and_build(&args.target, &args.tids)?;
    // The previous file is moved to FILE.old only once the new one is complete, so a full
    // disk loses nothing.
    let bytes = crate::profile::file::encode(&p);
    crate::output::replace_keeping_old(&args.output, &bytes)
        .with_context(|| format!("cannot write the output {}", args.output.display()))?;
    let size = bytes.len() as u64;
    eprintln!(
        "rprof: wrote {} ({} bytes)",
        args.output.display(),
        crate::render::thousands(size)
    );
    Ok(ExitCode::SUCCESS)
}
