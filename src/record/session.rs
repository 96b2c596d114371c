//! perf_event_open sessions: which event, opened per CPU (inherited where threads and forks
//! must be followed), one ring buffer per CPU that the other events of that CPU redirect into
//! (`PERF_EVENT_IOC_SET_OUTPUT`, see [`super::rings`]), how their records are parsed into raw
//! events ([`SampleParser`]), and where the raw events collect ([`Collected`], which merges
//! identical samples so a recording's memory follows its distinct stacks, not its length).

use std::borrow::Cow;
use std::collections::HashMap;
use std::io;

use anyhow::anyhow;
use perf_event::{Clock, Counter, Record, SampleFlag};

use super::live_unwind::LiveUnwinder;
use super::maps::Mapping;
use super::rings::{Parser, RingSet};

/// The event a session samples (see [`super::events`] for every name `-e` takes).
pub use super::events::EventSpec as EventKind;

/// How events are opened.
#[derive(Clone, Debug)]
pub struct EventConfig {
    /// The event.
    pub kind: EventKind,
    /// Samples per second.
    pub frequency: u64,
    /// A fixed period (`-c`, or the event's own default such as 1 for tracepoints) instead of
    /// the frequency.
    pub period: Option<u64>,
    /// Take user call stacks from the CPU's last branch record (`--call-graph lbr`).
    pub lbr: bool,
    /// Sample kernel code too.
    pub kernel: bool,
    /// Ring buffer bytes per CPU.
    pub buffer_bytes: usize,
    /// Bytes of user stack (plus BP, SP, IP) copied per sample for DWARF unwinding.
    pub stack_bytes: Option<u32>,
    /// Whether the kernel walks the user frame-pointer chain too (fp and auto modes).
    pub user_callchain: bool,
}

/// Where one event is attached.
#[derive(Clone, Copy, Debug)]
pub struct Placement {
    /// Thread (or process) id; -1 for every process on the CPU.
    pub pid: i32,
    /// CPU number.
    pub cpu: usize,
    /// Follow threads and children created later.
    pub inherit: bool,
    /// Start counting when the thread calls exec (launched commands).
    pub enable_on_exec: bool,
}

/// What every sample carries: ID tells which of several events it belongs to, CPU where it
/// ran (`-C` and `report --sort cpu`). The kernel writes them in the order IP, TID, TIME, ID,
/// CPU, PERIOD, CALLCHAIN (see [`parse_sample_fallback`]).
const SAMPLE_FLAGS: SampleFlag = SampleFlag::IP
    .union(SampleFlag::TID)
    .union(SampleFlag::TIME)
    .union(SampleFlag::ID)
    .union(SampleFlag::CPU)
    .union(SampleFlag::CALLCHAIN)
    .union(SampleFlag::PERIOD);

/// The period every sample of `cfg` stands for when the samples do not carry one: a fixed
/// period above 1 (`-c`). The kernel samples a software event or tracepoint at *every* hit
/// when PERF_SAMPLE_PERIOD is asked for with a fixed period (it reports each hit's count as
/// the period), so perf leaves PERIOD out with -c, and so does rprof; the weight is then the
/// period asked for.
pub fn fixed_period(cfg: &EventConfig) -> Option<u64> {
    cfg.period.filter(|&p| p > 1)
}

pub(crate) fn sample_flags(cfg: &EventConfig) -> SampleFlag {
    if fixed_period(cfg).is_some() {
        SAMPLE_FLAGS.difference(SampleFlag::PERIOD)
    } else {
        SAMPLE_FLAGS
    }
}

/// Opens one event.
pub fn open(cfg: &EventConfig, at: Placement) -> io::Result<Counter> {
    let mut b = cfg.kind.builder();
    if at.pid < 0 {
        b.any_pid();
    } else {
        b.observe_pid(at.pid);
    }
    b.one_cpu(at.cpu);
    match cfg.period {
        Some(p) => b.sample_period(p),
        None => b.sample_frequency(cfg.frequency),
    };
    let flags = sample_flags(cfg);
    b.sample(flags)
        .mmap(true)
        .mmap2(true)
        .comm(true)
        .comm_exec(true)
        .task(true)
        .sample_id_all(true)
        .clockid(Clock::MONOTONIC)
        .inherit(at.inherit)
        .enable_on_exec(at.enable_on_exec)
        // An event that only fires in the kernel (a context switch, a tracepoint) would count
        // nothing with kernel mode excluded: only its kernel frames are left out then.
        .exclude_kernel(!cfg.kernel && !cfg.kind.fires_in_kernel())
        // Kernel frames inside a user sample are wanted only when kernel code is sampled.
        .exclude_callchain_kernel(!cfg.kernel);
    if cfg.lbr {
        use perf_event::SampleBranchFlag;
        // The LBR call stack records user calls only; the kernel part still comes from the
        // kernel's own callchain.
        b.sample(flags | SampleFlag::BRANCH_STACK)
            .branch_sample_type(SampleBranchFlag::USER | SampleBranchFlag::CALL_STACK)
            .exclude_callchain_user(true);
    }
    if let Some(bytes) = cfg.stack_bytes {
        use perf_event_open_sys::bindings::{PERF_REG_X86_BP, PERF_REG_X86_IP, PERF_REG_X86_SP};
        b.sample(flags | SampleFlag::REGS_USER | SampleFlag::STACK_USER)
            .sample_regs_user(
                (1u64 << PERF_REG_X86_BP) | (1u64 << PERF_REG_X86_SP) | (1u64 << PERF_REG_X86_IP),
            )
            .sample_stack_user(bytes)
            // Wake the drain loop at a quarter full (the kernel's default is half): the rest
            // absorbs the drain thread's scheduling delay (see buffers.rs).
            .wakeup_watermark(super::buffers::wakeup_bytes(cfg.buffer_bytes));
    }
    // DWARF mode needs only the kernel part of the callchain; skipping the user frame-pointer
    // walk saves kernel time and ring-buffer bytes. With no kernel part at all the chain is
    // kept, as the kernel may refuse a callchain that excludes both.
    if !cfg.user_callchain && cfg.kernel {
        b.exclude_callchain_user(true);
    }
    b.build()
}

/// Explains an open failure with the fix.
pub fn explain_open_error(e: &io::Error, what: &str, pid: Option<i32>) -> anyhow::Error {
    match e.raw_os_error() {
        Some(libc::ESRCH) => match pid {
            Some(p) if p >= 0 => anyhow!("no such process: {p}"),
            _ => anyhow!("no such process"),
        },
        Some(libc::EACCES) | Some(libc::EPERM) => {
            if let Some(p) = pid.filter(|p| *p > 0) {
                if let Some(owner) = owner_of(p as u32) {
                    // SAFETY: geteuid has no preconditions.
                    let me = unsafe { libc::geteuid() };
                    if me != 0 && owner != me {
                        return anyhow!(
                            "permission denied: process {p} belongs to another user (uid {owner}); profile your own processes, or run as root (or with CAP_PERFMON and CAP_SYS_PTRACE)"
                        );
                    }
                }
            }
            let paranoid = std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| "unknown".into());
            anyhow!(
                "permission denied opening {what} (perf_event_paranoid is {paranoid}).\n  \
                 To allow profiling your own processes run: sudo sysctl kernel.perf_event_paranoid=1\n  \
                 or give rprof CAP_PERFMON: sudo setcap cap_perfmon,cap_sys_ptrace+ep $(command -v rprof)\n  \
                 (-a and kernel frames need perf_event_paranoid <= 0 or CAP_PERFMON; --no-kernel avoids the latter)"
            )
        }
        Some(libc::EMFILE) | Some(libc::ENFILE) => anyhow!(
            "too many open files while opening {what} (one event per thread per CPU): raise the limit with `ulimit -n 65536`"
        ),
        _ => anyhow!("cannot open {what}: {e}"),
    }
}

/// The real uid owning a process.
fn owner_of(pid: u32) -> Option<u32> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// Number of CPUs events are opened on (all possible CPUs that are online).
pub fn online_cpus() -> Vec<usize> {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/online").unwrap_or_default();
    let mut cpus = Vec::new();
    for part in text.trim().split(',').filter(|s| !s.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<usize>(), b.parse::<usize>()) {
                    cpus.extend(a..=b);
                }
            }
            None => {
                if let Ok(a) = part.parse() {
                    cpus.push(a);
                }
            }
        }
    }
    if cpus.is_empty() {
        let n = std::thread::available_parallelism().map_or(1, |n| n.get());
        cpus.extend(0..n);
    }
    cpus
}

/// One raw event out of a ring buffer.
#[derive(Clone, Debug)]
pub enum RawEvent {
    /// A sample; `chain` indexes the interned callchains.
    Sample {
        /// Process.
        pid: u32,
        /// Thread.
        tid: u32,
        /// Interned callchain.
        chain: u32,
        /// Interned frame-pointer callchain offered as a fallback (`--call-graph auto`).
        fallback: Option<u32>,
        /// The samples' summed period: the events they stand for (ns of cpu-clock, faults,
        /// cycles), which becomes their weight.
        period: u64,
        /// How many samples this entry stands for: identical samples (same thread, stack,
        /// CPU and event, close in time) are merged while recording (see
        /// [`Collected::push_sample`]), so memory follows the distinct stacks, not the
        /// duration.
        count: u32,
        /// The CPU it ran on.
        cpu: u16,
        /// Which of the recorded events (index into the recording's list).
        event: u8,
    },
    /// An executable mapping (boxed, like the name below: every sample is stored as this
    /// enum until the end, so its size is the rare variants' cost paid per sample).
    Mmap {
        /// Process.
        pid: u32,
        /// The mapping.
        map: Box<Mapping>,
    },
    /// A thread name change; `exec` when it came from exec (the address space is new).
    Comm {
        /// Process.
        pid: u32,
        /// Thread.
        tid: u32,
        /// New name.
        name: Box<str>,
        /// From exec.
        exec: bool,
    },
    /// Off-CPU time (`--off-cpu`, `--wall`): switches away from a thread, weighted by the time
    /// until it ran again (see `record::offcpu`); identical ones (same thread, stack, CPU and
    /// state, close in time) merged as samples are.
    OffCpu {
        /// Process.
        pid: u32,
        /// Thread.
        tid: u32,
        /// Interned callchain at the switch.
        chain: u32,
        /// Frame-pointer fallback chain (`--call-graph auto`).
        fallback: Option<u32>,
        /// Nanoseconds off the CPU, summed over the merged waits: the weight.
        blocked: u64,
        /// How many waits (off-CPU samples) this entry stands for.
        count: u32,
        /// The CPU it was switched out on. (No event index: off-CPU time joins the profile
        /// of the first event, the one `--wall` shows it with.)
        cpu: u16,
        /// The state letter (`S`, `D`, `R`, ...) or the folded-short-wait code.
        reason: u8,
    },
    /// A new thread or process.
    Fork {
        /// New process.
        pid: u32,
        /// Parent process.
        ppid: u32,
        /// New thread.
        tid: u32,
        /// Parent thread.
        ptid: u32,
    },
}

/// A raw event with its time (CLOCK_MONOTONIC ns) and arrival order.
#[derive(Clone, Debug)]
pub struct Timed {
    /// Kernel timestamp.
    pub time: u64,
    /// Arrival order, to keep equal timestamps stable.
    pub seq: u64,
    /// The event.
    pub ev: RawEvent,
}

/// Identical samples closer in time than the current bucket width are merged into one entry
/// (count and summed period); the width starts at [`FIRST_BUCKET_NS`] and doubles whenever the
/// recording would span more than [`MAX_BUCKETS`] buckets, so the entries a recording keeps
/// are at most `MAX_BUCKETS` times its distinct (thread, stack, CPU, event) keys, however long
/// it runs. A merged entry keeps the time of its earliest sample: `--time` ranges and sample
/// times in conversions are exact to one bucket (at most 1/[`MAX_BUCKETS`]-th of the
/// recording, 1 ms for the first 64 ms).
pub const MAX_BUCKETS: u64 = 64;
/// The first bucket width, ns.
pub const FIRST_BUCKET_NS: u64 = 1_000_000;

/// What makes two samples the same entry. `generation` changes whenever the process's
/// address space or names may have changed (a mapping, exec, rename or fork was drained), so
/// a sample never joins an entry that the profile builder would resolve against another
/// address space. `reason` is 0 for a CPU sample and the state code of an off-CPU one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct SampleKey {
    pid: u32,
    tid: u32,
    chain: u32,
    fallback: Option<u32>,
    cpu: u16,
    event: u8,
    reason: u8,
    generation: u32,
    bucket: u32,
}

/// Everything drained from the ring buffers.
#[derive(Debug)]
pub struct Collected {
    /// Events in arrival order (sorted by time before use); samples merged (see
    /// [`MAX_BUCKETS`]).
    pub events: Vec<Timed>,
    /// Interned callchains.
    pub chains: Vec<Box<[u64]>>,
    /// Every distinct chain once (FxHash: a DWARF recording interns one per sample).
    chain_index: rustc_hash::FxHashMap<Box<[u64]>, u32>,
    /// Samples seen.
    pub samples: u64,
    /// Samples the kernel dropped.
    pub lost: u64,
    /// Records rprof could not parse (counted, never guessed at).
    pub unparsed: u64,
    /// Merging: the entry (index into `events`) of each key in the current buckets. Every
    /// sample entry since the last [`Collected::take_interval`] is in it.
    merge: HashMap<SampleKey, usize>,
    /// Per process, bumped by every side-band event (see [`SampleKey`]), with the time of the
    /// latest: a sample older than that (drained late, or an off-CPU wait paired after it)
    /// is kept apart, as the entry it would join may belong to the new address space.
    generations: HashMap<u32, (u32, u64)>,
    /// Time of the first sample, the buckets' origin.
    origin: Option<u64>,
    /// Current bucket width, ns.
    bucket_ns: u64,
}

impl Default for Collected {
    fn default() -> Self {
        Collected {
            events: Vec::new(),
            chains: Vec::new(),
            chain_index: Default::default(),
            samples: 0,
            lost: 0,
            unparsed: 0,
            merge: HashMap::new(),
            generations: HashMap::new(),
            origin: None,
            bucket_ns: FIRST_BUCKET_NS,
        }
    }
}

/// One sample for [`Collected::push_sample`].
#[derive(Clone, Copy, Debug)]
pub struct SampleEntry {
    /// Process.
    pub pid: u32,
    /// Thread.
    pub tid: u32,
    /// Interned callchain.
    pub chain: u32,
    /// Interned fallback chain (`--call-graph auto`).
    pub fallback: Option<u32>,
    /// Summed period.
    pub period: u64,
    /// Samples it stands for.
    pub count: u32,
    /// CPU.
    pub cpu: u16,
    /// Event index.
    pub event: u8,
    /// 0 for a CPU sample; for off-CPU time (`period` is then ns blocked) the state code of
    /// the wait (see `record::offcpu`).
    pub reason: u8,
}

impl Collected {
    /// Moves this interval's samples out (for continuous mode), with the process events so far
    /// (mappings, names, forks: later intervals need them too, so they stay here as well). The
    /// interned callchains go with the samples: what stays behind is bounded by the target's
    /// process activity, not by how long the recording runs. `samples` and `lost` of the part
    /// count this interval only; `self` keeps the running totals.
    pub fn take_interval(&mut self, lost_before: u64, samples_before: u64) -> Collected {
        let mut part = Vec::with_capacity(self.events.len());
        let mut keep = Vec::new();
        for e in self.events.drain(..) {
            if matches!(e.ev, RawEvent::Sample { .. } | RawEvent::OffCpu { .. }) {
                part.push(e);
            } else {
                keep.push(e.clone());
                part.push(e);
            }
        }
        self.events = keep;
        // The entries left with the part: later samples start new ones.
        self.merge.clear();
        Collected {
            events: part,
            chains: std::mem::take(&mut self.chains),
            chain_index: std::mem::take(&mut self.chain_index),
            samples: self.samples.saturating_sub(samples_before),
            lost: self.lost.saturating_sub(lost_before),
            ..Collected::default()
        }
    }

    /// The id of callchain `c`, adding it when new.
    pub fn intern_chain(&mut self, c: &[u64]) -> u32 {
        if let Some(&i) = self.chain_index.get(c) {
            return i;
        }
        let i = self.chains.len() as u32;
        let b: Box<[u64]> = c.into();
        self.chains.push(b.clone());
        self.chain_index.insert(b, i);
        i
    }

    /// Appends an event at kernel time `time`, in arrival order. A process event (mapping,
    /// name, fork) ends the merging of that process's samples so far.
    pub fn push(&mut self, time: u64, ev: RawEvent) {
        match &ev {
            RawEvent::Mmap { pid, .. } | RawEvent::Comm { pid, .. } => self.bump(*pid, time),
            RawEvent::Fork { pid, ppid, .. } => {
                self.bump(*pid, time);
                self.bump(*ppid, time);
            }
            RawEvent::Sample { .. } | RawEvent::OffCpu { .. } => {}
        }
        let seq = self.events.len() as u64;
        self.events.push(Timed { time, seq, ev });
    }

    fn bump(&mut self, pid: u32, time: u64) {
        let g = self.generations.entry(pid).or_insert((0, 0));
        g.0 = g.0.wrapping_add(1);
        g.1 = g.1.max(time);
    }

    /// Number of sample entries kept, CPU and off-CPU (merged samples count once).
    pub fn entries(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e.ev, RawEvent::Sample { .. } | RawEvent::OffCpu { .. }))
            .count()
    }

    fn bucket_of(&self, time: u64) -> u64 {
        time.saturating_sub(self.origin.unwrap_or(time)) / self.bucket_ns
    }

    fn key(&self, time: u64, s: &SampleEntry) -> SampleKey {
        SampleKey {
            pid: s.pid,
            tid: s.tid,
            chain: s.chain,
            fallback: s.fallback,
            cpu: s.cpu,
            event: s.event,
            reason: s.reason,
            generation: self.generations.get(&s.pid).map_or(0, |g| g.0),
            // Below MAX_BUCKETS by construction (see push_sample).
            bucket: u32::try_from(self.bucket_of(time)).unwrap_or(u32::MAX),
        }
    }

    /// Adds a sample (or an off-CPU wait, see [`SampleEntry::reason`]) at kernel time `time`,
    /// merged into the entry of an identical one in the same time bucket when there is one
    /// (see [`MAX_BUCKETS`]).
    pub fn push_sample(&mut self, time: u64, s: SampleEntry) {
        let origin = *self.origin.get_or_insert(time);
        if time.saturating_sub(origin) / self.bucket_ns >= MAX_BUCKETS {
            while time.saturating_sub(origin) / self.bucket_ns >= MAX_BUCKETS {
                self.bucket_ns = self.bucket_ns.saturating_mul(2);
            }
            self.remerge();
        }
        let ev = if s.reason == 0 {
            RawEvent::Sample {
                pid: s.pid,
                tid: s.tid,
                chain: s.chain,
                fallback: s.fallback,
                period: s.period,
                count: s.count,
                cpu: s.cpu,
                event: s.event,
            }
        } else {
            RawEvent::OffCpu {
                pid: s.pid,
                tid: s.tid,
                chain: s.chain,
                fallback: s.fallback,
                blocked: s.period,
                count: s.count,
                cpu: s.cpu,
                reason: s.reason,
            }
        };
        // Older than the process's latest mapping, exec, rename or fork: it may belong to the
        // address space before it, so it joins no entry and starts none.
        if self.generations.get(&s.pid).is_some_and(|g| time < g.1) {
            self.push(time, ev);
            return;
        }
        let key = self.key(time, &s);
        if let Some(&i) = self.merge.get(&key) {
            if let Some(e) = self.events.get_mut(i) {
                if add_into(e, time, s.period, s.count) {
                    return;
                }
            }
        }
        self.merge.insert(key, self.events.len());
        self.push(time, ev);
    }

    /// After the bucket width grew: merges the entries that now share a bucket. The
    /// generation of an entry already stored is not known any more, so only entries that are
    /// still in the merge map (keyed with it) are merged; the others stay apart, which is
    /// never wrong, only less compact.
    fn remerge(&mut self) {
        let old: HashMap<usize, SampleKey> = self.merge.drain().map(|(k, i)| (i, k)).collect();
        let mut events = Vec::with_capacity(self.events.len());
        for (i, e) in std::mem::take(&mut self.events).into_iter().enumerate() {
            let Some(k) = old.get(&i) else {
                let seq = events.len() as u64;
                events.push(Timed { seq, ..e });
                continue;
            };
            let bucket = u32::try_from(self.bucket_of(e.time)).unwrap_or(u32::MAX);
            let key = SampleKey { bucket, ..*k };
            if let (Some(&j), Some((p, c))) = (self.merge.get(&key), period_count(&e.ev)) {
                if let Some(into) = events.get_mut(j) {
                    if add_into(into, e.time, p, c) {
                        continue;
                    }
                }
            }
            let seq = events.len() as u64;
            self.merge.insert(key, events.len());
            events.push(Timed { seq, ..e });
        }
        self.events = events;
    }

    /// Moves everything of `other` (another drain thread's share) into `self`: its chains
    /// interned here, its samples merged with these.
    pub fn absorb(&mut self, other: Collected) {
        let ids: Vec<u32> = other.chains.iter().map(|c| self.intern_chain(c)).collect();
        let map = |c: u32| ids.get(c as usize).copied().unwrap_or(c);
        self.samples += other.samples;
        self.lost += other.lost;
        self.unparsed += other.unparsed;
        for e in other.events {
            match e.ev {
                RawEvent::Sample {
                    pid,
                    tid,
                    chain,
                    fallback,
                    period,
                    count,
                    cpu,
                    event,
                } => self.push_sample(
                    e.time,
                    SampleEntry {
                        pid,
                        tid,
                        chain: map(chain),
                        fallback: fallback.map(map),
                        period,
                        count,
                        cpu,
                        event,
                        reason: 0,
                    },
                ),
                RawEvent::OffCpu {
                    pid,
                    tid,
                    chain,
                    fallback,
                    blocked,
                    count,
                    cpu,
                    reason,
                } => self.push_sample(
                    e.time,
                    SampleEntry {
                        pid,
                        tid,
                        chain: map(chain),
                        fallback: fallback.map(map),
                        period: blocked,
                        count,
                        cpu,
                        event: 0,
                        reason,
                    },
                ),
                ev => self.push(e.time, ev),
            }
        }
    }
}

/// The summed weight and count of a sample or off-CPU entry.
fn period_count(ev: &RawEvent) -> Option<(u64, u32)> {
    match *ev {
        RawEvent::Sample { period, count, .. } => Some((period, count)),
        RawEvent::OffCpu { blocked, count, .. } => Some((blocked, count)),
        _ => None,
    }
}

/// Adds `period` and `count` (of a sample at `time`) into the entry `into`; false when it is
/// no sample entry or its count would overflow (the caller then starts a new entry).
fn add_into(into: &mut Timed, time: u64, period: u64, count: u32) -> bool {
    let (p, c) = match &mut into.ev {
        RawEvent::Sample {
            period: p,
            count: c,
            ..
        } => (p, c),
        RawEvent::OffCpu {
            blocked: p,
            count: c,
            ..
        } => (p, c),
        _ => return false,
    };
    let Some(n) = c.checked_add(count) else {
        return false;
    };
    *p = p.saturating_add(period);
    *c = n;
    into.time = into.time.min(time);
    true
}

/// The parts of one sample that recording uses.
struct OneSample<'a> {
    pid: u32,
    tid: u32,
    time: u64,
    /// PERF_SAMPLE_PERIOD: how many events this sample stands for.
    period: u64,
    /// PERF_SAMPLE_ID: the event (the parent's id for inherited events).
    id: u64,
    /// PERF_SAMPLE_CPU.
    cpu: u32,
    /// User registers (BP, SP, IP), empty when the sample has none.
    regs: Cow<'a, [u64]>,
    /// Valid bytes of the user stack copy.
    stack: &'a [u8],
    /// The kernel's callchain (or just the IP when there is none).
    callchain: Cow<'a, [u64]>,
}

/// Records a sample: unwound with `live` in the DWARF modes, its callchain as is otherwise.
fn push_sample(
    out: &mut Collected,
    live: Option<&mut LiveUnwinder>,
    smp: &OneSample<'_>,
    event: u8,
) {
    let (chain, fallback) = match live {
        Some(live) => {
            let chains = live.unwind_sample(smp.pid, &smp.regs, smp.stack, &smp.callchain);
            let fallback = chains.fallback.map(|c| out.intern_chain(c));
            (out.intern_chain(chains.primary), fallback)
        }
        None => {
            if smp.callchain.is_empty() {
                return;
            }
            (out.intern_chain(&smp.callchain), None)
        }
    };
    out.push_sample(
        smp.time,
        SampleEntry {
            pid: smp.pid,
            tid: smp.tid,
            chain,
            fallback,
            period: smp.period,
            count: 1,
            cpu: u16::try_from(smp.cpu).unwrap_or(u16::MAX),
            event,
            reason: 0,
        },
    );
}

/// `PERF_CONTEXT_USER`: the marker before the user part of a callchain.
const PERF_CONTEXT_USER: u64 = u64::MAX - 511;

/// The callchain of an LBR sample: the kernel's chain (which excluded the user part) followed
/// by the user stack the LBR call stack holds, as perf builds it: the user IP, then the call
/// site (`from`) of every call still open, innermost first.
fn lbr_callchain(
    kernel_chain: &[u64],
    ip: Option<u64>,
    lbr: impl IntoIterator<Item = (u64, u64)>,
) -> Vec<u64> {
    let mut out: Vec<u64> = kernel_chain
        .iter()
        .copied()
        .take_while(|&a| a != PERF_CONTEXT_USER)
        .collect();
    let mut lbr = lbr.into_iter().peekable();
    // A sample taken in the kernel has no user IP; the innermost open call's target stands in.
    let user_ip = ip
        .filter(|&a| a < 0xffff_8000_0000_0000)
        .or_else(|| lbr.peek().map(|&(_, to)| to));
    if let Some(user_ip) = user_ip {
        out.push(PERF_CONTEXT_USER);
        out.push(user_ip);
        out.extend(lbr.map(|(from, _)| from));
    }
    out
}

/// A sample body (header excluded) in the layout [`open`] asks for: IP, TID, TIME, ID, CPU,
/// PERIOD (unless `has_period` is false: a fixed period), CALLCHAIN and, with `regs_and_stack`, REGS_USER (BP, SP, IP: the ABI word, then the
/// registers only when it is not 0) and STACK_USER (size, data, then dyn_size only when size is
/// not 0), in the kernel's field order. `ty` is the record type; anything but a sample gives
/// None, as does a body too short for its own counts.
fn parse_sample_fallback(
    ty: u32,
    bytes: &[u8],
    regs_and_stack: bool,
    has_period: bool,
) -> Option<OneSample<'_>> {
    const PERF_RECORD_SAMPLE: u32 = 9;
    if ty != PERF_RECORD_SAMPLE {
        return None;
    }
    // Words are read one by one: a record that wrapped around the ring buffer was copied into
    // a byte vector with no u64 alignment.
    let word = |at: usize| -> Option<u64> {
        let b = bytes.get(at..at.checked_add(8)?)?;
        Some(u64::from_ne_bytes(b.try_into().ok()?))
    };
    let ip = word(0)?;
    let pid = u32::from_ne_bytes(bytes.get(8..12)?.try_into().ok()?);
    let tid = u32::from_ne_bytes(bytes.get(12..16)?.try_into().ok()?);
    let time = word(16)?;
    let id = word(24)?;
    let cpu = u32::from_ne_bytes(bytes.get(32..36)?.try_into().ok()?);
    let mut at = 40usize;
    let period = if has_period {
        at += 8;
        word(40)?
    } else {
        1
    };
    let nr = usize::try_from(word(at)?).ok()?;
    at += 8;
    let mut callchain = Vec::with_capacity(nr.min(bytes.len() / 8));
    for _ in 0..nr {
        callchain.push(word(at)?);
        at += 8;
    }
    if callchain.is_empty() {
        callchain.push(ip);
    }
    let mut regs = Vec::new();
    let mut stack: &[u8] = &[];
    if regs_and_stack {
        let abi = word(at)?;
        at += 8;
        if abi != 0 {
            for _ in 0..3 {
                regs.push(word(at)?);
                at += 8;
            }
        }
        let size = usize::try_from(word(at)?).ok()?;
        at += 8;
        if size != 0 {
            let data = bytes.get(at..at.checked_add(size)?)?;
            let dyn_size = usize::try_from(word(at + size)?).ok()?;
            stack = &data[..dyn_size.min(size)];
        }
    }
    Some(OneSample {
        pid,
        tid,
        time,
        period,
        id,
        cpu,
        regs: Cow::Owned(regs),
        stack,
        callchain: Cow::Owned(callchain),
    })
}

/// The open events and their per-CPU ring buffers.
pub struct Session {
    /// The ring buffers.
    pub rings: RingSet,
    /// How their records are read.
    pub parser: SampleParser,
}

/// How the sampling events' records are read: which event a sample belongs to and its
/// weight when samples carry no period. Each drain thread has a copy.
#[derive(Clone, Debug, Default)]
pub struct SampleParser {
    /// Kernel event id to the index of its event in the recording (several `-e`).
    event_of: HashMap<u64, u8>,
    /// The weight of every sample when they carry no period (see [`fixed_period`]); the same
    /// for every event of a session, as -c applies to all.
    fixed_period: Option<u64>,
}

const PERF_RECORD_MISC_COMM_EXEC: u16 = 1 << 13;

/// The timestamp in the `sample_id_all` trailer: of [`SAMPLE_FLAGS`] the trailer holds TID,
/// TIME, ID and CPU, in that order, so TIME is the third word from the end.
fn trailer_time(bytes: &[u8]) -> u64 {
    if bytes.len() < 24 {
        return 0;
    }
    let t = &bytes[bytes.len() - 24..];
    u64::from_ne_bytes([t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]])
}

impl Session {
    /// An empty session.
    pub fn new() -> Self {
        Session {
            rings: RingSet::new(),
            parser: SampleParser::default(),
        }
    }

    /// Declares that samples carry no period and each stands for `period` events (`-c`).
    pub fn set_fixed_period(&mut self, period: Option<u64>) {
        self.parser.fixed_period = period;
    }

    /// Adds an event; the first one on each CPU owns that CPU's ring buffer, the others
    /// redirect their output into it.
    pub fn add(&mut self, counter: Counter, cpu: usize, buffer_bytes: usize) -> io::Result<()> {
        self.add_event(counter, cpu, buffer_bytes, 0)
    }

    /// [`Session::add`] for the `event`-th of several recorded events: its samples carry
    /// that index.
    pub fn add_event(
        &mut self,
        counter: Counter,
        cpu: usize,
        buffer_bytes: usize,
        event: u8,
    ) -> io::Result<()> {
        self.parser.event_of.insert(counter.id(), event);
        self.rings.add(counter, cpu, buffer_bytes)
    }

    /// Enables every event (attach mode; launched commands use enable_on_exec).
    pub fn enable_all(&mut self) -> io::Result<()> {
        self.rings.enable_all()
    }

    /// Disables every event before the final drain.
    pub fn disable_all(&mut self) {
        self.rings.disable_all()
    }

    /// Waits up to `timeout_ms` for data in any buffer.
    pub fn wait(&self, timeout_ms: i32) {
        self.wait_also(&[], timeout_ms)
    }

    /// [`Session::wait`], also waking for data in the ring buffers `extra` (the off-CPU
    /// events' own).
    pub fn wait_also(&self, extra: &[std::os::fd::RawFd], timeout_ms: i32) {
        let mut fds: Vec<libc::pollfd> = self
            .rings
            .fds()
            .into_iter()
            .chain(extra.iter().copied())
            .map(|fd| libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        // SAFETY: a valid array of pollfd. EINTR (a signal) just ends the wait early.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
        // A buffer whose owning task exited reports POLLHUP forever; other tasks may still
        // write into it, so keep polling, but never spin.
        if n > 0 && fds.iter().all(|f| f.revents & libc::POLLIN == 0) {
            std::thread::sleep(std::time::Duration::from_millis(
                timeout_ms.clamp(0, 20) as u64
            ));
        }
    }

    /// Moves everything in the ring buffers into `out` on this thread, unwinding samples with
    /// `live` when DWARF unwinding is on (it also sees every mapping, fork, exec and exit, in
    /// order).
    pub fn drain(&mut self, out: &mut Collected, live: Option<&mut LiveUnwinder>) {
        self.rings.drain(&mut self.parser, out, live)
    }
}

impl Parser for SampleParser {
    fn parse(
        &mut self,
        rec: &Record<'_>,
        out: &mut Collected,
        mut live: Option<&mut LiveUnwinder>,
    ) {
        use perf_event::data::Record as R;
        let misc = rec.misc();
        let parsed = match rec.parse_record() {
            Ok(p) => p,
            Err(_) => {
                // perf-event-data 0.1 reads a register block even when its ABI word
                // says there is none (samples of kernel threads and the idle task),
                // and fails: parse those samples by hand rather than drop them.
                let bytes = rec.to_contiguous();
                let has_period = self.fixed_period.is_none();
                match parse_sample_fallback(rec.ty(), &bytes, live.is_some(), has_period) {
                    Some(mut smp) => {
                        if let Some(p) = self.fixed_period {
                            smp.period = p;
                        }
                        out.samples += 1;
                        let ev = self.event_of.get(&smp.id).copied().unwrap_or(0);
                        push_sample(out, live.as_deref_mut(), &smp, ev);
                    }
                    None => out.unparsed += 1,
                }
                return;
            }
        };
        match parsed {
            R::Sample(smp) => {
                out.samples += 1;
                let (Some(pid), Some(tid)) = (smp.pid(), smp.tid()) else {
                    return;
                };
                let regs: &[u64] = smp.regs_user().map_or(&[], |r| &r.regs);
                let ip_chain;
                let mut callchain = match (smp.callchain(), smp.ip()) {
                    (Some(c), _) => c,
                    (None, Some(ip)) => {
                        ip_chain = [ip];
                        &ip_chain[..]
                    }
                    (None, None) => &[],
                };
                let lbr_chain;
                if let Some(lbr) = smp.lbr().filter(|b| !b.is_empty()) {
                    lbr_chain =
                        lbr_callchain(callchain, smp.ip(), lbr.iter().map(|b| (b.from(), b.to())));
                    callchain = &lbr_chain[..];
                }
                let one = OneSample {
                    pid,
                    tid,
                    time: smp.time().unwrap_or(0),
                    // Always requested; a missing one (impossible with our
                    // sample_type) counts as one event rather than none.
                    period: smp.period().or(self.fixed_period).unwrap_or(1),
                    id: smp.id().unwrap_or(0),
                    cpu: smp.cpu().unwrap_or(0),
                    regs: Cow::Borrowed(regs),
                    stack: smp.stack_user().unwrap_or(&[]),
                    callchain: Cow::Borrowed(callchain),
                };
                let ev = self.event_of.get(&one.id).copied().unwrap_or(0);
                push_sample(out, live.as_deref_mut(), &one, ev);
            }
            R::Mmap2(m) => {
                let time = trailer_time(&rec.to_contiguous());
                if m.prot & libc::PROT_EXEC as u32 == 0 {
                    return;
                }
                let map = Mapping {
                    start: m.addr,
                    end: m.addr + m.len,
                    pgoff: m.pgoff,
                    path: String::from_utf8_lossy(&m.filename).into_owned(),
                    ino: m.ino().unwrap_or(0),
                };
                if let Some(live) = live.as_deref_mut() {
                    live.mmap(m.pid, &map);
                }
                out.push(
                    time,
                    RawEvent::Mmap {
                        pid: m.pid,
                        map: Box::new(map),
                    },
                );
            }
            R::Mmap(m) => {
                let time = trailer_time(&rec.to_contiguous());
                let map = Mapping {
                    start: m.addr,
                    end: m.addr + m.len,
                    pgoff: m.pgoff,
                    path: String::from_utf8_lossy(&m.filename).into_owned(),
                    ino: 0,
                };
                out.push(
                    time,
                    RawEvent::Mmap {
                        pid: m.pid,
                        map: Box::new(map),
                    },
                );
            }
            R::Comm(c) => {
                let time = trailer_time(&rec.to_contiguous());
                if misc & PERF_RECORD_MISC_COMM_EXEC != 0 {
                    if let Some(live) = live.as_deref_mut() {
                        live.exec(c.pid, time);
                    }
                }
                out.push(
                    time,
                    RawEvent::Comm {
                        pid: c.pid,
                        tid: c.tid,
                        name: String::from_utf8_lossy(&c.comm).into(),
                        exec: misc & PERF_RECORD_MISC_COMM_EXEC != 0,
                    },
                );
            }
            R::Fork(f) => {
                let time = trailer_time(&rec.to_contiguous());
                if f.pid != f.ppid {
                    if let Some(live) = live.as_deref_mut() {
                        live.fork(f.ppid, f.pid, time);
                    }
                }
                out.push(
                    time,
                    RawEvent::Fork {
                        pid: f.pid,
                        ppid: f.ppid,
                        tid: f.tid,
                        ptid: f.ptid,
                    },
                );
            }
            // Only the live unwinder needs exits (to free a finished process's
            // unwinder); the profile builder keeps address spaces until replaced.
            R::Exit(x) if x.pid == x.tid => {
                if let Some(live) = live {
                    live.exit(x.pid);
                }
            }
            R::Lost(l) => out.lost += l.lost,
            R::LostSamples(l) => out.lost += l.lost,
            _ => {}
        }
    }
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(ws: &[u64]) -> Vec<u8> {
        ws.iter().flat_map(|w| w.to_ne_bytes()).collect()
    }

    /// The period in the test bodies: a frequency-mode cpu-clock period, distinct from every
    /// other word so reading the wrong one shows.
    const PERIOD: u64 = 1_000_250;
    const ID: u64 = 4242;

    /// A sample body as the kernel writes it for our DWARF layout.
    fn body(abi: u64, regs: &[u64], stack: &[u8], dyn_size: u64) -> Vec<u8> {
        let pid_tid = 7u64 | (9u64 << 32); // pid 7, tid 9 in native (little-endian) order
        let mut b = words(&[
            0x1000,
            pid_tid,
            123_456,
            ID,
            3, // cpu 3, reserved 0
            PERIOD,
            2,
            0xffff_ffff_8100_0000,
            0x1000,
        ]);
        b.extend(words(&[abi]));
        b.extend(words(regs));
        b.extend(words(&[stack.len() as u64]));
        b.extend_from_slice(stack);
        if !stack.is_empty() {
            b.extend(words(&[dyn_size]));
        }
        b
    }

    #[test]
    fn a_stored_event_stays_small() {
        // One per sample entry: 56 bytes, not the 88 an unboxed mapping made every event.
        assert!(
            std::mem::size_of::<Timed>() <= 56,
            "{}",
            std::mem::size_of::<Timed>()
        );
    }

    fn entry(tid: u32, chain: u32, period: u64) -> SampleEntry {
        SampleEntry {
            pid: 100,
            tid,
            chain,
            fallback: None,
            period,
            count: 1,
            cpu: 0,
            event: 0,
            reason: 0,
        }
    }

    /// (count, period) summed over the sample entries.
    fn totals(c: &Collected) -> (u64, u64) {
        let mut t = (0, 0);
        for e in &c.events {
            if let RawEvent::Sample { count, period, .. } = e.ev {
                t.0 += u64::from(count);
                t.1 += period;
            }
        }
        t
    }

    #[test]
    fn identical_samples_merge_with_counts_and_summed_periods() {
        let mut c = Collected::default();
        // 1000 samples of one stack within 0.5 ms: one entry.
        for i in 0..1000u64 {
            c.push_sample(5_000 + i * 500, entry(7, 3, 1_000 + i));
        }
        assert_eq!(c.entries(), 1);
        assert_eq!(totals(&c), (1000, (0..1000).map(|i| 1_000 + i).sum()));
        // The entry keeps its earliest time.
        assert_eq!(c.events[0].time, 5_000);
    }

    #[test]
    fn samples_that_differ_stay_apart() {
        let mut c = Collected::default();
        let base = entry(7, 3, 10);
        let variants = [
            base,
            SampleEntry { tid: 8, ..base },
            SampleEntry { chain: 4, ..base },
            SampleEntry {
                fallback: Some(5),
                ..base
            },
            SampleEntry { cpu: 1, ..base },
            SampleEntry { event: 1, ..base },
            SampleEntry { pid: 101, ..base },
        ];
        for v in variants {
            c.push_sample(1_000, v);
            c.push_sample(1_001, v);
        }
        assert_eq!(c.entries(), variants.len());
        assert_eq!(totals(&c), (14, 140));
    }

    #[test]
    fn a_process_event_ends_the_merging_of_its_samples() {
        let mut c = Collected::default();
        c.push_sample(1_000, entry(7, 3, 10));
        // exec (or a new mapping) of pid 100: the same addresses may mean something else.
        c.push(
            1_100,
            RawEvent::Comm {
                pid: 100,
                tid: 100,
                name: "x".into(),
                exec: true,
            },
        );
        c.push_sample(1_200, entry(7, 3, 10));
        // Another process's mapping changes nothing for pid 100.
        c.push(
            1_300,
            RawEvent::Mmap {
                pid: 200,
                map: Box::new(Mapping {
                    start: 0,
                    end: 4096,
                    pgoff: 0,
                    path: "/x".into(),
                    ino: 0,
                }),
            },
        );
        c.push_sample(1_400, entry(7, 3, 10));
        assert_eq!(c.entries(), 2);
        assert_eq!(totals(&c), (3, 30));
    }

    #[test]
    fn entries_stay_bounded_however_long_the_recording() {
        // 4 threads, 10 stacks each, 4000 samples/s for 10 minutes (simulated time).
        let mut c = Collected::default();
        let mut at_one_minute = 0;
        let n: u64 = 4000 * 600;
        for i in 0..n {
            let t = 1_000_000_000 + i * 250_000;
            c.push_sample(t, entry((i % 4) as u32, ((i / 4) % 10) as u32, 250_000));
            if i == 4000 * 60 {
                at_one_minute = c.events.len();
            }
        }
        assert_eq!(totals(&c), (n, n * 250_000));
        // At most MAX_BUCKETS entries per key, and no more after 10 minutes than after one.
        assert!(c.entries() <= MAX_BUCKETS as usize * 40, "{}", c.entries());
        assert!(
            c.events.len() <= at_one_minute,
            "{} > {at_one_minute}",
            c.events.len()
        );
        // Every entry's time is one of its samples', in order of the buckets.
        assert!(c.events.iter().all(|e| e.time >= 1_000_000_000));
    }

    #[test]
    fn bucket_times_stay_fine_for_short_recordings() {
        // 50 ms of samples: 1 ms buckets, so entries 1 ms apart stay apart.
        let mut c = Collected::default();
        for i in 0..50u64 {
            c.push_sample(i * 1_000_000, entry(7, 3, 1));
        }
        assert_eq!(c.entries(), 50);
    }

    #[test]
    fn absorbing_another_drain_re_interns_chains_and_merges() {
        let mut main = Collected::default();
        let a = main.intern_chain(&[1, 2, 3]);
        main.push_sample(1_000, entry(7, a, 10));
        let mut lane = Collected::default();
        let x = lane.intern_chain(&[9, 9]);
        let y = lane.intern_chain(&[1, 2, 3]);
        lane.samples = 3;
        lane.lost = 2;
        lane.push_sample(1_010, entry(7, y, 5));
        lane.push_sample(1_020, entry(7, x, 1));
        lane.push_sample(
            1_030,
            SampleEntry {
                fallback: Some(x),
                ..entry(8, y, 1)
            },
        );
        main.absorb(lane);
        assert_eq!((main.samples, main.lost), (3, 2));
        assert_eq!(main.chains.len(), 2);
        assert_eq!(main.entries(), 3);
        let stacks: Vec<(u32, u32, Option<u32>, u32)> = main
            .events
            .iter()
            .filter_map(|e| match e.ev {
                RawEvent::Sample {
                    tid,
                    chain,
                    fallback,
                    count,
                    ..
                } => Some((tid, chain, fallback, count)),
                _ => None,
            })
            .collect();
        assert_eq!(
            stacks,
            vec![(7, 0, None, 2), (7, 1, None, 1), (8, 0, Some(1), 1)]
        );
        assert_eq!(&*main.chains[1], &[9, 9]);
    }

    #[test]
    fn lbr_chains_follow_the_kernel_part_with_the_open_calls() {
        const K1: u64 = 0xffff_ffff_8100_0010;
        const K2: u64 = 0xffff_ffff_8100_0020;
        // (from, to) of the calls still open, innermost first, as the LBR call stack gives.
        let lbr = [(0x40_1010, 0x40_2000), (0x40_0500, 0x40_1000)];
        // A user-mode sample: its IP, then each open call's site.
        assert_eq!(
            lbr_callchain(&[], Some(0x40_2004), lbr),
            vec![PERF_CONTEXT_USER, 0x40_2004, 0x40_1010, 0x40_0500]
        );
        // In the kernel: the kernel chain (without any user part the kernel appended), then
        // the innermost call's target stands in for the user IP.
        assert_eq!(
            lbr_callchain(&[K1, K2, PERF_CONTEXT_USER, 0x99], Some(K1), lbr),
            vec![K1, K2, PERF_CONTEXT_USER, 0x40_2000, 0x40_1010, 0x40_0500]
        );
        // Nothing in the LBR and no user IP: the kernel part alone.
        assert_eq!(lbr_callchain(&[K1], Some(K1), []), vec![K1]);
    }

    #[test]
    fn fallback_parses_samples_without_user_registers() {
        // The idle task or a kernel thread: ABI 0, no registers, no stack.
        let b = body(0, &[], &[], 0);
        let s = parse_sample_fallback(9, &b, true, true).expect("parsed");
        assert_eq!((s.pid, s.tid, s.time), (7, 9, 123_456));
        assert_eq!((s.id, s.cpu), (ID, 3));
        // The period becomes the sample's weight.
        assert_eq!(s.period, PERIOD);
        assert_eq!(&*s.callchain, &[0xffff_ffff_8100_0000, 0x1000]);
        assert!(s.regs.is_empty() && s.stack.is_empty());
    }

    #[test]
    fn fallback_parses_registers_and_the_valid_part_of_the_stack() {
        let stack: Vec<u8> = (0..64).collect();
        let b = body(2, &[11, 22, 33], &stack, 40);
        let s = parse_sample_fallback(9, &b, true, true).expect("parsed");
        assert_eq!(&*s.regs, &[11, 22, 33]);
        assert_eq!(s.stack, &stack[..40]);
    }

    #[test]
    fn fallback_parses_samples_without_a_period_word() {
        // -c: no PERIOD word between CPU and the callchain count.
        let mut b = body(0, &[], &[], 0);
        b.drain(40..48);
        let s = parse_sample_fallback(9, &b, true, false).expect("parsed");
        assert_eq!(&*s.callchain, &[0xffff_ffff_8100_0000, 0x1000]);
        assert_eq!((s.id, s.cpu, s.period), (ID, 3, 1));
    }

    #[test]
    fn fallback_rejects_other_records_and_short_bodies() {
        let b = body(0, &[], &[], 0);
        assert!(parse_sample_fallback(1, &b, true, true).is_none());
        for cut in [0, 7, 16, 39, 47, 55, 63, b.len() - 1] {
            assert!(
                parse_sample_fallback(9, &b[..cut], true, true).is_none(),
                "{cut}"
            );
        }
        // A callchain count far beyond the body.
        let mut huge = b.clone();
        huge[48..56].copy_from_slice(&u64::MAX.to_ne_bytes());
        assert!(parse_sample_fallback(9, &huge, true, true).is_none());
    }
}
