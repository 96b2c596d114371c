//! Off-CPU and wall-clock recording (`--off-cpu`, `--wall`): where a thread's time goes while
//! it does not run.
//!
//! A `sched:sched_switch` tracepoint is opened on the same placements as the sampling event
//! (per thread and CPU, inherited; or per CPU for `-a`), sampling every switch away from a
//! target thread with its stack (kernel callchain, and the user stack through the same
//! frame-pointer or DWARF machinery as CPU samples) and its `prev_state` from the raw
//! tracepoint data. The same event carries `context_switch`, so the kernel also writes a
//! `PERF_RECORD_SWITCH` (or `SWITCH_CPU_WIDE`) record each time the thread runs again. As the
//! events are drained ([`Pairing`], after each round of the drain loop), each switch-out is
//! paired with the thread's next switch-in: the time between them is the sample's weight in
//! ns, and the state becomes the leaf frame (`[off-cpu: S]`). The waits then merge into the
//! recording's time-bucketed entries like CPU samples, so what an off-CPU recording holds
//! follows its threads and distinct stacks, not its length. These events have ring buffers of
//! their own (their sample layout carries the raw tracepoint data the sampling event does
//! not), drained beside the session's.
//!
//! Only perf_event_open and tracefs are needed: no BPF, so this works where perf's own
//! `--off-cpu` is not built in.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, RawFd};

use anyhow::{anyhow, bail, Context, Result};
use perf_event::events::{Software, Tracepoint};
use perf_event::{Builder, Clock, Counter, Record, SampleFlag};

use super::live_unwind::LiveUnwinder;
use super::rings::{Parser, RingSet};
use super::session::{Collected, EventConfig, Placement, SampleEntry};
use crate::profile::Profile;

/// What is recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Only the time threads spend blocked (sleeping, waiting for I/O, stopped): every wait
    /// but a runnable thread's wait for a CPU.
    OffCpu,
    /// On-CPU samples (cpu-clock) and every off-CPU interval, runqueue waits included, so a
    /// thread's weights add up to its wall-clock time.
    Wall,
}

impl Mode {
    /// The event name stored in the profile's metadata (and the pprof sample type).
    pub fn event_name(&self) -> &'static str {
        match self {
            Mode::OffCpu => "off-cpu",
            Mode::Wall => "wall",
        }
    }

    /// One line for the report header.
    pub fn describe(&self) -> &'static str {
        match self {
            Mode::OffCpu => "off-CPU: time blocked after each context switch (sched:sched_switch), in ns",
            Mode::Wall => "wall-clock: on-CPU cpu-clock samples and off-CPU time (sched:sched_switch), both in ns; shares are of wall time",
        }
    }
}

/// Off-CPU recording options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OffCpuOptions {
    /// What to record.
    pub mode: Mode,
    /// Waits shorter than this (ns) lose their stack: they are summed per thread under one
    /// `[off-cpu: short waits]` frame.
    pub min_block_ns: u64,
}

/// The leaf frame every off-CPU sample ends in starts with this.
pub const LEAF_PREFIX: &str = "[off-cpu: ";

/// Reason code of waits folded by `--min-block`.
const SHORT: u8 = b'-';

/// Reason code of a preempted thread's switch-out in `--off-cpu` mode, known from its switch
/// record alone (the kernel filters its sample out): the wait for a CPU is left out of the
/// profile, but its switch-in then pairs with it instead of passing for a wait that began
/// before the recording.
const QUEUED: u8 = 0;

/// The tracepoint's `prev_state` bit for a preempted task (TASK_REPORT_MAX, printed `R+`).
const PREEMPTED: i64 = 0x100;

/// Ring buffer per CPU for the switch events: ~100k switches/s with frame-pointer stacks write
/// ~35 MB/s, so 4 MiB holds ~100 ms.
const BUFFER_BYTES: usize = 4 * 1024 * 1024;
/// With stack copies each switch carries [`STACK_BYTES`] more.
const DWARF_BUFFER_BYTES: usize = 16 * 1024 * 1024;
/// Bytes of user stack copied per switch in the DWARF modes (perf's default for
/// `--call-graph dwarf`). The kernel reserves the whole requested copy in the ring buffer for
/// every sample: at 150k switches/s even 16 KiB was 2.4 GB/s and lost switch events
/// (bench/offcpu/run.sh). Blocking calls are mostly shallow (a libc wrapper and its callers),
/// and `auto` falls back to frame pointers; at such rates `--call-graph fp` loses nothing.
pub const STACK_BYTES: u32 = 8 * 1024;

/// True for the reason code of a wait folded by `--min-block` (its stack was dropped).
pub fn is_folded(reason: u8) -> bool {
    reason == SHORT
}

/// The leaf frame's name for a reason code.
pub fn leaf_name(reason: u8) -> String {
    match reason {
        SHORT => "[off-cpu: short waits]".into(),
        c => format!("{LEAF_PREFIX}{}]", c as char),
    }
}

/// The state letter (as `ps` and ftrace print it) for a `prev_state` value: R for a runnable
/// thread (preempted or yielding), S sleeping, D uninterruptible (usually disk I/O), T stopped,
/// t traced, X/Z exiting, P parked, I idle kernel thread.
pub fn state_letter(prev_state: i64) -> u8 {
    if prev_state & PREEMPTED != 0 {
        return b'R';
    }
    const LETTERS: &[u8] = b"SDTtXZPI";
    for (bit, l) in LETTERS.iter().enumerate() {
        if prev_state & (1 << bit) != 0 {
            return *l;
        }
    }
    b'R'
}

/// Where the fields rprof reads sit in the tracepoint's raw data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Format {
    id: u64,
    prev_state: (usize, usize),
}

/// Offset and size of `field` in a tracefs `format` file
/// (`field:long prev_state;\toffset:32;\tsize:8;\tsigned:1;`).
fn field_in_format(text: &str, field: &str) -> Option<(usize, usize)> {
    for line in text.lines() {
        let mut parts = line.trim().split(';').map(str::trim);
        let Some(decl) = parts.next().and_then(|d| d.strip_prefix("field:")) else {
            continue;
        };
        if decl.rsplit(|c: char| c.is_whitespace() || c == '*').next() != Some(field) {
            continue;
        }
        let mut off = None;
        let mut size = None;
        for p in parts {
            if let Some(v) = p.strip_prefix("offset:") {
                off = v.parse().ok();
            } else if let Some(v) = p.strip_prefix("size:") {
                size = v.parse().ok();
            }
        }
        return Some((off?, size?));
    }
    None
}

/// Reads the id and the `prev_state` field of `sched:sched_switch` from tracefs.
fn read_format() -> Result<Format> {
    let root = crate::strace::tracefs::ensure_tracefs()
        .context("--off-cpu and --wall need the sched:sched_switch tracepoint")?;
    let dir = root.join("events/sched/sched_switch");
    let read = |name: &str| -> Result<String> {
        let p = dir.join(name);
        // tracefs files are the kernel's; a few KiB, bounded anyway.
        let mut s = String::new();
        use std::io::Read;
        std::fs::File::open(&p)
            .and_then(|f| f.take(1 << 20).read_to_string(&mut s))
            .with_context(|| format!("cannot read {}", p.display()))?;
        Ok(s)
    };
    let id: u64 = read("id")?
        .trim()
        .parse()
        .map_err(|_| anyhow!("{}: not a tracepoint id", dir.join("id").display()))?;
    let fmt = read("format")?;
    let prev_state = field_in_format(&fmt, "prev_state")
        .filter(|&(_, size)| matches!(size, 4 | 8))
        .ok_or_else(|| {
            anyhow!(
                "{}: no 4- or 8-byte prev_state field",
                dir.join("format").display()
            )
        })?;
    Ok(Format { id, prev_state })
}

/// A switch away from a target thread, waiting for its switch-in.
#[derive(Clone, Copy, Debug)]
struct Out {
    time: u64,
    cpu: u16,
    pid: u32,
    tid: u32,
    chain: u32,
    fallback: Option<u32>,
    reason: u8,
}

/// Figures for the end-of-run summary and the metadata.
#[derive(Clone, Debug, Default)]
pub struct OffCpuStats {
    /// Switches away from target threads that were recorded (with a stack).
    pub switch_outs: u64,
    /// Switches back in seen.
    pub switch_ins: u64,
    /// Switch events (samples or records) the kernel dropped.
    pub lost: u64,
    /// Records that could not be parsed.
    pub unparsed: u64,
    /// Off-CPU intervals in the profile.
    pub intervals: u64,
    /// Switch-outs dropped because the thread's next event was another switch-out: its
    /// switch-in was lost, so the length of the wait is unknown.
    pub unmatched: u64,
    /// Intervals still open when the recording stopped (weighted up to the stop).
    pub open_at_end: u64,
    /// Intervals shorter than `--min-block`, folded into `[off-cpu: short waits]`.
    pub folded: u64,
    /// Switch-ins with no switch-out before them: new threads, and waits that began before
    /// the recording (not attributed).
    pub no_switch_out: u64,
    /// The most switch events held at once waiting to be paired (switch-outs still blocked,
    /// and events drained but newer than the pairing horizon): what the off-CPU recording's
    /// memory follows, bounded by the threads and the switch rate, not by the duration.
    pub max_held: u64,
    /// `--off-cpu`: waits of preempted (runnable) threads for a CPU, left out of the profile.
    pub runqueue_left_out: u64,
}

/// The off-CPU events of a recording: their ring buffers and how their records are read.
pub struct Switches {
    /// The ring buffers, one per CPU.
    pub rings: RingSet,
    /// The parser each drain thread copies ([`SwitchParser::fresh`]).
    pub parser: SwitchParser,
}

/// How the switch events' records are read, and what they collected: each drain thread has
/// one, whose switch-outs and switch-ins the [`Pairing`] takes after each round
/// ([`Pairing::take_from`]). The stacks of switch-outs are interned here, not in the drain's
/// output, because they wait to be paired.
pub struct SwitchParser {
    opts: OffCpuOptions,
    format: Format,
    outs: Vec<Out>,
    /// (tid, time) of every switch-in.
    ins: Vec<(u32, u64)>,
    self_pid: u32,
    stats: OffCpuStats,
    /// The switch-outs' callchains.
    chains: Collected,
}

const PERF_RECORD_LOST: u32 = 2;
const PERF_RECORD_SAMPLE: u32 = 9;
const PERF_RECORD_LOST_SAMPLES: u32 = 13;
const PERF_RECORD_SWITCH: u32 = 14;
const PERF_RECORD_SWITCH_CPU_WIDE: u32 = 15;
const PERF_RECORD_MISC_SWITCH_OUT: u16 = 1 << 13;
/// Set on a switch-out record when the thread stays runnable (preempted), since Linux 4.17.
const PERF_RECORD_MISC_SWITCH_OUT_PREEMPT: u16 = 1 << 14;

impl Switches {
    /// Finds the tracepoint (mounting tracefs when needed).
    pub fn new(opts: OffCpuOptions) -> Result<Self> {
        Ok(Switches {
            rings: RingSet::new(),
            parser: SwitchParser {
                opts,
                format: read_format()?,
                outs: Vec::new(),
                ins: Vec::new(),
                self_pid: std::process::id(),
                stats: OffCpuStats::default(),
                chains: Collected::default(),
            },
        })
    }

    /// True when no sampling event runs beside (`--off-cpu` alone): then a side-band-only
    /// event ([`Switches::open_sideband`]) tells mappings, names and forks.
    pub fn sideband_only(&self) -> bool {
        self.parser.opts.mode == Mode::OffCpu
    }

    /// A `dummy` software event that samples nothing and carries the MMAP2, COMM and FORK
    /// records the session drains, in the sample layout `session::open` uses (the session
    /// parses its buffers by that layout).
    pub fn open_sideband(&self, cfg: &EventConfig, at: Placement) -> io::Result<Counter> {
        let mut b = Builder::new(Software::DUMMY);
        place(&mut b, at);
        b.sample_period(1)
            .sample(super::session::sample_flags(cfg))
            .mmap(true)
            .mmap2(true)
            .comm(true)
            .comm_exec(true)
            .task(true)
            .sample_id_all(true)
            .clockid(Clock::MONOTONIC)
            .exclude_kernel(!cfg.kernel);
        b.build()
    }

    /// Opens the switch event at `at` into this recorder's ring buffers. A thread that exited
    /// meanwhile gives ESRCH, as `session::open` does.
    pub fn open(&mut self, cfg: &EventConfig, at: Placement) -> io::Result<()> {
        let stack = cfg.stack_bytes.map(|b| b.min(STACK_BYTES));
        let mut b = Builder::new(Tracepoint::with_id(self.parser.format.id));
        place(&mut b, at);
        let mut flags = SampleFlag::IP
            | SampleFlag::TID
            | SampleFlag::TIME
            | SampleFlag::CPU
            | SampleFlag::CALLCHAIN
            | SampleFlag::PERIOD
            | SampleFlag::RAW;
        if stack.is_some() {
            flags |= SampleFlag::REGS_USER | SampleFlag::STACK_USER;
        }
        b.sample_period(1)
            .sample(flags)
            .context_switch(true)
            .sample_id_all(true)
            .clockid(Clock::MONOTONIC)
            // A tracepoint fires in the kernel: excluding it would count nothing.
            .exclude_kernel(false)
            .exclude_callchain_kernel(!cfg.kernel);
        if let Some(bytes) = stack {
            use perf_event_open_sys::bindings::{
                PERF_REG_X86_BP, PERF_REG_X86_IP, PERF_REG_X86_SP,
            };
            b.sample_regs_user(
                (1u64 << PERF_REG_X86_BP) | (1u64 << PERF_REG_X86_SP) | (1u64 << PERF_REG_X86_IP),
            )
            .sample_stack_user(bytes);
            if !cfg.user_callchain {
                b.exclude_callchain_user(true);
            }
        }
        let counter = b.build()?;
        if self.parser.opts.mode == Mode::OffCpu {
            // Preemptions are no waits in this mode: filtering them in the kernel spares a
            // sample (stack and all) per preemption of a CPU-bound thread. Older kernels
            // without `&` in filters simply get every switch, sorted out in the drain.
            set_filter(&counter, "prev_state & 255");
        }
        let bytes = if stack.is_some() {
            DWARF_BUFFER_BYTES
        } else {
            BUFFER_BYTES
        };
        self.rings
            .add(counter, at.cpu, super::unprivileged_buffer_cap(bytes))
    }

    /// The ring buffers' fds, for the drain loop's poll.
    pub fn fds(&self) -> Vec<RawFd> {
        self.rings.fds()
    }

    /// Enables every switch event (attach modes).
    pub fn enable_all(&mut self) -> io::Result<()> {
        self.rings.enable_all()
    }

    /// Disables them before the final drain.
    pub fn disable_all(&mut self) {
        self.rings.disable_all()
    }

    /// Moves the switch samples and records out of the ring buffers on this thread; stacks
    /// are unwound now (with `live` in the DWARF modes).
    pub fn drain(&mut self, out: &mut Collected, live: Option<&mut LiveUnwinder>) {
        self.rings.drain(&mut self.parser, out, live)
    }
}

impl Parser for SwitchParser {
    /// Switch records leave nothing in the drain's output (`_out`): switch-outs and switch-ins
    /// wait here for the [`Pairing`] to take them.
    fn parse(&mut self, rec: &Record<'_>, _out: &mut Collected, live: Option<&mut LiveUnwinder>) {
        let ty = rec.ty();
        let misc = rec.misc();
        let bytes = rec.to_contiguous();
        match ty {
            PERF_RECORD_SAMPLE => {
                let Some(smp) = parse_sample(&bytes, live.is_some()) else {
                    self.stats.unparsed += 1;
                    return;
                };
                self.take_sample(&smp, live);
            }
            PERF_RECORD_SWITCH | PERF_RECORD_SWITCH_CPU_WIDE => {
                if misc & PERF_RECORD_MISC_SWITCH_OUT != 0 {
                    // The tracepoint sample tells the switch-out, with its stack. A preempted
                    // thread has no sample in --off-cpu mode (filtered out): its record keeps
                    // the switch-in that follows from counting as unexplained.
                    if self.opts.mode == Mode::OffCpu
                        && misc & PERF_RECORD_MISC_SWITCH_OUT_PREEMPT != 0
                    {
                        if let Some((pid, tid, time)) = trailer(&bytes) {
                            if tid != 0 && pid != self.self_pid {
                                self.outs.push(Out {
                                    time,
                                    cpu: 0,
                                    pid,
                                    tid,
                                    chain: 0,
                                    fallback: None,
                                    reason: QUEUED,
                                });
                            }
                        }
                    }
                    return;
                }
                let Some((pid, tid, time)) = trailer(&bytes) else {
                    self.stats.unparsed += 1;
                    return;
                };
                if tid == 0 || pid == self.self_pid {
                    return;
                }
                self.stats.switch_ins += 1;
                self.ins.push((tid, time));
            }
            PERF_RECORD_LOST => {
                self.stats.lost += word(&bytes, 8).unwrap_or(0);
            }
            PERF_RECORD_LOST_SAMPLES => {
                self.stats.lost += word(&bytes, 0).unwrap_or(0);
            }
            _ => {}
        }
    }
}

impl SwitchParser {
    /// An empty parser with the same options and tracepoint layout, for another drain thread.
    pub fn fresh(&self) -> SwitchParser {
        SwitchParser {
            opts: self.opts,
            format: self.format,
            outs: Vec::new(),
            ins: Vec::new(),
            self_pid: self.self_pid,
            stats: OffCpuStats::default(),
            chains: Collected::default(),
        }
    }

    fn take_sample(&mut self, s: &SwitchSample<'_>, live: Option<&mut LiveUnwinder>) {
        let out = &mut self.chains;
        let raw = s.raw;
        // Another tracepoint's data in our buffer would be a bug; never guess at it.
        let common_type = raw.get(0..2).map(|b| u16::from_ne_bytes([b[0], b[1]]));
        if common_type != Some(self.format.id as u16) {
            self.stats.unparsed += 1;
            return;
        }
        let (off, size) = self.format.prev_state;
        let Some(state) = raw.get(off..off + size).map(|b| {
            if size == 8 {
                i64::from_ne_bytes(b.try_into().unwrap_or([0; 8]))
            } else {
                i64::from(i32::from_ne_bytes(b.try_into().unwrap_or([0; 4])))
            }
        }) else {
            self.stats.unparsed += 1;
            return;
        };
        // The idle task is not a thread that waits; rprof's own switches (it wakes to drain)
        // would only show the profiler.
        if s.tid == 0 || s.pid == self.self_pid {
            return;
        }
        let reason = state_letter(state);
        if reason == b'R' && self.opts.mode == Mode::OffCpu {
            return;
        }
        let (chain, fallback) = match live {
            Some(live) => {
                let chains = live.unwind_sample(s.pid, &s.regs, s.stack, &s.callchain);
                let fallback = chains.fallback.map(|c| out.intern_chain(c));
                (out.intern_chain(chains.primary), fallback)
            }
            None => (out.intern_chain(&s.callchain), None),
        };
        self.stats.switch_outs += 1;
        self.outs.push(Out {
            time: s.time,
            cpu: u16::try_from(s.cpu).unwrap_or(u16::MAX),
            pid: s.pid,
            tid: s.tid,
            chain,
            fallback,
            reason,
        });
    }
}

/// How long after a switch event's time the pairing waits before it takes the event as
/// final: the rings are drained in turn, so a thread's switch-in on one CPU can be read before
/// its switch-out on another; every record older than the start of a round minus this is in
/// its buffer by then (the kernel writes each as its event happens).
pub const HORIZON_NS: u64 = 50_000_000;

/// Exiting threads' last switch-outs (state X or Z, never followed by a switch-in) are
/// forgotten this long after the horizon passed them, as the end of the recording would.
const EXITED_NS: u64 = 1_000_000_000;

/// Pairs switch-outs with switch-ins while the recording runs: after each round of the drain
/// loop it takes the drain threads' switch events ([`Pairing::take_from`]) and pairs, per
/// thread in time order, every event older than the horizon ([`Pairing::advance`]); each
/// wait becomes an off-CPU sample merged into the recording's entries. What it holds is one
/// switch-out per blocked thread and the events of the last horizon.
pub struct Pairing {
    min_block_ns: u64,
    /// Switch-outs and switch-ins drained but newer than the horizon.
    outs: Vec<Out>,
    ins: Vec<(u32, u64)>,
    /// Per thread, its switch-out waiting for the switch-in.
    pending: HashMap<u32, Out>,
    /// The callchains of the switch-outs held.
    chains: Collected,
    stats: OffCpuStats,
}

impl Pairing {
    /// An empty pairing with the options of `parser`.
    pub fn new(parser: &SwitchParser) -> Self {
        Pairing {
            min_block_ns: parser.opts.min_block_ns,
            outs: Vec::new(),
            ins: Vec::new(),
            pending: HashMap::new(),
            chains: Collected::default(),
            stats: OffCpuStats::default(),
        }
    }

    /// Takes what a drain thread's parser collected since the last call (its events, stack
    /// store and counts), leaving it empty.
    pub fn take_from(&mut self, p: &mut SwitchParser) {
        let chains = std::mem::take(&mut p.chains);
        let ids: Vec<u32> = chains
            .chains
            .iter()
            .map(|c| self.chains.intern_chain(c))
            .collect();
        let map = |c: u32| ids.get(c as usize).copied().unwrap_or(c);
        self.outs.extend(p.outs.drain(..).map(|o| Out {
            chain: map(o.chain),
            fallback: o.fallback.map(map),
            ..o
        }));
        self.ins.append(&mut p.ins);
        let (a, b) = (&mut self.stats, std::mem::take(&mut p.stats));
        a.switch_outs += b.switch_outs;
        a.switch_ins += b.switch_ins;
        a.lost += b.lost;
        a.unparsed += b.unparsed;
        let held = (self.outs.len() + self.ins.len() + self.pending.len()) as u64;
        self.stats.max_held = self.stats.max_held.max(held);
    }

    /// Pairs every event at or before `horizon` (CLOCK_MONOTONIC ns), per thread in time
    /// order, and adds the waits to `out` as off-CPU samples; later events wait for the next
    /// call.
    pub fn advance(&mut self, horizon: u64, out: &mut Collected) {
        let (mut outs, mut ins): (Vec<Out>, Vec<(u32, u64)>) = if horizon == u64::MAX {
            (
                std::mem::take(&mut self.outs),
                std::mem::take(&mut self.ins),
            )
        } else {
            let (ready, later) = std::mem::take(&mut self.outs)
                .into_iter()
                .partition(|o| o.time <= horizon);
            self.outs = later;
            let (ready_in, later_in) = std::mem::take(&mut self.ins)
                .into_iter()
                .partition(|i| i.1 <= horizon);
            self.ins = later_in;
            (ready, ready_in)
        };
        outs.sort_by_key(|o| (o.tid, o.time));
        ins.sort_unstable();
        let (mut i, mut j) = (0usize, 0usize);
        loop {
            let next_out = outs.get(i).map(|o| (o.tid, o.time));
            let next_in = ins.get(j).copied();
            // A switch-in at the same instant as a switch-out ends the earlier wait.
            let take_in = match (next_out, next_in) {
                (None, None) => break,
                (Some(_), None) => false,
                (None, Some(_)) => true,
                (Some(o), Some(n)) => n <= o,
            };
            if take_in {
                let (tid, t_in) = ins[j];
                j += 1;
                match self.pending.get(&tid) {
                    Some(o) if o.time <= t_in => {
                        let o = *o;
                        self.pending.remove(&tid);
                        self.close(o, t_in - o.time, out);
                    }
                    // A new thread's first run, or a wait that began before the recording (or
                    // a switch-in read after the horizon passed it: not attributed either).
                    _ => self.stats.no_switch_out += 1,
                }
            } else {
                let o = outs[i];
                i += 1;
                match self.pending.get_mut(&o.tid) {
                    // Switched out again with no switch-in between: that switch-in was lost,
                    // so the earlier wait's length is unknown.
                    Some(p) => {
                        self.stats.unmatched += 1;
                        if p.time <= o.time {
                            *p = o;
                        }
                    }
                    None => {
                        self.pending.insert(o.tid, o);
                    }
                }
            }
        }
        // An exiting thread never runs again: its last switch-out is dropped, as at the end.
        let cutoff = horizon.saturating_sub(EXITED_NS);
        self.pending
            .retain(|_, p| !(matches!(p.reason, b'X' | b'Z') && p.time < cutoff));
        self.compact();
    }

    /// Pairs everything left and closes the waits still open at `end` (CLOCK_MONOTONIC ns),
    /// weighted up to it unless the thread was exiting.
    pub fn finish(mut self, out: &mut Collected, end: u64) -> OffCpuStats {
        self.advance(u64::MAX, out);
        let mut open: Vec<Out> = self.pending.drain().map(|(_, o)| o).collect();
        open.sort_by_key(|o| (o.tid, o.time));
        for p in open {
            if !matches!(p.reason, b'X' | b'Z' | QUEUED) && end > p.time {
                self.stats.open_at_end += 1;
                self.close(p, end - p.time, out);
            }
        }
        self.stats
    }

    /// One wait of `weight` ns from switch-out `o`, into `out`.
    fn close(&mut self, mut o: Out, weight: u64, out: &mut Collected) {
        if o.reason == QUEUED {
            self.stats.runqueue_left_out += 1;
            return;
        }
        if weight == 0 {
            return;
        }
        if weight < self.min_block_ns {
            o.reason = SHORT;
            self.stats.folded += 1;
        }
        self.stats.intervals += 1;
        let (chain, fallback) = if o.reason == SHORT {
            (out.intern_chain(&[]), None)
        } else {
            let get = |c: u32| {
                self.chains
                    .chains
                    .get(c as usize)
                    .map_or(&[][..], |b| &b[..])
            };
            let chain = out.intern_chain(get(o.chain));
            (chain, o.fallback.map(|f| out.intern_chain(get(f))))
        };
        out.push_sample(
            o.time,
            SampleEntry {
                pid: o.pid,
                tid: o.tid,
                chain,
                fallback,
                period: weight,
                count: 1,
                cpu: o.cpu,
                event: 0,
                reason: o.reason,
            },
        );
    }

    /// Drops the stored stacks no held switch-out refers to any more, once they are most of
    /// the store: what stays is bounded by the switch-outs held.
    fn compact(&mut self) {
        let live = self.pending.len() + self.outs.len();
        if self.chains.chains.len() < 4096 || self.chains.chains.len() < 4 * live {
            return;
        }
        let old = std::mem::take(&mut self.chains);
        let mut keep = |c: u32| {
            old.chains
                .get(c as usize)
                .map_or(c, |b| self.chains.intern_chain(b))
        };
        for o in self.pending.values_mut().chain(self.outs.iter_mut()) {
            o.chain = keep(o.chain);
            o.fallback = o.fallback.map(&mut keep);
        }
    }
}

fn place(b: &mut Builder<'_>, at: Placement) {
    if at.pid < 0 {
        b.any_pid();
    } else {
        b.observe_pid(at.pid);
    }
    b.one_cpu(at.cpu)
        .inherit(at.inherit)
        .enable_on_exec(at.enable_on_exec);
}

/// Sets a tracepoint filter; a kernel that refuses it just filters nothing.
fn set_filter(c: &Counter, filter: &str) {
    let Ok(f) = std::ffi::CString::new(filter) else {
        return;
    };
    // SAFETY: a perf event fd we opened and a NUL-terminated string the kernel only reads.
    let _ = unsafe { perf_event_open_sys::ioctls::SET_FILTER(c.as_raw_fd(), f.as_ptr() as *mut _) };
}

fn word(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at.checked_add(8)?)?;
    Some(u64::from_ne_bytes(s.try_into().ok()?))
}

/// (pid, tid, time) from the `sample_id_all` trailer, which with TID|TIME|CPU is the last 24
/// bytes of every non-sample record.
fn trailer(b: &[u8]) -> Option<(u32, u32, u64)> {
    let at = b.len().checked_sub(24)?;
    let pid = u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?);
    let tid = u32::from_ne_bytes(b.get(at + 4..at + 8)?.try_into().ok()?);
    Some((pid, tid, word(b, at + 8)?))
}

/// One switch sample's fields.
#[derive(Debug)]
struct SwitchSample<'a> {
    pid: u32,
    tid: u32,
    time: u64,
    cpu: u32,
    callchain: Vec<u64>,
    raw: &'a [u8],
    regs: Vec<u64>,
    stack: &'a [u8],
}

/// Parses a sample body (header excluded) in the layout [`Switches::open`] asks for: IP, TID,
/// TIME, CPU, PERIOD, CALLCHAIN, RAW and, with `regs_and_stack`, REGS_USER (ABI word, then BP, SP,
/// IP when it is not 0) and STACK_USER (size, data, dyn_size when size is not 0). None for a
/// body too short for its own counts.
fn parse_sample(b: &[u8], regs_and_stack: bool) -> Option<SwitchSample<'_>> {
    let ip = word(b, 0)?;
    let pid = u32::from_ne_bytes(b.get(8..12)?.try_into().ok()?);
    let tid = u32::from_ne_bytes(b.get(12..16)?.try_into().ok()?);
    let time = word(b, 16)?;
    // CPU (u32 and a reserved u32), then PERIOD, then the callchain's length.
    let cpu = u32::from_ne_bytes(b.get(24..28)?.try_into().ok()?);
    let nr = usize::try_from(word(b, 40)?).ok()?;
    let mut at = 48usize;
    if nr > b.len() / 8 {
        return None;
    }
    let mut callchain = Vec::with_capacity(nr);
    for _ in 0..nr {
        callchain.push(word(b, at)?);
        at += 8;
    }
    if callchain.is_empty() {
        callchain.push(ip);
    }
    let raw_size = u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?) as usize;
    let raw = b.get(at + 4..(at + 4).checked_add(raw_size)?)?;
    at += 4 + raw_size;
    let mut regs = Vec::new();
    let mut stack: &[u8] = &[];
    if regs_and_stack {
        let abi = word(b, at)?;
        at += 8;
        if abi != 0 {
            for _ in 0..3 {
                regs.push(word(b, at)?);
                at += 8;
            }
        }
        let size = usize::try_from(word(b, at)?).ok()?;
        at += 8;
        if size != 0 {
            let data = b.get(at..at.checked_add(size)?)?;
            let dyn_size = usize::try_from(word(b, at + size)?).ok()?;
            stack = &data[..dyn_size.min(size)];
        }
    }
    Some(SwitchSample {
        pid,
        tid,
        time,
        cpu,
        callchain,
        raw,
        regs,
        stack,
    })
}

/// On- and off-CPU time of one thread, from a profile's samples.
#[derive(Clone, Debug, Default)]
pub struct ThreadTotals {
    /// `name-tid`.
    pub label: String,
    /// Weight of samples without an off-CPU leaf (ns for cpu-clock).
    pub on_cpu: u64,
    /// Weight of off-CPU samples, ns.
    pub off_cpu: u64,
    /// Off-CPU ns per state letter, in first-seen order.
    pub by_state: Vec<(String, u64)>,
}

/// Per-thread on- and off-CPU totals, largest total first. Off-CPU samples are those whose
/// leaf frame is an `[off-cpu: …]` marker, so this works on a loaded profile as well.
pub fn thread_totals(p: &Profile) -> Vec<ThreadTotals> {
    let mut per: HashMap<u32, ThreadTotals> = HashMap::new();
    for s in &p.samples {
        let t = per.entry(s.thread.0).or_insert_with(|| ThreadTotals {
            label: p.thread_label(s.thread),
            ..Default::default()
        });
        let leaf = p.stack_frames(s.stack).next().map(|f| p.function_name(f));
        match leaf.and_then(|l| l.strip_prefix(LEAF_PREFIX)) {
            Some(state) => {
                let state = state.trim_end_matches(']');
                t.off_cpu += s.weight;
                match t.by_state.iter_mut().find(|(k, _)| k == state) {
                    Some((_, w)) => *w += s.weight,
                    None => t.by_state.push((state.to_string(), s.weight)),
                }
            }
            None => t.on_cpu += s.weight,
        }
    }
    let mut v: Vec<ThreadTotals> = per.into_values().collect();
    v.sort_by(|a, b| {
        (b.on_cpu + b.off_cpu)
            .cmp(&(a.on_cpu + a.off_cpu))
            .then_with(|| a.label.cmp(&b.label))
    });
    v
}

/// Parses a `--min-block` duration: a number with a unit (`ns`, `us`, `ms`, `s`), or 0.
pub fn parse_duration_ns(s: &str) -> Result<u64> {
    let t = s.trim();
    let (num, scale) = if let Some(n) = t.strip_suffix("ns") {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix("us").or_else(|| t.strip_suffix("µs")) {
        (n, 1e3)
    } else if let Some(n) = t.strip_suffix("ms") {
        (n, 1e6)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1e9)
    } else if t == "0" {
        return Ok(0);
    } else {
        bail!("--min-block {s}: give a unit, e.g. 500us, 1ms or 0.5s");
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| anyhow!("--min-block {s}: expected a duration such as 500us, 1ms or 0.5s"))?;
    if !(v >= 0.0 && v.is_finite()) || v * scale > 3.6e12 {
        bail!("--min-block {s}: must be between 0 and 1 hour");
    }
    Ok((v * scale) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::session::RawEvent;

    const FORMAT: &str = "name: sched_switch\nID: 372\nformat:\n\
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\
\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;\n\
\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;\n\
\tfield:long prev_state;\toffset:32;\tsize:8;\tsigned:1;\n\
\tfield:char next_comm[16];\toffset:40;\tsize:16;\tsigned:0;\n";

    #[test]
    fn finds_fields_in_a_format_file() {
        assert_eq!(field_in_format(FORMAT, "prev_state"), Some((32, 8)));
        assert_eq!(field_in_format(FORMAT, "prev_pid"), Some((24, 4)));
        assert_eq!(field_in_format(FORMAT, "state"), None);
        assert_eq!(
            field_in_format("garbage\nfield:long x;offset:z;", "x"),
            None
        );
    }

    #[test]
    fn state_letters_follow_the_kernel() {
        assert_eq!(state_letter(0), b'R');
        assert_eq!(state_letter(0x100), b'R');
        assert_eq!(state_letter(1), b'S');
        assert_eq!(state_letter(2), b'D');
        assert_eq!(state_letter(0x20), b'Z');
        assert_eq!(state_letter(0x80), b'I');
        assert_eq!(leaf_name(b'D'), "[off-cpu: D]");
        assert_eq!(leaf_name(SHORT), "[off-cpu: short waits]");
    }

    fn out(tid: u32, time: u64, reason: u8) -> Out {
        Out {
            time,
            cpu: 0,
            pid: 1,
            tid,
            chain: 0,
            fallback: None,
            reason,
        }
    }

    fn pairing(min_block_ns: u64) -> Pairing {
        Pairing {
            min_block_ns,
            outs: Vec::new(),
            ins: Vec::new(),
            pending: HashMap::new(),
            chains: Collected::default(),
            stats: OffCpuStats::default(),
        }
    }

    /// The off-CPU entries of `c`: (tid, time, weight, reason, count), by thread and time.
    fn waits(c: &Collected) -> Vec<(u32, u64, u64, u8, u32)> {
        let mut v: Vec<_> = c
            .events
            .iter()
            .filter_map(|e| match e.ev {
                RawEvent::OffCpu {
                    tid,
                    blocked,
                    reason,
                    count,
                    ..
                } => Some((tid, e.time, blocked, reason, count)),
                _ => None,
            })
            .collect();
        v.sort_unstable();
        v
    }

    fn example() -> (Vec<Out>, Vec<(u32, u64)>) {
        let outs = vec![
            out(7, 100, b'S'),
            out(7, 1_000, b'D'),
            out(8, 50, b'S'),
            // Its switch-in was lost: the next event of thread 8 is this switch-out.
            out(8, 400, b'S'),
            out(8, 600, b'S'),
            // Still blocked at the end.
            out(9, 900, b'S'),
            // Exiting: never runs again.
            out(10, 950, b'X'),
        ];
        // Thread 8's first switch-in (at 20) precedes any switch-out: a new thread.
        let ins = vec![(7, 300), (7, 1_005), (8, 20), (8, 700), (9, 10)];
        (outs, ins)
    }

    #[test]
    fn a_preempted_threads_switch_in_pairs_with_its_record_and_is_left_out() {
        let mut p = pairing(0);
        p.outs = vec![
            out(7, 100, QUEUED),
            out(7, 200, b'S'),
            // Preempted when the recording stopped: no wait still blocked.
            out(7, 400, QUEUED),
        ];
        p.ins = vec![(7, 150), (7, 300)];
        let mut c = Collected::default();
        let st = p.finish(&mut c, 1_000);
        assert_eq!(waits(&c), vec![(7, 200, 100, b'S', 1)]);
        assert_eq!(st.runqueue_left_out, 1);
        assert_eq!(st.no_switch_out, 0);
        assert_eq!(st.open_at_end, 0);
        assert_eq!(st.intervals, 1);
    }

    #[test]
    fn pairs_each_switch_out_with_the_next_switch_in() {
        let (outs, ins) = example();
        let mut p = pairing(100);
        p.outs = outs;
        p.ins = ins;
        let mut c = Collected::default();
        let st = p.finish(&mut c, 2_000);
        assert_eq!(
            waits(&c),
            vec![
                (7, 100, 200, b'S', 1),
                // 5 ns < --min-block 100 ns: folded.
                (7, 1_000, 5, SHORT, 1),
                (8, 600, 100, b'S', 1),
                (9, 900, 1_100, b'S', 1),
            ]
        );
        assert_eq!(st.unmatched, 2);
        assert_eq!(st.open_at_end, 1);
        assert_eq!(st.folded, 1);
        assert_eq!(st.intervals, 4);
        assert_eq!(st.no_switch_out, 2);
    }

    #[test]
    fn pairing_round_by_round_gives_what_pairing_at_the_end_gives() {
        let (outs, ins) = example();
        // The events arrive over rounds, each round's switch-ins in reverse order, and each
        // round pairs only up to the previous round's end (its horizon trails what it read).
        let mut p = pairing(100);
        let mut c = Collected::default();
        let rounds: [(u64, u64); 4] = [(0, 150), (150, 500), (500, 960), (960, u64::MAX)];
        for (k, (lo, hi)) in rounds.iter().enumerate() {
            p.outs
                .extend(outs.iter().filter(|o| o.time >= *lo && o.time < *hi));
            p.ins
                .extend(ins.iter().filter(|i| i.1 >= *lo && i.1 < *hi).rev());
            if k + 1 < rounds.len() {
                p.advance(*lo, &mut c);
            }
        }
        let st = p.finish(&mut c, 2_000);
        let mut all = pairing(100);
        all.outs = outs;
        all.ins = ins;
        let mut c_all = Collected::default();
        let st_all = all.finish(&mut c_all, 2_000);
        assert_eq!(waits(&c), waits(&c_all));
        assert_eq!(
            (
                st.intervals,
                st.unmatched,
                st.open_at_end,
                st.folded,
                st.no_switch_out
            ),
            (
                st_all.intervals,
                st_all.unmatched,
                st_all.open_at_end,
                st_all.folded,
                st_all.no_switch_out
            )
        );
    }

    #[test]
    fn waits_merge_and_what_is_held_stays_bounded() {
        // 4 threads sleeping 100 us at a time for 10 simulated seconds, drained in rounds of
        // 100 ms: 400,000 waits.
        let mut p = pairing(0);
        let mut c = Collected::default();
        let mut parser_outs = Vec::new();
        let mut parser_ins = Vec::new();
        let mut max_held = 0;
        let step = 200_000u64;
        let round = 100_000_000u64;
        let end = 10_000_000_000u64;
        let mut t = 0;
        let mut next_round = round;
        while t < end {
            for tid in 1..=4u32 {
                parser_outs.push(out(tid, t + u64::from(tid), b'S'));
                parser_ins.push((tid, t + u64::from(tid) + step / 2));
            }
            t += step;
            if t >= next_round {
                p.outs.append(&mut parser_outs);
                p.ins.append(&mut parser_ins);
                max_held = max_held.max(p.outs.len() + p.ins.len() + p.pending.len());
                p.advance(t.saturating_sub(HORIZON_NS), &mut c);
                next_round += round;
            }
        }
        p.outs.append(&mut parser_outs);
        p.ins.append(&mut parser_ins);
        let st = p.finish(&mut c, end);
        assert_eq!(st.intervals, 4 * end / step);
        let w = waits(&c);
        let total: u64 = w.iter().map(|x| u64::from(x.4)).sum();
        assert_eq!(total, 4 * end / step);
        assert_eq!(
            w.iter().map(|x| x.2).sum::<u64>(),
            4 * (end / step) * (step / 2)
        );
        // Merged: at most MAX_BUCKETS entries per thread.
        assert!(
            c.entries() <= 4 * crate::record::session::MAX_BUCKETS as usize,
            "{}",
            c.entries()
        );
        // Held: the last 150 ms of events at most, not the 10 s.
        assert!(max_held < 4 * 2 * 800, "{max_held}");
    }

    fn words(ws: &[u64]) -> Vec<u8> {
        ws.iter().flat_map(|w| w.to_ne_bytes()).collect()
    }

    #[test]
    fn parses_a_switch_sample_with_raw_data_and_stack() {
        let mut raw = vec![0u8; 68];
        raw[0..2].copy_from_slice(&372u16.to_ne_bytes());
        raw[32..40].copy_from_slice(&2i64.to_ne_bytes());
        let mut b = words(&[
            0x1000,
            7 | (9 << 32),
            555,
            1,
            1,
            2,
            0xffff_ffff_8100_0000,
            0x1000,
        ]);
        b.extend((raw.len() as u32).to_ne_bytes());
        b.extend(&raw);
        b.extend(words(&[2, 11, 22, 33, 16]));
        b.extend([5u8; 16]);
        b.extend(words(&[8]));
        let s = parse_sample(&b, true).expect("parses");
        assert_eq!((s.pid, s.tid, s.time, s.cpu), (7, 9, 555, 1));
        assert_eq!(s.callchain, vec![0xffff_ffff_8100_0000, 0x1000]);
        assert_eq!(s.raw.len(), 68);
        assert_eq!(s.regs, vec![11, 22, 33]);
        assert_eq!(s.stack, &[5u8; 8]);
        for cut in [0, 20, 40, 60, 100, b.len() - 1] {
            assert!(parse_sample(&b[..cut], true).is_none(), "{cut}");
        }
        let no_stack = &b[..b.len() - 8 * 6 - 16];
        assert!(parse_sample(no_stack, false).is_some());
    }

    #[test]
    fn reads_the_trailer() {
        let b = words(&[3 | (4 << 32), 99, 1]);
        assert_eq!(trailer(&b), Some((3, 4, 99)));
        assert_eq!(trailer(&b[..16]), None);
    }

    #[test]
    fn min_block_durations() {
        assert_eq!(parse_duration_ns("1ms").unwrap(), 1_000_000);
        assert_eq!(parse_duration_ns("250us").unwrap(), 250_000);
        assert_eq!(parse_duration_ns("0.5s").unwrap(), 500_000_000);
        assert_eq!(parse_duration_ns("0").unwrap(), 0);
        assert!(parse_duration_ns("5").is_err());
        assert!(parse_duration_ns("-1ms").is_err());
        assert!(parse_duration_ns("xms").is_err());
    }
}
