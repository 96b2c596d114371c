//! Capture: open the events for the target, drain the ring buffers until the recording stops
//! (target exit, duration, Ctrl-C/SIGTERM), and hand the raw events to [`build`], which
//! replays them in time order against per-process address spaces and symbolizes.

pub mod buffers;
pub mod build;
pub mod events;
pub mod live_unwind;
pub mod maps;
pub mod offcpu;
pub mod rings;
pub mod session;
pub mod target;

use std::collections::HashSet;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use nix::sys::wait::WaitStatus;

use crate::process::{self, Launched};
use crate::unwind::CallGraph;
use maps::Mapping;
use session::{Collected, EventConfig, EventKind, Placement, Session};

/// What to record.
#[derive(Clone, Debug)]
pub enum Target {
    /// Every thread of these processes, and their future threads and children.
    Pids(Vec<u32>),
    /// Only these threads.
    Tids(Vec<u32>),
    /// Launch this command.
    Command(Vec<String>),
    /// Every CPU, every process.
    System,
    /// Every process of a user (`-u`), as found when recording starts, with their future
    /// threads and children.
    User {
        /// The name or uid as given.
        name: String,
        /// The uid.
        uid: u32,
    },
}

/// Recording options, already validated.
#[derive(Clone, Debug)]
pub struct Options {
    /// Target.
    pub target: Target,
    /// Requested events (several are recorded together); empty picks cycles or falls back to
    /// cpu-clock.
    pub events: Vec<EventKind>,
    /// Hz.
    pub frequency: u64,
    /// A fixed sampling period (`-c`) instead of the frequency.
    pub period: Option<u64>,
    /// Only these CPUs (`-C`); None for every online CPU.
    pub cpus: Option<Vec<usize>>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Sample kernel code.
    pub kernel: bool,
    /// Unwinding mode.
    pub call_graph: CallGraph,
    /// Continuous mode: hand each interval's samples to the sink this often.
    pub interval: Option<Duration>,
    /// `--off-cpu` / `--wall`: record context switches too (see [`offcpu`]).
    pub offcpu: Option<offcpu::OffCpuOptions>,
}

/// Why the recording stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The target (command or every attached process) exited.
    TargetExited,
    /// `-d` elapsed.
    Duration,
    /// A signal (SIGINT, SIGTERM) asked rprof to stop.
    Signal(String),
}

impl StopReason {
    /// Human description.
    pub fn describe(&self) -> String {
        match self {
            StopReason::TargetExited => "the target exited".into(),
            StopReason::Duration => "the duration (-d) elapsed".into(),
            StopReason::Signal(s) => format!("{s} received"),
        }
    }
}

/// The raw outcome of a recording, before symbolization.
pub struct Recording {
    /// Drained events.
    pub collected: Collected,
    /// Mappings and thread names known at attach time.
    pub initial_maps: Vec<(u32, Vec<Mapping>)>,
    /// Executable mappings of attached processes when recording stopped: where an address
    /// is in no mapping the events described, the builder looks here.
    pub final_maps: Vec<(u32, Vec<Mapping>)>,
    /// (pid, tid, name) known at attach time.
    pub initial_threads: Vec<(u32, u32, String)>,
    /// The event used (the first of `events`).
    pub event: EventKind,
    /// Every event recorded; a sample's `event` indexes this list.
    pub events: Vec<EventKind>,
    /// The CPUs the events were opened on.
    pub cpus: Vec<usize>,
    /// Whether kernel frames were recorded.
    pub kernel: bool,
    /// CLOCK_MONOTONIC at start, ns (sample times are relative to it).
    pub start_mono_ns: u64,
    /// Wall-clock start.
    pub start_unix_ns: u64,
    /// Length.
    pub duration_ns: u64,
    /// Why it stopped.
    pub stop: StopReason,
    /// The launched command's end, described.
    pub exit: Option<String>,
    /// Launched command's exit code (for metadata).
    pub exit_code: Option<i32>,
    /// Human target description.
    pub target_desc: String,
    /// The command, when launched.
    pub command: Vec<String>,
    /// Notes for the summary (kernel frames unavailable, …).
    pub notes: Vec<String>,
    /// DWARF unwinding work, when it ran.
    pub unwind_stats: Option<live_unwind::LiveStats>,
    /// Off-CPU figures (`--off-cpu`, `--wall`).
    pub offcpu: Option<offcpu::OffCpuStats>,
}

const BUFFER_BYTES: usize = 512 * 1024;

/// Where `--call-graph lbr` can work: Intel's PMU advertises its LBR depth here.
const LBR_CAPS: &str = "/sys/bus/event_source/devices/cpu/caps/branches";

/// Picks the events and whether kernel frames are possible by opening each on `probe`: the
/// requested events, each of which must open (a hardware event this machine lacks gets perf's
/// "not supported"), or by default `cycles` when the hardware counter opens, else `cpu-clock`;
/// kernel frames when permitted.
fn choose_events(
    opts: &Options,
    probe: Placement,
    notes: &mut Vec<String>,
) -> Result<Vec<EventConfig>> {
    let lbr = opts.call_graph == CallGraph::Lbr;
    if lbr {
        let depth = std::fs::read_to_string(LBR_CAPS)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
            .unwrap_or(0);
        if depth == 0 {
            bail!(
                "--call-graph lbr needs the CPU's last branch record (Intel, Haswell or later, on bare metal or a VM that passes it through), and this machine has none ({LBR_CAPS} is missing); use --call-graph fp, dwarf or auto"
            );
        }
        if let Some(e) = opts.events.iter().find(|e| !e.is_hardware()) {
            bail!(
                "--call-graph lbr works with hardware events only, not {}; use -e cycles or another hardware event",
                e.name()
            );
        }
    }
    if opts.events.len() > usize::from(u8::MAX) {
        bail!("at most {} events can be recorded together", u8::MAX);
    }
    let explicit = !opts.events.is_empty();
    let groups: Vec<Vec<EventKind>> = if explicit {
        opts.events.iter().map(|e| vec![e.clone()]).collect()
    } else if lbr {
        vec![vec![EventKind::cycles()]]
    } else {
        vec![vec![EventKind::cycles(), EventKind::cpu_clock()]]
    };
    let mut kernel = opts.kernel;
    let mut chosen = Vec::new();
    for candidates in groups {
        chosen.push(choose_one(
            opts,
            &candidates,
            explicit,
            &mut kernel,
            probe,
            notes,
        )?);
    }
    // Kernel frames are all or nothing: an event probed before the refusal drops them too.
    for c in &mut chosen {
        c.kernel = kernel;
    }
    Ok(chosen)
}

/// The first of `candidates` that opens on `probe`; clears `kernel` when kernel frames are not
/// permitted.
fn choose_one(
    opts: &Options,
    candidates: &[EventKind],
    explicit: bool,
    kernel: &mut bool,
    probe: Placement,
    notes: &mut Vec<String>,
) -> Result<EventConfig> {
    let mut last_err = None;
    for kind in candidates {
        let stack_bytes = opts.call_graph.stack_bytes();
        let mut cfg = EventConfig {
            kind: kind.clone(),
            frequency: opts.frequency,
            period: opts.period.or(kind.default_period()),
            lbr: opts.call_graph == CallGraph::Lbr,
            kernel: *kernel,
            // Samples carrying stack copies: sized by rate and CPU count (buffers.rs).
            buffer_bytes: unprivileged_buffer_cap(match stack_bytes {
                Some(stack) => {
                    buffers::dwarf_buffer_bytes(opts.frequency, stack, session::online_cpus().len())
                }
                None => BUFFER_BYTES,
            }),
            stack_bytes,
            user_callchain: !matches!(opts.call_graph, CallGraph::Dwarf { .. }),
        };
        let mut r = session::open(&cfg, probe);
        if cfg.kernel
            && matches!(
                r.as_ref().err().and_then(|e| e.raw_os_error()),
                Some(libc::EACCES) | Some(libc::EPERM)
            )
        {
            cfg.kernel = false;
            r = session::open(&cfg, probe);
            if r.is_ok() {
                *kernel = false;
                notes.push("kernel frames are not permitted here (perf_event_paranoid); recorded user frames only".into());
            }
        }
        match r {
            Ok(_) => return Ok(cfg),
            Err(e) => {
                let code = e.raw_os_error();
                // "Not supported" for hardware counters in VMs: try the next event.
                let unsupported = matches!(
                    code,
                    Some(libc::ENOENT)
                        | Some(libc::EOPNOTSUPP)
                        | Some(libc::ENODEV)
                        | Some(libc::EINVAL)
                );
                if unsupported && explicit {
                    if cfg.lbr && kind.is_hardware() && code == Some(libc::EOPNOTSUPP) {
                        bail!(
                            "--call-graph lbr: the CPU refused a branch call stack for {} ({e}); use --call-graph fp, dwarf or auto",
                            kind.name()
                        );
                    }
                    if kind.is_hardware() || code != Some(libc::EINVAL) {
                        return Err(kind.unsupported(&e));
                    }
                }
                if !unsupported || explicit {
                    return Err(session::explain_open_error(
                        &e,
                        "the sampling event",
                        Some(probe.pid),
                    ));
                }
                last_err = Some(e);
            }
        }
    }
    match last_err {
        Some(e) => Err(session::explain_open_error(
            &e,
            "the sampling event",
            Some(probe.pid),
        )),
        None => bail!("no sampling event could be opened"),
    }
}

/// Opens every event of `cfgs` at `at` on one CPU and adds it to the session (the first owns
/// the CPU's ring buffer).
fn open_on_cpu(
    sess: &mut Session,
    cfgs: &[EventConfig],
    off: Option<&offcpu::Switches>,
    at: Placement,
) -> std::io::Result<()> {
    for (i, cfg) in cfgs.iter().enumerate() {
        let c = if i == 0 {
            open_primary(cfg, off, at)?
        } else {
            session::open(cfg, at)?
        };
        // An io error from adding is about the ring buffer; the caller explains both alike.
        sess.add_event(c, at.cpu, cfg.buffer_bytes, i as u8)?;
    }
    Ok(())
}

/// Opens per-CPU events on each of `tids` (inherited when `inherit`), repeating while new
/// threads appear so none created during setup is missed.
fn open_threads(
    sess: &mut Session,
    off: &mut Option<offcpu::Switches>,
    cfgs: &[EventConfig],
    cpus: &[usize],
    mut list: impl FnMut() -> Vec<u32>,
    inherit: bool,
) -> Result<()> {
    let mut done: HashSet<u32> = HashSet::new();
    for _round in 0..50 {
        let tids: Vec<u32> = list().into_iter().filter(|t| !done.contains(t)).collect();
        if tids.is_empty() {
            return Ok(());
        }
        for tid in tids {
            for &cpu in cpus {
                let at = Placement {
                    pid: tid as i32,
                    cpu,
                    inherit,
                    enable_on_exec: false,
                };
                match open_on_cpu(sess, cfgs, off.as_ref(), at) {
                    Ok(()) => {}
                    // The thread exited meanwhile: nothing to sample.
                    Err(e) if e.raw_os_error() == Some(libc::ESRCH) => break,
                    Err(e) => {
                        return Err(session::explain_open_error(
                            &e,
                            "the sampling event",
                            Some(tid as i32),
                        ))
                    }
                }
                if let Some(o) = off.as_mut() {
                    match o.open(&cfgs[0], at) {
                        Ok(()) => {}
                        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => break,
                        Err(e) => return Err(offcpu_open_error(&e, Some(tid as i32))),
                    }
                }
            }
            done.insert(tid);
        }
    }
    Ok(())
}

/// The event that owns a placement's ring buffer: the sampling event, or with `--off-cpu`
/// alone a side-band-only event (the switch events have buffers of their own).
fn open_primary(
    cfg: &EventConfig,
    off: Option<&offcpu::Switches>,
    at: Placement,
) -> std::io::Result<perf_event::Counter> {
    match off {
        Some(o) if o.sideband_only() => o.open_sideband(cfg, at),
        _ => session::open(cfg, at),
    }
}

fn offcpu_open_error(e: &std::io::Error, pid: Option<i32>) -> anyhow::Error {
    session::explain_open_error(e, "the sched:sched_switch event (--off-cpu/--wall)", pid)
}

/// Records until the target exits, the duration elapses or a signal arrives.
pub fn record(opts: &Options) -> Result<Recording> {
    record_with(opts, &mut |_| {})
}

/// [`record`], handing every `opts.interval` a [`Recording`] of that interval's samples (with
/// the process events so far) to `sink`; the returned recording then holds only the samples
/// after the last full interval. The sink runs on the capture thread: it must hand the work
/// off, not do it (the ring buffers are not drained meanwhile).
pub fn record_with(opts: &Options, sink: &mut dyn FnMut(Recording)) -> Result<Recording> {
    if opts.frequency == 0 {
        bail!("-F must be at least 1 Hz");
    }
    target::install_signal_handlers()?;
    // A Ctrl-C during setup (opening events, attaching to every process of -a) counts: the
    // loop below starts from this count, so it stops at once instead of absorbing it.
    let (sig_start, _, _) = target::signals();
    let cpus = match &opts.cpus {
        Some(c) if !c.is_empty() => c.clone(),
        _ => session::online_cpus(),
    };
    let mut notes = Vec::new();
    let mut sess = Session::new();
    let mut initial_maps = Vec::new();
    let mut initial_threads = Vec::new();
    let mut launched: Option<Launched> = None;
    let mut roots: Vec<u32> = Vec::new();
    let mut command = Vec::new();
    let mut off = opts.offcpu.map(offcpu::Switches::new).transpose()?;
    let mut target_desc;
    let cfgs: Vec<EventConfig>;
    match &opts.target {
        Target::Command(argv) => {
            let mut l = process::launch(argv)?;
            let probe = Placement {
                pid: l.pid as i32,
                cpu: cpus[0],
                inherit: true,
                enable_on_exec: true,
            };
            let setup = (|| -> Result<Vec<EventConfig>> {
                let cfgs = choose_events(opts, probe, &mut notes)?;
                for &cpu in &cpus {
                    open_on_cpu(&mut sess, &cfgs, off.as_ref(), Placement { cpu, ..probe })
                        .map_err(|e| session::explain_open_error(&e, "the sampling event", None))?;
                    if let Some(o) = off.as_mut() {
                        o.open(&cfgs[0], Placement { cpu, ..probe })
                            .map_err(|e| offcpu_open_error(&e, None))?;
                    }
                }
                Ok(cfgs)
            })();
            match setup {
                Ok(c) => cfgs = c,
                Err(e) => {
                    l.abort();
                    return Err(e);
                }
            }
            if target::signals().0 > sig_start {
                // The command never ran: nothing to record, nothing to wait for.
                l.abort();
                bail!("interrupted before the command started");
            }
            l.release()?;
            target_desc = format!("command {}", argv.join(" "));
            command = argv.clone();
            roots.push(l.pid);
            launched = Some(l);
        }
        Target::Pids(_) | Target::User { .. } => {
            let pids: Vec<u32> = match &opts.target {
                Target::Pids(pids) => {
                    for &pid in pids {
                        if !target::process_exists(pid) {
                            bail!("no such process: {pid}");
                        }
                    }
                    pids.clone()
                }
                Target::User { name, uid, .. } => {
                    let pids = target::pids_of_user(*uid);
                    if pids.is_empty() {
                        bail!("user {name} (uid {uid}) has no running process to record");
                    }
                    pids
                }
                _ => unreachable!("matched above"),
            };
            cfgs = choose_events(
                opts,
                Placement {
                    pid: pids[0] as i32,
                    cpu: cpus[0],
                    inherit: true,
                    enable_on_exec: false,
                },
                &mut notes,
            )?;
            for &pid in &pids {
                open_threads(
                    &mut sess,
                    &mut off,
                    &cfgs,
                    &cpus,
                    || process::threads_of(pid),
                    true,
                )?;
            }
            // Enabled before reading /proc/PID/maps: a disabled event gets no MMAP records, so
            // a mapping made in between would be lost. Seen twice is harmless.
            sess.enable_all().context("enabling the events")?;
            if let Some(o) = off.as_mut() {
                o.enable_all().context("enabling the off-CPU events")?;
            }
            for &pid in &pids {
                initial_maps.push((pid, maps::read_proc_maps(pid)));
                for tid in process::threads_of(pid) {
                    initial_threads.push((
                        pid,
                        tid,
                        process::thread_name(pid, tid).unwrap_or_default(),
                    ));
                }
            }
            target_desc = match &opts.target {
                Target::User { name, uid } => {
                    format!("user {name} (uid {uid}, {} processes)", pids.len())
                }
                _ => format!(
                    "pid {}",
                    pids.iter()
                        .map(|p| p.to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                ),
            };
            roots = pids;
        }
        Target::Tids(tids) => {
            for &tid in tids {
                if !target::process_exists(tid) {
                    bail!("no such thread: {tid}");
                }
            }
            cfgs = choose_events(
                opts,
                Placement {
                    pid: tids[0] as i32,
                    cpu: cpus[0],
                    inherit: false,
                    enable_on_exec: false,
                },
                &mut notes,
            )?;
            for &tid in tids {
                open_threads(&mut sess, &mut off, &cfgs, &cpus, || vec![tid], false)?;
            }
            sess.enable_all().context("enabling the events")?;
            if let Some(o) = off.as_mut() {
                o.enable_all().context("enabling the off-CPU events")?;
            }
            for &tid in tids {
                let pid = target::tgid_of(tid).unwrap_or(tid);
                initial_maps.push((pid, maps::read_proc_maps(pid)));
                initial_threads.push((
                    pid,
                    tid,
                    process::thread_name(pid, tid).unwrap_or_default(),
                ));
            }
            roots = tids.clone();
            target_desc = format!(
                "tid {}",
                tids.iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            );
        }
        Target::System => {
            cfgs = choose_events(
                opts,
                Placement {
                    pid: -1,
                    cpu: cpus[0],
                    inherit: false,
                    enable_on_exec: false,
                },
                &mut notes,
            )?;
            for &cpu in &cpus {
                let at = Placement {
                    pid: -1,
                    cpu,
                    inherit: false,
                    enable_on_exec: false,
                };
                open_on_cpu(&mut sess, &cfgs, off.as_ref(), at)
                    .map_err(|e| session::explain_open_error(&e, "a system-wide event", None))?;
                if let Some(o) = off.as_mut() {
                    o.open(&cfgs[0], at)
                        .map_err(|e| offcpu_open_error(&e, None))?;
                }
            }
            sess.enable_all().context("enabling the events")?;
            if let Some(o) = off.as_mut() {
                o.enable_all().context("enabling the off-CPU events")?;
            }
            for pid in target::all_pids() {
                initial_maps.push((pid, maps::read_proc_maps(pid)));
                for tid in process::threads_of(pid) {
                    initial_threads.push((
                        pid,
                        tid,
                        process::thread_name(pid, tid).unwrap_or_default(),
                    ));
                }
            }
            target_desc = "system-wide (-a)".into();
        }
    }
    if opts.cpus.is_some() {
        target_desc.push_str(&format!(" on CPU {}", events::format_cpu_list(&cpus)));
    }
    let event_list: Vec<EventKind> = cfgs.iter().map(|c| c.kind.clone()).collect();
    let cfg = &cfgs[0];
    sess.set_fixed_period(session::fixed_period(cfg));
    let start_mono_ns = process::monotonic_ns();
    let start_unix_ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let started = Instant::now();
    let status = crate::progress::status_line();
    let mut collected = Collected::default();
    // The DWARF modes unwind while draining: every drain thread gets its own unwinder, all
    // sharing the parsed unwind tables.
    let proto = opts
        .call_graph
        .stack_bytes()
        .map(|_| live_unwind::LiveUnwinder::new(matches!(opts.call_graph, CallGraph::Auto { .. })));
    let mut drainer = rings::Drainer::new(
        rings::lanes_for(sess.rings.len()),
        &sess.parser,
        off.as_ref().map(|o| &o.parser),
        || {
            proto.as_ref().map(|p| {
                let mut l = p.sibling();
                for (pid, maps) in &initial_maps {
                    l.attach(*pid, maps);
                }
                l
            })
        },
    );
    drop(proto);
    let mut handled_signals = sig_start;
    let mut stop: Option<StopReason> = None;
    let mut exit_status: Option<WaitStatus> = None;
    let mut last_status = Instant::now();
    // When rprof launched the command it keeps recording until the command is gone, even
    // after a stop request: the command gets the signal and its last moments are sampled.
    let mut waiting_for_child_since: Option<Instant> = None;
    // Continuous mode: where the current interval started, and the counters at that point.
    let mut interval_start = Instant::now();
    let mut interval_start_unix = start_unix_ns;
    let (mut lost_before, mut samples_before) = (0u64, 0u64);
    let off_fds = off.as_ref().map(|o| o.fds()).unwrap_or_default();
    loop {
        sess.wait_also(&off_fds, 100);
        drainer.round(
            &mut sess.rings,
            off.as_mut().map(|o| &mut o.rings),
            &mut collected,
        );
        if let Some(iv) = opts.interval {
            if interval_start.elapsed() >= iv {
                let part = collected.take_interval(lost_before, samples_before);
                lost_before = collected.lost;
                samples_before = collected.samples;
                let len = interval_start.elapsed().as_nanos() as u64;
                sink(Recording {
                    collected: part,
                    initial_maps: initial_maps.clone(),
                    final_maps: Vec::new(),
                    initial_threads: initial_threads.clone(),
                    event: cfg.kind.clone(),
                    events: event_list.clone(),
                    cpus: cpus.clone(),
                    kernel: cfg.kernel,
                    start_mono_ns,
                    start_unix_ns: interval_start_unix,
                    duration_ns: len,
                    stop: StopReason::Duration,
                    exit: None,
                    exit_code: None,
                    target_desc: target_desc.clone(),
                    command: command.clone(),
                    notes: Vec::new(),
                    unwind_stats: None,
                    offcpu: None,
                });
                interval_start = Instant::now();
                interval_start_unix += len;
            }
        }
        let (n, sig, from_tty) = target::signals();
        if n > handled_signals {
            // The first stop request of any kind (this signal, or -d running out, which sent
            // SIGTERM) is passed on; a signal after one kills, as the waiting message says.
            let first = stop.is_none();
            handled_signals = n;
            let name = target::signal_name(sig);
            if stop.is_none() {
                stop = Some(StopReason::Signal(name.clone()));
            }
            if let Some(l) = &launched {
                if first {
                    // A terminal Ctrl-C reached the whole process group already; a signal sent
                    // to rprof alone is passed on, as if rprof were not there.
                    if !from_tty {
                        l.signal(sig);
                    }
                    waiting_for_child_since = Some(Instant::now());
                } else {
                    // A second request: the command did not stop, end it.
                    l.signal(libc::SIGKILL);
                }
            }
        }
        if let (None, Some(d)) = (&stop, opts.duration) {
            if started.elapsed() >= d {
                stop = Some(StopReason::Duration);
                if let Some(l) = &launched {
                    l.signal(libc::SIGTERM);
                    waiting_for_child_since = Some(Instant::now());
                }
            }
        }
        if let Some(l) = &mut launched {
            if let Some(s) = l.poll_exit() {
                exit_status = Some(s);
                if stop.is_none() {
                    stop = Some(StopReason::TargetExited);
                }
                break;
            }
            if let Some(t) = waiting_for_child_since {
                // A command may take its time to shut down cleanly (a server draining its
                // connections): it is never killed behind the user's back, but the user is
                // told what rprof waits for and how to end it.
                if t.elapsed() > Duration::from_secs(2) {
                    eprintln!("rprof: waiting for the command to exit; Ctrl-C now kills it");
                    waiting_for_child_since = None;
                }
            }
        } else {
            if stop.is_some() {
                break;
            }
            if !roots.is_empty() && roots.iter().all(|&p| !target::process_alive(p)) {
                stop = Some(StopReason::TargetExited);
                break;
            }
        }
        if last_status.elapsed() >= Duration::from_millis(250) {
            last_status = Instant::now();
            status.set_message(format!(
                "recording {}: {:.1} s, {} samples, {} lost (Ctrl-C to stop)",
                target_desc,
                started.elapsed().as_secs_f64(),
                crate::render::thousands(collected.samples),
                crate::render::thousands(collected.lost)
            ));
            status.tick();
        }
    }
    let stopped_ns = process::monotonic_ns();
    sess.disable_all();
    if let Some(o) = off.as_mut() {
        o.disable_all();
    }
    drainer.round(
        &mut sess.rings,
        off.as_mut().map(|o| &mut o.rings),
        &mut collected,
    );
    let offcpu_stats = drainer.finish_switches(&mut collected, stopped_ns);
    status.finish_and_clear();
    // Attached targets usually outlive the recording: their maps now cover what the events
    // missed (with -t, libraries another thread dlopen'ed: the kernel reports an mmap only
    // to the thread that made it).
    let final_maps: Vec<(u32, Vec<Mapping>)> = match &opts.target {
        Target::Pids(_) | Target::Tids(_) | Target::User { .. } => {
            let mut pids: Vec<u32> = roots.iter().filter_map(|&t| target::tgid_of(t)).collect();
            pids.sort_unstable();
            pids.dedup();
            pids.into_iter()
                .map(|p| (p, maps::read_proc_maps(p)))
                .filter(|(_, m)| !m.is_empty())
                .collect()
        }
        _ => Vec::new(),
    };
    let duration_ns = started.elapsed().as_nanos() as u64;
    if opts.interval.is_some() {
        // The last, partial interval goes to the sink like the others (a Ctrl-C loses
        // nothing); what is returned keeps the running totals for the summary.
        let part = collected.take_interval(lost_before, samples_before);
        sink(Recording {
            collected: part,
            initial_maps: initial_maps.clone(),
            final_maps: final_maps.clone(),
            initial_threads: initial_threads.clone(),
            event: cfg.kind.clone(),
            events: event_list.clone(),
            cpus: cpus.clone(),
            kernel: cfg.kernel,
            start_mono_ns,
            start_unix_ns: interval_start_unix,
            duration_ns: interval_start.elapsed().as_nanos() as u64,
            stop: stop.clone().unwrap_or(StopReason::TargetExited),
            exit: None,
            exit_code: None,
            target_desc: target_desc.clone(),
            command: command.clone(),
            notes: Vec::new(),
            unwind_stats: None,
            offcpu: None,
        });
    }
    let ended = exit_status.as_ref().and_then(process::describe_status);
    let (exit, exit_code) = match ended {
        Some((text, code)) => (Some(text), Some(i32::from(code))),
        None => (None, None),
    };
    Ok(Recording {
        collected,
        initial_maps,
        final_maps,
        initial_threads,
        event: cfg.kind.clone(),
        events: event_list,
        cpus,
        kernel: cfg.kernel,
        start_mono_ns,
        start_unix_ns,
        duration_ns,
        stop: stop.unwrap_or(StopReason::TargetExited),
        exit,
        exit_code,
        target_desc,
        command,
        notes,
        unwind_stats: drainer.finish_unwinders(),
        offcpu: offcpu_stats,
    })
}

/// Without root, ring buffers count against `kernel.perf_event_mlock_kb` (per CPU), and a
/// larger one fails to map with EPERM: cap the buffer so the default DWARF mode records for any
/// user. Fewer bytes only mean more frequent draining; losses still show in the summary.
fn unprivileged_buffer_cap(bytes: usize) -> usize {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return bytes;
    }
    let Some(kb) = std::fs::read_to_string("/proc/sys/kernel/perf_event_mlock_kb")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
    else {
        return bytes;
    };
    // The mapping is one metadata page plus a power-of-two data area.
    let allowed = (kb * 1024).saturating_sub(4096);
    if allowed < 8192 || bytes <= allowed {
        return bytes;
    }
    (1usize << (usize::BITS - 1 - allowed.leading_zeros())).max(8192)
}
